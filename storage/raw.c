/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The raw driver: guest offsets are file offsets; holes report as zeros. */
#include "storage/block.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int raw_probe(const uint8_t *buf, size_t length)
{
    return 1;   /* anything is raw, with the lowest score */
}

static int raw_open(BlkImage *img, GError **errp)
{
    struct stat st;
    if (fstat(img->fd, &st) < 0) {
        int err = errno;
        g_set_error(errp, BLK_ERROR, err, "Could not stat '%s': %s", img->filename,
                    g_strerror(err));
        return -err;
    }
    img->size = S_ISBLK(st.st_mode) ? (uint64_t)lseek(img->fd, 0, SEEK_END) : (uint64_t)st.st_size;
    return 0;
}

static void raw_close(BlkImage *img)
{
}

static int raw_create(const char *filename, const BlkCreateOptions *opts, GError **errp)
{
    int ret = 0;
    int fd = open(filename, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ret = -errno;
        g_set_error(errp, BLK_ERROR, -ret, "Could not create '%s': %s", filename,
                    g_strerror(-ret));
        return ret;
    }
    if (ftruncate(fd, (off_t)opts->size) < 0) {
        ret = -errno;
        g_set_error(errp, BLK_ERROR, -ret, "Could not resize '%s': %s", filename,
                    g_strerror(-ret));
        goto out_close;
    }
    if (opts->preallocation == BLK_PREALLOC_FALLOC || opts->preallocation == BLK_PREALLOC_FULL) {
        if (opts->size > 0 && fallocate(fd, 0, 0, (off_t)opts->size) < 0) {
            ret = -errno;
            g_set_error(errp, BLK_ERROR, -ret, "Could not preallocate '%s': %s", filename,
                        g_strerror(-ret));
        }
    }
out_close:
    close(fd);
    return ret;
}

static int raw_read(BlkImage *img, uint64_t offset, void *buf, size_t bytes)
{
    return blk_pread_full(img->fd, buf, bytes, offset);
}

static int raw_write(BlkImage *img, uint64_t offset, const void *buf, size_t bytes)
{
    return blk_pwrite_full(img->fd, buf, bytes, offset);
}

static int raw_flush(BlkImage *img)
{
    if (img->flags & BLK_OPEN_UNSAFE) {
        return 0;
    }
    return fdatasync(img->fd) < 0 ? -errno : 0;
}

static int raw_discard(BlkImage *img, uint64_t offset, uint64_t bytes)
{
    /* Discard is advisory; punching a hole also keeps the data reading as zeros. */
    if (fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset,
                  (off_t)bytes) < 0 && errno != EOPNOTSUPP) {
        return -errno;
    }
    return 0;
}

static int raw_write_zeroes(BlkImage *img, uint64_t offset, uint64_t bytes)
{
    if (fallocate(img->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)offset,
                  (off_t)bytes) == 0) {
        return 0;
    }
    static const uint8_t zeros[65536];
    while (bytes > 0) {
        size_t n = (size_t)MIN(bytes, sizeof(zeros));
        int ret = blk_pwrite_full(img->fd, zeros, n, offset);
        if (ret < 0) {
            return ret;
        }
        offset += n;
        bytes -= n;
    }
    return 0;
}

static int raw_block_status(BlkImage *img, uint64_t offset, uint64_t bytes,
                            uint64_t *pnum, uint64_t *host_offset, int *status)
{
    off_t data = lseek(img->fd, (off_t)offset, SEEK_DATA);
    *host_offset = offset;
    if (data < 0 && errno == ENXIO) {
        /* Only a hole up to the end of the file. */
        *pnum = bytes;
        *status = BLK_STATUS_ZERO | BLK_STATUS_ALLOCATED | BLK_STATUS_OFFSET;
        return 0;
    }
    if (data < 0) {
        *pnum = bytes;
        *status = BLK_STATUS_DATA | BLK_STATUS_ALLOCATED | BLK_STATUS_OFFSET;
        return 0;
    }
    if ((uint64_t)data > offset) {
        *pnum = MIN(bytes, (uint64_t)data - offset);
        *status = BLK_STATUS_ZERO | BLK_STATUS_ALLOCATED | BLK_STATUS_OFFSET;
        return 0;
    }
    off_t hole = lseek(img->fd, (off_t)offset, SEEK_HOLE);
    if (hole < 0 || (uint64_t)hole <= offset) {
        *pnum = bytes;
    } else {
        *pnum = MIN(bytes, (uint64_t)hole - offset);
    }
    *status = BLK_STATUS_DATA | BLK_STATUS_ALLOCATED | BLK_STATUS_OFFSET;
    return 0;
}

static int raw_truncate(BlkImage *img, uint64_t size, bool shrink, GError **errp)
{
    if (ftruncate(img->fd, (off_t)size) < 0) {
        int err = errno;
        g_set_error(errp, BLK_ERROR, err, "Could not resize '%s': %s", img->filename,
                    g_strerror(err));
        return -err;
    }
    img->size = size;
    return 0;
}

const BlkDriver blk_driver_raw = {
    .name = "raw",
    .probe = raw_probe,
    .open = raw_open,
    .close = raw_close,
    .create = raw_create,
    .read = raw_read,
    .write = raw_write,
    .flush = raw_flush,
    .discard = raw_discard,
    .write_zeroes = raw_write_zeroes,
    .block_status = raw_block_status,
    .truncate = raw_truncate,
};
