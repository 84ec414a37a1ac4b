/*
** ack.c: end-to-end acknowledgements (ack.h). An SlAck is a reference
** count over everything still carrying a source batch's records: the batch
** itself, its fan-out clones, the batches transforms derive from it, and
** each sink call under way. When the count falls to zero every holder has
** finished, so the records are written (or deliberately dropped) by every
** sink they reached, and the source is told.
*/
#include "ack.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

struct SlAck {
    atomic_uint_least32_t holders;
    atomic_bool abandoned;
    SlCommitFn fn;
    void *user;
};

void sl_batch_on_commit(SlBatch *batch, SlCommitFn fn, void *user)
{
    if (batch->ack) {
        /* Two callbacks on one batch is a programming error in a source. */
        fprintf(stderr, "sluice: sl_batch_on_commit called twice on one batch\n");
        abort();
    }
    SlAck *ack = malloc(sizeof *ack);
    if (!ack) abort();
    atomic_init(&ack->holders, 1);
    atomic_init(&ack->abandoned, false);
    ack->fn = fn;
    ack->user = user;
    batch->ack = ack;
}

SlAck *sl_ack_hold(SlAck *ack)
{
    if (ack) atomic_fetch_add(&ack->holders, 1);
    return ack;
}

void sl_ack_release(SlAck *ack)
{
    if (!ack || atomic_fetch_sub(&ack->holders, 1) != 1) return;
    ack->fn(ack->user, !atomic_load(&ack->abandoned));
    free(ack);
}

void sl_ack_abandon(SlAck *ack)
{
    if (ack) atomic_store(&ack->abandoned, true);
}
