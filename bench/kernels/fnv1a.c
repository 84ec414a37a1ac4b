/*
** fnv1a.c: benchmark kernel "fnv1a", a byte-at-a-time hash.
**
** 64-bit FNV-1a over a buffer, n passes, each seeded with the previous
** hash: one load, one xor and one multiply per byte in a serial chain.
*/
#include "kernels.h"

#define LENGTH 16384

static uint8_t buffer[LENGTH];

uint64_t kernel_fnv1a(uint32_t n)
{
    uint32_t state = 0x2545f491;
    for (uint32_t i = 0; i < LENGTH; i++)
        buffer[i] = (uint8_t)bench_random(&state);

    uint64_t hash = 0xcbf29ce484222325u;
    for (uint32_t pass = 0; pass < n; pass++)
        for (uint32_t i = 0; i < LENGTH; i++)
            hash = (hash ^ buffer[i]) * 0x100000001b3u;
    return hash;
}
