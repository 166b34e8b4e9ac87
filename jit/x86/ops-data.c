/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Handlers of data movement: MOV forms, MOVZX/MOVSX/MOVSXD, MOVBE, LEA,
 * XCHG, XADD, CMPXCHG, CMPXCHG8B/16B, CBW/CWD families, SETcc, CMOVcc, XLAT
 * (Intel SDM vol. 2).
 */
#include "jit/x86/alu.h"
#include "jit/x86/ops.h"

/* 88-8B. */
void x86_op_mov(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;

    if (insn->opcode & 2)
        x86_reg_write(cpu, insn, insn->reg, size, x86_rm_read(cpu, insn, size));
    else
        x86_rm_write(cpu, insn, size, x86_reg_read(cpu, insn, insn->reg, size));
}

/* B0-BF (register in the opcode), C6/C7 /0 (r/m). */
void x86_op_mov_imm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->opcode >= 0xc6)
        x86_rm_write(cpu, insn, insn->opsize, insn->imm);
    else
        x86_reg_write(cpu, insn, insn->opcode_reg, insn->opsize, insn->imm);
}

/* A0-A3: accumulator to or from an absolute offset. */
void x86_op_mov_moffs(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t ea = x86_effective_address(cpu, insn);

    if (insn->opcode & 2)
        x86_mem_write(cpu, insn->seg, ea, size, x86_reg_read(cpu, insn, X86_RAX, size));
    else
        x86_reg_write(cpu, insn, X86_RAX, size, x86_mem_read(cpu, insn->seg, ea, size));
}

/* 8C: MOV Ev, Sreg. A memory destination is always 16 bits; a register
 * gets the selector zero-extended (SDM vol. 2, "MOV", notes). */
void x86_op_mov_from_sreg(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned sreg = x86_modrm_op(insn);

    if (sreg >= X86_SEG_COUNT)
        x86_raise(cpu, X86_EXC_UD);
    if (insn->has_mem)
        x86_rm_write(cpu, insn, 2, cpu->seg[sreg].selector);
    else
        x86_reg_write(cpu, insn, insn->rm, insn->opsize, cpu->seg[sreg].selector);
}

/* 0F B6/B7. */
void x86_op_movzx(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned from = insn->opcode == 0xb6 ? 1 : 2;

    x86_reg_write(cpu, insn, insn->reg, insn->opsize, x86_rm_read(cpu, insn, from));
}

/* 0F BE/BF. */
void x86_op_movsx(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned from = insn->opcode == 0xbe ? 1 : 2;
    uint64_t v = x86_sign_extend(x86_rm_read(cpu, insn, from), from);

    x86_reg_write(cpu, insn, insn->reg, insn->opsize, v);
}

/* 63: MOVSXD in 64-bit mode, ARPL elsewhere. */
void x86_op_movsxd(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize, from = size < 4 ? size : 4;
    uint64_t v;

    if (!x86_long64(cpu)) {
        x86_op_arpl(cpu, insn);
        return;
    }
    v = x86_sign_extend(x86_rm_read(cpu, insn, from), from);
    x86_reg_write(cpu, insn, insn->reg, size, v);
}

static uint64_t byte_swap(uint64_t v, unsigned size)
{
    return size == 8 ? __builtin_bswap64(v)
         : size == 4 ? __builtin_bswap32((uint32_t)v)
                     : __builtin_bswap16((uint16_t)v);
}

/* 0F 38 F0/F1: MOVBE Gv, Mv / Mv, Gv. With F2 the opcode is CRC32 (SSE4.2). */
void x86_op_movbe(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;

    if (insn->rep == X86_REP_NE)
        x86_raise(cpu, X86_EXC_UD);
    if (insn->opcode == 0xf0)
        x86_reg_write(cpu, insn, insn->reg, size,
                      byte_swap(x86_rm_read(cpu, insn, size), size));
    else
        x86_rm_write(cpu, insn, size,
                     byte_swap(x86_reg_read(cpu, insn, insn->reg, size), size));
}

/* 8D: the effective address, truncated or zero-extended to the operand size. */
void x86_op_lea(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_reg_write(cpu, insn, insn->reg, insn->opsize, x86_effective_address(cpu, insn));
}

/* 86/87 (LOCK implied with memory, SDM vol. 3, 8.1.2.1). */
void x86_op_xchg(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t b = x86_reg_read(cpu, insn, insn->reg, size), a;
    struct x86_locked l;

    do {
        a = x86_rmw_read(cpu, insn, size, true, &l);
    } while (!x86_rmw_write(cpu, insn, size, &l, b));
    x86_reg_write(cpu, insn, insn->reg, size, a);
}

/* 90-97: XCHG rAX, r; 90 without REX.B is NOP (F3 90 PAUSE), even for EAX. */
void x86_op_xchg_ax(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize, reg = insn->opcode_reg;
    uint64_t a, b;

    if (reg == X86_RAX)
        return;
    a = x86_reg_read(cpu, insn, X86_RAX, size);
    b = x86_reg_read(cpu, insn, reg, size);
    x86_reg_write(cpu, insn, X86_RAX, size, b);
    x86_reg_write(cpu, insn, reg, size, a);
}

/* 0F C0/C1: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP. */
void x86_op_xadd(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t src = x86_reg_read(cpu, insn, insn->reg, size), dest, flags, sum;
    struct x86_locked l;

    if (insn->has_mem) {
        do {
            flags = cpu->rflags;
            dest = x86_rmw_read(cpu, insn, size, insn->lock, &l);
            sum = x86_alu(X86_ALU_ADD, size, dest, src, &flags);
        } while (!x86_rmw_write(cpu, insn, size, &l, sum));
        x86_reg_write(cpu, insn, insn->reg, size, dest);
    } else {
        flags = cpu->rflags;
        dest = x86_rm_read(cpu, insn, size);
        sum = x86_alu(X86_ALU_ADD, size, dest, src, &flags);
        x86_reg_write(cpu, insn, insn->reg, size, dest);
        x86_rm_write(cpu, insn, size, sum);
    }
    cpu->rflags = flags;
}

/*
 * 0F B0/B1: compare the accumulator with DEST; equal: DEST = SRC, else the
 * accumulator = DEST. A memory DEST is written either way (SDM: "the
 * destination operand is written back if the comparison fails"); with LOCK
 * that write-back is atomic too, so the accumulator gets a value memory
 * held when the instruction took effect.
 */
void x86_op_cmpxchg(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t acc = x86_reg_read(cpu, insn, X86_RAX, size);
    uint64_t src = x86_reg_read(cpu, insn, insn->reg, size), dest, flags;
    struct x86_locked l;

    do {
        flags = cpu->rflags;
        dest = x86_rmw_read(cpu, insn, size, insn->lock, &l);
        x86_alu(X86_ALU_CMP, size, acc, dest, &flags);
    } while ((insn->has_mem || (flags & X86_ZF)) &&
             !x86_rmw_write(cpu, insn, size, &l, flags & X86_ZF ? src : dest));
    if (!(flags & X86_ZF))
        x86_reg_write(cpu, insn, X86_RAX, size, dest);
    cpu->rflags = flags;
}

/* LOCK CMPXCHG8B/16B: one locked access of 2 * @half bytes. */
static bool compare_exchange_locked(struct x86_cpu *cpu, const struct x86_insn *insn,
                                    uint64_t ea, unsigned half, uint64_t *mlow,
                                    uint64_t *mhigh)
{
    uint64_t alow = cpu->gpr[X86_RAX] & x86_mask(half);
    uint64_t ahigh = cpu->gpr[X86_RDX] & x86_mask(half);
    uint64_t low = cpu->gpr[X86_RBX] & x86_mask(half);
    uint64_t high = cpu->gpr[X86_RCX] & x86_mask(half);
    struct x86_locked l;
    bool equal, stored;

    do {
        uint64_t v = x86_locked_read(cpu, insn->seg, ea, 2 * half, &l);

        *mlow = half == 8 ? v : (uint32_t)v;
        *mhigh = half == 8 ? l.old[1] : v >> 32;
        equal = *mlow == alow && *mhigh == ahigh;
        if (half == 8)
            stored = x86_locked_write(cpu, &l, equal ? low : *mlow,
                                      equal ? high : *mhigh);
        else
            stored = x86_locked_write(cpu, &l, equal ? low | high << 32 : v, 0);
    } while (!stored);
    return equal;
}

/* 0F C7 /1: CMPXCHG8B m64, or CMPXCHG16B m128 with REX.W (16-byte aligned). */
void x86_op_group9(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned half = insn->opsize == 8 ? 8 : 4;
    uint64_t ea = x86_effective_address(cpu, insn);
    uint64_t mlow, mhigh, alow, ahigh;
    bool equal;
    uint64_t base = !x86_long64(cpu) || insn->seg == X86_FS || insn->seg == X86_GS
                  ? cpu->seg[insn->seg].base : 0;

    /* CMPXCHG16B: #GP(0) unless the linear address is 16-byte aligned
     * (SDM vol. 2A, CMPXCHG8B/CMPXCHG16B); 64-bit mode ignores most bases. */
    if (half == 8 && (ea + base) % 16)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    if (insn->lock) {
        equal = compare_exchange_locked(cpu, insn, ea, half, &mlow, &mhigh);
        if (!equal) {
            cpu->gpr[X86_RAX] = mlow;
            cpu->gpr[X86_RDX] = mhigh;
        }
        cpu->rflags = (cpu->rflags & ~X86_ZF) | (equal ? X86_ZF : 0);
        return;
    }
    mlow = x86_mem_read(cpu, insn->seg, ea, half);
    mhigh = x86_mem_read(cpu, insn->seg, (ea + half) & x86_mask(insn->addrsize), half);
    alow = cpu->gpr[X86_RAX] & x86_mask(half);
    ahigh = cpu->gpr[X86_RDX] & x86_mask(half);
    equal = mlow == alow && mhigh == ahigh;
    if (equal) {
        x86_mem_write(cpu, insn->seg, ea, half, cpu->gpr[X86_RBX]);
        x86_mem_write(cpu, insn->seg, (ea + half) & x86_mask(insn->addrsize), half,
                      cpu->gpr[X86_RCX]);
    } else {
        x86_mem_write(cpu, insn->seg, ea, half, mlow);
        x86_mem_write(cpu, insn->seg, (ea + half) & x86_mask(insn->addrsize), half,
                      mhigh);
        cpu->gpr[X86_RAX] = mlow;
        cpu->gpr[X86_RDX] = mhigh;
    }
    cpu->rflags = (cpu->rflags & ~X86_ZF) | (equal ? X86_ZF : 0);
}

/* 98: CBW/CWDE/CDQE. */
void x86_op_cbw(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize, half = size / 2;
    uint64_t v = x86_sign_extend(cpu->gpr[X86_RAX], half);

    x86_reg_write(cpu, insn, X86_RAX, size, v);
}

/* 99: CWD/CDQ/CQO. */
void x86_op_cwd(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    bool negative = cpu->gpr[X86_RAX] & x86_sign_bit(size);

    x86_reg_write(cpu, insn, X86_RDX, size, negative ? ~0ull : 0);
}

/* 0F 90-9F. */
void x86_op_setcc(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_rm_write(cpu, insn, 1, x86_condition(cpu, insn->opcode & 15));
}

/*
 * 0F 40-4F. The source is read (and may fault) whatever the condition; a
 * 32-bit destination is zero-extended even when nothing moves.
 */
void x86_op_cmovcc(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t v = x86_rm_read(cpu, insn, size);

    if (x86_condition(cpu, insn->opcode & 15))
        x86_reg_write(cpu, insn, insn->reg, size, v);
    else if (size == 4)
        x86_reg_write(cpu, insn, insn->reg, 4, cpu->gpr[insn->reg]);
}

/* D7: AL = [seg:rBX + AL]. */
void x86_op_xlat(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t ea = (cpu->gpr[X86_RBX] + (cpu->gpr[X86_RAX] & 0xff)) &
                  x86_mask(insn->addrsize);

    x86_reg_write(cpu, insn, X86_RAX, 1, x86_mem_read(cpu, insn->seg, ea, 1));
}
