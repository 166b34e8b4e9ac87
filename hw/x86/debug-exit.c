/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isa-debug-exit as QEMU defines it: writing v (of any width) to the port
 * powers the VM off with exit status (v << 1) | 1, so a test guest can never
 * fake a clean exit 0. Reads return all ones.
 */
#define G_LOG_DOMAIN "mimic-debug-exit"

#include "hw/x86/debug-exit.h"

#include "engine/machine.h"
#include "engine/memory.h"

/* A 32-bit outl fits in the region, like QEMU's iosize=4 (the port width). */
#define DEBUG_EXIT_PORTS 4

struct debug_exit {
    struct device dev;
};

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
    return UINT64_MAX;
}

static void debug_exit_write(void *opaque, uint64_t offset, uint64_t value,
                             unsigned size)
{
    struct debug_exit *d = opaque;

    if (offset != 0)
        return;
    machine_request(d->dev.machine, MACHINE_REQUEST_POWEROFF,
                    (int)((value << 1) | 1));
}

static const struct memory_ops debug_exit_ops = {
    .read = debug_exit_read,
    .write = debug_exit_write,
};

static void debug_exit_reset(struct device *dev)
{
}

static void debug_exit_destroy(struct device *dev)
{
    g_free(dev);
}

struct device *debug_exit_create(struct machine *m, uint16_t port,
                                 GError **error)
{
    struct debug_exit *d = g_new0(struct debug_exit, 1);

    d->dev.cls = &debug_exit_device_class;
    d->dev.machine = m;
    if (!memory_map_add_io(m->io, "isa-debug-exit", port, DEBUG_EXIT_PORTS,
                           &debug_exit_ops, d, error)) {
        g_free(d);
        return NULL;
    }
    machine_add_device(m, &d->dev);
    return &d->dev;
}

const struct device_class debug_exit_device_class = {
    .name = "isa-debug-exit",
    .reset = debug_exit_reset,
    .destroy = debug_exit_destroy,
};
