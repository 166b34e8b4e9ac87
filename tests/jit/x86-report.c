/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Comparing and reporting results, and registering the differential tests. */
#include "tests/jit/x86-report.h"

#include <signal.h>
#include <stdarg.h>
#include <string.h>

bool x86_test_same(const struct x86_test_result *a, const struct x86_test_result *b)
{
    return a->signal == b->signal && a->rip == b->rip &&
           ((a->rflags ^ b->rflags) & X86_TEST_FLAGS_COMPARED) == 0 &&
           memcmp(a->gpr, b->gpr, sizeof(a->gpr)) == 0 &&
           memcmp(a->data, b->data, sizeof(a->data)) == 0;
}

GString *x86_test_report_begin(const struct x86_test_case *c, const char *format, ...)
{
    GString *s = g_string_new("MISMATCH ");
    va_list ap;

    va_start(ap, format);
    g_string_append_vprintf(s, format, ap);
    va_end(ap);
    g_string_append(s, ": bytes");
    for (unsigned i = 0; i < c->length; i++)
        g_string_append_printf(s, " %02x", c->code[i]);
    return s;
}

void x86_test_report_gprs(GString *s, const struct x86_test_result *host,
                          const struct x86_test_result *mimic)
{
    for (unsigned i = 0; i < 16; i++)
        if (host->gpr[i] != mimic->gpr[i])
            g_string_append_printf(s, "\n  gpr%u host %016llx mimic %016llx", i,
                                   (unsigned long long)host->gpr[i],
                                   (unsigned long long)mimic->gpr[i]);
}

void x86_test_report_data(GString *s, const struct x86_test_case *c,
                          const struct x86_test_result *host,
                          const struct x86_test_result *mimic, bool with_input,
                          unsigned max)
{
    for (unsigned i = 0, shown = 0; i < X86_TEST_PAGE && shown < max; i++) {
        if (host->data[i] == mimic->data[i])
            continue;
        if (with_input)
            g_string_append_printf(s, "\n  data[%#x] in %02x host %02x mimic %02x", i,
                                   c->image && i < c->image_size ? c->image[i] : 0,
                                   host->data[i], mimic->data[i]);
        else
            g_string_append_printf(s, "\n  data[%#x] host %02x mimic %02x", i,
                                   host->data[i], mimic->data[i]);
        shown++;
    }
}

void x86_test_report_end(GString *s)
{
    g_test_message("%s", s->str);
    g_string_free(s, TRUE);
}

uint32_t x86_test_init(int *argc, char ***argv)
{
    const char *salt = g_getenv("MIMIC_X86_SEED");

    g_test_init(argc, argv, NULL);
    return salt ? (uint32_t)g_ascii_strtoull(salt, NULL, 0) : 0;
}

void x86_test_add_families(const char *prefix, const void *families, size_t size,
                           size_t name_offset, unsigned count, GTestDataFunc fn)
{
    for (unsigned i = 0; i < count; i++) {
        const char *family = (const char *)families + i * size;
        const char *name;
        g_autofree char *path = NULL;

        memcpy(&name, family + name_offset, sizeof(name));
        path = g_strdup_printf("%s/%s", prefix, name);
        g_test_add_data_func(path, family, fn);
    }
}

#define FORMS_BATCH 2048

void x86_test_run_forms(const struct x86_test_forms *f, struct x86_test_totals *totals)
{
    unsigned nforms;
    struct x86_test_case *cases = g_new(struct x86_test_case, FORMS_BATCH);
    struct x86_test_result *host = g_new(struct x86_test_result, FORMS_BATCH);
    struct x86_test_result *mimic = g_new(struct x86_test_result, FORMS_BATCH);
    uint8_t *images = g_malloc((size_t)FORMS_BATCH * f->image_size);
    unsigned *of = g_new(unsigned, FORMS_BATCH);
    unsigned *bad;
    unsigned ncases = 0, failures = 0, faults = 0, reports = 0;
    char why[256];

    *f->nforms = 0;
    f->build();
    nforms = *f->nforms;
    bad = g_new0(unsigned, nforms);
    for (unsigned k = 0; k < nforms;) {
        unsigned n = 0;

        for (; k < nforms && n + f->cases_per_form <= FORMS_BATCH; k++) {
            uint64_t s = g_str_hash(f->name(k)) * 0x9e3779b97f4a7c15ull + f->seed;

            for (unsigned i = 0; i < f->cases_per_form; i++, n++) {
                f->make_case(k, i, &s, &cases[n], images + (size_t)n * f->image_size,
                             f->opaque);
                of[n] = k;
            }
        }
        if (x86_test_run_native(cases, n, host, why, sizeof(why)) != 0)
            g_error("%s: %s", f->family, why);
        x86_test_run_mimic(cases, n, mimic);
        for (unsigned i = 0; i < n; i++) {
            f->mask(of[i], &host[i], &mimic[i], f->opaque);
            faults += host[i].signal != SIGTRAP;
            if (x86_test_same(&host[i], &mimic[i]))
                continue;
            failures++;
            if (bad[of[i]]++ == 0 && reports++ < 8)
                f->report(of[i], &cases[i], &host[i], &mimic[i]);
        }
        ncases += n;
    }
    for (unsigned k = 0; k < nforms; k++)
        if (bad[k])
            g_test_message("form %s: %u of %u cases differ", f->name(k), bad[k],
                           f->cases_per_form);
    g_test_message("family %s: %u forms, %u cases (%u end in an exception), %u cases differ",
                   f->family, nforms, ncases, faults, failures);
    totals->forms += nforms;
    totals->cases += ncases;
    totals->faults += faults;
    g_free(bad);
    g_free(of);
    g_free(images);
    g_free(cases);
    g_free(host);
    g_free(mimic);
    if (failures)
        g_test_fail();
}
