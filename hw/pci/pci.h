/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Conventional PCI: one bus behind a host bridge reached through the
 * configuration mechanism #1 ports 0xCF8/0xCFC (PCI Local Bus 3.0, 3.2.2.3.2),
 * type 0 configuration headers, BARs mapped into the machine's memory and
 * I/O maps when the guest enables them, and INTx lines routed to GSIs.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/memory.h"
#include "hw/device.h"

#define PCI_CONFIG_SIZE 256
#define PCI_NUM_BARS 6
#define PCI_ROM_BAR 6               /* index of the expansion ROM in bars[] */
#define PCI_DEVFN(slot, fn) (((slot) << 3) | (fn))

/* Configuration header offsets (PCI Local Bus 3.0, 6.1). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_HEADER_TYPE 0x0e
#define PCI_BASE_ADDRESS_0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS_INTERRUPT 0x8

enum pci_bar_type {
    PCI_BAR_UNUSED,
    PCI_BAR_IO,
    PCI_BAR_MEM32,
    PCI_BAR_MEM64,          /* takes this BAR and the next */
};

struct pci_bar {
    enum pci_bar_type type;
    bool prefetchable;
    uint64_t size;                  /* power of two */
    const char *name;
    /* Either callbacks (I/O or MMIO registers) ... */
    const struct memory_ops *ops;
    void *opaque;
    /* ... or host memory mapped as guest RAM (framebuffers, ROMs). */
    uint8_t *host;
    bool read_only;                 /* host memory as ROM */
    const struct memory_region *mapped;     /* current mapping, or NULL */
};

struct pci_device;
struct pci_bus;

/* Optional per-device hooks; NULL means the default behaviour. */
struct pci_device_ops {
    uint32_t (*config_read)(struct pci_device *d, unsigned offset, unsigned size);
    void (*config_write)(struct pci_device *d, unsigned offset, uint32_t value,
                         unsigned size);
};

struct pci_device {
    struct device dev;              /* first: devices are machine devices */
    struct pci_bus *bus;
    int devfn;
    const char *name;
    const struct pci_device_ops *ops;
    uint8_t config[PCI_CONFIG_SIZE];
    uint8_t wmask[PCI_CONFIG_SIZE];     /* bits the guest may write */
    uint8_t w1cmask[PCI_CONFIG_SIZE];   /* bits a guest write of 1 clears */
    struct pci_bar bars[PCI_NUM_BARS + 1];
    bool irq_level;                 /* the device's INTx line */
};

typedef int (*pci_route_fn)(void *opaque, int pirq);   /* GSI, or -1 if off */

/* The bus and its 0xCF8/0xCFC ports on m->io. */
struct pci_bus *pci_bus_create(struct machine *m, GError **error);
void pci_bus_destroy(struct pci_bus *bus);
struct machine *pci_bus_machine(struct pci_bus *bus);
/*
 * The chipset's interrupt router: INTx pin p (0-3 = A-D) of slot s drives
 * PIRQ (s + p) % 4 (the usual swizzle); @route turns that PIRQ into a GSI.
 */
void pci_bus_set_router(struct pci_bus *bus, pci_route_fn route, void *opaque);
/* A routing change (PIIX PIRQRC writes): recompute the lines' levels. */
void pci_bus_update_irqs(struct pci_bus *bus);
struct pci_device *pci_bus_find(struct pci_bus *bus, int devfn);

/*
 * Fill the header of @d (zeroed by the caller): IDs, class (base, sub,
 * programming interface as one 24-bit value), header type, interrupt pin
 * (0 none, 1-4 INTA-INTD); sets the usual writable masks.
 */
void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor,
                     uint16_t device, uint8_t revision, uint32_t class_code,
                     uint8_t interrupt_pin);
/* BARs; call before pci_bus_add. @index PCI_ROM_BAR sets the expansion ROM. */
void pci_device_set_bar(struct pci_device *d, int index, enum pci_bar_type type,
                        uint64_t size, const struct memory_ops *ops,
                        void *opaque, const char *name);
void pci_device_set_ram_bar(struct pci_device *d, int index,
                            enum pci_bar_type type, uint64_t size,
                            uint8_t *host, bool read_only, bool prefetchable,
                            const char *name);
/* Put @d at @devfn (-1: the first free slot's function 0). */
int pci_bus_add(struct pci_bus *bus, struct pci_device *d, int devfn,
                GError **error);

/* Defaults, for device hooks that handle some registers and pass the rest on. */
uint32_t pci_default_config_read(struct pci_device *d, unsigned offset,
                                 unsigned size);
void pci_default_config_write(struct pci_device *d, unsigned offset,
                              uint32_t value, unsigned size);

/* Raise/lower the device's INTx (respects Interrupt Disable, sets status). */
void pci_set_irq(struct pci_device *d, bool level);

/* Bus-master DMA into guest memory: 0, or -EFAULT outside RAM (nothing copied). */
int pci_dma_read(struct pci_device *d, uint64_t addr, void *buf, size_t length);
int pci_dma_write(struct pci_device *d, uint64_t addr, const void *buf,
                  size_t length);

/* Machine reset: BARs unmapped, command register cleared, header restored. */
void pci_device_reset(struct pci_device *d);
