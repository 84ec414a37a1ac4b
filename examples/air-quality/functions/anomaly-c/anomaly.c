/*
** anomaly.c: seasonal anomaly detection (S-H-ESD) over a window of
** air-quality readings, the C twin of ../anomaly-rust: same input, output,
** configuration, errors and results, from the same library (lib/anomaly).
**
** Input: the readings and their timestamps, columns of equal lengths; a
** reading may be null (a missing value), which the detector refuses:
**   {"air_quality": [12.5, 13.0, 80.2, ...], "timestamp": ["2024-01-01T00:00:00Z", ...]}
** Output: the same two columns plus "is_anomaly", one boolean per reading.
** Configuration (see docs/anomaly.md):
**   {"period": 24, "alpha": 0.05, "max_anoms": 0.1, "direction": "both"}
** period (observations per season, an integer >= 2) is required; the others
** have these defaults. The seed's settings, alpha 1.0 and max_anoms 0.5, work.
**
** Errors: kind invalid_config for a bad configuration, invalid_input for a
** bad input, including what the detector refuses (fewer than two periods,
** missing values).
**
** Build (wasi-libc gives the math functions; -ffp-contract=off keeps the
** reference's float arithmetic):
**   clang-19 --target=wasm32-wasi --sysroot=/usr -O2 -ffp-contract=off \
**       -mexec-model=reactor -I$ROOT/sdk/c -I$ROOT/lib/anomaly \
**       -o anomaly_c.wasm anomaly.c $ROOT/lib/anomaly/{sort,stl,tquantile,shesd}.c
** (../build.sh does it).
*/
#include "sluice_fn.h"
#include "shesd.h"

#include <math.h>

static ShesdParams params;

/* Reads an optional number of the configuration into *out (as a float). */
static int read_number(const sl_json *config, const char *key, float *out)
{
    const sl_json *v = sl_get(config, key);
    if (!v) return SL_OK;
    if (v->type != SL_NUMBER || !isfinite((float)v->number))
        return sl_fail("invalid_config", "%s must be a number", key);
    *out = (float)v->number;
    return SL_OK;
}

static int init(const sl_json *config)
{
    params = shesd_defaults(0);
    const sl_json *period = sl_get(config, "period");
    if (!period || period->type != SL_NUMBER || !(period->number >= 2.0) || period->number > 1e9 ||
        period->number != floor(period->number))
        return sl_fail("invalid_config", "period must be an integer of at least 2");
    params.period = (size_t)period->number;
    if (read_number(config, "alpha", &params.alpha) != SL_OK) return SL_ERROR;
    if (read_number(config, "max_anoms", &params.max_anoms) != SL_OK) return SL_ERROR;
    const sl_json *direction = sl_get(config, "direction");
    if (direction) {
        ShesdError err = { SHESD_OK, "direction must be pos, neg, or both" };
        if (direction->type != SL_STRING ||
            shesd_parse_direction(direction->string, direction->len, &params.direction, &err) != SHESD_OK)
            return sl_fail("invalid_config", "%s", err.message);
    }
    return SL_OK;
}

static bool is_integer(const sl_json *v)
{
    return v->type == SL_NUMBER && v->number == floor(v->number);
}

/* Checks the shape of the input and gives its two columns. */
static int read_input(const sl_json *input, const sl_json **readings, const sl_json **timestamps)
{
    const sl_json *aq = sl_get(input, "air_quality"), *ts = sl_get(input, "timestamp");
    if (!aq || aq->type != SL_ARRAY) return sl_fail("invalid_input", "air_quality must be an array");
    if (!ts || ts->type != SL_ARRAY) return sl_fail("invalid_input", "timestamp must be an array");
    for (const sl_json *v = aq->first; v; v = v->next)
        if (v->type != SL_NUMBER && v->type != SL_NULL)
            return sl_fail("invalid_input", "air_quality[%zu] is neither a number nor null", sl_index(aq, v));
    for (const sl_json *v = ts->first; v; v = v->next)
        if (v->type != SL_STRING && !is_integer(v))
            return sl_fail("invalid_input", "timestamp[%zu] is neither a string nor an integer", sl_index(ts, v));
    if (aq->count != ts->count)
        return sl_fail("invalid_input", "air_quality has %zu values but timestamp has %zu", aq->count, ts->count);
    *readings = aq;
    *timestamps = ts;
    return SL_OK;
}

/* Runs the detector: flags[i] for each reading. */
static int detect(const float *x, size_t n, bool *flags)
{
    size_t bytes = shesd_work_bytes(n, params.period);
    void *work = bytes ? sl_alloc(bytes) : NULL;
    size_t *anomalies = sl_alloc((n ? n : 1) * sizeof *anomalies);
    if (!work || !anomalies) {
        sl_free(work);
        sl_free(anomalies);
        return sl_fail("out_of_memory", "no memory for %zu readings", n);
    }
    size_t count;
    ShesdError err;
    if (shesd_detect(x, n, &params, work, anomalies, &count, &err) != SHESD_OK) {
        sl_free(work);
        sl_free(anomalies);
        return sl_fail(err.status == SHESD_INVALID_PARAMS ? "invalid_config" : "invalid_input", "%s",
                       err.message);
    }
    for (size_t i = 0; i < n; i++) flags[i] = false;
    for (size_t i = 0; i < count; i++) flags[anomalies[i]] = true;
    sl_free(work);
    sl_free(anomalies);
    sl_debug("%zu of %zu readings are anomalies", count, n);
    return SL_OK;
}

static void write_output(sl_writer *out, const float *x, const bool *flags, const sl_json *timestamps)
{
    size_t n = timestamps->count;
    sl_write_object_begin(out);
    sl_write_key(out, "air_quality");
    sl_write_array_begin(out);
    for (size_t i = 0; i < n; i++) sl_write_float(out, x[i]);
    sl_write_array_end(out);
    sl_write_key(out, "timestamp");
    sl_write_value(out, timestamps);
    sl_write_key(out, "is_anomaly");
    sl_write_array_begin(out);
    for (size_t i = 0; i < n; i++) sl_write_bool(out, flags[i]);
    sl_write_array_end(out);
    sl_write_object_end(out);
}

static int execute(const sl_json *input, sl_writer *out)
{
    const sl_json *readings, *timestamps;
    if (read_input(input, &readings, &timestamps) != SL_OK) return SL_ERROR;
    size_t n = readings->count;
    float *x = sl_alloc((n ? n : 1) * sizeof *x);
    bool *flags = sl_alloc(n ? n : 1);
    if (!x || !flags) {
        sl_free(x);
        sl_free(flags);
        return sl_fail("out_of_memory", "no memory for %zu readings", n);
    }
    /* Numbers become floats as in the Rust twin (serde: via double); a
       null is a missing value, which the detector refuses as a NaN. */
    size_t i = 0;
    for (const sl_json *v = readings->first; v; v = v->next, i++) x[i] = v->type == SL_NUMBER ? (float)v->number : NAN;
    int status = detect(x, n, flags);
    if (status == SL_OK) write_output(out, x, flags, timestamps);
    sl_free(x);
    sl_free(flags);
    return status;
}

SLUICE_FUNCTION(execute, init)
