/*
** preview.c: POST /api/v1/preview (serve.h): a function run once, in the
** server's process, on a few records given as JSON, as one window, so the
** console can show what it would make of them.
**
** It is the function node's own path: records to columnar JSON
** (columnar.c), one call through libsluice-fn, the columnar output back to
** records. The module is the request's own (wasm_base64) or an artifact
** resolved from this server's registry as a pipeline would (cached under
** DATA/cache). The call runs under strict limits (fuel, time, memory,
** output size): a runaway or trapping function is a 422, never a crash.
*/
#include "serve.h"
#include "../pipeline/decode.h"
#include "../pipeline/encode.h"
#include "../registry/resolve.h"
#include "../transforms/columnar.h"
#include "sluice_fn_host.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MAX_RECORDS = 10000,
    FUEL = 1000000000,
    TIMEOUT_MS = 2000,
    MAX_MEMORY_PAGES = 1024,        /* 64 MiB */
    MAX_OUTPUT = 4 << 20,
};

/* One preview: what it was given and what it has made so far. */
typedef struct Preview {
    json_t *request, *logs;
    sfn_module *module;
    sfn_instance *instance;
    SlBatch *in, *out;
    Columnar codec;
    char error[1200];
    unsigned status;                /* of the failure, once there is one */
} Preview;

static bool failed(Preview *p, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool failed(Preview *p, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error, sizeof p->error, fmt, ap);
    va_end(ap);
    p->status = status;
    return false;
}

static bool function_failed(Preview *p, const sfn_error *err)
{
    return failed(p, MHD_HTTP_UNPROCESSABLE_CONTENT, "function %s: %s: %s", err->function,
                  sfn_kind_name(err->kind), err->message);
}

static void keep_log(void *user, const char *function, int level, const char *text, size_t len)
{
    (void)function;
    json_array_append_new(user, json_pack("{s:s, s:s%}", "level", sfn_level_name(level),
                                          "message", text, len));
}

/* ---- The module ---------------------------------------------------------- */

static bool load_inline(Preview *p, const char *base64)
{
    size_t cap = strlen(base64), len = 0;
    uint8_t *bytes = malloc(cap + 1);
    if (!bytes) abort();
    if (sodium_base642bin(bytes, cap + 1, base64, cap, " \r\n", &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(bytes);
        return failed(p, MHD_HTTP_BAD_REQUEST, "wasm_base64 is not valid base64");
    }
    sfn_error err;
    p->module = sfn_module_load("preview", bytes, len, &err);
    free(bytes);
    return p->module || function_failed(p, &err);
}

/* An artifact from the server's registry; its manifest's config is the
** configuration when the request gives none. */
static bool load_artifact(Preview *p, const char *ref, const char *registry_url,
                          const char *cache_dir)
{
    RegistryClientConfig client = { .timeout_s = 10 };
    snprintf(client.url, sizeof client.url, "%s", registry_url);
    char *path = NULL, err[1024];
    Manifest *manifest = NULL;
    if (registry_resolve(&client, ref, cache_dir, NULL, &path, &manifest, err, sizeof err))
        return failed(p, MHD_HTTP_UNPROCESSABLE_CONTENT, "%s", err);
    json_t *defaults = json_object_get(manifest->doc, "config");
    if (!json_object_get(p->request, "config") && defaults)
        json_object_set(p->request, "config", defaults);
    manifest_free(manifest);
    sfn_error ferr;
    p->module = sfn_module_load_file(path, &ferr);
    free(path);
    return p->module || function_failed(p, &ferr);
}

static bool load_module(Preview *p, const char *registry_url, const char *cache_dir)
{
    json_t *artifact = json_object_get(p->request, "artifact");
    json_t *inline_module = json_object_get(p->request, "wasm_base64");
    if (!artifact == !inline_module)
        return failed(p, MHD_HTTP_BAD_REQUEST, "give the function as either \"artifact\": "
                      "\"NAME@VERSION\" or \"wasm_base64\", not %s", artifact ? "both" : "neither");
    if (!json_is_string(artifact ? artifact : inline_module))
        return failed(p, MHD_HTTP_BAD_REQUEST, "\"%s\" must be a string",
                      artifact ? "artifact" : "wasm_base64");
    if (inline_module) return load_inline(p, json_string_value(inline_module));
    return load_artifact(p, json_string_value(artifact), registry_url, cache_dir);
}

static bool instantiate(Preview *p)
{
    json_t *config = json_object_get(p->request, "config");
    if (config && !json_is_object(config))
        return failed(p, MHD_HTTP_BAD_REQUEST, "\"config\" must be an object");
    char *text = config ? json_dumps(config, JSON_COMPACT) : strdup("{}");
    if (!text) abort();
    sfn_options options = sfn_default_options();
    options.limits = (sfn_limits){ .fuel = FUEL, .timeout_ms = TIMEOUT_MS,
                                   .max_memory_pages = MAX_MEMORY_PAGES,
                                   .max_output = MAX_OUTPUT };
    options.config = text;
    options.config_len = strlen(text);
    options.log = keep_log;
    options.log_user = p->logs;
    sfn_error err;
    p->instance = sfn_instance_new(p->module, &options, &err);
    free(text);
    return p->instance || function_failed(p, &err);
}

/* ---- Records ------------------------------------------------------------- */

static bool read_records(Preview *p)
{
    json_t *records = json_object_get(p->request, "records");
    if (!json_is_array(records))
        return failed(p, MHD_HTTP_BAD_REQUEST, "\"records\" must be an array of objects");
    if (json_array_size(records) > MAX_RECORDS)
        return failed(p, MHD_HTTP_BAD_REQUEST, "at most %d records", MAX_RECORDS);
    size_t i;
    json_t *record;
    json_array_foreach(records, i, record) {
        char *text = json_is_object(record) ? json_dumps(record, JSON_COMPACT) : NULL;
        SlValue v;
        char why[256];
        bool ok = text && sl_json_decode(p->in, text, strlen(text), &v, why, sizeof why);
        free(text);
        if (!ok) return failed(p, MHD_HTTP_BAD_REQUEST, "records[%zu] is not an object", i);
        sl_map_merge(p->in, &sl_batch_add(p->in)->fields, &v);
    }
    return true;
}

/* Calls the function on every record as one window. */
static bool call(Preview *p)
{
    Segment segment = { .batch = p->in, .refs = 1 };
    WindowRef *refs = calloc(p->in->count + 1, sizeof *refs);
    if (!refs) abort();
    for (uint32_t i = 0; i < p->in->count; i++) refs[i] = (WindowRef){ &segment, i };
    Window window = { .refs = refs, .count = p->in->count, .cap = p->in->count };
    columnar_encode(&p->codec, &window, NULL, 0);
    const uint8_t *out;
    size_t len;
    sfn_error err;
    char why[600];
    bool ok = sfn_call(p->instance, (const uint8_t *)p->codec.json.data, p->codec.json.len,
                       &out, &len, &err) == 0
                  ? columnar_decode(&p->codec, p->out, (const char *)out, len, &window, NULL,
                                    why, sizeof why) ||
                        failed(p, MHD_HTTP_UNPROCESSABLE_CONTENT, "function %s: output: %s",
                               sfn_module_name(p->module), why)
                  : function_failed(p, &err);
    free(refs);
    return ok;
}

static json_t *output_records(const SlBatch *out)
{
    json_t *list = json_array();
    SlBuf text = { 0 };
    for (uint32_t i = 0; i < out->count; i++) {
        text.len = 0;
        sl_json_record(&text, &out->records[i]);
        json_t *record = json_loadb(text.data, text.len, 0, NULL);
        json_array_append_new(list, record ? record : json_object());
    }
    sl_buf_free(&text);
    return list;
}

enum MHD_Result preview(struct MHD_Connection *c, const char *body, size_t len,
                        const char *registry_url, const char *cache_dir)
{
    json_error_t jerr;
    Preview p = { .request = json_loadb(body, len, 0, &jerr), .logs = json_array(),
                  .in = sl_batch_new(), .out = sl_batch_new() };
    bool ok = p.request ? json_is_object(p.request) ||
                              failed(&p, MHD_HTTP_BAD_REQUEST, "the body must be a JSON object")
                        : failed(&p, MHD_HTTP_BAD_REQUEST, "the body is not JSON: %s at line %d, "
                                 "column %d", jerr.text, jerr.line, jerr.column);
    ok = ok && load_module(&p, registry_url, cache_dir) && instantiate(&p) && read_records(&p) &&
         call(&p);
    json_t *answer = ok ? json_pack("{s:o}", "records", output_records(p.out))
                        : http_error_doc("%s", p.error);
    json_object_set(answer, "logs", p.logs);
    if (p.instance) sfn_instance_free(p.instance);
    if (p.module) sfn_module_free(p.module);
    columnar_free(&p.codec);
    sl_batch_free(p.in);
    sl_batch_free(p.out);
    json_decref(p.logs);
    json_decref(p.request);
    return http_send_json(c, ok ? MHD_HTTP_OK : p.status, answer);
}
