/*
** freestanding.c: a guest built with sluice_fn.h and no libc at all, to
** test the SDK's own allocator, number conversion and glue in a real
** WebAssembly module (cases: ../freestanding_cases.yaml).
**
**   clang-19 --target=wasm32 -O2 -ffreestanding -nostdlib -mbulk-memory \
**       -Wl,--no-entry -Isdk/c -o freestanding.wasm freestanding.c
**
** Input {"values": [numbers], "label": string}; output {"label", "count",
** "sum" (of each value times the configured scale, default 1), "reversed"
** (the scaled values, last first)}.
*/
#include "sluice_fn.h"

#if SLUICE_FN_LIBC
#error "this guest must be built without libc"
#endif

static double scale = 1;

static int init(const sl_json *config)
{
    const sl_json *s = sl_get(config, "scale");
    if (s && s->type != SL_NUMBER) return sl_fail("invalid_config", "scale must be a number");
    if (s) scale = s->number;
    return SL_OK;
}

static int execute(const sl_json *input, sl_writer *out)
{
    const sl_json *values = sl_get(input, "values"), *label = sl_get(input, "label");
    if (!values || values->type != SL_ARRAY) return sl_fail("invalid_input", "values must be an array");
    if (!label || label->type != SL_STRING) return sl_fail("invalid_input", "label must be a string");
    /* a temporary copy, to exercise the allocator */
    double *scaled = sl_alloc(values->count * sizeof *scaled);
    if (!scaled) return sl_fail("out_of_memory", "no memory for %zu values", values->count);
    double sum = 0;
    size_t n = 0;
    for (const sl_json *v = values->first; v; v = v->next) {
        if (v->type != SL_NUMBER) {
            sl_free(scaled);
            return sl_fail("invalid_input", "values[%zu] is not a number", n);
        }
        scaled[n] = v->number * scale;
        sum += scaled[n++];
    }
    sl_write_object_begin(out);
    sl_write_key(out, "label");
    sl_write_string_n(out, label->string, label->len);
    sl_write_key(out, "count");
    sl_write_int(out, (long long)n);
    sl_write_key(out, "sum");
    sl_write_number(out, sum);
    sl_write_key(out, "reversed");
    sl_write_array_begin(out);
    while (n) sl_write_number(out, scaled[--n]);
    sl_write_array_end(out);
    sl_write_object_end(out);
    sl_free(scaled);
    sl_info("label %.*s, scale %g, sum %g", (int)label->len, label->string, scale, sum);
    return SL_OK;
}

SLUICE_FUNCTION(execute, init)
