/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pc machine's disks and CD-ROMs (engine/pc-drives.c). */
#pragma once

#include <glib.h>

#include "engine/machine.h"
#include "hw/pci/pci.h"

/*
 * Open the configured drives and attach them; the opened images are added
 * to @images (BlkImage *), which the caller closes after the devices are
 * gone.
 */
int pc_attach_drives(struct machine *m, struct pci_bus *bus, GPtrArray *images,
                     GError **error);
