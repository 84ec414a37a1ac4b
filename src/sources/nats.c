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
** The consumer is created if it does not exist (explicit acks, from the
** start of the stream) and is never deleted: it remembers what was
** acknowledged across restarts. The connection reconnects by itself; a
** failed fetch is retried after a pause.
*/
#include "../pipeline/ack.h"
#include "inmsg.h"
#include "natsconn.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { FETCH_WAIT_MS = 500, RETRY_PAUSE_MS = 500, WHY_MAX = 256 };

typedef struct NatsSource {
    const char *url, *stream, *subject, *durable;
    int64_t batch, ack_wait_ms, max_ack_pending;
    SlInMsg in;
    natsConnection *nc;
    jsCtx *js;
    natsSubscription *sub;
    bool logged_fetch_error;        /* until a fetch works again */
} NatsSource;

/* The messages of one fetch, waiting for their records to be committed. */
typedef struct Pending {
    natsMsgList msgs;
} Pending;

static const SlSetting settings[] = {
    SL_NATS_URL_SETTING,
    { .name = "stream", .type = SL_SET_STRING, .required = true,
      .doc = "The JetStream stream to read." },
    { .name = "subject", .type = SL_SET_STRING, .required = true,
      .doc = "Which of the stream's subjects to read (wildcards * and > allowed)." },
    { .name = "durable", .type = SL_SET_STRING, .required = true,
      .doc = "The durable consumer's name: it remembers what was acknowledged across restarts." },
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

static int init(SlCtx *ctx, const SlConf *conf)
{
    NatsSource *n = calloc(1, sizeof *n);
    if (!n) abort();
    sl_set_state(ctx, n);
    n->url = sl_conf_str(conf, "url", "nats://127.0.0.1:4222");
    n->stream = sl_conf_str(conf, "stream", NULL);
    n->subject = sl_conf_str(conf, "subject", NULL);
    n->durable = sl_conf_str(conf, "durable", NULL);
    n->batch = sl_conf_int(conf, "batch", 256);
    n->ack_wait_ms = sl_conf_int(conf, "ack_wait_ms", 30000);
    n->max_ack_pending = sl_conf_int(conf, "max_ack_pending", 4096);
    n->in = (SlInMsg){ .ctx = ctx, .origin_meta = "subject",
                       .json = !strcmp(sl_conf_str(conf, "format", "raw"), "json"),
                       .origin_field = sl_conf_str(conf, "subject_field", NULL) };
    /* The server refuses these in names; say so before connecting. */
    if (strpbrk(n->durable, ".*> \t")) {
        sl_conf_error(ctx, sl_conf_get(conf, "durable"),
                      "a durable name may not hold '.', '*', '>' or spaces");
        return -1;
    }
    return 0;
}

/* ---- Start: the durable consumer --------------------------------------- */

static bool fail_js(SlCtx *ctx, const char *what, natsStatus s, jsErrCode jerr)
{
    char why[WHY_MAX];
    sl_nats_describe(s, why, sizeof why);
    sl_fail(ctx, "cannot %s: %s (JetStream error %d)", what, why, (int)jerr);
    return false;
}

/* Creating it here, rather than letting the subscription do it, means
** the library never deletes it when the subscription ends. */
static bool ensure_consumer(SlCtx *ctx, NatsSource *n)
{
    jsConsumerInfo *info = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&info, n->js, n->stream, n->durable, NULL, &jerr);
    jsConsumerInfo_Destroy(info);
    if (s == NATS_OK) return true;
    if (jerr == JSStreamNotFoundErr) {
        sl_fail(ctx, "stream '%s' does not exist on %s: create it first", n->stream, n->url);
        return false;
    }
    if (jerr != JSConsumerNotFoundErr) return fail_js(ctx, "look up the consumer", s, jerr);
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = n->durable;
    cc.FilterSubject = n->subject;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = n->ack_wait_ms * 1000000;
    cc.MaxAckPending = n->max_ack_pending;
    s = js_AddConsumer(&info, n->js, n->stream, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(info);
    return s == NATS_OK || fail_js(ctx, "create the durable consumer", s, jerr);
}

static int start(SlCtx *ctx)
{
    NatsSource *n = sl_state(ctx);
    if (!sl_nats_open(ctx, n->url, NULL, &n->nc, &n->js) || !ensure_consumer(ctx, n))
        return -1;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = n->stream;
    so.Consumer = n->durable;
    jsErrCode jerr = 0;
    natsStatus s = js_PullSubscribe(&n->sub, n->js, n->subject, n->durable, NULL, &so, &jerr);
    return s == NATS_OK || fail_js(ctx, "subscribe", s, jerr) ? 0 : -1;
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
    natsMsgList_Destroy(&p->msgs);
    free(p);
}

/* ---- Running ----------------------------------------------------------- */

static void emit_fetched(SlCtx *ctx, NatsSource *n, natsMsgList *msgs)
{
    SlBatch *b = sl_batch_new();
    uint64_t bytes = 0;
    for (int i = 0; i < msgs->Count; i++) {
        natsMsg *m = msgs->Msgs[i];
        const char *subject = natsMsg_GetSubject(m);
        int len = natsMsg_GetDataLength(m);
        bytes += (uint64_t)len;
        sl_inmsg_add(&n->in, b, natsMsg_GetData(m), (size_t)len, subject, strlen(subject));
    }
    sl_count_bytes_in(ctx, bytes);
    Pending *p = malloc(sizeof *p);
    if (!p) abort();
    p->msgs = *msgs;
    sl_batch_on_commit(b, on_commit, p);
    sl_emit(ctx, b);
}

static void pause_ms(int64_t ms)
{
    nanosleep(&(struct timespec){ ms / 1000, ms % 1000 * 1000000 }, NULL);
}

static void run(SlCtx *ctx)
{
    NatsSource *n = sl_state(ctx);
    while (!sl_stopping(ctx)) {
        natsMsgList msgs = { 0 };
        jsErrCode jerr = 0;
        natsStatus s = natsSubscription_Fetch(&msgs, n->sub, (int)n->batch, FETCH_WAIT_MS, &jerr);
        if (s == NATS_OK) {
            n->logged_fetch_error = false;
            emit_fetched(ctx, n, &msgs);
        } else if (s != NATS_TIMEOUT) {
            /* Usually the server is away; the connection comes back by itself. */
            if (!n->logged_fetch_error) {
                char why[WHY_MAX];
                sl_nats_describe(s, why, sizeof why);
                sl_log(ctx, "cannot fetch: %s; retrying", why);
            }
            n->logged_fetch_error = true;
            pause_ms(RETRY_PAUSE_MS);
        }
    }
}

static void destroy(void *state)
{
    NatsSource *n = state;
    if (!n) return;
    natsSubscription_Destroy(n->sub);
    sl_nats_close(n->nc, n->js);
    free(n);
}

const SlComponentType sl_source_nats = {
    .name = "nats",
    .kind = SL_SOURCE,
    .doc = "Reads a NATS JetStream stream with a durable consumer; acknowledges once the records are written.",
    .settings = settings,
    .init = init,
    .start = start,
    .run = run,
    .destroy = destroy,
};
