/*
** netlines.h: received bytes to records, for the network sources.
**
** An SlNetOut builds the records of one source (or one HTTP request):
** each accepted line becomes a record with the field `message` (the line,
** without its newline or a carriage return before it) and the metadata
** `peer` (the sender's IP:PORT) and `received_at` (when it was read). It
** fills batches of SL_BATCH_RECORDS and hands each full one to `emit`.
** Lines that are empty are skipped; lines over `max_line` bytes or not
** valid UTF-8 (or failing the optional `check`) go to `reject` with the
** reason and a sample: at most their first 256 bytes, cut to valid UTF-8
** so that the error record can be written as JSON.
**
** An SlNetStream is one byte stream (a TCP connection, a request body)
** split into lines by the splitter of pipeline/lines.h, whose lines go to
** an SlNetOut: a line longer than `max_line` is rejected as soon as it is
** known to be one (with its first bytes), and a last line without a
** newline counts when the stream ends.
*/
#ifndef SLUICE_SOURCES_NETLINES_H
#define SLUICE_SOURCES_NETLINES_H

#include "../pipeline/lines.h"

enum { SL_WHY_MAX = 256 };

typedef struct SlNetOut SlNetOut;
struct SlNetOut {
    SlLineHandler handler;          /* first: the splitter's callbacks get back here */
    SlCtx *ctx;
    /* Takes a full batch; returns false once the pipeline is stopping.
    ** NULL: sl_emit. */
    bool (*emit)(SlNetOut *o, SlBatch *b);
    /* Takes a bad line's sample and why. NULL: sl_reject_text. */
    void (*reject)(SlNetOut *o, const char *text, size_t len, const char *why);
    /* Optional: false (and `why` filled) refuses a line. */
    bool (*check)(const char *line, size_t len, char why[SL_WHY_MAX]);

    SlBatch *batch;                 /* being filled; NULL when empty */
    const char *peer;               /* the sender, in the caller's memory */
    size_t peer_len;
    const char *batch_peer;         /* the same, copied into `batch` */
    int64_t received_ns;
    uint64_t lines;                 /* seen: accepted, rejected or empty */
    uint64_t rejected;
    bool stopping;                  /* emit returned false */
};

void sl_netout_init(SlNetOut *o, SlCtx *ctx, size_t max_line);
/* Where and when what follows was received; `peer` must stay valid until
** the next call. */
void sl_netout_from(SlNetOut *o, const char *peer, size_t peer_len, int64_t ns);
/* One line (no newline handling: a datagram, or a line already split). */
void sl_netout_add(SlNetOut *o, const char *line, size_t len);
/* Rejects raw input that never became a line (a datagram too large),
** counting it and sampling `text` like a bad line. */
void sl_netout_reject(SlNetOut *o, const char *text, size_t len, const char *why);
/* Emits the partial batch, if any; returns false once stopping. */
bool sl_netout_flush(SlNetOut *o);
/* Frees the partial batch without emitting it. */
void sl_netout_discard(SlNetOut *o);

typedef SlSplitter SlNetStream;

/* `lines` starts zeroed. */
void sl_netstream_feed(SlNetStream *l, SlNetOut *o, const char *data, size_t n);
/* The stream ended: its unterminated last line counts. Ready for reuse. */
void sl_netstream_end(SlNetStream *l, SlNetOut *o);
void sl_netstream_free(SlNetStream *l);

#endif
