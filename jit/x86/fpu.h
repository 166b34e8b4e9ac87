/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals shared by the x87, MMX and SSE handlers: availability checks
 * (#NM, #UD, #MF), the FXSAVE image, and running one arithmetic instruction
 * on the host's own x87/SSE unit (host-fp.c, host-fp.S).
 */
#pragma once

#include <stdint.h>

#include "jit/x86/ops.h"

/* x87 status word bits (SDM vol. 1, 8.1.3). */
#define X86_FSW_IE 0x0001u
#define X86_FSW_SF 0x0040u
#define X86_FSW_ES 0x0080u
#define X86_FSW_TOP 0x3800u
#define X86_FSW_B  0x8000u
#define X86_FCW_INIT 0x037fu
/* MXCSR (SDM vol. 1, 10.2.3): flags 5:0, masks 12:7; DAZ is bit 6. */
#define X86_MXCSR_INIT 0x1f80u
#define X86_MXCSR_MASK 0xffffu

/*
 * What the host entry points exchange: a stub runs with XMM0-XMM2, MM0/MM1,
 * RAX, RCX and RDX loaded from here and the host MXCSR from @mxcsr, and
 * stores XMM0, XMM2, MM0, RAX, RCX, RFLAGS and MXCSR back. Layout known to
 * host-fp.S.
 */
struct x86_host_simd {
    uint8_t xmm0[16], xmm1[16];
    uint64_t mm0, mm1;
    uint64_t rax, rflags;
    uint32_t mxcsr, use_mmx;
    uint8_t xmm2[16];
    uint64_t rcx, rdx;
};

#if defined(__x86_64__)
#define X86_HOST_FP 1
/* Run @stub with the FNSAVE image (32-bit format, 108 bytes) loaded; rDI
 * holds @memory and RFLAGS the arithmetic flags of @rflags (FCMOVcc);
 * saves the image back. Returns the host RFLAGS after it. */
uint64_t x86_host_x87(uint8_t *image, void *memory, const void *stub,
                      uint64_t rflags);
void x86_host_simd(struct x86_host_simd *ctx, const void *stub);
#else
#define X86_HOST_FP 0
#endif

/*
 * The code of a stub: up to 7 instruction bytes, followed by RET. Stubs are
 * made once, kept in an executable cache, and looked up lock-free.
 */
const void *x86_host_stub(const uint8_t *bytes, unsigned length);

/* #NM / #UD / #MF checks (SDM vol. 3, 2.5 table 2-2; vol. 1, 8.6). */
void x86_fpu_check_x87(struct x86_cpu *cpu, bool waiting);
void x86_fpu_wait(struct x86_cpu *cpu);
void x86_fpu_note_error_cleared(struct x86_cpu *cpu, bool had_error);
void x86_fpu_check_sse(struct x86_cpu *cpu);
void x86_fpu_check_mmx(struct x86_cpu *cpu);

/* FCW bit 6 reads as one, bits 15:13 and 7 as zero (SDM vol. 1, 8.1.5). */
static inline uint16_t x86_fpu_fcw(uint16_t value)
{
    return (uint16_t)((value & 0x1f3f) | 0x40);
}

/* FNINIT (SDM vol. 2, "FINIT/FNINIT"). */
void x86_fpu_finit(struct x86_fpu *fpu);
/* Power-on values (SDM vol. 3, table 9-1). */
void x86_fpu_reset(struct x86_fpu *fpu);
/* The full two-bit tag word computed from the registers (8.1.7). */
uint16_t x86_fpu_full_tags(const struct x86_fpu *fpu);
/* The FXSAVE image (SDM vol. 1, 10.5.1, tables 10-2, 10-3); @wide: the
 * 64-bit layout of FIP/FDP. x86_fpu_from_fxsave returns false when MXCSR
 * has reserved bits set (#GP). */
void x86_fpu_to_fxsave(const struct x86_fpu *fpu, uint8_t *image, bool wide,
                       unsigned xmm_count);
bool x86_fpu_from_fxsave(struct x86_fpu *fpu, const uint8_t *image, bool wide,
                         unsigned xmm_count);
/* The x87 fields of an FXSAVE image (bytes 0-23 and 32-159; MXCSR apart). */
void x86_fpu_x87_from_image(struct x86_fpu *fpu, const uint8_t *image, bool wide);
/* x87 state in its initial configuration: FNINIT and ST0-ST7 zero (13.6). */
void x86_fpu_x87_init(struct x86_fpu *fpu);

/* Memory helpers for operands longer than 8 bytes. */
void x86_fpu_read_bytes(struct x86_cpu *cpu, const struct x86_insn *insn,
                        uint64_t offset, uint8_t *buffer, unsigned size);
void x86_fpu_write_bytes(struct x86_cpu *cpu, const struct x86_insn *insn,
                         uint64_t offset, const uint8_t *buffer, unsigned size);
/* #GP(0) unless the memory operand at @offset is 16-byte aligned. */
void x86_fpu_check_aligned(struct x86_cpu *cpu, const struct x86_insn *insn,
                           uint64_t offset);

/* An unmasked x87 exception is pending (SDM vol. 1, 8.7). */
static inline bool x86_fpu_pending(const struct x86_fpu *fpu)
{
    return (fpu->fsw & ~fpu->fcw & 0x3f) != 0;
}

/* After an MMX instruction: TOP = 0, every tag valid (SDM vol. 1, 9.5.1). */
static inline void x86_fpu_mmx_touch(struct x86_fpu *fpu)
{
    fpu->fsw &= ~X86_FSW_TOP;
    fpu->ftw = 0xff;
}

/* Writing MMi also sets the exponent field of Ri to all ones (9.5.1). */
static inline void x86_fpu_mmx_write(struct x86_fpu *fpu, unsigned reg, uint64_t value)
{
    for (unsigned i = 0; i < 8; i++)
        fpu->st[reg & 7][i] = (uint8_t)(value >> (8 * i));
    fpu->st[reg & 7][8] = 0xff;
    fpu->st[reg & 7][9] = 0xff;
}

static inline uint64_t x86_fpu_mmx_read(const struct x86_fpu *fpu, unsigned reg)
{
    uint64_t value = 0;

    for (unsigned i = 0; i < 8; i++)
        value |= (uint64_t)fpu->st[reg & 7][i] << (8 * i);
    return value;
}

/*
 * The XSAVE feature set (xsave.c, SDM vol. 1, ch. 13): the state components
 * XCR0 can enable here are x87 (bit 0) and SSE (bit 1); AVX and later are
 * not implemented. Without the host FPU there is no x87/SSE, so no XSAVE.
 */
#define X86_XCR0_X87 1ull
#define X86_XCR0_SSE 2ull
#define X86_XCR0_SUPPORTED (X86_HOST_FP ? X86_XCR0_X87 | X86_XCR0_SSE : 0)
/* Bytes of an XSAVE area for x87 and SSE: legacy region and header. */
#define X86_XSAVE_AREA 576u

/* XINUSE (13.6): bit i clear only while component i is in its initial
 * configuration. */
uint64_t x86_xsave_inuse(const struct x86_fpu *fpu);
/* 0F AE /4 XSAVE, /5 XRSTOR, /6 XSAVEOPT with memory at @offset. */
void x86_xsave_group15(struct x86_cpu *cpu, const struct x86_insn *insn,
                       uint64_t offset);
/* 0F C7 /4: XSAVEC. */
void x86_op_xsavec(struct x86_cpu *cpu, const struct x86_insn *insn);
/* 0F 01 D0 XGETBV, 0F 01 D1 XSETBV. */
void x86_op_xgetbv_xsetbv(struct x86_cpu *cpu, const struct x86_insn *insn);
/* The x87/SSE part of struct x86_cpu_state: the XSAVE area in the standard
 * format and XCR0. */
void x86_xsave_to_state(const struct x86_cpu *cpu, struct x86_cpu_state *state);
void x86_xsave_from_state(struct x86_cpu *cpu, const struct x86_cpu_state *state);

/* Run the stub @bytes over @ctx under the guest MXCSR; with @fp, merge the
 * raised MXCSR flags and raise #XM/#UD for unmasked ones (ops-sse.c). */
void x86_sse_host_run(struct x86_cpu *cpu, bool fp, struct x86_host_simd *ctx,
                      const uint8_t *bytes, unsigned length);

/* The mandatory prefix of an SSE opcode: 0 none, 1 66, 2 F3, 3 F2. */
unsigned x86_sse_prefix(const struct x86_insn *insn);

/* Handlers (ops-x87.c, ops-sse.c, ops-sse-move.c, fpu.c). */
void x86_op_x87(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_fwait(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_sse(struct x86_cpu *cpu, const struct x86_insn *insn);
bool x86_sse_move(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_fxsave_group(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_sse_3byte(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_0f38_f0(struct x86_cpu *cpu, const struct x86_insn *insn);
