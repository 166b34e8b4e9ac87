/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qcow2 compressed clusters: raw deflate (zlib, 4 KiB window as qcow2 uses)
 * and zstd frames. Contexts are per thread so compression runs in parallel. */
#include "storage/qcow2.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

static __thread z_stream *qcow2_deflate_stream;
static __thread ZSTD_CCtx *qcow2_zstd_cctx;

/* Compress src into dest; -ENOSPC when the result would not fit in dest_size. */
ssize_t qcow2_compress(int type, uint8_t *dest, size_t dest_size, const uint8_t *src,
                       size_t src_size)
{
    if (type == BLK_COMPRESSION_ZSTD) {
        if (qcow2_zstd_cctx == NULL) {
            qcow2_zstd_cctx = ZSTD_createCCtx();
            if (qcow2_zstd_cctx == NULL) {
                return -ENOMEM;
            }
        }
        size_t n = ZSTD_compressCCtx(qcow2_zstd_cctx, dest, dest_size, src, src_size,
                                     ZSTD_CLEVEL_DEFAULT);
        if (ZSTD_isError(n)) {
            return ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall ? -ENOSPC : -EIO;
        }
        return (ssize_t)n;
    }
    if (qcow2_deflate_stream == NULL) {
        qcow2_deflate_stream = g_new0(z_stream, 1);
        if (deflateInit2(qcow2_deflate_stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
                         Z_DEFAULT_STRATEGY) != Z_OK) {
            g_clear_pointer(&qcow2_deflate_stream, g_free);
            return -ENOMEM;
        }
    } else {
        deflateReset(qcow2_deflate_stream);
    }
    z_stream *z = qcow2_deflate_stream;
    z->next_in = (Bytef *)src;
    z->avail_in = (uInt)src_size;
    z->next_out = dest;
    z->avail_out = (uInt)dest_size;
    int ret = deflate(z, Z_FINISH);
    if (ret != Z_STREAM_END) {
        return ret == Z_OK || ret == Z_BUF_ERROR ? -ENOSPC : -EIO;
    }
    return (ssize_t)(dest_size - z->avail_out);
}

/* Decompress exactly dest_size bytes; trailing input (sector padding, the
 * start of the next compressed cluster) is ignored. */
int qcow2_decompress(int type, uint8_t *dest, size_t dest_size, const uint8_t *src,
                     size_t src_size)
{
    if (type == BLK_COMPRESSION_ZSTD) {
        ZSTD_DCtx *d = ZSTD_createDCtx();
        if (d == NULL) {
            return -ENOMEM;
        }
        ZSTD_inBuffer in = { src, src_size, 0 };
        ZSTD_outBuffer out = { dest, dest_size, 0 };
        int ret = 0;
        while (out.pos < out.size) {
            size_t r = ZSTD_decompressStream(d, &out, &in);
            if (ZSTD_isError(r)) {
                ret = -EIO;
                break;
            }
            if (r == 0 || in.pos == in.size) {
                break;
            }
        }
        ZSTD_freeDCtx(d);
        if (ret == 0 && out.pos != out.size) {
            ret = -EIO;
        }
        return ret;
    }
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -12) != Z_OK) {
        return -ENOMEM;
    }
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)src_size;
    z.next_out = dest;
    z.avail_out = (uInt)dest_size;
    int r = inflate(&z, Z_FINISH);
    int ret = 0;
    if ((r != Z_STREAM_END && r != Z_BUF_ERROR && r != Z_OK) || z.avail_out != 0) {
        ret = -EIO;
    }
    inflateEnd(&z);
    return ret;
}
