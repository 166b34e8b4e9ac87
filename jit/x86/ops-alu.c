/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Handlers of the arithmetic and logic instructions: ADD..CMP, TEST, INC,
 * DEC, NOT, NEG, MUL, IMUL, DIV, IDIV (Intel SDM vol. 2A/2B).
 */
#include "jit/x86/alu.h"
#include "jit/x86/ops.h"

/* What a LOCK-prefixed read-modify-write of this file computes. */
enum locked_op { LOCKED_ALU, LOCKED_INC, LOCKED_DEC, LOCKED_NOT, LOCKED_NEG };

/*
 * The LOCK forms (memory destination only, SDM vol. 2, "LOCK"): compute
 * again from a new read until the store is atomic (ops.h, x86_locked_read).
 * Kept apart so that the unlocked forms keep their short path.
 */
static void locked_rmw(struct x86_cpu *cpu, const struct x86_insn *insn,
                       enum locked_op kind, enum x86_alu_op op, uint64_t b)
{
    unsigned size = insn->opsize;
    uint64_t ea = x86_effective_address(cpu, insn), flags, a, r;
    struct x86_locked l;

    do {
        flags = cpu->rflags;
        a = x86_locked_read(cpu, insn->seg, ea, size, &l);
        switch (kind) {
        case LOCKED_ALU: r = x86_alu(op, size, a, b, &flags); break;
        case LOCKED_INC: r = x86_alu_inc(size, a, &flags); break;
        case LOCKED_DEC: r = x86_alu_dec(size, a, &flags); break;
        case LOCKED_NOT: r = ~a; break;
        default: r = x86_alu_neg(size, a, &flags); break;
        }
    } while (!x86_locked_write(cpu, &l, r, 0));
    cpu->rflags = flags;
}

/* 00-3F: op Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / AL,Ib / rAX,Iz. */
void x86_op_alu(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    enum x86_alu_op op = (insn->opcode >> 3) & 7;
    unsigned size = insn->opsize, form = insn->opcode & 7;
    uint64_t flags = cpu->rflags, a, b, r;

    switch (form) {
    case 0:
    case 1:
        if (insn->lock) {
            locked_rmw(cpu, insn, LOCKED_ALU, op,
                       x86_reg_read(cpu, insn, insn->reg, size));
            return;
        }
        a = x86_rm_read(cpu, insn, size);
        b = x86_reg_read(cpu, insn, insn->reg, size);
        r = x86_alu(op, size, a, b, &flags);
        if (op != X86_ALU_CMP)
            x86_rm_write(cpu, insn, size, r);
        break;
    case 2:
    case 3:
        a = x86_reg_read(cpu, insn, insn->reg, size);
        b = x86_rm_read(cpu, insn, size);
        r = x86_alu(op, size, a, b, &flags);
        if (op != X86_ALU_CMP)
            x86_reg_write(cpu, insn, insn->reg, size, r);
        break;
    default:
        a = x86_reg_read(cpu, insn, X86_RAX, size);
        r = x86_alu(op, size, a, insn->imm, &flags);
        if (op != X86_ALU_CMP)
            x86_reg_write(cpu, insn, X86_RAX, size, r);
        break;
    }
    cpu->rflags = flags;
}

/* Group 1 (80-83): op Ev, imm. */
void x86_op_alu_imm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    enum x86_alu_op op = x86_modrm_op(insn);
    unsigned size = insn->opsize;
    uint64_t flags = cpu->rflags, r;

    if (insn->lock) {
        locked_rmw(cpu, insn, LOCKED_ALU, op, insn->imm);
        return;
    }
    r = x86_alu(op, size, x86_rm_read(cpu, insn, size), insn->imm, &flags);
    if (op != X86_ALU_CMP)
        x86_rm_write(cpu, insn, size, r);
    cpu->rflags = flags;
}

/* TEST: 84/85 Ev,Gv; A8/A9 rAX,imm; F6/F7 /0 /1 Ev,imm. */
void x86_op_test(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t a, b;

    if (insn->opcode == 0x84 || insn->opcode == 0x85) {
        a = x86_rm_read(cpu, insn, size);
        b = x86_reg_read(cpu, insn, insn->reg, size);
    } else if (insn->opcode == 0xa8 || insn->opcode == 0xa9) {
        a = x86_reg_read(cpu, insn, X86_RAX, size);
        b = insn->imm;
    } else {
        a = x86_rm_read(cpu, insn, size);
        b = insn->imm;
    }
    x86_alu(X86_ALU_AND, size, a, b, &cpu->rflags);
}

/* INC/DEC: 40-4F outside 64-bit mode, FE/FF /0 /1. CF is kept. */
void x86_op_inc_dec(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t flags = cpu->rflags, r;

    if (insn->opcode < 0x50) {
        unsigned reg = insn->opcode & 7;
        uint64_t a = x86_reg_read(cpu, insn, reg, size);

        r = insn->opcode & 8 ? x86_alu_dec(size, a, &flags) : x86_alu_inc(size, a, &flags);
        x86_reg_write(cpu, insn, reg, size, r);
    } else if (insn->lock) {
        locked_rmw(cpu, insn, x86_modrm_op(insn) ? LOCKED_DEC : LOCKED_INC, 0, 0);
        return;
    } else {
        uint64_t a = x86_rm_read(cpu, insn, size);

        r = x86_modrm_op(insn) ? x86_alu_dec(size, a, &flags) : x86_alu_inc(size, a, &flags);
        x86_rm_write(cpu, insn, size, r);
    }
    cpu->rflags = flags;
}

void x86_op_not(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->lock) {
        locked_rmw(cpu, insn, LOCKED_NOT, 0, 0);
        return;
    }
    x86_rm_write(cpu, insn, insn->opsize, ~x86_rm_read(cpu, insn, insn->opsize));
}

void x86_op_neg(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t flags = cpu->rflags, r;

    if (insn->lock) {
        locked_rmw(cpu, insn, LOCKED_NEG, 0, 0);
        return;
    }
    r = x86_alu_neg(insn->opsize, x86_rm_read(cpu, insn, insn->opsize), &flags);
    x86_rm_write(cpu, insn, insn->opsize, r);
    cpu->rflags = flags;
}

/* MUL/IMUL with one operand: rDX:rAX (AX for bytes) = rAX * Ev. */
static void multiply_accumulator(struct x86_cpu *cpu, const struct x86_insn *insn,
                                 bool is_signed)
{
    unsigned size = insn->opsize;
    uint64_t b = x86_rm_read(cpu, insn, size);
    uint64_t a = x86_reg_read(cpu, insn, X86_RAX, size), high, low;
    uint64_t flags = cpu->rflags;

    low = is_signed ? x86_alu_imul(size, a, b, &high, &flags)
                    : x86_alu_mul(size, a, b, &high, &flags);
    if (size == 1) {
        x86_reg_write(cpu, insn, X86_RAX, 2, low | (high << 8));
    } else {
        x86_reg_write(cpu, insn, X86_RAX, size, low);
        x86_reg_write(cpu, insn, X86_RDX, size, high);
    }
    cpu->rflags = flags;
}

void x86_op_mul(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    multiply_accumulator(cpu, insn, false);
}

void x86_op_imul1(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    multiply_accumulator(cpu, insn, true);
}

/* IMUL Gv,Ev (0F AF) and IMUL Gv,Ev,imm (69, 6B): truncated product. */
void x86_op_imul(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t b = x86_rm_read(cpu, insn, size), a, high, flags = cpu->rflags;

    a = insn->map == X86_MAP_0F ? x86_reg_read(cpu, insn, insn->reg, size) : insn->imm;
    x86_reg_write(cpu, insn, insn->reg, size, x86_alu_imul(size, a, b, &high, &flags));
    cpu->rflags = flags;
}

/* DIV/IDIV: rDX:rAX (AX for bytes) / Ev; #DE on zero or overflow. */
static void divide_accumulator(struct x86_cpu *cpu, const struct x86_insn *insn,
                               bool is_signed)
{
    unsigned size = insn->opsize;
    uint64_t divisor = x86_rm_read(cpu, insn, size), high, low, q, r;
    uint64_t flags = cpu->rflags;
    bool ok;

    if (size == 1) {
        uint64_t ax = x86_reg_read(cpu, insn, X86_RAX, 2);

        high = ax >> 8;
        low = ax & 0xff;
    } else {
        high = x86_reg_read(cpu, insn, X86_RDX, size);
        low = x86_reg_read(cpu, insn, X86_RAX, size);
    }
    ok = is_signed ? x86_alu_idiv(size, high, low, divisor, &q, &r, &flags)
                   : x86_alu_div(size, high, low, divisor, &q, &r, &flags);
    if (!ok)
        x86_raise(cpu, X86_EXC_DE);
    if (size == 1) {
        x86_reg_write(cpu, insn, X86_RAX, 2, q | (r << 8));
    } else {
        x86_reg_write(cpu, insn, X86_RAX, size, q);
        x86_reg_write(cpu, insn, X86_RDX, size, r);
    }
    cpu->rflags = flags;
}

void x86_op_div(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    divide_accumulator(cpu, insn, false);
}

void x86_op_idiv(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    divide_accumulator(cpu, insn, true);
}
