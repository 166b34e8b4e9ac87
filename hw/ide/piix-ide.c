/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PIIX3 IDE (Intel 82371SB PIIX3 data sheet): the PCI function in legacy
 * mode and its bus-master engine, which walks PRD tables (SFF-8038i).
 */
#define G_LOG_DOMAIN "mimic-ide"

#include "hw/ide/piix-ide.h"

#include <errno.h>
#include <string.h>

#include "engine/machine.h"
#include "engine/memory.h"
#include "engine/vm.h"
#include "hw/pci/pci.h"

#define PIIX3_IDE_DEVICE_ID 0x7010
/* Mass storage, IDE, bus master capable with both channels in legacy mode. */
#define PIIX_IDE_CLASS 0x010180
#define BMDMA_SIZE 16
#define BMDMA_CHANNEL_SIZE 8

/* IDE timing registers; bit 15 of IDETIM enables decoding (PIIX3 data sheet: IDETIM). */
#define PIIX_IDETIM_PRIMARY 0x40
#define PIIX_IDETIM_SECONDARY 0x42
#define PIIX_TIMING_END 0x4c
#define PIIX_IDETIM_DECODE 0x8000

/* Bus master registers (SFF-8038i). */
enum { BM_COMMAND = 0, BM_STATUS = 2, BM_PRD_TABLE = 4 };
#define BM_COMMAND_START 0x01
#define BM_COMMAND_TO_MEMORY 0x08   /* "read/write control": 1 = write memory */
#define BM_STATUS_ACTIVE 0x01
#define BM_STATUS_ERROR 0x02
#define BM_STATUS_INTERRUPT 0x04
#define BM_STATUS_DMA_CAPABLE 0x60  /* drive 0 (bit 5) and drive 1 (bit 6) */

/* A PRD entry: address, byte count (0 = 64 KiB), EOT in bit 31 (SFF-8038i). */
#define PRD_SIZE 8
#define PRD_EOT 0x80000000u
/* The table may not cross a 64 KiB boundary: at most this many entries. */
#define PRD_MAX_ENTRIES (65536 / PRD_SIZE)

enum {
    LOG_DIRECTION = 1 << 0,
    LOG_NO_EOT = 1 << 1,
    LOG_SHORT = 1 << 2,
    LOG_TABLE = 1 << 3,
    LOG_ADDRESS = 1 << 4,
    LOG_MASTER = 1 << 5,
};

struct piix_ide;

struct piix_bmdma {
    struct piix_ide *ide;
    unsigned index;
    unsigned gsi;
    uint8_t command, status;
    uint32_t prd_table;
    /* Where the engine is: the next entry and what is left of the current one. */
    uint32_t prd_next;
    unsigned prd_entries;
    uint32_t address;
    uint32_t left;
    bool last;                      /* the current entry has EOT */
};

struct piix_ide {
    struct pci_device pci;
    struct machine *machine;
    struct ide_channel channel[2];
    struct piix_bmdma bm[2];
    const struct memory_region *regions[4];
    unsigned logged;
};

static const char *const channel_names[2] = { "ide0", "ide1" };

static void log_once(struct piix_bmdma *bm, unsigned what, const char *message,
                     uint32_t value)
{
    struct piix_ide *ide = bm->ide;

    if (ide->logged & what)
        return;
    ide->logged |= what;
    g_message("piix-ide: %s: %s (0x%08x; reported once)",
              channel_names[bm->index], message, value);
}

/* --- the bus-master engine, as the drives see it --- */

static bool bm_started(void *opaque)
{
    struct piix_bmdma *bm = opaque;

    return (bm->command & BM_COMMAND_START) && (bm->status & BM_STATUS_ACTIVE);
}

/* Take the next PRD entry; false (logged) when the table is bad or over. */
static bool bm_next_entry(struct piix_bmdma *bm)
{
    uint8_t entry[PRD_SIZE];
    uint32_t count;

    if (bm->last) {
        log_once(bm, LOG_SHORT, "PRD table shorter than the transfer",
                 bm->prd_table);
        return false;
    }
    if (bm->prd_entries >= PRD_MAX_ENTRIES) {
        log_once(bm, LOG_NO_EOT, "PRD table without an end", bm->prd_table);
        return false;
    }
    if (pci_dma_read(&bm->ide->pci, bm->prd_next, entry, PRD_SIZE) < 0) {
        log_once(bm, LOG_TABLE, "PRD table outside RAM", bm->prd_next);
        return false;
    }
    bm->prd_next += PRD_SIZE;
    bm->prd_entries++;
    bm->address = (uint32_t)entry[0] | (uint32_t)entry[1] << 8 |
                  (uint32_t)entry[2] << 16 | (uint32_t)entry[3] << 24;
    bm->address &= ~1u;
    count = ((uint32_t)entry[4] | (uint32_t)entry[5] << 8) & 0xfffe;
    bm->left = count ? count : 0x10000;
    bm->last = entry[7] & (PRD_EOT >> 24);
    return true;
}

static int bm_transfer(void *opaque, void *buf, size_t length, bool to_memory)
{
    struct piix_bmdma *bm = opaque;
    struct pci_device *pci = &bm->ide->pci;
    uint8_t *p = buf;

    if (!bm_started(bm))
        return -1;
    if (!(pci->config[PCI_COMMAND] & PCI_COMMAND_MASTER)) {
        log_once(bm, LOG_MASTER, "DMA with bus mastering disabled",
                 pci->config[PCI_COMMAND]);
        return -1;
    }
    if (!(bm->command & BM_COMMAND_TO_MEMORY) != !to_memory)
        log_once(bm, LOG_DIRECTION, "engine direction differs from the command",
                 bm->command);
    while (length) {
        uint32_t n;
        int ret;

        if (!bm->left && !bm_next_entry(bm))
            return -1;
        n = MIN(length, bm->left);
        ret = to_memory ? pci_dma_write(pci, bm->address, p, n)
                        : pci_dma_read(pci, bm->address, p, n);
        if (ret < 0) {
            log_once(bm, LOG_ADDRESS, "PRD entry points outside RAM",
                     bm->address);
            return -1;
        }
        bm->address += n;
        bm->left -= n;
        p += n;
        length -= n;
    }
    return 0;
}

/* Active ends with the table (EOT reached) or on an error (SFF-8038i). */
static void bm_finish(void *opaque, bool failed)
{
    struct piix_bmdma *bm = opaque;

    if (failed)
        bm->status = (bm->status & ~BM_STATUS_ACTIVE) | BM_STATUS_ERROR;
    else if (!bm->left && bm->last)
        bm->status &= ~BM_STATUS_ACTIVE;
}

static const struct ide_dma_ops piix_dma_ops = {
    .started = bm_started,
    .transfer = bm_transfer,
    .finish = bm_finish,
};

/* Each interrupt a drive raises sets the Interrupt bit (SFF-8038i). */
static void channel_set_irq(void *opaque, bool level)
{
    struct piix_bmdma *bm = opaque;

    if (level)
        bm->status |= BM_STATUS_INTERRUPT;
    machine_set_irq(bm->ide->machine, bm->gsi, level);
}

/* --- bus-master registers (BAR 4) --- */

static uint8_t bm_read_byte(struct piix_bmdma *bm, unsigned offset)
{
    switch (offset) {
    case BM_COMMAND:
        return bm->command;
    case BM_STATUS:
        return bm->status;
    case BM_PRD_TABLE ... BM_PRD_TABLE + 3:
        return bm->prd_table >> (8 * (offset - BM_PRD_TABLE));
    }
    return 0;
}

static void bm_write_command(struct piix_bmdma *bm, uint8_t value)
{
    uint8_t old = bm->command;

    bm->command = value & (BM_COMMAND_START | BM_COMMAND_TO_MEMORY);
    if ((value & BM_COMMAND_START) && !(old & BM_COMMAND_START)) {
        /* Start: from the top of the table. */
        bm->prd_next = bm->prd_table;
        bm->prd_entries = 0;
        bm->left = 0;
        bm->last = false;
        bm->status |= BM_STATUS_ACTIVE;
        ide_channel_dma_started(&bm->ide->channel[bm->index]);
    } else if (!(value & BM_COMMAND_START)) {
        /* Stop: whatever the engine knew is lost. */
        bm->status &= ~BM_STATUS_ACTIVE;
    }
}

static void bm_write_byte(struct piix_bmdma *bm, unsigned offset, uint8_t value)
{
    switch (offset) {
    case BM_COMMAND:
        bm_write_command(bm, value);
        break;
    case BM_STATUS:
        bm->status = (bm->status & ~BM_STATUS_DMA_CAPABLE) |
                     (value & BM_STATUS_DMA_CAPABLE);
        bm->status &= ~(value & (BM_STATUS_ERROR | BM_STATUS_INTERRUPT));
        break;
    case BM_PRD_TABLE ... BM_PRD_TABLE + 3: {
        unsigned shift = 8 * (offset - BM_PRD_TABLE);

        bm->prd_table &= ~(0xffu << shift);
        bm->prd_table |= (uint32_t)value << shift;
        bm->prd_table &= ~3u;       /* dword aligned */
        break;
    }
    }
}

static uint64_t bmdma_read(void *opaque, uint64_t offset, unsigned size)
{
    struct piix_ide *ide = opaque;
    uint64_t value = 0;

    for (unsigned i = 0; i < size && offset + i < BMDMA_SIZE; i++) {
        unsigned o = offset + i;

        value |= (uint64_t)bm_read_byte(&ide->bm[o / BMDMA_CHANNEL_SIZE],
                                        o % BMDMA_CHANNEL_SIZE) << (8 * i);
    }
    return value;
}

static void bmdma_write(void *opaque, uint64_t offset, uint64_t value,
                        unsigned size)
{
    struct piix_ide *ide = opaque;

    for (unsigned i = 0; i < size && offset + i < BMDMA_SIZE; i++) {
        unsigned o = offset + i;

        bm_write_byte(&ide->bm[o / BMDMA_CHANNEL_SIZE], o % BMDMA_CHANNEL_SIZE,
                      value >> (8 * i));
    }
}

static const struct memory_ops bmdma_ops = {
    .read = bmdma_read,
    .write = bmdma_write,
};

/* --- legacy command and control blocks --- */

static uint64_t command_block_read(void *opaque, uint64_t offset, unsigned size)
{
    return ide_command_read(opaque, offset, offset == IDE_REG_DATA ? size : 1);
}

static void command_block_write(void *opaque, uint64_t offset, uint64_t value,
                                unsigned size)
{
    ide_command_write(opaque, offset, value, offset == IDE_REG_DATA ? size : 1);
}

static uint64_t control_block_read(void *opaque, uint64_t offset, unsigned size)
{
    return ide_control_read(opaque);
}

static void control_block_write(void *opaque, uint64_t offset, uint64_t value,
                                unsigned size)
{
    ide_control_write(opaque, value);
}

static const struct memory_ops command_block_ops = {
    .read = command_block_read,
    .write = command_block_write,
};

static const struct memory_ops control_block_ops = {
    .read = control_block_read,
    .write = control_block_write,
};

/* --- the device --- */

static uint8_t dma_capable_bits(const struct ide_channel *ch)
{
    return (ch->drive[0].kind != IDE_NONE ? 0x20 : 0) |
           (ch->drive[1].kind != IDE_NONE ? 0x40 : 0);
}

static void piix_ide_reset(struct device *dev)
{
    struct piix_ide *ide = (struct piix_ide *)dev;

    if (ide->pci.bus)
        pci_device_reset(&ide->pci);
    for (unsigned i = 0; i < 2; i++) {
        struct piix_bmdma *bm = &ide->bm[i];

        ide_channel_reset(&ide->channel[i]);
        bm->command = 0;
        bm->status = dma_capable_bits(&ide->channel[i]);
        bm->prd_table = bm->prd_next = 0;
        bm->prd_entries = 0;
        bm->left = 0;
        bm->last = false;
    }
}

static void piix_ide_destroy(struct device *dev)
{
    struct piix_ide *ide = (struct piix_ide *)dev;
    struct machine *m = ide->machine;

    /* Take the BAR out of the I/O map before the registers go. */
    if (ide->pci.bus)
        pci_device_reset(&ide->pci);
    for (unsigned i = 0; i < G_N_ELEMENTS(ide->regions); i++)
        if (ide->regions[i])
            memory_map_remove(m->io, ide->regions[i]);
    for (unsigned i = 0; i < 2; i++)
        ide_channel_cleanup(&ide->channel[i]);
    g_free(ide);
}

static int add_legacy_ports(struct piix_ide *ide, GError **error)
{
    static const uint16_t bases[2] = {
        PIIX_IDE_PRIMARY_BASE, PIIX_IDE_SECONDARY_BASE,
    };
    static const uint16_t controls[2] = {
        PIIX_IDE_PRIMARY_CONTROL, PIIX_IDE_SECONDARY_CONTROL,
    };
    struct memory_map *io = ide->machine->io;

    /* They decode whatever IOSE and IDETIM say: nothing in the PC turns them off. */
    for (unsigned i = 0; i < 2; i++) {
        ide->regions[2 * i] = memory_map_add_io(io, channel_names[i], bases[i],
                                                IDE_COMMAND_PORTS,
                                                &command_block_ops,
                                                &ide->channel[i], error);
        if (!ide->regions[2 * i])
            return -1;
        ide->regions[2 * i + 1] = memory_map_add_io(io, channel_names[i],
                                                    controls[i], 1,
                                                    &control_block_ops,
                                                    &ide->channel[i], error);
        if (!ide->regions[2 * i + 1])
            return -1;
    }
    return 0;
}

struct pci_device *piix_ide_create(struct machine *m, struct pci_bus *bus,
                                   int devfn, GError **error)
{
    struct piix_ide *ide = g_new0(struct piix_ide, 1);
    struct pci_device *d = &ide->pci;

    ide->machine = m;
    d->dev.cls = &piix_ide_device_class;
    d->dev.machine = m;
    for (unsigned i = 0; i < 2; i++) {
        ide->bm[i].ide = ide;
        ide->bm[i].index = i;
        ide->bm[i].gsi = i ? PIIX_IDE_SECONDARY_GSI : PIIX_IDE_PRIMARY_GSI;
        ide_channel_init(&ide->channel[i], channel_names[i], channel_set_irq,
                         &piix_dma_ops, &ide->bm[i]);
    }
    /* Legacy mode uses IRQ 14/15, not INTx: no interrupt pin. */
    pci_device_init(d, "piix3-ide", 0x8086, PIIX3_IDE_DEVICE_ID, 0x00,
                    PIIX_IDE_CLASS, 0);
    pci_device_set_bar(d, PIIX_IDE_BMDMA_BAR, PCI_BAR_IO, BMDMA_SIZE,
                       &bmdma_ops, ide, "piix-bmdma");
    /*
     * Timing registers are the guest's; decoding starts enabled, which
     * firmware would otherwise do, so a directly booted kernel finds both
     * channels (Linux ata_piix checks these bits).
     */
    memset(&d->wmask[PIIX_IDETIM_PRIMARY], 0xff,
           PIIX_TIMING_END - PIIX_IDETIM_PRIMARY);
    d->config[PIIX_IDETIM_PRIMARY + 1] = PIIX_IDETIM_DECODE >> 8;
    d->config[PIIX_IDETIM_SECONDARY + 1] = PIIX_IDETIM_DECODE >> 8;

    if (add_legacy_ports(ide, error) < 0)
        goto out_free;
    if (pci_bus_add(bus, d, devfn, error) < 0)
        goto out_free;
    piix_ide_reset(&d->dev);
    return d;

out_free:
    d->bus = NULL;
    piix_ide_destroy(&d->dev);
    return NULL;
}

static struct piix_ide *to_piix_ide(struct pci_device *d)
{
    g_return_val_if_fail(d && d->dev.cls == &piix_ide_device_class, NULL);
    return (struct piix_ide *)d;
}

int piix_ide_attach(struct pci_device *d, unsigned channel, unsigned unit,
                    enum ide_drive_kind kind, BlkImage *image, GError **error)
{
    struct piix_ide *ide = to_piix_ide(d);
    int ret;

    g_return_val_if_fail(ide, -EINVAL);
    if (channel > 1) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "IDE has channels 0 and 1, not %u", channel);
        return -EINVAL;
    }
    ret = ide_channel_attach(&ide->channel[channel], unit, kind, image, error);
    if (ret < 0)
        return ret;
    ide->bm[channel].status = (ide->bm[channel].status & ~BM_STATUS_DMA_CAPABLE) |
                              dma_capable_bits(&ide->channel[channel]);
    return 0;
}

struct ide_drive *piix_ide_drive(struct pci_device *d, unsigned channel,
                                 unsigned unit)
{
    struct piix_ide *ide = to_piix_ide(d);

    if (!ide || channel > 1 || unit > 1 ||
        ide->channel[channel].drive[unit].kind == IDE_NONE)
        return NULL;
    return &ide->channel[channel].drive[unit];
}

int piix_ide_change_medium(struct pci_device *d, unsigned channel,
                           unsigned unit, BlkImage *medium)
{
    struct ide_drive *drive = piix_ide_drive(d, channel, unit);
    struct machine *m;
    int ret;

    if (!drive)
        return -ENODEV;
    m = ((struct piix_ide *)d)->machine;
    g_mutex_lock(&m->device_lock);
    ret = ide_cdrom_change_medium(drive, medium);
    g_mutex_unlock(&m->device_lock);
    return ret;
}

const struct device_class piix_ide_device_class = {
    .name = "piix3-ide",
    .reset = piix_ide_reset,
    .destroy = piix_ide_destroy,
};
