/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qcow2 driver: header parsing and validation on open, header rewriting, and
 * the driver ops table. Mapping, refcounts, snapshots live in qcow2-*.c. */
#include "storage/qcow2.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A parsed header, before it is trusted. */
typedef struct Qcow2Header {
    uint32_t magic;
    uint32_t version;
    uint64_t backing_file_offset;
    uint32_t backing_file_size;
    uint32_t cluster_bits;
    uint64_t size;
    uint32_t crypt_method;
    uint32_t l1_size;
    uint64_t l1_table_offset;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint32_t refcount_order;
    uint32_t header_length;
    uint8_t compression_type;
} Qcow2Header;

static uint32_t get_be32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return be32toh(v); }
static uint64_t get_be64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return be64toh(v); }
static void put_be32(uint8_t *p, uint32_t v) { v = htobe32(v); memcpy(p, &v, 4); }
static void put_be64(uint8_t *p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }

static int qcow2_probe(const uint8_t *buf, size_t length)
{
    if (length >= 8 && get_be32(buf) == QCOW2_MAGIC) {
        uint32_t version = get_be32(buf + 4);
        return (version == 2 || version == 3) ? 100 : 50;
    }
    return 0;
}

Qcow2ClusterType qcow2_cluster_type(const Qcow2State *s, uint64_t l2e)
{
    if (l2e & QCOW2_OFLAG_COMPRESSED) {
        return QCOW2_CLUSTER_COMPRESSED;
    }
    if ((l2e & QCOW2_OFLAG_ZERO) && s->version >= 3) {
        return (l2e & QCOW2_OFFSET_MASK) ? QCOW2_CLUSTER_ZERO_ALLOC : QCOW2_CLUSTER_ZERO_PLAIN;
    }
    return (l2e & QCOW2_OFFSET_MASK) ? QCOW2_CLUSTER_NORMAL : QCOW2_CLUSTER_UNALLOCATED;
}

/* Host byte range of a compressed cluster as qcow2.txt defines it: from the
 * sector holding the offset, 1 + "additional sectors" sectors long. */
void qcow2_compressed_extent(const Qcow2State *s, uint64_t l2e, uint64_t *offset,
                             uint64_t *bytes)
{
    uint64_t coffset = l2e & s->cluster_offset_mask;
    uint64_t sectors = ((l2e >> s->csize_shift) & s->csize_mask) + 1;
    *offset = coffset;
    *bytes = sectors * 512 - (coffset & 511);
}

int qcow2_sync(Qcow2State *s)
{
    if (!s->sync) {
        return 0;
    }
    return fdatasync(s->fd) < 0 ? -errno : 0;
}

static void qcow2_decode_header(const uint8_t *b, Qcow2Header *h)
{
    memset(h, 0, sizeof(*h));
    h->magic = get_be32(b + 0);
    h->version = get_be32(b + 4);
    h->backing_file_offset = get_be64(b + 8);
    h->backing_file_size = get_be32(b + 16);
    h->cluster_bits = get_be32(b + 20);
    h->size = get_be64(b + 24);
    h->crypt_method = get_be32(b + 32);
    h->l1_size = get_be32(b + 36);
    h->l1_table_offset = get_be64(b + 40);
    h->refcount_table_offset = get_be64(b + 48);
    h->refcount_table_clusters = get_be32(b + 56);
    h->nb_snapshots = get_be32(b + 60);
    h->snapshots_offset = get_be64(b + 64);
    if (h->version >= 3) {
        h->incompatible_features = get_be64(b + 72);
        h->compatible_features = get_be64(b + 80);
        h->autoclear_features = get_be64(b + 88);
        h->refcount_order = get_be32(b + 96);
        h->header_length = get_be32(b + 100);
        if (h->header_length > 104) {
            h->compression_type = b[104];
        }
    } else {
        h->refcount_order = 4;
        h->header_length = 72;
    }
}

#define QERR(code, ...) \
    do { g_set_error(errp, BLK_ERROR, (code), __VA_ARGS__); return -(code); } while (0)

/* A table of `bytes` at `offset` must be cluster aligned, past the header and
 * inside the file. */
static int qcow2_check_table(Qcow2State *s, const char *what, uint64_t offset, uint64_t bytes,
                             uint64_t file_size, GError **errp)
{
    const char *fn = s->img->filename;
    if (bytes == 0) {
        return 0;
    }
    if (offset & (s->cluster_size - 1)) {
        QERR(EINVAL, "'%s': %s offset %#" PRIx64 " is not cluster aligned", fn, what, offset);
    }
    if (offset < s->cluster_size) {
        QERR(EINVAL, "'%s': %s points into the header", fn, what);
    }
    if (offset > file_size || bytes > file_size - offset) {
        QERR(EINVAL, "'%s': %s (offset %#" PRIx64 ", %" PRIu64 " bytes) points past the end "
             "of the file", fn, what, offset, bytes);
    }
    return 0;
}

static const char *qcow2_feature_name(Qcow2State *s, int type, int bit)
{
    for (uint32_t i = 0; i + 48 <= s->feature_table_length; i += 48) {
        const uint8_t *e = s->feature_table + i;
        if (e[0] == type && e[1] == bit) {
            static char name[47];
            memcpy(name, e + 2, 46);
            name[46] = '\0';
            return name;
        }
    }
    return NULL;
}

static int qcow2_parse_extensions(Qcow2State *s, const uint8_t *hdr, uint64_t end,
                                  uint64_t limit, GError **errp)
{
    const char *fn = s->img->filename;
    uint64_t off = s->header_length;
    bool seen_backing_format = false, seen_features = false;

    while (off + 8 <= limit) {
        uint32_t type = get_be32(hdr + off);
        uint32_t length = get_be32(hdr + off + 4);
        off += 8;
        if (type == QCOW2_EXT_END) {
            return 0;
        }
        if (length > limit - off) {
            QERR(EINVAL, "'%s': header extension %#x (%u bytes) runs past the header area",
                 fn, type, length);
        }
        const uint8_t *data = hdr + off;
        switch (type) {
        case QCOW2_EXT_BACKING_FORMAT:
            if (seen_backing_format || length == 0 || length > 1023) {
                QERR(EINVAL, "'%s': invalid backing format header extension", fn);
            }
            seen_backing_format = true;
            s->img->backing_format = g_strndup((const char *)data, length);
            break;
        case QCOW2_EXT_FEATURE_TABLE:
            if (!seen_features) {
                s->feature_table = g_memdup2(data, length);
                s->feature_table_length = length;
                seen_features = true;
            }
            break;
        default:
            if (type == QCOW2_EXT_BITMAPS && s->autoclear == 0) {
                /* Inconsistent bitmaps are kept but not trusted. */
            }
            if (s->nb_unknown_exts >= 64) {
                QERR(EINVAL, "'%s': too many header extensions", fn);
            }
            s->unknown_exts = g_renew(Qcow2UnknownExt, s->unknown_exts, s->nb_unknown_exts + 1);
            s->unknown_exts[s->nb_unknown_exts++] = (Qcow2UnknownExt) {
                .type = type, .length = length, .data = g_memdup2(data, length),
            };
            break;
        }
        off += qcow2_align_up(length, 8);
    }
    (void)end;
    return 0;
}

static int qcow2_parse(Qcow2State *s, const Qcow2Header *h, const uint8_t *hdr,
                       size_t hdr_len, uint64_t file_size, GError **errp)
{
    const char *fn = s->img->filename;
    int ret;

    if (h->magic != QCOW2_MAGIC) {
        QERR(EINVAL, "'%s' is not a qcow2 image (bad magic)", fn);
    }
    if (h->version != 2 && h->version != 3) {
        QERR(ENOTSUP, "'%s': unsupported qcow2 version %u", fn, h->version);
    }
    if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS || h->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
        QERR(EINVAL, "'%s': unsupported cluster size 2^%u", fn, h->cluster_bits);
    }
    s->version = h->version;
    s->cluster_bits = h->cluster_bits;
    s->cluster_size = 1u << h->cluster_bits;
    s->l2_bits = h->cluster_bits - 3;
    s->l2_entries = 1u << s->l2_bits;
    s->incompat = h->incompatible_features;
    s->compat = h->compatible_features;
    s->autoclear = h->autoclear_features;
    s->header_length = h->header_length;

    if (h->version == 3) {
        if (h->header_length < 104 || (h->header_length & 7) ||
            h->header_length > s->cluster_size) {
            QERR(EINVAL, "'%s': invalid header length %u", fn, h->header_length);
        }
    }
    if (hdr_len < MIN((uint64_t)s->cluster_size, file_size)) {
        QERR(EINVAL, "'%s': truncated header", fn);
    }
    ret = qcow2_parse_extensions(s, hdr, h->backing_file_offset,
                                 h->backing_file_offset ? MIN(h->backing_file_offset,
                                                              s->cluster_size)
                                                        : s->cluster_size, errp);
    if (ret < 0) {
        return ret;
    }
    uint64_t unknown = s->incompat & ~QCOW2_INCOMPAT_KNOWN;
    if (unknown) {
        for (int bit = 0; bit < 64; bit++) {
            if (unknown & (1ull << bit)) {
                const char *name = qcow2_feature_name(s, 0, bit);
                QERR(ENOTSUP, "'%s': unsupported qcow2 feature: %s", fn,
                     name ? name : (bit == 2 ? "external data file" :
                                    bit == 4 ? "extended L2 entries" : "unknown"));
            }
        }
    }
    if (h->crypt_method != 0) {
        QERR(ENOTSUP, "'%s': encrypted images are not supported", fn);
    }
    if (h->refcount_order > 6) {
        QERR(EINVAL, "'%s': invalid refcount order %u", fn, h->refcount_order);
    }
    s->refcount_order = h->refcount_order;
    s->refcount_bits = 1u << h->refcount_order;
    s->refblock_bits = s->cluster_bits + 3 - s->refcount_order;
    s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX : (1ull << s->refcount_bits) - 1;

    if (s->incompat & QCOW2_INCOMPAT_COMPRESSION) {
        if (h->header_length <= 104 || h->compression_type == 0) {
            QERR(EINVAL, "'%s': compression type bit set without a compression type", fn);
        }
    } else if (h->compression_type != 0) {
        QERR(EINVAL, "'%s': compression type %u without the compression type bit", fn,
             h->compression_type);
    }
    if (h->compression_type > 1) {
        QERR(ENOTSUP, "'%s': unknown compression type %u", fn, h->compression_type);
    }
    s->compression_type = h->compression_type;

    /* Sizes: the L1 table must map the whole disk and stay under QEMU's limits. */
    if (h->size > (1ull << 62)) {
        QERR(EFBIG, "'%s': absurd virtual size %" PRIu64, fn, h->size);
    }
    s->img->size = h->size;
    if ((uint64_t)h->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
        QERR(EFBIG, "'%s': active L1 table too large (%u entries)", fn, h->l1_size);
    }
    if (h->l1_size < qcow2_size_to_l1(s, h->size)) {
        QERR(EINVAL, "'%s': L1 table is too small for the virtual size", fn);
    }
    s->l1_size = h->l1_size;
    s->l1_offset = h->l1_table_offset;
    ret = qcow2_check_table(s, "active L1 table", h->l1_table_offset, (uint64_t)h->l1_size * 8,
                            file_size, errp);
    if (ret < 0) {
        return ret;
    }
    if (h->refcount_table_clusters == 0 ||
        (uint64_t)h->refcount_table_clusters << s->cluster_bits > QCOW2_MAX_REFTABLE_BYTES) {
        QERR(EINVAL, "'%s': invalid refcount table size (%u clusters)", fn,
             h->refcount_table_clusters);
    }
    s->reftable_offset = h->refcount_table_offset;
    s->reftable_clusters = h->refcount_table_clusters;
    s->reftable_entries = (uint32_t)(((uint64_t)h->refcount_table_clusters << s->cluster_bits) / 8);
    ret = qcow2_check_table(s, "refcount table", h->refcount_table_offset,
                            (uint64_t)h->refcount_table_clusters << s->cluster_bits,
                            file_size, errp);
    if (ret < 0) {
        return ret;
    }
    if (h->nb_snapshots > QCOW2_MAX_SNAPSHOTS) {
        QERR(EINVAL, "'%s': too many snapshots (%u)", fn, h->nb_snapshots);
    }
    s->nb_snapshots = h->nb_snapshots;
    s->snapshots_offset = h->snapshots_offset;
    if (h->nb_snapshots > 0) {
        ret = qcow2_check_table(s, "snapshot table", h->snapshots_offset,
                                (uint64_t)h->nb_snapshots * 40, file_size, errp);
        if (ret < 0) {
            return ret;
        }
    }

    if (h->backing_file_offset != 0) {
        if (h->backing_file_size > QCOW2_MAX_BACKING_NAME || h->backing_file_size == 0 ||
            h->backing_file_offset > s->cluster_size ||
            h->backing_file_size > s->cluster_size - h->backing_file_offset ||
            h->backing_file_offset < h->header_length) {
            QERR(EINVAL, "'%s': invalid backing file name location", fn);
        }
        s->img->backing_file = g_strndup((const char *)hdr + h->backing_file_offset,
                                         h->backing_file_size);
        if (strlen(s->img->backing_file) != h->backing_file_size) {
            QERR(EINVAL, "'%s': backing file name contains a NUL byte", fn);
        }
        s->img->full_backing_file = blk_resolve_backing(fn, s->img->backing_file);
    }

    s->csize_shift = 62 - (s->cluster_bits - 8);
    s->csize_mask = (1ull << (s->cluster_bits - 8)) - 1;
    s->cluster_offset_mask = (1ull << s->csize_shift) - 1;
    return 0;
}

static int qcow2_load_tables(Qcow2State *s, uint64_t file_size, GError **errp)
{
    const char *fn = s->img->filename;
    int ret;

    s->l1 = g_new0(uint64_t, MAX(s->l1_size, 1));
    if (s->l1_size > 0) {
        ret = blk_pread_full(s->fd, s->l1, (size_t)s->l1_size * 8, s->l1_offset);
        if (ret < 0) {
            QERR(-ret, "'%s': could not read the L1 table: %s", fn, g_strerror(-ret));
        }
    }
    for (uint32_t i = 0; i < s->l1_size; i++) {
        s->l1[i] = be64toh(s->l1[i]);
        uint64_t off = s->l1[i] & QCOW2_OFFSET_MASK;
        if (off == 0) {
            continue;
        }
        if (s->l1[i] & QCOW2_L1E_RESERVED) {
            QERR(EINVAL, "'%s': L1 entry %u has reserved bits set", fn, i);
        }
        if (off < s->cluster_size) {
            QERR(EINVAL, "'%s': L1 entry %u points into the header", fn, i);
        }
        if (off & (s->cluster_size - 1)) {
            QERR(EINVAL, "'%s': L1 entry %u is not cluster aligned", fn, i);
        }
        if (off + s->cluster_size > qcow2_align_up(file_size, s->cluster_size)) {
            QERR(EINVAL, "'%s': L1 entry %u points past the end of the file", fn, i);
        }
    }
    s->reftable = g_new0(uint64_t, s->reftable_entries);
    ret = blk_pread_full(s->fd, s->reftable, (size_t)s->reftable_entries * 8, s->reftable_offset);
    if (ret < 0) {
        QERR(-ret, "'%s': could not read the refcount table: %s", fn, g_strerror(-ret));
    }
    for (uint32_t i = 0; i < s->reftable_entries; i++) {
        s->reftable[i] = be64toh(s->reftable[i]);
        uint64_t off = s->reftable[i] & ~QCOW2_REFT_RESERVED;
        if (off == 0) {
            continue;
        }
        if (off & (s->cluster_size - 1)) {
            QERR(EINVAL, "'%s': refcount block %u is not cluster aligned", fn, i);
        }
        if (off < s->cluster_size) {
            QERR(EINVAL, "'%s': refcount block %u points into the header", fn, i);
        }
        if (off + s->cluster_size > qcow2_align_up(file_size, s->cluster_size)) {
            QERR(EINVAL, "'%s': refcount block %u points past the end of the file", fn, i);
        }
    }
    return 0;
}

static int qcow2_open(BlkImage *img, GError **errp)
{
    Qcow2State *s = g_new0(Qcow2State, 1);
    Qcow2Header h;
    struct stat st;
    uint8_t *hdr = NULL;
    int ret;

    s->img = img;
    s->fd = img->fd;
    s->read_only = !(img->flags & BLK_OPEN_READ_WRITE);
    s->sync = !(img->flags & BLK_OPEN_UNSAFE);
    g_mutex_init(&s->lock);
    img->opaque = s;

    if (fstat(s->fd, &st) < 0) {
        ret = -errno;
        g_set_error(errp, BLK_ERROR, -ret, "'%s': %s", img->filename, g_strerror(-ret));
        goto out_free;
    }
    uint64_t file_size = (uint64_t)st.st_size;
    if (file_size < 72) {
        ret = -EINVAL;
        g_set_error(errp, BLK_ERROR, EINVAL, "'%s': truncated qcow2 header (%" PRIu64 " bytes)",
                    img->filename, file_size);
        goto out_free;
    }
    hdr = g_malloc0(1u << QCOW2_MAX_CLUSTER_BITS);
    ssize_t n = pread(s->fd, hdr, 1u << QCOW2_MAX_CLUSTER_BITS, 0);
    if (n < 72) {
        ret = n < 0 ? -errno : -EINVAL;
        g_set_error(errp, BLK_ERROR, -ret, "'%s': could not read the qcow2 header", img->filename);
        goto out_free;
    }
    qcow2_decode_header(hdr, &h);
    if (h.version >= 3 && n < 104) {
        ret = -EINVAL;
        g_set_error(errp, BLK_ERROR, EINVAL, "'%s': truncated qcow2 header", img->filename);
        goto out_free;
    }
    ret = qcow2_parse(s, &h, hdr, (size_t)n, file_size, errp);
    if (ret < 0) {
        goto out_free;
    }
    if (!s->read_only && (s->incompat & QCOW2_INCOMPAT_CORRUPT) &&
        !(img->flags & BLK_OPEN_CHECK)) {
        ret = -EACCES;
        g_set_error(errp, BLK_ERROR, EACCES, "'%s' is marked corrupt; repair it with "
                    "'mimic-img check -r all' first", img->filename);
        goto out_free;
    }
    if (!s->read_only) {
        for (uint32_t i = 0; i < s->nb_unknown_exts; i++) {
            if (s->unknown_exts[i].type == QCOW2_EXT_BITMAPS) {
                ret = -ENOTSUP;
                g_set_error(errp, BLK_ERROR, ENOTSUP, "'%s' has persistent bitmaps, which "
                            "Mimic can only open read-only", img->filename);
                goto out_free;
            }
        }
    }
    ret = qcow2_load_tables(s, file_size, errp);
    if (ret < 0) {
        goto out_free;
    }
    ret = qcow2_read_snapshot_table(s, errp);
    if (ret < 0) {
        goto out_free;
    }
    uint64_t l2_cache = MIN(MAX(s->l1_size, 16u), MAX((32u << 20) >> s->cluster_bits, 16u));
    s->l2_cache = qcow2_cache_new(s, (int)l2_cache, "L2 table");
    s->refblock_cache = qcow2_cache_new(s, (int)MAX(l2_cache / 4, 16u), "refcount block");
    s->decompressed_buf = g_malloc(s->cluster_size);
    s->file_end = qcow2_align_up(file_size, s->cluster_size);
    g_free(hdr);
    hdr = NULL;

    if (!s->read_only && (s->incompat & QCOW2_INCOMPAT_DIRTY) &&
        !(img->flags & (BLK_OPEN_NO_REPAIR | BLK_OPEN_CHECK))) {
        /* Refcounts may be stale (lazy refcounts): rebuild before writing. */
        ret = qcow2_rebuild_refcounts(s, errp);
        if (ret < 0) {
            goto out_free;
        }
    }
    if (!s->read_only && s->autoclear != 0) {
        /* Unknown auto-clear features must be cleared before the first write. */
        s->autoclear = 0;
        ret = qcow2_write_header(s);
        if (ret < 0) {
            g_set_error(errp, BLK_ERROR, -ret, "'%s': could not update the header: %s",
                        img->filename, g_strerror(-ret));
            goto out_free;
        }
    }
    return 0;

out_free:
    g_free(hdr);
    img->opaque = s;
    img->drv->close(img);
    return ret;
}

static void qcow2_close(BlkImage *img)
{
    Qcow2State *s = img->opaque;
    if (s == NULL) {
        return;
    }
    if (!s->read_only && s->l2_cache != NULL) {
        g_mutex_lock(&s->lock);
        qcow2_flush_locked(s);
        g_mutex_unlock(&s->lock);
    }
    qcow2_cache_free(s->l2_cache);
    qcow2_cache_free(s->refblock_cache);
    qcow2_snapshots_free(s->snapshots, s->nb_snapshots);
    for (uint32_t i = 0; i < s->nb_unknown_exts; i++) {
        g_free(s->unknown_exts[i].data);
    }
    g_free(s->unknown_exts);
    g_free(s->feature_table);
    g_free(s->l1);
    g_free(s->reftable);
    g_free(s->decompressed_buf);
    g_mutex_clear(&s->lock);
    g_free(s);
    img->opaque = NULL;
}

static const struct { uint8_t type, bit; const char *name; } qcow2_features[] = {
    { 0, 0, "dirty bit" }, { 0, 1, "corrupt bit" }, { 0, 2, "external data file" },
    { 0, 3, "compression type" }, { 0, 4, "extended L2 entries" },
    { 1, 0, "lazy refcounts" }, { 2, 0, "bitmaps" }, { 2, 1, "raw external data" },
};

static size_t qcow2_put_ext(uint8_t *buf, size_t off, uint32_t type, const void *data,
                            uint32_t length)
{
    put_be32(buf + off, type);
    put_be32(buf + off + 4, length);
    memcpy(buf + off + 8, data, length);
    return off + 8 + qcow2_align_up(length, 8);
}

/* Rewrite the whole header area (fields, extensions, backing name) with one
 * pwrite inside cluster 0, so a crash leaves either the old or the new header. */
int qcow2_write_header(Qcow2State *s)
{
    BlkImage *img = s->img;
    size_t cs = s->cluster_size;
    g_autofree uint8_t *buf = g_malloc0(cs + 4096);
    uint32_t header_length = s->version >= 3 ? MAX(s->header_length, 112u) : 72;

    put_be32(buf + 0, QCOW2_MAGIC);
    put_be32(buf + 4, s->version);
    put_be32(buf + 20, s->cluster_bits);
    put_be64(buf + 24, img->size);
    put_be32(buf + 36, s->l1_size);
    put_be64(buf + 40, s->l1_offset);
    put_be64(buf + 48, s->reftable_offset);
    put_be32(buf + 56, s->reftable_clusters);
    put_be32(buf + 60, s->nb_snapshots);
    put_be64(buf + 64, s->snapshots_offset);
    if (s->version >= 3) {
        uint64_t incompat = s->incompat & ~QCOW2_INCOMPAT_COMPRESSION;
        if (s->compression_type != BLK_COMPRESSION_ZLIB) {
            incompat |= QCOW2_INCOMPAT_COMPRESSION;
        }
        put_be64(buf + 72, incompat);
        put_be64(buf + 80, s->compat);
        put_be64(buf + 88, s->autoclear);
        put_be32(buf + 96, s->refcount_order);
        put_be32(buf + 100, header_length);
        buf[104] = (uint8_t)s->compression_type;
    }
    size_t off = header_length;
    if (img->backing_format != NULL && img->backing_file != NULL) {
        off = qcow2_put_ext(buf, off, QCOW2_EXT_BACKING_FORMAT, img->backing_format,
                            (uint32_t)strlen(img->backing_format));
    }
    for (uint32_t i = 0; i < s->nb_unknown_exts; i++) {
        if (off + 16 + s->unknown_exts[i].length > cs) {
            return -ENOSPC;
        }
        off = qcow2_put_ext(buf, off, s->unknown_exts[i].type, s->unknown_exts[i].data,
                            s->unknown_exts[i].length);
    }
    size_t backing_len = img->backing_file ? strlen(img->backing_file) : 0;
    /* The image's own feature name table is kept (it may name features this
     * code does not know); images without one get the standard names. */
    uint8_t table[G_N_ELEMENTS(qcow2_features) * 48] = { 0 };
    const uint8_t *names = s->feature_table;
    size_t table_len = s->feature_table_length;
    if (names == NULL) {
        for (size_t i = 0; i < G_N_ELEMENTS(qcow2_features); i++) {
            table[i * 48] = qcow2_features[i].type;
            table[i * 48 + 1] = qcow2_features[i].bit;
            memcpy(table + i * 48 + 2, qcow2_features[i].name, strlen(qcow2_features[i].name));
        }
        names = table;
        table_len = sizeof(table);
    }
    if (s->version >= 3 && off + 8 + qcow2_align_up(table_len, 8) + 8 + backing_len <= cs) {
        off = qcow2_put_ext(buf, off, QCOW2_EXT_FEATURE_TABLE, names, (uint32_t)table_len);
    }
    off += 8;   /* end-of-extensions marker, already zero */
    if (backing_len > 0) {
        if (off + backing_len > cs) {
            return -ENOSPC;
        }
        memcpy(buf + off, img->backing_file, backing_len);
        put_be64(buf + 8, off);
        put_be32(buf + 16, (uint32_t)backing_len);
        off += backing_len;
    }
    if (off > cs) {
        return -ENOSPC;
    }
    int ret = blk_pwrite_full(s->fd, buf, off, 0);
    if (ret < 0) {
        return ret;
    }
    s->header_length = header_length;
    return qcow2_sync(s);
}

/* Rewrite the fields from the virtual size to the snapshot table pointer
 * (bytes 24..71) in one 48-byte write: this is the commit point of every
 * metadata transaction and of L1/refcount table moves. */
int qcow2_write_header_pointers(Qcow2State *s)
{
    uint8_t buf[48];
    put_be64(buf + 0, s->img->size);
    put_be32(buf + 8, 0);
    put_be32(buf + 12, s->l1_size);
    put_be64(buf + 16, s->l1_offset);
    put_be64(buf + 24, s->reftable_offset);
    put_be32(buf + 32, s->reftable_clusters);
    put_be32(buf + 36, s->nb_snapshots);
    put_be64(buf + 40, s->snapshots_offset);
    int ret = blk_pwrite_full(s->fd, buf, sizeof(buf), 24);
    if (ret < 0) {
        return ret;
    }
    return qcow2_sync(s);
}

static int qcow2_read(BlkImage *img, uint64_t offset, void *buf, size_t bytes)
{
    Qcow2State *s = img->opaque;
    g_mutex_lock(&s->lock);
    int ret = qcow2_read_at(s, s->l1, s->l1_size, offset, buf, bytes, true);
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_write(BlkImage *img, uint64_t offset, const void *buf, size_t bytes)
{
    Qcow2State *s = img->opaque;
    g_mutex_lock(&s->lock);
    int ret = qcow2_write_at(s, offset, buf, bytes);
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_flush(BlkImage *img)
{
    Qcow2State *s = img->opaque;
    g_mutex_lock(&s->lock);
    int ret = qcow2_flush_locked(s);
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_discard(BlkImage *img, uint64_t offset, uint64_t bytes)
{
    Qcow2State *s = img->opaque;
    g_mutex_lock(&s->lock);
    int ret = qcow2_zero_range(s, offset, bytes, QCOW2_ZERO_DISCARD);
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_write_zeroes(BlkImage *img, uint64_t offset, uint64_t bytes)
{
    Qcow2State *s = img->opaque;
    g_mutex_lock(&s->lock);
    int ret = qcow2_zero_range(s, offset, bytes, QCOW2_ZERO_WRITE);
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_get_info(BlkImage *img, BlkInfo *info)
{
    Qcow2State *s = img->opaque;
    info->cluster_size = s->cluster_size;
    info->version = (int)s->version;
    info->refcount_bits = (int)s->refcount_bits;
    info->compression_type = s->compression_type;
    info->lazy_refcounts = (s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS) != 0;
    info->corrupt = (s->incompat & QCOW2_INCOMPAT_CORRUPT) != 0;
    info->dirty = (s->incompat & QCOW2_INCOMPAT_DIRTY) != 0;
    info->extended_l2 = false;
    info->image_end = s->file_end;
    return 0;
}

static int qcow2_set_backing(BlkImage *img, const char *file, const char *format, GError **errp)
{
    Qcow2State *s = img->opaque;
    if (file != NULL && strlen(file) > QCOW2_MAX_BACKING_NAME) {
        g_set_error(errp, BLK_ERROR, ENAMETOOLONG, "'%s': backing file name too long",
                    img->filename);
        return -ENAMETOOLONG;
    }
    g_mutex_lock(&s->lock);
    char *old_file = img->backing_file, *old_format = img->backing_format;
    img->backing_file = g_strdup(file);
    img->backing_format = file ? g_strdup(format) : NULL;
    int ret = qcow2_flush_locked(s);
    if (ret == 0) {
        ret = qcow2_write_header(s);
    }
    if (ret < 0) {
        g_free(img->backing_file);
        g_free(img->backing_format);
        img->backing_file = old_file;
        img->backing_format = old_format;
        g_set_error(errp, BLK_ERROR, -ret, "'%s': could not update the header: %s",
                    img->filename, g_strerror(-ret));
    } else {
        g_free(old_file);
        g_free(old_format);
        g_free(img->full_backing_file);
        img->full_backing_file = blk_resolve_backing(img->filename, file);
    }
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_make_empty(BlkImage *img)
{
    Qcow2State *s = img->opaque;
    g_mutex_lock(&s->lock);
    int ret = qcow2_zero_range(s, 0, img->size, QCOW2_ZERO_DEALLOCATE);
    if (ret == 0) {
        ret = qcow2_flush_locked(s);
    }
    g_mutex_unlock(&s->lock);
    return ret;
}

int qcow2_create(const char *filename, const BlkCreateOptions *opts, GError **errp);
int qcow2_block_status(BlkImage *img, uint64_t offset, uint64_t bytes, uint64_t *pnum,
                       uint64_t *host_offset, int *status);
int qcow2_write_compressed(BlkImage *img, uint64_t offset, const void *buf, size_t bytes);

const BlkDriver blk_driver_qcow2 = {
    .name = "qcow2",
    .probe = qcow2_probe,
    .open = qcow2_open,
    .close = qcow2_close,
    .create = qcow2_create,
    .read = qcow2_read,
    .write = qcow2_write,
    .write_compressed = qcow2_write_compressed,
    .flush = qcow2_flush,
    .discard = qcow2_discard,
    .write_zeroes = qcow2_write_zeroes,
    .block_status = qcow2_block_status,
    .get_info = qcow2_get_info,
    .truncate = qcow2_truncate,
    .check = qcow2_check,
    .snapshot_create = qcow2_snapshot_create,
    .snapshot_apply = qcow2_snapshot_apply,
    .snapshot_delete = qcow2_snapshot_delete,
    .snapshot_list = qcow2_snapshot_list,
    .vmstate_read = qcow2_vmstate_read,
    .vmstate_write = qcow2_vmstate_write,
    .snapshot_read = qcow2_snapshot_read,
    .set_backing = qcow2_set_backing,
    .make_empty = qcow2_make_empty,
};
