/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pc machine's static ACPI tables (ACPI 6.5, 5.2) and their table-loader
 * script: every pointer between tables is written relative to the start of
 * its fw_cfg file and patched by whoever places the files (SeaBIOS, or
 * acpi_install_tables for a boot without firmware).
 */
#define G_LOG_DOMAIN "mimic-acpi"

#include "hw/acpi/acpi-tables.h"

#include <errno.h>
#include <string.h>

#include "engine/machine.h"
#include "engine/memory.h"
#include "engine/vm.h"
#include "hw/acpi/acpi-loader.h"
#include "hw/acpi/aml.h"
#include "hw/fw/fw-cfg.h"

#define OEM_ID "MIMIC "                 /* 6 bytes */
#define OEM_TABLE_ID "MIMICPC "         /* 8 bytes */
#define CREATOR_ID "MIMC"
#define HEADER_SIZE 36

/* Header field offsets (5.2.6, table 5.4). */
#define HDR_LENGTH 4
#define HDR_CHECKSUM 9

/* RSDP (5.2.5.3). */
#define RSDP_CHECKSUM 8
#define RSDP_RSDT 16
#define RSDP_V1_LENGTH 20
#define RSDP_XSDT 24
#define RSDP_EXT_CHECKSUM 32
#define RSDP_LENGTH 36

/* FADT fields (5.2.9, table 5.9), revision 6. */
#define FADT_REVISION 6
#define FADT_LENGTH 276
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT 40
#define FADT_X_DSDT 140
#define FADT_FLAG_WBINVD (1u << 0)
#define FADT_FLAG_PROC_C1 (1u << 2)
#define FADT_FLAG_SLP_BUTTON (1u << 5)
#define FADT_FLAG_RTC_S4 (1u << 7)
#define FADT_FLAG_RESET_REG_SUP (1u << 10)
#define FADT_BOOT_LEGACY_DEVICES (1u << 0)
#define FADT_BOOT_8042 (1u << 1)
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

/* MADT (5.2.12). */
#define MADT_PCAT_COMPAT 1
#define MADT_LOCAL_APIC 0
#define MADT_IO_APIC 1
#define MADT_INT_OVERRIDE 2
#define MADT_LOCAL_APIC_NMI 4
#define MADT_ENABLED 1
/* MPS INTI flags (table 5.26): polarity bits 0-1, trigger mode bits 2-3. */
#define MPS_ACTIVE_HIGH 0x1
#define MPS_LEVEL 0xc

const uint8_t acpi_pirq_gsi[4] = { 10, 10, 11, 11 };

void acpi_config_init_pc(struct acpi_config *cfg, const struct machine *m)
{
    const uint64_t below_4g_max = 0xc0000000ull;

    memset(cfg, 0, sizeof(*cfg));
    cfg->nr_cpus = m->nr_vcpus ? m->nr_vcpus :
                   (m->config && m->config->smp ? m->config->smp : 1);
    cfg->ram_below_4g = MIN(m->ram_size, below_4g_max);
    cfg->ram_above_4g = m->ram_size - cfg->ram_below_4g;
    cfg->pm_base = 0x600;
    cfg->sci_gsi = 9;
    cfg->serial_mask = 1;
    cfg->fw_cfg = true;
}

/* ---- byte helpers --------------------------------------------------------- */

static void put8(GByteArray *b, size_t at, uint8_t v)
{
    b->data[at] = v;
}

static void put16(GByteArray *b, size_t at, uint16_t v)
{
    v = GUINT16_TO_LE(v);
    memcpy(b->data + at, &v, 2);
}

static void put32(GByteArray *b, size_t at, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(b->data + at, &v, 4);
}

static void put64(GByteArray *b, size_t at, uint64_t v)
{
    v = GUINT64_TO_LE(v);
    memcpy(b->data + at, &v, 8);
}

/* Grow @b by @len zero bytes, returning where they start. */
static size_t reserve(GByteArray *b, size_t len)
{
    size_t at = b->len;

    g_byte_array_set_size(b, at + len);
    memset(b->data + at, 0, len);
    return at;
}

static void align_to(GByteArray *b, size_t align)
{
    reserve(b, (align - b->len % align) % align);
}

/* Generic Address Structure (5.2.3.2) in system I/O space. */
static void put_gas_io(GByteArray *b, size_t at, uint8_t bits, uint8_t access,
                       uint64_t port)
{
    put8(b, at, GAS_SYSTEM_IO);
    put8(b, at + 1, bits);
    put8(b, at + 2, 0);
    put8(b, at + 3, access);
    put64(b, at + 4, port);
}

/* Start a table with its 36-byte header (5.2.6); finish_table sets length/checksum. */
static size_t begin_table(GByteArray *b, const char *signature, uint8_t revision)
{
    size_t at;

    align_to(b, 8);
    at = reserve(b, HEADER_SIZE);
    memcpy(b->data + at, signature, 4);
    put8(b, at + 8, revision);
    memcpy(b->data + at + 10, OEM_ID, 6);
    memcpy(b->data + at + 16, OEM_TABLE_ID, 8);
    put32(b, at + 24, 1);                       /* OEM revision */
    memcpy(b->data + at + 28, CREATOR_ID, 4);
    put32(b, at + 32, 1);                       /* creator revision */
    return at;
}

/* Length and checksum; the loader re-checks the sum once pointers are patched. */
static void finish_table(GByteArray *b, size_t at, struct acpi_loader *loader)
{
    uint32_t length = b->len - at;

    put32(b, at + HDR_LENGTH, length);
    put8(b, at + HDR_CHECKSUM, 0);
    put8(b, at + HDR_CHECKSUM, acpi_checksum(b->data + at, length));
    acpi_loader_add_checksum(loader, ACPI_FILE_TABLES, at + HDR_CHECKSUM, at,
                             length);
}

/* A pointer in the tables file to another offset in it. */
static void link_table(struct acpi_tables *t, size_t at, unsigned size,
                       uint32_t target)
{
    if (size == 4)
        put32(t->tables, at, target);
    else
        put64(t->tables, at, target);
    acpi_loader_add_pointer(t->loader, ACPI_FILE_TABLES, ACPI_FILE_TABLES, at,
                            size);
}

/* ---- the tables ----------------------------------------------------------- */

/* FACS (5.2.10): no header checksum; 64-byte aligned (tables start with it). */
static void build_facs(struct acpi_tables *t)
{
    GByteArray *b = t->tables;
    size_t at = reserve(b, 64);

    memcpy(b->data + at, "FACS", 4);
    put32(b, at + 4, 64);
    put8(b, at + 32, 2);                        /* version */
    t->facs = at;
}

static void build_dsdt(struct acpi_tables *t, const struct acpi_config *cfg)
{
    GByteArray *b = t->tables;
    size_t at = begin_table(b, "DSDT", 2);     /* revision 2: 64-bit integers */
    struct aml *body = acpi_dsdt_body(cfg);
    size_t len;
    const uint8_t *aml = aml_data(body, &len);

    g_byte_array_append(b, aml, len);
    aml_free(body);
    finish_table(b, at, t->loader);
    t->dsdt = at;
}

static void build_fadt(struct acpi_tables *t, const struct acpi_config *cfg)
{
    GByteArray *b = t->tables;
    size_t at = begin_table(b, "FACP", FADT_REVISION);
    uint16_t pm1a_evt = cfg->pm_base, pm1a_cnt = cfg->pm_base + 4,
             pm_tmr = cfg->pm_base + 8;

    reserve(b, FADT_LENGTH - HEADER_SIZE);
    link_table(t, at + FADT_FIRMWARE_CTRL, 4, t->facs);
    link_table(t, at + FADT_DSDT, 4, t->dsdt);
    put8(b, at + 45, 0);                        /* PM profile: unspecified */
    put16(b, at + 46, cfg->sci_gsi);
    /*
     * SMI_CMD 0: no ACPI enable handshake, the platform is always in ACPI
     * mode (5.2.9, "SMI_CMD"); the PM device starts with SCI_EN set.
     */
    put32(b, at + 48, 0);
    put32(b, at + 56, pm1a_evt);
    put32(b, at + 64, pm1a_cnt);
    put32(b, at + 76, pm_tmr);
    put8(b, at + 88, 4);                        /* PM1_EVT_LEN */
    put8(b, at + 89, 2);                        /* PM1_CNT_LEN */
    put8(b, at + 91, 4);                        /* PM_TMR_LEN */
    put16(b, at + 96, 0x0fff);                  /* P_LVL2_LAT: no C2 */
    put16(b, at + 98, 0x0fff);                  /* P_LVL3_LAT: no C3 */
    put8(b, at + 108, ACPI_RTC_CENTURY);
    put16(b, at + 109, FADT_BOOT_LEGACY_DEVICES | FADT_BOOT_8042);
    put32(b, at + 112, FADT_FLAG_WBINVD | FADT_FLAG_PROC_C1 |
                       FADT_FLAG_SLP_BUTTON | FADT_FLAG_RTC_S4 |
                       FADT_FLAG_RESET_REG_SUP);
    put_gas_io(b, at + 116, 8, GAS_ACCESS_BYTE, ACPI_RESET_PORT);
    put8(b, at + 128, ACPI_RESET_VALUE);
    put8(b, at + 131, 0);                       /* FADT minor version */
    link_table(t, at + FADT_X_DSDT, 8, t->dsdt);
    put_gas_io(b, at + 148, 32, 0, pm1a_evt);   /* X_PM1a_EVT_BLK */
    put_gas_io(b, at + 172, 16, 0, pm1a_cnt);   /* X_PM1a_CNT_BLK */
    put_gas_io(b, at + 208, 32, 0, pm_tmr);     /* X_PM_TMR_BLK */
    finish_table(b, at, t->loader);
    t->fadt = at;
}

static void madt_entry(GByteArray *b, const uint8_t *entry, size_t len)
{
    g_byte_array_append(b, entry, len);
}

static void build_madt(struct acpi_tables *t, const struct acpi_config *cfg)
{
    GByteArray *b = t->tables;
    size_t at = begin_table(b, "APIC", 5);
    size_t fields = reserve(b, 8);
    uint8_t ioapic_id = cfg->nr_cpus;

    put32(b, fields, ACPI_LOCAL_APIC_ADDR);
    put32(b, fields + 4, MADT_PCAT_COMPAT);
    /* Processor Local APIC (5.2.12.2): UID and APIC ID are the CPU index. */
    for (unsigned i = 0; i < cfg->nr_cpus; i++) {
        const uint8_t lapic[8] = { MADT_LOCAL_APIC, 8, i, i, MADT_ENABLED };

        madt_entry(b, lapic, sizeof(lapic));
    }
    {
        /* I/O APIC (5.2.12.3), GSI base 0. */
        uint8_t ioapic[12] = { MADT_IO_APIC, 12, ioapic_id, 0 };
        uint32_t addr = GUINT32_TO_LE(ACPI_IO_APIC_ADDR);

        memcpy(ioapic + 4, &addr, 4);
        madt_entry(b, ioapic, sizeof(ioapic));
    }
    {
        /*
         * Interrupt Source Overrides (5.2.12.5): the PIT on pin 2; the SCI
         * and the PCI interrupt GSIs level-triggered, active-high.
         */
        const struct { uint8_t irq; uint32_t gsi; uint16_t flags; } iso[] = {
            { 0, 2, 0 },
            { cfg->sci_gsi, cfg->sci_gsi, MPS_ACTIVE_HIGH | MPS_LEVEL },
            { acpi_pirq_gsi[0], acpi_pirq_gsi[0], MPS_ACTIVE_HIGH | MPS_LEVEL },
            { acpi_pirq_gsi[2], acpi_pirq_gsi[2], MPS_ACTIVE_HIGH | MPS_LEVEL },
        };

        for (unsigned i = 0; i < G_N_ELEMENTS(iso); i++) {
            uint8_t e[10] = { MADT_INT_OVERRIDE, 10, 0, iso[i].irq };
            uint32_t gsi = GUINT32_TO_LE(iso[i].gsi);
            uint16_t flags = GUINT16_TO_LE(iso[i].flags);

            memcpy(e + 4, &gsi, 4);
            memcpy(e + 8, &flags, 2);
            madt_entry(b, e, sizeof(e));
        }
    }
    {
        /* Local APIC NMI (5.2.12.7): LINT1 of every processor. */
        const uint8_t nmi[6] = { MADT_LOCAL_APIC_NMI, 6, 0xff, 0, 0, 1 };

        madt_entry(b, nmi, sizeof(nmi));
    }
    finish_table(b, at, t->loader);
    t->madt = at;
}

/* RSDT (5.2.7) and XSDT (5.2.8): the FADT and the MADT. */
static void build_rsdt_xsdt(struct acpi_tables *t)
{
    const uint32_t entries[] = { t->fadt, t->madt };
    GByteArray *b = t->tables;
    size_t at = begin_table(b, "RSDT", 1);

    for (unsigned i = 0; i < G_N_ELEMENTS(entries); i++)
        link_table(t, reserve(b, 4), 4, entries[i]);
    finish_table(b, at, t->loader);
    t->rsdt = at;

    at = begin_table(b, "XSDT", 1);
    for (unsigned i = 0; i < G_N_ELEMENTS(entries); i++)
        link_table(t, reserve(b, 8), 8, entries[i]);
    finish_table(b, at, t->loader);
    t->xsdt = at;
}

/* RSDP revision 2 (5.2.5.3), in its own file so it can live in the F segment. */
static void build_rsdp(struct acpi_tables *t)
{
    GByteArray *b = t->rsdp;

    reserve(b, RSDP_LENGTH);
    memcpy(b->data, "RSD PTR ", 8);
    memcpy(b->data + 9, OEM_ID, 6);
    put8(b, 15, 2);                             /* revision */
    put32(b, RSDP_RSDT, t->rsdt);
    put32(b, 20, RSDP_LENGTH);
    put64(b, RSDP_XSDT, t->xsdt);
    acpi_loader_add_pointer(t->loader, ACPI_FILE_RSDP, ACPI_FILE_TABLES,
                            RSDP_RSDT, 4);
    acpi_loader_add_pointer(t->loader, ACPI_FILE_RSDP, ACPI_FILE_TABLES,
                            RSDP_XSDT, 8);
    put8(b, RSDP_CHECKSUM, acpi_checksum(b->data, RSDP_V1_LENGTH));
    acpi_loader_add_checksum(t->loader, ACPI_FILE_RSDP, RSDP_CHECKSUM, 0,
                             RSDP_V1_LENGTH);
    put8(b, RSDP_EXT_CHECKSUM, acpi_checksum(b->data, RSDP_LENGTH));
    acpi_loader_add_checksum(t->loader, ACPI_FILE_RSDP, RSDP_EXT_CHECKSUM, 0,
                             RSDP_LENGTH);
}

struct acpi_tables *acpi_tables_build(const struct acpi_config *cfg,
                                      GError **error)
{
    struct acpi_tables *t;

    if (cfg->nr_cpus < 1 || cfg->nr_cpus > ACPI_MAX_CPUS) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "ACPI: %u CPUs; the pc machine supports 1 to %d",
                    cfg->nr_cpus, ACPI_MAX_CPUS);
        return NULL;
    }
    if (cfg->ram_below_4g < 0x100000 || cfg->ram_below_4g > ACPI_PCI_HOLE_END) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "ACPI: 0x%" G_GINT64_MODIFIER "x bytes of RAM below 4 GiB "
                    "leave no PCI window", cfg->ram_below_4g);
        return NULL;
    }
    t = g_new0(struct acpi_tables, 1);
    t->tables = g_byte_array_new();
    t->rsdp = g_byte_array_new();
    t->loader = acpi_loader_new();
    /* The files are allocated before any command refers to them. */
    acpi_loader_allocate(t->loader, ACPI_FILE_RSDP, 16, ACPI_LOADER_ZONE_FSEG);
    acpi_loader_allocate(t->loader, ACPI_FILE_TABLES, 64, ACPI_LOADER_ZONE_HIGH);
    build_facs(t);
    build_dsdt(t, cfg);
    build_fadt(t, cfg);
    build_madt(t, cfg);
    build_rsdt_xsdt(t);
    build_rsdp(t);
    return t;
}

void acpi_tables_free(struct acpi_tables *t)
{
    if (!t)
        return;
    g_byte_array_unref(t->tables);
    g_byte_array_unref(t->rsdp);
    acpi_loader_free(t->loader);
    g_free(t);
}

int acpi_build_tables(struct machine *m, struct device *fw_cfg,
                      const struct acpi_config *cfg, GError **error)
{
    struct acpi_tables *t = acpi_tables_build(cfg, error);
    const uint8_t *script;
    size_t len;
    int ret = 0;

    if (!t)
        return -EINVAL;
    script = acpi_loader_data(t->loader, &len);
    if (fw_cfg_add_file(fw_cfg, ACPI_FILE_TABLES, t->tables->data,
                        t->tables->len, error) < 0 ||
        fw_cfg_add_file(fw_cfg, ACPI_FILE_RSDP, t->rsdp->data, t->rsdp->len,
                        error) < 0 ||
        fw_cfg_add_file(fw_cfg, ACPI_FILE_LOADER, script, len, error) < 0)
        ret = -EINVAL;
    acpi_tables_free(t);
    return ret;
}

int acpi_install_tables(struct machine *m, const struct acpi_config *cfg,
                        uint64_t tables_addr, uint64_t tables_max,
                        uint64_t rsdp_addr, uint64_t *tables_size,
                        GError **error)
{
    struct acpi_tables *t = acpi_tables_build(cfg, error);
    struct acpi_loader_file files[2];
    const uint8_t *script;
    size_t len;
    int ret = -EINVAL;

    if (!t)
        return -EINVAL;
    if (t->tables->len > tables_max) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "ACPI tables need %u bytes, only %" G_GINT64_MODIFIER
                    "u reserved", t->tables->len, tables_max);
        ret = -ENOSPC;
        goto out_free;
    }
    files[0] = (struct acpi_loader_file){ ACPI_FILE_TABLES, t->tables, tables_addr };
    files[1] = (struct acpi_loader_file){ ACPI_FILE_RSDP, t->rsdp, rsdp_addr };
    script = acpi_loader_data(t->loader, &len);
    if (acpi_loader_run(script, len, files, G_N_ELEMENTS(files), error) < 0)
        goto out_free;
    if (memory_map_write(m->memory, tables_addr, t->tables->data,
                         t->tables->len, false) < 0 ||
        memory_map_write(m->memory, rsdp_addr, t->rsdp->data, t->rsdp->len,
                         false) < 0) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "ACPI tables at 0x%" G_GINT64_MODIFIER "x or the RSDP at 0x%"
                    G_GINT64_MODIFIER "x are not in guest RAM", tables_addr,
                    rsdp_addr);
        ret = -EFAULT;
        goto out_free;
    }
    if (tables_size)
        *tables_size = t->tables->len;
    ret = 0;
out_free:
    acpi_tables_free(t);
    return ret;
}
