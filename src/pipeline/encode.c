/*
** encode.c: NDJSON and CSV text from records (see encode.h).
*/
#include "encode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sl_buf_reserve(SlBuf *b, size_t more)
{
    if (b->len + more <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more) cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data) {
        fprintf(stderr, "sluice: out of memory (%zu bytes)\n", cap);
        abort();
    }
    b->data = data;
    b->cap = cap;
}

void sl_buf_put(SlBuf *b, const void *data, size_t len)
{
    if (!len) return;   /* an empty buffer has no data to copy to */
    sl_buf_reserve(b, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void sl_buf_free(SlBuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* Writes the decimal digits of u ending just before `end`, two at a time
** (half the divisions); returns where they start. */
static char *digits_before(char *end, uint64_t u)
{
    static const char pairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    while (u >= 100) {
        unsigned pair = (unsigned)(u % 100) * 2;
        u /= 100;
        end -= 2;
        memcpy(end, pairs + pair, 2);
    }
    if (u >= 10) {
        end -= 2;
        memcpy(end, pairs + u * 2, 2);
    } else {
        *--end = (char)('0' + u);
    }
    return end;
}

static void put_int(SlBuf *b, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof tmp;
    char *p = digits_before(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
    if (v < 0) *--p = '-';
    sl_buf_put(b, p, (size_t)(end - p));
}

/* Most real numbers have a few decimals: if v * 10^k is an integer m that
** gives back v as m / 10^k (which is how "m with k decimals" reads back),
** print m's digits with a point; this is exact and far faster than printf. */
static bool put_short_decimal(SlBuf *b, double v)
{
    static const double tens[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9 };
    double magnitude = v < 0 ? -v : v;
    for (int k = 1; k < 10; k++) {
        double m = magnitude * tens[k];
        if (m >= 9e15) return false;
        double whole = (double)(int64_t)(m + 0.5);
        if (whole / tens[k] != magnitude) continue;
        /* m's digits, at least k + 1 of them; then the digits before the
        ** point move one place left to let it in. */
        char tmp[32];
        char *end = tmp + sizeof tmp, *p = digits_before(end, (uint64_t)whole);
        while (end - p <= k) *--p = '0';
        for (char *q = p; q < end - k; q++) q[-1] = q[0];
        p--;
        end[-k - 1] = '.';
        if (v < 0) *--p = '-';
        sl_buf_put(b, p, (size_t)(end - p));
        return true;
    }
    return false;
}

/* Else the shortest of %.15g, %.16g, %.17g that reads back exactly. */
static void put_float(SlBuf *b, double v)
{
    if (!isfinite(v)) {
        sl_buf_put(b, "null", 4);
        return;
    }
    if (put_short_decimal(b, v)) return;
    char tmp[32];
    int n = 0;
    for (int precision = 15; precision <= 17; precision++) {
        n = snprintf(tmp, sizeof tmp, "%.*g", precision, v);
        if (strtod(tmp, NULL) == v) break;
    }
    sl_buf_put(b, tmp, (size_t)n);
    if (!strpbrk(tmp, ".eEn")) sl_buf_put(b, ".0", 2);
}

/* The length of the valid UTF-8 sequence at s (lead byte >= 0x80), or 0. */
static size_t utf8_length(const unsigned char *s, size_t left)
{
    size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (n == 0 || n > left || s[0] > 0xF4) return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    /* Overlong forms, surrogates and code points above U+10FFFF. */
    if (n == 3 && s[0] == 0xE0 && s[1] < 0xA0) return 0;
    if (n == 3 && s[0] == 0xED && s[1] >= 0xA0) return 0;
    if (n == 4 && s[0] == 0xF0 && s[1] < 0x90) return 0;
    if (n == 4 && s[0] == 0xF4 && s[1] >= 0x90) return 0;
    return n;
}

/* True if none of the 8 bytes of w needs a closer look: a control
** character, '"', '\\', or a byte of a multibyte UTF-8 sequence. Each test
** sets a byte's high bit when it matches (borrows only ever cross into
** bytes that already match, so any match is seen). */
static bool plain_word(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101u;
    uint64_t quote = w ^ ones * '"', backslash = w ^ ones * '\\';
    uint64_t special = ((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) |
                       ((backslash - ones) & ~backslash) | w;
    return !(special & ones * 0x80);
}

/* The length of the start of s that JSON can hold as it is. */
static size_t plain_prefix(const char *s, size_t len)
{
    size_t i = 0;
    uint64_t word;
    while (len - i >= 8 && (memcpy(&word, s + i, 8), plain_word(word))) i += 8;
    while (i < len && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x80 &&
           s[i] != '"' && s[i] != '\\')
        i++;
    return i;
}

/* The rest of a string from s[i], which needs a closer look: JSON text
** must be UTF-8, so bytes that are not become U+FFFD. */
static void put_escaped(SlBuf *b, const char *s, size_t len, size_t i)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;
    for (; i < len; i++) {
        i += plain_prefix(s + i, len - i);
        if (i == len) break;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t n = utf8_length((const unsigned char *)s + i, len - i);
            if (n) {
                i += n - 1;
                continue;
            }
        }
        sl_buf_put(b, s + start, i - start);
        start = i + 1;
        char esc[6] = { '\\', 0 };
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            if (c >= 0x80) {
                memcpy(esc, "\\ufffd", 6);
            } else {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
            }
            n = 6;
        }
        sl_buf_put(b, esc, n);
    }
    sl_buf_put(b, s + start, len - start);
}

/* Most strings (and every field name in practice) need no escaping: one
** copy between the quotes. */
static void put_json_string(SlBuf *b, const char *s, size_t len)
{
    size_t plain = plain_prefix(s, len);
    sl_buf_reserve(b, len + 2);
    b->data[b->len++] = '"';
    if (plain < len) {
        put_escaped(b, s, len, plain);
        sl_buf_putc(b, '"');
        return;
    }
    memcpy(b->data + b->len, s, len);
    b->data[b->len + len] = '"';
    b->len += len + 1;
}

static void put_json_map(SlBuf *b, const SlMap *m)
{
    sl_buf_putc(b, '{');
    for (uint32_t i = 0; i < m->count; i++) {
        if (i) sl_buf_putc(b, ',');
        put_json_string(b, m->fields[i].name, m->fields[i].name_len);
        sl_buf_putc(b, ':');
        sl_json_value(b, &m->fields[i].value);
    }
    sl_buf_putc(b, '}');
}

/* A timestamp needs no escaping: formatted straight into the buffer. */
static void put_json_time(SlBuf *b, int64_t ns)
{
    sl_buf_reserve(b, 42);
    b->data[b->len++] = '"';
    b->len += sl_format_time(ns, b->data + b->len);
    b->data[b->len++] = '"';
}

void sl_json_value(SlBuf *b, const SlValue *v)
{
    switch ((SlType)v->type) {
    case SL_NULL: sl_buf_put(b, "null", 4); break;
    case SL_BOOL: v->as.b ? sl_buf_put(b, "true", 4) : sl_buf_put(b, "false", 5); break;
    case SL_INT: put_int(b, v->as.i); break;
    case SL_FLOAT: put_float(b, v->as.f); break;
    case SL_STRING: put_json_string(b, v->as.s, v->len); break;
    case SL_TIMESTAMP: put_json_time(b, v->as.ns); break;
    case SL_ARRAY:
        sl_buf_putc(b, '[');
        for (uint32_t i = 0; i < v->len; i++) {
            if (i) sl_buf_putc(b, ',');
            sl_json_value(b, &v->as.items[i]);
        }
        sl_buf_putc(b, ']');
        break;
    case SL_MAP: put_json_map(b, v->as.map); break;
    }
}

void sl_json_record(SlBuf *b, const SlRecord *r)
{
    put_json_map(b, &r->fields);
    sl_buf_putc(b, '\n');
}

static void put_csv_text(SlBuf *b, const char *s, size_t len, char delimiter)
{
    bool quote = false;
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == delimiter || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        sl_buf_put(b, s, len);
        return;
    }
    sl_buf_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"') sl_buf_putc(b, '"');
        sl_buf_putc(b, s[i]);
    }
    sl_buf_putc(b, '"');
}

void sl_csv_value(SlBuf *b, const SlValue *v, char delimiter)
{
    char ts[40];
    switch ((SlType)v->type) {
    case SL_NULL: break;
    case SL_STRING: put_csv_text(b, v->as.s, v->len, delimiter); break;
    case SL_TIMESTAMP: sl_buf_put(b, ts, sl_format_time(v->as.ns, ts)); break;
    case SL_ARRAY:
    case SL_MAP: {
        SlBuf json = { 0 };
        sl_json_value(&json, v);
        put_csv_text(b, json.data, json.len, delimiter);
        sl_buf_free(&json);
        break;
    }
    default: sl_json_value(b, v); break;
    }
}
