/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Handlers of shifts, rotates, double shifts, bit tests, bit scans, POPCNT
 * and BSWAP (Intel SDM vol. 2, "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR", "SHLD",
 * "SHRD", "BT", "BTS", "BTR", "BTC", "BSF", "BSR", "TZCNT", "LZCNT").
 */
#include "jit/x86/alu.h"
#include "jit/x86/ops.h"

/* Group 2: C0/C1 by imm8, D0/D1 by 1, D2/D3 by CL. */
void x86_op_shift(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize, count;
    uint64_t flags = cpu->rflags, r;

    if (insn->opcode <= 0xc1)
        count = insn->imm & 0xff;
    else if (insn->opcode <= 0xd1)
        count = 1;
    else
        count = cpu->gpr[X86_RCX] & 0xff;
    r = x86_alu_shift(x86_modrm_op(insn), size, x86_rm_read(cpu, insn, size),
                      count, &flags);
    x86_rm_write(cpu, insn, size, r);
    cpu->rflags = flags;
}

/* SHLD (0F A4/A5) and SHRD (0F AC/AD): Ev, Gv, imm8 or CL. */
void x86_op_shld_shrd(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    unsigned count = (insn->opcode & 1) ? cpu->gpr[X86_RCX] & 0xff : insn->imm & 0xff;
    uint64_t flags = cpu->rflags, r;

    r = x86_alu_shiftd(insn->opcode < 0xa8, size, x86_rm_read(cpu, insn, size),
                       x86_reg_read(cpu, insn, insn->reg, size), count, &flags);
    x86_rm_write(cpu, insn, size, r);
    cpu->rflags = flags;
}

/*
 * BT/BTS/BTR/BTC. With a register bit offset and a memory operand the offset
 * is signed and selects any operand-sized word around the address (SDM
 * vol. 2, "BT": bit base and bit offset, figure 3-2).
 */
void x86_op_bt(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize, bits = 8 * size, action, bit;
    uint64_t value, mask, r;

    if (insn->opcode == 0xba) {
        action = x86_modrm_op(insn) - 4;
        bit = insn->imm & (bits - 1);
    } else {
        action = (insn->opcode >> 3) & 3;
        bit = x86_reg_read(cpu, insn, insn->reg, size) & (bits - 1);
    }
    mask = 1ull << bit;
    if (insn->has_mem) {
        uint64_t ea = x86_effective_address(cpu, insn);

        if (insn->opcode != 0xba) {
            int64_t offset = (int64_t)x86_sign_extend(
                x86_reg_read(cpu, insn, insn->reg, size), size);
            int shift = size == 2 ? 4 : size == 4 ? 5 : 6;

            ea = (ea + (uint64_t)((offset >> shift) * (int64_t)size)) &
                 x86_mask(insn->addrsize);
        }
        if (insn->lock && action) {    /* LOCK BTS, BTR, BTC */
            struct x86_locked l;

            do {
                value = x86_locked_read(cpu, insn->seg, ea, size, &l);
                r = action == 1 ? value | mask : action == 2 ? value & ~mask :
                    value ^ mask;
            } while (!x86_locked_write(cpu, &l, r, 0));
        } else {
            value = x86_mem_read(cpu, insn->seg, ea, size);
            r = action == 1 ? value | mask : action == 2 ? value & ~mask :
                action == 3 ? value ^ mask : value;
            if (action)
                x86_mem_write(cpu, insn->seg, ea, size, r);
        }
    } else {
        value = x86_reg_read(cpu, insn, insn->rm, size);
        r = action == 1 ? value | mask : action == 2 ? value & ~mask :
            action == 3 ? value ^ mask : value;
        if (action)
            x86_reg_write(cpu, insn, insn->rm, size, r);
    }
    cpu->rflags = (cpu->rflags & ~X86_CF) | ((value >> bit) & 1);
}

/* BSF (0F BC), or TZCNT with F3. */
void x86_op_bsf(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t a = x86_rm_read(cpu, insn, size), flags = cpu->rflags, r;

    if (insn->rep == X86_REP_E) {
        r = x86_alu_tzcnt(size, a, &flags);
        x86_reg_write(cpu, insn, insn->reg, size, r);
    } else if (x86_alu_bsf(size, a, &r, &flags)) {
        x86_reg_write(cpu, insn, insn->reg, size, r);
    }
    cpu->rflags = flags;
}

/* BSR (0F BD), or LZCNT with F3. */
void x86_op_bsr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t a = x86_rm_read(cpu, insn, size), flags = cpu->rflags, r;

    if (insn->rep == X86_REP_E) {
        r = x86_alu_lzcnt(size, a, &flags);
        x86_reg_write(cpu, insn, insn->reg, size, r);
    } else if (x86_alu_bsr(size, a, &r, &flags)) {
        x86_reg_write(cpu, insn, insn->reg, size, r);
    }
    cpu->rflags = flags;
}

/* POPCNT is F3 0F B8; without F3 the opcode is JMPE (Itanium only): #UD. */
void x86_op_popcnt(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t flags = cpu->rflags, r;

    if (insn->rep != X86_REP_E)
        x86_raise(cpu, X86_EXC_UD);
    r = x86_alu_popcnt(size, x86_rm_read(cpu, insn, size), &flags);
    x86_reg_write(cpu, insn, insn->reg, size, r);
    cpu->rflags = flags;
}

/* BSWAP r32/r64 (0F C8+r); with a 16-bit operand the low word becomes 0. */
void x86_op_bswap(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned reg = insn->opcode_reg;

    if (insn->opsize == 8)
        cpu->gpr[reg] = __builtin_bswap64(cpu->gpr[reg]);
    else if (insn->opsize == 4)
        cpu->gpr[reg] = __builtin_bswap32((uint32_t)cpu->gpr[reg]);
    else
        cpu->gpr[reg] &= ~0xffffull;
}
