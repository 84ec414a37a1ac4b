/*
** sqlite.c: the `sqlite` sink, Sluice's embedded default store. Records
** become rows of one table; each field is a column.
**
** The table is created from the fields of the first record, and a field
** seen for the first time later becomes a new column (ALTER TABLE ADD
** COLUMN). A column's type comes from the first non-null value of its field:
** int and bool INTEGER, float REAL, string TEXT, timestamp TEXT (RFC 3339,
** UTC) or INTEGER nanoseconds (`timestamps: integer`), array and map TEXT
** holding JSON. Tables the sink creates are STRICT. A value that does not fit
** its column (a string in an INTEGER column, a NaN) rejects its record with
** the reason; null and absent fields are both SQL NULL. Planning the
** columns is shared with the postgres sink (columns.h); this file says what
** SQLite's types take and writes its DDL.
**
** Each batch is one transaction (WAL mode, synchronous=NORMAL): a batch is
** written when process returns, and a committed batch survives the process
** being killed. Writing a batch happens in two phases: first every record
** is checked against the columns with no database access, so a rejection
** is decided once; then the transaction is written, and if the database is
** busy (another writer) it is rolled back and written again after a
** backoff, until `busy_timeout_ms` has passed.
*/
#include "../pipeline/component.h"
#include "../pipeline/encode.h"
#include "columns.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A column type; OTHER is a column of a table made elsewhere whose declared
** type is none of these: it takes any value. */
typedef enum ColType { COL_INTEGER, COL_REAL, COL_TEXT, COL_OTHER } ColType;

typedef struct SqliteSink {
    const char *path, *table;
    bool ts_integer;                /* timestamps as INTEGER nanoseconds */
    int64_t busy_timeout_ms;
    sqlite3 *db;
    sqlite3_stmt *begin, *commit, *rollback, *insert;
    SlColumnRules rules;            /* sqlite_columns, with this sink's timestamps */
    SlColumns columns;
    uint32_t insert_cols;           /* columns the insert statement names */
    SlBuf json;                     /* arrays and maps being bound */
    char error[256];                /* the last database error */
} SqliteSink;

static const char *const timestamp_choices[] = { "text", "integer", NULL };

static const SlSetting settings[] = {
    { .name = "path", .type = SL_SET_STRING, .required = true,
      .doc = "The database file (relative to the pipeline file), created if missing." },
    { .name = "table", .type = SL_SET_STRING, .def = "records",
      .doc = "The table, created from the first records if missing." },
    { .name = "timestamps", .type = SL_SET_STRING, .def = "text",
      .choices = timestamp_choices,
      .doc = "Timestamps as RFC 3339 TEXT, or INTEGER nanoseconds since 1970." },
    { .name = "busy_timeout_ms", .type = SL_SET_INT, .def = "10000", .min = 0,
      .max = 3600000, .doc = "How long to retry while another writer holds the database." },
    { 0 },
};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) abort();
    return p;
}

/* ---- Columns ----------------------------------------------------------- */

/* STRICT tables take an int in a REAL column; ANY takes everything. */
static const SlColumnType col_types[] = {
    [COL_INTEGER] = { "INTEGER", 0 },
    [COL_REAL] = { "REAL", SL_TAKES(SL_INT) },
    [COL_TEXT] = { "TEXT", 0 },
    [COL_OTHER] = { "ANY", SL_TAKES_ANY },
};

/* SQLite would store a NaN as NULL, silently. */
static bool storable(const SlField *f, char *why, size_t size)
{
    const SlValue *v = &f->value;
    if (v->type == SL_FLOAT && isnan(v->as.f))
        return snprintf(why, size, "field '%.*s' is NaN, which SQLite stores as NULL",
                        (int)f->name_len, f->name), false;
    return true;
}

/* With text timestamps; init changes where timestamps go for `timestamps:
** integer`. SQLite compares identifiers without regard to ASCII case. */
static const SlColumnRules sqlite_columns = {
    .db = "SQLite",
    .types = col_types,
    .new_type = {
        [SL_NULL] = SL_NO_COLUMN_TYPE, [SL_BOOL] = COL_INTEGER, [SL_INT] = COL_INTEGER,
        [SL_FLOAT] = COL_REAL, [SL_STRING] = COL_TEXT, [SL_TIMESTAMP] = COL_TEXT,
        [SL_ARRAY] = COL_TEXT, [SL_MAP] = COL_TEXT,
    },
    .ignore_case = true,
    .quote = '\'',
    .storable = storable,
};

/* The affinity rules of SQLite (section 3.1 of its datatype page), so
** that a table made elsewhere is checked the way SQLite would store it. */
static ColType type_declared(const char *decl)
{
    if (!decl) return COL_OTHER;
    if (sqlite3_strglob("*[Ii][Nn][Tt]*", decl) == 0) return COL_INTEGER;
    if (sqlite3_strglob("*[Cc][Hh][Aa][Rr]*", decl) == 0 ||
        sqlite3_strglob("*[Cc][Ll][Oo][Bb]*", decl) == 0 ||
        sqlite3_strglob("*[Tt][Ee][Xx][Tt]*", decl) == 0)
        return COL_TEXT;
    if (sqlite3_strglob("*[Rr][Ee][Aa][Ll]*", decl) == 0 ||
        sqlite3_strglob("*[Ff][Ll][Oo][Aa]*", decl) == 0 ||
        sqlite3_strglob("*[Dd][Oo][Uu][Bb]*", decl) == 0)
        return COL_REAL;
    return COL_OTHER;
}

/* ---- Phase 2: writing the transaction ---------------------------------- */

/* The outcome of a database step: done, the record alone is refused (a
** constraint of a table made elsewhere), busy, or the database is broken. */
typedef enum Outcome { DONE, REFUSED, BUSY, BROKEN } Outcome;

static Outcome outcome(SqliteSink *s, int rc)
{
    if (rc == SQLITE_DONE || rc == SQLITE_OK || rc == SQLITE_ROW) return DONE;
    snprintf(s->error, sizeof s->error, "%s", sqlite3_errmsg(s->db));
    int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return BUSY;
    /* An error that rolled the transaction back breaks the batch. */
    if (sqlite3_get_autocommit(s->db)) return BROKEN;
    if (primary == SQLITE_CONSTRAINT || primary == SQLITE_TOOBIG || primary == SQLITE_MISMATCH)
        return REFUSED;
    return BROKEN;
}

static Outcome run_stmt(SqliteSink *s, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return outcome(s, rc);
}

static Outcome exec_sql(SqliteSink *s, char *sql)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    sqlite3_free(sql);
    return rc == SQLITE_OK ? DONE : outcome(s, rc);
}

static char *column_list(const SlColumns *c, bool with_types)
{
    char *sql = sqlite3_mprintf("%s", "");
    for (uint32_t i = 0; i < c->count && sql; i++) {
        char *next = sqlite3_mprintf("%z%s\"%w\"%s%s", sql, i ? ", " : "", c->cols[i].name,
                                     with_types ? " " : "",
                                     with_types ? sl_column_type_sql(c, &c->cols[i]) : "");
        sql = next;
    }
    if (!sql) abort();
    return sql;
}

/* The DDL of sl_columns_make, whose success is 0: DONE. */
static int create_table(void *sink, const SlColumns *c)
{
    SqliteSink *s = sink;
    return (int)exec_sql(s, sqlite3_mprintf("CREATE TABLE \"%w\" (%z) STRICT", s->table,
                                            column_list(c, true)));
}

static int add_column(void *sink, const SlColumn *col)
{
    SqliteSink *s = sink;
    return (int)exec_sql(s, sqlite3_mprintf("ALTER TABLE \"%w\" ADD COLUMN \"%w\" %s", s->table,
                                            col->name, sl_column_type_sql(&s->columns, col)));
}

/* Creates the table or adds the planned columns. */
static Outcome make_columns(SqliteSink *s)
{
    return (Outcome)sl_columns_make(&s->columns, create_table, add_column, s);
}

static Outcome prepare_insert(SqliteSink *s)
{
    if (s->insert && s->insert_cols == s->columns.count) return DONE;
    sqlite3_finalize(s->insert);
    s->insert = NULL;
    char *places = sqlite3_mprintf("%s", "?");
    for (uint32_t i = 1; i < s->columns.count && places; i++)
        places = sqlite3_mprintf("%z, ?", places);
    char *sql = sqlite3_mprintf("INSERT INTO \"%w\" (%z) VALUES (%z)", s->table,
                                column_list(&s->columns, false), places);
    if (!sql) abort();
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->insert, NULL);
    sqlite3_free(sql);
    s->insert_cols = s->columns.count;
    return rc == SQLITE_OK ? DONE : outcome(s, rc);
}

/* Binds one value; returns the bytes it stands for. */
static int bind_value(SqliteSink *s, int at, const SlValue *v, uint64_t *bytes)
{
    char ts[40];
    switch (v->type) {
    case SL_BOOL: *bytes += 1; return sqlite3_bind_int(s->insert, at, v->as.b);
    case SL_INT: *bytes += 8; return sqlite3_bind_int64(s->insert, at, v->as.i);
    case SL_FLOAT: *bytes += 8; return sqlite3_bind_double(s->insert, at, v->as.f);
    case SL_STRING:
        *bytes += v->len;
        /* A NULL pointer would bind SQL NULL, not the empty string. */
        return sqlite3_bind_text64(s->insert, at, v->len ? v->as.s : "", v->len,
                                   SQLITE_STATIC, SQLITE_UTF8);
    case SL_TIMESTAMP:
        *bytes += 8;
        if (s->ts_integer) return sqlite3_bind_int64(s->insert, at, v->as.ns);
        return sqlite3_bind_text(s->insert, at, ts, (int)sl_format_time(v->as.ns, ts),
                                 SQLITE_TRANSIENT);
    case SL_ARRAY: case SL_MAP:
        s->json.len = 0;
        sl_json_value(&s->json, v);
        *bytes += s->json.len;
        return sqlite3_bind_text64(s->insert, at, s->json.data, s->json.len,
                                   SQLITE_TRANSIENT, SQLITE_UTF8);
    default: return SQLITE_OK; /* null: cleared already */
    }
}

static Outcome insert_record(SqliteSink *s, const SlRecord *r, uint64_t *bytes)
{
    sqlite3_clear_bindings(s->insert);
    const SlValue *const *row = sl_columns_row(&s->columns, r);
    for (uint32_t col = 0; col < s->columns.count; col++) {
        if (!row[col]) continue; /* absent, or a null never given a column */
        int rc = bind_value(s, (int)col + 1, row[col], bytes);
        if (rc != SQLITE_OK) return outcome(s, rc);
    }
    return run_stmt(s, s->insert);
}

/* Records the database refused one by one (phase 2), rejected only once
** their transaction has committed, so that a retry cannot reject twice. */
typedef struct Refusals {
    uint32_t *index;
    const char **why;               /* in the batch */
    uint32_t count;
} Refusals;

static void refuse(SlBatch *b, Refusals *r, uint32_t index, const char *why)
{
    r->index[r->count] = index;
    r->why[r->count++] = sl_copy_str(b, why, strlen(why));
}

static Outcome write_batch(SqliteSink *s, SlBatch *b, Refusals *refused, uint64_t *bytes)
{
    Outcome o = run_stmt(s, s->begin);
    if (o != DONE) return o;
    o = make_columns(s);
    if (o == DONE) o = prepare_insert(s);
    for (uint32_t i = 0; o == DONE && i < b->count; i++) {
        o = insert_record(s, &b->records[i], bytes);
        if (o == REFUSED) {
            refuse(b, refused, i, s->error);
            o = DONE;
        }
    }
    if (o == DONE) o = run_stmt(s, s->commit);
    if (o != DONE && !sqlite3_get_autocommit(s->db)) run_stmt(s, s->rollback);
    return o;
}

static void sleep_ms(int64_t ms)
{
    struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
    nanosleep(&t, NULL);
}

/* Writes the batch, starting over after a backoff while the database is
** busy. A rolled-back attempt made no column: they are made again. */
static Outcome write_with_retry(SqliteSink *s, SlBatch *b, Refusals *refused,
                                uint64_t *bytes)
{
    SlColumnsMark made = sl_columns_mark(&s->columns);
    int64_t waited = 0, delay = 1;
    for (;;) {
        refused->count = 0;
        *bytes = 0;
        Outcome o = write_batch(s, b, refused, bytes);
        if (o == DONE) return o;
        sl_columns_rolled_back(&s->columns, made);
        sqlite3_finalize(s->insert);
        s->insert = NULL;
        if (o != BUSY || waited >= s->busy_timeout_ms) return o;
        sleep_ms(delay);
        waited += delay;
        delay = delay * 2 > 1000 ? 1000 : delay * 2;
    }
}

static void write_records(SlCtx *ctx, SqliteSink *s, SlBatch *b)
{
    Refusals refused = {
        .index = sl_alloc(b, b->count * sizeof *refused.index),
        .why = sl_alloc(b, b->count * sizeof *refused.why),
    };
    uint64_t bytes;
    Outcome o = write_with_retry(s, b, &refused, &bytes);
    if (o != DONE) {
        sl_columns_drop_planned(&s->columns);
        for (uint32_t i = 0; i < b->count; i++)
            sl_reject(ctx, b, i, "not stored: %s", s->error);
        sl_fail(ctx, "%s: %s", s->path, s->error);
        return;
    }
    for (uint32_t k = 0; k < refused.count; k++)
        sl_reject(ctx, b, refused.index[k], "%s", refused.why[k]);
    sl_count_bytes_out(ctx, bytes);
}

static void process(SlCtx *ctx, SlBatch *b)
{
    SqliteSink *s = sl_state(ctx);
    /* Phase 1: the records that cannot be stored are rejected here. */
    sl_columns_plan_batch(ctx, &s->columns, b);
    if (b->count) write_records(ctx, s, b);
    sl_batch_free(b);
}

/* ---- Opening and closing ----------------------------------------------- */

/* Reads the columns of an existing table; none if it does not exist. */
static bool load_columns(SqliteSink *s)
{
    sqlite3_stmt *info;
    char *sql = sqlite3_mprintf("SELECT name, type FROM pragma_table_info(%Q)", s->table);
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &info, NULL);
    sqlite3_free(sql);
    if (rc != SQLITE_OK) return false;
    while ((rc = sqlite3_step(info)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(info, 0);
        sl_columns_load(&s->columns, name, strlen(name),
                        type_declared((const char *)sqlite3_column_text(info, 1)));
    }
    sqlite3_finalize(info);
    return rc == SQLITE_DONE;
}

static bool prepare(SqliteSink *s, const char *sql, sqlite3_stmt **stmt)
{
    return sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) == SQLITE_OK;
}

static int start(SlCtx *ctx)
{
    SqliteSink *s = sl_state(ctx);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    /* WAL: readers never block this writer; synchronous=NORMAL: a commit is
    ** durable once written to the WAL, which survives the process dying.
    ** While opening, SQLite's own busy handler waits for other writers;
    ** batches then use the retry of write_with_retry. */
    bool ok = sqlite3_open_v2(s->path, &s->db, flags, NULL) == SQLITE_OK &&
              sqlite3_busy_timeout(s->db, (int)s->busy_timeout_ms) == SQLITE_OK &&
              sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
                           NULL, NULL, NULL) == SQLITE_OK &&
              load_columns(s) && prepare(s, "BEGIN IMMEDIATE", &s->begin) &&
              prepare(s, "COMMIT", &s->commit) && prepare(s, "ROLLBACK", &s->rollback) &&
              sqlite3_busy_timeout(s->db, 0) == SQLITE_OK;
    if (!ok) {
        sl_fail(ctx, "cannot open %s: %s", s->path,
                s->db ? sqlite3_errmsg(s->db) : "out of memory");
        return -1;
    }
    return 0;
}

static void close_db(SqliteSink *s)
{
    sqlite3_finalize(s->begin);
    sqlite3_finalize(s->commit);
    sqlite3_finalize(s->rollback);
    sqlite3_finalize(s->insert);
    s->begin = s->commit = s->rollback = s->insert = NULL;
    sqlite3_close(s->db);
    s->db = NULL;
}

/* Every batch is committed already; closing checkpoints the WAL into the
** database file. */
static void finish(SlCtx *ctx)
{
    close_db(sl_state(ctx));
}

static void destroy(void *state)
{
    SqliteSink *s = state;
    if (!s) return;
    close_db(s);
    sl_columns_free(&s->columns);
    sl_buf_free(&s->json);
    free(s);
}

static int init(SlCtx *ctx, const SlConf *conf)
{
    SqliteSink *s = xcalloc(1, sizeof *s);
    sl_set_state(ctx, s);
    s->path = sl_path(ctx, sl_conf_str(conf, "path", NULL));
    s->table = sl_conf_str(conf, "table", "records");
    s->ts_integer = !strcmp(sl_conf_str(conf, "timestamps", "text"), "integer");
    s->rules = sqlite_columns;
    if (s->ts_integer) s->rules.new_type[SL_TIMESTAMP] = COL_INTEGER;
    sl_columns_init(&s->columns, &s->rules);
    s->busy_timeout_ms = sl_conf_int(conf, "busy_timeout_ms", 10000);
    if (!*s->table) {
        sl_conf_error(ctx, sl_conf_get(conf, "table"), "the table name is empty");
        return -1;
    }
    return 0;
}

const SlComponentType sl_sink_sqlite = {
    .name = "sqlite",
    .kind = SL_SINK,
    .doc = "Stores records as rows of a SQLite table, adding columns as new fields appear.",
    .settings = settings,
    .init = init,
    .start = start,
    .process = process,
    .finish = finish,
    .destroy = destroy,
};
