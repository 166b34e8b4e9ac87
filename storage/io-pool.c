/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Block I/O worker pool (GThreadPool): the synchronous driver calls run on
 * workers; completions are posted to the submitter's GMainContext. */
#include "storage/io-pool.h"

typedef enum BlkIoKind {
    BLK_IO_READ, BLK_IO_WRITE, BLK_IO_FLUSH, BLK_IO_DISCARD, BLK_IO_WRITE_ZEROES,
} BlkIoKind;

typedef struct BlkIoRequest {
    BlkIoKind kind;
    BlkImage *img;
    uint64_t offset;
    uint64_t bytes;
    void *buf;
    GMainContext *ctx;
    BlkIoDone done;
    void *opaque;
    int ret;
} BlkIoRequest;

struct BlkIoPool {
    GThreadPool *threads;
};

static gboolean blk_io_complete(gpointer data)
{
    BlkIoRequest *req = data;
    req->done(req->ret, req->opaque);
    if (req->ctx) {
        g_main_context_unref(req->ctx);
    }
    g_free(req);
    return G_SOURCE_REMOVE;
}

static void blk_io_worker(gpointer data, gpointer user_data)
{
    BlkIoRequest *req = data;
    switch (req->kind) {
    case BLK_IO_READ:
        req->ret = blk_read(req->img, req->offset, req->buf, req->bytes);
        break;
    case BLK_IO_WRITE:
        req->ret = blk_write(req->img, req->offset, req->buf, req->bytes);
        break;
    case BLK_IO_FLUSH:
        req->ret = blk_flush(req->img);
        break;
    case BLK_IO_DISCARD:
        req->ret = blk_discard(req->img, req->offset, req->bytes);
        break;
    case BLK_IO_WRITE_ZEROES:
        req->ret = blk_write_zeroes(req->img, req->offset, req->bytes);
        break;
    }
    if (req->ctx == NULL) {
        blk_io_complete(req);
        return;
    }
    GSource *src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, blk_io_complete, req, NULL);
    g_source_attach(src, req->ctx);
    g_source_unref(src);
}

BlkIoPool *blk_io_pool_new(int threads)
{
    BlkIoPool *pool = g_new0(BlkIoPool, 1);
    pool->threads = g_thread_pool_new(blk_io_worker, pool, MAX(threads, 1), FALSE, NULL);
    return pool;
}

void blk_io_pool_free(BlkIoPool *pool)
{
    if (pool == NULL) {
        return;
    }
    g_thread_pool_free(pool->threads, FALSE, TRUE);
    g_free(pool);
}

static void blk_io_submit(BlkIoPool *pool, BlkIoKind kind, BlkImage *img, uint64_t offset,
                          uint64_t bytes, void *buf, GMainContext *ctx, BlkIoDone done,
                          void *opaque)
{
    BlkIoRequest *req = g_new0(BlkIoRequest, 1);
    *req = (BlkIoRequest) {
        .kind = kind, .img = img, .offset = offset, .bytes = bytes, .buf = buf,
        .ctx = ctx ? g_main_context_ref(ctx) : NULL, .done = done, .opaque = opaque,
    };
    g_thread_pool_push(pool->threads, req, NULL);
}

void blk_aio_read(BlkIoPool *pool, BlkImage *img, uint64_t offset, void *buf, size_t bytes,
                  GMainContext *ctx, BlkIoDone done, void *opaque)
{
    blk_io_submit(pool, BLK_IO_READ, img, offset, bytes, buf, ctx, done, opaque);
}

void blk_aio_write(BlkIoPool *pool, BlkImage *img, uint64_t offset, const void *buf,
                   size_t bytes, GMainContext *ctx, BlkIoDone done, void *opaque)
{
    blk_io_submit(pool, BLK_IO_WRITE, img, offset, bytes, (void *)buf, ctx, done, opaque);
}

void blk_aio_flush(BlkIoPool *pool, BlkImage *img, GMainContext *ctx, BlkIoDone done,
                   void *opaque)
{
    blk_io_submit(pool, BLK_IO_FLUSH, img, 0, 0, NULL, ctx, done, opaque);
}

void blk_aio_discard(BlkIoPool *pool, BlkImage *img, uint64_t offset, uint64_t bytes,
                     GMainContext *ctx, BlkIoDone done, void *opaque)
{
    blk_io_submit(pool, BLK_IO_DISCARD, img, offset, bytes, NULL, ctx, done, opaque);
}

void blk_aio_write_zeroes(BlkIoPool *pool, BlkImage *img, uint64_t offset, uint64_t bytes,
                          GMainContext *ctx, BlkIoDone done, void *opaque)
{
    blk_io_submit(pool, BLK_IO_WRITE_ZEROES, img, offset, bytes, NULL, ctx, done, opaque);
}
