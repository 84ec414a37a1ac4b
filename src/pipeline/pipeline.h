/*
** pipeline.h: a pipeline as a whole, for the commands (`sluice validate`,
** `sluice run`) and for the observability API: load and check a pipeline
** file, run it, stop it, and read per-component statistics.
*/
#ifndef SLUICE_PIPELINE_H
#define SLUICE_PIPELINE_H

#include "component.h"

typedef struct SlPipeline SlPipeline;

/* Loads, checks and builds every component (init, no side effects). On any
** problem returns NULL with every problem in `d`. */
SlPipeline *sl_pipeline_load(const char *path, SlDiag *d);
void sl_pipeline_free(SlPipeline *p);
/* True when every source ends by itself: batch mode. */
bool sl_pipeline_finite(const SlPipeline *p);

typedef struct SlRunOptions {
    int workers;            /* worker threads; 0: number of cores */
    int queue_batches;      /* capacity of each input queue; 0: default */
    bool progress;          /* draw a progress bar on stderr */
} SlRunOptions;

/* Runs until every source has ended (batch mode) or sl_pipeline_stop is
** called, then drains: every record accepted by a source reaches the sinks
** or is counted as rejected. Handles SIGINT/SIGTERM itself (the first one
** stops and drains, a second one exits at once). Returns 0, or 1 if a
** component failed. */
int sl_pipeline_run(SlPipeline *p, const SlRunOptions *o);
/* Asks a running pipeline to stop and drain; thread-safe. */
void sl_pipeline_stop(SlPipeline *p);
/* True once the pipeline has been asked to stop (it may still be draining). */
bool sl_pipeline_stopping(const SlPipeline *p);

/* The pipeline file format as a JSON Schema, generated from the component
** registry (jsonschema.c); free() the text. */
char *sl_pipeline_json_schema(void);
/* One component's entry of that schema (its settings, `type` and
** `inputs`), as compact JSON; free() the text. */
char *sl_component_json_schema(const SlComponentType *t);

/* ---- Statistics (a consistent-enough snapshot; counters are atomic) ---- */
enum { SL_LATENCY_BUCKETS = 12 };
/* Upper bounds of the call latency histogram buckets, in nanoseconds; the
** last bucket is +Inf. */
extern const uint64_t sl_latency_bounds_ns[SL_LATENCY_BUCKETS - 1];

typedef struct SlStats {
    const char *name, *type;
    SlKind kind;
    uint64_t records_in, records_out, bytes_in, bytes_out, errors;
    uint64_t retries;               /* sinks: writes attempted again */
    uint64_t queue_depth;           /* batches waiting at its input */
    uint64_t calls, fuel, traps;    /* function nodes */
    uint64_t latency[SL_LATENCY_BUCKETS]; /* calls per bucket, not cumulative */
    uint64_t latency_sum_ns;
} SlStats;

size_t sl_pipeline_count(const SlPipeline *p);
void sl_pipeline_stats(SlPipeline *p, size_t index, SlStats *out);

/* ---- The tap: a live look at what a component emits ------------------- */
/* `fn` sees every batch the component emits on its main output (a sink:
** every batch it receives), before it is delivered, on the emitting thread: read it, copy what is wanted, and
** return quickly. One tap per component; setting another replaces it.
** Returns false if there is no such component. */
typedef void (*SlTapFn)(void *user, const char *component, const SlBatch *batch);
bool sl_pipeline_tap(SlPipeline *p, const char *component, SlTapFn fn, void *user);
/* After it returns, `fn` is not running and will not be called again. */
void sl_pipeline_untap(SlPipeline *p, const char *component);

#endif
