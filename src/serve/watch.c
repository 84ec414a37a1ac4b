/*
** watch.c: a running pipeline seen from the console (serve.h): its stats
** and tap, read from the child's own observability API
** (docs/observability.md: /stats, /tap).
**
** Rates are per second between two successive samples of the counters,
** kept here per pipeline; samples closer than MIN_INTERVAL_S to the last
** one reuse its rates, so several consoles polling at once still see
** steady numbers. The edges come from the pipeline file's `inputs`: an
** edge carries what its source emits on that output (records_out, or
** errors for NAME.errors).
*/
#include "serve.h"
#include "../pipeline/config.h"
#include "../pipeline/encode.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIN_INTERVAL_S 0.25

enum {
    STATS_TIMEOUT_MS = 3000,
    TAP_SECONDS = 5,
    TAP_TIMEOUT_MS = (TAP_SECONDS + 5) * 1000,
    TAP_DEFAULT_LIMIT = 20,
    TAP_MAX_LIMIT = 10000,
};

/* The last sample of one pipeline's counters. */
typedef struct Sample {
    char name[SERVE_NAME_MAX + 1];
    pid_t pid;                      /* of the child sampled */
    double at;                      /* seconds, CLOCK_MONOTONIC */
    json_t *components;             /* as /stats gave them */
    json_t *rates;                  /* {NAME: {"in", "out", "errors"}} */
} Sample;

struct Watch {
    Manager *manager;
    pthread_mutex_t lock;
    Sample *samples;
    size_t count;
};

Watch *watch_new(Manager *m)
{
    Watch *w = calloc(1, sizeof *w);
    if (!w) abort();
    w->manager = m;
    pthread_mutex_init(&w->lock, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return w;
}

void watch_free(Watch *w)
{
    for (size_t i = 0; i < w->count; i++) {
        json_decref(w->samples[i].components);
        json_decref(w->samples[i].rates);
    }
    free(w->samples);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- The child's API ----------------------------------------------------- */

static size_t collect(char *data, size_t size, size_t n, void *user)
{
    sl_buf_put(user, data, size * n);
    return size * n;
}

/* GETs http://ADDR/PATH into `out` (NUL-terminated); the HTTP status, or 0
** with the reason in `out`. */
static long get(const char *addr, const char *path, long timeout_ms, SlBuf *out)
{
    char url[512];
    snprintf(url, sizeof url, "http://%s%s", addr, path);
    CURL *curl = curl_easy_init();
    if (!curl) abort();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    } else {
        out->len = 0;
        const char *why = curl_easy_strerror(rc);
        sl_buf_put(out, why, strlen(why));
    }
    sl_buf_putc(out, '\0');
    out->len--;
    curl_easy_cleanup(curl);
    return status;
}

/* The API address of a running pipeline; false after answering (404 for
** no such pipeline, 409 for one not running). */
static bool running_api(Watch *w, struct MHD_Connection *c, const char *name,
                        char addr[SERVE_ADDRESS_MAX], pid_t *pid, enum MHD_Result *ret)
{
    if (manager_api(w->manager, name, addr, pid)) return true;
    json_t *status = manager_status(w->manager, name, false);
    *ret = status ? http_send_error(c, MHD_HTTP_CONFLICT, "pipeline '%s' is not running (it is %s)",
                                    name, json_string_value(json_object_get(status, "state")))
                  : http_send_error(c, MHD_HTTP_NOT_FOUND, "no pipeline named '%s'", name);
    json_decref(status);
    return false;
}

/* ---- Rates --------------------------------------------------------------- */

static Sample *sample_of(Watch *w, const char *name)
{
    for (size_t i = 0; i < w->count; i++)
        if (!strcmp(w->samples[i].name, name)) return &w->samples[i];
    w->samples = realloc(w->samples, (w->count + 1) * sizeof *w->samples);
    if (!w->samples) abort();
    Sample *s = &w->samples[w->count++];
    *s = (Sample){ .pid = 0 };
    snprintf(s->name, sizeof s->name, "%s", name);
    return s;
}

static double counter(json_t *component, const char *key)
{
    return (double)json_integer_value(json_object_get(component, key));
}

static json_t *find_component(json_t *components, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(components, i, c) {
        const char *its = json_string_value(json_object_get(c, "name"));
        if (its && !strcmp(its, name)) return c;
    }
    return NULL;
}

json_t *watch_rates(json_t *before, json_t *now, double seconds)
{
    json_t *rates = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(now, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        if (!name) continue;        /* not a component as /stats has them */
        json_t *b = find_component(before, name);
        static const char *const keys[][2] = { { "in", "records_in" }, { "out", "records_out" },
                                               { "errors", "errors" } };
        json_t *r = json_object();
        for (size_t k = 0; k < 3; k++) {
            double d = b && seconds > 0 ? counter(c, keys[k][1]) - counter(b, keys[k][1]) : 0;
            json_object_set_new(r, keys[k][0], json_real(d > 0 ? d / seconds : 0));
        }
        json_object_set_new(rates, name, r);
    }
    return rates;
}

/* Takes a new sample (the reference to `components`); the rates to show,
** a new reference. */
static json_t *take_sample(Watch *w, const char *name, pid_t pid, json_t *components)
{
    pthread_mutex_lock(&w->lock);
    Sample *s = sample_of(w, name);
    double now = now_seconds();
    bool same_child = s->pid == pid && s->components;
    if (!same_child || now - s->at >= MIN_INTERVAL_S) {
        json_t *rates = watch_rates(same_child ? s->components : NULL, components,
                                    now - s->at);
        json_decref(s->rates);
        json_decref(s->components);
        *s = (Sample){ .pid = pid, .at = now, .components = json_incref(components),
                       .rates = rates };
        snprintf(s->name, sizeof s->name, "%s", name);
    }
    json_t *rates = json_incref(s->rates);
    pthread_mutex_unlock(&w->lock);
    json_decref(components);
    return rates;
}

static double rate(json_t *rates, const char *component, const char *which)
{
    return json_real_value(json_object_get(json_object_get(rates, component), which));
}

/* ---- Edges --------------------------------------------------------------- */

static json_t *edge(json_t *components, json_t *rates, const char *input, const char *to)
{
    char from[256];
    snprintf(from, sizeof from, "%s", input);
    size_t n = strlen(from);
    bool errors = n > 7 && !strcmp(from + n - 7, ".errors");
    if (errors) from[n - 7] = '\0';
    json_t *c = find_component(components, from);
    return json_pack("{s:s, s:s, s:s, s:I, s:f}", "from", from, "to", to,
                     "output", errors ? "errors" : "main",
                     "records", (json_int_t)counter(c, errors ? "errors" : "records_out"),
                     "rate", rate(rates, from, errors ? "errors" : "out"));
}

/* Every input of every transform and sink of the pipeline's file. */
static json_t *edges(Watch *w, const char *name, json_t *components, json_t *rates)
{
    char path[4200];
    manager_path(w->manager, name, path, sizeof path);
    SlDiag d = { 0 };
    SlConf *root = sl_conf_load(path, &d);
    sl_diag_free(&d);
    json_t *list = json_array();
    static const char *const consumers[] = { "transforms", "sinks" };
    for (size_t s = 0; root && s < 2; s++) {
        const SlConf *section = sl_conf_get(root, consumers[s]);
        for (size_t i = 0; section && section->kind == SL_CONF_MAP && i < section->count; i++) {
            const SlConf *inputs = sl_conf_get(section->items[i], "inputs");
            for (size_t k = 0; inputs && inputs->kind == SL_CONF_SEQ && k < inputs->count; k++)
                if (inputs->items[k]->kind == SL_CONF_SCALAR)
                    json_array_append_new(list, edge(components, rates, inputs->items[k]->text,
                                                     section->items[i]->key));
        }
    }
    if (root) sl_conf_free(root);
    return list;
}

/* ---- Endpoints ----------------------------------------------------------- */

static json_t *with_rates(json_t *components, json_t *rates)
{
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(components, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *copy = json_deep_copy(c);
        if (!json_object_get(copy, "queue_depth"))
            json_object_set_new(copy, "queue_depth", json_integer(0));
        json_object_set_new(copy, "rate_in", json_real(rate(rates, name, "in")));
        json_object_set_new(copy, "rate_out", json_real(rate(rates, name, "out")));
        json_object_set_new(copy, "rate_errors", json_real(rate(rates, name, "errors")));
        json_array_append_new(out, copy);
    }
    return out;
}

enum MHD_Result watch_stats(Watch *w, struct MHD_Connection *c, const char *name)
{
    char addr[SERVE_ADDRESS_MAX];
    pid_t pid;
    enum MHD_Result ret;
    if (!running_api(w, c, name, addr, &pid, &ret)) return ret;
    SlBuf page = { 0 };
    long status = get(addr, "/stats", STATS_TIMEOUT_MS, &page);
    json_t *doc = status == 200 ? json_loadb(page.data, page.len, 0, NULL) : NULL;
    json_t *components = json_incref(json_object_get(doc, "components"));
    if (!json_is_array(components)) {
        ret = http_send_error(c, MHD_HTTP_BAD_GATEWAY, "cannot read the stats of pipeline '%s' "
                              "at %s: %s", name, addr, status ? "not the expected JSON" : page.data);
    } else {
        json_t *rates = take_sample(w, name, pid, json_incref(components));
        json_t *out = json_pack("{s:o, s:o}", "components", with_rates(components, rates),
                                "edges", edges(w, name, components, rates));
        json_decref(rates);
        ret = http_send_json(c, MHD_HTTP_OK, out);
    }
    json_decref(components);
    json_decref(doc);
    sl_buf_free(&page);
    return ret;
}

enum MHD_Result watch_tap(Watch *w, struct MHD_Connection *c, const char *name)
{
    const char *component = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "component");
    const char *limit_text = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    char *end = NULL;
    long limit = limit_text ? strtol(limit_text, &end, 10) : TAP_DEFAULT_LIMIT;
    if (!component || !*component)
        return http_send_error(c, MHD_HTTP_BAD_REQUEST, "say which component: "
                               "tap?component=NAME[&limit=N]");
    if (limit_text && (!*limit_text || *end || limit < 1 || limit > TAP_MAX_LIMIT))
        return http_send_error(c, MHD_HTTP_BAD_REQUEST, "limit must be a whole number "
                               "from 1 to %d, not '%s'", TAP_MAX_LIMIT, limit_text);
    char addr[SERVE_ADDRESS_MAX], path[1024];
    pid_t pid;
    enum MHD_Result ret;
    if (!running_api(w, c, name, addr, &pid, &ret)) return ret;
    char *escaped = curl_easy_escape(NULL, component, 0);
    if (!escaped) abort();
    snprintf(path, sizeof path, "/tap?component=%s&limit=%ld&seconds=%d", escaped, limit,
             TAP_SECONDS);
    curl_free(escaped);
    SlBuf body = { 0 };
    long status = get(addr, path, TAP_TIMEOUT_MS, &body);
    if (!status) {
        ret = http_send_error(c, MHD_HTTP_BAD_GATEWAY, "cannot tap pipeline '%s' at %s: %s",
                              name, addr, body.data);
        sl_buf_free(&body);
        return ret;
    }
    /* The child's answer as it is: NDJSON, or its JSON error. */
    return http_send_text(c, (unsigned)status, status == 200 ? "application/x-ndjson"
                                                             : "application/json",
                          body.data, body.len);
}
