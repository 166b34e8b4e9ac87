/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the PIIX IDE function: ATA disk and ATAPI CD-ROM commands,
 * PIO and bus-master DMA, bad PRD tables, resets and media changes, driven
 * through the port-I/O map and PCI configuration space of a hand-built machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/machine.h"
#include "engine/memory.h"
#include "fake-machine.h"
#include "hw/device.h"
#include "hw/ide/ide.h"
#include "hw/ide/piix-ide.h"
#include "hw/pci/pci.h"
#include "storage/block.h"

#define RAM_SIZE (4u << 20)
#define IDE_DEVFN PCI_DEVFN(1, 1)
#define BM 0xc000                       /* where the test puts BAR 4 */
#define PRI 0x1f0
#define PRI_CTL 0x3f6
#define SEC 0x170
#define SEC_CTL 0x376
#define PRI_GSI 14
#define SEC_GSI 15

/* A 3 TiB sparse disk, so LBA48 addresses use their upper bytes. */
#define DISK_SECTORS (UINT64_C(3) << 31)
#define CD_BLOCKS 300
#define CD2_BLOCKS 100

/* Task file registers and bits. */
enum { DATA = 0, ERROR = 1, FEATURE = 1, COUNT = 2, LBA_LOW = 3, LBA_MID = 4,
       LBA_HIGH = 5, DEVICE = 6, STATUS = 7, COMMAND = 7 };
#define ST_ERR 0x01
#define ST_DRQ 0x08
#define ST_DSC 0x10
#define ST_DRDY 0x40
#define ST_BSY 0x80
#define ER_ABRT 0x04
#define ER_IDNF 0x10
#define ER_UNC 0x40

/* Bus-master registers. */
#define BM_START 0x01
#define BM_TO_MEMORY 0x08
#define BM_ACTIVE 0x01
#define BM_ERROR 0x02
#define BM_INTERRUPT 0x04

/* Guest RAM layout of the DMA tests. */
#define PRD_TABLE 0x1000
#define DMA_BUFFER 0x20000

struct fixture {
    struct machine *m;
    char *dir;
    struct pci_bus *bus;
    struct pci_device *ide;
    BlkImage *disk, *cd, *cd2;
};

static char *make_image(struct fixture *f, const char *name, uint64_t size,
                        bool cd_pattern)
{
    char *path = g_build_filename(f->dir, name, NULL);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, size), ==, 0);
    if (cd_pattern) {
        /* Block b, byte i: (b * 7 + i) & 0xff, and the block number up front. */
        uint8_t block[2048];

        for (uint64_t b = 0; b < size / 2048; b++) {
            for (unsigned i = 0; i < sizeof(block); i++)
                block[i] = (uint8_t)(b * 7 + i);
            memcpy(block, &b, 4);
            g_assert_cmpint(pwrite(fd, block, sizeof(block), b * 2048), ==,
                            sizeof(block));
        }
    }
    close(fd);
    return path;
}

static BlkImage *open_image(const char *path, int flags)
{
    BlkImage *img = NULL;
    GError *error = NULL;

    g_assert_cmpint(blk_open(path, "raw", flags, &img, &error), ==, 0);
    g_assert_no_error(error);
    return img;
}

static void cd_block(uint64_t b, uint8_t *block)
{
    for (unsigned i = 0; i < 2048; i++)
        block[i] = (uint8_t)(b * 7 + i);
    memcpy(block, &b, 4);
}

static void fixture_setup(struct fixture *f, gconstpointer data)
{
    struct machine *m = fake_machine_new(RAM_SIZE, FAKE_MACHINE_RAM_FLAT);
    GError *error = NULL;
    g_autofree char *disk = NULL, *cd = NULL, *cd2 = NULL;

    f->m = m;

    f->dir = g_dir_make_tmp("mimic-test-ide-XXXXXX", &error);
    g_assert_no_error(error);
    disk = make_image(f, "disk.raw", DISK_SECTORS * 512, false);
    cd = make_image(f, "cd.iso", CD_BLOCKS * 2048, true);
    cd2 = make_image(f, "cd2.iso", CD2_BLOCKS * 2048, true);
    f->disk = open_image(disk, BLK_OPEN_READ_WRITE);
    f->cd = open_image(cd, 0);
    f->cd2 = open_image(cd2, 0);

    f->bus = pci_bus_create(m, &error);
    g_assert_no_error(error);
    f->ide = piix_ide_create(m, f->bus, IDE_DEVFN, &error);
    g_assert_no_error(error);
    g_assert_nonnull(f->ide);
    g_assert_cmpint(piix_ide_attach(f->ide, 0, 0, IDE_DISK, f->disk, &error), ==, 0);
    g_assert_cmpint(piix_ide_attach(f->ide, 1, 0, IDE_CDROM, f->cd, &error), ==, 0);
    g_assert_no_error(error);
}

static void remove_tree(const char *path)
{
    GDir *dir = g_dir_open(path, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *child = g_build_filename(path, name, NULL);

        if (g_file_test(child, G_FILE_TEST_IS_DIR))
            remove_tree(child);
        else
            g_unlink(child);
    }
    if (dir)
        g_dir_close(dir);
    g_rmdir(path);
}

static void fixture_teardown(struct fixture *f, gconstpointer data)
{
    fake_machine_free(f->m);
    blk_close(f->disk);
    blk_close(f->cd);
    blk_close(f->cd2);

    remove_tree(f->dir);
    g_free(f->dir);
}

/* --- port I/O --- */

static uint32_t in(struct fixture *f, uint16_t port, unsigned size)
{
    uint64_t value = 0;

    memory_map_dispatch_read(f->m->io, port, size, &value);
    return value;
}

static void out(struct fixture *f, uint16_t port, unsigned size, uint32_t value)
{
    memory_map_dispatch_write(f->m->io, port, size, value);
}

static uint8_t inb(struct fixture *f, uint16_t port)
{
    return in(f, port, 1);
}

static void outb(struct fixture *f, uint16_t port, uint8_t value)
{
    out(f, port, 1, value);
}

static uint32_t config_read(struct fixture *f, unsigned offset, unsigned size)
{
    out(f, 0xcf8, 4, 0x80000000u | IDE_DEVFN << 8 | (offset & 0xfc));
    return in(f, 0xcfc + (offset & 3), size);
}

static void config_write(struct fixture *f, unsigned offset, unsigned size,
                         uint32_t value)
{
    out(f, 0xcf8, 4, 0x80000000u | IDE_DEVFN << 8 | (offset & 0xfc));
    out(f, 0xcfc + (offset & 3), size, value);
}

/* What firmware does: BAR 4 at BM, I/O decoding and bus mastering on. */
static void enable_bus_master(struct fixture *f)
{
    config_write(f, 0x20, 4, BM);
    config_write(f, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
}

/* --- ATA helpers --- */

static void ata_command(struct fixture *f, uint16_t base, uint8_t command,
                        uint64_t lba, uint32_t count, bool lba48)
{
    if (lba48) {
        outb(f, base + DEVICE, 0x40);
        outb(f, base + COUNT, count >> 8);
        outb(f, base + LBA_LOW, lba >> 24);
        outb(f, base + LBA_MID, lba >> 32);
        outb(f, base + LBA_HIGH, lba >> 40);
    } else {
        outb(f, base + DEVICE, 0xe0 | ((lba >> 24) & 0x0f));
    }
    outb(f, base + COUNT, count);
    outb(f, base + LBA_LOW, lba);
    outb(f, base + LBA_MID, lba >> 8);
    outb(f, base + LBA_HIGH, lba >> 16);
    outb(f, base + COMMAND, command);
}

static void pio_read(struct fixture *f, uint16_t base, void *buf, size_t length)
{
    uint16_t *w = buf;

    for (size_t i = 0; i < length / 2; i++)
        w[i] = in(f, base + DATA, 2);
}

static void pio_write(struct fixture *f, uint16_t base, const void *buf,
                      size_t length)
{
    const uint16_t *w = buf;

    for (size_t i = 0; i < length / 2; i++)
        out(f, base + DATA, 2, w[i]);
}

static void fill_pattern(uint8_t *buf, size_t length, unsigned seed)
{
    for (size_t i = 0; i < length; i++)
        buf[i] = (uint8_t)(i * 31 + seed + i / 512);
}

static void check_disk(struct fixture *f, uint64_t lba, const uint8_t *expect,
                       size_t length)
{
    g_autofree uint8_t *got = g_malloc(length);

    g_assert_cmpint(blk_read(f->disk, lba * 512, got, length), ==, 0);
    g_assert_cmpmem(got, length, expect, length);
}

/* Status after the command, acknowledging its interrupt. */
static uint8_t ack(struct fixture *f, uint16_t base)
{
    return inb(f, base + STATUS);
}

/* --- PCI function --- */

static void test_pci_config(struct fixture *f, gconstpointer data)
{
    g_assert_cmphex(config_read(f, 0x00, 4), ==, 0x70108086);
    g_assert_cmphex(config_read(f, 0x08, 4) >> 8, ==, 0x010180);
    g_assert_cmphex(config_read(f, 0x3d, 1), ==, 0);
    /* IDE decode enabled on both channels. */
    g_assert_cmphex(config_read(f, 0x40, 2) & 0x8000, ==, 0x8000);
    g_assert_cmphex(config_read(f, 0x42, 2) & 0x8000, ==, 0x8000);
    /* BAR 4: 16 bytes of I/O. */
    config_write(f, 0x20, 4, 0xffffffff);
    g_assert_cmphex(config_read(f, 0x20, 4), ==, 0xfffffff1);
    enable_bus_master(f);
    g_assert_cmphex(config_read(f, 0x20, 4), ==, BM | 1);
    /* Registers through the BAR: DMA capable bits for the drives present. */
    g_assert_cmphex(inb(f, BM + 2), ==, 0x20);
    g_assert_cmphex(inb(f, BM + 8 + 2), ==, 0x20);
    out(f, BM + 4, 4, 0x12345677);
    g_assert_cmphex(in(f, BM + 4, 4), ==, 0x12345674);
    outb(f, BM + 2, 0x66);              /* W1C bits clear, capable bits stick */
    g_assert_cmphex(inb(f, BM + 2), ==, 0x60);
    outb(f, BM + 2, 0x20);
    g_assert_cmphex(inb(f, BM + 2), ==, 0x20);
    /* Timing registers are writable. */
    config_write(f, 0x40, 2, 0xa307);
    g_assert_cmphex(config_read(f, 0x40, 2), ==, 0xa307);
}

/* --- ATA disk --- */

static void test_ata_identify(struct fixture *f, gconstpointer data)
{
    uint16_t w[256];
    uint8_t sum = 0;
    char model[41];

    g_assert_cmphex(inb(f, PRI + STATUS), ==, ST_DRDY | ST_DSC);
    /* The signature of an ATA device. */
    g_assert_cmphex(inb(f, PRI + COUNT), ==, 1);
    g_assert_cmphex(inb(f, PRI + LBA_LOW), ==, 1);
    g_assert_cmphex(inb(f, PRI + LBA_MID), ==, 0);
    g_assert_cmphex(inb(f, PRI + LBA_HIGH), ==, 0);

    outb(f, PRI + DEVICE, 0xa0);
    outb(f, PRI + COMMAND, 0xec);
    g_assert_cmpuint(fake_machine_irq_asserts(f->m, PRI_GSI), ==, 1);
    g_assert_true(fake_machine_irq_level(f->m, PRI_GSI));
    g_assert_cmphex(inb(f, PRI_CTL), ==, ST_DRDY | ST_DSC | ST_DRQ);
    /* Reading the alternate status does not acknowledge. */
    g_assert_true(fake_machine_irq_level(f->m, PRI_GSI));
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_DRQ);
    g_assert_false(fake_machine_irq_level(f->m, PRI_GSI));
    pio_read(f, PRI, w, sizeof(w));
    g_assert_cmphex(inb(f, PRI + STATUS), ==, ST_DRDY | ST_DSC);

    for (unsigned i = 0; i < 20; i++) {
        model[2 * i] = w[27 + i] >> 8;
        model[2 * i + 1] = w[27 + i] & 0xff;
    }
    model[40] = 0;
    g_assert_cmpstr(g_strchomp(model), ==, "MIMIC HARDDISK");
    g_assert_cmphex(w[0] & 0x8000, ==, 0);
    g_assert_cmpuint(w[1], ==, 16383);
    g_assert_cmpuint(w[3], ==, 16);
    g_assert_cmpuint(w[6], ==, 63);
    g_assert_cmphex(w[10], !=, 0);      /* serial number */
    g_assert_cmphex(w[49] & 0x0300, ==, 0x0300);    /* LBA and DMA */
    g_assert_cmphex((uint32_t)w[61] << 16 | w[60], ==, 0x0fffffff);
    g_assert_cmphex(w[63] & 0x07, ==, 0x07);        /* MWDMA 0-2 */
    g_assert_cmphex(w[88] & 0x3f, ==, 0x3f);        /* UDMA 0-5 */
    g_assert_cmphex(w[83] & 0x3400, ==, 0x3400);    /* 48-bit, FLUSH (EXT) */
    g_assert_cmphex(w[82] & 0x0020, ==, 0x0020);    /* write cache */
    g_assert_cmphex(w[85] & 0x0020, ==, 0x0020);    /* ... enabled */
    g_assert_cmpuint((uint64_t)w[103] << 48 | (uint64_t)w[102] << 32 |
                     (uint64_t)w[101] << 16 | w[100], ==, DISK_SECTORS);
    g_assert_cmphex(w[255] & 0xff, ==, 0xa5);
    for (unsigned i = 0; i < 256; i++)
        sum += (w[i] & 0xff) + (w[i] >> 8);
    g_assert_cmpuint(sum, ==, 0);

    /* SET FEATURES: transfer mode MWDMA2, write cache off; bad mode aborts. */
    outb(f, PRI + FEATURE, 0x03);
    outb(f, PRI + COUNT, 0x22);
    outb(f, PRI + COMMAND, 0xef);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
    outb(f, PRI + FEATURE, 0x82);
    outb(f, PRI + COMMAND, 0xef);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
    outb(f, PRI + FEATURE, 0x03);
    outb(f, PRI + COUNT, 0x50);
    outb(f, PRI + COMMAND, 0xef);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_ERR);
    g_assert_cmphex(inb(f, PRI + ERROR), ==, ER_ABRT);
    outb(f, PRI + COMMAND, 0xec);
    ack(f, PRI);
    pio_read(f, PRI, w, sizeof(w));
    g_assert_cmphex(w[63] & 0x0700, ==, 0x0400);
    g_assert_cmphex(w[85] & 0x0020, ==, 0);
}

static void test_ata_pio(struct fixture *f, gconstpointer data)
{
    uint8_t buf[6 * 512], got[6 * 512];
    unsigned raised;

    /* WRITE SECTORS: the first block without an interrupt, then one per sector. */
    fill_pattern(buf, sizeof(buf), 1);
    ata_command(f, PRI, 0x30, 1000, 3, false);
    g_assert_cmpuint(fake_machine_irq_asserts(f->m, PRI_GSI), ==, 0);
    g_assert_cmphex(inb(f, PRI_CTL), ==, ST_DRDY | ST_DSC | ST_DRQ);
    for (unsigned s = 0; s < 3; s++) {
        pio_write(f, PRI, buf + s * 512, 512);
        g_assert_cmpuint(fake_machine_irq_asserts(f->m, PRI_GSI), ==, s + 1);
        g_assert_cmphex(ack(f, PRI), ==,
                        s < 2 ? ST_DRDY | ST_DSC | ST_DRQ : ST_DRDY | ST_DSC);
    }
    check_disk(f, 1000, buf, 3 * 512);
    g_assert_cmpuint(inb(f, PRI + LBA_LOW) | inb(f, PRI + LBA_MID) << 8, ==, 1002);

    /* READ SECTORS: an interrupt per sector, none after the last read. */
    ata_command(f, PRI, 0x20, 1000, 3, false);
    for (unsigned s = 0; s < 3; s++) {
        g_assert_cmpuint(fake_machine_irq_asserts(f->m, PRI_GSI), ==, 4 + s);
        g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_DRQ);
        pio_read(f, PRI, got + s * 512, 512);
    }
    g_assert_cmphex(inb(f, PRI + STATUS), ==, ST_DRDY | ST_DSC);
    g_assert_cmpuint(fake_machine_irq_asserts(f->m, PRI_GSI), ==, 6);
    g_assert_cmpmem(got, 3 * 512, buf, 3 * 512);

    /* 32-bit data port accesses. */
    ata_command(f, PRI, 0x20, 1001, 1, false);
    ack(f, PRI);
    for (unsigned i = 0; i < 128; i++) {
        uint32_t v = in(f, PRI + DATA, 4);

        memcpy(got + 4 * i, &v, 4);
    }
    g_assert_cmpmem(got, 512, buf + 512, 512);
    g_assert_cmphex(inb(f, PRI + STATUS), ==, ST_DRDY | ST_DSC);

    /* READ/WRITE MULTIPLE abort until SET MULTIPLE MODE; then blocks of 4. */
    ata_command(f, PRI, 0xc4, 1000, 6, false);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_ERR);
    g_assert_cmphex(inb(f, PRI + ERROR), ==, ER_ABRT);
    outb(f, PRI + COUNT, 3);
    outb(f, PRI + COMMAND, 0xc6);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_ERR);
    outb(f, PRI + COUNT, 4);
    outb(f, PRI + COMMAND, 0xc6);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);

    fill_pattern(buf, sizeof(buf), 2);
    raised = fake_machine_irq_asserts(f->m, PRI_GSI);
    ata_command(f, PRI, 0xc5, 2000, 6, false);
    pio_write(f, PRI, buf, 4 * 512);
    g_assert_cmpuint(fake_machine_irq_asserts(f->m, PRI_GSI), ==, raised + 1);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_DRQ);
    pio_write(f, PRI, buf + 4 * 512, 2 * 512);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
    check_disk(f, 2000, buf, sizeof(buf));

    raised = fake_machine_irq_asserts(f->m, PRI_GSI);
    memset(got, 0, sizeof(got));
    ata_command(f, PRI, 0xc4, 2000, 6, false);
    ack(f, PRI);
    pio_read(f, PRI, got, 4 * 512);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_DRQ);
    pio_read(f, PRI, got + 4 * 512, 2 * 512);
    g_assert_cmphex(inb(f, PRI + STATUS), ==, ST_DRDY | ST_DSC);
    g_assert_cmpuint(fake_machine_irq_asserts(f->m, PRI_GSI), ==, raised + 2);
    g_assert_cmpmem(got, sizeof(got), buf, sizeof(buf));

    /* CHS: cylinder 1, head 2, sector 3 of 16 heads x 63 sectors. */
    fill_pattern(buf, 512, 3);
    outb(f, PRI + DEVICE, 0xa0 | 2);
    outb(f, PRI + COUNT, 1);
    outb(f, PRI + LBA_LOW, 3);
    outb(f, PRI + LBA_MID, 1);
    outb(f, PRI + LBA_HIGH, 0);
    outb(f, PRI + COMMAND, 0x30);
    pio_write(f, PRI, buf, 512);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
    check_disk(f, (1 * 16 + 2) * 63 + 2, buf, 512);
    /* Sector 0 does not exist in CHS. */
    outb(f, PRI + LBA_LOW, 0);
    outb(f, PRI + COMMAND, 0x20);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_ERR);
    g_assert_cmphex(inb(f, PRI + ERROR), ==, ER_IDNF);

    /* INITIALIZE DEVICE PARAMETERS: 4 heads x 17 sectors. */
    outb(f, PRI + DEVICE, 0xa0 | 3);
    outb(f, PRI + COUNT, 17);
    outb(f, PRI + COMMAND, 0x91);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
    outb(f, PRI + DEVICE, 0xa0 | 1);
    outb(f, PRI + COUNT, 1);
    outb(f, PRI + LBA_LOW, 5);
    outb(f, PRI + LBA_MID, 2);
    outb(f, PRI + COMMAND, 0x20);
    ack(f, PRI);
    pio_read(f, PRI, got, 512);
    g_assert_cmpint(blk_read(f->disk, ((2 * 4 + 1) * 17 + 4) * 512, buf, 512), ==, 0);
    g_assert_cmpmem(got, 512, buf, 512);
}

static void test_ata_lba48(struct fixture *f, gconstpointer data)
{
    const uint64_t lba = UINT64_C(0x123456789);
    uint8_t buf[2 * 512], got[2 * 512];

    g_assert_cmpuint(lba + 2, <, DISK_SECTORS);
    fill_pattern(buf, sizeof(buf), 4);
    ata_command(f, PRI, 0x34, lba, 2, true);
    pio_write(f, PRI, buf, 512);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_DRQ);
    pio_write(f, PRI, buf + 512, 512);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
    check_disk(f, lba, buf, sizeof(buf));

    ata_command(f, PRI, 0x24, lba, 2, true);
    for (unsigned s = 0; s < 2; s++) {
        g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_DRQ);
        pio_read(f, PRI, got + s * 512, 512);
    }
    g_assert_cmpmem(got, sizeof(got), buf, sizeof(buf));
    /* The task file names the last sector, upper bytes behind HOB. */
    g_assert_cmphex(inb(f, PRI + LBA_LOW), ==, 0x8a);
    g_assert_cmphex(inb(f, PRI + LBA_MID), ==, 0x67);
    g_assert_cmphex(inb(f, PRI + LBA_HIGH), ==, 0x45);
    outb(f, PRI_CTL, 0x80);
    g_assert_cmphex(inb(f, PRI + LBA_LOW), ==, 0x23);
    g_assert_cmphex(inb(f, PRI + LBA_MID), ==, 0x01);
    g_assert_cmphex(inb(f, PRI + LBA_HIGH), ==, 0x00);
    outb(f, PRI_CTL, 0x00);

    /* Past the end: IDNF, nothing transferred. */
    ata_command(f, PRI, 0x24, DISK_SECTORS - 1, 2, true);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_ERR);
    g_assert_cmphex(inb(f, PRI + ERROR), ==, ER_IDNF);
    ata_command(f, PRI, 0x34, DISK_SECTORS, 1, true);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_ERR);
    ata_command(f, PRI, 0x42, DISK_SECTORS - 1, 1, true);  /* verify the last */
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
    /* A count of 0 is 65536 sectors: too many at the top. */
    ata_command(f, PRI, 0x24, DISK_SECTORS - 65535, 0, true);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_ERR);
    ata_command(f, PRI, 0x24, DISK_SECTORS - 65536, 0, true);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_DRQ);
}

/* One PRD entry in guest RAM. */
static void put_prd(struct fixture *f, unsigned index, uint32_t address,
                    uint32_t count, bool eot)
{
    uint32_t entry[2] = {
        GUINT32_TO_LE(address),
        GUINT32_TO_LE((count & 0xffff) | (eot ? 0x80000000u : 0)),
    };

    memcpy(f->m->ram + PRD_TABLE + index * 8, entry, 8);
}

/* Linux's order: table, direction, clear status, command, then Start. */
static void bm_setup(struct fixture *f, uint16_t bm, uint32_t table, bool to_memory)
{
    out(f, bm + 4, 4, table);
    outb(f, bm + 0, to_memory ? BM_TO_MEMORY : 0);
    outb(f, bm + 2, inb(f, bm + 2) | BM_ERROR | BM_INTERRUPT);
}

static void bm_start(struct fixture *f, uint16_t bm, bool to_memory)
{
    outb(f, bm + 0, (to_memory ? BM_TO_MEMORY : 0) | BM_START);
}

static void bm_stop(struct fixture *f, uint16_t bm)
{
    outb(f, bm + 0, 0);
}

static void test_ata_dma(struct fixture *f, gconstpointer data)
{
    uint8_t *ram = f->m->ram;
    g_autofree uint8_t *buf = g_malloc(128 * 512);
    unsigned raised;

    enable_bus_master(f);

    /* READ DMA into two regions. */
    fill_pattern(buf, 8 * 512, 5);
    g_assert_cmpint(blk_write(f->disk, 2000 * 512, buf, 8 * 512), ==, 0);
    put_prd(f, 0, DMA_BUFFER, 1024, false);
    put_prd(f, 1, DMA_BUFFER + 0x10000, 3072, true);
    bm_setup(f, BM, PRD_TABLE, true);
    ata_command(f, PRI, 0xc8, 2000, 8, false);
    g_assert_cmpuint(fake_machine_irq_asserts(f->m, PRI_GSI), ==, 0);
    g_assert_cmphex(inb(f, PRI_CTL) & ST_DRQ, ==, ST_DRQ);
    bm_start(f, BM, true);
    g_assert_cmpuint(fake_machine_irq_asserts(f->m, PRI_GSI), ==, 1);
    g_assert_cmphex(inb(f, BM + 2), ==, 0x20 | BM_INTERRUPT);
    bm_stop(f, BM);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
    g_assert_cmpmem(ram + DMA_BUFFER, 1024, buf, 1024);
    g_assert_cmpmem(ram + DMA_BUFFER + 0x10000, 3072, buf + 1024, 3072);

    /* WRITE DMA EXT, with Start before the command. */
    fill_pattern(ram + DMA_BUFFER, 8 * 512, 6);
    put_prd(f, 0, DMA_BUFFER, 8 * 512, true);
    bm_setup(f, BM, PRD_TABLE, false);
    bm_start(f, BM, false);
    raised = fake_machine_irq_asserts(f->m, PRI_GSI);
    ata_command(f, PRI, 0x35, 3000, 8, true);
    g_assert_cmpuint(fake_machine_irq_asserts(f->m, PRI_GSI), ==, raised + 1);
    g_assert_cmphex(inb(f, BM + 2), ==, 0x20 | BM_INTERRUPT);
    bm_stop(f, BM);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
    check_disk(f, 3000, ram + DMA_BUFFER, 8 * 512);

    /* A byte count of 0 is 64 KiB. */
    fill_pattern(buf, 128 * 512, 7);
    g_assert_cmpint(blk_write(f->disk, 4000 * 512, buf, 128 * 512), ==, 0);
    put_prd(f, 0, DMA_BUFFER, 0, true);
    bm_setup(f, BM, PRD_TABLE, true);
    ata_command(f, PRI, 0x25, 4000, 128, true);
    bm_start(f, BM, true);
    g_assert_cmphex(inb(f, BM + 2), ==, 0x20 | BM_INTERRUPT);
    bm_stop(f, BM);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
    g_assert_cmpmem(ram + DMA_BUFFER, 128 * 512, buf, 128 * 512);

    /* A table larger than the transfer: Interrupt and Active both set. */
    put_prd(f, 0, DMA_BUFFER, 8192, true);
    bm_setup(f, BM, PRD_TABLE, true);
    ata_command(f, PRI, 0xc8, 2000, 2, false);
    bm_start(f, BM, true);
    g_assert_cmphex(inb(f, BM + 2), ==, 0x20 | BM_INTERRUPT | BM_ACTIVE);
    bm_stop(f, BM);
    g_assert_cmphex(inb(f, BM + 2), ==, 0x20 | BM_INTERRUPT);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
}

/* A DMA read that must fail: error status on both sides, and no hang. */
static void expect_dma_failure(struct fixture *f, uint8_t command, uint32_t count)
{
    unsigned raised = fake_machine_irq_asserts(f->m, PRI_GSI);

    ata_command(f, PRI, command, 5000, count, false);
    bm_start(f, BM, command == 0xc8);
    g_assert_cmpuint(fake_machine_irq_asserts(f->m, PRI_GSI), ==, raised + 1);
    g_assert_cmphex(inb(f, BM + 2), ==, 0x20 | BM_INTERRUPT | BM_ERROR);
    bm_stop(f, BM);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_ERR);
    g_assert_cmphex(inb(f, PRI + ERROR), ==, ER_ABRT);
}

static void test_ata_dma_bad_prd(struct fixture *f, gconstpointer data)
{
    g_autofree uint8_t *zero = g_malloc0(64 * 512);
    g_autofree uint8_t *buf = g_malloc(512);

    enable_bus_master(f);
    g_assert_cmpint(blk_write(f->disk, 5000 * 512, zero, 64 * 512), ==, 0);

    /* No EOT: 2-byte entries over the whole 64 KiB table and beyond. */
    for (unsigned i = 0; i < 2 * 8192 && PRD_TABLE + i * 8 < RAM_SIZE; i++)
        put_prd(f, i, DMA_BUFFER + 0x40000, 2, false);
    bm_setup(f, BM, PRD_TABLE, true);
    expect_dma_failure(f, 0xc8, 64);

    /* An entry pointing outside RAM, reading and writing. */
    put_prd(f, 0, 0xfff00000u, 512, true);
    bm_setup(f, BM, PRD_TABLE, true);
    expect_dma_failure(f, 0xc8, 1);
    bm_setup(f, BM, PRD_TABLE, false);
    expect_dma_failure(f, 0xca, 1);
    check_disk(f, 5000, zero, 512);

    /* The table itself outside RAM. */
    bm_setup(f, BM, 0xf0000000u, true);
    expect_dma_failure(f, 0xc8, 1);

    /* A table shorter than the transfer. */
    put_prd(f, 0, DMA_BUFFER, 512, true);
    bm_setup(f, BM, PRD_TABLE, true);
    expect_dma_failure(f, 0xc8, 2);

    /* Bus mastering off in the command register. */
    config_write(f, PCI_COMMAND, 2, PCI_COMMAND_IO);
    bm_setup(f, BM, PRD_TABLE, true);
    expect_dma_failure(f, 0xc8, 1);
    config_write(f, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);

    /* The channel still works. */
    fill_pattern(buf, 512, 8);
    g_assert_cmpint(blk_write(f->disk, 5000 * 512, buf, 512), ==, 0);
    bm_setup(f, BM, PRD_TABLE, true);
    ata_command(f, PRI, 0xc8, 5000, 1, false);
    bm_start(f, BM, true);
    g_assert_cmphex(inb(f, BM + 2), ==, 0x20 | BM_INTERRUPT);
    bm_stop(f, BM);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
    g_assert_cmpmem(f->m->ram + DMA_BUFFER, 512, buf, 512);
}

/* A block driver whose reads, writes and flushes all fail. */
static int failing_read(BlkImage *img, uint64_t offset, void *buf, size_t bytes)
{
    return -EIO;
}

static int failing_write(BlkImage *img, uint64_t offset, const void *buf,
                         size_t bytes)
{
    return -EIO;
}

static int failing_flush(BlkImage *img)
{
    return -EIO;
}

static const BlkDriver failing_driver = {
    .name = "failing",
    .read = failing_read,
    .write = failing_write,
    .flush = failing_flush,
};

static void test_ata_errors(struct fixture *f, gconstpointer data)
{
    BlkImage failing = {
        .drv = &failing_driver,
        .filename = (char *)"failing",
        .fd = -1,
        .flags = BLK_OPEN_READ_WRITE,
        .size = 1 << 20,
    };
    uint16_t w[256];
    GError *error = NULL;
    unsigned raised;

    /* Unknown commands and NOP abort. */
    outb(f, PRI + DEVICE, 0xa0);
    outb(f, PRI + COMMAND, 0xb0);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_ERR);
    g_assert_cmphex(inb(f, PRI + ERROR), ==, ER_ABRT);
    outb(f, PRI + COMMAND, 0x00);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_ERR);
    outb(f, PRI + COMMAND, 0xa1);        /* IDENTIFY PACKET DEVICE */
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_ERR);
    /* A data port access without a transfer is ignored. */
    g_assert_cmphex(in(f, PRI + DATA, 2), ==, 0xffff);
    out(f, PRI + DATA, 2, 0x1234);
    g_assert_cmphex(inb(f, PRI + STATUS), ==, ST_DRDY | ST_DSC | ST_ERR);

    /* Housekeeping commands. */
    outb(f, PRI + COMMAND, 0xe7);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
    outb(f, PRI + COMMAND, 0xea);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
    outb(f, PRI + COUNT, 0);
    outb(f, PRI + COMMAND, 0xe5);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
    g_assert_cmphex(inb(f, PRI + COUNT), ==, 0xff);
    for (unsigned i = 0; i < 4; i++) {
        static const uint8_t commands[] = { 0x10, 0x70, 0xe0, 0xe1 };

        outb(f, PRI + COMMAND, commands[i]);
        g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
    }

    /* nIEN: no interrupt reaches the line (nor the bus master). */
    enable_bus_master(f);
    outb(f, BM + 2, 0x20 | BM_INTERRUPT);
    raised = fake_machine_irq_asserts(f->m, PRI_GSI);
    outb(f, PRI_CTL, 0x02);
    outb(f, PRI + COMMAND, 0xe7);
    g_assert_cmpuint(fake_machine_irq_asserts(f->m, PRI_GSI), ==, raised);
    g_assert_cmphex(inb(f, BM + 2) & BM_INTERRUPT, ==, 0);
    outb(f, PRI_CTL, 0x00);                 /* the pending one shows up */
    g_assert_true(fake_machine_irq_level(f->m, PRI_GSI));
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
    g_assert_false(fake_machine_irq_level(f->m, PRI_GSI));

    /* Device 1 is absent: it reads as zeros and ignores commands. */
    outb(f, PRI + DEVICE, 0xb0);
    g_assert_cmphex(inb(f, PRI + STATUS), ==, 0);
    outb(f, PRI + COUNT, 0x55);
    g_assert_cmphex(inb(f, PRI + COUNT), ==, 0);
    outb(f, PRI + COMMAND, 0xec);
    g_assert_cmphex(inb(f, PRI_CTL), ==, 0);
    outb(f, PRI + DEVICE, 0xa0);
    g_assert_cmphex(inb(f, PRI + COUNT), ==, 0x55);

    /* Software reset: BSY while SRST is set, then the signature. */
    outb(f, PRI + LBA_MID, 0x77);
    outb(f, PRI_CTL, 0x04);
    g_assert_cmphex(inb(f, PRI_CTL), ==, ST_BSY);
    outb(f, PRI + COMMAND, 0xec);           /* ignored while busy */
    outb(f, PRI_CTL, 0x00);
    g_assert_cmphex(inb(f, PRI + STATUS), ==, ST_DRDY | ST_DSC);
    g_assert_cmphex(inb(f, PRI + ERROR), ==, 0x01);
    g_assert_cmphex(inb(f, PRI + COUNT), ==, 1);
    g_assert_cmphex(inb(f, PRI + LBA_MID), ==, 0);

    /* EXECUTE DEVICE DIAGNOSTIC. */
    outb(f, PRI + COMMAND, 0x90);
    g_assert_true(fake_machine_irq_level(f->m, PRI_GSI));
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC);
    g_assert_cmphex(inb(f, PRI + ERROR), ==, 0x01);

    /* A second disk whose image fails every request: UNC/ABRT, no crash. */
    g_assert_cmpint(piix_ide_attach(f->ide, 0, 1, IDE_DISK, &failing, &error), ==, 0);
    g_assert_no_error(error);
    g_assert_cmpint(piix_ide_attach(f->ide, 0, 1, IDE_DISK, &failing, &error), <, 0);
    g_clear_error(&error);
    outb(f, PRI + DEVICE, 0xb0);
    outb(f, PRI + COMMAND, 0xec);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_DRQ);
    pio_read(f, PRI, w, sizeof(w));
    g_assert_cmpuint((uint32_t)w[61] << 16 | w[60], ==, 2048);
    g_assert_cmphex(w[93] & 0x0100, ==, 0x0100);
    outb(f, PRI + DEVICE, 0xf0);
    outb(f, PRI + COUNT, 1);
    outb(f, PRI + LBA_LOW, 7);
    outb(f, PRI + LBA_MID, 0);
    outb(f, PRI + LBA_HIGH, 0);
    outb(f, PRI + COMMAND, 0x20);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_ERR);
    g_assert_cmphex(inb(f, PRI + ERROR), ==, ER_UNC);
    g_assert_cmphex(inb(f, PRI + LBA_LOW), ==, 7);
    outb(f, PRI + COMMAND, 0x30);
    pio_write(f, PRI, w, 512);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_ERR);
    g_assert_cmphex(inb(f, PRI + ERROR), ==, ER_ABRT);
    outb(f, PRI + COMMAND, 0xe7);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_ERR);
    put_prd(f, 0, DMA_BUFFER, 512, true);
    bm_setup(f, BM, PRD_TABLE, true);
    outb(f, PRI + COMMAND, 0xc8);
    bm_start(f, BM, true);
    g_assert_cmphex(ack(f, PRI), ==, ST_DRDY | ST_DSC | ST_ERR);
    g_assert_cmphex(inb(f, PRI + ERROR), ==, ER_UNC);
    bm_stop(f, BM);
    /* The master still answers. */
    outb(f, PRI + DEVICE, 0xa0);
    g_assert_cmphex(inb(f, PRI + STATUS), ==, ST_DRDY | ST_DSC);
}

/* --- ATAPI --- */

struct packet_result {
    uint8_t status, error, reason;
    size_t length;                  /* data bytes transferred */
    unsigned blocks;                /* DRQ blocks */
    unsigned irqs;
};

/* One PACKET command by PIO, the whole data-in phase read into @buf. */
static struct packet_result atapi_packet(struct fixture *f, const uint8_t *cdb,
                                         uint16_t limit, void *buf, size_t size)
{
    struct packet_result r = { 0 };
    unsigned raised = fake_machine_irq_asserts(f->m, SEC_GSI);
    uint8_t packet[12] = { 0 };
    uint8_t *p = buf;

    memcpy(packet, cdb, 12);
    outb(f, SEC + DEVICE, 0xa0);
    outb(f, SEC + FEATURE, 0);
    outb(f, SEC + LBA_MID, limit);
    outb(f, SEC + LBA_HIGH, limit >> 8);
    outb(f, SEC + COMMAND, 0xa0);
    /* The packet is asked for without an interrupt. */
    g_assert_cmphex(inb(f, SEC_CTL) & (ST_DRQ | ST_BSY), ==, ST_DRQ);
    g_assert_cmphex(inb(f, SEC + COUNT) & 3, ==, 1);
    g_assert_cmpuint(fake_machine_irq_asserts(f->m, SEC_GSI), ==, raised);
    pio_write(f, SEC, packet, 12);
    for (;;) {
        uint8_t status;
        unsigned n;

        g_assert_true(fake_machine_irq_level(f->m, SEC_GSI));
        status = ack(f, SEC);
        if (!(status & ST_DRQ)) {
            r.status = status;
            break;
        }
        g_assert_cmphex(inb(f, SEC + COUNT) & 3, ==, 2);    /* data to host */
        n = inb(f, SEC + LBA_MID) | inb(f, SEC + LBA_HIGH) << 8;
        g_assert_cmpuint(n, >, 0);
        g_assert_cmpuint(n, <=, limit);
        g_assert_cmpuint(r.length + n, <=, size);
        for (unsigned i = 0; i < n; i += 2) {
            uint16_t w = in(f, SEC + DATA, 2);

            p[r.length + i] = w;
            if (i + 1 < n)
                p[r.length + i + 1] = w >> 8;
        }
        r.length += n;
        r.blocks++;
    }
    r.error = inb(f, SEC + ERROR);
    r.reason = inb(f, SEC + COUNT) & 3;
    r.irqs = fake_machine_irq_asserts(f->m, SEC_GSI) - raised;
    g_assert_cmphex(r.reason, ==, 3);
    return r;
}

static struct packet_result simple_packet(struct fixture *f, uint8_t opcode)
{
    uint8_t cdb[12] = { opcode };
    uint8_t buf[256];

    return atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
}

/* Sense key, ASC, ASCQ as REQUEST SENSE reports them. */
static uint32_t request_sense(struct fixture *f)
{
    uint8_t cdb[12] = { 0x03, 0, 0, 0, 18 };
    uint8_t sense[18];
    struct packet_result r = atapi_packet(f, cdb, 0xfffe, sense, sizeof(sense));

    g_assert_cmphex(r.status & ST_ERR, ==, 0);
    g_assert_cmpuint(r.length, ==, 18);
    g_assert_cmphex(sense[0], ==, 0x70);
    return (uint32_t)(sense[2] & 0x0f) << 16 | sense[12] << 8 | sense[13];
}

static void check_error(struct fixture *f, struct packet_result r, uint32_t sense)
{
    g_assert_cmphex(r.status & (ST_ERR | ST_DRQ | ST_BSY), ==, ST_ERR);
    g_assert_cmphex(r.error >> 4, ==, sense >> 16);
    g_assert_cmphex(request_sense(f), ==, sense);
}

static void test_atapi_identify(struct fixture *f, gconstpointer data)
{
    uint16_t w[256];
    uint8_t sum = 0;
    char model[41];

    /* The packet device signature, DRDY clear after reset. */
    g_assert_cmphex(inb(f, SEC + STATUS), ==, 0);
    g_assert_cmphex(inb(f, SEC + COUNT), ==, 1);
    g_assert_cmphex(inb(f, SEC + LBA_LOW), ==, 1);
    g_assert_cmphex(inb(f, SEC + LBA_MID), ==, 0x14);
    g_assert_cmphex(inb(f, SEC + LBA_HIGH), ==, 0xeb);

    /* IDENTIFY DEVICE aborts and leaves the signature. */
    outb(f, SEC + DEVICE, 0xa0);
    outb(f, SEC + LBA_MID, 0);
    outb(f, SEC + COMMAND, 0xec);
    g_assert_cmphex(ack(f, SEC) & ST_ERR, ==, ST_ERR);
    g_assert_cmphex(inb(f, SEC + ERROR), ==, ER_ABRT);
    g_assert_cmphex(inb(f, SEC + LBA_MID), ==, 0x14);
    g_assert_cmphex(inb(f, SEC + LBA_HIGH), ==, 0xeb);

    outb(f, SEC + COMMAND, 0xa1);
    g_assert_cmpuint(fake_machine_irq_asserts(f->m, SEC_GSI), ==, 2);
    g_assert_cmphex(ack(f, SEC), ==, ST_DRDY | ST_DRQ);
    pio_read(f, SEC, w, sizeof(w));
    g_assert_cmphex(inb(f, SEC + STATUS), ==, ST_DRDY);
    g_assert_cmphex(w[0], ==, 0x85c0);
    for (unsigned i = 0; i < 20; i++) {
        model[2 * i] = w[27 + i] >> 8;
        model[2 * i + 1] = w[27 + i] & 0xff;
    }
    model[40] = 0;
    g_assert_cmpstr(g_strchomp(model), ==, "MIMIC DVD-ROM");
    g_assert_cmphex(w[49] & 0x0300, ==, 0x0300);
    g_assert_cmphex(w[82] & 0x0010, ==, 0x0010);
    for (unsigned i = 0; i < 256; i++)
        sum += (w[i] & 0xff) + (w[i] >> 8);
    g_assert_cmpuint(sum, ==, 0);

    /* DEVICE RESET: signature, no interrupt. */
    outb(f, SEC + COMMAND, 0x08);
    g_assert_cmpuint(fake_machine_irq_asserts(f->m, SEC_GSI), ==, 2);
    g_assert_cmphex(inb(f, SEC + STATUS), ==, 0);
    g_assert_cmphex(inb(f, SEC + LBA_HIGH), ==, 0xeb);
    /* The absent device 1 of this channel. */
    outb(f, SEC + DEVICE, 0xb0);
    g_assert_cmphex(inb(f, SEC + STATUS), ==, 0);
}

static void test_atapi_inquiry(struct fixture *f, gconstpointer data)
{
    uint8_t cdb[12] = { 0x12, 0, 0, 0, 96 };
    uint8_t buf[96];
    struct packet_result r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));

    g_assert_cmphex(r.status, ==, ST_DRDY);
    g_assert_cmpuint(r.length, ==, 36);
    g_assert_cmpuint(r.blocks, ==, 1);
    g_assert_cmpuint(r.irqs, ==, 2);        /* data block, completion */
    g_assert_cmphex(buf[0], ==, 0x05);
    g_assert_cmphex(buf[1], ==, 0x80);
    g_assert_cmpmem(buf + 8, 8, "MIMIC   ", 8);
    g_assert_cmpmem(buf + 16, 16, "MIMIC DVD-ROM   ", 16);

    /* The allocation length cuts the data. */
    cdb[4] = 5;
    r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
    g_assert_cmpuint(r.length, ==, 5);
    /* VPD page 80h: the serial number; an unknown page is an invalid field. */
    cdb[1] = 1;
    cdb[2] = 0x80;
    cdb[4] = 96;
    r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
    g_assert_cmphex(buf[1], ==, 0x80);
    g_assert_cmpuint(r.length, ==, 4u + buf[3]);
    cdb[2] = 0x83;
    check_error(f, atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf)), 0x052400);
}

static void test_atapi_read(struct fixture *f, gconstpointer data)
{
    uint8_t cdb[12] = { 0x25 };
    g_autofree uint8_t *buf = g_malloc(8 * 2352);
    uint8_t block[2048];
    struct packet_result r;

    /* READ CAPACITY. */
    r = atapi_packet(f, cdb, 0xfffe, buf, 8);
    g_assert_cmpuint(r.length, ==, 8);
    g_assert_cmphex(GUINT32_FROM_BE(*(uint32_t *)buf), ==, CD_BLOCKS - 1);
    g_assert_cmphex(GUINT32_FROM_BE(*(uint32_t *)(buf + 4)), ==, 2048);

    /* READ(10) of 3 blocks from 5, in blocks of at most 0xfffe bytes. */
    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0x28;
    cdb[5] = 5;
    cdb[8] = 3;
    r = atapi_packet(f, cdb, 0xfffe, buf, 8 * 2048);
    g_assert_cmphex(r.status, ==, ST_DRDY);
    g_assert_cmpuint(r.length, ==, 3 * 2048);
    for (unsigned b = 0; b < 3; b++) {
        cd_block(5 + b, block);
        g_assert_cmpmem(buf + b * 2048, 2048, block, 2048);
    }
    /* A byte count limit of 1000: DRQ blocks of 1000 bytes, the last shorter. */
    memset(buf, 0, 3 * 2048);
    r = atapi_packet(f, cdb, 1000, buf, 8 * 2048);
    g_assert_cmpuint(r.length, ==, 3 * 2048);
    g_assert_cmpuint(r.blocks, >=, 7);
    g_assert_cmpuint(r.irqs, ==, r.blocks + 1);
    for (unsigned b = 0; b < 3; b++) {
        cd_block(5 + b, block);
        g_assert_cmpmem(buf + b * 2048, 2048, block, 2048);
    }
    /* An odd limit: even blocks. */
    r = atapi_packet(f, cdb, 1001, buf, 8 * 2048);
    g_assert_cmpuint(r.length, ==, 3 * 2048);

    /* READ(12) of the last two blocks. */
    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0xa8;
    cdb[4] = (CD_BLOCKS - 2) >> 8;
    cdb[5] = (CD_BLOCKS - 2) & 0xff;
    cdb[9] = 2;
    r = atapi_packet(f, cdb, 0xfffe, buf, 8 * 2048);
    g_assert_cmpuint(r.length, ==, 2 * 2048);
    cd_block(CD_BLOCKS - 1, block);
    g_assert_cmpmem(buf + 2048, 2048, block, 2048);
    /* One past the end: LBA OUT OF RANGE, no data. */
    cdb[9] = 3;
    r = atapi_packet(f, cdb, 0xfffe, buf, 8 * 2048);
    g_assert_cmpuint(r.length, ==, 0);
    check_error(f, r, 0x052100);

    /* READ CD: user data, then raw sectors, then an audio track request. */
    memset(cdb, 0, sizeof(cdb));
    cdb[0] = 0xbe;
    cdb[5] = 16;
    cdb[8] = 2;
    cdb[9] = 0x10;
    r = atapi_packet(f, cdb, 0xfffe, buf, 8 * 2352);
    g_assert_cmpuint(r.length, ==, 2 * 2048);
    cd_block(17, block);
    g_assert_cmpmem(buf + 2048, 2048, block, 2048);
    cdb[9] = 0xf8;
    r = atapi_packet(f, cdb, 0xfffe, buf, 8 * 2352);
    g_assert_cmpuint(r.length, ==, 2 * 2352);
    g_assert_cmphex(buf[2352 + 0], ==, 0x00);
    g_assert_cmphex(buf[2352 + 1], ==, 0xff);
    g_assert_cmphex(buf[2352 + 12], ==, 0x00);      /* 00:02:17 in BCD */
    g_assert_cmphex(buf[2352 + 13], ==, 0x02);
    g_assert_cmphex(buf[2352 + 14], ==, 0x17);
    g_assert_cmphex(buf[2352 + 15], ==, 0x01);
    g_assert_cmpmem(buf + 2352 + 16, 2048, block, 2048);
    cdb[1] = 1 << 2;
    check_error(f, atapi_packet(f, cdb, 0xfffe, buf, 8 * 2352), 0x056400);
}

static void test_atapi_dma(struct fixture *f, gconstpointer data)
{
    uint8_t cdb[12] = { 0x28, 0, 0, 0, 0, 9, 0, 0, 2 };
    uint8_t *ram = f->m->ram;
    uint8_t block[2048];
    const uint16_t bm = BM + 8;

    enable_bus_master(f);
    put_prd(f, 0, DMA_BUFFER, 1000, false);
    put_prd(f, 1, DMA_BUFFER + 0x1000, 4096 - 1000, true);
    bm_setup(f, bm, PRD_TABLE, true);
    outb(f, SEC + DEVICE, 0xa0);
    outb(f, SEC + FEATURE, 0x01);       /* DMA */
    outb(f, SEC + COMMAND, 0xa0);
    pio_write(f, SEC, cdb, 12);
    g_assert_cmphex(inb(f, SEC_CTL) & ST_DRQ, ==, ST_DRQ);
    g_assert_false(fake_machine_irq_level(f->m, SEC_GSI));
    bm_start(f, bm, true);
    g_assert_true(fake_machine_irq_level(f->m, SEC_GSI));
    g_assert_cmphex(inb(f, bm + 2), ==, 0x20 | BM_INTERRUPT);
    bm_stop(f, bm);
    g_assert_cmphex(ack(f, SEC), ==, ST_DRDY);
    g_assert_cmphex(inb(f, SEC + COUNT) & 3, ==, 3);
    cd_block(9, block);
    g_assert_cmpmem(ram + DMA_BUFFER, 1000, block, 1000);
    g_assert_cmpmem(ram + DMA_BUFFER + 0x1000, 1048, block + 1000, 1048);
    cd_block(10, block);
    g_assert_cmpmem(ram + DMA_BUFFER + 0x1000 + 1048, 2048, block, 2048);

    /* A bad table ends the packet command with an error, too. */
    put_prd(f, 0, 0xfff00000u, 4096, true);
    bm_setup(f, bm, PRD_TABLE, true);
    outb(f, SEC + FEATURE, 0x01);
    outb(f, SEC + COMMAND, 0xa0);
    pio_write(f, SEC, cdb, 12);
    bm_start(f, bm, true);
    g_assert_cmphex(inb(f, bm + 2), ==, 0x20 | BM_INTERRUPT | BM_ERROR);
    bm_stop(f, bm);
    g_assert_cmphex(ack(f, SEC) & ST_ERR, ==, ST_ERR);
    g_assert_cmphex(request_sense(f) >> 16, ==, 0x0b);
}

static void test_atapi_toc(struct fixture *f, gconstpointer data)
{
    uint8_t cdb[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0, 255 };
    uint8_t buf[256];
    struct packet_result r;

    /* Format 0, LBA: track 1 at 0, lead-out at the end. */
    r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
    g_assert_cmpuint(r.length, ==, 20);
    g_assert_cmpuint(buf[0] << 8 | buf[1], ==, 18);
    g_assert_cmpuint(buf[2], ==, 1);
    g_assert_cmpuint(buf[3], ==, 1);
    g_assert_cmphex(buf[5], ==, 0x14);
    g_assert_cmpuint(buf[6], ==, 1);
    g_assert_cmphex(GUINT32_FROM_BE(*(uint32_t *)(buf + 8)), ==, 0);
    g_assert_cmpuint(buf[14], ==, 0xaa);
    g_assert_cmphex(GUINT32_FROM_BE(*(uint32_t *)(buf + 16)), ==, CD_BLOCKS);
    /* MSF: 00:02:00 and lead-out 300 + 150 frames = 00:06:00. */
    cdb[1] = 0x02;
    r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
    g_assert_cmpmem(buf + 8, 4, "\x00\x00\x02\x00", 4);
    g_assert_cmpmem(buf + 16, 4, "\x00\x00\x06\x00", 4);
    /* Only the lead-out; no track 2. */
    cdb[6] = 0xaa;
    r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
    g_assert_cmpuint(r.length, ==, 12);
    cdb[6] = 2;
    check_error(f, atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf)), 0x052400);

    /* Format 1: session information. */
    cdb[1] = 0;
    cdb[2] = 1;
    cdb[6] = 0;
    r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
    g_assert_cmpuint(r.length, ==, 12);
    g_assert_cmpuint(buf[1], ==, 10);
    g_assert_cmpuint(buf[6], ==, 1);
    /* Format 1 the old way (control byte bits 7:6). */
    cdb[2] = 0;
    cdb[9] = 0x40;
    r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
    g_assert_cmpuint(r.length, ==, 12);
    cdb[9] = 0;

    /* Format 2: raw TOC, points A0, A1, A2, 1. */
    cdb[2] = 2;
    r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
    g_assert_cmpuint(r.length, ==, 4 + 4 * 11);
    g_assert_cmphex(buf[4 + 3], ==, 0xa0);
    g_assert_cmphex(buf[4 + 11 + 3], ==, 0xa1);
    g_assert_cmphex(buf[4 + 22 + 3], ==, 0xa2);
    g_assert_cmpmem(buf + 4 + 22 + 8, 3, "\x00\x06\x00", 3);
    g_assert_cmphex(buf[4 + 33 + 3], ==, 0x01);

    /* Format 5 (CD-TEXT) is not there. */
    cdb[2] = 5;
    check_error(f, atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf)), 0x052400);
}

static void test_atapi_configuration(struct fixture *f, gconstpointer data)
{
    uint8_t cdb[12] = { 0x46, 0, 0, 0, 0, 0, 0, 0x01, 0x00 };
    uint8_t buf[256];
    struct packet_result r;
    unsigned length, offset;
    bool seen[0x200] = { false };

    r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
    g_assert_cmphex(r.status, ==, ST_DRDY);
    length = GUINT32_FROM_BE(*(uint32_t *)buf) + 4;
    g_assert_cmpuint(r.length, ==, length);
    g_assert_cmphex(buf[6] << 8 | buf[7], ==, 0x0008);  /* CD-ROM */
    for (offset = 8; offset < length; offset += 4 + buf[offset + 3]) {
        unsigned code = buf[offset] << 8 | buf[offset + 1];

        g_assert_cmpuint(code, <, G_N_ELEMENTS(seen));
        seen[code] = true;
        if (code == 0) {
            /* DVD-ROM listed, CD-ROM current. */
            g_assert_cmphex(buf[offset + 5], ==, 0x10);
            g_assert_cmphex(buf[offset + 6] & 1, ==, 0);
            g_assert_cmphex(buf[offset + 9], ==, 0x08);
            g_assert_cmphex(buf[offset + 10] & 1, ==, 1);
        }
    }
    g_assert_cmpuint(offset, ==, length);
    g_assert_true(seen[0x0000] && seen[0x0001] && seen[0x0002] && seen[0x0003]);
    g_assert_true(seen[0x0010] && seen[0x001e]);

    /* RT 2: the removable medium feature alone. */
    cdb[1] = 2;
    cdb[3] = 3;
    r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
    g_assert_cmpuint(r.length, ==, 8 + 8);
    g_assert_cmphex(buf[9], ==, 0x03);
    g_assert_cmphex(buf[12] & 0xe9, ==, 0x29);

    /* No medium: no current profile. */
    g_assert_cmpint(piix_ide_change_medium(f->ide, 1, 0, NULL), ==, 0);
    cdb[1] = 0;
    cdb[3] = 0;
    r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
    g_assert_cmphex(buf[6] << 8 | buf[7], ==, 0x0000);
}

static void test_atapi_medium(struct fixture *f, gconstpointer data)
{
    uint8_t gesn[12] = { 0x4a, 0x01, 0, 0, 0x10, 0, 0, 0, 8 };
    uint8_t cdb[12] = { 0x25 };
    uint8_t buf[256];
    struct packet_result r;

    g_assert_cmphex(simple_packet(f, 0x00).status, ==, ST_DRDY);

    /* Eject from the host: NOT READY, MEDIUM NOT PRESENT. */
    g_assert_cmpint(piix_ide_change_medium(f->ide, 1, 0, NULL), ==, 0);
    r = atapi_packet(f, gesn, 0xfffe, buf, sizeof(buf));
    g_assert_cmpuint(r.length, ==, 8);
    g_assert_cmphex(buf[2], ==, 0x04);
    g_assert_cmphex(buf[4], ==, 3);             /* media removal */
    g_assert_cmphex(buf[5] & 0x02, ==, 0);
    check_error(f, simple_packet(f, 0x00), 0x023a01);
    check_error(f, atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf)), 0x023a01);
    /* ... and after REQUEST SENSE the sense is cleared. */
    g_assert_cmphex(request_sense(f), ==, 0);

    /* A new medium: the media event, then one UNIT ATTENTION. */
    g_assert_cmpint(piix_ide_change_medium(f->ide, 1, 0, f->cd2), ==, 0);
    r = atapi_packet(f, gesn, 0xfffe, buf, sizeof(buf));
    g_assert_cmphex(buf[4], ==, 2);             /* new media */
    g_assert_cmphex(buf[5] & 0x02, ==, 0x02);
    r = atapi_packet(f, gesn, 0xfffe, buf, sizeof(buf));
    g_assert_cmphex(buf[4], ==, 0);             /* reported once */
    check_error(f, simple_packet(f, 0x00), 0x062800);
    g_assert_cmphex(simple_packet(f, 0x00).status, ==, ST_DRDY);
    r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
    g_assert_cmphex(GUINT32_FROM_BE(*(uint32_t *)buf), ==, CD2_BLOCKS - 1);

    /* A pending unit attention is what REQUEST SENSE reports. */
    g_assert_cmpint(piix_ide_change_medium(f->ide, 1, 0, f->cd), ==, 0);
    g_assert_cmphex(request_sense(f), ==, 0x062800);
    g_assert_cmphex(simple_packet(f, 0x00).status, ==, ST_DRDY);

    /* Locked by the guest: the host cannot eject, the guest is asked to. */
    {
        uint8_t prevent[12] = { 0x1e, 0, 0, 0, 1 };
        uint8_t eject[12] = { 0x1b, 0, 0, 0, 0x02 };
        uint8_t load[12] = { 0x1b, 0, 0, 0, 0x03 };

        g_assert_cmphex(atapi_packet(f, prevent, 0xfffe, buf, 8).status, ==, ST_DRDY);
        g_assert_cmpint(piix_ide_change_medium(f->ide, 1, 0, NULL), ==, -EBUSY);
        r = atapi_packet(f, gesn, 0xfffe, buf, sizeof(buf));
        g_assert_cmphex(buf[4], ==, 1);         /* eject request */
        check_error(f, atapi_packet(f, eject, 0xfffe, buf, 8), 0x055302);
        prevent[4] = 0;
        atapi_packet(f, prevent, 0xfffe, buf, 8);
        /* The guest opens the tray, then closes it. */
        g_assert_cmphex(atapi_packet(f, eject, 0xfffe, buf, 8).status, ==, ST_DRDY);
        check_error(f, simple_packet(f, 0x00), 0x023a02);
        g_assert_cmphex(atapi_packet(f, load, 0xfffe, buf, 8).status, ==, ST_DRDY);
        check_error(f, simple_packet(f, 0x00), 0x062800);
        g_assert_cmphex(simple_packet(f, 0x00).status, ==, ST_DRDY);
    }
    /* A disk is not a CD-ROM. */
    g_assert_cmpint(ide_cdrom_change_medium(piix_ide_drive(f->ide, 0, 0), NULL),
                    ==, -EINVAL);
}

static void test_atapi_misc(struct fixture *f, gconstpointer data)
{
    uint8_t buf[256];
    struct packet_result r;

    /* Unknown and 6-byte-only commands: INVALID COMMAND OPERATION CODE. */
    check_error(f, simple_packet(f, 0xff), 0x052000);
    check_error(f, simple_packet(f, 0x0a), 0x052000);

    /* MODE SENSE(10): all pages, capabilities, error recovery; saved values none. */
    {
        uint8_t cdb[12] = { 0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 255 };
        unsigned length;

        r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
        length = (buf[0] << 8 | buf[1]) + 2;
        g_assert_cmpuint(r.length, ==, length);
        g_assert_cmphex(buf[8], ==, 0x01);
        g_assert_cmpuint(buf[9], ==, 10);
        g_assert_cmphex(buf[8 + 12], ==, 0x2a);
        g_assert_cmpuint(8 + 12 + 2 + buf[8 + 13], ==, length);
        cdb[2] = 0x2a;
        r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
        g_assert_cmphex(buf[8], ==, 0x2a);
        g_assert_cmphex(buf[8 + 6] & 0x02, ==, 0);      /* not locked */
        cdb[2] = 0x0e;
        check_error(f, atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf)), 0x052400);
        cdb[2] = 0xc1;
        check_error(f, atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf)), 0x053900);
    }
    /* READ DISC INFORMATION: one complete session. */
    {
        uint8_t cdb[12] = { 0x51, 0, 0, 0, 0, 0, 0, 0, 34 };

        r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
        g_assert_cmpuint(r.length, ==, 34);
        g_assert_cmphex(buf[2], ==, 0x0e);
        g_assert_cmpuint(buf[4], ==, 1);
    }
    /* MECHANISM STATUS, SET CD SPEED, SEEK. */
    {
        uint8_t cdb[12] = { 0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8 };
        uint8_t seek[12] = { 0x2b, 0, 0, 0, 0x10, 0 };

        r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
        g_assert_cmpuint(r.length, ==, 8);
        g_assert_cmphex(simple_packet(f, 0xbb).status, ==, ST_DRDY);
        check_error(f, atapi_packet(f, seek, 0xfffe, buf, 8), 0x052100);
    }
    /* GET EVENT STATUS NOTIFICATION: asynchronous mode is refused. */
    {
        uint8_t cdb[12] = { 0x4a, 0, 0, 0, 0x10, 0, 0, 0, 8 };

        check_error(f, atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf)), 0x052400);
        cdb[1] = 1;
        cdb[4] = 0x02;                  /* a class we do not have */
        r = atapi_packet(f, cdb, 0xfffe, buf, sizeof(buf));
        g_assert_cmpuint(r.length, ==, 4);
        g_assert_cmphex(buf[2], ==, 0x80);
    }
    /* ATA commands a packet device has no use for. */
    outb(f, SEC + COMMAND, 0xc8);
    g_assert_cmphex(ack(f, SEC) & ST_ERR, ==, ST_ERR);
    g_assert_cmphex(inb(f, SEC + ERROR), ==, ER_ABRT);
}

/* A real ISO 9660 image from xorriso, read whole through READ(10). */
static void test_atapi_iso(struct fixture *f, gconstpointer data)
{
    g_autofree char *xorriso = g_find_program_in_path("xorriso");
    g_autofree char *tree = g_build_filename(f->dir, "tree", NULL);
    g_autofree char *text = g_build_filename(tree, "hello.txt", NULL);
    g_autofree char *iso = g_build_filename(f->dir, "test.iso", NULL);
    g_autofree char *contents = NULL;
    g_autofree uint8_t *buf = g_malloc(32 * 2048);
    const char *argv[] = {
        xorriso, "-as", "mkisofs", "-quiet", "-V", "MIMICTEST", "-o", iso,
        tree, NULL,
    };
    GError *error = NULL;
    int wait_status = 0;
    gsize size = 0;
    BlkImage *medium;
    uint32_t blocks;

    if (!xorriso) {
        g_test_skip("xorriso is not installed");
        return;
    }
    g_assert_cmpint(g_mkdir(tree, 0700), ==, 0);
    g_file_set_contents(text, "Hello from an ISO\n", -1, &error);
    g_assert_no_error(error);
    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL |
                 G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                 &wait_status, &error);
    g_assert_no_error(error);
    g_assert_true(g_spawn_check_wait_status(wait_status, NULL));
    g_file_get_contents(iso, &contents, &size, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(size % 2048, ==, 0);
    blocks = size / 2048;

    medium = open_image(iso, 0);
    g_assert_cmpint(piix_ide_change_medium(f->ide, 1, 0, medium), ==, 0);
    check_error(f, simple_packet(f, 0x00), 0x062800);
    {
        uint8_t cdb[12] = { 0x25 };

        atapi_packet(f, cdb, 0xfffe, buf, 8);
        g_assert_cmpuint(GUINT32_FROM_BE(*(uint32_t *)buf), ==, blocks - 1);
    }
    for (uint32_t lba = 0; lba < blocks; lba += 32) {
        uint32_t n = MIN(32, blocks - lba);
        uint8_t cdb[12] = { 0x28, 0, lba >> 24, lba >> 16, lba >> 8, lba, 0,
                            n >> 8, n };
        struct packet_result r = atapi_packet(f, cdb, 0xfffe, buf, 32 * 2048);

        g_assert_cmphex(r.status, ==, ST_DRDY);
        g_assert_cmpuint(r.length, ==, n * 2048);
        g_assert_cmpmem(buf, n * 2048, contents + lba * 2048, n * 2048);
        if (lba == 0) {
            /* The primary volume descriptor (ECMA-119, 8.4). */
            g_assert_cmpmem(buf + 16 * 2048 + 1, 5, "CD001", 5);
            g_assert_cmpmem(buf + 16 * 2048 + 40, 9, "MIMICTEST", 9);
        }
    }
    g_assert_nonnull(memmem(contents, size, "Hello from an ISO", 17));
    g_assert_cmpint(piix_ide_change_medium(f->ide, 1, 0, f->cd), ==, 0);
    blk_close(medium);
}

/* Random register traffic and PRD tables: nothing may crash or hang. */
static void test_fuzz(struct fixture *f, gconstpointer data)
{
    static const uint16_t ports[] = {
        PRI, PRI + 1, PRI + 2, PRI + 3, PRI + 4, PRI + 5, PRI + 6, PRI + 7,
        PRI_CTL, SEC, SEC + 1, SEC + 2, SEC + 3, SEC + 4, SEC + 5, SEC + 6,
        SEC + 7, SEC_CTL, BM, BM + 2, BM + 4, BM + 8, BM + 10, BM + 12,
    };
    static const uint8_t commands[] = {
        0x00, 0x08, 0x10, 0x20, 0x24, 0x25, 0x29, 0x30, 0x34, 0x35, 0x39,
        0x40, 0x42, 0x70, 0x90, 0x91, 0xa0, 0xa1, 0xc4, 0xc5, 0xc6, 0xc8,
        0xca, 0xe5, 0xe7, 0xec, 0xef,
    };
    static const uint8_t opcodes[] = {
        0x00, 0x03, 0x12, 0x1a, 0x1b, 0x1e, 0x25, 0x28, 0x2b, 0x43, 0x46,
        0x4a, 0x51, 0x5a, 0xa8, 0xbb, 0xbd, 0xbe,
    };
    GRand *rand = g_rand_new_with_seed(20240601);

    enable_bus_master(f);
    for (unsigned i = 0; i < 200000; i++) {
        uint16_t port = ports[g_rand_int_range(rand, 0, G_N_ELEMENTS(ports))];
        unsigned size = 1u << g_rand_int_range(rand, 0, 3);
        uint32_t value = g_rand_int(rand);
        unsigned what = g_rand_int_range(rand, 0, 100);

        if (what < 10) {
            /* A plausible command, with a small count most of the time. */
            uint16_t base = value & 1 ? SEC : PRI;

            outb(f, base + COUNT, value & 0x100 ? value >> 24 : (value >> 24) & 7);
            outb(f, base + COMMAND,
                 commands[g_rand_int_range(rand, 0, G_N_ELEMENTS(commands))]);
        } else if (what < 15) {
            /* A packet, by PIO or DMA. */
            uint8_t cdb[12];

            for (unsigned j = 0; j < 12; j++)
                cdb[j] = g_rand_int(rand);
            cdb[0] = opcodes[g_rand_int_range(rand, 0, G_N_ELEMENTS(opcodes))];
            if (value & 2) {
                cdb[2] = cdb[3] = cdb[6] = 0;   /* often in range */
                cdb[7] &= 1;
            }
            outb(f, SEC + DEVICE, 0xa0);
            outb(f, SEC + FEATURE, value & 1);
            outb(f, SEC + COMMAND, 0xa0);
            pio_write(f, SEC, cdb, 12);
        } else if (what < 20) {
            /* Rewrite some PRD entries, sometimes sensible ones. */
            unsigned index = g_rand_int_range(rand, 0, 16);
            uint32_t address = value & 1 ? DMA_BUFFER + (value & 0x1ff000)
                                         : g_rand_int(rand);

            put_prd(f, index, address, g_rand_int(rand), value & 2);
            out(f, (value & 4 ? BM + 8 : BM) + 4, 4, PRD_TABLE);
        } else if (what < 22) {
            ide_cdrom_change_medium(piix_ide_drive(f->ide, 1, 0),
                                    value & 1 ? NULL : value & 2 ? f->cd : f->cd2);
        } else if (port == PRI || port == SEC) {
            /* Drain or fill a data window. */
            for (unsigned j = 0; j < (value & 0x3ff); j++)
                if (value & 0x400)
                    out(f, port, 2, j);
                else
                    in(f, port, 2);
        } else if (value & 0x80000000u) {
            out(f, port, size, value);
        } else {
            in(f, port, size);
        }
    }
    g_rand_free(rand);
    /* Afterwards a reset brings everything back. */
    g_mutex_lock(&f->m->device_lock);
    f->ide->dev.cls->reset(&f->ide->dev);
    g_mutex_unlock(&f->m->device_lock);
    g_assert_cmphex(inb(f, PRI + STATUS), ==, ST_DRDY | ST_DSC);
}

/* Machine reset through the descriptor. */
static void test_reset(struct fixture *f, gconstpointer data)
{
    uint16_t w[256];

    enable_bus_master(f);
    out(f, BM + 4, 4, 0x5000);
    outb(f, PRI + COUNT, 8);
    outb(f, PRI + COMMAND, 0xc6);
    ack(f, PRI);
    /* Leave a transfer half done and the interrupt asserted. */
    outb(f, PRI + COMMAND, 0xec);
    g_assert_true(fake_machine_irq_level(f->m, PRI_GSI));
    in(f, PRI + DATA, 2);

    g_mutex_lock(&f->m->device_lock);
    f->ide->dev.cls->reset(&f->ide->dev);
    g_mutex_unlock(&f->m->device_lock);

    g_assert_false(fake_machine_irq_level(f->m, PRI_GSI));
    g_assert_cmphex(config_read(f, PCI_COMMAND, 2), ==, 0);
    g_assert_cmphex(config_read(f, 0x40, 2) & 0x8000, ==, 0x8000);
    g_assert_cmphex(inb(f, PRI + STATUS), ==, ST_DRDY | ST_DSC);
    g_assert_cmphex(inb(f, SEC + LBA_HIGH), ==, 0xeb);
    enable_bus_master(f);
    g_assert_cmphex(in(f, BM + 4, 4), ==, 0);
    g_assert_cmphex(inb(f, BM + 2), ==, 0x20);
    /* Multiple mode is off again. */
    outb(f, PRI + COMMAND, 0xec);
    ack(f, PRI);
    pio_read(f, PRI, w, sizeof(w));
    g_assert_cmphex(w[59] & 0x0100, ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

#define ADD(path, fn) \
    g_test_add(path, struct fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/ide/pci/config", test_pci_config);
    ADD("/ide/ata/identify", test_ata_identify);
    ADD("/ide/ata/pio", test_ata_pio);
    ADD("/ide/ata/lba48", test_ata_lba48);
    ADD("/ide/ata/dma", test_ata_dma);
    ADD("/ide/ata/dma-bad-prd", test_ata_dma_bad_prd);
    ADD("/ide/ata/errors", test_ata_errors);
    ADD("/ide/atapi/identify", test_atapi_identify);
    ADD("/ide/atapi/inquiry", test_atapi_inquiry);
    ADD("/ide/atapi/read", test_atapi_read);
    ADD("/ide/atapi/dma", test_atapi_dma);
    ADD("/ide/atapi/toc", test_atapi_toc);
    ADD("/ide/atapi/configuration", test_atapi_configuration);
    ADD("/ide/atapi/medium", test_atapi_medium);
    ADD("/ide/atapi/misc", test_atapi_misc);
    ADD("/ide/atapi/iso", test_atapi_iso);
    ADD("/ide/reset", test_reset);
    ADD("/ide/fuzz", test_fuzz);
#undef ADD
    return g_test_run();
}
