/*
** yamljson.c: turning a libyaml document into JSON following YAML's core
** schema (interface in yamljson.h).
*/
#include "yamljson.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Converter {
    yaml_document_t *doc;
    int max_depth;
    YamlJsonError *err;
} Converter;

static json_t *fail(Converter *c, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records what is wrong with node at; returns NULL. */
static json_t *fail(Converter *c, const yaml_node_t *at, const char *fmt, ...)
{
    c->err->line = at->start_mark.line + 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err->message, sizeof c->err->message, fmt, ap);
    va_end(ap);
    return NULL;
}

static bool word_in(const char *text, const char *const *words)
{
    for (; *words; words++)
        if (!strcmp(text, *words)) return true;
    return false;
}

/* A plain (unquoted) scalar as YAML's core schema reads it. */
static json_t *plain_scalar(const char *text)
{
    static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
    static const char *const trues[] = { "true", "True", "TRUE", NULL };
    static const char *const falses[] = { "false", "False", "FALSE", NULL };
    if (word_in(text, nulls)) return json_null();
    if (word_in(text, trues)) return json_true();
    if (word_in(text, falses)) return json_false();
    size_t len = strlen(text);
    char *end;
    errno = 0;
    if (strspn(text, "+-0123456789") == len) {
        long long i = strtoll(text, &end, 10);
        if (!*end && !errno) return json_integer(i);
    }
    if (strspn(text, "+-.0123456789eE") == len) {
        double d = strtod(text, &end);
        if (!*end) return json_real(d);
    }
    return json_string(text);
}

static json_t *node_to_json(Converter *c, yaml_node_t *node, int depth);

static json_t *sequence_to_json(Converter *c, yaml_node_t *node, int depth)
{
    json_t *array = json_array();
    for (yaml_node_item_t *it = node->data.sequence.items.start;
         array && it < node->data.sequence.items.top; it++) {
        json_t *item = node_to_json(c, yaml_document_get_node(c->doc, *it),
                                    depth + 1);
        if (!item || json_array_append_new(array, item)) {
            json_decref(array);
            return NULL;
        }
    }
    return array;
}

static json_t *mapping_to_json(Converter *c, yaml_node_t *node, int depth)
{
    json_t *object = json_object();
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         object && p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *key = yaml_document_get_node(c->doc, p->key);
        if (key->type != YAML_SCALAR_NODE) {
            json_decref(object);
            return fail(c, key, "a key must be a string");
        }
        json_t *value = node_to_json(c, yaml_document_get_node(c->doc, p->value),
                                     depth + 1);
        if (!value || json_object_set_new(object, (const char *)key->data.scalar.value,
                                          value)) {
            json_decref(object);
            return NULL;
        }
    }
    return object;
}

static json_t *node_to_json(Converter *c, yaml_node_t *node, int depth)
{
    if (depth > c->max_depth)
        return fail(c, node, "nested more than %d levels deep", c->max_depth);
    switch (node->type) {
    case YAML_SCALAR_NODE:
        if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            return plain_scalar((const char *)node->data.scalar.value);
        return json_stringn((const char *)node->data.scalar.value,
                            node->data.scalar.length);
    case YAML_SEQUENCE_NODE:
        return sequence_to_json(c, node, depth);
    case YAML_MAPPING_NODE:
        return mapping_to_json(c, node, depth);
    default:
        return fail(c, node, "empty node");
    }
}

json_t *yaml_to_json(yaml_document_t *doc, yaml_node_t *node, int max_depth,
                     YamlJsonError *err)
{
    Converter c = { doc, max_depth, err };
    *err = (YamlJsonError){ .line = node->start_mark.line + 1 };
    return node_to_json(&c, node, 0);
}
