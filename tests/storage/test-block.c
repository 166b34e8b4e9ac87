/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the block layer: qcow2 and raw against an in-memory model of
 * the disk (random writes, zeroes, discards, snapshots, reopen), cluster
 * sizes 512 B to 2 MiB, refcount widths 1 to 64, backing files, compression,
 * the VM-state area, resize, check/repair and size parsing. */
#include "storage/block.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

typedef struct Fixture {
    char *dir;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->dir = g_dir_make_tmp("test-block-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    g_autoptr(GDir) d = g_dir_open(f->dir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL) {
        g_autofree char *p = g_build_filename(f->dir, name, NULL);
        unlink(p);
    }
    rmdir(f->dir);
    g_free(f->dir);
}

static BlkImage *open_image(const char *path, int flags)
{
    BlkImage *img = NULL;
    g_autoptr(GError) err = NULL;
    int ret = blk_open(path, NULL, flags, &img, &err);
    g_assert_no_error(err);
    g_assert_cmpint(ret, ==, 0);
    return img;
}

static void create_qcow2(const char *path, uint64_t size, uint32_t cs, int compat, int rbits,
                         const char *backing)
{
    BlkCreateOptions o = { .size = size, .cluster_size = cs, .compat = compat,
                           .refcount_bits = rbits, .backing_file = backing,
                           .backing_format = backing ? "qcow2" : NULL };
    g_autoptr(GError) err = NULL;
    g_assert_cmpint(blk_create(path, "qcow2", &o, &err), ==, 0);
    g_assert_no_error(err);
}

static void assert_clean(BlkImage *img)
{
    BlkCheckResult r;
    g_assert_cmpint(blk_check(img, &r, 0), ==, 0);
    g_assert_cmpint(r.corruptions, ==, 0);
    g_assert_cmpint(r.leaks, ==, 0);
    g_assert_cmpint(r.check_errors, ==, 0);
}

static void assert_content(BlkImage *img, const uint8_t *model, uint64_t size)
{
    g_autofree uint8_t *buf = g_malloc(size);
    g_assert_cmpint(blk_read(img, 0, buf, size), ==, 0);
    for (uint64_t i = 0; i < size; i++) {
        if (buf[i] != model[i]) {
            g_error("content mismatch at %" PRIu64 ": %#x != %#x", i, buf[i], model[i]);
        }
    }
}

typedef struct ModelParams {
    uint32_t cluster_size;
    int compat;
    int refcount_bits;
    uint64_t size;
    int ops;
    bool snapshots;
} ModelParams;

/* Random operations checked against a byte model, reopening and checking
 * consistency along the way. */
static void test_model(Fixture *f, gconstpointer data)
{
    const ModelParams *p = data;
    g_autofree char *path = g_build_filename(f->dir, "model.qcow2", NULL);
    create_qcow2(path, p->size, p->cluster_size, p->compat, p->refcount_bits, NULL);
    BlkImage *img = open_image(path, BLK_OPEN_READ_WRITE | BLK_OPEN_UNSAFE);
    g_autofree uint8_t *model = g_malloc0(p->size);
    g_autofree uint8_t *buf = g_malloc(p->size);
    uint8_t *snaps[4] = { NULL };
    GRand *r = g_rand_new_with_seed(p->cluster_size * 31 + (guint32)p->refcount_bits);

    for (int i = 0; i < p->ops; i++) {
        int op = g_rand_int_range(r, 0, 100);
        g_assert_cmpuint(img->size, ==, p->size);
        uint64_t off = (uint64_t)g_rand_int_range(r, 0, (gint32)p->size);
        uint64_t len = (uint64_t)g_rand_int_range(r, 1, (gint32)(p->cluster_size * 5));
        len = MIN(len, p->size - off);
        if (g_getenv("TEST_BLOCK_DEBUG")) {
            g_printerr("op %d: %d off %" PRIu64 " len %" PRIu64 "\n", i, op, off, len);
            assert_clean(img);
            assert_content(img, model, p->size);
        }
        if (op < 55) {
            memset(buf, (i % 250) + 1, len);
            g_assert_cmpint(blk_write(img, off, buf, len), ==, 0);
            memcpy(model + off, buf, len);
        } else if (op < 65) {
            g_assert_cmpint(blk_write_zeroes(img, off, len), ==, 0);
            memset(model + off, 0, len);
        } else if (op < 75) {
            /* Discard without a backing file: whole clusters read as zeros. */
            g_assert_cmpint(blk_discard(img, off, len), ==, 0);
            uint64_t a = (off + p->cluster_size - 1) / p->cluster_size * p->cluster_size;
            uint64_t b = (off + len) / p->cluster_size * p->cluster_size;
            if (off + len == p->size) {
                b = off + len;
            }
            if (b > a) {
                memset(model + a, 0, b - a);
            }
        } else if (op < 80) {
            g_assert_cmpint(blk_flush(img), ==, 0);
        } else if (op < 84) {
            blk_close(img);
            img = open_image(path, BLK_OPEN_READ_WRITE);
            assert_clean(img);
            assert_content(img, model, p->size);
        } else if (p->snapshots && op < 92) {
            int slot = g_rand_int_range(r, 0, 4);
            g_autofree char *name = g_strdup_printf("s%d", slot);
            g_autoptr(GError) err = NULL;
            if (snaps[slot] == NULL) {
                int ret = blk_snapshot_create(img, name, 0, 0, 0, &err);
                if (ret == -ERANGE && p->refcount_bits <= 2) {
                    /* Refcounts would overflow: refused, image unchanged. */
                    g_clear_error(&err);
                    assert_content(img, model, p->size);
                } else {
                    g_assert_cmpint(ret, ==, 0);
                    snaps[slot] = g_memdup2(model, p->size);
                }
            } else if (op < 88) {
                g_assert_cmpint(blk_snapshot_apply(img, name, &err), ==, 0);
                memcpy(model, snaps[slot], p->size);
            } else {
                g_assert_cmpint(blk_snapshot_read(img, name, 0, buf, p->size), ==, 0);
                g_assert_true(memcmp(buf, snaps[slot], p->size) == 0);
                g_assert_cmpint(blk_snapshot_delete(img, name, &err), ==, 0);
                g_clear_pointer(&snaps[slot], g_free);
            }
            g_assert_no_error(err);
            assert_clean(img);
        } else {
            g_assert_cmpint(blk_read(img, off, buf, len), ==, 0);
            g_assert_true(memcmp(buf, model + off, len) == 0);
        }
    }
    assert_content(img, model, p->size);
    assert_clean(img);
    blk_close(img);
    for (int i = 0; i < 4; i++) {
        g_free(snaps[i]);
    }
    g_rand_free(r);
}

static void test_backing(Fixture *f, gconstpointer data)
{
    g_autofree char *base = g_build_filename(f->dir, "base.qcow2", NULL);
    g_autofree char *top = g_build_filename(f->dir, "top.qcow2", NULL);
    const uint64_t size = 4 << 20;
    g_autofree uint8_t *model = g_malloc(size);
    create_qcow2(base, size, 65536, 3, 16, NULL);
    BlkImage *img = open_image(base, BLK_OPEN_READ_WRITE);
    for (uint64_t i = 0; i < size; i++) {
        model[i] = (uint8_t)(i * 7 + 3);
    }
    g_assert_cmpint(blk_write(img, 0, model, size), ==, 0);
    blk_close(img);
    create_qcow2(top, size, 4096, 3, 16, "base.qcow2");
    img = open_image(top, BLK_OPEN_READ_WRITE);
    g_assert_cmpuint(img->size, ==, size);
    g_assert_nonnull(img->backing);
    uint8_t buf[10000];
    memset(buf, 0xee, sizeof(buf));
    g_assert_cmpint(blk_write(img, 5000, buf, sizeof(buf)), ==, 0);
    memcpy(model + 5000, buf, sizeof(buf));
    g_assert_cmpint(blk_write_zeroes(img, 65536, 65536), ==, 0);
    memset(model + 65536, 0, 65536);
    g_assert_cmpint(blk_discard(img, 1 << 20, 8192), ==, 0);
    memset(model + (1 << 20), 0, 8192);   /* v3 with a backing file: zero clusters */
    assert_content(img, model, size);
    assert_clean(img);
    blk_close(img);
}

static void test_loop(Fixture *f, gconstpointer data)
{
    g_autofree char *a = g_build_filename(f->dir, "a.qcow2", NULL);
    g_autofree char *b = g_build_filename(f->dir, "b.qcow2", NULL);
    create_qcow2(a, 1 << 20, 65536, 3, 16, NULL);
    create_qcow2(b, 1 << 20, 65536, 3, 16, NULL);
    BlkImage *img = open_image(a, BLK_OPEN_READ_WRITE | BLK_OPEN_NO_BACKING);
    g_assert_cmpint(blk_set_backing(img, "b.qcow2", "qcow2", NULL), ==, 0);
    blk_close(img);
    img = open_image(b, BLK_OPEN_READ_WRITE | BLK_OPEN_NO_BACKING);
    g_assert_cmpint(blk_set_backing(img, "a.qcow2", "qcow2", NULL), ==, 0);
    blk_close(img);
    g_autoptr(GError) err = NULL;
    g_assert_cmpint(blk_open(a, NULL, 0, &img, &err), ==, -ELOOP);
    g_assert_nonnull(strstr(err->message, "loop"));
}

static void test_compressed(Fixture *f, gconstpointer data)
{
    int type = GPOINTER_TO_INT(data);
    g_autofree char *path = g_build_filename(f->dir, "c.qcow2", NULL);
    BlkCreateOptions o = { .size = 1 << 20, .cluster_size = 4096, .compression_type = type };
    g_assert_cmpint(blk_create(path, "qcow2", &o, NULL), ==, 0);
    BlkImage *img = open_image(path, BLK_OPEN_READ_WRITE);
    g_autofree uint8_t *model = g_malloc0(1 << 20);
    for (int c = 0; c < 256; c += 3) {
        for (int i = 0; i < 4096; i++) {
            model[c * 4096 + i] = (uint8_t)((i / 64) ^ c);
        }
        g_assert_cmpint(blk_write_compressed(img, (uint64_t)c * 4096, model + c * 4096, 4096),
                        ==, 0);
    }
    assert_content(img, model, 1 << 20);
    assert_clean(img);
    memset(model + 4000, 0x55, 300);
    g_assert_cmpint(blk_write(img, 4000, model + 4000, 300), ==, 0);
    assert_content(img, model, 1 << 20);
    assert_clean(img);
    blk_close(img);
}

static void test_vmstate(Fixture *f, gconstpointer data)
{
    g_autofree char *path = g_build_filename(f->dir, "vm.qcow2", NULL);
    create_qcow2(path, 3 << 20, 65536, 3, 16, NULL);
    BlkImage *img = open_image(path, BLK_OPEN_READ_WRITE);
    g_autofree uint8_t *state = g_malloc(5 << 20);
    for (int i = 0; i < (5 << 20); i++) {
        state[i] = (uint8_t)(i ^ (i >> 9));
    }
    g_assert_cmpint(blk_vmstate_write(img, 0, state, 5 << 20), ==, 0);
    g_assert_cmpint(blk_snapshot_create(img, "with-state", 5 << 20, 123456789, 42, NULL), ==, 0);
    g_autofree uint8_t *back = g_malloc(5 << 20);
    g_assert_cmpint(blk_vmstate_read(img, "with-state", 0, back, 5 << 20), ==, 0);
    g_assert_true(memcmp(state, back, 5 << 20) == 0);
    BlkSnapshotInfo *sn;
    int count;
    blk_snapshot_list(img, &sn, &count);
    g_assert_cmpint(count, ==, 1);
    g_assert_cmpuint(sn[0].vm_state_size, ==, 5 << 20);
    g_assert_cmpuint(sn[0].vm_clock_nsec, ==, 123456789);
    g_assert_cmpuint(sn[0].icount, ==, 42);
    g_assert_cmpuint(sn[0].disk_size, ==, 3 << 20);
    blk_snapshot_list_free(sn, count);
    assert_clean(img);
    blk_close(img);
}

static void test_resize(Fixture *f, gconstpointer data)
{
    g_autofree char *path = g_build_filename(f->dir, "r.qcow2", NULL);
    create_qcow2(path, 1 << 20, 512, 3, 16, NULL);
    BlkImage *img = open_image(path, BLK_OPEN_READ_WRITE);
    uint8_t buf[4096];
    memset(buf, 0x42, sizeof(buf));
    g_assert_cmpint(blk_write(img, (1 << 20) - 4096, buf, 4096), ==, 0);
    g_assert_cmpint(blk_truncate(img, 64 << 20, false, NULL), ==, 0);
    g_assert_cmpint(blk_write(img, 60 << 20, buf, 4096), ==, 0);
    assert_clean(img);
    g_assert_cmpint(blk_truncate(img, 1 << 19, false, NULL), ==, -EINVAL);
    g_assert_cmpint(blk_truncate(img, 1 << 19, true, NULL), ==, 0);
    g_assert_cmpuint(img->size, ==, 1 << 19);
    assert_clean(img);
    blk_close(img);
}

static void test_raw(Fixture *f, gconstpointer data)
{
    g_autofree char *path = g_build_filename(f->dir, "r.raw", NULL);
    BlkCreateOptions o = { .size = 1 << 20 };
    g_assert_cmpint(blk_create(path, "raw", &o, NULL), ==, 0);
    BlkImage *img = open_image(path, BLK_OPEN_READ_WRITE);
    g_assert_cmpstr(img->drv->name, ==, "raw");
    /* A probed raw image may not write a qcow2 header into itself. */
    uint8_t magic[8] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
    g_assert_cmpint(blk_write(img, 0, magic, sizeof(magic)), ==, -EPERM);
    g_assert_cmpint(blk_write(img, 4096, magic, sizeof(magic)), ==, 0);
    uint8_t back[8];
    g_assert_cmpint(blk_read(img, 4096, back, 8), ==, 0);
    g_assert_true(memcmp(back, magic, 8) == 0);
    blk_close(img);
}

static void test_sizes(void)
{
    uint64_t v;
    g_assert_cmpint(blk_parse_size("512", &v), ==, 0);
    g_assert_cmpuint(v, ==, 512);
    g_assert_cmpint(blk_parse_size("64k", &v), ==, 0);
    g_assert_cmpuint(v, ==, 65536);
    g_assert_cmpint(blk_parse_size("1.5G", &v), ==, 0);
    g_assert_cmpuint(v, ==, 1610612736);
    g_assert_cmpint(blk_parse_size("2T", &v), ==, 0);
    g_assert_cmpuint(v, ==, 2ull << 40);
    g_assert_cmpint(blk_parse_size("-1", &v), <, 0);
    g_assert_cmpint(blk_parse_size("12Q", &v), <, 0);
    g_assert_cmpint(blk_parse_size("99E", &v), <, 0);
}

static const ModelParams model_params[] = {
    { 512, 3, 16, 1 << 20, 1500, true },
    { 4096, 2, 16, 4 << 20, 1500, true },
    { 65536, 3, 16, 8 << 20, 1500, true },
    { 65536, 3, 1, 4 << 20, 800, false },
    { 65536, 3, 2, 4 << 20, 800, true },
    { 4096, 3, 8, 2 << 20, 800, true },
    { 4096, 3, 32, 2 << 20, 800, true },
    { 1024, 3, 64, 2 << 20, 800, true },
    { 2 << 20, 3, 16, 16 << 20, 300, true },
};

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(model_params); i++) {
        const ModelParams *p = &model_params[i];
        g_autofree char *name = g_strdup_printf("/storage/model/cs%u-v%d-rc%d", p->cluster_size,
                                                p->compat, p->refcount_bits);
        g_test_add(name, Fixture, p, fixture_setup, test_model, fixture_teardown);
    }
    g_test_add("/storage/backing", Fixture, NULL, fixture_setup, test_backing, fixture_teardown);
    g_test_add("/storage/backing-loop", Fixture, NULL, fixture_setup, test_loop,
               fixture_teardown);
    g_test_add("/storage/compressed/zlib", Fixture, GINT_TO_POINTER(BLK_COMPRESSION_ZLIB),
               fixture_setup, test_compressed, fixture_teardown);
    g_test_add("/storage/compressed/zstd", Fixture, GINT_TO_POINTER(BLK_COMPRESSION_ZSTD),
               fixture_setup, test_compressed, fixture_teardown);
    g_test_add("/storage/vmstate", Fixture, NULL, fixture_setup, test_vmstate, fixture_teardown);
    g_test_add("/storage/resize", Fixture, NULL, fixture_setup, test_resize, fixture_teardown);
    g_test_add("/storage/raw", Fixture, NULL, fixture_setup, test_raw, fixture_teardown);
    g_test_add_func("/storage/sizes", test_sizes);
    return g_test_run();
}
