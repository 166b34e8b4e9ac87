/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Interrupts and exceptions: delivery through the real-mode IVT, the
 * protected-mode IDT (with stack switches through the TSS) and the long-mode
 * IDT (IST), IRET in every mode, and the double/triple fault rules
 * (Intel SDM vol. 3, 6.4-6.15, 20.1.4; AMD APM vol. 2, 8.9).
 */
#include "jit/x86/ops.h"
#include "jit/x86/system.h"

/* EFLAGS bits IRET and POPF may load (SDM vol. 2, "IRET", "POPF"). */
#define IRET_FLAGS (X86_ARITH_FLAGS | X86_TF | X86_IF | X86_DF | X86_IOPL | \
                    X86_NT | X86_RF | X86_AC | X86_VIF | X86_VIP | X86_ID)

static bool has_error_code(unsigned vector)
{
    return vector == X86_EXC_DF || (vector >= X86_EXC_TS && vector <= X86_EXC_PF) ||
           vector == X86_EXC_AC || vector == 21;
}

/* Error code naming an IDT entry (6.13): IDT bit, EXT bit. */
static uint32_t idt_error(unsigned vector, bool ext)
{
    return vector * 8 + 2 + ext;
}

static void real_mode_interrupt(struct x86_cpu *cpu, unsigned vector, uint64_t back)
{
    uint64_t entry;

    if (vector * 4 + 3 > cpu->idt_limit)
        x86_raise_error(cpu, X86_EXC_GP, idt_error(vector, true));
    entry = x86_linear_read(cpu, (uint32_t)(cpu->idt_base + vector * 4), 4);
    x86_stack_write(cpu, -2, 2, cpu->rflags);
    x86_stack_write(cpu, -4, 2, cpu->seg[X86_CS].selector);
    x86_stack_write(cpu, -6, 2, back);
    x86_stack_adjust(cpu, -6);
    cpu->rflags &= ~(uint64_t)(X86_IF | X86_TF | X86_AC | X86_RF);
    x86_load_real_segment(cpu, X86_CS, entry >> 16);
    cpu->next_rip = entry & 0xffff;
}

/* The new SS for an inner privilege level, with #TS for a bad one (6.12.1). */
static void inner_stack_segment(struct x86_cpu *cpu, uint16_t selector, unsigned dpl,
                                struct x86_segment_cache *ss)
{
    uint64_t raw;

    if ((selector & 0xfffc) == 0 || (selector & 3) != dpl)
        x86_raise_error(cpu, X86_EXC_TS, selector & 0xfffc);
    raw = x86_read_descriptor(cpu, selector, X86_EXC_TS);
    if (!(raw & (1ull << 44)) || ((raw >> 40) & 0xa) != 0x2 ||
        ((raw >> 45) & 3) != dpl)
        x86_raise_error(cpu, X86_EXC_TS, selector & 0xfffc);
    if (!(raw & (1ull << 47)))
        x86_raise_error(cpu, X86_EXC_SS, selector & 0xfffc);
    x86_set_accessed(cpu, selector, raw);
    x86_descriptor_to_cache(raw | (1ull << 40), selector, ss);
}

static uint64_t read_idt_entry(struct x86_cpu *cpu, unsigned vector, unsigned size,
                               bool ext)
{
    if (vector * size + size - 1 > cpu->idt_limit)
        x86_raise_error(cpu, X86_EXC_GP, idt_error(vector, ext));
    return x86_system_read(cpu, cpu->idt_base + vector * size, 8);
}

static void protected_mode_interrupt(struct x86_cpu *cpu, unsigned vector,
                                     enum x86_event_source source, bool has_error,
                                     uint32_t error_code, uint64_t back)
{
    bool ext = source != X86_SOURCE_SOFTWARE;
    bool long_mode = cpu->efer & X86_EFER_LMA;
    uint64_t gate = read_idt_entry(cpu, vector, long_mode ? 16 : 8, ext), raw, high = 0;
    unsigned type = (gate >> 40) & 0x1f, cpl = x86_cpl(cpu), dpl, size, ist = 0;
    uint16_t selector = (gate >> 16) & 0xffff;
    uint64_t offset = (gate & 0xffff) | ((gate >> 32) & 0xffff0000);
    struct x86_segment_cache cs, ss = cpu->seg[X86_SS];
    struct x86_new_stack st;
    uint64_t old_flags = cpu->rflags;
    bool inner, v86 = cpu->rflags & X86_VM;

    /* Valid gates: 16/32-bit interrupt and trap gates; 64-bit ones in long mode. */
    if (long_mode ? (type != 0xe && type != 0xf)
                  : (type != 0x6 && type != 0x7 && type != 0xe && type != 0xf &&
                     type != 0x5))
        x86_raise_error(cpu, X86_EXC_GP, idt_error(vector, ext));
    if (source == X86_SOURCE_SOFTWARE && ((gate >> 45) & 3) < cpl)
        x86_raise_error(cpu, X86_EXC_GP, idt_error(vector, false));
    if (!(gate & (1ull << 47)))
        x86_raise_error(cpu, X86_EXC_NP, idt_error(vector, ext));
    if (type == 0x5) {  /* a task gate: switch tasks (7.3; 6.12.2) */
        x86_task_gate_interrupt(cpu, gate, ext, back, has_error, error_code);
        return;
    }
    size = long_mode ? 8 : (type & 8) ? 4 : 2;
    if (long_mode) {
        high = x86_system_read(cpu, cpu->idt_base + vector * 16 + 8, 8);
        offset |= high << 32;
        ist = (gate >> 32) & 7;
    } else if (size == 2) {
        offset &= 0xffff;
    }

    /* The target code segment (6.12.1.1). */
    if ((selector & 0xfffc) == 0)
        x86_raise_error(cpu, X86_EXC_GP, ext);
    raw = x86_read_descriptor(cpu, selector, X86_EXC_GP);
    dpl = (raw >> 45) & 3;
    if (!(raw & (1ull << 44)) || !(raw & (1ull << 43)) || dpl > cpl)
        x86_raise_error(cpu, X86_EXC_GP, (selector & 0xfffc) | ext);
    if (!(raw & (1ull << 47)))
        x86_raise_error(cpu, X86_EXC_NP, (selector & 0xfffc) | ext);
    if (long_mode && (!(raw & (1ull << 53)) || (raw & (1ull << 54))))
        x86_raise_error(cpu, X86_EXC_GP, (selector & 0xfffc) | ext);
    inner = !(raw & (1ull << 42)) && dpl < cpl;
    if (!inner)
        dpl = cpl;
    if (v86 && !inner)
        x86_raise_error(cpu, X86_EXC_GP, (selector & 0xfffc) | ext);
    x86_set_accessed(cpu, selector, raw);
    x86_descriptor_to_cache(raw | (1ull << 40), (selector & ~3) | dpl, &cs);
    if (!long_mode && offset > cs.limit)
        x86_raise_error(cpu, X86_EXC_GP, ext);
    if (long_mode && !x86_canonical(offset))
        x86_raise_error(cpu, X86_EXC_GP, ext);

    st.ss = &ss;
    st.supervisor = dpl < 3;
    st.long64 = long_mode;
    if (long_mode) {
        /* 64-bit: SS:RSP always pushed, RSP 16-byte aligned (6.14.2). */
        uint16_t unused;

        st.mask = ~0ull;
        st.sp = cpu->gpr[X86_RSP];
        if (inner) {
            x86_tss_stack(cpu, dpl, &unused, &st.sp);
            ss.selector = dpl;
            ss.base = 0;
            ss.limit = 0;
            ss.flags = X86_SEGF_UNUSABLE | X86_SEGF_DB | (dpl << X86_SEGF_DPL_SHIFT);
        }
        if (ist) {
            unsigned at = 0x24 + (ist - 1) * 8;

            if (at + 7 > cpu->tr.limit)
                x86_raise_error(cpu, X86_EXC_TS, cpu->tr.selector & 0xfffc);
            st.sp = x86_system_read(cpu, cpu->tr.base + at, 8);
        }
        st.sp &= ~15ull;
        st.error_selector = 0;
        x86_new_stack_push(cpu, &st, 8, cpu->seg[X86_SS].selector);
        x86_new_stack_push(cpu, &st, 8, cpu->gpr[X86_RSP]);
    } else if (inner) {
        uint16_t new_ss;
        uint64_t new_sp;

        x86_tss_stack(cpu, dpl, &new_ss, &new_sp);
        inner_stack_segment(cpu, new_ss, dpl, &ss);
        st.mask = (ss.flags & X86_SEGF_DB) ? 0xffffffffull : 0xffff;
        st.sp = new_sp & st.mask;
        st.error_selector = new_ss & 0xfffc;
        if (v86) {
            x86_new_stack_push(cpu, &st, size, cpu->seg[X86_GS].selector);
            x86_new_stack_push(cpu, &st, size, cpu->seg[X86_FS].selector);
            x86_new_stack_push(cpu, &st, size, cpu->seg[X86_DS].selector);
            x86_new_stack_push(cpu, &st, size, cpu->seg[X86_ES].selector);
        }
        x86_new_stack_push(cpu, &st, size, cpu->seg[X86_SS].selector);
        x86_new_stack_push(cpu, &st, size,
                           cpu->gpr[X86_RSP] & x86_mask(x86_stack_width(cpu)));
    } else {
        st.mask = x86_mask(x86_stack_width(cpu));
        st.sp = cpu->gpr[X86_RSP] & st.mask;
        st.error_selector = 0;
    }
    x86_new_stack_push(cpu, &st, size, old_flags);
    x86_new_stack_push(cpu, &st, size, cpu->seg[X86_CS].selector);
    x86_new_stack_push(cpu, &st, size, back);
    if (has_error)
        x86_new_stack_push(cpu, &st, size, error_code);

    /* Commit: nothing below can fault. */
    if (v86) {
        static const unsigned segs[] = { X86_ES, X86_DS, X86_FS, X86_GS };

        for (unsigned i = 0; i < 4; i++) {
            cpu->seg[segs[i]].selector = 0;
            cpu->seg[segs[i]].flags = X86_SEGF_UNUSABLE;
        }
    }
    cpu->rflags &= ~(uint64_t)(X86_TF | X86_NT | X86_VM | X86_RF);
    if (!(type & 1))
        cpu->rflags &= ~(uint64_t)X86_IF;
    x86_commit_code_segment(cpu, &cs);
    cpu->seg[X86_SS] = ss;
    if (st.mask == ~0ull)
        cpu->gpr[X86_RSP] = st.sp;
    else
        cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~st.mask) | st.sp;
    cpu->next_rip = offset;
}

void x86_interrupt(struct x86_cpu *cpu, unsigned vector,
                   enum x86_event_source source, bool has_error,
                   uint32_t error_code)
{
    uint64_t back = source == X86_SOURCE_SOFTWARE || source == X86_SOURCE_ICEBP
                  ? cpu->next_rip : cpu->rip;

    if (cpu->mode == X86_MODE_REAL)
        real_mode_interrupt(cpu, vector, back);
    else
        protected_mode_interrupt(cpu, vector, source, has_error, error_code, back);
}

/* The flags IRET may change from @cpl with IOPL @iopl, for @size. */
static uint64_t iret_flags(uint64_t old, uint64_t image, unsigned cpl,
                           unsigned size)
{
    uint64_t mask = IRET_FLAGS;
    unsigned iopl = (old & X86_IOPL) >> 12;

    if (cpl > 0)
        mask &= ~(uint64_t)(X86_IOPL | X86_VIF | X86_VIP);
    if (cpl > iopl)
        mask &= ~(uint64_t)X86_IF;
    if (size == 2)
        mask &= 0xffff;
    return (old & ~mask) | (image & mask) | 2;
}

/* IRET to virtual-8086 mode (SDM vol. 2, "IRET", RETURN-TO-VIRTUAL-8086-MODE). */
static void iret_to_v86(struct x86_cpu *cpu, uint64_t ip, uint16_t cs, uint64_t flags)
{
    static const unsigned segs[] = { X86_ES, X86_DS, X86_FS, X86_GS };
    uint64_t sp = x86_stack_read(cpu, 12, 4);
    uint16_t ss = x86_stack_read(cpu, 16, 2), sel[4];

    for (unsigned i = 0; i < 4; i++)
        sel[i] = x86_stack_read(cpu, 20 + 4 * i, 2);
    cpu->rflags = (flags & (IRET_FLAGS | X86_VM)) | 2;
    x86_load_real_segment(cpu, X86_CS, cs);
    x86_load_real_segment(cpu, X86_SS, ss);
    for (unsigned i = 0; i < 4; i++)
        x86_load_real_segment(cpu, segs[i], sel[i]);
    cpu->gpr[X86_RSP] = (uint32_t)sp;
    x86_update_mode(cpu);
    cpu->next_rip = ip & 0xffff;
}

void x86_iret(struct x86_cpu *cpu, unsigned opsize)
{
    unsigned cpl = x86_cpl(cpu);
    uint64_t ip, flags;
    uint16_t selector;
    struct x86_segment_cache cs, ss;

    x86_nmi_unblock(cpu);
    if (cpu->mode == X86_MODE_REAL || (cpu->rflags & X86_VM)) {
        unsigned iopl = (cpu->rflags & X86_IOPL) >> 12;

        /* FIXME: CR4.VME virtual interrupts in virtual-8086 mode. */
        if ((cpu->rflags & X86_VM) && iopl < 3)
            x86_raise_error(cpu, X86_EXC_GP, 0);
        ip = x86_stack_read(cpu, 0, opsize);
        selector = x86_stack_read(cpu, opsize, 2);
        flags = x86_stack_read(cpu, 2 * opsize, opsize);
        if (ip > cpu->seg[X86_CS].limit)
            x86_raise_error(cpu, X86_EXC_GP, 0);
        if (cpu->rflags & X86_VM) {
            uint64_t mask = IRET_FLAGS & ~(uint64_t)X86_IOPL;

            if (opsize == 2)
                mask &= 0xffff;
            cpu->rflags = (cpu->rflags & ~mask) | (flags & mask) | 2;
        } else {
            cpu->rflags = iret_flags(cpu->rflags, flags, 0, opsize);
        }
        x86_load_real_segment(cpu, X86_CS, selector);
        x86_stack_adjust(cpu, 3 * opsize);
        cpu->next_rip = ip;
        return;
    }
    if (cpu->rflags & X86_NT) {     /* return from a nested task (7.4) */
        x86_task_return(cpu);
        return;
    }
    ip = x86_stack_read(cpu, 0, opsize);
    selector = x86_stack_read(cpu, opsize, 2);
    flags = x86_stack_read(cpu, 2 * opsize, opsize);
    if (!(cpu->efer & X86_EFER_LMA) && (flags & X86_VM) && cpl == 0 && opsize == 4) {
        iret_to_v86(cpu, ip, selector, flags);
        return;
    }
    x86_fetch_return_code_segment(cpu, selector, &cs);
    {
        bool to64 = (cpu->efer & X86_EFER_LMA) && (cs.flags & X86_SEGF_L);
        bool outer = (selector & 3) > cpl;
        uint64_t sp = 0;

        if (to64 ? !x86_canonical(ip) : (ip & x86_mask(opsize)) > cs.limit)
            x86_raise_error(cpu, X86_EXC_GP, 0);
        /* 64-bit mode always pops SS:RSP (6.14.3); legacy only to outer levels. */
        if (outer || x86_long64(cpu)) {
            sp = x86_stack_read(cpu, 3 * opsize, opsize);
            x86_fetch_stack_segment(cpu, x86_stack_read(cpu, 4 * opsize, 2),
                                    selector & 3, to64, &ss);
        }
        cpu->rflags = iret_flags(cpu->rflags, flags, cpl, opsize);
        if (outer || x86_long64(cpu)) {
            x86_commit_code_segment(cpu, &cs);
            cpu->seg[X86_SS] = ss;
            if (opsize == 8)
                cpu->gpr[X86_RSP] = sp;
            else if (ss.flags & X86_SEGF_DB)
                cpu->gpr[X86_RSP] = (uint32_t)sp;
            else
                cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~0xffffull) | (sp & 0xffff);
        } else {
            x86_stack_adjust(cpu, 3 * opsize);
            x86_commit_code_segment(cpu, &cs);
        }
        if (outer)
            x86_null_inaccessible_segments(cpu);
        cpu->next_rip = to64 ? ip : ip & x86_mask(opsize);
    }
}

static enum x86_event_class class_of(unsigned vector)
{
    switch (vector) {
    case X86_EXC_DE: case X86_EXC_TS: case X86_EXC_NP: case X86_EXC_SS:
    case X86_EXC_GP:
        return X86_EVENT_CONTRIBUTORY;
    case X86_EXC_PF:
        return X86_EVENT_PAGE_FAULT;
    case X86_EXC_DF:
        return X86_EVENT_DOUBLE_FAULT;
    default:
        return X86_EVENT_BENIGN;
    }
}

bool x86_deliver_exception(struct x86_cpu *cpu)
{
    unsigned vector = cpu->exception_vector;
    uint32_t error = cpu->exception_error;
    enum x86_event_class first = cpu->event_class, second = class_of(vector);

    /* Table 6-5: which pairs make a double fault; a fault in #DF: shutdown. */
    if (first == X86_EVENT_DOUBLE_FAULT)
        return false;
    if ((first == X86_EVENT_CONTRIBUTORY && second == X86_EVENT_CONTRIBUTORY) ||
        (first == X86_EVENT_PAGE_FAULT && (second == X86_EVENT_CONTRIBUTORY ||
                                           second == X86_EVENT_PAGE_FAULT))) {
        vector = X86_EXC_DF;
        error = 0;
        second = X86_EVENT_DOUBLE_FAULT;
    }
    cpu->event_class = second;
    cpu->halted = false;
    cpu->implicit_supervisor = false;
    x86_interrupt(cpu, vector, X86_SOURCE_EXCEPTION, has_error_code(vector), error);
    cpu->rip = cpu->next_rip;
    cpu->event_class = X86_EVENT_NONE;
    return true;
}

bool x86_take_interrupt(struct x86_cpu *cpu)
{
    int vector;

    if (!(cpu->rflags & X86_IF) || cpu->interrupt_shadow || !cpu->platform ||
        !cpu->platform->acknowledge_interrupt)
        return false;
    __atomic_store_n(&cpu->interrupt_request, 0, __ATOMIC_SEQ_CST);
    vector = cpu->platform->acknowledge_interrupt(cpu->platform_opaque);
    if (vector < 0)
        return false;
    /* More may be pending behind this one. */
    __atomic_store_n(&cpu->interrupt_request, 1, __ATOMIC_SEQ_CST);
    cpu->halted = false;
    cpu->event_class = X86_EVENT_BENIGN;
    x86_interrupt(cpu, vector, X86_SOURCE_EXTERNAL, false, 0);
    cpu->rip = cpu->next_rip;
    cpu->event_class = X86_EVENT_NONE;
    return true;
}
