/*
** file.c: the `file` source: the lines of a file, read once (batch mode) or
** followed like `tail -f` (stream mode; a truncated file is read again from
** the start).
*/
#include "../pipeline/lines.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { READ_SIZE = 256 * 1024, FOLLOW_POLL_MS = 100 };

static const SlSetting settings[] = {
    { .name = "path", .type = SL_SET_STRING, .required = true,
      .doc = "The file to read (relative to the pipeline file)." },
    { .name = "follow", .type = SL_SET_BOOL, .def = "false",
      .doc = "Keep reading what is appended, until the pipeline stops." },
    SL_LINES_SETTING,
    { 0 },
};

typedef struct FileSource {
    const char *path;
    bool follow;
    int fd;
    uint64_t size, offset;
    SlLines lines;
} FileSource;

static int init(SlCtx *ctx, const SlConf *conf)
{
    FileSource *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->path = sl_path(ctx, sl_conf_str(conf, "path", ""));
    f->follow = sl_conf_bool(conf, "follow", false);
    f->fd = -1;
    sl_lines_init(&f->lines, (size_t)sl_conf_int(conf, "max_line_bytes", SL_LINES_DEFAULT_MAX));
    sl_set_state(ctx, f);
    sl_set_finite(ctx, !f->follow);
    return 0;
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
    return 0;
}

/* Following: waits a little; a file that shrank was truncated. */
static void wait_for_more(FileSource *f)
{
    nanosleep(&(struct timespec){ 0, FOLLOW_POLL_MS * 1000000L }, NULL);
    struct stat st;
    if (fstat(f->fd, &st) == 0 && (uint64_t)st.st_size < f->offset) {
        lseek(f->fd, 0, SEEK_SET);
        f->offset = 0;
    }
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
        if (sl_stopping(ctx)) break;
    }
    sl_lines_flush(ctx, &f->lines, true);
    free(buf);
}

static void destroy(void *state)
{
    FileSource *f = state;
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
