/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The IDE channel: the shared task file of two drives, drive selection,
 * software reset, INTRQ with nIEN, PIO data windows and the hand-off to the
 * controller's bus-master engine (ATA/ATAPI-6: registers and protocols).
 */
#define G_LOG_DOMAIN "mimic-ide"

#include "hw/ide/ide.h"
#include "hw/ide/ide-internal.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "engine/vm.h"

void ide_log_once(struct ide_channel *ch, unsigned what, const char *format, ...)
{
    va_list args;
    g_autofree char *text = NULL;

    if (ch->logged & what)
        return;
    ch->logged |= what;
    va_start(args, format);
    text = g_strdup_vprintf(format, args);
    va_end(args);
    g_message("%s: %s (reported once)", ch->name, text);
}

static struct ide_drive *selected_drive(struct ide_channel *ch)
{
    return &ch->drive[ch->selected];
}

static bool channel_empty(const struct ide_channel *ch)
{
    return ch->drive[0].kind == IDE_NONE && ch->drive[1].kind == IDE_NONE;
}

uint8_t ide_ready_status(const struct ide_drive *d)
{
    return d->kind == IDE_DISK ? IDE_STATUS_DRDY | IDE_STATUS_DSC
                               : IDE_STATUS_DRDY;
}

/* --- interrupts (ATA/ATAPI-6: INTRQ; Device Control nIEN) --- */

/* INTRQ is driven by the selected drive only, and only while nIEN is 0. */
static void update_irq(struct ide_channel *ch, bool new_event)
{
    struct ide_drive *d = selected_drive(ch);
    bool level = d->kind != IDE_NONE && d->irq_pending &&
                 !(ch->control & IDE_CONTROL_NIEN);

    if (level && (new_event || !ch->irq_level))
        ch->set_irq(ch->opaque, true);
    else if (!level && ch->irq_level)
        ch->set_irq(ch->opaque, false);
    ch->irq_level = level;
}

void ide_raise_irq(struct ide_drive *d)
{
    d->irq_pending = true;
    if (d->channel->selected == d->unit)
        update_irq(d->channel, true);
}

static void clear_irq(struct ide_drive *d)
{
    d->irq_pending = false;
    update_irq(d->channel, false);
}

/* --- command completion --- */

void ide_command_ok(struct ide_drive *d)
{
    d->status = ide_ready_status(d);
    ide_raise_irq(d);
}

void ide_command_error(struct ide_drive *d, uint8_t error)
{
    ide_transfer_cancel(d);
    d->error = error;
    d->status = ide_ready_status(d) | IDE_STATUS_ERR;
    ide_raise_irq(d);
}

/* Reset signatures (ATA/ATAPI-6); packet devices show theirs on IDENTIFY DEVICE. */
void ide_set_signature(struct ide_drive *d)
{
    d->count = d->hob_count = 1;
    d->lba_low = d->hob_lba_low = 1;
    if (d->kind == IDE_CDROM) {
        d->lba_mid = 0x14;
        d->lba_high = 0xeb;
    } else {
        d->lba_mid = 0;
        d->lba_high = 0;
    }
    d->hob_lba_mid = d->lba_mid;
    d->hob_lba_high = d->lba_high;
    d->device = 0;
}

/* --- data transfers --- */

void ide_pio_start(struct ide_drive *d, uint32_t offset, uint32_t length,
                   bool out, void (*done)(struct ide_drive *d))
{
    g_assert(offset <= IDE_BUFFER_SIZE && length <= IDE_BUFFER_SIZE - offset);
    d->pos = offset;
    d->end = offset + length;
    d->pio_out = out;
    d->pio_done = done;
    d->status = ide_ready_status(d) | IDE_STATUS_DRQ;
}

void ide_transfer_cancel(struct ide_drive *d)
{
    d->pos = d->end = 0;
    d->pio_done = NULL;
    d->dma_run = NULL;
    d->status &= ~IDE_STATUS_DRQ;
}

/* The host moved the whole window: let the command go on. */
static void pio_window_done(struct ide_drive *d)
{
    void (*done)(struct ide_drive *d) = d->pio_done;

    d->pio_done = NULL;
    d->status &= ~IDE_STATUS_DRQ;
    if (done)
        done(d);
    else
        d->status = ide_ready_status(d);
}

static bool pio_ready(struct ide_channel *ch, struct ide_drive *d, bool out)
{
    if (d->kind != IDE_NONE && (d->status & IDE_STATUS_DRQ) &&
        d->pio_out == out && d->pos < d->end)
        return true;
    ide_log_once(ch, IDE_LOG_DATA_IDLE,
                 "data port %s while no PIO transfer is ready",
                 out ? "written" : "read");
    return false;
}

static uint32_t data_read(struct ide_channel *ch, unsigned size)
{
    struct ide_drive *d = selected_drive(ch);
    uint32_t value = 0;

    if (!pio_ready(ch, d, false))
        return size >= 4 ? UINT32_MAX : (1u << (8 * size)) - 1;
    for (unsigned i = 0; i < size; i++) {
        uint8_t byte = d->pos < d->end ? d->buffer[d->pos++] : 0;

        value |= (uint32_t)byte << (8 * i);
    }
    if (d->pos >= d->end)
        pio_window_done(d);
    return value;
}

static void data_write(struct ide_channel *ch, uint32_t value, unsigned size)
{
    struct ide_drive *d = selected_drive(ch);

    if (!pio_ready(ch, d, true))
        return;
    for (unsigned i = 0; i < size && d->pos < d->end; i++)
        d->buffer[d->pos++] = value >> (8 * i);
    if (d->pos >= d->end)
        pio_window_done(d);
}

/* --- bus-master DMA hand-off (SFF-8038i: the drive side) --- */

static void dma_kick(struct ide_drive *d)
{
    void (*run)(struct ide_drive *d) = d->dma_run;

    d->dma_run = NULL;
    run(d);
}

void ide_dma_start(struct ide_drive *d, void (*run)(struct ide_drive *d))
{
    struct ide_channel *ch = d->channel;

    if (!ch->dma) {
        ide_log_once(ch, IDE_LOG_DMA, "DMA command without a bus master");
        ide_command_error(d, IDE_ERROR_ABRT);
        return;
    }
    /* DMARQ: the drive waits with DRQ set until the engine runs. */
    d->status = ide_ready_status(d) | IDE_STATUS_DRQ;
    d->dma_run = run;
    if (ch->dma->started(ch->opaque))
        dma_kick(d);
}

void ide_channel_dma_started(struct ide_channel *ch)
{
    struct ide_drive *d = selected_drive(ch);

    if (d->kind != IDE_NONE && d->dma_run)
        dma_kick(d);
}

int ide_dma_transfer(struct ide_drive *d, void *buf, size_t length,
                     bool to_memory)
{
    struct ide_channel *ch = d->channel;

    return ch->dma->transfer(ch->opaque, buf, length, to_memory);
}

void ide_dma_finish(struct ide_drive *d, bool failed)
{
    struct ide_channel *ch = d->channel;

    d->status &= ~IDE_STATUS_DRQ;
    ch->dma->finish(ch->opaque, failed);
}

/* SET FEATURES 03h values: PIO default, PIO 0-4, MWDMA 0-2, UDMA 0-5. */
bool ide_valid_transfer_mode(uint8_t mode)
{
    switch (mode >> 3) {
    case 0:
        return mode <= 1;
    case 1:
        return (mode & 7) <= 4;
    case 4:
        return (mode & 7) <= 2;
    case 8:
        return (mode & 7) <= 5;
    }
    return false;
}

/* --- IDENTIFY helpers --- */

void ide_identify_string(uint16_t *words, unsigned first, unsigned count,
                         const char *text)
{
    size_t length = strlen(text);

    for (unsigned i = 0; i < count * 2; i++) {
        uint8_t c = i < length ? (uint8_t)text[i] : ' ';

        /* The first character of a pair is the word's high byte. */
        if (i & 1)
            words[first + i / 2] |= c;
        else
            words[first + i / 2] = (uint16_t)(c << 8);
    }
}

void ide_identify_checksum(uint16_t *words)
{
    uint8_t sum = 0xa5;

    words[255] = 0x00a5;
    for (unsigned i = 0; i < 255; i++)
        sum += (uint8_t)words[i] + (uint8_t)(words[i] >> 8);
    words[255] |= (uint16_t)((uint8_t)-sum) << 8;
}

/* --- resets and commands that involve both drives --- */

/* What a drive does on any reset: no transfer, its signature (ATA/ATAPI-6). */
static void drive_soft_reset(struct ide_drive *d)
{
    ide_transfer_cancel(d);
    d->irq_pending = false;
    d->command = 0;
    d->error = 0x01;                /* diagnostic: passed */
    d->feature = d->hob_feature = 0;
    ide_set_signature(d);
    if (d->kind == IDE_DISK) {
        d->status = IDE_STATUS_DRDY | IDE_STATUS_DSC;
    } else {
        d->status = 0;              /* packet devices: DRDY clear until a command */
        if (d->kind == IDE_NONE)
            d->error = 0;
    }
}

/* EXECUTE DEVICE DIAGNOSTIC (ATA/ATAPI-6): both run it; device 0 interrupts. */
static void execute_diagnostic(struct ide_channel *ch)
{
    for (unsigned i = 0; i < 2; i++)
        drive_soft_reset(&ch->drive[i]);
    ch->selected = 0;
    if (ch->drive[0].kind != IDE_NONE)
        ide_raise_irq(&ch->drive[0]);
    else
        ide_raise_irq(&ch->drive[1]);
}

static void execute_command(struct ide_channel *ch, uint8_t command)
{
    struct ide_drive *d = selected_drive(ch);

    if (command == ATA_EXECUTE_DEVICE_DIAGNOSTIC) {
        if (!channel_empty(ch))
            execute_diagnostic(ch);
        return;
    }
    /* An absent device 1 does not answer; device 0 ignores it (ATA/ATAPI-6). */
    if (d->kind == IDE_NONE)
        return;
    if ((d->status & IDE_STATUS_BSY) || (ch->control & IDE_CONTROL_SRST)) {
        ide_log_once(ch, IDE_LOG_BUSY, "command %02xh written while busy",
                     command);
        return;
    }
    /* A new command ends whatever the drive was doing. */
    ide_transfer_cancel(d);
    clear_irq(d);
    d->command = command;
    d->error = 0;
    if (d->kind == IDE_DISK)
        ide_ata_execute(d, command);
    else
        atapi_execute(d, command);
}

/* --- register interface (ATA/ATAPI-6: I/O register descriptions) --- */

uint32_t ide_command_read(struct ide_channel *ch, unsigned reg, unsigned size)
{
    struct ide_drive *d = selected_drive(ch);
    bool hob = ch->control & IDE_CONTROL_HOB;

    if (reg == IDE_REG_DATA)
        return channel_empty(ch) ? UINT32_MAX : data_read(ch, size);
    /* Nothing drives the bus: it floats high. */
    if (channel_empty(ch))
        return 0xff;
    /* Device 0 answers for an absent device 1 with zeros. */
    if (d->kind == IDE_NONE)
        return 0;
    switch (reg) {
    case IDE_REG_ERROR_FEATURE:
        return d->error;
    case IDE_REG_COUNT:
        return hob ? d->hob_count : d->count;
    case IDE_REG_LBA_LOW:
        return hob ? d->hob_lba_low : d->lba_low;
    case IDE_REG_LBA_MID:
        return hob ? d->hob_lba_mid : d->lba_mid;
    case IDE_REG_LBA_HIGH:
        return hob ? d->hob_lba_high : d->lba_high;
    case IDE_REG_DEVICE:
        return d->device;
    case IDE_REG_STATUS_COMMAND:
        /* Reading Status acknowledges the interrupt (ATA/ATAPI-6). */
        if (d->irq_pending)
            clear_irq(d);
        return d->status;
    }
    return 0xff;
}

/* Task file bytes go to both drives; each write pushes the older byte to HOB. */
static void write_task_file(struct ide_drive *d, unsigned reg, uint8_t value)
{
    switch (reg) {
    case IDE_REG_ERROR_FEATURE:
        d->hob_feature = d->feature;
        d->feature = value;
        break;
    case IDE_REG_COUNT:
        d->hob_count = d->count;
        d->count = value;
        break;
    case IDE_REG_LBA_LOW:
        d->hob_lba_low = d->lba_low;
        d->lba_low = value;
        break;
    case IDE_REG_LBA_MID:
        d->hob_lba_mid = d->lba_mid;
        d->lba_mid = value;
        break;
    case IDE_REG_LBA_HIGH:
        d->hob_lba_high = d->lba_high;
        d->lba_high = value;
        break;
    case IDE_REG_DEVICE:
        d->device = value;
        break;
    }
}

void ide_command_write(struct ide_channel *ch, unsigned reg, uint32_t value,
                       unsigned size)
{
    if (reg == IDE_REG_DATA) {
        if (!channel_empty(ch))
            data_write(ch, value, size);
        return;
    }
    if (reg == IDE_REG_STATUS_COMMAND) {
        execute_command(ch, value);
        return;
    }
    /* Any command block register write clears HOB (ATA/ATAPI-6). */
    ch->control &= ~IDE_CONTROL_HOB;
    for (unsigned i = 0; i < 2; i++)
        write_task_file(&ch->drive[i], reg, value);
    if (reg == IDE_REG_DEVICE) {
        ch->selected = value & IDE_DEVICE_DEV ? 1 : 0;
        update_irq(ch, false);
    }
}

uint8_t ide_control_read(struct ide_channel *ch)
{
    struct ide_drive *d = selected_drive(ch);

    if (channel_empty(ch))
        return 0xff;
    return d->kind == IDE_NONE ? 0 : d->status;
}

/* Device control: nIEN, SRST (ATA/ATAPI-6: software reset protocol), HOB. */
void ide_control_write(struct ide_channel *ch, uint8_t value)
{
    bool was_reset = ch->control & IDE_CONTROL_SRST;
    bool reset = value & IDE_CONTROL_SRST;

    ch->control = value;
    if (reset && !was_reset) {
        for (unsigned i = 0; i < 2; i++) {
            struct ide_drive *d = &ch->drive[i];

            ide_transfer_cancel(d);
            d->irq_pending = false;
            if (d->kind != IDE_NONE)
                d->status = IDE_STATUS_BSY;
        }
    } else if (!reset && was_reset) {
        for (unsigned i = 0; i < 2; i++)
            drive_soft_reset(&ch->drive[i]);
        ch->selected = 0;
    }
    update_irq(ch, false);
}

/* --- set-up --- */

void ide_channel_init(struct ide_channel *ch, const char *name,
                      void (*set_irq)(void *opaque, bool level),
                      const struct ide_dma_ops *dma, void *opaque)
{
    memset(ch, 0, sizeof(*ch));
    ch->name = name;
    ch->set_irq = set_irq;
    ch->dma = dma;
    ch->opaque = opaque;
    for (unsigned i = 0; i < 2; i++) {
        ch->drive[i].channel = ch;
        ch->drive[i].unit = i;
        ch->drive[i].kind = IDE_NONE;
    }
}

void ide_channel_cleanup(struct ide_channel *ch)
{
    for (unsigned i = 0; i < 2; i++) {
        g_free(ch->drive[i].buffer);
        ch->drive[i].buffer = NULL;
        ch->drive[i].image = NULL;
        ch->drive[i].kind = IDE_NONE;
    }
}

int ide_channel_attach(struct ide_channel *ch, unsigned unit,
                       enum ide_drive_kind kind, BlkImage *image,
                       GError **error)
{
    struct ide_drive *d;

    if (unit > 1 || (kind != IDE_DISK && kind != IDE_CDROM)) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "%s: no drive position %u or kind %d", ch->name, unit, kind);
        return -EINVAL;
    }
    d = &ch->drive[unit];
    if (d->kind != IDE_NONE) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "%s: position %u already has a drive", ch->name, unit);
        return -EBUSY;
    }
    if (kind == IDE_DISK && (!image || image->size < 512)) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "%s: a disk needs an image of at least one sector",
                    ch->name);
        return -EINVAL;
    }
    d->kind = kind;
    d->image = image;
    d->buffer = g_malloc0(IDE_BUFFER_SIZE);
    g_snprintf(d->serial, sizeof(d->serial), "MM%c-%s-%u",
               kind == IDE_DISK ? 'D' : 'C', ch->name, unit);
    if (kind == IDE_DISK)
        ide_ata_init(d);
    else
        d->sectors = image ? image->size / 2048 : 0;
    ide_channel_reset(ch);
    return 0;
}

void ide_channel_reset(struct ide_channel *ch)
{
    for (unsigned i = 0; i < 2; i++) {
        struct ide_drive *d = &ch->drive[i];

        drive_soft_reset(d);
        if (d->kind == IDE_DISK) {
            d->cur_cylinders = d->cylinders;
            d->cur_heads = d->heads;
            d->cur_sectors_per_track = d->sectors_per_track;
            d->multiple = 0;
            d->write_cache = true;
            d->transfer_mode = 0;
        } else if (d->kind == IDE_CDROM) {
            d->transfer_mode = 0;
            atapi_reset(d);
        }
    }
    ch->selected = 0;
    ch->control = 0;
    if (ch->irq_level)
        ch->set_irq(ch->opaque, false);
    ch->irq_level = false;
}
