/*
** ack.c: end-to-end acknowledgements (ack.h). An SlAck is a reference
** count over everything still carrying a source batch's records: the batch
** itself, its fan-out clones, the batches transforms derive from it, and
** each sink call under way. When the count falls to zero every holder has
** finished, so the records are written (or deliberately dropped) by every
** sink they reached, and the source is told.
**
** A batch made from records of several batches (a window's output) carries
** a group: an SlAck of its own whose callback lets go of the member acks,
** passing on whether the output was committed.
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

/* The acks a group holds, one reference each. */
typedef struct Group {
    SlAck **members;
    size_t count, cap;
} Group;

static SlAck *ack_new(SlCommitFn fn, void *user)
{
    SlAck *ack = malloc(sizeof *ack);
    if (!ack) abort();
    atomic_init(&ack->holders, 1);
    atomic_init(&ack->abandoned, false);
    ack->fn = fn;
    ack->user = user;
    return ack;
}

void sl_batch_on_commit(SlBatch *batch, SlCommitFn fn, void *user)
{
    if (batch->ack) {
        /* Two callbacks on one batch is a programming error in a source. */
        fprintf(stderr, "sluice: sl_batch_on_commit called twice on one batch\n");
        abort();
    }
    batch->ack = ack_new(fn, user);
}

/* ---- Groups ------------------------------------------------------------ */

static void group_done(void *user, bool committed)
{
    Group *g = user;
    for (size_t i = 0; i < g->count; i++) {
        if (!committed) sl_ack_abandon(g->members[i]);
        sl_ack_release(g->members[i]);
    }
    free(g->members);
    free(g);
}

/* Takes over one reference to `ack`. */
static void group_add(Group *g, SlAck *ack)
{
    if (g->count == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 4;
        g->members = sl_xrealloc(g->members, g->cap * sizeof *g->members);
    }
    g->members[g->count++] = ack;
}

/* Searched newest first: a window's records come mostly in runs from the
** same few batches. */
static bool group_has(const Group *g, const SlAck *ack)
{
    for (size_t i = g->count; i-- > 0;)
        if (g->members[i] == ack) return true;
    return false;
}

void sl_batch_hold_ack(SlBatch *out, const SlBatch *from)
{
    if (!from->ack || from->ack == out->ack) return;
    if (!out->ack || out->ack->fn != group_done) {
        Group *g = calloc(1, sizeof *g);
        if (!g) abort();
        if (out->ack) group_add(g, out->ack);
        out->ack = ack_new(group_done, g);
    }
    Group *g = out->ack->user;
    if (!group_has(g, from->ack)) group_add(g, sl_ack_hold(from->ack));
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
