/*
** http.c: the `http` sink. Each batch is POSTed to `url` as one NDJSON body
** (one JSON object per line), gzip-compressed if asked, over one libcurl
** handle that keeps its connection alive between batches.
**
** A batch is written only once the server answers 2xx. A connection error,
** a timeout, a 5xx, 408 or 429 is retried after an exponential backoff with
** jitter (so that many senders do not retry in step), until it is accepted
** (or `retries` times); any other status means the server refuses these
** records: they go to the error output with the status and the start of the
** response body. Records still unsent when the retries run out go there
** too, with the last error.
*/
#include "../pipeline/component.h"
#include "../pipeline/encode.h"
#include "../pipeline/retry.h"
#include "curlpost.h"
#include "../pipeline/gzip.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { EXCERPT_MAX = 200 };

typedef struct HttpSink {
    const char *url;
    bool gzip;
    int64_t timeout_ms, retries;
    SlBackoff backoff;
    struct curl_slist *headers;
    CURL *curl;
    SlBuf body, packed;             /* NDJSON, and its gzip form */
    char excerpt[EXCERPT_MAX + 1];  /* the start of the last response */
    size_t excerpt_len;
    char curl_error[CURL_ERROR_SIZE];
} HttpSink;

static const SlSetting header_setting = {
    .name = "header", .type = SL_SET_STRING, .doc = "A header value.",
};

static const SlSetting settings[] = {
    { .name = "url", .type = SL_SET_STRING, .required = true,
      .doc = "Where to POST the records (http:// or https://)." },
    { .name = "headers", .type = SL_SET_MAP, .item = &header_setting,
      .doc = "Extra request headers, name: value." },
    { .name = "gzip", .type = SL_SET_BOOL, .def = "false",
      .doc = "Compress each body with gzip (Content-Encoding: gzip)." },
    { .name = "timeout_ms", .type = SL_SET_INT, .def = "10000", .min = 1, .max = 3600000,
      .doc = "How long one request may take, connecting included." },
    SL_RETRIES_SETTING("a failed request"),
    SL_BACKOFF_SETTINGS("100", "10000"),
    { 0 },
};

/* ---- Init -------------------------------------------------------------- */

static bool valid_header_name(const char *name)
{
    if (!*name) return false;
    for (const char *c = name; *c; c++)
        if (*c <= ' ' || *c == ':' || *c == 0x7f) return false;
    return true;
}

/* Every header is checked here so that none can inject another (CR, LF). */
static int read_headers(SlCtx *ctx, HttpSink *h, const SlConf *headers)
{
    for (size_t i = 0; headers && i < headers->count; i++) {
        const SlConf *item = headers->items[i];
        if (!valid_header_name(item->key)) {
            sl_conf_error(ctx, item, "'%s' is not a valid header name", item->key);
            return -1;
        }
        if (strpbrk(item->text, "\r\n")) {
            sl_conf_error(ctx, item, "the value of header '%s' holds a line break", item->key);
            return -1;
        }
        size_t size = strlen(item->key) + strlen(item->text) + 3;
        char *line = malloc(size);
        if (!line) abort();
        snprintf(line, size, "%s: %s", item->key, item->text);
        h->headers = curl_slist_append(h->headers, line);
        free(line);
        if (!h->headers) abort();
    }
    return 0;
}

static int init(SlCtx *ctx, const SlConf *conf)
{
    HttpSink *h = calloc(1, sizeof *h);
    if (!h) abort();
    sl_set_state(ctx, h);
    h->url = sl_conf_str(conf, "url", NULL);
    h->gzip = sl_conf_bool(conf, "gzip", false);
    h->timeout_ms = sl_conf_int(conf, "timeout_ms", 10000);
    h->retries = sl_conf_int(conf, "retries", SL_RETRIES_FOREVER);
    sl_backoff_init(&h->backoff, sl_conf_int(conf, "backoff_ms", 100),
                    sl_conf_int(conf, "max_backoff_ms", 10000));
    /* Expect: 100-continue would cost a round trip per large batch. */
    const char *fixed[] = { "Content-Type: application/x-ndjson", "Expect:",
                            h->gzip ? "Content-Encoding: gzip" : NULL };
    for (size_t i = 0; i < 3 && fixed[i]; i++)
        if (!(h->headers = curl_slist_append(h->headers, fixed[i]))) abort();
    int status = read_headers(ctx, h, sl_conf_get(conf, "headers"));
    if (strncmp(h->url, "http://", 7) && strncmp(h->url, "https://", 8)) {
        sl_conf_error(ctx, sl_conf_get(conf, "url"), "the url must start with http:// or https://");
        status = -1;
    }
    return status;
}

/* ---- Start: one handle for the whole run ------------------------------- */

/* The response body matters only for the reason of a refusal. */
static size_t keep_excerpt(char *data, size_t size, size_t n, void *user)
{
    HttpSink *h = user;
    size_t total = size * n, room = EXCERPT_MAX - h->excerpt_len;
    size_t take = total < room ? total : room;
    memcpy(h->excerpt + h->excerpt_len, data, take);
    h->excerpt_len += take;
    return total;
}

static int start(SlCtx *ctx)
{
    HttpSink *h = sl_state(ctx);
    h->curl = sl_curl_post_handle(ctx, h->headers, h->timeout_ms, keep_excerpt, h, h->curl_error);
    if (!h->curl) return -1;
    curl_easy_setopt(h->curl, CURLOPT_URL, h->url);
    return 0;
}

/* ---- Encoding ---------------------------------------------------------- */

/* ---- Sending ----------------------------------------------------------- */

typedef enum Answer { ACCEPTED, REFUSED, TRANSIENT } Answer;

/* One POST; `status` is the HTTP status, 0 if none came. */
static Answer post(HttpSink *h, const SlBuf *body, long *status)
{
    h->excerpt_len = 0;
    h->curl_error[0] = 0;
    *status = 0;
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body->data);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    CURLcode rc = curl_easy_perform(h->curl);
    if (rc != CURLE_OK) {
        if (!h->curl_error[0])
            snprintf(h->curl_error, sizeof h->curl_error, "%s", curl_easy_strerror(rc));
        return TRANSIENT;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, status);
    if (*status >= 200 && *status < 300) return ACCEPTED;
    if (*status >= 500 || *status == 408 || *status == 429) return TRANSIENT;
    return REFUSED;
}



static void describe(const HttpSink *h, long status, char *out, size_t size)
{
    if (status == 0) {
        snprintf(out, size, "%s", h->curl_error);
        return;
    }
    /* A body excerpt on one line: logs and error records stay readable. */
    char excerpt[EXCERPT_MAX + 1];
    for (size_t i = 0; i < h->excerpt_len; i++)
        excerpt[i] = h->excerpt[i] == '\n' || h->excerpt[i] == '\r' ? ' ' : h->excerpt[i];
    excerpt[h->excerpt_len] = 0;
    snprintf(out, size, "HTTP %ld: %s", status, excerpt);
}

static void reject_all(SlCtx *ctx, SlBatch *b, const char *why)
{
    for (uint32_t i = 0; i < b->count; i++) sl_reject(ctx, b, i, "%s", why);
}

/* Encodes the batch as NDJSON, gzipped if asked; NULL if it cannot be. */
static const SlBuf *encode(HttpSink *h, const SlBatch *b)
{
    h->body.len = 0;
    for (uint32_t i = 0; i < b->count; i++) sl_json_record(&h->body, &b->records[i]);
    if (!h->gzip) return &h->body;
    return sl_gzip(&h->body, &h->packed) ? &h->packed : NULL;
}

/* POSTs the body until it is accepted, refused, or the retries run out. */
static void send_batch(SlCtx *ctx, HttpSink *h, SlBatch *b, const SlBuf *body)
{
    char why[EXCERPT_MAX + 64];
    for (int64_t attempt = 0;; attempt++) {
        long status;
        Answer a = post(h, body, &status);
        if (a == ACCEPTED) {
            sl_count_bytes_out(ctx, body->len);
            return;
        }
        describe(h, status, why, sizeof why);
        if (a == REFUSED) {
            reject_all(ctx, b, why);
            return;
        }
        if (!sl_retry_left(h->retries, attempt)) {
            char last[sizeof why + 48];
            snprintf(last, sizeof last, "gave up after %lld attempts: %s",
                     (long long)attempt + 1, why);
            reject_all(ctx, b, last);
            return;
        }
        sl_retry_wait(ctx, &h->backoff, attempt, h->retries, why);
    }
}

static void process(SlCtx *ctx, SlBatch *b)
{
    HttpSink *h = sl_state(ctx);
    const SlBuf *body = encode(h, b);
    if (body)
        send_batch(ctx, h, b, body);
    else
        reject_all(ctx, b, "cannot gzip the batch");
    sl_batch_free(b);
}

static void destroy(void *state)
{
    HttpSink *h = state;
    if (!h) return;
    sl_curl_post_close(h->curl);
    curl_slist_free_all(h->headers);
    sl_buf_free(&h->body);
    sl_buf_free(&h->packed);
    free(h);
}

const SlComponentType sl_sink_http = {
    .name = "http",
    .kind = SL_SINK,
    .doc = "POSTs each batch of records as NDJSON to a URL, retrying transient failures.",
    .settings = settings,
    .flags = SL_BLOCKING,
    .init = init,
    .start = start,
    .process = process,
    .destroy = destroy,
};
