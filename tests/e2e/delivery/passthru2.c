/*
** passthru2.c: the ABI v2 guest of tests/e2e/delivery.sh: answers each
** window with an update of no columns (raw ABI, docs/abi.md, no libc), so
** that the window's records go on unchanged, updated where they are.
*/
#include <stddef.h>
#include <stdint.h>

#define IMPORT(name) __attribute__((import_module("sluice"), import_name(#name)))
#define EXPORT(name) __attribute__((export_name(#name)))

IMPORT(sluice_output) void sluice_output(const void *ptr, size_t len);

enum { CAPACITY = 8 << 20, HEADER = 16 };
static _Alignas(8) uint8_t input[CAPACITY];
static uint8_t output[HEADER];

EXPORT(sluice_abi_version) int abi_version(void) { return 2; }
EXPORT(sluice_alloc) void *alloc(size_t size) { return size <= CAPACITY ? input : 0; }
EXPORT(sluice_free) void release(void *ptr, size_t size) { (void)ptr; (void)size; }

/* The input's header (magic, version, no flags, its row count) with no columns. */
EXPORT(sluice_execute) int execute(const uint8_t *in, size_t len)
{
    if (len < HEADER) return 1;
    for (int i = 0; i < 12; i++) output[i] = in[i];
    output[6] = output[7] = 0;
    output[12] = output[13] = output[14] = output[15] = 0;
    sluice_output(output, HEADER);
    return 0;
}
