/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The block I/O worker pool: many concurrent writes to raw and qcow2 images,
 * completions delivered on the submitter's main context, data read back. */
#include "storage/io-pool.h"

#include <string.h>
#include <unistd.h>

typedef struct Pending {
    int outstanding;
    int errors;
    GThread *owner;
} Pending;

static void on_done(int ret, void *opaque)
{
    Pending *p = opaque;
    g_assert_true(g_thread_self() == p->owner);
    if (ret < 0) {
        p->errors++;
    }
    p->outstanding--;
}

static void run_pool(const char *format)
{
    g_autofree char *dir = g_dir_make_tmp("test-io-pool-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "img", NULL);
    const int requests = 256;
    const size_t block = 12288;
    BlkCreateOptions o = { .size = (uint64_t)requests * block, .cluster_size = 4096 };
    g_assert_cmpint(blk_create(path, format, &o, NULL), ==, 0);
    BlkImage *img;
    g_assert_cmpint(blk_open(path, format, BLK_OPEN_READ_WRITE, &img, NULL), ==, 0);

    GMainContext *ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    BlkIoPool *pool = blk_io_pool_new(4);
    Pending p = { .owner = g_thread_self() };
    uint8_t *data = g_malloc((size_t)requests * block);
    for (int i = 0; i < requests; i++) {
        memset(data + (size_t)i * block, i + 1, block);
        p.outstanding++;
        blk_aio_write(pool, img, (uint64_t)i * block, data + (size_t)i * block, block, ctx,
                      on_done, &p);
    }
    while (p.outstanding > 0) {
        g_main_context_iteration(ctx, TRUE);
    }
    p.outstanding = 2;
    blk_aio_flush(pool, img, ctx, on_done, &p);
    blk_aio_discard(pool, img, 0, 4096, ctx, on_done, &p);
    while (p.outstanding > 0) {
        g_main_context_iteration(ctx, TRUE);
    }
    memset(data, 0, 4096);
    uint8_t *back = g_malloc((size_t)requests * block);
    p.outstanding = 1;
    blk_aio_read(pool, img, 0, back, (size_t)requests * block, ctx, on_done, &p);
    while (p.outstanding > 0) {
        g_main_context_iteration(ctx, TRUE);
    }
    g_assert_cmpint(p.errors, ==, 0);
    g_assert_true(memcmp(back, data, (size_t)requests * block) == 0);
    blk_io_pool_free(pool);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
    if (strcmp(format, "qcow2") == 0) {
        BlkCheckResult r;
        g_assert_cmpint(blk_check(img, &r, 0), ==, 0);
        g_assert_cmpint(r.corruptions + r.leaks, ==, 0);
    }
    blk_close(img);
    g_free(data);
    g_free(back);
    unlink(path);
    rmdir(dir);
}

static void test_qcow2(void)
{
    run_pool("qcow2");
}

static void test_raw(void)
{
    run_pool("raw");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/storage/io-pool/qcow2", test_qcow2);
    g_test_add_func("/storage/io-pool/raw", test_raw);
    return g_test_run();
}
