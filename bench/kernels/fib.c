/*
** fib.c: benchmark kernel "fib", the cost of guest-to-guest calls.
**
** Doubly recursive Fibonacci does almost nothing but call and return.
*/
#include "kernels.h"

static uint32_t fib(uint32_t k)
{
    return k < 2 ? k : fib(k - 1) + fib(k - 2);
}

uint64_t kernel_fib(uint32_t n)
{
    uint64_t sum = 0;
    /* The argument depends on the previous result so that no compiler can
       hoist or memoise the calls. */
    for (uint32_t i = 0; i < n; i++)
        sum += fib(20 + (uint32_t)(sum & 3));
    return sum;
}
