/*
** quicksort.c: benchmark kernel "quicksort", compare-and-swap over memory.
**
** Fills an array with pseudo-random numbers and sorts it, n times:
** median-of-three Hoare partitioning, recursion into the smaller side only
** (so the stack stays logarithmic), insertion sort for short ranges.
*/
#include "kernels.h"

#define COUNT 4096
#define SHORT_RANGE 12

static uint32_t items[COUNT];

static void swap(uint32_t *x, uint32_t *y)
{
    uint32_t t = *x;
    *x = *y;
    *y = t;
}

static void insertion_sort(uint32_t *v, int32_t len)
{
    for (int32_t i = 1; i < len; i++) {
        uint32_t x = v[i];
        int32_t j = i - 1;
        for (; j >= 0 && v[j] > x; j--)
            v[j + 1] = v[j];
        v[j + 1] = x;
    }
}

static uint32_t median_of_three(uint32_t *v, int32_t len)
{
    uint32_t *lo = v, *mid = v + len / 2, *hi = v + len - 1;
    if (*mid < *lo)
        swap(mid, lo);
    if (*hi < *mid) {
        swap(hi, mid);
        if (*mid < *lo)
            swap(mid, lo);
    }
    return *mid;
}

/* Hoare partition: returns p such that v[0..p] <= pivot <= v[p+1..len). */
static int32_t partition(uint32_t *v, int32_t len)
{
    uint32_t pivot = median_of_three(v, len);
    int32_t i = -1, j = len;
    for (;;) {
        do
            i++;
        while (v[i] < pivot);
        do
            j--;
        while (v[j] > pivot);
        if (i >= j)
            return j;
        swap(&v[i], &v[j]);
    }
}

static void quicksort(uint32_t *v, int32_t len)
{
    while (len > SHORT_RANGE) {
        int32_t left = partition(v, len) + 1, right = len - left;
        if (left < right) {
            quicksort(v, left);
            v += left;
            len = right;
        } else {
            quicksort(v + left, right);
            len = left;
        }
    }
    insertion_sort(v, len);
}

uint64_t kernel_quicksort(uint32_t n)
{
    uint64_t sum = 0;
    for (uint32_t round = 0; round < n; round++) {
        uint32_t state = round + 1;
        for (uint32_t i = 0; i < COUNT; i++)
            items[i] = bench_random(&state);
        quicksort(items, COUNT);
        for (uint32_t i = 0; i < COUNT; i++)
            sum = bench_mix(sum, items[i]);
    }
    return sum;
}
