/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ACPI tables of the pc machine (ACPI 6.5, ch. 5): RSDP, RSDT, XSDT, FADT,
 * FACS, MADT and an AML DSDT, handed to SeaBIOS through fw_cfg and the
 * table-loader, or laid into guest RAM directly for a boot without firmware.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;
struct device;
struct aml;

#define ACPI_LOCAL_APIC_ADDR 0xfee00000u
#define ACPI_IO_APIC_ADDR 0xfec00000u
#define ACPI_PCI_HOLE_END 0xfebfffffu       /* last byte of the 32-bit window */
#define ACPI_RESET_PORT 0xcf9
#define ACPI_RESET_VALUE 0x06
#define ACPI_RTC_CENTURY 0x32
#define ACPI_MAX_CPUS 254                   /* xAPIC IDs, the I/O APIC takes the next */

/*
 * PCI INTx routing: slot s, pin p (0 = INTA) drives PIRQ (s + p) % 4, and
 * the DSDT's _PRT is static: PIRQA..D go to these GSIs (ISA IRQs in PIC
 * mode). The chipset's PIRQ route registers (PIIX 0x60-0x63) must hold the
 * same values from reset, as SeaBIOS programs them.
 */
extern const uint8_t acpi_pirq_gsi[4];

/* What the tables describe. */
struct acpi_config {
    unsigned nr_cpus;           /* 1 .. ACPI_MAX_CPUS; APIC IDs 0 .. n-1 */
    uint64_t ram_below_4g;      /* RAM [0, ram_below_4g); the PCI hole follows */
    uint64_t ram_above_4g;
    uint16_t pm_base;           /* PIIX4 PM: PM1a_EVT +0, PM1a_CNT +4, PM_TMR +8 */
    uint8_t sci_gsi;
    uint8_t serial_mask;        /* bit i: COM(i+1) present, at the PC ports */
    bool fw_cfg;                /* describe the fw_cfg ports (QEMU0002) */
};

/* The defaults of the pc machine for @m: 0x600 PM base, SCI 9, COM1. */
void acpi_config_init_pc(struct acpi_config *cfg, const struct machine *m);

/* The fw_cfg files, as built. */
#define ACPI_FILE_TABLES "etc/acpi/tables"
#define ACPI_FILE_RSDP "etc/acpi/rsdp"
#define ACPI_FILE_LOADER "etc/table-loader"

struct acpi_tables {
    GByteArray *tables;         /* FACS, DSDT, FADT, MADT, RSDT, XSDT */
    GByteArray *rsdp;
    struct acpi_loader *loader;
    /* Offsets in @tables (pointers inside are relative to its start). */
    uint32_t facs, dsdt, fadt, madt, rsdt, xsdt;
};

struct acpi_tables *acpi_tables_build(const struct acpi_config *cfg,
                                      GError **error);
void acpi_tables_free(struct acpi_tables *tables);

/* The DSDT's definition block body (acpi-dsdt.c). */
struct aml *acpi_dsdt_body(const struct acpi_config *cfg);

/* Build the tables and add the three fw_cfg files SeaBIOS loads. */
int acpi_build_tables(struct machine *m, struct device *fw_cfg,
                      const struct acpi_config *cfg, GError **error);

/*
 * For a boot without firmware: build the tables and run the loader script
 * with the tables at @tables_addr (64-byte aligned, at most @tables_max
 * bytes) and the RSDP at @rsdp_addr (16-byte aligned), writing both into
 * guest RAM. *tables_size is set to the bytes used at @tables_addr.
 */
int acpi_install_tables(struct machine *m, const struct acpi_config *cfg,
                        uint64_t tables_addr, uint64_t tables_max,
                        uint64_t rsdp_addr, uint64_t *tables_size,
                        GError **error);
