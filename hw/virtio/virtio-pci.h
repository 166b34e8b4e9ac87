/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Virtio over PCI (virtio 1.2 §4.1), transitional: the legacy I/O BAR 0 and
 * the modern capabilities in memory BAR 4, INTx interrupts.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/pci/pci.h"
#include "hw/virtio/virtqueue.h"

#define VIRTIO_PCI_VENDOR_ID 0x1af4
#define VIRTIO_PCI_MAX_QUEUES 8

/* Device status bits (virtio 1.2 §2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* Interrupt status bits (virtio 1.2 §4.1.4.5). */
#define VIRTIO_ISR_QUEUE 1
#define VIRTIO_ISR_CONFIG 2

/* Layout of BAR 4, the modern interface (offsets of each structure). */
#define VIRTIO_PCI_COMMON_OFFSET 0x0000
#define VIRTIO_PCI_ISR_OFFSET 0x1000
#define VIRTIO_PCI_DEVICE_OFFSET 0x2000
#define VIRTIO_PCI_NOTIFY_OFFSET 0x3000
#define VIRTIO_PCI_NOTIFY_MULTIPLIER 4
#define VIRTIO_PCI_MODERN_BAR 4
#define VIRTIO_PCI_MODERN_BAR_SIZE 0x4000
/* Legacy I/O BAR 0 without MSI-X: device configuration from 0x14 (§4.1.4). */
#define VIRTIO_PCI_LEGACY_CONFIG 0x14

struct virtio_pci;

/*
 * What a device model (block, network) gives the transport. Nothing in it
 * is PCI-specific except the IDs, so virtio-mmio can take the same table.
 * Every call comes with the machine's device lock held.
 */
struct virtio_device_ops {
    const char *name;               /* "virtio-blk" */
    uint16_t device_id;             /* virtio device ID (§5): 2 = block */
    uint16_t transitional_pci_id;   /* PCI device ID (§4.1.2.3): 0x1001 */
    uint32_t pci_class;             /* base, sub, programming interface */
    unsigned num_queues;
    uint16_t queue_max_size;
    unsigned config_size;           /* bytes of device configuration */
    /* Device configuration space, little-endian (§2.5). */
    void (*read_config)(void *opaque, unsigned offset, void *buf,
                        unsigned length);
    void (*write_config)(void *opaque, unsigned offset, const void *buf,
                         unsigned length);     /* NULL: read-only */
    /* The driver accepted @features (FEATURES_OK, or legacy features
     * written); NULL: nothing to do. */
    void (*set_features)(void *opaque, uint64_t features);
    /* The driver made buffers available on @q (an enabled, healthy queue). */
    void (*queue_notify)(void *opaque, struct virtq *q);
    /* Device reset (§2.4): forget device state; NULL: nothing to do. */
    void (*reset)(void *opaque);
    void (*destroy)(void *opaque);     /* with the PCI function */
};

/*
 * Create the PCI function at @devfn (-1: first free slot) on @bus, offering
 * @features (device bits plus VIRTIO_F_* ring bits; VERSION_1 is added).
 * The transport calls @ops with @opaque; destroying the machine destroys
 * both.
 */
struct virtio_pci *virtio_pci_create(struct pci_bus *bus, int devfn,
                                     const struct virtio_device_ops *ops,
                                     void *opaque, uint64_t features,
                                     GError **error);
struct pci_device *virtio_pci_device(struct virtio_pci *t);
/* Features the driver accepted (meaningful once the device is running). */
uint64_t virtio_pci_features(struct virtio_pci *t);
/* Is the driver using the legacy interface (BAR 0)? */
bool virtio_pci_is_legacy(struct virtio_pci *t);

/* After used buffers were added to @q: interrupt the driver if it wants. */
void virtio_pci_notify_used(struct virtio_pci *t, struct virtq *q);
/* The device's configuration changed (§4.1.4.5): tell the driver. */
void virtio_pci_config_changed(struct virtio_pci *t);
/*
 * The driver broke the rules: set DEVICE_NEEDS_RESET (§2.1.2), tell the
 * driver with a configuration interrupt, process nothing until a reset.
 */
void virtio_pci_set_needs_reset(struct virtio_pci *t);

extern const struct device_class virtio_pci_device_class;
