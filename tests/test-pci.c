/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the PCI core, the i440FX host bridge (PAM shadowing) and
 * the PIIX functions, driven through a hand-built machine's port and
 * memory maps.
 */
#include <errno.h>

#include "engine/machine.h"
#include "engine/memory.h"
#include "fake-machine.h"
#include "hw/device.h"
#include "hw/pci/i440fx.h"
#include "hw/pci/pci.h"
#include "hw/pci/piix.h"
#include "hw/x86/acpi-pm.h"

#define RAM_SIZE (4 << 20)
#define BIOS_SIZE (256 << 10)
#define FOUR_G UINT64_C(0x100000000)
#define PM_BASE 0xb000

/* A PCI device with every kind of BAR. */
struct test_dev {
    struct pci_device pci;
    uint32_t reg;
    uint8_t *ram;                   /* BAR 2 (64-bit) */
    uint8_t *rom;                   /* expansion ROM */
};

static uint64_t test_read(void *opaque, uint64_t offset, unsigned size)
{
    struct test_dev *t = opaque;

    return t->reg + offset;
}

static void test_write(void *opaque, uint64_t offset, uint64_t value,
                       unsigned size)
{
    struct test_dev *t = opaque;

    t->reg = value;
}

static const struct memory_ops test_ops = {
    .read = test_read,
    .write = test_write,
};

static void test_dev_reset(struct device *dev)
{
    pci_device_reset((struct pci_device *)dev);
}

static void test_dev_destroy(struct device *dev)
{
    struct test_dev *t = (struct test_dev *)dev;

    g_free(t->ram);
    g_free(t->rom);
    g_free(t);
}

static const struct device_class test_dev_class = {
    .name = "test-dev",
    .reset = test_dev_reset,
    .destroy = test_dev_destroy,
};

struct fixture {
    struct machine *m;
    struct pci_bus *bus;
    struct device *i440fx, *piix, *pm, *acpi_pm;
    struct test_dev *dev;
};

static struct test_dev *add_test_dev(struct fixture *f, int devfn)
{
    struct test_dev *t = g_new0(struct test_dev, 1);
    GError *error = NULL;

    t->pci.dev.cls = &test_dev_class;
    t->ram = g_malloc0(1 << 20);
    t->rom = g_malloc(64 << 10);
    for (unsigned i = 0; i < (64 << 10); i++)
        t->rom[i] = i * 3;
    pci_device_init(&t->pci, "test-dev", 0x1234, 0x5678, 1, 0xff0000, 1);
    pci_device_set_bar(&t->pci, 0, PCI_BAR_IO, 32, &test_ops, t, "test-io");
    pci_device_set_bar(&t->pci, 1, PCI_BAR_MEM32, 4096, &test_ops, t, "test-mmio");
    pci_device_set_ram_bar(&t->pci, 2, PCI_BAR_MEM64, 1 << 20, t->ram, false,
                           true, "test-ram");
    pci_device_set_ram_bar(&t->pci, PCI_ROM_BAR, PCI_BAR_MEM32, 64 << 10,
                           t->rom, true, false, "test-rom");
    g_assert_cmpint(pci_bus_add(f->bus, &t->pci, devfn, &error), ==, 0);
    g_assert_no_error(error);
    return t;
}

static void fixture_setup(struct fixture *f, gconstpointer data)
{
    struct machine *m = fake_machine_new(RAM_SIZE, FAKE_MACHINE_RAM_PC);
    GError *error = NULL;

    m->bios = g_aligned_alloc(BIOS_SIZE, 1, 65536);
    m->bios_size = BIOS_SIZE;
    for (unsigned i = 0; i < BIOS_SIZE; i++)
        m->bios[i] = (i * 7 + 1) & 0xff;
    f->m = m;

    /* The rest of the layout machine-pc.c makes, which the i440fx takes over. */
    g_assert_nonnull(memory_map_add_ram(m->memory, "ram-rom-area", 0xc0000,
                                        0x20000, m->ram + 0xc0000, &error));
    g_assert_nonnull(memory_map_add_rom(m->memory, "bios-isa", 0xe0000, 0x20000,
                                        m->bios + BIOS_SIZE - 0x20000, &error));
    g_assert_nonnull(memory_map_add_rom(m->memory, "bios", FOUR_G - BIOS_SIZE,
                                        BIOS_SIZE, m->bios, &error));

    f->bus = pci_bus_create(m, &error);
    g_assert_no_error(error);
    f->i440fx = i440fx_create(m, f->bus, &error);
    g_assert_no_error(error);
    f->piix = piix_create(m, f->bus, &error);
    g_assert_no_error(error);
    f->acpi_pm = acpi_pm_create(m, 0x600, &error);
    g_assert_no_error(error);
    f->pm = piix_pm_create(m, f->bus, f->acpi_pm, &error);
    g_assert_no_error(error);
    f->dev = add_test_dev(f, PCI_DEVFN(3, 0));
}

static void fixture_teardown(struct fixture *f, gconstpointer data)
{
    fake_machine_free(f->m);
}

/* --- port and memory access --- */

static uint64_t in(struct fixture *f, uint16_t port, unsigned size)
{
    uint64_t v;

    memory_map_dispatch_read(f->m->io, port, size, &v);
    return v;
}

static void out(struct fixture *f, uint16_t port, unsigned size, uint64_t v)
{
    memory_map_dispatch_write(f->m->io, port, size, v);
}

static uint64_t mem_read(struct fixture *f, uint64_t addr, unsigned size)
{
    uint64_t v;

    memory_map_dispatch_read(f->m->memory, addr, size, &v);
    return v;
}

static void mem_write(struct fixture *f, uint64_t addr, unsigned size, uint64_t v)
{
    memory_map_dispatch_write(f->m->memory, addr, size, v);
}

static uint32_t cfg_read(struct fixture *f, int devfn, unsigned offset,
                         unsigned size)
{
    out(f, 0xcf8, 4, 0x80000000u | devfn << 8 | (offset & 0xfc));
    return in(f, 0xcfc + (offset & 3), size);
}

static void cfg_write(struct fixture *f, int devfn, unsigned offset,
                      unsigned size, uint32_t value)
{
    out(f, 0xcf8, 4, 0x80000000u | devfn << 8 | (offset & 0xfc));
    out(f, 0xcfc + (offset & 3), size, value);
}

static const char *region_name(struct memory_map *map, uint64_t addr)
{
    const struct memory_region *r = memory_map_lookup(map, addr);

    return r ? r->name : NULL;
}

/* --- configuration mechanism #1 --- */

static void test_config_ids(struct fixture *f, gconstpointer data)
{
    g_assert_cmphex(cfg_read(f, PCI_DEVFN(0, 0), 0, 4), ==, 0x12378086);
    g_assert_cmphex(cfg_read(f, PCI_DEVFN(0, 0), 0x08, 4) >> 8, ==, 0x060000);
    g_assert_cmphex(cfg_read(f, PCI_DEVFN(1, 0), 0, 4), ==, 0x70008086);
    g_assert_cmphex(cfg_read(f, PCI_DEVFN(1, 0), PCI_HEADER_TYPE, 1), ==, 0x80);
    g_assert_cmphex(cfg_read(f, PCI_DEVFN(1, 0), 0x08, 4) >> 8, ==, 0x060100);
    g_assert_cmphex(cfg_read(f, PCI_DEVFN(1, 3), 0, 4), ==, 0x71138086);
    g_assert_cmphex(cfg_read(f, PCI_DEVFN(1, 3), 0x08, 4) >> 8, ==, 0x068000);
    g_assert_cmphex(cfg_read(f, PCI_DEVFN(1, 3), PCI_INTERRUPT_PIN, 1), ==, 1);
    /* Byte and word reads at their offsets. */
    g_assert_cmphex(cfg_read(f, PCI_DEVFN(3, 0), 2, 2), ==, 0x5678);
    g_assert_cmphex(cfg_read(f, PCI_DEVFN(3, 0), 3, 1), ==, 0x56);
    g_assert_cmphex(cfg_read(f, PCI_DEVFN(3, 0), 1, 1), ==, 0x12);
    /* Nothing there, another bus, enable bit clear: all ones. */
    g_assert_cmphex(cfg_read(f, PCI_DEVFN(9, 0), 0, 4), ==, 0xffffffff);
    out(f, 0xcf8, 4, 0x80010000u);
    g_assert_cmphex(in(f, 0xcfc, 4), ==, 0xffffffff);
    out(f, 0xcf8, 4, 0x00000000u);
    g_assert_cmphex(in(f, 0xcfc, 4), ==, 0xffffffff);
    /* CONFIG_ADDRESS keeps bit 31 and 23:2. */
    out(f, 0xcf8, 4, 0xffffffffu);
    g_assert_cmphex(in(f, 0xcf8, 4), ==, 0x80fffffc);
    /* Read-only fields stay; the interrupt line is writable. */
    cfg_write(f, PCI_DEVFN(3, 0), 0, 4, 0);
    g_assert_cmphex(cfg_read(f, PCI_DEVFN(3, 0), 0, 4), ==, 0x56781234);
    cfg_write(f, PCI_DEVFN(3, 0), PCI_INTERRUPT_LINE, 1, 11);
    g_assert_cmphex(cfg_read(f, PCI_DEVFN(3, 0), PCI_INTERRUPT_LINE, 1), ==, 11);
    g_assert_true(pci_bus_find(f->bus, PCI_DEVFN(3, 0)) == &f->dev->pci);
}

/* --- BARs --- */

static void test_bar_sizing(struct fixture *f, gconstpointer data)
{
    int d = PCI_DEVFN(3, 0);

    g_assert_cmphex(cfg_read(f, d, 0x10, 4), ==, 0x1);
    g_assert_cmphex(cfg_read(f, d, 0x18, 4), ==, 0xc);
    for (unsigned off = 0x10; off < 0x28; off += 4)
        cfg_write(f, d, off, 4, 0xffffffff);
    cfg_write(f, d, PCI_ROM_ADDRESS, 4, 0xfffff800);
    g_assert_cmphex(cfg_read(f, d, 0x10, 4), ==, 0xffffffe1);
    g_assert_cmphex(cfg_read(f, d, 0x14, 4), ==, 0xfffff000);
    g_assert_cmphex(cfg_read(f, d, 0x18, 4), ==, 0xfff0000c);
    g_assert_cmphex(cfg_read(f, d, 0x1c, 4), ==, 0xffffffff);
    g_assert_cmphex(cfg_read(f, d, 0x20, 4), ==, 0);
    g_assert_cmphex(cfg_read(f, d, PCI_ROM_ADDRESS, 4), ==, 0xffff0000);
}

static void test_bar_mapping(struct fixture *f, gconstpointer data)
{
    struct memory_map *mem = f->m->memory, *io = f->m->io;
    const struct memory_region *r;
    int d = PCI_DEVFN(3, 0);

    cfg_write(f, d, 0x10, 4, 0xc000);
    cfg_write(f, d, 0x14, 4, 0xfe000000);
    cfg_write(f, d, 0x18, 4, 0x0);
    cfg_write(f, d, 0x1c, 4, 0x8);                 /* 0x8_0000_0000 */
    cfg_write(f, d, PCI_ROM_ADDRESS, 4, 0xfeb00000);
    /* Nothing decodes until COMMAND enables it. */
    g_assert_null(region_name(io, 0xc000));
    g_assert_null(region_name(mem, 0xfe000000));
    cfg_write(f, d, PCI_COMMAND, 2, PCI_COMMAND_IO);
    g_assert_cmpstr(region_name(io, 0xc01f), ==, "test-io");
    g_assert_null(region_name(mem, 0xfe000000));
    cfg_write(f, d, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    g_assert_cmpstr(region_name(mem, 0xfe000000), ==, "test-mmio");
    /* The ROM needs its own enable bit too. */
    g_assert_null(region_name(mem, 0xfeb00000));

    /* Accesses reach the device. */
    out(f, 0xc000, 4, 0x100);
    g_assert_cmphex(in(f, 0xc004, 4), ==, 0x104);
    mem_write(f, 0xfe000000, 4, 0x200);
    g_assert_cmphex(mem_read(f, 0xfe000010, 4), ==, 0x210);

    /* Host-backed 64-bit BAR above 4 GiB is guest RAM. */
    r = memory_map_lookup(mem, UINT64_C(0x800000000));
    g_assert_nonnull(r);
    g_assert_cmpint(r->kind, ==, MEMORY_REGION_RAM);
    g_assert_true(r->host == f->dev->ram);
    mem_write(f, UINT64_C(0x800000040), 4, 0xcafef00d);
    g_assert_cmphex(*(uint32_t *)(f->dev->ram + 0x40), ==, 0xcafef00d);

    /* Expansion ROM: enable bit 0, read-only. */
    cfg_write(f, d, PCI_ROM_ADDRESS, 4, 0xfeb00001);
    r = memory_map_lookup(mem, 0xfeb00000);
    g_assert_nonnull(r);
    g_assert_cmpint(r->kind, ==, MEMORY_REGION_ROM);
    g_assert_cmphex(mem_read(f, 0xfeb00005, 1), ==, 15);
    mem_write(f, 0xfeb00005, 1, 0);
    g_assert_cmphex(f->dev->rom[5], ==, 15);
    cfg_write(f, d, PCI_ROM_ADDRESS, 4, 0xfeb00000);
    g_assert_null(region_name(mem, 0xfeb00000));

    /* Moving a BAR: gone from the old place, there at the new one. */
    cfg_write(f, d, 0x14, 4, 0xfe100000);
    g_assert_null(region_name(mem, 0xfe000000));
    g_assert_cmpstr(region_name(mem, 0xfe100fff), ==, "test-mmio");
    cfg_write(f, d, 0x10, 2, 0xd000);
    g_assert_null(region_name(io, 0xc000));
    g_assert_cmpstr(region_name(io, 0xd000), ==, "test-io");
    cfg_write(f, d, 0x1c, 4, 0x9);
    g_assert_null(region_name(mem, UINT64_C(0x800000000)));
    g_assert_cmpstr(region_name(mem, UINT64_C(0x900000000)), ==, "test-ram");

    /* Overlapping RAM: left unmapped with a message, no crash. */
    g_test_expect_message("mimic-pci", G_LOG_LEVEL_MESSAGE, "*BAR 1 left unmapped*");
    cfg_write(f, d, 0x14, 4, 0x00200000);
    g_test_assert_expected_messages();
    g_assert_cmpstr(region_name(mem, 0x00200000), ==, "ram-below-4g");
    cfg_write(f, d, 0x14, 4, 0xfe000000);
    g_assert_cmpstr(region_name(mem, 0xfe000000), ==, "test-mmio");

    /* Sizing with decode on leaves the BAR unmapped quietly. */
    cfg_write(f, d, 0x14, 4, 0xffffffff);
    g_assert_null(region_name(mem, 0xfffff000 - BIOS_SIZE));
    cfg_write(f, d, 0x14, 4, 0xfe000000);

    /* Decode off unmaps everything; reset does too. */
    cfg_write(f, d, PCI_COMMAND, 2, 0);
    g_assert_null(region_name(io, 0xd000));
    g_assert_null(region_name(mem, 0xfe000000));
    g_assert_null(region_name(mem, UINT64_C(0x900000000)));
    cfg_write(f, d, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    g_assert_cmpstr(region_name(mem, 0xfe000000), ==, "test-mmio");
    fake_machine_reset_devices(f->m);
    g_assert_null(region_name(io, 0xd000));
    g_assert_null(region_name(mem, 0xfe000000));
    g_assert_cmphex(cfg_read(f, d, 0x14, 4), ==, 0);
    g_assert_cmphex(cfg_read(f, d, PCI_COMMAND, 2), ==, 0);
}

static void test_dma(struct fixture *f, gconstpointer data)
{
    uint8_t buf[16] = "0123456789abcde";
    uint8_t back[16];

    g_assert_cmpint(pci_dma_write(&f->dev->pci, 0x1000, buf, sizeof(buf)), ==, 0);
    g_assert_cmpmem(f->m->ram + 0x1000, 16, buf, 16);
    g_assert_cmpint(pci_dma_read(&f->dev->pci, 0x1000, back, sizeof(back)), ==, 0);
    g_assert_cmpmem(back, 16, buf, 16);
    /* Outside RAM: refused, nothing copied. */
    g_assert_cmpint(pci_dma_write(&f->dev->pci, 0x9fff8, buf, sizeof(buf)), ==,
                    -EFAULT);
    g_assert_cmpint(pci_dma_read(&f->dev->pci, UINT64_C(0x700000000), back, 4),
                    ==, -EFAULT);
}

/* --- INTx through the PIIX PIRQ router --- */

static void test_intx_routing(struct fixture *f, gconstpointer data)
{
    struct pci_device *d = &f->dev->pci;
    struct test_dev *other = add_test_dev(f, PCI_DEVFN(7, 0));
    int p = PCI_DEVFN(1, 0);

    /* Slot 3 INTA and slot 7 INTA both swizzle to PIRQD (0x63). */
    g_assert_cmphex(cfg_read(f, p, 0x60, 4), ==, 0x80808080);
    pci_set_irq(d, true);
    g_assert_false(fake_machine_irq_level(f->m, 11));
    g_assert_cmphex(cfg_read(f, PCI_DEVFN(3, 0), PCI_STATUS, 2) &
                    PCI_STATUS_INTERRUPT, ==, PCI_STATUS_INTERRUPT);
    cfg_write(f, p, 0x63, 1, 11);
    g_assert_true(fake_machine_irq_level(f->m, 11));
    /* Rerouting moves the level. */
    cfg_write(f, p, 0x63, 1, 10);
    g_assert_false(fake_machine_irq_level(f->m, 11));
    g_assert_true(fake_machine_irq_level(f->m, 10));
    /* Bit 7 disables the route. */
    cfg_write(f, p, 0x63, 1, 0x8a);
    g_assert_false(fake_machine_irq_level(f->m, 10));
    cfg_write(f, p, 0x63, 1, 0x0a);
    g_assert_true(fake_machine_irq_level(f->m, 10));
    /* A shared line stays up while any device holds it. */
    pci_set_irq(&other->pci, true);
    pci_set_irq(d, false);
    g_assert_true(fake_machine_irq_level(f->m, 10));
    pci_set_irq(&other->pci, false);
    g_assert_false(fake_machine_irq_level(f->m, 10));
    /* Interrupt Disable masks the line but not the status bit. */
    pci_set_irq(d, true);
    g_assert_true(fake_machine_irq_level(f->m, 10));
    cfg_write(f, PCI_DEVFN(3, 0), PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
    g_assert_false(fake_machine_irq_level(f->m, 10));
    g_assert_cmphex(cfg_read(f, PCI_DEVFN(3, 0), PCI_STATUS, 2) &
                    PCI_STATUS_INTERRUPT, ==, PCI_STATUS_INTERRUPT);
    cfg_write(f, PCI_DEVFN(3, 0), PCI_COMMAND, 2, 0);
    g_assert_true(fake_machine_irq_level(f->m, 10));
    /* A reserved IRQ is not routed (and logged). */
    g_test_expect_message("mimic-piix", G_LOG_LEVEL_MESSAGE, "*reserved IRQ 2*");
    cfg_write(f, p, 0x63, 1, 2);
    g_test_assert_expected_messages();
    g_assert_false(fake_machine_irq_level(f->m, 10));
    g_assert_false(fake_machine_irq_level(f->m, 2));
    /* PIRQA's routing is not slot 3's. */
    cfg_write(f, p, 0x60, 1, 5);
    cfg_write(f, p, 0x63, 1, 11);
    g_assert_true(fake_machine_irq_level(f->m, 11));
    g_assert_false(fake_machine_irq_level(f->m, 5));
    /* Machine reset drops the line and the routing. */
    fake_machine_reset_devices(f->m);
    g_assert_false(fake_machine_irq_level(f->m, 11));
    g_assert_cmphex(cfg_read(f, p, 0x60, 4), ==, 0x80808080);
}

/* --- i440FX PAM --- */

static void test_pam(struct fixture *f, gconstpointer data)
{
    struct machine *m = f->m;
    int h = PCI_DEVFN(0, 0);
    uint8_t *top = m->bios + BIOS_SIZE - 0x20000;   /* what 0xE0000 shows */
    g_autofree uint8_t *copy = g_malloc(0x20000);

    /* Power-on: the BIOS ROM at 0xE0000-0xFFFFF, nothing at 0xC0000. */
    g_assert_cmphex(mem_read(f, 0xffff0, 1), ==, top[0x1fff0]);
    g_assert_cmphex(mem_read(f, 0xe0001, 1), ==, top[1]);
    g_assert_cmpint(memory_map_lookup(m->memory, 0xfffff)->kind, ==,
                    MEMORY_REGION_ROM);
    g_assert_null(region_name(m->memory, 0xc0000));
    g_assert_null(region_name(m->memory, 0xdffff));
    mem_write(f, 0xf0000, 1, 0x5a);
    g_assert_cmphex(mem_read(f, 0xf0000, 1), ==, top[0x10000]);
    g_assert_cmphex(m->ram[0xf0000], ==, 0);

    /* SeaBIOS: all segments read-write, copy from the 4 GiB alias. */
    cfg_write(f, h, 0x59, 1, 0x30);
    for (unsigned r = 0x5a; r <= 0x5f; r++)
        cfg_write(f, h, r, 1, 0x33);
    g_assert_cmphex(cfg_read(f, h, 0x5c, 1), ==, 0x33);
    g_assert_cmpint(memory_map_lookup(m->memory, 0xf0000)->kind, ==,
                    MEMORY_REGION_RAM);
    g_assert_cmphex(mem_read(f, 0xf0000, 1), ==, 0);
    g_assert_cmpint(memory_map_read(m->memory, FOUR_G - 0x20000, copy,
                                    0x20000), ==, 0);
    g_assert_cmpint(memory_map_write(m->memory, 0xe0000, copy, 0x20000,
                                     false), ==, 0);
    g_assert_cmpmem(m->ram + 0xe0000, 0x20000, top, 0x20000);
    g_assert_cmphex(mem_read(f, 0xffff0, 4), ==, *(uint32_t *)(top + 0x1fff0));
    mem_write(f, 0xc0000, 4, 0x12345678);       /* option ROM area is RAM now */
    g_assert_cmphex(mem_read(f, 0xc0000, 4), ==, 0x12345678);
    g_assert_cmphex(*(uint32_t *)(m->ram + 0xc0000), ==, 0x12345678);

    /* Write-protect: reads from the RAM copy, writes go nowhere. */
    cfg_write(f, h, 0x59, 1, 0x10);
    m->ram[0xf0010] = 0xa5;
    g_assert_cmphex(mem_read(f, 0xf0010, 1), ==, 0xa5);
    mem_write(f, 0xf0010, 1, 0x11);
    g_assert_cmphex(m->ram[0xf0010], ==, 0xa5);

    /* Write-only: reads from ROM, writes to RAM (logged as slow). */
    g_test_expect_message("mimic-i440fx", G_LOG_LEVEL_MESSAGE, "*write-only*");
    cfg_write(f, h, 0x5a, 1, 0x32);   /* 0xC0000 write-only, 0xC4000 RW */
    g_test_assert_expected_messages();
    g_assert_cmphex(mem_read(f, 0xc0000, 4), ==, 0xffffffff);  /* no ROM there */
    mem_write(f, 0xc0000, 4, 0x87654321);
    g_assert_cmphex(*(uint32_t *)(m->ram + 0xc0000), ==, 0x87654321);
    cfg_write(f, h, 0x59, 1, 0x20);
    g_assert_cmphex(mem_read(f, 0xf0010, 1), ==, top[0x10010]);
    mem_write(f, 0xf0010, 1, 0x22);
    g_assert_cmphex(m->ram[0xf0010], ==, 0x22);

    /* Reserved PAM bits do not stick. */
    cfg_write(f, h, 0x59, 1, 0xff);
    g_assert_cmphex(cfg_read(f, h, 0x59, 1), ==, 0x30);

    /* Reset: ROM again; the RAM copy stays in guest RAM. */
    fake_machine_reset_devices(f->m);
    g_assert_cmphex(cfg_read(f, h, 0x59, 1), ==, 0);
    g_assert_cmphex(cfg_read(f, h, 0x5c, 4), ==, 0);
    g_assert_cmpint(memory_map_lookup(m->memory, 0xf0000)->kind, ==,
                    MEMORY_REGION_ROM);
    g_assert_cmphex(mem_read(f, 0xf0010, 1), ==, top[0x10010]);
    g_assert_cmphex(m->ram[0xf0010], ==, 0x22);
    g_assert_null(region_name(m->memory, 0xc4000));
}

static void test_smram(struct fixture *f, gconstpointer data)
{
    int h = PCI_DEVFN(0, 0);

    g_assert_cmphex(cfg_read(f, h, 0x72, 1), ==, 0x02);
    cfg_write(f, h, 0x72, 1, 0x4a);
    g_assert_cmphex(cfg_read(f, h, 0x72, 1), ==, 0x4a);
    cfg_write(f, h, 0x72, 1, 0x5a);             /* D_LCK clears D_OPEN */
    g_assert_cmphex(cfg_read(f, h, 0x72, 1), ==, 0x1a);
    cfg_write(f, h, 0x72, 1, 0x42);             /* locked until reset */
    g_assert_cmphex(cfg_read(f, h, 0x72, 1), ==, 0x1a);
    fake_machine_reset_devices(f->m);
    g_assert_cmphex(cfg_read(f, h, 0x72, 1), ==, 0x02);
}

/* --- PIIX ports --- */

static void test_elcr(struct fixture *f, gconstpointer data)
{
    out(f, 0x4d0, 1, 0xff);
    out(f, 0x4d1, 1, 0xff);
    g_assert_cmphex(in(f, 0x4d0, 1), ==, 0xf8);
    g_assert_cmphex(in(f, 0x4d1, 1), ==, 0xde);
    out(f, 0x4d0, 2, 0x0c20);                   /* IRQ 5, 10, 11 level */
    g_assert_cmphex(in(f, 0x4d0, 2), ==, 0x0c20);
    g_assert_cmphex(piix_get_elcr(f->piix), ==, 0x0c20);
    fake_machine_reset_devices(f->m);
    g_assert_cmphex(in(f, 0x4d0, 2), ==, 0);
}

static void test_port92_and_cf9(struct fixture *f, gconstpointer data)
{
    struct machine *m = f->m;

    g_assert_cmphex(in(f, 0x92, 1), ==, 0);
    g_assert_false(piix_a20_enabled(f->piix));
    out(f, 0x92, 1, 0x02);
    g_assert_cmphex(in(f, 0x92, 1), ==, 0x02);
    g_assert_true(piix_a20_enabled(f->piix));
    g_assert_cmpint(machine_take_requests(m, NULL), ==, MACHINE_REQUEST_NONE);
    /* Bit 0 0 -> 1: fast reset. */
    out(f, 0x92, 1, 0x03);
    g_assert_cmpint(machine_take_requests(m, NULL), ==, MACHINE_REQUEST_RESET);
    out(f, 0x92, 1, 0x03);                      /* no new transition */
    g_assert_cmpint(machine_take_requests(m, NULL), ==, MACHINE_REQUEST_NONE);

    /* 0xCF9: SRST alone does nothing; RCPU resets. */
    out(f, 0xcf9, 1, 0x02);
    g_assert_cmphex(in(f, 0xcf9, 1), ==, 0x02);
    g_assert_cmpint(machine_take_requests(m, NULL), ==, MACHINE_REQUEST_NONE);
    out(f, 0xcf9, 1, 0x06);
    g_assert_cmpint(machine_take_requests(m, NULL), ==, MACHINE_REQUEST_RESET);
    /* A byte at 0xCF9 does not disturb CONFIG_ADDRESS, and dwords still work. */
    g_assert_cmphex(cfg_read(f, PCI_DEVFN(0, 0), 0, 4), ==, 0x12378086);
    out(f, 0xcf9, 1, 0x00);
    g_assert_cmphex(in(f, 0xcfc, 4), ==, 0x12378086);
}

/* --- PIIX4 PM function --- */

static void test_pm_function(struct fixture *f, gconstpointer data)
{
    struct machine *m = f->m;
    int pm = PCI_DEVFN(1, 3);

    /* It starts where the machine made it, enabled, as firmware leaves it. */
    g_assert_cmpstr(region_name(m->io, 0x600), ==, "acpi-pm");
    g_assert_cmphex(cfg_read(f, pm, 0x40, 4), ==, 0x601);
    g_assert_cmphex(cfg_read(f, pm, 0x80, 1), ==, 0x01);
    /* No SMM: APMC_EN reads set so firmware skips SMM setup. */
    g_assert_cmphex(cfg_read(f, pm, 0x58, 4), ==, 0x02000000);

    /* PMIOSE off hides it; a new PMBA places it. */
    cfg_write(f, pm, 0x80, 1, 0x00);
    g_assert_null(region_name(m->io, 0x600));
    cfg_write(f, pm, 0x40, 4, PM_BASE);
    g_assert_cmphex(cfg_read(f, pm, 0x40, 4), ==, PM_BASE | 1);
    g_assert_null(region_name(m->io, PM_BASE));
    cfg_write(f, pm, 0x80, 1, 0x01);
    g_assert_cmpstr(region_name(m->io, PM_BASE + 0x3f), ==, "acpi-pm");
    g_assert_null(region_name(m->io, 0x600));

    /* The registers are the acpi-pm device's: S5 powers off. */
    out(f, PM_BASE + 2, 2, 0x0100);                 /* PWRBTN_EN */
    g_assert_cmphex(in(f, PM_BASE + 2, 2), ==, 0x0100);
    out(f, PM_BASE + 4, 2, 0x2000);                 /* SLP_EN, SLP_TYP 0 */
    g_assert_cmpint(machine_take_requests(m, NULL), ==, MACHINE_REQUEST_POWEROFF);

    /* Moving PMBA while enabled moves the block. */
    cfg_write(f, pm, 0x40, 2, 0x700);
    g_assert_null(region_name(m->io, PM_BASE));
    g_assert_cmpstr(region_name(m->io, 0x708), ==, "acpi-pm");

    /* SMBus base and host configuration are accepted. */
    cfg_write(f, pm, 0x90, 4, 0xb100);
    g_assert_cmphex(cfg_read(f, pm, 0x90, 4), ==, 0xb101);
    cfg_write(f, pm, 0xd2, 1, 0x09);
    g_assert_cmphex(cfg_read(f, pm, 0xd2, 1), ==, 0x09);

    /* Reset puts it back at the machine's base. */
    fake_machine_reset_devices(f->m);
    g_assert_null(region_name(m->io, 0x700));
    g_assert_cmpstr(region_name(m->io, 0x600), ==, "acpi-pm");
    g_assert_cmphex(cfg_read(f, pm, 0x40, 4), ==, 0x601);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) \
    g_test_add(name, struct fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/pci/config/ids", test_config_ids);
    ADD("/pci/bar/sizing", test_bar_sizing);
    ADD("/pci/bar/mapping", test_bar_mapping);
    ADD("/pci/dma", test_dma);
    ADD("/pci/intx/routing", test_intx_routing);
    ADD("/pci/i440fx/pam", test_pam);
    ADD("/pci/i440fx/smram", test_smram);
    ADD("/pci/piix/elcr", test_elcr);
    ADD("/pci/piix/port92-cf9", test_port92_and_cf9);
    ADD("/pci/piix/pm", test_pm_function);
#undef ADD
    return g_test_run();
}
