/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Creating qcow2 images: a minimal consistent image (header, refcount table,
 * one refcount block) grown through the normal allocation paths, with
 * optional metadata or full preallocation. */
#include "storage/qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int qcow2_create_validate(const char *filename, const BlkCreateOptions *o,
                                 uint32_t *cluster_size, int *version, int *refcount_bits,
                                 GError **errp)
{
    *cluster_size = o->cluster_size ? o->cluster_size : 65536;
    *version = o->compat ? o->compat : 3;
    *refcount_bits = o->refcount_bits ? o->refcount_bits : 16;
    if (*cluster_size < 512 || *cluster_size > (2u << 20) ||
        (*cluster_size & (*cluster_size - 1))) {
        g_set_error(errp, BLK_ERROR, EINVAL, "Cluster size must be a power of two between 512 "
                    "and 2M");
        return -EINVAL;
    }
    if (*version != 2 && *version != 3) {
        g_set_error(errp, BLK_ERROR, EINVAL, "Invalid compatibility level");
        return -EINVAL;
    }
    if (*refcount_bits < 1 || *refcount_bits > 64 || (*refcount_bits & (*refcount_bits - 1))) {
        g_set_error(errp, BLK_ERROR, EINVAL, "Refcount width must be a power of two and may "
                    "not exceed 64 bits");
        return -EINVAL;
    }
    if (*version == 2 && (*refcount_bits != 16 || o->lazy_refcounts ||
                          o->compression_type != BLK_COMPRESSION_ZLIB)) {
        g_set_error(errp, BLK_ERROR, EINVAL, "This option requires compat=1.1 or later");
        return -EINVAL;
    }
    if (o->size & 511) {
        g_set_error(errp, BLK_ERROR, EINVAL, "Image size must be a multiple of 512 bytes");
        return -EINVAL;
    }
    if (o->backing_file && strlen(o->backing_file) > QCOW2_MAX_BACKING_NAME) {
        g_set_error(errp, BLK_ERROR, ENAMETOOLONG, "Backing file name too long");
        return -ENAMETOOLONG;
    }
    (void)filename;
    return 0;
}

/* Header in cluster 0, refcount table in cluster 1, refcount block in
 * cluster 2 counting all three. */
static int qcow2_write_skeleton(int fd, uint32_t cluster_size, int version, int refcount_bits)
{
    int order = __builtin_ctz((unsigned)refcount_bits);
    g_autofree uint8_t *buf = g_malloc0((size_t)cluster_size * 3);
    uint32_t v32;
    uint64_t v64;
    v32 = htobe32(QCOW2_MAGIC); memcpy(buf, &v32, 4);
    v32 = htobe32((uint32_t)version); memcpy(buf + 4, &v32, 4);
    v32 = htobe32((uint32_t)__builtin_ctz(cluster_size)); memcpy(buf + 20, &v32, 4);
    v64 = htobe64(cluster_size); memcpy(buf + 48, &v64, 8);
    v32 = htobe32(1); memcpy(buf + 56, &v32, 4);
    if (version >= 3) {
        v32 = htobe32((uint32_t)order); memcpy(buf + 96, &v32, 4);
        v32 = htobe32(112); memcpy(buf + 100, &v32, 4);
    }
    v64 = htobe64(2ull * cluster_size); memcpy(buf + cluster_size, &v64, 8);
    Qcow2State tmp = { .refcount_order = (uint32_t)order, .refcount_bits = (uint32_t)refcount_bits };
    for (int i = 0; i < 3; i++) {
        qcow2_refcount_write_entry(&tmp, buf + 2 * cluster_size, (uint64_t)i, 1);
    }
    return blk_pwrite_full(fd, buf, (size_t)cluster_size * 3, 0);
}

static int qcow2_preallocate(BlkImage *img, int mode)
{
    Qcow2State *s = img->opaque;
    uint64_t cs = s->cluster_size;
    uint64_t clusters = qcow2_ceil_div(img->size, cs);
    int ret = 0;

    g_mutex_lock(&s->lock);
    for (uint64_t c = 0; c < clusters;) {
        uint64_t l1i = c >> s->l2_bits, l2i = c & (s->l2_entries - 1);
        uint64_t n = MIN(s->l2_entries - l2i, clusters - c), got, *table;
        uint64_t l2off;
        /* Any write creates the L2 table; write_at of nothing is not
         * possible, so create it through a zero-length path. */
        if ((s->l1[l1i] & QCOW2_OFFSET_MASK) == 0) {
            uint64_t got1;
            int64_t t = qcow2_alloc_clusters(s, 1, &got1);
            if (t < 0) {
                ret = (int)t;
                break;
            }
            g_autofree uint8_t *zero = g_malloc0(cs);
            ret = blk_pwrite_full(s->fd, zero, cs, (uint64_t)t);
            if (ret == 0) {
                ret = qcow2_cache_flush(s->refblock_cache);
            }
            if (ret < 0) {
                break;
            }
            s->l1[l1i] = (uint64_t)t | QCOW2_OFLAG_COPIED;
            uint64_t be = htobe64(s->l1[l1i]);
            ret = blk_pwrite_full(s->fd, &be, 8, s->l1_offset + l1i * 8);
            if (ret < 0) {
                break;
            }
        }
        l2off = s->l1[l1i] & QCOW2_OFFSET_MASK;
        int64_t host = qcow2_alloc_clusters(s, n, &got);
        if (host < 0) {
            ret = (int)host;
            break;
        }
        if (mode == BLK_PREALLOC_FULL || mode == BLK_PREALLOC_FALLOC) {
            if (mode == BLK_PREALLOC_FALLOC &&
                fallocate(s->fd, 0, (off_t)host, (off_t)(got * cs)) == 0) {
                /* done */
            } else {
                g_autofree uint8_t *zero = g_malloc0(cs * 16);
                for (uint64_t i = 0; i < got && ret == 0; i += 16) {
                    ret = blk_pwrite_full(s->fd, zero, MIN(16, got - i) * cs,
                                          (uint64_t)host + i * cs);
                }
                if (ret < 0) {
                    break;
                }
            }
        }
        /* Refcounts first, then the L2 entries. */
        qcow2_cache_set_dependency(s->l2_cache, s->refblock_cache);
        ret = qcow2_cache_get(s->l2_cache, l2off, &table);
        if (ret < 0) {
            break;
        }
        for (uint64_t i = 0; i < got; i++) {
            table[l2i + i] = htobe64(((uint64_t)host + i * cs) | QCOW2_OFLAG_COPIED);
        }
        qcow2_cache_mark_dirty(s->l2_cache, table);
        qcow2_cache_put(s->l2_cache, &table);
        c += got;
    }
    if (ret == 0) {
        ret = qcow2_flush_locked(s);
    }
    g_mutex_unlock(&s->lock);
    return ret;
}

int qcow2_create(const char *filename, const BlkCreateOptions *opts, GError **errp);
int qcow2_create(const char *filename, const BlkCreateOptions *opts, GError **errp)
{
    uint32_t cluster_size;
    int version, refcount_bits;
    BlkImage *img = NULL;
    int ret = qcow2_create_validate(filename, opts, &cluster_size, &version, &refcount_bits,
                                    errp);
    if (ret < 0) {
        return ret;
    }
    int fd = open(filename, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ret = -errno;
        g_set_error(errp, BLK_ERROR, -ret, "Could not create '%s': %s", filename,
                    g_strerror(-ret));
        return ret;
    }
    ret = qcow2_write_skeleton(fd, cluster_size, version, refcount_bits);
    close(fd);
    if (ret < 0) {
        g_set_error(errp, BLK_ERROR, -ret, "Could not write '%s': %s", filename,
                    g_strerror(-ret));
        return ret;
    }
    ret = blk_open(filename, "qcow2", BLK_OPEN_READ_WRITE | BLK_OPEN_NO_BACKING |
                   BLK_OPEN_UNSAFE, &img, errp);
    if (ret < 0) {
        return ret;
    }
    Qcow2State *s = img->opaque;
    g_mutex_lock(&s->lock);
    img->size = opts->size;
    if (opts->lazy_refcounts) {
        s->compat |= QCOW2_COMPAT_LAZY_REFCOUNTS;
    }
    s->compression_type = opts->compression_type;
    if (opts->backing_file) {
        img->backing_file = g_strdup(opts->backing_file);
        img->backing_format = g_strdup(opts->backing_format);
    }
    uint64_t l1_entries = qcow2_size_to_l1(s, opts->size);
    ret = l1_entries ? qcow2_grow_l1(s, l1_entries) : 0;
    if (ret == 0) {
        /* Keep exactly the entries needed, as QEMU does. */
        s->l1_size = (uint32_t)l1_entries;
        ret = qcow2_flush_locked(s);
    }
    if (ret == 0) {
        ret = qcow2_write_header(s);
    }
    g_mutex_unlock(&s->lock);
    if (ret == 0 && opts->preallocation != BLK_PREALLOC_OFF) {
        ret = qcow2_preallocate(img, opts->preallocation);
    }
    if (ret < 0) {
        g_set_error(errp, BLK_ERROR, -ret, "Could not initialise '%s': %s", filename,
                    g_strerror(-ret));
    }
    s->sync = true;
    blk_close(img);
    return ret;
}
