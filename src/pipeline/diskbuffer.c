/*
** diskbuffer.c: a sink's disk buffer (diskbuffer.h): the `buffer` setting,
** the append side (a worker, in place of the sink's process call) and the
** feeder thread that replays the log into the sink.
**
** One lock guards the log; appends and the feeder wait on one condition
** (room, or an entry) with a short timeout, so that a stop is noticed
** without a hook in sl_pipeline_stop. The feeder is the only caller of the
** sink's process, so the sink still sees one batch at a time, in order.
*/
#include "diskbuffer.h"
#include "ack.h"
#include "pack.h"
#include "seglog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { WAIT_MS = 100, MIN_SEGMENT = 4096, MAX_SEGMENT = 64 << 20 };

static const char *const types[] = { "disk", NULL };
static const char *const when_full[] = { "block", NULL };

static const SlSetting buffer_fields[] = {
    { .name = "type", .type = SL_SET_STRING, .required = true, .choices = types,
      .doc = "Where batches wait for the sink: disk." },
    { .name = "path", .type = SL_SET_STRING, .required = true,
      .doc = "The buffer's directory (relative to the pipeline file), one per sink." },
    { .name = "max_bytes", .type = SL_SET_STRING, .def = "256MiB",
      .doc = "The most the buffer holds on disk: bytes, or with KiB, MiB, GiB." },
    { .name = "when_full", .type = SL_SET_STRING, .def = "block", .choices = when_full,
      .doc = "A full buffer blocks its inputs (backpressure): nothing is dropped." },
    { .name = "fsync", .type = SL_SET_STRING, .def = "batch",
      .doc = "batch: each batch is on disk before its source is acknowledged; "
             "N: flushed at most every N milliseconds." },
    { 0 },
};

const SlSetting sl_buffer_setting = {
    .name = "buffer", .type = SL_SET_OBJECT, .fields = buffer_fields,
    .doc = "Buffer the sink's batches on disk: outages fill it, kill -9 keeps it.",
};

struct SlDiskBuffer {
    const char *dir;
    uint64_t max_bytes;
    int64_t sync_ms;                /* 0: every batch */
    int lock_fd;                    /* DIR/lock, flocked: one user per buffer */
    SlSegLog *log;
    pthread_mutex_t lock;           /* guards the log and what follows */
    pthread_cond_t changed;         /* room made, entry added, told to end */
    bool draining, quit, feeder_done;
    int64_t synced_ns;
    pthread_t feeder;
    bool feeder_started;
    SlBuf packed, entry;            /* the appender's and the feeder's */
};

/* ---- The setting --------------------------------------------------------- */

/* "256MiB", "64KiB", "1GiB" or a number of bytes. */
static bool parse_size(const char *text, uint64_t *out)
{
    static const struct { const char *unit; int shift; } units[] = {
        { "", 0 }, { "KiB", 10 }, { "MiB", 20 }, { "GiB", 30 },
    };
    char *end;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (end == text || errno || text[0] == '-' || text[0] == '+') return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].unit) && n <= (UINT64_MAX >> units[i].shift) && n) {
            *out = (uint64_t)n << units[i].shift;
            return true;
        }
    return false;
}

static bool parse_sync(const char *text, int64_t *ms)
{
    if (!strcmp(text, "batch")) {
        *ms = 0;
        return true;
    }
    return sl_scalar_int(text, ms) && *ms > 0 && *ms <= 3600000;
}

SlDiskBuffer *sl_diskbuffer_new(SlCtx *ctx, const SlConf *node, SlDiag *d)
{
    uint64_t max_bytes;
    int64_t sync_ms;
    const char *size = sl_conf_str(node, "max_bytes", "256MiB");
    const char *sync = sl_conf_str(node, "fsync", "batch");
    bool ok = true;
    if (!parse_size(size, &max_bytes) || max_bytes < MIN_SEGMENT) {
        sl_diag_at(d, sl_conf_get(node, "max_bytes"), false,
                   "'max_bytes' must be a size of at least 4KiB, like 64MiB or 1GiB, not '%s'", size);
        ok = false;
    }
    if (!parse_sync(sync, &sync_ms)) {
        sl_diag_at(d, sl_conf_get(node, "fsync"), false,
                   "'fsync' must be 'batch' or milliseconds between 1 and 3600000, not '%s'", sync);
        ok = false;
    }
    if (!ok) return NULL;
    SlDiskBuffer *db = calloc(1, sizeof *db);
    if (!db) abort();
    db->dir = sl_path(ctx, sl_conf_str(node, "path", ""));
    db->max_bytes = max_bytes;
    db->sync_ms = sync_ms;
    db->lock_fd = -1;
    pthread_mutex_init(&db->lock, NULL);
    pthread_cond_init(&db->changed, NULL);
    return db;
}

/* ---- Waiting (under the lock) -------------------------------------------- */

static void wait_a_little(SlDiskBuffer *db)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += WAIT_MS * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&db->changed, &db->lock, &ts);
}

/* An empty buffer takes any batch, so one larger than max_bytes passes. */
static bool has_room(const SlDiskBuffer *db, size_t len)
{
    return sl_seglog_pending(db->log) == 0 ||
           sl_seglog_bytes(db->log) + sl_seglog_entry_bytes(len) <= db->max_bytes;
}

static bool sync_if_due(SlDiskBuffer *db, bool now)
{
    int64_t t = sl_now_ns();
    if (!now && t - db->synced_ns < db->sync_ms * 1000000) return true;
    db->synced_ns = t;
    return sl_seglog_sync(db->log);
}

/* ---- Appending ------------------------------------------------------------ */

void sl_diskbuffer_append(SlCtx *ctx, SlBatch *b)
{
    SlDiskBuffer *db = ctx->buffer;
    db->packed.len = 0;
    sl_pack_batch(&db->packed, b);
    pthread_mutex_lock(&db->lock);
    /* Stopping: what is in flight is written even past the bound, so that
    ** a stop never waits for the sink. */
    while (!has_room(db, db->packed.len) && !ctx->pipeline->stopping) wait_a_little(db);
    bool ok = sl_seglog_append(db->log, db->packed.data, db->packed.len) &&
              sync_if_due(db, db->sync_ms == 0);
    int saved = errno;
    pthread_cond_broadcast(&db->changed);
    pthread_mutex_unlock(&db->lock);
    if (!ok) {
        sl_fail(ctx, "cannot write to the buffer in %s: %s", db->dir, strerror(saved));
        sl_ack_abandon(b->ack);
    }
    sl_batch_free(b);       /* on disk: its source may acknowledge it */
}

/* ---- The feeder ------------------------------------------------------------ */

static bool sink_failed(SlCtx *ctx)
{
    pthread_mutex_lock(&ctx->pipeline->lock);
    bool failed = ctx->failed;
    pthread_mutex_unlock(&ctx->pipeline->lock);
    return failed;
}

static void report_damage(void *user, const char *message)
{
    SlCtx *ctx = user;
    sl_log(ctx, "buffer: %s", message);
    sl_count_errors(ctx, 1);
}

/* One entry through the sink; false if the sink failed on it. */
static bool deliver(SlCtx *ctx, SlDiskBuffer *db, uint64_t seq)
{
    SlBatch *b = sl_unpack_batch(db->entry.data, db->entry.len);
    if (!b) {
        char message[256];
        snprintf(message, sizeof message, "%s: entry %" PRIu64 " does not unpack: skipped",
                 db->dir, seq);
        report_damage(ctx, message);
        return true;
    }
    ctx->type->process(ctx, b);
    sl_outbox_flush(ctx, false);
    return !sink_failed(ctx);
}

/* The next entry to deliver: 1, or 0 when the feeder should end. */
static int next_entry(SlCtx *ctx, SlDiskBuffer *db, uint64_t *seq)
{
    for (;;) {
        if (db->sync_ms) sync_if_due(db, false);
        if (db->quit) return 0;
        int rc = sl_seglog_next(db->log, &db->entry, seq);
        if (rc == 1) return 1;
        if (rc < 0) {
            sl_fail(ctx, "cannot read the buffer in %s: %s", db->dir, strerror(errno));
            return 0;
        }
        if (db->draining) return 0;
        wait_a_little(db);
    }
}

static void *feeder_main(void *arg)
{
    SlCtx *ctx = arg;
    SlDiskBuffer *db = ctx->buffer;
    uint64_t seq;
    pthread_mutex_lock(&db->lock);
    while (next_entry(ctx, db, &seq)) {
        pthread_mutex_unlock(&db->lock);
        bool delivered = deliver(ctx, db, seq);
        pthread_mutex_lock(&db->lock);
        if (!delivered) break;              /* it stays for the next run */
        if (!sl_seglog_commit(db->log, seq))
            sl_log(ctx, "buffer: cannot record progress in %s: %s (it will be delivered again)",
                   db->dir, strerror(errno));
        pthread_cond_broadcast(&db->changed);
    }
    sl_seglog_sync(db->log);
    db->feeder_done = true;
    pthread_cond_broadcast(&db->changed);
    pthread_mutex_unlock(&db->lock);
    return NULL;
}

/* ---- Life ------------------------------------------------------------------ */

static bool lock_dir(SlCtx *ctx, SlDiskBuffer *db)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/lock", db->dir);
    if (mkdir(db->dir, 0755) != 0 && errno != EEXIST) {
        sl_fail(ctx, "cannot make the buffer directory %s: %s", db->dir, strerror(errno));
        return false;
    }
    db->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (db->lock_fd >= 0 && flock(db->lock_fd, LOCK_EX | LOCK_NB) == 0) return true;
    sl_fail(ctx, "the buffer %s is %s", db->dir,
            errno == EWOULDBLOCK ? "in use by another sink or sluice" : strerror(errno));
    return false;
}

bool sl_diskbuffer_start(SlCtx *ctx)
{
    SlDiskBuffer *db = ctx->buffer;
    if (!lock_dir(ctx, db)) return false;
    char why[512];
    uint64_t segment = db->max_bytes / 8;
    segment = segment < MIN_SEGMENT ? MIN_SEGMENT : segment > MAX_SEGMENT ? MAX_SEGMENT : segment;
    db->log = sl_seglog_open(db->dir, segment, report_damage, ctx, why, sizeof why);
    if (!db->log) {
        sl_fail(ctx, "cannot open the buffer %s", why);
        return false;
    }
    uint64_t pending = sl_seglog_pending(db->log);
    if (pending)
        sl_log(ctx, "buffer: %" PRIu64 " batches from an earlier run are delivered first", pending);
    db->feeder_started = pthread_create(&db->feeder, NULL, feeder_main, ctx) == 0;
    if (!db->feeder_started) sl_fail(ctx, "cannot start the buffer's feeder thread");
    return db->feeder_started;
}

static void stop_feeder(SlDiskBuffer *db, bool drain, const SlPipeline *p)
{
    if (!db->feeder_started) return;
    pthread_mutex_lock(&db->lock);
    db->draining = drain;
    while (!db->feeder_done) {
        if (!drain || p->stopping) db->quit = true;
        pthread_cond_broadcast(&db->changed);
        wait_a_little(db);
    }
    pthread_mutex_unlock(&db->lock);
    pthread_join(db->feeder, NULL);
    db->feeder_started = false;
}

void sl_diskbuffer_finish(SlCtx *ctx)
{
    stop_feeder(ctx->buffer, true, ctx->pipeline);
}

void sl_diskbuffer_free(SlDiskBuffer *db)
{
    if (!db) return;
    stop_feeder(db, false, NULL);
    sl_seglog_close(db->log);
    if (db->lock_fd >= 0) close(db->lock_fd);      /* releases the flock */
    sl_buf_free(&db->packed);
    sl_buf_free(&db->entry);
    pthread_mutex_destroy(&db->lock);
    pthread_cond_destroy(&db->changed);
    free(db);
}
