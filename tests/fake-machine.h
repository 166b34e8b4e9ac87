/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A machine built by hand for device unit tests: maps, RAM, a clock and an
 * accelerator that only records interrupt lines, with no machine type or vCPU.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "engine/machine.h"

/* The interrupt lines recorded; a device driving another one fails the test. */
#define FAKE_MACHINE_GSIS 32

enum fake_machine_ram_layout {
    FAKE_MACHINE_RAM_FLAT,      /* one region "ram" from 0 */
    /*
     * As machine-pc.c maps it: "ram-low" up to the VGA window at 640 KiB and
     * "ram-below-4g" from 1 MiB; the ROM area between is left to the test.
     */
    FAKE_MACHINE_RAM_PC,
};

/*
 * A machine with @ram_size bytes of guest RAM (0: none) at m->ram, mapped in
 * m->memory as @layout says; empty m->io, device and chardev lists; a paused
 * m->clock whose timers fire in m->context, a private context.
 */
struct machine *fake_machine_new(uint64_t ram_size,
                                 enum fake_machine_ram_layout layout);
/*
 * Destroy it as machine_destroy does (devices in reverse order, then the
 * chardevs in m->chardevs, the maps, RAM and m->bios from g_aligned_alloc),
 * then the clock and its context.
 */
void fake_machine_free(struct machine *m);

/* Reset every device in creation order, device lock held, as machine_reset does. */
void fake_machine_reset_devices(struct machine *m);

/* The level a device last drove on @gsi. */
bool fake_machine_irq_level(struct machine *m, unsigned gsi);
/* How many times @gsi went from low to high. */
unsigned fake_machine_irq_edges(struct machine *m, unsigned gsi);
/* How many times a device drove @gsi high, counting a line already high again. */
unsigned fake_machine_irq_asserts(struct machine *m, unsigned gsi);
