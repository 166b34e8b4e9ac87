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
 *    fill is the hook where the page walk goes; today it maps linear ==
 *    physical (paging off), caching host pointers for RAM/ROM pages and
 *    sending device regions through memory_map_dispatch_*.
 */
#pragma once

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/x86-cpu-state.h"

struct memory_map;

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
    X86_EXC_PF = 14, X86_EXC_MF = 16, X86_EXC_AC = 17,
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
    X86_EXIT_EXCEPTION,  /* an exception the CPU cannot deliver yet */
    X86_EXIT_HLT,
    X86_EXIT_STOP,       /* x86_cpu_stop or an instruction asked to leave */
};

/* Soft TLB: direct mapped, one entry per linear page (SDM vol. 3, 4.10). */
#define X86_TLB_BITS 8
#define X86_TLB_SIZE (1u << X86_TLB_BITS)
#define X86_PAGE_SHIFT 12
#define X86_PAGE_SIZE (1ull << X86_PAGE_SHIFT)
#define X86_PAGE_MASK (~(X86_PAGE_SIZE - 1))

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

struct x86_insn;

struct x86_cpu {
    uint64_t gpr[16];
    uint64_t rip;
    uint64_t rflags;
    struct x86_segment_cache seg[X86_SEG_COUNT];
    uint64_t cr0, cr2, cr3, cr4, cr8, efer;
    enum x86_mode mode;

    /* Everything the interpreter does not model yet, kept for lossless
     * x86_cpu_get_state/x86_cpu_set_state. */
    struct x86_cpu_state rest;

    struct memory_map *memory;
    struct x86_tlb_entry tlb[X86_TLB_SIZE];

    /* Time stamp counter: read_tsc(opaque) + tsc_offset (SDM vol. 3, 18.17). */
    uint64_t (*read_tsc)(void *opaque);
    void *tsc_opaque;
    uint64_t tsc_offset;

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
    /* Set by a handler to leave the loop after this instruction. */
    enum x86_exit exit_request;
    bool exit_requested;
    uint64_t budget_left;
    uint64_t instructions;          /* retired, for statistics */
};

/* Setting up and tearing down. */
void x86_cpu_init(struct x86_cpu *cpu, struct memory_map *memory);
/* Power-on state (SDM vol. 3, 9.1.1, table 9-1). */
void x86_cpu_reset(struct x86_cpu *cpu);
/* Flat 64-bit user mode: long mode, CPL 3, flat segments, paging off. */
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

/* Raise an exception; long-jumps to the execution loop. */
_Noreturn void x86_raise(struct x86_cpu *cpu, unsigned vector);
_Noreturn void x86_raise_error(struct x86_cpu *cpu, unsigned vector,
                               uint32_t error_code);

/* Linear-address accesses of 1, 2, 4, 8 bytes; may raise. */
uint64_t x86_linear_read(struct x86_cpu *cpu, uint64_t linear, unsigned size);
void x86_linear_write(struct x86_cpu *cpu, uint64_t linear, unsigned size,
                      uint64_t value);
/* Instruction fetch of @size bytes into @buffer; may raise. */
void x86_linear_fetch(struct x86_cpu *cpu, uint64_t linear, uint8_t *buffer,
                      unsigned size);

static inline bool x86_long64(const struct x86_cpu *cpu)
{
    return cpu->mode == X86_MODE_LONG64;
}
