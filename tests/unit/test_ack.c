/*
** test_ack.c: end-to-end acknowledgements (src/pipeline/ack.h) at the
** level of batches: the callback runs once, after every holder (the batch,
** its clones, its derived batches, a sink call) has let go, and says
** whether everything was written.
*/
#include "../../src/pipeline/ack.h"
#include "unit.h"

typedef struct Seen {
    int calls;
    bool committed;
} Seen;

static void on_commit(void *user, bool committed)
{
    Seen *seen = user;
    seen->calls++;
    seen->committed = committed;
}

static SlBatch *tracked_batch(Seen *seen)
{
    SlBatch *b = sl_batch_new();
    *sl_set(b, sl_batch_add(b), "n") = sl_int(1);
    sl_batch_on_commit(b, on_commit, seen);
    return b;
}

TEST(freeing_the_batch_commits_it)
{
    Seen seen = { 0 };
    sl_batch_free(tracked_batch(&seen));
    CHECK_EQ_INT(seen.calls, 1);
    CHECK(seen.committed);
}

TEST(clones_commit_when_the_last_is_freed)
{
    Seen seen = { 0 };
    SlBatch *b = tracked_batch(&seen);
    SlBatch *c1 = sl_batch_clone(b), *c2 = sl_batch_clone(b);
    sl_batch_free(b);
    sl_batch_free(c2);
    CHECK_EQ_INT(seen.calls, 0);
    sl_batch_free(c1);
    CHECK_EQ_INT(seen.calls, 1);
    CHECK(seen.committed);
}

TEST(a_holder_delays_the_commit)
{
    Seen seen = { 0 };
    SlBatch *b = tracked_batch(&seen);
    SlAck *call = sl_ack_hold(b->ack);          /* a sink's process call */
    SlBatch *derived = sl_batch_new();          /* what a transform emitted */
    derived->ack = sl_ack_hold(b->ack);
    sl_batch_free(b);
    sl_batch_free(derived);
    CHECK_EQ_INT(seen.calls, 0);
    sl_ack_release(call);
    CHECK_EQ_INT(seen.calls, 1);
    CHECK(seen.committed);
}

TEST(one_abandoned_holder_means_not_committed)
{
    Seen seen = { 0 };
    SlBatch *b = tracked_batch(&seen);
    SlBatch *clone = sl_batch_clone(b);
    sl_ack_abandon(clone->ack);                 /* a failed sink's discard */
    sl_batch_free(clone);
    sl_batch_free(b);
    CHECK_EQ_INT(seen.calls, 1);
    CHECK(!seen.committed);
}

TEST(untracked_batches_need_nothing)
{
    SlBatch *b = sl_batch_new();
    SlBatch *c = sl_batch_clone(b);
    CHECK(c->ack == NULL);
    CHECK(sl_ack_hold(NULL) == NULL);
    sl_ack_release(NULL);
    sl_ack_abandon(NULL);
    sl_batch_free(b);
    sl_batch_free(c);
}

/* A window keeps two batches, emits one output made from both, and lets
** go of what it kept: the inputs are committed only with the output. */
TEST(a_window_output_holds_its_inputs)
{
    Seen first = { 0 }, second = { 0 };
    SlBatch *a = tracked_batch(&first), *b = tracked_batch(&second);
    SlBatch *out = sl_batch_new();
    for (int record = 0; record < 1000; record++)    /* one hold per batch */
        sl_batch_hold_ack(out, record % 2 ? a : b);
    sl_batch_free(a);
    sl_batch_free(b);
    CHECK_EQ_INT(first.calls + second.calls, 0);
    SlBatch *clone = sl_batch_clone(out);            /* fan-out downstream */
    sl_batch_free(out);
    CHECK_EQ_INT(first.calls + second.calls, 0);
    sl_batch_free(clone);
    CHECK_EQ_INT(first.calls, 1);
    CHECK_EQ_INT(second.calls, 1);
    CHECK(first.committed && second.committed);
}

TEST(an_abandoned_window_output_abandons_its_inputs)
{
    Seen seen = { 0 };
    SlBatch *a = tracked_batch(&seen);
    SlBatch *out = sl_batch_new();
    sl_batch_hold_ack(out, a);
    sl_batch_free(a);
    sl_ack_abandon(out->ack);                       /* the sink failed */
    sl_batch_free(out);
    CHECK_EQ_INT(seen.calls, 1);
    CHECK(!seen.committed);
}

TEST(holding_keeps_an_output_own_ack)
{
    Seen own = { 0 }, kept = { 0 };
    SlBatch *out = tracked_batch(&own), *a = tracked_batch(&kept);
    sl_batch_hold_ack(out, a);
    sl_batch_hold_ack(out, out);                    /* itself: nothing */
    sl_batch_free(a);
    sl_batch_free(out);
    CHECK_EQ_INT(own.calls, 1);
    CHECK_EQ_INT(kept.calls, 1);
}

int main(void)
{
    RUN(freeing_the_batch_commits_it);
    RUN(clones_commit_when_the_last_is_freed);
    RUN(a_holder_delays_the_commit);
    RUN(one_abandoned_holder_means_not_committed);
    RUN(untracked_batches_need_nothing);
    RUN(a_window_output_holds_its_inputs);
    RUN(an_abandoned_window_output_abandons_its_inputs);
    RUN(holding_keeps_an_output_own_ack);
    return unit_summary();
}
