/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hand-built machine of the device unit tests: what machine_create gives
 * devices, and an accelerator whose only job is to record interrupt lines.
 */
#include "fake-machine.h"

#include <sys/mman.h>

#include "engine/clock.h"
#include "engine/memory.h"
#include "hw/device.h"

#define PC_LOW_MEMORY_END 0xa0000           /* VGA window starts */
#define PC_HIGH_MEMORY_START 0x100000

/* What the fake accelerator saw on each line; its m->accel_state. */
struct fake_irqs {
    bool level[FAKE_MACHINE_GSIS];
    unsigned edges[FAKE_MACHINE_GSIS];
    unsigned asserts[FAKE_MACHINE_GSIS];
};

static void fake_set_irq(struct machine *m, unsigned gsi, bool level)
{
    struct fake_irqs *irqs = m->accel_state;

    g_assert_cmpuint(gsi, <, FAKE_MACHINE_GSIS);
    if (level) {
        irqs->asserts[gsi]++;
        if (!irqs->level[gsi])
            irqs->edges[gsi]++;
    }
    irqs->level[gsi] = level;
}

static void fake_destroy(struct machine *m)
{
    g_clear_pointer(&m->accel_state, g_free);
}

static const struct accel_ops fake_accel = {
    .name = "fake",
    .destroy = fake_destroy,
    .set_irq = fake_set_irq,
};

static void add_ram(struct machine *m, const char *name, uint64_t base,
                    uint64_t size)
{
    GError *error = NULL;

    g_assert_nonnull(memory_map_add_ram(m->memory, name, base, size,
                                        m->ram + base, &error));
    g_assert_no_error(error);
}

struct machine *fake_machine_new(uint64_t ram_size,
                                 enum fake_machine_ram_layout layout)
{
    struct machine *m = g_new0(struct machine, 1);

    g_mutex_init(&m->device_lock);
    g_mutex_init(&m->run_lock);
    g_cond_init(&m->run_cond);
    m->devices = g_ptr_array_new();
    m->chardevs = g_ptr_array_new();
    m->memory = memory_map_new("memory", UINT64_C(1) << 52, &m->device_lock);
    m->io = memory_map_new("ioport", 0x10000, &m->device_lock);
    m->context = g_main_context_new();
    m->clock = vclock_new(m->context);
    m->accel = &fake_accel;
    m->accel_state = g_new0(struct fake_irqs, 1);
    if (ram_size == 0)
        return m;

    m->ram_size = ram_size;
    m->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    g_assert_true(m->ram != MAP_FAILED);
    if (layout == FAKE_MACHINE_RAM_FLAT) {
        add_ram(m, "ram", 0, ram_size);
        return m;
    }
    add_ram(m, "ram-low", 0, MIN(ram_size, PC_LOW_MEMORY_END));
    if (ram_size > PC_HIGH_MEMORY_START)
        add_ram(m, "ram-below-4g", PC_HIGH_MEMORY_START,
                ram_size - PC_HIGH_MEMORY_START);
    return m;
}

void fake_machine_free(struct machine *m)
{
    GMainContext *context = m->context;
    struct vclock *clock = m->clock;

    machine_destroy(m);
    vclock_free(clock);
    while (g_main_context_iteration(context, FALSE))
        ;
    g_main_context_unref(context);
}

void fake_machine_reset_devices(struct machine *m)
{
    g_mutex_lock(&m->device_lock);
    for (unsigned i = 0; i < m->devices->len; i++) {
        struct device *dev = g_ptr_array_index(m->devices, i);

        if (dev->cls->reset)
            dev->cls->reset(dev);
    }
    g_mutex_unlock(&m->device_lock);
}

static const struct fake_irqs *irqs_of(struct machine *m, unsigned gsi)
{
    g_assert_true(m->accel == &fake_accel);
    g_assert_cmpuint(gsi, <, FAKE_MACHINE_GSIS);
    return m->accel_state;
}

bool fake_machine_irq_level(struct machine *m, unsigned gsi)
{
    return irqs_of(m, gsi)->level[gsi];
}

unsigned fake_machine_irq_edges(struct machine *m, unsigned gsi)
{
    return irqs_of(m, gsi)->edges[gsi];
}

unsigned fake_machine_irq_asserts(struct machine *m, unsigned gsi)
{
    return irqs_of(m, gsi)->asserts[gsi];
}
