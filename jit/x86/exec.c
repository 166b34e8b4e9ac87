/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The interpreter loop (fetch, decode, call the handler, commit RIP), reset
 * state, and conversion to and from struct x86_cpu_state.
 */
#include "jit/x86/cpu.h"

#include <string.h>
#include <time.h>

#include "jit/x86/code-cache.h"
#include "jit/x86/decode.h"
#include "jit/x86/fpu.h"
#include "jit/x86/ops.h"
#include "jit/x86/system.h"

/* Default TSC: the host's monotonic clock in nanoseconds (a 1 GHz TSC). */
static uint64_t monotonic_tsc(void *opaque)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void x86_cpu_init(struct x86_cpu *cpu, struct memory_map *memory)
{
    memset(cpu, 0, sizeof(*cpu));
    cpu->memory = memory;
    cpu->read_tsc = monotonic_tsc;
    x86_cpu_reset(cpu);
}

void x86_cpu_destroy(struct x86_cpu *cpu)
{
    x86_code_free(cpu);
}

static void load_segment(struct x86_segment_cache *s, uint16_t selector,
                         uint64_t base, uint32_t limit, uint16_t flags)
{
    s->selector = selector;
    s->base = base;
    s->limit = limit;
    s->flags = flags;
}

/* Derive the execution mode from CR0.PE, EFER.LMA, CS.L/D and RFLAGS.VM. */
void x86_update_mode(struct x86_cpu *cpu)
{
    uint16_t cs = cpu->seg[X86_CS].flags;
    bool db = cs & X86_SEGF_DB;

    if (!(cpu->cr0 & X86_CR0_PE))
        cpu->mode = X86_MODE_REAL;
    else if (cpu->rflags & X86_VM)
        cpu->mode = X86_MODE_PROT16;    /* virtual-8086: CPL 3, 16-bit */
    else if (cpu->efer & X86_EFER_LMA)
        cpu->mode = (cs & X86_SEGF_L) ? X86_MODE_LONG64
                  : db ? X86_MODE_COMPAT32 : X86_MODE_COMPAT16;
    else
        cpu->mode = db ? X86_MODE_PROT32 : X86_MODE_PROT16;
}

/* Table 9-1 for what RESET and INIT share. */
static void reset_common(struct x86_cpu *cpu)
{
    const uint16_t data = 0x3 | X86_SEGF_S | X86_SEGF_P;   /* read/write, accessed */
    const uint16_t code = 0xb | X86_SEGF_S | X86_SEGF_P;   /* execute/read, accessed */

    memset(cpu->gpr, 0, sizeof(cpu->gpr));
    cpu->gpr[X86_RDX] = 0x00000610;     /* CPUID.1:EAX */
    cpu->rip = 0xfff0;
    cpu->rflags = 2;
    for (unsigned i = 0; i < X86_SEG_COUNT; i++)
        load_segment(&cpu->seg[i], 0, 0, 0xffff, data);
    load_segment(&cpu->seg[X86_CS], 0xf000, 0xffff0000, 0xffff, code);
    cpu->cr0 = 0x60000010;
    cpu->cr2 = cpu->cr3 = cpu->cr4 = cpu->cr8 = cpu->efer = 0;
    cpu->gdt_base = cpu->idt_base = 0;
    cpu->gdt_limit = cpu->idt_limit = 0xffff;
    load_segment(&cpu->ldt, 0, 0, 0xffff, 0x2 | X86_SEGF_P);
    load_segment(&cpu->tr, 0, 0, 0xffff, 0xb | X86_SEGF_P);
    memset(cpu->dr, 0, sizeof(cpu->dr));
    cpu->dr[6] = 0xffff0ff0;
    cpu->dr[7] = 0x400;
    cpu->interrupt_shadow = 0;
    cpu->halted = false;
    cpu->event_class = X86_EVENT_NONE;
    cpu->implicit_supervisor = false;
    memset(&cpu->debug, 0, sizeof(cpu->debug));
    x86_debug_update(cpu);
    cpu->nmi_pending = 0;
    cpu->nmi_blocked = false;
    x86_update_mode(cpu);
    x86_tlb_flush(cpu);
    x86_code_flush(cpu);
}

/* SDM vol. 3, 9.1.1, table 9-1. */
void x86_cpu_reset(struct x86_cpu *cpu)
{
    memset(&cpu->rest, 0, sizeof(cpu->rest));
    cpu->xcr0 = X86_XCR0_X87;
    cpu->rest.apic_base = 0xfee00000 | (1u << 11) | (1u << 8);
    cpu->rest.mp_state = X86_MP_RUNNABLE;
    x86_msr_reset(cpu);
    x86_fpu_reset(&cpu->fpu);
    cpu->tsc_offset = 0 - cpu->read_tsc(cpu->tsc_opaque);
    reset_common(cpu);
}

/* INIT keeps the MSRs, the x87/SSE state and the TSC (9.1.1, table 9-1). */
void x86_cpu_init_signal(struct x86_cpu *cpu)
{
    reset_common(cpu);
}

void x86_cpu_set_flat64(struct x86_cpu *cpu)
{
    const uint16_t data = 0x3 | X86_SEGF_S | X86_SEGF_P | (3 << X86_SEGF_DPL_SHIFT) |
                          X86_SEGF_DB | X86_SEGF_G;
    const uint16_t code = 0xb | X86_SEGF_S | X86_SEGF_P | (3 << X86_SEGF_DPL_SHIFT) |
                          X86_SEGF_L | X86_SEGF_G;

    for (unsigned i = 0; i < X86_SEG_COUNT; i++)
        load_segment(&cpu->seg[i], 0, 0, 0xffffffff, data);
    load_segment(&cpu->seg[X86_CS], 0x33, 0, 0xffffffff, code);
    cpu->seg[X86_SS].selector = 0x2b;
    /* Long mode without paging is not architectural; it is what user-mode
     * runs want: linear == physical, no page tables to build. */
    cpu->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE;
    cpu->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
    /* XSAVE enabled for x87 and SSE, as Linux sets it up. */
    if (X86_XCR0_SUPPORTED)
        cpu->cr4 |= X86_CR4_OSXSAVE;
    cpu->xcr0 = X86_XCR0_X87 | X86_XCR0_SUPPORTED;
    cpu->efer = X86_EFER_LME | X86_EFER_LMA;
    cpu->rflags = 0x202;
    x86_update_mode(cpu);
    x86_tlb_flush(cpu);
    x86_code_flush(cpu);
}

static void segment_to_state(struct x86_segment *d, const struct x86_segment_cache *s)
{
    d->base = s->base;
    d->limit = s->limit;
    d->selector = s->selector;
    d->type = s->flags & X86_SEGF_TYPE;
    d->s = !!(s->flags & X86_SEGF_S);
    d->dpl = (s->flags & X86_SEGF_DPL) >> X86_SEGF_DPL_SHIFT;
    d->present = !!(s->flags & X86_SEGF_P);
    d->avl = !!(s->flags & X86_SEGF_AVL);
    d->l = !!(s->flags & X86_SEGF_L);
    d->db = !!(s->flags & X86_SEGF_DB);
    d->g = !!(s->flags & X86_SEGF_G);
    d->unusable = !!(s->flags & X86_SEGF_UNUSABLE);
}

static void segment_from_state(struct x86_segment_cache *d, const struct x86_segment *s)
{
    d->base = s->base;
    d->limit = s->limit;
    d->selector = s->selector;
    d->flags = (s->type & X86_SEGF_TYPE) | (s->s ? X86_SEGF_S : 0) |
               ((s->dpl & 3) << X86_SEGF_DPL_SHIFT) | (s->present ? X86_SEGF_P : 0) |
               (s->avl ? X86_SEGF_AVL : 0) | (s->l ? X86_SEGF_L : 0) |
               (s->db ? X86_SEGF_DB : 0) | (s->g ? X86_SEGF_G : 0) |
               (s->unusable ? X86_SEGF_UNUSABLE : 0);
}

/* The state's segment fields in enum x86_seg order. */
static struct x86_segment *state_segment(struct x86_cpu_state *state, unsigned seg)
{
    struct x86_segment *order[X86_SEG_COUNT] = {
        &state->es, &state->cs, &state->ss, &state->ds, &state->fs, &state->gs,
    };

    return order[seg];
}

void x86_cpu_get_state(const struct x86_cpu *cpu, struct x86_cpu_state *state)
{
    *state = cpu->rest;
    memcpy(state->gpr, cpu->gpr, sizeof(state->gpr));
    state->rip = cpu->rip;
    state->rflags = cpu->rflags;
    for (unsigned i = 0; i < X86_SEG_COUNT; i++)
        segment_to_state(state_segment(state, i), &cpu->seg[i]);
    segment_to_state(&state->ldt, &cpu->ldt);
    segment_to_state(&state->tr, &cpu->tr);
    state->gdt.base = cpu->gdt_base;
    state->gdt.limit = cpu->gdt_limit;
    state->idt.base = cpu->idt_base;
    state->idt.limit = cpu->idt_limit;
    state->cr0 = cpu->cr0;
    state->cr2 = cpu->cr2;
    state->cr3 = cpu->cr3;
    state->cr4 = cpu->cr4;
    state->cr8 = cpu->cr8;
    state->efer = cpu->efer;
    memcpy(state->dr, cpu->dr, sizeof(state->dr));
    x86_msr_to_state(cpu, state);
    x86_xsave_to_state(cpu, state);
    state->interrupt_shadow = cpu->interrupt_shadow;
    state->nmi_pending = __atomic_load_n(&cpu->nmi_pending, __ATOMIC_ACQUIRE);
    state->nmi_masked = cpu->nmi_blocked;
    if (cpu->halted && state->mp_state == X86_MP_RUNNABLE)
        state->mp_state = X86_MP_HALTED;
}

void x86_cpu_set_state(struct x86_cpu *cpu, const struct x86_cpu_state *state)
{
    struct x86_cpu_state copy = *state;

    cpu->rest = *state;
    memcpy(cpu->gpr, state->gpr, sizeof(cpu->gpr));
    cpu->rip = state->rip;
    cpu->rflags = state->rflags;
    for (unsigned i = 0; i < X86_SEG_COUNT; i++)
        segment_from_state(&cpu->seg[i], state_segment(&copy, i));
    segment_from_state(&cpu->ldt, &copy.ldt);
    segment_from_state(&cpu->tr, &copy.tr);
    cpu->gdt_base = state->gdt.base;
    cpu->gdt_limit = state->gdt.limit;
    cpu->idt_base = state->idt.base;
    cpu->idt_limit = state->idt.limit;
    cpu->cr0 = state->cr0;
    cpu->cr2 = state->cr2;
    cpu->cr3 = state->cr3;
    cpu->cr4 = state->cr4;
    cpu->cr8 = state->cr8;
    cpu->efer = state->efer;
    memcpy(cpu->dr, state->dr, sizeof(cpu->dr));
    x86_msr_reset(cpu);
    x86_msr_from_state(cpu, state);
    x86_xsave_from_state(cpu, state);
    cpu->interrupt_shadow = state->interrupt_shadow;
    memset(&cpu->debug, 0, sizeof(cpu->debug));
    x86_debug_update(cpu);
    cpu->nmi_blocked = state->nmi_masked;
    __atomic_store_n(&cpu->nmi_pending, state->nmi_pending, __ATOMIC_RELEASE);
    if (state->nmi_pending)
        x86_cpu_request_interrupt(cpu);
    cpu->halted = state->mp_state == X86_MP_HALTED;
    if (cpu->halted)
        cpu->rest.mp_state = X86_MP_RUNNABLE;
    cpu->event_class = X86_EVENT_NONE;
    x86_update_mode(cpu);
    x86_tlb_flush(cpu);
    x86_code_flush(cpu);
}

void x86_cpu_stop(struct x86_cpu *cpu)
{
    __atomic_store_n(&cpu->stop_requested, true, __ATOMIC_RELEASE);
}

/* Wrap the instruction pointer to the code size outside 64-bit mode. */
static uint64_t wrap_ip(const struct x86_cpu *cpu, uint64_t ip)
{
    switch (cpu->mode) {
    case X86_MODE_LONG64:
        return ip;
    case X86_MODE_PROT32:
    case X86_MODE_COMPAT32:
        return (uint32_t)ip;
    default:
        return (uint16_t)ip;
    }
}

/*
 * One instruction; raises through cpu->fault. @debug (a constant in each
 * copy): the instruction goes through the checks of debug.c before and
 * after it.
 */
static inline __attribute__((always_inline)) void step(struct x86_cpu *cpu,
                                                       bool debug)
{
    struct x86_insn scratch;
    const struct x86_insn *insn;
    uint64_t linear = x86_long64(cpu) ? cpu->rip
                    : (uint32_t)(cpu->seg[X86_CS].base + cpu->rip);
    uint64_t flags_before = cpu->rflags, rip_before = cpu->rip;

    if (debug)
        x86_debug_before_fetch(cpu, linear);
    if (!x86_long64(cpu) && cpu->rip > cpu->seg[X86_CS].limit)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    insn = x86_code_fetch(cpu, linear, &scratch);
    /* The whole instruction must lie within CS (SDM vol. 3, 5.3). */
    if (!x86_long64(cpu) && cpu->rip + insn->length - 1 > cpu->seg[X86_CS].limit)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    cpu->block_linear = x86_long64(cpu) ? linear + insn->length
                      : (uint32_t)(linear + insn->length);
    cpu->interrupt_shadow = 0;
    cpu->insn = insn;
    cpu->next_rip = wrap_ip(cpu, cpu->rip + insn->length);
    if (debug)
        x86_debug_before_execute(cpu, insn);
    insn->handler(cpu, insn);
    cpu->rip = cpu->next_rip;
    cpu->instructions++;
    if (debug)
        x86_debug_after(cpu, flags_before, rip_before);
}

/* While a breakpoint is armed, TF or RF is set or a debug trap waits. */
static __attribute__((noinline)) void step_debug(struct x86_cpu *cpu)
{
    step(cpu, true);
}

/*
 * NMI (SDM vol. 3, 6.7, 6.7.1): not masked by IF, held off by the MOV SS/STI
 * shadow, and blocked from its delivery until the next IRET; one more NMI
 * stays pending meanwhile. It ends HLT.
 */
static bool take_nmi(struct x86_cpu *cpu)
{
    if (cpu->nmi_blocked || cpu->interrupt_shadow ||
        !__atomic_load_n(&cpu->nmi_pending, __ATOMIC_ACQUIRE))
        return false;
    __atomic_store_n(&cpu->nmi_pending, 0, __ATOMIC_SEQ_CST);
    cpu->nmi_blocked = true;
    cpu->halted = false;
    cpu->event_class = X86_EVENT_BENIGN;
    x86_interrupt(cpu, 2, X86_SOURCE_EXTERNAL, false, 0);
    cpu->rip = cpu->next_rip;
    cpu->event_class = X86_EVENT_NONE;
    return true;
}

/* NMI first, then INTR (table 6-2); an NMI still waiting keeps the loop looking. */
static void take_events(struct x86_cpu *cpu)
{
    if (take_nmi(cpu))
        return;
    x86_take_interrupt(cpu);
    if (!cpu->nmi_blocked && __atomic_load_n(&cpu->nmi_pending, __ATOMIC_ACQUIRE))
        x86_cpu_request_interrupt(cpu);
}

void x86_nmi_unblock(struct x86_cpu *cpu)
{
    if (!cpu->nmi_blocked)
        return;
    cpu->nmi_blocked = false;
    if (__atomic_load_n(&cpu->nmi_pending, __ATOMIC_ACQUIRE))
        x86_cpu_request_interrupt(cpu);
}

/*
 * The loop proper. It is apart from x86_cpu_run so that sigsetjmp there does
 * not make the compiler reload @cpu from the stack around every test here.
 */
static __attribute__((noinline)) enum x86_exit run_loop(struct x86_cpu *cpu)
{
    while (cpu->budget_left) {
        if (__atomic_load_n(&cpu->stop_requested, __ATOMIC_ACQUIRE)) {
            cpu->stop_requested = false;
            return X86_EXIT_STOP;
        }
        if (__atomic_load_n(&cpu->interrupt_request, __ATOMIC_ACQUIRE))
            take_events(cpu);
        if (__builtin_expect(cpu->loop_attention, 0)) {
            if (cpu->halted)
                return X86_EXIT_HLT;
            step_debug(cpu);
        } else if (__builtin_expect(cpu->rflags & (X86_TF | X86_RF), 0)) {
            step_debug(cpu);
        } else {
            step(cpu, false);
        }
        cpu->budget_left--;
        if (cpu->exit_requested)
            return cpu->exit_request;
    }
    return X86_EXIT_BUDGET;
}

/*
 * Faults long-jump back here. In system mode they are delivered through the
 * IDT and execution goes on; a fault while delivering a double fault shuts
 * the CPU down (SDM vol. 3, 6.15, interrupt 8).
 */
enum x86_exit x86_cpu_run(struct x86_cpu *cpu, uint64_t budget)
{
    enum x86_exit exit;

    cpu->budget_left = budget;
    cpu->exit_requested = false;
    if (sigsetjmp(cpu->fault, 0)) {
        cpu->insn = NULL;
        cpu->implicit_supervisor = false;
        cpu->string_break = false;
        if (cpu->instruction_aborted) {
            /* Not executed, nothing to deliver: RIP stays on it. */
            cpu->instruction_aborted = false;
        } else {
            if (!cpu->system) {
                cpu->fault_armed = false;
                return X86_EXIT_EXCEPTION;
            }
            x86_debug_before_exception(cpu);
            if (!x86_deliver_exception(cpu)) {
                cpu->fault_armed = false;
                cpu->event_class = X86_EVENT_NONE;
                return X86_EXIT_SHUTDOWN;
            }
            if (cpu->budget_left)
                cpu->budget_left--;
        }
    }
    cpu->fault_armed = true;
    exit = run_loop(cpu);
    cpu->fault_armed = false;
    return exit;
}
