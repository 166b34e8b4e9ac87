/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Machine life cycle shared by every machine type: guest RAM, the maps, the
 * accelerator and vCPUs, run control (pause/resume/reset) and the requests
 * that guests post from vCPU threads.
 */
#define G_LOG_DOMAIN "mimic-machine"

#include "engine/machine.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "engine/chardev.h"
#include "engine/vm.h"
#include "hw/device.h"

static void *alloc_guest_ram(uint64_t size, GError **error)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (p == MAP_FAILED) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "cannot allocate %" G_GUINT64_FORMAT " MiB of guest RAM: %s",
                    size >> 20, g_strerror(errno));
        return NULL;
    }
    madvise(p, size, MADV_HUGEPAGE);
    return p;
}

struct chardev *machine_open_chardev(struct machine *m, const char *spec,
                                    GError **error)
{
    struct chardev *chr = chardev_open(spec, m->context, error);

    if (chr)
        g_ptr_array_add(m->chardevs, chr);
    return chr;
}

static int apply_loaders(struct machine *m, GError **error);

struct machine *machine_create(struct vm_config *config, struct vclock *clock,
                               GMainContext *context, GError **error)
{
    struct machine *m = g_new0(struct machine, 1);
    g_autoptr(GError) local = NULL;
    bool automatic;

    m->config = config;
    m->clock = clock;
    m->context = context;
    g_mutex_init(&m->device_lock);
    g_mutex_init(&m->run_lock);
    g_cond_init(&m->run_cond);
    m->devices = g_ptr_array_new();
    m->chardevs = g_ptr_array_new();
    m->memory = memory_map_new("memory", UINT64_C(1) << 52, &m->device_lock);
    m->io = memory_map_new("ioport", 0x10000, &m->device_lock);

    if (config->smp < 1 || config->smp > 64) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "-smp %u: between 1 and 64 vCPUs are supported", config->smp);
        goto out_destroy;
    }
    automatic = strcmp(config->accel, "auto") == 0;
    m->accel = accel_find(automatic ? "kvm" : config->accel, error);
    if (!m->accel)
        goto out_destroy;

    m->ram_size = config->ram_size;
    m->nr_vcpus = config->smp;
    m->ram = alloc_guest_ram(m->ram_size, error);
    if (!m->ram)
        goto out_destroy;

    if (strcmp(config->machine, "pc") == 0) {
        if (machine_pc_build(m, error) < 0)
            goto out_destroy;
    } else {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "unknown machine type \"%s\" (known: pc)", config->machine);
        goto out_destroy;
    }

    if (m->accel->init(m, &local) < 0) {
        /* No -accel given: where KVM cannot run, the JIT does. */
        if (!automatic || !g_error_matches(local, MIMIC_ERROR, MIMIC_ERROR_NO_ACCEL)) {
            g_propagate_error(error, g_steal_pointer(&local));
            m->accel = NULL;
            goto out_destroy;
        }
        g_message("%s; running on the JIT (software CPU)", local->message);
        g_clear_error(&local);
        m->accel = accel_find("jit", error);
        if (!m->accel || m->accel->init(m, error) < 0) {
            m->accel = NULL;
            goto out_destroy;
        }
    }

    m->vcpus = g_new0(struct vcpu *, m->nr_vcpus);
    for (unsigned i = 0; i < m->nr_vcpus; i++) {
        struct vcpu *cpu = g_new0(struct vcpu, 1);

        cpu->machine = m;
        cpu->index = i;
        cpu->stopped = true;
        if (m->accel->vcpu_init(cpu, error) < 0) {
            g_free(cpu);
            goto out_destroy;
        }
        m->vcpus[i] = cpu;
    }
    if (apply_loaders(m, error) < 0)
        goto out_destroy;
    if (m->after_reset && m->after_reset(m, error) < 0)
        goto out_destroy;
    return m;

out_destroy:
    machine_destroy(m);
    return NULL;
}

int machine_start_vcpus(struct machine *m, GError **error)
{
    for (unsigned i = 0; i < m->nr_vcpus; i++)
        if (vcpu_start_thread(m->vcpus[i], error) < 0)
            return -1;
    return 0;
}

static void stop_vcpu_threads(struct machine *m)
{
    g_mutex_lock(&m->run_lock);
    m->quit = true;
    m->run = false;
    g_cond_broadcast(&m->run_cond);
    g_mutex_unlock(&m->run_lock);
    for (unsigned i = 0; i < m->nr_vcpus; i++) {
        struct vcpu *cpu = m->vcpus[i];

        if (cpu && cpu->thread) {
            m->accel->vcpu_kick(cpu);
            g_thread_join(cpu->thread);
            cpu->thread = NULL;
        }
    }
}

void machine_destroy(struct machine *m)
{
    if (!m)
        return;
    if (m->vcpus) {
        stop_vcpu_threads(m);
        for (unsigned i = 0; i < m->nr_vcpus; i++) {
            if (!m->vcpus[i])
                continue;
            m->accel->vcpu_destroy(m->vcpus[i]);
            g_free(m->vcpus[i]);
        }
        g_free(m->vcpus);
    }
    /* Devices first: one may still lower an interrupt line on its way out. */
    for (unsigned i = m->devices->len; i-- > 0;) {
        struct device *dev = g_ptr_array_index(m->devices, i);

        if (dev->cls->destroy)
            dev->cls->destroy(dev);
    }
    if (m->accel)
        m->accel->destroy(m);
    g_ptr_array_unref(m->devices);
    if (m->board_free)
        m->board_free(m->board);
    for (unsigned i = 0; i < m->chardevs->len; i++)
        chardev_close(g_ptr_array_index(m->chardevs, i));
    g_ptr_array_unref(m->chardevs);
    memory_map_free(m->memory);
    memory_map_free(m->io);
    if (m->ram)
        munmap(m->ram, m->ram_size);
    g_aligned_free(m->bios);
    g_cond_clear(&m->run_cond);
    g_mutex_clear(&m->run_lock);
    g_mutex_clear(&m->device_lock);
    g_free(m);
}

void machine_resume(struct machine *m)
{
    g_mutex_lock(&m->run_lock);
    m->run = true;
    g_cond_broadcast(&m->run_cond);
    g_mutex_unlock(&m->run_lock);
}

void machine_pause(struct machine *m)
{
    bool all_stopped;

    g_mutex_lock(&m->run_lock);
    m->run = false;
    g_mutex_unlock(&m->run_lock);

    for (unsigned i = 0; i < m->nr_vcpus; i++)
        m->accel->vcpu_kick(m->vcpus[i]);

    g_mutex_lock(&m->run_lock);
    do {
        all_stopped = true;
        for (unsigned i = 0; i < m->nr_vcpus; i++)
            if (m->vcpus[i]->thread && !m->vcpus[i]->stopped)
                all_stopped = false;
        if (!all_stopped) {
            gint64 deadline = g_get_monotonic_time() + 100 * G_TIME_SPAN_MILLISECOND;

            /* A kick can land before the vCPU enters the guest: kick again. */
            if (!g_cond_wait_until(&m->run_cond, &m->run_lock, deadline)) {
                g_mutex_unlock(&m->run_lock);
                for (unsigned i = 0; i < m->nr_vcpus; i++)
                    if (!m->vcpus[i]->stopped)
                        m->accel->vcpu_kick(m->vcpus[i]);
                g_mutex_lock(&m->run_lock);
            }
        }
    } while (!all_stopped);
    g_mutex_unlock(&m->run_lock);
}

static int apply_loaders(struct machine *m, GError **error)
{
    for (unsigned i = 0; i < m->config->loaders->len; i++) {
        struct vm_loader *l = g_ptr_array_index(m->config->loaders, i);
        g_autofree char *contents = NULL;
        gsize length;

        if (!l->file) {
            uint8_t bytes[8];

            for (unsigned b = 0; b < l->data_length; b++)
                bytes[b] = l->data >> (8 * b);
            if (machine_load(m, l->addr, bytes, l->data_length, error) < 0)
                return -1;
            continue;
        }
        if (!g_file_get_contents(l->file, &contents, &length, error)) {
            g_prefix_error(error, "-device loader: ");
            return -1;
        }
        if (machine_load(m, l->addr, contents, length, error) < 0) {
            g_prefix_error(error, "-device loader,file=%s: ", l->file);
            return -1;
        }
    }
    return 0;
}

int machine_reset(struct machine *m, GError **error)
{
    g_mutex_lock(&m->device_lock);
    for (unsigned i = 0; i < m->devices->len; i++) {
        struct device *dev = g_ptr_array_index(m->devices, i);

        if (dev->cls->reset)
            dev->cls->reset(dev);
    }
    g_mutex_unlock(&m->device_lock);

    if (m->accel->platform_reset(m, error) < 0)
        return -1;
    for (unsigned i = 0; i < m->nr_vcpus; i++)
        if (m->accel->vcpu_reset(m->vcpus[i], error) < 0)
            return -1;
    /* Like ROM blobs on a real board, loaded images come back at reset. */
    if (apply_loaders(m, error) < 0)
        return -1;
    return m->after_reset ? m->after_reset(m, error) : 0;
}

void machine_set_irq(struct machine *m, unsigned gsi, bool level)
{
    m->accel->set_irq(m, gsi, level);
}

void machine_request(struct machine *m, enum machine_request request,
                     int exit_code)
{
    if (request == MACHINE_REQUEST_POWEROFF || request == MACHINE_REQUEST_FAIL)
        m->exit_code = exit_code;
    g_atomic_int_or(&m->requests, request);
    /* Stop executing guest code now; the engine thread takes it from here. */
    for (unsigned i = 0; i < m->nr_vcpus; i++)
        if (m->vcpus && m->vcpus[i])
            m->accel->vcpu_kick(m->vcpus[i]);
    if (m->notify)
        m->notify(m, m->notify_opaque);
}

enum machine_request machine_take_requests(struct machine *m, int *exit_code)
{
    enum machine_request r = g_atomic_int_and(&m->requests, 0);

    if (exit_code)
        *exit_code = m->exit_code;
    return r;
}

void machine_add_device(struct machine *m, struct device *dev)
{
    dev->machine = m;
    g_ptr_array_add(m->devices, dev);
}

int machine_load(struct machine *m, uint64_t addr, const void *data,
                 size_t length, GError **error)
{
    if (memory_map_write(m->memory, addr, data, length, true) < 0) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "%zu bytes at 0x%" G_GINT64_MODIFIER "x do not fit in "
                    "guest RAM or ROM", length, addr);
        return -1;
    }
    return 0;
}
