/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the memory map: overlaps, dispatch, access sizes, bulk copies. */
#include <errno.h>
#include <gio/gio.h>
#include <string.h>

#include "engine/memory.h"

struct recorder {
    uint64_t last_offset, last_value;
    unsigned last_size, reads, writes;
    uint8_t regs[16];
};

static uint64_t rec_read(void *opaque, uint64_t offset, unsigned size)
{
    struct recorder *r = opaque;
    uint64_t v = 0;

    r->reads++;
    r->last_offset = offset;
    r->last_size = size;
    for (unsigned i = 0; i < size && offset + i < sizeof(r->regs); i++)
        v |= (uint64_t)r->regs[offset + i] << (8 * i);
    return v;
}

static void rec_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct recorder *r = opaque;

    r->writes++;
    r->last_offset = offset;
    r->last_value = value;
    r->last_size = size;
    for (unsigned i = 0; i < size && offset + i < sizeof(r->regs); i++)
        r->regs[offset + i] = value >> (8 * i);
}

static const struct memory_ops rec_ops = { rec_read, rec_write };

static void test_overlap_refused(void)
{
    struct memory_map *map = memory_map_new("test", 1 << 20, NULL);
    uint8_t ram[4096];
    struct recorder rec = { 0 };
    GError *error = NULL;

    g_assert_nonnull(memory_map_add_ram(map, "ram", 0x1000, sizeof(ram), ram, &error));
    g_assert_no_error(error);
    /* Overlapping the start, the end, inside, and around. */
    g_assert_null(memory_map_add_io(map, "a", 0x0ff0, 0x20, &rec_ops, &rec, &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
    g_assert_nonnull(strstr(error->message, "overlaps \"ram\""));
    g_clear_error(&error);
    g_assert_null(memory_map_add_io(map, "b", 0x1ff0, 0x20, &rec_ops, &rec, &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
    g_clear_error(&error);
    g_assert_null(memory_map_add_io(map, "c", 0x1800, 0x10, &rec_ops, &rec, &error));
    g_clear_error(&error);
    g_assert_null(memory_map_add_io(map, "d", 0x0, 0x10000, &rec_ops, &rec, &error));
    g_clear_error(&error);
    /* Adjacent on both sides is fine. */
    g_assert_nonnull(memory_map_add_io(map, "below", 0x0ff0, 0x10, &rec_ops, &rec, &error));
    g_assert_nonnull(memory_map_add_io(map, "above", 0x2000, 0x10, &rec_ops, &rec, &error));
    g_assert_no_error(error);
    /* Past the limit, and empty. */
    g_assert_null(memory_map_add_io(map, "big", 0xff000, 0x2000, &rec_ops, &rec, &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    g_assert_null(memory_map_add_io(map, "empty", 0x5000, 0, &rec_ops, &rec, &error));
    g_clear_error(&error);
    g_assert_cmpuint(memory_map_region_count(map), ==, 3);
    memory_map_free(map);
}

static void test_dispatch_right_region(void)
{
    struct memory_map *map = memory_map_new("test", 1 << 20, NULL);
    struct recorder a = { 0 }, b = { 0 }, c = { 0 };
    uint64_t v;

    memory_map_add_io(map, "c", 0x3000, 0x100, &rec_ops, &c, NULL);
    memory_map_add_io(map, "a", 0x1000, 0x100, &rec_ops, &a, NULL);
    memory_map_add_io(map, "b", 0x2000, 0x100, &rec_ops, &b, NULL);

    g_assert_true(memory_map_dispatch_write(map, 0x2008, 4, 0xdeadbeef));
    g_assert_cmpuint(b.writes, ==, 1);
    g_assert_cmpuint(a.writes + c.writes, ==, 0);
    g_assert_cmphex(b.last_offset, ==, 8);
    g_assert_cmphex(b.last_value, ==, 0xdeadbeef);
    g_assert_true(memory_map_dispatch_read(map, 0x2008, 4, &v));
    g_assert_cmphex(v, ==, 0xdeadbeef);
    g_assert_true(memory_map_dispatch_read(map, 0x30ff, 1, &v));
    g_assert_cmpuint(c.reads, ==, 1);
    g_assert_cmphex(c.last_offset, ==, 0xff);
    g_assert_cmpstr(memory_map_lookup(map, 0x10ff)->name, ==, "a");
    g_assert_null(memory_map_lookup(map, 0x1100));
    g_assert_null(memory_map_lookup(map, 0x0fff));
    memory_map_free(map);
}

static void test_access_sizes(void)
{
    struct memory_map *map = memory_map_new("test", 1 << 20, NULL);
    struct recorder rec = { 0 };
    uint8_t ram[64] = { 0 };
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    uint64_t v;

    memory_map_add_io(map, "dev", 0x100, 16, &rec_ops, &rec, NULL);
    memory_map_add_ram(map, "ram", 0x1000, sizeof(ram), ram, NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(sizes); i++) {
        unsigned size = sizes[i];
        uint64_t pattern = 0x8877665544332211ULL;
        uint64_t mask = size == 8 ? UINT64_MAX : (1ULL << (8 * size)) - 1;

        memset(rec.regs, 0, sizeof(rec.regs));
        memory_map_dispatch_write(map, 0x100, size, pattern);
        g_assert_cmpuint(rec.last_size, ==, size);
        g_assert_cmphex(rec.last_value, ==, pattern & mask);
        memory_map_dispatch_read(map, 0x100, size, &v);
        g_assert_cmpuint(rec.last_size, ==, size);
        g_assert_cmphex(v, ==, pattern & mask);

        memset(ram, 0, sizeof(ram));
        memory_map_dispatch_write(map, 0x1008, size, pattern);
        for (unsigned b = 0; b < 8; b++)
            g_assert_cmpuint(ram[8 + b], ==, b < size ? (pattern >> (8 * b)) & 0xff : 0);
        memory_map_dispatch_read(map, 0x1008, size, &v);
        g_assert_cmphex(v, ==, pattern & mask);
    }
    memory_map_free(map);
}

static void test_unassigned(void)
{
    struct memory_map *map = memory_map_new("test", 0x10000, NULL);
    uint64_t v = 0;

    g_test_expect_message("mimic-memory", G_LOG_LEVEL_MESSAGE, "*unassigned 0x1234*");
    g_assert_false(memory_map_dispatch_read(map, 0x1234, 1, &v));
    g_assert_cmphex(v, ==, 0xff);
    /* Logged once: the same address again is silent. */
    for (int i = 0; i < 10; i++) {
        g_assert_false(memory_map_dispatch_read(map, 0x1234, 4, &v));
        g_assert_cmphex(v, ==, 0xffffffff);
    }
    g_test_assert_expected_messages();
    g_assert_cmpuint(memory_map_unassigned_count(map), ==, 1);
    g_test_expect_message("mimic-memory", G_LOG_LEVEL_MESSAGE, "*unassigned 0x1235*");
    g_assert_false(memory_map_dispatch_write(map, 0x1235, 2, 7));
    g_test_assert_expected_messages();
    memory_map_free(map);
}

static void test_rom_and_bulk(void)
{
    struct memory_map *map = memory_map_new("test", 1 << 20, NULL);
    uint8_t ram[0x1000] = { 0 }, rom[0x1000];
    struct recorder rec = { 0 };
    uint8_t buf[0x2000];
    uint64_t v;

    memset(rom, 0xab, sizeof(rom));
    memory_map_add_ram(map, "ram", 0x0, sizeof(ram), ram, NULL);
    memory_map_add_rom(map, "rom", 0x1000, sizeof(rom), rom, NULL);
    memory_map_add_io(map, "dev", 0x3000, 0x10, &rec_ops, &rec, NULL);

    /* Guest writes to ROM are ignored. */
    memory_map_dispatch_write(map, 0x1000, 4, 0);
    memory_map_dispatch_read(map, 0x1000, 4, &v);
    g_assert_cmphex(v, ==, 0xabababab);
    /* An access straddling RAM and ROM reads both. */
    ram[0xfff] = 0x11;
    memory_map_dispatch_read(map, 0xfff, 2, &v);
    g_assert_cmphex(v, ==, 0xab11);

    /* Bulk copies across regions; loaders may fill ROM. */
    memset(buf, 0x5a, sizeof(buf));
    g_assert_cmpint(memory_map_write(map, 0x800, buf, 0x1000, false), ==, -EFAULT);
    g_assert_cmpuint(ram[0x800], ==, 0); /* nothing copied on failure */
    g_assert_cmpint(memory_map_write(map, 0x800, buf, 0x1000, true), ==, 0);
    g_assert_cmpuint(rom[0x7ff], ==, 0x5a);
    g_assert_cmpuint(rom[0x800], ==, 0xab);
    g_assert_cmpint(memory_map_read(map, 0x0, buf, 0x2000), ==, 0);
    g_assert_cmpuint(buf[0x1fff], ==, 0xab);
    g_assert_cmpint(memory_map_read(map, 0x1800, buf, 0x1000), ==, -EFAULT);
    g_assert_nonnull(memory_map_host_pointer(map, 0x10, 0x100));
    g_assert_null(memory_map_host_pointer(map, 0xf00, 0x200));
    g_assert_null(memory_map_host_pointer(map, 0x3000, 1));
    memory_map_free(map);
}

struct listened {
    unsigned added, removed;
    const struct memory_region *last;
};

static void on_change(void *opaque, const struct memory_region *r, bool added)
{
    struct listened *l = opaque;

    if (added)
        l->added++;
    else
        l->removed++;
    l->last = r;
}

static void test_remove_and_listener(void)
{
    struct memory_map *map = memory_map_new("test", 1 << 20, NULL);
    struct recorder rec = { 0 };
    struct listened l = { 0 };
    const struct memory_region *a, *b;
    uint64_t v;

    memory_map_set_listener(map, on_change, &l);
    a = memory_map_add_io(map, "a", 0x1000, 0x100, &rec_ops, &rec, NULL);
    b = memory_map_add_io(map, "b", 0x2000, 0x100, &rec_ops, &rec, NULL);
    g_assert_cmpuint(l.added, ==, 2);
    g_assert_true(l.last == b);
    g_assert_cmpint(memory_map_remove(map, a), ==, 0);
    g_assert_cmpuint(l.removed, ==, 1);
    g_assert_null(memory_map_lookup(map, 0x1000));
    g_assert_true(memory_map_lookup(map, 0x2000) == b);
    g_assert_cmpint(memory_map_remove(map, a), ==, -ENOENT);
    /* The space is free again: a BAR can move there. */
    g_assert_nonnull(memory_map_add_io(map, "a2", 0x1080, 0x100, &rec_ops, &rec, NULL));
    g_test_expect_message("mimic-memory", G_LOG_LEVEL_MESSAGE, "*unassigned 0x1000*");
    g_assert_false(memory_map_dispatch_read(map, 0x1000, 1, &v));
    g_test_assert_expected_messages();
    memory_map_set_listener(map, NULL, NULL);
    memory_map_remove(map, b);
    g_assert_cmpuint(l.removed, ==, 1);
    memory_map_free(map);
}

struct churn {
    struct memory_map *map;
    gint stop;
    gint lookups;
    unsigned misses;
};

static gpointer lookup_thread(gpointer data)
{
    struct churn *c = data;

    while (!g_atomic_int_get(&c->stop)) {
        const struct memory_region *r = memory_map_lookup(c->map, 0x5010);

        /* The fixed region is always there, whatever moves around it. */
        if (!r || strcmp(r->name, "fixed") != 0)
            c->misses++;
        g_atomic_int_inc(&c->lookups);
    }
    return NULL;
}

/* Lookups from vCPU threads never block or see a torn table while regions change. */
static void test_concurrent_changes(void)
{
    struct memory_map *map = memory_map_new("test", 1 << 20, NULL);
    struct recorder rec = { 0 };
    struct churn c = { .map = map };
    GThread *reader;

    memory_map_add_io(map, "fixed", 0x5000, 0x100, &rec_ops, &rec, NULL);
    reader = g_thread_new("reader", lookup_thread, &c);
    while (g_atomic_int_get(&c.lookups) == 0)
        g_thread_yield();
    for (int i = 0; i < 2000; i++) {
        const struct memory_region *below, *above;

        below = memory_map_add_io(map, "below", 0x1000 + (i % 16) * 0x100, 0x100,
                                  &rec_ops, &rec, NULL);
        above = memory_map_add_io(map, "above", 0x9000 + (i % 16) * 0x100, 0x100,
                                  &rec_ops, &rec, NULL);
        g_assert_nonnull(below);
        g_assert_nonnull(above);
        memory_map_remove(map, below);
        memory_map_remove(map, above);
    }
    g_atomic_int_set(&c.stop, 1);
    g_thread_join(reader);
    g_assert_cmpuint(c.misses, ==, 0);
    g_assert_cmpint(c.lookups, >, 0);
    g_assert_cmpuint(memory_map_region_count(map), ==, 1);
    memory_map_free(map);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/overlap-refused", test_overlap_refused);
    g_test_add_func("/memory/dispatch-right-region", test_dispatch_right_region);
    g_test_add_func("/memory/access-sizes", test_access_sizes);
    g_test_add_func("/memory/unassigned-logged-once", test_unassigned);
    g_test_add_func("/memory/rom-and-bulk", test_rom_and_bulk);
    g_test_add_func("/memory/remove-and-listener", test_remove_and_listener);
    g_test_add_func("/memory/concurrent-changes", test_concurrent_changes);
    return g_test_run();
}
