/*
** nats.c: the `nats` source. Reads a JetStream stream through a durable
** pull consumer: each fetch of up to `batch` messages becomes one batch of
** records (inmsg.h), and its messages are acknowledged only once every
** sink that the batch reaches has written it (ack.h). A message whose
** records were not written (a sink failed, sluice was killed) is not
** acknowledged, so the server delivers it again after `ack_wait_ms`:
** delivery is at least once, and the duplicates after a crash are at most
** the messages in flight (`max_ack_pending`).
**
** Consumers are created if they do not exist (explicit acks, from the
** start of the stream) and are never deleted: they remember what was
** acknowledged across restarts. The connection reconnects by itself; a
** failed fetch is retried after a pause.
**
** With `group` and `partitions`, several sluice processes share a stream
** whose subject is split into partitions (the nats sink's partition_by):
** partition P is read by the durable consumer GROUP-P on SUBJECT.P, and
** only by the worker holding its lease (natslease.h). A keeper thread
** keeps the leases, claiming and releasing partitions towards a fair
** share, and one fetch thread per partition held reads it while its lease
** is confirmed. The keeper lives from start to destroy, not just during
** run: a stopping worker must go on renewing its leases until what it
** fetched is committed (windows may hold records until the very end), and
** give each partition back only then, so that its successor gets no
** duplicates. Without `group`, the one consumer `durable` is read by the
** run thread itself. See docs/scaling.md.
*/
#include "../pipeline/ack.h"
#include "inmsg.h"
#include "natsconn.h"
#include "natslease.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { FETCH_WAIT_MS = 500, RETRY_PAUSE_MS = 500, WHY_MAX = 256, SUBJECT_MAX = 256 };

/* One consumer of the stream, and whether this worker may read it. */
typedef struct Partition {
    SlCtx *ctx;
    struct NatsSource *source;
    uint32_t index;
    char durable[SUBJECT_MAX], subject[SUBJECT_MAX];
    natsSubscription *sub;          /* made at the first claim, kept */
    /* Run thread only: */
    pthread_t thread;
    bool has_thread, releasing;
    int64_t release_by;             /* ms: release even if not drained */
    /* Shared with the fetch thread and the commit callbacks: */
    atomic_bool fetching;           /* cleared: the fetch thread returns */
    atomic_bool ended;              /* the fetch thread has returned */
    atomic_int_fast64_t lease_until;/* ms: fetch only before this */
    atomic_int inflight;            /* fetches emitted, not yet committed */
    bool logged_fetch_error;        /* until a fetch works again */
} Partition;

typedef struct NatsSource {
    const char *url, *stream, *subject, *durable, *group;
    int64_t batch, ack_wait_ms, max_ack_pending, lease_ms;
    uint32_t partitions;            /* 0: not partitioned */
    SlInMsg in;
    natsConnection *nc;
    jsCtx *js;
    Partition *parts;               /* `partitions` of them, or 1 */
    SlLeases leases;
    SlCtx *ctx;
    pthread_t keeper;
    bool has_keeper;
    atomic_bool closing;            /* destroy: the keeper returns */
    atomic_int fetchers;            /* fetch threads not yet returned */
} NatsSource;

/* The messages of one fetch, waiting for their records to be committed. */
typedef struct Pending {
    natsMsgList msgs;
    Partition *from;
} Pending;

static const SlSetting settings[] = {
    SL_NATS_URL_SETTING,
    { .name = "stream", .type = SL_SET_STRING, .required = true,
      .doc = "The JetStream stream to read." },
    { .name = "subject", .type = SL_SET_STRING, .required = true,
      .doc = "Which of the stream's subjects to read (wildcards * and > allowed); with group, the subject before the partition." },
    { .name = "durable", .type = SL_SET_STRING,
      .doc = "The durable consumer's name: it remembers what was acknowledged across restarts. Required unless group is set." },
    { .name = "group", .type = SL_SET_STRING,
      .doc = "Share the partitions of SUBJECT with the other workers of this group (docs/scaling.md); needs partitions." },
    { .name = "partitions", .type = SL_SET_INT, .min = 1, .max = SL_NATS_MAX_PARTITIONS,
      .doc = "How many partitions the producer's nats sink splits SUBJECT into; needs group." },
    { .name = "lease_ms", .type = SL_SET_INT, .def = "3000", .min = 1000, .max = 600000,
      .doc = "With group: how long a silent worker keeps its partitions." },
    { .name = "batch", .type = SL_SET_INT, .def = "256", .min = 1, .max = SL_BATCH_RECORDS,
      .doc = "Messages fetched at once (one batch of records)." },
    { .name = "ack_wait_ms", .type = SL_SET_INT, .def = "30000", .min = 100, .max = 86400000,
      .doc = "A new consumer's redelivery delay for messages not acknowledged." },
    { .name = "max_ack_pending", .type = SL_SET_INT, .def = "4096", .min = 1, .max = 1000000,
      .doc = "A new consumer's limit of messages delivered but not yet acknowledged." },
    SL_INMSG_FORMAT_SETTING,
    { .name = "subject_field", .type = SL_SET_STRING,
      .doc = "Put the subject in this field rather than in the metadata 'subject'." },
    { 0 },
};

/* ---- Init: the settings ------------------------------------------------ */

/* The server refuses these in names; say so before connecting. */
static bool check_name(SlCtx *ctx, const SlConf *node, const char *what)
{
    if (!node || !strpbrk(node->text, ".*> \t/")) return true;
    sl_conf_error(ctx, node, "%s may not hold '.', '*', '>', '/' or spaces", what);
    return false;
}

/* Either one durable consumer, or a group with its partitions. */
static bool check_mode(SlCtx *ctx, const SlConf *conf)
{
    const SlConf *durable = sl_conf_get(conf, "durable"), *group = sl_conf_get(conf, "group");
    const SlConf *partitions = sl_conf_get(conf, "partitions");
    const SlConf *lease = sl_conf_get(conf, "lease_ms"), *subject = sl_conf_get(conf, "subject");
    const char *problem = NULL;
    const SlConf *at = conf;
    if (durable && group) problem = "'durable' and 'group' exclude each other", at = group;
    else if (!durable && !group) problem = "needs 'durable' (one consumer) or 'group' (partitions shared by workers)";
    else if (group && !partitions) problem = "'group' needs 'partitions'", at = group;
    else if (!group && partitions) problem = "'partitions' needs 'group'", at = partitions;
    else if (!group && lease) problem = "'lease_ms' needs 'group'", at = lease;
    else if (group && strpbrk(subject->text, "*> \t"))
        problem = "with 'group' the subject is the one before the partition: no wildcards", at = subject;
    if (problem) sl_conf_error(ctx, at, "%s", problem);
    return !problem && check_name(ctx, durable, "a durable name") &&
           check_name(ctx, group, "a group name");
}

static void init_partition(NatsSource *n, SlCtx *ctx, uint32_t p)
{
    Partition *part = &n->parts[p];
    *part = (Partition){ .ctx = ctx, .source = n, .index = p };
    if (n->group) {
        snprintf(part->durable, sizeof part->durable, "%s-%" PRIu32, n->group, p);
        snprintf(part->subject, sizeof part->subject, "%s.%" PRIu32, n->subject, p);
    } else {
        snprintf(part->durable, sizeof part->durable, "%s", n->durable);
        snprintf(part->subject, sizeof part->subject, "%s", n->subject);
        atomic_store(&part->lease_until, INT64_MAX);   /* always ours */
    }
}

static int init(SlCtx *ctx, const SlConf *conf)
{
    NatsSource *n = calloc(1, sizeof *n);
    if (!n) abort();
    sl_set_state(ctx, n);
    n->ctx = ctx;
    if (!check_mode(ctx, conf)) return -1;
    n->url = sl_conf_str(conf, "url", "nats://127.0.0.1:4222");
    n->stream = sl_conf_str(conf, "stream", NULL);
    n->subject = sl_conf_str(conf, "subject", NULL);
    n->durable = sl_conf_str(conf, "durable", NULL);
    n->group = sl_conf_str(conf, "group", NULL);
    n->partitions = (uint32_t)sl_conf_int(conf, "partitions", 0);
    n->lease_ms = sl_conf_int(conf, "lease_ms", 3000);
    n->batch = sl_conf_int(conf, "batch", 256);
    n->ack_wait_ms = sl_conf_int(conf, "ack_wait_ms", 30000);
    n->max_ack_pending = sl_conf_int(conf, "max_ack_pending", 4096);
    n->in = (SlInMsg){ .ctx = ctx, .origin_meta = "subject",
                       .json = !strcmp(sl_conf_str(conf, "format", "raw"), "json"),
                       .origin_field = sl_conf_str(conf, "subject_field", NULL) };
    uint32_t count = n->partitions ? n->partitions : 1;
    n->parts = calloc(count, sizeof *n->parts);
    if (!n->parts) abort();
    for (uint32_t p = 0; p < count; p++) init_partition(n, ctx, p);
    return 0;
}

/* ---- Consumers --------------------------------------------------------- */

static bool fail_js(SlCtx *ctx, const char *what, natsStatus s, jsErrCode jerr)
{
    char why[WHY_MAX];
    sl_nats_describe(s, why, sizeof why);
    sl_fail(ctx, "cannot %s: %s (JetStream error %d)", what, why, (int)jerr);
    return false;
}

/* Creating it here, rather than letting the subscription do it, means
** the library never deletes it when the subscription ends. */
static bool ensure_consumer(SlCtx *ctx, NatsSource *n, const Partition *part)
{
    jsConsumerInfo *info = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&info, n->js, n->stream, part->durable, NULL, &jerr);
    jsConsumerInfo_Destroy(info);
    if (s == NATS_OK) return true;
    if (jerr == JSStreamNotFoundErr) {
        sl_fail(ctx, "stream '%s' does not exist on %s: create it first", n->stream, n->url);
        return false;
    }
    if (jerr != JSConsumerNotFoundErr) return fail_js(ctx, "look up the consumer", s, jerr);
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = part->durable;
    cc.FilterSubject = part->subject;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = n->ack_wait_ms * 1000000;
    cc.MaxAckPending = n->max_ack_pending;
    /* Two workers may create it at once: the same settings are no error. */
    s = js_AddConsumer(&info, n->js, n->stream, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(info);
    return s == NATS_OK || fail_js(ctx, "create the durable consumer", s, jerr);
}

static bool subscribe(SlCtx *ctx, NatsSource *n, Partition *part)
{
    if (part->sub) return true;
    if (!ensure_consumer(ctx, n, part)) return false;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = n->stream;
    so.Consumer = part->durable;
    jsErrCode jerr = 0;
    natsStatus s = js_PullSubscribe(&part->sub, n->js, part->subject, part->durable, NULL,
                                    &so, &jerr);
    return s == NATS_OK || fail_js(ctx, "subscribe", s, jerr);
}

/* ---- Acknowledging ----------------------------------------------------- */

/* Runs once every sink has written the batch (or given up on it). An ack
** that is lost on the way only means the message comes again. */
static void on_commit(void *user, bool committed)
{
    Pending *p = user;
    for (int i = 0; i < p->msgs.Count; i++) {
        if (committed) natsMsg_Ack(p->msgs.Msgs[i], NULL);
        else natsMsg_Nak(p->msgs.Msgs[i], NULL);
    }
    atomic_fetch_sub(&p->from->inflight, 1);
    natsMsgList_Destroy(&p->msgs);
    free(p);
}

/* ---- Fetching ---------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void pause_ms(int64_t ms)
{
    nanosleep(&(struct timespec){ ms / 1000, ms % 1000 * 1000000 }, NULL);
}

static void emit_fetched(Partition *part, natsMsgList *msgs)
{
    SlCtx *ctx = part->ctx;
    SlBatch *b = sl_batch_new();
    uint64_t bytes = 0;
    for (int i = 0; i < msgs->Count; i++) {
        natsMsg *m = msgs->Msgs[i];
        const char *subject = natsMsg_GetSubject(m);
        int len = natsMsg_GetDataLength(m);
        bytes += (uint64_t)len;
        sl_inmsg_add(&part->source->in, b, natsMsg_GetData(m), (size_t)len, subject,
                     strlen(subject));
    }
    sl_count_bytes_in(ctx, bytes);
    Pending *p = malloc(sizeof *p);
    if (!p) abort();
    *p = (Pending){ .msgs = *msgs, .from = part };
    atomic_fetch_add(&part->inflight, 1);
    sl_batch_on_commit(b, on_commit, p);
    sl_emit(ctx, b);
}

static void fetch_once(Partition *part)
{
    natsMsgList msgs = { 0 };
    jsErrCode jerr = 0;
    natsStatus s = natsSubscription_Fetch(&msgs, part->sub, (int)part->source->batch,
                                          FETCH_WAIT_MS, &jerr);
    if (s == NATS_OK) {
        part->logged_fetch_error = false;
        emit_fetched(part, &msgs);
    } else if (s != NATS_TIMEOUT) {
        /* Usually the server is away; the connection comes back by itself. */
        if (!part->logged_fetch_error) {
            char why[WHY_MAX];
            sl_nats_describe(s, why, sizeof why);
            sl_log(part->ctx, "cannot fetch from %s: %s; retrying", part->durable, why);
        }
        part->logged_fetch_error = true;
        pause_ms(RETRY_PAUSE_MS);
    }
}

/* Fetches while told to, and only while the lease is surely still ours
** when the fetch ends: a worker whose renewals stopped working stops
** reading before anyone else can take the partition over. */
static void fetch_loop(Partition *part)
{
    while (atomic_load(&part->fetching) && !sl_stopping(part->ctx)) {
        if (now_ms() + FETCH_WAIT_MS < atomic_load(&part->lease_until)) fetch_once(part);
        else pause_ms(FETCH_WAIT_MS / 5);
    }
}

static void *fetch_thread(void *arg)
{
    Partition *part = arg;
    fetch_loop(part);
    atomic_store(&part->ended, true);
    atomic_fetch_sub(&part->source->fetchers, 1);
    return NULL;
}

/* ---- The group: leases ------------------------------------------------ */

static bool start_fetching(NatsSource *n, Partition *part, int64_t lease_until)
{
    if (!subscribe(n->ctx, n, part)) return false;
    atomic_store(&part->lease_until, lease_until);
    atomic_store(&part->fetching, true);
    atomic_store(&part->ended, false);
    atomic_fetch_add(&n->fetchers, 1);   /* before it runs: run() waits for it */
    if (pthread_create(&part->thread, NULL, fetch_thread, part)) abort();
    part->has_thread = true;
    return true;
}

static void stop_fetching(Partition *part)
{
    atomic_store(&part->fetching, false);
}

/* Joins the fetch threads that have returned; one blocked in sl_emit by
** backpressure is not waited for, or the leases would not be renewed. */
static void reap(NatsSource *n, bool wait)
{
    for (uint32_t p = 0; p < n->partitions; p++) {
        Partition *part = &n->parts[p];
        if (!part->has_thread || (!wait && !atomic_load(&part->ended))) continue;
        pthread_join(part->thread, NULL);
        part->has_thread = false;
    }
}

/* Every lease held is renewed; a lease that cannot be is lost at once. */
static void renew(NatsSource *n, int64_t round)
{
    for (uint32_t p = 0; p < n->partitions; p++) {
        Partition *part = &n->parts[p];
        if (!sl_leases_held(&n->leases, p)) continue;
        if (sl_leases_renew(&n->leases, p)) {
            atomic_store(&part->lease_until, round + n->lease_ms);
            continue;
        }
        atomic_store(&part->lease_until, 0);
        stop_fetching(part);
        part->releasing = false;
        sl_log(n->ctx, "partition %" PRIu32 ": lease lost", p);
    }
}

static uint32_t held_not_releasing(const NatsSource *n)
{
    uint32_t held = 0;
    for (uint32_t p = 0; p < n->partitions; p++)
        held += sl_leases_held(&n->leases, p) && !n->parts[p].releasing;
    return held;
}

/* Above `share`: stop fetching the highest partitions; each lease is given
** back once what was fetched under it is committed, or at `release_by`. */
static void begin_releases(NatsSource *n, uint32_t share, int64_t release_by)
{
    uint32_t held = held_not_releasing(n);
    for (uint32_t p = n->partitions; p-- > 0 && held > share;) {
        Partition *part = &n->parts[p];
        if (!sl_leases_held(&n->leases, p) || part->releasing) continue;
        stop_fetching(part);
        part->releasing = true;
        part->release_by = release_by;
        held--;
    }
}

static void finish_releases(NatsSource *n, int64_t round)
{
    for (uint32_t p = 0; p < n->partitions; p++) {
        Partition *part = &n->parts[p];
        if (!part->releasing) continue;
        bool drained = !part->has_thread && atomic_load(&part->inflight) == 0;
        if (!drained && round < part->release_by) continue;
        sl_leases_release(&n->leases, p);
        part->releasing = false;
        sl_log(n->ctx, "partition %" PRIu32 ": released%s", p,
               drained ? "" : " before its batches were committed");
    }
}

/* Below the fair share: claim free partitions, starting at a place that
** depends on our rank so that workers joining together rarely collide. */
static bool claim(NatsSource *n, uint32_t share, int64_t round)
{
    SlLeases *l = &n->leases;
    uint32_t held = held_not_releasing(n);
    uint32_t first = (uint32_t)((uint64_t)l->rank * n->partitions / l->members);
    for (uint32_t i = 0; i < n->partitions && held < share; i++) {
        uint32_t p = (first + i) % n->partitions;
        Partition *part = &n->parts[p];
        if (l->taken[p] || sl_leases_held(l, p) || part->has_thread) continue;
        if (!sl_leases_claim(l, p)) continue;
        if (!start_fetching(n, part, round + n->lease_ms)) return false;
        sl_log(n->ctx, "partition %" PRIu32 ": claimed", p);
        held++;
    }
    return true;
}

/* One round of the lease protocol; false after sl_fail. A stopping worker
** claims nothing and gives back each partition once it is drained. */
static bool lease_round(NatsSource *n, bool settled)
{
    int64_t round = now_ms();
    reap(n, false);
    if (!sl_leases_heartbeat(&n->leases)) return true;  /* leases run out by themselves */
    renew(n, round);
    if (sl_stopping(n->ctx)) {
        begin_releases(n, 0, INT64_MAX);
    } else if (sl_leases_look(&n->leases)) {
        uint32_t share = sl_leases_share(&n->leases);
        /* After ack_wait_ms what was fetched is redelivered anyway. */
        begin_releases(n, share, round + n->ack_wait_ms);
        if (settled && !claim(n, share, round)) return false;
    }
    finish_releases(n, round);
    return true;
}

/* A round every third of lease_ms. A new member claims nothing during its
** first lease_ms, so that the members started together see each other
** first and do not shuffle partitions. */
static void *keeper_thread(void *arg)
{
    NatsSource *n = arg;
    int64_t joined = now_ms();
    while (!atomic_load(&n->closing)) {
        int64_t round = now_ms();
        if (!lease_round(n, round - joined >= n->lease_ms)) break;
        while (!atomic_load(&n->closing) && now_ms() < round + n->lease_ms / 3) pause_ms(50);
    }
    for (uint32_t p = 0; p < n->partitions; p++) stop_fetching(&n->parts[p]);
    reap(n, true);
    return NULL;
}

static int start(SlCtx *ctx)
{
    NatsSource *n = sl_state(ctx);
    if (!n->group)
        return sl_nats_open(ctx, n->url, NULL, &n->nc, &n->js) && subscribe(ctx, n, n->parts)
               ? 0 : -1;
    /* Bucket operations must answer well within a lease. */
    jsOptions o;
    jsOptions_Init(&o);
    o.Wait = n->lease_ms / 3;
    if (!sl_nats_open(ctx, n->url, &o, &n->nc, &n->js) ||
        !sl_leases_open(&n->leases, ctx, n->js, n->group, n->partitions, n->lease_ms))
        return -1;
    if (pthread_create(&n->keeper, NULL, keeper_thread, n)) abort();
    n->has_keeper = true;
    return 0;
}

/* A group member's run only lasts until the stop, and until the fetch
** threads have returned: none may emit after run. */
static void run(SlCtx *ctx)
{
    NatsSource *n = sl_state(ctx);
    if (!n->group) {
        atomic_store(&n->parts->fetching, true);
        fetch_loop(n->parts);
        return;
    }
    while (!sl_stopping(ctx)) pause_ms(50);
    while (atomic_load(&n->fetchers) > 0) pause_ms(10);
}

/* Everything fetched is committed by now: the leases still held are given
** back, so that the other workers take the partitions over without
** redeliveries. */
static void destroy(void *state)
{
    NatsSource *n = state;
    if (!n) return;
    if (n->has_keeper) {
        atomic_store(&n->closing, true);
        pthread_join(n->keeper, NULL);
    }
    if (n->group) sl_leases_close(&n->leases);
    for (uint32_t p = 0; n->parts && p < (n->partitions ? n->partitions : 1); p++)
        natsSubscription_Destroy(n->parts[p].sub);
    sl_nats_close(n->nc, n->js);
    free(n->parts);
    free(n);
}

const SlComponentType sl_source_nats = {
    .name = "nats",
    .kind = SL_SOURCE,
    .doc = "Reads a NATS JetStream stream with durable consumers, alone or sharing its partitions with other workers; acknowledges once the records are written.",
    .settings = settings,
    .init = init,
    .start = start,
    .run = run,
    .destroy = destroy,
};
