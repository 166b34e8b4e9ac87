/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Architectural state of one x86 CPU and of the PC platform's interrupt and
 * timer chips, independent of the accelerator that runs them, so that KVM
 * and the JIT save and restore the same thing (Intel SDM vol. 3, ch. 2-3).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct x86_segment {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint8_t type, present, dpl, db, s, l, g, avl, unusable;
};

struct x86_dtable {
    uint64_t base;
    uint16_t limit;
};

#define X86_MAX_MSRS 64
#define X86_XSAVE_SIZE 4096

struct x86_msr {
    uint32_t index;
    uint64_t value;
};

enum x86_mp_state {
    X86_MP_RUNNABLE,
    X86_MP_UNINITIALIZED,   /* AP waiting for INIT */
    X86_MP_INIT_RECEIVED,   /* AP waiting for SIPI */
    X86_MP_HALTED,
};

struct x86_cpu_state {
    uint64_t gpr[16];       /* rax rcx rdx rbx rsp rbp rsi rdi r8..r15 */
    uint64_t rip, rflags;
    struct x86_segment cs, ds, es, fs, gs, ss, tr, ldt;
    struct x86_dtable gdt, idt;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer, apic_base;
    uint64_t dr[8];         /* dr0-3, unused 4-5, dr6, dr7 */
    uint64_t xcr0;
    /* XSAVE area in the standard (non-compacted) format, x87/SSE first. */
    uint8_t xsave[X86_XSAVE_SIZE];
    unsigned nr_msrs;
    struct x86_msr msrs[X86_MAX_MSRS];
    /* Local APIC register page (the 4 KiB MMIO layout, first 1 KiB). */
    uint8_t lapic[1024];
    enum x86_mp_state mp_state;
    /* Pending events. */
    bool exception_pending, exception_has_error_code;
    uint8_t exception_vector;
    uint32_t exception_error_code;
    bool interrupt_pending, interrupt_soft;
    uint8_t interrupt_vector;
    uint8_t interrupt_shadow;
    bool nmi_pending, nmi_masked;
    uint32_t sipi_vector;
};

/* One 8259A (Intel 8259A data sheet). */
struct x86_pic_state {
    uint8_t last_irr, irr, imr, isr, priority_add, irq_base, read_reg_select;
    uint8_t poll, special_mask, init_state, auto_eoi, rotate_on_auto_eoi;
    uint8_t special_fully_nested_mode, init4, elcr, elcr_mask;
};

#define X86_IOAPIC_PINS 24

struct x86_ioapic_state {
    uint64_t base_address;
    uint32_t ioregsel, id, irr;
    uint64_t redirection[X86_IOAPIC_PINS];
};

/* One 8254 counter (Intel 8254 data sheet). */
struct x86_pit_channel {
    uint32_t count;
    uint16_t latched_count;
    uint8_t count_latched, status_latched, status, read_state, write_state;
    uint8_t write_latch, rw_mode, mode, bcd, gate;
    int64_t count_load_time;
};

struct x86_platform_state {
    struct x86_pic_state pic[2];
    struct x86_ioapic_state ioapic;
    struct x86_pit_channel pit[3];
    uint32_t pit_flags;
    uint64_t clock_ns;      /* guest clock (kvmclock) */
    /* The JIT's FERR# (bit 0) and IGNNE# (bit 1) lines (CR0.NE = 0 x87
     * errors); KVM handles those in the kernel and leaves them 0. */
    uint32_t x87_error_lines;
};
