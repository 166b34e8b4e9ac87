/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private header of the KVM accelerator: the per-machine and per-vCPU state
 * shared by accel-kvm.c (VM, vCPUs, run loop) and accel-kvm-state.c
 * (architectural state). Written from the KVM API documentation,
 * Documentation/virt/kvm/api.rst.
 */
#pragma once

#include <glib.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/accel.h"
#include "engine/x86-cpu-state.h"

struct machine;
struct vcpu;

/* Optional KVM capabilities; the required ones are checked in init. */
struct kvm_caps {
    bool sregs2;            /* KVM_GET/SET_SREGS2 */
    bool xsave;             /* KVM_GET/SET_XSAVE; else KVM_GET/SET_FPU */
    bool xcrs;              /* KVM_GET/SET_XCRS */
    bool tsc_deadline;      /* in-kernel TSC-deadline LAPIC timer */
    size_t xsave_size;      /* KVM_CAP_XSAVE2: bytes KVM_GET_XSAVE2 copies */
};

struct kvm_machine_state {
    struct machine *machine;
    int kvm_fd;                     /* /dev/kvm */
    int vm_fd;
    size_t run_size;                /* KVM_GET_VCPU_MMAP_SIZE */
    struct kvm_caps caps;
    struct kvm_cpuid2 *supported_cpuid;     /* KVM_GET_SUPPORTED_CPUID */
    struct kvm_msr_list *msr_index_list;    /* KVM_GET_MSR_INDEX_LIST */
    unsigned nr_slots;              /* slot ids handed out so far */
    int max_slots;                  /* KVM_CAP_NR_MEMSLOTS */
    GMutex slots_lock;
    GHashTable *slot_of_region;     /* region -> slot id + 1 */
    GHashTable *slot_of_region_inverse; /* slot id + 1 -> region */

    /*
     * The in-kernel chips as KVM created them: what platform_reset puts
     * back (a PC's interrupt controllers and timer at power-on).
     */
    struct kvm_irqchip reset_pic[2];
    struct kvm_irqchip reset_ioapic;
    struct kvm_pit_state2 reset_pit;

    /* Guest clock (kvmclock) held while paused; see clock_pause. */
    GMutex clock_lock;
    bool clock_paused;
    uint64_t paused_clock_ns;
};

struct kvm_vcpu_state {
    struct vcpu *cpu;
    struct kvm_machine_state *ks;
    int fd;
    struct kvm_run *run;            /* shared with KVM, run_size bytes */
    uint32_t cpuid_signature;       /* CPUID.1:EAX, EDX at RESET */

    /* MSRs saved and restored, probed at vcpu_init (X86_MAX_MSRS at most). */
    unsigned nr_msrs;
    uint32_t msrs[X86_MAX_MSRS];

    /*
     * The thread inside vcpu_run, for the kick signal; kick_lock keeps it
     * from ending while vcpu_kick signals it.
     */
    GMutex kick_lock;
    bool kick_pending;              /* atomic: kicked since the last KICKED */
    bool thread_known;
    pthread_t thread;
    /* The last thread whose signal mask vcpu_run fixed up. */
    bool sigmask_thread_known;
    pthread_t sigmask_thread;
};

/* accel-kvm.c */
/* Dispatch the I/O or MMIO exit in vs->run; false for any other exit. */
bool kvm_vcpu_handle_io_exit(struct kvm_vcpu_state *vs);
/*
 * Finish a port I/O or MMIO instruction whose exit was handled but which KVM
 * completes only on the next KVM_RUN (api.rst, "The kvm_run structure", the
 * NOTE under KVM_EXIT_IO/KVM_EXIT_MMIO): re-enter with immediate_exit set.
 */
int kvm_vcpu_complete_io(struct kvm_vcpu_state *vs, GError **error);
/* CPUID for this vCPU (accel-kvm-cpuid.c). */
int kvm_setup_cpuid(struct kvm_vcpu_state *vs, GError **error);
/*
 * Set @error from @saved_errno after a failed ioctl on vCPU @vcpu_index
 * (UINT_MAX: on the VM); returns -saved_errno.
 */
int kvm_ioctl_error(GError **error, int saved_errno, const char *what,
                    unsigned vcpu_index);

/* accel-kvm-state.c */
int kvm_vcpu_get_state(struct vcpu *cpu, struct x86_cpu_state *state,
                       GError **error);
int kvm_vcpu_set_state(struct vcpu *cpu, const struct x86_cpu_state *state,
                       GError **error);
/* The SDM power-on/RESET state of @vs as an x86_cpu_state (table 9-1). */
int kvm_vcpu_build_reset_state(struct kvm_vcpu_state *vs,
                               struct x86_cpu_state *state, GError **error);
/* Choose the MSRs to save for @vs: call after KVM_SET_CPUID2. */
void kvm_vcpu_probe_msrs(struct kvm_vcpu_state *vs);
int kvm_get_platform_state(struct machine *m, struct x86_platform_state *state,
                           GError **error);
int kvm_set_platform_state(struct machine *m,
                           const struct x86_platform_state *state,
                           GError **error);
