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
 * signal, so the child continues after raise(). No assembly is needed (but
 * for DS, ES and two sticky flags below) and every register, including RSP, can hold any
 * value (handlers run on an alternate stack).
 *
 * Compatibility mode: Linux's 64-bit sigreturn restores CS and SS from the
 * frame (UC_SIGCONTEXT_SS, UC_STRICT_RESTORE_SS: see the kernel's
 * tools/testing/selftests/x86/sigreturn.c), so a frame with CS =
 * __USER32_CS "returns" into 32-bit code (AMD APM vol. 2, 1.2.4). DS and ES
 * are not in the 64-bit frame: the handler loads them, and the exit handler
 * reads what the instruction left there.
 *
 * 16-bit code: the child puts a 16-bit code segment and three 16-bit data
 * segments in its LDT (modify_ldt(2)), based at the code page and in the
 * data page; the frame "returns" to CS = that code segment and SS = a
 * 16-bit stack segment (the kernel's espfix64 keeps ESP[31:16] across the
 * IRET to a 16-bit SS), the handler loads DS and ES.
 */
#include "tests/jit/x86-native.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <asm/ldt.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "engine/memory.h"
#include "jit/x86/cpu.h"
#include "jit/x86/system.h"

#ifndef UC_SIGCONTEXT_SS
#define UC_SIGCONTEXT_SS 0x2
#endif
#ifndef UC_STRICT_RESTORE_SS
#define UC_STRICT_RESTORE_SS 0x4
#endif

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
/* How the child runs its cases: 64-bit, 32-bit or 16-bit code. */
enum native_mode { NATIVE_64, NATIVE_32, NATIVE_16 };
static enum native_mode child_mode;
static uint16_t saved_ds, saved_es;

static uint16_t read_ds(void)
{
    uint16_t v;

    __asm__ volatile("mov %%ds, %0" : "=r"(v));
    return v;
}

static uint16_t read_es(void)
{
    uint16_t v;

    __asm__ volatile("mov %%es, %0" : "=r"(v));
    return v;
}

static void load_ds_es(uint16_t ds, uint16_t es)
{
    __asm__ volatile("mov %0, %%ds\n\tmov %1, %%es" : : "r"(ds), "r"(es));
}

/* CS is bits 15:0 of REG_CSGSFS, SS bits 63:48 (struct sigcontext_64). */
static uint64_t with_cs_ss(uint64_t csgsfs, uint16_t cs, uint16_t ss)
{
    return (csgsfs & 0x0000ffffffff0000ull) | cs | (uint64_t)ss << 48;
}

/*
 * Linux's sigreturn takes only the arithmetic flags, DF, TF, AC and RF from
 * the frame: NT and ID that a POPF under test set would stay set in the
 * child for the cases after it. Clear them.
 */
static void clear_sticky_flags(void)
{
    __asm__ volatile("pushfq\n\tandq %0, (%%rsp)\n\tpopfq"
                     : : "i"(~(X86_NT | X86_ID)) : "cc", "memory");
}

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
    if (child_mode != NATIVE_64) {
        bool code16 = child_mode == NATIVE_16;
        uint16_t cs = code16 ? X86_TEST_LDT_CS16 : X86_TEST_USER32_CS;
        uint16_t ss = code16 ? X86_TEST_LDT_SS16 : X86_TEST_USER_DS;

        for (unsigned i = 0; i < 8; i++)
            g[greg_index[i]] = (greg_t)(uint32_t)child_case->gpr[i];
        if (code16)
            g[REG_RIP] = X86_TEST_CODE_OFFSET;     /* IP in the code segment */
        g[REG_CSGSFS] = (greg_t)with_cs_ss((uint64_t)g[REG_CSGSFS], cs, ss);
        uc->uc_flags |= UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
        saved_ds = read_ds();
        saved_es = read_es();
        if (code16)
            load_ds_es(X86_TEST_LDT_DS16, X86_TEST_LDT_ES16);
        else
            load_ds_es(X86_TEST_USER_DS, X86_TEST_USER_DS);
    }
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
    child_result->vector = (uint8_t)g[REG_TRAPNO];
    child_result->error_code = (uint32_t)g[REG_ERR];
    child_result->sreg[0] = read_es();
    child_result->sreg[1] = (uint16_t)g[REG_CSGSFS];
    child_result->sreg[2] = (uint16_t)((uint64_t)g[REG_CSGSFS] >> 48);
    child_result->sreg[3] = read_ds();
    if (child_mode != NATIVE_64) {
        for (unsigned i = 0; i < 8; i++)
            child_result->gpr[i] = (uint32_t)child_result->gpr[i];
        child_result->rip = (uint32_t)child_result->rip;
        load_ds_es(saved_ds, saved_es);
    }
    memcpy(child_result->data, (void *)(uintptr_t)X86_TEST_DATA_ADDR, X86_TEST_PAGE);
    memcpy(g, saved_gregs, sizeof(saved_gregs));
    memcpy(uc->uc_mcontext.fpregs, saved_fpregs, sizeof(saved_fpregs));
}

/*
 * The 16-bit segments of the LDT: byte granular, limit 0xffff, present,
 * DPL 3, accessed (as modify_ldt(2) makes them).
 */
static const struct { uint16_t selector; uint32_t base; bool code; } ldt16[] = {
    { X86_TEST_LDT_CS16, X86_TEST_CODE_ADDR, true },
    { X86_TEST_LDT_DS16, X86_TEST_DATA_ADDR, false },
    { X86_TEST_LDT_ES16, X86_TEST_DATA_ADDR + X86_TEST_ES16_BASE, false },
    { X86_TEST_LDT_SS16, X86_TEST_DATA_ADDR + X86_TEST_SS16_BASE, false },
};

/* Put them in the child's LDT (see the kernel's selftests/x86/ldt_gdt.c). */
static bool install_ldt16(void)
{
    for (unsigned i = 0; i < sizeof(ldt16) / sizeof(ldt16[0]); i++) {
        struct user_desc d = {
            .entry_number = ldt16[i].selector >> 3, .base_addr = ldt16[i].base,
            .limit = 0xffff,
            .contents = ldt16[i].code ? MODIFY_LDT_CONTENTS_CODE : MODIFY_LDT_CONTENTS_DATA,
        };

        if (syscall(SYS_modify_ldt, 1, &d, sizeof(d)) != 0)
            return false;
    }
    return true;
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
    if (child_mode == NATIVE_16 && !install_ldt16())
        _exit(93);
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
        clear_sticky_flags();
    }
    _exit(0);
}

static int run_native(const struct x86_test_case *cases, unsigned count,
                      struct x86_test_result *results, char *why,
                      unsigned why_size, enum native_mode mode)
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
    if (pid == 0) {
        child_mode = mode;
        child_main(cases, count, shared);
    }
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

int x86_test_run_native(const struct x86_test_case *cases, unsigned count,
                        struct x86_test_result *results, char *why,
                        unsigned why_size)
{
    return run_native(cases, count, results, why, why_size, NATIVE_64);
}

int x86_test_run_native32(const struct x86_test_case *cases, unsigned count,
                          struct x86_test_result *results, char *why,
                          unsigned why_size)
{
    return run_native(cases, count, results, why, why_size, NATIVE_32);
}

int x86_test_run_native16(const struct x86_test_case *cases, unsigned count,
                          struct x86_test_result *results, char *why,
                          unsigned why_size)
{
    return run_native(cases, count, results, why, why_size, NATIVE_16);
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

/*
 * Linux x86-64's GDT (arch/x86/kernel/cpu/common.c, gdt_page): the entries a
 * user selector can name. The TSS, LDT and TLS slots are left empty: a
 * segment load from them fails with the same #GP(selector) as from their
 * system descriptors or unused TLS entries.
 */
static const uint64_t linux_gdt[16] = {
    [1] = 0x00cf9b000000ffffull,    /* __KERNEL32_CS */
    [2] = 0x00af9b000000ffffull,    /* __KERNEL_CS */
    [3] = 0x00cf93000000ffffull,    /* __KERNEL_DS */
    [4] = 0x00cffb000000ffffull,    /* __USER32_CS */
    [5] = 0x00cff3000000ffffull,    /* __USER_DS */
    [6] = 0x00affb000000ffffull,    /* __USER_CS */
};

#define TEST_GDT_ADDR 0x30000000ull
/* The LDT, in the GDT's page, and the GDT selector Linux gives it (GDT_ENTRY_LDT). */
#define TEST_LDT_OFFSET 0x800u
#define TEST_LDT_SELECTOR 0x50

/*
 * CPL 3 with flat 32-bit segments from the GDT (SDM vol. 3, 3.4), or with
 * the 16-bit code and data segments of the LDT when @code16 is set.
 */
static void set_user(struct x86_cpu *cpu, uint8_t *gdt, bool long_mode, bool code16)
{
    memset(gdt, 0, X86_TEST_PAGE);
    memcpy(gdt, linux_gdt, sizeof(linux_gdt));
    cpu->gdt_base = TEST_GDT_ADDR;
    cpu->gdt_limit = sizeof(linux_gdt) - 1;
    cpu->ldt = (struct x86_segment_cache){ .flags = X86_SEGF_UNUSABLE };
    x86_descriptor_to_cache(linux_gdt[X86_TEST_USER32_CS >> 3], X86_TEST_USER32_CS,
                            &cpu->seg[X86_CS]);
    x86_descriptor_to_cache(linux_gdt[X86_TEST_USER_DS >> 3], X86_TEST_USER_DS,
                            &cpu->seg[X86_SS]);
    cpu->seg[X86_DS] = cpu->seg[X86_ES] = cpu->seg[X86_SS];
    if (code16) {
        static const unsigned sreg_of[] = { X86_CS, X86_DS, X86_ES, X86_SS };

        for (unsigned i = 0; i < sizeof(ldt16) / sizeof(ldt16[0]); i++) {
            uint64_t base = ldt16[i].base;
            uint64_t raw = 0xffff | (base & 0xffffff) << 16 | (base >> 24) << 56 |
                           (uint64_t)(ldt16[i].code ? 0xfb : 0xf3) << 40;

            memcpy(gdt + TEST_LDT_OFFSET + (ldt16[i].selector & ~7u), &raw, 8);
            x86_descriptor_to_cache(raw, ldt16[i].selector, &cpu->seg[sreg_of[i]]);
        }
        cpu->ldt = (struct x86_segment_cache){
            .base = TEST_GDT_ADDR + TEST_LDT_OFFSET, .limit = 8 * 4 - 1,
            .selector = TEST_LDT_SELECTOR, .flags = 0x2 | X86_SEGF_P,
        };
    }
    for (unsigned i = X86_FS; i <= X86_GS; i++)
        cpu->seg[i] = (struct x86_segment_cache){ .flags = X86_SEGF_UNUSABLE };
    cpu->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE;
    cpu->cr4 = X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | (long_mode ? X86_CR4_PAE : 0);
    cpu->efer = long_mode ? X86_EFER_LME | X86_EFER_LMA : 0;
    cpu->rflags = 0x202;
    x86_update_mode(cpu);
    x86_tlb_flush(cpu);
    x86_code_flush(cpu);
}

enum mimic_mode { MIMIC_FLAT64, MIMIC_PROT32, MIMIC_COMPAT32, MIMIC_PROT16, MIMIC_COMPAT16 };

/*
 * Run the cases on Mimic's CPU: in flat 64-bit user mode with 64-bit
 * results, or at CPL 3 with Linux's GDT and 32-bit results.
 */
static void run_mimic(const struct x86_test_case *cases, unsigned count,
                      struct x86_test_result *results, enum mimic_mode mode)
{
    static uint8_t code[X86_TEST_PAGE] __attribute__((aligned(4096)));
    static uint8_t data[X86_TEST_PAGE] __attribute__((aligned(4096)));
    static uint8_t gdt[X86_TEST_PAGE] __attribute__((aligned(4096)));
    const bool user32 = mode != MIMIC_FLAT64;
    struct memory_map *map = memory_map_new(user32 ? "x86-test32" : "x86-test",
                                            1ull << 40, NULL);
    struct x86_cpu *cpu = malloc(sizeof(*cpu));

    memory_map_add_ram(map, "code", X86_TEST_CODE_ADDR, X86_TEST_PAGE, code, NULL);
    memory_map_add_ram(map, "data", X86_TEST_DATA_ADDR, X86_TEST_PAGE, data, NULL);
    if (user32)
        memory_map_add_ram(map, "gdt", TEST_GDT_ADDR, X86_TEST_PAGE, gdt, NULL);
    x86_cpu_init(cpu, map);
    for (unsigned i = 0; i < count; i++) {
        const struct x86_test_case *c = &cases[i];
        struct x86_test_result *r = &results[i];
        enum x86_exit exit;

        fill_code(c, code);
        if (!user32)
            x86_code_invalidate_range(cpu, X86_TEST_CODE_ADDR, X86_TEST_PAGE);
        x86_test_fill_data(c, data);
        if (user32) {
            set_user(cpu, gdt, mode == MIMIC_COMPAT32 || mode == MIMIC_COMPAT16,
                     mode >= MIMIC_PROT16);
            for (unsigned k = 0; k < 16; k++)
                cpu->gpr[k] = k < 8 ? (uint32_t)c->gpr[k] : c->gpr[k];
        } else {
            x86_cpu_set_flat64(cpu);
            memcpy(cpu->gpr, c->gpr, sizeof(cpu->gpr));
        }
        cpu->rip = mode >= MIMIC_PROT16 ? X86_TEST_CODE_OFFSET
                   : X86_TEST_CODE_ADDR + X86_TEST_CODE_OFFSET;
        cpu->rflags = 0x202 | (c->rflags & USER_FLAGS);
        exit = x86_cpu_run(cpu, 64);
        r->rflags = cpu->rflags;
        r->vector = exit == X86_EXIT_EXCEPTION ? cpu->exception_vector : 0xff;
        r->signal = exit == X86_EXIT_EXCEPTION ? x86_test_signal_of_vector(r->vector) : 0;
        if (user32) {
            memset(r->gpr, 0, sizeof(r->gpr));
            for (unsigned k = 0; k < 8; k++)
                r->gpr[k] = (uint32_t)cpu->gpr[k];
            r->rip = (uint32_t)cpu->rip;
            r->error_code = cpu->exception_has_error ? cpu->exception_error : 0;
            r->sreg[0] = cpu->seg[X86_ES].selector;
            r->sreg[1] = cpu->seg[X86_CS].selector;
            r->sreg[2] = cpu->seg[X86_SS].selector;
            r->sreg[3] = cpu->seg[X86_DS].selector;
        } else {
            memcpy(r->gpr, cpu->gpr, sizeof(r->gpr));
            r->rip = cpu->rip;
        }
        memcpy(r->data, data, X86_TEST_PAGE);
    }
    x86_cpu_destroy(cpu);
    free(cpu);
    memory_map_free(map);
}

void x86_test_run_mimic(const struct x86_test_case *cases, unsigned count,
                        struct x86_test_result *results)
{
    run_mimic(cases, count, results, MIMIC_FLAT64);
}

void x86_test_run_mimic32(const struct x86_test_case *cases, unsigned count,
                          struct x86_test_result *results, bool long_mode)
{
    run_mimic(cases, count, results, long_mode ? MIMIC_COMPAT32 : MIMIC_PROT32);
}

void x86_test_run_mimic16(const struct x86_test_case *cases, unsigned count,
                          struct x86_test_result *results, bool long_mode)
{
    run_mimic(cases, count, results, long_mode ? MIMIC_COMPAT16 : MIMIC_PROT16);
}
