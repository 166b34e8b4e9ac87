/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's CPUID under KVM: what the kernel supports, minus what Mimic
 * does not emulate, with each vCPU's APIC ID and the machine's topology.
 */
#define G_LOG_DOMAIN "mimic-kvm"

#include "engine/accel-kvm.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <asm/kvm_para.h>

#include "engine/machine.h"
#include "engine/vcpu.h"

/* CPUID feature bits (Intel SDM vol. 2A, CPUID; AMD APM vol. 3, appendix E). */
#define CPUID_1_ECX_MONITOR (1u << 3)
#define CPUID_1_ECX_VMX (1u << 5)
#define CPUID_1_ECX_SMX (1u << 6)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_EDX_HTT (1u << 28)
#define CPUID_7_0_EBX_SGX (1u << 2)
#define CPUID_7_0_ECX_PKU (1u << 3)
#define CPUID_7_0_ECX_OSPKE (1u << 4)
#define CPUID_7_0_ECX_WAITPKG (1u << 5)
#define CPUID_7_0_ECX_SGX_LC (1u << 30)
#define CPUID_D_0_EAX_AMX ((1u << 17) | (1u << 18))
#define CPUID_80000001_ECX_SVM (1u << 2)
#define CPUID_80000001_ECX_MWAITX (1u << 29)

/* Paravirtual features whose state lives in the kernel or in saved MSRs. */
#define KVM_PV_FEATURES_KEPT                                                 \
    ((1u << KVM_FEATURE_CLOCKSOURCE) | (1u << KVM_FEATURE_NOP_IO_DELAY) |   \
     (1u << KVM_FEATURE_CLOCKSOURCE2) | (1u << KVM_FEATURE_ASYNC_PF) |      \
     (1u << KVM_FEATURE_STEAL_TIME) | (1u << KVM_FEATURE_PV_EOI) |          \
     (1u << KVM_FEATURE_PV_UNHALT) | (1u << KVM_FEATURE_PV_TLB_FLUSH) |     \
     (1u << KVM_FEATURE_ASYNC_PF_VMEXIT) | (1u << KVM_FEATURE_PV_SEND_IPI) |\
     (1u << KVM_FEATURE_POLL_CONTROL) | (1u << KVM_FEATURE_PV_SCHED_YIELD) |\
     (1u << KVM_FEATURE_ASYNC_PF_INT) |                                     \
     (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT))

static unsigned bits_for(unsigned count)
{
    unsigned bits = 0;

    while ((1u << bits) < count)
        bits++;
    return bits;
}

static bool vendor_is_amd(const struct kvm_cpuid2 *cpuid)
{
    for (unsigned i = 0; i < cpuid->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

        if (e->function == 0) {
            /* "AuthenticAMD" / "HygonGenuine": EBX, EDX, ECX */
            return (e->ebx == 0x68747541 && e->edx == 0x69746e65) ||
                   (e->ebx == 0x6f677948 && e->edx == 0x6e65476e);
        }
    }
    return false;
}

static uint32_t max_basic_leaf(const struct kvm_cpuid2 *cpuid)
{
    for (unsigned i = 0; i < cpuid->nent; i++)
        if (cpuid->entries[i].function == 0)
            return cpuid->entries[i].eax;
    return 0;
}

/* Cache topology leaves 4 and 0x8000001D: L1/L2 per core, L3 shared by all. */
static void set_cache_sharing(struct kvm_cpuid_entry2 *e, unsigned core_bits,
                              bool set_cores)
{
    unsigned level = (e->eax >> 5) & 7;

    if ((e->eax & 0x1f) == 0)   /* no more caches */
        return;
    e->eax &= ~(0xfffu << 14);
    if (level >= 3)
        e->eax |= ((1u << core_bits) - 1) << 14;
    if (set_cores) {
        e->eax &= ~(0x3fu << 26);
        e->eax |= ((1u << core_bits) - 1) << 26;
    }
}

static void add_topology_leaf(struct kvm_cpuid2 *c, uint32_t function,
                              unsigned index, unsigned nr_vcpus,
                              unsigned core_bits)
{
    /* Intel SDM vol. 2A, CPUID leaf 0BH: SMT level (1 thread), core level. */
    for (unsigned level = 0; level < 3; level++) {
        struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];

        memset(e, 0, sizeof(*e));
        e->function = function;
        e->index = level;
        e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
        e->edx = index;
        switch (level) {
        case 0:
            e->eax = 0;
            e->ebx = 1;
            e->ecx = (1u << 8) | level;
            break;
        case 1:
            e->eax = core_bits;
            e->ebx = nr_vcpus;
            e->ecx = (2u << 8) | level;
            break;
        default:
            e->ecx = level;
            break;
        }
    }
}

/*
 * The guest's CPUID: what KVM supports (api.rst, KVM_GET_SUPPORTED_CPUID),
 * minus what needs device or userspace support Mimic lacks, with this vCPU's
 * APIC ID and a topology of m->nr_vcpus single-threaded cores in one package.
 */
int kvm_setup_cpuid(struct kvm_vcpu_state *vs, GError **error)
{
    struct machine *m = vs->cpu->machine;
    const struct kvm_cpuid2 *sup = vs->ks->supported_cpuid;
    unsigned index = vs->cpu->index;
    unsigned nr_vcpus = MAX(m->nr_vcpus, 1);
    unsigned core_bits = bits_for(nr_vcpus);
    bool amd = vendor_is_amd(sup);
    bool has_leaf_1f = false;
    g_autofree struct kvm_cpuid2 *c =
        g_malloc0(sizeof(*c) +
                  (sup->nent + 6) * sizeof(struct kvm_cpuid_entry2));

    for (unsigned i = 0; i < sup->nent; i++) {
        struct kvm_cpuid_entry2 e = sup->entries[i];

        switch (e.function) {
        case 1:
            vs->cpuid_signature = e.eax;
            e.ebx = (e.ebx & 0xffff) | ((1u << core_bits) & 0xff) << 16 |
                    (index & 0xff) << 24;
            e.ecx &= ~(CPUID_1_ECX_MONITOR | CPUID_1_ECX_VMX | CPUID_1_ECX_SMX);
            if (!vs->ks->caps.tsc_deadline)
                e.ecx &= ~CPUID_1_ECX_TSC_DEADLINE;
            if (nr_vcpus > 1)
                e.edx |= CPUID_1_EDX_HTT;
            else
                e.edx &= ~CPUID_1_EDX_HTT;
            break;
        case 4:
            set_cache_sharing(&e, core_bits, true);
            break;
        case 5:     /* MONITOR/MWAIT is hidden */
            e.eax = e.ebx = e.ecx = e.edx = 0;
            break;
        case 7:
            if (e.index == 0) {
                e.ebx &= ~CPUID_7_0_EBX_SGX;
                e.ecx &= ~(CPUID_7_0_ECX_PKU | CPUID_7_0_ECX_OSPKE |
                           CPUID_7_0_ECX_WAITPKG | CPUID_7_0_ECX_SGX_LC);
            }
            break;
        case 0xb:
            continue;
        case 0x1f:
            has_leaf_1f = true;
            continue;
        case 0xd:
            /* The saved XSAVE area is 4 KiB: AMX tile state does not fit. */
            if (e.index == 0)
                e.eax &= ~CPUID_D_0_EAX_AMX;
            if (e.index == 17 || e.index == 18)
                continue;
            break;
        case 0x12:  /* SGX */
            continue;
        case 0x80000001:
            e.ecx &= ~(CPUID_80000001_ECX_SVM | CPUID_80000001_ECX_MWAITX);
            break;
        case 0x80000008:
            if (amd)
                e.ecx = (e.ecx & ~0xf0ffu) | core_bits << 12 | (nr_vcpus - 1);
            break;
        case 0x8000000a:    /* SVM features: nested SVM is hidden */
            e.eax = e.ebx = e.ecx = e.edx = 0;
            break;
        case 0x8000001d:
            if (amd)
                set_cache_sharing(&e, core_bits, false);
            break;
        case 0x8000001e:
            /* AMD APM vol. 3, Fn8000_001E: extended APIC ID, 1 thread/core */
            e.eax = index;
            e.ebx = index & 0xff;
            e.ecx = 0;
            break;
        case KVM_CPUID_SIGNATURE:
            e.eax = KVM_CPUID_FEATURES;
            memcpy(&e.ebx, "KVMK", 4);
            memcpy(&e.ecx, "VMKV", 4);
            memcpy(&e.edx, "M\0\0\0", 4);
            break;
        case KVM_CPUID_FEATURES:
            e.eax &= KVM_PV_FEATURES_KEPT;
            e.ebx = e.ecx = e.edx = 0;
            break;
        default:
            break;
        }
        c->entries[c->nent++] = e;
    }
    if (max_basic_leaf(sup) >= 0xb)
        add_topology_leaf(c, 0xb, index, nr_vcpus, core_bits);
    if (has_leaf_1f && max_basic_leaf(sup) >= 0x1f)
        add_topology_leaf(c, 0x1f, index, nr_vcpus, core_bits);

    if (ioctl(vs->fd, KVM_SET_CPUID2, c) < 0)
        return kvm_ioctl_error(error, errno, "KVM_SET_CPUID2", index);
    return 0;
}
