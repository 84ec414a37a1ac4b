/*
** lines.c: line splitting for line-oriented sources (see lines.h). Whole
** lines are copied once, into the arena of the batch that carries them; a
** line cut by the end of a read waits in a buffer of at most max_line bytes.
*/
#include "lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { REJECT_SAMPLE = 256 };

void sl_lines_init(SlLines *l, size_t max_line)
{
    memset(l, 0, sizeof *l);
    l->max_line = max_line;
}

void sl_lines_seek(SlLines *l, uint64_t pos)
{
    l->len = 0;
    l->skipping = false;
    l->pos = l->line_end = pos;
}

static bool emit(SlCtx *ctx, SlLines *l, SlBatch *b)
{
    if (l->before_emit) l->before_emit(l->user, b, l->line_end);
    return sl_emit(ctx, b);
}

static bool add_line(SlCtx *ctx, SlLines *l, const char *s, size_t len)
{
    size_t bytes = len + 1;
    if (len && s[len - 1] == '\r') len--;
    if (!len) return true;
    if (!l->batch) l->batch = sl_batch_new();
    SlBatch *b = l->batch;
    SlRecord *r = sl_batch_add(b);
    *sl_map_set(b, &r->fields, "message", 7) = sl_str(sl_copy_str(b, s, len), len);
    b->bytes += bytes;
    if (b->count < SL_BATCH_RECORDS) return true;
    l->batch = NULL;
    return emit(ctx, l, b);
}

static void reject_long(SlCtx *ctx, const SlLines *l, const char *start, size_t have)
{
    size_t keep = have < REJECT_SAMPLE ? have : REJECT_SAMPLE;
    sl_reject_text(ctx, start, keep, "line longer than %zu bytes (max_line_bytes); "
                   "its first %zu bytes are kept here", l->max_line, keep);
}

static void append(SlLines *l, const char *s, size_t n)
{
    if (l->len + n > l->cap) {
        l->cap = (l->len + n) * 2;
        l->buf = realloc(l->buf, l->cap);
        if (!l->buf) abort();
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* One piece: up to and excluding the next newline (`complete`), or the
** rest of the data. */
static bool piece(SlCtx *ctx, SlLines *l, const char *s, size_t len, bool complete)
{
    if (l->skipping) {
        l->skipping = !complete;
        return true;
    }
    if (l->len + len > l->max_line) {
        if (l->len) reject_long(ctx, l, l->buf, l->len);
        else reject_long(ctx, l, s, len);
        l->len = 0;
        l->skipping = !complete;
        return true;
    }
    if (!complete) {
        append(l, s, len);
        return true;
    }
    if (!l->len) return add_line(ctx, l, s, len);
    append(l, s, len);
    size_t whole = l->len;
    l->len = 0;
    return add_line(ctx, l, l->buf, whole);
}

bool sl_lines_feed(SlCtx *ctx, SlLines *l, const char *data, size_t n)
{
    bool go = true;
    while (n) {
        const char *nl = memchr(data, '\n', n);
        size_t len = nl ? (size_t)(nl - data) : n, step = len + (nl != NULL);
        /* Before the piece: a batch it fills ends with this line. */
        if (nl) l->line_end = l->pos + step;
        go = piece(ctx, l, data, len, nl != NULL) && go;
        l->pos += step;
        data += step;
        n -= step;
    }
    return go && !sl_stopping(ctx);
}

bool sl_lines_flush(SlCtx *ctx, SlLines *l, bool at_end)
{
    bool go = true;
    if (at_end) l->line_end = l->pos;
    if (at_end && l->len && !l->skipping) {
        size_t len = l->len;
        l->len = 0;
        go = add_line(ctx, l, l->buf, len);
    }
    if (l->batch) {
        SlBatch *b = l->batch;
        l->batch = NULL;
        go = emit(ctx, l, b) && go;
    }
    return go;
}

void sl_lines_free(SlLines *l)
{
    sl_batch_free(l->batch);
    free(l->buf);
    memset(l, 0, sizeof *l);
}

ssize_t sl_lines_read(SlCtx *ctx, SlLines *l, int fd, char *buf, size_t size)
{
    ssize_t n;
    do n = read(fd, buf, size);
    while (n < 0 && errno == EINTR && !sl_stopping(ctx));
    if (n <= 0) return n;
    sl_count_bytes_in(ctx, (uint64_t)n);
    bool go = sl_lines_feed(ctx, l, buf, (size_t)n);
    if (go && (size_t)n < size) go = sl_lines_flush(ctx, l, false);
    return go ? n : -2;
}
