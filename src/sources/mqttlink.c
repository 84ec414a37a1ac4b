/*
** mqttlink.c: the mqtt source's connection to its broker (mqttsrc.h):
** CONNECT and its CONNACK, SUBSCRIBE and its SUBACK, PUBLISHes read into
** batches while the emitter's queue has room, PUBACKs for the committed
** prefix in the order the PUBLISHes came, and pings when nothing else was
** sent for keepalive_s. Each failure is logged here once, with its reason.
*/
#include "mqttsrc.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

/* Logs why the connection ended; false, for the caller to return. */
static bool lost(MqttSource *s, const char *why)
{
    if (s->link == UP)
        sl_log(s->ctx, "lost the broker: %s; reconnecting", why);
    else
        sl_log(s->ctx, "cannot connect to %s:%d: %s", s->conf.host, s->conf.port, why);
    return false;
}

static bool on_connack(MqttSource *s, const SlMqttwPacket *p)
{
    if (s->link != CONNECTING) return lost(s, "a second CONNACK");
    if (p->return_code) {
        sl_log(s->ctx, "the broker %s:%d refused the connection: %s", s->conf.host, s->conf.port,
               sl_mqttw_connack_text(p->return_code));
        return false;
    }
    /* The topics were checked during init: this cannot fail. */
    sl_mqttw_subscribe(&s->out, SUBSCRIBE_ID, s->topics, (size_t)s->ntopics, (uint8_t)s->conf.qos);
    s->link = UP;
    sl_log(s->ctx, "connected to %s:%d%s", s->conf.host, s->conf.port,
           p->session_present ? " (session resumed)" : "");
    return true;
}

static void on_suback(MqttSource *s, const SlMqttwPacket *p)
{
    for (size_t i = 0; i < p->ncodes && i < (size_t)s->ntopics; i++)
        if (p->codes[i] == SL_MQTTW_SUBACK_FAILURE)
            sl_log(s->ctx, "the broker refused the subscription to '%s' (not authorised, or a filter it does not accept)",
                   s->topics[i]);
    if (p->ncodes != (size_t)s->ntopics)
        sl_log(s->ctx, "the broker answered %zu of %d subscriptions", p->ncodes, s->ntopics);
    s->attempt = 0;     /* this connection works: the next starts from the shortest wait */
}

static bool handle(MqttSource *s, const SlMqttwPacket *p)
{
    if (s->link == CONNECTING && p->type != SL_MQTTW_CONNACK)
        return lost(s, "a packet before the CONNACK");
    switch (p->type) {
    case SL_MQTTW_CONNACK: return on_connack(s, p);
    case SL_MQTTW_SUBACK: on_suback(s, p); return true;
    case SL_MQTTW_PUBLISH:
        sl_mqtt_batch_add(s, p);
        sl_mqtt_batch_offer(s, false);
        return true;
    case SL_MQTTW_PINGRESP: s->ping_outstanding = false; return true;
    default: return true;   /* PUBACK, UNSUBACK: nothing of ours to confirm */
    }
}

static bool dispatch(MqttSource *s)
{
    SlMqttwPacket p;
    char why[SL_MQTTW_WHY_MAX];
    int rc;
    while ((rc = sl_mqttw_next(&s->dec, &p, why)) == 1)
        if (!handle(s, &p)) return false;
    if (rc == 0) return true;
    sl_log(s->ctx, "the broker sent %s; reconnecting", why);
    return false;
}

/* Reads while the queue has room; *idle when nothing more is readable. */
static bool read_some(MqttSource *s, bool *idle)
{
    uint8_t buf[READ_CHUNK];
    char why[SL_MQTT_SOCK_WHY_MAX];
    for (int i = 0; i < READS_PER_STEP; i++) {
        sl_mqtt_batch_offer(s, false);
        s->reading = sl_mqtt_queue_room(s);
        if (!s->reading) return true;
        ssize_t n = sl_mqtt_sock_read(&s->sock, buf, sizeof buf, why);
        if (n < 0) return lost(s, why);
        if (n == 0) {
            *idle = true;
            return true;
        }
        sl_mqttw_feed(&s->dec, buf, (size_t)n);
        if (!dispatch(s)) return false;
    }
    return true;
}

/* PUBACKs for the committed prefix, in the order of the PUBLISHes. */
static void queue_acks(MqttSource *s)
{
    uint16_t ids[ACKS_PER_TAKE];
    for (size_t n; (n = sl_mqtt_acks_take(&s->acks, ids, ACKS_PER_TAKE)) > 0;)
        for (size_t i = 0; i < n; i++) sl_mqttw_puback(&s->out, ids[i]);
}

static bool flush(MqttSource *s)
{
    char why[SL_MQTT_SOCK_WHY_MAX];
    while (s->out.len) {
        ssize_t n = sl_mqtt_sock_write(&s->sock, s->out.data, s->out.len, why);
        if (n < 0) return lost(s, why);
        if (n == 0) break;
        sl_mqttw_buf_consume(&s->out, (size_t)n);
        s->last_sent = sl_now_ms();
    }
    return true;
}

/* Whether a ping is awaited: a PINGRESP left unread while the queue is
** full says nothing about the broker, so then none is. */
static bool awaiting_pong(const MqttSource *s)
{
    return s->ping_outstanding && s->reading;
}

/* False when the broker let a ping go unanswered. While nothing is read,
** pings go on every keepalive_s all the same: they are what tells the
** broker that this client lives. */
static bool keep_alive(MqttSource *s, int64_t now)
{
    int64_t every = (int64_t)s->conf.keepalive * 1000;
    if (!s->reading) s->ping_sent = now;
    if (awaiting_pong(s) && now - s->ping_sent > every * 3 / 2) {
        char why[64];
        snprintf(why, sizeof why, "no answer to a ping in %lld s", (long long)(every * 3 / 2000));
        return lost(s, why);
    }
    if (!awaiting_pong(s) && now - s->last_sent >= every) {
        sl_mqttw_pingreq(&s->out);
        s->ping_outstanding = true;
        s->ping_sent = now;
    }
    return true;
}

/* Ms until the next deadline of the connection, at most POLL_MAX_MS. */
static int next_timeout(const MqttSource *s, int64_t now)
{
    if (s->link == DOWN) return POLL_MAX_MS;
    int64_t every = (int64_t)s->conf.keepalive * 1000;
    int64_t due = s->link == CONNECTING ? s->connack_by
                  : awaiting_pong(s) ? s->ping_sent + every * 3 / 2
                                     : s->last_sent + every;
    int64_t left = due - now;
    return left < 0 ? 0 : left > POLL_MAX_MS ? POLL_MAX_MS : (int)left;
}

/* Sleeps until the socket, a commit, room in the queue or (unless
** draining) a stop wants attention. */
void sl_mqtt_link_wait(MqttSource *s, bool draining, bool busy)
{
    struct pollfd p[3] = {
        { .fd = sl_wake_fd(&s->notify), .events = POLLIN },
        { .fd = s->sock.fd, .events = sl_mqtt_sock_events(&s->sock, s->reading, s->out.len > 0) },
        { .fd = draining ? -1 : sl_wake_fd(&s->stop_wake), .events = POLLIN },
    };
    if (poll(p, 3, busy ? 0 : next_timeout(s, sl_now_ms())) < 0 && errno != EINTR) usleep(10000);
    char drain[64];
    while (read(sl_wake_fd(&s->notify), drain, sizeof drain) > 0) continue;
}

static bool check_link(MqttSource *s)
{
    int64_t now = sl_now_ms();
    if (s->link == CONNECTING && now > s->connack_by) return lost(s, "no CONNACK in time");
    if (s->link == UP && sl_mqtt_acks_abandoned(&s->acks)) {
        sl_log(s->ctx, "records were not written: reconnecting, so that the broker delivers their messages again");
        return false;
    }
    return s->link != UP || keep_alive(s, now);
}

/* One turn: read, queue, acknowledge, ping, write, wait. False when the
** connection is lost (logged). While draining nothing is read. */
bool sl_mqtt_link_step(MqttSource *s, bool draining)
{
    bool idle = draining;
    s->reading = false;
    if (!draining && !read_some(s, &idle)) return false;
    if (idle) sl_mqtt_batch_offer(s, true);
    if (s->link == UP) queue_acks(s);
    if (!flush(s) || !check_link(s) || !flush(s)) return false;
    sl_mqtt_link_wait(s, draining, s->reading && !idle);
    return true;
}

bool sl_mqtt_link_open(MqttSource *s)
{
    char why[SL_MQTT_SOCK_WHY_MAX];
    if (!sl_mqtt_sock_open(&s->sock, s->conf.host, s->conf.port, CONNECT_TIMEOUT_MS,
                           sl_wake_fd(&s->stop_wake), why))
        return sl_mqtt_stopping(s) || lost(s, why);
    s->generation = sl_mqtt_acks_reset(&s->acks);
    sl_mqttw_decoder_reset(&s->dec);
    s->out.len = 0;
    sl_mqttw_connect(&s->out, &(SlMqttwConnect){
        .client_id = s->conf.client_id, .username = s->conf.username,
        .password = s->conf.password, .clean_session = s->conf.clean_session,
        .keepalive_s = (uint16_t)s->conf.keepalive });
    s->link = CONNECTING;
    s->last_sent = sl_now_ms();
    s->connack_by = s->last_sent + CONNECT_TIMEOUT_MS;
    s->ping_outstanding = false;
    return true;
}

void sl_mqtt_link_close(MqttSource *s)
{
    sl_mqtt_sock_close(&s->sock);
    s->link = DOWN;
}

/* Acknowledges what was committed, then says goodbye. */
void sl_mqtt_link_hang_up(MqttSource *s)
{
    if (s->link == UP) queue_acks(s);
    sl_mqttw_disconnect(&s->out);
    sl_mqtt_sock_write_all(&s->sock, s->out.data, s->out.len, LAST_WORD_MS);
    s->out.len = 0;
    sl_mqtt_link_close(s);
}
