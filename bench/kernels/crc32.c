/*
** crc32.c: benchmark kernel "crc32", table lookups in linear memory.
**
** The reflected CRC-32 of IEEE 802.3 (as in zlib), one table lookup per
** byte, over a buffer n times, each pass continuing the previous CRC.
*/
#include "kernels.h"

#define LENGTH 16384
#define POLYNOMIAL 0xedb88320u

static uint32_t table[256];
static uint8_t buffer[LENGTH];

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int bit = 0; bit < 8; bit++)
            c = (c & 1) ? (c >> 1) ^ POLYNOMIAL : c >> 1;
        table[i] = c;
    }
}

uint64_t kernel_crc32(uint32_t n)
{
    build_table();
    uint32_t state = 0x7f4a7c15;
    for (uint32_t i = 0; i < LENGTH; i++)
        buffer[i] = (uint8_t)bench_random(&state);

    uint32_t crc = 0xffffffffu;
    for (uint32_t pass = 0; pass < n; pass++)
        for (uint32_t i = 0; i < LENGTH; i++)
            crc = table[(crc ^ buffer[i]) & 0xff] ^ (crc >> 8);
    return crc ^ 0xffffffffu;
}
