/*
** fastflag.c: the benchmark guest of tests/e2e/function.sh: a pass-through
** that adds `is_anomaly` (air_quality > 25) by working on the JSON text
** rather than a parsed tree: it copies the input and appends the column,
** reading only the `air_quality` array. Written against the raw ABI
** (docs/abi.md) with static buffers, so it needs no libc.
*/
#include <stdbool.h>
#include <stddef.h>

#define IMPORT(name) __attribute__((import_module("sluice"), import_name(#name)))
#define EXPORT(name) __attribute__((export_name(#name)))

IMPORT(sluice_output) void sluice_output(const void *ptr, size_t len);
IMPORT(sluice_error) void sluice_error(const void *kind, size_t kind_len, const void *msg, size_t msg_len);

enum { CAPACITY = 8 << 20 };
static char input[CAPACITY], output[CAPACITY];

EXPORT(sluice_abi_version) int abi_version(void) { return 1; }
EXPORT(sluice_alloc) void *alloc(size_t size) { return size <= CAPACITY ? input : 0; }
EXPORT(sluice_free) void release(void *ptr, size_t size) { (void)ptr; (void)size; }

static int fail(const char *msg, size_t len)
{
    sluice_error("invalid_input", 13, msg, len);
    return 1;
}

/* The position just after `"air_quality":[`, or 0. Searched from the end:
** the host writes the columns in field order, and it is often last. */
static size_t find_column(const char *s, size_t len)
{
    static const char key[] = "\"air_quality\":[";
    for (size_t i = len - (sizeof key - 1); i-- > 0;) {
        size_t k = 0;
        while (k < sizeof key - 1 && s[i + k] == key[k]) k++;
        if (k == sizeof key - 1) return i + k;
    }
    return 0;
}

static size_t put(char *out, size_t at, const char *s, size_t n)
{
    __builtin_memcpy(out + at, s, n);
    return at + n;
}

EXPORT(sluice_execute) int execute(const char *in, size_t len)
{
    size_t i = len > 16 ? find_column(in, len) : 0;
    if (!i || 2 * len + 64 > CAPACITY) return fail("no air_quality column", 21);
    size_t at = put(output, 0, in, len - 1);
    at = put(output, at, ",\"is_anomaly\":[", 15);
    for (bool first = true; i < len && in[i] != ']'; first = false) {
        long whole = 0;
        while (in[i] >= '0' && in[i] <= '9') whole = whole * 10 + (in[i++] - '0');
        while (i < len && in[i] != ',' && in[i] != ']') i++;
        if (!first) output[at++] = ',';
        at = whole >= 25 ? put(output, at, "true", 4) : put(output, at, "false", 5);
        if (in[i] == ',') i++;
    }
    at = put(output, at, "]}", 2);
    sluice_output(output, at);
    return 0;
}
