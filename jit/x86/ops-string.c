/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * String instructions MOVS, CMPS, STOS, LODS, SCAS with REP/REPE/REPNE
 * (Intel SDM vol. 1, 7.3.9; vol. 2, "REP/REPE/REPZ/REPNE/REPNZ").
 *
 * Every iteration commits rSI/rDI/rCX after its memory accesses, so a fault
 * leaves the registers describing the progress made and RIP at the
 * instruction: re-executing it resumes. A repeated instruction gives the
 * loop back after X86_STRING_BATCH iterations (RIP unchanged) so that
 * interrupts and kicks are seen during long copies.
 */
#include "jit/x86/alu.h"
#include "jit/x86/ops.h"

#define X86_STRING_BATCH 4096

enum string_kind { STRING_MOVS, STRING_CMPS, STRING_STOS, STRING_LODS, STRING_SCAS };

static void advance(struct x86_cpu *cpu, const struct x86_insn *insn,
                    unsigned reg, int64_t delta)
{
    x86_reg_write(cpu, insn, reg, insn->addrsize, cpu->gpr[reg] + (uint64_t)delta);
}

static void string_loop(struct x86_cpu *cpu, const struct x86_insn *insn,
                        enum string_kind kind)
{
    unsigned size = insn->opsize, asize = insn->addrsize;
    uint64_t amask = x86_mask(asize);
    int64_t delta = cpu->rflags & X86_DF ? -(int64_t)size : (int64_t)size;
    bool compares = kind == STRING_CMPS || kind == STRING_SCAS;

    if (insn->rep && (cpu->gpr[X86_RCX] & amask) == 0)
        return;
    for (unsigned n = 1;; n++) {
        uint64_t si = cpu->gpr[X86_RSI] & amask, di = cpu->gpr[X86_RDI] & amask;
        uint64_t a, b, flags;

        switch (kind) {
        case STRING_MOVS:
            a = x86_mem_read(cpu, insn->seg, si, size);
            x86_mem_write(cpu, X86_ES, di, size, a);
            advance(cpu, insn, X86_RSI, delta);
            advance(cpu, insn, X86_RDI, delta);
            break;
        case STRING_CMPS:
            a = x86_mem_read(cpu, insn->seg, si, size);
            b = x86_mem_read(cpu, X86_ES, di, size);
            flags = cpu->rflags;
            x86_alu(X86_ALU_CMP, size, a, b, &flags);
            cpu->rflags = flags;
            advance(cpu, insn, X86_RSI, delta);
            advance(cpu, insn, X86_RDI, delta);
            break;
        case STRING_STOS:
            x86_mem_write(cpu, X86_ES, di, size, cpu->gpr[X86_RAX]);
            advance(cpu, insn, X86_RDI, delta);
            break;
        case STRING_LODS:
            a = x86_mem_read(cpu, insn->seg, si, size);
            x86_reg_write(cpu, insn, X86_RAX, size, a);
            advance(cpu, insn, X86_RSI, delta);
            break;
        default: /* STRING_SCAS */
            b = x86_mem_read(cpu, X86_ES, di, size);
            flags = cpu->rflags;
            x86_alu(X86_ALU_CMP, size, cpu->gpr[X86_RAX], b, &flags);
            cpu->rflags = flags;
            advance(cpu, insn, X86_RDI, delta);
            break;
        }
        if (!insn->rep)
            return;
        x86_reg_write(cpu, insn, X86_RCX, asize, cpu->gpr[X86_RCX] - 1);
        if ((cpu->gpr[X86_RCX] & amask) == 0)
            return;
        if (compares && insn->rep == X86_REP_E && !(cpu->rflags & X86_ZF))
            return;
        if (compares && insn->rep == X86_REP_NE && (cpu->rflags & X86_ZF))
            return;
        if (n >= X86_STRING_BATCH || cpu->stop_requested || cpu->string_break) {
            cpu->next_rip = cpu->rip;
            return;
        }
    }
}

void x86_op_movs(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    string_loop(cpu, insn, STRING_MOVS);
}

void x86_op_cmps(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    string_loop(cpu, insn, STRING_CMPS);
}

void x86_op_stos(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    string_loop(cpu, insn, STRING_STOS);
}

void x86_op_lods(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    string_loop(cpu, insn, STRING_LODS);
}

void x86_op_scas(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    string_loop(cpu, insn, STRING_SCAS);
}
