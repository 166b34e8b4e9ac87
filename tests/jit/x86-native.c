/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running test instructions on the host CPU and on Mimic's CPU.
 *
 * Host side, in a forked child: the code page is filled with int3 and the
 * instruction is copied in; raise(SIGUSR1) enters a handler that loads every
 * general register, RIP and RFLAGS from the case into the signal frame, so
 * sigreturn "returns" into the instruction. Whatever ends it (the int3 after
 * it, a branch target's int3, or a fault) lands in a second handler that
 * saves the registers from its frame and puts back the frame of the first
 * signal, so the child continues after raise(). No assembly is needed and
 * every register, including RSP, can hold any value (handlers run on an
 * alternate stack).
 */
#include "tests/jit/x86-native.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "engine/memory.h"
#include "jit/x86/cpu.h"

void x86_test_fill_data(const struct x86_test_case *c, uint8_t *page)
{
    uint64_t s = c->memory_seed * 0x9e3779b97f4a7c15ull + 1;

    for (unsigned i = 0; i < X86_TEST_PAGE; i += 8) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        memcpy(page + i, &s, 8);
    }
    /* High seed bit: every byte 0 or 1, for long runs of equal data. */
    if (c->memory_seed & 0x80000000u) {
        for (unsigned i = 0; i < X86_TEST_PAGE; i++)
            page[i] &= 1;
    }
    for (unsigned i = 0; i < c->patches; i++)
        memcpy(page + c->patch_offset[i], &c->patch_value[i], 8);
    if (c->image)
        memcpy(page, c->image, c->image_size);
}

static void fill_code(const struct x86_test_case *c, uint8_t *page)
{
    memset(page, 0xcc, X86_TEST_PAGE);
    memcpy(page + X86_TEST_CODE_OFFSET, c->code, c->length);
}

/* greg slots of gpr[0..15] (rax rcx rdx rbx rsp rbp rsi rdi r8..r15). */
static const int greg_index[16] = {
    REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
    REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

#define USER_FLAGS (X86_ARITH_FLAGS | X86_DF)

static const struct x86_test_case *child_case;
static struct x86_test_result *child_result;
static gregset_t saved_gregs;
/* The child's own x87/SSE state, put back after each case. */
static uint8_t saved_fpregs[512];
static volatile sig_atomic_t in_test;

static void enter_handler(int sig, siginfo_t *info, void *context)
{
    ucontext_t *uc = context;
    greg_t *g = uc->uc_mcontext.gregs;

    memcpy(saved_gregs, g, sizeof(saved_gregs));
    memcpy(saved_fpregs, uc->uc_mcontext.fpregs, sizeof(saved_fpregs));
    for (unsigned i = 0; i < 16; i++)
        g[greg_index[i]] = (greg_t)child_case->gpr[i];
    g[REG_RIP] = (greg_t)(X86_TEST_CODE_ADDR + X86_TEST_CODE_OFFSET);
    g[REG_EFL] = (greg_t)(((uint64_t)g[REG_EFL] & ~(uint64_t)USER_FLAGS) |
                          (child_case->rflags & USER_FLAGS));
    in_test = 1;
}

static void exit_handler(int sig, siginfo_t *info, void *context)
{
    ucontext_t *uc = context;
    greg_t *g = uc->uc_mcontext.gregs;

    if (!in_test)
        _exit(100 + sig);
    in_test = 0;
    for (unsigned i = 0; i < 16; i++)
        child_result->gpr[i] = (uint64_t)g[greg_index[i]];
    child_result->rip = (uint64_t)g[REG_RIP];
    child_result->rflags = (uint64_t)g[REG_EFL];
    child_result->signal = sig;
    memcpy(child_result->data, (void *)(uintptr_t)X86_TEST_DATA_ADDR, X86_TEST_PAGE);
    memcpy(g, saved_gregs, sizeof(saved_gregs));
    memcpy(uc->uc_mcontext.fpregs, saved_fpregs, sizeof(saved_fpregs));
}

static void child_main(const struct x86_test_case *cases, unsigned count,
                       struct x86_test_result *results)
{
    static const int exits[] = { SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGILL };
    static uint8_t altstack[65536];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
    struct sigaction sa = { .sa_flags = SA_SIGINFO | SA_ONSTACK };
    uint8_t *code, *data;

    code = mmap((void *)(uintptr_t)X86_TEST_CODE_ADDR, X86_TEST_PAGE,
                PROT_READ | PROT_WRITE | PROT_EXEC,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    data = mmap((void *)(uintptr_t)X86_TEST_DATA_ADDR, X86_TEST_PAGE,
                PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (code != (void *)(uintptr_t)X86_TEST_CODE_ADDR ||
        data != (void *)(uintptr_t)X86_TEST_DATA_ADDR)
        _exit(90);
    if (sigaltstack(&ss, NULL) != 0)
        _exit(91);
    sigemptyset(&sa.sa_mask);
    sa.sa_sigaction = enter_handler;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_sigaction = exit_handler;
    for (unsigned i = 0; i < sizeof(exits) / sizeof(exits[0]); i++)
        sigaction(exits[i], &sa, NULL);

    for (unsigned i = 0; i < count; i++) {
        child_case = &cases[i];
        child_result = &results[i];
        fill_code(&cases[i], code);
        x86_test_fill_data(&cases[i], data);
        raise(SIGUSR1);
        if (in_test)
            _exit(92);
    }
    _exit(0);
}

int x86_test_run_native(const struct x86_test_case *cases, unsigned count,
                        struct x86_test_result *results, char *why,
                        unsigned why_size)
{
    size_t bytes = (size_t)count * sizeof(*results);
    struct x86_test_result *shared;
    int status;
    pid_t pid;

    shared = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        snprintf(why, why_size, "mmap: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid = fork();
    if (pid == 0)
        child_main(cases, count, shared);
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        snprintf(why, why_size, "fork/wait: %s", strerror(errno));
        munmap(shared, bytes);
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(why, why_size, "native child failed (status 0x%x)", status);
        munmap(shared, bytes);
        return -1;
    }
    memcpy(results, shared, bytes);
    munmap(shared, bytes);
    return 0;
}

int x86_test_signal_of_vector(unsigned vector)
{
    switch (vector) {
    case X86_EXC_DE: return SIGFPE;
    case X86_EXC_DB:
    case X86_EXC_BP: return SIGTRAP;
    case X86_EXC_UD: return SIGILL;
    case X86_EXC_SS:
    case X86_EXC_AC: return SIGBUS;
    case X86_EXC_MF:
    case X86_EXC_XM: return SIGFPE;
    default: return SIGSEGV;
    }
}

void x86_test_run_mimic(const struct x86_test_case *cases, unsigned count,
                        struct x86_test_result *results)
{
    static uint8_t code[X86_TEST_PAGE] __attribute__((aligned(4096)));
    static uint8_t data[X86_TEST_PAGE] __attribute__((aligned(4096)));
    struct memory_map *map = memory_map_new("x86-test", 1ull << 40, NULL);
    struct x86_cpu *cpu = malloc(sizeof(*cpu));

    memory_map_add_ram(map, "code", X86_TEST_CODE_ADDR, X86_TEST_PAGE, code, NULL);
    memory_map_add_ram(map, "data", X86_TEST_DATA_ADDR, X86_TEST_PAGE, data, NULL);
    x86_cpu_init(cpu, map);
    for (unsigned i = 0; i < count; i++) {
        const struct x86_test_case *c = &cases[i];
        struct x86_test_result *r = &results[i];
        enum x86_exit exit;

        fill_code(c, code);
        x86_code_invalidate_range(cpu, X86_TEST_CODE_ADDR, X86_TEST_PAGE);
        x86_test_fill_data(c, data);
        x86_cpu_set_flat64(cpu);
        memcpy(cpu->gpr, c->gpr, sizeof(cpu->gpr));
        cpu->rip = X86_TEST_CODE_ADDR + X86_TEST_CODE_OFFSET;
        cpu->rflags = 0x202 | (c->rflags & USER_FLAGS);
        exit = x86_cpu_run(cpu, 64);
        memcpy(r->gpr, cpu->gpr, sizeof(r->gpr));
        r->rip = cpu->rip;
        r->rflags = cpu->rflags;
        r->signal = exit == X86_EXIT_EXCEPTION
                  ? x86_test_signal_of_vector(cpu->exception_vector) : 0;
        memcpy(r->data, data, X86_TEST_PAGE);
    }
    x86_cpu_destroy(cpu);
    free(cpu);
    memory_map_free(map);
}
