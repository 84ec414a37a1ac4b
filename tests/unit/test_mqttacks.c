/*
** test_mqttacks.c: the mqtt source's QoS 1 messages awaiting their PUBACK
** (src/sources/mqttacks.h). Acknowledgements come out in arrival order
** whatever order batches commit in; an abandoned batch stops them; a new
** connection forgets the old one's messages and ignores its commits.
*/
#include "../../src/sources/mqttacks.h"
#include "unit.h"

static SlMqttAckRange range(SlMqttAcks *a, uint64_t first, uint64_t end)
{
    return (SlMqttAckRange){ .generation = a->generation, .first = first, .end = end };
}

TEST(in_arrival_order)
{
    SlMqttAcks a;
    sl_mqtt_acks_init(&a);
    for (uint16_t id = 10; id < 15; id++) CHECK_EQ_INT(sl_mqtt_acks_add(&a, id), id - 10);
    uint16_t ids[8];
    SlMqttAckRange later = range(&a, 2, 4);
    sl_mqtt_acks_done(&a, &later, true);
    CHECK_EQ_INT(sl_mqtt_acks_take(&a, ids, 8), 0);     /* 0 and 1 are not written yet */
    SlMqttAckRange r = range(&a, 0, 2);
    sl_mqtt_acks_done(&a, &r, true);
    CHECK_EQ_INT(sl_mqtt_acks_take(&a, ids, 3), 3);     /* at most 3 asked */
    CHECK(ids[0] == 10 && ids[1] == 11 && ids[2] == 12);
    CHECK_EQ_INT(sl_mqtt_acks_take(&a, ids, 8), 1);
    CHECK_EQ_INT(ids[0], 13);
    CHECK_EQ_INT(sl_mqtt_acks_pending(&a), 1);
    r = range(&a, 4, 5);
    sl_mqtt_acks_done(&a, &r, true);
    CHECK_EQ_INT(sl_mqtt_acks_take(&a, ids, 8), 1);
    CHECK_EQ_INT(ids[0], 14);
    CHECK_EQ_INT(sl_mqtt_acks_pending(&a), 0);
    CHECK(!sl_mqtt_acks_abandoned(&a));
    sl_mqtt_acks_free(&a);
}

TEST(abandoned_stops_the_prefix)
{
    SlMqttAcks a;
    sl_mqtt_acks_init(&a);
    for (uint16_t id = 1; id <= 6; id++) sl_mqtt_acks_add(&a, id);
    SlMqttAckRange first = range(&a, 0, 2), second = range(&a, 2, 4), third = range(&a, 4, 6);
    sl_mqtt_acks_done(&a, &first, true);
    sl_mqtt_acks_done(&a, &second, false);
    sl_mqtt_acks_done(&a, &third, true);
    uint16_t ids[8];
    CHECK_EQ_INT(sl_mqtt_acks_take(&a, ids, 8), 2);     /* only before the abandoned batch */
    CHECK(sl_mqtt_acks_abandoned(&a));
    CHECK_EQ_INT(sl_mqtt_acks_take(&a, ids, 8), 0);
    sl_mqtt_acks_free(&a);
}

TEST(new_connection_forgets)
{
    SlMqttAcks a;
    sl_mqtt_acks_init(&a);
    for (uint16_t id = 1; id <= 3; id++) sl_mqtt_acks_add(&a, id);
    SlMqttAckRange old = range(&a, 0, 3), old_bad = range(&a, 0, 1);
    uint64_t g = sl_mqtt_acks_reset(&a);
    CHECK(g != old.generation);
    CHECK_EQ_INT(sl_mqtt_acks_pending(&a), 0);
    uint64_t n = sl_mqtt_acks_add(&a, 1);               /* a packet id used again */
    CHECK_EQ_INT(n, 3);                                  /* numbers go on */
    sl_mqtt_acks_done(&a, &old, true);                   /* an old commit: ignored */
    sl_mqtt_acks_done(&a, &old_bad, false);
    uint16_t ids[4];
    CHECK_EQ_INT(sl_mqtt_acks_take(&a, ids, 4), 0);
    CHECK(!sl_mqtt_acks_abandoned(&a));
    SlMqttAckRange now = range(&a, 3, 4);
    sl_mqtt_acks_done(&a, &now, true);
    CHECK_EQ_INT(sl_mqtt_acks_take(&a, ids, 4), 1);
    sl_mqtt_acks_free(&a);
}

/* The ring grows past its first size while wrapped around. */
TEST(ring_grows_wrapped)
{
    SlMqttAcks a;
    sl_mqtt_acks_init(&a);
    uint16_t ids[1000];
    uint64_t next = 0;
    for (int i = 0; i < 40; i++) sl_mqtt_acks_add(&a, (uint16_t)(next++ + 1));
    SlMqttAckRange r = range(&a, 0, 30);
    sl_mqtt_acks_done(&a, &r, true);
    CHECK_EQ_INT(sl_mqtt_acks_take(&a, ids, 1000), 30);
    for (int i = 0; i < 500; i++) sl_mqtt_acks_add(&a, (uint16_t)(next++ + 1));
    r = range(&a, 30, next);
    sl_mqtt_acks_done(&a, &r, true);
    CHECK_EQ_INT(sl_mqtt_acks_take(&a, ids, 1000), 510);
    int in_order = 1;
    for (int i = 0; i < 510; i++) in_order &= ids[i] == 31 + i;
    CHECK(in_order);
    sl_mqtt_acks_free(&a);
}

int main(void)
{
    RUN(in_arrival_order);
    RUN(abandoned_stops_the_prefix);
    RUN(new_connection_forgets);
    RUN(ring_grows_wrapped);
    return unit_summary();
}
