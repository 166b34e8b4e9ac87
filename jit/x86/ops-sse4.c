/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SSSE3, SSE4.1 and SSE4.2 instructions of the 0F 38 and 0F 3A maps (Intel
 * SDM vol. 1, 12.7-12.10; vol. 2 tables) and CRC32. As in
 * ops-sse.c, operands are fetched here and the computation runs as the same
 * instruction on the host with XMM2 as destination, XMM1 as source, XMM0 as
 * the implicit XMM0 (BLENDV*, PCMP?STRM) and RAX/RDX/RCX as the implicit or
 * general-purpose operands.
 */
#include "jit/x86/fpu.h"

#include <string.h>

enum form_kind {
    T_UD,
    T_VEC,          /* xmm(reg) op= xmm/m (or mm/m64 without 66 when F_MMX) */
    T_BLENDV,       /* also reads XMM0 */
    T_FLAGS,        /* PTEST: EFLAGS only */
    T_STRING,       /* PCMP?STR?: EFLAGS, ECX or XMM0 */
    T_EXTRACT,      /* PEXTRB/W/D/Q, EXTRACTPS: r/m = xmm(reg) element */
    T_INSERT,       /* PINSRB/D/Q: xmm(reg) element = r/m */
    T_LOAD,         /* MOVNTDQA */
};

enum {
    F_ALIGN = 1,    /* a 16-byte memory operand must be aligned (#GP) */
    F_FP = 2,       /* may raise SIMD floating-point exceptions */
    F_MMX = 4,      /* also has an MMX form without 66 (SSSE3) */
};

struct form {
    uint8_t kind, size, flags;
};

/* 0F 38 (SDM vol. 2, table A-4): @size is the memory operand's. */
static struct form describe_0f38(unsigned op)
{
    switch (op) {
    case 0x00 ... 0x0b:                 /* PSHUFB PHADD* PMADDUBSW PHSUB* PSIGN* PMULHRSW */
    case 0x1c ... 0x1e:                 /* PABSB/W/D */
        return (struct form){ T_VEC, 16, F_ALIGN | F_MMX };
    case 0x10: case 0x14: case 0x15:    /* PBLENDVB BLENDVPS BLENDVPD */
        return (struct form){ T_BLENDV, 16, F_ALIGN };
    case 0x17:                          /* PTEST */
        return (struct form){ T_FLAGS, 16, F_ALIGN };
    case 0x20: case 0x23: case 0x25:    /* PMOVSX BW WD DQ, PMOVZX likewise */
    case 0x30: case 0x33: case 0x35:
        return (struct form){ T_VEC, 8, 0 };
    case 0x21: case 0x24: case 0x31: case 0x34:     /* BD WQ */
        return (struct form){ T_VEC, 4, 0 };
    case 0x22: case 0x32:               /* BQ */
        return (struct form){ T_VEC, 2, 0 };
    case 0x28: case 0x29: case 0x2b:    /* PMULDQ PCMPEQQ PACKUSDW */
    case 0x37:                          /* PCMPGTQ (SSE4.2) */
    case 0x38 ... 0x41:                 /* PMIN*, PMAX*, PMULLD, PHMINPOSUW */
        return (struct form){ T_VEC, 16, F_ALIGN };
    case 0x2a:                          /* MOVNTDQA */
        return (struct form){ T_LOAD, 16, F_ALIGN };
    default:
        return (struct form){ T_UD, 0, 0 };
    }
}

/* 0F 3A (SDM vol. 2, table A-5); all take ib. */
static struct form describe_0f3a(unsigned op, bool wide)
{
    switch (op) {
    case 0x08: case 0x09:               /* ROUNDPS ROUNDPD */
        return (struct form){ T_VEC, 16, F_ALIGN | F_FP };
    case 0x0a:                          /* ROUNDSS */
        return (struct form){ T_VEC, 4, F_FP };
    case 0x0b:                          /* ROUNDSD */
        return (struct form){ T_VEC, 8, F_FP };
    case 0x0c: case 0x0d: case 0x0e:    /* BLENDPS BLENDPD PBLENDW */
    case 0x42:                          /* MPSADBW */
        return (struct form){ T_VEC, 16, F_ALIGN };
    case 0x0f:                          /* PALIGNR */
        return (struct form){ T_VEC, 16, F_ALIGN | F_MMX };
    case 0x14:                          /* PEXTRB */
        return (struct form){ T_EXTRACT, 1, 0 };
    case 0x15:                          /* PEXTRW */
        return (struct form){ T_EXTRACT, 2, 0 };
    case 0x16:                          /* PEXTRD/Q */
        return (struct form){ T_EXTRACT, wide ? 8 : 4, 0 };
    case 0x17:                          /* EXTRACTPS */
        return (struct form){ T_EXTRACT, 4, 0 };
    case 0x20:                          /* PINSRB */
        return (struct form){ T_INSERT, 1, 0 };
    case 0x21:                          /* INSERTPS */
        return (struct form){ T_VEC, 4, 0 };
    case 0x22:                          /* PINSRD/Q */
        return (struct form){ T_INSERT, wide ? 8 : 4, 0 };
    case 0x40: case 0x41:               /* DPPS DPPD */
        return (struct form){ T_VEC, 16, F_ALIGN | F_FP };
    case 0x60 ... 0x63:                 /* PCMPESTRM/I, PCMPISTRM/I: unaligned */
        return (struct form){ T_STRING, 16, 0 };
    default:
        return (struct form){ T_UD, 0, 0 };
    }
}

static void load_memory(struct x86_cpu *cpu, const struct x86_insn *insn,
                        const struct form *form, uint8_t *out)
{
    uint64_t offset = x86_effective_address(cpu, insn);

    if (form->size == 16 && (form->flags & F_ALIGN))
        x86_fpu_check_aligned(cpu, insn, offset);
    x86_fpu_read_bytes(cpu, insn, offset, out, form->size);
}

void x86_op_sse_3byte(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    bool is3a = insn->map == X86_MAP_0F3A, wide = insn->rex & 8;
    struct form form = is3a ? describe_0f3a(insn->opcode, wide) : describe_0f38(insn->opcode);
    unsigned p = x86_sse_prefix(insn), n = 0;
    struct x86_host_simd ctx = { 0 };
    struct x86_fpu *f = &cpu->fpu;
    bool mmx = p == 0 && (form.flags & F_MMX);
    uint8_t bytes[8];

    if (form.kind == T_UD || p >= 2 || (p == 0 && !mmx) ||
        (form.kind == T_LOAD && !insn->has_mem))
        x86_raise(cpu, X86_EXC_UD);
    if (mmx) {
        x86_fpu_check_mmx(cpu);
        ctx.use_mmx = 1;
        ctx.mm0 = x86_fpu_mmx_read(f, insn->reg);
        if (insn->has_mem) {
            struct form m8 = { T_VEC, 8, 0 };
            uint8_t m[8];

            load_memory(cpu, insn, &m8, m);
            memcpy(&ctx.mm1, m, 8);
        } else {
            ctx.mm1 = x86_fpu_mmx_read(f, insn->rm);
        }
        bytes[n++] = 0x0f;
        bytes[n++] = is3a ? 0x3a : 0x38;
        bytes[n++] = (uint8_t)insn->opcode;
        bytes[n++] = 0xc1;                      /* mm0, mm1 */
        if (is3a)
            bytes[n++] = (uint8_t)insn->imm;
        x86_sse_host_run(cpu, false, &ctx, bytes, n);
        x86_fpu_mmx_write(f, insn->reg, ctx.mm0);
        x86_fpu_mmx_touch(f);
        return;
    }
    x86_fpu_check_sse(cpu);

    memcpy(ctx.xmm0, f->xmm[0], 16);
    memcpy(ctx.xmm2, f->xmm[insn->reg], 16);
    ctx.rax = cpu->gpr[X86_RAX];
    ctx.rcx = cpu->gpr[X86_RCX];
    ctx.rdx = cpu->gpr[X86_RDX];
    bytes[n++] = 0x66;
    if (wide && (form.kind == T_EXTRACT || form.kind == T_INSERT || form.kind == T_STRING))
        bytes[n++] = 0x48;
    bytes[n++] = 0x0f;
    bytes[n++] = is3a ? 0x3a : 0x38;
    bytes[n++] = (uint8_t)insn->opcode;
    bytes[n++] = 0xd1;                          /* xmm2, xmm1 */

    switch (form.kind) {
    case T_EXTRACT:
        memcpy(ctx.xmm1, f->xmm[insn->reg], 16);
        bytes[n - 1] = 0xc8;                    /* rax, xmm1 */
        break;
    case T_INSERT:
        bytes[n - 1] = 0xd0;                    /* xmm2, rax */
        ctx.rax = insn->has_mem ? x86_rm_read(cpu, insn, form.size) : cpu->gpr[insn->rm];
        break;
    default:
        if (insn->has_mem)
            load_memory(cpu, insn, &form, ctx.xmm1);
        else
            memcpy(ctx.xmm1, f->xmm[insn->rm], 16);
        break;
    }
    if (form.kind == T_LOAD) {                  /* MOVNTDQA: a plain aligned load */
        memcpy(f->xmm[insn->reg], ctx.xmm1, 16);
        return;
    }
    if (is3a) {
        uint8_t imm = (uint8_t)insn->imm;

        /* INSERTPS from m32: the element is the loaded one (count_s = 0). */
        if (insn->opcode == 0x21 && insn->has_mem)
            imm &= 0x3f;
        bytes[n++] = imm;
    }
    x86_sse_host_run(cpu, form.flags & F_FP, &ctx, bytes, n);

    switch (form.kind) {
    case T_FLAGS:
    case T_STRING:
        cpu->rflags = (cpu->rflags & ~(uint64_t)X86_ARITH_FLAGS) |
                      (ctx.rflags & X86_ARITH_FLAGS);
        if (form.kind == T_FLAGS)
            break;
        if (insn->opcode & 1)                   /* ...I: the index in ECX */
            cpu->gpr[X86_RCX] = ctx.rcx;
        else                                    /* ...M: the mask in XMM0 */
            memcpy(f->xmm[0], ctx.xmm0, 16);
        break;
    case T_EXTRACT:
        x86_rm_write(cpu, insn, insn->has_mem ? form.size : (wide ? 8 : 4), ctx.rax);
        break;
    default:
        memcpy(f->xmm[insn->reg], ctx.xmm2, 16);
        break;
    }
}

/* CRC32C of @size bytes of @data into @crc (SDM vol. 2, "CRC32"). */
static uint32_t crc32c(uint32_t crc, uint64_t data, unsigned size)
{
    for (unsigned i = 0; i < size; i++) {
        crc ^= (uint8_t)(data >> (8 * i));
        for (unsigned k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82f63b78u & -(crc & 1));
    }
    return crc;
}

/* 0F 38 F0/F1: MOVBE (memory only), or with F2 CRC32 r32/r64, r/m8..64;
 * flags unchanged. */
void x86_op_0f38_f0(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size;
    bool wide = insn->rex & 8;

    if (insn->rep != X86_REP_NE) {
        if (!insn->has_mem)
            x86_raise(cpu, X86_EXC_UD);
        x86_op_movbe(cpu, insn);
        return;
    }
    if (insn->opcode == 0xf0)
        size = 1;
    else
        size = wide ? 8 : insn->opsize_prefix ? 2 : 4;
    x86_reg_write(cpu, insn, insn->reg, wide ? 8 : 4,
                  crc32c((uint32_t)cpu->gpr[insn->reg], x86_rm_read(cpu, insn, size), size));
}
