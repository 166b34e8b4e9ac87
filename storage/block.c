/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Block layer core: driver table, format probing, opening images with their
 * backing chains (with loop detection), and the blk_* entry points. */
#include "storage/block.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const BlkDriver blk_driver_raw;
extern const BlkDriver blk_driver_qcow2;

static const BlkDriver *const blk_drivers[] = { &blk_driver_qcow2, &blk_driver_raw };

#define BLK_MAX_CHAIN_DEPTH 512

G_DEFINE_QUARK(blk-error-quark, blk_error)

const BlkDriver *blk_find_driver(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(blk_drivers); i++) {
        if (g_strcmp0(blk_drivers[i]->name, name) == 0) {
            return blk_drivers[i];
        }
    }
    return NULL;
}

const BlkDriver *blk_probe_buffer(const uint8_t *buf, size_t length)
{
    const BlkDriver *best = &blk_driver_raw;
    int best_score = 0;

    for (size_t i = 0; i < G_N_ELEMENTS(blk_drivers); i++) {
        int score = blk_drivers[i]->probe ? blk_drivers[i]->probe(buf, length) : 0;
        if (score > best_score) {
            best_score = score;
            best = blk_drivers[i];
        }
    }
    return best;
}

int blk_probe_file(const char *filename, const BlkDriver **drv, GError **errp)
{
    uint8_t buf[512] = { 0 };
    int fd = open(filename, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        g_set_error(errp, BLK_ERROR, err, "Could not open '%s': %s", filename, g_strerror(err));
        return -err;
    }
    ssize_t n = pread(fd, buf, sizeof(buf), 0);
    int err = errno;
    close(fd);
    if (n < 0) {
        g_set_error(errp, BLK_ERROR, err, "Could not read '%s': %s", filename, g_strerror(err));
        return -err;
    }
    *drv = blk_probe_buffer(buf, (size_t)n);
    return 0;
}

int blk_pread_full(int fd, void *buf, size_t bytes, uint64_t offset)
{
    uint8_t *p = buf;
    while (bytes > 0) {
        ssize_t n = pread(fd, p, bytes, (off_t)offset);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            memset(p, 0, bytes);   /* past the end of the file reads as zeros */
            return 0;
        }
        p += n;
        bytes -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

int blk_pwrite_full(int fd, const void *buf, size_t bytes, uint64_t offset)
{
    const uint8_t *p = buf;
    while (bytes > 0) {
        ssize_t n = pwrite(fd, p, bytes, (off_t)offset);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += n;
        bytes -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

char *blk_resolve_backing(const char *image, const char *backing)
{
    if (backing == NULL) {
        return NULL;
    }
    if (g_path_is_absolute(backing) || strstr(backing, "://") != NULL) {
        return g_strdup(backing);
    }
    g_autofree char *dir = g_path_get_dirname(image);
    if (strcmp(dir, ".") == 0) {
        return g_strdup(backing);
    }
    return g_build_filename(dir, backing, NULL);
}

typedef struct BlkChainId {
    dev_t dev;
    ino_t ino;
} BlkChainId;

static int blk_open_chain(const char *filename, const char *format, int flags,
                          GArray *chain, BlkImage **out, GError **errp);

static int blk_open_backing(BlkImage *img, int flags, GArray *chain, GError **errp)
{
    if (img->backing_file == NULL || (flags & BLK_OPEN_NO_BACKING)) {
        return 0;
    }
    if (chain->len >= BLK_MAX_CHAIN_DEPTH) {
        g_set_error(errp, BLK_ERROR, ELOOP, "'%s': backing chain deeper than %d images",
                    img->filename, BLK_MAX_CHAIN_DEPTH);
        return -ELOOP;
    }
    /* Backing files are opened read-only and without repair. */
    int bflags = (flags & ~(BLK_OPEN_READ_WRITE | BLK_OPEN_CHECK)) | BLK_OPEN_NO_REPAIR;
    GError *local = NULL;
    int ret = blk_open_chain(img->full_backing_file, img->backing_format, bflags, chain,
                             &img->backing, &local);
    if (ret < 0) {
        g_set_error(errp, BLK_ERROR, -ret, "Could not open backing file of '%s': %s",
                    img->filename, local->message);
        g_error_free(local);
    }
    return ret;
}

static int blk_open_chain(const char *filename, const char *format, int flags,
                          GArray *chain, BlkImage **out, GError **errp)
{
    const BlkDriver *drv;
    bool probed = false;
    struct stat st;
    int ret;

    if (format != NULL) {
        drv = blk_find_driver(format);
        if (drv == NULL) {
            g_set_error(errp, BLK_ERROR, EINVAL, "'%s': unknown format '%s'", filename, format);
            return -EINVAL;
        }
    } else {
        ret = blk_probe_file(filename, &drv, errp);
        if (ret < 0) {
            return ret;
        }
        probed = true;
    }

    BlkImage *img = g_new0(BlkImage, 1);
    img->drv = drv;
    img->filename = g_strdup(filename);
    img->flags = flags | (probed && drv == blk_find_driver("raw") ? BLK_OPEN_PROBED_RAW : 0);
    img->fd = open(filename, ((flags & BLK_OPEN_READ_WRITE) ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (img->fd < 0) {
        ret = -errno;
        g_set_error(errp, BLK_ERROR, -ret, "Could not open '%s': %s", filename, g_strerror(-ret));
        goto out_free;
    }
    if (fstat(img->fd, &st) < 0) {
        ret = -errno;
        g_set_error(errp, BLK_ERROR, -ret, "Could not stat '%s': %s", filename, g_strerror(-ret));
        goto out_close_fd;
    }
    for (guint i = 0; i < chain->len; i++) {
        BlkChainId *id = &g_array_index(chain, BlkChainId, i);
        if (id->dev == st.st_dev && id->ino == st.st_ino) {
            ret = -ELOOP;
            g_set_error(errp, BLK_ERROR, ELOOP, "'%s': backing file loop (the image is its own "
                        "backing file, directly or through others)", filename);
            goto out_close_fd;
        }
    }
    BlkChainId self = { st.st_dev, st.st_ino };
    g_array_append_val(chain, self);

    if (!(flags & BLK_OPEN_FORCE_SHARE)) {
        unsigned perm = BLK_PERM_CONSISTENT_READ;
        unsigned shared = BLK_PERM_ALL & ~(BLK_PERM_WRITE | BLK_PERM_RESIZE);
        if (flags & BLK_OPEN_READ_WRITE) {
            perm |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
        }
        ret = blk_lock_apply(img->fd, perm, shared, filename, errp);
        if (ret < 0) {
            goto out_close_fd;
        }
    }

    ret = drv->open(img, errp);
    if (ret < 0) {
        goto out_close_fd;
    }
    ret = blk_open_backing(img, flags, chain, errp);
    if (ret < 0) {
        goto out_close_driver;
    }
    *out = img;
    return 0;

out_close_driver:
    drv->close(img);
out_close_fd:
    if (img->fd >= 0) {
        close(img->fd);   /* closing the descriptor drops its OFD locks */
    }
out_free:
    g_free(img->backing_file);
    g_free(img->backing_format);
    g_free(img->full_backing_file);
    g_free(img->filename);
    g_free(img);
    return ret;
}

int blk_open(const char *filename, const char *format, int flags, BlkImage **out, GError **errp)
{
    g_autoptr(GArray) chain = g_array_new(FALSE, FALSE, sizeof(BlkChainId));
    return blk_open_chain(filename, format, flags, chain, out, errp);
}

void blk_close(BlkImage *img)
{
    if (img == NULL) {
        return;
    }
    img->drv->close(img);
    blk_close(img->backing);
    close(img->fd);
    g_free(img->backing_file);
    g_free(img->backing_format);
    g_free(img->full_backing_file);
    g_free(img->filename);
    g_free(img);
}

int blk_create(const char *filename, const char *format, const BlkCreateOptions *opts,
               GError **errp)
{
    const BlkDriver *drv = blk_find_driver(format ? format : "raw");
    if (drv == NULL || drv->create == NULL) {
        g_set_error(errp, BLK_ERROR, ENOTSUP, "Format '%s' cannot create images", format);
        return -ENOTSUP;
    }
    return drv->create(filename, opts, errp);
}

static bool blk_range_ok(BlkImage *img, uint64_t offset, uint64_t bytes)
{
    return offset <= img->size && bytes <= img->size - offset;
}

int blk_read(BlkImage *img, uint64_t offset, void *buf, size_t bytes)
{
    if (!blk_range_ok(img, offset, bytes)) {
        return -EINVAL;
    }
    return bytes ? img->drv->read(img, offset, buf, bytes) : 0;
}

int blk_write(BlkImage *img, uint64_t offset, const void *buf, size_t bytes)
{
    if (!(img->flags & BLK_OPEN_READ_WRITE)) {
        return -EBADF;
    }
    if (!blk_range_ok(img, offset, bytes)) {
        return -EINVAL;
    }
    /* A probed raw image must not turn itself into another format. */
    if ((img->flags & BLK_OPEN_PROBED_RAW) && offset < 512 && bytes > 0) {
        uint8_t head[512];
        int ret = img->drv->read(img, 0, head, MIN(img->size, sizeof(head)));
        if (ret < 0) {
            return ret;
        }
        memcpy(head + offset, buf, MIN(bytes, sizeof(head) - offset));
        if (blk_probe_buffer(head, MIN(img->size, sizeof(head))) != img->drv) {
            return -EPERM;
        }
    }
    return bytes ? img->drv->write(img, offset, buf, bytes) : 0;
}

int blk_write_compressed(BlkImage *img, uint64_t offset, const void *buf, size_t bytes)
{
    if (!(img->flags & BLK_OPEN_READ_WRITE)) {
        return -EBADF;
    }
    if (!blk_range_ok(img, offset, bytes)) {
        return -EINVAL;
    }
    if (img->drv->write_compressed == NULL) {
        return -ENOTSUP;
    }
    return img->drv->write_compressed(img, offset, buf, bytes);
}

int blk_flush(BlkImage *img)
{
    if (!(img->flags & BLK_OPEN_READ_WRITE)) {
        return 0;
    }
    return img->drv->flush(img);
}

int blk_discard(BlkImage *img, uint64_t offset, uint64_t bytes)
{
    if (!(img->flags & BLK_OPEN_READ_WRITE)) {
        return -EBADF;
    }
    if (!blk_range_ok(img, offset, bytes)) {
        return -EINVAL;
    }
    return img->drv->discard ? img->drv->discard(img, offset, bytes) : 0;
}

int blk_write_zeroes(BlkImage *img, uint64_t offset, uint64_t bytes)
{
    if (!(img->flags & BLK_OPEN_READ_WRITE)) {
        return -EBADF;
    }
    if (!blk_range_ok(img, offset, bytes)) {
        return -EINVAL;
    }
    return img->drv->write_zeroes(img, offset, bytes);
}

int blk_block_status(BlkImage *img, uint64_t offset, uint64_t bytes,
                     uint64_t *pnum, uint64_t *host_offset, int *status)
{
    uint64_t dummy;
    if (!blk_range_ok(img, offset, bytes) || bytes == 0) {
        return -EINVAL;
    }
    return img->drv->block_status(img, offset, bytes, pnum, host_offset ? host_offset : &dummy,
                                  status);
}

int blk_block_status_above(BlkImage *img, uint64_t offset, uint64_t bytes,
                           uint64_t *pnum, uint64_t *host_offset, int *status, int *depth)
{
    int d = 0;
    uint64_t n = bytes;
    for (BlkImage *layer = img; layer != NULL; layer = layer->backing, d++) {
        if (offset >= layer->size) {
            /* Past the end of a shorter backing file: zeros. */
            *pnum = n;
            *status = BLK_STATUS_ZERO;
            *depth = d;
            return 0;
        }
        uint64_t len = MIN(n, layer->size - offset);
        int ret = blk_block_status(layer, offset, len, pnum, host_offset, status);
        if (ret < 0) {
            return ret;
        }
        n = *pnum;
        if (*status & (BLK_STATUS_ALLOCATED | BLK_STATUS_ZERO | BLK_STATUS_DATA)) {
            *depth = d;
            return 0;
        }
    }
    /* Unallocated everywhere: zeros, reported at the bottom layer. */
    *pnum = n;
    *status = BLK_STATUS_ZERO;
    *depth = d - 1;
    return 0;
}

int blk_read_backing(BlkImage *img, uint64_t offset, void *buf, size_t bytes)
{
    BlkImage *bk = img->backing;
    if (bk == NULL || offset >= bk->size) {
        memset(buf, 0, bytes);
        return 0;
    }
    size_t n = (size_t)MIN((uint64_t)bytes, bk->size - offset);
    int ret = bk->drv->read(bk, offset, buf, n);
    if (ret < 0) {
        return ret;
    }
    memset((uint8_t *)buf + n, 0, bytes - n);
    return 0;
}

int blk_get_info(BlkImage *img, BlkInfo *info)
{
    struct stat st;
    memset(info, 0, sizeof(*info));
    info->format = img->drv->name;
    info->virtual_size = img->size;
    if (fstat(img->fd, &st) == 0) {
        info->actual_size = (uint64_t)st.st_blocks * 512;
    }
    info->backing_file = g_strdup(img->backing_file);
    info->backing_format = g_strdup(img->backing_format);
    info->full_backing_file = g_strdup(img->full_backing_file);
    return img->drv->get_info ? img->drv->get_info(img, info) : 0;
}

void blk_info_clear(BlkInfo *info)
{
    g_free(info->backing_file);
    g_free(info->backing_format);
    g_free(info->full_backing_file);
    memset(info, 0, sizeof(*info));
}

int blk_truncate(BlkImage *img, uint64_t size, bool shrink, GError **errp)
{
    if (!(img->flags & BLK_OPEN_READ_WRITE)) {
        g_set_error(errp, BLK_ERROR, EBADF, "'%s' is open read-only", img->filename);
        return -EBADF;
    }
    if (size < img->size && !shrink) {
        g_set_error(errp, BLK_ERROR, EINVAL, "'%s': shrinking needs --shrink", img->filename);
        return -EINVAL;
    }
    return img->drv->truncate(img, size, shrink, errp);
}

int blk_check(BlkImage *img, BlkCheckResult *res, int fix)
{
    memset(res, 0, sizeof(*res));
    if (img->drv->check == NULL) {
        return -ENOTSUP;
    }
    return img->drv->check(img, res, fix);
}

static int blk_no_snapshots(BlkImage *img, GError **errp)
{
    g_set_error(errp, BLK_ERROR, ENOTSUP, "'%s': format '%s' does not support snapshots",
                img->filename, img->drv->name);
    return -ENOTSUP;
}

int blk_snapshot_create(BlkImage *img, const char *name, uint64_t vm_state_size,
                        uint64_t vm_clock_nsec, uint64_t icount, GError **errp)
{
    if (img->drv->snapshot_create == NULL) {
        return blk_no_snapshots(img, errp);
    }
    return img->drv->snapshot_create(img, name, vm_state_size, vm_clock_nsec, icount, errp);
}

int blk_snapshot_apply(BlkImage *img, const char *id_or_name, GError **errp)
{
    if (img->drv->snapshot_apply == NULL) {
        return blk_no_snapshots(img, errp);
    }
    return img->drv->snapshot_apply(img, id_or_name, errp);
}

int blk_snapshot_delete(BlkImage *img, const char *id_or_name, GError **errp)
{
    if (img->drv->snapshot_delete == NULL) {
        return blk_no_snapshots(img, errp);
    }
    return img->drv->snapshot_delete(img, id_or_name, errp);
}

int blk_snapshot_list(BlkImage *img, BlkSnapshotInfo **list, int *count)
{
    *list = NULL;
    *count = 0;
    return img->drv->snapshot_list ? img->drv->snapshot_list(img, list, count) : 0;
}

void blk_snapshot_list_free(BlkSnapshotInfo *list, int count)
{
    for (int i = 0; i < count; i++) {
        g_free(list[i].id);
        g_free(list[i].name);
    }
    g_free(list);
}

int blk_vmstate_write(BlkImage *img, uint64_t pos, const void *buf, size_t bytes)
{
    if (img->drv->vmstate_write == NULL) {
        return -ENOTSUP;
    }
    if (!(img->flags & BLK_OPEN_READ_WRITE)) {
        return -EBADF;
    }
    return img->drv->vmstate_write(img, pos, buf, bytes);
}

int blk_vmstate_read(BlkImage *img, const char *snapshot, uint64_t pos, void *buf, size_t bytes)
{
    if (img->drv->vmstate_read == NULL) {
        return -ENOTSUP;
    }
    return img->drv->vmstate_read(img, snapshot, pos, buf, bytes);
}

int blk_snapshot_read(BlkImage *img, const char *snapshot, uint64_t offset, void *buf,
                      size_t bytes)
{
    if (img->drv->snapshot_read == NULL) {
        return -ENOTSUP;
    }
    return img->drv->snapshot_read(img, snapshot, offset, buf, bytes);
}

int blk_set_backing(BlkImage *img, const char *file, const char *format, GError **errp)
{
    if (img->drv->set_backing == NULL) {
        g_set_error(errp, BLK_ERROR, ENOTSUP, "'%s': format '%s' has no backing files",
                    img->filename, img->drv->name);
        return -ENOTSUP;
    }
    return img->drv->set_backing(img, file, format, errp);
}

int blk_make_empty(BlkImage *img)
{
    return img->drv->make_empty ? img->drv->make_empty(img) : -ENOTSUP;
}

int blk_parse_size(const char *text, uint64_t *out)
{
    char *end = NULL;
    if (text == NULL || *text == '\0' || *text == '-') {
        return -EINVAL;
    }
    errno = 0;
    double value = g_ascii_strtod(text, &end);
    if (errno != 0 || end == text || value < 0) {
        return -EINVAL;
    }
    uint64_t mult = 1;
    switch (g_ascii_toupper(*end)) {
    case '\0': break;
    case 'B': mult = 1; end++; break;
    case 'K': mult = 1ULL << 10; end++; break;
    case 'M': mult = 1ULL << 20; end++; break;
    case 'G': mult = 1ULL << 30; end++; break;
    case 'T': mult = 1ULL << 40; end++; break;
    case 'P': mult = 1ULL << 50; end++; break;
    case 'E': mult = 1ULL << 60; end++; break;
    default: return -EINVAL;
    }
    if (*end != '\0') {
        return -EINVAL;
    }
    double bytes = value * (double)mult;
    if (bytes >= 18446744073709551616.0) {
        return -ERANGE;
    }
    /* Fractions are only meaningful with a unit (qemu-img: "1.5G"). */
    if (mult == 1 && strchr(text, '.') != NULL) {
        return -EINVAL;
    }
    *out = (uint64_t)bytes;
    return 0;
}
