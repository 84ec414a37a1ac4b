/*
** guest.c: the function of tests/e2e/observe.sh. Passes its window
** through unchanged, or, configured with {"trap": true}, traps on every
** call, so that the traps counter of /metrics has something to count.
*/
#include "sluice_fn.h"

static bool trap;

static int init(const sl_json *config)
{
    const sl_json *t = sl_get(config, "trap");
    trap = t && t->type == SL_BOOL && t->boolean;
    return SL_OK;
}

static int execute(const sl_json *input, sl_writer *out)
{
    if (trap) __builtin_trap();
    sl_write_value(out, input);
    return SL_OK;
}

SLUICE_FUNCTION(execute, init)
