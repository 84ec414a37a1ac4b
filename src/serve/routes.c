/*
** routes.c: what `sluice serve` answers outside the registry (serve.h,
** docs/console.md): the console's files and the /api/v1 routes of
** components, validation, preview and pipelines. Every answer but the
** files, the logs and the tap is JSON; every failure is
** {"error": MESSAGE} with its status.
*/
#include "serve.h"
#include "../pipeline/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char pipelines_prefix[] = "/api/v1/pipelines/";

static bool is(const char *method, const char *want)
{
    return !strcmp(method, want);
}

static bool is_read(const char *method)
{
    return is(method, "GET") || is(method, "HEAD");
}

bool route_is_open(const char *method, const char *url)
{
    return is_read(method) || (is(method, "POST") && (!strcmp(url, "/api/v1/validate") ||
                                                      !strcmp(url, "/api/v1/preview")));
}

static bool is_file_url(const char *url)
{
    return !strcmp(url, "/") || !strcmp(url, "/console") || !strncmp(url, "/console/", 9);
}

/* ---- Components and validation ------------------------------------------- */

static enum MHD_Result components(ServeContext *ctx, struct MHD_Connection *c,
                                  const HttpBody *body)
{
    (void)ctx, (void)body;
    static const char *const kinds[] = { "source", "transform", "sink" };
    json_t *list = json_array();
    for (const SlComponentType *const *t = sl_component_all(); *t; t++) {
        char *schema = sl_component_json_schema(*t);
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:o}", "type", (*t)->name,
                                              "kind", kinds[(*t)->kind], "doc", (*t)->doc,
                                              "schema", json_loads(schema, 0, NULL)));
        free(schema);
    }
    return http_send_json(c, MHD_HTTP_OK, list);
}

/* The problems of a pipeline text; NULL after answering a text that is not
** UTF-8. */
static json_t *check(ServeContext *ctx, struct MHD_Connection *c, const HttpBody *body,
                     enum MHD_Result *ret)
{
    /* jansson refuses a NULL buffer even of length 0: an empty body is
    ** valid (empty) text. */
    json_t *text = json_stringn(body->data ? (const char *)body->data : "", body->len);
    if (!text) {
        *ret = http_send_error(c, MHD_HTTP_BAD_REQUEST, "the pipeline is not UTF-8 text");
        return NULL;
    }
    json_decref(text);
    return validate_text((const char *)body->data, body->len, manager_dir(ctx->manager));
}

static enum MHD_Result validate(ServeContext *ctx, struct MHD_Connection *c,
                                const HttpBody *body)
{
    enum MHD_Result ret;
    json_t *errors = check(ctx, c, body, &ret);
    if (!errors) return ret;
    return http_send_json(c, MHD_HTTP_OK, json_pack("{s:b, s:o}", "ok", !json_array_size(errors),
                                                    "errors", errors));
}

/* ---- Pipelines ------------------------------------------------------------ */

static enum MHD_Result refused(struct MHD_Connection *c, ManagerStatus status, const char *err)
{
    unsigned code = status == MANAGER_NOT_FOUND ? MHD_HTTP_NOT_FOUND
                    : status == MANAGER_CLOSING ? MHD_HTTP_SERVICE_UNAVAILABLE
                                                : MHD_HTTP_INTERNAL_SERVER_ERROR;
    return http_send_error(c, code, "%s", err);
}

/* The pipeline's status after a change, or why the change failed. */
static enum MHD_Result changed(ServeContext *ctx, struct MHD_Connection *c, const char *name,
                               ManagerStatus status, const char *err)
{
    if (status != MANAGER_OK) return refused(c, status, err);
    json_t *doc = manager_status(ctx->manager, name, false);
    return doc ? http_send_json(c, MHD_HTTP_OK, doc)
               : http_send_error(c, MHD_HTTP_NOT_FOUND, "no pipeline named '%s'", name);
}

static enum MHD_Result put(ServeContext *ctx, struct MHD_Connection *c, const char *name,
                           const HttpBody *body)
{
    enum MHD_Result ret;
    json_t *errors = check(ctx, c, body, &ret);
    if (!errors) return ret;
    if (json_array_size(errors)) {
        json_t *doc = http_error_doc("invalid pipeline");
        json_object_set_new(doc, "errors", errors);
        return http_send_json(c, MHD_HTTP_UNPROCESSABLE_CONTENT, doc);
    }
    json_decref(errors);
    char err[512];
    ManagerStatus status = manager_put(ctx->manager, name, (const char *)body->data,
                                       body->len, err, sizeof err);
    return changed(ctx, c, name, status, err);
}

static enum MHD_Result logs(ServeContext *ctx, struct MHD_Connection *c, const char *name)
{
    size_t len;
    char *text = manager_logs(ctx->manager, name, &len);
    if (!text) return http_send_error(c, MHD_HTTP_NOT_FOUND, "no pipeline named '%s'", name);
    return http_send_text(c, MHD_HTTP_OK, "text/plain; charset=utf-8", text, len);
}

/* /api/v1/pipelines/NAME, without an action. */
static enum MHD_Result pipeline(ServeContext *ctx, struct MHD_Connection *c, const char *method,
                                const char *url, const char *name, const HttpBody *body)
{
    char err[512];
    if (is_read(method)) {
        json_t *doc = manager_status(ctx->manager, name, true);
        return doc ? http_send_json(c, MHD_HTTP_OK, doc)
                   : http_send_error(c, MHD_HTTP_NOT_FOUND, "no pipeline named '%s'", name);
    }
    if (is(method, "PUT")) return put(ctx, c, name, body);
    if (is(method, "DELETE")) {
        ManagerStatus status = manager_delete(ctx->manager, name, err, sizeof err);
        if (status != MANAGER_OK) return refused(c, status, err);
        return http_send_json(c, MHD_HTTP_OK, json_pack("{s:s, s:b}", "name", name,
                                                        "deleted", 1));
    }
    return http_send_not_allowed(c, method, url, "GET, PUT, DELETE");
}

static enum MHD_Result pipeline_action(ServeContext *ctx, struct MHD_Connection *c,
                                       const char *method, const char *url, const char *name,
                                       const char *action)
{
    char err[512];
    bool start = !strcmp(action, "start");
    if (start || !strcmp(action, "stop")) {
        if (!is(method, "POST")) return http_send_not_allowed(c, method, url, "POST");
        ManagerStatus status = start ? manager_start(ctx->manager, name, err, sizeof err)
                                     : manager_stop(ctx->manager, name, err, sizeof err);
        return changed(ctx, c, name, status, err);
    }
    bool known = !strcmp(action, "stats") || !strcmp(action, "tap") || !strcmp(action, "logs");
    if (!known)
        return http_send_error(c, MHD_HTTP_NOT_FOUND, "no such endpoint: %s (a pipeline has "
                               "start, stop, stats, tap and logs)", url);
    if (!is_read(method)) return http_send_not_allowed(c, method, url, "GET");
    if (!strcmp(action, "stats")) return watch_stats(ctx->watch, c, name);
    if (!strcmp(action, "tap")) return watch_tap(ctx->watch, c, name);
    return logs(ctx, c, name);
}

/* /api/v1/pipelines/NAME[/ACTION] */
static enum MHD_Result pipelines(ServeContext *ctx, struct MHD_Connection *c, const char *method,
                                 const char *url, const HttpBody *body)
{
    const char *rest = url + sizeof pipelines_prefix - 1;
    size_t n = strcspn(rest, "/");
    char name[SERVE_NAME_MAX + 1] = "";
    if (n <= SERVE_NAME_MAX) snprintf(name, sizeof name, "%.*s", (int)n, rest);
    if (!*name || !manager_name_valid(name))
        return http_send_error(c, MHD_HTTP_BAD_REQUEST, "bad pipeline name '%.*s': use 1 to %d "
                               "of a-z, 0-9, _ and -", (int)(n > 80 ? 80 : n), rest,
                               SERVE_NAME_MAX);
    const char *action = rest + n;
    if (!*action) return pipeline(ctx, c, method, url, name, body);
    return pipeline_action(ctx, c, method, url, name, action + 1);
}

/* ---- Routing --------------------------------------------------------------- */

static enum MHD_Result list(ServeContext *ctx, struct MHD_Connection *c, const HttpBody *body)
{
    (void)body;
    return http_send_json(c, MHD_HTTP_OK, manager_list(ctx->manager));
}

static enum MHD_Result run_preview(ServeContext *ctx, struct MHD_Connection *c,
                                   const HttpBody *body)
{
    return preview(c, (const char *)body->data, body->len, ctx->registry_url, ctx->cache_dir);
}

typedef enum MHD_Result (*Handler)(ServeContext *ctx, struct MHD_Connection *c,
                                   const HttpBody *body);

static const struct {
    const char *url, *method;
    Handler handler;
} fixed[] = {
    { "/api/v1/components", "GET", components },
    { "/api/v1/validate", "POST", validate },
    { "/api/v1/preview", "POST", run_preview },
    { "/api/v1/pipelines", "GET", list },
};

enum MHD_Result route(ServeContext *ctx, struct MHD_Connection *c, const char *method,
                      const char *url, const HttpBody *body)
{
    if (is_file_url(url))
        return is_read(method) ? serve_file(c, ctx->web_dir, url)
                               : http_send_not_allowed(c, method, url, "GET");
    if (!strncmp(url, pipelines_prefix, sizeof pipelines_prefix - 1))
        return pipelines(ctx, c, method, url, body);
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (strcmp(url, fixed[i].url)) continue;
        bool get = !strcmp(fixed[i].method, "GET");
        if (get ? !is_read(method) : !is(method, fixed[i].method))
            return http_send_not_allowed(c, method, url, fixed[i].method);
        return fixed[i].handler(ctx, c, body);
    }
    return http_send_error(c, MHD_HTTP_NOT_FOUND, "no such endpoint: %s (the API is under "
                           "/api/v1, see docs/console.md)", url);
}
