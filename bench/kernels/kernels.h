/*
** kernels.h: the benchmark kernels, shared by their native and Wasm builds.
**
** Every kernel is a freestanding C function `uint64_t kernel_NAME(uint32_t n)`
** whose running time grows linearly with n and which returns a checksum of
** everything it computed, so that the native and the Wasm builds can be
** compared result for result. Kernels use no libc: the only memory they
** touch is static storage in their own translation unit.
*/
#ifndef BENCH_KERNELS_H
#define BENCH_KERNELS_H

#include <stdint.h>

/* X(name, what it stresses) for every kernel, in the order they are run. */
#define BENCH_KERNELS(X)                                             \
    X(fib, "calls: recursive Fibonacci")                             \
    X(arith, "tight i32/i64 arithmetic loop")                        \
    X(matmul, "f64 matrix multiply, memory access")                  \
    X(quicksort, "quicksort of a PRNG-filled u32 array")             \
    X(fnv1a, "FNV-1a hash, byte loads")                              \
    X(crc32, "table-driven CRC-32")                                  \
    X(sieve, "sieve of Eratosthenes over a byte array")              \
    X(nbody, "n-body simulation in f64, with sqrt")                  \
    X(strsearch, "substring search in generated text")               \
    X(vm, "switch-dispatched bytecode interpreter")

#define BENCH_DECLARE(name, what) uint64_t kernel_##name(uint32_t n);
BENCH_KERNELS(BENCH_DECLARE)
#undef BENCH_DECLARE

/* xorshift32: the kernels' deterministic input generator. state must not
   be 0. */
static inline uint32_t bench_random(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

/* Folds a value into a running checksum (order matters, so a permuted
   result does not pass for the right one). */
static inline uint64_t bench_mix(uint64_t sum, uint64_t value)
{
    return (sum ^ value) * 0x100000001b3u + 0x9e3779b97f4a7c15u;
}

#endif
