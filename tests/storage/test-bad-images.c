/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Bad images: truncated headers, tables past the end or in the header, absurd
 * sizes, overlapping snapshot tables, backing loops, bad L2 entries. Each must
 * give a clear error naming the file, never crash (this test also runs built
 * with AddressSanitizer and UBSan) and never change the file. */
#include "storage/block.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static char *tmpdir;

static char *file_digest(const char *path)
{
    g_autofree char *data = NULL;
    gsize len;
    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
}

static void poke(const char *path, uint64_t offset, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pwrite(fd, data, len, (off_t)offset), ==, (ssize_t)len);
    close(fd);
}

static void poke32(const char *path, uint64_t offset, uint32_t v)
{
    v = htobe32(v);
    poke(path, offset, &v, 4);
}

static void poke64(const char *path, uint64_t offset, uint64_t v)
{
    v = htobe64(v);
    poke(path, offset, &v, 8);
}

static uint64_t peek64(const char *path, uint64_t offset)
{
    uint64_t v = 0;
    int fd = open(path, O_RDONLY);
    g_assert_cmpint(pread(fd, &v, 8, (off_t)offset), ==, 8);
    close(fd);
    return be64toh(v);
}

/* A valid image with some data and two snapshots to corrupt. */
static char *make_image(const char *name, bool with_snapshots)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    BlkCreateOptions o = { .size = 4 << 20, .cluster_size = 65536 };
    g_assert_cmpint(blk_create(path, "qcow2", &o, NULL), ==, 0);
    BlkImage *img;
    g_assert_cmpint(blk_open(path, NULL, BLK_OPEN_READ_WRITE, &img, NULL), ==, 0);
    uint8_t buf[65536];
    memset(buf, 0x5a, sizeof(buf));
    g_assert_cmpint(blk_write(img, 0, buf, sizeof(buf)), ==, 0);
    g_assert_cmpint(blk_write(img, 3 << 20, buf, sizeof(buf)), ==, 0);
    if (with_snapshots) {
        g_assert_cmpint(blk_snapshot_create(img, "one", 0, 0, 0, NULL), ==, 0);
        g_assert_cmpint(blk_snapshot_create(img, "two", 0, 0, 0, NULL), ==, 0);
    }
    blk_close(img);
    return path;
}

/* Opening fails read-only and read-write with an error naming the file,
 * and the file is unchanged. */
static void expect_refused(const char *path, const char *what)
{
    g_autofree char *before = file_digest(path);
    for (int rw = 0; rw < 2; rw++) {
        BlkImage *img = NULL;
        g_autoptr(GError) err = NULL;
        int ret = blk_open(path, NULL, rw ? BLK_OPEN_READ_WRITE : 0, &img, &err);
        if (ret == 0) {
            blk_close(img);
            g_error("%s: '%s' was accepted", what, path);
        }
        g_assert_nonnull(err);
        g_test_message("%s: %s", what, err->message);
        g_assert_nonnull(strstr(err->message, path));
    }
    g_autofree char *after = file_digest(path);
    g_assert_cmpstr(before, ==, after);
}

typedef struct BadCase {
    const char *name;
    void (*corrupt)(const char *path);
    bool snapshots;
} BadCase;

static void c_truncated(const char *p) { g_assert_cmpint(truncate(p, 50), ==, 0); }
static void c_truncated_v3(const char *p) { g_assert_cmpint(truncate(p, 90), ==, 0); }
static void c_l1_past_end(const char *p) { poke64(p, 40, 1ull << 40); }
static void c_l1_in_header(const char *p) { poke64(p, 40, 0); }
static void c_l1_unaligned(const char *p) { poke64(p, 40, 0x30200); }
static void c_l1_huge(const char *p) { poke32(p, 36, 0x7fffffff); }
static void c_l1_too_small(const char *p) { poke32(p, 36, 0); }
static void c_reftable_past_end(const char *p) { poke64(p, 48, 1ull << 44); }
static void c_reftable_in_header(const char *p) { poke64(p, 48, 0); }
static void c_reftable_huge(const char *p) { poke32(p, 56, 0x40000000); }
static void c_absurd_size(const char *p) { poke64(p, 24, 1ull << 63); }
static void c_cluster_bits_big(const char *p) { poke32(p, 20, 31); }
static void c_cluster_bits_small(const char *p) { poke32(p, 20, 4); }
static void c_bad_version(const char *p) { poke32(p, 4, 7); }
static void c_unknown_feature(const char *p) { poke64(p, 72, 1ull << 40); }
static void c_header_length(const char *p) { poke32(p, 100, 105); }
static void c_refcount_order(const char *p) { poke32(p, 96, 9); }
static void c_backing_offset(const char *p) { poke64(p, 8, 1ull << 33); poke32(p, 16, 10); }
static void c_l1_entry_past_end(const char *p) { poke64(p, peek64(p, 40), (1ull << 45) | (1ull << 63)); }
static void c_l1_entry_in_header(const char *p) { poke64(p, peek64(p, 40), (1ull << 63) | 0x200); }
static void c_l1_entry_unaligned(const char *p) { poke64(p, peek64(p, 40), (1ull << 63) | 0x30200); }
static void c_refblock_past_end(const char *p) { poke64(p, peek64(p, 48), 1ull << 45); }
static void c_snapshots_past_end(const char *p) { poke32(p, 60, 60000); }
static void c_snapshot_table_in_header(const char *p) { poke64(p, 64, 0); }

/* The second snapshot's L1 table is made to overlap the first's. */
static void c_snapshot_overlap(const char *p)
{
    uint64_t table = peek64(p, 64);
    uint64_t l1_first = peek64(p, table);
    uint32_t id_len = (uint32_t)(peek64(p, table + 8) >> 16) & 0xffff;
    uint32_t name_len = (uint32_t)peek64(p, table + 8) & 0xffff;
    uint32_t extra = (uint32_t)peek64(p, table + 32);
    uint64_t second = table + ((40 + extra + id_len + name_len + 7) & ~7u);
    poke64(p, second, l1_first);
}

static void c_snapshot_entry_huge(const char *p)
{
    uint64_t table = peek64(p, 64);
    poke32(p, table + 36, 0xffffff00);   /* extra data size */
}

static const BadCase bad_cases[] = {
    { "truncated-header", c_truncated, false },
    { "truncated-v3-header", c_truncated_v3, false },
    { "l1-past-end", c_l1_past_end, false },
    { "l1-in-header", c_l1_in_header, false },
    { "l1-unaligned", c_l1_unaligned, false },
    { "l1-huge", c_l1_huge, false },
    { "l1-too-small", c_l1_too_small, false },
    { "reftable-past-end", c_reftable_past_end, false },
    { "reftable-in-header", c_reftable_in_header, false },
    { "reftable-huge", c_reftable_huge, false },
    { "absurd-size", c_absurd_size, false },
    { "cluster-bits-big", c_cluster_bits_big, false },
    { "cluster-bits-small", c_cluster_bits_small, false },
    { "bad-version", c_bad_version, false },
    { "unknown-incompatible-feature", c_unknown_feature, false },
    { "header-length", c_header_length, false },
    { "refcount-order", c_refcount_order, false },
    { "backing-name-outside-header", c_backing_offset, false },
    { "l1-entry-past-end", c_l1_entry_past_end, false },
    { "l1-entry-in-header", c_l1_entry_in_header, false },
    { "l1-entry-unaligned", c_l1_entry_unaligned, false },
    { "refblock-past-end", c_refblock_past_end, false },
    { "snapshots-past-end", c_snapshots_past_end, true },
    { "snapshot-table-in-header", c_snapshot_table_in_header, true },
    { "snapshot-l1-overlap", c_snapshot_overlap, true },
    { "snapshot-entry-huge", c_snapshot_entry_huge, true },
};

static void test_bad_case(gconstpointer data)
{
    const BadCase *c = data;
    g_autofree char *name = g_strdup_printf("%s.qcow2", c->name);
    g_autofree char *path = make_image(name, c->snapshots);
    c->corrupt(path);
    expect_refused(path, c->name);
}

static void test_backing_loops(void)
{
    g_autofree char *a = make_image("loop-a.qcow2", false);
    g_autofree char *b = make_image("loop-b.qcow2", false);
    g_autofree char *self = make_image("loop-self.qcow2", false);
    BlkImage *img;
    g_assert_cmpint(blk_open(a, NULL, BLK_OPEN_READ_WRITE | BLK_OPEN_NO_BACKING, &img, NULL), ==, 0);
    g_assert_cmpint(blk_set_backing(img, "loop-b.qcow2", "qcow2", NULL), ==, 0);
    blk_close(img);
    g_assert_cmpint(blk_open(b, NULL, BLK_OPEN_READ_WRITE | BLK_OPEN_NO_BACKING, &img, NULL), ==, 0);
    g_assert_cmpint(blk_set_backing(img, "loop-a.qcow2", "qcow2", NULL), ==, 0);
    blk_close(img);
    g_assert_cmpint(blk_open(self, NULL, BLK_OPEN_READ_WRITE | BLK_OPEN_NO_BACKING, &img, NULL),
                    ==, 0);
    g_assert_cmpint(blk_set_backing(img, "loop-self.qcow2", "qcow2", NULL), ==, 0);
    blk_close(img);
    expect_refused(a, "backing loop");
    expect_refused(self, "self backing");
}

/* Bad L2 entries are found on access: reads fail with EIO, writes that would
 * hit metadata fail, check reports corruption, nothing is written. */
static void test_bad_l2_entries(void)
{
    g_autofree char *path = make_image("bad-l2.qcow2", false);
    uint64_t l1 = peek64(path, 40);
    uint64_t l2 = peek64(path, l1) & 0x00fffffffffffe00ull;
    poke64(path, l2, (1ull << 63) | 0);             /* data in the header */
    poke64(path, l2 + 8, (1ull << 63) | 0x10100);   /* unaligned data cluster */
    poke64(path, l2 + 16, (1ull << 62) | (1ull << 50)); /* compressed, past the end */
    poke64(path, l2 + 24, (1ull << 63) | (1ull << 50)); /* data far past the end */
    g_autofree char *before = file_digest(path);
    BlkImage *img;
    g_autoptr(GError) err = NULL;
    g_assert_cmpint(blk_open(path, NULL, 0, &img, &err), ==, 0);
    uint8_t buf[65536];
    for (int i = 0; i < 4; i++) {
        int ret = blk_read(img, (uint64_t)i * 65536, buf, sizeof(buf));
        g_assert_cmpint(ret, <, 0);
    }
    BlkCheckResult r;
    g_assert_cmpint(blk_check(img, &r, 0), ==, 0);
    g_assert_cmpint(r.corruptions, >, 0);
    blk_close(img);
    g_assert_cmpint(blk_open(path, NULL, BLK_OPEN_READ_WRITE, &img, &err), ==, 0);
    memset(buf, 0x77, sizeof(buf));
    g_assert_cmpint(blk_write(img, 0, buf, sizeof(buf)), <, 0);
    g_assert_cmpint(blk_write(img, 65536, buf, 512), <, 0);
    blk_close(img);
    g_autofree char *after = file_digest(path);
    g_assert_cmpstr(before, ==, after);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-bad-XXXXXX", NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autofree char *name = g_strdup_printf("/storage/bad-image/%s", bad_cases[i].name);
        g_test_add_data_func(name, &bad_cases[i], test_bad_case);
    }
    g_test_add_func("/storage/bad-image/backing-loops", test_backing_loops);
    g_test_add_func("/storage/bad-image/bad-l2-entries", test_bad_l2_entries);
    int ret = g_test_run();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) {
        ret = ret ? ret : 1;
    }
    g_free(tmpdir);
    return ret;
}
