/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for virtio-blk over PCI: the test plays the guest driver on a
 * hand-built machine (legacy I/O BAR and modern capabilities), checks data
 * against the raw image, and feeds the device nonsense rings.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "engine/machine.h"
#include "engine/memory.h"
#include "fake-machine.h"
#include "hw/device.h"
#include "hw/pci/pci.h"
#include "hw/virtio/virtio-blk.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/virtio/virtqueue.h"
#include "storage/block.h"

#define RAM_SIZE (16u << 20)
#define DISK_SIZE (4u << 20)
#define SLOT 4
#define DEVFN PCI_DEVFN(SLOT, 0)
#define GSI_BASE 16                     /* the fake router: PIRQ n -> GSI 16+n */
#define IRQ_GSI (GSI_BASE + SLOT % 4)   /* INTA of slot 4 */
#define LEGACY_BASE 0xc000
#define MODERN_BASE UINT64_C(0xfe000000)
#define NOWHERE UINT64_C(0x80000000)    /* neither RAM nor a device */

/* Guest memory the test driver uses. */
#define RING_BASE 0x10000
#define USED_BASE 0x18000               /* modern: device area on its own */
#define INDIRECT_BASE 0x20000
#define HEADER_ADDR 0x30000
#define STATUS_ADDR 0x30100
#define SEGMENTS_ADDR 0x30200
#define DATA_ADDR 0x100000
#define READBACK_ADDR 0x300000

/* Common configuration offsets (virtio 1.2 §4.1.4.3). */
enum {
    DFSELECT = 0x00, DF = 0x04, GFSELECT = 0x08, GF = 0x0c, NUMQ = 0x12,
    STATUS = 0x14, Q_SELECT = 0x16, Q_SIZE = 0x18, Q_MSIX = 0x1a,
    Q_ENABLE = 0x1c, Q_NOFF = 0x1e, Q_DESC = 0x20, Q_AVAIL = 0x28,
    Q_USED = 0x30,
};
/* Legacy registers (virtio 1.2 §4.1.4, legacy layout). */
enum {
    L_HOST_FEATURES = 0x00, L_GUEST_FEATURES = 0x04, L_PFN = 0x08,
    L_QSIZE = 0x0c, L_QSEL = 0x0e, L_NOTIFY = 0x10, L_STATUS = 0x12,
    L_ISR = 0x13, L_CONFIG = 0x14,
};

#define S_ACK VIRTIO_STATUS_ACKNOWLEDGE
#define S_DRIVER VIRTIO_STATUS_DRIVER
#define S_OK VIRTIO_STATUS_DRIVER_OK
#define S_FEATURES_OK VIRTIO_STATUS_FEATURES_OK
#define S_NEEDS_RESET VIRTIO_STATUS_NEEDS_RESET
#define BIT(n) (UINT64_C(1) << (n))

static int fake_route(void *opaque, int pirq)
{
    return GSI_BASE + pirq;
}

struct fixture {
    struct machine *m;
    struct pci_bus *bus;
    struct pci_device *dev;
    BlkImage *image;
    char *dir;
    char *path;
    /* The test driver's view of queue 0. */
    bool modern;
    uint16_t notify_off;
    uint16_t size;
    uint64_t desc, avail, used;
    uint16_t avail_idx;
    uint16_t used_idx;
    uint16_t next_desc;
};

enum { RW_DISK, READ_ONLY_DISK };

/* --- port, memory and configuration access --- */

static uint64_t map_read(struct memory_map *map, uint64_t addr, unsigned size)
{
    uint64_t v;

    memory_map_dispatch_read(map, addr, size, &v);
    return v;
}

/* CPU accesses: port I/O and memory-mapped I/O. */
#define in(f, port, size) map_read((f)->m->io, port, size)
#define out(f, port, size, v) memory_map_dispatch_write((f)->m->io, port, size, v)
#define mmio_read(f, addr, size) map_read((f)->m->memory, addr, size)
#define mmio_write(f, addr, size, v) \
    memory_map_dispatch_write((f)->m->memory, addr, size, v)

static uint32_t cfg_read(struct fixture *f, unsigned offset, unsigned size)
{
    out(f, 0xcf8, 4, 0x80000000u | DEVFN << 8 | (offset & 0xfc));
    return in(f, 0xcfc + (offset & 3), size);
}

static void cfg_write(struct fixture *f, unsigned offset, unsigned size,
                      uint32_t v)
{
    out(f, 0xcf8, 4, 0x80000000u | DEVFN << 8 | (offset & 0xfc));
    out(f, 0xcfc + (offset & 3), size, v);
}

static uint64_t common_read(struct fixture *f, unsigned offset, unsigned size)
{
    return mmio_read(f, MODERN_BASE + VIRTIO_PCI_COMMON_OFFSET + offset, size);
}

static void common_write(struct fixture *f, unsigned offset, unsigned size,
                         uint64_t v)
{
    mmio_write(f, MODERN_BASE + VIRTIO_PCI_COMMON_OFFSET + offset, size, v);
}

/* Guest memory, little-endian. */
static void put_le(struct fixture *f, uint64_t addr, uint64_t v, unsigned size)
{
    for (unsigned i = 0; i < size; i++)
        f->m->ram[addr + i] = v >> (8 * i);
}

static uint64_t get_le(struct fixture *f, uint64_t addr, unsigned size)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)f->m->ram[addr + i] << (8 * i);
    return v;
}

#define put16(f, a, v) put_le(f, a, v, 2)
#define put32(f, a, v) put_le(f, a, v, 4)
#define put64(f, a, v) put_le(f, a, v, 8)
#define get16(f, a) get_le(f, a, 2)
#define get32(f, a) get_le(f, a, 4)

/* What firmware does: place the BARs, enable decoding and bus mastering. */
static void program_bars(struct fixture *f)
{
    cfg_write(f, PCI_BASE_ADDRESS_0, 4, LEGACY_BASE);
    cfg_write(f, PCI_BASE_ADDRESS_0 + 16, 4, (uint32_t)MODERN_BASE);
    cfg_write(f, PCI_BASE_ADDRESS_0 + 20, 4, MODERN_BASE >> 32);
    cfg_write(f, PCI_COMMAND, 2,
              PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

/* --- fixture --- */

static void fixture_setup(struct fixture *f, gconstpointer data)
{
    bool read_only = GPOINTER_TO_INT(data) == READ_ONLY_DISK;
    struct machine *m = fake_machine_new(RAM_SIZE, FAKE_MACHINE_RAM_FLAT);
    g_autofree uint8_t *disk = g_malloc(DISK_SIZE);
    GError *error = NULL;

    f->m = m;
    f->bus = pci_bus_create(m, &error);
    g_assert_no_error(error);
    pci_bus_set_router(f->bus, fake_route, NULL);

    f->dir = g_dir_make_tmp("mimic-test-virtio-XXXXXX", &error);
    g_assert_no_error(error);
    f->path = g_build_filename(f->dir, "disk.raw", NULL);
    for (unsigned i = 0; i < DISK_SIZE; i++)
        disk[i] = (i * 7 + i / 512) & 0xff;
    g_file_set_contents(f->path, (char *)disk, DISK_SIZE, &error);
    g_assert_no_error(error);
    g_assert_cmpint(blk_open(f->path, "raw", BLK_OPEN_READ_WRITE, &f->image,
                             &error), ==, 0);
    g_assert_no_error(error);

    f->dev = virtio_blk_pci_create(f->bus, DEVFN, f->image, read_only, "test",
                                   &error);
    g_assert_no_error(error);
    g_assert_nonnull(f->dev);
    program_bars(f);
}

static void fixture_teardown(struct fixture *f, gconstpointer data)
{
    fake_machine_free(f->m);
    blk_close(f->image);
    g_unlink(f->path);
    g_rmdir(f->dir);
    g_free(f->path);
    g_free(f->dir);
}

/* --- the test driver --- */

static uint8_t device_status(struct fixture *f)
{
    return f->modern ? common_read(f, STATUS, 1) : in(f, LEGACY_BASE + L_STATUS, 1);
}

static uint8_t read_isr(struct fixture *f)
{
    return f->modern ? mmio_read(f, MODERN_BASE + VIRTIO_PCI_ISR_OFFSET, 1) :
                       in(f, LEGACY_BASE + L_ISR, 1);
}

static void reset_driver_state(struct fixture *f)
{
    memset(f->m->ram + RING_BASE, 0, 0x10000);
    f->avail_idx = f->used_idx = f->next_desc = 0;
}

/* Legacy initialization (virtio 1.2 §3.1.2) with @wanted features. */
static uint32_t legacy_init(struct fixture *f, uint32_t wanted)
{
    uint32_t features;

    f->modern = false;
    out(f, LEGACY_BASE + L_STATUS, 1, 0);
    out(f, LEGACY_BASE + L_STATUS, 1, S_ACK);
    out(f, LEGACY_BASE + L_STATUS, 1, S_ACK | S_DRIVER);
    features = in(f, LEGACY_BASE + L_HOST_FEATURES, 4) & wanted;
    out(f, LEGACY_BASE + L_GUEST_FEATURES, 4, features);
    out(f, LEGACY_BASE + L_QSEL, 2, 0);
    f->size = in(f, LEGACY_BASE + L_QSIZE, 2);
    g_assert_cmpuint(f->size, ==, VIRTIO_BLK_QUEUE_SIZE);
    reset_driver_state(f);
    /* One block: table, available ring, used ring on the next 4 KiB (§2.7.2). */
    f->desc = RING_BASE;
    f->avail = f->desc + 16 * f->size;
    f->used = (f->avail + 6 + 2 * f->size + 4095) & ~UINT64_C(4095);
    out(f, LEGACY_BASE + L_PFN, 4, RING_BASE >> 12);
    g_assert_cmpuint(in(f, LEGACY_BASE + L_PFN, 4), ==, RING_BASE >> 12);
    out(f, LEGACY_BASE + L_STATUS, 1, S_ACK | S_DRIVER | S_OK);
    return features;
}

static void modern_features(struct fixture *f, uint64_t features)
{
    common_write(f, GFSELECT, 4, 0);
    common_write(f, GF, 4, (uint32_t)features);
    common_write(f, GFSELECT, 4, 1);
    common_write(f, GF, 4, features >> 32);
}

static uint64_t device_features(struct fixture *f)
{
    uint64_t features;

    common_write(f, DFSELECT, 4, 0);
    features = common_read(f, DF, 4);
    common_write(f, DFSELECT, 4, 1);
    features |= common_read(f, DF, 4) << 32;
    return features;
}

/* Modern initialization (virtio 1.2 §3.1.1): a queue of @size entries. */
static uint64_t modern_init(struct fixture *f, uint64_t wanted, uint16_t size)
{
    uint64_t features;

    f->modern = true;
    common_write(f, STATUS, 1, 0);
    g_assert_cmpuint(common_read(f, STATUS, 1), ==, 0);
    common_write(f, STATUS, 1, S_ACK);
    common_write(f, STATUS, 1, S_ACK | S_DRIVER);
    features = device_features(f) & wanted;
    modern_features(f, features);
    common_write(f, STATUS, 1, S_ACK | S_DRIVER | S_FEATURES_OK);
    g_assert_cmpuint(common_read(f, STATUS, 1), ==, S_ACK | S_DRIVER | S_FEATURES_OK);
    common_write(f, Q_SELECT, 2, 0);
    g_assert_cmpuint(common_read(f, Q_SIZE, 2), ==, VIRTIO_BLK_QUEUE_SIZE);
    common_write(f, Q_SIZE, 2, size);
    f->size = size;
    reset_driver_state(f);
    f->desc = RING_BASE;
    f->avail = RING_BASE + 16 * (uint64_t)size;
    f->used = USED_BASE;
    common_write(f, Q_DESC, 4, (uint32_t)f->desc);
    common_write(f, Q_DESC + 4, 4, f->desc >> 32);
    common_write(f, Q_AVAIL, 4, (uint32_t)f->avail);
    common_write(f, Q_AVAIL + 4, 4, f->avail >> 32);
    common_write(f, Q_USED, 4, (uint32_t)f->used);
    common_write(f, Q_USED + 4, 4, f->used >> 32);
    f->notify_off = common_read(f, Q_NOFF, 2);
    common_write(f, Q_ENABLE, 2, 1);
    common_write(f, STATUS, 1, S_ACK | S_DRIVER | S_FEATURES_OK | S_OK);
    return features;
}

static void notify(struct fixture *f, uint16_t queue)
{
    if (f->modern)
        mmio_write(f, MODERN_BASE + VIRTIO_PCI_NOTIFY_OFFSET +
                   f->notify_off * VIRTIO_PCI_NOTIFY_MULTIPLIER, 2, queue);
    else
        out(f, LEGACY_BASE + L_NOTIFY, 2, queue);
}

struct buf {
    uint64_t addr;
    uint32_t length;
    bool write;
};

static void put_desc(struct fixture *f, uint64_t table, unsigned index,
                     uint64_t addr, uint32_t length, uint16_t flags,
                     uint16_t next)
{
    uint64_t d = table + 16 * (uint64_t)index;

    put64(f, d, addr);
    put32(f, d + 8, length);
    put16(f, d + 12, flags);
    put16(f, d + 14, next);
}

/* Make @head available and notify. */
static void make_available(struct fixture *f, uint16_t head)
{
    put16(f, f->avail + 4 + 2 * (f->avail_idx % f->size), head);
    f->avail_idx++;
    put16(f, f->avail + 2, f->avail_idx);
    notify(f, 0);
}

/* Put a chain in the table (or an indirect table) and make it available. */
static uint16_t submit(struct fixture *f, const struct buf *bufs, unsigned n,
                       bool indirect)
{
    uint16_t head = f->next_desc;

    if (indirect) {
        for (unsigned i = 0; i < n; i++)
            put_desc(f, INDIRECT_BASE, i, bufs[i].addr, bufs[i].length,
                     (bufs[i].write ? VIRTQ_DESC_F_WRITE : 0) |
                     (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0), i + 1);
        put_desc(f, f->desc, head, INDIRECT_BASE, 16 * n,
                 VIRTQ_DESC_F_INDIRECT, 0);
        f->next_desc = (head + 1) % f->size;
    } else {
        for (unsigned i = 0; i < n; i++)
            put_desc(f, f->desc, (head + i) % f->size, bufs[i].addr,
                     bufs[i].length,
                     (bufs[i].write ? VIRTQ_DESC_F_WRITE : 0) |
                     (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0),
                     (head + i + 1) % f->size);
        f->next_desc = (head + n) % f->size;
    }
    make_available(f, head);
    return head;
}

/* The device used one more buffer, @head: the bytes it says it wrote. */
static uint32_t take_used(struct fixture *f, uint16_t head)
{
    uint64_t entry = f->used + 4 + 8 * (f->used_idx % f->size);

    f->used_idx++;
    g_assert_cmpuint(get16(f, f->used + 2), ==, f->used_idx);
    g_assert_cmpuint(get32(f, entry), ==, head);
    return get32(f, entry + 4);
}

/* A virtio-blk request: header, optional data, status (§5.2.6). */
static uint8_t request(struct fixture *f, uint32_t type, uint64_t sector,
                       uint64_t data, uint32_t length, bool data_written,
                       bool indirect, uint32_t *used_length)
{
    struct buf bufs[3];
    unsigned n = 0;
    uint32_t written;

    put32(f, HEADER_ADDR, type);
    put32(f, HEADER_ADDR + 4, 0);
    put64(f, HEADER_ADDR + 8, sector);
    f->m->ram[STATUS_ADDR] = 0xff;
    bufs[n++] = (struct buf){ HEADER_ADDR, 16, false };
    if (length)
        bufs[n++] = (struct buf){ data, length, data_written };
    bufs[n++] = (struct buf){ STATUS_ADDR, 1, true };
    written = take_used(f, submit(f, bufs, n, indirect));
    if (used_length)
        *used_length = written;
    return f->m->ram[STATUS_ADDR];
}

/* A flush that succeeds. */
static void flush(struct fixture *f)
{
    g_assert_cmpuint(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, false,
                             NULL), ==, VIRTIO_BLK_S_OK);
}

static void fill(struct fixture *f, uint64_t addr, size_t length, unsigned seed)
{
    for (size_t i = 0; i < length; i++)
        f->m->ram[addr + i] = (i * 13 + seed) & 0xff;
}

/* The image holds what guest memory at @addr holds. */
static void expect_disk(struct fixture *f, uint64_t sector, uint64_t addr,
                        size_t length)
{
    g_autofree uint8_t *buf = g_malloc(length);

    g_assert_cmpint(blk_read(f->image, sector * 512, buf, length), ==, 0);
    g_assert_cmpmem(buf, length, f->m->ram + addr, length);
}

static void expect_irq(struct fixture *f, uint8_t isr)
{
    g_assert_cmpint(fake_machine_irq_level(f->m, IRQ_GSI), ==, isr != 0);
    g_assert_cmpuint(read_isr(f), ==, isr);
    /* Reading cleared the register and lowered the line. */
    g_assert_false(fake_machine_irq_level(f->m, IRQ_GSI));
    g_assert_cmpuint(read_isr(f), ==, 0);
}

/* --- PCI function --- */

static void test_pci_header(struct fixture *f, gconstpointer data)
{
    unsigned cap, seen = 0, window = 0;

    g_assert_cmphex(cfg_read(f, PCI_VENDOR_ID, 2), ==, 0x1af4);
    g_assert_cmphex(cfg_read(f, PCI_DEVICE_ID, 2), ==, 0x1001);
    g_assert_cmphex(cfg_read(f, PCI_REVISION_ID, 1), ==, 0);
    g_assert_cmphex(cfg_read(f, PCI_SUBSYSTEM_VENDOR_ID, 2), ==, 0x1af4);
    g_assert_cmphex(cfg_read(f, PCI_SUBSYSTEM_ID, 2), ==, VIRTIO_BLK_DEVICE_ID);
    g_assert_cmphex(cfg_read(f, PCI_CLASS_PROG + 1, 2), ==, 0x0100);
    g_assert_cmphex(cfg_read(f, PCI_INTERRUPT_PIN, 1), ==, 1);
    g_assert_cmphex(cfg_read(f, PCI_STATUS, 2) & 0x10, ==, 0x10);

    /* The vendor capabilities (§4.1.4): all five, pointing into BAR 4. */
    for (cap = cfg_read(f, PCI_CAPABILITY_LIST, 1); cap;
         cap = cfg_read(f, cap + 1, 1)) {
        static const uint32_t where[] = {
            [1] = VIRTIO_PCI_COMMON_OFFSET, [2] = VIRTIO_PCI_NOTIFY_OFFSET,
            [3] = VIRTIO_PCI_ISR_OFFSET, [4] = VIRTIO_PCI_DEVICE_OFFSET,
        };
        static const uint32_t length[] = { [1] = 0x3c, [2] = 4, [3] = 1,
                                           [4] = VIRTIO_BLK_CONFIG_SIZE };
        unsigned type = cfg_read(f, cap + 3, 1);

        g_assert_cmpuint(cap, >=, 0x40);
        g_assert_cmphex(cfg_read(f, cap, 1), ==, 0x09);
        g_assert_cmpuint(type, >=, 1);
        g_assert_cmpuint(type, <=, 5);
        seen |= 1u << type;
        if (type == 5) {
            window = cap;
            continue;
        }
        g_assert_cmpuint(cfg_read(f, cap + 4, 1), ==, 4);
        g_assert_cmphex(cfg_read(f, cap + 8, 4), ==, where[type]);
        g_assert_cmpuint(cfg_read(f, cap + 12, 4), ==, length[type]);
        /* notify_off_multiplier */
        if (type == 2)
            g_assert_cmpuint(cfg_read(f, cap + 16, 4), ==, 4);
    }
    g_assert_cmphex(seen, ==, 0x3e);

    /* BAR sizing: 128 bytes of I/O, 16 KiB of 64-bit memory. */
    cfg_write(f, PCI_COMMAND, 2, 0);
    cfg_write(f, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
    g_assert_cmphex(cfg_read(f, PCI_BASE_ADDRESS_0, 4), ==, 0xffffff81);
    cfg_write(f, PCI_BASE_ADDRESS_0 + 16, 4, 0xffffffff);
    g_assert_cmphex(cfg_read(f, PCI_BASE_ADDRESS_0 + 16, 4), ==, 0xffffc004);
    cfg_write(f, PCI_BASE_ADDRESS_0, 4, LEGACY_BASE);
    cfg_write(f, PCI_BASE_ADDRESS_0 + 16, 4, (uint32_t)MODERN_BASE);
    cfg_write(f, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
              PCI_COMMAND_MASTER);

    /* The configuration access window reaches BAR 4 (device features). */
    common_write(f, DFSELECT, 4, 1);
    cfg_write(f, window + 4, 1, 4);
    cfg_write(f, window + 8, 4, VIRTIO_PCI_COMMON_OFFSET + DF);
    cfg_write(f, window + 12, 4, 4);
    g_assert_cmphex(cfg_read(f, window + 16, 4), ==, 1);  /* VERSION_1 */
    cfg_write(f, window + 8, 4, VIRTIO_PCI_COMMON_OFFSET + STATUS);
    cfg_write(f, window + 12, 4, 1);
    cfg_write(f, window + 16, 1, S_ACK);
    g_assert_cmpuint(common_read(f, STATUS, 1), ==, S_ACK);
    /* A nonsense window is ignored. */
    cfg_write(f, window + 4, 1, 2);
    g_assert_cmphex(cfg_read(f, window + 16, 4), ==, 0);
    cfg_write(f, window + 16, 4, 0);
    g_assert_cmpuint(common_read(f, STATUS, 1), ==, S_ACK);
}

static void test_config_space(struct fixture *f, gconstpointer data)
{
    uint64_t d = MODERN_BASE + VIRTIO_PCI_DEVICE_OFFSET;
    uint64_t features = device_features(f);

    g_assert_cmphex(features, ==, BIT(VIRTIO_F_VERSION_1) |
                    BIT(VIRTIO_F_INDIRECT_DESC) | BIT(VIRTIO_F_EVENT_IDX) |
                    BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_BLK_SIZE) |
                    BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_TOPOLOGY) |
                    BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES));
    g_assert_cmpuint(common_read(f, NUMQ, 2), ==, 1);
    g_assert_cmphex(common_read(f, Q_MSIX, 2), ==, 0xffff);

    g_assert_cmpuint(mmio_read(f, d + 0, 4), ==, DISK_SIZE / 512);
    g_assert_cmpuint(mmio_read(f, d + 4, 4), ==, 0);
    g_assert_cmpuint(mmio_read(f, d + 12, 4), ==, VIRTIO_BLK_SEG_MAX);
    g_assert_cmpuint(mmio_read(f, d + 20, 4), ==, 512);
    g_assert_cmpuint(mmio_read(f, d + 36, 4), ==, VIRTIO_BLK_MAX_DISCARD_SECTORS);
    g_assert_cmpuint(mmio_read(f, d + 40, 4), ==, VIRTIO_BLK_MAX_DISCARD_SEG);
    g_assert_cmpuint(mmio_read(f, d + 52, 4), ==, VIRTIO_BLK_MAX_DISCARD_SEG);
    /* The same bytes through the legacy BAR, byte by byte as Linux reads. */
    for (unsigned i = 0; i < VIRTIO_BLK_CONFIG_SIZE; i++)
        g_assert_cmphex(in(f, LEGACY_BASE + L_CONFIG + i, 1), ==,
                        mmio_read(f, d + i, 1));
    /* Legacy features: the low 32 bits only. */
    g_assert_cmphex(in(f, LEGACY_BASE + L_HOST_FEATURES, 4), ==, (uint32_t)features);
}

/* --- requests --- */

static void exercise_requests(struct fixture *f, bool indirect)
{
    uint32_t used_length;
    char id[VIRTIO_BLK_ID_BYTES + 4];

    /* Write 8 sectors at sector 100, read them back elsewhere. */
    fill(f, DATA_ADDR, 4096, 1);
    g_assert_cmpuint(request(f, VIRTIO_BLK_T_OUT, 100, DATA_ADDR, 4096, false,
                             indirect, &used_length), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(used_length, ==, 1);
    expect_disk(f, 100, DATA_ADDR, 4096);
    memset(f->m->ram + READBACK_ADDR, 0xee, 8192);
    g_assert_cmpuint(request(f, VIRTIO_BLK_T_IN, 100, READBACK_ADDR, 4096, true,
                             indirect, &used_length), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(used_length, ==, 4097);
    g_assert_cmpmem(f->m->ram + READBACK_ADDR, 4096, f->m->ram + DATA_ADDR, 4096);
    g_assert_cmphex(f->m->ram[READBACK_ADDR + 4096], ==, 0xee);
    /* Untouched sectors still hold the image's pattern. */
    g_assert_cmpuint(request(f, VIRTIO_BLK_T_IN, 7, READBACK_ADDR, 1024, true,
                             indirect, NULL), ==, VIRTIO_BLK_S_OK);
    expect_disk(f, 7, READBACK_ADDR, 1024);

    g_assert_cmpuint(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, indirect,
                             &used_length), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(used_length, ==, 1);

    memset(f->m->ram + READBACK_ADDR, 0xee, 64);
    g_assert_cmpuint(request(f, VIRTIO_BLK_T_GET_ID, 0, READBACK_ADDR, 20, true,
                             indirect, &used_length), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(used_length, ==, 21);
    memset(id, 0, sizeof(id));
    memcpy(id, "MIMIC-test", 10);
    g_assert_cmpmem(f->m->ram + READBACK_ADDR, 20, id, 20);

    /* The last sector works, one past it does not; neither does a partial one. */
    g_assert_cmpuint(request(f, VIRTIO_BLK_T_IN, DISK_SIZE / 512 - 1,
                             READBACK_ADDR, 512, true, indirect, NULL), ==,
                     VIRTIO_BLK_S_OK);
    g_assert_cmpuint(request(f, VIRTIO_BLK_T_IN, DISK_SIZE / 512 - 1,
                             READBACK_ADDR, 1024, true, indirect, NULL), ==,
                     VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(request(f, VIRTIO_BLK_T_OUT, UINT64_MAX / 2, DATA_ADDR, 512,
                             false, indirect, NULL), ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(request(f, VIRTIO_BLK_T_OUT, 3, DATA_ADDR, 100, false,
                             indirect, NULL), ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(request(f, 0x77, 0, 0, 0, false, indirect, NULL), ==,
                     VIRTIO_BLK_S_UNSUPP);
}

static void test_legacy_requests(struct fixture *f, gconstpointer data)
{
    /* Without event idx, so that every used buffer interrupts. */
    uint32_t features = legacy_init(f, UINT32_MAX & ~BIT(VIRTIO_F_EVENT_IDX));

    g_assert_true(features & BIT(VIRTIO_BLK_F_FLUSH));
    g_assert_true(features & BIT(VIRTIO_F_INDIRECT_DESC));
    exercise_requests(f, false);
    /* Every request interrupted; the ISR says "queue" and clears on read. */
    expect_irq(f, VIRTIO_ISR_QUEUE);
    exercise_requests(f, true);
    expect_irq(f, VIRTIO_ISR_QUEUE);
}

static void test_modern_requests(struct fixture *f, gconstpointer data)
{
    modern_init(f, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_INDIRECT_DESC) |
                BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_DISCARD) |
                BIT(VIRTIO_BLK_F_WRITE_ZEROES), 64);
    g_assert_cmpuint(common_read(f, Q_ENABLE, 2), ==, 1);
    g_assert_cmpuint(common_read(f, Q_SIZE, 2), ==, 64);
    exercise_requests(f, false);
    exercise_requests(f, true);
    expect_irq(f, VIRTIO_ISR_QUEUE);

    /* Enough requests to wrap the 64-entry rings several times. */
    for (unsigned i = 0; i < 200; i++) {
        fill(f, DATA_ADDR, 512, i);
        g_assert_cmpuint(request(f, VIRTIO_BLK_T_OUT, 2000 + i % 16, DATA_ADDR,
                                 512, false, i & 1, NULL), ==, VIRTIO_BLK_S_OK);
        expect_disk(f, 2000 + i % 16, DATA_ADDR, 512);
    }
}

/* A request whose data is split over many small buffers (and the copy path). */
static void test_scattered(struct fixture *f, gconstpointer data)
{
    struct buf bufs[34];

    modern_init(f, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_INDIRECT_DESC), 256);
    fill(f, DATA_ADDR, 32 * 512, 9);
    put32(f, HEADER_ADDR, VIRTIO_BLK_T_OUT);
    put64(f, HEADER_ADDR + 8, 300);
    bufs[0] = (struct buf){ HEADER_ADDR, 16, false };
    for (unsigned i = 0; i < 32; i++)   /* backwards in memory */
        bufs[1 + i] = (struct buf){ DATA_ADDR + (31 - i) * 512, 512, false };
    bufs[33] = (struct buf){ STATUS_ADDR, 1, true };
    g_assert_cmpuint(take_used(f, submit(f, bufs, 34, false)), ==, 1);
    g_assert_cmpuint(f->m->ram[STATUS_ADDR], ==, VIRTIO_BLK_S_OK);
    for (unsigned i = 0; i < 32; i++)
        expect_disk(f, 300 + i, DATA_ADDR + (31 - i) * 512, 512);

    /* Read it back in 3-byte-odd pieces, status sharing the last buffer. */
    put32(f, HEADER_ADDR, VIRTIO_BLK_T_IN);
    memset(f->m->ram + READBACK_ADDR, 0, 32 * 512 + 1);
    bufs[1] = (struct buf){ READBACK_ADDR, 1000, true };
    bufs[2] = (struct buf){ READBACK_ADDR + 1000, 3, true };
    bufs[3] = (struct buf){ READBACK_ADDR + 1003, 32 * 512 + 1 - 1003, true };
    g_assert_cmpuint(take_used(f, submit(f, bufs, 4, true)), ==, 32 * 512 + 1);
    g_assert_cmpuint(f->m->ram[READBACK_ADDR + 32 * 512], ==, VIRTIO_BLK_S_OK);
    expect_disk(f, 300, READBACK_ADDR, 32 * 512);
}

static void put_segment(struct fixture *f, unsigned i, uint64_t sector,
                        uint32_t sectors, uint32_t flags)
{
    put64(f, SEGMENTS_ADDR + 16 * i, sector);
    put32(f, SEGMENTS_ADDR + 16 * i + 8, sectors);
    put32(f, SEGMENTS_ADDR + 16 * i + 12, flags);
}

static uint8_t ranges(struct fixture *f, uint32_t type, uint32_t bytes)
{
    return request(f, type, 0, SEGMENTS_ADDR, bytes, false, false, NULL);
}

static void test_discard_write_zeroes(struct fixture *f, gconstpointer data)
{
    modern_init(f, UINT64_MAX, 128);

    put_segment(f, 0, 16, 16, 0);
    put_segment(f, 1, 64, 8, 0);
    g_assert_cmpuint(ranges(f, VIRTIO_BLK_T_DISCARD, 32), ==, VIRTIO_BLK_S_OK);
    /* Unmap is for write zeroes only; unknown flags are refused. */
    put_segment(f, 0, 16, 16, 1);
    g_assert_cmpuint(ranges(f, VIRTIO_BLK_T_DISCARD, 16), ==, VIRTIO_BLK_S_UNSUPP);
    put_segment(f, 0, 16, 16, 2);
    g_assert_cmpuint(ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, 16), ==, VIRTIO_BLK_S_UNSUPP);
    /* Out of range or malformed lists fail, and change nothing. */
    put_segment(f, 0, 200, 4, 0);
    put_segment(f, 1, DISK_SIZE / 512 - 1, 2, 0);
    fill(f, READBACK_ADDR, 2048, 0);
    g_assert_cmpint(blk_read(f->image, 200 * 512, f->m->ram + READBACK_ADDR, 2048),
                    ==, 0);
    g_assert_cmpuint(ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, 32), ==, VIRTIO_BLK_S_IOERR);
    expect_disk(f, 200, READBACK_ADDR, 2048);
    g_assert_cmpuint(ranges(f, VIRTIO_BLK_T_DISCARD, 20), ==, VIRTIO_BLK_S_IOERR);

    /* Write zeroes, with and without unmap: reads return zeroes. */
    put_segment(f, 0, 200, 4, 0);
    put_segment(f, 1, 210, 3, 1);
    g_assert_cmpuint(ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, 32), ==, VIRTIO_BLK_S_OK);
    memset(f->m->ram + DATA_ADDR, 0, 4 * 512);
    expect_disk(f, 200, DATA_ADDR, 4 * 512);
    expect_disk(f, 210, DATA_ADDR, 3 * 512);
    /* The sectors around were left alone. */
    g_assert_cmpint(blk_read(f->image, 204 * 512, f->m->ram + READBACK_ADDR, 512),
                    ==, 0);
    g_assert_cmpuint(f->m->ram[READBACK_ADDR + 1], ==, ((204 * 512 + 1) * 7 + 204) & 0xff);
}

static void test_read_only(struct fixture *f, gconstpointer data)
{
    uint64_t features = modern_init(f, UINT64_MAX, 256);

    g_assert_true(features & BIT(VIRTIO_BLK_F_RO));
    g_assert_false(features & BIT(VIRTIO_BLK_F_DISCARD));
    fill(f, DATA_ADDR, 1024, 3);
    g_assert_cmpint(blk_read(f->image, 0, f->m->ram + READBACK_ADDR, 1024), ==, 0);
    g_assert_cmpuint(request(f, VIRTIO_BLK_T_OUT, 0, DATA_ADDR, 1024, false,
                             false, NULL), ==, VIRTIO_BLK_S_IOERR);
    expect_disk(f, 0, READBACK_ADDR, 1024);
    put_segment(f, 0, 0, 2, 0);
    g_assert_cmpuint(ranges(f, VIRTIO_BLK_T_WRITE_ZEROES, 16), ==, VIRTIO_BLK_S_UNSUPP);
    expect_disk(f, 0, READBACK_ADDR, 1024);
    g_assert_cmpuint(request(f, VIRTIO_BLK_T_IN, 0, DATA_ADDR, 1024, true,
                             false, NULL), ==, VIRTIO_BLK_S_OK);
    flush(f);
}

/* --- negotiation and notification suppression --- */

static void test_features(struct fixture *f, gconstpointer data)
{
    f->modern = true;
    common_write(f, STATUS, 1, S_ACK | S_DRIVER);
    /* Without VERSION_1 the modern interface refuses FEATURES_OK. */
    modern_features(f, BIT(VIRTIO_BLK_F_FLUSH));
    common_write(f, STATUS, 1, S_ACK | S_DRIVER | S_FEATURES_OK);
    g_assert_cmpuint(common_read(f, STATUS, 1), ==, S_ACK | S_DRIVER);
    /* Nor features the device did not offer. */
    modern_features(f, BIT(VIRTIO_F_VERSION_1) | BIT(50));
    common_write(f, STATUS, 1, S_ACK | S_DRIVER | S_FEATURES_OK);
    g_assert_cmpuint(common_read(f, STATUS, 1), ==, S_ACK | S_DRIVER);
    modern_features(f, BIT(VIRTIO_F_VERSION_1));
    common_write(f, STATUS, 1, S_ACK | S_DRIVER | S_FEATURES_OK);
    g_assert_cmpuint(common_read(f, STATUS, 1), ==, S_ACK | S_DRIVER | S_FEATURES_OK);
    /* Once accepted, they stay as they are. */
    common_write(f, GFSELECT, 4, 0);
    common_write(f, GF, 4, 0xffffffff);
    g_assert_cmphex(common_read(f, GF, 4), ==, 0);
    /* A reset clears everything. */
    common_write(f, STATUS, 1, 0);
    g_assert_cmpuint(common_read(f, STATUS, 1), ==, 0);
    common_write(f, GFSELECT, 4, 1);
    g_assert_cmphex(common_read(f, GF, 4), ==, 0);
    /* A notification before DRIVER_OK is ignored; queue 7 does not exist. */
    notify(f, 0);
    f->notify_off = 7;
    notify(f, 7);
    out(f, LEGACY_BASE + L_NOTIFY, 2, 7);
    g_assert_cmpuint(common_read(f, STATUS, 1), ==, 0);
}

static void test_event_idx(struct fixture *f, gconstpointer data)
{
    uint64_t used_event, avail_event;

    modern_init(f, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_EVENT_IDX), 16);
    used_event = f->avail + 4 + 2 * f->size;
    avail_event = f->used + 4 + 8 * f->size;

    /* The first used buffer always interrupts. */
    flush(f);
    expect_irq(f, VIRTIO_ISR_QUEUE);
    /* The device asks to be notified from the next available entry on. */
    g_assert_cmpuint(get16(f, avail_event), ==, f->avail_idx);

    /* used_event ahead: no interrupt for the next two buffers... */
    put16(f, used_event, f->used_idx + 2);
    for (unsigned i = 0; i < 2; i++) {
        flush(f);
        expect_irq(f, 0);
    }
    /* ... and one when the device writes entry used_event. */
    flush(f);
    expect_irq(f, VIRTIO_ISR_QUEUE);
    g_assert_cmpuint(get16(f, avail_event), ==, f->avail_idx);

    /* Across the 16-bit wrap of the indices: every third buffer interrupts. */
    for (unsigned i = 0; i < 70000; i++) {
        if (i % 3 == 0)
            put16(f, used_event, f->used_idx + 2);
        g_assert_cmpuint(request(f, VIRTIO_BLK_T_GET_ID, 0, READBACK_ADDR, 20,
                                 true, false, NULL), ==, VIRTIO_BLK_S_OK);
        if (fake_machine_irq_level(f->m, IRQ_GSI) != (i % 3 == 2))
            g_error("used index %u: interrupt %s", f->used_idx,
                    fake_machine_irq_level(f->m, IRQ_GSI) ? "raised" : "missing");
        if (i % 3 == 2)
            read_isr(f);
    }
    g_assert_cmpuint(get16(f, avail_event), ==, f->avail_idx);
}

static void test_no_interrupt_flag(struct fixture *f, gconstpointer data)
{
    legacy_init(f, BIT(VIRTIO_BLK_F_FLUSH));
    put16(f, f->avail, VIRTQ_AVAIL_F_NO_INTERRUPT);
    flush(f);
    expect_irq(f, 0);
    /* Notifications are allowed again once the device is idle. */
    g_assert_cmpuint(get16(f, f->used) & VIRTQ_USED_F_NO_NOTIFY, ==, 0);
    put16(f, f->avail, 0);
    flush(f);
    expect_irq(f, VIRTIO_ISR_QUEUE);
}

static void test_machine_reset(struct fixture *f, gconstpointer data)
{
    modern_init(f, UINT64_MAX, 32);
    flush(f);
    g_assert_true(fake_machine_irq_level(f->m, IRQ_GSI));
    g_mutex_lock(&f->m->device_lock);
    f->dev->dev.cls->reset(&f->dev->dev);
    g_mutex_unlock(&f->m->device_lock);
    g_assert_false(fake_machine_irq_level(f->m, IRQ_GSI));
    /* BARs are off until firmware programs them again. */
    g_assert_cmphex(cfg_read(f, PCI_COMMAND, 2), ==, 0);
    g_assert_cmphex(cfg_read(f, PCI_BASE_ADDRESS_0, 4), ==, 1);
    program_bars(f);
    g_assert_cmpuint(common_read(f, STATUS, 1), ==, 0);
    g_assert_cmpuint(common_read(f, Q_ENABLE, 2), ==, 0);
    g_assert_cmpuint(common_read(f, Q_SIZE, 2), ==, VIRTIO_BLK_QUEUE_SIZE);
    g_assert_cmphex(cfg_read(f, PCI_CAPABILITY_LIST, 1), ==, 0x40);
    modern_init(f, UINT64_MAX, 32);
    exercise_requests(f, false);
}

/* --- nonsense from the guest --- */

/* The device gave up: DEVICE_NEEDS_RESET, a configuration interrupt, no use. */
static void expect_broken(struct fixture *f)
{
    uint16_t used = get16(f, f->used + 2);

    g_assert_cmphex(device_status(f) & S_NEEDS_RESET, ==, S_NEEDS_RESET);
    g_assert_true(fake_machine_irq_level(f->m, IRQ_GSI));
    g_assert_cmphex(read_isr(f) & VIRTIO_ISR_CONFIG, ==, VIRTIO_ISR_CONFIG);
    /* Nothing more happens until a reset, however often it is poked. */
    notify(f, 0);
    notify(f, 0);
    g_assert_cmpuint(get16(f, f->used + 2), ==, used);
    g_assert_cmphex(device_status(f) & S_NEEDS_RESET, ==, S_NEEDS_RESET);
}

/* Reset and check that the device works again. */
static void expect_recovers(struct fixture *f, bool modern)
{
    if (modern)
        modern_init(f, UINT64_MAX, 64);
    else
        legacy_init(f, UINT32_MAX);
    g_assert_cmphex(device_status(f) & S_NEEDS_RESET, ==, 0);
    fill(f, DATA_ADDR, 512, 77);
    g_assert_cmpuint(request(f, VIRTIO_BLK_T_OUT, 5, DATA_ADDR, 512, false,
                             false, NULL), ==, VIRTIO_BLK_S_OK);
    expect_disk(f, 5, DATA_ADDR, 512);
    read_isr(f);
}

#define W VIRTQ_DESC_F_WRITE
#define N VIRTQ_DESC_F_NEXT
#define I VIRTQ_DESC_F_INDIRECT

struct raw_desc {
    uint64_t addr;
    uint32_t length;
    uint16_t flags;
    uint16_t next;
};

/* Chains that break the rules of virtio 1.2 §2.7.5 - §2.7.6, one each. */
static const struct {
    const char *name;
    struct raw_desc desc[3];        /* descriptors 0-2 of the table */
    struct raw_desc table[2];       /* an indirect table at INDIRECT_BASE */
    uint16_t head;
    bool jump;                      /* avail idx moves past the ring size */
    uint64_t unwanted;              /* features the driver does not take */
} nonsense[] = {
    { "loop", { { HEADER_ADDR, 16, N, 1 }, { STATUS_ADDR, 1, N, 0 } } },
    { "self-loop", { { HEADER_ADDR, 16, N, 0 } } },
    { "next-out-of-range", { { HEADER_ADDR, 16, N, 300 } } },
    { "head-out-of-range", .head = 1000 },
    { "avail-idx-jump", .jump = true },
    { "buffer-outside-ram", { { HEADER_ADDR, 16, N, 1 },
                              { NOWHERE, 512, W | N, 2 },
                              { STATUS_ADDR, 1, W, 0 } } },
    { "buffer-in-mmio", { { HEADER_ADDR, 16, N, 1 },
                          { MODERN_BASE, 512, W | N, 2 },
                          { STATUS_ADDR, 1, W, 0 } } },
    { "buffer-past-ram-end", { { HEADER_ADDR, 16, N, 1 },
                               { RAM_SIZE - 512, 0xffffffff, W, 0 } } },
    { "buffer-wrapping", { { UINT64_MAX - 100, 4096, N, 1 },
                           { STATUS_ADDR, 1, W, 0 } } },
    { "readable-after-writable", { { STATUS_ADDR, 1, W | N, 1 },
                                   { HEADER_ADDR, 16, 0, 0 } } },
    { "no-status-byte", { { HEADER_ADDR, 16, 0, 0 } } },
    { "indirect-with-next", { { INDIRECT_BASE, 16, I | N, 1 },
                              { STATUS_ADDR, 1, W, 0 } },
      { { HEADER_ADDR, 16, 0, 0 } } },
    { "indirect-in-indirect", { { INDIRECT_BASE, 16, I, 0 } },
      { { INDIRECT_BASE, 16, I, 0 } } },
    { "indirect-bad-length", { { INDIRECT_BASE, 17, I, 0 } } },
    { "indirect-huge", { { INDIRECT_BASE, 0xfffffff0, I, 0 } } },
    { "indirect-loop", { { INDIRECT_BASE, 32, I, 0 } },
      { { HEADER_ADDR, 16, N, 1 }, { STATUS_ADDR, 1, W | N, 0 } } },
    { "indirect-next-out-of-table", { { INDIRECT_BASE, 32, I, 0 } },
      { { HEADER_ADDR, 16, N, 2 }, { STATUS_ADDR, 1, W, 0 } } },
    { "indirect-table-outside-ram", { { NOWHERE, 64, I, 0 } } },
    { "indirect-not-negotiated", { { INDIRECT_BASE, 32, I, 0 } },
      { { HEADER_ADDR, 16, N, 1 }, { STATUS_ADDR, 1, W, 0 } },
      .unwanted = BIT(VIRTIO_F_INDIRECT_DESC) },
};

#undef W
#undef N
#undef I

/* Each on a freshly set up queue, alternating legacy and modern. */
static void test_nonsense_chains(struct fixture *f, gconstpointer data)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(nonsense); i++) {
        bool modern = i & 1;

        if (g_test_verbose())
            g_printerr("# %s (%s)\n", nonsense[i].name,
                       modern ? "modern" : "legacy");
        if (modern)
            modern_init(f, ~nonsense[i].unwanted, 64);
        else
            legacy_init(f, ~nonsense[i].unwanted);
        put32(f, HEADER_ADDR, VIRTIO_BLK_T_FLUSH);
        for (unsigned j = 0; j < 3; j++) {
            const struct raw_desc *d = &nonsense[i].desc[j];

            put_desc(f, f->desc, j, d->addr, d->length, d->flags, d->next);
        }
        for (unsigned j = 0; j < 2; j++) {
            const struct raw_desc *d = &nonsense[i].table[j];

            put_desc(f, INDIRECT_BASE, j, d->addr, d->length, d->flags, d->next);
        }
        if (nonsense[i].jump) {
            put16(f, f->avail + 2, f->avail_idx + f->size + 1);
            notify(f, 0);
        } else {
            make_available(f, nonsense[i].head);
        }
        expect_broken(f);
        expect_recovers(f, !modern);
    }
}

static void test_nonsense_queue_setup(struct fixture *f, gconstpointer data)
{
    /* Size not a power of two, rings outside RAM, misaligned, past its end. */
    static const struct {
        uint16_t size;
        uint64_t desc;
    } bad[] = {
        { 100, RING_BASE }, { 256, NOWHERE }, { 256, RING_BASE + 8 },
        { 256, RAM_SIZE - 0x800 },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        f->modern = true;
        common_write(f, STATUS, 1, 0);
        common_write(f, STATUS, 1, S_ACK | S_DRIVER);
        modern_features(f, BIT(VIRTIO_F_VERSION_1));
        common_write(f, STATUS, 1, S_ACK | S_DRIVER | S_FEATURES_OK);
        common_write(f, Q_SIZE, 2, bad[i].size);
        common_write(f, Q_DESC, 8, bad[i].desc);
        common_write(f, Q_AVAIL, 8, RING_BASE + 0x1000);
        common_write(f, Q_USED, 8, USED_BASE);
        common_write(f, Q_ENABLE, 2, 1);
        g_assert_cmpuint(common_read(f, Q_ENABLE, 2), ==, 0);
        /* Told with a configuration interrupt once the driver starts it. */
        common_write(f, STATUS, 1, S_ACK | S_DRIVER | S_FEATURES_OK | S_OK);
        f->used = USED_BASE;
        expect_broken(f);
    }
    expect_recovers(f, true);

    /* A legacy ring page past the end of RAM; an odd notify; odd accesses. */
    legacy_init(f, UINT32_MAX);
    out(f, LEGACY_BASE + L_PFN, 4, (RAM_SIZE - 0x1000) >> 12);
    expect_broken(f);
    expect_recovers(f, false);
    out(f, LEGACY_BASE + L_NOTIFY, 2, 0xffff);
    out(f, LEGACY_BASE + 0x01, 1, 0xff);
    common_write(f, 0x03, 1, 0xff);
    common_write(f, 0x100, 4, 0xff);
    mmio_write(f, MODERN_BASE + VIRTIO_PCI_ISR_OFFSET, 1, 0xff);
    g_assert_cmphex(device_status(f) & S_NEEDS_RESET, ==, 0);
    expect_recovers(f, false);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn, data) \
    g_test_add("/virtio/" path, struct fixture, GINT_TO_POINTER(data), \
               fixture_setup, fn, fixture_teardown)
    ADD("pci/header", test_pci_header, RW_DISK);
    ADD("blk/config-space", test_config_space, RW_DISK);
    ADD("blk/legacy-requests", test_legacy_requests, RW_DISK);
    ADD("blk/modern-requests", test_modern_requests, RW_DISK);
    ADD("blk/scattered", test_scattered, RW_DISK);
    ADD("blk/discard-write-zeroes", test_discard_write_zeroes, RW_DISK);
    ADD("blk/read-only", test_read_only, READ_ONLY_DISK);
    ADD("pci/features", test_features, RW_DISK);
    ADD("virtq/event-idx", test_event_idx, RW_DISK);
    ADD("virtq/no-interrupt-flag", test_no_interrupt_flag, RW_DISK);
    ADD("pci/machine-reset", test_machine_reset, RW_DISK);
    ADD("virtq/nonsense-chains", test_nonsense_chains, RW_DISK);
    ADD("virtq/nonsense-queue-setup", test_nonsense_queue_setup, RW_DISK);
#undef ADD
    return g_test_run();
}
