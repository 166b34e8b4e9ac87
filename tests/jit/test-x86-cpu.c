/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the x86 CPU for what the differential test cannot run on the
 * host: decoder details (16-bit addressing, lengths, the 15-byte limit),
 * real mode, state conversion, device memory, restartable REP.
 */
#include <glib.h>
#include <string.h>

#include "engine/memory.h"
#include "jit/x86/cpu.h"
#include "jit/x86/decode.h"
#include "jit/x86/system.h"
#include "tests/jit/x86-machine.h"

static enum x86_decode_result decode(struct x86_insn *insn, enum x86_mode mode,
                                     const char *hex)
{
    uint8_t bytes[32];
    unsigned n = x86_test_parse_hex(hex, bytes);

    return x86_decode(insn, bytes, n, mode);
}

static void test_decode_16bit_addressing(void)
{
    struct x86_insn i;

    /* mov ax, [bx+si+4] (SDM vol. 2, table 2-1) */
    g_assert_cmpint(decode(&i, X86_MODE_REAL, "8b 40 04"), ==, X86_DECODE_OK);
    g_assert_cmpuint(i.length, ==, 3);
    g_assert_cmpuint(i.addrsize, ==, 2);
    g_assert_cmpuint(i.base, ==, 3);
    g_assert_cmpuint(i.index, ==, 6);
    g_assert_cmpint(i.disp, ==, 4);
    g_assert_cmpuint(i.seg, ==, X86_DS);
    /* [bp+di-2]: SS by default */
    g_assert_cmpint(decode(&i, X86_MODE_REAL, "8b 43 fe"), ==, X86_DECODE_OK);
    g_assert_cmpuint(i.base, ==, 5);
    g_assert_cmpuint(i.index, ==, 7);
    g_assert_cmpint(i.disp, ==, -2);
    g_assert_cmpuint(i.seg, ==, X86_SS);
    /* [disp16] and [bp+disp16] */
    g_assert_cmpint(decode(&i, X86_MODE_REAL, "8b 06 34 12"), ==, X86_DECODE_OK);
    g_assert_cmpuint(i.length, ==, 4);
    g_assert_cmpuint(i.base, ==, X86_REG_NONE);
    g_assert_cmpint(i.disp, ==, 0x1234);
    g_assert_cmpint(decode(&i, X86_MODE_REAL, "8b 86 00 80"), ==, X86_DECODE_OK);
    g_assert_cmpint(i.disp, ==, -0x8000);
    g_assert_cmpuint(i.seg, ==, X86_SS);
    /* 67h in 16-bit code selects 32-bit addressing with SIB */
    g_assert_cmpint(decode(&i, X86_MODE_REAL, "67 8b 04 8b"), ==, X86_DECODE_OK);
    g_assert_cmpuint(i.addrsize, ==, 4);
    g_assert_cmpuint(i.scale, ==, 4);
    g_assert_cmpuint(i.index, ==, 1);
    /* 66h: 32-bit operand in 16-bit code */
    g_assert_cmpint(decode(&i, X86_MODE_PROT16, "66 b8 78 56 34 12"), ==, X86_DECODE_OK);
    g_assert_cmpuint(i.opsize, ==, 4);
    g_assert_cmpuint(i.imm, ==, 0x12345678);
}

static void test_decode_lengths(void)
{
    static const struct { enum x86_mode mode; const char *hex; unsigned length; } cases[] = {
        { X86_MODE_LONG64, "48 8b 05 78 56 34 12", 7 },         /* rip-relative */
        { X86_MODE_LONG64, "8b 04 24", 3 },                     /* [rsp] */
        { X86_MODE_LONG64, "42 8b 04 a5 00 00 00 00", 8 },      /* [r12*4 + disp32] */
        { X86_MODE_LONG64, "41 8b 45 00", 4 },                  /* [r13 + 0] */
        { X86_MODE_LONG64, "48 b8 01 02 03 04 05 06 07 08", 10 },
        { X86_MODE_LONG64, "a1 01 02 03 04 05 06 07 08", 9 },   /* moffs64 */
        { X86_MODE_LONG64, "67 a1 01 02 03 04", 6 },            /* moffs32 */
        { X86_MODE_LONG64, "f6 05 00 00 00 00 7f", 7 },         /* test [rip], ib */
        { X86_MODE_LONG64, "66 f7 05 00 00 00 00 34 12", 9 },   /* test [rip], iw */
        { X86_MODE_LONG64, "c8 10 00 01", 4 },                  /* enter */
        { X86_MODE_LONG64, "66 e8 00 00 00 00", 6 },            /* 66h ignored (Intel) */
        { X86_MODE_LONG64, "0f 3a 0f c1 08", 5 },               /* 0F3A map: ModRM + ib */
        { X86_MODE_LONG64, "0f 38 f0 00", 4 },                  /* movbe */
        { X86_MODE_PROT32, "9a 00 00 00 00 08 00", 7 },         /* call far ptr16:32 */
        { X86_MODE_PROT32, "66 9a 00 00 08 00", 6 },            /* call far ptr16:16 */
        { X86_MODE_PROT32, "b8 78 56 34 12", 5 },
        { X86_MODE_PROT32, "8b 05 00 00 00 00", 6 },            /* [disp32], no rip */
        { X86_MODE_PROT32, "40", 1 },                           /* inc eax */
    };

    for (unsigned k = 0; k < G_N_ELEMENTS(cases); k++) {
        struct x86_insn i;
        enum x86_decode_result r = decode(&i, cases[k].mode, cases[k].hex);

        g_test_message("%s", cases[k].hex);
        g_assert_cmpint(r == X86_DECODE_UD ? X86_DECODE_OK : r, ==, X86_DECODE_OK);
        g_assert_cmpuint(i.length, ==, cases[k].length);
    }
}

static void test_decode_limits(void)
{
    struct x86_insn i;

    g_assert_cmpint(decode(&i, X86_MODE_LONG64, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 90"),
                    ==, X86_DECODE_OK);
    g_assert_cmpint(decode(&i, X86_MODE_LONG64,
                           "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 90"),
                    ==, X86_DECODE_GP);
    /* a 15-byte instruction needing a 16th byte is #GP, not "need more" */
    g_assert_cmpint(decode(&i, X86_MODE_LONG64,
                           "66 66 66 66 66 66 66 66 66 66 48 b8 01 02 03"),
                    ==, X86_DECODE_GP);
    g_assert_cmpint(decode(&i, X86_MODE_LONG64, "48 8b"), ==, X86_DECODE_MORE);
    g_assert_cmpint(decode(&i, X86_MODE_LONG64, "0f 0b"), ==, X86_DECODE_UD);
    g_assert_cmpint(decode(&i, X86_MODE_LONG64, "f0 01 c0"), ==, X86_DECODE_UD);
    g_assert_cmpint(decode(&i, X86_MODE_LONG64, "06"), ==, X86_DECODE_UD);
    g_assert_cmpint(decode(&i, X86_MODE_PROT32, "f0 01 00"), ==, X86_DECODE_OK);
}

/* The device at 0x200000: what it was asked (one machine at a time). */
static struct {
    uint64_t last_write, reads;
} io;

static uint64_t io_read(void *opaque, uint64_t offset, unsigned size)
{
    io.reads++;
    return 0xabcd0000u + offset;
}

static void io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    io.last_write = value << 8 | offset;
}

static const struct memory_ops io_ops = { io_read, io_write };

#define RAM_SIZE (1u << 20)

static struct x86_test_machine *machine_new(void)
{
    struct x86_test_machine *m = x86_test_machine_new("cpu-test", RAM_SIZE);

    memset(&io, 0, sizeof(io));
    g_assert_nonnull(memory_map_add_io(m->map, "dev", 0x200000, 0x1000, &io_ops, &io, NULL));
    return m;
}

/* A loader-style write: the CPU is told, as a DMA engine would tell it. */
static void put(struct x86_test_machine *m, uint64_t addr, const char *hex)
{
    x86_code_invalidate_range(&m->cpu, addr, strlen(hex) / 2 + 1);
    x86_test_parse_hex(hex, m->ram + addr);
}

static void test_real_mode(void)
{
    struct x86_test_machine *m = machine_new();
    struct x86_cpu *cpu = &m->cpu;

    /* Real mode after reset; run code at 0000:0100 with SS based at 0x1000. */
    g_assert_cmpint(cpu->mode, ==, X86_MODE_REAL);
    cpu->seg[X86_CS].base = 0;
    cpu->seg[X86_CS].selector = 0;
    cpu->seg[X86_SS].base = 0x1000;
    cpu->seg[X86_SS].selector = 0x100;
    cpu->rip = 0x100;
    cpu->gpr[X86_RBP] = 0x20;
    cpu->gpr[X86_RDI] = 2;
    put(m, 0x100, "bb 00 02"        /* mov bx, 0x200 */
                  " be 10 00"       /* mov si, 0x10 */
                  " 8b 40 04"       /* mov ax, [bx+si+4] */
                  " 03 03"          /* add ax, [bp+di] (SS) */
                  " 66 b9 78 56 34 12"  /* mov ecx, 0x12345678 */
                  " 6a ff"          /* push -1 (16-bit) */
                  " f4");           /* hlt */
    put(m, 0x214, "34 12");
    put(m, 0x1022, "01 01");
    cpu->gpr[X86_RSP] = 0x10000;    /* SP = 0: the push wraps to SS:FFFE */
    g_assert_cmpint(x86_cpu_run(cpu, 100), ==, X86_EXIT_HLT);
    g_assert_cmphex(cpu->gpr[X86_RAX] & 0xffff, ==, 0x1335);
    g_assert_cmphex(cpu->gpr[X86_RCX], ==, 0x12345678);
    g_assert_cmphex(cpu->gpr[X86_RSP], ==, 0x1fffe);
    g_assert_cmphex(m->ram[0x1000 + 0xfffe], ==, 0xff);
    g_assert_cmphex(cpu->rip, ==, 0x100 + 20);
    x86_test_machine_free(m);
}

/* The state's MSR list entry for @index, or NULL. */
static const struct x86_msr *find_msr(const struct x86_cpu_state *s, uint32_t index)
{
    for (unsigned i = 0; i < s->nr_msrs; i++)
        if (s->msrs[i].index == index)
            return &s->msrs[i];
    return NULL;
}

/*
 * What x86_cpu_set_state takes, x86_cpu_get_state gives back; the MSR list
 * comes back in the CPU's own order, with every MSR it keeps.
 */
static void test_state_round_trip(void)
{
    struct x86_test_machine *m = machine_new();
    struct x86_cpu_state *a = g_new0(struct x86_cpu_state, 1);
    struct x86_cpu_state *b = g_new0(struct x86_cpu_state, 1);
    struct x86_cpu_state *c = g_new0(struct x86_cpu_state, 1);
    const struct x86_msr *star;

    x86_cpu_set_flat64(&m->cpu);
    for (unsigned i = 0; i < 16; i++)
        m->cpu.gpr[i] = 0x1111111111111111ull * i;
    m->cpu.rip = 0x123456;
    m->cpu.seg[X86_FS].base = 0x7f0000001000ull;
    x86_cpu_get_state(&m->cpu, a);
    a->nr_msrs = 1;
    a->msrs[0].index = 0xc0000081;
    a->msrs[0].value = 42;
    a->xsave[100] = 7;
    a->lapic[32] = 9;
    a->dr[7] = 0x401;
    a->gs.base = 0x5000;
    a->gs.dpl = 3;
    a->gdt.base = 0x1000;
    a->gdt.limit = 0x37;
    a->tr.selector = 0x28;
    a->tr.base = 0x2000;
    x86_cpu_set_state(&m->cpu, a);
    g_assert_cmpint(m->cpu.mode, ==, X86_MODE_LONG64);
    x86_cpu_get_state(&m->cpu, b);
    star = find_msr(b, 0xc0000081);
    g_assert_nonnull(star);
    g_assert_cmpuint(star->value, ==, 42);
    g_assert_nonnull(find_msr(b, 0x277));       /* PAT */
    g_assert_cmpuint(b->xsave[100], ==, 7);
    g_assert_cmpuint(b->lapic[32], ==, 9);
    g_assert_cmphex(b->dr[7], ==, 0x401);
    g_assert_cmphex(b->gs.base, ==, 0x5000);
    g_assert_cmphex(b->gdt.base, ==, 0x1000);
    g_assert_cmphex(b->tr.base, ==, 0x2000);
    g_assert_cmpmem(b->gpr, sizeof(b->gpr), a->gpr, sizeof(a->gpr));
    /* The TSC moves on between the two reads; everything else is equal. */
    x86_cpu_set_state(&m->cpu, b);
    x86_cpu_get_state(&m->cpu, c);
    for (unsigned i = 0; i < c->nr_msrs; i++)
        if (c->msrs[i].index == 0x10)
            c->msrs[i].value = b->msrs[i].value;
    g_assert_cmpmem(b, sizeof(*b), c, sizeof(*c));
    g_free(a);
    g_free(b);
    g_free(c);
    x86_test_machine_free(m);
}

static void test_device_memory_and_page_crossing(void)
{
    struct x86_test_machine *m = machine_new();
    struct x86_cpu *cpu = &m->cpu;

    x86_cpu_set_flat64(cpu);
    cpu->rip = 0x1000;
    cpu->gpr[X86_RBX] = 0x55;
    put(m, 0x1000, "8b 04 25 08 00 20 00"       /* mov eax, [0x200008] */
                   " 88 1c 25 04 00 20 00"      /* mov [0x200004], bl */
                   " 8b 0c 25 fe 2f 00 00"      /* mov ecx, [0x2ffe] (crosses) */
                   " cc");
    put(m, 0x2ffe, "11 22 33 44");
    g_assert_cmpint(x86_cpu_run(cpu, 100), ==, X86_EXIT_EXCEPTION);
    g_assert_cmpuint(cpu->exception_vector, ==, X86_EXC_BP);
    g_assert_cmphex(cpu->gpr[X86_RAX], ==, 0xabcd0008);
    g_assert_cmphex(io.last_write, ==, 0x5504);
    g_assert_cmphex(cpu->gpr[X86_RCX], ==, 0x44332211);
    x86_test_machine_free(m);
}

static void test_rep_restartable(void)
{
    struct x86_test_machine *m = machine_new();
    struct x86_cpu *cpu = &m->cpu;

    x86_cpu_set_flat64(cpu);
    cpu->rip = 0x1000;
    put(m, 0x1000, "f3 48 a5 cc");              /* rep movsq; int3 */
    cpu->gpr[X86_RSI] = 0x10000;
    cpu->gpr[X86_RDI] = 0x40000;
    cpu->gpr[X86_RCX] = 5000;
    for (unsigned i = 0; i < 5000 * 8; i++)
        m->ram[0x10000 + i] = (uint8_t)(i * 7);
    /* One batch: the instruction is not finished, RIP stays, registers show progress. */
    g_assert_cmpint(x86_cpu_run(cpu, 1), ==, X86_EXIT_BUDGET);
    g_assert_cmphex(cpu->rip, ==, 0x1000);
    g_assert_cmpuint(cpu->gpr[X86_RCX], ==, 5000 - 4096);
    g_assert_cmphex(cpu->gpr[X86_RSI], ==, 0x10000 + 4096 * 8);
    g_assert_cmpint(x86_cpu_run(cpu, 100), ==, X86_EXIT_EXCEPTION);
    g_assert_cmpuint(cpu->gpr[X86_RCX], ==, 0);
    g_assert_cmpmem(m->ram + 0x10000, 5000 * 8, m->ram + 0x40000, 5000 * 8);
    x86_test_machine_free(m);
}

/* DR7 for breakpoint @n: L bit, R/W and LEN fields (SDM vol. 3, 17.2.4). */
static uint64_t dr7_for(unsigned n, unsigned rw, unsigned len)
{
    return 0x400 | (1ull << (2 * n)) | (uint64_t)rw << (16 + 4 * n) |
           (uint64_t)len << (18 + 4 * n);
}

/* Single-step, an instruction breakpoint and RF, out of system mode. */
static void test_debug_step_and_breakpoint(void)
{
    struct x86_test_machine *m = machine_new();
    struct x86_cpu *cpu = &m->cpu;

    x86_cpu_set_flat64(cpu);
    cpu->rip = 0x1000;
    put(m, 0x1000, "90 b8 01 00 00 00 90 cc");  /* nop; mov eax, 1; nop; int3 */
    cpu->rflags |= X86_TF;
    g_assert_cmpint(x86_cpu_run(cpu, 10), ==, X86_EXIT_EXCEPTION);
    g_assert_cmpuint(cpu->exception_vector, ==, X86_EXC_DB);
    g_assert_cmphex(cpu->rip, ==, 0x1001);
    g_assert_cmphex(cpu->dr[6] & 0xe00f, ==, 0x4000);
    cpu->dr[6] = 0;
    g_assert_cmpint(x86_cpu_run(cpu, 10), ==, X86_EXIT_EXCEPTION);
    g_assert_cmphex(cpu->rip, ==, 0x1006);
    g_assert_cmphex(cpu->dr[6] & 0xe00f, ==, 0x4000);
    cpu->dr[6] = 0;
    cpu->rflags &= ~(uint64_t)X86_TF;

    /* DR0 on the NOP at 0x1006: a fault before it; RF lets it run once. */
    cpu->dr[0] = 0x1006;
    cpu->dr[7] = dr7_for(0, 0, 0);
    x86_debug_update(cpu);
    g_assert_cmpint(x86_cpu_run(cpu, 10), ==, X86_EXIT_EXCEPTION);
    g_assert_cmpuint(cpu->exception_vector, ==, X86_EXC_DB);
    g_assert_cmphex(cpu->rip, ==, 0x1006);
    g_assert_cmphex(cpu->dr[6] & 0xe00f, ==, 0x0001);
    cpu->rflags |= X86_RF;
    g_assert_cmpint(x86_cpu_run(cpu, 10), ==, X86_EXIT_EXCEPTION);
    g_assert_cmpuint(cpu->exception_vector, ==, X86_EXC_BP);
    g_assert_false(cpu->rflags & X86_RF);
    x86_test_machine_free(m);
}

/* Data breakpoints by LEN, and I/O breakpoints only with CR4.DE (17.2.4-5). */
static void test_debug_data_and_io(void)
{
    struct x86_test_machine *m = machine_new();
    struct x86_cpu *cpu = &m->cpu;

    x86_cpu_set_flat64(cpu);
    cpu->rflags |= X86_IOPL;
    /* DR2 = 0x3005, LEN 8: 0x3000-0x3007; a write of 0x2ffe-0x3001 hits it. */
    cpu->dr[2] = 0x3005;
    cpu->dr[7] = dr7_for(2, 1, 2);
    x86_debug_update(cpu);
    cpu->rip = 0x1000;
    put(m, 0x1000, "8b 04 25 00 30 00 00"       /* mov eax, [0x3000]: a read */
                   " c7 04 25 fe 2f 00 00 01 00 00 00"  /* mov dword [0x2ffe], 1 */
                   " cc");
    g_assert_cmpint(x86_cpu_run(cpu, 10), ==, X86_EXIT_EXCEPTION);
    g_assert_cmpuint(cpu->exception_vector, ==, X86_EXC_DB);
    g_assert_cmphex(cpu->rip, ==, 0x1012);      /* a trap: after the store */
    g_assert_cmphex(cpu->dr[6] & 0xe00f, ==, 0x0004);
    g_assert_cmphex(m->ram[0x2ffe], ==, 1);

    /* DR1 = port 0x80, R/W 10: undefined without CR4.DE (nothing), else a trap. */
    cpu->dr[6] = 0;
    cpu->dr[1] = 0x80;
    cpu->dr[7] = dr7_for(1, 2, 0);
    x86_debug_update(cpu);
    cpu->rip = 0x1100;
    put(m, 0x1100, "e6 80 e6 81 cc");           /* out 0x80, al; out 0x81, al; int3 */
    g_assert_cmpint(x86_cpu_run(cpu, 10), ==, X86_EXIT_EXCEPTION);
    g_assert_cmpuint(cpu->exception_vector, ==, X86_EXC_BP);
    cpu->cr4 |= X86_CR4_DE;
    cpu->rip = 0x1100;
    g_assert_cmpint(x86_cpu_run(cpu, 10), ==, X86_EXIT_EXCEPTION);
    g_assert_cmpuint(cpu->exception_vector, ==, X86_EXC_DB);
    g_assert_cmphex(cpu->rip, ==, 0x1102);
    g_assert_cmphex(cpu->dr[6] & 0xe00f, ==, 0x0002);
    x86_test_machine_free(m);
}

/* NMI pending and blocking survive x86_cpu_get_state/x86_cpu_set_state. */
static void test_nmi_state(void)
{
    struct x86_test_machine *m = machine_new();
    struct x86_cpu_state *s = g_new0(struct x86_cpu_state, 1);

    x86_cpu_get_state(&m->cpu, s);
    g_assert_false(s->nmi_pending);
    g_assert_false(s->nmi_masked);
    s->nmi_pending = true;
    s->nmi_masked = true;
    x86_cpu_set_state(&m->cpu, s);
    g_assert_true(m->cpu.nmi_blocked);
    memset(s, 0, sizeof(*s));
    x86_cpu_get_state(&m->cpu, s);
    g_assert_true(s->nmi_pending);
    g_assert_true(s->nmi_masked);
    x86_nmi_unblock(&m->cpu);
    g_assert_false(m->cpu.nmi_blocked);
    x86_cpu_reset(&m->cpu);
    x86_cpu_get_state(&m->cpu, s);
    g_assert_false(s->nmi_pending);
    g_free(s);
    x86_test_machine_free(m);
}

static void test_cpuid_rdtsc(void)
{
    struct x86_test_machine *m = machine_new();
    struct x86_cpu *cpu = &m->cpu;
    uint64_t first;

    x86_cpu_set_flat64(cpu);
    cpu->rip = 0x1000;
    put(m, 0x1000, "31 c0 0f a2 cc");           /* xor eax, eax; cpuid; int3 */
    g_assert_cmpint(x86_cpu_run(cpu, 10), ==, X86_EXIT_EXCEPTION);
    g_assert_cmpuint(cpu->gpr[X86_RAX], ==, 0xd);       /* up to XSAVE's leaf */
    g_assert_cmpmem(&cpu->gpr[X86_RBX], 4, "Mimi", 4);
    cpu->rip = 0x1010;
    put(m, 0x1010, "b8 01 00 00 00 0f a2 cc");  /* cpuid leaf 1 */
    g_assert_cmpint(x86_cpu_run(cpu, 10), ==, X86_EXIT_EXCEPTION);
    g_assert_true(cpu->gpr[X86_RCX] & (1u << 23));      /* POPCNT */
    g_assert_true(cpu->gpr[X86_RDX] & (1u << 8));       /* CX8 */
    g_assert_true(cpu->gpr[X86_RDX] & 1);               /* x87 */
    g_assert_true(cpu->gpr[X86_RDX] & (1u << 26));      /* SSE2 */
    g_assert_true(cpu->gpr[X86_RCX] & (1u << 26));      /* XSAVE */
    g_assert_true(cpu->gpr[X86_RCX] & (1u << 27));      /* OSXSAVE (flat64 sets it) */
    g_assert_false(cpu->gpr[X86_RCX] & (1u << 28));     /* no AVX */
    cpu->rip = 0x1020;
    put(m, 0x1020, "0f 31 cc");
    g_assert_cmpint(x86_cpu_run(cpu, 10), ==, X86_EXIT_EXCEPTION);
    first = cpu->gpr[X86_RDX] << 32 | cpu->gpr[X86_RAX];
    cpu->rip = 0x1020;
    g_assert_cmpint(x86_cpu_run(cpu, 10), ==, X86_EXIT_EXCEPTION);
    g_assert_cmpuint(cpu->gpr[X86_RDX] << 32 | cpu->gpr[X86_RAX], >, first);
    x86_test_machine_free(m);
}

static void put32(struct x86_test_machine *m, uint64_t addr, uint32_t value)
{
    memcpy(m->ram + addr, &value, 4);
}

/*
 * 32-bit paging (SDM vol. 3, 4.3): flat 32-bit protected mode at CPL 0 with
 * a page directory at 0x10000: accessed and dirty bits, a write to a
 * read-only page with CR0.WP (#PF 3, CR2), a 4 MiB PSE page, INVLPG.
 */
static void test_paging32(void)
{
    struct x86_test_machine *m = machine_new();
    struct x86_cpu *cpu = &m->cpu;
    const uint16_t code = 0xb | 0x10 | 0x80 | 0x400 | 0x800;   /* X86_SEGF_* */
    const uint16_t data = 0x3 | 0x10 | 0x80 | 0x400 | 0x800;
    uint32_t pte;

    for (unsigned i = 0; i < X86_SEG_COUNT; i++) {
        cpu->seg[i].base = 0;
        cpu->seg[i].limit = 0xffffffff;
        cpu->seg[i].flags = i == X86_CS ? code : data;
        cpu->seg[i].selector = i == X86_CS ? 8 : 16;
    }
    put32(m, 0x10000, 0x11000 | 3);             /* PDE 0: page table */
    put32(m, 0x10004, 0x00000083);              /* PDE 1: 4 MiB page -> 0 */
    for (unsigned i = 0; i < 256; i++)
        put32(m, 0x11000 + i * 4, i << 12 | 3);
    put32(m, 0x11000 + 0x20 * 4, 0x20000 | 1);  /* 0x20000: read-only */
    put32(m, 0x11000 + 0x21 * 4, 0x30000 | 3);  /* 0x21000 -> 0x30000 */
    cpu->cr3 = 0x10000;
    cpu->cr4 = 1u << 4;                         /* PSE */
    cpu->cr0 = 0x80010011;                      /* PG WP ET PE */
    x86_tlb_flush(cpu);
    x86_update_mode(cpu);
    g_assert_cmpint(cpu->mode, ==, X86_MODE_PROT32);
    cpu->rip = 0x1000;
    put(m, 0x1000, "c7 05 00 10 02 00 44 33 22 11"  /* mov dword [0x21000], 0x11223344 */
                   " a1 00 10 40 00"                /* mov eax, [0x401000] (PSE page) */
                   " c7 05 00 00 02 00 01 00 00 00" /* mov dword [0x20000], 1 */
                   " f4");
    g_assert_cmpint(x86_cpu_run(cpu, 10), ==, X86_EXIT_EXCEPTION);
    g_assert_cmpuint(cpu->exception_vector, ==, 14);
    g_assert_cmphex(cpu->exception_error, ==, 3);
    g_assert_cmphex(cpu->cr2, ==, 0x20000);
    g_assert_cmphex(cpu->rip, ==, 0x1000 + 15);
    g_assert_cmphex(*(uint32_t *)(m->ram + 0x30000), ==, 0x11223344);
    g_assert_cmphex(cpu->gpr[X86_RAX], ==, 0x100005c7);    /* bytes at 0x1000 */
    memcpy(&pte, m->ram + 0x11000 + 0x21 * 4, 4);
    g_assert_cmphex(pte & 0x60, ==, 0x60);                  /* accessed, dirty */
    memcpy(&pte, m->ram + 0x11000 + 0x20 * 4, 4);
    g_assert_cmphex(pte & 0x60, ==, 0);                     /* write refused */
    memcpy(&pte, m->ram + 0x10004, 4);
    g_assert_cmphex(pte & 0x20, ==, 0x20);

    /* Remap 0x21000 to 0x31000: visible after INVLPG. */
    put32(m, 0x11000 + 0x21 * 4, 0x31000 | 3);
    cpu->rip = 0x1100;
    put(m, 0x1100, "0f 01 3d 00 10 02 00"           /* invlpg [0x21000] */
                   " c7 05 00 10 02 00 55 00 00 00 f4");
    g_assert_cmpint(x86_cpu_run(cpu, 10), ==, X86_EXIT_HLT);
    g_assert_cmphex(*(uint32_t *)(m->ram + 0x31000), ==, 0x55);
    x86_test_machine_free(m);
}

/* CMPXCHG16B checks the alignment of the linear address: 64-bit mode
 * ignores the SS base (SDM vol. 2A, CMPXCHG8B/16B; vol. 3, 3.4.4). */
static void test_cmpxchg16b_alignment(void)
{
    struct x86_test_machine *m = machine_new();
    struct x86_cpu *cpu = &m->cpu;

    x86_cpu_set_flat64(cpu);
    cpu->seg[X86_SS].base = 8;
    cpu->gpr[X86_RAX] = cpu->gpr[X86_RDX] = 0;
    cpu->gpr[X86_RSP] = 0x8000;
    cpu->rip = 0x1000;
    put(m, 0x1000, "f0 48 0f c7 0c 24 cc");     /* lock cmpxchg16b [rsp]; int3 */
    g_assert_cmpint(x86_cpu_run(cpu, 10), ==, X86_EXIT_EXCEPTION);
    g_assert_cmpuint(cpu->exception_vector, ==, X86_EXC_BP);
    g_assert_true(cpu->rflags & X86_ZF);        /* 0:0 == 0:0 */
    cpu->gpr[X86_RSP] = 0x8008;
    cpu->rip = 0x1000;
    g_assert_cmpint(x86_cpu_run(cpu, 10), ==, X86_EXIT_EXCEPTION);
    g_assert_cmpuint(cpu->exception_vector, ==, X86_EXC_GP);
    x86_test_machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/x86/decode/16bit-addressing", test_decode_16bit_addressing);
    g_test_add_func("/x86/decode/lengths", test_decode_lengths);
    g_test_add_func("/x86/decode/limits", test_decode_limits);
    g_test_add_func("/x86/cpu/real-mode", test_real_mode);
    g_test_add_func("/x86/cpu/state-round-trip", test_state_round_trip);
    g_test_add_func("/x86/cpu/device-memory", test_device_memory_and_page_crossing);
    g_test_add_func("/x86/cpu/rep-restartable", test_rep_restartable);
    g_test_add_func("/x86/cpu/cpuid-rdtsc", test_cpuid_rdtsc);
    g_test_add_func("/x86/cpu/debug-step-and-breakpoint", test_debug_step_and_breakpoint);
    g_test_add_func("/x86/cpu/debug-data-and-io", test_debug_data_and_io);
    g_test_add_func("/x86/cpu/nmi-state", test_nmi_state);
    g_test_add_func("/x86/cpu/paging32", test_paging32);
    g_test_add_func("/x86/cpu/cmpxchg16b-alignment", test_cmpxchg16b_alignment);
    return g_test_run();
}
