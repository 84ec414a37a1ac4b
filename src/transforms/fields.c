/*
** fields.c: the `fields` transform: renames, removes, sets and casts
** top-level fields, in that order. A cast that fails rejects the record to
** NAME.errors (as it was at that point) with the reason.
*/
#include "../pipeline/component.h"
#include "../pipeline/convert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const SlSetting settings[] = {
    { .name = "rename", .type = SL_SET_MAP, .item = &(const SlSetting){ .type = SL_SET_STRING },
      .doc = "Old name to new name." },
    { .name = "remove", .type = SL_SET_LIST, .item = &(const SlSetting){ .type = SL_SET_STRING },
      .doc = "Fields to remove." },
    { .name = "set", .type = SL_SET_MAP, .item = &(const SlSetting){ .type = SL_SET_SCALAR },
      .doc = "Field to constant value: numbers, true/false and null keep their type; quote for a string." },
    { .name = "cast", .type = SL_SET_MAP,
      .item = &(const SlSetting){ .type = SL_SET_STRING, .choices = sl_type_choices },
      .doc = "Field to type: string, int, float, bool, timestamp." },
    { 0 },
};

/* One operation; names point into the pipeline's settings, which outlive
** every batch. */
typedef struct Op {
    const char *name, *to;
    size_t name_len, to_len;
    SlValue value;
    SlType type;
} Op;

typedef struct Fields {
    Op *ops[4];
    size_t count[4];
} Fields;

enum { RENAME, REMOVE, SET, CAST };

static void load(Fields *f, int which, const SlConf *list)
{
    if (!list || sl_scalar_null(list)) return;
    f->ops[which] = calloc(list->count ? list->count : 1, sizeof(Op));
    if (!f->ops[which]) abort();
    for (size_t i = 0; i < list->count; i++) {
        const SlConf *c = list->items[i];
        Op *op = &f->ops[which][f->count[which]++];
        op->name = which == REMOVE ? c->text : c->key;
        op->name_len = strlen(op->name);
        if (which == RENAME) op->to = c->text, op->to_len = strlen(c->text);
        if (which == SET) op->value = sl_conf_value(c);
        if (which == CAST) sl_type_parse(c->text, &op->type);
    }
}

static void destroy(void *state)
{
    Fields *f = state;
    for (int i = 0; i < 4; i++) free(f->ops[i]);
    free(f);
}

static int init(SlCtx *ctx, const SlConf *conf)
{
    Fields *f = calloc(1, sizeof *f);
    if (!f) return -1;
    sl_set_state(ctx, f);
    load(f, RENAME, sl_conf_get(conf, "rename"));
    load(f, REMOVE, sl_conf_get(conf, "remove"));
    load(f, SET, sl_conf_get(conf, "set"));
    load(f, CAST, sl_conf_get(conf, "cast"));
    if (!f->count[RENAME] && !f->count[REMOVE] && !f->count[SET] && !f->count[CAST]) {
        sl_conf_error(ctx, conf, "nothing to do: give rename, remove, set or cast");
        return -1;
    }
    return 0;
}

static const char *apply(void *state, SlBatch *b, SlRecord *r, char *why, size_t size)
{
    const Fields *f = state;
    for (size_t i = 0; i < f->count[RENAME]; i++) {
        const Op *op = &f->ops[RENAME][i];
        sl_map_rename(&r->fields, op->name, op->name_len, op->to, op->to_len);
    }
    for (size_t i = 0; i < f->count[REMOVE]; i++)
        sl_map_remove(&r->fields, f->ops[REMOVE][i].name, f->ops[REMOVE][i].name_len);
    for (size_t i = 0; i < f->count[SET]; i++) {
        const Op *op = &f->ops[SET][i];
        *sl_map_set(b, &r->fields, op->name, op->name_len) = op->value;
    }
    for (size_t i = 0; i < f->count[CAST]; i++) {
        const Op *op = &f->ops[CAST][i];
        SlValue *v = sl_map_get(&r->fields, op->name, op->name_len);
        const char *problem;
        SlValue converted;
        if (!v) continue;
        if (sl_convert(b, v, op->type, &converted, &problem)) {
            *v = converted;
            continue;
        }
        if (v->type == SL_STRING)
            snprintf(why, size, "field '%s': '%.*s' %s %s", op->name,
                     (int)(v->len > 64 ? 64 : v->len), v->as.s, problem, sl_type_name(op->type));
        else
            snprintf(why, size, "field '%s': a %s %s %s", op->name, sl_type_name(v->type),
                     problem, sl_type_name(op->type));
        return why;
    }
    return NULL;
}

static void process(SlCtx *ctx, SlBatch *b)
{
    sl_keep_valid(ctx, b, apply, sl_state(ctx));
    sl_emit(ctx, b);
}

const SlComponentType sl_transform_fields = {
    .name = "fields",
    .kind = SL_TRANSFORM,
    .doc = "Renames, removes, sets and casts fields.",
    .settings = settings,
    .init = init,
    .process = process,
    .destroy = destroy,
};
