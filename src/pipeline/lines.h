/*
** lines.h: splitting a byte stream into lines, for every line-oriented
** source: files and stdin (as records here), sockets and request bodies
** (as records with where they came from, sources/netlines.h).
**
** An SlSplitter cuts what it is fed at each '\n' and hands every line, its
** newline and the '\r' of a "\r\n" removed, to an SlLineHandler. A line
** split across reads waits in a carry buffer; a line longer than the
** handler's max_line is handed to too_long as soon as it is known to be one
** (with its first bytes) and the rest of it is skipped up to the next
** newline; a last line without a newline counts when the stream ends.
**
** SlLines turns the lines of a file or stdin into records of one field,
** `message`, batch by batch. Empty lines are skipped; over-long lines are
** rejected with a reason (sl_reject_text).
*/
#ifndef SLUICE_LINES_H
#define SLUICE_LINES_H

#include "component.h"
#include "encode.h"

#include <sys/types.h>

typedef struct SlLineHandler SlLineHandler;
struct SlLineHandler {
    size_t max_line;        /* bytes, not counting the line end */
    /* A whole line (possibly empty). */
    void (*line)(SlLineHandler *h, const char *text, size_t len);
    /* The first `len` bytes known of an over-long line. */
    void (*too_long)(SlLineHandler *h, const char *start, size_t len);
};

/* Starts zeroed (or after sl_splitter_free). */
typedef struct SlSplitter {
    SlBuf carry;            /* the start of a line cut by the end of a read */
    bool skipping;          /* inside an over-long line, already handed on */
    uint64_t pos;           /* input position: bytes fed (see sl_splitter_seek) */
    uint64_t line_end;      /* the position after the last newline fed */
} SlSplitter;

void sl_splitter_feed(SlSplitter *s, SlLineHandler *h, const char *data, size_t n);
/* The stream ended: its unterminated last line counts. Ready for reuse. */
void sl_splitter_end(SlSplitter *s, SlLineHandler *h);
/* Starts over at input position `pos`, forgetting a partial line. */
void sl_splitter_seek(SlSplitter *s, uint64_t pos);
void sl_splitter_free(SlSplitter *s);

typedef struct SlLines {
    SlLineHandler handler;  /* first: the handler's callbacks get back here */
    SlSplitter split;
    SlCtx *ctx;             /* of the call under way */
    SlBatch *batch;         /* being filled */
    /* Optional: shown every batch just before it is emitted, with the
    ** position after its last line, e.g. to attach a checkpoint (ack.h). */
    void (*before_emit)(void *user, SlBatch *batch, uint64_t end);
    void *user;
} SlLines;

void sl_lines_init(SlLines *l, size_t max_line);
/* Starts over at input position `pos` (where reading resumes, or 0 after a
** truncation), forgetting a partial line. */
void sl_lines_seek(SlLines *l, uint64_t pos);
/* Splits `n` bytes of input; full batches are emitted. Returns false when
** the pipeline is stopping. */
bool sl_lines_feed(SlCtx *ctx, SlLines *l, const char *data, size_t n);
/* Emits the batch being filled (input paused or ended); `at_end` also
** turns a last unterminated line into a record. */
bool sl_lines_flush(SlCtx *ctx, SlLines *l, bool at_end);
void sl_lines_free(SlLines *l);

/* One read(2) from `fd` into `buf`, fed to the splitter and counted as
** bytes in. A short read (the input has no more for now) emits the batch
** being filled, so slow inputs are not held back. Returns what read
** returned (0 at end of input, -1 with errno), or -2 once stopping. */
ssize_t sl_lines_read(SlCtx *ctx, SlLines *l, int fd, char *buf, size_t size);

/* The settings every line-reading source shares. */
#define SL_LINES_SETTING                                                    \
    { .name = "max_line_bytes", .type = SL_SET_INT, .def = "1048576",       \
      .min = 16, .max = 1 << 30,                                            \
      .doc = "Lines longer than this (bytes before the newline) are rejected to NAME.errors." }
#define SL_LINES_DEFAULT_MAX 1048576

#endif
