/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Conventional PCI bus 0: configuration mechanism #1, type 0 headers, BARs
 * that follow the guest's programming into the machine's maps, and INTx
 * routed through the chipset's PIRQ router (PCI Local Bus 3.0).
 */
#define G_LOG_DOMAIN "mimic-pci"

#include "hw/pci/pci.h"
#include "hw/pci/pci-host.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "engine/machine.h"
#include "engine/vm.h"

#define CONFIG_ADDRESS_PORT 0xcf8
#define CONFIG_DATA_PORT 0xcfc
#define CONFIG_ENABLE 0x80000000u
/* Bits 30:24 are reserved and 1:0 read as 0 (PCI 3.0, 3.2.2.3.2). */
#define CONFIG_ADDRESS_MASK 0x80fffffcu
#define IO_SPACE_SIZE 0x10000
#define NR_DEVFN 256
#define NR_PIRQ 4
#define NR_GSI 32

#define PCI_STATUS_W1C 0xf900      /* error bits 15:11 and 8 (PCI 3.0, 6.2.3) */
#define PCI_COMMAND_WRITABLE (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | \
                              PCI_COMMAND_MASTER | 0x0040 /* parity */ | \
                              0x0100 /* SERR# */ | PCI_COMMAND_INTX_DISABLE)
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER 0x0d
#define PCI_ROM_ENABLE 0x1
#define PCI_ROM_ADDRESS_MASK 0xfffff800u

enum {
    LOGGED_BAR = 1 << 0,            /* << bar index: 7 bits */
    LOGGED_ROUTE = 1 << 8,
};

struct pci_slot {
    struct pci_device *dev;
    uint8_t *reset_config;          /* the header when the device was added */
    bool asserted;                  /* INTx driven (level and not disabled) */
    unsigned logged;
};

struct pci_bus {
    struct device dev;
    struct machine *machine;
    uint32_t config_address;
    const struct memory_region *address_region, *data_region;
    const struct memory_ops *cf8_fallback;
    void *cf8_fallback_opaque;
    pci_route_fn route;
    void *route_opaque;
    unsigned pirq_count[NR_PIRQ];   /* asserted devices per PIRQ */
    uint32_t gsi_level;             /* GSIs this bus drives high */
    struct pci_slot slots[NR_DEVFN];
};

static void log_once(struct pci_device *d, unsigned what, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void log_once(struct pci_device *d, unsigned what, const char *fmt, ...)
{
    struct pci_slot *slot = &d->bus->slots[d->devfn];
    g_autofree char *text = NULL;
    va_list args;

    if (slot->logged & what)
        return;
    slot->logged |= what;
    va_start(args, fmt);
    text = g_strdup_vprintf(fmt, args);
    va_end(args);
    g_message("pci %02x.%x %s: %s (logged once)", d->devfn >> 3, d->devfn & 7,
              d->name, text);
}



static uint16_t get_command(const struct pci_device *d)
{
    return memory_load_le(&d->config[PCI_COMMAND], 2);
}

/* --- INTx: pin -> PIRQ (swizzle) -> GSI (chipset router) --- */

static int device_pirq(const struct pci_device *d)
{
    unsigned pin = d->config[PCI_INTERRUPT_PIN];

    if (pin < 1 || pin > 4)
        return -1;
    return ((d->devfn >> 3) + pin - 1) % NR_PIRQ;
}

void pci_bus_update_irqs(struct pci_bus *bus)
{
    uint32_t want = 0;

    for (int pirq = 0; pirq < NR_PIRQ; pirq++) {
        int gsi;

        if (!bus->pirq_count[pirq] || !bus->route)
            continue;
        gsi = bus->route(bus->route_opaque, pirq);
        if (gsi >= 0 && gsi < NR_GSI)
            want |= UINT32_C(1) << gsi;
    }
    for (unsigned gsi = 0; gsi < NR_GSI; gsi++) {
        uint32_t bit = UINT32_C(1) << gsi;

        if ((want ^ bus->gsi_level) & bit)
            machine_set_irq(bus->machine, gsi, want & bit);
    }
    bus->gsi_level = want;
}

/* The line the device drives: its level unless Interrupt Disable (6.2.2). */
static void update_intx(struct pci_device *d)
{
    struct pci_slot *slot = &d->bus->slots[d->devfn];
    bool assert = d->irq_level && !(get_command(d) & PCI_COMMAND_INTX_DISABLE);
    int pirq = device_pirq(d);

    if (assert == slot->asserted || pirq < 0)
        return;
    slot->asserted = assert;
    if (assert)
        d->bus->pirq_count[pirq]++;
    else
        d->bus->pirq_count[pirq]--;
    pci_bus_update_irqs(d->bus);
}

void pci_set_irq(struct pci_device *d, bool level)
{
    g_return_if_fail(d && d->bus);
    d->irq_level = level;
    /* Interrupt Status follows the device's request even when disabled. */
    if (level)
        d->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
    else
        d->config[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
    update_intx(d);
}

void pci_bus_set_router(struct pci_bus *bus, pci_route_fn route, void *opaque)
{
    g_return_if_fail(bus);
    bus->route = route;
    bus->route_opaque = opaque;
    pci_bus_update_irqs(bus);
}

/* --- BARs --- */

static uint32_t bar_offset(int index)
{
    return index == PCI_ROM_BAR ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * index;
}

/*
 * Where BAR @index decodes now, or false if it does not: decode disabled in
 * COMMAND (6.2.2), ROM enable clear (6.2.5.2), address 0 (unassigned), or
 * the all-ones sizing pattern.
 */
static bool bar_address(const struct pci_device *d, int index, uint64_t *addr)
{
    const struct pci_bar *b = &d->bars[index];
    uint32_t off = bar_offset(index);
    uint32_t low = memory_load_le(&d->config[off], 4);
    uint16_t command = get_command(d);
    uint64_t a, sizing;

    switch (b->type) {
    case PCI_BAR_IO:
        if (!(command & PCI_COMMAND_IO))
            return false;
        a = low & ~UINT32_C(3);
        sizing = (uint32_t)~(b->size - 1) & ~UINT32_C(3);
        break;
    case PCI_BAR_MEM32:
        if (!(command & PCI_COMMAND_MEMORY))
            return false;
        if (index == PCI_ROM_BAR) {
            if (!(low & PCI_ROM_ENABLE))
                return false;
            a = low & PCI_ROM_ADDRESS_MASK;
            sizing = (uint32_t)~(b->size - 1) & PCI_ROM_ADDRESS_MASK;
        } else {
            a = low & ~UINT32_C(0xf);
            sizing = (uint32_t)~(b->size - 1) & ~UINT32_C(0xf);
        }
        break;
    case PCI_BAR_MEM64:
        if (!(command & PCI_COMMAND_MEMORY))
            return false;
        a = (low & ~UINT64_C(0xf)) | (uint64_t)memory_load_le(&d->config[off + 4], 4) << 32;
        sizing = ~(b->size - 1) & ~UINT64_C(0xf);
        break;
    default:
        return false;
    }
    if (a == 0 || a == sizing || a + b->size < a)
        return false;
    *addr = a;
    return true;
}

static void update_bar(struct pci_device *d, int index)
{
    struct pci_bar *b = &d->bars[index];
    struct machine *m = d->bus->machine;
    struct memory_map *map = b->type == PCI_BAR_IO ? m->io : m->memory;
    const char *name = b->name ? b->name : d->name;
    g_autoptr(GError) error = NULL;
    uint64_t addr;
    bool on;

    if (b->type == PCI_BAR_UNUSED)
        return;
    on = bar_address(d, index, &addr);
    if (on && b->mapped && b->mapped->base == addr)
        return;
    if (b->mapped) {
        memory_map_remove(map, b->mapped);
        b->mapped = NULL;
    }
    if (!on)
        return;
    if (b->type == PCI_BAR_IO && addr + b->size > IO_SPACE_SIZE) {
        log_once(d, LOGGED_BAR << index, "I/O BAR %d at 0x%" G_GINT64_MODIFIER
                 "x is beyond the 64 KiB I/O space; left unmapped", index, addr);
        return;
    }
    if (b->ops)
        b->mapped = memory_map_add_io(map, name, addr, b->size, b->ops,
                                      b->opaque, &error);
    else if (b->read_only)
        b->mapped = memory_map_add_rom(map, name, addr, b->size, b->host, &error);
    else
        b->mapped = memory_map_add_ram(map, name, addr, b->size, b->host, &error);
    if (!b->mapped)
        log_once(d, LOGGED_BAR << index, "BAR %d left unmapped: %s", index,
                 error->message);
}

static void update_mappings(struct pci_device *d)
{
    for (int i = 0; i <= PCI_ROM_BAR; i++)
        update_bar(d, i);
}

static void unmap_bars(struct pci_device *d)
{
    struct machine *m = d->bus->machine;

    for (int i = 0; i <= PCI_ROM_BAR; i++) {
        struct pci_bar *b = &d->bars[i];

        if (b->mapped) {
            memory_map_remove(b->type == PCI_BAR_IO ? m->io : m->memory,
                              b->mapped);
            b->mapped = NULL;
        }
    }
}

static uint64_t round_size(enum pci_bar_type type, int index, uint64_t size)
{
    /* Minimum decode: 4 bytes of I/O, 16 of memory, 2 KiB of ROM (6.2.5). */
    uint64_t min = type == PCI_BAR_IO ? 4 : index == PCI_ROM_BAR ? 0x800 : 16;

    size = MAX(size, min);
    if (size & (size - 1))
        size = UINT64_C(1) << (64 - __builtin_clzll(size));
    return size;
}

/* Type bits and writable address bits of the BAR register(s) (6.2.5.1). */
static void setup_bar(struct pci_device *d, int index, enum pci_bar_type type,
                      uint64_t size, bool prefetchable, const char *name)
{
    struct pci_bar *b = &d->bars[index];
    uint32_t off = bar_offset(index);
    uint32_t bits = 0, mask;

    g_return_if_fail(index >= 0 && index <= PCI_ROM_BAR);
    g_return_if_fail(type != PCI_BAR_UNUSED);
    g_return_if_fail(index != PCI_ROM_BAR || type == PCI_BAR_MEM32);
    g_return_if_fail(type != PCI_BAR_MEM64 || index < PCI_NUM_BARS - 1);
    size = round_size(type, index, size);
    b->type = type;
    b->size = size;
    b->prefetchable = prefetchable;
    b->name = name;
    if (index == PCI_ROM_BAR) {
        mask = ((uint32_t)~(size - 1) & PCI_ROM_ADDRESS_MASK) | PCI_ROM_ENABLE;
    } else if (type == PCI_BAR_IO) {
        bits = 0x1;
        mask = (uint32_t)~(size - 1) & ~UINT32_C(3);
    } else {
        bits = (type == PCI_BAR_MEM64 ? 0x4 : 0) | (prefetchable ? 0x8 : 0);
        mask = (uint32_t)~(size - 1) & ~UINT32_C(0xf);
    }
    memory_store_le(&d->config[off], bits, 4);
    memory_store_le(&d->wmask[off], mask, 4);
    if (type == PCI_BAR_MEM64) {
        memory_store_le(&d->config[off + 4], 0, 4);
        memory_store_le(&d->wmask[off + 4], (uint32_t)(~(size - 1) >> 32), 4);
        d->bars[index + 1].type = PCI_BAR_UNUSED;
    }
}

void pci_device_set_bar(struct pci_device *d, int index, enum pci_bar_type type,
                        uint64_t size, const struct memory_ops *ops,
                        void *opaque, const char *name)
{
    g_return_if_fail(d && ops);
    setup_bar(d, index, type, size, false, name);
    d->bars[index].ops = ops;
    d->bars[index].opaque = opaque;
    d->bars[index].host = NULL;
}

void pci_device_set_ram_bar(struct pci_device *d, int index,
                            enum pci_bar_type type, uint64_t size,
                            uint8_t *host, bool read_only, bool prefetchable,
                            const char *name)
{
    g_return_if_fail(d && host && type != PCI_BAR_IO);
    /* Host memory is mapped whole: the size must already be a power of two. */
    g_return_if_fail(size && !(size & (size - 1)));
    setup_bar(d, index, type, size, prefetchable, name);
    d->bars[index].ops = NULL;
    d->bars[index].host = host;
    d->bars[index].read_only = read_only;
}

/* --- configuration header --- */

void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor,
                     uint16_t device, uint8_t revision, uint32_t class_code,
                     uint8_t interrupt_pin)
{
    g_return_if_fail(d);
    d->name = name;
    d->devfn = -1;
    memory_store_le(&d->config[PCI_VENDOR_ID], vendor, 2);
    memory_store_le(&d->config[PCI_DEVICE_ID], device, 2);
    d->config[PCI_REVISION_ID] = revision;
    memory_store_le(&d->config[PCI_CLASS_PROG], class_code, 3);
    d->config[PCI_HEADER_TYPE] = 0x00;
    d->config[PCI_INTERRUPT_PIN] = interrupt_pin;

    memory_store_le(&d->wmask[PCI_COMMAND], PCI_COMMAND_WRITABLE, 2);
    memory_store_le(&d->w1cmask[PCI_STATUS], PCI_STATUS_W1C, 2);
    d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    d->wmask[PCI_LATENCY_TIMER] = 0xff;
    d->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

uint32_t pci_default_config_read(struct pci_device *d, unsigned offset,
                                 unsigned size)
{
    if (offset >= PCI_CONFIG_SIZE || size > PCI_CONFIG_SIZE - offset)
        return UINT32_MAX;
    return memory_load_le(&d->config[offset], size);
}

static bool overlaps(unsigned offset, unsigned size, unsigned start, unsigned end)
{
    return offset < end && offset + size > start;
}

void pci_default_config_write(struct pci_device *d, unsigned offset,
                              uint32_t value, unsigned size)
{
    uint16_t old_command = get_command(d);

    if (offset >= PCI_CONFIG_SIZE || size > PCI_CONFIG_SIZE - offset)
        return;
    for (unsigned i = 0; i < size; i++) {
        unsigned o = offset + i;
        uint8_t v = value >> (8 * i);

        d->config[o] = (d->config[o] & ~d->wmask[o]) | (v & d->wmask[o]);
        d->config[o] &= ~(v & d->w1cmask[o]);
    }
    if (overlaps(offset, size, PCI_COMMAND, PCI_COMMAND + 2) &&
        ((old_command ^ get_command(d)) & PCI_COMMAND_INTX_DISABLE) && d->bus)
        update_intx(d);
    if (d->bus && (overlaps(offset, size, PCI_COMMAND, PCI_COMMAND + 2) ||
                   overlaps(offset, size, PCI_BASE_ADDRESS_0, 0x28) ||
                   overlaps(offset, size, PCI_ROM_ADDRESS, PCI_ROM_ADDRESS + 4)))
        update_mappings(d);
}

static uint32_t device_config_read(struct pci_device *d, unsigned offset,
                                   unsigned size)
{
    if (d->ops && d->ops->config_read)
        return d->ops->config_read(d, offset, size);
    return pci_default_config_read(d, offset, size);
}

static void device_config_write(struct pci_device *d, unsigned offset,
                                uint32_t value, unsigned size)
{
    if (d->ops && d->ops->config_write)
        d->ops->config_write(d, offset, value, size);
    else
        pci_default_config_write(d, offset, value, size);
}

void pci_device_reset(struct pci_device *d)
{
    struct pci_slot *slot;

    g_return_if_fail(d && d->bus);
    slot = &d->bus->slots[d->devfn];
    unmap_bars(d);
    memcpy(d->config, slot->reset_config, PCI_CONFIG_SIZE);
    pci_set_irq(d, false);
}

/* --- configuration mechanism #1 (PCI 3.0, 3.2.2.3.2) --- */

/* The device CONFIG_ADDRESS selects, or NULL (bus other than 0, empty slot). */
static struct pci_device *selected_device(struct pci_bus *bus)
{
    uint32_t a = bus->config_address;

    if (!(a & CONFIG_ENABLE) || ((a >> 16) & 0xff) != 0)
        return NULL;
    return bus->slots[(a >> 8) & 0xff].dev;
}

static uint64_t fallback_read(struct pci_bus *bus, uint64_t offset, unsigned size)
{
    if (!bus->cf8_fallback || !bus->cf8_fallback->read)
        return UINT64_MAX;
    return bus->cf8_fallback->read(bus->cf8_fallback_opaque, offset, size);
}

static uint64_t address_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pci_bus *bus = opaque;

    if (offset == 0 && size == 4)
        return bus->config_address;
    return fallback_read(bus, offset, size);
}

static void address_write(void *opaque, uint64_t offset, uint64_t value,
                          unsigned size)
{
    struct pci_bus *bus = opaque;

    if (offset == 0 && size == 4)
        bus->config_address = value & CONFIG_ADDRESS_MASK;
    else if (bus->cf8_fallback && bus->cf8_fallback->write)
        bus->cf8_fallback->write(bus->cf8_fallback_opaque, offset, value, size);
}

static uint64_t data_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pci_bus *bus = opaque;
    struct pci_device *d = selected_device(bus);

    if (!d)
        return UINT64_MAX;
    return device_config_read(d, (bus->config_address & 0xfc) + offset, size);
}

static void data_write(void *opaque, uint64_t offset, uint64_t value,
                       unsigned size)
{
    struct pci_bus *bus = opaque;
    struct pci_device *d = selected_device(bus);

    if (d)
        device_config_write(d, (bus->config_address & 0xfc) + offset, value, size);
}

static const struct memory_ops address_ops = {
    .read = address_read,
    .write = address_write,
};

static const struct memory_ops data_ops = {
    .read = data_read,
    .write = data_write,
};

void pci_bus_set_cf8_fallback(struct pci_bus *bus, const struct memory_ops *ops,
                              void *opaque)
{
    g_return_if_fail(bus);
    bus->cf8_fallback = ops;
    bus->cf8_fallback_opaque = opaque;
}

/* --- the bus --- */

struct pci_bus *pci_bus_create(struct machine *m, GError **error)
{
    struct pci_bus *bus = g_new0(struct pci_bus, 1);

    bus->dev.cls = &pci_bus_device_class;
    bus->machine = m;
    bus->address_region = memory_map_add_io(m->io, "pci-config-address",
                                            CONFIG_ADDRESS_PORT, 4,
                                            &address_ops, bus, error);
    if (!bus->address_region)
        goto out_free;
    bus->data_region = memory_map_add_io(m->io, "pci-config-data",
                                         CONFIG_DATA_PORT, 4, &data_ops, bus,
                                         error);
    if (!bus->data_region)
        goto out_remove_address;
    machine_add_device(m, &bus->dev);
    return bus;

out_remove_address:
    memory_map_remove(m->io, bus->address_region);
out_free:
    g_free(bus);
    return NULL;
}

/*
 * The bus is one of the machine's devices, so machine_destroy ends it (after
 * the PCI devices, which were added later); call this only for a bus that
 * never reached the machine's device list.
 */
void pci_bus_destroy(struct pci_bus *bus)
{
    if (!bus)
        return;
    memory_map_remove(bus->machine->io, bus->address_region);
    memory_map_remove(bus->machine->io, bus->data_region);
    for (unsigned i = 0; i < NR_DEVFN; i++)
        g_free(bus->slots[i].reset_config);
    g_free(bus);
}

struct machine *pci_bus_machine(struct pci_bus *bus)
{
    return bus->machine;
}

struct pci_device *pci_bus_find(struct pci_bus *bus, int devfn)
{
    g_return_val_if_fail(bus, NULL);
    if (devfn < 0 || devfn >= NR_DEVFN)
        return NULL;
    return bus->slots[devfn].dev;
}

/*
 * The device's own create function fills the header and BARs, sets
 * d->dev.cls and then adds it here; this registers it with the machine too,
 * so its class's reset (which calls pci_device_reset) and destroy run.
 */
int pci_bus_add(struct pci_bus *bus, struct pci_device *d, int devfn,
                GError **error)
{
    g_return_val_if_fail(bus && d && d->dev.cls, -1);
    if (devfn < 0) {
        for (int slot = 0; slot < 32 && devfn < 0; slot++)
            if (!bus->slots[PCI_DEVFN(slot, 0)].dev)
                devfn = PCI_DEVFN(slot, 0);
        if (devfn < 0) {
            g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                        "PCI: no free slot for %s", d->name);
            return -1;
        }
    }
    if (devfn >= NR_DEVFN || bus->slots[devfn].dev) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "PCI: %s cannot go at %02x.%x: %s", d->name, devfn >> 3,
                    devfn & 7, devfn >= NR_DEVFN ? "no such address" : "taken");
        return -1;
    }
    d->bus = bus;
    d->devfn = devfn;
    bus->slots[devfn].dev = d;
    bus->slots[devfn].reset_config = g_memdup2(d->config, PCI_CONFIG_SIZE);
    machine_add_device(bus->machine, &d->dev);
    return 0;
}

/* --- bus-master DMA --- */

int pci_dma_read(struct pci_device *d, uint64_t addr, void *buf, size_t length)
{
    g_return_val_if_fail(d && d->bus, -EINVAL);
    return memory_map_read(d->bus->machine->memory, addr, buf, length);
}

int pci_dma_write(struct pci_device *d, uint64_t addr, const void *buf,
                  size_t length)
{
    g_return_val_if_fail(d && d->bus, -EINVAL);
    return memory_map_write(d->bus->machine->memory, addr, buf, length, false);
}

static void pci_bus_reset(struct device *dev)
{
    struct pci_bus *bus = (struct pci_bus *)dev;

    bus->config_address = 0;
}

static void pci_bus_class_destroy(struct device *dev)
{
    pci_bus_destroy((struct pci_bus *)dev);
}

const struct device_class pci_bus_device_class = {
    .name = "pci-bus",
    .reset = pci_bus_reset,
    .destroy = pci_bus_class_destroy,
};
