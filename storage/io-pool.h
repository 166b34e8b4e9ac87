/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Worker pool for block I/O: requests run on worker threads and complete on
 * the caller's GMainContext, so the engine thread never blocks on the disk. */
#pragma once

#include "storage/block.h"

typedef struct BlkIoPool BlkIoPool;

/* Completion: ret is 0 or a negative errno. */
typedef void (*BlkIoDone)(int ret, void *opaque);

BlkIoPool *blk_io_pool_new(int threads);
/* Waits for every submitted request (their completions are still delivered
 * to their contexts, which the caller must keep running or dispatch). */
void blk_io_pool_free(BlkIoPool *pool);

/* Submit a request; done runs in ctx (or on the worker when ctx is NULL).
 * Buffers must stay valid until done runs. */
void blk_aio_read(BlkIoPool *pool, BlkImage *img, uint64_t offset, void *buf, size_t bytes,
                  GMainContext *ctx, BlkIoDone done, void *opaque);
void blk_aio_write(BlkIoPool *pool, BlkImage *img, uint64_t offset, const void *buf,
                   size_t bytes, GMainContext *ctx, BlkIoDone done, void *opaque);
void blk_aio_flush(BlkIoPool *pool, BlkImage *img, GMainContext *ctx, BlkIoDone done,
                   void *opaque);
void blk_aio_discard(BlkIoPool *pool, BlkImage *img, uint64_t offset, uint64_t bytes,
                     GMainContext *ctx, BlkIoDone done, void *opaque);
void blk_aio_write_zeroes(BlkIoPool *pool, BlkImage *img, uint64_t offset, uint64_t bytes,
                          GMainContext *ctx, BlkIoDone done, void *opaque);
