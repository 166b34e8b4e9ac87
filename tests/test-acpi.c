/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the ACPI tables and their table-loader script: checksums,
 * the RSDP -> XSDT -> FADT -> DSDT chain, the MADT, `iasl -d` on the
 * tables, and tables laid into a hand-built machine's RAM.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "engine/machine.h"
#include "engine/memory.h"
#include "fake-machine.h"
#include "hw/acpi/acpi-loader.h"
#include "hw/acpi/acpi-tables.h"
#include "hw/device.h"
#include "hw/fw/fw-cfg.h"

#define IASL "/usr/bin/iasl"
#define TABLES_ADDR 0x7fe0000ull
#define RSDP_ADDR 0xf5a40ull

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return GUINT32_FROM_LE(v);
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return GUINT64_FROM_LE(v);
}

static uint8_t sum(const uint8_t *p, size_t len)
{
    uint8_t s = 0;

    while (len--)
        s += *p++;
    return s;
}

static void config_init(struct acpi_config *cfg, unsigned cpus)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->nr_cpus = cpus;
    cfg->ram_below_4g = 128u << 20;
    cfg->pm_base = 0x600;
    cfg->sci_gsi = 9;
    cfg->serial_mask = 1;
    cfg->fw_cfg = true;
}

/* The tables after the loader ran with the files at TABLES_ADDR / RSDP_ADDR. */
static struct acpi_tables *build_and_link(const struct acpi_config *cfg)
{
    GError *error = NULL;
    struct acpi_tables *t = acpi_tables_build(cfg, &error);
    struct acpi_loader_file files[2];
    const uint8_t *script;
    size_t len;

    g_assert_no_error(error);
    files[0] = (struct acpi_loader_file){ ACPI_FILE_TABLES, t->tables, TABLES_ADDR };
    files[1] = (struct acpi_loader_file){ ACPI_FILE_RSDP, t->rsdp, RSDP_ADDR };
    script = acpi_loader_data(t->loader, &len);
    g_assert_cmpint(acpi_loader_run(script, len, files, 2, &error), ==, 0);
    g_assert_no_error(error);
    return t;
}

/* A table of @t at guest address @addr: checks it and returns its offset. */
static size_t table_at(struct acpi_tables *t, uint64_t addr, const char *sig)
{
    size_t off;
    uint32_t len;

    g_assert_cmphex(addr, >=, TABLES_ADDR);
    off = addr - TABLES_ADDR;
    g_assert_cmpuint(off + 36, <=, t->tables->len);
    g_assert_cmpmem(t->tables->data + off, 4, sig, 4);
    len = get32(t->tables->data + off + 4);
    g_assert_cmpuint(off + len, <=, t->tables->len);
    g_assert_cmpuint(sum(t->tables->data + off, len), ==, 0);
    return off;
}

static void test_chain(void)
{
    struct acpi_config cfg;
    struct acpi_tables *t;
    const uint8_t *rsdp, *fadt, *xsdt, *rsdt, *facs;
    size_t off_xsdt, off_rsdt, off_fadt, off_dsdt, off_madt;

    config_init(&cfg, 4);
    t = build_and_link(&cfg);
    rsdp = t->rsdp->data;
    g_assert_cmpuint(t->rsdp->len, ==, 36);
    g_assert_cmpmem(rsdp, 8, "RSD PTR ", 8);
    g_assert_cmpuint(rsdp[15], ==, 2);
    g_assert_cmpuint(sum(rsdp, 20), ==, 0);
    g_assert_cmpuint(sum(rsdp, 36), ==, 0);

    off_xsdt = table_at(t, get64(rsdp + 24), "XSDT");
    off_rsdt = table_at(t, get32(rsdp + 16), "RSDT");
    xsdt = t->tables->data + off_xsdt;
    rsdt = t->tables->data + off_rsdt;
    g_assert_cmpuint(get32(xsdt + 4), ==, 36 + 2 * 8);
    g_assert_cmpuint(get32(rsdt + 4), ==, 36 + 2 * 4);
    g_assert_cmphex(get64(xsdt + 36), ==, get32(rsdt + 36));
    g_assert_cmphex(get64(xsdt + 44), ==, get32(rsdt + 40));

    off_fadt = table_at(t, get64(xsdt + 36), "FACP");
    off_madt = table_at(t, get64(xsdt + 44), "APIC");
    fadt = t->tables->data + off_fadt;
    g_assert_cmpuint(get32(fadt + 4), ==, 276);
    g_assert_cmpuint(fadt[8], >=, 5);
    off_dsdt = table_at(t, get64(fadt + 140), "DSDT");
    g_assert_cmphex(get32(fadt + 40), ==, get64(fadt + 140));
    /* FACS: 64-byte aligned, no checksum. */
    g_assert_cmphex(get32(fadt + 36) % 64, ==, 0);
    facs = t->tables->data + (get32(fadt + 36) - TABLES_ADDR);
    g_assert_cmpmem(facs, 4, "FACS", 4);

    /* The PIIX4 PM registers, the SCI, the reset register. */
    g_assert_cmpuint(fadt[46] | fadt[47] << 8, ==, 9);
    g_assert_cmpuint(get32(fadt + 48), ==, 0);          /* no SMI_CMD */
    g_assert_cmphex(get32(fadt + 56), ==, 0x600);
    g_assert_cmphex(get32(fadt + 64), ==, 0x604);
    g_assert_cmphex(get32(fadt + 76), ==, 0x608);
    g_assert_cmpuint(fadt[88], ==, 4);
    g_assert_cmpuint(fadt[89], ==, 2);
    g_assert_cmpuint(fadt[91], ==, 4);
    g_assert_cmpuint(fadt[108], ==, 0x32);
    g_assert_cmphex(fadt[109] & 3, ==, 3);              /* legacy devices, 8042 */
    g_assert_cmpuint(fadt[116], ==, 1);                 /* reset: system I/O */
    g_assert_cmphex(get64(fadt + 120), ==, 0xcf9);
    g_assert_cmphex(fadt[128], ==, 6);
    g_assert_cmphex(get64(fadt + 148 + 4), ==, 0x600);

    /* The DSDT carries \_S5 and the PCI host bridge. */
    {
        const uint8_t *dsdt = t->tables->data + off_dsdt;
        size_t len = get32(dsdt + 4);

        g_assert_nonnull(memmem(dsdt, len, "_S5_", 4));
        g_assert_nonnull(memmem(dsdt, len, "PCI0", 4));
        g_assert_nonnull(memmem(dsdt, len, "_PRT", 4));
        g_assert_nonnull(memmem(dsdt, len, "LNKD", 4));
    }
    (void)off_madt;
    acpi_tables_free(t);
}

static void test_madt(void)
{
    struct acpi_config cfg;
    struct acpi_tables *t;
    const uint8_t *madt;
    unsigned lapics = 0, ioapics = 0, overrides = 0;
    size_t len, pos;

    config_init(&cfg, 3);
    t = build_and_link(&cfg);
    madt = t->tables->data + t->madt;
    len = get32(madt + 4);
    g_assert_cmphex(get32(madt + 36), ==, 0xfee00000);
    g_assert_cmphex(get32(madt + 40), ==, 1);           /* PCAT_COMPAT */
    for (pos = 44; pos < len; pos += madt[pos + 1]) {
        const uint8_t *e = madt + pos;

        g_assert_cmpuint(e[1], >=, 2);
        switch (e[0]) {
        case 0:
            g_assert_cmpuint(e[2], ==, lapics);         /* UID */
            g_assert_cmpuint(e[3], ==, lapics);         /* APIC ID */
            g_assert_cmpuint(get32(e + 4) & 1, ==, 1);
            lapics++;
            break;
        case 1:
            g_assert_cmpuint(e[2], ==, 3);              /* after the CPUs */
            g_assert_cmphex(get32(e + 4), ==, 0xfec00000);
            g_assert_cmpuint(get32(e + 8), ==, 0);
            ioapics++;
            break;
        case 2:
            if (e[3] == 0)
                g_assert_cmpuint(get32(e + 4), ==, 2);
            if (e[3] == 9) {
                g_assert_cmpuint(get32(e + 4), ==, 9);
                g_assert_cmphex(e[8], ==, 0x0d);        /* level, active-high */
            }
            overrides++;
            break;
        }
    }
    g_assert_cmpuint(pos, ==, len);
    g_assert_cmpuint(lapics, ==, 3);
    g_assert_cmpuint(ioapics, ==, 1);
    g_assert_cmpuint(overrides, >=, 2);
    acpi_tables_free(t);
}

/* Every command is 128 bytes; ALLOCATE comes before any use of its file. */
static void test_loader_script(void)
{
    struct acpi_config cfg;
    GError *error = NULL;
    struct acpi_tables *t;
    const uint8_t *script;
    size_t len;
    bool tables_allocated = false, rsdp_allocated = false;
    unsigned pointers = 0, checksums = 0;

    config_init(&cfg, 2);
    t = acpi_tables_build(&cfg, &error);
    g_assert_no_error(error);
    script = acpi_loader_data(t->loader, &len);
    g_assert_cmpuint(len % ACPI_LOADER_ENTRY_SIZE, ==, 0);
    for (size_t off = 0; off < len; off += ACPI_LOADER_ENTRY_SIZE) {
        const uint8_t *e = script + off;
        const char *file = (const char *)e + 4;

        switch (get32(e)) {
        case ACPI_LOADER_ALLOCATE:
            if (strcmp(file, ACPI_FILE_TABLES) == 0) {
                tables_allocated = true;
                g_assert_cmpuint(e[64], ==, ACPI_LOADER_ZONE_HIGH);
            } else {
                g_assert_cmpstr(file, ==, ACPI_FILE_RSDP);
                rsdp_allocated = true;
                g_assert_cmpuint(e[64], ==, ACPI_LOADER_ZONE_FSEG);
            }
            break;
        case ACPI_LOADER_ADD_POINTER:
            g_assert_true(tables_allocated && rsdp_allocated);
            g_assert_cmpstr((const char *)e + 60, ==, ACPI_FILE_TABLES);
            g_assert_true(e[120] == 4 || e[120] == 8);
            pointers++;
            break;
        case ACPI_LOADER_ADD_CHECKSUM:
            g_assert_true(tables_allocated && rsdp_allocated);
            checksums++;
            break;
        default:
            g_assert_not_reached();
        }
    }
    /* FADT: FACS, DSDT, X_DSDT; RSDT 2; XSDT 2; RSDP 2. */
    g_assert_cmpuint(pointers, ==, 9);
    /* DSDT, FADT, MADT, RSDT, XSDT, RSDP twice. */
    g_assert_cmpuint(checksums, ==, 7);

    /* A script naming an unknown file, or misaligned, is refused. */
    {
        struct acpi_loader *bad = acpi_loader_new();
        struct acpi_loader_file files[1] = {
            { ACPI_FILE_TABLES, t->tables, 0x1001 },
        };
        const uint8_t *bad_script;
        size_t bad_len;

        acpi_loader_allocate(bad, ACPI_FILE_TABLES, 64, ACPI_LOADER_ZONE_HIGH);
        bad_script = acpi_loader_data(bad, &bad_len);
        g_assert_cmpint(acpi_loader_run(bad_script, bad_len, files, 1, &error),
                        <, 0);
        g_assert_nonnull(error);
        g_clear_error(&error);
        files[0].addr = 0x1000;
        acpi_loader_add_checksum(bad, "nope", 0, 0, 1);
        bad_script = acpi_loader_data(bad, &bad_len);
        g_assert_cmpint(acpi_loader_run(bad_script, bad_len, files, 1, &error),
                        <, 0);
        g_assert_nonnull(strstr(error->message, "nope"));
        g_clear_error(&error);
        acpi_loader_free(bad);
    }
    acpi_tables_free(t);

    /* Impossible configurations are refused with a message. */
    config_init(&cfg, 0);
    g_assert_null(acpi_tables_build(&cfg, &error));
    g_assert_nonnull(error);
    g_clear_error(&error);
}

/* `iasl -d` disassembles every table without an error. */
static void test_iasl(void)
{
    struct acpi_config cfg;
    struct acpi_tables *t;
    g_autofree char *dir = NULL;
    GError *error = NULL;
    const struct { const char *name; uint32_t off; } *tb, tables[] = {
        { "dsdt", 0 }, { "facp", 0 }, { "apic", 0 }, { "rsdt", 0 }, { "xsdt", 0 },
    };
    uint32_t offsets[5];

    if (!g_file_test(IASL, G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_skip(IASL " is not installed (Debian package acpica-tools)");
        return;
    }
    config_init(&cfg, 8);
    cfg.serial_mask = 0x3;
    cfg.ram_above_4g = 1ull << 30;
    t = build_and_link(&cfg);
    offsets[0] = t->dsdt;
    offsets[1] = t->fadt;
    offsets[2] = t->madt;
    offsets[3] = t->rsdt;
    offsets[4] = t->xsdt;
    dir = g_dir_make_tmp("mimic-test-acpi-XXXXXX", &error);
    g_assert_no_error(error);
    for (unsigned i = 0; i < G_N_ELEMENTS(tables); i++) {
        g_autofree char *path = NULL, *out = NULL, *err = NULL, *dsl = NULL;
        g_autofree char *dsl_path = NULL;
        const char *argv[] = { IASL, "-d", NULL, NULL };
        const uint8_t *table = t->tables->data + offsets[i];
        int status;

        tb = &tables[i];
        path = g_strdup_printf("%s/%s.dat", dir, tb->name);
        g_file_set_contents(path, (const char *)table, get32(table + 4), &error);
        g_assert_no_error(error);
        argv[2] = path;
        g_spawn_sync(dir, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                     &err, &status, &error);
        g_assert_no_error(error);
        if (!g_spawn_check_wait_status(status, NULL) || strstr(out, "Error") ||
            strstr(err, "Error"))
            g_error("iasl -d %s failed:\n%s\n%s", tb->name, out, err);
        dsl_path = g_strdup_printf("%s/%s.dsl", dir, tb->name);
        g_file_get_contents(dsl_path, &dsl, NULL, &error);
        g_assert_no_error(error);
        if (i == 0) {
            g_assert_nonnull(strstr(dsl, "Name (\\_S5, Package (0x04)"));
            g_assert_nonnull(strstr(dsl, "EisaId (\"PNP0A03\")"));
            g_assert_nonnull(strstr(dsl, "0xFEBFFFFF"));
            g_assert_nonnull(strstr(dsl, "Device (COM2)"));
            g_assert_nonnull(strstr(dsl, "Device (C007)"));
        }
        g_unlink(dsl_path);
        g_unlink(path);
    }
    g_rmdir(dir);
    acpi_tables_free(t);
}

/* The fw_cfg files SeaBIOS loads, and the tables laid into RAM without it. */
static void test_fw_cfg_and_install(void)
{
    size_t ram_size = 4u << 20;
    struct machine *m = fake_machine_new(ram_size, FAKE_MACHINE_RAM_FLAT);
    struct acpi_config cfg;
    GError *error = NULL;
    struct device *fw;
    uint64_t used = 0;
    const uint8_t *file;
    size_t len;
    uint8_t rsdp[36];
    uint8_t *xsdt;

    m->nr_vcpus = 2;
    fw = fw_cfg_create(m, &error);
    g_assert_no_error(error);

    acpi_config_init_pc(&cfg, m);
    g_assert_cmpuint(cfg.nr_cpus, ==, 2);
    g_assert_cmpuint(cfg.ram_below_4g, ==, ram_size);
    g_assert_cmpint(acpi_build_tables(m, fw, &cfg, &error), ==, 0);
    g_assert_no_error(error);
    g_assert_nonnull(fw_cfg_lookup_file(fw, ACPI_FILE_TABLES, &len));
    file = fw_cfg_lookup_file(fw, ACPI_FILE_RSDP, &len);
    g_assert_cmpuint(len, ==, 36);
    g_assert_cmpmem(file, 8, "RSD PTR ", 8);
    g_assert_nonnull(fw_cfg_lookup_file(fw, ACPI_FILE_LOADER, &len));
    g_assert_cmpuint(len % ACPI_LOADER_ENTRY_SIZE, ==, 0);

    g_assert_cmpint(acpi_install_tables(m, &cfg, 0x90000, 0xf000, 0x9fc00,
                                        &used, &error), ==, 0);
    g_assert_no_error(error);
    g_assert_cmpuint(used, >, 0);
    g_assert_cmpint(memory_map_read(m->memory, 0x9fc00, rsdp, sizeof(rsdp)), ==, 0);
    g_assert_cmpmem(rsdp, 8, "RSD PTR ", 8);
    g_assert_cmpuint(sum(rsdp, 36), ==, 0);
    xsdt = m->ram + get64(rsdp + 24);
    g_assert_cmpmem(xsdt, 4, "XSDT", 4);
    g_assert_cmpuint(sum(xsdt, get32(xsdt + 4)), ==, 0);
    g_assert_cmpmem(m->ram + get64(xsdt + 36), 4, "FACP", 4);

    /* Too little room, or outside RAM: refused. */
    g_assert_cmpint(acpi_install_tables(m, &cfg, 0x90000, 64, 0x9fc00, NULL,
                                        &error), <, 0);
    g_clear_error(&error);
    g_assert_cmpint(acpi_install_tables(m, &cfg, 0x10000000, 0xf000, 0x9fc00,
                                        NULL, &error), <, 0);
    g_clear_error(&error);

    fake_machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/acpi/chain", test_chain);
    g_test_add_func("/acpi/madt", test_madt);
    g_test_add_func("/acpi/loader-script", test_loader_script);
    g_test_add_func("/acpi/iasl", test_iasl);
    g_test_add_func("/acpi/fw-cfg-and-install", test_fw_cfg_and_install);
    return g_test_run();
}
