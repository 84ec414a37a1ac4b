/*
** checkpoint.c: a file source's committed offset (checkpoint.h).
**
** Each tracked batch is a Mark, numbered in the order the batches were
** emitted, in a done prefix (prefix.h). A commit marks its Mark done and
** then pops every done Mark at the front: the last popped end is the
** committed offset. Marks made before a truncation belong to an older
** generation and pop without moving it. A batch that was not written
** never becomes done, so the offset stops before it for the rest of the
** run.
*/
#include "checkpoint.h"
#include "../pipeline/ack.h"
#include "../pipeline/prefix.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct Mark Mark;
struct Mark {
    SlCheckpoint *cp;
    uint64_t number, end, generation;
};

struct SlCheckpoint {
    SlCtx *ctx;
    const char *path;
    int64_t min_interval_ms;        /* between saves made by commits */
    pthread_mutex_t save_lock;      /* one save at a time (one temp file) */
    pthread_mutex_t lock;           /* guards what follows */
    SlPrefix marks;                 /* by number; the items are the Marks */
    uint64_t marked;                /* Marks numbered so far */
    uint64_t generation;
    uint64_t dev, ino, committed;
    bool moved;                     /* since the last save */
    bool input_done;                /* no more marks will come */
    int64_t saved_ns;
};

SlCheckpoint *sl_checkpoint_new(SlCtx *ctx, const char *path, int64_t min_interval_ms)
{
    SlCheckpoint *cp = calloc(1, sizeof *cp);
    if (!cp) abort();
    cp->ctx = ctx;
    cp->path = path;
    cp->min_interval_ms = min_interval_ms;
    pthread_mutex_init(&cp->save_lock, NULL);
    pthread_mutex_init(&cp->lock, NULL);
    sl_prefix_init(&cp->marks);
    return cp;
}

void sl_checkpoint_free(SlCheckpoint *cp)
{
    if (!cp) return;
    /* The Marks of batches that were never written stay open to the end. */
    for (size_t i = 0; i < cp->marks.count; i++)
        free(cp->marks.entries[cp->marks.start + i].item);
    sl_prefix_free(&cp->marks);
    pthread_mutex_destroy(&cp->lock);
    pthread_mutex_destroy(&cp->save_lock);
    free(cp);
}

/* ---- Resuming ---------------------------------------------------------- */

uint64_t sl_checkpoint_resume(SlCheckpoint *cp, dev_t dev, ino_t ino, uint64_t size)
{
    cp->dev = (uint64_t)dev;
    cp->ino = (uint64_t)ino;
    cp->moved = true;                               /* the first save writes */
    FILE *in = fopen(cp->path, "r");
    if (!in) return 0;                              /* a first run */
    uint64_t saved_dev, saved_ino, offset;
    int n = fscanf(in, "dev %" SCNu64 " inode %" SCNu64 " offset %" SCNu64,
                   &saved_dev, &saved_ino, &offset);
    fclose(in);
    if (n != 3) {
        sl_log(cp->ctx, "checkpoint %s is unreadable: reading from the start", cp->path);
        return 0;
    }
    if (saved_dev != cp->dev || saved_ino != cp->ino) {
        sl_log(cp->ctx, "a new file since checkpoint %s (rotated): reading from the start",
               cp->path);
        return 0;
    }
    if (offset > size) {
        sl_log(cp->ctx, "the file is shorter than checkpoint %s (truncated): reading from the start",
               cp->path);
        return 0;
    }
    cp->committed = offset;
    return offset;
}

void sl_checkpoint_truncated(SlCheckpoint *cp)
{
    pthread_mutex_lock(&cp->lock);
    cp->generation++;
    cp->committed = 0;
    cp->moved = true;
    pthread_mutex_unlock(&cp->lock);
}

/* ---- Tracking ---------------------------------------------------------- */

/* Runs on the thread that commits last (ack.h). It saves at most every
** min_interval_ms: a source that has read everything still moves its
** checkpoint while the sinks catch up. */
static void on_commit(void *user, bool committed)
{
    Mark *mark = user;
    SlCheckpoint *cp = mark->cp;
    pthread_mutex_lock(&cp->lock);
    if (committed) sl_prefix_done(&cp->marks, mark->number, mark);
    uint64_t number;
    void *item;
    while (sl_prefix_pop(&cp->marks, &number, &item)) {
        Mark *m = item;
        if (m->generation == cp->generation) {
            cp->committed = m->end;
            cp->moved = true;
        }
        free(m);
    }
    bool last = cp->input_done && !cp->marks.count;
    pthread_mutex_unlock(&cp->lock);
    sl_checkpoint_save(cp, last ? 0 : cp->min_interval_ms);
}

void sl_checkpoint_input_done(SlCheckpoint *cp)
{
    pthread_mutex_lock(&cp->lock);
    cp->input_done = true;
    bool last = !cp->marks.count;
    pthread_mutex_unlock(&cp->lock);
    if (last) sl_checkpoint_save(cp, 0);
}

void sl_checkpoint_track(void *user, SlBatch *batch, uint64_t end)
{
    SlCheckpoint *cp = user;
    Mark *m = calloc(1, sizeof *m);
    if (!m) abort();
    m->cp = cp;
    m->end = end;
    pthread_mutex_lock(&cp->lock);
    m->generation = cp->generation;
    m->number = ++cp->marked;
    sl_prefix_open(&cp->marks, m->number, m);
    pthread_mutex_unlock(&cp->lock);
    sl_batch_on_commit(batch, on_commit, m);
}

/* ---- Saving ------------------------------------------------------------ */

static bool sync_directory(const char *path)
{
    char *copy = strdup(path);
    if (!copy) abort();
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0) return false;
    bool ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

static bool write_atomically(const char *path, const char *text)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return false;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    size_t len = strlen(text);
    bool ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    int saved = errno;
    close(fd);
    errno = saved;
    return ok && rename(tmp, path) == 0 && sync_directory(path);
}

bool sl_checkpoint_save(SlCheckpoint *cp, int64_t min_interval_ms)
{
    pthread_mutex_lock(&cp->save_lock);
    int64_t now = sl_now_ns();
    pthread_mutex_lock(&cp->lock);
    bool due = cp->moved && now - cp->saved_ns >= min_interval_ms * 1000000;
    uint64_t offset = cp->committed;
    if (due) {
        cp->moved = false;
        cp->saved_ns = now;
    }
    pthread_mutex_unlock(&cp->lock);
    bool ok = true;
    if (due) {
        char text[128];
        snprintf(text, sizeof text, "dev %" PRIu64 " inode %" PRIu64 " offset %" PRIu64 "\n",
                 cp->dev, cp->ino, offset);
        ok = write_atomically(cp->path, text);
        if (!ok) sl_log(cp->ctx, "cannot write checkpoint %s: %s", cp->path, strerror(errno));
    }
    pthread_mutex_unlock(&cp->save_lock);
    return ok;
}
