/*
** context.c: the calls a component makes back into the runtime
** (component.h): emitting and rejecting records, state, paths, reporting.
**
** What a component emits during one callback collects in the calling
** thread's outbox and is delivered to the consumers' queues when the
** callback returns (transforms, sinks) or at once (sources, which then wait
** for room: backpressure). The outbox is per thread, so sources may emit
** from threads of their own. Fan-out clones happen here, outside the lock.
*/
#include "ack.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { LOGGED_REJECTS = 10 };

typedef struct Delivery {
    SlCtx *to;
    SlBatch *batch;
} Delivery;

typedef struct Outbox {
    SlBatch *errors;
    SlAck *derived;                 /* carried by what is emitted (ack.h) */
    Delivery *items;
    size_t count, cap;
} Outbox;

static _Thread_local Outbox outbox;

int64_t sl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- Queues ---------------------------------------------------------- */

void sl_queue_push(Queue *q, SlBatch *b)
{
    if (q->count == q->cap) {
        /* Soft bound: a transform may emit more than one batch per call. */
        size_t cap = q->cap ? q->cap * 2 : 8;
        SlBatch **items = malloc(cap * sizeof *items);
        if (!items) abort();
        for (size_t i = 0; i < q->count; i++) items[i] = q->items[(q->head + i) % q->cap];
        free(q->items);
        q->items = items;
        q->head = 0;
        q->cap = cap;
    }
    q->items[(q->head + q->count++) % q->cap] = b;
}

SlBatch *sl_queue_pop(Queue *q)
{
    if (!q->count) return NULL;
    SlBatch *b = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    return b;
}

/* ---- The outbox ------------------------------------------------------ */

static void add_delivery(SlCtx *to, SlBatch *b)
{
    if (outbox.count == outbox.cap) {
        outbox.cap = outbox.cap ? outbox.cap * 2 : 16;
        outbox.items = realloc(outbox.items, outbox.cap * sizeof *outbox.items);
        if (!outbox.items) abort();
    }
    outbox.items[outbox.count++] = (Delivery){ to, b };
}

/* One delivery per consumer of the port; the first gets the batch itself. */
static void route(SlCtx *ctx, int port, SlBatch *b)
{
    size_t n = ctx->nconsumers[port];
    if (port == PORT_MAIN && !b->ack) b->ack = sl_ack_hold(outbox.derived);
    if (n == 0 || b->count == 0) {
        sl_batch_free(b);
        return;
    }
    for (size_t i = 1; i < n; i++) add_delivery(ctx->consumers[port][i], sl_batch_clone(b));
    add_delivery(ctx->consumers[port][0], b);
}

static bool room_for_all(const SlPipeline *p)
{
    for (size_t i = 0; i < outbox.count; i++)
        if (outbox.items[i].to->queue.count >= p->queue_cap) return false;
    return true;
}

void sl_outbox_flush(SlCtx *ctx, bool blocking)
{
    if (outbox.errors) {
        route(ctx, PORT_ERRORS, outbox.errors);
        outbox.errors = NULL;
    }
    outbox.derived = NULL;
    if (!outbox.count) return;
    SlPipeline *p = ctx->pipeline;
    pthread_mutex_lock(&p->lock);
    while (blocking && !room_for_all(p) && !p->stopping)
        pthread_cond_wait(&p->space, &p->lock);
    bool pooled = false;
    for (size_t i = 0; i < outbox.count; i++) {
        SlCtx *to = outbox.items[i].to;
        sl_queue_push(&to->queue, outbox.items[i].batch);
        /* Only the thread that calls `to` need wake (runtime.c). */
        if (to->alone) pthread_cond_signal(&to->wake);
        else pooled = true;
    }
    if (pooled) pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    /* Freed each time, so threads that components start leave nothing. */
    free(outbox.items);
    memset(&outbox, 0, sizeof outbox);
}

void sl_outbox_derive(SlAck *ack)
{
    outbox.derived = ack;
}

/* ---- Emitting and rejecting ------------------------------------------ */

void sl_tap_batch(SlCtx *ctx, const SlBatch *batch)
{
    SlPipeline *p = ctx->pipeline;
    pthread_mutex_lock(&p->tap_lock);
    if (ctx->tap) ctx->tap(ctx->tap_user, ctx->name, batch);
    pthread_mutex_unlock(&p->tap_lock);
}

bool sl_pipeline_tap(SlPipeline *p, const char *component, SlTapFn fn, void *user)
{
    for (size_t i = 0; i < p->count; i++) {
        SlCtx *ctx = p->nodes[i];
        if (strcmp(ctx->name, component)) continue;
        pthread_mutex_lock(&p->tap_lock);
        ctx->tap = fn;
        ctx->tap_user = user;
        ctx->tapped = fn != NULL;
        pthread_mutex_unlock(&p->tap_lock);
        return true;
    }
    return false;
}

void sl_pipeline_untap(SlPipeline *p, const char *component)
{
    sl_pipeline_tap(p, component, NULL, NULL);
}

bool sl_emit(SlCtx *ctx, SlBatch *batch)
{
    if (ctx->tapped) sl_tap_batch(ctx, batch);
    atomic_fetch_add(&ctx->counters.records_out, batch->count);
    bool source = ctx->kind == SL_SOURCE;
    if (source) atomic_fetch_add(&ctx->counters.records_in, batch->count);
    route(ctx, PORT_MAIN, batch);
    if (source) sl_outbox_flush(ctx, true);
    return !ctx->pipeline->stopping;
}

static void log_reject(SlCtx *ctx, const char *reason)
{
    uint64_t n = atomic_fetch_add(&ctx->logged_rejects, 1);
    if (n < LOGGED_REJECTS)
        fprintf(stderr, "sluice: %s: rejected: %s\n", ctx->name, reason);
    else if (n == LOGGED_REJECTS)
        fprintf(stderr, "sluice: %s: further rejections are counted, not logged "
                "(read them with the input '%s.errors')\n", ctx->name, ctx->name);
}

/* Counts a rejection; returns the record to fill in the error batch, or
** NULL when nothing reads NAME.errors (then it is logged). */
static SlRecord *reject(SlCtx *ctx, const SlRecord *from, const char *reason)
{
    atomic_fetch_add(&ctx->counters.errors, 1);
    if (!ctx->nconsumers[PORT_ERRORS]) {
        log_reject(ctx, reason);
        return NULL;
    }
    if (!outbox.errors) outbox.errors = sl_batch_new();
    SlBatch *eb = outbox.errors;
    SlRecord *r = from ? sl_batch_add_copy(eb, from) : sl_batch_add(eb);
    size_t len = strlen(reason);
    *sl_set(eb, r, "error") = sl_str(sl_copy_str(eb, reason, len), len);
    *sl_set(eb, r, "component") = sl_str(ctx->name, strlen(ctx->name));
    return r;
}

/* A source's rejections go at once: its threads may have no next call
** that would deliver them. A transform's go when its call returns. */
static void after_reject(SlCtx *ctx)
{
    if (ctx->kind == SL_SOURCE) sl_outbox_flush(ctx, true);
}

void sl_reject(SlCtx *ctx, const SlBatch *batch, uint32_t index, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    reject(ctx, &batch->records[index], reason);
    after_reject(ctx);
}

void sl_keep_valid(SlCtx *ctx, SlBatch *b, SlRecordFn fn, void *user)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < b->count; i++) {
        char why[256];
        const char *reason = fn(user, b, &b->records[i], why, sizeof why);
        if (reason) sl_reject(ctx, b, i, "%s", reason);
        else b->records[kept++] = b->records[i];
    }
    b->count = kept;
}

void sl_reject_text(SlCtx *ctx, const char *text, size_t len, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    SlRecord *r = reject(ctx, NULL, reason);
    if (r) {
        SlBatch *eb = outbox.errors;
        *sl_set(eb, r, "message") = sl_str(sl_copy_str(eb, text, len), len);
    }
    after_reject(ctx);
}

bool sl_stopping(const SlCtx *ctx)
{
    return ctx->pipeline->stopping;
}

void sl_count_errors(SlCtx *ctx, uint64_t n)
{
    atomic_fetch_add(&ctx->counters.errors, n);
}

void sl_count_retry(SlCtx *ctx)
{
    atomic_fetch_add(&ctx->counters.retries, 1);
}

/* ---- Identity, state, paths ------------------------------------------ */

const char *sl_name(const SlCtx *ctx) { return ctx->name; }
void *sl_state(const SlCtx *ctx) { return ctx->state; }
void sl_set_state(SlCtx *ctx, void *state) { ctx->state = state; }
void sl_set_finite(SlCtx *ctx, bool finite) { ctx->finite = finite; }

const char *sl_path(SlCtx *ctx, const char *path)
{
    const char *dir = path[0] == '/' ? "" : ctx->pipeline->dir;
    size_t size = strlen(dir) + strlen(path) + 2;
    char *full = malloc(size);
    if (!full) abort();
    snprintf(full, size, "%s%s%s", dir, *dir ? "/" : "", path);
    ctx->paths = realloc(ctx->paths, (ctx->npaths + 1) * sizeof *ctx->paths);
    if (!ctx->paths) abort();
    ctx->paths[ctx->npaths++] = full;
    return full;
}

/* ---- Reporting ------------------------------------------------------- */

static void vlog(SlCtx *ctx, const char *fmt, va_list ap)
{
    fprintf(stderr, "sluice: %s: ", ctx->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void sl_fail(SlCtx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(ctx, fmt, ap);
    va_end(ap);
    SlPipeline *p = ctx->pipeline;
    pthread_mutex_lock(&p->lock);
    ctx->failed = true;
    pthread_mutex_unlock(&p->lock);
    p->failed = true;
    sl_pipeline_stop(p);
}

void sl_log(SlCtx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(ctx, fmt, ap);
    va_end(ap);
}

void sl_progress(SlCtx *ctx, uint64_t done, uint64_t total)
{
    ctx->progress_done = done;
    ctx->progress_total = total;
}

void sl_count_bytes_in(SlCtx *ctx, uint64_t n)
{
    atomic_fetch_add(&ctx->counters.bytes_in, n);
}

void sl_count_bytes_out(SlCtx *ctx, uint64_t n)
{
    atomic_fetch_add(&ctx->counters.bytes_out, n);
}

const uint64_t sl_latency_bounds_ns[SL_LATENCY_BUCKETS - 1] = {
    1000, 5000, 10000, 50000, 100000, 500000,
    1000000, 5000000, 10000000, 50000000, 100000000,
};

void sl_observe_call(SlCtx *ctx, uint64_t ns, uint64_t fuel, bool trapped)
{
    Counters *c = &ctx->counters;
    size_t bucket = 0;
    while (bucket < SL_LATENCY_BUCKETS - 1 && ns > sl_latency_bounds_ns[bucket]) bucket++;
    atomic_fetch_add(&c->latency[bucket], 1);
    atomic_fetch_add(&c->calls, 1);
    atomic_fetch_add(&c->latency_sum_ns, ns);
    atomic_fetch_add(&c->fuel, fuel);
    if (trapped) atomic_fetch_add(&c->traps, 1);
}
