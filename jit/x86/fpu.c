/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x87/SSE state common to all FP handlers: availability checks, FNINIT and
 * power-on values, tag words, the FXSAVE image, and group 15's FXSAVE,
 * FXRSTOR, LDMXCSR, STMXCSR, fences and CLFLUSH (Intel SDM vol. 1 ch. 8-11,
 * vol. 2 "FXSAVE", "FXRSTOR", "LDMXCSR").
 */
#include "jit/x86/fpu.h"

#include <string.h>

/*
 * x87 instructions: CR0.EM or CR0.TS gives #NM (SDM vol. 3, 2.5, table
 * 2-2); a waiting instruction with an unmasked exception pending 
 * gives #MF. Pending means an exception flag is set whose mask is clear,
 * whatever FSW.ES says (FXRSTOR and FLDENV can load any combination).
 * With CR0.NE clear the wait is FERR# instead (x86_fpu_wait).
 */
void x86_fpu_check_x87(struct x86_cpu *cpu, bool waiting)
{
    if (cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
        x86_raise(cpu, X86_EXC_NM);
    if (waiting)
        x86_fpu_wait(cpu);
}

/*
 * A waiting instruction (8.3.11) or an MMX instruction (vol. 3, 12.5.1)
 * with an unmasked x87 exception pending: #MF when CR0.NE is set. When it
 * is clear (MS-DOS compatibility mode, SDM vol. 1, 8.7.2 and D.2.1) the CPU
 * asserts FERR#, here deferred to this point, and freezes before the
 * instruction until an interrupt (the PC's IRQ 13) comes, unless IGNNE# is
 * asserted: then the error is ignored and the instruction runs.
 */
void x86_fpu_wait(struct x86_cpu *cpu)
{
    const struct x86_platform_ops *platform = cpu->platform;

    if (!x86_fpu_pending(&cpu->fpu))
        return;
    if ((cpu->cr0 & X86_CR0_NE) || !platform || !platform->set_ferr)
        x86_raise(cpu, X86_EXC_MF);
    if (platform->ignne && platform->ignne(cpu->platform_opaque))
        return;
    platform->set_ferr(cpu->platform_opaque, true);
    cpu->halted = true;             /* taken again after the interrupt */
    x86_abort_instruction(cpu);
}

/* FERR# goes inactive when an instruction clears FSW.ES (@had_error: it was set). */
void x86_fpu_note_error_cleared(struct x86_cpu *cpu, bool had_error)
{
    const struct x86_platform_ops *platform = cpu->platform;

    if (had_error && !(cpu->fpu.fsw & X86_FSW_ES) && !(cpu->cr0 & X86_CR0_NE) &&
        platform && platform->set_ferr)
        platform->set_ferr(cpu->platform_opaque, false);
}

/* SSE: #UD with CR0.EM or without CR4.OSFXSR, #NM with CR0.TS (SDM vol. 3,
 * 13.1.3 and table 2-2). */
void x86_fpu_check_sse(struct x86_cpu *cpu)
{
    if ((cpu->cr0 & X86_CR0_EM) || !(cpu->cr4 & X86_CR4_OSFXSR))
        x86_raise(cpu, X86_EXC_UD);
    if (cpu->cr0 & X86_CR0_TS)
        x86_raise(cpu, X86_EXC_NM);
}

/* MMX: #UD with CR0.EM, #NM with CR0.TS, #MF with an x87 exception pending
 * (SDM vol. 1, 9.6.2 and vol. 3, 12.4). */
void x86_fpu_check_mmx(struct x86_cpu *cpu)
{
    if (cpu->cr0 & X86_CR0_EM)
        x86_raise(cpu, X86_EXC_UD);
    if (cpu->cr0 & X86_CR0_TS)
        x86_raise(cpu, X86_EXC_NM);
    x86_fpu_wait(cpu);
}

void x86_fpu_finit(struct x86_fpu *fpu)
{
    fpu->fcw = X86_FCW_INIT;
    fpu->fsw = 0;
    fpu->ftw = 0;
    fpu->fop = 0;
    fpu->fip = fpu->fdp = 0;
    fpu->fcs = fpu->fds = 0;
}

/* Table 9-1: FCW 0040H, FTW 5555H (every register +0.0), MXCSR 1F80H. */
void x86_fpu_reset(struct x86_fpu *fpu)
{
    memset(fpu, 0, sizeof(*fpu));
    fpu->fcw = 0x0040;
    fpu->ftw = 0xff;
    fpu->mxcsr = X86_MXCSR_INIT;
}

/* 00 valid, 01 zero, 10 special (NaN, infinity, denormal, unsupported), 11 empty. */
uint16_t x86_fpu_full_tags(const struct x86_fpu *fpu)
{
    uint16_t tags = 0;

    for (unsigned i = 0; i < 8; i++) {
        const uint8_t *r = fpu->st[i];
        unsigned exponent = (r[8] | r[9] << 8) & 0x7fff;
        uint64_t mantissa;
        unsigned tag;

        memcpy(&mantissa, r, 8);
        if (!(fpu->ftw & (1u << i)))
            tag = 3;
        else if (exponent == 0x7fff)
            tag = 2;
        else if (exponent == 0)
            tag = mantissa ? 2 : 1;
        else
            tag = (mantissa >> 63) ? 0 : 2;
        tags |= tag << (2 * i);
    }
    return tags;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

void x86_fpu_to_fxsave(const struct x86_fpu *fpu, uint8_t *image, bool wide,
                       unsigned xmm_count)
{
    unsigned top = (fpu->fsw >> 11) & 7;

    memset(image, 0, 416);
    put16(image + 0, fpu->fcw);
    put16(image + 2, fpu->fsw);
    image[4] = fpu->ftw;
    put16(image + 6, fpu->fop);
    if (wide) {
        put64(image + 8, fpu->fip);
        put64(image + 16, fpu->fdp);
    } else {
        put32(image + 8, (uint32_t)fpu->fip);
        put16(image + 12, fpu->fcs);
        put32(image + 16, (uint32_t)fpu->fdp);
        put16(image + 20, fpu->fds);
    }
    put32(image + 24, fpu->mxcsr);
    put32(image + 28, X86_MXCSR_MASK);
    for (unsigned i = 0; i < 8; i++)
        memcpy(image + 32 + 16 * i, fpu->st[(top + i) & 7], 10);
    memcpy(image + 160, fpu->xmm, 16 * xmm_count);
}

void x86_fpu_x87_from_image(struct x86_fpu *fpu, const uint8_t *image, bool wide)
{
    unsigned top;

    fpu->fcw = x86_fpu_fcw(get16(image + 0));
    fpu->fsw = get16(image + 2);
    /* ES and B follow the unmasked exception flags (8.1.3.2). */
    if (fpu->fsw & ~fpu->fcw & 0x3f)
        fpu->fsw |= X86_FSW_ES | X86_FSW_B;
    else
        fpu->fsw &= ~(X86_FSW_ES | X86_FSW_B);
    fpu->ftw = image[4];
    fpu->fop = get16(image + 6) & 0x7ff;
    if (wide) {
        fpu->fip = get64(image + 8);
        fpu->fdp = get64(image + 16);
    } else {
        fpu->fip = get32(image + 8);
        fpu->fcs = get16(image + 12);
        fpu->fdp = get32(image + 16);
        fpu->fds = get16(image + 20);
    }
    top = (fpu->fsw >> 11) & 7;
    for (unsigned i = 0; i < 8; i++)
        memcpy(fpu->st[(top + i) & 7], image + 32 + 16 * i, 10);
}

bool x86_fpu_from_fxsave(struct x86_fpu *fpu, const uint8_t *image, bool wide,
                         unsigned xmm_count)
{
    uint32_t mxcsr = get32(image + 24);

    if (mxcsr & ~X86_MXCSR_MASK)
        return false;
    x86_fpu_x87_from_image(fpu, image, wide);
    fpu->mxcsr = mxcsr;
    memcpy(fpu->xmm, image + 160, 16 * xmm_count);
    return true;
}

/* The x87 state component's initial configuration (SDM vol. 1, 13.6). */
void x86_fpu_x87_init(struct x86_fpu *fpu)
{
    x86_fpu_finit(fpu);
    memset(fpu->st, 0, sizeof(fpu->st));
}

void x86_fpu_read_bytes(struct x86_cpu *cpu, const struct x86_insn *insn,
                        uint64_t offset, uint8_t *buffer, unsigned size)
{
    uint64_t mask = insn->addrsize == 8 ? ~0ull : insn->addrsize == 4 ? 0xffffffffull : 0xffff;

    for (unsigned done = 0; done < size;) {
        unsigned chunk = size - done >= 8 ? 8 : size - done >= 4 ? 4 : size - done >= 2 ? 2 : 1;
        uint64_t v = x86_mem_read(cpu, insn->seg, (offset + done) & mask, chunk);

        memcpy(buffer + done, &v, chunk);
        done += chunk;
    }
}

void x86_fpu_write_bytes(struct x86_cpu *cpu, const struct x86_insn *insn,
                         uint64_t offset, const uint8_t *buffer, unsigned size)
{
    uint64_t mask = insn->addrsize == 8 ? ~0ull : insn->addrsize == 4 ? 0xffffffffull : 0xffff;

    /* Probe the last byte first so a page fault there leaves no partial write. */
    if (size > 8)
        x86_mem_read(cpu, insn->seg, (offset + size - 1) & mask, 1);
    for (unsigned done = 0; done < size;) {
        unsigned chunk = size - done >= 8 ? 8 : size - done >= 4 ? 4 : size - done >= 2 ? 2 : 1;
        uint64_t v = 0;

        memcpy(&v, buffer + done, chunk);
        x86_mem_write(cpu, insn->seg, (offset + done) & mask, chunk, v);
        done += chunk;
    }
}

void x86_fpu_check_aligned(struct x86_cpu *cpu, const struct x86_insn *insn,
                           uint64_t offset)
{
    uint64_t base = (x86_long64(cpu) && insn->seg < X86_FS) ? 0 : cpu->seg[insn->seg].base;

    if ((base + offset) & 15)
        x86_raise_error(cpu, X86_EXC_GP, 0);
}

/* 64-bit images in 64-bit mode with REX.W (FXSAVE64); XMM8-15 in 64-bit mode. */
static void fxsave(struct x86_cpu *cpu, const struct x86_insn *insn, uint64_t offset)
{
    uint8_t image[416];

    x86_fpu_to_fxsave(&cpu->fpu, image, insn->rex & 8, x86_long64(cpu) ? 16 : 8);
    if (!x86_long64(cpu))
        memset(image + 160 + 128, 0, 128);
    x86_fpu_write_bytes(cpu, insn, offset, image, x86_long64(cpu) ? 416 : 288);
}

static void fxrstor(struct x86_cpu *cpu, const struct x86_insn *insn, uint64_t offset)
{
    uint8_t image[416];
    struct x86_fpu fpu = cpu->fpu;

    x86_fpu_read_bytes(cpu, insn, offset, image, x86_long64(cpu) ? 416 : 288);
    if (!x86_fpu_from_fxsave(&fpu, image, insn->rex & 8, x86_long64(cpu) ? 16 : 8))
        x86_raise_error(cpu, X86_EXC_GP, 0);
    cpu->fpu = fpu;
}

/*
 * 0F AE: /0 FXSAVE, /1 FXRSTOR, /2 LDMXCSR, /3 STMXCSR, /4 XSAVE, /5 XRSTOR,
 * /6 XSAVEOPT (xsave.c) with memory; with a register /5 LFENCE, /6 MFENCE,
 * /7 SFENCE; /7 with memory CLFLUSH.
 */
void x86_op_fxsave_group(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned op = x86_modrm_op(insn);
    uint64_t offset;
    bool error;

    if (insn->rep || insn->opsize_prefix)
        x86_raise(cpu, X86_EXC_UD);
    if (!insn->has_mem) {
        if (op < 5)
            x86_raise(cpu, X86_EXC_UD);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        return;
    }
    offset = x86_effective_address(cpu, insn);
    error = cpu->fpu.fsw & X86_FSW_ES;
    switch (op) {
    case 0:
    case 1:
        if (cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
            x86_raise(cpu, X86_EXC_NM);
        x86_fpu_check_aligned(cpu, insn, offset);
        if (op == 0)
            fxsave(cpu, insn, offset);
        else
            fxrstor(cpu, insn, offset);
        break;
    case 2: {
        uint32_t value;

        x86_fpu_check_sse(cpu);
        value = (uint32_t)x86_mem_read(cpu, insn->seg, offset, 4);
        if (value & ~X86_MXCSR_MASK)
            x86_raise_error(cpu, X86_EXC_GP, 0);
        cpu->fpu.mxcsr = value;
        break;
    }
    case 3:
        x86_fpu_check_sse(cpu);
        x86_mem_write(cpu, insn->seg, offset, 4, cpu->fpu.mxcsr);
        break;
    case 4:
    case 5:
    case 6:
        x86_xsave_group15(cpu, insn, offset);
        break;
    case 7:
        /* CLFLUSH: a byte read's checks, nothing cached to flush. */
        x86_mem_read(cpu, insn->seg, offset, 1);
        break;
    default:
        x86_raise(cpu, X86_EXC_UD);
    }
    x86_fpu_note_error_cleared(cpu, error);     /* FXRSTOR, XRSTOR */
}
