/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests of the decoded-instruction cache: code written by the guest (in
 * another block, in the running block, by string instructions) and by a
 * DMA-style writer through x86_code_invalidate_range runs with its new bytes.
 */
#include <glib.h>
#include <string.h>

#include "engine/memory.h"
#include "jit/x86/cpu.h"
#include "tests/jit/x86-machine.h"

#define RAM_SIZE (1u << 20)

static struct x86_test_machine *machine_new(void)
{
    struct x86_test_machine *m = x86_test_machine_new("code-cache-test", RAM_SIZE);

    x86_cpu_set_flat64(&m->cpu);
    m->cpu.gpr[X86_RSP] = 0x8000;
    return m;
}

/* Store hex bytes behind the CPU's back (no invalidation). */
static void poke(struct x86_test_machine *m, uint64_t addr, const char *hex)
{
    x86_test_parse_hex(hex, m->ram + addr);
}

/* Run from @rip to the INT3 that ends each snippet (CPL 3: no HLT). */
static void run_to_int3(struct x86_test_machine *m, uint64_t rip)
{
    m->cpu.rip = rip;
    g_assert_cmpint(x86_cpu_run(&m->cpu, 1000), ==, X86_EXIT_EXCEPTION);
    g_assert_cmpuint(m->cpu.exception_vector, ==, X86_EXC_BP);
}

/* A store into a function that has run already: the next call sees it. */
static void test_other_block(void)
{
    struct x86_test_machine *m = machine_new();

    poke(m, 0x2000, "b8 01 00 00 00 c3");          /* mov eax, 1; ret */
    poke(m, 0x1000, "e8 fb 0f 00 00"               /* call 0x2000 */
                    " 89 c3"                       /* mov ebx, eax */
                    " c6 04 25 01 20 00 00 02"     /* mov byte [0x2001], 2 */
                    " e8 ec 0f 00 00"              /* call 0x2000 */
                    " cc");
    run_to_int3(m, 0x1000);
    g_assert_cmphex(m->cpu.gpr[X86_RBX], ==, 1);
    g_assert_cmphex(m->cpu.gpr[X86_RAX], ==, 2);

    /* REP MOVSB copies a new body over the function. */
    poke(m, 0x5000, "b8 33 00 00 00 c3");          /* mov eax, 0x33; ret */
    poke(m, 0x1100, "be 00 50 00 00"               /* mov esi, 0x5000 */
                    " bf 00 20 00 00"              /* mov edi, 0x2000 */
                    " b9 06 00 00 00"              /* mov ecx, 6 */
                    " f3 a4"                       /* rep movsb */
                    " e8 ea 0e 00 00"              /* call 0x2000 */
                    " cc");
    run_to_int3(m, 0x1100);
    g_assert_cmphex(m->cpu.gpr[X86_RAX], ==, 0x33);
    x86_test_machine_free(m);
}

/* A store into the running block changes the instructions after it. */
static void test_same_block(void)
{
    struct x86_test_machine *m = machine_new();

    poke(m, 0x3000, "c6 04 25 09 30 00 00 07"      /* mov byte [0x3009], 7 */
                    " b8 44 33 22 11"              /* mov eax, 0x11223344 */
                    " cc");
    run_to_int3(m, 0x3000);
    g_assert_cmphex(m->cpu.gpr[X86_RAX], ==, 0x11223307);

    /* A loop whose body increments its own ADD immediate: 1 + 2 + 3. */
    poke(m, 0x4000, "31 c0"                        /* xor eax, eax */
                    " b9 03 00 00 00"              /* mov ecx, 3 */
                    " fe 04 25 10 40 00 00"        /* 4007: inc byte [0x4010] */
                    " 83 c0 00"                    /* 400e: add eax, 0 */
                    " e2 f4"                       /* 4011: loop 0x4007 */
                    " cc");
    run_to_int3(m, 0x4000);
    g_assert_cmphex(m->cpu.gpr[X86_RAX], ==, 6);
    x86_test_machine_free(m);
}

/* Writes that do not come from the CPU need x86_code_invalidate_range. */
static void test_dma_hook(void)
{
    struct x86_test_machine *m = machine_new();

    poke(m, 0x6000, "b8 01 00 00 00 cc");          /* mov eax, 1; int3 */
    run_to_int3(m, 0x6000);
    g_assert_cmphex(m->cpu.gpr[X86_RAX], ==, 1);

    /* Behind the CPU's back the cached block still runs (it is a cache). */
    poke(m, 0x6001, "02");
    run_to_int3(m, 0x6000);
    g_assert_cmphex(m->cpu.gpr[X86_RAX], ==, 1);

    /* Told of the write, as a DMA engine or loader must, it decodes anew. */
    x86_code_invalidate_range(&m->cpu, 0x6001, 1);
    run_to_int3(m, 0x6000);
    g_assert_cmphex(m->cpu.gpr[X86_RAX], ==, 2);

    /* A range spanning pages, and a write next to the code: no effect. */
    poke(m, 0x6001, "03");
    x86_code_invalidate_range(&m->cpu, 0x5ff0, 0x2000);
    run_to_int3(m, 0x6000);
    g_assert_cmphex(m->cpu.gpr[X86_RAX], ==, 3);
    x86_code_invalidate_range(&m->cpu, 0x6006, 16);
    poke(m, 0x6001, "04");
    run_to_int3(m, 0x6000);
    g_assert_cmphex(m->cpu.gpr[X86_RAX], ==, 3);

    /* A full flush (the memory map changed) forgets everything. */
    x86_code_flush(&m->cpu);
    run_to_int3(m, 0x6000);
    g_assert_cmphex(m->cpu.gpr[X86_RAX], ==, 4);
    x86_test_machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/x86/code-cache/other-block", test_other_block);
    g_test_add_func("/x86/code-cache/same-block", test_same_block);
    g_test_add_func("/x86/code-cache/dma-hook", test_dma_hook);
    return g_test_run();
}
