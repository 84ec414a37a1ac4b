/*
** spectest_values.h: the values of a wast2json spec-test script (arguments
** and expected results), how they match the engine's results, and how they
** print in failure messages. Used by spectest.c.
*/
#ifndef SLUICE_SPECTEST_VALUES_H
#define SLUICE_SPECTEST_VALUES_H

#include "sluice_wasm.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A bounded text buffer: messages are cut rather than overflowing. */
typedef struct Text {
    char buf[1024];
    size_t len;
} Text;

void text_add(Text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds a wasm name: quoted unless it is plain, with bytes that would garble
   a terminal line (and \ and ") escaped as \xx. */
void text_add_name(Text *t, sw_name name);

/* How an expected value is compared with an actual one. */
typedef enum SpecMatch {
    MATCH_BITS,           /* same bit pattern (a reference: same pointer) */
    MATCH_NAN_CANONICAL,  /* any canonical NaN, either sign */
    MATCH_NAN_ARITHMETIC, /* any NaN with the quiet bit set */
    MATCH_ANY_REF         /* any non-null reference */
} SpecMatch;

typedef struct SpecValue {
    sw_valtype type;
    SpecMatch match;
    uint64_t bits;  /* the bit pattern; for a reference, its pointer */
} SpecValue;

/* Parses {"type": ..., "value": ...}. Returns 0, or -1 with the reason in why. */
int spec_value_parse(const json_t *json, SpecValue *out, Text *why);
/* Turns a parsed value into a call argument; patterns (NaN classes, "any
   function") cannot be arguments. Returns 0, or -1 with the reason in why. */
int spec_value_to_arg(const SpecValue *v, sw_value *out, Text *why);
SpecValue spec_value_of(const sw_value *v);
SpecValue spec_value_of_slot(sw_valtype type, sw_slot slot);
bool spec_value_matches(const SpecValue *expected, const SpecValue *actual);
/* Prints "i32:3", "f32:1.5 (0x3fc00000)", "externref:null", ... */
void spec_value_format(Text *t, const SpecValue *v);
/* Prints a comma-separated list, or "nothing" when n is 0. */
void spec_values_format(Text *t, const SpecValue *v, size_t n);

#endif
