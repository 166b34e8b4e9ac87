/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pc machine's drives: open each -drive/-hda/-cdrom image through the
 * block layer (with a temporary overlay for -snapshot) and attach it to the
 * PIIX IDE controller or a virtio-blk device.
 */
#define G_LOG_DOMAIN "mimic-machine"

#include "engine/pc-drives.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "engine/vm.h"
#include "hw/ide/piix-ide.h"
#include "hw/virtio/virtio-blk.h"
#include "storage/block.h"

#define PC_IDE_POSITIONS 4

/*
 * Writes go to a qcow2 overlay in the temporary directory whose backing
 * file is the image; the overlay is unlinked at once, so nothing is left
 * behind and the image itself is never written (QEMU's -snapshot).
 */
static BlkImage *open_with_overlay(const struct vm_drive *d, GError **error)
{
    g_autofree char *base = NULL, *overlay = NULL;
    BlkImage *probe = NULL, *img = NULL;
    BlkCreateOptions opts = { 0 };
    int fd;

    base = g_canonicalize_filename(d->file, NULL);
    if (blk_open(base, d->format, BLK_OPEN_FORCE_SHARE, &probe, error) < 0)
        return NULL;
    fd = g_file_open_tmp("mimic-snapshot-XXXXXX.qcow2", &overlay, error);
    if (fd < 0)
        goto out_close;
    close(fd);
    opts.size = probe->size;
    opts.backing_file = base;
    opts.backing_format = probe->drv->name;
    if (blk_create(overlay, "qcow2", &opts, error) < 0 ||
        blk_open(overlay, "qcow2", BLK_OPEN_READ_WRITE | BLK_OPEN_UNSAFE, &img,
                 error) < 0)
        img = NULL;
    g_unlink(overlay);
out_close:
    blk_close(probe);
    return img;
}

static BlkImage *open_drive(const struct vm_config *config,
                            const struct vm_drive *d, GError **error)
{
    BlkImage *img = NULL;

    if (!d->file)
        return NULL;
    if (!d->read_only && (d->snapshot || config->snapshot))
        img = open_with_overlay(d, error);
    else if (blk_open(d->file, d->format,
                      d->read_only ? 0 : BLK_OPEN_READ_WRITE, &img, error) < 0)
        img = NULL;
    if (!img)
        g_prefix_error(error, "%s: ", d->file);
    return img;
}

/* IDE positions by index (channel * 2 + unit); -1 takes the first free one. */
static int place_ide(GPtrArray *drives, int placed[PC_IDE_POSITIONS],
                     GError **error)
{
    for (int i = 0; i < PC_IDE_POSITIONS; i++)
        placed[i] = -1;
    for (unsigned pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < drives->len; i++) {
            const struct vm_drive *d = g_ptr_array_index(drives, i);
            int pos = d->index;

            if (d->interface != VM_DRIVE_IDE || (pass == 0) != (pos >= 0))
                continue;
            if (pos < 0)
                for (pos = 0; pos < PC_IDE_POSITIONS && placed[pos] >= 0; pos++)
                    ;
            if (pos >= PC_IDE_POSITIONS) {
                g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                            "-drive %s: the pc machine has 4 IDE positions, all "
                            "taken", d->file ? d->file : "(empty CD-ROM)");
                return -1;
            }
            placed[pos] = i;
        }
    }
    return 0;
}

int pc_attach_drives(struct machine *m, struct pci_bus *bus, GPtrArray *images,
                     GError **error)
{
    GPtrArray *drives = m->config->drives;
    int placed[PC_IDE_POSITIONS];
    struct pci_device *ide;

    if (place_ide(drives, placed, error) < 0)
        return -1;
    /* The controller is there even without drives, as on a real PIIX3. */
    ide = piix_ide_create(m, bus, PCI_DEVFN(1, 1), error);
    if (!ide)
        return -1;
    for (int pos = 0; pos < PC_IDE_POSITIONS; pos++) {
        const struct vm_drive *d;
        BlkImage *img;

        if (placed[pos] < 0)
            continue;
        d = g_ptr_array_index(drives, placed[pos]);
        img = open_drive(m->config, d, error);
        if (!img && d->file)
            return -1;
        if (img)
            g_ptr_array_add(images, img);
        if (piix_ide_attach(ide, pos / 2, pos % 2,
                            d->media == VM_DRIVE_CDROM ? IDE_CDROM : IDE_DISK,
                            img, error) < 0)
            return -1;
    }
    /* virtio-blk disks in the order given, each in its own slot. */
    for (unsigned i = 0; i < drives->len; i++) {
        const struct vm_drive *d = g_ptr_array_index(drives, i);
        g_autofree char *serial = NULL;
        BlkImage *img;

        if (d->interface != VM_DRIVE_VIRTIO)
            continue;
        img = open_drive(m->config, d, error);
        if (!img)
            return -1;
        g_ptr_array_add(images, img);
        serial = g_strdup_printf("vd%u", i);
        if (!virtio_blk_pci_create(bus, -1, img, d->read_only, serial, error))
            return -1;
    }
    return 0;
}
