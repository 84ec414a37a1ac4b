/*
** diskbuffer.h: a sink's optional disk buffer, the `buffer` setting every
** sink accepts:
**
**     buffer: { type: disk, path: DIR, max_bytes: 256MiB, when_full: block, fsync: batch }
**
** Batches for the sink are appended to a segment log in DIR (seglog.h) as
** packed records (pack.h) instead of being handed to the sink; once an
** entry is on disk the batch is released, so its source may acknowledge
** it (ack.h). A feeder thread reads the log in order and calls the sink's
** process; what the sink has committed is deleted. So an outage of the
** sink's server fills the buffer instead of stalling the pipeline, and what
** is buffered survives kill -9: the next run delivers it first.
**
** The runtime's hooks (runtime.c, graph.c) are the only callers.
*/
#ifndef SLUICE_DISKBUFFER_H
#define SLUICE_DISKBUFFER_H

#include "internal.h"

/* The `buffer` setting, for the schema check and the JSON Schema. */
extern const SlSetting sl_buffer_setting;

/* Reads a sink's checked `buffer` node; NULL after reporting a problem
** in `d`. No side effects (validate). */
SlDiskBuffer *sl_diskbuffer_new(SlCtx *ctx, const SlConf *node, SlDiag *d);
/* Opens the log and starts the feeder; false after sl_fail. */
bool sl_diskbuffer_start(SlCtx *ctx);
/* Instead of the sink's process: appends the batch (waiting while the
** buffer is full, unless the pipeline is stopping) and frees it. */
void sl_diskbuffer_append(SlCtx *ctx, SlBatch *b);
/* The sink's inputs have ended: without a stop, waits until the feeder
** has delivered everything; with one, until its current batch is done
** (the rest waits on disk for the next run). Then stops the feeder. */
void sl_diskbuffer_finish(SlCtx *ctx);
/* Stops the feeder if it runs; before the sink is destroyed. NULL-safe. */
void sl_diskbuffer_free(SlDiskBuffer *db);

#endif
