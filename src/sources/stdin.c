/*
** stdin.c: the `stdin` source: the lines of standard input, until its end
** (batch mode). It polls rather than blocking in read, so that a stop is
** noticed even when nothing arrives.
*/
#include "../pipeline/lines.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { READ_SIZE = 256 * 1024, POLL_MS = 100 };

static const SlSetting settings[] = {
    SL_LINES_SETTING,
    { 0 },
};

static int init(SlCtx *ctx, const SlConf *conf)
{
    SlLines *l = malloc(sizeof *l);
    if (!l) return -1;
    sl_lines_init(l, (size_t)sl_conf_int(conf, "max_line_bytes", SL_LINES_DEFAULT_MAX));
    sl_set_state(ctx, l);
    sl_set_finite(ctx, true);
    return 0;
}

static void run(SlCtx *ctx)
{
    SlLines *l = sl_state(ctx);
    char *buf = malloc(READ_SIZE);
    if (!buf) {
        sl_fail(ctx, "out of memory");
        return;
    }
    while (!sl_stopping(ctx)) {
        struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
        int ready = poll(&pfd, 1, POLL_MS);
        if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
        ssize_t n = ready < 0 ? -1 : sl_lines_read(ctx, l, STDIN_FILENO, buf, READ_SIZE);
        if (n == -1) sl_fail(ctx, "cannot read standard input: %s", strerror(errno));
        if (n <= 0) break;
    }
    sl_lines_flush(ctx, l, true);
    free(buf);
}

static void destroy(void *state)
{
    sl_lines_free(state);
    free(state);
}

const SlComponentType sl_source_stdin = {
    .name = "stdin",
    .kind = SL_SOURCE,
    .doc = "The lines of standard input.",
    .settings = settings,
    .init = init,
    .run = run,
    .destroy = destroy,
};
