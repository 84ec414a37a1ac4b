/*
** test_batch.c: unit tests of the binary columnar batch of the function
** ABI v2: the format itself (include/sluice_batch.h: a round trip of every
** type with nulls, empty batches, and outputs from a guest that are
** malformed, truncated or point out of bounds, each refused with a
** reason), and the function node's codec (src/transforms/colbinary.c: a
** window to a batch, and an output merged back into records).
**
** Every malformed batch is read from a heap block of exactly its size, so
** that under AddressSanitizer a read past the end would fail the run.
*/
#include "../../src/transforms/columnar.h"
#include "sluice_batch.h"
#include "unit.h"

#include <stdlib.h>

/* ---- Building batches -------------------------------------------------- */

typedef struct Col {
    const char *name;
    sb_type type;
    const char *const *strings; /* string, json; NULL items are null */
    const int64_t *ints;        /* i64, timestamp */
    const double *floats;
    const bool *bools;
    const bool *null;           /* fixed-width: which rows are null */
} Col;

static size_t strings_bytes(const Col *c, uint32_t rows)
{
    size_t n = 0;
    for (uint32_t i = 0; c->strings && i < rows; i++) n += c->strings[i] ? strlen(c->strings[i]) : 0;
    return n;
}

static void fill(sb_column_out *o, const Col *c, uint32_t rows)
{
    uint32_t offset = 0;
    for (uint32_t i = 0; i < rows; i++) {
        if (c->strings) {
            if (c->strings[i]) {
                sb_set_valid(o->valid, i);
                memcpy(o->bytes + offset, c->strings[i], strlen(c->strings[i]));
                offset += (uint32_t)strlen(c->strings[i]);
            }
            sb_put_u32(o->offsets + (i + 1) * 4, offset);
            continue;
        }
        if (c->null && c->null[i]) continue;
        if (c->type != SB_NULL) sb_set_valid(o->valid, i);
        if (c->ints) sb_put_i64(o->values + i * 8, c->ints[i]);
        if (c->floats) sb_put_f64(o->values + i * 8, c->floats[i]);
        if (c->bools) o->values[i] = c->bools[i];
    }
}

/* A malloc'd batch of the columns; its size in *size. */
static uint8_t *build(const Col *cols, uint32_t ncols, uint32_t rows, uint16_t flags, size_t *size)
{
    *size = SB_HEADER_SIZE;
    for (uint32_t k = 0; k < ncols; k++)
        *size += sb_column_size(rows, strlen(cols[k].name), cols[k].type, strings_bytes(&cols[k], rows));
    uint8_t *b = malloc(*size);
    sb_writer w;
    sb_write_header(&w, b, rows, ncols, flags);
    for (uint32_t k = 0; k < ncols; k++) {
        sb_column_out o = sb_write_column(&w, cols[k].name, strlen(cols[k].name), cols[k].type,
                                          strings_bytes(&cols[k], rows));
        fill(&o, &cols[k], rows);
    }
    CHECK_EQ_INT(w.pos, *size);
    return b;
}

/* Reads the whole batch from an exact copy; false with the reason. */
static bool read_all(const uint8_t *bytes, size_t len, char *why, size_t cap)
{
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, bytes, len);
    sb_reader r;
    sb_column c;
    bool ok = sb_read_header(&r, copy, len, why, cap);
    for (uint32_t k = 0; ok && k < r.columns; k++) ok = sb_read_column(&r, &c, why, cap);
    free(copy);
    return ok;
}

static const char *const words[] = { "alpha", NULL, "", "d\xc3\xa9j\xc3\xa0" };
static const char *const texts[] = { "[1,2]", "{\"a\":null}", NULL, "3" };
static const int64_t ints[] = { INT64_MIN, -1, 0, INT64_MAX };
static const int64_t times[] = { 1795514400000000000, 0, -1, 1 };
static const double floats[] = { -0.0, 1.5, 1e308, -2.25 };
static const bool bools[] = { true, false, true, false };
static const bool some_null[] = { false, true, false, true };

static const Col every_type[] = {
    { "n", SB_NULL, 0, 0, 0, 0, 0 },
    { "b", SB_BOOL, 0, 0, 0, bools, some_null },
    { "i", SB_I64, 0, ints, 0, 0, 0 },
    { "f", SB_F64, 0, 0, floats, 0, some_null },
    { "s", SB_STRING, words, 0, 0, 0, 0 },
    { "time", SB_TIMESTAMP, 0, times, 0, 0, 0 },
    { "j", SB_JSON, texts, 0, 0, 0, 0 },
};
enum { NTYPES_TESTED = sizeof every_type / sizeof every_type[0] };

/* ---- The format -------------------------------------------------------- */

TEST(round_trip_every_type)
{
    size_t size;
    uint8_t *b = build(every_type, NTYPES_TESTED, 4, 0, &size);
    CHECK_EQ_INT(size % 8, 0);
    char why[300];
    sb_reader r;
    CHECK(sb_read_header(&r, b, size, why, sizeof why));
    CHECK_EQ_INT(r.rows, 4);
    CHECK_EQ_INT(r.columns, NTYPES_TESTED);
    for (uint32_t k = 0; k < NTYPES_TESTED; k++) {
        const Col *want = &every_type[k];
        sb_column c;
        CHECK(sb_read_column(&r, &c, why, sizeof why));
        CHECK_EQ_INT(c.type, want->type);
        CHECK(c.name_len == strlen(want->name) && !memcmp(c.name, want->name, c.name_len));
        CHECK_EQ_INT(((uintptr_t)c.values - (uintptr_t)b) % 8, 0);
        for (uint32_t i = 0; i < 4; i++) {
            bool null = want->type == SB_NULL || (want->strings && !want->strings[i]) ||
                        (want->null && want->null[i]);
            CHECK_EQ_INT(sb_is_valid(&c, i), !null);
            if (null) continue;
            uint32_t len;
            const char *s;
            switch (want->type) {
            case SB_BOOL: CHECK_EQ_INT(sb_get_bool(&c, i), bools[i]); break;
            case SB_I64: case SB_TIMESTAMP: CHECK(sb_get_i64(&c, i) == want->ints[i]); break;
            case SB_F64:
                CHECK(!memcmp(&(double){ sb_get_f64(&c, i) }, &floats[i], 8));
                break;
            default:
                s = sb_get_string(&c, i, &len);
                CHECK(len == strlen(want->strings[i]) && !memcmp(s, want->strings[i], len));
            }
        }
    }
    CHECK_EQ_INT(r.pos, size);
    free(b);
}

TEST(empty_batches)
{
    char why[300];
    size_t size;
    uint8_t *b = build(NULL, 0, 0, 0, &size);
    CHECK_EQ_INT(size, SB_HEADER_SIZE);
    CHECK(read_all(b, size, why, sizeof why));
    free(b);
    b = build(every_type, NTYPES_TESTED, 0, SB_NEW_ROWS, &size); /* columns of no rows */
    CHECK(read_all(b, size, why, sizeof why));
    sb_reader r;
    CHECK(sb_read_header(&r, b, size, why, sizeof why));
    CHECK_EQ_INT(r.flags, SB_NEW_ROWS);
    free(b);
}

TEST(every_truncation_is_refused)
{
    size_t size;
    uint8_t *b = build(every_type, NTYPES_TESTED, 4, 0, &size);
    char why[300];
    for (size_t len = 0; len < size; len++) {
        why[0] = '\0';
        CHECK(!read_all(b, len, why, sizeof why));
        CHECK(why[0] != '\0');
    }
    CHECK(read_all(b, size, why, sizeof why));
    free(b);
}

/* A one-column batch (string column "s" of 2 rows) to break in place. */
static uint8_t *two_strings(size_t *size)
{
    static const char *const two[] = { "ab", "cde" };
    Col c = { "s", SB_STRING, two, 0, 0, 0, 0 };
    return build(&c, 1, 2, 0, size);
}

enum { NAME_AT = 16, TYPE_AT = 20, OFFSETS_AT = 16 + 8 + 8 + 8 };

static void refused(uint8_t *b, size_t size, const char *reason)
{
    char why[300] = "";
    CHECK(!read_all(b, size, why, sizeof why));
    if (!strstr(why, reason)) fprintf(stderr, "  got '%s', wanted '%s'\n", why, reason);
    CHECK(strstr(why, reason));
}

TEST(malformed_headers)
{
    size_t size;
    uint8_t *b = two_strings(&size);
    b[0] = 'X';
    refused(b, size, "magic");
    b[0] = 'S';
    b[4] = 3;
    refused(b, size, "format version 3");
    b[4] = 2;
    b[6] = 2;
    refused(b, size, "unknown flags 0x2");
    b[6] = 0;
    sb_put_u32(b + 12, SB_MAX_COLUMNS + 1);
    refused(b, size, "at most 4096");
    sb_put_u32(b + 12, 0);
    refused(b, size, "follow a header that announces no column");
    sb_put_u32(b + 12, 2);
    refused(b, size, "column 1: its header runs past the end");
    sb_put_u32(b + 12, 1);
    sb_put_u32(b + 8, 0xffffffffu); /* rows: far more than there are bytes */
    refused(b, size, "past the end");
    free(b);
}

TEST(malformed_columns)
{
    size_t size;
    uint8_t *b = two_strings(&size);
    b[TYPE_AT] = SB_NTYPES;
    refused(b, size, "unknown type 7");
    b[TYPE_AT] = SB_STRING;
    sb_put_u32(b + NAME_AT, 0xfffffff0u);
    refused(b, size, "its name (4294967280 bytes) runs past the end");
    sb_put_u32(b + NAME_AT, 1);
    sb_put_u32(b + OFFSETS_AT, 1);
    refused(b, size, "its first offset is 1, not 0");
    sb_put_u32(b + OFFSETS_AT, 0);
    sb_put_u32(b + OFFSETS_AT + 4, 6); /* row 0 ends after row 1 */
    refused(b, size, "offset 2 (5) is below offset 1 (6)");
    sb_put_u32(b + OFFSETS_AT + 4, 2);
    sb_put_u32(b + OFFSETS_AT + 8, 4000); /* the bytes lie beyond the batch */
    refused(b, size, "its 4000 bytes of values run past the end");
    sb_put_u32(b + OFFSETS_AT + 8, 5);
    char why[300];
    CHECK(read_all(b, size, why, sizeof why));
    uint8_t *longer = calloc(1, size + 8);
    memcpy(longer, b, size);
    refused(longer, size + 8, "8 bytes follow the last column");
    free(longer);
    free(b);

    Col flag = { "b", SB_BOOL, 0, 0, 0, bools, 0 };
    b = build(&flag, 1, 4, 0, &size);
    b[size - 8 + 1] = 2;
    refused(b, size, "row 1 holds 2, not 0 (false) or 1 (true)");
    free(b);
}

TEST(unequal_column_lengths_are_refused)
{
    /* A column written for more rows than the header says: its extra
       values are bytes after the last column; for fewer, the values run
       past the end. */
    static const int64_t five[] = { 1, 2, 3, 4, 5 };
    Col c = { "i", SB_I64, 0, five, 0, 0, 0 };
    size_t size;
    uint8_t *b = build(&c, 1, 5, 0, &size);
    sb_put_u32(b + 8, 4);
    refused(b, size, "8 bytes follow the last column");
    sb_put_u32(b + 8, 6);
    refused(b, size, "its 6 values of 8 bytes run past the end");
    free(b);
}

/* ---- The function node's codec ----------------------------------------- */

/* A window over all the records of one batch. */
typedef struct TestWindow {
    Segment segment;
    WindowRef refs[8];
    Window window;
} TestWindow;

static void window_of(TestWindow *t, SlBatch *b)
{
    t->segment = (Segment){ .batch = b, .refs = 1 };
    for (uint32_t i = 0; i < b->count; i++) t->refs[i] = (WindowRef){ &t->segment, i };
    t->window = (Window){ .refs = t->refs, .count = b->count, .cap = 8 };
}

static SlBatch *three_readings(void)
{
    SlBatch *b = sl_batch_new();
    for (int i = 0; i < 3; i++) {
        SlRecord *r = sl_batch_add(b);
        *sl_set(b, r, "time") = sl_time(1795514400000000000 + i);
        *sl_set(b, r, "sensor") = sl_str(i == 1 ? "s2" : "s1", 2);
        *sl_set(b, r, "value") = i == 2 ? sl_float(2.5) : sl_int(i);
        if (i == 0) *sl_set(b, r, "tags") = sl_array(b, 1);
        *sl_map_set(b, &r->meta, "source", 6) = sl_str("tcp", 3);
    }
    return b;
}

static bool encode(Columnar *c, const Window *w, uint8_t **bytes)
{
    char why[300];
    if (!columnar_plan(c, w, NULL, 0, why, sizeof why)) return false;
    *bytes = calloc(1, c->size);
    columnar_write(c, w, *bytes);
    return true;
}

TEST(window_to_batch)
{
    SlBatch *in = three_readings();
    TestWindow t;
    window_of(&t, in);
    Columnar c = { 0 };
    uint8_t *bytes = NULL;
    CHECK(encode(&c, &t.window, &bytes));
    char why[300];
    sb_reader r;
    sb_column col;
    CHECK(sb_read_header(&r, bytes, c.size, why, sizeof why));
    CHECK_EQ_INT(r.rows, 3);
    CHECK_EQ_INT(r.columns, 4);
    static const sb_type types[] = { SB_TIMESTAMP, SB_STRING, SB_F64, SB_JSON };
    for (uint32_t k = 0; k < 4; k++) {
        CHECK(sb_read_column(&r, &col, why, sizeof why));
        CHECK_EQ_INT(col.type, types[k]);
        if (k == 2) CHECK(sb_get_f64(&col, 1) == 1 && sb_get_f64(&col, 2) == 2.5);
        if (k == 3) {
            uint32_t len;
            const char *s = sb_get_string(&col, 0, &len);
            CHECK(len == 6 && !memcmp(s, "[null]", 6));
            CHECK(!sb_is_valid(&col, 1) && !sb_is_valid(&col, 2));
        }
    }
    free(bytes);
    columnar_free(&c);
    sl_batch_free(in);
}

TEST(output_updates_the_window_records)
{
    SlBatch *in = three_readings(), *out = sl_batch_new();
    TestWindow t;
    window_of(&t, in);
    static const char *const labels[] = { "x", NULL, "z" };
    static const double doubled[] = { 0, 2, 5 };
    const Col cols[] = { { "sensor", SB_STRING, labels, 0, 0, 0, 0 },
                         { "twice", SB_F64, 0, 0, doubled, 0, 0 } };
    size_t size;
    uint8_t *bytes = build(cols, 2, 3, 0, &size);
    Columnar c = { 0 };
    char why[300];
    CHECK(columnar_merge(&c, out, bytes, size, &t.window, NULL, why, sizeof why));
    CHECK_EQ_INT(out->count, 3);
    const SlRecord *r = &out->records[1];
    CHECK_EQ_INT(r->fields.count, 4); /* time, sensor, value, twice */
    CHECK_EQ_INT(sl_get(r, "sensor")->type, SL_NULL);
    CHECK(sl_get(r, "twice")->as.f == 2);
    CHECK(sl_get(r, "value")->as.i == 1);
    CHECK(sl_get(&out->records[0], "sensor")->len == 1);
    CHECK(sl_get(&out->records[0], "tags")->type == SL_ARRAY);
    CHECK(sl_map_get(&r->meta, "source", 6) != NULL);
    free(bytes);

    /* The same row count with SB_NEW_ROWS: new records of the columns. */
    bytes = build(cols, 2, 3, SB_NEW_ROWS, &size);
    CHECK(columnar_merge(&c, out, bytes, size, &t.window, NULL, why, sizeof why));
    CHECK_EQ_INT(out->count, 6);
    CHECK_EQ_INT(out->records[4].fields.count, 2);
    CHECK_EQ_INT(out->records[4].meta.count, 0);
    free(bytes);
    columnar_free(&c);
    sl_batch_free(out);
    sl_batch_free(in);
}

TEST(bad_outputs_append_nothing)
{
    SlBatch *in = three_readings(), *out = sl_batch_new();
    TestWindow t;
    window_of(&t, in);
    Columnar c = { 0 };
    char why[300] = "";
    static const char *const bad_json[] = { "1", "2", "{oops" };
    Col j = { "j", SB_JSON, bad_json, 0, 0, 0, 0 };
    size_t size;
    uint8_t *bytes = build(&j, 1, 3, 0, &size);
    CHECK(!columnar_merge(&c, out, bytes, size, &t.window, NULL, why, sizeof why));
    CHECK(strstr(why, "column 'j', row 2"));
    CHECK_EQ_INT(out->count, 0);
    free(bytes);

    const Col twice[] = { { "a", SB_I64, 0, ints, 0, 0, 0 }, { "a", SB_I64, 0, ints, 0, 0, 0 } };
    bytes = build(twice, 2, 3, 0, &size);
    CHECK(!columnar_merge(&c, out, bytes, size, &t.window, NULL, why, sizeof why));
    CHECK(strstr(why, "the column 'a' twice"));
    free(bytes);

    CHECK(!columnar_merge(&c, out, (const uint8_t *)"{}", 2, &t.window, NULL, why, sizeof why));
    CHECK(strstr(why, "shorter than its 16-byte header"));
    CHECK_EQ_INT(out->count, 0);
    columnar_free(&c);
    sl_batch_free(out);
    sl_batch_free(in);
}

/* In place: the window's records change in their own batch, metadata and
** all; an output that fails (a bad json cell in the last row) changes none. */
TEST(output_updates_the_records_in_place)
{
    SlBatch *in = three_readings();
    TestWindow t;
    window_of(&t, in);
    static const char *const labels[] = { "x", NULL, "z" };
    static const char *const extra[] = { "[1]", "{\"a\":2}", "null" };
    const Col cols[] = { { "sensor", SB_STRING, labels, 0, 0, 0, 0 },
                         { "extra", SB_JSON, extra, 0, 0, 0, 0 } };
    size_t size;
    uint8_t *bytes = build(cols, 2, 3, 0, &size);
    Columnar c = { 0 };
    char why[300];
    bool update;
    CHECK(columnar_read(&c, bytes, size, &t.window, &update, why, sizeof why) && update);
    CHECK(columnar_update(&c, &t.window, why, sizeof why));
    free(bytes);
    CHECK_EQ_INT(in->count, 3);
    const SlRecord *r = &in->records[1];
    CHECK_EQ_INT(r->fields.count, 4); /* time, sensor, value, extra */
    CHECK_EQ_INT(sl_get(r, "sensor")->type, SL_NULL);
    CHECK(sl_get(r, "extra")->type == SL_MAP && sl_get(r, "value")->as.i == 1);
    CHECK(sl_get(&in->records[2], "sensor")->len == 1 && sl_get(&in->records[2], "sensor")->as.s[0] == 'z');
    CHECK(sl_get(&in->records[0], "tags")->type == SL_ARRAY);
    CHECK(sl_map_get(&r->meta, "source", 6) != NULL);

    static const char *const bad[] = { "1", "2", "{oops" };
    const Col broken[] = { { "sensor", SB_STRING, labels, 0, 0, 0, 0 },
                           { "late", SB_JSON, bad, 0, 0, 0, 0 } };
    bytes = build(broken, 2, 3, 0, &size);
    CHECK(columnar_read(&c, bytes, size, &t.window, &update, why, sizeof why) && update);
    CHECK(!columnar_update(&c, &t.window, why, sizeof why));
    CHECK(strstr(why, "column 'late', row 2"));
    CHECK_EQ_INT(in->records[0].fields.count, 5);
    CHECK(sl_get(&in->records[0], "late") == NULL);
    CHECK(sl_get(&in->records[0], "sensor")->as.s[0] == 'x');
    free(bytes);
    columnar_free(&c);
    sl_batch_free(in);
}

int main(void)
{
    RUN(round_trip_every_type);
    RUN(empty_batches);
    RUN(every_truncation_is_refused);
    RUN(malformed_headers);
    RUN(malformed_columns);
    RUN(unequal_column_lengths_are_refused);
    RUN(window_to_batch);
    RUN(output_updates_the_window_records);
    RUN(bad_outputs_append_nothing);
    RUN(output_updates_the_records_in_place);
    return unit_summary();
}
