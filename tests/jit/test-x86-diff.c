/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Differential test of Mimic's x86 CPU against the host CPU: every integer
 * instruction form user code can run, with edge-case and random operands;
 * registers, RIP, RFLAGS, the exception raised and the data page must agree.
 * One test per instruction family.
 */
#include <glib.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jit/x86/cpu.h"
#include "tests/jit/x86-gen.h"
#include "tests/jit/x86-report.h"

#define BATCH 2048
#define MAX_FORMS 512
#define MAX_REPORTS 6

static struct x86_form forms[MAX_FORMS];
static unsigned nforms;
static unsigned total_forms, total_cases;
/* MIMIC_X86_SEED=n explores other cases than the fixed default set. */
static uint32_t seed_salt;

static const unsigned all_sizes[] = { 1, 2, 4, 8 };
static const unsigned word_sizes[] = { 2, 4, 8 };

static struct x86_form *add(unsigned size, unsigned map, unsigned opcode, int digit,
                            unsigned rm, unsigned imm, unsigned special,
                            const char *format, ...) G_GNUC_PRINTF(8, 9);

static struct x86_form *add(unsigned size, unsigned map, unsigned opcode, int digit,
                            unsigned rm, unsigned imm, unsigned special,
                            const char *format, ...)
{
    struct x86_form *f;
    va_list ap;

    g_assert_cmpuint(nforms, <, MAX_FORMS);
    f = &forms[nforms++];
    memset(f, 0, sizeof(*f));
    va_start(ap, format);
    vsnprintf(f->name, sizeof(f->name), format, ap);
    va_end(ap);
    f->size = size;
    f->map = map;
    f->opcode = opcode;
    f->digit = digit;
    f->rm = rm;
    f->imm = imm;
    f->special = special;
    f->byte_regs = size == 1;
    f->addr32_ok = (rm & RM_MEM) != 0;
    return f;
}

/* Immediate size of Iz for an operand size. */
static unsigned iz(unsigned size)
{
    return size == 1 ? 1 : size == 2 ? 2 : 4;
}

static const char *const alu_names[8] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp" };
static const char *const shift_names[8] = { "rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar" };
static const char *const cc_names[16] = {
    "o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g",
};

static void family_alu(void)
{
    for (unsigned op = 0; op < 8; op++) {
        for (unsigned i = 0; i < 4; i++) {
            unsigned s = all_sizes[i], w = s > 1;

            add(s, 0, op * 8 + w, -1, RM_BOTH, 0, SP_NONE, "%s Ev,Gv/%u", alu_names[op], s);
            add(s, 0, op * 8 + 2 + w, -1, RM_BOTH, 0, SP_NONE, "%s Gv,Ev/%u", alu_names[op], s);
            add(s, 0, op * 8 + 4 + w, -2, 0, iz(s), SP_NONE, "%s rAX,imm/%u", alu_names[op], s);
            add(s, 0, 0x80 + w, op, RM_BOTH, iz(s), SP_NONE, "%s Ev,Iz/%u", alu_names[op], s);
            if (s > 1)
                add(s, 0, 0x83, op, RM_BOTH, 1, SP_NONE, "%s Ev,Ib/%u", alu_names[op], s);
            if (op != 7)
                add(s, 0, op * 8 + w, -1, RM_MEM, 0, SP_NONE, "lock %s Mv,Gv/%u",
                    alu_names[op], s)->prefix = 0xf0;
        }
    }
    for (unsigned i = 0; i < 4; i++) {
        unsigned s = all_sizes[i], w = s > 1;

        add(s, 0, 0x84 + w, -1, RM_BOTH, 0, SP_NONE, "test Ev,Gv/%u", s);
        add(s, 0, 0xa8 + w, -2, 0, iz(s), SP_NONE, "test rAX,imm/%u", s);
        add(s, 0, 0xf6 + w, 0, RM_BOTH, iz(s), SP_NONE, "test Ev,imm/%u", s);
        add(s, 0, 0xf6 + w, 1, RM_BOTH, iz(s), SP_NONE, "test(/1) Ev,imm/%u", s);
    }
}

static void family_unary(void)
{
    for (unsigned i = 0; i < 4; i++) {
        unsigned s = all_sizes[i], w = s > 1;

        add(s, 0, 0xfe + w, 0, RM_BOTH, 0, SP_NONE, "inc Ev/%u", s);
        add(s, 0, 0xfe + w, 1, RM_BOTH, 0, SP_NONE, "dec Ev/%u", s);
        add(s, 0, 0xf6 + w, 2, RM_BOTH, 0, SP_NONE, "not Ev/%u", s);
        add(s, 0, 0xf6 + w, 3, RM_BOTH, 0, SP_NONE, "neg Ev/%u", s);
        add(s, 0, 0xf6 + w, 3, RM_MEM, 0, SP_NONE, "lock neg Mv/%u", s)->prefix = 0xf0;
        add(s, 0, 0xfe + w, 0, RM_MEM, 0, SP_NONE, "lock inc Mv/%u", s)->prefix = 0xf0;
    }
}

static void family_multiply(void)
{
    for (unsigned i = 0; i < 4; i++) {
        unsigned s = all_sizes[i], w = s > 1;

        add(s, 0, 0xf6 + w, 4, RM_BOTH, 0, SP_MUL, "mul Ev/%u", s);
        add(s, 0, 0xf6 + w, 5, RM_BOTH, 0, SP_MUL, "imul Ev/%u", s);
    }
    for (unsigned i = 0; i < 3; i++) {
        unsigned s = word_sizes[i];

        add(s, 1, 0xaf, -1, RM_BOTH, 0, SP_NONE, "imul Gv,Ev/%u", s);
        add(s, 0, 0x69, -1, RM_BOTH, iz(s), SP_NONE, "imul Gv,Ev,Iz/%u", s);
        add(s, 0, 0x6b, -1, RM_BOTH, 1, SP_NONE, "imul Gv,Ev,Ib/%u", s);
    }
}

static void family_divide(void)
{
    for (unsigned i = 0; i < 4; i++) {
        unsigned s = all_sizes[i], w = s > 1;

        add(s, 0, 0xf6 + w, 6, RM_BOTH, 0, SP_DIV, "div Ev/%u", s)->cases = 24;
        add(s, 0, 0xf6 + w, 7, RM_BOTH, 0, SP_DIV, "idiv Ev/%u", s)->cases = 24;
    }
}

static void family_shift(void)
{
    for (unsigned op = 0; op < 8; op++) {
        for (unsigned i = 0; i < 4; i++) {
            unsigned s = all_sizes[i], w = s > 1;

            add(s, 0, 0xc0 + w, op, RM_BOTH, 1, SP_SHIFT_IMM, "%s Ev,Ib/%u", shift_names[op], s);
            add(s, 0, 0xd0 + w, op, RM_BOTH, 0, SP_NONE, "%s Ev,1/%u", shift_names[op], s);
            add(s, 0, 0xd2 + w, op, RM_BOTH, 0, SP_SHIFT_CL, "%s Ev,CL/%u", shift_names[op], s);
        }
    }
}

static void family_double_shift(void)
{
    for (unsigned i = 0; i < 3; i++) {
        unsigned s = word_sizes[i];

        add(s, 1, 0xa4, -1, RM_BOTH, 1, SP_SHIFT_IMM, "shld Ev,Gv,Ib/%u", s);
        add(s, 1, 0xa5, -1, RM_BOTH, 0, SP_SHIFT_CL, "shld Ev,Gv,CL/%u", s);
        add(s, 1, 0xac, -1, RM_BOTH, 1, SP_SHIFT_IMM, "shrd Ev,Gv,Ib/%u", s);
        add(s, 1, 0xad, -1, RM_BOTH, 0, SP_SHIFT_CL, "shrd Ev,Gv,CL/%u", s);
    }
}

static void family_bits(void)
{
    static const char *const bt_names[4] = { "bt", "bts", "btr", "btc" };

    for (unsigned i = 0; i < 3; i++) {
        unsigned s = word_sizes[i];

        for (unsigned k = 0; k < 4; k++) {
            add(s, 1, 0xa3 + 8 * k, -1, RM_BOTH, 0, SP_BT, "%s Ev,Gv/%u", bt_names[k], s);
            add(s, 1, 0xba, 4 + k, RM_BOTH, 1, SP_NONE, "%s Ev,Ib/%u", bt_names[k], s);
            if (k)
                add(s, 1, 0xa3 + 8 * k, -1, RM_MEM, 0, SP_BT, "lock %s Mv,Gv/%u",
                    bt_names[k], s)->prefix = 0xf0;
        }
        add(s, 1, 0xbc, -1, RM_BOTH, 0, SP_NONE, "bsf Gv,Ev/%u", s);
        add(s, 1, 0xbd, -1, RM_BOTH, 0, SP_NONE, "bsr Gv,Ev/%u", s);
        add(s, 1, 0xbc, -1, RM_BOTH, 0, SP_NONE, "tzcnt Gv,Ev/%u", s)->prefix = 0xf3;
        add(s, 1, 0xbd, -1, RM_BOTH, 0, SP_NONE, "lzcnt Gv,Ev/%u", s)->prefix = 0xf3;
        add(s, 1, 0xb8, -1, RM_BOTH, 0, SP_NONE, "popcnt Gv,Ev/%u", s)->prefix = 0xf3;
        add(s, 1, 0xc8, -2, 0, 0, SP_NONE, "bswap r/%u", s)->opreg = 1;
    }
}

static void family_move(void)
{
    for (unsigned i = 0; i < 4; i++) {
        unsigned s = all_sizes[i], w = s > 1;

        add(s, 0, 0x88 + w, -1, RM_BOTH, 0, SP_NONE, "mov Ev,Gv/%u", s);
        add(s, 0, 0x8a + w, -1, RM_BOTH, 0, SP_NONE, "mov Gv,Ev/%u", s);
        add(s, 0, 0xc6 + w, 0, RM_BOTH, iz(s), SP_NONE, "mov Ev,Iz/%u", s);
        add(s, 0, s == 1 ? 0xb0 : 0xb8, -2, 0, s, SP_NONE, "mov r,Iv/%u", s)->opreg = 1;
        add(s, 0, 0xa0 + w, -2, 0, 8, SP_MOFFS, "mov rAX,moffs/%u", s)->addr32_ok = 1;
        add(s, 0, 0xa2 + w, -2, 0, 8, SP_MOFFS, "mov moffs,rAX/%u", s)->addr32_ok = 1;
        add(s, 0, 0x86 + w, -1, RM_BOTH, 0, SP_NONE, "xchg Ev,Gv/%u", s);
        if (s > 1) {
            add(s, 0, 0x90, -2, 0, 0, SP_NONE, "xchg rAX,r/%u", s)->opreg = 1;
            add(s, 0, 0x8d, -1, RM_MEM, 0, SP_NONE, "lea Gv,M/%u", s);
            add(s, 1, 0xb6, -1, RM_BOTH, 0, SP_NONE, "movzx Gv,Eb/%u", s)->byte_regs = 1;
            add(s, 1, 0xb7, -1, RM_BOTH, 0, SP_NONE, "movzx Gv,Ew/%u", s);
            add(s, 1, 0xbe, -1, RM_BOTH, 0, SP_NONE, "movsx Gv,Eb/%u", s)->byte_regs = 1;
            add(s, 1, 0xbf, -1, RM_BOTH, 0, SP_NONE, "movsx Gv,Ew/%u", s);
            add(s, 0, 0x63, -1, RM_BOTH, 0, SP_NONE, "movsxd Gv,Ed/%u", s);
            add(s, 2, 0xf0, -1, RM_MEM, 0, SP_NONE, "movbe Gv,Mv/%u", s);
            add(s, 2, 0xf1, -1, RM_MEM, 0, SP_NONE, "movbe Mv,Gv/%u", s);
            add(s, 0, 0x98, -2, 0, 0, SP_NONE, "cbw/cwde/cdqe/%u", s);
            add(s, 0, 0x99, -2, 0, 0, SP_NONE, "cwd/cdq/cqo/%u", s);
            add(s, 0, 0x8c, 3, RM_BOTH, 0, SP_NONE, "mov Ev,ds/%u", s);
            add(s, 0, 0x8c, 1, RM_BOTH, 0, SP_NONE, "mov Ev,cs/%u", s);
        }
    }
    add(1, 0, 0xd7, -2, 0, 0, SP_XLAT, "xlat")->addr32_ok = 1;
}

static void family_exchange(void)
{
    for (unsigned i = 0; i < 4; i++) {
        unsigned s = all_sizes[i], w = s > 1;

        add(s, 1, 0xc0 + w, -1, RM_BOTH, 0, SP_NONE, "xadd Ev,Gv/%u", s);
        add(s, 1, 0xc0 + w, -1, RM_MEM, 0, SP_NONE, "lock xadd Mv,Gv/%u", s)->prefix = 0xf0;
        add(s, 1, 0xb0 + w, -1, RM_BOTH, 0, SP_CMPXCHG, "cmpxchg Ev,Gv/%u", s);
        add(s, 1, 0xb0 + w, -1, RM_MEM, 0, SP_CMPXCHG, "lock cmpxchg Mv,Gv/%u",
            s)->prefix = 0xf0;
    }
    add(4, 1, 0xc7, 1, RM_MEM, 0, SP_CMPXCHG8B, "cmpxchg8b M")->cases = 24;
    add(8, 1, 0xc7, 1, RM_MEM, 0, SP_CMPXCHG8B, "cmpxchg16b M")->cases = 24;
    add(8, 1, 0xc7, 1, RM_MEM, 0, SP_CMPXCHG8B, "lock cmpxchg16b M")->prefix = 0xf0;
}

static void family_condition(void)
{
    for (unsigned cc = 0; cc < 16; cc++) {
        add(1, 1, 0x90 + cc, 0, RM_BOTH, 0, SP_NONE, "set%s Eb", cc_names[cc]);
        for (unsigned i = 0; i < 3; i++)
            add(word_sizes[i], 1, 0x40 + cc, -1, RM_BOTH, 0, SP_NONE, "cmov%s Gv,Ev/%u",
                cc_names[cc], word_sizes[i]);
        add(8, 0, 0x70 + cc, -2, 0, 1, SP_BRANCH, "j%s rel8", cc_names[cc]);
        add(8, 1, 0x80 + cc, -2, 0, 4, SP_BRANCH, "j%s rel32", cc_names[cc]);
    }
    add(8, 0, 0xe0, -2, 0, 1, SP_LOOP, "loopne")->addr32_ok = 1;
    add(8, 0, 0xe1, -2, 0, 1, SP_LOOP, "loope")->addr32_ok = 1;
    add(8, 0, 0xe2, -2, 0, 1, SP_LOOP, "loop")->addr32_ok = 1;
    add(8, 0, 0xe3, -2, 0, 1, SP_LOOP, "jrcxz")->addr32_ok = 1;
}

static void family_stack(void)
{
    static const unsigned stack_sizes[] = { 2, 8 };

    for (unsigned i = 0; i < 2; i++) {
        unsigned s = stack_sizes[i];

        add(s, 0, 0x50, -2, 0, 0, SP_STACK, "push r/%u", s)->opreg = 1;
        add(s, 0, 0x58, -2, 0, 0, SP_STACK, "pop r/%u", s)->opreg = 1;
        add(s, 0, 0x68, -2, 0, iz(s), SP_STACK, "push Iz/%u", s);
        add(s, 0, 0x6a, -2, 0, 1, SP_STACK, "push Ib/%u", s);
        add(s, 0, 0xff, 6, RM_BOTH, 0, SP_STACK, "push Ev/%u", s);
        add(s, 0, 0x8f, 0, RM_BOTH, 0, SP_STACK, "pop Ev/%u", s);
        add(s, 0, 0x9c, -2, 0, 0, SP_STACK, "pushf/%u", s);
        add(s, 0, 0x9d, -2, 0, 0, SP_POPF, "popf/%u", s);
        add(s, 0, 0xc8, -2, 0, 3, SP_ENTER, "enter/%u", s);
        add(s, 0, 0xc9, -2, 0, 0, SP_LEAVE, "leave/%u", s);
    }
    add(8, 0, 0xe8, -2, 0, 4, SP_BRANCH, "call rel32");
    add(8, 0, 0xff, 2, RM_BOTH, 0, SP_INDIRECT, "call Ev");
    add(8, 0, 0xc3, -2, 0, 0, SP_RET, "ret");
    add(8, 0, 0xc2, -2, 0, 2, SP_RET, "ret Iw");
    add(8, 0, 0xeb, -2, 0, 1, SP_BRANCH, "jmp rel8");
    add(8, 0, 0xe9, -2, 0, 4, SP_BRANCH, "jmp rel32");
    add(8, 0, 0xff, 4, RM_BOTH, 0, SP_INDIRECT, "jmp Ev");
}

static void family_string(void)
{
    static const struct { const char *name; unsigned opcode; bool compares; } ops[] = {
        { "movs", 0xa4, false }, { "cmps", 0xa6, true }, { "stos", 0xaa, false },
        { "lods", 0xac, false }, { "scas", 0xae, true },
    };
    static const unsigned reps[] = { 0, 0xf3, 0xf2 };
    static const char *const rep_names[] = { "", "rep ", "repne " };

    for (unsigned k = 0; k < G_N_ELEMENTS(ops); k++) {
        for (unsigned i = 0; i < 4; i++) {
            unsigned s = all_sizes[i];

            for (unsigned r = 0; r < 3; r++) {
                struct x86_form *f = add(s, 0, ops[k].opcode + (s > 1), -2, 0, 0, SP_STRING,
                                         "%s%s/%u", rep_names[r], ops[k].name, s);

                f->prefix = reps[r];
                f->addr32_ok = 1;
                f->byte_regs = 0;
            }
        }
    }
}

static void fixed(const char *name, unsigned n, ...)
{
    struct x86_form *f = add(4, 0, 0, -2, 0, 0, SP_FIXED, "%s", name);
    va_list ap;

    va_start(ap, n);
    for (unsigned i = 0; i < n; i++)
        f->bytes[i] = (uint8_t)va_arg(ap, int);
    va_end(ap);
    f->nbytes = n;
}

static void family_misc(void)
{
    fixed("clc", 1, 0xf8);
    fixed("stc", 1, 0xf9);
    fixed("cmc", 1, 0xf5);
    fixed("cld", 1, 0xfc);
    fixed("std", 1, 0xfd);
    fixed("lahf", 1, 0x9f);
    fixed("sahf", 1, 0x9e);
    fixed("nop", 1, 0x90);
    fixed("pause", 2, 0xf3, 0x90);
    fixed("xchg eax,eax (66 90)", 2, 0x66, 0x90);
    fixed("xchg r8d,eax", 2, 0x41, 0x90);
    fixed("nop Ev (0F 1F 44 00 00)", 5, 0x0f, 0x1f, 0x44, 0x00, 0x00);
    fixed("endbr64", 4, 0xf3, 0x0f, 0x1e, 0xfa);
    fixed("fwait", 1, 0x9b);
    fixed("int3", 1, 0xcc);
    fixed("ud2", 2, 0x0f, 0x0b);
    fixed("hlt (#GP at CPL 3)", 1, 0xf4);
    fixed("cli (#GP at IOPL 0)", 1, 0xfa);
    fixed("rdmsr (#GP at CPL 3)", 2, 0x0f, 0x32);
    fixed("mov cr0 (#GP at CPL 3)", 3, 0x0f, 0x20, 0xc0);
}

/* Decoder corner cases whose outcome (result or #UD/#GP) the host defines. */
static void family_decode(void)
{
    fixed("redundant prefixes (3e 2e 26 36 add)", 6, 0x3e, 0x2e, 0x26, 0x36, 0x01, 0xc8);
    fixed("rex then 66 (rex ignored)", 4, 0x48, 0x66, 0x01, 0xc8);
    fixed("66 then rex.w (rex.w wins)", 4, 0x66, 0x48, 0x01, 0xc8);
    fixed("two rex (last counts)", 4, 0x4c, 0x41, 0x01, 0xc8);
    fixed("14 prefixes + nop = 15 bytes", 15, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
          0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90);
    fixed("15 prefixes + nop = 16 bytes (#GP)", 16, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
          0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90);
    fixed("lock add reg,reg (#UD)", 3, 0xf0, 0x01, 0xc8);
    fixed("lock mov (#UD)", 4, 0xf0, 0x89, 0x45, 0x00);
    fixed("lock nop (#UD)", 2, 0xf0, 0x90);
    fixed("lea reg form (#UD)", 2, 0x8d, 0xc0);
    fixed("cmpxchg8b reg form (#UD)", 3, 0x0f, 0xc7, 0xc8);
    fixed("popcnt without f3 (#UD)", 3, 0x0f, 0xb8, 0xc0);
    fixed("push es in 64-bit (#UD)", 1, 0x06);
    fixed("daa in 64-bit (#UD)", 1, 0x27);
    fixed("pusha in 64-bit (#UD)", 1, 0x60);
    fixed("salc in 64-bit (#UD)", 1, 0xd6);
    fixed("82 in 64-bit (#UD)", 3, 0x82, 0xc0, 0x01);
    fixed("into in 64-bit (#UD)", 1, 0xce);
    fixed("mov es,ax? 8c /6 (#UD)", 2, 0x8c, 0xf0);
    fixed("bt group /0 (#UD)", 4, 0x0f, 0xba, 0xc0, 0x01);
    fixed("ff /7 (#UD)", 2, 0xff, 0xf8);
    fixed("c6 /1 (#UD)", 3, 0xc6, 0xc8, 0x01);
}

static const struct x86_test_family families[] = {
    { "alu", family_alu },
    { "unary", family_unary },
    { "multiply", family_multiply },
    { "divide", family_divide },
    { "shift-rotate", family_shift },
    { "double-shift", family_double_shift },
    { "bits", family_bits },
    { "move", family_move },
    { "exchange", family_exchange },
    { "condition-branch", family_condition },
    { "stack-call", family_stack },
    { "string", family_string },
    { "misc", family_misc },
    { "decode", family_decode },
};

static const char *signal_name(int signal)
{
    switch (signal) {
    case 0: return "none";
    case SIGTRAP: return "SIGTRAP";
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    default: return "?";
    }
}

static void report(const struct x86_form *f, const struct x86_test_case *c,
                   const struct x86_test_result *host, const struct x86_test_result *mimic)
{
    static const char *const names[16] = {
        "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    };
    GString *s = x86_test_report_begin(c, "%s", f->name);

    g_string_append_printf(s, "; in flags %#llx", (unsigned long long)c->rflags);
    for (unsigned i = 0; i < 16; i++)
        if (host->gpr[i] != mimic->gpr[i] || host->gpr[i] != c->gpr[i])
            g_string_append_printf(s, "\n  %-4s in %016llx host %016llx mimic %016llx",
                                   names[i], (unsigned long long)c->gpr[i],
                                   (unsigned long long)host->gpr[i],
                                   (unsigned long long)mimic->gpr[i]);
    g_string_append_printf(s, "\n  rip host %#llx mimic %#llx; flags host %#llx mimic %#llx;"
                           " signal host %s mimic %s",
                           (unsigned long long)host->rip, (unsigned long long)mimic->rip,
                           (unsigned long long)host->rflags, (unsigned long long)mimic->rflags,
                           signal_name(host->signal), signal_name(mimic->signal));
    x86_test_report_data(s, c, host, mimic, false, X86_TEST_PAGE);
    x86_test_report_end(s);
}

static void test_family(gconstpointer data)
{
    const struct x86_test_family *fam = data;
    struct x86_test_case *cases = g_new(struct x86_test_case, BATCH);
    struct x86_test_result *host = g_new(struct x86_test_result, BATCH);
    struct x86_test_result *mimic = g_new(struct x86_test_result, BATCH);
    unsigned ncases = 0, failures = 0, failed_forms = 0, faults = 0;
    char why[256];

    nforms = 0;
    fam->build();
    for (unsigned k = 0; k < nforms; k++) {
        const struct x86_form *f = &forms[k];
        unsigned n = x86_gen_cases(f, g_str_hash(f->name) ^ seed_salt, cases, BATCH), bad = 0;

        if (x86_test_run_native(cases, n, host, why, sizeof(why)) != 0)
            g_error("%s: %s", f->name, why);
        x86_test_run_mimic(cases, n, mimic);
        for (unsigned i = 0; i < n; i++) {
            faults += host[i].signal != SIGTRAP;
            if (x86_test_same(&host[i], &mimic[i]))
                continue;
            if (bad++ < 2 && failures < MAX_REPORTS)
                report(f, &cases[i], &host[i], &mimic[i]);
        }
        if (bad) {
            failed_forms++;
            failures += bad;
            g_test_message("form %s: %u of %u cases differ", f->name, bad, n);
        }
        ncases += n;
    }
    total_forms += nforms;
    total_cases += ncases;
    g_test_message("family %s: %u forms, %u cases (%u end in an exception), "
                   "%u forms differ (%u cases)",
                   fam->name, nforms, ncases, faults, failed_forms, failures);
    g_free(cases);
    g_free(host);
    g_free(mimic);
    if (failures)
        g_test_fail();
}

static void test_totals(void)
{
    g_test_message("x86 differential coverage: %u instruction forms, %u cases",
                   total_forms, total_cases);
}

int main(int argc, char **argv)
{
    seed_salt = x86_test_init(&argc, &argv);
    X86_TEST_ADD_FAMILIES("/x86/diff", families, test_family);
    g_test_add_func("/x86/diff/totals", test_totals);
    return g_test_run();
}
