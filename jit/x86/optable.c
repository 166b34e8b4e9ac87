/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Opcode maps: decoding attributes and handler of every opcode (Intel SDM
 * vol. 2, appendix A.3, tables; group table A-6). A NULL handler
 * decodes (so its length is known) and raises #UD.
 */
#include "jit/x86/optable.h"

#include <stddef.h>

#include "jit/x86/fpu.h"
#include "jit/x86/ops.h"

#define H(fn, fl) { fn, (fl), X86_GROUP_NONE }
#define G(g, fl) { NULL, (fl) | XF_GROUP, (g) }
#define M XF_MODRM
#define B XF_BYTE

/* One row of the eight classic ALU operations: Eb,Gb Ev,Gv Gb,Eb Gv,Ev AL,Ib rAX,Iz. */
#define ALU_ROW(base, lock) \
    [(base) + 0] = H(x86_op_alu, M | B | (lock)), \
    [(base) + 1] = H(x86_op_alu, M | (lock)), \
    [(base) + 2] = H(x86_op_alu, M | B), \
    [(base) + 3] = H(x86_op_alu, M), \
    [(base) + 4] = H(x86_op_alu, B | XF_IMM8), \
    [(base) + 5] = H(x86_op_alu, XF_IMMZ)

#define RANGE(first, last, value) [(first) ... (last)] = value

const struct x86_opdesc x86_optable_one[256] = {
    ALU_ROW(0x00, XF_LOCK), ALU_ROW(0x08, XF_LOCK), ALU_ROW(0x10, XF_LOCK),
    ALU_ROW(0x18, XF_LOCK), ALU_ROW(0x20, XF_LOCK), ALU_ROW(0x28, XF_LOCK),
    ALU_ROW(0x30, XF_LOCK), ALU_ROW(0x38, 0),
    [0x06] = H(x86_op_push_sreg, XF_INV64), [0x07] = H(x86_op_pop_sreg, XF_INV64),
    [0x0e] = H(x86_op_push_sreg, XF_INV64), [0x16] = H(x86_op_push_sreg, XF_INV64),
    [0x17] = H(x86_op_pop_sreg, XF_INV64), [0x1e] = H(x86_op_push_sreg, XF_INV64),
    [0x1f] = H(x86_op_pop_sreg, XF_INV64),
    [0x27] = H(x86_op_bcd_adjust, XF_INV64), [0x2f] = H(x86_op_bcd_adjust, XF_INV64),
    [0x37] = H(x86_op_bcd_adjust, XF_INV64), [0x3f] = H(x86_op_bcd_adjust, XF_INV64),
    RANGE(0x40, 0x4f, H(x86_op_inc_dec, 0)),    /* REX in 64-bit mode */
    RANGE(0x50, 0x57, H(x86_op_push_reg, XF_DEF64)),
    RANGE(0x58, 0x5f, H(x86_op_pop_reg, XF_DEF64)),
    [0x60] = H(x86_op_pusha, XF_INV64),
    [0x61] = H(x86_op_popa, XF_INV64),
    /* BOUND; EVEX in 64-bit mode, and with mod = 3 elsewhere (FIXME: EVEX). */
    [0x62] = H(x86_op_bound, M | XF_MEM | XF_INV64),
    [0x63] = H(x86_op_movsxd, M),               /* ARPL outside 64-bit mode */
    [0x68] = H(x86_op_push_imm, XF_IMMZ | XF_DEF64),
    [0x69] = H(x86_op_imul, M | XF_IMMZ),
    [0x6a] = H(x86_op_push_imm, XF_IMM8 | XF_DEF64),
    [0x6b] = H(x86_op_imul, M | XF_IMM8),
    [0x6c] = H(x86_op_ins_outs, B), [0x6d] = H(x86_op_ins_outs, 0),
    [0x6e] = H(x86_op_ins_outs, B), [0x6f] = H(x86_op_ins_outs, 0),
    RANGE(0x70, 0x7f, H(x86_op_jcc, XF_IMM8 | XF_FORCE64)),
    [0x80] = G(X86_GROUP_1, M | B | XF_IMM8),
    [0x81] = G(X86_GROUP_1, M | XF_IMMZ),
    [0x82] = G(X86_GROUP_1, M | B | XF_IMM8 | XF_INV64),
    [0x83] = G(X86_GROUP_1, M | XF_IMM8),
    [0x84] = H(x86_op_test, M | B), [0x85] = H(x86_op_test, M),
    [0x86] = H(x86_op_xchg, M | B | XF_LOCK), [0x87] = H(x86_op_xchg, M | XF_LOCK),
    [0x88] = H(x86_op_mov, M | B), [0x89] = H(x86_op_mov, M),
    [0x8a] = H(x86_op_mov, M | B), [0x8b] = H(x86_op_mov, M),
    [0x8c] = H(x86_op_mov_from_sreg, M),
    [0x8d] = H(x86_op_lea, M | XF_MEM),
    [0x8e] = H(x86_op_mov_to_sreg, M),
    [0x8f] = G(X86_GROUP_1A, M | XF_DEF64),
    RANGE(0x90, 0x97, H(x86_op_xchg_ax, 0)),
    [0x98] = H(x86_op_cbw, 0), [0x99] = H(x86_op_cwd, 0),
    [0x9a] = H(x86_op_far_direct, XF_FARPTR | XF_INV64),
    [0x9b] = H(x86_op_fwait, 0),
    [0x9c] = H(x86_op_pushf, XF_DEF64), [0x9d] = H(x86_op_popf, XF_DEF64),
    [0x9e] = H(x86_op_sahf, 0), [0x9f] = H(x86_op_lahf, 0),
    [0xa0] = H(x86_op_mov_moffs, B | XF_MOFFS), [0xa1] = H(x86_op_mov_moffs, XF_MOFFS),
    [0xa2] = H(x86_op_mov_moffs, B | XF_MOFFS), [0xa3] = H(x86_op_mov_moffs, XF_MOFFS),
    [0xa4] = H(x86_op_movs, B), [0xa5] = H(x86_op_movs, 0),
    [0xa6] = H(x86_op_cmps, B), [0xa7] = H(x86_op_cmps, 0),
    [0xa8] = H(x86_op_test, B | XF_IMM8), [0xa9] = H(x86_op_test, XF_IMMZ),
    [0xaa] = H(x86_op_stos, B), [0xab] = H(x86_op_stos, 0),
    [0xac] = H(x86_op_lods, B), [0xad] = H(x86_op_lods, 0),
    [0xae] = H(x86_op_scas, B), [0xaf] = H(x86_op_scas, 0),
    RANGE(0xb0, 0xb7, H(x86_op_mov_imm, B | XF_IMM8)),
    RANGE(0xb8, 0xbf, H(x86_op_mov_imm, XF_IMMV)),
    [0xc0] = G(X86_GROUP_2, M | B | XF_IMM8), [0xc1] = G(X86_GROUP_2, M | XF_IMM8),
    [0xc2] = H(x86_op_ret, XF_IMM16 | XF_FORCE64), [0xc3] = H(x86_op_ret, XF_FORCE64),
    /* LES/LDS; VEX in 64-bit mode (FIXME: VEX). */
    [0xc4] = H(x86_op_load_far_pointer, M | XF_MEM | XF_INV64),
    [0xc5] = H(x86_op_load_far_pointer, M | XF_MEM | XF_INV64),
    [0xc6] = G(X86_GROUP_11B, M | B), [0xc7] = G(X86_GROUP_11V, M),
    [0xc8] = H(x86_op_enter, XF_ENTER | XF_DEF64), [0xc9] = H(x86_op_leave, XF_DEF64),
    [0xca] = H(x86_op_far_return, XF_IMM16), [0xcb] = H(x86_op_far_return, 0),
    [0xcc] = H(x86_op_int3, 0), [0xcd] = H(x86_op_int, XF_IMM8),
    [0xce] = H(x86_op_int, XF_INV64),           /* INTO */
    [0xcf] = H(x86_op_iret, 0),
    [0xd0] = G(X86_GROUP_2, M | B), [0xd1] = G(X86_GROUP_2, M),
    [0xd2] = G(X86_GROUP_2, M | B), [0xd3] = G(X86_GROUP_2, M),
    [0xd4] = H(x86_op_aam, XF_IMM8 | XF_INV64), [0xd5] = H(x86_op_aad, XF_IMM8 | XF_INV64),
    [0xd6] = H(x86_op_salc, XF_INV64), [0xd7] = H(x86_op_xlat, 0),
    RANGE(0xd8, 0xdf, H(x86_op_x87, M)),
    RANGE(0xe0, 0xe2, H(x86_op_loop, XF_IMM8 | XF_FORCE64)),
    [0xe3] = H(x86_op_jcxz, XF_IMM8 | XF_FORCE64),
    [0xe4] = H(x86_op_in_out, B | XF_IMM8), [0xe5] = H(x86_op_in_out, XF_IMM8),
    [0xe6] = H(x86_op_in_out, B | XF_IMM8), [0xe7] = H(x86_op_in_out, XF_IMM8),
    [0xe8] = H(x86_op_call_rel, XF_IMMZ | XF_FORCE64),
    [0xe9] = H(x86_op_jmp_rel, XF_IMMZ | XF_FORCE64),
    [0xea] = H(x86_op_far_direct, XF_FARPTR | XF_INV64),
    [0xeb] = H(x86_op_jmp_rel, XF_IMM8 | XF_FORCE64),
    [0xec] = H(x86_op_in_out, B), [0xed] = H(x86_op_in_out, 0),
    [0xee] = H(x86_op_in_out, B), [0xef] = H(x86_op_in_out, 0),
    [0xf1] = H(x86_op_int1, 0), [0xf4] = H(x86_op_hlt, 0),
    [0xf5] = H(x86_op_flag, 0),
    [0xf6] = G(X86_GROUP_3B, M | B), [0xf7] = G(X86_GROUP_3V, M),
    RANGE(0xf8, 0xfd, H(x86_op_flag, 0)),
    [0xfe] = G(X86_GROUP_4, M | B), [0xff] = G(X86_GROUP_5, M),
};

const struct x86_opdesc x86_optable_0f[256] = {
    [0x00] = H(x86_op_group6, M), [0x01] = H(x86_op_group7, M),
    [0x02] = H(x86_op_lar_lsl, M), [0x03] = H(x86_op_lar_lsl, M),
    [0x05] = H(x86_op_syscall, 0), [0x07] = H(x86_op_sysret, 0),
    [0x06] = H(x86_op_privileged, 0),           /* CLTS */
    [0x08] = H(x86_op_privileged, 0), [0x09] = H(x86_op_privileged, 0),
    [0x0d] = H(x86_op_nop, M | XF_MEM),         /* PREFETCHW */
    RANGE(0x10, 0x17, H(x86_op_sse, M)),
    [0x18] = H(x86_op_nop, M),                  /* prefetch hints */
    RANGE(0x19, 0x1f, H(x86_op_nop, M)),        /* reserved NOPs, ENDBR */
    [0x20] = H(x86_op_mov_cr, M | XF_NOMEM), [0x22] = H(x86_op_mov_cr, M | XF_NOMEM),
    [0x21] = H(x86_op_mov_dr, M | XF_NOMEM), [0x23] = H(x86_op_mov_dr, M | XF_NOMEM),
    RANGE(0x28, 0x2f, H(x86_op_sse, M)),
    [0x30] = H(x86_op_msr, 0), [0x31] = H(x86_op_rdtsc, 0),
    [0x32] = H(x86_op_msr, 0),
    [0x34] = H(x86_op_sysenter, 0), [0x35] = H(x86_op_sysexit, 0),
    RANGE(0x40, 0x4f, H(x86_op_cmovcc, M)),
    RANGE(0x50, 0x6f, H(x86_op_sse, M)),
    RANGE(0x70, 0x73, H(x86_op_sse, M | XF_IMM8)),
    RANGE(0x74, 0x76, H(x86_op_sse, M)),
    [0x77] = H(x86_op_sse, 0),                  /* EMMS */
    RANGE(0x78, 0x7b, H(NULL, M)),
    RANGE(0x7c, 0x7d, H(x86_op_sse, M)),        /* HADD, HSUB (SSE3) */
    RANGE(0x7e, 0x7f, H(x86_op_sse, M)),
    RANGE(0x80, 0x8f, H(x86_op_jcc, XF_IMMZ | XF_FORCE64)),
    RANGE(0x90, 0x9f, H(x86_op_setcc, M | B)),
    [0xa0] = H(x86_op_push_sreg, XF_DEF64), [0xa1] = H(x86_op_pop_sreg, XF_DEF64),
    [0xa8] = H(x86_op_push_sreg, XF_DEF64), [0xa9] = H(x86_op_pop_sreg, XF_DEF64),
    [0xa2] = H(x86_op_cpuid, 0),
    [0xa3] = H(x86_op_bt, M),
    [0xa4] = H(x86_op_shld_shrd, M | XF_IMM8), [0xa5] = H(x86_op_shld_shrd, M),
    [0xab] = H(x86_op_bt, M | XF_LOCK),
    [0xac] = H(x86_op_shld_shrd, M | XF_IMM8), [0xad] = H(x86_op_shld_shrd, M),
    [0xae] = H(x86_op_fxsave_group, M),
    [0xaf] = H(x86_op_imul, M),
    [0xb0] = H(x86_op_cmpxchg, M | B | XF_LOCK), [0xb1] = H(x86_op_cmpxchg, M | XF_LOCK),
    [0xb2] = H(x86_op_load_far_pointer, M | XF_MEM),
    [0xb3] = H(x86_op_bt, M | XF_LOCK),
    [0xb4] = H(x86_op_load_far_pointer, M | XF_MEM),
    [0xb5] = H(x86_op_load_far_pointer, M | XF_MEM),
    [0xb6] = H(x86_op_movzx, M), [0xb7] = H(x86_op_movzx, M),
    [0xb8] = H(x86_op_popcnt, M),
    [0xb9] = H(NULL, M),                        /* UD1 */
    [0xba] = G(X86_GROUP_8, M | XF_IMM8),
    [0xbb] = H(x86_op_bt, M | XF_LOCK),
    [0xbc] = H(x86_op_bsf, M), [0xbd] = H(x86_op_bsr, M),
    [0xbe] = H(x86_op_movsx, M), [0xbf] = H(x86_op_movsx, M),
    [0xc0] = H(x86_op_xadd, M | B | XF_LOCK), [0xc1] = H(x86_op_xadd, M | XF_LOCK),
    [0xc2] = H(x86_op_sse, M | XF_IMM8), [0xc3] = H(x86_op_sse, M | XF_MEM),
    RANGE(0xc4, 0xc6, H(x86_op_sse, M | XF_IMM8)),
    [0xc7] = G(X86_GROUP_9, M),
    RANGE(0xc8, 0xcf, H(x86_op_bswap, 0)),
    RANGE(0xd0, 0xfe, H(x86_op_sse, M)),
    [0xff] = H(NULL, M),                        /* UD0 */
};

/* Three-byte maps (tables ): SSSE3/SSE4 forms (ops-sse4.c raises
 * #UD for the holes), MOVBE and CRC32. */
const struct x86_opdesc x86_optable_0f38[256] = {
    RANGE(0x00, 0xef, H(x86_op_sse_3byte, M)),
    [0xf0] = H(x86_op_0f38_f0, M), [0xf1] = H(x86_op_0f38_f0, M),
    RANGE(0xf2, 0xff, H(NULL, M)),
};

const struct x86_opdesc x86_optable_0f3a[256] = {
    RANGE(0x00, 0xff, H(x86_op_sse_3byte, M | XF_IMM8)),
};

const struct x86_opdesc x86_optable_group[X86_GROUP_COUNT][8] = {
    [X86_GROUP_1] = {
        H(x86_op_alu_imm, XF_LOCK), H(x86_op_alu_imm, XF_LOCK),
        H(x86_op_alu_imm, XF_LOCK), H(x86_op_alu_imm, XF_LOCK),
        H(x86_op_alu_imm, XF_LOCK), H(x86_op_alu_imm, XF_LOCK),
        H(x86_op_alu_imm, XF_LOCK), H(x86_op_alu_imm, 0),
    },
    [X86_GROUP_1A] = { H(x86_op_pop_rm, 0) },
    /* /6 is the undocumented alias of SHL. */
    [X86_GROUP_2] = {
        H(x86_op_shift, 0), H(x86_op_shift, 0), H(x86_op_shift, 0),
        H(x86_op_shift, 0), H(x86_op_shift, 0), H(x86_op_shift, 0),
        H(x86_op_shift, 0), H(x86_op_shift, 0),
    },
    /* /1 is the undocumented alias of TEST. */
    [X86_GROUP_3B] = {
        H(x86_op_test, XF_IMM8), H(x86_op_test, XF_IMM8),
        H(x86_op_not, XF_LOCK), H(x86_op_neg, XF_LOCK),
        H(x86_op_mul, 0), H(x86_op_imul1, 0), H(x86_op_div, 0), H(x86_op_idiv, 0),
    },
    [X86_GROUP_3V] = {
        H(x86_op_test, XF_IMMZ), H(x86_op_test, XF_IMMZ),
        H(x86_op_not, XF_LOCK), H(x86_op_neg, XF_LOCK),
        H(x86_op_mul, 0), H(x86_op_imul1, 0), H(x86_op_div, 0), H(x86_op_idiv, 0),
    },
    [X86_GROUP_4] = { H(x86_op_inc_dec, XF_LOCK), H(x86_op_inc_dec, XF_LOCK) },
    [X86_GROUP_5] = {
        H(x86_op_inc_dec, XF_LOCK), H(x86_op_inc_dec, XF_LOCK),
        H(x86_op_call_rm, XF_FORCE64), H(x86_op_far_indirect, XF_MEM),
        H(x86_op_jmp_rm, XF_FORCE64), H(x86_op_far_indirect, XF_MEM),
        H(x86_op_push_rm, XF_DEF64), H(NULL, 0),
    },
    [X86_GROUP_11B] = { H(x86_op_mov_imm, XF_IMM8) },
    [X86_GROUP_11V] = { H(x86_op_mov_imm, XF_IMMZ) },
    [X86_GROUP_8] = {
        H(NULL, 0), H(NULL, 0), H(NULL, 0), H(NULL, 0),
        H(x86_op_bt, 0), H(x86_op_bt, XF_LOCK), H(x86_op_bt, XF_LOCK),
        H(x86_op_bt, XF_LOCK),
    },
    [X86_GROUP_9] = {
        H(NULL, 0), H(x86_op_group9, XF_MEM | XF_LOCK), H(NULL, 0), H(NULL, 0),
        H(x86_op_xsavec, XF_MEM), H(NULL, 0), H(NULL, 0), H(NULL, 0),
    },
};
