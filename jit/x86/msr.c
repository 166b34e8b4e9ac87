/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Control registers and model-specific registers: the checks of MOV to
 * CR0/CR3/CR4 and WRMSR to EFER, their effect on the mode and the TLB, and
 * the MSRs the CPU keeps (Intel SDM vol. 3, 2.5, 2.8.7, 4.1.1, 9.8.5, 11.11;
 * vol. 4, ch. 2; AMD APM vol. 2, 3.1.7).
 */
#include <string.h>

#include "jit/x86/fpu.h"
#include "jit/x86/ops.h"
#include "jit/x86/system.h"

/* CR4 bits this CPU implements (CPUID says so, see ops-misc.c); OSXSAVE
 * with the XSAVE feature set (xsave.c). */
#define CR4_SUPPORTED (X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE | X86_CR4_PAE | \
                       X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR | \
                       X86_CR4_OSXMMEXCPT | (X86_XCR0_SUPPORTED ? X86_CR4_OSXSAVE : 0))
#define EFER_SUPPORTED (X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE)
#define PAT_RESET 0x0007040600070406ull     /* SDM vol. 3, 11.12.4 */
/* MTRRCAP: 8 variable ranges, fixed ranges, write-combining (11.11.1). */
#define MTRRCAP_VALUE (8 | 1u << 8 | 1u << 10)

void x86_write_cr0(struct x86_cpu *cpu, uint64_t value)
{
    uint64_t old = cpu->cr0;

    if (value >> 32)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    value |= X86_CR0_ET;
    if ((value & X86_CR0_PG) && !(value & X86_CR0_PE))
        x86_raise_error(cpu, X86_EXC_GP, 0);
    if ((value & X86_CR0_NW) && !(value & X86_CR0_CD))
        x86_raise_error(cpu, X86_EXC_GP, 0);
    if ((value & X86_CR0_PG) && !(old & X86_CR0_PG) && (cpu->efer & X86_EFER_LME)) {
        /* Activating long mode (9.8.5): PAE on, not from a 64-bit CS. */
        if (!(cpu->cr4 & X86_CR4_PAE) || (cpu->seg[X86_CS].flags & X86_SEGF_L))
            x86_raise_error(cpu, X86_EXC_GP, 0);
        cpu->efer |= X86_EFER_LMA;
    }
    if (!(value & X86_CR0_PG) && (old & X86_CR0_PG) && (cpu->efer & X86_EFER_LMA)) {
        if (x86_long64(cpu))
            x86_raise_error(cpu, X86_EXC_GP, 0);
        cpu->efer &= ~X86_EFER_LMA;
    }
    cpu->cr0 = value;
    if ((old ^ value) & (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE))
        x86_tlb_flush(cpu);
    x86_update_mode(cpu);
}

void x86_write_cr3(struct x86_cpu *cpu, uint64_t value)
{
    if ((cpu->efer & X86_EFER_LMA) && (value >> 52))
        x86_raise_error(cpu, X86_EXC_GP, 0);
    if (!(cpu->efer & X86_EFER_LMA))
        value = (uint32_t)value;
    cpu->cr3 = value;
    x86_tlb_flush(cpu);
}

void x86_write_cr4(struct x86_cpu *cpu, uint64_t value)
{
    uint64_t old = cpu->cr4;

    if (value & ~CR4_SUPPORTED)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    if ((cpu->efer & X86_EFER_LMA) && !(value & X86_CR4_PAE))
        x86_raise_error(cpu, X86_EXC_GP, 0);
    cpu->cr4 = value;
    if ((old ^ value) & (X86_CR4_PSE | X86_CR4_PAE | X86_CR4_PGE))
        x86_tlb_flush(cpu);
}

bool x86_write_efer(struct x86_cpu *cpu, uint64_t value)
{
    if (value & ~EFER_SUPPORTED)
        return false;
    /* LME cannot change while paging is on (AMD APM vol. 2, 14.6.1). */
    if ((cpu->cr0 & X86_CR0_PG) && ((value ^ cpu->efer) & X86_EFER_LME))
        return false;
    value = (value & ~X86_EFER_LMA) | (cpu->efer & X86_EFER_LMA);
    if ((value ^ cpu->efer) & X86_EFER_NXE)
        x86_tlb_flush(cpu);
    cpu->efer = value;
    return true;
}

/* The fixed-range MTRR index of @msr in struct x86_msrs, or -1. */
static int fixed_mtrr(uint32_t msr)
{
    if (msr == X86_MSR_MTRR_FIX64K_00000)
        return 0;
    if (msr == X86_MSR_MTRR_FIX16K_80000)
        return 1;
    if (msr == X86_MSR_MTRR_FIX16K_A0000)
        return 2;
    if (msr >= X86_MSR_MTRR_FIX4K_C0000 && msr < X86_MSR_MTRR_FIX4K_C0000 + 8)
        return 3 + (int)(msr - X86_MSR_MTRR_FIX4K_C0000);
    return -1;
}

uint64_t x86_tsc_now(const struct x86_cpu *cpu)
{
    return cpu->read_tsc(cpu->tsc_opaque) + cpu->tsc_offset;
}

bool x86_msr_read(struct x86_cpu *cpu, uint32_t index, uint64_t *value)
{
    struct x86_msrs *m = &cpu->msr;
    int fixed = fixed_mtrr(index);

    if (fixed >= 0) {
        *value = m->mtrr_fixed[fixed];
        return true;
    }
    if (index >= X86_MSR_MTRR_PHYS_BASE0 && index < X86_MSR_MTRR_PHYS_BASE0 + 16) {
        *value = m->mtrr_var[index - X86_MSR_MTRR_PHYS_BASE0];
        return true;
    }
    switch (index) {
    case X86_MSR_TSC: *value = x86_tsc_now(cpu); return true;
    case X86_MSR_MTRRCAP: *value = MTRRCAP_VALUE; return true;
    case X86_MSR_SYSENTER_CS: *value = m->sysenter_cs; return true;
    case X86_MSR_SYSENTER_ESP: *value = m->sysenter_esp; return true;
    case X86_MSR_SYSENTER_EIP: *value = m->sysenter_eip; return true;
    case X86_MSR_MISC_ENABLE: *value = m->misc_enable; return true;
    case X86_MSR_PAT: *value = m->pat; return true;
    case X86_MSR_MTRR_DEF_TYPE: *value = m->mtrr_def_type; return true;
    case X86_MSR_EFER: *value = cpu->efer; return true;
    case X86_MSR_STAR: *value = m->star; return true;
    case X86_MSR_LSTAR: *value = m->lstar; return true;
    case X86_MSR_CSTAR: *value = m->cstar; return true;
    case X86_MSR_FMASK: *value = m->fmask; return true;
    case X86_MSR_FS_BASE: *value = cpu->seg[X86_FS].base; return true;
    case X86_MSR_GS_BASE: *value = cpu->seg[X86_GS].base; return true;
    case X86_MSR_KERNEL_GS_BASE: *value = m->kernel_gs_base; return true;
    case X86_MSR_TSC_AUX: *value = m->tsc_aux; return true;
    case X86_MSR_APIC_BASE:
        if (cpu->platform && cpu->platform->read_msr)
            return cpu->platform->read_msr(cpu->platform_opaque, index, value);
        *value = cpu->rest.apic_base;
        return true;
    case X86_MSR_TSC_DEADLINE:
        if (cpu->platform && cpu->platform->read_msr)
            return cpu->platform->read_msr(cpu->platform_opaque, index, value);
        return false;
    default:
        return false;
    }
}

/* Memory types 0, 1, 4, 5, 6 are valid (11.11.2.1, 11.12.2). */
/* MTRR types are 0, 1, 4, 5, 6; the PAT also has 7, UC- (SDM vol. 3,
 * 11.11.1 and 11.12.2, table 11-10). */
static bool valid_memory_types(uint64_t value, unsigned count, bool uc_minus)
{
    for (unsigned i = 0; i < count; i++) {
        unsigned type = (value >> (8 * i)) & 0xff;

        if (type == 2 || type == 3 || type > (uc_minus ? 7u : 6u))
            return false;
    }
    return true;
}

bool x86_msr_write(struct x86_cpu *cpu, uint32_t index, uint64_t value)
{
    struct x86_msrs *m = &cpu->msr;
    int fixed = fixed_mtrr(index);

    if (fixed >= 0) {
        if (!valid_memory_types(value, 8, false))
            return false;
        m->mtrr_fixed[fixed] = value;
        return true;
    }
    if (index >= X86_MSR_MTRR_PHYS_BASE0 && index < X86_MSR_MTRR_PHYS_BASE0 + 16) {
        m->mtrr_var[index - X86_MSR_MTRR_PHYS_BASE0] = value;
        return true;
    }
    switch (index) {
    case X86_MSR_TSC:
        cpu->tsc_offset = value - cpu->read_tsc(cpu->tsc_opaque);
        return true;
    case X86_MSR_SYSENTER_CS: m->sysenter_cs = value & 0xffff; return true;
    case X86_MSR_SYSENTER_ESP:
    case X86_MSR_SYSENTER_EIP:
    case X86_MSR_LSTAR:
    case X86_MSR_CSTAR:
    case X86_MSR_KERNEL_GS_BASE:
    case X86_MSR_FS_BASE:
    case X86_MSR_GS_BASE:
        if (!x86_canonical(value))
            return false;
        if (index == X86_MSR_SYSENTER_ESP) m->sysenter_esp = value;
        else if (index == X86_MSR_SYSENTER_EIP) m->sysenter_eip = value;
        else if (index == X86_MSR_LSTAR) m->lstar = value;
        else if (index == X86_MSR_CSTAR) m->cstar = value;
        else if (index == X86_MSR_KERNEL_GS_BASE) m->kernel_gs_base = value;
        else if (index == X86_MSR_FS_BASE) cpu->seg[X86_FS].base = value;
        else cpu->seg[X86_GS].base = value;
        return true;
    case X86_MSR_MISC_ENABLE:
        /* Fast strings (bit 0) is writable; the rest reads back as set. */
        m->misc_enable = (m->misc_enable & ~1ull) | (value & 1);
        return true;
    case X86_MSR_PAT:
        if (!valid_memory_types(value, 8, true))
            return false;
        m->pat = value;
        return true;
    case X86_MSR_MTRR_DEF_TYPE:
        if (value & ~0xcffull)
            return false;
        m->mtrr_def_type = value;
        return true;
    case X86_MSR_EFER:
        return x86_write_efer(cpu, value);
    case X86_MSR_STAR: m->star = value; return true;
    case X86_MSR_FMASK: m->fmask = (uint32_t)value; return true;
    case X86_MSR_TSC_AUX: m->tsc_aux = (uint32_t)value; return true;
    case X86_MSR_APIC_BASE:
    case X86_MSR_TSC_DEADLINE:
        if (cpu->platform && cpu->platform->write_msr)
            return cpu->platform->write_msr(cpu->platform_opaque, index, value);
        if (index == X86_MSR_APIC_BASE) {
            cpu->rest.apic_base = value;
            return true;
        }
        return false;
    default:
        return false;
    }
}

void x86_msr_reset(struct x86_cpu *cpu)
{
    memset(&cpu->msr, 0, sizeof(cpu->msr));
    cpu->msr.pat = PAT_RESET;
    cpu->msr.misc_enable = 1;       /* fast strings */
}

/* The MSRs carried in struct x86_cpu_state, with the indexes KVM uses. */
static const uint32_t state_msrs[] = {
    X86_MSR_TSC, X86_MSR_SYSENTER_CS, X86_MSR_SYSENTER_ESP, X86_MSR_SYSENTER_EIP,
    X86_MSR_MISC_ENABLE, X86_MSR_PAT, X86_MSR_STAR, X86_MSR_LSTAR, X86_MSR_CSTAR,
    X86_MSR_FMASK, X86_MSR_KERNEL_GS_BASE, X86_MSR_TSC_AUX, X86_MSR_MTRR_DEF_TYPE,
    X86_MSR_MTRR_FIX64K_00000, X86_MSR_MTRR_FIX16K_80000, X86_MSR_MTRR_FIX16K_A0000,
    X86_MSR_MTRR_FIX4K_C0000 + 0, X86_MSR_MTRR_FIX4K_C0000 + 1,
    X86_MSR_MTRR_FIX4K_C0000 + 2, X86_MSR_MTRR_FIX4K_C0000 + 3,
    X86_MSR_MTRR_FIX4K_C0000 + 4, X86_MSR_MTRR_FIX4K_C0000 + 5,
    X86_MSR_MTRR_FIX4K_C0000 + 6, X86_MSR_MTRR_FIX4K_C0000 + 7,
    X86_MSR_MTRR_PHYS_BASE0 + 0, X86_MSR_MTRR_PHYS_BASE0 + 1,
    X86_MSR_MTRR_PHYS_BASE0 + 2, X86_MSR_MTRR_PHYS_BASE0 + 3,
    X86_MSR_MTRR_PHYS_BASE0 + 4, X86_MSR_MTRR_PHYS_BASE0 + 5,
    X86_MSR_MTRR_PHYS_BASE0 + 6, X86_MSR_MTRR_PHYS_BASE0 + 7,
    X86_MSR_MTRR_PHYS_BASE0 + 8, X86_MSR_MTRR_PHYS_BASE0 + 9,
    X86_MSR_MTRR_PHYS_BASE0 + 10, X86_MSR_MTRR_PHYS_BASE0 + 11,
    X86_MSR_MTRR_PHYS_BASE0 + 12, X86_MSR_MTRR_PHYS_BASE0 + 13,
    X86_MSR_MTRR_PHYS_BASE0 + 14, X86_MSR_MTRR_PHYS_BASE0 + 15,
};

void x86_msr_to_state(const struct x86_cpu *cpu, struct x86_cpu_state *state)
{
    /* None of these reach the platform: reading them changes nothing. */
    struct x86_cpu *readable = (struct x86_cpu *)cpu;

    state->nr_msrs = 0;
    for (size_t i = 0; i < sizeof(state_msrs) / sizeof(state_msrs[0]); i++) {
        uint64_t value;

        if (x86_msr_read(readable, state_msrs[i], &value)) {
            state->msrs[state->nr_msrs].index = state_msrs[i];
            state->msrs[state->nr_msrs].value = value;
            state->nr_msrs++;
        }
    }
}

void x86_msr_from_state(struct x86_cpu *cpu, const struct x86_cpu_state *state)
{
    const struct x86_platform_ops *platform = cpu->platform;
    uint64_t efer = cpu->efer, cr0 = cpu->cr0;

    cpu->platform = NULL;
    /* EFER is restored separately; keep it and paging out of the way. */
    cpu->cr0 = 0;
    for (unsigned i = 0; i < state->nr_msrs && i < X86_MAX_MSRS; i++) {
        uint32_t index = state->msrs[i].index;

        if (index == X86_MSR_EFER || index == X86_MSR_APIC_BASE ||
            index == X86_MSR_FS_BASE || index == X86_MSR_GS_BASE)
            continue;
        x86_msr_write(cpu, index, state->msrs[i].value);
    }
    cpu->efer = efer;
    cpu->cr0 = cr0;
    cpu->platform = platform;
}
