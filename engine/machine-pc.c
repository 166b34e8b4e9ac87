/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The `pc` machine (x86-64): RAM with the legacy holes, the firmware at the
 * top of 4 GiB and aliased below 1 MiB, and the board's legacy devices.
 */
#define G_LOG_DOMAIN "mimic-machine"

#include "engine/machine.h"

#include <errno.h>
#include <string.h>

#include "engine/pc-drives.h"
#include "engine/vm.h"
#include "display/surface.h"
#include "hw/char/debugcon.h"
#include "hw/char/serial.h"
#include "hw/display/vga.h"
#include "hw/input/i8042.h"
#include "hw/pci/i440fx.h"
#include "hw/pci/pci.h"
#include "hw/pci/piix.h"
#include "hw/x86/acpi-pm.h"
#include "hw/x86/linux-boot.h"
#include "hw/x86/rtc.h"
#include "hw/acpi/acpi-tables.h"
#include "hw/fw/e820.h"
#include "hw/fw/fw-cfg.h"
#include "hw/fw/smbios.h"
#include "storage/block.h"
#include "hw/x86/debug-exit.h"
#include "hw/x86/post-port.h"

#define PC_DEFAULT_BIOS "/usr/share/seabios/bios-256k.bin"
#define PC_LOW_MEMORY_END 0xa0000           /* VGA window starts */
#define PC_ROM_AREA_START 0xc0000           /* option ROMs and BIOS */
#define PC_HIGH_MEMORY_START 0x100000
#define PC_BELOW_4G_MAX 0xc0000000ULL       /* PCI hole above */
#define PC_4G 0x100000000ULL
#define PC_BIOS_MAX (16 << 20)
#define PC_BIOS_ALIAS_MAX (128 << 10)       /* mirrored below 1 MiB */
#define PC_ACPI_PM_BASE 0x600

static const struct {
    uint16_t base;
    unsigned gsi;
} pc_serial_ports[] = {
    { 0x3f8, 4 }, { 0x2f8, 3 }, { 0x3e8, 4 }, { 0x2e8, 3 },
};

/*
 * Guest RAM is one host mapping; the PC layout shows it through windows:
 * [0, 640K), [768K, BIOS alias), [1M, below-4G end), and the rest above 4G.
 */
static int map_ram(struct machine *m, uint64_t bios_alias_start, GError **error)
{
    uint64_t below_4g = MIN(m->ram_size, PC_BELOW_4G_MAX);

    if (m->ram_size < 2 * PC_HIGH_MEMORY_START) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "-m: the pc machine needs at least 2 MiB of RAM");
        return -1;
    }
    if (!memory_map_add_ram(m->memory, "ram-low", 0, PC_LOW_MEMORY_END,
                            m->ram, error))
        return -1;
    if (bios_alias_start > PC_ROM_AREA_START &&
        !memory_map_add_ram(m->memory, "ram-rom-area", PC_ROM_AREA_START,
                            bios_alias_start - PC_ROM_AREA_START,
                            m->ram + PC_ROM_AREA_START, error))
        return -1;
    if (!memory_map_add_ram(m->memory, "ram-below-4g", PC_HIGH_MEMORY_START,
                            below_4g - PC_HIGH_MEMORY_START,
                            m->ram + PC_HIGH_MEMORY_START, error))
        return -1;
    if (m->ram_size > below_4g &&
        !memory_map_add_ram(m->memory, "ram-above-4g", PC_4G,
                            m->ram_size - below_4g, m->ram + below_4g, error))
        return -1;
    return 0;
}

static int load_bios(struct machine *m, uint64_t *alias_start, GError **error)
{
    const char *path = m->config->bios ? m->config->bios : PC_DEFAULT_BIOS;
    g_autoptr(GError) local = NULL;
    char *contents;
    gsize length;
    uint64_t alias_size;

    if (!g_file_get_contents(path, &contents, &length, &local)) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "cannot read the firmware: %s", local->message);
        return -1;
    }
    if (length == 0 || length % 65536 != 0 || length > PC_BIOS_MAX) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "firmware %s is %zu bytes: it must be a multiple of 64 KiB "
                    "and at most 16 MiB", path, (size_t)length);
        g_free(contents);
        return -1;
    }
    /* Page-aligned, as accelerators map it straight into the guest. */
    m->bios = g_aligned_alloc(length, 1, 65536);
    memcpy(m->bios, contents, length);
    m->bios_size = length;
    g_free(contents);

    /* The reset vector 0xfffffff0 lies in the last 16 bytes of the image. */
    if (!memory_map_add_rom(m->memory, "bios", PC_4G - length, length,
                            m->bios, error))
        return -1;
    alias_size = MIN(length, PC_BIOS_ALIAS_MAX);
    *alias_start = PC_HIGH_MEMORY_START - alias_size;
    if (!memory_map_add_rom(m->memory, "bios-isa", *alias_start, alias_size,
                            m->bios + length - alias_size, error))
        return -1;
    return 0;
}

static int add_serial_ports(struct machine *m, GError **error)
{
    GPtrArray *specs = m->config->serials;
    unsigned count = MAX(specs->len, 1);

    if (specs->len > G_N_ELEMENTS(pc_serial_ports)) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "-serial: the pc machine has %zu serial ports, %u given",
                    G_N_ELEMENTS(pc_serial_ports), specs->len);
        return -1;
    }
    for (unsigned i = 0; i < count; i++) {
        const char *spec = i < specs->len ? g_ptr_array_index(specs, i) : NULL;
        struct chardev *chr = NULL;

        if (spec && g_strcmp0(spec, "none") == 0)
            continue;
        if (spec) {
            chr = machine_open_chardev(m, spec, error);
            if (!chr) {
                g_prefix_error(error, "-serial %s: ", spec);
                return -1;
            }
        }
        if (!serial_create(m, pc_serial_ports[i].base, pc_serial_ports[i].gsi,
                           chr, error))
            return -1;
    }
    return 0;
}

/* The board's devices the machine-level services reach. */
struct pc_board {
    GPtrArray *images;              /* BlkImage *, closed after the devices */
    struct acpi_config acpi;
    struct device *fw_cfg;
    struct pci_bus *bus;
    struct device *pm;
    struct device *rtc;
    struct device *kbc;
    struct device *vga;
};

static void pc_board_free(void *data)
{
    struct pc_board *pc = data;

    for (unsigned i = 0; i < pc->images->len; i++)
        blk_close(g_ptr_array_index(pc->images, i));
    g_ptr_array_unref(pc->images);
    g_free(pc);
}

static void pc_power_button(struct machine *m)
{
    struct pc_board *pc = m->board;

    acpi_pm_power_button(pc->pm);
}

static void pc_key_event(struct machine *m, int keycode, bool down)
{
    struct pc_board *pc = m->board;

    i8042_key_event(pc->kbc, keycode, down);
}

static void pc_pointer_event(struct machine *m, int dx, int dy, int dz,
                             unsigned buttons)
{
    struct pc_board *pc = m->board;
    unsigned ps2 = (buttons & MIMIC_BUTTON_LEFT ? I8042_BUTTON_LEFT : 0) |
                   (buttons & MIMIC_BUTTON_RIGHT ? I8042_BUTTON_RIGHT : 0) |
                   (buttons & MIMIC_BUTTON_MIDDLE ? I8042_BUTTON_MIDDLE : 0);

    i8042_mouse_event(pc->kbc, dx, dy, dz, ps2);
}

static int pc_screendump(struct machine *m, const char *path, GError **error)
{
    struct pc_board *pc = m->board;

    if (!pc->vga) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_FAILED,
                    "this VM has no display (-vga none)");
        return -1;
    }
    vga_update_display(pc->vga);
    return display_surface_write_png(vga_get_surface(pc->vga), path, error);
}

static char *pc_text_screen(struct machine *m)
{
    struct pc_board *pc = m->board;

    return pc->vga ? vga_text_snapshot(pc->vga) : NULL;
}

/*
 * What SeaBIOS reads through fw_cfg: the e820 map, the ACPI tables with the
 * linker/loader script that places them, SMBIOS, the boot menu switch.
 */
static int add_firmware_config(struct machine *m, struct pc_board *pc,
                               GError **error)
{
    struct smbios_config smbios = { 0 };
    struct e820_map *map;
    uint8_t *e820;
    size_t length;

    pc->fw_cfg = fw_cfg_create(m, error);
    if (!pc->fw_cfg)
        return -1;
    acpi_config_init_pc(&pc->acpi, m);
    pc->acpi.serial_mask = (1u << MAX(m->config->serials->len, 1)) - 1;
    map = e820_pc_firmware_map(pc->acpi.ram_below_4g, pc->acpi.ram_above_4g);
    e820 = e820_map_encode(map, &length);
    e820_map_free(map);
    if (fw_cfg_add_file_take(pc->fw_cfg, "etc/e820", e820, length, error) < 0 ||
        acpi_build_tables(m, pc->fw_cfg, &pc->acpi, error) < 0)
        return -1;
    smbios.nr_cpus = pc->acpi.nr_cpus;
    smbios.ram_below_4g = pc->acpi.ram_below_4g;
    smbios.ram_above_4g = pc->acpi.ram_above_4g;
    if (smbios_add_fw_cfg(pc->fw_cfg, &smbios, error) < 0)
        return -1;
    fw_cfg_add_i16(pc->fw_cfg, FW_CFG_BOOT_MENU, m->config->boot_menu);
    return 0;
}

/*
 * Direct Linux boot, at creation and after every reset: the kernel, initrd,
 * command line and ACPI tables go straight into RAM and the boot CPU starts
 * at the kernel's entry; no firmware runs, so the PCI interrupt routing
 * SeaBIOS would program is set here (PIRQ A-D to the DSDT's GSIs, level).
 */
static int pc_linux_boot(struct machine *m, GError **error)
{
    struct pc_board *pc = m->board;
    g_autofree struct x86_cpu_state *state = g_new0(struct x86_cpu_state, 1);
    struct pci_device *isa = pci_bus_find(pc->bus, PIIX_DEVFN);
    struct linux_boot_layout layout;
    uint32_t pirq = 0;
    uint16_t elcr = 0;

    if (m->accel->vcpu_get_state(m->vcpus[0], state, error) < 0 ||
        linux_boot_setup(m, m->config->kernel, m->config->initrd,
                         m->config->append, &pc->acpi, state, &layout,
                         error) < 0 ||
        m->accel->vcpu_set_state(m->vcpus[0], state, error) < 0)
        return -1;
    for (unsigned i = 0; i < 4; i++) {
        pirq |= (uint32_t)acpi_pirq_gsi[i] << (8 * i);
        elcr |= 1u << acpi_pirq_gsi[i];
    }
    g_mutex_lock(&m->device_lock);
    if (isa->ops && isa->ops->config_write)
        isa->ops->config_write(isa, 0x60, pirq, 4);
    else
        pci_default_config_write(isa, 0x60, pirq, 4);
    g_mutex_unlock(&m->device_lock);
    /* ELCR (ports 0x4D0/0x4D1): the PCI interrupts are level-triggered. */
    memory_map_dispatch_write(m->io, 0x4d0, 1, elcr & 0xff);
    memory_map_dispatch_write(m->io, 0x4d1, 1, elcr >> 8);
    return 0;
}

/*
 * i440FX host bridge (PAM shadowing of 0xC0000-0xFFFFF), PIIX3 ISA bridge
 * (PIRQ routing, ELCR, ports 0x92/0xCF9), PIIX4 PM function over the ACPI
 * PM block, RTC/CMOS with the memory size SeaBIOS reads, and the i8042.
 */
static int add_chipset(struct machine *m, struct pc_board *pc, GError **error)
{
    uint64_t below_4g = MIN(m->ram_size, PC_BELOW_4G_MAX);

    pc->bus = pci_bus_create(m, error);
    if (!pc->bus || !i440fx_create(m, pc->bus, error) ||
        !piix_create(m, pc->bus, error))
        return -1;
    pc->pm = acpi_pm_create(m, PC_ACPI_PM_BASE, error);
    if (!pc->pm || !piix_pm_create(m, pc->bus, pc->pm, error))
        return -1;
    pc->rtc = rtc_create(m, error);
    if (!pc->rtc)
        return -1;
    rtc_set_memory_size(pc->rtc, below_4g, m->ram_size - below_4g);
    rtc_set_cpu_count(pc->rtc, m->nr_vcpus ? m->nr_vcpus : MAX(m->config->smp, 1));
    if (rtc_set_boot_order(pc->rtc, m->config->boot_order, error) < 0)
        return -1;
    pc->kbc = i8042_create(m, error);
    return pc->kbc ? 0 : -1;
}

int machine_pc_build(struct machine *m, GError **error)
{
    struct pc_board *pc = g_new0(struct pc_board, 1);
    uint64_t bios_alias_start;

    m->type = "pc";
    m->board = pc;
    m->board_free = pc_board_free;
    pc->images = g_ptr_array_new();
    if (load_bios(m, &bios_alias_start, error) < 0)
        return -1;
    if (map_ram(m, bios_alias_start, error) < 0)
        return -1;

    if (add_serial_ports(m, error) < 0)
        return -1;
    if (m->config->debugcon) {
        struct chardev *chr = machine_open_chardev(m, m->config->debugcon, error);

        if (!chr) {
            g_prefix_error(error, "-debugcon %s: ", m->config->debugcon);
            return -1;
        }
        if (!debugcon_create(m, 0x402, chr, error))
            return -1;
    }
    if (!post_port_create(m, error))
        return -1;
    if (add_chipset(m, pc, error) < 0)
        return -1;
    m->power_button = pc_power_button;
    m->key_event = pc_key_event;
    m->pointer_event = pc_pointer_event;
    if (g_strcmp0(m->config->vga, "none") != 0) {
        pc->vga = vga_pci_create(m, pc->bus, PCI_DEVFN(2, 0), NULL, error);
        if (!pc->vga)
            return -1;
        m->screendump = pc_screendump;
        m->text_screen = pc_text_screen;
    }
    if (pc_attach_drives(m, pc->bus, pc->images, error) < 0)
        return -1;
    if (add_firmware_config(m, pc, error) < 0)
        return -1;
    if (m->config->kernel)
        m->after_reset = pc_linux_boot;
    if (m->config->debug_exit &&
        !debug_exit_create(m, m->config->debug_exit_port, error))
        return -1;
    return 0;
}
