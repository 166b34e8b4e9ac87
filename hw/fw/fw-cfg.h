/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU-compatible firmware configuration device (fw_cfg): the selector, data
 * and DMA ports SeaBIOS reads its configuration, ACPI and SMBIOS tables from.
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/device.h"

struct machine;

/* I/O ports on x86 (QEMU docs/specs/fw_cfg.rst, "Register Locations"). */
#define FW_CFG_IO_BASE 0x510
#define FW_CFG_PORT_SELECTOR 0x510      /* 16-bit, little-endian */
#define FW_CFG_PORT_DATA 0x511          /* 8-bit */
#define FW_CFG_PORT_DMA 0x514           /* 64-bit big-endian, two halves */
#define FW_CFG_IO_SIZE 0x0c

/* Generic keys. */
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID 0x01
#define FW_CFG_UUID 0x02
#define FW_CFG_RAM_SIZE 0x03
#define FW_CFG_NOGRAPHIC 0x04
#define FW_CFG_NB_CPUS 0x05
#define FW_CFG_MACHINE_ID 0x06
#define FW_CFG_KERNEL_ADDR 0x07
#define FW_CFG_KERNEL_SIZE 0x08
#define FW_CFG_KERNEL_CMDLINE 0x09
#define FW_CFG_INITRD_ADDR 0x0a
#define FW_CFG_INITRD_SIZE 0x0b
#define FW_CFG_BOOT_DEVICE 0x0c
#define FW_CFG_NUMA 0x0d
#define FW_CFG_BOOT_MENU 0x0e
#define FW_CFG_MAX_CPUS 0x0f
#define FW_CFG_KERNEL_ENTRY 0x10
#define FW_CFG_KERNEL_DATA 0x11
#define FW_CFG_INITRD_DATA 0x12
#define FW_CFG_CMDLINE_ADDR 0x13
#define FW_CFG_CMDLINE_SIZE 0x14
#define FW_CFG_CMDLINE_DATA 0x15
#define FW_CFG_SETUP_ADDR 0x16
#define FW_CFG_SETUP_SIZE 0x17
#define FW_CFG_SETUP_DATA 0x18
#define FW_CFG_FILE_DIR 0x19
#define FW_CFG_FILE_FIRST 0x20
#define FW_CFG_WRITE_CHANNEL 0x4000     /* selector bit 14: ignored since QEMU 2.4 */
#define FW_CFG_ARCH_LOCAL 0x8000
/* x86 keys (legacy; SeaBIOS prefers the files). */
#define FW_CFG_ACPI_TABLES (FW_CFG_ARCH_LOCAL + 0)
#define FW_CFG_SMBIOS_ENTRIES (FW_CFG_ARCH_LOCAL + 1)
#define FW_CFG_IRQ0_OVERRIDE (FW_CFG_ARCH_LOCAL + 2)
#define FW_CFG_E820_TABLE (FW_CFG_ARCH_LOCAL + 3)
#define FW_CFG_HPET (FW_CFG_ARCH_LOCAL + 4)

#define FW_CFG_MAX_KEY 0x4000           /* per half (generic, arch) */
#define FW_CFG_MAX_FILES (FW_CFG_MAX_KEY - FW_CFG_FILE_FIRST)
#define FW_CFG_FILE_NAME_MAX 56         /* with the NUL */
#define FW_CFG_FILE_ENTRY_SIZE 64

/* FW_CFG_ID feature bits. */
#define FW_CFG_VERSION 0x01
#define FW_CFG_VERSION_DMA 0x02

/* FWCfgDmaAccess.control bits ("Guest-side DMA Interface"). */
#define FW_CFG_DMA_CTL_ERROR 0x01
#define FW_CFG_DMA_CTL_READ 0x02
#define FW_CFG_DMA_CTL_SKIP 0x04
#define FW_CFG_DMA_CTL_SELECT 0x08
#define FW_CFG_DMA_CTL_WRITE 0x10
/* "QEMU CFG", read back from the DMA address register. */
#define FW_CFG_DMA_SIGNATURE 0x51454d5520434647ULL

/*
 * Create the device on m->io at 0x510 with the signature, ID (DMA
 * supported), RAM size, CPU counts and an empty file directory.
 */
struct device *fw_cfg_create(struct machine *m, GError **error);

/* Set (or replace) a keyed item; @data is copied. */
void fw_cfg_add_bytes(struct device *fw, uint16_t key, const void *data,
                      size_t len);
void fw_cfg_add_i16(struct device *fw, uint16_t key, uint16_t value);   /* LE */
void fw_cfg_add_i32(struct device *fw, uint16_t key, uint32_t value);   /* LE */
void fw_cfg_add_i64(struct device *fw, uint16_t key, uint64_t value);   /* LE */
void fw_cfg_add_string(struct device *fw, uint16_t key, const char *value);

/*
 * Add a named file (next free key from FW_CFG_FILE_FIRST, listed in the
 * directory); @data is copied. A file of the same name is replaced in place.
 * Fails on a name too long or when the directory is full. Returns its key.
 */
int fw_cfg_add_file(struct device *fw, const char *name, const void *data,
                    size_t len, GError **error);
/* The same, taking ownership of @data (g_free'd). */
int fw_cfg_add_file_take(struct device *fw, const char *name, void *data,
                         size_t len, GError **error);

/* Read access for tests and other host code: the item's bytes, or NULL. */
const uint8_t *fw_cfg_lookup_file(struct device *fw, const char *name,
                                  size_t *len);

extern const struct device_class fw_cfg_device_class;
