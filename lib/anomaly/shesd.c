/*
 * S-H-ESD anomaly detection (see shesd.h).
 *
 * All series arithmetic is in float and in the reference's operation order
 * (build with -ffp-contract=off, no fast-math); only the t quantile is in
 * double. The residuals are kept sorted, so that each ESD step finds the
 * median directly and the MAD by merging the two monotonic halves of the
 * absolute deviations: a step costs O(n) and no sort.
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

/* The median of |v - med| for sorted v whose median is med. The deviations
   fall from v[0] to the middle and rise after it: merging the two runs
   gives them in ascending order without sorting. */
static float median_deviation(const float *v, size_t n, float med)
{
    size_t left = n / 2, right = n / 2;   /* next: v[left - 1] going down, v[right] going up */
    float lower = 0.0f, upper = 0.0f;
    for (size_t rank = 0; rank <= n / 2; rank++) {
        bool take_left = right == n || (left > 0 && fabsf(v[left - 1] - med) <= fabsf(v[right] - med));
        float d = take_left ? fabsf(v[--left] - med) : fabsf(v[right++] - med);
        if (rank == (n - 1) / 2) lower = d;
        upper = d;
    }
    return (lower + upper) / 2.0f;
}

static float score(float v, float med, ShesdDirection direction)
{
    switch (direction) {
    case SHESD_POS: return v - med;
    case SHESD_NEG: return med - v;
    default: return fabsf(v - med);
    }
}

/* The position of the most extreme value; the last one on ties. */
static size_t most_extreme(const float *v, size_t n, float med, ShesdDirection direction)
{
    size_t best = 0;
    float best_score = score(v[0], med, direction);
    for (size_t j = 1; j < n; j++) {
        float s = score(v[j], med, direction);
        if (s >= best_score) {
            best = j;
            best_score = s;
        }
    }
    return best;
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
   count as anomalies (up to the last step whose test passed). */
static size_t esd(Scratch *s, size_t n, const ShesdParams *p, size_t *removed)
{
    size_t steps = max_outliers(n, p->max_anoms), anomalies = 0, left = n;
    for (size_t i = 1; i <= steps; i++, left--) {
        float med = median_sorted(s->values, left);
        float sigma = 1.4826f * median_deviation(s->values, left, med);
        if (sigma == 0.0f) break;   /* no spread left: nothing stands out */

        size_t j = most_extreme(s->values, left, med, p->direction);
        float r = score(s->values[j], med, p->direction) / sigma;
        removed[i - 1] = s->index[j];
        memmove(&s->values[j], &s->values[j + 1], (left - j - 1) * sizeof *s->values);
        memmove(&s->index[j], &s->index[j + 1], (left - j - 1) * sizeof *s->index);

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
