/*
** api.c: the public object API around the interpreter: stores (limits,
** fuel, deadlines, interruption, ownership of objects), functions and
** calls, what host functions see of their caller, tables and globals.
** Memories are in memory.c, modules in module.c, instances in instance.c.
**
** Fuel and time. A call gets the store's fuel and timeout afresh when it is
** a top-level call; calls made by host functions while a guest runs share
** the budget of the call that is already running. The interpreter only
** decrements s->budget; store_budget_check() hands out the fuel in chunks,
** so that with any fuel setting (unlimited included) it runs often enough
** to notice the deadline and sw_store_interrupt().
*/
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    DEFAULT_MAX_MEMORY_PAGES = 65536,
    DEFAULT_MAX_TABLE_SIZE = 10000000,
    DEFAULT_MAX_CALL_DEPTH = 10000,
    DEFAULT_STACK_SLOTS = 1 << 20,
    /* Fuel handed out per budget check: large enough that the check costs
       nothing measurable, small enough (microseconds of guest work) that
       deadlines and interrupts are honoured promptly. */
    BUDGET_CHUNK = 10000,
    /* Calls with at most this many argument or result slots convert or
       copy them on the C stack instead of the heap. */
    LOCAL_SLOTS = 16
};

/* The store as allocated: the shared part plus what only this file uses. */
typedef struct Store {
    sw_store s;
    uint32_t nesting; /* calls in progress; > 0 means the budget is running */
} Store;

/* Every block in s->owned starts with this header; the object follows,
   aligned for any type. */
typedef union Owned {
    void (*release)(void *object);
    max_align_t align;
} Owned;

/* Host functions remember their store, which a direct call needs. */
typedef struct HostFunc {
    sw_func func;
    sw_store *store;
} HostFunc;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- Stores ------------------------------------------------------------- */

sw_store *sw_store_new(const sw_limits *limits)
{
    Store *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    sw_limits *l = &st->s.limits;
    if (limits) *l = *limits;
    if (!l->max_memory_pages) l->max_memory_pages = DEFAULT_MAX_MEMORY_PAGES;
    if (!l->max_table_size) l->max_table_size = DEFAULT_MAX_TABLE_SIZE;
    if (!l->max_call_depth) l->max_call_depth = DEFAULT_MAX_CALL_DEPTH;
    if (!l->stack_slots) l->stack_slots = DEFAULT_STACK_SLOTS;
    atomic_init(&st->s.interrupt, false);
    return &st->s;
}

void sw_store_free(sw_store *s)
{
    if (!s) return;
    for (size_t i = s->nowned; i-- > 0;) {
        Owned *o = s->owned[i];
        if (o->release) o->release(o + 1);
        free(o);
    }
    free(s->owned);
    free(s->stack);
    free(s->frames);
    free((Store *)s);
}

void *store_alloc(sw_store *s, size_t size, void (*release)(void *object))
{
    if (s->nowned == s->cap_owned) {
        size_t cap = s->cap_owned ? 2 * s->cap_owned : 16;
        void **owned = realloc(s->owned, cap * sizeof *owned);
        if (!owned) return NULL;
        s->owned = owned;
        s->cap_owned = cap;
    }
    Owned *o = calloc(1, sizeof *o + size);
    if (!o) return NULL;
    o->release = release;
    s->owned[s->nowned++] = o;
    return o + 1;
}

const sw_limits *sw_store_limits(const sw_store *s)
{
    return &s->limits;
}

void sw_store_set_fuel(sw_store *s, uint64_t fuel)
{
    s->limits.fuel = fuel;
}

void sw_store_set_timeout(sw_store *s, uint64_t timeout_ns)
{
    s->limits.timeout_ns = timeout_ns;
}

/* With unlimited fuel the call still starts from UINT64_MAX and counts
   down (2^64 instructions outlast any run), so fuel used is known too. */
uint64_t sw_store_fuel_used(const sw_store *s)
{
    uint64_t unspent = s->fuel_left + (s->budget > 0 ? (uint64_t)s->budget : 0);
    return unspent < s->fuel_start ? s->fuel_start - unspent : 0;
}

void sw_store_interrupt(sw_store *s)
{
    atomic_store(&s->interrupt, true);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Moves the next chunk of fuel_left into the budget. */
static void refill_budget(sw_store *s)
{
    uint64_t chunk = min_u64(s->fuel_left, BUDGET_CHUNK);
    s->fuel_left -= chunk;
    s->budget = (int64_t)chunk;
}

sw_trap store_budget_check(sw_store *s)
{
    if (atomic_exchange(&s->interrupt, false)) return SW_TRAP_INTERRUPTED;
    if (s->deadline_ns && now_ns() >= s->deadline_ns) return SW_TRAP_DEADLINE;
    if (s->budget < 0) {
        uint64_t overdraft = 0 - (uint64_t)s->budget;
        if (overdraft > s->fuel_left) {
            s->fuel_left = 0;
            s->budget = 0;
            return SW_TRAP_FUEL;
        }
        s->fuel_left -= overdraft;
    } else {
        s->fuel_left += (uint64_t)s->budget;
    }
    refill_budget(s);
    return SW_TRAP_NONE;
}

/* Gives a top-level call the store's fuel and deadline. A pending interrupt
   leaves the budget at zero so that the first check sees it. */
static void start_budget(sw_store *s)
{
    s->fuel_start = s->limits.fuel ? s->limits.fuel : UINT64_MAX;
    s->fuel_left = s->fuel_start;
    s->budget = 0;
    if (!atomic_load(&s->interrupt)) refill_budget(s);
    s->deadline_ns = s->limits.timeout_ns ? now_ns() + s->limits.timeout_ns : 0;
    s->depth = 0;
}

/* The value and call stacks are allocated at the first call, not with the
   store, so that stores that only instantiate stay cheap. */
static int ensure_stacks(sw_store *s, sw_error *err)
{
    if (s->stack) return 0;
    size_t slots = s->limits.stack_slots;
    s->stack = malloc(slots * sizeof *s->stack);
    s->frames = malloc(((size_t)s->limits.max_call_depth + 1) * sizeof *s->frames);
    if (!s->stack || !s->frames) {
        free(s->stack);
        free(s->frames);
        s->stack = NULL;
        s->frames = NULL;
        return sw_fail(err, SW_ERR_NOMEM, 0,
                       "out of memory allocating a stack of %zu slots", slots);
    }
    s->stack_end = s->stack + slots;
    return 0;
}

/* ---- Functions and calls --------------------------------------------------- */

static bool valid_valtype(sw_valtype t)
{
    switch (t) {
    case SW_I32: case SW_I64: case SW_F32: case SW_F64:
    case SW_FUNCREF: case SW_EXTERNREF:
        return true;
    }
    return false;
}

static const char *valtype_name(sw_valtype t)
{
    switch (t) {
    case SW_I32: return "i32";
    case SW_I64: return "i64";
    case SW_F32: return "f32";
    case SW_F64: return "f64";
    case SW_FUNCREF: return "funcref";
    case SW_EXTERNREF: return "externref";
    }
    return "an invalid type";
}

static bool valid_valtypes(const sw_valtype *types, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!valid_valtype(types[i])) return false;
    return true;
}

static const FuncType *intern_public_type(const sw_functype *type)
{
    if ((type->nparams && !type->params) || (type->nresults && !type->results) ||
        !valid_valtypes(type->params, type->nparams) ||
        !valid_valtypes(type->results, type->nresults))
        return NULL;
    size_t n = (size_t)type->nparams + type->nresults;
    uint8_t *codes = malloc(n ? n : 1);
    if (!codes) return NULL;
    for (uint32_t i = 0; i < type->nparams; i++) codes[i] = (uint8_t)type->params[i];
    for (uint32_t i = 0; i < type->nresults; i++)
        codes[type->nparams + i] = (uint8_t)type->results[i];
    const FuncType *interned = functype_intern(codes, type->nparams,
                                               codes + type->nparams, type->nresults);
    free(codes);
    return interned;
}

sw_func *sw_func_new_host(sw_store *store, const sw_functype *type,
                          sw_host_fn fn, void *user)
{
    if (!store || !type || !fn) return NULL;
    const FuncType *interned = intern_public_type(type);
    if (!interned) return NULL;
    HostFunc *h = store_alloc(store, sizeof *h, NULL);
    if (!h) return NULL;
    h->func = (sw_func){ interned, NULL, NULL, fn, user };
    h->store = store;
    return &h->func;
}

const sw_functype *sw_func_type(const sw_func *func)
{
    return &func->type->public_type;
}

static Store *store_of(const sw_func *f)
{
    sw_store *s = f->inst ? f->inst->store : ((const HostFunc *)f)->store;
    return (Store *)s;
}

/* Calls a host function from the embedder. The arguments are copied out
   first because the results overwrite the same slots. */
static int call_host(sw_store *s, sw_func *f, sw_slot *slots, sw_error *err)
{
    uint32_t nparams = f->type->nparams;
    sw_slot local[LOCAL_SLOTS];
    sw_slot *args = nparams <= LOCAL_SLOTS ? local : malloc(nparams * sizeof *args);
    if (!args)
        return sw_fail(err, SW_ERR_NOMEM, 0, "out of memory calling a host function");
    if (nparams) memcpy(args, slots, nparams * sizeof *args);
    sw_caller caller = { s, NULL, err };
    int rc = f->host(&caller, f->user, args, slots);
    if (args != local) free(args);
    return rc != 0 ? -1 : 0;
}

int sw_call_raw(sw_func *func, sw_slot *slots, sw_error *err)
{
    sw_error local;
    if (!err) err = &local;
    if (!func) return sw_fail(err, SW_ERR_ARG, 0, "call of a NULL function");
    Store *st = store_of(func);
    sw_store *s = &st->s;
    if (st->nesting == 0) {
        if (ensure_stacks(s, err) != 0) return -1;
        start_budget(s);
    }
    st->nesting++;
    err->kind = SW_OK;
    int rc = func->host ? call_host(s, func, slots, err)
                        : interp_call(s, func, slots, err);
    st->nesting--;
    /* Only a host function that returned non-zero on its own, without
       sw_caller_trap or sw_caller_exit, fails without a report. */
    if (rc != 0 && err->kind == SW_OK) {
        sw_fail(err, SW_ERR_TRAP, 0, "%s: a host function failed",
                sw_trap_message(SW_TRAP_HOST));
        err->trap = SW_TRAP_HOST;
    }
    return rc;
}

static int check_call_args(const FuncType *t, const sw_value *args, size_t nargs,
                           const sw_value *results, size_t nresults, sw_error *err)
{
    if (nargs != t->nparams)
        return sw_fail(err, SW_ERR_ARG, 0, "call with %zu arguments, the function takes %u",
                       nargs, t->nparams);
    if (nresults != t->nresults)
        return sw_fail(err, SW_ERR_ARG, 0, "call with room for %zu results, the function returns %u",
                       nresults, t->nresults);
    if ((nargs && !args) || (nresults && !results))
        return sw_fail(err, SW_ERR_ARG, 0, "call with a NULL argument or result array");
    for (size_t i = 0; i < nargs; i++)
        if (args[i].type != (sw_valtype)t->types[i])
            return sw_fail(err, SW_ERR_ARG, 0, "argument %zu is %s, the function expects %s",
                           i, valtype_name(args[i].type),
                           valtype_name((sw_valtype)t->types[i]));
    return 0;
}

/* Floats travel as their bit patterns so that NaN payloads survive. */
static sw_slot slot_of(const sw_value *v)
{
    switch (v->type) {
    case SW_I32: return (uint32_t)v->of.i32;
    case SW_I64: return (uint64_t)v->of.i64;
    case SW_F32: { uint32_t bits; memcpy(&bits, &v->of.f32, 4); return bits; }
    case SW_F64: { uint64_t bits; memcpy(&bits, &v->of.f64, 8); return bits; }
    case SW_FUNCREF: case SW_EXTERNREF: return (uintptr_t)v->of.ref;
    }
    return 0;
}

static sw_value value_of(sw_valtype type, sw_slot slot)
{
    sw_value v = { type, { .i64 = 0 } };
    switch (type) {
    case SW_I32: v.of.i32 = (int32_t)(uint32_t)slot; break;
    case SW_I64: v.of.i64 = (int64_t)slot; break;
    case SW_F32: { uint32_t bits = (uint32_t)slot; memcpy(&v.of.f32, &bits, 4); break; }
    case SW_F64: memcpy(&v.of.f64, &slot, 8); break;
    case SW_FUNCREF: case SW_EXTERNREF: v.of.ref = (void *)(uintptr_t)slot; break;
    }
    return v;
}

int sw_call(sw_func *func, const sw_value *args, size_t nargs,
            sw_value *results, size_t nresults, sw_error *err)
{
    sw_error local;
    if (!err) err = &local;
    if (!func) return sw_fail(err, SW_ERR_ARG, 0, "call of a NULL function");
    const FuncType *t = func->type;
    if (check_call_args(t, args, nargs, results, nresults, err) != 0) return -1;
    size_t n = nargs > nresults ? nargs : nresults;
    sw_slot buffer[LOCAL_SLOTS];
    sw_slot *slots = n <= LOCAL_SLOTS ? buffer : malloc(n * sizeof *slots);
    if (!slots) return sw_fail(err, SW_ERR_NOMEM, 0, "out of memory for %zu call slots", n);
    for (size_t i = 0; i < nargs; i++) slots[i] = slot_of(&args[i]);
    int rc = sw_call_raw(func, slots, err);
    for (size_t i = 0; rc == 0 && i < nresults; i++)
        results[i] = value_of((sw_valtype)t->types[t->nparams + i], slots[i]);
    if (slots != buffer) free(slots);
    return rc;
}

/* ---- What host functions see ------------------------------------------- */

sw_memory *sw_caller_memory(sw_caller *caller)
{
    return caller->inst ? caller->inst->memory : NULL;
}

sw_store *sw_caller_store(sw_caller *caller)
{
    return caller->store;
}

int sw_caller_trap(sw_caller *caller, const char *fmt, ...)
{
    sw_error *err = caller->err;
    if (!err) return -1;
    *err = (sw_error){ .kind = SW_ERR_TRAP, .trap = SW_TRAP_HOST };
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

int sw_caller_exit(sw_caller *caller, int code)
{
    if (!caller->err) return -1;
    sw_fail(caller->err, SW_ERR_EXIT, 0, "exit with code %d", code);
    caller->err->exit_code = code;
    return -1;
}

/* ---- Tables ---------------------------------------------------------------- */

static void release_table(void *object)
{
    free(((sw_table *)object)->elems);
}

static void fill_refs(void **refs, size_t n, void *value)
{
    for (size_t i = 0; i < n; i++) refs[i] = value;
}

sw_table *sw_table_new(sw_store *store, sw_valtype elem, uint32_t min,
                       uint32_t max, void *init)
{
    if (elem != SW_FUNCREF && elem != SW_EXTERNREF) return NULL;
    if (min > max || min > store->limits.max_table_size) return NULL;
    void **elems = NULL;
    if (min && !(elems = malloc((size_t)min * sizeof *elems))) return NULL;
    fill_refs(elems, min, init);
    sw_table *t = store_alloc(store, sizeof *t, release_table);
    if (!t) {
        free(elems);
        return NULL;
    }
    *t = (sw_table){ (uint8_t)elem, min, max, elems };
    return t;
}

int64_t table_grow(sw_table *t, uint32_t delta, void *init, uint32_t limit)
{
    uint64_t old = t->size, size = old + delta;
    if (size > t->max || size > limit) return -1;
    if (delta == 0) return (int64_t)old;
    void **elems = realloc(t->elems, size * sizeof *elems);
    if (!elems) return -1;
    fill_refs(elems + old, delta, init);
    t->elems = elems;
    t->size = (uint32_t)size;
    return (int64_t)old;
}

uint32_t sw_table_size(const sw_table *table)
{
    return table->size;
}

int sw_table_get(const sw_table *table, uint32_t i, void **ref)
{
    if (i >= table->size) return -1;
    *ref = table->elems[i];
    return 0;
}

int sw_table_set(sw_table *table, uint32_t i, void *ref)
{
    if (i >= table->size) return -1;
    table->elems[i] = ref;
    return 0;
}

/* ---- Globals ---------------------------------------------------------------- */

sw_global *sw_global_new(sw_store *store, sw_valtype type, bool mutable_,
                         sw_slot value)
{
    if (!valid_valtype(type)) return NULL;
    sw_global *g = store_alloc(store, sizeof *g, NULL);
    if (!g) return NULL;
    *g = (sw_global){ { (uint8_t)type, mutable_ }, value };
    return g;
}

sw_valtype sw_global_type(const sw_global *global)
{
    return (sw_valtype)global->type.type;
}

sw_slot sw_global_get(const sw_global *global)
{
    return global->value;
}

/* An immutable global keeps its value: guests may rely on it never
   changing. */
void sw_global_set(sw_global *global, sw_slot value)
{
    if (global->type.mutable_) global->value = value;
}
