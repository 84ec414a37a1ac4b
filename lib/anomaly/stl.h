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

/* The settings that may differ from the defaults. A field left 0 takes its
   default, computed from the period as in the reference:
   seasonal_length = period, trend and low-pass lengths from the formulas of
   the paper, jumps = ceil(length / 10). */
typedef struct {
    size_t seasonal_length;  /* made odd and >= 3 */
    int seasonal_degree;     /* 0 or 1; default 0 */
    int trend_degree;        /* 0 or 1; default 1 */
    int low_pass_degree;     /* 0 or 1; default the trend degree (-1 asks for it) */
    bool robust;             /* robustness iterations: 1 inner and 15 outer loops,
                                else 2 inner loops and no outer loop */
} StlParams;

/* The defaults: what StlParams p = stl_defaults() gives. */
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
