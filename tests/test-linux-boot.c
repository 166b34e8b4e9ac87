/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for direct Linux boot: the setup header of Debian's kernel (when
 * installed) and of synthetic bzImages, the zero page, the page tables and
 * the entry state, and bad kernels refused with clear errors.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "engine/machine.h"
#include "engine/memory.h"
#include "fake-machine.h"
#include "hw/acpi/acpi-tables.h"
#include "hw/fw/e820.h"
#include "hw/x86/linux-boot.h"

#define RAM_SIZE (256ull << 20)
#define LOW_END 0xa0000ull
#define HIGH_START 0x100000ull

struct fixture {
    struct machine *m;
    char *dir;
};

static void fixture_setup(struct fixture *f, gconstpointer data)
{
    GError *error = NULL;

    /* As the pc machine maps it: the VGA window and ROM area are not RAM. */
    f->m = fake_machine_new(RAM_SIZE, FAKE_MACHINE_RAM_PC);
    f->m->nr_vcpus = 2;
    f->dir = g_dir_make_tmp("mimic-test-linux-boot-XXXXXX", &error);
    g_assert_no_error(error);
}

static void fixture_teardown(struct fixture *f, gconstpointer data)
{
    GDir *dir = g_dir_open(f->dir, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(f->dir, name, NULL);

        g_unlink(path);
    }
    if (dir)
        g_dir_close(dir);
    g_rmdir(f->dir);
    g_free(f->dir);
    fake_machine_free(f->m);
}

static char *write_file(struct fixture *f, const char *name, const void *data,
                        size_t len)
{
    char *path = g_build_filename(f->dir, name, NULL);
    GError *error = NULL;

    g_file_set_contents(path, data, len, &error);
    g_assert_no_error(error);
    return path;
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return GUINT32_FROM_LE(v);
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return GUINT64_FROM_LE(v);
}

static void put16(uint8_t *p, uint16_t v)
{
    v = GUINT16_TO_LE(v);
    memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_LE(v);
    memcpy(p, &v, 8);
}

/* A synthetic bzImage: one setup sector, @kernel_size bytes of kernel. */
static uint8_t *make_bzimage(size_t kernel_size, uint16_t version,
                             uint16_t xloadflags, size_t *len)
{
    size_t setup = 2 * 512;
    uint8_t *image = g_malloc0(setup + kernel_size);

    image[0x1f1] = 1;                               /* setup_sects */
    put32(image + 0x1f4, (kernel_size + 15) / 16);  /* syssize */
    put16(image + 0x1fe, 0xaa55);
    image[0x200] = 0xeb;
    image[0x201] = 0x6a;                            /* header ends at 0x26c */
    memcpy(image + 0x202, "HdrS", 4);
    put16(image + 0x206, version);
    image[0x211] = 0x01;                            /* LOADED_HIGH */
    put32(image + 0x214, 0x100000);
    put32(image + 0x22c, 0x7fffffff);               /* initrd_addr_max */
    put32(image + 0x230, 0x200000);                 /* kernel_alignment */
    image[0x234] = 1;                               /* relocatable */
    put16(image + 0x236, xloadflags);
    put32(image + 0x238, 2047);                     /* cmdline_size */
    put64(image + 0x258, 0x1000000);                /* pref_address */
    put32(image + 0x260, 0x800000);                 /* init_size */
    for (size_t i = 0; i < kernel_size; i++)
        image[setup + i] = i * 13 + 5;
    *len = setup + kernel_size;
    return image;
}

static const char *debian_kernel(void)
{
    static char *path;
    GDir *dir;
    const char *name;

    if (path)
        return path;
    dir = g_dir_open("/boot", 0, NULL);
    while (dir && (name = g_dir_read_name(dir))) {
        if (g_str_has_prefix(name, "vmlinuz-")) {
            path = g_build_filename("/boot", name, NULL);
            if (g_access(path, R_OK) == 0)
                break;
            g_clear_pointer(&path, g_free);
        }
    }
    if (dir)
        g_dir_close(dir);
    return path;
}

/* Walk the guest's 4-level page tables for @va (SDM vol. 3, 4.5). */
static bool translate(struct machine *m, uint64_t cr3, uint64_t va, uint64_t *pa)
{
    uint64_t table = cr3 & ~0xfffull;

    for (int level = 3; level >= 0; level--) {
        unsigned index = (va >> (12 + 9 * level)) & 0x1ff;
        uint64_t entry = get64(m->ram + table + index * 8);

        if (!(entry & 1))
            return false;
        if (level == 1 && (entry & 0x80)) {
            *pa = (entry & ~0x1fffffull & 0xfffffffffffull) | (va & 0x1fffff);
            return true;
        }
        g_assert_cmpint(level, >, 1);   /* the loader only makes 2 MiB pages */
        table = entry & 0xffffffffff000ull;
    }
    return false;
}

static void check_boot(struct fixture *f, const char *kernel_path,
                       const uint8_t *image, size_t image_len,
                       const struct linux_boot_header *hdr, bool initrd)
{
    struct machine *m = f->m;
    struct x86_cpu_state *s = g_new0(struct x86_cpu_state, 1);
    struct linux_boot_layout lay;
    g_autofree uint8_t *initrd_data = NULL;
    g_autofree char *initrd_path = NULL;
    const char *cmdline = "console=ttyS0 panic=-1";
    size_t initrd_len = 3 * 1024 * 1024 + 123;
    GError *error = NULL;
    struct e820_map *map = e820_map_new();
    const uint8_t *zp;
    unsigned entries;
    uint64_t pa, gdt[4];

    if (initrd) {
        initrd_data = g_malloc(initrd_len);
        for (size_t i = 0; i < initrd_len; i++)
            initrd_data[i] = i ^ (i >> 8);
        initrd_path = write_file(f, "initrd", initrd_data, initrd_len);
    }
    s->lapic[0x20] = 0x42;      /* from the reset state: must be kept */
    s->nr_msrs = 2;
    s->msrs[0] = (struct x86_msr){ .index = 0x277, .value = 0x0007040600070406ull };
    s->msrs[1] = (struct x86_msr){ .index = 0x2ff, .value = 0 };
    g_assert_cmpint(linux_boot_setup(m, kernel_path, initrd_path, cmdline, NULL,
                                     s, &lay, &error), ==, 0);
    g_assert_no_error(error);

    /* Placement. */
    g_assert_cmphex(lay.kernel_addr % hdr->kernel_alignment, ==, 0);
    g_assert_cmphex(lay.kernel_addr, >=, HIGH_START);
    g_assert_cmphex(lay.kernel_addr + lay.kernel_extent, <=, RAM_SIZE);
    g_assert_cmpuint(lay.kernel_extent, >=, hdr->init_size);
    g_assert_cmpmem(m->ram + lay.kernel_addr, 4096, image + hdr->setup_size, 4096);
    g_assert_cmpmem(m->ram + lay.kernel_addr + hdr->kernel_size - 100, 100,
                    image + image_len - 100, 100);
    if (initrd) {
        g_assert_cmphex(lay.initrd_addr % 4096, ==, 0);
        g_assert_cmphex(lay.initrd_addr, >=, lay.kernel_addr + lay.kernel_extent);
        g_assert_cmphex(lay.initrd_addr + initrd_len, <=, RAM_SIZE);
        g_assert_cmphex(lay.initrd_addr + initrd_len, >, RAM_SIZE - 4096);
        g_assert_cmpmem(m->ram + lay.initrd_addr, initrd_len, initrd_data,
                        initrd_len);
    }
    g_assert_cmpstr((char *)m->ram + lay.cmdline_addr, ==, cmdline);

    /* The zero page (zero-page.rst). */
    zp = m->ram + lay.zero_page_addr;
    g_assert_cmpmem(zp + 0x202, 4, "HdrS", 4);
    g_assert_cmpuint(zp[0x210], ==, 0xff);                  /* type_of_loader */
    g_assert_cmphex(zp[0x211] & 0x81, ==, 0x81);            /* LOADED_HIGH, CAN_USE_HEAP */
    g_assert_cmphex(get32(zp + 0x228), ==, lay.cmdline_addr);
    g_assert_cmphex(get32(zp + 0x218), ==, lay.initrd_addr);
    g_assert_cmphex(get32(zp + 0x21c), ==, initrd ? initrd_len : 0);
    g_assert_cmphex(get64(zp + 0x070), ==, lay.rsdp_addr);
    g_assert_cmpmem(m->ram + lay.rsdp_addr, 8, "RSD PTR ", 8);
    g_assert_cmphex(get32(zp + 0x1f4), ==, get32(image + 0x1f4));   /* syssize copied */

    /* The e820 table: sorted, covering the kernel, initrd and ACPI tables. */
    entries = zp[0x1e8];
    g_assert_cmpuint(entries, >=, 4);
    g_assert_cmpuint(entries, <=, E820_BOOT_PARAMS_MAX);
    for (unsigned i = 0; i < entries; i++) {
        const uint8_t *r = zp + 0x2d0 + i * E820_RECORD_SIZE;

        e820_map_add(map, get64(r), get64(r + 8), get32(r + 16));
    }
    g_assert_cmpuint(e820_map_count(map), ==, entries);
    g_assert_true(e820_map_contains(map, lay.kernel_addr, lay.kernel_extent,
                                    E820_RAM));
    if (initrd)
        g_assert_true(e820_map_contains(map, lay.initrd_addr, initrd_len,
                                        E820_RAM));
    g_assert_true(e820_map_contains(map, lay.acpi_addr, lay.acpi_size, E820_ACPI));
    g_assert_true(e820_map_contains(map, lay.rsdp_addr, 36, E820_RESERVED));
    g_assert_false(e820_map_contains(map, 0xa0000, 1, E820_RAM));
    e820_map_free(map);

    /* The GDT: __BOOT_CS and __BOOT_DS flat. */
    memcpy(gdt, m->ram + LINUX_BOOT_GDT, sizeof(gdt));
    g_assert_cmphex(s->gdt.base, ==, LINUX_BOOT_GDT);
    g_assert_cmpuint(s->gdt.limit, ==, 31);
    g_assert_cmphex(GUINT64_FROM_LE(gdt[3]), ==, 0x00cf93000000ffffull);

    /* The entry state. */
    g_assert_cmphex(s->gpr[6], ==, lay.zero_page_addr);     /* RSI */
    g_assert_cmphex(s->rflags, ==, 0x2);
    g_assert_cmphex(s->cs.selector, ==, LINUX_BOOT_CS);
    g_assert_cmphex(s->ds.selector, ==, LINUX_BOOT_DS);
    g_assert_cmphex(s->ss.selector, ==, LINUX_BOOT_DS);
    g_assert_cmphex(s->ds.limit, ==, 0xffffffff);
    g_assert_cmpuint(s->cs.present && s->cs.s && s->cs.g, ==, 1);
    g_assert_cmphex(s->cs.type, ==, 0xb);
    g_assert_cmphex(s->tr.type, ==, 0xb);
    g_assert_cmpuint(s->lapic[0x20], ==, 0x42);
    g_assert_cmphex(s->msrs[0].value, ==, 0x0007040600070406ull);
    g_assert_cmphex(s->msrs[1].value, ==, 0x806);           /* MTRRs on, WB */
    if (lay.entry_64) {
        g_assert_cmphex(GUINT64_FROM_LE(gdt[2]), ==, 0x00af9b000000ffffull);
        g_assert_cmphex(s->rip, ==, lay.kernel_addr + 0x200);
        g_assert_cmpuint(s->cs.l, ==, 1);
        g_assert_cmpuint(s->cs.db, ==, 0);
        g_assert_cmphex(s->cr0 & 0x80000001ull, ==, 0x80000001ull);
        g_assert_cmphex(s->cr4 & 0x20, ==, 0x20);
        g_assert_cmphex(s->efer & 0x500, ==, 0x500);
        /* Identity-mapped: the kernel's extent, the zero page, the command line, the initrd. */
        for (uint64_t va = lay.kernel_addr; va < lay.kernel_addr + lay.kernel_extent;
             va += 0x100000) {
            g_assert_true(translate(m, s->cr3, va, &pa));
            g_assert_cmphex(pa, ==, va);
        }
        g_assert_true(translate(m, s->cr3, lay.zero_page_addr, &pa));
        g_assert_cmphex(pa, ==, lay.zero_page_addr);
        g_assert_true(translate(m, s->cr3, lay.cmdline_addr, &pa));
        g_assert_cmphex(pa, ==, lay.cmdline_addr);
        g_assert_true(translate(m, s->cr3, 0xfffff000ull, &pa));
        g_assert_cmphex(pa, ==, 0xfffff000ull);
        if (initrd) {
            g_assert_true(translate(m, s->cr3, lay.initrd_addr + initrd_len - 1, &pa));
            g_assert_cmphex(pa, ==, lay.initrd_addr + initrd_len - 1);
        }
    } else {
        g_assert_cmphex(GUINT64_FROM_LE(gdt[2]), ==, 0x00cf9b000000ffffull);
        g_assert_cmphex(s->rip, ==, lay.kernel_addr);
        g_assert_cmpuint(s->cs.l, ==, 0);
        g_assert_cmpuint(s->cs.db, ==, 1);
        g_assert_cmphex(s->cr0 & 0x80000001ull, ==, 1);
        g_assert_cmphex(s->efer, ==, 0);
    }
    g_free(s);
}

static void test_debian_kernel(struct fixture *f, gconstpointer data)
{
    const char *path = debian_kernel();
    g_autofree char *contents = NULL;
    struct linux_boot_header hdr;
    GError *error = NULL;
    size_t len;

    if (!path) {
        g_test_skip("no /boot/vmlinuz-* (Debian package linux-image-amd64)");
        return;
    }
    g_file_get_contents(path, &contents, &len, &error);
    g_assert_no_error(error);
    g_assert_cmpint(linux_boot_parse_header((uint8_t *)contents, len, path, &hdr,
                                            &error), ==, 0);
    g_assert_no_error(error);
    g_assert_cmphex(hdr.version, >=, 0x020c);
    g_assert_cmphex(hdr.xloadflags & LINUX_BOOT_XLF_KERNEL_64, ==, 1);
    g_assert_true(hdr.relocatable);
    g_assert_cmpuint(hdr.cmdline_size, >=, 255);
    g_assert_cmphex(hdr.pref_address, >=, 0x100000);
    g_assert_cmpuint(hdr.init_size, >, hdr.kernel_size);
    g_test_message("%s: protocol %u.%02u, init_size %u MiB, pref_address 0x%"
                   G_GINT64_MODIFIER "x", path, hdr.version >> 8,
                   hdr.version & 0xff, hdr.init_size >> 20, hdr.pref_address);
    check_boot(f, path, (uint8_t *)contents, len, &hdr, true);
}

static void test_synthetic_64(struct fixture *f, gconstpointer data)
{
    size_t len;
    g_autofree uint8_t *image = make_bzimage(300000, 0x020f, 0x3, &len);
    g_autofree char *path = write_file(f, "bzImage", image, len);
    struct linux_boot_header hdr;
    GError *error = NULL;

    g_assert_cmpint(linux_boot_parse_header(image, len, path, &hdr, &error), ==, 0);
    g_assert_no_error(error);
    check_boot(f, path, image, len, &hdr, true);
}

/* Without XLF_KERNEL_64, or before protocol 2.12: the 32-bit entry. */
static void test_synthetic_32(struct fixture *f, gconstpointer data)
{
    size_t len;
    g_autofree uint8_t *image = make_bzimage(200000, 0x020a, 0, &len);
    g_autofree char *path = write_file(f, "bzImage32", image, len);
    struct linux_boot_header hdr;
    GError *error = NULL;

    g_assert_cmpint(linux_boot_parse_header(image, len, path, &hdr, &error), ==, 0);
    check_boot(f, path, image, len, &hdr, false);
}

/* The preferred address does not fit: a relocatable kernel moves down. */
static void test_small_ram(struct fixture *f, gconstpointer data)
{
    size_t len;
    g_autofree uint8_t *image = make_bzimage(4096, 0x020f, 0x1, &len);
    g_autofree char *path = NULL;
    struct x86_cpu_state *s = g_new0(struct x86_cpu_state, 1);
    struct linux_boot_layout lay;
    struct acpi_config cfg;
    GError *error = NULL;

    put32(image + 0x260, 15u << 20);            /* init_size 15 MiB */
    path = write_file(f, "bzImage", image, len);
    acpi_config_init_pc(&cfg, f->m);
    cfg.ram_below_4g = 24u << 20;
    g_assert_cmpint(linux_boot_setup(f->m, path, NULL, NULL, &cfg, s, &lay,
                                     &error), ==, 0);
    g_assert_no_error(error);
    g_assert_cmphex(lay.kernel_addr, ==, 0x200000);
    /* Less than that: refused. */
    cfg.ram_below_4g = 16u << 20;
    g_assert_cmpint(linux_boot_setup(f->m, path, NULL, NULL, &cfg, s, &lay,
                                     &error), <, 0);
    g_assert_nonnull(strstr(error->message, path));
    g_clear_error(&error);
    g_free(s);
}

static void expect_refused(struct fixture *f, const char *name, const void *data,
                           size_t len, const char *what)
{
    g_autofree char *path = write_file(f, name, data, len);
    struct x86_cpu_state *s = g_new0(struct x86_cpu_state, 1);
    GError *error = NULL;

    g_assert_cmpint(linux_boot_setup(f->m, path, NULL, NULL, NULL, s, NULL,
                                     &error), <, 0);
    g_assert_nonnull(error);
    g_test_message("%s: %s", name, error->message);
    g_assert_nonnull(strstr(error->message, path));
    g_assert_nonnull(strstr(error->message, what));
    g_clear_error(&error);
    g_free(s);
}

static void test_bad_kernels(struct fixture *f, gconstpointer data)
{
    size_t len;
    g_autofree uint8_t *image = make_bzimage(100000, 0x020f, 0x1, &len);
    g_autofree uint8_t *copy = NULL;
    uint8_t random_bytes[8192];
    const uint8_t elf[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
    struct x86_cpu_state *s = g_new0(struct x86_cpu_state, 1);
    g_autofree char *good = write_file(f, "good", image, len);
    GError *error = NULL;
    GRand *rand = g_rand_new_with_seed(42);

    for (unsigned i = 0; i < sizeof(random_bytes); i++)
        random_bytes[i] = g_rand_int(rand);
    g_rand_free(rand);
    expect_refused(f, "random", random_bytes, sizeof(random_bytes), "not a Linux bzImage");
    expect_refused(f, "vmlinux", elf, sizeof(elf), "ELF");
    expect_refused(f, "empty", "", 0, "not a Linux bzImage");
    expect_refused(f, "truncated", image, len / 2, "truncated");
    expect_refused(f, "header-only", image, 0x210, "truncated");

    copy = g_memdup2(image, len);
    put16(copy + 0x206, 0x0204);
    expect_refused(f, "old", copy, len, "too old");
    memcpy(copy, image, len);
    copy[0x211] = 0;
    expect_refused(f, "zimage", copy, len, "zImage");
    memcpy(copy, image, len);
    put32(copy + 0x230, 0x3000);
    expect_refused(f, "alignment", copy, len, "power of two");

    /* A missing file, a command line that is too long, an initrd too big. */
    g_assert_cmpint(linux_boot_setup(f->m, "/nonexistent/bzImage", NULL, NULL,
                                     NULL, s, NULL, &error), <, 0);
    g_assert_nonnull(strstr(error->message, "/nonexistent/bzImage"));
    g_clear_error(&error);
    {
        g_autofree char *cmdline = g_strnfill(3000, 'x');

        g_assert_cmpint(linux_boot_setup(f->m, good, NULL, cmdline, NULL, s, NULL,
                                         &error), <, 0);
        g_assert_nonnull(strstr(error->message, "-append"));
        g_clear_error(&error);
    }
    {
        g_autofree char *big = g_build_filename(f->dir, "big-initrd", NULL);
        FILE *fp = fopen(big, "w");

        g_assert_nonnull(fp);
        g_assert_cmpint(ftruncate(fileno(fp), RAM_SIZE), ==, 0);
        fclose(fp);
        g_assert_cmpint(linux_boot_setup(f->m, good, big, NULL, NULL, s, NULL,
                                         &error), <, 0);
        g_assert_nonnull(strstr(error->message, big));
        g_clear_error(&error);
    }
    g_free(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add(name, struct fixture, NULL, fixture_setup, fn, \
                                 fixture_teardown)
    ADD("/linux-boot/debian-kernel", test_debian_kernel);
    ADD("/linux-boot/synthetic-64", test_synthetic_64);
    ADD("/linux-boot/synthetic-32", test_synthetic_32);
    ADD("/linux-boot/small-ram", test_small_ram);
    ADD("/linux-boot/bad-kernels", test_bad_kernels);
#undef ADD
    return g_test_run();
}
