/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ATA disk: IDENTIFY DEVICE, PIO and DMA reads and writes in CHS, LBA28
 * and LBA48 addressing, and the housekeeping commands (ATA/ATAPI-6).
 */
#define G_LOG_DOMAIN "mimic-ide"

#include "hw/ide/ide-internal.h"

#include <string.h>

#define SECTOR_SIZE 512
#define MAX_MULTIPLE 16                 /* IDENTIFY word 47 */
#define LBA28_LIMIT 0x0fffffffu
#define CHS_LIMIT (16383u * 16 * 63)    /* the largest CHS disk */

#ifndef MIMIC_VERSION
#define MIMIC_VERSION "0"
#endif

/* --- geometry and addresses (ATA/ATAPI-6: addressing) --- */

void ide_ata_init(struct ide_drive *d)
{
    uint64_t total = d->image->size / SECTOR_SIZE;
    uint64_t cylinders;

    d->sectors = total;
    d->heads = 16;
    d->sectors_per_track = 63;
    cylinders = total / (16 * 63);
    if (cylinders == 0) {
        /* Tiny disks: one head, as many sectors as fit on a track. */
        d->heads = 1;
        d->sectors_per_track = MIN(total, 63);
        cylinders = total / d->sectors_per_track;
    }
    d->cylinders = MIN(cylinders, 16383);
}

/* The starting sector the task file names, or false for a CHS nonsense. */
static bool get_sector(struct ide_drive *d, uint64_t *lba)
{
    if (d->lba48) {
        *lba = (uint64_t)d->hob_lba_high << 40 | (uint64_t)d->hob_lba_mid << 32 |
               (uint64_t)d->hob_lba_low << 24 | (uint64_t)d->lba_high << 16 |
               (uint64_t)d->lba_mid << 8 | d->lba_low;
    } else if (d->device & IDE_DEVICE_LBA) {
        *lba = (uint64_t)(d->device & 0x0f) << 24 | (uint64_t)d->lba_high << 16 |
               (uint64_t)d->lba_mid << 8 | d->lba_low;
    } else {
        unsigned cylinder = d->lba_high << 8 | d->lba_mid;
        unsigned head = d->device & 0x0f;
        unsigned sector = d->lba_low;

        if (sector == 0 || sector > d->cur_sectors_per_track ||
            head >= d->cur_heads)
            return false;
        *lba = ((uint64_t)cylinder * d->cur_heads + head) *
               d->cur_sectors_per_track + sector - 1;
    }
    return true;
}

/* Report @lba back in the addressing the command used (error and normal outputs). */
static void set_sector(struct ide_drive *d, uint64_t lba)
{
    if (d->lba48) {
        d->lba_low = lba;
        d->lba_mid = lba >> 8;
        d->lba_high = lba >> 16;
        d->hob_lba_low = lba >> 24;
        d->hob_lba_mid = lba >> 32;
        d->hob_lba_high = lba >> 40;
    } else if (d->device & IDE_DEVICE_LBA) {
        d->lba_low = lba;
        d->lba_mid = lba >> 8;
        d->lba_high = lba >> 16;
        d->device = (d->device & 0xf0) | ((lba >> 24) & 0x0f);
    } else {
        unsigned per_cylinder = d->cur_heads * d->cur_sectors_per_track;
        unsigned cylinder = lba / per_cylinder;

        d->lba_low = lba % d->cur_sectors_per_track + 1;
        d->lba_mid = cylinder;
        d->lba_high = cylinder >> 8;
        d->device = (d->device & 0xf0) |
                    ((lba / d->cur_sectors_per_track) % d->cur_heads);
    }
}

static uint32_t get_count(const struct ide_drive *d)
{
    if (d->lba48) {
        uint32_t count = (uint32_t)d->hob_count << 8 | d->count;

        return count ? count : 65536;
    }
    return d->count ? d->count : 256;
}

/*
 * Take the address and count of a read/write/verify command; on a range
 * outside the disk, fail it with IDNF (ATA/ATAPI-6 error outputs) and
 * return false.
 */
static bool start_transfer(struct ide_drive *d, bool lba48)
{
    uint64_t lba;

    d->lba48 = lba48;
    d->remaining = get_count(d);
    if (!get_sector(d, &lba) || lba >= d->sectors ||
        d->remaining > d->sectors - lba) {
        ide_log_once(d->channel, IDE_LOG_BAD_ADDRESS,
                     "command %02xh outside the %" G_GUINT64_FORMAT
                     "-sector disk", d->command, d->sectors);
        ide_command_error(d, IDE_ERROR_IDNF);
        return false;
    }
    d->lba = lba;
    return true;
}

static void io_error(struct ide_drive *d, uint64_t lba, uint8_t error, int ret)
{
    ide_log_once(d->channel, IDE_LOG_IO, "I/O error %d at sector %" G_GUINT64_FORMAT,
                 ret, lba);
    set_sector(d, lba);
    ide_command_error(d, error);
}

/* With the write cache off, every write reaches the medium (ATA/ATAPI-6). */
static int write_sectors(struct ide_drive *d, uint64_t lba, const void *buf,
                         uint32_t count)
{
    int ret = blk_write(d->image, lba * SECTOR_SIZE, buf,
                        (size_t)count * SECTOR_SIZE);

    if (ret >= 0 && !d->write_cache)
        ret = blk_flush(d->image);
    return ret;
}

/* --- PIO data-in: READ SECTORS / MULTIPLE (ATA/ATAPI-6 protocol) --- */

static void read_next_block(struct ide_drive *d);

static void read_block_done(struct ide_drive *d)
{
    if (d->remaining)
        read_next_block(d);
    else
        d->status = ide_ready_status(d);    /* no interrupt after the last */
}

static void read_next_block(struct ide_drive *d)
{
    uint32_t n = MIN(d->remaining, d->block);
    int ret = blk_read(d->image, d->lba * SECTOR_SIZE, d->buffer,
                       (size_t)n * SECTOR_SIZE);

    if (ret < 0) {
        io_error(d, d->lba, IDE_ERROR_UNC, ret);
        return;
    }
    set_sector(d, d->lba + n - 1);
    d->lba += n;
    d->remaining -= n;
    ide_pio_start(d, 0, n * SECTOR_SIZE, false, read_block_done);
    ide_raise_irq(d);
}

/* --- PIO data-out: WRITE SECTORS / MULTIPLE (ATA/ATAPI-6 protocol) --- */

static void write_block_done(struct ide_drive *d)
{
    uint32_t n = d->end / SECTOR_SIZE;
    int ret = write_sectors(d, d->lba, d->buffer, n);

    if (ret < 0) {
        io_error(d, d->lba, IDE_ERROR_ABRT, ret);
        return;
    }
    set_sector(d, d->lba + n - 1);
    d->lba += n;
    d->remaining -= n;
    if (!d->remaining) {
        ide_command_ok(d);
        return;
    }
    ide_pio_start(d, 0, MIN(d->remaining, d->block) * SECTOR_SIZE, true,
                  write_block_done);
    ide_raise_irq(d);
}

static void pio_command(struct ide_drive *d, bool lba48, bool write,
                        uint32_t block)
{
    if (!start_transfer(d, lba48))
        return;
    d->block = block;
    if (!write) {
        read_next_block(d);
        return;
    }
    /* The first block is asked for without an interrupt. */
    ide_pio_start(d, 0, MIN(d->remaining, d->block) * SECTOR_SIZE, true,
                  write_block_done);
}

/* --- DMA (ATA/ATAPI-6: PACKET protocol) --- */

static void dma_run(struct ide_drive *d, bool write)
{
    uint32_t chunk_sectors = IDE_BUFFER_SIZE / SECTOR_SIZE;

    while (d->remaining) {
        uint32_t n = MIN(d->remaining, chunk_sectors);
        size_t bytes = (size_t)n * SECTOR_SIZE;
        int ret;

        if (!write) {
            ret = blk_read(d->image, d->lba * SECTOR_SIZE, d->buffer, bytes);
            if (ret < 0) {
                ide_dma_finish(d, false);
                io_error(d, d->lba, IDE_ERROR_UNC, ret);
                return;
            }
        }
        if (ide_dma_transfer(d, d->buffer, bytes, !write) < 0) {
            /* The PRD table failed the transfer: end the command too. */
            ide_dma_finish(d, true);
            set_sector(d, d->lba);
            ide_command_error(d, IDE_ERROR_ABRT);
            return;
        }
        if (write) {
            ret = write_sectors(d, d->lba, d->buffer, n);
            if (ret < 0) {
                ide_dma_finish(d, false);
                io_error(d, d->lba, IDE_ERROR_ABRT, ret);
                return;
            }
        }
        d->lba += n;
        d->remaining -= n;
    }
    ide_dma_finish(d, false);
    set_sector(d, d->lba - 1);
    ide_command_ok(d);
}

static void dma_run_read(struct ide_drive *d)
{
    dma_run(d, false);
}

static void dma_run_write(struct ide_drive *d)
{
    dma_run(d, true);
}

static void dma_command(struct ide_drive *d, bool lba48, bool write)
{
    if (!start_transfer(d, lba48))
        return;
    ide_dma_start(d, write ? dma_run_write : dma_run_read);
}

/* --- IDENTIFY DEVICE (ATA/ATAPI-6) --- */

static void identify(struct ide_drive *d)
{
    uint16_t *w = (uint16_t *)d->buffer;
    uint64_t lba28 = MIN(d->sectors, LBA28_LIMIT);
    uint32_t current = (uint32_t)d->cur_cylinders * d->cur_heads *
                       d->cur_sectors_per_track;
    uint8_t mode = d->transfer_mode;

    memset(w, 0, SECTOR_SIZE);
    w[0] = 0x0040;                          /* fixed, not removable */
    w[1] = d->cylinders;
    w[3] = d->heads;
    w[6] = d->sectors_per_track;
    ide_identify_string(w, 10, 10, d->serial);
    ide_identify_string(w, 23, 4, MIMIC_VERSION);
    ide_identify_string(w, 27, 20, "MIMIC HARDDISK");
    w[47] = 0x8000 | MAX_MULTIPLE;
    w[49] = 0x0f00;                         /* IORDY, LBA, DMA */
    w[50] = 0x4000;
    w[51] = 0x0200;                         /* PIO mode 2 timing */
    w[53] = 0x0007;                         /* words 54-58, 64-70, 88 valid */
    w[54] = d->cur_cylinders;
    w[55] = d->cur_heads;
    w[56] = d->cur_sectors_per_track;
    w[57] = current;
    w[58] = current >> 16;
    if (d->multiple)
        w[59] = 0x0100 | d->multiple;
    w[60] = lba28;
    w[61] = lba28 >> 16;
    w[63] = 0x0007;                         /* multiword DMA 0-2 */
    if ((mode & 0xf8) == 0x20)
        w[63] |= 0x0100 << (mode & 7);
    w[64] = 0x0003;                         /* PIO 3 and 4 */
    w[65] = w[66] = w[67] = w[68] = 120;    /* ns */
    w[80] = 0x00f0;                         /* ATA/ATAPI-4 to -7 */
    w[82] = 0x4028;                         /* NOP, write cache, power mgmt */
    w[83] = 0x7400;                         /* FLUSH CACHE (EXT), 48-bit */
    w[84] = 0x4000;
    w[85] = 0x4008 | (d->write_cache ? 0x0020 : 0);
    w[86] = 0x3400;
    w[87] = 0x4000;
    w[88] = 0x003f;                         /* Ultra DMA 0-5 */
    if ((mode & 0xf8) == 0x40)
        w[88] |= 0x0100 << (mode & 7);
    /* Reset results: valid, 80-conductor cable, this device's bit set. */
    w[93] = 0x6000 | (d->unit ? 0x0100 : 0x0001);
    for (unsigned i = 0; i < 4; i++)
        w[100 + i] = d->sectors >> (16 * i);
    ide_identify_checksum(w);
    for (unsigned i = 0; i < 256; i++)
        w[i] = GUINT16_TO_LE(w[i]);
    ide_pio_start(d, 0, SECTOR_SIZE, false, NULL);
    ide_raise_irq(d);
}

/* --- the small commands --- */

/* SET FEATURES (ATA/ATAPI-6): transfer mode, write cache, look-ahead. */
static void set_features(struct ide_drive *d)
{
    uint8_t mode = d->count;

    switch (d->feature) {
    case 0x02:                              /* enable write cache */
        d->write_cache = true;
        break;
    case 0x82:                              /* disable write cache */
        if (blk_flush(d->image) < 0) {
            ide_command_error(d, IDE_ERROR_ABRT);
            return;
        }
        d->write_cache = false;
        break;
    case 0x03:                              /* transfer mode, 8.37.10 */
        if (!ide_valid_transfer_mode(mode)) {
            ide_command_error(d, IDE_ERROR_ABRT);
            return;
        }
        d->transfer_mode = mode;
        break;
    case 0xaa: case 0x55:                   /* read look-ahead on/off */
    case 0xcc: case 0x66:                   /* revert to defaults on/off */
        break;
    default:
        ide_log_once(d->channel, IDE_LOG_FEATURE,
                     "SET FEATURES subcommand %02xh not supported", d->feature);
        ide_command_error(d, IDE_ERROR_ABRT);
        return;
    }
    ide_command_ok(d);
}

static bool valid_multiple(unsigned count)
{
    return count <= MAX_MULTIPLE && (count & (count - 1)) == 0;
}

/* INITIALIZE DEVICE PARAMETERS (ATA/ATAPI-6): the CHS translation. */
static void initialize_parameters(struct ide_drive *d)
{
    unsigned heads = (d->device & 0x0f) + 1;
    unsigned spt = d->count;

    if (spt == 0) {
        ide_command_error(d, IDE_ERROR_ABRT);
        return;
    }
    d->cur_heads = heads;
    d->cur_sectors_per_track = spt;
    d->cur_cylinders = MIN(d->sectors / (heads * spt), 65535);
    ide_command_ok(d);
}

static void flush(struct ide_drive *d)
{
    int ret = blk_flush(d->image);

    if (ret < 0) {
        ide_log_once(d->channel, IDE_LOG_IO, "flush failed: %d", ret);
        ide_command_error(d, IDE_ERROR_ABRT);
        return;
    }
    ide_command_ok(d);
}

void ide_ata_execute(struct ide_drive *d, uint8_t command)
{
    uint8_t family = command & 0xf0;

    if (family == ATA_RECALIBRATE) {
        d->lba_mid = d->lba_high = 0;
        ide_command_ok(d);
        return;
    }
    if (family == ATA_SEEK) {
        uint64_t lba;

        d->lba48 = false;
        if (!get_sector(d, &lba) || lba >= d->sectors)
            ide_command_error(d, IDE_ERROR_IDNF);
        else
            ide_command_ok(d);
        return;
    }
    switch (command) {
    case ATA_IDENTIFY_DEVICE:
        identify(d);
        break;
    case ATA_READ_SECTORS:
    case ATA_READ_SECTORS_NORETRY:
        pio_command(d, false, false, 1);
        break;
    case ATA_READ_SECTORS_EXT:
        pio_command(d, true, false, 1);
        break;
    case ATA_WRITE_SECTORS:
    case ATA_WRITE_SECTORS_NORETRY:
        pio_command(d, false, true, 1);
        break;
    case ATA_WRITE_SECTORS_EXT:
        pio_command(d, true, true, 1);
        break;
    case ATA_READ_MULTIPLE:
    case ATA_READ_MULTIPLE_EXT:
    case ATA_WRITE_MULTIPLE:
    case ATA_WRITE_MULTIPLE_EXT:
        /* Without SET MULTIPLE MODE these abort (ATA/ATAPI-6). */
        if (!d->multiple) {
            ide_command_error(d, IDE_ERROR_ABRT);
            break;
        }
        pio_command(d, command == ATA_READ_MULTIPLE_EXT ||
                       command == ATA_WRITE_MULTIPLE_EXT,
                    command == ATA_WRITE_MULTIPLE ||
                    command == ATA_WRITE_MULTIPLE_EXT, d->multiple);
        break;
    case ATA_SET_MULTIPLE_MODE:
        if (!valid_multiple(d->count)) {
            ide_command_error(d, IDE_ERROR_ABRT);
            break;
        }
        d->multiple = d->count;
        ide_command_ok(d);
        break;
    case ATA_READ_DMA:
    case ATA_READ_DMA_NORETRY:
        dma_command(d, false, false);
        break;
    case ATA_READ_DMA_EXT:
        dma_command(d, true, false);
        break;
    case ATA_WRITE_DMA:
    case ATA_WRITE_DMA_NORETRY:
        dma_command(d, false, true);
        break;
    case ATA_WRITE_DMA_EXT:
        dma_command(d, true, true);
        break;
    case ATA_READ_VERIFY:
    case ATA_READ_VERIFY_NORETRY:
    case ATA_READ_VERIFY_EXT:
        if (start_transfer(d, command == ATA_READ_VERIFY_EXT)) {
            set_sector(d, d->lba + d->remaining - 1);
            ide_command_ok(d);
        }
        break;
    case ATA_FLUSH_CACHE:
    case ATA_FLUSH_CACHE_EXT:
        flush(d);
        break;
    case ATA_SET_FEATURES:
        set_features(d);
        break;
    case ATA_INITIALIZE_DEVICE_PARAMETERS:
        initialize_parameters(d);
        break;
    case ATA_CHECK_POWER_MODE:
    case ATA_CHECK_POWER_MODE_OLD:
        d->count = 0xff;                    /* active or idle */
        ide_command_ok(d);
        break;
    case ATA_STANDBY_IMMEDIATE:
    case ATA_IDLE_IMMEDIATE:
    case ATA_STANDBY:
    case ATA_IDLE:
    case ATA_SLEEP:
    case ATA_STANDBY_IMMEDIATE_OLD:
    case ATA_STANDBY_IMMEDIATE_OLD + 1:
    case ATA_STANDBY_IMMEDIATE_OLD + 2:
    case ATA_STANDBY_IMMEDIATE_OLD + 3:
    case ATA_SLEEP_OLD:
        ide_command_ok(d);
        break;
    case ATA_NOP:                           /* always aborts (ATA/ATAPI-6) */
    case ATA_DEVICE_RESET:                  /* packet devices only */
    case ATA_PACKET:
    case ATA_IDENTIFY_PACKET_DEVICE:
        ide_command_error(d, IDE_ERROR_ABRT);
        break;
    default:
        ide_log_once(d->channel, IDE_LOG_COMMAND,
                     "ATA command %02xh not supported by the disk", command);
        ide_command_error(d, IDE_ERROR_ABRT);
        break;
    }
}
