/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Split virtqueues, device side (virtio 1.2 §2.7): chains taken from the
 * available ring and checked against the ring and guest RAM, used-ring
 * updates with their barriers, and notification suppression (event idx).
 */
#define G_LOG_DOMAIN "mimic-virtio"

#include "hw/virtio/virtqueue.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#define DESC_SIZE 16
/* Offsets in the rings (virtio 1.2 §2.7.6, §2.7.8). */
#define RING_FLAGS 0
#define RING_IDX 2
#define RING_ENTRIES 4
#define USED_ENTRY_SIZE 8

struct desc {
    uint64_t addr;
    uint32_t length;
    uint16_t flags;
    uint16_t next;
};

void virtq_init(struct virtq *q, struct memory_map *memory, const char *name,
                uint16_t max_indirect)
{
    memset(q, 0, sizeof(*q));
    q->memory = memory;
    q->name = g_strdup(name);
    q->max_indirect = max_indirect;
}

void virtq_destroy(struct virtq *q)
{
    g_clear_pointer(&q->name, g_free);
}

void virtq_reset(struct virtq *q)
{
    q->desc_addr = q->avail_addr = q->used_addr = 0;
    q->event_idx = q->indirect = false;
    q->ready = q->broken = false;
    q->last_avail_idx = q->used_idx = 0;
    q->signalled_used = 0;
    q->signalled_used_valid = false;
    q->desc_host = q->avail_host = q->used_host = NULL;
}

void virtq_set_features(struct virtq *q, uint64_t features)
{
    q->event_idx = features & (UINT64_C(1) << VIRTIO_F_EVENT_IDX);
    q->indirect = features & (UINT64_C(1) << VIRTIO_F_INDIRECT_DESC);
}

void virtq_fail(struct virtq *q, const char *format, ...)
{
    va_list args;

    q->broken = true;
    if (q->logged)
        return;
    q->logged = true;
    va_start(args, format);
    {
        g_autofree char *text = g_strdup_vprintf(format, args);

        g_message("%s: %s; the device needs a reset (logged once)", q->name,
                  text);
    }
    va_end(args);
}

/*
 * Is [addr, addr+length) guest RAM (or ROM, when the device only reads it)?
 * *host gets the host address when the range lies in one region.
 */
static bool check_range(struct virtq *q, uint64_t addr, uint64_t length,
                        bool write, uint8_t **host)
{
    uint64_t a = addr, left = length;

    *host = NULL;
    if (length == 0)
        return true;
    if (length - 1 > UINT64_MAX - addr)
        return false;
    while (left) {
        const struct memory_region *r = memory_map_lookup(q->memory, a);
        uint64_t chunk;

        if (!r || r->kind == MEMORY_REGION_IO ||
            (write && r->kind != MEMORY_REGION_RAM))
            return false;
        chunk = MIN(left, r->base + r->size - a);
        if (a == addr && chunk == length)
            *host = r->host + (a - r->base);
        a += chunk;
        left -= chunk;
    }
    return true;
}

/* --- ring fields: in place when the ring is one RAM region, else copied --- */

static uint16_t load16(struct virtq *q, uint8_t *host, uint64_t addr,
                       uint64_t offset)
{
    uint16_t v = 0;

    if (host)
        v = __atomic_load_n((uint16_t *)(host + offset), __ATOMIC_RELAXED);
    else
        memory_map_read(q->memory, addr + offset, &v, sizeof(v));
    return GUINT16_FROM_LE(v);
}

static void store16(struct virtq *q, uint8_t *host, uint64_t addr,
                    uint64_t offset, uint16_t value)
{
    uint16_t v = GUINT16_TO_LE(value);

    if (host)
        __atomic_store_n((uint16_t *)(host + offset), v, __ATOMIC_RELAXED);
    else
        memory_map_write(q->memory, addr + offset, &v, sizeof(v), false);
}

static bool read_desc(struct virtq *q, uint8_t *table_host, uint64_t table_addr,
                      unsigned index, struct desc *d)
{
    uint8_t raw[DESC_SIZE];
    uint64_t addr;
    uint32_t length;
    uint16_t flags, next;

    if (table_host)
        memcpy(raw, table_host + (uint64_t)index * DESC_SIZE, DESC_SIZE);
    else if (memory_map_read(q->memory,
                             table_addr + (uint64_t)index * DESC_SIZE, raw,
                             DESC_SIZE) < 0)
        return false;
    memcpy(&addr, raw, 8);
    memcpy(&length, raw + 8, 4);
    memcpy(&flags, raw + 12, 2);
    memcpy(&next, raw + 14, 2);
    d->addr = GUINT64_FROM_LE(addr);
    d->length = GUINT32_FROM_LE(length);
    d->flags = GUINT16_FROM_LE(flags);
    d->next = GUINT16_FROM_LE(next);
    return true;
}

/* --- setting up --- */

int virtq_enable(struct virtq *q)
{
    uint64_t n = q->size;

    q->ready = false;
    if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1))) {
        virtq_fail(q, "queue size %" G_GUINT64_FORMAT " is not a power of two "
                   "from 1 to %u (virtio 1.2 section 2.7)", n, VIRTQ_MAX_SIZE);
        return -EINVAL;
    }
    /* Alignment: 16 for the table, 2 and 4 for the rings (§2.7, table). */
    if ((q->desc_addr & 15) || (q->avail_addr & 1) || (q->used_addr & 3)) {
        virtq_fail(q, "misaligned rings: descriptors at 0x%" G_GINT64_MODIFIER
                   "x, driver area at 0x%" G_GINT64_MODIFIER "x, device area "
                   "at 0x%" G_GINT64_MODIFIER "x (virtio 1.2 section 2.7)",
                   q->desc_addr, q->avail_addr, q->used_addr);
        return -EINVAL;
    }
    if (!check_range(q, q->desc_addr, n * DESC_SIZE, false, &q->desc_host) ||
        !check_range(q, q->avail_addr, 6 + 2 * n, false, &q->avail_host) ||
        !check_range(q, q->used_addr, 6 + USED_ENTRY_SIZE * n, true,
                     &q->used_host)) {
        virtq_fail(q, "rings of %" G_GUINT64_FORMAT " entries at 0x%"
                   G_GINT64_MODIFIER "x/0x%" G_GINT64_MODIFIER "x/0x%"
                   G_GINT64_MODIFIER "x are not all in guest RAM", n,
                   q->desc_addr, q->avail_addr, q->used_addr);
        return -EINVAL;
    }
    q->last_avail_idx = q->used_idx = 0;
    q->signalled_used_valid = false;
    q->broken = false;
    q->ready = true;
    return 0;
}

/* --- taking chains --- */

static void add_segment(struct virtq_element *e, uint64_t addr, uint32_t length,
                        uint8_t *host)
{
    unsigned count = e->nr_out + e->nr_in;

    if (count == e->capacity) {
        e->capacity = MAX(16u, e->capacity * 2);
        e->segments = g_renew(struct virtq_segment, e->segments, e->capacity);
    }
    e->segments[count] = (struct virtq_segment){ addr, length, host };
}

/*
 * Walk the chain from @head (§2.7.5): indices inside the table, at most as
 * many descriptors as the table has (so a loop ends), one indirect table
 * at the end of the chain (§2.7.5.3.1), readable before writable buffers,
 * every buffer in RAM.
 */
static int walk_chain(struct virtq *q, uint16_t head, struct virtq_element *e)
{
    uint8_t *table_host = q->desc_host;
    uint64_t table_addr = q->desc_addr;
    unsigned table_size = q->size, index = head, count = 0;
    bool in_indirect = false;
    struct desc d;

    e->head = head;
    e->nr_out = e->nr_in = 0;
    e->out_bytes = e->in_bytes = 0;
    for (;;) {
        uint8_t *host;
        bool write;

        if (++count > table_size) {
            virtq_fail(q, "descriptor chain from %u loops or is longer than "
                       "its table of %u", head, table_size);
            return -EIO;
        }
        if (!read_desc(q, table_host, table_addr, index, &d)) {
            virtq_fail(q, "descriptor table left guest RAM");
            return -EIO;
        }
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (!q->indirect || in_indirect || (d.flags & VIRTQ_DESC_F_NEXT)) {
                virtq_fail(q, "indirect descriptor %u %s", index,
                           !q->indirect ? "without VIRTIO_F_INDIRECT_DESC" :
                           in_indirect ? "inside an indirect table" :
                           "with VIRTQ_DESC_F_NEXT (virtio 1.2 section "
                           "2.7.5.3.1)");
                return -EIO;
            }
            if (d.length == 0 || d.length % DESC_SIZE ||
                d.length / DESC_SIZE > q->max_indirect) {
                virtq_fail(q, "indirect table of %u bytes (at most %u "
                           "descriptors of %u bytes)", d.length,
                           q->max_indirect, DESC_SIZE);
                return -EIO;
            }
            if (!check_range(q, d.addr, d.length, false, &table_host)) {
                virtq_fail(q, "indirect table at 0x%" G_GINT64_MODIFIER "x is "
                           "outside guest RAM", d.addr);
                return -EIO;
            }
            /* The table's own WRITE flag is ignored (§2.7.5.3.2). */
            table_addr = d.addr;
            table_size = d.length / DESC_SIZE;
            in_indirect = true;
            index = 0;
            count = 0;
            continue;
        }
        write = d.flags & VIRTQ_DESC_F_WRITE;
        if (!write && e->nr_in) {
            virtq_fail(q, "device-readable buffer after a device-writable one "
                       "in the chain from %u (virtio 1.2 section 2.7.5)", head);
            return -EIO;
        }
        if (!check_range(q, d.addr, d.length, write, &host)) {
            virtq_fail(q, "%s buffer at 0x%" G_GINT64_MODIFIER "x, %u bytes, "
                       "is outside guest RAM", write ? "device-writable" :
                       "device-readable", d.addr, d.length);
            return -EIO;
        }
        add_segment(e, d.addr, d.length, host);
        if (write) {
            e->nr_in++;
            e->in_bytes += d.length;
        } else {
            e->nr_out++;
            e->out_bytes += d.length;
        }
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        index = d.next;
        if (index >= table_size) {
            virtq_fail(q, "descriptor index %u past the table of %u", index,
                       table_size);
            return -EIO;
        }
    }
}

int virtq_pop(struct virtq *q, struct virtq_element *elem)
{
    uint16_t avail_idx, pending, head;

    if (q->broken)
        return -EIO;
    if (!q->ready)
        return 0;
    avail_idx = load16(q, q->avail_host, q->avail_addr, RING_IDX);
    pending = avail_idx - q->last_avail_idx;
    if (pending == 0)
        return 0;
    if (pending > q->size) {
        virtq_fail(q, "available index jumped from %u to %u, past the %u "
                   "entries of the ring", q->last_avail_idx, avail_idx,
                   q->size);
        return -EIO;
    }
    /* Read the entry and descriptors only after the index; pairs with the
     * driver's barrier before it updates idx (§2.7.13.3). */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    head = load16(q, q->avail_host, q->avail_addr,
                  RING_ENTRIES + 2 * (q->last_avail_idx & (q->size - 1)));
    if (head >= q->size) {
        virtq_fail(q, "available ring names descriptor %u of %u", head,
                   q->size);
        return -EIO;
    }
    if (walk_chain(q, head, elem) < 0)
        return -EIO;
    q->last_avail_idx++;
    return 1;
}

/* --- giving them back --- */

void virtq_push(struct virtq *q, const struct virtq_element *elem,
                uint32_t written)
{
    uint64_t offset = RING_ENTRIES +
                      (uint64_t)(q->used_idx & (q->size - 1)) * USED_ENTRY_SIZE;
    uint32_t entry[2];

    if (!q->ready || q->broken)
        return;
    entry[0] = GUINT32_TO_LE(elem->head);
    entry[1] = GUINT32_TO_LE((uint32_t)MIN((uint64_t)written, elem->in_bytes));
    if (q->used_host)
        memcpy(q->used_host + offset, entry, sizeof(entry));
    else
        memory_map_write(q->memory, q->used_addr + offset, entry, sizeof(entry),
                         false);
    /* The entry is visible before the index that publishes it (§2.7.8). */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    q->used_idx++;
    store16(q, q->used_host, q->used_addr, RING_IDX, q->used_idx);
}

bool virtq_should_notify(struct virtq *q)
{
    uint16_t old, event;
    bool valid;

    if (!q->ready || q->broken)
        return false;
    /* The used index is visible before the driver's fields are read. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!q->event_idx)
        return !(load16(q, q->avail_host, q->avail_addr, RING_FLAGS) &
                 VIRTQ_AVAIL_F_NO_INTERRUPT);
    old = q->signalled_used;
    valid = q->signalled_used_valid;
    q->signalled_used = q->used_idx;
    q->signalled_used_valid = true;
    if (!valid)
        return true;
    /* used_event follows the available ring (§2.7.6, §2.7.7). */
    event = load16(q, q->avail_host, q->avail_addr, RING_ENTRIES + 2 * q->size);
    return (uint16_t)(q->used_idx - event - 1) < (uint16_t)(q->used_idx - old);
}

void virtq_disable_notification(struct virtq *q)
{
    /* With event idx, avail_event simply stays behind (§2.7.10). */
    if (!q->ready || q->broken || q->event_idx)
        return;
    store16(q, q->used_host, q->used_addr, RING_FLAGS, VIRTQ_USED_F_NO_NOTIFY);
}

bool virtq_enable_notification(struct virtq *q)
{
    if (!q->ready || q->broken)
        return false;
    if (q->event_idx)
        /* avail_event follows the used ring: notify from the next entry on. */
        store16(q, q->used_host, q->used_addr,
                RING_ENTRIES + USED_ENTRY_SIZE * q->size, q->last_avail_idx);
    else
        store16(q, q->used_host, q->used_addr, RING_FLAGS, 0);
    /* Publish that before looking for buffers the driver added meanwhile. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return load16(q, q->avail_host, q->avail_addr, RING_IDX) !=
           q->last_avail_idx;
}

/* --- the buffers of a chain --- */

static size_t element_copy(struct virtq *q, const struct virtq_element *e,
                           bool writable, uint64_t offset, uint8_t *buf,
                           size_t length)
{
    unsigned first = writable ? e->nr_out : 0;
    unsigned end = writable ? e->nr_out + e->nr_in : e->nr_out;
    size_t done = 0;

    for (unsigned i = first; i < end && done < length; i++) {
        const struct virtq_segment *s = &e->segments[i];
        size_t n;
        int r = 0;

        if (offset >= s->length) {
            offset -= s->length;
            continue;
        }
        n = MIN((uint64_t)(length - done), s->length - offset);
        if (s->host && writable) {
            memcpy(s->host + offset, buf + done, n);
            memory_map_note_write(q->memory, s->addr + offset, n);
        }
        else if (s->host)
            memcpy(buf + done, s->host + offset, n);
        else if (writable)
            r = memory_map_write(q->memory, s->addr + offset, buf + done, n,
                                 false);
        else
            r = memory_map_read(q->memory, s->addr + offset, buf + done, n);
        if (r < 0)
            break;
        done += n;
        offset = 0;
    }
    return done;
}

size_t virtq_element_read(struct virtq *q, const struct virtq_element *elem,
                          uint64_t offset, void *buf, size_t length)
{
    return element_copy(q, elem, false, offset, buf, length);
}

size_t virtq_element_write(struct virtq *q, const struct virtq_element *elem,
                           uint64_t offset, const void *buf, size_t length)
{
    return element_copy(q, elem, true, offset, (uint8_t *)buf, length);
}

void virtq_element_note_written(struct virtq *q, const struct virtq_element *elem,
                                uint64_t offset, uint64_t length)
{
    for (unsigned i = elem->nr_out; i < elem->nr_out + elem->nr_in && length; i++) {
        const struct virtq_segment *s = &elem->segments[i];
        uint64_t n;

        if (offset >= s->length) {
            offset -= s->length;
            continue;
        }
        n = MIN(length, s->length - offset);
        memory_map_note_write(q->memory, s->addr + offset, n);
        length -= n;
        offset = 0;
    }
}

void *virtq_element_map(const struct virtq_element *elem, bool writable,
                        uint64_t offset, uint64_t length)
{
    unsigned first = writable ? elem->nr_out : 0;
    unsigned end = writable ? elem->nr_out + elem->nr_in : elem->nr_out;

    for (unsigned i = first; i < end; i++) {
        const struct virtq_segment *s = &elem->segments[i];

        if (offset >= s->length) {
            offset -= s->length;
            continue;
        }
        if (!s->host || length > s->length - offset)
            return NULL;
        return s->host + offset;
    }
    return NULL;
}

void virtq_element_clear(struct virtq_element *elem)
{
    g_clear_pointer(&elem->segments, g_free);
    elem->capacity = 0;
    elem->nr_out = elem->nr_in = 0;
}
