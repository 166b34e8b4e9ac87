/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The BIOS linker/loader script ("etc/table-loader"): 128-byte commands that
 * tell SeaBIOS which fw_cfg files to place in memory and which pointers and
 * checksums to patch once their addresses are known. Mimic both writes the
 * script and, for boots without firmware, runs it itself.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_LOADER_ENTRY_SIZE 128
#define ACPI_LOADER_FILE_SIZE 56        /* fw_cfg name, with the NUL */

enum acpi_loader_command {
    ACPI_LOADER_ALLOCATE = 1,
    ACPI_LOADER_ADD_POINTER = 2,
    ACPI_LOADER_ADD_CHECKSUM = 3,
};

enum acpi_loader_zone {
    ACPI_LOADER_ZONE_HIGH = 1,          /* anywhere in RAM below 4 GiB */
    ACPI_LOADER_ZONE_FSEG = 2,          /* the 0xE0000-0xFFFFF BIOS area */
};

/* The script: append commands, then hand out the bytes. */
struct acpi_loader;

struct acpi_loader *acpi_loader_new(void);
void acpi_loader_free(struct acpi_loader *loader);
/* ALLOCATE: load fw_cfg file @file aligned to @align (a power of two). */
void acpi_loader_allocate(struct acpi_loader *loader, const char *file,
                          uint32_t align, enum acpi_loader_zone zone);
/* ADD_POINTER: add the address of @src_file to the @size-byte LE value at @offset of @dest_file. */
void acpi_loader_add_pointer(struct acpi_loader *loader, const char *dest_file,
                             const char *src_file, uint32_t offset,
                             uint8_t size);
/* ADD_CHECKSUM: byte @offset of @file makes [start, start+length) sum to 0. */
void acpi_loader_add_checksum(struct acpi_loader *loader, const char *file,
                              uint32_t offset, uint32_t start, uint32_t length);
const uint8_t *acpi_loader_data(const struct acpi_loader *loader, size_t *len);

/* A file the script refers to: its contents (patched in place) and address. */
struct acpi_loader_file {
    const char *name;
    GByteArray *data;
    uint64_t addr;          /* filled in by the caller before acpi_loader_run */
};

/*
 * Run a script on host copies of the files (the job SeaBIOS does), with the
 * addresses the caller chose: every command is checked (known file,
 * ALLOCATE first and once, ranges inside the file, alignment honoured).
 */
int acpi_loader_run(const uint8_t *script, size_t len,
                    struct acpi_loader_file *files, unsigned nr_files,
                    GError **error);

/* 8-bit checksum: the byte that makes @len bytes sum to zero. */
uint8_t acpi_checksum(const uint8_t *data, size_t len);
