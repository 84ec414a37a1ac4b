/*
** passthrough.c: the benchmark's function. It receives a window as columns
** ({"timestamp": [...], "sensor": [...], ...}), and returns every column as
** it came plus `is_anomaly`, false for every row. It parses and re-serialises
** the whole document through the C SDK, as a real function would, so that the
** benchmark pays for the JSON round trip and not only for the call.
*/
#include "sluice_fn.h"

static int execute(const sl_json *input, sl_writer *out)
{
    if (input->type != SL_OBJECT || !input->first || input->first->type != SL_ARRAY)
        return sl_fail("invalid_input", "expected an object of arrays");
    size_t rows = input->first->count;
    sl_write_object_begin(out);
    for (const sl_json *column = input->first; column; column = column->next) {
        sl_write_key_n(out, column->key, column->key_len);
        sl_write_value(out, column);
    }
    sl_write_key(out, "is_anomaly");
    sl_write_array_begin(out);
    for (size_t i = 0; i < rows; i++) sl_write_bool(out, false);
    sl_write_array_end(out);
    sl_write_object_end(out);
    return SL_OK;
}

SLUICE_FUNCTION(execute)
