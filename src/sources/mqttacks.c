/*
** mqttacks.c: QoS 1 messages waiting for their PUBACK, in arrival order
** (mqttacks.h).
*/
#include "mqttacks.h"
#include "../pipeline/record.h"

#include <stdlib.h>

typedef struct SlMqttAckEntry {
    uint16_t packet_id;
    bool committed;
} SlMqttAckEntry;

void sl_mqtt_acks_init(SlMqttAcks *a)
{
    *a = (SlMqttAcks){ .generation = 1 };
    pthread_mutex_init(&a->mu, NULL);
}

void sl_mqtt_acks_free(SlMqttAcks *a)
{
    pthread_mutex_destroy(&a->mu);
    free(a->ring);
    a->ring = NULL;
}

uint64_t sl_mqtt_acks_reset(SlMqttAcks *a)
{
    pthread_mutex_lock(&a->mu);
    uint64_t g = ++a->generation;
    a->first += a->count;
    a->head = a->count = 0;
    a->abandoned = false;
    pthread_mutex_unlock(&a->mu);
    return g;
}

/* Doubles the ring, unrolling it so that it starts at 0. */
static void grow(SlMqttAcks *a)
{
    size_t cap = a->cap ? a->cap * 2 : 64;
    SlMqttAckEntry *ring = sl_xrealloc(NULL, cap * sizeof *ring);
    for (size_t i = 0; i < a->count; i++) ring[i] = a->ring[(a->head + i) % a->cap];
    free(a->ring);
    a->ring = ring;
    a->cap = cap;
    a->head = 0;
}

uint64_t sl_mqtt_acks_add(SlMqttAcks *a, uint16_t packet_id)
{
    pthread_mutex_lock(&a->mu);
    if (a->count == a->cap) grow(a);
    a->ring[(a->head + a->count) % a->cap] = (SlMqttAckEntry){ .packet_id = packet_id };
    uint64_t number = a->first + a->count++;
    pthread_mutex_unlock(&a->mu);
    return number;
}

void sl_mqtt_acks_done(SlMqttAcks *a, const SlMqttAckRange *r, bool committed)
{
    pthread_mutex_lock(&a->mu);
    if (r->generation == a->generation) {
        if (!committed) a->abandoned = true;
        /* Numbers before `first` were taken already; none can be past the end. */
        for (uint64_t n = r->first > a->first ? r->first : a->first;
             committed && n < r->end && n < a->first + a->count; n++)
            a->ring[(a->head + (n - a->first)) % a->cap].committed = true;
    }
    pthread_mutex_unlock(&a->mu);
}

size_t sl_mqtt_acks_take(SlMqttAcks *a, uint16_t *ids, size_t max)
{
    pthread_mutex_lock(&a->mu);
    size_t n = 0;
    while (n < max && a->count && a->ring[a->head].committed) {
        ids[n++] = a->ring[a->head].packet_id;
        a->head = (a->head + 1) % a->cap;
        a->count--;
        a->first++;
    }
    pthread_mutex_unlock(&a->mu);
    return n;
}

size_t sl_mqtt_acks_pending(SlMqttAcks *a)
{
    pthread_mutex_lock(&a->mu);
    size_t n = a->count;
    pthread_mutex_unlock(&a->mu);
    return n;
}

bool sl_mqtt_acks_abandoned(SlMqttAcks *a)
{
    pthread_mutex_lock(&a->mu);
    bool abandoned = a->abandoned;
    pthread_mutex_unlock(&a->mu);
    return abandoned;
}
