/*
** freestanding.c: a guest built with sluice_fn.h and no libc at all, to
** test the SDK's own allocator, number conversion and glue in a real
** WebAssembly module (cases: freestanding_cases.yaml).
**
**   clang-19 --target=wasm32 -O2 -ffreestanding -nostdlib -mbulk-memory \
**       -Wl,--no-entry -Isdk/c -o freestanding.wasm freestanding.c
**
** Input {"values": [integers], "label": string}; output {"label", "count",
** "sum" (each value times the configured scale, default 1), "reversed"}.
*/
#include "sluice_fn.h"

#if SLUICE_FN_LIBC
#error "this guest must be built without libc"
#endif

static long long scale = 1;

static int init(const sl_json *config)
{
    const sl_json *s = sl_get(config, "scale");
    if (s && s->type != SL_NUMBER) return sl_fail("invalid_config", "scale must be an integer");
    if (s) scale = (long long)s->number;
    return SL_OK;
}

static int execute(const sl_json *input, sl_writer *out)
{
    const sl_json *values = sl_get(input, "values"), *label = sl_get(input, "label");
    if (!values || values->type != SL_ARRAY) return sl_fail("invalid_input", "values must be an array");
    if (!label || label->type != SL_STRING) return sl_fail("invalid_input", "label must be a string");
    /* a temporary copy, to exercise the allocator */
    long long *copy = sl_alloc(values->count * sizeof *copy);
    if (!copy && values->count) return sl_fail("out_of_memory", "no memory for %zu values", values->count);
    long long sum = 0;
    size_t n = 0;
    for (const sl_json *v = values->first; v; v = v->next) {
        if (v->type != SL_NUMBER) {
            sl_free(copy);
            return sl_fail("invalid_input", "values[%zu] is not a number", n);
        }
        copy[n++] = (long long)v->number * scale;
        sum += copy[n - 1];
    }
    sl_write_object_begin(out);
    sl_write_key(out, "label");
    sl_write_string_n(out, label->string, label->len);
    sl_write_key(out, "count");
    sl_write_int(out, (long long)n);
    sl_write_key(out, "sum");
    sl_write_number(out, (double)sum);
    sl_write_key(out, "reversed");
    sl_write_array_begin(out);
    while (n) sl_write_int(out, copy[--n]);
    sl_write_array_end(out);
    sl_write_object_end(out);
    sl_free(copy);
    sl_info("label %.*s, scale %lld", (int)label->len, label->string, scale);
    return SL_OK;
}

SLUICE_FUNCTION(execute, init)
