/*
** natsack.c: when the nats source may acknowledge cumulatively
** (natsack.h).
*/
#include "natsack.h"

#include <stdlib.h>
#include <string.h>

void sl_ackfloor_init(SlAckFloor *f)
{
    *f = (SlAckFloor){ 0 };
    sl_prefix_init(&f->held);
}

void sl_ackfloor_free(SlAckFloor *f)
{
    sl_prefix_free(&f->held);
}

void sl_ackfloor_delivered(SlAckFloor *f, uint64_t sseq, uint64_t dseq, void *msg)
{
    /* Consumer sequences count every delivery of the consumer: one
    ** skipped went to someone else, or was lost on the way. */
    if (dseq != f->last_delivery + 1) f->complete = false;
    if (dseq > f->last_delivery) f->last_delivery = dseq;
    sl_prefix_open(&f->held, sseq, msg);
}

void sl_ackfloor_committed(SlAckFloor *f, uint64_t sseq, void *msg)
{
    sl_prefix_done(&f->held, sseq, msg);
}

void sl_ackfloor_abandoned(SlAckFloor *f, uint64_t sseq, const void *msg)
{
    sl_prefix_forget(&f->held, sseq, msg);
}

void sl_ackfloor_suspect(SlAckFloor *f)
{
    f->complete = false;
}

/* What is pending on the consumer is exactly the messages delivered above
** its ack floor (acknowledgements are cumulative). Those of them held here
** were delivered here; if they are as many as the pending ones, no pending
** message is missing here. Held sequences already acknowledged but not yet
** seen so by the server only make the count smaller: a later look decides.
** Deliveries after the look are checked one by one (last_delivery), so
** none may have been seen yet. */
bool sl_ackfloor_check(SlAckFloor *f, uint64_t delivered_dseq, uint64_t ack_floor_sseq,
                       uint64_t num_ack_pending)
{
    if (f->complete) return true;
    if (f->last_delivery > delivered_dseq ||
        sl_prefix_count_above(&f->held, ack_floor_sseq) != num_ack_pending)
        return false;
    f->last_delivery = delivered_dseq;
    f->complete = true;
    return true;
}

void *sl_ackfloor_advance(SlAckFloor *f, uint64_t *sseq)
{
    void *last = NULL, *item;
    while (f->complete && sl_prefix_pop(&f->held, sseq, &item)) last = item;
    return last;
}

/* Token `index` (0-based) of a subject as a number; false if absent or
** not a number. */
static bool token_number(const char *subject, int index, uint64_t *out)
{
    const char *t = subject;
    for (int i = 0; i < index; i++) {
        t = strchr(t, '.');
        if (!t) return false;
        t++;
    }
    char *end;
    unsigned long long v = strtoull(t, &end, 10);
    if (end == t || (*end && *end != '.')) return false;
    *out = v;
    return true;
}

static int token_count(const char *subject)
{
    int n = 1;
    for (const char *c = subject; *c; c++) n += *c == '.';
    return n;
}

bool sl_nats_ack_sequences(const char *reply, uint64_t *sseq, uint64_t *dseq)
{
    if (!reply || strncmp(reply, "$JS.ACK.", 8)) return false;
    int n = token_count(reply);
    /* 9 tokens: no domain; 11 or more: domain and account hash first. */
    int stream = n == 9 ? 2 : n >= 11 ? 4 : -1;
    return stream > 0 && token_number(reply, stream + 3, sseq) &&
           token_number(reply, stream + 4, dseq);
}
