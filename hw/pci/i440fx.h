/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Intel 440FX PCI and memory controller (PMC), the host bridge at 00.0, and
 * its PAM registers that shadow the BIOS area 0xC0000-0xFFFFF in RAM.
 */
#pragma once

#include <glib.h>

#include "hw/device.h"
#include "hw/pci/pci.h"

struct machine;

#define I440FX_PAM_START 0xc0000
#define I440FX_PAM_END 0x100000

/*
 * Put the host bridge at 00.0 of @bus. It owns [0xC0000, 0x100000) of
 * m->memory: it takes out the regions the machine may have put there
 * ("bios-isa", "ram-rom-area") and maps each PAM segment itself, showing
 * the top 128 KiB of m->bios at 0xE0000-0xFFFFF at power-on and the RAM
 * copy at m->ram + address when the guest enables shadowing.
 */
struct device *i440fx_create(struct machine *m, struct pci_bus *bus,
                             GError **error);

extern const struct device_class i440fx_device_class;
