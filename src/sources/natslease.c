/*
** natslease.c: partition leases in a JetStream KeyValue bucket
** (natslease.h).
*/
#include "natslease.h"
#include "natsconn.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { KEY_MAX = SL_WORKER_ID_MAX + 16, LOOK_WAIT_MS = 2000 };

#define MEMBER_PREFIX "members."
#define PARTITION_PREFIX "partitions."

/* host-pid-random, in the characters a key may hold: unique even when a
** restarted worker gets the pid of one whose entries have not expired. */
static void make_worker_id(char out[SL_WORKER_ID_MAX])
{
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    for (char *c = host; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *c))
            *c = '_';
    uint32_t nonce = 0;
    if (getentropy(&nonce, sizeof nonce) != 0) nonce = (uint32_t)(uintptr_t)out;
    snprintf(out, SL_WORKER_ID_MAX, "%s-%ld-%08" PRIx32, host, (long)getpid(), nonce);
}

/* The bucket's description holds what all workers must agree on, so that
** creating it with other settings fails rather than mixing two layouts. */
static void describe_group(char *out, size_t size, const char *group, uint32_t partitions)
{
    snprintf(out, size, "sluice group %s: %" PRIu32 " partitions", group, partitions);
}

static void fail_settings(SlCtx *ctx, jsCtx *js, const char *bucket, const char *why)
{
    char stream[128];
    jsStreamInfo *si = NULL;
    if (snprintf(stream, sizeof stream, "KV_%s", bucket) < (int)sizeof stream &&
        js_GetStreamInfo(&si, js, stream, NULL, NULL) == NATS_OK && si->Config->Description)
        sl_fail(ctx, "the bucket '%s' exists as \"%s\", lease %" PRId64 " ms: every worker of a "
                "group needs the same partitions and lease_ms", bucket, si->Config->Description,
                si->Config->MaxAge / 1000000);
    else
        sl_fail(ctx, "cannot open the bucket '%s': %s", bucket, why);
    jsStreamInfo_Destroy(si);
}

/* The answers to renewals come to a private inbox (sl_leases_renew). */
static natsStatus subscribe_answers(SlLeases *l)
{
    natsInbox *inbox = NULL;
    natsStatus s = natsInbox_Create(&inbox);
    if (s == NATS_OK) {
        char filter[sizeof l->inbox + 2];
        snprintf(l->inbox, sizeof l->inbox, "%s", inbox);
        snprintf(filter, sizeof filter, "%s.>", l->inbox);
        s = natsConnection_SubscribeSync(&l->answers, l->nc, filter);
    }
    natsInbox_Destroy(inbox);
    return s;
}

bool sl_leases_open(SlLeases *l, SlCtx *ctx, natsConnection *nc, jsCtx *js,
                    const char *group, uint32_t partitions, int64_t lease_ms)
{
    make_worker_id(l->worker);
    l->nc = nc;
    l->partitions = partitions;
    l->revision = calloc(partitions, sizeof *l->revision);
    l->taken = calloc(partitions, sizeof *l->taken);
    l->lost = calloc(partitions, sizeof *l->lost);
    if (!l->revision || !l->taken || !l->lost) abort();
    char description[160];
    snprintf(l->bucket, sizeof l->bucket, "sluice-%s", group);
    describe_group(description, sizeof description, group, partitions);
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = l->bucket;
    cfg.Description = description;
    cfg.History = 1;
    cfg.TTL = lease_ms * 1000000;   /* nanoseconds */
    cfg.StorageType = js_FileStorage;   /* outlives a server restart */
    /* Creating an existing bucket with the same settings just opens it. */
    natsStatus s = js_CreateKeyValue(&l->kv, js, &cfg);
    char why[256];
    if (s != NATS_OK) {
        sl_nats_describe(s, why, sizeof why);
        fail_settings(ctx, js, l->bucket, why);
        return false;
    }
    s = subscribe_answers(l);
    if (s == NATS_OK) return true;
    sl_nats_describe(s, why, sizeof why);
    sl_fail(ctx, "cannot subscribe to the answers of the bucket '%s': %s", l->bucket, why);
    return false;
}

static void key_of(char out[KEY_MAX], const char *prefix, const char *name)
{
    snprintf(out, KEY_MAX, "%s%s", prefix, name);
}

static void partition_key(char out[KEY_MAX], uint32_t p)
{
    snprintf(out, KEY_MAX, PARTITION_PREFIX "%" PRIu32, p);
}

bool sl_leases_heartbeat(SlLeases *l)
{
    char key[KEY_MAX];
    key_of(key, MEMBER_PREFIX, l->worker);
    return kvStore_PutString(NULL, l->kv, key, l->worker) == NATS_OK;
}

/* A member seen for the first time in this look: a key written while the
** look is under way comes a second time. */
static bool first_sight(SlLeases *l, const char *worker)
{
    for (uint32_t i = 0; i < l->members; i++)
        if (!strcmp(l->seen[i], worker)) return false;
    if (l->members == l->seen_cap) {
        l->seen_cap = l->seen_cap ? 2 * l->seen_cap : 8;
        l->seen = realloc(l->seen, l->seen_cap * sizeof *l->seen);
        if (!l->seen) abort();
    }
    l->seen[l->members++] = strdup(worker);
    if (!l->seen[l->members - 1]) abort();
    return true;
}

/* An entry naming this worker: a lease of ours, or one we renewed but
** whose answer we did not get, which we may take back. */
static bool ours(const SlLeases *l, kvEntry *e)
{
    size_t len = strlen(l->worker);
    return (size_t)kvEntry_ValueLen(e) == len && !memcmp(kvEntry_Value(e), l->worker, len);
}

/* One entry of the bucket into the view; a later entry of a key wins. */
static void see(SlLeases *l, kvEntry *e)
{
    const char *key = kvEntry_Key(e);
    if (!strncmp(key, MEMBER_PREFIX, strlen(MEMBER_PREFIX))) {
        const char *worker = key + strlen(MEMBER_PREFIX);
        if (first_sight(l, worker) && strcmp(worker, l->worker) < 0) l->rank++;
        return;
    }
    if (strncmp(key, PARTITION_PREFIX, strlen(PARTITION_PREFIX))) return;
    char *end;
    unsigned long p = strtoul(key + strlen(PARTITION_PREFIX), &end, 10);
    if (!*end && p < l->partitions) l->taken[p] = kvEntry_ValueLen(e) > 0 && !ours(l, e);
}

static void forget_members(SlLeases *l)
{
    for (uint32_t i = 0; i < l->members; i++) free(l->seen[i]);
    l->members = l->rank = 0;
}

bool sl_leases_look(SlLeases *l)
{
    kvWatchOptions o;
    kvWatchOptions_Init(&o);
    o.IgnoreDeletes = true;
    kvWatcher *w = NULL;
    if (kvStore_WatchAll(&w, l->kv, &o) != NATS_OK) return false;
    forget_members(l);
    memset(l->taken, 0, l->partitions * sizeof *l->taken);
    /* The current values come first, then a NULL entry. */
    bool complete = false;
    for (;;) {
        kvEntry *e = NULL;
        if (kvWatcher_Next(&e, w, LOOK_WAIT_MS) != NATS_OK) break;
        if (!e) {
            complete = true;
            break;
        }
        see(l, e);
        kvEntry_Destroy(e);
    }
    kvWatcher_Destroy(w);
    if (!l->members) first_sight(l, l->worker);    /* our heartbeat not seen yet */
    return complete;
}

uint32_t sl_leases_share(const SlLeases *l)
{
    return l->partitions / l->members + (l->rank < l->partitions % l->members);
}

bool sl_leases_claim(SlLeases *l, uint32_t p)
{
    char key[KEY_MAX];
    partition_key(key, p);
    uint64_t rev = 0;
    natsStatus s = kvStore_CreateString(&rev, l->kv, key, l->worker);
    if (s != NATS_OK) {
        /* Released partitions hold an empty value: take that revision. */
        kvEntry *e = NULL;
        if (kvStore_Get(&e, l->kv, key) == NATS_OK && (!kvEntry_ValueLen(e) || ours(l, e)))
            s = kvStore_UpdateString(&rev, l->kv, key, l->worker, kvEntry_Revision(e));
        kvEntry_Destroy(e);
    }
    l->revision[p] = s == NATS_OK ? rev : 0;
    return s == NATS_OK;
}

/* A renewal is what kvStore_Update does, an update of the entry expected
** at the revision we last wrote, but sent without waiting for its answer:
** one after the other, on a loaded server, the renewals of 16 partitions
** took longer than a lease, which then expired. Round K's renewal of
** partition P is answered on INBOX.K.P. */
static bool send_renewal(SlLeases *l, uint32_t p)
{
    char subject[sizeof l->bucket + KEY_MAX + 8], reply[sizeof l->inbox + 48], expect[24];
    snprintf(subject, sizeof subject, "$KV.%s." PARTITION_PREFIX "%" PRIu32, l->bucket, p);
    snprintf(reply, sizeof reply, "%s.%" PRIu64 ".%" PRIu32, l->inbox, l->rounds, p);
    snprintf(expect, sizeof expect, "%" PRIu64, l->revision[p]);
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, reply, l->worker, (int)strlen(l->worker));
    if (s == NATS_OK) s = natsMsgHeader_Set(m, "Nats-Expected-Last-Subject-Sequence", expect);
    if (s == NATS_OK) s = natsConnection_PublishMsg(l->nc, m);
    natsMsg_Destroy(m);
    return s == NATS_OK;
}

/* The entry's new revision from the server's answer (a JetStream publish
** acknowledgement), or 0 if it refused: the entry expired or someone else
** wrote it. A status without data (no responders) is a refusal too. */
static uint64_t new_revision(natsMsg *m)
{
    char text[512];
    const char *data = natsMsg_GetData(m);
    snprintf(text, sizeof text, "%.*s", natsMsg_GetDataLength(m), data ? data : "");
    const char *seq = strstr(text, "\"seq\":");
    return strstr(text, "\"error\"") || !seq ? 0 : strtoull(seq + strlen("\"seq\":"), NULL, 10);
}

/* Takes one awaited answer of this round into `revision` (0: refused);
** false if it is none (an answer to an earlier round that came too late). */
static bool take_answer(SlLeases *l, natsMsg *m)
{
    const char *at = natsMsg_GetSubject(m) + strlen(l->inbox) + 1;
    char *end;
    unsigned long long round = strtoull(at, &end, 10);
    if (round != l->rounds || *end != '.') return false;
    unsigned long p = strtoul(end + 1, &end, 10);
    if (*end || p >= l->partitions || !l->lost[p] || !sl_leases_held(l, p)) return false;
    l->revision[p] = new_revision(m);
    l->lost[p] = !sl_leases_held(l, p);
    return true;
}

void sl_leases_renew(SlLeases *l, int64_t wait_ms)
{
    l->rounds++;
    uint32_t waiting = 0;
    for (uint32_t p = 0; p < l->partitions; p++) {
        /* Until its answer says otherwise, a lease counts as lost; one
        ** left unanswered is forgotten below. */
        l->lost[p] = sl_leases_held(l, p);
        waiting += l->lost[p] && send_renewal(l, p);
    }
    natsStatus s = NATS_OK;
    for (int64_t deadline = sl_now_ms() + wait_ms; waiting > 0 && s == NATS_OK;) {
        int64_t left = deadline - sl_now_ms();
        natsMsg *m = NULL;
        s = natsSubscription_NextMsg(&m, l->answers, left > 0 ? left : 0);
        if (s == NATS_OK && take_answer(l, m)) waiting--;
        natsMsg_Destroy(m);
    }
    for (uint32_t p = 0; p < l->partitions; p++)
        if (l->lost[p]) l->revision[p] = 0;
}

void sl_leases_release(SlLeases *l, uint32_t p)
{
    char key[KEY_MAX];
    partition_key(key, p);
    kvStore_UpdateString(NULL, l->kv, key, "", l->revision[p]);
    l->revision[p] = 0;
}

void sl_leases_close(SlLeases *l)
{
    if (l->kv) {
        for (uint32_t p = 0; p < l->partitions; p++)
            if (sl_leases_held(l, p)) sl_leases_release(l, p);
        char key[KEY_MAX];
        key_of(key, MEMBER_PREFIX, l->worker);
        kvStore_Delete(l->kv, key);
    }
    natsSubscription_Destroy(l->answers);
    kvStore_Destroy(l->kv);
    forget_members(l);
    free(l->seen);
    free(l->revision);
    free(l->taken);
    free(l->lost);
}
