/*
** vm.c: benchmark kernel "vm", indirect branches through a switch.
**
** A tiny register machine runs a loop of n iterations. Its dispatch
** `switch` becomes a jump table natively and a br_table in Wasm: the
** pattern of every interpreter, parser and state machine a user might
** compile to Wasm.
*/
#include "kernels.h"

enum Opcode { OP_SETI, OP_ADD, OP_ADDI, OP_MULI, OP_XOR, OP_SHRI, OP_DEC,
              OP_JNZ, OP_HALT };

typedef struct Instruction {
    uint8_t op, dst, src;
    int32_t imm;   /* immediate operand, or jump target */
} Instruction;

enum { COUNTER, VALUE, SHIFTED, HASH, REGISTERS };

/* hash ^= (value = value * 31 + counter) >> 7, then hash += 0x9e37,
   counter times. */
static const Instruction program[] = {
    { OP_SETI, VALUE, 0, 1 },
    { OP_SETI, HASH, 0, 0 },
    { OP_MULI, VALUE, VALUE, 31 },          /* 2: loop */
    { OP_ADD, VALUE, COUNTER, 0 },
    { OP_SHRI, SHIFTED, VALUE, 7 },
    { OP_XOR, HASH, SHIFTED, 0 },
    { OP_ADDI, HASH, HASH, 0x9e37 },
    { OP_DEC, COUNTER, 0, 0 },
    { OP_JNZ, COUNTER, 0, 2 },
    { OP_HALT, 0, 0, 0 },
};

static uint32_t run(const Instruction *code, uint32_t *reg)
{
    for (uint32_t pc = 0;;) {
        const Instruction *in = &code[pc++];
        switch (in->op) {
        case OP_SETI: reg[in->dst] = (uint32_t)in->imm; break;
        case OP_ADD: reg[in->dst] += reg[in->src]; break;
        case OP_ADDI: reg[in->dst] = reg[in->src] + (uint32_t)in->imm; break;
        case OP_MULI: reg[in->dst] = reg[in->src] * (uint32_t)in->imm; break;
        case OP_XOR: reg[in->dst] ^= reg[in->src]; break;
        case OP_SHRI: reg[in->dst] = reg[in->src] >> in->imm; break;
        case OP_DEC: reg[in->dst]--; break;
        case OP_JNZ: if (reg[in->dst]) pc = (uint32_t)in->imm; break;
        default: return reg[HASH];
        }
    }
}

uint64_t kernel_vm(uint32_t n)
{
    uint32_t reg[REGISTERS] = { [COUNTER] = n };
    uint32_t hash = run(program, reg);
    return bench_mix(hash, reg[VALUE]);
}
