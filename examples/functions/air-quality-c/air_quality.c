/*
** air_quality.c: air-quality anomaly detection, the C twin of
** ../air-quality-rust (same input, output, configuration, rule and errors).
**
** Input: a column of air-quality readings and the column of their
** timestamps (strings or integers), of equal lengths:
**   {"air_quality": [12.5, 13.0, 80.2], "timestamp": ["2024-01-01T00:00:00Z", ...]}
** Output: the same two columns plus "is_anomaly", one boolean per reading.
** Configuration: {"threshold": 3.5} (the default).
**
** The rule (the seasonal S-H-ESD detector comes later): a reading is an
** anomaly when its modified z-score exceeds the threshold (Iglewicz and
** Hoaglin). With m the median of the window and MAD the median of the
** absolute deviations |x - m|:
**   z = 0.6745 (x - m) / MAD                  when MAD > 0;
**   z = (x - m) / (1.253314 MeanAD)           else, when the mean absolute
**                                             deviation MeanAD > 0;
**   otherwise all readings are equal and none is an anomaly.
** Readings are single-precision numbers, like the Rust twin's Vec<f32>; the
** statistics are computed in double precision in the same order.
**
** Build (wasi-libc, for strtod/snprintf and qsort):
**   clang-19 --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor \
**       -I../../../sdk/c -o air_quality_c.wasm air_quality.c
*/
#include "sluice_fn.h"

#include <stdlib.h>

static double threshold = 3.5;

static int init(const sl_json *config)
{
    const sl_json *t = sl_get(config, "threshold");
    if (!t) return SL_OK;
    if (t->type != SL_NUMBER || !(t->number > 0) || t->number - t->number != 0)
        return sl_fail("invalid_config", "threshold must be a positive number");
    threshold = t->number;
    return SL_OK;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of values[0..n), n > 0, which it sorts. */
static double median(double *values, size_t n)
{
    qsort(values, n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

/* Sets flags[i]: is the modified z-score of values[i] above threshold?
   values[0..n) is kept; scratch has room for n doubles. */
static void flag_anomalies(const double *values, size_t n, double *scratch, bool *flags)
{
    if (n == 0) return;
    for (size_t i = 0; i < n; i++) scratch[i] = values[i];
    double m = median(scratch, n);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        scratch[i] = values[i] > m ? values[i] - m : m - values[i];
        sum += scratch[i];
    }
    double mean_ad = sum / (double)n;
    double mad = median(scratch, n);
    for (size_t i = 0; i < n; i++) {
        double x = values[i], z = 0;
        if (mad > 0) z = 0.6745 * (x - m) / mad;
        else if (mean_ad > 0) z = (x - m) / (1.253314 * mean_ad);
        flags[i] = (z < 0 ? -z : z) > threshold;
    }
}

/* Whether a number is an integer timestamp: no fraction or exponent, and
   within the range of a signed 64-bit integer. */
static bool is_integer(const sl_json *v)
{
    for (size_t i = 0; i < v->len; i++)
        if (v->string[i] == '.' || v->string[i] == 'e' || v->string[i] == 'E') return false;
    return v->number >= -9223372036854775808.0 && v->number < 9223372036854775808.0;
}

/* Checks the types of the columns and their lengths; sets the two columns. */
static int read_input(const sl_json *input, const sl_json **readings, const sl_json **timestamps)
{
    const sl_json *aq = sl_get(input, "air_quality"), *ts = sl_get(input, "timestamp");
    if (!aq || aq->type != SL_ARRAY) return sl_fail("invalid_input", "air_quality must be an array of numbers");
    if (!ts || ts->type != SL_ARRAY)
        return sl_fail("invalid_input", "timestamp must be an array of strings or integers");
    for (const sl_json *v = aq->first; v; v = v->next)
        if (v->type != SL_NUMBER)
            return sl_fail("invalid_input", "air_quality[%zu] is not a number", sl_index(aq, v));
    for (const sl_json *v = ts->first; v; v = v->next)
        if (v->type != SL_STRING && !(v->type == SL_NUMBER && is_integer(v)))
            return sl_fail("invalid_input", "timestamp[%zu] is neither a string nor an integer", sl_index(ts, v));
    if (aq->count != ts->count)
        return sl_fail("invalid_input", "air_quality has %zu values but timestamp has %zu", aq->count, ts->count);
    *readings = aq;
    *timestamps = ts;
    return SL_OK;
}

static int execute(const sl_json *input, sl_writer *out)
{
    const sl_json *readings, *timestamps;
    if (read_input(input, &readings, &timestamps) != SL_OK) return SL_ERROR;
    size_t n = readings->count;
    double *values = sl_alloc(2 * n * sizeof *values);
    bool *flags = sl_alloc(n * sizeof *flags);
    if (!values || !flags) {
        sl_free(values);
        sl_free(flags);
        return sl_fail("out_of_memory", "no memory for %zu readings", n);
    }
    size_t i = 0;
    for (const sl_json *v = readings->first; v; v = v->next, i++) {
        float x = (float)v->number;
        if (x - x != 0) {
            sl_free(values);
            sl_free(flags);
            return sl_fail("invalid_input", "air_quality[%zu] is not a finite number", i);
        }
        values[i] = x;
    }
    flag_anomalies(values, n, values + n, flags);

    size_t anomalies = 0;
    sl_write_object_begin(out);
    sl_write_key(out, "air_quality");
    sl_write_array_begin(out);
    for (i = 0; i < n; i++) sl_write_float(out, (float)values[i]);
    sl_write_array_end(out);
    sl_write_key(out, "timestamp");
    sl_write_value(out, timestamps);
    sl_write_key(out, "is_anomaly");
    sl_write_array_begin(out);
    for (i = 0; i < n; i++) {
        sl_write_bool(out, flags[i]);
        anomalies += flags[i];
    }
    sl_write_array_end(out);
    sl_write_object_end(out);
    sl_free(values);
    sl_free(flags);
    sl_debug("%zu of %zu readings are anomalies", anomalies, n);
    return SL_OK;
}

SLUICE_FUNCTION(execute, init)
