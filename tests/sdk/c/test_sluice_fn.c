/*
** test_sluice_fn.c: native tests of sdk/c/sluice_fn.h: the JSON reader and
** writer, the message formatter, the ABI glue (through stand-ins for the
** host imports) and the exact number conversion of builds without libc
** (against this libc's). Prints one line per failed check and ends with
** `sluice_fn.h: N passed, M failed`.
**
**   clang-19 -std=c17 -Wall -Wextra -Werror -Isdk/c \
**       -o test_sluice_fn tests/sdk/c/test_sluice_fn.c -lm && ./test_sluice_fn
*/
#include "sluice_fn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond) check((cond), __LINE__, #cond)

static void check(bool ok, int line, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL line %d: %s\n", line, what);
    }
}

/* ---- Stand-ins for the host imports -------------------------------------- */

static char host_output[4096], host_kind[128], host_message[2048], host_log[2048];
static size_t host_output_len;
static int host_outputs, host_errors, host_level;

void sluice_output(const void *ptr, size_t len)
{
    host_outputs++;
    host_output_len = len < sizeof host_output - 1 ? len : sizeof host_output - 1;
    memcpy(host_output, ptr, host_output_len);
    host_output[host_output_len] = '\0';
}

void sluice_error(const void *kind, size_t kind_len, const void *msg, size_t msg_len)
{
    host_errors++;
    snprintf(host_kind, sizeof host_kind, "%.*s", (int)kind_len, (const char *)kind);
    snprintf(host_message, sizeof host_message, "%.*s", (int)msg_len, (const char *)msg);
}

void sluice_log(int level, const void *ptr, size_t len)
{
    host_level = level;
    snprintf(host_log, sizeof host_log, "%.*s", (int)len, (const char *)ptr);
}

/* ---- A function under test ------------------------------------------------- */

static long long offset;

static int init(const sl_json *config)
{
    const sl_json *o = sl_get(config, "offset");
    if (o && o->type != SL_NUMBER) return sl_fail("invalid_config", "offset must be a number");
    if (o) offset = (long long)o->number;
    return SL_OK;
}

/* {"values": [numbers]} -> {"sum": N, "echo": input}; "fail": true fails
   without a message; "open": true leaves the output open. */
static int execute(const sl_json *input, sl_writer *out)
{
    const sl_json *values = sl_get(input, "values");
    if (!values || values->type != SL_ARRAY) return sl_fail("invalid_input", "values must be an array");
    if (sl_get(input, "fail")) return SL_ERROR;
    double sum = (double)offset;
    for (const sl_json *v = values->first; v; v = v->next) {
        if (v->type != SL_NUMBER)
            return sl_fail("invalid_input", "values[%zu] is not a number", sl_index(values, v));
        sum += v->number;
    }
    sl_info("summed %zu values", values->count);
    sl_write_object_begin(out);
    sl_write_key(out, "sum");
    sl_write_number(out, sum);
    sl_write_key(out, "echo");
    sl_write_value(out, input);
    if (!sl_get(input, "open")) sl_write_object_end(out);
    return SL_OK;
}

SLUICE_FUNCTION(execute, init)

/* Runs the exports on text as the host would; returns the status. */
static int call(int (*export)(const char *, size_t), const char *text)
{
    host_outputs = host_errors = 0;
    host_output[0] = host_kind[0] = host_message[0] = '\0';
    size_t len = strlen(text);
    char *buf = sluice_alloc(len);
    memcpy(buf, text, len);
    int status = export(buf, len);
    sluice_free(buf, len);
    return status;
}

static void test_glue(void)
{
    CHECK(sluice_abi_version() == 1);
    CHECK(call(sluice_init, "{}") == 0 && host_errors == 0);
    CHECK(call(sluice_execute, "{\"values\": [1, 2.5]}") == 0);
    CHECK(host_outputs == 1 && host_errors == 0);
    CHECK(!strcmp(host_output, "{\"sum\":3.5,\"echo\":{\"values\":[1,2.5]}}"));
    CHECK(host_level == SL_LOG_INFO && !strcmp(host_log, "summed 2 values"));

    CHECK(call(sluice_init, "{\"offset\": 10}") == 0);
    CHECK(call(sluice_execute, "{\"values\": [1]}") == 0 && !strncmp(host_output, "{\"sum\":11,", 10));
    CHECK(call(sluice_init, "{\"offset\": \"x\"}") == 1 && host_errors == 1);
    CHECK(!strcmp(host_kind, "invalid_config") && !strcmp(host_message, "offset must be a number"));
    CHECK(call(sluice_init, "{") == 1 && !strcmp(host_kind, "invalid_config"));
    CHECK(strstr(host_message, "not valid JSON: at byte 1") != NULL);
    offset = 0;

    CHECK(call(sluice_execute, "[1,") == 1 && host_outputs == 0 && !strcmp(host_kind, "invalid_input"));
    CHECK(!strcmp(host_message, "the input is not valid JSON: at byte 3: value expected, found the end"));
    CHECK(call(sluice_execute, "{\"values\": [1, \"x\"]}") == 1 && host_outputs == 0);
    CHECK(!strcmp(host_message, "values[1] is not a number"));
    CHECK(call(sluice_execute, "{\"values\": [], \"fail\": 1}") == 1 && !strcmp(host_kind, ""));
    CHECK(strstr(host_message, "without saying why") != NULL);
    CHECK(call(sluice_execute, "{\"values\": [], \"open\": 1}") == 1 && host_outputs == 0);
    CHECK(!strcmp(host_kind, "invalid_output") && strstr(host_message, "left open"));
    /* the error of one call does not leak into the next */
    CHECK(call(sluice_execute, "{\"values\": []}") == 0 && host_errors == 0 && host_outputs == 1);
    CHECK(call(sluice_execute, "") == 1 && !strcmp(host_kind, "invalid_input"));
}

/* ---- Reader ---------------------------------------------------------------- */

/* Parses text; true when it is valid. */
static bool parses(const char *text)
{
    sl_doc doc;
    sl_json *root = sl_parse(&doc, text, strlen(text));
    sl_doc_free(&doc);
    return root != NULL;
}

/* The error of parsing text ("" when valid). */
static const char *parse_error(const char *text, size_t len)
{
    static sl_doc doc;
    if (sl_parse(&doc, text, len)) {
        sl_doc_free(&doc);
        return "";
    }
    return doc.error;
}

static void test_reader(void)
{
    sl_doc doc;
    const char *text = " {\"a\": [1, -2.5e3, true, false, null], \"s\": \"x\\ty\\u00e9\\ud83d\\ude00\", \"a\": {}} ";
    sl_json *root = sl_parse(&doc, text, strlen(text));
    CHECK(root && root->type == SL_OBJECT && root->count == 3);
    const sl_json *a = sl_get(root, "a");
    CHECK(a && a->type == SL_ARRAY && a->count == 5); /* the first of repeated keys */
    CHECK(a->first->number == 1 && a->first->next->number == -2500);
    CHECK(a->first->next->len == 6 && !memcmp(a->first->next->string, "-2.5e3", 6));
    CHECK(a->first->next->next->type == SL_BOOL && a->first->next->next->boolean);
    CHECK(a->first->next->next->next->type == SL_BOOL && !a->first->next->next->next->boolean);
    CHECK(a->first->next->next->next->next->type == SL_NULL);
    CHECK(sl_string_eq(sl_get(root, "s"), "x\ty\xc3\xa9\xf0\x9f\x98\x80"));
    CHECK(sl_get(root, "missing") == NULL && sl_get(a, "a") == NULL);
    CHECK(sl_index(a, a->first->next->next) == 2);
    sl_doc_free(&doc);

    /* strings may hold NUL */
    root = sl_parse(&doc, "\"a\\u0000b\"", 10);
    CHECK(root && root->len == 3 && root->string[1] == '\0');
    sl_doc_free(&doc);

    CHECK(parses("0") && parses("-0") && parses("1E+2") && parses("[]") && parses("{}") && parses("\"\""));
    CHECK(parses("1.7976931348623157e308") && parses("5e-324") && parses("1e-400"));
    CHECK(!strcmp(parse_error("", 0), "at byte 0: value expected, found the end"));
    CHECK(!strcmp(parse_error("01", 2), "at byte 1: unexpected text after the value"));
    CHECK(!strcmp(parse_error("1.", 2), "at byte 2: digit expected after the decimal point"));
    CHECK(!strcmp(parse_error("1e", 2), "at byte 2: digit expected in the exponent"));
    CHECK(!strcmp(parse_error("1e999", 5), "at byte 0: number out of the range of a double"));
    CHECK(!strcmp(parse_error("+1", 2), "at byte 0: invalid number"));
    CHECK(!strcmp(parse_error("[1 2]", 5), "at byte 3: ',' or ']' expected"));
    CHECK(!strcmp(parse_error("[1,]", 4), "at byte 3: invalid number"));
    CHECK(!strcmp(parse_error("{\"a\" 1}", 7), "at byte 5: ':' expected"));
    CHECK(!strcmp(parse_error("{1: 1}", 6), "at byte 1: member name (a string) expected"));
    CHECK(!strcmp(parse_error("{\"a\": 1,}", 9), "at byte 8: member name (a string) expected"));
    CHECK(!strcmp(parse_error("tru", 3), "at byte 0: invalid literal"));
    CHECK(!strcmp(parse_error("\"abc", 4), "at byte 4: unterminated string"));
    CHECK(!strcmp(parse_error("\"a\\", 3), "at byte 3: unterminated string"));
    CHECK(!strcmp(parse_error("\"a\nb\"", 5), "at byte 2: control character in string"));
    CHECK(!strcmp(parse_error("\"\\x\"", 4), "at byte 1: invalid escape in string"));
    CHECK(!strcmp(parse_error("\"\\u12\"", 6), "at byte 1: invalid \\u escape"));
    CHECK(!strcmp(parse_error("\"\\ud800\"", 8), "at byte 1: high surrogate without a low one in \\u escape"));
    CHECK(!strcmp(parse_error("\"\\udc00\"", 8), "at byte 1: lone low surrogate in \\u escape"));
    CHECK(!strcmp(parse_error("\"\xc3\"", 3), "at byte 1: invalid UTF-8 in string"));
    CHECK(!strcmp(parse_error("\"\xc0\xaf\"", 4), "at byte 1: invalid UTF-8 in string"));       /* overlong */
    CHECK(!strcmp(parse_error("\"\xed\xa0\x80\"", 5), "at byte 1: invalid UTF-8 in string")); /* surrogate */
    CHECK(!strcmp(parse_error("\"\xf4\x90\x80\x80\"", 6), "at byte 1: invalid UTF-8 in string"));
    CHECK(!strcmp(parse_error("[1]\0", 4), "at byte 3: unexpected text after the value"));

    char deep[2 * SL_MAX_DEPTH + 3];
    memset(deep, '[', SL_MAX_DEPTH);
    memset(deep + SL_MAX_DEPTH, ']', SL_MAX_DEPTH);
    CHECK(!strcmp(parse_error(deep, 2 * SL_MAX_DEPTH), ""));
    memset(deep, '[', SL_MAX_DEPTH + 1);
    memset(deep + SL_MAX_DEPTH + 1, ']', SL_MAX_DEPTH + 1);
    CHECK(strstr(parse_error(deep, 2 * SL_MAX_DEPTH + 2), "nesting too deep") != NULL);

    /* a long number and many nodes, beyond the first chunks */
    static char big[200000];
    size_t n = 0;
    big[n++] = '[';
    for (int i = 0; i < 20000; i++) n += (size_t)sprintf(big + n, "%s%d", i ? "," : "", i);
    n += (size_t)sprintf(big + n, ",0.%0100d1]", 0);
    root = sl_parse(&doc, big, n);
    CHECK(root && root->count == 20001 && sl_index(root, NULL) == 20001);
    sl_doc_free(&doc);
}

/* ---- Writer ---------------------------------------------------------------- */

/* The text written, NUL-terminated, or the writer's error. */
static const char *written(sl_writer *w)
{
    static char text[4096];
    if (w->error) snprintf(text, sizeof text, "error: %s", w->error);
    else snprintf(text, sizeof text, "%.*s", (int)w->len, w->data);
    sl_writer_free(w);
    return text;
}

static void test_writer(void)
{
    sl_writer w = SL_WRITER_INIT;
    sl_write_object_begin(&w);
    sl_write_key(&w, "n");
    sl_write_array_begin(&w);
    sl_write_number(&w, 0.1);
    sl_write_number(&w, 1e21);
    sl_write_number(&w, -0.0);
    sl_write_number(&w, 5e-324);
    sl_write_number(&w, 1.7976931348623157e308);
    sl_write_number(&w, 0.30000000000000004);
    sl_write_float(&w, 0.1f);
    sl_write_float(&w, 16777216.0f);
    sl_write_int(&w, -9223372036854775807LL - 1);
    sl_write_array_end(&w);
    sl_write_key(&w, "s\"");
    sl_write_string_n(&w, "q\"\\\n\r\t\b\f\x01\x1f/\xc3\xa9\0z", 15);
    sl_write_key(&w, "e");
    sl_write_array_begin(&w);
    sl_write_array_end(&w);
    sl_write_key(&w, "o");
    sl_write_object_begin(&w);
    sl_write_object_end(&w);
    sl_write_key(&w, "b");
    sl_write_bool(&w, false);
    sl_write_key(&w, "z");
    sl_write_null(&w);
    sl_write_object_end(&w);
    CHECK(!strcmp(written(&w), "{\"n\":[0.1,1e+21,-0,4.94065645841247e-324,1.7976931348623157e+308,"
                               "0.30000000000000004,0.1,16777216,-9223372036854775808],"
                               "\"s\\\"\":\"q\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f/\xc3\xa9\\u0000z\","
                               "\"e\":[],\"o\":{},\"b\":false,\"z\":null}"));

    /* copying a parsed document keeps numbers as written */
    sl_doc doc;
    const char *text = "{\"big\":123456789012345678901234567890,\"x\":[1.50,\"\\u00e9\"]}";
    sl_write_value(&w, sl_parse(&doc, text, strlen(text)));
    CHECK(!strcmp(written(&w), "{\"big\":123456789012345678901234567890,\"x\":[1.50,\"\xc3\xa9\"]}"));
    sl_doc_free(&doc);

    double nan = 0.0 / 0.0, inf = 1.0 / 0.0;
    sl_write_number(&w, nan);
    CHECK(!strcmp(written(&w), "error: a number that is not finite (JSON has no NaN or infinity)"));
    sl_write_array_begin(&w);
    sl_write_number(&w, -inf);
    sl_write_int(&w, 1); /* ignored after an error */
    CHECK(!strcmp(written(&w), "error: a number that is not finite (JSON has no NaN or infinity)"));
    sl_write_string(&w, "\xff");
    CHECK(!strcmp(written(&w), "error: invalid UTF-8 in a string"));
    sl_write_int(&w, 1);
    sl_write_int(&w, 2);
    CHECK(!strcmp(written(&w), "error: a second top-level value"));
    sl_write_object_begin(&w);
    sl_write_int(&w, 1);
    CHECK(!strcmp(written(&w), "error: a value inside an object without a key"));
    sl_write_key(&w, "k");
    CHECK(!strcmp(written(&w), "error: a key outside an object"));
    sl_write_object_begin(&w);
    sl_write_key(&w, "k");
    sl_write_key(&w, "l");
    CHECK(!strcmp(written(&w), "error: two keys in a row"));
    sl_write_object_begin(&w);
    sl_write_key(&w, "k");
    sl_write_object_end(&w);
    CHECK(!strcmp(written(&w), "error: object end after a key without its value"));
    sl_write_array_begin(&w);
    sl_write_object_end(&w);
    CHECK(!strcmp(written(&w), "error: object end without its beginning"));
    sl_write_array_end(&w);
    CHECK(!strcmp(written(&w), "error: array end without its beginning"));
    for (int i = 0; i <= SL_WRITER_MAX_DEPTH; i++) sl_write_array_begin(&w);
    CHECK(!strcmp(written(&w), "error: nesting too deep"));

    /* a long output grows the buffer */
    sl_write_array_begin(&w);
    for (int i = 0; i < 100000; i++) sl_write_int(&w, i);
    sl_write_array_end(&w);
    CHECK(!w.error && w.len == 588891 && w.data[w.len - 1] == ']');
    sl_writer_free(&w);
}

/* ---- Formatter -------------------------------------------------------------- */

static void test_format(void)
{
    CHECK(call(sluice_init, "{}") == 0); /* clears any error */
    sl_fail("k", "%s|%.*s|%c|%d|%i|%u|%ld|%lu|%lld|%llu|%zu|%zd|%g|%g|%%", "str", 2, "abc", 'c', -1, 2, 3u,
            -4L, 5UL, -9223372036854775807LL - 1, 18446744073709551615ULL, (size_t)6, (ptrdiff_t)-7, 0.1, 1e300);
    CHECK(!strcmp(sl__the_error.message,
                  "str|ab|c|-1|2|3|-4|5|-9223372036854775808|18446744073709551615|6|-7|0.1|1e+300|%"));
    CHECK(!strcmp(sl__the_error.kind, "k"));
    sl_fail("other", "the first error wins");
    CHECK(!strcmp(sl__the_error.kind, "k"));
    sl__the_error.set = false;

    char long_text[3000];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    sl_warn("%s", long_text);
    size_t n = strlen(host_log);
    CHECK(host_level == SL_LOG_WARN && n == SL__MESSAGE_MAX - 1 && !strcmp(host_log + n - 3, "..."));
    sl_debug("%g %g", 0.0 / 0.0, -1.0 / 0.0);
    CHECK(host_level == SL_LOG_DEBUG && !strcmp(host_log, "nan -inf"));
}

/* ---- Numbers without libc --------------------------------------------------- */

/* The exact conversions that builds without libc use must agree with libc
   (strtod, strtof, snprintf), which this native test has. */

static uint64_t random_state = 88172645463325252u;

static uint64_t random_u64(void)
{
    random_state ^= random_state << 13;
    random_state ^= random_state >> 7;
    random_state ^= random_state << 17;
    return random_state;
}

/* Whether text reads as libc reads it, as a double and as a float. */
static bool reads_like_libc(const char *text)
{
    size_t len = strlen(text);
    sl__bits64 d = { strtod(text, NULL) };
    sl__bits32 f = { strtof(text, NULL) };
    uint64_t mine_d, mine_f;
    bool ok_d = sl__decimal_to_binary(text, len, false, &mine_d);
    bool ok_f = sl__decimal_to_binary(text, len, true, &mine_f);
    bool same = (isinf(d.d) ? !ok_d : ok_d && mine_d == d.u) && (isinf(f.f) ? !ok_f : ok_f && mine_f == f.u);
    if (!same) printf("FAIL reading %.60s: libc %a %a, sdk %a %a\n", text, d.d, (double)f.f,
                      ((sl__bits64){ .u = mine_d }).d, (double)((sl__bits32){ .u = (uint32_t)mine_f }).f);
    return same;
}

/* Whether v is written as libc writes it, as a double and as a float. */
static bool writes_like_libc(double v)
{
    char libc[32], mine[32];
    bool same = true;
    for (int single = 0; single <= 1 && same; single++) {
        double x = single ? (float)v : v;
        if (!isfinite(x)) continue;
        size_t n = sl__format_number(libc, x, single);
        same = n == sl__format_exact(mine, x, single) && !memcmp(libc, mine, n);
        if (!same) printf("FAIL writing %a as a %s: libc %.*s, sdk %.*s\n", x, single ? "float" : "double",
                          (int)n, libc, (int)n, mine);
    }
    return same;
}

static void test_numbers(void)
{
    static const char *texts[] = {
        "0", "-0", "0.1", "1e23", "5e-324", "2e-324", "3e-324", "1e-400", "2.2250738585072011e-308",
        "2.2250738585072014e-308", "1.7976931348623157e308", "1.7976931348623158e308",
        "1.7976931348623159e308", "1e309", "9007199254740993", "9007199254740995", "123456789012345678901234567890",
        "3.4028235e38", "3.4028236e38", "1.4e-45", "7e-46", "7.1e-46", "0.000001", "1e-7", "100000000000000000000000",
        "4.9406564584124654417656879286822137236505980e-324", "2.4703282292062327208828439643411068618252990e-324",
        "2.4703282292062328e-324",
    };
    bool ok = true;
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) ok &= reads_like_libc(texts[i]);
    CHECK(ok);

    /* random decimal texts: up to 40 digits, exponents -350..350 */
    ok = true;
    for (int i = 0; i < 20000 && ok; i++) {
        char text[64];
        int n = 0, digits = 1 + (int)(random_u64() % 40), dot = (int)(random_u64() % (uint64_t)digits);
        if (random_u64() & 1) text[n++] = '-';
        for (int j = 0; j < digits; j++) {
            if (j == dot && j) text[n++] = '.';
            text[n++] = (char)('0' + random_u64() % 10);
        }
        sprintf(text + n, "e%d", (int)(random_u64() % 701) - 350);
        ok = reads_like_libc(text);
    }
    CHECK(ok);

    /* exact midpoints between two doubles (ties), written out in full */
    ok = true;
    for (int i = 0; i < 500 && ok; i++) {
        sl__bits64 v = { .u = random_u64() >> 1 };
        double up = nextafter(v.d, INFINITY);
        if (!isfinite(up)) continue;
        char text[1000];
        snprintf(text, sizeof text, "%.780Le", ((long double)v.d + (long double)up) / 2);
        ok = reads_like_libc(text);
    }
    CHECK(ok);

    static const double values[] = { 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.1, 1e21, 1e-5,
                                     123456789012345680, 1e15, 999999999999999.9, 0.30000000000000004, -0.0 };
    ok = true;
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) ok &= writes_like_libc(values[i]);
    CHECK(ok);

    /* random bit patterns */
    ok = true;
    for (int i = 0; i < 20000 && ok; i++) {
        sl__bits64 v = { .u = random_u64() };
        sl__bits32 f = { .u = (uint32_t)random_u64() };
        ok = writes_like_libc(v.d) && writes_like_libc(f.f);
    }
    CHECK(ok);
}

int main(void)
{
    test_glue();
    test_reader();
    test_writer();
    test_format();
    test_numbers();
    printf("sluice_fn.h: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
