/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SMBIOS 2.8 tables of the pc machine (DMTF DSP0134 3.x, which still defines
 * the 2.1 32-bit entry point): BIOS, system, chassis, processors, memory,
 * boot status; handed to SeaBIOS as fw_cfg "etc/smbios/smbios-tables" and
 * "etc/smbios/smbios-anchor".
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

struct device;

#define SMBIOS_ANCHOR_SIZE 31           /* the 2.1 entry point, "_SM_" */
#define SMBIOS_FILE_TABLES "etc/smbios/smbios-tables"
#define SMBIOS_FILE_ANCHOR "etc/smbios/smbios-anchor"

struct smbios_config {
    unsigned nr_cpus;                   /* one socket each */
    uint64_t ram_below_4g, ram_above_4g;
    const uint8_t *uuid;                /* 16 bytes in RFC 4122 order, or NULL */
};

struct smbios_tables {
    GByteArray *tables;                 /* the structure table, type 127 last */
    uint8_t anchor[SMBIOS_ANCHOR_SIZE]; /* table address 0: the firmware sets it */
    unsigned count;                     /* structures */
    unsigned max_size;                  /* largest structure, strings included */
};

struct smbios_tables *smbios_build(const struct smbios_config *cfg);
void smbios_tables_free(struct smbios_tables *t);
/* Build and add the two fw_cfg files SeaBIOS reads. */
int smbios_add_fw_cfg(struct device *fw_cfg, const struct smbios_config *cfg,
                      GError **error);
