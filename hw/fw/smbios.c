/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SMBIOS structures (DMTF DSP0134 3.x, ch. 6-7): each is a formatted area
 * followed by its strings; the table is described by a 2.1 entry point
 * whose address SeaBIOS fills in when it copies the table.
 */
#define G_LOG_DOMAIN "mimic-smbios"

#include "hw/fw/smbios.h"

#include <errno.h>
#include <string.h>

#include "hw/fw/fw-cfg.h"

#ifndef MIMIC_VERSION
#define MIMIC_VERSION "0"
#endif

#define MANUFACTURER "Mimic"
#define PRODUCT "Standard PC (i440FX + PIIX)"
#define BIOS_DATE "01/01/2025"
#define MAJOR 2
#define MINOR 8
#define TYPE_END 127

/* One structure under construction: its formatted area and its strings. */
struct smbios_struct {
    GByteArray *area;
    GString *strings;
    unsigned nr_strings;
};

static struct smbios_struct *begin(uint8_t type, uint8_t length, uint16_t handle)
{
    struct smbios_struct *s = g_new0(struct smbios_struct, 1);

    s->area = g_byte_array_sized_new(length);
    g_byte_array_set_size(s->area, length);
    memset(s->area->data, 0, length);
    s->area->data[0] = type;
    s->area->data[1] = length;
    s->area->data[2] = handle & 0xff;
    s->area->data[3] = handle >> 8;
    s->strings = g_string_new(NULL);
    return s;
}

static void set8(struct smbios_struct *s, unsigned at, uint8_t v)
{
    s->area->data[at] = v;
}

static void set16(struct smbios_struct *s, unsigned at, uint16_t v)
{
    v = GUINT16_TO_LE(v);
    memcpy(s->area->data + at, &v, 2);
}

static void set32(struct smbios_struct *s, unsigned at, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(s->area->data + at, &v, 4);
}

static void set64(struct smbios_struct *s, unsigned at, uint64_t v)
{
    v = GUINT64_TO_LE(v);
    memcpy(s->area->data + at, &v, 8);
}

/* A string field (6.1.3): the 1-based index of the string, 0 for none. */
static void set_string(struct smbios_struct *s, unsigned at, const char *text)
{
    if (!text || !*text) {
        s->area->data[at] = 0;
        return;
    }
    g_string_append(s->strings, text);
    g_string_append_c(s->strings, '\0');
    s->area->data[at] = ++s->nr_strings;
}

/* Append the structure and its string set (double NUL when empty). */
static void finish(struct smbios_tables *t, struct smbios_struct *s)
{
    unsigned size;

    g_byte_array_append(t->tables, s->area->data, s->area->len);
    if (!s->nr_strings)
        g_string_append_c(s->strings, '\0');
    g_string_append_c(s->strings, '\0');
    g_byte_array_append(t->tables, (const uint8_t *)s->strings->str,
                        s->strings->len);
    size = s->area->len + s->strings->len;
    t->max_size = MAX(t->max_size, size);
    t->count++;
    g_byte_array_unref(s->area);
    g_string_free(s->strings, TRUE);
    g_free(s);
}

/* Type 0, BIOS Information (7.1). */
static void build_bios(struct smbios_tables *t)
{
    struct smbios_struct *s = begin(0, 0x18, 0x0000);

    set_string(s, 0x04, MANUFACTURER);
    set_string(s, 0x05, MIMIC_VERSION);
    set16(s, 0x06, 0xe800);             /* starting address segment */
    set_string(s, 0x08, BIOS_DATE);
    set8(s, 0x09, 0);                   /* ROM size: 64 KiB */
    set64(s, 0x0a, 1u << 3);            /* characteristics not supported */
    set8(s, 0x12, 1u << 0);             /* ACPI supported */
    set8(s, 0x13, 1u << 4);             /* the system is a virtual machine */
    set8(s, 0x14, 0);
    set8(s, 0x15, 0);
    set8(s, 0x16, 0xff);                /* no embedded controller */
    set8(s, 0x17, 0xff);
    finish(t, s);
}

/* Type 1, System Information (7.2); the UUID's first three fields little-endian. */
static void build_system(struct smbios_tables *t, const struct smbios_config *cfg)
{
    struct smbios_struct *s = begin(1, 0x1b, 0x0100);
    uint8_t uuid[16] = { 0 };

    set_string(s, 0x04, MANUFACTURER);
    set_string(s, 0x05, PRODUCT);
    set_string(s, 0x06, MIMIC_VERSION);
    if (cfg->uuid) {
        const uint8_t *u = cfg->uuid;
        const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6,
                                    8, 9, 10, 11, 12, 13, 14, 15 };

        for (unsigned i = 0; i < 16; i++)
            uuid[i] = u[order[i]];
    }
    memcpy(s->area->data + 0x08, uuid, 16);
    set8(s, 0x18, 6);                   /* wake-up type: power switch */
    set_string(s, 0x1a, MANUFACTURER);  /* family */
    finish(t, s);
}

/* Type 3, System Enclosure (7.4), no contained elements. */
static void build_chassis(struct smbios_tables *t)
{
    struct smbios_struct *s = begin(3, 0x16, 0x0300);

    set_string(s, 0x04, MANUFACTURER);
    set8(s, 0x05, 0x01);                /* other */
    set8(s, 0x09, 0x03);                /* boot-up state: safe */
    set8(s, 0x0a, 0x03);                /* power supply: safe */
    set8(s, 0x0b, 0x03);                /* thermal: safe */
    set8(s, 0x0c, 0x02);                /* security: unknown */
    finish(t, s);
}

/* Type 4, Processor Information (7.5), one per socket. */
static void build_processor(struct smbios_tables *t, unsigned index)
{
    struct smbios_struct *s = begin(4, 0x2a, 0x0400 + index);
    g_autofree char *socket = g_strdup_printf("CPU %u", index);

    set_string(s, 0x04, socket);
    set8(s, 0x05, 0x03);                /* central processor */
    set8(s, 0x06, 0x01);                /* family: other */
    set_string(s, 0x07, MANUFACTURER);
    set16(s, 0x14, 2000);               /* max speed, MHz */
    set16(s, 0x16, 2000);               /* current speed */
    set8(s, 0x18, 0x41);                /* socket populated, CPU enabled */
    set8(s, 0x19, 0x01);                /* upgrade: other */
    set16(s, 0x1a, 0xffff);             /* no cache information */
    set16(s, 0x1c, 0xffff);
    set16(s, 0x1e, 0xffff);
    set8(s, 0x23, 1);                   /* cores */
    set8(s, 0x24, 1);                   /* cores enabled */
    set8(s, 0x25, 1);                   /* threads */
    set16(s, 0x26, 0x02);               /* characteristics: unknown */
    set16(s, 0x28, 0x01);               /* family 2: other */
    finish(t, s);
}

/* Types 16, 17 and 19: one memory array, one device, one mapping per range. */
static void build_memory(struct smbios_tables *t, const struct smbios_config *cfg)
{
    uint64_t total = cfg->ram_below_4g + cfg->ram_above_4g;
    uint64_t mib = total >> 20;
    const uint64_t ranges[2][2] = {
        { 0, cfg->ram_below_4g },
        { 0x100000000ull, 0x100000000ull + cfg->ram_above_4g },
    };
    struct smbios_struct *s;

    s = begin(16, 0x17, 0x1000);
    set8(s, 0x04, 0x01);                /* location: other */
    set8(s, 0x05, 0x03);                /* use: system memory */
    set8(s, 0x06, 0x06);                /* multi-bit ECC */
    if ((total >> 10) < 0x80000000ull) {
        set32(s, 0x07, total >> 10);    /* KiB */
    } else {
        set32(s, 0x07, 0x80000000u);
        set64(s, 0x0f, total);
    }
    set16(s, 0x0b, 0xfffe);             /* no error information */
    set16(s, 0x0d, 1);                  /* devices */
    finish(t, s);

    s = begin(17, 0x28, 0x1100);
    set16(s, 0x04, 0x1000);
    set16(s, 0x06, 0xfffe);
    set16(s, 0x08, 64);                 /* total width */
    set16(s, 0x0a, 64);                 /* data width */
    if (mib < 0x7fff) {
        set16(s, 0x0c, mib);
    } else {
        set16(s, 0x0c, 0x7fff);
        set32(s, 0x1c, mib);            /* extended size */
    }
    set8(s, 0x0e, 0x09);                /* DIMM */
    set_string(s, 0x10, "DIMM 0");
    set8(s, 0x12, 0x07);                /* RAM */
    set16(s, 0x13, 0x02);               /* detail: other */
    set_string(s, 0x17, MANUFACTURER);
    finish(t, s);

    for (unsigned i = 0; i < 2; i++) {
        uint64_t start = ranges[i][0], end = ranges[i][1];

        if (end <= start)
            continue;
        s = begin(19, 0x1f, 0x1300 + i);
        if ((end >> 10) <= 0xffffffffull) {
            set32(s, 0x04, start >> 10);
            set32(s, 0x08, (end >> 10) - 1);
        } else {
            set32(s, 0x04, 0xffffffffu);
            set32(s, 0x08, 0xffffffffu);
            set64(s, 0x0f, start);
            set64(s, 0x17, end - 1);
        }
        set16(s, 0x0c, 0x1000);
        set8(s, 0x0e, 1);               /* partition width */
        finish(t, s);
    }
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;

    while (len--)
        sum += *p++;
    return (uint8_t)-sum;
}

/* The 2.1 (32-bit) entry point (5.2.1). */
static void build_anchor(struct smbios_tables *t)
{
    uint8_t *a = t->anchor;
    uint16_t v;

    memset(a, 0, SMBIOS_ANCHOR_SIZE);
    memcpy(a, "_SM_", 4);
    a[5] = SMBIOS_ANCHOR_SIZE;
    a[6] = MAJOR;
    a[7] = MINOR;
    v = GUINT16_TO_LE(t->max_size);
    memcpy(a + 8, &v, 2);
    memcpy(a + 16, "_DMI_", 5);
    v = GUINT16_TO_LE(t->tables->len);
    memcpy(a + 22, &v, 2);
    v = GUINT16_TO_LE(t->count);
    memcpy(a + 28, &v, 2);
    a[30] = MAJOR << 4 | MINOR;
    a[21] = checksum(a + 16, 15);
    a[4] = checksum(a, SMBIOS_ANCHOR_SIZE);
}

struct smbios_tables *smbios_build(const struct smbios_config *cfg)
{
    struct smbios_tables *t = g_new0(struct smbios_tables, 1);
    struct smbios_struct *s;

    t->tables = g_byte_array_new();
    build_bios(t);
    build_system(t, cfg);
    build_chassis(t);
    for (unsigned i = 0; i < MAX(cfg->nr_cpus, 1u); i++)
        build_processor(t, i);
    build_memory(t, cfg);
    s = begin(32, 0x0b, 0x2000);        /* System Boot Information: no errors */
    finish(t, s);
    s = begin(TYPE_END, 4, 0x7f00);
    finish(t, s);
    build_anchor(t);
    return t;
}

void smbios_tables_free(struct smbios_tables *t)
{
    if (!t)
        return;
    g_byte_array_unref(t->tables);
    g_free(t);
}

int smbios_add_fw_cfg(struct device *fw_cfg, const struct smbios_config *cfg,
                      GError **error)
{
    struct smbios_tables *t = smbios_build(cfg);
    int ret = 0;

    if (fw_cfg_add_file(fw_cfg, SMBIOS_FILE_TABLES, t->tables->data,
                        t->tables->len, error) < 0 ||
        fw_cfg_add_file(fw_cfg, SMBIOS_FILE_ANCHOR, t->anchor,
                        SMBIOS_ANCHOR_SIZE, error) < 0)
        ret = -EINVAL;
    smbios_tables_free(t);
    return ret;
}
