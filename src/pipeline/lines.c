/*
** lines.c: the line splitter of every line-oriented source, and the
** records of files and stdin (see lines.h).
**
** The hot path is one memchr per line over the read buffer: whole lines
** are handed on where they lie, and only a line cut by the end of a read
** is copied, into a carry buffer of at most max_line + 1 bytes (room for a
** '\r') that grows to the longest partial line seen.
*/
#include "lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- Splitting --------------------------------------------------------- */

/* The longest partial line worth keeping: max_line plus a '\r'. */
static size_t carry_limit(const SlLineHandler *h)
{
    return h->max_line + 1;
}

static void take_line(SlLineHandler *h, const char *line, size_t len)
{
    if (len && line[len - 1] == '\r') len--;
    if (len > h->max_line) h->too_long(h, line, len);
    else h->line(h, line, len);
}

/* An over-long line's start is handed on; the rest is skipped. */
static void start_skipping(SlSplitter *s, SlLineHandler *h, const char *text, size_t len)
{
    h->too_long(h, text, len);
    s->carry.len = 0;
    s->skipping = true;
}

/* Continues the line begun in an earlier read (or the skipping of one)
** with data[0..n); returns how much of the data it used. */
static size_t continue_line(SlSplitter *s, SlLineHandler *h, const char *data, size_t n)
{
    const char *nl = memchr(data, '\n', n);
    size_t part = nl ? (size_t)(nl - data) : n;
    size_t used = nl ? part + 1 : n;
    if (nl) s->line_end = s->pos - n + used;
    if (s->skipping) {
        s->skipping = !nl;
        return used;
    }
    if (s->carry.len + part > carry_limit(h)) {
        size_t room = carry_limit(h) - s->carry.len;
        sl_buf_put(&s->carry, data, room < part ? room : part);
        start_skipping(s, h, s->carry.data, s->carry.len);
        s->skipping = !nl;
        return used;
    }
    sl_buf_put(&s->carry, data, part);
    if (nl) {
        size_t whole = s->carry.len;
        s->carry.len = 0;
        take_line(h, s->carry.data, whole);
    }
    return used;
}

void sl_splitter_feed(SlSplitter *s, SlLineHandler *h, const char *data, size_t n)
{
    const char *p = data, *end = data + n;
    uint64_t start = s->pos;
    s->pos += n;
    if (s->carry.len || s->skipping) p += continue_line(s, h, p, n);
    const char *nl;
    while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
        /* Before the line is handed on: a batch it fills ends with it. */
        s->line_end = start + (uint64_t)(nl + 1 - data);
        take_line(h, p, (size_t)(nl - p));
        p = nl + 1;
    }
    size_t rest = (size_t)(end - p);
    if (rest > carry_limit(h))
        start_skipping(s, h, p, rest);
    else if (rest)
        sl_buf_put(&s->carry, p, rest);
}

void sl_splitter_end(SlSplitter *s, SlLineHandler *h)
{
    s->line_end = s->pos;
    size_t len = s->carry.len;
    s->carry.len = 0;
    if (len && !s->skipping) take_line(h, s->carry.data, len);
    s->skipping = false;
}

void sl_splitter_seek(SlSplitter *s, uint64_t pos)
{
    s->carry.len = 0;
    s->skipping = false;
    s->pos = s->line_end = pos;
}

void sl_splitter_free(SlSplitter *s)
{
    sl_buf_free(&s->carry);
    memset(s, 0, sizeof *s);
}

/* ---- Records of files and stdin ---------------------------------------- */

enum { REJECT_SAMPLE = 256 };

/* Returns false once the pipeline is stopping. */
static bool emit(SlLines *l)
{
    SlBatch *b = l->batch;
    l->batch = NULL;
    if (!b) return true;
    if (l->before_emit) l->before_emit(l->user, b, l->split.line_end);
    return sl_emit(l->ctx, b);
}

static void add_line(SlLineHandler *h, const char *s, size_t len)
{
    SlLines *l = (SlLines *)h;
    if (!len) return;
    if (!l->batch) l->batch = sl_batch_new();
    SlBatch *b = l->batch;
    SlRecord *r = sl_batch_add(b);
    *sl_map_set(b, &r->fields, "message", 7) = sl_str(sl_copy_str(b, s, len), len);
    b->bytes += len + 1;
    if (b->count >= SL_BATCH_RECORDS) emit(l);
}

static void reject_long(SlLineHandler *h, const char *start, size_t have)
{
    SlLines *l = (SlLines *)h;
    size_t keep = have < REJECT_SAMPLE ? have : REJECT_SAMPLE;
    sl_reject_text(l->ctx, start, keep, "line longer than %zu bytes (max_line_bytes); "
                   "its first %zu bytes are kept here", h->max_line, keep);
}

void sl_lines_init(SlLines *l, size_t max_line)
{
    memset(l, 0, sizeof *l);
    l->handler = (SlLineHandler){ max_line, add_line, reject_long };
}

void sl_lines_seek(SlLines *l, uint64_t pos)
{
    sl_splitter_seek(&l->split, pos);
}

bool sl_lines_feed(SlCtx *ctx, SlLines *l, const char *data, size_t n)
{
    l->ctx = ctx;
    sl_splitter_feed(&l->split, &l->handler, data, n);
    return !sl_stopping(ctx);
}

bool sl_lines_flush(SlCtx *ctx, SlLines *l, bool at_end)
{
    l->ctx = ctx;
    if (at_end) sl_splitter_end(&l->split, &l->handler);
    return emit(l);
}

void sl_lines_free(SlLines *l)
{
    sl_batch_free(l->batch);
    sl_splitter_free(&l->split);
    l->batch = NULL;
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
