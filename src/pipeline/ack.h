/*
** ack.h: end-to-end acknowledgements. A source that must confirm its input
** to the outside world (a NATS ack, a file offset) only once that input is
** safely written asks to be told when a batch it emits is committed:
**
**     sl_batch_on_commit(batch, on_commit, pending);
**     sl_emit(ctx, batch);
**
** `on_commit(pending, true)` is then called exactly once, when every sink
** that the batch reached (through clones for fan-out, and through the
** batches transforms emit while processing it) has written its records; a
** filter that drops records commits them. `on_commit(pending, false)` means
** some of those records were not written (a component failed, or the run
** was abandoned): do not acknowledge; the outside world should redeliver.
**
** The callback runs on whichever thread finishes last (a worker, or the
** source's own thread if nothing reads it): it must be quick, thread-safe,
** and must not call sl_emit. It always runs before the source is destroyed.
**
** Records rejected to NAME.errors count as handled. A transform that keeps
** records past the call that received them (a window) keeps their batch,
** and with it the batch's acknowledgement; when it emits what it made of
** them it hands the acknowledgement on with sl_batch_hold_ack, so the
** source hears only once that output is committed. Until then the records
** are held, not confirmed: a crash makes the source deliver them again.
*/
#ifndef SLUICE_ACK_H
#define SLUICE_ACK_H

#include "record.h"

typedef void (*SlCommitFn)(void *user, bool committed);

/* At most once per batch, before it is emitted. */
void sl_batch_on_commit(SlBatch *batch, SlCommitFn fn, void *user);

/* For a transform that keeps records (a window): `out`, which it is about
** to emit, holds the acknowledgement of `from`, a kept batch whose records
** went into it, so that `from` is committed only with `out` (and abandoned
** if `out` is). Holding one batch twice adds nothing: cheap per record. */
void sl_batch_hold_ack(SlBatch *out, const SlBatch *from);

/* ---- For the runtime and record.c ------------------------------------ */
/* One more holder of `ack` (a clone, a batch derived from it, a sink call
** under way); returns it. NULL-safe. */
SlAck *sl_ack_hold(SlAck *ack);
/* A holder is done; the last one calls the callback. NULL-safe. */
void sl_ack_release(SlAck *ack);
/* Some records under `ack` will never be written. NULL-safe. */
void sl_ack_abandon(SlAck *ack);

#endif
