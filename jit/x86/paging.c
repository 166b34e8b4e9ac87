/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Page walks: 32-bit paging (with PSE), PAE paging and 4-level paging, the
 * access rights they grant, accessed/dirty bits, and #PF with its error
 * code and CR2 (Intel SDM vol. 3, 4.3-4.7; AMD APM vol. 2, 5.3-5.6).
 */
#include "jit/x86/system.h"

/* The physical-address width CPUID 8000_0008 reports. */
#define X86_PHYS_BITS 40
#define ADDRESS_MASK (((1ull << X86_PHYS_BITS) - 1) & ~0xfffull)
/* Bits 51:MAXPHYADDR of an entry are reserved (4.4.2, 4.5.4). */
#define RESERVED_HIGH (((1ull << 52) - 1) & ~((1ull << X86_PHYS_BITS) - 1))

#define PTE_P   (1ull << 0)
#define PTE_RW  (1ull << 1)
#define PTE_US  (1ull << 2)
#define PTE_A   (1ull << 5)
#define PTE_D   (1ull << 6)
#define PTE_PS  (1ull << 7)
#define PTE_NX  (1ull << 63)

struct walk {
    uint64_t entry_address[4];
    unsigned levels;
    bool writable, user, executable;
};

static _Noreturn void page_fault(struct x86_cpu *cpu, uint64_t linear,
                                 uint32_t error)
{
    cpu->cr2 = linear;
    cpu->exception_address = linear;
    x86_raise_error(cpu, X86_EXC_PF, error);
}

/* One paging-structure entry: present and reserved-bit checks, rights. */
static uint64_t read_entry(struct x86_cpu *cpu, struct walk *w, uint64_t address,
                           unsigned size, uint64_t reserved, uint64_t linear,
                           uint32_t access_bits)
{
    uint64_t e = x86_physical_read(cpu, address, size);

    if (!(e & PTE_P))
        page_fault(cpu, linear, access_bits);
    if (e & reserved)
        page_fault(cpu, linear, access_bits | X86_PF_P | X86_PF_RSVD);
    w->entry_address[w->levels++] = address;
    w->writable = w->writable && (e & PTE_RW);
    w->user = w->user && (e & PTE_US);
    if (e & PTE_NX)
        w->executable = false;
    return e;
}

/* Set A in every entry used and D in the last one on writes (4.8). */
static void set_accessed_dirty(struct x86_cpu *cpu, const struct walk *w,
                               unsigned size, bool dirty)
{
    for (unsigned i = 0; i < w->levels; i++) {
        uint64_t bits = PTE_A | (dirty && i == w->levels - 1 ? PTE_D : 0);
        uint64_t e;

        /*
         * A locked update (SDM vol. 3, 8.1.2.1): another vCPU may be
         * changing the entry (XCHG to clear it, say); never write back a
         * stale copy, and leave an entry that went not-present alone.
         */
        do {
            e = x86_physical_read(cpu, w->entry_address[i], size);
        } while ((e & bits) != bits && (e & PTE_P) &&
                 !x86_physical_cmpxchg(cpu, w->entry_address[i], size, e, e | bits));
    }
}

uint64_t x86_translate(struct x86_cpu *cpu, uint64_t linear,
                       enum x86_access access, bool user)
{
    struct walk w = { .writable = true, .user = true, .executable = true };
    bool nxe = cpu->efer & X86_EFER_NXE;
    uint64_t nx_reserved = nxe ? 0 : PTE_NX;
    uint32_t bits = (access == X86_ACCESS_WRITE ? X86_PF_W : 0) |
                    (user ? X86_PF_U : 0);
    uint64_t e, physical;
    unsigned size = 8;

    if (!(cpu->cr0 & X86_CR0_PG))
        return linear;
    if (access == X86_ACCESS_EXEC && nxe && (cpu->cr4 & X86_CR4_PAE))
        bits |= X86_PF_I;

    if (!(cpu->cr4 & X86_CR4_PAE)) {
        /* 32-bit paging (4.3): 4-byte entries, 4 MiB pages with CR4.PSE. */
        size = 4;
        e = read_entry(cpu, &w, (cpu->cr3 & 0xfffff000) + ((linear >> 22) << 2),
                       4, 0, linear, bits);
        if ((e & PTE_PS) && (cpu->cr4 & X86_CR4_PSE)) {
            if (e & (1ull << 21))
                page_fault(cpu, linear, bits | X86_PF_P | X86_PF_RSVD);
            physical = (e & 0xffc00000) | ((e >> 13) & 0xff) << 32 |
                       (linear & 0x3fffff);
            cpu->tlb_has_large = true;
        } else {
            e = read_entry(cpu, &w, (e & 0xfffff000) + (((linear >> 12) & 0x3ff) << 2),
                           4, 0, linear, bits);
            physical = (e & 0xfffff000) | (linear & 0xfff);
        }
    } else {
        unsigned level;

        if (cpu->efer & X86_EFER_LMA) {
            /* 4-level paging (4.5): PML4 then PDPT. */
            e = read_entry(cpu, &w, (cpu->cr3 & ADDRESS_MASK) + ((linear >> 39) & 0x1ff) * 8,
                           8, RESERVED_HIGH | PTE_PS | nx_reserved, linear, bits);
            e = read_entry(cpu, &w, (e & ADDRESS_MASK) + ((linear >> 30) & 0x1ff) * 8,
                           8, RESERVED_HIGH | nx_reserved, linear, bits);
            level = 3;
        } else {
            /* PAE paging (4.4): the PDPTE has no rights bits. */
            uint64_t address = (cpu->cr3 & 0xffffffe0) + ((linear >> 30) & 3) * 8;

            e = x86_physical_read(cpu, address, 8);
            if (!(e & PTE_P))
                page_fault(cpu, linear, bits);
            if (e & (RESERVED_HIGH | 0x1e6 | PTE_NX))
                page_fault(cpu, linear, bits | X86_PF_P | X86_PF_RSVD);
            level = 3;
        }
        if (level == 3 && (e & PTE_PS) && (cpu->efer & X86_EFER_LMA)) {
            /* 1 GiB page. */
            if (e & 0x3fffe000)
                page_fault(cpu, linear, bits | X86_PF_P | X86_PF_RSVD);
            physical = (e & ADDRESS_MASK & ~0x3fffffffull) | (linear & 0x3fffffff);
            cpu->tlb_has_large = true;
        } else {
            e = read_entry(cpu, &w, (e & ADDRESS_MASK) + ((linear >> 21) & 0x1ff) * 8,
                           8, RESERVED_HIGH | nx_reserved, linear, bits);
            if (e & PTE_PS) {
                if (e & 0x1fe000)
                    page_fault(cpu, linear, bits | X86_PF_P | X86_PF_RSVD);
                physical = (e & ADDRESS_MASK & ~0x1fffffull) | (linear & 0x1fffff);
                cpu->tlb_has_large = true;
            } else {
                e = read_entry(cpu, &w, (e & ADDRESS_MASK) + ((linear >> 12) & 0x1ff) * 8,
                               8, RESERVED_HIGH | nx_reserved, linear, bits);
                physical = (e & ADDRESS_MASK) | (linear & 0xfff);
            }
        }
    }

    /* Access rights (4.6): user pages for user accesses, R/W, WP, NX. */
    if (user && !w.user)
        page_fault(cpu, linear, bits | X86_PF_P);
    if (access == X86_ACCESS_WRITE && !w.writable &&
        (user || (cpu->cr0 & X86_CR0_WP)))
        page_fault(cpu, linear, bits | X86_PF_P);
    if (access == X86_ACCESS_EXEC && !w.executable)
        page_fault(cpu, linear, bits | X86_PF_P);
    set_accessed_dirty(cpu, &w, size, access == X86_ACCESS_WRITE);
    return physical;
}
