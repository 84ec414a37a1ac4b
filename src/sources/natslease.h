/*
** natslease.h: which worker of a group reads which partition of a
** partitioned stream (docs/scaling.md). The workers share a JetStream
** KeyValue bucket, `sluice-GROUP`, whose entries vanish `lease_ms` after
** they were last written:
**
**   members.WORKER    a worker's heartbeat (its value: the worker id)
**   partitions.P      the lease of partition P: its owner's id, or empty
**                     once released
**
** A worker claims a free partition by creating its entry (of several
** claimers exactly one succeeds), keeps it by rewriting it at the revision
** it last wrote (which fails once someone else took it), and releases it
** by writing it empty, again at its revision. Leases time out on the
** server's clock, not the workers'. The live members, sorted by id, give
** each worker its fair share: partitions / members, one more for the first
** partitions % members of them.
**
** This module only talks to the bucket; the nats source decides what to
** fetch. All calls are made from one thread.
*/
#ifndef SLUICE_SOURCES_NATSLEASE_H
#define SLUICE_SOURCES_NATSLEASE_H

#include "../pipeline/component.h"

#include <nats/nats.h>

enum { SL_WORKER_ID_MAX = 96 };

typedef struct SlLeases {
    kvStore *kv;
    natsConnection *nc;
    char bucket[128];               /* sluice-GROUP */
    natsSubscription *answers;      /* on INBOX.>: the answers to renewals */
    char inbox[128];
    uint64_t rounds;                /* renewal round K is answered on INBOX.K.P */
    char worker[SL_WORKER_ID_MAX];  /* this worker's id: host-pid-random */
    uint32_t partitions;
    uint64_t *revision;             /* per partition: of our lease; 0: not ours */
    /* From the last look at the bucket: */
    uint32_t members, rank;         /* live workers; how many sort before us */
    char **seen;                    /* the live workers' ids */
    uint32_t seen_cap;
    bool *taken;                    /* per partition: someone else holds it */
    bool *lost;                     /* per partition: by the last renewal */
} SlLeases;

/* During start: opens the group's bucket, creating it if needed; fails
** (sl_fail) if it exists with other settings, e.g. another partition
** count. */
bool sl_leases_open(SlLeases *l, SlCtx *ctx, natsConnection *nc, jsCtx *js,
                    const char *group, uint32_t partitions, int64_t lease_ms);
/* Writes this worker's member entry; false if the bucket is unreachable. */
bool sl_leases_heartbeat(SlLeases *l);
/* Reads the members and the leases; false if the bucket is unreachable. */
bool sl_leases_look(SlLeases *l);
/* This worker's fair share of partitions, from the last look. */
uint32_t sl_leases_share(const SlLeases *l);
static inline bool sl_leases_held(const SlLeases *l, uint32_t p) { return l->revision[p] != 0; }
/* Takes free partition p (or one whose entry still names this worker: a
** renewal whose answer was lost); false if someone was quicker. */
bool sl_leases_claim(SlLeases *l, uint32_t p);
/* Keeps every partition held, waiting at most wait_ms for the server;
** those that are no longer ours are forgotten and marked in `lost`. */
void sl_leases_renew(SlLeases *l, int64_t wait_ms);
/* Gives partition p back, unless someone already has it. */
void sl_leases_release(SlLeases *l, uint32_t p);
/* Releases every lease held, leaves the group, frees. NULL-safe parts. */
void sl_leases_close(SlLeases *l);

#endif
