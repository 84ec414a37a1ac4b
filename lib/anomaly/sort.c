/*
 * Stable merge sort (see sort.h): bottom-up, merging runs of 1, 2, 4...
 * elements back and forth between the array and the scratch space.
 */
#include "sort.h"

#include <stdbool.h>
#include <string.h>

/* Merges the sorted runs [lo, mid) and [mid, hi) of from into to, taking
   from the left run on ties so that equal elements keep their order. */
static void merge_runs(const char *from, char *to, size_t lo, size_t mid, size_t hi, size_t size,
                       int (*compare)(const void *, const void *))
{
    size_t i = lo, j = mid, out = lo;
    while (i < mid && j < hi) {
        bool take_right = compare(from + j * size, from + i * size) < 0;
        size_t k = take_right ? j++ : i++;
        memcpy(to + out++ * size, from + k * size, size);
    }
    memcpy(to + out * size, from + i * size, (mid - i) * size);
    out += mid - i;
    memcpy(to + out * size, from + j * size, (hi - j) * size);
}

void merge_sort(void *base, size_t count, size_t size, int (*compare)(const void *, const void *),
                void *scratch)
{
    char *from = base, *to = scratch;
    for (size_t width = 1; width < count; width *= 2) {
        for (size_t lo = 0; lo < count; lo += 2 * width) {
            size_t mid = lo + width < count ? lo + width : count;
            size_t hi = mid + width < count ? mid + width : count;
            merge_runs(from, to, lo, mid, hi, size, compare);
        }
        char *swap = from;
        from = to;
        to = swap;
    }
    if (from != base) memcpy(base, from, count * size);
}

int compare_floats(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}
