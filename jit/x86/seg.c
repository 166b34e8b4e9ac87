/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Segmentation: descriptors in the GDT and LDT, segment register loads with
 * their checks, accessed bits, and far JMP/CALL/RET including call gates
 * (Intel SDM vol. 3, 3.4-3.5, 5.1-5.8; vol. 2 "MOV", "JMP", "CALL", "RET");
 * task gates and TSS targets go to task.c.
 */
#include "jit/x86/ops.h"
#include "jit/x86/system.h"

#define DESC_ACCESSED (1ull << 40)

static unsigned desc_type(uint64_t raw) { return (raw >> 40) & 0xf; }
static bool desc_s(uint64_t raw) { return raw & (1ull << 44); }
static unsigned desc_dpl(uint64_t raw) { return (raw >> 45) & 3; }
static bool desc_present(uint64_t raw) { return raw & (1ull << 47); }

static _Noreturn void selector_fault(struct x86_cpu *cpu, unsigned vector,
                                     uint16_t selector)
{
    x86_raise_error(cpu, vector, selector & 0xfffc);
}

void x86_descriptor_to_cache(uint64_t raw, uint16_t selector,
                             struct x86_segment_cache *s)
{
    uint32_t limit = (raw & 0xffff) | ((raw >> 32) & 0xf0000);

    s->selector = selector;
    s->base = ((raw >> 16) & 0xffffff) | ((raw >> 32) & 0xff000000);
    if (raw & (1ull << 55))
        limit = (limit << 12) | 0xfff;
    s->limit = limit;
    s->flags = ((raw >> 40) & 0xff) | (((raw >> 52) & 0xf) << 8);
}

/* Linear address of @selector's descriptor; faults past the table limit. */
static uint64_t descriptor_address(struct x86_cpu *cpu, uint16_t selector,
                                   unsigned vector, unsigned length)
{
    unsigned index = selector & ~7u;

    if (selector & 4) {
        if ((cpu->ldt.flags & X86_SEGF_UNUSABLE) || cpu->ldt.selector == 0 ||
            index + length - 1 > cpu->ldt.limit)
            selector_fault(cpu, vector, selector);
        return cpu->ldt.base + index;
    }
    if (index + length - 1 > cpu->gdt_limit)
        selector_fault(cpu, vector, selector);
    return cpu->gdt_base + index;
}

uint64_t x86_read_descriptor(struct x86_cpu *cpu, uint16_t selector, unsigned vector)
{
    return x86_system_read(cpu, descriptor_address(cpu, selector, vector, 8), 8);
}

uint64_t x86_read_descriptor_high(struct x86_cpu *cpu, uint16_t selector,
                                  unsigned vector)
{
    return x86_system_read(cpu, descriptor_address(cpu, selector, vector, 16) + 8, 8);
}

void x86_set_accessed(struct x86_cpu *cpu, uint16_t selector, uint64_t raw)
{
    if (raw & DESC_ACCESSED)
        return;
    x86_system_write(cpu, descriptor_address(cpu, selector, X86_EXC_GP, 8) + 5, 1,
                     (raw >> 40) | 1);
}

void x86_load_real_segment(struct x86_cpu *cpu, unsigned seg, uint16_t selector)
{
    struct x86_segment_cache *s = &cpu->seg[seg];

    s->selector = selector;
    s->base = (uint64_t)selector << 4;
    if (cpu->rflags & X86_VM) {
        /* Virtual-8086 segments (SDM vol. 3, 20.2.1). */
        s->limit = 0xffff;
        s->flags = (seg == X86_CS ? 0xb : 0x3) | X86_SEGF_S | X86_SEGF_P |
                   (3 << X86_SEGF_DPL_SHIFT);
    } else {
        /* Real mode keeps the limit and attributes (big real mode). */
        s->flags &= ~X86_SEGF_UNUSABLE;
        s->flags |= X86_SEGF_P;
    }
}

static void null_segment(struct x86_segment_cache *s, uint16_t selector, bool long64)
{
    s->selector = selector;
    if (!long64)
        s->base = 0;
    s->limit = 0;
    s->flags = X86_SEGF_UNUSABLE;
}

void x86_fetch_stack_segment(struct x86_cpu *cpu, uint16_t selector, unsigned cpl,
                             bool long64, struct x86_segment_cache *out)
{
    uint64_t raw;

    if ((selector & 0xfffc) == 0) {
        if (!long64 || cpl == 3 || (selector & 3) != cpl)
            x86_raise_error(cpu, X86_EXC_GP, 0);
        null_segment(out, selector, true);
        /* A null SS in 64-bit mode still has the DPL of the CPL. */
        out->flags |= (cpl << X86_SEGF_DPL_SHIFT) | X86_SEGF_DB;
        return;
    }
    if ((selector & 3) != cpl)
        selector_fault(cpu, X86_EXC_GP, selector);
    raw = x86_read_descriptor(cpu, selector, X86_EXC_GP);
    if (!desc_s(raw) || (desc_type(raw) & 0xa) != 0x2 || desc_dpl(raw) != cpl)
        selector_fault(cpu, X86_EXC_GP, selector);
    if (!desc_present(raw))
        selector_fault(cpu, X86_EXC_SS, selector);
    x86_set_accessed(cpu, selector, raw);
    x86_descriptor_to_cache(raw | DESC_ACCESSED, selector, out);
}

void x86_load_segment(struct x86_cpu *cpu, unsigned seg, uint16_t selector)
{
    struct x86_segment_cache loaded;
    unsigned cpl = x86_cpl(cpu), type;
    uint64_t raw;

    if (cpu->mode == X86_MODE_REAL || (cpu->rflags & X86_VM)) {
        x86_load_real_segment(cpu, seg, selector);
        return;
    }
    if (seg == X86_SS) {
        x86_fetch_stack_segment(cpu, selector, cpl, x86_long64(cpu), &loaded);
        cpu->seg[X86_SS] = loaded;
        return;
    }
    if ((selector & 0xfffc) == 0) {
        null_segment(&cpu->seg[seg], selector, x86_long64(cpu));
        return;
    }
    raw = x86_read_descriptor(cpu, selector, X86_EXC_GP);
    type = desc_type(raw);
    /* Data, or readable code (5.4.1). */
    if (!desc_s(raw) || (type & 0xa) == 0x8)
        selector_fault(cpu, X86_EXC_GP, selector);
    /* Data and nonconforming code: max(CPL, RPL) <= DPL (5.6). */
    if ((type & 0xc) != 0xc &&
        ((selector & 3) > desc_dpl(raw) || cpl > desc_dpl(raw)))
        selector_fault(cpu, X86_EXC_GP, selector);
    if (!desc_present(raw))
        selector_fault(cpu, X86_EXC_NP, selector);
    x86_set_accessed(cpu, selector, raw);
    x86_descriptor_to_cache(raw | DESC_ACCESSED, selector, &loaded);
    cpu->seg[seg] = loaded;
}

void x86_null_inaccessible_segments(struct x86_cpu *cpu)
{
    static const unsigned segs[] = { X86_ES, X86_DS, X86_FS, X86_GS };
    unsigned cpl = x86_cpl(cpu);

    for (unsigned i = 0; i < 4; i++) {
        struct x86_segment_cache *s = &cpu->seg[segs[i]];
        unsigned type = s->flags & X86_SEGF_TYPE;
        unsigned dpl = (s->flags & X86_SEGF_DPL) >> X86_SEGF_DPL_SHIFT;

        if (s->flags & X86_SEGF_UNUSABLE)
            continue;
        if ((!(type & 8) || !(type & 4)) && dpl < cpl)
            null_segment(s, 0, x86_long64(cpu));
    }
}

void x86_commit_code_segment(struct x86_cpu *cpu, const struct x86_segment_cache *cs)
{
    cpu->seg[X86_CS] = *cs;
    x86_update_mode(cpu);
}

/* A code-segment descriptor usable as a JMP/CALL target at the current CPL. */
static void check_code_target(struct x86_cpu *cpu, uint16_t selector, uint64_t raw,
                              bool via_gate)
{
    unsigned cpl = x86_cpl(cpu), dpl = desc_dpl(raw), type = desc_type(raw);

    if (!desc_s(raw) || !(type & 8))
        selector_fault(cpu, X86_EXC_GP, selector);
    if (type & 4) {                         /* conforming */
        if (dpl > cpl)
            selector_fault(cpu, X86_EXC_GP, selector);
    } else if (via_gate ? dpl > cpl : ((selector & 3) > cpl || dpl != cpl)) {
        selector_fault(cpu, X86_EXC_GP, selector);
    }
    if (!desc_present(raw))
        selector_fault(cpu, X86_EXC_NP, selector);
    /* In long mode L and D together are reserved (5.2.1). */
    if ((cpu->efer & X86_EFER_LMA) && (raw & (1ull << 53)) && (raw & (1ull << 54)))
        selector_fault(cpu, X86_EXC_GP, selector);
}

void x86_fetch_return_code_segment(struct x86_cpu *cpu, uint16_t selector,
                                   struct x86_segment_cache *out)
{
    unsigned rpl = selector & 3, dpl, type;
    uint64_t raw;

    if ((selector & 0xfffc) == 0)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    raw = x86_read_descriptor(cpu, selector, X86_EXC_GP);
    dpl = desc_dpl(raw);
    type = desc_type(raw);
    if (!desc_s(raw) || !(type & 8) || rpl < x86_cpl(cpu))
        selector_fault(cpu, X86_EXC_GP, selector);
    if ((type & 4) ? dpl > rpl : dpl != rpl)
        selector_fault(cpu, X86_EXC_GP, selector);
    if (!desc_present(raw))
        selector_fault(cpu, X86_EXC_NP, selector);
    if ((cpu->efer & X86_EFER_LMA) && (raw & (1ull << 53)) && (raw & (1ull << 54)))
        selector_fault(cpu, X86_EXC_GP, selector);
    x86_set_accessed(cpu, selector, raw);
    x86_descriptor_to_cache(raw | DESC_ACCESSED, selector, out);
}

/* The new instruction pointer must lie within the new CS (or be canonical). */
static void check_target(struct x86_cpu *cpu, const struct x86_segment_cache *cs,
                         uint64_t offset)
{
    bool long64 = (cpu->efer & X86_EFER_LMA) && (cs->flags & X86_SEGF_L);

    if (long64 ? !x86_canonical(offset) : offset > cs->limit)
        x86_raise_error(cpu, X86_EXC_GP, 0);
}

/* Fetched code segment with CPL as its RPL (JMP/CALL keep the CPL). */
static void code_cache(struct x86_cpu *cpu, uint16_t selector, uint64_t raw,
                       unsigned cpl, struct x86_segment_cache *cs)
{
    x86_set_accessed(cpu, selector, raw);
    x86_descriptor_to_cache(raw | DESC_ACCESSED, (selector & ~3) | cpl, cs);
}

/* A call gate (5.8.3, 5.8.3.1 for 64-bit gates): target selector and offset. */
struct gate {
    uint16_t selector;
    uint64_t offset;
    unsigned size;          /* 2, 4, 8: of the gate, for pushes */
    unsigned params;
};

static bool read_call_gate(struct x86_cpu *cpu, uint16_t selector, uint64_t raw,
                           struct gate *g)
{
    unsigned type = desc_type(raw), cpl = x86_cpl(cpu);
    bool long_mode = cpu->efer & X86_EFER_LMA;

    if (type != 0xc && !(type == 0x4 && !long_mode))
        return false;
    if (desc_dpl(raw) < cpl || desc_dpl(raw) < (selector & 3))
        selector_fault(cpu, X86_EXC_GP, selector);
    if (!desc_present(raw))
        selector_fault(cpu, X86_EXC_NP, selector);
    g->selector = (raw >> 16) & 0xffff;
    g->offset = (raw & 0xffff) | ((raw >> 32) & 0xffff0000);
    g->params = (raw >> 32) & 0x1f;
    g->size = type == 0x4 ? 2 : 4;
    if (type == 0x4)
        g->offset &= 0xffff;
    if (long_mode) {
        uint64_t high = x86_read_descriptor_high(cpu, selector, X86_EXC_GP);

        if ((high >> 40) & 0x1f)            /* the upper type field must be 0 */
            selector_fault(cpu, X86_EXC_GP, selector);
        g->offset |= high << 32;
        g->size = 8;
        g->params = 0;
    }
    if ((g->selector & 0xfffc) == 0)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    return true;
}

void x86_far_jump(struct x86_cpu *cpu, uint16_t selector, uint64_t offset,
                  unsigned opsize)
{
    struct x86_segment_cache cs;
    unsigned cpl = x86_cpl(cpu);
    struct gate g;
    uint64_t raw;

    if (cpu->mode == X86_MODE_REAL || (cpu->rflags & X86_VM)) {
        offset &= x86_mask(opsize);
        if (offset > cpu->seg[X86_CS].limit)
            x86_raise_error(cpu, X86_EXC_GP, 0);
        x86_load_real_segment(cpu, X86_CS, selector);
        cpu->next_rip = offset;
        return;
    }
    if ((selector & 0xfffc) == 0)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    raw = x86_read_descriptor(cpu, selector, X86_EXC_GP);
    if (!desc_s(raw)) {
        unsigned type = desc_type(raw);

        if (type == 0x5 || type == 0x1 || type == 0x9) {
            /* To a task gate or an available TSS: a task switch (7.3). */
            x86_task_far_branch(cpu, selector, raw, X86_TASK_JMP);
            return;
        }
        if (!read_call_gate(cpu, selector, raw, &g))
            selector_fault(cpu, X86_EXC_GP, selector);
        raw = x86_read_descriptor(cpu, g.selector, X86_EXC_GP);
        check_code_target(cpu, g.selector, raw, true);
        /* JMP through a gate never changes privilege. */
        if (!(desc_type(raw) & 4) && desc_dpl(raw) != cpl)
            selector_fault(cpu, X86_EXC_GP, g.selector);
        selector = g.selector;
        offset = g.offset;
    } else {
        check_code_target(cpu, selector, raw, false);
        if (opsize < 8)
            offset &= x86_mask(opsize);
    }
    code_cache(cpu, selector, raw, cpl, &cs);
    check_target(cpu, &cs, offset);
    x86_commit_code_segment(cpu, &cs);
    cpu->next_rip = offset;
}

void x86_new_stack_push(struct x86_cpu *cpu, struct x86_new_stack *st,
                        unsigned size, uint64_t value)
{
    uint64_t sp = (st->sp - size) & st->mask;
    uint64_t linear = st->long64 ? sp : (uint32_t)(st->ss->base + sp);

    if (!st->long64 && ((st->ss->flags & 0xc) == 0x4
                        ? sp <= st->ss->limit
                        : sp + size - 1 > st->ss->limit))
        x86_raise_error(cpu, X86_EXC_SS, st->error_selector);
    if (st->long64 && !x86_canonical(linear))
        x86_raise_error(cpu, X86_EXC_SS, 0);
    if (st->supervisor)
        x86_system_write(cpu, linear, size, value);
    else
        x86_linear_write(cpu, linear, size, value);
    st->sp = sp;
}

void x86_far_call(struct x86_cpu *cpu, uint16_t selector, uint64_t offset,
                  unsigned opsize)
{
    struct x86_segment_cache cs, ss;
    unsigned cpl = x86_cpl(cpu);
    uint64_t raw, back = cpu->next_rip;
    struct gate g;

    if (cpu->mode == X86_MODE_REAL || (cpu->rflags & X86_VM)) {
        offset &= x86_mask(opsize);
        if (offset > cpu->seg[X86_CS].limit)
            x86_raise_error(cpu, X86_EXC_GP, 0);
        x86_stack_write(cpu, -(int64_t)opsize, opsize, cpu->seg[X86_CS].selector);
        x86_stack_write(cpu, -2 * (int64_t)opsize, opsize, back);
        x86_stack_adjust(cpu, -2 * (int64_t)opsize);
        x86_load_real_segment(cpu, X86_CS, selector);
        cpu->next_rip = offset;
        return;
    }
    if ((selector & 0xfffc) == 0)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    raw = x86_read_descriptor(cpu, selector, X86_EXC_GP);
    if (desc_s(raw)) {
        check_code_target(cpu, selector, raw, false);
        if (opsize < 8)
            offset &= x86_mask(opsize);
        code_cache(cpu, selector, raw, cpl, &cs);
        check_target(cpu, &cs, offset);
        x86_stack_write(cpu, -(int64_t)opsize, opsize, cpu->seg[X86_CS].selector);
        x86_stack_write(cpu, -2 * (int64_t)opsize, opsize, back);
        x86_stack_adjust(cpu, -2 * (int64_t)opsize);
        x86_commit_code_segment(cpu, &cs);
        cpu->next_rip = offset;
        return;
    }
    if (desc_type(raw) == 0x5 || desc_type(raw) == 0x1 || desc_type(raw) == 0x9) {
        x86_task_far_branch(cpu, selector, raw, X86_TASK_CALL);
        return;
    }
    if (!read_call_gate(cpu, selector, raw, &g))
        selector_fault(cpu, X86_EXC_GP, selector);
    raw = x86_read_descriptor(cpu, g.selector, X86_EXC_GP);
    check_code_target(cpu, g.selector, raw, true);

    if (!(desc_type(raw) & 4) && desc_dpl(raw) < cpl) {
        /* To an inner level: the new stack comes from the TSS (5.8.5). */
        unsigned dpl = desc_dpl(raw);
        uint64_t old_ss = cpu->seg[X86_SS].selector, old_sp = cpu->gpr[X86_RSP];
        unsigned old_width = x86_stack_width(cpu);
        struct x86_new_stack st;
        uint16_t new_ss;
        uint64_t new_sp, params[32];

        x86_tss_stack(cpu, dpl, &new_ss, &new_sp);
        if (g.size == 8) {
            x86_fetch_stack_segment(cpu, dpl, dpl, true, &ss);
        } else {
            if ((new_ss & 0xfffc) == 0)
                x86_raise_error(cpu, X86_EXC_TS, 0);
            x86_fetch_stack_segment(cpu, new_ss, dpl, false, &ss);
        }
        for (unsigned i = 0; i < g.params; i++)
            params[i] = x86_stack_read(cpu, i * g.size, g.size);
        code_cache(cpu, g.selector, raw, dpl, &cs);
        check_target(cpu, &cs, g.offset);
        st.ss = &ss;
        st.error_selector = new_ss & 0xfffc;
        st.supervisor = true;
        st.long64 = g.size == 8;
        st.mask = st.long64 ? ~0ull : (ss.flags & X86_SEGF_DB) ? 0xffffffffull : 0xffff;
        st.sp = new_sp & st.mask;
        if (st.long64)
            st.sp &= ~15ull;
        x86_new_stack_push(cpu, &st, g.size, old_ss);
        x86_new_stack_push(cpu, &st, g.size, old_sp & x86_mask(old_width));
        for (unsigned i = g.params; i-- > 0;)
            x86_new_stack_push(cpu, &st, g.size, params[i]);
        x86_new_stack_push(cpu, &st, g.size, cpu->seg[X86_CS].selector);
        x86_new_stack_push(cpu, &st, g.size, back);
        x86_commit_code_segment(cpu, &cs);
        cpu->seg[X86_SS] = ss;
        cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~st.mask) | st.sp;
        if (st.long64)
            cpu->gpr[X86_RSP] = st.sp;
    } else {
        /* Same privilege: the pushes have the gate's size. */
        code_cache(cpu, g.selector, raw, cpl, &cs);
        check_target(cpu, &cs, g.offset);
        x86_stack_write(cpu, -(int64_t)g.size, g.size, cpu->seg[X86_CS].selector);
        x86_stack_write(cpu, -2 * (int64_t)g.size, g.size, back);
        x86_stack_adjust(cpu, -2 * (int64_t)g.size);
        x86_commit_code_segment(cpu, &cs);
    }
    cpu->next_rip = g.offset;
}

void x86_far_return(struct x86_cpu *cpu, unsigned opsize, unsigned release)
{
    struct x86_segment_cache cs, ss;
    uint64_t offset = x86_stack_read(cpu, 0, opsize);
    uint16_t selector = x86_stack_read(cpu, opsize, 2);

    if (cpu->mode == X86_MODE_REAL || (cpu->rflags & X86_VM)) {
        if (offset > cpu->seg[X86_CS].limit)
            x86_raise_error(cpu, X86_EXC_GP, 0);
        x86_load_real_segment(cpu, X86_CS, selector);
        x86_stack_adjust(cpu, 2 * opsize + release);
        cpu->next_rip = offset;
        return;
    }
    x86_fetch_return_code_segment(cpu, selector, &cs);
    check_target(cpu, &cs, offset);
    if ((selector & 3) == x86_cpl(cpu)) {
        x86_commit_code_segment(cpu, &cs);
        x86_stack_adjust(cpu, 2 * opsize + release);
        cpu->next_rip = offset;
        return;
    }
    /* To an outer level: SS:rSP follow on the stack (5.8.6). */
    {
        uint64_t new_sp = x86_stack_read(cpu, 2 * opsize + release, opsize);
        uint16_t new_ss = x86_stack_read(cpu, 3 * opsize + release, 2);
        bool long64 = (cpu->efer & X86_EFER_LMA) && (cs.flags & X86_SEGF_L);

        x86_fetch_stack_segment(cpu, new_ss, selector & 3, long64, &ss);
        x86_commit_code_segment(cpu, &cs);
        cpu->seg[X86_SS] = ss;
        if (opsize == 8 || long64)
            cpu->gpr[X86_RSP] = new_sp;
        else
            cpu->gpr[X86_RSP] = new_sp & x86_mask(opsize);
        x86_stack_adjust(cpu, release);
        x86_null_inaccessible_segments(cpu);
        cpu->next_rip = offset;
    }
}

void x86_tss_stack(struct x86_cpu *cpu, unsigned cpl, uint16_t *ss, uint64_t *sp)
{
    unsigned type = cpu->tr.flags & X86_SEGF_TYPE;
    uint64_t base = cpu->tr.base;

    if (cpu->efer & X86_EFER_LMA) {
        unsigned at = 4 + cpl * 8;

        if (at + 7 > cpu->tr.limit)
            x86_raise_error(cpu, X86_EXC_TS, cpu->tr.selector & 0xfffc);
        *sp = x86_system_read(cpu, base + at, 8);
        *ss = cpl;
        return;
    }
    if (!(type & 8)) {                              /* 16-bit TSS (types 1, 3) */
        unsigned at = 2 + cpl * 4;

        if (at + 3 > cpu->tr.limit)
            x86_raise_error(cpu, X86_EXC_TS, cpu->tr.selector & 0xfffc);
        *sp = x86_system_read(cpu, base + at, 2);
        *ss = x86_system_read(cpu, base + at + 2, 2);
    } else {
        unsigned at = 4 + cpl * 8;

        if (at + 5 > cpu->tr.limit)
            x86_raise_error(cpu, X86_EXC_TS, cpu->tr.selector & 0xfffc);
        *sp = x86_system_read(cpu, base + at, 4);
        *ss = x86_system_read(cpu, base + at + 4, 2);
    }
}
