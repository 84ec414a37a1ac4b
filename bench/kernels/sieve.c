/*
** sieve.c: benchmark kernel "sieve", strided byte stores.
**
** The sieve of Eratosthenes over odd numbers, n times, with a limit that
** varies a little each round; the checksum folds in every prime count.
*/
#include "kernels.h"

#define LIMIT 65536

/* composite[i] stands for the odd number 2i+1. */
static uint8_t composite[LIMIT / 2];

static void cross_out_composites(uint32_t half)
{
    for (uint32_t i = 0; i < half; i++)
        composite[i] = 0;
    for (uint32_t i = 1, p = 3; p * p < 2 * half; i++, p += 2) {
        if (composite[i])
            continue;
        for (uint32_t m = p * p / 2; m < half; m += p)
            composite[m] = 1;
    }
}

/* Counting without a branch per number: a data-dependent branch there made
   the native time depend on where the linker happened to put the loop. */
static uint32_t count_primes(uint32_t limit)
{
    uint32_t half = limit / 2;
    cross_out_composites(half);
    uint32_t count = limit > 2; /* 2, the only even prime */
    for (uint32_t i = 1; i < half; i++)
        count += !composite[i];
    return count;
}

uint64_t kernel_sieve(uint32_t n)
{
    uint64_t sum = 0;
    for (uint32_t round = 0; round < n; round++)
        sum = bench_mix(sum, count_primes(LIMIT - (round & 1023)));
    return sum;
}
