/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hardware task switches (Intel SDM vol. 3, 7.3-7.6; vol. 2 "JMP", "CALL",
 * "INT n", "IRET" TASK-GATE / TASK-STATE-SEGMENT / TASK-RETURN): JMP or
 * CALL far to a TSS or a task gate, interrupts and exceptions through a
 * task gate of the IDT, IRET with EFLAGS.NT = 1. IA-32e mode has none of
 * this (7.7): the callers raise #GP there.
 */
#include "jit/x86/ops.h"
#include "jit/x86/system.h"

#define DESC_BUSY (2ull << 40)

/* The dynamic and static fields a switch loads (figures 7-2 and 7-10). */
struct tss_image {
    uint32_t cr3, eip, eflags, gpr[8];
    uint16_t seg[X86_SEG_COUNT];        /* ES, CS, SS, DS, FS, GS */
    uint16_t ldt;
    bool trap;                          /* T flag, 32-bit TSS only */
};

/* EFLAGS bits a task switch loads (SDM vol. 1, 3.4.3; bit 1 reads as 1). */
#define TASK_FLAGS (X86_ARITH_FLAGS | X86_TF | X86_IF | X86_DF | X86_IOPL | \
                    X86_NT | X86_RF | X86_VM | X86_AC | X86_VIF | X86_VIP | X86_ID)

static _Noreturn void fault(struct x86_cpu *cpu, unsigned vector, uint16_t selector,
                            unsigned ext)
{
    x86_raise_error(cpu, vector, (selector & 0xfffc) | ext);
}

static bool tss_is32(unsigned type)
{
    return type & 8;
}

/*
 * Read the new task's state. The upper words of the 16-bit task's registers
 * are "modified and not maintained" (7.6): Mimic fills them with ones. A
 * 16-bit TSS holds no FS, GS or CR3: FS and GS become null, CR3 stays (7.6).
 */
static void read_tss(struct x86_cpu *cpu, uint64_t base, bool is32,
                     struct tss_image *t)
{
    if (is32) {
        t->cr3 = x86_system_read(cpu, base + 0x1c, 4);
        t->eip = x86_system_read(cpu, base + 0x20, 4);
        t->eflags = x86_system_read(cpu, base + 0x24, 4);
        for (unsigned i = 0; i < 8; i++)
            t->gpr[i] = x86_system_read(cpu, base + 0x28 + 4 * i, 4);
        for (unsigned i = 0; i < X86_SEG_COUNT; i++)
            t->seg[i] = x86_system_read(cpu, base + 0x48 + 4 * i, 2);
        t->ldt = x86_system_read(cpu, base + 0x60, 2);
        t->trap = x86_system_read(cpu, base + 0x64, 2) & 1;
        return;
    }
    t->cr3 = cpu->cr3;
    t->eip = x86_system_read(cpu, base + 0x0e, 2);
    t->eflags = x86_system_read(cpu, base + 0x10, 2);
    for (unsigned i = 0; i < 8; i++)
        t->gpr[i] = 0xffff0000u | x86_system_read(cpu, base + 0x12 + 2 * i, 2);
    for (unsigned i = 0; i < 4; i++)
        t->seg[i] = x86_system_read(cpu, base + 0x22 + 2 * i, 2);
    t->seg[X86_FS] = t->seg[X86_GS] = 0;
    t->ldt = x86_system_read(cpu, base + 0x2a, 2);
    t->trap = false;
}

/* Step 7: the current task's dynamic fields go into its TSS (CR3, LDTR do not). */
static void save_tss(struct x86_cpu *cpu, uint64_t eip, uint32_t eflags)
{
    uint64_t base = cpu->tr.base;

    if (tss_is32(cpu->tr.flags & X86_SEGF_TYPE)) {
        x86_system_write(cpu, base + 0x20, 4, (uint32_t)eip);
        x86_system_write(cpu, base + 0x24, 4, eflags);
        for (unsigned i = 0; i < 8; i++)
            x86_system_write(cpu, base + 0x28 + 4 * i, 4, (uint32_t)cpu->gpr[i]);
        for (unsigned i = 0; i < X86_SEG_COUNT; i++)
            x86_system_write(cpu, base + 0x48 + 4 * i, 2, cpu->seg[i].selector);
        return;
    }
    /* The upper words of EIP, EFLAGS and the registers are lost (7.6). */
    x86_system_write(cpu, base + 0x0e, 2, eip & 0xffff);
    x86_system_write(cpu, base + 0x10, 2, eflags & 0xffff);
    for (unsigned i = 0; i < 8; i++)
        x86_system_write(cpu, base + 0x12 + 2 * i, 2, cpu->gpr[i] & 0xffff);
    for (unsigned i = 0; i < 4; i++)
        x86_system_write(cpu, base + 0x22 + 2 * i, 2, cpu->seg[i].selector);
}

/* Set or clear the busy flag of the TSS descriptor @selector in the GDT. */
static void set_busy(struct x86_cpu *cpu, uint16_t selector, bool busy)
{
    uint64_t at = cpu->gdt_base + (selector & ~7u) + 5;
    unsigned access = x86_system_read(cpu, at, 1);

    x86_system_write(cpu, at, 1, busy ? access | 2 : access & ~2u);
}

/* A descriptor of the new task's GDT/LDT, #TS past the table's limit. */
static uint64_t task_descriptor(struct x86_cpu *cpu, uint16_t selector, unsigned ext)
{
    uint16_t index = selector & ~7u;
    bool local = selector & 4;

    if (local ? (cpu->ldt.flags & X86_SEGF_UNUSABLE) || index + 7u > cpu->ldt.limit
              : index + 7u > cpu->gdt_limit)
        fault(cpu, X86_EXC_TS, selector, ext);
    return x86_read_descriptor(cpu, selector, X86_EXC_TS);
}

/* Table 7-1 rows 5 and 10: the new task's LDT. */
static void load_ldt(struct x86_cpu *cpu, uint16_t selector, unsigned ext)
{
    uint64_t raw;

    if ((selector & 0xfffc) == 0) {
        cpu->ldt.selector = selector;
        cpu->ldt.flags = X86_SEGF_UNUSABLE;
        return;
    }
    if (selector & 4)
        fault(cpu, X86_EXC_TS, selector, ext);
    raw = task_descriptor(cpu, selector, ext);
    if (((raw >> 40) & 0x1f) != 0x2 || !(raw & (1ull << 47)))
        fault(cpu, X86_EXC_TS, selector, ext);
    x86_descriptor_to_cache(raw, selector, &cpu->ldt);
}

static void commit_segment(struct x86_cpu *cpu, unsigned seg, uint16_t selector,
                           uint64_t raw)
{
    x86_set_accessed(cpu, selector, raw);
    x86_descriptor_to_cache(raw | (1ull << 40), selector, &cpu->seg[seg]);
}

/* Table 7-1 rows 6-17: CS, SS, then the data segments, at CPL = CS.RPL. */
static void load_segments(struct x86_cpu *cpu, const struct tss_image *t, unsigned ext)
{
    static const unsigned data[] = { X86_ES, X86_DS, X86_FS, X86_GS };
    uint16_t cs = t->seg[X86_CS], ss = t->seg[X86_SS];
    unsigned cpl = cs & 3, type, dpl;
    uint64_t raw;

    if ((cs & 0xfffc) == 0)
        fault(cpu, X86_EXC_TS, cs, ext);
    raw = task_descriptor(cpu, cs, ext);
    type = (raw >> 40) & 0x1f;
    dpl = (raw >> 45) & 3;
    if ((type & 0x18) != 0x18 || ((type & 4) ? dpl > cpl : dpl != cpl))
        fault(cpu, X86_EXC_TS, cs, ext);
    if (!(raw & (1ull << 47)))
        fault(cpu, X86_EXC_NP, cs, ext);
    commit_segment(cpu, X86_CS, cs, raw);
    x86_update_mode(cpu);

    if ((ss & 0xfffc) == 0 || (ss & 3) != cpl)
        fault(cpu, X86_EXC_TS, ss, ext);
    raw = task_descriptor(cpu, ss, ext);
    type = (raw >> 40) & 0x1f;
    if ((type & 0x1a) != 0x12 || ((raw >> 45) & 3) != cpl)
        fault(cpu, X86_EXC_TS, ss, ext);
    if (!(raw & (1ull << 47)))
        fault(cpu, X86_EXC_SS, ss, ext);
    commit_segment(cpu, X86_SS, ss, raw);

    for (unsigned i = 0; i < 4; i++) {
        uint16_t selector = t->seg[data[i]];
        struct x86_segment_cache *s = &cpu->seg[data[i]];

        if ((selector & 0xfffc) == 0) {
            s->selector = selector;
            s->base = s->limit = 0;
            s->flags = X86_SEGF_UNUSABLE;
            continue;
        }
        raw = task_descriptor(cpu, selector, ext);
        type = (raw >> 40) & 0x1f;
        dpl = (raw >> 45) & 3;
        /* Data or readable code; unless conforming code, DPL >= CPL, RPL. */
        if (!(type & 0x10) || (type & 0xa) == 0x8 ||
            ((type & 0xc) != 0xc && (dpl < cpl || dpl < (selector & 3))))
            fault(cpu, X86_EXC_TS, selector, ext);
        if (!(raw & (1ull << 47)))
            fault(cpu, X86_EXC_NP, selector, ext);
        commit_segment(cpu, data[i], selector, raw);
    }
}

/*
 * SWITCH-TASKS to the TSS @selector with descriptor @raw (7.3): @eip is the
 * old task's resume address. Callers have made the privilege and busy
 * checks of their kind of switch. Faults before step 10 belong to the old
 * task; from the register loads on they belong to the new one (7.3 step 12
 * and 13): cpu->rip is the new EIP by then. Returns the new TSS's T flag.
 */
static bool switch_tasks(struct x86_cpu *cpu, uint16_t selector, uint64_t raw,
                         enum x86_task_reason reason, uint64_t eip, unsigned ext)
{
    struct x86_segment_cache tr;
    bool is32 = tss_is32((raw >> 40) & 0xf);
    uint16_t old = cpu->tr.selector;
    uint32_t old_flags = cpu->rflags;
    struct tss_image t;
    bool nest = reason == X86_TASK_CALL || reason == X86_TASK_INTERRUPT;

    /* Step 3: a TSS too small for its format is #TS (7.2.2, table 7-1). */
    x86_descriptor_to_cache(raw | DESC_BUSY, selector, &tr);
    if (tr.limit < (is32 ? 0x67u : 0x2bu))
        fault(cpu, X86_EXC_TS, selector, ext);
    /* Step 4: read everything that can fault before writing anything. */
    read_tss(cpu, tr.base, is32, &t);
    if (tss_is32(cpu->tr.flags & X86_SEGF_TYPE))
        x86_system_read(cpu, cpu->tr.base + 0x5c, 4);
    else
        x86_system_read(cpu, cpu->tr.base + 0x28, 2);

    /* Steps 5-9: busy flags, NT, the old state and the back link (table 7-2). */
    if (reason == X86_TASK_JMP || reason == X86_TASK_IRET)
        set_busy(cpu, old, false);
    if (reason == X86_TASK_IRET)
        old_flags &= ~X86_NT;
    save_tss(cpu, eip, old_flags);
    if (nest) {
        x86_system_write(cpu, tr.base, 2, old);
        t.eflags |= X86_NT;
    }
    if (reason != X86_TASK_IRET)
        set_busy(cpu, selector, true);

    /* Step 10-11: TR, CR0.TS, CR3, then the registers of the new task. */
    cpu->tr = tr;
    cpu->cr0 |= X86_CR0_TS;
    if (cpu->dr[7] & 0x55) {
        cpu->dr[7] &= ~0x55ull;         /* L0-L3 (17.2.4) */
        x86_debug_update(cpu);
    }
    if (is32 && (cpu->cr0 & X86_CR0_PG))
        x86_write_cr3(cpu, t.cr3);      /* flushes the TLB */
    cpu->rflags = (t.eflags & TASK_FLAGS) | 2;
    for (unsigned i = 0; i < 8; i++)
        cpu->gpr[i] = t.gpr[i];
    for (unsigned i = 0; i < X86_SEG_COUNT; i++)
        cpu->seg[i].selector = t.seg[i];
    cpu->rip = cpu->next_rip = is32 ? t.eip : t.eip & 0xffff;
    cpu->code_break = true;             /* another CS, maybe another CR3 */
    x86_update_mode(cpu);

    /* Steps 12-13: the LDT and segment descriptors, in the new task. */
    load_ldt(cpu, t.ldt, ext);
    if (cpu->rflags & X86_VM) {
        for (unsigned i = 0; i < X86_SEG_COUNT; i++)
            x86_load_real_segment(cpu, i, t.seg[i]);
        x86_update_mode(cpu);
    } else {
        load_segments(cpu, &t, ext);
    }
    return t.trap;
}

/*
 * After SWITCH-TASKS: the new EIP must lie in the new CS (vol. 2, "JMP",
 * "CALL", "INT n", "IRET"); a TSS with the T flag set raises #DB before
 * the new task's first instruction (7.2.1, 17.3.1.5), as a new event.
 */
static void finish_switch(struct x86_cpu *cpu, bool trap, unsigned ext)
{
    if (cpu->next_rip > cpu->seg[X86_CS].limit)
        x86_raise_error(cpu, X86_EXC_GP, ext);
    if (trap) {
        cpu->dr[6] |= 1u << 15;         /* BT */
        cpu->event_class = X86_EVENT_NONE;
        x86_raise(cpu, X86_EXC_DB);
    }
}

/*
 * The TSS a task gate names (vol. 2, "JMP"/"CALL"/"INT n" TASK-GATE): in
 * the GDT, an available TSS (#GP: busy or not a TSS), present (#NP).
 */
static uint64_t gate_tss(struct x86_cpu *cpu, uint16_t tss, unsigned ext)
{
    unsigned type;
    uint64_t raw;

    if ((tss & 4) || (tss & ~7u) + 7u > cpu->gdt_limit || (tss & 0xfffc) == 0)
        fault(cpu, X86_EXC_GP, tss, ext);
    raw = x86_read_descriptor(cpu, tss, X86_EXC_GP);
    type = (raw >> 40) & 0x1f;
    if (type != 0x1 && type != 0x9)     /* not a TSS, or busy */
        fault(cpu, X86_EXC_GP, tss, ext);
    if (!(raw & (1ull << 47)))
        fault(cpu, X86_EXC_NP, tss, ext);
    return raw;
}

void x86_task_far_branch(struct x86_cpu *cpu, uint16_t selector, uint64_t raw,
                         enum x86_task_reason reason)
{
    unsigned type = (raw >> 40) & 0xf, dpl = (raw >> 45) & 3;
    unsigned cpl = x86_cpl(cpu);

    /* No task switches in IA-32e mode (7.7). */
    if (cpu->efer & X86_EFER_LMA)
        fault(cpu, X86_EXC_GP, selector, 0);
    if (dpl < cpl || dpl < (selector & 3))
        fault(cpu, X86_EXC_GP, selector, 0);
    if (type == 0x5) {                                  /* task gate */
        if (!(raw & (1ull << 47)))
            fault(cpu, X86_EXC_NP, selector, 0);
        selector = (raw >> 16) & 0xffff;
        raw = gate_tss(cpu, selector, 0);
    } else {                                            /* TSS, types 1 and 9 */
        if (selector & 4)
            fault(cpu, X86_EXC_GP, selector, 0);
        if (!(raw & (1ull << 47)))
            fault(cpu, X86_EXC_NP, selector, 0);
    }
    finish_switch(cpu, switch_tasks(cpu, selector, raw, reason, cpu->next_rip, 0), 0);
}

void x86_task_gate_interrupt(struct x86_cpu *cpu, uint64_t gate, bool ext,
                             uint64_t back, bool has_error, uint32_t error_code)
{
    uint16_t selector = (gate >> 16) & 0xffff;
    uint64_t raw = gate_tss(cpu, selector, ext);
    bool trap = switch_tasks(cpu, selector, raw, X86_TASK_INTERRUPT, back, ext);

    /* The error code goes on the new task's stack, sized by its TSS. */
    if (has_error)
        x86_push(cpu, tss_is32((raw >> 40) & 0xf) ? 4 : 2, error_code);
    finish_switch(cpu, trap, ext);
}

void x86_task_return(struct x86_cpu *cpu)
{
    uint16_t link;
    uint64_t raw;

    if (cpu->efer & X86_EFER_LMA)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    /* vol. 2 "IRET" TASK-RETURN: the link must name a busy TSS of the GDT. */
    link = x86_system_read(cpu, cpu->tr.base, 2);
    if ((link & 4) || (link & 0xfffc) == 0 || (link & ~7u) + 7u > cpu->gdt_limit)
        fault(cpu, X86_EXC_TS, link, 0);
    raw = x86_read_descriptor(cpu, link, X86_EXC_TS);
    if (((raw >> 40) & 0x1f) != 0x3 && ((raw >> 40) & 0x1f) != 0xb)
        fault(cpu, X86_EXC_TS, link, 0);
    if (!(raw & (1ull << 47)))
        fault(cpu, X86_EXC_NP, link, 0);
    finish_switch(cpu, switch_tasks(cpu, link, raw, X86_TASK_IRET, cpu->next_rip, 0), 0);
}
