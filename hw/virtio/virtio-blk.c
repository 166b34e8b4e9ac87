/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Virtio block device (virtio 1.2 §5.2): configuration space and the
 * request queue (read, write, flush, get ID, discard, write zeroes), served
 * synchronously from the block layer on the notifying vCPU thread.
 */
#define G_LOG_DOMAIN "mimic-virtio"

#include "hw/virtio/virtio-blk.h"

#include <errno.h>
#include <string.h>

#include "hw/virtio/virtio-pci.h"
#include "hw/virtio/virtqueue.h"

#define SECTOR_SIZE 512
#define HEADER_SIZE 16          /* type, reserved, sector */
#define SEGMENT_SIZE 16         /* struct virtio_blk_discard_write_zeroes */
#define UNMAP_FLAG 1u
#define BOUNCE_SIZE (1u << 20)
#define PCI_CLASS_STORAGE_SCSI 0x010000

/* struct virtio_blk_config (virtio 1.2 §5.2.4). */
enum {
    CONFIG_CAPACITY = 0,
    CONFIG_SIZE_MAX = 8,
    CONFIG_SEG_MAX = 12,
    CONFIG_GEOMETRY = 16,
    CONFIG_BLK_SIZE = 20,
    CONFIG_PHYSICAL_BLOCK_EXP = 24,
    CONFIG_ALIGNMENT_OFFSET = 25,
    CONFIG_MIN_IO_SIZE = 26,
    CONFIG_OPT_IO_SIZE = 28,
    CONFIG_WRITEBACK = 32,
    CONFIG_NUM_QUEUES = 34,
    CONFIG_MAX_DISCARD_SECTORS = 36,
    CONFIG_MAX_DISCARD_SEG = 40,
    CONFIG_DISCARD_SECTOR_ALIGNMENT = 44,
    CONFIG_MAX_WRITE_ZEROES_SECTORS = 48,
    CONFIG_MAX_WRITE_ZEROES_SEG = 52,
    CONFIG_WRITE_ZEROES_MAY_UNMAP = 56,
};

struct virtio_blk {
    struct virtio_pci *transport;
    BlkImage *image;
    bool read_only;
    uint64_t capacity;                  /* in 512-byte sectors */
    char id[VIRTIO_BLK_ID_BYTES];       /* NUL-padded, not terminated */
    uint8_t config[VIRTIO_BLK_CONFIG_SIZE];
    struct virtq_element elem;          /* the request being served */
    uint8_t *bounce;                    /* for buffers not in one RAM region */
};



static void build_config(struct virtio_blk *b)
{
    uint8_t *c = b->config;

    memset(c, 0, sizeof(b->config));
    memory_store_le(c + CONFIG_CAPACITY, b->capacity, 8);
    memory_store_le(c + CONFIG_SEG_MAX, VIRTIO_BLK_SEG_MAX, 4);
    memory_store_le(c + CONFIG_BLK_SIZE, SECTOR_SIZE, 4);
    /* Topology: 512-byte physical blocks, no alignment offset, no hints. */
    c[CONFIG_PHYSICAL_BLOCK_EXP] = 0;
    c[CONFIG_ALIGNMENT_OFFSET] = 0;
    memory_store_le(c + CONFIG_MIN_IO_SIZE, 1, 2);
    memory_store_le(c + CONFIG_OPT_IO_SIZE, 0, 4);
    memory_store_le(c + CONFIG_NUM_QUEUES, 1, 2);
    memory_store_le(c + CONFIG_MAX_DISCARD_SECTORS, VIRTIO_BLK_MAX_DISCARD_SECTORS, 4);
    memory_store_le(c + CONFIG_MAX_DISCARD_SEG, VIRTIO_BLK_MAX_DISCARD_SEG, 4);
    memory_store_le(c + CONFIG_DISCARD_SECTOR_ALIGNMENT, VIRTIO_BLK_DISCARD_ALIGNMENT,
           4);
    memory_store_le(c + CONFIG_MAX_WRITE_ZEROES_SECTORS, VIRTIO_BLK_MAX_DISCARD_SECTORS,
           4);
    memory_store_le(c + CONFIG_MAX_WRITE_ZEROES_SEG, VIRTIO_BLK_MAX_DISCARD_SEG, 4);
    c[CONFIG_WRITE_ZEROES_MAY_UNMAP] = 0;
}

static bool in_range(struct virtio_blk *b, uint64_t sector, uint64_t bytes)
{
    return sector <= b->capacity && bytes / SECTOR_SIZE <= b->capacity - sector;
}

static uint8_t *bounce_buffer(struct virtio_blk *b)
{
    if (!b->bounce)
        b->bounce = g_malloc(BOUNCE_SIZE);
    return b->bounce;
}

/* VIRTIO_BLK_T_IN: into the writable buffers, before the status byte. */
static uint8_t do_read(struct virtio_blk *b, struct virtq *q, uint64_t sector,
                       uint64_t length, uint64_t *written)
{
    struct virtq_element *e = &b->elem;
    uint64_t offset = sector * SECTOR_SIZE;
    void *direct;

    if (length % SECTOR_SIZE || !in_range(b, sector, length))
        return VIRTIO_BLK_S_IOERR;
    if (length == 0)
        return VIRTIO_BLK_S_OK;
    direct = virtq_element_map(e, true, 0, length);
    if (direct) {
        if (blk_read(b->image, offset, direct, length) < 0)
            return VIRTIO_BLK_S_IOERR;
        virtq_element_note_written(q, e, 0, length);
        *written = length;
        return VIRTIO_BLK_S_OK;
    }
    for (uint64_t done = 0; done < length;) {
        size_t n = MIN(length - done, (uint64_t)BOUNCE_SIZE);

        if (blk_read(b->image, offset + done, bounce_buffer(b), n) < 0)
            return VIRTIO_BLK_S_IOERR;
        virtq_element_write(q, e, done, b->bounce, n);
        done += n;
        *written = done;
    }
    return VIRTIO_BLK_S_OK;
}

/* VIRTIO_BLK_T_OUT: from the readable buffers after the header. */
static uint8_t do_write(struct virtio_blk *b, struct virtq *q, uint64_t sector,
                        uint64_t length)
{
    struct virtq_element *e = &b->elem;
    uint64_t offset = sector * SECTOR_SIZE;
    const void *direct;

    /* A read-only device fails writes and writes nothing (§5.2.6.2). */
    if (b->read_only || length % SECTOR_SIZE || !in_range(b, sector, length))
        return VIRTIO_BLK_S_IOERR;
    if (length == 0)
        return VIRTIO_BLK_S_OK;
    direct = virtq_element_map(e, false, HEADER_SIZE, length);
    if (direct)
        return blk_write(b->image, offset, direct, length) < 0 ?
               VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
    for (uint64_t done = 0; done < length;) {
        size_t n = MIN(length - done, (uint64_t)BOUNCE_SIZE);

        virtq_element_read(q, e, HEADER_SIZE + done, bounce_buffer(b), n);
        if (blk_write(b->image, offset + done, b->bounce, n) < 0)
            return VIRTIO_BLK_S_IOERR;
        done += n;
    }
    return VIRTIO_BLK_S_OK;
}

/*
 * VIRTIO_BLK_T_DISCARD and _WRITE_ZEROES: a list of ranges. Every range is
 * checked before any is acted on, so a refused request changes nothing.
 */
static uint8_t do_ranges(struct virtio_blk *b, struct virtq *q, uint32_t type,
                         uint64_t length)
{
    uint8_t segments[VIRTIO_BLK_MAX_DISCARD_SEG * SEGMENT_SIZE];
    unsigned count = length / SEGMENT_SIZE;

    if (b->read_only)
        return VIRTIO_BLK_S_UNSUPP;     /* neither feature is offered then */
    if (length == 0 || length % SEGMENT_SIZE ||
        count > VIRTIO_BLK_MAX_DISCARD_SEG)
        return VIRTIO_BLK_S_IOERR;
    virtq_element_read(q, &b->elem, HEADER_SIZE, segments, length);
    for (unsigned i = 0; i < count; i++) {
        const uint8_t *s = segments + i * SEGMENT_SIZE;
        uint64_t sector = memory_load_le(s, 8);
        uint32_t sectors = memory_load_le(s + 8, 4), flags = memory_load_le(s + 12, 4);

        /* Unknown flags, or unmap on a discard: UNSUPP (§5.2.6.2). */
        if ((flags & ~UNMAP_FLAG) ||
            (type == VIRTIO_BLK_T_DISCARD && (flags & UNMAP_FLAG)))
            return VIRTIO_BLK_S_UNSUPP;
        if (sectors > VIRTIO_BLK_MAX_DISCARD_SECTORS ||
            !in_range(b, sector, (uint64_t)sectors * SECTOR_SIZE))
            return VIRTIO_BLK_S_IOERR;
    }
    for (unsigned i = 0; i < count; i++) {
        const uint8_t *s = segments + i * SEGMENT_SIZE;
        uint64_t offset = memory_load_le(s, 8) * SECTOR_SIZE;
        uint64_t bytes = memory_load_le(s + 8, 4) * SECTOR_SIZE;
        int r;

        if (bytes == 0)
            continue;
        if (type == VIRTIO_BLK_T_DISCARD) {
            /* Discarding is a hint: a back end that cannot is still fine. */
            r = blk_discard(b->image, offset, bytes);
            if (r == -ENOTSUP || r == -EOPNOTSUPP)
                r = 0;
        } else {
            r = blk_write_zeroes(b->image, offset, bytes);
        }
        if (r < 0)
            return VIRTIO_BLK_S_IOERR;
    }
    return VIRTIO_BLK_S_OK;
}

/* One request (§5.2.6): header, data, status byte. */
static void handle_request(struct virtio_blk *b, struct virtq *q)
{
    struct virtq_element *e = &b->elem;
    uint8_t header[HEADER_SIZE];
    uint64_t written = 0, data_out, data_in, sector;
    uint32_t type;
    uint8_t status;

    if (e->out_bytes < HEADER_SIZE || e->in_bytes < 1) {
        virtq_fail(q, "request %u has %" G_GUINT64_FORMAT " readable and %"
                   G_GUINT64_FORMAT " writable bytes: no room for the 16-byte "
                   "header and the status byte", e->head, e->out_bytes,
                   e->in_bytes);
        return;
    }
    virtq_element_read(q, e, 0, header, HEADER_SIZE);
    type = memory_load_le(header, 4);
    sector = memory_load_le(header + 8, 8);
    data_out = e->out_bytes - HEADER_SIZE;
    data_in = e->in_bytes - 1;
    if (virtio_pci_is_legacy(b->transport)) {
        type &= ~VIRTIO_BLK_T_BARRIER;
        if (type == VIRTIO_BLK_T_FLUSH_OUT)
            type = VIRTIO_BLK_T_FLUSH;
    }
    switch (type) {
    case VIRTIO_BLK_T_IN:
        status = do_read(b, q, sector, data_in, &written);
        break;
    case VIRTIO_BLK_T_OUT:
        status = do_write(b, q, sector, data_out);
        break;
    case VIRTIO_BLK_T_FLUSH:
        status = b->read_only || blk_flush(b->image) == 0 ?
                 VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
        break;
    case VIRTIO_BLK_T_GET_ID:
        written = MIN(data_in, (uint64_t)VIRTIO_BLK_ID_BYTES);
        written = virtq_element_write(q, e, 0, b->id, written);
        status = VIRTIO_BLK_S_OK;
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        status = do_ranges(b, q, type, data_out);
        break;
    default:
        status = VIRTIO_BLK_S_UNSUPP;
        break;
    }
    /* The status is the last writable byte, written after the data. */
    virtq_element_write(q, e, data_in, &status, 1);
    virtq_push(q, e, written + 1);
}

/* --- what the transport calls --- */

static void virtio_blk_queue_notify(void *opaque, struct virtq *q)
{
    struct virtio_blk *b = opaque;
    bool pushed = false;
    int r;

    do {
        virtq_disable_notification(q);
        while ((r = virtq_pop(q, &b->elem)) > 0) {
            handle_request(b, q);
            pushed = true;
        }
        if (r < 0)
            break;
    } while (virtq_enable_notification(q));
    if (pushed)
        virtio_pci_notify_used(b->transport, q);
}

static void virtio_blk_read_config(void *opaque, unsigned offset, void *buf,
                                   unsigned length)
{
    struct virtio_blk *b = opaque;

    memcpy(buf, b->config + offset, length);
}

static void virtio_blk_destroy(void *opaque)
{
    struct virtio_blk *b = opaque;

    virtq_element_clear(&b->elem);
    g_free(b->bounce);
    g_free(b);
}

static const struct virtio_device_ops virtio_blk_ops = {
    .name = "virtio-blk",
    .device_id = VIRTIO_BLK_DEVICE_ID,
    .transitional_pci_id = VIRTIO_BLK_PCI_TRANSITIONAL_ID,
    .pci_class = PCI_CLASS_STORAGE_SCSI,
    .num_queues = 1,
    .queue_max_size = VIRTIO_BLK_QUEUE_SIZE,
    .config_size = VIRTIO_BLK_CONFIG_SIZE,
    .read_config = virtio_blk_read_config,
    .queue_notify = virtio_blk_queue_notify,
    .destroy = virtio_blk_destroy,
};

struct pci_device *virtio_blk_pci_create(struct pci_bus *bus, int devfn,
                                         BlkImage *image, bool read_only,
                                         const char *serial, GError **error)
{
    struct virtio_blk *b;
    g_autofree char *id = NULL;
    struct pci_device *d;
    uint64_t features;

    g_return_val_if_fail(bus && image, NULL);
    b = g_new0(struct virtio_blk, 1);
    b->image = image;
    b->read_only = read_only || !(image->flags & BLK_OPEN_READ_WRITE);
    b->capacity = image->size / SECTOR_SIZE;
    build_config(b);

    features = UINT64_C(1) << VIRTIO_BLK_F_SEG_MAX |
               UINT64_C(1) << VIRTIO_BLK_F_BLK_SIZE |
               UINT64_C(1) << VIRTIO_BLK_F_FLUSH |
               UINT64_C(1) << VIRTIO_BLK_F_TOPOLOGY |
               UINT64_C(1) << VIRTIO_F_INDIRECT_DESC |
               UINT64_C(1) << VIRTIO_F_EVENT_IDX;
    if (b->read_only)
        features |= UINT64_C(1) << VIRTIO_BLK_F_RO;
    else
        features |= UINT64_C(1) << VIRTIO_BLK_F_DISCARD |
                    UINT64_C(1) << VIRTIO_BLK_F_WRITE_ZEROES;
    b->transport = virtio_pci_create(bus, devfn, &virtio_blk_ops, b, features,
                                     error);
    if (!b->transport) {
        g_free(b);
        return NULL;
    }
    d = virtio_pci_device(b->transport);
    /* NUL-padded, unterminated when it fills all 20 bytes (§5.2.6). */
    id = serial ? g_strdup_printf("MIMIC-%s", serial) :
         g_strdup_printf("MIMIC-%02x.%x", d->devfn >> 3, d->devfn & 7);
    memcpy(b->id, id, MIN(strlen(id), sizeof(b->id)));
    return d;
}
