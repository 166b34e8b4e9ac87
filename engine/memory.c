/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest physical memory map and port-I/O space. Regions are kept sorted by
 * base address and never overlap; lookups are a binary search.
 */
#define G_LOG_DOMAIN "mimic-memory"

#include "engine/memory.h"

#include <gio/gio.h>

#include <errno.h>
#include <string.h>

/* Distinct unassigned addresses remembered for "logged once". */
#define UNASSIGNED_LOG_MAX 256

/* An immutable sorted snapshot of the regions; replaced whole on change. */
struct region_table {
    unsigned count;
    struct memory_region *regions[];
};

struct memory_map {
    char *name;
    uint64_t limit;
    GMutex *device_lock;
    struct region_table *table;     /* current snapshot, read lock-free */
    GMutex change_lock;             /* serialises writers */
    /*
     * Replaced snapshots and removed regions stay allocated until the map
     * is freed: a vCPU may still be looking at them (changes are rare).
     */
    GPtrArray *retired_tables;
    GPtrArray *all_regions;
    memory_listener_fn listener;
    void *listener_opaque;
    memory_write_observer_fn write_observer;
    void *write_observer_opaque;

    GMutex log_lock;
    GHashTable *logged;             /* addresses already reported */
    bool log_full_reported;
};

static void region_free(gpointer data)
{
    struct memory_region *r = data;

    g_free(r->name);
    g_free(r);
}

static struct region_table *current_table(const struct memory_map *map)
{
    struct memory_map *m = (struct memory_map *)map;

    return g_atomic_pointer_get(&m->table);
}

struct memory_map *memory_map_new(const char *name, uint64_t limit,
                                  GMutex *device_lock)
{
    struct memory_map *map = g_new0(struct memory_map, 1);

    map->name = g_strdup(name);
    map->limit = limit;
    map->device_lock = device_lock;
    map->table = g_malloc0(sizeof(struct region_table));
    g_mutex_init(&map->change_lock);
    map->retired_tables = g_ptr_array_new_with_free_func(g_free);
    map->all_regions = g_ptr_array_new_with_free_func(region_free);
    g_mutex_init(&map->log_lock);
    map->logged = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    return map;
}

void memory_map_free(struct memory_map *map)
{
    if (!map)
        return;
    g_free(map->table);
    g_ptr_array_unref(map->retired_tables);
    g_ptr_array_unref(map->all_regions);
    g_mutex_clear(&map->change_lock);
    g_hash_table_unref(map->logged);
    g_mutex_clear(&map->log_lock);
    g_free(map->name);
    g_free(map);
}

/* Index of the first region whose end is above @addr. */
static unsigned first_ending_above(const struct region_table *t, uint64_t addr)
{
    unsigned lo = 0, hi = t->count;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const struct memory_region *r = t->regions[mid];

        if (r->base + r->size <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Publish a copy of the table with @add inserted at @index or @remove dropped. */
static void publish(struct memory_map *map, struct memory_region *add,
                    unsigned index, const struct memory_region *remove)
{
    struct region_table *old = map->table;
    unsigned count = old->count + (add ? 1 : 0) - (remove ? 1 : 0);
    struct region_table *t = g_malloc0(sizeof(*t) + count * sizeof(t->regions[0]));
    unsigned j = 0;

    for (unsigned i = 0; i < old->count; i++) {
        if (add && i == index)
            t->regions[j++] = add;
        if (old->regions[i] != remove)
            t->regions[j++] = old->regions[i];
    }
    if (add && index == old->count)
        t->regions[j++] = add;
    t->count = j;
    g_atomic_pointer_set(&map->table, t);
    g_ptr_array_add(map->retired_tables, old);
}

static const struct memory_region *add_region(struct memory_map *map,
                                              struct memory_region *tmpl,
                                              GError **error)
{
    struct region_table *t;
    struct memory_region *r;
    unsigned index;

    if (tmpl->size == 0 || tmpl->base > map->limit ||
        tmpl->size > map->limit - tmpl->base) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: region \"%s\" [0x%" G_GINT64_MODIFIER "x, +0x%"
                    G_GINT64_MODIFIER "x) does not fit below 0x%"
                    G_GINT64_MODIFIER "x",
                    map->name, tmpl->name, tmpl->base, tmpl->size, map->limit);
        return NULL;
    }
    g_mutex_lock(&map->change_lock);
    t = map->table;
    index = first_ending_above(t, tmpl->base);
    if (index < t->count) {
        const struct memory_region *next = t->regions[index];

        if (next->base < tmpl->base + tmpl->size) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                        "%s: region \"%s\" [0x%" G_GINT64_MODIFIER "x, 0x%"
                        G_GINT64_MODIFIER "x) overlaps \"%s\" [0x%"
                        G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER "x)",
                        map->name, tmpl->name, tmpl->base,
                        tmpl->base + tmpl->size, next->name, next->base,
                        next->base + next->size);
            g_mutex_unlock(&map->change_lock);
            return NULL;
        }
    }
    r = g_memdup2(tmpl, sizeof(*r));
    r->name = g_strdup(tmpl->name);
    g_ptr_array_add(map->all_regions, r);
    publish(map, r, index, NULL);
    if (map->listener)
        map->listener(map->listener_opaque, r, true);
    g_mutex_unlock(&map->change_lock);
    return r;
}

int memory_map_remove(struct memory_map *map, const struct memory_region *region)
{
    struct region_table *t;
    bool found = false;

    g_mutex_lock(&map->change_lock);
    t = map->table;
    for (unsigned i = 0; i < t->count; i++)
        found |= t->regions[i] == region;
    if (found) {
        publish(map, NULL, 0, region);
        if (map->listener)
            map->listener(map->listener_opaque, region, false);
    }
    g_mutex_unlock(&map->change_lock);
    return found ? 0 : -ENOENT;
}

void memory_map_set_listener(struct memory_map *map, memory_listener_fn listener,
                             void *opaque)
{
    g_mutex_lock(&map->change_lock);
    map->listener = listener;
    map->listener_opaque = opaque;
    g_mutex_unlock(&map->change_lock);
}

const struct memory_region *memory_map_add_ram(struct memory_map *map,
                                               const char *name, uint64_t base,
                                               uint64_t size, void *host,
                                               GError **error)
{
    struct memory_region r = {
        .name = (char *)name, .kind = MEMORY_REGION_RAM,
        .base = base, .size = size, .host = host,
    };

    return add_region(map, &r, error);
}

const struct memory_region *memory_map_add_rom(struct memory_map *map,
                                               const char *name, uint64_t base,
                                               uint64_t size, void *host,
                                               GError **error)
{
    struct memory_region r = {
        .name = (char *)name, .kind = MEMORY_REGION_ROM,
        .base = base, .size = size, .host = host,
    };

    return add_region(map, &r, error);
}

const struct memory_region *memory_map_add_io(struct memory_map *map,
                                              const char *name, uint64_t base,
                                              uint64_t size,
                                              const struct memory_ops *ops,
                                              void *opaque, GError **error)
{
    struct memory_region r = {
        .name = (char *)name, .kind = MEMORY_REGION_IO,
        .base = base, .size = size, .ops = ops, .opaque = opaque,
    };

    g_return_val_if_fail(ops != NULL, NULL);
    return add_region(map, &r, error);
}

const struct memory_region *memory_map_lookup(const struct memory_map *map,
                                              uint64_t addr)
{
    const struct region_table *t = current_table(map);
    unsigned index = first_ending_above(t, addr);
    const struct memory_region *r;

    if (index >= t->count)
        return NULL;
    r = t->regions[index];
    return r->base <= addr ? r : NULL;
}

unsigned memory_map_region_count(const struct memory_map *map)
{
    return current_table(map)->count;
}

const struct memory_region *memory_map_region(const struct memory_map *map,
                                              unsigned index)
{
    const struct region_table *t = current_table(map);

    g_return_val_if_fail(index < t->count, NULL);
    return t->regions[index];
}

unsigned memory_map_unassigned_count(const struct memory_map *map)
{
    struct memory_map *m = (struct memory_map *)map;
    unsigned n;

    g_mutex_lock(&m->log_lock);
    n = g_hash_table_size(m->logged);
    g_mutex_unlock(&m->log_lock);
    return n;
}

/* Guest touched nothing: tell the user once per address, then keep quiet. */
static void log_unassigned(struct memory_map *map, const char *what,
                           uint64_t addr, unsigned size, uint64_t value)
{
    gint64 key = (gint64)addr;

    g_mutex_lock(&map->log_lock);
    if (g_hash_table_contains(map->logged, &key))
        goto out;
    if (g_hash_table_size(map->logged) >= UNASSIGNED_LOG_MAX) {
        if (!map->log_full_reported)
            g_message("%s: many unassigned accesses; no longer logging them",
                      map->name);
        map->log_full_reported = true;
        goto out;
    }
    g_hash_table_add(map->logged, g_memdup2(&key, sizeof(key)));
    if (strcmp(what, "write") == 0)
        g_message("%s: guest %s of %u byte(s) at unassigned 0x%"
                  G_GINT64_MODIFIER "x (value 0x%" G_GINT64_MODIFIER
                  "x) ignored; logged once", map->name, what, size, addr, value);
    else
        g_message("%s: guest %s of %u byte(s) at unassigned 0x%"
                  G_GINT64_MODIFIER "x reads all ones; logged once",
                  map->name, what, size, addr);
out:
    g_mutex_unlock(&map->log_lock);
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (size * 8)) - 1;
}



static uint64_t device_read(struct memory_map *map, const struct memory_region *r,
                            uint64_t offset, unsigned size)
{
    uint64_t v;

    if (!r->ops->read)
        return size_mask(size);
    if (map->device_lock)
        g_mutex_lock(map->device_lock);
    v = r->ops->read(r->opaque, offset, size);
    if (map->device_lock)
        g_mutex_unlock(map->device_lock);
    return v & size_mask(size);
}

static void device_write(struct memory_map *map, const struct memory_region *r,
                         uint64_t offset, uint64_t value, unsigned size)
{
    if (!r->ops->write)
        return;
    if (map->device_lock)
        g_mutex_lock(map->device_lock);
    r->ops->write(r->opaque, offset, value & size_mask(size), size);
    if (map->device_lock)
        g_mutex_unlock(map->device_lock);
}

static bool valid_size(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

/* An access straddling regions (or the limit) is split into bytes. */
static bool read_split(struct memory_map *map, uint64_t addr, unsigned size,
                       uint64_t *value)
{
    bool any = false;

    *value = 0;
    for (unsigned i = 0; i < size; i++) {
        uint64_t byte;

        any |= memory_map_dispatch_read(map, addr + i, 1, &byte);
        *value |= (byte & 0xff) << (8 * i);
    }
    return any;
}

bool memory_map_dispatch_read(struct memory_map *map, uint64_t addr,
                              unsigned size, uint64_t *value)
{
    const struct memory_region *r;
    uint64_t offset;

    g_return_val_if_fail(valid_size(size), false);
    r = memory_map_lookup(map, addr);
    if (!r) {
        log_unassigned(map, "read", addr, size, 0);
        *value = size_mask(size);
        return false;
    }
    offset = addr - r->base;
    if (size > r->size - offset)
        return read_split(map, addr, size, value);
    if (r->kind == MEMORY_REGION_IO)
        *value = device_read(map, r, offset, size);
    else
        *value = memory_load_le(r->host + offset, size);
    return true;
}

bool memory_map_dispatch_write(struct memory_map *map, uint64_t addr,
                               unsigned size, uint64_t value)
{
    const struct memory_region *r;
    uint64_t offset;

    g_return_val_if_fail(valid_size(size), false);
    r = memory_map_lookup(map, addr);
    if (!r) {
        log_unassigned(map, "write", addr, size, value);
        return false;
    }
    offset = addr - r->base;
    if (size > r->size - offset) {
        for (unsigned i = 0; i < size; i++)
            memory_map_dispatch_write(map, addr + i, 1, value >> (8 * i));
        return true;
    }
    switch (r->kind) {
    case MEMORY_REGION_IO:
        device_write(map, r, offset, value, size);
        break;
    case MEMORY_REGION_RAM:
        memory_store_le(r->host + offset, value, size);
        break;
    case MEMORY_REGION_ROM:
        /* Real ROM ignores writes. */
        break;
    }
    return true;
}

/* Walk [addr, addr+length) region by region; all of it must be RAM/ROM. */
static int copy_range(struct memory_map *map, uint64_t addr, uint8_t *buf,
                      size_t length, bool to_guest, bool write_rom)
{
    uint64_t a = addr;
    size_t done = 0;

    /* First pass checks, so that nothing is copied on failure. */
    while (done < length) {
        const struct memory_region *r = memory_map_lookup(map, a);
        uint64_t chunk;

        if (!r || r->kind == MEMORY_REGION_IO ||
            (to_guest && r->kind == MEMORY_REGION_ROM && !write_rom))
            return -EFAULT;
        chunk = MIN((uint64_t)(length - done), r->base + r->size - a);
        done += chunk;
        a += chunk;
        if (a == 0 && done < length)
            return -EFAULT; /* wrapped around */
    }
    for (a = addr, done = 0; done < length;) {
        const struct memory_region *r = memory_map_lookup(map, a);
        uint64_t chunk = MIN((uint64_t)(length - done), r->base + r->size - a);

        if (to_guest)
            memcpy(r->host + (a - r->base), buf + done, chunk);
        else
            memcpy(buf + done, r->host + (a - r->base), chunk);
        done += chunk;
        a += chunk;
    }
    return 0;
}

int memory_map_read(struct memory_map *map, uint64_t addr, void *buf,
                    size_t length)
{
    return copy_range(map, addr, buf, length, false, false);
}

int memory_map_write(struct memory_map *map, uint64_t addr, const void *buf,
                     size_t length, bool write_rom)
{
    int r = copy_range(map, addr, (uint8_t *)buf, length, true, write_rom);

    if (r == 0)
        memory_map_note_write(map, addr, length);
    return r;
}

void memory_map_set_write_observer(struct memory_map *map,
                                   memory_write_observer_fn observer,
                                   void *opaque)
{
    g_mutex_lock(&map->change_lock);
    map->write_observer_opaque = opaque;
    g_atomic_pointer_set(&map->write_observer, observer);
    g_mutex_unlock(&map->change_lock);
}

void memory_map_note_write(struct memory_map *map, uint64_t addr,
                           uint64_t length)
{
    memory_write_observer_fn observer = g_atomic_pointer_get(&map->write_observer);

    if (observer && length)
        observer(map->write_observer_opaque, addr, length);
}

void *memory_map_host_pointer(struct memory_map *map, uint64_t addr,
                              size_t length)
{
    const struct memory_region *r = memory_map_lookup(map, addr);

    if (!r || r->kind == MEMORY_REGION_IO || length > r->size - (addr - r->base))
        return NULL;
    return r->host + (addr - r->base);
}
