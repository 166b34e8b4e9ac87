/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Storage and device guests on KVM: nonsense.bin programs every device with
 * nonsense and Mimic must survive it; disk-writer.bin writes a pattern to an
 * IDE and a virtio-blk disk that the host reads back with mimic-img,
 * qemu-img and qemu-io, and that -snapshot must keep off the images.
 */
#include "tests/mimic-test.h"

#include <glib/gstdio.h>
#include <stdint.h>
#include <string.h>

#define GUEST_TIMEOUT 120
#define DISK_SIZE "64M"
#define SECTOR 512
#define LOW_SECTORS 64
#define RECORD 16               /* "MIMIC-t-NNNNNNNN" */

/* The sectors disk-writer.bin writes, and some it must leave alone. */
static const unsigned written_sectors[] = { 1000, 100000 };
static const unsigned untouched_sectors[] = { 64, 65, 999, 1001, 99999, 100001 };

static char *guest(const char *name)
{
    g_autofree char *file = g_strconcat("tests/guests/", name, ".bin", NULL);

    return mimic_test_build_path(file);
}

static char *mimic_img(void)
{
    const char *path = g_getenv("MIMIC_IMG");

    return path ? g_strdup(path) : mimic_test_build_path("app/mimic-img");
}

static gboolean skip_without_kvm(void)
{
    const char *why = mimic_test_kvm_unusable();

    if (why)
        g_test_skip(why);
    return why != NULL;
}

static gboolean have_qemu_tools(void)
{
    g_autofree char *img = g_find_program_in_path("qemu-img");
    g_autofree char *io = g_find_program_in_path("qemu-io");

    return img && io;
}

/* Run a host tool; it must exit 0. Returns its standard output. */
static char *run_tool(const char *const *argv)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *err = NULL;
    char *out = NULL;
    int status;

    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                 &out, &err, &status, &error);
    g_assert_no_error(error);
    if (!g_spawn_check_wait_status(status, &error))
        g_error("%s failed (%s):\n%s%s", argv[0], error->message, out, err);
    return out;
}

static void create_image(const char *path, const char *format)
{
    g_autofree char *tool = mimic_img();
    g_free(run_tool((const char *[]){ tool, "create", "-f", format, path,
                                      DISK_SIZE, NULL }));
}

static char *file_checksum(const char *path)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *data = NULL;
    gsize length;

    g_file_get_contents(path, &data, &length, &error);
    g_assert_no_error(error);
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (guchar *)data, length);
}

/* What disk-writer.bin puts in sector @n of the disk tagged @tag. */
static void expected_sector(uint8_t *buf, char tag, unsigned n)
{
    char record[RECORD + 1];

    g_snprintf(record, sizeof(record), "MIMIC-%c-%08u", tag, n);
    for (unsigned i = 0; i < SECTOR; i += RECORD)
        memcpy(buf + i, record, RECORD);
}

static void check_sector(const uint8_t *data, gsize length, unsigned n,
                         const uint8_t *expected, const char *what)
{
    g_assert_cmpuint(length, >=, (gsize)(n + 1) * SECTOR);
    if (memcmp(data + (gsize)n * SECTOR, expected, SECTOR) != 0)
        g_error("%s: sector %u is not as the guest wrote it: \"%.16s...\"", what,
                n, (const char *)data + (gsize)n * SECTOR);
}

/* Byte by byte: the pattern where the guest wrote it, zeros next to it. */
static void check_raw_image(const char *path, char tag, const char *what)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *data = NULL;
    uint8_t expected[SECTOR];
    gsize length;

    g_file_get_contents(path, &data, &length, &error);
    g_assert_no_error(error);
    for (unsigned n = 0; n < LOW_SECTORS; n++) {
        expected_sector(expected, tag, n);
        check_sector((uint8_t *)data, length, n, expected, what);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(written_sectors); i++) {
        expected_sector(expected, tag, written_sectors[i]);
        check_sector((uint8_t *)data, length, written_sectors[i], expected, what);
    }
    memset(expected, 0, sizeof(expected));
    for (unsigned i = 0; i < G_N_ELEMENTS(untouched_sectors); i++)
        check_sector((uint8_t *)data, length, untouched_sectors[i], expected, what);
}

/* The image through mimic-img and qemu-img convert, then qemu-io's own reads. */
static void check_image(const char *dir, const char *image, const char *format,
                        char tag)
{
    g_autofree char *tool = mimic_img();
    g_autofree char *mimic_raw = g_build_filename(dir, "mimic.raw", NULL);
    g_autofree char *qemu_raw = g_build_filename(dir, "qemu.raw", NULL);
    unsigned sectors[] = { 0, LOW_SECTORS - 1, 1000, 100000 };
    g_autofree char *out = NULL;

    g_free(run_tool((const char *[]){ tool, "convert", "-f", format, "-O", "raw",
                                      image, mimic_raw, NULL }));
    check_raw_image(mimic_raw, tag, "mimic-img convert");
    g_free(run_tool((const char *[]){ "qemu-img", "convert", "-f", format, "-O",
                                      "raw", image, qemu_raw, NULL }));
    check_raw_image(qemu_raw, tag, "qemu-img convert");
    g_unlink(mimic_raw);
    g_unlink(qemu_raw);

    /* qemu-io dumps bytes as "4d 49 4d ..."; the ASCII column hides '-'. */
    for (unsigned i = 0; i < G_N_ELEMENTS(sectors); i++) {
        g_autofree char *command = g_strdup_printf("read -v %u %u",
                                                   sectors[i] * SECTOR, RECORD);
        g_autoptr(GString) hex = g_string_new(NULL);
        uint8_t expected[SECTOR];

        expected_sector(expected, tag, sectors[i]);
        for (unsigned j = 0; j < RECORD; j++)
            g_string_append_printf(hex, j ? " %02x" : "%02x", expected[j]);
        g_free(out);
        out = run_tool((const char *[]){ "qemu-io", "-r", "-f", format, "-c",
                                         command, image, NULL });
        if (!strstr(out, hex->str))
            g_error("qemu-io %s %s: expected %s in\n%s", image, command, hex->str,
                    out);
    }
}

static void check_qcow2_clean(const char *image)
{
    g_autofree char *tool = mimic_img();
    g_autofree char *out = NULL;

    out = run_tool((const char *[]){ "qemu-img", "check", "-f", "qcow2", image,
                                     NULL });
    g_assert_nonnull(strstr(out, "No errors were found on the image."));
    g_assert_null(strstr(out, "leaked"));
    g_free(run_tool((const char *[]){ tool, "check", image, NULL }));
}

/* Whatever a guest did, Mimic must not have crashed or complained of itself. */
static void check_no_crash(const struct run_result *r)
{
    static const char *const bad[] = {
        "CRITICAL", "ERROR", "assertion", "AddressSanitizer", "runtime error",
        "LeakSanitizer", "Segmentation",
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++)
        if (strstr(r->err, bad[i]))
            g_error("mimic-system said \"%s\":\n%s", bad[i], r->err);
}

static void run_disk_writer(const char *ide, const char *virtio, gboolean snapshot,
                            struct run_result *r)
{
    g_autofree char *bin = guest("disk-writer");
    g_autofree char *ide_drive = g_strconcat("file=", ide,
                                             ",format=raw,if=ide,index=0", NULL);
    g_autofree char *virtio_drive = g_strconcat("file=", virtio,
                                                ",format=qcow2,if=virtio", NULL);

    mimic_test_run((const char *[]){ "-accel", "kvm", "-m", "64M", "-nographic",
                                     "-bios", bin, "-no-reboot",
                                     "-device", "isa-debug-exit,iobase=0x501",
                                     "-drive", ide_drive, "-drive", virtio_drive,
                                     snapshot ? "-snapshot" : NULL, NULL },
                   GUEST_TIMEOUT, r);
    g_assert_false(r->timed_out);
    g_assert_cmpint(r->status, ==, 0);
    g_assert_nonnull(strstr(r->out, "disk-writer: ide ok"));
    g_assert_nonnull(strstr(r->out, "disk-writer: virtio ok"));
    g_assert_nonnull(strstr(r->out, "done"));
    g_assert_null(strstr(r->out, "FAIL"));
    g_assert_null(strstr(r->out, "exception"));
    check_no_crash(r);
}

/* A folder with a fresh raw IDE image and qcow2 virtio image; FALSE: skipped. */
static gboolean make_disks(char **dir, char **ide, char **virtio)
{
    if (skip_without_kvm())
        return FALSE;
    if (!have_qemu_tools()) {
        g_test_skip("qemu-img or qemu-io not installed (Debian: qemu-utils)");
        return FALSE;
    }
    *dir = mimic_test_make_dir();
    *ide = g_build_filename(*dir, "ide.img", NULL);
    *virtio = g_build_filename(*dir, "vd.qcow2", NULL);
    create_image(*ide, "raw");
    create_image(*virtio, "qcow2");
    return TRUE;
}

/*
 * The guest writes through PIO, DMA and virtio requests and flushes; after
 * power-off every byte is on the images, and the qcow2 one is consistent.
 */
static void test_disk_writer(void)
{
    g_autofree char *dir = NULL, *ide = NULL, *virtio = NULL;
    struct run_result r;

    if (!make_disks(&dir, &ide, &virtio))
        return;

    run_disk_writer(ide, virtio, FALSE, &r);
    run_result_clear(&r);
    check_image(dir, ide, "raw", 'I');
    check_image(dir, virtio, "qcow2", 'V');
    check_qcow2_clean(virtio);
    mimic_test_remove_dir(g_steal_pointer(&dir));
}

/* With -snapshot the guest sees its writes, and the images stay as they were. */
static void test_disk_writer_snapshot(void)
{
    g_autofree char *dir = NULL, *ide = NULL, *virtio = NULL;
    g_autofree char *ide_before = NULL, *virtio_before = NULL;
    g_autofree char *ide_after = NULL, *virtio_after = NULL;
    struct run_result r;

    if (!make_disks(&dir, &ide, &virtio))
        return;
    ide_before = file_checksum(ide);
    virtio_before = file_checksum(virtio);

    run_disk_writer(ide, virtio, TRUE, &r);
    run_result_clear(&r);
    ide_after = file_checksum(ide);
    virtio_after = file_checksum(virtio);
    g_assert_cmpstr(ide_after, ==, ide_before);
    g_assert_cmpstr(virtio_after, ==, virtio_before);
    check_qcow2_clean(virtio);
    mimic_test_remove_dir(g_steal_pointer(&dir));
}

/* Messages each device logs once, however often the guest repeats itself. */
static const char *const logged_once[] = {
    "piix-ide: ide0: PRD table without an end",
    "piix-ide: ide0: PRD table outside RAM",
    "piix-ide: ide0: PRD entry points outside RAM",
    "piix-ide: ide0: PRD table shorter than the transfer",
    "piix-ide: ide0: DMA with bus mastering disabled",
    "the device needs a reset (logged once)",
    "fw_cfg: DMA read of key 0x3 into 0xe0000000",
    "fw_cfg: DMA write to read-only key",
    "fw_cfg: DMA descriptor at 0xe0000000 is outside RAM",
    "VBE mode 16000x12000x32 does not fit",
    "virtio-blk: BAR 0 left unmapped",
    "virtio-blk: BAR 4 left unmapped",
    "vga: BAR 0 left unmapped",
    "vga: BAR 6 left unmapped",
};

/*
 * Bad PRD tables, DMA outside RAM and into ROM or MMIO, broken virtqueues
 * and indirect tables, garbage ATAPI packets, fw_cfg DMA into nothing,
 * absurd VBE modes, BARs over other devices and RAM, random port writes:
 * each device refuses, says so once, and works again afterwards.
 */
static void test_nonsense(void)
{
    g_autofree char *bin = guest("nonsense");
    g_autofree char *dir = NULL, *disk = NULL, *cd = NULL, *virtio = NULL;
    g_autofree char *disk_drive = NULL, *cd_drive = NULL, *virtio_drive = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *cd_data = g_malloc0(1 << 20);
    struct run_result r;

    if (skip_without_kvm())
        return;
    dir = mimic_test_make_dir();
    disk = g_build_filename(dir, "disk.img", NULL);
    cd = g_build_filename(dir, "cd.iso", NULL);
    virtio = g_build_filename(dir, "vd.qcow2", NULL);
    create_image(disk, "raw");
    create_image(virtio, "qcow2");
    g_file_set_contents(cd, cd_data, 1 << 20, &error);
    g_assert_no_error(error);
    disk_drive = g_strconcat("file=", disk, ",format=raw,if=ide,index=0", NULL);
    cd_drive = g_strconcat("file=", cd, ",format=raw,if=ide,index=2,media=cdrom",
                           NULL);
    virtio_drive = g_strconcat("file=", virtio, ",format=qcow2,if=virtio", NULL);

    mimic_test_run((const char *[]){ "-accel", "kvm", "-m", "64M", "-nographic",
                                     "-bios", bin, "-no-reboot",
                                     "-device", "isa-debug-exit,iobase=0x501",
                                     "-drive", disk_drive, "-drive", cd_drive,
                                     "-drive", virtio_drive, NULL },
                   GUEST_TIMEOUT, &r);
    g_assert_false(r.timed_out);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_null(strstr(r.out, "FAIL"));
    g_assert_null(strstr(r.out, "exception"));
    /* 10 bad PRD cases both ways, the ROM one as a read only. */
    g_assert_cmpuint(count_occurrences(r.out, "ide: bad PRD -> error ("), ==, 21);
    g_assert_nonnull(strstr(r.out, "ide: zero count = 64 KiB ok"));
    g_assert_nonnull(strstr(r.out, "ide: read past the end -> error"));
    g_assert_nonnull(strstr(r.out, "ide: reset with DMA pending ok"));
    g_assert_nonnull(strstr(r.out, "ide: DMA works after the errors"));
    g_assert_nonnull(strstr(r.out, "atapi: 64 garbage packets survived"));
    g_assert_nonnull(strstr(r.out, "atapi: bad PRD -> error"));
    /* Whether a byte count limit of 1 stalls the drive is open; it must recover. */
    g_assert_nonnull(strstr(r.out, "atapi: byte count limit 1 "));
    g_assert_nonnull(strstr(r.out, "atapi: INQUIRY works after the garbage"));
    /* 13 broken rings, each followed by a reset and a good read; 5 bad indirect tables. */
    g_assert_cmpuint(count_occurrences(r.out, " -> needs reset"), ==, 13 + 5);
    g_assert_cmpuint(count_occurrences(r.out, "virtio: reset, read ok"), ==, 14);
    g_assert_cmpuint(count_occurrences(r.out, " -> request failed"), ==, 3);
    g_assert_nonnull(strstr(r.out, "virtio: indirect read ok"));
    g_assert_nonnull(strstr(r.out, "virtio: notify of a missing queue ignored"));
    g_assert_nonnull(strstr(r.out, "fw_cfg: DMA read ok"));
    g_assert_cmpuint(count_occurrences(r.out, "fw_cfg: DMA "), ==, 5);
    g_assert_cmpuint(count_occurrences(r.out, " -> error\r\n"), ==, 4 + 2);
    g_assert_nonnull(strstr(r.out, "fw_cfg: descriptor outside RAM ignored"));
    g_assert_nonnull(strstr(r.out, "vga: absurd VBE modes refused"));
    g_assert_nonnull(strstr(r.out, "pci: BARs over config ports, BARs, RAM and ROM refused"));
    g_assert_nonnull(strstr(r.out, "ports: random writes done"));
    g_assert_nonnull(strstr(r.out, "nonsense: survived"));

    for (unsigned i = 0; i < G_N_ELEMENTS(logged_once); i++)
        if (count_occurrences(r.err, logged_once[i]) != 1)
            g_error("\"%s\" logged %u times, not once:\n%s", logged_once[i],
                    count_occurrences(r.err, logged_once[i]), r.err);
    check_no_crash(&r);
    run_result_clear(&r);

    /* The virtio disk saw only refused requests and reads. */
    if (have_qemu_tools())
        check_qcow2_clean(virtio);
    mimic_test_remove_dir(g_steal_pointer(&dir));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/devices/nonsense", test_nonsense);
    g_test_add_func("/devices/disk-writer", test_disk_writer);
    g_test_add_func("/devices/disk-writer-snapshot", test_disk_writer_snapshot);
    return g_test_run();
}
