/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Instruction forms for the differential test and the generator that turns
 * a form into encoded test cases with edge-case and random operands.
 */
#pragma once

#include <stdint.h>

#include "tests/jit/x86-native.h"

enum { RM_REG = 1, RM_MEM = 2, RM_BOTH = 3 };

/* What a form needs beyond plain operands. */
enum x86_special {
    SP_NONE,
    SP_SHIFT_IMM,   /* imm8 is a shift count: walk 0..width+1, then random */
    SP_SHIFT_CL,    /* CL is the count */
    SP_MUL,         /* uses rAX, rDX */
    SP_DIV,         /* rDX:rAX / r/m: mostly in range, some #DE */
    SP_BT,          /* register bit offset, bounded for the memory form */
    SP_CMPXCHG,     /* accumulator often equal to the destination */
    SP_CMPXCHG8B,   /* rDX:rAX often equal to memory; 16B: aligned mostly */
    SP_STRING,      /* rSI, rDI, rCX, rAX set up for string instructions */
    SP_STACK,       /* rSP points into the data page */
    SP_POPF,        /* stack top is a flags image without TF/AC */
    SP_RET,         /* stack top is a code address */
    SP_BRANCH,      /* relative branch: target inside the code page */
    SP_INDIRECT,    /* r/m is a code address */
    SP_LOOP,        /* rCX small, relative target */
    SP_ENTER,       /* rBP, rSP in the data page, small sizes and levels */
    SP_LEAVE,       /* rBP in the data page */
    SP_XLAT,        /* rBX points into the data page */
    SP_MOFFS,       /* the immediate is an absolute data address */
    SP_FIXED,       /* bytes given verbatim (form.bytes) */
};

struct x86_form {
    char name[64];
    uint8_t size;       /* operand size: 1, 2 (66h), 4, 8 (REX.W) */
    uint8_t prefix;     /* extra prefix before 66h (F0, F2, F3) or 0 */
    uint8_t map;        /* 0: one byte, 1: 0F, 2: 0F 38 */
    uint8_t opcode;
    int8_t digit;       /* -1: ModRM.reg is a register operand; 0-7: /digit; -2: no ModRM */
    uint8_t rm;         /* RM_REG, RM_MEM, RM_BOTH */
    uint8_t imm;        /* immediate bytes */
    uint8_t opreg;      /* register in the opcode's low three bits */
    uint8_t byte_regs;  /* some register operand is 8-bit (AH..BH without REX) */
    uint8_t special;    /* enum x86_special */
    uint8_t addr32_ok;  /* may add 67h (memory forms, strings, loops) */
    uint8_t cases;      /* cases to generate / 8 (0: default) */
    uint8_t nbytes;     /* SP_FIXED */
    uint8_t bytes[16];
};

/* Generate up to @max cases of @form into @out; returns how many. */
unsigned x86_gen_cases(const struct x86_form *form, uint32_t seed,
                       struct x86_test_case *out, unsigned max);
