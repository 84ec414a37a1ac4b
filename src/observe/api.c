/*
** api.c: the HTTP server of the observability API (`sluice run --api`):
** binding the address, routing requests, /health, and serving /metrics
** and /stats (metrics.c) and /tap streams (tap.c).
**
** libmicrohttpd runs each connection on a thread of its own, so a tap
** stream waiting for records never delays a /metrics scrape; connections
** are capped so that a flood of clients cannot exhaust threads. The
** listening socket is bound first (common/listen.c) rather than by
** libmicrohttpd so that a bad address or a port in use is reported
** precisely, before the pipeline starts.
*/
#include "api.h"
#include "observe.h"
#include "../common/http.h"
#include "../common/listen.h"

#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    MAX_CONNECTIONS = 64,
    IDLE_TIMEOUT_S = 60,
    TAP_BLOCK = 64 * 1024,          /* bytes handed to libmicrohttpd at a time */
    TAP_GRACE_MS = 2000,            /* for tap streams to send their last records */
    TAP_MAX_SECONDS = 7 * 86400,
};

#define TAP_MAX_LIMIT 1e12

struct SlApi {
    SlPipeline *pipeline;
    struct MHD_Daemon *daemon;
    SlTaps *taps;
    int64_t started_ns;
    char address[LISTEN_ADDRESS_MAX];
};

int64_t sl_observe_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- Endpoints ------------------------------------------------------- */

static double uptime(const SlApi *api)
{
    return (double)(sl_observe_now_ns() - api->started_ns) / 1e9;
}

static enum MHD_Result health(SlApi *api, struct MHD_Connection *c)
{
    bool draining = sl_pipeline_stopping(api->pipeline);
    json_t *doc = json_pack("{s:s,s:f,s:I}", "status", draining ? "draining" : "ok",
                            "uptime_seconds", uptime(api),
                            "components", (json_int_t)sl_pipeline_count(api->pipeline));
    return http_send_json(c, draining ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK, doc);
}

static enum MHD_Result metrics(SlApi *api, struct MHD_Connection *c)
{
    SlBuf out = { 0 };
    sl_metrics_render(api->pipeline, uptime(api), &out);
    return http_send_text(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                          out.data, out.len);
}

static enum MHD_Result stats(SlApi *api, struct MHD_Connection *c)
{
    return http_send_json(c, MHD_HTTP_OK, sl_stats_json(api->pipeline, uptime(api)));
}

static json_t *component_names(SlPipeline *p)
{
    json_t *names = json_array();
    for (size_t i = 0; i < sl_pipeline_count(p); i++) {
        SlStats s;
        sl_pipeline_stats(p, i, &s);
        json_array_append_new(names, json_string(s.name));
    }
    return names;
}

/* A query argument that, when given, must be a number above 0 and at most
** `max` (`whole`: an integer); 0 when not given. */
static bool positive_arg(struct MHD_Connection *c, const char *name, bool whole, double max,
                         double *out)
{
    const char *text = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    *out = 0;
    if (!text) return true;
    char *end;
    double v = whole ? (double)strtoull(text, &end, 10) : strtod(text, &end);
    if (!*text || *end || *text == '-' || !(v > 0 && v <= max)) return false;
    *out = v;
    return true;
}

/* A tap response: the stream, and the client's socket. */
typedef struct TapResponse {
    SlTapStream *stream;
    int fd;
} TapResponse;

/* A client that leaves while its component is quiet is never noticed by a
** failed write: look for the end of what it sends instead. (A client that
** only half-closes after its request is taken as gone; HTTP clients do not
** do that.) */
static bool client_left(int fd)
{
    char byte;
    return recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static ssize_t tap_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    TapResponse *t = cls;
    ssize_t n = sl_tap_read(t->stream, buf, max);
    if (n < 0) return MHD_CONTENT_READER_END_OF_STREAM;
    if (n == 0 && client_left(t->fd)) return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
}

static void tap_done(void *cls)
{
    TapResponse *t = cls;
    sl_tap_close(t->stream);
    free(t);
}

/* Serves the stream `s` (and closes it when the response ends). */
static enum MHD_Result send_tap(struct MHD_Connection *c, SlTapStream *s)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    TapResponse *t = malloc(sizeof *t);
    if (!t) abort();
    *t = (TapResponse){ .stream = s, .fd = info ? info->connect_fd : -1 };
    return http_send_stream(c, "application/x-ndjson", TAP_BLOCK, tap_reader, t, tap_done);
}

static enum MHD_Result tap(SlApi *api, struct MHD_Connection *c)
{
    const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "component");
    if (!name || !*name) {
        json_t *doc = http_error_doc("say which component: /tap?component=NAME[&limit=N][&seconds=S]");
        json_object_set_new(doc, "components", component_names(api->pipeline));
        return http_send_json(c, MHD_HTTP_BAD_REQUEST, doc);
    }
    double limit, seconds;
    if (!positive_arg(c, "limit", true, TAP_MAX_LIMIT, &limit))
        return http_send_json(c, MHD_HTTP_BAD_REQUEST,
                         http_error_doc("limit must be a whole number of records from 1 to %.0f",
                                   (double)TAP_MAX_LIMIT));
    if (!positive_arg(c, "seconds", false, TAP_MAX_SECONDS, &seconds))
        return http_send_json(c, MHD_HTTP_BAD_REQUEST,
                         http_error_doc("seconds must be a number above 0 and at most %d",
                                   TAP_MAX_SECONDS));
    int64_t deadline = seconds ? sl_observe_now_ns() + (int64_t)(seconds * 1e9) : 0;
    SlTapStream *s = sl_tap_open(api->taps, name, (uint64_t)limit, deadline);
    if (!s) {
        json_t *doc = http_error_doc("no component named '%s'", name);
        json_object_set_new(doc, "components", component_names(api->pipeline));
        return http_send_json(c, MHD_HTTP_NOT_FOUND, doc);
    }
    return send_tap(c, s);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version,
                              const char *upload_data, size_t *upload_data_size,
                              void **request)
{
    (void)version, (void)upload_data, (void)upload_data_size, (void)request;
    SlApi *api = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET))
        return http_send_not_allowed(c, method, url, "GET");
    if (!strcmp(url, "/health")) return health(api, c);
    if (!strcmp(url, "/metrics")) return metrics(api, c);
    if (!strcmp(url, "/stats")) return stats(api, c);
    if (!strcmp(url, "/tap")) return tap(api, c);
    return http_send_json(c, MHD_HTTP_NOT_FOUND,
                     http_error_doc("no such endpoint '%s': try /health, /metrics, "
                               "/stats or /tap?component=NAME", url));
}

/* ---- Serving ------------------------------------------------------- */

/* The daemon's threads inherit the signal mask: SIGINT and SIGTERM must
** reach the pipeline's supervisor (sigtimedwait), never these threads. */
static struct MHD_Daemon *start_daemon(SlApi *api, int fd)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL,
        0, NULL, NULL, answer, api,
        MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
        MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return d;
}

SlApi *sl_api_start(SlPipeline *p, const char *addr, char *err, size_t errlen)
{
    SlApi *api = calloc(1, sizeof *api);
    if (!api) abort();
    api->pipeline = p;
    api->started_ns = sl_observe_now_ns();
    int fd = http_listen(addr, "--api", MAX_CONNECTIONS, api->address, sizeof api->address,
                         err, errlen);
    if (fd < 0) {
        free(api);
        return NULL;
    }
    api->taps = sl_taps_new(p);
    api->daemon = start_daemon(api, fd);
    if (!api->daemon) {
        snprintf(err, errlen, "cannot start the API server on %s", addr);
        close(fd);
        sl_taps_free(api->taps);
        free(api);
        return NULL;
    }
    return api;
}

const char *sl_api_address(const SlApi *api)
{
    return api->address;
}

void sl_api_stop(SlApi *api)
{
    sl_taps_close(api->taps, TAP_GRACE_MS);
    MHD_stop_daemon(api->daemon);
    sl_taps_free(api->taps);
    free(api);
}
