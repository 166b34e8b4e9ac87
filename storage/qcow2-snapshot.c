/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qcow2 internal snapshots: the snapshot table (with extra data), create,
 * apply, delete and list as metadata transactions, the VM-state area past the
 * end of the virtual disk, and resizing. */
#include "storage/qcow2.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define QCOW2_MAX_SNAPSHOT_EXTRA 1024
#define QCOW2_MAX_SNAPSHOT_TABLE (64u << 20)

void qcow2_snapshots_free(Qcow2Snapshot *sn, uint32_t nb)
{
    for (uint32_t i = 0; sn != NULL && i < nb; i++) {
        g_free(sn[i].id);
        g_free(sn[i].name);
        g_free(sn[i].extra);
    }
    g_free(sn);
}

Qcow2Snapshot *qcow2_snapshots_dup(const Qcow2Snapshot *sn, uint32_t nb)
{
    Qcow2Snapshot *copy = g_new0(Qcow2Snapshot, MAX(nb, 1));
    for (uint32_t i = 0; i < nb; i++) {
        copy[i] = sn[i];
        copy[i].id = g_strdup(sn[i].id);
        copy[i].name = g_strdup(sn[i].name);
        copy[i].extra = sn[i].extra_unknown ? g_memdup2(sn[i].extra, sn[i].extra_unknown) : NULL;
    }
    return copy;
}

static bool qcow2_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

#define SERR(code, ...) \
    do { g_set_error(errp, BLK_ERROR, (code), __VA_ARGS__); ret = -(code); goto out_free; } while (0)

int qcow2_read_snapshot_table(Qcow2State *s, GError **errp)
{
    const char *fn = s->img->filename;
    struct stat st;
    uint64_t off = s->snapshots_offset;
    Qcow2Snapshot *sn = g_new0(Qcow2Snapshot, MAX(s->nb_snapshots, 1));
    int ret = 0;

    if (fstat(s->fd, &st) < 0) {
        SERR(errno, "'%s': %s", fn, g_strerror(errno));
    }
    uint64_t file_size = (uint64_t)st.st_size;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        uint8_t h[40];
        if (off + 40 > file_size || off + 40 - s->snapshots_offset > QCOW2_MAX_SNAPSHOT_TABLE) {
            SERR(EINVAL, "'%s': snapshot table entry %u runs past the end of the file", fn, i);
        }
        ret = blk_pread_full(s->fd, h, 40, off);
        if (ret < 0) {
            SERR(-ret, "'%s': could not read the snapshot table: %s", fn, g_strerror(-ret));
        }
        uint64_t v64; uint32_t v32; uint16_t id_len, name_len;
        memcpy(&v64, h, 8); sn[i].l1_offset = be64toh(v64);
        memcpy(&v32, h + 8, 4); sn[i].l1_size = be32toh(v32);
        memcpy(&id_len, h + 12, 2); id_len = be16toh(id_len);
        memcpy(&name_len, h + 14, 2); name_len = be16toh(name_len);
        memcpy(&v32, h + 16, 4); sn[i].date_sec = be32toh(v32);
        memcpy(&v32, h + 20, 4); sn[i].date_nsec = be32toh(v32);
        memcpy(&v64, h + 24, 8); sn[i].vm_clock_nsec = be64toh(v64);
        memcpy(&v32, h + 32, 4); sn[i].vm_state_size = be32toh(v32);
        memcpy(&v32, h + 36, 4); sn[i].extra_size = be32toh(v32);
        if (sn[i].extra_size > QCOW2_MAX_SNAPSHOT_EXTRA) {
            SERR(EINVAL, "'%s': snapshot %u has too much extra data", fn, i);
        }
        uint64_t len = 40 + (uint64_t)sn[i].extra_size + id_len + name_len;
        if (off + len > file_size) {
            SERR(EINVAL, "'%s': snapshot table entry %u runs past the end of the file", fn, i);
        }
        g_autofree uint8_t *rest = g_malloc(len - 40 + 1);
        ret = blk_pread_full(s->fd, rest, len - 40, off + 40);
        if (ret < 0) {
            SERR(-ret, "'%s': could not read the snapshot table: %s", fn, g_strerror(-ret));
        }
        const uint8_t *x = rest;
        sn[i].disk_size = s->img->size;
        sn[i].icount = UINT64_MAX;
        if (sn[i].extra_size >= 8) {
            memcpy(&v64, x, 8); sn[i].vm_state_size = be64toh(v64);
        }
        if (sn[i].extra_size >= 16) {
            memcpy(&v64, x + 8, 8); sn[i].disk_size = be64toh(v64);
        }
        if (sn[i].extra_size >= 24) {
            memcpy(&v64, x + 16, 8); sn[i].icount = be64toh(v64);
        }
        if (sn[i].extra_size > 24) {
            sn[i].extra_unknown = sn[i].extra_size - 24;
            sn[i].extra = g_memdup2(x + 24, sn[i].extra_unknown);
        }
        sn[i].id = g_strndup((const char *)x + sn[i].extra_size, id_len);
        sn[i].name = g_strndup((const char *)x + sn[i].extra_size + id_len, name_len);
        off += qcow2_align_up(len, 8);

        uint64_t l1_bytes = (uint64_t)sn[i].l1_size * 8;
        if (l1_bytes > QCOW2_MAX_L1_BYTES || (sn[i].l1_offset & (s->cluster_size - 1)) ||
            (l1_bytes && sn[i].l1_offset < s->cluster_size) ||
            sn[i].l1_offset + l1_bytes > file_size) {
            SERR(EINVAL, "'%s': snapshot '%s' has an invalid L1 table", fn, sn[i].id);
        }
        if (sn[i].disk_size > (1ull << 62) ||
            qcow2_size_to_l1(s, sn[i].disk_size) > sn[i].l1_size) {
            SERR(EINVAL, "'%s': snapshot '%s' has an invalid disk size", fn, sn[i].id);
        }
    }
    s->snapshots_size = off - s->snapshots_offset;
    /* Snapshot tables and L1 tables must not overlap each other or the
     * active metadata. */
    uint64_t rt_bytes = (uint64_t)s->reftable_clusters << s->cluster_bits;
    uint64_t l1_bytes = (uint64_t)s->l1_size * 8;
    if (s->nb_snapshots &&
        (qcow2_ranges_overlap(s->snapshots_offset, s->snapshots_size, 0, s->cluster_size) ||
         qcow2_ranges_overlap(s->snapshots_offset, s->snapshots_size, s->l1_offset, l1_bytes) ||
         qcow2_ranges_overlap(s->snapshots_offset, s->snapshots_size, s->reftable_offset,
                              rt_bytes))) {
        SERR(EINVAL, "'%s': the snapshot table overlaps other metadata", fn);
    }
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        uint64_t a = sn[i].l1_offset, alen = (uint64_t)sn[i].l1_size * 8;
        if (qcow2_ranges_overlap(a, alen, s->snapshots_offset, s->snapshots_size) ||
            qcow2_ranges_overlap(a, alen, s->l1_offset, l1_bytes) ||
            qcow2_ranges_overlap(a, alen, s->reftable_offset, rt_bytes)) {
            SERR(EINVAL, "'%s': the L1 table of snapshot '%s' overlaps other metadata", fn,
                 sn[i].id);
        }
        for (uint32_t j = 0; j < i; j++) {
            if (qcow2_ranges_overlap(a, alen, sn[j].l1_offset, (uint64_t)sn[j].l1_size * 8)) {
                SERR(EINVAL, "'%s': snapshots '%s' and '%s' overlap", fn, sn[j].id, sn[i].id);
            }
            if (strcmp(sn[i].id, sn[j].id) == 0) {
                SERR(EINVAL, "'%s': two snapshots have the id '%s'", fn, sn[i].id);
            }
        }
    }
    s->snapshots = sn;
    return 0;

out_free:
    qcow2_snapshots_free(sn, s->nb_snapshots);
    return ret;
}

static int qcow2_find_snapshot(Qcow2State *s, const char *id_or_name)
{
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (strcmp(s->snapshots[i].id, id_or_name) == 0) {
            return (int)i;
        }
    }
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (strcmp(s->snapshots[i].name, id_or_name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int qcow2_snapshot_create(BlkImage *img, const char *name, uint64_t vm_state_size,
                          uint64_t vm_clock_nsec, uint64_t icount, GError **errp)
{
    Qcow2State *s = img->opaque;
    uint64_t *snap_l1 = NULL, *l1 = NULL, l1_offset, sn_offset, sn_size;
    Qcow2Snapshot *sn = NULL;
    Qcow2Txn *t = NULL;
    int ret;

    if (name == NULL || *name == '\0' || strlen(name) > 65535) {
        g_set_error(errp, BLK_ERROR, EINVAL, "'%s': invalid snapshot name", img->filename);
        return -EINVAL;
    }
    g_mutex_lock(&s->lock);
    if (qcow2_find_snapshot(s, name) >= 0) {
        ret = -EEXIST;
        g_set_error(errp, BLK_ERROR, EEXIST, "'%s': a snapshot named '%s' already exists",
                    img->filename, name);
        goto out_unlock;
    }
    if (s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS) {
        ret = -EFBIG;
        g_set_error(errp, BLK_ERROR, EFBIG, "'%s': too many snapshots", img->filename);
        goto out_unlock;
    }
    t = qcow2_txn_begin(s, true, &ret);
    if (t == NULL) {
        goto out_io_error;
    }
    /* The snapshot gets a copy of the active L1 (with the VM state); the
     * active image gets fresh copies of its L2 tables, without it. */
    uint64_t snap_l1_offset = (uint64_t)qcow2_txn_alloc(
        t, qcow2_ceil_div(MAX((uint64_t)s->l1_size * 8, 1), s->cluster_size));
    snap_l1 = g_new0(uint64_t, MAX(s->l1_size, 1));
    for (uint32_t i = 0; i < s->l1_size; i++) {
        snap_l1[i] = htobe64(s->l1[i] & ~QCOW2_OFLAG_COPIED);
    }
    ret = blk_pwrite_full(s->fd, snap_l1, (size_t)s->l1_size * 8, snap_l1_offset);
    if (ret < 0) {
        goto out_io_error;
    }
    uint32_t l1_size = (uint32_t)qcow2_size_to_l1(s, img->size);
    ret = qcow2_txn_copy_active(t, s->l1, s->l1_size, l1_size, img->size, &l1, &l1_offset);
    if (ret < 0) {
        goto out_io_error;
    }
    uint64_t next_id = 1;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        uint64_t id = g_ascii_strtoull(s->snapshots[i].id, NULL, 10);
        next_id = MAX(next_id, id + 1);
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    sn = g_new0(Qcow2Snapshot, s->nb_snapshots + 1);
    Qcow2Snapshot *old = qcow2_snapshots_dup(s->snapshots, s->nb_snapshots);
    memcpy(sn, old, sizeof(*sn) * s->nb_snapshots);
    g_free(old);
    sn[s->nb_snapshots] = (Qcow2Snapshot) {
        .l1_offset = snap_l1_offset,
        .l1_size = s->l1_size,
        .id = g_strdup_printf("%" PRIu64, next_id),
        .name = g_strdup(name),
        .date_sec = (uint32_t)now.tv_sec,
        .date_nsec = (uint32_t)now.tv_nsec,
        .vm_clock_nsec = vm_clock_nsec,
        .vm_state_size = vm_state_size,
        .disk_size = img->size,
        .icount = icount,
    };
    uint32_t nb = s->nb_snapshots + 1;
    ret = qcow2_txn_write_snapshot_table(t, sn, nb, &sn_offset, &sn_size);
    if (ret < 0) {
        goto out_io_error;
    }
    ret = qcow2_txn_commit(t, img->size, l1, l1_size, l1_offset, sn, nb, sn_offset, sn_size,
                           errp);
    g_free(snap_l1);
    g_mutex_unlock(&s->lock);
    return ret;

out_io_error:
    g_set_error(errp, BLK_ERROR, -ret, "'%s': could not create the snapshot: %s",
                img->filename, g_strerror(-ret));
    qcow2_snapshots_free(sn, sn ? s->nb_snapshots + 1 : 0);
    qcow2_txn_abort(t);
    g_free(snap_l1);
    g_free(l1);
out_unlock:
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_snapshot_not_found(BlkImage *img, const char *id_or_name, GError **errp)
{
    g_set_error(errp, BLK_ERROR, ENOENT, "'%s': no snapshot with id or name '%s'",
                img->filename, id_or_name);
    return -ENOENT;
}

int qcow2_snapshot_apply(BlkImage *img, const char *id_or_name, GError **errp)
{
    Qcow2State *s = img->opaque;
    uint64_t *snap_l1 = NULL, *l1 = NULL, l1_offset;
    int ret;

    g_mutex_lock(&s->lock);
    int idx = qcow2_find_snapshot(s, id_or_name);
    if (idx < 0) {
        g_mutex_unlock(&s->lock);
        return qcow2_snapshot_not_found(img, id_or_name, errp);
    }
    Qcow2Snapshot *snap = &s->snapshots[idx];
    Qcow2Txn *t = qcow2_txn_begin(s, true, &ret);
    if (t == NULL) {
        goto out_error;
    }
    ret = qcow2_read_l1(s, snap->l1_offset, snap->l1_size, &snap_l1);
    if (ret < 0) {
        qcow2_txn_abort(t);
        goto out_error;
    }
    uint64_t size = snap->disk_size;
    uint32_t l1_size = (uint32_t)qcow2_size_to_l1(s, size);
    ret = qcow2_txn_copy_active(t, snap_l1, snap->l1_size, l1_size, size, &l1, &l1_offset);
    g_free(snap_l1);
    if (ret < 0) {
        qcow2_txn_abort(t);
        goto out_error;
    }
    Qcow2Snapshot *sn = qcow2_snapshots_dup(s->snapshots, s->nb_snapshots);
    uint32_t nb = s->nb_snapshots;
    ret = qcow2_txn_commit(t, size, l1, l1_size, l1_offset, sn, nb, s->snapshots_offset,
                           s->snapshots_size, errp);
    g_mutex_unlock(&s->lock);
    return ret;

out_error:
    g_set_error(errp, BLK_ERROR, -ret, "'%s': could not apply the snapshot: %s",
                img->filename, g_strerror(-ret));
    g_mutex_unlock(&s->lock);
    return ret;
}

int qcow2_snapshot_delete(BlkImage *img, const char *id_or_name, GError **errp)
{
    Qcow2State *s = img->opaque;
    uint64_t *l1 = NULL, l1_offset, sn_offset, sn_size;
    int ret;

    g_mutex_lock(&s->lock);
    int idx = qcow2_find_snapshot(s, id_or_name);
    if (idx < 0) {
        g_mutex_unlock(&s->lock);
        return qcow2_snapshot_not_found(img, id_or_name, errp);
    }
    Qcow2Txn *t = qcow2_txn_begin(s, true, &ret);
    if (t == NULL) {
        goto out_error;
    }
    /* Fresh active tables so their COPIED flags follow the lower refcounts. */
    ret = qcow2_txn_copy_active(t, s->l1, s->l1_size, s->l1_size, UINT64_MAX, &l1, &l1_offset);
    if (ret < 0) {
        qcow2_txn_abort(t);
        goto out_error;
    }
    Qcow2Snapshot *sn = qcow2_snapshots_dup(s->snapshots, s->nb_snapshots);
    uint32_t nb = s->nb_snapshots - 1;
    g_free(sn[idx].id);
    g_free(sn[idx].name);
    g_free(sn[idx].extra);
    memmove(&sn[idx], &sn[idx + 1], sizeof(*sn) * (nb - (uint32_t)idx));
    ret = qcow2_txn_write_snapshot_table(t, sn, nb, &sn_offset, &sn_size);
    if (ret < 0) {
        qcow2_snapshots_free(sn, nb);
        g_free(l1);
        qcow2_txn_abort(t);
        goto out_error;
    }
    ret = qcow2_txn_commit(t, img->size, l1, s->l1_size, l1_offset, sn, nb, sn_offset, sn_size,
                           errp);
    g_mutex_unlock(&s->lock);
    return ret;

out_error:
    g_set_error(errp, BLK_ERROR, -ret, "'%s': could not delete the snapshot: %s",
                img->filename, g_strerror(-ret));
    g_mutex_unlock(&s->lock);
    return ret;
}

int qcow2_snapshot_list(BlkImage *img, BlkSnapshotInfo **list, int *count)
{
    Qcow2State *s = img->opaque;
    g_mutex_lock(&s->lock);
    BlkSnapshotInfo *l = g_new0(BlkSnapshotInfo, MAX(s->nb_snapshots, 1));
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        Qcow2Snapshot *sn = &s->snapshots[i];
        l[i] = (BlkSnapshotInfo) {
            .id = g_strdup(sn->id), .name = g_strdup(sn->name),
            .vm_state_size = sn->vm_state_size, .date_sec = sn->date_sec,
            .date_nsec = sn->date_nsec, .vm_clock_nsec = sn->vm_clock_nsec,
            .icount = sn->icount, .disk_size = sn->disk_size,
        };
    }
    *list = l;
    *count = (int)s->nb_snapshots;
    g_mutex_unlock(&s->lock);
    return 0;
}

int qcow2_vmstate_write(BlkImage *img, uint64_t pos, const void *buf, size_t bytes)
{
    Qcow2State *s = img->opaque;
    if (pos > (1ull << 50) || bytes > (1ull << 50)) {
        return -EINVAL;
    }
    g_mutex_lock(&s->lock);
    int ret = qcow2_write_at(s, qcow2_vmstate_offset(s) + pos, buf, bytes);
    g_mutex_unlock(&s->lock);
    return ret;
}

/* Read from a snapshot's L1 table: its VM-state area or its guest data. */
static int qcow2_read_snapshot_data(Qcow2State *s, const char *snapshot, bool vmstate,
                                    uint64_t pos, void *buf, size_t bytes)
{
    int idx = qcow2_find_snapshot(s, snapshot);
    uint64_t *l1 = NULL;
    if (idx < 0) {
        return -ENOENT;
    }
    Qcow2Snapshot *sn = &s->snapshots[idx];
    int ret = qcow2_read_l1(s, sn->l1_offset, sn->l1_size, &l1);
    for (uint32_t i = 0; ret == 0 && i < sn->l1_size; i++) {
        uint64_t off = l1[i] & QCOW2_OFFSET_MASK;
        if (off && ((l1[i] & QCOW2_L1E_RESERVED) || off < s->cluster_size ||
                    off >= s->file_end)) {
            ret = -EIO;
        }
    }
    if (ret == 0 && vmstate) {
        uint64_t base = qcow2_size_to_l1(s, sn->disk_size) * qcow2_l2_coverage(s);
        ret = qcow2_read_at(s, l1, sn->l1_size, base + pos, buf, bytes, false);
    } else if (ret == 0) {
        uint64_t n = pos >= sn->disk_size ? 0 : MIN((uint64_t)bytes, sn->disk_size - pos);
        ret = qcow2_read_at(s, l1, sn->l1_size, pos, buf, n, true);
        memset((uint8_t *)buf + n, 0, bytes - n);
    }
    g_free(l1);
    return ret;
}

int qcow2_vmstate_read(BlkImage *img, const char *snapshot, uint64_t pos, void *buf,
                       size_t bytes)
{
    Qcow2State *s = img->opaque;
    if (pos > (1ull << 50) || bytes > (1ull << 50)) {
        return -EINVAL;
    }
    g_mutex_lock(&s->lock);
    int ret;
    if (snapshot == NULL) {
        ret = qcow2_read_at(s, s->l1, s->l1_size, qcow2_vmstate_offset(s) + pos, buf, bytes,
                            false);
    } else {
        ret = qcow2_read_snapshot_data(s, snapshot, true, pos, buf, bytes);
    }
    g_mutex_unlock(&s->lock);
    return ret;
}

int qcow2_snapshot_read(BlkImage *img, const char *snapshot, uint64_t offset, void *buf,
                        size_t bytes)
{
    Qcow2State *s = img->opaque;
    g_mutex_lock(&s->lock);
    int ret = qcow2_read_snapshot_data(s, snapshot, false, offset, buf, bytes);
    g_mutex_unlock(&s->lock);
    return ret;
}

int qcow2_truncate(BlkImage *img, uint64_t size, bool shrink, GError **errp)
{
    Qcow2State *s = img->opaque;
    uint64_t *l1 = NULL, l1_offset;
    int ret;

    if (size & 511) {
        g_set_error(errp, BLK_ERROR, EINVAL, "'%s': the size must be a multiple of 512",
                    img->filename);
        return -EINVAL;
    }
    g_mutex_lock(&s->lock);
    uint64_t l1_size = qcow2_size_to_l1(s, size);
    if (l1_size * 8 > QCOW2_MAX_L1_BYTES || size > (1ull << 62)) {
        g_mutex_unlock(&s->lock);
        g_set_error(errp, BLK_ERROR, EFBIG, "'%s': size too large for this cluster size",
                    img->filename);
        return -EFBIG;
    }
    Qcow2Txn *t = qcow2_txn_begin(s, true, &ret);
    if (t == NULL) {
        goto out_error;
    }
    ret = qcow2_txn_copy_active(t, s->l1, s->l1_size, (uint32_t)l1_size, MIN(size, img->size),
                                &l1, &l1_offset);
    if (ret < 0) {
        qcow2_txn_abort(t);
        goto out_error;
    }
    Qcow2Snapshot *sn = qcow2_snapshots_dup(s->snapshots, s->nb_snapshots);
    uint32_t nb = s->nb_snapshots;
    ret = qcow2_txn_commit(t, size, l1, (uint32_t)l1_size, l1_offset, sn, nb,
                           s->snapshots_offset, s->snapshots_size, errp);
    g_mutex_unlock(&s->lock);
    return ret;

out_error:
    g_set_error(errp, BLK_ERROR, -ret, "'%s': could not resize: %s", img->filename,
                g_strerror(-ret));
    g_mutex_unlock(&s->lock);
    return ret;
}
