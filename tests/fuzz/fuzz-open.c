/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the image opener: the input is an image file; it is
 * probed, opened read-only (no backing files) and, when it opens, read,
 * mapped, listed and checked. Nothing may crash or trip the sanitizers. */
#include "storage/block.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-image", MFD_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    if (size > 0 && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    BlkImage *img = NULL;
    GError *err = NULL;
    if (blk_open(path, NULL, BLK_OPEN_NO_BACKING | BLK_OPEN_FORCE_SHARE, &img, &err) == 0) {
        uint8_t buf[65536];
        uint64_t limit = img->size < (8u << 20) ? img->size : (8u << 20);
        for (uint64_t off = 0; off < limit; off += sizeof(buf)) {
            size_t n = (size_t)MIN((uint64_t)sizeof(buf), limit - off);
            blk_read(img, off, buf, n);
        }
        for (uint64_t off = 0; off < img->size;) {
            uint64_t pnum = 0, host;
            int status;
            if (blk_block_status(img, off, img->size - off, &pnum, &host, &status) < 0 ||
                pnum == 0) {
                break;
            }
            off += pnum;
        }
        BlkSnapshotInfo *sn;
        int count;
        blk_snapshot_list(img, &sn, &count);
        for (int i = 0; i < count && i < 4; i++) {
            blk_snapshot_read(img, sn[i].id, 0, buf, sizeof(buf) < img->size ? sizeof(buf) : 0);
            blk_vmstate_read(img, sn[i].id, 0, buf, 4096);
        }
        blk_snapshot_list_free(sn, count);
        BlkCheckResult r;
        blk_check(img, &r, 0);
        blk_close(img);
    } else {
        g_clear_error(&err);
    }
    close(fd);
    return 0;
}
