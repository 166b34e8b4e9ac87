/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test guests on the JIT accelerator, compared with KVM: the same
 * firmware image must print the same serial output and end with the same
 * exit status on -accel jit as on -accel kvm. Where this host's KVM cannot
 * run what a guest does (PVM, a software KVM, refuses 32-bit paging) the
 * JIT is held to what a complete CPU prints instead (QEMU TCG's output).
 */
#include "tests/mimic-test.h"

#include <string.h>

#define GUEST_TIMEOUT 120

static char *guest_path(const char *name)
{
    g_autofree char *file = g_str_has_prefix(name, "jit/")
        ? g_strconcat("tests/", name, ".bin", NULL)
        : g_strconcat("tests/guests/", name, ".bin", NULL);

    return mimic_test_build_path(file);
}

static void run_guest(const char *accel, const char *name, int timeout_s,
                      struct run_result *r)
{
    g_autofree char *bin = guest_path(name);

    mimic_test_run((const char *[]){ "-accel", accel, "-m", "16M", "-nographic",
                                     "-bios", bin, "-no-reboot", "-device",
                                     "isa-debug-exit,iobase=0x501", NULL },
                   timeout_s, r);
}

/* The JIT's run of @name, then KVM's if it is usable; NULL kvm: skipped. */
static void run_both(const char *name, int timeout_s, struct run_result *jit,
                     struct run_result *kvm, gboolean *have_kvm)
{
    run_guest("jit", name, timeout_s, jit);
    *have_kvm = mimic_test_kvm_unusable() == NULL;
    if (*have_kvm)
        run_guest("kvm", name, timeout_s, kvm);
    else
        g_test_message("KVM side skipped: %s", mimic_test_kvm_unusable());
}

static void compare_finished(const char *name, const char *expected_text)
{
    struct run_result jit, kvm;
    gboolean have_kvm;

    run_both(name, GUEST_TIMEOUT, &jit, &kvm, &have_kvm);
    g_assert_false(jit.timed_out);
    if (expected_text)
        g_assert_cmpstr(jit.out, ==, expected_text);
    if (have_kvm) {
        g_assert_false(kvm.timed_out);
        g_assert_cmpstr(jit.out, ==, kvm.out);
        g_assert_cmpint(jit.status, ==, kvm.status);
        run_result_clear(&kvm);
    }
    run_result_clear(&jit);
}

#define TICKS "tick 1\r\ntick 2\r\ntick 3\r\ndone\r\n"

static void test_real_mode(void)
{
    compare_finished("real-mode", "mimic real-mode guest\r\n" TICKS);
}

static void test_long_mode(void)
{
    compare_finished("long-mode", "mimic long-mode guest\r\n" TICKS);
}

static void test_bad_io(void)
{
    struct run_result jit, kvm;
    gboolean have_kvm;

    run_both("bad-io", GUEST_TIMEOUT, &jit, &kvm, &have_kvm);
    g_assert_cmpint(jit.status, ==, 0);
    g_assert_cmpstr(jit.out, ==, "mimic bad-io guest\r\n"
                                 "bad-io: port 0x1234 reads ff\r\n"
                                 "bad-io: mmio reads ffffffff\r\n"
                                 "done\r\n");
    /* Each unassigned address is logged once, however often it is hit. */
    g_assert_cmpuint(count_occurrences(jit.err, "unassigned 0x1234 "), ==, 1);
    g_assert_cmpuint(count_occurrences(jit.err, "unassigned 0xfeb00000 "), ==, 1);
    if (have_kvm) {
        g_assert_cmpstr(jit.out, ==, kvm.out);
        g_assert_cmpint(jit.status, ==, kvm.status);
        run_result_clear(&kvm);
    }
    run_result_clear(&jit);
}

/*
 * 32-bit paging: the JIT turns it on, like QEMU TCG and hardware (its
 * output is TCG's); this host's KVM may refuse it, and then the guest says
 * so in its banner: everything after the banner must still agree.
 */
static void test_protected_mode(void)
{
    static const char banner[] = "mimic protected-mode guest, paging on\r\n";
    struct run_result jit, kvm;
    gboolean have_kvm;

    run_both("protected-mode", GUEST_TIMEOUT, &jit, &kvm, &have_kvm);
    g_assert_false(jit.timed_out);
    g_assert_cmpint(jit.status, ==, 0);
    g_assert_cmpstr(jit.out, ==, "mimic protected-mode guest, paging on\r\n" TICKS);
    if (have_kvm) {
        const char *rest = strstr(kvm.out, "\r\n");

        g_assert_nonnull(rest);
        if (!g_str_has_prefix(kvm.out, banner))
            g_test_message("KVM refused 32-bit paging: %.*s",
                           (int)(rest - kvm.out), kvm.out);
        g_assert_cmpstr(jit.out + strlen(banner) - 2, ==, rest);
        g_assert_cmpint(jit.status, ==, kvm.status);
        run_result_clear(&kvm);
    }
    run_result_clear(&jit);
}

/* The ticker never ends: both print the same lines for the seconds given. */
static void test_ticker(void)
{
    struct run_result jit, kvm;
    gboolean have_kvm;
    g_auto(GStrv) jit_lines = NULL, kvm_lines = NULL;
    unsigned n;

    run_both("ticker", 3, &jit, &kvm, &have_kvm);
    g_assert_true(jit.timed_out);
    g_assert_true(g_str_has_prefix(jit.out, "mimic ticker guest\r\ntick 1\r\ntick 2\r\n"));
    if (!have_kvm) {
        run_result_clear(&jit);
        return;
    }
    jit_lines = g_strsplit(jit.out, "\r\n", -1);
    kvm_lines = g_strsplit(kvm.out, "\r\n", -1);
    /* The last line of each may be cut short. */
    n = MIN(g_strv_length(jit_lines), g_strv_length(kvm_lines)) - 1;
    g_assert_cmpuint(n, >=, 3);
    for (unsigned i = 0; i < n; i++)
        g_assert_cmpstr(jit_lines[i], ==, kvm_lines[i]);
    run_result_clear(&jit);
    run_result_clear(&kvm);
}

/*
 * Exceptions in 64-bit mode, ending in a triple fault (the machine resets;
 * -no-reboot makes that the end): the same on both accelerators.
 */
static void test_exceptions(void)
{
    compare_finished("jit/exceptions",
                     "mimic exceptions guest\r\n"
                     "vector 0 ring 0\r\n"
                     "vector 6 ring 0\r\n"
                     "vector 13 error 0000 ring 0\r\n"
                     "vector 13 error 1000 ring 0\r\n"
                     "vector 11 error 0038 ring 0\r\n"
                     "vector 14 error 0000 cr2 0000000000180010 ring 0\r\n"
                     "vector 14 error 0003 cr2 0000000000181020 ring 0\r\n"
                     "vector 14 error 0011 cr2 0000000000182000 ring 0\r\n"
                     "vector 12 error 0000 ring 0 on ist1\r\n"
                     "vector 8 error 0000 ring 0 on ist1\r\n"
                     "accessed bit set\r\n"
                     "triple fault next\r\n");
}

/* A guest this host's KVM cannot run faithfully: the JIT alone, held to @expected. */
static void run_jit_only(const char *name, const char *expected, const char *why)
{
    struct run_result jit;

    run_guest("jit", name, GUEST_TIMEOUT, &jit);
    g_test_message("%s: not compared with KVM: %s", name, why);
    g_assert_false(jit.timed_out);
    g_assert_cmpstr(jit.out, ==, expected);
    g_assert_cmpint(jit.status, ==, 0);
    run_result_clear(&jit);
}

/*
 * Ring 3 with SYSCALL/SYSRETQ, the TSS I/O bitmap and faults that switch
 * to TSS.RSP0. QEMU TCG prints exactly this; PVM does not run SYSCALL from
 * a guest's ring 3 to its ring 0 faithfully (R11 and RFLAGS differ).
 */
static void test_privilege(void)
{
    run_jit_only("jit/privilege",
                 "mimic privilege guest\r\n"
                 "in ring 3\r\n"
                 "syscall in ring 0: return address and flags as expected\r\n"
                 "back in ring 3 after sysretq\r\n"
                 "vector 13 error 0000 ring 3 on rsp0\r\n"
                 "vector 13 error 0000 ring 3 on rsp0\r\n"
                 "vector 13 error 0000 ring 3 on rsp0\r\n"
                 "vector 13 error 0000 ring 3 on rsp0\r\n"
                 "vector 14 error 0005 cr2 0000000000183000 ring 3 on rsp0\r\n"
                 "vector 14 error 0007 cr2 0000000000183000 ring 3 on rsp0\r\n"
                 "vector 14 error 0007 cr2 0000000000181000 ring 3 on rsp0\r\n"
                 "vector 13 error 0010 ring 3 on rsp0\r\n"
                 "done\r\n",
                 "PVM runs SYSCALL between the guest's rings unfaithfully");
}

/*
 * INT n and gate checks. Error codes name the IDT entry as vector << 3 | IDT
 * | EXT (SDM vol. 3, 6.13; AMD APM vol. 2, 8.4.1), also in long mode, and
 * EXT is set for a fault while delivering #UD. (QEMU TCG scales the index
 * by 16 in long mode and leaves EXT clear: 0x62, 0x512, 0x522, 0x32.)
 */
static void test_interrupts(void)
{
    run_jit_only("jit/interrupts",
                 "mimic interrupts guest\r\n"
                 "vector 3 ring 0\r\n"
                 "vector 6 ring 0\r\n"
                 "vector 11 error 0033 ring 0\r\n"
                 "vector 80 ring 3 on rsp0\r\n"
                 "vector 13 error 028a ring 3 on rsp0\r\n"
                 "vector 11 error 0292 ring 3 on rsp0\r\n"
                 "vector 13 error 001a ring 3 on rsp0\r\n"
                 "done\r\n",
                 "PVM cannot run INT n");
}

/*
 * Hardware task switches in 32-bit protected mode (SDM vol. 3, 7.3): JMP,
 * CALL through a task gate and IRET with NT, INT n, #GP and #DF through
 * task gates, busy and malformed TSSes, a 16-bit TSS, CR3 from the TSS
 * with paging. QEMU TCG prints exactly this except the "vector 1" line: it
 * ignores the TSS's T flag, which the SDM says raises #DB on entering the
 * task (7.2.1, 17.3.1.5); the SDM wins. PVM cannot emulate a task switch
 * at all (KVM internal error: instruction emulation failed).
 */
static void test_tasks(void)
{
    run_jit_only("jit/tasks",
                 "mimic tasks guest\r\n"
                 "jmp to task A\r\n"
                 "in task A: TR 0028 NT 0 link 0000 CR0.TS 1\r\n"
                 "main again: TR 0020 NT 0 link 0000 CR0.TS 1 busy: 0020=1 0028=0\r\n"
                 "TSS A saved: EIP ok EFLAGS 00000002 EAX 12345678 ESP 00030000"
                 " CS 0008 SS 0010 DS 0010\r\n"
                 "call through a task gate to task B\r\n"
                 "in task B: TR 0030 NT 1 link 0020 CR0.TS 1\r\n"
                 "vector 13 error 0020 in task 0030\r\n"
                 "vector 13 error 0030 in task 0030\r\n"
                 "main again: TR 0020 NT 0 link 0000 CR0.TS 1 busy: 0020=1 0030=0\r\n"
                 "TSS B saved: EIP ok EFLAGS 00000002\r\n"
                 "int 0x40 through a task gate to task C (T flag)\r\n"
                 "vector 1, DR6.BT 1 in task 0040\r\n"
                 "in task C: TR 0040 NT 1 link 0020 CR0.TS 1\r\n"
                 "main again: TR 0020 NT 0 link 0000 CR0.TS 1\r\n"
                 "#GP through a task gate\r\n"
                 "in task GP: error 1238 TR 0050 NT 1 link 0020 CR0.TS 1\r\n"
                 "main TSS saved: EIP ok\r\n"
                 "main again: TR 0020 NT 0 link 0000 CR0.TS 1\r\n"
                 "#GP without a gate: double fault through a task gate\r\n"
                 "in task DF: error 0000 TR 0048 NT 1 link 0020 CR0.TS 1\r\n"
                 "main again: TR 0020 NT 0 link 0000 CR0.TS 1\r\n"
                 "jmp to a TSS with limit 0x50\r\n"
                 "vector 10 error 0058 in task 0020\r\n"
                 "call to a not-present TSS\r\n"
                 "vector 11 error 0060 in task 0020\r\n"
                 "call to a 16-bit TSS\r\n"
                 "in the 16-bit task: TR 0068 NT 1 link 0020 CR0.TS 1\r\n"
                 "main again: TR 0020 NT 0 link 0000 CR0.TS 1 busy: 0068=0\r\n"
                 "16-bit TSS saved: IP ok FLAGS 0002 AX beef SP 9000 CS 0070 SS 0078\r\n"
                 "paging on, call to a TSS with its own CR3\r\n"
                 "main: [400000] 11111111\r\n"
                 "in task P: CR3 00004000 [400000] 22222222\r\n"
                 "main again: CR3 00002000 [400000] 11111111\r\n"
                 "done\r\n",
                 "PVM cannot emulate task switches");
}

/*
 * Debug exceptions and NMIs (SDM vol. 3, ch. 17; 6.7). PVM has no data
 * breakpoints, no MOV SS delay of single-step and cannot run ICEBP. QEMU
 * TCG prints the same but where the SDM says otherwise, and the SDM wins:
 * TCG does not mask the low bits of a breakpoint address by LEN (17.2.5:
 * DR1 = DATA + 9, LEN 4 must cover DATA + 8 to + 11, not a byte after),
 * reports a DR3 hit in DR6 as B2, pushes RF = 0 for the traps between REP
 * iterations and for the DR7.GD fault (17.3.1.1 says 1), has no DR7.GD
 * (17.2.4) and takes ICEBP as #UD. The NMI lines are TCG's too.
 */
static void test_debug(void)
{
    run_jit_only("jit/debug",
                 "mimic debug guest\r\n"
                 "single-step\r\n"
                 "#DB dr6 4000 at +01 rf 0\r\n"
                 "#DB dr6 4000 at +06 rf 0\r\n"
                 "#DB dr6 4000 at +08 rf 0\r\n"
                 "#DB dr6 4000 at +09 rf 0\r\n"
                 "#DB dr6 4000 at +11 rf 0\r\n"
                 "#DB dr6 4000 at +12 rf 0\r\n"
                 "single-step over mov ss\r\n"
                 "#DB dr6 4000 at +01 rf 0\r\n"
                 "#DB dr6 4000 at +04 rf 0\r\n"
                 "#DB dr6 4000 at +05 rf 0\r\n"
                 "#DB dr6 4000 at +06 rf 0\r\n"
                 "#DB dr6 4000 at +0e rf 0\r\n"
                 "#DB dr6 4000 at +0f rf 0\r\n"
                 "single-step over rep stosb\r\n"
                 "#DB dr6 4000 at +00 rf 1\r\n"
                 "#DB dr6 4000 at +00 rf 1\r\n"
                 "#DB dr6 4000 at +02 rf 0\r\n"
                 "#DB dr6 4000 at +03 rf 0\r\n"
                 "#DB dr6 4000 at +0b rf 0\r\n"
                 "#DB dr6 4000 at +0c rf 0\r\n"
                 "single-step over syscall, FMASK clears TF\r\n"
                 "#DB dr6 4000 at +00 rf 0\r\n"
                 "#DB dr6 4000 at +01 rf 0\r\n"
                 "#DB dr6 4000 at +09 rf 0\r\n"
                 "#DB dr6 4000 at +0a rf 0\r\n"
                 "single-step over syscall, FMASK keeps TF\r\n"
                 "#DB dr6 4000 at +00 rf 0\r\n"
                 "#DB dr6 4000 at +02 rf 0\r\n"
                 "#DB dr6 4000 at +03 rf 0\r\n"
                 "#DB dr6 4000 at +f4 rf 0\r\n"
                 "#DB dr6 4000 at +f5 rf 0\r\n"
                 "#DB dr6 4000 at +fd rf 0\r\n"
                 "#DB dr6 4000 at +fe rf 0\r\n"
                 "instruction breakpoint, twice\r\n"
                 "#DB dr6 0001 at +00 rf 0\r\n"
                 "#DB dr6 0001 at +00 rf 0\r\n"
                 "write breakpoint\r\n"
                 "#DB dr6 0002 at +00 rf 0\r\n"
                 "#DB dr6 0002 at +00 rf 0\r\n"
                 "#DB dr6 0002 at +00 rf 0\r\n"
                 "#DB dr6 0002 at +00 rf 0\r\n"
                 "#DB dr6 0002 at +00 rf 0\r\n"
                 "read/write breakpoints\r\n"
                 "#DB dr6 0004 at +00 rf 0\r\n"
                 "#DB dr6 0004 at +00 rf 0\r\n"
                 "#DB dr6 0004 at +00 rf 0\r\n"
                 "#DB dr6 0004 at +00 rf 0\r\n"
                 "#DB dr6 0008 at +00 rf 0\r\n"
                 "#DB dr6 0008 at +00 rf 0\r\n"
                 "#DB dr6 0004 at +00 rf 0\r\n"
                 "rep movs\r\n"
                 "#DB dr6 0001 at +00 rf 1\r\n"
                 "at the trap rcx 05 rsi +2c, at the end rsi +40\r\n"
                 "general detect\r\n"
                 "#DB dr6 2000 at +00 rf 1\r\n"
                 "dr7.gd in the handler and after it: 0\r\n"
                 "dr5 dr7 dr6: 00000500 00000400 ffff0ff0\r\n"
                 "vector 6 ring 0\r\n"
                 "vector 6 ring 0\r\n"
                 "icebp\r\n"
                 "#DB dr6 0000 at +00 rf 0\r\n"
                 "self nmi with IF = 0\r\n"
                 "nmi handler, count 1\r\n"
                 "nmi handler, count 2\r\n"
                 "second nmi after iret\r\n"
                 "done\r\n",
                 "PVM lacks data breakpoints, the MOV SS delay and ICEBP");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/jit/guests/real-mode", test_real_mode);
    g_test_add_func("/jit/guests/protected-mode", test_protected_mode);
    g_test_add_func("/jit/guests/long-mode", test_long_mode);
    g_test_add_func("/jit/guests/bad-io", test_bad_io);
    g_test_add_func("/jit/guests/ticker", test_ticker);
    g_test_add_func("/jit/guests/exceptions", test_exceptions);
    g_test_add_func("/jit/guests/privilege", test_privilege);
    g_test_add_func("/jit/guests/interrupts", test_interrupts);
    g_test_add_func("/jit/guests/tasks", test_tasks);
    g_test_add_func("/jit/guests/debug", test_debug);
    return g_test_run();
}
