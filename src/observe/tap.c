/*
** tap.c: tap streams, the live look at what a component emits behind
** GET /tap?component=NAME.
**
** The pipeline allows one tap function per component; a hub per component
** fans what it sees out to every stream reading that component, and taps
** the component only while it has streams, so a component nobody watches
** pays nothing. The tap function runs on the pipeline's threads: it turns
** the records a stream still wants into NDJSON in the stream's `pending`
** buffer and returns. It never waits for a reader: a stream whose reader
** lags holds at most SL_TAP_PENDING_MAX bytes, and records arriving beyond
** that are left out of the stream (never out of the pipeline).
**
** Locks: a hub's `control` serializes adding and removing streams with
** tapping and untapping the component (so two clients cannot race a tap
** off); `lock` guards the stream list and the pending buffers. The
** pipeline calls the tap function under its own tap lock, which is then
** taken before `lock`; `control` is held around sl_pipeline_tap, so the
** order is always control, tap lock, lock.
*/
#include "observe.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { WAIT_SLICE_MS = 500 };

typedef struct Hub {
    SlTaps *taps;
    const char *name;
    pthread_mutex_t control;
    pthread_mutex_t lock;
    pthread_cond_t more;            /* pending text, or the end, may have come */
    SlTapStream *streams;
} Hub;

struct SlTaps {
    SlPipeline *pipeline;
    Hub *hubs;
    size_t count;
    atomic_bool closing;
    pthread_mutex_t open_lock;
    pthread_cond_t all_closed;
    size_t open;                    /* streams not yet closed */
};

struct SlTapStream {
    Hub *hub;
    SlTapStream *next;
    int64_t deadline_ns;
    /* Guarded by the hub's lock. */
    SlBuf pending;                  /* NDJSON the tap added, not yet taken */
    uint64_t wanted;                /* records still to take; UINT64_MAX: all */
    /* The reader's own. */
    SlBuf sending;
    size_t sent;
};

static void make_cond(pthread_cond_t *c)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
}

SlTaps *sl_taps_new(SlPipeline *p)
{
    SlTaps *t = calloc(1, sizeof *t);
    size_t n = sl_pipeline_count(p);
    Hub *hubs = calloc(n ? n : 1, sizeof *hubs);
    if (!t || !hubs) abort();
    t->pipeline = p;
    t->hubs = hubs;
    t->count = n;
    pthread_mutex_init(&t->open_lock, NULL);
    make_cond(&t->all_closed);
    for (size_t i = 0; i < n; i++) {
        SlStats s;
        sl_pipeline_stats(p, i, &s);
        hubs[i].taps = t;
        hubs[i].name = s.name;
        pthread_mutex_init(&hubs[i].control, NULL);
        pthread_mutex_init(&hubs[i].lock, NULL);
        make_cond(&hubs[i].more);
    }
    return t;
}

/* ---- The pipeline's side --------------------------------------------- */

static bool take_records(SlTapStream *s, const SlBatch *b)
{
    size_t before = s->pending.len;
    for (uint32_t i = 0; i < b->count && s->wanted && s->pending.len < SL_TAP_PENDING_MAX; i++) {
        sl_json_record(&s->pending, &b->records[i]);
        if (s->wanted != UINT64_MAX) s->wanted--;
    }
    return s->pending.len != before || !s->wanted;
}

static void on_batch(void *user, const char *component, const SlBatch *b)
{
    (void)component;
    Hub *h = user;
    bool woke = false;
    pthread_mutex_lock(&h->lock);
    for (SlTapStream *s = h->streams; s; s = s->next)
        woke |= s->wanted && take_records(s, b);
    if (woke) pthread_cond_broadcast(&h->more);
    pthread_mutex_unlock(&h->lock);
}

/* ---- Streams --------------------------------------------------------- */

static Hub *find_hub(SlTaps *t, const char *name)
{
    for (size_t i = 0; i < t->count; i++)
        if (!strcmp(t->hubs[i].name, name)) return &t->hubs[i];
    return NULL;
}

SlTapStream *sl_tap_open(SlTaps *t, const char *component, uint64_t limit,
                         int64_t deadline_ns)
{
    Hub *h = find_hub(t, component);
    if (!h) return NULL;
    SlTapStream *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->hub = h;
    s->wanted = limit ? limit : UINT64_MAX;
    s->deadline_ns = deadline_ns;

    pthread_mutex_lock(&t->open_lock);
    t->open++;
    pthread_mutex_unlock(&t->open_lock);

    pthread_mutex_lock(&h->control);
    pthread_mutex_lock(&h->lock);
    bool first = !h->streams;
    s->next = h->streams;
    h->streams = s;
    pthread_mutex_unlock(&h->lock);
    if (first) sl_pipeline_tap(t->pipeline, h->name, on_batch, h);
    pthread_mutex_unlock(&h->control);
    return s;
}

void sl_tap_close(SlTapStream *s)
{
    Hub *h = s->hub;
    SlTaps *t = h->taps;
    pthread_mutex_lock(&h->control);
    pthread_mutex_lock(&h->lock);
    SlTapStream **at = &h->streams;
    while (*at != s) at = &(*at)->next;
    *at = s->next;
    bool last = !h->streams;
    pthread_mutex_unlock(&h->lock);
    if (last) sl_pipeline_untap(t->pipeline, h->name);
    pthread_mutex_unlock(&h->control);

    sl_buf_free(&s->pending);
    sl_buf_free(&s->sending);
    free(s);

    pthread_mutex_lock(&t->open_lock);
    if (--t->open == 0) pthread_cond_broadcast(&t->all_closed);
    pthread_mutex_unlock(&t->open_lock);
}

static struct timespec at_ns(int64_t ns)
{
    return (struct timespec){ .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };
}

/* Under the hub's lock: nothing more will come. */
static bool ended(const SlTapStream *s, int64_t now)
{
    return !s->wanted || atomic_load(&s->hub->taps->closing) ||
           (s->deadline_ns && now >= s->deadline_ns);
}

/* Moves the pending text to `sending`, waiting up to a slice for some.
** False when the stream has ended and everything has been taken. */
static bool refill(SlTapStream *s)
{
    Hub *h = s->hub;
    pthread_mutex_lock(&h->lock);
    int64_t now = sl_observe_now_ns();
    int64_t until = now + (int64_t)WAIT_SLICE_MS * 1000000;
    if (s->deadline_ns && s->deadline_ns < until) until = s->deadline_ns;
    while (!s->pending.len && !ended(s, now) && now < until) {
        struct timespec ts = at_ns(until);
        pthread_cond_timedwait(&h->more, &h->lock, &ts);
        now = sl_observe_now_ns();
    }
    SlBuf spare = s->sending;
    spare.len = 0;
    s->sending = s->pending;
    s->pending = spare;
    s->sent = 0;
    bool more = s->sending.len || !ended(s, now);
    pthread_mutex_unlock(&h->lock);
    return more;
}

ssize_t sl_tap_read(SlTapStream *s, char *buf, size_t max)
{
    if (s->sent == s->sending.len && !refill(s)) return -1;
    size_t n = s->sending.len - s->sent;
    if (!n) return 0;               /* nothing came in this wait */
    if (n > max) n = max;
    memcpy(buf, s->sending.data + s->sent, n);
    s->sent += n;
    return (ssize_t)n;
}

/* ---- Closing ---------------------------------------------------------- */

void sl_taps_close(SlTaps *t, int grace_ms)
{
    atomic_store(&t->closing, true);
    for (size_t i = 0; i < t->count; i++) {
        pthread_mutex_lock(&t->hubs[i].lock);
        pthread_cond_broadcast(&t->hubs[i].more);
        pthread_mutex_unlock(&t->hubs[i].lock);
    }
    struct timespec until = at_ns(sl_observe_now_ns() + (int64_t)grace_ms * 1000000);
    pthread_mutex_lock(&t->open_lock);
    int rc = 0;
    while (t->open && rc == 0)
        rc = pthread_cond_timedwait(&t->all_closed, &t->open_lock, &until);
    pthread_mutex_unlock(&t->open_lock);
}

void sl_taps_free(SlTaps *t)
{
    for (size_t i = 0; i < t->count; i++) {
        pthread_mutex_destroy(&t->hubs[i].control);
        pthread_mutex_destroy(&t->hubs[i].lock);
        pthread_cond_destroy(&t->hubs[i].more);
    }
    pthread_mutex_destroy(&t->open_lock);
    pthread_cond_destroy(&t->all_closed);
    free(t->hubs);
    free(t);
}
