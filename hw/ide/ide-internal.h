/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the IDE core (ide.c), the ATA disk (ide-ata.c) and ATAPI (atapi.c) share. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "hw/ide/ide.h"

/* ATA commands (ATA/ATAPI-6 clause 8; ATA8-ACS clause 7). */
enum {
    ATA_NOP = 0x00,
    ATA_DEVICE_RESET = 0x08,
    ATA_RECALIBRATE = 0x10,             /* 10h-1Fh */
    ATA_READ_SECTORS = 0x20,
    ATA_READ_SECTORS_NORETRY = 0x21,
    ATA_READ_SECTORS_EXT = 0x24,
    ATA_READ_DMA_EXT = 0x25,
    ATA_READ_MULTIPLE_EXT = 0x29,
    ATA_WRITE_SECTORS = 0x30,
    ATA_WRITE_SECTORS_NORETRY = 0x31,
    ATA_WRITE_SECTORS_EXT = 0x34,
    ATA_WRITE_DMA_EXT = 0x35,
    ATA_WRITE_MULTIPLE_EXT = 0x39,
    ATA_READ_VERIFY = 0x40,
    ATA_READ_VERIFY_NORETRY = 0x41,
    ATA_READ_VERIFY_EXT = 0x42,
    ATA_SEEK = 0x70,                    /* 70h-7Fh */
    ATA_EXECUTE_DEVICE_DIAGNOSTIC = 0x90,
    ATA_INITIALIZE_DEVICE_PARAMETERS = 0x91,
    ATA_STANDBY_IMMEDIATE_OLD = 0x94,   /* 94h-99h: ATA-3 power commands */
    ATA_CHECK_POWER_MODE_OLD = 0x98,
    ATA_SLEEP_OLD = 0x99,
    ATA_PACKET = 0xa0,
    ATA_IDENTIFY_PACKET_DEVICE = 0xa1,
    ATA_READ_MULTIPLE = 0xc4,
    ATA_WRITE_MULTIPLE = 0xc5,
    ATA_SET_MULTIPLE_MODE = 0xc6,
    ATA_READ_DMA = 0xc8,
    ATA_READ_DMA_NORETRY = 0xc9,
    ATA_WRITE_DMA = 0xca,
    ATA_WRITE_DMA_NORETRY = 0xcb,
    ATA_STANDBY_IMMEDIATE = 0xe0,
    ATA_IDLE_IMMEDIATE = 0xe1,
    ATA_STANDBY = 0xe2,
    ATA_IDLE = 0xe3,
    ATA_CHECK_POWER_MODE = 0xe5,
    ATA_SLEEP = 0xe6,
    ATA_FLUSH_CACHE = 0xe7,
    ATA_FLUSH_CACHE_EXT = 0xea,
    ATA_IDENTIFY_DEVICE = 0xec,
    ATA_SET_FEATURES = 0xef,
};

/* Guest mistakes, each reported once per channel (ide_channel.logged). */
enum {
    IDE_LOG_DATA_IDLE = 1 << 0,     /* data port used without DRQ */
    IDE_LOG_COMMAND = 1 << 1,       /* unknown ATA command */
    IDE_LOG_PACKET = 1 << 2,        /* unknown packet command */
    IDE_LOG_BAD_ADDRESS = 1 << 3,   /* CHS/LBA outside the disk */
    IDE_LOG_IO = 1 << 4,            /* block-layer error */
    IDE_LOG_DMA = 1 << 5,           /* DMA command without a usable engine */
    IDE_LOG_FEATURE = 1 << 6,       /* unknown SET FEATURES subcommand */
    IDE_LOG_BUSY = 1 << 7,          /* command written during a reset */
};

void ide_log_once(struct ide_channel *ch, unsigned what, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

/* DRDY (and DSC for disks): the status of an idle drive. */
uint8_t ide_ready_status(const struct ide_drive *d);
void ide_set_signature(struct ide_drive *d);
void ide_raise_irq(struct ide_drive *d);
/* Command done without error: status ready, interrupt. */
void ide_command_ok(struct ide_drive *d);
/* Command ended with @error in the error register, interrupt. */
void ide_command_error(struct ide_drive *d, uint8_t error);

/*
 * Open a PIO window of @length bytes at @offset of d->buffer for the host to
 * read (@out false) or write; @done runs when it has all been moved (NULL:
 * the command is over then). Sets DRQ; the caller raises the interrupt if
 * the protocol wants one.
 */
void ide_pio_start(struct ide_drive *d, uint32_t offset, uint32_t length,
                   bool out, void (*done)(struct ide_drive *d));
/* Drop any transfer in progress (PIO window, DMA waiting for the engine). */
void ide_transfer_cancel(struct ide_drive *d);

/* A DMA command: @run moves the data once the engine is started. */
void ide_dma_start(struct ide_drive *d, void (*run)(struct ide_drive *d));
int ide_dma_transfer(struct ide_drive *d, void *buf, size_t length,
                     bool to_memory);
void ide_dma_finish(struct ide_drive *d, bool failed);

bool ide_valid_transfer_mode(uint8_t mode);

/* Fill IDENTIFY strings: ATA byte order, space padded (ATA/ATAPI-6). */
void ide_identify_string(uint16_t *words, unsigned first, unsigned count,
                         const char *text);
/* Word 255: signature A5h and checksum (ATA/ATAPI-6: integrity word). */
void ide_identify_checksum(uint16_t *words);

/* ide-ata.c: the ATA disk. */
void ide_ata_execute(struct ide_drive *d, uint8_t command);
void ide_ata_init(struct ide_drive *d);

/* atapi.c: the ATAPI CD-ROM. */
void atapi_execute(struct ide_drive *d, uint8_t command);
void atapi_reset(struct ide_drive *d);
