/*
** harness.c: the engine benchmark, Sluice's interpreter against native code.
**
**   harness KERNELS.wasm [SECTION...]
**
** KERNELS.wasm is bench/kernels/ compiled to one Wasm module; the same
** kernels are linked into this program natively (gcc -O2). The sections are
**   kernels     every kernel, native against Wasm, and the geomean slowdown
**   calls       cost of a host-to-guest call through sw_call_raw
**   instantiate cost of store + instantiate + free of a small module
** and kernel names select single kernels (handy under perf). With no
** section, everything runs.
**
** Figures are the best of a few runs, in process CPU time, printed beside
** the engine's targets. They never fail the run; a wrong result does: an
** `ENGINE BUG` line is printed and the exit status is non-zero. Only the
** public API is used.
*/
#include "kernels/kernels.h"
#include "sluice_wasm.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A kernel's n doubles until its native run takes CALIBRATION_MS. */
#define CALIBRATION_MS 50.0
/* Runs per figure, fewer once they add up to SAMPLING_BUDGET_MS, which keeps
   the whole benchmark within a few minutes even on a slow engine. */
#define SAMPLES 3
#define SAMPLING_BUDGET_MS 4000.0
#define CALLS 10000000u
#define INSTANTIATIONS 100000u

#define TARGET_SLOWDOWN "<= 12x (wasm3: ~14x)"
#define TARGET_CALL "<= 15 ns (wasm3: 11-65 ns)"
#define TARGET_INSTANTIATE "<= 5 us (wasm3: 2-15 us)"

/* Measured code, run n times or with size n. Returns 0 with a checksum of
   what it computed, or -1 with err filled. */
typedef int (*Workload)(void *context, uint32_t n, uint64_t *checksum,
                        sw_error *err);

typedef struct Kernel {
    const char *name, *what;
    uint64_t (*native)(uint32_t n);
} Kernel;

#define BENCH_ENTRY(name, what) { #name, what, kernel_##name },
static const Kernel kernels[] = { BENCH_KERNELS(BENCH_ENTRY) };
#define NKERNELS (sizeof kernels / sizeof kernels[0])

/*
** calls.wasm, for the cost of a host-to-guest call:
**   (module
**     (func (export "nop"))
**     (func (export "add") (param i32 i32) (result i32)
**       local.get 0 local.get 1 i32.add))
*/
static const uint8_t calls_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, /* \0asm, version 1 */
    0x01, 0x0a, 0x02,                               /* types: 2 */
    0x60, 0x00, 0x00,                               /*   [] -> [] */
    0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f,             /*   [i32 i32] -> [i32] */
    0x03, 0x03, 0x02, 0x00, 0x01,                   /* functions: types 0, 1 */
    0x07, 0x0d, 0x02,                               /* exports: 2 */
    0x03, 'n', 'o', 'p', 0x00, 0x00,                /*   "nop" func 0 */
    0x03, 'a', 'd', 'd', 0x00, 0x01,                /*   "add" func 1 */
    0x0a, 0x0c, 0x02,                               /* code: 2 bodies */
    0x02, 0x00, 0x0b,                               /*   end */
    0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b, /*   get 0, get 1, add */
};

/*
** small.wasm, for the cost of instantiation: one of everything that
** instantiation has to set up.
**   (module
**     (type $unary (func (param i32) (result i32)))
**     (memory (export "memory") 1)
**     (table 2 funcref)
**     (global $bias (mut i32) (i32.const 42))
**     (func $add_bias (type $unary) local.get 0 global.get $bias i32.add)
**     (func $double (type $unary) local.get 0 i32.const 1 i32.shl)
**     (func (export "dispatch") (param i32 i32) (result i32)
**       local.get 0 local.get 1 call_indirect (type $unary))
**     (func (export "peek") (param i32) (result i32) local.get 0 i32.load8_u)
**     (elem (i32.const 0) $add_bias $double)
**     (data (i32.const 16) "sluice"))
*/
static const uint8_t small_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, /* \0asm, version 1 */
    0x01, 0x0c, 0x02,                               /* types: 2 */
    0x60, 0x01, 0x7f, 0x01, 0x7f,                   /*   [i32] -> [i32] */
    0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f,             /*   [i32 i32] -> [i32] */
    0x03, 0x05, 0x04, 0x00, 0x00, 0x01, 0x00,       /* functions: 4 */
    0x04, 0x04, 0x01, 0x70, 0x00, 0x02,             /* table: funcref, min 2 */
    0x05, 0x03, 0x01, 0x00, 0x01,                   /* memory: min 1 */
    0x06, 0x06, 0x01, 0x7f, 0x01,                   /* global: mut i32 */
    0x41, 0x2a, 0x0b,                               /*   i32.const 42 */
    0x07, 0x1c, 0x03,                               /* exports: 3 */
    0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00, /*   memory 0 */
    0x08, 'd', 'i', 's', 'p', 'a', 't', 'c', 'h',   /*   func 2 */
    0x00, 0x02,
    0x04, 'p', 'e', 'e', 'k', 0x00, 0x03,           /*   func 3 */
    0x09, 0x08, 0x01,                               /* elements: 1 */
    0x00, 0x41, 0x00, 0x0b, 0x02, 0x00, 0x01,       /*   at 0: funcs 0, 1 */
    0x0a, 0x23, 0x04,                               /* code: 4 bodies */
    0x07, 0x00, 0x20, 0x00, 0x23, 0x00, 0x6a, 0x0b, /*   x + bias */
    0x07, 0x00, 0x20, 0x00, 0x41, 0x01, 0x74, 0x0b, /*   x << 1 */
    0x09, 0x00, 0x20, 0x00, 0x20, 0x01,             /*   get 0, get 1, */
    0x11, 0x00, 0x00, 0x0b,                         /*   call_indirect 0 */
    0x07, 0x00, 0x20, 0x00, 0x2d, 0x00, 0x00, 0x0b, /*   i32.load8_u */
    0x0b, 0x0c, 0x01,                               /* data: 1 */
    0x00, 0x41, 0x10, 0x0b,                         /*   at 16: */
    0x06, 's', 'l', 'u', 'i', 'c', 'e',             /*   "sluice" */
};

static int engine_bugs;

static void engine_bug(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("ENGINE BUG: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    engine_bugs++;
}

/* Process CPU time rather than wall-clock time: the figures then hold on a
   machine shared with other jobs, where being descheduled is common. */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The API leaves freeing NULL unspecified. */
static void free_engine_objects(sw_store *store, sw_module *module)
{
    if (store)
        sw_store_free(store);
    if (module)
        sw_module_free(module);
}

static int out_of_memory(sw_error *err)
{
    err->kind = SW_ERR_NOMEM;
    snprintf(err->message, sizeof err->message, "out of memory");
    return -1;
}

/* Loads a module and instantiates it in a new store. On failure, returns
   NULL with err filled; *module and *store are then NULL or still to free. */
static sw_instance *load_and_instantiate(const uint8_t *bytes, size_t len,
                                         sw_module **module, sw_store **store,
                                         sw_error *err)
{
    *store = NULL;
    *module = sw_module_load(bytes, len, err);
    if (!*module)
        return NULL;
    *store = sw_store_new(NULL);
    if (!*store) {
        out_of_memory(err);
        return NULL;
    }
    return sw_instantiate(*store, *module, NULL, 0, err);
}

typedef struct Timing {
    double best_ms, spent_ms;
    uint64_t checksum; /* of the last run; every run computes the same */
} Timing;

#define NO_TIMING ((Timing){ INFINITY, 0.0, 0 })

/* Runs work once and adds the run to t. */
static int sample(Workload work, void *context, uint32_t n, Timing *t,
                  sw_error *err)
{
    double start = now_ms();
    if (work(context, n, &t->checksum, err) != 0)
        return -1;
    double ms = now_ms() - start;
    t->spent_ms += ms;
    if (ms < t->best_ms)
        t->best_ms = ms;
    return 0;
}

static int best_of(int samples, Workload work, void *context, uint32_t n,
                   Timing *t, sw_error *err)
{
    *t = NO_TIMING;
    for (int i = 0; i < samples && t->spent_ms < SAMPLING_BUDGET_MS; i++)
        if (sample(work, context, n, t, err) != 0)
            return -1;
    return 0;
}

/* ---- Kernels ------------------------------------------------------------ */

static int run_native(void *context, uint32_t n, uint64_t *checksum,
                      sw_error *err)
{
    (void)err;
    *checksum = ((const Kernel *)context)->native(n);
    return 0;
}

static int run_guest(void *context, uint32_t n, uint64_t *checksum,
                     sw_error *err)
{
    sw_slot slots[1] = { n };
    if (sw_call_raw(context, slots, err) != 0)
        return -1;
    *checksum = slots[0];
    return 0;
}

/* The smallest power of two for which the native kernel runs at least
   CALIBRATION_MS, so every kernel weighs about the same. Two runs per step,
   so that one run slowed down by a neighbour does not make n too small. */
static uint32_t calibrate(const Kernel *kernel)
{
    Timing t;
    sw_error err;
    for (uint32_t n = 1;; n *= 2) {
        best_of(2, run_native, (void *)kernel, n, &t, &err);
        if (t.best_ms >= CALIBRATION_MS || n > UINT32_MAX / 2)
            return n;
    }
}

/* A fresh instance per kernel: every kernel starts on pristine memory. */
static int guest_kernel(sw_store *store, const sw_module *module,
                        const Kernel *kernel, sw_func **func, sw_error *err)
{
    sw_instance *inst = sw_instantiate(store, module, NULL, 0, err);
    if (!inst)
        return -1;
    char export_name[64];
    snprintf(export_name, sizeof export_name, "kernel_%s", kernel->name);
    *func = sw_instance_func(inst, export_name);
    if (!*func) {
        snprintf(err->message, sizeof err->message, "no export %s",
                 export_name);
        return -1;
    }
    return 0;
}

/* Native and Wasm runs alternate, so that a burst of load elsewhere on the
   machine slows both sides alike. */
static int measure_kernel(const Kernel *kernel, sw_func *func, uint32_t n,
                          Timing *native, Timing *guest, sw_error *err)
{
    *native = *guest = NO_TIMING;
    for (int i = 0; i < SAMPLES && guest->spent_ms < SAMPLING_BUDGET_MS; i++) {
        sample(run_native, (void *)kernel, n, native, err);
        if (sample(run_guest, func, n, guest, err) != 0)
            return -1;
    }
    return 0;
}

/* Prints the kernel's row; returns its slowdown, or 0 if it failed. */
static double bench_kernel(const sw_module *module, const Kernel *kernel)
{
    uint32_t n = calibrate(kernel);
    Timing native, guest;
    double slowdown = 0.0;
    sw_error err;
    sw_store *store = sw_store_new(NULL);
    sw_func *func;
    if (!store) {
        engine_bug("%s: cannot create a store", kernel->name);
    } else if (guest_kernel(store, module, kernel, &func, &err) != 0) {
        engine_bug("%s: instantiation failed: %s", kernel->name, err.message);
    } else if (measure_kernel(kernel, func, n, &native, &guest, &err) != 0) {
        engine_bug("%s: n=%u: %s", kernel->name, n, err.message);
    } else if (guest.checksum != native.checksum) {
        engine_bug("%s: n=%u: checksum %#llx, native %#llx", kernel->name, n,
                   (unsigned long long)guest.checksum,
                   (unsigned long long)native.checksum);
    } else {
        slowdown = guest.best_ms / native.best_ms;
        printf("%-10s %10u %10.1f %10.1f %9.2fx   %s\n", kernel->name, n,
               native.best_ms, guest.best_ms, slowdown, kernel->what);
    }
    free_engine_objects(store, NULL);
    fflush(stdout);
    return slowdown;
}

static void bench_kernels(const sw_module *module, const bool *chosen)
{
    printf("%-10s %10s %10s %10s %10s\n", "kernel", "n", "native_ms",
           "wasm_ms", "slowdown");
    double log_sum = 0.0;
    int attempted = 0, measured = 0;
    for (size_t i = 0; i < NKERNELS; i++) {
        if (!chosen[i])
            continue;
        attempted++;
        double slowdown = bench_kernel(module, &kernels[i]);
        if (slowdown > 0.0) {
            log_sum += log(slowdown);
            measured++;
        }
    }
    if (measured > 0)
        printf("%-43s %9.2fx   target %s%s\n", "geomean slowdown",
               exp(log_sum / measured), TARGET_SLOWDOWN,
               measured < attempted ? " (partial: some kernels failed)" : "");
    printf("\n");
}

/* ---- Host-to-guest calls ------------------------------------------------ */

/* n calls of a function taking 0 or 2 i32s; the checksum adds the results
   of a function that returns one. */
static int run_calls(void *context, uint32_t n, uint64_t *checksum,
                     sw_error *err)
{
    bool returns = sw_func_type(context)->nresults > 0;
    sw_slot slots[2];
    *checksum = 0;
    for (uint32_t i = 0; i < n; i++) {
        slots[0] = i;
        slots[1] = 1;
        if (sw_call_raw(context, slots, err) != 0)
            return -1;
        if (returns)
            *checksum += (uint32_t)slots[0];
    }
    return 0;
}

static void bench_call(sw_instance *inst, const char *name, const char *label,
                       uint64_t expected)
{
    sw_func *func = sw_instance_func(inst, name);
    Timing t;
    sw_error err;
    if (!func)
        engine_bug("calls.wasm: no export %s", name);
    else if (best_of(SAMPLES, run_calls, func, CALLS, &t, &err) != 0)
        engine_bug("calls.wasm: %s: %s", name, err.message);
    else if (t.checksum != expected)
        engine_bug("calls.wasm: %s returned wrong values", name);
    else
        printf("  %-22s %8.1f ns   target %s\n", label,
               t.best_ms * 1e6 / CALLS, TARGET_CALL);
    fflush(stdout);
}

static void bench_calls(void)
{
    printf("host-to-guest call via sw_call_raw, %u calls\n", CALLS);
    sw_error err;
    sw_module *module;
    sw_store *store;
    sw_instance *inst = load_and_instantiate(calls_wasm, sizeof calls_wasm,
                                             &module, &store, &err);
    if (!inst) {
        engine_bug("calls.wasm: %s", err.message);
    } else {
        /* add(i, 1) for i in 0 .. CALLS-1 */
        uint64_t add_sum = (uint64_t)CALLS * (CALLS + 1) / 2;
        bench_call(inst, "nop", "nop()", 0);
        bench_call(inst, "add", "add(i32, i32) -> i32", add_sum);
    }
    free_engine_objects(store, module);
    printf("\n");
}

/* ---- Instantiation ------------------------------------------------------ */

/* Exercises a fresh instance of small.wasm: memory, data, global, table and
   element segment must all be in place. */
static bool small_instance_works(sw_instance *inst, sw_error *err)
{
    sw_func *dispatch = sw_instance_func(inst, "dispatch");
    sw_func *peek = sw_instance_func(inst, "peek");
    sw_slot via_bias[2] = { 5, 0 }, via_double[2] = { 5, 1 }, byte[1] = { 16 };
    return dispatch && peek && sw_call_raw(dispatch, via_bias, err) == 0 &&
           sw_call_raw(dispatch, via_double, err) == 0 &&
           sw_call_raw(peek, byte, err) == 0 &&
           (uint32_t)via_bias[0] == 47 && (uint32_t)via_double[0] == 10 &&
           (uint32_t)byte[0] == 's';
}

static int run_instantiations(void *context, uint32_t n, uint64_t *checksum,
                              sw_error *err)
{
    *checksum = 0;
    for (uint32_t i = 0; i < n; i++) {
        sw_store *store = sw_store_new(NULL);
        if (!store)
            return out_of_memory(err);
        sw_instance *inst = sw_instantiate(store, context, NULL, 0, err);
        sw_store_free(store);
        if (!inst)
            return -1;
    }
    return 0;
}

static void bench_instantiate(void)
{
    printf("instantiation (store + instantiate + free), %u times\n",
           INSTANTIATIONS);
    sw_error err;
    sw_module *module;
    sw_store *store;
    sw_instance *inst = load_and_instantiate(small_wasm, sizeof small_wasm,
                                             &module, &store, &err);
    Timing t;
    if (!inst)
        engine_bug("small.wasm: %s", err.message);
    else if (!small_instance_works(inst, &err))
        engine_bug("small.wasm: wrong results after instantiation %s",
                   err.message);
    else if (best_of(SAMPLES, run_instantiations, module, INSTANTIATIONS, &t,
                     &err) != 0)
        engine_bug("small.wasm: %s", err.message);
    else
        printf("  %-22s %8.2f us   target %s\n", "small module",
               t.best_ms * 1e3 / INSTANTIATIONS, TARGET_INSTANTIATE);
    free_engine_objects(store, module);
    printf("\n");
}

/* ---- Driver ------------------------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *bytes = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        rewind(f);
        bytes = size > 0 ? malloc((size_t)size) : NULL;
        *len = (size_t)size;
        if (bytes && fread(bytes, 1, *len, f) != *len) {
            free(bytes);
            bytes = NULL;
        }
    }
    fclose(f);
    return bytes;
}

static int run_kernel_section(const char *path, const bool *chosen)
{
    size_t len;
    uint8_t *bytes = read_file(path, &len);
    if (!bytes) {
        fprintf(stderr, "harness: cannot read %s\n", path);
        return -1;
    }
    sw_error err;
    sw_module *module = sw_module_load(bytes, len, &err);
    free(bytes);
    if (!module) {
        engine_bug("%s: at byte %zu: %s", path, err.offset, err.message);
        return 0;
    }
    bench_kernels(module, chosen);
    sw_module_free(module);
    return 0;
}

typedef struct Selection {
    bool kernels[NKERNELS], calls, instantiate;
} Selection;

/* Adds a section or a kernel name to the selection; false if unknown. */
static bool select_section(Selection *sel, const char *name)
{
    bool all_kernels = strcmp(name, "kernels") == 0, found = all_kernels;
    for (size_t i = 0; i < NKERNELS; i++)
        if (all_kernels || strcmp(kernels[i].name, name) == 0)
            sel->kernels[i] = found = true;
    if (strcmp(name, "calls") == 0)
        sel->calls = found = true;
    if (strcmp(name, "instantiate") == 0)
        sel->instantiate = found = true;
    return found;
}

static bool any_kernel(const Selection *sel)
{
    for (size_t i = 0; i < NKERNELS; i++)
        if (sel->kernels[i])
            return true;
    return false;
}

int main(int argc, char **argv)
{
    Selection sel = { 0 };
    bool known = argc >= 2;
    for (int i = 2; i < argc && known; i++)
        known = select_section(&sel, argv[i]);
    if (argc == 2)
        known = select_section(&sel, "kernels") &&
                select_section(&sel, "calls") &&
                select_section(&sel, "instantiate");
    if (!known) {
        fprintf(stderr, "usage: harness KERNELS.wasm [kernels|calls|"
                        "instantiate|KERNEL]...\n");
        return 2;
    }

    printf("Sluice engine benchmark: interpreter vs native gcc -O2, best of "
           "%d runs\n\n", SAMPLES);
    if (any_kernel(&sel) && run_kernel_section(argv[1], sel.kernels) != 0)
        return 2;
    if (sel.calls)
        bench_calls();
    if (sel.instantiate)
        bench_instantiate();
    if (engine_bugs) {
        printf("%d ENGINE BUG(s): the figures above are incomplete\n",
               engine_bugs);
        return 1;
    }
    return 0;
}
