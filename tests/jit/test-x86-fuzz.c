/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Robustness fuzz test of the x86 CPU in system mode: random guests (random
 * bytes mixed with plausible GDTs, IDTs, TSSs, page tables and system
 * instructions) in every mode, with random interrupts, NMIs, breakpoints,
 * TF and device data. Whatever the guest does, Mimic must not crash, abort,
 * hang or leave the loop with anything but an architectural exit. Each seed
 * runs in a forked child; a crash reports the seed and the instruction.
 *
 * MIMIC_X86_FUZZ_SECONDS: how long to run (default 12);
 * MIMIC_X86_FUZZ_SEED: the first seed (default 1);
 * MIMIC_X86_FUZZ_ONLY: run just this seed in-process (for a debugger).
 */
#include <glib.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/memory.h"
#include "jit/x86/cpu.h"
#include "jit/x86/decode.h"
#include "jit/x86/system.h"
#include "tests/jit/x86-machine.h"

#define RAM_SIZE (4u << 20)
#define DEVICE_BASE RAM_SIZE
#define SEED_INSTRUCTIONS 400000u
#define SEED_SECONDS 2
#define RUN_ALARM_SECONDS 10

/* What a child leaves for the parent (shared memory). */
struct fuzz_report {
    uint64_t instructions;
    int signal;
    uint64_t rip, cs_base, cr0;
    uint16_t cs;
    unsigned mode;
    bool have_bytes;
    uint8_t bytes[16];
    char message[256];
};

static struct fuzz_report *report;
static struct x86_cpu *fuzz_cpu;
static uint8_t *fuzz_ram;
static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static uint64_t below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

static bool chance(unsigned one_in)
{
    return below(one_in) == 0;
}

/* A random address in RAM with @room bytes after it, aligned to @align. */
static uint32_t ram_place(uint32_t room, uint32_t align)
{
    return (uint32_t)below(RAM_SIZE - room) & ~(align - 1);
}

/* Devices and ports: random data back, writes ignored. */
static uint64_t device_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque, (void)offset, (void)size;
    return chance(4) ? 0 : rnd();
}

static void device_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    (void)opaque, (void)offset, (void)value, (void)size;
}

static const struct memory_ops device_ops = { device_read, device_write };

static int platform_ack(void *opaque)
{
    (void)opaque;
    return chance(3) ? -1 : (int)below(256);
}

static bool platform_read_msr(void *opaque, uint32_t index, uint64_t *value)
{
    (void)opaque, (void)index;
    *value = rnd();
    return !chance(4);
}

static bool platform_write_msr(void *opaque, uint32_t index, uint64_t value)
{
    (void)opaque, (void)index, (void)value;
    return !chance(4);
}

static uint64_t platform_read_cr8(void *opaque)
{
    (void)opaque;
    return below(16);
}

static void platform_write_cr8(void *opaque, uint64_t value)
{
    (void)opaque, (void)value;
}

static void platform_set_ferr(void *opaque, bool asserted)
{
    (void)opaque, (void)asserted;
}

static bool platform_ignne(void *opaque)
{
    (void)opaque;
    return chance(2);
}

static const struct x86_platform_ops platform_ops = {
    .acknowledge_interrupt = platform_ack,
    .read_msr = platform_read_msr,
    .write_msr = platform_write_msr,
    .read_cr8 = platform_read_cr8,
    .write_cr8 = platform_write_cr8,
    .set_ferr = platform_set_ferr,
    .ignne = platform_ignne,
};

/* Where the CPU was when the child died (async-signal-safe enough). */
static void record_position(void)
{
    const struct x86_cpu *cpu = fuzz_cpu;
    uint64_t linear;

    if (!cpu)
        return;
    report->rip = cpu->rip;
    report->cs = cpu->seg[X86_CS].selector;
    report->cs_base = cpu->seg[X86_CS].base;
    report->cr0 = cpu->cr0;
    report->mode = cpu->mode;
    linear = cpu->mode == X86_MODE_LONG64 ? cpu->rip
           : (uint32_t)(cpu->seg[X86_CS].base + cpu->rip);
    /* The page tables built here map identically; guests may change them. */
    if (linear < RAM_SIZE - 16) {
        memcpy(report->bytes, fuzz_ram + linear, 16);
        report->have_bytes = true;
    }
}

static void crash_handler(int sig)
{
    report->signal = sig;
    record_position();
    signal(sig, SIG_DFL);
    raise(sig);
}

static _Noreturn void child_fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static _Noreturn void child_fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(report->message, sizeof(report->message), fmt, ap);
    va_end(ap);
    record_position();
    _exit(2);
}

/* ---- Descriptors ---- */

struct desc {
    uint32_t base, limit;
    uint8_t type, s, dpl, p, l, db, g, avl;
};

static void put_desc(uint8_t *d, const struct desc *x)
{
    uint32_t limit = x->limit;

    d[0] = (uint8_t)limit;
    d[1] = (uint8_t)(limit >> 8);
    d[2] = (uint8_t)x->base;
    d[3] = (uint8_t)(x->base >> 8);
    d[4] = (uint8_t)(x->base >> 16);
    d[5] = (uint8_t)(x->type | x->s << 4 | x->dpl << 5 | x->p << 7);
    d[6] = (uint8_t)((limit >> 16 & 0xf) | x->avl << 4 | x->l << 5 | x->db << 6 |
                     x->g << 7);
    d[7] = (uint8_t)(x->base >> 24);
}

/* Load @x through @selector into @seg, as a segment load would (accessed). */
static void load_desc(struct x86_segment_cache *seg, uint16_t selector, struct desc x)
{
    uint8_t raw[8];
    uint64_t v;

    x.type |= x.s;
    put_desc(raw, &x);
    memcpy(&v, raw, 8);
    x86_descriptor_to_cache(v, selector, seg);
}

static struct desc flat(uint8_t type, uint8_t dpl, bool l, bool db)
{
    return (struct desc){ .base = 0, .limit = 0xfffff, .type = type, .s = 1,
                          .dpl = dpl, .p = 1, .l = l, .db = db, .g = 1 };
}

static struct desc random_desc(void)
{
    struct desc d = {
        .base = chance(2) ? 0 : ram_place(0x10000, 1), .limit = (uint32_t)below(0x100000),
        .type = (uint8_t)below(16), .s = !chance(4), .dpl = (uint8_t)below(4),
        .p = !chance(6), .l = chance(4), .db = chance(2), .g = chance(2),
        .avl = chance(2),
    };
    return d;
}

/* Fixed selectors of the GDT built here. */
enum {
    SEL_CODE32 = 0x08, SEL_DATA32 = 0x10, SEL_CODE32_U = 0x1b, SEL_DATA32_U = 0x23,
    SEL_CODE64 = 0x28, SEL_CODE64_U = 0x33, SEL_CODE16 = 0x38, SEL_DATA16 = 0x40,
    SEL_CODE16_U = 0x4b, SEL_TSS = 0x50, SEL_LDT = 0x60, SEL_GATE = 0x70,
    SEL_TASK_GATE = 0x80, SEL_TSS2 = 0x88, GDT_ENTRIES = 48,
};

struct layout {
    bool long_mode;
    uint32_t gdt, idt, tss, tss2, ldt, paging;
    struct desc code, data, tss_desc, ldt_desc;
};

/* The flat segments of the GDT built here. */
static const struct flat_segment {
    uint16_t selector;
    uint8_t type, dpl;
    bool l, db;
} flat_segments[] = {
    { SEL_CODE32, 0xb, 0, false, true }, { SEL_DATA32, 0x3, 0, false, true },
    { SEL_CODE32_U, 0xb, 3, false, true }, { SEL_DATA32_U, 0x3, 3, false, true },
    { SEL_CODE64, 0xb, 0, true, false }, { SEL_CODE64_U, 0xb, 3, true, false },
    { SEL_CODE16, 0xb, 0, false, false }, { SEL_DATA16, 0x3, 0, false, false },
    { SEL_CODE16_U, 0xb, 3, false, false },
};

static void build_gdt(uint8_t *ram, struct layout *lay)
{
    uint8_t *g = ram + lay->gdt;
    struct desc d;

    for (unsigned i = 1; i < GDT_ENTRIES; i++) {
        d = random_desc();
        put_desc(g + i * 8, &d);
    }
    memset(g, 0, 8);
    for (unsigned i = 0; i < G_N_ELEMENTS(flat_segments); i++) {
        const struct flat_segment *f = &flat_segments[i];

        d = flat(f->type, f->dpl, f->l, f->db);
        put_desc(g + (f->selector & ~3), &d);
    }
    /* TSS (available, 32/64-bit), high half for long mode */
    lay->tss_desc = (struct desc){ .base = lay->tss, .limit = chance(2) ? 0x67 : 0x2067,
                                   .type = chance(8) ? 0xb : 0x9, .p = 1,
                                   .dpl = chance(4) ? 3 : 0 };
    put_desc(g + SEL_TSS, &lay->tss_desc);
    memset(g + SEL_TSS + 8, 0, 8);
    lay->ldt_desc = (struct desc){ .base = lay->ldt, .limit = 0xff, .type = 2, .p = 1 };
    put_desc(g + SEL_LDT, &lay->ldt_desc);
    memset(g + SEL_LDT + 8, 0, 8);
    /* call gate to CODE32 or CODE64, DPL 3 */
    {
        uint32_t off = ram_place(16, 1);
        uint8_t *c = g + SEL_GATE;

        c[0] = (uint8_t)off;
        c[1] = (uint8_t)(off >> 8);
        c[2] = lay->long_mode ? SEL_CODE64 : SEL_CODE32;
        c[3] = 0;
        c[4] = (uint8_t)below(4);   /* parameter count */
        c[5] = 0xec | 0x80;         /* P, DPL 3, 32/64-bit call gate */
        c[6] = (uint8_t)(off >> 16);
        c[7] = (uint8_t)(off >> 24);
        memset(c + 8, 0, 8);
    }
    /* task gate to the second TSS; the second TSS (32-bit or 16-bit) */
    {
        uint8_t *t = g + SEL_TASK_GATE;
        struct desc tss2 = { .base = lay->tss2, .limit = 0x67,
                             .type = chance(4) ? 0x1 : 0x9, .p = 1, .dpl = 3 };

        memset(t, 0, 8);
        t[2] = SEL_TSS2;
        t[5] = 0xe5;
        put_desc(g + SEL_TSS2, &tss2);
    }
    /* some descriptors damaged */
    for (unsigned n = (unsigned)below(4); n; n--)
        g[8 + below(GDT_ENTRIES * 8 - 8)] ^= (uint8_t)(1u << below(8));
    /* the LDT: random descriptors, some flat ones */
    for (unsigned i = 0; i < 32; i++) {
        d = chance(2) ? random_desc() : flat(chance(2) ? 0x3 : 0xb, (uint8_t)below(4),
                                             false, true);
        put_desc(ram + lay->ldt + i * 8, &d);
    }
}

static unsigned plant_program(uint8_t *at, unsigned room, enum x86_mode mode);

/* An IDT of gates into random code, many of them starting with IRET. */
static void build_idt(uint8_t *ram, const struct layout *lay, bool prot16)
{
    unsigned size = lay->long_mode ? 16 : 8;

    for (unsigned v = 0; v < 256; v++) {
        uint8_t *e = ram + lay->idt + v * size;
        uint32_t off = ram_place(16, 1);
        uint16_t sel = lay->long_mode ? SEL_CODE64 : prot16 ? SEL_CODE16 : SEL_CODE32;
        uint8_t type = chance(2) ? 0xe : 0xf;

        if (chance(16))
            continue;       /* garbage */
        if (prot16 && !lay->long_mode)
            type &= 0x7;    /* 16-bit gates */
        if (chance(8))
            sel = (uint16_t)(below(GDT_ENTRIES) * 8 | below(4));
        if (!lay->long_mode && chance(16)) {
            type = 5;
            sel = SEL_TSS2;
        }
        memset(e, 0, size);
        e[0] = (uint8_t)off;
        e[1] = (uint8_t)(off >> 8);
        e[2] = (uint8_t)sel;
        e[3] = (uint8_t)(sel >> 8);
        e[4] = lay->long_mode && chance(4) ? (uint8_t)below(8) : 0;
        e[5] = (uint8_t)(type | (chance(3) ? 0x60 : 0) | (chance(12) ? 0 : 0x80));
        e[6] = (uint8_t)(off >> 16);
        e[7] = (uint8_t)(off >> 24);
        /* handlers that do something, or just return */
        if (chance(3))
            off += plant_program(ram + off, RAM_SIZE - 16 - off,
                                 lay->long_mode ? X86_MODE_LONG64 : prot16 ? X86_MODE_PROT16
                                                                          : X86_MODE_PROT32);
        if (chance(2)) {
            if (lay->long_mode) {
                ram[off] = 0x48;
                ram[off + 1] = 0xcf;
            } else {
                ram[off] = chance(2) ? 0xcf : 0xf4;
            }
        }
    }
}

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void build_tss(uint8_t *ram, const struct layout *lay)
{
    uint8_t *t = ram + lay->tss;

    if (lay->long_mode) {
        for (unsigned i = 0; i < 3; i++)
            put64(t + 4 + i * 8, ram_place(0x100, 16) + 0x100);
        for (unsigned i = 0; i < 7; i++)
            put64(t + 0x24 + i * 8, chance(8) ? rnd() : ram_place(0x100, 16) + 0x100);
        put16(t + 0x66, chance(2) ? 0x68 : (uint16_t)below(0x3000));
    } else {
        uint8_t *tss[2] = { t, ram + lay->tss2 };

        for (unsigned k = 0; k < 2; k++) {
            uint8_t *p = tss[k];

            put32(p + 4, ram_place(0x100, 4) + 0x100);       /* ESP0 */
            put16(p + 8, SEL_DATA32);
            put32(p + 12, ram_place(0x100, 4) + 0x100);
            put16(p + 16, (uint16_t)(below(GDT_ENTRIES) * 8 | 1));
            put32(p + 20, ram_place(0x100, 4) + 0x100);
            put16(p + 24, (uint16_t)(below(GDT_ENTRIES) * 8 | 2));
            put32(p + 28, chance(2) ? 0 : (uint32_t)rnd());     /* CR3 */
            put32(p + 32, ram_place(16, 1));                    /* EIP */
            put32(p + 36, (uint32_t)(rnd() & 0x3f7fd5) | 2);     /* EFLAGS */
            for (unsigned r = 0; r < 8; r++)
                put32(p + 40 + r * 4, chance(2) ? (uint32_t)rnd()
                                                           : ram_place(0x100, 4) + 0x80);
            put16(p + 72, chance(3) ? SEL_DATA32_U : SEL_DATA32);
            put16(p + 76, chance(3) ? SEL_CODE32_U : chance(4) ? SEL_CODE16 : SEL_CODE32);
            put16(p + 80, chance(3) ? SEL_DATA32_U : SEL_DATA32);
            put16(p + 84, SEL_DATA32);
            put16(p + 88, chance(4) ? (uint16_t)rnd() : SEL_DATA32);
            put16(p + 92, SEL_DATA32);
            put16(p + 96, chance(2) ? SEL_LDT : 0);
            put16(p + 100, (uint16_t)(chance(8) ? 1 : 0));      /* T */
            put16(p + 102, chance(2) ? 0x68 : (uint16_t)below(0x3000));
        }
    }
}

/* Page tables mapping the low 4 GiB identically, with random damage. */
static uint64_t pte_flags(void)
{
    uint64_t f = 0x7;       /* P, R/W, U/S */

    if (chance(16))
        f &= ~1ull;
    if (chance(8))
        f &= ~2ull;
    if (chance(8))
        f &= ~4ull;
    if (chance(4))
        f |= 0x60;          /* A, D */
    if (chance(16))
        f |= 1ull << 63;    /* NX */
    if (chance(32))
        f |= 1ull << (12 + below(40));      /* maybe reserved */
    if (chance(64))
        f |= chance(2) ? DEVICE_BASE : 0xc0000000u;     /* tables in a device, nowhere */
    return f;
}

/* Returns CR3. @kind: 0 4-level, 1 PAE, 2 32-bit. */
static uint32_t build_paging(uint8_t *ram, uint32_t at, unsigned kind)
{
    if (kind == 0) {
        uint64_t *pml4 = (uint64_t *)(ram + at), *pdpt = pml4 + 512, *pd = pdpt + 512;
        uint64_t *pt = pd + 4 * 512;

        memset(pml4, 0, 4096);
        pml4[0] = (at + 0x1000) | pte_flags() | 1;
        pml4[below(512)] |= chance(4) ? rnd() : 0;
        memset(pdpt, 0, 4096);
        for (unsigned i = 0; i < 4; i++)
            pdpt[i] = chance(16) ? (uint64_t)i << 30 | 0x87 : (at + 0x2000 + i * 0x1000) | pte_flags();
        for (unsigned i = 0; i < 4 * 512; i++)
            pd[i] = (uint64_t)i << 21 | 0x80 | pte_flags();
        pd[0] = (at + 0x6000) | 7;
        for (unsigned i = 0; i < 512; i++)
            pt[i] = (uint64_t)i << 12 | pte_flags();
        pt[(at >> 12) & 511] |= 1;
        return at;
    }
    if (kind == 1) {
        uint64_t *pdpt = (uint64_t *)(ram + at), *pd = pdpt + 512, *pt = pd + 4 * 512;

        memset(pdpt, 0, 4096);
        for (unsigned i = 0; i < 4; i++)
            pdpt[i] = (at + 0x1000 + i * 0x1000) | (chance(32) ? 0x7 : 1);
        for (unsigned i = 0; i < 4 * 512; i++)
            pd[i] = (uint64_t)i << 21 | 0x80 | pte_flags();
        pd[0] = (at + 0x5000) | 7;
        for (unsigned i = 0; i < 512; i++)
            pt[i] = (uint64_t)i << 12 | pte_flags();
        return at;
    }
    {
        uint32_t *pd = (uint32_t *)(ram + at), *pt = pd + 1024;

        for (unsigned i = 0; i < 1024; i++)
            pd[i] = (uint32_t)i << 22 | 0x80 | (uint32_t)pte_flags();
        pd[0] = (at + 0x1000) | 7;
        for (unsigned i = 0; i < 1024; i++)
            pt[i] = (uint32_t)i << 12 | (uint32_t)pte_flags();
        return at;
    }
}

/* Instructions that reach the system paths, with random operands. */
static const uint8_t interesting[][3] = {
    {2, 0x0f, 0x00}, {2, 0x0f, 0x01}, {2, 0x0f, 0x20}, {2, 0x0f, 0x22}, {2, 0x0f, 0x21},
    {2, 0x0f, 0x23}, {2, 0x0f, 0x30}, {2, 0x0f, 0x32}, {2, 0x0f, 0x05}, {2, 0x0f, 0x07},
    {2, 0x0f, 0x34}, {2, 0x0f, 0x35}, {1, 0xcd, 0}, {1, 0xcf, 0}, {1, 0xca, 0}, {1, 0xcb, 0},
    {1, 0xea, 0}, {1, 0x9a, 0}, {1, 0xff, 0}, {1, 0x8e, 0}, {1, 0xc4, 0}, {1, 0xc5, 0},
    {2, 0x0f, 0xb2}, {2, 0x0f, 0xb4}, {2, 0x0f, 0xb5}, {1, 0xe4, 0}, {1, 0xe6, 0},
    {1, 0xec, 0}, {1, 0xef, 0}, {1, 0x6c, 0}, {1, 0x6f, 0}, {1, 0xa4, 0}, {1, 0xa5, 0},
    {1, 0xab, 0}, {1, 0xad, 0}, {1, 0xf4, 0}, {1, 0xfa, 0}, {1, 0xfb, 0}, {1, 0x9c, 0},
    {1, 0x9d, 0}, {2, 0x0f, 0x06}, {2, 0x0f, 0xae}, {2, 0x0f, 0xc7}, {1, 0xcc, 0},
    {1, 0xce, 0}, {1, 0xf1, 0}, {1, 0x62, 0}, {2, 0x0f, 0xa2}, {2, 0x0f, 0x31},
    {1, 0x17, 0}, {1, 0x07, 0}, {1, 0x1f, 0}, {1, 0xd9, 0}, {1, 0xdd, 0}, {1, 0xdf, 0},
    {1, 0x9b, 0}, {2, 0x0f, 0x02}, {2, 0x0f, 0x03}, {1, 0x63, 0}, {1, 0xc2, 0},
    {1, 0xc3, 0}, {1, 0xe8, 0}, {1, 0xe2, 0}, {1, 0x8c, 0}, {2, 0x0f, 0xa1},
    {2, 0x0f, 0xa9}, {1, 0xc8, 0}, {1, 0xc9, 0}, {1, 0x61, 0}, {1, 0x60, 0},
};

/* A selector of the GDT (or LDT) built here, sometimes a bad one. */
static uint16_t some_selector(void)
{
    return chance(8) ? (uint16_t)rnd() : (uint16_t)(below(GDT_ENTRIES) * 8 | below(4) |
                                                    (chance(8) ? 4 : 0));
}

static unsigned plant_code(uint8_t *at, bool rex)
{
    const uint8_t *op = interesting[below(G_N_ELEMENTS(interesting))];
    static const uint8_t prefixes[] = { 0x66, 0x67, 0xf3, 0xf2, 0xf0, 0x26, 0x2e, 0x36,
                                        0x3e, 0x64, 0x65 };
    unsigned n = 0;

    while (chance(3) && n < 3)
        at[n++] = prefixes[below(sizeof(prefixes))];
    if (rex && chance(3))
        at[n++] = (uint8_t)(0x40 | below(16));
    if (chance(4)) {
        /* x87, MMX, SSE: some of these run on the host's unit */
        static const uint8_t maps[] = { 0x0f, 0x0f, 0x38, 0x3a, 0xd8 };
        uint8_t map = maps[below(sizeof(maps))];

        if (map == 0xd8) {
            at[n++] = (uint8_t)(0xd8 + below(8));
        } else {
            at[n++] = 0x0f;
            if (map != 0x0f)
                at[n++] = map;
            at[n++] = (uint8_t)rnd();
        }
        /* register forms often: the host stubs take those */
        at[n++] = (uint8_t)(chance(2) ? 0xc0 | rnd() : rnd());
        for (unsigned i = 0; i < 7; i++)
            at[n++] = (uint8_t)rnd();
        return n;
    }
    for (unsigned i = 0; i < op[0]; i++)
        at[n++] = op[1 + i];
    for (unsigned i = 0; i < 8; i++)
        at[n++] = (uint8_t)rnd();
    /* far pointers with selectors that exist */
    if (op[1] == 0xea || op[1] == 0x9a) {
        uint16_t sel = some_selector();
        unsigned off = n - 8 + (chance(2) ? 4 : 2);

        at[off] = (uint8_t)sel;
        at[off + 1] = (uint8_t)(sel >> 8);
    }
    return n;
}

/* A run of well-formed planted instructions for @mode; returns its length. */
static unsigned plant_program(uint8_t *at, unsigned room, enum x86_mode mode)
{
    unsigned used = 0;

    for (unsigned k = (unsigned)below(24) + 1; k && used + 32 <= room; k--) {
        struct x86_insn insn;
        unsigned n = plant_code(at + used, mode == X86_MODE_LONG64);

        if (x86_decode(&insn, at + used, n, mode) == X86_DECODE_OK)
            used += insn.length;
        else if (chance(4))
            used += n;      /* an invalid one now and then */
    }
    return used;
}

/* What WRMSR accepts for the address MSRs (sign-extended bit 47). */
static uint64_t canonical(uint64_t v)
{
    return (uint64_t)((int64_t)(v << 16) >> 16);
}

/* Random bytes, planted system instructions and structures; a start state. */
static void build_guest(struct x86_cpu *cpu, uint8_t *ram)
{
    struct x86_cpu_state s;
    struct layout lay = { 0 };
    unsigned mode = (unsigned)below(7);
    bool user = chance(3), paging, v86 = false, prot = false;
    struct desc code = { 0 }, data = { 0 };
    uint16_t cs = 0, ds = 0;
    uint32_t rip;

    for (uint32_t i = 0; i < RAM_SIZE; i += 8) {
        uint64_t r = rnd();

        memcpy(ram + i, &r, 8);
    }
    /* Sparse zeros make for more ordinary instructions (ADD [rax], al). */
    for (unsigned n = (unsigned)below(64); n; n--)
        memset(ram + ram_place(0x1000, 1), 0, below(0x1000));
    for (unsigned n = 2000; n; n--)
        plant_code(ram + ram_place(32, 1), mode >= 4);

    lay.long_mode = mode >= 4;
    lay.gdt = ram_place(GDT_ENTRIES * 8, 8);
    lay.idt = ram_place(4096, 8);
    lay.tss = ram_place(0x2100, 4);
    lay.tss2 = ram_place(0x100, 4);
    lay.ldt = ram_place(0x100, 8);
    lay.paging = ram_place(0x8000, 4096);
    build_gdt(ram, &lay);
    build_idt(ram, &lay, mode == 1);
    build_tss(ram, &lay);

    x86_cpu_reset(cpu);
    if (mode == 6) {
        /* The user-mode starting point, maybe at CPL 0. */
        x86_cpu_set_flat64(cpu);
    }
    x86_cpu_get_state(cpu, &s);
    for (unsigned i = 0; i < 16; i++) {
        switch (below(5)) {
        case 0: s.gpr[i] = rnd(); break;
        case 1: s.gpr[i] = chance(8) ? DEVICE_BASE + below(0x10000) : below(RAM_SIZE); break;
        case 2: s.gpr[i] = below(0x100); break;
        case 3: s.gpr[i] = some_selector(); break;
        default:    /* control-register-like values (MOV CR, WRMSR EFER) */
            s.gpr[i] = (chance(2) ? s.cr0 | X86_CR0_PE : X86_CR4_PAE | X86_CR4_OSFXSR) ^
                       1ull << below(32);
            break;
        }
    }
    if (chance(2)) {
        /* an MSR the CPU knows, for RDMSR/WRMSR */
        static const uint32_t msrs[] = {
            X86_MSR_TSC, X86_MSR_APIC_BASE, X86_MSR_SYSENTER_CS, X86_MSR_SYSENTER_ESP,
            X86_MSR_SYSENTER_EIP, X86_MSR_PAT, X86_MSR_EFER, X86_MSR_STAR, X86_MSR_LSTAR,
            X86_MSR_FMASK, X86_MSR_FS_BASE, X86_MSR_GS_BASE, X86_MSR_KERNEL_GS_BASE,
            X86_MSR_TSC_AUX, X86_MSR_TSC_DEADLINE, X86_MSR_MTRR_DEF_TYPE,
            X86_MSR_MTRR_PHYS_BASE0 + 3, X86_MSR_MISC_ENABLE,
        };

        s.gpr[X86_RCX] = msrs[below(G_N_ELEMENTS(msrs))];
    }
    s.gpr[X86_RSP] = chance(8) ? rnd() : ram_place(0x1000, 16) + 0x800;
    rip = ram_place(32, 1);
    s.rip = rip;
    s.rflags = (rnd() & (X86_ARITH_FLAGS | X86_DF | X86_IF | X86_TF | X86_IOPL | X86_NT |
                         X86_AC | X86_ID)) | 2;
    if (!chance(8))
        s.rflags &= ~(uint64_t)X86_TF;
    /* Descriptor tables in device memory or nowhere, now and then. */
    if (chance(32))
        lay.gdt = chance(2) ? DEVICE_BASE : 0x80000000u;
    if (chance(32))
        lay.idt = chance(2) ? DEVICE_BASE + 0x1000 : 0xfffff000u;
    s.gdt.base = lay.gdt;
    s.gdt.limit = chance(8) ? (uint16_t)below(GDT_ENTRIES * 8) : GDT_ENTRIES * 8 - 1;
    s.idt.base = lay.idt;
    s.idt.limit = chance(8) ? (uint16_t)below(0x1000) : lay.long_mode ? 0xfff : 0x7ff;
    paging = mode >= 4 ? mode != 6 : chance(2);
    if (mode == 0) {
        /* real mode */
        uint16_t real_cs = (uint16_t)(rip >> 4) & 0xf000;

        s.cs.selector = real_cs;
        s.cs.base = (uint64_t)real_cs << 4;
        s.rip = rip - s.cs.base;
        s.idt.base = chance(2) ? 0 : s.idt.base;
        s.idt.limit = 0x3ff;
        s.gpr[X86_RSP] &= 0xffff;
        s.rip &= 0xffff;
    } else if (mode == 6) {
        if (!user) {
            s.cs.dpl = s.ss.dpl = 0;
            s.cs.selector = SEL_CODE64;
            s.ss.selector = SEL_DATA32;
        }
    } else {
        switch (mode) {
        case 1:     /* 16-bit protected */
            code = flat(0xb, user ? 3 : 0, false, false);
            data = flat(0x3, user ? 3 : 0, false, user);
            cs = user ? SEL_CODE16_U : SEL_CODE16;
            ds = user ? SEL_DATA32_U : SEL_DATA16;
            break;
        case 2:     /* 32-bit protected, or V86 */
        case 3:
            code = flat(0xb, user ? 3 : 0, false, true);
            data = flat(0x3, user ? 3 : 0, false, true);
            cs = user ? SEL_CODE32_U : SEL_CODE32;
            ds = user ? SEL_DATA32_U : SEL_DATA32;
            v86 = mode == 3 && user;
            break;
        case 4:     /* compatibility mode */
            code = flat(0xb, user ? 3 : 0, false, true);
            data = flat(0x3, user ? 3 : 0, false, true);
            cs = user ? SEL_CODE32_U : SEL_CODE32;
            ds = user ? SEL_DATA32_U : SEL_DATA32;
            break;
        default:    /* 64-bit */
            code = flat(0xb, user ? 3 : 0, true, false);
            data = flat(0x3, user ? 3 : 0, false, true);
            cs = user ? SEL_CODE64_U : SEL_CODE64;
            ds = user ? SEL_DATA32_U : SEL_DATA32;
            break;
        }
        s.cs.base = 0;      /* the segments are loaded below */
        prot = true;
        s.cr0 |= X86_CR0_PE;
        s.cr0 &= ~(X86_CR0_CD | X86_CR0_NW);
        if (mode >= 4) {
            s.cr4 |= X86_CR4_PAE;
            s.efer |= X86_EFER_LME | X86_EFER_LMA;
        }
        if (v86) {
            struct x86_segment *segs[] = { &s.cs, &s.ss, &s.ds, &s.es, &s.fs, &s.gs };

            s.rflags |= X86_VM;
            for (unsigned i = 0; i < 6; i++) {
                uint16_t sel = (uint16_t)(rip >> 4) & 0xf000;

                memset(segs[i], 0, sizeof(*segs[i]));
                segs[i]->selector = sel;
                segs[i]->base = (uint64_t)sel << 4;
                segs[i]->limit = 0xffff;
                segs[i]->type = i == 0 ? 0xb : 0x3;
                segs[i]->s = segs[i]->present = 1;
                segs[i]->dpl = 3;
            }
            s.rip = (rip - s.cs.base) & 0xffff;
            s.gpr[X86_RSP] &= 0xffff;
        }
    }
    /* CR0/CR4/EFER bits MOV CR and WRMSR accept. */
    s.cr0 ^= rnd() & (X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | X86_CR0_NE | X86_CR0_WP |
                      X86_CR0_AM);
    if (chance(4))
        s.cr0 |= X86_CR0_CD | (chance(2) ? X86_CR0_NW : 0);
    s.cr4 |= rnd() & (X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE |
                      X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR |
                      X86_CR4_OSXMMEXCPT);
    if (chance(2) && (s.cr4 & X86_CR4_OSXSAVE || s.xcr0 > 1 || chance(2))) {
        struct x86_cpu_state probe;

        /* XSAVE only where the CPU has it */
        x86_cpu_set_flat64(cpu);
        x86_cpu_get_state(cpu, &probe);
        s.cr4 |= probe.cr4 & X86_CR4_OSXSAVE;
        s.xcr0 = probe.cr4 & X86_CR4_OSXSAVE ? probe.xcr0 : 1;
    }
    if (!(s.cr4 & X86_CR4_OSXSAVE))
        s.xcr0 = 1;
    if (s.cr0 & X86_CR0_PE)
        s.efer |= rnd() & (X86_EFER_SCE | X86_EFER_NXE);
    if (paging && (s.cr0 & X86_CR0_PE)) {
        unsigned kind = mode >= 4 ? 0 : chance(2) ? 1 : 2;

        s.cr3 = build_paging(ram, lay.paging, kind);
        s.cr0 |= X86_CR0_PG;
        if (kind == 1)
            s.cr4 |= X86_CR4_PAE;
        else if (kind == 2)
            s.cr4 &= ~X86_CR4_PAE;
    }
    /* Breakpoints near the code, sometimes. */
    if (chance(4)) {
        s.dr[7] = 0x400 | (rnd() & 0xffff00ff & ~0x0000c000ull);
        for (unsigned i = 0; i < 4; i++)
            s.dr[i] = chance(2) ? s.cs.base + s.rip + below(64) : below(RAM_SIZE);
    }
    if (chance(16))
        s.nmi_pending = true;
    x86_cpu_set_state(cpu, &s);
    if (prot) {
        struct desc tss = lay.tss_desc;

        if (!v86) {
            load_desc(&cpu->seg[X86_CS], cs, code);
            for (unsigned i = 0; i < X86_SEG_COUNT; i++)
                if (i != X86_CS)
                    load_desc(&cpu->seg[i], ds, data);
            if (chance(4)) {
                cpu->seg[X86_FS].selector = cpu->seg[X86_GS].selector = 0;
                cpu->seg[X86_FS].flags = cpu->seg[X86_GS].flags = X86_SEGF_UNUSABLE;
            }
        }
        tss.type = lay.long_mode ? 0xb : (tss.type | 2);    /* busy */
        load_desc(&cpu->tr, SEL_TSS, tss);
        load_desc(&cpu->ldt, SEL_LDT, lay.ldt_desc);
        /* once more through the state: a round trip, and mode and caches */
        x86_cpu_get_state(cpu, &s);
        x86_cpu_set_state(cpu, &s);
    }
    {
        uint64_t linear = cpu->mode == X86_MODE_LONG64 ? s.rip : (uint32_t)(s.cs.base + s.rip);

        if (linear < RAM_SIZE - 0x400)
            plant_program(ram + linear, 0x400, cpu->mode);
    }
    cpu->msr.star = (uint64_t)(chance(2) ? SEL_CODE32 : rnd() & 0xffff) << 32 |
                    (uint64_t)(SEL_CODE32_U & ~3) << 48 | ram_place(16, 1);
    cpu->msr.lstar = chance(8) ? canonical(rnd()) : ram_place(16, 1);
    cpu->msr.cstar = ram_place(16, 1);
    cpu->msr.fmask = (uint32_t)rnd();
    cpu->msr.sysenter_cs = chance(4) ? rnd() & 0xffff : lay.long_mode ? SEL_CODE64 : SEL_CODE32;
    cpu->msr.sysenter_eip = ram_place(16, 1);
    cpu->msr.sysenter_esp = ram_place(0x100, 16) + 0x80;
    cpu->msr.kernel_gs_base = canonical(rnd());
}

/* ---- State round trip ---- */

#define SAME(field)                                                            \
    do {                                                                       \
        if (memcmp(&a->field, &b->field, sizeof(a->field)))                    \
            child_fail("state round trip: " #field " differs");                \
    } while (0)

static void same_segment(const struct x86_segment *a, const struct x86_segment *b,
                         const char *name)
{
    if (a->base != b->base || a->limit != b->limit || a->selector != b->selector ||
        a->type != b->type || a->present != b->present || a->dpl != b->dpl ||
        a->db != b->db || a->s != b->s || a->l != b->l || a->g != b->g ||
        a->avl != b->avl || a->unusable != b->unusable)
        child_fail("state round trip: segment %s differs", name);
}

static void same_state(const struct x86_cpu_state *a, const struct x86_cpu_state *b)
{
    SAME(gpr);
    SAME(rip);
    SAME(rflags);
    same_segment(&a->cs, &b->cs, "cs");
    same_segment(&a->ds, &b->ds, "ds");
    same_segment(&a->es, &b->es, "es");
    same_segment(&a->fs, &b->fs, "fs");
    same_segment(&a->gs, &b->gs, "gs");
    same_segment(&a->ss, &b->ss, "ss");
    same_segment(&a->tr, &b->tr, "tr");
    same_segment(&a->ldt, &b->ldt, "ldt");
    SAME(gdt.base);
    SAME(gdt.limit);
    SAME(idt.base);
    SAME(idt.limit);
    SAME(cr0);
    SAME(cr2);
    SAME(cr3);
    SAME(cr4);
    SAME(cr8);
    SAME(efer);
    SAME(apic_base);
    SAME(dr);
    SAME(xcr0);
    SAME(xsave);
    SAME(nr_msrs);
    for (unsigned i = 0; i < a->nr_msrs && i < X86_MAX_MSRS; i++)
        if (a->msrs[i].index != b->msrs[i].index ||
            /* the TSC counts on between the two reads */
            (a->msrs[i].value != b->msrs[i].value && a->msrs[i].index != X86_MSR_TSC))
            child_fail("state round trip: MSR %#x differs", a->msrs[i].index);
    SAME(lapic);
    SAME(mp_state);
    SAME(exception_pending);
    SAME(exception_vector);
    SAME(interrupt_pending);
    SAME(interrupt_vector);
    SAME(interrupt_shadow);
    SAME(nmi_pending);
    SAME(nmi_masked);
    SAME(sipi_vector);
}

/* get → set → get gives what was set; the CPU goes on from there. */
static void state_round_trip(struct x86_cpu *cpu)
{
    static struct x86_cpu_state a, b;

    x86_cpu_get_state(cpu, &a);
    if (chance(2)) {
        /* what a debugger or a migration might change */
        a.gpr[below(16)] = rnd();
        a.cr2 = rnd();
    }
    x86_cpu_set_state(cpu, &a);
    x86_cpu_get_state(cpu, &b);
    same_state(&a, &b);
}

/* ---- One seed ---- */

static void run_seed(uint64_t seed)
{
    struct x86_test_machine *m = x86_test_machine_new("fuzz", RAM_SIZE);
    struct x86_cpu *cpu = &m->cpu;
    struct memory_map *io = memory_map_new("fuzz-io", 1u << 16, NULL);
    uint64_t executed = 0;
    gint64 end = g_get_monotonic_time() + SEED_SECONDS * G_USEC_PER_SEC;

    rng_state = seed * 0x9e3779b97f4a7c15ull + 0x1234567;
    for (unsigned i = 0; i < 4; i++)
        rnd();
    g_assert_nonnull(memory_map_add_io(m->map, "dev", DEVICE_BASE, 0x10000, &device_ops,
                                       NULL, NULL));
    g_assert_nonnull(memory_map_add_io(m->map, "apic", 0xfee00000, 0x1000, &device_ops,
                                       NULL, NULL));
    g_assert_nonnull(memory_map_add_io(io, "ports", 0, 1u << 16, &device_ops, NULL, NULL));
    if (!chance(8))
        cpu->io = io;
    cpu->platform = chance(16) ? NULL : &platform_ops;
    cpu->system = true;
    fuzz_cpu = cpu;
    fuzz_ram = m->ram;
    build_guest(cpu, m->ram);

    while (executed < SEED_INSTRUCTIONS && g_get_monotonic_time() < end) {
        uint64_t before = cpu->instructions;
        enum x86_exit exit;

        /*
         * A budget unit may be a batch of 4096 REP iterations on a slow
         * device, so the budget stays small; one x86_cpu_run taking longer
         * than RUN_ALARM_SECONDS is a hang.
         */
        alarm(RUN_ALARM_SECONDS);
        exit = x86_cpu_run(cpu, 1 + below(chance(4) ? 50 : 2000));
        alarm(0);
        executed += cpu->instructions - before;
        /* Every run costs something even if nothing retired (HLT, faults). */
        executed += 16;
        switch (exit) {
        case X86_EXIT_SHUTDOWN:
            if (chance(2))
                build_guest(cpu, m->ram);
            else
                x86_cpu_reset(cpu);     /* to the reset vector: unmapped here */
            break;
        case X86_EXIT_HLT:
            cpu->halted = false;
            if (chance(2))
                x86_cpu_request_interrupt(cpu);
            break;
        case X86_EXIT_BUDGET:
        case X86_EXIT_STOP:
            break;
        case X86_EXIT_EXCEPTION:
            child_fail("X86_EXIT_EXCEPTION in system mode (vector %u)",
                       cpu->exception_vector);
        default:
            child_fail("unknown exit %d", exit);
        }
        if (chance(8))
            x86_cpu_request_interrupt(cpu);
        if (chance(32))
            x86_cpu_request_nmi(cpu);
        if (chance(16))
            state_round_trip(cpu);
        if (chance(64)) {
            /* DMA into RAM */
            uint32_t at = ram_place(256, 1);

            for (unsigned i = 0; i < 256; i++)
                m->ram[at + i] = (uint8_t)rnd();
            x86_code_invalidate_range(cpu, at, 256);
        }
        if (chance(128))
            cpu->rflags |= X86_TF;
        if (chance(256))
            x86_cpu_init_signal(cpu);
        if (chance(32))
            build_guest(cpu, m->ram);
    }
    report->instructions = cpu->instructions;
    fuzz_cpu = NULL;
    x86_test_machine_free(m);
    memory_map_free(io);
}

static uint64_t env_number(const char *name, uint64_t fallback)
{
    const char *v = g_getenv(name);

    return v && *v ? g_ascii_strtoull(v, NULL, 0) : fallback;
}

/* Fork a child for @seed; false (with a message) if it did not end well. */
static bool fuzz_one(uint64_t seed, uint64_t *instructions)
{
    int status;
    pid_t pid;

    memset(report, 0, sizeof(*report));
    fflush(NULL);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGALRM,
                                    SIGTRAP };

        for (unsigned i = 0; i < G_N_ELEMENTS(sigs); i++)
            signal(sigs[i], crash_handler);
#ifndef __SANITIZE_ADDRESS__
        {
            /* Unbounded host memory is a failure too. */
            struct rlimit limit = { 1ull << 30, 1ull << 30 };

            setrlimit(RLIMIT_AS, &limit);
        }
#endif
        run_seed(seed);
        exit(0);        /* not _exit: coverage builds write their counts */
    }
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    *instructions += report->instructions;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    {
        GString *s = g_string_new(NULL);

        g_string_append_printf(s, "seed %" PRIu64 ": ", seed);
        if (WIFSIGNALED(status))
            g_string_append_printf(s, "killed by signal %d (%s)%s", WTERMSIG(status),
                                   strsignal(WTERMSIG(status)),
                                   WTERMSIG(status) == SIGALRM ? ": hang" : "");
        else
            g_string_append_printf(s, "exit status %d: %s", WEXITSTATUS(status),
                                   report->message);
        g_string_append_printf(s, "; at CS %04x (base %#" PRIx64 ") RIP %#" PRIx64
                               " mode %u CR0 %#" PRIx64, report->cs, report->cs_base,
                               report->rip, report->mode, report->cr0);
        if (report->have_bytes) {
            g_string_append(s, " bytes");
            for (unsigned i = 0; i < 16; i++)
                g_string_append_printf(s, " %02x", report->bytes[i]);
        }
        g_test_message("%s", s->str);
        fprintf(stderr, "%s\n", s->str);
        g_string_free(s, true);
    }
    return false;
}

static void test_fuzz(void)
{
    uint64_t seconds = env_number("MIMIC_X86_FUZZ_SECONDS", 12);
    uint64_t seed = env_number("MIMIC_X86_FUZZ_SEED", 1);
    gint64 end = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
    uint64_t instructions = 0, seeds = 0, failures = 0;

    do {
        if (!fuzz_one(seed, &instructions))
            failures++;
        seed++;
        seeds++;
    } while (g_get_monotonic_time() < end && failures < 10);
    g_test_message("%" PRIu64 " seeds (%" PRIu64 "..%" PRIu64 "), %" PRIu64
                   " instructions executed, %" PRIu64 " failures", seeds, seed - seeds,
                   seed - 1, instructions, failures);
    g_assert_cmpuint(failures, ==, 0);
}

/* Unassigned accesses are logged once per address; nothing to see here. */
static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *message,
                  gpointer data)
{
    (void)domain, (void)level, (void)message, (void)data;
}

int main(int argc, char **argv)
{
    const char *only = g_getenv("MIMIC_X86_FUZZ_ONLY");

    report = mmap(NULL, sizeof(*report), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    g_assert_true(report != MAP_FAILED);
    g_log_set_handler("mimic-memory", G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO, quiet, NULL);
    if (only && *only) {
        /* One seed in this process, for a debugger. */
        run_seed(g_ascii_strtoull(only, NULL, 0));
        printf("seed %s: %" PRIu64 " instructions, %s\n", only, report->instructions,
               report->message[0] ? report->message : "ok");
        return 0;
    }
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/x86/fuzz/system", test_fuzz);
    return g_test_run();
}
