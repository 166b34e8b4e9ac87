/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Handlers of flag instructions, CPUID, RDTSC, SALC and the #UD and NOP
 * catch-alls.
 */
#include <string.h>

#include "jit/x86/fpu.h"
#include "jit/x86/ops.h"
#include "jit/x86/system.h"

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
 * CPL <= IOPL (SDM "CLI", table 3-7 without VME/PVI; virtual-8086 mode has
 * CPL 3). STI that sets IF blocks interrupts until after the next
 * instruction (SDM "STI").
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
        if (insn->opcode == 0xfa) {
            cpu->rflags &= ~(uint64_t)X86_IF;
        } else {
            if (!(cpu->rflags & X86_IF))
                cpu->interrupt_shadow = 1;
            cpu->rflags |= X86_IF;
        }
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

/* Whether the local APIC is there and enabled in IA32_APIC_BASE (10.4.3). */
static bool apic_enabled(struct x86_cpu *cpu)
{
    uint64_t base;

    return cpu->platform && cpu->platform->read_msr &&
           cpu->platform->read_msr(cpu->platform_opaque, X86_MSR_APIC_BASE, &base) &&
           (base & (1u << 11));
}

/*
 * 0F A2. Only implemented features are advertised (SDM vol. 2, "CPUID",
 * tables 3-8 to 3-20):
 *   leaf 1 EDX: FPU, DE, PSE, TSC, MSR, PAE, CX8, APIC (when enabled), SEP,
 *     MTRR, PGE, CMOV, PAT, PSE-36, CLFSH, MMX, FXSR, SSE, SSE2 (x87 and SSE
 *     only on x86-64 hosts, whose FPU computes them); ECX: CX16, MOVBE, POPCNT,
 *     and on x86-64 hosts SSE3, SSSE3, SSE4.1, SSE4.2 (ops-sse4.c), XSAVE
 *     and OSXSAVE (= CR4.OSXSAVE);
 *   leaf 0DH (x86-64 hosts, xsave.c): XCR0 can enable x87 and SSE, whose
 *     area is 576 bytes (legacy region and header, standard or compacted);
 *     sub-leaf 1: XSAVEOPT, XSAVEC, XGETBV with ECX = 1; no XSAVES, no
 *     supervisor components; sub-leaves 2 and up (AVX...) all zero;
 *   leaf 8000_0001 EDX: SYSCALL, NX, RDTSCP, LM; ECX: LAHF/SAHF in 64-bit
 *     mode, LZCNT (ABM);
 *   leaf 8000_0008: 40 physical and 48 linear address bits.
 * TZCNT works (F3 0F BC) but BMI1 is not advertised until ANDN, BEXTR,
 * BLSI... (VEX) exist. Leaves 2 to 0CH are all zero. FIXME: PCLMULQDQ,
 * AES-NI, AVX, as they land.
 */
void x86_op_cpuid(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint32_t leaf = (uint32_t)cpu->gpr[X86_RAX], a = 0, b = 0, c = 0, d = 0;

    switch (leaf) {
    case 0:
        a = 0xd;
        vendor("MimicSoftCPU", &b, &c, &d);
        break;
    case 1:
        a = 0x00000610;                 /* family 6, model 1, stepping 0 */
        b = 8u << 8 | 1u << 16 | (uint32_t)cpu->apic_id << 24;
        c = 1u << 13 | 1u << 22 | 1u << 23;
        d = 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 8 |
            1u << 11 | 1u << 12 | 1u << 13 | 1u << 15 | 1u << 16 | 1u << 17 |
            1u << 19;
        if (apic_enabled(cpu))
            d |= 1u << 9;
        if (X86_HOST_FP) {
            d |= 1u << 0 | 1u << 23 | 1u << 24 | 1u << 25 | 1u << 26;
            c |= 1u << 0 | 1u << 9 | 1u << 19 | 1u << 20;  /* SSE3 SSSE3 SSE4.1/4.2 */
            c |= 1u << 26;                                  /* XSAVE */
            if (cpu->cr4 & X86_CR4_OSXSAVE)
                c |= 1u << 27;
        }
        break;
    case 0xd:
        if (!X86_XCR0_SUPPORTED)
            break;
        if ((uint32_t)cpu->gpr[X86_RCX] == 0) {
            a = (uint32_t)X86_XCR0_SUPPORTED;
            b = c = X86_XSAVE_AREA;     /* for XCR0, for all of it */
        } else if ((uint32_t)cpu->gpr[X86_RCX] == 1) {
            a = 1u << 0 | 1u << 1 | 1u << 2;
            b = X86_XSAVE_AREA;         /* compacted, XCR0 | IA32_XSS */
        }
        break;
    case 0x80000000:
        a = 0x80000008;
        vendor("MimicSoftCPU", &b, &c, &d);
        break;
    case 0x80000001:
        c = 1u << 0 | 1u << 5;
        d = 1u << 11 | 1u << 20 | 1u << 27 | 1u << 29;
        break;
    case 0x80000008:
        a = 48u << 8 | 40u;
        break;
    default:
        break;
    }
    cpu->gpr[X86_RAX] = a;
    cpu->gpr[X86_RBX] = b;
    cpu->gpr[X86_RCX] = c;
    cpu->gpr[X86_RDX] = d;
}

/* RDTSC and RDTSCP: EDX:EAX = TSC; #GP at CPL > 0 when CR4.TSD is set. */
void x86_rdtsc_to_edx_eax(struct x86_cpu *cpu)
{
    uint64_t tsc;

    if ((cpu->cr4 & X86_CR4_TSD) && x86_cpl(cpu) > 0)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    tsc = x86_tsc_now(cpu);
    cpu->gpr[X86_RAX] = (uint32_t)tsc;
    cpu->gpr[X86_RDX] = tsc >> 32;
}

/* 0F 31 */
void x86_op_rdtsc(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_rdtsc_to_edx_eax(cpu);
}

/* D6 (undocumented, not in 64-bit mode): AL = CF ? FF : 00. */
void x86_op_salc(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_reg_write(cpu, insn, X86_RAX, 1, (cpu->rflags & X86_CF) ? 0xff : 0);
}
