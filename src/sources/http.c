/*
** http.c: the `http` source. Clients POST newline-delimited bodies (NDJSON
** or CSV, by the `format` setting or else the Content-Type) to `path`;
** each line becomes a record (netlines.h: field `message`, metadata `peer`
** and `received_at`). The answer says whether the data was accepted, so a
** sender can retry safely:
**
**   200  {"accepted": N}: every line of the body is in the pipeline
**   400  {"error": ..., "rejected": N}: a line is bad (over max_line_bytes,
**        invalid UTF-8, or not JSON in NDJSON) or the gzip body is corrupt;
**        nothing was accepted, and the bad lines go to NAME.errors with the
**        reason
**   404, 405, 415  wrong path, method, content type or encoding
**   413  the body, decompressed, is over max_body_bytes; nothing accepted
**   503  the pipeline is stopping, or stayed full for queue_timeout_ms;
**        nothing was accepted (Retry-After: 1)
**
** libmicrohttpd serves each connection on a thread of its own, which
** decompresses (Content-Encoding: gzip) and splits the body into batches
** as it arrives. Only the source's run()
** thread talks to the runtime: a finished request's batches wait in a
** queue until run() takes them (then the request is answered 200) or
** until queue_timeout_ms passes (then 503). run() takes one request at a
** time and emits it; while sl_emit waits for room downstream, requests
** wait in the queue: that is the backpressure.
*/
#include "../pipeline/lines.h"
#include "net.h"
#include "netlines.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

enum { IDLE_TIMEOUT_S = 30 };

typedef enum Format { FORMAT_AUTO, FORMAT_NDJSON, FORMAT_CSV, FORMAT_UNKNOWN } Format;

static const char *const format_names[] = { "auto", "ndjson", "csv", NULL };

/* A request's records on their way to run(). */
typedef struct Delivery Delivery;
struct Delivery {
    SlBatch **batches;
    size_t nbatches, cap;
    SlBatch *rejects;               /* bad lines: fields `message` and `why` */
    uint64_t bytes;
    char peer[SL_PEER_MAX];
    bool taken;                     /* by run(): the request is accepted */
    bool detached;                  /* nobody waits: run() frees it */
    Delivery *next;
};

typedef struct Http {
    const char *address, *path;
    Format format;
    size_t max_line, max_clients;
    uint64_t max_body;
    int64_t queue_timeout_ms;
    int listen_fd;
    struct MHD_Daemon *daemon;

    pthread_mutex_t lock;           /* guards what follows */
    pthread_cond_t changed;         /* a delivery queued or taken; stopping */
    Delivery *head, **tail;
    bool stopping;
} Http;

/* One request, from its first header to its answer. */
typedef struct Request {
    SlNetOut out;                   /* first: the netlines hooks get back here */
    Http *http;
    SlNetStream lines;
    Delivery delivery;
    z_stream *gunzip;               /* Content-Encoding: gzip; NULL if plain */
    bool gunzip_ended;              /* the gzip stream is complete */
    bool unreadable;                /* bad gzip: the rest is ignored */
    uint64_t decoded;               /* body bytes after gunzip */
    unsigned refused;               /* a status already answered, or 0 */
    bool too_large;
    char first_why[SL_WHY_MAX];
} Request;

static const SlSetting settings[] = {
    SL_NET_ADDRESS_SETTING,
    { .name = "path", .type = SL_SET_STRING, .def = "/",
      .doc = "The URL path that takes POSTs." },
    { .name = "format", .type = SL_SET_STRING, .def = "auto", .choices = format_names,
      .doc = "ndjson (each line must be JSON), csv (lines as they are), or auto: "
             "by Content-Type." },
    { .name = "max_body_bytes", .type = SL_SET_INT, .def = "10485760", .min = 1,
      .max = (int64_t)1 << 40, .doc = "Larger bodies are refused with 413." },
    SL_LINES_SETTING,
    { .name = "max_connections", .type = SL_SET_INT, .def = "256", .min = 1, .max = 10000,
      .doc = "Clients connected at once (one thread each)." },
    { .name = "queue_timeout_ms", .type = SL_SET_INT, .def = "5000", .min = 1,
      .max = 3600000,
      .doc = "How long a request waits for a full pipeline before a 503." },
    { 0 },
};

/* ---- Answers ----------------------------------------------------------- */

/* Queues `status` with `body` (taken) as compact JSON. */
static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result answer_error(struct MHD_Connection *conn, unsigned status,
                                    const char *why)
{
    return answer(conn, status, json_pack("{ss}", "error", why));
}

/* ---- Settings and lifetime --------------------------------------------- */

static Format format_named(const char *name)
{
    for (int i = 0; format_names[i]; i++)
        if (!strcmp(format_names[i], name)) return (Format)i;
    return FORMAT_UNKNOWN;
}

static int init(SlCtx *ctx, const SlConf *conf)
{
    if (!sl_net_check_address(ctx, sl_conf_get(conf, "address"))) return -1;
    const char *path = sl_conf_str(conf, "path", "/");
    if (path[0] != '/') {
        sl_conf_error(ctx, sl_conf_get(conf, "path"), "path must start with '/'");
        return -1;
    }
    Http *h = calloc(1, sizeof *h);
    if (!h) return -1;
    h->address = sl_conf_str(conf, "address", NULL);
    h->path = path;
    h->format = format_named(sl_conf_str(conf, "format", "auto"));
    h->max_body = (uint64_t)sl_conf_int(conf, "max_body_bytes", 10485760);
    h->max_line = (size_t)sl_conf_int(conf, "max_line_bytes", SL_LINES_DEFAULT_MAX);
    h->max_clients = (size_t)sl_conf_int(conf, "max_connections", 256);
    h->queue_timeout_ms = sl_conf_int(conf, "queue_timeout_ms", 5000);
    h->listen_fd = -1;
    h->tail = &h->head;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&h->changed, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&h->lock, NULL);
    sl_set_state(ctx, h);
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **req);
static void on_completed(void *cls, struct MHD_Connection *conn, void **req,
                         enum MHD_RequestTerminationCode why);

static int start(SlCtx *ctx)
{
    Http *h = sl_state(ctx);
    h->listen_fd = sl_net_bind(ctx, h->address, SOCK_STREAM);
    if (h->listen_fd < 0) return -1;
    /* The daemon's threads inherit this mask: signals are for the runtime. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    h->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
        NULL, NULL, on_request, h,
        MHD_OPTION_LISTEN_SOCKET, h->listen_fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)h->max_clients,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!h->daemon) {
        sl_fail(ctx, "cannot start the HTTP server on %s", h->address);
        return -1;
    }
    return 0;
}

static void free_delivery_contents(Delivery *d)
{
    for (size_t i = 0; i < d->nbatches; i++) sl_batch_free(d->batches[i]);
    free(d->batches);
    sl_batch_free(d->rejects);
    d->batches = NULL;
    d->rejects = NULL;
    d->nbatches = d->cap = 0;
}

static void stop_daemon(Http *h)
{
    if (h->daemon) MHD_stop_daemon(h->daemon);    /* closes the listen socket */
    else if (h->listen_fd >= 0) close(h->listen_fd);
    h->daemon = NULL;
    h->listen_fd = -1;
}

static void destroy(void *state)
{
    Http *h = state;
    if (!h) return;
    stop_daemon(h);
    while (h->head) {               /* only if run() never ran */
        Delivery *d = h->head;
        h->head = d->next;
        free_delivery_contents(d);
        if (d->detached) free(d);
    }
    pthread_cond_destroy(&h->changed);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* ---- Collecting a request (on the connection's thread) ----------------- */

static bool keep_batch(SlNetOut *o, SlBatch *b)
{
    Delivery *d = &((Request *)o)->delivery;
    if (d->nbatches == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 4;
        d->batches = realloc(d->batches, d->cap * sizeof *d->batches);
        if (!d->batches) abort();
    }
    d->batches[d->nbatches++] = b;
    return true;
}

/* Keeps bad input and why for NAME.errors; the request will be a 400. */
static void add_reject(Request *r, const char *text, size_t len, const char *why)
{
    if (!r->first_why[0]) snprintf(r->first_why, sizeof r->first_why, "%s", why);
    if (!r->delivery.rejects) r->delivery.rejects = sl_batch_new();
    SlBatch *b = r->delivery.rejects;
    SlRecord *rec = sl_batch_add(b);
    size_t wlen = strlen(why);
    *sl_set(b, rec, "message") = sl_str(sl_copy_str(b, text, len), len);
    *sl_set(b, rec, "why") = sl_str(sl_copy_str(b, why, wlen), wlen);
}

static void keep_reject(SlNetOut *o, const char *text, size_t len, const char *why)
{
    char where[SL_WHY_MAX + 32];
    snprintf(where, sizeof where, "line %llu: %s", (unsigned long long)o->lines, why);
    add_reject((Request *)o, text, len, where);
}

/* The body as a whole cannot be read (bad gzip). */
static void reject_body(Request *r, const char *why)
{
    r->unreadable = true;
    r->out.rejected++;
    add_reject(r, "", 0, why);
}

static bool check_json(const char *line, size_t len, char why[SL_WHY_MAX])
{
    json_error_t err;
    json_t *v = json_loadb(line, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (v) {
        json_decref(v);
        return true;
    }
    snprintf(why, SL_WHY_MAX, "invalid JSON at column %d: %s", err.column, err.text);
    return false;
}

static bool media_type_is(const char *header, const char *type)
{
    while (*header == ' ') header++;
    size_t n = strlen(type);
    return !strncasecmp(header, type, n) &&
           (header[n] == 0 || header[n] == ';' || header[n] == ' ');
}

static Format format_of(const Http *h, struct MHD_Connection *conn)
{
    if (h->format != FORMAT_AUTO) return h->format;
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_CONTENT_TYPE);
    static const char *const ndjson[] = {
        "application/x-ndjson", "application/ndjson", "application/jsonl",
        "application/x-jsonlines", "application/json", NULL,
    };
    static const char *const csv[] = { "text/csv", "text/plain", NULL };
    for (int i = 0; type && ndjson[i]; i++)
        if (media_type_is(type, ndjson[i])) return FORMAT_NDJSON;
    for (int i = 0; type && csv[i]; i++)
        if (media_type_is(type, csv[i])) return FORMAT_CSV;
    return FORMAT_UNKNOWN;
}

static bool declared_too_large(const Http *h, struct MHD_Connection *conn)
{
    const char *len = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_CONTENT_LENGTH);
    return len && strtoull(len, NULL, 10) > h->max_body;
}

/* Content-Encoding: false if unsupported; `gzip` tells which. */
static bool encoding_of(struct MHD_Connection *conn, bool *gzip)
{
    const char *enc = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_CONTENT_ENCODING);
    *gzip = enc && (media_type_is(enc, "gzip") || media_type_is(enc, "x-gzip"));
    return !enc || *gzip || media_type_is(enc, "identity");
}

static Request *new_request(Http *h, struct MHD_Connection *conn, Format format, bool gzip)
{
    Request *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    if (gzip) {
        r->gunzip = calloc(1, sizeof *r->gunzip);
        /* 15 + 16: any window size, gzip header and trailer. */
        if (!r->gunzip || inflateInit2(r->gunzip, 15 + 16) != Z_OK) {
            free(r->gunzip);
            free(r);
            return NULL;
        }
    }
    r->http = h;
    sl_netout_init(&r->out, NULL, h->max_line);
    r->out.emit = keep_batch;
    r->out.reject = keep_reject;
    r->out.check = format == FORMAT_NDJSON ? check_json : NULL;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    size_t len = info ? sl_net_peer_name(info->client_addr, r->delivery.peer) : 0;
    sl_netout_from(&r->out, r->delivery.peer, len, sl_net_now());
    return r;
}

/* The first call for a request: its headers are in. Anything refused now
** is answered before the body is read. */
static enum MHD_Result begin(Http *h, struct MHD_Connection *conn, const char *url,
                             const char *method, void **slot)
{
    Format format = format_of(h, conn);
    bool gzip;
    bool known_encoding = encoding_of(conn, &gzip);
    Request *r = new_request(h, conn, format, gzip);
    if (!r) return MHD_NO;
    *slot = r;
    char why[SL_WHY_MAX];
    if (strcmp(url, h->path) != 0) {
        r->refused = MHD_HTTP_NOT_FOUND;
        snprintf(why, sizeof why, "no such path: POST to %s", h->path);
    } else if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
        r->refused = MHD_HTTP_METHOD_NOT_ALLOWED;
        snprintf(why, sizeof why, "use POST");
    } else if (format == FORMAT_UNKNOWN) {
        r->refused = MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
        snprintf(why, sizeof why, "Content-Type must be application/x-ndjson (or "
                 "application/json) or text/csv (or text/plain)");
    } else if (!known_encoding) {
        r->refused = MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
        snprintf(why, sizeof why, "Content-Encoding must be gzip or identity");
    } else if (declared_too_large(h, conn)) {
        r->refused = MHD_HTTP_CONTENT_TOO_LARGE;
        snprintf(why, sizeof why, "body over max_body_bytes (%llu)",
                 (unsigned long long)h->max_body);
    } else {
        return MHD_YES;
    }
    return answer_error(conn, r->refused, why);
}

/* Body bytes as sent (decompressed), limited by max_body_bytes: a small
** gzip body cannot fill the memory. */
static void take_text(Request *r, const char *data, size_t n)
{
    r->decoded += n;
    if (r->decoded > r->http->max_body) {
        r->too_large = true;
        sl_netout_discard(&r->out);
        free_delivery_contents(&r->delivery);
        return;
    }
    sl_netout_from(&r->out, r->delivery.peer, r->out.peer_len, sl_net_now());
    sl_netstream_feed(&r->lines, &r->out, data, n);
}

static void take_gzip(Request *r, const char *data, size_t n)
{
    z_stream *z = r->gunzip;
    z->next_in = (Bytef *)data;
    z->avail_in = (uInt)n;
    while (!r->too_large) {
        if (r->gunzip_ended && z->avail_in) {
            inflateReset(z);        /* concatenated gzip members */
            r->gunzip_ended = false;
        }
        char text[16 * 1024];
        z->next_out = (Bytef *)text;
        z->avail_out = sizeof text;
        int rc = inflate(z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
            char why[SL_WHY_MAX];
            snprintf(why, sizeof why, "invalid gzip body: %s", z->msg ? z->msg : "corrupt");
            reject_body(r, why);
            return;
        }
        take_text(r, text, sizeof text - z->avail_out);
        r->gunzip_ended = rc == Z_STREAM_END;
        if (!z->avail_in && z->avail_out) return;   /* all input used and flushed */
    }
}

static void take_body(Request *r, const char *data, size_t n)
{
    r->delivery.bytes += n;
    if (r->refused || r->too_large || r->unreadable) return;
    if (r->gunzip) take_gzip(r, data, n);
    else take_text(r, data, n);
}

/* ---- Handing over to run() --------------------------------------------- */

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wait_until_ms(Http *h, int64_t at_ms)
{
    struct timespec ts = { .tv_sec = at_ms / 1000, .tv_nsec = (at_ms % 1000) * 1000000 };
    pthread_cond_timedwait(&h->changed, &h->lock, &ts);
}

/* Under the lock. */
static void enqueue(Http *h, Delivery *d)
{
    d->next = NULL;
    *h->tail = d;
    h->tail = &d->next;
    pthread_cond_broadcast(&h->changed);
}

/* Under the lock: removes `d` from the queue. */
static void unqueue(Http *h, Delivery *d)
{
    Delivery **p = &h->head;
    while (*p != d) p = &(*p)->next;
    *p = d->next;
    if (!*p) h->tail = p;
}

typedef enum Handover { TAKEN, STOPPING, FULL } Handover;

/* Queues the request's batches and waits for run() to take them. Not
** taken, nothing is accepted. */
static Handover hand_over(Http *h, Delivery *d)
{
    int64_t deadline = monotonic_ms() + h->queue_timeout_ms;
    pthread_mutex_lock(&h->lock);
    bool queued = !h->stopping;
    if (queued) enqueue(h, d);
    while (queued && !d->taken && monotonic_ms() < deadline) wait_until_ms(h, deadline);
    if (queued && !d->taken) unqueue(h, d);
    Handover result = d->taken ? TAKEN : h->stopping ? STOPPING : FULL;
    pthread_mutex_unlock(&h->lock);
    return result;
}

/* A refused request's bad lines still reach NAME.errors, via run(). */
static void hand_over_rejects(Http *h, Delivery *from)
{
    Delivery *d = calloc(1, sizeof *d);
    if (!d) return;
    d->rejects = from->rejects;
    d->bytes = from->bytes;
    memcpy(d->peer, from->peer, sizeof d->peer);
    d->detached = true;
    from->rejects = NULL;
    pthread_mutex_lock(&h->lock);
    if (h->stopping) {
        free_delivery_contents(d);
        free(d);
    } else {
        enqueue(h, d);
    }
    pthread_mutex_unlock(&h->lock);
}

static uint64_t records_in(const Delivery *d)
{
    uint64_t n = 0;
    for (size_t i = 0; i < d->nbatches; i++) n += d->batches[i]->count;
    return n;
}

/* The body is in: answer. */
static enum MHD_Result finish(Http *h, struct MHD_Connection *conn, Request *r)
{
    char why[SL_WHY_MAX + 64];
    if (r->refused) return MHD_YES;
    if (r->too_large) {
        snprintf(why, sizeof why, "body over max_body_bytes (%llu); nothing was accepted",
                 (unsigned long long)h->max_body);
        return answer_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, why);
    }
    if (r->gunzip && !r->gunzip_ended && !r->unreadable)
        reject_body(r, "invalid gzip body: it ends too soon");
    if (!r->unreadable) sl_netstream_end(&r->lines, &r->out);
    sl_netout_flush(&r->out);
    if (r->out.rejected) {
        uint64_t rejected = r->out.rejected;
        hand_over_rejects(h, &r->delivery);
        snprintf(why, sizeof why, "%s; nothing was accepted", r->first_why);
        return answer(conn, MHD_HTTP_BAD_REQUEST,
                      json_pack("{sssI}", "error", why, "rejected", (json_int_t)rejected));
    }
    uint64_t n = records_in(&r->delivery);
    Handover result = n ? hand_over(h, &r->delivery) : TAKEN;
    if (result != TAKEN) {
        snprintf(why, sizeof why, "the pipeline is %s; nothing was accepted",
                 result == STOPPING ? "stopping" : "full (queue_timeout_ms passed)");
        return answer_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, why);
    }
    return answer(conn, MHD_HTTP_OK, json_pack("{sI}", "accepted", (json_int_t)n));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **slot)
{
    (void)version;
    Http *h = cls;
    Request *r = *slot;
    if (!r) return begin(h, conn, url, method, slot);
    if (*upload_size) {
        take_body(r, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    return finish(h, conn, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **slot,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)conn, (void)why;
    Request *r = *slot;
    if (!r) return;
    if (r->gunzip) inflateEnd(r->gunzip);
    free(r->gunzip);
    sl_netstream_free(&r->lines);
    sl_netout_discard(&r->out);
    free_delivery_contents(&r->delivery);
    free(r);
    *slot = NULL;
}

/* ---- Running: emitting what the requests collected --------------------- */

static void deliver(SlCtx *ctx, SlBatch **batches, size_t n, SlBatch *rejects,
                    const char *peer, uint64_t bytes)
{
    sl_count_bytes_in(ctx, bytes);
    for (size_t i = 0; rejects && i < rejects->count; i++) {
        const SlRecord *rec = &rejects->records[i];
        const SlValue *text = sl_get(rec, "message"), *why = sl_get(rec, "why");
        sl_reject_text(ctx, text->as.s, text->len, "%.*s (request from %s)",
                       (int)why->len, why->as.s, peer);
    }
    /* After a stop sl_emit no longer waits, and still delivers. */
    for (size_t i = 0; i < n; i++) sl_emit(ctx, batches[i]);
}

/* Under the lock: moves the next delivery out of the queue, marked taken;
** false once stopping with nothing queued. stop() wakes it. */
static bool take_next(Http *h, Delivery *into)
{
    while (!h->head && !h->stopping) pthread_cond_wait(&h->changed, &h->lock);
    Delivery *d = h->head;
    if (!d) return false;
    unqueue(h, d);
    *into = *d;
    d->batches = NULL;
    d->rejects = NULL;
    d->nbatches = d->cap = 0;
    d->taken = true;
    if (d->detached) free(d);
    pthread_cond_broadcast(&h->changed);
    return true;
}

static void run(SlCtx *ctx)
{
    Http *h = sl_state(ctx);
    Delivery d;
    pthread_mutex_lock(&h->lock);
    while (take_next(h, &d)) {
        pthread_mutex_unlock(&h->lock);
        deliver(ctx, d.batches, d.nbatches, d.rejects, d.peer, d.bytes);
        free(d.batches);
        sl_batch_free(d.rejects);
        pthread_mutex_lock(&h->lock);
    }
    pthread_mutex_unlock(&h->lock);
    /* Connections still open are answered 503 from now on. */
    stop_daemon(h);
}

static void stop(SlCtx *ctx)
{
    Http *h = sl_state(ctx);
    pthread_mutex_lock(&h->lock);
    h->stopping = true;
    pthread_cond_broadcast(&h->changed);
    pthread_mutex_unlock(&h->lock);
}

const SlComponentType sl_source_http = {
    .name = "http",
    .kind = SL_SOURCE,
    .doc = "Receives NDJSON or CSV bodies POSTed over HTTP; one record per line, "
           "and an answer that says whether they were accepted.",
    .settings = settings,
    .init = init,
    .start = start,
    .run = run,
    .stop = stop,
    .destroy = destroy,
};
