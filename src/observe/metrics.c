/*
** metrics.c: the /metrics page: every component's statistics in the
** Prometheus text exposition format, version 0.0.4; and the same numbers
** as one JSON document for /stats.
**
** Each family is written whole (HELP, TYPE, then one sample per
** component) because the format wants a family's samples together and its
** TYPE line before them. Samples are labelled component="NAME" and
** kind="source|transform|sink". Counter values are exact integers; the
** latency sum is written in seconds with nanosecond precision.
*/
#include "observe.h"

#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which components a family has samples for. */
typedef enum Scope { EVERY, CONSUMERS, FUNCTIONS } Scope;

typedef struct Family {
    const char *name, *type, *help;
    const char *key;        /* its name in /stats */
    size_t field;           /* offset of a uint64_t in SlStats */
    Scope scope;
} Family;

static const Family families[] = {
    { "sluice_records_in_total", "counter",
      "Records received by the component (a source: records it read).",
      "records_in", offsetof(SlStats, records_in), EVERY },
    { "sluice_records_out_total", "counter",
      "Records emitted by the component on its main output.",
      "records_out", offsetof(SlStats, records_out), EVERY },
    { "sluice_bytes_in_total", "counter",
      "Bytes read from outside (sources).",
      "bytes_in", offsetof(SlStats, bytes_in), EVERY },
    { "sluice_bytes_out_total", "counter",
      "Bytes written outside (sinks).",
      "bytes_out", offsetof(SlStats, bytes_out), EVERY },
    { "sluice_errors_total", "counter",
      "Records the component rejected or discarded.",
      "errors", offsetof(SlStats, errors), EVERY },
    { "sluice_retries_total", "counter",
      "Writes the component attempted again after a transient failure (sinks).",
      "retries", offsetof(SlStats, retries), CONSUMERS },
    { "sluice_queue_depth", "gauge",
      "Batches waiting at the component's input.",
      "queue_depth", offsetof(SlStats, queue_depth), CONSUMERS },
    { "sluice_function_fuel_total", "counter",
      "Fuel (WebAssembly instructions, roughly) used by function calls.",
      "fuel", offsetof(SlStats, fuel), FUNCTIONS },
    { "sluice_function_traps_total", "counter",
      "Function calls that ended in a trap.",
      "traps", offsetof(SlStats, traps), FUNCTIONS },
};

static const char *const kind_names[] = { "source", "transform", "sink" };

/* A function node: the `function` transform, or anything that reported
** calls with sl_observe_call. */
static bool is_function(const SlStats *s)
{
    return s->calls > 0 || !strcmp(s->type, "function");
}

static bool in_scope(const SlStats *s, Scope scope)
{
    if (scope == CONSUMERS) return s->kind != SL_SOURCE;
    if (scope == FUNCTIONS) return is_function(s);
    return true;
}

static uint64_t family_value(const Family *f, const SlStats *s)
{
    uint64_t v;
    memcpy(&v, (const char *)s + f->field, sizeof v);
    return v;
}

static void put_str(SlBuf *out, const char *s)
{
    sl_buf_put(out, s, strlen(s));
}

static void put_uint(SlBuf *out, uint64_t v)
{
    char text[24];
    int n = snprintf(text, sizeof text, "%" PRIu64, v);
    sl_buf_put(out, text, (size_t)n);
}

/* A label value, escaped as the format wants: \\, \" and \n. */
static void put_label_value(SlBuf *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') sl_buf_putc(out, '\\');
        if (*v == '\n') {
            put_str(out, "\\n");
            continue;
        }
        sl_buf_putc(out, *v);
    }
}

/* "{component="NAME",kind="KIND"" without the closing brace, so that a
** histogram bucket can add its `le`. */
static void put_labels_open(SlBuf *out, const SlStats *s)
{
    put_str(out, "{component=\"");
    put_label_value(out, s->name);
    put_str(out, "\",kind=\"");
    put_str(out, kind_names[s->kind]);
    sl_buf_putc(out, '"');
}

static void put_header(SlBuf *out, const char *name, const char *type, const char *help)
{
    put_str(out, "# HELP ");
    put_str(out, name);
    sl_buf_putc(out, ' ');
    put_str(out, help);
    put_str(out, "\n# TYPE ");
    put_str(out, name);
    sl_buf_putc(out, ' ');
    put_str(out, type);
    sl_buf_putc(out, '\n');
}

static void put_family(SlBuf *out, const Family *f, const SlStats *stats, size_t n)
{
    put_header(out, f->name, f->type, f->help);
    for (size_t i = 0; i < n; i++) {
        if (!in_scope(&stats[i], f->scope)) continue;
        uint64_t v = family_value(f, &stats[i]);
        put_str(out, f->name);
        put_labels_open(out, &stats[i]);
        put_str(out, "} ");
        put_uint(out, v);
        sl_buf_putc(out, '\n');
    }
}

static void put_bucket(SlBuf *out, const SlStats *s, const char *le, uint64_t cumulative)
{
    put_str(out, "sluice_function_call_duration_seconds_bucket");
    put_labels_open(out, s);
    put_str(out, ",le=\"");
    put_str(out, le);
    put_str(out, "\"} ");
    put_uint(out, cumulative);
    sl_buf_putc(out, '\n');
}

/* Prometheus buckets are cumulative; the pipeline counts per bucket. */
static void put_histogram(SlBuf *out, const SlStats *s)
{
    uint64_t cumulative = 0;
    for (int b = 0; b < SL_LATENCY_BUCKETS - 1; b++) {
        char le[32];
        snprintf(le, sizeof le, "%g", (double)sl_latency_bounds_ns[b] / 1e9);
        cumulative += s->latency[b];
        put_bucket(out, s, le, cumulative);
    }
    cumulative += s->latency[SL_LATENCY_BUCKETS - 1];
    put_bucket(out, s, "+Inf", cumulative);

    char sum[48];
    snprintf(sum, sizeof sum, "%" PRIu64 ".%09" PRIu64, s->latency_sum_ns / 1000000000,
             s->latency_sum_ns % 1000000000);
    put_str(out, "sluice_function_call_duration_seconds_sum");
    put_labels_open(out, s);
    put_str(out, "} ");
    put_str(out, sum);
    put_str(out, "\nsluice_function_call_duration_seconds_count");
    put_labels_open(out, s);
    put_str(out, "} ");
    /* The buckets' total rather than `calls`: they are read one by one,
    ** and the count must equal the +Inf bucket. */
    put_uint(out, cumulative);
    sl_buf_putc(out, '\n');
}

void sl_metrics_render(SlPipeline *p, double uptime_seconds, SlBuf *out)
{
    size_t n = sl_pipeline_count(p);
    SlStats *stats = calloc(n ? n : 1, sizeof *stats);
    if (!stats) abort();
    for (size_t i = 0; i < n; i++) sl_pipeline_stats(p, i, &stats[i]);

    put_header(out, "sluice_uptime_seconds", "gauge", "Seconds since the API started.");
    char up[32];
    snprintf(up, sizeof up, "%.3f", uptime_seconds);
    put_str(out, "sluice_uptime_seconds ");
    put_str(out, up);
    sl_buf_putc(out, '\n');

    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        put_family(out, &families[f], stats, n);

    put_header(out, "sluice_function_call_duration_seconds", "histogram",
               "Duration of calls to the WebAssembly function.");
    for (size_t i = 0; i < n; i++)
        if (is_function(&stats[i])) put_histogram(out, &stats[i]);
    free(stats);
}

/* ---- /stats ------------------------------------------------------------ */

static json_t *component_json(const SlStats *s)
{
    json_t *doc = json_pack("{s:s, s:s, s:s}", "name", s->name, "kind", kind_names[s->kind],
                            "type", s->type);
    for (const Family *f = families; f < families + sizeof families / sizeof families[0]; f++)
        if (in_scope(s, f->scope))
            json_object_set_new(doc, f->key, json_integer((json_int_t)family_value(f, s)));
    return doc;
}

json_t *sl_stats_json(SlPipeline *p, double uptime_seconds)
{
    json_t *components = json_array();
    for (size_t i = 0; i < sl_pipeline_count(p); i++) {
        SlStats s;
        sl_pipeline_stats(p, i, &s);
        json_array_append_new(components, component_json(&s));
    }
    return json_pack("{s:s, s:f, s:o}", "status", sl_pipeline_stopping(p) ? "draining" : "ok",
                     "uptime_seconds", uptime_seconds, "components", components);
}
