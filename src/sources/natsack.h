/*
** natsack.h: when the nats source may acknowledge cumulatively. A consumer
** whose ack policy is AckAll takes one +ACK of stream sequence S as the
** acknowledgement of every message pending on it up to S. That is only
** right if every such message was written: the floor tracked here is the
** highest stream sequence below which every message this worker was
** delivered is committed (a prefix.h prefix over stream sequences, so a
** redelivered message closes the gap its abandoned delivery left).
**
** The floor may also pass messages this worker never saw: delivered to a
** worker that died or stalled, or lost with a connection. Those are
** pending on the consumer too, so the floor is only used while it is
** *complete*: every message pending on the consumer is one this worker
** was delivered. It is complete from a look at the consumer (its info)
** that shows no pending message this worker does not hold (the count of
** held sequences above the ack floor equals num_ack_pending, and the last
** delivery seen is the consumer's last), and stays complete while each
** delivery's consumer sequence follows the previous one: a gap means a
** delivery went elsewhere. Until the next such look, commits are tracked
** but nothing is acknowledged (the caller keeps the batches in progress).
**
** Pure logic, no NATS calls; not thread-safe: the caller locks.
*/
#ifndef SLUICE_SOURCES_NATSACK_H
#define SLUICE_SOURCES_NATSACK_H

#include "../pipeline/prefix.h"

typedef struct SlAckFloor {
    SlPrefix held;                  /* stream sequences delivered, not yet acknowledged */
    bool complete;                  /* nothing pending that `held` lacks */
    uint64_t last_delivery;         /* consumer sequence of the last delivery seen */
} SlAckFloor;

void sl_ackfloor_init(SlAckFloor *f);
void sl_ackfloor_free(SlAckFloor *f);

/* A message delivered (stream sequence, consumer sequence), about to be
** emitted; `msg` acknowledges it. */
void sl_ackfloor_delivered(SlAckFloor *f, uint64_t sseq, uint64_t dseq, void *msg);
/* Its records are written. */
void sl_ackfloor_committed(SlAckFloor *f, uint64_t sseq, void *msg);
/* Its records were not written: it will come again; `msg` goes away. */
void sl_ackfloor_abandoned(SlAckFloor *f, uint64_t sseq, const void *msg);
/* Deliveries may have gone elsewhere (a new lease, a reconnection). */
void sl_ackfloor_suspect(SlAckFloor *f);
/* A look at the consumer: true if it makes the floor complete. */
bool sl_ackfloor_check(SlAckFloor *f, uint64_t delivered_dseq, uint64_t ack_floor_sseq,
                       uint64_t num_ack_pending);
/* The message to send one +ACK to, acknowledging every message up to its
** stream sequence (*sseq), or NULL: nothing new, or not complete. */
void *sl_ackfloor_advance(SlAckFloor *f, uint64_t *sseq);

/* The stream and consumer sequences from a JetStream reply subject
** ($JS.ACK.STREAM.CONSUMER.DELIVERED.SSEQ.DSEQ.TIME.PENDING, or the form
** with domain and account hash before STREAM); false if it is not one. */
bool sl_nats_ack_sequences(const char *reply, uint64_t *sseq, uint64_t *dseq);

#endif
