/*
** test_observe.c: unit tests of the observability parts that need no HTTP
** (src/observe): the /metrics page of a loaded pipeline, reading such a
** page back as `sluice top` does (labels with escapes, histograms,
** malformed lines), the rates and quantiles of its table, and tap streams
** on a running pipeline (a limit, and the end when the taps close).
*/
#include "../../src/observe/observe.h"
#include "../../src/observe/top.h"
#include "unit.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* A batch pipeline in a temporary file: generate COUNT -> filter -> sink. */
static SlPipeline *load_pipeline(long count)
{
    char path[] = "/tmp/sluice-observe-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "w");
    fprintf(f, "sources:\n  gen: {type: generate, count: %ld}\n"
               "transforms:\n  warm: {type: filter, inputs: [gen], condition: temperature >= 20}\n"
               "sinks:\n  out: {type: file, inputs: [warm], path: /dev/null}\n", count);
    fclose(f);
    SlDiag d = { 0 };
    SlPipeline *p = sl_pipeline_load(path, &d);
    if (!p) sl_diag_print(&d);
    sl_diag_free(&d);
    unlink(path);
    return p;
}

static char *table_text(const SlTopReading *before, const SlTopReading *now, double seconds)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    sl_top_table(f, before, now, seconds, "\n");
    fclose(f);
    return text;
}

TEST(metrics_page_reads_back)
{
    SlPipeline *p = load_pipeline(10);
    CHECK(p != NULL);
    if (!p) return;
    SlBuf page = { 0 };
    sl_metrics_render(p, 1.5, &page);
    sl_buf_putc(&page, '\0');
    CHECK(strstr(page.data, "# TYPE sluice_records_in_total counter\n") != NULL);
    CHECK(strstr(page.data, "sluice_queue_depth{component=\"warm\",kind=\"transform\"} 0\n") != NULL);
    CHECK(strstr(page.data, "sluice_queue_depth{component=\"gen\"") == NULL);
    CHECK(strstr(page.data, "# TYPE sluice_function_call_duration_seconds histogram\n") != NULL);
    CHECK(strstr(page.data, "_bucket{component=\"warm\"") == NULL);

    SlTopReading r;
    char err[200];
    CHECK(sl_top_parse(page.data, &r, err, sizeof err));
    CHECK_EQ_INT(r.count, 3);
    if (r.count == 3) {
        CHECK(!strcmp(r.rows[0].name, "gen") && !strcmp(r.rows[0].kind, "source"));
        CHECK(!r.rows[0].has_queue && r.rows[1].has_queue && !r.rows[1].function);
        CHECK(!strcmp(r.rows[2].kind, "sink"));
    }
    sl_top_free(&r);
    sl_buf_free(&page);
    sl_pipeline_free(p);
}

static const char before_page[] =
    "# HELP x y\n"
    "sluice_records_in_total{component=\"a \\\"q\\\" \\\\ b\",kind=\"transform\"} 100\n"
    "sluice_records_out_total{kind=\"transform\",component=\"a \\\"q\\\" \\\\ b\"} 50 1700000000\n"
    "sluice_queue_depth{component=\"a \\\"q\\\" \\\\ b\",kind=\"transform\"} 3\n"
    "sluice_function_call_duration_seconds_bucket{component=\"a \\\"q\\\" \\\\ b\",kind=\"transform\",le=\"0.001\"} 0\n"
    "sluice_function_call_duration_seconds_bucket{component=\"a \\\"q\\\" \\\\ b\",kind=\"transform\",le=\"0.01\"} 0\n"
    "sluice_function_call_duration_seconds_bucket{component=\"a \\\"q\\\" \\\\ b\",kind=\"transform\",le=\"+Inf\"} 0\n"
    "other_metric 1\n";

static const char after_page[] =
    "sluice_records_in_total{component=\"a \\\"q\\\" \\\\ b\",kind=\"transform\"} 300\n"
    "sluice_records_out_total{component=\"a \\\"q\\\" \\\\ b\",kind=\"transform\"} 150\n"
    "sluice_errors_total{component=\"a \\\"q\\\" \\\\ b\",kind=\"transform\"} 4\n"
    "sluice_queue_depth{component=\"a \\\"q\\\" \\\\ b\",kind=\"transform\"} 1\n"
    "sluice_function_call_duration_seconds_bucket{component=\"a \\\"q\\\" \\\\ b\",kind=\"transform\",le=\"0.001\"} 50\n"
    "sluice_function_call_duration_seconds_bucket{component=\"a \\\"q\\\" \\\\ b\",kind=\"transform\",le=\"0.01\"} 100\n"
    "sluice_function_call_duration_seconds_bucket{component=\"a \\\"q\\\" \\\\ b\",kind=\"transform\",le=\"+Inf\"} 100\n";

TEST(rates_and_quantiles)
{
    SlTopReading before, after;
    char err[200];
    CHECK(sl_top_parse(before_page, &before, err, sizeof err));
    CHECK(sl_top_parse(after_page, &after, err, sizeof err));
    CHECK_EQ_INT(after.count, 1);
    if (after.count != 1) return;
    CHECK(!strcmp(after.rows[0].name, "a \"q\" \\ b"));
    CHECK_EQ_INT(after.rows[0].nbuckets, 3);
    char *text = table_text(&before, &after, 2.0);
    /* 200 in and 100 out in 2 s; half the calls under 1ms: p50 = 1ms;
    ** p99 interpolated in (1ms, 10ms]. */
    CHECK(strstr(text, "a \"q\" \\ b transform        100.0         50.0        2.0      1     1.0ms     9.8ms\n") != NULL);
    if (!strstr(text, "9.8ms")) fprintf(stderr, "%s", text);
    free(text);
    sl_top_free(&before);
    sl_top_free(&after);
}

TEST(malformed_pages_are_refused)
{
    static const char *const bad[] = {
        "sluice_records_in_total{component=\"a\"} \n",
        "sluice_records_in_total{component=\"a} 1\n",
        "sluice_records_in_total{component=\"a\\x\"} 1\n",
        "sluice_records_in_total{component=\"a\" 1\n",
        "sluice_records_in_total{=\"a\"} 1\n",
        "sluice_records_in_total{component=\"a\"} one\n",
        "sluice_records_in_total{component=\"a\"} 1 2 3\n",
        "9lives 1\n",
        "# TYPE x counter\n",                /* no component at all */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SlTopReading r;
        char err[200] = "";
        bool ok = sl_top_parse(bad[i], &r, err, sizeof err);
        CHECK(!ok && *err);
        if (ok) {
            fprintf(stderr, "accepted: %s", bad[i]);
            sl_top_free(&r);
        }
    }
}

typedef struct Reader {
    SlTapStream *stream;
    size_t bytes, lines;
} Reader;

static void *read_stream(void *arg)
{
    Reader *r = arg;
    char buf[4096];
    ssize_t n;
    while ((n = sl_tap_read(r->stream, buf, sizeof buf)) >= 0) {
        for (ssize_t i = 0; i < n; i++) r->lines += buf[i] == '\n';
        r->bytes += (size_t)n;
    }
    sl_tap_close(r->stream);
    return NULL;
}

TEST(tap_streams_follow_a_run)
{
    SlPipeline *p = load_pipeline(20000);
    CHECK(p != NULL);
    if (!p) return;
    SlTaps *taps = sl_taps_new(p);
    CHECK(sl_tap_open(taps, "nope", 0, 0) == NULL);
    Reader limited = { sl_tap_open(taps, "warm", 7, 0), 0, 0 };
    Reader all = { sl_tap_open(taps, "out", 0, 0), 0, 0 };
    pthread_t t1, t2;
    pthread_create(&t1, NULL, read_stream, &limited);
    pthread_create(&t2, NULL, read_stream, &all);
    SlRunOptions o = { .workers = 2 };
    CHECK_EQ_INT(sl_pipeline_run(p, &o), 0);
    sl_taps_close(taps, 5000);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    CHECK_EQ_INT(limited.lines, 7);
    SlStats out;
    sl_pipeline_stats(p, 2, &out);
    /* What the sink received, unless the reader lagged a whole MiB. */
    CHECK(all.lines > 0 && all.lines <= out.records_in);
    sl_taps_free(taps);
    sl_pipeline_free(p);
}

int main(void)
{
    RUN(metrics_page_reads_back);
    RUN(rates_and_quantiles);
    RUN(malformed_pages_are_refused);
    RUN(tap_streams_follow_a_run);
    return unit_summary();
}
