/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Direct Linux boot: load a bzImage, initrd and command line, build the zero
 * page (Documentation/arch/x86/zero-page.rst) and enter the kernel at its
 * 64-bit entry, or its 32-bit one (boot.rst, "64-bit BOOT PROTOCOL" and
 * "32-bit BOOT PROTOCOL"), with no firmware involved.
 */
#define G_LOG_DOMAIN "mimic-linux-boot"

#include "hw/x86/linux-boot.h"

#include <errno.h>
#include <string.h>

#include "engine/machine.h"
#include "engine/memory.h"
#include "engine/vm.h"
#include "hw/acpi/acpi-tables.h"
#include "hw/fw/e820.h"

/* Setup header offsets, the same in the file and in the zero page (boot.rst). */
#define HDR_START 0x1f1
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_EXT_LOADER_VER 0x226
#define HDR_EXT_LOADER_TYPE 0x227
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_HARDWARE_SUBARCH 0x23c
#define HDR_SETUP_DATA 0x250
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_MIN_END 0x264               /* init_size is the last field 2.10 needs */

/* Zero page fields (zero-page.rst). */
#define ZP_ACPI_RSDP_ADDR 0x070
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE 0x0c4
#define ZP_EXT_CMD_LINE_PTR 0x0c8
#define ZP_E820_ENTRIES 0x1e8
#define ZP_E820_TABLE 0x2d0

#define VERSION_MIN 0x020a              /* 2.10: pref_address, init_size */
#define VERSION_64BIT 0x020c            /* 2.12: xloadflags */
#define TYPE_OF_LOADER_UNDEFINED 0xff
#define HEAP_END 0xfe00
#define HIGH_LOAD 0x100000ull
#define PAGE_SIZE 4096ull
#define BIG_PAGE (2ull << 20)

/* BIOS data area words the kernel reads to find the EBDA (and its size). */
#define BDA_EBDA_SEGMENT 0x40e
#define BDA_BASE_MEMORY_KB 0x413

/* Page table entry bits (Intel SDM vol. 3, 4.5). */
#define PTE_PRESENT 0x1ull
#define PTE_WRITE 0x2ull
#define PTE_LARGE 0x80ull

#define CR0_PE 0x1ull
#define CR0_MP 0x2ull
#define CR0_ET 0x10ull
#define CR0_NE 0x20ull
#define CR0_PG 0x80000000ull
#define CR4_PAE 0x20ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull
/* MTRRs enabled, default type write-back, as firmware leaves them (SDM vol. 3, 11.11.2.1). */
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MTRR_DEF_TYPE_ENABLED_WB 0x806ull

/* GDT descriptors, flat 4 GiB, accessed bit set (SDM vol. 3, 3.4.5). */
#define GDT_CODE64 0x00af9b000000ffffull
#define GDT_CODE32 0x00cf9b000000ffffull
#define GDT_DATA 0x00cf93000000ffffull

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI };

static uint32_t get16(const uint8_t *p, size_t at)
{
    return p[at] | p[at + 1] << 8;
}

static uint32_t get32(const uint8_t *p, size_t at)
{
    uint32_t v;

    memcpy(&v, p + at, 4);
    return GUINT32_FROM_LE(v);
}

static uint64_t get64(const uint8_t *p, size_t at)
{
    uint64_t v;

    memcpy(&v, p + at, 8);
    return GUINT64_FROM_LE(v);
}

static void put8(uint8_t *p, size_t at, uint8_t v)
{
    p[at] = v;
}

static void put16(uint8_t *p, size_t at, uint16_t v)
{
    v = GUINT16_TO_LE(v);
    memcpy(p + at, &v, 2);
}

static void put32(uint8_t *p, size_t at, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(p + at, &v, 4);
}

static void put64(uint8_t *p, size_t at, uint64_t v)
{
    v = GUINT64_TO_LE(v);
    memcpy(p + at, &v, 8);
}

static int bad_kernel(GError **error, const char *name, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static int bad_kernel(GError **error, const char *name, const char *fmt, ...)
{
    g_autofree char *text = NULL;
    va_list ap;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG, "-kernel %s: %s", name,
                text);
    return -EINVAL;
}

int linux_boot_parse_header(const uint8_t *image, size_t len, const char *name,
                            struct linux_boot_header *hdr, GError **error)
{
    unsigned setup_sects;
    uint64_t syssize_bytes;

    memset(hdr, 0, sizeof(*hdr));
    if (len >= 4 && memcmp(image, "\x7f" "ELF", 4) == 0)
        return bad_kernel(error, name, "an ELF file (vmlinux?), not a bzImage; "
                          "use arch/x86/boot/bzImage or /boot/vmlinuz-*");
    if (len < HDR_MAGIC + 4 || get32(image, HDR_MAGIC) != LINUX_BOOT_HDR_MAGIC)
        return bad_kernel(error, name, "not a Linux bzImage (no \"HdrS\" boot "
                          "header at offset 0x%x)", HDR_MAGIC);
    hdr->version = get16(image, HDR_VERSION);
    if (hdr->version < VERSION_MIN)
        return bad_kernel(error, name, "boot protocol %u.%02u is too old; "
                          "Mimic needs 2.10 or later (Linux 2.6.31+)",
                          hdr->version >> 8, hdr->version & 0xff);
    hdr->header_end = HDR_JUMP + 2 + image[HDR_JUMP + 1];
    if (hdr->header_end < HDR_MIN_END || hdr->header_end > len)
        return bad_kernel(error, name, "truncated setup header (%zu bytes)", len);

    hdr->loadflags = image[HDR_LOADFLAGS];
    if (!(hdr->loadflags & LINUX_BOOT_LOADED_HIGH))
        return bad_kernel(error, name, "a zImage (loaded low); only bzImage "
                          "kernels are supported");
    setup_sects = image[HDR_SETUP_SECTS] ? image[HDR_SETUP_SECTS] : 4;
    hdr->setup_size = (setup_sects + 1) * 512;
    syssize_bytes = (uint64_t)get32(image, HDR_SYSSIZE) * 16;
    if (hdr->setup_size >= len || syssize_bytes == 0 ||
        len - hdr->setup_size + 15 < syssize_bytes)
        return bad_kernel(error, name, "truncated: the header announces %u + %"
                          G_GUINT64_FORMAT " bytes, the file has %zu",
                          hdr->setup_size, syssize_bytes, len);
    hdr->kernel_size = len - hdr->setup_size;
    hdr->xloadflags = hdr->version >= VERSION_64BIT ? get16(image, HDR_XLOADFLAGS) : 0;
    hdr->initrd_addr_max = get32(image, HDR_INITRD_ADDR_MAX);
    hdr->kernel_alignment = get32(image, HDR_KERNEL_ALIGNMENT);
    hdr->relocatable = image[HDR_RELOCATABLE] != 0;
    hdr->cmdline_size = get32(image, HDR_CMDLINE_SIZE);
    hdr->pref_address = get64(image, HDR_PREF_ADDRESS);
    hdr->init_size = get32(image, HDR_INIT_SIZE);
    if (hdr->relocatable && (hdr->kernel_alignment == 0 ||
                             (hdr->kernel_alignment & (hdr->kernel_alignment - 1))))
        return bad_kernel(error, name, "kernel_alignment 0x%x is not a power "
                          "of two", hdr->kernel_alignment);
    return 0;
}

/* ---- placement ------------------------------------------------------------ */

static int place_kernel(const struct linux_boot_header *hdr, const char *name,
                        uint64_t ram_end, struct linux_boot_layout *lay,
                        GError **error)
{
    uint64_t extent = MAX((uint64_t)hdr->init_size, hdr->kernel_size);
    uint64_t addr;

    extent = (extent + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    if (hdr->relocatable) {
        addr = hdr->pref_address;
        if (addr < HIGH_LOAD || addr % hdr->kernel_alignment ||
            addr + extent > ram_end)
            addr = (HIGH_LOAD + hdr->kernel_alignment - 1) &
                   ~((uint64_t)hdr->kernel_alignment - 1);
    } else {
        addr = HIGH_LOAD;       /* code32_start's default; it cannot move */
    }
    if (addr + extent > ram_end)
        return bad_kernel(error, name, "needs %" G_GUINT64_FORMAT " MiB of RAM "
                          "from 0x%" G_GINT64_MODIFIER "x; the machine has %"
                          G_GUINT64_FORMAT " MiB below 4 GiB", extent >> 20,
                          addr, ram_end >> 20);
    lay->kernel_addr = addr;
    lay->kernel_extent = extent;
    return 0;
}

/* The highest page-aligned spot below initrd_addr_max and RAM's end (boot.rst, "initrd"). */
static int place_initrd(const struct linux_boot_header *hdr, const char *name,
                        size_t size, uint64_t ram_end,
                        struct linux_boot_layout *lay, GError **error)
{
    uint64_t limit = MIN((uint64_t)hdr->initrd_addr_max + 1, ram_end);
    uint64_t low = lay->kernel_addr + lay->kernel_extent;

    if (size > limit || ((limit - size) & ~(PAGE_SIZE - 1)) < low) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "-initrd %s: %zu bytes do not fit between the kernel (ends "
                    "at 0x%" G_GINT64_MODIFIER "x) and 0x%" G_GINT64_MODIFIER
                    "x; give the machine more RAM", name, size, low, limit);
        return -ENOSPC;
    }
    lay->initrd_addr = (limit - size) & ~(PAGE_SIZE - 1);
    lay->initrd_size = size;
    return 0;
}

static int load(struct machine *m, uint64_t addr, const void *data, size_t len,
                const char *what, GError **error)
{
    if (memory_map_write(m->memory, addr, data, len, false) < 0) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "%s: %zu bytes at 0x%" G_GINT64_MODIFIER "x are not in "
                    "guest RAM", what, len, addr);
        return -EFAULT;
    }
    return 0;
}

/* ---- zero page, GDT, page tables ----------------------------------------- */

static void build_zero_page(uint8_t *zp, const uint8_t *image,
                            const struct linux_boot_header *hdr,
                            const struct linux_boot_layout *lay,
                            const struct e820_map *map)
{
    unsigned count = MIN(e820_map_count(map), E820_BOOT_PARAMS_MAX);
    g_autofree uint8_t *records = NULL;
    size_t records_len;

    memset(zp, 0, LINUX_BOOT_ZERO_PAGE_SIZE);
    /* The setup header as the file has it, then the loader's fields. */
    memcpy(zp + HDR_START, image + HDR_START, hdr->header_end - HDR_START);
    put8(zp, HDR_TYPE_OF_LOADER, TYPE_OF_LOADER_UNDEFINED);
    put8(zp, HDR_EXT_LOADER_VER, 0);
    put8(zp, HDR_EXT_LOADER_TYPE, 0);
    put8(zp, HDR_LOADFLAGS, hdr->loadflags | LINUX_BOOT_CAN_USE_HEAP);
    put16(zp, HDR_HEAP_END_PTR, HEAP_END);
    put32(zp, HDR_CMD_LINE_PTR, lay->cmdline_addr);
    put32(zp, ZP_EXT_CMD_LINE_PTR, lay->cmdline_addr >> 32);
    put32(zp, HDR_RAMDISK_IMAGE, lay->initrd_addr);
    put32(zp, HDR_RAMDISK_SIZE, lay->initrd_size);
    put32(zp, ZP_EXT_RAMDISK_IMAGE, lay->initrd_addr >> 32);
    put32(zp, ZP_EXT_RAMDISK_SIZE, lay->initrd_size >> 32);
    put32(zp, HDR_HARDWARE_SUBARCH, 0);         /* a normal PC */
    put64(zp, HDR_SETUP_DATA, 0);
    put64(zp, ZP_ACPI_RSDP_ADDR, lay->rsdp_addr);

    records = e820_map_encode(map, &records_len);
    put8(zp, ZP_E820_ENTRIES, count);
    memcpy(zp + ZP_E820_TABLE, records, (size_t)count * E820_RECORD_SIZE);
}

/* PML4 -> one PDPT -> four page directories of 2 MiB pages: 0-4 GiB identity. */
static int build_page_tables(struct machine *m, GError **error)
{
    g_autofree uint64_t *tables = g_new0(uint64_t, 6 * 512);
    uint64_t *pml4 = tables, *pdpt = tables + 512, *pd = tables + 1024;

    pml4[0] = GUINT64_TO_LE(LINUX_BOOT_PDPT | PTE_PRESENT | PTE_WRITE);
    for (unsigned i = 0; i < 4; i++)
        pdpt[i] = GUINT64_TO_LE((LINUX_BOOT_PD + i * PAGE_SIZE) | PTE_PRESENT |
                                PTE_WRITE);
    for (unsigned i = 0; i < 4 * 512; i++)
        pd[i] = GUINT64_TO_LE(i * BIG_PAGE | PTE_PRESENT | PTE_WRITE | PTE_LARGE);
    return load(m, LINUX_BOOT_PML4, tables, 6 * 512 * sizeof(uint64_t),
                "page tables", error);
}

static int build_gdt(struct machine *m, bool long_mode, GError **error)
{
    uint64_t gdt[4] = {
        0, 0,
        GUINT64_TO_LE(long_mode ? GDT_CODE64 : GDT_CODE32),
        GUINT64_TO_LE(GDT_DATA),
    };

    return load(m, LINUX_BOOT_GDT, gdt, sizeof(gdt), "GDT", error);
}

/* The BIOS data area words that lead the kernel to the EBDA (and our RSDP). */
static int build_bda(struct machine *m, GError **error)
{
    uint8_t ebda[2], base_kb[2];

    put16(ebda, 0, E820_EBDA_START >> 4);
    put16(base_kb, 0, E820_EBDA_START >> 10);
    if (load(m, BDA_EBDA_SEGMENT, ebda, 2, "BIOS data area", error) < 0)
        return -EFAULT;
    return load(m, BDA_BASE_MEMORY_KB, base_kb, 2, "BIOS data area", error);
}

static void set_entry_state(struct x86_cpu_state *s,
                            const struct linux_boot_layout *lay)
{
    const struct x86_segment data = {
        .selector = LINUX_BOOT_DS, .base = 0, .limit = 0xffffffff,
        .type = 3, .present = 1, .s = 1, .db = 1, .g = 1,
    };
    struct x86_segment code = {
        .selector = LINUX_BOOT_CS, .base = 0, .limit = 0xffffffff,
        .type = 0xb, .present = 1, .s = 1, .g = 1,
    };

    memset(s->gpr, 0, sizeof(s->gpr));
    s->gpr[RSI] = lay->zero_page_addr;
    s->gpr[RSP] = LINUX_BOOT_STACK_TOP;
    s->rip = lay->entry;
    s->rflags = 0x2;                    /* IF clear: interrupts off */
    if (lay->entry_64)
        code.l = 1;
    else
        code.db = 1;
    s->cs = code;
    s->ds = s->es = s->fs = s->gs = s->ss = data;
    /* VM entry wants a usable busy TSS and an LDT, as after RESET. */
    s->tr = (struct x86_segment){ .limit = 0xffff, .type = 0xb, .present = 1 };
    s->ldt = (struct x86_segment){ .limit = 0xffff, .type = 2, .present = 1 };
    s->gdt = (struct x86_dtable){ .base = LINUX_BOOT_GDT, .limit = 4 * 8 - 1 };
    s->idt = (struct x86_dtable){ .base = 0, .limit = 0 };
    s->cr2 = 0;
    s->cr8 = 0;
    if (lay->entry_64) {
        s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG;
        s->cr3 = LINUX_BOOT_PML4;
        s->cr4 = CR4_PAE;
        s->efer = EFER_LME | EFER_LMA;
    } else {
        s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE;
        s->cr3 = 0;
        s->cr4 = 0;
        s->efer = 0;
    }
    s->exception_pending = s->interrupt_pending = s->nmi_pending = false;
    s->interrupt_shadow = 0;
    /* No firmware ran to enable the MTRRs: do what it would have done. */
    for (unsigned i = 0; i < MIN(s->nr_msrs, X86_MAX_MSRS); i++)
        if (s->msrs[i].index == MSR_MTRR_DEF_TYPE)
            s->msrs[i].value = MTRR_DEF_TYPE_ENABLED_WB;
}

/* ---- the whole boot ------------------------------------------------------- */

static GMappedFile *map_file(const char *option, const char *path, GError **error)
{
    g_autoptr(GError) local = NULL;
    GMappedFile *file = g_mapped_file_new(path, FALSE, &local);

    if (!file)
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG, "%s %s: %s", option,
                    path, local->message);
    return file;
}

int linux_boot_setup(struct machine *m, const char *kernel, const char *initrd,
                     const char *cmdline, const struct acpi_config *acpi,
                     struct x86_cpu_state *entry,
                     struct linux_boot_layout *layout, GError **error)
{
    g_autoptr(GMappedFile) kernel_file = NULL;
    g_autoptr(GMappedFile) initrd_file = NULL;
    g_autofree uint8_t *zero_page = NULL;
    struct linux_boot_layout lay = { 0 };
    struct linux_boot_header hdr;
    struct acpi_config defaults;
    struct e820_map *map = NULL;
    const uint8_t *image;
    size_t image_len, cmdline_len;
    int ret = -EINVAL;

    if (!cmdline)
        cmdline = "";
    if (!acpi) {
        acpi_config_init_pc(&defaults, m);
        acpi = &defaults;
    }
    kernel_file = map_file("-kernel", kernel, error);
    if (!kernel_file)
        return -ENOENT;
    image = (const uint8_t *)g_mapped_file_get_contents(kernel_file);
    image_len = g_mapped_file_get_length(kernel_file);
    if (linux_boot_parse_header(image, image_len, kernel, &hdr, error) < 0)
        return -EINVAL;
    cmdline_len = strlen(cmdline);
    if (cmdline_len > MIN((size_t)hdr.cmdline_size, LINUX_BOOT_CMDLINE_MAX - 1)) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "-append: the command line is %zu bytes; kernel %s takes "
                    "at most %u", cmdline_len, kernel, hdr.cmdline_size);
        return -E2BIG;
    }
    if (place_kernel(&hdr, kernel, acpi->ram_below_4g, &lay, error) < 0)
        return -ENOSPC;
    if (initrd) {
        initrd_file = map_file("-initrd", initrd, error);
        if (!initrd_file)
            return -ENOENT;
        if (place_initrd(&hdr, initrd, g_mapped_file_get_length(initrd_file),
                         acpi->ram_below_4g, &lay, error) < 0)
            return -ENOSPC;
    }
    lay.cmdline_addr = LINUX_BOOT_CMDLINE;
    lay.zero_page_addr = LINUX_BOOT_ZERO_PAGE;
    lay.acpi_addr = LINUX_BOOT_ACPI;
    lay.rsdp_addr = LINUX_BOOT_RSDP;
    lay.entry_64 = hdr.version >= VERSION_64BIT &&
                   (hdr.xloadflags & LINUX_BOOT_XLF_KERNEL_64);
    /* startup_64 sits 0x200 bytes into the protected-mode kernel (boot.rst). */
    lay.entry = lay.kernel_addr + (lay.entry_64 ? 0x200 : 0);

    if (acpi_install_tables(m, acpi, lay.acpi_addr, LINUX_BOOT_ACPI_MAX,
                            lay.rsdp_addr, &lay.acpi_size, error) < 0)
        return -EINVAL;
    map = e820_pc_boot_map(acpi->ram_below_4g, acpi->ram_above_4g);
    e820_map_add(map, lay.acpi_addr,
                 (lay.acpi_size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1), E820_ACPI);

    zero_page = g_malloc(LINUX_BOOT_ZERO_PAGE_SIZE);
    build_zero_page(zero_page, image, &hdr, &lay, map);
    if (load(m, lay.kernel_addr, image + hdr.setup_size, hdr.kernel_size,
             "-kernel", error) < 0 ||
        (initrd_file && load(m, lay.initrd_addr,
                             g_mapped_file_get_contents(initrd_file),
                             lay.initrd_size, "-initrd", error) < 0) ||
        load(m, lay.cmdline_addr, cmdline, cmdline_len + 1, "-append", error) < 0 ||
        load(m, lay.zero_page_addr, zero_page, LINUX_BOOT_ZERO_PAGE_SIZE,
             "zero page", error) < 0 ||
        build_gdt(m, lay.entry_64, error) < 0 ||
        (lay.entry_64 && build_page_tables(m, error) < 0) ||
        build_bda(m, error) < 0)
        goto out_free_map;

    set_entry_state(entry, &lay);
    if (layout)
        *layout = lay;
    g_debug("kernel at 0x%" G_GINT64_MODIFIER "x (%s entry 0x%" G_GINT64_MODIFIER
            "x), initrd at 0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER "x",
            lay.kernel_addr, lay.entry_64 ? "64-bit" : "32-bit", lay.entry,
            lay.initrd_addr, lay.initrd_size);
    ret = 0;
out_free_map:
    e820_map_free(map);
    return ret;
}
