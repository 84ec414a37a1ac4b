/*
 * STL decomposition (see stl.h). The structure is the paper's: an inner
 * loop smooths the cycle-subseries (loess), removes their low-frequency part
 * (moving averages and loess) to get the seasonal component, and smooths the
 * deseasonalised series into the trend; the outer loop reweights the points
 * by their remainders so that outliers stop pulling the fit.
 *
 * Positions are 1-based in the loess arithmetic (x = 1..n), as in the
 * Fortran original: the float values of the positions enter the weights, so
 * they must be the same numbers.
 */
#include "stl.h"

#include "sort.h"

#include <math.h>
#include <stdint.h>

/* The sizes and switches of one decomposition, resolved from StlParams. */
typedef struct {
    size_t np, ns, nt, nl;          /* period and the three smoother lengths */
    int isdeg, itdeg, ildeg;        /* local polynomial degrees */
    size_t nsjump, ntjump, nljump;  /* fit every jump-th point, interpolate between */
    size_t inner, outer;            /* loop counts */
} Settings;

/* The five scratch series of length n + 2 np. */
typedef struct {
    float *w1, *w2, *w3, *w4, *w5;
} Work;

StlParams stl_defaults(void)
{
    return (StlParams){ .seasonal_length = 0, .seasonal_degree = 0, .trend_degree = 1,
                        .low_pass_degree = -1, .robust = false };
}

size_t stl_work_floats(size_t n, size_t period)
{
    return 5 * (n + 2 * period);
}

static size_t make_odd(size_t length)
{
    return length % 2 == 0 ? length + 1 : length;
}

/* ceil(length / 10) computed in float, as the reference does. */
static size_t default_jump(size_t length)
{
    return (size_t)ceilf((float)length / 10.0f);
}

static const char *resolve(size_t n, size_t period, const StlParams *p, Settings *s)
{
    if (period < 2) return "period must be at least 2";
    if (n / 2 < period) return "series has less than two periods";
    if (p->seasonal_degree != 0 && p->seasonal_degree != 1) return "seasonal_degree must be 0 or 1";
    if (p->trend_degree != 0 && p->trend_degree != 1) return "trend_degree must be 0 or 1";
    int ildeg = p->low_pass_degree < 0 ? p->trend_degree : p->low_pass_degree;
    if (ildeg != 0 && ildeg != 1) return "low_pass_degree must be 0 or 1";
    if (n > SIZE_MAX / 64) return "series is too long";   /* scratch sizes stay in range */

    s->np = period;
    size_t ns = p->seasonal_length ? p->seasonal_length : period;
    s->ns = make_odd(ns < 3 ? 3 : ns);
    /* The trend window of the paper: the smallest odd length that keeps the
       trend from absorbing the seasonal frequency. */
    size_t nt = (size_t)ceilf((1.5f * (float)period) / (1.0f - 1.5f / (float)s->ns));
    s->nt = make_odd(nt < 3 ? 3 : nt);
    s->nl = make_odd(period);
    s->isdeg = p->seasonal_degree;
    s->itdeg = p->trend_degree;
    s->ildeg = ildeg;
    s->nsjump = default_jump(s->ns);
    s->ntjump = default_jump(s->nt);
    s->nljump = default_jump(s->nl);
    s->inner = p->robust ? 1 : 2;
    s->outer = p->robust ? 15 : 0;
    return NULL;
}

/* Tricube weight of a point at distance r from the fitted point, window
   half-width h: 1 very near, 0 at the edge and beyond. */
static float tricube(float r, float h)
{
    if (r <= 0.001f * h) return 1.0f;
    float q = r / h;
    float t = 1.0f - q * q * q;
    return t * t * t;
}

/* The loess fit at position xs of y[nleft..nright] (1-based) for a window of
   len points: the weighted mean (degree 0) or weighted linear fit (degree 1).
   w receives the weights. Returns false when every weight is 0. */
static bool loess_at(const float *y, size_t n, size_t len, int degree, float xs, float *ys,
                     size_t nleft, size_t nright, float *w, const float *rw)
{
    float range = (float)n - 1.0f;
    float left = xs - (float)nleft, right = (float)nright - xs;
    float h = left < right ? right : left;
    if (len > n) h += (float)((len - n) / 2);   /* integer halving, as in the original */
    float h9 = 0.999f * h;

    float sum = 0.0f;
    for (size_t j = nleft; j <= nright; j++) {
        w[j - 1] = 0.0f;
        float r = fabsf((float)j - xs);
        if (r <= h9) {
            w[j - 1] = tricube(r, h);
            if (rw) w[j - 1] *= rw[j - 1];
            sum += w[j - 1];
        }
    }
    if (sum <= 0.0f) return false;

    for (size_t j = nleft; j <= nright; j++) w[j - 1] /= sum;
    if (h > 0.0f && degree > 0) {
        float center = 0.0f;
        for (size_t j = nleft; j <= nright; j++) center += w[j - 1] * (float)j;
        float slope = xs - center, spread = 0.0f;
        for (size_t j = nleft; j <= nright; j++) {
            float d = (float)j - center;
            spread += w[j - 1] * (d * d);
        }
        /* Only when the points are spread out enough to give a slope. */
        if (sqrtf(spread) > 0.001f * range) {
            slope /= spread;
            for (size_t j = nleft; j <= nright; j++) w[j - 1] *= slope * ((float)j - center) + 1.0f;
        }
    }
    float fit = 0.0f;
    for (size_t j = nleft; j <= nright; j++) fit += w[j - 1] * y[j - 1];
    *ys = fit;
    return true;
}

/* Fits position i (1-based) into ys[i-1], keeping the input where the fit fails. */
static void fit_point(const float *y, size_t n, size_t len, int degree, size_t i, float *ys,
                      size_t nleft, size_t nright, float *w, const float *rw)
{
    if (!loess_at(y, n, len, degree, (float)i, &ys[i - 1], nleft, nright, w, rw))
        ys[i - 1] = y[i - 1];
}

/* Straight line from ys[from-1] to ys[to-1] over the points between. */
static void interpolate(float *ys, size_t from, size_t to)
{
    float delta = (ys[to - 1] - ys[from - 1]) / (float)(to - from);
    for (size_t j = from + 1; j < to; j++) ys[j - 1] = ys[from - 1] + delta * (float)(j - from);
}

/* Loess smoothing of y[0..n) with a window of len points into ys, fitting
   every jump-th point and interpolating the others. rw: robustness weights
   or NULL. w: n floats of scratch. */
static void loess_smooth(const float *y, size_t n, size_t len, int degree, size_t jump,
                         const float *rw, float *ys, float *w)
{
    if (n < 2) {
        ys[0] = y[0];
        return;
    }
    size_t step = jump < n - 1 ? jump : n - 1;
    size_t nleft = 0, nright = 0;
    if (len >= n) {
        nleft = 1;
        nright = n;
        for (size_t i = 1; i <= n; i += step) fit_point(y, n, len, degree, i, ys, nleft, nright, w, rw);
    } else if (step == 1) {
        size_t half = (len + 1) / 2;
        nleft = 1;
        nright = len;
        for (size_t i = 1; i <= n; i++) {
            if (i > half && nright != n) {
                nleft++;
                nright++;
            }
            fit_point(y, n, len, degree, i, ys, nleft, nright, w, rw);
        }
    } else {
        size_t half = (len + 1) / 2;
        for (size_t i = 1; i <= n; i += step) {
            if (i < half) {
                nleft = 1;
                nright = len;
            } else if (i > n - half) {
                nleft = n - len + 1;
                nright = n;
            } else {
                nleft = i - half + 1;
                nright = len + i - half;
            }
            fit_point(y, n, len, degree, i, ys, nleft, nright, w, rw);
        }
    }
    if (step == 1) return;

    for (size_t i = 1; i + step <= n; i += step) interpolate(ys, i, i + step);
    size_t last_fitted = ((n - 1) / step) * step + 1;
    if (last_fitted != n) {
        /* The last point reuses the last window. */
        fit_point(y, n, len, degree, n, ys, nleft, nright, w, rw);
        if (last_fitted != n - 1) interpolate(ys, last_fitted, n);
    }
}

/* Moving average of x[0..n) over len points into ave[0..n-len]. */
static void moving_average(const float *x, size_t n, size_t len, float *ave)
{
    float flen = (float)len, sum = 0.0f;
    for (size_t i = 0; i < len; i++) sum += x[i];
    ave[0] = sum / flen;
    for (size_t j = 1; j + len <= n; j++) {
        sum = sum - x[j - 1] + x[j + len - 1];
        ave[j] = sum / flen;
    }
}

/* Smooths each cycle-subseries of y (length n) and extends it by one point
   at each end: cycles receives n + 2 np values. rw: weights or NULL. The
   scratch series must not overlap y or cycles. */
static void smooth_subseries(const float *y, size_t n, const Settings *s, const float *rw,
                             float *cycles, const Work *scratch)
{
    float *sub = scratch->w1, *fit = scratch->w2, *subw = scratch->w3, *w = scratch->w4;
    size_t np = s->np, ns = s->ns;
    for (size_t j = 1; j <= np; j++) {
        size_t k = (n - j) / np + 1;
        for (size_t i = 0; i < k; i++) sub[i] = y[i * np + j - 1];
        const float *sw = NULL;
        if (rw) {
            for (size_t i = 0; i < k; i++) subw[i] = rw[i * np + j - 1];
            sw = subw;
        }
        loess_smooth(sub, k, ns, s->isdeg, s->nsjump, sw, fit + 1, w);
        size_t nright = ns < k ? ns : k;
        if (!loess_at(sub, k, ns, s->isdeg, 0.0f, &fit[0], 1, nright, w, sw)) fit[0] = fit[1];
        size_t nleft = k + 1 > ns ? k + 1 - ns : 1;
        if (!loess_at(sub, k, ns, s->isdeg, (float)(k + 1), &fit[k + 1], nleft, k, w, sw))
            fit[k + 1] = fit[k];
        for (size_t m = 0; m < k + 2; m++) cycles[m * np + j - 1] = fit[m];
    }
}

/* The inner loop: updates season and trend from y. */
static void inner_pass(const float *y, size_t n, const Settings *s, const float *rw,
                       float *season, float *trend, const Work *wk)
{
    size_t np = s->np;
    float *detrended = wk->w1, *cycles = wk->w2;
    for (size_t pass = 0; pass < s->inner; pass++) {
        for (size_t i = 0; i < n; i++) detrended[i] = y[i] - trend[i];
        /* season is free until the end of the pass: it serves as scratch. */
        Work scratch = { wk->w3, wk->w4, wk->w5, season, NULL };
        smooth_subseries(detrended, n, s, rw, cycles, &scratch);

        /* Low-pass filter of the cycles: moving averages of np, np and 3
           points (n values remain), then loess. */
        float *low = wk->w3, *lowpass = wk->w1;
        moving_average(cycles, n + 2 * np, np, low);
        moving_average(low, n + np + 1, np, wk->w1);
        moving_average(wk->w1, n + 2, 3, low);
        loess_smooth(low, n, s->nl, s->ildeg, s->nljump, NULL, lowpass, wk->w5);
        for (size_t i = 0; i < n; i++) season[i] = cycles[np + i] - lowpass[i];

        float *deseasoned = wk->w1;
        for (size_t i = 0; i < n; i++) deseasoned[i] = y[i] - season[i];
        loess_smooth(deseasoned, n, s->nt, s->itdeg, s->ntjump, rw, trend, wk->w3);
    }
}

/* Bisquare robustness weights from the remainders y - fit, with
   h = 6 * median |remainder|. sorted, scratch: n floats each. */
static void robustness_weights(const float *y, size_t n, const float *fit, float *rw, float *sorted,
                               float *scratch)
{
    for (size_t i = 0; i < n; i++) sorted[i] = fabsf(y[i] - fit[i]);
    merge_sort(sorted, n, sizeof *sorted, compare_floats, scratch);
    float cmad = 3.0f * (sorted[(n - 1) / 2] + sorted[n / 2]);
    float c9 = 0.999f * cmad, c1 = 0.001f * cmad;
    for (size_t i = 0; i < n; i++) {
        float r = fabsf(y[i] - fit[i]);
        if (r <= c1) {
            rw[i] = 1.0f;
        } else if (r <= c9) {
            float q = r / cmad, t = 1.0f - q * q;
            rw[i] = t * t;
        } else {
            rw[i] = 0.0f;
        }
    }
}

const char *stl_decompose(const float *y, size_t n, size_t period, const StlParams *params,
                          float *work, StlResult *out)
{
    Settings s;
    const char *error = resolve(n, period, params, &s);
    if (error) return error;

    size_t len = n + 2 * period;
    Work wk = { work, work + len, work + 2 * len, work + 3 * len, work + 4 * len };
    for (size_t i = 0; i < n; i++) out->trend[i] = 0.0f;

    inner_pass(y, n, &s, NULL, out->seasonal, out->trend, &wk);
    for (size_t k = 0; k < s.outer; k++) {
        for (size_t i = 0; i < n; i++) wk.w1[i] = out->trend[i] + out->seasonal[i];
        robustness_weights(y, n, wk.w1, out->weights, wk.w2, wk.w3);
        inner_pass(y, n, &s, out->weights, out->seasonal, out->trend, &wk);
    }
    if (s.outer == 0)
        for (size_t i = 0; i < n; i++) out->weights[i] = 1.0f;
    for (size_t i = 0; i < n; i++) out->remainder[i] = y[i] - out->seasonal[i] - out->trend[i];
    return NULL;
}
