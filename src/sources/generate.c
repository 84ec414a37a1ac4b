/*
** generate.c: the `generate` source: synthetic sensor readings for demos,
** tests and benchmarks. Record i is a pure function of i, so runs are
** reproducible: time = 2026-11-24T10:00:00Z + i ms, sensor-(i % sensors + 1),
** and readings that cycle. As structured fields, or as CSV or JSON text in
** `message` (to exercise the parsers).
*/
#include "../pipeline/component.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { FORMAT_FIELDS, FORMAT_CSV, FORMAT_JSON };

static const char *const formats[] = { "fields", "csv", "json", NULL };

static const SlSetting settings[] = {
    { .name = "count", .type = SL_SET_INT, .def = "0", .min = 0, .max = INT64_MAX,
      .doc = "How many records; 0 means without end (stream mode)." },
    { .name = "format", .type = SL_SET_STRING, .def = "fields", .choices = formats,
      .doc = "fields: structured records; csv or json: text in the field message." },
    { .name = "sensors", .type = SL_SET_INT, .def = "10", .min = 1, .max = 1000000,
      .doc = "How many distinct sensor names." },
    { .name = "rate", .type = SL_SET_INT, .def = "0", .min = 0, .max = INT64_MAX,
      .doc = "Records per second at most; 0 means as fast as possible." },
    { 0 },
};

typedef struct Generate {
    int64_t count, sensors, rate;
    int format;
} Generate;

static const int64_t BASE_NS = 1795514400LL * 1000000000; /* 2026-11-24T10:00:00Z */

static int init(SlCtx *ctx, const SlConf *conf)
{
    Generate *g = calloc(1, sizeof *g);
    if (!g) return -1;
    g->count = sl_conf_int(conf, "count", 0);
    g->sensors = sl_conf_int(conf, "sensors", 10);
    g->rate = sl_conf_int(conf, "rate", 0);
    const char *format = sl_conf_str(conf, "format", "fields");
    g->format = !strcmp(format, "csv") ? FORMAT_CSV : !strcmp(format, "json") ? FORMAT_JSON
                                                                            : FORMAT_FIELDS;
    sl_set_state(ctx, g);
    sl_set_finite(ctx, g->count > 0);
    return 0;
}

typedef struct Reading {
    int64_t ns;
    char sensor[32];
    size_t sensor_len;
    double temperature, humidity, pressure, pm25;
} Reading;

static void reading(const Generate *g, int64_t i, Reading *r)
{
    r->ns = BASE_NS + i * 1000000;
    r->sensor_len = (size_t)snprintf(r->sensor, sizeof r->sensor, "sensor-%lld",
                                     (long long)(i % g->sensors + 1));
    r->temperature = 15 + (double)(i % 200) / 10;
    r->humidity = 30 + (double)(i % 500) / 10;
    r->pressure = 1000 + (double)(i % 300) / 10;
    r->pm25 = (double)(i % 2000) / 10;
}

static void add_fields(SlBatch *b, SlRecord *rec, const Reading *r)
{
    *sl_set(b, rec, "time") = sl_time(r->ns);
    *sl_set(b, rec, "sensor") = sl_str(sl_copy_str(b, r->sensor, r->sensor_len), r->sensor_len);
    *sl_set(b, rec, "temperature") = sl_float(r->temperature);
    *sl_set(b, rec, "humidity") = sl_float(r->humidity);
    *sl_set(b, rec, "pressure") = sl_float(r->pressure);
    *sl_set(b, rec, "pm25") = sl_float(r->pm25);
}

static void add_text(SlBatch *b, SlRecord *rec, const Reading *r, int format)
{
    char ts[40], line[256];
    sl_format_time(r->ns, ts);
    int n = format == FORMAT_CSV
        ? snprintf(line, sizeof line, "%s,%s,%.1f,%.1f,%.1f,%.1f", ts, r->sensor,
                   r->temperature, r->humidity, r->pressure, r->pm25)
        : snprintf(line, sizeof line, "{\"time\":\"%s\",\"sensor\":\"%s\",\"temperature\":%.1f,"
                   "\"humidity\":%.1f,\"pressure\":%.1f,\"pm25\":%.1f}", ts, r->sensor,
                   r->temperature, r->humidity, r->pressure, r->pm25);
    *sl_set(b, rec, "message") = sl_str(sl_copy_str(b, line, (size_t)n), (size_t)n);
    b->bytes += (uint64_t)n + 1;
}

/* With a rate, sleeps until record `done` is due. */
static void pace(const Generate *g, int64_t done, int64_t started_ns)
{
    if (!g->rate) return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t due = started_ns + done * 1000000000 / g->rate;
    int64_t wait = due - ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
    if (wait > 0) nanosleep(&(struct timespec){ wait / 1000000000, wait % 1000000000 }, NULL);
}

static void run(SlCtx *ctx)
{
    const Generate *g = sl_state(ctx);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int64_t started = (int64_t)start.tv_sec * 1000000000 + start.tv_nsec;
    /* With a rate, small batches keep records flowing smoothly. */
    int64_t per_batch = g->rate && g->rate < SL_BATCH_RECORDS * 10 ? g->rate / 10 + 1
                                                                    : SL_BATCH_RECORDS;
    for (int64_t i = 0; !g->count || i < g->count;) {
        SlBatch *b = sl_batch_new();
        for (int64_t k = 0; k < per_batch && (!g->count || i < g->count); k++, i++) {
            Reading r;
            reading(g, i, &r);
            SlRecord *rec = sl_batch_add(b);
            if (g->format == FORMAT_FIELDS) add_fields(b, rec, &r);
            else add_text(b, rec, &r, g->format);
        }
        if (g->count) sl_progress(ctx, (uint64_t)i, (uint64_t)g->count);
        pace(g, i, started);
        if (!sl_emit(ctx, b)) return;
    }
}

const SlComponentType sl_source_generate = {
    .name = "generate",
    .kind = SL_SOURCE,
    .doc = "Synthetic sensor readings, for demos, tests and benchmarks.",
    .settings = settings,
    .init = init,
    .run = run,
    .destroy = free,
};
