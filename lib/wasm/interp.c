/*
** interp.c: the interpreter. Runs the Code produced by compile.c.
**
** Dispatch is direct threading: every opcode word is the offset of its
** handler's label from `base`, so each instruction ends with one indirect
** jump (NEXT). The instruction pointer, frame pointer and the current
** memory's base and size live in locals so the compiler keeps them in
** registers; the memory pair is reloaded after anything that may move or
** resize the memory (calls, returns, memory.grow).
**
** Calls push a Frame on s->frames and run the callee in the same loop; only
** host functions leave it. A host function may re-enter interp_call on the
** same store: the frame pushed around a host call records the first free
** stack slot in its fp, and interp_call starts new frames there.
*/
#include "code.h"

#include <math.h>
#include <string.h>

static inline float f32_of(Slot s)
{
    uint32_t bits = (uint32_t)s;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline double f64_of(Slot s)
{
    double d;
    memcpy(&d, &s, 8);
    return d;
}

static inline Slot slot_f32(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, 4);
    return bits;
}

static inline Slot slot_f64(double d)
{
    Slot s;
    memcpy(&s, &d, 8);
    return s;
}

/* Wasm min/max: NaN wins (quieted by the addition), and -0 < +0. */
static inline float f32_min(float a, float b)
{
    if (isnan(a) || isnan(b)) return a + b;
    if (a == b) return signbit(a) ? a : b;
    return a < b ? a : b;
}

static inline float f32_max(float a, float b)
{
    if (isnan(a) || isnan(b)) return a + b;
    if (a == b) return signbit(a) ? b : a;
    return a > b ? a : b;
}

static inline double f64_min(double a, double b)
{
    if (isnan(a) || isnan(b)) return a + b;
    if (a == b) return signbit(a) ? a : b;
    return a < b ? a : b;
}

static inline double f64_max(double a, double b)
{
    if (isnan(a) || isnan(b)) return a + b;
    if (a == b) return signbit(a) ? b : a;
    return a > b ? a : b;
}

/* Rounding a NaN must give a quiet NaN; the C library functions may be
   expanded inline into code that returns a signalling NaN unchanged. */
#define ROUNDING(name, type, fn)                                           \
    static inline type name(type x) { return isnan(x) ? x + x : fn(x); }
ROUNDING(f32_ceil, float, ceilf)
ROUNDING(f32_floor, float, floorf)
ROUNDING(f32_trunc, float, truncf)
ROUNDING(f32_nearest, float, nearbyintf)
ROUNDING(f64_ceil, double, ceil)
ROUNDING(f64_floor, double, floor)
ROUNDING(f64_trunc, double, trunc)
ROUNDING(f64_nearest, double, nearbyint)

static inline uint32_t rotl32(uint32_t x, uint32_t n)
{
    n &= 31;
    return (x << n) | (x >> ((32 - n) & 31));
}

static inline uint32_t rotr32(uint32_t x, uint32_t n)
{
    n &= 31;
    return (x >> n) | (x << ((32 - n) & 31));
}

static inline uint64_t rotl64(uint64_t x, uint64_t n)
{
    n &= 63;
    return (x << n) | (x >> ((64 - n) & 63));
}

static inline uint64_t rotr64(uint64_t x, uint64_t n)
{
    n &= 63;
    return (x >> n) | (x << ((64 - n) & 63));
}

/* Saturating float-to-int conversions; the trapping ones check the same
   bounds first, so these never see an out-of-range value in C. */
static inline int32_t sat_i32(double f)
{
    if (isnan(f)) return 0;
    if (f <= -2147483649.0) return INT32_MIN;
    if (f >= 2147483648.0) return INT32_MAX;
    return (int32_t)f;
}

static inline uint32_t sat_u32(double f)
{
    if (isnan(f) || f <= -1.0) return 0;
    if (f >= 4294967296.0) return UINT32_MAX;
    return (uint32_t)f;
}

static inline int64_t sat_i64(double f)
{
    if (isnan(f)) return 0;
    if (f < -9223372036854775808.0) return INT64_MIN;
    if (f >= 9223372036854775808.0) return INT64_MAX;
    return (int64_t)f;
}

static inline uint64_t sat_u64(double f)
{
    if (isnan(f) || f <= -1.0) return 0;
    if (f >= 18446744073709551616.0) return UINT64_MAX;
    return (uint64_t)f;
}

/* Range checks of the trapping conversions: 0 when convertible, else the
   trap. The bounds are exclusive powers of two, exact in float and double. */
static inline sw_trap check_trunc(double f, double lo, double hi)
{
    if (isnan(f)) return SW_TRAP_BAD_CONVERSION;
    if (!(f > lo && f < hi)) return SW_TRAP_INT_OVERFLOW;
    return SW_TRAP_NONE;
}

/* Most functions declare few locals: the first CODE_INLINE_ZEROED slots
   after the params are cleared without a call (frames are at least that
   large, see code.h). */
static inline void zero_locals(Slot *fp, const Code *code)
{
    Slot *locals = fp + code->nparams;
    for (int i = 0; i < CODE_INLINE_ZEROED; i++) locals[i] = 0;
    uint32_t n = code->nlocals - code->nparams;
    if (n > CODE_INLINE_ZEROED)
        memset(locals + CODE_INLINE_ZEROED, 0,
               (n - CODE_INLINE_ZEROED) * sizeof(Slot));
}

static int trap_error(sw_error *err, sw_trap trap)
{
    sw_fail(err, SW_ERR_TRAP, 0, "%s", sw_trap_message(trap));
    if (err) err->trap = trap;
    return -1;
}

/* The interpreter loop. With labels_out set it only returns its handler
   offset table (the compiler's opcode words). */
static int run(sw_store *s, Instance *inst, const uint32_t *ip, Slot *fp,
               sw_error *err, uint32_t entry_depth,
               const int32_t **labels_out)
{
#define X(name) (int32_t)(&&L_##name - &&base),
    static const int32_t labels[] = { SW_OPS(X) };
#undef X
    if (labels_out) {
        *labels_out = labels;
        return 0;
    }

    uint8_t *mbase;
    uint64_t msize;
    sw_trap trap;
    sw_func *callee;
    uint32_t call_base, call_len;
    Slot *const stack_end = s->stack_end;
    /* the next free Frame; s->depth is brought up to date only where
       someone else may look at it (host calls, returns to C, traps) */
    Frame *frame = &s->frames[s->depth];
    Frame *const frames_end = &s->frames[s->limits.max_call_depth];

#define RELOAD_MEMORY()                                                    \
    do {                                                                   \
        mbase = inst->memory ? inst->memory->data : NULL;                  \
        msize = inst->memory ? inst->memory->size : 0;                     \
    } while (0)
#define NEXT() goto *(void *)((char *)&&base + (int32_t)*ip)
#define TRAP(t)                                                            \
    do {                                                                   \
        trap = (t);                                                        \
        goto trapped;                                                      \
    } while (0)
#define CHARGE(cost)                                                       \
    do {                                                                   \
        if ((s->budget -= (cost)) < 0) {                                   \
            sw_trap t_ = store_budget_check(s);                            \
            if (t_ != SW_TRAP_NONE) TRAP(t_);                              \
        }                                                                  \
    } while (0)
#define S(n) fp[ip[n]]
#define U32(n) ((uint32_t)fp[ip[n]])
#define I32(n) ((int32_t)(uint32_t)fp[ip[n]])
#define U64(n) (fp[ip[n]])
#define I64(n) ((int64_t)fp[ip[n]])
#define F32(n) f32_of(fp[ip[n]])
#define F64(n) f64_of(fp[ip[n]])
#define IMM32 ((uint32_t)ip[3])
#define IMM64 ((uint64_t)(int64_t)(int32_t)ip[3])

    RELOAD_MEMORY();
    NEXT();
base:
    __builtin_unreachable();

    /* ---- control ---- */
L_UNREACHABLE:
    TRAP(SW_TRAP_UNREACHABLE);
L_BR:
    ip += (int32_t)ip[1];
    NEXT();
L_BR_LOOP:
    ip += (int32_t)ip[1];
    CHARGE(ip[1]);
    ip += 2;
    NEXT();
L_BR_TABLE: {
    uint32_t i = U32(1), n = ip[2];
    ip += (int32_t)ip[3 + (i < n ? i : n)];
    NEXT();
}
L_LOOP_FUEL:
    CHARGE(ip[1]);
    ip += 2;
    NEXT();
L_RETURN: {
    Frame *f = --frame;
    if (!f->ret_ip) {
        s->depth = (uint32_t)(frame - s->frames);
        return 0;
    }
    ip = f->ret_ip;
    fp = f->fp;
    inst = f->inst;
    RELOAD_MEMORY();
    NEXT();
}
L_CALL: {
    const Code *code =
        (const Code *)(uintptr_t)(ip[2] | (uint64_t)ip[3] << 32);
    Slot *nfp = fp + ip[1];
    if (nfp + code->nslots > stack_end || frame == frames_end)
        TRAP(SW_TRAP_STACK_EXHAUSTED);
    Frame *f = frame++;
    f->ret_ip = ip + 4;
    f->fp = fp;
    f->inst = inst;
    zero_locals(nfp, code);
    fp = nfp;
    ip = code->words;
    CHARGE(code->entry_cost);
    NEXT();
}
L_CALL_IMPORT:
    callee = inst->funcs[ip[2]];
    call_base = ip[1];
    call_len = 3;
    goto call_func;
L_CALL_INDIRECT: {
    const sw_table *t = inst->tables[ip[3]];
    uint32_t i = U32(2);
    if (i >= t->size) TRAP(SW_TRAP_UNDEFINED_ELEMENT);
    callee = t->elems[i];
    if (!callee) TRAP(SW_TRAP_UNINITIALIZED_ELEMENT);
    if (callee->type != inst->module->types[ip[4]])
        TRAP(SW_TRAP_INDIRECT_MISMATCH);
    call_base = ip[1];
    call_len = 5;
    goto call_func;
}
call_func: {
    Slot *nfp = fp + call_base;
    if (callee->host) {
        uint32_t np = callee->type->nparams, nr = callee->type->nresults;
        Slot *top = nfp + (np > nr ? np : nr);
        if (top > stack_end || frame == frames_end)
            TRAP(SW_TRAP_STACK_EXHAUSTED);
        Frame *f = frame;
        f->ret_ip = NULL;
        f->fp = top; /* where nested interp_calls may start */
        f->inst = inst;
        s->depth = (uint32_t)(frame + 1 - s->frames);
        struct sw_caller caller = { s, inst, err };
        int rc = callee->host(&caller, callee->user, nfp, nfp);
        if (rc) {
            s->depth = entry_depth;
            return -1;
        }
        ip += call_len;
        RELOAD_MEMORY();
        NEXT();
    }
    const Code *code = callee->code;
    if (nfp + code->nslots > stack_end || frame == frames_end)
        TRAP(SW_TRAP_STACK_EXHAUSTED);
    Frame *f = frame++;
    f->ret_ip = ip + call_len;
    f->fp = fp;
    f->inst = inst;
    zero_locals(nfp, code);
    fp = nfp;
    ip = code->words;
    inst = callee->inst;
    RELOAD_MEMORY();
    CHARGE(code->entry_cost);
    NEXT();
}

#define BR_IF(name, cond)                                                  \
    L_##name:                                                              \
    if (cond) ip += (int32_t)ip[2];                                        \
    else ip += 3;                                                          \
    NEXT();
    BR_IF(BR_NZ32, U32(1) != 0)
    BR_IF(BR_EZ32, U32(1) == 0)
    BR_IF(BR_NZ64, U64(1) != 0)
    BR_IF(BR_EZ64, U64(1) == 0)

#define BR_CMP(name, a, op, b)                                             \
    L_##name:                                                              \
    if ((a)op(b)) ip += (int32_t)ip[3];                                    \
    else ip += 4;                                                          \
    NEXT();
#define BR_CMPS(c, op, t32, t64)                                           \
    BR_CMP(BR32_##c##_SS, (t32)fp[ip[1]], op, (t32)fp[ip[2]])              \
    BR_CMP(BR32_##c##_SI, (t32)fp[ip[1]], op, (t32)ip[2])                  \
    BR_CMP(BR64_##c##_SS, (t64)fp[ip[1]], op, (t64)fp[ip[2]])              \
    BR_CMP(BR64_##c##_SI, (t64)fp[ip[1]], op, (t64)(int32_t)ip[2])
    BR_CMPS(EQ, ==, uint32_t, uint64_t)
    BR_CMPS(NE, !=, uint32_t, uint64_t)
    BR_CMPS(LT_S, <, int32_t, int64_t)
    BR_CMPS(GE_S, >=, int32_t, int64_t)
    BR_CMPS(LT_U, <, uint32_t, uint64_t)
    BR_CMPS(GE_U, >=, uint32_t, uint64_t)
    BR_CMPS(GT_S, >, int32_t, int64_t)
    BR_CMPS(LE_S, <=, int32_t, int64_t)
    BR_CMPS(GT_U, >, uint32_t, uint64_t)
    BR_CMPS(LE_U, <=, uint32_t, uint64_t)

    /* ---- moves ---- */
L_MOV:
    S(1) = S(2);
    ip += 3;
    NEXT();
L_CONST32:
    S(1) = ip[2];
    ip += 3;
    NEXT();
L_CONST64:
    S(1) = ip[2] | (uint64_t)ip[3] << 32;
    ip += 4;
    NEXT();
L_SELECT:
    S(1) = U32(4) ? S(2) : S(3);
    ip += 5;
    NEXT();
L_GLOBAL_GET:
    S(1) = inst->globals[ip[2]]->value;
    ip += 3;
    NEXT();
L_GLOBAL_SET:
    inst->globals[ip[2]]->value = S(1);
    ip += 3;
    NEXT();

    /* ---- memory ---- */
#define LOAD(name, ctype, result)                                          \
    L_##name: {                                                            \
        uint64_t ea = (uint64_t)(uint32_t)(U32(2) + ip[4]) + ip[3];        \
        if (ea + sizeof(ctype) > msize) TRAP(SW_TRAP_MEMORY_OOB);          \
        ctype v;                                                           \
        memcpy(&v, mbase + ea, sizeof v);                                  \
        S(1) = (result);                                                   \
        ip += 5;                                                           \
        NEXT();                                                            \
    }
    LOAD(I32_LOAD, uint32_t, v)
    LOAD(I64_LOAD, uint64_t, v)
    LOAD(I32_LOAD8_S, int8_t, (uint32_t)(int32_t)v)
    LOAD(I32_LOAD8_U, uint8_t, v)
    LOAD(I32_LOAD16_S, int16_t, (uint32_t)(int32_t)v)
    LOAD(I32_LOAD16_U, uint16_t, v)
    LOAD(I64_LOAD8_S, int8_t, (uint64_t)(int64_t)v)
    LOAD(I64_LOAD8_U, uint8_t, v)
    LOAD(I64_LOAD16_S, int16_t, (uint64_t)(int64_t)v)
    LOAD(I64_LOAD16_U, uint16_t, v)
    LOAD(I64_LOAD32_S, int32_t, (uint64_t)(int64_t)v)
    LOAD(I64_LOAD32_U, uint32_t, v)

#define STORE(name, ctype)                                                 \
    L_##name: {                                                            \
        uint64_t ea = (uint64_t)(uint32_t)(U32(1) + ip[4]) + ip[3];        \
        if (ea + sizeof(ctype) > msize) TRAP(SW_TRAP_MEMORY_OOB);          \
        ctype v = (ctype)S(2);                                             \
        memcpy(mbase + ea, &v, sizeof v);                                  \
        ip += 5;                                                           \
        NEXT();                                                            \
    }
    STORE(STORE8, uint8_t)
    STORE(STORE16, uint16_t)
    STORE(STORE32, uint32_t)
    STORE(STORE64, uint64_t)

L_MEMORY_SIZE:
    S(1) = (uint32_t)(msize / SW_PAGE_SIZE);
    ip += 2;
    NEXT();
L_MEMORY_GROW: {
    int64_t old = memory_grow(inst->memory, U32(2), s->limits.max_memory_pages);
    S(1) = (uint32_t)old;
    RELOAD_MEMORY();
    ip += 3;
    NEXT();
}
L_MEMORY_FILL: {
    uint32_t d = U32(1), n = U32(3);
    if ((uint64_t)d + n > msize) TRAP(SW_TRAP_MEMORY_OOB);
    if (n) memset(mbase + d, (int)(uint8_t)S(2), n);
    ip += 4;
    NEXT();
}
L_MEMORY_COPY: {
    uint32_t d = U32(1), src = U32(2), n = U32(3);
    if ((uint64_t)d + n > msize || (uint64_t)src + n > msize)
        TRAP(SW_TRAP_MEMORY_OOB);
    if (n) memmove(mbase + d, mbase + src, n);
    ip += 4;
    NEXT();
}
L_MEMORY_INIT: {
    uint32_t d = U32(1), src = U32(2), n = U32(3), seg = ip[4];
    if ((uint64_t)src + n > inst->data_lens[seg] || (uint64_t)d + n > msize)
        TRAP(SW_TRAP_MEMORY_OOB);
    if (n) memcpy(mbase + d, inst->module->datas[seg].bytes + src, n);
    ip += 5;
    NEXT();
}
L_DATA_DROP:
    inst->data_lens[ip[1]] = 0;
    ip += 2;
    NEXT();

    /* ---- tables and references ---- */
L_TABLE_GET: {
    const sw_table *t = inst->tables[ip[3]];
    uint32_t i = U32(2);
    if (i >= t->size) TRAP(SW_TRAP_TABLE_OOB);
    S(1) = (Slot)(uintptr_t)t->elems[i];
    ip += 4;
    NEXT();
}
L_TABLE_SET: {
    sw_table *t = inst->tables[ip[3]];
    uint32_t i = U32(1);
    if (i >= t->size) TRAP(SW_TRAP_TABLE_OOB);
    t->elems[i] = (void *)(uintptr_t)S(2);
    ip += 4;
    NEXT();
}
L_TABLE_SIZE:
    S(1) = inst->tables[ip[2]]->size;
    ip += 3;
    NEXT();
L_TABLE_GROW: {
    int64_t old = table_grow(inst->tables[ip[4]], U32(3),
                             (void *)(uintptr_t)S(2), s->limits.max_table_size);
    S(1) = (uint32_t)old;
    ip += 5;
    NEXT();
}
L_TABLE_FILL: {
    sw_table *t = inst->tables[ip[4]];
    uint32_t i = U32(1), n = U32(3);
    void *ref = (void *)(uintptr_t)S(2);
    if ((uint64_t)i + n > t->size) TRAP(SW_TRAP_TABLE_OOB);
    for (uint32_t k = 0; k < n; k++) t->elems[i + k] = ref;
    ip += 5;
    NEXT();
}
L_TABLE_COPY: {
    sw_table *dt = inst->tables[ip[4]], *st = inst->tables[ip[5]];
    uint32_t d = U32(1), src = U32(2), n = U32(3);
    if ((uint64_t)d + n > dt->size || (uint64_t)src + n > st->size)
        TRAP(SW_TRAP_TABLE_OOB);
    if (n) memmove(dt->elems + d, st->elems + src, n * sizeof(void *));
    ip += 6;
    NEXT();
}
L_TABLE_INIT: {
    sw_table *t = inst->tables[ip[4]];
    uint32_t d = U32(1), src = U32(2), n = U32(3), seg = ip[5];
    if ((uint64_t)src + n > inst->elem_counts[seg] ||
        (uint64_t)d + n > t->size)
        TRAP(SW_TRAP_TABLE_OOB);
    if (n) memcpy(t->elems + d, inst->elem_refs[seg] + src, n * sizeof(void *));
    ip += 6;
    NEXT();
}
L_ELEM_DROP:
    inst->elem_counts[ip[1]] = 0;
    ip += 2;
    NEXT();
L_REF_FUNC:
    S(1) = (Slot)(uintptr_t)inst->funcs[ip[2]];
    ip += 3;
    NEXT();
L_REF_IS_NULL:
    S(1) = S(2) == 0;
    ip += 3;
    NEXT();

    /* ---- numeric ---- */
#define UNOP(name, expr)                                                   \
    L_##name:                                                              \
    S(1) = (expr);                                                         \
    ip += 3;                                                               \
    NEXT();
#define BINOP(name, expr)                                                  \
    L_##name:                                                              \
    S(1) = (expr);                                                         \
    ip += 4;                                                               \
    NEXT();
/* i32 results are stored zero-extended. */
#define BIN32(name, expr)                                                  \
    L_##name: {                                                            \
        uint32_t a = U32(2), b = U32(3);                                   \
        S(1) = (uint32_t)(expr);                                           \
        ip += 4;                                                           \
        NEXT();                                                            \
    }                                                                      \
    L_##name##_I: {                                                        \
        uint32_t a = U32(2), b = IMM32;                                    \
        S(1) = (uint32_t)(expr);                                           \
        ip += 4;                                                           \
        NEXT();                                                            \
    }
#define BIN64(name, expr)                                                  \
    L_##name: {                                                            \
        uint64_t a = U64(2), b = U64(3);                                   \
        S(1) = (uint64_t)(expr);                                           \
        ip += 4;                                                           \
        NEXT();                                                            \
    }                                                                      \
    L_##name##_I: {                                                        \
        uint64_t a = U64(2), b = IMM64;                                    \
        S(1) = (uint64_t)(expr);                                           \
        ip += 4;                                                           \
        NEXT();                                                            \
    }
#define BOTH(name, expr) BIN32(I32_##name, expr) BIN64(I64_##name, expr)
    BOTH(EQ, a == b)
    BOTH(NE, a != b)
    BIN32(I32_LT_S, (int32_t)a < (int32_t)b)
    BIN32(I32_GE_S, (int32_t)a >= (int32_t)b)
    BIN32(I32_GT_S, (int32_t)a > (int32_t)b)
    BIN32(I32_LE_S, (int32_t)a <= (int32_t)b)
    BIN64(I64_LT_S, (int64_t)a < (int64_t)b)
    BIN64(I64_GE_S, (int64_t)a >= (int64_t)b)
    BIN64(I64_GT_S, (int64_t)a > (int64_t)b)
    BIN64(I64_LE_S, (int64_t)a <= (int64_t)b)
    BOTH(LT_U, a < b)
    BOTH(GE_U, a >= b)
    BOTH(GT_U, a > b)
    BOTH(LE_U, a <= b)
    BOTH(ADD, a + b)
    BOTH(SUB, a - b)
    BOTH(MUL, a * b)
    BOTH(AND, a & b)
    BOTH(OR, a | b)
    BOTH(XOR, a ^ b)
    BIN32(I32_SHL, a << (b & 31))
    BIN32(I32_SHR_S, (uint32_t)((int32_t)a >> (b & 31)))
    BIN32(I32_SHR_U, a >> (b & 31))
    BIN64(I64_SHL, a << (b & 63))
    BIN64(I64_SHR_S, (uint64_t)((int64_t)a >> (b & 63)))
    BIN64(I64_SHR_U, a >> (b & 63))

    UNOP(I32_EQZ, U32(2) == 0)
    UNOP(I64_EQZ, U64(2) == 0)
    UNOP(I32_CLZ, U32(2) ? (uint32_t)__builtin_clz(U32(2)) : 32)
    UNOP(I32_CTZ, U32(2) ? (uint32_t)__builtin_ctz(U32(2)) : 32)
    UNOP(I32_POPCNT, (uint32_t)__builtin_popcount(U32(2)))
    UNOP(I64_CLZ, U64(2) ? (uint64_t)__builtin_clzll(U64(2)) : 64)
    UNOP(I64_CTZ, U64(2) ? (uint64_t)__builtin_ctzll(U64(2)) : 64)
    UNOP(I64_POPCNT, (uint64_t)__builtin_popcountll(U64(2)))
    BINOP(I32_ROTL, rotl32(U32(2), U32(3)))
    BINOP(I32_ROTR, rotr32(U32(2), U32(3)))
    BINOP(I64_ROTL, rotl64(U64(2), U64(3)))
    BINOP(I64_ROTR, rotr64(U64(2), U64(3)))

L_I32_DIV_S: {
    int32_t a = I32(2), b = I32(3);
    if (b == 0) TRAP(SW_TRAP_DIV_ZERO);
    if (a == INT32_MIN && b == -1) TRAP(SW_TRAP_INT_OVERFLOW);
    S(1) = (uint32_t)(a / b);
    ip += 4;
    NEXT();
}
L_I32_DIV_U: {
    uint32_t a = U32(2), b = U32(3);
    if (b == 0) TRAP(SW_TRAP_DIV_ZERO);
    S(1) = a / b;
    ip += 4;
    NEXT();
}
L_I32_REM_S: {
    int32_t a = I32(2), b = I32(3);
    if (b == 0) TRAP(SW_TRAP_DIV_ZERO);
    S(1) = b == -1 ? 0 : (uint32_t)(a % b);
    ip += 4;
    NEXT();
}
L_I32_REM_U: {
    uint32_t a = U32(2), b = U32(3);
    if (b == 0) TRAP(SW_TRAP_DIV_ZERO);
    S(1) = a % b;
    ip += 4;
    NEXT();
}
L_I64_DIV_S: {
    int64_t a = I64(2), b = I64(3);
    if (b == 0) TRAP(SW_TRAP_DIV_ZERO);
    if (a == INT64_MIN && b == -1) TRAP(SW_TRAP_INT_OVERFLOW);
    S(1) = (uint64_t)(a / b);
    ip += 4;
    NEXT();
}
L_I64_DIV_U: {
    uint64_t a = U64(2), b = U64(3);
    if (b == 0) TRAP(SW_TRAP_DIV_ZERO);
    S(1) = a / b;
    ip += 4;
    NEXT();
}
L_I64_REM_S: {
    int64_t a = I64(2), b = I64(3);
    if (b == 0) TRAP(SW_TRAP_DIV_ZERO);
    S(1) = b == -1 ? 0 : (uint64_t)(a % b);
    ip += 4;
    NEXT();
}
L_I64_REM_U: {
    uint64_t a = U64(2), b = U64(3);
    if (b == 0) TRAP(SW_TRAP_DIV_ZERO);
    S(1) = a % b;
    ip += 4;
    NEXT();
}

    BINOP(F32_EQ, F32(2) == F32(3))
    BINOP(F32_NE, F32(2) != F32(3))
    BINOP(F32_LT, F32(2) < F32(3))
    BINOP(F32_GT, F32(2) > F32(3))
    BINOP(F32_LE, F32(2) <= F32(3))
    BINOP(F32_GE, F32(2) >= F32(3))
    BINOP(F64_EQ, F64(2) == F64(3))
    BINOP(F64_NE, F64(2) != F64(3))
    BINOP(F64_LT, F64(2) < F64(3))
    BINOP(F64_GT, F64(2) > F64(3))
    BINOP(F64_LE, F64(2) <= F64(3))
    BINOP(F64_GE, F64(2) >= F64(3))

    /* Sign operations are pure bit operations: they must keep NaN bits. */
    UNOP(F32_ABS, U32(2) & 0x7fffffffu)
    UNOP(F32_NEG, U32(2) ^ 0x80000000u)
    BINOP(F32_COPYSIGN, (U32(2) & 0x7fffffffu) | (U32(3) & 0x80000000u))
    UNOP(F64_ABS, U64(2) & 0x7fffffffffffffffu)
    UNOP(F64_NEG, U64(2) ^ 0x8000000000000000u)
    BINOP(F64_COPYSIGN, (U64(2) & 0x7fffffffffffffffu) |
                            (U64(3) & 0x8000000000000000u))
    UNOP(F32_CEIL, slot_f32(f32_ceil(F32(2))))
    UNOP(F32_FLOOR, slot_f32(f32_floor(F32(2))))
    UNOP(F32_TRUNC, slot_f32(f32_trunc(F32(2))))
    UNOP(F32_NEAREST, slot_f32(f32_nearest(F32(2))))
    UNOP(F32_SQRT, slot_f32(sqrtf(F32(2))))
    BINOP(F32_ADD, slot_f32(F32(2) + F32(3)))
    BINOP(F32_SUB, slot_f32(F32(2) - F32(3)))
    BINOP(F32_MUL, slot_f32(F32(2) * F32(3)))
    BINOP(F32_DIV, slot_f32(F32(2) / F32(3)))
    BINOP(F32_MIN, slot_f32(f32_min(F32(2), F32(3))))
    BINOP(F32_MAX, slot_f32(f32_max(F32(2), F32(3))))
    UNOP(F64_CEIL, slot_f64(f64_ceil(F64(2))))
    UNOP(F64_FLOOR, slot_f64(f64_floor(F64(2))))
    UNOP(F64_TRUNC, slot_f64(f64_trunc(F64(2))))
    UNOP(F64_NEAREST, slot_f64(f64_nearest(F64(2))))
    UNOP(F64_SQRT, slot_f64(sqrt(F64(2))))
    BINOP(F64_ADD, slot_f64(F64(2) + F64(3)))
    BINOP(F64_SUB, slot_f64(F64(2) - F64(3)))
    BINOP(F64_MUL, slot_f64(F64(2) * F64(3)))
    BINOP(F64_DIV, slot_f64(F64(2) / F64(3)))
    BINOP(F64_MIN, slot_f64(f64_min(F64(2), F64(3))))
    BINOP(F64_MAX, slot_f64(f64_max(F64(2), F64(3))))

    /* ---- conversions ---- */
#define TRUNC(name, from, lo, hi, ctype, utype)                            \
    L_##name: {                                                            \
        double f = from(2);                                                \
        sw_trap t_ = check_trunc(f, lo, hi);                               \
        if (t_ != SW_TRAP_NONE) TRAP(t_);                                  \
        S(1) = (utype)(ctype)f;                                            \
        ip += 3;                                                           \
        NEXT();                                                            \
    }
    TRUNC(I32_TRUNC_F32_S, F32, -2147483904.0, 2147483648.0, int32_t, uint32_t)
    TRUNC(I32_TRUNC_F32_U, F32, -1.0, 4294967296.0, uint32_t, uint32_t)
    TRUNC(I32_TRUNC_F64_S, F64, -2147483649.0, 2147483648.0, int32_t, uint32_t)
    TRUNC(I32_TRUNC_F64_U, F64, -1.0, 4294967296.0, uint32_t, uint32_t)
    TRUNC(I64_TRUNC_F32_S, F32, -9223373136366403584.0,
          9223372036854775808.0, int64_t, uint64_t)
    TRUNC(I64_TRUNC_F32_U, F32, -1.0, 18446744073709551616.0, uint64_t,
          uint64_t)
    TRUNC(I64_TRUNC_F64_S, F64, -9223372036854777856.0,
          9223372036854775808.0, int64_t, uint64_t)
    TRUNC(I64_TRUNC_F64_U, F64, -1.0, 18446744073709551616.0, uint64_t,
          uint64_t)
    UNOP(I32_TRUNC_SAT_F32_S, (uint32_t)sat_i32(F32(2)))
    UNOP(I32_TRUNC_SAT_F32_U, sat_u32(F32(2)))
    UNOP(I32_TRUNC_SAT_F64_S, (uint32_t)sat_i32(F64(2)))
    UNOP(I32_TRUNC_SAT_F64_U, sat_u32(F64(2)))
    UNOP(I64_TRUNC_SAT_F32_S, (uint64_t)sat_i64(F32(2)))
    UNOP(I64_TRUNC_SAT_F32_U, sat_u64(F32(2)))
    UNOP(I64_TRUNC_SAT_F64_S, (uint64_t)sat_i64(F64(2)))
    UNOP(I64_TRUNC_SAT_F64_U, sat_u64(F64(2)))
    UNOP(I32_WRAP_I64, (uint32_t)U64(2))
    UNOP(I64_EXTEND_I32_S, (uint64_t)(int64_t)I32(2))
    UNOP(I64_EXTEND_I32_U, (uint64_t)U32(2))
    UNOP(F32_CONVERT_I32_S, slot_f32((float)I32(2)))
    UNOP(F32_CONVERT_I32_U, slot_f32((float)U32(2)))
    UNOP(F32_CONVERT_I64_S, slot_f32((float)I64(2)))
    UNOP(F32_CONVERT_I64_U, slot_f32((float)U64(2)))
    UNOP(F32_DEMOTE_F64, slot_f32((float)F64(2)))
    UNOP(F64_CONVERT_I32_S, slot_f64((double)I32(2)))
    UNOP(F64_CONVERT_I32_U, slot_f64((double)U32(2)))
    UNOP(F64_CONVERT_I64_S, slot_f64((double)I64(2)))
    UNOP(F64_CONVERT_I64_U, slot_f64((double)U64(2)))
    UNOP(F64_PROMOTE_F32, slot_f64((double)F32(2)))
    UNOP(I32_EXTEND8_S, (uint32_t)(int32_t)(int8_t)U32(2))
    UNOP(I32_EXTEND16_S, (uint32_t)(int32_t)(int16_t)U32(2))
    UNOP(I64_EXTEND8_S, (uint64_t)(int64_t)(int8_t)U64(2))
    UNOP(I64_EXTEND16_S, (uint64_t)(int64_t)(int16_t)U64(2))
    UNOP(I64_EXTEND32_S, (uint64_t)(int64_t)(int32_t)U64(2))

trapped:
    s->depth = entry_depth;
    return trap_error(err, trap);
}

const int32_t *interp_labels(void)
{
    const int32_t *labels;
    run(NULL, NULL, NULL, NULL, NULL, 0, &labels);
    return labels;
}

int interp_call(sw_store *s, sw_func *func, Slot *slots, sw_error *err)
{
    const Code *code = func->code;
    uint32_t entry_depth = s->depth;
    /* Nested calls come from a host function: start above its frame. */
    Slot *fp = entry_depth ? s->frames[entry_depth - 1].fp : s->stack;
    if (fp + code->nslots > s->stack_end ||
        entry_depth >= s->limits.max_call_depth)
        return trap_error(err, SW_TRAP_STACK_EXHAUSTED);

    for (uint32_t i = 0; i < code->nparams; i++) fp[i] = slots[i];
    zero_locals(fp, code);
    Frame *f = &s->frames[s->depth++];
    f->ret_ip = NULL;
    f->fp = fp;
    f->inst = func->inst;

    if ((s->budget -= code->entry_cost) < 0) {
        sw_trap trap = store_budget_check(s);
        if (trap != SW_TRAP_NONE) {
            s->depth = entry_depth;
            return trap_error(err, trap);
        }
    }
    if (run(s, func->inst, code->words, fp, err, entry_depth, NULL)) return -1;
    for (uint32_t i = 0; i < code->nresults; i++) slots[i] = fp[i];
    return 0;
}
