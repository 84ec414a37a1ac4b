/*
** flag_warm.c: the function the console test publishes and runs. A
** pass-through that adds the column `is_anomaly`: temperature above the
** configured `threshold` (default 30). The `generate` source's
** temperatures cycle from 15 to 34.9, so about one record in four is
** flagged.
*/
#include "sluice_fn.h"

static double threshold = 30;

static int init(const sl_json *config)
{
    const sl_json *t = sl_get(config, "threshold");
    if (t && t->type != SL_NUMBER) return sl_fail("invalid_config", "threshold must be a number");
    if (t) threshold = t->number;
    return SL_OK;
}

static int execute(const sl_json *input, sl_writer *out)
{
    const sl_json *temperatures = sl_get(input, "temperature");
    if (!temperatures || temperatures->type != SL_ARRAY)
        return sl_fail("invalid_input", "no column 'temperature'");
    sl_write_object_begin(out);
    for (const sl_json *column = input->first; column; column = column->next) {
        sl_write_key_n(out, column->key, column->key_len);
        sl_write_value(out, column);
    }
    sl_write_key(out, "is_anomaly");
    sl_write_array_begin(out);
    for (const sl_json *t = temperatures->first; t; t = t->next)
        sl_write_bool(out, t->type == SL_NUMBER && t->number > threshold);
    sl_write_array_end(out);
    sl_write_object_end(out);
    return SL_OK;
}

SLUICE_FUNCTION(execute, init)
