/*
** parse_csv.c: the `parse_csv` transform: splits a text field (by default
** `message`) into named, typed fields. RFC 4180 quoting ("a ""b""", with
** the delimiter inside quotes); unquoted cells are slices of the line, so
** parsing copies nothing but quoted cells that contain escaped quotes.
**
** A line with the wrong number of cells, or a cell that does not fit its
** column's type, is rejected to NAME.errors with the reason.
*/
#include "../pipeline/component.h"
#include "../pipeline/convert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const SlSetting settings[] = {
    { .name = "columns", .type = SL_SET_LIST, .item = &(const SlSetting){ .type = SL_SET_STRING },
      .doc = "The names of the columns, in order (or `header: true`)." },
    { .name = "types", .type = SL_SET_MAP,
      .item = &(const SlSetting){ .type = SL_SET_STRING, .choices = sl_type_choices },
      .doc = "Column name to type: string (default), int, float, bool, timestamp." },
    { .name = "header", .type = SL_SET_BOOL, .def = "false",
      .doc = "The first line names the columns (and is not a record)." },
    { .name = "delimiter", .type = SL_SET_STRING, .def = ",",
      .doc = "The one-character cell separator (\\t for tab)." },
    { .name = "quote", .type = SL_SET_STRING, .def = "\"",
      .doc = "The one-character quote." },
    { .name = "field", .type = SL_SET_STRING, .def = "message",
      .doc = "The field holding the line." },
    { .name = "keep_original", .type = SL_SET_BOOL, .def = "false",
      .doc = "Keep the line's field after parsing." },
    { 0 },
};

typedef struct Column {
    char *name;
    size_t len;
    SlType type;
} Column;

typedef struct ParseCsv {
    Column *columns;
    size_t ncolumns;
    const SlConf *types;        /* applied when the header names the columns */
    bool header_pending;
    char delimiter, quote;
    const char *field;
    size_t field_len;
    bool keep_original;
    bool distinct;              /* no two columns share a name */
} ParseCsv;

typedef struct Cell {
    const char *s;
    size_t len;
} Cell;

static void add_column(ParseCsv *p, const char *name, size_t len)
{
    p->columns = realloc(p->columns, (p->ncolumns + 1) * sizeof *p->columns);
    char *copy = malloc(len + 1);
    if (!p->columns || !copy) abort();
    memcpy(copy, name, len);
    copy[len] = 0;
    p->columns[p->ncolumns++] = (Column){ copy, len, SL_STRING };
}

static Column *find_column(ParseCsv *p, const char *name)
{
    for (size_t i = 0; i < p->ncolumns; i++)
        if (!strcmp(p->columns[i].name, name)) return &p->columns[i];
    return NULL;
}

static bool columns_distinct(ParseCsv *p)
{
    for (size_t i = 1; i < p->ncolumns; i++)
        if (find_column(p, p->columns[i].name) != &p->columns[i]) return false;
    return true;
}

/* Applies `types`; reports names that are not columns unless the header
** will name them later. */
static int apply_types(SlCtx *ctx, ParseCsv *p, bool report)
{
    int problems = 0;
    for (size_t i = 0; p->types && i < p->types->count; i++) {
        const SlConf *t = p->types->items[i];
        Column *c = find_column(p, t->key);
        if (c) sl_type_parse(t->text, &c->type);
        else if (report) {
            sl_conf_error(ctx, t, "'%s' is not one of the columns", t->key);
            problems++;
        }
    }
    return problems;
}

static bool one_char(SlCtx *ctx, const SlConf *conf, const char *key, const char *def, char *out)
{
    const char *text = sl_conf_str(conf, key, def);
    if (!strcmp(text, "\\t")) text = "\t";
    if (strlen(text) != 1 || text[0] == '\n' || text[0] == '\r') {
        sl_conf_error(ctx, sl_conf_get(conf, key), "'%s' must be exactly one character", key);
        return false;
    }
    *out = text[0];
    return true;
}

static void destroy(void *state)
{
    ParseCsv *p = state;
    for (size_t i = 0; i < p->ncolumns; i++) free(p->columns[i].name);
    free(p->columns);
    free(p);
}

static int init(SlCtx *ctx, const SlConf *conf)
{
    ParseCsv *p = calloc(1, sizeof *p);
    if (!p) return -1;
    sl_set_state(ctx, p);
    const SlConf *columns = sl_conf_get(conf, "columns");
    for (size_t i = 0; columns && i < columns->count; i++)
        add_column(p, columns->items[i]->text, strlen(columns->items[i]->text));
    p->header_pending = sl_conf_bool(conf, "header", false);
    p->types = sl_conf_get(conf, "types");
    p->field = sl_conf_str(conf, "field", "message");
    p->field_len = strlen(p->field);
    p->keep_original = sl_conf_bool(conf, "keep_original", false);
    bool ok = one_char(ctx, conf, "delimiter", ",", &p->delimiter);
    ok = one_char(ctx, conf, "quote", "\"", &p->quote) && ok;
    if (!p->ncolumns && !p->header_pending) {
        sl_conf_error(ctx, conf, "give 'columns', or 'header: true' to read them from the first line");
        ok = false;
    }
    if (p->ncolumns && apply_types(ctx, p, true)) ok = false;
    p->distinct = columns_distinct(p);
    return ok ? 0 : -1;
}

/* ---- Splitting ------------------------------------------------------- */

/* Unquotes a quoted cell starting at s[*i] (the quote); returns false if it
** is not closed or is followed by something other than a delimiter. */
static bool quoted_cell(SlBatch *b, const ParseCsv *p, const char *s, size_t len,
                        size_t *i, Cell *cell)
{
    size_t start = ++*i;
    bool escaped = false;
    for (; *i < len; (*i)++) {
        if (s[*i] != p->quote) continue;
        if (*i + 1 < len && s[*i + 1] == p->quote) {
            escaped = true;
            (*i)++;
            continue;
        }
        break;
    }
    if (*i >= len) return false;
    size_t end = (*i)++;
    if (*i < len && s[*i] != p->delimiter) return false;
    if (!escaped) {
        *cell = (Cell){ s + start, end - start };
        return true;
    }
    char *out = sl_alloc(b, end - start);
    size_t n = 0;
    for (size_t k = start; k < end; k++) {
        out[n++] = s[k];
        if (s[k] == p->quote) k++;
    }
    *cell = (Cell){ out, n };
    return true;
}

/* Splits a line into at most `max` cells; returns the count, or -1 with a
** reason for bad quoting. A count above max means too many cells. */
static long split(SlBatch *b, const ParseCsv *p, const char *s, size_t len,
                  Cell *cells, size_t max, const char **why)
{
    size_t n = 0, i = 0;
    for (;;) {
        Cell cell;
        if (i < len && s[i] == p->quote) {
            if (!quoted_cell(b, p, s, len, &i, &cell)) {
                *why = "unclosed quote, or text after a closing quote";
                return -1;
            }
        } else {
            const char *d = memchr(s + i, p->delimiter, len - i);
            size_t end = d ? (size_t)(d - s) : len;
            cell = (Cell){ s + i, end - i };
            i = end;
        }
        if (n < max) cells[n] = cell;
        n++;
        if (i >= len) return (long)n;
        i++; /* the delimiter */
        if (i == len) {
            if (n < max) cells[n] = (Cell){ s + i, 0 };
            return (long)n + 1;
        }
    }
}

/* ---- Records --------------------------------------------------------- */

static void take_header(ParseCsv *p, SlBatch *b, const SlValue *line)
{
    p->header_pending = false;
    if (p->ncolumns) return; /* the settings name them: skip the line */
    Cell cells[1024];
    const char *why;
    long n = split(b, p, line->as.s, line->len, cells, 1024, &why);
    for (long i = 0; i < n && i < 1024; i++) add_column(p, cells[i].s, cells[i].len);
    apply_types(NULL, p, false);
    p->distinct = columns_distinct(p);
}

/* Replaces the line's field with the columns. A record that held only the
** line (the usual case) gets its table filled in order, without looking
** each name up. */
static void set_columns(const ParseCsv *p, SlBatch *b, SlMap *fields, const SlValue *values)
{
    if (!p->keep_original) sl_map_remove(fields, p->field, p->field_len);
    if (fields->count || !p->distinct) {
        for (size_t i = 0; i < p->ncolumns; i++)
            *sl_map_set(b, fields, p->columns[i].name, p->columns[i].len) = values[i];
        return;
    }
    if (fields->cap < p->ncolumns) {
        fields->fields = sl_alloc(b, p->ncolumns * sizeof *fields->fields);
        fields->cap = (uint32_t)p->ncolumns;
    }
    for (size_t i = 0; i < p->ncolumns; i++)
        fields->fields[i] = (SlField){ p->columns[i].name, (uint32_t)p->columns[i].len, values[i] };
    fields->count = (uint32_t)p->ncolumns;
}

/* Converts every cell first, so a bad record is left untouched for the
** error output; returns NULL or the reason to reject it. */
static const char *parse_one(void *state, SlBatch *b, SlRecord *r, char *why_buf, size_t size)
{
    const ParseCsv *p = state;
    const SlValue *line = sl_map_get(&r->fields, p->field, p->field_len);
    if (!line) return "no such field";
    if (line->type != SL_STRING) return "the field is not a string";
    Cell cell_stack[64];
    SlValue value_stack[64];
    bool small = p->ncolumns <= 64;
    Cell *cells = small ? cell_stack : sl_alloc(b, p->ncolumns * sizeof *cells);
    SlValue *values = small ? value_stack : sl_alloc(b, p->ncolumns * sizeof *values);
    const char *why = NULL;
    long n = split(b, p, line->as.s, line->len, cells, p->ncolumns, &why);
    if (n < 0) return why;
    if ((size_t)n != p->ncolumns) {
        snprintf(why_buf, size, "expected %zu columns, found %ld", p->ncolumns, n);
        return why_buf;
    }
    for (size_t i = 0; i < p->ncolumns; i++) {
        const Column *c = &p->columns[i];
        SlValue text = sl_str(cells[i].s, cells[i].len);
        values[i] = text;
        if (c->type == SL_STRING) continue;
        if (cells[i].len == 0) values[i] = sl_null();
        else if (!sl_convert(b, &text, c->type, &values[i], &why)) {
            snprintf(why_buf, size, "column '%s': '%.*s' is not a %s", c->name,
                     (int)(cells[i].len > 64 ? 64 : cells[i].len), cells[i].s,
                     sl_type_name(c->type));
            return why_buf;
        }
    }
    set_columns(p, b, &r->fields, values);
    return NULL;
}

static void process(SlCtx *ctx, SlBatch *b)
{
    ParseCsv *p = sl_state(ctx);
    if (p->header_pending && b->count) {
        const SlValue *line = sl_map_get(&b->records[0].fields, p->field, p->field_len);
        if (line && line->type == SL_STRING) {
            take_header(p, b, line);
            /* The header line is read, not passed on. */
            memmove(b->records, b->records + 1, --b->count * sizeof *b->records);
        }
    }
    sl_keep_valid(ctx, b, parse_one, p);
    sl_emit(ctx, b);
}

const SlComponentType sl_transform_parse_csv = {
    .name = "parse_csv",
    .kind = SL_TRANSFORM,
    .doc = "Splits a CSV line into named, typed fields.",
    .settings = settings,
    .init = init,
    .process = process,
    .destroy = destroy,
};
