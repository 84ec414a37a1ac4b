/*
** postgres.c: the `postgres` sink. Records become rows of one PostgreSQL
** table, written with COPY FROM STDIN (text format) over libpq; each field
** is a column.
**
** The table is created from the fields of the first records, and a field
** seen for the first time later becomes a new column (ALTER TABLE ADD COLUMN
** IF NOT EXISTS), both inside the batch's transaction. A column's type comes
** from the first non-null value of its field: bool BOOLEAN, int BIGINT,
** float DOUBLE PRECISION, string TEXT, timestamp TIMESTAMPTZ, array and map
** JSONB. A value that does not fit its column (a string in a BIGINT column)
** rejects its record with the reason, before anything is sent. Planning
** the columns is shared with the sqlite sink (columns.h); this file says
** what PostgreSQL's types take and writes its DDL.
**
** Each batch is one transaction, so a batch is written exactly when its
** COMMIT succeeds. The rows are copied under a savepoint; if the server
** refuses a row (a data or constraint error), the range is rolled back to
** the savepoint and copied again in halves, down to the refused rows, which
** go to the error output while every other row is written. A lost
** connection (the server restarting) or another transient error rolls the
** batch back and writes it again on a new connection after an exponential
** backoff with jitter, until it is written (or `retries` times: only then
** do its records go to the error output, with the last error).
*/
#include "../pipeline/component.h"
#include "../pipeline/encode.h"
#include "../pipeline/retry.h"
#include "columns.h"

#include <math.h>
#include <postgresql/libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* NAMEDATALEN - 1: PostgreSQL cuts longer identifiers short, silently. */
enum { MAX_IDENTIFIER = 63, COPY_CHUNK = 1 << 20 };

/* A column type; OTHER is a column of a table made elsewhere whose type is
** none of these: it takes any value, and the server checks it. */
typedef enum ColType {
    COL_BOOLEAN, COL_BIGINT, COL_DOUBLE, COL_TEXT, COL_TIMESTAMPTZ, COL_JSONB, COL_OTHER
} ColType;

/* Records the server refused, rejected once their transaction commits so
** that a retried batch cannot reject a record twice. */
typedef struct Refusals {
    uint32_t *index;
    const char **why;               /* in the batch */
    uint32_t count;
} Refusals;

typedef struct PgSink {
    const char *keys[16], *values[16]; /* the connection parameters, NULL-ended */
    const char *table;
    int64_t retries;
    SlBackoff backoff;
    PGconn *conn;
    bool columns_loaded;
    SlColumns columns;
    SlBuf rows;                     /* the batch in COPY text format */
    size_t *row_end;                /* per record: where its row ends in rows */
    SlBuf sql, json;
    Refusals refused;
    char error[512];                /* the last database error */
} PgSink;

static const SlSetting settings[] = {
    { .name = "conninfo", .type = SL_SET_STRING,
      .doc = "A libpq connection string or URI (the settings below override its parts)." },
    { .name = "host", .type = SL_SET_STRING, .doc = "The server's host name, address or socket directory." },
    { .name = "port", .type = SL_SET_STRING, .doc = "The server's port." },
    { .name = "dbname", .type = SL_SET_STRING, .doc = "The database." },
    { .name = "user", .type = SL_SET_STRING, .doc = "The user to connect as." },
    { .name = "password", .type = SL_SET_STRING, .doc = "The user's password (use ${ENV})." },
    { .name = "table", .type = SL_SET_STRING, .def = "records",
      .doc = "The table, created from the first records if missing." },
    { .name = "connect_timeout_s", .type = SL_SET_STRING, .def = "10",
      .doc = "How long one connection attempt may take, in seconds (a connect_timeout in conninfo wins)." },
    SL_RETRIES_SETTING("a batch's transaction"),
    SL_BACKOFF_SETTINGS("200", "30000"),
    { 0 },
};

/* ---- Columns ----------------------------------------------------------- */

/* Text and JSONB take any value (JSONB as its JSON); a string may hold a
** time the server reads. Other mismatches would only fail on the server. */
static const SlColumnType col_types[] = {
    [COL_BOOLEAN] = { "BOOLEAN", 0 },
    [COL_BIGINT] = { "BIGINT", 0 },
    [COL_DOUBLE] = { "DOUBLE PRECISION", SL_TAKES(SL_INT) },
    [COL_TEXT] = { "TEXT", SL_TAKES_ANY },
    [COL_TIMESTAMPTZ] = { "TIMESTAMPTZ", SL_TAKES(SL_STRING) },
    [COL_JSONB] = { "JSONB", SL_TAKES_ANY },
    [COL_OTHER] = { "(other)", SL_TAKES_ANY },
};

/* PostgreSQL's text types cannot hold a NUL byte, whatever the column. */
static bool storable(const SlField *f, char *why, size_t size)
{
    const SlValue *v = &f->value;
    if (v->type == SL_STRING && memchr(v->as.s, 0, v->len))
        return snprintf(why, size, "field '%.*s' holds a NUL byte, which PostgreSQL text cannot",
                        (int)f->name_len, f->name), false;
    return true;
}

static const SlColumnRules pg_columns = {
    .db = "PostgreSQL",
    .types = col_types,
    .new_type = {
        [SL_NULL] = SL_NO_COLUMN_TYPE, [SL_BOOL] = COL_BOOLEAN, [SL_INT] = COL_BIGINT,
        [SL_FLOAT] = COL_DOUBLE, [SL_STRING] = COL_TEXT, [SL_TIMESTAMP] = COL_TIMESTAMPTZ,
        [SL_ARRAY] = COL_JSONB, [SL_MAP] = COL_JSONB,
    },
    .ignore_case = false,           /* quoted identifiers are case-sensitive */
    .max_name = MAX_IDENTIFIER,
    .quote = '"',
    .storable = storable,
};

/* The type of a column of an existing table, from format_type(). */
static ColType type_declared(const char *decl)
{
    static const struct { const char *sql; ColType type; } known[] = {
        { "boolean", COL_BOOLEAN }, { "bigint", COL_BIGINT }, { "integer", COL_BIGINT },
        { "smallint", COL_BIGINT }, { "double precision", COL_DOUBLE }, { "real", COL_DOUBLE },
        { "numeric", COL_DOUBLE }, { "text", COL_TEXT }, { "character varying", COL_TEXT },
        { "timestamp with time zone", COL_TIMESTAMPTZ }, { "jsonb", COL_JSONB },
        { "json", COL_JSONB },
    };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (!strcmp(decl, known[i].sql)) return known[i].type;
    return COL_OTHER;
}

/* ---- Rows in COPY text format ------------------------------------------ */

/* COPY text reads a backslash as an escape and tab and newline as ends. */
static void put_escaped(SlBuf *out, const char *s, size_t len)
{
    sl_buf_reserve(out, len);
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        const char *esc = c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n"
                        : c == '\r' ? "\\r" : NULL;
        if (esc)
            sl_buf_put(out, esc, 2);
        else
            sl_buf_putc(out, c);
    }
}

static void put_float(SlBuf *out, double f)
{
    if (isnan(f))
        sl_buf_put(out, "NaN", 3);
    else if (isinf(f))
        sl_buf_put(out, f > 0 ? "Infinity" : "-Infinity", f > 0 ? 8 : 9);
    else
        sl_json_value(out, &(SlValue){ .type = SL_FLOAT, .as.f = f });
}

static void put_value(PgSink *s, const SlValue *v, ColType col)
{
    SlBuf *out = &s->rows;
    char ts[40];
    if (col == COL_JSONB && v->type != SL_NULL) {
        s->json.len = 0;
        sl_json_value(&s->json, v);
        put_escaped(out, s->json.data, s->json.len);
        return;
    }
    switch (v->type) {
    case SL_BOOL: sl_buf_put(out, v->as.b ? "true" : "false", v->as.b ? 4 : 5); break;
    case SL_INT: sl_json_value(out, v); break;
    case SL_FLOAT: put_float(out, v->as.f); break;
    case SL_STRING: put_escaped(out, v->as.s, v->len); break;
    case SL_TIMESTAMP: sl_buf_put(out, ts, sl_format_time(v->as.ns, ts)); break;
    case SL_ARRAY: case SL_MAP:
        s->json.len = 0;
        sl_json_value(&s->json, v);
        put_escaped(out, s->json.data, s->json.len);
        break;
    default: sl_buf_put(out, "\\N", 2);
    }
}

/* One row: every column in table order, \N where the record has no value. */
static void encode_row(PgSink *s, const SlRecord *r)
{
    const SlValue *const *row = sl_columns_row(&s->columns, r);
    for (uint32_t c = 0; c < s->columns.count; c++) {
        if (c) sl_buf_putc(&s->rows, '\t');
        if (row[c])
            put_value(s, row[c], s->columns.cols[c].type);
        else
            sl_buf_put(&s->rows, "\\N", 2);
    }
    sl_buf_putc(&s->rows, '\n');
}

/* ---- Talking to the server --------------------------------------------- */

/* What a failed command means: the record alone is refused (a data or
** constraint error), the batch may succeed later (the connection, the
** server shutting down, a deadlock), or the batch cannot be written. */
typedef enum Outcome { DONE, ROW_REFUSED, TRANSIENT, BROKEN } Outcome;

static Outcome judge(PgSink *s, PGresult *res, ExecStatusType wanted)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == wanted) return DONE;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    snprintf(s->error, sizeof s->error, "%s", msg ? msg : PQerrorMessage(s->conn));
    s->error[strcspn(s->error, "\n")] = 0;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (PQstatus(s->conn) != CONNECTION_OK || !state) return TRANSIENT;
    if (!strncmp(state, "22", 2) || !strncmp(state, "23", 2)) return ROW_REFUSED;
    if (!strncmp(state, "08", 2) || !strncmp(state, "40", 2) || !strncmp(state, "53", 2) ||
        !strncmp(state, "57", 2))
        return TRANSIENT;
    return BROKEN;
}

static Outcome run_sql(PgSink *s, const char *sql)
{
    PGresult *res = PQexec(s->conn, sql);
    Outcome o = judge(s, res, PGRES_COMMAND_OK);
    PQclear(res);
    return o;
}

/* Appends a quoted identifier: "name", doubling quotes inside. */
static void put_ident(SlBuf *out, const char *name, size_t len)
{
    sl_buf_putc(out, '"');
    for (size_t i = 0; i < len; i++) {
        if (name[i] == '"') sl_buf_putc(out, '"');
        sl_buf_putc(out, name[i]);
    }
    sl_buf_putc(out, '"');
}

static void sql_start(PgSink *s, const char *text)
{
    s->sql.len = 0;
    sl_buf_put(&s->sql, text, strlen(text));
}

static void sql_add(PgSink *s, const char *text)
{
    sl_buf_put(&s->sql, text, strlen(text));
}

static Outcome sql_run(PgSink *s)
{
    sl_buf_putc(&s->sql, 0);
    return run_sql(s, s->sql.data);
}

/* Appends a column's definition: its quoted name and its type. */
static void put_column_def(PgSink *s, const SlColumn *col)
{
    put_ident(&s->sql, col->name, col->len);
    sql_add(s, " ");
    sql_add(s, sl_column_type_sql(&s->columns, col));
}

/* The DDL of sl_columns_make, whose success is 0: DONE. */
static int create_table(void *sink, const SlColumns *c)
{
    PgSink *s = sink;
    sql_start(s, "CREATE TABLE IF NOT EXISTS ");
    put_ident(&s->sql, s->table, strlen(s->table));
    for (uint32_t i = 0; i < c->count; i++) {
        sql_add(s, i ? ", " : " (");
        put_column_def(s, &c->cols[i]);
    }
    sql_add(s, ")");
    return (int)sql_run(s);
}

static int add_column(void *sink, const SlColumn *col)
{
    PgSink *s = sink;
    sql_start(s, "ALTER TABLE ");
    put_ident(&s->sql, s->table, strlen(s->table));
    sql_add(s, " ADD COLUMN IF NOT EXISTS ");
    put_column_def(s, col);
    return (int)sql_run(s);
}

/* Creates the table or adds the planned columns. */
static Outcome make_columns(PgSink *s)
{
    return (Outcome)sl_columns_make(&s->columns, create_table, add_column, s);
}

static size_t row_start(const PgSink *s, uint32_t i)
{
    return i ? s->row_end[i - 1] : 0;
}

/* One COPY of rows [lo, hi). */
static Outcome copy_rows(PgSink *s, uint32_t lo, uint32_t hi)
{
    sql_start(s, "COPY ");
    put_ident(&s->sql, s->table, strlen(s->table));
    for (uint32_t i = 0; i < s->columns.count; i++) {
        sql_add(s, i ? ", " : " (");
        put_ident(&s->sql, s->columns.cols[i].name, s->columns.cols[i].len);
    }
    sql_add(s, ") FROM STDIN");
    sl_buf_putc(&s->sql, 0);
    PGresult *res = PQexec(s->conn, s->sql.data);
    Outcome o = judge(s, res, PGRES_COPY_IN);
    PQclear(res);
    if (o != DONE) return o;
    const char *data = s->rows.data + row_start(s, lo);
    size_t left = s->row_end[hi - 1] - row_start(s, lo);
    bool sent = true;
    while (left && sent) {
        int n = left < COPY_CHUNK ? (int)left : COPY_CHUNK;
        sent = PQputCopyData(s->conn, data, n) == 1;
        data += n;
        left -= (size_t)n;
    }
    PQputCopyEnd(s->conn, sent ? NULL : "the connection failed while sending rows");
    res = PQgetResult(s->conn);
    o = judge(s, res, PGRES_COMMAND_OK);
    PQclear(res);
    while ((res = PQgetResult(s->conn))) PQclear(res);
    return o;
}

static void refuse(PgSink *s, SlBatch *b, uint32_t index)
{
    Refusals *r = &s->refused;
    r->index[r->count] = index;
    r->why[r->count++] = sl_copy_str(b, s->error, strlen(s->error));
}

/* Copies rows [lo, hi) under a savepoint; if the server refuses a row,
** rolls back and copies each half, down to the single refused rows. */
static Outcome copy_range(PgSink *s, SlBatch *b, uint32_t lo, uint32_t hi)
{
    Outcome o = run_sql(s, "SAVEPOINT batch_rows");
    if (o == DONE) o = copy_rows(s, lo, hi);
    if (o == DONE) return run_sql(s, "RELEASE SAVEPOINT batch_rows");
    if (o != ROW_REFUSED) return o;
    o = run_sql(s, "ROLLBACK TO SAVEPOINT batch_rows");
    if (o != DONE) return o;
    if (hi - lo == 1) {
        /* The failed copy's reason: the rollback succeeded, so s->error
        ** still holds it. */
        refuse(s, b, lo);
        return DONE;
    }
    uint32_t mid = lo + (hi - lo) / 2;
    o = copy_range(s, b, lo, mid);
    return o == DONE ? copy_range(s, b, mid, hi) : o;
}

/* One attempt at the batch's transaction. A failed attempt is rolled back
** and made no column: they are made again by the next. */
static Outcome write_batch(PgSink *s, SlBatch *b)
{
    SlColumnsMark made = sl_columns_mark(&s->columns);
    s->refused.count = 0;
    Outcome o = run_sql(s, "BEGIN");
    if (o == DONE) o = make_columns(s);
    if (o == DONE) o = copy_range(s, b, 0, b->count);
    if (o == DONE) o = run_sql(s, "COMMIT");
    if (o == DONE) return DONE;
    if (PQstatus(s->conn) == CONNECTION_OK && PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
        char why[sizeof s->error];
        memcpy(why, s->error, sizeof why); /* keep the reason, not the rollback's */
        run_sql(s, "ROLLBACK");
        memcpy(s->error, why, sizeof why);
    }
    sl_columns_rolled_back(&s->columns, made);
    return o == ROW_REFUSED ? BROKEN : o;
}

/* Reads the columns of the table if it exists. Only when none are known:
** a new connection keeps what this sink knows, which includes the columns
** of the batch being written. */
static Outcome load_columns(PgSink *s)
{
    s->sql.len = 0;
    put_ident(&s->sql, s->table, strlen(s->table));
    sl_buf_putc(&s->sql, 0);
    const char *params[1] = { s->sql.data };
    PGresult *res = PQexecParams(s->conn,
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        1, NULL, params, NULL, NULL, 0);
    Outcome o = judge(s, res, PGRES_TUPLES_OK);
    for (int i = 0; o == DONE && i < PQntuples(res); i++) {
        const char *name = PQgetvalue(res, i, 0);
        sl_columns_load(&s->columns, name, strlen(name), type_declared(PQgetvalue(res, i, 1)));
    }
    PQclear(res);
    if (o != DONE) return o;
    s->columns_loaded = true;
    return DONE;
}

/* The server's notices ("column already exists, skipping") are expected:
** they must not reach stderr. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg, (void)message;
}

/* Connects if not connected, and learns the table's columns if they are
** not known; false (with the reason) if it cannot. */
static bool connected(PgSink *s)
{
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        PQfinish(s->conn);
        s->conn = PQconnectdbParams(s->keys, s->values, 1);
        if (PQstatus(s->conn) != CONNECTION_OK) {
            snprintf(s->error, sizeof s->error, "cannot connect: %s", PQerrorMessage(s->conn));
            s->error[strcspn(s->error, "\n")] = 0;
            return false;
        }
        PQsetNoticeProcessor(s->conn, ignore_notice, NULL);
    }
    return s->columns_loaded || load_columns(s) == DONE;
}

/* ---- Retrying ---------------------------------------------------------- */



typedef Outcome (*Step)(PgSink *s, SlBatch *b);

static Outcome nothing_more(PgSink *s, SlBatch *b)
{
    (void)s, (void)b;
    return DONE;
}

/* Runs `step` on a live connection, reconnecting after a backoff while
** it fails for a transient reason, as `retries` allows. */
static Outcome with_retries(SlCtx *ctx, PgSink *s, Step step, SlBatch *b)
{
    for (int64_t attempt = 0;; attempt++) {
        Outcome o = connected(s) ? step(s, b) : TRANSIENT;
        if (o != TRANSIENT) return o;
        if (!sl_retry_left(s->retries, attempt)) {
            /* The reason is cut to leave room for the prefix, which has
            ** at most 45 bytes. */
            char why[sizeof s->error];
            memcpy(why, s->error, sizeof why);
            snprintf(s->error, sizeof s->error, "gave up after %lld attempts: %.*s",
                     (long long)attempt + 1, (int)sizeof s->error - 48, why);
            return o;
        }
        sl_retry_wait(ctx, &s->backoff, attempt, s->retries, s->error);
    }
}

/* ---- Batches ----------------------------------------------------------- */

static void reject_all(SlCtx *ctx, PgSink *s, SlBatch *b)
{
    for (uint32_t i = 0; i < b->count; i++) sl_reject(ctx, b, i, "not stored: %s", s->error);
}

static void encode_batch(PgSink *s, SlBatch *b)
{
    s->rows.len = 0;
    s->row_end = sl_xrealloc(s->row_end, b->count * sizeof *s->row_end);
    for (uint32_t i = 0; i < b->count; i++) {
        encode_row(s, &b->records[i]);
        s->row_end[i] = s->rows.len;
    }
    s->refused.index = sl_alloc(b, b->count * sizeof *s->refused.index);
    s->refused.why = sl_alloc(b, b->count * sizeof *s->refused.why);
}

static void process(SlCtx *ctx, SlBatch *b)
{
    PgSink *s = sl_state(ctx);
    /* The table's columns must be known before records are checked. */
    if (!s->columns_loaded && with_retries(ctx, s, nothing_more, b) != DONE) {
        reject_all(ctx, s, b);
    } else {
        sl_columns_plan_batch(ctx, &s->columns, b);
        encode_batch(s, b);
        if (b->count && with_retries(ctx, s, write_batch, b) != DONE) {
            /* The table may have changed under us (a column dropped): the
            ** next batch reads its columns again. */
            sl_columns_clear(&s->columns);
            s->columns_loaded = false;
            reject_all(ctx, s, b);
        } else {
            for (uint32_t k = 0; k < s->refused.count; k++)
                sl_reject(ctx, b, s->refused.index[k], "%s", s->refused.why[k]);
            sl_count_bytes_out(ctx, s->rows.len);
        }
    }
    sl_batch_free(b);
}

/* ---- Opening and closing ----------------------------------------------- */

/* A server that is down at start is not an error: batches retry. */
static int start(SlCtx *ctx)
{
    PgSink *s = sl_state(ctx);
    if (!connected(s)) sl_log(ctx, "%s (batches will retry)", s->error);
    return 0;
}

static void destroy(void *state)
{
    PgSink *s = state;
    if (!s) return;
    PQfinish(s->conn);
    sl_columns_free(&s->columns);
    free(s->row_end);
    sl_buf_free(&s->rows);
    sl_buf_free(&s->sql);
    sl_buf_free(&s->json);
    free(s);
}

static void finish(SlCtx *ctx)
{
    PgSink *s = sl_state(ctx);
    PQfinish(s->conn);
    s->conn = NULL;
}

/* The libpq parameters. Sluice's defaults come first, so that conninfo
** (passed as dbname, which libpq expands) can override them; the separate
** settings come last and override conninfo's parts. TCP keepalives make a
** silently dropped connection fail within about a minute instead of
** blocking a worker for hours. */
static void read_connection(PgSink *s, const SlConf *conf)
{
    static const char *const names[] = { "conninfo", "host", "port", "dbname", "user", "password" };
    static const char *const defaults[][2] = {
        { "application_name", "sluice" }, { "keepalives_idle", "30" },
        { "keepalives_interval", "10" }, { "keepalives_count", "3" },
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++) {
        s->keys[n] = defaults[i][0];
        s->values[n++] = defaults[i][1];
    }
    s->keys[n] = "connect_timeout";
    s->values[n++] = sl_conf_str(conf, "connect_timeout_s", "10");
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = sl_conf_str(conf, names[i], NULL);
        if (!v) continue;
        s->keys[n] = i == 0 ? "dbname" : names[i];
        s->values[n++] = v;
    }
    s->keys[n] = NULL;
}

static int init(SlCtx *ctx, const SlConf *conf)
{
    PgSink *s = calloc(1, sizeof *s);
    if (!s) abort();
    sl_set_state(ctx, s);
    sl_columns_init(&s->columns, &pg_columns);
    s->table = sl_conf_str(conf, "table", "records");
    s->retries = sl_conf_int(conf, "retries", SL_RETRIES_FOREVER);
    sl_backoff_init(&s->backoff, sl_conf_int(conf, "backoff_ms", 200),
                    sl_conf_int(conf, "max_backoff_ms", 30000));
    read_connection(s, conf);
    int status = 0;
    if (!*s->table || strlen(s->table) > MAX_IDENTIFIER) {
        sl_conf_error(ctx, sl_conf_get(conf, "table"), "the table name must have 1 to %d bytes",
                      MAX_IDENTIFIER);
        status = -1;
    }
    if (!sl_conf_get(conf, "conninfo") && !sl_conf_get(conf, "dbname") && !sl_conf_get(conf, "host")) {
        sl_conf_error(ctx, conf, "say where the database is: conninfo, or host/port/dbname/user");
        status = -1;
    }
    return status;
}

const SlComponentType sl_sink_postgres = {
    .name = "postgres",
    .kind = SL_SINK,
    .doc = "Writes records to a PostgreSQL table with COPY, one transaction per batch, adding columns as new fields appear.",
    .settings = settings,
    .flags = SL_BLOCKING,
    .init = init,
    .start = start,
    .process = process,
    .finish = finish,
    .destroy = destroy,
};
