/*
** cmd_pipeline.c: `sluice validate FILE`, `sluice run FILE` and
** `sluice schema`, the commands of pipelines (src/pipeline/pipeline.h does
** the work).
*/
#include "commands.h"
#include "observe/api.h"
#include "pipeline/pipeline.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static SlPipeline *load(const char *path)
{
    SlDiag d = { 0 };
    SlPipeline *p = sl_pipeline_load(path, &d);
    if (!p) {
        sl_diag_print(&d);
        fprintf(stderr, "%s: %zu problem%s\n", path, d.count, d.count == 1 ? "" : "s");
    }
    sl_diag_free(&d);
    return p;
}

int cmd_pipeline_validate(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: sluice validate PIPELINE.yaml\n");
        return 2;
    }
    SlPipeline *p = load(argv[1]);
    if (!p) return 1;
    printf("%s: ok, %zu components, %s mode\n", argv[1], sl_pipeline_count(p),
           sl_pipeline_finite(p) ? "batch" : "stream");
    sl_pipeline_free(p);
    return 0;
}

int cmd_pipeline_schema(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: sluice schema\n");
        return 2;
    }
    char *schema = sl_pipeline_json_schema();
    if (!schema) return 1;
    puts(schema);
    free(schema);
    return 0;
}

static int parse_count(const char *flag, const char *text, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < 1 || v > 4096) {
        fprintf(stderr, "sluice run: %s wants a number from 1 to 4096, not '%s'\n", flag, text);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Totals across components, for the closing line. */
static void summary(SlPipeline *p)
{
    uint64_t read = 0, written = 0, errors = 0;
    for (size_t i = 0; i < sl_pipeline_count(p); i++) {
        SlStats s;
        sl_pipeline_stats(p, i, &s);
        if (s.kind == SL_SOURCE) read += s.records_out;
        if (s.kind == SL_SINK) written += s.records_in;
        errors += s.errors;
    }
    fprintf(stderr, "sluice: %llu records read, %llu written by sinks, %llu rejected\n",
            (unsigned long long)read, (unsigned long long)written, (unsigned long long)errors);
}

/* The observability API (docs/observability.md), bound before the pipeline
** starts so that a bad address stops the run before anything happens. */
static SlApi *start_api(SlPipeline *p, const char *address)
{
    char err[256];
    SlApi *api = sl_api_start(p, address, err, sizeof err);
    if (!api)
        fprintf(stderr, "sluice run: %s\n", err);
    else
        fprintf(stderr, "sluice: api listening on http://%s\n", sl_api_address(api));
    return api;
}

int cmd_pipeline_run(int argc, char **argv)
{
    SlRunOptions o = { 0 };
    bool quiet = false;
    const char *api_address = NULL;
    int i = 1;
    for (; i < argc - 1; i++) {
        if (!strcmp(argv[i], "--workers") && i + 2 < argc) {
            if (parse_count("--workers", argv[++i], &o.workers)) return 2;
        } else if (!strcmp(argv[i], "--queue") && i + 2 < argc) {
            if (parse_count("--queue", argv[++i], &o.queue_batches)) return 2;
        } else if (!strcmp(argv[i], "--api") && i + 2 < argc) {
            api_address = argv[++i];
        } else if (!strcmp(argv[i], "--quiet")) {
            quiet = true;
        } else {
            break;
        }
    }
    if (i != argc - 1) {
        fprintf(stderr, "usage: sluice run [--workers N] [--queue BATCHES] [--api HOST:PORT] "
                        "[--quiet] PIPELINE.yaml\n");
        return 2;
    }
    SlPipeline *p = load(argv[i]);
    if (!p) return 1;
    SlApi *api = NULL;
    if (api_address && !(api = start_api(p, api_address))) {
        sl_pipeline_free(p);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* a closed output is an error to report, not a death */
    o.progress = !quiet && sl_pipeline_finite(p) && isatty(STDERR_FILENO);
    int status = sl_pipeline_run(p, &o);
    if (api) sl_api_stop(api);
    if (!quiet) summary(p);
    sl_pipeline_free(p);
    return status;
}
