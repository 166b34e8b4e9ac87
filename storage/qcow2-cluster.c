/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qcow2 guest-to-host mapping: L1/L2 lookup, reads, allocating writes with
 * copy-on-write, zero clusters and discard, compressed clusters, block status. */
#include "storage/qcow2.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static uint8_t qcow2_zero_buf[1u << QCOW2_MAX_CLUSTER_BITS];

static bool qcow2_l2e_valid(const Qcow2State *s, uint64_t l2e)
{
    Qcow2ClusterType type = qcow2_cluster_type(s, l2e);
    if (type == QCOW2_CLUSTER_COMPRESSED) {
        uint64_t coff = l2e & s->cluster_offset_mask;
        return coff >= s->cluster_size && coff < s->file_end;
    }
    if (l2e & QCOW2_L2E_RESERVED) {
        return false;
    }
    if (type == QCOW2_CLUSTER_UNALLOCATED && (l2e & QCOW2_OFLAG_COPIED)) {
        return false;
    }
    uint64_t host = l2e & QCOW2_OFFSET_MASK;
    return host == 0 || ((host & (s->cluster_size - 1)) == 0 && host < s->file_end);
}

/* Guest data must never land on the header or the active tables. */
static bool qcow2_overlaps_metadata(const Qcow2State *s, uint64_t host, uint64_t bytes)
{
    uint64_t l1_end = s->l1_offset + (uint64_t)s->l1_size * 8;
    uint64_t rt_end = s->reftable_offset + ((uint64_t)s->reftable_clusters << s->cluster_bits);
    return host < s->cluster_size ||
           (s->l1_size && host < l1_end && host + bytes > s->l1_offset) ||
           (host < rt_end && host + bytes > s->reftable_offset);
}

static uint64_t qcow2_l2_offset(const Qcow2State *s, const uint64_t *l1, uint32_t l1_size,
                                uint64_t l1_index)
{
    return l1_index < l1_size ? l1[l1_index] & QCOW2_OFFSET_MASK : 0;
}

int qcow2_get_l2_entry(Qcow2State *s, const uint64_t *l1, uint32_t l1_size, uint64_t offset,
                       uint64_t *l2e)
{
    uint64_t l1i = offset >> (s->cluster_bits + s->l2_bits);
    uint64_t l2i = (offset >> s->cluster_bits) & (s->l2_entries - 1);
    uint64_t l2off = qcow2_l2_offset(s, l1, l1_size, l1i);
    uint64_t *table;
    *l2e = 0;
    if (l2off == 0) {
        return 0;
    }
    int ret = qcow2_cache_get(s->l2_cache, l2off, &table);
    if (ret < 0) {
        return ret;
    }
    *l2e = be64toh(table[l2i]);
    qcow2_cache_put(s->l2_cache, &table);
    return qcow2_l2e_valid(s, *l2e) ? 0 : -EIO;
}

/* Map a run starting at offset: clusters of one type (and, for data, with
 * contiguous host offsets) inside one L2 table. */
static int qcow2_map(Qcow2State *s, const uint64_t *l1, uint32_t l1_size, uint64_t offset,
                     uint64_t bytes, uint64_t *l2e_out, uint64_t *run)
{
    uint64_t cs = s->cluster_size;
    uint64_t in_cluster = offset & (cs - 1);
    uint64_t l1i = offset >> (s->cluster_bits + s->l2_bits);
    uint64_t l2i = (offset >> s->cluster_bits) & (s->l2_entries - 1);
    uint64_t max_clusters = MIN(s->l2_entries - l2i, qcow2_ceil_div(in_cluster + bytes, cs));
    uint64_t l2off = qcow2_l2_offset(s, l1, l1_size, l1i);
    uint64_t *table, n = 1;

    *l2e_out = 0;
    if (l2off == 0) {
        *run = MIN(bytes, max_clusters * cs - in_cluster);
        return 0;
    }
    int ret = qcow2_cache_get(s->l2_cache, l2off, &table);
    if (ret < 0) {
        return ret;
    }
    uint64_t e0 = be64toh(table[l2i]);
    Qcow2ClusterType t0 = qcow2_cluster_type(s, e0);
    if (!qcow2_l2e_valid(s, e0)) {
        qcow2_cache_put(s->l2_cache, &table);
        return -EIO;
    }
    if (t0 != QCOW2_CLUSTER_COMPRESSED) {
        for (; n < max_clusters; n++) {
            uint64_t e = be64toh(table[l2i + n]);
            if (qcow2_cluster_type(s, e) != t0 || !qcow2_l2e_valid(s, e)) {
                break;
            }
            if (t0 == QCOW2_CLUSTER_NORMAL &&
                (e & (QCOW2_OFFSET_MASK | QCOW2_OFLAG_COPIED)) !=
                (((e0 & QCOW2_OFFSET_MASK) + n * cs) | (e0 & QCOW2_OFLAG_COPIED))) {
                break;
            }
        }
    }
    qcow2_cache_put(s->l2_cache, &table);
    *l2e_out = e0;
    *run = MIN(bytes, n * cs - in_cluster);
    return 0;
}

int qcow2_read_compressed(Qcow2State *s, uint64_t l2e, uint64_t guest_cluster, uint8_t *out)
{
    uint64_t off, bytes;
    qcow2_compressed_extent(s, l2e, &off, &bytes);
    if (off == 0 || off + bytes > (1ull << 56)) {
        return -EIO;
    }
    g_autofree uint8_t *in = g_malloc(bytes);
    int ret = blk_pread_full(s->fd, in, bytes, off);
    if (ret < 0) {
        return ret;
    }
    return qcow2_decompress(s->compression_type, out, s->cluster_size, in, bytes);
}

/* Read [a, b) of a guest cluster as the old entry l2e describes it. */
static int qcow2_read_old(Qcow2State *s, uint64_t l2e, uint64_t guest_cluster, uint64_t a,
                          uint64_t b, uint8_t *out, bool *is_zero)
{
    *is_zero = false;
    switch (qcow2_cluster_type(s, l2e)) {
    case QCOW2_CLUSTER_UNALLOCATED:
        if (s->img->backing == NULL || guest_cluster + a >= s->img->backing->size) {
            *is_zero = true;
            memset(out, 0, b - a);
            return 0;
        }
        return blk_read_backing(s->img, guest_cluster + a, out, b - a);
    case QCOW2_CLUSTER_ZERO_PLAIN:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        *is_zero = true;
        memset(out, 0, b - a);
        return 0;
    case QCOW2_CLUSTER_NORMAL:
        return blk_pread_full(s->fd, out, b - a, (l2e & QCOW2_OFFSET_MASK) + a);
    case QCOW2_CLUSTER_COMPRESSED: {
        int ret = qcow2_read_compressed(s, l2e, guest_cluster, s->decompressed_buf);
        s->cached_compressed_valid = false;
        if (ret == 0) {
            memcpy(out, s->decompressed_buf + a, b - a);
        }
        return ret;
    }
    }
    return -EIO;
}

int qcow2_read_at(Qcow2State *s, const uint64_t *l1, uint32_t l1_size, uint64_t offset,
                  void *buf, size_t bytes, bool backing)
{
    uint8_t *p = buf;
    uint64_t cs = s->cluster_size;
    while (bytes > 0) {
        uint64_t l2e, n;
        int ret = qcow2_map(s, l1, l1_size, offset, bytes, &l2e, &n);
        if (ret < 0) {
            return ret;
        }
        uint64_t in_cluster = offset & (cs - 1);
        switch (qcow2_cluster_type(s, l2e)) {
        case QCOW2_CLUSTER_UNALLOCATED:
            if (backing) {
                ret = blk_read_backing(s->img, offset, p, n);
            } else {
                memset(p, 0, n);
            }
            break;
        case QCOW2_CLUSTER_ZERO_PLAIN:
        case QCOW2_CLUSTER_ZERO_ALLOC:
            memset(p, 0, n);
            break;
        case QCOW2_CLUSTER_NORMAL:
            ret = blk_pread_full(s->fd, p, n, (l2e & QCOW2_OFFSET_MASK) + in_cluster);
            break;
        case QCOW2_CLUSTER_COMPRESSED:
            if (!s->cached_compressed_valid || s->cached_compressed_offset != l2e) {
                s->cached_compressed_valid = false;
                ret = qcow2_read_compressed(s, l2e, offset - in_cluster, s->decompressed_buf);
                if (ret < 0) {
                    break;
                }
                s->cached_compressed_valid = true;
                s->cached_compressed_offset = l2e;
            }
            memcpy(p, s->decompressed_buf + in_cluster, n);
            break;
        }
        if (ret < 0) {
            return ret;
        }
        p += n;
        offset += n;
        bytes -= n;
    }
    return 0;
}

/* Allocate contiguous clusters past the end of the file (always free). */
static int64_t qcow2_alloc_at_end(Qcow2State *s, uint64_t count)
{
    uint64_t saved = s->free_cluster_index, got;
    s->free_cluster_index = MAX(saved, s->file_end >> s->cluster_bits);
    int64_t off = qcow2_alloc_clusters(s, count, &got);
    s->free_cluster_index = saved;
    if (off >= 0 && got != count) {
        qcow2_update_refcount(s, (uint64_t)off, got << s->cluster_bits, -1);
        return -ENOSPC;
    }
    return off;
}

int qcow2_grow_l1(Qcow2State *s, uint64_t min_entries)
{
    uint64_t entries = qcow2_align_up(min_entries * 8, s->cluster_size) / 8;
    if (entries * 8 > QCOW2_MAX_L1_BYTES) {
        return -EFBIG;
    }
    uint64_t clusters = entries * 8 >> s->cluster_bits;
    int64_t off = qcow2_alloc_at_end(s, clusters);
    if (off < 0) {
        return (int)off;
    }
    uint64_t *l1 = g_new0(uint64_t, entries);
    for (uint32_t i = 0; i < s->l1_size; i++) {
        l1[i] = htobe64(s->l1[i]);
    }
    int ret = blk_pwrite_full(s->fd, l1, entries * 8, (uint64_t)off);
    if (ret == 0) {
        /* The new L1 table and its refcounts are stable before the header
         * points at it. */
        ret = qcow2_cache_flush(s->refblock_cache);
    }
    if (ret < 0) {
        g_free(l1);
        qcow2_update_refcount(s, (uint64_t)off, clusters << s->cluster_bits, -1);
        return ret;
    }
    for (uint64_t i = 0; i < entries; i++) {
        l1[i] = be64toh(l1[i]);
    }
    uint64_t old_offset = s->l1_offset;
    uint64_t old_bytes = qcow2_align_up((uint64_t)s->l1_size * 8, s->cluster_size);
    g_free(s->l1);
    s->l1 = l1;
    s->l1_size = (uint32_t)entries;
    s->l1_offset = (uint64_t)off;
    ret = qcow2_write_header_pointers(s);
    if (ret < 0) {
        return ret;
    }
    /* The old table is freed only once nothing points at it. */
    return old_offset ? qcow2_update_refcount(s, old_offset, old_bytes, -1) : 0;
}

/* Return a writable (refcount 1, COPIED) L2 table for an L1 index, copying a
 * shared table or creating an empty one. */
static int qcow2_get_l2_for_write(Qcow2State *s, uint64_t l1i, uint64_t *l2off)
{
    int ret;
    if (l1i >= s->l1_size) {
        ret = qcow2_grow_l1(s, l1i + 1);
        if (ret < 0) {
            return ret;
        }
    }
    uint64_t l1e = s->l1[l1i];
    uint64_t old = l1e & QCOW2_OFFSET_MASK;
    if (old != 0 && (l1e & QCOW2_OFLAG_COPIED)) {
        *l2off = old;
        return 0;
    }
    uint64_t got;
    int64_t new_off = qcow2_alloc_clusters(s, 1, &got);
    if (new_off < 0) {
        return (int)new_off;
    }
    uint64_t *table, *old_table;
    ret = qcow2_cache_get_empty(s->l2_cache, (uint64_t)new_off, &table);
    if (ret < 0) {
        return ret;
    }
    if (old != 0) {
        ret = qcow2_cache_get(s->l2_cache, old, &old_table);
        if (ret < 0) {
            qcow2_cache_put(s->l2_cache, &table);
            return ret;
        }
        /* The copy shares every data cluster with the old table, so none of
         * its entries may claim refcount 1. */
        for (uint32_t i = 0; i < s->l2_entries; i++) {
            table[i] = htobe64(be64toh(old_table[i]) & ~QCOW2_OFLAG_COPIED);
        }
        qcow2_cache_put(s->l2_cache, &old_table);
    }
    ret = blk_pwrite_full(s->fd, table, s->cluster_size, (uint64_t)new_off);
    qcow2_cache_put(s->l2_cache, &table);
    if (ret == 0) {
        /* The new table's refcount and content are on disk before the L1
         * entry points at it. */
        ret = qcow2_cache_flush(s->refblock_cache);
    }
    if (ret < 0) {
        qcow2_cache_discard(s->l2_cache, (uint64_t)new_off);
        return ret;
    }
    uint64_t be = htobe64((uint64_t)new_off | QCOW2_OFLAG_COPIED);
    ret = blk_pwrite_full(s->fd, &be, 8, s->l1_offset + l1i * 8);
    if (ret < 0) {
        return ret;
    }
    s->l1[l1i] = (uint64_t)new_off | QCOW2_OFLAG_COPIED;
    *l2off = (uint64_t)new_off;
    /* The L1 entry no longer references the old table: drop its refcount. */
    return old ? qcow2_update_refcount(s, old, s->cluster_size, -1) : 0;
}

static bool qcow2_in_place(const Qcow2State *s, uint64_t l2e)
{
    return qcow2_cluster_type(s, l2e) == QCOW2_CLUSTER_NORMAL && (l2e & QCOW2_OFLAG_COPIED);
}

/* Write [offset, offset + bytes) into count newly allocated clusters, with
 * the untouched head and tail of the first and last cluster copied from
 * their old contents (backing file, zeros, shared or compressed cluster). */
static int qcow2_write_new(Qcow2State *s, uint64_t offset, const uint8_t *buf, uint64_t bytes,
                           uint64_t *table_entries, uint64_t count, uint64_t *written)
{
    uint64_t cs = s->cluster_size;
    uint64_t in_cluster = offset & (cs - 1);
    uint64_t guest = offset - in_cluster;
    uint64_t old_end = s->file_end, got;
    int ret;

    int64_t host = qcow2_alloc_clusters(s, count, &got);
    if (host < 0) {
        return (int)host;
    }
    bool fresh = (uint64_t)host >= old_end;
    uint64_t n = MIN(bytes, got * cs - in_cluster);
    uint64_t end = in_cluster + n;
    uint64_t tail_len = qcow2_align_up(end, cs) - end;
    g_autofree uint8_t *head = NULL, *tail = NULL;
    struct iovec iov[3];
    int iovcnt = 0;
    uint64_t start = (uint64_t)host + in_cluster;
    bool zero;

    if (in_cluster > 0) {
        head = g_malloc(in_cluster);
        ret = qcow2_read_old(s, table_entries[0], guest, 0, in_cluster, head, &zero);
        if (ret < 0) {
            goto out_free;
        }
        if (!(zero && fresh)) {
            iov[iovcnt++] = (struct iovec) { head, in_cluster };
            start = (uint64_t)host;
        }
    }
    iov[iovcnt++] = (struct iovec) { (void *)buf, n };
    if (tail_len > 0) {
        uint64_t last = (end - 1) / cs;
        tail = g_malloc(tail_len);
        ret = qcow2_read_old(s, table_entries[last], guest + last * cs, end % cs, cs, tail,
                             &zero);
        if (ret < 0) {
            goto out_free;
        }
        if (!(zero && fresh)) {
            iov[iovcnt++] = (struct iovec) { tail, tail_len };
        }
    }
    uint64_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
        total += iov[i].iov_len;
    }
    ssize_t w = pwritev(s->fd, iov, iovcnt, (off_t)start);
    if (w < 0 || (uint64_t)w != total) {
        /* Short or failed vector write: fall back to plain writes. */
        uint64_t pos = start;
        ret = 0;
        for (int i = 0; i < iovcnt && ret == 0; i++) {
            ret = blk_pwrite_full(s->fd, iov[i].iov_base, iov[i].iov_len, pos);
            pos += iov[i].iov_len;
        }
        if (ret < 0) {
            goto out_free;
        }
    }
    for (uint64_t i = 0; i < got; i++) {
        table_entries[i] = (uint64_t)host + i * cs;
    }
    *written = n;
    return (int)got;

out_free:
    qcow2_update_refcount(s, (uint64_t)host, got * cs, -1);
    return ret;
}

int qcow2_write_at(Qcow2State *s, uint64_t offset, const void *buf, size_t bytes)
{
    const uint8_t *p = buf;
    uint64_t cs = s->cluster_size;
    int ret;

    while (bytes > 0) {
        uint64_t in_cluster = offset & (cs - 1);
        uint64_t l1i = offset >> (s->cluster_bits + s->l2_bits);
        uint64_t l2i = (offset >> s->cluster_bits) & (s->l2_entries - 1);
        uint64_t nclusters = MIN(s->l2_entries - l2i, qcow2_ceil_div(in_cluster + bytes, cs));
        uint64_t l2off, *table, n = 1;

        ret = qcow2_get_l2_for_write(s, l1i, &l2off);
        if (ret < 0) {
            return ret;
        }
        ret = qcow2_cache_get(s->l2_cache, l2off, &table);
        if (ret < 0) {
            return ret;
        }
        uint64_t e0 = be64toh(table[l2i]);
        if (!qcow2_l2e_valid(s, e0)) {
            qcow2_cache_put(s->l2_cache, &table);
            return -EIO;
        }
        if (qcow2_in_place(s, e0)) {
            while (n < nclusters && be64toh(table[l2i + n]) == e0 + n * cs) {
                n++;
            }
            qcow2_cache_put(s->l2_cache, &table);
            uint64_t len = MIN(bytes, n * cs - in_cluster);
            uint64_t host = (e0 & QCOW2_OFFSET_MASK) + in_cluster;
            if (qcow2_overlaps_metadata(s, host, len)) {
                return -EIO;
            }
            ret = blk_pwrite_full(s->fd, p, len, host);
            if (ret < 0) {
                return ret;
            }
            p += len;
            offset += len;
            bytes -= len;
            continue;
        }
        while (n < nclusters && !qcow2_in_place(s, be64toh(table[l2i + n])) &&
               qcow2_l2e_valid(s, be64toh(table[l2i + n]))) {
            n++;
        }
        uint64_t *entries = g_new(uint64_t, n);
        uint64_t *old = g_new(uint64_t, n);
        for (uint64_t i = 0; i < n; i++) {
            old[i] = entries[i] = be64toh(table[l2i + i]);
        }
        qcow2_cache_put(s->l2_cache, &table);

        uint64_t written = 0;
        ret = qcow2_write_new(s, offset, p, bytes, entries, n, &written);
        if (ret < 0) {
            g_free(entries);
            g_free(old);
            return ret;
        }
        uint64_t got = (uint64_t)ret;
        /* Guest data is written and the new clusters' refcounts are in the
         * refcount cache: the L2 table may only reach the disk after them. */
        qcow2_cache_set_dependency(s->l2_cache, s->refblock_cache);
        ret = qcow2_cache_get(s->l2_cache, l2off, &table);
        if (ret == 0) {
            for (uint64_t i = 0; i < got; i++) {
                table[l2i + i] = htobe64(entries[i] | QCOW2_OFLAG_COPIED);
            }
            qcow2_cache_mark_dirty(s->l2_cache, table);
            qcow2_cache_put(s->l2_cache, &table);
            for (uint64_t i = 0; i < got && ret == 0; i++) {
                ret = qcow2_free_l2_entry(s, old[i]);
            }
        }
        g_free(entries);
        g_free(old);
        if (ret < 0) {
            return ret;
        }
        p += written;
        offset += written;
        bytes -= written;
    }
    return 0;
}

static int qcow2_write_zeros(Qcow2State *s, uint64_t offset, uint64_t bytes)
{
    while (bytes > 0) {
        uint64_t n = MIN(bytes, sizeof(qcow2_zero_buf));
        int ret = qcow2_write_at(s, offset, qcow2_zero_buf, n);
        if (ret < 0) {
            return ret;
        }
        offset += n;
        bytes -= n;
    }
    return 0;
}

int qcow2_zero_range(Qcow2State *s, uint64_t offset, uint64_t bytes, int mode)
{
    uint64_t cs = s->cluster_size;
    uint64_t end = offset + bytes;
    uint64_t first = qcow2_align_up(offset, cs);
    uint64_t last = end & ~(cs - 1);
    bool has_backing = s->img->backing_file != NULL;
    int ret;

    if (end == s->img->size) {
        last = qcow2_align_up(end, cs);   /* the partial last cluster counts as whole */
    }
    if (mode == QCOW2_ZERO_WRITE) {
        /* Partial clusters, and v2 images with a backing file (no zero
         * flag), get real zeros. */
        if ((s->version < 3 && has_backing) || first >= last) {
            return qcow2_write_zeros(s, offset, bytes);
        }
        if (offset < first) {
            ret = qcow2_write_zeros(s, offset, first - offset);
            if (ret < 0) {
                return ret;
            }
        }
        if (last < end) {
            ret = qcow2_write_zeros(s, last, end - last);
            if (ret < 0) {
                return ret;
            }
        }
    }
    if (first >= last) {
        return 0;
    }
    uint64_t new_entry = 0;
    if ((mode == QCOW2_ZERO_WRITE && s->version >= 3) ||
        (mode == QCOW2_ZERO_DISCARD && s->version >= 3 && has_backing)) {
        new_entry = QCOW2_OFLAG_ZERO;
    }
    for (uint64_t pos = first; pos < last;) {
        uint64_t l1i = pos >> (s->cluster_bits + s->l2_bits);
        uint64_t l2i = (pos >> s->cluster_bits) & (s->l2_entries - 1);
        uint64_t n = MIN(s->l2_entries - l2i, (last - pos) >> s->cluster_bits);
        uint64_t l2off, *table;
        if (new_entry == 0 && qcow2_l2_offset(s, s->l1, s->l1_size, l1i) == 0) {
            pos += n * cs;
            continue;
        }
        ret = qcow2_get_l2_for_write(s, l1i, &l2off);
        if (ret < 0) {
            return ret;
        }
        ret = qcow2_cache_get(s->l2_cache, l2off, &table);
        if (ret < 0) {
            return ret;
        }
        uint64_t *old = g_new(uint64_t, n);
        uint64_t nold = 0;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t e = be64toh(table[l2i + i]);
            if (e == new_entry) {
                continue;
            }
            if (qcow2_l2e_valid(s, e)) {
                old[nold++] = e;
            }
            table[l2i + i] = htobe64(new_entry);
            qcow2_cache_mark_dirty(s->l2_cache, table);
        }
        qcow2_cache_put(s->l2_cache, &table);
        /* Freed clusters' refcounts drop after the L2 update (dependency set
         * in qcow2_update_refcount). */
        ret = 0;
        for (uint64_t i = 0; i < nold && ret == 0; i++) {
            ret = qcow2_free_l2_entry(s, old[i]);
        }
        g_free(old);
        if (ret < 0) {
            return ret;
        }
        pos += n * cs;
    }
    return 0;
}

int qcow2_flush_locked(Qcow2State *s)
{
    if (s->read_only) {
        return 0;
    }
    int ret = qcow2_cache_write(s->l2_cache);
    if (ret == 0) {
        ret = qcow2_cache_write(s->refblock_cache);
    }
    if (ret == 0) {
        ret = qcow2_cache_write(s->l2_cache);
    }
    if (ret == 0) {
        ret = qcow2_sync(s);
    }
    return ret;
}

int qcow2_block_status(BlkImage *img, uint64_t offset, uint64_t bytes, uint64_t *pnum,
                       uint64_t *host_offset, int *status);
int qcow2_block_status(BlkImage *img, uint64_t offset, uint64_t bytes, uint64_t *pnum,
                       uint64_t *host_offset, int *status)
{
    Qcow2State *s = img->opaque;
    uint64_t l2e;
    g_mutex_lock(&s->lock);
    int ret = qcow2_map(s, s->l1, s->l1_size, offset, bytes, &l2e, pnum);
    g_mutex_unlock(&s->lock);
    if (ret < 0) {
        return ret;
    }
    uint64_t in_cluster = offset & (s->cluster_size - 1);
    *host_offset = 0;
    switch (qcow2_cluster_type(s, l2e)) {
    case QCOW2_CLUSTER_UNALLOCATED:
        *status = 0;
        break;
    case QCOW2_CLUSTER_ZERO_PLAIN:
        *status = BLK_STATUS_ZERO | BLK_STATUS_ALLOCATED;
        break;
    case QCOW2_CLUSTER_ZERO_ALLOC:
        *status = BLK_STATUS_ZERO | BLK_STATUS_ALLOCATED | BLK_STATUS_OFFSET;
        *host_offset = (l2e & QCOW2_OFFSET_MASK) + in_cluster;
        break;
    case QCOW2_CLUSTER_NORMAL: {
        *status = BLK_STATUS_DATA | BLK_STATUS_ALLOCATED | BLK_STATUS_OFFSET;
        *host_offset = (l2e & QCOW2_OFFSET_MASK) + in_cluster;
        /* Like QEMU, report holes of the image file inside data clusters
         * as reading zeros. */
        off_t data = lseek(s->fd, (off_t)*host_offset, SEEK_DATA);
        if (data < 0 || (uint64_t)data >= *host_offset + *pnum) {
            if (data >= 0 || errno == ENXIO) {
                *status |= BLK_STATUS_ZERO;
            }
        } else if ((uint64_t)data > *host_offset) {
            *status |= BLK_STATUS_ZERO;
            *pnum = (uint64_t)data - *host_offset;
        } else {
            off_t hole = lseek(s->fd, (off_t)*host_offset, SEEK_HOLE);
            if (hole > 0 && (uint64_t)hole < *host_offset + *pnum) {
                *pnum = (uint64_t)hole - *host_offset;
            }
        }
        break;
    }
    case QCOW2_CLUSTER_COMPRESSED:
        *status = BLK_STATUS_DATA | BLK_STATUS_ALLOCATED | BLK_STATUS_COMPRESSED;
        break;
    }
    return 0;
}

int qcow2_write_compressed(BlkImage *img, uint64_t offset, const void *buf, size_t bytes);
int qcow2_write_compressed(BlkImage *img, uint64_t offset, const void *buf, size_t bytes)
{
    Qcow2State *s = img->opaque;
    uint64_t cs = s->cluster_size;
    if ((offset & (cs - 1)) || (bytes != cs && offset + bytes != img->size) || bytes > cs) {
        return -EINVAL;
    }
    g_autofree uint8_t *in = NULL;
    if (bytes < cs) {
        in = g_malloc0(cs);
        memcpy(in, buf, bytes);
        buf = in;
    }
    /* Compress outside the lock so that several threads compress at once. */
    g_autofree uint8_t *out = g_malloc(cs);
    ssize_t clen = qcow2_compress(s->compression_type, out, cs - 1, buf, cs);
    g_mutex_lock(&s->lock);
    int ret;
    if (clen < 0 || (uint64_t)clen + 512 > (s->csize_mask + 1) * 512) {
        /* Does not compress: store it as a normal cluster. */
        ret = qcow2_write_at(s, offset, buf, cs > img->size - offset ? img->size - offset : cs);
        goto out_unlock;
    }
    uint64_t l1i = offset >> (s->cluster_bits + s->l2_bits);
    uint64_t l2i = (offset >> s->cluster_bits) & (s->l2_entries - 1);
    uint64_t l2off, *table;
    ret = qcow2_get_l2_for_write(s, l1i, &l2off);
    if (ret < 0) {
        goto out_unlock;
    }
    int64_t host = qcow2_alloc_bytes(s, (uint64_t)clen);
    if (host < 0) {
        ret = (int)host;
        goto out_unlock;
    }
    ret = blk_pwrite_full(s->fd, out, (size_t)clen, (uint64_t)host);
    if (ret < 0) {
        goto out_unlock;
    }
    uint64_t sectors = (((uint64_t)host & 511) + (uint64_t)clen + 511) / 512;
    uint64_t entry = QCOW2_OFLAG_COMPRESSED | ((sectors - 1) << s->csize_shift) | (uint64_t)host;
    /* Compressed data and its refcounts go to disk before the L2 entry. */
    qcow2_cache_set_dependency(s->l2_cache, s->refblock_cache);
    ret = qcow2_cache_get(s->l2_cache, l2off, &table);
    if (ret < 0) {
        goto out_unlock;
    }
    uint64_t old = be64toh(table[l2i]);
    table[l2i] = htobe64(entry);
    qcow2_cache_mark_dirty(s->l2_cache, table);
    qcow2_cache_put(s->l2_cache, &table);
    if (qcow2_l2e_valid(s, old)) {
        ret = qcow2_free_l2_entry(s, old);
    }
out_unlock:
    g_mutex_unlock(&s->lock);
    return ret;
}
