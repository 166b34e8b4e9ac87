/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PC's e820 memory map (ACPI 6.5, 15 "System Address Map Interfaces"):
 * built once per machine, handed to SeaBIOS through fw_cfg "etc/e820" and to
 * a directly booted Linux kernel in boot_params.
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* Address range types (ACPI 6.5, table 15.1). */
enum e820_type {
    E820_RAM = 1,
    E820_RESERVED = 2,
    E820_ACPI = 3,          /* ACPI reclaim memory */
    E820_NVS = 4,
    E820_UNUSABLE = 5,
};

struct e820_entry {
    uint64_t addr;
    uint64_t length;
    uint32_t type;
};

/* The packed little-endian record of fw_cfg "etc/e820" and boot_params. */
#define E820_RECORD_SIZE 20
/* boot_params.e820_table holds this many (zero-page.rst). */
#define E820_BOOT_PARAMS_MAX 128

#define E820_4G 0x100000000ULL
#define E820_LOW_RAM_END 0xa0000ULL     /* VGA window */
#define E820_EBDA_START 0x9fc00ULL      /* last KiB of conventional memory */
#define E820_BIOS_START 0xf0000ULL      /* system BIOS segment */
#define E820_HIGH_START 0x100000ULL

struct e820_map;

struct e820_map *e820_map_new(void);
void e820_map_free(struct e820_map *map);

/*
 * Set [addr, addr+length) to @type: overlapping parts of earlier entries
 * are replaced, neighbours of the same type merged; kept sorted.
 */
void e820_map_add(struct e820_map *map, uint64_t addr, uint64_t length,
                  enum e820_type type);
unsigned e820_map_count(const struct e820_map *map);
const struct e820_entry *e820_map_entry(const struct e820_map *map,
                                        unsigned index);
/* True when [addr, addr+length) lies entirely in ranges of @type. */
gboolean e820_map_contains(const struct e820_map *map, uint64_t addr,
                           uint64_t length, enum e820_type type);

/*
 * What SeaBIOS wants in "etc/e820" (as QEMU gives it): RAM only, [0,
 * below_4g) and [4 GiB, 4 GiB + above_4g); SeaBIOS reserves its own areas.
 */
struct e820_map *e820_pc_firmware_map(uint64_t below_4g, uint64_t above_4g);
/*
 * What a kernel booted without firmware sees: conventional memory up to the
 * EBDA, the EBDA and the BIOS ROM area reserved, RAM from 1 MiB, RAM above
 * 4 GiB. Loaders add their own reservations (ACPI tables) on top.
 */
struct e820_map *e820_pc_boot_map(uint64_t below_4g, uint64_t above_4g);

/* Packed 20-byte records; *len is set to the byte size. */
uint8_t *e820_map_encode(const struct e820_map *map, size_t *len);
