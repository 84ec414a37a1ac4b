/*
** columnar.c: records to columnar JSON and back, for the `function`
** transform (columnar.h); also what the binary form (colbinary.c) shares
** with it: the window's columns, field lookup, the key of keyed windows.
*/
#include "columnar.h"
#include "../pipeline/convert.h"
#include "../pipeline/decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *columnar_grow(void *items, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return items;
    size_t n = *cap ? *cap : 16;
    while (n < need) n *= 2;
    items = realloc(items, n * size);
    if (!items) abort();
    *cap = n;
    return items;
}

/* ---- Encoding -------------------------------------------------------- */

/* Records of one source share their field names' strings: comparing the
** pointers first spares most memcmp calls. */
static bool same_name(const char *a, uint32_t alen, const char *b, uint32_t blen)
{
    return alen == blen && (a == b || !memcmp(a, b, alen));
}

int32_t columnar_field_index(const SlMap *m, const ColumnName *n)
{
    for (uint32_t j = 0; j < m->count; j++)
        if (same_name(m->fields[j].name, m->fields[j].name_len, n->name, n->len)) return (int32_t)j;
    return -1;
}

const SlValue *columnar_field(const SlRecord *r, const ColumnName *n, uint32_t *hint)
{
    const SlMap *m = &r->fields;
    if (*hint < m->count && same_name(m->fields[*hint].name, m->fields[*hint].name_len, n->name, n->len))
        return &m->fields[*hint].value;
    int32_t j = columnar_field_index(m, n);
    if (j < 0) return NULL;
    *hint = (uint32_t)j;
    return &m->fields[j].value;
}

void columnar_add_name(Columnar *c, const char *name, uint32_t len)
{
    c->names = columnar_grow(c->names, &c->names_cap, c->nnames + 1, sizeof *c->names);
    c->names[c->nnames++] = (ColumnName){ name, len };
}

int32_t columnar_name_index(const Columnar *c, const char *name, uint32_t len)
{
    for (size_t k = 0; k < c->nnames; k++)
        if (same_name(c->names[k].name, c->names[k].len, name, len)) return (int32_t)k;
    return -1;
}

/* Every field name of the window's records, in order of first appearance. */
static void collect_names(Columnar *c, const Window *w)
{
    for (uint32_t i = 0; i < w->count; i++) {
        const SlMap *m = &window_record(w, i)->fields;
        for (uint32_t j = 0; j < m->count; j++) {
            ColumnName n = { m->fields[j].name, m->fields[j].name_len };
            bool known = (j < c->nnames && same_name(c->names[j].name, c->names[j].len, n.name, n.len))
                         || columnar_name_index(c, n.name, n.len) >= 0;
            if (!known) columnar_add_name(c, n.name, n.len);
        }
    }
}

static void encode_column(Columnar *c, const Window *w, const ColumnName *n, uint32_t hint)
{
    static const SlValue null = { .type = SL_NULL };
    SlValue name = sl_str(n->name, n->len);
    sl_json_value(&c->json, &name);
    sl_buf_put(&c->json, ":[", 2);
    for (uint32_t i = 0; i < w->count; i++) {
        if (i) sl_buf_putc(&c->json, ',');
        const SlValue *v = columnar_field(window_record(w, i), n, &hint);
        sl_json_value(&c->json, v ? v : &null);
    }
    sl_buf_putc(&c->json, ']');
}

void columnar_names(Columnar *c, const Window *w, const char *const *fields, size_t nfields)
{
    c->nnames = 0;
    if (fields)
        for (size_t i = 0; i < nfields; i++) columnar_add_name(c, fields[i], (uint32_t)strlen(fields[i]));
    else
        collect_names(c, w);
}

void columnar_encode(Columnar *c, const Window *w, const char *const *fields, size_t nfields)
{
    columnar_names(c, w, fields, nfields);
    c->json.len = 0;
    sl_buf_putc(&c->json, '{');
    for (size_t k = 0; k < c->nnames; k++) {
        if (k) sl_buf_putc(&c->json, ',');
        encode_column(c, w, &c->names[k], (uint32_t)k);
    }
    sl_buf_putc(&c->json, '}');
}

/* ---- Decoding -------------------------------------------------------- */

typedef struct Parser {
    const char *s;
    size_t len, pos;
    SlBatch *out;
    char *why;
    size_t why_size;
} Parser;

static bool fail(Parser *p, const char *what)
{
    snprintf(p->why, p->why_size, "the output is not JSON: %s at character %zu", what, p->pos + 1);
    return false;
}

static void skip_ws(Parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\n' ||
                               p->s[p->pos] == '\t' || p->s[p->pos] == '\r'))
        p->pos++;
}

static bool expect(Parser *p, char c, const char *what)
{
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != c) return fail(p, what);
    p->pos++;
    return true;
}

/* Moves past a string whose opening quote is at pos. */
static bool skip_string(Parser *p)
{
    for (p->pos++; p->pos < p->len; p->pos++) {
        if (p->s[p->pos] == '\\') p->pos++;
        else if (p->s[p->pos] == '"') {
            p->pos++;
            return true;
        }
    }
    return fail(p, "unterminated string");
}

/* Moves past a string, array or object (its text is then checked by the
** full decoder). */
static bool skip_value(Parser *p)
{
    int depth = 0;
    do {
        if (p->pos >= p->len) return fail(p, "unexpected end");
        char ch = p->s[p->pos];
        if (ch == '"') {
            if (!skip_string(p)) return false;
            continue;
        }
        if (ch == '[' || ch == '{') depth++;
        else if (ch == ']' || ch == '}') depth--;
        p->pos++;
    } while (depth > 0);
    return true;
}

/* The general path: decodes the value at pos with the pipeline's decoder. */
static bool decode_slow(Parser *p, SlValue *v)
{
    size_t start = p->pos;
    if (!skip_value(p)) return false;
    char why[200];
    if (sl_json_decode(p->out, p->s + start, p->pos - start, v, why, sizeof why)) return true;
    static const char prefix[] = "not JSON: ";
    const char *what = strncmp(why, prefix, sizeof prefix - 1) ? why : why + sizeof prefix - 1;
    snprintf(p->why, p->why_size, "the output is not JSON: %s (in the value at character %zu)",
             what, start + 1);
    return false;
}

static bool decode_number(Parser *p, SlValue *v)
{
    size_t start = p->pos;
    size_t digit = start + (p->s[start] == '-');
    if (digit >= p->len || p->s[digit] < '0' || p->s[digit] > '9') return fail(p, "unexpected character");
    bool is_float = false;
    for (; p->pos < p->len && p->s[p->pos] && strchr("+-0123456789.eE", p->s[p->pos]); p->pos++)
        is_float |= p->s[p->pos] == '.' || p->s[p->pos] == 'e' || p->s[p->pos] == 'E';
    const char *s = p->s + start;
    size_t n = p->pos - start;
    if (!is_float && sl_text_int(s, n, &v->as.i)) v->type = SL_INT;
    else if (sl_text_float(s, n, &v->as.f)) v->type = SL_FLOAT;
    else {
        p->pos = start;
        return fail(p, "bad number");
    }
    return true;
}

static bool decode_literal(Parser *p, const char *word, SlValue value, SlValue *v)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n)) return fail(p, "unexpected character");
    p->pos += n;
    *v = value;
    return true;
}

/* A string without escapes is copied as is; others take the slow path. */
static bool decode_string(Parser *p, SlValue *v)
{
    size_t start = p->pos + 1, end = start;
    while (end < p->len && p->s[end] != '"' && p->s[end] != '\\' && (unsigned char)p->s[end] >= 0x20)
        end++;
    if (end >= p->len || p->s[end] != '"') return decode_slow(p, v);
    *v = sl_str(sl_copy_str(p->out, p->s + start, end - start), end - start);
    p->pos = end + 1;
    return true;
}

static bool decode_item(Parser *p, SlValue *v)
{
    skip_ws(p);
    if (p->pos >= p->len) return fail(p, "unexpected end");
    switch (p->s[p->pos]) {
    case '"': return decode_string(p, v);
    case 't': return decode_literal(p, "true", sl_bool(true), v);
    case 'f': return decode_literal(p, "false", sl_bool(false), v);
    case 'n': return decode_literal(p, "null", sl_null(), v);
    case '[': case '{': return decode_slow(p, v);
    default: return decode_number(p, v);
    }
}

static bool decode_array(Parser *p, Columnar *c, DecodedColumn *col)
{
    col->first = c->nvalues;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        return true;
    }
    for (;;) {
        c->values = columnar_grow(c->values, &c->values_cap, c->nvalues + 1, sizeof *c->values);
        if (!decode_item(p, &c->values[c->nvalues])) return false;
        c->nvalues++;
        col->count++;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ']') {
            p->pos++;
            return true;
        }
        if (!expect(p, ',', "expected ',' or ']'")) return false;
    }
}

static bool decode_name(Parser *p, ColumnName *name)
{
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != '"') return fail(p, "expected a column name");
    SlValue v;
    if (!decode_string(p, &v)) return false;
    *name = (ColumnName){ v.as.s, v.len };
    return true;
}

static bool decode_column(Parser *p, Columnar *c)
{
    c->columns = columnar_grow(c->columns, &c->columns_cap, c->ncolumns + 1, sizeof *c->columns);
    DecodedColumn *col = &c->columns[c->ncolumns];
    *col = (DecodedColumn){ 0 };
    if (!decode_name(p, &col->name) || !expect(p, ':', "expected ':'")) return false;
    for (size_t k = 0; k < c->ncolumns; k++)
        if (same_name(c->columns[k].name.name, c->columns[k].name.len, col->name.name, col->name.len)) {
            snprintf(p->why, p->why_size, "the output has the column '%.*s' twice",
                     (int)(col->name.len > 100 ? 100 : col->name.len), col->name.name);
            return false;
        }
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != '[') {
        snprintf(p->why, p->why_size, "the output's '%.*s' is not an array (a function returns "
                 "an object of arrays, one per field)",
                 (int)(col->name.len > 100 ? 100 : col->name.len), col->name.name);
        return false;
    }
    p->pos++;
    c->ncolumns++;
    return decode_array(p, c, col);
}

static bool decode_object(Parser *p, Columnar *c)
{
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != '{') {
        snprintf(p->why, p->why_size, "the output is not a JSON object (a function returns "
                 "an object of arrays, one per field)");
        return false;
    }
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') p->pos++;
    else
        for (;;) {
            if (!decode_column(p, c)) return false;
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == '}') {
                p->pos++;
                break;
            }
            if (!expect(p, ',', "expected ',' or '}'")) return false;
        }
    skip_ws(p);
    return p->pos == p->len || fail(p, "text after the object");
}

static bool equal_lengths(const Columnar *c, char *why, size_t why_size)
{
    for (size_t k = 1; k < c->ncolumns; k++) {
        const DecodedColumn *a = &c->columns[0], *b = &c->columns[k];
        if (a->count == b->count) continue;
        snprintf(why, why_size, "the output's arrays have unequal lengths ('%.*s' has %zu items, "
                 "'%.*s' has %zu)", (int)(a->name.len > 100 ? 100 : a->name.len), a->name.name,
                 a->count, (int)(b->name.len > 100 ? 100 : b->name.len), b->name.name, b->count);
        return false;
    }
    return true;
}

/* Marks the columns that were timestamps in the window's first record. */
static void mark_times(Columnar *c, const Window *in)
{
    const SlRecord *first = window_record(in, 0);
    for (size_t k = 0; k < c->ncolumns; k++) {
        const SlValue *v = sl_map_get(&first->fields, c->columns[k].name.name, c->columns[k].name.len);
        c->columns[k].restore_time = v && v->type == SL_TIMESTAMP;
    }
}

static SlValue row_value(const Columnar *c, const DecodedColumn *col, size_t row)
{
    SlValue v = c->values[col->first + row];
    int64_t ns;
    if (col->restore_time && v.type == SL_STRING && sl_parse_time(v.as.s, v.len, &ns)) return sl_time(ns);
    return v;
}

static void build_records(Columnar *c, SlBatch *out, const Window *in)
{
    size_t rows = c->ncolumns ? c->columns[0].count : 0;
    bool aligned = rows == in->count;
    if (aligned && rows) mark_times(c, in);
    for (size_t row = 0; row < rows; row++) {
        SlRecord *r;
        if (aligned) {
            SlRecord meta_only = { .meta = window_record(in, (uint32_t)row)->meta };
            r = sl_batch_add_copy(out, &meta_only);
        } else {
            r = sl_batch_add(out);
        }
        r->fields.fields = sl_alloc(out, c->ncolumns * sizeof(SlField));
        r->fields.count = r->fields.cap = (uint32_t)c->ncolumns;
        for (size_t k = 0; k < c->ncolumns; k++) {
            const DecodedColumn *col = &c->columns[k];
            r->fields.fields[k] = (SlField){ col->name.name, col->name.len, row_value(c, col, row) };
        }
    }
}

/* Every record of a keyed window has the same key, so each output row (an
   aggregate too) gets it when the function did not return that column:
   functions need not echo the key for the records to stay attributable. */
void columnar_restore_key(SlBatch *out, uint32_t first_row, const Window *in, const char *key)
{
    const SlValue *value = sl_get(window_record(in, 0), key);
    if (!value) return;
    size_t len = strlen(key);
    for (uint32_t i = first_row; i < out->count; i++) {
        SlRecord *r = &out->records[i];
        if (!sl_map_get(&r->fields, key, len))
            *sl_map_set(out, &r->fields, key, len) = sl_value_copy(out, value);
    }
}

bool columnar_decode(Columnar *c, SlBatch *out, const char *text, size_t len,
                     const Window *in, const char *key_field, char *why, size_t why_size)
{
    Parser p = { .s = text, .len = len, .out = out, .why = why, .why_size = why_size };
    c->nvalues = c->ncolumns = 0;
    if (!decode_object(&p, c) || !equal_lengths(c, why, why_size)) return false;
    uint32_t first_row = out->count;
    build_records(c, out, in);
    if (key_field && in->count) columnar_restore_key(out, first_row, in, key_field);
    return true;
}

void columnar_free(Columnar *c)
{
    sl_buf_free(&c->json);
    free(c->names);
    free(c->values);
    free(c->columns);
    free(c->layout);
    free(c->at);
    free(c->planned);
    free(c->read);
    free(c->runs);
}
