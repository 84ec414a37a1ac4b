/*
** stdout.c: the `stdout` sink: records to standard output as NDJSON or CSV.
*/
#include "../pipeline/textout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const SlSetting settings[] = {
    SL_TEXTOUT_SETTINGS,
    { 0 },
};

static int init(SlCtx *ctx, const SlConf *conf)
{
    SlTextOut *t = malloc(sizeof *t);
    if (!t) return -1;
    sl_set_state(ctx, t);
    return sl_textout_init(ctx, t, conf);
}

static void process(SlCtx *ctx, SlBatch *b)
{
    SlTextOut *t = sl_state(ctx);
    t->buf.len = 0;
    sl_textout_encode(t, b);
    sl_batch_free(b);
    if (!sl_write_all(STDOUT_FILENO, t->buf.data, t->buf.len))
        sl_fail(ctx, "cannot write to standard output: %s", strerror(errno));
    else
        sl_count_bytes_out(ctx, t->buf.len);
}

static void destroy(void *state)
{
    sl_textout_free(state);
    free(state);
}

const SlComponentType sl_sink_stdout = {
    .name = "stdout",
    .kind = SL_SINK,
    .doc = "Writes records to standard output as NDJSON or CSV.",
    .settings = settings,
    .init = init,
    .process = process,
    .destroy = destroy,
};
