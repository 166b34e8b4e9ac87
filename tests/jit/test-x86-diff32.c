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
#include <string.h>

#include "jit/x86/cpu.h"
#include "tests/jit/x86-legacy.h"

/* An address in the data page for an operand of @size bytes, mostly aligned. */
static uint32_t data_target(unsigned size)
{
    return X86_TEST_DATA_ADDR + data_offset(size);
}

static void patch(struct x86_test_case *c, uint32_t address, uint64_t value)
{
    patch_offset(c, address - X86_TEST_DATA_ADDR, value);
}

/* A stack pointer in the data page, dword aligned or not. */
static uint32_t stack_pointer(void)
{
    return X86_TEST_DATA_ADDR + 0x800 + 4 * below(64) - (below(8) ? 0 : 2);
}

/* DAA, DAS, AAA, AAS: all AL x AF x CF x eight AH values; AAM, AAD; SALC. */
static void family_bcd(void)
{
    legacy_bcd_forms(32, 512);
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
                             (size == 2 ? (rand64() & 0xffffffff00000000ull) : 0));
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
                                              (rand64() & ~0xffffull));
            }
        }
        for (unsigned op = 0; op < 2; op++) {
            begin_form("%s/%u", op ? "lds" : "les", size);
            for (unsigned k = 0; k < 128; k++) {
                struct enc e = { .n = 0 };
                unsigned reg = below(8);
                uint32_t target = data_target(2);
                uint16_t selector = selectors[below(G_N_ELEMENTS(selectors))];
                uint64_t gpr[8], offset = rand64() & (size == 2 ? 0xffff : 0xffffffff);
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
                patch(c, target, (rand64() & ~3ull) | ((k >> 2) & 3));
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

static const struct legacy_runner runner32 = {
    .what = "32-bit", .native = x86_test_run_native32, .mimic = x86_test_run_mimic32,
    .probe_eax = 0x20000, .cs = X86_TEST_USER32_CS,
};

/* The same opcodes in a 64-bit process: #UD on both sides. */
static void test_invalid64(void)
{
    struct x86_test_result *host = g_new(struct x86_test_result, LEGACY_BATCH);
    struct x86_test_result *mimic = g_new(struct x86_test_result, LEGACY_BATCH);
    unsigned failures = 0;
    char why[256];

    ncases = nforms = 0;
    for (unsigned i = 0; i < G_N_ELEMENTS(invalid64); i++) {
        begin_form("%s in 64-bit mode", invalid64[i].name);
        for (unsigned k = 0; k < 4; k++) {
            struct x86_test_case *c = add_case(invalid64[i].bytes, invalid64[i].n);

            for (unsigned r = 0; r < 16; r++)
                c->gpr[r] = rand64();
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

        if (!ok && failures++ < LEGACY_MAX_REPORTS)
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

int main(int argc, char **argv)
{
    return legacy_main(&argc, &argv, "/x86/diff32", families, G_N_ELEMENTS(families),
                       &runner32, "invalid-in-64-bit", test_invalid64);
}
