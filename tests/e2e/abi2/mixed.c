/*
** mixed.c: a function of ABI v2 (C SDK) for tests/e2e/abi2.sh whose
** windows end in one of three ways, by their first `value`: a multiple of
** 10 gives one new row, `sum`, the total of the window's values; 666 fails
** the call; any other value updates the window's records with `seen` true.
*/
#include "sluice_fn.h"

static int execute(const sl_batch *in, sl_out *out)
{
    const sl_column *value = sl_column_get(in, "value");
    if (!value || value->type != SL_COL_I64 || !in->rows)
        return sl_fail("invalid_input", "value must be a column of integers");
    if (value->i64[0] == 666) return sl_fail("bad_value", "the window starts at 666");
    if (value->i64[0] % 10 == 0) {
        sl_out_new_rows(out, 1);
        sl_out_column *sum = sl_out_add(out, "sum", SL_COL_I64);
        if (!sum) return sl_fail("oom", "out of memory");
        for (size_t i = 0; i < in->rows; i++) sum->i64[0] += value->i64[i];
        return SL_OK;
    }
    sl_out_column *seen = sl_out_add(out, "seen", SL_COL_BOOL);
    if (!seen) return sl_fail("oom", "out of memory");
    for (size_t i = 0; i < in->rows; i++) seen->bools[i] = true;
    return SL_OK;
}

SLUICE_FUNCTION_V2(execute)
