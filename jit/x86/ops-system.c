/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * System instructions: MOV to/from control registers (MOV DR: debug.c), RDMSR,
 * WRMSR, CLTS, INVD, WBINVD, groups 6 and 7 (LLDT, LTR, SLDT, STR, VERR,
 * VERW, LGDT, LIDT, SGDT, SIDT, SMSW, LMSW, INVLPG, SWAPGS, RDTSCP; XGETBV
 * and XSETBV are in xsave.c), LAR, LSL, ARPL, group 15 fences and CLFLUSH
 * (Intel SDM vol. 2; vol. 3, 2.4-2.8).
 */
#include "jit/x86/fpu.h"
#include "jit/x86/ops.h"
#include "jit/x86/system.h"

static void require_cpl0(struct x86_cpu *cpu)
{
    if (x86_cpl(cpu) > 0)
        x86_raise_error(cpu, X86_EXC_GP, 0);
}

/* Protected-mode-only instructions raise #UD in real and virtual-8086 mode. */
static void require_protected(struct x86_cpu *cpu)
{
    if (cpu->mode == X86_MODE_REAL || (cpu->rflags & X86_VM))
        x86_raise(cpu, X86_EXC_UD);
}

/* 0F 20, 0F 22: MOV r, CRn / MOV CRn, r (the ModRM is always a register). */
void x86_op_mov_cr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = x86_long64(cpu) ? 8 : 4, cr = insn->reg;
    uint64_t v;

    if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8)
        x86_raise(cpu, X86_EXC_UD);
    require_cpl0(cpu);
    if (insn->opcode == 0x20) {
        switch (cr) {
        case 0: v = cpu->cr0; break;
        case 2: v = cpu->cr2; break;
        case 3: v = cpu->cr3; break;
        case 4: v = cpu->cr4; break;
        default:
            v = cpu->platform && cpu->platform->read_cr8
              ? cpu->platform->read_cr8(cpu->platform_opaque) : cpu->cr8;
            break;
        }
        x86_reg_write(cpu, insn, insn->rm, size, v);
        return;
    }
    v = cpu->gpr[insn->rm] & x86_mask(size);
    switch (cr) {
    case 0: x86_write_cr0(cpu, v); break;
    case 2: cpu->cr2 = v; break;
    case 3: x86_write_cr3(cpu, v); break;
    case 4: x86_write_cr4(cpu, v); break;
    default:
        if (v & ~15ull)
            x86_raise_error(cpu, X86_EXC_GP, 0);
        cpu->cr8 = v;
        if (cpu->platform && cpu->platform->write_cr8)
            cpu->platform->write_cr8(cpu->platform_opaque, v);
        break;
    }
}

/* MOV DRn is in debug.c with the breakpoints. */

/* 0F 30 WRMSR, 0F 32 RDMSR: ECX selects, EDX:EAX holds; #GP for unknown MSRs. */
void x86_op_msr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint32_t index = (uint32_t)cpu->gpr[X86_RCX];
    uint64_t v;

    require_cpl0(cpu);
    if (insn->opcode == 0x32) {
        if (!x86_msr_read(cpu, index, &v))
            x86_raise_error(cpu, X86_EXC_GP, 0);
        cpu->gpr[X86_RAX] = (uint32_t)v;
        cpu->gpr[X86_RDX] = v >> 32;
        return;
    }
    v = (cpu->gpr[X86_RDX] << 32) | (uint32_t)cpu->gpr[X86_RAX];
    if (!x86_msr_write(cpu, index, v))
        x86_raise_error(cpu, X86_EXC_GP, 0);
}

/* 0F 06 CLTS, 0F 08 INVD, 0F 09 WBINVD: caches are not modelled. */
void x86_op_privileged(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    require_cpl0(cpu);
    if (insn->opcode == 0x06)
        cpu->cr0 &= ~X86_CR0_TS;
}

/* A system descriptor for LLDT (type 2) or LTR (available TSS 1 or 9). */
static uint64_t load_system_descriptor(struct x86_cpu *cpu, uint16_t selector,
                                       bool tss, struct x86_segment_cache *s)
{
    uint64_t raw, high = 0;
    unsigned type;

    if (selector & 4)
        x86_raise_error(cpu, X86_EXC_GP, selector & 0xfffc);
    raw = x86_read_descriptor(cpu, selector, X86_EXC_GP);
    type = (raw >> 40) & 0x1f;          /* includes S, which must be 0 */
    if (tss ? (type != 9 && !(type == 1 && !(cpu->efer & X86_EFER_LMA)))
            : type != 2)
        x86_raise_error(cpu, X86_EXC_GP, selector & 0xfffc);
    if (!(raw & (1ull << 47)))
        x86_raise_error(cpu, X86_EXC_NP, selector & 0xfffc);
    if (cpu->efer & X86_EFER_LMA) {
        high = x86_read_descriptor_high(cpu, selector, X86_EXC_GP);
        if ((high >> 40) & 0x1f)
            x86_raise_error(cpu, X86_EXC_GP, selector & 0xfffc);
        if (!x86_canonical(((raw >> 16) & 0xffffff) | ((raw >> 32) & 0xff000000) |
                           (high << 32)))
            x86_raise_error(cpu, X86_EXC_GP, selector & 0xfffc);
    }
    x86_descriptor_to_cache(raw, selector, s);
    s->base |= high << 32;
    return raw;
}

/* 0F 00: group 6. */
void x86_op_group6(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned op = x86_modrm_op(insn), cpl = x86_cpl(cpu);
    struct x86_segment_cache s;
    uint16_t selector;
    uint64_t raw;

    require_protected(cpu);
    switch (op) {
    case 0:     /* SLDT */
    case 1:     /* STR */
        selector = op == 0 ? cpu->ldt.selector : cpu->tr.selector;
        x86_rm_write(cpu, insn, insn->has_mem ? 2 : insn->opsize, selector);
        return;
    case 2:     /* LLDT */
        require_cpl0(cpu);
        selector = x86_rm_read(cpu, insn, 2);
        if ((selector & 0xfffc) == 0) {
            cpu->ldt.selector = selector;
            cpu->ldt.flags = X86_SEGF_UNUSABLE;
            return;
        }
        load_system_descriptor(cpu, selector, false, &s);
        cpu->ldt = s;
        return;
    case 3:     /* LTR: the TSS becomes busy (7.2.4) */
        require_cpl0(cpu);
        selector = x86_rm_read(cpu, insn, 2);
        if ((selector & 0xfffc) == 0)
            x86_raise_error(cpu, X86_EXC_GP, 0);
        raw = load_system_descriptor(cpu, selector, true, &s);
        x86_system_write(cpu, cpu->gdt_base + (selector & ~7u) + 5, 1,
                         ((raw >> 40) & 0xff) | 2);
        s.flags |= 2;
        cpu->tr = s;
        return;
    case 4:     /* VERR */
    case 5: {   /* VERW */
        bool ok = false;

        selector = x86_rm_read(cpu, insn, 2);
        if ((selector & 0xfffc) != 0 &&
            (selector & ~7u) + 7 <= ((selector & 4) ? cpu->ldt.limit : cpu->gdt_limit) &&
            !((selector & 4) && (cpu->ldt.flags & X86_SEGF_UNUSABLE))) {
            unsigned type, dpl;

            raw = x86_read_descriptor(cpu, selector, X86_EXC_GP);
            type = (raw >> 40) & 0xf;
            dpl = (raw >> 45) & 3;
            if (raw & (1ull << 44)) {
                bool conforming = (type & 0xc) == 0xc;
                bool privileged = conforming || (dpl >= cpl && dpl >= (selector & 3));

                ok = privileged && (op == 4 ? (!(type & 8) || (type & 2))
                                            : (!(type & 8) && (type & 2)));
            }
        }
        cpu->rflags = (cpu->rflags & ~(uint64_t)X86_ZF) | (ok ? X86_ZF : 0);
        return;
    }
    default:
        x86_raise(cpu, X86_EXC_UD);
    }
}

/* LGDT/LIDT/SGDT/SIDT operand: limit (16) then base (24/32/64 bits). */
static void store_table(struct x86_cpu *cpu, const struct x86_insn *insn,
                        uint16_t limit, uint64_t base)
{
    uint64_t ea = x86_effective_address(cpu, insn);
    unsigned base_size = x86_long64(cpu) ? 8 : 4;

    x86_mem_write(cpu, insn->seg, ea, 2, limit);
    x86_mem_write(cpu, insn->seg, (ea + 2) & x86_mask(insn->addrsize), base_size,
                  base_size == 8 ? base : (uint32_t)base);
}

static void load_table(struct x86_cpu *cpu, const struct x86_insn *insn,
                       uint16_t *limit, uint64_t *base)
{
    uint64_t ea = x86_effective_address(cpu, insn);
    unsigned base_size = x86_long64(cpu) ? 8 : 4;
    uint16_t new_limit = x86_mem_read(cpu, insn->seg, ea, 2);
    uint64_t new_base = x86_mem_read(cpu, insn->seg, (ea + 2) & x86_mask(insn->addrsize),
                                     base_size);

    if (base_size == 8 && !x86_canonical(new_base))
        x86_raise_error(cpu, X86_EXC_GP, 0);
    if (insn->opsize == 2)
        new_base &= 0xffffff;
    *limit = new_limit;
    *base = new_base;
}

/* 0F 01: group 7 (memory forms and the register-form extensions). */
void x86_op_group7(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned op = x86_modrm_op(insn);

    if (!insn->has_mem) {
        unsigned rm = insn->modrm & 7;

        if (op == 7 && rm == 0) {           /* SWAPGS (64-bit mode only) */
            uint64_t t;

            if (!x86_long64(cpu))
                x86_raise(cpu, X86_EXC_UD);
            require_cpl0(cpu);
            t = cpu->seg[X86_GS].base;
            cpu->seg[X86_GS].base = cpu->msr.kernel_gs_base;
            cpu->msr.kernel_gs_base = t;
            return;
        }
        if (op == 7 && rm == 1) {           /* RDTSCP */
            x86_rdtsc_to_edx_eax(cpu);
            cpu->gpr[X86_RCX] = (uint32_t)cpu->msr.tsc_aux;
            return;
        }
        if (op == 2 && rm < 2) {            /* XGETBV, XSETBV (xsave.c) */
            x86_op_xgetbv_xsetbv(cpu, insn);
            return;
        }
        if (op == 4) {                      /* SMSW r */
            x86_rm_write(cpu, insn, insn->opsize, cpu->cr0 & x86_mask(insn->opsize));
            return;
        }
        if (op == 6) {                      /* LMSW r */
            require_cpl0(cpu);
            x86_write_cr0(cpu, (cpu->cr0 & ~0xeull) |
                          (x86_rm_read(cpu, insn, 2) & 0xf) | (cpu->cr0 & 1));
            return;
        }
        x86_raise(cpu, X86_EXC_UD);
    }
    switch (op) {
    case 0:     /* SGDT */
        store_table(cpu, insn, cpu->gdt_limit, cpu->gdt_base);
        return;
    case 1:     /* SIDT */
        store_table(cpu, insn, cpu->idt_limit, cpu->idt_base);
        return;
    case 2:     /* LGDT */
        require_cpl0(cpu);
        load_table(cpu, insn, &cpu->gdt_limit, &cpu->gdt_base);
        return;
    case 3:     /* LIDT */
        require_cpl0(cpu);
        load_table(cpu, insn, &cpu->idt_limit, &cpu->idt_base);
        return;
    case 4:     /* SMSW m16 */
        x86_rm_write(cpu, insn, 2, cpu->cr0 & 0xffff);
        return;
    case 6:     /* LMSW: PE can be set, not cleared */
        require_cpl0(cpu);
        x86_write_cr0(cpu, (cpu->cr0 & ~0xeull) |
                      (x86_rm_read(cpu, insn, 2) & 0xf) | (cpu->cr0 & 1));
        return;
    case 7:     /* INVLPG */
        require_cpl0(cpu);
        {
            uint64_t ea = x86_effective_address(cpu, insn);
            uint64_t linear = x86_long64(cpu)
                ? ea + ((insn->seg == X86_FS || insn->seg == X86_GS)
                        ? cpu->seg[insn->seg].base : 0)
                : (uint32_t)(cpu->seg[insn->seg].base + ea);

            x86_tlb_flush_page(cpu, linear);
        }
        return;
    default:
        x86_raise(cpu, X86_EXC_UD);
    }
}

/* 0F 02 LAR, 0F 03 LSL: ZF says whether the selector is visible (SDM vol. 2). */
void x86_op_lar_lsl(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint16_t selector = x86_rm_read(cpu, insn, 2);
    unsigned cpl = x86_cpl(cpu), type, dpl;
    bool lar = insn->opcode == 0x02, ok = false;
    uint64_t raw = 0;

    require_protected(cpu);
    if ((selector & 0xfffc) != 0 &&
        (selector & ~7u) + 7 <= ((selector & 4) ? cpu->ldt.limit : cpu->gdt_limit) &&
        !((selector & 4) && (cpu->ldt.flags & X86_SEGF_UNUSABLE))) {
        raw = x86_read_descriptor(cpu, selector, X86_EXC_GP);
        type = (raw >> 40) & 0xf;
        dpl = (raw >> 45) & 3;
        if (raw & (1ull << 44)) {
            ok = (type & 0xc) == 0xc || (dpl >= cpl && dpl >= (selector & 3));
        } else {
            static const bool lar_ok[16] = {
                [1] = 1, [2] = 1, [3] = 1, [4] = 1, [5] = 1, [9] = 1, [0xb] = 1, [0xc] = 1,
            };
            static const bool lar_ok64[16] = { [2] = 1, [9] = 1, [0xb] = 1, [0xc] = 1 };
            bool valid = (cpu->efer & X86_EFER_LMA) ? lar_ok64[type] : lar_ok[type];

            if (!lar && (type == 4 || type == 5 || type == 0xc))
                valid = false;
            ok = valid && dpl >= cpl && dpl >= (selector & 3);
        }
    }
    if (ok) {
        uint64_t v;

        if (lar) {
            v = raw >> 32 & 0x00f0ff00;
        } else {
            struct x86_segment_cache s;

            x86_descriptor_to_cache(raw, selector, &s);
            v = s.limit;
        }
        x86_reg_write(cpu, insn, insn->reg, insn->opsize, v);
    }
    cpu->rflags = (cpu->rflags & ~(uint64_t)X86_ZF) | (ok ? X86_ZF : 0);
}

/* 63 outside 64-bit mode: ARPL Ew, Gw. */
void x86_op_arpl(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint16_t dest, src;

    require_protected(cpu);
    dest = x86_rm_read(cpu, insn, 2);
    src = x86_reg_read(cpu, insn, insn->reg, 2);
    if ((dest & 3) < (src & 3)) {
        x86_rm_write(cpu, insn, 2, (dest & ~3) | (src & 3));
        cpu->rflags |= X86_ZF;
    } else {
        cpu->rflags &= ~(uint64_t)X86_ZF;
    }
}
