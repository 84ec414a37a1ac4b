/*
** host.c: libsluice-fn, the host side of the Sluice function ABI, versions
** 1 and 2 (docs/abi.md, interface in include/sluice_fn_host.h).
**
** Loading checks what can be checked without running the guest: the
** exports exist with the right kinds, and every import is one the host
** provides. Instantiation checks what needs a live instance (signatures,
** sluice_abi_version), then runs _initialize and sluice_init.
**
** A call follows the ABI to the letter: sluice_alloc, copy the input in,
** sluice_execute, sluice_free. The two versions differ only in what the
** documents hold (JSON text, or v2's binary batches), which is the caller's
** business: this file checks which version a module implements and lets the
** caller write the input straight into the guest's buffer. The host imports (sluice_output, sluice_error,
** sluice_log) bounds-check every pointer/length pair and stop the guest with
** an `abi` or `limit` error when it breaks the contract; they record that
** verdict in the instance before trapping, so that the trap is reported as
** what it really is. Any trap discards the live instance: the next call
** builds a fresh one with the same configuration.
**
** Fuel and deadline are per sfn_call, shared by the three guest calls it
** makes: each guest call gets what the previous ones left.
*/
#include "sluice_fn_host.h"
#include "sluice_wasi.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    DEFAULT_MAX_MEMORY_PAGES = 4096,        /* 256 MiB */
    DEFAULT_MAX_OUTPUT = 16 * 1024 * 1024,
    GUEST_KIND_MAX = 64,                    /* bytes kept of an error kind */
    LOG_LINE_MAX = 16 * 1024                /* longer log lines are cut */
};

static const char default_config[] = "{}";

/* ---- Errors -------------------------------------------------------------- */

const char *sfn_kind_name(sfn_kind kind)
{
    switch (kind) {
    case SFN_OK: return "ok";
    case SFN_TRAP: return "trap";
    case SFN_ERROR: return "error";
    case SFN_LIMIT: return "limit";
    case SFN_ABI: return "abi";
    }
    return "unknown";
}

static int fail(sfn_error *err, sfn_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills err (keeping err->function) and returns -1. */
static int fail(sfn_error *err, sfn_kind kind, const char *fmt, ...)
{
    err->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

static void set_function(sfn_error *err, const char *name)
{
    *err = (sfn_error){ .kind = SFN_OK };
    snprintf(err->function, sizeof err->function, "%s", name);
}

/* Bytes that guest text may not put on a terminal or in a log line as is. */
static bool is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* Appends guest bytes to the NUL-terminated text in dst[cap], showing bytes
   that are not printable (controls, DEL) as \xNN and cutting with "..."
   when full. UTF-8 sequences pass through unchanged. */
static void append_text(char *dst, size_t cap, const uint8_t *src, size_t len)
{
    size_t n = strlen(dst);
    for (size_t i = 0; i < len; i++) {
        char piece[5];
        int w = is_control(src[i])
                    ? snprintf(piece, sizeof piece, "\\x%02x", src[i])
                    : snprintf(piece, sizeof piece, "%c", src[i]);
        if (n + (size_t)w + 4 > cap) {
            snprintf(dst + n, cap - n, "...");
            return;
        }
        memcpy(dst + n, piece, (size_t)w + 1);
        n += (size_t)w;
    }
}

/* ---- Options and logging ------------------------------------------------- */

sfn_options sfn_default_options(void)
{
    return (sfn_options){ .limits = { .max_memory_pages = DEFAULT_MAX_MEMORY_PAGES,
                                      .max_output = DEFAULT_MAX_OUTPUT } };
}

const char *sfn_level_name(int level)
{
    static const char *const names[] = { "debug", "info", "warn", "error" };
    return level >= 0 && level < 4 ? names[level] : NULL;
}

void sfn_log_stderr(void *user, const char *function, int level,
                    const char *text, size_t len)
{
    (void)user;
    /* One locked line, so that lines of threads running at once do not
       interleave. */
    flockfile(stderr);
    fprintf(stderr, "sluice: fn %s: %s: ", function,
            sfn_level_name(level) ? sfn_level_name(level) : "?");
    /* Control bytes are escaped: a line stays one line, and a guest cannot
       drive the terminal. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (is_control(c)) fprintf(stderr, "\\x%02x", c);
        else putc(c, stderr);
    }
    putc('\n', stderr);
    funlockfile(stderr);
}

/* ---- Modules --------------------------------------------------------------- */

/* The function exports of the ABI (v1 and v2 alike); all parameters and
   results are i32. The order is that of the sw_func array in an instance. */
enum { FN_VERSION, FN_ALLOC, FN_FREE, FN_EXECUTE, FN_INIT, FN_INITIALIZE, NFUNCS };

typedef struct Export {
    const char *name;
    uint32_t nparams, nresults;
    bool optional;
} Export;

static const Export exports[NFUNCS] = {
    [FN_VERSION] = { "sluice_abi_version", 0, 1, false },
    [FN_ALLOC] = { "sluice_alloc", 1, 1, false },
    [FN_FREE] = { "sluice_free", 2, 0, false },
    [FN_EXECUTE] = { "sluice_execute", 2, 1, false },
    [FN_INIT] = { "sluice_init", 2, 1, true },
    [FN_INITIALIZE] = { "_initialize", 0, 0, true },
};

struct sfn_module {
    sw_module *wasm;
    char name[sizeof ((sfn_error *)0)->function];
    bool wants_wasi;
    bool has[NFUNCS];
};

static const char sluice_module[] = "sluice";
static const char wasi_module[] = "wasi_snapshot_preview1";
static const char *const sluice_imports[] = { "sluice_output", "sluice_error",
                                              "sluice_log" };
enum { NSLUICE_IMPORTS = sizeof sluice_imports / sizeof sluice_imports[0] };

static bool name_is(sw_name name, const char *text)
{
    return name.len == strlen(text) && !memcmp(name.ptr, text, name.len);
}

/* The export of that name, or -1. */
static long find_export(const sw_module *wasm, const char *name)
{
    for (size_t i = 0; i < sw_module_export_count(wasm); i++)
        if (name_is(sw_module_export(wasm, i).name, name)) return (long)i;
    return -1;
}

static int check_exports(sfn_module *m, sfn_error *err)
{
    long mem = find_export(m->wasm, "memory");
    if (mem < 0 || sw_module_export(m->wasm, (size_t)mem).kind != SW_EXTERN_MEMORY)
        return fail(err, SFN_ABI, "the module exports no memory named 'memory'");
    for (int f = 0; f < NFUNCS; f++) {
        long i = find_export(m->wasm, exports[f].name);
        m->has[f] = i >= 0;
        if (i < 0 && !exports[f].optional)
            return fail(err, SFN_ABI, "missing export '%s' (the ABI needs "
                        "memory, sluice_abi_version, sluice_alloc, sluice_free "
                        "and sluice_execute)", exports[f].name);
        if (i >= 0 && sw_module_export(m->wasm, (size_t)i).kind != SW_EXTERN_FUNC)
            return fail(err, SFN_ABI, "export '%s' is not a function",
                        exports[f].name);
    }
    return 0;
}

static bool is_sluice_import(sw_import_desc im)
{
    if (!name_is(im.module, sluice_module) || im.kind != SW_EXTERN_FUNC)
        return false;
    for (int i = 0; i < NSLUICE_IMPORTS; i++)
        if (name_is(im.name, sluice_imports[i])) return true;
    return false;
}

static int check_imports(sfn_module *m, sfn_error *err)
{
    for (size_t i = 0; i < sw_module_import_count(m->wasm); i++) {
        sw_import_desc im = sw_module_import(m->wasm, i);
        if (name_is(im.module, wasi_module)) {
            m->wants_wasi = true;
            continue;
        }
        if (!is_sluice_import(im))
            return fail(err, SFN_ABI, "unsupported import \"%.*s\".\"%.*s\": "
                        "a function may import only sluice_output, "
                        "sluice_error and sluice_log from \"sluice\", and WASI "
                        "(\"%s\")", (int)im.module.len, im.module.ptr,
                        (int)im.name.len, im.name.ptr, wasi_module);
    }
    return 0;
}

sfn_module *sfn_module_load(const char *name, const uint8_t *bytes,
                            size_t len, sfn_error *err)
{
    set_function(err, name);
    sfn_module *m = calloc(1, sizeof *m);
    if (!m) {
        fail(err, SFN_LIMIT, "out of host memory");
        return NULL;
    }
    snprintf(m->name, sizeof m->name, "%s", name);
    sw_error werr;
    m->wasm = sw_module_load(bytes, len, &werr);
    if (!m->wasm)
        fail(err, SFN_ABI, "not a valid WebAssembly module: at byte %zu: %s",
             werr.offset, werr.message);
    if (!m->wasm || check_exports(m, err) || check_imports(m, err)) {
        sfn_module_free(m);
        return NULL;
    }
    return m;
}

/* "dir/upper.wasm" -> "upper" */
static void function_name(const char *path, char *name, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (len > 5 && !strcmp(base + len - 5, ".wasm")) len -= 5;
    snprintf(name, cap, "%.*s", (int)len, base);
}

sfn_module *sfn_module_load_file(const char *path, sfn_error *err)
{
    char name[sizeof err->function];
    function_name(path, name, sizeof name);
    set_function(err, name);
    FILE *f = fopen(path, "rb");
    uint8_t *bytes = NULL;
    long size = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (bytes = malloc((size_t)size + 1)) &&
        fread(bytes, 1, (size_t)size, f) == (size_t)size) {
        fclose(f);
        sfn_module *m = sfn_module_load(name, bytes, (size_t)size, err);
        free(bytes);
        return m;
    }
    int saved = errno;
    if (f) fclose(f);
    free(bytes);
    fail(err, SFN_ABI, "cannot read %s: %s", path,
         size >= 0 && !bytes ? "out of memory" : strerror(saved));
    return NULL;
}

void sfn_module_free(sfn_module *m)
{
    if (!m) return;
    sw_module_free(m->wasm);
    free(m);
}

const char *sfn_module_name(const sfn_module *m)
{
    return m->name;
}

/* ---- Instances --------------------------------------------------------------- */

typedef enum Phase { PHASE_SETUP, PHASE_INIT, PHASE_EXECUTE } Phase;

struct sfn_instance {
    const sfn_module *module;
    sfn_limits limits;
    sfn_log_fn log;
    void *log_user;
    uint8_t *config;
    size_t config_len;

    /* The live parts; store is NULL after a trap until the next call. */
    sw_store *store;
    sw_wasi *wasi;
    sw_memory *memory;
    sw_func *funcs[NFUNCS];

    /* The call in progress. */
    sfn_error *err;
    Phase phase;
    bool violated;      /* a host import stopped the guest; err says why */
    bool have_output, have_error;
    uint64_t fuel_used; /* by this sfn_call so far */
    uint64_t deadline_ns;

    int abi;            /* the version the guest implements; 0 until known */
    uint8_t *output;    /* the last output, kept for the caller */
    size_t output_len, output_cap;
    sfn_stats stats;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Stops the guest from inside a host import with an error of ours. */
static int violation(sfn_instance *in, sw_caller *caller, sfn_kind kind,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int violation(sfn_instance *in, sw_caller *caller, sfn_kind kind,
                     const char *fmt, ...)
{
    in->err->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(in->err->message, sizeof in->err->message, fmt, ap);
    va_end(ap);
    in->violated = true;
    return sw_caller_trap(caller, "%s", in->err->message);
}

/* The guest bytes [ptr, ptr + len), or NULL after reporting a violation. */
static const uint8_t *guest_bytes(sfn_instance *in, sw_caller *caller,
                                  const char *import, uint32_t ptr, uint32_t len)
{
    sw_memory *mem = sw_caller_memory(caller);
    uint64_t size = mem ? sw_memory_size(mem) : 0;
    if ((uint64_t)ptr + len > size) {
        violation(in, caller, SFN_ABI, "%s: bytes %u..%llu lie outside guest "
                  "memory (%llu bytes)", import, ptr,
                  (unsigned long long)ptr + len, (unsigned long long)size);
        return NULL;
    }
    return sw_memory_data(mem) + ptr;
}

static bool reserve_output(sfn_instance *in, size_t len)
{
    if (len <= in->output_cap) return true;
    uint8_t *grown = realloc(in->output, len);
    if (!grown) return false;
    in->output = grown;
    in->output_cap = len;
    return true;
}

static int host_output(sw_caller *caller, void *user, const sw_slot *args,
                       sw_slot *results)
{
    (void)results;
    sfn_instance *in = user;
    uint32_t ptr = (uint32_t)args[0], len = (uint32_t)args[1];
    if (in->phase != PHASE_EXECUTE)
        return violation(in, caller, SFN_ABI, "sluice_output called outside "
                         "sluice_execute");
    if (in->have_output)
        return violation(in, caller, SFN_ABI, "sluice_output called twice in "
                         "one sluice_execute");
    if (len > in->limits.max_output)
        return violation(in, caller, SFN_LIMIT, "output of %u bytes exceeds "
                         "the cap of %zu bytes", len, in->limits.max_output);
    const uint8_t *bytes = guest_bytes(in, caller, "sluice_output", ptr, len);
    if (!bytes) return -1;
    if (!reserve_output(in, len))
        return violation(in, caller, SFN_LIMIT, "out of host memory for an "
                         "output of %u bytes", len);
    if (len) memcpy(in->output, bytes, len);
    in->output_len = len;
    in->have_output = true;
    return 0;
}

static int host_error(sw_caller *caller, void *user, const sw_slot *args,
                      sw_slot *results)
{
    (void)results;
    sfn_instance *in = user;
    uint32_t kind_len = (uint32_t)args[1], msg_len = (uint32_t)args[3];
    const uint8_t *kind = guest_bytes(in, caller, "sluice_error (kind)",
                                      (uint32_t)args[0], kind_len);
    const uint8_t *msg = kind ? guest_bytes(in, caller, "sluice_error (message)",
                                            (uint32_t)args[2], msg_len)
                              : NULL;
    if (!msg) return -1;
    if (in->phase == PHASE_SETUP)
        return violation(in, caller, SFN_ABI, "sluice_error called outside "
                         "sluice_init and sluice_execute");
    sfn_error *err = in->err;
    err->kind = SFN_ERROR;
    err->message[0] = '\0';
    if (kind_len) {
        append_text(err->message, sizeof err->message, kind,
                    kind_len < GUEST_KIND_MAX ? kind_len : GUEST_KIND_MAX);
        append_text(err->message, sizeof err->message, (const uint8_t *)": ", 2);
    }
    append_text(err->message, sizeof err->message, msg, msg_len);
    in->have_error = true;
    return 0;
}

static int host_log(sw_caller *caller, void *user, const sw_slot *args,
                    sw_slot *results)
{
    (void)results;
    sfn_instance *in = user;
    int32_t level = (int32_t)(uint32_t)args[0];
    uint32_t len = (uint32_t)args[2];
    const uint8_t *text = guest_bytes(in, caller, "sluice_log",
                                      (uint32_t)args[1], len);
    if (!text) return -1;
    if (!sfn_level_name(level))
        return violation(in, caller, SFN_ABI, "sluice_log: level %d is not "
                         "0 (debug), 1 (info), 2 (warn) or 3 (error)", level);
    in->log(in->log_user, in->module->name, level, (const char *)text,
            len < LOG_LINE_MAX ? len : LOG_LINE_MAX);
    return 0;
}

/* Frees the live parts (the store owns the guest instance and memory). */
static void discard(sfn_instance *in)
{
    sw_store_free(in->store);
    sw_wasi_free(in->wasi);
    in->store = NULL;
    in->wasi = NULL;
    in->memory = NULL;
}

/* Reports a failed engine call. */
static int engine_failure(sfn_instance *in, const sw_error *e, const char *what)
{
    if (in->violated) return -1; /* a host import already said why */
    if (e->kind == SW_ERR_TRAP) {
        switch (e->trap) {
        case SW_TRAP_FUEL:
            return fail(in->err, SFN_LIMIT, "out of fuel (%llu instructions) "
                        "in %s", (unsigned long long)in->limits.fuel, what);
        case SW_TRAP_DEADLINE:
            return fail(in->err, SFN_LIMIT, "deadline of %llu ms passed in %s",
                        (unsigned long long)in->limits.timeout_ms, what);
        case SW_TRAP_INTERRUPTED:
            return fail(in->err, SFN_LIMIT, "interrupted in %s", what);
        default:
            return fail(in->err, SFN_TRAP, "%s (in %s)", e->message, what);
        }
    }
    if (e->kind == SW_ERR_EXIT)
        return fail(in->err, SFN_ABI, "%s called proc_exit(%d) instead of "
                    "returning", what, e->exit_code);
    if (e->kind == SW_ERR_NOMEM)
        return fail(in->err, SFN_LIMIT, "%s: %s", what, e->message);
    return fail(in->err, SFN_ABI, "%s: %s", what, e->message);
}

/* Gives the store what is left of this call's fuel and time; fails when
   nothing is left (0 would mean "unlimited" to the engine). */
static int grant_budget(sfn_instance *in, const char *what)
{
    if (in->limits.fuel) {
        if (in->fuel_used >= in->limits.fuel)
            return fail(in->err, SFN_LIMIT, "out of fuel (%llu instructions) "
                        "before %s", (unsigned long long)in->limits.fuel, what);
        sw_store_set_fuel(in->store, in->limits.fuel - in->fuel_used);
    }
    if (in->deadline_ns) {
        uint64_t now = now_ns();
        if (now >= in->deadline_ns)
            return fail(in->err, SFN_LIMIT, "deadline of %llu ms passed "
                        "before %s", (unsigned long long)in->limits.timeout_ms,
                        what);
        sw_store_set_timeout(in->store, in->deadline_ns - now);
    }
    return 0;
}

static void start_budget(sfn_instance *in)
{
    in->fuel_used = 0;
    in->deadline_ns = in->limits.timeout_ms
                          ? now_ns() + in->limits.timeout_ms * 1000000u : 0;
}

/* Calls a guest export; slots as for sw_call_raw. Any failure discards the
   live instance, whose state is now unknown. */
static int guest_call(sfn_instance *in, int f, sw_slot *slots)
{
    const char *what = exports[f].name;
    if (grant_budget(in, what)) return -1;
    sw_error e;
    in->violated = false;
    int rc = sw_call_raw(in->funcs[f], slots, &e);
    in->fuel_used += sw_store_fuel_used(in->store);
    if (rc == 0) return 0;
    engine_failure(in, &e, what);
    discard(in);
    return -1;
}

/* A document that is already in host memory. */
typedef struct Copy {
    const uint8_t *bytes;
} Copy;

static void copy_document(void *user, uint8_t *dst, size_t len)
{
    if (len) memcpy(dst, ((const Copy *)user)->bytes, len);
}

/* Steps 1 to 3 of a call (docs/abi.md): fill writes the document into a
   buffer from sluice_alloc, the entry point runs on it, the buffer is
   freed. Returns 0 with *status set, or -1 with the error filled. */
static int run_entry(sfn_instance *in, int entry, size_t len, sfn_fill_fn fill,
                     void *user, uint32_t *status)
{
    if (len > UINT32_MAX)
        return fail(in->err, SFN_LIMIT, "a document of %zu bytes does not "
                    "fit in 32-bit guest memory", len);
    sw_slot slots[2] = { len };
    if (guest_call(in, FN_ALLOC, slots)) return -1;
    uint32_t ptr = (uint32_t)slots[0];
    if (ptr == 0)
        return fail(in->err, SFN_LIMIT, "sluice_alloc(%zu) returned 0: the "
                    "function is out of memory (cap: %u pages of 64 KiB)",
                    len, in->limits.max_memory_pages);
    if ((uint64_t)ptr + len > sw_memory_size(in->memory))
        return fail(in->err, SFN_ABI, "sluice_alloc(%zu) returned %u: the "
                    "block does not fit in guest memory (%llu bytes)", len,
                    ptr, (unsigned long long)sw_memory_size(in->memory));
    fill(user, sw_memory_data(in->memory) + ptr, len);
    slots[0] = ptr;
    slots[1] = len;
    if (guest_call(in, entry, slots)) return -1;
    *status = (uint32_t)slots[0];
    slots[0] = ptr;
    slots[1] = len;
    return guest_call(in, FN_FREE, slots);
}

/* Step 4: what the status says, given what the guest reported. */
static int check_status(sfn_instance *in, int entry, uint32_t status)
{
    const char *what = exports[entry].name;
    if (status == 1)
        return in->have_error ? -1 : fail(in->err, SFN_ABI, "%s returned 1 "
                                          "without calling sluice_error", what);
    if (status != 0)
        return fail(in->err, SFN_ABI, "%s returned %d; the ABI knows 0 "
                    "(success) and 1 (error)", what, (int32_t)status);
    if (in->have_error)
        return fail(in->err, SFN_ABI, "%s returned 0 after calling "
                    "sluice_error", what);
    if (entry == FN_EXECUTE && !in->have_output)
        return fail(in->err, SFN_ABI, "sluice_execute returned 0 without "
                    "calling sluice_output");
    return 0;
}

/* Runs sluice_init or sluice_execute on a document, start to finish. */
static int run_phase(sfn_instance *in, Phase phase, int entry, size_t len,
                     sfn_fill_fn fill, void *user)
{
    uint32_t status = 0;
    start_budget(in);
    in->phase = phase;
    in->have_output = in->have_error = false;
    int rc = run_entry(in, entry, len, fill, user, &status);
    in->phase = PHASE_SETUP;
    return rc ? rc : check_status(in, entry, status);
}

/* ---- Instantiation ------------------------------------------------------- */

static const sw_valtype i32s[] = { SW_I32, SW_I32, SW_I32, SW_I32 };

static bool all_i32(const sw_valtype *types, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (types[i] != SW_I32) return false;
    return true;
}

/* Writes "(i32, i64) -> i32" for a type. */
static void describe_type(char *buf, size_t cap, const sw_functype *t)
{
    static const struct { sw_valtype type; const char *name; } names[] = {
        { SW_I32, "i32" }, { SW_I64, "i64" }, { SW_F32, "f32" },
        { SW_F64, "f64" }, { SW_FUNCREF, "funcref" }, { SW_EXTERNREF, "externref" },
    };
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (uint32_t i = 0; i < t->nparams + t->nresults && n < cap; i++) {
        const char *name = "?";
        sw_valtype v = i < t->nparams ? t->params[i] : t->results[i - t->nparams];
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            if (names[k].type == v) name = names[k].name;
        const char *sep = i == t->nparams ? ") -> " : i ? ", " : "";
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", sep, name);
    }
    if (t->nresults == 0 && n < cap) snprintf(buf + n, cap - n, ") -> ()");
}

static int resolve_exports(sfn_instance *in, sw_instance *wasm)
{
    for (int f = 0; f < NFUNCS; f++) {
        const Export *x = &exports[f];
        in->funcs[f] = sw_instance_func(wasm, x->name);
        if (!in->funcs[f]) continue; /* optional: presence checked at load */
        const sw_functype *t = sw_func_type(in->funcs[f]);
        if (t->nparams != x->nparams || t->nresults != x->nresults ||
            !all_i32(t->params, t->nparams) || !all_i32(t->results, t->nresults)) {
            char found[96], wanted[96];
            describe_type(found, sizeof found, t);
            describe_type(wanted, sizeof wanted, &(sw_functype){
                x->nparams, x->nresults, i32s, i32s });
            return fail(in->err, SFN_ABI, "export '%s' has type %s; the ABI "
                        "wants %s", x->name, found, wanted);
        }
    }
    sw_extern mem;
    if (!sw_instance_export(wasm, SW_NAME("memory"), &mem) ||
        mem.kind != SW_EXTERN_MEMORY)
        return fail(in->err, SFN_ABI, "the module exports no memory named 'memory'");
    in->memory = mem.of.memory;
    return 0;
}

/* The sluice and (when wanted) WASI imports, in one array to free. */
static sw_import *make_imports(sfn_instance *in, size_t *count)
{
    static const sw_functype types[NSLUICE_IMPORTS] = {
        { 2, 0, i32s, NULL }, { 4, 0, i32s, NULL }, { 3, 0, i32s, NULL },
    };
    static const sw_host_fn fns[NSLUICE_IMPORTS] = { host_output, host_error,
                                                     host_log };
    const sw_import *wasi_imports = NULL;
    size_t nwasi = 0;
    if (in->wasi) {
        nwasi = sw_wasi_imports(in->wasi, in->store, &wasi_imports);
        if (!wasi_imports) return NULL;
    }
    sw_import *all = malloc((nwasi + NSLUICE_IMPORTS) * sizeof *all);
    if (!all) return NULL;
    for (int i = 0; i < NSLUICE_IMPORTS; i++) {
        sw_func *f = sw_func_new_host(in->store, &types[i], fns[i], in);
        if (!f) {
            free(all);
            return NULL;
        }
        all[i] = (sw_import){ sw_name_of(sluice_module), sw_name_of(sluice_imports[i]),
                              { SW_EXTERN_FUNC, { .func = f } } };
    }
    if (nwasi) memcpy(all + NSLUICE_IMPORTS, wasi_imports, nwasi * sizeof *all);
    *count = nwasi + NSLUICE_IMPORTS;
    return all;
}

/* A store and, when the module wants WASI, a sandbox with nothing in it:
   no arguments, environment or directories, no standard input, and both
   output streams on the host's standard error. */
static int make_store(sfn_instance *in)
{
    /* Fuel and time bound the start function too, which runs in
       sw_instantiate; guest_call() sets them afresh for each call. */
    sw_limits limits = { .max_memory_pages = in->limits.max_memory_pages,
                         .fuel = in->limits.fuel,
                         .timeout_ns = in->limits.timeout_ms * 1000000u };
    in->store = sw_store_new(&limits);
    if (!in->store) return fail(in->err, SFN_LIMIT, "out of host memory");
    if (!in->module->wants_wasi) return 0;
    sw_wasi_config cfg;
    sw_wasi_config_init(&cfg);
    cfg.stdin_fd = -1;
    cfg.stdout_fd = 2;
    cfg.stderr_fd = 2;
    sw_error e;
    in->wasi = sw_wasi_new(&cfg, &e);
    return in->wasi ? 0 : fail(in->err, SFN_LIMIT, "WASI: %s", e.message);
}

static int instantiate(sfn_instance *in)
{
    size_t nimports = 0;
    sw_import *imports = make_imports(in, &nimports);
    if (!imports) return fail(in->err, SFN_LIMIT, "out of host memory");
    sw_error e;
    in->violated = false;
    sw_instance *wasm = sw_instantiate(in->store, in->module->wasm, imports,
                                       nimports, &e);
    free(imports);
    if (wasm) return resolve_exports(in, wasm);
    if (e.kind == SW_ERR_LINK && strstr(e.message, "the store allows"))
        return fail(in->err, SFN_LIMIT, "%s", e.message); /* memory too big */
    return engine_failure(in, &e, "instantiation");
}

/* The version is negotiated once: a rebuilt instance must implement the
   one its caller has been encoding documents for. */
static int check_version(sfn_instance *in)
{
    sw_slot slot[1];
    if (guest_call(in, FN_VERSION, slot)) return -1;
    int32_t version = (int32_t)(uint32_t)slot[0];
    if (version < 1 || version > SFN_ABI_VERSION)
        return fail(in->err, SFN_ABI, "the module implements ABI version %d; "
                    "this host implements versions 1 to %d", version, SFN_ABI_VERSION);
    if (in->abi && version != in->abi)
        return fail(in->err, SFN_ABI, "the rebuilt instance implements ABI "
                    "version %d, the first one version %d", version, in->abi);
    in->abi = version;
    return 0;
}

/* Builds the live parts and configures them: instantiate, check, initialize,
   check the version, sluice_init. On failure everything built is freed
   again. */
static int start(sfn_instance *in)
{
    start_budget(in);
    in->phase = PHASE_SETUP;
    int rc = make_store(in);
    if (!rc) rc = instantiate(in);
    /* A WASI reactor wants _initialize before any other export. */
    if (!rc && in->funcs[FN_INITIALIZE])
        rc = guest_call(in, FN_INITIALIZE, (sw_slot[1]){ 0 });
    if (!rc) rc = check_version(in);
    if (!rc && in->funcs[FN_INIT])
        rc = run_phase(in, PHASE_INIT, FN_INIT, in->config_len, copy_document,
                       &(Copy){ in->config });
    if (rc) discard(in);
    return rc;
}

static int copy_options(sfn_instance *in, const sfn_options *opt)
{
    in->limits = opt->limits;
    if (!in->limits.max_memory_pages)
        in->limits.max_memory_pages = DEFAULT_MAX_MEMORY_PAGES;
    if (!in->limits.max_output) in->limits.max_output = DEFAULT_MAX_OUTPUT;
    in->log = opt->log ? opt->log : sfn_log_stderr;
    in->log_user = opt->log_user;
    const char *config = opt->config ? opt->config : default_config;
    in->config_len = opt->config ? opt->config_len : strlen(default_config);
    in->config = malloc(in->config_len + 1);
    if (!in->config) return -1;
    memcpy(in->config, config, in->config_len);
    return 0;
}

sfn_instance *sfn_instance_new(const sfn_module *module,
                               const sfn_options *options, sfn_error *err)
{
    set_function(err, module->name);
    sfn_options defaults = sfn_default_options();
    sfn_instance *in = calloc(1, sizeof *in);
    if (!in || copy_options(in, options ? options : &defaults)) {
        free(in);
        fail(err, SFN_LIMIT, "out of host memory");
        return NULL;
    }
    in->module = module;
    in->err = err;
    if (start(in)) {
        sfn_instance_free(in);
        return NULL;
    }
    return in;
}

void sfn_instance_free(sfn_instance *in)
{
    if (!in) return;
    discard(in);
    free(in->config);
    free(in->output);
    free(in);
}

int sfn_call(sfn_instance *in, const uint8_t *input, size_t input_len,
             const uint8_t **out, size_t *out_len, sfn_error *err)
{
    return sfn_call_fill(in, input_len, copy_document, &(Copy){ input }, out,
                         out_len, err);
}

int sfn_call_fill(sfn_instance *in, size_t input_len, sfn_fill_fn fill,
                  void *user, const uint8_t **out, size_t *out_len,
                  sfn_error *err)
{
    set_function(err, in->module->name);
    in->err = err;
    in->stats.calls++;
    int rc = 0;
    if (!in->store) {
        in->stats.restarts++;
        rc = start(in);
    }
    if (!rc) rc = run_phase(in, PHASE_EXECUTE, FN_EXECUTE, input_len, fill, user);
    in->stats.fuel_last = in->fuel_used;
    in->stats.fuel_total += in->fuel_used;
    if (rc) {
        in->stats.failures++;
        return -1;
    }
    *out = in->output;
    *out_len = in->output_len;
    return 0;
}

sfn_stats sfn_instance_stats(const sfn_instance *in)
{
    return in->stats;
}

int sfn_instance_abi(const sfn_instance *in)
{
    return in->abi;
}

uint64_t sfn_instance_memory_size(const sfn_instance *in)
{
    return in->memory ? sw_memory_size(in->memory) : 0;
}
