/*
** component.h: THE interface every source, transform and sink implements.
**
** A component type is one constant SlComponentType, listed in the registry
** (components.c). The runtime makes one instance per component named in the
** pipeline file and talks to it only through the callbacks below; the
** instance talks back only through the sl_* functions declared here.
**
** Life of an instance
**   init     build the instance from its settings (already checked against
**            `settings`, so types are right). Check what the schema cannot
**            (a regex compiles, a function file exists) and report problems
**            with sl_conf_error, then return -1. NO external side effects:
**            `sluice validate` calls init and destroy only. Keep state with
**            sl_set_state.
**   start    (optional) acquire the outside world: open files, bind
**            sockets. Return -1 after sl_fail to abort the run.
**   run      (sources) produce batches with sl_emit until the input ends
**            (a finite source) or sl_stopping() turns true. Runs on its own
**            thread; blocking I/O is fine there. run may start threads of
**            its own that call sl_emit/sl_reject* (all thread-safe), but
**            must join them before it returns: returning means "ended".
**   stop     (sources, optional) called from another thread when the
**            pipeline stops, to wake a run() blocked in accept/recv/read:
**            e.g. shutdown() a socket. Must be thread-safe and idempotent.
**   process  (transforms, sinks) receives one batch, and its ownership:
**            emit it (possibly changed in place), free it, or keep it (a
**            window) until later. Called by a pool of worker threads, but
**            never concurrently for one instance unless the type sets
**            SL_PARALLEL (then process must only read the state), so state
**            needs no locks. A type that sets SL_BLOCKING (a network sink
**            that waits out its server's outage) is called on a thread of
**            its own instead, so its waits never hold up the pool.
**   tick     (optional) called about every `tick_ms` milliseconds, never
**            concurrently with process: time-based flushes.
**   finish   (optional) every input has ended: emit or write what is held
**            back. After finish no more calls but destroy.
**   destroy  (optional) free the state; also called after a failed init.
**
** Records and batches (record.h): sources fill batches of about
** SL_BATCH_RECORDS records. Components count nothing themselves except
** bytes (and a function node's calls, with sl_observe_call): records in and
** out, errors and queue depth are counted by the runtime.
**
** Bad input never crashes and is never dropped silently: hand it to
** sl_reject / sl_reject_text with a reason. The rejected record goes to the
** component's error output, usable as the input `NAME.errors` by other
** components: the record keeps its fields and gains two, `error` (the
** reason) and `component` (the rejecting component's name). If nothing
** reads NAME.errors, the runtime counts the rejection and logs it
** (rate-limited) to stderr. A source's rejections are delivered at once; a
** transform's or sink's when its call returns.
**
** The typical transform:
**
**     static const char *transform_one(void *state, SlBatch *b, SlRecord *r,
**                                      char *why, size_t size)
**     {
**         if (!sl_get(r, "message")) return "no field 'message'";
**         ...change r...
**         return NULL;
**     }
**
**     static void process(SlCtx *ctx, SlBatch *b)
**     {
**         sl_keep_valid(ctx, b, transform_one, sl_state(ctx));
**         sl_emit(ctx, b);
**     }
*/
#ifndef SLUICE_COMPONENT_H
#define SLUICE_COMPONENT_H

#include "config.h"
#include "record.h"
#include "schema.h"

#include <stdarg.h>

typedef enum SlKind { SL_SOURCE, SL_TRANSFORM, SL_SINK } SlKind;

/* The runtime's handle on one component instance. */
typedef struct SlCtx SlCtx;

enum {
    SL_PARALLEL = 1 << 0,   /* process may run on several batches at once */
    SL_BLOCKING = 1 << 1,   /* a call may wait long (a server away): own thread */
};

typedef struct SlComponentType {
    const char *name;               /* the `type:` in the pipeline file */
    SlKind kind;
    const char *doc;                /* one sentence for docs and `--help` */
    const SlSetting *settings;      /* NULL-name ended; may be NULL for none */
    unsigned flags;
    unsigned tick_ms;               /* period of tick(); 0: never */
    int (*init)(SlCtx *ctx, const SlConf *settings);
    int (*start)(SlCtx *ctx);
    void (*run)(SlCtx *ctx);
    void (*stop)(SlCtx *ctx);
    void (*process)(SlCtx *ctx, SlBatch *batch);
    void (*tick)(SlCtx *ctx);
    void (*finish)(SlCtx *ctx);
    void (*destroy)(void *state);
} SlComponentType;

/* The registry (components.c). A source and a sink may share a name
** (`file`), so a type is found by name and kind. */
const SlComponentType *sl_component_find(const char *name, SlKind kind);
const SlComponentType *const *sl_component_all(void); /* NULL-ended */

/* ---- Identity and state ---------------------------------------------- */
const char *sl_name(const SlCtx *ctx);
void *sl_state(const SlCtx *ctx);
void sl_set_state(SlCtx *ctx, void *state);
/* A path from the pipeline file, resolved against the file's directory
** (absolute paths unchanged). The result lives as long as the instance. */
const char *sl_path(SlCtx *ctx, const char *path);

/* ---- During init ----------------------------------------------------- */
/* Reports a problem at a settings node (file:line:column). */
void sl_conf_error(SlCtx *ctx, const SlConf *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sources: declare that this instance ends by itself (a file read once,
** stdin, a generate with a count). A pipeline whose sources are all finite
** runs in batch mode. Default: not finite. */
void sl_set_finite(SlCtx *ctx, bool finite);

/* ---- Moving data ----------------------------------------------------- */
/* Sends a batch (and its ownership) to every component reading this one.
** From a source, blocks while the downstream queues are full (this is the
** backpressure); from a transform, never blocks (the batch is delivered
** when process returns). Empty batches are freed. Returns false once the
** pipeline is stopping: a source should then finish up and return (the
** batch just emitted is still delivered: nothing accepted is lost). */
bool sl_emit(SlCtx *ctx, SlBatch *batch);
/* Copies record `index` of `batch` to the error output with a reason; the
** caller then removes it from its batch (see the pattern above). */
void sl_reject(SlCtx *ctx, const SlBatch *batch, uint32_t index,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Rejects raw input that never became a record (an over-long line, an
** undecodable datagram): the error record has the field `message`. */
void sl_reject_text(SlCtx *ctx, const char *text, size_t len,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Changes or checks one record; returns NULL to keep it, or why it is
** rejected (a constant, or `why` once written, at most `size` bytes). A
** rejected record must be left as it came, for the error output. */
typedef const char *(*SlRecordFn)(void *user, SlBatch *b, SlRecord *r, char *why,
                                  size_t size);
/* Runs `fn` on every record of `b` in order, keeps those it accepts and
** rejects the others (sl_reject), removing them from `b`. */
void sl_keep_valid(SlCtx *ctx, SlBatch *b, SlRecordFn fn, void *user);
bool sl_stopping(const SlCtx *ctx);
/* Counts records discarded on purpose (the function node's failed windows
** with on_error: drop) as errors, without sending them to NAME.errors. */
void sl_count_errors(SlCtx *ctx, uint64_t n);

/* ---- Time ------------------------------------------------------------ */
/* A monotonic clock, for timeouts and rates (not the time of day). */
int64_t sl_now_ns(void);
static inline int64_t sl_now_ms(void)
{
    return sl_now_ns() / 1000000;
}

/* ---- Reporting ------------------------------------------------------- */
/* A failure that ends this component (cannot open, cannot write): logged
** with the component name; the run ends with a non-zero status. */
void sl_fail(SlCtx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sl_log(SlCtx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sources with a known size (a file): progress for the progress bar. */
void sl_progress(SlCtx *ctx, uint64_t done, uint64_t total);
/* Bytes read from outside (sources) and written outside (sinks). */
void sl_count_bytes_in(SlCtx *ctx, uint64_t n);
void sl_count_bytes_out(SlCtx *ctx, uint64_t n);
/* Sinks: one more attempt at a write that failed for a transient reason
** (retry.h counts them: sl_retry_wait). */
void sl_count_retry(SlCtx *ctx);
/* The function node: one call's latency, fuel used, and whether it trapped. */
void sl_observe_call(SlCtx *ctx, uint64_t ns, uint64_t fuel, bool trapped);

#endif
