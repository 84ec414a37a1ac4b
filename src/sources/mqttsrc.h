/*
** mqttsrc.h: the state of the mqtt source, shared by its two halves:
** mqtt.c, the component (settings, batches, the emitter thread, run and
** stop), and mqttlink.c, the connection to the broker (CONNECT, SUBSCRIBE,
** reading PUBLISHes, PUBACKs in order, pings). See mqtt.c for the design.
*/
#ifndef SLUICE_SOURCES_MQTTSRC_H
#define SLUICE_SOURCES_MQTTSRC_H

#include "../pipeline/retry.h"
#include "inmsg.h"
#include "mqttacks.h"
#include "mqttconn.h"
#include "mqttsock.h"
#include "mqttwire.h"
#include "net.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

enum {
    QUEUE_MAX = 4, READ_CHUNK = 64 * 1024, READS_PER_STEP = 16, ACKS_PER_TAKE = 256,
    CONNECT_TIMEOUT_MS = 10000, POLL_MAX_MS = 1000, DRAIN_MS = 2000, LAST_WORD_MS = 1000,
    RECONNECT_MIN_MS = 100, RECONNECT_MAX_MS = 10000, TOPICS_MAX = 64, SUBSCRIBE_ID = 1,
};

typedef enum Link { DOWN, CONNECTING, UP } Link;   /* CONNECTING: waiting for CONNACK */

typedef struct MqttSource {
    SlMqttConf conf;
    const char *topics[TOPICS_MAX]; /* settings memory */
    int ntopics;
    SlInMsg in;
    SlCtx *ctx;
    /* The run thread's: the connection and the batch being filled. */
    SlMqttSock sock;
    SlMqttwDecoder dec;
    SlBuf out;                 /* not yet written */
    Link link;
    uint64_t generation;
    int64_t connack_by, last_sent, ping_sent;   /* ms */
    bool ping_outstanding, reading;
    SlBackoff backoff;
    int64_t attempt;                /* reconnections since the last that worked */
    SlBatch *batch;
    SlMqttAckRange range;           /* its QoS 1 messages */
    uint32_t batch_msgs;
    /* Shared with the emitter and the commit callbacks. */
    SlMqttAcks acks;
    SlWake stop_wake, notify;       /* stop(); commits and queue room */
    atomic_bool stop;
    pthread_mutex_t mu;             /* guards the queue and net_done */
    pthread_cond_t cond;
    SlBatch *queue[QUEUE_MAX + 1];  /* the last slot: the final batch of a stop */
    int qhead, qcount;
    bool net_done;
    pthread_t linger;               /* after run: acknowledges the last commits */
    bool has_linger;
    atomic_bool closing;            /* destroy: the linger thread hangs up */
} MqttSource;

static inline bool sl_mqtt_stopping(MqttSource *s)
{
    return atomic_load(&s->stop) || sl_stopping(s->ctx);
}

/* ---- mqtt.c: batches, on the run thread ---------------------------------- */
/* One PUBLISH more in the batch being filled (its QoS 1 numbered). */
void sl_mqtt_batch_add(MqttSource *s, const SlMqttwPacket *p);
/* Hands the batch being filled to the emitter if it is due (mqtt.c). */
void sl_mqtt_batch_offer(MqttSource *s, bool idle);
/* Whether the emitter's queue can take a batch: else reading pauses. */
bool sl_mqtt_queue_room(MqttSource *s);

/* ---- mqttlink.c: the connection, on the run (or linger) thread ----------- */
/* Connects and sends CONNECT; false after logging why (or if stopping). */
bool sl_mqtt_link_open(MqttSource *s);
/* One turn: read (unless draining), queue, acknowledge, ping, write, wait.
** False when the connection is lost (logged). */
bool sl_mqtt_link_step(MqttSource *s, bool draining);
/* Sleeps until the socket, a commit, queue room or (unless draining) a
** stop wants attention; `busy`: do not sleep. */
void sl_mqtt_link_wait(MqttSource *s, bool draining, bool busy);
/* Sends the PUBACKs of what is committed and DISCONNECT, then closes. */
void sl_mqtt_link_hang_up(MqttSource *s);
void sl_mqtt_link_close(MqttSource *s);

#endif
