/*
** strsearch.c: benchmark kernel "strsearch", byte compares and branches.
**
** Counts the occurrences of n patterns in a text over a four-letter
** alphabet (so partial matches are frequent), by direct comparison at
** every position. Each pattern is cut from the text itself, so it occurs
** at least once.
*/
#include "kernels.h"

#define TEXT_LENGTH 32768

static uint8_t text[TEXT_LENGTH];

static void generate_text(void)
{
    uint32_t state = 0x6a09e667;
    for (uint32_t i = 0; i < TEXT_LENGTH; i++)
        text[i] = (uint8_t)("acgt"[bench_random(&state) & 3]);
}

static uint32_t count_occurrences(const uint8_t *pattern, uint32_t length)
{
    uint32_t count = 0;
    for (uint32_t at = 0; at + length <= TEXT_LENGTH; at++) {
        uint32_t i = 0;
        while (i < length && text[at + i] == pattern[i])
            i++;
        count += i == length;
    }
    return count;
}

uint64_t kernel_strsearch(uint32_t n)
{
    generate_text();
    uint32_t state = 0xbb67ae85;
    uint64_t sum = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t length = 4 + bench_random(&state) % 8;
        uint32_t start = bench_random(&state) % (TEXT_LENGTH - length);
        sum = bench_mix(sum, count_occurrences(text + start, length));
    }
    return sum;
}
