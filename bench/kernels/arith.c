/*
** arith.c: benchmark kernel "arith", a tight loop of integer arithmetic.
**
** Three interleaved recurrences (32-bit LCG, rotate-xor, 64-bit multiply)
** keep the loop body in registers natively, so the figure is close to the
** interpreter's raw cost per arithmetic instruction.
*/
#include "kernels.h"

uint64_t kernel_arith(uint32_t n)
{
    uint32_t lcg = 1, mixed = 2, acc = 3;
    uint64_t wide = 4;
    for (uint32_t i = 0; i < n; i++) {
        lcg = lcg * 1664525u + 1013904223u;
        mixed ^= lcg >> 7;
        mixed = (mixed << 5) | (mixed >> 27);
        acc += (mixed ^ i) % 1000003u;
        wide = wide * 0x5851f42d4c957f2du + acc;
    }
    return bench_mix(bench_mix(wide, acc), ((uint64_t)lcg << 32) | mixed);
}
