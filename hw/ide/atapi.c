/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ATAPI CD/DVD-ROM drive: the PACKET protocol (ATA/ATAPI-6),
 * IDENTIFY PACKET DEVICE, sense data and the SPC-3/MMC-5 commands that
 * SeaBIOS, GRUB and Linux send, on 2048-byte blocks of an ISO image.
 */
#define G_LOG_DOMAIN "mimic-ide"

#include "hw/ide/ide-internal.h"

#include <errno.h>
#include <string.h>

#define CD_BLOCK 2048
#define CD_RAW_BLOCK 2352
/* An 80-minute CD; larger media are DVDs (MMC-5: CD and DVD models). */
#define CD_MAX_BLOCKS (80 * 60 * 75 - 150)
#define PACKET_SIZE 12

#ifndef MIMIC_VERSION
#define MIMIC_VERSION "0"
#endif

/* Interrupt reason, in the sector count register (ATA/ATAPI-6). */
#define REASON_COD 0x01
#define REASON_IO 0x02

/* Sense keys (SPC-3: sense keys) and the additional sense codes used here. */
enum {
    SENSE_NONE = 0x0,
    SENSE_NOT_READY = 0x2,
    SENSE_MEDIUM_ERROR = 0x3,
    SENSE_ILLEGAL_REQUEST = 0x5,
    SENSE_UNIT_ATTENTION = 0x6,
    SENSE_ABORTED_COMMAND = 0xb,
};
#define ASC_UNRECOVERED_READ_ERROR 0x11
#define ASC_INVALID_OPCODE 0x20
#define ASC_LBA_OUT_OF_RANGE 0x21
#define ASC_INVALID_FIELD 0x24
#define ASC_MEDIUM_CHANGED 0x28
#define ASC_SAVING_NOT_SUPPORTED 0x39
#define ASC_MEDIUM_NOT_PRESENT 0x3a
#define ASC_REMOVAL_PREVENTED 0x53
#define ASC_ILLEGAL_MODE_FOR_TRACK 0x64

/* Packet commands (SPC-3, MMC-5 clause 6). */
enum {
    CMD_TEST_UNIT_READY = 0x00,
    CMD_REQUEST_SENSE = 0x03,
    CMD_INQUIRY = 0x12,
    CMD_MODE_SENSE_6 = 0x1a,
    CMD_START_STOP_UNIT = 0x1b,
    CMD_PREVENT_ALLOW = 0x1e,
    CMD_READ_CAPACITY = 0x25,
    CMD_READ_10 = 0x28,
    CMD_SEEK_10 = 0x2b,
    CMD_READ_TOC = 0x43,
    CMD_GET_CONFIGURATION = 0x46,
    CMD_GET_EVENT_STATUS = 0x4a,
    CMD_READ_DISC_INFORMATION = 0x51,
    CMD_MODE_SENSE_10 = 0x5a,
    CMD_READ_12 = 0xa8,
    CMD_SET_CD_SPEED = 0xbb,
    CMD_MECHANISM_STATUS = 0xbd,
    CMD_READ_CD = 0xbe,
};

/* GET EVENT STATUS NOTIFICATION media event codes (MMC-5, media class). */
enum {
    MEDIA_EVENT_NONE = 0,
    MEDIA_EVENT_EJECT_REQUEST = 1,
    MEDIA_EVENT_NEW_MEDIA = 2,
    MEDIA_EVENT_REMOVAL = 3,
};

/* MMC-5 profiles (5.3.1). */
#define PROFILE_NONE 0x0000
#define PROFILE_CD_ROM 0x0008
#define PROFILE_DVD_ROM 0x0010

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool medium_present(const struct ide_drive *d)
{
    return d->image && !d->atapi.tray_open;
}

static uint16_t current_profile(const struct ide_drive *d)
{
    if (!medium_present(d))
        return PROFILE_NONE;
    return d->sectors > CD_MAX_BLOCKS ? PROFILE_DVD_ROM : PROFILE_CD_ROM;
}

/* Minute/second/frame of a block, 2 s of pre-gap ahead (MMC-5). */
static void put_msf(uint8_t *p, uint64_t lba)
{
    uint64_t frames = lba + 150;

    if (frames >= 256 * 60 * 75)
        frames = 256 * 60 * 75 - 1;
    p[0] = frames / (60 * 75);
    p[1] = (frames / 75) % 60;
    p[2] = frames % 75;
}

/* An address field of READ TOC: LBA, or 0/M/S/F. */
static void put_address(uint8_t *p, uint64_t lba, bool msf)
{
    if (msf) {
        p[0] = 0;
        put_msf(p + 1, lba);
    } else {
        put_be32(p, lba);
    }
}

/* --- status of a packet command (ATA/ATAPI-6: PACKET protocol) --- */

static void set_sense(struct ide_drive *d, uint8_t key, uint8_t asc, uint8_t ascq)
{
    d->atapi.sense_key = key;
    d->atapi.asc = asc;
    d->atapi.ascq = ascq;
}

static void packet_ok(struct ide_drive *d)
{
    set_sense(d, SENSE_NONE, 0, 0);
    d->count = REASON_IO | REASON_COD;
    ide_command_ok(d);
}

/* CHECK CONDITION: the sense key in the error register, ERR in status. */
static void packet_error(struct ide_drive *d, uint8_t key, uint8_t asc,
                         uint8_t ascq)
{
    set_sense(d, key, asc, ascq);
    d->count = REASON_IO | REASON_COD;
    ide_command_error(d, key << 4 |
                      (key == SENSE_ILLEGAL_REQUEST ? IDE_ERROR_ABRT : 0));
}

static void invalid_field(struct ide_drive *d)
{
    packet_error(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
}

static void not_ready(struct ide_drive *d)
{
    /* ASCQ 1: tray closed, 2: tray open (SPC-3 Annex D). */
    packet_error(d, SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT,
                 d->atapi.tray_open ? 2 : 1);
}

/* --- the data-in phase --- */

/*
 * Put the next blocks of a read into the buffer. Returns false after ending
 * the command with the sense that says why.
 */
static bool load_blocks(struct ide_drive *d, bool dma)
{
    struct atapi_state *a = &d->atapi;
    uint32_t n = MIN(a->blocks, IDE_BUFFER_SIZE / a->block_size);
    uint8_t *p = d->buffer;
    int ret = 0;

    if (!medium_present(d)) {
        ret = -ENOMEDIUM;
    } else if (a->block_size == CD_BLOCK) {
        ret = blk_read(d->image, a->lba * CD_BLOCK, p, (size_t)n * CD_BLOCK);
    } else {
        /* Raw 2352-byte blocks: sync, header, user data (MMC-5). */
        for (uint32_t i = 0; i < n && ret >= 0; i++, p += CD_RAW_BLOCK) {
            memset(p, 0, CD_RAW_BLOCK);
            memset(p + 1, 0xff, 10);
            put_msf(p + 12, a->lba + i);
            for (unsigned j = 12; j < 15; j++)
                p[j] = (uint8_t)((p[j] / 10) << 4 | p[j] % 10);   /* BCD */
            p[15] = 0x01;           /* mode 1 */
            /* FIXME: EDC and ECC are left zero. */
            ret = blk_read(d->image, (a->lba + i) * CD_BLOCK, p + 16, CD_BLOCK);
        }
    }
    if (ret < 0) {
        if (dma)
            ide_dma_finish(d, false);
        if (ret == -ENOMEDIUM) {
            not_ready(d);
        } else {
            ide_log_once(d->channel, IDE_LOG_IO, "CD-ROM read error %d at block %"
                         G_GUINT64_FORMAT, ret, a->lba);
            packet_error(d, SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR, 0);
        }
        return false;
    }
    a->lba += n;
    a->blocks -= n;
    a->chunk_pos = 0;
    a->chunk_len = n * a->block_size;
    return true;
}

/*
 * PIO data-in: one DRQ block of at most the byte count limit, its length in
 * the cylinder registers, an interrupt each (ATA/ATAPI-6: PACKET PIO data-in).
 */
static void pio_next(struct ide_drive *d)
{
    struct atapi_state *a = &d->atapi;
    uint32_t limit = a->byte_count_limit;
    uint32_t n;

    if (!a->bytes_left) {
        packet_ok(d);
        return;
    }
    if (a->chunk_pos >= a->chunk_len && !load_blocks(d, false))
        return;
    if (limit == 0 || limit == 0xffff)
        limit = 0xfffe;
    n = MIN(a->chunk_len - a->chunk_pos, a->bytes_left);
    /*
     * Only the last block may be odd; a limit of 1 with more to send is a
     * driver error that would otherwise offer empty blocks forever: send 2.
     */
    if (n > limit)
        n = MAX(limit & ~1u, 2u);
    d->lba_mid = n;
    d->lba_high = n >> 8;
    d->count = REASON_IO;
    ide_pio_start(d, a->chunk_pos, n, false, pio_next);
    a->chunk_pos += n;
    a->bytes_left -= n;
    ide_raise_irq(d);
}

static void dma_run(struct ide_drive *d)
{
    struct atapi_state *a = &d->atapi;

    while (a->bytes_left) {
        uint32_t n;

        if (a->chunk_pos >= a->chunk_len && !load_blocks(d, true))
            return;
        n = MIN(a->chunk_len - a->chunk_pos, a->bytes_left);
        if (ide_dma_transfer(d, d->buffer + a->chunk_pos, n, true) < 0) {
            ide_dma_finish(d, true);
            packet_error(d, SENSE_ABORTED_COMMAND, 0, 0);
            return;
        }
        a->chunk_pos += n;
        a->bytes_left -= n;
    }
    ide_dma_finish(d, false);
    packet_ok(d);
}

static void start_data_in(struct ide_drive *d)
{
    if (!d->atapi.bytes_left) {
        packet_ok(d);
        return;
    }
    if (d->feature & 0x01) {            /* DMA (ATA/ATAPI-6: PACKET features) */
        d->count = REASON_IO;
        ide_dma_start(d, dma_run);
    } else {
        pio_next(d);
    }
}

/* Send @length bytes the command built in d->buffer, cut to @allocation. */
static void reply(struct ide_drive *d, uint32_t length, uint32_t allocation)
{
    struct atapi_state *a = &d->atapi;

    a->blocks = 0;
    a->chunk_pos = 0;
    a->chunk_len = a->bytes_left = MIN(length, allocation);
    start_data_in(d);
}

static void start_read(struct ide_drive *d, uint64_t lba, uint32_t blocks,
                       uint32_t block_size)
{
    struct atapi_state *a = &d->atapi;

    if (lba > d->sectors || blocks > d->sectors - lba) {
        packet_error(d, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
        return;
    }
    a->lba = lba;
    a->blocks = block_size ? blocks : 0;
    a->block_size = block_size;
    a->bytes_left = (uint64_t)blocks * block_size;
    a->chunk_pos = a->chunk_len = 0;
    start_data_in(d);
}

/* --- SPC-3 commands --- */

static void inquiry(struct ide_drive *d, const uint8_t *cdb)
{
    uint8_t *b = d->buffer;
    uint32_t allocation = get_be16(cdb + 3);

    memset(b, 0, 96);
    if (cdb[1] & 0x01) {                /* EVPD (SPC-3: vital product data) */
        b[0] = 0x05;
        b[1] = cdb[2];
        if (cdb[2] == 0x00) {           /* supported pages */
            b[3] = 2;
            b[5] = 0x80;
            reply(d, 6, allocation);
        } else if (cdb[2] == 0x80) {    /* unit serial number */
            b[3] = strlen(d->serial);
            memcpy(b + 4, d->serial, b[3]);
            reply(d, 4 + b[3], allocation);
        } else {
            invalid_field(d);
        }
        return;
    }
    if (cdb[2]) {
        invalid_field(d);
        return;
    }
    /* Standard data (SPC-3: INQUIRY). */
    b[0] = 0x05;                        /* CD/DVD device */
    b[1] = 0x80;                        /* removable */
    b[2] = 0x05;                        /* SPC-3 */
    b[3] = 0x02;                        /* response data format */
    b[4] = 36 - 5;
    memcpy(b + 8, "MIMIC   ", 8);
    memcpy(b + 16, "MIMIC DVD-ROM   ", 16);
    memset(b + 32, ' ', 4);
    memcpy(b + 32, MIMIC_VERSION, MIN(strlen(MIMIC_VERSION), 4));
    reply(d, 36, allocation);
}

/* Fixed-format sense data (SPC-3); reporting it clears it. */
static void request_sense(struct ide_drive *d, const uint8_t *cdb)
{
    struct atapi_state *a = &d->atapi;
    uint8_t *b = d->buffer;

    if (a->sense_key == SENSE_NONE && a->unit_attention) {
        a->unit_attention = false;
        set_sense(d, SENSE_UNIT_ATTENTION, ASC_MEDIUM_CHANGED, 0);
    }
    memset(b, 0, 18);
    b[0] = 0x70;
    b[2] = a->sense_key;
    b[7] = 10;
    b[12] = a->asc;
    b[13] = a->ascq;
    reply(d, 18, cdb[4]);
}

/*
 * Mode pages 01h (MMC-5: error recovery) and 2Ah (MMC-3: capabilities);
 * @changeable: the mask of what may change (nothing).
 */
static uint32_t mode_pages(struct ide_drive *d, uint8_t *p, uint8_t page,
                           bool changeable)
{
    uint32_t length = 0;

    if (page == 0x01 || page == 0x3f) {
        memset(p, 0, 12);
        p[0] = 0x01;
        p[1] = 10;
        if (!changeable)
            p[3] = 5;                   /* read retry count */
        length += 12;
        p += 12;
    }
    if (page == 0x2a || page == 0x3f) {
        memset(p, 0, 32);
        p[0] = 0x2a;
        p[1] = 30;
        if (!changeable) {
            p[2] = 0x3f;                /* reads CD-R/RW, method 2, DVD-ROM/R/RAM */
            p[4] = 0x71;                /* multisession, mode 2 form 1/2, audio */
            p[6] = 0x29 | (d->atapi.locked ? 0x02 : 0);   /* tray, eject, lock */
            put_be16(p + 8, 16 * 176);  /* KB/s, obsolete */
            put_be16(p + 10, 256);      /* volume levels */
            put_be16(p + 12, 512);      /* buffer, KB */
            put_be16(p + 14, 16 * 176);
        }
        length += 32;
    }
    return length;
}

static void mode_sense(struct ide_drive *d, const uint8_t *cdb, bool ten)
{
    uint8_t pc = cdb[2] >> 6, page = cdb[2] & 0x3f;
    uint32_t header = ten ? 8 : 4;
    uint32_t allocation = ten ? get_be16(cdb + 7) : cdb[4];
    uint8_t *b = d->buffer;
    uint32_t length;

    if (pc == 3) {
        packet_error(d, SENSE_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED, 0);
        return;
    }
    if (page != 0x01 && page != 0x2a && page != 0x3f) {
        invalid_field(d);
        return;
    }
    memset(b, 0, header);
    length = header + mode_pages(d, b + header, page, pc == 1);
    /* Medium type: 70h no disc, 71h tray open, 01h 120 mm data disc. */
    b[ten ? 2 : 1] = !d->image || d->atapi.tray_open
                     ? (d->atapi.tray_open ? 0x71 : 0x70) : 0x01;
    if (ten)
        put_be16(b, length - 2);
    else
        b[0] = length - 1;
    reply(d, length, allocation);
}

/* --- MMC-5 commands --- */

static void read_capacity(struct ide_drive *d)
{
    put_be32(d->buffer, d->sectors ? MIN(d->sectors - 1, UINT32_MAX) : 0);
    put_be32(d->buffer + 4, CD_BLOCK);
    reply(d, 8, 8);
}

/* READ TOC/PMA/ATIP (MMC-5): one data track, one session. */
static void read_toc(struct ide_drive *d, const uint8_t *cdb)
{
    bool msf = cdb[1] & 0x02;
    uint8_t format = cdb[2] & 0x0f;
    uint8_t track = cdb[6];
    uint32_t allocation = get_be16(cdb + 7);
    uint8_t *b = d->buffer;
    uint32_t length = 4;

    if (!format)
        format = cdb[9] >> 6;           /* the older place of the format */
    memset(b, 0, 64);
    b[2] = 1;
    b[3] = 1;
    switch (format) {
    case 0:                             /* TOC */
        if (track > 1 && track != 0xaa) {
            invalid_field(d);
            return;
        }
        if (track <= 1) {
            b[length + 1] = 0x14;       /* ADR 1, data track */
            b[length + 2] = 1;
            put_address(b + length + 4, 0, msf);
            length += 8;
        }
        b[length + 1] = 0x14;
        b[length + 2] = 0xaa;           /* lead-out */
        put_address(b + length + 4, d->sectors, msf);
        length += 8;
        break;
    case 1:                             /* session information */
        b[length + 1] = 0x14;
        b[length + 2] = 1;
        put_address(b + length + 4, 0, msf);
        length += 8;
        break;
    case 2:                             /* raw TOC: points A0, A1, A2, 1 */
        for (unsigned i = 0; i < 4; i++, length += 11) {
            uint8_t *q = b + length;
            static const uint8_t points[] = { 0xa0, 0xa1, 0xa2, 0x01 };

            q[0] = 1;                   /* session */
            q[1] = 0x14;
            q[3] = points[i];
            if (points[i] == 0xa0 || points[i] == 0xa1)
                q[8] = 1;               /* first/last track; disc type 0 */
            else if (points[i] == 0xa2)
                put_msf(q + 8, d->sectors);
            else
                put_msf(q + 8, 0);
        }
        break;
    default:
        invalid_field(d);
        return;
    }
    put_be16(b, length - 2);
    reply(d, length, allocation);
}

/* One feature descriptor of GET CONFIGURATION (MMC-5: features). */
static uint32_t add_feature(uint8_t *p, const uint8_t *cdb, uint16_t code,
                            uint8_t version, bool persistent, bool current,
                            const uint8_t *data, uint8_t length)
{
    uint8_t rt = cdb[1] & 0x03;
    uint16_t start = get_be16(cdb + 2);

    if (code < start || (rt == 1 && !current) || (rt == 2 && code != start))
        return 0;
    put_be16(p, code);
    p[2] = version << 2 | (persistent ? 0x02 : 0) | (current ? 0x01 : 0);
    p[3] = length;
    memcpy(p + 4, data, length);
    return 4 + length;
}

static void get_configuration(struct ide_drive *d, const uint8_t *cdb)
{
    uint16_t profile = current_profile(d);
    bool cd = profile == PROFILE_CD_ROM, dvd = profile == PROFILE_DVD_ROM;
    uint8_t *b = d->buffer;
    uint32_t length = 8;
    uint8_t profiles[8] = {
        0x00, PROFILE_DVD_ROM, dvd, 0, 0x00, PROFILE_CD_ROM, cd, 0,
    };
    static const uint8_t core[8] = { 0, 0, 0, 2 /* ATAPI */, 0, 0, 0, 0 };
    static const uint8_t morphing[4] = { 0 };       /* polling only */
    static const uint8_t removable[4] = { 0x29 };   /* tray, eject, lock */
    uint8_t random[8] = { 0, 0, CD_BLOCK >> 8, 0, 0, dvd ? 16 : 1, 0, 0 };
    static const uint8_t none[4] = { 0 };

    if ((cdb[1] & 0x03) == 3) {
        invalid_field(d);
        return;
    }
    memset(b, 0, 8);
    length += add_feature(b + length, cdb, 0x0000, 0, true, true, profiles, 8);
    length += add_feature(b + length, cdb, 0x0001, 1, true, true, core, 8);
    length += add_feature(b + length, cdb, 0x0002, 1, true, true, morphing, 4);
    length += add_feature(b + length, cdb, 0x0003, 0, true, true, removable, 4);
    length += add_feature(b + length, cdb, 0x0010, 0, false, cd || dvd, random, 8);
    length += add_feature(b + length, cdb, 0x001e, 0, false, cd, none, 0);
    length += add_feature(b + length, cdb, 0x001f, 0, false, dvd, none, 0);
    length += add_feature(b + length, cdb, 0x0100, 0, true, true, none, 0);
    put_be32(b, length - 4);
    put_be16(b + 6, profile);
    reply(d, length, get_be16(cdb + 7));
}

/* GET EVENT STATUS NOTIFICATION (MMC-5): polled, media class only. */
static void get_event_status(struct ide_drive *d, const uint8_t *cdb)
{
    struct atapi_state *a = &d->atapi;
    uint8_t *b = d->buffer;

    if (!(cdb[1] & 0x01)) {             /* asynchronous: not supported */
        invalid_field(d);
        return;
    }
    memset(b, 0, 8);
    b[3] = 0x10;                        /* supported classes: media */
    if (!(cdb[4] & 0x10)) {
        b[1] = 2;
        b[2] = 0x80;                    /* no event available */
        reply(d, 4, get_be16(cdb + 7));
        return;
    }
    b[1] = 6;
    b[2] = 0x04;                        /* media class */
    b[4] = a->media_event;
    b[5] = (medium_present(d) ? 0x02 : 0) | (a->tray_open ? 0x01 : 0);
    a->media_event = MEDIA_EVENT_NONE;
    reply(d, 8, get_be16(cdb + 7));
}

/* READ DISC INFORMATION (MMC-5): a finalized single-session disc. */
static void read_disc_information(struct ide_drive *d, const uint8_t *cdb)
{
    uint8_t *b = d->buffer;

    if (cdb[1] & 0x07) {
        invalid_field(d);
        return;
    }
    memset(b, 0, 34);
    put_be16(b, 32);
    b[2] = 0x0e;                        /* last session complete, disc finalized */
    b[3] = 1;                           /* first track */
    b[4] = 1;                           /* sessions */
    b[5] = 1;                           /* first track of the last session */
    b[6] = 1;                           /* last track of the last session */
    memset(b + 16, 0xff, 8);            /* no next session: lead-in/out unknown */
    reply(d, 34, get_be16(cdb + 7));
}

static void mechanism_status(struct ide_drive *d, const uint8_t *cdb)
{
    uint8_t *b = d->buffer;

    memset(b, 0, 8);
    b[1] = d->atapi.tray_open ? 0x10 : 0;
    reply(d, 8, get_be16(cdb + 8));
}

static void start_stop_unit(struct ide_drive *d, const uint8_t *cdb)
{
    struct atapi_state *a = &d->atapi;
    bool load_eject = cdb[4] & 0x02, start = cdb[4] & 0x01;

    if (load_eject && !start) {
        if (a->locked) {
            packet_error(d, SENSE_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED, 2);
            return;
        }
        if (!a->tray_open && d->image)
            a->media_event = MEDIA_EVENT_REMOVAL;
        a->tray_open = true;
    } else if (load_eject && a->tray_open) {
        a->tray_open = false;
        if (d->image) {
            a->media_event = MEDIA_EVENT_NEW_MEDIA;
            a->unit_attention = true;
        }
    }
    packet_ok(d);
}

/* READ CD (MMC-5): user data or whole raw sectors of mode-1 data. */
static void read_cd(struct ide_drive *d, const uint8_t *cdb)
{
    uint8_t sector_type = (cdb[1] >> 2) & 0x07;
    uint32_t blocks = (uint32_t)cdb[6] << 16 | cdb[7] << 8 | cdb[8];
    uint32_t block_size;

    if (sector_type != 0 && sector_type != 2) {
        packet_error(d, SENSE_ILLEGAL_REQUEST, ASC_ILLEGAL_MODE_FOR_TRACK, 0);
        return;
    }
    switch (cdb[9] & 0xf8) {
    case 0x00:
        block_size = 0;
        break;
    case 0x10:
        block_size = CD_BLOCK;
        break;
    case 0xf8:
        block_size = CD_RAW_BLOCK;
        break;
    default:
        ide_log_once(d->channel, IDE_LOG_PACKET,
                     "READ CD of fields %02xh not supported", cdb[9]);
        invalid_field(d);
        return;
    }
    if (cdb[10] & 0x07) {               /* sub-channel data */
        invalid_field(d);
        return;
    }
    start_read(d, get_be32(cdb + 2), blocks, block_size);
}

/* --- dispatch --- */

/* Commands that report no unit attention (SPC-3: unit attention; MMC-5). */
static bool ignores_unit_attention(uint8_t opcode)
{
    return opcode == CMD_INQUIRY || opcode == CMD_REQUEST_SENSE ||
           opcode == CMD_GET_CONFIGURATION || opcode == CMD_GET_EVENT_STATUS;
}

static bool needs_medium(uint8_t opcode)
{
    switch (opcode) {
    case CMD_TEST_UNIT_READY:
    case CMD_READ_CAPACITY:
    case CMD_READ_10:
    case CMD_READ_12:
    case CMD_READ_CD:
    case CMD_READ_TOC:
    case CMD_READ_DISC_INFORMATION:
    case CMD_SEEK_10:
        return true;
    }
    return false;
}

static void execute_packet(struct ide_drive *d)
{
    struct atapi_state *a = &d->atapi;
    const uint8_t *cdb = a->cdb;

    if (a->unit_attention && !ignores_unit_attention(cdb[0])) {
        a->unit_attention = false;
        packet_error(d, SENSE_UNIT_ATTENTION, ASC_MEDIUM_CHANGED, 0);
        return;
    }
    if (needs_medium(cdb[0]) && !medium_present(d)) {
        not_ready(d);
        return;
    }
    switch (cdb[0]) {
    case CMD_TEST_UNIT_READY:
    case CMD_SET_CD_SPEED:
        packet_ok(d);
        break;
    case CMD_SEEK_10:
        if (get_be32(cdb + 2) >= d->sectors)
            packet_error(d, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
        else
            packet_ok(d);
        break;
    case CMD_REQUEST_SENSE:
        request_sense(d, cdb);
        break;
    case CMD_INQUIRY:
        inquiry(d, cdb);
        break;
    case CMD_MODE_SENSE_6:
        mode_sense(d, cdb, false);
        break;
    case CMD_MODE_SENSE_10:
        mode_sense(d, cdb, true);
        break;
    case CMD_START_STOP_UNIT:
        start_stop_unit(d, cdb);
        break;
    case CMD_PREVENT_ALLOW:
        a->locked = cdb[4] & 0x01;
        packet_ok(d);
        break;
    case CMD_READ_CAPACITY:
        read_capacity(d);
        break;
    case CMD_READ_10:
        start_read(d, get_be32(cdb + 2), get_be16(cdb + 7), CD_BLOCK);
        break;
    case CMD_READ_12:
        start_read(d, get_be32(cdb + 2), get_be32(cdb + 6), CD_BLOCK);
        break;
    case CMD_READ_CD:
        read_cd(d, cdb);
        break;
    case CMD_READ_TOC:
        read_toc(d, cdb);
        break;
    case CMD_GET_CONFIGURATION:
        get_configuration(d, cdb);
        break;
    case CMD_GET_EVENT_STATUS:
        get_event_status(d, cdb);
        break;
    case CMD_READ_DISC_INFORMATION:
        read_disc_information(d, cdb);
        break;
    case CMD_MECHANISM_STATUS:
        mechanism_status(d, cdb);
        break;
    default:
        ide_log_once(d->channel, IDE_LOG_PACKET,
                     "packet command %02xh not supported", cdb[0]);
        packet_error(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
        break;
    }
}

/* The host wrote the 12-byte command packet. */
static void packet_received(struct ide_drive *d)
{
    memcpy(d->atapi.cdb, d->buffer, PACKET_SIZE);
    execute_packet(d);
}

/* PACKET (ATA/ATAPI-6): ask for the command packet, without an interrupt. */
static void packet(struct ide_drive *d)
{
    if (d->feature & 0x02) {            /* overlapped: not supported */
        ide_command_error(d, IDE_ERROR_ABRT);
        return;
    }
    d->atapi.byte_count_limit = d->lba_high << 8 | d->lba_mid;
    d->count = REASON_COD;
    ide_pio_start(d, 0, PACKET_SIZE, true, packet_received);
}

/* IDENTIFY PACKET DEVICE (ATA/ATAPI-6). */
static void identify_packet(struct ide_drive *d)
{
    uint16_t *w = (uint16_t *)d->buffer;
    uint8_t mode = d->transfer_mode;

    memset(w, 0, 512);
    /* ATAPI, CD-ROM type, removable, DRQ within 50 us, 12-byte packets. */
    w[0] = 0x85c0;
    ide_identify_string(w, 10, 10, d->serial);
    ide_identify_string(w, 23, 4, MIMIC_VERSION);
    ide_identify_string(w, 27, 20, "MIMIC DVD-ROM");
    w[49] = 0x0f00;                     /* IORDY, LBA, DMA */
    w[53] = 0x0006;                     /* words 64-70 and 88 valid */
    w[63] = 0x0007;
    if ((mode & 0xf8) == 0x20)
        w[63] |= 0x0100 << (mode & 7);
    w[64] = 0x0003;
    w[65] = w[66] = w[67] = w[68] = 120;
    w[80] = 0x00f0;
    w[82] = 0x0210;                     /* DEVICE RESET, PACKET */
    w[83] = 0x4000;
    w[84] = 0x4000;
    w[85] = 0x0210;
    w[87] = 0x4000;
    w[88] = 0x003f;
    if ((mode & 0xf8) == 0x40)
        w[88] |= 0x0100 << (mode & 7);
    w[93] = 0x6000 | (d->unit ? 0x0100 : 0x0001);
    ide_identify_checksum(w);
    for (unsigned i = 0; i < 256; i++)
        w[i] = GUINT16_TO_LE(w[i]);
    ide_pio_start(d, 0, 512, false, NULL);
    ide_raise_irq(d);
}

/* ATA commands to a packet device (ATA/ATAPI-6: PACKET feature set). */
void atapi_execute(struct ide_drive *d, uint8_t command)
{
    switch (command) {
    case ATA_PACKET:
        packet(d);
        break;
    case ATA_IDENTIFY_PACKET_DEVICE:
        identify_packet(d);
        break;
    case ATA_DEVICE_RESET:
        /* A software reset of this device alone, no interrupt (ATA/ATAPI-6). */
        ide_transfer_cancel(d);
        ide_set_signature(d);
        d->error = 0x01;
        d->status = 0;
        break;
    case ATA_IDENTIFY_DEVICE:
    case ATA_READ_SECTORS:
        /* A packet device aborts these and shows its signature (ATA/ATAPI-6). */
        ide_set_signature(d);
        ide_command_error(d, IDE_ERROR_ABRT);
        break;
    case ATA_SET_FEATURES:
        if (d->feature == 0x03 && ide_valid_transfer_mode(d->count)) {
            d->transfer_mode = d->count;
            ide_command_ok(d);
        } else if (d->feature == 0x66 || d->feature == 0xcc) {
            ide_command_ok(d);
        } else {
            ide_command_error(d, IDE_ERROR_ABRT);
        }
        break;
    case ATA_CHECK_POWER_MODE:
        d->count = 0xff;
        ide_command_ok(d);
        break;
    case ATA_STANDBY_IMMEDIATE:
    case ATA_IDLE_IMMEDIATE:
    case ATA_SLEEP:
    case ATA_FLUSH_CACHE:
        ide_command_ok(d);
        break;
    default:
        ide_command_error(d, IDE_ERROR_ABRT);
        break;
    }
}

void atapi_reset(struct ide_drive *d)
{
    struct atapi_state *a = &d->atapi;

    memset(a, 0, sizeof(*a));
    d->sectors = d->image ? d->image->size / CD_BLOCK : 0;
}

int ide_cdrom_change_medium(struct ide_drive *d, BlkImage *medium)
{
    struct atapi_state *a;

    g_return_val_if_fail(d, -EINVAL);
    if (d->kind != IDE_CDROM)
        return -EINVAL;
    a = &d->atapi;
    if (a->locked && d->image && !a->tray_open) {
        /* The guest holds the tray shut: ask it to let go (MMC-5 media event). */
        a->media_event = MEDIA_EVENT_EJECT_REQUEST;
        return -EBUSY;
    }
    /* A read in progress on the old medium ends when it next needs a block. */
    d->image = medium;
    d->sectors = medium ? medium->size / CD_BLOCK : 0;
    a->tray_open = false;
    if (medium) {
        a->media_event = MEDIA_EVENT_NEW_MEDIA;
        a->unit_attention = true;
    } else {
        a->media_event = MEDIA_EVENT_REMOVAL;
        a->unit_attention = false;
    }
    return 0;
}
