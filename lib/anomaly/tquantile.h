/*
 * Quantiles of Student's t distribution and of the normal distribution,
 * in double precision.
 *
 * The S-H-ESD critical values need t quantiles, and borderline tests are
 * decided by their last digits: to agree with the reference detector these
 * are computed by the same published methods, Hill's Algorithm 396 (1970)
 * for t and Wichura's AS 241 (1988) for the normal.
 */
#ifndef SLUICE_ANOMALY_TQUANTILE_H
#define SLUICE_ANOMALY_TQUANTILE_H

/* The p-quantile of the standard normal distribution: -inf at p = 0, inf at
   p = 1, NaN when p is NaN or outside [0, 1]. */
double normal_quantile(double p);

/* The p-quantile of Student's t with df degrees of freedom (df may be
   fractional or infinite): NaN when p is NaN or outside [0, 1], or when df
   is NaN or below 1. */
double t_quantile(double p, double df);

#endif
