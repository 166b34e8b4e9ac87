/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Direct Linux boot (-kernel/-initrd/-append) without firmware, following
 * the Linux x86 boot protocol (Documentation/arch/x86/boot.rst): the bzImage
 * and initrd loaded into RAM, a zero page with the e820 map and the ACPI
 * RSDP, and the CPU state of the 64-bit (or 32-bit) entry point.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/x86-cpu-state.h"

struct machine;
struct acpi_config;

/* Where the loader puts its own structures, below 1 MiB. */
#define LINUX_BOOT_GDT 0x500
#define LINUX_BOOT_PML4 0x1000
#define LINUX_BOOT_PDPT 0x2000
#define LINUX_BOOT_PD 0x3000            /* four pages: 4 GiB in 2 MiB pages */
#define LINUX_BOOT_ZERO_PAGE 0x7000
#define LINUX_BOOT_STACK_TOP 0x9000
#define LINUX_BOOT_CMDLINE 0x20000
#define LINUX_BOOT_CMDLINE_MAX 0x10000
#define LINUX_BOOT_ACPI 0x90000         /* tables; e820 type ACPI */
#define LINUX_BOOT_ACPI_MAX 0xf000
#define LINUX_BOOT_RSDP 0x9fc00         /* in the EBDA, where the kernel also scans */

/* Boot protocol constants (boot.rst, "THE REAL-MODE KERNEL HEADER"). */
#define LINUX_BOOT_HDR_MAGIC 0x53726448 /* "HdrS" */
#define LINUX_BOOT_LOADED_HIGH 0x01
#define LINUX_BOOT_CAN_USE_HEAP 0x80
#define LINUX_BOOT_XLF_KERNEL_64 0x0001
#define LINUX_BOOT_CS 0x10              /* __BOOT_CS */
#define LINUX_BOOT_DS 0x18              /* __BOOT_DS */
#define LINUX_BOOT_ZERO_PAGE_SIZE 4096

/* The fields of a bzImage's setup header the loader uses. */
struct linux_boot_header {
    uint16_t version;               /* 0x020f is 2.15 */
    unsigned setup_size;            /* bytes before the protected-mode kernel */
    size_t kernel_size;             /* protected-mode kernel bytes in the file */
    uint8_t loadflags;
    uint16_t xloadflags;
    uint32_t initrd_addr_max;
    uint32_t kernel_alignment;
    bool relocatable;
    uint32_t cmdline_size;
    uint64_t pref_address;
    uint32_t init_size;             /* memory the kernel needs from its load address */
    unsigned header_end;            /* file offset just past the setup header */
};

/*
 * Check and parse the setup header of @image (@len bytes, from file @name):
 * a bzImage with "HdrS", protocol 2.10 or later, not truncated. Errors name
 * the file and say what is wrong (ELF vmlinux, random bytes, too old...).
 */
int linux_boot_parse_header(const uint8_t *image, size_t len, const char *name,
                            struct linux_boot_header *hdr, GError **error);

/* What went where (for the machine's logs and for tests). */
struct linux_boot_layout {
    uint64_t kernel_addr, kernel_extent;    /* [addr, addr+extent) is the kernel's */
    uint64_t initrd_addr, initrd_size;      /* 0, 0 without an initrd */
    uint64_t cmdline_addr;
    uint64_t zero_page_addr;
    uint64_t acpi_addr, acpi_size, rsdp_addr;
    uint64_t entry;
    bool entry_64;                          /* the 64-bit entry (else 32-bit) */
};

/*
 * Load @kernel (a bzImage), @initrd (or NULL) and @cmdline (or NULL) into
 * m's RAM, lay out the ACPI tables described by @acpi (NULL: the pc
 * defaults for @m) with their RSDP, build the zero page and the GDT (and
 * page tables for the 64-bit entry), and set the entry registers in
 * @entry: general registers, RIP, RFLAGS, segments with their hidden parts,
 * GDTR/IDTR, CR0/CR2/CR3/CR4/CR8, EFER, and IA32_MTRR_DEF_TYPE (enabled,
 * write-back) if @entry's MSR list holds it, as firmware would leave it.
 * The rest of @entry (x87/SSE, XCR0, debug registers, local APIC, other
 * MSRs, APIC base, MP state) is left as given: pass the boot CPU's reset
 * state (vcpu_reset, then vcpu_get_state).
 */
int linux_boot_setup(struct machine *m, const char *kernel, const char *initrd,
                     const char *cmdline, const struct acpi_config *acpi,
                     struct x86_cpu_state *entry,
                     struct linux_boot_layout *layout, GError **error);
