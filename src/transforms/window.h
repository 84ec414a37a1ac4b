/*
** window.h: the windows of the `function` transform: which records go
** together into one call of the function.
**
** A window is a list of references to records that stay in the batches they
** arrived in: a batch is kept (a Segment, reference counted) while any open
** window refers to one of its records, so buffering copies nothing and one
** record may sit in several windows (sliding windows).
**
** Windows are counted (close at N records), timed (close `duration` after
** their first record, by processing time) or by event time (tumbling or
** sliding by a timestamp field; close when the watermark, the latest event
** time seen minus the allowed lateness, passes their end). With a key field
** each distinct value has windows of its own. Closed windows wait in a
** ready list, in the order they closed, until the caller runs them.
**
** Windows that take the records in arrival order (no key, by count or
** duration) may also keep their batches: a batch is then not freed when no
** window refers to it any more, but waits, in arrival order, until the
** caller takes it back to emit it with its records updated in place. Its
** first `skip` records are left out when it is taken: the caller has
** handed them on otherwise (copied out, rejected, replaced by new rows).
*/
#ifndef SLUICE_WINDOW_H
#define SLUICE_WINDOW_H

#include "../pipeline/component.h"

typedef enum WindowKind { WINDOW_COUNT, WINDOW_DURATION, WINDOW_EVENT_TIME } WindowKind;

typedef struct WindowSpec {
    WindowKind kind;
    uint32_t count;                 /* WINDOW_COUNT */
    int64_t duration_ns;            /* WINDOW_DURATION */
    int64_t size_ns, slide_ns;      /* WINDOW_EVENT_TIME; slide == size: tumbling */
    int64_t lateness_ns;
    const char *time_field;
    const char *key_field;          /* NULL: one window for all records */
    uint32_t max_keys;
} WindowSpec;

/* Reads the `window` setting (NULL: per-record mode, count 1), reporting
** problems with sl_conf_error. Returns 0, or -1 on a problem. */
int window_spec_read(SlCtx *ctx, const SlConf *node, WindowSpec *out);

typedef struct Segment {
    SlBatch *batch;
    uint32_t refs;                  /* windows referring to it, + 1 if kept */
    uint32_t skip;                  /* kept: the first records, handed on */
    struct Segment *next;           /* kept: the next batch to arrive */
} Segment;

typedef struct WindowRef {
    Segment *segment;
    uint32_t index;
} WindowRef;

typedef struct Window {
    WindowRef *refs;
    uint32_t count, cap;
    int64_t start, end;             /* event time: [start, end) */
    int64_t opened_ns;              /* duration: when the first record came */
} Window;

static inline SlRecord *window_record(const Window *w, uint32_t i)
{
    return &w->refs[i].segment->batch->records[w->refs[i].index];
}

typedef struct Windows Windows;

/* True when the spec's windows take records in arrival order, so that
** windows_new may keep their batches. */
bool window_spec_in_order(const WindowSpec *spec);
Windows *windows_new(const WindowSpec *spec, bool keep_batches);
void windows_free(Windows *ws);

/* Takes the batch: puts each record in its window(s) and closes the windows
** that are complete. Records that fit no window (late, without a timestamp,
** over the key limit) are rejected through ctx with the reason. */
void windows_add(Windows *ws, SlCtx *ctx, SlBatch *batch, int64_t now_ns);
/* Closes duration windows that are due. */
void windows_expire(Windows *ws, int64_t now_ns);
/* Closes every open window (the input has ended). */
void windows_close_all(Windows *ws);

/* The closed windows, oldest first; after running them, the caller gives
** them back with windows_release_ready (which frees their batches unless
** they are kept). window_release gives back one of them early. */
Window *windows_ready(Windows *ws, size_t *count);
void window_release(Window *w);
void windows_release_ready(Windows *ws);
/* Kept batches: the oldest, once no window refers to it, with its first
** `skip` records left out; NULL while it is still in a window. */
SlBatch *windows_take_batch(Windows *ws);

#endif
