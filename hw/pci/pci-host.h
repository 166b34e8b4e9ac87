/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the PCI core offers the chipset beyond hw/pci/pci.h: the non-dword
 * accesses to ports 0xCF8-0xCFB, which are not configuration cycles.
 */
#pragma once

#include "engine/memory.h"
#include "hw/pci/pci.h"

/*
 * Only a 32-bit access to 0xCF8 reaches CONFIG_ADDRESS (PCI Local Bus 3.0,
 * 3.2.2.3.2); byte and word accesses to 0xCF8-0xCFB are ordinary I/O that
 * another device may claim, as the PIIX Reset Control register at 0xCF9
 * does. @ops gets those accesses with offsets 0-3 from 0xCF8. NULL: they
 * read all ones and writes are dropped.
 */
void pci_bus_set_cf8_fallback(struct pci_bus *bus, const struct memory_ops *ops,
                              void *opaque);

/* The bus is a machine device too (reset of CONFIG_ADDRESS, destroy). */
extern const struct device_class pci_bus_device_class;
