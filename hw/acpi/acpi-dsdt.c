/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pc machine's DSDT in AML: the S5 sleep object, the PCI host bridge with
 * its windows and a static interrupt routing table, the ISA devices behind
 * the PIIX bridge, the processors and the fw_cfg ports (ACPI 6.5, ch. 6-7).
 */
#define G_LOG_DOMAIN "mimic-acpi"

#include "hw/acpi/acpi-tables.h"

#include "hw/acpi/aml.h"
#include "hw/fw/fw-cfg.h"

#define PCI_SLOTS 32
#define ISA_BRIDGE_ADR 0x00010000       /* 00:01.0 */
#define PCI_CONFIG_PORT 0xcf8
#define VGA_WINDOW_START 0xa0000
#define VGA_WINDOW_END 0xbffff

static const struct {
    uint16_t port;
    uint8_t irq;
} com_ports[] = {
    { 0x3f8, 4 }, { 0x2f8, 3 }, { 0x3e8, 4 }, { 0x2e8, 3 },
};

static struct aml *name_int(const char *name, uint64_t value)
{
    return aml_name_decl(name, aml_int(value));
}

static struct aml *name_eisaid(const char *name, const char *id)
{
    return aml_name_decl(name, aml_eisaid(id));
}

static struct aml *name_crs(struct aml *descriptors)
{
    return aml_name_decl("_CRS", aml_resource_template(descriptors));
}

/* \_S5: SLP_TYP 0 for PM1a and PM1b (7.4.2); the PM device powers off on it. */
static struct aml *s5_object(void)
{
    struct aml *elements = aml_new();

    for (int i = 0; i < 4; i++)
        aml_append(elements, aml_int(0));
    return aml_name_decl("\\_S5", aml_package(4, elements));
}

/* _CRS of the host bridge (6.2.2): bus numbers, I/O around 0xCF8, memory windows. */
static struct aml *pci_crs(const struct acpi_config *cfg)
{
    struct aml *r = aml_new();
    uint64_t hole_start = (cfg->ram_below_4g + 0xfffff) & ~0xfffffull;

    aml_append(r, aml_res_word_bus(0x00, 0xff));
    aml_append(r, aml_res_io(PCI_CONFIG_PORT, PCI_CONFIG_PORT, 1, 8));
    aml_append(r, aml_res_word_io(0x0000, PCI_CONFIG_PORT - 1));
    aml_append(r, aml_res_word_io(0x0d00, 0xffff));
    aml_append(r, aml_res_dword_memory(VGA_WINDOW_START, VGA_WINDOW_END,
                                       AML_CACHEABLE));
    aml_append(r, aml_res_dword_memory(hole_start, ACPI_PCI_HOLE_END,
                                       AML_NON_CACHEABLE));
    return name_crs(r);
}

static const char *const link_names[4] = {
    "\\_SB.LNKA", "\\_SB.LNKB", "\\_SB.LNKC", "\\_SB.LNKD",
};

/*
 * _PRT (6.2.13): slot s, pin p goes through PIRQ (s + p) % 4, one link
 * device per PIRQ.
 */
static struct aml *pci_prt(void)
{
    struct aml *entries = aml_new();
    unsigned count = 0;

    for (unsigned slot = 1; slot < PCI_SLOTS; slot++) {
        for (unsigned pin = 0; pin < 4; pin++) {
            struct aml *e = aml_new();

            aml_append(e, aml_int((uint64_t)slot << 16 | 0xffff));
            aml_append(e, aml_int(pin));
            aml_append(e, aml_name(link_names[(slot + pin) % 4]));
            aml_append(e, aml_int(0));
            aml_append(entries, aml_package(4, e));
            count++;
        }
    }
    return aml_name_decl("_PRT", aml_package(count, entries));
}

static struct aml *isa_device(const char *name, const char *hid, unsigned uid,
                              struct aml *descriptors)
{
    struct aml *body = aml_new();

    aml_append(body, name_eisaid("_HID", hid));
    if (uid)
        aml_append(body, name_int("_UID", uid));
    aml_append(body, name_crs(descriptors));
    return aml_device(name, body);
}

/* The devices ISA-decoded by the PIIX3 bridge at 00:01.0. */
static struct aml *isa_bridge(const struct acpi_config *cfg)
{
    struct aml *body = aml_new();
    struct aml *r;

    aml_append(body, name_int("_ADR", ISA_BRIDGE_ADR));

    r = aml_new();
    aml_append(r, aml_res_io(0x70, 0x70, 1, 2));
    aml_append(r, aml_res_irq(1u << 8));
    aml_append(body, isa_device("RTC", "PNP0B00", 0, r));

    r = aml_new();
    aml_append(r, aml_res_io(0x60, 0x60, 1, 1));
    aml_append(r, aml_res_io(0x64, 0x64, 1, 1));
    aml_append(r, aml_res_irq(1u << 1));
    aml_append(body, isa_device("KBD", "PNP0303", 0, r));

    r = aml_new();
    aml_append(r, aml_res_irq(1u << 12));
    aml_append(body, isa_device("MOU", "PNP0F13", 0, r));

    for (unsigned i = 0; i < G_N_ELEMENTS(com_ports); i++) {
        g_autofree char *name = g_strdup_printf("COM%u", i + 1);

        if (!(cfg->serial_mask & (1u << i)))
            continue;
        r = aml_new();
        aml_append(r, aml_res_io(com_ports[i].port, com_ports[i].port, 1, 8));
        aml_append(r, aml_res_irq(1u << com_ports[i].irq));
        aml_append(body, isa_device(name, "PNP0501", i + 1, r));
    }
    return aml_device("ISA", body);
}

static struct aml *pci_host(const struct acpi_config *cfg)
{
    struct aml *body = aml_new();

    aml_append(body, name_eisaid("_HID", "PNP0A03"));
    aml_append(body, name_int("_UID", 0));
    aml_append(body, name_int("_BBN", 0));
    aml_append(body, pci_crs(cfg));
    aml_append(body, pci_prt());
    aml_append(body, isa_bridge(cfg));
    return aml_device("PCI0", body);
}

/*
 * PCI interrupt links (PNP0C0F, 6.2.13): each PIRQ has one fixed route, the
 * GSI the chipset's PIRQ register holds from reset (SeaBIOS programs the
 * same), level-triggered and active-high as the emulated lines are. _SRS
 * accepts the only possible setting and changes nothing.
 */
static struct aml *pci_links(void)
{
    struct aml *all = aml_new();

    for (unsigned i = 0; i < 4; i++) {
        struct aml *body = aml_new();
        struct aml *r;

        aml_append(body, name_eisaid("_HID", "PNP0C0F"));
        aml_append(body, name_int("_UID", i + 1));
        r = aml_new();
        aml_append(r, aml_res_interrupt_level_high(acpi_pirq_gsi[i]));
        aml_append(body, aml_name_decl("_PRS", aml_resource_template(r)));
        r = aml_new();
        aml_append(r, aml_res_interrupt_level_high(acpi_pirq_gsi[i]));
        aml_append(body, name_crs(r));
        aml_append(body, aml_method("_SRS", 1, aml_new()));
        aml_append(all, aml_device(link_names[i] + 5, body));
    }
    return all;
}

/* Processor devices (8.4): _UID matches the MADT's ACPI Processor UID. */
static struct aml *processors(const struct acpi_config *cfg)
{
    struct aml *all = aml_new();

    for (unsigned i = 0; i < cfg->nr_cpus; i++) {
        g_autofree char *name = g_strdup_printf("C%03X", i);
        struct aml *body = aml_new();

        aml_append(body, aml_name_decl("_HID", aml_string("ACPI0007")));
        aml_append(body, name_int("_UID", i));
        aml_append(all, aml_device(name, body));
    }
    return all;
}

/* Motherboard resources (PNP0C02) the OS must leave alone: the PM registers. */
static struct aml *system_resources(const struct acpi_config *cfg)
{
    struct aml *body = aml_new();
    struct aml *r = aml_new();

    aml_append(body, name_eisaid("_HID", "PNP0C02"));
    aml_append(body, name_int("_UID", 1));
    aml_append(r, aml_res_io(cfg->pm_base, cfg->pm_base, 1, 0x40));
    aml_append(body, name_crs(r));
    return aml_device("RES0", body);
}

/* fw_cfg for guest drivers (docs/specs/fw_cfg.rst, "ACPI Interface"). */
static struct aml *fw_cfg_device(void)
{
    struct aml *body = aml_new();
    struct aml *r = aml_new();

    aml_append(body, aml_name_decl("_HID", aml_string("QEMU0002")));
    aml_append(body, name_int("_STA", 0x0b));   /* present, enabled, not shown */
    aml_append(r, aml_res_io(FW_CFG_IO_BASE, FW_CFG_IO_BASE, 1, FW_CFG_IO_SIZE));
    aml_append(body, name_crs(r));
    return aml_device("FWCF", body);
}

struct aml *acpi_dsdt_body(const struct acpi_config *cfg)
{
    struct aml *dsdt = aml_new();
    struct aml *sb = aml_new();

    aml_append(dsdt, s5_object());
    aml_append(sb, pci_host(cfg));
    aml_append(sb, pci_links());
    aml_append(sb, processors(cfg));
    aml_append(sb, system_resources(cfg));
    if (cfg->fw_cfg)
        aml_append(sb, fw_cfg_device());
    aml_append(dsdt, aml_scope("\\_SB", sb));
    return dsdt;
}
