/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Differential test of Mimic's x87, MMX, SSE-SSE4.2 instructions against the
 * host CPU: each case loads a whole FP state with FXRSTOR, runs one form,
 * and stores the state with FXSAVE, natively and on Mimic; registers,
 * flags, the exception and the data page (state image, memory operands)
 * must agree. Operands mix edge cases (zeros, denormals, infinities, quiet
 * and signalling NaNs, extremes, rounding boundaries) with random values.
 */
#include <glib.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine/memory.h"
#include "jit/x86/cpu.h"
#include "tests/jit/x86-native.h"
#include "tests/jit/x86-report.h"

#define MAX_FORMS 4096
#define IMAGE_SIZE 0x480
#define MEMORY 0x400            /* memory operands: data + 0x400 */
#define SAVED 0x200             /* FXSAVE after the instruction */

enum { KIND_X87, KIND_SSE };

struct fp_form {
    char name[48];
    uint8_t bytes[12];
    uint8_t length;
    uint8_t kind;
    uint8_t imm;                /* the last byte is an imm8 to vary */
    uint8_t environment;        /* stores an x87 environment at MEMORY */
};

static struct fp_form forms[MAX_FORMS];
static unsigned nforms;
static struct x86_test_totals totals;
static uint32_t seed_salt;

static struct fp_form *add(unsigned kind, const uint8_t *bytes, unsigned length,
                           const char *format, ...) G_GNUC_PRINTF(4, 5);

static struct fp_form *add(unsigned kind, const uint8_t *bytes, unsigned length,
                           const char *format, ...)
{
    struct fp_form *f;
    va_list ap;

    g_assert_cmpuint(nforms, <, MAX_FORMS);
    f = &forms[nforms++];
    memset(f, 0, sizeof(*f));
    va_start(ap, format);
    vsnprintf(f->name, sizeof(f->name), format, ap);
    va_end(ap);
    memcpy(f->bytes, bytes, length);
    f->length = length;
    f->kind = kind;
    return f;
}

/* Register forms that exist (SDM vol. 2, tables, without the
 * undocumented aliases). */
static bool x87_register_form(unsigned opcode, unsigned i)
{
    switch (opcode & 7) {
    case 1: return i <= 0x10 || i == 0x20 || i == 0x21 || i == 0x24 || i == 0x25 ||
                   (i >= 0x28 && i <= 0x2e) || i >= 0x30;
    case 2: return i < 0x20 || i == 0x29;
    case 3: return i < 0x25 || (i >= 0x28 && i < 0x38);
    case 4: return i < 0x10 || i >= 0x20;
    case 5: return i < 0x08 || (i >= 0x10 && i < 0x30);
    case 6: return i < 0x10 || i == 0x19 || i >= 0x20;
    case 7: return i < 0x08 || i == 0x20 || (i >= 0x28 && i < 0x38);
    default: return true;
    }
}

static void family_x87(void)
{
    static const bool mem_exists[8][8] = {
        { 1, 1, 1, 1, 1, 1, 1, 1 }, { 1, 0, 1, 1, 1, 1, 1, 1 },
        { 1, 1, 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 0, 1, 0, 1 },
        { 1, 1, 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1, 0, 1, 1 },
        { 1, 1, 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1, 1, 1, 1 },
    };

    for (unsigned op = 0xd8; op <= 0xdf; op++) {
        for (unsigned i = 0; i < 0x40; i++) {
            uint8_t b[2] = { (uint8_t)op, (uint8_t)(0xc0 | i) };

            if (x87_register_form(op, i))
                add(KIND_X87, b, 2, "%02x %02x", b[0], b[1]);
        }
        for (unsigned reg = 0; reg < 8; reg++) {
            uint8_t b[3] = { 0x66, (uint8_t)op, (uint8_t)(reg << 3 | 6) };
            bool env = (op == 0xd9 && reg == 6) || (op == 0xdd && reg == 6);
            bool env_load = (op == 0xd9 && reg == 4) || (op == 0xdd && reg == 4);

            if (!mem_exists[op & 7][reg])
                continue;
            add(KIND_X87, b + 1, 2, "%02x /%u [rsi]", op, reg)->environment = env;
            /* 16-bit environment formats */
            if (env || env_load)
                add(KIND_X87, b, 3, "66 %02x /%u [rsi]", op, reg)->environment = env;
        }
    }
    add(KIND_X87, (const uint8_t[]){ 0x9b }, 1, "fwait");
}

/* Encodings of the host in these rows that Mimic does not implement (AMD
 * SSE4a): skipped rather than expected to differ. */
static bool sse_skipped(unsigned op, unsigned p)
{
    switch (op) {
    case 0x2b: return p >= 2;
    case 0x78: case 0x79: return p == 1 || p == 3;
    default: return false;
    }
}

static bool sse_has_imm(unsigned op)
{
    return (op >= 0x70 && op <= 0x73) || op == 0xc2 || (op >= 0xc4 && op <= 0xc6);
}

static void family_sse(void)
{
    static const uint8_t prefixes[4] = { 0, 0x66, 0xf3, 0xf2 };
    static const char *const prefix_names[4] = { "", "66 ", "f3 ", "f2 " };

    for (unsigned op = 0x10; op <= 0xfe; op++) {
        if ((op > 0x17 && op < 0x28) || (op > 0x2f && op < 0x50) ||
            (op > 0x7f && op < 0xc2) || (op > 0xc6 && op < 0xd0))
            continue;
        for (unsigned p = 0; p < 4; p++) {
            /* modrm: register xmm1/mm1 with xmm2/mm2/rdx; memory [rsi];
             * groups 12-14 take the digit. REX variants reach r9/r10. */
            static const uint8_t modrms[2] = { 0xca, 0x0e };
            static const uint8_t rexes[3] = { 0, 0x45, 0x48 };

            if (sse_skipped(op, p))
                continue;
            for (unsigned r = 0; r < 3; r++) {
                for (unsigned m = 0; m < 2; m++) {
                    unsigned digits = (op >= 0x71 && op <= 0x73) ? 8 : 1;

                    if (r > 0 && (m == 1 || p == 0) && rexes[r] == 0x45)
                        continue;
                    for (unsigned d = 0; d < digits; d++) {
                        uint8_t b[8];
                        unsigned n = 0;
                        struct fp_form *f;

                        if (digits > 1 && m == 1)
                            continue;
                        if (prefixes[p])
                            b[n++] = prefixes[p];
                        if (rexes[r])
                            b[n++] = rexes[r];
                        b[n++] = 0x0f;
                        b[n++] = (uint8_t)op;
                        b[n++] = digits > 1 ? (uint8_t)(0xc2 | d << 3) : modrms[m];
                        if (sse_has_imm(op))
                            b[n++] = 0;
                        f = add(KIND_SSE, b, n, "%s%s0f %02x%s%s%s", prefix_names[p],
                                rexes[r] == 0x45 ? "rex.rb " : rexes[r] ? "rex.w " : "",
                                op, digits > 1 ? " /" : "", digits > 1 ? (char[]){ (char)('0' + d), 0 } : "",
                                m ? " mem" : "");
                        f->imm = sse_has_imm(op);
                    }
                }
            }
        }
    }
    /* Group 15: FXSAVE/FXRSTOR are the harness; LDMXCSR, STMXCSR here. */
    add(KIND_SSE, (const uint8_t[]){ 0x0f, 0xae, 0x16 }, 3, "ldmxcsr [rsi]");
    add(KIND_SSE, (const uint8_t[]){ 0x0f, 0xae, 0x1e }, 3, "stmxcsr [rsi]");
}

/*
 * SSSE3 and SSE4.1/4.2 (SDM vol. 2, tables ): every opcode of 0F 38
 * 00-41 (holes must #UD alike) and the 0F 3A forms, each with no prefix,
 * 66, F3 and F2, register (also xmm9/xmm10 or r9/r10 via REX) and memory
 * operands, REX.W where it selects 64-bit operands; CRC32 and MOVBE.
 */
static void add_three_byte(unsigned map, unsigned op, bool rexw)
{
    static const uint8_t prefixes[4] = { 0, 0x66, 0xf3, 0xf2 };
    static const char *const prefix_names[4] = { "", "66 ", "f3 ", "f2 " };
    static const uint8_t modrms[3] = { 0xca, 0x0e, 0xc1 };
    static const uint8_t rexes[3] = { 0, 0x45, 0x48 };

    for (unsigned p = 0; p < 4; p++) {
        for (unsigned r = 0; r < (rexw ? 3u : 2u); r++) {
            for (unsigned m = 0; m < 3; m++) {
                uint8_t b[10];
                unsigned n = 0;
                struct fp_form *f;

                if (r == 1 && m == 1)
                    continue;
                if (prefixes[p])
                    b[n++] = prefixes[p];
                if (rexes[r])
                    b[n++] = rexes[r];
                b[n++] = 0x0f;
                b[n++] = (uint8_t)map;
                b[n++] = (uint8_t)op;
                b[n++] = modrms[m];
                if (map == 0x3a)
                    b[n++] = 0;
                f = add(KIND_SSE, b, n, "%s%s0f %02x %02x %s", prefix_names[p],
                        rexes[r] == 0x45 ? "rex.rb " : rexes[r] ? "rex.w " : "",
                        map, op, m == 1 ? "mem" : m ? "r0" : "reg");
                f->imm = map == 0x3a;
            }
        }
    }
}

static void family_sse4(void)
{
    static const uint8_t ops_3a[] = {
        0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x14, 0x15, 0x16, 0x17,
        0x20, 0x21, 0x22, 0x40, 0x41, 0x42, 0x60, 0x61, 0x62, 0x63,
    };

    for (unsigned op = 0x00; op <= 0x41; op++)
        add_three_byte(0x38, op, false);
    for (unsigned i = 0; i < G_N_ELEMENTS(ops_3a); i++) {
        unsigned op = ops_3a[i];

        add_three_byte(0x3a, op, op == 0x14 || op == 0x16 || op == 0x17 || op == 0x20 ||
                                 op == 0x22 || op >= 0x60);
    }
    /* CRC32 (F2, with 66 and REX.W; CC reaches AH) and MOVBE. */
    for (unsigned op = 0xf0; op <= 0xf1; op++) {
        static const uint8_t modrms[3] = { 0xca, 0x0e, 0xcc };

        for (unsigned v = 0; v < 4; v++) {
            for (unsigned m = 0; m < 3; m++) {
                static const uint8_t pre[4][2] = { { 0xf2, 0 }, { 0x66, 0xf2 },
                                                   { 0xf2, 0x48 }, { 0xf2, 0x45 } };
                uint8_t b[8];
                unsigned n = 0;

                b[n++] = pre[v][0];
                if (pre[v][1])
                    b[n++] = pre[v][1];
                b[n++] = 0x0f;
                b[n++] = 0x38;
                b[n++] = (uint8_t)op;
                b[n++] = modrms[m];
                add(KIND_SSE, b, n, "crc32 %02x %02x%s%s", pre[v][0], pre[v][1],
                    op == 0xf0 ? " r/m8" : "", m == 1 ? " mem" : " reg");
            }
        }
        add(KIND_SSE, (const uint8_t[]){ 0x0f, 0x38, (uint8_t)op, 0x0e }, 4,
            "movbe %02x", op);
        add(KIND_SSE, (const uint8_t[]){ 0x66, 0x0f, 0x38, (uint8_t)op, 0x0e }, 5,
            "66 movbe %02x", op);
        add(KIND_SSE, (const uint8_t[]){ 0x0f, 0x38, (uint8_t)op, 0xca }, 4,
            "movbe %02x reg (#UD)", op);
    }
}

/* ---- operand values ----------------------------------------------------- */

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static const uint32_t float_edges[] = {
    0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f7fffff, 0xff7fffff,
    0x00800000, 0x00000001, 0x807fffff, 0x7f800000, 0xff800000, 0x7fc00000,
    0xffc00000, 0x7fa00000, 0xff800001, 0x4f000000, 0xcf000000, 0x3f000000,
    0x3fc00000, 0x4b000000, 0x4effffff, 0x5f000000, 0x40490fdb, 0x34000000,
};
static const uint64_t double_edges[] = {
    0, 0x8000000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
    0x7fefffffffffffffull, 0x0010000000000000ull, 0x0000000000000001ull,
    0x800fffffffffffffull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
    0x7ff8000000000000ull, 0xfff8000000000000ull, 0x7ff4000000000000ull,
    0x41e0000000000000ull, 0xc1e0000000000000ull, 0x43e0000000000000ull,
    0x3fe0000000000000ull, 0x3ff8000000000000ull, 0x400921fb54442d18ull,
    0x41dfffffffc00000ull, 0x3ca0000000000000ull, 0x47efffffe0000000ull,
};
/* 80-bit: mantissa, sign|exponent. */
static const struct { uint64_t m; uint16_t e; } ext_edges[] = {
    { 0, 0 }, { 0, 0x8000 }, { 1ull << 63, 0x3fff }, { 1ull << 63, 0xbfff },
    { 0xc90fdaa22168c235ull, 0x4000 }, { ~0ull, 0x7ffe }, { 1ull << 63, 0x0001 },
    { 1, 0 }, { 1ull << 63, 0 }, { 1ull << 63, 0x7fff }, { 1ull << 63, 0xffff },
    { 3ull << 62, 0x7fff }, { 3ull << 62, 0xffff }, { (1ull << 63) | 1, 0x7fff },
    { 0x4000000000000000ull, 0x3fff }, { 1ull << 63, 0x403e }, { 1ull << 63, 0xc03e },
    { 0xfffffffffffffffeull, 0x403d }, { 1ull << 63, 0x3ffe }, { 0xc000000000000000ull, 0x4000 },
    { 0xb17217f7d1cf79acull, 0x3ffe }, { 0x8000000000000400ull, 0x3fff },
    { 0x8000000000000001ull, 0x3fff }, { 0xfffffffffffff800ull, 0x3ffe },
};

/* Exponents where results overflow or underflow the 80-bit, double and
 * single formats (precision control, FST m32/m64), and FSCALE counts. */
static const uint16_t extreme_exponents[] = {
    0x7ffe, 0x7ffd, 0x7fe0, 0x0001, 0x0002, 0x0020, 0x43fe, 0x43ff, 0x3c01, 0x3c00,
    0x3bcd, 0x407e, 0x407f, 0x3f81, 0x3f80, 0x3f6a, 0x400c, 0x400d, 0x3ffe, 0x3fff,
};

/* An 80-bit value; @extreme: three in four near the range limits. */
static void put_ext(uint8_t *p, uint64_t *s, bool extreme)
{
    uint64_t m;
    uint16_t e;

    if (extreme && rng(s) % 4) {
        unsigned k = rng(s) % G_N_ELEMENTS(extreme_exponents);

        m = rng(s) % 3 == 0 ? ~0ull << (rng(s) % 64) : rng(s) | 1ull << 63;
        int x = extreme_exponents[k] + (int)(rng(s) % 5) - 2;

        x = x < 1 ? 1 : x > 0x7ffe ? 0x7ffe : x;
        e = (uint16_t)(x | (rng(s) & 0x8000));
        memcpy(p, &m, 8);
        memcpy(p + 8, &e, 2);
        return;
    }
    switch (rng(s) % 4) {
    case 0:
    case 1: {
        unsigned k = rng(s) % G_N_ELEMENTS(ext_edges);

        m = ext_edges[k].m;
        e = ext_edges[k].e;
        break;
    }
    case 2:                     /* integers, halves: FRNDINT, FIST */
        m = (rng(s) % 100000) << 40 | 1ull << 63;
        e = (uint16_t)(0x3fff + rng(s) % 20) | (rng(s) & 0x8000);
        break;
    default:
        m = rng(s) | 1ull << 63;
        e = (uint16_t)((0x3fff - 80 + rng(s) % 160) | (rng(s) & 0x8000));
        break;
    }
    memcpy(p, &m, 8);
    memcpy(p + 8, &e, 2);
}

/* @size bytes of mixed float, double, integer and random values. */
static void fill_values(uint8_t *p, unsigned size, uint64_t *s)
{
    for (unsigned i = 0; i < size; i += 8) {
        uint64_t v;

        switch (rng(s) % 5) {
        case 0: {
            uint32_t lo = float_edges[rng(s) % G_N_ELEMENTS(float_edges)];
            uint32_t hi = float_edges[rng(s) % G_N_ELEMENTS(float_edges)];

            v = lo | (uint64_t)hi << 32;
            break;
        }
        case 1:
            v = double_edges[rng(s) % G_N_ELEMENTS(double_edges)];
            break;
        case 2:                 /* small integers and saturation edges */
            v = (rng(s) % 3 == 0) ? 0x7fff80017f80ff01ull : rng(s) % 70000;
            if (rng(s) & 1)
                v = -v;
            break;
        case 3: {               /* nearby floats: rounding boundaries */
            uint32_t f = 0x3f800000 + (uint32_t)(rng(s) % 0x800000);

            v = f | (uint64_t)(f ^ 0x80000000u) << 32;
            break;
        }
        default:
            v = rng(s);
            break;
        }
        memcpy(p + i, &v, size - i < 8 ? size - i : 8);
    }
}

/* Singles and doubles that overflow or underflow in arithmetic or when
 * rounded to a narrower precision, for the unmasked cases. */
static void fill_extremes(uint8_t *p, unsigned size, uint64_t *s)
{
    for (unsigned i = 0; i + 8 <= size; i += 8) {
        uint64_t v;

        if (rng(s) % 2) {
            uint32_t lo = (uint32_t)(rng(s) % 3 == 0 ? 0x7f000000 + rng(s) % 0x800000
                                                      : rng(s) % 0x1000000) |
                          (uint32_t)(rng(s) & 0x80000000u);

            v = lo | (uint64_t)lo << 32;
        } else {
            v = rng(s) & 0x801fffffffffffffull;
            if (rng(s) % 2)
                v |= 0x7fc0000000000000ull;
        }
        memcpy(p + i, &v, 8);
    }
}

struct family {
    const char *name;
    void (*build)(void);
    unsigned cases_per_form;
    bool unmasked;              /* x87 exception masks cleared */
};

/* The family under test, and what its cases left (x86_test_forms callbacks). */
struct run {
    const struct family *fam;
    unsigned errors, rebiased;
};

static const char *form_name(unsigned form)
{
    return forms[form].name;
}

/*
 * One case. @unmasked: FCW with the exception masks cleared one at a time
 * or all together (by @index), operands near the range limits, so that the
 * unmasked responses of SDM vol. 1, 4.9.2 and 8.5 (rebiased overflow and
 * underflow results, suppressed stores, stack kept) are compared.
 */
static void make_case(unsigned form, unsigned index, uint64_t *s,
                      struct x86_test_case *c, uint8_t *image, void *opaque)
{
    const struct run *run = opaque;
    const struct fp_form *f = &forms[form];
    const bool unmasked = run->fam->unmasked;
    static const uint16_t fcws[] = {
        0x037f, 0x037f, 0x037f, 0x027f, 0x007f, 0x077f, 0x0b7f, 0x0f7f, 0x037e,
        0x037b, 0x035f, 0x0378,
    };
    static const uint32_t mxcsrs[] = {
        0x1f80, 0x1f80, 0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x9f80, 0x1fc0, 0x1f00,
        0x1d80, 0x0f80, 0x1f81,
    };
    uint16_t fcw = fcws[rng(s) % G_N_ELEMENTS(fcws)];
    uint16_t fsw = (uint16_t)((rng(s) & 7) << 11);
    uint32_t mxcsr = mxcsrs[rng(s) % G_N_ELEMENTS(mxcsrs)];
    unsigned n = 0;

    memset(c, 0, sizeof(*c));
    memset(image, 0, IMAGE_SIZE);
    fill_values(image + MEMORY, IMAGE_SIZE - MEMORY, s);
    if (unmasked) {
        static const uint16_t cleared[] = { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x3f, 0x18 };

        fcw = (uint16_t)((fcw & 0x0f00) | (0x7f & ~cleared[index % G_N_ELEMENTS(cleared)]));
        if (rng(s) % 4)
            fill_extremes(image + MEMORY, 16, s);
    }
    if (rng(s) % 4 == 0)                /* in 10-byte reach: an m80 */
        put_ext(image + MEMORY, s, unmasked);
    if (rng(s) % 8 == 0)
        fsw |= 0x20;                    /* PE already set */
    memcpy(image + 0, &fcw, 2);
    memcpy(image + 2, &fsw, 2);
    image[4] = (rng(s) % 3 == 0) ? (uint8_t)rng(s) : 0xff;
    memcpy(image + 24, &mxcsr, 4);
    for (unsigned i = 0; i < 8; i++)
        put_ext(image + 32 + 16 * i, s, unmasked);
    fill_values(image + 160, 256, s);

    c->code[n++] = 0x0f;                /* fxrstor [rbx] */
    c->code[n++] = 0xae;
    c->code[n++] = 0x0b;
    memcpy(c->code + n, f->bytes, f->length);
    if (f->imm)
        c->code[n + f->length - 1] = (uint8_t)(f->bytes[f->length - 2] == 0xc2 &&
                                               f->bytes[f->length - 3] == 0x0f
                                               ? rng(s) % 10 : rng(s));
    n += f->length;
    c->code[n++] = 0x0f;                /* fxsave [rbp] */
    c->code[n++] = 0xae;
    c->code[n++] = 0x45;
    c->code[n++] = 0x00;
    c->length = (uint8_t)n;
    for (unsigned i = 0; i < 16; i++)
        c->gpr[i] = rng(s);
    c->gpr[X86_RDX] = (index & 1) ? (uint64_t)(int64_t)(int32_t)rng(s) % 100000 : rng(s);
    if (index & 2) {                    /* PCMPESTR* lengths, both signs */
        c->gpr[X86_RAX] = (uint64_t)((int64_t)(rng(s) % 41) - 20);
        c->gpr[X86_RDX] = (uint64_t)((int64_t)(rng(s) % 41) - 20);
    }
    c->gpr[X86_RBX] = X86_TEST_DATA_ADDR;
    c->gpr[X86_RBP] = X86_TEST_DATA_ADDR + SAVED;
    c->gpr[X86_RSI] = X86_TEST_DATA_ADDR + MEMORY;
    c->gpr[X86_RDI] = X86_TEST_DATA_ADDR + 0x600;
    c->rflags = rng(s) & (X86_ARITH_FLAGS);
    c->memory_seed = (uint32_t)rng(s);
    c->image = image;
    c->image_size = IMAGE_SIZE;
}

/* Fields that hold host addresses or model constants, not results. */
static void mask_result(const struct fp_form *f, struct x86_test_result *r)
{
    memset(r->data + SAVED + 6, 0, 18);         /* FOP, FIP, FCS, FDP, FDS */
    memset(r->data + SAVED + 28, 0, 4);         /* MXCSR_MASK */
    if (f->environment)
        memset(r->data + MEMORY + 12, 0, 16);   /* FIP, FCS/FOP, FDP, FDS */
    if (f->environment && f->bytes[0] == 0x66)
        memset(r->data + MEMORY + 6, 0, 8);
}

/* Both results; counts the x87 errors left pending. */
static void mask_results(unsigned form, struct x86_test_result *host,
                         struct x86_test_result *mimic, void *opaque)
{
    struct run *run = opaque;

    mask_result(&forms[form], host);
    mask_result(&forms[form], mimic);
    /* FSW.ES after the instruction; with OE or UE unmasked and set */
    if (host->signal == SIGTRAP && (host->data[SAVED + 2] & 0x80)) {
        run->errors++;
        run->rebiased += (host->data[SAVED + 2] & ~host->data[SAVED] & 0x18) != 0;
    }
}

static void report(unsigned form, const struct x86_test_case *c,
                   const struct x86_test_result *host, const struct x86_test_result *mimic)
{
    const struct fp_form *f = &forms[form];
    GString *s = x86_test_report_begin(c, "%s", f->name);

    g_string_append_printf(s, "\n  signal host %d mimic %d; rip host %#llx mimic %#llx;"
                           " flags host %#llx mimic %#llx", host->signal, mimic->signal,
                           (unsigned long long)host->rip, (unsigned long long)mimic->rip,
                           (unsigned long long)host->rflags, (unsigned long long)mimic->rflags);
    g_string_append_printf(s, "\n  in: fcw %02x%02x fsw %02x%02x ftw %02x; memory",
                           c->image[1], c->image[0], c->image[3], c->image[2], c->image[4]);
    for (unsigned i = 0; i < 10; i++)
        g_string_append_printf(s, " %02x", c->image[MEMORY + i]);
    for (unsigned i = 0; i < 8; i++) {
        g_string_append_printf(s, "\n  in: r%u ", i);
        for (unsigned j = 10; j-- > 0;)
            g_string_append_printf(s, "%02x", c->image[32 + 16 * i + j]);
        g_string_append_printf(s, " host ");
        for (unsigned j = 10; j-- > 0;)
            g_string_append_printf(s, "%02x", host->data[SAVED + 32 + 16 * i + j]);
        g_string_append_printf(s, " mimic ");
        for (unsigned j = 10; j-- > 0;)
            g_string_append_printf(s, "%02x", mimic->data[SAVED + 32 + 16 * i + j]);
    }
    x86_test_report_gprs(s, host, mimic);
    x86_test_report_data(s, c, host, mimic, true, 24);
    x86_test_report_end(s);
}

static const struct family families[] = {
    { "x87", family_x87, 32, false },
    { "x87-unmasked", family_x87, 64, true },
    { "sse-mmx", family_sse, 32, false },
    { "ssse3-sse4", family_sse4, 64, false },
};

static void test_family(gconstpointer data)
{
    const struct family *fam = data;
    struct run run = { .fam = fam };
    struct x86_test_forms f = {
        .family = fam->name,
        .build = fam->build,
        .nforms = &nforms,
        .cases_per_form = fam->cases_per_form,
        .image_size = IMAGE_SIZE,
        .seed = (uint64_t)seed_salt + 1 + fam->unmasked,
        .name = form_name,
        .make_case = make_case,
        .mask = mask_results,
        .report = report,
        .opaque = &run,
    };

    x86_test_run_forms(&f, &totals);
    if (fam->build == family_x87)
        g_test_message("family %s: %u cases leave an x87 error pending, %u of them "
                       "overflow or underflow unmasked", fam->name, run.errors, run.rebiased);
}

static void test_totals(void)
{
    g_test_message("x87/SSE differential coverage: %u instruction forms, %u cases",
                   totals.forms, totals.cases);
}

/* ---- CR0.NE = 0: FERR# and IGNNE# instead of #MF ------------------------ */

static bool ferr_line, ignne_line;
static unsigned ferr_changes;

static void test_set_ferr(void *opaque, bool asserted)
{
    ferr_changes += ferr_line != asserted;
    ferr_line = asserted;
}

static bool test_ignne(void *opaque)
{
    return ignne_line;
}

static const struct x86_platform_ops ferr_platform = {
    .set_ferr = test_set_ferr,
    .ignne = test_ignne,
};

/*
 * @program with a divide-by-zero pending: #MF at its first instruction with
 * CR0.NE set; with it clear, FERR# and a freeze before that instruction
 * until IGNNE# lets it go, then its second instruction clears ES and takes
 * FERR# back, and an INT3 ends it (SDM vol. 1, 8.7.2, D.2.1). RSI points
 * at a clean FXSAVE image on the page.
 */
static void check_ferr(const uint8_t *program, size_t size)
{
    static uint8_t code[X86_TEST_PAGE] __attribute__((aligned(4096)));
    const uint64_t start = X86_TEST_CODE_ADDR + X86_TEST_CODE_OFFSET;
    const unsigned image = 0x100;                      /* below the program */
    struct memory_map *map = memory_map_new("x86-ferr", 1ull << 40, NULL);
    struct x86_cpu *cpu = g_new0(struct x86_cpu, 1);

    memset(code, 0xcc, sizeof(code));
    memcpy(code + X86_TEST_CODE_OFFSET, program, size);
    memset(code + image, 0, 512);
    code[image] = 0x7f;                                 /* FCW 037F, FSW 0 */
    code[image + 1] = 0x03;
    code[image + 24] = 0x80;                            /* MXCSR 1F80 */
    code[image + 25] = 0x1f;
    memory_map_add_ram(map, "code", X86_TEST_CODE_ADDR, X86_TEST_PAGE, code, NULL);
    x86_cpu_init(cpu, map);
    for (unsigned ne = 0; ne < 2; ne++) {
        x86_cpu_set_flat64(cpu);
        if (!ne)
            cpu->cr0 &= ~X86_CR0_NE;
        cpu->platform = &ferr_platform;
        cpu->fpu.fcw = 0x037b;
        cpu->fpu.fsw = 0x0004 | 0x0080 | 0x8000;        /* ZE, ES, B */
        cpu->gpr[X86_RSI] = X86_TEST_CODE_ADDR + image;
        cpu->rip = start;
        ferr_line = ignne_line = false;
        ferr_changes = 0;
        if (ne) {
            g_assert_cmpint(x86_cpu_run(cpu, 8), ==, X86_EXIT_EXCEPTION);
            g_assert_cmpuint(cpu->exception_vector, ==, X86_EXC_MF);
            g_assert_cmphex(cpu->rip, ==, start);
            g_assert_cmpuint(ferr_changes, ==, 0);
            continue;
        }
        g_assert_cmpint(x86_cpu_run(cpu, 8), ==, X86_EXIT_HLT);
        g_assert_cmphex(cpu->rip, ==, start);
        g_assert_true(ferr_line);
        /* An interrupt wakes it; the handler wrote port F0h: IGNNE#. */
        cpu->halted = false;
        ignne_line = true;
        g_assert_cmpint(x86_cpu_run(cpu, 8), ==, X86_EXIT_EXCEPTION);
        g_assert_cmpuint(cpu->exception_vector, ==, X86_EXC_BP);
        g_assert_false(ferr_line);
        g_assert_cmpuint(ferr_changes, ==, 2);
        g_assert_cmphex(cpu->fpu.fsw & 0x80ff, ==, 0);
    }
    x86_cpu_destroy(cpu);
    g_free(cpu);
    memory_map_free(map);
}

/* FWAIT waits; FNCLEX clears ES. */
static void test_ferr(void)
{
    check_ferr((const uint8_t[]){ 0x9b, 0xdb, 0xe2, 0xcc }, 4);
}

/* An MMX instruction (PADDB MM0, MM1) waits too (vol. 3, 12.5.1); FXRSTOR
 * of a clean image clears ES. */
static void test_ferr_mmx(void)
{
    check_ferr((const uint8_t[]){ 0x0f, 0xfc, 0xc1, 0x0f, 0xae, 0x0e, 0xcc }, 7);
}

int main(int argc, char **argv)
{
    seed_salt = x86_test_init(&argc, &argv);
    X86_TEST_ADD_FAMILIES("/x86/fpdiff", families, test_family);
    g_test_add_func("/x86/fpdiff/totals", test_totals);
    g_test_add_func("/x86/fpdiff/ferr", test_ferr);
    g_test_add_func("/x86/fpdiff/ferr-mmx-fxrstor", test_ferr_mmx);
    return g_test_run();
}
