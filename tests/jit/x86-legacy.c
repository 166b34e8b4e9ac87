/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Forms, cases and their runs for the differential tests of 32- and 16-bit code. */
#include "tests/jit/x86-legacy.h"

#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jit/x86/cpu.h"


struct x86_test_case *cases;
unsigned ncases;
struct form forms[LEGACY_MAX_FORMS];
unsigned nforms;
unsigned total_forms, total_cases;
uint32_t seed_salt;
static uint64_t rng_state;

uint64_t rand64(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

unsigned below(unsigned n)
{
    return (unsigned)(rand64() % n);
}

uint32_t value32(void)
{
    static const uint32_t edges[] = {
        0, 1, 2, 9, 0x0a, 0x0f, 0x10, 0x7f, 0x80, 0x99, 0x9a, 0xff, 0x100,
        0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
    };

    switch (below(4)) {
    case 0: return edges[below(G_N_ELEMENTS(edges))];
    case 1: return ~edges[below(G_N_ELEMENTS(edges))];
    case 2: return rand64() & 0xff;
    default: return (uint32_t)rand64();
    }
}

struct form *begin_form(const char *format, ...)
{
    struct form *f;
    va_list ap;

    g_assert_cmpuint(nforms, <, LEGACY_MAX_FORMS);
    f = &forms[nforms++];
    va_start(ap, format);
    vsnprintf(f->name, sizeof(f->name), format, ap);
    va_end(ap);
    f->first = ncases;
    f->count = 0;
    rng_state = 0x853c49e6748fea9bull ^ ((uint64_t)(g_str_hash(f->name) ^ seed_salt) << 17);
    return f;
}

struct x86_test_case *add_case(const uint8_t *code, unsigned length)
{
    struct x86_test_case *c;

    g_assert_cmpuint(ncases, <, LEGACY_MAX_CASES);
    g_assert_cmpuint(length, <=, sizeof(c->code));
    c = &cases[ncases++];
    forms[nforms - 1].count++;
    memset(c, 0, sizeof(*c));
    memcpy(c->code, code, length);
    c->length = (uint8_t)length;
    for (unsigned i = 0; i < 8; i++)
        c->gpr[i] = value32();
    c->rflags = rand64() & (X86_ARITH_FLAGS | X86_DF);
    c->memory_seed = (uint32_t)rand64() & 0x7fffffff;
    return c;
}

void set_flag(struct x86_test_case *c, uint64_t flag, bool on)
{
    c->rflags = (c->rflags & ~flag) | (on ? flag : 0);
}

void patch_offset(struct x86_test_case *c, unsigned offset, uint64_t value)
{
    g_assert_cmpuint(c->patches, <, X86_TEST_MAX_PATCHES);
    g_assert_cmpuint(offset, <=, X86_TEST_PAGE - 8);
    c->patch_offset[c->patches] = (uint16_t)offset;
    c->patch_value[c->patches++] = value;
}

void emit(struct enc *e, unsigned byte)
{
    g_assert_cmpuint(e->n, <, sizeof(e->b));
    e->b[e->n++] = (uint8_t)byte;
}

void emit16(struct enc *e, uint16_t v)
{
    emit(e, v & 0xff);
    emit(e, v >> 8);
}

void emit32(struct enc *e, uint32_t v)
{
    emit16(e, v & 0xffff);
    emit16(e, v >> 16);
}

void emit_mem(struct enc *e, unsigned reg, uint32_t target, uint64_t *gpr)
{
    emit_mem_avoiding(e, reg, 1u << reg, target, gpr);
}

int emit_mem_avoiding(struct enc *e, unsigned reg, unsigned avoid, uint32_t target,
                      uint64_t *gpr)
{
    unsigned base, index, scale;
    int32_t disp;

    switch (below(4)) {
    case 0:     /* [disp32] */
        emit(e, (reg & 7) << 3 | 5);
        emit32(e, target);
        return -1;
    case 1:     /* [base + disp8], base may be ESP (SIB) */
        do {
            base = below(8);
        } while ((avoid >> base) & 1);
        disp = (int8_t)rand64();
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
        } while (((avoid >> base) & 1) || ((avoid >> index) & 1) || index == 4 ||
                 index == base);
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
        } while (((avoid >> base) & 1) || base == 5);
        emit(e, (reg & 7) << 3 | (base == 4 ? 4 : base));
        if (base == 4)
            emit(e, 0x24);
        gpr[base] = target;
        break;
    }
    return (int)base;
}

uint32_t data_offset(unsigned size)
{
    uint32_t t = 256 + below(X86_TEST_PAGE - 512);

    return below(8) ? t & ~(size - 1) : t;
}

/*
 * Forms @name (one-byte @opcode) and "66 @name": @flag clear and set, in 64
 * and 16 cases.
 */
void flag_forms(const char *name, uint8_t opcode, uint64_t flag)
{
    begin_form("%s", name);
    for (unsigned k = 0; k < 64; k++)
        set_flag(add_case((const uint8_t[]){ opcode }, 1), flag, k & 1);
    begin_form("66 %s", name);
    for (unsigned k = 0; k < 16; k++)
        set_flag(add_case((const uint8_t[]){ 0x66, opcode }, 2), flag, k & 1);
}

void legacy_bcd_forms(unsigned per_al, unsigned per_base)
{
    static const char *const names[4] = { "daa", "das", "aaa", "aas" };
    static const uint8_t bases[] = { 0x0a, 0x00, 0x01, 0x02, 0x07, 0x10, 0x80, 0xff };
    /* AH: carries and borrows of AAA/AAS into it, its sign; two random. */
    static const uint8_t ah_samples[] = { 0x00, 0xff, 0x09, 0x7f, 0x80, 0xfe, 0, 0 };

    for (unsigned op = 0; op < 4; op++) {
        uint8_t code[1] = { 0x27 + 8 * op };

        begin_form("%s", names[op]);
        for (unsigned al = 0; al < 256; al++) {
            for (unsigned k = 0; k < per_al; k++) {
                struct x86_test_case *c = add_case(code, 1);
                unsigned pick = per_al < 32 ? below(8) : k >> 2;
                uint8_t ah = pick < G_N_ELEMENTS(ah_samples) - 2 ? ah_samples[pick]
                           : (uint8_t)rand64();

                c->gpr[X86_RAX] = (c->gpr[X86_RAX] & 0xffff0000u) | ah << 8 | al;
                set_flag(c, X86_AF, k & 1);
                set_flag(c, X86_CF, k & 2);
            }
        }
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(bases); i++) {
        uint8_t aam[2] = { 0xd4, bases[i] }, aad[2] = { 0xd5, bases[i] };

        begin_form("aam %#x", bases[i]);
        for (unsigned k = 0; k < per_base; k++) {
            struct x86_test_case *c = add_case(aam, 2);

            c->gpr[X86_RAX] = (c->gpr[X86_RAX] & ~0xffull) | (k & 0xff);
        }
        begin_form("aad %#x", bases[i]);
        for (unsigned k = 0; k < per_base; k++) {
            struct x86_test_case *c = add_case(aad, 2);

            c->gpr[X86_RAX] = (c->gpr[X86_RAX] & ~0xffull) | (k & 0xff);
            if (k < per_base / 2)
                c->gpr[X86_RAX] = (c->gpr[X86_RAX] & ~0xff00ull) | (rand64() & 0x0f00);
        }
    }
    flag_forms("salc", 0xd6, X86_CF);
}

const struct form *form_of(unsigned index)
{
    for (unsigned k = 0; k < nforms; k++)
        if (index >= forms[k].first && index < forms[k].first + forms[k].count)
            return &forms[k];
    g_assert_not_reached();
}

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

/*
 * Whether sigreturn really enters the runner's mode: INC EAX or AX (40),
 * which 64-bit mode would take as a REX prefix. Kernels without IA-32
 * emulation (ia32_emulation=0) refuse __USER32_CS, and without
 * CONFIG_MODIFY_LDT_SYSCALL there is no LDT.
 */
static bool host_runs(const struct legacy_runner *r)
{
    struct x86_test_case c = { .code = { 0x40 }, .length = 1, .gpr = { 0x1ffff } };
    struct x86_test_result *res = g_new0(struct x86_test_result, 1);
    char why[256];
    bool ok;

    ok = r->native(&c, 1, res, why, sizeof(why)) == 0 && res->vector == X86_EXC_BP &&
         res->gpr[X86_RAX] == r->probe_eax && res->sreg[1] == r->cs;
    g_free(res);
    return ok;
}

void run_legacy_family(const struct x86_test_family *fam, const struct legacy_runner *r)
{
    static const char *const mode_names[2] = { "protected mode", "compatibility mode" };
    static const struct legacy_runner *known;
    static bool runs;
    struct x86_test_result *host, *mimic;
    unsigned *bad = NULL, failures = 0, faults = 0, failed_forms = 0;
    char why[256];

    if (known != r) {
        known = r;
        runs = host_runs(r);
    }
    if (!runs) {
        g_test_skip("the host does not run such code in this process");
        return;
    }
    host = g_new(struct x86_test_result, LEGACY_BATCH);
    mimic = g_new(struct x86_test_result, LEGACY_BATCH);
    ncases = nforms = 0;
    fam->build();
    bad = g_new0(unsigned, nforms);
    for (unsigned first = 0; first < ncases; first += LEGACY_BATCH) {
        unsigned n = MIN(LEGACY_BATCH, ncases - first);

        if (r->native(cases + first, n, host, why, sizeof(why)) != 0)
            g_error("%s: %s", fam->name, why);
        for (unsigned i = 0; i < n; i++)
            faults += host[i].vector != X86_EXC_BP;
        for (unsigned mode = 0; mode < 2; mode++) {
            r->mimic(cases + first, n, mimic, mode == 1);
            for (unsigned i = 0; i < n; i++) {
                const struct form *f = form_of(first + i);

                if (same(&host[i], &mimic[i]))
                    continue;
                if (bad[f - forms]++ < 2 && failures < LEGACY_MAX_REPORTS)
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

static const struct legacy_runner *main_runner;

static void test_family(gconstpointer data)
{
    run_legacy_family(data, main_runner);
}

static void test_totals(void)
{
    g_test_message("x86 %s differential coverage: %u instruction forms, %u cases",
                   main_runner->what, total_forms, total_cases);
}

int legacy_main(int *argc, char ***argv, const char *prefix,
                const struct x86_test_family *families, unsigned count,
                const struct legacy_runner *r, const char *extra_name,
                void (*extra)(void))
{
    g_autofree char *extra_path = extra ? g_strdup_printf("%s/%s", prefix, extra_name) : NULL;
    g_autofree char *totals_path = g_strdup_printf("%s/totals", prefix);
    int status;

    seed_salt = x86_test_init(argc, argv);
    cases = g_new(struct x86_test_case, LEGACY_MAX_CASES);
    main_runner = r;
    x86_test_add_families(prefix, families, sizeof(families[0]),
                          offsetof(struct x86_test_family, name), count, test_family);
    if (extra)
        g_test_add_func(extra_path, extra);
    g_test_add_func(totals_path, test_totals);
    status = g_test_run();
    g_free(cases);
    return status;
}
