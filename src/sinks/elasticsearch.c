/*
** elasticsearch.c: the `elasticsearch` sink. Records are indexed through the
** _bulk API: each record becomes an action line naming its index (and _id)
** and a source line holding its fields, all POSTed as one NDJSON body
** (gzip-compressed if asked) over one libcurl handle kept alive.
**
** A bulk request answers item by item, so a batch can be partly written.
** The sink reads every item's status: 2xx is written; 409 to a `create` is a
** document already there (a retry after a lost answer, with `id_field`),
** which is written too; 429 and 5xx items are sent again, alone, after an
** exponential backoff with jitter; any other status refuses that record,
** which goes to the error output with the item's error type and reason.
** A whole request that fails (no connection, a timeout, 429, 5xx) is sent
** again the same way, to the next url if several are given, until the
** cluster takes it (or `retries` run out: the records still unwritten then
** go to the error output with the last error). A record is either
** confirmed by the server or rejected, never dropped, and never sent again
** once confirmed.
**
** The index name is a template: %Y %m %d %H are the record's time (the
** `timestamp_field`, else the time of writing) in UTC, {field} a field's
** value, %% a percent sign.
*/
#include "../pipeline/component.h"
#include "../pipeline/encode.h"
#include "../pipeline/retry.h"
#include "curlpost.h"
#include "../pipeline/gzip.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { EXCERPT_MAX = 200, REASON_MAX = 512 };

typedef struct EsSink {
    const char **urls;              /* the _bulk endpoints, tried in turn */
    size_t nurls, current;
    const char *index, *id_field, *timestamp_field, *action;
    bool gzip;
    int64_t batch_bytes, max_records;
    int64_t timeout_ms, retries;
    SlBackoff backoff;
    const char *user, *password;
    struct curl_slist *headers;
    CURL *curl;
    SlBuf docs;                     /* action and source lines of a batch */
    size_t *doc_end;                /* per record: where its lines end in docs */
    uint32_t *pending;              /* records of the chunk still unwritten */
    SlBuf body, packed, response, name;
    char reason[REASON_MAX];        /* why the last attempt did not finish */
    char curl_error[CURL_ERROR_SIZE];
} EsSink;

static const SlSetting url_setting = {
    .name = "url", .type = SL_SET_STRING, .doc = "An Elasticsearch node.",
};

static const SlSetting auth_fields[] = {
    { .name = "user", .type = SL_SET_STRING, .doc = "Basic authentication: the user." },
    { .name = "password", .type = SL_SET_STRING, .doc = "Basic authentication: the password." },
    { .name = "api_key", .type = SL_SET_STRING,
      .doc = "An API key (the base64 id:key), sent as Authorization: ApiKey." },
    { 0 },
};

static const char *const action_choices[] = { "create", "index", NULL };

static const SlSetting settings[] = {
    { .name = "url", .type = SL_SET_STRING,
      .doc = "The cluster's address, e.g. http://localhost:9200 (or use urls)." },
    { .name = "urls", .type = SL_SET_LIST, .item = &url_setting,
      .doc = "Several nodes: a failed request is sent to the next one." },
    { .name = "index", .type = SL_SET_STRING, .def = "sluice-%Y.%m.%d",
      .doc = "The index name: %Y %m %d %H from the record's time (UTC), {field} a field's value." },
    { .name = "timestamp_field", .type = SL_SET_STRING, .def = "time",
      .doc = "The field whose time names the index; records without it use the time of writing." },
    { .name = "id_field", .type = SL_SET_STRING,
      .doc = "The field whose value is the document _id, which makes retries idempotent." },
    { .name = "action", .type = SL_SET_STRING, .choices = action_choices,
      .doc = "create (the default with id_field: an existing _id counts as written) or index (overwrite)." },
    { .name = "pipeline", .type = SL_SET_STRING,
      .doc = "An ingest pipeline to run the documents through." },
    { .name = "auth", .type = SL_SET_OBJECT, .fields = auth_fields,
      .doc = "Credentials: user and password, or api_key." },
    { .name = "gzip", .type = SL_SET_BOOL, .def = "false",
      .doc = "Compress each request with gzip." },
    { .name = "batch_bytes", .type = SL_SET_INT, .def = "5242880", .min = 1024, .max = 1073741824,
      .doc = "The largest bulk body before compression; a batch is split to fit." },
    { .name = "max_records", .type = SL_SET_INT, .def = "1000", .min = 1, .max = 1000000,
      .doc = "The most records in one bulk request." },
    { .name = "timeout_ms", .type = SL_SET_INT, .def = "30000", .min = 1, .max = 3600000,
      .doc = "How long one request may take, connecting included." },
    SL_RETRIES_SETTING("a request with unwritten records"),
    SL_BACKOFF_SETTINGS("100", "30000"),
    { 0 },
};

/* ---- Init -------------------------------------------------------------- */

/* Checks the template once, so that rendering it cannot fail on syntax. */
static bool check_index_template(const char *t, char *why, size_t size)
{
    for (const char *c = t; *c; c++) {
        if (*c == '%') {
            if (!c[1] || !strchr("YmdH%", c[1]))
                return snprintf(why, size, "'%%%c' in the index: use %%Y %%m %%d %%H or %%%%",
                                c[1] ? c[1] : ' '), false;
            c++;
        } else if (*c == '{') {
            const char *end = strchr(c, '}');
            if (!end || end == c + 1)
                return snprintf(why, size, "'{' in the index needs a field name and '}'"), false;
            c = end;
        }
    }
    if (!*t) return snprintf(why, size, "the index name is empty"), false;
    return true;
}

/* The _bulk endpoint of a node: its url, /_bulk, and the pipeline. */
static const char *bulk_url(const char *base, const char *pipeline)
{
    SlBuf url = { 0 };
    size_t len = strlen(base);
    while (len && base[len - 1] == '/') len--;
    sl_buf_put(&url, base, len);
    sl_buf_put(&url, "/_bulk", 6);
    if (pipeline) {
        char *escaped = curl_easy_escape(NULL, pipeline, 0);
        if (!escaped) abort();
        sl_buf_put(&url, "?pipeline=", 10);
        sl_buf_put(&url, escaped, strlen(escaped));
        curl_free(escaped);
    }
    sl_buf_putc(&url, 0);
    return url.data;
}

static int read_urls(SlCtx *ctx, EsSink *h, const SlConf *conf)
{
    const SlConf *one = sl_conf_get(conf, "url"), *list = sl_conf_get(conf, "urls");
    if (!one == !list || (list && list->count == 0)) {
        sl_conf_error(ctx, list ? list : conf, "give the cluster's address as url or urls (one of them)");
        return -1;
    }
    const char *pipeline = sl_conf_str(conf, "pipeline", NULL);
    size_t n = list ? list->count : 1;
    h->urls = sl_xrealloc(NULL, n * sizeof *h->urls);
    for (size_t i = 0; i < n; i++) {
        const SlConf *u = list ? list->items[i] : one;
        if (strncmp(u->text, "http://", 7) && strncmp(u->text, "https://", 8)) {
            sl_conf_error(ctx, u, "the url must start with http:// or https://");
            return -1;
        }
        h->urls[h->nurls++] = bulk_url(u->text, pipeline);
    }
    return 0;
}

static void add_header(EsSink *h, const char *line)
{
    if (!(h->headers = curl_slist_append(h->headers, line))) abort();
}

static int read_auth(SlCtx *ctx, EsSink *h, const SlConf *auth)
{
    if (!auth) return 0;
    const char *key = sl_conf_str(auth, "api_key", NULL);
    h->user = sl_conf_str(auth, "user", NULL);
    h->password = sl_conf_str(auth, "password", "");
    if (!key == !h->user) {
        sl_conf_error(ctx, auth, "auth takes either user (and password) or api_key");
        return -1;
    }
    if (key) {
        if (strpbrk(key, "\r\n")) {
            sl_conf_error(ctx, sl_conf_get(auth, "api_key"), "the api_key holds a line break");
            return -1;
        }
        SlBuf line = { 0 };
        sl_buf_put(&line, "Authorization: ApiKey ", 22);
        sl_buf_put(&line, key, strlen(key) + 1);
        add_header(h, line.data);
        sl_buf_free(&line);
    }
    return 0;
}

static int init(SlCtx *ctx, const SlConf *conf)
{
    EsSink *h = calloc(1, sizeof *h);
    if (!h) abort();
    sl_set_state(ctx, h);
    h->index = sl_conf_str(conf, "index", "sluice-%Y.%m.%d");
    h->timestamp_field = sl_conf_str(conf, "timestamp_field", "time");
    h->id_field = sl_conf_str(conf, "id_field", NULL);
    h->action = sl_conf_str(conf, "action", h->id_field ? "create" : "index");
    h->gzip = sl_conf_bool(conf, "gzip", false);
    h->batch_bytes = sl_conf_int(conf, "batch_bytes", 5242880);
    h->max_records = sl_conf_int(conf, "max_records", 1000);
    h->timeout_ms = sl_conf_int(conf, "timeout_ms", 30000);
    h->retries = sl_conf_int(conf, "retries", SL_RETRIES_FOREVER);
    sl_backoff_init(&h->backoff, sl_conf_int(conf, "backoff_ms", 100),
                    sl_conf_int(conf, "max_backoff_ms", 30000));
    /* Expect: 100-continue would cost a round trip per large batch. */
    add_header(h, "Content-Type: application/x-ndjson");
    add_header(h, "Expect:");
    if (h->gzip) add_header(h, "Content-Encoding: gzip");
    int status = read_urls(ctx, h, conf);
    char why[128];
    if (!check_index_template(h->index, why, sizeof why)) {
        sl_conf_error(ctx, sl_conf_get(conf, "index") ? sl_conf_get(conf, "index") : conf, "%s", why);
        status = -1;
    }
    return read_auth(ctx, h, sl_conf_get(conf, "auth")) < 0 ? -1 : status;
}

/* ---- Start: one handle for the whole run ------------------------------- */

static size_t keep_response(char *data, size_t size, size_t n, void *user)
{
    EsSink *h = user;
    sl_buf_put(&h->response, data, size * n);
    return size * n;
}

static int start(SlCtx *ctx)
{
    EsSink *h = sl_state(ctx);
    h->curl = sl_curl_post_handle(ctx, h->headers, h->timeout_ms, keep_response, h, h->curl_error);
    if (!h->curl) return -1;
    CURL *c = h->curl;
    if (h->user) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, h->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, h->password);
    }
    return 0;
}

/* ---- Action lines ------------------------------------------------------ */

static void utc_fields(int64_t ns, struct tm *tm)
{
    int64_t s = ns / 1000000000;
    if (ns % 1000000000 < 0) s--; /* floor, for times before 1970 */
    time_t t = (time_t)s;
    gmtime_r(&t, tm);
}

/* The time that names a record's index: its timestamp field, else now. */
static int64_t record_time(const EsSink *h, const SlRecord *r, int64_t now)
{
    const SlValue *v = sl_get(r, h->timestamp_field);
    int64_t ns;
    if (v && v->type == SL_TIMESTAMP) return v->as.ns;
    if (v && v->type == SL_STRING && sl_parse_time(v->as.s, v->len, &ns)) return ns;
    return now;
}

/* A string, int or bool field as text (an _id or part of an index name). */
static bool field_text(const SlRecord *r, const char *name, size_t len, SlBuf *out,
                       char *why, size_t size)
{
    const SlValue *v = sl_map_get(&r->fields, name, len);
    if (!v || v->type == SL_NULL)
        return snprintf(why, size, "no field '%.*s' (for the index or _id)", (int)len, name), false;
    if (v->type == SL_STRING) {
        sl_buf_put(out, v->as.s, v->len);
    } else if (v->type == SL_INT || v->type == SL_BOOL) {
        sl_json_value(out, v);
    } else {
        return snprintf(why, size, "field '%.*s' is %s: an index name or _id needs a string, int or bool",
                        (int)len, name, sl_type_name(v->type)), false;
    }
    return true;
}

static bool render_index(EsSink *h, const SlRecord *r, int64_t now, char *why, size_t size)
{
    struct tm tm;
    bool have_time = false;
    h->name.len = 0;
    for (const char *c = h->index; *c; c++) {
        if (*c == '{') {
            const char *end = strchr(c, '}');
            if (!field_text(r, c + 1, (size_t)(end - c - 1), &h->name, why, size)) return false;
            c = end;
        } else if (*c == '%' && c[1] != '%') {
            if (!have_time) utc_fields(record_time(h, r, now), &tm);
            have_time = true;
            char part[16];
            int value = c[1] == 'Y' ? tm.tm_year + 1900 : c[1] == 'm' ? tm.tm_mon + 1
                      : c[1] == 'd' ? tm.tm_mday : tm.tm_hour;
            sl_buf_put(&h->name, part, (size_t)snprintf(part, sizeof part,
                                                        c[1] == 'Y' ? "%04d" : "%02d", value));
            c++;
        } else {
            sl_buf_putc(&h->name, *c);
            c += *c == '%'; /* %% */
        }
    }
    return true;
}

static void put_json_text(SlBuf *out, const char *s, size_t len)
{
    SlValue v = sl_str(s, len);
    sl_json_value(out, &v);
}

/* Appends a record's action and source lines to docs. */
static bool encode_record(EsSink *h, const SlRecord *r, int64_t now, char *why, size_t size)
{
    if (!render_index(h, r, now, why, size)) return false;
    size_t index_len = h->name.len;
    if (h->id_field && !field_text(r, h->id_field, strlen(h->id_field), &h->name, why, size))
        return false;
    SlBuf *d = &h->docs;
    sl_buf_put(d, "{\"", 2);
    sl_buf_put(d, h->action, strlen(h->action));
    sl_buf_put(d, "\":{\"_index\":", 12);
    put_json_text(d, h->name.data, index_len);
    if (h->id_field) {
        sl_buf_put(d, ",\"_id\":", 7);
        put_json_text(d, h->name.data + index_len, h->name.len - index_len);
    }
    sl_buf_put(d, "}}\n", 3);
    sl_json_record(d, r);
    return true;
}

/* ---- Sending ----------------------------------------------------------- */

static size_t doc_start(const EsSink *h, uint32_t i)
{
    return i ? h->doc_end[i - 1] : 0;
}

/* The body for the pending records: their lines, in order. */
static void build_body(EsSink *h, uint32_t npending)
{
    h->body.len = 0;
    for (uint32_t k = 0; k < npending; k++) {
        uint32_t i = h->pending[k];
        sl_buf_put(&h->body, h->docs.data + doc_start(h, i), h->doc_end[i] - doc_start(h, i));
    }
}

/* The outcome of one round: everything written, some records to send
** again, or the answer refuses them all (or makes no sense). */
typedef enum Round { WRITTEN, AGAIN, REFUSED } Round;

/* A response excerpt on one line: logs and error records stay readable. */
static void describe_status(EsSink *h, long status)
{
    size_t n = h->response.len < EXCERPT_MAX ? h->response.len : EXCERPT_MAX;
    char excerpt[EXCERPT_MAX + 1];
    for (size_t i = 0; i < n; i++)
        excerpt[i] = h->response.data[i] == '\n' || h->response.data[i] == '\r' ? ' ' : h->response.data[i];
    excerpt[n] = 0;
    snprintf(h->reason, sizeof h->reason, "HTTP %ld: %s", status, excerpt);
}

/* Elasticsearch writes "took" then "errors" first: a body starting so says
** every item succeeded, without parsing the items. Anything else is parsed. */
static bool no_errors_fast(const SlBuf *r)
{
    const char *p = r->data, *end = r->data + r->len;
    static const char took[] = "{\"took\":", errors[] = "\"errors\":false";
    if (r->len < sizeof took || memcmp(p, took, sizeof took - 1)) return false;
    p += sizeof took - 1;
    while (p < end && *p >= '0' && *p <= '9') p++;
    if (p == end || *p++ != ',') return false;
    return (size_t)(end - p) >= sizeof errors - 1 && !memcmp(p, errors, sizeof errors - 1);
}

typedef enum ItemResult { ITEM_OK, ITEM_RETRY, ITEM_REFUSED } ItemResult;

/* One item of a bulk response: {"create": {"status": 201, ...}}. */
static ItemResult judge_item(json_t *item, char *why, size_t size)
{
    void *only = json_object_size(item) == 1 ? json_object_iter(item) : NULL;
    const char *op = only ? json_object_iter_key(only) : "";
    json_t *result = only ? json_object_iter_value(only) : NULL;
    json_t *status_json = json_object_get(result, "status");
    if (!json_is_integer(status_json)) {
        snprintf(why, size, "a bulk response item without a status");
        return ITEM_REFUSED;
    }
    json_int_t status = json_integer_value(status_json);
    if (status >= 200 && status < 300) return ITEM_OK;
    if (status == 409 && !strcmp(op, "create")) return ITEM_OK; /* written before */
    json_t *error = json_object_get(result, "error");
    const char *type = json_string_value(json_object_get(error, "type"));
    const char *reason = json_string_value(json_object_get(error, "reason"));
    snprintf(why, size, "%s (status %lld): %s", type ? type : "error", (long long)status,
             reason ? reason : json_is_string(error) ? json_string_value(error) : "no reason given");
    return status == 429 || status >= 500 ? ITEM_RETRY : ITEM_REFUSED;
}

/* Reads the items: refused records are rejected, records to retry stay
** in pending (compacted), and *npending says how many. */
static Round judge_items(SlCtx *ctx, EsSink *h, const SlBatch *b, uint32_t *npending)
{
    json_error_t err;
    json_t *root = json_loadb(h->response.data, h->response.len, 0, &err);
    json_t *items = json_object_get(root, "items");
    if (!json_is_array(items) || json_array_size(items) != *npending) {
        snprintf(h->reason, sizeof h->reason,
                 "the bulk response does not answer each of the %u records: %s", *npending,
                 root ? "wrong items" : err.text);
        json_decref(root);
        return REFUSED;
    }
    uint32_t again = 0;
    for (uint32_t k = 0; k < *npending; k++) {
        char why[REASON_MAX];
        ItemResult r = judge_item(json_array_get(items, k), why, sizeof why);
        if (r == ITEM_REFUSED) sl_reject(ctx, b, h->pending[k], "%s", why);
        if (r != ITEM_RETRY) continue;
        h->pending[again++] = h->pending[k];
        snprintf(h->reason, sizeof h->reason, "%s", why);
    }
    json_decref(root);
    *npending = again;
    return again ? AGAIN : WRITTEN;
}

/* One POST of the pending records and what its answer means for them. */
static Round send_round(SlCtx *ctx, EsSink *h, const SlBatch *b, uint32_t *npending)
{
    build_body(h, *npending);
    if (h->gzip && !sl_gzip(&h->body, &h->packed)) {
        snprintf(h->reason, sizeof h->reason, "cannot gzip the bulk body");
        return REFUSED;
    }
    const SlBuf *body = h->gzip ? &h->packed : &h->body;
    h->response.len = 0;
    h->curl_error[0] = 0;
    curl_easy_setopt(h->curl, CURLOPT_URL, h->urls[h->current]);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body->data);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    CURLcode rc = curl_easy_perform(h->curl);
    long status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status == 429 || status >= 500) {
        if (rc != CURLE_OK)
            snprintf(h->reason, sizeof h->reason, "%s: %s", h->urls[h->current],
                     h->curl_error[0] ? h->curl_error : curl_easy_strerror(rc));
        else
            describe_status(h, status);
        h->current = (h->current + 1) % h->nurls;
        return AGAIN;
    }
    if (status < 200 || status >= 300) {
        describe_status(h, status);
        return REFUSED;
    }
    sl_count_bytes_out(ctx, body->len);
    if (no_errors_fast(&h->response)) return WRITTEN;
    return judge_items(ctx, h, b, npending);
}



static void reject_pending(SlCtx *ctx, EsSink *h, const SlBatch *b, uint32_t npending,
                           const char *prefix)
{
    for (uint32_t k = 0; k < npending; k++)
        sl_reject(ctx, b, h->pending[k], "%s%s", prefix, h->reason);
}

/* Writes records [first, first + count) of the batch: sends, then sends
** again only what the server did not take, until all is written or
** rejected. */
static void write_chunk(SlCtx *ctx, EsSink *h, const SlBatch *b, uint32_t first, uint32_t count)
{
    uint32_t npending = count;
    for (uint32_t k = 0; k < count; k++) h->pending[k] = first + k;
    for (int64_t attempt = 0;; attempt++) {
        Round r = send_round(ctx, h, b, &npending);
        if (r == WRITTEN) return;
        if (r == REFUSED) {
            reject_pending(ctx, h, b, npending, "");
            return;
        }
        if (!sl_retry_left(h->retries, attempt)) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "gave up after %lld attempts: ", (long long)attempt + 1);
            reject_pending(ctx, h, b, npending, prefix);
            return;
        }
        char why[REASON_MAX + 64];
        snprintf(why, sizeof why, "%u records not written (%s)", npending, h->reason);
        sl_retry_wait(ctx, &h->backoff, attempt, h->retries, why);
    }
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Encodes every record (rejecting those without the fields their index or
** _id needs), then writes them in chunks within batch_bytes and max_records. */
static void process(SlCtx *ctx, SlBatch *b)
{
    EsSink *h = sl_state(ctx);
    h->doc_end = sl_xrealloc(h->doc_end, b->count * sizeof *h->doc_end);
    h->pending = sl_xrealloc(h->pending, b->count * sizeof *h->pending);
    h->docs.len = 0;
    int64_t now = now_ns();
    uint32_t kept = 0;
    for (uint32_t i = 0; i < b->count; i++) {
        char why[256];
        size_t before = h->docs.len;
        if (encode_record(h, &b->records[i], now, why, sizeof why)) {
            b->records[kept] = b->records[i];
            h->doc_end[kept++] = h->docs.len;
        } else {
            h->docs.len = before;
            sl_reject(ctx, b, i, "%s", why);
        }
    }
    b->count = kept;
    for (uint32_t first = 0, i = 0; i < kept; i++) {
        bool last = i + 1 == kept;
        bool full = !last && (i + 1 - first == h->max_records ||
                              h->doc_end[i + 1] - doc_start(h, first) > (uint64_t)h->batch_bytes);
        if (!last && !full) continue;
        write_chunk(ctx, h, b, first, i + 1 - first);
        first = i + 1;
    }
    sl_batch_free(b);
}

static void destroy(void *state)
{
    EsSink *h = state;
    if (!h) return;
    sl_curl_post_close(h->curl);
    for (size_t i = 0; i < h->nurls; i++) free((char *)h->urls[i]);
    free(h->urls);
    curl_slist_free_all(h->headers);
    free(h->doc_end);
    free(h->pending);
    sl_buf_free(&h->docs);
    sl_buf_free(&h->body);
    sl_buf_free(&h->packed);
    sl_buf_free(&h->response);
    sl_buf_free(&h->name);
    free(h);
}

const SlComponentType sl_sink_elasticsearch = {
    .name = "elasticsearch",
    .kind = SL_SINK,
    .doc = "Indexes records through the Elasticsearch _bulk API, retrying only the items that failed.",
    .settings = settings,
    .flags = SL_BLOCKING,
    .init = init,
    .start = start,
    .process = process,
    .destroy = destroy,
};
