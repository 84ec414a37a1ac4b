/*
** schema.c: checks settings nodes against SlSetting tables (schema.h),
** reporting every problem with its position.
*/
#include "schema.h"

#include <string.h>

static const char *kind_name(SlConfKind k)
{
    return k == SL_CONF_MAP ? "a map" : k == SL_CONF_SEQ ? "a list" : "a scalar";
}

static const char *where(const SlSetting *s)
{
    return s->name ? s->name : "item";
}

static int check_value(const SlSetting *s, const SlConf *node, SlDiag *d);

static int check_scalar(const SlSetting *s, const SlConf *node, SlDiag *d)
{
    if (node->kind != SL_CONF_SCALAR) {
        sl_diag_at(d, node, false, "'%s' must be a %s, not %s", where(s),
                   s->type == SL_SET_STRING ? "string" : s->type == SL_SET_SCALAR ? "scalar"
                   : s->type == SL_SET_INT ? "integer"
                   : s->type == SL_SET_FLOAT ? "number" : "boolean",
                   kind_name(node->kind));
        return 1;
    }
    int64_t i;
    double f;
    bool b;
    switch (s->type) {
    case SL_SET_INT:
        if (!sl_scalar_int(node->text, &i)) {
            sl_diag_at(d, node, false, "'%s' must be an integer, not '%s'", where(s), node->text);
            return 1;
        }
        if (s->max > s->min && (i < s->min || i > s->max)) {
            sl_diag_at(d, node, false, "'%s' must be between %lld and %lld, not %lld",
                       where(s), (long long)s->min, (long long)s->max, (long long)i);
            return 1;
        }
        return 0;
    case SL_SET_FLOAT:
        if (!sl_scalar_float(node->text, &f)) {
            sl_diag_at(d, node, false, "'%s' must be a number, not '%s'", where(s), node->text);
            return 1;
        }
        return 0;
    case SL_SET_BOOL:
        if (!sl_scalar_bool(node->text, &b)) {
            sl_diag_at(d, node, false, "'%s' must be true or false, not '%s'", where(s), node->text);
            return 1;
        }
        return 0;
    default:
        break;
    }
    if (!s->choices) return 0;
    for (const char *const *c = s->choices; *c; c++)
        if (!strcmp(*c, node->text)) return 0;
    char list[512] = "";
    for (const char *const *c = s->choices; *c; c++) {
        strncat(list, c == s->choices ? "" : ", ", sizeof list - strlen(list) - 1);
        strncat(list, *c, sizeof list - strlen(list) - 1);
    }
    sl_diag_at(d, node, false, "'%s' must be one of %s, not '%s'", where(s), list, node->text);
    return 1;
}

static bool skipped(const char *key, const char *const *skip)
{
    for (; skip && *skip; skip++)
        if (!strcmp(*skip, key)) return true;
    return false;
}

static const SlSetting *find(const SlSetting *settings, const char *key)
{
    for (const SlSetting *s = settings; s && s->name; s++)
        if (!strcmp(s->name, key)) return s;
    return NULL;
}

int sl_schema_check(const SlSetting *settings, const SlConf *node,
                    const char *const *skip, SlDiag *d)
{
    if (node->kind != SL_CONF_MAP) {
        sl_diag_at(d, node, false, "expected a map of settings, found %s", kind_name(node->kind));
        return 1;
    }
    int problems = 0;
    for (size_t i = 0; i < node->count; i++) {
        const SlConf *member = node->items[i];
        if (skipped(member->key, skip)) continue;
        const SlSetting *s = find(settings, member->key);
        if (!s) {
            sl_diag_at(d, member, true, "unknown key '%s'", member->key);
            problems++;
        } else if (sl_scalar_null(member) && s->required) {
            sl_diag_at(d, member, true, "'%s' needs a value", member->key);
            problems++;
        } else if (!sl_scalar_null(member)) {
            problems += check_value(s, member, d);
        }
    }
    for (const SlSetting *s = settings; s && s->name; s++) {
        if (s->required && !sl_conf_get(node, s->name)) {
            sl_diag_at(d, node, false, "missing required key '%s'", s->name);
            problems++;
        }
    }
    return problems;
}

static int check_items(const SlSetting *s, const SlConf *node, SlConfKind kind, SlDiag *d)
{
    if (node->kind != kind) {
        sl_diag_at(d, node, false, "'%s' must be %s, not %s", where(s),
                   kind_name(kind), kind_name(node->kind));
        return 1;
    }
    int problems = 0;
    for (size_t i = 0; i < node->count && s->item; i++)
        problems += check_value(s->item, node->items[i], d);
    return problems;
}

static int check_value(const SlSetting *s, const SlConf *node, SlDiag *d)
{
    switch (s->type) {
    case SL_SET_ANY:
        return 0;
    case SL_SET_LIST:
        return check_items(s, node, SL_CONF_SEQ, d);
    case SL_SET_MAP:
        return check_items(s, node, SL_CONF_MAP, d);
    case SL_SET_OBJECT:
        return sl_schema_check(s->fields, node, NULL, d);
    default:
        return check_scalar(s, node, d);
    }
}
