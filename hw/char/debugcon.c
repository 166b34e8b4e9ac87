/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Debug console port in the Bochs "port 0xe9 hack" style: every byte written
 * goes to a character back end; a read returns 0xe9 so firmware can detect it.
 */
#define G_LOG_DOMAIN "mimic-debugcon"

#include "hw/char/debugcon.h"

#include "engine/chardev.h"
#include "engine/machine.h"
#include "engine/memory.h"

/* What Bochs and QEMU read back; SeaBIOS checks for it before printing. */
#define DEBUGCON_READBACK 0xe9

struct debugcon {
    struct device dev;
    struct chardev *chr;
};

static uint64_t debugcon_read(void *opaque, uint64_t offset, unsigned size)
{
    /* Only the low byte is the port; the rest of a wider read is open bus. */
    return (UINT64_MAX << 8) | DEBUGCON_READBACK;
}

static void debugcon_write(void *opaque, uint64_t offset, uint64_t value,
                           unsigned size)
{
    struct debugcon *d = opaque;
    uint8_t byte = value;

    chardev_write(d->chr, &byte, 1);
}

static const struct memory_ops debugcon_ops = {
    .read = debugcon_read,
    .write = debugcon_write,
};

static void debugcon_reset(struct device *dev)
{
}

static void debugcon_destroy(struct device *dev)
{
    g_free(dev);
}

struct device *debugcon_create(struct machine *m, uint16_t port,
                               struct chardev *chr, GError **error)
{
    struct debugcon *d = g_new0(struct debugcon, 1);

    d->dev.cls = &debugcon_device_class;
    d->dev.machine = m;
    d->chr = chr;
    if (!memory_map_add_io(m->io, "debugcon", port, 1, &debugcon_ops, d,
                           error)) {
        g_free(d);
        return NULL;
    }
    machine_add_device(m, &d->dev);
    return &d->dev;
}

const struct device_class debugcon_device_class = {
    .name = "debugcon",
    .reset = debugcon_reset,
    .destroy = debugcon_destroy,
};
