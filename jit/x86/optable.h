/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The opcode maps as data: for each opcode, how it decodes (ModRM,
 * immediates, operand-size rules) and which handler gives its meaning
 * (Intel SDM vol. 2, appendix A, tables ).
 */
#pragma once

#include "jit/x86/decode.h"

/* Decoding attributes of an opcode. */
enum {
    XF_MODRM    = 1u << 0,  /* has a ModRM byte */
    XF_BYTE     = 1u << 1,  /* byte operand size */
    XF_IMM8     = 1u << 2,  /* ib, sign-extended */
    XF_IMM16    = 1u << 3,  /* iw, zero-extended */
    XF_IMMZ     = 1u << 4,  /* iw or id by operand size, sign-extended */
    XF_IMMV     = 1u << 5,  /* iw, id or iq by operand size */
    XF_ENTER    = 1u << 6,  /* iw then ib */
    XF_MOFFS    = 1u << 7,  /* address-size offset */
    XF_FARPTR   = 1u << 8,  /* iz offset then a 16-bit selector */
    XF_DEF64    = 1u << 9,  /* operand size 64 by default in 64-bit mode */
    XF_FORCE64  = 1u << 10, /* operand size 64 in 64-bit mode, 66h ignored */
    XF_INV64    = 1u << 11, /* #UD in 64-bit mode */
    XF_MEM      = 1u << 12, /* ModRM must name memory, else #UD */
    XF_REG      = 1u << 13, /* ModRM must name a register, else #UD */
    XF_LOCK     = 1u << 14, /* LOCK allowed (with a memory destination) */
    XF_GROUP    = 1u << 15, /* handler chosen by ModRM.reg: see group */
    XF_NOMEM    = 1u << 16, /* ModRM.mod is ignored: always a register (MOV CR/DR) */
};

struct x86_opdesc {
    x86_handler handler;    /* NULL: invalid opcode */
    uint32_t flags;
    uint8_t group;          /* index into x86_optable_group when XF_GROUP */
};

enum {
    X86_GROUP_NONE,
    X86_GROUP_1,        /* 80-83 */
    X86_GROUP_1A,       /* 8F */
    X86_GROUP_2,        /* C0 C1 D0-D3 */
    X86_GROUP_3B,       /* F6 */
    X86_GROUP_3V,       /* F7 */
    X86_GROUP_4,        /* FE */
    X86_GROUP_5,        /* FF */
    X86_GROUP_11B,      /* C6 */
    X86_GROUP_11V,      /* C7 */
    X86_GROUP_8,        /* 0F BA */
    X86_GROUP_9,        /* 0F C7 */
    X86_GROUP_COUNT,
};

extern const struct x86_opdesc x86_optable_one[256];
extern const struct x86_opdesc x86_optable_0f[256];
extern const struct x86_opdesc x86_optable_0f38[256];
extern const struct x86_opdesc x86_optable_0f3a[256];
extern const struct x86_opdesc x86_optable_group[X86_GROUP_COUNT][8];
