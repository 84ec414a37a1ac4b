/*
** sluice_wasm.h: public interface of libsluice-wasm, Sluice's WebAssembly engine.
**
** The engine decodes, validates, compiles and runs WebAssembly 2.0 core modules
** (without SIMD). It has no dependency on the Sluice pipeline.
**
** Objects and threads
**   sw_module   decoded, validated and compiled code. Immutable once loaded:
**               one module may be instantiated from many threads at once.
**   sw_store    an execution context: value stack, call stack, fuel, deadline,
**               and ownership of every instance, function, memory, table and
**               global created in it. A store and everything in it must be
**               used by one thread at a time (typically: one store per worker
**               thread). Only sw_store_interrupt() may be called from another
**               thread.
**   sw_instance an instantiated module, owned by its store.
**
** Values
**   The hot calling interface passes raw 64-bit slots (sw_slot): an i32 or f32
**   sits in the low 32 bits (upper bits are ignored on input and unspecified
**   on output), an i64 or f64 fills the slot, a reference is a pointer
**   (funcref: sw_func *, externref: the host's void *; NULL is ref.null).
**   sw_call() offers a checked interface with typed sw_value arrays.
**
** Errors
**   Every fallible call fills an sw_error: a kind, a message and, for load
**   errors, the byte offset in the module where the problem was found.
*/
#ifndef SLUICE_WASM_H
#define SLUICE_WASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sw_valtype {
    SW_I32 = 0x7f,
    SW_I64 = 0x7e,
    SW_F32 = 0x7d,
    SW_F64 = 0x7c,
    SW_FUNCREF = 0x70,
    SW_EXTERNREF = 0x6f
} sw_valtype;

typedef uint64_t sw_slot;

typedef struct sw_value {
    sw_valtype type;
    union {
        int32_t i32;
        int64_t i64;
        float f32;
        double f64;
        void *ref;
    } of;
} sw_value;

typedef struct sw_functype {
    uint32_t nparams, nresults;
    const sw_valtype *params;
    const sw_valtype *results;
} sw_functype;

typedef enum sw_errkind {
    SW_OK = 0,
    SW_ERR_MALFORMED,   /* the bytes are not a well-formed binary module */
    SW_ERR_INVALID,     /* well-formed but fails validation */
    SW_ERR_LINK,        /* instantiation: missing or mismatched import */
    SW_ERR_TRAP,        /* execution trapped (see sw_error.trap) */
    SW_ERR_EXIT,        /* the guest called WASI proc_exit (see exit_code) */
    SW_ERR_NOMEM,       /* the host ran out of memory */
    SW_ERR_ARG          /* bad argument from the embedder (wrong types, ...) */
} sw_errkind;

typedef enum sw_trap {
    SW_TRAP_NONE = 0,
    SW_TRAP_UNREACHABLE,
    SW_TRAP_MEMORY_OOB,
    SW_TRAP_TABLE_OOB,
    SW_TRAP_DIV_ZERO,
    SW_TRAP_INT_OVERFLOW,
    SW_TRAP_BAD_CONVERSION,
    SW_TRAP_INDIRECT_MISMATCH,
    SW_TRAP_UNDEFINED_ELEMENT,
    SW_TRAP_UNINITIALIZED_ELEMENT,
    SW_TRAP_NULL_REFERENCE,
    SW_TRAP_STACK_EXHAUSTED,
    SW_TRAP_FUEL,
    SW_TRAP_DEADLINE,
    SW_TRAP_INTERRUPTED,
    SW_TRAP_HOST             /* a host function reported an error */
} sw_trap;

typedef struct sw_error {
    sw_errkind kind;
    sw_trap trap;        /* for SW_ERR_TRAP */
    int exit_code;       /* for SW_ERR_EXIT */
    size_t offset;       /* byte offset in the module, for load errors */
    char message[256];
} sw_error;

/* Name of a trap, as worded by the WebAssembly spec tests
   ("integer divide by zero", "out of bounds memory access", ...). */
const char *sw_trap_message(sw_trap trap);

/* ---- Modules ----------------------------------------------------------- */

typedef struct sw_module sw_module;

/* Decodes, validates and compiles a binary module. The bytes are copied. */
sw_module *sw_module_load(const uint8_t *bytes, size_t len, sw_error *err);
void sw_module_free(sw_module *module);

typedef enum sw_externkind {
    SW_EXTERN_FUNC = 0,
    SW_EXTERN_TABLE = 1,
    SW_EXTERN_MEMORY = 2,
    SW_EXTERN_GLOBAL = 3
} sw_externkind;

/* Names are UTF-8 and may hold any byte, so they travel with a length. */
typedef struct sw_name {
    const char *ptr;
    size_t len;
} sw_name;

#define SW_NAME(literal) ((sw_name){ (literal), sizeof(literal) - 1 })
sw_name sw_name_of(const char *cstring);

typedef struct sw_import_desc {
    sw_name module, name;
    sw_externkind kind;
} sw_import_desc;

typedef struct sw_export_desc {
    sw_name name;
    sw_externkind kind;
} sw_export_desc;

size_t sw_module_import_count(const sw_module *module);
sw_import_desc sw_module_import(const sw_module *module, size_t i);
size_t sw_module_export_count(const sw_module *module);
sw_export_desc sw_module_export(const sw_module *module, size_t i);

/* ---- Stores and limits ---------------------------------------------------- */

typedef struct sw_limits {
    uint32_t max_memory_pages; /* cap on any memory's size; 0: 65536 (4 GiB) */
    uint32_t max_table_size;   /* cap on any table's size; 0: 10,000,000 */
    uint32_t max_call_depth;   /* 0: 10,000 */
    uint32_t stack_slots;      /* value stack, in 64-bit slots; 0: 1 Mi */
    uint64_t fuel;             /* instruction budget per call; 0: unlimited */
    uint64_t timeout_ns;       /* wall-clock limit per call; 0: none */
} sw_limits;

typedef struct sw_store sw_store;

/* limits may be NULL for the defaults. */
sw_store *sw_store_new(const sw_limits *limits);
void sw_store_free(sw_store *store);
const sw_limits *sw_store_limits(const sw_store *store);
/* Changes fuel and timeout for subsequent calls. */
void sw_store_set_fuel(sw_store *store, uint64_t fuel);
void sw_store_set_timeout(sw_store *store, uint64_t timeout_ns);
/* Fuel consumed by the most recent top-level call. */
uint64_t sw_store_fuel_used(const sw_store *store);
/* Thread-safe: makes the running (or next) call trap with SW_TRAP_INTERRUPTED
   at its next loop iteration or call. */
void sw_store_interrupt(sw_store *store);

/* ---- Functions ---------------------------------------------------------- */

typedef struct sw_func sw_func;
typedef struct sw_table sw_table;
typedef struct sw_memory sw_memory;
typedef struct sw_global sw_global;
typedef struct sw_instance sw_instance;
typedef struct sw_caller sw_caller;

/* A host function reads its arguments from args and writes its results to
   results (raw slots, see above). It returns 0, or the value of
   sw_caller_trap() / sw_caller_exit() to stop the guest. */
typedef int (*sw_host_fn)(sw_caller *caller, void *user, const sw_slot *args,
                          sw_slot *results);

/* The memory of the instance that made the call (NULL if it has none). */
sw_memory *sw_caller_memory(sw_caller *caller);
sw_store *sw_caller_store(sw_caller *caller);
/* Traps the guest with SW_TRAP_HOST and the formatted message. */
int sw_caller_trap(sw_caller *caller, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Ends the guest with SW_ERR_EXIT and the exit code (WASI proc_exit). */
int sw_caller_exit(sw_caller *caller, int code);

sw_func *sw_func_new_host(sw_store *store, const sw_functype *type,
                          sw_host_fn fn, void *user);
const sw_functype *sw_func_type(const sw_func *func);

/* Calls with typed values; argument types are checked against the
   function's type. Returns 0 on success, -1 with err filled. */
int sw_call(sw_func *func, const sw_value *args, size_t nargs,
            sw_value *results, size_t nresults, sw_error *err);
/* Calls with raw slots: slots holds the arguments on entry and the results
   on return, and must have room for max(nparams, nresults) slots. */
int sw_call_raw(sw_func *func, sw_slot *slots, sw_error *err);

/* ---- Memories, tables, globals ---------------------------------------- */

#define SW_PAGE_SIZE 65536u
#define SW_NO_MAX UINT32_MAX   /* "no maximum" in the constructors below */

sw_memory *sw_memory_new(sw_store *store, uint32_t min_pages,
                         uint32_t max_pages);
uint8_t *sw_memory_data(sw_memory *memory);
uint64_t sw_memory_size(const sw_memory *memory); /* bytes */
/* Returns the old size in pages, or -1 if the memory cannot grow. */
int64_t sw_memory_grow(sw_memory *memory, uint32_t delta_pages);
/* Bounds-checked copies; 0 on success, -1 if out of bounds. */
int sw_memory_read(const sw_memory *memory, uint64_t offset, void *dst,
                   size_t len);
int sw_memory_write(sw_memory *memory, uint64_t offset, const void *src,
                    size_t len);

sw_table *sw_table_new(sw_store *store, sw_valtype elem, uint32_t min,
                       uint32_t max, void *init);
uint32_t sw_table_size(const sw_table *table);
int sw_table_get(const sw_table *table, uint32_t i, void **ref);
int sw_table_set(sw_table *table, uint32_t i, void *ref);

sw_global *sw_global_new(sw_store *store, sw_valtype type, bool mutable_,
                         sw_slot value);
sw_valtype sw_global_type(const sw_global *global);
sw_slot sw_global_get(const sw_global *global);
void sw_global_set(sw_global *global, sw_slot value);

/* ---- Instances -------------------------------------------------------- */

typedef struct sw_extern {
    sw_externkind kind;
    union {
        sw_func *func;
        sw_table *table;
        sw_memory *memory;
        sw_global *global;
    } of;
} sw_extern;

typedef struct sw_import {
    sw_name module, name;
    sw_extern value;
} sw_import;

/* Instantiates module in store, resolving its imports by (module, name)
   among imports[0..nimports). Runs the start function, if any. */
sw_instance *sw_instantiate(sw_store *store, const sw_module *module,
                            const sw_import *imports, size_t nimports,
                            sw_error *err);
/* Looks up an export; returns false if there is none by that name. */
bool sw_instance_export(const sw_instance *inst, sw_name name, sw_extern *out);
/* Convenience: the exported function of that name, or NULL. */
sw_func *sw_instance_func(const sw_instance *inst, const char *name);
/* The instance's memory 0, or NULL. */
sw_memory *sw_instance_memory(const sw_instance *inst);

#ifdef __cplusplus
}
#endif
#endif
