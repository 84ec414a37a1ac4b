/*
** runtime.c: runs a loaded pipeline.
**
** Each source runs on its own thread; transforms and sinks are run by a
** pool of worker threads. Components are connected by bounded queues of
** batches, all guarded by one pipeline lock that is taken once per batch
** (never per record). A worker picks a component that has input waiting
** and room in every queue it feeds, preferring those nearest the sinks so
** data drains before more is read; a source that finds a full queue waits:
** a slow sink slows the sources, and memory stays bounded.
**
** When a source ends (its input is finished, or the pipeline is stopping)
** its consumers are told; a component whose inputs have all ended and whose
** queue is empty gets finish() and ends in turn, so a stop drains every
** accepted record through to the sinks before the run returns.
**
** A component whose calls may block for long (SL_BLOCKING: a network sink
** waiting out its server's outage) would hold a worker as long, and two or
** three such waits would stop the whole pool, unrelated branches included.
** Such a component is `alone`: called on a thread of its own that runs the
** worker's scheduling for it only (alone_main), under the same lock, so
** its queue, backpressure, ticks, finish, acks and metrics are unchanged.
** That thread waits on a condition of its own, signalled only when its
** queue gets a batch, one of its inputs ends, or a queue it feeds makes
** room; the pool never picks it. The pool's components pay one flag test,
** and no handoff between threads. (Capping how many workers blocking
** components may hold instead would still make a sink whose server is fine
** wait behind one whose server is away.)
*/
#include "ack.h"
#include "diskbuffer.h"
#include "internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sl_progress_draw(SlPipeline *p, int64_t started_ns, bool last); /* progress.c */

enum { DEFAULT_QUEUE_BATCHES = 4, IDLE_WAIT_MS = 500, MAIN_POLL_MS = 200 };

typedef enum Action { IDLE, PROCESS, TICK, FINISH } Action;

/* ---- Scheduling (all under the pipeline lock) ------------------------- */

static bool has_room(const SlPipeline *p, const SlCtx *ctx)
{
    for (int port = 0; port < PORTS; port++)
        for (size_t i = 0; i < ctx->nconsumers[port]; i++)
            if (ctx->consumers[port][i]->queue.count >= p->queue_cap) return false;
    return true;
}

static Action next_action(const SlPipeline *p, const SlCtx *ctx, int64_t now)
{
    if (ctx->kind == SL_SOURCE || ctx->ended) return IDLE;
    if (ctx->running && !(ctx->type->flags & SL_PARALLEL)) return IDLE;
    bool room = has_room(p, ctx);
    /* A due tick goes first, so a busy component still gets its ticks. */
    if (!ctx->running && ctx->type->tick && now >= ctx->next_tick_ns && room) return TICK;
    if (ctx->queue.count) return room ? PROCESS : IDLE;
    if (ctx->running) return IDLE;
    return ctx->open_inputs ? IDLE : FINISH;
}

/* An alone component waits on its own condition: the pool's is broadcast
** for every batch, which would wake each alone thread for nothing. */
static void wake_alone(SlCtx *ctx)
{
    if (ctx->alone) pthread_cond_signal(&ctx->wake);
}

static void end_node(SlPipeline *p, SlCtx *ctx)
{
    ctx->ended = true;
    p->nended++;
    for (int port = 0; port < PORTS; port++)
        for (size_t i = 0; i < ctx->nconsumers[port]; i++) {
            ctx->consumers[port][i]->open_inputs--;
            wake_alone(ctx->consumers[port][i]);
        }
    pthread_cond_broadcast(&p->work);
}

/* A pop that leaves a full queue with room unblocks its producers. The
** pool's hear it when the call ends (perform); alone ones are told now. */
static void made_room(const SlPipeline *p, SlCtx *ctx)
{
    if (ctx->queue.count + 1 != p->queue_cap) return;
    for (size_t i = 0; i < ctx->ninputs; i++) wake_alone(ctx->inputs[i].from);
}

/* A batch that reaches a failed component is counted as lost, loudly. */
static void discard(SlCtx *ctx, SlBatch *b)
{
    atomic_fetch_add(&ctx->counters.errors, b->count);
    sl_ack_abandon(b->ack);
    if (atomic_fetch_add(&ctx->logged_rejects, 1) == 0)
        sl_log(ctx, "failed: discarding the records it receives (counted as errors)");
    sl_batch_free(b);
}

static bool has_failed(SlCtx *ctx)
{
    pthread_mutex_lock(&ctx->pipeline->lock);
    bool failed = ctx->failed;
    pthread_mutex_unlock(&ctx->pipeline->lock);
    return failed;
}

/* The batch's acknowledgement (ack.h) is held for the whole call: a sink
** has committed a batch when its process call returns without failing, and
** what a transform emits meanwhile derives from the batch. */
static void process(SlCtx *ctx, SlBatch *b, bool failed)
{
    SlAck *held = sl_ack_hold(b->ack);
    sl_outbox_derive(held);
    atomic_fetch_add(&ctx->counters.records_in, b->count);
    if (ctx->kind == SL_SINK && ctx->tapped) sl_tap_batch(ctx, b);
    if (failed) discard(ctx, b);
    else if (ctx->buffer) sl_diskbuffer_append(ctx, b);
    else ctx->type->process(ctx, b);
    sl_outbox_flush(ctx, false);
    if (held && has_failed(ctx)) sl_ack_abandon(held);
    sl_ack_release(held);
}

static void call(SlCtx *ctx, Action a, SlBatch *b, bool failed)
{
    const SlComponentType *t = ctx->type;
    if (a == PROCESS) {
        process(ctx, b, failed);
        return;
    }
    if (a == TICK) {
        if (!failed) t->tick(ctx);
    } else {
        if (ctx->buffer) sl_diskbuffer_finish(ctx);
        if (t->finish && !failed) t->finish(ctx);
    }
    sl_outbox_flush(ctx, false);
}

/* Entered and left with the lock held. */
static void perform(SlPipeline *p, SlCtx *ctx, Action a, int64_t now)
{
    SlBatch *b = NULL;
    ctx->running++;
    if (a == PROCESS) {
        b = sl_queue_pop(&ctx->queue);
        pthread_cond_broadcast(&p->space);
        made_room(p, ctx);
    } else if (a == TICK) {
        ctx->next_tick_ns = now + (int64_t)ctx->type->tick_ms * 1000000;
    }
    bool failed = ctx->failed;
    pthread_mutex_unlock(&p->lock);
    call(ctx, a, b, failed);
    pthread_mutex_lock(&p->lock);
    ctx->running--;
    if (a == FINISH) end_node(p, ctx);
    pthread_cond_broadcast(&p->work);
}

/* The earlier of `soonest` and the node's next tick. A running or blocked
** node cannot tick now; when that changes its thread is woken anyway.
** Counting its overdue tick would make an idle thread spin on the lock. */
static int64_t tick_before(const SlPipeline *p, const SlCtx *ctx, int64_t soonest)
{
    if (!ctx->ended && ctx->type->tick && !ctx->running && has_room(p, ctx) &&
        ctx->next_tick_ns < soonest)
        return ctx->next_tick_ns;
    return soonest;
}

static int64_t idle_until(int64_t now)
{
    return now + (int64_t)IDLE_WAIT_MS * 1000000;
}

static int64_t next_tick(const SlPipeline *p, int64_t now)
{
    int64_t soonest = idle_until(now);
    for (size_t i = 0; i < p->count; i++)
        if (!p->nodes[i]->alone) soonest = tick_before(p, p->nodes[i], soonest);
    return soonest;
}

/* Waits on `cond` with the pipeline lock held, until `mono_ns` at most. */
static void wait_until(SlPipeline *p, pthread_cond_t *cond, int64_t mono_ns)
{
    /* Condition variables wait on the realtime clock: convert. */
    int64_t delta = mono_ns - sl_now_ns();
    if (delta <= 0) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t at = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + delta;
    ts.tv_sec = at / 1000000000;
    ts.tv_nsec = at % 1000000000;
    pthread_cond_timedwait(cond, &p->lock, &ts);
}

static void *worker_main(void *arg)
{
    SlPipeline *p = arg;
    pthread_mutex_lock(&p->lock);
    while (p->nended < p->count) {
        int64_t now = sl_now_ns();
        bool did = false;
        for (size_t i = p->count; i-- > 0 && !did;) {
            SlCtx *ctx = p->nodes[i];
            Action a = ctx->alone ? IDLE : next_action(p, ctx, now);
            if (a != IDLE) {
                perform(p, ctx, a, now);
                did = true;
            }
        }
        if (!did && p->nended < p->count) wait_until(p, &p->work, next_tick(p, now));
    }
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* The thread of an alone component: a worker with one component. */
static void *alone_main(void *arg)
{
    SlCtx *ctx = arg;
    SlPipeline *p = ctx->pipeline;
    pthread_mutex_lock(&p->lock);
    while (!ctx->ended) {
        int64_t now = sl_now_ns();
        Action a = next_action(p, ctx, now);
        if (a != IDLE) perform(p, ctx, a, now);
        else wait_until(p, &ctx->wake, tick_before(p, ctx, idle_until(now)));
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void *source_main(void *arg)
{
    SlCtx *ctx = arg;
    SlPipeline *p = ctx->pipeline;
    ctx->type->run(ctx);
    sl_outbox_flush(ctx, false);
    pthread_mutex_lock(&p->lock);
    end_node(p, ctx);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- Stopping -------------------------------------------------------- */

void sl_pipeline_stop(SlPipeline *p)
{
    if (atomic_exchange(&p->stopping, true)) return;
    for (size_t i = 0; i < p->count; i++)
        if (p->nodes[i]->kind == SL_SOURCE && p->nodes[i]->type->stop)
            p->nodes[i]->type->stop(p->nodes[i]);
    pthread_mutex_lock(&p->lock);
    pthread_cond_broadcast(&p->space);
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
}

bool sl_pipeline_stopping(const SlPipeline *p)
{
    return p->stopping;
}

/* ---- Running --------------------------------------------------------- */

static bool start_all(SlPipeline *p)
{
    for (size_t i = 0; i < p->count; i++) {
        SlCtx *ctx = p->nodes[i];
        if (ctx->type->start && ctx->type->start(ctx) != 0) return false;
        if (ctx->buffer && !sl_diskbuffer_start(ctx)) return false;
    }
    return !p->failed;
}

static void prepare(SlPipeline *p, const SlRunOptions *o)
{
    p->queue_cap = o->queue_batches > 0 ? (size_t)o->queue_batches : DEFAULT_QUEUE_BATCHES;
    int64_t now = sl_now_ns();
    for (size_t i = 0; i < p->count; i++) {
        SlCtx *ctx = p->nodes[i];
        ctx->open_inputs = ctx->ninputs;
        ctx->next_tick_ns = now + (int64_t)ctx->type->tick_ms * 1000000;
        ctx->alone = ctx->kind != SL_SOURCE && (ctx->type->flags & SL_BLOCKING);
        pthread_cond_init(&ctx->wake, NULL);
    }
}

static bool finished(SlPipeline *p)
{
    pthread_mutex_lock(&p->lock);
    bool done = p->nended == p->count;
    pthread_mutex_unlock(&p->lock);
    return done;
}

/* Waits for the end, handling SIGINT/SIGTERM (blocked in every thread, so
** they queue for sigtimedwait here) and drawing progress. */
static void supervise(SlPipeline *p, const sigset_t *signals, bool progress)
{
    int64_t started = sl_now_ns();
    struct timespec poll = { 0, MAIN_POLL_MS * 1000000L };
    while (!finished(p)) {
        int sig = sigtimedwait(signals, NULL, &poll);
        if (sig > 0 && p->stopping) {
            fprintf(stderr, "\nsluice: second %s: exiting without draining\n", strsignal(sig));
            _exit(130);
        }
        if (sig > 0) {
            fprintf(stderr, "%ssluice: %s: stopping, draining what is in flight\n",
                    progress ? "\n" : "", strsignal(sig));
            sl_pipeline_stop(p);
        }
        if (progress) sl_progress_draw(p, started, false);
    }
    if (progress) sl_progress_draw(p, started, true);
}

static int spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
    int rc = pthread_create(t, NULL, fn, arg);
    if (rc) fprintf(stderr, "sluice: cannot start a thread: %s\n", strerror(rc));
    return rc;
}

/* Without a thread of its own, an alone component is left to the pool,
** which may already have passed over its queue: hence the broadcast. */
static void start_alone(SlPipeline *p, SlCtx *ctx)
{
    ctx->thread_started = !spawn(&ctx->thread, alone_main, ctx);
    if (ctx->thread_started) return;
    pthread_mutex_lock(&p->lock);
    ctx->alone = false;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
}

int sl_pipeline_run(SlPipeline *p, const SlRunOptions *o)
{
    /* Blocked before anything can start a thread, so that every thread
    ** inherits the mask and the signals wait for supervise(). */
    sigset_t signals, old;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, &old);
    if (!start_all(p)) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return 1;
    }
    prepare(p, o);

    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nworkers = o->workers > 0 ? (size_t)o->workers : cores > 0 ? (size_t)cores : 1;
    pthread_t *workers = calloc(nworkers, sizeof *workers);
    if (!workers) abort();
    size_t started = 0;
    for (; started < nworkers; started++)
        if (spawn(&workers[started], worker_main, p)) break;
    for (size_t i = 0; i < p->count && started; i++)
        if (p->nodes[i]->alone) start_alone(p, p->nodes[i]);
    for (size_t i = 0; i < p->count; i++) {
        SlCtx *ctx = p->nodes[i];
        if (ctx->kind != SL_SOURCE) continue;
        ctx->thread_started = started > 0 && !spawn(&ctx->thread, source_main, ctx);
        if (!ctx->thread_started) {
            p->failed = true;
            pthread_mutex_lock(&p->lock);
            end_node(p, ctx);
            pthread_mutex_unlock(&p->lock);
            sl_pipeline_stop(p);
        }
    }
    if (started) supervise(p, &signals, o->progress);
    for (size_t i = 0; i < p->count; i++)
        if (p->nodes[i]->thread_started)
            pthread_join(p->nodes[i]->thread, NULL);
    for (size_t i = 0; i < started; i++) pthread_join(workers[i], NULL);
    for (size_t i = 0; i < p->count; i++) pthread_cond_destroy(&p->nodes[i]->wake);
    free(workers);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return p->failed || !started ? 1 : 0;
}

/* ---- Statistics ------------------------------------------------------ */

void sl_pipeline_stats(SlPipeline *p, size_t index, SlStats *out)
{
    SlCtx *ctx = p->nodes[index];
    Counters *c = &ctx->counters;
    memset(out, 0, sizeof *out);
    out->name = ctx->name;
    out->type = ctx->type->name;
    out->kind = ctx->kind;
    out->records_in = c->records_in;
    out->records_out = c->records_out;
    out->bytes_in = c->bytes_in;
    out->bytes_out = c->bytes_out;
    out->errors = c->errors;
    out->retries = c->retries;
    out->calls = c->calls;
    out->fuel = c->fuel;
    out->traps = c->traps;
    out->latency_sum_ns = c->latency_sum_ns;
    for (int i = 0; i < SL_LATENCY_BUCKETS; i++) out->latency[i] = c->latency[i];
    pthread_mutex_lock(&p->lock);
    out->queue_depth = ctx->queue.count;
    pthread_mutex_unlock(&p->lock);
}
