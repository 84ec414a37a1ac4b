/*
** spectest_values.c: values in wast2json scripts. Numbers come as decimal
** strings of their unsigned bit pattern (floats too, so NaN payloads survive),
** "nan:canonical" / "nan:arithmetic" stand for classes of NaNs, and references
** are "null" or a host number N. Externref N travels through the engine as
** the pointer N + 1, so each N is a distinct non-null pointer and comes back
** recognisable.
*/
#include "spectest_values.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F32_QUIET_NAN 0x7fc00000u
#define F64_QUIET_NAN 0x7ff8000000000000u
#define F32_SIGN 0x80000000u
#define F64_SIGN 0x8000000000000000u

void text_add(Text *t, const char *fmt, ...)
{
    size_t room = sizeof t->buf - t->len;
    if (room <= 1) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, room, fmt, ap);
    va_end(ap);
    if (n > 0) t->len += (size_t)n < room ? (size_t)n : room - 1;
}

static bool is_plain(sw_name name)
{
    for (size_t i = 0; i < name.len; i++) {
        unsigned char c = (unsigned char)name.ptr[i];
        if (!isalnum(c) && !strchr("_.-$", c)) return false;
    }
    return name.len > 0;
}

void text_add_name(Text *t, sw_name name)
{
    bool quoted = !is_plain(name);
    if (quoted) text_add(t, "\"");
    for (size_t i = 0; i < name.len; i++) {
        unsigned char c = (unsigned char)name.ptr[i];
        if (c < 0x20 || c == 0x7f || c == '\\' || c == '"') text_add(t, "\\%02x", c);
        else text_add(t, "%c", c);
    }
    if (quoted) text_add(t, "\"");
}

static const struct {
    const char *name;
    sw_valtype type;
} value_types[] = {
    { "i32", SW_I32 }, { "i64", SW_I64 }, { "f32", SW_F32 }, { "f64", SW_F64 },
    { "funcref", SW_FUNCREF }, { "externref", SW_EXTERNREF },
};

static const char *type_name(sw_valtype type)
{
    for (size_t i = 0; i < sizeof value_types / sizeof value_types[0]; i++)
        if (value_types[i].type == type) return value_types[i].name;
    return NULL;
}

static int parse_type(const char *name, sw_valtype *out)
{
    for (size_t i = 0; i < sizeof value_types / sizeof value_types[0]; i++)
        if (!strcmp(value_types[i].name, name)) {
            *out = value_types[i].type;
            return 0;
        }
    return -1;
}

static bool is_ref(sw_valtype type)
{
    return type == SW_FUNCREF || type == SW_EXTERNREF;
}

static bool is_32bit(sw_valtype type)
{
    return type == SW_I32 || type == SW_F32;
}

/* Strict: digits only (strtoull alone would accept signs and spaces). */
static int parse_unsigned(const char *s, uint64_t max, uint64_t *out)
{
    if (!isdigit((unsigned char)s[0])) return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max) return -1;
    *out = v;
    return 0;
}

static int parse_ref(const char *text, SpecValue *out, Text *why)
{
    uint64_t n;
    if (!strcmp(text, "null")) {
        out->bits = 0;
    } else if (parse_unsigned(text, UINTPTR_MAX - 1, &n)) {
        text_add(why, "bad reference \"%s\"", text);
        return -1;
    } else if (out->type == SW_EXTERNREF) {
        out->bits = n + 1;
    } else {
        out->match = MATCH_ANY_REF; /* a funcref's number cannot be mapped */
    }
    return 0;
}

static int parse_number(const char *text, SpecValue *out, Text *why)
{
    bool is_float = out->type == SW_F32 || out->type == SW_F64;
    if (is_float && !strcmp(text, "nan:canonical")) {
        out->match = MATCH_NAN_CANONICAL;
    } else if (is_float && !strcmp(text, "nan:arithmetic")) {
        out->match = MATCH_NAN_ARITHMETIC;
    } else if (parse_unsigned(text, is_32bit(out->type) ? UINT32_MAX : UINT64_MAX,
                              &out->bits)) {
        text_add(why, "bad %s value \"%s\"", type_name(out->type), text);
        return -1;
    }
    return 0;
}

int spec_value_parse(const json_t *json, SpecValue *out, Text *why)
{
    const char *type = json_string_value(json_object_get(json, "type"));
    const json_t *value = json_object_get(json, "value");
    *out = (SpecValue){ .match = MATCH_BITS };
    if (!type) {
        text_add(why, "value without a type");
        return -1;
    }
    if (parse_type(type, &out->type)) {
        text_add(why, "unsupported value type \"%s\"", type);
        return -1;
    }
    if (!value && is_ref(out->type)) { /* a bare (ref.func): any function */
        out->match = MATCH_ANY_REF;
        return 0;
    }
    if (!json_is_string(value)) {
        text_add(why, "%s value is not a string", type);
        return -1;
    }
    if (is_ref(out->type)) return parse_ref(json_string_value(value), out, why);
    return parse_number(json_string_value(value), out, why);
}

int spec_value_to_arg(const SpecValue *v, sw_value *out, Text *why)
{
    if (v->match != MATCH_BITS) {
        text_add(why, "argument ");
        spec_value_format(why, v);
        text_add(why, " is a pattern, not a value");
        return -1;
    }
    uint32_t low = (uint32_t)v->bits;
    *out = (sw_value){ .type = v->type };
    switch (v->type) {
    case SW_I32: out->of.i32 = (int32_t)low; break;
    case SW_I64: out->of.i64 = (int64_t)v->bits; break;
    case SW_F32: memcpy(&out->of.f32, &low, sizeof low); break;
    case SW_F64: memcpy(&out->of.f64, &v->bits, sizeof v->bits); break;
    case SW_FUNCREF:
    case SW_EXTERNREF: out->of.ref = (void *)(uintptr_t)v->bits; break;
    }
    return 0;
}

SpecValue spec_value_of(const sw_value *v)
{
    SpecValue s = { .type = v->type, .match = MATCH_BITS };
    uint32_t low = 0;
    switch (v->type) {
    case SW_I32: s.bits = (uint32_t)v->of.i32; break;
    case SW_I64: s.bits = (uint64_t)v->of.i64; break;
    case SW_F32: memcpy(&low, &v->of.f32, sizeof low); s.bits = low; break;
    case SW_F64: memcpy(&s.bits, &v->of.f64, sizeof s.bits); break;
    case SW_FUNCREF:
    case SW_EXTERNREF: s.bits = (uintptr_t)v->of.ref; break;
    }
    return s;
}

SpecValue spec_value_of_slot(sw_valtype type, sw_slot slot)
{
    return (SpecValue){ .type = type, .match = MATCH_BITS,
                        .bits = is_32bit(type) ? (uint32_t)slot : slot };
}

static bool is_nan(const SpecValue *v)
{
    if (v->type == SW_F32)
        return (v->bits & ~F32_SIGN) > 0x7f800000u;
    return (v->bits & ~F64_SIGN) > 0x7ff0000000000000u;
}

/* The spec: a canonical NaN has only the quiet bit of its payload set; an
   arithmetic NaN has at least that bit set. Either may carry either sign. */
static bool nan_matches(SpecMatch match, const SpecValue *v)
{
    bool f32 = v->type == SW_F32;
    uint64_t quiet = f32 ? F32_QUIET_NAN : F64_QUIET_NAN;
    uint64_t magnitude = v->bits & ~(f32 ? F32_SIGN : F64_SIGN);
    if (!is_nan(v)) return false;
    if (match == MATCH_NAN_CANONICAL) return magnitude == quiet;
    return (magnitude & quiet) == quiet;
}

bool spec_value_matches(const SpecValue *expected, const SpecValue *actual)
{
    if (expected->type != actual->type) return false;
    switch (expected->match) {
    case MATCH_BITS: return expected->bits == actual->bits;
    case MATCH_ANY_REF: return actual->bits != 0;
    case MATCH_NAN_CANONICAL:
    case MATCH_NAN_ARITHMETIC: return nan_matches(expected->match, actual);
    }
    return false;
}

static void format_float(Text *t, const SpecValue *v)
{
    if (v->type == SW_F32) {
        uint32_t low = (uint32_t)v->bits;
        float f;
        memcpy(&f, &low, sizeof f);
        text_add(t, "%.9g (0x%08x)", (double)f, low);
    } else {
        double d;
        memcpy(&d, &v->bits, sizeof d);
        text_add(t, "%.17g (0x%016llx)", d, (unsigned long long)v->bits);
    }
}

static void format_ref(Text *t, const SpecValue *v)
{
    if (v->bits == 0) text_add(t, "null");
    else if (v->type == SW_EXTERNREF) text_add(t, "%llu", (unsigned long long)v->bits - 1);
    else text_add(t, "<function %#llx>", (unsigned long long)v->bits);
}

void spec_value_format(Text *t, const SpecValue *v)
{
    const char *name = type_name(v->type);
    if (!name) {
        text_add(t, "<unknown type %#x>:%#llx", (unsigned)v->type,
                 (unsigned long long)v->bits);
        return;
    }
    text_add(t, "%s:", name);
    switch (v->match) {
    case MATCH_NAN_CANONICAL: text_add(t, "nan:canonical"); return;
    case MATCH_NAN_ARITHMETIC: text_add(t, "nan:arithmetic"); return;
    case MATCH_ANY_REF: text_add(t, "<any function>"); return;
    case MATCH_BITS: break;
    }
    if (is_ref(v->type)) format_ref(t, v);
    else if (v->type == SW_F32 || v->type == SW_F64) format_float(t, v);
    else text_add(t, "%llu", (unsigned long long)v->bits);
}

void spec_values_format(Text *t, const SpecValue *v, size_t n)
{
    if (n == 0) text_add(t, "nothing");
    for (size_t i = 0; i < n; i++) {
        if (i) text_add(t, ", ");
        spec_value_format(t, &v[i]);
    }
}
