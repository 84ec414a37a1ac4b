/*
** netlines.c: received bytes to records (see netlines.h).
**
** The hot path is the splitter's memchr per line (pipeline/lines.c), an
** ASCII check eight bytes at a time, and two bump allocations in the batch
** arena: the line's bytes and one table holding the record's fields and
** its metadata. The peer string is copied into a batch once, not per
** record.
*/
#include "netlines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 --------------------------------------------------------------- */

/* The length of the valid UTF-8 sequence starting at s[0] (not ASCII), or
** 0 if it is invalid: truncated, overlong, a surrogate or past U+10FFFF. */
static size_t utf8_sequence(const unsigned char *s, size_t avail)
{
    size_t len;
    uint32_t cp, min;
    if ((s[0] & 0xe0) == 0xc0) { len = 2; cp = s[0] & 0x1fu; min = 0x80; }
    else if ((s[0] & 0xf0) == 0xe0) { len = 3; cp = s[0] & 0x0fu; min = 0x800; }
    else if ((s[0] & 0xf8) == 0xf0) { len = 4; cp = s[0] & 0x07u; min = 0x10000; }
    else return 0;
    if (avail < len) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[k] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

/* The offset of the first byte that is not valid UTF-8, or `n`. */
static size_t utf8_invalid_at(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < n) {
        uint64_t word;
        if (n - i >= 8 && (memcpy(&word, s + i, 8), !(word & 0x8080808080808080u))) {
            i += 8;
        } else if (s[i] < 0x80) {
            i++;
        } else {
            size_t len = utf8_sequence(s + i, n - i);
            if (!len) return i;
            i += len;
        }
    }
    return n;
}

/* ---- Building records ------------------------------------------------- */

static void line(SlLineHandler *h, const char *text, size_t len);
static void too_long(SlLineHandler *h, const char *start, size_t len);

void sl_netout_init(SlNetOut *o, SlCtx *ctx, size_t max_line)
{
    memset(o, 0, sizeof *o);
    o->handler = (SlLineHandler){ max_line, line, too_long };
    o->ctx = ctx;
}

void sl_netout_from(SlNetOut *o, const char *peer, size_t peer_len, int64_t ns)
{
    /* Compared by content: a caller may reuse one buffer for every sender. */
    if (o->batch_peer && (o->peer_len != peer_len || memcmp(o->batch_peer, peer, peer_len)))
        o->batch_peer = NULL;
    o->peer = peer;
    o->peer_len = peer_len;
    o->received_ns = ns;
}

enum { REJECT_SAMPLE = 256 };

void sl_netout_reject(SlNetOut *o, const char *text, size_t len, const char *why)
{
    o->rejected++;
    if (len > REJECT_SAMPLE) len = REJECT_SAMPLE;
    len = utf8_invalid_at(text, len);
    if (o->reject)
        o->reject(o, text, len, why);
    else
        sl_reject_text(o->ctx, text, len, "%s (from %.*s)", why, (int)o->peer_len, o->peer);
}

static void reject_too_long(SlNetOut *o, const char *text, size_t len)
{
    char why[SL_WHY_MAX];
    snprintf(why, sizeof why, "line longer than %zu bytes (max_line_bytes); "
             "skipped up to the next newline", o->handler.max_line);
    sl_netout_reject(o, text, len, why);
}

/* True if the line may become a record; otherwise it has been rejected. */
static bool acceptable(SlNetOut *o, const char *line, size_t len)
{
    char why[SL_WHY_MAX];
    if (len > o->handler.max_line) {
        reject_too_long(o, line, len);
        return false;
    }
    size_t bad = utf8_invalid_at(line, len);
    if (bad < len) {
        snprintf(why, sizeof why, "invalid UTF-8 at byte %zu", bad);
        sl_netout_reject(o, line, len, why);
        return false;
    }
    if (o->check && !o->check(line, len, why)) {
        sl_netout_reject(o, line, len, why);
        return false;
    }
    return true;
}

static const char NAME_MESSAGE[] = "message";
static const char NAME_PEER[] = "peer";
static const char NAME_RECEIVED[] = "received_at";

/* Room in a record's field table: a parse transform downstream replaces
** `message` with several fields, and sl_map_set copies a full table to
** grow it. */
enum { FIELDS_ROOM = 8 };

static void append(SlNetOut *o, const char *line, size_t len)
{
    if (!o->batch) o->batch = sl_batch_new();
    SlBatch *b = o->batch;
    if (!o->batch_peer) o->batch_peer = sl_copy_str(b, o->peer, o->peer_len);
    const char *text = sl_copy_str(b, line, len);
    SlField *f = sl_alloc(b, (FIELDS_ROOM + 2) * sizeof *f);
    SlField *meta = f + FIELDS_ROOM;
    f[0] = (SlField){ NAME_MESSAGE, sizeof NAME_MESSAGE - 1, sl_str(text, len) };
    meta[0] = (SlField){ NAME_PEER, sizeof NAME_PEER - 1, sl_str(o->batch_peer, o->peer_len) };
    meta[1] = (SlField){ NAME_RECEIVED, sizeof NAME_RECEIVED - 1, sl_time(o->received_ns) };
    SlRecord *r = sl_batch_add(b);
    r->fields = (SlMap){ f, 1, FIELDS_ROOM };
    r->meta = (SlMap){ meta, 2, 2 };
    b->bytes += len + 1;
    if (b->count >= SL_BATCH_RECORDS) sl_netout_flush(o);
}

void sl_netout_add(SlNetOut *o, const char *line, size_t len)
{
    o->lines++;
    if (len && acceptable(o, line, len)) append(o, line, len);
}

bool sl_netout_flush(SlNetOut *o)
{
    SlBatch *b = o->batch;
    o->batch = NULL;
    o->batch_peer = NULL;
    if (b) {
        bool open = o->emit ? o->emit(o, b) : sl_emit(o->ctx, b);
        if (!open) o->stopping = true;
    }
    return !o->stopping;
}

void sl_netout_discard(SlNetOut *o)
{
    sl_batch_free(o->batch);
    o->batch = NULL;
    o->batch_peer = NULL;
}

/* ---- Lines of a stream ------------------------------------------------ */

static void line(SlLineHandler *h, const char *text, size_t len)
{
    sl_netout_add((SlNetOut *)h, text, len);
}

static void too_long(SlLineHandler *h, const char *start, size_t len)
{
    SlNetOut *o = (SlNetOut *)h;
    o->lines++;
    reject_too_long(o, start, len);
}

void sl_netstream_feed(SlNetStream *l, SlNetOut *o, const char *data, size_t n)
{
    sl_splitter_feed(l, &o->handler, data, n);
}

void sl_netstream_end(SlNetStream *l, SlNetOut *o)
{
    sl_splitter_end(l, &o->handler);
}

void sl_netstream_free(SlNetStream *l)
{
    sl_splitter_free(l);
}
