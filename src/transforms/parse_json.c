/*
** parse_json.c: the `parse_json` transform: parses a text field (by default
** `message`) as JSON. An object's members become fields of the record (or,
** with `target`, the value goes into that one field). Text that is not
** JSON, or not an object without a target, is rejected to NAME.errors.
*/
#include "../pipeline/component.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const SlSetting settings[] = {
    { .name = "field", .type = SL_SET_STRING, .def = "message",
      .doc = "The field holding the JSON text." },
    { .name = "target", .type = SL_SET_STRING,
      .doc = "Put the parsed value in this field instead of merging an object's members." },
    { .name = "keep_original", .type = SL_SET_BOOL, .def = "false",
      .doc = "Keep the text field after parsing." },
    { 0 },
};

typedef struct ParseJson {
    const char *field, *target;
    size_t field_len;
    bool keep_original;
} ParseJson;

static int init(SlCtx *ctx, const SlConf *conf)
{
    ParseJson *p = calloc(1, sizeof *p);
    if (!p) return -1;
    p->field = sl_conf_str(conf, "field", "message");
    p->field_len = strlen(p->field);
    p->target = sl_conf_str(conf, "target", NULL);
    p->keep_original = sl_conf_bool(conf, "keep_original", false);
    sl_set_state(ctx, p);
    return 0;
}

static SlValue convert(SlBatch *b, json_t *j);

static void convert_object(SlBatch *b, SlMap *map, json_t *j)
{
    const char *key;
    json_t *value;
    json_object_foreach(j, key, value) {
        size_t len = strlen(key);
        *sl_map_set(b, map, sl_copy_str(b, key, len), len) = convert(b, value);
    }
}

static SlValue convert(SlBatch *b, json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        SlValue v = sl_map(b);
        convert_object(b, v.as.map, j);
        return v;
    }
    case JSON_ARRAY: {
        SlValue v = sl_array(b, (uint32_t)json_array_size(j));
        for (uint32_t i = 0; i < v.len; i++) v.as.items[i] = convert(b, json_array_get(j, i));
        return v;
    }
    case JSON_STRING: {
        size_t len = json_string_length(j);
        return sl_str(sl_copy_str(b, json_string_value(j), len), len);
    }
    case JSON_INTEGER: return sl_int(json_integer_value(j));
    case JSON_REAL: return sl_float(json_real_value(j));
    case JSON_TRUE: return sl_bool(true);
    case JSON_FALSE: return sl_bool(false);
    default: return sl_null();
    }
}

static const char *parse_one(const ParseJson *p, SlBatch *b, SlRecord *r, char *why, size_t size)
{
    const SlValue *text = sl_map_get(&r->fields, p->field, p->field_len);
    if (!text) return "no such field";
    if (text->type != SL_STRING) return "the field is not a string";
    json_error_t error;
    json_t *j = json_loadb(text->as.s, text->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
    if (!j) {
        snprintf(why, size, "not JSON: %s at character %d", error.text, error.position);
        return why;
    }
    if (!p->target && !json_is_object(j)) {
        json_decref(j);
        return "not a JSON object (set 'target' to keep other values)";
    }
    if (!p->keep_original) sl_map_remove(&r->fields, p->field, p->field_len);
    if (p->target) *sl_set(b, r, p->target) = convert(b, j);
    else convert_object(b, &r->fields, j);
    json_decref(j);
    return NULL;
}

static void process(SlCtx *ctx, SlBatch *b)
{
    const ParseJson *p = sl_state(ctx);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < b->count; i++) {
        char why[256];
        const char *reason = parse_one(p, b, &b->records[i], why, sizeof why);
        if (reason) sl_reject(ctx, b, i, "%s", reason);
        else b->records[kept++] = b->records[i];
    }
    b->count = kept;
    sl_emit(ctx, b);
}

const SlComponentType sl_transform_parse_json = {
    .name = "parse_json",
    .kind = SL_TRANSFORM,
    .doc = "Parses a JSON text field into fields.",
    .settings = settings,
    .init = init,
    .process = process,
    .destroy = free,
};
