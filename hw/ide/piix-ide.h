/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The PIIX3 IDE function (8086:7010): two legacy-mode channels and bus-master DMA. */
#pragma once

#include <glib.h>

#include "hw/device.h"
#include "hw/ide/ide.h"
#include "storage/block.h"

struct machine;
struct pci_bus;
struct pci_device;

/* Legacy resources (PIIX3 data sheet: compatibility mode). */
#define PIIX_IDE_PRIMARY_BASE 0x1f0
#define PIIX_IDE_PRIMARY_CONTROL 0x3f6
#define PIIX_IDE_PRIMARY_GSI 14
#define PIIX_IDE_SECONDARY_BASE 0x170
#define PIIX_IDE_SECONDARY_CONTROL 0x376
#define PIIX_IDE_SECONDARY_GSI 15
#define PIIX_IDE_BMDMA_BAR 4                /* BMIBA: 16 bytes of I/O */

/*
 * Put the IDE function at @devfn of @bus (the PC's 01.1) with its ports at
 * the legacy addresses, raising GSI 14/15 directly. No drives yet. The
 * device is one of the machine's: reset and destroyed through its class.
 */
struct pci_device *piix_ide_create(struct machine *m, struct pci_bus *bus,
                                   int devfn, GError **error);

/*
 * A drive at @channel (0 primary, 1 secondary) @unit (0 master, 1 slave).
 * @image is borrowed: keep it open until the machine is destroyed (or, for
 * a CD-ROM, until the medium is changed). IDE_CDROM accepts NULL (empty).
 * Call before the guest runs.
 */
int piix_ide_attach(struct pci_device *ide, unsigned channel, unsigned unit,
                    enum ide_drive_kind kind, BlkImage *image, GError **error);

/* The drive at a position, for ide_cdrom_change_medium; NULL if none. */
struct ide_drive *piix_ide_drive(struct pci_device *ide, unsigned channel,
                                 unsigned unit);

/* ide_cdrom_change_medium with the machine's device lock taken (engine thread). */
int piix_ide_change_medium(struct pci_device *ide, unsigned channel,
                           unsigned unit, BlkImage *medium);

extern const struct device_class piix_ide_device_class;
