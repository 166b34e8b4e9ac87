/* SPDX-License-Identifier: GPL-2.0-or-later */
/* QEMU-compatible image locking: open-file-description byte locks, one byte per
 * permission held (100 + bit) and per permission not shared (200 + bit). */
#include "storage/block.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define BLK_LOCK_PERM_BASE   100
#define BLK_LOCK_SHARED_BASE 200
#define BLK_LOCK_BITS        5

static const char *const blk_perm_names[BLK_LOCK_BITS] = {
    "consistent read", "write", "write unchanged", "resize", "change children",
};

static int blk_lock_byte(int fd, int type, off_t byte)
{
    struct flock fl = {
        .l_type = (short)type,
        .l_whence = SEEK_SET,
        .l_start = byte,
        .l_len = 1,
    };
    return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* Is the byte locked by another open file description? */
static int blk_lock_test(int fd, off_t byte)
{
    struct flock fl = {
        .l_type = F_WRLCK,
        .l_whence = SEEK_SET,
        .l_start = byte,
        .l_len = 1,
    };
    if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
        return -errno;
    }
    return fl.l_type != F_UNLCK;
}

int blk_lock_apply(int fd, unsigned perm, unsigned shared, const char *filename, GError **errp)
{
    int ret;

    /* Take shared (read) locks first, then look for conflicting ones: the
     * same protocol QEMU uses, so both programs see each other. */
    for (int i = 0; i < BLK_LOCK_BITS; i++) {
        if (perm & (1u << i)) {
            ret = blk_lock_byte(fd, F_RDLCK, BLK_LOCK_PERM_BASE + i);
            if (ret < 0) {
                goto out_failed;
            }
        }
        if (!(shared & (1u << i))) {
            ret = blk_lock_byte(fd, F_RDLCK, BLK_LOCK_SHARED_BASE + i);
            if (ret < 0) {
                goto out_failed;
            }
        }
    }
    for (int i = 0; i < BLK_LOCK_BITS; i++) {
        if ((perm & (1u << i)) && blk_lock_test(fd, BLK_LOCK_SHARED_BASE + i) > 0) {
            g_set_error(errp, BLK_ERROR, EAGAIN,
                        "Failed to get \"%s\" lock on '%s': is another process using the image?",
                        blk_perm_names[i], filename);
            ret = -EAGAIN;
            goto out_unlock;
        }
        if (!(shared & (1u << i)) && blk_lock_test(fd, BLK_LOCK_PERM_BASE + i) > 0) {
            g_set_error(errp, BLK_ERROR, EAGAIN,
                        "Failed to get shared \"%s\" lock on '%s': is another process using "
                        "the image?", blk_perm_names[i], filename);
            ret = -EAGAIN;
            goto out_unlock;
        }
    }
    return 0;

out_failed:
    g_set_error(errp, BLK_ERROR, -ret, "Could not lock '%s': %s", filename, g_strerror(-ret));
out_unlock:
    for (int i = 0; i < BLK_LOCK_BITS; i++) {
        blk_lock_byte(fd, F_UNLCK, BLK_LOCK_PERM_BASE + i);
        blk_lock_byte(fd, F_UNLCK, BLK_LOCK_SHARED_BASE + i);
    }
    return ret;
}
