/*
** summary.c: the aggregating test guest of tests/e2e/function.sh: one row
** per window, with `n` (the window's length) and, for each input column,
** its first and last values (`first_NAME`, `last_NAME`).
*/
#include "sluice_fn.h"

static void write_named(sl_writer *out, const char *prefix, const sl_json *column)
{
    char key[128];
    size_t n = 0;
    for (const char *p = prefix; *p && n < sizeof key; p++) key[n++] = *p;
    for (size_t i = 0; i < column->key_len && n < sizeof key; i++) key[n++] = column->key[i];
    sl_write_key_n(out, key, n);
}

static int execute(const sl_json *input, sl_writer *out)
{
    size_t n = input->first ? input->first->count : 0;
    sl_write_object_begin(out);
    sl_write_key(out, "n");
    sl_write_array_begin(out);
    sl_write_int(out, (long long)n);
    sl_write_array_end(out);
    for (const sl_json *column = input->first; column; column = column->next) {
        if (column->type != SL_ARRAY || !column->first) continue;
        const sl_json *last = column->first;
        while (last->next) last = last->next;
        write_named(out, "first_", column);
        sl_write_array_begin(out);
        sl_write_value(out, column->first);
        sl_write_array_end(out);
        write_named(out, "last_", column);
        sl_write_array_begin(out);
        sl_write_value(out, last);
        sl_write_array_end(out);
    }
    sl_write_object_end(out);
    return SL_OK;
}

SLUICE_FUNCTION(execute)
