/*
** test_encode.c: the fast paths of the record hot path against their exact
** expected text: JSON strings scanned eight bytes at a time, numbers
** printed without printf, decimal text read without strtod, and the
** per-thread minute caches of timestamp parsing and formatting (a cached
** minute must never leak into a different one).
*/
#include "unit.h"
#include <stdlib.h>

#include "../../src/pipeline/convert.h"
#include "../../src/pipeline/encode.h"

/* `v` as JSON, NUL-terminated in `buf`. */
static const char *json(SlBuf *buf, SlValue v)
{
    buf->len = 0;
    sl_json_value(buf, &v);
    sl_buf_putc(buf, 0);
    return buf->data;
}

TEST(strings_escape_past_the_first_words)
{
    SlBuf buf = { 0 };
    const char text[] = "abcdefghij\"klmnopqrstu\\vwxyz0123\x1f" "456789ab\xc3\xa9" "cdefghij\xff";
    CHECK(!strcmp(json(&buf, sl_str(text, sizeof text - 1)),
                  "\"abcdefghij\\\"klmnopqrstu\\\\vwxyz0123\\u001f456789ab\xc3\xa9"
                  "cdefghij\\ufffd\""));
    CHECK(!strcmp(json(&buf, sl_str("plain text of some length", 25)),
                  "\"plain text of some length\""));
    CHECK(!strcmp(json(&buf, sl_str("", 0)), "\"\""));
    sl_buf_free(&buf);
}

TEST(numbers_print_exactly)
{
    SlBuf buf = { 0 };
    const double floats[] = { 23.4, 150.0, -0.05, 0.001, 1013.25, 12345678.9, -187.5, 0.0 };
    const char *const texts[] = { "23.4", "150.0", "-0.05", "0.001", "1013.25", "12345678.9",
                                  "-187.5", "0.0" };
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
        CHECK(!strcmp(json(&buf, sl_float(floats[i])), texts[i]));
    CHECK(!strcmp(json(&buf, sl_int(0)), "0"));
    CHECK(!strcmp(json(&buf, sl_int(-7)), "-7"));
    CHECK(!strcmp(json(&buf, sl_int(1234567890123)), "1234567890123"));
    CHECK(!strcmp(json(&buf, sl_int(INT64_MAX)), "9223372036854775807"));
    sl_buf_free(&buf);
}

TEST(decimal_text_reads_exactly)
{
    double f;
    CHECK(sl_text_float("-.5", 3, &f) && f == -0.5);
    CHECK(sl_text_float("5.", 2, &f) && f == 5.0);
    CHECK(sl_text_float("187.5", 5, &f) && f == 187.5);
    CHECK(sl_text_float("12345678901234567", 17, &f) && f == 12345678901234567.0);
    CHECK(sl_text_float("0.1234567890123456789", 21, &f) && f == 0.1234567890123456789);
    CHECK(!sl_text_float(".", 1, &f));
    CHECK(!sl_text_float("1.2.", 4, &f));
    CHECK(!sl_text_float("12a", 3, &f));
}

TEST(time_caches_follow_the_minute)
{
    int64_t a, b, c;
    char out[40];
    CHECK(sl_parse_time("2026-11-24T10:00:59.999Z", 24, &a));
    CHECK(sl_parse_time("2026-11-24T10:01:00.000Z", 24, &b));
    CHECK(sl_parse_time("2026-11-24T10:00:00.001Z", 24, &c));
    CHECK_EQ_INT(b - a, 1000000);
    CHECK_EQ_INT(a - c, 59998000000);
    CHECK(!sl_parse_time("2026-11-24T10:00:61Z", 20, &a));
    CHECK(!sl_parse_time("2026-11-24T10:00", 16, &a));
    CHECK(!sl_parse_time("2026-11-24T10:00x00Z", 20, &a));
    CHECK(sl_parse_time("2026-11-24T10:00:00+01:00", 25, &a));
    CHECK_EQ_INT(c - a, 3600000000000 + 1000000);

    sl_format_time(b, out);
    CHECK(!strcmp(out, "2026-11-24T10:01:00.000Z"));
    sl_format_time(c, out);
    CHECK(!strcmp(out, "2026-11-24T10:00:00.001Z"));
    sl_format_time(c + 1, out);
    CHECK(!strcmp(out, "2026-11-24T10:00:00.001000001Z"));
    sl_format_time(-1, out);
    CHECK(!strcmp(out, "1969-12-31T23:59:59.999999999Z"));
    sl_format_time(-60000000000, out);
    CHECK(!strcmp(out, "1969-12-31T23:59:00.000Z"));
}

int main(void)
{
    RUN(strings_escape_past_the_first_words);
    RUN(numbers_print_exactly);
    RUN(decimal_text_reads_exactly);
    RUN(time_caches_follow_the_minute);
    return unit_summary();
}
