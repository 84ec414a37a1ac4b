/*
** test_natsack.c: the done prefix of keys (src/pipeline/prefix.h) and the
** nats source's cumulative acknowledgement floor (src/sources/natsack.h):
** it never passes a message not yet committed, an abandoned delivery holds
** it until the redelivery commits, and it acknowledges nothing while some
** pending message may have been delivered elsewhere.
*/
#include "../../src/sources/natsack.h"
#include "unit.h"

#include <stdint.h>

/* Items are just distinct non-NULL pointers. */
static char items[64];
#define ITEM(i) ((void *)&items[i])

TEST(prefix_stops_at_the_first_open_key)
{
    SlPrefix p;
    sl_prefix_init(&p);
    for (uint64_t k = 1; k <= 5; k++) CHECK(sl_prefix_open(&p, k * 10, ITEM(k)));
    uint64_t key = 0;
    void *item = NULL;
    sl_prefix_done(&p, 30, ITEM(3));
    sl_prefix_done(&p, 40, ITEM(4));
    CHECK(!sl_prefix_pop(&p, &key, &item));              /* 10 is open */
    sl_prefix_done(&p, 10, ITEM(1));
    CHECK(sl_prefix_pop(&p, &key, &item) && item == ITEM(1) && key == 10);
    CHECK(!sl_prefix_pop(&p, &key, &item));
    sl_prefix_done(&p, 20, ITEM(2));
    for (uint64_t k = 20; k <= 40; k += 10)
        CHECK(sl_prefix_pop(&p, &key, &item) && item == ITEM(k / 10) && key == k);
    CHECK(!sl_prefix_pop(&p, &key, &item));
    CHECK_EQ_INT(sl_prefix_count_above(&p, 0), 1);       /* 50 */
    CHECK(!sl_prefix_open(&p, 30, ITEM(9)));             /* below the floor */
    sl_prefix_free(&p);
}

TEST(prefix_takes_keys_out_of_order_and_grows)
{
    SlPrefix p;
    sl_prefix_init(&p);
    for (uint64_t k = 1000; k > 0; k--) sl_prefix_open(&p, k, ITEM(k % 64));
    CHECK_EQ_INT(sl_prefix_count_above(&p, 500), 500);
    for (uint64_t k = 1; k <= 999; k++) sl_prefix_done(&p, k, ITEM(k % 64));
    uint64_t key = 0, popped = 0;
    void *item = NULL;
    while (sl_prefix_pop(&p, &key, &item)) popped++;
    CHECK_EQ_INT(popped, 999);
    CHECK_EQ_INT(key, 999);
    for (uint64_t k = 1001; k <= 3000; k++) sl_prefix_open(&p, k, ITEM(1));
    CHECK_EQ_INT(sl_prefix_count_above(&p, 0), 2001);
    for (uint64_t k = 1000; k <= 3000; k++) sl_prefix_done(&p, k, ITEM(2));
    while (sl_prefix_pop(&p, &key, &item)) popped++;
    CHECK_EQ_INT(popped, 3000);
    CHECK(key == 3000 && item == ITEM(2));
    CHECK_EQ_INT(sl_prefix_count_above(&p, 0), 0);
    sl_prefix_free(&p);
}

/* A floor that starts complete: nothing pending on the consumer. */
static void fresh(SlAckFloor *f)
{
    sl_ackfloor_init(f);
    CHECK(sl_ackfloor_check(f, 0, 0, 0));
}

/* Delivers stream sequences first..last with consumer sequences from dseq. */
static void deliver(SlAckFloor *f, uint64_t first, uint64_t last, uint64_t dseq)
{
    for (uint64_t s = first; s <= last; s++) sl_ackfloor_delivered(f, s, dseq++, ITEM(s % 64));
}

static void commit(SlAckFloor *f, uint64_t first, uint64_t last)
{
    for (uint64_t s = first; s <= last; s++) sl_ackfloor_committed(f, s, ITEM(s % 64));
}

/* Where one +ACK would go now: its stream sequence, 0 for none. */
static uint64_t advance(SlAckFloor *f)
{
    uint64_t sseq = 0;
    return sl_ackfloor_advance(f, &sseq) ? sseq : 0;
}

TEST(floor_never_passes_an_uncommitted_batch)
{
    SlAckFloor f;
    fresh(&f);
    deliver(&f, 1, 10, 1);      /* batch A */
    deliver(&f, 11, 20, 11);    /* batch B */
    deliver(&f, 21, 30, 21);    /* batch C */
    commit(&f, 11, 20);
    commit(&f, 21, 30);
    CHECK_EQ_INT(advance(&f), 0);       /* A is still held */
    commit(&f, 1, 10);
    CHECK_EQ_INT(advance(&f), 30);
    sl_ackfloor_free(&f);
}

TEST(abandoned_batch_holds_the_floor_until_redelivered_and_committed)
{
    SlAckFloor f;
    fresh(&f);
    deliver(&f, 1, 10, 1);
    deliver(&f, 11, 20, 11);
    for (uint64_t s = 1; s <= 10; s++) sl_ackfloor_abandoned(&f, s, ITEM(s % 64));
    commit(&f, 11, 20);
    CHECK_EQ_INT(advance(&f), 0);
    deliver(&f, 21, 25, 21);                              /* new messages */
    deliver(&f, 1, 10, 26);                               /* the redelivery */
    commit(&f, 21, 25);
    CHECK_EQ_INT(advance(&f), 0);
    commit(&f, 1, 10);
    CHECK_EQ_INT(advance(&f), 25);
    CHECK(sl_ackfloor_check(&f, 35, 25, 0));
    sl_ackfloor_free(&f);
}

TEST(a_missed_delivery_stops_acknowledgements_until_a_look_clears_it)
{
    SlAckFloor f;
    fresh(&f);
    deliver(&f, 1, 10, 1);
    deliver(&f, 21, 30, 21);    /* consumer sequences 11..20 went elsewhere */
    commit(&f, 1, 10);
    commit(&f, 21, 30);
    CHECK_EQ_INT(advance(&f), 0);
    /* The server: 30 delivered, floor 0, 30 pending: 10 of them not here. */
    CHECK(!sl_ackfloor_check(&f, 30, 0, 30));
    CHECK_EQ_INT(advance(&f), 0);
    /* They come again, here; the look then finds nothing missing. */
    deliver(&f, 11, 20, 31);
    CHECK(!sl_ackfloor_check(&f, 35, 0, 30));            /* deliveries not seen yet */
    CHECK(sl_ackfloor_check(&f, 40, 0, 30));
    CHECK_EQ_INT(advance(&f), 10);                               /* 11..20 not committed */
    commit(&f, 11, 20);
    CHECK_EQ_INT(advance(&f), 30);
    sl_ackfloor_free(&f);
}

TEST(a_new_owner_waits_for_the_messages_left_pending_by_the_old)
{
    SlAckFloor f;
    sl_ackfloor_init(&f);
    /* The previous owner died holding 5 messages (sequences 3..7). */
    CHECK(!sl_ackfloor_check(&f, 7, 2, 5));
    deliver(&f, 8, 12, 8);
    commit(&f, 8, 12);
    CHECK_EQ_INT(advance(&f), 0);
    CHECK(!sl_ackfloor_check(&f, 12, 2, 10));
    deliver(&f, 3, 7, 13);                                /* redelivered after ack_wait */
    CHECK(sl_ackfloor_check(&f, 17, 2, 10));
    CHECK_EQ_INT(advance(&f), 0);        /* 3..7 not committed yet */
    commit(&f, 3, 7);
    CHECK_EQ_INT(advance(&f), 12);
    sl_ackfloor_free(&f);
}

TEST(suspect_stops_acknowledgements)
{
    SlAckFloor f;
    fresh(&f);
    deliver(&f, 1, 4, 1);
    commit(&f, 1, 4);
    sl_ackfloor_suspect(&f);
    CHECK_EQ_INT(advance(&f), 0);
    CHECK(sl_ackfloor_check(&f, 4, 0, 4));
    CHECK_EQ_INT(advance(&f), 4);
    sl_ackfloor_free(&f);
}

TEST(reply_subjects)
{
    uint64_t s = 0, d = 0;
    CHECK(sl_nats_ack_sequences("$JS.ACK.EVENTS.g-3.1.1234.56.1732700000000000000.7", &s, &d));
    CHECK_EQ_INT(s, 1234);
    CHECK_EQ_INT(d, 56);
    CHECK(sl_nats_ack_sequences("$JS.ACK._.ACCHASH.EVENTS.g-3.2.99.100.1732700000000000000.0.tok",
                                &s, &d));
    CHECK_EQ_INT(s, 99);
    CHECK_EQ_INT(d, 100);
    CHECK(!sl_nats_ack_sequences("_INBOX.abc.1", &s, &d));
    CHECK(!sl_nats_ack_sequences("$JS.ACK.EVENTS.g.1.x.2.3.4", &s, &d));
    CHECK(!sl_nats_ack_sequences(NULL, &s, &d));
}

int main(void)
{
    RUN(prefix_stops_at_the_first_open_key);
    RUN(prefix_takes_keys_out_of_order_and_grows);
    RUN(floor_never_passes_an_uncommitted_batch);
    RUN(abandoned_batch_holds_the_floor_until_redelivered_and_committed);
    RUN(a_missed_delivery_stops_acknowledgements_until_a_look_clears_it);
    RUN(a_new_owner_waits_for_the_messages_left_pending_by_the_old);
    RUN(suspect_stops_acknowledgements);
    RUN(reply_subjects);
    return unit_summary();
}
