/*
** passthru.c: the guest of tests/e2e/delivery.sh: gives back its window
** unchanged (raw ABI, docs/abi.md, no libc), so that what reaches the sink
** is exactly what the source read.
*/
#include <stddef.h>

#define IMPORT(name) __attribute__((import_module("sluice"), import_name(#name)))
#define EXPORT(name) __attribute__((export_name(#name)))

IMPORT(sluice_output) void sluice_output(const void *ptr, size_t len);

enum { CAPACITY = 8 << 20 };
static char input[CAPACITY];

EXPORT(sluice_abi_version) int abi_version(void) { return 1; }
EXPORT(sluice_alloc) void *alloc(size_t size) { return size <= CAPACITY ? input : 0; }
EXPORT(sluice_free) void release(void *ptr, size_t size) { (void)ptr; (void)size; }

EXPORT(sluice_execute) int execute(const char *in, size_t len)
{
    sluice_output(in, len);
    return 0;
}
