/*
** code.h: the interpreter's internal code, shared by compile.c (which
** produces it) and interp.c (which runs it).
**
** A function's Code is an array of 32-bit words. Every instruction is an
** opcode word followed by its operand words:
**   slot    index of a 64-bit slot relative to the frame pointer
**   imm     a 32-bit immediate (i64 immediates are sign-extended from it)
**   target  a branch target: int32 offset in words from the instruction's
**           own opcode word
** The opcode word is not an enum value but the byte offset of the handler's
** label from a base label inside the interpreter, so dispatch is a single
** indirect jump (direct threading). interp_labels() gives those offsets.
**
** The operand layout of each instruction is the comment after its name in
** SW_OPS; D is the destination slot, A B C are source slots, I an immediate,
** T a branch target.
*/
#ifndef SW_CODE_H
#define SW_CODE_H

#include "internal.h"

/* Every frame has at least this many slots after the params, so that a
   call may clear that many locals unconditionally. */
#define CODE_INLINE_ZEROED 4

struct Code {
    uint32_t *words;
    uint32_t nwords;
    uint32_t nparams;
    uint32_t nlocals;      /* params + declared locals */
    uint32_t nslots;       /* whole frame: locals, operand stack, scratch */
    uint32_t nresults;
    uint32_t entry_cost;   /* fuel charged on entry */
};

/* Compare kinds of the fused compare-and-branch and compare instructions;
   the order lets the compiler negate (x ^ 1) a condition. */
#define SW_CMPS(X) \
    X(EQ) X(NE) X(LT_S) X(GE_S) X(LT_U) X(GE_U) X(GT_S) X(LE_S) X(GT_U) X(LE_U)

/* Integer binary operators with an immediate-operand variant. */
#define SW_IMM_BINOPS(X) \
    X(ADD) X(SUB) X(MUL) X(AND) X(OR) X(XOR) X(SHL) X(SHR_S) X(SHR_U)

#define SW_OPS(X)                                                          \
    /* control */                                                          \
    X(UNREACHABLE)      /* */                                              \
    X(BR)               /* T */                                            \
    X(BR_LOOP)          /* T: to a LOOP_FUEL, run on the way */            \
    X(BR_TABLE)         /* A n T*(n+1) */                                  \
    X(LOOP_FUEL)        /* I: cost of one iteration */                     \
    X(RETURN)           /* */                                              \
    X(CALL)             /* base code_lo code_hi: defined function */       \
    X(CALL_IMPORT)      /* base funcidx */                                 \
    X(CALL_INDIRECT)    /* base A table typeidx */                         \
    X(BR_NZ32) X(BR_EZ32) X(BR_NZ64) X(BR_EZ64) /* A T */                  \
    SW_CMPS(SW_BR_CMP_OPS)  /* BR32_x_SS A B T, BR32_x_SI A I T, 64 too */  \
    /* moves */                                                            \
    X(MOV)              /* D A */                                          \
    X(CONST32)          /* D I */                                          \
    X(CONST64)          /* D lo hi */                                      \
    X(SELECT)           /* D A B C(cond) */                                \
    X(GLOBAL_GET)       /* D idx */                                        \
    X(GLOBAL_SET)       /* A idx */                                        \
    /* memory: the address is (u32)(A + K) + I, K an addend word */         \
    X(I32_LOAD) X(I64_LOAD) X(I32_LOAD8_S) X(I32_LOAD8_U)                  \
    X(I32_LOAD16_S) X(I32_LOAD16_U) X(I64_LOAD8_S) X(I64_LOAD8_U)          \
    X(I64_LOAD16_S) X(I64_LOAD16_U) X(I64_LOAD32_S) X(I64_LOAD32_U)        \
    /* D A I K */                                                          \
    X(STORE8) X(STORE16) X(STORE32) X(STORE64) /* A(addr) B(value) I K */  \
    X(MEMORY_SIZE)      /* D */                                            \
    X(MEMORY_GROW)      /* D A */                                          \
    X(MEMORY_FILL)      /* A(dst) B(value) C(n) */                         \
    X(MEMORY_COPY)      /* A(dst) B(src) C(n) */                           \
    X(MEMORY_INIT)      /* A(dst) B(src) C(n) seg */                       \
    X(DATA_DROP)        /* seg */                                          \
    /* tables and references */                                            \
    X(TABLE_GET)        /* D A table */                                    \
    X(TABLE_SET)        /* A(index) B(ref) table */                        \
    X(TABLE_SIZE)       /* D table */                                      \
    X(TABLE_GROW)       /* D A(init) B(n) table */                         \
    X(TABLE_FILL)       /* A(index) B(ref) C(n) table */                   \
    X(TABLE_COPY)       /* A(dst) B(src) C(n) dst_table src_table */       \
    X(TABLE_INIT)       /* A(dst) B(src) C(n) table seg */                 \
    X(ELEM_DROP)        /* seg */                                          \
    X(REF_FUNC)         /* D funcidx */                                    \
    X(REF_IS_NULL)      /* D A */                                          \
    /* integer compares (D A B) and their immediate forms (D A I) */       \
    X(I32_EQZ) X(I64_EQZ) /* D A */                                        \
    SW_CMPS(SW_CMP_OPS)                                                    \
    SW_IMM_BINOPS(SW_IMM_OPS)                                              \
    /* i32 (D A B, or D A for unary) */                                    \
    X(I32_CLZ) X(I32_CTZ) X(I32_POPCNT) X(I32_DIV_S) X(I32_DIV_U)          \
    X(I32_REM_S) X(I32_REM_U) X(I32_ROTL) X(I32_ROTR)                      \
    X(I64_CLZ) X(I64_CTZ) X(I64_POPCNT) X(I64_DIV_S) X(I64_DIV_U)          \
    X(I64_REM_S) X(I64_REM_U) X(I64_ROTL) X(I64_ROTR)                      \
    /* floats */                                                           \
    X(F32_EQ) X(F32_NE) X(F32_LT) X(F32_GT) X(F32_LE) X(F32_GE)            \
    X(F64_EQ) X(F64_NE) X(F64_LT) X(F64_GT) X(F64_LE) X(F64_GE)            \
    X(F32_ABS) X(F32_NEG) X(F32_CEIL) X(F32_FLOOR) X(F32_TRUNC)            \
    X(F32_NEAREST) X(F32_SQRT) X(F32_ADD) X(F32_SUB) X(F32_MUL)            \
    X(F32_DIV) X(F32_MIN) X(F32_MAX) X(F32_COPYSIGN)                       \
    X(F64_ABS) X(F64_NEG) X(F64_CEIL) X(F64_FLOOR) X(F64_TRUNC)            \
    X(F64_NEAREST) X(F64_SQRT) X(F64_ADD) X(F64_SUB) X(F64_MUL)            \
    X(F64_DIV) X(F64_MIN) X(F64_MAX) X(F64_COPYSIGN)                       \
    /* conversions (D A) */                                                \
    X(I32_WRAP_I64) X(I32_TRUNC_F32_S) X(I32_TRUNC_F32_U)                  \
    X(I32_TRUNC_F64_S) X(I32_TRUNC_F64_U) X(I64_EXTEND_I32_S)              \
    X(I64_EXTEND_I32_U) X(I64_TRUNC_F32_S) X(I64_TRUNC_F32_U)              \
    X(I64_TRUNC_F64_S) X(I64_TRUNC_F64_U) X(F32_CONVERT_I32_S)             \
    X(F32_CONVERT_I32_U) X(F32_CONVERT_I64_S) X(F32_CONVERT_I64_U)         \
    X(F32_DEMOTE_F64) X(F64_CONVERT_I32_S) X(F64_CONVERT_I32_U)            \
    X(F64_CONVERT_I64_S) X(F64_CONVERT_I64_U) X(F64_PROMOTE_F32)           \
    X(I32_EXTEND8_S) X(I32_EXTEND16_S) X(I64_EXTEND8_S)                    \
    X(I64_EXTEND16_S) X(I64_EXTEND32_S)                                    \
    X(I32_TRUNC_SAT_F32_S) X(I32_TRUNC_SAT_F32_U) X(I32_TRUNC_SAT_F64_S)   \
    X(I32_TRUNC_SAT_F64_U) X(I64_TRUNC_SAT_F32_S) X(I64_TRUNC_SAT_F32_U)   \
    X(I64_TRUNC_SAT_F64_S) X(I64_TRUNC_SAT_F64_U)

/* Per compare kind: fused branches on i32/i64 with slot or immediate right
   operand, and value-producing compares in both forms. */
#define SW_BR_CMP_OPS(c) \
    X(BR32_##c##_SS) X(BR32_##c##_SI) X(BR64_##c##_SS) X(BR64_##c##_SI)
#define SW_CMP_OPS(c) \
    X(I32_##c) X(I32_##c##_I) X(I64_##c) X(I64_##c##_I)
#define SW_IMM_OPS(o) \
    X(I32_##o) X(I32_##o##_I) X(I64_##o) X(I64_##o##_I)

#define X(name) OP_##name,
enum { SW_OPS(X) OP_COUNT };
#undef X

#define X(c) CMP_##c,
enum { SW_CMPS(X) CMP_COUNT };
#undef X

#define X(o) BINOP_##o,
enum { SW_IMM_BINOPS(X) BINOP_COUNT };
#undef X

/* interp.c: handler offsets, indexed by OP_*, to write as opcode words. */
const int32_t *interp_labels(void);

#endif
