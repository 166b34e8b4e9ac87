/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Differential testing of the x86 CPU: test cases, running them on the host
 * CPU in a child process, and on Mimic's interpreter, with the same memory.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Guest (and, in the child, host) addresses of the two test pages. */
#define X86_TEST_CODE_ADDR 0x10000000ull
#define X86_TEST_DATA_ADDR 0x20000000ull
#define X86_TEST_PAGE 4096u
/* The instruction under test sits here in the code page (branches go both ways). */
#define X86_TEST_CODE_OFFSET 0x800u

#define X86_TEST_MAX_PATCHES 2

/* Linux x86-64 user selectors (__USER32_CS, __USER_DS, __USER_CS). */
#define X86_TEST_USER32_CS 0x23
#define X86_TEST_USER_DS 0x2b
#define X86_TEST_USER_CS 0x33
/*
 * The 16-bit segments the 16-bit runner puts in the LDT (RPL 3): code at
 * the code page, DS at the data page, ES and SS a little above it (so that
 * using the wrong segment shows).
 */
#define X86_TEST_LDT_CS16 0x07
#define X86_TEST_LDT_DS16 0x0f
#define X86_TEST_LDT_ES16 0x17
#define X86_TEST_LDT_SS16 0x1f
#define X86_TEST_ES16_BASE 0x100u
#define X86_TEST_SS16_BASE 0x200u

struct x86_test_case {
    uint8_t code[32];
    uint8_t length;
    uint64_t gpr[16];
    uint64_t rflags;            /* arithmetic flags and DF only */
    uint32_t memory_seed;       /* data page contents */
    uint8_t patches;            /* 8-byte values written over the data page */
    uint16_t patch_offset[X86_TEST_MAX_PATCHES];
    uint64_t patch_value[X86_TEST_MAX_PATCHES];
    /* Copied over the start of the data page last, when set (FP tests). */
    const uint8_t *image;
    uint16_t image_size;
};

struct x86_test_result {
    uint64_t gpr[16];
    uint64_t rip, rflags;
    int signal;                 /* SIGTRAP after the int3 that follows, or the fault */
    uint8_t vector;             /* its exception vector (3 for the int3) */
    uint32_t error_code;        /* its error code, where the vector has one */
    uint16_t sreg[4];           /* ES, CS, SS, DS selectors afterwards */
    uint8_t data[X86_TEST_PAGE];
};

/* Fill @page with the case's initial data page. */
void x86_test_fill_data(const struct x86_test_case *c, uint8_t *page);

/*
 * Run @count cases natively in a forked child; fills @results. Returns 0, or
 * -1 with @why set when the child died.
 */
int x86_test_run_native(const struct x86_test_case *cases, unsigned count,
                        struct x86_test_result *results, char *why,
                        unsigned why_size);

/* The same cases on Mimic's CPU (flat 64-bit user mode). */
void x86_test_run_mimic(const struct x86_test_case *cases, unsigned count,
                        struct x86_test_result *results);

/*
 * The same in compatibility mode (32-bit code, CS = __USER32_CS, DS = ES =
 * SS = __USER_DS): EAX..EDI are the low halves of gpr[0..7], the code and
 * data pages lie below 4 GiB. Results hold 32-bit registers and EIP.
 */
int x86_test_run_native32(const struct x86_test_case *cases, unsigned count,
                          struct x86_test_result *results, char *why,
                          unsigned why_size);

/*
 * The 32-bit cases on Mimic's CPU at CPL 3 with Linux's GDT: in 32-bit
 * protected mode, or in compatibility mode when @long_mode is set.
 */
void x86_test_run_mimic32(const struct x86_test_case *cases, unsigned count,
                          struct x86_test_result *results, bool long_mode);

/*
 * The same with 16-bit code: CS = X86_TEST_LDT_CS16 (base X86_TEST_CODE_ADDR,
 * IP = X86_TEST_CODE_OFFSET), DS = X86_TEST_LDT_DS16 (base X86_TEST_DATA_ADDR:
 * offsets 0..0xfff are the data page), ES and SS the other two; all limits
 * 0xffff, SS 16-bit (B = 0). Results hold EAX..EDI and EIP as for 32-bit
 * code; on Mimic at CPL 3 in protected or (@long_mode) compatibility mode.
 */
int x86_test_run_native16(const struct x86_test_case *cases, unsigned count,
                          struct x86_test_result *results, char *why,
                          unsigned why_size);
void x86_test_run_mimic16(const struct x86_test_case *cases, unsigned count,
                          struct x86_test_result *results, bool long_mode);

/* The host signal Linux sends for exception @vector in user mode. */
int x86_test_signal_of_vector(unsigned vector);
