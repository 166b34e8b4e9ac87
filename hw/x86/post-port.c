/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Port 0x80, where firmware writes POST progress codes (and operating systems
 * write to delay): codes are logged at debug level; a read returns the last one.
 */
#define G_LOG_DOMAIN "mimic-post"

#include "hw/x86/post-port.h"

#include <stdint.h>

#include "engine/machine.h"
#include "engine/memory.h"

struct post_port {
    struct device dev;
    uint8_t last;
};

static uint64_t post_port_read(void *opaque, uint64_t offset, unsigned size)
{
    struct post_port *p = opaque;

    return (UINT64_MAX << 8) | p->last;
}

static void post_port_write(void *opaque, uint64_t offset, uint64_t value,
                            unsigned size)
{
    struct post_port *p = opaque;

    p->last = value;
    g_debug("POST code 0x%02x", p->last);
}

static const struct memory_ops post_port_ops = {
    .read = post_port_read,
    .write = post_port_write,
};

static void post_port_reset(struct device *dev)
{
    ((struct post_port *)dev)->last = 0;
}

static void post_port_destroy(struct device *dev)
{
    g_free(dev);
}

struct device *post_port_create(struct machine *m, GError **error)
{
    struct post_port *p = g_new0(struct post_port, 1);

    p->dev.cls = &post_port_device_class;
    p->dev.machine = m;
    if (!memory_map_add_io(m->io, "post", POST_PORT, 1, &post_port_ops, p,
                           error)) {
        g_free(p);
        return NULL;
    }
    machine_add_device(m, &p->dev);
    return &p->dev;
}

const struct device_class post_port_device_class = {
    .name = "post-port",
    .reset = post_port_reset,
    .destroy = post_port_destroy,
};
