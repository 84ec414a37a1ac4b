/*
** flag.c: a function of ABI v2 (C SDK) for tests/e2e/abi2.sh. It reads the
** `value` column (i64 or f64) and returns one column of each type, which
** the host merges into the input records:
**   is_anomaly  bool       value > threshold (config, default 100)
**   double      f64        value * 2; null where value is null
**   label       string     "high" for anomalies, null otherwise
**   index       i64        the row's position in the window
**   time        timestamp  the input's `time` plus one second (replaces it)
**   extra       json       {"row": N}
** A value of 666 fails the call (kind bad_value); 777 traps.
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

static int execute(const sl_batch *in, sl_out *out)
{
    const sl_column *value = sl_column_get(in, "value"), *time = sl_column_get(in, "time");
    if (!value || (value->type != SL_COL_I64 && value->type != SL_COL_F64))
        return sl_fail("invalid_input", "value must be a column of numbers");
    sl_out_column *anomaly = sl_out_add(out, "is_anomaly", SL_COL_BOOL);
    sl_out_column *twice = sl_out_add(out, "double", SL_COL_F64);
    sl_out_column *label = sl_out_add(out, "label", SL_COL_STRING);
    sl_out_column *index = sl_out_add(out, "index", SL_COL_I64);
    sl_out_column *later = time && time->type == SL_COL_TIMESTAMP
                               ? sl_out_add(out, "time", SL_COL_TIMESTAMP) : NULL;
    sl_out_column *extra = sl_out_add(out, "extra", SL_COL_JSON);
    if (!anomaly || !twice || !label || !index || !extra) return sl_fail("oom", "out of memory");
    for (size_t i = 0; i < in->rows; i++) {
        double v = sl_column_number(value, i);
        if (v == 666) return sl_fail("bad_value", "row %zu holds 666", i);
        if (v == 777) __builtin_trap();
        anomaly->bools[i] = !sl_is_null(value, i) && v > threshold;
        twice->f64[i] = v * 2;
        if (sl_is_null(value, i)) sl_out_null(twice, i);
        if (anomaly->bools[i]) sl_out_string(out, label, i, "high", 4);
        index->i64[i] = (int64_t)i;
        if (later) later->i64[i] = time->i64[i] + 1000000000;
        if (later && sl_is_null(time, i)) sl_out_null(later, i);
        char text[32] = "{\"row\":";
        size_t n = 7;
        char digits[20];
        size_t d = 0;
        size_t k = i;
        do digits[d++] = (char)('0' + k % 10); while (k /= 10);
        while (d) text[n++] = digits[--d];
        text[n++] = '}';
        sl_out_string(out, extra, i, text, n);
    }
    return SL_OK;
}

SLUICE_FUNCTION_V2(execute, init)
