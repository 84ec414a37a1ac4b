/*
** checkpoint.h: where a file source may resume after a restart: the byte
** offset up to which every line has been committed by every sink (ack.h),
** with the file's device and inode so that a different file at the same
** path (rotated) is read from its start.
**
** Batches are committed in any order; the checkpoint moves only over the
** contiguous prefix of committed batches, in the order they were emitted.
** It is saved as one line of text, atomically (a temporary file, fsync,
** rename, fsync of the directory), so a crash leaves the old or the new
** checkpoint, never a torn one.
*/
#ifndef SLUICE_CHECKPOINT_H
#define SLUICE_CHECKPOINT_H

#include "../pipeline/component.h"

#include <sys/types.h>

typedef struct SlCheckpoint SlCheckpoint;

/* `min_interval_ms` spaces the saves that commits make. */
SlCheckpoint *sl_checkpoint_new(SlCtx *ctx, const char *path, int64_t min_interval_ms);
/* Frees it; every tracked batch must have been committed or abandoned. */
void sl_checkpoint_free(SlCheckpoint *cp);

/* The offset to resume the file (dev, ino, size) from: the saved one if it
** is this file and not past its end, else 0 (logged when it is not a first
** run). */
uint64_t sl_checkpoint_resume(SlCheckpoint *cp, dev_t dev, ino_t ino, uint64_t size);
/* The file was truncated: reading starts over at 0, and the batches still
** in flight from before no longer move the checkpoint. */
void sl_checkpoint_truncated(SlCheckpoint *cp);

/* Attaches to a batch about to be emitted: once committed, every line
** before offset `end` is. Matches SlLines.before_emit. */
void sl_checkpoint_track(void *cp, SlBatch *batch, uint64_t end);

/* The source has read all it will (it returns from run): the commit of
** its last batch saves at once, whatever the spacing. */
void sl_checkpoint_input_done(SlCheckpoint *cp);

/* Writes the checkpoint if it moved, unless it was written less than
** `min_interval_ms` ago. Commits save it too (spaced the same way), so a
** source need only call this when idle and at the end (0: now). Returns
** false after reporting a write error. Thread-safe. */
bool sl_checkpoint_save(SlCheckpoint *cp, int64_t min_interval_ms);

#endif
