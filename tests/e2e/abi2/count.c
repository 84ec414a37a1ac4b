/*
** count.c: a function of ABI v2 (C SDK) for tests/e2e/abi2.sh that returns
** new rows: one per window, with the window's length `n` and the sum of
** its `value` column `total`.
*/
#include "sluice_fn.h"

static int execute(const sl_batch *in, sl_out *out)
{
    const sl_column *value = sl_column_get(in, "value");
    sl_out_new_rows(out, 1);
    sl_out_column *n = sl_out_add(out, "n", SL_COL_I64);
    sl_out_column *total = sl_out_add(out, "total", SL_COL_F64);
    if (!n || !total) return sl_fail("oom", "out of memory");
    n->i64[0] = (int64_t)in->rows;
    for (size_t i = 0; value && i < in->rows; i++) total->f64[0] += sl_column_number(value, i);
    return SL_OK;
}

SLUICE_FUNCTION_V2(execute)
