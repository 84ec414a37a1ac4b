/*
** test_record.c: the record model and the pieces of the pipeline that need
** no runtime: batches and their arenas, fields, deep copies, timestamps,
** conversions, NDJSON/CSV encoding and conditions. The pipeline's sources
** are compiled in directly until there is a pipeline archive to link.
*/
#include "unit.h"
#include <stdlib.h>

#include "../../src/pipeline/convert.h"
#include "../../src/pipeline/encode.h"
#include "../../src/pipeline/expr.h"
#include "../../src/pipeline/record.h"


static SlRecord *reading(SlBatch *b, const char *sensor, double temperature)
{
    SlRecord *r = sl_batch_add(b);
    *sl_set(b, r, "sensor") = sl_str(sensor, strlen(sensor));
    *sl_set(b, r, "temperature") = sl_float(temperature);
    *sl_set(b, r, "count") = sl_int(3);
    return r;
}

static bool json_is(const SlRecord *r, const char *expected)
{
    SlBuf buf = { 0 };
    sl_json_record(&buf, r);
    bool same = buf.len == strlen(expected) && !memcmp(buf.data, expected, buf.len);
    if (!same) fprintf(stderr, "got: %.*s", (int)buf.len, buf.data);
    sl_buf_free(&buf);
    return same;
}

TEST(fields_set_get_remove_rename)
{
    SlBatch *b = sl_batch_new();
    SlRecord *r = reading(b, "s1", 21.5);
    CHECK(sl_get(r, "sensor")->type == SL_STRING);
    CHECK(sl_get(r, "missing") == NULL);
    CHECK(sl_map_rename(&r->fields, "temperature", 11, "temp", 4));
    CHECK(sl_map_remove(&r->fields, "count", 5));
    CHECK(!sl_map_remove(&r->fields, "count", 5));
    CHECK(json_is(r, "{\"sensor\":\"s1\",\"temp\":21.5}\n"));
    /* Renaming onto an existing field replaces it. */
    CHECK(sl_map_rename(&r->fields, "temp", 4, "sensor", 6));
    CHECK(json_is(r, "{\"sensor\":21.5}\n"));
    sl_batch_free(b);
}

TEST(many_fields_and_records_grow)
{
    SlBatch *b = sl_batch_new();
    char names[100][8];
    for (int n = 0; n < 3000; n++) {
        SlRecord *r = sl_batch_add(b);
        for (int i = 0; i < 100; i++) {
            snprintf(names[i], sizeof names[i], "f%d", i);
            *sl_map_set(b, &r->fields, sl_copy_str(b, names[i], strlen(names[i])),
                        strlen(names[i])) = sl_int(i * n);
        }
    }
    CHECK_EQ_INT(b->count, 3000);
    CHECK_EQ_INT(b->records[2999].fields.count, 100);
    CHECK_EQ_INT(sl_get(&b->records[2999], "f99")->as.i, 99 * 2999);
    CHECK(sl_batch_memory(b) > 3000 * 100 * sizeof(SlField));
    sl_batch_free(b);
}

TEST(deep_copy_outlives_the_original)
{
    SlBatch *a = sl_batch_new();
    SlRecord *r = reading(a, "s1", 1.5);
    SlValue list = sl_array(a, 2);
    list.as.items[0] = sl_str(sl_copy_str(a, "x", 1), 1);
    list.as.items[1] = sl_map(a);
    *sl_map_set(a, list.as.items[1].as.map, "k", 1) = sl_bool(true);
    *sl_set(a, r, "list") = list;
    SlBatch *c = sl_batch_clone(a);
    sl_batch_free(a);
    CHECK(json_is(&c->records[0],
                  "{\"sensor\":\"s1\",\"temperature\":1.5,\"count\":3,\"list\":[\"x\",{\"k\":true}]}\n"));
    sl_batch_free(c);
}

TEST(timestamps_parse_and_format)
{
    int64_t ns;
    char out[40];
    CHECK(sl_parse_time("2026-11-24T10:00:00.000Z", 24, &ns));
    CHECK_EQ_INT(ns, 1795514400LL * 1000000000);
    CHECK(sl_parse_time("2026-11-24 11:30:00.5+01:30", 27, &ns));
    sl_format_time(ns, out);
    CHECK(!strcmp(out, "2026-11-24T10:00:00.500Z"));
    CHECK(sl_parse_time("1969-12-31T23:59:59.000000001Z", 30, &ns));
    CHECK_EQ_INT(ns, -999999999);
    sl_format_time(ns, out);
    CHECK(!strcmp(out, "1969-12-31T23:59:59.000000001Z"));
    CHECK(!sl_parse_time("2026-13-01T00:00:00Z", 20, &ns));
    CHECK(!sl_parse_time("2026-11-24T10:00:00", 19, &ns));
    CHECK(!sl_parse_time("2026-11-24T10:00:00Zjunk", 24, &ns));
    CHECK(!sl_parse_time("", 0, &ns));
    /* 64-bit nanoseconds end in 2262 and begin in 1677: refused, not wrapped */
    CHECK(sl_parse_time("2262-04-11T23:47:16Z", 20, &ns));
    CHECK(!sl_parse_time("2262-04-11T23:47:17Z", 20, &ns));
    CHECK(!sl_parse_time("9999-12-31T23:59:59Z", 20, &ns));
    CHECK(!sl_parse_time("0001-01-01T00:00:00Z", 20, &ns));
}

TEST(text_numbers_are_strict)
{
    int64_t i;
    double f;
    CHECK(sl_text_int("-42", 3, &i) && i == -42);
    CHECK(sl_text_int("9223372036854775807", 19, &i) && i == INT64_MAX);
    CHECK(sl_text_int("-9223372036854775808", 20, &i) && i == INT64_MIN);
    CHECK(!sl_text_int("9223372036854775808", 19, &i));
    CHECK(!sl_text_int("12x", 3, &i));
    CHECK(!sl_text_int("", 0, &i));
    CHECK(sl_text_float("23.4", 4, &f) && f == 23.4);
    CHECK(sl_text_float("-0.001", 6, &f) && f == -0.001);
    CHECK(sl_text_float("1e3", 3, &f) && f == 1000);
    CHECK(sl_text_float("123456789.123456789", 19, &f) && f == 123456789.123456789);
    CHECK(!sl_text_float("1.2.3", 5, &f));
    CHECK(!sl_text_float("nan", 3, &f));
    CHECK(!sl_text_float("-", 1, &f));
}

TEST(conversions)
{
    SlBatch *b = sl_batch_new();
    SlValue out;
    const char *why;
    SlValue text = sl_str("2026-11-24T10:00:00Z", 20);
    CHECK(sl_convert(b, &text, SL_TIMESTAMP, &out, &why) && out.type == SL_TIMESTAMP);
    CHECK(sl_convert(b, &out, SL_STRING, &out, &why));
    CHECK(out.type == SL_STRING && out.len == 24 && !memcmp(out.as.s, "2026-11-24T10:00:00.000Z", 24));
    SlValue word = sl_str("warm", 4);
    CHECK(!sl_convert(b, &word, SL_FLOAT, &out, &why) && why);
    SlValue big = sl_int(INT64_MAX);
    CHECK(!sl_convert(b, &big, SL_TIMESTAMP, &out, &why));
    SlValue f = sl_float(1e300);
    CHECK(!sl_convert(b, &f, SL_INT, &out, &why));
    SlValue n = sl_null();
    CHECK(sl_convert(b, &n, SL_INT, &out, &why) && out.type == SL_NULL);
    sl_batch_free(b);
}

TEST(json_encoding)
{
    SlBuf buf = { 0 };
    SlValue values[] = { sl_float(0.1), sl_float(-2.5), sl_float(1e21), sl_float(1.0 / 3),
                         sl_int(INT64_MIN), sl_str("a\"b\\\n\x01", 6), sl_null() };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        sl_json_value(&buf, &values[i]);
        sl_buf_putc(&buf, ' ');
    }
    sl_buf_putc(&buf, 0);
    CHECK(!strcmp(buf.data, "0.1 -2.5 1e+21 0.3333333333333333 -9223372036854775808 "
                            "\"a\\\"b\\\\\\n\\u0001\" null "));
    sl_buf_free(&buf);
}

TEST(json_strings_are_utf8)
{
    SlBuf buf = { 0 };
    const char text[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 bad:\xff\xc3(\xed\xa0\x80";
    SlValue v = sl_str(text, sizeof text - 1);
    sl_json_value(&buf, &v);
    sl_buf_putc(&buf, 0);
    CHECK(!strcmp(buf.data, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
                            "bad:\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\""));
    sl_buf_free(&buf);
}

TEST(floats_read_back_exactly)
{
    SlBuf buf = { 0 };
    double samples[] = { 23.4, 1013.2, 0.0001, 123456.789, 5e-324, 1.7976931348623157e308,
                         0.30000000000000004, -1e-7, 9007199254740993.0 };
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        buf.len = 0;
        SlValue v = sl_float(samples[i]);
        sl_json_value(&buf, &v);
        sl_buf_putc(&buf, 0);
        CHECK(strtod(buf.data, NULL) == samples[i]);
    }
    sl_buf_free(&buf);
}

TEST(csv_cells)
{
    SlBuf buf = { 0 };
    SlValue cells[] = { sl_str("plain", 5), sl_str("a,b", 3), sl_str("say \"hi\"", 8), sl_null() };
    for (size_t i = 0; i < 4; i++) {
        if (i) sl_buf_putc(&buf, ',');
        sl_csv_value(&buf, &cells[i], ',');
    }
    sl_buf_putc(&buf, 0);
    CHECK(!strcmp(buf.data, "plain,\"a,b\",\"say \"\"hi\"\"\","));
    sl_buf_free(&buf);
}

static bool holds(const char *condition, const SlRecord *r)
{
    char error[128];
    size_t at;
    SlExpr *e = sl_expr_parse(condition, error, sizeof error, &at);
    if (!e) {
        fprintf(stderr, "%s: %s at %zu\n", condition, error, at);
        return false;
    }
    bool result = sl_expr_true(e, r);
    sl_expr_free(e);
    return result;
}

TEST(conditions)
{
    SlBatch *b = sl_batch_new();
    SlRecord *r = reading(b, "s1", 21.5);
    SlValue inner = sl_map(b);
    *sl_map_set(b, inner.as.map, "country", 7) = sl_str("FR", 2);
    *sl_set(b, r, "user") = inner;
    *sl_set(b, r, "at") = sl_time(1795514400LL * 1000000000);
    *sl_set(b, r, "ok") = sl_bool(true);
    CHECK(holds("temperature > 21 and sensor == 's1'", r));
    CHECK(holds("temperature >= 21.5 && count == 3.0", r));
    CHECK(!holds("temperature < 21.5 || sensor != \"s1\"", r));
    CHECK(holds("not (count > 3) and !(sensor == 'x')", r));
    CHECK(holds("user.country == 'FR'", r));
    CHECK(holds("missing == null and user.missing == null", r));
    CHECK(holds("at >= '2026-11-24T10:00:00Z' and at < '2026-11-24T10:00:01Z'", r));
    CHECK(holds("ok", r));
    CHECK(!holds("sensor", r));
    CHECK(!holds("sensor > 3", r));
    CHECK(holds("sensor != 3", r));
    CHECK(holds("'abc' < 'abd' and 'ab' < 'abc'", r));
    sl_batch_free(b);
}

TEST(condition_syntax_errors)
{
    const char *bad[] = { "", "temperature >", "a and", "(a == 1", "a == 'x", "a == 1 b",
                          "and", "1.2.3 == a", NULL };
    char deep[300];
    memset(deep, '(', sizeof deep - 2);
    deep[sizeof deep - 2] = 'a';
    deep[sizeof deep - 1] = 0;
    bad[sizeof bad / sizeof bad[0] - 1] = deep;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char error[128];
        size_t at = 999;
        SlExpr *e = sl_expr_parse(bad[i], error, sizeof error, &at);
        CHECK(e == NULL);
        CHECK(at <= strlen(bad[i]));
        sl_expr_free(e);
    }
}

int main(void)
{
    RUN(fields_set_get_remove_rename);
    RUN(many_fields_and_records_grow);
    RUN(deep_copy_outlives_the_original);
    RUN(timestamps_parse_and_format);
    RUN(text_numbers_are_strict);
    RUN(conversions);
    RUN(json_encoding);
    RUN(json_strings_are_utf8);
    RUN(floats_read_back_exactly);
    RUN(csv_cells);
    RUN(conditions);
    RUN(condition_syntax_errors);
    return unit_summary();
}
