/*
** compile.c: validates a function body and translates it, in one pass, into
** the interpreter's Code (see code.h).
**
** Validation follows the WebAssembly 2.0 algorithm: an operand stack of
** types and a stack of control frames, each knowing whether the rest of its
** body is unreachable (then the operand stack is polymorphic).
**
** Translation assigns every operand stack position a fixed frame slot
** ("home", after the locals and the constant pool). Entries are lazy where
** possible: a local.get or a constant emits nothing and the entry remembers
** where its value is.
** Instructions read their operands from any slot, so values are copied into
** their home slot only when that matters: before the local they mirror is
** written, at control-flow joins, and for call arguments; constants read
** inside loops come from a small pool of slots loaded on entry. Peephole
** rewrites act on the last emitted instruction: local.set/tee and returns
** retarget its destination instead of copying, br_if/if fuse a preceding
** compare into a compare-and-branch, and loads/stores absorb an i32.add of
** a constant into their address.
**
** Frame layout: params, declared locals, the constant pool (POOL_SLOTS),
** then the operand stack (home slots) and parallel-move scratch slots.
**
** Code after an unconditional branch is validated but not emitted (`dead`).
*/
#include "code.h"
#include "reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LOCALS 50000u
/* Entries this deep in the operand stack never mirror a local, which keeps
   the scans before local writes and blocks short on any input. */
#define MAX_LAZY_DEPTH 256u
/* Constants that instructions inside loops read are loaded once, on entry,
   into this many slots between the locals and the operand stack. */
#define POOL_SLOTS 8u
#define NONE UINT32_MAX
#define UNKNOWN 0 /* the type of a value popped from a polymorphic stack */

enum { LAZY_TEMP, LAZY_LOCAL, LAZY_CONST };

typedef struct Entry {
    uint8_t type;
    uint8_t kind;   /* LAZY_*: where the value lives */
    uint32_t local; /* LAZY_LOCAL */
    uint64_t bits;  /* LAZY_CONST */
} Entry;

enum { CTRL_FUNC, CTRL_BLOCK, CTRL_LOOP, CTRL_IF, CTRL_ELSE };

typedef struct Ctrl {
    uint8_t kind;
    bool unreachable;   /* validation: rest of the body is unreachable */
    bool dead_at_start; /* code generation: the block began in dead code */
    bool branched_to;   /* a live branch targets the end */
    uint32_t height;    /* operand stack height below the params */
    const uint8_t *params, *results;
    uint32_t nparams, nresults;
    uint32_t loop_pos;      /* loop: position of the header */
    uint32_t loop_ninstr;   /* loop: instruction count at the header */
    uint32_t else_instr, else_word; /* if: the branch to the else arm */
    uint32_t patches;       /* first pending branch to the end, or NONE */
    uint32_t stub_table, stub_pos; /* br_table stub (see compile_br_table) */
} Ctrl;

/* A branch word waiting for the end of its block; a block's patches form
   a list through `next`. */
typedef struct Patch {
    uint32_t instr, word, next;
} Patch;

/* A condition for a branch: a BR op with its operand words. */
typedef struct Cond {
    int op;
    uint32_t a, b;
    bool has_b;
} Cond;

typedef struct Compiler {
    sw_module *m;
    Reader r;
    sw_error *err;
    bool failed;
    size_t op_offset; /* of the instruction being compiled, for errors */
    const int32_t *labels;

    const FuncType *type;
    uint8_t *local_types;
    uint32_t nlocals;

    Entry *stack;
    uint32_t height, stack_cap, frame_top;
    Ctrl *ctrls;
    uint32_t nctrls, ctrl_cap;
    Patch *patches;
    uint32_t npatches, patch_cap;

    uint32_t *code;
    uint32_t len, code_cap;
    uint32_t ninstr, loop_depth, entry_cost;
    bool dead;
    uint64_t pool[POOL_SLOTS];
    uint32_t npool;

    /* The last emitted instruction, for the peephole rewrites. */
    uint32_t last_pos, last_dst;
    int last_op;
} Compiler;

/* ---- errors and buffers ----------------------------------------------- */

static void fail(Compiler *c, sw_errkind kind, const char *fmt, const char *detail,
                 uint32_t index)
{
    if (c->failed) return;
    c->failed = true;
    c->dead = true; /* nothing more is emitted */
    char message[160];
    snprintf(message, sizeof message, fmt, detail, index);
    sw_fail(c->err, kind, c->op_offset, "%s", message);
}

static void invalid(Compiler *c, const char *message)
{
    fail(c, SW_ERR_INVALID, "%s", message, 0);
}

static void unknown(Compiler *c, const char *what, uint32_t index)
{
    fail(c, SW_ERR_INVALID, "unknown %s %u", what, index);
}

static void malformed(Compiler *c, const char *message)
{
    fail(c, SW_ERR_MALFORMED, "%s", message, 0);
}

static void out_of_memory(Compiler *c)
{
    fail(c, SW_ERR_NOMEM, "%s", "out of memory compiling a function", 0);
}

static bool grow(Compiler *c, void **array, uint32_t *cap, uint32_t need,
                 size_t size)
{
    if (need <= *cap) return true;
    uint64_t ncap = *cap ? *cap * 2u : 64u;
    while (ncap < need) ncap *= 2;
    void *p = ncap <= UINT32_MAX ? realloc(*array, (size_t)ncap * size) : NULL;
    if (!p) {
        out_of_memory(c);
        return false;
    }
    *array = p;
    *cap = (uint32_t)ncap;
    return true;
}

#define GROW(c, field, cap, need) \
    grow(c, (void **)&(c)->field, &(c)->cap, need, sizeof *(c)->field)

/* ---- emission ------------------------------------------------------- */

static void emit_word(Compiler *c, uint32_t w)
{
    if (c->dead || !GROW(c, code, code_cap, c->len + 1)) return;
    c->code[c->len++] = w;
}

/* Starts an instruction; returns its position. */
static uint32_t emit_op(Compiler *c, int op)
{
    uint32_t pos = c->len;
    if (c->dead) return pos;
    emit_word(c, (uint32_t)c->labels[op]);
    c->ninstr++;
    if (!c->loop_depth) c->entry_cost++;
    c->last_pos = pos;
    c->last_op = op;
    c->last_dst = NONE;
    return pos;
}

/* Emits `op dst operands...` and remembers dst for retargeting. */
static void emit_dst(Compiler *c, int op, uint32_t dst)
{
    uint32_t pos = emit_op(c, op);
    emit_word(c, dst);
    if (!c->dead) c->last_dst = pos + 1;
}

static void forget_last(Compiler *c)
{
    c->last_pos = NONE;
    c->last_dst = NONE;
}

static void emit_const(Compiler *c, uint32_t dst, uint64_t bits)
{
    if (bits >> 32) {
        emit_dst(c, OP_CONST64, dst);
        emit_word(c, (uint32_t)bits);
        emit_word(c, (uint32_t)(bits >> 32));
    } else {
        emit_dst(c, OP_CONST32, dst);
        emit_word(c, (uint32_t)bits);
    }
}

static void emit_mov(Compiler *c, uint32_t dst, uint32_t src)
{
    if (dst == src) return;
    emit_dst(c, OP_MOV, dst);
    emit_word(c, src);
}

/* ---- the operand stack -------------------------------------------- */

static uint32_t home(const Compiler *c, uint32_t index)
{
    return c->nlocals + POOL_SLOTS + index;
}

/* The pool slot holding bits, or NONE when the pool is full. */
static uint32_t pool_slot(Compiler *c, uint64_t bits)
{
    uint32_t k = 0;
    while (k < c->npool && c->pool[k] != bits) k++;
    if (k == POOL_SLOTS) return NONE;
    if (k == c->npool) c->pool[c->npool++] = bits;
    return c->nlocals + k;
}

static void note_slot(Compiler *c, uint32_t slot)
{
    if (slot + 1 > c->frame_top) c->frame_top = slot + 1;
}

static void push_entry(Compiler *c, Entry e)
{
    /* one spare entry: a failed pop may still read stack[height] */
    if (!GROW(c, stack, stack_cap, c->height + 2)) return;
    c->stack[c->height++] = e;
    note_slot(c, home(c, c->height - 1));
}

static void push(Compiler *c, uint8_t type)
{
    push_entry(c, (Entry){ .type = type, .kind = LAZY_TEMP });
}

/* Pushes a computed result; returns its slot. */
static uint32_t push_result(Compiler *c, uint8_t type)
{
    push(c, type);
    return home(c, c->height - 1);
}

static Ctrl *top_ctrl(Compiler *c)
{
    return &c->ctrls[c->nctrls - 1];
}

/* Pops a value of type expect (UNKNOWN: any). In unreachable code the stack
   is polymorphic: popping below the frame yields an UNKNOWN value. */
static Entry pop(Compiler *c, uint8_t expect)
{
    Ctrl *f = top_ctrl(c);
    if (c->height == f->height) {
        if (!f->unreachable) invalid(c, "type mismatch");
        return (Entry){ .type = UNKNOWN, .kind = LAZY_TEMP };
    }
    Entry e = c->stack[--c->height];
    if (expect != UNKNOWN && e.type != UNKNOWN && e.type != expect)
        invalid(c, "type mismatch");
    return e;
}

/* Moves a lazy entry's value into its home slot. */
static void materialize(Compiler *c, uint32_t index)
{
    Entry *e = &c->stack[index];
    if (e->kind == LAZY_LOCAL) emit_mov(c, home(c, index), e->local);
    else if (e->kind == LAZY_CONST) emit_const(c, home(c, index), e->bits);
    e->kind = LAZY_TEMP;
}

/* The slot holding the value of the entry at index (instructions read
   slots: a constant comes from the pool in loops, else is materialized). */
static uint32_t slot_of(Compiler *c, uint32_t index)
{
    Entry *e = &c->stack[index];
    if (e->kind == LAZY_CONST && c->loop_depth) {
        uint32_t slot = pool_slot(c, e->bits);
        if (slot != NONE) return slot;
    }
    if (e->kind == LAZY_CONST) materialize(c, index);
    return e->kind == LAZY_LOCAL ? e->local : home(c, index);
}

/* Before a local is written, entries still reading it get their own copy. */
static uint32_t lazy_end(const Compiler *c)
{
    return c->height < MAX_LAZY_DEPTH ? c->height : MAX_LAZY_DEPTH;
}

static void detach_local(Compiler *c, uint32_t local)
{
    for (uint32_t i = 0; i < lazy_end(c); i++)
        if (c->stack[i].kind == LAZY_LOCAL && c->stack[i].local == local)
            materialize(c, i);
}

/* At control-flow joins and block entries no entry may depend on a local
   (the block could write it); constants stay lazy. */
static void detach_all_locals(Compiler *c)
{
    for (uint32_t i = 0; i < lazy_end(c); i++)
        if (c->stack[i].kind == LAZY_LOCAL) materialize(c, i);
}

static void materialize_top(Compiler *c, uint32_t n)
{
    if (n > c->height - top_ctrl(c)->height) return; /* polymorphic: dead */
    for (uint32_t i = c->height - n; i < c->height; i++) materialize(c, i);
}

/* ---- parallel moves ---------------------------------------------------- */

typedef struct Move {
    uint32_t dst;
    Entry src;
    uint32_t src_slot; /* for locals and temps */
} Move;

/* If the last instruction computed the entry at index, makes it write slot
   instead (the caller guarantees nothing else reads the entry's home). */
static bool retarget(Compiler *c, uint32_t index, uint32_t slot)
{
    if (c->last_dst == NONE || c->code[c->last_dst] != home(c, index)) return false;
    c->code[c->last_dst] = slot;
    forget_last(c);
    return true;
}

static bool move_is_read(const Move *mv, uint32_t n, uint32_t skip, uint32_t slot)
{
    for (uint32_t j = 0; j < n; j++)
        if (j != skip && mv[j].src.kind != LAZY_CONST && mv[j].src_slot == slot)
            return true;
    return false;
}

static void emit_move(Compiler *c, const Move *mv)
{
    if (mv->src.kind == LAZY_CONST) emit_const(c, mv->dst, mv->src.bits);
    else emit_mov(c, mv->dst, mv->src_slot);
}

/* Copies the top n operands to the n consecutive slots from dst, in an
   order that reads every source before overwriting it; cycles go through
   scratch slots above the operand stack. */
static void move_top(Compiler *c, uint32_t n, uint32_t dst)
{
    if (c->dead || c->failed || n == 0) return;
    Move *mv = malloc(n * sizeof *mv);
    if (!mv) return out_of_memory(c);
    uint32_t pending = 0;
    uint32_t top = c->height - 1;
    if (n == 1 && c->stack[top].kind == LAZY_TEMP && retarget(c, top, dst)) {
        free(mv);
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t index = c->height - n + i;
        Entry e = c->stack[index];
        uint32_t src = e.kind == LAZY_LOCAL ? e.local : home(c, index);
        if (e.kind != LAZY_CONST && src == dst + i) continue;
        mv[pending++] = (Move){ dst + i, e, src };
    }
    uint32_t scratch = home(c, c->height);
    while (pending) {
        uint32_t i = 0;
        while (i < pending && move_is_read(mv, pending, i, mv[i].dst)) i++;
        if (i == pending) { /* a cycle: park the first target's value */
            i = 0;
            note_slot(c, scratch);
            emit_mov(c, scratch, mv[i].dst);
            for (uint32_t j = 0; j < pending; j++)
                if (mv[j].src.kind != LAZY_CONST && mv[j].src_slot == mv[i].dst)
                    mv[j].src_slot = scratch;
            scratch++;
        }
        emit_move(c, &mv[i]);
        mv[i] = mv[--pending];
    }
    free(mv);
}

/* ---- control frames ------------------------------------------------------ */

static void push_ctrl(Compiler *c, uint8_t kind, const uint8_t *params,
                      uint32_t nparams, const uint8_t *results, uint32_t nresults)
{
    if (!GROW(c, ctrls, ctrl_cap, c->nctrls + 1)) return;
    Ctrl *f = &c->ctrls[c->nctrls++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->dead_at_start = c->dead;
    f->height = c->height;
    f->params = params;
    f->nparams = nparams;
    f->results = results;
    f->nresults = nresults;
    f->else_word = NONE;
    f->patches = NONE;
    f->stub_table = NONE;
    for (uint32_t i = 0; i < nparams; i++) push(c, params[i]);
}

static void set_unreachable(Compiler *c)
{
    Ctrl *f = top_ctrl(c);
    c->height = f->height;
    f->unreachable = true;
    c->dead = true;
    forget_last(c);
}

static uint32_t label_arity(const Ctrl *f)
{
    return f->kind == CTRL_LOOP ? f->nparams : f->nresults;
}

static const uint8_t *label_types(const Ctrl *f)
{
    return f->kind == CTRL_LOOP ? f->params : f->results;
}

/* First slot of a label's values: the function's results are returned in
   the frame's first slots. */
static uint32_t label_slot(const Compiler *c, const Ctrl *f)
{
    return f->kind == CTRL_FUNC ? 0 : home(c, f->height);
}

static Ctrl *label(Compiler *c, uint32_t depth)
{
    if (depth >= c->nctrls) {
        unknown(c, "label", depth);
        return NULL;
    }
    return &c->ctrls[c->nctrls - 1 - depth];
}

/* Checks the top of the stack against a label's types: pops them and
   pushes them back, typed as the label says if retype (br_if: this matters
   when they came from a polymorphic stack), else as they were (br_table). */
static void check_label_values(Compiler *c, const Ctrl *target, bool retype)
{
    uint32_t n = label_arity(target);
    const uint8_t *types = label_types(target);
    Entry *saved = malloc((n ? n : 1) * sizeof *saved);
    if (!saved) return out_of_memory(c);
    for (uint32_t i = n; i-- > 0;) saved[i] = pop(c, types[i]);
    for (uint32_t i = 0; i < n; i++) {
        if (retype) saved[i].type = types[i];
        push_entry(c, saved[i]);
    }
    free(saved);
}

/* Points a branch word at a label: backward for loops, else later. */
static void link_branch(Compiler *c, uint32_t instr, uint32_t word, Ctrl *target)
{
    if (c->dead) return;
    if (target->kind == CTRL_LOOP) {
        c->code[word] = (uint32_t)(int32_t)(target->loop_pos - instr);
        return;
    }
    target->branched_to = true;
    if (!GROW(c, patches, patch_cap, c->npatches + 1)) return;
    c->patches[c->npatches] = (Patch){ instr, word, target->patches };
    target->patches = c->npatches++;
}

/* Resolves the pending branches to f: they jump to the current end. */
static void bind_label(Compiler *c, Ctrl *f)
{
    for (uint32_t i = f->patches; i != NONE; i = c->patches[i].next) {
        const Patch *p = &c->patches[i];
        c->code[p->word] = (uint32_t)(int32_t)(c->len - p->instr);
    }
    f->patches = NONE;
    forget_last(c);
}

/* The unconditional jump part of a branch, after its values are in place. */
static void emit_jump(Compiler *c, Ctrl *target)
{
    if (target->kind == CTRL_FUNC) {
        emit_op(c, OP_RETURN);
        return;
    }
    uint32_t pos = emit_op(c, target->kind == CTRL_LOOP ? OP_BR_LOOP : OP_BR);
    emit_word(c, 0);
    link_branch(c, pos, pos + 1, target);
}

static bool values_in_place(Compiler *c, const Ctrl *target)
{
    if (target->kind == CTRL_FUNC) return false; /* needs a RETURN */
    uint32_t n = label_arity(target), dst = label_slot(c, target);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t index = c->height - n + i;
        if (c->stack[index].kind != LAZY_TEMP || home(c, index) != dst + i)
            return false;
    }
    return true;
}

static void emit_branch(Compiler *c, Ctrl *target)
{
    move_top(c, label_arity(target), label_slot(c, target));
    emit_jump(c, target);
}

/* ---- conditions ------------------------------------------------------------ */

static bool is_compare(int op)
{
    return op >= OP_I32_EQ && op < OP_I32_EQ + 4 * CMP_COUNT;
}

/* Is the entry at index the result of the last instruction, op? */
static bool computed_by_last(const Compiler *c, uint32_t index, int op)
{
    return c->stack[index].kind == LAZY_TEMP && c->last_dst != NONE &&
           c->last_op == op && c->code[c->last_dst] == home(c, index);
}

/* Removes the last instruction, whose work the next one absorbs. */
static void take_back_last(Compiler *c)
{
    c->len = c->last_pos;
    c->ninstr--;
    if (!c->loop_depth) c->entry_cost--;
    forget_last(c);
}

/* Pops an i32 condition. If the instruction just emitted computed it with a
   compare, that instruction is taken back and becomes the branch's test. */
static Cond pop_cond(Compiler *c)
{
    Entry e = pop(c, SW_I32);
    uint32_t index = c->height;
    Cond cond = { OP_BR_NZ32, 0, 0, false };
    if (c->dead) return cond;
    if (e.kind == LAZY_TEMP && c->last_dst != NONE &&
        c->code[c->last_dst] == home(c, index)) {
        int op = c->last_op;
        const uint32_t *w = c->code + c->last_pos;
        if (op == OP_I32_EQZ || op == OP_I64_EQZ) {
            cond = (Cond){ op == OP_I32_EQZ ? OP_BR_EZ32 : OP_BR_EZ64, w[2], 0, false };
        } else if (is_compare(op)) {
            cond = (Cond){ OP_BR32_EQ_SS + (op - OP_I32_EQ), w[2], w[3], true };
        } else {
            return (Cond){ OP_BR_NZ32, slot_of(c, index), 0, false };
        }
        take_back_last(c);
        return cond;
    }
    cond.a = slot_of(c, index);
    return cond;
}

static Cond negate(Cond cond)
{
    switch (cond.op) {
    case OP_BR_NZ32: cond.op = OP_BR_EZ32; break;
    case OP_BR_EZ32: cond.op = OP_BR_NZ32; break;
    case OP_BR_NZ64: cond.op = OP_BR_EZ64; break;
    case OP_BR_EZ64: cond.op = OP_BR_NZ64; break;
    default: {
        int rel = cond.op - OP_BR32_EQ_SS;
        int cmp = (rel / 4) ^ 1;
        cond.op = OP_BR32_EQ_SS + cmp * 4 + rel % 4;
    }
    }
    return cond;
}

/* Emits a conditional branch with an unresolved target; returns the
   instruction position (the target word is the last one). */
static uint32_t emit_cond(Compiler *c, Cond cond, uint32_t *word)
{
    uint32_t pos = emit_op(c, cond.op);
    emit_word(c, cond.a);
    if (cond.has_b) emit_word(c, cond.b);
    *word = c->len;
    emit_word(c, 0);
    return pos;
}

/* ---- block types ------------------------------------------------------- */

static const uint8_t valtype_bytes[] = { SW_I32, SW_I64, SW_F32, SW_F64,
                                         SW_FUNCREF, SW_EXTERNREF };

static const uint8_t *valtype_ptr(uint8_t byte)
{
    for (size_t i = 0; i < sizeof valtype_bytes; i++)
        if (valtype_bytes[i] == byte) return &valtype_bytes[i];
    return NULL;
}

static bool is_ref(uint8_t t)
{
    return t == SW_FUNCREF || t == SW_EXTERNREF;
}

static void read_blocktype(Compiler *c, const uint8_t **params, uint32_t *np,
                           const uint8_t **results, uint32_t *nr)
{
    *params = *results = NULL;
    *np = *nr = 0;
    if (reader_eof(&c->r)) {
        read_u8(&c->r);
        return;
    }
    uint8_t byte = *c->r.p;
    if (byte == 0x40) {
        c->r.p++;
        return;
    }
    const uint8_t *single = valtype_ptr(byte);
    if (single) {
        c->r.p++;
        *results = single;
        *nr = 1;
        return;
    }
    int64_t index = read_sleb(&c->r, 33);
    if (c->r.failed) return;
    if (index < 0) {
        malformed(c, "malformed value type");
        return;
    }
    if ((uint64_t)index >= c->m->ntypes) {
        unknown(c, "type", (uint32_t)index);
        return;
    }
    const FuncType *t = c->m->types[index];
    *params = t->types;
    *np = t->nparams;
    *results = t->types + t->nparams;
    *nr = t->nresults;
}

/* ---- control instructions ------------------------------------------------- */

/* Pops and re-pushes a block's params, after putting them in their home
   slots (both arms of a join must agree on where values are). */
static void enter_block(Compiler *c, uint8_t kind, const uint8_t *params,
                        uint32_t np, const uint8_t *results, uint32_t nr)
{
    detach_all_locals(c);
    materialize_top(c, np);
    for (uint32_t i = np; i-- > 0;) pop(c, params[i]);
    push_ctrl(c, kind, params, np, results, nr);
    forget_last(c);
}

static void compile_block(Compiler *c)
{
    const uint8_t *p, *res;
    uint32_t np, nr;
    read_blocktype(c, &p, &np, &res, &nr);
    if (!c->failed) enter_block(c, CTRL_BLOCK, p, np, res, nr);
}

static void compile_loop(Compiler *c)
{
    const uint8_t *p, *res;
    uint32_t np, nr;
    read_blocktype(c, &p, &np, &res, &nr);
    if (c->failed) return;
    enter_block(c, CTRL_LOOP, p, np, res, nr);
    Ctrl *f = top_ctrl(c);
    c->loop_depth++;
    f->loop_pos = c->len;
    f->loop_ninstr = c->ninstr;
    emit_op(c, OP_LOOP_FUEL);
    emit_word(c, 1);
    forget_last(c);
}

static void compile_if(Compiler *c)
{
    const uint8_t *p, *res;
    uint32_t np, nr;
    read_blocktype(c, &p, &np, &res, &nr);
    if (c->failed) return;
    Cond cond = pop_cond(c);
    enter_block(c, CTRL_IF, p, np, res, nr);
    /* the else arm finds the params where the then arm found them: only
       one of the arms runs */
    Ctrl *f = top_ctrl(c);
    if (!c->dead) f->else_instr = emit_cond(c, negate(cond), &f->else_word);
    forget_last(c);
}

/* Checks that the stack holds exactly the frame's results, and puts them in
   their home slots. */
static void finish_arm(Compiler *c, Ctrl *f)
{
    if (!c->dead) materialize_top(c, f->nresults);
    for (uint32_t i = f->nresults; i-- > 0;) pop(c, f->results[i]);
    if (c->height != f->height) invalid(c, "type mismatch");
}

static void bind_else(Compiler *c, Ctrl *f)
{
    if (f->else_word == NONE) return;
    c->code[f->else_word] = (uint32_t)(int32_t)(c->len - f->else_instr);
    f->else_word = NONE;
}

static void compile_else(Compiler *c)
{
    Ctrl *f = top_ctrl(c);
    if (f->kind != CTRL_IF) {
        malformed(c, "else without if");
        return;
    }
    finish_arm(c, f);
    if (!c->dead) emit_jump(c, f);
    c->dead = f->dead_at_start;
    bind_else(c, f);
    f->kind = CTRL_ELSE;
    f->unreachable = false;
    c->height = f->height;
    for (uint32_t i = 0; i < f->nparams; i++) push(c, f->params[i]);
    forget_last(c);
}

static void compile_end(Compiler *c)
{
    Ctrl *f = top_ctrl(c);
    finish_arm(c, f);
    /* an if without else passes its params through the missing arm */
    if (f->kind == CTRL_IF &&
        (f->nparams != f->nresults ||
         (f->nparams && memcmp(f->params, f->results, f->nparams))))
        invalid(c, "type mismatch");
    if (c->failed) return;
    if (f->kind == CTRL_FUNC) {
        c->height += f->nresults; /* still there: finish_arm only checked */
        if (!c->dead) emit_branch(c, f);
        c->height -= f->nresults;
        c->nctrls--;
        return;
    }
    bool reached = !c->dead || f->branched_to ||
                   (f->kind == CTRL_IF && !f->dead_at_start);
    if (f->kind == CTRL_LOOP) {
        c->loop_depth--;
        if (!f->dead_at_start) {
            uint32_t cost = c->ninstr - f->loop_ninstr;
            c->code[f->loop_pos + 1] = cost ? cost : 1;
        }
    }
    c->dead = f->dead_at_start;
    if (!c->dead) {
        bind_else(c, f);
        bind_label(c, f);
    }
    c->nctrls--;
    c->dead = f->dead_at_start || !reached;
    for (uint32_t i = 0; i < f->nresults; i++) push(c, f->results[i]);
    forget_last(c);
}

static void compile_br(Compiler *c)
{
    Ctrl *target = label(c, read_u32(&c->r));
    if (!target) return;
    check_label_values(c, target, true);
    emit_branch(c, target);
    set_unreachable(c);
}

static void compile_br_if(Compiler *c)
{
    Ctrl *target = label(c, read_u32(&c->r));
    if (!target) return;
    Cond cond = pop_cond(c);
    check_label_values(c, target, true);
    if (c->dead || c->failed) return;
    uint32_t word;
    if (values_in_place(c, target)) {
        uint32_t pos = emit_cond(c, cond, &word);
        link_branch(c, pos, word, target);
    } else {
        uint32_t skip = emit_cond(c, negate(cond), &word);
        emit_branch(c, target);
        c->code[word] = (uint32_t)(int32_t)(c->len - skip);
    }
    forget_last(c);
}

static void compile_br_table(Compiler *c)
{
    uint32_t n = read_u32(&c->r);
    if (c->r.failed) return;
    if (n > (size_t)(c->r.end - c->r.p)) { /* each label takes at least a byte */
        malformed(c, "unexpected end");
        return;
    }
    uint32_t *depths = malloc(((size_t)n + 1) * sizeof *depths);
    if (!depths) {
        out_of_memory(c);
        return;
    }
    for (uint32_t i = 0; i <= n && !c->r.failed; i++) depths[i] = read_u32(&c->r);
    pop(c, SW_I32);
    uint32_t index_at = c->height;
    Ctrl *def = c->r.failed ? NULL : label(c, depths[n]);
    for (uint32_t i = 0; def && i <= n && !c->failed; i++) {
        Ctrl *t = label(c, depths[i]);
        if (!t) break;
        if (label_arity(t) != label_arity(def)) invalid(c, "type mismatch");
        check_label_values(c, t, false);
    }
    if (!c->failed && !c->dead) {
        uint32_t slot = slot_of(c, index_at);
        uint32_t pos = emit_op(c, OP_BR_TABLE);
        emit_word(c, slot);
        emit_word(c, n);
        uint32_t words = c->len;
        for (uint32_t i = 0; i <= n; i++) emit_word(c, 0);
        for (uint32_t i = 0; i <= n; i++) {
            Ctrl *t = label(c, depths[i]);
            if (values_in_place(c, t)) {
                link_branch(c, pos, words + i, t);
                continue;
            }
            /* a target that needs moves gets one stub after the table */
            if (t->stub_table != pos) {
                t->stub_table = pos;
                t->stub_pos = c->len;
                emit_branch(c, t);
            }
            c->code[words + i] = t->stub_pos - pos;
        }
    }
    free(depths);
    set_unreachable(c);
}

/* ---- calls -------------------------------------------------------------- */

static Code *code_of(sw_module *m, uint32_t defined_index)
{
    FuncDef *d = &m->funcs[defined_index];
    if (!d->code) d->code = calloc(1, sizeof(Code));
    return d->code;
}

/* Pops the arguments into consecutive home slots; returns the first. */
static uint32_t pop_args(Compiler *c, const FuncType *t)
{
    materialize_top(c, t->nparams);
    for (uint32_t i = t->nparams; i-- > 0;) pop(c, t->types[i]);
    return home(c, c->height);
}

static void push_results(Compiler *c, const FuncType *t)
{
    for (uint32_t i = 0; i < t->nresults; i++) push(c, t->types[t->nparams + i]);
    forget_last(c);
}

static void compile_call(Compiler *c)
{
    uint32_t index = read_u32(&c->r);
    if (c->r.failed) return;
    sw_module *m = c->m;
    if (index >= m->nfuncs) {
        unknown(c, "function", index);
        return;
    }
    const FuncType *t = m->types[m->func_types[index]];
    uint32_t base = pop_args(c, t);
    if (index >= m->nimported_funcs) {
        Code *code = code_of(m, index - m->nimported_funcs);
        if (!code) {
            out_of_memory(c);
            return;
        }
        uint64_t p = (uint64_t)(uintptr_t)code;
        emit_op(c, OP_CALL);
        emit_word(c, base);
        emit_word(c, (uint32_t)p);
        emit_word(c, (uint32_t)(p >> 32));
    } else {
        emit_op(c, OP_CALL_IMPORT);
        emit_word(c, base);
        emit_word(c, index);
    }
    push_results(c, t);
}

static void compile_call_indirect(Compiler *c)
{
    uint32_t type = read_u32(&c->r);
    uint32_t table = read_u32(&c->r);
    if (c->r.failed) return;
    if (type >= c->m->ntypes) return unknown(c, "type", type);
    if (table >= c->m->ntables) return unknown(c, "table", table);
    if (c->m->tables[table].elem != SW_FUNCREF) return invalid(c, "type mismatch");
    const FuncType *t = c->m->types[type];
    pop(c, SW_I32);
    uint32_t elem_at = c->height;
    uint32_t elem = c->dead ? 0 : slot_of(c, elem_at);
    uint32_t base = pop_args(c, t);
    emit_op(c, OP_CALL_INDIRECT);
    emit_word(c, base);
    emit_word(c, elem);
    emit_word(c, table);
    emit_word(c, type);
    push_results(c, t);
}

static void compile_return(Compiler *c)
{
    Ctrl *f = &c->ctrls[0];
    check_label_values(c, f, true);
    emit_branch(c, f);
    set_unreachable(c);
}

/* ---- variables ------------------------------------------------------------ */

static uint32_t read_local(Compiler *c)
{
    uint32_t x = read_u32(&c->r);
    if (!c->r.failed && x >= c->nlocals) {
        unknown(c, "local", x);
        return NONE;
    }
    return x;
}

/* Stores the popped entry at index into local x. Returns true if the value
   is now (only) in x: the producing instruction was retargeted. */
static bool store_local(Compiler *c, uint32_t x, uint32_t index)
{
    Entry e = c->stack[index];
    detach_local(c, x);
    if (e.kind == LAZY_TEMP && index < MAX_LAZY_DEPTH && retarget(c, index, x))
        return true;
    if (e.kind == LAZY_CONST) emit_const(c, x, e.bits);
    else emit_mov(c, x, e.kind == LAZY_LOCAL ? e.local : home(c, index));
    forget_last(c);
    return false;
}

static void compile_local(Compiler *c, uint8_t op)
{
    uint32_t x = read_local(c);
    if (x == NONE) return;
    uint8_t type = c->local_types[x];
    if (op == 0x20) {
        push_entry(c, (Entry){ .type = type, .kind = LAZY_LOCAL, .local = x });
        if (c->height > MAX_LAZY_DEPTH) materialize(c, c->height - 1);
        return;
    }
    pop(c, type);
    uint32_t index = c->height;
    bool retargeted = !c->dead && store_local(c, x, index);
    if (op == 0x22) {
        Entry e = c->stack[index];
        if (c->dead) e = (Entry){ .kind = LAZY_TEMP };
        else if (retargeted) e = (Entry){ .kind = LAZY_LOCAL, .local = x };
        e.type = type;
        push_entry(c, e);
    }
}

static void compile_global(Compiler *c, uint8_t op)
{
    uint32_t x = read_u32(&c->r);
    if (c->r.failed) return;
    if (x >= c->m->nglobals) return unknown(c, "global", x);
    const GlobalType *g = &c->m->globals[x].type;
    if (op == 0x23) {
        emit_dst(c, OP_GLOBAL_GET, push_result(c, g->type));
        emit_word(c, x);
        return;
    }
    if (!g->mutable_) return invalid(c, "global is immutable");
    pop(c, g->type);
    if (c->dead) return;
    uint32_t src = slot_of(c, c->height);
    emit_op(c, OP_GLOBAL_SET);
    emit_word(c, src);
    emit_word(c, x);
}

/* ---- parametric ---------------------------------------------------------- */

static void compile_select(Compiler *c, bool typed)
{
    uint8_t want = UNKNOWN;
    if (typed) {
        uint32_t n = read_u32(&c->r);
        if (c->r.failed) return;
        if (n != 1) return invalid(c, "invalid result arity");
        const uint8_t *t = valtype_ptr(read_u8(&c->r));
        if (c->r.failed) return;
        if (!t) return malformed(c, "malformed value type");
        want = *t;
    }
    pop(c, SW_I32);
    uint32_t cond_at = c->height;
    Entry b = pop(c, want);
    Entry a = pop(c, want);
    uint32_t a_at = c->height;
    uint8_t type = want;
    if (!typed) {
        if (is_ref(a.type) || is_ref(b.type)) return invalid(c, "type mismatch");
        if (a.type != UNKNOWN && b.type != UNKNOWN && a.type != b.type)
            return invalid(c, "type mismatch");
        type = a.type != UNKNOWN ? a.type : b.type;
    }
    if (c->dead) {
        push(c, type);
        return;
    }
    uint32_t sa = slot_of(c, a_at), sb = slot_of(c, a_at + 1);
    uint32_t sc = slot_of(c, cond_at);
    emit_dst(c, OP_SELECT, push_result(c, type));
    emit_word(c, sa);
    emit_word(c, sb);
    emit_word(c, sc);
}

/* ---- memory -------------------------------------------------------------- */

static bool need_memory(Compiler *c)
{
    if (c->m->nmemories == 0) {
        unknown(c, "memory", 0);
        return false;
    }
    return true;
}

static uint32_t read_memarg(Compiler *c, uint32_t size)
{
    uint32_t align = read_u32(&c->r);
    uint32_t offset = read_u32(&c->r);
    if (c->r.failed || !need_memory(c)) return 0;
    if (align >= 32 || (1u << align) > size)
        invalid(c, "alignment must not be larger than natural");
    return offset;
}

typedef struct MemOp {
    int op;
    uint8_t type;
    uint8_t size;
} MemOp;

/* Wasm opcodes 0x28..0x3E. */
static const MemOp mem_ops[] = {
    { OP_I32_LOAD, SW_I32, 4 },     { OP_I64_LOAD, SW_I64, 8 },
    { OP_I32_LOAD, SW_F32, 4 },     { OP_I64_LOAD, SW_F64, 8 },
    { OP_I32_LOAD8_S, SW_I32, 1 },  { OP_I32_LOAD8_U, SW_I32, 1 },
    { OP_I32_LOAD16_S, SW_I32, 2 }, { OP_I32_LOAD16_U, SW_I32, 2 },
    { OP_I64_LOAD8_S, SW_I64, 1 },  { OP_I64_LOAD8_U, SW_I64, 1 },
    { OP_I64_LOAD16_S, SW_I64, 2 }, { OP_I64_LOAD16_U, SW_I64, 2 },
    { OP_I64_LOAD32_S, SW_I64, 4 }, { OP_I64_LOAD32_U, SW_I64, 4 },
    { OP_STORE32, SW_I32, 4 },      { OP_STORE64, SW_I64, 8 },
    { OP_STORE32, SW_F32, 4 },      { OP_STORE64, SW_F64, 8 },
    { OP_STORE8, SW_I32, 1 },       { OP_STORE16, SW_I32, 2 },
    { OP_STORE8, SW_I64, 1 },       { OP_STORE16, SW_I64, 2 },
    { OP_STORE32, SW_I64, 4 },
};

/* The address operand of a load or store: a slot and a constant added to
   it with 32-bit wrap-around. An i32.add of a constant just before the
   access (compilers emit one for most accesses) is folded into it. */
static uint32_t address(Compiler *c, uint32_t index, uint32_t *addend)
{
    *addend = 0;
    if (!computed_by_last(c, index, OP_I32_ADD_I)) return slot_of(c, index);
    const uint32_t *w = c->code + c->last_pos;
    uint32_t slot = w[2];
    *addend = w[3];
    take_back_last(c);
    return slot;
}

static void compile_memop(Compiler *c, uint8_t opcode)
{
    const MemOp *mo = &mem_ops[opcode - 0x28];
    uint32_t offset = read_memarg(c, mo->size);
    uint32_t addend = 0;
    if (c->failed) return;
    if (opcode <= 0x35) {
        pop(c, SW_I32);
        uint32_t addr = c->dead ? 0 : address(c, c->height, &addend);
        emit_dst(c, mo->op, push_result(c, mo->type));
        emit_word(c, addr);
        emit_word(c, offset);
        emit_word(c, addend);
        return;
    }
    pop(c, mo->type);
    pop(c, SW_I32);
    if (c->dead) return;
    uint32_t addr = address(c, c->height, &addend);
    uint32_t value = slot_of(c, c->height + 1);
    emit_op(c, mo->op);
    emit_word(c, addr);
    emit_word(c, value);
    emit_word(c, offset);
    emit_word(c, addend);
}

static void zero_byte(Compiler *c)
{
    if (read_u8(&c->r) != 0 && !c->r.failed) malformed(c, "zero byte expected");
}

static void compile_memory_size_grow(Compiler *c, uint8_t opcode)
{
    zero_byte(c);
    if (c->failed || !need_memory(c)) return;
    if (opcode == 0x3f) {
        emit_dst(c, OP_MEMORY_SIZE, push_result(c, SW_I32));
        return;
    }
    pop(c, SW_I32);
    uint32_t delta = c->dead ? 0 : slot_of(c, c->height);
    emit_dst(c, OP_MEMORY_GROW, push_result(c, SW_I32));
    emit_word(c, delta);
}

/* Pops three operands of the given types; emits op with their slots. */
static uint32_t emit_three(Compiler *c, int op, uint8_t t1, uint8_t t2, uint8_t t3)
{
    pop(c, t3);
    pop(c, t2);
    pop(c, t1);
    if (c->dead) return c->len;
    uint32_t at = c->height;
    uint32_t a = slot_of(c, at), b = slot_of(c, at + 1), s3 = slot_of(c, at + 2);
    uint32_t pos = emit_op(c, op);
    emit_word(c, a);
    emit_word(c, b);
    emit_word(c, s3);
    return pos;
}

static bool check_data(Compiler *c, uint32_t x)
{
    if (!c->m->has_datacount) {
        invalid(c, "data count section required");
        return false;
    }
    if (x >= c->m->datacount) {
        unknown(c, "data segment", x);
        return false;
    }
    return true;
}

static bool check_table(Compiler *c, uint32_t x)
{
    if (x >= c->m->ntables) {
        unknown(c, "table", x);
        return false;
    }
    return true;
}

static bool check_elem(Compiler *c, uint32_t x)
{
    if (x >= c->m->nelems) {
        unknown(c, "elem segment", x);
        return false;
    }
    return true;
}

/* ---- tables and references ------------------------------------------------- */

static void compile_table_get_set(Compiler *c, uint8_t opcode)
{
    uint32_t x = read_u32(&c->r);
    if (c->r.failed || !check_table(c, x)) return;
    uint8_t elem = c->m->tables[x].elem;
    if (opcode == 0x25) {
        pop(c, SW_I32);
        uint32_t i = c->dead ? 0 : slot_of(c, c->height);
        emit_dst(c, OP_TABLE_GET, push_result(c, elem));
        emit_word(c, i);
        emit_word(c, x);
        return;
    }
    pop(c, elem);
    pop(c, SW_I32);
    if (c->dead) return;
    uint32_t i = slot_of(c, c->height), v = slot_of(c, c->height + 1);
    emit_op(c, OP_TABLE_SET);
    emit_word(c, i);
    emit_word(c, v);
    emit_word(c, x);
}

static void compile_ref(Compiler *c, uint8_t opcode)
{
    if (opcode == 0xd0) {
        uint8_t t = read_u8(&c->r);
        if (c->r.failed) return;
        if (!is_ref(t)) return malformed(c, "malformed reference type");
        push_entry(c, (Entry){ .type = t, .kind = LAZY_CONST, .bits = 0 });
        return;
    }
    if (opcode == 0xd1) {
        Entry e = pop(c, UNKNOWN);
        if (e.type != UNKNOWN && !is_ref(e.type)) return invalid(c, "type mismatch");
        uint32_t a = c->dead ? 0 : slot_of(c, c->height);
        emit_dst(c, OP_REF_IS_NULL, push_result(c, SW_I32));
        emit_word(c, a);
        return;
    }
    uint32_t x = read_u32(&c->r);
    if (c->r.failed) return;
    if (x >= c->m->nfuncs) return unknown(c, "function", x);
    if (!(c->m->declared_funcs[x / 8] & (1u << (x % 8))))
        return invalid(c, "undeclared function reference");
    emit_dst(c, OP_REF_FUNC, push_result(c, SW_FUNCREF));
    emit_word(c, x);
}

/* ---- numeric ---------------------------------------------------------------- */

typedef struct NumOp {
    int16_t op;      /* -1: reinterpretation, no code */
    uint8_t in, out;
    uint8_t arity;
    int8_t imm_base; /* >= 0: op has _I forms; op of (type, form) below */
    bool swappable;  /* commutative, or a compare that can be mirrored */
} NumOp;

#define U(o, i, r) { OP_##o, SW_##i, SW_##r, 1, -1, false }
#define B(o, i, r) { OP_##o, SW_##i, SW_##r, 2, -1, false }
#define CMP(t, c) { OP_I32_EQ + 4 * CMP_##c + 2 * ((t) == SW_I64), t, SW_I32, 2, 1, true }
#define IMM(t, o, sw) { OP_I32_ADD + 4 * BINOP_##o + 2 * ((t) == SW_I64), t, t, 2, 1, sw }
#define REINTERPRET(i, r) { -1, SW_##i, SW_##r, 1, -1, false }

/* Wasm opcodes 0x45..0xC4. */
static const NumOp num_ops[] = {
    U(I32_EQZ, I32, I32), CMP(SW_I32, EQ), CMP(SW_I32, NE), CMP(SW_I32, LT_S),
    CMP(SW_I32, LT_U), CMP(SW_I32, GT_S), CMP(SW_I32, GT_U), CMP(SW_I32, LE_S),
    CMP(SW_I32, LE_U), CMP(SW_I32, GE_S), CMP(SW_I32, GE_U),
    U(I64_EQZ, I64, I32), CMP(SW_I64, EQ), CMP(SW_I64, NE), CMP(SW_I64, LT_S),
    CMP(SW_I64, LT_U), CMP(SW_I64, GT_S), CMP(SW_I64, GT_U), CMP(SW_I64, LE_S),
    CMP(SW_I64, LE_U), CMP(SW_I64, GE_S), CMP(SW_I64, GE_U),
    B(F32_EQ, F32, I32), B(F32_NE, F32, I32), B(F32_LT, F32, I32),
    B(F32_GT, F32, I32), B(F32_LE, F32, I32), B(F32_GE, F32, I32),
    B(F64_EQ, F64, I32), B(F64_NE, F64, I32), B(F64_LT, F64, I32),
    B(F64_GT, F64, I32), B(F64_LE, F64, I32), B(F64_GE, F64, I32),
    U(I32_CLZ, I32, I32), U(I32_CTZ, I32, I32), U(I32_POPCNT, I32, I32),
    IMM(SW_I32, ADD, true), IMM(SW_I32, SUB, false), IMM(SW_I32, MUL, true),
    B(I32_DIV_S, I32, I32), B(I32_DIV_U, I32, I32), B(I32_REM_S, I32, I32),
    B(I32_REM_U, I32, I32), IMM(SW_I32, AND, true), IMM(SW_I32, OR, true),
    IMM(SW_I32, XOR, true), IMM(SW_I32, SHL, false), IMM(SW_I32, SHR_S, false),
    IMM(SW_I32, SHR_U, false), B(I32_ROTL, I32, I32), B(I32_ROTR, I32, I32),
    U(I64_CLZ, I64, I64), U(I64_CTZ, I64, I64), U(I64_POPCNT, I64, I64),
    IMM(SW_I64, ADD, true), IMM(SW_I64, SUB, false), IMM(SW_I64, MUL, true),
    B(I64_DIV_S, I64, I64), B(I64_DIV_U, I64, I64), B(I64_REM_S, I64, I64),
    B(I64_REM_U, I64, I64), IMM(SW_I64, AND, true), IMM(SW_I64, OR, true),
    IMM(SW_I64, XOR, true), IMM(SW_I64, SHL, false), IMM(SW_I64, SHR_S, false),
    IMM(SW_I64, SHR_U, false), B(I64_ROTL, I64, I64), B(I64_ROTR, I64, I64),
    U(F32_ABS, F32, F32), U(F32_NEG, F32, F32), U(F32_CEIL, F32, F32),
    U(F32_FLOOR, F32, F32), U(F32_TRUNC, F32, F32), U(F32_NEAREST, F32, F32),
    U(F32_SQRT, F32, F32), B(F32_ADD, F32, F32), B(F32_SUB, F32, F32),
    B(F32_MUL, F32, F32), B(F32_DIV, F32, F32), B(F32_MIN, F32, F32),
    B(F32_MAX, F32, F32), B(F32_COPYSIGN, F32, F32),
    U(F64_ABS, F64, F64), U(F64_NEG, F64, F64), U(F64_CEIL, F64, F64),
    U(F64_FLOOR, F64, F64), U(F64_TRUNC, F64, F64), U(F64_NEAREST, F64, F64),
    U(F64_SQRT, F64, F64), B(F64_ADD, F64, F64), B(F64_SUB, F64, F64),
    B(F64_MUL, F64, F64), B(F64_DIV, F64, F64), B(F64_MIN, F64, F64),
    B(F64_MAX, F64, F64), B(F64_COPYSIGN, F64, F64),
    U(I32_WRAP_I64, I64, I32), U(I32_TRUNC_F32_S, F32, I32),
    U(I32_TRUNC_F32_U, F32, I32), U(I32_TRUNC_F64_S, F64, I32),
    U(I32_TRUNC_F64_U, F64, I32), U(I64_EXTEND_I32_S, I32, I64),
    U(I64_EXTEND_I32_U, I32, I64), U(I64_TRUNC_F32_S, F32, I64),
    U(I64_TRUNC_F32_U, F32, I64), U(I64_TRUNC_F64_S, F64, I64),
    U(I64_TRUNC_F64_U, F64, I64), U(F32_CONVERT_I32_S, I32, F32),
    U(F32_CONVERT_I32_U, I32, F32), U(F32_CONVERT_I64_S, I64, F32),
    U(F32_CONVERT_I64_U, I64, F32), U(F32_DEMOTE_F64, F64, F32),
    U(F64_CONVERT_I32_S, I32, F64), U(F64_CONVERT_I32_U, I32, F64),
    U(F64_CONVERT_I64_S, I64, F64), U(F64_CONVERT_I64_U, I64, F64),
    U(F64_PROMOTE_F32, F32, F64), REINTERPRET(F32, I32), REINTERPRET(F64, I64),
    REINTERPRET(I32, F32), REINTERPRET(I64, F64),
    U(I32_EXTEND8_S, I32, I32), U(I32_EXTEND16_S, I32, I32),
    U(I64_EXTEND8_S, I64, I64), U(I64_EXTEND16_S, I64, I64),
    U(I64_EXTEND32_S, I64, I64),
};

/* 0xFC 0..7. */
static const NumOp sat_ops[] = {
    U(I32_TRUNC_SAT_F32_S, F32, I32), U(I32_TRUNC_SAT_F32_U, F32, I32),
    U(I32_TRUNC_SAT_F64_S, F64, I32), U(I32_TRUNC_SAT_F64_U, F64, I32),
    U(I64_TRUNC_SAT_F32_S, F32, I64), U(I64_TRUNC_SAT_F32_U, F32, I64),
    U(I64_TRUNC_SAT_F64_S, F64, I64), U(I64_TRUNC_SAT_F64_U, F64, I64),
};

/* a < b is b > a: the mirrored compare for a swapped operand order. */
static int mirror(int op)
{
    int rel = op - OP_I32_EQ, cmp = rel / 4;
    static const int8_t mirrored[CMP_COUNT] = {
        [CMP_EQ] = CMP_EQ,     [CMP_NE] = CMP_NE,     [CMP_LT_S] = CMP_GT_S,
        [CMP_GE_S] = CMP_LE_S, [CMP_LT_U] = CMP_GT_U, [CMP_GE_U] = CMP_LE_U,
        [CMP_GT_S] = CMP_LT_S, [CMP_LE_S] = CMP_GE_S, [CMP_GT_U] = CMP_LT_U,
        [CMP_LE_U] = CMP_GE_U,
    };
    return OP_I32_EQ + 4 * mirrored[cmp] + rel % 4;
}

static bool fits_imm(const Entry *e)
{
    return e->kind == LAZY_CONST &&
           (e->type == SW_I32 || e->bits == (uint64_t)(int64_t)(int32_t)e->bits);
}

static void compile_unary(Compiler *c, const NumOp *n)
{
    pop(c, n->in);
    uint32_t at = c->height;
    if (n->op < 0) { /* same bits, new type: the entry stays lazy */
        Entry e = c->stack[at];
        if (c->dead) e.kind = LAZY_TEMP;
        e.type = n->out;
        push_entry(c, e);
        return;
    }
    uint32_t a = c->dead ? 0 : slot_of(c, at);
    emit_dst(c, n->op, push_result(c, n->out));
    emit_word(c, a);
}

static void compile_binary(Compiler *c, const NumOp *n)
{
    pop(c, n->in);
    pop(c, n->in);
    uint32_t at = c->height;
    if (c->dead) {
        push(c, n->out);
        return;
    }
    uint32_t left = at, right = at + 1;
    int op = n->op;
    if (n->imm_base >= 0 && n->swappable && !fits_imm(&c->stack[right]) &&
        fits_imm(&c->stack[left])) {
        left = at + 1;
        right = at;
        if (is_compare(op)) op = mirror(op);
    }
    uint32_t sa = slot_of(c, left);
    uint32_t b;
    if (n->imm_base >= 0 && fits_imm(&c->stack[right])) {
        b = (uint32_t)c->stack[right].bits;
        op++; /* the _I form */
    } else {
        b = slot_of(c, right);
    }
    emit_dst(c, op, push_result(c, n->out));
    emit_word(c, sa);
    emit_word(c, b);
}

static void compile_numeric(Compiler *c, const NumOp *n)
{
    if (n->arity == 1) compile_unary(c, n);
    else compile_binary(c, n);
}

/* ---- the 0xFC prefix ----------------------------------------------------- */

static void compile_table_ops(Compiler *c, uint32_t sub)
{
    uint32_t x = read_u32(&c->r);
    if (c->r.failed) return;
    switch (sub) {
    case 12: { /* table.init elem table */
        uint32_t t = read_u32(&c->r);
        if (c->r.failed || !check_elem(c, x) || !check_table(c, t)) return;
        if (c->m->elems[x].type != c->m->tables[t].elem)
            return invalid(c, "type mismatch");
        emit_three(c, OP_TABLE_INIT, SW_I32, SW_I32, SW_I32);
        emit_word(c, t);
        emit_word(c, x);
        return;
    }
    case 13:
        if (!check_elem(c, x)) return;
        emit_op(c, OP_ELEM_DROP);
        emit_word(c, x);
        return;
    case 14: { /* table.copy dst src */
        uint32_t src = read_u32(&c->r);
        if (c->r.failed || !check_table(c, x) || !check_table(c, src)) return;
        if (c->m->tables[x].elem != c->m->tables[src].elem)
            return invalid(c, "type mismatch");
        emit_three(c, OP_TABLE_COPY, SW_I32, SW_I32, SW_I32);
        emit_word(c, x);
        emit_word(c, src);
        return;
    }
    }
    if (!check_table(c, x)) return;
    uint8_t elem = c->m->tables[x].elem;
    if (sub == 15) { /* table.grow: init n -> old size */
        pop(c, SW_I32);
        pop(c, elem);
        uint32_t at = c->height;
        uint32_t init = c->dead ? 0 : slot_of(c, at);
        uint32_t n = c->dead ? 0 : slot_of(c, at + 1);
        emit_dst(c, OP_TABLE_GROW, push_result(c, SW_I32));
        emit_word(c, init);
        emit_word(c, n);
        emit_word(c, x);
    } else if (sub == 16) {
        emit_dst(c, OP_TABLE_SIZE, push_result(c, SW_I32));
        emit_word(c, x);
    } else {
        emit_three(c, OP_TABLE_FILL, SW_I32, elem, SW_I32);
        emit_word(c, x);
    }
}

static void compile_prefixed(Compiler *c)
{
    uint32_t sub = read_u32(&c->r);
    if (c->r.failed) return;
    if (sub < 8) return compile_numeric(c, &sat_ops[sub]);
    switch (sub) {
    case 8: { /* memory.init data 0x00 */
        uint32_t x = read_u32(&c->r);
        zero_byte(c);
        if (c->failed || !need_memory(c) || !check_data(c, x)) return;
        emit_three(c, OP_MEMORY_INIT, SW_I32, SW_I32, SW_I32);
        emit_word(c, x);
        return;
    }
    case 9: {
        uint32_t x = read_u32(&c->r);
        if (c->r.failed || !check_data(c, x)) return;
        emit_op(c, OP_DATA_DROP);
        emit_word(c, x);
        return;
    }
    case 10:
        zero_byte(c);
        zero_byte(c);
        if (c->failed || !need_memory(c)) return;
        emit_three(c, OP_MEMORY_COPY, SW_I32, SW_I32, SW_I32);
        return;
    case 11:
        zero_byte(c);
        if (c->failed || !need_memory(c)) return;
        emit_three(c, OP_MEMORY_FILL, SW_I32, SW_I32, SW_I32);
        return;
    case 12: case 13: case 14: case 15: case 16: case 17:
        return compile_table_ops(c, sub);
    }
    malformed(c, "illegal opcode");
}

/* ---- the instruction loop ------------------------------------------------- */

static void compile_const(Compiler *c, uint8_t opcode)
{
    Entry e = { .kind = LAZY_CONST };
    switch (opcode) {
    case 0x41: e.type = SW_I32; e.bits = (uint32_t)read_s32(&c->r); break;
    case 0x42: e.type = SW_I64; e.bits = (uint64_t)read_s64(&c->r); break;
    case 0x43: e.type = SW_F32; e.bits = read_fixed32(&c->r); break;
    default: e.type = SW_F64; e.bits = read_fixed64(&c->r); break;
    }
    push_entry(c, e);
}

static void compile_instruction(Compiler *c, uint8_t opcode)
{
    switch (opcode) {
    case 0x00:
        emit_op(c, OP_UNREACHABLE);
        set_unreachable(c);
        return;
    case 0x01: return;
    case 0x02: return compile_block(c);
    case 0x03: return compile_loop(c);
    case 0x04: return compile_if(c);
    case 0x05: return compile_else(c);
    case 0x0b: return compile_end(c);
    case 0x0c: return compile_br(c);
    case 0x0d: return compile_br_if(c);
    case 0x0e: return compile_br_table(c);
    case 0x0f: return compile_return(c);
    case 0x10: return compile_call(c);
    case 0x11: return compile_call_indirect(c);
    case 0x1a: pop(c, UNKNOWN); return;
    case 0x1b: return compile_select(c, false);
    case 0x1c: return compile_select(c, true);
    case 0x20: case 0x21: case 0x22: return compile_local(c, opcode);
    case 0x23: case 0x24: return compile_global(c, opcode);
    case 0x25: case 0x26: return compile_table_get_set(c, opcode);
    case 0x3f: case 0x40: return compile_memory_size_grow(c, opcode);
    case 0x41: case 0x42: case 0x43: case 0x44: return compile_const(c, opcode);
    case 0xd0: case 0xd1: case 0xd2: return compile_ref(c, opcode);
    case 0xfc: return compile_prefixed(c);
    }
    if (opcode >= 0x28 && opcode <= 0x3e) return compile_memop(c, opcode);
    if (opcode >= 0x45 && opcode <= 0xc4) return compile_numeric(c, &num_ops[opcode - 0x45]);
    malformed(c, "illegal opcode");
}

static void read_locals(Compiler *c)
{
    const FuncType *t = c->type;
    uint32_t groups = read_u32(&c->r);
    uint64_t total = t->nparams;
    const uint8_t *start = c->r.p;
    for (uint32_t i = 0; i < groups && !c->r.failed; i++) {
        total += read_u32(&c->r);
        read_u8(&c->r);
        if (total > MAX_LOCALS) return malformed(c, "too many locals");
    }
    if (c->r.failed) return;
    c->local_types = malloc(total ? total : 1);
    if (!c->local_types) {
        out_of_memory(c);
        return;
    }
    memcpy(c->local_types, t->types, t->nparams);
    c->nlocals = t->nparams;
    c->r.p = start;
    for (uint32_t i = 0; i < groups; i++) {
        uint32_t n = read_u32(&c->r);
        const uint8_t *type = valtype_ptr(read_u8(&c->r));
        if (!type) return malformed(c, "malformed value type");
        memset(c->local_types + c->nlocals, *type, n);
        c->nlocals += n;
    }
}

static void compile_body(Compiler *c)
{
    read_locals(c);
    const FuncType *t = c->type;
    c->frame_top = home(c, 0);
    push_ctrl(c, CTRL_FUNC, NULL, 0, t->types + t->nparams, t->nresults);
    while (!c->failed && c->nctrls > 0) {
        if (c->r.failed) break;
        if (reader_eof(&c->r)) {
            malformed(c, "END opcode expected");
            return;
        }
        c->op_offset = reader_offset(&c->r);
        compile_instruction(c, read_u8(&c->r));
    }
    if (c->r.failed && !c->failed) {
        c->op_offset = c->r.error_offset;
        malformed(c, c->r.error);
    }
    if (!c->failed && !reader_eof(&c->r)) {
        c->op_offset = reader_offset(&c->r);
        malformed(c, "END opcode expected");
    }
}

/* Puts the loads of the pooled constants in front of the code (whose
   branches are all relative, so nothing else moves). */
static void prepend_pool(Compiler *c)
{
    uint32_t words[POOL_SLOTS * 4], n = 0;
    for (uint32_t k = 0; k < c->npool; k++) {
        uint64_t bits = c->pool[k];
        words[n++] = (uint32_t)c->labels[bits >> 32 ? OP_CONST64 : OP_CONST32];
        words[n++] = c->nlocals + k;
        words[n++] = (uint32_t)bits;
        if (bits >> 32) words[n++] = (uint32_t)(bits >> 32);
    }
    if (!n || !GROW(c, code, code_cap, c->len + n)) return;
    memmove(c->code + n, c->code, c->len * sizeof *c->code);
    memcpy(c->code, words, n * sizeof *words);
    c->len += n;
    c->entry_cost += c->npool;
}

int compile_function(sw_module *m, uint32_t defined_index, sw_error *err)
{
    FuncDef *def = &m->funcs[defined_index];
    Compiler c = { .m = m, .err = err, .labels = interp_labels() };
    c.r = reader_at(m->bytes, def->body, def->body + def->body_len);
    c.op_offset = def->body_offset;
    c.type = m->types[def->type];
    forget_last(&c);
    GROW(&c, stack, stack_cap, 1);
    compile_body(&c);
    if (!c.failed) prepend_pool(&c);
    Code *code = c.failed ? NULL : code_of(m, defined_index);
    if (!c.failed && !code) out_of_memory(&c);
    if (!c.failed) {
        code->words = c.code;
        code->nwords = c.len;
        code->nparams = c.type->nparams;
        code->nlocals = c.nlocals;
        code->nslots = c.frame_top;
        if (code->nslots < code->nparams + CODE_INLINE_ZEROED)
            code->nslots = code->nparams + CODE_INLINE_ZEROED;
        code->nresults = c.type->nresults;
        code->entry_cost = c.entry_cost ? c.entry_cost : 1;
        c.code = NULL;
    }
    free(c.code);
    free(c.local_types);
    free(c.stack);
    free(c.ctrls);
    free(c.patches);
    return c.failed ? -1 : 0;
}

void code_free(Code *code)
{
    if (!code) return;
    free(code->words);
    free(code);
}
