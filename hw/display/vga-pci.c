/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VGA as a card: the PCI "std VGA" (1234:1111, QEMU docs/specs/
 * standard-vga.rst: BAR 0 framebuffer, BAR 2 MMIO, ROM = VGA BIOS) and an
 * ISA variant; the refresh timer and the API the machine and tests use.
 */
#define G_LOG_DOMAIN "mimic-vga"

#include "hw/display/vga.h"

#include <string.h>

#include "engine/clock.h"
#include "engine/machine.h"
#include "hw/display/vga-internal.h"
#include "hw/pci/pci.h"

#define VGA_PCI_VENDOR 0x1234
#define VGA_PCI_DEVICE 0x1111
#define VGA_PCI_REVISION 0x02
#define VGA_PCI_CLASS 0x030000          /* display, VGA compatible */
#define VGA_PCI_SUBSYSTEM_VENDOR 0x1af4
#define VGA_PCI_SUBSYSTEM 0x1100
#define VGA_MMIO_SIZE 0x1000
#define VGA_MMIO_PORTS 0x400            /* 0x3C0-0x3DF, byte for byte */
#define VGA_MMIO_PORTS_SIZE 0x20
#define VGA_MMIO_DISPI 0x500            /* DISPI register i at 0x500 + 2 * i */
#define VGA_ROM_MAX (1u << 20)

struct vga_pci {
    struct pci_device pci;          /* first: a PCI device is a device */
    struct vga vga;
    uint8_t *rom;
    size_t rom_size;
};

struct vga_isa {
    struct device dev;
    struct vga vga;
    uint64_t lfb_base;
    const struct memory_region *lfb;
};

static struct vga *vga_from_device(struct device *dev)
{
    if (dev->cls == &vga_pci_device_class)
        return &((struct vga_pci *)dev)->vga;
    if (dev->cls == &vga_isa_device_class)
        return &((struct vga_isa *)dev)->vga;
    g_return_val_if_reached(NULL);
}

/* --- refresh --- */

static void refresh(struct vga *s)
{
    struct machine *m = s->machine;

    g_mutex_lock(&m->device_lock);
    vga_render(s);
    g_mutex_unlock(&m->device_lock);
    /* Listeners run without the device lock: they may post to other threads. */
    display_surface_commit(s->surface);
}

static void refresh_timer_fired(void *opaque)
{
    struct vga *s = opaque;

    refresh(s);
    vtimer_arm(s->refresh_timer,
               vclock_now_ns(s->machine->clock) + VGA_REFRESH_NS);
}

static void start_refresh(struct vga *s)
{
    struct vclock *clock = s->machine->clock;

    s->refresh_timer = vtimer_new(clock, refresh_timer_fired, s);
    vtimer_arm(s->refresh_timer, vclock_now_ns(clock) + VGA_REFRESH_NS);
}

static void stop_refresh(struct vga *s)
{
    if (s->refresh_timer)
        vtimer_free(s->refresh_timer);
    s->refresh_timer = NULL;
}

/* --- the API --- */

struct display_surface *vga_get_surface(struct device *vga)
{
    struct vga *s = vga_from_device(vga);

    return s ? s->surface : NULL;
}

void vga_update_display(struct device *vga)
{
    struct vga *s = vga_from_device(vga);

    if (s)
        refresh(s);
}

char *vga_text_snapshot(struct device *vga)
{
    struct vga *s = vga_from_device(vga);
    char *text;

    if (!s)
        return NULL;
    g_mutex_lock(&s->machine->device_lock);
    text = vga_render_text(s);
    g_mutex_unlock(&s->machine->device_lock);
    return text;
}

/* --- BAR 2: the VGA ports and DISPI registers as MMIO --- */

static uint64_t mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    struct vga *s = opaque;
    uint64_t value = 0;

    for (unsigned i = 0; i < size; i++) {
        uint64_t at = offset + i;
        uint8_t byte = 0;

        if (at >= VGA_MMIO_PORTS && at < VGA_MMIO_PORTS + VGA_MMIO_PORTS_SIZE)
            byte = vga_port_read(s, 0x3c0 + at - VGA_MMIO_PORTS);
        else if (at >= VGA_MMIO_DISPI && at < VGA_MMIO_DISPI + 2 * VBE_INDEX_COUNT)
            byte = vga_vbe_read(s, (at - VGA_MMIO_DISPI) / 2) >> (8 * (at & 1));
        value |= (uint64_t)byte << (8 * i);
    }
    return value;
}

static void mmio_write(void *opaque, uint64_t offset, uint64_t value,
                       unsigned size)
{
    struct vga *s = opaque;

    for (unsigned i = 0; i < size; i++) {
        uint64_t at = offset + i;

        if (at >= VGA_MMIO_PORTS && at < VGA_MMIO_PORTS + VGA_MMIO_PORTS_SIZE) {
            vga_port_write(s, 0x3c0 + at - VGA_MMIO_PORTS, value >> (8 * i));
        } else if (at >= VGA_MMIO_DISPI &&
                   at < VGA_MMIO_DISPI + 2 * VBE_INDEX_COUNT) {
            unsigned index = (at - VGA_MMIO_DISPI) / 2;
            uint16_t v;

            /* DISPI registers are 16 bits: a byte write merges (little endian). */
            if (!(at & 1) && i + 1 < size) {
                v = value >> (8 * i);
                i++;
            } else if (at & 1) {
                v = (vga_vbe_read(s, index) & 0x00ff) |
                    (uint16_t)((value >> (8 * i)) << 8);
            } else {
                v = (vga_vbe_read(s, index) & 0xff00) | ((value >> (8 * i)) & 0xff);
            }
            vga_vbe_write(s, index, v);
        }
    }
}

static const struct memory_ops vga_mmio_ops = {
    .read = mmio_read,
    .write = mmio_write,
};

/* --- PCI --- */

static int load_rom(struct vga_pci *vp, const char *path, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *contents = NULL;
    gsize length;

    if (!g_file_get_contents(path, &contents, &length, &local)) {
        g_set_error(error, local->domain, local->code,
                    "cannot read the VGA BIOS: %s", local->message);
        return -1;
    }
    if (length < 3 || length > VGA_ROM_MAX ||
        (uint8_t)contents[0] != 0x55 || (uint8_t)contents[1] != 0xaa) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s is not an option ROM (no 55 AA signature, or larger "
                    "than 1 MiB)", path);
        return -1;
    }
    vp->rom_size = 0x800;
    while (vp->rom_size < length)
        vp->rom_size <<= 1;
    vp->rom = vga_alloc_vram(vp->rom_size);     /* page-aligned, zeroed */
    if (!vp->rom) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOMEM,
                    "cannot allocate the VGA BIOS");
        return -1;
    }
    memcpy(vp->rom, contents, length);
    return 0;
}

static void vga_pci_free(struct vga_pci *vp)
{
    stop_refresh(&vp->vga);
    vga_core_finalize(&vp->vga);
    vga_free_vram(vp->vga.vram, vp->vga.vram_size);
    vga_free_vram(vp->rom, vp->rom_size);
    g_free(vp);
}

struct device *vga_pci_create(struct machine *m, struct pci_bus *bus,
                              int devfn, const char *vgabios_path,
                              GError **error)
{
    struct vga_pci *vp = g_new0(struct vga_pci, 1);
    struct pci_device *d = &vp->pci;
    uint8_t *vram = vga_alloc_vram(VGA_VRAM_SIZE);

    if (!vram) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOMEM,
                    "cannot allocate %u MiB of video memory", VGA_VRAM_SIZE >> 20);
        g_free(vp);
        return NULL;
    }
    vga_core_init(&vp->vga, m, "vga", vram, VGA_VRAM_SIZE);
    if (!vgabios_path)
        vgabios_path = VGA_DEFAULT_BIOS;
    if (*vgabios_path && load_rom(vp, vgabios_path, error) < 0)
        goto out_free;

    pci_device_init(d, "vga", VGA_PCI_VENDOR, VGA_PCI_DEVICE, VGA_PCI_REVISION,
                    VGA_PCI_CLASS, 0);
    d->config[PCI_SUBSYSTEM_VENDOR_ID] = VGA_PCI_SUBSYSTEM_VENDOR & 0xff;
    d->config[PCI_SUBSYSTEM_VENDOR_ID + 1] = VGA_PCI_SUBSYSTEM_VENDOR >> 8;
    d->config[PCI_SUBSYSTEM_ID] = VGA_PCI_SUBSYSTEM & 0xff;
    d->config[PCI_SUBSYSTEM_ID + 1] = VGA_PCI_SUBSYSTEM >> 8;
    pci_device_set_ram_bar(d, 0, PCI_BAR_MEM32, VGA_VRAM_SIZE, vram, false,
                           true, "vga-lfb");
    pci_device_set_bar(d, 2, PCI_BAR_MEM32, VGA_MMIO_SIZE, &vga_mmio_ops,
                       &vp->vga, "vga-mmio");
    if (vp->rom)
        pci_device_set_ram_bar(d, PCI_ROM_BAR, PCI_BAR_MEM32, vp->rom_size,
                               vp->rom, true, false, "vga-rom");
    d->dev.cls = &vga_pci_device_class;
    d->dev.machine = m;

    if (vga_core_register(&vp->vga, error) < 0)
        goto out_free;
    if (pci_bus_add(bus, d, devfn, error) < 0)
        goto out_unregister;
    vga_core_reset(&vp->vga);
    start_refresh(&vp->vga);
    return &d->dev;

out_unregister:
    vga_core_unregister(&vp->vga);
out_free:
    vga_pci_free(vp);
    return NULL;
}

static void vga_pci_reset(struct device *dev)
{
    struct vga_pci *vp = (struct vga_pci *)dev;

    pci_device_reset(&vp->pci);
    vga_core_reset(&vp->vga);
}

static void vga_pci_destroy(struct device *dev)
{
    struct vga_pci *vp = (struct vga_pci *)dev;

    if (vp->pci.bus)
        pci_device_reset(&vp->pci);     /* unmaps the BARs */
    vga_pci_free(vp);
}

const struct device_class vga_pci_device_class = {
    .name = "vga",
    .reset = vga_pci_reset,
    .destroy = vga_pci_destroy,
};

/* --- ISA --- */

static void vga_isa_free(struct vga_isa *vi)
{
    if (vi->lfb)
        memory_map_remove(vi->vga.machine->memory, vi->lfb);
    stop_refresh(&vi->vga);
    vga_core_finalize(&vi->vga);
    vga_free_vram(vi->vga.vram, vi->vga.vram_size);
    g_free(vi);
}

struct device *vga_isa_create(struct machine *m, uint64_t lfb_base,
                              GError **error)
{
    struct vga_isa *vi = g_new0(struct vga_isa, 1);
    uint8_t *vram = vga_alloc_vram(VGA_VRAM_SIZE);

    if (!vram) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOMEM,
                    "cannot allocate %u MiB of video memory", VGA_VRAM_SIZE >> 20);
        g_free(vi);
        return NULL;
    }
    vi->dev.cls = &vga_isa_device_class;
    vi->dev.machine = m;
    vga_core_init(&vi->vga, m, "isa-vga", vram, VGA_VRAM_SIZE);
    if (vga_core_register(&vi->vga, error) < 0)
        goto out_free;
    if (lfb_base) {
        vi->lfb = memory_map_add_ram(m->memory, "vga-lfb", lfb_base,
                                     VGA_VRAM_SIZE, vram, error);
        if (!vi->lfb)
            goto out_free;
    }
    vga_core_reset(&vi->vga);
    start_refresh(&vi->vga);
    machine_add_device(m, &vi->dev);
    return &vi->dev;

out_free:
    vga_isa_free(vi);
    return NULL;
}

static void vga_isa_reset(struct device *dev)
{
    vga_core_reset(&((struct vga_isa *)dev)->vga);
}

static void vga_isa_destroy(struct device *dev)
{
    vga_isa_free((struct vga_isa *)dev);
}

const struct device_class vga_isa_device_class = {
    .name = "isa-vga",
    .reset = vga_isa_reset,
    .destroy = vga_isa_destroy,
};
