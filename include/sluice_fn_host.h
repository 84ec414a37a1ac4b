/*
** sluice_fn_host.h: public interface of libsluice-fn, the host side of the
** Sluice function ABI, versions 1 and 2 (docs/abi.md).
**
** A Sluice function is a WebAssembly module that turns one input document
** into one output document: JSON text in ABI v1, a binary columnar batch
** (sluice_batch.h) in v2. The module says which version it implements;
** sfn_instance_abi tells the caller, who encodes documents accordingly. This library loads such modules, checks that
** they keep the contract, runs them within limits and reports every failure
** as a structured error {function, kind, message}. It sits on the public
** engine API only (sluice_wasm.h, sluice_wasi.h).
**
** Objects and threads
**   sfn_module    a checked, compiled function module. Immutable once
**                 loaded: share it between threads.
**   sfn_instance  a live instance of a module with its configuration
**                 applied (sluice_init). One thread at a time; typically
**                 one per worker thread. After a trap it is rebuilt
**                 transparently at the next call (with the same
**                 configuration), because the guest's state cannot be
**                 trusted any more.
**
** Typical use (error handling elided):
**
**   sfn_error err;
**   sfn_module *fn = sfn_module_load_file("upper.wasm", &err);
**   sfn_options opt = sfn_default_options();
**   opt.config = "{\"field\":\"name\"}";
**   opt.config_len = strlen(opt.config);
**   sfn_instance *inst = sfn_instance_new(fn, &opt, &err);
**   const uint8_t *out; size_t out_len;
**   if (sfn_call(inst, input, input_len, &out, &out_len, &err) != 0)
**       fprintf(stderr, "%s: %s: %s\n", err.function,
**               sfn_kind_name(err.kind), err.message);
**   sfn_instance_free(inst);
**   sfn_module_free(fn);
**
** The guest's WASI standard output and standard error (printf in C, println
** in Rust) go to the host's standard error, never to its standard output:
** a function's only result is its output document.
*/
#ifndef SLUICE_FN_HOST_H
#define SLUICE_FN_HOST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The newest ABI version this host implements; it runs every one from 1. */
#define SFN_ABI_VERSION 2

typedef enum sfn_kind {
    SFN_OK = 0,
    SFN_TRAP,   /* the guest trapped (out-of-bounds access, unreachable...) */
    SFN_ERROR,  /* the guest reported an error with sluice_error */
    SFN_LIMIT,  /* fuel, deadline, memory or output-size limit hit */
    SFN_ABI     /* the module broke the ABI contract, or cannot be loaded */
} sfn_kind;

/* "trap", "error", "limit", "abi" ("ok" for SFN_OK). */
const char *sfn_kind_name(sfn_kind kind);

typedef struct sfn_error {
    sfn_kind kind;
    char function[128]; /* the function's name (module file name) */
    char message[1024]; /* what happened; the guest's own words for
                           SFN_ERROR, as "GUEST_KIND: message" when the guest
                           gave a kind. Long messages are cut, and bytes that
                           are not printable are shown as \xNN. */
} sfn_error;

/* ---- Limits and options ---------------------------------------------- */

typedef struct sfn_limits {
    uint64_t fuel;             /* instructions per call; 0: unlimited */
    uint64_t timeout_ms;       /* wall-clock time per call; 0: none */
    uint32_t max_memory_pages; /* linear memory cap (64 KiB pages); 0: 4096
                                  (256 MiB). memory.grow beyond it fails in
                                  the guest, as if the host had no memory. */
    size_t max_output;         /* output size cap in bytes; 0: 16 MiB */
} sfn_limits;

/* Log lines from the guest (sluice_log): level 0 debug, 1 info, 2 warn,
   3 error. The text is not NUL-terminated, is cut at 16 KiB and is only
   valid during the callback; it is the guest's bytes, unchecked. */
typedef void (*sfn_log_fn)(void *user, const char *function, int level,
                           const char *text, size_t len);

typedef struct sfn_options {
    sfn_limits limits;
    const char *config;  /* the configuration document given to sluice_init
                            (copied); NULL: "{}" */
    size_t config_len;
    sfn_log_fn log;      /* NULL: the default, one line on stderr:
                            "sluice: fn NAME: LEVEL: TEXT" */
    void *log_user;
} sfn_options;

/* Everything at its default: no fuel or time limit, 256 MiB of memory,
   16 MiB of output, "{}" as configuration, logging to stderr. */
sfn_options sfn_default_options(void);

/* "debug", "info", "warn", "error" for levels 0 to 3; NULL otherwise. */
const char *sfn_level_name(int level);

/* The default log callback, for hosts that filter and then delegate. */
void sfn_log_stderr(void *user, const char *function, int level,
                    const char *text, size_t len);

/* ---- Modules --------------------------------------------------------- */

typedef struct sfn_module sfn_module;

/* Decodes and compiles a module and checks its exports and imports against
   the ABI (signatures and the ABI version are checked when the first
   instance is made, since they need a live instance). name is the
   function's name in errors and logs. On failure returns NULL with err
   filled (kind SFN_ABI). */
sfn_module *sfn_module_load(const char *name, const uint8_t *bytes,
                            size_t len, sfn_error *err);
/* Reads the file and loads it under the file's base name without ".wasm". */
sfn_module *sfn_module_load_file(const char *path, sfn_error *err);
void sfn_module_free(sfn_module *module);
const char *sfn_module_name(const sfn_module *module);

/* ---- Instances and calls --------------------------------------------- */

typedef struct sfn_instance sfn_instance;

/* Instantiates, checks the export signatures, runs _initialize (WASI
   reactors), checks the ABI version and runs sluice_init with the
   configuration. options may be NULL for the defaults. */
sfn_instance *sfn_instance_new(const sfn_module *module,
                               const sfn_options *options, sfn_error *err);
void sfn_instance_free(sfn_instance *inst);

/* Runs the function on one input document. Returns 0 with *out and *out_len set
   to the output, which belongs to the instance and stays valid until its
   next call or its end; or -1 with err filled. */
int sfn_call(sfn_instance *inst, const uint8_t *input, size_t input_len,
             const uint8_t **out, size_t *out_len, sfn_error *err);

/* Writes an input document of len bytes at dst (guest memory, valid only
   during the callback). */
typedef void (*sfn_fill_fn)(void *user, uint8_t *dst, size_t len);

/* sfn_call for an input of input_len bytes that fill writes straight into
   the guest's input buffer, saving a copy of it. */
int sfn_call_fill(sfn_instance *inst, size_t input_len, sfn_fill_fn fill,
                  void *user, const uint8_t **out, size_t *out_len,
                  sfn_error *err);

/* The ABI version the module implements (1 or 2), which decides what its
   documents hold: JSON text (1) or binary batches (2; the configuration
   given to sluice_init is JSON in both). */
int sfn_instance_abi(const sfn_instance *inst);

typedef struct sfn_stats {
    uint64_t calls;         /* sfn_call invocations */
    uint64_t failures;      /* of which failed */
    uint64_t fuel_last;     /* fuel used by the last call */
    uint64_t fuel_total;    /* fuel used by all calls (not instantiation) */
    uint64_t restarts;      /* instances rebuilt after a trap */
} sfn_stats;

sfn_stats sfn_instance_stats(const sfn_instance *inst);
/* Size of the guest's linear memory in bytes (0 while the instance is
   waiting to be rebuilt after a trap). Stable over many calls when neither
   the guest nor the host leaks. */
uint64_t sfn_instance_memory_size(const sfn_instance *inst);

#ifdef __cplusplus
}
#endif
#endif
