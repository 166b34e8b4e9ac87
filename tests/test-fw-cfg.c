/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for fw_cfg (selector, data and DMA ports, the file directory,
 * guest mistakes), the e820 map and the SMBIOS tables, on a hand-built machine.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "engine/machine.h"
#include "engine/memory.h"
#include "fake-machine.h"
#include "hw/device.h"
#include "hw/fw/e820.h"
#include "hw/fw/fw-cfg.h"
#include "hw/fw/smbios.h"

#define RAM_SIZE (2u << 20)
#define DESC_ADDR 0x1000
#define BUF_ADDR 0x2000

struct fixture {
    struct machine *m;
    struct device *fw;
};

static void fixture_setup(struct fixture *f, gconstpointer data)
{
    GError *error = NULL;

    f->m = fake_machine_new(RAM_SIZE, FAKE_MACHINE_RAM_FLAT);
    f->m->nr_vcpus = 2;
    f->fw = fw_cfg_create(f->m, &error);
    g_assert_no_error(error);
    g_assert_nonnull(f->fw);
}

static void fixture_teardown(struct fixture *f, gconstpointer data)
{
    fake_machine_free(f->m);
}

static void out(struct fixture *f, uint16_t port, unsigned size, uint64_t value)
{
    memory_map_dispatch_write(f->m->io, port, size, value);
}

static uint64_t in(struct fixture *f, uint16_t port, unsigned size)
{
    uint64_t value = 0;

    memory_map_dispatch_read(f->m->io, port, size, &value);
    return value;
}

static void select_key(struct fixture *f, uint16_t key)
{
    out(f, FW_CFG_PORT_SELECTOR, 2, key);
}

static void read_data(struct fixture *f, void *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = in(f, FW_CFG_PORT_DATA, 1);
}

/* Write a FWCfgDmaAccess at DESC_ADDR and start it; returns its control afterwards. */
static uint32_t dma(struct fixture *f, uint32_t control, uint32_t length,
                    uint64_t address, bool two_halves)
{
    uint32_t be_control = GUINT32_TO_BE(control), be_length = GUINT32_TO_BE(length);
    uint64_t be_address = GUINT64_TO_BE(address);

    memcpy(f->m->ram + DESC_ADDR, &be_control, 4);
    memcpy(f->m->ram + DESC_ADDR + 4, &be_length, 4);
    memcpy(f->m->ram + DESC_ADDR + 8, &be_address, 8);
    if (two_halves) {
        out(f, FW_CFG_PORT_DMA, 4, GUINT32_TO_BE(0));
        out(f, FW_CFG_PORT_DMA + 4, 4, GUINT32_TO_BE(DESC_ADDR));
    } else {
        out(f, FW_CFG_PORT_DMA, 8, GUINT64_TO_BE((uint64_t)DESC_ADDR));
    }
    memcpy(&be_control, f->m->ram + DESC_ADDR, 4);
    return GUINT32_FROM_BE(be_control);
}

static void test_signature(struct fixture *f, gconstpointer data)
{
    char sig[5] = { 0 };
    uint32_t id;
    uint64_t ram, dma_sig;
    uint16_t cpus;

    select_key(f, FW_CFG_SIGNATURE);
    read_data(f, sig, 4);
    g_assert_cmpstr(sig, ==, "QEMU");
    /* Past the end, the data port reads 0. */
    g_assert_cmpuint(in(f, FW_CFG_PORT_DATA, 1), ==, 0);

    select_key(f, FW_CFG_ID);
    read_data(f, &id, 4);
    g_assert_cmphex(GUINT32_FROM_LE(id), ==, FW_CFG_VERSION | FW_CFG_VERSION_DMA);

    select_key(f, FW_CFG_RAM_SIZE);
    read_data(f, &ram, 8);
    g_assert_cmpuint(GUINT64_FROM_LE(ram), ==, RAM_SIZE);
    select_key(f, FW_CFG_NB_CPUS);
    read_data(f, &cpus, 2);
    g_assert_cmpuint(GUINT16_FROM_LE(cpus), ==, 2);

    /* Wider reads of the data port return bytes in memory order. */
    select_key(f, FW_CFG_SIGNATURE);
    g_assert_cmphex(in(f, FW_CFG_PORT_DATA, 4), ==, 0x554d4551);

    /* The DMA register reads "QEMU CFG" in big-endian. */
    dma_sig = GUINT32_FROM_BE(in(f, FW_CFG_PORT_DMA, 4));
    dma_sig = dma_sig << 32 | GUINT32_FROM_BE(in(f, FW_CFG_PORT_DMA + 4, 4));
    g_assert_cmphex(dma_sig, ==, FW_CFG_DMA_SIGNATURE);
}

static void test_directory(struct fixture *f, gconstpointer data)
{
    const char *names[] = { "etc/e820", "bootorder", "etc/acpi/tables" };
    uint8_t contents[64] = { 0 };
    GError *error = NULL;
    uint32_t count;
    int keys[3];

    for (unsigned i = 0; i < 3; i++) {
        keys[i] = fw_cfg_add_file(f->fw, names[i], contents, strlen(names[i]) + i,
                                  &error);
        g_assert_no_error(error);
        g_assert_cmpint(keys[i], ==, FW_CFG_FILE_FIRST + i);
    }
    /* Replacing keeps the key. */
    g_assert_cmpint(fw_cfg_add_file(f->fw, "bootorder", "x", 1, &error), ==,
                    keys[1]);
    g_assert_no_error(error);

    select_key(f, FW_CFG_FILE_DIR);
    read_data(f, &count, 4);
    g_assert_cmpuint(GUINT32_FROM_BE(count), ==, 3);
    for (unsigned i = 0; i < 3; i++) {
        uint8_t entry[FW_CFG_FILE_ENTRY_SIZE];
        uint32_t size;
        uint16_t select;

        read_data(f, entry, sizeof(entry));
        memcpy(&size, entry, 4);
        memcpy(&select, entry + 4, 2);
        g_assert_cmpstr((char *)entry + 8, ==, names[i]);
        g_assert_cmpuint(GUINT16_FROM_BE(select), ==, keys[i]);
        g_assert_cmpuint(GUINT32_FROM_BE(size), ==,
                         i == 1 ? 1 : strlen(names[i]) + i);
    }

    /* A name that does not fit is refused. */
    {
        g_autofree char *longname = g_strnfill(FW_CFG_FILE_NAME_MAX, 'a');

        g_assert_cmpint(fw_cfg_add_file(f->fw, longname, "", 0, &error), <, 0);
        g_assert_nonnull(error);
        g_clear_error(&error);
    }
}

static void test_dma_read(struct fixture *f, gconstpointer data)
{
    uint8_t blob[300];
    GError *error = NULL;
    int key;

    for (unsigned i = 0; i < sizeof(blob); i++)
        blob[i] = i * 7 + 1;
    key = fw_cfg_add_file(f->fw, "test/blob", blob, sizeof(blob), &error);
    g_assert_no_error(error);

    /* Select and read with one 64-bit write. */
    memset(f->m->ram + BUF_ADDR, 0xee, 512);
    g_assert_cmphex(dma(f, key << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
                        100, BUF_ADDR, false), ==, 0);
    g_assert_cmpmem(f->m->ram + BUF_ADDR, 100, blob, 100);
    g_assert_cmpuint(f->m->ram[BUF_ADDR + 100], ==, 0xee);

    /* Skip 50, then read the rest and beyond it (zeros), with two 32-bit writes. */
    g_assert_cmphex(dma(f, FW_CFG_DMA_CTL_SKIP, 50, 0, true), ==, 0);
    g_assert_cmphex(dma(f, FW_CFG_DMA_CTL_READ, 200, BUF_ADDR, true), ==, 0);
    g_assert_cmpmem(f->m->ram + BUF_ADDR, 150, blob + 150, 150);
    for (unsigned i = 150; i < 200; i++)
        g_assert_cmpuint(f->m->ram[BUF_ADDR + i], ==, 0);

    /* The DMA and data interfaces share the offset. */
    select_key(f, key);
    g_assert_cmphex(dma(f, FW_CFG_DMA_CTL_SKIP, 10, 0, false), ==, 0);
    g_assert_cmpuint(in(f, FW_CFG_PORT_DATA, 1), ==, blob[10]);

    /* After an operation the address register reads as the signature again. */
    g_assert_cmphex(GUINT32_FROM_BE(in(f, FW_CFG_PORT_DMA, 4)), ==, 0x51454d55);
}

static void test_dma_errors(struct fixture *f, gconstpointer data)
{
    uint8_t blob[64] = { 1, 2, 3 };
    GError *error = NULL;
    int key = fw_cfg_add_file(f->fw, "test/ro", blob, sizeof(blob), &error);
    uint32_t control;

    g_assert_no_error(error);
    if (g_test_subprocess()) {
        /* Data outside RAM: the error bit, no crash. */
        control = dma(f, key << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
                      64, 0xf0000000ull, false);
        g_assert_cmphex(control & FW_CFG_DMA_CTL_ERROR, ==, FW_CFG_DMA_CTL_ERROR);
        /* Straddling the end of RAM: the error bit, nothing half-written. */
        f->m->ram[RAM_SIZE - 1] = 0x5a;
        control = dma(f, key << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
                      64, RAM_SIZE - 32, false);
        g_assert_cmphex(control, ==, FW_CFG_DMA_CTL_ERROR);
        /* A descriptor outside RAM is dropped. */
        out(f, FW_CFG_PORT_DMA, 4, 0);
        out(f, FW_CFG_PORT_DMA + 4, 4, GUINT32_TO_BE(0xfff00000u));
        out(f, FW_CFG_PORT_DMA, 8, GUINT64_TO_BE(UINT64_MAX - 7));

        /* Writes to read-only items: DMA says error, the data port ignores them. */
        memset(f->m->ram + BUF_ADDR, 0xaa, 64);
        control = dma(f, key << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE,
                      64, BUF_ADDR, false);
        g_assert_cmphex(control, ==, FW_CFG_DMA_CTL_ERROR);
        select_key(f, key | FW_CFG_WRITE_CHANNEL);
        out(f, FW_CFG_PORT_DATA, 1, 0x99);
        select_key(f, key);
        g_assert_cmpuint(in(f, FW_CFG_PORT_DATA, 1), ==, 1);
        g_assert_cmpuint(in(f, FW_CFG_PORT_DATA, 1), ==, 2);

        /* An unknown key reads zeros; odd accesses are dropped. */
        select_key(f, 0x3fff);
        g_assert_cmpuint(in(f, FW_CFG_PORT_DATA, 1), ==, 0);
        out(f, FW_CFG_PORT_DMA + 2, 2, 0x1234);
        g_assert_cmphex(dma(f, 0x3fff << 16 | FW_CFG_DMA_CTL_SELECT |
                            FW_CFG_DMA_CTL_READ, 16, BUF_ADDR, false), ==, 0);
        g_assert_cmpuint(f->m->ram[BUF_ADDR], ==, 0);
        return;
    }
    /* Guest mistakes are g_message()s, which must not be fatal; run apart to check output. */
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*outside RAM*");
}

static void test_reset(struct fixture *f, gconstpointer data)
{
    select_key(f, FW_CFG_ID);
    f->fw->cls->reset(f->fw);
    g_assert_cmpuint(in(f, FW_CFG_PORT_DATA, 1), ==, 'Q');
}

/* ---- e820 ----------------------------------------------------------------- */

static void test_e820_map(void)
{
    struct e820_map *map = e820_map_new();
    const struct e820_entry *e;

    e820_map_add(map, 0, 0x100000, E820_RAM);
    e820_map_add(map, 0x100000, 0x100000, E820_RAM);     /* merged */
    g_assert_cmpuint(e820_map_count(map), ==, 1);
    e820_map_add(map, 0x9f000, 0x2000, E820_RESERVED);  /* splits */
    g_assert_cmpuint(e820_map_count(map), ==, 3);
    e = e820_map_entry(map, 1);
    g_assert_cmphex(e->addr, ==, 0x9f000);
    g_assert_cmphex(e->length, ==, 0x2000);
    g_assert_cmpuint(e->type, ==, E820_RESERVED);
    e = e820_map_entry(map, 2);
    g_assert_cmphex(e->addr, ==, 0xa1000);
    g_assert_cmphex(e->addr + e->length, ==, 0x200000);
    g_assert_true(e820_map_contains(map, 0, 0x9f000, E820_RAM));
    g_assert_false(e820_map_contains(map, 0, 0xa0000, E820_RAM));
    e820_map_add(map, 0x9f000, 0x2000, E820_RAM);       /* back to one */
    g_assert_cmpuint(e820_map_count(map), ==, 1);
    e820_map_free(map);
}

static void check_sorted(const struct e820_map *map)
{
    for (unsigned i = 1; i < e820_map_count(map); i++) {
        const struct e820_entry *a = e820_map_entry(map, i - 1);
        const struct e820_entry *b = e820_map_entry(map, i);

        g_assert_cmphex(a->addr + a->length, <=, b->addr);
        g_assert_cmpuint(a->length, >, 0);
    }
}

static void test_e820_pc(void)
{
    uint64_t below = 0xc0000000ull, above = 0x40000000ull;
    struct e820_map *fw = e820_pc_firmware_map(below, above);
    struct e820_map *boot = e820_pc_boot_map(below, above);
    g_autofree uint8_t *records = NULL;
    size_t len;
    uint64_t addr, length;
    uint32_t type;

    /* SeaBIOS gets the RAM ranges only. */
    g_assert_cmpuint(e820_map_count(fw), ==, 2);
    g_assert_true(e820_map_contains(fw, 0, below, E820_RAM));
    g_assert_true(e820_map_contains(fw, E820_4G, above, E820_RAM));
    check_sorted(fw);

    /* A kernel without firmware sees the legacy holes reserved. */
    check_sorted(boot);
    g_assert_true(e820_map_contains(boot, 0, E820_EBDA_START, E820_RAM));
    g_assert_true(e820_map_contains(boot, E820_EBDA_START, 0x400, E820_RESERVED));
    g_assert_true(e820_map_contains(boot, E820_BIOS_START, 0x10000, E820_RESERVED));
    g_assert_false(e820_map_contains(boot, 0xa0000, 0x1000, E820_RAM));
    g_assert_true(e820_map_contains(boot, E820_HIGH_START, below - E820_HIGH_START,
                                    E820_RAM));
    g_assert_true(e820_map_contains(boot, E820_4G, above, E820_RAM));

    /* The packed record format: u64 address, u64 length, u32 type, little-endian. */
    records = e820_map_encode(fw, &len);
    g_assert_cmpuint(len, ==, 2 * E820_RECORD_SIZE);
    memcpy(&addr, records + E820_RECORD_SIZE, 8);
    memcpy(&length, records + E820_RECORD_SIZE + 8, 8);
    memcpy(&type, records + E820_RECORD_SIZE + 16, 4);
    g_assert_cmphex(GUINT64_FROM_LE(addr), ==, E820_4G);
    g_assert_cmphex(GUINT64_FROM_LE(length), ==, above);
    g_assert_cmpuint(GUINT32_FROM_LE(type), ==, E820_RAM);
    e820_map_free(fw);
    e820_map_free(boot);
}

/* Through fw_cfg as SeaBIOS reads it. */
static void test_e820_file(struct fixture *f, gconstpointer data)
{
    struct e820_map *map = e820_pc_firmware_map(RAM_SIZE, 0);
    GError *error = NULL;
    size_t len;
    uint8_t *records = e820_map_encode(map, &len);
    int key = fw_cfg_add_file_take(f->fw, "etc/e820", records, len, &error);
    uint8_t got[E820_RECORD_SIZE];
    uint64_t length;

    g_assert_no_error(error);
    select_key(f, key);
    read_data(f, got, sizeof(got));
    memcpy(&length, got + 8, 8);
    g_assert_cmphex(GUINT64_FROM_LE(length), ==, RAM_SIZE);
    e820_map_free(map);
}

/* ---- SMBIOS --------------------------------------------------------------- */

static uint8_t byte_sum(const uint8_t *p, size_t len)
{
    uint8_t s = 0;

    while (len--)
        s += *p++;
    return s;
}

/* The @index-th (1-based) string of the structure at @s, or NULL. */
static const char *smbios_string(const uint8_t *s, unsigned index)
{
    const char *p = (const char *)s + s[1];

    if (!index)
        return NULL;
    while (--index) {
        if (!*p)
            return NULL;
        p += strlen(p) + 1;
    }
    return *p ? p : NULL;
}

static void test_smbios(struct fixture *f, gconstpointer data)
{
    static const uint8_t uuid[16] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                      0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10 };
    struct smbios_config cfg = {
        .nr_cpus = 4, .ram_below_4g = 0xc0000000ull, .ram_above_4g = 1ull << 30,
        .uuid = uuid,
    };
    struct smbios_tables *t = smbios_build(&cfg);
    const uint8_t *a = t->anchor, *p = t->tables->data, *end = p + t->tables->len;
    unsigned count = 0, types[128] = { 0 }, max_size = 0, last_type = 0;
    uint16_t table_len, nr;
    GError *error = NULL;
    size_t len;

    /* The entry point (DSP0134 5.2.1). */
    g_assert_cmpmem(a, 4, "_SM_", 4);
    g_assert_cmpuint(a[5], ==, SMBIOS_ANCHOR_SIZE);
    g_assert_cmpuint(byte_sum(a, SMBIOS_ANCHOR_SIZE), ==, 0);
    g_assert_cmpmem(a + 16, 5, "_DMI_", 5);
    g_assert_cmpuint(byte_sum(a + 16, 15), ==, 0);
    memcpy(&table_len, a + 22, 2);
    memcpy(&nr, a + 28, 2);
    g_assert_cmpuint(GUINT16_FROM_LE(table_len), ==, t->tables->len);

    /* Walk the structures: formatted area, then strings ending in a double NUL. */
    while (p < end) {
        const uint8_t *s = p;

        g_assert_cmpuint(s[1], >=, 4);
        g_assert_true(p + s[1] + 2 <= end);
        p += s[1];
        while (p[0] || p[1])
            p++;
        p += 2;
        max_size = MAX(max_size, (unsigned)(p - s));
        types[s[0] & 0x7f]++;
        last_type = s[0];
        count++;
        if (s[0] == 1) {
            g_assert_cmpstr(smbios_string(s, s[4]), ==, "Mimic");
            g_assert_cmpstr(smbios_string(s, s[5]), ==, "Standard PC (i440FX + PIIX)");
            /* time_low, time_mid, time_hi little-endian (7.2.1). */
            g_assert_cmphex(s[8], ==, 0x04);
            g_assert_cmphex(s[11], ==, 0x01);
            g_assert_cmphex(s[12], ==, 0x06);
            g_assert_cmphex(s[16], ==, 0x09);
        }
        if (s[0] == 17)
            g_assert_cmpuint(s[0x0c] | s[0x0d] << 8, ==, 4096);   /* MiB */
        if (s[0] == 19 && s[4] | s[5] | s[6] | s[7])
            g_assert_cmphex(s[4] | s[5] << 8 | s[6] << 16 | (uint32_t)s[7] << 24,
                            ==, 0x400000);                    /* 4 GiB in KiB */
    }
    g_assert_true(p == end);
    g_assert_cmpuint(last_type, ==, 127);
    g_assert_cmpuint(count, ==, GUINT16_FROM_LE(nr));
    g_assert_cmpuint(max_size, ==, a[8] | a[9] << 8);
    g_assert_cmpuint(types[0], ==, 1);
    g_assert_cmpuint(types[1], ==, 1);
    g_assert_cmpuint(types[3], ==, 1);
    g_assert_cmpuint(types[4], ==, 4);
    g_assert_cmpuint(types[16], ==, 1);
    g_assert_cmpuint(types[17], ==, 1);
    g_assert_cmpuint(types[19], ==, 2);
    g_assert_cmpuint(types[32], ==, 1);

    /* dmidecode reads a dump: the entry point, then the table at offset 32. */
    if (g_file_test("/usr/sbin/dmidecode", G_FILE_TEST_IS_EXECUTABLE)) {
        g_autofree char *dir = g_dir_make_tmp("mimic-test-smbios-XXXXXX", &error);
        g_autofree char *path = g_build_filename(dir, "dump.bin", NULL);
        g_autofree uint8_t *dump = g_malloc0(32 + t->tables->len);
        g_autofree char *out = NULL, *err = NULL;
        const char *argv[] = { "/usr/sbin/dmidecode", "--from-dump", path, NULL };
        uint32_t addr = GUINT32_TO_LE(32);
        int status;

        memcpy(dump, t->anchor, SMBIOS_ANCHOR_SIZE);
        memcpy(dump + 24, &addr, 4);
        dump[4] = 0;
        dump[21] = 0;
        dump[21] = -byte_sum(dump + 16, 15);
        dump[4] = -byte_sum(dump, SMBIOS_ANCHOR_SIZE);
        memcpy(dump + 32, t->tables->data, t->tables->len);
        g_file_set_contents(path, (char *)dump, 32 + t->tables->len, &error);
        g_assert_no_error(error);
        g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                     &err, &status, &error);
        g_assert_no_error(error);
        g_assert_true(g_spawn_check_wait_status(status, NULL));
        g_assert_nonnull(strstr(out, "SMBIOS 2.8 present"));
        g_assert_nonnull(strstr(out, "Product Name: Standard PC (i440FX + PIIX)"));
        g_assert_nonnull(strstr(out, "UUID: 01020304-0506-0708-090a-0b0c0d0e0f10"));
        g_assert_nonnull(strstr(out, "Size: 4 GB"));
        g_assert_null(strstr(err, "nvalid"));
        g_unlink(path);
        g_rmdir(dir);
    } else {
        g_test_message("dmidecode not installed: the dump check is skipped");
    }
    smbios_tables_free(t);

    /* Through fw_cfg. */
    g_assert_cmpint(smbios_add_fw_cfg(f->fw, &cfg, &error), ==, 0);
    g_assert_no_error(error);
    g_assert_nonnull(fw_cfg_lookup_file(f->fw, SMBIOS_FILE_TABLES, &len));
    g_assert_nonnull(fw_cfg_lookup_file(f->fw, SMBIOS_FILE_ANCHOR, &len));
    g_assert_cmpuint(len, ==, SMBIOS_ANCHOR_SIZE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add(name, struct fixture, NULL, fixture_setup, fn, \
                                 fixture_teardown)
    ADD("/fw-cfg/signature", test_signature);
    ADD("/fw-cfg/directory", test_directory);
    ADD("/fw-cfg/dma-read", test_dma_read);
    ADD("/fw-cfg/dma-errors", test_dma_errors);
    ADD("/fw-cfg/reset", test_reset);
    ADD("/fw-cfg/e820-file", test_e820_file);
    ADD("/smbios/tables", test_smbios);
#undef ADD
    g_test_add_func("/e820/map", test_e820_map);
    g_test_add_func("/e820/pc", test_e820_pc);
    return g_test_run();
}
