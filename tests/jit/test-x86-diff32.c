/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Differential test of the integer instructions that exist only outside
 * 64-bit mode (BCD adjusts, BOUND, SALC, PUSHA/POPA, PUSH/POP Sreg, LES/LDS,
 * INTO, ARPL, INC/DEC short forms, the 82 aliases, far direct branches).
 * Each case runs on the host in compatibility mode and on Mimic at CPL 3,
 * once in 32-bit protected mode and once in compatibility mode; EAX..EDI,
 * EIP, EFLAGS, ES/CS/SS/DS, the exception vector (and error code) and the
 * data page must agree. A last family checks that the same opcodes are #UD
 * in 64-bit mode.
 */
#include <glib.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jit/x86/cpu.h"
#include "tests/jit/x86-native.h"
#include "tests/jit/x86-report.h"

#define MAX_CASES 65536
#define MAX_FORMS 256
#define BATCH 2048
#define MAX_REPORTS 6

struct form {
    char name[64];
    unsigned first, count;
};

static struct x86_test_case *cases;
static unsigned ncases;
static struct form forms[MAX_FORMS];
static unsigned nforms;
static unsigned total_forms, total_cases;
/* MIMIC_X86_SEED=n explores other random cases than the fixed default set. */
static uint32_t seed_salt;
static uint64_t rng_state;

static uint64_t next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static unsigned below(unsigned n)
{
    return (unsigned)(next() % n);
}

/* A 32-bit operand: an edge value (maybe negated), a small one or random. */
static uint32_t value32(void)
{
    static const uint32_t edges[] = {
        0, 1, 2, 9, 0x0a, 0x0f, 0x10, 0x7f, 0x80, 0x99, 0x9a, 0xff, 0x100,
        0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
    };

    switch (below(4)) {
    case 0: return edges[below(G_N_ELEMENTS(edges))];
    case 1: return ~edges[below(G_N_ELEMENTS(edges))];
    case 2: return next() & 0xff;
    default: return (uint32_t)next();
    }
}

static struct form *begin_form(const char *format, ...) G_GNUC_PRINTF(1, 2);

static struct form *begin_form(const char *format, ...)
{
    struct form *f;
    va_list ap;

    g_assert_cmpuint(nforms, <, MAX_FORMS);
    f = &forms[nforms++];
    va_start(ap, format);
    vsnprintf(f->name, sizeof(f->name), format, ap);
    va_end(ap);
    f->first = ncases;
    f->count = 0;
    rng_state = 0x853c49e6748fea9bull ^ ((uint64_t)(g_str_hash(f->name) ^ seed_salt) << 17);
    return f;
}

/* A case of the current form: random registers, flags and data page. */
static struct x86_test_case *add_case(const uint8_t *code, unsigned length)
{
    struct x86_test_case *c;

    g_assert_cmpuint(ncases, <, MAX_CASES);
    c = &cases[ncases++];
    forms[nforms - 1].count++;
    memset(c, 0, sizeof(*c));
    memcpy(c->code, code, length);
    c->length = (uint8_t)length;
    for (unsigned i = 0; i < 8; i++)
        c->gpr[i] = value32();
    c->rflags = next() & (X86_ARITH_FLAGS | X86_DF);
    c->memory_seed = (uint32_t)next() & 0x7fffffff;
    return c;
}

static void set_flag(struct x86_test_case *c, uint64_t flag, bool on)
{
    c->rflags = (c->rflags & ~flag) | (on ? flag : 0);
}

static void patch(struct x86_test_case *c, uint32_t address, uint64_t value)
{
    g_assert_cmpuint(c->patches, <, X86_TEST_MAX_PATCHES);
    c->patch_offset[c->patches] = (uint16_t)(address - X86_TEST_DATA_ADDR);
    c->patch_value[c->patches++] = value;
}

/* An encoding in progress. */
struct enc {
    uint8_t b[16];
    unsigned n;
};

static void emit(struct enc *e, unsigned byte)
{
    e->b[e->n++] = (uint8_t)byte;
}

static void emit32(struct enc *e, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        emit(e, (v >> (8 * i)) & 0xff);
}

/*
 * ModRM (and SIB, displacement) for a 32-bit memory operand at @target with
 * register field @reg; base and index registers other than @reg get values
 * that make the address (SDM vol. 2, tables 2-2, 2-3). Returns the values
 * to store in gpr[] through @gpr.
 */
static void emit_mem(struct enc *e, unsigned reg, uint32_t target, uint64_t *gpr)
{
    unsigned base, index, scale;
    int32_t disp;

    switch (below(4)) {
    case 0:     /* [disp32] */
        emit(e, (reg & 7) << 3 | 5);
        emit32(e, target);
        break;
    case 1:     /* [base + disp8], base may be ESP (SIB) */
        do {
            base = below(8);
        } while (base == reg);
        disp = (int8_t)next();
        emit(e, 0x40 | (reg & 7) << 3 | (base == 4 ? 4 : base));
        if (base == 4)
            emit(e, 0x24);
        emit(e, (uint8_t)disp);
        gpr[base] = target - (uint32_t)disp;
        break;
    case 2:     /* [base + index * scale + disp32] */
        do {
            base = below(8);
            index = below(8);
        } while (base == reg || index == reg || index == 4 || index == base);
        scale = below(4);
        disp = (int32_t)below(4096) - 2048;
        gpr[index] = (uint32_t)((int32_t)below(33) - 16);
        emit(e, 0x84 | (reg & 7) << 3);
        emit(e, scale << 6 | index << 3 | base);
        emit32(e, (uint32_t)disp);
        gpr[base] = target - (uint32_t)disp - (uint32_t)(gpr[index] << scale);
        break;
    default:    /* [base], base not EBP */
        do {
            base = below(8);
        } while (base == reg || base == 5);
        emit(e, (reg & 7) << 3 | (base == 4 ? 4 : base));
        if (base == 4)
            emit(e, 0x24);
        gpr[base] = target;
        break;
    }
}

/* An address in the data page for an operand of @size bytes, mostly aligned. */
static uint32_t data_target(unsigned size)
{
    uint32_t t = X86_TEST_DATA_ADDR + 256 + below(X86_TEST_PAGE - 512);

    return below(8) ? t & ~(size - 1) : t;
}

/* A stack pointer in the data page, dword aligned or not. */
static uint32_t stack_pointer(void)
{
    return X86_TEST_DATA_ADDR + 0x800 + 4 * below(64) - (below(8) ? 0 : 2);
}

/*
 * Forms @name (one-byte @opcode) and "66 @name": @flag clear and set, in 64
 * and 16 cases.
 */
static void flag_forms(const char *name, uint8_t opcode, uint64_t flag)
{
    begin_form("%s", name);
    for (unsigned k = 0; k < 64; k++)
        set_flag(add_case((const uint8_t[]){ opcode }, 1), flag, k & 1);
    begin_form("66 %s", name);
    for (unsigned k = 0; k < 16; k++)
        set_flag(add_case((const uint8_t[]){ 0x66, opcode }, 2), flag, k & 1);
}

/* DAA, DAS, AAA, AAS: all AL x AF x CF x eight AH values; AAM, AAD; SALC. */
static void family_bcd(void)
{
    static const char *const names[4] = { "daa", "das", "aaa", "aas" };
    static const uint8_t bases[] = { 0x0a, 0x00, 0x01, 0x02, 0x07, 0x10, 0x80, 0xff };
    /* AH: carries and borrows of AAA/AAS into it, its sign; two random. */
    static const uint8_t ah_samples[] = { 0x00, 0xff, 0x09, 0x7f, 0x80, 0xfe, 0, 0 };

    for (unsigned op = 0; op < 4; op++) {
        uint8_t code[1] = { 0x27 + 8 * op };

        begin_form("%s", names[op]);
        for (unsigned al = 0; al < 256; al++) {
            for (unsigned k = 0; k < 4 * G_N_ELEMENTS(ah_samples); k++) {
                struct x86_test_case *c = add_case(code, 1);
                uint8_t ah = (k >> 2) < G_N_ELEMENTS(ah_samples) - 2 ? ah_samples[k >> 2]
                           : (uint8_t)next();

                c->gpr[X86_RAX] = (c->gpr[X86_RAX] & 0xffff0000u) | ah << 8 | al;
                set_flag(c, X86_AF, k & 1);
                set_flag(c, X86_CF, k & 2);
            }
        }
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(bases); i++) {
        uint8_t aam[2] = { 0xd4, bases[i] }, aad[2] = { 0xd5, bases[i] };

        begin_form("aam %#x", bases[i]);
        for (unsigned k = 0; k < 512; k++) {
            struct x86_test_case *c = add_case(aam, 2);

            c->gpr[X86_RAX] = (c->gpr[X86_RAX] & ~0xffull) | (k & 0xff);
        }
        begin_form("aad %#x", bases[i]);
        for (unsigned k = 0; k < 512; k++) {
            struct x86_test_case *c = add_case(aad, 2);

            c->gpr[X86_RAX] = (c->gpr[X86_RAX] & ~0xffull) | (k & 0xff);
            if (k < 256)
                c->gpr[X86_RAX] = (c->gpr[X86_RAX] & ~0xff00ull) | (next() & 0x0f00);
        }
    }
    flag_forms("salc", 0xd6, X86_CF);
}

/* BOUND r16/r32, m16&16/m32&32: signed bounds, the index on and around them. */
static void family_bound(void)
{
    for (unsigned size = 2; size <= 4; size += 2) {
        uint64_t mask = size == 2 ? 0xffff : 0xffffffff;

        begin_form("bound/%u", size);
        for (unsigned k = 0; k < 768; k++) {
            struct enc e = { .n = 0 };
            unsigned reg = below(8), pick = below(7);
            uint32_t target = data_target(size);
            uint64_t lower = value32() & mask, upper = value32() & mask, index;
            int64_t sl, su;
            struct x86_test_case *c;
            uint64_t gpr[8];

            /* Mostly an ordered pair, sometimes lower > upper. */
            sl = (int64_t)(lower << (64 - 8 * size)) >> (64 - 8 * size);
            su = (int64_t)(upper << (64 - 8 * size)) >> (64 - 8 * size);
            if (sl > su && below(4)) {
                uint64_t t = lower;

                lower = upper;
                upper = t;
            }
            index = pick == 0 ? lower : pick == 1 ? upper : pick == 2 ? lower - 1
                  : pick == 3 ? upper + 1 : pick == 4 ? (lower + upper) / 2 : value32();
            if (size == 2)
                emit(&e, 0x66);
            emit(&e, 0x62);
            for (unsigned i = 0; i < 8; i++)
                gpr[i] = value32();
            emit_mem(&e, reg, target, gpr);
            gpr[reg] = (gpr[reg] & ~mask) | (index & mask);
            c = add_case(e.b, e.n);
            memcpy(c->gpr, gpr, sizeof(gpr));
            patch(c, target, lower | upper << (8 * size) |
                             (size == 2 ? (next() & 0xffffffff00000000ull) : 0));
        }
    }
}

/* PUSHA/POPA, PUSH/POP ES CS SS DS, LES/LDS: stack in the data page. */
static void family_stack(void)
{
    static const uint16_t selectors[] = {
        X86_TEST_USER_DS, X86_TEST_USER_DS, X86_TEST_USER_DS, 0x0000, 0x0003,
        0x0028, 0x0029, X86_TEST_USER32_CS, X86_TEST_USER_CS, 0x0010, 0x0018,
        0x0040, 0x0084, 0x0080, 0x0100, 0xfff8,
    };
    static const struct { const char *name; uint8_t opcode; } sregs[] = {
        { "push es", 0x06 }, { "pop es", 0x07 }, { "push cs", 0x0e },
        { "push ss", 0x16 }, { "pop ss", 0x17 }, { "push ds", 0x1e }, { "pop ds", 0x1f },
    };

    for (unsigned size = 2; size <= 4; size += 2) {
        uint8_t prefix[1] = { 0x66 };
        unsigned p = size == 2;

        begin_form("pusha/%u", size);
        for (unsigned k = 0; k < 96; k++)
            add_case((const uint8_t[]){ 0x66, 0x60 } + !p, 1 + p)->gpr[X86_RSP] =
                stack_pointer();
        begin_form("popa/%u", size);
        for (unsigned k = 0; k < 96; k++)
            add_case((const uint8_t[]){ 0x66, 0x61 } + !p, 1 + p)->gpr[X86_RSP] =
                stack_pointer();
        for (unsigned i = 0; i < G_N_ELEMENTS(sregs); i++) {
            uint8_t code[2] = { prefix[0], sregs[i].opcode };

            begin_form("%s/%u", sregs[i].name, size);
            for (unsigned k = 0; k < 64; k++) {
                struct x86_test_case *c = add_case(code + !p, 1 + p);

                c->gpr[X86_RSP] = stack_pointer();
                if (sregs[i].opcode & 1)
                    patch(c, c->gpr[X86_RSP], selectors[below(G_N_ELEMENTS(selectors))] |
                                              (next() & ~0xffffull));
            }
        }
        for (unsigned op = 0; op < 2; op++) {
            begin_form("%s/%u", op ? "lds" : "les", size);
            for (unsigned k = 0; k < 128; k++) {
                struct enc e = { .n = 0 };
                unsigned reg = below(8);
                uint32_t target = data_target(2);
                uint16_t selector = selectors[below(G_N_ELEMENTS(selectors))];
                uint64_t gpr[8], offset = next() & (size == 2 ? 0xffff : 0xffffffff);
                struct x86_test_case *c;

                for (unsigned i = 0; i < 8; i++)
                    gpr[i] = value32();
                if (p)
                    emit(&e, 0x66);
                emit(&e, 0xc4 + op);
                emit_mem(&e, reg, target, gpr);
                c = add_case(e.b, e.n);
                memcpy(c->gpr, gpr, sizeof(gpr));
                patch(c, target, offset | (uint64_t)selector << (8 * size));
            }
        }
    }
}

/*
 * Far JMP/CALL ptr16:32 to the 32-bit user code segment (RPL 0 or 3) or to
 * selectors that fault; the target is an int3 in the code page.
 */
static void family_far(void)
{
    static const uint16_t selectors[] = {
        X86_TEST_USER32_CS, X86_TEST_USER32_CS, X86_TEST_USER32_CS, 0x0020,
        X86_TEST_USER_DS, 0x0010, 0x0008, 0x0000, 0x0040, 0x0104,
    };

    for (unsigned op = 0; op < 2; op++) {
        begin_form("%s far ptr16:32", op ? "call" : "jmp");
        for (unsigned k = 0; k < 96; k++) {
            uint16_t selector = selectors[below(G_N_ELEMENTS(selectors))];
            uint32_t target = X86_TEST_CODE_ADDR + (below(2) ? below(0x700)
                                                   : 0x900 + below(0x600));
            struct enc e = { .n = 0 };
            struct x86_test_case *c;

            emit(&e, op ? 0x9a : 0xea);
            emit32(&e, target);
            emit(&e, selector & 0xff);
            emit(&e, selector >> 8);
            c = add_case(e.b, e.n);
            c->gpr[X86_RSP] = stack_pointer();
        }
    }
}

/* INTO with OF clear and set (#OF is a trap: EIP after it), INT3. */
static void family_interrupt(void)
{
    flag_forms("into", 0xce, X86_OF);
    begin_form("int3");
    for (unsigned k = 0; k < 8; k++)
        add_case((const uint8_t[]){ 0xcc }, 1);
}

/* ARPL Ew, Gw (63 /r): RPLs in every order, register and memory forms. */
static void family_arpl(void)
{
    for (unsigned mem = 0; mem < 2; mem++) {
        begin_form("arpl %s,r16", mem ? "m16" : "r16");
        for (unsigned k = 0; k < 256; k++) {
            struct enc e = { .n = 0 };
            unsigned reg = below(8), rm = below(8);
            uint32_t target = data_target(2);
            uint64_t gpr[8];
            struct x86_test_case *c;

            for (unsigned i = 0; i < 8; i++)
                gpr[i] = value32();
            emit(&e, 0x63);
            if (mem)
                emit_mem(&e, reg, target, gpr);
            else
                emit(&e, 0xc0 | reg << 3 | rm);
            gpr[reg] = (gpr[reg] & ~3ull) | (k & 3);
            if (!mem && rm != reg)
                gpr[rm] = (gpr[rm] & ~3ull) | ((k >> 2) & 3);
            c = add_case(e.b, e.n);
            memcpy(c->gpr, gpr, sizeof(gpr));
            if (mem)
                patch(c, target, (next() & ~3ull) | ((k >> 2) & 3));
        }
    }
}

/* INC/DEC r16/r32 in their one-byte forms 40-4F. */
static void family_inc_dec(void)
{
    for (unsigned size = 2; size <= 4; size += 2) {
        for (unsigned op = 0; op < 2; op++) {
            begin_form("%s r/%u (4%c)", op ? "dec" : "inc", size, op ? '8' : '0');
            for (unsigned k = 0; k < 256; k++) {
                uint8_t code[2] = { 0x66, 0x40 + 8 * op + (k & 7) };
                struct x86_test_case *c = add_case(code + (size == 4), size == 2 ? 2 : 1);
                static const uint32_t edges[] = {
                    0x7fffffff, 0x80000000, 0xffffffff, 0, 0x7fff, 0x8000, 0xffff,
                    0x0f, 0x10, 0x1234ffff,
                };

                if (k & 8)
                    c->gpr[k & 7] = edges[below(G_N_ELEMENTS(edges))];
            }
        }
    }
}

/* 82 /0../7: the alias of 80 (Eb, Ib) outside 64-bit mode. */
static void family_group82(void)
{
    static const char *const names[8] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp" };

    for (unsigned op = 0; op < 8; op++) {
        begin_form("82 /%u %s Eb,Ib", op, names[op]);
        for (unsigned k = 0; k < 128; k++) {
            struct enc e = { .n = 0 };
            uint64_t gpr[8];
            struct x86_test_case *c;
            uint32_t target = data_target(1);

            for (unsigned i = 0; i < 8; i++)
                gpr[i] = value32();
            if (k < 16)
                emit(&e, 0xf0);     /* LOCK on the memory form */
            emit(&e, 0x82);
            if (k < 16 || (k & 1))
                emit_mem(&e, op, target, gpr);
            else
                emit(&e, 0xc0 | op << 3 | below(8));
            emit(&e, (uint8_t)value32());
            c = add_case(e.b, e.n);
            memcpy(c->gpr, gpr, sizeof(gpr));
        }
    }
}

/*
 * Register forms of BOUND, LES, LDS: #UD (on this host they are EVEX and VEX
 * prefixes, with map 0 or an opcode that has no VEX form: #UD too). LOCK.
 */
static void family_decode(void)
{
    static const struct { const char *name; uint8_t n, bytes[8]; } fixed[] = {
        { "bound reg form (62 c0)", 2, { 0x62, 0xc0 } },
        { "les reg form (c4 c0)", 2, { 0xc4, 0xc0 } },
        { "lds reg form (c5 c0 0b)", 3, { 0xc5, 0xc0, 0x0b } },
        { "aam 0 (#DE)", 2, { 0xd4, 0x00 } },
        { "lock daa (#UD)", 2, { 0xf0, 0x27 } },
        { "lock bound (#UD)", 7, { 0xf0, 0x62, 0x05, 0x00, 0x01, 0x00, 0x20 } },
        { "lock arpl (#UD)", 3, { 0xf0, 0x63, 0xc8 } },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(fixed); i++) {
        begin_form("%s", fixed[i].name);
        for (unsigned k = 0; k < 8; k++)
            add_case(fixed[i].bytes, fixed[i].n);
    }
}

/* The 64-bit family: these opcodes are #UD there (SDM vol. 2, table A-2 "i64"). */
static const struct { const char *name; uint8_t n, bytes[8]; } invalid64[] = {
    { "push es", 1, { 0x06 } }, { "pop es", 1, { 0x07 } }, { "push cs", 1, { 0x0e } },
    { "push ss", 1, { 0x16 } }, { "pop ss", 1, { 0x17 } }, { "push ds", 1, { 0x1e } },
    { "pop ds", 1, { 0x1f } }, { "daa", 1, { 0x27 } }, { "das", 1, { 0x2f } },
    { "aaa", 1, { 0x37 } }, { "aas", 1, { 0x3f } }, { "pusha", 1, { 0x60 } },
    { "popa", 1, { 0x61 } }, { "bound (evex map 0)", 6, { 0x62, 0x00, 0x00, 0x00, 0x00, 0x00 } },
    { "82 /0", 3, { 0x82, 0xc0, 0x01 } }, { "call far", 7, { 0x9a, 0, 0, 0, 0, 0x23, 0 } },
    { "into", 1, { 0xce } }, { "aam", 2, { 0xd4, 0x0a } }, { "aad", 2, { 0xd5, 0x0a } },
    { "salc", 1, { 0xd6 } }, { "jmp far", 7, { 0xea, 0, 0, 0, 0, 0x23, 0 } },
    { "les (vex map 0)", 3, { 0xc4, 0x00, 0x00 } },
};

static const char *signal_name(int signal)
{
    switch (signal) {
    case SIGTRAP: return "SIGTRAP";
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    default: return "none";
    }
}

static bool has_error_code(unsigned vector)
{
    return vector >= X86_EXC_TS && vector <= X86_EXC_GP;
}

/*
 * A null selector's RPL does not survive the host kernel's IRET back to
 * CPL 3, which nulls data segment registers whose descriptor the new CPL
 * may not use (SDM vol. 2, "IRET"): compare null selectors as 0.
 */
static uint16_t selector_seen(uint16_t selector)
{
    return (selector & 0xfffc) ? selector : 0;
}

static bool same(const struct x86_test_result *a, const struct x86_test_result *b)
{
    for (unsigned i = 0; i < 4; i++)
        if (selector_seen(a->sreg[i]) != selector_seen(b->sreg[i]))
            return false;
    return a->vector == b->vector && a->rip == b->rip &&
           (!has_error_code(a->vector) || a->error_code == b->error_code) &&
           ((a->rflags ^ b->rflags) & X86_TEST_FLAGS_COMPARED) == 0 &&
           memcmp(a->gpr, b->gpr, 8 * sizeof(a->gpr[0])) == 0 &&
           memcmp(a->data, b->data, sizeof(a->data)) == 0;
}

static void report(const char *name, const char *mode, const struct x86_test_case *c,
                   const struct x86_test_result *host, const struct x86_test_result *mimic)
{
    static const char *const names[8] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };
    static const char *const sregs[4] = { "es", "cs", "ss", "ds" };
    GString *s = x86_test_report_begin(c, "%s (%s)", name, mode);

    g_string_append_printf(s, "; in flags %#llx", (unsigned long long)c->rflags);
    for (unsigned i = 0; i < 8; i++)
        g_string_append_printf(s, "\n  %-3s in %08x host %08x mimic %08x%s", names[i],
                               (uint32_t)c->gpr[i], (uint32_t)host->gpr[i],
                               (uint32_t)mimic->gpr[i],
                               host->gpr[i] != mimic->gpr[i] ? "  <--" : "");
    for (unsigned i = 0; i < 4; i++)
        if (host->sreg[i] != mimic->sreg[i])
            g_string_append_printf(s, "\n  %s host %#x mimic %#x", sregs[i],
                                   host->sreg[i], mimic->sreg[i]);
    g_string_append_printf(s, "\n  eip host %#llx mimic %#llx; flags host %#llx mimic %#llx;"
                           " vector host %u (%s, error %#x) mimic %u (error %#x)",
                           (unsigned long long)host->rip, (unsigned long long)mimic->rip,
                           (unsigned long long)host->rflags, (unsigned long long)mimic->rflags,
                           host->vector, signal_name(host->signal), host->error_code,
                           mimic->vector, mimic->error_code);
    x86_test_report_data(s, c, host, mimic, false, X86_TEST_PAGE);
    x86_test_report_end(s);
}

static const struct x86_test_family families[] = {
    { "bcd", family_bcd },
    { "bound", family_bound },
    { "stack-segment", family_stack },
    { "far-branch", family_far },
    { "interrupt", family_interrupt },
    { "arpl", family_arpl },
    { "inc-dec", family_inc_dec },
    { "group-82", family_group82 },
    { "decode", family_decode },
};

/* Which form case @index belongs to. */
static const struct form *form_of(unsigned index)
{
    for (unsigned k = 0; k < nforms; k++)
        if (index >= forms[k].first && index < forms[k].first + forms[k].count)
            return &forms[k];
    g_assert_not_reached();
}

/*
 * Whether sigreturn really enters compatibility mode: INC EAX (40), which
 * 64-bit mode would take as a REX prefix. Kernels without IA-32 emulation
 * (ia32_emulation=0) refuse __USER32_CS.
 */
static bool host_runs_compat(void)
{
    static int known = -1;
    struct x86_test_case c = { .code = { 0x40 }, .length = 1, .gpr = { 0x41 } };
    struct x86_test_result *r;
    char why[256];

    if (known >= 0)
        return known;
    r = g_new0(struct x86_test_result, 1);
    known = x86_test_run_native32(&c, 1, r, why, sizeof(why)) == 0 &&
            r->vector == X86_EXC_BP && r->gpr[X86_RAX] == 0x42 &&
            r->sreg[1] == X86_TEST_USER32_CS;
    g_free(r);
    return known;
}

static void test_family(gconstpointer data)
{
    static const char *const mode_names[2] = { "protected mode", "compatibility mode" };
    const struct x86_test_family *fam = data;
    struct x86_test_result *host = g_new(struct x86_test_result, BATCH);
    struct x86_test_result *mimic = g_new(struct x86_test_result, BATCH);
    unsigned *bad = NULL, failures = 0, faults = 0, failed_forms = 0;
    char why[256];

    if (!host_runs_compat()) {
        g_test_skip("the host does not run 32-bit code in this process");
        g_free(host);
        g_free(mimic);
        return;
    }
    ncases = nforms = 0;
    fam->build();
    bad = g_new0(unsigned, nforms);
    for (unsigned first = 0; first < ncases; first += BATCH) {
        unsigned n = MIN(BATCH, ncases - first);

        if (x86_test_run_native32(cases + first, n, host, why, sizeof(why)) != 0)
            g_error("%s: %s", fam->name, why);
        for (unsigned i = 0; i < n; i++)
            faults += host[i].vector != X86_EXC_BP;
        for (unsigned mode = 0; mode < 2; mode++) {
            x86_test_run_mimic32(cases + first, n, mimic, mode == 1);
            for (unsigned i = 0; i < n; i++) {
                const struct form *f = form_of(first + i);

                if (same(&host[i], &mimic[i]))
                    continue;
                if (bad[f - forms]++ < 2 && failures < MAX_REPORTS)
                    report(f->name, mode_names[mode], &cases[first + i], &host[i], &mimic[i]);
                failures++;
            }
        }
    }
    for (unsigned k = 0; k < nforms; k++) {
        if (bad[k]) {
            failed_forms++;
            g_test_message("form %s: %u of %u cases differ (both modes counted)",
                           forms[k].name, bad[k], forms[k].count);
        }
    }
    total_forms += nforms;
    total_cases += ncases;
    g_test_message("family %s: %u forms, %u cases (%u end in an exception), "
                   "%u forms differ", fam->name, nforms, ncases, faults, failed_forms);
    g_free(bad);
    g_free(host);
    g_free(mimic);
    if (failures)
        g_test_fail();
}

/* The same opcodes in a 64-bit process: #UD on both sides. */
static void test_invalid64(void)
{
    struct x86_test_result *host = g_new(struct x86_test_result, BATCH);
    struct x86_test_result *mimic = g_new(struct x86_test_result, BATCH);
    unsigned failures = 0;
    char why[256];

    ncases = nforms = 0;
    for (unsigned i = 0; i < G_N_ELEMENTS(invalid64); i++) {
        begin_form("%s in 64-bit mode", invalid64[i].name);
        for (unsigned k = 0; k < 4; k++) {
            struct x86_test_case *c = add_case(invalid64[i].bytes, invalid64[i].n);

            for (unsigned r = 0; r < 16; r++)
                c->gpr[r] = next();
        }
    }
    if (x86_test_run_native(cases, ncases, host, why, sizeof(why)) != 0)
        g_error("64-bit: %s", why);
    x86_test_run_mimic(cases, ncases, mimic);
    for (unsigned i = 0; i < ncases; i++) {
        const struct form *f = form_of(i);
        bool ok = host[i].vector == X86_EXC_UD && mimic[i].vector == X86_EXC_UD &&
                  host[i].rip == mimic[i].rip &&
                  memcmp(host[i].gpr, mimic[i].gpr, sizeof(host[i].gpr)) == 0 &&
                  ((host[i].rflags ^ mimic[i].rflags) & X86_TEST_FLAGS_COMPARED) == 0;

        if (!ok && failures++ < MAX_REPORTS)
            g_test_message("MISMATCH %s: host vector %u rip %#llx, mimic vector %u rip %#llx",
                           f->name, host[i].vector, (unsigned long long)host[i].rip,
                           mimic[i].vector, (unsigned long long)mimic[i].rip);
    }
    total_forms += nforms;
    total_cases += ncases;
    g_test_message("64-bit #UD: %u forms, %u cases, %u differ", nforms, ncases, failures);
    g_free(host);
    g_free(mimic);
    if (failures)
        g_test_fail();
}

static void test_totals(void)
{
    g_test_message("x86 32-bit differential coverage: %u instruction forms, %u cases",
                   total_forms, total_cases);
}

int main(int argc, char **argv)
{
    int status;

    seed_salt = x86_test_init(&argc, &argv);
    cases = g_new(struct x86_test_case, MAX_CASES);
    X86_TEST_ADD_FAMILIES("/x86/diff32", families, test_family);
    g_test_add_func("/x86/diff32/invalid-in-64-bit", test_invalid64);
    g_test_add_func("/x86/diff32/totals", test_totals);
    status = g_test_run();
    g_free(cases);
    return status;
}
