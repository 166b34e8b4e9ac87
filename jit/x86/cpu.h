/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The software x86 CPU: live state, the memory access path and the entry
 * points of the interpreter (Intel SDM vol. 1 ch. 3, vol. 3 ch. 2-3).
 *
 * Design: one source of truth for instruction semantics.
 *
 *  - decode.c turns bytes into a struct x86_insn (prefixes, operand and
 *    address sizes, ModRM/SIB, displacement, immediates) and picks a handler
 *    from optable.c. The decoded instruction is self-contained: it holds
 *    everything the handler needs, so it can be cached per guest block.
 *  - Each instruction's semantics is one handler, void fn(cpu, insn), in
 *    ops-*.c. Handlers reach operands only through the accessors in ops.h
 *    (x86_rm_read, x86_reg_write, x86_mem_read, push/pop...) and compute
 *    results and flags with the pure helpers of alu.h (x86_alu_add...,
 *    eager EFLAGS, exact including the undefined-but-stable bits).
 *  - The interpreter (exec.c) is: decode, call handler, commit next_rip.
 *    The translator (a later issue) will emit, per cached instruction, a call
 *    to the same handler with the same decoded struct (call-threaded code),
 *    then inline hot handlers built from the same alu.h helpers. No second
 *    copy of any instruction's meaning exists.
 *  - Faults: a handler or accessor calls x86_raise(), which long-jumps back
 *    to the execution loop with RIP still at the faulting instruction.
 *    Handlers do every access that can fault before they write registers,
 *    so a faulting instruction leaves no partial state (string instructions
 *    commit each iteration, which is what makes them restartable).
 *  - Memory: linear address -> soft TLB (mem.c) -> struct memory_map. The TLB
 *    fill walks the page tables (paging.c), caching host pointers for
 *    RAM/ROM pages and sending device regions through memory_map_dispatch_*.
 *  - System level (system.h): segmentation (seg.c), interrupts and
 *    exceptions (interrupt.c), control registers and MSRs (msr.c); the
 *    platform's chips are reached through struct x86_platform_ops.
 */
#pragma once

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/x86-cpu-state.h"

struct memory_map;

/* A #PF error code bit (SDM vol. 3, 4.7). */
#define X86_PF_P    1u
#define X86_PF_W    2u
#define X86_PF_U    4u
#define X86_PF_RSVD 8u
#define X86_PF_I    16u

/* Segment registers in ModRM/prefix encoding order (SDM vol. 2, 3.1.1.3). */
enum x86_seg {
    X86_ES, X86_CS, X86_SS, X86_DS, X86_FS, X86_GS,
    X86_SEG_COUNT,
    X86_SEG_NONE = 0xff,
};

enum x86_gpr {
    X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
};

/* RFLAGS bits (SDM vol. 1, 3.4.3). */
#define X86_CF   0x0001u
#define X86_PF   0x0004u
#define X86_AF   0x0010u
#define X86_ZF   0x0040u
#define X86_SF   0x0080u
#define X86_TF   0x0100u
#define X86_IF   0x0200u
#define X86_DF   0x0400u
#define X86_OF   0x0800u
#define X86_IOPL 0x3000u
#define X86_NT   0x4000u
#define X86_RF   0x10000u
#define X86_VM   0x20000u
#define X86_AC   0x40000u
#define X86_VIF  0x80000u
#define X86_VIP  0x100000u
#define X86_ID   0x200000u
#define X86_ARITH_FLAGS (X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF | X86_OF)

/* Exception vectors (SDM vol. 3, 6.3.1). */
enum x86_vector {
    X86_EXC_DE = 0, X86_EXC_DB = 1, X86_EXC_BP = 3, X86_EXC_OF = 4,
    X86_EXC_BR = 5, X86_EXC_UD = 6, X86_EXC_NM = 7, X86_EXC_DF = 8,
    X86_EXC_TS = 10, X86_EXC_NP = 11, X86_EXC_SS = 12, X86_EXC_GP = 13,
    X86_EXC_PF = 14, X86_EXC_MF = 16, X86_EXC_AC = 17, X86_EXC_XM = 19,
};

/* Execution mode: what the decoder and the address path need to know. */
enum x86_mode {
    X86_MODE_REAL,      /* 16-bit, segments are selector << 4 */
    X86_MODE_PROT16,    /* protected, CS.D = 0 */
    X86_MODE_PROT32,    /* protected, CS.D = 1 */
    X86_MODE_COMPAT16,  /* long mode, CS.L = 0, CS.D = 0 */
    X86_MODE_COMPAT32,  /* long mode, CS.L = 0, CS.D = 1 */
    X86_MODE_LONG64,    /* long mode, CS.L = 1 */
};

/* Why x86_cpu_run returned. */
enum x86_exit {
    X86_EXIT_BUDGET,     /* ran the requested number of instructions */
    X86_EXIT_EXCEPTION,  /* an exception, when the CPU is not in system mode */
    X86_EXIT_HLT,
    X86_EXIT_STOP,       /* x86_cpu_stop or an instruction asked to leave */
    X86_EXIT_SHUTDOWN,   /* triple fault (SDM vol. 3, 6.15, interrupt 8) */
};

/* Soft TLB: direct mapped, one entry per linear page (SDM vol. 3, 4.10). */
#define X86_TLB_BITS 8
#define X86_TLB_SIZE (1u << X86_TLB_BITS)
#define X86_PAGE_SHIFT 12
#define X86_PAGE_SIZE (1ull << X86_PAGE_SHIFT)
#define X86_PAGE_MASK (~(X86_PAGE_SIZE - 1))
/* Tag bit 0: the translation was made for a user-mode (CPL 3) access. */
#define X86_TLB_USER 1ull

struct x86_tlb_entry {
    /* Page tag per access kind; all ones means no translation cached. */
    uint64_t tag_read, tag_write, tag_exec;
    /* host pointer = linear + addend when direct (RAM/ROM pages). */
    uintptr_t addend;
    bool direct;
    uint64_t physical;      /* physical address of the page */
};

/* Descriptor attributes kept in struct x86_segment_cache.flags (SDM vol. 3, 3.4.5). */
#define X86_SEGF_TYPE     0x000fu
#define X86_SEGF_S        0x0010u
#define X86_SEGF_DPL_SHIFT 5
#define X86_SEGF_DPL      0x0060u
#define X86_SEGF_P        0x0080u
#define X86_SEGF_AVL      0x0100u
#define X86_SEGF_L        0x0200u
#define X86_SEGF_DB       0x0400u
#define X86_SEGF_G        0x0800u
#define X86_SEGF_UNUSABLE 0x1000u

struct x86_segment_cache {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint16_t flags;         /* descriptor attributes, as in X86_SEGF_* */
};

/* Control register bits (SDM vol. 3, 2.5). */
#define X86_CR0_PE (1ull << 0)
#define X86_CR0_MP (1ull << 1)
#define X86_CR0_EM (1ull << 2)
#define X86_CR0_TS (1ull << 3)
#define X86_CR0_ET (1ull << 4)
#define X86_CR0_NE (1ull << 5)
#define X86_CR0_WP (1ull << 16)
#define X86_CR0_AM (1ull << 18)
#define X86_CR0_NW (1ull << 29)
#define X86_CR0_CD (1ull << 30)
#define X86_CR0_PG (1ull << 31)
#define X86_CR4_VME (1ull << 0)
#define X86_CR4_PVI (1ull << 1)
#define X86_CR4_TSD (1ull << 2)
#define X86_CR4_DE  (1ull << 3)
#define X86_CR4_PSE (1ull << 4)
#define X86_CR4_PAE (1ull << 5)
#define X86_CR4_MCE (1ull << 6)
#define X86_CR4_PGE (1ull << 7)
#define X86_CR4_PCE (1ull << 8)
#define X86_CR4_OSFXSR (1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define X86_CR4_OSXSAVE (1ull << 18)
#define X86_EFER_SCE (1ull << 0)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define X86_EFER_NXE (1ull << 11)

/* Model-specific registers the CPU keeps (SDM vol. 4, ch. 2). */
#define X86_MSR_TSC 0x10
#define X86_MSR_APIC_BASE 0x1b
#define X86_MSR_MTRRCAP 0xfe
#define X86_MSR_SYSENTER_CS 0x174
#define X86_MSR_SYSENTER_ESP 0x175
#define X86_MSR_SYSENTER_EIP 0x176
#define X86_MSR_MISC_ENABLE 0x1a0
#define X86_MSR_MTRR_PHYS_BASE0 0x200
#define X86_MSR_MTRR_FIX64K_00000 0x250
#define X86_MSR_MTRR_FIX16K_80000 0x258
#define X86_MSR_MTRR_FIX16K_A0000 0x259
#define X86_MSR_MTRR_FIX4K_C0000 0x268
#define X86_MSR_PAT 0x277
#define X86_MSR_MTRR_DEF_TYPE 0x2ff
#define X86_MSR_TSC_DEADLINE 0x6e0
#define X86_MSR_EFER 0xc0000080
#define X86_MSR_STAR 0xc0000081
#define X86_MSR_LSTAR 0xc0000082
#define X86_MSR_CSTAR 0xc0000083
#define X86_MSR_FMASK 0xc0000084
#define X86_MSR_FS_BASE 0xc0000100
#define X86_MSR_GS_BASE 0xc0000101
#define X86_MSR_KERNEL_GS_BASE 0xc0000102
#define X86_MSR_TSC_AUX 0xc0000103

struct x86_msrs {
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t star, lstar, cstar, fmask, kernel_gs_base, tsc_aux;
    uint64_t pat, misc_enable, mtrr_def_type, tsc_deadline;
    uint64_t mtrr_fixed[11];    /* 250, 258, 259, 268-26F */
    uint64_t mtrr_var[16];      /* 200-20F */
};

/*
 * What the CPU needs from the platform around it (the accelerator's chips):
 * interrupt acknowledge, the APIC MSRs. Any of them may be NULL.
 */
struct x86_platform_ops {
    /* INTR acknowledge: the vector to deliver, or -1 if none is pending. */
    int (*acknowledge_interrupt)(void *opaque);
    /* IA32_APIC_BASE and IA32_TSC_DEADLINE reads and writes; false: #GP. */
    bool (*read_msr)(void *opaque, uint32_t index, uint64_t *value);
    bool (*write_msr)(void *opaque, uint32_t index, uint64_t value);
    /* MOV CR8 (the local APIC's TPR, SDM vol. 3, 10.8.6.1). */
    uint64_t (*read_cr8)(void *opaque);
    void (*write_cr8)(void *opaque, uint64_t value);
    /*
     * x87 errors with CR0.NE clear (SDM vol. 1, 8.7.2 and D.2): the FERR#
     * output (a PC latches it into IRQ 13), and the IGNNE# input (the PC
     * asserts it after a write to port F0h, until FERR# goes inactive).
     * Without set_ferr, x87 errors raise #MF whatever CR0.NE says.
     */
    void (*set_ferr)(void *opaque, bool asserted);
    bool (*ignne)(void *opaque);
};

/* The kind of event being delivered, for the double-fault rules (6.15). */
enum x86_event_class {
    X86_EVENT_NONE,
    X86_EVENT_BENIGN,
    X86_EVENT_CONTRIBUTORY,
    X86_EVENT_PAGE_FAULT,
    X86_EVENT_DOUBLE_FAULT,
};

/* How an interrupt arrives (SDM vol. 3, 6.12: EXT bit, gate DPL check). */
enum x86_event_source {
    X86_SOURCE_EXCEPTION,   /* processor-detected, EXT = 1 */
    X86_SOURCE_EXTERNAL,    /* INTR, NMI: EXT = 1 */
    X86_SOURCE_SOFTWARE,    /* INT n, INT3, INTO: gate DPL checked */
    X86_SOURCE_ICEBP,       /* INT1: EXT = 1, no DPL check */
};

/*
 * x87, MMX and SSE state (SDM vol. 1, 8.1, 9.2, 10.2). The x87 registers
 * are kept by physical number R0-R7 (ST(i) is R((TOP + i) & 7), MMi is Ri);
 * the tag word is abridged as in FXSAVE: bit i set when Ri is not empty.
 */
struct x86_fpu {
    uint16_t fcw, fsw;          /* FSW includes TOP in bits 13:11 */
    uint8_t ftw;
    uint16_t fop;               /* last non-control opcode, 11 bits */
    uint64_t fip, fdp;          /* last instruction and operand offsets */
    uint16_t fcs, fds;
    uint8_t st[8][10];          /* 80-bit registers, little-endian */
    uint32_t mxcsr;
    uint8_t xmm[16][16];
};

/*
 * The debug registers as the loop and the memory path use them (debug.c,
 * SDM vol. 3, 17.2): recomputed when DR0-DR3 or DR7 change.
 */
struct x86_debug {
    uint64_t start[4], last[4];     /* bytes breakpoint n covers (DR7 LEN) */
    uint8_t exec, read, write, io;  /* enabled breakpoints by kind, bit n: DRn */
    bool data;                      /* read/write breakpoints: pages kept out of the TLB */
    uint32_t hits;                  /* DR6 B0-B3 hit by this instruction's accesses */
    uint32_t pending;               /* DR6 bits held over a MOV SS or POP SS */
};

struct x86_insn;
struct x86_block;
struct x86_code_cache;
struct x86_code_sharing;

struct x86_cpu {
    uint64_t gpr[16];
    uint64_t rip;
    uint64_t rflags;
    struct x86_segment_cache seg[X86_SEG_COUNT];
    struct x86_segment_cache ldt, tr;
    uint64_t gdt_base, idt_base;
    uint16_t gdt_limit, idt_limit;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer;
    uint64_t dr[8];
    struct x86_debug debug;
    struct x86_msrs msr;
    enum x86_mode mode;
    uint8_t apic_id;                /* CPUID.1:EBX[31:24] */
    struct x86_fpu fpu;
    uint64_t xcr0;                  /* XCR0 (SDM vol. 1, 13.3), xsave.c */

    /* Everything the interpreter does not model yet, kept for lossless
     * x86_cpu_get_state/x86_cpu_set_state. */
    struct x86_cpu_state rest;

    struct memory_map *memory;
    struct memory_map *io;          /* port I/O space; NULL: ports read ones */
    struct x86_tlb_entry tlb[X86_TLB_SIZE];
    bool tlb_has_large;             /* a large page is cached: INVLPG flushes all */

    /*
     * System mode: exceptions and interrupts are delivered through the IDT
     * (the accelerator). Without it, x86_cpu_run returns X86_EXIT_EXCEPTION
     * at the first exception (user-mode runs and unit tests).
     */
    bool system;
    const struct x86_platform_ops *platform;
    void *platform_opaque;
    /* Set (any thread) when the platform may have an interrupt for INTR. */
    int interrupt_request;
    /* An NMI is latched (any thread; one deep), NMIs blocked until IRET (6.7.1). */
    int nmi_pending;
    bool nmi_blocked;
    /* Interrupts blocked until after the next instruction (STI, MOV SS). */
    uint8_t interrupt_shadow;
    /* What the loop looks at before each instruction, in one test. */
    union {
        struct {
            bool halted;
            bool debug_active;      /* breakpoints armed or a debug trap waits */
        };
        uint16_t loop_attention;
    };
    enum x86_event_class event_class;   /* delivering an event of this class */
    /* Implicit supervisor-mode access (descriptor tables, TSS, 4.6). */
    bool implicit_supervisor;

    /* Time stamp counter: read_tsc(opaque) + tsc_offset (SDM vol. 3, 18.17). */
    uint64_t (*read_tsc)(void *opaque);
    void *tsc_opaque;
    uint64_t tsc_offset;

    /*
     * Decoded-instruction cache (code-cache.c), allocated on first use. The
     * loop takes the next instruction of @block while RIP's linear address
     * is @block_linear and nothing set @code_break (TLB flush, code write).
     */
    struct x86_code_cache *code;
    const struct x86_block *block;
    unsigned block_next;
    uint64_t block_linear;
    bool code_break;
    /* Several vCPUs (code-cache.h): this one is @code_sharing_index there. */
    struct x86_code_sharing *code_sharing;
    unsigned code_sharing_index;

    /* Per-instruction scratch of the execution loop. */
    uint64_t next_rip;
    const struct x86_insn *insn;
    sigjmp_buf fault;
    bool fault_armed;

    /* The last exception raised (valid on X86_EXIT_EXCEPTION). */
    uint8_t exception_vector;
    bool exception_has_error;
    uint32_t exception_error;
    uint64_t exception_address;     /* #PF linear address */

    volatile bool stop_requested;
    /* A REP string instruction ends its batch after this iteration (#DB). */
    bool string_break;
    /* x86_abort_instruction: back to the loop with nothing to deliver. */
    bool instruction_aborted;
    /* Set by a handler to leave the loop after this instruction. */
    enum x86_exit exit_request;
    bool exit_requested;
    uint64_t budget_left;
    uint64_t instructions;          /* retired, for statistics */
};

/* Setting up and tearing down. */
void x86_cpu_init(struct x86_cpu *cpu, struct memory_map *memory);
/* Free what the CPU allocated (the code cache); @cpu can be init'ed again. */
void x86_cpu_destroy(struct x86_cpu *cpu);
/* Power-on state (SDM vol. 3, 9.1.1, table 9-1). */
void x86_cpu_reset(struct x86_cpu *cpu);
/* Flat 64-bit user mode: long mode, CPL 3, flat segments, no paging walk. */
void x86_cpu_set_flat64(struct x86_cpu *cpu);

/* Conversion to and from the accelerator-neutral state; lossless. */
void x86_cpu_get_state(const struct x86_cpu *cpu, struct x86_cpu_state *state);
void x86_cpu_set_state(struct x86_cpu *cpu, const struct x86_cpu_state *state);

/* Run up to @budget instructions (a rep iteration batch counts as one). */
enum x86_exit x86_cpu_run(struct x86_cpu *cpu, uint64_t budget);
/* From any thread: make x86_cpu_run return soon. */
void x86_cpu_stop(struct x86_cpu *cpu);

/* Throw away every cached translation (CR3 load, mode change, map change). */
void x86_tlb_flush(struct x86_cpu *cpu);
/* INVLPG: drop the translations of the page holding @linear. */
void x86_tlb_flush_page(struct x86_cpu *cpu, uint64_t linear);
/*
 * Guest code at [@physical, @physical + @length) was written other than by
 * this CPU's stores (DMA, a loader, another vCPU): drop its decoded blocks.
 * Call on the vCPU's thread or while it is stopped.
 */
void x86_code_invalidate_range(struct x86_cpu *cpu, uint64_t physical,
                               uint64_t length);
/* Drop every decoded block (the memory map changed: ROM/RAM remapped). */
void x86_code_flush(struct x86_cpu *cpu);
/* Recompute cpu->mode from CR0, EFER, CS and RFLAGS (no TLB flush). */
void x86_update_mode(struct x86_cpu *cpu);
/* INIT (SDM vol. 3, 9.1.1): like RESET, but keeps the MSRs, x87/SSE state. */
void x86_cpu_init_signal(struct x86_cpu *cpu);
/* From any thread: the platform's INTR may be asserted; wake the loop. */
static inline void x86_cpu_request_interrupt(struct x86_cpu *cpu)
{
    __atomic_store_n(&cpu->interrupt_request, 1, __ATOMIC_RELEASE);
}
/* From any thread: an NMI for this CPU (SDM vol. 3, 6.7); wake the loop. */
static inline void x86_cpu_request_nmi(struct x86_cpu *cpu)
{
    __atomic_store_n(&cpu->nmi_pending, 1, __ATOMIC_SEQ_CST);
    x86_cpu_request_interrupt(cpu);
}

/* Raise an exception; long-jumps to the execution loop. */
_Noreturn void x86_raise(struct x86_cpu *cpu, unsigned vector);
_Noreturn void x86_raise_error(struct x86_cpu *cpu, unsigned vector,
                               uint32_t error_code);
/* Leave the instruction unexecuted, RIP on it, with no exception (a CPU
 * that froze: FERR# with CR0.NE clear). */
_Noreturn void x86_abort_instruction(struct x86_cpu *cpu);

/* Linear-address accesses of 1, 2, 4, 8 bytes, at the current privilege
 * (or supervisor while cpu->implicit_supervisor is set); may raise. */
uint64_t x86_linear_read(struct x86_cpu *cpu, uint64_t linear, unsigned size);
void x86_linear_write(struct x86_cpu *cpu, uint64_t linear, unsigned size,
                      uint64_t value);
/* Instruction fetch of @size bytes into @buffer; may raise. */
void x86_linear_fetch(struct x86_cpu *cpu, uint64_t linear, uint8_t *buffer,
                      unsigned size);

/* Supervisor-mode accesses to descriptor tables and the TSS. */
uint64_t x86_system_read(struct x86_cpu *cpu, uint64_t linear, unsigned size);
void x86_system_write(struct x86_cpu *cpu, uint64_t linear, unsigned size,
                      uint64_t value);

static inline bool x86_long64(const struct x86_cpu *cpu)
{
    return cpu->mode == X86_MODE_LONG64;
}
