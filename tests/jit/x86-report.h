/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the differential tests of the x86 CPU share around x86-native.h:
 * comparing a host result with Mimic's, reporting a mismatch, the
 * MIMIC_X86_SEED salt and one GLib test per instruction family.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit/x86/cpu.h"
#include "tests/jit/x86-native.h"

/* RF is how the kernel resumes after a fault, not a result. */
#define X86_TEST_FLAGS_COMPARED (0xffffffffull & ~(uint64_t)X86_RF)

/* An instruction family: its name, and what adds its forms. */
struct x86_test_family {
    const char *name;
    void (*build)(void);
};

/* The signal, RIP, RFLAGS (but RF), all 16 registers and the data page agree. */
bool x86_test_same(const struct x86_test_result *a, const struct x86_test_result *b);

/* A report that starts "MISMATCH <name>: bytes" and the case's code bytes. */
GString *x86_test_report_begin(const struct x86_test_case *c, const char *format, ...)
    G_GNUC_PRINTF(2, 3);

/* A "gpr<n> host .. mimic .." line for each of the 16 registers that differ. */
void x86_test_report_gprs(GString *s, const struct x86_test_result *host,
                          const struct x86_test_result *mimic);

/*
 * A "data[<offset>]" line for each data page byte that differs, @max at
 * most; with the byte of the case's image before it ("in") when @with_input.
 */
void x86_test_report_data(GString *s, const struct x86_test_case *c,
                          const struct x86_test_result *host,
                          const struct x86_test_result *mimic, bool with_input,
                          unsigned max);

/* Log the report and free it. */
void x86_test_report_end(GString *s);

/*
 * g_test_init; returns the salt MIMIC_X86_SEED=n sets (0 without it), for
 * other cases than the fixed default set.
 */
uint32_t x86_test_init(int *argc, char ***argv);

/*
 * A test <prefix>/<name> running @fn on each of @count families of @size
 * bytes, each with its name (a const char *) at @name_offset.
 */
void x86_test_add_families(const char *prefix, const void *families, size_t size,
                           size_t name_offset, unsigned count, GTestDataFunc fn);

#define X86_TEST_ADD_FAMILIES(prefix, families, fn)                             \
    x86_test_add_families((prefix), (families), sizeof((families)[0]),         \
                          offsetof(__typeof__((families)[0]), name),            \
                          G_N_ELEMENTS(families), (fn))

/*
 * A family of forms with the same number of cases each, every case with a
 * state image of its own (c->image), run in batches of whole forms.
 */
struct x86_test_forms {
    const char *family;
    void (*build)(void);            /* adds the forms, counting them in *nforms */
    unsigned *nforms;
    unsigned cases_per_form;
    size_t image_size;
    /* Added to each form's generator seed, g_str_hash(name) * a constant. */
    uint64_t seed;
    const char *(*name)(unsigned form);
    /* Case @index of @form into @c and its @image, from generator state @s. */
    void (*make_case)(unsigned form, unsigned index, uint64_t *s,
                      struct x86_test_case *c, uint8_t *image, void *opaque);
    /* Clear what is not compared in both results; count what the family counts. */
    void (*mask)(unsigned form, struct x86_test_result *host,
                 struct x86_test_result *mimic, void *opaque);
    void (*report)(unsigned form, const struct x86_test_case *c,
                   const struct x86_test_result *host,
                   const struct x86_test_result *mimic);
    void *opaque;
};

/* Forms, cases and cases that end in an exception, over the families run. */
struct x86_test_totals {
    unsigned forms, cases, faults;
};

/*
 * Build the family's forms, run every case on the host and on Mimic and
 * compare (x86_test_same): reports the first mismatch of a form (eight at
 * most), logs the forms that differ and the family's counts (and adds them
 * to @totals), and fails the test on a mismatch.
 */
void x86_test_run_forms(const struct x86_test_forms *f, struct x86_test_totals *totals);
