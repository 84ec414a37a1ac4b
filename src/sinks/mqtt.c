/*
** mqtt.c: the `mqtt` sink. Publishes each record as one message to an
** MQTT broker, on a topic made from the record (outmsg.h), and counts a
** batch as written only once the broker has acknowledged every message
** (its PUBACK, with qos 1; with qos 0, once each is on the socket).
**
** libmosquitto runs its network loop on a thread of its own, which sends,
** receives the PUBACKs and reconnects after a loss (backoff doubling up to
** RECONNECT_MAX_S). A qos 1 message published while the broker is away is
** queued by the library and sent again on reconnection, with those not yet
** acknowledged, so the sink just waits for them; a qos 0 message waits for
** the connection. The wait has no limit while the broker is away: the batch
** holds, and the sources slow down behind it. Records whose acknowledgement
** has not come within `timeout_ms` of being connected are rejected to
** NAME.errors: they may still arrive later (at least once).
*/
#include "../sources/mqttconn.h"
#include "outmsg.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    MIDS = 1 << 16,                 /* message ids are 16 bits */
    MAX_INFLIGHT = 1024, RECONNECT_MIN_S = 1, RECONNECT_MAX_S = 10,
};

/* What is known of a message id during a batch. */
enum { MID_UNUSED, MID_AWAITED, MID_DONE };
/* A record's entry in `mids` when it has no message id. */
enum { RECORD_SETTLED = -1 };

typedef struct MqttSink {
    SlMqttConf conf;
    SlOutMsg out;
    bool retain;
    int64_t timeout_ms;
    struct mosquitto *m;
    int *mids;                      /* per record: its message id, or RECORD_SETTLED */
    uint32_t cap;

    /* Shared with libmosquitto's thread. */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool connected;
    uint64_t connections;           /* made so far: after the first, reconnections */
    uint8_t mid_state[MIDS];
    uint32_t awaited;
} MqttSink;

static const SlSetting settings[] = {
    SL_MQTT_SETTINGS,
    { .name = "topic", .type = SL_SET_STRING, .required = true,
      .doc = "Where to publish; {name} is replaced by the record's field `name`." },
    SL_OUTMSG_PAYLOAD_SETTING,
    { .name = "retain", .type = SL_SET_BOOL, .def = "false",
      .doc = "Ask the broker to keep the last message of each topic for new subscribers." },
    { .name = "timeout_ms", .type = SL_SET_INT, .def = "30000", .min = 1, .max = 3600000,
      .doc = "How long a batch may wait for its acknowledgements while connected before the rest is rejected." },
    { 0 },
};

static int init(SlCtx *ctx, const SlConf *conf)
{
    MqttSink *s = calloc(1, sizeof *s);
    if (!s) abort();
    sl_set_state(ctx, s);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    s->retain = sl_conf_bool(conf, "retain", false);
    s->timeout_ms = sl_conf_int(conf, "timeout_ms", 30000);
    bool ok = sl_mqtt_conf(ctx, conf, &s->conf);
    /* A filled-in part may not add levels or wildcards. */
    ok = sl_outmsg_init(ctx, &s->out, sl_conf_get(conf, "topic"), "/+#",
                        sl_conf_str(conf, "payload_field", NULL)) && ok;
    return ok ? 0 : -1;
}

/* ---- Callbacks, on libmosquitto's thread ------------------------------- */

static void set_connected(MqttSink *s, bool connected)
{
    pthread_mutex_lock(&s->lock);
    s->connected = connected;
    s->connections += connected;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

static void on_connect(struct mosquitto *m, void *user, int rc)
{
    (void)m;
    set_connected(user, rc == 0);
}

static void on_disconnect(struct mosquitto *m, void *user, int rc)
{
    (void)m;
    (void)rc;
    set_connected(user, false);
}

static void on_publish(struct mosquitto *m, void *user, int mid)
{
    (void)m;
    MqttSink *s = user;
    pthread_mutex_lock(&s->lock);
    if (s->mid_state[mid & 0xffff] == MID_AWAITED) s->awaited--;
    s->mid_state[mid & 0xffff] = MID_DONE;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

static int start(SlCtx *ctx)
{
    MqttSink *s = sl_state(ctx);
    if (!(s->m = sl_mqtt_client(ctx, &s->conf, s))) return -1;
    mosquitto_connect_callback_set(s->m, on_connect);
    mosquitto_disconnect_callback_set(s->m, on_disconnect);
    mosquitto_publish_callback_set(s->m, on_publish);
    mosquitto_max_inflight_messages_set(s->m, MAX_INFLIGHT);
    mosquitto_reconnect_delay_set(s->m, RECONNECT_MIN_S, RECONNECT_MAX_S, true);
    /* A broker not there yet is not fatal: the loop keeps trying. */
    int rc = mosquitto_connect_async(s->m, s->conf.host, s->conf.port, s->conf.keepalive);
    if (rc != MOSQ_ERR_SUCCESS)
        sl_log(ctx, "cannot connect to %s:%d yet: %s", s->conf.host, s->conf.port,
               rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    rc = mosquitto_loop_start(s->m);
    if (rc != MOSQ_ERR_SUCCESS) {
        sl_fail(ctx, "cannot start the MQTT network thread: %s", mosquitto_strerror(rc));
        return -1;
    }
    return 0;
}

/* ---- Sending ----------------------------------------------------------- */

static struct timespec deadline_after(int64_t ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    int64_t ns = (int64_t)t.tv_nsec + ms % 1000 * 1000000;
    t.tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
    t.tv_nsec = (long)(ns % 1000000000);
    return t;
}

/* Waits, under the lock, until the broker is connected, however long it
** takes: the batch holds meanwhile, and the sources slow down behind it.
** A wait for a reconnection (not the first connection) counts as a retry:
** the library then sends the unacknowledged messages again. */
static void wait_connected(SlCtx *ctx, MqttSink *s)
{
    if (s->connected) return;
    bool lost = s->connections > 0;
    if (lost) sl_log(ctx, "lost the broker %s:%d; the batch waits for it", s->conf.host, s->conf.port);
    while (!s->connected) pthread_cond_wait(&s->changed, &s->lock);
    if (lost) sl_count_retry(ctx);
}

/* Publishes record i's message; false (with the reason) if it cannot be. */
static bool publish(SlCtx *ctx, MqttSink *s, uint32_t i, const char **why)
{
    for (;;) {
        int mid = 0;
        int rc = mosquitto_publish(s->m, &mid, s->out.to.data, (int)s->out.payload.len,
                                   s->out.payload.data, s->conf.qos, s->retain);
        /* With qos 1 the library queues the message before it tries the
        ** socket: "no connection" then means it is sent on reconnection.
        ** Publishing it again would only make a duplicate. */
        bool queued = rc == MOSQ_ERR_SUCCESS || (rc == MOSQ_ERR_NO_CONN && s->conf.qos > 0);
        pthread_mutex_lock(&s->lock);
        if (queued) {
            /* The acknowledgement may already have come. */
            if (s->mid_state[mid] != MID_DONE) {
                s->mid_state[mid] = MID_AWAITED;
                s->awaited++;
            }
            s->mids[i] = mid;
        } else if (rc == MOSQ_ERR_NO_CONN) {
            wait_connected(ctx, s);
        }
        pthread_mutex_unlock(&s->lock);
        if (queued) return true;
        if (rc != MOSQ_ERR_NO_CONN) {
            *why = mosquitto_strerror(rc);
            return false;
        }
    }
}

/* Waits, under the lock, until every message is acknowledged, or for
** `timeout_ms` of connection without one; false then. */
static bool wait_acknowledged(SlCtx *ctx, MqttSink *s)
{
    struct timespec deadline = deadline_after(s->timeout_ms);
    while (s->awaited) {
        if (!s->connected) {
            wait_connected(ctx, s);
            deadline = deadline_after(s->timeout_ms);
        } else if (pthread_cond_timedwait(&s->changed, &s->lock, &deadline) == ETIMEDOUT) {
            return s->awaited == 0;
        }
    }
    return true;
}

/* Resets the table of message ids for a batch of `count` records. */
static void begin_batch(MqttSink *s, uint32_t count)
{
    if (count > s->cap) {
        free(s->mids);
        if (!(s->mids = malloc(count * sizeof *s->mids))) abort();
        s->cap = count;
    }
    pthread_mutex_lock(&s->lock);
    memset(s->mid_state, MID_UNUSED, sizeof s->mid_state);
    s->awaited = 0;
    pthread_mutex_unlock(&s->lock);
}

static void process(SlCtx *ctx, SlBatch *b)
{
    MqttSink *s = sl_state(ctx);
    begin_batch(s, b->count);
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < b->count; i++) {
        char why[SL_OUTMSG_WHY_MAX];
        const char *refused = NULL;
        s->mids[i] = RECORD_SETTLED;
        if (!sl_outmsg_build(&s->out, &b->records[i], why))
            sl_reject(ctx, b, i, "%s", why);
        else if (!publish(ctx, s, i, &refused))
            sl_reject(ctx, b, i, "cannot publish: %s", refused);
        else
            bytes += s->out.payload.len;
    }
    pthread_mutex_lock(&s->lock);
    bool all_acknowledged = wait_acknowledged(ctx, s);
    for (uint32_t i = 0; !all_acknowledged && i < b->count; i++)
        if (s->mids[i] != RECORD_SETTLED && s->mid_state[s->mids[i]] != MID_DONE)
            sl_reject(ctx, b, i, "no acknowledgement from the broker within %lld ms",
                      (long long)s->timeout_ms);
    pthread_mutex_unlock(&s->lock);
    sl_count_bytes_out(ctx, bytes);
    sl_batch_free(b);
}

static void destroy(void *state)
{
    MqttSink *s = state;
    if (!s) return;
    if (s->m) {
        mosquitto_disconnect(s->m);
        mosquitto_loop_stop(s->m, false);
        sl_mqtt_free(s->m);
    }
    sl_outmsg_free(&s->out);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->lock);
    free(s->mids);
    free(s);
}

const SlComponentType sl_sink_mqtt = {
    .name = "mqtt",
    .kind = SL_SINK,
    .doc = "Publishes each record to an MQTT broker (QoS 0 or 1), a batch counting as written once the broker acknowledged it.",
    .settings = settings,
    .flags = SL_BLOCKING,
    .init = init,
    .start = start,
    .process = process,
    .destroy = destroy,
};
