/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One virtual CPU and its thread, which runs the accelerator's loop. */
#pragma once

#include <glib.h>
#include <stdbool.h>

struct machine;

struct vcpu {
    struct machine *machine;
    unsigned index;
    GThread *thread;
    void *accel_state;      /* owned by the accelerator */

    /* Guarded by machine->run_lock. */
    bool stopped;           /* the thread is parked outside vcpu_run */
};

int vcpu_start_thread(struct vcpu *cpu, GError **error);
