/*
 * S-H-ESD: Seasonal Hybrid Extreme Studentized Deviate anomaly detection
 * (Vallis, Hochenbaum and Kejariwal, 2014), as in Twitter's AnomalyDetection
 * and its Rust port anomaly_detection 0.4, which it reproduces index for
 * index (see docs/anomaly.md).
 *
 * The series is decomposed by robust STL; the residuals are the values minus
 * the seasonal component and the median of the series; generalized ESD, with
 * the median and the MAD in place of the mean and the standard deviation,
 * then removes the most extreme residuals one by one and keeps as anomalies
 * as many as passed the test at their step.
 *
 * No allocator is needed: the caller gives shesd_work_bytes() of scratch.
 */
#ifndef SLUICE_ANOMALY_SHESD_H
#define SLUICE_ANOMALY_SHESD_H

#include <stddef.h>

typedef enum {
    SHESD_BOTH,  /* two-tailed: unusually high or low values */
    SHESD_POS,   /* high values only */
    SHESD_NEG,   /* low values only */
} ShesdDirection;

typedef struct {
    size_t period;             /* observations per season, >= 2 */
    float alpha;               /* significance level of each test, e.g. 0.05 */
    float max_anoms;           /* at most this fraction of the series, e.g. 0.1 */
    ShesdDirection direction;
} ShesdParams;

/* The parameters' defaults (alpha 0.05, max_anoms 0.1, both) for a period. */
ShesdParams shesd_defaults(size_t period);

typedef enum {
    SHESD_OK,
    SHESD_INVALID_PARAMS,  /* bad parameters: period < 2, unknown direction */
    SHESD_INVALID_SERIES,  /* bad series: too short, NaN, infinite values */
} ShesdStatus;

typedef struct {
    ShesdStatus status;
    const char *message;  /* a static string */
} ShesdError;

/* Reads a direction named "both", "pos" or "neg" (len bytes). */
ShesdStatus shesd_parse_direction(const char *name, size_t len, ShesdDirection *out, ShesdError *err);

/* Bytes of scratch space that shesd_detect needs for n values (0 when the
   size does not fit in a size_t). */
size_t shesd_work_bytes(size_t n, size_t period);

/* Detects the anomalies of x[0..n). anomalies receives their indices
   (0-based, ascending; room for n is always enough) and *count their
   number. work: shesd_work_bytes(n, period) bytes, aligned for a double.
   Returns SHESD_OK, or the error (also in *err) with *count 0. */
ShesdStatus shesd_detect(const float *x, size_t n, const ShesdParams *params, void *work,
                         size_t *anomalies, size_t *count, ShesdError *err);

#endif
