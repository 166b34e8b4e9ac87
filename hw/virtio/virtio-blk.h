/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Virtio block device (virtio 1.2 §5.2) on the block layer, over PCI.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/pci/pci.h"
#include "storage/block.h"

#define VIRTIO_BLK_DEVICE_ID 2
#define VIRTIO_BLK_PCI_TRANSITIONAL_ID 0x1001
#define VIRTIO_BLK_QUEUE_SIZE 256
#define VIRTIO_BLK_ID_BYTES 20

/* Feature bits (virtio 1.2 §5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_GEOMETRY 4
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_TOPOLOGY 10
#define VIRTIO_BLK_F_CONFIG_WCE 11
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status values (virtio 1.2 §5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_FLUSH_OUT 5        /* legacy synonym */
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_T_BARRIER 0x80000000u /* legacy flag, ignored */
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

/* Limits the device reports in its configuration space. */
#define VIRTIO_BLK_SEG_MAX (VIRTIO_BLK_QUEUE_SIZE - 2)
#define VIRTIO_BLK_MAX_DISCARD_SECTORS (UINT32_C(1) << 22)
#define VIRTIO_BLK_MAX_DISCARD_SEG 32
#define VIRTIO_BLK_DISCARD_ALIGNMENT 8  /* sectors: 4 KiB */
#define VIRTIO_BLK_CONFIG_SIZE 60       /* up to write_zeroes_may_unmap */

/*
 * A transitional virtio-blk PCI function at @devfn (-1: the first free slot)
 * on @bus, serving @image (borrowed: it must outlive the machine's devices).
 * @read_only (or an image opened without BLK_OPEN_READ_WRITE) offers
 * VIRTIO_BLK_F_RO and fails writes. @serial (NULL: derived from the slot)
 * makes the GET_ID string "MIMIC-<serial>", cut to 20 bytes.
 */
struct pci_device *virtio_blk_pci_create(struct pci_bus *bus, int devfn,
                                         BlkImage *image, bool read_only,
                                         const char *serial, GError **error);
