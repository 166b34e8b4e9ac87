/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Handlers of flag instructions, CPUID, RDTSC, HLT, software interrupts and
 * the catch-alls (#UD, privileged instructions not modelled yet).
 */
#include <string.h>

#include "jit/x86/ops.h"

void x86_op_ud(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_raise(cpu, X86_EXC_UD);
}

void x86_op_nop(struct x86_cpu *cpu, const struct x86_insn *insn)
{
}

/* 9F: AH = SF ZF 0 AF 0 PF 1 CF. */
void x86_op_lahf(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t ah = (cpu->rflags & (X86_SF | X86_ZF | X86_AF | X86_PF | X86_CF)) | 2;

    cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xff00ull) | (ah << 8);
}

/* 9E: SF ZF AF PF CF = AH. */
void x86_op_sahf(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t mask = X86_SF | X86_ZF | X86_AF | X86_PF | X86_CF;

    cpu->rflags = (cpu->rflags & ~mask) | ((cpu->gpr[X86_RAX] >> 8) & mask);
}

/*
 * F5 CMC, F8 CLC, F9 STC, FA CLI, FB STI, FC CLD, FD STD. CLI/STI need
 * CPL <= IOPL (SDM "CLI", table 3-7 without VME/PVI).
 * FIXME: STI's interrupt shadow, VME/PVI virtual interrupt flag.
 */
void x86_op_flag(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    switch (insn->opcode) {
    case 0xf5: cpu->rflags ^= X86_CF; break;
    case 0xf8: cpu->rflags &= ~(uint64_t)X86_CF; break;
    case 0xf9: cpu->rflags |= X86_CF; break;
    case 0xfc: cpu->rflags &= ~(uint64_t)X86_DF; break;
    case 0xfd: cpu->rflags |= X86_DF; break;
    default:
        if (cpu->mode != X86_MODE_REAL &&
            x86_cpl(cpu) > ((cpu->rflags & X86_IOPL) >> 12))
            x86_raise_error(cpu, X86_EXC_GP, 0);
        if (insn->opcode == 0xfa)
            cpu->rflags &= ~(uint64_t)X86_IF;
        else
            cpu->rflags |= X86_IF;
        break;
    }
}

/* Pack a 12-byte vendor string into EBX, EDX, ECX. */
static void vendor(const char *name, uint32_t *b, uint32_t *c, uint32_t *d)
{
    memcpy(b, name, 4);
    memcpy(d, name + 4, 4);
    memcpy(c, name + 8, 4);
}

/*
 * 0F A2. Only implemented features are advertised (SDM vol. 2, "CPUID",
 * tables 3-8 to 3-20):
 *   leaf 1 EDX: TSC, CX8, CMOV; ECX: CX16, MOVBE, POPCNT;
 *   leaf 8000_0001 ECX: LAHF/SAHF in 64-bit mode, LZCNT (ABM).
 * TZCNT works (F3 0F BC) but BMI1 is not advertised until ANDN, BEXTR,
 * BLSI... (VEX) exist. FIXME: FPU, SSE*, LM, SYSCALL, NX, APIC as the
 * rest of the CPU lands.
 */
void x86_op_cpuid(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint32_t leaf = (uint32_t)cpu->gpr[X86_RAX], a = 0, b = 0, c = 0, d = 0;

    switch (leaf) {
    case 0:
        a = 1;
        vendor("MimicSoftCPU", &b, &c, &d);
        break;
    case 1:
        a = 0x00000610;                 /* family 6, model 1, stepping 0 */
        b = 8u << 8 | 1u << 16;         /* 64-byte CLFLUSH line, 1 logical CPU */
        c = 1u << 13 | 1u << 22 | 1u << 23;
        d = 1u << 4 | 1u << 8 | 1u << 15;
        break;
    case 0x80000000:
        a = 0x80000001;
        vendor("MimicSoftCPU", &b, &c, &d);
        break;
    case 0x80000001:
        c = 1u << 0 | 1u << 5;
        break;
    default:
        break;
    }
    cpu->gpr[X86_RAX] = a;
    cpu->gpr[X86_RBX] = b;
    cpu->gpr[X86_RCX] = c;
    cpu->gpr[X86_RDX] = d;
}

/* 0F 31: EDX:EAX = TSC; #GP at CPL > 0 when CR4.TSD is set. */
void x86_op_rdtsc(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t tsc;

    if ((cpu->cr4 & (1u << 2)) && x86_cpl(cpu) > 0)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    tsc = cpu->read_tsc(cpu->tsc_opaque) + cpu->tsc_offset;
    cpu->gpr[X86_RAX] = (uint32_t)tsc;
    cpu->gpr[X86_RDX] = tsc >> 32;
}

/* F4: privileged; leaves the loop with RIP after the HLT. */
void x86_op_hlt(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (x86_cpl(cpu) > 0)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    cpu->exit_request = X86_EXIT_HLT;
    cpu->exit_requested = true;
}

/* Software interrupts are traps: RIP points after the instruction. */
static _Noreturn void raise_trap(struct x86_cpu *cpu, unsigned vector)
{
    cpu->rip = cpu->next_rip;
    x86_raise(cpu, vector);
}

/* CC. FIXME: delivery through the IDT (for now the loop returns). */
void x86_op_int3(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    raise_trap(cpu, X86_EXC_BP);
}

/* CD ib (INT n) and CE (INTO: only when OF is set). */
void x86_op_int(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->opcode == 0xce) {
        if (cpu->rflags & X86_OF)
            raise_trap(cpu, X86_EXC_OF);
        return;
    }
    raise_trap(cpu, insn->imm & 0xff);
}

/* F1: INT1/ICEBP. */
void x86_op_int1(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    raise_trap(cpu, X86_EXC_DB);
}

/*
 * System instructions (MOV CR/DR, RDMSR, WRMSR, CLTS, INVD, WBINVD): #GP(0)
 * outside ring 0. FIXME: at CPL 0 they are the next part of issue 4 and
 * raise #UD until then.
 */
void x86_op_privileged(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (x86_cpl(cpu) > 0)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    x86_raise(cpu, X86_EXC_UD);
}

/* D6 (undocumented, not in 64-bit mode): AL = CF ? FF : 00. */
void x86_op_salc(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_reg_write(cpu, insn, X86_RAX, 1, (cpu->rflags & X86_CF) ? 0xff : 0);
}
