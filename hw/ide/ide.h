/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An IDE channel (ATA/ATAPI-6: the I/O register interface) with up to
 * two drives: ATA disks and ATAPI CD-ROMs. Controllers (hw/ide/piix-ide.c)
 * route their ports, interrupt line and bus-master DMA engine here.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/block.h"

enum ide_drive_kind {
    IDE_NONE,       /* no drive at this position */
    IDE_DISK,       /* ATA disk on a read-write image */
    IDE_CDROM,      /* ATAPI CD/DVD-ROM drive, medium optional */
};

/* Command block registers, offsets from the base port (ATA/ATAPI-6). */
enum {
    IDE_REG_DATA = 0,
    IDE_REG_ERROR_FEATURE = 1,
    IDE_REG_COUNT = 2,
    IDE_REG_LBA_LOW = 3,
    IDE_REG_LBA_MID = 4,
    IDE_REG_LBA_HIGH = 5,
    IDE_REG_DEVICE = 6,
    IDE_REG_STATUS_COMMAND = 7,
    IDE_COMMAND_PORTS = 8,
};

/* Status register (ATA/ATAPI-6: Status register). */
#define IDE_STATUS_ERR 0x01
#define IDE_STATUS_DRQ 0x08
#define IDE_STATUS_DSC 0x10     /* obsolete "seek complete"; set by disks */
#define IDE_STATUS_DF 0x20
#define IDE_STATUS_DRDY 0x40
#define IDE_STATUS_BSY 0x80

/* Error register (ATA/ATAPI-6). */
#define IDE_ERROR_AMNF 0x01
#define IDE_ERROR_ABRT 0x04
#define IDE_ERROR_MCR 0x08
#define IDE_ERROR_IDNF 0x10
#define IDE_ERROR_MC 0x20
#define IDE_ERROR_UNC 0x40

/* Device control register (ATA/ATAPI-6: Device Control register). */
#define IDE_CONTROL_NIEN 0x02
#define IDE_CONTROL_SRST 0x04
#define IDE_CONTROL_HOB 0x80

/* Device register (ATA/ATAPI-6). */
#define IDE_DEVICE_DEV 0x10
#define IDE_DEVICE_LBA 0x40

/* Large enough for one 256-sector ATA block or 64 CD sectors. */
#define IDE_BUFFER_SIZE (128 * 1024)

struct ide_channel;
struct ide_drive;

/*
 * The controller's bus-master engine, as the drives use it. Called with the
 * device lock held, from a register access.
 */
struct ide_dma_ops {
    /* Has the guest started the engine (SFF-8038i: Start bit)? */
    bool (*started)(void *opaque);
    /*
     * Move @length bytes between @buf and the memory the PRD table describes,
     * continuing where the last call stopped: 0, or -1 when the table ended
     * early, was malformed or pointed outside RAM.
     */
    int (*transfer)(void *opaque, void *buf, size_t length, bool to_memory);
    /* The drive ended the transfer; @failed when transfer() failed. */
    void (*finish)(void *opaque, bool failed);
};

/* ATAPI state (MMC-5, SPC-3), used by hw/ide/atapi.c. */
struct atapi_state {
    uint8_t cdb[12];
    uint8_t sense_key, asc, ascq;
    bool unit_attention;    /* medium changed since the guest last looked */
    bool tray_open;
    bool locked;            /* PREVENT ALLOW MEDIUM REMOVAL */
    uint8_t media_event;    /* pending GET EVENT STATUS media event code */
    uint16_t byte_count_limit;
    /* The data-in phase of the packet command in progress. */
    uint64_t lba;           /* next 2048-byte block of a read */
    uint32_t blocks;        /* blocks of the read still to load */
    uint32_t block_size;    /* bytes per block returned (READ CD: raw or not) */
    uint64_t bytes_left;    /* bytes still to move to the host */
    uint32_t chunk_pos;     /* loaded, not yet sent: buffer[chunk_pos, chunk_len) */
    uint32_t chunk_len;
};

struct ide_drive {
    struct ide_channel *channel;
    unsigned unit;                  /* 0: device 0 (master), 1: device 1 */
    enum ide_drive_kind kind;
    BlkImage *image;                /* borrowed; CD-ROM: NULL without medium */
    uint64_t sectors;               /* 512-byte (disk) or 2048-byte (CD) units */
    char serial[21];

    /* Task file; hob_ = the earlier byte of a 48-bit register (ATA/ATAPI-6). */
    uint8_t feature, count, lba_low, lba_mid, lba_high;
    uint8_t hob_feature, hob_count, hob_lba_low, hob_lba_mid, hob_lba_high;
    uint8_t device, status, error;
    bool irq_pending;               /* INTRQ, before nIEN and selection */

    /* Disk geometry: default (IDENTIFY words 1, 3, 6) and current. */
    uint16_t cylinders, heads, sectors_per_track;
    uint16_t cur_cylinders, cur_heads, cur_sectors_per_track;
    uint8_t multiple;               /* SET MULTIPLE MODE; 0: disabled */
    bool write_cache;
    uint8_t transfer_mode;          /* SET FEATURES 03h value */

    /* The command in progress. */
    uint8_t command;
    uint8_t *buffer;
    uint32_t pos, end;              /* PIO window into buffer */
    bool pio_out;                   /* the host writes the window */
    void (*pio_done)(struct ide_drive *d);  /* window drained or filled */
    void (*dma_run)(struct ide_drive *d);   /* set while waiting for the engine */
    uint64_t lba;                   /* next sector of a disk transfer */
    uint32_t remaining;             /* sectors of it still to move */
    uint32_t block;                 /* sectors per DRQ block */
    bool lba48;

    struct atapi_state atapi;
};

struct ide_channel {
    const char *name;               /* for log messages: "ide0" */
    struct ide_drive drive[2];
    unsigned selected;
    uint8_t control;                /* device control register */
    bool irq_level;
    /* Interrupt line: called with true on each interrupt the drive raises. */
    void (*set_irq)(void *opaque, bool level);
    const struct ide_dma_ops *dma;  /* NULL: no bus master */
    void *opaque;
    unsigned logged;                /* guest mistakes already reported */
};

/* Set up an empty channel; @name must outlive it. */
void ide_channel_init(struct ide_channel *ch, const char *name,
                      void (*set_irq)(void *opaque, bool level),
                      const struct ide_dma_ops *dma, void *opaque);
void ide_channel_cleanup(struct ide_channel *ch);
/*
 * Put a drive at @unit (0 or 1). @image is borrowed and must stay open while
 * the drive uses it; a disk needs one, a CD-ROM may start empty.
 */
int ide_channel_attach(struct ide_channel *ch, unsigned unit,
                       enum ide_drive_kind kind, BlkImage *image,
                       GError **error);
/* Hardware reset (power-on or RESET-): every drive to its default state. */
void ide_channel_reset(struct ide_channel *ch);

/* Register accesses: command block at @reg (0-7), control block (alt status). */
uint32_t ide_command_read(struct ide_channel *ch, unsigned reg, unsigned size);
void ide_command_write(struct ide_channel *ch, unsigned reg, uint32_t value,
                       unsigned size);
uint8_t ide_control_read(struct ide_channel *ch);
void ide_control_write(struct ide_channel *ch, uint8_t value);

/* The controller's engine was started: run a DMA command that waits for it. */
void ide_channel_dma_started(struct ide_channel *ch);

/*
 * Change the medium of a CD-ROM drive (NULL: eject). The image is borrowed
 * as for ide_channel_attach; the old one may be closed on return. The guest
 * sees a unit attention and a media event. -EBUSY when the guest locked the
 * tray (it is asked to eject: a media event), -EINVAL when not a CD-ROM.
 * Takes no lock: call with the machine's device lock held.
 */
int ide_cdrom_change_medium(struct ide_drive *drive, BlkImage *medium);
