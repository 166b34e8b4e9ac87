/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pure integer operations with their exact EFLAGS results: the single
 * definition of what each arithmetic instruction computes (Intel SDM vol. 1,
 * 3.4.3.1 and appendix A; vol. 2 per-instruction "Flags Affected").
 *
 * Each helper takes the operand size in bytes (1, 2, 4, 8), operands already
 * truncated to that size, and the current RFLAGS by pointer; it returns the
 * result and updates only the flags the instruction writes. Where the SDM
 * calls a flag "undefined", the helper produces what this project's
 * reference CPU (AMD Zen, see jit/README.md) produces, checked by the
 * differential test in tests/jit.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "jit/x86/cpu.h"

/* The eight classic ALU operations in opcode order (00-3F, group 1). */
enum x86_alu_op {
    X86_ALU_ADD, X86_ALU_OR, X86_ALU_ADC, X86_ALU_SBB,
    X86_ALU_AND, X86_ALU_SUB, X86_ALU_XOR, X86_ALU_CMP,
};

/* Shift and rotate operations in group 2 order. */
enum x86_shift_op {
    X86_SHIFT_ROL, X86_SHIFT_ROR, X86_SHIFT_RCL, X86_SHIFT_RCR,
    X86_SHIFT_SHL, X86_SHIFT_SHR, X86_SHIFT_SAL, X86_SHIFT_SAR,
};

/* PF, ZF, SF of @result (SF from bit 8*size-1, PF from the low byte). */
uint64_t x86_flags_szp(unsigned size, uint64_t result);

uint64_t x86_alu(enum x86_alu_op op, unsigned size, uint64_t a, uint64_t b,
                 uint64_t *flags);
uint64_t x86_alu_inc(unsigned size, uint64_t a, uint64_t *flags);
uint64_t x86_alu_dec(unsigned size, uint64_t a, uint64_t *flags);
uint64_t x86_alu_neg(unsigned size, uint64_t a, uint64_t *flags);

/*
 * Widening multiply: returns the low half, stores the high half in *high.
 * imul2 is the two/three-operand IMUL (truncated result, same flags).
 */
uint64_t x86_alu_mul(unsigned size, uint64_t a, uint64_t b, uint64_t *high,
                     uint64_t *flags);
uint64_t x86_alu_imul(unsigned size, uint64_t a, uint64_t b, uint64_t *high,
                      uint64_t *flags);

/*
 * Division of high:low by @divisor. Returns false when the CPU raises #DE
 * (divisor zero or quotient too large); nothing is written then.
 */
bool x86_alu_div(unsigned size, uint64_t high, uint64_t low, uint64_t divisor,
                 uint64_t *quotient, uint64_t *remainder, uint64_t *flags);
bool x86_alu_idiv(unsigned size, uint64_t high, uint64_t low, uint64_t divisor,
                  uint64_t *quotient, uint64_t *remainder, uint64_t *flags);

/* Group 2 with the raw count operand (masked inside, SDM "SAL/SAR/SHL/SHR"). */
uint64_t x86_alu_shift(enum x86_shift_op op, unsigned size, uint64_t a,
                       unsigned count, uint64_t *flags);
/* SHLD (left = true) / SHRD of @a with bits from @b. */
uint64_t x86_alu_shiftd(bool left, unsigned size, uint64_t a, uint64_t b,
                        unsigned count, uint64_t *flags);

/* Bit scans and counts; return false when the destination is not written. */
bool x86_alu_bsf(unsigned size, uint64_t a, uint64_t *result, uint64_t *flags);
bool x86_alu_bsr(unsigned size, uint64_t a, uint64_t *result, uint64_t *flags);
uint64_t x86_alu_tzcnt(unsigned size, uint64_t a, uint64_t *flags);
uint64_t x86_alu_lzcnt(unsigned size, uint64_t a, uint64_t *flags);
uint64_t x86_alu_popcnt(unsigned size, uint64_t a, uint64_t *flags);

/* Decimal and ASCII adjusts in opcode order (27 DAA, 2F DAS, 37 AAA, 3F AAS). */
enum x86_bcd_op { X86_BCD_DAA, X86_BCD_DAS, X86_BCD_AAA, X86_BCD_AAS };

/* The adjust @op of AX; returns the new AX (SDM vol. 2, "AAA" ... "DAS"). */
uint16_t x86_alu_bcd(enum x86_bcd_op op, uint16_t ax, uint64_t *flags);
/* AAM: AH = AL / base, AL = AL % base. False when @base is 0 (#DE). */
bool x86_alu_aam(uint16_t ax, uint8_t base, uint16_t *result, uint64_t *flags);
/* AAD: AL = AL + AH * base, AH = 0. */
uint16_t x86_alu_aad(uint16_t ax, uint8_t base, uint64_t *flags);
