/*
** mqtt.c: the `mqtt` source. Subscribes to topics on an MQTT 3.1.1 broker
** and turns every message into a record (inmsg.h: raw or JSON payload; the
** topic in the metadata `topic` or a field).
**
** Delivery. A QoS 1 message is acknowledged (PUBACK) only once every sink
** has written its record (ack.h), so with a persistent session
** (clean_session: false, a stable client_id) a crash of sluice loses
** nothing: the broker delivers again what was not acknowledged.
**
** Why a client of our own (mqttwire.h, mqttsock.h) rather than a library:
** the packaged ones acknowledge on receipt. libmosquitto 2.0.11 (Debian 12)
** sends the PUBACK from its network loop before the message callback runs
** and has no manual acknowledgement (that came with mosquitto 2.1); Paho C
** 1.3.12 also acknowledges on receipt. The mqtt sink keeps libmosquitto.
**
** Two threads. The run thread owns the connection (mqttlink.c): it reads
** PUBLISHes into batches, sends PUBACKs in the order the PUBLISHes came (MQTT 3.1.1
** section 4.6; mqttacks.h keeps that order while batches commit in any
** order) and pings. The emitter thread takes batches from a small queue
** and calls sl_emit, which blocks while the pipeline is full. So a long
** sink outage stops the reading (the queue is full), not the pings and
** PUBACKs that keep the session alive. A batch goes to the queue when full
** or as soon as nothing more is readable and the emitter is idle: the
** broker allows only so many unacknowledged messages in flight (mosquitto:
** max_inflight_messages, 20), so waiting to fill batches would only slow
** the flow.
**
** A batch abandoned (not written) is not acknowledged, nor anything after
** it: the source reconnects, and the broker delivers those messages again.
** Losing the broker is not an error either: the source reconnects with a
** backoff from RECONNECT_MIN_MS doubling to RECONNECT_MAX_MS, and
** subscribes again. A stop emits what was received, acknowledges what the
** sinks write within DRAIN_MS, then disconnects. Records still held when
** run returns (a window flushes them at the end, a sink still waits for
** its server) commit later: a linger thread, which emits nothing, keeps
** the connection (PUBACKs, pings) until they have or destroy comes.
*/
#include "../pipeline/ack.h"
#include "mqttsrc.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

/* The messages of one emitted batch, for its commit callback. */
typedef struct Pending {
    MqttSource *s;
    SlMqttAckRange range;
} Pending;

static const SlSetting topic_setting = { .type = SL_SET_STRING, .doc = "A topic filter." };

static const SlSetting settings[] = {
    SL_MQTT_SETTINGS,
    { .name = "topics", .type = SL_SET_LIST, .item = &topic_setting, .required = true,
      .doc = "The topic filters to subscribe to; + and # are wildcards." },
    SL_INMSG_FORMAT_SETTING,
    { .name = "topic_field", .type = SL_SET_STRING,
      .doc = "Put the topic in this field rather than in the metadata 'topic'." },
    { .name = "max_packet_bytes", .type = SL_SET_INT, .def = "16777216", .min = 1024,
      .max = SL_MQTTW_REMAINING_MAX,
      .doc = "The largest packet (a message with its topic) accepted; a larger one breaks the connection." },
    { 0 },
};

/* ---- Init and start ---------------------------------------------------- */

static bool read_topics(SlCtx *ctx, MqttSource *s, const SlConf *list)
{
    if (!list->count || list->count > TOPICS_MAX) {
        sl_conf_error(ctx, list, "give 1 to %d topics", TOPICS_MAX);
        return false;
    }
    for (size_t i = 0; i < list->count; i++) {
        const SlConf *t = list->items[i];
        if (!sl_mqttw_filter_ok(t->text)) {
            sl_conf_error(ctx, t, "'%s' is not a valid topic filter (+ and # must fill a level; # comes last)",
                          t->text);
            return false;
        }
        s->topics[s->ntopics++] = t->text;
    }
    return true;
}

static int init(SlCtx *ctx, const SlConf *conf)
{
    MqttSource *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->sock.fd = -1;
    s->stop_wake = s->notify = SL_WAKE_CLOSED;
    sl_mqtt_acks_init(&s->acks);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    sl_set_state(ctx, s);
    s->ctx = ctx;
    s->in = (SlInMsg){ .ctx = ctx, .origin_meta = "topic",
                       .json = !strcmp(sl_conf_str(conf, "format", "raw"), "json"),
                       .origin_field = sl_conf_str(conf, "topic_field", NULL) };
    sl_mqttw_decoder_init(&s->dec, (size_t)sl_conf_int(conf, "max_packet_bytes", 16777216));
    bool ok = sl_mqtt_conf(ctx, conf, &s->conf);
    ok = read_topics(ctx, s, sl_conf_get(conf, "topics")) && ok;
    return ok ? 0 : -1;
}

static int start(SlCtx *ctx)
{
    MqttSource *s = sl_state(ctx);
    char why[SL_MQTT_SOCK_WHY_MAX];
    if (!sl_mqtt_sock_init(&s->sock, s->conf.tls_ca_file, why)) {
        sl_fail(ctx, "%s", why);
        return -1;
    }
    if (!sl_wake_open(&s->stop_wake) || !sl_wake_open(&s->notify)) {
        sl_fail(ctx, "cannot start: %s", strerror(errno));
        return -1;
    }
    sl_net_nonblocking(sl_wake_fd(&s->notify));    /* drained after each poll */
    sl_backoff_init(&s->backoff, RECONNECT_MIN_MS, RECONNECT_MAX_MS);
    return 0;
}

/* ---- Batches: filled here, emitted by the emitter thread --------------- */

/* On whichever thread finishes the batch last: quick, no sl_emit. */
static void on_commit(void *user, bool committed)
{
    Pending *p = user;
    sl_mqtt_acks_done(&p->s->acks, &p->range, committed);
    sl_wake_signal(&p->s->notify);
    free(p);
}

bool sl_mqtt_queue_room(MqttSource *s)
{
    pthread_mutex_lock(&s->mu);
    bool room = s->qcount < QUEUE_MAX;
    pthread_mutex_unlock(&s->mu);
    return room;
}

static void push_batch(MqttSource *s)
{
    if (s->range.end > s->range.first) {
        Pending *p = malloc(sizeof *p);
        if (!p) abort();
        *p = (Pending){ .s = s, .range = s->range };
        sl_batch_on_commit(s->batch, on_commit, p);
    }
    pthread_mutex_lock(&s->mu);
    s->queue[(s->qhead + s->qcount++) % (QUEUE_MAX + 1)] = s->batch;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
    s->batch = NULL;
}

/* Queues the batch being filled if it is full, or of an older connection
** (a batch's messages share one), or if nothing more is readable (`idle`)
** and the emitter waits for work: while it is busy the batch grows, so a
** slow pipeline gets fewer, fuller batches. */
void sl_mqtt_batch_offer(MqttSource *s, bool idle)
{
    if (!s->batch) return;
    pthread_mutex_lock(&s->mu);
    int queued = s->qcount;
    pthread_mutex_unlock(&s->mu);
    bool due = s->batch_msgs >= SL_BATCH_RECORDS || s->range.generation != s->generation ||
               (idle && !queued);
    if (due && queued < QUEUE_MAX) push_batch(s);
}

void sl_mqtt_batch_add(MqttSource *s, const SlMqttwPacket *p)
{
    if (!s->batch) {
        s->batch = sl_batch_new();
        s->batch_msgs = 0;
        s->range = (SlMqttAckRange){ .generation = s->generation };
    }
    /* A rejected payload is handled too: it still commits with the batch. */
    sl_inmsg_add(&s->in, s->batch, (const char *)p->payload, p->payload_len, p->topic,
                 p->topic_len);
    s->batch_msgs++;
    if (p->qos != 1) return;
    uint64_t n = sl_mqtt_acks_add(&s->acks, p->packet_id);
    if (s->range.end == s->range.first) s->range.first = n;
    s->range.end = n + 1;
}

/* The emitter's next batch; NULL once the run thread is done and the
** queue empty. */
static SlBatch *pop_batch(MqttSource *s)
{
    pthread_mutex_lock(&s->mu);
    while (!s->qcount && !s->net_done) pthread_cond_wait(&s->cond, &s->mu);
    SlBatch *b = NULL;
    if (s->qcount) {
        b = s->queue[s->qhead];
        s->qhead = (s->qhead + 1) % (QUEUE_MAX + 1);
        s->qcount--;
    }
    pthread_mutex_unlock(&s->mu);
    return b;
}

static void *emitter_main(void *arg)
{
    MqttSource *s = arg;
    for (SlBatch *b; (b = pop_batch(s));) {
        sl_wake_signal(&s->notify);     /* room again: reading may resume */
        sl_count_bytes_in(s->ctx, b->bytes);
        sl_emit(s->ctx, b);
    }
    return NULL;
}

static void network_done(MqttSource *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->batch) {                     /* the spare slot */
        s->queue[(s->qhead + s->qcount++) % (QUEUE_MAX + 1)] = s->batch;
        s->batch = NULL;
    }
    s->net_done = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

/* Waits before the next connection; a stop cuts it short. */
static void back_off(MqttSource *s)
{
    sl_mqtt_link_close(s);
    int64_t ms = sl_backoff_delay(&s->backoff, s->attempt++);
    struct pollfd p = { .fd = sl_wake_fd(&s->stop_wake), .events = POLLIN };
    if (!sl_mqtt_stopping(s)) poll(&p, 1, (int)ms);
}

/* After a stop: queue what was received, acknowledge what gets written,
** for DRAIN_MS at most. */
static void drain(MqttSource *s)
{
    int64_t until = sl_now_ms() + DRAIN_MS;
    while (sl_now_ms() < until) {
        if (s->batch) sl_mqtt_batch_offer(s, true);
        pthread_mutex_lock(&s->mu);
        bool queued = s->qcount > 0;
        pthread_mutex_unlock(&s->mu);
        bool waiting = s->link == UP && sl_mqtt_acks_pending(&s->acks);
        if (!s->batch && !queued && !waiting) return;
        if (s->link == DOWN) sl_mqtt_link_wait(s, true, false);
        else if (!sl_mqtt_link_step(s, true)) sl_mqtt_link_close(s);
    }
}

static void *linger_main(void *arg)
{
    MqttSource *s = arg;
    while (!atomic_load(&s->closing) && s->link != DOWN && sl_mqtt_acks_pending(&s->acks))
        if (!sl_mqtt_link_step(s, true)) sl_mqtt_link_close(s);
    if (s->link != DOWN) sl_mqtt_link_hang_up(s);
    return NULL;
}

static void run(SlCtx *ctx)
{
    MqttSource *s = sl_state(ctx);
    pthread_t emitter;
    if (pthread_create(&emitter, NULL, emitter_main, s)) {
        sl_fail(ctx, "cannot start a thread");
        return;
    }
    while (!sl_mqtt_stopping(s)) {
        if (s->link == DOWN && !sl_mqtt_link_open(s)) back_off(s);
        else if (s->link != DOWN && !sl_mqtt_link_step(s, false)) back_off(s);
    }
    drain(s);
    network_done(s);
    pthread_join(emitter, NULL);
    if (s->link == DOWN) return;
    if (!sl_mqtt_acks_pending(&s->acks) || pthread_create(&s->linger, NULL, linger_main, s))
        sl_mqtt_link_hang_up(s);
    else
        s->has_linger = true;
}

static void stop(SlCtx *ctx)
{
    MqttSource *s = sl_state(ctx);
    atomic_store(&s->stop, true);
    sl_wake_signal(&s->stop_wake);
}

static void destroy(void *state)
{
    MqttSource *s = state;
    if (!s) return;
    if (s->has_linger) {
        atomic_store(&s->closing, true);
        sl_wake_signal(&s->notify);
        pthread_join(s->linger, NULL);
    }
    sl_mqtt_sock_free(&s->sock);
    sl_mqttw_decoder_free(&s->dec);
    sl_buf_free(&s->out);
    sl_batch_free(s->batch);
    for (int i = 0; i < s->qcount; i++) sl_batch_free(s->queue[(s->qhead + i) % (QUEUE_MAX + 1)]);
    sl_mqtt_acks_free(&s->acks);
    sl_wake_close(&s->stop_wake);
    sl_wake_close(&s->notify);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

const SlComponentType sl_source_mqtt = {
    .name = "mqtt",
    .kind = SL_SOURCE,
    .doc = "Subscribes to MQTT topics (QoS 0 or 1, persistent sessions); QoS 1 messages are acknowledged once written.",
    .settings = settings,
    .init = init,
    .start = start,
    .run = run,
    .stop = stop,
    .destroy = destroy,
};
