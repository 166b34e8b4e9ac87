/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SSE/SSE2/MMX data movement: MOVUPS/MOVAPS/MOVSS/MOVSD, MOVLPS/MOVHPS/
 * MOVHLPS/MOVLHPS, MOVD/MOVQ, MOVDQA/MOVDQU, MOVQ2DQ/MOVDQ2Q, the
 * non-temporal stores, MASKMOVQ/MASKMOVDQU and EMMS (Intel SDM vol. 2,
 * each instruction's page). Register and memory forms differ here (MOVSS
 * from memory zeroes the rest, from a register it merges), which is why
 * these are written out rather than run on the host.
 */
#include "jit/x86/fpu.h"

#include <string.h>

static uint64_t address(struct x86_cpu *cpu, const struct x86_insn *insn, bool aligned)
{
    uint64_t offset = x86_effective_address(cpu, insn);

    if (aligned)
        x86_fpu_check_aligned(cpu, insn, offset);
    return offset;
}

/* xmm(reg) = @size bytes of r/m (memory: upper bytes zeroed; register: merged). */
static void load_xmm(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size,
                     bool aligned)
{
    uint8_t *d = cpu->fpu.xmm[insn->reg];

    if (insn->has_mem) {
        uint8_t v[16] = { 0 };

        x86_fpu_read_bytes(cpu, insn, address(cpu, insn, aligned), v, size);
        memcpy(d, v, 16);
    } else {
        memmove(d, cpu->fpu.xmm[insn->rm], size);
    }
}

/* r/m = low @size bytes of xmm(reg). */
static void store_xmm(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size,
                      bool aligned, unsigned from)
{
    const uint8_t *s = cpu->fpu.xmm[insn->reg] + from;

    if (insn->has_mem)
        x86_fpu_write_bytes(cpu, insn, address(cpu, insn, aligned), s, size);
    else
        memmove(cpu->fpu.xmm[insn->rm], s, size);
}

/* 64 bits of memory to @dest (must be memory: else #UD). */
static void load_half(struct x86_cpu *cpu, const struct x86_insn *insn, uint8_t *dest)
{
    x86_fpu_read_bytes(cpu, insn, address(cpu, insn, false), dest, 8);
}

/* MOVD/MOVQ between MMX/XMM registers and r/m32/64 (0F 6E, 0F 7E). */
static void move_gpr(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned p)
{
    unsigned size = (insn->rex & 8) ? 8 : 4;
    struct x86_fpu *f = &cpu->fpu;

    if (p == 0) {
        x86_fpu_check_mmx(cpu);
        if (insn->opcode == 0x6e)
            x86_fpu_mmx_write(f, insn->reg, x86_rm_read(cpu, insn, size));
        else
            x86_rm_write(cpu, insn, size, x86_fpu_mmx_read(f, insn->reg) & x86_mask(size));
        x86_fpu_mmx_touch(f);
        return;
    }
    x86_fpu_check_sse(cpu);
    if (insn->opcode == 0x6e) {
        uint64_t v = x86_rm_read(cpu, insn, size);

        memset(f->xmm[insn->reg], 0, 16);
        memcpy(f->xmm[insn->reg], &v, 8);
    } else {
        uint64_t v;

        memcpy(&v, f->xmm[insn->reg], 8);
        x86_rm_write(cpu, insn, size, v & x86_mask(size));
    }
}

/* MMX MOVQ mm, mm/m64 (0F 6F) and MOVQ mm/m64, mm (0F 7F), MOVNTQ (0F E7). */
static void move_mmx(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    struct x86_fpu *f = &cpu->fpu;

    x86_fpu_check_mmx(cpu);
    if (insn->opcode == 0x6f) {
        uint64_t v = insn->has_mem
                   ? x86_mem_read(cpu, insn->seg, x86_effective_address(cpu, insn), 8)
                   : x86_fpu_mmx_read(f, insn->rm);

        x86_fpu_mmx_write(f, insn->reg, v);
    } else if (insn->has_mem) {
        x86_mem_write(cpu, insn->seg, x86_effective_address(cpu, insn), 8,
                      x86_fpu_mmx_read(f, insn->reg));
    } else {
        if (insn->opcode == 0xe7)
            x86_raise(cpu, X86_EXC_UD);
        x86_fpu_mmx_write(f, insn->rm, x86_fpu_mmx_read(f, insn->reg));
    }
    x86_fpu_mmx_touch(f);
}

/* MASKMOVQ / MASKMOVDQU: bytes with the mask's top bit set go to DS:rDI. */
static void mask_move(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned p)
{
    uint8_t data[16], mask[16];
    unsigned size = p ? 16 : 8;
    uint64_t di = cpu->gpr[X86_RDI] & x86_mask(insn->addrsize);
    unsigned seg = insn->seg_override != X86_SEG_NONE ? insn->seg_override : X86_DS;

    if (insn->has_mem)
        x86_raise(cpu, X86_EXC_UD);
    if (p) {
        x86_fpu_check_sse(cpu);
        memcpy(data, cpu->fpu.xmm[insn->reg], 16);
        memcpy(mask, cpu->fpu.xmm[insn->rm], 16);
    } else {
        uint64_t d, m;

        x86_fpu_check_mmx(cpu);
        d = x86_fpu_mmx_read(&cpu->fpu, insn->reg);
        m = x86_fpu_mmx_read(&cpu->fpu, insn->rm);
        memcpy(data, &d, 8);
        memcpy(mask, &m, 8);
    }
    for (unsigned i = 0; i < size; i++) {
        if (mask[i] & 0x80)
            x86_mem_write(cpu, seg, (di + i) & x86_mask(insn->addrsize), 1, data[i]);
    }
    if (!p)
        x86_fpu_mmx_touch(&cpu->fpu);
}

bool x86_sse_move(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned p = x86_sse_prefix(insn), op = insn->opcode;
    struct x86_fpu *f = &cpu->fpu;

    switch (op) {
    case 0x6e: case 0x7e:
        if (op == 0x7e && p == 2)
            break;
        if (p >= 2)
            x86_raise(cpu, X86_EXC_UD);
        move_gpr(cpu, insn, p);
        return true;
    case 0x6f: case 0x7f:
        if (p == 0) {
            move_mmx(cpu, insn);
            return true;
        }
        break;
    case 0xe7:
        if (p == 0) {
            if (!insn->has_mem)
                x86_raise(cpu, X86_EXC_UD);
            move_mmx(cpu, insn);
            return true;
        }
        break;
    case 0x77:
        if (p != 0)
            x86_raise(cpu, X86_EXC_UD);
        x86_fpu_check_mmx(cpu);
        f->ftw = 0;                     /* EMMS */
        return true;
    case 0xf7:
        if (p > 1)
            x86_raise(cpu, X86_EXC_UD);
        mask_move(cpu, insn, p);
        return true;
    case 0xd6:
        if (p == 2 || p == 3) {
            if (insn->has_mem)
                x86_raise(cpu, X86_EXC_UD);
            x86_fpu_check_sse(cpu);
            if (x86_fpu_pending(f))
                x86_raise(cpu, X86_EXC_MF);
            if (p == 2) {               /* MOVQ2DQ xmm, mm */
                uint64_t v = x86_fpu_mmx_read(f, insn->rm);

                memset(f->xmm[insn->reg], 0, 16);
                memcpy(f->xmm[insn->reg], &v, 8);
            } else {                    /* MOVDQ2Q mm, xmm */
                uint64_t v;

                memcpy(&v, f->xmm[insn->rm], 8);
                x86_fpu_mmx_write(f, insn->reg, v);
            }
            x86_fpu_mmx_touch(f);
            return true;
        }
        break;
    case 0x10: case 0x11: case 0x12: case 0x13: case 0x16: case 0x17:
    case 0x28: case 0x29: case 0x2b: case 0xc3:
        break;
    default:
        return false;
    }

    if (op == 0xc3) {                   /* MOVNTI m32/64, r32/64 */
        unsigned size = (insn->rex & 8) ? 8 : 4;

        if (p != 0 || !insn->has_mem)
            x86_raise(cpu, X86_EXC_UD);
        x86_rm_write(cpu, insn, size, cpu->gpr[insn->reg] & x86_mask(size));
        return true;
    }
    x86_fpu_check_sse(cpu);
    switch (op) {
    case 0x10:                          /* MOVUPS MOVUPD MOVSS MOVSD */
        load_xmm(cpu, insn, p == 2 ? 4 : p == 3 ? 8 : 16, false);
        return true;
    case 0x11:
        store_xmm(cpu, insn, p == 2 ? 4 : p == 3 ? 8 : 16, false, 0);
        return true;
    case 0x28: case 0x29: case 0x2b:    /* MOVAPS MOVAPD, MOVNTPS MOVNTPD */
        if (p >= 2 || (op == 0x2b && !insn->has_mem))
            x86_raise(cpu, X86_EXC_UD);
        if (op == 0x28)
            load_xmm(cpu, insn, 16, true);
        else
            store_xmm(cpu, insn, 16, true, 0);
        return true;
    case 0x6f:                          /* MOVDQA MOVDQU */
        if (p == 3)
            x86_raise(cpu, X86_EXC_UD);
        load_xmm(cpu, insn, 16, p == 1);
        return true;
    case 0x7f:
        if (p == 3)
            x86_raise(cpu, X86_EXC_UD);
        store_xmm(cpu, insn, 16, p == 1, 0);
        return true;
    case 0xe7:                          /* MOVNTDQ */
        if (p != 1 || !insn->has_mem)
            x86_raise(cpu, X86_EXC_UD);
        store_xmm(cpu, insn, 16, true, 0);
        return true;
    case 0x7e:                          /* F3: MOVQ xmm, xmm/m64 */
        if (insn->has_mem) {
            load_xmm(cpu, insn, 8, false);
        } else {
            memmove(f->xmm[insn->reg], f->xmm[insn->rm], 8);
            memset(f->xmm[insn->reg] + 8, 0, 8);
        }
        return true;
    case 0xd6:                          /* 66: MOVQ xmm/m64, xmm */
        if (p != 1)
            x86_raise(cpu, X86_EXC_UD);
        store_xmm(cpu, insn, 8, false, 0);
        if (!insn->has_mem)
            memset(f->xmm[insn->rm] + 8, 0, 8);
        return true;
    case 0x12: case 0x16:
        if (p >= 2)                     /* MOVSLDUP MOVSHDUP MOVDDUP: ops-sse.c */
            return false;
        if (!insn->has_mem) {
            if (p == 1)
                x86_raise(cpu, X86_EXC_UD);
            if (op == 0x12)             /* MOVHLPS */
                memmove(f->xmm[insn->reg], f->xmm[insn->rm] + 8, 8);
            else                        /* MOVLHPS */
                memmove(f->xmm[insn->reg] + 8, f->xmm[insn->rm], 8);
            return true;
        }
        load_half(cpu, insn, f->xmm[insn->reg] + (op == 0x16 ? 8 : 0));
        return true;
    case 0x13: case 0x17:               /* MOVLPS MOVLPD MOVHPS MOVHPD stores */
        if (p >= 2 || !insn->has_mem)
            x86_raise(cpu, X86_EXC_UD);
        store_xmm(cpu, insn, 8, false, op == 0x17 ? 8 : 0);
        return true;
    }
    return false;
}
