/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * e820 address map: a sorted list of non-overlapping typed ranges, the PC's
 * two flavours (for SeaBIOS, for a kernel booted directly), and the packed
 * record format both consumers read.
 */
#define G_LOG_DOMAIN "mimic-e820"

#include "hw/fw/e820.h"

#include <string.h>

struct e820_map {
    GArray *entries;        /* struct e820_entry, sorted, non-overlapping */
};

struct e820_map *e820_map_new(void)
{
    struct e820_map *map = g_new0(struct e820_map, 1);

    map->entries = g_array_new(FALSE, TRUE, sizeof(struct e820_entry));
    return map;
}

void e820_map_free(struct e820_map *map)
{
    if (!map)
        return;
    g_array_unref(map->entries);
    g_free(map);
}

static struct e820_entry *entry_at(struct e820_map *map, unsigned i)
{
    return &g_array_index(map->entries, struct e820_entry, i);
}

/* Cut [start, end) out of every entry, splitting those that straddle it. */
static void punch(struct e820_map *map, uint64_t start, uint64_t end)
{
    for (unsigned i = 0; i < map->entries->len;) {
        struct e820_entry e = *entry_at(map, i);
        uint64_t e_end = e.addr + e.length;

        if (e_end <= start || e.addr >= end) {
            i++;
            continue;
        }
        g_array_remove_index(map->entries, i);
        if (e.addr < start) {
            struct e820_entry head = { e.addr, start - e.addr, e.type };

            g_array_insert_val(map->entries, i, head);
            i++;
        }
        if (e_end > end) {
            struct e820_entry tail = { end, e_end - end, e.type };

            g_array_insert_val(map->entries, i, tail);
            i++;
        }
    }
}

void e820_map_add(struct e820_map *map, uint64_t addr, uint64_t length,
                  enum e820_type type)
{
    struct e820_entry e = { addr, length, type };
    unsigned i;

    g_return_if_fail(map);
    if (length == 0)
        return;
    g_return_if_fail(addr + length > addr);
    punch(map, addr, addr + length);
    for (i = 0; i < map->entries->len && entry_at(map, i)->addr < addr; i++)
        ;
    g_array_insert_val(map->entries, i, e);
    /* Merge touching neighbours of one type. */
    for (i = 0; i + 1 < map->entries->len;) {
        struct e820_entry *a = entry_at(map, i), *b = entry_at(map, i + 1);

        if (a->type == b->type && a->addr + a->length == b->addr) {
            a->length += b->length;
            g_array_remove_index(map->entries, i + 1);
        } else {
            i++;
        }
    }
}

unsigned e820_map_count(const struct e820_map *map)
{
    return map->entries->len;
}

const struct e820_entry *e820_map_entry(const struct e820_map *map,
                                        unsigned index)
{
    g_return_val_if_fail(index < map->entries->len, NULL);
    return &g_array_index(map->entries, struct e820_entry, index);
}

gboolean e820_map_contains(const struct e820_map *map, uint64_t addr,
                           uint64_t length, enum e820_type type)
{
    uint64_t end = addr + length;

    for (unsigned i = 0; i < map->entries->len && addr < end; i++) {
        const struct e820_entry *e = e820_map_entry(map, i);

        if (e->addr > addr)
            return FALSE;
        if (e->addr + e->length <= addr)
            continue;
        if (e->type != type)
            return FALSE;
        addr = e->addr + e->length;
    }
    return addr >= end;
}

struct e820_map *e820_pc_firmware_map(uint64_t below_4g, uint64_t above_4g)
{
    struct e820_map *map = e820_map_new();

    e820_map_add(map, 0, below_4g, E820_RAM);
    e820_map_add(map, E820_4G, above_4g, E820_RAM);
    return map;
}

struct e820_map *e820_pc_boot_map(uint64_t below_4g, uint64_t above_4g)
{
    struct e820_map *map = e820_map_new();

    e820_map_add(map, 0, E820_EBDA_START, E820_RAM);
    e820_map_add(map, E820_EBDA_START, E820_LOW_RAM_END - E820_EBDA_START,
                 E820_RESERVED);
    e820_map_add(map, E820_BIOS_START, E820_HIGH_START - E820_BIOS_START,
                 E820_RESERVED);
    if (below_4g > E820_HIGH_START)
        e820_map_add(map, E820_HIGH_START, below_4g - E820_HIGH_START, E820_RAM);
    e820_map_add(map, E820_4G, above_4g, E820_RAM);
    return map;
}

uint8_t *e820_map_encode(const struct e820_map *map, size_t *len)
{
    uint8_t *out = g_malloc0(MAX(map->entries->len, 1) * E820_RECORD_SIZE);

    for (unsigned i = 0; i < map->entries->len; i++) {
        const struct e820_entry *e = e820_map_entry(map, i);
        uint64_t addr = GUINT64_TO_LE(e->addr), length = GUINT64_TO_LE(e->length);
        uint32_t type = GUINT32_TO_LE(e->type);
        uint8_t *r = out + i * E820_RECORD_SIZE;

        memcpy(r, &addr, 8);
        memcpy(r + 8, &length, 8);
        memcpy(r + 16, &type, 4);
    }
    *len = (size_t)map->entries->len * E820_RECORD_SIZE;
    return out;
}
