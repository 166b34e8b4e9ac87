/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The XSAVE feature set for the x87 and SSE state components: XCR0 through
 * XGETBV/XSETBV, XSAVE, XSAVEOPT, XSAVEC, XRSTOR in its standard and
 * compacted forms, and the XSAVE area of struct x86_cpu_state (Intel SDM
 * vol. 1, ch. 13; vol. 2, "XSAVE", "XSAVEOPT", "XSAVEC", "XRSTOR",
 * "XGETBV", "XSETBV").
 */
#include "jit/x86/fpu.h"

#include <string.h>

#define HEADER 512                  /* the XSAVE header follows the legacy region */
#define COMPACTED (1ull << 63)      /* XCOMP_BV[63]: compacted format (13.4.3) */
#define XMM_OFFSET 160

static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/*
 * XINUSE is computed from the registers: a component counts as not in use
 * exactly when it holds its initial configuration (13.6): x87 with FCW
 * 037FH, FSW 0, every register empty, zero pointers and opcode and ST0-ST7
 * zero; SSE with XMM0-XMM15 zero (MXCSR is not part of that test; XSAVEC
 * looks at it separately).
 */
uint64_t x86_xsave_inuse(const struct x86_fpu *fpu)
{
    static const uint8_t zero[sizeof(fpu->xmm)];
    uint64_t inuse = 0;

    if (fpu->fcw != X86_FCW_INIT || fpu->fsw || fpu->ftw || fpu->fop ||
        fpu->fip || fpu->fdp || fpu->fcs || fpu->fds ||
        memcmp(fpu->st, zero, sizeof(fpu->st)) != 0)
        inuse |= X86_XCR0_X87;
    if (memcmp(fpu->xmm, zero, sizeof(fpu->xmm)) != 0)
        inuse |= X86_XCR0_SSE;
    return inuse;
}

/* #UD without CR4.OSXSAVE, #NM with CR0.TS (XSAVE, "Protected Mode Exceptions"). */
static void check_enabled(struct x86_cpu *cpu)
{
    if (!(cpu->cr4 & X86_CR4_OSXSAVE))
        x86_raise(cpu, X86_EXC_UD);
    if (cpu->cr0 & X86_CR0_TS)
        x86_raise(cpu, X86_EXC_NM);
}

/* #GP(0) unless the area's linear address is 64-byte aligned. */
static void check_area_aligned(struct x86_cpu *cpu, const struct x86_insn *insn,
                               uint64_t offset)
{
    uint64_t base = (x86_long64(cpu) && insn->seg < X86_FS) ? 0 : cpu->seg[insn->seg].base;

    if ((base + offset) & 63)
        x86_raise_error(cpu, X86_EXC_GP, 0);
}

/* RFBM: the components requested in EDX:EAX that XCR0 enables. */
static uint64_t requested(const struct x86_cpu *cpu)
{
    return cpu->xcr0 & (cpu->gpr[X86_RDX] << 32 | (uint32_t)cpu->gpr[X86_RAX]);
}

static unsigned xmm_count(const struct x86_cpu *cpu)
{
    return x86_long64(cpu) ? 16 : 8;
}

/* The 64-bit format of FIP/FDP with REX.W (XSAVE64...), as for FXSAVE (13.5.1). */
static bool wide_format(const struct x86_cpu *cpu, const struct x86_insn *insn)
{
    return x86_long64(cpu) && (insn->rex & 8);
}

enum save_kind { SAVE_STANDARD, SAVE_OPTIMIZED, SAVE_COMPACTED };

/*
 * XSAVE, XSAVEOPT, XSAVEC. Component i is written when it is in @save:
 * XSAVE saves all of RFBM; XSAVEOPT and XSAVEC skip components not in use
 * (the init optimization; XSAVEOPT's modified optimization is not made, it
 * is optional). Bytes of the legacy region: x87 0-23 and 32-159, MXCSR and
 * MXCSR_MASK 24-31, XMM0-XMM15 160-415 (XMM0-XMM7 outside 64-bit mode);
 * 416-511 are never written. XSAVE and XSAVEOPT store MXCSR whenever
 * RFBM[1] is set and merge XSTATE_BV into the old header; XSAVEC stores it
 * with the SSE component (which counts as used when MXCSR is not 1F80H) and
 * writes XSTATE_BV and XCOMP_BV (13.7, 13.9, 13.10).
 */
static void save(struct x86_cpu *cpu, const struct x86_insn *insn, uint64_t offset,
                 enum save_kind kind)
{
    uint64_t rfbm = requested(cpu), inuse = x86_xsave_inuse(&cpu->fpu), mask;
    uint64_t header_at, saved = rfbm;
    uint8_t image[512], header[16];
    unsigned xmm = xmm_count(cpu);
    bool mxcsr;

    check_area_aligned(cpu, insn, offset);
    mask = x86_mask(insn->addrsize);
    header_at = (offset + HEADER) & mask;
    if (kind != SAVE_STANDARD)
        saved &= inuse;
    if (kind == SAVE_COMPACTED) {
        if ((rfbm & X86_XCR0_SSE) && cpu->fpu.mxcsr != X86_MXCSR_INIT)
            saved |= X86_XCR0_SSE;
        mxcsr = saved & X86_XCR0_SSE;
        put64(header, saved);
        put64(header + 8, rfbm | COMPACTED);
    } else {
        /* The header is read first: XSTATE_BV keeps the bits not in RFBM. */
        x86_fpu_read_bytes(cpu, insn, header_at, header, 8);
        mxcsr = rfbm & X86_XCR0_SSE;
        put64(header, (get64(header) & ~rfbm) | (inuse & rfbm));
    }
    x86_fpu_to_fxsave(&cpu->fpu, image, wide_format(cpu, insn), xmm);
    if (saved & X86_XCR0_X87) {
        x86_fpu_write_bytes(cpu, insn, offset, image, 24);
        x86_fpu_write_bytes(cpu, insn, (offset + 32) & mask, image + 32, 128);
    }
    if (mxcsr)
        x86_fpu_write_bytes(cpu, insn, (offset + 24) & mask, image + 24, 8);
    if (saved & X86_XCR0_SSE)
        x86_fpu_write_bytes(cpu, insn, (offset + XMM_OFFSET) & mask,
                            image + XMM_OFFSET, 16 * xmm);
    x86_fpu_write_bytes(cpu, insn, header_at, header,
                        kind == SAVE_COMPACTED ? 16 : 8);
}

/*
 * XRSTOR (13.8): the header is checked first (#GP), then component i in
 * RFBM is loaded when XSTATE_BV[i] is set and initialized otherwise. The
 * standard form loads MXCSR whenever RFBM[1] is set; the compacted form
 * only with the SSE component, and initializes it to 1F80H with it.
 */
static void restore(struct x86_cpu *cpu, const struct x86_insn *insn, uint64_t offset)
{
    uint64_t rfbm = requested(cpu), xstate_bv, xcomp_bv, load, init, mask;
    uint8_t header[64], image[512];
    struct x86_fpu fpu = cpu->fpu;
    unsigned xmm = xmm_count(cpu);
    bool compacted, mxcsr;

    check_area_aligned(cpu, insn, offset);
    mask = x86_mask(insn->addrsize);
    x86_fpu_read_bytes(cpu, insn, (offset + HEADER) & mask, header, 64);
    xstate_bv = get64(header);
    xcomp_bv = get64(header + 8);
    compacted = xcomp_bv & COMPACTED;
    if (!compacted) {
        /* Standard form: XSTATE_BV within XCR0, header bytes 23:8 zero. */
        if ((xstate_bv & ~cpu->xcr0) || xcomp_bv || get64(header + 16))
            x86_raise_error(cpu, X86_EXC_GP, 0);
        mxcsr = rfbm & X86_XCR0_SSE;
    } else {
        /* Compacted: XCOMP_BV within XCR0, XSTATE_BV within XCOMP_BV[62:0],
         * header bytes 63:16 zero. */
        xcomp_bv &= ~COMPACTED;
        if ((xcomp_bv & ~cpu->xcr0) || (xstate_bv & ~xcomp_bv))
            x86_raise_error(cpu, X86_EXC_GP, 0);
        for (unsigned i = 16; i < 64; i++)
            if (header[i])
                x86_raise_error(cpu, X86_EXC_GP, 0);
        mxcsr = rfbm & xstate_bv & X86_XCR0_SSE;
    }
    load = rfbm & xstate_bv;
    init = rfbm & ~xstate_bv;
    if (load || mxcsr)
        x86_fpu_read_bytes(cpu, insn, offset, image,
                           (load & X86_XCR0_SSE) ? XMM_OFFSET + 16 * xmm : XMM_OFFSET);
    if (mxcsr && (get32(image + 24) & ~X86_MXCSR_MASK))
        x86_raise_error(cpu, X86_EXC_GP, 0);

    if (load & X86_XCR0_X87)
        x86_fpu_x87_from_image(&fpu, image, wide_format(cpu, insn));
    else if (init & X86_XCR0_X87)
        x86_fpu_x87_init(&fpu);
    if (mxcsr)
        fpu.mxcsr = get32(image + 24);
    if (load & X86_XCR0_SSE) {
        memcpy(fpu.xmm, image + XMM_OFFSET, 16 * xmm);
    } else if (init & X86_XCR0_SSE) {
        memset(fpu.xmm, 0, 16 * xmm);
        if (compacted)
            fpu.mxcsr = X86_MXCSR_INIT;
    }
    cpu->fpu = fpu;
}

void x86_xsave_group15(struct x86_cpu *cpu, const struct x86_insn *insn,
                       uint64_t offset)
{
    unsigned op = x86_modrm_op(insn);

    check_enabled(cpu);
    if (op == 5)
        restore(cpu, insn, offset);
    else
        save(cpu, insn, offset, op == 4 ? SAVE_STANDARD : SAVE_OPTIMIZED);
}

/* 0F C7 /4 (memory only; a prefix makes it another instruction). */
void x86_op_xsavec(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->rep || insn->opsize_prefix)
        x86_raise(cpu, X86_EXC_UD);
    check_enabled(cpu);
    save(cpu, insn, x86_effective_address(cpu, insn), SAVE_COMPACTED);
}

/*
 * XINUSE as XGETBV with ECX = 1 shows it: SSE also counts as in use while
 * MXCSR is not 1F80H, as on the reference host (AMD Zen); XINUSE[i] = 1 is
 * always allowed (13.6).
 */
static uint64_t xgetbv_inuse(const struct x86_fpu *fpu)
{
    uint64_t inuse = x86_xsave_inuse(fpu);

    if (fpu->mxcsr != X86_MXCSR_INIT)
        inuse |= X86_XCR0_SSE;
    return inuse;
}

/*
 * XGETBV reads XCR0 (ECX = 0) or XINUSE & XCR0 (ECX = 1); XSETBV writes
 * XCR0 at CPL 0: x87 must stay enabled, only supported bits can be set
 * (AVX, which would need SSE, is not among them).
 */
void x86_op_xgetbv_xsetbv(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint32_t index = (uint32_t)cpu->gpr[X86_RCX];
    uint64_t value;

    if (!(cpu->cr4 & X86_CR4_OSXSAVE))
        x86_raise(cpu, X86_EXC_UD);
    if ((insn->modrm & 7) == 0) {
        if (index == 0)
            value = cpu->xcr0;
        else if (index == 1)
            value = cpu->xcr0 & xgetbv_inuse(&cpu->fpu);
        else
            x86_raise_error(cpu, X86_EXC_GP, 0);
        cpu->gpr[X86_RAX] = (uint32_t)value;
        cpu->gpr[X86_RDX] = value >> 32;
        return;
    }
    value = cpu->gpr[X86_RDX] << 32 | (uint32_t)cpu->gpr[X86_RAX];
    if (x86_cpl(cpu) > 0 || (cpu->rflags & X86_VM) || index != 0 ||
        (value & ~X86_XCR0_SUPPORTED) || !(value & X86_XCR0_X87))
        x86_raise_error(cpu, X86_EXC_GP, 0);
    cpu->xcr0 = value;
}

/*
 * The state's XSAVE area is in the standard format with x87 and SSE marked
 * in use (XSTATE_BV = 3), XCOMP_BV and the rest of the header zero, as
 * KVM_GET_XSAVE gives it; bytes 416-511 are left as they were.
 */
void x86_xsave_to_state(const struct x86_cpu *cpu, struct x86_cpu_state *state)
{
    x86_fpu_to_fxsave(&cpu->fpu, state->xsave, true, 16);
    memset(state->xsave + HEADER, 0, 64);
    put64(state->xsave + HEADER, X86_XCR0_X87 | X86_XCR0_SSE);
    state->xcr0 = cpu->xcr0;
}

/*
 * Components whose XSTATE_BV bit is clear are in their initial state; an
 * invalid MXCSR becomes 1F80H. XCR0 keeps what this CPU supports (a state
 * saved with AVX enabled loses it) and always x87.
 */
void x86_xsave_from_state(struct x86_cpu *cpu, const struct x86_cpu_state *state)
{
    uint64_t xstate_bv = get64(state->xsave + HEADER);
    struct x86_fpu loaded = cpu->fpu;

    if (!x86_fpu_from_fxsave(&loaded, state->xsave, true, 16))
        loaded.mxcsr = X86_MXCSR_INIT;
    if (!(xstate_bv & X86_XCR0_X87))
        x86_fpu_x87_init(&loaded);
    if (!(xstate_bv & X86_XCR0_SSE))
        memset(loaded.xmm, 0, sizeof(loaded.xmm));
    if (!(xstate_bv & (X86_XCR0_X87 | X86_XCR0_SSE)) && !loaded.mxcsr)
        loaded.mxcsr = X86_MXCSR_INIT;
    cpu->fpu = loaded;
    cpu->xcr0 = (state->xcr0 & X86_XCR0_SUPPORTED) | X86_XCR0_X87;
}
