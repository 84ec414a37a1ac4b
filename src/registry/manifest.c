/*
** manifest.c: reading, checking and writing manifest.yaml (manifest.h).
**
** The YAML is loaded with libyaml and turned into JSON following YAML's core
** schema (src/common/yamljson.c), then every field is checked against the rules below.
*/
#include "manifest.h"
#include "../common/yamljson.h"

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

/* ---- Loading ------------------------------------------------------------ */

/* The JSON of the manifest's root mapping; NULL after writing why in err. */
static json_t *convert(yaml_document_t *yaml, yaml_node_t *root, char *err,
                       size_t errlen)
{
    YamlJsonError why;
    json_t *doc = yaml_to_json(yaml, root, MAX_DEPTH, &why);
    if (!doc && why.message[0]) fail(err, errlen, "line %zu: %s", why.line, why.message);
    return doc;
}

static json_t *load_yaml(const char *text, size_t len, char *err, size_t errlen)
{
    yaml_document_t yaml;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        fail(err, errlen, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    json_t *doc = NULL;
    if (!yaml_parser_load(&parser, &yaml)) {
        fail(err, errlen, "line %zu: %s", parser.problem_mark.line + 1,
             parser.problem ? parser.problem : "not YAML");
    } else {
        yaml_node_t *root = yaml_document_get_root_node(&yaml);
        if (!root || root->type != YAML_MAPPING_NODE)
            fail(err, errlen, "the manifest must be a YAML mapping");
        else
            doc = convert(&yaml, root, err, errlen);
        yaml_document_delete(&yaml);
    }
    yaml_parser_delete(&parser);
    return doc;
}

/* ---- Checking ---------------------------------------------------------- */

static bool word_in(const char *text, const char *const *words)
{
    for (; *words; words++)
        if (!strcmp(text, *words)) return true;
    return false;
}

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
