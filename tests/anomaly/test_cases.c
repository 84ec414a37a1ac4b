/*
 * Native tests of lib/anomaly against the upstream cases in
 * $ANOMALY_DIR/cases (STL, Student's t and normal quantiles, S-H-ESD) and
 * the real series in $ANOMALY_DIR/data.
 *
 *   test_cases ANOMALY_DIR
 *
 * Prints `ok NAME` or `FAIL NAME: why` per case and ends with
 * `anomaly: N passed, M failed`; exits 1 when a case failed.
 *
 * Detector cases compare anomaly indices exactly. A case that the reference
 * crate does not apply (`applies_to_rust_crate: false`) is held to the
 * crate's behaviour (`rust_behavior`), since that is what we reproduce; R
 * cases that only assert a count after R's post-processing are held to the
 * exact indices of the crate (`rust_equivalent`) after the same
 * post-processing.
 */
#include "shesd.h"
#include "stl.h"
#include "tquantile.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

/* Records the outcome of a case: why is NULL when it passed. */
static void report(const char *name, const char *why)
{
    if (why) {
        printf("FAIL %s: %s\n", name, why);
        failed++;
    } else {
        printf("ok %s\n", name);
        passed++;
    }
}

/* A failure message built with printf formatting (static storage). */
static const char *why(const char *format, ...)
{
    static char text[4096];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    return text;
}

/* A JSON number, or the strings "NaN", "inf", "-inf" the cases use. */
static double number(const json_t *v)
{
    if (json_is_number(v)) return json_number_value(v);
    const char *s = json_string_value(v);
    if (s && strcmp(s, "inf") == 0) return INFINITY;
    if (s && strcmp(s, "-inf") == 0) return -INFINITY;
    return NAN;
}

/* The series of a case as floats (caller frees); *n its length. */
static float *read_series(const json_t *array, size_t *n)
{
    *n = json_array_size(array);
    float *x = malloc((*n ? *n : 1) * sizeof *x);
    for (size_t i = 0; i < *n; i++) x[i] = (float)number(json_array_get(array, i));
    return x;
}

/* An array of indices (caller frees); *n its length. */
static size_t *read_indices(const json_t *array, size_t *n)
{
    *n = json_array_size(array);
    size_t *v = malloc((*n ? *n : 1) * sizeof *v);
    for (size_t i = 0; i < *n; i++) v[i] = (size_t)json_integer_value(json_array_get(array, i));
    return v;
}

/* The outcome of one detection. */
typedef struct {
    size_t *anomalies, count;
    ShesdError err;
} Detection;

static Detection detect(const float *x, size_t n, const ShesdParams *p)
{
    Detection d = { malloc((n ? n : 1) * sizeof(size_t)), 0, { SHESD_OK, NULL } };
    size_t bytes = shesd_work_bytes(n, p->period);
    void *work = malloc(bytes);
    shesd_detect(x, n, p, work, d.anomalies, &d.count, &d.err);
    free(work);
    return d;
}

/* NULL when got equals want exactly, else why not. */
static const char *compare_indices(const size_t *got, size_t ngot, const size_t *want, size_t nwant)
{
    if (ngot != nwant) return why("expected %zu anomalies, got %zu", nwant, ngot);
    for (size_t i = 0; i < ngot; i++)
        if (got[i] != want[i]) return why("anomaly %zu: expected index %zu, got %zu", i, want[i], got[i]);
    return NULL;
}

/* Reads a case's params (alpha, max_anoms, direction) into p. */
static const char *read_params(const json_t *c, ShesdParams *p)
{
    p->period = (size_t)json_integer_value(json_object_get(c, "period"));
    const json_t *params = json_object_get(c, "params");
    p->alpha = (float)json_number_value(json_object_get(params, "alpha"));
    p->max_anoms = (float)json_number_value(json_object_get(params, "max_anoms"));
    const char *direction = json_string_value(json_object_get(params, "direction"));
    ShesdError err;
    if (shesd_parse_direction(direction, strlen(direction), &p->direction, &err) != SHESD_OK)
        return err.message;
    return NULL;
}

/* Removes leading and trailing NaNs as R's na.omit does for them: returns
   the offset of the first value kept and shortens *n. */
static size_t trim_nans(const float *x, size_t *n)
{
    size_t first = 0, end = *n;
    while (first < end && isnan(x[first])) first++;
    while (end > first && isnan(x[end - 1])) end--;
    *n = end - first;
    return first;
}

/* Applies R's post-processing named by the case to the anomalies (in place). */
static void postprocess(const json_t *c, const float *x, size_t n, size_t period, Detection *d)
{
    const char *rule = json_string_value(json_object_get(c, "r_postprocessing"));
    if (!rule) return;
    size_t kept = 0;
    if (strncmp(rule, "only_last", 9) == 0) {
        for (size_t i = 0; i < d->count; i++)
            if (d->anomalies[i] >= n - period) d->anomalies[kept++] = d->anomalies[i];
        d->count = kept;
    } else if (strncmp(rule, "threshold=\"med_max\"", 19) == 0) {
        /* Keep anomalies at least the median of the per-period maxima. */
        size_t chunks = (n + period - 1) / period;
        double *maxima = malloc(chunks * sizeof *maxima);
        for (size_t k = 0; k < chunks; k++) {
            maxima[k] = -INFINITY;
            for (size_t i = k * period; i < n && i < (k + 1) * period; i++)
                if (x[i] > maxima[k]) maxima[k] = x[i];
        }
        for (size_t a = 1; a < chunks; a++)   /* insertion sort: a few values */
            for (size_t b = a; b > 0 && maxima[b - 1] > maxima[b]; b--) {
                double t = maxima[b];
                maxima[b] = maxima[b - 1];
                maxima[b - 1] = t;
            }
        double threshold = (maxima[(chunks - 1) / 2] + maxima[chunks / 2]) / 2.0;
        free(maxima);
        for (size_t i = 0; i < d->count; i++)
            if (x[d->anomalies[i]] >= threshold) d->anomalies[kept++] = d->anomalies[i];
        d->count = kept;
    }
}

/* rust_behavior "returns [i, j, ...]": the indices, or NULL when it is not a list. */
static size_t *parse_returned(const char *behavior, size_t *n)
{
    const char *list = behavior ? strstr(behavior, "returns [") : NULL;
    if (!list) return NULL;
    json_t *array = json_loads(list + 8, JSON_DISABLE_EOF_CHECK, NULL);
    size_t *v = read_indices(array, n);
    json_decref(array);
    return v;
}

static const char *run_detector_case(const json_t *c)
{
    ShesdParams p;
    const char *param_error = read_params(c, &p);
    const char *expected_error = json_string_value(json_object_get(c, "expected_error"));
    const json_t *applies = json_object_get(c, "applies_to_rust_crate");
    const char *behavior = json_string_value(json_object_get(c, "rust_behavior"));
    if (param_error) {
        if (expected_error && strcmp(param_error, expected_error) == 0) return NULL;
        return why("parameters refused: %s", param_error);
    }

    size_t n;
    float *x = read_series(json_object_get(c, "series"), &n);
    const json_t *equivalent = json_object_get(c, "rust_equivalent");
    const char *rule = json_string_value(json_object_get(c, "r_postprocessing"));
    /* The reference's indices for this R case are those of the series
       without its leading and trailing NaNs, shifted back. */
    size_t offset = equivalent && rule && strstr(rule, "drops leading/trailing NAs") ? trim_nans(x, &n) : 0;
    Detection d = detect(x + offset, n, &p);
    for (size_t i = 0; i < d.count; i++) d.anomalies[i] += offset;

    const char *result = NULL;
    size_t nwant = 0, *want = NULL;
    if (json_is_false(applies) && (want = parse_returned(behavior, &nwant))) {
        result = d.err.message ? why("error %s; the reference returns a result", d.err.message)
                               : compare_indices(d.anomalies, d.count, want, nwant);
    } else if (json_is_false(applies) && behavior && strstr(behavior, "PANIC")) {
        /* The reference crashes; we must report an error instead. */
        result = d.err.message ? NULL : why("no error where the reference panics");
    } else if (expected_error) {
        if (!d.err.message) result = why("expected error \"%s\", got none", expected_error);
        else if (!strstr(expected_error, d.err.message))
            result = why("expected error \"%s\", got \"%s\"", expected_error, d.err.message);
    } else if (d.err.message) {
        result = why("unexpected error: %s", d.err.message);
    } else if (json_is_array(json_object_get(c, "expected_anomalies"))) {
        want = read_indices(json_object_get(c, "expected_anomalies"), &nwant);
        result = compare_indices(d.anomalies, d.count, want, nwant);
    } else if (equivalent) {
        postprocess(c, x + offset, n, p.period, &d);
        want = read_indices(json_object_get(equivalent, "anomalies_after_postprocessing"), &nwant);
        result = compare_indices(d.anomalies, d.count, want, nwant);
        size_t count = (size_t)json_integer_value(json_object_get(c, "expected_anomaly_count"));
        if (!result && count && count != d.count) result = why("R expects %zu anomalies, got %zu", count, d.count);
    } else if (json_object_get(c, "expected_iterations")) {
        /* The upstream test counts the ESD steps: trunc(n * max_anoms). */
        size_t steps = (size_t)((float)n * p.max_anoms);
        size_t want_steps = (size_t)json_integer_value(json_object_get(c, "expected_iterations"));
        if (steps != want_steps) result = why("expected %zu iterations, got %zu", want_steps, steps);
    } else {
        result = "the case has no expectation this harness knows";
    }
    free(want);
    free(d.anomalies);
    free(x);
    return result;
}

/* Sample variance in double. */
static double variance(const double *v, size_t n)
{
    double mean = 0.0, sum = 0.0;
    for (size_t i = 0; i < n; i++) mean += v[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) sum += (v[i] - mean) * (v[i] - mean);
    return sum / (double)(n - 1);
}

/* The case's strength: max(0, 1 - var(remainder) / var(component + remainder)). */
static double strength(const float *component, const float *remainder, size_t n)
{
    double *r = malloc(n * sizeof *r), *cr = malloc(n * sizeof *cr);
    for (size_t i = 0; i < n; i++) {
        r[i] = remainder[i];
        cr[i] = (double)component[i] + (double)remainder[i];
    }
    double s = 1.0 - variance(r, n) / variance(cr, n);
    free(r);
    free(cr);
    return s > 0.0 ? s : 0.0;
}

static const char *compare_component(const json_t *expected, const char *name, const float *got)
{
    const json_t *want = json_object_get(expected, name);
    for (size_t i = 0; i < json_array_size(want); i++) {
        double w = number(json_array_get(want, i));
        if (!(fabs(w - got[i]) < 0.001)) return why("%s[%zu]: expected %.7g, got %.7g", name, i, w, got[i]);
    }
    return NULL;
}

static const char *run_stl_case(const json_t *c)
{
    size_t n;
    float *y = read_series(json_object_get(c, "series"), &n);
    size_t period = (size_t)json_integer_value(json_object_get(c, "period"));
    const json_t *params = json_object_get(c, "params");
    StlParams p = stl_defaults();
    if (json_object_get(params, "isdeg")) p.seasonal_degree = (int)json_integer_value(json_object_get(params, "isdeg"));
    if (json_object_get(params, "itdeg")) p.trend_degree = (int)json_integer_value(json_object_get(params, "itdeg"));
    if (json_object_get(params, "ildeg")) p.low_pass_degree = (int)json_integer_value(json_object_get(params, "ildeg"));
    p.robust = json_is_true(json_object_get(params, "robust"));

    float *parts = malloc(4 * (n ? n : 1) * sizeof *parts);
    float *work = malloc((stl_work_floats(n, period) + 1) * sizeof *work);
    StlResult r = { parts, parts + n, parts + 2 * n, parts + 3 * n };
    const char *error = stl_decompose(y, n, period, &p, work, &r);

    const char *result = NULL;
    const char *expected_error = json_string_value(json_object_get(c, "expected_error"));
    const json_t *expected = json_object_get(c, "expected");
    const json_t *seasonal_strength = json_object_get(c, "expected_seasonal_strength");
    const json_t *trend_strength = json_object_get(c, "expected_trend_strength");
    if (expected_error) {
        if (!error || strcmp(error, expected_error) != 0)
            result = why("expected error \"%s\", got \"%s\"", expected_error, error ? error : "none");
    } else if (error) {
        result = why("unexpected error: %s", error);
    } else if (expected) {
        const char *names[] = { "seasonal", "trend", "remainder", "weights" };
        const float *got[] = { r.seasonal, r.trend, r.remainder, r.weights };
        for (size_t k = 0; k < 4 && !result; k++) result = compare_component(expected, names[k], got[k]);
    } else if (seasonal_strength || trend_strength) {
        double want = number(seasonal_strength ? seasonal_strength : trend_strength);
        double got = strength(seasonal_strength ? r.seasonal : r.trend, r.remainder, n);
        if (!(fabs(got - want) < 0.001)) result = why("strength: expected %.9g, got %.9g", want, got);
    } else {
        result = "the case has no expectation this harness knows";
    }
    free(parts);
    free(work);
    free(y);
    return result;
}

/* Whether got matches want within tol (infinities and NaN exactly). */
static bool close_to(double got, double want, double tol)
{
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    return fabs(got - want) <= tol;
}

static const char *run_quantile_case(const json_t *c)
{
    size_t i;
    const json_t *q;
    json_array_foreach(json_object_get(c, "cases"), i, q) {
        double p = number(json_object_get(q, "p")), df = number(json_object_get(q, "df"));
        double want = number(json_object_get(q, "t")), tol = json_number_value(json_object_get(q, "abs_tol"));
        double got = t_quantile(p, df);
        if (!close_to(got, want, tol)) return why("t(p=%g, df=%g): expected %.17g, got %.17g", p, df, want, got);
    }
    json_array_foreach(json_object_get(c, "normal_ppf_cases"), i, q) {
        double p = number(json_object_get(q, "p"));
        double mean = number(json_object_get(q, "mean")), sd = number(json_object_get(q, "sd"));
        double want = number(json_object_get(q, "x")), tol = json_number_value(json_object_get(q, "abs_tol"));
        double got = mean + sd * normal_quantile(p);
        if (!close_to(got, want, tol)) return why("normal(p=%g): expected %.17g, got %.17g", p, want, got);
    }
    return NULL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_case_file(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/cases/%s", dir, file);
    json_error_t error;
    json_t *c = json_load_file(path, JSON_DECODE_ANY, &error);
    if (!c) {
        report(file, why("cannot read: %s", error.text));
        return;
    }
    const char *kind = json_string_value(json_object_get(c, "kind"));
    if (kind && strcmp(kind, "anomaly_detection") == 0) report(file, run_detector_case(c));
    else if (kind && strcmp(kind, "stl") == 0) report(file, run_stl_case(c));
    else if (kind && strcmp(kind, "students_t_ppf") == 0) report(file, run_quantile_case(c));
    else report(file, why("unknown kind %s", kind ? kind : "(none)"));
    json_decref(c);
}

static void run_case_files(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/cases", dir);
    DIR *d = opendir(path);
    if (!d) {
        report("cases", why("cannot open %s", path));
        return;
    }
    char *names[1024];
    size_t count = 0;
    for (struct dirent *e; (e = readdir(d)) && count < 1024;) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) names[count++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof *names, by_name);
    for (size_t i = 0; i < count; i++) {
        run_case_file(dir, names[i]);
        free(names[i]);
    }
}

/* The second column of a CSV file with a header line, parsed straight to
   float (caller frees); *n its length, NULL when unreadable. */
static float *read_csv_column(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t cap = 1024;
    float *x = malloc(cap * sizeof *x);
    char line[512];
    *n = 0;
    if (!fgets(line, sizeof line, f)) line[0] = 0;   /* the header */
    while (fgets(line, sizeof line, f)) {
        char *comma = strrchr(line, ',');
        if (!comma) continue;
        if (*n == cap) x = realloc(x, (cap *= 2) * sizeof *x);
        x[(*n)++] = strtof(comma + 1, NULL);
    }
    fclose(f);
    return x;
}

/* The batch example of the issue: the Twitter series, period 1440,
   max_anoms 0.02, both directions, alpha 0.05: the reference finds 131. */
static void run_twitter_batch(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/data/twitter_raw_data.csv", dir);
    size_t n;
    float *x = read_csv_column(path, &n);
    if (!x) {
        report("twitter_raw_data batch", why("cannot read %s", path));
        return;
    }
    ShesdParams p = { .period = 1440, .alpha = 0.05f, .max_anoms = 0.02f, .direction = SHESD_BOTH };
    Detection d = detect(x, n, &p);
    const char *result = d.err.message ? why("error: %s", d.err.message) : NULL;
    if (!result && d.count != 131) result = why("expected 131 anomalies, got %zu", d.count);
    if (!result) printf("# twitter_raw_data: %zu values, %zu anomalies, first %zu, last %zu\n", n, d.count,
                        d.anomalies[0], d.anomalies[d.count - 1]);
    report("twitter_raw_data batch (period 1440, max_anoms 0.02, both): 131 anomalies", result);
    free(d.anomalies);
    free(x);
}

/* The seed's parameters (alpha 1.0, max_anoms 0.5) on a real series: a
   result, the same twice. */
static void run_seed_parameters(const char *dir, const char *file, size_t period)
{
    char path[4096], name[256];
    snprintf(path, sizeof path, "%s/data/%s", dir, file);
    snprintf(name, sizeof name, "seed parameters (alpha 1.0, max_anoms 0.5) on %s", file);
    size_t n;
    float *x = read_csv_column(path, &n);
    if (!x) {
        report(name, why("cannot read %s", path));
        return;
    }
    ShesdParams p = { .period = period, .alpha = 1.0f, .max_anoms = 0.5f, .direction = SHESD_BOTH };
    Detection a = detect(x, n, &p), b = detect(x, n, &p);
    const char *result = a.err.message ? why("error: %s", a.err.message)
                                       : compare_indices(b.anomalies, b.count, a.anomalies, a.count);
    if (!result) printf("# %s: %zu values, %zu anomalies\n", file, n, a.count);
    report(name, result);
    free(a.anomalies);
    free(b.anomalies);
    free(x);
}

/* Invalid input of our own: an error each time, never a crash. */
static void run_invalid_inputs(void)
{
    float series[40];
    for (size_t i = 0; i < 40; i++) series[i] = (float)(i % 7) + (i == 20 ? 30.0f : 0.0f);
    struct {
        const char *name, *error;
        size_t n, period;
        float poison;
    } cases[] = {
        { "invalid: period 0", "period must be at least 2", 40, 0, 0.0f },
        { "invalid: period 1", "period must be at least 2", 40, 1, 0.0f },
        { "invalid: one value short of 2 periods", "series must contain at least 2 periods", 39, 20, 0.0f },
        { "invalid: infinite value", "series contains infinite values", 40, 7, INFINITY },
        { "invalid: values too large to decompose", "series values are too large", 40, 7, 3.0e38f },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        float x[40];
        memcpy(x, series, sizeof x);
        if (cases[k].poison != 0.0f) x[5] = cases[k].poison, x[6] = -cases[k].poison;
        ShesdParams p = { cases[k].period, 0.05f, 0.1f, SHESD_BOTH };
        Detection d = detect(x, cases[k].n, &p);
        const char *result = NULL;
        if (!d.err.message || strcmp(d.err.message, cases[k].error) != 0)
            result = why("expected error \"%s\", got \"%s\"", cases[k].error, d.err.message ? d.err.message : "none");
        report(cases[k].name, result);
        free(d.anomalies);
    }
    /* Odd parameters are the reference's business: results, not crashes. */
    float odd[][2] = { { NAN, 0.1f }, { 0.05f, NAN }, { 0.05f, 1e30f }, { -1.0f, 0.5f } };
    for (size_t k = 0; k < sizeof odd / sizeof odd[0]; k++) {
        ShesdParams p = { 7, odd[k][0], odd[k][1], SHESD_NEG };
        Detection d = detect(series, 40, &p);
        report(why("odd parameters alpha %g, max_anoms %g give a result", odd[k][0], odd[k][1]),
               d.err.message ? d.err.message : NULL);
        free(d.anomalies);
    }
    /* Exactly two periods is enough. */
    ShesdParams p = { 20, 0.05f, 0.1f, SHESD_BOTH };
    Detection d = detect(series, 40, &p);
    report("exactly two periods", d.err.message);
    free(d.anomalies);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_cases ANOMALY_DIR\n");
        return 2;
    }
    run_case_files(argv[1]);
    run_twitter_batch(argv[1]);
    run_seed_parameters(argv[1], "twitter_extdata_data.csv", 24);
    run_seed_parameters(argv[1], "twitter_raw_data.csv", 1440);
    run_invalid_inputs();
    printf("anomaly: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
