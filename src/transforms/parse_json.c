/*
** parse_json.c: the `parse_json` transform: parses a text field (by default
** `message`) as JSON. An object's members become fields of the record (or,
** with `target`, the value goes into that one field). Text that is not
** JSON, or not an object without a target, is rejected to NAME.errors.
*/
#include "../pipeline/component.h"
#include "../pipeline/decode.h"

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

static const char *parse_one(void *state, SlBatch *b, SlRecord *r, char *why, size_t size)
{
    const ParseJson *p = state;
    const SlValue *text = sl_map_get(&r->fields, p->field, p->field_len);
    if (!text) return "no such field";
    if (text->type != SL_STRING) return "the field is not a string";
    SlValue value;
    if (!sl_json_decode(b, text->as.s, text->len, &value, why, size)) return why;
    if (!p->target && value.type != SL_MAP)
        return "not a JSON object (set 'target' to keep other values)";
    if (!p->keep_original) sl_map_remove(&r->fields, p->field, p->field_len);
    if (p->target) *sl_set(b, r, p->target) = value;
    else sl_map_merge(b, &r->fields, &value);
    return NULL;
}

static void process(SlCtx *ctx, SlBatch *b)
{
    sl_keep_valid(ctx, b, parse_one, sl_state(ctx));
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
