/*
** test_columns.c: the column planning that the sqlite and postgres sinks
** share (src/sinks/columns.c), against two made-up databases: one that
** compares names exactly and limits their length, one that ignores ASCII
** case. The DDL is recorded as text instead of being run.
*/
#include "unit.h"
#include <stdlib.h>

#include "../../src/sinks/columns.h"

enum { T_INT, T_REAL, T_TEXT, T_ANY };

/* REAL takes an int too (a float column is not narrowed); ANY takes all. */
static const SlColumnType types[] = {
    [T_INT] = { "INT", 0 },
    [T_REAL] = { "REAL", SL_TAKES(SL_INT) },
    [T_TEXT] = { "TEXT", 0 },
    [T_ANY] = { "ANY", SL_TAKES_ANY },
};

/* A string "poison" cannot be stored in any column. */
static bool no_poison(const SlField *f, char *why, size_t size)
{
    const SlValue *v = &f->value;
    if (v->type == SL_STRING && v->len == 6 && !memcmp(v->as.s, "poison", 6))
        return snprintf(why, size, "field '%.*s' is poison", (int)f->name_len, f->name), false;
    return true;
}

static const SlColumnRules exact = {
    .db = "ExactDB",
    .types = types,
    .new_type = {
        [SL_NULL] = SL_NO_COLUMN_TYPE, [SL_BOOL] = T_INT, [SL_INT] = T_INT,
        [SL_FLOAT] = T_REAL, [SL_STRING] = T_TEXT, [SL_TIMESTAMP] = T_TEXT,
        [SL_ARRAY] = T_ANY, [SL_MAP] = T_ANY,
    },
    .max_name = 8,
    .quote = '"',
    .storable = no_poison,
};

static const SlColumnRules folded = {
    .db = "FoldDB",
    .types = types,
    .new_type = {
        [SL_NULL] = SL_NO_COLUMN_TYPE, [SL_BOOL] = T_INT, [SL_INT] = T_INT,
        [SL_FLOAT] = T_REAL, [SL_STRING] = T_TEXT, [SL_TIMESTAMP] = T_INT,
        [SL_ARRAY] = T_TEXT, [SL_MAP] = T_TEXT,
    },
    .ignore_case = true,
    .quote = '\'',
};

/* ---- Helpers ----------------------------------------------------------- */

static SlValue *field(SlBatch *b, SlRecord *r, const char *name)
{
    return sl_map_set(b, &r->fields, name, strlen(name));
}

static SlValue text(const char *s)
{
    return sl_str(s, strlen(s));
}

static bool planned(SlColumns *c, const SlRecord *r)
{
    char why[SL_COLUMN_WHY_MAX] = "";
    bool ok = sl_columns_plan(c, r, why, sizeof why);
    if (!ok) fprintf(stderr, "  rejected: %s\n", why);
    return ok;
}

static bool rejected(SlColumns *c, const SlRecord *r, const char *expected)
{
    char why[SL_COLUMN_WHY_MAX] = "";
    if (sl_columns_plan(c, r, why, sizeof why)) {
        fprintf(stderr, "  planned, expected: %s\n", expected);
        return false;
    }
    if (strcmp(why, expected)) fprintf(stderr, "  got: %s\n  expected: %s\n", why, expected);
    return !strcmp(why, expected);
}

/* The columns as "name TYPE, ..." in table order. */
static bool columns_are(const SlColumns *c, const char *expected)
{
    char got[512] = "";
    size_t at = 0;
    for (uint32_t i = 0; i < c->count && at < sizeof got; i++)
        at += (size_t)snprintf(got + at, sizeof got - at, "%s%s %s", i ? ", " : "",
                               c->cols[i].name, sl_column_type_sql(c, &c->cols[i]));
    if (strcmp(got, expected)) fprintf(stderr, "  columns: %s\n  expected: %s\n", got, expected);
    return !strcmp(got, expected);
}

/* The DDL sl_columns_make asked for, and the call that is to fail. */
typedef struct Ddl {
    char log[512];
    size_t len;
    int calls, fail_call;
} Ddl;

enum { DDL_FAILED = 7 };

static int ddl_result(Ddl *d)
{
    return ++d->calls == d->fail_call ? DDL_FAILED : 0;
}

static int create_table(void *sink, const SlColumns *c)
{
    Ddl *d = sink;
    d->len += (size_t)snprintf(d->log + d->len, sizeof d->log - d->len, "CREATE(");
    for (uint32_t i = 0; i < c->count; i++)
        d->len += (size_t)snprintf(d->log + d->len, sizeof d->log - d->len, "%s%s", i ? "," : "",
                                   c->cols[i].name);
    d->len += (size_t)snprintf(d->log + d->len, sizeof d->log - d->len, ") ");
    return ddl_result(d);
}

static int add_column(void *sink, const SlColumn *col)
{
    Ddl *d = sink;
    d->len += (size_t)snprintf(d->log + d->len, sizeof d->log - d->len, "ADD(%s) ", col->name);
    return ddl_result(d);
}

static bool ddl_is(Ddl *d, const char *expected)
{
    bool same = !strcmp(d->log, expected);
    if (!same) fprintf(stderr, "  ddl: %s\n  expected: %s\n", d->log, expected);
    d->len = 0;
    d->log[0] = 0;
    return same;
}

/* ---- Planning ---------------------------------------------------------- */

TEST(first_record_plans_a_column_per_field_with_a_value)
{
    SlBatch *b = sl_batch_new();
    SlRecord *r = sl_batch_add(b);
    *field(b, r, "n") = sl_int(1);
    *field(b, r, "x") = sl_float(2.5);
    *field(b, r, "gone") = sl_null();
    *field(b, r, "s") = text("a");
    *field(b, r, "ok") = sl_bool(true);
    *field(b, r, "list") = sl_array(b, 2);
    SlColumns c;
    sl_columns_init(&c, &exact);
    CHECK(planned(&c, r));
    CHECK(columns_are(&c, "n INT, x REAL, s TEXT, ok INT, list ANY"));
    CHECK_EQ_INT(c.made, 0);
    CHECK(!c.table_exists);
    sl_columns_free(&c);
    sl_batch_free(b);
}

TEST(a_null_field_gets_its_column_from_a_later_value)
{
    SlBatch *b = sl_batch_new();
    SlRecord *r = sl_batch_add(b);
    *field(b, r, "id") = sl_int(1);
    *field(b, r, "later") = sl_null();
    SlColumns c;
    sl_columns_init(&c, &exact);
    CHECK(planned(&c, r));
    CHECK(columns_are(&c, "id INT"));
    r = sl_batch_add(b);
    *field(b, r, "id") = sl_int(2);
    *field(b, r, "later") = sl_float(1.5);
    CHECK(planned(&c, r));
    CHECK(columns_are(&c, "id INT, later REAL"));
    sl_columns_free(&c);
    sl_batch_free(b);
}

TEST(the_first_value_decides_the_type_and_no_column_is_widened)
{
    SlBatch *b = sl_batch_new();
    SlColumns c;
    sl_columns_init(&c, &exact);
    SlRecord *r = sl_batch_add(b);
    *field(b, r, "n") = sl_int(1);
    *field(b, r, "x") = sl_float(1.0);
    CHECK(planned(&c, r));
    /* An int fits the REAL column (also_takes)... */
    r = sl_batch_add(b);
    *field(b, r, "x") = sl_int(2);
    CHECK(planned(&c, r));
    /* ...but a float does not turn the INT column into REAL. */
    r = sl_batch_add(b);
    *field(b, r, "n") = sl_float(2.5);
    CHECK(rejected(&c, r, "field 'n' is float, column \"n\" is INT"));
    r = sl_batch_add(b);
    *field(b, r, "x") = text("many");
    CHECK(rejected(&c, r, "field 'x' is string, column \"x\" is REAL"));
    /* Null fits every column. */
    r = sl_batch_add(b);
    *field(b, r, "n") = sl_null();
    *field(b, r, "x") = sl_null();
    CHECK(planned(&c, r));
    CHECK(columns_are(&c, "n INT, x REAL"));
    sl_columns_free(&c);
    sl_batch_free(b);
}

TEST(a_column_that_takes_any_value_takes_them_all)
{
    SlBatch *b = sl_batch_new();
    SlColumns c;
    sl_columns_init(&c, &exact);
    SlRecord *r = sl_batch_add(b);
    *field(b, r, "m") = sl_map(b);
    CHECK(planned(&c, r));
    const SlValue values[] = { sl_int(1), sl_float(2), text("t"), sl_bool(false), sl_time(5) };
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        r = sl_batch_add(b);
        *field(b, r, "m") = values[i];
        CHECK(planned(&c, r));
    }
    CHECK(columns_are(&c, "m ANY"));
    sl_columns_free(&c);
    sl_batch_free(b);
}

TEST(the_rules_choose_the_type_of_a_new_column)
{
    SlBatch *b = sl_batch_new();
    SlRecord *r = sl_batch_add(b);
    *field(b, r, "t") = sl_time(1000);
    *field(b, r, "a") = sl_array(b, 1);
    SlColumns exact_cols, folded_cols;
    sl_columns_init(&exact_cols, &exact);
    sl_columns_init(&folded_cols, &folded);
    CHECK(planned(&exact_cols, r));
    CHECK(planned(&folded_cols, r));
    CHECK(columns_are(&exact_cols, "t TEXT, a ANY"));
    CHECK(columns_are(&folded_cols, "t INT, a TEXT"));
    sl_columns_free(&exact_cols);
    sl_columns_free(&folded_cols);
    sl_batch_free(b);
}

TEST(a_rejected_record_plans_no_column)
{
    SlBatch *b = sl_batch_new();
    SlColumns c;
    sl_columns_init(&c, &exact);
    SlRecord *r = sl_batch_add(b);
    *field(b, r, "n") = sl_int(1);
    CHECK(planned(&c, r));
    /* New fields before and after the one that does not fit. */
    r = sl_batch_add(b);
    *field(b, r, "fresh") = text("x");
    *field(b, r, "n") = text("not a number");
    *field(b, r, "after") = sl_int(3);
    CHECK(rejected(&c, r, "field 'n' is string, column \"n\" is INT"));
    CHECK(columns_are(&c, "n INT"));
    /* The rejected record's new field keeps no type: it is planned anew. */
    r = sl_batch_add(b);
    *field(b, r, "fresh") = sl_int(4);
    CHECK(planned(&c, r));
    CHECK(columns_are(&c, "n INT, fresh INT"));
    sl_columns_free(&c);
    sl_batch_free(b);
}

TEST(a_value_the_database_cannot_store_rejects_its_record)
{
    SlBatch *b = sl_batch_new();
    SlColumns c;
    sl_columns_init(&c, &exact);
    SlRecord *r = sl_batch_add(b);
    *field(b, r, "fine") = sl_int(1);
    *field(b, r, "bad") = text("poison");
    CHECK(rejected(&c, r, "field 'bad' is poison"));
    CHECK_EQ_INT(c.count, 0);
    sl_columns_free(&c);
    sl_batch_free(b);
}

TEST(a_record_with_only_nulls_makes_no_table)
{
    SlBatch *b = sl_batch_new();
    SlColumns c;
    sl_columns_init(&c, &exact);
    SlRecord *empty = sl_batch_add(b);
    CHECK(rejected(&c, empty, "no field with a value to make a column from"));
    SlRecord *nulls = sl_batch_add(b);
    *field(b, nulls, "a") = sl_null();
    CHECK(rejected(&c, nulls, "no field with a value to make a column from"));
    SlRecord *r = sl_batch_add(b);
    *field(b, r, "a") = sl_int(1);
    CHECK(planned(&c, r));
    /* Once there is a column, such a record is a row of NULLs. */
    CHECK(planned(&c, nulls));
    CHECK(planned(&c, empty));
    sl_columns_free(&c);
    sl_batch_free(b);
}

/* ---- Names ------------------------------------------------------------- */

TEST(names_that_cannot_be_columns_reject_their_record)
{
    SlBatch *b = sl_batch_new();
    SlColumns c, f;
    sl_columns_init(&c, &exact);
    sl_columns_init(&f, &folded);
    SlRecord *r = sl_batch_add(b);
    *sl_map_set(b, &r->fields, "", 0) = sl_int(1);
    CHECK(rejected(&c, r, "field name '' cannot be a column name (1 to 8 bytes, no NUL)"));
    CHECK(rejected(&f, r, "field name '' cannot be a column name"));
    r = sl_batch_add(b);
    *sl_map_set(b, &r->fields, "a\0b", 3) = sl_int(1);
    CHECK(rejected(&c, r, "field name 'a' cannot be a column name (1 to 8 bytes, no NUL)"));
    /* The length limit: 8 bytes fit, 9 do not; no limit when max_name is 0. */
    r = sl_batch_add(b);
    *field(b, r, "eightchr") = sl_int(1);
    CHECK(planned(&c, r));
    r = sl_batch_add(b);
    *field(b, r, "ninechars") = sl_int(1);
    CHECK(rejected(&c, r, "field name 'ninechars' cannot be a column name (1 to 8 bytes, no NUL)"));
    CHECK(planned(&f, r));
    /* A bad name on a null field is no column, hence no problem. */
    r = sl_batch_add(b);
    *field(b, r, "ninechars") = sl_null();
    CHECK(planned(&c, r));
    CHECK(columns_are(&c, "eightchr INT"));
    sl_columns_free(&c);
    sl_columns_free(&f);
    sl_batch_free(b);
}

TEST(names_that_need_quoting_are_kept_as_they_are)
{
    SlBatch *b = sl_batch_new();
    SlColumns c;
    sl_columns_init(&c, &folded);
    SlRecord *r = sl_batch_add(b);
    *field(b, r, "a \"q\"") = sl_int(1);
    *field(b, r, "it's") = text("x");
    *field(b, r, "sp ace;") = sl_float(1);
    CHECK(planned(&c, r));
    CHECK(columns_are(&c, "a \"q\" INT, it's TEXT, sp ace; REAL"));
    CHECK_EQ_INT(c.cols[1].len, 4);
    r = sl_batch_add(b);
    *field(b, r, "it's") = sl_int(2);
    CHECK(rejected(&c, r, "field 'it's' is int, column 'it's' is TEXT"));
    sl_columns_free(&c);
    sl_batch_free(b);
}

TEST(case_matters_only_where_the_database_says_so)
{
    SlBatch *b = sl_batch_new();
    SlColumns c, f;
    sl_columns_init(&c, &exact);
    sl_columns_init(&f, &folded);
    SlRecord *r = sl_batch_add(b);
    *field(b, r, "Id") = sl_int(1);
    CHECK(planned(&c, r));
    CHECK(planned(&f, r));
    r = sl_batch_add(b);
    *field(b, r, "ID") = text("x");
    /* Exact names: a new column. Folded: the same column, which is INT. */
    CHECK(planned(&c, r));
    CHECK(columns_are(&c, "Id INT, ID TEXT"));
    CHECK(rejected(&f, r, "field 'ID' is string, column 'Id' is INT"));
    CHECK_EQ_INT(sl_columns_find(&f, "iD", 2, 0), 0);
    CHECK_EQ_INT(sl_columns_find(&c, "iD", 2, 0), SL_NO_COLUMN);
    sl_columns_free(&c);
    sl_columns_free(&f);
    sl_batch_free(b);
}

TEST(two_fields_on_one_folded_column_reject_their_record)
{
    SlBatch *b = sl_batch_new();
    SlColumns f;
    sl_columns_init(&f, &folded);
    SlRecord *r = sl_batch_add(b);
    *field(b, r, "n") = sl_int(7);
    *field(b, r, "N") = sl_int(8);
    CHECK(rejected(&f, r, "two fields map to column 'n' (FoldDB ignores case)"));
    CHECK_EQ_INT(f.count, 0);
    /* Also against an existing column, and with a null among the two. */
    SlRecord *one = sl_batch_add(b);
    *field(b, one, "n") = sl_int(1);
    CHECK(planned(&f, one));
    r = sl_batch_add(b);
    *field(b, r, "N") = sl_null();
    *field(b, r, "n") = sl_int(2);
    CHECK(rejected(&f, r, "two fields map to column 'n' (FoldDB ignores case)"));
    /* Each record counts on its own: the same field in the next is fine. */
    CHECK(planned(&f, one));
    CHECK(planned(&f, one));
    sl_columns_free(&f);
    sl_batch_free(b);
}

TEST(find_tries_the_hint_first_and_then_every_column)
{
    SlColumns c;
    sl_columns_init(&c, &exact);
    sl_columns_load(&c, "a", 1, T_INT);
    sl_columns_load(&c, "b", 1, T_INT);
    sl_columns_load(&c, "c", 1, T_INT);
    CHECK_EQ_INT(sl_columns_find(&c, "b", 1, 1), 1);
    CHECK_EQ_INT(sl_columns_find(&c, "b", 1, 0), 1);
    CHECK_EQ_INT(sl_columns_find(&c, "c", 1, 99), 2);
    CHECK_EQ_INT(sl_columns_find(&c, "ab", 2, 0), SL_NO_COLUMN);
    CHECK_EQ_INT(sl_columns_find(&c, "", 0, 0), SL_NO_COLUMN);
    sl_columns_free(&c);
}

TEST(many_columns_grow_the_table)
{
    SlBatch *b = sl_batch_new();
    SlColumns c;
    sl_columns_init(&c, &exact);
    SlRecord *r = sl_batch_add(b);
    char name[8];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "f%d", i);
        *sl_map_set(b, &r->fields, sl_copy_str(b, name, strlen(name)), strlen(name)) = sl_int(i);
    }
    CHECK(planned(&c, r));
    CHECK_EQ_INT(c.count, 100);
    CHECK(!strcmp(c.cols[99].name, "f99"));
    const SlValue *const *row = sl_columns_row(&c, r);
    CHECK_EQ_INT(row[57]->as.i, 57);
    sl_columns_free(&c);
    sl_batch_free(b);
}

/* ---- Rows -------------------------------------------------------------- */

TEST(a_row_puts_each_value_under_its_column)
{
    SlBatch *b = sl_batch_new();
    SlColumns c;
    sl_columns_init(&c, &folded);
    SlRecord *r = sl_batch_add(b);
    *field(b, r, "a") = sl_int(1);
    *field(b, r, "b") = text("x");
    *field(b, r, "c") = sl_float(2);
    CHECK(planned(&c, r));
    /* Fields in another order, one absent, one null never made a column,
    ** one named in another case. */
    r = sl_batch_add(b);
    *field(b, r, "C") = sl_float(3);
    *field(b, r, "nothing") = sl_null();
    *field(b, r, "a") = sl_int(4);
    CHECK(planned(&c, r));
    const SlValue *const *row = sl_columns_row(&c, r);
    CHECK(row[0] && row[0]->type == SL_INT && row[0]->as.i == 4);
    CHECK(row[1] == NULL);
    CHECK(row[2] && row[2]->type == SL_FLOAT && row[2]->as.f == 3);
    sl_columns_free(&c);
    sl_batch_free(b);
}

/* ---- Making the columns ------------------------------------------------ */

TEST(make_creates_the_table_then_adds_new_columns)
{
    SlBatch *b = sl_batch_new();
    SlColumns c;
    sl_columns_init(&c, &exact);
    Ddl d = { .log = "" };
    CHECK_EQ_INT(sl_columns_make(&c, create_table, add_column, &d), 0);
    CHECK(ddl_is(&d, "")); /* nothing planned: nothing to make */
    SlRecord *r = sl_batch_add(b);
    *field(b, r, "a") = sl_int(1);
    *field(b, r, "b") = sl_int(2);
    CHECK(planned(&c, r));
    CHECK_EQ_INT(sl_columns_make(&c, create_table, add_column, &d), 0);
    CHECK(ddl_is(&d, "CREATE(a,b) "));
    CHECK(c.table_exists);
    CHECK_EQ_INT(c.made, 2);
    CHECK_EQ_INT(sl_columns_make(&c, create_table, add_column, &d), 0);
    CHECK(ddl_is(&d, ""));
    r = sl_batch_add(b);
    *field(b, r, "c") = sl_int(3);
    *field(b, r, "d") = sl_int(4);
    CHECK(planned(&c, r));
    CHECK_EQ_INT(sl_columns_make(&c, create_table, add_column, &d), 0);
    CHECK(ddl_is(&d, "ADD(c) ADD(d) "));
    CHECK_EQ_INT(c.made, 4);
    sl_columns_free(&c);
    sl_batch_free(b);
}

TEST(a_loaded_table_only_gets_the_new_columns)
{
    SlBatch *b = sl_batch_new();
    SlColumns c;
    sl_columns_init(&c, &exact);
    sl_columns_load(&c, "id", 2, T_INT);
    sl_columns_load(&c, "note", 4, T_ANY);
    CHECK(c.table_exists);
    CHECK_EQ_INT(c.made, 2);
    SlRecord *r = sl_batch_add(b);
    *field(b, r, "note") = sl_float(1.5); /* ANY takes it */
    *field(b, r, "new") = sl_bool(true);
    CHECK(planned(&c, r));
    Ddl d = { .log = "" };
    CHECK_EQ_INT(sl_columns_make(&c, create_table, add_column, &d), 0);
    CHECK(ddl_is(&d, "ADD(new) "));
    CHECK(columns_are(&c, "id INT, note ANY, new INT"));
    /* Cleared, the columns are read again from nothing. */
    sl_columns_clear(&c);
    CHECK_EQ_INT(c.count, 0);
    CHECK_EQ_INT(c.made, 0);
    CHECK(!c.table_exists);
    sl_columns_free(&c);
    sl_batch_free(b);
}

TEST(a_rolled_back_transaction_makes_its_columns_again)
{
    SlBatch *b = sl_batch_new();
    SlColumns c;
    sl_columns_init(&c, &exact);
    SlRecord *r = sl_batch_add(b);
    *field(b, r, "a") = sl_int(1);
    CHECK(planned(&c, r));
    /* The CREATE fails: the failure comes back, nothing counts as made. */
    Ddl d = { .log = "", .fail_call = 1 };
    SlColumnsMark mark = sl_columns_mark(&c);
    CHECK_EQ_INT(sl_columns_make(&c, create_table, add_column, &d), DDL_FAILED);
    CHECK(!c.table_exists);
    CHECK_EQ_INT(c.made, 0);
    CHECK(ddl_is(&d, "CREATE(a) "));
    /* The CREATE works, then the transaction rolls back: make it again. */
    CHECK_EQ_INT(sl_columns_make(&c, create_table, add_column, &d), 0);
    CHECK(c.table_exists);
    sl_columns_rolled_back(&c, mark);
    CHECK(!c.table_exists);
    CHECK_EQ_INT(c.made, 0);
    CHECK_EQ_INT(sl_columns_make(&c, create_table, add_column, &d), 0);
    CHECK(ddl_is(&d, "CREATE(a) CREATE(a) "));
    /* An ADD fails half way: the columns before it are made. */
    r = sl_batch_add(b);
    *field(b, r, "b") = sl_int(2);
    *field(b, r, "c") = sl_int(3);
    CHECK(planned(&c, r));
    mark = sl_columns_mark(&c);
    d = (Ddl){ .log = "", .fail_call = 2 };
    CHECK_EQ_INT(sl_columns_make(&c, create_table, add_column, &d), DDL_FAILED);
    CHECK(ddl_is(&d, "ADD(b) ADD(c) "));
    CHECK_EQ_INT(c.made, 2);
    sl_columns_rolled_back(&c, mark);
    CHECK_EQ_INT(c.made, 1);
    CHECK(c.table_exists);
    /* Given up: the columns planned but never made are forgotten. */
    sl_columns_drop_planned(&c);
    CHECK(columns_are(&c, "a INT"));
    sl_columns_free(&c);
    sl_batch_free(b);
}

int main(void)
{
    RUN(first_record_plans_a_column_per_field_with_a_value);
    RUN(a_null_field_gets_its_column_from_a_later_value);
    RUN(the_first_value_decides_the_type_and_no_column_is_widened);
    RUN(a_column_that_takes_any_value_takes_them_all);
    RUN(the_rules_choose_the_type_of_a_new_column);
    RUN(a_rejected_record_plans_no_column);
    RUN(a_value_the_database_cannot_store_rejects_its_record);
    RUN(a_record_with_only_nulls_makes_no_table);
    RUN(names_that_cannot_be_columns_reject_their_record);
    RUN(names_that_need_quoting_are_kept_as_they_are);
    RUN(case_matters_only_where_the_database_says_so);
    RUN(two_fields_on_one_folded_column_reject_their_record);
    RUN(find_tries_the_hint_first_and_then_every_column);
    RUN(many_columns_grow_the_table);
    RUN(a_row_puts_each_value_under_its_column);
    RUN(make_creates_the_table_then_adds_new_columns);
    RUN(a_loaded_table_only_gets_the_new_columns);
    RUN(a_rolled_back_transaction_makes_its_columns_again);
    return unit_summary();
}
