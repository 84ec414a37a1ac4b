/*
** mqtt.c: the `mqtt` source. Subscribes to topics on an MQTT broker and
** turns every message into a record (inmsg.h: raw or JSON payload; the
** topic in the metadata `topic` or a field).
**
** One thread does everything: it drives libmosquitto's network loop, whose
** message callback appends to the batch being filled, and emits that batch
** when full or after FLUSH_MS. While sl_emit waits for room downstream the
** loop is not driven, the socket is not read, and TCP slows the broker.
**
** Delivery. With qos 1 the broker keeps a message until this client
** acknowledges it, and with a persistent session (clean_session: false, a
** stable client_id) it also keeps what is published while sluice is away
** or reconnecting. libmosquitto (2.0) acknowledges a message as it hands it
** over, before the record is written downstream, and cannot be told to
** wait: a crash loses the records held in the pipeline at that moment (a
** clean stop drains them). See "Delivery" in docs/pipeline.md.
**
** Losing the broker is not an error: the source reconnects, with a backoff
** doubling from RECONNECT_MIN_MS to RECONNECT_MAX_MS, and subscribes again.
*/
#include "inmsg.h"
#include "mqttconn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    LOOP_WAIT_MS = 50, FLUSH_MS = 50,
    RECONNECT_MIN_MS = 100, RECONNECT_MAX_MS = 10000, TOPICS_MAX = 64,
};

typedef struct MqttSource {
    SlMqttConf conf;
    char *topics[TOPICS_MAX];       /* settings memory */
    int ntopics;
    SlInMsg in;
    SlCtx *ctx;
    struct mosquitto *m;
    SlBatch *batch;                 /* being filled; NULL when empty */
    int64_t batch_started_ns;
    bool connected;                 /* CONNACK received, subscribed */
    int64_t backoff_ms;
} MqttSource;

static const SlSetting topic_setting = { .type = SL_SET_STRING, .doc = "A topic filter." };

static const SlSetting settings[] = {
    SL_MQTT_SETTINGS,
    { .name = "topics", .type = SL_SET_LIST, .item = &topic_setting, .required = true,
      .doc = "The topic filters to subscribe to; + and # are wildcards." },
    SL_INMSG_FORMAT_SETTING,
    { .name = "topic_field", .type = SL_SET_STRING,
      .doc = "Put the topic in this field rather than in the metadata 'topic'." },
    { 0 },
};

static bool read_topics(SlCtx *ctx, MqttSource *s, const SlConf *list)
{
    if (!list->count || list->count > TOPICS_MAX) {
        sl_conf_error(ctx, list, "give 1 to %d topics", TOPICS_MAX);
        return false;
    }
    for (size_t i = 0; i < list->count; i++) {
        const SlConf *t = list->items[i];
        if (mosquitto_sub_topic_check(t->text) != MOSQ_ERR_SUCCESS) {
            sl_conf_error(ctx, t, "'%s' is not a valid topic filter (+ and # must fill a level; # comes last)",
                          t->text);
            return false;
        }
        /* libmosquitto's API takes char *: it does not write to them. */
        s->topics[s->ntopics++] = (char *)(uintptr_t)t->text;
    }
    return true;
}

static int init(SlCtx *ctx, const SlConf *conf)
{
    MqttSource *s = calloc(1, sizeof *s);
    if (!s) abort();
    sl_set_state(ctx, s);
    s->ctx = ctx;
    s->in = (SlInMsg){ .ctx = ctx, .origin_meta = "topic",
                       .json = !strcmp(sl_conf_str(conf, "format", "raw"), "json"),
                       .origin_field = sl_conf_str(conf, "topic_field", NULL) };
    bool ok = sl_mqtt_conf(ctx, conf, &s->conf);
    ok = read_topics(ctx, s, sl_conf_get(conf, "topics")) && ok;
    return ok ? 0 : -1;
}

/* ---- Callbacks, on this source's thread inside mosquitto_loop ---------- */

static void on_connect(struct mosquitto *m, void *user, int rc)
{
    MqttSource *s = user;
    if (rc) {
        sl_log(s->ctx, "the broker refused the connection: %s", mosquitto_connack_string(rc));
        return;
    }
    rc = mosquitto_subscribe_multiple(m, NULL, s->ntopics, s->topics, s->conf.qos, 0, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        sl_log(s->ctx, "cannot subscribe: %s", mosquitto_strerror(rc));
        return;
    }
    sl_log(s->ctx, "connected to %s:%d", s->conf.host, s->conf.port);
    s->connected = true;
    s->backoff_ms = RECONNECT_MIN_MS;
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void emit_batch(MqttSource *s)
{
    if (!s->batch) return;
    sl_count_bytes_in(s->ctx, s->batch->bytes);
    sl_emit(s->ctx, s->batch);
    s->batch = NULL;
}

static void on_message(struct mosquitto *m, void *user, const struct mosquitto_message *msg)
{
    (void)m;
    MqttSource *s = user;
    if (!s->batch) {
        s->batch = sl_batch_new();
        s->batch_started_ns = now_ns();
    }
    sl_inmsg_add(&s->in, s->batch, msg->payload, (size_t)msg->payloadlen, msg->topic,
                 strlen(msg->topic));
    if (s->batch->count >= SL_BATCH_RECORDS) emit_batch(s);
}

static int start(SlCtx *ctx)
{
    MqttSource *s = sl_state(ctx);
    s->m = sl_mqtt_client(ctx, &s->conf, s);
    if (!s->m) return -1;
    mosquitto_connect_callback_set(s->m, on_connect);
    mosquitto_message_callback_set(s->m, on_message);
    s->backoff_ms = RECONNECT_MIN_MS;
    return 0;
}

/* ---- Running ----------------------------------------------------------- */

/* Sleeps `ms`, in slices, so that a stop is noticed. */
static void pause_ms(SlCtx *ctx, int64_t ms)
{
    for (int64_t slept = 0; slept < ms && !sl_stopping(ctx); slept += LOOP_WAIT_MS)
        nanosleep(&(struct timespec){ 0, LOOP_WAIT_MS * 1000000L }, NULL);
}

static const char *describe(int rc)
{
    return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
}

static void back_off(MqttSource *s)
{
    pause_ms(s->ctx, s->backoff_ms);
    s->backoff_ms = s->backoff_ms * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : s->backoff_ms * 2;
}

/* One attempt; the CONNACK comes later, through the loop. */
static void connect_once(MqttSource *s, bool first)
{
    int rc = first ? mosquitto_connect(s->m, s->conf.host, s->conf.port, s->conf.keepalive)
                   : mosquitto_reconnect(s->m);
    if (rc == MOSQ_ERR_SUCCESS) return;
    sl_log(s->ctx, "cannot connect to %s:%d: %s; again in %lld ms", s->conf.host, s->conf.port,
           describe(rc), (long long)s->backoff_ms);
    back_off(s);
}

static void run(SlCtx *ctx)
{
    MqttSource *s = sl_state(ctx);
    bool first = true, socket_open = false;
    while (!sl_stopping(ctx)) {
        if (!socket_open) {
            connect_once(s, first);
            socket_open = mosquitto_socket(s->m) >= 0;
            first = first && !socket_open;
            continue;
        }
        int rc = mosquitto_loop(s->m, LOOP_WAIT_MS, 1);
        if (s->batch && now_ns() - s->batch_started_ns >= (int64_t)FLUSH_MS * 1000000)
            emit_batch(s);
        if (rc == MOSQ_ERR_SUCCESS) continue;
        if (s->connected) sl_log(ctx, "lost the broker: %s; reconnecting", describe(rc));
        else back_off(s);   /* refused, or cut before subscribing: do not hammer */
        s->connected = false;
        socket_open = false;
    }
    if (socket_open) mosquitto_disconnect(s->m);
    emit_batch(s);
}

static void destroy(void *state)
{
    MqttSource *s = state;
    if (!s) return;
    sl_mqtt_free(s->m);
    sl_batch_free(s->batch);
    free(s);
}

const SlComponentType sl_source_mqtt = {
    .name = "mqtt",
    .kind = SL_SOURCE,
    .doc = "Subscribes to MQTT topics (QoS 0 or 1, persistent sessions); one record per message.",
    .settings = settings,
    .init = init,
    .start = start,
    .run = run,
    .destroy = destroy,
};
