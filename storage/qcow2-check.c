/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qcow2 consistency: walk every reference in the image (header, L1/L2 tables,
 * snapshots, refcount structures), compare with the stored refcounts and
 * COPIED flags, and repair by rebuilding the refcount structures. */
#include "storage/qcow2.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define WALK_ERROR(w, ...) \
    do { (w)->res->corruptions++; if ((w)->verbose) fprintf(stderr, __VA_ARGS__); } while (0)

static void qcow2_walk_inc(Qcow2State *s, Qcow2Walk *w, uint64_t offset, uint64_t bytes)
{
    if (bytes == 0) {
        return;
    }
    if (offset > w->file_limit || offset + bytes > w->file_limit + s->cluster_size - 1) {
        WALK_ERROR(w, "ERROR: counting reference for region exceeding the end of the file "
                   "by one cluster or more: offset 0x%" PRIx64 " size 0x%" PRIx64 "\n",
                   offset, bytes);
        return;
    }
    uint64_t first = offset >> s->cluster_bits;
    uint64_t last = (offset + bytes - 1) >> s->cluster_bits;
    if (last >= w->nclusters) {
        uint64_t n = MAX(last + 1, w->nclusters * 2);
        w->refs = g_realloc_n(w->refs, n, sizeof(uint64_t));
        memset(w->refs + w->nclusters, 0, (n - w->nclusters) * sizeof(uint64_t));
        w->nclusters = n;
    }
    for (uint64_t c = first; c <= last; c++) {
        w->refs[c]++;
    }
    w->used = MAX(w->used, last + 1);
}

static int qcow2_walk_l2(Qcow2State *s, Qcow2Walk *w, uint64_t l2off, bool active,
                         uint64_t *last_host)
{
    g_autofree uint64_t *table = g_malloc(s->cluster_size);
    int ret = blk_pread_full(s->fd, table, s->cluster_size, l2off);
    if (ret < 0) {
        w->res->check_errors++;
        return ret;
    }
    for (uint32_t j = 0; j < s->l2_entries; j++) {
        uint64_t e = be64toh(table[j]), off, bytes;
        switch (qcow2_cluster_type(s, e)) {
        case QCOW2_CLUSTER_COMPRESSED:
            qcow2_compressed_extent(s, e, &off, &bytes);
            qcow2_walk_inc(s, w, off & ~511ull, (off & 511) + bytes);
            if (active) {
                w->res->allocated_clusters++;
                w->res->compressed_clusters++;
                w->res->fragmented_clusters++;
            }
            break;
        case QCOW2_CLUSTER_NORMAL:
        case QCOW2_CLUSTER_ZERO_ALLOC:
            off = e & QCOW2_OFFSET_MASK;
            if (e & QCOW2_L2E_RESERVED) {
                WALK_ERROR(w, "ERROR: reserved bits set in L2 entry 0x%" PRIx64 "\n", e);
                break;
            }
            qcow2_walk_inc(s, w, off, s->cluster_size);
            if (active) {
                w->res->allocated_clusters++;
                if (*last_host && off != *last_host + s->cluster_size) {
                    w->res->fragmented_clusters++;
                }
                *last_host = off;
            }
            break;
        case QCOW2_CLUSTER_UNALLOCATED:
            if (e & ~QCOW2_OFLAG_COPIED ? false : (e & QCOW2_OFLAG_COPIED) != 0) {
                WALK_ERROR(w, "ERROR: invalid L2 entry 0x%" PRIx64 "\n", e);
            }
            break;
        default:
            break;
        }
    }
    return 0;
}

static int qcow2_walk_l1(Qcow2State *s, Qcow2Walk *w, const uint64_t *l1, uint32_t l1_size,
                         bool active)
{
    uint64_t last_host = 0;
    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t off = l1[i] & QCOW2_OFFSET_MASK;
        if (off == 0) {
            continue;
        }
        if (l1[i] & QCOW2_L1E_RESERVED) {
            WALK_ERROR(w, "ERROR: reserved bits set in L1 entry %u\n", i);
            continue;
        }
        if (off < s->cluster_size || off + s->cluster_size > w->file_limit + s->cluster_size - 1) {
            WALK_ERROR(w, "ERROR: L2 table offset 0x%" PRIx64 " invalid\n", off);
            continue;
        }
        qcow2_walk_inc(s, w, off, s->cluster_size);
        int ret = qcow2_walk_l2(s, w, off, active, &last_host);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

int qcow2_read_l1(Qcow2State *s, uint64_t offset, uint32_t size, uint64_t **l1)
{
    if ((uint64_t)size * 8 > QCOW2_MAX_L1_BYTES || (offset & (s->cluster_size - 1)) ||
        (size > 0 && offset < s->cluster_size)) {
        return -EINVAL;
    }
    uint64_t *t = g_new0(uint64_t, MAX(size, 1));
    int ret = size ? blk_pread_full(s->fd, t, (size_t)size * 8, offset) : 0;
    if (ret < 0) {
        g_free(t);
        return ret;
    }
    for (uint32_t i = 0; i < size; i++) {
        t[i] = be64toh(t[i]);
    }
    *l1 = t;
    return 0;
}

int qcow2_walk_references(Qcow2State *s, Qcow2Walk *w, const uint64_t *l1, uint32_t l1_size,
                          uint64_t l1_offset, const Qcow2Snapshot *sn, uint32_t nb_sn,
                          uint64_t sn_offset, uint64_t sn_size, bool include_refcount_structures)
{
    int ret;
    if (w->file_limit == 0) {
        struct stat st;
        w->file_limit = fstat(s->fd, &st) == 0 ? (uint64_t)st.st_size : s->file_end;
    }
    qcow2_walk_inc(s, w, 0, s->cluster_size);
    qcow2_walk_inc(s, w, l1_offset, (uint64_t)l1_size * 8);
    ret = qcow2_walk_l1(s, w, l1, l1_size, true);
    if (ret < 0) {
        return ret;
    }
    for (uint32_t i = 0; i < nb_sn; i++) {
        uint64_t *sl1;
        ret = qcow2_read_l1(s, sn[i].l1_offset, sn[i].l1_size, &sl1);
        if (ret < 0) {
            WALK_ERROR(w, "ERROR: snapshot %s has an invalid L1 table\n", sn[i].id);
            continue;
        }
        qcow2_walk_inc(s, w, sn[i].l1_offset, (uint64_t)sn[i].l1_size * 8);
        ret = qcow2_walk_l1(s, w, sl1, sn[i].l1_size, false);
        g_free(sl1);
        if (ret < 0) {
            return ret;
        }
    }
    if (nb_sn > 0) {
        qcow2_walk_inc(s, w, sn_offset, sn_size);
    }
    if (include_refcount_structures) {
        qcow2_walk_inc(s, w, s->reftable_offset,
                       (uint64_t)s->reftable_clusters << s->cluster_bits);
        for (uint32_t i = 0; i < s->reftable_entries; i++) {
            uint64_t off = s->reftable[i] & ~QCOW2_REFT_RESERVED;
            if (off != 0) {
                qcow2_walk_inc(s, w, off, s->cluster_size);
            }
        }
    }
    return 0;
}

/* COPIED must be set exactly where the refcount is 1, in the active tables. */
static void qcow2_check_copied(Qcow2State *s, const uint64_t *rc, uint64_t n, BlkCheckResult *res)
{
    g_autofree uint64_t *table = g_malloc(s->cluster_size);
    for (uint32_t i = 0; i < s->l1_size; i++) {
        uint64_t off = s->l1[i] & QCOW2_OFFSET_MASK;
        if (off == 0) {
            continue;
        }
        uint64_t c = off >> s->cluster_bits;
        uint64_t r = c < n ? rc[c] : 0;
        if ((r == 1) != ((s->l1[i] & QCOW2_OFLAG_COPIED) != 0)) {
            fprintf(stderr, "ERROR OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%" PRIx64
                    " refcount=%" PRIu64 "\n", i, s->l1[i], r);
            res->corruptions++;
        }
        if (blk_pread_full(s->fd, table, s->cluster_size, off) < 0) {
            res->check_errors++;
            continue;
        }
        for (uint32_t j = 0; j < s->l2_entries; j++) {
            uint64_t e = be64toh(table[j]);
            Qcow2ClusterType type = qcow2_cluster_type(s, e);
            if (type != QCOW2_CLUSTER_NORMAL && type != QCOW2_CLUSTER_ZERO_ALLOC) {
                continue;
            }
            uint64_t d = (e & QCOW2_OFFSET_MASK) >> s->cluster_bits;
            r = d < n ? rc[d] : 0;
            if ((r == 1) != ((e & QCOW2_OFLAG_COPIED) != 0)) {
                fprintf(stderr, "ERROR OFLAG_COPIED data cluster: l2_entry=%" PRIx64
                        " refcount=%" PRIu64 "\n", e, r);
                res->corruptions++;
            }
        }
    }
}

static int qcow2_check_locked(Qcow2State *s, BlkCheckResult *res, bool verbose)
{
    uint64_t *rc = NULL, n = 0;
    Qcow2Walk w = { .res = res, .verbose = verbose };
    int ret = qcow2_load_refcounts(s, &rc, &n);
    if (ret < 0) {
        res->check_errors++;
        return ret;
    }
    ret = qcow2_walk_references(s, &w, s->l1, s->l1_size, s->l1_offset, s->snapshots,
                                s->nb_snapshots, s->snapshots_offset, s->snapshots_size, true);
    if (ret < 0) {
        res->check_errors++;
    }
    uint64_t highest = 0;
    for (uint64_t i = 0; i < MAX(n, w.used); i++) {
        uint64_t r = i < n ? rc[i] : 0;
        uint64_t ref = i < w.used ? w.refs[i] : 0;
        if (ref > 0) {
            highest = i + 1;
        }
        if (r > ref) {
            if (verbose) {
                fprintf(stderr, "Leaked cluster %" PRIu64 " refcount=%" PRIu64 " reference=%"
                        PRIu64 "\n", i, r, ref);
            }
            res->leaks++;
        } else if (r < ref) {
            if (verbose) {
                fprintf(stderr, "ERROR cluster %" PRIu64 " refcount=%" PRIu64 " reference=%"
                        PRIu64 "\n", i, r, ref);
            }
            res->corruptions++;
        }
    }
    if (verbose || true) {
        qcow2_check_copied(s, rc, n, res);
    }
    res->image_end_offset = highest << s->cluster_bits;
    res->total_clusters = qcow2_ceil_div(s->img->size, s->cluster_size);
    g_free(rc);
    g_free(w.refs);
    return 0;
}

/* Rebuild every refcount (and the active COPIED flags) from the references. */
int qcow2_rebuild_refcounts(Qcow2State *s, GError **errp)
{
    int ret;
    uint64_t *l1, l1_offset;
    Qcow2Txn *t = qcow2_txn_begin(s, false, &ret);
    if (t == NULL) {
        g_set_error(errp, BLK_ERROR, -ret, "'%s': %s", s->img->filename, g_strerror(-ret));
        return ret;
    }
    ret = qcow2_txn_copy_active(t, s->l1, s->l1_size, s->l1_size, UINT64_MAX, &l1, &l1_offset);
    if (ret < 0) {
        qcow2_txn_abort(t);
        g_set_error(errp, BLK_ERROR, -ret, "'%s': %s", s->img->filename, g_strerror(-ret));
        return ret;
    }
    Qcow2Snapshot *sn = qcow2_snapshots_dup(s->snapshots, s->nb_snapshots);
    ret = qcow2_txn_commit(t, s->img->size, l1, s->l1_size, l1_offset, sn, s->nb_snapshots,
                           s->snapshots_offset, s->snapshots_size, errp);
    if (ret < 0) {
        return ret;
    }
    /* Refcounts and flags are consistent again: clear dirty and corrupt. */
    if (s->incompat & (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT)) {
        s->incompat &= ~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT);
        ret = qcow2_write_header(s);
    }
    return ret;
}

int qcow2_check(BlkImage *img, BlkCheckResult *res, int fix)
{
    Qcow2State *s = img->opaque;
    g_mutex_lock(&s->lock);
    int ret = qcow2_flush_locked(s);
    if (ret == 0) {
        ret = qcow2_check_locked(s, res, true);
    }
    bool want = (res->leaks && (fix & BLK_FIX_LEAKS)) ||
                (res->corruptions && (fix & BLK_FIX_ERRORS));
    if (ret == 0 && want && !s->read_only && (res->corruptions == 0 || (fix & BLK_FIX_ERRORS))) {
        BlkCheckResult before = *res;
        GError *err = NULL;
        ret = qcow2_rebuild_refcounts(s, &err);
        if (ret < 0) {
            fprintf(stderr, "%s\n", err->message);
            g_error_free(err);
            res->check_errors++;
        } else {
            memset(res, 0, sizeof(*res));
            qcow2_check_locked(s, res, true);
            res->leaks_fixed = before.leaks - res->leaks;
            res->corruptions_fixed = before.corruptions - res->corruptions;
        }
    }
    g_mutex_unlock(&s->lock);
    return ret;
}
