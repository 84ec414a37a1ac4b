/*
** config.c: loads a pipeline file into SlConf nodes (config.h) with libyaml,
** interpolating ${ENV} in scalars, and collects diagnostics.
*/
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum { MAX_DEPTH = 64 };

/* ---- Diagnostics ----------------------------------------------------- */

static void diag_vadd(SlDiag *d, const char *file, int line, int col,
                      const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t size = strlen(file) + strlen(msg) + 32;
    char *full = malloc(size);
    if (!full) abort();
    if (line > 0) snprintf(full, size, "%s:%d:%d: %s", file, line, col, msg);
    else snprintf(full, size, "%s: %s", file, msg); /* about the whole file */
    if (d->count == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->entries = realloc(d->entries, d->cap * sizeof *d->entries);
        if (!d->entries) abort();
    }
    d->entries[d->count++] = (SlDiagEntry){ line, col, full };
}

void sl_diag_add(SlDiag *d, const char *file, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(d, file, line, col, fmt, ap);
    va_end(ap);
}

void sl_diag_at(SlDiag *d, const SlConf *node, bool at_key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (at_key && node->key)
        diag_vadd(d, node->file, node->key_line, node->key_col, fmt, ap);
    else
        diag_vadd(d, node->file, node->line, node->col, fmt, ap);
    va_end(ap);
}

static int by_position(const void *a, const void *b)
{
    const SlDiagEntry *x = a, *y = b;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    return (x->col > y->col) - (x->col < y->col);
}

void sl_diag_sort(SlDiag *d)
{
    if (d->count) qsort(d->entries, d->count, sizeof *d->entries, by_position);
}

void sl_diag_print(SlDiag *d)
{
    sl_diag_sort(d);
    for (size_t i = 0; i < d->count; i++) fprintf(stderr, "%s\n", d->entries[i].text);
}

void sl_diag_free(SlDiag *d)
{
    for (size_t i = 0; i < d->count; i++) free(d->entries[i].text);
    free(d->entries);
    memset(d, 0, sizeof *d);
}

/* ---- ${ENV} interpolation -------------------------------------------- */

typedef struct Text {
    char *buf;
    size_t len, cap;
} Text;

static void text_add(Text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->buf = realloc(t->buf, t->cap);
        if (!t->buf) abort();
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = 0;
}

/* Replaces one ${...} starting at s (just after "${"); returns the length
** consumed after "${", or 0 if malformed. */
static size_t expand_var(const char *s, Text *out, const SlConf *at, SlDiag *d)
{
    const char *close = strchr(s, '}');
    if (!close) {
        sl_diag_at(d, at, false, "unterminated ${ in '%s'", at->text);
        return 0;
    }
    size_t name_len = strcspn(s, ":}");
    bool valid = name_len > 0 && !isdigit((unsigned char)s[0]);
    for (size_t i = 0; i < name_len; i++)
        valid = valid && (isalnum((unsigned char)s[i]) || s[i] == '_');
    if (!valid) {
        sl_diag_at(d, at, false, "bad environment variable name '${%.*s}'",
                   (int)(close - s), s);
        return 0;
    }
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)name_len, s);
    const char *value = getenv(name);
    const char *after = s + name_len;
    if (*after == ':') {
        if (after[1] != '-') {
            sl_diag_at(d, at, false, "bad ${%s...}: expected ':-' for a default", name);
            return 0;
        }
        if (!value || !*value) {
            text_add(out, after + 2, (size_t)(close - (after + 2)));
            return (size_t)(close - s) + 1;
        }
    } else if (!value) {
        sl_diag_at(d, at, false, "environment variable %s is not set "
                   "(use ${%s:-default} for a default)", name, name);
        return (size_t)(close - s) + 1;
    }
    text_add(out, value, strlen(value));
    return (size_t)(close - s) + 1;
}

/* On a problem the text stays as written, so that later checks do not
** pile up more errors about the same value. */
static char *interpolate(const char *raw, const SlConf *at, SlDiag *d)
{
    size_t problems = d->count;
    Text out = { 0 };
    text_add(&out, "", 0);
    for (const char *p = raw; *p;) {
        if (p[0] == '$' && p[1] == '$') {
            text_add(&out, "$", 1);
            p += 2;
        } else if (p[0] == '$' && p[1] == '{') {
            size_t used = expand_var(p + 2, &out, at, d);
            if (!used) break;
            p += 2 + used;
        } else {
            size_t n = strcspn(p + 1, "$") + 1;
            text_add(&out, p, n);
            p += n;
        }
    }
    if (d->count == problems) return out.buf;
    free(out.buf);
    char *copy = strdup(raw);
    if (!copy) abort();
    return copy;
}

/* ---- From libyaml's document to SlConf ------------------------------- */

typedef struct Loader {
    yaml_document_t *doc;
    const char *file;
    SlDiag *diag;
} Loader;

static SlConf *new_node(Loader *l, SlConfKind kind, const yaml_node_t *y)
{
    SlConf *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->kind = kind;
    c->file = l->file;
    c->line = (int)y->start_mark.line + 1;
    c->col = (int)y->start_mark.column + 1;
    return c;
}

static void add_item(SlConf *parent, SlConf *item)
{
    parent->items = realloc(parent->items, (parent->count + 1) * sizeof *parent->items);
    if (!parent->items) abort();
    parent->items[parent->count++] = item;
}

static SlConf *convert(Loader *l, yaml_node_t *y, int depth);

static SlConf *convert_map(Loader *l, yaml_node_t *y, int depth)
{
    SlConf *c = new_node(l, SL_CONF_MAP, y);
    for (yaml_node_pair_t *p = y->data.mapping.pairs.start;
         p < y->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
        if (!k || !v) continue;
        if (k->type != YAML_SCALAR_NODE) {
            sl_diag_add(l->diag, l->file, (int)k->start_mark.line + 1,
                        (int)k->start_mark.column + 1, "map keys must be plain text");
            continue;
        }
        const char *key = (const char *)k->data.scalar.value;
        if (sl_conf_get(c, key))
            sl_diag_add(l->diag, l->file, (int)k->start_mark.line + 1,
                        (int)k->start_mark.column + 1, "duplicate key '%s'", key);
        SlConf *member = convert(l, v, depth + 1);
        member->key = strdup(key);
        member->key_line = (int)k->start_mark.line + 1;
        member->key_col = (int)k->start_mark.column + 1;
        add_item(c, member);
    }
    return c;
}

static SlConf *convert(Loader *l, yaml_node_t *y, int depth)
{
    if (depth > MAX_DEPTH) {
        SlConf *c = new_node(l, SL_CONF_SCALAR, y);
        c->text = strdup("");
        sl_diag_at(l->diag, c, false, "nested too deeply");
        return c;
    }
    if (y->type == YAML_MAPPING_NODE) return convert_map(l, y, depth);
    if (y->type == YAML_SEQUENCE_NODE) {
        SlConf *c = new_node(l, SL_CONF_SEQ, y);
        for (yaml_node_item_t *i = y->data.sequence.items.start;
             i < y->data.sequence.items.top; i++) {
            yaml_node_t *item = yaml_document_get_node(l->doc, *i);
            if (item) add_item(c, convert(l, item, depth + 1));
        }
        return c;
    }
    SlConf *c = new_node(l, SL_CONF_SCALAR, y);
    c->text = (const char *)y->data.scalar.value;  /* for error messages */
    c->quoted = y->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    c->text = interpolate((const char *)y->data.scalar.value, c, l->diag);
    return c;
}

SlConf *sl_conf_load(const char *path, SlDiag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sl_diag_add(d, path, 0, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    SlConf *root = NULL;
    if (!yaml_parser_load(&parser, &doc)) {
        sl_diag_add(d, path, (int)parser.problem_mark.line + 1,
                    (int)parser.problem_mark.column + 1, "YAML: %s%s%s",
                    parser.problem ? parser.problem : "syntax error",
                    parser.context ? " " : "", parser.context ? parser.context : "");
    } else {
        yaml_node_t *top = yaml_document_get_root_node(&doc);
        if (!top)
            sl_diag_add(d, path, 1, 1, "the file is empty");
        else {
            Loader l = { &doc, strdup(path), d };
            root = convert(&l, top, 0);
        }
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return root;
}

static void conf_free(SlConf *c, bool owns_file)
{
    for (size_t i = 0; i < c->count; i++) conf_free(c->items[i], false);
    free(c->items);
    free((char *)c->text);
    free((char *)c->key);
    if (owns_file) free((char *)c->file);
    free(c);
}

void sl_conf_free(SlConf *root)
{
    if (root) conf_free(root, true);
}

/* ---- Reading --------------------------------------------------------- */

const SlConf *sl_conf_get(const SlConf *map, const char *key)
{
    if (!map || map->kind != SL_CONF_MAP) return NULL;
    for (size_t i = 0; i < map->count; i++)
        if (!strcmp(map->items[i]->key, key)) return map->items[i];
    return NULL;
}

static const SlConf *scalar(const SlConf *map, const char *key)
{
    const SlConf *c = sl_conf_get(map, key);
    return c && c->kind == SL_CONF_SCALAR && !sl_scalar_null(c) ? c : NULL;
}

const char *sl_conf_str(const SlConf *map, const char *key, const char *def)
{
    const SlConf *c = scalar(map, key);
    return c ? c->text : def;
}

int64_t sl_conf_int(const SlConf *map, const char *key, int64_t def)
{
    const SlConf *c = scalar(map, key);
    int64_t v;
    return c && sl_scalar_int(c->text, &v) ? v : def;
}

double sl_conf_float(const SlConf *map, const char *key, double def)
{
    const SlConf *c = scalar(map, key);
    double v;
    return c && sl_scalar_float(c->text, &v) ? v : def;
}

bool sl_conf_bool(const SlConf *map, const char *key, bool def)
{
    const SlConf *c = scalar(map, key);
    bool v;
    return c && sl_scalar_bool(c->text, &v) ? v : def;
}

bool sl_scalar_int(const char *text, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || errno || isspace((unsigned char)*text)) return false;
    *out = v;
    return true;
}

bool sl_scalar_float(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (!*text || *end || errno || isspace((unsigned char)*text) || !isfinite(v))
        return false;
    *out = v;
    return true;
}

bool sl_scalar_bool(const char *text, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on", "True", "TRUE", "Yes", "On" };
    static const char *const no[] = { "false", "no", "off", "False", "FALSE", "No", "Off" };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (!strcmp(text, yes[i])) return *out = true, true;
        if (!strcmp(text, no[i])) return *out = false, true;
    }
    return false;
}

bool sl_scalar_null(const SlConf *node)
{
    return node->kind == SL_CONF_SCALAR && !node->quoted &&
           (!strcmp(node->text, "") || !strcmp(node->text, "~") ||
            !strcmp(node->text, "null"));
}

SlValue sl_conf_value(const SlConf *scalar)
{
    int64_t i;
    double f;
    bool b;
    if (!scalar->quoted) {
        if (sl_scalar_null(scalar)) return sl_null();
        if (sl_scalar_int(scalar->text, &i)) return sl_int(i);
        if (sl_scalar_float(scalar->text, &f)) return sl_float(f);
        if (sl_scalar_bool(scalar->text, &b)) return sl_bool(b);
    }
    return sl_str(scalar->text, strlen(scalar->text));
}
