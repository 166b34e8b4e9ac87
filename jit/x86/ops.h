/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What instruction handlers may use: operand accessors (registers, ModRM
 * memory, stack) and the list of handlers. Handlers never touch cpu->gpr
 * sizes or memory any other way, so the translator can reuse them as is.
 */
#pragma once

#include "jit/x86/cpu.h"
#include "jit/x86/decode.h"

static inline uint64_t x86_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static inline uint64_t x86_sign_bit(unsigned size)
{
    return 1ull << (8 * size - 1);
}

/* @value's low @size bytes, sign-extended to 64 bits. */
static inline uint64_t x86_sign_extend(uint64_t value, unsigned size)
{
    unsigned shift = 64 - 8 * size;

    return (uint64_t)((int64_t)(value << shift) >> shift);
}

/*
 * General register @reg of @size bytes. Byte registers 4-7 are AH, CH, DH,
 * BH when the instruction has no REX prefix (SDM vol. 1, 3.7.2.1).
 */
static inline uint64_t x86_reg_read(const struct x86_cpu *cpu,
                                    const struct x86_insn *insn, unsigned reg,
                                    unsigned size)
{
    if (size == 1 && !insn->rex && reg >= 4 && reg < 8)
        return (cpu->gpr[reg - 4] >> 8) & 0xff;
    return cpu->gpr[reg] & x86_mask(size);
}

/* Writes of 32 bits zero the upper half; 8 and 16 keep the rest (3.4.1.1). */
static inline void x86_reg_write(struct x86_cpu *cpu, const struct x86_insn *insn,
                                 unsigned reg, unsigned size, uint64_t value)
{
    if (size == 1 && !insn->rex && reg >= 4 && reg < 8) {
        uint64_t *r = &cpu->gpr[reg - 4];

        *r = (*r & ~0xff00ull) | ((value & 0xff) << 8);
    } else if (size == 4 || size == 8) {
        cpu->gpr[reg] = value & x86_mask(size);
    } else {
        cpu->gpr[reg] = (cpu->gpr[reg] & ~x86_mask(size)) | (value & x86_mask(size));
    }
}

/* ModRM.reg as an opcode extension (groups), without REX.R. */
static inline unsigned x86_modrm_op(const struct x86_insn *insn)
{
    return (insn->modrm >> 3) & 7;
}

/* Effective address of the memory operand, wrapped to the address size. */
uint64_t x86_effective_address(const struct x86_cpu *cpu,
                               const struct x86_insn *insn);
/* Segment-relative accesses (linear = base + offset; checks in mem.c). */
uint64_t x86_mem_read(struct x86_cpu *cpu, unsigned seg, uint64_t offset,
                      unsigned size);
void x86_mem_write(struct x86_cpu *cpu, unsigned seg, uint64_t offset,
                   unsigned size, uint64_t value);

/* The ModRM r/m operand: register rm or memory. */
static inline uint64_t x86_rm_read(struct x86_cpu *cpu, const struct x86_insn *insn,
                                   unsigned size)
{
    if (!insn->has_mem)
        return x86_reg_read(cpu, insn, insn->rm, size);
    return x86_mem_read(cpu, insn->seg, x86_effective_address(cpu, insn), size);
}

static inline void x86_rm_write(struct x86_cpu *cpu, const struct x86_insn *insn,
                                unsigned size, uint64_t value)
{
    if (!insn->has_mem)
        x86_reg_write(cpu, insn, insn->rm, size, value);
    else
        x86_mem_write(cpu, insn->seg, x86_effective_address(cpu, insn), size,
                      value);
}

/*
 * Locked read-modify-write of a memory operand (LOCK prefix, XCHG; SDM
 * vol. 3, 8.1.2). x86_locked_read checks the operand for reading and
 * writing (it may fault) and reads it (16 bytes: the high half in
 * old[1]); x86_locked_write stores @low (and @high) only if the operand
 * still holds what was read, atomically with respect to the other vCPUs,
 * else returns false: the handler, which has committed nothing, computes
 * again from a new read.
 */
struct x86_locked {
    uint8_t *cas;               /* host word of one compare-and-swap, or NULL */
    unsigned size, cas_size, shift, first;
    bool ram;                   /* every byte is in RAM */
    uint64_t physical[2];       /* the first byte; the first on the next page */
    uint64_t old[2], container[2];
};
uint64_t x86_locked_read(struct x86_cpu *cpu, unsigned seg, uint64_t offset,
                         unsigned size, struct x86_locked *l);
bool x86_locked_write(struct x86_cpu *cpu, struct x86_locked *l, uint64_t low,
                      uint64_t high);

/* The r/m operand of a read-modify-write, locked when @locked and memory. */
static inline uint64_t x86_rmw_read(struct x86_cpu *cpu, const struct x86_insn *insn,
                                    unsigned size, bool locked, struct x86_locked *l)
{
    l->size = 0;
    if (!locked || !insn->has_mem)
        return x86_rm_read(cpu, insn, size);
    return x86_locked_read(cpu, insn->seg, x86_effective_address(cpu, insn), size, l);
}

/* False: a locked operand changed since x86_rmw_read; start over. */
static inline bool x86_rmw_write(struct x86_cpu *cpu, const struct x86_insn *insn,
                                 unsigned size, struct x86_locked *l, uint64_t value)
{
    if (l->size)
        return x86_locked_write(cpu, l, value, 0);
    x86_rm_write(cpu, insn, size, value);
    return true;
}

/* Stack (SDM vol. 1, 6.2): width of SP/ESP/RSP as a stack pointer. */
unsigned x86_stack_width(const struct x86_cpu *cpu);
uint64_t x86_stack_read(struct x86_cpu *cpu, int64_t offset, unsigned size);
void x86_stack_write(struct x86_cpu *cpu, int64_t offset, unsigned size,
                     uint64_t value);
void x86_stack_adjust(struct x86_cpu *cpu, int64_t delta);
void x86_push(struct x86_cpu *cpu, unsigned size, uint64_t value);
uint64_t x86_pop(struct x86_cpu *cpu, unsigned size);

/* Jump to @target with operand size @size (IP/EIP truncation, 64-bit). */
void x86_branch(struct x86_cpu *cpu, unsigned size, uint64_t target);
/* Condition code 0-15 of Jcc/SETcc/CMOVcc (SDM vol. 1, appendix B). */
bool x86_condition(const struct x86_cpu *cpu, unsigned cc);
/* CPL from CS (SDM vol. 3, 5.5). */
unsigned x86_cpl(const struct x86_cpu *cpu);

/* Handlers, by file. */
/* ops-alu.c */
void x86_op_alu(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_alu_imm(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_test(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_inc_dec(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_not(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_neg(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_mul(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_imul1(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_imul(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_div(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_idiv(struct x86_cpu *cpu, const struct x86_insn *insn);
/* ops-bcd.c */
void x86_op_bcd_adjust(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_aam(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_aad(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_bound(struct x86_cpu *cpu, const struct x86_insn *insn);
/* ops-bits.c */
void x86_op_shift(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_shld_shrd(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_bt(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_bsf(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_bsr(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_popcnt(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_bswap(struct x86_cpu *cpu, const struct x86_insn *insn);
/* ops-data.c */
void x86_op_mov(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_mov_imm(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_mov_moffs(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_mov_from_sreg(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_movzx(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_movsx(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_movsxd(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_movbe(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_lea(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_xchg(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_xchg_ax(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_xadd(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_cmpxchg(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_group9(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_cbw(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_cwd(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_setcc(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_cmovcc(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_xlat(struct x86_cpu *cpu, const struct x86_insn *insn);
/* ops-misc.c */
void x86_op_ud(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_nop(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_lahf(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_sahf(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_flag(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_cpuid(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_rdtsc(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_group7(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_salc(struct x86_cpu *cpu, const struct x86_insn *insn);
/* ops-far.c */
void x86_op_mov_to_sreg(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_push_sreg(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_pop_sreg(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_load_far_pointer(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_far_direct(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_far_indirect(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_far_return(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_iret(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_int3(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_int(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_int1(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_hlt(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_syscall(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_sysret(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_sysenter(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_sysexit(struct x86_cpu *cpu, const struct x86_insn *insn);
/* ops-system.c */
void x86_op_mov_cr(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_mov_dr(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_msr(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_privileged(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_group6(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_lar_lsl(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_arpl(struct x86_cpu *cpu, const struct x86_insn *insn);
/* ops-io.c */
void x86_op_in_out(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_ins_outs(struct x86_cpu *cpu, const struct x86_insn *insn);
/* ops-stack.c */
void x86_op_push_reg(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_pop_reg(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_push_imm(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_push_rm(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_pop_rm(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_pushf(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_popf(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_pusha(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_popa(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_enter(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_leave(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_call_rel(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_call_rm(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_ret(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_jmp_rel(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_jmp_rm(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_jcc(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_loop(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_jcxz(struct x86_cpu *cpu, const struct x86_insn *insn);
/* ops-string.c */
void x86_op_movs(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_cmps(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_stos(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_lods(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_scas(struct x86_cpu *cpu, const struct x86_insn *insn);
