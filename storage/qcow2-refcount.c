/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qcow2 refcounts: reading and updating refcount blocks of any width (1-64
 * bits), creating refcount blocks, growing the refcount table, and allocating
 * host clusters (whole clusters and byte ranges for compressed data). */
#include "storage/qcow2.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

uint64_t qcow2_refcount_read_entry(const Qcow2State *s, const void *block, uint64_t index)
{
    const uint8_t *b = block;
    switch (s->refcount_order) {
    case 0: case 1: case 2: {
        uint32_t bits = s->refcount_bits;
        uint32_t per_byte = 8 / bits;
        uint8_t byte = b[index / per_byte];
        return (byte >> ((index % per_byte) * bits)) & ((1u << bits) - 1);
    }
    case 3: return b[index];
    case 4: { uint16_t v; memcpy(&v, b + index * 2, 2); return be16toh(v); }
    case 5: { uint32_t v; memcpy(&v, b + index * 4, 4); return be32toh(v); }
    default: { uint64_t v; memcpy(&v, b + index * 8, 8); return be64toh(v); }
    }
}

void qcow2_refcount_write_entry(const Qcow2State *s, void *block, uint64_t index, uint64_t v)
{
    uint8_t *b = block;
    switch (s->refcount_order) {
    case 0: case 1: case 2: {
        uint32_t bits = s->refcount_bits;
        uint32_t per_byte = 8 / bits;
        uint32_t shift = (uint32_t)(index % per_byte) * bits;
        uint8_t mask = (uint8_t)(((1u << bits) - 1) << shift);
        b[index / per_byte] = (uint8_t)((b[index / per_byte] & ~mask) | ((v << shift) & mask));
        break;
    }
    case 3: b[index] = (uint8_t)v; break;
    case 4: { uint16_t x = htobe16((uint16_t)v); memcpy(b + index * 2, &x, 2); break; }
    case 5: { uint32_t x = htobe32((uint32_t)v); memcpy(b + index * 4, &x, 4); break; }
    default: { uint64_t x = htobe64(v); memcpy(b + index * 8, &x, 8); break; }
    }
}

static uint64_t qcow2_refblock_offset(const Qcow2State *s, uint64_t table_index)
{
    if (table_index >= s->reftable_entries) {
        return 0;
    }
    return s->reftable[table_index] & ~QCOW2_REFT_RESERVED;
}

int qcow2_get_refcount(Qcow2State *s, uint64_t cluster_index, uint64_t *refcount)
{
    uint64_t block = qcow2_refblock_offset(s, cluster_index >> s->refblock_bits);
    uint64_t *table;
    if (block == 0) {
        *refcount = 0;
        return 0;
    }
    int ret = qcow2_cache_get(s->refblock_cache, block, &table);
    if (ret < 0) {
        return ret;
    }
    *refcount = qcow2_refcount_read_entry(s, table,
                                          cluster_index & ((1ull << s->refblock_bits) - 1));
    qcow2_cache_put(s->refblock_cache, &table);
    return 0;
}

/* Grow the refcount table so that it has at least min_entries entries.
 * Every cluster from the first range no refcount block covers onwards is
 * free, so the new blocks and table go there, describing themselves. */
static int qcow2_grow_reftable(Qcow2State *s, uint64_t min_entries)
{
    uint64_t per_block = 1ull << s->refblock_bits;
    uint64_t old_entries = s->reftable_entries;
    uint64_t region = old_entries * per_block;       /* first cluster index */
    uint64_t entries = MAX(min_entries, old_entries + old_entries / 2 + 1);
    uint64_t table_clusters, blocks = 1;
    int ret;

    for (;;) {
        table_clusters = qcow2_ceil_div(entries * 8, s->cluster_size);
        while (blocks * per_block < blocks + table_clusters) {
            blocks++;
        }
        if (entries >= old_entries + blocks) {
            break;
        }
        entries = old_entries + blocks;
    }
    entries = table_clusters * s->cluster_size / 8;
    if (table_clusters * s->cluster_size > QCOW2_MAX_REFTABLE_BYTES) {
        return -EFBIG;
    }

    uint64_t used = blocks + table_clusters;
    g_autofree uint8_t *block = g_malloc(s->cluster_size);
    for (uint64_t b = 0; b < blocks; b++) {
        memset(block, 0, s->cluster_size);
        for (uint64_t i = 0; i < per_block && b * per_block + i < used; i++) {
            qcow2_refcount_write_entry(s, block, i, 1);
        }
        ret = blk_pwrite_full(s->fd, block, s->cluster_size,
                              (region + b) << s->cluster_bits);
        if (ret < 0) {
            return ret;
        }
    }
    uint64_t *table = g_new0(uint64_t, entries);
    for (uint64_t i = 0; i < old_entries; i++) {
        table[i] = htobe64(s->reftable[i]);
    }
    for (uint64_t b = 0; b < blocks; b++) {
        table[old_entries + b] = htobe64((region + b) << s->cluster_bits);
    }
    uint64_t table_offset = (region + blocks) << s->cluster_bits;
    ret = blk_pwrite_full(s->fd, table, entries * 8, table_offset);
    if (ret == 0) {
        /* The new blocks and table are on disk before the header points at them. */
        ret = qcow2_sync(s);
    }
    if (ret < 0) {
        g_free(table);
        return ret;
    }
    uint64_t old_offset = s->reftable_offset;
    uint64_t old_clusters = s->reftable_clusters;
    for (uint64_t i = 0; i < entries; i++) {
        table[i] = be64toh(table[i]);
    }
    g_free(s->reftable);
    s->reftable = table;
    s->reftable_entries = (uint32_t)entries;
    s->reftable_offset = table_offset;
    s->reftable_clusters = (uint32_t)table_clusters;
    s->file_end = MAX(s->file_end, (region + used) << s->cluster_bits);
    ret = qcow2_write_header_pointers(s);
    if (ret < 0) {
        return ret;
    }
    /* Only once the header points at the new table is the old one freed. */
    return qcow2_update_refcount(s, old_offset, old_clusters << s->cluster_bits, -1);
}

/* Make sure refcount block table_index exists. A missing block means every
 * cluster it would cover is free, so it is placed on the first of them and
 * counts itself. Returns 1 when a block was created. */
static int qcow2_ensure_refblock(Qcow2State *s, uint64_t table_index)
{
    int ret;
    if (table_index >= s->reftable_entries) {
        ret = qcow2_grow_reftable(s, table_index + 1);
        if (ret < 0) {
            return ret;
        }
    }
    if (qcow2_refblock_offset(s, table_index) != 0) {
        return 0;
    }
    uint64_t offset = (table_index << s->refblock_bits) << s->cluster_bits;
    uint64_t *block;
    ret = qcow2_cache_get_empty(s->refblock_cache, offset, &block);
    if (ret < 0) {
        return ret;
    }
    qcow2_refcount_write_entry(s, block, 0, 1);
    ret = blk_pwrite_full(s->fd, block, s->cluster_size, offset);
    qcow2_cache_put(s->refblock_cache, &block);
    if (ret == 0) {
        /* The block is on disk before the refcount table entry points at it. */
        ret = qcow2_sync(s);
    }
    if (ret < 0) {
        qcow2_cache_discard(s->refblock_cache, offset);
        return ret;
    }
    uint64_t be = htobe64(offset);
    ret = blk_pwrite_full(s->fd, &be, 8, s->reftable_offset + table_index * 8);
    if (ret < 0) {
        return ret;
    }
    s->reftable[table_index] = offset;
    s->file_end = MAX(s->file_end, offset + s->cluster_size);
    return 1;
}

int qcow2_update_refcount(Qcow2State *s, uint64_t offset, uint64_t bytes, int64_t delta)
{
    if (bytes == 0) {
        return 0;
    }
    uint64_t first = offset >> s->cluster_bits;
    uint64_t last = (offset + bytes - 1) >> s->cluster_bits;
    uint64_t *block = NULL;
    uint64_t block_offset = 0;
    int ret = 0;

    if (delta < 0) {
        /* Refcount decreases reach the disk only after the L2 entries that
         * dropped the references. */
        qcow2_cache_set_dependency(s->refblock_cache, s->l2_cache);
    }
    for (uint64_t c = first; c <= last; c++) {
        uint64_t ti = c >> s->refblock_bits;
        if (delta > 0) {
            ret = qcow2_ensure_refblock(s, ti);
            if (ret < 0) {
                break;
            }
        }
        uint64_t bo = qcow2_refblock_offset(s, ti);
        if (bo == 0) {
            ret = -EIO;   /* freeing a cluster no refcount block covers */
            break;
        }
        if (bo != block_offset) {
            if (block != NULL) {
                qcow2_cache_put(s->refblock_cache, &block);
            }
            ret = qcow2_cache_get(s->refblock_cache, bo, &block);
            if (ret < 0) {
                break;
            }
            block_offset = bo;
        }
        uint64_t idx = c & ((1ull << s->refblock_bits) - 1);
        uint64_t rc = qcow2_refcount_read_entry(s, block, idx);
        if ((delta < 0 && rc < (uint64_t)-delta) ||
            (delta > 0 && s->refcount_max - rc < (uint64_t)delta)) {
            ret = delta < 0 ? -EIO : -ERANGE;
            break;
        }
        rc += (uint64_t)delta;
        qcow2_refcount_write_entry(s, block, idx, rc);
        qcow2_cache_mark_dirty(s->refblock_cache, block);
        if (rc == 0) {
            s->free_cluster_index = MIN(s->free_cluster_index, c);
            qcow2_cache_discard(s->l2_cache, c << s->cluster_bits);
            if (s->free_byte_offset >> s->cluster_bits == c) {
                s->free_byte_offset = 0;
            }
        }
    }
    if (block != NULL) {
        qcow2_cache_put(s->refblock_cache, &block);
    }
    return ret;
}

/* Allocate up to count contiguous free clusters; *allocated says how many.
 * Their refcounts are raised (in the cache) before this returns. */
int64_t qcow2_alloc_clusters(Qcow2State *s, uint64_t count, uint64_t *allocated)
{
    int ret;
    for (;;) {
        uint64_t start = s->free_cluster_index, rc;
        for (;; start++) {
            ret = qcow2_get_refcount(s, start, &rc);
            if (ret < 0) {
                return ret;
            }
            if (rc == 0) {
                break;
            }
        }
        uint64_t n = 1;
        while (n < count) {
            ret = qcow2_get_refcount(s, start + n, &rc);
            if (ret < 0) {
                return ret;
            }
            if (rc != 0) {
                break;
            }
            n++;
        }
        /* Refcount blocks for the run; a new block may land inside it. */
        bool restart = false;
        for (uint64_t ti = start >> s->refblock_bits; ti <= (start + n - 1) >> s->refblock_bits;
             ti++) {
            ret = qcow2_ensure_refblock(s, ti);
            if (ret < 0) {
                return ret;
            }
            if (ret > 0) {
                restart = true;
            }
        }
        if (restart) {
            continue;
        }
        if (start + n > (1ull << (56 - s->cluster_bits))) {
            return -EFBIG;
        }
        ret = qcow2_update_refcount(s, start << s->cluster_bits, n << s->cluster_bits, 1);
        if (ret < 0) {
            return ret;
        }
        s->free_cluster_index = start + n;
        uint64_t end = (start + n) << s->cluster_bits;
        if (end > s->file_end) {
            /* Keep every referenced cluster inside the file (qemu-img check
             * counts references past the end as corruption). */
            if (ftruncate(s->fd, (off_t)end) < 0) {
                return -errno;
            }
            s->file_end = end;
        }
        *allocated = n;
        return (int64_t)(start << s->cluster_bits);
    }
}

/* Byte-granular allocation for compressed clusters. Every compressed cluster
 * holds one reference to each host cluster its sectors touch. */
int64_t qcow2_alloc_bytes(Qcow2State *s, uint64_t bytes)
{
    uint64_t cs = s->cluster_size, n;
    uint64_t cur = s->free_byte_offset;
    int ret;

    if (cur != 0 && (cur & (cs - 1)) != 0) {
        uint64_t space = cs - (cur & (cs - 1));
        if (bytes <= space) {
            ret = qcow2_update_refcount(s, cur & ~(cs - 1), 1, 1);
            if (ret < 0) {
                return ret;
            }
            s->free_byte_offset = cur + bytes;
            return (int64_t)cur;
        }
    }
    int64_t fresh = qcow2_alloc_clusters(s, 1, &n);
    if (fresh < 0) {
        return fresh;
    }
    if (cur != 0 && (cur & (cs - 1)) != 0 && (uint64_t)fresh == qcow2_align_up(cur, cs)) {
        /* The data spans into the following cluster. */
        ret = qcow2_update_refcount(s, cur & ~(cs - 1), 1, 1);
        if (ret < 0) {
            return ret;
        }
        s->free_byte_offset = cur + bytes;
        return (int64_t)cur;
    }
    s->free_byte_offset = (uint64_t)fresh + bytes;
    return fresh;
}

/* Drop the reference an L2 entry held on its host cluster(s). */
int qcow2_free_l2_entry(Qcow2State *s, uint64_t l2e)
{
    uint64_t off, bytes;
    switch (qcow2_cluster_type(s, l2e)) {
    case QCOW2_CLUSTER_NORMAL:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        return qcow2_update_refcount(s, l2e & QCOW2_OFFSET_MASK, s->cluster_size, -1);
    case QCOW2_CLUSTER_COMPRESSED:
        qcow2_compressed_extent(s, l2e, &off, &bytes);
        s->cached_compressed_valid = false;
        return qcow2_update_refcount(s, off & ~511ull, (off & 511) + bytes, -1);
    default:
        return 0;
    }
}

/* Read every refcount into an array indexed by cluster (for checks and
 * transactions). The array covers the file and every refcount block. */
int qcow2_load_refcounts(Qcow2State *s, uint64_t **counts, uint64_t *nclusters)
{
    uint64_t per_block = 1ull << s->refblock_bits;
    uint64_t n = s->file_end >> s->cluster_bits;
    for (uint64_t i = 0; i < s->reftable_entries; i++) {
        if (qcow2_refblock_offset(s, i) != 0) {
            n = MAX(n, (i + 1) * per_block);
        }
    }
    uint64_t *rc = g_try_new0(uint64_t, MAX(n, 1));
    if (rc == NULL) {
        return -ENOMEM;
    }
    g_autofree uint8_t *block = g_malloc(s->cluster_size);
    for (uint64_t i = 0; i < s->reftable_entries; i++) {
        uint64_t bo = qcow2_refblock_offset(s, i);
        if (bo == 0) {
            continue;
        }
        int ret = blk_pread_full(s->fd, block, s->cluster_size, bo);
        if (ret < 0) {
            g_free(rc);
            return ret;
        }
        for (uint64_t j = 0; j < per_block && i * per_block + j < n; j++) {
            rc[i * per_block + j] = qcow2_refcount_read_entry(s, block, j);
        }
    }
    *counts = rc;
    *nclusters = n;
    return 0;
}
