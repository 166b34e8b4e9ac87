/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Accelerator interface: what runs the vCPUs. KVM and the JIT implement the
 * same ops; machine code does not care which one runs it.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "engine/x86-cpu-state.h"

struct machine;
struct vcpu;

/* Why vcpu_run returned to the generic vCPU loop. */
enum vcpu_exit {
    VCPU_EXIT_KICKED,     /* vcpu_kick, a signal, or a request to look at */
    VCPU_EXIT_SHUTDOWN,   /* triple fault: the machine resets */
    VCPU_EXIT_ERROR,      /* the accelerator cannot go on: the VM fails */
};

struct accel_ops {
    const char *name;
    /* Create the accelerator's VM from m->memory; in-kernel chips etc. */
    int (*init)(struct machine *m, GError **error);
    void (*destroy)(struct machine *m);

    int (*vcpu_init)(struct vcpu *cpu, GError **error);
    void (*vcpu_destroy)(struct vcpu *cpu);
    /*
     * Run the guest on the calling (vCPU) thread. MMIO and port I/O exits are
     * dispatched to m->memory / m->io inside; returns only for the reasons
     * above. Must return VCPU_EXIT_KICKED promptly after vcpu_kick, even if
     * the kick came before the call.
     */
    enum vcpu_exit (*vcpu_run)(struct vcpu *cpu);
    /* From any thread: make vcpu_run return soon. */
    void (*vcpu_kick)(struct vcpu *cpu);
    /* Put the CPU in its power-on/RESET state (SDM vol. 3, 9.1.1). Stopped vCPU only. */
    int (*vcpu_reset)(struct vcpu *cpu, GError **error);
    /* Architectural state; only while the vCPU is stopped. */
    int (*vcpu_get_state)(struct vcpu *cpu, struct x86_cpu_state *state,
                          GError **error);
    int (*vcpu_set_state)(struct vcpu *cpu, const struct x86_cpu_state *state,
                          GError **error);

    /* Interrupt controllers, timer and guest clock; only while paused. */
    int (*get_platform_state)(struct machine *m, struct x86_platform_state *state,
                              GError **error);
    int (*set_platform_state)(struct machine *m,
                              const struct x86_platform_state *state,
                              GError **error);
    /* Reset the interrupt controllers and timer (machine reset). */
    int (*platform_reset)(struct machine *m, GError **error);

    /* Raise/lower a machine interrupt line (GSI); any thread. */
    void (*set_irq)(struct machine *m, unsigned gsi, bool level);

    /* Stop/restart the guest-visible clock around a pause. */
    void (*clock_pause)(struct machine *m);
    void (*clock_resume)(struct machine *m);
};

/* The accelerator called @name ("kvm", "jit"), or NULL with an error saying why. */
const struct accel_ops *accel_find(const char *name, GError **error);

extern const struct accel_ops accel_kvm_ops;
