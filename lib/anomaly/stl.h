/*
 * STL: seasonal-trend decomposition by loess (Cleveland, Cleveland, McRae
 * and Terpenning, 1990), in single precision.
 *
 * It follows the original Fortran program (netlib a/stl) step for step, in
 * the same operation order, because the S-H-ESD detector must agree index
 * for index with a reference built on a port of that program: every float
 * rounding counts. Build with -ffp-contract=off and without fast-math.
 *
 * The caller owns all memory: stl_work_floats() tells how many floats of
 * scratch space a decomposition needs, so the code needs no allocator and
 * runs as well in a freestanding WebAssembly module as natively.
 */
#ifndef SLUICE_ANOMALY_STL_H
#define SLUICE_ANOMALY_STL_H

#include <stdbool.h>
#include <stddef.h>

/* The settings of a decomposition: start from stl_defaults() and change
   what differs. The defaults are the reference's: seasonal_length 0 (the
   period), seasonal degree 0, trend degree 1, low-pass degree that of the
   trend (-1), not robust. The trend and low-pass lengths and the jumps are
   always the defaults of the paper: from the period, and ceil(length / 10). */
typedef struct {
    size_t seasonal_length;  /* made odd and >= 3; 0: the period */
    int seasonal_degree;     /* 0 or 1 */
    int trend_degree;        /* 0 or 1 */
    int low_pass_degree;     /* 0 or 1; -1: the trend degree */
    bool robust;             /* robustness iterations: 1 inner and 15 outer loops,
                                else 2 inner loops and no outer loop */
} StlParams;

/* The default settings. */
StlParams stl_defaults(void);

/* The three components and the robustness weights, n floats each, given
   by the caller. */
typedef struct {
    float *seasonal;
    float *trend;
    float *remainder;
    float *weights;
} StlResult;

/* Floats of scratch space that stl_decompose needs for n values. */
size_t stl_work_floats(size_t n, size_t period);

/* Decomposes y[0..n) with the given period. Returns NULL on success, else
   a message (a static string) and leaves the result undefined. */
const char *stl_decompose(const float *y, size_t n, size_t period, const StlParams *params,
                          float *work, StlResult *out);

#endif
