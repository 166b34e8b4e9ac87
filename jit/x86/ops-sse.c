/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SSE, SSE2 and MMX instructions of the 0F map other than moves (Intel SDM
 * vol. 1 ch. 9-11, vol. 2 table A-3 with the 66/F3/F2 columns). The forms
 * are data (describe()); operands are fetched here with the alignment,
 * #UD/#NM/#MF checks, and the computation runs as the same instruction on
 * the host's SSE unit with XMM0/XMM1 (MM0/MM1, EAX) as operands, under the
 * guest's MXCSR rounding, DAZ and FTZ with all exceptions masked; unmasked
 * SIMD exceptions are then raised here as #XM (or #UD without
 * CR4.OSXMMEXCPT) leaving the destination alone (SDM vol. 1, 11.5.1).
 */
#include "jit/x86/fpu.h"

#include <string.h>

enum sse_kind {
    K_UD,
    K_XMM,          /* xmm(reg) op= xmm/m */
    K_MMX,          /* mm(reg) op= mm/m */
    K_SHIFT_IMM,    /* 71-73: xmm/mm(rm) op= imm8 */
    K_FROM_GPR,     /* CVTSI2SS/SD: xmm op= r/m32/64 */
    K_FROM_MM,      /* CVTPI2PS/PD: xmm op= mm/m64 */
    K_TO_GPR,       /* CVT(T)SS/SD2SI, MOVMSKPS/PD, PMOVMSKB, PEXTRW */
    K_TO_MM,        /* CVT(T)PS/PD2PI */
    K_PINSRW,
    K_COMIS,        /* (U)COMISS/SD: EFLAGS */
};

enum {
    F_ALIGN = 1,    /* a 16-byte memory operand must be aligned (#GP) */
    F_FP = 2,       /* may raise SIMD floating-point exceptions */
    F_IMM = 4,      /* takes ib */
    F_REGONLY = 8,  /* register source only */
    F_MMXSRC = 16,  /* K_TO_GPR: the source is an MMX register */
    F_MEMONLY = 32, /* memory source only (LDDQU) */
};

struct sse_form {
    uint8_t kind, size, flags;
};

static const struct sse_form ud = { K_UD, 0, 0 };

/* An integer op with an MMX form (no prefix) and an SSE2 form (66). */
static struct sse_form integer(unsigned p, unsigned mmx_size, unsigned flags)
{
    if (p == 0)
        return (struct sse_form){ K_MMX, mmx_size, flags };
    if (p == 1)
        return (struct sse_form){ K_XMM, 16, F_ALIGN | flags };
    return ud;
}

/* PS, PD, SS, SD columns of a floating-point operation. */
static struct sse_form floating(unsigned p, unsigned flags)
{
    static const uint8_t sizes[4] = { 16, 16, 4, 8 };

    return (struct sse_form){ K_XMM, sizes[p], F_FP | flags | (p < 2 ? F_ALIGN : 0) };
}

/* @p: 0 no prefix, 1 66, 2 F3, 3 F2. */
static struct sse_form describe(unsigned op, unsigned p)
{
    switch (op) {
    case 0x14: case 0x15:                           /* UNPCKL/HPS/PD */
    case 0x54: case 0x55: case 0x56: case 0x57:     /* AND, ANDN, OR, XOR */
    case 0xc6:                                      /* SHUFPS/PD */
        if (p >= 2)
            return ud;
        return (struct sse_form){ K_XMM, 16, F_ALIGN | (op == 0xc6 ? F_IMM : 0) };
    case 0x2a:
        if (p < 2)
            return (struct sse_form){ K_FROM_MM, 8, F_FP };
        return (struct sse_form){ K_FROM_GPR, 0, F_FP };
    case 0x2c: case 0x2d:
        if (p < 2)
            return (struct sse_form){ K_TO_MM, p ? 16 : 8, F_FP | (p ? F_ALIGN : 0) };
        return (struct sse_form){ K_TO_GPR, p == 2 ? 4 : 8, F_FP };
    case 0x2e: case 0x2f:
        if (p >= 2)
            return ud;
        return (struct sse_form){ K_COMIS, p ? 8 : 4, F_FP };
    case 0x50:
        if (p >= 2)
            return ud;
        return (struct sse_form){ K_TO_GPR, 0, F_REGONLY };
    case 0x51: case 0x58: case 0x59: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
        return floating(p, 0);
    case 0x52: case 0x53:                           /* RSQRT, RCP: PS and SS */
        if (p == 1 || p == 3)
            return ud;
        return floating(p, 0);
    case 0x5a: {                                    /* CVTPS2PD CVTPD2PS CVTSS2SD CVTSD2SS */
        static const uint8_t sizes[4] = { 8, 16, 4, 8 };

        return (struct sse_form){ K_XMM, sizes[p], F_FP | (p == 1 ? F_ALIGN : 0) };
    }
    case 0x5b:                                      /* CVTDQ2PS CVTPS2DQ CVTTPS2DQ */
        if (p == 3)
            return ud;
        return (struct sse_form){ K_XMM, 16, F_FP | F_ALIGN };
    case 0x60: case 0x61: case 0x62:                /* PUNPCKL*: m32 for MMX */
        return integer(p, 4, 0);
    case 0x63: case 0x64: case 0x65: case 0x66: case 0x67:
    case 0x68: case 0x69: case 0x6a: case 0x6b:
    case 0x74: case 0x75: case 0x76:
        return integer(p, 8, 0);
    case 0x6c: case 0x6d:                           /* PUNPCKL/HQDQ */
        return p == 1 ? (struct sse_form){ K_XMM, 16, F_ALIGN } : ud;
    case 0x70:                                      /* PSHUFW PSHUFD PSHUFHW PSHUFLW */
        if (p == 0)
            return (struct sse_form){ K_MMX, 8, F_IMM };
        return (struct sse_form){ K_XMM, 16, F_ALIGN | F_IMM };
    case 0x71: case 0x72: case 0x73:
        if (p >= 2)
            return ud;
        return (struct sse_form){ K_SHIFT_IMM, 0, F_IMM | F_REGONLY };
    case 0xc2:                                      /* CMPPS/PD/SS/SD */
        return floating(p, F_IMM);
    case 0xc4:
        if (p >= 2)
            return ud;
        return (struct sse_form){ K_PINSRW, 2, F_IMM };
    case 0xc5:
    case 0xd7:                                      /* PEXTRW, PMOVMSKB */
        if (p >= 2)
            return ud;
        return (struct sse_form){ K_TO_GPR, 0,
                                  F_REGONLY | (op == 0xc5 ? F_IMM : 0) | (p ? 0 : F_MMXSRC) };
    case 0xe6:                                      /* CVTTPD2DQ CVTDQ2PD CVTPD2DQ */
        if (p == 0)
            return ud;
        return (struct sse_form){ K_XMM, p == 2 ? 8 : 16, F_FP | (p == 2 ? 0 : F_ALIGN) };
    case 0xd1: case 0xd2: case 0xd3: case 0xd4: case 0xd5:
    case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
    case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0xe4: case 0xe5:
    case 0xe8: case 0xe9: case 0xea: case 0xeb: case 0xec: case 0xed: case 0xee: case 0xef:
    case 0xf1: case 0xf2: case 0xf3: case 0xf4: case 0xf5: case 0xf6:
    case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd: case 0xfe:
        return integer(p, 8, 0);
    /* SSE3 (SDM vol. 1, 12.3; vol. 2 table A-3). */
    case 0x12:                                      /* F3 MOVSLDUP, F2 MOVDDUP m64 */
    case 0x16:                                      /* F3 MOVSHDUP */
        if (p == 2)
            return (struct sse_form){ K_XMM, 16, F_ALIGN };
        if (p == 3 && op == 0x12)
            return (struct sse_form){ K_XMM, 8, 0 };
        return ud;
    case 0x7c: case 0x7d: case 0xd0:                /* HADD, HSUB, ADDSUB: PD, PS */
        if (p == 1 || p == 3)
            return (struct sse_form){ K_XMM, 16, F_ALIGN | F_FP };
        return ud;
    case 0xf0:                                      /* F2: LDDQU */
        if (p == 3)
            return (struct sse_form){ K_XMM, 16, F_MEMONLY };
        return ud;
    default:
        return ud;
    }
}

/* Shift-by-immediate groups 12-14: which ModRM.reg values exist (table A-6). */
static bool shift_digit_valid(unsigned op, unsigned digit, bool xmm)
{
    if (digit == 2 || digit == 6)
        return true;
    if (digit == 4)
        return op != 0x73;
    return op == 0x73 && xmm && (digit == 3 || digit == 7);
}

unsigned x86_sse_prefix(const struct x86_insn *insn)
{
    if (insn->rep == X86_REP_E)
        return 2;
    if (insn->rep == X86_REP_NE)
        return 3;
    return insn->opsize_prefix ? 1 : 0;
}

/* The source operand: register @reg_value, or @size bytes of memory. */
static void load_source(struct x86_cpu *cpu, const struct x86_insn *insn,
                        const struct sse_form *form, uint8_t *out)
{
    uint64_t offset = x86_effective_address(cpu, insn);

    if (form->size == 16 && (form->flags & F_ALIGN))
        x86_fpu_check_aligned(cpu, insn, offset);
    x86_fpu_read_bytes(cpu, insn, offset, out, form->size);
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return v;
}

#if X86_HOST_FP
/* Run @bytes on the host; apply MXCSR flags; #XM/#UD for unmasked ones. */
void x86_sse_host_run(struct x86_cpu *cpu, bool fp, struct x86_host_simd *ctx,
                      const uint8_t *bytes, unsigned length)
{
    uint32_t raised, unmasked;

    ctx->mxcsr = (cpu->fpu.mxcsr & ~0x3fu) | 0x1f80;
    x86_host_simd(ctx, x86_host_stub(bytes, length));
    if (!fp)
        return;
    raised = ctx->mxcsr & 0x3f;
    unmasked = raised & ~(cpu->fpu.mxcsr >> 7) & 0x3f;
    cpu->fpu.mxcsr |= raised;
    if (unmasked)
        x86_raise(cpu, (cpu->cr4 & X86_CR4_OSXMMEXCPT) ? X86_EXC_XM : X86_EXC_UD);
}
#else
void x86_sse_host_run(struct x86_cpu *cpu, bool fp, struct x86_host_simd *ctx,
                      const uint8_t *bytes, unsigned length)
{
    /* FIXME: software SSE for hosts other than x86-64 (not advertised there). */
    x86_raise(cpu, X86_EXC_UD);
}
#endif

void x86_op_sse(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned p = x86_sse_prefix(insn), op = insn->opcode, n = 0;
    struct sse_form form = describe(op, p);
    struct x86_host_simd ctx = { 0 };
    struct x86_fpu *f = &cpu->fpu;
    uint8_t bytes[8];
    bool wide = insn->rex & 8, mmx_reg = false;

    if (x86_sse_move(cpu, insn))
        return;
    if (form.kind == K_UD || ((form.flags & F_REGONLY) && insn->has_mem) ||
        ((form.flags & F_MEMONLY) && !insn->has_mem))
        x86_raise(cpu, X86_EXC_UD);
    /* CMPPS and friends use imm8[2:0] outside VEX (SDM "CMPPS"). */
    if (form.kind == K_SHIFT_IMM && !shift_digit_valid(op, x86_modrm_op(insn), p == 1))
        x86_raise(cpu, X86_EXC_UD);
    if (form.kind == K_MMX || (form.kind == K_SHIFT_IMM && p == 0) ||
        (form.kind == K_PINSRW && p == 0) || (form.flags & F_MMXSRC)) {
        x86_fpu_check_mmx(cpu);
        mmx_reg = true;
    } else {
        x86_fpu_check_sse(cpu);
        if ((form.kind == K_FROM_MM && !insn->has_mem) || form.kind == K_TO_MM) {
            if (x86_fpu_pending(f))
                x86_raise(cpu, X86_EXC_MF);
            mmx_reg = true;
        }
    }

    if (p == 1 && form.kind != K_MMX)
        bytes[n++] = 0x66;
    else if (p >= 2)
        bytes[n++] = p == 2 ? 0xf3 : 0xf2;
    if (wide && (form.kind == K_FROM_GPR || (form.kind == K_TO_GPR && op < 0x50)))
        bytes[n++] = 0x48;
    bytes[n++] = 0x0f;
    bytes[n++] = (uint8_t)op;
    bytes[n++] = 0xc1;
    ctx.use_mmx = mmx_reg || form.kind == K_FROM_MM || form.kind == K_TO_MM;

    switch (form.kind) {
    case K_XMM:
    case K_COMIS:
        memcpy(ctx.xmm0, f->xmm[insn->reg], 16);
        if (insn->has_mem)
            load_source(cpu, insn, &form, ctx.xmm1);
        else
            memcpy(ctx.xmm1, f->xmm[insn->rm], 16);
        break;
    case K_MMX:
        ctx.mm0 = x86_fpu_mmx_read(f, insn->reg);
        if (insn->has_mem) {
            uint8_t m[8] = { 0 };

            load_source(cpu, insn, &form, m);
            ctx.mm1 = get64(m);
        } else {
            ctx.mm1 = x86_fpu_mmx_read(f, insn->rm);
        }
        break;
    case K_SHIFT_IMM:
        bytes[n - 1] = (uint8_t)(0xc0 | (insn->modrm & 0x38));
        if (p == 1)
            memcpy(ctx.xmm0, f->xmm[insn->rm], 16);
        else
            ctx.mm0 = x86_fpu_mmx_read(f, insn->rm);
        break;
    case K_FROM_GPR:
        bytes[n - 1] = 0xc0;
        memcpy(ctx.xmm0, f->xmm[insn->reg], 16);
        ctx.rax = x86_rm_read(cpu, insn, wide ? 8 : 4);
        break;
    case K_FROM_MM:
        memcpy(ctx.xmm0, f->xmm[insn->reg], 16);
        if (insn->has_mem) {
            uint8_t m[8];

            load_source(cpu, insn, &form, m);
            ctx.mm1 = get64(m);
        } else {
            ctx.mm1 = x86_fpu_mmx_read(f, insn->rm);
        }
        break;
    case K_TO_GPR:
    case K_TO_MM:
        if (form.flags & F_MMXSRC)
            ctx.mm1 = x86_fpu_mmx_read(f, insn->rm);
        else if (insn->has_mem)
            load_source(cpu, insn, &form, ctx.xmm1);
        else
            memcpy(ctx.xmm1, f->xmm[insn->rm], 16);
        break;
    case K_PINSRW:
        bytes[n - 1] = 0xc0;
        if (p == 1)
            memcpy(ctx.xmm0, f->xmm[insn->reg], 16);
        else
            ctx.mm0 = x86_fpu_mmx_read(f, insn->reg);
        ctx.rax = insn->has_mem ? x86_mem_read(cpu, insn->seg, x86_effective_address(cpu, insn), 2)
                                : cpu->gpr[insn->rm];
        break;
    default:
        x86_raise(cpu, X86_EXC_UD);
    }
    if (form.flags & F_MEMONLY) {       /* LDDQU: a plain 16-byte load */
        memcpy(f->xmm[insn->reg], ctx.xmm1, 16);
        return;
    }
    if (form.flags & F_IMM)
        bytes[n++] = (uint8_t)insn->imm;
    x86_sse_host_run(cpu, form.flags & F_FP, &ctx, bytes, n);

    switch (form.kind) {
    case K_XMM:
    case K_FROM_GPR:
    case K_FROM_MM:
        memcpy(f->xmm[insn->reg], ctx.xmm0, 16);
        break;
    case K_PINSRW:
        if (p == 1)
            memcpy(f->xmm[insn->reg], ctx.xmm0, 16);
        else
            x86_fpu_mmx_write(f, insn->reg, ctx.mm0);
        break;
    case K_MMX:
    case K_TO_MM:
        x86_fpu_mmx_write(f, insn->reg, ctx.mm0);
        break;
    case K_SHIFT_IMM:
        if (p == 1)
            memcpy(f->xmm[insn->rm], ctx.xmm0, 16);
        else
            x86_fpu_mmx_write(f, insn->rm, ctx.mm0);
        break;
    case K_TO_GPR:
        x86_reg_write(cpu, insn, insn->reg, wide && op < 0x50 ? 8 : 4, ctx.rax);
        break;
    case K_COMIS:
        cpu->rflags = (cpu->rflags & ~(uint64_t)X86_ARITH_FLAGS) |
                      (ctx.rflags & (X86_ZF | X86_PF | X86_CF));
        break;
    default:
        break;
    }
    if (mmx_reg)
        x86_fpu_mmx_touch(f);
}
