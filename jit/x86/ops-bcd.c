/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Handlers of the instructions only legacy and compatibility mode have:
 * the decimal/ASCII adjusts (DAA, DAS, AAA, AAS, AAM, AAD) and BOUND. The
 * decoder gives #UD for all of them in 64-bit mode (optable.c, XF_INV64).
 */
#include "jit/x86/alu.h"
#include "jit/x86/ops.h"

/* 27 DAA, 2F DAS, 37 AAA, 3F AAS (SDM vol. 2, per instruction). */
void x86_op_bcd_adjust(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t flags = cpu->rflags;
    uint16_t ax = x86_reg_read(cpu, insn, X86_RAX, 2);

    ax = x86_alu_bcd((enum x86_bcd_op)((insn->opcode >> 3) & 3), ax, &flags);
    x86_reg_write(cpu, insn, X86_RAX, 2, ax);
    cpu->rflags = flags;
}

/* D4 ib: AAM with any base (0A is the documented one); base 0 is #DE. */
void x86_op_aam(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t flags = cpu->rflags;
    uint16_t ax;

    if (!x86_alu_aam(x86_reg_read(cpu, insn, X86_RAX, 2), insn->imm & 0xff, &ax,
                     &flags))
        x86_raise(cpu, X86_EXC_DE);
    x86_reg_write(cpu, insn, X86_RAX, 2, ax);
    cpu->rflags = flags;
}

/* D5 ib: AAD with any base. */
void x86_op_aad(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t flags = cpu->rflags;
    uint16_t ax = x86_alu_aad(x86_reg_read(cpu, insn, X86_RAX, 2), insn->imm & 0xff,
                              &flags);

    x86_reg_write(cpu, insn, X86_RAX, 2, ax);
    cpu->rflags = flags;
}

/*
 * 62 /r: BOUND Gv, Ma. The memory operand holds the signed lower then upper
 * bound; an index outside [lower, upper] raises #BR, a fault (SDM vol. 2,
 * "BOUND"; vol. 3, 6.15 interrupt 5). The register form is #UD (XF_MEM).
 */
void x86_op_bound(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t ea = x86_effective_address(cpu, insn);
    int64_t lower = (int64_t)x86_sign_extend(x86_mem_read(cpu, insn->seg, ea, size), size);
    int64_t upper = (int64_t)x86_sign_extend(
        x86_mem_read(cpu, insn->seg, (ea + size) & x86_mask(insn->addrsize), size), size);
    int64_t index = (int64_t)x86_sign_extend(x86_reg_read(cpu, insn, insn->reg, size),
                                             size);

    if (index < lower || index > upper)
        x86_raise(cpu, X86_EXC_BR);
}
