/*
** convert.c: strict text-to-number parsing and value conversion
** (convert.h). Decimal numbers of up to 15 significant digits with a short
** fraction are computed exactly without strtod (the common case for sensor
** data, and several times faster); everything else goes to strtod.
*/
#include "convert.h"
#include "encode.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const sl_type_choices[] = { "string", "int", "float", "bool", "timestamp", NULL };

bool sl_type_parse(const char *name, SlType *out)
{
    static const SlType types[] = { SL_STRING, SL_INT, SL_FLOAT, SL_BOOL, SL_TIMESTAMP };
    for (size_t i = 0; sl_type_choices[i]; i++)
        if (!strcmp(name, sl_type_choices[i])) return *out = types[i], true;
    return false;
}

bool sl_text_int(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool negative = len && s[0] == '-';
    if (len && (s[0] == '-' || s[0] == '+')) i++;
    if (i == len) return false;
    uint64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned digit = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - digit) / 10) return false;
        v = v * 10 + digit;
    }
    if (v > (uint64_t)INT64_MAX + negative) return false;
    *out = negative ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* [-]digits[.digits] with at most 15 digits: exact as mantissa / 10^k. */
static bool fast_decimal(const char *s, size_t len, double *out)
{
    static const double tens[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
                                   1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15 };
    bool negative = len && s[0] == '-';
    size_t first = negative, point = len;
    uint64_t mantissa = 0;     /* wraps past 19 digits, refused below */
    for (size_t i = first; i < len; i++) {
        unsigned digit = (unsigned)(unsigned char)s[i] - '0';
        if (digit < 10)
            mantissa = mantissa * 10 + digit;
        else if (s[i] == '.' && point == len)
            point = i;
        else
            return false;
    }
    bool has_point = point < len;
    size_t digits = len - first - has_point, decimals = has_point ? len - point - 1 : 0;
    if (!digits || digits > 15 || (has_point && !decimals)) return false;
    double v = (double)mantissa / tens[decimals];
    *out = negative ? -v : v;
    return true;
}

bool sl_text_float(const char *s, size_t len, double *out)
{
    if (fast_decimal(s, len, out)) return true;
    char tmp[128];
    if (!len || len >= sizeof tmp) return false;
    memcpy(tmp, s, len);
    tmp[len] = 0;
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (*end || errno == ERANGE || tmp[0] == ' ' || !isfinite(v)) return false;
    *out = v;
    return true;
}

bool sl_text_bool(const char *s, size_t len, bool *out)
{
    static const char *const yes[] = { "true", "1", "yes", "on", "True", "TRUE" };
    static const char *const no[] = { "false", "0", "no", "off", "False", "FALSE" };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strlen(yes[i]) == len && !memcmp(s, yes[i], len)) return *out = true, true;
        if (strlen(no[i]) == len && !memcmp(s, no[i], len)) return *out = false, true;
    }
    return false;
}

static bool from_string(const SlValue *v, SlType to, SlValue *out)
{
    const char *s = v->as.s;
    size_t len = v->len;
    switch (to) {
    case SL_INT: out->type = SL_INT; return sl_text_int(s, len, &out->as.i);
    case SL_FLOAT: out->type = SL_FLOAT; return sl_text_float(s, len, &out->as.f);
    case SL_BOOL: out->type = SL_BOOL; return sl_text_bool(s, len, &out->as.b);
    case SL_TIMESTAMP: out->type = SL_TIMESTAMP; return sl_parse_time(s, len, &out->as.ns);
    default: return false;
    }
}

static void to_string(SlBatch *b, const SlValue *v, SlValue *out)
{
    SlBuf text = { 0 };
    if (v->type == SL_TIMESTAMP) {
        char ts[40];
        sl_buf_put(&text, ts, sl_format_time(v->as.ns, ts));
    } else {
        sl_json_value(&text, v);
    }
    *out = sl_str(sl_copy_str(b, text.data, text.len), text.len);
    sl_buf_free(&text);
}

bool sl_convert(SlBatch *b, const SlValue *v, SlType to, SlValue *out, const char **why)
{
    *why = NULL;
    if (v->type == to || v->type == SL_NULL) {
        *out = *v;
        return true;
    }
    if (to == SL_STRING) {
        to_string(b, v, out);
        return true;
    }
    if (v->type == SL_STRING) {
        if (from_string(v, to, out)) return true;
        *why = "cannot be read as";
        return false;
    }
    if (to == SL_FLOAT && v->type == SL_INT) return *out = sl_float((double)v->as.i), true;
    if (to == SL_INT && v->type == SL_FLOAT && v->as.f >= -9.2e18 && v->as.f <= 9.2e18)
        return *out = sl_int((int64_t)v->as.f), true;
    if (to == SL_BOOL && v->type == SL_INT) return *out = sl_bool(v->as.i != 0), true;
    if (to == SL_INT && v->type == SL_BOOL) return *out = sl_int(v->as.b), true;
    if (to == SL_TIMESTAMP && v->type == SL_INT && v->as.i > -9000000000 &&
        v->as.i < 9000000000)
        return *out = sl_time(v->as.i * 1000000000), true;
    if (to == SL_INT && v->type == SL_TIMESTAMP) return *out = sl_int(v->as.ns / 1000000000), true;
    *why = "cannot be converted to";
    return false;
}
