/*
** passthrough_v2.c: the benchmark's function on ABI v2. It gets the window
** as binary columns, reads the temperature column in place, and returns
** one column, is_anomaly (false for every row: no reading is above 1e300);
** the host keeps every input field of each row and adds is_anomaly. The
** output is thus the same as passthrough.c's, without any JSON.
*/
#include "sluice_fn.h"

static int execute(const sl_batch *input, sl_out *out)
{
    const sl_column *temperature = sl_column_get(input, "temperature");
    if (!temperature || temperature->type != SL_COL_F64)
        return sl_fail("invalid_input", "expected a temperature column of floats");
    sl_out_column *anomaly = sl_out_add(out, "is_anomaly", SL_COL_BOOL);
    if (!anomaly) return sl_fail("out_of_memory", "no room for the output");
    for (size_t i = 0; i < input->rows; i++)
        anomaly->bools[i] = !sl_is_null(temperature, i) && temperature->f64[i] > 1e300;
    return SL_OK;
}

SLUICE_FUNCTION_V2(execute)
