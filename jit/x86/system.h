/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The system level of the x86 CPU shared by handlers and the execution loop:
 * paging, descriptors and segment loads, far transfers, interrupt and
 * exception delivery, MSRs (Intel SDM vol. 3, ch. 3-7).
 */
#pragma once

#include "jit/x86/cpu.h"

enum x86_access { X86_ACCESS_READ, X86_ACCESS_WRITE, X86_ACCESS_EXEC };

/* mem.c */
bool x86_canonical(uint64_t linear);
/* Host pointer for executing at @linear (RAM/ROM page), else NULL; the
 * physical address of @linear in *@physical. May raise #PF. */
uint8_t *x86_fetch_host(struct x86_cpu *cpu, uint64_t linear, uint64_t *physical);
uint64_t x86_physical_read(struct x86_cpu *cpu, uint64_t physical, unsigned size);
void x86_physical_write(struct x86_cpu *cpu, uint64_t physical, unsigned size,
                        uint64_t value);
/* Atomic against other vCPUs' accesses; false if @physical no longer holds @old. */
bool x86_physical_cmpxchg(struct x86_cpu *cpu, uint64_t physical, unsigned size,
                          uint64_t old, uint64_t value);

/* paging.c: linear to physical for @access, or #PF (SDM vol. 3, ch. 4). */
uint64_t x86_translate(struct x86_cpu *cpu, uint64_t linear,
                       enum x86_access access, bool user);

/* seg.c */
/* Decode an 8-byte descriptor into a segment cache (SDM vol. 3, 3.4.5). */
void x86_descriptor_to_cache(uint64_t raw, uint16_t selector,
                             struct x86_segment_cache *s);
/*
 * Read the descriptor @selector names from the GDT or LDT; raises
 * @vector(selector & ~3) when it lies beyond the table's limit.
 */
uint64_t x86_read_descriptor(struct x86_cpu *cpu, uint16_t selector,
                             unsigned vector);
/* The high 8 bytes of a 16-byte system descriptor (long mode). */
uint64_t x86_read_descriptor_high(struct x86_cpu *cpu, uint16_t selector,
                                  unsigned vector);
/* Set the accessed bit of @selector's descriptor in memory. */
void x86_set_accessed(struct x86_cpu *cpu, uint16_t selector, uint64_t raw);
/* MOV/POP to a data or stack segment register, LDS..LGS (SDM vol. 3, 5.4-5.5). */
void x86_load_segment(struct x86_cpu *cpu, unsigned seg, uint16_t selector);
/* Flat real-mode style load: base = selector << 4, attributes kept. */
void x86_load_real_segment(struct x86_cpu *cpu, unsigned seg, uint16_t selector);
/* Far JMP, CALL and RET (SDM vol. 3, 5.8; vol. 2 "JMP", "CALL", "RET"). */
void x86_far_jump(struct x86_cpu *cpu, uint16_t selector, uint64_t offset,
                  unsigned opsize);
void x86_far_call(struct x86_cpu *cpu, uint16_t selector, uint64_t offset,
                  unsigned opsize);
void x86_far_return(struct x86_cpu *cpu, unsigned opsize, unsigned release);
/* Data segments the new CPL may not use become null (RET/IRET to outer). */
void x86_null_inaccessible_segments(struct x86_cpu *cpu);
/* The inner-level stack of the current TSS for @cpl (32/16-bit TSS). */
void x86_tss_stack(struct x86_cpu *cpu, unsigned cpl, uint16_t *ss, uint64_t *sp);

/* task.c: hardware task switches (SDM vol. 3, 7.3); #GP in IA-32e mode. */
enum x86_task_reason { X86_TASK_JMP, X86_TASK_CALL, X86_TASK_IRET, X86_TASK_INTERRUPT };
/* JMP/CALL far to the TSS (type 1, 9) or task gate (type 5) @raw of @selector. */
void x86_task_far_branch(struct x86_cpu *cpu, uint16_t selector, uint64_t raw,
                         enum x86_task_reason reason);
/* An event through the IDT task gate @gate; @back is the old task's EIP. */
void x86_task_gate_interrupt(struct x86_cpu *cpu, uint64_t gate, bool ext,
                             uint64_t back, bool has_error, uint32_t error_code);
/* IRET with EFLAGS.NT = 1: back to the task in the TSS's previous task link. */
void x86_task_return(struct x86_cpu *cpu);

/* interrupt.c */
/*
 * Deliver interrupt @vector through the IVT or IDT (SDM vol. 3, 6.12,
 * 6.14; 20.1.4 for real mode). The handler's CS:RIP goes to cpu->next_rip
 * and cpu->rip is the return address pushed: cpu->next_rip for
 * X86_SOURCE_SOFTWARE and X86_SOURCE_ICEBP, cpu->rip otherwise.
 */
void x86_interrupt(struct x86_cpu *cpu, unsigned vector,
                   enum x86_event_source source, bool has_error,
                   uint32_t error_code);
/* IRET in every mode (SDM vol. 2, "IRET/IRETD/IRETQ"). */
void x86_iret(struct x86_cpu *cpu, unsigned opsize);
/*
 * After x86_raise long-jumped to the loop: deliver the exception, or a
 * double fault per SDM vol. 3, table 6-5. False: triple fault.
 */
bool x86_deliver_exception(struct x86_cpu *cpu);
/* Before an instruction: take a pending INTR if RFLAGS.IF and no shadow. */
bool x86_take_interrupt(struct x86_cpu *cpu);

/* exec.c: IRET ends NMI blocking, even when it faults (SDM vol. 3, 6.7.1). */
void x86_nmi_unblock(struct x86_cpu *cpu);

/* debug.c: breakpoints and single-step (SDM vol. 3, ch. 17). */
/* DR0-DR3 or DR7 changed (MOV DR, task switch, state load). */
void x86_debug_update(struct x86_cpu *cpu);
/*
 * Data breakpoints: the TLB caches no page x86_debug_watches_page names,
 * so every access there misses and reports itself to x86_debug_access.
 */
bool x86_debug_watches_page(const struct x86_cpu *cpu, uint64_t page);
void x86_debug_access(struct x86_cpu *cpu, uint64_t linear, unsigned size,
                      bool write);
/* The loop's hooks: instruction breakpoints and RF; per-iteration traps; traps. */
void x86_debug_before_fetch(struct x86_cpu *cpu, uint64_t linear);
void x86_debug_before_execute(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_debug_after(struct x86_cpu *cpu, uint64_t flags_before, uint64_t rip_before);
/* RF in the image a fault pushes (17.3.1.1). */
void x86_debug_before_exception(struct x86_cpu *cpu);

/* msr.c */
bool x86_msr_read(struct x86_cpu *cpu, uint32_t index, uint64_t *value);
/* The guest's TSC now (msr.c); EDX:EAX = TSC with RDTSC's CR4.TSD check (ops-misc.c). */
uint64_t x86_tsc_now(const struct x86_cpu *cpu);
void x86_rdtsc_to_edx_eax(struct x86_cpu *cpu);
bool x86_msr_write(struct x86_cpu *cpu, uint32_t index, uint64_t value);
/* MSR reset values (SDM vol. 4; table 9-1) and conversion to/from the state list. */
void x86_msr_reset(struct x86_cpu *cpu);
void x86_msr_to_state(const struct x86_cpu *cpu, struct x86_cpu_state *state);
void x86_msr_from_state(struct x86_cpu *cpu, const struct x86_cpu_state *state);
/* CR0/CR3/CR4/EFER writes with their checks and TLB effects (SDM vol. 3, 2.5). */
void x86_write_cr0(struct x86_cpu *cpu, uint64_t value);
void x86_write_cr3(struct x86_cpu *cpu, uint64_t value);
void x86_write_cr4(struct x86_cpu *cpu, uint64_t value);
bool x86_write_efer(struct x86_cpu *cpu, uint64_t value);

/* seg.c: checked descriptor fetches that commit nothing (for RET, IRET). */
/*
 * The stack segment @selector for privilege level @cpl (SDM vol. 3, 5.5 and
 * "MOV", "IRET"); a null selector is allowed only in 64-bit mode (@long64)
 * at @cpl < 3. Raises #GP/#SS with the selector.
 */
void x86_fetch_stack_segment(struct x86_cpu *cpu, uint16_t selector, unsigned cpl,
                             bool long64, struct x86_segment_cache *out);
/*
 * A code segment to return to (RET far, IRET) at RPL(@selector) from the
 * current CPL: RPL >= CPL, conforming DPL <= RPL, nonconforming DPL == RPL,
 * present. Raises #GP(selector) or #NP(selector).
 */
void x86_fetch_return_code_segment(struct x86_cpu *cpu, uint16_t selector,
                                   struct x86_segment_cache *out);
/* Commit a fetched CS (CPL = RPL) and recompute the mode. */
void x86_commit_code_segment(struct x86_cpu *cpu, const struct x86_segment_cache *cs);

/* Pushes onto a stack that is not (yet) SS:rSP, for stack switches. */
struct x86_new_stack {
    const struct x86_segment_cache *ss;
    uint64_t sp, mask;          /* mask: 0xffff, 0xffffffff or all ones */
    bool long64;                /* 64-bit: no segment checks, canonical */
    bool supervisor;            /* implicit supervisor accesses (inner level) */
    uint16_t error_selector;    /* #SS error code on limit violations */
};
void x86_new_stack_push(struct x86_cpu *cpu, struct x86_new_stack *st,
                        unsigned size, uint64_t value);
