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
** Consumers are created if they do not exist (from the start of the
** stream) and are never deleted: they remember what was acknowledged
** across restarts. They are made with the AckAll policy: one +ACK of the
** highest message below which everything delivered is committed
** acknowledges them all (natsack.h keeps that floor, and never lets it
** pass a message not yet written), rather than one +ACK per message, which
** cost the server more than delivering the messages. A consumer made by an
** older sluice, with explicit acks, keeps them: each message is then
** acknowledged on its own, as before. The connection reconnects by itself; a
** failed fetch is retried after a pause. Messages fetched but not yet
** committed get an in-progress ack every ack_wait_ms / 2, so that slow
** sinks and long windows cause no redelivery.
**
** Messages are pulled by hand (a pull request to the consumer, the answers
** read from an inbox) rather than with natsSubscription_Fetch: libnats
** 3.4.1's fetch, when messages were already waiting (the late answer to an
** earlier fetch that gave up), asks for the rest of the batch and then
** stops at that rest rather than at the batch, writing past the list it
** allocated for `batch` messages. Here nothing is read past the batch;
** late answers wait in the inbox for the next fetch.
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
#include "natsack.h"
#include "natsconn.h"
#include "natslease.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A pull request expires on the server well before the fetch stops
** waiting for its answer, so that the answer is normally read whole. */
enum {
    FETCH_WAIT_MS = 500, EXPIRES_MS = FETCH_WAIT_MS / 2, RETRY_PAUSE_MS = 500,
    PROGRESS_TICK_MS = 50, WHY_MAX = 256, SUBJECT_MAX = 256, INBOX_MAX = 128,
    REPLY_MAX = INBOX_MAX + 24, CHECK_EVERY_MS = 500,
};

/* One consumer of the stream, and whether this worker may read it. */
typedef struct Partition {
    SlCtx *ctx;
    struct NatsSource *source;
    uint32_t index;
    char durable[SUBJECT_MAX], subject[SUBJECT_MAX];
    char next[2 * SUBJECT_MAX];     /* where pull requests go */
    char inbox[INBOX_MAX];          /* pull request K is answered on INBOX.K */
    natsSubscription *sub;          /* on INBOX.*, made at the first claim, kept */
    bool ack_all;                   /* the consumer's policy is AckAll */
    uint64_t requests;              /* fetch thread only: pull requests sent */
    int64_t next_check;             /* fetch thread only: ms, next look at the consumer */
    pthread_mutex_t mu;             /* guards `floor` */
    SlAckFloor floor;               /* with ack_all: what one +ACK may cover */
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
    natsConnection *lease_nc;       /* the bucket's own connection */
    jsCtx *lease_js;
    Partition *parts;               /* `partitions` of them, or 1 */
    SlLeases leases;
    SlCtx *ctx;
    pthread_t keeper, progress;
    bool has_keeper, has_progress;
    atomic_bool closing;            /* destroy: keeper and progress return */
    atomic_int fetchers;            /* fetch threads not yet returned */
    pthread_mutex_t mu;             /* guards `pending` */
    struct Pending *pending;        /* emitted, not yet committed */
} NatsSource;

/* The messages of one fetch, waiting for their records to be committed. */
typedef struct Pending {
    struct Pending *prev, *next;    /* in the source's `pending` */
    Partition *from;
    int64_t progressed;             /* ms: asked for, or last in-progress ack */
    bool committed;                 /* with ack_all: written, kept until acknowledged */
    uint64_t last;                  /* with ack_all: the highest stream sequence */
    int count;
    natsMsg *msgs[];                /* room for `batch` */
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
      .doc = "A new consumer's limit of messages delivered but not yet acknowledged (a message counts until every message before it is committed too)." },
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
    pthread_mutex_init(&part->mu, NULL);
    sl_ackfloor_init(&part->floor);
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
    pthread_mutex_init(&n->mu, NULL);
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

/* The policy of a consumer cannot change: one made with explicit acks (by
** an older sluice) is acknowledged message by message. */
static void note_policy(SlCtx *ctx, Partition *part, const jsConsumerInfo *info)
{
    part->ack_all = info->Config && info->Config->AckPolicy == js_AckAll;
    if (!part->ack_all && part->index == 0)
        sl_log(ctx, "consumer %s acknowledges each message (not AckAll): slower; delete the "
               "consumers while no worker runs to have them made anew", part->durable);
}

/* Creating it here, rather than letting the subscription do it, means
** the library never deletes it when the subscription ends. */
static bool ensure_consumer(SlCtx *ctx, NatsSource *n, Partition *part)
{
    jsConsumerInfo *info = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&info, n->js, n->stream, part->durable, NULL, &jerr);
    if (s == NATS_OK) note_policy(ctx, part, info);
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
    cc.AckPolicy = js_AckAll;
    cc.AckWait = n->ack_wait_ms * 1000000;
    cc.MaxAckPending = n->max_ack_pending;
    /* Two workers may create it at once: the same settings are no error. */
    s = js_AddConsumer(&info, n->js, n->stream, &cc, NULL, &jerr);
    if (s == NATS_OK) note_policy(ctx, part, info);
    jsConsumerInfo_Destroy(info);
    return s == NATS_OK || fail_js(ctx, "create the durable consumer", s, jerr);
}

/* The answers to our pull requests come to a private inbox. The library's
** own limit on what an inbox holds would drop messages (then redelivered
** only after ack_wait_ms): the pull requests bound it instead. */
static bool subscribe(SlCtx *ctx, NatsSource *n, Partition *part)
{
    if (part->sub) return true;
    if (!ensure_consumer(ctx, n, part)) return false;
    snprintf(part->next, sizeof part->next, "$JS.API.CONSUMER.MSG.NEXT.%s.%s", n->stream,
             part->durable);
    natsInbox *inbox = NULL;
    natsStatus s = natsInbox_Create(&inbox);
    if (s == NATS_OK) {
        char filter[INBOX_MAX + 2];
        snprintf(part->inbox, sizeof part->inbox, "%s", inbox);
        snprintf(filter, sizeof filter, "%s.*", part->inbox);
        s = natsConnection_SubscribeSync(&part->sub, n->nc, filter);
    }
    natsInbox_Destroy(inbox);
    if (s == NATS_OK) s = natsSubscription_SetPendingLimits(part->sub, -1, -1);
    return s == NATS_OK || fail_js(ctx, "subscribe", s, 0);
}

static void pause_ms(int64_t ms)
{
    nanosleep(&(struct timespec){ ms / 1000, ms % 1000 * 1000000 }, NULL);
}

/* ---- Acknowledging ----------------------------------------------------- */

/* The messages came to a plain inbox, not through the library's JetStream
** subscription, so they are acknowledged by answering their reply subject
** with the JetStream verb: +ACK, -NAK (deliver again now), +WPI (in
** progress: restart the ack_wait_ms clock). An answer lost on the way only
** means the message comes again. */
static void answer(natsConnection *nc, natsMsg *const *msgs, int count, const char *verb)
{
    for (int i = 0; i < count; i++)
        natsConnection_PublishString(nc, natsMsg_GetReply(msgs[i]), verb);
}

static void free_pending(Pending *p)
{
    for (int i = 0; i < p->count; i++) natsMsg_Destroy(p->msgs[i]);
    free(p);
}

static void list_pending(NatsSource *n, Pending *p)
{
    pthread_mutex_lock(&n->mu);
    p->next = n->pending;
    if (p->next) p->next->prev = p;
    n->pending = p;
    pthread_mutex_unlock(&n->mu);
}

/* Caller holds n->mu. */
static void unlink_pending(NatsSource *n, Pending *p)
{
    if (p->prev) p->prev->next = p->next;
    else n->pending = p->next;
    if (p->next) p->next->prev = p->prev;
}

static void unlist_pending(NatsSource *n, Pending *p)
{
    pthread_mutex_lock(&n->mu);
    unlink_pending(n, p);
    pthread_mutex_unlock(&n->mu);
}

/* The stream sequence of a message delivered by JetStream (0: none). */
static uint64_t stream_sequence(natsMsg *m)
{
    uint64_t sseq = 0, dseq = 0;
    return sl_nats_ack_sequences(natsMsg_GetReply(m), &sseq, &dseq) ? sseq : 0;
}

/* With ack_all: one +ACK up to the floor, then the committed batches wholly
** below it are done with. Until then they stay listed, so that they get
** in-progress acks like the batches not yet written. Caller holds part->mu. */
static void acknowledge_floor(Partition *part)
{
    NatsSource *n = part->source;
    uint64_t floor = 0;
    natsMsg *m = sl_ackfloor_advance(&part->floor, &floor);
    if (m) answer(n->nc, &m, 1, "+ACK");
    floor = part->floor.held.floor;
    pthread_mutex_lock(&n->mu);
    for (Pending *p = n->pending, *next; p; p = next) {
        next = p->next;
        if (p->from != part || !p->committed || p->last > floor) continue;
        unlink_pending(n, p);
        free_pending(p);
    }
    pthread_mutex_unlock(&n->mu);
}

/* AckAll: the batch's messages join the committed ones; abandoned, they
** will come again and hold the floor until then. A message at or below the
** floor came again: the server did not take our +ACK (it ignores one whose
** delivery is older than the last it took), so it is acknowledged on its
** own, which is safe: everything up to the floor was written. */
static void commit_all(Pending *p, bool committed)
{
    Partition *part = p->from;
    natsMsg *again = NULL;
    pthread_mutex_lock(&part->mu);
    for (int i = 0; i < p->count; i++) {
        uint64_t sseq = stream_sequence(p->msgs[i]);
        if (sseq == 0) continue;
        if (sseq <= part->floor.held.floor) again = p->msgs[i];
        else if (committed) sl_ackfloor_committed(&part->floor, sseq, p->msgs[i]);
        else sl_ackfloor_abandoned(&part->floor, sseq, p->msgs[i]);
    }
    if (again && committed) answer(part->source->nc, &again, 1, "+ACK");
    p->committed = committed;
    if (committed) acknowledge_floor(part);
    pthread_mutex_unlock(&part->mu);
}

/* Runs once every sink has written the batch (or given up on it). */
static void on_commit(void *user, bool committed)
{
    Pending *p = user;
    Partition *part = p->from;
    NatsSource *n = part->source;
    if (part->ack_all && committed) {
        commit_all(p, true);    /* freed once acknowledged */
    } else {
        if (part->ack_all) commit_all(p, false);
        unlist_pending(n, p);
        answer(n->nc, p->msgs, p->count, committed ? "+ACK" : "-NAK");
        free_pending(p);
    }
    atomic_fetch_sub(&part->inflight, 1);
}

/* Records held in a worker longer than ack_wait_ms (a slow sink, an open
** window) would be delivered again, though not lost: each batch still
** uncommitted says "in progress" every ack_wait_ms / 2. Not once the lease
** of its partition is no longer confirmed: then its messages must go to
** whoever reads the partition now. */
static void progress_round(NatsSource *n)
{
    int64_t now = sl_now_ms();
    pthread_mutex_lock(&n->mu);
    for (Pending *p = n->pending; p; p = p->next) {
        if (now - p->progressed < n->ack_wait_ms / 2) continue;
        if (now >= atomic_load(&p->from->lease_until)) continue;
        answer(n->nc, p->msgs, p->count, "+WPI");
        p->progressed = now;
    }
    pthread_mutex_unlock(&n->mu);
}

static void *progress_thread(void *arg)
{
    NatsSource *n = arg;
    int64_t tick = n->ack_wait_ms / 4 < PROGRESS_TICK_MS ? n->ack_wait_ms / 4 : PROGRESS_TICK_MS;
    while (!atomic_load(&n->closing)) {
        progress_round(n);
        pause_ms(tick);
    }
    return NULL;
}

/* Messages that came to the inbox but were never fetched from it (late
** answers) are handed back at once rather than after ack_wait_ms. Only
** while no fetch thread reads the inbox. */
static void give_back(NatsSource *n, Partition *part)
{
    natsMsg *m = NULL;
    while (part->sub && natsSubscription_NextMsg(&m, part->sub, 0) == NATS_OK) {
        if (natsMsg_GetReply(m)) answer(n->nc, &m, 1, "-NAK");
        natsMsg_Destroy(m);
    }
}

/* ---- Fetching ---------------------------------------------------------- */

/* With ack_all: the floor learns of each delivery before its batch can
** commit. A reply subject that is not JetStream's cannot be placed. */
static void track_deliveries(Partition *part, Pending *p)
{
    pthread_mutex_lock(&part->mu);
    for (int i = 0; i < p->count; i++) {
        uint64_t sseq = 0, dseq = 0;
        if (!sl_nats_ack_sequences(natsMsg_GetReply(p->msgs[i]), &sseq, &dseq)) {
            sl_ackfloor_suspect(&part->floor);
            continue;
        }
        sl_ackfloor_delivered(&part->floor, sseq, dseq, p->msgs[i]);
        if (sseq > p->last) p->last = sseq;
    }
    pthread_mutex_unlock(&part->mu);
}

/* While the floor may miss pending messages (at the start, after a claim,
** a gap in the deliveries), nothing is acknowledged: a look at the
** consumer says when it no longer does, and what is committed by then is
** acknowledged at once. Any thread. */
static void look_at_consumer(Partition *part)
{
    NatsSource *n = part->source;
    if (!part->ack_all) return;
    pthread_mutex_lock(&part->mu);
    bool complete = part->floor.complete;
    pthread_mutex_unlock(&part->mu);
    if (complete) return;
    jsConsumerInfo *info = NULL;
    if (js_GetConsumerInfo(&info, n->js, n->stream, part->durable, NULL, NULL) == NATS_OK) {
        pthread_mutex_lock(&part->mu);
        if (sl_ackfloor_check(&part->floor, info->Delivered.Consumer, info->AckFloor.Stream,
                              (uint64_t)info->NumAckPending))
            acknowledge_floor(part);
        pthread_mutex_unlock(&part->mu);
    }
    jsConsumerInfo_Destroy(info);
}

/* The fetch thread looks every CHECK_EVERY_MS while the floor is not
** complete. */
static void check_floor(Partition *part)
{
    if (sl_now_ms() < part->next_check) return;
    part->next_check = sl_now_ms() + CHECK_EVERY_MS;
    look_at_consumer(part);
}

static void emit_fetched(Partition *part, Pending *p)
{
    SlCtx *ctx = part->ctx;
    SlBatch *b = sl_batch_new();
    uint64_t bytes = 0;
    for (int i = 0; i < p->count; i++) {
        const char *subject = natsMsg_GetSubject(p->msgs[i]);
        int len = natsMsg_GetDataLength(p->msgs[i]);
        bytes += (uint64_t)len;
        sl_inmsg_add(&part->source->in, b, natsMsg_GetData(p->msgs[i]), (size_t)len, subject,
                     strlen(subject));
    }
    sl_count_bytes_in(ctx, bytes);
    if (part->ack_all) track_deliveries(part, p);
    list_pending(part->source, p);
    atomic_fetch_add(&part->inflight, 1);
    sl_batch_on_commit(b, on_commit, p);
    sl_emit(ctx, b);
}

static void fetch_failed(Partition *part, const char *why)
{
    /* Usually the server is away; the connection comes back by itself. */
    if (!part->logged_fetch_error)
        sl_log(part->ctx, "cannot fetch from %s: %s; retrying", part->durable, why);
    part->logged_fetch_error = true;
}

static bool status_failed(Partition *part, natsStatus s)
{
    char why[WHY_MAX];
    sl_nats_describe(s, why, sizeof why);
    fetch_failed(part, why);
    return false;
}

/* How one wait for messages ended. */
typedef enum { GOT_ALL, NO_MESSAGES, ENDED, WAITED, FAILED } Answer;

/* The server's status ending pull request `reply` (404: nothing to
** deliver; 408: expired; others, e.g. 409, refuse the request). */
static Answer request_ended(Partition *part, natsMsg *m)
{
    const char *code = NULL, *why = NULL;
    natsMsgHeader_Get(m, "Status", &code);
    if (code && !strcmp(code, "404")) return NO_MESSAGES;
    if (code && !strcmp(code, "408")) return ENDED;
    natsMsgHeader_Get(m, "Description", &why);
    char text[WHY_MAX];
    snprintf(text, sizeof text, "status %s %s", code ? code : "?", why ? why : "");
    fetch_failed(part, text);
    return FAILED;
}

/* Takes what comes to the inbox into `p`, up to `want`, until the answer
** to `reply` ends (NULL: none awaited) or `deadline`. Messages answering
** an earlier request are as good as any; its statuses are stale. Status
** messages carry no reply subject, JetStream's messages always do. */
static Answer collect(Partition *part, Pending *p, int want, const char *reply, int64_t deadline)
{
    while (p->count < want) {
        int64_t left = deadline - sl_now_ms();
        natsMsg *m = NULL;
        natsStatus s = natsSubscription_NextMsg(&m, part->sub, left > 0 ? left : 0);
        if (s == NATS_TIMEOUT) return WAITED;
        if (s != NATS_OK) {
            status_failed(part, s);
            return FAILED;
        }
        if (natsMsg_GetReply(m)) {
            p->msgs[p->count++] = m;
            continue;
        }
        bool ours = reply && !strcmp(natsMsg_GetSubject(m), reply);
        Answer a = ours ? request_ended(part, m) : WAITED;
        natsMsg_Destroy(m);
        if (ours) return a;
    }
    return GOT_ALL;
}

/* Asks for `want` messages, answered on a new INBOX.K. Every request
** expires: a no_wait request that the server cannot answer at once (the
** consumer is at max_ack_pending) would otherwise wait there for ever,
** and such requests pile up until the server refuses more. */
static bool pull(Partition *part, int want, bool no_wait, char reply[REPLY_MAX])
{
    char body[96];
    snprintf(reply, REPLY_MAX, "%s.%" PRIu64, part->inbox, ++part->requests);
    int len = snprintf(body, sizeof body, "{\"batch\":%d,\"expires\":%" PRId64 "%s}", want,
                       (int64_t)EXPIRES_MS * 1000000, no_wait ? ",\"no_wait\":true" : "");
    natsStatus s = natsConnection_PublishRequest(part->source->nc, part->next, reply, body, len);
    return s == NATS_OK || status_failed(part, s);
}

/* One batch, within FETCH_WAIT_MS: what already waits in the inbox, then
** what the server has now (no_wait), and only if that is nothing, what
** arrives within EXPIRES_MS. The server's ack_wait_ms clock of a message
** starts when it is sent: no later than the pull request, or for one that
** already waited, at an unknown time, hence an in-progress ack at once. */
static void fetch_once(Partition *part)
{
    int want = (int)part->source->batch;
    int64_t start = sl_now_ms(), deadline = start + FETCH_WAIT_MS;
    Pending *p = calloc(1, sizeof *p + (size_t)want * sizeof *p->msgs);
    if (!p) abort();
    p->from = part;
    char reply[REPLY_MAX];
    Answer a = collect(part, p, want, NULL, 0);
    p->progressed = p->count ? start - part->source->ack_wait_ms : start;
    if (a == WAITED)
        a = pull(part, want - p->count, true, reply) ? collect(part, p, want, reply, deadline)
                                                     : FAILED;
    if (a == NO_MESSAGES && p->count == 0)
        a = pull(part, want, false, reply) ? collect(part, p, want, reply, deadline) : FAILED;
    if (a != FAILED) part->logged_fetch_error = false;
    if (p->count) emit_fetched(part, p);
    else free(p);
    if (a == FAILED) pause_ms(RETRY_PAUSE_MS);
}

/* Fetches while told to, and only while the lease is surely still ours
** when the fetch ends: a worker whose renewals stopped working stops
** reading before anyone else can take the partition over. */
static void fetch_loop(Partition *part)
{
    while (atomic_load(&part->fetching) && !sl_stopping(part->ctx)) {
        check_floor(part);
        if (sl_now_ms() + FETCH_WAIT_MS < atomic_load(&part->lease_until)) fetch_once(part);
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
    /* Others may have read the partition since we last did. */
    pthread_mutex_lock(&part->mu);
    sl_ackfloor_suspect(&part->floor);
    pthread_mutex_unlock(&part->mu);
    part->next_check = 0;
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

/* Every lease held is renewed; a lease that cannot be is lost at once.
** The entries were written after `round`, so they last until at least
** lease_ms after it. */
static void renew(NatsSource *n, int64_t round)
{
    sl_leases_renew(&n->leases, n->lease_ms / 3);
    for (uint32_t p = 0; p < n->partitions; p++) {
        Partition *part = &n->parts[p];
        if (sl_leases_held(&n->leases, p)) {
            atomic_store(&part->lease_until, round + n->lease_ms);
            continue;
        }
        if (!n->leases.lost[p]) continue;
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
        atomic_store(&part->lease_until, 0);
        /* Whatever the floor still holds back would come again to the next
        ** owner: a last look may let it be acknowledged. */
        if (drained) look_at_consumer(part);
        sl_leases_release(&n->leases, p);
        if (drained) give_back(n, part);
        part->releasing = false;
        sl_log(n->ctx, "partition %" PRIu32 ": released%s", p,
               drained ? "" : " before its batches were committed");
    }
}

/* Below the fair share: claim free partitions, starting at a place that
** depends on our rank so that workers joining together rarely collide.
** Each claim may create a consumer, slow on a busy server: what does not
** fit in a third of lease_ms waits for the next round, or the leases
** already held would expire before their renewal. */
static bool claim(NatsSource *n, uint32_t share, int64_t round)
{
    SlLeases *l = &n->leases;
    uint32_t held = held_not_releasing(n);
    uint32_t first = (uint32_t)((uint64_t)l->rank * n->partitions / l->members);
    for (uint32_t i = 0; i < n->partitions && held < share; i++) {
        if (sl_now_ms() - round > n->lease_ms / 3) break;
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

/* A new worker may claim nothing during its first lease_ms: meanwhile it
** makes the consumers and inboxes of all partitions, so that a claim is
** then one write to the bucket. Made at the claim, on a loaded server,
** they took seconds, during which the leases already held went unrenewed
** and the partitions not yet claimed unread. What does not fit in a third
** of lease_ms waits for the next round. */
static bool prepare(NatsSource *n, int64_t round)
{
    for (uint32_t p = 0; p < n->partitions && sl_now_ms() - round <= n->lease_ms / 3; p++)
        if (!subscribe(n->ctx, n, &n->parts[p])) return false;
    return true;
}

/* One round of the lease protocol; false after sl_fail. A stopping worker
** claims nothing and gives back each partition once it is drained. */
static bool lease_round(NatsSource *n, bool settled)
{
    int64_t round = sl_now_ms();
    reap(n, false);
    /* Renewals first: a slow round (a look, claims) must not delay them. */
    renew(n, round);
    if (!sl_leases_heartbeat(&n->leases)) return true;  /* our membership runs out by itself */
    if (sl_stopping(n->ctx)) {
        begin_releases(n, 0, INT64_MAX);
    } else if (sl_leases_look(&n->leases)) {
        uint32_t share = sl_leases_share(&n->leases);
        /* After ack_wait_ms what was fetched is redelivered anyway. */
        begin_releases(n, share, round + n->ack_wait_ms);
        if (settled ? !claim(n, share, round) : !prepare(n, round)) return false;
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
    int64_t joined = sl_now_ms();
    while (!atomic_load(&n->closing)) {
        int64_t round = sl_now_ms();
        if (!lease_round(n, round - joined >= n->lease_ms)) break;
        while (!atomic_load(&n->closing) && sl_now_ms() < round + n->lease_ms / 3) pause_ms(50);
    }
    for (uint32_t p = 0; p < n->partitions; p++) stop_fetching(&n->parts[p]);
    reap(n, true);
    return NULL;
}

static void start_progress(NatsSource *n)
{
    if (pthread_create(&n->progress, NULL, progress_thread, n)) abort();
    n->has_progress = true;
}

static int start(SlCtx *ctx)
{
    NatsSource *n = sl_state(ctx);
    if (!n->group) {
        if (!sl_nats_open(ctx, n->url, NULL, &n->nc, &n->js) || !subscribe(ctx, n, n->parts))
            return -1;
        start_progress(n);
        return 0;
    }
    /* Bucket operations (and the consumers made in the keeper's rounds)
    ** must answer well within a lease. The bucket has a connection of its
    ** own: on the one that carries the messages, the answers queued behind
    ** whole batches on a busy worker, renewals timed out and leases were
    ** lost. */
    jsOptions o;
    jsOptions_Init(&o);
    o.Wait = n->lease_ms / 3;
    if (!sl_nats_open(ctx, n->url, &o, &n->nc, &n->js) ||
        !sl_nats_open(ctx, n->url, &o, &n->lease_nc, &n->lease_js) ||
        !sl_leases_open(&n->leases, ctx, n->lease_nc, n->lease_js, n->group, n->partitions,
                        n->lease_ms))
        return -1;
    if (pthread_create(&n->keeper, NULL, keeper_thread, n)) abort();
    n->has_keeper = true;
    start_progress(n);
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
    atomic_store(&n->closing, true);
    if (n->has_keeper) pthread_join(n->keeper, NULL);
    if (n->has_progress) pthread_join(n->progress, NULL);
    /* Everything is committed: a last look at each consumer whose floor is
    ** not complete acknowledges what it held back, before the leases go. */
    for (uint32_t p = 0; n->parts && n->nc && p < (n->partitions ? n->partitions : 1); p++)
        if (!n->group || (n->leases.revision && sl_leases_held(&n->leases, p)))
            look_at_consumer(&n->parts[p]);
    if (n->group) sl_leases_close(&n->leases);
    sl_nats_close(n->lease_nc, n->lease_js);
    for (uint32_t p = 0; n->parts && p < (n->partitions ? n->partitions : 1); p++) {
        give_back(n, &n->parts[p]);
        natsSubscription_Destroy(n->parts[p].sub);
    }
    /* Written but never acknowledged (the floor was not complete): they
    ** come again after ack_wait_ms. */
    while (n->pending) {
        Pending *p = n->pending;
        n->pending = p->next;
        free_pending(p);
    }
    sl_nats_close(n->nc, n->js);
    for (uint32_t p = 0; n->parts && p < (n->partitions ? n->partitions : 1); p++) {
        sl_ackfloor_free(&n->parts[p].floor);
        pthread_mutex_destroy(&n->parts[p].mu);
    }
    pthread_mutex_destroy(&n->mu);
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
