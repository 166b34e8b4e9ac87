/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The JIT's PC platform lines that have no chip of their own: FERR# from
 * the CPUs latched into IRQ 13, port F0h clearing it and asserting IGNNE#
 * until FERR# goes inactive (SDM vol. 1, D.2.1), and both carried through
 * the platform state.
 */
#include "engine/clock.h"
#include "engine/memory.h"
#include "jit/pc/pc.h"

#include <glib.h>

#define IRQ13_SLAVE_BIT (1u << 5)       /* IRQ 13 is the slave 8259's IR5 */

static void notify(void *opaque, unsigned index)
{
}

static void ignore_ipi(void *opaque, unsigned index)
{
}

static void ignore_startup(void *opaque, unsigned index, uint8_t vector)
{
}

static const struct jit_pc_cpu_ops cpu_ops = {
    .notify = notify, .init = ignore_ipi, .startup = ignore_startup,
};

struct platform {
    struct vclock *clock;
    struct memory_map *memory, *io;
    struct jit_pc *pc;
};

static void platform_new(struct platform *p)
{
    p->clock = vclock_new(g_main_context_default());
    p->memory = memory_map_new("memory", 1ull << 32, NULL);
    p->io = memory_map_new("io", 1u << 16, NULL);
    p->pc = jit_pc_new(p->clock, 1, &cpu_ops, NULL);
    g_assert_cmpint(jit_pc_attach(p->pc, p->memory, p->io, NULL), ==, 0);
    jit_pc_reset(p->pc);
}

static void platform_free(struct platform *p)
{
    jit_pc_free(p->pc);
    memory_map_free(p->io);
    memory_map_free(p->memory);
    vclock_free(p->clock);
}

static uint8_t irq13_line(struct jit_pc *pc)
{
    struct x86_platform_state s;

    jit_pc_get_state(pc, &s);
    return s.pic[1].last_irr & IRQ13_SLAVE_BIT;
}

static void test_ferr_ignne(void)
{
    struct platform a, b;
    struct x86_platform_state s;

    platform_new(&a);
    g_assert_false(jit_pc_ignne(a.pc));
    jit_pc_set_ferr(a.pc, true);
    g_assert_true(irq13_line(a.pc));
    g_assert_false(jit_pc_ignne(a.pc));
    /* The IRQ 13 handler writes port F0h: the request drops, IGNNE# rises. */
    g_assert_true(memory_map_dispatch_write(a.io, 0xf0, 1, 0));
    g_assert_false(irq13_line(a.pc));
    g_assert_true(jit_pc_ignne(a.pc));

    /* Both lines survive a state save and load into another platform. */
    jit_pc_get_state(a.pc, &s);
    g_assert_cmphex(s.x87_error_lines, ==, 3);
    platform_new(&b);
    jit_pc_set_state(b.pc, &s);
    g_assert_true(jit_pc_ignne(b.pc));

    /* FERR# inactive (FNCLEX): IGNNE# goes with it; a reset clears all. */
    jit_pc_set_ferr(b.pc, false);
    g_assert_false(jit_pc_ignne(b.pc));
    jit_pc_reset(a.pc);
    g_assert_false(jit_pc_ignne(a.pc));
    jit_pc_get_state(a.pc, &s);
    g_assert_cmphex(s.x87_error_lines, ==, 0);
    platform_free(&b);
    platform_free(&a);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/jit/pc/ferr-ignne", test_ferr_ignne);
    return g_test_run();
}
