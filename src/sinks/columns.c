/*
** columns.c: the column planning of the table sinks (see columns.h).
*/
#include "columns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sl_columns_init(SlColumns *c, const SlColumnRules *rules)
{
    *c = (SlColumns){ .rules = rules };
}

/* Forgets the columns after the first `keep`. */
static void forget(SlColumns *c, uint32_t keep)
{
    while (c->count > keep) free(c->cols[--c->count].name);
}

void sl_columns_free(SlColumns *c)
{
    forget(c, 0);
    free(c->cols);
    free(c->row);
    free(c->seen);
    *c = (SlColumns){ .rules = c->rules };
}

/* ---- Names ------------------------------------------------------------- */

static char ascii_lower(char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static bool same_name(const SlColumns *c, const SlColumn *col, const char *name, size_t len)
{
    if (col->len != len) return false;
    if (!c->rules->ignore_case) return !memcmp(col->name, name, len);
    for (size_t i = 0; i < len; i++)
        if (ascii_lower(col->name[i]) != ascii_lower(name[i])) return false;
    return true;
}

uint32_t sl_columns_find(const SlColumns *c, const char *name, size_t len, uint32_t hint)
{
    if (hint < c->count && same_name(c, &c->cols[hint], name, len)) return hint;
    for (uint32_t i = 0; i < c->count; i++)
        if (same_name(c, &c->cols[i], name, len)) return i;
    return SL_NO_COLUMN;
}

/* A name the database would refuse or cut short makes no column. */
static bool name_allowed(const SlColumnRules *rules, const char *name, size_t len)
{
    if (len == 0 || memchr(name, 0, len)) return false;
    return rules->max_name == 0 || len <= rules->max_name;
}

/* ---- The column list --------------------------------------------------- */

static void add(SlColumns *c, const char *name, size_t len, uint8_t type)
{
    if (c->count == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->cols = sl_xrealloc(c->cols, c->cap * sizeof *c->cols);
        c->row = sl_xrealloc(c->row, c->cap * sizeof *c->row);
        c->seen = sl_xrealloc(c->seen, c->cap * sizeof *c->seen);
    }
    SlColumn *col = &c->cols[c->count];
    col->name = sl_xrealloc(NULL, len + 1);
    memcpy(col->name, name, len);
    col->name[len] = 0;
    col->len = len;
    col->type = type;
    c->seen[c->count++] = 0; /* stamps start at 1: no record used it */
}

void sl_columns_load(SlColumns *c, const char *name, size_t len, uint8_t type)
{
    add(c, name, len, type);
    c->made = c->count;
    c->table_exists = true;
}

const char *sl_column_type_sql(const SlColumns *c, const SlColumn *col)
{
    return c->rules->types[col->type].sql;
}

/* ---- Types ------------------------------------------------------------- */

/* The type of the column a value would make; SL_NO_COLUMN_TYPE for null
** (and for a value type the rules do not know). */
static int new_type(const SlColumnRules *rules, const SlValue *v)
{
    return v->type <= SL_MAP ? rules->new_type[v->type] : SL_NO_COLUMN_TYPE;
}

/* A null fits any column. */
static bool fits(const SlColumnRules *rules, const SlValue *v, uint8_t col)
{
    int t = new_type(rules, v);
    return t == SL_NO_COLUMN_TYPE || t == col || (rules->types[col].also_takes & SL_TAKES(v->type));
}

/* ---- Planning ---------------------------------------------------------- */

/* With names compared without regard to case, `id` and `ID` are two
** fields of a record but one column: the second is an error. */
static bool claim(SlColumns *c, uint32_t col, char *why, size_t size)
{
    if (c->seen[col] == c->stamp)
        return snprintf(why, size, "two fields map to column %c%s%c (%s ignores case)",
                        c->rules->quote, c->cols[col].name, c->rules->quote, c->rules->db),
               false;
    c->seen[col] = c->stamp;
    return true;
}

static bool plan_field(SlColumns *c, const SlField *f, uint32_t hint, char *why, size_t size)
{
    const SlColumnRules *rules = c->rules;
    if (rules->storable && !rules->storable(f, why, size)) return false;
    uint32_t col = sl_columns_find(c, f->name, f->name_len, hint);
    if (col == SL_NO_COLUMN) {
        int type = new_type(rules, &f->value);
        if (type == SL_NO_COLUMN_TYPE) return true; /* null: as if absent */
        if (!name_allowed(rules, f->name, f->name_len)) {
            if (rules->max_name)
                return snprintf(why, size, "field name '%.*s' cannot be a column name (1 to %u bytes, no NUL)",
                                (int)f->name_len, f->name, (unsigned)rules->max_name), false;
            return snprintf(why, size, "field name '%.*s' cannot be a column name",
                            (int)f->name_len, f->name), false;
        }
        add(c, f->name, f->name_len, (uint8_t)type);
        col = c->count - 1;
    } else if (!fits(rules, &f->value, c->cols[col].type)) {
        return snprintf(why, size, "field '%.*s' is %s, column %c%s%c is %s", (int)f->name_len,
                        f->name, sl_type_name(f->value.type), rules->quote, c->cols[col].name,
                        rules->quote, sl_column_type_sql(c, &c->cols[col])), false;
    }
    return !rules->ignore_case || claim(c, col, why, size);
}

static bool plan_fields(SlColumns *c, const SlRecord *r, char *why, size_t size)
{
    c->stamp++;
    for (uint32_t i = 0; i < r->fields.count; i++)
        if (!plan_field(c, &r->fields.fields[i], i, why, size)) return false;
    /* Only a record whose fields are all null (or absent) leaves a table
    ** with no column. */
    if (c->count == 0)
        return snprintf(why, size, "no field with a value to make a column from"), false;
    return true;
}

bool sl_columns_plan(SlColumns *c, const SlRecord *r, char *why, size_t size)
{
    uint32_t before = c->count;
    if (plan_fields(c, r, why, size)) return true;
    forget(c, before);
    return false;
}

static const char *plan_record(void *columns, SlBatch *b, SlRecord *r, char *why, size_t size)
{
    (void)b;
    return sl_columns_plan(columns, r, why, size) ? NULL : why;
}

void sl_columns_plan_batch(SlCtx *ctx, SlColumns *c, SlBatch *b)
{
    sl_keep_valid(ctx, b, plan_record, c);
}

/* ---- Making the columns in the database -------------------------------- */

int sl_columns_make(SlColumns *c, SlCreateTable create, SlAddColumn add_column, void *sink)
{
    if (c->made == c->count) return 0;
    if (!c->table_exists) {
        int failed = create(sink, c);
        if (failed) return failed;
        c->table_exists = true;
        c->made = c->count;
    }
    for (; c->made < c->count; c->made++) {
        int failed = add_column(sink, &c->cols[c->made]);
        if (failed) return failed;
    }
    return 0;
}

SlColumnsMark sl_columns_mark(const SlColumns *c)
{
    return (SlColumnsMark){ .made = c->made, .table_exists = c->table_exists };
}

void sl_columns_rolled_back(SlColumns *c, SlColumnsMark m)
{
    c->made = m.made;
    c->table_exists = m.table_exists;
}

void sl_columns_drop_planned(SlColumns *c)
{
    forget(c, c->made);
}

void sl_columns_clear(SlColumns *c)
{
    forget(c, 0);
    c->made = 0;
    c->table_exists = false;
}

/* ---- Rows -------------------------------------------------------------- */

const SlValue *const *sl_columns_row(SlColumns *c, const SlRecord *r)
{
    for (uint32_t i = 0; i < c->count; i++) c->row[i] = NULL;
    for (uint32_t i = 0; i < r->fields.count; i++) {
        const SlField *f = &r->fields.fields[i];
        uint32_t col = sl_columns_find(c, f->name, f->name_len, i);
        if (col != SL_NO_COLUMN) c->row[col] = &f->value;
    }
    return c->row;
}
