/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Intel PIIX3/PIIX4 south bridge functions: the PCI-to-ISA bridge (01.0)
 * with PIRQ routing, ELCR, port 0x92 and the 0xCF9 reset register; and the
 * PIIX4 power management function (01.3) that places the ACPI PM registers.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/device.h"
#include "hw/pci/pci.h"

struct machine;

#define PIIX_DEVFN PCI_DEVFN(1, 0)
#define PIIX_PM_DEVFN PCI_DEVFN(1, 3)

/*
 * The ISA bridge 8086:7000 at 01.0, the bus's INTx router (PIRQRC 0x60-0x63),
 * ports 0x4D0/0x4D1 (ELCR), 0x92 (A20, fast reset) and 0xCF9 (reset).
 */
struct device *piix_create(struct machine *m, struct pci_bus *bus,
                           GError **error);
/* ELCR1 | ELCR2 << 8: bit n set = ISA IRQ n is level-triggered. */
uint16_t piix_get_elcr(struct device *piix);
/* Port 0x92 bit 1 (fast A20 gate). */
bool piix_a20_enabled(struct device *piix);

/*
 * The PIIX4 PM function 8086:7113 at 01.3. @acpi_pm (made by
 * acpi_pm_create) starts at the base it was created at, as PMBA with
 * PMREGMISC enabled (what firmware would program), and follows the guest's
 * PMBA/PMREGMISC writes from then on; its SCI stays on GSI 9.
 */
struct device *piix_pm_create(struct machine *m, struct pci_bus *bus,
                              struct device *acpi_pm, GError **error);

extern const struct device_class piix_device_class;
extern const struct device_class piix_pm_device_class;
