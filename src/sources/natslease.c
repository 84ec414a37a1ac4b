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
    snprintf(stream, sizeof stream, "KV_%s", bucket);
    jsStreamInfo *si = NULL;
    if (js_GetStreamInfo(&si, js, stream, NULL, NULL) == NATS_OK && si->Config->Description)
        sl_fail(ctx, "the bucket '%s' exists as \"%s\", lease %" PRId64 " ms: every worker of a "
                "group needs the same partitions and lease_ms", bucket, si->Config->Description,
                si->Config->MaxAge / 1000000);
    else
        sl_fail(ctx, "cannot open the bucket '%s': %s", bucket, why);
    jsStreamInfo_Destroy(si);
}

bool sl_leases_open(SlLeases *l, SlCtx *ctx, jsCtx *js, const char *group,
                    uint32_t partitions, int64_t lease_ms)
{
    make_worker_id(l->worker);
    l->partitions = partitions;
    l->revision = calloc(partitions, sizeof *l->revision);
    l->taken = calloc(partitions, sizeof *l->taken);
    if (!l->revision || !l->taken) abort();
    char bucket[128], description[160];
    snprintf(bucket, sizeof bucket, "sluice-%s", group);
    describe_group(description, sizeof description, group, partitions);
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = bucket;
    cfg.Description = description;
    cfg.History = 1;
    cfg.TTL = lease_ms * 1000000;   /* nanoseconds */
    cfg.StorageType = js_FileStorage;   /* outlives a server restart */
    /* Creating an existing bucket with the same settings just opens it. */
    natsStatus s = js_CreateKeyValue(&l->kv, js, &cfg);
    if (s == NATS_OK) return true;
    char why[256];
    sl_nats_describe(s, why, sizeof why);
    fail_settings(ctx, js, bucket, why);
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
    if (!*end && p < l->partitions) l->taken[p] = kvEntry_ValueLen(e) > 0;
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
        if (kvStore_Get(&e, l->kv, key) == NATS_OK && !kvEntry_ValueLen(e))
            s = kvStore_UpdateString(&rev, l->kv, key, l->worker, kvEntry_Revision(e));
        kvEntry_Destroy(e);
    }
    l->revision[p] = s == NATS_OK ? rev : 0;
    return s == NATS_OK;
}

bool sl_leases_renew(SlLeases *l, uint32_t p)
{
    char key[KEY_MAX];
    partition_key(key, p);
    uint64_t rev = 0;
    natsStatus s = kvStore_UpdateString(&rev, l->kv, key, l->worker, l->revision[p]);
    l->revision[p] = s == NATS_OK ? rev : 0;
    return s == NATS_OK;
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
    kvStore_Destroy(l->kv);
    forget_members(l);
    free(l->seen);
    free(l->revision);
    free(l->taken);
}
