/*
** test_partition.c: the partition of a key (src/sources/natsconn.h) is
** FNV-1a 64 of its text modulo the partition count: the producer's sink
** and the workers on other machines must compute the same value forever,
** so it is pinned here against the published FNV-1a test vectors.
*/
#include "../../src/sources/natsconn.h"
#include "unit.h"

/* The hash shows through its remainders: modulo 2^31, its low 31 bits;
** modulo a prime, the rest has its say. */
TEST(empty_and_single_bytes_match_the_fnv1a_vectors)
{
    /* FNV-1a 64: "" -> cbf29ce484222325, "a" -> af63dc4c8601ec8c,
    ** "foobar" -> 85944171f73967e8. */
    CHECK_EQ_INT(sl_nats_partition("", 0, 1u << 31), 0xcbf29ce484222325u % (1u << 31));
    CHECK_EQ_INT(sl_nats_partition("a", 1, 1u << 31), 0xaf63dc4c8601ec8cu % (1u << 31));
    CHECK_EQ_INT(sl_nats_partition("foobar", 6, 1u << 31), 0x85944171f73967e8u % (1u << 31));
    CHECK_EQ_INT(sl_nats_partition("foobar", 6, 4093), 0x85944171f73967e8u % 4093);
}

TEST(a_key_always_falls_in_range_and_in_the_same_partition)
{
    const char *keys[] = { "sensor-1", "sensor-2", "x", "ünïcode", "" };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        uint32_t p = sl_nats_partition(keys[i], strlen(keys[i]), 16);
        CHECK(p < 16);
        CHECK_EQ_INT(sl_nats_partition(keys[i], strlen(keys[i]), 16), p);
        CHECK_EQ_INT(sl_nats_partition(keys[i], strlen(keys[i]), 1), 0);
    }
}

TEST(keys_spread_over_the_partitions)
{
    int seen[16] = { 0 };
    char key[32];
    for (int i = 1; i <= 1000; i++) {
        int len = snprintf(key, sizeof key, "sensor-%d", i);
        seen[sl_nats_partition(key, (size_t)len, 16)]++;
    }
    for (int p = 0; p < 16; p++) CHECK(seen[p] > 30);     /* about 62 each */
}

int main(void)
{
    RUN(empty_and_single_bytes_match_the_fnv1a_vectors);
    RUN(a_key_always_falls_in_range_and_in_the_same_partition);
    RUN(keys_spread_over_the_partitions);
    return unit_summary();
}
