/*
** cmd_top.c: `sluice top`, live per-component rates of a running pipeline
** (one started with `sluice run --api ADDR`) in the terminal. It polls the
** pipeline's /metrics page every interval and shows the rates between the
** last two readings (src/observe/top.c): redrawn in place on a terminal,
** or one snapshot per interval as plain lines when the output is a pipe or
** a file. Ends on Ctrl-C, after --count snapshots, or when the pipeline
** goes away.
*/
#include "commands.h"
#include "observe/top.h"
#include "pipeline/encode.h"

#include <curl/curl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_API "127.0.0.1:8760"

static const char usage_text[] =
    "usage: sluice top [--api HOST:PORT] [--interval SECONDS] [--count N]\n"
    "  --api HOST:PORT      the pipeline's API, as given to `sluice run --api`\n"
    "                       (default: " DEFAULT_API ")\n"
    "  --interval SECONDS   time between readings (default: 1; at least 0.1)\n"
    "  --count N            stop after N snapshots (default: until Ctrl-C)\n";

typedef struct Options {
    const char *api;
    double interval;
    long count;                     /* 0: no limit */
} Options;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* ---- Options --------------------------------------------------------- */

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "sluice top: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage_text);
    return 2;
}

static int parse_options(int argc, char **argv, Options *o)
{
    *o = (Options){ .api = DEFAULT_API, .interval = 1 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (i + 1 == argc) return usage_error("unknown option or missing value: '%s'", a);
        const char *v = argv[++i];
        char *end;
        if (!strcmp(a, "--api")) {
            o->api = v;
        } else if (!strcmp(a, "--interval")) {
            o->interval = strtod(v, &end);
            if (!*v || *end || !(o->interval >= 0.1 && o->interval <= 3600))
                return usage_error("--interval wants seconds from 0.1 to 3600, not '%s'", v);
        } else if (!strcmp(a, "--count")) {
            o->count = strtol(v, &end, 10);
            if (!*v || *end || o->count < 1)
                return usage_error("--count wants a number above 0, not '%s'", v);
        } else {
            return usage_error("unknown option '%s'", a);
        }
    }
    return -1;
}

/* ---- Reading the metrics --------------------------------------------- */

static size_t collect(char *data, size_t size, size_t n, void *user)
{
    sl_buf_put(user, data, size * n);
    return size * n;
}

/* GETs the /metrics page and parses it; false with the reason in `err`. */
static bool fetch(CURL *curl, SlBuf *page, SlTopReading *out, char *err, size_t errlen)
{
    page->len = 0;
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, page);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(rc));
        return false;
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        snprintf(err, errlen, "GET /metrics answered HTTP %ld", status);
        return false;
    }
    sl_buf_putc(page, '\0');
    return sl_top_parse(page->data, out, err, errlen);
}

static CURL *open_client(const char *api, double interval)
{
    CURL *curl = curl_easy_init();
    if (!curl) return NULL;
    char url[512];
    snprintf(url, sizeof url, "http://%s/metrics", api);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(fmax(interval, 2) * 1000));
    return curl;
}

/* ---- Showing --------------------------------------------------------- */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps, waking early on Ctrl-C. */
static void pause_for(double seconds)
{
    struct timespec ts = { (time_t)seconds, (long)((seconds - floor(seconds)) * 1e9) };
    while (!interrupted && nanosleep(&ts, &ts) != 0) {}
}

static void show(const Options *o, bool tty, const SlTopReading *before,
                 const SlTopReading *now, double seconds)
{
    if (tty) {
        /* Home, draw over the last frame clearing each line's rest, then
        ** clear whatever the last frame had below. */
        printf("\033[H");
        printf("sluice top: %s, every %gs (Ctrl-C to quit)\033[K\n\033[K\n", o->api, o->interval);
        sl_top_table(stdout, before, now, seconds, "\033[K\n");
        printf("\033[J");
    } else {
        sl_top_table(stdout, before, now, seconds, "\n");
        printf("\n");
    }
    fflush(stdout);
}

static int watch(const Options *o, CURL *curl)
{
    bool tty = isatty(STDOUT_FILENO);
    SlBuf page = { 0 };
    SlTopReading before, now;
    char err[256];
    if (!fetch(curl, &page, &before, err, sizeof err)) {
        fprintf(stderr, "sluice top: no pipeline API at %s: %s\n"
                        "  (start one with `sluice run --api %s PIPELINE.yaml`)\n",
                o->api, err, o->api);
        sl_buf_free(&page);
        return 1;
    }
    if (tty) printf("\033[?25l\033[2J");   /* hide the cursor, clear the screen */
    double then = now_seconds();
    for (long shown = 0; !interrupted && (!o->count || shown < o->count); shown++) {
        pause_for(o->interval);
        if (interrupted) break;
        if (!fetch(curl, &page, &now, err, sizeof err)) {
            fprintf(stderr, "%ssluice top: the pipeline at %s went away (%s)\n",
                    tty ? "\n" : "", o->api, err);
            break;
        }
        double t = now_seconds();
        show(o, tty, &before, &now, t - then);
        sl_top_free(&before);
        before = now;
        then = t;
    }
    if (tty) printf("\033[?25h");           /* the cursor back */
    fflush(stdout);
    sl_top_free(&before);
    sl_buf_free(&page);
    return 0;
}

int cmd_top(int argc, char **argv)
{
    Options o;
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0) return rc;
    struct sigaction sa = { .sa_handler = on_signal };  /* no SA_RESTART: wake the sleep */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *curl = open_client(o.api, o.interval);
    if (!curl) {
        fprintf(stderr, "sluice top: cannot start an HTTP client\n");
        return 1;
    }
    rc = watch(&o, curl);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return rc;
}
