/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x87 FPU instructions, D8-DF and FWAIT (Intel SDM vol. 1 ch. 8, vol. 2
 * opcode map tables ). Control and environment instructions are
 * written here; the arithmetic of every other form is done by the host's
 * x87 unit running the same instruction on a copy of the guest's register
 * stack with the guest's FCW (rounding and precision control, exception
 * masks), so results, unmasked-exception responses included, are bit-exact
 * with the 80-bit hardware, transcendental functions too (those are as
 * precise as the host's FSIN, FPATAN... are).
 */
#include "jit/x86/fpu.h"

#include <string.h>

enum { X87_UD, X87_LOAD, X87_STORE, X87_CONTROL };

struct x87_mem_form {
    uint8_t kind, size;
};

#define L(n) { X87_LOAD, n }
#define S(n) { X87_STORE, n }
#define C { X87_CONTROL, 0 }
#define U { X87_UD, 0 }

/* Memory forms by opcode D8-DF and ModRM.reg. */
static const struct x87_mem_form mem_forms[8][8] = {
    { L(4), L(4), L(4), L(4), L(4), L(4), L(4), L(4) },        /* m32fp arith */
    { L(4), U, S(4), S(4), C, C, C, C },                        /* FLD/FST m32, env, CW */
    { L(4), L(4), L(4), L(4), L(4), L(4), L(4), L(4) },        /* m32int arith */
    { L(4), S(4), S(4), S(4), U, L(10), U, S(10) },            /* FILD/FISTTP/FIST(P) m32, m80 */
    { L(8), L(8), L(8), L(8), L(8), L(8), L(8), L(8) },        /* m64fp arith */
    { L(8), S(8), S(8), S(8), C, U, C, C },                     /* FLD/FST m64, FRSTOR, FNSAVE, FNSTSW */
    { L(2), L(2), L(2), L(2), L(2), L(2), L(2), L(2) },        /* m16int arith */
    { L(2), S(2), S(2), S(2), L(10), L(8), S(10), S(8) },      /* m16int, FBLD, m64int, FBSTP */
};

/*
 * Register forms (ModRM C0-FF) that exist. The undocumented aliases
 * (D9 D8-DF FSTP1, DC D0-DF, DD C8-CF, DE D0-D7, DF C8-DF) raise #UD here:
 * no compiler emits them. FFREEP (DF C0-C7) is documented by AMD and kept.
 */
static bool register_form_valid(unsigned opcode, unsigned modrm)
{
    unsigned i = modrm & 0x3f;

    switch (opcode & 7) {
    case 1:
        return i <= 0x10 || i == 0x20 || i == 0x21 || i == 0x24 || i == 0x25 ||
               (i >= 0x28 && i <= 0x2e) || i >= 0x30;
    case 2:
        return i < 0x20 || i == 0x29;
    case 3:
        return i < 0x25 || (i >= 0x28 && i < 0x38);
    case 4:
        return i < 0x10 || i >= 0x20;
    case 5:
        return i < 0x08 || (i >= 0x10 && i < 0x30);
    case 6:
        return i < 0x10 || i == 0x19 || i >= 0x20;
    case 7:
        return i < 0x08 || i == 0x20 || (i >= 0x28 && i < 0x38);
    default:
        return true;
    }
}

/* FSW.ES and B follow the unmasked exception flags (SDM vol. 1, 8.1.3.2). */
static void update_summary(struct x86_fpu *f)
{
    if (f->fsw & ~f->fcw & 0x3f)
        f->fsw |= X86_FSW_ES | X86_FSW_B;
    else
        f->fsw &= ~(X86_FSW_ES | X86_FSW_B);
}

static void record_last(struct x86_cpu *cpu, const struct x86_insn *insn, uint64_t offset)
{
    cpu->fpu.fop = (uint16_t)(((insn->opcode & 7) << 8) | insn->modrm);
    cpu->fpu.fip = cpu->rip;
    cpu->fpu.fcs = cpu->seg[X86_CS].selector;
    if (insn->has_mem) {
        cpu->fpu.fdp = offset;
        cpu->fpu.fds = cpu->seg[insn->seg].selector;
    }
}

#if X86_HOST_FP
/*
 * Run the instruction on the host with the guest's FCW, exception masks
 * included: the host x87 then applies the unmasked responses itself (SDM
 * vol. 1, 4.9.2, 8.5): for invalid operation, denormal operand and
 * divide-by-zero the destination and the stack are kept; for overflow and
 * underflow a register destination gets the result with its exponent
 * rebiased by 24576 and a memory destination nothing; for precision the
 * result is stored. ES is set, and #MF waits for the next waiting
 * instruction, which the host never reaches: x86_host_x87 saves the state
 * with FNSAVE, which does not wait. @buffer holds a loaded operand or
 * receives a stored one (@store bytes are then written to @offset).
 */
static void run_on_host(struct x86_cpu *cpu, const struct x86_insn *insn,
                        uint8_t *buffer, unsigned store, uint64_t offset)
{
    struct x86_fpu *f = &cpu->fpu;
    uint8_t image[108] = { 0 };
    uint8_t bytes[2] = { insn->opcode, insn->modrm };
    unsigned top = (f->fsw >> 11) & 7;
    uint16_t fsw, tags = x86_fpu_full_tags(f);
    uint64_t host_flags;

    if (insn->has_mem)
        bytes[1] = (uint8_t)((insn->modrm & 0x38) | 7);     /* [rdi] */
    memcpy(image + 0, &f->fcw, 2);
    /* Flags cleared: the host reports what this instruction raises, and
     * nothing is pending when it starts. */
    memcpy(image + 4, &(uint16_t){ f->fsw & ~(0x7f | X86_FSW_ES | X86_FSW_B) }, 2);
    memcpy(image + 8, &tags, 2);
    for (unsigned i = 0; i < 8; i++)
        memcpy(image + 28 + 10 * i, f->st[(top + i) & 7], 10);
    host_flags = x86_host_x87(image, buffer, x86_host_stub(bytes, 2), cpu->rflags);
    memcpy(&fsw, image + 4, 2);
    memcpy(&tags, image + 8, 2);
    /* A store is written unless an unmasked exception other than
     * precision suppressed it (8.5.1-8.5.5); a fault leaves the FPU alone. */
    if (store && !(fsw & ~f->fcw & 0x1f))
        x86_fpu_write_bytes(cpu, insn, offset, buffer, store);
    record_last(cpu, insn, offset);
    /* FCOMI, FCOMIP, FUCOMI, FUCOMIP: ZF, PF, CF; OF, SF, AF cleared. */
    if (!insn->has_mem && (insn->opcode == 0xdb || insn->opcode == 0xdf) &&
        insn->modrm >= 0xe8 && insn->modrm < 0xf8)
        cpu->rflags = (cpu->rflags & ~(uint64_t)X86_ARITH_FLAGS) |
                      (host_flags & (X86_ZF | X86_PF | X86_CF));
    /* The exception flags are sticky. */
    f->fsw = (uint16_t)(fsw | (f->fsw & 0x7f));
    update_summary(f);
    top = (fsw >> 11) & 7;
    f->ftw = 0;
    for (unsigned i = 0; i < 8; i++) {
        memcpy(f->st[(top + i) & 7], image + 28 + 10 * i, 10);
        if (((tags >> (2 * ((top + i) & 7))) & 3) != 3)
            f->ftw |= 1u << ((top + i) & 7);
    }
}
#else
static void run_on_host(struct x86_cpu *cpu, const struct x86_insn *insn,
                        uint8_t *buffer, unsigned store, uint64_t offset)
{
    /* FIXME: a software 80-bit FPU for hosts other than x86-64. */
    x86_raise(cpu, X86_EXC_UD);
}
#endif

static bool real_format(const struct x86_cpu *cpu)
{
    return cpu->mode == X86_MODE_REAL || (cpu->rflags & X86_VM);
}

/* The environment (SDM vol. 1, 8.1.10, figures 8-9 to 8-12); returns its size. */
static unsigned environment_store(struct x86_cpu *cpu, const struct x86_insn *insn,
                                  uint8_t *p)
{
    const struct x86_fpu *f = &cpu->fpu;
    uint16_t tags = x86_fpu_full_tags(f);
    uint32_t w[7];

    w[0] = f->fcw;
    w[1] = f->fsw;
    w[2] = tags;
    if (real_format(cpu)) {
        w[3] = (uint16_t)f->fip;
        w[4] = ((uint32_t)(f->fip >> 16) << 12) | f->fop;
        w[5] = (uint16_t)f->fdp;
        w[6] = (uint32_t)(f->fdp >> 16) << 12;
    } else {
        w[3] = (uint32_t)f->fip;
        w[4] = f->fcs | (uint32_t)f->fop << 16;
        w[5] = (uint32_t)f->fdp;
        w[6] = f->fds;
    }
    if (insn->opsize == 2) {
        if (!real_format(cpu))
            w[4] = f->fcs;
        for (unsigned i = 0; i < 7; i++)
            memcpy(p + 2 * i, &(uint16_t){ (uint16_t)w[i] }, 2);
        return 14;
    }
    for (unsigned i = 0; i < 3; i++)
        w[i] |= 0xffff0000u;    /* reserved halves read as ones */
    if (!real_format(cpu))
        w[6] |= 0xffff0000u;
    memcpy(p, w, 28);
    return 28;
}

static unsigned environment_load(struct x86_fpu *f, const struct x86_cpu *cpu,
                                 const struct x86_insn *insn, const uint8_t *p)
{
    uint32_t w[7] = { 0 };
    unsigned size = insn->opsize == 2 ? 14 : 28;
    uint16_t tags;

    for (unsigned i = 0; i < 7; i++) {
        if (size == 14)
            w[i] = p[2 * i] | p[2 * i + 1] << 8;
        else
            memcpy(&w[i], p + 4 * i, 4);
    }
    f->fcw = x86_fpu_fcw((uint16_t)w[0]);
    f->fsw = (uint16_t)w[1];
    tags = (uint16_t)w[2];
    f->ftw = 0;
    for (unsigned i = 0; i < 8; i++) {
        if (((tags >> (2 * i)) & 3) != 3)
            f->ftw |= 1u << i;
    }
    if (real_format(cpu)) {
        f->fip = (uint16_t)w[3] | (uint64_t)(w[4] >> 12) << 16;
        f->fop = w[4] & 0x7ff;
        f->fdp = (uint16_t)w[5] | (uint64_t)(w[6] >> 12) << 16;
    } else {
        f->fip = w[3];
        f->fcs = (uint16_t)w[4];
        f->fop = size == 28 ? (w[4] >> 16) & 0x7ff : 0;
        f->fdp = w[5];
        f->fds = (uint16_t)w[6];
    }
    update_summary(f);
    return size;
}

/* D9 /4-/7 and DD /4, /6, /7 with memory. */
static void control_memory(struct x86_cpu *cpu, const struct x86_insn *insn,
                           uint64_t offset)
{
    struct x86_fpu *f = &cpu->fpu;
    unsigned op = x86_modrm_op(insn);
    uint8_t buffer[108];

    if (insn->opcode == 0xd9) {
        switch (op) {
        case 4: {       /* FLDENV */
            struct x86_fpu copy = *f;

            x86_fpu_read_bytes(cpu, insn, offset, buffer, insn->opsize == 2 ? 14 : 28);
            environment_load(&copy, cpu, insn, buffer);
            *f = copy;
            return;
        }
        case 5:         /* FLDCW */
            f->fcw = x86_fpu_fcw((uint16_t)x86_mem_read(cpu, insn->seg, offset, 2));
            update_summary(f);
            return;
        case 6: {       /* FNSTENV: then every exception is masked */
            unsigned size = environment_store(cpu, insn, buffer);

            x86_fpu_write_bytes(cpu, insn, offset, buffer, size);
            f->fcw |= 0x3f;
            update_summary(f);      /* all masked: ES and B clear, as on hardware */
            return;
        }
        default:        /* FNSTCW */
            x86_mem_write(cpu, insn->seg, offset, 2, f->fcw);
            return;
        }
    }
    switch (op) {
    case 4: {           /* FRSTOR */
        struct x86_fpu copy = *f;
        unsigned size = insn->opsize == 2 ? 14 : 28, top;

        x86_fpu_read_bytes(cpu, insn, offset, buffer, size + 80);
        environment_load(&copy, cpu, insn, buffer);
        top = (copy.fsw >> 11) & 7;
        for (unsigned i = 0; i < 8; i++)
            memcpy(copy.st[(top + i) & 7], buffer + size + 10 * i, 10);
        *f = copy;
        return;
    }
    case 6: {           /* FNSAVE: then as FNINIT */
        unsigned size = environment_store(cpu, insn, buffer);
        unsigned top = (f->fsw >> 11) & 7;

        for (unsigned i = 0; i < 8; i++)
            memcpy(buffer + size + 10 * i, f->st[(top + i) & 7], 10);
        x86_fpu_write_bytes(cpu, insn, offset, buffer, size + 80);
        x86_fpu_finit(f);
        return;
    }
    default:            /* FNSTSW m16 */
        x86_mem_write(cpu, insn->seg, offset, 2, f->fsw);
        return;
    }
}

static void execute(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint8_t buffer[16] = { 0 };
    uint64_t offset = 0;

    if (insn->has_mem) {
        const struct x87_mem_form *form = &mem_forms[insn->opcode & 7][x86_modrm_op(insn)];

        if (form->kind == X87_UD)
            x86_raise(cpu, X86_EXC_UD);
        offset = x86_effective_address(cpu, insn);
        if (form->kind == X87_CONTROL) {
            unsigned op = x86_modrm_op(insn);

            /* FLDENV, FLDCW and FRSTOR wait; the FN* stores do not. */
            x86_fpu_check_x87(cpu, op == 4 || (op == 5 && insn->opcode == 0xd9));
            control_memory(cpu, insn, offset);
            return;
        }
        x86_fpu_check_x87(cpu, true);
        if (form->kind == X87_LOAD)
            x86_fpu_read_bytes(cpu, insn, offset, buffer, form->size);
        run_on_host(cpu, insn, buffer, form->kind == X87_STORE ? form->size : 0, offset);
        return;
    }
    if (!register_form_valid(insn->opcode, insn->modrm))
        x86_raise(cpu, X86_EXC_UD);
    if (insn->opcode == 0xdf && insn->modrm == 0xe0) {        /* FNSTSW AX */
        x86_fpu_check_x87(cpu, false);
        x86_reg_write(cpu, insn, X86_RAX, 2, cpu->fpu.fsw);
        return;
    }
    if (insn->opcode == 0xdb && insn->modrm >= 0xe0 && insn->modrm <= 0xe4) {
        x86_fpu_check_x87(cpu, false);
        if (insn->modrm == 0xe2)                                /* FNCLEX */
            cpu->fpu.fsw &= ~(0x7fu | X86_FSW_ES | X86_FSW_B);
        else if (insn->modrm == 0xe3)                           /* FNINIT */
            x86_fpu_finit(&cpu->fpu);
        /* FENI, FDISI, FSETPM: no-ops since the 80387. */
        return;
    }
    x86_fpu_check_x87(cpu, true);
    run_on_host(cpu, insn, buffer, 0, 0);
}

void x86_op_x87(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    bool error = cpu->fpu.fsw & X86_FSW_ES;

    execute(cpu, insn);
    /* FNCLEX, FNINIT, FNSAVE, FLDENV... */
    x86_fpu_note_error_cleared(cpu, error);
}

/* 9B FWAIT: #NM when CR0.MP and CR0.TS are both set; a pending error. */
void x86_op_fwait(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if ((cpu->cr0 & (X86_CR0_MP | X86_CR0_TS)) == (X86_CR0_MP | X86_CR0_TS))
        x86_raise(cpu, X86_EXC_NM);
    x86_fpu_wait(cpu);
}
