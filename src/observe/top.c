/*
** top.c: the numbers behind `sluice top`. Reads the /metrics page of a
** running pipeline (the Prometheus text format written by metrics.c, but
** parsed by the format's grammar, not by position) into one row per
** component, and turns two readings into a table of rates: records in and
** out and errors per second, the queue depth, and for function nodes the
** median and 99th percentile call latency over the interval, estimated
** from the histogram's buckets as Prometheus' histogram_quantile does.
*/
#include "top.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Parsing --------------------------------------------------------- */

typedef struct Sample {
    char name[128];
    char component[256], kind[16], le[32];
    double value;
} Sample;

static const char *skip_spaces(const char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    return s;
}

static bool name_char(char c, bool first)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':' || (!first && isdigit((unsigned char)c));
}

/* A label value after its opening quote, unescaped into `out`; returns
** the text after the closing quote, or NULL. */
static const char *label_value(const char *s, char *out, size_t outlen)
{
    size_t n = 0;
    for (; *s && *s != '"' && *s != '\n'; s++) {
        char c = *s;
        if (c == '\\') {
            c = *++s;
            if (c == 'n') c = '\n';
            else if (c != '\\' && c != '"') return NULL;
        }
        if (n + 1 < outlen) out[n++] = c;
    }
    out[n] = '\0';
    return *s == '"' ? s + 1 : NULL;
}

/* Where the value of label `name` goes: component, kind and le are kept,
** others are read into `scratch` and forgotten. */
static char *label_slot(Sample *out, const char *name, size_t len, char *scratch,
                        size_t *cap)
{
    *cap = sizeof out->component;
    if (len == 9 && !strncmp(name, "component", 9)) return out->component;
    *cap = sizeof out->kind;
    if (len == 4 && !strncmp(name, "kind", 4)) return out->kind;
    *cap = sizeof out->le;
    if (len == 2 && !strncmp(name, "le", 2)) return out->le;
    *cap = sizeof out->component;
    return scratch;
}

/* The labels after '{'; returns the text after '}', or NULL. */
static const char *labels(const char *s, Sample *out)
{
    s = skip_spaces(s);
    while (*s != '}') {
        const char *name = s;
        while (name_char(*s, s == name)) s++;
        size_t len = (size_t)(s - name);
        s = skip_spaces(s);
        if (!len || *s++ != '=' || *(s = skip_spaces(s)) != '"') return NULL;
        char scratch[sizeof out->component];
        size_t cap;
        char *value = label_slot(out, name, len, scratch, &cap);
        if (!(s = label_value(s + 1, value, cap))) return NULL;
        s = skip_spaces(s);
        if (*s == ',') s = skip_spaces(s + 1);
        else if (*s != '}') return NULL;
    }
    return s + 1;
}

/* One sample line: NAME[{LABELS}] VALUE [TIMESTAMP]. */
static bool parse_sample(const char *line, Sample *out)
{
    memset(out, 0, sizeof *out);
    const char *s = line;
    while (name_char(*s, s == line)) s++;
    size_t len = (size_t)(s - line);
    if (!len || len >= sizeof out->name) return false;
    memcpy(out->name, line, len);
    if (*s == '{' && !(s = labels(s + 1, out))) return false;
    if (*s != ' ' && *s != '\t') return false;
    const char *value = skip_spaces(s);
    if (!*value || *value == '\n') return false;  /* strtod would skip the newline */
    char *end;
    out->value = strtod(value, &end);
    if (end == value) return false;
    const char *rest = skip_spaces(end);
    if (*rest == '-' || isdigit((unsigned char)*rest)) {    /* a timestamp */
        strtoll(rest, &end, 10);
        rest = skip_spaces(end);
    }
    return !*rest || *rest == '\n';
}

static SlTopRow *row_for(SlTopReading *r, const Sample *s)
{
    for (size_t i = 0; i < r->count; i++)
        if (!strcmp(r->rows[i].name, s->component)) return &r->rows[i];
    SlTopRow *rows = realloc(r->rows, (r->count + 1) * sizeof *rows);
    if (!rows) abort();
    r->rows = rows;
    SlTopRow *row = memset(&rows[r->count++], 0, sizeof *row);
    row->name = strdup(s->component);
    row->kind = strdup(s->kind);
    if (!row->name || !row->kind) abort();
    return row;
}

static void add_bucket(SlTopRow *row, const Sample *s)
{
    if (row->nbuckets == SL_TOP_BUCKETS) return;
    row->le[row->nbuckets] = strtod(s->le, NULL);   /* "+Inf" included */
    row->calls[row->nbuckets++] = s->value;
}

static void keep(SlTopReading *r, const Sample *s)
{
    if (!*s->component || strncmp(s->name, "sluice_", 7)) return;
    const char *family = s->name + 7;
    SlTopRow *row = row_for(r, s);
    if (!strcmp(family, "records_in_total")) row->in = s->value;
    else if (!strcmp(family, "records_out_total")) row->out = s->value;
    else if (!strcmp(family, "errors_total")) row->errors = s->value;
    else if (!strcmp(family, "queue_depth")) {
        row->queue = s->value;
        row->has_queue = true;
    } else if (!strcmp(family, "function_call_duration_seconds_bucket") && *s->le) {
        row->function = true;
        add_bucket(row, s);
    }
}

bool sl_top_parse(const char *text, SlTopReading *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t lineno = 0;
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        lineno++;
        Sample s;
        if (len && *line != '#') {
            if (!parse_sample(line, &s)) {
                snprintf(err, errlen, "line %zu is not a Prometheus sample: %.*s", lineno,
                         (int)(len > 80 ? 80 : len), line);
                sl_top_free(out);
                return false;
            }
            keep(out, &s);
        }
        line += len + (eol != NULL);
    }
    if (!out->count) snprintf(err, errlen, "the page has no sluice component metrics");
    return out->count > 0;
}

void sl_top_free(SlTopReading *r)
{
    for (size_t i = 0; i < r->count; i++) {
        free(r->rows[i].name);
        free(r->rows[i].kind);
    }
    free(r->rows);
    memset(r, 0, sizeof *r);
}

/* ---- The table ------------------------------------------------------- */

static const SlTopRow *find_row(const SlTopReading *r, const char *name)
{
    for (size_t i = 0; r && i < r->count; i++)
        if (!strcmp(r->rows[i].name, name)) return &r->rows[i];
    return NULL;
}

/* A counter's growth; a counter that went down was reset (a restart). */
static double growth(double now, double before)
{
    return now >= before ? now - before : now;
}

/* The q-quantile of the calls made between two readings of a histogram,
** interpolated linearly within its bucket; NAN when there were none. */
static double quantile(const SlTopRow *now, const SlTopRow *before, double q)
{
    bool same = before && before->nbuckets == now->nbuckets;
    double calls[SL_TOP_BUCKETS];
    for (size_t b = 0; b < now->nbuckets; b++)
        calls[b] = growth(now->calls[b], same ? before->calls[b] : 0);
    if (!now->nbuckets || calls[now->nbuckets - 1] <= 0) return NAN;
    double rank = q * calls[now->nbuckets - 1];
    size_t b = 0;
    while (b + 1 < now->nbuckets && calls[b] < rank) b++;
    if (isinf(now->le[b])) return b ? now->le[b - 1] : NAN;
    double lower = b ? now->le[b - 1] : 0, below = b ? calls[b - 1] : 0;
    double in_bucket = calls[b] - below;
    return in_bucket > 0 ? lower + (now->le[b] - lower) * (rank - below) / in_bucket
                         : now->le[b];
}

static void format_duration(char *out, size_t len, double seconds)
{
    if (isnan(seconds)) snprintf(out, len, "-");
    else if (seconds < 1e-3) snprintf(out, len, "%.0fus", seconds * 1e6);
    else if (seconds < 1) snprintf(out, len, "%.1fms", seconds * 1e3);
    else snprintf(out, len, "%.2fs", seconds);
}

static void table_row(FILE *out, int width, const SlTopRow *now, const SlTopRow *before,
                      double seconds, const char *eol)
{
    double in = growth(now->in, before ? before->in : 0) / seconds;
    double outr = growth(now->out, before ? before->out : 0) / seconds;
    double errors = growth(now->errors, before ? before->errors : 0) / seconds;
    char queue[24] = "-", p50[16] = "-", p99[16] = "-";
    if (now->has_queue) snprintf(queue, sizeof queue, "%.0f", now->queue);
    if (now->function) {
        format_duration(p50, sizeof p50, quantile(now, before, 0.5));
        format_duration(p99, sizeof p99, quantile(now, before, 0.99));
    }
    fprintf(out, "%-*s %-9s %12.1f %12.1f %10.1f %6s %9s %9s%s", width, now->name, now->kind,
            in, outr, errors, queue, p50, p99, eol);
}

void sl_top_table(FILE *out, const SlTopReading *before, const SlTopReading *now,
                  double seconds, const char *eol)
{
    int width = 9;
    for (size_t i = 0; i < now->count; i++)
        if ((int)strlen(now->rows[i].name) > width) width = (int)strlen(now->rows[i].name);
    fprintf(out, "%-*s %-9s %12s %12s %10s %6s %9s %9s%s", width, "COMPONENT", "KIND", "IN/S",
            "OUT/S", "ERRORS/S", "QUEUE", "P50", "P99", eol);
    for (size_t i = 0; i < now->count; i++)
        table_row(out, width, &now->rows[i], find_row(before, now->rows[i].name), seconds, eol);
}
