/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qcow2 metadata transactions: snapshot create/apply/delete, resize and
 * refcount repair build the new L1/L2 tables, snapshot table and a complete
 * new set of refcount structures in free space past the end of the image, and
 * switch to them with one header write. A crash before that write leaves the
 * old image untouched (the new clusters are free space in it); after it, the
 * new image is complete and consistent. */
#include "storage/qcow2.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

struct Qcow2Txn {
    Qcow2State *s;
    uint64_t next;               /* next free cluster index, past everything in use */
    GArray *new_l2;              /* offsets of the fresh L2 copies */
    uint64_t *old_rc;            /* refcounts before the transaction; UINT64_MAX: taken */
    uint64_t old_n;
    uint64_t hole_cursor;        /* where to look for free clusters of the old state */
};

Qcow2Txn *qcow2_txn_begin(Qcow2State *s, bool trust_refcounts, int *ret)
{
    uint64_t *rc = NULL, n = 0;
    *ret = qcow2_flush_locked(s);
    if (*ret < 0) {
        return NULL;
    }
    Qcow2Txn *t = g_new0(Qcow2Txn, 1);
    t->s = s;
    t->new_l2 = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    t->next = s->file_end >> s->cluster_bits;
    if (qcow2_load_refcounts(s, &rc, &n) == 0) {
        for (uint64_t i = n; i > t->next; i--) {
            if (rc[i - 1] != 0) {
                t->next = i;
                break;
            }
        }
        t->old_rc = rc;
        /* Holes are only reused when the stored refcounts can be trusted
         * (not when repairing them). */
        t->old_n = trust_refcounts ? MIN(n, t->next) : 0;
        t->hole_cursor = 1;
    }
    return t;
}

void qcow2_txn_abort(Qcow2Txn *t)
{
    if (t == NULL) {
        return;
    }
    g_array_free(t->new_l2, TRUE);
    g_free(t->old_rc);
    g_free(t);
}

/* New metadata goes into clusters that are free in the old state (holes
 * first, then past the end), so that nothing live is overwritten before the
 * commit. */
int64_t qcow2_txn_alloc(Qcow2Txn *t, uint64_t count)
{
    for (uint64_t i = t->hole_cursor; t->old_rc && i + count <= t->old_n; i++) {
        uint64_t n = 0;
        while (n < count && t->old_rc[i + n] == 0) {
            n++;
        }
        if (n == count) {
            for (uint64_t j = 0; j < count; j++) {
                t->old_rc[i + j] = UINT64_MAX;
            }
            t->hole_cursor = i + count;
            return (int64_t)(i << t->s->cluster_bits);
        }
        i += n;
    }
    t->hole_cursor = t->old_n;
    uint64_t start = t->next;
    t->next += count;
    return (int64_t)(start << t->s->cluster_bits);
}

/* Give the active image fresh copies of the L2 tables of src_l1, dropping
 * guest clusters at or past keep_below. COPIED flags are set at commit. */
int qcow2_txn_copy_active(Qcow2Txn *t, const uint64_t *src_l1, uint32_t src_l1_size,
                          uint32_t new_l1_size, uint64_t keep_below, uint64_t **new_l1,
                          uint64_t *new_l1_offset)
{
    Qcow2State *s = t->s;
    uint64_t *l1 = g_new0(uint64_t, MAX(new_l1_size, 1));
    g_autofree uint64_t *table = g_malloc(s->cluster_size);
    int ret;

    for (uint32_t i = 0; i < MIN(src_l1_size, new_l1_size); i++) {
        uint64_t off = src_l1[i] & QCOW2_OFFSET_MASK;
        if (off == 0) {
            continue;
        }
        ret = blk_pread_full(s->fd, table, s->cluster_size, off);
        if (ret < 0) {
            goto out_free;
        }
        bool any = false;
        for (uint32_t j = 0; j < s->l2_entries; j++) {
            uint64_t e = be64toh(table[j]);
            uint64_t guest = (((uint64_t)i << s->l2_bits) + j) << s->cluster_bits;
            if (guest >= keep_below) {
                e = 0;
            }
            if (!(e & QCOW2_OFLAG_COMPRESSED)) {
                e &= ~QCOW2_OFLAG_COPIED;
            }
            table[j] = htobe64(e);
            any |= e != 0;
        }
        if (!any) {
            continue;
        }
        uint64_t noff = (uint64_t)qcow2_txn_alloc(t, 1);
        ret = blk_pwrite_full(s->fd, table, s->cluster_size, noff);
        if (ret < 0) {
            goto out_free;
        }
        g_array_append_val(t->new_l2, noff);
        l1[i] = noff;
    }
    *new_l1_offset = new_l1_size ? (uint64_t)qcow2_txn_alloc(
        t, qcow2_ceil_div((uint64_t)new_l1_size * 8, s->cluster_size)) : 0;
    *new_l1 = l1;
    return 0;

out_free:
    g_free(l1);
    return ret;
}

int qcow2_txn_write_snapshot_table(Qcow2Txn *t, const Qcow2Snapshot *sn, uint32_t nb,
                                   uint64_t *offset, uint64_t *size)
{
    Qcow2State *s = t->s;
    GByteArray *buf = g_byte_array_new();
    for (uint32_t i = 0; i < nb; i++) {
        uint8_t h[64] = { 0 };
        uint32_t id_len = (uint32_t)strlen(sn[i].id), name_len = (uint32_t)strlen(sn[i].name);
        uint32_t extra = 24 + sn[i].extra_unknown;
        uint64_t v64;
        uint32_t v32;
        uint16_t v16;
        v64 = htobe64(sn[i].l1_offset); memcpy(h + 0, &v64, 8);
        v32 = htobe32(sn[i].l1_size); memcpy(h + 8, &v32, 4);
        v16 = htobe16((uint16_t)id_len); memcpy(h + 12, &v16, 2);
        v16 = htobe16((uint16_t)name_len); memcpy(h + 14, &v16, 2);
        v32 = htobe32(sn[i].date_sec); memcpy(h + 16, &v32, 4);
        v32 = htobe32(sn[i].date_nsec); memcpy(h + 20, &v32, 4);
        v64 = htobe64(sn[i].vm_clock_nsec); memcpy(h + 24, &v64, 8);
        v32 = htobe32(sn[i].vm_state_size > UINT32_MAX ? 0 : (uint32_t)sn[i].vm_state_size);
        memcpy(h + 32, &v32, 4);
        v32 = htobe32(extra); memcpy(h + 36, &v32, 4);
        v64 = htobe64(sn[i].vm_state_size); memcpy(h + 40, &v64, 8);
        v64 = htobe64(sn[i].disk_size); memcpy(h + 48, &v64, 8);
        v64 = htobe64(sn[i].icount); memcpy(h + 56, &v64, 8);
        g_byte_array_append(buf, h, 64);
        if (sn[i].extra_unknown) {
            g_byte_array_append(buf, sn[i].extra, sn[i].extra_unknown);
        }
        g_byte_array_append(buf, (const uint8_t *)sn[i].id, id_len);
        g_byte_array_append(buf, (const uint8_t *)sn[i].name, name_len);
        static const uint8_t pad[8];
        g_byte_array_append(buf, pad, (guint)(qcow2_align_up(buf->len, 8) - buf->len));
    }
    int ret = 0;
    *offset = 0;
    *size = buf->len;
    if (nb > 0) {
        *offset = (uint64_t)qcow2_txn_alloc(t, qcow2_ceil_div(buf->len, s->cluster_size));
        ret = blk_pwrite_full(s->fd, buf->data, buf->len, *offset);
    }
    g_byte_array_free(buf, TRUE);
    return ret;
}

static bool qcow2_txn_is_new_l2(Qcow2Txn *t, uint64_t off)
{
    for (guint i = 0; i < t->new_l2->len; i++) {
        if (g_array_index(t->new_l2, uint64_t, i) == off) {
            return true;
        }
    }
    return false;
}

/* Set COPIED exactly where the new refcount is 1, in the fresh copies only. */
static int qcow2_txn_fix_flags(Qcow2Txn *t, const uint64_t *refs, uint64_t n, uint64_t *l1,
                               uint32_t l1_size)
{
    Qcow2State *s = t->s;
    g_autofree uint64_t *table = g_malloc(s->cluster_size);
    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t off = l1[i] & QCOW2_OFFSET_MASK;
        if (off == 0 || !qcow2_txn_is_new_l2(t, off)) {
            continue;
        }
        l1[i] |= QCOW2_OFLAG_COPIED;
        int ret = blk_pread_full(s->fd, table, s->cluster_size, off);
        if (ret < 0) {
            return ret;
        }
        for (uint32_t j = 0; j < s->l2_entries; j++) {
            uint64_t e = be64toh(table[j]);
            Qcow2ClusterType type = qcow2_cluster_type(s, e);
            if (type == QCOW2_CLUSTER_NORMAL || type == QCOW2_CLUSTER_ZERO_ALLOC) {
                uint64_t c = (e & QCOW2_OFFSET_MASK) >> s->cluster_bits;
                if (c < n && refs[c] == 1) {
                    table[j] = htobe64(e | QCOW2_OFLAG_COPIED);
                }
            }
        }
        ret = blk_pwrite_full(s->fd, table, s->cluster_size, off);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

static int qcow2_txn_write_refcounts(Qcow2Txn *t, Qcow2Walk *w, uint64_t *table_offset,
                                     uint64_t *table_clusters, uint64_t **table_out,
                                     uint64_t *entries_out)
{
    Qcow2State *s = t->s;
    uint64_t per_block = 1ull << s->refblock_bits;
    uint64_t start = MAX(t->next, w->used);
    uint64_t blocks = 1, tclusters = 1;
    int ret;

    for (;;) {
        uint64_t nb = qcow2_ceil_div(start + blocks + tclusters, per_block);
        uint64_t nt = qcow2_ceil_div(nb * 8, s->cluster_size);
        if (nb <= blocks && nt <= tclusters) {
            break;
        }
        blocks = MAX(blocks, nb);
        tclusters = MAX(tclusters, nt);
    }
    if (tclusters << s->cluster_bits > QCOW2_MAX_REFTABLE_BYTES) {
        return -EFBIG;
    }
    uint64_t total = start + blocks + tclusters;
    if (total > w->nclusters) {
        w->refs = g_realloc_n(w->refs, total, sizeof(uint64_t));
        memset(w->refs + w->nclusters, 0, (total - w->nclusters) * sizeof(uint64_t));
        w->nclusters = total;
    }
    for (uint64_t c = start; c < total; c++) {
        w->refs[c] = 1;
    }
    w->used = total;
    for (uint64_t c = 0; c < total; c++) {
        if (w->refs[c] > s->refcount_max) {
            return -ERANGE;
        }
    }
    uint64_t entries = (tclusters << s->cluster_bits) / 8;
    uint64_t *table = g_new0(uint64_t, entries);
    g_autofree uint8_t *block = g_malloc(s->cluster_size);
    for (uint64_t b = 0; b < blocks; b++) {
        memset(block, 0, s->cluster_size);
        for (uint64_t i = 0; i < per_block && b * per_block + i < total; i++) {
            qcow2_refcount_write_entry(s, block, i, w->refs[b * per_block + i]);
        }
        uint64_t off = (start + b) << s->cluster_bits;
        ret = blk_pwrite_full(s->fd, block, s->cluster_size, off);
        if (ret < 0) {
            g_free(table);
            return ret;
        }
        table[b] = htobe64(off);
    }
    *table_offset = (start + blocks) << s->cluster_bits;
    ret = blk_pwrite_full(s->fd, table, entries * 8, *table_offset);
    if (ret < 0) {
        g_free(table);
        return ret;
    }
    for (uint64_t i = 0; i < entries; i++) {
        table[i] = be64toh(table[i]);
    }
    *table_clusters = tclusters;
    *table_out = table;
    *entries_out = entries;
    t->next = total;
    return 0;
}

/* Commit: new_l1 and sn always pass to the commit (the caller never frees
 * them). Before the commit point a failure frees them and leaves the image
 * unchanged; after it (the header write failing) the state holds them. */
int qcow2_txn_commit(Qcow2Txn *t, uint64_t new_size, uint64_t *new_l1, uint32_t new_l1_size,
                     uint64_t new_l1_offset, Qcow2Snapshot *sn, uint32_t nb_sn,
                     uint64_t sn_offset, uint64_t sn_size, GError **errp)
{
    Qcow2State *s = t->s;
    BlkCheckResult res = { 0 };
    Qcow2Walk w = { .res = &res, .file_limit = t->next << s->cluster_bits };
    uint64_t *reftable = NULL, rt_offset = 0, rt_clusters = 0, rt_entries = 0;
    const char *fn = s->img->filename;
    int ret;

    ret = qcow2_walk_references(s, &w, new_l1, new_l1_size, new_l1_offset, sn, nb_sn,
                                sn_offset, sn_size, false);
    if (ret == 0 && (res.corruptions || res.check_errors)) {
        ret = -EIO;
    }
    if (ret < 0) {
        g_set_error(errp, BLK_ERROR, -ret, "'%s': the image metadata is inconsistent; "
                    "nothing was changed", fn);
        goto out_free;
    }
    ret = qcow2_txn_fix_flags(t, w.refs, w.nclusters, new_l1, new_l1_size);
    if (ret == 0 && new_l1_size > 0) {
        g_autofree uint64_t *be = g_new(uint64_t, new_l1_size);
        for (uint32_t i = 0; i < new_l1_size; i++) {
            be[i] = htobe64(new_l1[i]);
        }
        ret = blk_pwrite_full(s->fd, be, (size_t)new_l1_size * 8, new_l1_offset);
    }
    if (ret == 0) {
        ret = qcow2_txn_write_refcounts(t, &w, &rt_offset, &rt_clusters, &reftable, &rt_entries);
        if (ret == -ERANGE) {
            g_set_error(errp, BLK_ERROR, ERANGE, "'%s': a refcount would overflow %u bits",
                        fn, s->refcount_bits);
            goto out_free;
        }
    }
    if (ret == 0) {
        /* Everything the new header points at is stable before the header. */
        ret = qcow2_sync(s);
    }
    if (ret < 0) {
        g_set_error(errp, BLK_ERROR, -ret, "'%s': could not write metadata: %s", fn,
                    g_strerror(-ret));
        goto out_free;
    }
    g_free(s->l1);
    g_free(s->reftable);
    qcow2_snapshots_free(s->snapshots, s->nb_snapshots);
    s->img->size = new_size;
    s->l1 = new_l1;
    s->l1_size = new_l1_size;
    s->l1_offset = new_l1_offset;
    s->reftable = reftable;
    s->reftable_entries = (uint32_t)rt_entries;
    s->reftable_offset = rt_offset;
    s->reftable_clusters = (uint32_t)rt_clusters;
    s->snapshots = sn;
    s->nb_snapshots = nb_sn;
    s->snapshots_offset = sn_offset;
    s->snapshots_size = sn_size;
    qcow2_cache_invalidate(s->l2_cache);
    qcow2_cache_invalidate(s->refblock_cache);
    s->free_cluster_index = 0;
    s->free_byte_offset = 0;
    s->cached_compressed_valid = false;
    s->file_end = MAX(s->file_end, t->next << s->cluster_bits);
    /* The commit point. */
    ret = qcow2_write_header_pointers(s);
    if (ret < 0) {
        g_set_error(errp, BLK_ERROR, -ret, "'%s': could not write the header: %s", fn,
                    g_strerror(-ret));
    }
    g_free(w.refs);
    qcow2_txn_abort(t);
    return ret;

out_free:
    g_free(w.refs);
    g_free(reftable);
    g_free(new_l1);
    qcow2_snapshots_free(sn, nb_sn);
    qcow2_txn_abort(t);
    return ret;
}
