/*
** badbatch.c: a raw guest of ABI v2 (no SDK, no libc) for
** tests/e2e/abi2.sh whose output breaks the batch format: its header
** announces one column and nothing follows.
*/
#include <stdint.h>

__attribute__((import_module("sluice"), import_name("sluice_output")))
void sluice_output(const void *ptr, uint32_t len);

static uint8_t heap[1 << 20];

__attribute__((export_name("sluice_abi_version"))) int sluice_abi_version(void) { return 2; }

/* One call at a time, one block per call: the same block every time. */
__attribute__((export_name("sluice_alloc"))) void *sluice_alloc(uint32_t size)
{
    return size <= sizeof heap ? heap : 0;
}

__attribute__((export_name("sluice_free"))) void sluice_free(void *ptr, uint32_t size)
{
    (void)ptr;
    (void)size;
}

__attribute__((export_name("sluice_execute"))) int sluice_execute(const uint8_t *ptr, uint32_t len)
{
    (void)ptr;
    (void)len;
    static const uint8_t truncated[16] = { 'S', 'L', 'C', 'B', 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0 };
    sluice_output(truncated, sizeof truncated);
    return 0;
}
