/*
** decode.c: the binary module decoder.
**
** Turns the bytes of a module into struct sw_module: every section is
** parsed, sized exactly and checked, index spaces are built (imports first),
** constant expressions are decoded and typed, and function bodies are left
** as byte ranges for compile.c.
**
** Errors follow the reference interpreter: the whole module is decoded
** before validation errors count, so a malformed module reports the
** malformed error even when an earlier part is also invalid. Binary-format
** errors go through the Reader (first error wins, reading stops); the first
** validation error is kept aside in `pending` while decoding continues.
*/
#include "internal.h"
#include "reader.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OP_END 0x0b
#define OP_GLOBAL_GET 0x23
#define OP_I32_CONST 0x41
#define OP_I64_CONST 0x42
#define OP_F32_CONST 0x43
#define OP_F64_CONST 0x44
#define OP_REF_NULL 0xd0
#define OP_REF_FUNC 0xd2
#define OP_PREFIX_FC 0xfc
#define FC_LAST_OP 17 /* table.fill */

#define UNEXPECTED_END_IN_SECTION "unexpected end of section or function"

typedef struct Decoder {
    sw_module *m;
    Reader r;                 /* ends at the module's end (a custom
                                 section's end while in one) */
    const uint8_t *module_end;
    bool out_of_memory;
    bool pending_set;         /* a validation error waits in pending */
    bool halted;              /* reading stopped because of that error */
    sw_error pending;
    bool has_code_section, has_data_section;
} Decoder;

/* ---- Errors -------------------------------------------------------------- */

static void fail_at(Decoder *d, size_t offset, const char *message)
{
    if (d->r.failed) return;
    d->r.p = d->r.base + offset;
    reader_fail(&d->r, message);
}

static void invalid(Decoder *d, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void invalid(Decoder *d, size_t offset, const char *fmt, ...)
{
    if (d->pending_set) return;
    char message[sizeof d->pending.message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    sw_fail(&d->pending, SW_ERR_INVALID, offset, "%s", message);
    d->pending_set = true;
}

/* For validation errors after which the bytes cannot be parsed further
   (a non-constant instruction in a constant expression). */
static void invalid_halt(Decoder *d, size_t offset, const char *message)
{
    if (d->r.failed) return;
    invalid(d, offset, "%s", message);
    d->halted = true;
    reader_fail(&d->r, message);
}

static void out_of_memory(Decoder *d)
{
    if (d->r.failed) return;
    d->out_of_memory = true;
    reader_fail(&d->r, "out of memory");
}

static void *alloc_array(Decoder *d, size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) out_of_memory(d);
    return p;
}

/* Returns array extended from old_n to new_n zeroed elements, or NULL (the
   old array is then still valid and owned by the module). */
static void *grow_array(Decoder *d, void *array, size_t old_n, size_t new_n,
                        size_t size)
{
    uint8_t *p = realloc(array, (new_n ? new_n : 1) * size);
    if (!p) {
        out_of_memory(d);
        return NULL;
    }
    memset(p + old_n * size, 0, (new_n - old_n) * size);
    return p;
}

/* ---- Primitive values ------------------------------------------------------ */

static size_t offset_of(const Decoder *d) { return reader_offset(&d->r); }

/* The length of a name or body: past the end of the input is "length out
   of bounds". */
static uint32_t read_length(Decoder *d)
{
    size_t at = offset_of(d);
    uint32_t n = read_u32(&d->r);
    if (!d->r.failed && n > (size_t)(d->r.end - d->r.p)) {
        fail_at(d, at, "length out of bounds");
        return 0;
    }
    return n;
}

/* The element count of a vector. Every element takes at least one byte, so
   a count larger than the rest of the input fails here, before anything is
   allocated for it. */
static uint32_t read_count(Decoder *d)
{
    uint32_t n = read_u32(&d->r);
    if (!d->r.failed && n > (size_t)(d->r.end - d->r.p)) {
        fail_at(d, (size_t)(d->r.end - d->r.base), "unexpected end");
        return 0;
    }
    return n;
}

static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        size_t len;
        uint32_t cp, min;
        if (b < 0x80) { i++; continue; }
        if ((b & 0xe0) == 0xc0) { len = 2; cp = b & 0x1fu; min = 0x80; }
        else if ((b & 0xf0) == 0xe0) { len = 3; cp = b & 0x0fu; min = 0x800; }
        else if ((b & 0xf8) == 0xf0) { len = 4; cp = b & 0x07u; min = 0x10000; }
        else return false;
        if (n - i < len) return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3fu);
        }
        /* overlong forms, surrogates and code points past Unicode */
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

static Name read_name(Decoder *d)
{
    Name name = { NULL, 0 };
    uint32_t len = read_length(d);
    size_t at = offset_of(d);
    const uint8_t *bytes = read_bytes(&d->r, len);
    if (!bytes) return name;
    if (!utf8_valid(bytes, len)) {
        fail_at(d, at, "malformed UTF-8 encoding");
        return name;
    }
    name.ptr = (const char *)bytes;
    name.len = len;
    return name;
}

static bool is_reftype(uint8_t t) { return t == SW_FUNCREF || t == SW_EXTERNREF; }

static bool is_valtype(uint8_t t)
{
    return t == SW_I32 || t == SW_I64 || t == SW_F32 || t == SW_F64 ||
           is_reftype(t);
}

/* Types are encoded as negative one-byte signed LEB128 numbers (0x7f is -1),
   so a multi-byte encoding is "integer representation too long". */
static uint8_t read_type_byte(Decoder *d)
{
    return (uint8_t)(read_sleb(&d->r, 7) & 0x7f);
}

static uint8_t read_valtype(Decoder *d)
{
    size_t at = offset_of(d);
    uint8_t t = read_type_byte(d);
    if (!is_valtype(t)) fail_at(d, at, "malformed value type");
    return t;
}

static uint8_t read_reftype(Decoder *d)
{
    size_t at = offset_of(d);
    uint8_t t = read_type_byte(d);
    if (!is_reftype(t)) fail_at(d, at, "malformed reference type");
    return t;
}

static uint32_t read_typeidx(Decoder *d)
{
    size_t at = offset_of(d);
    uint32_t index = read_u32(&d->r);
    if (!d->r.failed && index >= d->m->ntypes)
        invalid(d, at, "unknown type %u", index);
    return index;
}

/* Limits flags are a one-bit LEB128: 0 (min only) or 1 (min and max). */
static Limits read_limits(Decoder *d)
{
    Limits l = { 0, 0, false };
    l.has_max = read_uleb(&d->r, 1) == 1;
    l.min = read_u32(&d->r);
    if (l.has_max) l.max = read_u32(&d->r);
    return l;
}

static void check_min_max(Decoder *d, size_t at, Limits l)
{
    if (l.has_max && l.min > l.max)
        invalid(d, at, "size minimum must not be greater than maximum");
}

static TableType read_tabletype(Decoder *d)
{
    TableType t;
    t.elem = read_reftype(d);
    size_t at = offset_of(d);
    t.limits = read_limits(d);
    check_min_max(d, at, t.limits);
    return t;
}

static Limits read_memtype(Decoder *d)
{
    size_t at = offset_of(d);
    Limits l = read_limits(d);
    if (l.min > 65536 || (l.has_max && l.max > 65536))
        invalid(d, at, "memory size must be at most 65536 pages (4GiB)");
    check_min_max(d, at, l);
    return l;
}

static GlobalType read_globaltype(Decoder *d)
{
    GlobalType g;
    g.type = read_valtype(d);
    size_t at = offset_of(d);
    uint8_t mut = read_u8(&d->r);
    if (mut > 1) fail_at(d, at, "malformed mutability");
    g.mutable_ = mut == 1;
    return g;
}

static void mark_declared(Decoder *d, uint32_t func)
{
    sw_module *m = d->m;
    if (!m->declared_funcs)
        m->declared_funcs = alloc_array(d, m->nfuncs / 8 + 1, 1);
    if (m->declared_funcs) m->declared_funcs[func / 8] |= (uint8_t)(1u << (func % 8));
}

static uint32_t read_funcidx(Decoder *d)
{
    size_t at = offset_of(d);
    uint32_t index = read_u32(&d->r);
    if (d->r.failed) return 0;
    if (index >= d->m->nfuncs) invalid(d, at, "unknown function %u", index);
    else mark_declared(d, index);
    return index;
}

/* ---- Constant expressions -------------------------------------------------- */

/* Whether op starts an instruction of WebAssembly 2.0 (without SIMD), to tell
   "not constant" (invalid) from "not an instruction" (malformed). */
static bool is_opcode(uint8_t op)
{
    return op <= 0x05 || (op >= 0x0b && op <= 0x11) || op == 0x1a ||
           op == 0x1b || op == 0x1c || (op >= 0x20 && op <= 0x26) ||
           (op >= 0x28 && op <= 0xc4) || (op >= 0xd0 && op <= 0xd2);
}

/* Reads the operand of a global.get in a constant expression, which may only
   name an immutable imported global; returns its type (0 if unknown). */
static uint8_t read_const_global(Decoder *d, uint64_t *index)
{
    size_t at = offset_of(d);
    uint32_t g = read_u32(&d->r);
    *index = g;
    if (d->r.failed) return 0;
    if (g >= d->m->nimported_globals) {
        invalid(d, at, "unknown global %u", g);
        return 0;
    }
    if (d->m->globals[g].type.mutable_)
        invalid(d, at, "constant expression required");
    return d->m->globals[g].type.type;
}

/* Reads one instruction (op already read) of a constant expression into e
   and returns the type it pushes, or 0 if it cannot be typed. */
static uint8_t read_const_instr(Decoder *d, uint8_t op, size_t at, ConstExpr *e)
{
    e->op = op;
    switch (op) {
    case OP_I32_CONST: e->imm = (uint32_t)read_s32(&d->r); return SW_I32;
    case OP_I64_CONST: e->imm = (uint64_t)read_s64(&d->r); return SW_I64;
    case OP_F32_CONST: e->imm = read_fixed32(&d->r); return SW_F32;
    case OP_F64_CONST: e->imm = read_fixed64(&d->r); return SW_F64;
    case OP_REF_NULL: return (uint8_t)(e->imm = read_reftype(d));
    case OP_REF_FUNC: e->imm = read_funcidx(d); return SW_FUNCREF;
    case OP_GLOBAL_GET: return read_const_global(d, &e->imm);
    case OP_PREFIX_FC:
        if (read_u32(&d->r) > FC_LAST_OP) fail_at(d, at, "illegal opcode");
        invalid_halt(d, at, "constant expression required");
        return 0;
    default:
        if (is_opcode(op)) invalid_halt(d, at, "constant expression required");
        else fail_at(d, at, "illegal opcode");
        return 0;
    }
}

/* A constant expression must push exactly one value, of type `want`. */
static ConstExpr read_const_expr(Decoder *d, uint8_t want)
{
    ConstExpr e = { 0, 0 };
    size_t start = offset_of(d);
    unsigned pushed = 0;
    uint8_t type = 0;
    for (;;) {
        size_t at = offset_of(d);
        uint8_t op = read_u8(&d->r);
        if (d->r.failed || op == OP_END) break;
        type = read_const_instr(d, op, at, &e);
        pushed++;
    }
    if (!d->r.failed && (pushed != 1 || (type != want && type != 0)))
        invalid(d, start, "type mismatch");
    return e;
}

/* ---- Sections ---------------------------------------------------------------- */

static const FuncType *read_functype(Decoder *d)
{
    size_t at = offset_of(d);
    if (read_type_byte(d) != 0x60) fail_at(d, at, "malformed function type");
    uint32_t nparams = read_count(d);
    const uint8_t *params = d->r.p;
    for (uint32_t i = 0; i < nparams && !d->r.failed; i++) read_valtype(d);
    uint32_t nresults = read_count(d);
    const uint8_t *results = d->r.p;
    for (uint32_t i = 0; i < nresults && !d->r.failed; i++) read_valtype(d);
    if (d->r.failed) return NULL;
    const FuncType *t = functype_intern(params, nparams, results, nresults);
    if (!t) out_of_memory(d);
    return t;
}

static void decode_types(Decoder *d)
{
    sw_module *m = d->m;
    uint32_t n = read_count(d);
    if (!(m->types = alloc_array(d, n, sizeof *m->types))) return;
    for (uint32_t i = 0; i < n && !d->r.failed; i++) {
        m->types[i] = read_functype(d);
        m->ntypes = i + 1;
    }
}

static void decode_import_desc(Decoder *d, Import *im)
{
    sw_module *m = d->m;
    size_t at = offset_of(d);
    im->kind = read_u8(&d->r);
    switch (im->kind) {
    case SW_EXTERN_FUNC:
        im->index = m->nimported_funcs;
        m->func_types[m->nimported_funcs++] = read_typeidx(d);
        break;
    case SW_EXTERN_TABLE:
        im->index = m->nimported_tables;
        m->tables[m->nimported_tables++] = read_tabletype(d);
        break;
    case SW_EXTERN_MEMORY:
        im->index = m->nimported_memories;
        m->memories[m->nimported_memories++] = read_memtype(d);
        if (m->nimported_memories > 1) invalid(d, at, "multiple memories");
        break;
    case SW_EXTERN_GLOBAL:
        im->index = m->nimported_globals;
        m->globals[m->nimported_globals++].type = read_globaltype(d);
        break;
    default:
        fail_at(d, at, "malformed import kind");
    }
}

static void decode_imports(Decoder *d)
{
    sw_module *m = d->m;
    uint32_t n = read_count(d);
    /* Each kind gets room for every import; the defined entries are added
       by the later sections. */
    m->imports = alloc_array(d, n, sizeof *m->imports);
    m->func_types = alloc_array(d, n, sizeof *m->func_types);
    m->tables = alloc_array(d, n, sizeof *m->tables);
    m->memories = alloc_array(d, n, sizeof *m->memories);
    m->globals = alloc_array(d, n, sizeof *m->globals);
    for (uint32_t i = 0; i < n && !d->r.failed; i++) {
        Import *im = &m->imports[i];
        m->nimports = i + 1;
        im->module = read_name(d);
        im->name = read_name(d);
        decode_import_desc(d, im);
    }
    m->nfuncs = m->nimported_funcs;
    m->ntables = m->nimported_tables;
    m->nmemories = m->nimported_memories;
    m->nglobals = m->nimported_globals;
}

static void decode_functions(Decoder *d)
{
    sw_module *m = d->m;
    uint32_t n = read_count(d);
    uint32_t *types = grow_array(d, m->func_types, m->nimported_funcs,
                                 (size_t)m->nimported_funcs + n, sizeof *types);
    if (!types) return;
    m->func_types = types;
    if (!(m->funcs = alloc_array(d, n, sizeof *m->funcs))) return;
    for (uint32_t i = 0; i < n && !d->r.failed; i++) {
        m->funcs[i].type = read_typeidx(d);
        m->func_types[m->nimported_funcs + i] = m->funcs[i].type;
    }
    m->nfuncs = m->nimported_funcs + n;
}

static void decode_tables(Decoder *d)
{
    sw_module *m = d->m;
    uint32_t n = read_count(d);
    TableType *tables = grow_array(d, m->tables, m->ntables,
                                   (size_t)m->ntables + n, sizeof *tables);
    if (!tables) return;
    m->tables = tables;
    for (uint32_t i = 0; i < n && !d->r.failed; i++)
        m->tables[m->ntables++] = read_tabletype(d);
}

static void decode_memories(Decoder *d)
{
    sw_module *m = d->m;
    size_t at = offset_of(d);
    uint32_t n = read_count(d);
    Limits *memories = grow_array(d, m->memories, m->nmemories,
                                  (size_t)m->nmemories + n, sizeof *memories);
    if (!memories) return;
    m->memories = memories;
    for (uint32_t i = 0; i < n && !d->r.failed; i++)
        m->memories[m->nmemories++] = read_memtype(d);
    if (m->nmemories > 1) invalid(d, at, "multiple memories");
}

static void decode_globals(Decoder *d)
{
    sw_module *m = d->m;
    uint32_t n = read_count(d);
    Global *globals = grow_array(d, m->globals, m->nglobals,
                                 (size_t)m->nglobals + n, sizeof *globals);
    if (!globals) return;
    m->globals = globals;
    for (uint32_t i = 0; i < n && !d->r.failed; i++) {
        Global *g = &m->globals[m->nglobals++];
        g->type = read_globaltype(d);
        g->init = read_const_expr(d, g->type.type);
    }
}

static int compare_names(const void *a, const void *b)
{
    const Name *x = a, *y = b;
    uint32_t common = x->len < y->len ? x->len : y->len;
    int c = common ? memcmp(x->ptr, y->ptr, common) : 0;
    if (c) return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* Sorting makes the duplicate check O(n log n) for huge export lists. */
static void check_duplicate_exports(Decoder *d, size_t at)
{
    sw_module *m = d->m;
    if (m->nexports < 2) return;
    Name *names = alloc_array(d, m->nexports, sizeof *names);
    if (!names) return;
    for (uint32_t i = 0; i < m->nexports; i++) names[i] = m->exports[i].name;
    qsort(names, m->nexports, sizeof *names, compare_names);
    for (uint32_t i = 1; i < m->nexports; i++) {
        if (compare_names(&names[i - 1], &names[i]) == 0) {
            invalid(d, at, "duplicate export name");
            break;
        }
    }
    free(names);
}

static void check_export_index(Decoder *d, size_t at, const Export *e)
{
    static const char *const kinds[] = { "function", "table", "memory", "global" };
    const sw_module *m = d->m;
    const uint32_t counts[] = { m->nfuncs, m->ntables, m->nmemories, m->nglobals };
    if (e->index >= counts[e->kind])
        invalid(d, at, "unknown %s %u", kinds[e->kind], e->index);
    else if (e->kind == SW_EXTERN_FUNC)
        mark_declared(d, e->index);
}

static void decode_exports(Decoder *d)
{
    sw_module *m = d->m;
    size_t section_at = offset_of(d);
    uint32_t n = read_count(d);
    if (!(m->exports = alloc_array(d, n, sizeof *m->exports))) return;
    for (uint32_t i = 0; i < n && !d->r.failed; i++) {
        Export *e = &m->exports[i];
        m->nexports = i + 1;
        e->name = read_name(d);
        size_t at = offset_of(d);
        e->kind = read_u8(&d->r);
        e->index = read_u32(&d->r);
        if (e->kind > SW_EXTERN_GLOBAL) fail_at(d, at, "malformed export kind");
        if (!d->r.failed) check_export_index(d, at, e);
    }
    if (!d->r.failed) check_duplicate_exports(d, section_at);
}

static void decode_start(Decoder *d)
{
    sw_module *m = d->m;
    size_t at = offset_of(d);
    m->start = read_u32(&d->r);
    m->has_start = true;
    if (d->r.failed) return;
    if (m->start >= m->nfuncs) {
        invalid(d, at, "unknown function %u", m->start);
        return;
    }
    uint32_t t = m->func_types[m->start];
    if (t < m->ntypes && (m->types[t]->nparams || m->types[t]->nresults))
        invalid(d, at, "start function");
}

/* Element segment flags: bit 0 passive or declarative, bit 1 explicit table
   (if active) or declarative (if not), bit 2 items are expressions. */
static void decode_elem_header(Decoder *d, ElemSeg *seg, uint32_t flags)
{
    sw_module *m = d->m;
    seg->type = SW_FUNCREF;
    seg->mode = !(flags & 1) ? SEG_ACTIVE
              : (flags & 2) ? SEG_DECLARATIVE : SEG_PASSIVE;
    size_t table_at = offset_of(d);
    if (seg->mode == SEG_ACTIVE) {
        if (flags & 2) seg->table = read_u32(&d->r);
        seg->offset = read_const_expr(d, SW_I32);
    }
    if (flags & 3) {
        size_t at = offset_of(d);
        if (flags & 4) seg->type = read_reftype(d);
        else if (read_u8(&d->r) != 0x00)
            fail_at(d, at, "malformed elements segment kind");
    }
    if (seg->mode != SEG_ACTIVE || d->r.failed) return;
    if (seg->table >= m->ntables)
        invalid(d, table_at, "unknown table %u", seg->table);
    else if (m->tables[seg->table].elem != seg->type)
        invalid(d, table_at, "type mismatch");
}

static void decode_elem(Decoder *d, ElemSeg *seg)
{
    size_t at = offset_of(d);
    uint32_t flags = read_u32(&d->r);
    if (flags > 7) fail_at(d, at, "malformed elements segment kind");
    decode_elem_header(d, seg, flags);
    uint32_t n = read_count(d);
    if (!(seg->items = alloc_array(d, n, sizeof *seg->items))) return;
    seg->count = n;
    for (uint32_t i = 0; i < n && !d->r.failed; i++) {
        if (flags & 4) {
            seg->items[i] = read_const_expr(d, seg->type);
        } else {
            seg->items[i].op = OP_REF_FUNC;
            seg->items[i].imm = read_funcidx(d);
        }
    }
}

static void decode_elems(Decoder *d)
{
    sw_module *m = d->m;
    uint32_t n = read_count(d);
    if (!(m->elems = alloc_array(d, n, sizeof *m->elems))) return;
    m->nelems = n;
    for (uint32_t i = 0; i < n && !d->r.failed; i++) decode_elem(d, &m->elems[i]);
}

static void decode_datacount(Decoder *d)
{
    d->m->datacount = read_u32(&d->r);
    d->m->has_datacount = true;
}

static void decode_code(Decoder *d)
{
    sw_module *m = d->m;
    size_t at = offset_of(d);
    uint32_t n = read_count(d);
    d->has_code_section = true;
    if (!d->r.failed && n != m->nfuncs - m->nimported_funcs) {
        fail_at(d, at, "function and code section have inconsistent lengths");
        return;
    }
    for (uint32_t i = 0; i < n && !d->r.failed; i++) {
        FuncDef *f = &m->funcs[i];
        f->body_len = read_length(d);
        f->body_offset = offset_of(d);
        f->body = read_bytes(&d->r, f->body_len);
    }
}

static void decode_data(Decoder *d, DataSeg *seg)
{
    sw_module *m = d->m;
    size_t at = offset_of(d);
    uint32_t flags = read_u32(&d->r);
    if (flags > 2) fail_at(d, at, "malformed data segment kind");
    seg->mode = flags == 1 ? SEG_PASSIVE : SEG_ACTIVE;
    size_t memory_at = offset_of(d);
    if (flags == 2) seg->memory = read_u32(&d->r);
    if (seg->mode == SEG_ACTIVE) {
        seg->offset = read_const_expr(d, SW_I32);
        if (!d->r.failed && seg->memory >= m->nmemories)
            invalid(d, memory_at, "unknown memory %u", seg->memory);
    }
    /* unlike names, a data length past the module is an unexpected end */
    seg->len = read_u32(&d->r);
    seg->bytes = read_bytes(&d->r, seg->len);
}

static void decode_datas(Decoder *d)
{
    sw_module *m = d->m;
    size_t at = offset_of(d);
    uint32_t n = read_count(d);
    d->has_data_section = true;
    if (!d->r.failed && m->has_datacount && n != m->datacount) {
        fail_at(d, at, "data count and data section have inconsistent lengths");
        return;
    }
    if (!(m->datas = alloc_array(d, n, sizeof *m->datas))) return;
    m->ndatas = n;
    for (uint32_t i = 0; i < n && !d->r.failed; i++) decode_data(d, &m->datas[i]);
}

static void decode_custom(Decoder *d)
{
    read_name(d);
    if (!d->r.failed) d->r.p = d->r.end; /* the contents are for tools */
}

typedef void (*SectionDecoder)(Decoder *d);

static const SectionDecoder section_decoders[13] = {
    decode_custom, decode_types, decode_imports, decode_functions,
    decode_tables, decode_memories, decode_globals, decode_exports,
    decode_start, decode_elems, decode_code, decode_datas, decode_datacount,
};

/* Position of each non-custom section in the required order: datacount (12)
   comes between element (9) and code (10). */
static const uint8_t section_rank[13] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10 };

/* Like the reference interpreter, entries may be read past the section's
   end (that is then a size mismatch), except in custom sections, whose
   contents are skipped up to their end. */
static void decode_section(Decoder *d, uint8_t id, uint32_t size)
{
    size_t start = offset_of(d);
    const uint8_t *section_end = d->r.p + size;
    if (id == 0) d->r.end = section_end;
    section_decoders[id](d);
    d->r.end = d->module_end;
    if (d->r.failed) {
        if (id != 0 && strcmp(d->r.error, "unexpected end") == 0)
            d->r.error = UNEXPECTED_END_IN_SECTION;
    } else if (d->r.p != section_end) {
        fail_at(d, start, "section size mismatch");
    }
}

static void decode_sections(Decoder *d)
{
    uint8_t last_rank = 0;
    while (!d->r.failed && !reader_eof(&d->r)) {
        size_t at = offset_of(d);
        uint8_t id = read_u8(&d->r);
        if (id > 12) {
            fail_at(d, at, "malformed section id");
            return;
        }
        uint32_t size = read_length(d);
        if (d->r.failed) return;
        if (id != 0) {
            if (section_rank[id] <= last_rank) {
                fail_at(d, at, "unexpected content after last section");
                return;
            }
            last_rank = section_rank[id];
        }
        decode_section(d, id, size);
    }
}

/* Checks that need the whole module: sections that must come in pairs. */
static void check_section_pairs(Decoder *d)
{
    sw_module *m = d->m;
    size_t end = m->len;
    if (!d->has_code_section && m->nfuncs > m->nimported_funcs)
        fail_at(d, end, "function and code section have inconsistent lengths");
    if (!d->has_data_section && m->has_datacount && m->datacount != 0)
        fail_at(d, end, "data count and data section have inconsistent lengths");
}

static void decode_header(Decoder *d)
{
    static const uint8_t magic[4] = { 0x00, 'a', 's', 'm' };
    static const uint8_t version[4] = { 0x01, 0x00, 0x00, 0x00 };
    const uint8_t *b = read_bytes(&d->r, 4);
    if (b && memcmp(b, magic, 4) != 0) fail_at(d, 0, "magic header not detected");
    b = read_bytes(&d->r, 4);
    if (b && memcmp(b, version, 4) != 0) fail_at(d, 4, "unknown binary version");
}

static int finish(Decoder *d, sw_error *err)
{
    sw_module *m = d->m;
    if (!d->r.failed && !m->declared_funcs)
        m->declared_funcs = alloc_array(d, m->nfuncs / 8 + 1, 1);
    if (d->out_of_memory)
        return sw_fail(err, SW_ERR_NOMEM, d->r.error_offset, "out of memory");
    if (d->r.failed && !d->halted)
        return sw_fail(err, SW_ERR_MALFORMED, d->r.error_offset, "%s", d->r.error);
    if (d->pending_set) {
        if (err) *err = d->pending;
        return -1;
    }
    return 0;
}

int decode_module(sw_module *m, sw_error *err)
{
    uint8_t *bytes = m->bytes;
    size_t len = m->len;
    memset(m, 0, sizeof *m);
    m->bytes = bytes;
    m->len = len;
    /* index spaces and offsets are 32-bit; this also keeps every sum of
       counts (each bounded by its section's size) within uint32_t */
    if (len > UINT32_MAX)
        return sw_fail(err, SW_ERR_MALFORMED, 0, "module larger than 4 GiB");

    Decoder d;
    memset(&d, 0, sizeof d);
    d.m = m;
    d.r = reader_at(bytes, bytes, bytes + len);
    d.module_end = bytes + len;
    decode_header(&d);
    decode_sections(&d);
    if (!d.r.failed) check_section_pairs(&d);
    if (finish(&d, err) == 0) return 0;
    module_release(m);
    return -1;
}

void module_release(sw_module *m)
{
    for (uint32_t i = 0; i < m->nelems; i++) free(m->elems[i].items);
    free(m->types);
    free(m->imports);
    free(m->func_types);
    free(m->funcs);
    free(m->tables);
    free(m->memories);
    free(m->globals);
    free(m->exports);
    free(m->elems);
    free(m->datas);
    free(m->declared_funcs);
    uint8_t *bytes = m->bytes;
    size_t len = m->len;
    memset(m, 0, sizeof *m);
    m->bytes = bytes;
    m->len = len;
}
