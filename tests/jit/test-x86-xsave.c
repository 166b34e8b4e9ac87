/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The XSAVE feature set (Intel SDM vol. 1, ch. 13) on Mimic's CPU.
 *
 * Differential part, against the host CPU (user mode, XCR0 enabling at
 * least x87 and SSE): each case loads a random x87/SSE state with XRSTOR,
 * then runs XSAVE, XSAVEOPT, XSAVEC (with and without REX.W) or XRSTOR of
 * a crafted image followed by an XSAVE, with EDX:EAX selecting x87 | SSE,
 * x87, SSE or nothing (EDX all ones or zero: XCR0 has no bits there).
 * Registers, RIP, the exception and the whole data page must agree: the
 * legacy region, the XSAVE header (XSTATE_BV, XCOMP_BV, the bytes neither
 * writes) and the bytes around it. Only RFBM within x87 | SSE is used, so
 * the host's other components (AVX...) never enter the area or XSTATE_BV.
 * Not compared (the model's or the host kernel's, see mask_results):
 * MXCSR_MASK; FOP, FIP, FCS, FDP, FDS when FSW.ES is clear (AMD stores
 * zeros then); the top byte of the 64-bit FIP/FDP; FCS/FDS (32-bit format).
 *
 * Mimic-only part: CPUID leaf 1 and 0DH, XGETBV, XSETBV and its #GP cases,
 * #UD without CR4.OSXSAVE, #NM with CR0.TS, XCR0 = x87 only, 32-bit
 * protected mode (XMM8-XMM15 untouched), the x86_cpu_state round trip and
 * VEX prefixes (#UD).
 */
#include <glib.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine/memory.h"
#include "jit/x86/cpu.h"
#include "jit/x86/decode.h"
#include "tests/jit/x86-machine.h"
#include "tests/jit/x86-native.h"
#include "tests/jit/x86-report.h"

#define MAX_FORMS 512
#define CASES_PER_FORM 64
/* The data page: image A (loaded first), image B (XRSTOR under test), the
 * area the instruction under test (or the final XSAVE) writes. */
#define LOAD 0x000
#define CRAFT 0x240
#define SAVE 0x500
#define AREA 576
#define IMAGE_SIZE (CRAFT + AREA)
#define HEADER 512

enum op { OP_XSAVE, OP_XSAVEOPT, OP_XSAVEC, OP_XRSTOR, OP_XGETBV1 };
static const char *const op_names[] = { "xsave", "xsaveopt", "xsavec", "xrstor", "xgetbv1" };

struct form {
    char name[96];
    enum op op;
    bool wide;                  /* REX.W: the 64-bit FIP/FDP format */
    uint32_t rfbm;              /* EAX for the instruction under test */
    uint64_t load_bv;           /* XSTATE_BV of image A */
    /* Image B (OP_XRSTOR): its XSTATE_BV, XCOMP_BV, a header byte made
     * nonzero (0: none), an MXCSR with a reserved bit. */
    uint64_t craft_bv, craft_comp;
    unsigned craft_byte;
    uint32_t craft_mxcsr;
    unsigned misalign;          /* added to the area's address */
};

static struct form forms[MAX_FORMS];
static unsigned nforms;
static struct x86_test_totals totals;
static uint32_t seed_salt;

static struct form *add(enum op op, bool wide, uint32_t rfbm, const char *format, ...)
    G_GNUC_PRINTF(4, 5);

static struct form *add(enum op op, bool wide, uint32_t rfbm, const char *format, ...)
{
    struct form *f;
    va_list ap;
    char detail[64];

    g_assert_cmpuint(nforms, <, MAX_FORMS);
    f = &forms[nforms++];
    memset(f, 0, sizeof(*f));
    va_start(ap, format);
    vsnprintf(detail, sizeof(detail), format, ap);
    va_end(ap);
    snprintf(f->name, sizeof(f->name), "%s%s rfbm=%u %s", op_names[op],
             wide ? "64" : "", rfbm, detail);
    f->op = op;
    f->wide = wide;
    f->rfbm = rfbm;
    f->load_bv = 3;
    return f;
}

static const char *form_name(unsigned form)
{
    return forms[form].name;
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Saves of every kind from a state with each component loaded or in its
 * initial configuration (XRSTOR with XSTATE_BV bits clear). */
static void build_save(void)
{
    for (enum op op = OP_XSAVE; op <= OP_XSAVEC; op++)
        for (unsigned wide = 0; wide < 2; wide++)
            for (uint32_t rfbm = 0; rfbm < 4; rfbm++)
                for (uint64_t bv = 0; bv < 4; bv++)
                    add(op, wide, rfbm, "from xstate_bv=%u", (unsigned)bv)->load_bv = bv;
    /* XINUSE & XCR0 after XRSTOR, bits 0-1 (the host's XCR0 has more). */
    for (unsigned wide = 0; wide < 2; wide++)
        for (uint64_t bv = 0; bv < 4; bv++)
            add(OP_XGETBV1, wide, 0, "after xstate_bv=%u", (unsigned)bv)->load_bv = bv;
}

/* XRSTOR of images in the standard and compacted forms, every XSTATE_BV. */
static void build_restore(void)
{
    for (unsigned wide = 0; wide < 2; wide++)
        for (uint32_t rfbm = 0; rfbm < 4; rfbm++)
            for (uint64_t bv = 0; bv < 4; bv++) {
                struct form *f;

                add(OP_XRSTOR, wide, rfbm, "xstate_bv=%u", (unsigned)bv)->craft_bv = bv;
                f = add(OP_XRSTOR, wide, rfbm, "compacted xstate_bv=%u xcomp_bv=3",
                        (unsigned)bv);
                f->craft_bv = bv;
                f->craft_comp = 1ull << 63 | 3;
                f = add(OP_XRSTOR, wide, rfbm, "compacted xstate_bv=xcomp_bv=%u",
                        (unsigned)bv);
                f->craft_bv = bv;
                f->craft_comp = 1ull << 63 | bv;
            }
}

/* Header checks (#GP or not), MXCSR checks, alignment. */
static void build_faults(void)
{
    static const struct { uint64_t bv, comp; unsigned byte; const char *what; } headers[] = {
        { 3 | 1ull << 63, 0, 0, "standard, xstate_bv bit 63" },
        { 3 | 1ull << 8, 0, 0, "standard, xstate_bv bit 8 (supervisor)" },
        { 3, 1, 0, "standard, xcomp_bv=1" },
        { 3, 0, 16, "standard, byte 16 set" },
        { 3, 0, 23, "standard, byte 23 set" },
        { 3, 0, 24, "standard, byte 24 set (not checked)" },
        { 3, 0, 63, "standard, byte 63 set (not checked)" },
        { 3, 1ull << 63 | 3, 16, "compacted, byte 16 set" },
        { 3, 1ull << 63 | 3, 40, "compacted, byte 40 set" },
        { 3, 1ull << 63 | 3, 63, "compacted, byte 63 set" },
        { 3, 1ull << 63 | 1, 0, "compacted, xstate_bv not in xcomp_bv" },
        { 1, 1ull << 63 | 3 | 1ull << 8, 0, "compacted, xcomp_bv bit 8" },
        { 3 | 1ull << 63, 1ull << 63 | 3, 0, "compacted, xstate_bv bit 63" },
    };
    static const uint32_t bad_mxcsrs[] = { 0x10000, 0x80000000 };

    for (unsigned wide = 0; wide < 2; wide++) {
        for (unsigned i = 0; i < G_N_ELEMENTS(headers); i++)
            for (uint32_t rfbm = 0; rfbm < 4; rfbm += 3) {
                struct form *f = add(OP_XRSTOR, wide, rfbm, "%s", headers[i].what);

                f->craft_bv = headers[i].bv;
                f->craft_comp = headers[i].comp;
                f->craft_byte = headers[i].byte;
            }
        for (unsigned i = 0; i < G_N_ELEMENTS(bad_mxcsrs); i++)
            for (uint32_t rfbm = 0; rfbm < 4; rfbm++)
                for (unsigned form = 0; form < 3; form++) {
                    static const char *const kinds[] = {
                        "standard", "standard, xstate_bv=1", "compacted, xstate_bv=1",
                    };
                    struct form *f = add(OP_XRSTOR, wide, rfbm, "mxcsr %#x %s",
                                         bad_mxcsrs[i], kinds[form]);

                    f->craft_mxcsr = bad_mxcsrs[i];
                    f->craft_bv = form ? 1 : 3;
                    f->craft_comp = form == 2 ? 1ull << 63 | 3 : 0;
                }
        for (enum op op = OP_XSAVE; op <= OP_XRSTOR; op++)
            for (unsigned misalign = 8; misalign <= 32; misalign *= 2)
                add(op, wide, 3, "misaligned by %u", misalign)->misalign = misalign;
    }
}

/* An x87/SSE state image with random contents and a consistent FSW. */
static void random_image(uint8_t *image, bool wide, uint64_t *s)
{
    uint16_t fcw = (uint16_t)((rng(s) & 0x0f3f) | 0x40);
    uint16_t fsw = (uint16_t)(rng(s) & 0x477f);
    uint16_t fop = (uint16_t)(rng(s) & 0x7ff);
    uint32_t mxcsr = rng(s) % 4 == 0 ? 0x1f80 : (uint32_t)(rng(s) & 0xffff);

    for (unsigned i = 0; i < AREA; i += 8) {
        uint64_t v = rng(s);

        memcpy(image + i, &v, 8);
    }
    if (fsw & ~fcw & 0x3f)
        fsw |= 0x8080;                  /* ES and B follow the unmasked flags */
    else
        fsw &= (uint16_t)~0x8080;
    memcpy(image + 0, &fcw, 2);
    memcpy(image + 2, &fsw, 2);
    image[5] = 0;
    memcpy(image + 6, &fop, 2);
    if (!wide) {
        memset(image + 14, 0, 2);
        memset(image + 22, 0, 2);
    }
    memcpy(image + 24, &mxcsr, 4);
    memset(image + HEADER, 0, 64);
}

static void put_header(uint8_t *area, uint64_t bv, uint64_t comp)
{
    memcpy(area + HEADER, &bv, 8);
    memcpy(area + HEADER + 8, &comp, 8);
}

static unsigned emit_op(uint8_t *code, enum op op, bool wide, uint8_t modrm)
{
    unsigned n = 0;

    if (wide)
        code[n++] = 0x48;
    code[n++] = 0x0f;
    code[n++] = op == OP_XSAVEC ? 0xc7 : 0xae;
    code[n++] = modrm;
    if ((modrm & 7) == 5)
        code[n++] = 0;                  /* [rbp + 0] */
    return n;
}

static void make_case(unsigned form, unsigned index, uint64_t *s,
                      struct x86_test_case *c, uint8_t *image, void *opaque)
{
    const struct form *f = &forms[form];
    static const uint8_t modrm[] = { 0x65, 0x75, 0x65, 0x2e, 0 };  /* /4 [rbp], /6, /4, /5 [rsi] */
    uint32_t edx = (index & 1) ? 0xffffffff : 0;
    unsigned n = 0;

    memset(c, 0, sizeof(*c));
    random_image(image + LOAD, f->wide, s);
    put_header(image + LOAD, f->load_bv, 0);
    random_image(image + CRAFT, f->wide, s);
    put_header(image + CRAFT, f->craft_bv, f->craft_comp);
    if (f->craft_byte)
        image[CRAFT + HEADER + f->craft_byte] = (uint8_t)(rng(s) | 1);
    if (f->craft_mxcsr) {
        uint32_t mxcsr = (uint32_t)(rng(s) & 0xffff) | f->craft_mxcsr;

        memcpy(image + CRAFT + 24, &mxcsr, 4);
    }

    n += emit_op(c->code + n, OP_XRSTOR, f->wide, 0x2b);     /* xrstor [rbx] */
    c->code[n++] = 0xb8;                                     /* mov eax, rfbm */
    memcpy(c->code + n, &f->rfbm, 4);
    n += 4;
    c->code[n++] = 0xba;                                     /* mov edx, 0 or -1 */
    memcpy(c->code + n, &edx, 4);
    n += 4;
    if (f->op == OP_XGETBV1) {
        static const uint8_t xgetbv1[] = {
            0xb9, 0x01, 0x00, 0x00, 0x00,   /* mov ecx, 1 */
            0x0f, 0x01, 0xd0,               /* xgetbv */
            0x83, 0xe0, 0x03,               /* and eax, 3 */
            0x31, 0xd2,                     /* xor edx, edx */
        };

        memcpy(c->code + n, xgetbv1, sizeof(xgetbv1));
        n += sizeof(xgetbv1);
    } else {
        n += emit_op(c->code + n, f->op, f->wide, modrm[f->op]);
    }
    if (f->op == OP_XRSTOR) {
        static const uint32_t all = 3;

        c->code[n++] = 0xb8;                                 /* mov eax, 3 */
        memcpy(c->code + n, &all, 4);
        n += 4;
        n += emit_op(c->code + n, OP_XSAVE, f->wide, 0x65);  /* xsave [rbp] */
    }
    g_assert_cmpuint(n, <=, sizeof(c->code));
    c->length = (uint8_t)n;
    for (unsigned i = 0; i < 16; i++)
        c->gpr[i] = rng(s);
    c->gpr[X86_RAX] = 3;
    c->gpr[X86_RDX] = 0;
    c->gpr[X86_RBX] = X86_TEST_DATA_ADDR + LOAD;
    c->gpr[X86_RSI] = X86_TEST_DATA_ADDR + CRAFT + (f->op == OP_XRSTOR ? f->misalign : 0);
    c->gpr[X86_RBP] = X86_TEST_DATA_ADDR + SAVE + (f->op != OP_XRSTOR ? f->misalign : 0);
    c->rflags = rng(s) & X86_ARITH_FLAGS;
    c->memory_seed = (uint32_t)rng(s);
    c->image = image;
    c->image_size = IMAGE_SIZE;
}

/*
 * Fields that are the model's, not results: MXCSR_MASK (AMD: MM, bit 17,
 * is writable); FOP, FIP, FCS, FDP, FDS, which AMD stores as zero unless
 * FSW.ES is set; the top byte of the 64-bit FIP and FDP, which AMD keeps
 * sign-extended from bit 55 (host address width); FCS and FDS of the 32-bit
 * format, which the host kernel drops when it switches the task out between
 * the XRSTOR and the save (its XSAVES uses the 64-bit format).
 */
static void mask_results(unsigned form, struct x86_test_result *host,
                         struct x86_test_result *mimic, void *opaque)
{
    const struct form *f = &forms[form];
    unsigned area = SAVE + (f->op != OP_XRSTOR ? f->misalign : 0);
    bool es = host->data[area + 2] & 0x80;

    for (unsigned k = 0; k < 2; k++) {
        uint8_t *saved = (k ? mimic : host)->data + area;

        memset(saved + 28, 0, 4);
        if (!es)
            memset(saved + 6, 0, 18);
        if (f->wide) {
            saved[15] = 0;
            saved[23] = 0;
        } else {
            memset(saved + 12, 0, 2);
            memset(saved + 20, 0, 2);
        }
    }
}

static void report(unsigned form, const struct x86_test_case *c,
                   const struct x86_test_result *host, const struct x86_test_result *mimic)
{
    const struct form *f = &forms[form];
    GString *s = x86_test_report_begin(c, "%s", f->name);

    g_string_append_printf(s, "\n  signal host %d mimic %d; rip host %#llx mimic %#llx",
                           host->signal, mimic->signal, (unsigned long long)host->rip,
                           (unsigned long long)mimic->rip);
    x86_test_report_gprs(s, host, mimic);
    x86_test_report_data(s, c, host, mimic, true, 24);
    x86_test_report_end(s);
}

static const struct x86_test_family families[] = {
    { "save", build_save },
    { "restore", build_restore },
    { "faults", build_faults },
};

/* The host must let user code use XSAVE for x87 and SSE. */
static bool host_has_xsave(void)
{
    uint32_t a, b, c, d, xcr0;

    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!(c & (1u << 27)))
        return false;
    __asm__("xgetbv" : "=a"(xcr0), "=d"(d) : "c"(0));
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(1));
    return (xcr0 & 3) == 3 && (a & 3) == 3;     /* XSAVEOPT, XSAVEC */
}

static void test_family(gconstpointer data)
{
    const struct x86_test_family *fam = data;
    struct x86_test_forms f = {
        .family = fam->name,
        .build = fam->build,
        .nforms = &nforms,
        .cases_per_form = CASES_PER_FORM,
        .image_size = IMAGE_SIZE,
        .seed = (uint64_t)seed_salt + 1,
        .name = form_name,
        .make_case = make_case,
        .mask = mask_results,
        .report = report,
    };

    if (!host_has_xsave()) {
        g_test_skip("the host has no XSAVE, XSAVEOPT, XSAVEC for user code");
        return;
    }
    x86_test_run_forms(&f, &totals);
}

/* ---- Mimic only ---------------------------------------------------------- */

#define RAM_SIZE 0x100000
#define CODE 0x1000
#define AREA_ADDR 0x4000

static unsigned total_checks;

static struct x86_test_machine *machine_new(void)
{
    struct x86_test_machine *m = x86_test_machine_new("xsave-test", RAM_SIZE);

    x86_cpu_reset(&m->cpu);
    x86_cpu_set_flat64(&m->cpu);
    return m;
}

/* Run @hex (then an int3) at CODE with RAX, RCX, RDX set; returns the
 * exception vector it ended with (3: the int3, it ran through). */
static unsigned run(struct x86_test_machine *m, const char *hex, uint64_t rax, uint64_t rcx,
                    uint64_t rdx)
{
    struct x86_cpu *cpu = &m->cpu;
    unsigned n = x86_test_parse_hex(hex, m->ram + CODE);

    m->ram[CODE + n] = 0xcc;
    x86_code_invalidate_range(cpu, CODE, n + 1);
    cpu->gpr[X86_RAX] = rax;
    cpu->gpr[X86_RCX] = rcx;
    cpu->gpr[X86_RDX] = rdx;
    cpu->gpr[X86_RBX] = AREA_ADDR;
    cpu->rip = CODE;
    g_assert_cmpint(x86_cpu_run(cpu, 16), ==, X86_EXIT_EXCEPTION);
    total_checks++;
    return cpu->exception_vector;
}

/* CPL 0 in flat 64-bit mode: a code selector with RPL 0. */
static void set_cpl(struct x86_cpu *cpu, unsigned cpl)
{
    cpu->seg[X86_CS].selector = (uint16_t)((cpu->seg[X86_CS].selector & ~3u) | cpl);
    cpu->seg[X86_CS].flags = (uint16_t)((cpu->seg[X86_CS].flags & ~X86_SEGF_DPL) |
                                        cpl << X86_SEGF_DPL_SHIFT);
}

static uint64_t header_at(struct x86_test_machine *m, uint64_t addr, unsigned byte)
{
    uint64_t v;

    memcpy(&v, m->ram + addr + HEADER + byte, 8);
    return v;
}

#define CPUID "0f a2"
#define XGETBV "0f 01 d0"
#define XSETBV "0f 01 d1"
#define XSAVE_RBX "48 0f ae 23"
#define XSAVEOPT_RBX "48 0f ae 33"
#define XSAVEC_RBX "48 0f c7 23"
#define XRSTOR_RBX "48 0f ae 2b"

static void test_cpuid(void)
{
    struct x86_test_machine *m = machine_new();
    struct x86_cpu *cpu = &m->cpu;

    g_assert_cmpuint(run(m, CPUID, 0, 0, 0), ==, X86_EXC_BP);
    g_assert_cmpuint(cpu->gpr[X86_RAX], ==, 0xd);
    g_assert_cmpuint(run(m, CPUID, 1, 0, 0), ==, X86_EXC_BP);
    g_assert_true(cpu->gpr[X86_RCX] & (1u << 26));          /* XSAVE */
    g_assert_true(cpu->gpr[X86_RCX] & (1u << 27));          /* OSXSAVE */
    g_assert_false(cpu->gpr[X86_RCX] & (1u << 28));         /* no AVX */
    cpu->cr4 &= ~X86_CR4_OSXSAVE;
    g_assert_cmpuint(run(m, CPUID, 1, 0, 0), ==, X86_EXC_BP);
    g_assert_false(cpu->gpr[X86_RCX] & (1u << 27));
    g_assert_cmpuint(run(m, CPUID, 0xd, 0, 0), ==, X86_EXC_BP);
    g_assert_cmpuint(cpu->gpr[X86_RAX], ==, 3);
    g_assert_cmpuint(cpu->gpr[X86_RBX], ==, 576);
    g_assert_cmpuint(cpu->gpr[X86_RCX], ==, 576);
    g_assert_cmpuint(cpu->gpr[X86_RDX], ==, 0);
    g_assert_cmpuint(run(m, CPUID, 0xd, 1, 0), ==, X86_EXC_BP);
    g_assert_cmpuint(cpu->gpr[X86_RAX], ==, 7);             /* XSAVEOPT, XSAVEC, XGETBV 1 */
    g_assert_cmpuint(cpu->gpr[X86_RBX], ==, 576);
    g_assert_cmpuint(cpu->gpr[X86_RCX], ==, 0);
    g_assert_cmpuint(cpu->gpr[X86_RDX], ==, 0);
    for (uint32_t sub = 2; sub < 64; sub += 7) {
        g_assert_cmpuint(run(m, CPUID, 0xd, sub, 0), ==, X86_EXC_BP);
        g_assert_cmpuint(cpu->gpr[X86_RAX] | cpu->gpr[X86_RBX] | cpu->gpr[X86_RCX] |
                         cpu->gpr[X86_RDX], ==, 0);
    }
    x86_test_machine_free(m);
}

static void test_xgetbv_xsetbv(void)
{
    static const uint64_t bad[] = { 0, 2, 4, 5, 7, 0xe7, 1ull << 32, 1ull << 63 };
    struct x86_test_machine *m = machine_new();
    struct x86_cpu *cpu = &m->cpu;

    g_assert_cmpuint(run(m, XGETBV, 0, 0, 0), ==, X86_EXC_BP);
    g_assert_cmpuint(cpu->gpr[X86_RAX], ==, 3);
    g_assert_cmpuint(cpu->gpr[X86_RDX], ==, 0);
    g_assert_cmpuint(run(m, XGETBV, 0, 2, 0), ==, X86_EXC_GP);
    g_assert_cmpuint(run(m, XGETBV, 0, 1ull << 32, 0), ==, X86_EXC_BP);  /* ECX only */
    /* XINUSE: both in their initial configuration after XRSTOR with XSTATE_BV 0. */
    memset(m->ram + AREA_ADDR, 0, AREA);
    g_assert_cmpuint(run(m, XRSTOR_RBX XGETBV, 3, 1, 0), ==, X86_EXC_BP);
    g_assert_cmpuint(cpu->gpr[X86_RAX], ==, 2);         /* MXCSR 0 counts as SSE */
    g_assert_cmpuint(cpu->fpu.fcw, ==, 0x37f);
    g_assert_cmpuint(cpu->fpu.mxcsr, ==, 0);            /* standard form: loaded */
    cpu->fpu.mxcsr = 0x1f80;
    g_assert_cmpuint(run(m, XGETBV, 0, 1, 0), ==, X86_EXC_BP);
    g_assert_cmpuint(cpu->gpr[X86_RAX], ==, 0);
    /* fld1: x87 in use; movd xmm0, eax: SSE in use. */
    g_assert_cmpuint(run(m, "d9 e8 " XGETBV, 0, 1, 0), ==, X86_EXC_BP);
    g_assert_cmpuint(cpu->gpr[X86_RAX], ==, 1);
    g_assert_cmpuint(run(m, "66 0f 6e c0 " XGETBV, 5, 1, 0), ==, X86_EXC_BP);
    g_assert_cmpuint(cpu->gpr[X86_RAX], ==, 3);

    /* XSETBV: CPL 0 only, ECX 0 only, x87 always, nothing unsupported. */
    g_assert_cmpuint(run(m, XSETBV, 3, 0, 0), ==, X86_EXC_GP);       /* CPL 3 */
    set_cpl(cpu, 0);
    g_assert_cmpuint(run(m, XSETBV, 3, 1, 0), ==, X86_EXC_GP);
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_cmpuint(run(m, XSETBV, (uint32_t)bad[i], 0, bad[i] >> 32), ==, X86_EXC_GP);
        g_assert_cmpuint(cpu->xcr0, ==, 3);
    }
    g_assert_cmpuint(run(m, XSETBV XGETBV, 1, 0, 0), ==, X86_EXC_BP);
    g_assert_cmpuint(cpu->gpr[X86_RAX], ==, 1);
    g_assert_cmpuint(cpu->xcr0, ==, 1);

    /* XCR0 = x87: RFBM drops SSE; XSTATE_BV bit 1 is kept from memory, and
     * an image with SSE in XSTATE_BV or XCOMP_BV no longer restores. */
    memset(m->ram + AREA_ADDR, 0xa5, AREA);
    g_assert_cmpuint(run(m, XSAVE_RBX, 3, 0, 0), ==, X86_EXC_BP);
    g_assert_cmpuint(header_at(m, AREA_ADDR, 0), ==, 0xa5a5a5a5a5a5a5a5ull | 1);
    g_assert_cmpuint(m->ram[AREA_ADDR + 160], ==, 0xa5);            /* XMM0 not saved */
    g_assert_cmpuint(m->ram[AREA_ADDR + 24], ==, 0xa5);             /* nor MXCSR */
    g_assert_cmpuint(run(m, XSAVEC_RBX, 3, 0, 0), ==, X86_EXC_BP);
    g_assert_cmpuint(header_at(m, AREA_ADDR, 8), ==, 1ull << 63 | 1);
    memset(m->ram + AREA_ADDR + HEADER, 0, 64);
    m->ram[AREA_ADDR + HEADER] = 3;
    g_assert_cmpuint(run(m, XRSTOR_RBX, 1, 0, 0), ==, X86_EXC_GP);
    m->ram[AREA_ADDR + HEADER] = 1;
    m->ram[AREA_ADDR + HEADER + 8] = 3;
    m->ram[AREA_ADDR + HEADER + 15] = 0x80;
    g_assert_cmpuint(run(m, XRSTOR_RBX, 1, 0, 0), ==, X86_EXC_GP);
    m->ram[AREA_ADDR + HEADER + 8] = 1;
    g_assert_cmpuint(run(m, XRSTOR_RBX, 1, 0, 0), ==, X86_EXC_BP);
    g_assert_cmpuint(run(m, XSETBV XGETBV, 3, 0, 0), ==, X86_EXC_BP);
    g_assert_cmpuint(cpu->gpr[X86_RAX], ==, 3);

    /* MOV CR4: OSXSAVE can be cleared and set again. */
    g_assert_cmpuint(run(m, "0f 20 e0 48 0f ba f0 12 0f 22 e0", 0, 0, 0), ==, X86_EXC_BP);
    g_assert_false(cpu->cr4 & X86_CR4_OSXSAVE);
    g_assert_cmpuint(run(m, "0f 20 e0 48 0f ba e8 12 0f 22 e0", 0, 0, 0), ==, X86_EXC_BP);
    g_assert_true(cpu->cr4 & X86_CR4_OSXSAVE);
    x86_test_machine_free(m);
}

/* #UD without CR4.OSXSAVE, #NM with CR0.TS (not for XGETBV/XSETBV). */
static void test_enable_checks(void)
{
    static const char *const insns[] = {
        XSAVE_RBX, XSAVEOPT_RBX, XSAVEC_RBX, XRSTOR_RBX, "0f ae 23", "0f c7 23",
    };
    struct x86_test_machine *m = machine_new();
    struct x86_cpu *cpu = &m->cpu;

    memset(m->ram + AREA_ADDR, 0, AREA);
    for (unsigned i = 0; i < G_N_ELEMENTS(insns); i++) {
        cpu->cr4 &= ~X86_CR4_OSXSAVE;
        g_assert_cmpuint(run(m, insns[i], 3, 0, 0), ==, X86_EXC_UD);
        cpu->cr4 |= X86_CR4_OSXSAVE;
        cpu->cr0 |= X86_CR0_TS;
        g_assert_cmpuint(run(m, insns[i], 3, 0, 0), ==, X86_EXC_NM);
        cpu->cr0 &= ~X86_CR0_TS;
        g_assert_cmpuint(run(m, insns[i], 3, 0, 0), ==, X86_EXC_BP);
        /* LOCK is #UD; a register operand (the fences' encodings for /5-/7). */
        g_autofree char *locked = g_strdup_printf("f0 %s", insns[i]);
        g_assert_cmpuint(run(m, locked, 3, 0, 0), ==, X86_EXC_UD);
    }
    g_assert_cmpuint(run(m, "0f ae e3", 3, 0, 0), ==, X86_EXC_UD);      /* /4, mod 11 */
    g_assert_cmpuint(run(m, "0f c7 e3", 3, 0, 0), ==, X86_EXC_UD);
    cpu->cr0 |= X86_CR0_TS;
    g_assert_cmpuint(run(m, XGETBV, 0, 0, 0), ==, X86_EXC_BP);
    cpu->cr0 &= ~X86_CR0_TS;
    cpu->cr4 &= ~X86_CR4_OSXSAVE;
    g_assert_cmpuint(run(m, XGETBV, 0, 0, 0), ==, X86_EXC_UD);
    set_cpl(cpu, 0);
    g_assert_cmpuint(run(m, XSETBV, 3, 0, 0), ==, X86_EXC_UD);
    x86_test_machine_free(m);
}

/* 32-bit protected mode: the 32-bit FIP format, XMM0-XMM7 only. */
static void test_protected32(void)
{
    struct x86_test_machine *m = machine_new();
    struct x86_cpu *cpu = &m->cpu;
    const uint16_t code = 0xb | X86_SEGF_S | X86_SEGF_P | X86_SEGF_DB | X86_SEGF_G;
    const uint16_t data = 0x3 | X86_SEGF_S | X86_SEGF_P | X86_SEGF_DB | X86_SEGF_G;

    for (unsigned i = 0; i < X86_SEG_COUNT; i++)
        cpu->seg[i] = (struct x86_segment_cache){ .limit = 0xffffffff, .selector = 0x10,
                                                 .flags = data };
    cpu->seg[X86_CS] = (struct x86_segment_cache){ .limit = 0xffffffff, .selector = 0x08,
                                                  .flags = code };
    cpu->efer = 0;
    cpu->cr4 &= ~X86_CR4_PAE;
    x86_update_mode(cpu);
    x86_tlb_flush(cpu);
    g_assert_cmpint(cpu->mode, ==, X86_MODE_PROT32);
    for (unsigned i = 0; i < 16; i++)
        memset(cpu->fpu.xmm[i], 0x11 * (i + 1), 16);
    cpu->fpu.fcs = 0x1234;
    memset(m->ram + AREA_ADDR, 0xa5, AREA);
    g_assert_cmpuint(run(m, "0f ae 23", 3, 0, 0), ==, X86_EXC_BP);        /* xsave [ebx] */
    g_assert_cmpuint(m->ram[AREA_ADDR + 12], ==, 0x34);                    /* FCS */
    g_assert_cmpuint(m->ram[AREA_ADDR + 160 + 16 * 7], ==, 0x88);          /* XMM7 */
    g_assert_cmpuint(m->ram[AREA_ADDR + 160 + 16 * 8], ==, 0xa5);          /* not XMM8 */
    g_assert_cmpuint(header_at(m, AREA_ADDR, 0), ==, 0xa5a5a5a5a5a5a5a7ull);    /* both in use */
    /* XRSTOR with SSE in its initial configuration leaves XMM8-XMM15. */
    memset(m->ram + AREA_ADDR + HEADER, 0, 64);
    g_assert_cmpuint(run(m, "0f ae 2b", 2, 0, 0), ==, X86_EXC_BP);
    g_assert_cmpuint(cpu->fpu.xmm[7][0], ==, 0);
    g_assert_cmpuint(cpu->fpu.xmm[8][0], ==, 0x99);
    x86_test_machine_free(m);
}

/* x86_cpu_state carries XCR0 and a standard-format header. */
static void test_state(void)
{
    struct x86_test_machine *m = machine_new();
    struct x86_cpu *cpu = &m->cpu;
    struct x86_cpu_state *state = g_new0(struct x86_cpu_state, 1);
    uint64_t bv;

    memset(cpu->fpu.xmm, 0x5a, sizeof(cpu->fpu.xmm));
    cpu->xcr0 = 1;
    x86_cpu_get_state(cpu, state);
    g_assert_cmpuint(state->xcr0, ==, 1);
    memcpy(&bv, state->xsave + HEADER, 8);
    g_assert_cmpuint(bv, ==, 3);
    for (unsigned i = 8; i < 64; i++)
        g_assert_cmpuint(state->xsave[HEADER + i], ==, 0);
    state->xcr0 = 3;
    x86_cpu_set_state(cpu, state);
    g_assert_cmpuint(cpu->xcr0, ==, 3);
    g_assert_cmpuint(cpu->fpu.xmm[15][15], ==, 0x5a);
    state->xcr0 = 0x2e7;                /* from a host with AVX-512: x87 | SSE here */
    bv = 1;                             /* SSE in its initial configuration */
    memcpy(state->xsave + HEADER, &bv, 8);
    x86_cpu_set_state(cpu, state);
    g_assert_cmpuint(cpu->xcr0, ==, 3);
    g_assert_cmpuint(cpu->fpu.xmm[15][15], ==, 0);
    state->xcr0 = 0;
    x86_cpu_set_state(cpu, state);
    g_assert_cmpuint(cpu->xcr0, ==, 1);
    x86_cpu_reset(cpu);
    g_assert_cmpuint(cpu->xcr0, ==, 1);
    total_checks += 4;
    g_free(state);
    x86_test_machine_free(m);
}

/* VEX (C4/C5) is #UD: always in 64-bit mode, with mod = 11 elsewhere. */
static void test_vex(void)
{
    static const struct { enum x86_mode mode; const char *hex; bool ud; } cases[] = {
        { X86_MODE_LONG64, "c5 f8 77", true },                  /* vzeroupper */
        { X86_MODE_LONG64, "c5 f9 6f 00", true },               /* vmovdqa xmm0, [rax] */
        { X86_MODE_LONG64, "c4 e2 79 18 00", true },            /* vbroadcastss */
        { X86_MODE_LONG64, "c4 02 78 f2 00", true },            /* andn */
        { X86_MODE_LONG64, "66 c5 f8 77", true },
        { X86_MODE_LONG64, "c5 06 00 00 00 00", true },         /* mod 00: still VEX */
        { X86_MODE_PROT32, "c5 f8 77", true },
        { X86_MODE_PROT32, "c4 e2 79 18 00", true },
        { X86_MODE_PROT16, "c5 f8 77", true },
        { X86_MODE_REAL, "c4 c0 00 00", true },
        { X86_MODE_COMPAT32, "c5 f8 77", true },
        { X86_MODE_PROT32, "c5 06", false },                     /* lds eax, [esi] */
        { X86_MODE_PROT32, "c4 44 24 08", false },               /* les eax, [esp+8] */
        { X86_MODE_PROT16, "c4 3f", false },                     /* les di, [bx] */
        { X86_MODE_COMPAT32, "c5 b8 00 00 00 00", false },       /* mod 10 */
    };
    struct x86_test_machine *m = machine_new();

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        struct x86_insn insn;
        uint8_t bytes[16];
        unsigned n = x86_test_parse_hex(cases[i].hex, bytes);
        enum x86_decode_result r = x86_decode(&insn, bytes, n, cases[i].mode);

        if (cases[i].ud)
            g_assert_cmpint(r, ==, X86_DECODE_UD);
        else
            g_assert_cmpint(r, ==, X86_DECODE_OK);
        total_checks++;
    }
    /* Executed in 64-bit mode: #UD, nothing else happens. */
    g_assert_cmpuint(run(m, "c5 f8 77", 0, 0, 0), ==, X86_EXC_UD);
    g_assert_cmpuint(m->cpu.rip, ==, CODE);
    g_assert_cmpuint(run(m, "c4 e2 79 18 03", 0, 0, 0), ==, X86_EXC_UD);
    x86_test_machine_free(m);
}

static void test_totals(void)
{
    g_test_message("XSAVE differential coverage: %u forms, %u cases (%u end in an "
                   "exception); Mimic-only checks: %u", totals.forms, totals.cases,
                   totals.faults, total_checks);
}

int main(int argc, char **argv)
{
    seed_salt = x86_test_init(&argc, &argv);
    X86_TEST_ADD_FAMILIES("/x86/xsave/diff", families, test_family);
    g_test_add_func("/x86/xsave/mimic/cpuid", test_cpuid);
    g_test_add_func("/x86/xsave/mimic/xgetbv-xsetbv", test_xgetbv_xsetbv);
    g_test_add_func("/x86/xsave/mimic/enable-checks", test_enable_checks);
    g_test_add_func("/x86/xsave/mimic/protected32", test_protected32);
    g_test_add_func("/x86/xsave/mimic/state", test_state);
    g_test_add_func("/x86/xsave/mimic/vex", test_vex);
    g_test_add_func("/x86/xsave/summary/totals", test_totals);
    return g_test_run();
}
