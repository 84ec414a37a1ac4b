/*
** tester.c: the test guest of tests/e2e/function.sh. A pass-through that
** adds the column `is_anomaly` (value > the configured threshold), and
** misbehaves on purpose when the window holds a chosen value:
**   -13: traps   -99: loops forever   -7: reports an error
**   -42: returns arrays of unequal length   -55: returns a non-object
*/
#include "sluice_fn.h"

static double threshold = 100;

static int init(const sl_json *config)
{
    const sl_json *t = sl_get(config, "threshold");
    if (t && t->type != SL_NUMBER) return sl_fail("invalid_config", "threshold must be a number");
    if (t) threshold = t->number;
    return SL_OK;
}

static bool holds(const sl_json *values, double x)
{
    for (const sl_json *v = values->first; v; v = v->next)
        if (v->type == SL_NUMBER && v->number == x) return true;
    return false;
}

static volatile unsigned spins;

static int execute(const sl_json *input, sl_writer *out)
{
    const sl_json *values = sl_get(input, "value");
    if (!values || values->type != SL_ARRAY) return sl_fail("invalid_input", "no column 'value'");
    if (holds(values, -13)) __builtin_trap();
    if (holds(values, -99)) for (;;) spins++;
    if (holds(values, -7)) return sl_fail("bad_value", "-7 is not allowed");
    if (holds(values, -55)) {
        sl_write_array_begin(out);
        sl_write_array_end(out);
        return SL_OK;
    }
    sl_write_object_begin(out);
    for (const sl_json *column = input->first; column; column = column->next) {
        sl_write_key_n(out, column->key, column->key_len);
        sl_write_value(out, column);
    }
    sl_write_key(out, "is_anomaly");
    sl_write_array_begin(out);
    size_t n = holds(values, -42) ? values->count + 1 : values->count;
    const sl_json *v = values->first;
    for (size_t i = 0; i < n; i++, v = v ? v->next : v)
        sl_write_bool(out, v && v->type == SL_NUMBER && v->number > threshold);
    sl_write_array_end(out);
    sl_write_object_end(out);
    return SL_OK;
}

SLUICE_FUNCTION(execute, init)
