/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The standard VGA with the Bochs VBE extensions ("-vga std"): as the PCI
 * device 1234:1111 with a 16 MiB linear framebuffer, or as an ISA card.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "hw/device.h"

struct machine;
struct pci_bus;
struct display_surface;

#define VGA_DEFAULT_BIOS "/usr/share/seabios/vgabios-stdvga.bin"
#define VGA_ISA_LFB_BASE 0xe0000000u    /* Bochs VBE_DISPI_LFB_PHYSICAL_ADDRESS */

/*
 * The PCI VGA at @devfn (-1: first free slot): legacy ports 0x3B0-0x3DF and
 * 0x1CE-0x1D0, the 0xA0000-0xBFFFF window, BAR 0 framebuffer (prefetchable,
 * 16 MiB, guest RAM), BAR 2 MMIO (VGA ports at 0x400, DISPI at 0x500) and
 * the expansion ROM read from @vgabios_path (NULL: VGA_DEFAULT_BIOS; "" for
 * none). Starts its refresh timer on m->clock.
 */
struct device *vga_pci_create(struct machine *m, struct pci_bus *bus,
                              int devfn, const char *vgabios_path,
                              GError **error);

/*
 * The same card without PCI; the framebuffer is mapped as RAM at @lfb_base
 * (0: not mapped). Its BIOS has to reach the firmware some other way
 * (SeaBIOS runs the fw_cfg files under "vgaroms/").
 */
struct device *vga_isa_create(struct machine *m, uint64_t lfb_base,
                              GError **error);

/* The surface the card renders into (borrowed; ref it to keep it longer). */
struct display_surface *vga_get_surface(struct device *vga);

/*
 * Render now (screendump, tests), as the refresh timer does. Takes the
 * machine's device lock: do not call with it held.
 */
void vga_update_display(struct device *vga);

/*
 * The text-mode screen as UTF-8 lines (code page 437 translated, trailing
 * blanks dropped, each line ending in '\n'), or NULL when the card is in a
 * graphics mode. g_free the result. Takes the device lock.
 */
char *vga_text_snapshot(struct device *vga);

extern const struct device_class vga_pci_device_class;
extern const struct device_class vga_isa_device_class;
