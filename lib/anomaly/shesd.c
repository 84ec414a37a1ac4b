/*
 * S-H-ESD anomaly detection (see shesd.h).
 *
 * All series arithmetic is in float and in the reference's operation order
 * (build with -ffp-contract=off, no fast-math); only the t quantile is in
 * double. The residuals are kept sorted, so that each ESD step finds the
 * median directly, the MAD by bisection over the two monotonic runs of the
 * absolute deviations, and the most extreme value at an end: a step costs
 * O(log n) instead of a sort.
 */
#include "shesd.h"

#include "sort.h"
#include "stl.h"
#include "tquantile.h"

#include <math.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Fast-math would drop the NaN checks and reorder the arithmetic. */
#ifdef __FAST_MATH__
#error "lib/anomaly must be built without fast-math (see docs/anomaly.md)"
#endif

/* A residual and the position of its value in the series. */
typedef struct {
    float value;
    size_t index;
} Ranked;

/* The scratch space, carved from the caller's bytes. */
typedef struct {
    float *seasonal, *trend, *remainder, *weights, *stl_work;
    Ranked *ranked, *ranked_scratch;
    float *values;   /* the residuals still in the test, ascending */
    size_t *index;   /* their positions in the series */
} Scratch;

ShesdParams shesd_defaults(size_t period)
{
    return (ShesdParams){ .period = period, .alpha = 0.05f, .max_anoms = 0.1f, .direction = SHESD_BOTH };
}

static ShesdStatus fail(ShesdError *err, ShesdStatus status, const char *message)
{
    err->status = status;
    err->message = message;
    return status;
}

ShesdStatus shesd_parse_direction(const char *name, size_t len, ShesdDirection *out, ShesdError *err)
{
#define NAMED(word, direction) { word, sizeof word - 1, direction }
    static const struct { const char *name; size_t len; ShesdDirection direction; } names[] = {
        NAMED("both", SHESD_BOTH), NAMED("pos", SHESD_POS), NAMED("neg", SHESD_NEG),
    };
#undef NAMED
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (names[i].len == len && memcmp(names[i].name, name, len) == 0) {
            *out = names[i].direction;
            return SHESD_OK;
        }
    }
    return fail(err, SHESD_INVALID_PARAMS, "direction must be pos, neg, or both");
}

static size_t round_up(size_t bytes)
{
    size_t align = alignof(double) > alignof(size_t) ? alignof(double) : alignof(size_t);
    return (bytes + align - 1) / align * align;
}

/* Takes the next part of bytes from the scratch space at base (NULL: only
   measures). */
static void *take(char *base, size_t *offset, size_t bytes)
{
    void *part = base ? base + *offset : NULL;
    *offset += round_up(bytes);
    return part;
}

/* Lays out the scratch space at base (NULL: only measures); returns its size. */
static size_t layout(size_t n, size_t period, char *base, Scratch *s)
{
    size_t offset = 0;
    size_t stl_floats = period <= n / 2 ? stl_work_floats(n, period) : 0;
    s->seasonal = take(base, &offset, n * sizeof(float));
    s->trend = take(base, &offset, n * sizeof(float));
    s->remainder = take(base, &offset, n * sizeof(float));
    s->weights = take(base, &offset, n * sizeof(float));
    s->stl_work = take(base, &offset, stl_floats * sizeof(float));
    s->ranked = take(base, &offset, n * sizeof(Ranked));
    s->ranked_scratch = take(base, &offset, n * sizeof(Ranked));
    s->values = take(base, &offset, n * sizeof(float));
    s->index = take(base, &offset, n * sizeof(size_t));
    return offset;
}

size_t shesd_work_bytes(size_t n, size_t period)
{
    size_t limit = SIZE_MAX / 128;
    if (n > limit) return 0;
    Scratch unused;
    return layout(n, period, NULL, &unused) + 1;   /* never 0, which means too big */
}

/* The median of sorted values: the mean of the two middle ones. */
static float median_sorted(const float *v, size_t n)
{
    return (v[(n - 1) / 2] + v[n / 2]) / 2.0f;
}

/* The deviations |v - med| of sorted v (n values, median med) fall from v[0]
   to the middle and rise after it: two ascending runs, the left one read
   backwards from v[n/2 - 1], the right one forwards from v[n/2]. */
typedef struct {
    const float *v;
    size_t half, n;
    float med;
} Deviations;

static float left_run(const Deviations *d, size_t i) { return fabsf(d->v[d->half - 1 - i] - d->med); }
static float right_run(const Deviations *d, size_t i) { return fabsf(d->v[d->half + i] - d->med); }

/* The k-th smallest deviation (0-based), by bisecting how many of the k + 1
   smallest come from the left run: O(log n), no sorting. */
static float kth_deviation(const Deviations *d, size_t k)
{
    size_t nleft = d->half, nright = d->n - d->half;
    size_t lo = k + 1 > nright ? k + 1 - nright : 0, hi = k + 1 < nleft ? k + 1 : nleft;
    for (;;) {
        size_t a = lo + (hi - lo) / 2, b = k + 1 - a;   /* a from the left, b from the right */
        if (a < nleft && b > 0 && right_run(d, b - 1) > left_run(d, a)) {
            lo = a + 1;
        } else if (a > 0 && b < nright && left_run(d, a - 1) > right_run(d, b)) {
            hi = a - 1;
        } else {
            if (a == 0) return right_run(d, b - 1);
            if (b == 0) return left_run(d, a - 1);
            float l = left_run(d, a - 1), r = right_run(d, b - 1);
            return l > r ? l : r;
        }
    }
}

/* The median of |v - med| for sorted v whose median is med. */
static float median_deviation(const float *v, size_t n, float med)
{
    Deviations d = { v, n / 2, n, med };
    return (kth_deviation(&d, (n - 1) / 2) + kth_deviation(&d, n / 2)) / 2.0f;
}

static float score(float v, float med, ShesdDirection direction)
{
    switch (direction) {
    case SHESD_POS: return v - med;
    case SHESD_NEG: return med - v;
    default: return fabsf(v - med);
    }
}

/* The position of the most extreme of the sorted values; the last one on
   ties. The scores fall, then rise, along sorted values (for pos they only
   rise, for neg they only fall), so the maximum is at an end: the last
   value, or else the last of the run of equal scores at the start. */
static size_t most_extreme(const float *v, size_t n, float med, ShesdDirection direction)
{
    float first = score(v[0], med, direction), last = score(v[n - 1], med, direction);
    if (last >= first) return n - 1;
    size_t j = 0;
    while (j + 1 < n && score(v[j + 1], med, direction) == first) j++;
    return j;
}

/* The ESD critical value lambda_i for step i of a series of n values. */
static float critical_value(size_t n, size_t i, float alpha, ShesdDirection direction)
{
    float p = direction == SHESD_BOTH ? 1.0f - alpha / (2.0f * (float)(n - i + 1))
                                      : 1.0f - alpha / (float)(n - i + 1);
    /* df = 0 (two values left) gives NaN: the test then fails, as in the reference. */
    float t = (float)t_quantile((double)p, (double)(n - i - 1));
    return t * (float)(n - i) / sqrtf(((float)(n - i - 1) + t * t) * (float)(n - i + 1));
}

/* trunc(n * max_anoms) in float; 0 for negative or NaN. More than n - 1
   steps never run (one value left has no spread), so n bounds it. */
static size_t max_outliers(size_t n, float max_anoms)
{
    float limit = (float)n * max_anoms;
    if (!(limit >= 1.0f)) return 0;
    return limit >= (float)n ? n : (size_t)limit;
}

static int compare_ranked(const void *a, const void *b)
{
    return compare_floats(&((const Ranked *)a)->value, &((const Ranked *)b)->value);
}

static int compare_indices(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static ShesdStatus check_input(const float *x, size_t n, const ShesdParams *p, ShesdError *err)
{
    /* The reference's order: length, then NaN; period < 2 comes last
       because the reference only fails there inside STL. */
    if (p->direction != SHESD_BOTH && p->direction != SHESD_POS && p->direction != SHESD_NEG)
        return fail(err, SHESD_INVALID_PARAMS, "direction must be pos, neg, or both");
    if (n / 2 < p->period) return fail(err, SHESD_INVALID_SERIES, "series must contain at least 2 periods");
    for (size_t i = 0; i < n; i++)
        if (isnan(x[i])) return fail(err, SHESD_INVALID_SERIES, "series contains NANs");
    for (size_t i = 0; i < n; i++)
        if (isinf(x[i])) return fail(err, SHESD_INVALID_SERIES, "series contains infinite values");
    if (p->period < 2) return fail(err, SHESD_INVALID_PARAMS, "period must be at least 2");
    return SHESD_OK;
}

/* The residuals x - (seasonal + median of x), ranked ascending; equal values
   keep their order in the series. */
static ShesdStatus rank_residuals(const float *x, size_t n, size_t period, Scratch *s, ShesdError *err)
{
    StlParams stl = stl_defaults();
    stl.robust = true;
    stl.seasonal_length = n * 10 + 1;
    StlResult parts = { s->seasonal, s->trend, s->remainder, s->weights };
    const char *message = stl_decompose(x, n, period, &stl, s->stl_work, &parts);
    if (message) return fail(err, SHESD_INVALID_SERIES, message);

    float *sorted = s->trend, *scratch = s->remainder;   /* free after the decomposition */
    memcpy(sorted, x, n * sizeof *sorted);
    merge_sort(sorted, n, sizeof *sorted, compare_floats, scratch);
    float med = median_sorted(sorted, n);

    for (size_t i = 0; i < n; i++) {
        float r = x[i] - (s->seasonal[i] + med);
        if (!isfinite(r)) return fail(err, SHESD_INVALID_SERIES, "series values are too large");
        s->ranked[i] = (Ranked){ r, i };
    }
    merge_sort(s->ranked, n, sizeof *s->ranked, compare_ranked, s->ranked_scratch);
    for (size_t i = 0; i < n; i++) {
        s->values[i] = s->ranked[i].value;
        s->index[i] = s->ranked[i].index;
    }
    return SHESD_OK;
}

/* Generalized ESD over the ranked residuals: removes the most extreme value
   at each step into removed[], and returns how many of the first steps
   count as anomalies (up to the last step whose test passed). The values
   still in the test are values[first .. first + left). */
static size_t esd(Scratch *s, size_t n, const ShesdParams *p, size_t *removed)
{
    size_t steps = max_outliers(n, p->max_anoms), anomalies = 0, first = 0, left = n;
    for (size_t i = 1; i <= steps; i++, left--) {
        float *v = s->values + first;
        size_t *index = s->index + first;
        float med = median_sorted(v, left);
        float sigma = 1.4826f * median_deviation(v, left, med);
        if (sigma == 0.0f) break;   /* no spread left: nothing stands out */

        size_t j = most_extreme(v, left, med, p->direction);
        float r = score(v[j], med, p->direction) / sigma;
        removed[i - 1] = index[j];
        if (j + 1 < left) {
            /* j is at the start: shift the values before it over it. */
            memmove(v + 1, v, j * sizeof *v);
            memmove(index + 1, index, j * sizeof *index);
            first++;
        }

        if (r > critical_value(n, i, p->alpha, p->direction)) anomalies = i;
    }
    return anomalies;
}

ShesdStatus shesd_detect(const float *x, size_t n, const ShesdParams *params, void *work,
                         size_t *anomalies, size_t *count, ShesdError *err)
{
    *count = 0;
    ShesdStatus status = check_input(x, n, params, err);
    if (status != SHESD_OK) return status;

    Scratch s;
    layout(n, params->period, work, &s);
    status = rank_residuals(x, n, params->period, &s, err);
    if (status != SHESD_OK) return status;

    size_t found = esd(&s, n, params, anomalies);
    merge_sort(anomalies, found, sizeof *anomalies, compare_indices, s.index);
    *count = found;
    err->status = SHESD_OK;
    err->message = NULL;
    return SHESD_OK;
}
