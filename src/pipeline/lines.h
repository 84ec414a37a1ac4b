/*
** lines.h: turning a byte stream (a file, stdin, a socket) into records of
** one line each, in the field `message`, batch by batch. Lines longer than
** the limit are rejected with a reason (the rest of the line is skipped);
** a final line without a newline still counts; "\r\n" endings lose the
** "\r"; empty lines are skipped.
*/
#ifndef SLUICE_LINES_H
#define SLUICE_LINES_H

#include "component.h"

#include <sys/types.h>

typedef struct SlLines {
    size_t max_line;        /* bytes */
    char *buf;              /* bytes read but not yet a whole line */
    size_t len, cap;
    bool skipping;          /* inside an over-long line */
    SlBatch *batch;         /* being filled */
    uint64_t pos;           /* input position: bytes fed (see sl_lines_seek) */
    uint64_t line_end;      /* the position after the last whole line fed */
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
