/*
** instance.c: instantiation (linking imports, creating the module's
** tables, memory and globals, applying segments, running the start
** function) and the lookup of exports.
**
** An instance lives in one block owned by the store: the Instance, its
** index spaces, its defined functions and globals and its resolved element
** segments. Tables and memories are separate store objects because they
** can be exported, imported elsewhere and grown.
**
** Failures are reported before anything is created when possible: every
** import and every store limit is checked first. Only a trap while
** applying segments or running the start function leaves a (partially
** initialised) instance behind, as the spec requires: what it wrote into
** imported tables and memories stays visible.
*/
#include "internal.h"

#include <stdlib.h>
#include <string.h>

enum {
    OP_I32_CONST = 0x41,
    OP_I64_CONST = 0x42,
    OP_F32_CONST = 0x43,
    OP_F64_CONST = 0x44,
    OP_GLOBAL_GET = 0x23,
    OP_REF_NULL = 0xD0,
    OP_REF_FUNC = 0xD2
};

/* ---- Linking ---------------------------------------------------------------- */

static bool name_equals(sw_name a, Name b)
{
    return a.len == b.len && (b.len == 0 || memcmp(a.ptr, b.ptr, b.len) == 0);
}

static const sw_extern *find_import(const sw_import *imports, size_t n,
                                    const Import *im)
{
    for (size_t i = 0; i < n; i++)
        if (name_equals(imports[i].module, im->module) &&
            name_equals(imports[i].name, im->name))
            return &imports[i].value;
    return NULL;
}

/* Is an object of size `size` and maximum `max` (has_max) usable where
   `wanted` is declared? */
static bool limits_match(uint64_t size, bool has_max, uint64_t max,
                         const Limits *wanted)
{
    if (size < wanted->min) return false;
    return !wanted->has_max || (has_max && max <= wanted->max);
}

/* Why ext cannot stand for im, or NULL if it can. */
static const char *import_mismatch(const sw_module *m, const Import *im,
                                   const sw_extern *ext)
{
    if (ext->kind != im->kind) return "wrong kind of object";
    switch (ext->kind) {
    case SW_EXTERN_FUNC:
        if (!ext->of.func) return "NULL function";
        if (ext->of.func->type != m->types[m->func_types[im->index]])
            return "function type differs";
        return NULL;
    case SW_EXTERN_TABLE: {
        const sw_table *t = ext->of.table;
        const TableType *want = &m->tables[im->index];
        if (!t) return "NULL table";
        if (t->elem != want->elem) return "element type differs";
        if (!limits_match(t->size, t->max != SW_NO_MAX, t->max, &want->limits))
            return "table limits do not match";
        return NULL;
    }
    case SW_EXTERN_MEMORY: {
        const sw_memory *mem = ext->of.memory;
        if (!mem) return "NULL memory";
        if (!limits_match(mem->pages, mem->max_pages != SW_NO_MAX, mem->max_pages,
                          &m->memories[im->index]))
            return "memory limits do not match";
        return NULL;
    }
    case SW_EXTERN_GLOBAL: {
        const sw_global *g = ext->of.global;
        const GlobalType *want = &m->globals[im->index].type;
        if (!g) return "NULL global";
        if (g->type.type != want->type) return "value type differs";
        if (g->type.mutable_ != want->mutable_) return "mutability differs";
        return NULL;
    }
    }
    return "wrong kind of object";
}

static int link_imports(const sw_module *m, const sw_import *imports,
                        size_t nimports, const sw_extern **resolved, sw_error *err)
{
    for (uint32_t i = 0; i < m->nimports; i++) {
        const Import *im = &m->imports[i];
        const sw_extern *ext = find_import(imports, nimports, im);
        if (!ext)
            return sw_fail(err, SW_ERR_LINK, 0, "unknown import \"%.*s\".\"%.*s\"",
                           (int)im->module.len, im->module.ptr,
                           (int)im->name.len, im->name.ptr);
        const char *why = import_mismatch(m, im, ext);
        if (why)
            return sw_fail(err, SW_ERR_LINK, 0,
                           "incompatible import type for \"%.*s\".\"%.*s\": %s",
                           (int)im->module.len, im->module.ptr,
                           (int)im->name.len, im->name.ptr, why);
        resolved[i] = ext;
    }
    return 0;
}

static int check_store_limits(const sw_store *s, const sw_module *m, sw_error *err)
{
    for (uint32_t i = m->nimported_tables; i < m->ntables; i++)
        if (m->tables[i].limits.min > s->limits.max_table_size)
            return sw_fail(err, SW_ERR_LINK, 0,
                           "table %u needs %llu elements, the store allows %u", i,
                           (unsigned long long)m->tables[i].limits.min,
                           s->limits.max_table_size);
    for (uint32_t i = m->nimported_memories; i < m->nmemories; i++)
        if (m->memories[i].min > s->limits.max_memory_pages)
            return sw_fail(err, SW_ERR_LINK, 0,
                           "memory %u needs %llu pages, the store allows %u", i,
                           (unsigned long long)m->memories[i].min,
                           s->limits.max_memory_pages);
    return 0;
}

/* ---- The instance block ------------------------------------------------------- */

typedef struct Block {
    uint8_t *base; /* NULL while measuring */
    size_t used;
} Block;

static void *take(Block *b, size_t count, size_t size, size_t align)
{
    b->used = (b->used + align - 1) & ~(align - 1);
    void *p = b->base ? b->base + b->used : NULL;
    b->used += count * size;
    return p;
}

#define TAKE(b, count, type) ((type *)take((b), (count), sizeof(type), _Alignof(type)))

static size_t total_elem_items(const sw_module *m)
{
    size_t n = 0;
    for (uint32_t i = 0; i < m->nelems; i++) n += m->elems[i].count;
    return n;
}

/* Carves the instance out of b. Run once with a NULL base to measure. */
static sw_instance *layout_instance(Block *b, const sw_module *m,
                                    sw_func **defined_funcs,
                                    sw_global **defined_globals, void ***items)
{
    sw_instance *out = TAKE(b, 1, sw_instance);
    Instance inst = { 0 };
    inst.funcs = TAKE(b, m->nfuncs, sw_func *);
    *defined_funcs = TAKE(b, m->nfuncs - m->nimported_funcs, sw_func);
    inst.tables = TAKE(b, m->ntables, sw_table *);
    inst.globals = TAKE(b, m->nglobals, sw_global *);
    *defined_globals = TAKE(b, m->nglobals - m->nimported_globals, sw_global);
    inst.elem_refs = TAKE(b, m->nelems, void **);
    *items = TAKE(b, total_elem_items(m), void *);
    inst.elem_counts = TAKE(b, m->nelems, uint32_t);
    inst.data_lens = TAKE(b, m->ndatas, uint32_t);
    if (out) out->inst = inst;
    return out;
}

static sw_instance *new_instance(sw_store *s, const sw_module *m,
                                 sw_func **defined_funcs,
                                 sw_global **defined_globals, void ***items)
{
    Block b = { NULL, 0 };
    layout_instance(&b, m, defined_funcs, defined_globals, items);
    b.base = store_alloc(s, b.used, NULL);
    if (!b.base) return NULL;
    b.used = 0;
    sw_instance *out = layout_instance(&b, m, defined_funcs, defined_globals, items);
    out->inst.module = m;
    out->inst.store = s;
    return out;
}

/* ---- Filling it in ------------------------------------------------------------- */

static Slot eval_const(const Instance *inst, const ConstExpr *e)
{
    switch (e->op) {
    case OP_I32_CONST: return (uint32_t)e->imm;
    case OP_I64_CONST: case OP_F32_CONST: case OP_F64_CONST: return e->imm;
    case OP_GLOBAL_GET: return inst->globals[e->imm]->value;
    case OP_REF_FUNC: return (uintptr_t)inst->funcs[e->imm];
    case OP_REF_NULL: return 0;
    }
    return 0; /* the decoder admits no other operator */
}

static void bind_imports(Instance *inst, const sw_module *m,
                         const sw_extern **resolved)
{
    for (uint32_t i = 0; i < m->nimports; i++) {
        const Import *im = &m->imports[i];
        const sw_extern *ext = resolved[i];
        switch (im->kind) {
        case SW_EXTERN_FUNC: inst->funcs[im->index] = ext->of.func; break;
        case SW_EXTERN_TABLE: inst->tables[im->index] = ext->of.table; break;
        case SW_EXTERN_MEMORY: inst->memory = ext->of.memory; break;
        case SW_EXTERN_GLOBAL: inst->globals[im->index] = ext->of.global; break;
        }
    }
}

static void define_funcs(Instance *inst, const sw_module *m, sw_func *defined)
{
    for (uint32_t i = m->nimported_funcs; i < m->nfuncs; i++) {
        sw_func *f = &defined[i - m->nimported_funcs];
        *f = (sw_func){ m->types[m->func_types[i]], inst,
                        m->funcs[i - m->nimported_funcs].code, NULL, NULL };
        inst->funcs[i] = f;
    }
}

static int create_tables_and_memory(sw_store *s, Instance *inst,
                                    const sw_module *m, sw_error *err)
{
    for (uint32_t i = m->nimported_tables; i < m->ntables; i++) {
        const TableType *tt = &m->tables[i];
        uint32_t max = tt->limits.has_max ? (uint32_t)tt->limits.max : SW_NO_MAX;
        inst->tables[i] = sw_table_new(s, (sw_valtype)tt->elem,
                                       (uint32_t)tt->limits.min, max, NULL);
        if (!inst->tables[i])
            return sw_fail(err, SW_ERR_NOMEM, 0, "out of memory creating table %u", i);
    }
    if (m->nmemories > m->nimported_memories) {
        const Limits *l = &m->memories[m->nimported_memories];
        uint32_t max = l->has_max ? (uint32_t)l->max : SW_NO_MAX;
        inst->memory = sw_memory_new(s, (uint32_t)l->min, max);
        if (!inst->memory)
            return sw_fail(err, SW_ERR_NOMEM, 0,
                           "out of memory creating a memory of %llu pages",
                           (unsigned long long)l->min);
    }
    return 0;
}

static void define_globals(Instance *inst, const sw_module *m, sw_global *defined)
{
    for (uint32_t i = m->nimported_globals; i < m->nglobals; i++) {
        sw_global *g = &defined[i - m->nimported_globals];
        g->type = m->globals[i].type;
        g->value = eval_const(inst, &m->globals[i].init);
        inst->globals[i] = g;
    }
}

static void resolve_segments(Instance *inst, const sw_module *m, void **items)
{
    for (uint32_t i = 0; i < m->nelems; i++) {
        const ElemSeg *seg = &m->elems[i];
        inst->elem_refs[i] = items;
        inst->elem_counts[i] = seg->count;
        for (uint32_t j = 0; j < seg->count; j++)
            items[j] = (void *)(uintptr_t)eval_const(inst, &seg->items[j]);
        items += seg->count;
    }
    for (uint32_t i = 0; i < m->ndatas; i++) inst->data_lens[i] = m->datas[i].len;
}

static int trap(sw_error *err, sw_trap kind, const char *what, uint32_t segment)
{
    sw_fail(err, SW_ERR_TRAP, 0, "%s (%s segment %u at instantiation)",
            sw_trap_message(kind), what, segment);
    err->trap = kind;
    return -1;
}

/* table.init then elem.drop for active segments, elem.drop for declarative
   ones, in module order; a trap leaves the earlier segments applied. */
static int apply_elems(Instance *inst, const sw_module *m, sw_error *err)
{
    for (uint32_t i = 0; i < m->nelems; i++) {
        const ElemSeg *seg = &m->elems[i];
        if (seg->mode == SEG_PASSIVE) continue;
        if (seg->mode == SEG_ACTIVE) {
            sw_table *t = inst->tables[seg->table];
            uint64_t offset = (uint32_t)eval_const(inst, &seg->offset);
            if (offset + seg->count > t->size)
                return trap(err, SW_TRAP_TABLE_OOB, "element", i);
            if (seg->count)
                memcpy(t->elems + offset, inst->elem_refs[i],
                       seg->count * sizeof *t->elems);
        }
        inst->elem_counts[i] = 0;
    }
    return 0;
}

static int apply_datas(Instance *inst, const sw_module *m, sw_error *err)
{
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const DataSeg *seg = &m->datas[i];
        if (seg->mode != SEG_ACTIVE) continue;
        sw_memory *mem = inst->memory;
        uint64_t offset = (uint32_t)eval_const(inst, &seg->offset);
        if (offset + seg->len > mem->size)
            return trap(err, SW_TRAP_MEMORY_OOB, "data", i);
        if (seg->len) memcpy(mem->data + offset, seg->bytes, seg->len);
        inst->data_lens[i] = 0;
    }
    return 0;
}

static int run_start(Instance *inst, const sw_module *m, sw_error *err)
{
    if (!m->has_start) return 0;
    sw_slot none[1];
    return sw_call_raw(inst->funcs[m->start], none, err);
}

/* Everything after linking; returns NULL (err filled) on failure. */
static sw_instance *build(sw_store *s, const sw_module *m,
                          const sw_extern **resolved, sw_error *err)
{
    sw_func *funcs;
    sw_global *globals;
    void **items;
    sw_instance *out = new_instance(s, m, &funcs, &globals, &items);
    if (!out) {
        sw_fail(err, SW_ERR_NOMEM, 0, "out of memory creating an instance");
        return NULL;
    }
    Instance *inst = &out->inst;
    bind_imports(inst, m, resolved);
    define_funcs(inst, m, funcs);
    if (create_tables_and_memory(s, inst, m, err) != 0) return NULL;
    define_globals(inst, m, globals);
    resolve_segments(inst, m, items);
    if (apply_elems(inst, m, err) != 0 || apply_datas(inst, m, err) != 0 ||
        run_start(inst, m, err) != 0)
        return NULL;
    return out;
}

sw_instance *sw_instantiate(sw_store *store, const sw_module *module,
                            const sw_import *imports, size_t nimports,
                            sw_error *err)
{
    sw_error local;
    if (!err) err = &local;
    memset(err, 0, sizeof *err);
    if (!store || !module || (nimports && !imports)) {
        sw_fail(err, SW_ERR_ARG, 0, "sw_instantiate: NULL store, module or imports");
        return NULL;
    }
    const sw_extern *few[16];
    const sw_extern **resolved = few;
    if (module->nimports > 16 && !(resolved = malloc(module->nimports * sizeof *resolved))) {
        sw_fail(err, SW_ERR_NOMEM, 0, "out of memory linking imports");
        return NULL;
    }
    sw_instance *out = NULL;
    if (link_imports(module, imports, nimports, resolved, err) == 0 &&
        check_store_limits(store, module, err) == 0)
        out = build(store, module, resolved, err);
    if (resolved != few) free(resolved);
    return out;
}

/* ---- Exports ----------------------------------------------------------------- */

bool sw_instance_export(const sw_instance *instance, sw_name name, sw_extern *out)
{
    const Instance *inst = &instance->inst;
    const sw_module *m = inst->module;
    for (uint32_t i = 0; i < m->nexports; i++) {
        const Export *ex = &m->exports[i];
        if (!name_equals(name, ex->name)) continue;
        out->kind = (sw_externkind)ex->kind;
        switch (ex->kind) {
        case SW_EXTERN_FUNC: out->of.func = inst->funcs[ex->index]; break;
        case SW_EXTERN_TABLE: out->of.table = inst->tables[ex->index]; break;
        case SW_EXTERN_MEMORY: out->of.memory = inst->memory; break;
        case SW_EXTERN_GLOBAL: out->of.global = inst->globals[ex->index]; break;
        }
        return true;
    }
    return false;
}

sw_func *sw_instance_func(const sw_instance *inst, const char *name)
{
    sw_extern ext;
    if (!sw_instance_export(inst, sw_name_of(name), &ext) || ext.kind != SW_EXTERN_FUNC)
        return NULL;
    return ext.of.func;
}

sw_memory *sw_instance_memory(const sw_instance *inst)
{
    return inst->inst.memory;
}
