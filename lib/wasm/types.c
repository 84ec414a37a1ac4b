/*
** types.c: process-wide interning of function types.
**
** Structurally equal function types are represented by a single FuncType, so
** that call_indirect and import matching compare pointers instead of arrays.
** Modules may be loaded from several threads, so the table is guarded by a
** mutex. Interned types live until the process ends; a type is stored once
** however often it is interned, so memory is bounded by the number of
** distinct types ever seen.
*/
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct TypeTable {
    const FuncType **slots; /* open addressing; NULL: empty */
    size_t cap, count;      /* cap is a power of two */
} TypeTable;

static TypeTable types_seen;
static pthread_mutex_t type_table_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t hash_type(const uint8_t *params, uint32_t nparams,
                          const uint8_t *results, uint32_t nresults)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (uint32_t i = 0; i < nparams; i++) h = (h ^ params[i]) * 1099511628211u;
    /* the separator keeps (i32)->() distinct from ()->(i32) */
    h = (h ^ 0xffu) * 1099511628211u;
    for (uint32_t i = 0; i < nresults; i++) h = (h ^ results[i]) * 1099511628211u;
    return h ^ ((uint64_t)nparams << 32);
}

static bool type_equals(const FuncType *t, const uint8_t *params,
                        uint32_t nparams, const uint8_t *results,
                        uint32_t nresults)
{
    return t->nparams == nparams && t->nresults == nresults &&
           (nparams == 0 || memcmp(t->types, params, nparams) == 0) &&
           (nresults == 0 || memcmp(t->types + nparams, results, nresults) == 0);
}

/* One allocation holds the FuncType, its public sw_valtype arrays and its
   byte array, so a type is a single block. */
static FuncType *type_new(const uint8_t *params, uint32_t nparams,
                          const uint8_t *results, uint32_t nresults)
{
    size_t n = (size_t)nparams + nresults;
    FuncType *t = malloc(sizeof *t + n * sizeof(sw_valtype) + n);
    if (!t) return NULL;
    sw_valtype *pub = (sw_valtype *)(t + 1);
    uint8_t *bytes = (uint8_t *)(pub + n);
    if (nparams) memcpy(bytes, params, nparams);
    if (nresults) memcpy(bytes + nparams, results, nresults);
    for (size_t i = 0; i < n; i++) pub[i] = (sw_valtype)bytes[i];
    t->nparams = nparams;
    t->nresults = nresults;
    t->types = bytes;
    t->public_type = (sw_functype){ nparams, nresults, pub, pub + nparams };
    return t;
}

static bool type_table_grow(void)
{
    size_t cap = types_seen.cap ? types_seen.cap * 2 : 64;
    const FuncType **slots = calloc(cap, sizeof *slots);
    if (!slots) return false;
    for (size_t i = 0; i < types_seen.cap; i++) {
        const FuncType *t = types_seen.slots[i];
        if (!t) continue;
        size_t j = hash_type(t->types, t->nparams, t->types + t->nparams,
                             t->nresults) & (cap - 1);
        while (slots[j]) j = (j + 1) & (cap - 1);
        slots[j] = t;
    }
    free(types_seen.slots);
    types_seen.slots = slots;
    types_seen.cap = cap;
    return true;
}

static const FuncType *intern_locked(const uint8_t *params, uint32_t nparams,
                                     const uint8_t *results, uint32_t nresults)
{
    if ((types_seen.count + 1) * 2 > types_seen.cap && !type_table_grow())
        return NULL;
    size_t mask = types_seen.cap - 1;
    size_t i = hash_type(params, nparams, results, nresults) & mask;
    for (; types_seen.slots[i]; i = (i + 1) & mask)
        if (type_equals(types_seen.slots[i], params, nparams, results, nresults))
            return types_seen.slots[i];
    FuncType *t = type_new(params, nparams, results, nresults);
    if (!t) return NULL;
    types_seen.slots[i] = t;
    types_seen.count++;
    return t;
}

/* Returns NULL only when memory runs out. */
const FuncType *functype_intern(const uint8_t *params, uint32_t nparams,
                                const uint8_t *results, uint32_t nresults)
{
    pthread_mutex_lock(&type_table_lock);
    const FuncType *t = intern_locked(params, nparams, results, nresults);
    pthread_mutex_unlock(&type_table_lock);
    return t;
}
