/*
** jsonschema.c: the pipeline file format as a JSON Schema (draft 2020-12),
** generated from the registry and each component's settings table, for
** editors: completion, hover documentation, first-level checking. The
** authority stays `sluice validate` (it also checks the graph, ${ENV} and
** what each component's init checks).
*/
#include "component.h"
#include "diskbuffer.h"
#include "pipeline.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static json_t *setting_schema(const SlSetting *s);

static json_t *object_schema(const SlSetting *fields, json_t *properties, json_t *required)
{
    for (const SlSetting *f = fields; f && f->name; f++) {
        json_object_set_new(properties, f->name, setting_schema(f));
        if (f->required) json_array_append_new(required, json_string(f->name));
    }
    return json_pack("{s:s, s:o, s:o, s:b}", "type", "object", "properties", properties,
                     "required", required, "additionalProperties", 0);
}

/* A scalar may always be written as a ${VAR} reference instead. */
static json_t *or_variable(json_t *schema)
{
    return json_pack("{s:[o, {s:s, s:s}]}", "anyOf", schema, "type", "string",
                     "pattern", "\\$\\{");
}

static json_t *scalar_schema(const SlSetting *s)
{
    json_t *schema = json_object();
    static const char *const types[] = { [SL_SET_STRING] = "string", [SL_SET_INT] = "integer",
                                         [SL_SET_FLOAT] = "number", [SL_SET_BOOL] = "boolean" };
    json_object_set_new(schema, "type", json_string(types[s->type]));
    if (s->type == SL_SET_INT && s->max > s->min) {
        json_object_set_new(schema, "minimum", json_integer(s->min));
        json_object_set_new(schema, "maximum", json_integer(s->max));
    }
    if (s->choices) {
        json_t *choices = json_array();
        for (const char *const *c = s->choices; *c; c++) json_array_append_new(choices, json_string(*c));
        json_object_set_new(schema, "enum", choices);
    }
    return s->type == SL_SET_STRING && !s->choices ? schema : or_variable(schema);
}

static json_t *setting_schema(const SlSetting *s)
{
    json_t *schema;
    switch (s->type) {
    case SL_SET_LIST:
        schema = json_pack("{s:s}", "type", "array");
        if (s->item) json_object_set_new(schema, "items", setting_schema(s->item));
        break;
    case SL_SET_MAP:
        schema = json_pack("{s:s}", "type", "object");
        if (s->item) json_object_set_new(schema, "additionalProperties", setting_schema(s->item));
        break;
    case SL_SET_OBJECT:
        schema = object_schema(s->fields, json_object(), json_array());
        break;
    case SL_SET_ANY:
        schema = json_object();
        break;
    case SL_SET_SCALAR:
        schema = json_pack("{s:[s, s, s, s]}", "type", "string", "number", "boolean", "null");
        break;
    default:
        schema = scalar_schema(s);
    }
    if (s->doc) json_object_set_new(schema, "description", json_string(s->doc));
    if (s->def) json_object_set_new(schema, "default", json_string(s->def));
    return schema;
}

static json_t *component_schema(const SlComponentType *t)
{
    json_t *properties = json_object(), *required = json_array();
    json_object_set_new(properties, "type", json_pack("{s:s}", "const", t->name));
    json_array_append_new(required, json_string("type"));
    if (t->kind != SL_SOURCE) {
        json_object_set_new(properties, "inputs", json_pack(
            "{s:s, s:{s:s}, s:i, s:s}", "type", "array", "items", "type", "string", "minItems", 1,
            "description", "Components to read from; NAME.errors reads what NAME rejected."));
        json_array_append_new(required, json_string("inputs"));
    }
    if (t->kind == SL_SINK)
        json_object_set_new(properties, "buffer", setting_schema(&sl_buffer_setting));
    json_t *schema = object_schema(t->settings, properties, required);
    json_object_set_new(schema, "description", json_string(t->doc));
    return schema;
}

static json_t *section_schema(SlKind kind)
{
    json_t *variants = json_array();
    for (const SlComponentType *const *t = sl_component_all(); *t; t++)
        if ((*t)->kind == kind) json_array_append_new(variants, component_schema(*t));
    return json_pack("{s:s, s:{s:s}, s:{s:o}}", "type", "object", "propertyNames", "pattern",
                     "^[A-Za-z0-9_-]+$", "additionalProperties", "oneOf", variants);
}

char *sl_component_json_schema(const SlComponentType *t)
{
    json_t *schema = component_schema(t);
    char *text = json_dumps(schema, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(schema);
    return text;
}

char *sl_pipeline_json_schema(void)
{
    json_t *schema = json_pack(
        "{s:s, s:s, s:s, s:{s:o, s:o, s:o}, s:[s, s], s:b}",
        "$schema", "https://json-schema.org/draft/2020-12/schema",
        "title", "Sluice pipeline",
        "type", "object",
        "properties", "sources", section_schema(SL_SOURCE),
        "transforms", section_schema(SL_TRANSFORM), "sinks", section_schema(SL_SINK),
        "required", "sources", "sinks",
        "additionalProperties", 0);
    char *text = json_dumps(schema, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(schema);
    return text;
}
