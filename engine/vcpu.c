/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vCPU thread: park while the machine is paused or a request is pending,
 * otherwise run the accelerator until it returns, and post what it reports.
 */
#define G_LOG_DOMAIN "mimic-vcpu"

#include "engine/vcpu.h"

#include "engine/machine.h"

/* Whether the vCPU must stay out of the guest; run_lock held. */
static bool must_park(struct machine *m)
{
    return !m->run || g_atomic_int_get(&m->requests) != 0;
}

static gpointer vcpu_thread(gpointer data)
{
    struct vcpu *cpu = data;
    struct machine *m = cpu->machine;

    for (;;) {
        enum vcpu_exit exit;

        g_mutex_lock(&m->run_lock);
        while (must_park(m) && !m->quit) {
            if (!cpu->stopped) {
                cpu->stopped = true;
                g_cond_broadcast(&m->run_cond);
            }
            g_cond_wait(&m->run_cond, &m->run_lock);
        }
        if (m->quit) {
            cpu->stopped = true;
            g_cond_broadcast(&m->run_cond);
            g_mutex_unlock(&m->run_lock);
            break;
        }
        cpu->stopped = false;
        g_mutex_unlock(&m->run_lock);

        exit = m->accel->vcpu_run(cpu);
        switch (exit) {
        case VCPU_EXIT_KICKED:
            break;
        case VCPU_EXIT_SHUTDOWN:
            g_info("vCPU %u: triple fault, resetting the machine", cpu->index);
            machine_request(m, MACHINE_REQUEST_RESET, 0);
            break;
        case VCPU_EXIT_ERROR:
            machine_request(m, MACHINE_REQUEST_FAIL, 1);
            break;
        }
    }
    return NULL;
}

int vcpu_start_thread(struct vcpu *cpu, GError **error)
{
    g_autofree char *name = g_strdup_printf("vcpu%u", cpu->index);

    cpu->stopped = true;
    cpu->thread = g_thread_try_new(name, vcpu_thread, cpu, error);
    return cpu->thread ? 0 : -1;
}
