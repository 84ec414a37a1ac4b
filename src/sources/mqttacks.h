/*
** mqttacks.h: the mqtt source's QoS 1 messages between their PUBLISH and
** their PUBACK. MQTT 3.1.1 (4.6) wants PUBACKs in the order the PUBLISHes
** came, but batches commit in any order; so every message is numbered as
** it arrives, a commit marks a range of numbers, and only the committed
** prefix is handed out for acknowledgement.
**
** The messages belong to one connection: a new connection starts a new
** generation and forgets the old one's messages (the broker sends them
** again, their packet ids mean nothing on the new connection), and a
** commit of an old generation is ignored. A batch abandoned (not written)
** stops the prefix there and asks for a new connection, so that the broker
** delivers it again.
**
** Thread-safe: the network thread adds and takes, commit callbacks mark.
*/
#ifndef SLUICE_SOURCES_MQTTACKS_H
#define SLUICE_SOURCES_MQTTACKS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct SlMqttAcks {
    pthread_mutex_t mu;
    uint64_t generation;
    uint64_t first;                 /* the number of ring[head] */
    size_t head, count, cap;        /* a ring of `count` messages */
    struct SlMqttAckEntry *ring;
    bool abandoned;                 /* of this generation */
} SlMqttAcks;

/* The QoS 1 messages of one batch: numbers [first, end) of a generation. */
typedef struct SlMqttAckRange {
    uint64_t generation, first, end;
} SlMqttAckRange;

void sl_mqtt_acks_init(SlMqttAcks *a);
void sl_mqtt_acks_free(SlMqttAcks *a);
/* A new connection: forgets every message; returns the new generation. */
uint64_t sl_mqtt_acks_reset(SlMqttAcks *a);
/* One more message received; returns its number. */
uint64_t sl_mqtt_acks_add(SlMqttAcks *a, uint16_t packet_id);
/* A batch's messages were written (committed) or not; from any thread. */
void sl_mqtt_acks_done(SlMqttAcks *a, const SlMqttAckRange *r, bool committed);
/* Takes at most `max` packet ids from the committed prefix, in order;
** returns how many. */
size_t sl_mqtt_acks_take(SlMqttAcks *a, uint16_t *ids, size_t max);
/* Messages not yet taken. */
size_t sl_mqtt_acks_pending(SlMqttAcks *a);
/* Whether a batch of this generation was abandoned. */
bool sl_mqtt_acks_abandoned(SlMqttAcks *a);

#endif
