/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ACPI fixed-hardware PM1 event/control registers and PM timer of a
 * PIIX4-style power management function, at an I/O base.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "hw/device.h"

struct machine;

/* The SCI goes to ISA IRQ 9, as on PIIX4 (and as the DSDT/FADT declare). */
#define ACPI_PM_SCI_GSI 9
/* Offsets from the base: PM1a_EVT_BLK, PM1a_CNT_BLK, PM_TMR_BLK. */
#define ACPI_PM_EVT_OFFSET 0x00
#define ACPI_PM_CNT_OFFSET 0x04
#define ACPI_PM_TMR_OFFSET 0x08
/* The PIIX4 PM I/O space (PMBA) decodes 64 ports. */
#define ACPI_PM_IO_SIZE 0x40
#define ACPI_PM_TIMER_HZ 3579545

struct device *acpi_pm_create(struct machine *m, uint16_t base, GError **error);

/*
 * The power button was pressed: set PWRBTN_STS and raise the SCI if the OS
 * enabled it. Takes the machine's device lock: call it without holding it.
 */
void acpi_pm_power_button(struct device *dev);

extern const struct device_class acpi_pm_device_class;
