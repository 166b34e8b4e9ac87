/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest physical memory map and port-I/O space: RAM, ROM and device (I/O)
 * regions; devices register regions, nothing else pokes at addresses.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t (*memory_read_fn)(void *opaque, uint64_t offset, unsigned size);
typedef void (*memory_write_fn)(void *opaque, uint64_t offset, uint64_t value,
                                unsigned size);

/* A little-endian value of @size bytes (1-8) in a byte buffer: guest memory,
 * register files, device configuration spaces. */
static inline uint64_t memory_load_le(const uint8_t *p, unsigned size)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline void memory_store_le(uint8_t *p, uint64_t v, unsigned size)
{
    for (unsigned i = 0; i < size; i++)
        p[i] = v >> (8 * i);
}

/* Callbacks of a device region; accesses are 1, 2, 4 or 8 bytes wide. */
struct memory_ops {
    memory_read_fn read;
    memory_write_fn write;
};

enum memory_region_kind {
    MEMORY_REGION_RAM,  /* guest-writable host memory */
    MEMORY_REGION_ROM,  /* host memory, guest writes are ignored */
    MEMORY_REGION_IO,   /* MMIO or port I/O with callbacks */
};

struct memory_region {
    char *name;
    enum memory_region_kind kind;
    uint64_t base;
    uint64_t size;
    uint8_t *host;                  /* RAM and ROM */
    const struct memory_ops *ops;   /* IO */
    void *opaque;                   /* IO */
};

struct memory_map;

/*
 * A map of addresses [0, limit). Device callbacks run with @device_lock held
 * (the machine-wide lock); NULL means no locking.
 */
struct memory_map *memory_map_new(const char *name, uint64_t limit,
                                  GMutex *device_lock);
void memory_map_free(struct memory_map *map);

/* Adding a region that overlaps another or passes the limit is refused. */
const struct memory_region *memory_map_add_ram(struct memory_map *map,
                                               const char *name, uint64_t base,
                                               uint64_t size, void *host,
                                               GError **error);
const struct memory_region *memory_map_add_rom(struct memory_map *map,
                                               const char *name, uint64_t base,
                                               uint64_t size, void *host,
                                               GError **error);
const struct memory_region *memory_map_add_io(struct memory_map *map,
                                              const char *name, uint64_t base,
                                              uint64_t size,
                                              const struct memory_ops *ops,
                                              void *opaque, GError **error);

/*
 * Take a region out (a PCI BAR moving, a device unplugged). Returns 0 or
 * -ENOENT. Lookups never block: a vCPU may finish an access to the old
 * layout while the change is published.
 */
int memory_map_remove(struct memory_map *map, const struct memory_region *region);

/* Told of every region added or removed after it is set (accelerators' slots). */
typedef void (*memory_listener_fn)(void *opaque, const struct memory_region *region,
                                   bool added);
void memory_map_set_listener(struct memory_map *map, memory_listener_fn listener,
                             void *opaque);

/* The region holding @addr, or NULL. Lock-free, from any thread. */
const struct memory_region *memory_map_lookup(const struct memory_map *map,
                                              uint64_t addr);
unsigned memory_map_region_count(const struct memory_map *map);
const struct memory_region *memory_map_region(const struct memory_map *map,
                                              unsigned index);

/*
 * One access of @size (1, 2, 4, 8) bytes, little-endian, as a CPU makes it:
 * RAM and ROM are read directly, device regions through their callbacks.
 * An access to nothing reads all ones, writes are dropped; both are logged
 * once per address. Returns false when nothing was there.
 */
bool memory_map_dispatch_read(struct memory_map *map, uint64_t addr,
                              unsigned size, uint64_t *value);
bool memory_map_dispatch_write(struct memory_map *map, uint64_t addr,
                               unsigned size, uint64_t value);

/*
 * Bulk copies for loaders and DMA. @write_rom lets loaders fill ROM.
 * Return 0, or -EFAULT when part of the range is not RAM/ROM (nothing is
 * copied then).
 */
int memory_map_read(struct memory_map *map, uint64_t addr, void *buf,
                    size_t length);
int memory_map_write(struct memory_map *map, uint64_t addr, const void *buf,
                     size_t length, bool write_rom);

/*
 * Guest memory was written by something other than a CPU (DMA, a loader):
 * accelerators that cache guest code (the JIT) must drop what they cached
 * there. memory_map_write reports itself; devices that write through a host
 * pointer call this afterwards. Any thread.
 */
typedef void (*memory_write_observer_fn)(void *opaque, uint64_t addr,
                                         uint64_t length);
void memory_map_set_write_observer(struct memory_map *map,
                                   memory_write_observer_fn observer,
                                   void *opaque);
void memory_map_note_write(struct memory_map *map, uint64_t addr,
                           uint64_t length);

/* Host pointer to [addr, addr+length) if it lies in one RAM/ROM region. */
void *memory_map_host_pointer(struct memory_map *map, uint64_t addr,
                              size_t length);

/* How many distinct unassigned accesses were logged (for tests). */
unsigned memory_map_unassigned_count(const struct memory_map *map);
