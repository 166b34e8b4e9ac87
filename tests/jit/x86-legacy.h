/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the differential tests of 32-bit and 16-bit code share: lists of
 * forms and their cases (random registers, flags and data page), encoding
 * helpers, and running a family on the host and on Mimic (in protected and
 * in compatibility mode) with EAX..EDI, EIP, EFLAGS, ES/CS/SS/DS, the
 * exception (and error code) and the data page compared.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "tests/jit/x86-native.h"
#include "tests/jit/x86-report.h"

#define LEGACY_MAX_CASES 65536
#define LEGACY_MAX_FORMS 512
#define LEGACY_BATCH 2048
#define LEGACY_MAX_REPORTS 6

struct form {
    char name[64];
    unsigned first, count;
};

extern struct x86_test_case *cases;
extern unsigned ncases;
extern struct form forms[LEGACY_MAX_FORMS];
extern unsigned nforms;
extern unsigned total_forms, total_cases;
/* MIMIC_X86_SEED=n explores other random cases than the fixed default set. */
extern uint32_t seed_salt;

/* The generator, seeded by begin_form() from the form's name and the salt. */
uint64_t rand64(void);
unsigned below(unsigned n);
/* A 32-bit operand: an edge value (maybe negated), a small one or random. */
uint32_t value32(void);

/* A new form, its cases added next. */
struct form *begin_form(const char *format, ...) G_GNUC_PRINTF(1, 2);
/* A case of the current form: random registers, flags and data page. */
struct x86_test_case *add_case(const uint8_t *code, unsigned length);
void set_flag(struct x86_test_case *c, uint64_t flag, bool on);
/* Store @value at data page offset @offset (below X86_TEST_PAGE - 8). */
void patch_offset(struct x86_test_case *c, unsigned offset, uint64_t value);

/* An encoding in progress. */
struct enc {
    uint8_t b[24];
    unsigned n;
};

void emit(struct enc *e, unsigned byte);
void emit16(struct enc *e, uint16_t v);
void emit32(struct enc *e, uint32_t v);

/*
 * ModRM (and SIB, displacement) for a 32-bit memory operand at address
 * @target with register field @reg; base and index registers other than
 * @reg get values in @gpr that make the address (SDM vol. 2, tables 2-2, 2-3).
 */
void emit_mem(struct enc *e, unsigned reg, uint32_t target, uint64_t *gpr);
/* The same with base and index registers not in the mask @avoid; returns the base (or -1). */
int emit_mem_avoiding(struct enc *e, unsigned reg, unsigned avoid, uint32_t target,
                      uint64_t *gpr);

/* A data page offset for an operand of @size bytes, mostly aligned. */
uint32_t data_offset(unsigned size);

/*
 * Forms @name (one-byte @opcode) and "66 @name": @flag clear and set, in 64
 * and 16 cases.
 */
void flag_forms(const char *name, uint8_t opcode, uint64_t flag);

/*
 * DAA, DAS, AAA, AAS: every AL, each with @per_al cases (AF and CF in all
 * four ways, then AH from a list of edges: 32 takes all); AAM and AAD with
 * eight bases, @per_base cases each; SALC.
 */
void legacy_bcd_forms(unsigned per_al, unsigned per_base);

/* Which form case @index belongs to. */
const struct form *form_of(unsigned index);

/* How a test runs its cases: on the host, and on Mimic in either mode. */
struct legacy_runner {
    const char *what;           /* "32-bit", "16-bit" */
    int (*native)(const struct x86_test_case *cases, unsigned count,
                  struct x86_test_result *results, char *why, unsigned why_size);
    void (*mimic)(const struct x86_test_case *cases, unsigned count,
                  struct x86_test_result *results, bool long_mode);
    /* INC AX/EAX (40) with EAX = 0x1ffff gives this, and CS is @cs. */
    uint32_t probe_eax;
    uint16_t cs;
};

/*
 * Build the family's cases, run them on the host and on Mimic in both modes
 * and compare; reports mismatches and the family's counts. Skips the test
 * when the host does not run such code in this process.
 */
void run_legacy_family(const struct x86_test_family *fam, const struct legacy_runner *r);

/*
 * The test program: g_test_init (MIMIC_X86_SEED), a test <prefix>/<name>
 * per family run with @r, <prefix>/<extra_name> running @extra (when set),
 * and <prefix>/totals logging the forms and cases run.
 */
int legacy_main(int *argc, char ***argv, const char *prefix,
                const struct x86_test_family *families, unsigned count,
                const struct legacy_runner *r, const char *extra_name,
                void (*extra)(void));
