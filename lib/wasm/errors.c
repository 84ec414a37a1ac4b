/*
** errors.c: filling sw_error, and the names of traps.
**
** Trap names use the wording of the WebAssembly spec tests so that the spec
** runner can compare them with assert_trap expectations directly.
*/
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

int sw_fail(sw_error *err, sw_errkind kind, size_t offset, const char *fmt, ...)
{
    if (!err) return -1;
    err->kind = kind;
    err->trap = SW_TRAP_NONE;
    err->exit_code = 0;
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

const char *sw_trap_message(sw_trap trap)
{
    switch (trap) {
    case SW_TRAP_NONE: return "no trap";
    case SW_TRAP_UNREACHABLE: return "unreachable";
    case SW_TRAP_MEMORY_OOB: return "out of bounds memory access";
    case SW_TRAP_TABLE_OOB: return "out of bounds table access";
    case SW_TRAP_DIV_ZERO: return "integer divide by zero";
    case SW_TRAP_INT_OVERFLOW: return "integer overflow";
    case SW_TRAP_BAD_CONVERSION: return "invalid conversion to integer";
    case SW_TRAP_INDIRECT_MISMATCH: return "indirect call type mismatch";
    case SW_TRAP_UNDEFINED_ELEMENT: return "undefined element";
    case SW_TRAP_UNINITIALIZED_ELEMENT: return "uninitialized element";
    case SW_TRAP_NULL_REFERENCE: return "null reference";
    case SW_TRAP_STACK_EXHAUSTED: return "call stack exhausted";
    case SW_TRAP_FUEL: return "fuel exhausted";
    case SW_TRAP_DEADLINE: return "deadline exceeded";
    case SW_TRAP_INTERRUPTED: return "interrupted";
    case SW_TRAP_HOST: return "host function error";
    }
    return "unknown trap";
}
