/*
** manifest.c: reading, checking and writing manifest.yaml (manifest.h).
**
** The YAML is loaded with libyaml and turned into JSON following YAML's core
** schema (plain scalars may be numbers, booleans or null; quoted ones are
** strings), then every field is checked against the rules below.
*/
#include "manifest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum { MAX_DEPTH = 64, MAX_TEXT = 4096, MAX_ENTRY = 64 };

static bool fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(char *err, size_t errlen, const char *fmt, ...)
{
    int n = snprintf(err, errlen, "manifest.yaml: ");
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < errlen) vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

/* ---- YAML to JSON ------------------------------------------------------ */

typedef struct Loader {
    yaml_document_t doc;
    char *err;
    size_t errlen;
} Loader;

static bool word_in(const char *text, const char *const *words)
{
    for (; *words; words++)
        if (!strcmp(text, *words)) return true;
    return false;
}

/* A plain scalar under YAML's core schema. */
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

static json_t *node_to_json(Loader *l, yaml_node_t *node, int depth);

static json_t *sequence_to_json(Loader *l, yaml_node_t *node, int depth)
{
    json_t *array = json_array();
    for (yaml_node_item_t *it = node->data.sequence.items.start;
         array && it < node->data.sequence.items.top; it++) {
        json_t *item = node_to_json(l, yaml_document_get_node(&l->doc, *it), depth + 1);
        if (!item || json_array_append_new(array, item)) {
            json_decref(array);
            return NULL;
        }
    }
    return array;
}

static json_t *mapping_to_json(Loader *l, yaml_node_t *node, int depth)
{
    json_t *object = json_object();
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         object && p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *key = yaml_document_get_node(&l->doc, p->key);
        if (key->type != YAML_SCALAR_NODE) {
            fail(l->err, l->errlen, "line %zu: a key must be a string",
                 key->start_mark.line + 1);
            json_decref(object);
            return NULL;
        }
        json_t *value = node_to_json(l, yaml_document_get_node(&l->doc, p->value), depth + 1);
        if (!value || json_object_set_new(object, (const char *)key->data.scalar.value, value)) {
            json_decref(object);
            return NULL;
        }
    }
    return object;
}

static json_t *node_to_json(Loader *l, yaml_node_t *node, int depth)
{
    if (depth > MAX_DEPTH) {
        fail(l->err, l->errlen, "line %zu: nested more than %d levels deep",
             node->start_mark.line + 1, MAX_DEPTH);
        return NULL;
    }
    switch (node->type) {
    case YAML_SCALAR_NODE:
        if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            return plain_scalar((const char *)node->data.scalar.value);
        return json_stringn((const char *)node->data.scalar.value, node->data.scalar.length);
    case YAML_SEQUENCE_NODE:
        return sequence_to_json(l, node, depth);
    case YAML_MAPPING_NODE:
        return mapping_to_json(l, node, depth);
    default:
        fail(l->err, l->errlen, "line %zu: empty node", node->start_mark.line + 1);
        return NULL;
    }
}

static json_t *load_yaml(const char *text, size_t len, char *err, size_t errlen)
{
    Loader l = { .err = err, .errlen = errlen };
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        fail(err, errlen, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    json_t *doc = NULL;
    if (!yaml_parser_load(&parser, &l.doc)) {
        fail(err, errlen, "line %zu: %s", parser.problem_mark.line + 1,
             parser.problem ? parser.problem : "not YAML");
    } else {
        yaml_node_t *root = yaml_document_get_root_node(&l.doc);
        if (!root || root->type != YAML_MAPPING_NODE)
            fail(err, errlen, "the manifest must be a YAML mapping");
        else
            doc = node_to_json(&l, root, 0);
        yaml_document_delete(&l.doc);
    }
    yaml_parser_delete(&parser);
    return doc;
}

/* ---- Checking ---------------------------------------------------------- */

static const char *const known_keys[] = {
    "name", "version", "description", "language", "abi", "entry",
    "input_schema", "output_schema", "config", "limits", "license",
    "authors", NULL
};
static const char *const limit_keys[] = {
    "fuel", "timeout_ms", "max_memory_mib", "max_output", NULL
};

/* The string field key ("" when absent and optional). */
static bool text_field(json_t *doc, const char *key, bool required,
                       const char **out, char *err, size_t errlen)
{
    json_t *v = json_object_get(doc, key);
    *out = "";
    if (!v) return !required || fail(err, errlen, "missing field '%s'", key);
    if (!json_is_string(v))
        return fail(err, errlen, "'%s' must be a string%s", key,
                    strcmp(key, "version") ? "" : " such as 1.2.0 (quote it if YAML reads a number)");
    if (json_string_length(v) > MAX_TEXT || strlen(json_string_value(v)) != json_string_length(v))
        return fail(err, errlen, "'%s' is too long or holds a NUL byte", key);
    *out = json_string_value(v);
    return true;
}

static bool object_field(json_t *doc, const char *key, char *err, size_t errlen)
{
    json_t *v = json_object_get(doc, key);
    return !v || json_is_object(v) ||
           fail(err, errlen, "'%s' must be a mapping (a JSON object)", key);
}

static bool authors_valid(json_t *doc, char *err, size_t errlen)
{
    json_t *authors = json_object_get(doc, "authors");
    if (!authors) return true;
    size_t i;
    json_t *a;
    bool ok = json_is_array(authors);
    json_array_foreach(authors, i, a) ok = ok && json_is_string(a);
    return ok || fail(err, errlen, "'authors' must be a list of strings");
}

static bool limits_valid(json_t *doc, char *err, size_t errlen)
{
    json_t *limits = json_object_get(doc, "limits");
    if (!limits) return true;
    if (!json_is_object(limits))
        return fail(err, errlen, "'limits' must be a mapping");
    const char *key;
    json_t *v;
    json_object_foreach(limits, key, v) {
        if (!word_in(key, limit_keys))
            return fail(err, errlen, "unknown limit '%s' (known: fuel, "
                        "timeout_ms, max_memory_mib, max_output)", key);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return fail(err, errlen, "limit '%s' must be a non-negative integer", key);
    }
    return true;
}

/* A plain file name ending in .wasm: no directory, nothing hidden. */
static bool entry_valid(const char *entry, char *err, size_t errlen)
{
    size_t len = strlen(entry);
    bool ok = len > 5 && len <= MAX_ENTRY && entry[0] != '.' &&
              !strcmp(entry + len - 5, ".wasm") &&
              strspn(entry, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            "0123456789._-") == len;
    return ok || fail(err, errlen, "'entry' must be a plain file name ending "
                      "in .wasm, such as module.wasm (got '%.80s')", entry);
}

static bool keys_known(json_t *doc, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v)
        if (!word_in(key, known_keys)) return fail(err, errlen, "unknown field '%.80s'", key);
    return true;
}

static bool check(Manifest *m, char *err, size_t errlen)
{
    json_t *doc = m->doc;
    const char *name, *version;
    char why[256];
    if (!keys_known(doc, err, errlen) ||
        !text_field(doc, "name", true, &name, err, errlen) ||
        !text_field(doc, "version", true, &version, err, errlen))
        return false;
    if (!registry_name_valid(name, why, sizeof why) ||
        !registry_version_valid(version, why, sizeof why))
        return fail(err, errlen, "%s", why);
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->version, sizeof m->version, "%s", version);
    json_t *abi = json_object_get(doc, "abi");
    if (!abi) return fail(err, errlen, "missing field 'abi' (the function ABI version, 1)");
    if (!json_is_integer(abi) || json_integer_value(abi) != 1)
        return fail(err, errlen, "'abi' must be 1, the only ABI version this Sluice knows");
    m->abi = 1;
    return text_field(doc, "entry", true, &m->entry, err, errlen) &&
           entry_valid(m->entry, err, errlen) &&
           text_field(doc, "description", false, &m->description, err, errlen) &&
           text_field(doc, "language", false, &m->language, err, errlen) &&
           text_field(doc, "license", false, &m->license, err, errlen) &&
           object_field(doc, "config", err, errlen) &&
           object_field(doc, "input_schema", err, errlen) &&
           object_field(doc, "output_schema", err, errlen) &&
           authors_valid(doc, err, errlen) && limits_valid(doc, err, errlen);
}

Manifest *manifest_from_json(json_t *doc, char *err, size_t errlen)
{
    Manifest *m = calloc(1, sizeof *m);
    if (!m) {
        fail(err, errlen, "out of memory");
        return NULL;
    }
    m->doc = json_incref(doc);
    if (!json_is_object(doc)) {
        fail(err, errlen, "the manifest must be a mapping");
        manifest_free(m);
        return NULL;
    }
    if (!check(m, err, errlen)) {
        manifest_free(m);
        return NULL;
    }
    return m;
}

Manifest *manifest_parse(const char *text, size_t len, char *err, size_t errlen)
{
    if (len > MANIFEST_MAX_BYTES) {
        fail(err, errlen, "larger than %d bytes", MANIFEST_MAX_BYTES);
        return NULL;
    }
    json_t *doc = load_yaml(text, len, err, errlen);
    if (!doc) return NULL;
    Manifest *m = manifest_from_json(doc, err, errlen);
    json_decref(doc);
    return m;
}

char *manifest_to_text(const Manifest *m)
{
    char *json = json_dumps(m->doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!json) return NULL;
    size_t len = strlen(json);
    char *text = realloc(json, len + 2);
    if (!text) {
        free(json);
        return NULL;
    }
    memcpy(text + len, "\n", 2);
    return text;
}

void manifest_free(Manifest *m)
{
    if (!m) return;
    json_decref(m->doc);
    free(m);
}
