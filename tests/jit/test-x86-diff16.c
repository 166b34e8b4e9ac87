/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Differential test of 16-bit code: the host runs each case with CS = a
 * 16-bit code segment of its LDT (default operand and address size 16),
 * Mimic at CPL 3 with the same descriptors in 16-bit protected mode and in
 * compatibility mode. DS, ES and SS are 16-bit data segments with different
 * bases in the data page (x86-native.h), so a wrong default segment shows.
 * Covered: every 16-bit ModRM addressing form (and 67h 32-bit addressing,
 * segment overrides, limit faults), the ALU, INC/DEC, shifts and rotates,
 * MUL/IMUL/DIV/IDIV, MOVZX/MOVSX, the stack (PUSH/POP, PUSHA/POPA,
 * PUSHF/POPF, ENTER/LEAVE), string instructions with REP, LEA, XCHG,
 * CMPXCHG, XADD, BT*, BSF/BSR, SETcc/CMOVcc, near branches with a 16-bit IP,
 * LOOP/JCXZ, the BCD forms, CBW/CWD, LAHF/SAHF, flag instructions, BSWAP
 * and XLAT, each with 16- and (66h) 32-bit operands.
 * EAX..EDI, EIP, EFLAGS, ES/CS/SS/DS, the exception (and error code) and
 * the data page must agree.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "jit/x86/cpu.h"
#include "tests/jit/x86-legacy.h"

enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_NONE };

static const uint8_t seg_prefix[4] = { 0x26, 0x2e, 0x36, 0x3e };

/* Where an offset of segment @seg lies: in its page, at this offset of it. */
static uint32_t seg_base(unsigned seg)
{
    return seg == SEG_ES ? X86_TEST_ES16_BASE : seg == SEG_SS ? X86_TEST_SS16_BASE : 0;
}

/* Base and index register of each 16-bit r/m (SDM vol. 2, table 2-1), -1 for none. */
static const int8_t rm16_regs[8][2] = {
    { X86_RBX, X86_RSI }, { X86_RBX, X86_RDI }, { X86_RBP, X86_RSI }, { X86_RBP, X86_RDI },
    { X86_RSI, -1 }, { X86_RDI, -1 }, { X86_RBP, -1 }, { X86_RBX, -1 },
};
static const char *const rm16_names[8] = {
    "bx+si", "bx+di", "bp+si", "bp+di", "si", "di", "bp", "bx",
};

/* Cases per form: a multiple of the counts below. */
#define SCALE 4

/* Any addressing form (16-bit or 67h), a random override. */
#define ANY_FORM (-1)
/* The 24 16-bit forms are r/m * 3 + mod; then 32-bit addressing. */
#define FORM_A32 24

/* A random 32-bit value with @low as its low 16 bits. */
static uint32_t with_low16(uint16_t low)
{
    return (value32() & 0xffff0000u) | low;
}

/*
 * Prefixes and @op (@oplen bytes), then a ModRM with register field @reg
 * for the data page offset @page: addressing form @form (or ANY_FORM),
 * segment override @seg (SEG_NONE, or -1 for a random one, mostly none).
 * The address registers get the values that make the address; registers
 * in @avoid are not used for it.
 */
static void emit_mem16(struct enc *e, const uint8_t *op, unsigned oplen, unsigned reg,
                       uint32_t page, uint64_t *gpr, int form, int seg, unsigned avoid)
{
    unsigned rm, mod, s;
    uint16_t target, disp = 0, index = 0;

    if (form == ANY_FORM)
        form = below(5) ? (int)below(24) : FORM_A32;
    if (seg < 0)
        seg = below(3) ? SEG_NONE : below(4);
    if (seg != SEG_NONE)
        emit(e, seg_prefix[seg]);
    if (form == FORM_A32)
        emit(e, 0x67);
    for (unsigned i = 0; i < oplen; i++)
        emit(e, op[i]);
    if (form == FORM_A32) {
        int base;

        s = seg == SEG_NONE ? SEG_DS : (unsigned)seg;
        base = emit_mem_avoiding(e, reg, avoid | 1u << X86_RSP, page - seg_base(s), gpr);
        /* EBP as base makes SS the default segment. */
        if (seg == SEG_NONE && base == X86_RBP)
            gpr[base] = (uint32_t)(gpr[base] - seg_base(SEG_SS));
        return;
    }
    rm = (unsigned)form / 3;
    mod = (unsigned)form % 3;
    s = seg != SEG_NONE ? (unsigned)seg
      : (rm == 2 || rm == 3 || (rm == 6 && mod != 0)) ? SEG_SS : SEG_DS;
    target = (uint16_t)(page - seg_base(s));
    emit(e, mod << 6 | (reg & 7) << 3 | rm);
    if (mod == 0 && rm == 6) {
        emit16(e, target);
        return;
    }
    if (mod == 1) {
        disp = (uint16_t)(int8_t)rand64();
        emit(e, disp & 0xff);
    } else if (mod == 2) {
        disp = below(2) ? (uint16_t)rand64() : (uint16_t)(below(512) - 256);
        emit16(e, disp);
    }
    if (rm16_regs[rm][1] >= 0) {
        /* Any index, so that base + index wraps around 64 KiB too. */
        index = below(2) ? (uint16_t)rand64() : (uint16_t)below(64);
        gpr[rm16_regs[rm][1]] = with_low16(index);
    }
    gpr[rm16_regs[rm][0]] = with_low16((uint16_t)(target - disp - index));
}

/* A data page offset for an operand, with room for ES and SS based above DS. */
static uint32_t page_offset(void)
{
    uint32_t t = 0x300 + below(0xb00);

    return below(4) ? t & ~1u : t;
}

/* An operand of an instruction with ModRM and its data: kinds of cases. */
struct rm_form {
    uint8_t op[4], oplen;
    int digit;              /* the /digit of the ModRM reg field, or -1 for a register */
    uint8_t imm;            /* immediate bytes after the ModRM */
    bool mem_only, reg_only, lockable;
};

/* Where rm_case() put the operand: at a data page offset or in a register. */
struct rm_where {
    bool mem;
    uint32_t page;
    unsigned rm;
};

/*
 * A case of @f with registers @gpr chosen before: the memory form (at a
 * random page offset) or the register form; registers in @avoid are not
 * used for addresses. Says where the operand is through @w (or NULL).
 */
static struct x86_test_case *rm_case(const struct rm_form *f, uint64_t *gpr, unsigned avoid,
                                     struct rm_where *w)
{
    struct enc e = { .n = 0 };
    unsigned reg = f->digit >= 0 ? (unsigned)f->digit : below(8), rm = below(8);
    bool mem = f->mem_only || (!f->reg_only && below(2));
    uint32_t at = page_offset();
    struct x86_test_case *c;

    if (mem) {
        uint8_t op[5];
        unsigned n = 0;

        if (f->lockable && below(6) == 0)
            op[n++] = 0xf0;
        memcpy(op + n, f->op, f->oplen);
        /* No CS override: operands set through set_operand() are in the data page. */
        emit_mem16(&e, op, n + f->oplen, reg, at, gpr, ANY_FORM,
                   below(3) ? SEG_NONE : (int)(const uint8_t[]){ SEG_ES, SEG_SS, SEG_DS }[below(3)],
                   avoid);
    } else {
        for (unsigned i = 0; i < f->oplen; i++)
            emit(&e, f->op[i]);
        emit(&e, 0xc0 | reg << 3 | rm);
    }
    for (unsigned i = 0; i < f->imm; i++)
        emit(&e, below(4) ? (uint8_t)rand64() : (uint8_t)value32());
    c = add_case(e.b, e.n);
    memcpy(c->gpr, gpr, 8 * sizeof(gpr[0]));
    if (mem && below(2))
        patch_offset(c, at & ~7u, value32() | (uint64_t)value32() << 32);
    if (w)
        *w = (struct rm_where){ .mem = mem, .page = at, .rm = rm };
    return c;
}

/* Set the @size-byte register operand @rm (AH..BH for 4..7 when bytes) to @v. */
static void set_rm(struct x86_test_case *c, unsigned rm, unsigned size, uint64_t v)
{
    unsigned shift = size == 1 && rm >= 4 ? 8 : 0;
    uint64_t mask = (size == 1 ? 0xffull : size == 2 ? 0xffffull : 0xffffffffull) << shift;

    if (size == 1)
        rm &= 3;
    c->gpr[rm] = (c->gpr[rm] & ~mask) | ((v << shift) & mask);
}

/* Set the operand rm_case() made to @v: memory (8 bytes written) or register. */
static void set_operand(struct x86_test_case *c, const struct rm_where *w, unsigned size,
                        uint64_t v)
{
    if (w->mem) {
        c->patches = 0;
        patch_offset(c, w->page, v);
    } else {
        set_rm(c, w->rm, size, v);
    }
}

static void random_gprs(uint64_t *gpr)
{
    for (unsigned i = 0; i < 8; i++)
        gpr[i] = value32();
}

/* Form @name: @count cases of @f with random registers. */
static void rm_forms(const char *name, const struct rm_form *f, unsigned count)
{
    begin_form("%s", name);
    for (unsigned k = 0; k < count; k++) {
        uint64_t gpr[8];

        random_gprs(gpr);
        rm_case(f, gpr, 0, NULL);
    }
}

/* Form @name of @n bytes @code plus @imm random immediate bytes. */
static void plain_form(const char *name, const uint8_t *code, unsigned n, unsigned imm,
                       unsigned count)
{
    begin_form("%s", name);
    for (unsigned k = 0; k < count; k++) {
        uint8_t b[16];

        memcpy(b, code, n);
        for (unsigned i = 0; i < imm; i++)
            b[n + i] = below(4) ? (uint8_t)rand64() : (uint8_t)value32();
        add_case(b, n + imm);
    }
}

/* Each 16-bit addressing form, 67h, overrides: MOV load and store, LEA, ADD. */
static void family_addressing(void)
{
    static const uint8_t ops[] = { 0x8b, 0x89, 0x8d, 0x01, 0x8a, 0x88 };

    for (int form = 0; form <= FORM_A32 + 4; form++) {
        int seg = form > FORM_A32 ? form - FORM_A32 - 1 : -1;

        if (form < FORM_A32)
            begin_form("[%s]%s", form == 18 ? "disp16" : rm16_names[form / 3],
                       form % 3 == 1 ? "+disp8" : form % 3 == 2 && form != 18 ? "+disp16" : "");
        else if (form == FORM_A32)
            begin_form("67 (32-bit addressing)");
        else
            begin_form("override %02x", seg_prefix[seg]);
        for (unsigned k = 0; k < SCALE * 96; k++) {
            struct enc e = { .n = 0 };
            uint8_t op[2] = { 0x66, ops[below(G_N_ELEMENTS(ops))] };
            bool wide = below(4) == 0 && op[1] != 0x8a && op[1] != 0x88;
            uint32_t at = page_offset();
            uint64_t gpr[8];
            struct x86_test_case *c;

            random_gprs(gpr);
            emit_mem16(&e, op + !wide, 1 + wide, below(8), at, gpr,
                       form > FORM_A32 ? (int)below(25) : form, seg, 0);
            c = add_case(e.b, e.n);
            memcpy(c->gpr, gpr, sizeof(gpr));
        }
    }
}

/*
 * Segment limits (0xffff): a word at offset 0xffff, 67h offsets above the
 * limit (#GP(0), #SS(0) through BP/EBP); a 16-bit address wrapping to the
 * page.
 */
static void family_limits(void)
{
    static const struct { const char *name; uint8_t n, code[4]; int reg; } forms16[] = {
        { "mov ax,[bx] (bx at the limit)", 2, { 0x8b, 0x07 }, X86_RBX },
        { "mov ax,[bp] (bp at the limit)", 3, { 0x8b, 0x46, 0x00 }, X86_RBP },
        { "mov [si],ax (si at the limit)", 2, { 0x89, 0x04 }, X86_RSI },
        { "mov ax,[ebx] (67)", 3, { 0x67, 0x8b, 0x03 }, X86_RBX },
        { "mov ax,[ebp] (67)", 4, { 0x67, 0x8b, 0x45, 0x00 }, X86_RBP },
        { "mov eax,[ebx] (66 67)", 4, { 0x66, 0x67, 0x8b, 0x03 }, X86_RBX },
        { "mov ax,es:[edi] (26 67)", 4, { 0x26, 0x67, 0x8b, 0x07 }, X86_RDI },
        { "mov ax,ss:[ebx] (36 67)", 4, { 0x36, 0x67, 0x8b, 0x03 }, X86_RBX },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(forms16); i++) {
        begin_form("%s", forms16[i].name);
        for (unsigned k = 0; k < SCALE * 32; k++) {
            struct x86_test_case *c = add_case(forms16[i].code, forms16[i].n);
            bool a32 = forms16[i].code[0] == 0x67 || forms16[i].code[1] == 0x67;
            uint32_t v;

            /* Operands that end past the limit: no access reaches an unmapped page. */
            if (!a32)
                v = with_low16(0xffff);
            else if (k & 1)
                v = 0xffff + below(3);
            else
                v = value32() | 0x10000;
            c->gpr[forms16[i].reg] = v;
        }
    }
    /* [bx+si] with a sum above 0xffff wraps into the segment. */
    begin_form("mov ax,[bx+si] (wrapping)");
    for (unsigned k = 0; k < SCALE * 32; k++) {
        struct x86_test_case *c = add_case((const uint8_t[]){ 0x8b, 0x00 }, 2);
        uint16_t si = 0x8000 + below(0x8000);

        c->gpr[X86_RSI] = with_low16(si);
        c->gpr[X86_RBX] = with_low16((uint16_t)(0x10000 + 0x300 + below(0xc00) - si));
    }
}

static const char *const alu_names[8] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp" };

/* The eight ALU operations in all their encodings, 16- and 32-bit operands. */
static void family_alu(void)
{
    for (unsigned op = 0; op < 8; op++) {
        const struct { const char *form; struct rm_form f; } rm[] = {
            { "Eb,Gb", { { 8 * op }, 1, -1, 0, .lockable = true } },
            { "Ew,Gw", { { 8 * op + 1 }, 1, -1, 0, .lockable = true } },
            { "Ed,Gd", { { 0x66, 8 * op + 1 }, 2, -1, 0, .lockable = true } },
            { "Gb,Eb", { { 8 * op + 2 }, 1, -1, 0 } },
            { "Gw,Ew", { { 8 * op + 3 }, 1, -1, 0 } },
            { "Gd,Ed", { { 0x66, 8 * op + 3 }, 2, -1, 0 } },
            { "Eb,Ib (80)", { { 0x80 }, 1, (int)op, 1, .lockable = true } },
            { "Ew,Iw (81)", { { 0x81 }, 1, (int)op, 2, .lockable = true } },
            { "Ed,Id (66 81)", { { 0x66, 0x81 }, 2, (int)op, 4, .lockable = true } },
            { "Ew,Ib (83)", { { 0x83 }, 1, (int)op, 1, .lockable = true } },
            { "Ed,Ib (66 83)", { { 0x66, 0x83 }, 2, (int)op, 1, .lockable = true } },
        };
        char name[64];

        for (unsigned i = 0; i < G_N_ELEMENTS(rm); i++) {
            snprintf(name, sizeof(name), "%s %s", alu_names[op], rm[i].form);
            rm_forms(name, &rm[i].f, SCALE * 48);
        }
        snprintf(name, sizeof(name), "%s al,Ib", alu_names[op]);
        plain_form(name, (const uint8_t[]){ 8 * op + 4 }, 1, 1, 24);
        snprintf(name, sizeof(name), "%s ax,Iw", alu_names[op]);
        plain_form(name, (const uint8_t[]){ 8 * op + 5 }, 1, 2, 24);
        snprintf(name, sizeof(name), "%s eax,Id (66)", alu_names[op]);
        plain_form(name, (const uint8_t[]){ 0x66, 8 * op + 5 }, 2, 4, 24);
    }
    /* TEST, NOT, NEG. */
    rm_forms("test Ew,Gw", &(struct rm_form){ { 0x85 }, 1, -1, 0 }, SCALE * 48);
    rm_forms("test Ew,Iw", &(struct rm_form){ { 0xf7 }, 1, 0, 2 }, SCALE * 48);
    rm_forms("not Ew", &(struct rm_form){ { 0xf7 }, 1, 2, 0, .lockable = true }, SCALE * 48);
    rm_forms("neg Ew", &(struct rm_form){ { 0xf7 }, 1, 3, 0, .lockable = true }, SCALE * 48);
    rm_forms("neg Ed (66)", &(struct rm_form){ { 0x66, 0xf7 }, 2, 3, 0 }, SCALE * 48);
    rm_forms("neg Eb", &(struct rm_form){ { 0xf6 }, 1, 3, 0 }, SCALE * 48);
}

/* INC/DEC: the one-byte forms 40-4F and FE/FF /0 /1. */
static void family_inc_dec(void)
{
    for (unsigned op = 0; op < 2; op++) {
        const char *name = op ? "dec" : "inc";
        char buf[64];

        for (unsigned wide = 0; wide < 2; wide++) {
            snprintf(buf, sizeof(buf), "%s r%s (%s4%c)", name, wide ? "32" : "16",
                     wide ? "66 " : "", op ? '8' : '0');
            begin_form("%s", buf);
            for (unsigned k = 0; k < SCALE * 64; k++) {
                uint8_t code[2] = { 0x66, 0x40 + 8 * op + (k & 7) };

                add_case(code + !wide, 1 + wide);
            }
        }
        snprintf(buf, sizeof(buf), "%s Eb", name);
        rm_forms(buf, &(struct rm_form){ { 0xfe }, 1, (int)op, 0, .lockable = true }, SCALE * 48);
        snprintf(buf, sizeof(buf), "%s Ew", name);
        rm_forms(buf, &(struct rm_form){ { 0xff }, 1, (int)op, 0, .lockable = true }, SCALE * 48);
        snprintf(buf, sizeof(buf), "%s Ed (66)", name);
        rm_forms(buf, &(struct rm_form){ { 0x66, 0xff }, 2, (int)op, 0, .lockable = true }, SCALE * 48);
    }
}

/* A shift count: mostly 0..33, sometimes any byte. */
static uint8_t shift_count(void)
{
    return below(4) ? (uint8_t)below(34) : (uint8_t)rand64();
}

/* @count cases of shift form @f: counts in CL or (@imm) an immediate byte. */
static void shift_cases(const struct rm_form *f, bool imm, unsigned count)
{
    for (unsigned k = 0; k < count; k++) {
        uint64_t gpr[8];
        struct x86_test_case *c;

        random_gprs(gpr);
        gpr[X86_RCX] = (gpr[X86_RCX] & ~0xffull) | shift_count();
        c = rm_case(f, gpr, 1u << X86_RCX, NULL);
        if (imm)
            c->code[c->length++] = shift_count();
    }
}

/* The shift and rotate group (C0 C1 D0..D3 /0../7) and SHLD/SHRD. */
static void family_shift(void)
{
    static const char *const names[8] = { "rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar" };
    static const struct { const char *form; uint8_t op[2], oplen, imm; bool cl; } enc[] = {
        { "Eb,1", { 0xd0 }, 1, 0, false }, { "Eb,cl", { 0xd2 }, 1, 0, true },
        { "Eb,Ib", { 0xc0 }, 1, 1, false }, { "Ew,1", { 0xd1 }, 1, 0, false },
        { "Ew,cl", { 0xd3 }, 1, 0, true }, { "Ew,Ib", { 0xc1 }, 1, 1, false },
        { "Ed,cl (66)", { 0x66, 0xd3 }, 2, 0, true }, { "Ed,Ib (66)", { 0x66, 0xc1 }, 2, 1, false },
    };
    static const struct { const char *name; uint8_t op[3], oplen, imm; } dbl[] = {
        { "shld Ew,Gw,Ib", { 0x0f, 0xa4 }, 2, 1 }, { "shld Ew,Gw,cl", { 0x0f, 0xa5 }, 2, 0 },
        { "shrd Ew,Gw,Ib", { 0x0f, 0xac }, 2, 1 }, { "shrd Ew,Gw,cl", { 0x0f, 0xad }, 2, 0 },
        { "shld Ed,Gd,cl (66)", { 0x66, 0x0f, 0xa5 }, 3, 0 },
        { "shrd Ed,Gd,Ib (66)", { 0x66, 0x0f, 0xac }, 3, 1 },
    };

    for (unsigned op = 0; op < 8; op++) {
        for (unsigned i = 0; i < G_N_ELEMENTS(enc); i++) {
            struct rm_form f = { .oplen = enc[i].oplen, .digit = (int)op };

            memcpy(f.op, enc[i].op, 2);
            begin_form("%s %s", names[op], enc[i].form);
            shift_cases(&f, enc[i].imm, SCALE * 40);
        }
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(dbl); i++) {
        struct rm_form f = { .oplen = dbl[i].oplen, .digit = -1 };

        memcpy(f.op, dbl[i].op, 3);
        begin_form("%s", dbl[i].name);
        shift_cases(&f, dbl[i].imm, SCALE * 48);
    }
}

/* MUL, IMUL, DIV, IDIV (F6/F7 /4../7), IMUL Gv,Ev (0F AF, 69, 6B). */
static void family_muldiv(void)
{
    static const char *const names[4] = { "mul", "imul", "div", "idiv" };

    for (unsigned op = 0; op < 4; op++) {
        for (unsigned size = 1; size <= 4; size *= 2) {
            struct rm_form f = { .oplen = 1 + (size == 4), .digit = 4 + (int)op };
            uint64_t mask = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff;

            f.op[0] = size == 4 ? 0x66 : size == 1 ? 0xf6 : 0xf7;
            f.op[1] = 0xf7;
            begin_form("%s E%c", names[op], size == 1 ? 'b' : size == 2 ? 'w' : 'd');
            for (unsigned k = 0; k < SCALE * 64; k++) {
                uint64_t gpr[8], divisor = value32() & mask;
                struct rm_where w;
                struct x86_test_case *c;

                random_gprs(gpr);
                if (op >= 2 && below(4)) {
                    /* A dividend that mostly fits: the high half below the divisor. */
                    uint64_t high = divisor ? (value32() & mask) % divisor : 0;

                    if (op == 3 && below(2))
                        high = below(2) ? 0 : mask;
                    if (size == 1)
                        gpr[X86_RAX] = (gpr[X86_RAX] & ~0xff00ull) | high << 8;
                    else
                        gpr[X86_RDX] = (gpr[X86_RDX] & ~mask) | high;
                }
                c = rm_case(&f, gpr, 1u << X86_RAX | 1u << X86_RDX, &w);
                if (below(4))
                    set_operand(c, &w, size, divisor | (w.mem ? rand64() << 32 : 0));
            }
        }
    }
    rm_forms("imul Gw,Ew (0f af)", &(struct rm_form){ { 0x0f, 0xaf }, 2, -1, 0 }, SCALE * 64);
    rm_forms("imul Gd,Ed (66 0f af)", &(struct rm_form){ { 0x66, 0x0f, 0xaf }, 3, -1, 0 }, SCALE * 64);
    rm_forms("imul Gw,Ew,Iw (69)", &(struct rm_form){ { 0x69 }, 1, -1, 2 }, SCALE * 64);
    rm_forms("imul Gw,Ew,Ib (6b)", &(struct rm_form){ { 0x6b }, 1, -1, 1 }, SCALE * 64);
    rm_forms("imul Gd,Ed,Id (66 69)", &(struct rm_form){ { 0x66, 0x69 }, 2, -1, 4 }, SCALE * 64);
}

/* MOVZX, MOVSX to 16- and 32-bit registers; MOV forms. */
static void family_move(void)
{
    static const struct { const char *name; struct rm_form f; } forms16[] = {
        { "movzx Gw,Eb", { { 0x0f, 0xb6 }, 2, -1, 0 } },
        { "movzx Gw,Ew", { { 0x0f, 0xb7 }, 2, -1, 0 } },
        { "movsx Gw,Eb", { { 0x0f, 0xbe }, 2, -1, 0 } },
        { "movsx Gw,Ew", { { 0x0f, 0xbf }, 2, -1, 0 } },
        { "movzx Gd,Eb (66)", { { 0x66, 0x0f, 0xb6 }, 3, -1, 0 } },
        { "movzx Gd,Ew (66)", { { 0x66, 0x0f, 0xb7 }, 3, -1, 0 } },
        { "movsx Gd,Eb (66)", { { 0x66, 0x0f, 0xbe }, 3, -1, 0 } },
        { "movsx Gd,Ew (66)", { { 0x66, 0x0f, 0xbf }, 3, -1, 0 } },
        { "mov Ew,Iw (c7)", { { 0xc7 }, 1, 0, 2 } },
        { "mov Ed,Id (66 c7)", { { 0x66, 0xc7 }, 2, 0, 4 } },
        { "mov Eb,Ib (c6)", { { 0xc6 }, 1, 0, 1 } },
        { "lea Gw,M", { { 0x8d }, 1, -1, 0, .mem_only = true } },
        { "lea Gd,M (66)", { { 0x66, 0x8d }, 2, -1, 0, .mem_only = true } },
        { "lea Gw,reg (#UD)", { { 0x8d }, 1, -1, 0, .reg_only = true } },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(forms16); i++)
        rm_forms(forms16[i].name, &forms16[i].f, SCALE * 64);
    plain_form("mov moffs forms (a1, 66 a3, 36 a2)", (const uint8_t[]){ 0xa1 }, 1, 0, 0);
    for (unsigned k = 0; k < SCALE * 32; k++) {
        uint16_t at = (uint16_t)page_offset();

        add_case((const uint8_t[]){ 0xa1, at & 0xff, at >> 8 }, 3);
        add_case((const uint8_t[]){ 0x66, 0xa3, at & 0xff, at >> 8 }, 4);
        add_case((const uint8_t[]){ 0x36, 0xa2, at & 0xff, at >> 8 }, 4);
    }
}

/* A stack pointer: SP in the stack segment's page, ESP[31:16] random. */
static uint32_t stack16(void)
{
    return with_low16((uint16_t)(0x100 + 2 * below(0x600) - (below(8) ? 0 : 1)));
}

/* Stack page offset of SP. */
static uint32_t stack_page(const struct x86_test_case *c)
{
    return X86_TEST_SS16_BASE + (c->gpr[X86_RSP] & 0xffff);
}

/* PUSH/POP in all forms, PUSHA/POPA, PUSHF/POPF, ENTER/LEAVE. */
static void family_stack(void)
{
    static const struct { const char *name; uint8_t n, code[3], imm; } plain[] = {
        { "push r16", 1, { 0x50 }, 0 }, { "pop r16", 1, { 0x58 }, 0 },
        { "push r32 (66)", 2, { 0x66, 0x50 }, 0 }, { "pop r32 (66)", 2, { 0x66, 0x58 }, 0 },
        { "push Iw", 1, { 0x68 }, 2 }, { "push Ib", 1, { 0x6a }, 1 },
        { "push Id (66)", 2, { 0x66, 0x68 }, 4 }, { "push Ib (66 6a)", 2, { 0x66, 0x6a }, 1 },
        { "pusha", 1, { 0x60 }, 0 }, { "popa", 1, { 0x61 }, 0 },
        { "pushad (66)", 2, { 0x66, 0x60 }, 0 }, { "popad (66)", 2, { 0x66, 0x61 }, 0 },
        { "pushf", 1, { 0x9c }, 0 }, { "popf", 1, { 0x9d }, 0 },
        { "pushfd (66)", 2, { 0x66, 0x9c }, 0 }, { "popfd (66)", 2, { 0x66, 0x9d }, 0 },
        { "leave", 1, { 0xc9 }, 0 }, { "leave (66)", 2, { 0x66, 0xc9 }, 0 },
        { "enter Iw,Ib", 1, { 0xc8 }, 3 }, { "enter Iw,Ib (66)", 2, { 0x66, 0xc8 }, 3 },
    };
    static const struct { const char *name; struct rm_form f; } rm[] = {
        { "push Ew (ff /6)", { { 0xff }, 1, 6, 0 } },
        { "push Ed (66 ff /6)", { { 0x66, 0xff }, 2, 6, 0 } },
        { "pop Ew (8f /0)", { { 0x8f }, 1, 0, 0 } },
        { "pop Ed (66 8f /0)", { { 0x66, 0x8f }, 2, 0, 0 } },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(plain); i++) {
        bool pop = strncmp(plain[i].name, "pop", 3) == 0;
        bool enter = plain[i].code[plain[i].n - 1] == 0xc8;

        begin_form("%s", plain[i].name);
        for (unsigned k = 0; k < SCALE * 64; k++) {
            uint8_t b[8];
            unsigned n = plain[i].n;
            struct x86_test_case *c;

            memcpy(b, plain[i].code, n);
            if (plain[i].code[n - 1] == 0x50 || plain[i].code[n - 1] == 0x58)
                b[n - 1] += k & 7;
            for (unsigned j = 0; j < plain[i].imm; j++)
                b[n + j] = (uint8_t)rand64();
            if (enter) {
                b[n] &= 0x3f;                       /* frame size below 16 KiB */
                b[n + 1] = 0;
                b[n + 2] = k < 48 ? (uint8_t)(k % 5) : (uint8_t)rand64();
            }
            c = add_case(b, n + plain[i].imm);
            c->gpr[X86_RSP] = stack16();
            if (enter || plain[i].code[n - 1] == 0xc9)
                c->gpr[X86_RBP] = with_low16((uint16_t)(0x100 + below(0xcf0)));
            /*
             * No TF (a single-step trap would end the case elsewhere), no AC
             * (Linux sets CR0.AM: the signal handler would take #AC).
             */
            if (pop)
                patch_offset(c, stack_page(c), (value32() | (uint64_t)value32() << 32) &
                                               ~(uint64_t)(X86_TF | X86_AC));
        }
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(rm); i++) {
        begin_form("%s", rm[i].name);
        for (unsigned k = 0; k < SCALE * 64; k++) {
            uint64_t gpr[8];

            random_gprs(gpr);
            gpr[X86_RSP] = stack16();
            rm_case(&rm[i].f, gpr, 1u << X86_RSP, NULL);
        }
    }
}

/* The string instructions, with REP/REPE/REPNE, DF both ways, 16- and 32-bit addresses. */
static void family_string(void)
{
    static const struct { const char *name; uint8_t op; } ops[] = {
        { "movs", 0xa4 }, { "cmps", 0xa6 }, { "stos", 0xaa }, { "lods", 0xac }, { "scas", 0xae },
    };
    static const char *const sizes[3] = { "b", "w", "d" };
    static const uint8_t reps[3] = { 0, 0xf3, 0xf2 };

    for (unsigned i = 0; i < G_N_ELEMENTS(ops); i++) {
        for (unsigned size = 0; size < 3; size++) {
            for (unsigned rep = 0; rep < 4; rep++) {
                /* rep 3: 67h (ECX, ESI, EDI) with F3 and a segment override. */
                bool a32 = rep == 3;

                begin_form("%s%s%s%s", rep == 1 || a32 ? "rep " : rep == 2 ? "repne " : "",
                           ops[i].name, sizes[size], a32 ? " (67, override)" : "");
                for (unsigned k = 0; k < SCALE * 40; k++) {
                    struct enc e = { .n = 0 };
                    struct x86_test_case *c;
                    uint16_t cx = below(4) ? (uint16_t)below(7) : (uint16_t)below(3);

                    if (a32) {
                        emit(&e, 0x67);
                        emit(&e, seg_prefix[below(4)]);
                    }
                    if (a32 || reps[rep])
                        emit(&e, a32 ? 0xf3 : reps[rep]);
                    if (size == 2)
                        emit(&e, 0x66);
                    emit(&e, ops[i].op + (size > 0));
                    c = add_case(e.b, e.n);
                    set_flag(c, X86_DF, k & 1);
                    if (k & 2)
                        c->memory_seed |= 0x80000000u;
                    if (k & 2)
                        c->gpr[X86_RAX] &= ~0xfeull;
                    c->gpr[X86_RSI] = 0x40 + below(0xd80);
                    c->gpr[X86_RDI] = 0x40 + below(0xd80);
                    if (a32) {
                        c->gpr[X86_RCX] = cx;
                    } else {
                        c->gpr[X86_RCX] = with_low16(cx);
                        c->gpr[X86_RSI] = with_low16((uint16_t)c->gpr[X86_RSI]);
                        c->gpr[X86_RDI] = with_low16((uint16_t)c->gpr[X86_RDI]);
                    }
                }
            }
        }
    }
}

/* XCHG, CMPXCHG, XADD (LOCK on memory). */
static void family_exchange(void)
{
    static const struct { const char *name; struct rm_form f; } rm[] = {
        { "xchg Eb,Gb", { { 0x86 }, 1, -1, 0, .lockable = true } },
        { "xchg Ew,Gw", { { 0x87 }, 1, -1, 0, .lockable = true } },
        { "xchg Ed,Gd (66)", { { 0x66, 0x87 }, 2, -1, 0, .lockable = true } },
        { "cmpxchg Eb,Gb", { { 0x0f, 0xb0 }, 2, -1, 0, .lockable = true } },
        { "cmpxchg Ew,Gw", { { 0x0f, 0xb1 }, 2, -1, 0, .lockable = true } },
        { "cmpxchg Ed,Gd (66)", { { 0x66, 0x0f, 0xb1 }, 3, -1, 0, .lockable = true } },
        { "xadd Eb,Gb", { { 0x0f, 0xc0 }, 2, -1, 0, .lockable = true } },
        { "xadd Ew,Gw", { { 0x0f, 0xc1 }, 2, -1, 0, .lockable = true } },
        { "xadd Ed,Gd (66)", { { 0x66, 0x0f, 0xc1 }, 3, -1, 0, .lockable = true } },
    };

    begin_form("xchg ax,r16 (90+r)");
    for (unsigned k = 0; k < SCALE * 48; k++)
        add_case((const uint8_t[]){ 0x90 + (k & 7) }, 1);
    begin_form("xchg eax,r32 (66 90+r)");
    for (unsigned k = 0; k < SCALE * 48; k++)
        add_case((const uint8_t[]){ 0x66, 0x90 + (k & 7) }, 2);
    for (unsigned i = 0; i < G_N_ELEMENTS(rm); i++) {
        bool cmpxchg = rm[i].f.op[rm[i].f.oplen - 1] <= 0xb1 &&
                       rm[i].f.op[rm[i].f.oplen - 1] >= 0xb0;

        unsigned size = rm[i].f.op[0] == 0x66 ? 4 : rm[i].f.op[rm[i].f.oplen - 1] & 1 ? 2 : 1;

        begin_form("%s", rm[i].name);
        for (unsigned k = 0; k < SCALE * 64; k++) {
            uint64_t gpr[8];
            struct rm_where w;
            struct x86_test_case *c;

            random_gprs(gpr);
            c = rm_case(&rm[i].f, gpr, 1u << X86_RAX, &w);
            if (cmpxchg && (k & 1)) {
                /* The accumulator equal to the operand. */
                uint64_t v = value32();

                set_operand(c, &w, size, v | (w.mem ? rand64() << 32 : 0));
                set_rm(c, X86_RAX, size, v);
            }
        }
    }
}

/* BT, BTS, BTR, BTC with a register or immediate bit offset; BSF, BSR. */
static void family_bits(void)
{
    static const char *const names[4] = { "bt", "bts", "btr", "btc" };

    for (unsigned op = 0; op < 4; op++) {
        for (unsigned wide = 0; wide < 2; wide++) {
            struct rm_form f = { { 0x66, 0x0f, 0xa3 + 8 * op }, 3, -1, 0, .lockable = op > 0 };
            struct rm_form fi = { { 0x66, 0x0f, 0xba }, 3, 4 + (int)op, 1, .lockable = op > 0 };

            if (!wide) {
                memmove(f.op, f.op + 1, 2);
                memmove(fi.op, fi.op + 1, 2);
                f.oplen = fi.oplen = 2;
            }
            begin_form("%s E%c,G%c", names[op], wide ? 'd' : 'w', wide ? 'd' : 'w');
            for (unsigned k = 0; k < SCALE * 64; k++) {
                uint64_t gpr[8];
                struct rm_form g = f;

                /* A bit offset in AX, CX or DX, within 64 bytes of the operand (signed). */
                g.digit = (int)below(3);
                struct rm_where w;
                struct x86_test_case *c;

                random_gprs(gpr);
                gpr[g.digit] = (gpr[g.digit] & (wide ? 0 : 0xffff0000ull)) |
                               ((uint32_t)((int32_t)below(1024) - 512) &
                                (wide ? 0xffffffffu : 0xffffu));
                c = rm_case(&g, gpr, 1u << g.digit, &w);
                /* Any offset for a register (taken modulo its width). */
                if (!w.mem && below(2))
                    c->gpr[g.digit] = value32();
            }
            begin_form("%s E%c,Ib", names[op], wide ? 'd' : 'w');
            for (unsigned k = 0; k < SCALE * 32; k++) {
                uint64_t gpr[8];

                random_gprs(gpr);
                rm_case(&fi, gpr, 0, NULL);
            }
        }
    }
    for (unsigned op = 0; op < 2; op++) {
        for (unsigned wide = 0; wide < 2; wide++) {
            struct rm_form f = { { 0x66, 0x0f, 0xbc + op }, 3, -1, 0 };

            if (!wide) {
                memmove(f.op, f.op + 1, 2);
                f.oplen = 2;
            }
            begin_form("%s G%c,E%c", op ? "bsr" : "bsf", wide ? 'd' : 'w', wide ? 'd' : 'w');
            for (unsigned k = 0; k < SCALE * 64; k++) {
                uint64_t gpr[8];
                struct rm_where w;
                struct x86_test_case *c;

                random_gprs(gpr);
                c = rm_case(&f, gpr, 0, &w);
                /* A zero source, or one bit set. */
                if (k & 1)
                    set_operand(c, &w, wide ? 4 : 2, k & 2 ? 0 : 1ull << below(wide ? 32 : 16));
            }
        }
    }
}

/* SETcc Eb, CMOVcc Gw,Ew and Gd,Ed. */
static void family_cc(void)
{
    char name[64];

    for (unsigned cc = 0; cc < 16; cc++) {
        snprintf(name, sizeof(name), "set%x Eb", cc);
        rm_forms(name, &(struct rm_form){ { 0x0f, 0x90 + cc }, 2, 0, 0 }, SCALE * 32);
        snprintf(name, sizeof(name), "cmov%x Gw,Ew", cc);
        rm_forms(name, &(struct rm_form){ { 0x0f, 0x40 + cc }, 2, -1, 0 }, SCALE * 32);
        snprintf(name, sizeof(name), "cmov%x Gd,Ed (66)", cc);
        rm_forms(name, &(struct rm_form){ { 0x66, 0x0f, 0x40 + cc }, 3, -1, 0 }, SCALE * 32);
    }
}

/* A branch target: an IP in the code page, not inside the instruction. */
static uint16_t branch_target(void)
{
    uint16_t t;

    do {
        t = (uint16_t)below(X86_TEST_PAGE);
    } while (t >= X86_TEST_CODE_OFFSET && t < X86_TEST_CODE_OFFSET + 16);
    return t;
}

/*
 * A relative branch form: @code then a displacement of @disp bytes to a
 * target in the page (a 16-bit IP wraps around 64 KiB to reach those
 * below); 32-bit displacements sometimes go past the limit (#GP).
 */
static void rel_form(const char *name, const uint8_t *code, unsigned n, unsigned disp,
                     unsigned count, bool cx)
{
    begin_form("%s", name);
    for (unsigned k = 0; k < count; k++) {
        struct enc e = { .n = 0 };
        uint32_t next = X86_TEST_CODE_OFFSET + n + disp;
        uint32_t rel = (uint32_t)branch_target() - next;
        struct x86_test_case *c;

        for (unsigned i = 0; i < n; i++)
            emit(&e, code[i]);
        if (disp == 1) {
            int8_t d;

            /* Not back into the instruction: JMP $ would never end. */
            do {
                d = (int8_t)((int)below(256) - 128);
            } while (d < 0 && d >= -(int)(n + 1) - 16);
            emit(&e, (uint8_t)d);
        } else if (disp == 2) {
            emit16(&e, (uint16_t)rel);
        } else {
            emit32(&e, below(4) ? rel : rel + 0x10000 * (1 + below(4)));
        }
        c = add_case(e.b, e.n);
        c->gpr[X86_RSP] = stack16();
        if (cx)
            c->gpr[X86_RCX] = below(2) ? with_low16((uint16_t)below(3))
                            : below(2) ? below(3) : value32();
    }
}

/* Jcc, JMP, CALL, RET near with a 16-bit IP (and 66h: EIP); LOOP, JCXZ. */
static void family_branch(void)
{
    static const struct { const char *name; uint8_t n, code[3], disp; bool cx; } rel[] = {
        { "jmp rel8", 1, { 0xeb }, 1, false }, { "jmp rel16", 1, { 0xe9 }, 2, false },
        { "jmp rel32 (66)", 2, { 0x66, 0xe9 }, 4, false },
        { "call rel16", 1, { 0xe8 }, 2, false }, { "call rel32 (66)", 2, { 0x66, 0xe8 }, 4, false },
        { "loopne", 1, { 0xe0 }, 1, true }, { "loope", 1, { 0xe1 }, 1, true },
        { "loop", 1, { 0xe2 }, 1, true }, { "jcxz", 1, { 0xe3 }, 1, true },
        { "loop (67: ecx)", 2, { 0x67, 0xe2 }, 1, true }, { "jecxz (67)", 2, { 0x67, 0xe3 }, 1, true },
        { "loopne (67)", 2, { 0x67, 0xe0 }, 1, true }, { "loop (66)", 2, { 0x66, 0xe2 }, 1, true },
    };
    static const struct { const char *name; struct rm_form f; } ind[] = {
        { "jmp Ew (ff /4)", { { 0xff }, 1, 4, 0 } },
        { "jmp Ed (66 ff /4)", { { 0x66, 0xff }, 2, 4, 0 } },
        { "call Ew (ff /2)", { { 0xff }, 1, 2, 0 } },
        { "call Ed (66 ff /2)", { { 0x66, 0xff }, 2, 2, 0 } },
    };
    static const struct { const char *name; uint8_t n, code[2], imm; } ret[] = {
        { "ret", 1, { 0xc3 }, 0 }, { "ret Iw", 1, { 0xc2 }, 2 },
        { "ret (66)", 2, { 0x66, 0xc3 }, 0 }, { "ret Iw (66)", 2, { 0x66, 0xc2 }, 2 },
    };
    char name[64];

    for (unsigned cc = 0; cc < 16; cc++) {
        snprintf(name, sizeof(name), "j%x rel8", cc);
        rel_form(name, (const uint8_t[]){ 0x70 + cc }, 1, 1, SCALE * 32, false);
        snprintf(name, sizeof(name), "j%x rel16", cc);
        rel_form(name, (const uint8_t[]){ 0x0f, 0x80 + cc }, 2, 2, SCALE * 32, false);
    }
    rel_form("jcc rel32 (66)", (const uint8_t[]){ 0x66, 0x0f, 0x84 }, 3, 4, SCALE * 32, false);
    for (unsigned i = 0; i < G_N_ELEMENTS(rel); i++)
        rel_form(rel[i].name, rel[i].code, rel[i].n, rel[i].disp, SCALE * 64, rel[i].cx);
    for (unsigned i = 0; i < G_N_ELEMENTS(ind); i++) {
        bool wide = ind[i].f.oplen == 2;

        begin_form("%s", ind[i].name);
        for (unsigned k = 0; k < SCALE * 64; k++) {
            uint64_t gpr[8];
            struct rm_where w;
            uint32_t target = branch_target() | (wide && below(4) == 0 ? 0x10000u : 0);
            struct x86_test_case *c;
            struct rm_form f = ind[i].f;

            random_gprs(gpr);
            gpr[X86_RSP] = stack16();
            /* The register form jumps through AX, CX or DX. */
            c = rm_case(&f, gpr, 1u << X86_RSP, &w);
            if (!w.mem && w.rm == X86_RSP) {
                /* Through BP instead: CALL SP would push outside the page. */
                c->code[c->length - 1] ^= 1;
                w.rm = X86_RBP;
            }
            set_operand(c, &w, wide ? 4 : 2,
                        wide ? target | rand64() << 32 : (uint16_t)target | rand64() << 16);
        }
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(ret); i++) {
        bool wide = ret[i].n == 2;

        begin_form("%s", ret[i].name);
        for (unsigned k = 0; k < SCALE * 64; k++) {
            uint8_t b[4];
            uint32_t target = branch_target() | (wide && below(4) == 0 ? value32() << 16 : 0);
            struct x86_test_case *c;

            memcpy(b, ret[i].code, ret[i].n);
            b[ret[i].n] = (uint8_t)rand64();
            b[ret[i].n + 1] = (uint8_t)below(4);
            c = add_case(b, ret[i].n + ret[i].imm);
            c->gpr[X86_RSP] = stack16();
            patch_offset(c, stack_page(c),
                         wide ? target | rand64() << 32 : (uint16_t)target | rand64() << 16);
        }
    }
}

/* One-byte forms with implicit operands; XLAT through DS:[BX+AL] (or an override). */
static void family_misc(void)
{
    static const struct { const char *name; uint8_t n, code[3]; } plain[] = {
        { "cbw", 1, { 0x98 } }, { "cwde (66)", 2, { 0x66, 0x98 } },
        { "cwd", 1, { 0x99 } }, { "cdq (66)", 2, { 0x66, 0x99 } },
        { "lahf", 1, { 0x9f } }, { "sahf", 1, { 0x9e } }, { "cmc", 1, { 0xf5 } },
        { "clc", 1, { 0xf8 } }, { "stc", 1, { 0xf9 } }, { "cld", 1, { 0xfc } },
        { "std", 1, { 0xfd } }, { "bswap eax (0f c8)", 2, { 0x0f, 0xc8 } },
        { "bswap r32 (0f cb)", 2, { 0x0f, 0xcb } },
        { "bswap r16 (66 0f c9, undefined)", 3, { 0x66, 0x0f, 0xc9 } },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(plain); i++)
        plain_form(plain[i].name, plain[i].code, plain[i].n, 0, SCALE * 16);
    for (unsigned seg = 0; seg <= SEG_NONE; seg++) {
        if (seg == SEG_CS)
            continue;
        begin_form("xlat%s", seg == SEG_NONE ? "" : seg == SEG_ES ? " (26)" : seg == SEG_SS
                   ? " (36)" : " (3e)");
        for (unsigned k = 0; k < SCALE * 32; k++) {
            const uint8_t code[2] = { seg == SEG_NONE ? 0xd7 : seg_prefix[seg], 0xd7 };
            struct x86_test_case *c = add_case(code, 1 + (seg != SEG_NONE));

            c->gpr[X86_RBX] = with_low16((uint16_t)(0x200 + below(0xa00)));
        }
    }
}

/* The BCD adjusts (and SALC) in 16-bit code. */
static void family_bcd(void)
{
    legacy_bcd_forms(32, 512);
}

static const struct x86_test_family families[] = {
    { "addressing", family_addressing },
    { "limits", family_limits },
    { "alu", family_alu },
    { "inc-dec", family_inc_dec },
    { "shift", family_shift },
    { "mul-div", family_muldiv },
    { "move", family_move },
    { "stack", family_stack },
    { "string", family_string },
    { "exchange", family_exchange },
    { "bits", family_bits },
    { "setcc-cmovcc", family_cc },
    { "branch", family_branch },
    { "bcd", family_bcd },
    { "misc", family_misc },
};

static const struct legacy_runner runner16 = {
    .what = "16-bit", .native = x86_test_run_native16, .mimic = x86_test_run_mimic16,
    .probe_eax = 0x10000, .cs = X86_TEST_LDT_CS16,
};

int main(int argc, char **argv)
{
    return legacy_main(&argc, &argv, "/x86/diff16", families, G_N_ELEMENTS(families),
                       &runner16, NULL, NULL);
}
