/*
** function.c: the `function` transform: runs a WebAssembly function (the
** function ABI, docs/abi.md) on windows of records.
**
** Records are buffered into windows (window.c); a closed window is encoded
** as one columnar document (columnar JSON for functions of ABI v1,
** columnar.c; a binary batch for v2, colbinary.c), handed to the function,
** and the function's output is turned back into records (v2: by default
** the window's records, updated with the columns the function returned).
**
** In place: when a v2 function's windows take records in arrival order
** (no key; by count or duration), the windows keep the batches the records
** came in, and an update changes the records where they are: each batch,
** once none of its records is in a window still to run, is emitted itself,
** with its own acknowledgement, and nothing is copied. Records that leave
** their batch instead (a failed window's, or those new rows replace) are
** always the first ones left in it, after the records before them there
** have been copied out and emitted, so that the order holds. A failed call
** (trap, guest error, limit, ABI breach, or an output that is not an object
** of equal-length arrays) fails the whole window, whose records are then
** routed by `on_error`: to NAME.errors with the reason, dropped (counted),
** or the pipeline stops. A trap never takes the engine down: the host
** library rebuilds the instance at the next call.
**
** Parallelism: the runtime calls process() for one instance at a time, and
** the windows are state, so the type is not SL_PARALLEL. With
** `instances: N` the node owns N function instances, one per thread of its
** own worker pool: closed windows wait until there are N of them (or a
** tick or the end comes), run side by side, and are emitted in order.
**
** The function is a `module` file, or an `artifact` from a registry that
** init resolves into a local cache (docs/registry.md); the artifact's
** manifest gives defaults for `config` and `limits`.
*/
#include "../pipeline/ack.h"
#include "../pipeline/component.h"
#include "../pipeline/encode.h"
#include "../registry/resolve.h"
#include "columnar.h"
#include "window.h"
#include "sluice_fn_host.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { TICK_MS = 100, LOGGED_DROPS = 10, PAGES_PER_MIB = 16 };

/* ---- Settings -------------------------------------------------------- */

static const char *const on_error_choices[] = { "dead_letter", "drop", "stop", NULL };
typedef enum OnError { DEAD_LETTER, DROP, STOP } OnError;

static const SlSetting event_time_settings[] = {
    { .name = "field", .type = SL_SET_STRING, .required = true,
      .doc = "The field holding the event time (a timestamp, or RFC 3339 text)." },
    { .name = "size", .type = SL_SET_STRING, .required = true,
      .doc = "The length of a window: 500ms, 10s, 5m, 1h." },
    { .name = "slide", .type = SL_SET_STRING, .def = "the size",
      .doc = "How far each window starts after the previous one; shorter than size: sliding windows." },
    { .name = "allowed_lateness", .type = SL_SET_STRING, .def = "0s",
      .doc = "How far behind the latest event time a record may come and still join its window." },
    { 0 },
};

static const SlSetting window_settings[] = {
    { .name = "count", .type = SL_SET_INT, .def = "1", .min = 1, .max = 100000000,
      .doc = "Close a window when it holds this many records." },
    { .name = "duration", .type = SL_SET_STRING,
      .doc = "Close a window this long after its first record (processing time): 500ms, 10s, 5m." },
    { .name = "event_time", .type = SL_SET_OBJECT, .fields = event_time_settings,
      .doc = "Windows by event time: tumbling, or sliding with `slide`." },
    { .name = "key", .type = SL_SET_STRING,
      .doc = "A field: each distinct value has windows of its own." },
    { .name = "max_keys", .type = SL_SET_INT, .def = "10000", .min = 1, .max = 10000000,
      .doc = "At most this many keys with open windows; records of further keys are rejected." },
    { 0 },
};

/* In the order of manifest_limits below. */
static const SlSetting limit_settings[] = {
    { .name = "fuel", .type = SL_SET_INT, .def = "0", .min = 0, .max = INT64_MAX,
      .doc = "Instructions per call; 0: unlimited." },
    { .name = "timeout_ms", .type = SL_SET_INT, .def = "0", .min = 0, .max = 86400000,
      .doc = "Wall-clock time per call in milliseconds; 0: none." },
    { .name = "memory_mib", .type = SL_SET_INT, .def = "256", .min = 1, .max = 4096,
      .doc = "The function's memory cap in MiB." },
    { .name = "max_output_bytes", .type = SL_SET_INT, .def = "16777216", .min = 1, .max = INT32_MAX,
      .doc = "The largest output document a call may return." },
    { 0 },
};

/* What a manifest calls each of limit_settings (docs/registry.md). */
static const char *const manifest_limits[] = { "fuel", "timeout_ms", "max_memory_mib", "max_output" };

static const SlSetting public_key = { .type = SL_SET_STRING };

static const SlSetting settings[] = {
    { .name = "module", .type = SL_SET_STRING,
      .doc = "The function: a path to its .wasm file. Give this or `artifact`." },
    { .name = "artifact", .type = SL_SET_STRING,
      .doc = "The function from a registry: NAME@VERSION or NAME@latest, resolved at start and cached." },
    { .name = "registry", .type = SL_SET_STRING, .def = "$SLUICE_REGISTRY_URL, or the registry config file",
      .doc = "The registry's URL, for `artifact`." },
    { .name = "trusted_signers", .type = SL_SET_LIST, .item = &public_key,
      .doc = "Public keys (hex, from `sluice keygen`): the artifact must be signed by one of them." },
    { .name = "cache_dir", .type = SL_SET_STRING, .def = "$SLUICE_CACHE, $XDG_CACHE_HOME/sluice or ~/.cache/sluice",
      .doc = "Where resolved artifacts are kept, so that a restart works offline." },
    { .name = "config", .type = SL_SET_ANY,
      .doc = "A mapping handed to the function's init, as JSON." },
    { .name = "window", .type = SL_SET_OBJECT, .fields = window_settings, .def = "count: 1",
      .doc = "How records are grouped into calls: count, duration or event_time, optionally per key." },
    { .name = "fields", .type = SL_SET_LIST, .item = &(const SlSetting){ .type = SL_SET_STRING },
      .doc = "The fields given to the function, as columns (default: all of the window's fields)." },
    { .name = "limits", .type = SL_SET_OBJECT, .fields = limit_settings,
      .doc = "Per-call limits: fuel, timeout_ms, memory_mib, max_output_bytes." },
    { .name = "instances", .type = SL_SET_INT, .def = "1", .min = 1, .max = 256,
      .doc = "Function instances running windows side by side." },
    { .name = "on_error", .type = SL_SET_STRING, .def = "dead_letter", .choices = on_error_choices,
      .doc = "A failed window's records: dead_letter (to NAME.errors), drop (counted) or stop (fail the run)." },
    { 0 },
};

/* ---- State ----------------------------------------------------------- */

typedef struct Function Function;

/* One function instance and the thread that runs it (worker 0 is the
** thread calling process). */
typedef struct Worker {
    Function *fn;
    SlCtx *ctx;
    sfn_instance *instance;
    Columnar codec;
    pthread_t thread;
    bool thread_started;
} Worker;

/* One window to run, and what came of it. */
typedef struct Job {
    Window *window;
    SlBatch *out;                   /* where its output records go; NULL: in place */
    SlBuf output;                   /* in place: the output, applied in window order */
    bool failed;
    char reason[1400];
} Job;

/* The round of jobs the workers share (instances > 1). */
typedef struct Pool {
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    Job *jobs;
    size_t njobs, jobs_cap;
    atomic_size_t next;             /* the next job to take */
    size_t finished, active;        /* jobs done; helpers in the round */
    uint64_t round;
    bool quit;
} Pool;

struct Function {
    sfn_module *module;
    Manifest *manifest;             /* of the artifact; NULL for a module file */
    sfn_options options;
    SlBuf config;                   /* the `config` setting as JSON */
    Windows *windows;
    const char *key_field;          /* the windows' key (from the config) */
    const char **fields;
    size_t nfields;
    OnError on_error;
    bool stopped;                   /* on_error: stop has fired */
    uint64_t dropped;               /* windows dropped, for rate-limited logs */
    bool in_place;                  /* records updated where they are */
    Job solo;                       /* the job of a single instance */
    Worker *workers;
    size_t nworkers;
    Pool pool;
    bool pool_ready;
};

/* ---- Running one window ---------------------------------------------- */

/* ABI v2: the planned batch is written straight into the guest's buffer. */
typedef struct BatchInput {
    Columnar *codec;
    const Window *window;
} BatchInput;

static void write_batch(void *user, uint8_t *dst, size_t len)
{
    (void)len; /* the plan's size */
    BatchInput *in = user;
    columnar_write(in->codec, in->window, dst);
}

/* Calls the function on the window, as JSON (ABI v1) or as a binary batch
** (v2). Fails with err->kind SFN_OK when the window cannot be encoded. */
static int call_function(Worker *w, const Window *window, const uint8_t **out, size_t *out_len,
                         sfn_error *err)
{
    Function *fn = w->fn;
    if (sfn_instance_abi(w->instance) == 1) {
        columnar_encode(&w->codec, window, fn->fields, fn->nfields);
        return sfn_call(w->instance, (const uint8_t *)w->codec.json.data, w->codec.json.len, out,
                        out_len, err);
    }
    if (!columnar_plan(&w->codec, window, fn->fields, fn->nfields, err->message,
                       sizeof err->message)) {
        err->kind = SFN_OK;
        snprintf(err->function, sizeof err->function, "%s", sfn_module_name(fn->module));
        return -1;
    }
    return sfn_call_fill(w->instance, w->codec.size, write_batch, &(BatchInput){ &w->codec, window },
                         out, out_len, err);
}

static void run_job(Worker *w, Job *job)
{
    Function *fn = w->fn;
    const uint8_t *out;
    size_t out_len;
    sfn_error err;
    int64_t started = sl_now_ns();
    int rc = call_function(w, job->window, &out, &out_len, &err);
    sl_observe_call(w->ctx, (uint64_t)(sl_now_ns() - started),
                    sfn_instance_stats(w->instance).fuel_last, rc != 0 && err.kind == SFN_TRAP);
    job->failed = true;
    if (rc != 0) {
        snprintf(job->reason, sizeof job->reason, "function %s: %s: %s", err.function,
                 err.kind == SFN_OK ? "input" : sfn_kind_name(err.kind), err.message);
        return;
    }
    if (!job->out) {
        job->output.len = 0;
        if (out_len) sl_buf_put(&job->output, out, out_len);
        job->failed = false;
        return;
    }
    char why[600];
    bool decoded = sfn_instance_abi(w->instance) == 1
                       ? columnar_decode(&w->codec, job->out, (const char *)out, out_len,
                                         job->window, fn->key_field, why, sizeof why)
                       : columnar_merge(&w->codec, job->out, out, out_len, job->window,
                                        fn->key_field, why, sizeof why);
    if (!decoded) {
        snprintf(job->reason, sizeof job->reason, "function %s: output: %s",
                 sfn_module_name(fn->module), why);
        return;
    }
    job->failed = false;
}

/* Readies a job for window w, keeping its output buffer. */
static void job_reset(Job *job, Window *w, SlBatch *out)
{
    job->window = w;
    job->out = out;
    job->failed = false;
}

/* ---- What becomes of a failed window --------------------------------- */

static void reject_window(SlCtx *ctx, const Window *w, const char *reason)
{
    for (uint32_t i = 0; i < w->count; i++)
        sl_reject(ctx, w->refs[i].segment->batch, w->refs[i].index, "%s", reason);
}

static void window_failed(SlCtx *ctx, Function *fn, const Window *w, const char *reason)
{
    switch (fn->on_error) {
    case DEAD_LETTER:
        reject_window(ctx, w, reason);
        break;
    case DROP:
        sl_count_errors(ctx, w->count);
        if (fn->dropped < LOGGED_DROPS)
            sl_log(ctx, "dropped a window of %u records: %s", w->count, reason);
        else if (fn->dropped == LOGGED_DROPS)
            sl_log(ctx, "further dropped windows are counted, not logged");
        fn->dropped++;
        break;
    case STOP:
        /* Its records still go to NAME.errors: nothing accepted is lost. */
        reject_window(ctx, w, reason);
        if (!fn->stopped) sl_fail(ctx, "%s", reason);
        fn->stopped = true;
        break;
    }
}

/* After on_error: stop fired, the windows still waiting are not run. */
static void reject_not_run(SlCtx *ctx, Function *fn, const Window *w)
{
    char reason[300];
    snprintf(reason, sizeof reason, "function %s: not run: the node stopped at an earlier error",
             sfn_module_name(fn->module));
    reject_window(ctx, w, reason);
}

/* ---- The worker pool (instances > 1) --------------------------------- */

static void drain_jobs(Pool *pool, Worker *w, Job *jobs, size_t njobs)
{
    for (size_t i; (i = atomic_fetch_add(&pool->next, 1)) < njobs;) {
        run_job(w, &jobs[i]);
        pthread_mutex_lock(&pool->lock);
        if (++pool->finished == njobs) pthread_cond_signal(&pool->done);
        pthread_mutex_unlock(&pool->lock);
    }
}

static void *helper_main(void *arg)
{
    Worker *w = arg;
    Pool *pool = &w->fn->pool;
    uint64_t seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->quit && pool->round == seen) pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->quit) break;
        seen = pool->round;
        Job *jobs = pool->jobs;
        size_t njobs = pool->njobs;
        pool->active++;
        pthread_mutex_unlock(&pool->lock);
        drain_jobs(pool, w, jobs, njobs);
        pthread_mutex_lock(&pool->lock);
        pool->active--;
        pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* Runs the pool's jobs on every worker; returns when all are done and no
** helper still looks at them. */
static void run_round(Function *fn)
{
    Pool *pool = &fn->pool;
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->next, 0);
    pool->finished = 0;
    pool->round++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    drain_jobs(pool, &fn->workers[0], pool->jobs, pool->njobs);
    pthread_mutex_lock(&pool->lock);
    while (pool->finished < pool->njobs || pool->active > 0)
        pthread_cond_wait(&pool->done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
}

/* ---- Running the closed windows -------------------------------------- */

/* The window's output holds the acknowledgements of the batches its records
** came from (ack.h): they are confirmed once that output is written. */
static void hold_window_acks(SlBatch *out, const Window *w)
{
    const Segment *last = NULL;
    for (uint32_t i = 0; i < w->count; i++) {
        if (w->refs[i].segment == last) continue;
        last = w->refs[i].segment;
        sl_batch_hold_ack(out, last->batch);
    }
}

/* ---- In place -------------------------------------------------------- */

/* The window's records leave their batches (rejected, dropped, or replaced
** by new rows). The records before them in the first of those batches,
** which earlier windows updated, go out first, copied: the batches before
** it have gone already, so the order holds. */
static void take_out(SlCtx *ctx, const Window *w)
{
    Segment *first = w->refs[0].segment;
    if (first->skip < w->refs[0].index) {
        SlBatch *before = sl_batch_new();
        for (uint32_t i = first->skip; i < w->refs[0].index; i++)
            sl_batch_add_copy(before, &first->batch->records[i]);
        sl_batch_hold_ack(before, first->batch);
        sl_emit(ctx, before);
    }
    for (uint32_t i = 0; i < w->count; i++) w->refs[i].segment->skip = w->refs[i].index + 1;
}

/* Applies a job's output: its window's records are updated, or new rows
** replace them. False, with the reason in the job, when the output is not
** a valid batch (then nothing has changed). */
static bool apply_output(SlCtx *ctx, Function *fn, Job *job)
{
    Columnar *c = &fn->workers[0].codec;
    const Window *w = job->window;
    char why[600];
    bool update;
    SlBatch *rows = NULL;
    bool ok = columnar_read(c, (const uint8_t *)job->output.data, job->output.len, w, &update,
                            why, sizeof why);
    if (ok && update) {
        ok = columnar_update(c, w, why, sizeof why);
    } else if (ok) {
        rows = sl_batch_new();
        ok = columnar_new_rows(c, rows, why, sizeof why);
    }
    if (!ok) {
        sl_batch_free(rows);
        snprintf(job->reason, sizeof job->reason, "function %s: output: %s",
                 sfn_module_name(fn->module), why);
        return false;
    }
    if (rows) {
        take_out(ctx, w);
        hold_window_acks(rows, w);
        sl_emit(ctx, rows);
    }
    return true;
}

/* Gives the window back, and emits the kept batches that no window still
** to run refers to, in order. */
static void settle(SlCtx *ctx, Function *fn, Window *w)
{
    window_release(w);
    for (SlBatch *b; (b = windows_take_batch(fn->windows));) sl_emit(ctx, b);
}

/* A job's window, in window order: applied, or failed; then given back. */
static void deliver_in_place(SlCtx *ctx, Function *fn, Job *job)
{
    Window *w = job->window;
    if (fn->stopped) {
        reject_not_run(ctx, fn, w);
        take_out(ctx, w);
    } else if (job->failed || !apply_output(ctx, fn, job)) {
        window_failed(ctx, fn, w, job->reason);
        take_out(ctx, w);
    }
    settle(ctx, fn, w);
}

/* One instance, in place: each window is run and applied in turn. */
static void run_in_place(SlCtx *ctx, Function *fn, Window *ready, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        job_reset(&fn->solo, &ready[i], NULL);
        if (!fn->stopped) run_job(&fn->workers[0], &fn->solo);
        deliver_in_place(ctx, fn, &fn->solo);
    }
}

/* One instance: windows run in turn; output goes out in batches of about
** SL_BATCH_RECORDS records. */
static void run_serially(SlCtx *ctx, Function *fn, Window *ready, size_t n)
{
    SlBatch *out = sl_batch_new();
    for (size_t i = 0; i < n; i++) {
        if (fn->stopped) {
            reject_not_run(ctx, fn, &ready[i]);
            continue;
        }
        job_reset(&fn->solo, &ready[i], out);
        run_job(&fn->workers[0], &fn->solo);
        if (fn->solo.failed) window_failed(ctx, fn, &ready[i], fn->solo.reason);
        else hold_window_acks(out, &ready[i]);
        if (out->count >= SL_BATCH_RECORDS) {
            sl_emit(ctx, out);
            out = sl_batch_new();
        }
    }
    sl_emit(ctx, out);
}

static void free_jobs(Pool *pool)
{
    for (size_t i = 0; i < pool->jobs_cap; i++) sl_buf_free(&pool->jobs[i].output);
    free(pool->jobs);
}

/* A job's output records, or what becomes of its window's records. */
static void emit_job(SlCtx *ctx, Function *fn, Job *job)
{
    if (fn->stopped) reject_not_run(ctx, fn, job->window);
    else if (job->failed) window_failed(ctx, fn, job->window, job->reason);
    if (fn->stopped || job->failed) {
        sl_batch_free(job->out);
        return;
    }
    hold_window_acks(job->out, job->window);
    sl_emit(ctx, job->out);
}

/* Several instances: one round over all windows, then emitted (or, in
** place, applied) in order. */
static void run_in_parallel(SlCtx *ctx, Function *fn, Window *ready, size_t n)
{
    Pool *pool = &fn->pool;
    if (n > pool->jobs_cap) {
        free_jobs(pool);
        pool->jobs = calloc(n, sizeof *pool->jobs);
        if (!pool->jobs) abort();
        pool->jobs_cap = n;
    }
    for (size_t i = 0; i < n; i++)
        job_reset(&pool->jobs[i], &ready[i], fn->in_place ? NULL : sl_batch_new());
    pool->njobs = fn->stopped ? 0 : n;
    if (pool->njobs) run_round(fn);
    for (size_t i = 0; i < n; i++) {
        if (fn->in_place) deliver_in_place(ctx, fn, &pool->jobs[i]);
        else emit_job(ctx, fn, &pool->jobs[i]);
    }
}

/* Once on_error: stop has fired the runtime sends the node nothing more,
** not even finish: the records still in open windows go to NAME.errors now
** rather than vanish. */
static void reject_open_windows(SlCtx *ctx, Function *fn)
{
    windows_close_all(fn->windows);
    size_t n;
    Window *open = windows_ready(fn->windows, &n);
    for (size_t i = 0; i < n; i++) {
        reject_not_run(ctx, fn, &open[i]);
        if (!fn->in_place) continue;
        take_out(ctx, &open[i]);
        settle(ctx, fn, &open[i]);
    }
    windows_release_ready(fn->windows);
}

static void run_ready(SlCtx *ctx, Function *fn)
{
    size_t n;
    Window *ready = windows_ready(fn->windows, &n);
    if (!n) return;
    if (fn->nworkers > 1) run_in_parallel(ctx, fn, ready, n);
    else if (fn->in_place) run_in_place(ctx, fn, ready, n);
    else run_serially(ctx, fn, ready, n);
    windows_release_ready(fn->windows);
    if (fn->stopped) reject_open_windows(ctx, fn);
}

/* ---- Callbacks ------------------------------------------------------- */

static void process(SlCtx *ctx, SlBatch *batch)
{
    Function *fn = sl_state(ctx);
    windows_add(fn->windows, ctx, batch, sl_now_ns());
    size_t n;
    windows_ready(fn->windows, &n);
    if (n >= fn->nworkers) run_ready(ctx, fn);
}

static void tick(SlCtx *ctx)
{
    Function *fn = sl_state(ctx);
    windows_expire(fn->windows, sl_now_ns());
    run_ready(ctx, fn);
}

static void finish(SlCtx *ctx)
{
    Function *fn = sl_state(ctx);
    windows_close_all(fn->windows);
    run_ready(ctx, fn);
}

/* ---- Configuration --------------------------------------------------- */

static void put_conf_json(SlBuf *b, const SlConf *c)
{
    if (c->kind == SL_CONF_SCALAR) {
        SlValue v = sl_conf_value(c);
        sl_json_value(b, &v);
        return;
    }
    bool map = c->kind == SL_CONF_MAP;
    sl_buf_putc(b, map ? '{' : '[');
    for (size_t i = 0; i < c->count; i++) {
        if (i) sl_buf_putc(b, ',');
        if (map) {
            SlValue key = sl_str(c->items[i]->key, strlen(c->items[i]->key));
            sl_json_value(b, &key);
            sl_buf_putc(b, ':');
        }
        put_conf_json(b, c->items[i]);
    }
    sl_buf_putc(b, map ? '}' : ']');
}

/* The manifest's default config under the node's: the node's keys win, and
** mappings both have are merged the same way, key by key. */
static void merge_defaults(json_t *config, json_t *defaults)
{
    const char *key;
    json_t *def;
    json_object_foreach(defaults, key, def) {
        json_t *own = json_object_get(config, key);
        if (!own) json_object_set(config, key, def);
        else if (json_is_object(own) && json_is_object(def)) merge_defaults(own, def);
    }
}

static void apply_default_config(Function *fn)
{
    json_t *defaults = fn->manifest ? json_object_get(fn->manifest->doc, "config") : NULL;
    if (!json_object_size(defaults)) return;
    json_t *config = json_loadb(fn->config.data, fn->config.len, 0, NULL);
    if (!config) abort(); /* put_conf_json writes valid JSON */
    merge_defaults(config, defaults);
    char *text = json_dumps(config, JSON_COMPACT);
    if (!text) abort();
    fn->config.len = 0;
    sl_buf_put(&fn->config, text, strlen(text));
    free(text);
    json_decref(config);
}

/* Limit i of limit_settings: the node's own, else the artifact's
** suggestion (which must be in the node's range), else the default. */
static int64_t limit(SlCtx *ctx, Function *fn, const SlConf *conf, size_t i, bool *bad)
{
    const SlSetting *s = &limit_settings[i];
    int64_t def = 0;
    sl_scalar_int(s->def, &def);
    const SlConf *limits = sl_conf_get(conf, "limits");
    json_t *suggested = fn->manifest ? json_object_get(json_object_get(fn->manifest->doc, "limits"),
                                                       manifest_limits[i]) : NULL;
    if (!suggested || sl_conf_get(limits, s->name)) return sl_conf_int(limits, s->name, def);
    int64_t v = json_integer_value(suggested);
    if (v < s->min || v > s->max) {
        sl_conf_error(ctx, sl_conf_get(conf, "artifact"),
                      "artifact %s: its manifest's limit %s: %" PRId64 " is outside %" PRId64
                      "..%" PRId64 "; set limits.%s on the node", fn->manifest->name,
                      manifest_limits[i], v, s->min, s->max, s->name);
        *bad = true;
    }
    return v;
}

static int read_config(SlCtx *ctx, Function *fn, const SlConf *conf)
{
    const SlConf *config = sl_conf_get(conf, "config");
    if (config && !sl_scalar_null(config) && config->kind != SL_CONF_MAP) {
        sl_conf_error(ctx, config, "'config' must be a mapping (the function's init gets it as a JSON object)");
        return -1;
    }
    if (config && config->kind == SL_CONF_MAP) put_conf_json(&fn->config, config);
    else sl_buf_put(&fn->config, "{}", 2);
    apply_default_config(fn);
    fn->options = sfn_default_options();
    fn->options.config = fn->config.data;
    fn->options.config_len = fn->config.len;
    bool bad = false;
    fn->options.limits = (sfn_limits){
        .fuel = (uint64_t)limit(ctx, fn, conf, 0, &bad),
        .timeout_ms = (uint64_t)limit(ctx, fn, conf, 1, &bad),
        .max_memory_pages = (uint32_t)(limit(ctx, fn, conf, 2, &bad) * PAGES_PER_MIB),
        .max_output = (size_t)limit(ctx, fn, conf, 3, &bad),
    };
    return bad ? -1 : 0;
}

static void read_fields(Function *fn, const SlConf *list)
{
    if (!list || list->kind != SL_CONF_SEQ) return;
    fn->fields = calloc(list->count ? list->count : 1, sizeof *fn->fields);
    if (!fn->fields) abort();
    for (size_t i = 0; i < list->count; i++) fn->fields[i] = list->items[i]->text;
    fn->nfields = list->count;
}

/* ---- Artifacts ------------------------------------------------------- */

/* Where resolved artifacts are kept: cache_dir, $SLUICE_CACHE,
** $XDG_CACHE_HOME/sluice or ~/.cache/sluice. */
static bool cache_dir(SlCtx *ctx, const SlConf *conf, char *out, size_t cap)
{
    const char *set = sl_conf_str(conf, "cache_dir", NULL);
    const char *env = getenv("SLUICE_CACHE"), *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (set) snprintf(out, cap, "%s", sl_path(ctx, set));
    else if (env && *env) snprintf(out, cap, "%s", env);
    else if (xdg && *xdg) snprintf(out, cap, "%s/sluice", xdg);
    else if (home && *home) snprintf(out, cap, "%s/.cache/sluice", home);
    else return false;
    return true;
}

/* trusted_signers as registry_resolve takes them: NULL-ended, or NULL
** when not set (then unsigned artifacts are accepted). An empty list
** trusts no one. */
static int read_signers(SlCtx *ctx, const SlConf *list, const char ***out)
{
    *out = NULL;
    if (!list || list->kind != SL_CONF_SEQ) return 0;
    *out = calloc(list->count + 1, sizeof **out);
    if (!*out) abort();
    int problems = 0;
    for (size_t i = 0; i < list->count; i++) {
        const char *key = list->items[i]->text;
        (*out)[i] = key;
        if (strlen(key) != 64 || strspn(key, "0123456789abcdef") != 64) {
            sl_conf_error(ctx, list->items[i], "a trusted signer is a public key: 64 lowercase hex "
                          "digits, as `sluice keygen` prints (got '%.80s')", key);
            problems = -1;
        }
    }
    return problems;
}

/* Resolves `artifact:` (downloading it into the cache unless it is there)
** to the path of its module, malloc'd in *path. Without a registry URL
** anywhere, only the cache is used. Filling the cache is init's one outside
** effect, on purpose: `sluice validate` then checks the very module `sluice
** run` will use, and a later run needs no registry. */
static int resolve_artifact(SlCtx *ctx, Function *fn, const SlConf *conf, char **path)
{
    const SlConf *node = sl_conf_get(conf, "artifact");
    char cache[PATH_MAX], err[1024];
    char name[REGISTRY_NAME_MAX + 1], version[REGISTRY_VERSION_MAX + 1];
    if (!registry_ref_parse(node->text, name, version, err, sizeof err)) {
        sl_conf_error(ctx, node, "'artifact' is NAME@VERSION or NAME@latest: %s", err);
        return -1;
    }
    if (!cache_dir(ctx, conf, cache, sizeof cache)) {
        sl_conf_error(ctx, node, "no cache for artifacts: set cache_dir, SLUICE_CACHE or HOME");
        return -1;
    }
    const char **signers;
    if (read_signers(ctx, sl_conf_get(conf, "trusted_signers"), &signers)) {
        free(signers);
        return -1;
    }
    RegistryClientConfig client = { 0 };
    bool online = client_config_load(&client, sl_conf_str(conf, "registry", NULL), NULL, err, sizeof err);
    int rc = registry_resolve(online ? &client : NULL, node->text, cache, signers, path,
                              &fn->manifest, err, sizeof err);
    free(signers);
    if (rc) sl_conf_error(ctx, node, "%s", err); /* it names the artifact */
    return rc;
}

/* The node's module file: `module`, or the resolved `artifact` (exactly
** one of them). *where is the setting, for errors; *path is malloc'd. */
static int module_path(SlCtx *ctx, Function *fn, const SlConf *conf, const SlConf **where, char **path)
{
    const SlConf *module = sl_conf_get(conf, "module"), *artifact = sl_conf_get(conf, "artifact");
    *where = module ? module : artifact;
    *path = NULL;
    if (!module == !artifact) {
        sl_conf_error(ctx, module ? artifact : conf, "%s", module
                      ? "give either 'module' or 'artifact', not both"
                      : "missing 'module' (a .wasm file) or 'artifact' (NAME@VERSION from a registry)");
        return -1;
    }
    if (artifact) return resolve_artifact(ctx, fn, conf, path);
    *path = strdup(sl_path(ctx, module->text));
    if (!*path) abort();
    return 0;
}

/* Loads and checks the module, and makes worker 0's instance, so that
** `sluice validate` reports a missing or broken function. */
static int load_module(SlCtx *ctx, Function *fn, const SlConf *where, const char *path)
{
    if (access(path, R_OK) != 0) {
        sl_conf_error(ctx, where, "cannot read the module '%s': %s", path, strerror(errno));
        return -1;
    }
    sfn_error err;
    fn->module = sfn_module_load_file(path, &err);
    if (fn->module) fn->workers[0].instance = sfn_instance_new(fn->module, &fn->options, &err);
    if (!fn->workers[0].instance) {
        sl_conf_error(ctx, where, "function %s: %s: %s", err.function, sfn_kind_name(err.kind),
                      err.message);
        return -1;
    }
    return 0;
}

static int init(SlCtx *ctx, const SlConf *conf)
{
    Function *fn = calloc(1, sizeof *fn);
    if (!fn) abort();
    sl_set_state(ctx, fn);
    const char *on_error = sl_conf_str(conf, "on_error", "dead_letter");
    fn->on_error = !strcmp(on_error, "drop") ? DROP : !strcmp(on_error, "stop") ? STOP : DEAD_LETTER;
    fn->nworkers = (size_t)sl_conf_int(conf, "instances", 1);
    fn->workers = calloc(fn->nworkers, sizeof *fn->workers);
    if (!fn->workers) abort();
    for (size_t i = 0; i < fn->nworkers; i++) fn->workers[i] = (Worker){ .fn = fn, .ctx = ctx };
    read_fields(fn, sl_conf_get(conf, "fields"));
    WindowSpec spec;
    int problems = window_spec_read(ctx, sl_conf_get(conf, "window"), &spec);
    const SlConf *where;
    char *path;
    problems |= module_path(ctx, fn, conf, &where, &path);
    problems |= read_config(ctx, fn, conf);
    problems = problems || load_module(ctx, fn, where, path);
    free(path);
    if (problems) return -1;
    fn->in_place = sfn_instance_abi(fn->workers[0].instance) == 2 && window_spec_in_order(&spec);
    fn->windows = windows_new(&spec, fn->in_place);
    fn->key_field = spec.key_field;
    return 0;
}

/* The other instances and their threads. */
static int start(SlCtx *ctx)
{
    Function *fn = sl_state(ctx);
    if (fn->nworkers == 1) return 0;
    Pool *pool = &fn->pool;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    fn->pool_ready = true;
    for (size_t i = 1; i < fn->nworkers; i++) {
        Worker *w = &fn->workers[i];
        sfn_error err;
        w->instance = sfn_instance_new(fn->module, &fn->options, &err);
        if (!w->instance) {
            sl_fail(ctx, "function %s: %s: %s", err.function, sfn_kind_name(err.kind), err.message);
            return -1;
        }
        int rc = pthread_create(&w->thread, NULL, helper_main, w);
        if (rc) {
            sl_fail(ctx, "cannot start a thread: %s", strerror(rc));
            return -1;
        }
        w->thread_started = true;
    }
    return 0;
}

static void stop_pool(Function *fn)
{
    if (!fn->pool_ready) return;
    pthread_mutex_lock(&fn->pool.lock);
    fn->pool.quit = true;
    pthread_cond_broadcast(&fn->pool.wake);
    pthread_mutex_unlock(&fn->pool.lock);
    for (size_t i = 0; i < fn->nworkers; i++)
        if (fn->workers[i].thread_started) pthread_join(fn->workers[i].thread, NULL);
    pthread_mutex_destroy(&fn->pool.lock);
    pthread_cond_destroy(&fn->pool.wake);
    pthread_cond_destroy(&fn->pool.done);
    free_jobs(&fn->pool);
}

static void destroy(void *state)
{
    Function *fn = state;
    if (!fn) return;
    stop_pool(fn);
    for (size_t i = 0; i < fn->nworkers; i++) {
        if (fn->workers[i].instance) sfn_instance_free(fn->workers[i].instance);
        columnar_free(&fn->workers[i].codec);
    }
    free(fn->workers);
    if (fn->module) sfn_module_free(fn->module);
    if (fn->manifest) manifest_free(fn->manifest);
    windows_free(fn->windows);
    sl_buf_free(&fn->solo.output);
    free(fn->fields);
    sl_buf_free(&fn->config);
    free(fn);
}

const SlComponentType sl_transform_function = {
    .name = "function",
    .kind = SL_TRANSFORM,
    .doc = "Runs a WebAssembly function on windows of records (columnar JSON, or binary columnar batches for ABI v2).",
    .settings = settings,
    .tick_ms = TICK_MS,
    .init = init,
    .start = start,
    .process = process,
    .tick = tick,
    .finish = finish,
    .destroy = destroy,
};
