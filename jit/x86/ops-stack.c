/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Handlers of stack and near control transfers: PUSH, POP, PUSHF, POPF,
 * PUSHA, POPA, ENTER, LEAVE, CALL, RET, JMP, Jcc, LOOPcc, JrCXZ (Intel SDM
 * vol. 1, 6.2-6.3; vol. 2 per instruction).
 */
#include "jit/x86/ops.h"

void x86_op_push_reg(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_push(cpu, insn->opsize, x86_reg_read(cpu, insn, insn->opcode_reg, insn->opsize));
}

void x86_op_pop_reg(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t v = x86_pop(cpu, insn->opsize);

    x86_reg_write(cpu, insn, insn->opcode_reg, insn->opsize, v);
}

void x86_op_push_imm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_push(cpu, insn->opsize, insn->imm);
}

/* FF /6: the operand is read with the old rSP. */
void x86_op_push_rm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_push(cpu, insn->opsize, x86_rm_read(cpu, insn, insn->opsize));
}

/* 8F /0: a memory destination based on rSP sees rSP after the pop (SDM "POP"). */
void x86_op_pop_rm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t v = x86_stack_read(cpu, 0, size), saved = cpu->gpr[X86_RSP], ea;

    if (!insn->has_mem) {
        x86_stack_adjust(cpu, size);
        x86_reg_write(cpu, insn, insn->rm, size, v);
        return;
    }
    x86_stack_adjust(cpu, size);
    ea = x86_effective_address(cpu, insn);
    cpu->gpr[X86_RSP] = saved;
    x86_mem_write(cpu, insn->seg, ea, size, v);
    x86_stack_adjust(cpu, size);
}

/* 9C: the image has VM and RF clear (SDM "PUSHF"); #GP in V86 mode below IOPL 3. */
void x86_op_pushf(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if ((cpu->rflags & X86_VM) && ((cpu->rflags & X86_IOPL) >> 12) < 3)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    x86_push(cpu, insn->opsize, cpu->rflags & ~(uint64_t)(X86_VM | X86_RF));
}

/*
 * 9D: which bits change depends on CPL and IOPL (SDM "POPF", table 4-16):
 * IOPL only at CPL 0, IF only when CPL <= IOPL; VM, VIP, VIF never; RF is
 * cleared. Virtual-8086 mode needs IOPL 3 (FIXME: VME).
 */
void x86_op_popf(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize, cpl = x86_cpl(cpu);
    unsigned iopl = (cpu->rflags & X86_IOPL) >> 12;
    uint64_t v;

    if ((cpu->rflags & X86_VM) && iopl < 3)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    v = x86_pop(cpu, size);
    uint64_t mask = X86_ARITH_FLAGS | X86_TF | X86_DF | X86_NT | X86_AC | X86_ID;

    if (cpl <= iopl)
        mask |= X86_IF;
    if (cpl == 0)
        mask |= X86_IOPL;
    if (size == 2)
        mask &= 0xffff;
    cpu->rflags = ((cpu->rflags & ~mask) | (v & mask) | 2) & ~(uint64_t)X86_RF;
}

/* 60: PUSHA/PUSHAD (not in 64-bit mode). */
void x86_op_pusha(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;

    for (unsigned i = 0; i < 8; i++)
        x86_stack_write(cpu, -(int64_t)(size * (i + 1)), size, cpu->gpr[i]);
    x86_stack_adjust(cpu, -8 * (int64_t)size);
}

/* 61: POPA/POPAD; the stored rSP is skipped. */
void x86_op_popa(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t v[8];

    for (unsigned i = 0; i < 8; i++)
        v[7 - i] = x86_stack_read(cpu, size * i, size);
    x86_stack_adjust(cpu, 8 * (int64_t)size);
    for (unsigned i = 0; i < 8; i++) {
        if (i != X86_RSP)
            x86_reg_write(cpu, insn, i, size, v[i]);
    }
}

/* C8: ENTER imm16, imm8 (SDM "ENTER", nesting level mod 32). */
void x86_op_enter(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize, level = insn->imm2 & 31;
    uint64_t width_mask = x86_mask(x86_stack_width(cpu));
    uint64_t rsp = cpu->gpr[X86_RSP], rbp = cpu->gpr[X86_RBP], frame;

    rsp -= size;
    x86_mem_write(cpu, X86_SS, rsp & width_mask, size, rbp);
    frame = rsp;
    if (level > 0) {
        for (unsigned i = 1; i < level; i++) {
            rbp -= size;
            rsp -= size;
            x86_mem_write(cpu, X86_SS, rsp & width_mask, size,
                          x86_mem_read(cpu, X86_SS, rbp & width_mask, size));
        }
        rsp -= size;
        x86_mem_write(cpu, X86_SS, rsp & width_mask, size, frame);
    }
    rsp -= insn->imm;
    x86_reg_write(cpu, insn, X86_RBP, size, frame);
    cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~width_mask) | (rsp & width_mask);
}

/* C9: rSP = rBP, then pop rBP. */
void x86_op_leave(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t width_mask = x86_mask(x86_stack_width(cpu));
    uint64_t base = cpu->gpr[X86_RBP] & width_mask;
    uint64_t v = x86_mem_read(cpu, X86_SS, base, size);

    cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~width_mask) | ((base + size) & width_mask);
    x86_reg_write(cpu, insn, X86_RBP, size, v);
}

void x86_op_call_rel(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t back = cpu->next_rip;

    x86_branch(cpu, insn->opsize, back + insn->imm);
    x86_push(cpu, insn->opsize, back);
}

void x86_op_call_rm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t back = cpu->next_rip;

    x86_branch(cpu, insn->opsize, x86_rm_read(cpu, insn, insn->opsize));
    x86_push(cpu, insn->opsize, back);
}

/* C3, C2 iw: pop the return address, then release iw more bytes. */
void x86_op_ret(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t target = x86_stack_read(cpu, 0, insn->opsize);

    x86_branch(cpu, insn->opsize, target);
    x86_stack_adjust(cpu, insn->opsize + (insn->opcode == 0xc2 ? insn->imm : 0));
}

void x86_op_jmp_rel(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_branch(cpu, insn->opsize, cpu->next_rip + insn->imm);
}

void x86_op_jmp_rm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_branch(cpu, insn->opsize, x86_rm_read(cpu, insn, insn->opsize));
}

/* 70-7F, 0F 80-8F. */
void x86_op_jcc(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (x86_condition(cpu, insn->opcode & 15))
        x86_branch(cpu, insn->opsize, cpu->next_rip + insn->imm);
}

/* E0 LOOPNE, E1 LOOPE, E2 LOOP: the count register has the address size. */
void x86_op_loop(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned asize = insn->addrsize;
    uint64_t count = (cpu->gpr[X86_RCX] - 1) & x86_mask(asize);
    bool taken = count != 0;

    if (insn->opcode == 0xe0)
        taken = taken && !(cpu->rflags & X86_ZF);
    else if (insn->opcode == 0xe1)
        taken = taken && (cpu->rflags & X86_ZF);
    if (taken)
        x86_branch(cpu, insn->opsize, cpu->next_rip + insn->imm);
    x86_reg_write(cpu, insn, X86_RCX, asize, count);
}

/* E3: JCXZ/JECXZ/JRCXZ by address size. */
void x86_op_jcxz(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if ((cpu->gpr[X86_RCX] & x86_mask(insn->addrsize)) == 0)
        x86_branch(cpu, insn->opsize, cpu->next_rip + insn->imm);
}
