/*
** score.c: `sluice sim score` (see score.h). Both files become arrays of
** (sensor, time) marks sorted by sensor then time, so each question, "is
** this reading in the other file, or near a level shift?", is a binary
** search.
*/
#include "score.h"

#include "../pipeline/record.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Mark {
    char *sensor;
    int64_t ms;   /* milliseconds since the epoch */
    bool shift;   /* a level_shift row of the truth */
} Mark;

typedef struct Marks {
    Mark *v;
    size_t n, cap;
} Marks;

/* Where a line came from, for messages. */
typedef struct Place {
    const char *path;
    size_t line;
} Place;

bool sim_parse_time(const char *s, size_t len, int64_t *ms)
{
    /* The year first: sl_parse_time's nanoseconds cannot hold every year. */
    int year = 0;
    for (size_t i = 0; i < 4; i++) {
        if (i >= len || s[i] < '0' || s[i] > '9') return false;
        year = year * 10 + (s[i] - '0');
    }
    int64_t ns;
    if (year < 1970 || year >= 2200 || !sl_parse_time(s, len, &ns)) return false;
    *ms = ns / 1000000;
    return ns >= 0 && *ms <= SIM_LAST_MS;
}

static bool bad(const Place *at, const char *what)
{
    fprintf(stderr, "sluice sim score: %s:%zu: %s\n", at->path, at->line, what);
    return false;
}

static bool add(Marks *m, const char *sensor, size_t len, int64_t ms, bool shift)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        Mark *v = realloc(m->v, cap * sizeof *v);
        if (!v) return false;
        m->v = v;
        m->cap = cap;
    }
    char *copy = strndup(sensor, len);
    if (!copy) return false;
    m->v[m->n++] = (Mark){ copy, ms, shift };
    return true;
}

static void free_marks(Marks *m)
{
    for (size_t i = 0; i < m->n; i++) free(m->v[i].sensor);
    free(m->v);
}

/* Field number `index` of a CSV line (no quoted commas: timestamps and
   sensor ids have none), without surrounding double quotes. */
static bool csv_field(const char *line, int index, const char **start, size_t *len)
{
    const char *p = line;
    for (int i = 0; i < index; i++) {
        p = strchr(p, ',');
        if (!p) return false;
        p++;
    }
    const char *end = strchr(p, ',');
    *len = end ? (size_t)(end - p) : strlen(p);
    *start = p;
    if (*len >= 2 && p[0] == '"' && p[*len - 1] == '"') {
        (*start)++;
        *len -= 2;
    }
    return true;
}

/* A CSV line "timestamp,sensor[,kind...]". A first line whose timestamp
   does not parse is a header and is skipped. */
static bool read_csv(Marks *m, const char *line, const Place *at, bool is_truth)
{
    const char *ts, *sensor, *kind = "";
    size_t ts_len, sensor_len, kind_len = 0;
    int64_t ms;
    if (!csv_field(line, 0, &ts, &ts_len) || !sim_parse_time(ts, ts_len, &ms))
        return at->line == 1 ? true : bad(at, "the first field is not an RFC 3339 timestamp of 1970 to 2199");
    if (!csv_field(line, 1, &sensor, &sensor_len) || sensor_len == 0)
        return bad(at, "no sensor in the second field");
    if (is_truth && !csv_field(line, 2, &kind, &kind_len))
        return bad(at, "no kind in the third field (spike, drop or level_shift)");
    bool shift = kind_len == 11 && !memcmp(kind, "level_shift", 11);
    return add(m, sensor, sensor_len, ms, shift) || bad(at, "out of memory");
}

/* An NDJSON line {"timestamp": "...", "sensor": "...", "is_anomaly": true}:
   lines whose is_anomaly is present and not true are not flagged. */
static bool read_json(Marks *m, const char *line, const Place *at)
{
    json_error_t err;
    json_t *o = json_loads(line, 0, &err);
    if (!json_is_object(o)) {
        json_decref(o);
        return bad(at, "not a JSON object");
    }
    json_t *flag = json_object_get(o, "is_anomaly");
    const char *ts = json_string_value(json_object_get(o, "timestamp"));
    const char *sensor = json_string_value(json_object_get(o, "sensor"));
    int64_t ms;
    bool ok;
    if (flag && !json_is_true(flag))
        ok = true;   /* a reading the detector looked at and passed */
    else if (!ts || !sim_parse_time(ts, strlen(ts), &ms))
        ok = bad(at, "no RFC 3339 string in field \"timestamp\"");
    else if (!sensor || !*sensor)
        ok = bad(at, "no string in field \"sensor\"");
    else
        ok = add(m, sensor, strlen(sensor), ms, false) || bad(at, "out of memory");
    json_decref(o);
    return ok;
}

static bool read_file(Marks *m, const char *path, bool is_truth)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "sluice sim score: cannot open %s: %s\n", path, strerror(errno));
        return false;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    Place at = { path, 0 };
    bool ok = true;
    while (ok && (len = getline(&line, &cap, f)) >= 0) {
        at.line++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) continue;
        ok = !is_truth && line[0] == '{' ? read_json(m, line, &at) : read_csv(m, line, &at, is_truth);
    }
    if (ok && ferror(f)) {
        fprintf(stderr, "sluice sim score: cannot read %s: %s\n", path, strerror(errno));
        ok = false;
    }
    free(line);
    fclose(f);
    return ok;
}

static int compare_at(const char *sensor, int64_t ms, const Mark *m)
{
    int c = strcmp(sensor, m->sensor);
    if (c) return c;
    return ms < m->ms ? -1 : ms > m->ms;
}

static int compare_marks(const void *a, const void *b)
{
    const Mark *x = a;
    return compare_at(x->sensor, x->ms, b);
}

/* Sorts and drops repeated readings (a detector on overlapping windows
   may flag one reading twice; it counts once). */
static void sort_unique(Marks *m)
{
    if (m->n == 0) return;   /* m->v is NULL: no qsort */
    qsort(m->v, m->n, sizeof *m->v, compare_marks);
    size_t kept = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (kept > 0 && compare_marks(&m->v[kept - 1], &m->v[i]) == 0) {
            m->v[kept - 1].shift |= m->v[i].shift;
            free(m->v[i].sensor);
        } else {
            m->v[kept++] = m->v[i];
        }
    }
    m->n = kept;
}

/* The index of the first mark at or after (sensor, ms). */
static size_t lower_bound(const Marks *m, const char *sensor, int64_t ms)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (compare_at(sensor, ms, &m->v[mid]) > 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Whether `m` has a mark of `sensor` within [ms - reach, ms + reach];
   only level-shift marks count if `shifts_only`. */
static bool near(const Marks *m, const char *sensor, int64_t ms, int64_t reach, bool shifts_only)
{
    for (size_t i = lower_bound(m, sensor, ms - reach); i < m->n; i++) {
        if (strcmp(m->v[i].sensor, sensor) != 0 || m->v[i].ms > ms + reach) break;
        if (!shifts_only || m->v[i].shift) return true;
    }
    return false;
}

/* The smallest gap between two truth rows of one sensor (consecutive
   readings of a level shift give the interval exactly), or 0. */
static int64_t smallest_gap(const Marks *truth)
{
    int64_t gap = 0;
    for (size_t i = 1; i < truth->n; i++) {
        const Mark *a = &truth->v[i - 1], *b = &truth->v[i];
        if (!strcmp(a->sensor, b->sensor) && (gap == 0 || b->ms - a->ms < gap)) gap = b->ms - a->ms;
    }
    return gap;
}

static bool has_shift(const Marks *truth)
{
    for (size_t i = 0; i < truth->n; i++)
        if (truth->v[i].shift) return true;
    return false;
}

static void count(const Marks *truth, const Marks *flagged, int64_t reach, SimScore *out)
{
    *out = (SimScore){ .truth = truth->n };
    for (size_t i = 0; i < flagged->n; i++) {
        const Mark *f = &flagged->v[i];
        if (near(truth, f->sensor, f->ms, 0, false) || near(truth, f->sensor, f->ms, reach, true))
            out->tp++;
        else
            out->fp++;
    }
    for (size_t i = 0; i < truth->n; i++) {
        const Mark *t = &truth->v[i];
        if (!near(flagged, t->sensor, t->ms, t->shift ? reach : 0, false)) out->fn++;
    }
    size_t flagged_n = out->tp + out->fp;
    out->precision = flagged_n ? (double)out->tp / (double)flagged_n : truth->n == 0;
    out->recall = truth->n ? (double)(truth->n - out->fn) / (double)truth->n : 1.0;
}

bool sim_score(const SimScoreOptions *opt, SimScore *out)
{
    Marks truth = { 0 }, flagged = { 0 };
    bool ok = read_file(&truth, opt->truth_path, true) && read_file(&flagged, opt->detected_path, false);
    if (ok) {
        sort_unique(&truth);
        sort_unique(&flagged);
        int64_t interval = opt->interval_ms ? opt->interval_ms : smallest_gap(&truth);
        if (opt->tolerance > 0 && interval == 0 && has_shift(&truth)) {
            fprintf(stderr, "sluice sim score: cannot tell the reading interval from %s; "
                            "give --interval SECONDS\n", opt->truth_path);
            ok = false;
        } else {
            /* No overflow: times and gaps stay below 2^43 ms, tolerances below 2^20. */
            count(&truth, &flagged, interval * (int64_t)opt->tolerance, out);
        }
    }
    free_marks(&truth);
    free_marks(&flagged);
    return ok;
}
