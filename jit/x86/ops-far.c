/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Handlers that change segments or privilege: MOV/PUSH/POP of segment
 * registers, LDS..LGS, far JMP/CALL/RET, INT n/INT3/INTO/INT1, IRET, HLT,
 * SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS (Intel SDM vol. 2; vol. 3, 5.8.7-8).
 */
#include "jit/x86/ops.h"
#include "jit/x86/system.h"

/* 8E: MOV Sreg, Ew. Loading SS blocks interrupts for one instruction. */
void x86_op_mov_to_sreg(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned sreg = x86_modrm_op(insn);

    if (sreg >= X86_SEG_COUNT || sreg == X86_CS)
        x86_raise(cpu, X86_EXC_UD);
    x86_load_segment(cpu, sreg, x86_rm_read(cpu, insn, 2));
    if (sreg == X86_SS)
        cpu->interrupt_shadow = 1;
}

/* The segment register of PUSH/POP Sreg by opcode (06 ES ... 0F A8 GS). */
static unsigned sreg_of(const struct x86_insn *insn)
{
    if (insn->map == X86_MAP_0F)
        return insn->opcode < 0xa8 ? X86_FS : X86_GS;
    return (insn->opcode >> 3) & 3;
}

void x86_op_push_sreg(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_push(cpu, insn->opsize, cpu->seg[sreg_of(insn)].selector);
}

void x86_op_pop_sreg(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned sreg = sreg_of(insn);
    uint16_t selector = x86_stack_read(cpu, 0, insn->opsize);

    x86_load_segment(cpu, sreg, selector);
    x86_stack_adjust(cpu, insn->opsize);
    if (sreg == X86_SS)
        cpu->interrupt_shadow = 1;
}

/* C4 LES, C5 LDS, 0F B2 LSS, 0F B4 LFS, 0F B5 LGS: Mp = offset then selector. */
void x86_op_load_far_pointer(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize, sreg;
    uint64_t ea = x86_effective_address(cpu, insn);
    uint64_t offset = x86_mem_read(cpu, insn->seg, ea, size);
    uint16_t selector = x86_mem_read(cpu, insn->seg,
                                     (ea + size) & x86_mask(insn->addrsize), 2);

    if (insn->map == X86_MAP_ONE)
        sreg = insn->opcode == 0xc4 ? X86_ES : X86_DS;
    else
        sreg = insn->opcode == 0xb2 ? X86_SS : insn->opcode == 0xb4 ? X86_FS : X86_GS;
    x86_load_segment(cpu, sreg, selector);
    x86_reg_write(cpu, insn, insn->reg, size, offset);
    if (sreg == X86_SS)
        cpu->interrupt_shadow = 1;
}

/* EA, 9A: JMP/CALL ptr16:16/32. */
void x86_op_far_direct(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->opcode == 0xea)
        x86_far_jump(cpu, insn->imm2, insn->imm, insn->opsize);
    else
        x86_far_call(cpu, insn->imm2, insn->imm, insn->opsize);
}

/* FF /3, FF /5: CALL/JMP m16:16/32/64. */
void x86_op_far_indirect(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t ea = x86_effective_address(cpu, insn);
    uint64_t offset = x86_mem_read(cpu, insn->seg, ea, size);
    uint16_t selector = x86_mem_read(cpu, insn->seg,
                                     (ea + size) & x86_mask(insn->addrsize), 2);

    if (x86_modrm_op(insn) == 5)
        x86_far_jump(cpu, selector, offset, size);
    else
        x86_far_call(cpu, selector, offset, size);
}

/* CB, CA iw: far return. */
void x86_op_far_return(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_far_return(cpu, insn->opsize, insn->opcode == 0xca ? insn->imm : 0);
}

/* CF: IRET/IRETD/IRETQ (x86_iret unblocks NMIs, returns from nested tasks). */
void x86_op_iret(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_iret(cpu, insn->opsize);
}

/*
 * Software interrupts. Outside system mode (user-mode runs, unit tests) the
 * loop returns the vector as an exception with RIP after the instruction.
 */
static void software_interrupt(struct x86_cpu *cpu, unsigned vector,
                               enum x86_event_source source)
{
    if (!cpu->system) {
        cpu->rip = cpu->next_rip;
        x86_raise(cpu, vector);
    }
    /* INT n in virtual-8086 mode needs IOPL 3 (without VME, 20.3.3). */
    if ((cpu->rflags & X86_VM) && source == X86_SOURCE_SOFTWARE &&
        ((cpu->rflags & X86_IOPL) >> 12) < 3)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    x86_interrupt(cpu, vector, source, false, 0);
}

void x86_op_int3(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    software_interrupt(cpu, X86_EXC_BP, X86_SOURCE_SOFTWARE);
}

/* CD ib (INT n) and CE (INTO: only when OF is set). */
void x86_op_int(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->opcode == 0xce) {
        if (cpu->rflags & X86_OF)
            software_interrupt(cpu, X86_EXC_OF, X86_SOURCE_SOFTWARE);
        return;
    }
    software_interrupt(cpu, insn->imm & 0xff, X86_SOURCE_SOFTWARE);
}

/* F1: INT1/ICEBP. */
void x86_op_int1(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    software_interrupt(cpu, X86_EXC_DB, X86_SOURCE_ICEBP);
}

/* F4: privileged; the CPU sleeps until an interrupt (RIP after the HLT). */
void x86_op_hlt(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (x86_cpl(cpu) > 0)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    if (cpu->system)
        cpu->halted = true;
    cpu->exit_request = X86_EXIT_HLT;
    cpu->exit_requested = true;
}

/* A flat code or stack segment of SYSCALL/SYSENTER and their returns (5.8.7-8). */
static void flat_segment(struct x86_segment_cache *s, uint16_t selector, bool code,
                         unsigned dpl, bool long64)
{
    s->selector = selector;
    s->base = 0;
    s->limit = 0xffffffff;
    s->flags = (code ? 0xb : 0x3) | X86_SEGF_S | X86_SEGF_P | X86_SEGF_G |
               (dpl << X86_SEGF_DPL_SHIFT) |
               (code && long64 ? X86_SEGF_L : X86_SEGF_DB);
}

/* 0F 05: SYSCALL (AMD APM vol. 3; SDM vol. 2 "SYSCALL"). */
void x86_op_syscall(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint16_t selector = (cpu->msr.star >> 32) & 0xfffc;
    bool long_mode = cpu->efer & X86_EFER_LMA;

    if (!(cpu->efer & X86_EFER_SCE) || (!long_mode && cpu->mode == X86_MODE_REAL))
        x86_raise(cpu, X86_EXC_UD);
    cpu->gpr[X86_RCX] = cpu->next_rip;
    flat_segment(&cpu->seg[X86_CS], selector, true, 0, long_mode);
    flat_segment(&cpu->seg[X86_SS], selector + 8, false, 0, false);
    if (long_mode) {
        cpu->gpr[11] = cpu->rflags & ~(uint64_t)X86_RF;
        cpu->rflags &= ~(cpu->msr.fmask | X86_RF);
        cpu->next_rip = x86_long64(cpu) ? cpu->msr.lstar : cpu->msr.cstar;
    } else {
        cpu->rflags &= ~(uint64_t)(X86_VM | X86_IF | X86_RF);
        cpu->next_rip = (uint32_t)cpu->msr.star;
    }
    cpu->rflags |= 2;
    x86_update_mode(cpu);
}

/* 0F 07: SYSRET to 64-bit (REX.W) or compatibility/legacy code at CPL 3. */
void x86_op_sysret(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint16_t base = (cpu->msr.star >> 48) & 0xffff;
    bool long_mode = cpu->efer & X86_EFER_LMA;
    bool to64 = insn->opsize == 8;

    if (!(cpu->efer & X86_EFER_SCE) || cpu->mode == X86_MODE_REAL)
        x86_raise(cpu, X86_EXC_UD);
    if (x86_cpl(cpu) != 0)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    if (to64 && !x86_canonical(cpu->gpr[X86_RCX]))
        x86_raise_error(cpu, X86_EXC_GP, 0);
    if (to64) {
        flat_segment(&cpu->seg[X86_CS], (base + 16) | 3, true, 3, true);
        cpu->next_rip = cpu->gpr[X86_RCX];
    } else {
        flat_segment(&cpu->seg[X86_CS], base | 3, true, 3, false);
        cpu->next_rip = (uint32_t)cpu->gpr[X86_RCX];
    }
    /* SS keeps base 0 and gets DPL 3 whatever its descriptor says. */
    flat_segment(&cpu->seg[X86_SS], (base + 8) | 3, false, 3, false);
    if (long_mode)
        cpu->rflags = (cpu->gpr[11] & 0x3c7fd7) | 2;
    else
        cpu->rflags |= X86_IF;
    x86_update_mode(cpu);
}

/* 0F 34: SYSENTER (SDM vol. 2 "SYSENTER"). */
void x86_op_sysenter(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint16_t selector = cpu->msr.sysenter_cs & 0xfffc;
    bool long_mode = cpu->efer & X86_EFER_LMA;

    if (cpu->mode == X86_MODE_REAL || selector == 0)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    cpu->rflags &= ~(uint64_t)(X86_VM | X86_IF | X86_RF);
    flat_segment(&cpu->seg[X86_CS], selector, true, 0, long_mode);
    flat_segment(&cpu->seg[X86_SS], selector + 8, false, 0, false);
    cpu->gpr[X86_RSP] = long_mode ? cpu->msr.sysenter_esp : (uint32_t)cpu->msr.sysenter_esp;
    cpu->next_rip = long_mode ? cpu->msr.sysenter_eip : (uint32_t)cpu->msr.sysenter_eip;
    x86_update_mode(cpu);
}

/* 0F 35: SYSEXIT to CPL 3; REX.W returns to 64-bit code. */
void x86_op_sysexit(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint16_t base = cpu->msr.sysenter_cs & 0xfffc;
    bool to64 = insn->opsize == 8;

    if (cpu->mode == X86_MODE_REAL || base == 0 || x86_cpl(cpu) != 0)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    if (to64 && (!x86_canonical(cpu->gpr[X86_RDX]) || !x86_canonical(cpu->gpr[X86_RCX])))
        x86_raise_error(cpu, X86_EXC_GP, 0);
    flat_segment(&cpu->seg[X86_CS], (base + (to64 ? 32 : 16)) | 3, true, 3, to64);
    flat_segment(&cpu->seg[X86_SS], (base + (to64 ? 40 : 24)) | 3, false, 3, false);
    cpu->gpr[X86_RSP] = to64 ? cpu->gpr[X86_RCX] : (uint32_t)cpu->gpr[X86_RCX];
    cpu->next_rip = to64 ? cpu->gpr[X86_RDX] : (uint32_t)cpu->gpr[X86_RDX];
    x86_update_mode(cpu);
}
