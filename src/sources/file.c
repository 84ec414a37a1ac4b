/*
** file.c: the `file` source: the lines of a file, read once (batch mode) or
** followed like `tail -f` (stream mode; a truncated file is read again from
** the start).
**
** With `checkpoint`, the offset up to which every sink has committed the
** lines is kept in that file (checkpoint.h), and a restart resumes there:
** delivery is at least once, and a file read to the end is not read again.
*/
#include "../pipeline/lines.h"
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { READ_SIZE = 256 * 1024, FOLLOW_POLL_MS = 100, CHECKPOINT_EVERY_MS = 200 };

static const SlSetting settings[] = {
    { .name = "path", .type = SL_SET_STRING, .required = true,
      .doc = "The file to read (relative to the pipeline file)." },
    { .name = "follow", .type = SL_SET_BOOL, .def = "false",
      .doc = "Keep reading what is appended, until the pipeline stops." },
    SL_LINES_SETTING,
    { .name = "checkpoint", .type = SL_SET_STRING,
      .doc = "A file to keep the committed offset in: a restart resumes there." },
    { 0 },
};

typedef struct FileSource {
    const char *path, *checkpoint_path;
    bool follow;
    int fd;
    uint64_t size, offset;
    SlLines lines;
    SlCheckpoint *checkpoint;       /* NULL without `checkpoint` */
} FileSource;

static int init(SlCtx *ctx, const SlConf *conf)
{
    FileSource *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->path = sl_path(ctx, sl_conf_str(conf, "path", ""));
    f->follow = sl_conf_bool(conf, "follow", false);
    const char *checkpoint = sl_conf_str(conf, "checkpoint", NULL);
    if (checkpoint) f->checkpoint_path = sl_path(ctx, checkpoint);
    f->fd = -1;
    sl_lines_init(&f->lines, (size_t)sl_conf_int(conf, "max_line_bytes", SL_LINES_DEFAULT_MAX));
    sl_set_state(ctx, f);
    sl_set_finite(ctx, !f->follow);
    return 0;
}

/* Seeks to the committed offset; the first save proves the checkpoint
** can be written before anything is read. */
static int resume(SlCtx *ctx, FileSource *f, const struct stat *st)
{
    f->checkpoint = sl_checkpoint_new(ctx, f->checkpoint_path, CHECKPOINT_EVERY_MS);
    f->offset = sl_checkpoint_resume(f->checkpoint, st->st_dev, st->st_ino, f->size);
    if (f->offset && lseek(f->fd, (off_t)f->offset, SEEK_SET) < 0) {
        sl_fail(ctx, "cannot seek %s: %s", f->path, strerror(errno));
        return -1;
    }
    sl_lines_seek(&f->lines, f->offset);
    f->lines.before_emit = sl_checkpoint_track;
    f->lines.user = f->checkpoint;
    if (sl_checkpoint_save(f->checkpoint, 0)) return 0;
    sl_fail(ctx, "cannot keep the checkpoint");
    return -1;
}

static int start(SlCtx *ctx)
{
    FileSource *f = sl_state(ctx);
    f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        sl_fail(ctx, "cannot open %s: %s", f->path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(f->fd, &st) == 0) f->size = (uint64_t)st.st_size;
    return f->checkpoint_path ? resume(ctx, f, &st) : 0;
}

/* Following: waits a little; a file that shrank was truncated. */
static void wait_for_more(FileSource *f)
{
    nanosleep(&(struct timespec){ 0, FOLLOW_POLL_MS * 1000000L }, NULL);
    struct stat st;
    if (fstat(f->fd, &st) == 0 && (uint64_t)st.st_size < f->offset) {
        lseek(f->fd, 0, SEEK_SET);
        f->offset = 0;
        sl_lines_seek(&f->lines, 0);
        if (f->checkpoint) sl_checkpoint_truncated(f->checkpoint);
    }
}

static void save_checkpoint(FileSource *f, int64_t min_interval_ms)
{
    if (f->checkpoint) sl_checkpoint_save(f->checkpoint, min_interval_ms);
}

static void run(SlCtx *ctx)
{
    FileSource *f = sl_state(ctx);
    char *buf = malloc(READ_SIZE);
    if (!buf) {
        sl_fail(ctx, "out of memory");
        return;
    }
    for (;;) {
        ssize_t n = sl_lines_read(ctx, &f->lines, f->fd, buf, READ_SIZE);
        if (n > 0) {
            f->offset += (uint64_t)n;
            sl_progress(ctx, f->offset, f->size > f->offset ? f->size : f->offset);
            continue;
        }
        if (n == -1) sl_fail(ctx, "cannot read %s: %s", f->path, strerror(errno));
        if (n < 0 || !f->follow || sl_stopping(ctx)) break;
        wait_for_more(f);
        save_checkpoint(f, CHECKPOINT_EVERY_MS);    /* the last commits, when idle */
        if (sl_stopping(ctx)) break;
    }
    sl_lines_flush(ctx, &f->lines, true);
    if (f->checkpoint) sl_checkpoint_input_done(f->checkpoint);
    free(buf);
}

/* Every batch's commit has come by now (ack.h): the last save is final. */
static void destroy(void *state)
{
    FileSource *f = state;
    if (f->checkpoint) {
        save_checkpoint(f, 0);
        sl_checkpoint_free(f->checkpoint);
    }
    if (f->fd >= 0) close(f->fd);
    sl_lines_free(&f->lines);
    free(f);
}

const SlComponentType sl_source_file = {
    .name = "file",
    .kind = SL_SOURCE,
    .doc = "The lines of a file, read once or followed.",
    .settings = settings,
    .init = init,
    .start = start,
    .run = run,
    .destroy = destroy,
};
