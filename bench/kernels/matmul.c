/*
** matmul.c: benchmark kernel "matmul", f64 arithmetic over linear memory.
**
** Multiplies two square matrices of doubles, n times, with inputs that
** change each round. The i-k-j loop order streams through rows, which is
** how real code walks memory.
*/
#include "kernels.h"

#define SIZE 64

static double a[SIZE][SIZE], b[SIZE][SIZE], c[SIZE][SIZE];

static void fill_inputs(uint32_t round)
{
    for (uint32_t i = 0; i < SIZE; i++)
        for (uint32_t j = 0; j < SIZE; j++) {
            a[i][j] = (double)((i * 7 + j * 3 + round) % 17) * 0.25 - 2.0;
            b[i][j] = (double)((i * 5 + j * 11 + round) % 13) * 0.5 - 3.0;
        }
}

static void multiply(void)
{
    for (uint32_t i = 0; i < SIZE; i++) {
        for (uint32_t j = 0; j < SIZE; j++)
            c[i][j] = 0.0;
        for (uint32_t k = 0; k < SIZE; k++) {
            double aik = a[i][k];
            for (uint32_t j = 0; j < SIZE; j++)
                c[i][j] += aik * b[k][j];
        }
    }
}

uint64_t kernel_matmul(uint32_t n)
{
    uint64_t sum = 0;
    for (uint32_t round = 0; round < n; round++) {
        fill_inputs(round);
        multiply();
        /* The products are small multiples of 1/8, hence exact: the
           conversion cannot differ between builds. */
        double trace = 0.0;
        for (uint32_t i = 0; i < SIZE; i++)
            trace += c[i][i] + c[i][SIZE - 1 - i];
        sum = bench_mix(sum, (uint64_t)(int64_t)(trace * 8.0));
    }
    return sum;
}
