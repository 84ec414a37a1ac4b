/*
** internal.h: types shared by the engine's modules. Not installed.
**
** How the engine fits together:
**
**   sw_module_load (module.c)
**     decode.c   binary -> sw_module: every section parsed and checked,
**                constant expressions typed, function bodies left as
**                byte ranges (FuncDef.body).
**     compile.c  for each body: validate (full type check) and translate in
**                one pass into Code, the interpreter's internal code.
**   sw_instantiate (instance.c)
**                imports matched, memories/tables/globals created, segments
**                applied, start function run. Public object API in api.c.
**   interp.c     executes Code.
**
** Frames. Every function activation owns a window of 64-bit slots on the
** store's value stack, addressed from its frame pointer fp:
**   fp[0 .. nparams)         parameters (the caller leaves them there)
**   fp[nparams .. nlocals)   declared locals (zeroed on entry)
**   fp[nlocals .. nslots)    operand stack and temporaries, at positions the
**                            compiler fixes statically
** Results are returned in fp[0 .. nresults). A call instruction names the
** slot `base` where the caller put the arguments; the callee's fp is the
** caller's fp + base, so arguments are never copied and the results land
** where the caller's operand stack expects them.
*/
#ifndef SW_INTERNAL_H
#define SW_INTERNAL_H

#include "sluice_wasm.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t Slot;

typedef struct Name {
    const char *ptr; /* into the module's copy of the bytes */
    uint32_t len;
} Name;

/* Function types are interned process-wide (types.c): two structurally
   equal types are the same pointer, so call_indirect compares pointers. */
typedef struct FuncType {
    uint32_t nparams, nresults;
    const uint8_t *types;     /* nparams param types, then nresults */
    sw_functype public_type;  /* the same, for the public API */
} FuncType;

const FuncType *functype_intern(const uint8_t *params, uint32_t nparams,
                                const uint8_t *results, uint32_t nresults);

typedef struct Limits {
    uint64_t min, max;
    bool has_max;
} Limits;

typedef struct TableType {
    uint8_t elem; /* SW_FUNCREF or SW_EXTERNREF */
    Limits limits;
} TableType;

typedef struct GlobalType {
    uint8_t type;
    bool mutable_;
} GlobalType;

/* A constant expression (WebAssembly 2.0: one instruction then `end`).
   op is the Wasm opcode: 0x41 i32.const, 0x42 i64.const, 0x43 f32.const,
   0x44 f64.const (imm = value bits), 0xD0 ref.null (imm = ref type),
   0xD2 ref.func (imm = function index), 0x23 global.get (imm = index). */
typedef struct ConstExpr {
    uint8_t op;
    uint64_t imm;
} ConstExpr;

typedef struct Import {
    Name module, name;
    uint8_t kind;   /* sw_externkind */
    uint32_t index; /* index in the space of its kind */
} Import;

typedef struct Export {
    Name name;
    uint8_t kind;
    uint32_t index;
} Export;

typedef struct Global {
    GlobalType type;
    ConstExpr init; /* unused for imported globals */
} Global;

enum { SEG_ACTIVE, SEG_PASSIVE, SEG_DECLARATIVE };

typedef struct ElemSeg {
    uint8_t mode;
    uint8_t type;   /* SW_FUNCREF or SW_EXTERNREF */
    uint32_t table;
    ConstExpr offset;
    uint32_t count;
    ConstExpr *items; /* ref.func, ref.null or global.get */
} ElemSeg;

typedef struct DataSeg {
    uint8_t mode; /* SEG_ACTIVE or SEG_PASSIVE */
    uint32_t memory;
    ConstExpr offset;
    const uint8_t *bytes;
    uint32_t len;
} DataSeg;

typedef struct Code Code;

typedef struct FuncDef {
    uint32_t type;        /* index into module types */
    const uint8_t *body;  /* locals declarations + expression + end */
    uint32_t body_len;
    size_t body_offset;   /* of body in the module bytes, for errors */
    Code *code;           /* filled by compile.c */
} FuncDef;

struct sw_module {
    uint8_t *bytes;
    size_t len;

    const FuncType **types;
    uint32_t ntypes;

    Import *imports;
    uint32_t nimports;

    /* Index spaces: imported entries first, then defined ones. */
    uint32_t *func_types; /* type index of every function */
    uint32_t nfuncs, nimported_funcs;
    FuncDef *funcs;       /* defined functions: funcs[i - nimported_funcs] */
    TableType *tables;
    uint32_t ntables, nimported_tables;
    Limits *memories;
    uint32_t nmemories, nimported_memories;
    Global *globals;
    uint32_t nglobals, nimported_globals;

    Export *exports;
    uint32_t nexports;

    bool has_start;
    uint32_t start;

    ElemSeg *elems;
    uint32_t nelems;
    DataSeg *datas;
    uint32_t ndatas;
    bool has_datacount;
    uint32_t datacount;

    /* Functions that may be named by ref.func inside bodies: those referenced
       from element segments, exports or global initialisers. */
    uint8_t *declared_funcs; /* bitmap over nfuncs */
};

/* decode.c: parses and checks everything but function bodies.
   Returns 0, or -1 with err (kind, offset, message) filled. */
int decode_module(sw_module *m, sw_error *err);
void module_release(sw_module *m); /* frees what decode_module allocated */

/* compile.c: validates and translates one defined function. */
int compile_function(sw_module *m, uint32_t defined_index, sw_error *err);
void code_free(Code *code);

/* Error helper shared by the loaders: fills err, returns -1. */
int sw_fail(sw_error *err, sw_errkind kind, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- Runtime objects ---------------------------------------------------- */

typedef struct Instance Instance;

struct sw_func {
    const FuncType *type;
    Instance *inst;    /* owning instance; NULL for host functions */
    const Code *code;  /* NULL for host functions */
    sw_host_fn host;
    void *user;
};

struct sw_memory {
    uint8_t *data;
    uint64_t size;        /* bytes */
    uint64_t capacity;    /* bytes allocated at data, >= size */
    uint32_t pages, max_pages;
};

struct sw_table {
    uint8_t elem;
    uint32_t size, max;
    void **elems;        /* sw_func * or externref; NULL is ref.null */
};

struct sw_global {
    GlobalType type;
    Slot value;
};

struct Instance {
    const sw_module *module;
    sw_store *store;
    sw_func **funcs;       /* every function, imported first */
    sw_table **tables;
    sw_memory *memory;     /* memory 0 or NULL */
    sw_global **globals;
    /* Element segments resolved to references at instantiation; a dropped
       (or active, once applied) segment has count 0. */
    void ***elem_refs;
    uint32_t *elem_counts;
    uint32_t *data_lens;   /* 0 once dropped (or applied, if active) */
};

struct sw_instance {
    Instance inst;
};

typedef struct Frame {
    const uint32_t *ret_ip;  /* where the caller resumes */
    Slot *fp;                /* the caller's frame */
    Instance *inst;          /* the caller's instance */
} Frame;

struct sw_store {
    sw_limits limits;
    Slot *stack, *stack_end;
    Frame *frames;
    uint32_t depth;

    /* Fuel and time share one counter: the interpreter subtracts costs from
       budget at loop headers and calls, and only when it drops below zero
       does it call store_budget_check() (api.c). */
    int64_t budget;
    uint64_t fuel_left;     /* beyond budget; starts at UINT64_MAX when unlimited */
    uint64_t fuel_start;
    uint64_t deadline_ns;   /* CLOCK_MONOTONIC; 0: none */
    atomic_bool interrupt;

    /* Everything created in the store, freed with it. */
    void **owned;
    size_t nowned, cap_owned;
};

/* What a host function sees of its caller (api.c implements the accessors). */
struct sw_caller {
    sw_store *store;
    Instance *inst;   /* the calling instance */
    sw_error *err;    /* where sw_caller_trap / sw_caller_exit report */
};

/* api.c: zeroed memory owned by the store, freed by sw_store_free after
   release(object) (if not NULL) has freed what the object points to.
   NULL when out of memory. */
void *store_alloc(sw_store *s, size_t size, void (*release)(void *object));

/* api.c: called by the interpreter when budget < 0. Refills the budget and
   returns SW_TRAP_NONE, or returns the trap to raise. */
sw_trap store_budget_check(sw_store *s);

/* interp.c: runs func (a Wasm function) with the arguments in slots; the
   results replace them. Returns 0, or -1 with err filled. */
int interp_call(sw_store *s, sw_func *func, Slot *slots, sw_error *err);

/* memory growth shared by memory.grow and sw_memory_grow: old size in pages
   or -1. */
int64_t memory_grow(sw_memory *mem, uint32_t delta, uint32_t limit_pages);

/* table growth shared by table.grow and the API: new entries are set to
   init; old size or -1 (over the table's max or limit entries). */
int64_t table_grow(sw_table *t, uint32_t delta, void *init, uint32_t limit);

#endif
