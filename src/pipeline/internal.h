/*
** internal.h: what the graph builder (graph.c), the runtime (runtime.c) and
** the component-facing calls (context.c) share: the instance (SlCtx) and
** the pipeline. Components never include this; they see component.h.
*/
#ifndef SLUICE_PIPELINE_INTERNAL_H
#define SLUICE_PIPELINE_INTERNAL_H

#include "pipeline.h"

#include <pthread.h>
#include <stdatomic.h>

enum { PORT_MAIN, PORT_ERRORS, PORTS };

/* A sink's disk buffer (diskbuffer.h). */
typedef struct SlDiskBuffer SlDiskBuffer;

/* A bounded FIFO of batches: the input of a transform or sink. */
typedef struct Queue {
    SlBatch **items;
    size_t head, count, cap;
} Queue;

typedef struct Input {
    SlCtx *from;
    int port;
    const SlConf *at;               /* where it is named, for diagnostics */
} Input;

typedef struct Counters {
    atomic_uint_least64_t records_in, records_out, bytes_in, bytes_out, errors, retries;
    atomic_uint_least64_t calls, fuel, traps, latency_sum_ns;
    atomic_uint_least64_t latency[SL_LATENCY_BUCKETS];
} Counters;

struct SlCtx {
    SlPipeline *pipeline;
    const SlComponentType *type;    /* NULL if its settings are wrong */
    SlKind kind;                    /* from the section it is listed in */
    char *name;
    const SlConf *conf;
    void *state;
    bool initialized, finite;
    SlDiag *diag;                   /* while loading: where init reports */
    char **paths;                   /* from sl_path, freed with the instance */
    size_t npaths;

    Input *inputs;
    size_t ninputs;
    SlCtx **consumers[PORTS];
    size_t nconsumers[PORTS];
    size_t order;                   /* position in topological order */

    /* Guarded by the pipeline lock. */
    Queue queue;
    size_t open_inputs;             /* inputs that have not ended */
    int running;                    /* process/tick/finish calls under way */
    bool ended;                     /* finish done, or source returned */
    bool failed;
    int64_t next_tick_ns;
    /* A transform or sink of a SL_BLOCKING type is called on a thread of
    ** its own (runtime.c), which waits on `wake`, not by the pool. */
    bool alone;
    pthread_cond_t wake;

    pthread_t thread;               /* sources and alone components */
    bool thread_started;
    atomic_uint_least64_t progress_done, progress_total;
    atomic_uint_least64_t logged_rejects;
    Counters counters;

    SlDiskBuffer *buffer;           /* sinks with a `buffer`; else NULL */

    atomic_bool tapped;             /* fast check before taking tap_lock */
    SlTapFn tap;                    /* guarded by the pipeline's tap_lock */
    void *tap_user;
};

struct SlPipeline {
    SlConf *root;
    char *dir;                      /* of the pipeline file, for sl_path */
    SlCtx **nodes;                  /* in topological order */
    size_t count;

    pthread_mutex_t lock;
    pthread_cond_t work;            /* workers: something may be runnable */
    pthread_cond_t space;           /* sources: queues may have room */
    pthread_mutex_t tap_lock;
    size_t queue_cap;
    atomic_bool stopping;
    atomic_bool failed;
    size_t nended;                  /* nodes ended */
};

/* context.c: delivers everything the calling thread emitted for `ctx`
** since the last flush; `blocking` (sources) waits for room downstream. */
void sl_outbox_flush(SlCtx *ctx, bool blocking);
/* context.c: until the next flush, batches the calling thread emits carry
** `ack` (ack.h): they derive from the batch being processed. */
void sl_outbox_derive(SlAck *ack);
/* Shows a batch to the component's tap (what it emits; for a sink, what
** it receives). Call only when ctx->tapped. */
void sl_tap_batch(SlCtx *ctx, const SlBatch *batch);
/* Under the lock: pushes a batch to a consumer's queue. */
void sl_queue_push(Queue *q, SlBatch *b);
SlBatch *sl_queue_pop(Queue *q);

#endif
