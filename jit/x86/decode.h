/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x86 instruction decoder: bytes -> struct x86_insn (Intel SDM vol. 2, ch. 2
 * "Instruction format" and appendix A "Opcode map").
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "jit/x86/cpu.h"

struct x86_insn;
typedef void (*x86_handler)(struct x86_cpu *cpu, const struct x86_insn *insn);

enum x86_map { X86_MAP_ONE, X86_MAP_0F, X86_MAP_0F38, X86_MAP_0F3A };

/* Repeat prefix in effect (the last of F2/F3 wins). */
enum x86_rep { X86_REP_NONE, X86_REP_E /* F3: rep, repe */, X86_REP_NE /* F2 */ };

/* Register numbers in base/index that are not general registers. */
#define X86_REG_NONE 0xff
#define X86_REG_RIP 0xfe

/* Length limit (SDM vol. 2, 2.3.11). */
#define X86_MAX_INSN_LENGTH 15

struct x86_insn {
    x86_handler handler;
    uint64_t imm;       /* ib/iz sign-extended, iw zero-extended, iv as is */
    uint64_t imm2;      /* enter's ib; far pointer's selector */
    int64_t disp;       /* memory displacement (moffs: the offset) */
    uint8_t length;
    uint8_t map;        /* enum x86_map */
    uint8_t opcode;
    uint8_t opsize;     /* 1, 2, 4, 8: size of the main operand */
    uint8_t addrsize;   /* 2, 4, 8 */
    uint8_t seg;        /* segment of the memory operand, enum x86_seg */
    uint8_t seg_override; /* X86_SEG_NONE when there is no prefix */
    uint8_t rep;        /* enum x86_rep */
    uint8_t lock;
    uint8_t opsize_prefix, addrsize_prefix;
    uint8_t rex;        /* the REX byte, 0 when absent */
    uint8_t has_modrm;
    uint8_t modrm, mod;
    uint8_t reg;        /* ModRM.reg | REX.R << 3 */
    uint8_t rm;         /* ModRM.rm | REX.B << 3 (register operand when mod == 3) */
    uint8_t has_mem;    /* the r/m operand (or moffs) is memory */
    uint8_t base, index, scale;  /* memory: registers or X86_REG_*, scale 1..8 */
    uint8_t opcode_reg; /* low 3 opcode bits | REX.B << 3 (50+r, B8+r...) */
};

enum x86_decode_result {
    X86_DECODE_OK,
    X86_DECODE_MORE,    /* the buffer ended before the instruction did */
    X86_DECODE_UD,      /* invalid opcode or prefix use: raise #UD */
    X86_DECODE_GP,      /* longer than 15 bytes: raise #GP(0) */
};

/*
 * Decode the instruction at the start of @bytes (@available bytes valid) for
 * @mode. Fills @insn; on X86_DECODE_UD the handler raises #UD.
 */
enum x86_decode_result x86_decode(struct x86_insn *insn, const uint8_t *bytes,
                                  unsigned available, enum x86_mode mode);
