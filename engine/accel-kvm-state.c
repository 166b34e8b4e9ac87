/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The KVM accelerator's architectural state: vCPU registers, MSRs, FPU,
 * LAPIC and pending events, and the in-kernel platform chips and clock,
 * converted to and from the accelerator-neutral x86 state (api.rst).
 */
#define G_LOG_DOMAIN "mimic-kvm"

#include "engine/accel-kvm.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <asm/kvm_para.h>

#include "engine/machine.h"
#include "engine/vcpu.h"
#include "engine/vm.h"

G_STATIC_ASSERT(KVM_IOAPIC_NUM_PINS == X86_IOAPIC_PINS);
G_STATIC_ASSERT(sizeof(((struct kvm_lapic_state *)0)->regs) ==
                sizeof(((struct x86_cpu_state *)0)->lapic));
G_STATIC_ASSERT(sizeof(struct kvm_xsave) == X86_XSAVE_SIZE);

/* Architectural MSRs (Intel SDM vol. 4, ch. 2; AMD APM vol. 2, app. A). */
#define MSR_IA32_TSC 0x10
#define MSR_IA32_TSC_ADJUST 0x3b
#define MSR_IA32_SPEC_CTRL 0x48
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_PHYS_BASE0 0x200          /* 8 base/mask pairs to 0x20f */
#define MSR_MTRR_FIX64K_00000 0x250
#define MSR_MTRR_FIX16K_80000 0x258
#define MSR_MTRR_FIX16K_A0000 0x259
#define MSR_MTRR_FIX4K_C0000 0x268         /* 8 of them to 0x26f */
#define MSR_IA32_CR_PAT 0x277
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define MSR_IA32_XSS 0xda0
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103

#define MSR_IA32_MISC_ENABLE_FAST_STRING 1ULL
#define MSR_IA32_CR_PAT_RESET 0x0007040600070406ULL  /* SDM vol. 3, 11.12.4 */

#define CPUID_1_EDX_MTRR (1u << 12)

/* Registers of the local APIC page (Intel SDM vol. 3, table 10-1). */
#define APIC_ID 0x20
#define APIC_DFR 0xe0
#define APIC_SVR 0xf0
#define APIC_LVT_CMCI 0x2f0
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_ERROR 0x370
#define APIC_LVT_MASKED (1u << 16)
#define APIC_DELIVERY_EXTINT (7u << 8)

#define APIC_BASE_DEFAULT 0xfee00000ULL
#define APIC_BASE_BSP (1ULL << 8)
#define APIC_BASE_ENABLE (1ULL << 11)

/* Offsets in the legacy FXSAVE region (Intel SDM vol. 1, table 10-2). */
#define FXSAVE_FCW 0
#define FXSAVE_FSW 2
#define FXSAVE_FTW 4
#define FXSAVE_FOP 6
#define FXSAVE_FIP 8
#define FXSAVE_FDP 16
#define FXSAVE_MXCSR 24
#define FXSAVE_ST0 32
#define FXSAVE_XMM0 160
#define XSAVE_HEADER_XSTATE_BV 512
#define XSTATE_X87_SSE 3ULL
/* State components past the first 4 KiB (AMX tiles) are never saved. */
#define XSTATE_BEYOND_4K ((1ULL << 17) | (1ULL << 18))

/* The MSRs Mimic saves when the vCPU has them; at most X86_MAX_MSRS. */
static const uint32_t kvm_saved_msrs[] = {
    MSR_IA32_TSC, MSR_IA32_TSC_ADJUST, MSR_IA32_SPEC_CTRL,
    MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
    MSR_IA32_MISC_ENABLE, MSR_IA32_CR_PAT, MSR_IA32_XSS,
    MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_KERNEL_GS_BASE, MSR_TSC_AUX,
    /* KVM paravirtual clock, async page faults, steal time, PV EOI */
    MSR_KVM_WALL_CLOCK, MSR_KVM_SYSTEM_TIME,
    MSR_KVM_WALL_CLOCK_NEW, MSR_KVM_SYSTEM_TIME_NEW, MSR_KVM_ASYNC_PF_EN,
    MSR_KVM_ASYNC_PF_INT, MSR_KVM_STEAL_TIME, MSR_KVM_PV_EOI_EN,
    MSR_KVM_POLL_CONTROL,
    /* MTRRs (SDM vol. 3, 11.11); MTRRcap is read-only and not saved */
    MSR_MTRR_DEF_TYPE, MSR_MTRR_FIX64K_00000, MSR_MTRR_FIX16K_80000,
    MSR_MTRR_FIX16K_A0000,
    MSR_MTRR_FIX4K_C0000 + 0, MSR_MTRR_FIX4K_C0000 + 1,
    MSR_MTRR_FIX4K_C0000 + 2, MSR_MTRR_FIX4K_C0000 + 3,
    MSR_MTRR_FIX4K_C0000 + 4, MSR_MTRR_FIX4K_C0000 + 5,
    MSR_MTRR_FIX4K_C0000 + 6, MSR_MTRR_FIX4K_C0000 + 7,
    MSR_MTRR_PHYS_BASE0 + 0, MSR_MTRR_PHYS_BASE0 + 1, MSR_MTRR_PHYS_BASE0 + 2,
    MSR_MTRR_PHYS_BASE0 + 3, MSR_MTRR_PHYS_BASE0 + 4, MSR_MTRR_PHYS_BASE0 + 5,
    MSR_MTRR_PHYS_BASE0 + 6, MSR_MTRR_PHYS_BASE0 + 7, MSR_MTRR_PHYS_BASE0 + 8,
    MSR_MTRR_PHYS_BASE0 + 9, MSR_MTRR_PHYS_BASE0 + 10, MSR_MTRR_PHYS_BASE0 + 11,
    MSR_MTRR_PHYS_BASE0 + 12, MSR_MTRR_PHYS_BASE0 + 13,
    MSR_MTRR_PHYS_BASE0 + 14, MSR_MTRR_PHYS_BASE0 + 15,
    /* last: written after the LAPIC, see kvm_vcpu_set_state */
    MSR_IA32_TSC_DEADLINE,
};
G_STATIC_ASSERT(G_N_ELEMENTS(kvm_saved_msrs) <= X86_MAX_MSRS);

static bool msr_is_mtrr(uint32_t index)
{
    return (index >= MSR_MTRR_PHYS_BASE0 &&
            index <= MSR_MTRR_PHYS_BASE0 + 15) ||
           index == MSR_MTRR_FIX64K_00000 || index == MSR_MTRR_FIX16K_80000 ||
           index == MSR_MTRR_FIX16K_A0000 || index == MSR_MTRR_DEF_TYPE ||
           (index >= MSR_MTRR_FIX4K_C0000 && index <= MSR_MTRR_FIX4K_C0000 + 7);
}

static int vcpu_error(struct kvm_vcpu_state *vs, GError **error,
                      const char *what)
{
    return kvm_ioctl_error(error, errno, what, vs->cpu->index);
}

static int vm_error(GError **error, const char *what)
{
    return kvm_ioctl_error(error, errno, what, UINT_MAX);
}

static struct kvm_msrs *msrs_new(unsigned count)
{
    struct kvm_msrs *msrs = g_malloc0(sizeof(*msrs) +
                                      count * sizeof(struct kvm_msr_entry));

    msrs->nmsrs = count;
    return msrs;
}

static bool cpuid_has_mtrr(struct kvm_vcpu_state *vs)
{
    const struct kvm_cpuid2 *c = vs->ks->supported_cpuid;

    for (unsigned i = 0; i < c->nent; i++)
        if (c->entries[i].function == 1)
            return c->entries[i].edx & CPUID_1_EDX_MTRR;
    return false;
}

/*
 * KVM_GET_MSR_INDEX_LIST (api.rst) names the MSRs KVM saves; the MTRRs
 * are handled by KVM but not always listed, so they are probed instead.
 */
void kvm_vcpu_probe_msrs(struct kvm_vcpu_state *vs)
{
    const struct kvm_msr_list *list = vs->ks->msr_index_list;
    bool mtrr = cpuid_has_mtrr(vs);
    g_autofree struct kvm_msrs *probe = msrs_new(1);

    vs->nr_msrs = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(kvm_saved_msrs); i++) {
        uint32_t index = kvm_saved_msrs[i];
        bool listed = false;

        for (unsigned j = 0; j < list->nmsrs && !listed; j++)
            listed = list->indices[j] == index;
        if (!listed && !(mtrr && msr_is_mtrr(index)))
            continue;
        probe->entries[0].index = index;
        if (ioctl(vs->fd, KVM_GET_MSRS, probe) != 1)
            continue;
        vs->msrs[vs->nr_msrs++] = index;
    }
}

/* ---- conversions --------------------------------------------------------- */

/*
 * Fields named alike in Mimic's state and KVM's structures: one list per
 * structure, copied in either direction with COPY_FIELD.
 */
#define COPY_FIELD(field) d->field = s->field;
#define SEGMENT_FIELDS(X) X(base) X(limit) X(selector) X(type) X(present)   \
    X(dpl) X(db) X(s) X(l) X(g) X(avl) X(unusable)
#define SREGS_FIELDS(X) X(gdt.base) X(gdt.limit) X(idt.base) X(idt.limit)   \
    X(cr0) X(cr2) X(cr3) X(cr4) X(cr8) X(efer) X(apic_base)
#define SREGS_SEGMENTS(X) X(cs) X(ds) X(es) X(fs) X(gs) X(ss) X(tr) X(ldt)
#define SEGMENT_FROM_KVM(seg) segment_from_kvm(&d->seg, &s->seg);
#define SEGMENT_TO_KVM(seg) segment_to_kvm(&d->seg, &s->seg);

static void segment_from_kvm(struct x86_segment *d, const struct kvm_segment *s)
{
    SEGMENT_FIELDS(COPY_FIELD)
}

static void segment_to_kvm(struct kvm_segment *d, const struct x86_segment *s)
{
    memset(d, 0, sizeof(*d));
    SEGMENT_FIELDS(COPY_FIELD)
}

static void sregs_from_kvm(struct x86_cpu_state *d, const struct kvm_sregs2 *s)
{
    SREGS_SEGMENTS(SEGMENT_FROM_KVM)
    SREGS_FIELDS(COPY_FIELD)
}

static void sregs_to_kvm(struct kvm_sregs2 *d, const struct x86_cpu_state *s)
{
    memset(d, 0, sizeof(*d));
    SREGS_SEGMENTS(SEGMENT_TO_KVM)
    SREGS_FIELDS(COPY_FIELD)
    /* No PDPTRs: KVM loads them from CR3 as a MOV to CR3 would. */
    d->flags = 0;
}

/*
 * Special registers through KVM_GET_SREGS2 where available, else
 * KVM_GET_SREGS (api.rst, KVM_GET_SREGS2); the first layout is a superset.
 */
static int get_sregs(struct kvm_vcpu_state *vs, struct kvm_sregs2 *s2,
                     GError **error)
{
    struct kvm_sregs s;

    if (vs->ks->caps.sregs2) {
        if (ioctl(vs->fd, KVM_GET_SREGS2, s2) < 0)
            return vcpu_error(vs, error, "KVM_GET_SREGS2");
        return 0;
    }
    if (ioctl(vs->fd, KVM_GET_SREGS, &s) < 0)
        return vcpu_error(vs, error, "KVM_GET_SREGS");
    memset(s2, 0, sizeof(*s2));
    s2->cs = s.cs;
    s2->ds = s.ds;
    s2->es = s.es;
    s2->fs = s.fs;
    s2->gs = s.gs;
    s2->ss = s.ss;
    s2->tr = s.tr;
    s2->ldt = s.ldt;
    s2->gdt = s.gdt;
    s2->idt = s.idt;
    s2->cr0 = s.cr0;
    s2->cr2 = s.cr2;
    s2->cr3 = s.cr3;
    s2->cr4 = s.cr4;
    s2->cr8 = s.cr8;
    s2->efer = s.efer;
    s2->apic_base = s.apic_base;
    return 0;
}

static int set_sregs(struct kvm_vcpu_state *vs, const struct kvm_sregs2 *s2,
                     GError **error)
{
    struct kvm_sregs s = { 0 };

    if (vs->ks->caps.sregs2) {
        if (ioctl(vs->fd, KVM_SET_SREGS2, s2) < 0)
            return vcpu_error(vs, error, "KVM_SET_SREGS2");
        return 0;
    }
    s.cs = s2->cs;
    s.ds = s2->ds;
    s.es = s2->es;
    s.fs = s2->fs;
    s.gs = s2->gs;
    s.ss = s2->ss;
    s.tr = s2->tr;
    s.ldt = s2->ldt;
    s.gdt = s2->gdt;
    s.idt = s2->idt;
    s.cr0 = s2->cr0;
    s.cr2 = s2->cr2;
    s.cr3 = s2->cr3;
    s.cr4 = s2->cr4;
    s.cr8 = s2->cr8;
    s.efer = s2->efer;
    s.apic_base = s2->apic_base;
    /* interrupt_bitmap stays empty: a pending interrupt comes with events. */
    if (ioctl(vs->fd, KVM_SET_SREGS, &s) < 0)
        return vcpu_error(vs, error, "KVM_SET_SREGS");
    return 0;
}

static void regs_from_kvm(struct x86_cpu_state *d, const struct kvm_regs *r)
{
    const uint64_t gpr[16] = {
        r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
        r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15,
    };

    memcpy(d->gpr, gpr, sizeof(gpr));
    d->rip = r->rip;
    d->rflags = r->rflags;
}

static void regs_to_kvm(struct kvm_regs *r, const struct x86_cpu_state *s)
{
    *r = (struct kvm_regs){
        .rax = s->gpr[0], .rcx = s->gpr[1], .rdx = s->gpr[2], .rbx = s->gpr[3],
        .rsp = s->gpr[4], .rbp = s->gpr[5], .rsi = s->gpr[6], .rdi = s->gpr[7],
        .r8 = s->gpr[8], .r9 = s->gpr[9], .r10 = s->gpr[10], .r11 = s->gpr[11],
        .r12 = s->gpr[12], .r13 = s->gpr[13], .r14 = s->gpr[14],
        .r15 = s->gpr[15], .rip = s->rip, .rflags = s->rflags,
    };
}

/* KVM_GET_FPU's fields in the FXSAVE layout, for hosts without XSAVE. */
static void fpu_to_fxsave(uint8_t *area, const struct kvm_fpu *f)
{
    memcpy(area + FXSAVE_FCW, &f->fcw, 2);
    memcpy(area + FXSAVE_FSW, &f->fsw, 2);
    area[FXSAVE_FTW] = f->ftwx;
    memcpy(area + FXSAVE_FOP, &f->last_opcode, 2);
    memcpy(area + FXSAVE_FIP, &f->last_ip, 8);
    memcpy(area + FXSAVE_FDP, &f->last_dp, 8);
    memcpy(area + FXSAVE_MXCSR, &f->mxcsr, 4);
    memcpy(area + FXSAVE_ST0, f->fpr, sizeof(f->fpr));
    memcpy(area + FXSAVE_XMM0, f->xmm, sizeof(f->xmm));
}

static void fxsave_to_fpu(struct kvm_fpu *f, const uint8_t *area)
{
    memset(f, 0, sizeof(*f));
    memcpy(&f->fcw, area + FXSAVE_FCW, 2);
    memcpy(&f->fsw, area + FXSAVE_FSW, 2);
    f->ftwx = area[FXSAVE_FTW];
    memcpy(&f->last_opcode, area + FXSAVE_FOP, 2);
    memcpy(&f->last_ip, area + FXSAVE_FIP, 8);
    memcpy(&f->last_dp, area + FXSAVE_FDP, 8);
    memcpy(&f->mxcsr, area + FXSAVE_MXCSR, 4);
    memcpy(f->fpr, area + FXSAVE_ST0, sizeof(f->fpr));
    memcpy(f->xmm, area + FXSAVE_XMM0, sizeof(f->xmm));
}

/*
 * FPU/SSE/AVX state (api.rst, KVM_GET_XSAVE; KVM_GET_XSAVE2 when the
 * area KVM uses is larger than struct kvm_xsave).
 */
static int get_fpu(struct kvm_vcpu_state *vs, uint8_t *area, GError **error)
{
    size_t size = vs->ks->caps.xsave_size;
    g_autofree uint8_t *buffer = NULL;
    struct kvm_fpu fpu;

    if (!vs->ks->caps.xsave) {
        if (ioctl(vs->fd, KVM_GET_FPU, &fpu) < 0)
            return vcpu_error(vs, error, "KVM_GET_FPU");
        memset(area, 0, X86_XSAVE_SIZE);
        fpu_to_fxsave(area, &fpu);
        return 0;
    }
    buffer = g_malloc0(size);
    if (size > sizeof(struct kvm_xsave)) {
        if (ioctl(vs->fd, KVM_GET_XSAVE2, buffer) < 0)
            return vcpu_error(vs, error, "KVM_GET_XSAVE2");
    } else if (ioctl(vs->fd, KVM_GET_XSAVE, buffer) < 0) {
        return vcpu_error(vs, error, "KVM_GET_XSAVE");
    }
    memcpy(area, buffer, X86_XSAVE_SIZE);
    return 0;
}

static int set_fpu(struct kvm_vcpu_state *vs, const uint8_t *area,
                   GError **error)
{
    /* KVM_SET_XSAVE reads as many bytes as KVM_CAP_XSAVE2 reports. */
    g_autofree uint8_t *buffer = g_malloc0(vs->ks->caps.xsave_size);
    struct kvm_fpu fpu;
    uint64_t xstate_bv;

    if (!vs->ks->caps.xsave) {
        fxsave_to_fpu(&fpu, area);
        if (ioctl(vs->fd, KVM_SET_FPU, &fpu) < 0)
            return vcpu_error(vs, error, "KVM_SET_FPU");
        return 0;
    }
    memcpy(buffer, area, X86_XSAVE_SIZE);
    memcpy(&xstate_bv, buffer + XSAVE_HEADER_XSTATE_BV, 8);
    xstate_bv &= ~XSTATE_BEYOND_4K;
    memcpy(buffer + XSAVE_HEADER_XSTATE_BV, &xstate_bv, 8);
    if (ioctl(vs->fd, KVM_SET_XSAVE, buffer) < 0)
        return vcpu_error(vs, error, "KVM_SET_XSAVE");
    return 0;
}

static int get_xcr0(struct kvm_vcpu_state *vs, uint64_t *xcr0, GError **error)
{
    struct kvm_xcrs xcrs;

    *xcr0 = 1;      /* x87 only: the value at RESET */
    if (!vs->ks->caps.xcrs)
        return 0;
    if (ioctl(vs->fd, KVM_GET_XCRS, &xcrs) < 0)
        return vcpu_error(vs, error, "KVM_GET_XCRS");
    for (uint32_t i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++)
        if (xcrs.xcrs[i].xcr == 0)
            *xcr0 = xcrs.xcrs[i].value;
    return 0;
}

static int set_xcr0(struct kvm_vcpu_state *vs, uint64_t xcr0, GError **error)
{
    struct kvm_xcrs xcrs = { .nr_xcrs = 1 };

    if (!vs->ks->caps.xcrs)
        return 0;
    xcrs.xcrs[0].xcr = 0;
    xcrs.xcrs[0].value = xcr0;
    if (ioctl(vs->fd, KVM_SET_XCRS, &xcrs) < 0)
        return vcpu_error(vs, error, "KVM_SET_XCRS");
    return 0;
}

static int get_msrs(struct kvm_vcpu_state *vs, struct x86_cpu_state *s,
                    GError **error)
{
    g_autofree struct kvm_msrs *msrs = msrs_new(vs->nr_msrs);
    int r;

    for (unsigned i = 0; i < vs->nr_msrs; i++)
        msrs->entries[i].index = vs->msrs[i];
    r = ioctl(vs->fd, KVM_GET_MSRS, msrs);
    if (r < 0)
        return vcpu_error(vs, error, "KVM_GET_MSRS");
    if ((unsigned)r != vs->nr_msrs) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_FAILED,
                    "KVM: vCPU %u: cannot read MSR 0x%x", vs->cpu->index,
                    msrs->entries[r].index);
        return -EIO;
    }
    s->nr_msrs = vs->nr_msrs;
    for (unsigned i = 0; i < vs->nr_msrs; i++) {
        s->msrs[i].index = msrs->entries[i].index;
        s->msrs[i].value = msrs->entries[i].data;
    }
    return 0;
}

/* Write the saved MSRs that are (@deadline) or are not the TSC deadline. */
static int set_msrs(struct kvm_vcpu_state *vs, const struct x86_cpu_state *s,
                    bool deadline, GError **error)
{
    g_autofree struct kvm_msrs *msrs = msrs_new(s->nr_msrs);
    int r;

    msrs->nmsrs = 0;
    for (unsigned i = 0; i < s->nr_msrs; i++) {
        if ((s->msrs[i].index == MSR_IA32_TSC_DEADLINE) != deadline)
            continue;
        msrs->entries[msrs->nmsrs].index = s->msrs[i].index;
        msrs->entries[msrs->nmsrs].data = s->msrs[i].value;
        msrs->nmsrs++;
    }
    if (msrs->nmsrs == 0)
        return 0;
    r = ioctl(vs->fd, KVM_SET_MSRS, msrs);
    if (r < 0)
        return vcpu_error(vs, error, "KVM_SET_MSRS");
    if ((unsigned)r != msrs->nmsrs) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_FAILED,
                    "KVM: vCPU %u: MSR 0x%x refused the value 0x%llx",
                    vs->cpu->index, msrs->entries[r].index,
                    msrs->entries[r].data);
        return -EINVAL;
    }
    return 0;
}

static enum x86_mp_state mp_state_from_kvm(uint32_t mp_state)
{
    switch (mp_state) {
    case KVM_MP_STATE_UNINITIALIZED:
        return X86_MP_UNINITIALIZED;
    case KVM_MP_STATE_INIT_RECEIVED:
    case KVM_MP_STATE_SIPI_RECEIVED:    /* KVM accepts the SIPI on entry */
        return X86_MP_INIT_RECEIVED;
    case KVM_MP_STATE_HALTED:
        return X86_MP_HALTED;
    default:
        return X86_MP_RUNNABLE;
    }
}

static uint32_t mp_state_to_kvm(enum x86_mp_state mp_state)
{
    switch (mp_state) {
    case X86_MP_UNINITIALIZED:
        return KVM_MP_STATE_UNINITIALIZED;
    case X86_MP_INIT_RECEIVED:
        return KVM_MP_STATE_INIT_RECEIVED;
    case X86_MP_HALTED:
        return KVM_MP_STATE_HALTED;
    default:
        return KVM_MP_STATE_RUNNABLE;
    }
}

static void events_from_kvm(struct x86_cpu_state *d,
                            const struct kvm_vcpu_events *e)
{
    d->exception_pending = e->exception.injected || e->exception.pending;
    d->exception_has_error_code = e->exception.has_error_code;
    d->exception_vector = e->exception.nr;
    d->exception_error_code = e->exception.error_code;
    d->interrupt_pending = e->interrupt.injected;
    d->interrupt_soft = e->interrupt.soft;
    d->interrupt_vector = e->interrupt.nr;
    d->interrupt_shadow = e->interrupt.shadow;
    d->nmi_pending = e->nmi.injected || e->nmi.pending;
    d->nmi_masked = e->nmi.masked;
    d->sipi_vector = e->sipi_vector;
}

static void events_to_kvm(struct kvm_vcpu_events *e,
                          const struct x86_cpu_state *s)
{
    memset(e, 0, sizeof(*e));
    e->exception.injected = s->exception_pending;
    e->exception.has_error_code = s->exception_has_error_code;
    e->exception.nr = s->exception_vector;
    e->exception.error_code = s->exception_error_code;
    e->interrupt.injected = s->interrupt_pending;
    e->interrupt.soft = s->interrupt_soft;
    e->interrupt.nr = s->interrupt_vector;
    e->interrupt.shadow = s->interrupt_shadow;
    /* A half-injected NMI is simply delivered again. */
    e->nmi.pending = s->nmi_pending;
    e->nmi.masked = s->nmi_masked;
    e->sipi_vector = s->sipi_vector;
    /* Mimic has no SMM: clear it rather than leave KVM's. */
    e->flags = KVM_VCPUEVENT_VALID_NMI_PENDING |
               KVM_VCPUEVENT_VALID_SIPI_VECTOR | KVM_VCPUEVENT_VALID_SHADOW |
               KVM_VCPUEVENT_VALID_SMM;
}

/* ---- vCPU state ---------------------------------------------------------- */

int kvm_vcpu_get_state(struct vcpu *cpu, struct x86_cpu_state *state,
                       GError **error)
{
    struct kvm_vcpu_state *vs = cpu->accel_state;
    struct kvm_sregs2 sregs;
    struct kvm_regs regs;
    struct kvm_debugregs debugregs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_mp_state mp_state;
    int r;

    memset(state, 0, sizeof(*state));
    /* Registers are consistent only once the last I/O exit is completed. */
    r = kvm_vcpu_complete_io(vs, error);
    if (r < 0)
        return r;

    r = get_sregs(vs, &sregs, error);
    if (r < 0)
        return r;
    sregs_from_kvm(state, &sregs);
    if (ioctl(vs->fd, KVM_GET_REGS, &regs) < 0)
        return vcpu_error(vs, error, "KVM_GET_REGS");
    regs_from_kvm(state, &regs);
    r = get_xcr0(vs, &state->xcr0, error);
    if (r < 0)
        return r;
    r = get_fpu(vs, state->xsave, error);
    if (r < 0)
        return r;
    r = get_msrs(vs, state, error);
    if (r < 0)
        return r;
    if (ioctl(vs->fd, KVM_GET_LAPIC, &lapic) < 0)
        return vcpu_error(vs, error, "KVM_GET_LAPIC");
    memcpy(state->lapic, lapic.regs, sizeof(state->lapic));
    if (ioctl(vs->fd, KVM_GET_DEBUGREGS, &debugregs) < 0)
        return vcpu_error(vs, error, "KVM_GET_DEBUGREGS");
    for (unsigned i = 0; i < 4; i++)
        state->dr[i] = debugregs.db[i];
    state->dr[6] = debugregs.dr6;
    state->dr[7] = debugregs.dr7;
    if (ioctl(vs->fd, KVM_GET_MP_STATE, &mp_state) < 0)
        return vcpu_error(vs, error, "KVM_GET_MP_STATE");
    state->mp_state = mp_state_from_kvm(mp_state.mp_state);
    if (ioctl(vs->fd, KVM_GET_VCPU_EVENTS, &events) < 0)
        return vcpu_error(vs, error, "KVM_GET_VCPU_EVENTS");
    events_from_kvm(state, &events);
    return 0;
}

static int check_state(struct kvm_vcpu_state *vs, const struct x86_cpu_state *s,
                       GError **error)
{
    if (s->nr_msrs > X86_MAX_MSRS) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_FAILED,
                    "vCPU %u: the saved state holds %u MSRs (at most %u)",
                    vs->cpu->index, s->nr_msrs, X86_MAX_MSRS);
        return -EINVAL;
    }
    if (s->mp_state > X86_MP_HALTED) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_FAILED,
                    "vCPU %u: the saved state has an unknown run state %u",
                    vs->cpu->index, (unsigned)s->mp_state);
        return -EINVAL;
    }
    return 0;
}

/*
 * The order matters: the APIC base (in the special registers) before the
 * LAPIC page, whose ID format follows the x2APIC mode (api.rst,
 * KVM_SET_LAPIC and KVM_CAP_X2APIC_API); the TSC deadline after the LAPIC,
 * as KVM ignores it unless the LAPIC timer is in TSC-deadline mode (Intel
 * SDM vol. 3, 10.5.4.1); the run state and pending events last.
 */
int kvm_vcpu_set_state(struct vcpu *cpu, const struct x86_cpu_state *state,
                       GError **error)
{
    struct kvm_vcpu_state *vs = cpu->accel_state;
    struct kvm_sregs2 sregs;
    struct kvm_regs regs;
    struct kvm_debugregs debugregs = { 0 };
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_mp_state mp_state;
    int r;

    r = check_state(vs, state, error);
    if (r < 0)
        return r;
    /* Finish an I/O instruction first, or it would land on the new state. */
    r = kvm_vcpu_complete_io(vs, error);
    if (r < 0)
        return r;

    sregs_to_kvm(&sregs, state);
    r = set_sregs(vs, &sregs, error);
    if (r < 0)
        return r;
    regs_to_kvm(&regs, state);
    if (ioctl(vs->fd, KVM_SET_REGS, &regs) < 0)
        return vcpu_error(vs, error, "KVM_SET_REGS");
    r = set_xcr0(vs, state->xcr0, error);
    if (r < 0)
        return r;
    r = set_fpu(vs, state->xsave, error);
    if (r < 0)
        return r;
    r = set_msrs(vs, state, false, error);
    if (r < 0)
        return r;
    memcpy(lapic.regs, state->lapic, sizeof(lapic.regs));
    if (ioctl(vs->fd, KVM_SET_LAPIC, &lapic) < 0)
        return vcpu_error(vs, error, "KVM_SET_LAPIC");
    r = set_msrs(vs, state, true, error);
    if (r < 0)
        return r;
    for (unsigned i = 0; i < 4; i++)
        debugregs.db[i] = state->dr[i];
    debugregs.dr6 = state->dr[6];
    debugregs.dr7 = state->dr[7];
    if (ioctl(vs->fd, KVM_SET_DEBUGREGS, &debugregs) < 0)
        return vcpu_error(vs, error, "KVM_SET_DEBUGREGS");
    mp_state.mp_state = mp_state_to_kvm(state->mp_state);
    if (ioctl(vs->fd, KVM_SET_MP_STATE, &mp_state) < 0)
        return vcpu_error(vs, error, "KVM_SET_MP_STATE");
    events_to_kvm(&events, state);
    if (ioctl(vs->fd, KVM_SET_VCPU_EVENTS, &events) < 0)
        return vcpu_error(vs, error, "KVM_SET_VCPU_EVENTS");
    return 0;
}

/* ---- RESET --------------------------------------------------------------- */

static void set_lapic_reg(uint8_t *page, unsigned offset, uint32_t value)
{
    memcpy(page + offset, &value, 4);
}

static uint64_t msr_reset_value(uint32_t index)
{
    switch (index) {
    case MSR_IA32_CR_PAT:
        return MSR_IA32_CR_PAT_RESET;
    case MSR_IA32_MISC_ENABLE:
        return MSR_IA32_MISC_ENABLE_FAST_STRING;
    default:
        return 0;   /* TSC, SYSCALL/SYSENTER, MTRRs disabled, PV MSRs off */
    }
}

/*
 * Intel SDM vol. 3, table 9-1 ("IA-32 and Intel 64 Processor States
 * Following Power-up, Reset, or INIT"), with the x87 unit as FINIT leaves
 * it, and the local APIC as 10.4.7.1 describes it after RESET (but LINT0).
 */
int kvm_vcpu_build_reset_state(struct kvm_vcpu_state *vs,
                               struct x86_cpu_state *s, GError **error)
{
    const struct x86_segment data = {   /* data, read/write, accessed */
        .limit = 0xffff, .type = 3, .present = 1, .s = 1,
    };
    unsigned index = vs->cpu->index;
    struct kvm_lapic_state lapic;
    uint16_t fcw = 0x37f;
    uint32_t mxcsr = 0x1f80;
    uint64_t xstate_bv = XSTATE_X87_SSE;
    uint32_t version;

    memset(s, 0, sizeof(*s));
    s->rip = 0xfff0;
    s->rflags = 0x2;
    s->gpr[2] = vs->cpuid_signature;    /* EDX: family, model, stepping */
    s->cs = (struct x86_segment){
        .selector = 0xf000, .base = 0xffff0000, .limit = 0xffff,
        .type = 0xb, .present = 1, .s = 1,     /* code, RX, accessed */
    };
    s->ds = s->es = s->fs = s->gs = s->ss = data;
    /* VM entry wants a busy TSS; 11 is the busy 32-bit type. */
    s->tr = (struct x86_segment){ .limit = 0xffff, .type = 0xb, .present = 1 };
    s->ldt = (struct x86_segment){ .limit = 0xffff, .type = 2, .present = 1 };
    s->gdt.limit = 0xffff;
    s->idt.limit = 0xffff;
    s->cr0 = 0x60000010;
    s->apic_base = APIC_BASE_DEFAULT | APIC_BASE_ENABLE |
                   (index == 0 ? APIC_BASE_BSP : 0);
    s->dr[6] = 0xffff0ff0;
    s->dr[7] = 0x400;
    s->xcr0 = 1;

    memcpy(s->xsave + FXSAVE_FCW, &fcw, 2);
    memcpy(s->xsave + FXSAVE_MXCSR, &mxcsr, 4);
    memcpy(s->xsave + XSAVE_HEADER_XSTATE_BV, &xstate_bv, 8);

    s->nr_msrs = vs->nr_msrs;
    for (unsigned i = 0; i < vs->nr_msrs; i++) {
        s->msrs[i].index = vs->msrs[i];
        s->msrs[i].value = msr_reset_value(vs->msrs[i]);
    }

    /* Keep the version register KVM reports; everything else is reset. */
    if (ioctl(vs->fd, KVM_GET_LAPIC, &lapic) < 0)
        return vcpu_error(vs, error, "KVM_GET_LAPIC");
    memcpy(&version, lapic.regs + 0x30, 4);
    set_lapic_reg(s->lapic, 0x30, version);
    set_lapic_reg(s->lapic, APIC_ID, index << 24);
    set_lapic_reg(s->lapic, APIC_DFR, 0xffffffff);
    set_lapic_reg(s->lapic, APIC_SVR, 0xff);
    if (((version >> 16) & 0xff) >= 6)      /* the CMCI LVT exists */
        set_lapic_reg(s->lapic, APIC_LVT_CMCI, APIC_LVT_MASKED);
    for (unsigned reg = APIC_LVT_TIMER; reg <= APIC_LVT_ERROR; reg += 0x10)
        set_lapic_reg(s->lapic, reg, APIC_LVT_MASKED);
    /*
     * The BSP's LINT0 in ExtINT mode, so that 8259 interrupts reach it before
     * firmware programs the LAPIC (virtual wire mode, MP spec 1.4, 3.6.2.2):
     * what KVM itself does at vCPU creation (KVM_X86_QUIRK_LINT0_REENABLED)
     * and what PC firmware expects.
     */
    if (index == 0)
        set_lapic_reg(s->lapic, APIC_LVT_LINT0, APIC_DELIVERY_EXTINT);

    /* The BSP runs; APs wait for INIT and SIPI (SDM vol. 3, 8.4). */
    s->mp_state = index == 0 ? X86_MP_RUNNABLE : X86_MP_UNINITIALIZED;
    return 0;
}

/* ---- platform state ------------------------------------------------------ */

/*
 * The 8259 and 8254 fields Mimic's platform state shares with KVM's
 * structures, named alike on both sides: one list, copied either way.
 */
#define PIC_FIELDS(X) X(last_irr) X(irr) X(imr) X(isr) X(priority_add)     \
    X(irq_base) X(read_reg_select) X(poll) X(special_mask) X(init_state)   \
    X(auto_eoi) X(rotate_on_auto_eoi) X(special_fully_nested_mode)         \
    X(init4) X(elcr) X(elcr_mask)
#define PIT_FIELDS(X) X(count) X(latched_count) X(count_latched)            \
    X(status_latched) X(status) X(read_state) X(write_state) X(write_latch) \
    X(rw_mode) X(mode) X(bcd) X(gate) X(count_load_time)

static void pic_from_kvm(struct x86_pic_state *d, const struct kvm_pic_state *s)
{
    PIC_FIELDS(COPY_FIELD)
}

static void pic_to_kvm(struct kvm_pic_state *d, const struct x86_pic_state *s)
{
    PIC_FIELDS(COPY_FIELD)
}

static void pit_from_kvm(struct x86_pit_channel *d,
                         const struct kvm_pit_channel_state *s)
{
    PIT_FIELDS(COPY_FIELD)
}

static void pit_to_kvm(struct kvm_pit_channel_state *d,
                       const struct x86_pit_channel *s)
{
    PIT_FIELDS(COPY_FIELD)
}

int kvm_get_platform_state(struct machine *m, struct x86_platform_state *state,
                           GError **error)
{
    struct kvm_machine_state *ks = m->accel_state;
    struct kvm_irqchip chip;
    struct kvm_pit_state2 pit;
    struct kvm_clock_data clock = { 0 };
    int r = 0;

    memset(state, 0, sizeof(*state));
    for (unsigned i = 0; i < 2; i++) {
        memset(&chip, 0, sizeof(chip));
        chip.chip_id = i == 0 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
        if (ioctl(ks->vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
            return vm_error(error, "KVM_GET_IRQCHIP (8259)");
        pic_from_kvm(&state->pic[i], &chip.chip.pic);
    }
    memset(&chip, 0, sizeof(chip));
    chip.chip_id = KVM_IRQCHIP_IOAPIC;
    if (ioctl(ks->vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
        return vm_error(error, "KVM_GET_IRQCHIP (I/O APIC)");
    state->ioapic.base_address = chip.chip.ioapic.base_address;
    state->ioapic.ioregsel = chip.chip.ioapic.ioregsel;
    state->ioapic.id = chip.chip.ioapic.id;
    state->ioapic.irr = chip.chip.ioapic.irr;
    for (unsigned pin = 0; pin < X86_IOAPIC_PINS; pin++)
        state->ioapic.redirection[pin] = chip.chip.ioapic.redirtbl[pin].bits;

    if (ioctl(ks->vm_fd, KVM_GET_PIT2, &pit) < 0)
        return vm_error(error, "KVM_GET_PIT2");
    for (unsigned i = 0; i < 3; i++)
        pit_from_kvm(&state->pit[i], &pit.channels[i]);
    state->pit_flags = pit.flags;

    /* While paused the guest clock is the value taken at pause. */
    g_mutex_lock(&ks->clock_lock);
    if (ks->clock_paused)
        state->clock_ns = ks->paused_clock_ns;
    else if (ioctl(ks->vm_fd, KVM_GET_CLOCK, &clock) < 0)
        r = vm_error(error, "KVM_GET_CLOCK");
    else
        state->clock_ns = clock.clock;
    g_mutex_unlock(&ks->clock_lock);
    return r;
}

static int check_platform_state(const struct x86_platform_state *s,
                                GError **error)
{
    for (unsigned i = 0; i < 3; i++) {
        const struct x86_pit_channel *c = &s->pit[i];

        /* 8254 modes 0-5; 0xff is KVM's "never programmed". */
        if ((c->mode > 5 && c->mode != 0xff) || c->rw_mode > 3 ||
            c->count > 0x10000) {
            g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_FAILED,
                        "the saved 8254 counter %u is invalid (mode %u, "
                        "access %u, count %u)", i, c->mode, c->rw_mode,
                        c->count);
            return -EINVAL;
        }
    }
    return 0;
}

int kvm_set_platform_state(struct machine *m,
                           const struct x86_platform_state *state,
                           GError **error)
{
    struct kvm_machine_state *ks = m->accel_state;
    struct kvm_irqchip chip;
    struct kvm_pit_state2 pit = { 0 };
    struct kvm_clock_data clock = { 0 };
    int r;

    r = check_platform_state(state, error);
    if (r < 0)
        return r;
    for (unsigned i = 0; i < 2; i++) {
        memset(&chip, 0, sizeof(chip));
        chip.chip_id = i == 0 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
        pic_to_kvm(&chip.chip.pic, &state->pic[i]);
        if (ioctl(ks->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
            return vm_error(error, "KVM_SET_IRQCHIP (8259)");
    }
    memset(&chip, 0, sizeof(chip));
    chip.chip_id = KVM_IRQCHIP_IOAPIC;
    chip.chip.ioapic.base_address = state->ioapic.base_address;
    chip.chip.ioapic.ioregsel = state->ioapic.ioregsel;
    chip.chip.ioapic.id = state->ioapic.id;
    chip.chip.ioapic.irr = state->ioapic.irr;
    for (unsigned pin = 0; pin < X86_IOAPIC_PINS; pin++)
        chip.chip.ioapic.redirtbl[pin].bits = state->ioapic.redirection[pin];
    if (ioctl(ks->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
        return vm_error(error, "KVM_SET_IRQCHIP (I/O APIC)");

    for (unsigned i = 0; i < 3; i++)
        pit_to_kvm(&pit.channels[i], &state->pit[i]);
    pit.flags = state->pit_flags;
    if (ioctl(ks->vm_fd, KVM_SET_PIT2, &pit) < 0)
        return vm_error(error, "KVM_SET_PIT2");

    /* While paused, resume sets the clock; set it now as well. */
    g_mutex_lock(&ks->clock_lock);
    clock.clock = state->clock_ns;
    if (ioctl(ks->vm_fd, KVM_SET_CLOCK, &clock) < 0)
        r = vm_error(error, "KVM_SET_CLOCK");
    else if (ks->clock_paused)
        ks->paused_clock_ns = state->clock_ns;
    g_mutex_unlock(&ks->clock_lock);
    return r;
}
