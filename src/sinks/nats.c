/*
** nats.c: the `nats` sink. Publishes each record as one message to
** JetStream, on a subject made from the record (outmsg.h), and counts a
** batch as written only once the stream has acknowledged every message
** (its PubAck): the messages of a batch are published asynchronously, then
** awaited together.
**
** Messages that fail (no stream for the subject, the server away, no
** PubAck in `timeout_ms`) are published again after an exponential backoff,
** until acknowledged (or `retries` times, then rejected to NAME.errors with
** the last error).
** Each message carries a Nats-Msg-Id unique to this run, batch and record,
** so the stream drops the copy when a retried message had in fact arrived
** (within the stream's duplicate window).
**
** With `partition_by` and `partitions`, the subject gains a last token: the
** partition of the record's key (natsconn.h), so that workers sharing the
** stream can each own some partitions and with them every record of their
** keys (docs/scaling.md). The messages of a key keep their order within a
** partition, as long as none had to be retried.
*/
#include "../pipeline/retry.h"
#include "../sources/natsconn.h"
#include "outmsg.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { WHY_MAX = 256, ID_MAX = 96, MAX_PENDING = 4096 };

typedef struct NatsSink {
    const char *url;
    int64_t timeout_ms, retries;
    SlBackoff backoff;
    SlOutMsg out;
    const char *partition_by;       /* NULL: not partitioned */
    uint32_t partitions;
    SlBuf key;                      /* the text of the record's key */
    natsConnection *nc;
    jsCtx *js;
    uint64_t run_id, batch_seq;

    /* Filled by the library's thread as PubAcks come; guarded by `lock`. */
    pthread_mutex_t lock;
    bool *acked;                    /* per record of the batch */
    uint32_t nacked, cap;
    char last_error[WHY_MAX];
} NatsSink;

static const SlSetting settings[] = {
    SL_NATS_URL_SETTING,
    { .name = "subject", .type = SL_SET_STRING, .required = true,
      .doc = "Where to publish; {name} is replaced by the record's field `name`." },
    SL_OUTMSG_PAYLOAD_SETTING,
    { .name = "timeout_ms", .type = SL_SET_INT, .def = "5000", .min = 1, .max = 3600000,
      .doc = "How long to wait for the PubAcks of a batch before retrying." },
    SL_RETRIES_SETTING("publishing unacknowledged messages"),
    SL_BACKOFF_SETTINGS("100", "10000"),
    { .name = "partition_by", .type = SL_SET_STRING,
      .doc = "Publish on SUBJECT.<p>, p the partition of this field's value (FNV-1a 64 mod partitions); needs partitions." },
    { .name = "partitions", .type = SL_SET_INT, .min = 1, .max = SL_NATS_MAX_PARTITIONS,
      .doc = "How many partitions the subject is split into; needs partition_by." },
    { 0 },
};

/* Both settings or neither: a key without partitions, or partitions
** without a key, is surely a mistake. */
static bool init_partitions(SlCtx *ctx, NatsSink *n, const SlConf *conf)
{
    const SlConf *by = sl_conf_get(conf, "partition_by");
    const SlConf *count = sl_conf_get(conf, "partitions");
    if (!by != !count) {
        sl_conf_error(ctx, by ? by : count, "'partition_by' and 'partitions' go together");
        return false;
    }
    n->partition_by = by ? by->text : NULL;
    n->partitions = count ? (uint32_t)sl_conf_int(conf, "partitions", 1) : 0;
    return true;
}

static int init(SlCtx *ctx, const SlConf *conf)
{
    NatsSink *n = calloc(1, sizeof *n);
    if (!n) abort();
    sl_set_state(ctx, n);
    pthread_mutex_init(&n->lock, NULL);
    n->url = sl_conf_str(conf, "url", "nats://127.0.0.1:4222");
    n->timeout_ms = sl_conf_int(conf, "timeout_ms", 5000);
    n->retries = sl_conf_int(conf, "retries", SL_RETRIES_FOREVER);
    sl_backoff_init(&n->backoff, sl_conf_int(conf, "backoff_ms", 100),
                    sl_conf_int(conf, "max_backoff_ms", 10000));
    /* A filled-in part may not split or widen the subject. */
    bool ok = sl_outmsg_init(ctx, &n->out, sl_conf_get(conf, "subject"), ". *>\t\r\n",
                             sl_conf_str(conf, "payload_field", NULL));
    return ok && init_partitions(ctx, n, conf) ? 0 : -1;
}

/* ---- PubAcks ----------------------------------------------------------- */

/* The record index in a Nats-Msg-Id "RUN-BATCH-INDEX", if it is of the
** batch being sent. */
static bool record_of(const NatsSink *n, natsMsg *msg, uint32_t *index)
{
    const char *id = NULL;
    if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) != NATS_OK) return false;
    uint64_t run, batch, i;
    if (sscanf(id, "%" SCNx64 "-%" SCNu64 "-%" SCNu64, &run, &batch, &i) != 3) return false;
    if (run != n->run_id || batch != n->batch_seq || i >= n->cap) return false;
    *index = (uint32_t)i;
    return true;
}

/* Called by the library's thread for every message: acknowledged or not. */
static void on_pub_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *user)
{
    (void)js;
    NatsSink *n = user;
    pthread_mutex_lock(&n->lock);
    uint32_t i;
    if (record_of(n, msg, &i)) {
        if (pa && !n->acked[i]) {
            n->acked[i] = true;
            n->nacked++;
        } else if (pae) {
            snprintf(n->last_error, sizeof n->last_error, "%s",
                     pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
        }
    }
    pthread_mutex_unlock(&n->lock);
    natsMsg_Destroy(msg);
}

static int start(SlCtx *ctx)
{
    NatsSink *n = sl_state(ctx);
    n->run_id = (uint64_t)time(NULL) ^ ((uint64_t)(uintptr_t)n << 16);
    jsOptions o;
    jsOptions_Init(&o);
    o.PublishAsync.MaxPending = MAX_PENDING;
    o.PublishAsync.AckHandler = on_pub_ack;
    o.PublishAsync.AckHandlerClosure = n;
    return sl_nats_open(ctx, n->url, &o, &n->nc, &n->js) ? 0 : -1;
}

/* ---- Sending ----------------------------------------------------------- */

/* Appends ".<partition>" to the subject just built. The key's text is as
** in a subject template (a string as it is, anything else as JSON), so 7
** and "7" are one key. */
static bool add_partition(NatsSink *n, const SlRecord *r, char why[WHY_MAX])
{
    const SlValue *v = sl_get(r, n->partition_by);
    if (!v) {
        snprintf(why, WHY_MAX, "no field '%s' to partition by", n->partition_by);
        return false;
    }
    n->key.len = 0;
    if (v->type == SL_STRING) sl_buf_put(&n->key, v->as.s, v->len);
    else sl_json_value(&n->key, v);
    uint32_t p = sl_nats_partition(n->key.data, n->key.len, n->partitions);
    char token[16];
    int len = snprintf(token, sizeof token, ".%" PRIu32, p);
    n->out.to.len--;    /* over its NUL */
    sl_buf_put(&n->out.to, token, (size_t)len + 1);
    return true;
}

/* The subject and payload of a record; false with a reason. */
static bool build_message(NatsSink *n, const SlRecord *r, char why[WHY_MAX])
{
    return sl_outmsg_build(&n->out, r, why) && (!n->partition_by || add_partition(n, r, why));
}

static bool publish_one(NatsSink *n, uint32_t i, char why[WHY_MAX])
{
    char id[ID_MAX];
    snprintf(id, sizeof id, "%" PRIx64 "-%" PRIu64 "-%" PRIu32, n->run_id, n->batch_seq, i);
    natsMsg *msg = NULL;
    natsStatus s = natsMsg_Create(&msg, n->out.to.data, NULL, n->out.payload.data,
                                  (int)n->out.payload.len);
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Nats-Msg-Id", id);
    if (s == NATS_OK) s = js_PublishMsgAsync(n->js, &msg, NULL);
    natsMsg_Destroy(msg);   /* NULL once the library has taken it */
    if (s != NATS_OK) sl_nats_describe(s, why, WHY_MAX);
    return s == NATS_OK;
}

static bool is_acked(NatsSink *n, uint32_t i)
{
    pthread_mutex_lock(&n->lock);
    bool acked = n->acked[i];
    pthread_mutex_unlock(&n->lock);
    return acked;
}

/* Publishes every record not yet acknowledged and waits for the PubAcks;
** returns how many are still unacknowledged. Records that cannot become
** messages are rejected (and count as done). */
static uint32_t send_round(SlCtx *ctx, NatsSink *n, SlBatch *b, uint64_t *bytes)
{
    char why[WHY_MAX];
    for (uint32_t i = 0; i < b->count; i++) {
        if (is_acked(n, i)) continue;
        if (!build_message(n, &b->records[i], why)) {
            sl_reject(ctx, b, i, "%s", why);
            pthread_mutex_lock(&n->lock);
            n->acked[i] = true;
            n->nacked++;
            pthread_mutex_unlock(&n->lock);
            continue;
        }
        if (!publish_one(n, i, why)) {
            pthread_mutex_lock(&n->lock);
            snprintf(n->last_error, sizeof n->last_error, "%s", why);
            pthread_mutex_unlock(&n->lock);
            continue;
        }
        *bytes += n->out.payload.len;
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = n->timeout_ms;
    if (js_PublishAsyncComplete(n->js, &po) != NATS_OK) {
        /* Take back what is still unanswered: it is sent again. */
        natsMsgList late = { 0 };
        if (js_PublishAsyncGetPendingList(&late, n->js) == NATS_OK) natsMsgList_Destroy(&late);
        pthread_mutex_lock(&n->lock);
        snprintf(n->last_error, sizeof n->last_error, "no PubAck within %" PRId64 " ms",
                 n->timeout_ms);
        pthread_mutex_unlock(&n->lock);
    }
    pthread_mutex_lock(&n->lock);
    uint32_t left = b->count - n->nacked;
    pthread_mutex_unlock(&n->lock);
    return left;
}

static void reject_unacked(SlCtx *ctx, NatsSink *n, SlBatch *b, int64_t attempts)
{
    for (uint32_t i = 0; i < b->count; i++)
        if (!is_acked(n, i))
            sl_reject(ctx, b, i, "gave up after %" PRId64 " attempts: %s", attempts,
                      n->last_error);
}

/* Resets the PubAck table for a new batch. */
static void begin_batch(NatsSink *n, uint32_t count)
{
    pthread_mutex_lock(&n->lock);
    if (count > n->cap) {
        free(n->acked);
        n->acked = malloc(count * sizeof *n->acked);
        if (!n->acked) abort();
        n->cap = count;
    }
    memset(n->acked, 0, n->cap * sizeof *n->acked);
    n->nacked = 0;
    n->batch_seq++;
    n->last_error[0] = 0;
    pthread_mutex_unlock(&n->lock);
}

static void process(SlCtx *ctx, SlBatch *b)
{
    NatsSink *n = sl_state(ctx);
    begin_batch(n, b->count);
    uint64_t bytes = 0;
    for (int64_t attempt = 0;; attempt++) {
        uint32_t left = send_round(ctx, n, b, &bytes);
        if (!left) break;
        if (!sl_retry_left(n->retries, attempt)) {
            reject_unacked(ctx, n, b, attempt + 1);
            break;
        }
        char why[WHY_MAX + 48];
        pthread_mutex_lock(&n->lock);
        snprintf(why, sizeof why, "%" PRIu32 " messages unacknowledged (%s)", left, n->last_error);
        pthread_mutex_unlock(&n->lock);
        sl_retry_wait(ctx, &n->backoff, attempt, n->retries, why);
    }
    sl_count_bytes_out(ctx, bytes);
    sl_batch_free(b);
}

static void destroy(void *state)
{
    NatsSink *n = state;
    if (!n) return;
    sl_nats_close(n->nc, n->js);
    sl_outmsg_free(&n->out);
    sl_buf_free(&n->key);
    pthread_mutex_destroy(&n->lock);
    free(n->acked);
    free(n);
}

const SlComponentType sl_sink_nats = {
    .name = "nats",
    .kind = SL_SINK,
    .doc = "Publishes each record to NATS JetStream, a batch counting as written once every PubAck arrived.",
    .settings = settings,
    .flags = SL_BLOCKING,
    .init = init,
    .start = start,
    .process = process,
    .destroy = destroy,
};
