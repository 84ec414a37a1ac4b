/*
** dashboard.c: the `dashboard` sink: a live web page of each key's series
** (one chart per sensor) with the anomalies marked.
**
** The sink keeps the last `max_points` points of every key (at most
** `max_keys` keys) in memory, and serves over HTTP (libmicrohttpd):
**   GET /             the page (index.html of the built front end)
**   GET /static/PATH  the built front-end files (web/build.sh puts them in
**                     build/web; SLUICE_WEB overrides where they are)
**   GET /api/series   a JSON snapshot: {"field", "keys": {KEY: {"t": [ms],
**                     "v": [values], "a": [0/1 anomaly flags]}}, "seq",
**                     "max_points"}
**   GET /api/stream   Server-Sent Events: each event is a JSON array of new
**                     points [{"k", "t", "v", "a"}]; an event `reset` says
**                     the client fell behind and should fetch the snapshot.
** Memory stays bounded whatever the input: every buffer is a ring.
** Without built front-end files, / says how to build them.
*/
#include "../common/http.h"
#include "../pipeline/component.h"
#include "../sources/net.h"

#include <jansson.h>
#include <microhttpd.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { LOG_POINTS = 8192, STREAM_CHUNK = 256, KEEPALIVE_S = 10, MAX_STREAMS = 64 };

static const SlSetting settings[] = {
    SL_NET_ADDRESS_SETTING,
    { .name = "field", .type = SL_SET_STRING, .def = "air_quality",
      .doc = "The numeric field to plot." },
    { .name = "key", .type = SL_SET_STRING, .def = "sensor",
      .doc = "The field naming the series: one chart per distinct value." },
    { .name = "time_field", .type = SL_SET_STRING, .def = "timestamp",
      .doc = "The field holding the time (a timestamp, or RFC 3339 text); without it, the arrival time." },
    { .name = "anomaly_field", .type = SL_SET_STRING, .def = "is_anomaly",
      .doc = "A boolean field: true marks the point as an anomaly." },
    { .name = "max_points", .type = SL_SET_INT, .def = "5000", .min = 10, .max = 1000000,
      .doc = "Points kept per series (the oldest go first)." },
    { .name = "max_keys", .type = SL_SET_INT, .def = "64", .min = 1, .max = 10000,
      .doc = "Series kept; records of further keys are not plotted (counted in the log)." },
    { 0 },
};

typedef struct Point {
    int64_t t_ms;
    double value;
    bool anomaly;
} Point;

/* One key's last points, a ring. */
typedef struct Series {
    char *key;
    Point *points;
    size_t head, count;     /* oldest at head */
} Series;

/* A recent point for the stream, numbered by `seq`. */
typedef struct Logged {
    uint32_t series;
    Point point;
} Logged;

typedef struct Dashboard {
    const char *address, *field, *key, *time_field, *anomaly_field;
    size_t max_points, max_keys;
    char web_dir[PATH_MAX];         /* "" when the front end is not built */
    int listen_fd;
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;
    pthread_cond_t changed;         /* a point came, or we are stopping */
    Series *series;
    size_t nseries;
    Logged log[LOG_POINTS];         /* point number n is log[n % LOG_POINTS] */
    uint64_t seq;                   /* points received so far */
    uint64_t unplotted;             /* records without a usable key or value */
    bool quitting;
} Dashboard;

/* ---- Finding the built front end ------------------------------------- */

static bool has_index(const char *dir)
{
    char path[PATH_MAX + 16];
    return snprintf(path, sizeof path, "%s/index.html", dir) < (int)sizeof path &&
           access(path, R_OK) == 0;
}

/* SLUICE_WEB, else web/ next to the executable (build/sluice finds
** build/web), else ../web (an installed bin/ and web/ side by side). */
static void find_web_dir(char out[PATH_MAX])
{
    out[0] = '\0';
    const char *env = getenv("SLUICE_WEB");
    if (env && *env) {
        if (has_index(env)) snprintf(out, PATH_MAX, "%s", env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return;
    *slash = '\0';
    const char *candidates[] = { "web", "../web" };
    for (size_t i = 0; i < 2; i++) {
        char dir[PATH_MAX + 16];
        snprintf(dir, sizeof dir, "%s/%s", exe, candidates[i]);
        if (has_index(dir) && realpath(dir, out)) return;
    }
    out[0] = '\0';
}

/* ---- Taking in records ------------------------------------------------ */

/* A timestamp, RFC 3339 text or seconds since 1970, in milliseconds. */
static bool read_time(const SlRecord *r, const char *field, int64_t *ms)
{
    const SlValue *v = sl_get(r, field);
    int64_t ns;
    if (v && v->type == SL_TIMESTAMP) ns = v->as.ns;
    else if (v && v->type == SL_STRING && sl_parse_time(v->as.s, v->len, &ns)) ;
    else if (v && v->type == SL_INT && llabs(v->as.i) < INT64_MAX / 1000000000) ns = v->as.i * 1000000000;
    else return false;
    *ms = ns / 1000000;
    return true;
}

static bool read_number(const SlRecord *r, const char *field, double *out)
{
    const SlValue *v = sl_get(r, field);
    if (v && v->type == SL_FLOAT) *out = v->as.f;
    else if (v && v->type == SL_INT) *out = (double)v->as.i;
    else return false;
    return isfinite(*out);          /* JSON has no NaN or infinity */
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The index of the series of `key`, added if new; -1 when full. */
static long series_of(Dashboard *d, const char *key, size_t len)
{
    for (size_t i = 0; i < d->nseries; i++)
        if (strlen(d->series[i].key) == len && !memcmp(d->series[i].key, key, len)) return (long)i;
    if (d->nseries == d->max_keys) return -1;
    Series *s = &d->series[d->nseries];
    s->key = strndup(key, len);
    s->points = calloc(d->max_points, sizeof *s->points);
    if (!s->key || !s->points) {
        free(s->key);
        free(s->points);
        return -1;
    }
    return (long)d->nseries++;
}

static void add_point(Dashboard *d, size_t index, Point p)
{
    Series *s = &d->series[index];
    if (s->count == d->max_points) {
        s->points[s->head] = p;
        s->head = (s->head + 1) % d->max_points;
    } else {
        s->points[(s->head + s->count++) % d->max_points] = p;
    }
    d->log[d->seq % LOG_POINTS] = (Logged){ .series = (uint32_t)index, .point = p };
    d->seq++;
}

static void take_record(Dashboard *d, const SlRecord *r)
{
    const SlValue *key = sl_get(r, d->key);
    Point p = { 0 };
    if (!key || key->type != SL_STRING || !read_number(r, d->field, &p.value)) {
        d->unplotted++;
        return;
    }
    if (!read_time(r, d->time_field, &p.t_ms)) p.t_ms = now_ms();
    const SlValue *flag = sl_get(r, d->anomaly_field);
    p.anomaly = flag && flag->type == SL_BOOL && flag->as.b;
    long index = series_of(d, key->as.s, key->len);
    if (index < 0) d->unplotted++;
    else add_point(d, (size_t)index, p);
}

static void process(SlCtx *ctx, SlBatch *b)
{
    Dashboard *d = sl_state(ctx);
    pthread_mutex_lock(&d->lock);
    uint64_t unplotted = d->unplotted;
    for (uint32_t i = 0; i < b->count; i++) take_record(d, &b->records[i]);
    if (unplotted == 0 && d->unplotted > 0)
        sl_log(ctx, "records without a string '%s' and a number '%s', or beyond max_keys, are not plotted",
               d->key, d->field);
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->lock);
    sl_batch_free(b);
}

/* ---- Answers ----------------------------------------------------------- */

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *type,
                                 const char *text)
{
    char *copy = strdup(text);
    return copy ? http_send_text(conn, status, type, copy, strlen(copy)) : MHD_NO;
}

static const char not_built_page[] =
    "<!doctype html><meta charset=utf-8><title>Sluice dashboard</title>"
    "<h1>The dashboard's page is not built</h1>"
    "<p>Build it with <code>bash web/build.sh</code> (or <code>make web</code>) in the Sluice "
    "repository: it vendors the front end into <code>build/web</code>. Or point "
    "<code>SLUICE_WEB</code> at a built copy. The data is already served at "
    "<a href=\"/api/series\">/api/series</a>.</p>\n";

/* Serves web_dir/relative; a path with ".." or a missing file is a 404. */
static enum MHD_Result send_file(const Dashboard *d, struct MHD_Connection *conn, const char *relative)
{
    bool missing = true;
    enum MHD_Result rc = MHD_YES;
    if (!strstr(relative, "..") && d->web_dir[0]) {
        char path[PATH_MAX * 2];
        snprintf(path, sizeof path, "%s/%s", d->web_dir, relative);
        rc = http_send_file(conn, path, http_content_type(path), &missing);
    }
    return missing ? send_text(conn, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n") : rc;
}

static json_t *series_json(const Dashboard *d, const Series *s)
{
    json_t *t = json_array(), *v = json_array(), *a = json_array();
    for (size_t i = 0; i < s->count; i++) {
        const Point *p = &s->points[(s->head + i) % d->max_points];
        json_array_append_new(t, json_integer(p->t_ms));
        json_array_append_new(v, json_real(p->value));
        json_array_append_new(a, json_integer(p->anomaly));
    }
    return json_pack("{s:o, s:o, s:o}", "t", t, "v", v, "a", a);
}

static enum MHD_Result send_snapshot(Dashboard *d, struct MHD_Connection *conn)
{
    json_t *keys = json_object();
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < d->nseries; i++)
        json_object_set_new(keys, d->series[i].key, series_json(d, &d->series[i]));
    json_t *root = json_pack("{s:s, s:o, s:I, s:I}", "field", d->field, "keys", keys, "seq",
                             (json_int_t)d->seq, "max_points", (json_int_t)d->max_points);
    pthread_mutex_unlock(&d->lock);
    char *text = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(root);
    return text ? http_send_text(conn, MHD_HTTP_OK, "application/json", text, strlen(text)) : MHD_NO;
}

/* ---- The event stream --------------------------------------------------- */

typedef struct Stream {
    Dashboard *d;
    uint64_t next;                  /* the first point this client lacks */
    char *pending;                  /* formatted, not yet sent */
    size_t pending_len, pending_sent;
} Stream;

/* Formats the points from s->next (at most STREAM_CHUNK) as one event; the
** caller holds the lock. */
static char *format_points(Stream *s)
{
    Dashboard *d = s->d;
    if (d->seq - s->next > LOG_POINTS - STREAM_CHUNK) {
        s->next = d->seq;
        return strdup("event: reset\ndata: {}\n\n");
    }
    json_t *points = json_array();
    for (; s->next < d->seq && json_array_size(points) < STREAM_CHUNK; s->next++) {
        const Logged *l = &d->log[s->next % LOG_POINTS];
        json_array_append_new(points, json_pack("{s:s, s:I, s:f, s:b}", "k", d->series[l->series].key,
                                                "t", (json_int_t)l->point.t_ms, "v", l->point.value,
                                                "a", l->point.anomaly));
    }
    char *data = json_dumps(points, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(points);
    if (!data) return NULL;
    size_t len = strlen(data) + 16;
    char *event = malloc(len);
    if (event) snprintf(event, len, "data: %s\n\n", data);
    free(data);
    return event;
}

/* Waits (at most KEEPALIVE_S) for new points and formats them; a comment
** line when none came, NULL when the sink is stopping. */
static char *next_event(Stream *s)
{
    Dashboard *d = s->d;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += KEEPALIVE_S;
    pthread_mutex_lock(&d->lock);
    while (!d->quitting && s->next == d->seq)
        if (pthread_cond_timedwait(&d->changed, &d->lock, &until) == ETIMEDOUT) break;
    char *event = d->quitting ? NULL : s->next == d->seq ? strdup(": keepalive\n\n") : format_points(s);
    pthread_mutex_unlock(&d->lock);
    return event;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    Stream *s = cls;
    if (s->pending_sent == s->pending_len) {
        free(s->pending);
        s->pending = next_event(s);
        if (!s->pending) return MHD_CONTENT_READER_END_OF_STREAM;
        s->pending_len = strlen(s->pending);
        s->pending_sent = 0;
    }
    size_t n = s->pending_len - s->pending_sent;
    if (n > max) n = max;
    memcpy(buf, s->pending + s->pending_sent, n);
    s->pending_sent += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    Stream *s = cls;
    free(s->pending);
    free(s);
}

/* A new client gets the points that come after its snapshot: ?since=SEQ
** (the snapshot's seq), else only those from now on. */
static enum MHD_Result send_stream(Dashboard *d, struct MHD_Connection *conn)
{
    Stream *s = calloc(1, sizeof *s);
    if (!s) return MHD_NO;
    s->d = d;
    const char *since = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "since");
    pthread_mutex_lock(&d->lock);
    s->next = d->seq;
    if (since) {
        unsigned long long n = strtoull(since, NULL, 10);
        if (n < d->seq) s->next = n;
    }
    pthread_mutex_unlock(&d->lock);
    return http_send_stream(conn, "text/event-stream", 4096, stream_read, s, stream_free);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req)
{
    (void)version, (void)upload, (void)upload_size, (void)req;
    Dashboard *d = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET only\n");
    if (!strcmp(url, "/"))
        return d->web_dir[0] ? send_file(d, conn, "index.html")
                             : send_text(conn, MHD_HTTP_OK, "text/html; charset=utf-8", not_built_page);
    if (!strncmp(url, "/static/", 8)) return send_file(d, conn, url + 8);
    if (!strcmp(url, "/api/series")) return send_snapshot(d, conn);
    if (!strcmp(url, "/api/stream")) return send_stream(d, conn);
    return send_text(conn, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n");
}

/* ---- Life ------------------------------------------------------------- */

static int init(SlCtx *ctx, const SlConf *conf)
{
    if (!sl_net_check_address(ctx, sl_conf_get(conf, "address"))) return -1;
    Dashboard *d = calloc(1, sizeof *d);
    if (!d) return -1;
    d->address = sl_conf_str(conf, "address", NULL);
    d->field = sl_conf_str(conf, "field", "air_quality");
    d->key = sl_conf_str(conf, "key", "sensor");
    d->time_field = sl_conf_str(conf, "time_field", "timestamp");
    d->anomaly_field = sl_conf_str(conf, "anomaly_field", "is_anomaly");
    d->max_points = (size_t)sl_conf_int(conf, "max_points", 5000);
    d->max_keys = (size_t)sl_conf_int(conf, "max_keys", 64);
    d->listen_fd = -1;
    d->series = calloc(d->max_keys, sizeof *d->series);
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->changed, NULL);
    sl_set_state(ctx, d);
    return d->series ? 0 : -1;
}

static int start(SlCtx *ctx)
{
    Dashboard *d = sl_state(ctx);
    find_web_dir(d->web_dir);
    if (!d->web_dir[0])
        sl_log(ctx, "the page is not built (bash web/build.sh); serving the API only");
    d->listen_fd = sl_net_bind(ctx, d->address, SOCK_STREAM);
    if (d->listen_fd < 0) return -1;
    /* The daemon's threads inherit this mask: signals are for the runtime. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    d->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                                 NULL, NULL, on_request, d, MHD_OPTION_LISTEN_SOCKET, d->listen_fd,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_STREAMS, MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!d->daemon) {
        sl_fail(ctx, "cannot start the dashboard's HTTP server on %s", d->address);
        return -1;
    }
    sl_log(ctx, "dashboard at http://%s/", d->address);
    return 0;
}

static void destroy(void *state)
{
    Dashboard *d = state;
    if (!d) return;
    pthread_mutex_lock(&d->lock);
    d->quitting = true;             /* ends the streams, so the daemon can stop */
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->lock);
    if (d->daemon) MHD_stop_daemon(d->daemon);
    else if (d->listen_fd >= 0) close(d->listen_fd);
    for (size_t i = 0; i < d->nseries; i++) {
        free(d->series[i].key);
        free(d->series[i].points);
    }
    free(d->series);
    pthread_cond_destroy(&d->changed);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

const SlComponentType sl_sink_dashboard = {
    .name = "dashboard",
    .kind = SL_SINK,
    .doc = "A live web page of each key's series with its anomalies marked, and its JSON and SSE API.",
    .settings = settings,
    .init = init,
    .start = start,
    .process = process,
    .destroy = destroy,
};
