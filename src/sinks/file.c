/*
** file.c: the `file` sink: records to a file as NDJSON or CSV, one write
** per batch. `delay_ms` slows it down on purpose, to test backpressure.
*/
#include "../pipeline/textout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const SlSetting settings[] = {
    { .name = "path", .type = SL_SET_STRING, .required = true,
      .doc = "The file to write (relative to the pipeline file)." },
    { .name = "append", .type = SL_SET_BOOL, .def = "false",
      .doc = "Add to the end of an existing file instead of replacing it." },
    SL_TEXTOUT_SETTINGS,
    { .name = "delay_ms", .type = SL_SET_INT, .def = "0", .min = 0, .max = 60000,
      .doc = "For tests: wait this long after each batch, like a slow disk." },
    { 0 },
};

typedef struct FileSink {
    SlTextOut text;
    const char *path;
    bool append;
    int64_t delay_ms;
    int fd;
} FileSink;

static int init(SlCtx *ctx, const SlConf *conf)
{
    FileSink *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->fd = -1;
    sl_set_state(ctx, f);
    f->path = sl_path(ctx, sl_conf_str(conf, "path", ""));
    f->append = sl_conf_bool(conf, "append", false);
    f->delay_ms = sl_conf_int(conf, "delay_ms", 0);
    return sl_textout_init(ctx, &f->text, conf);
}

static int start(SlCtx *ctx)
{
    FileSink *f = sl_state(ctx);
    int mode = O_WRONLY | O_CREAT | O_CLOEXEC | (f->append ? O_APPEND : O_TRUNC);
    f->fd = open(f->path, mode, 0644);
    if (f->fd < 0) {
        sl_fail(ctx, "cannot open %s for writing: %s", f->path, strerror(errno));
        return -1;
    }
    return 0;
}

static void process(SlCtx *ctx, SlBatch *b)
{
    FileSink *f = sl_state(ctx);
    f->text.buf.len = 0;
    sl_textout_encode(&f->text, b);
    sl_batch_free(b);
    if (!sl_write_all(f->fd, f->text.buf.data, f->text.buf.len)) {
        sl_fail(ctx, "cannot write %s: %s", f->path, strerror(errno));
        return;
    }
    sl_count_bytes_out(ctx, f->text.buf.len);
    if (f->delay_ms)
        nanosleep(&(struct timespec){ f->delay_ms / 1000, f->delay_ms % 1000 * 1000000 }, NULL);
}

static void destroy(void *state)
{
    FileSink *f = state;
    if (f->fd >= 0) close(f->fd);
    sl_textout_free(&f->text);
    free(f);
}

const SlComponentType sl_sink_file = {
    .name = "file",
    .kind = SL_SINK,
    .doc = "Writes records to a file as NDJSON or CSV.",
    .settings = settings,
    .init = init,
    .start = start,
    .process = process,
    .destroy = destroy,
};
