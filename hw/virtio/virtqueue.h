/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Split virtqueues (virtio 1.2 §2.7): the device side of the descriptor
 * table, available ring and used ring in guest memory, for any transport.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/memory.h"

/* Descriptor and ring flags (virtio 1.2 §2.7.5, §2.7.6, §2.7.8). */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

#define VIRTQ_MAX_SIZE 32768            /* split rings (virtio 1.2 §2.7) */

/* Reserved feature bits the virtqueue acts on (virtio 1.2 §6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

/* One guest buffer of a descriptor chain. */
struct virtq_segment {
    uint64_t addr;
    uint32_t length;
    uint8_t *host;          /* the buffer in one RAM region, or NULL: copy */
};

/*
 * A descriptor chain taken from the available ring: the device-readable
 * segments first, then the device-writable ones (virtio 1.2 §2.7.5).
 * The caller owns it and may reuse it for every virtq_pop.
 */
struct virtq_element {
    uint16_t head;              /* the id to give back in the used ring */
    unsigned nr_out;            /* device-readable segments */
    unsigned nr_in;             /* device-writable segments, after those */
    uint64_t out_bytes;
    uint64_t in_bytes;
    struct virtq_segment *segments;
    unsigned capacity;
};

struct virtq {
    struct memory_map *memory;  /* guest physical memory (DMA) */
    char *name;                 /* "virtio-blk 00:04.0 queue 0", for messages */
    /* Set up by the transport before virtq_enable. */
    uint16_t size;
    uint16_t max_indirect;      /* most entries in an indirect table */
    uint64_t desc_addr;
    uint64_t avail_addr;        /* driver area */
    uint64_t used_addr;         /* device area */
    bool event_idx;             /* VIRTIO_F_EVENT_IDX negotiated */
    bool indirect;              /* VIRTIO_F_INDIRECT_DESC negotiated */

    bool ready;
    bool broken;                /* the driver broke the rules: needs a reset */
    bool logged;                /* a guest mistake was reported already */
    uint16_t last_avail_idx;    /* next available ring entry to take */
    uint16_t used_idx;          /* next used ring entry to fill */
    uint16_t signalled_used;    /* used_idx at the last interrupt decision */
    bool signalled_used_valid;
    /* The rings in host memory when each lies in one RAM region. */
    uint8_t *desc_host;
    uint8_t *avail_host;
    uint8_t *used_host;
};

void virtq_init(struct virtq *q, struct memory_map *memory, const char *name,
                uint16_t max_indirect);
void virtq_destroy(struct virtq *q);
/* Forget the rings and indices (device reset); size and limits stay. */
void virtq_reset(struct virtq *q);
/* Take the negotiated ring features (VIRTIO_F_EVENT_IDX, _INDIRECT_DESC). */
void virtq_set_features(struct virtq *q, uint64_t features);
/*
 * Check the size and ring addresses the driver gave and start using them.
 * 0, or -EINVAL when they are unusable: logged, and the queue is broken.
 */
int virtq_enable(struct virtq *q);

/*
 * Take the next available chain into @elem: 1, 0 when there is none, or
 * -EIO when the driver broke the ring (logged once; the queue is broken and
 * returns -EIO until it is reset). Every segment is checked to lie in RAM
 * (readable ones may be in ROM), so the accessors below cannot fault.
 */
int virtq_pop(struct virtq *q, struct virtq_element *elem);
/* Give @elem back through the used ring, @written bytes written to it. */
void virtq_push(struct virtq *q, const struct virtq_element *elem,
                uint32_t written);
/* After virtq_push calls: does the driver want an interrupt (§2.7.7)? */
bool virtq_should_notify(struct virtq *q);
/*
 * Suppress the driver's notifications while the device is working through
 * the ring, and allow them again (§2.7.10). Enabling returns true if
 * buffers arrived meanwhile, which the device must then process.
 */
void virtq_disable_notification(struct virtq *q);
bool virtq_enable_notification(struct virtq *q);

/* A device-detected guest mistake: log once, mark the queue broken. */
void virtq_fail(struct virtq *q, const char *format, ...) G_GNUC_PRINTF(2, 3);

/*
 * Copy from the readable part / into the writable part of @elem, starting
 * @offset bytes in. Return the bytes copied (fewer at the end of the part).
 */
size_t virtq_element_read(struct virtq *q, const struct virtq_element *elem,
                          uint64_t offset, void *buf, size_t length);
size_t virtq_element_write(struct virtq *q, const struct virtq_element *elem,
                           uint64_t offset, const void *buf, size_t length);
/*
 * Host memory for [offset, offset+length) of the readable (@writable false)
 * or writable part when that range is one segment in one RAM region, so a
 * back end can do its I/O in place; NULL: use the copying accessors.
 */
/* Report guest memory written through virtq_element_map's pointer. */
void virtq_element_note_written(struct virtq *q, const struct virtq_element *elem,
                                uint64_t offset, uint64_t length);
void *virtq_element_map(const struct virtq_element *elem, bool writable,
                        uint64_t offset, uint64_t length);
void virtq_element_clear(struct virtq_element *elem);
