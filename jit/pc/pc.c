/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PC platform around the software CPU: one lock for the interrupt
 * chips and timer, their ports and MMIO windows, GSI routing, and the INTR
 * path from the 8259 and the local APICs to each CPU.
 */
#include "jit/pc/pc.h"

#include "engine/clock.h"
#include "engine/memory.h"

static __thread int current_cpu = -1;

void jit_pc_set_current_cpu(int index)
{
    current_cpu = index;
}

struct jit_pc *jit_pc_new(struct vclock *clock, unsigned nr_cpus,
                          const struct jit_pc_cpu_ops *ops, void *opaque)
{
    struct jit_pc *pc = g_new0(struct jit_pc, 1);

    g_mutex_init(&pc->lock);
    pc->clock = clock;
    pc->cpu_ops = ops;
    pc->cpu_opaque = opaque;
    pc->nr_cpus = MIN(nr_cpus, JIT_PC_MAX_CPUS);
    pic_reset(&pc->pic);
    pit_init(&pc->pit, pc, clock);
    pc->ioapic.pc = pc;
    ioapic_reset(&pc->ioapic);
    for (unsigned i = 0; i < pc->nr_cpus; i++) {
        pc->lapic[i] = g_new0(struct lapic, 1);
        lapic_init(pc->lapic[i], pc, i);
    }
    return pc;
}

void jit_pc_free(struct jit_pc *pc)
{
    if (!pc)
        return;
    pit_destroy(&pc->pit);
    for (unsigned i = 0; i < pc->nr_cpus; i++) {
        lapic_destroy(pc->lapic[i]);
        g_free(pc->lapic[i]);
    }
    g_mutex_clear(&pc->lock);
    g_free(pc);
}

void jit_pc_reset(struct jit_pc *pc)
{
    g_mutex_lock(&pc->lock);
    pic_reset(&pc->pic);
    pc->pic.line = 0;
    pc->pic_intr = false;
    pit_reset(&pc->pit);
    ioapic_reset(&pc->ioapic);
    pc->ferr = pc->ignne = false;
    for (unsigned i = 0; i < pc->nr_cpus; i++)
        lapic_reset(pc->lapic[i]);
    g_mutex_unlock(&pc->lock);
}

/* The 8259's INTR reaches CPU @index: LINT0 in ExtINT mode, or no APIC. */
static bool pic_routed(struct jit_pc *pc, unsigned index)
{
    struct lapic *apic = pc->lapic[index];

    if (!lapic_hardware_enabled(apic))
        return index == 0;
    return lapic_accepts_extint(apic);
}

/* The 8259 answers this CPU's INTA: routed to it, or an ExtINT message came. */
static bool pic_answers(struct jit_pc *pc, unsigned index)
{
    return (pic_routed(pc, index) || pc->lapic[index]->extint) && pic_output(&pc->pic);
}

static bool pending_locked(struct jit_pc *pc, unsigned index)
{
    if (pic_answers(pc, index))
        return true;
    return lapic_has_interrupt(pc->lapic[index]);
}

void jit_pc_update(struct jit_pc *pc)
{
    bool intr = pic_output(&pc->pic);

    /* The 8259's INTR is every LINT0: a rising edge for LVTs in NMI mode. */
    if (intr && !pc->pic_intr)
        for (unsigned i = 0; i < pc->nr_cpus; i++)
            if (lapic_hardware_enabled(pc->lapic[i]))
                lapic_lint_edge(pc->lapic[i], 0);
    pc->pic_intr = intr;
    for (unsigned i = 0; i < pc->nr_cpus; i++)
        if (pending_locked(pc, i))
            pc->cpu_ops->notify(pc->cpu_opaque, i);
}

bool jit_pc_interrupt_pending(struct jit_pc *pc, unsigned index)
{
    bool pending;

    g_mutex_lock(&pc->lock);
    pending = index < pc->nr_cpus && pending_locked(pc, index);
    g_mutex_unlock(&pc->lock);
    return pending;
}

int jit_pc_acknowledge(struct jit_pc *pc, unsigned index)
{
    int vector = -1;

    if (index >= pc->nr_cpus)
        return -1;
    g_mutex_lock(&pc->lock);
    if (pic_answers(pc, index)) {
        pc->lapic[index]->extint = false;
        vector = pic_acknowledge(&pc->pic);
    } else
        vector = lapic_acknowledge(pc->lapic[index]);
    g_mutex_unlock(&pc->lock);
    return vector;
}

/*
 * GSIs as the KVM accelerator routes them: ISA IRQ n on 8259 pin n and
 * I/O APIC pin n, but IRQ0 (the PIT) on I/O APIC pin 2 (the MADT's
 * interrupt source override); GSI 2 (the cascade) goes nowhere; GSIs 16-23
 * are I/O APIC pins only.
 */
void jit_pc_set_irq_locked(struct jit_pc *pc, unsigned gsi, bool level)
{
    if (gsi == 2 || gsi >= X86_IOAPIC_PINS)
        return;
    if (gsi < 16)
        pic_set_irq(&pc->pic, gsi, level);
    ioapic_set_irq(&pc->ioapic, gsi == 0 ? 2 : gsi, level);
    jit_pc_update(pc);
}

void jit_pc_set_irq(struct jit_pc *pc, unsigned gsi, bool level)
{
    g_mutex_lock(&pc->lock);
    jit_pc_set_irq_locked(pc, gsi, level);
    g_mutex_unlock(&pc->lock);
}

void jit_pc_send_nmi(struct jit_pc *pc, unsigned index)
{
    if (pc->cpu_ops->nmi)
        pc->cpu_ops->nmi(pc->cpu_opaque, index);
}

/* A local APIC that is off makes LINT1 the core's NMI pin (SDM vol. 3, 10.4.3). */
void jit_pc_nmi(struct jit_pc *pc)
{
    g_mutex_lock(&pc->lock);
    for (unsigned i = 0; i < pc->nr_cpus; i++) {
        if (lapic_hardware_enabled(pc->lapic[i]))
            lapic_lint_edge(pc->lapic[i], 1);
        else
            jit_pc_send_nmi(pc, i);
    }
    jit_pc_update(pc);
    g_mutex_unlock(&pc->lock);
}

void jit_pc_deliver(struct jit_pc *pc, uint8_t destination, bool logical,
                    unsigned mode, uint8_t vector, bool level, int shorthand,
                    unsigned source)
{
    static gint logged;

    for (unsigned i = 0; i < pc->nr_cpus; i++) {
        struct lapic *apic = pc->lapic[i];
        bool match;

        if (!lapic_hardware_enabled(apic))
            continue;
        switch (shorthand) {
        case 1: match = i == source; break;
        case 2: match = true; break;
        case 3: match = i != source; break;
        default: match = lapic_matches(apic, destination, logical); break;
        }
        if (!match)
            continue;
        switch (mode) {
        case 0:         /* fixed */
        case 1:         /* lowest priority: the first match (10.6.2.4) */
            lapic_accept(apic, vector, level);
            break;
        case 4:         /* NMI: the vector is ignored (10.6.1) */
            jit_pc_send_nmi(pc, i);
            break;
        case 5:
            pc->cpu_ops->init(pc->cpu_opaque, i);
            break;
        case 6:
            pc->cpu_ops->startup(pc->cpu_opaque, i, vector);
            break;
        case 7:         /* ExtINT (I/O APIC): the 8259 supplies the vector */
            apic->extint = true;
            break;
        default:
            /* FIXME: SMI messages. */
            if (g_atomic_int_compare_and_exchange(&logged, 0, 1))
                g_message("APIC: delivery mode %u is not supported; "
                          "logged once", mode);
            break;
        }
        if (mode == 1)
            break;
    }
    jit_pc_update(pc);
}

/* ---- ports and MMIO ---------------------------------------------------- */

static uint64_t pic_io_read(struct jit_pc *pc, unsigned chip, uint64_t offset)
{
    uint64_t v;

    g_mutex_lock(&pc->lock);
    v = pic_read(&pc->pic, chip, offset & 1);
    g_mutex_unlock(&pc->lock);
    return v;
}

static void pic_io_write(struct jit_pc *pc, unsigned chip, uint64_t offset,
                         uint64_t value)
{
    g_mutex_lock(&pc->lock);
    pic_write(&pc->pic, chip, offset & 1, value);
    jit_pc_update(pc);
    g_mutex_unlock(&pc->lock);
}

static uint64_t pic_master_read(void *opaque, uint64_t offset, unsigned size)
{
    return pic_io_read(opaque, 0, offset);
}

static void pic_master_write(void *opaque, uint64_t offset, uint64_t value,
                             unsigned size)
{
    pic_io_write(opaque, 0, offset, value);
}

static uint64_t pic_slave_read(void *opaque, uint64_t offset, unsigned size)
{
    return pic_io_read(opaque, 1, offset);
}

static void pic_slave_write(void *opaque, uint64_t offset, uint64_t value,
                            unsigned size)
{
    pic_io_write(opaque, 1, offset, value);
}

static const struct memory_ops pic_master_ops = { pic_master_read, pic_master_write };
static const struct memory_ops pic_slave_ops = { pic_slave_read, pic_slave_write };

static uint64_t pit_io_read(void *opaque, uint64_t offset, unsigned size)
{
    struct jit_pc *pc = opaque;
    uint64_t v;

    g_mutex_lock(&pc->lock);
    v = pit_read(&pc->pit, offset);
    g_mutex_unlock(&pc->lock);
    return v;
}

static void pit_io_write(void *opaque, uint64_t offset, uint64_t value,
                         unsigned size)
{
    struct jit_pc *pc = opaque;

    g_mutex_lock(&pc->lock);
    pit_write(&pc->pit, offset, value);
    g_mutex_unlock(&pc->lock);
}

static const struct memory_ops pit_ops = { pit_io_read, pit_io_write };

static uint64_t port61_read(void *opaque, uint64_t offset, unsigned size)
{
    struct jit_pc *pc = opaque;
    uint64_t v;

    g_mutex_lock(&pc->lock);
    v = pit_read_port61(&pc->pit);
    g_mutex_unlock(&pc->lock);
    return v;
}

static void port61_write(void *opaque, uint64_t offset, uint64_t value,
                         unsigned size)
{
    struct jit_pc *pc = opaque;

    g_mutex_lock(&pc->lock);
    pit_write_port61(&pc->pit, value);
    g_mutex_unlock(&pc->lock);
}

static const struct memory_ops port61_ops = { port61_read, port61_write };

void jit_pc_set_ferr(struct jit_pc *pc, bool asserted)
{
    g_mutex_lock(&pc->lock);
    if (asserted && !pc->ferr)
        jit_pc_set_irq_locked(pc, 13, true);
    if (!asserted)
        pc->ignne = false;
    pc->ferr = asserted;
    g_mutex_unlock(&pc->lock);
}

bool jit_pc_ignne(struct jit_pc *pc)
{
    bool ignne;

    g_mutex_lock(&pc->lock);
    ignne = pc->ignne;
    g_mutex_unlock(&pc->lock);
    return ignne;
}

/* Port F0h: a write clears the IRQ 13 latch and asserts IGNNE# while
 * FERR# is asserted (the BIOS's IRQ 13 handler does it). */
static uint64_t ferr_read(void *opaque, uint64_t offset, unsigned size)
{
    return ~0ull;
}

static void ferr_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct jit_pc *pc = opaque;

    g_mutex_lock(&pc->lock);
    jit_pc_set_irq_locked(pc, 13, false);
    pc->ignne = pc->ferr;
    g_mutex_unlock(&pc->lock);
}

static const struct memory_ops ferr_ops = { ferr_read, ferr_write };

/* Registers are 32 bits wide; narrower accesses see part of one. */
static uint64_t lapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    struct jit_pc *pc = opaque;
    unsigned index = current_cpu >= 0 && (unsigned)current_cpu < pc->nr_cpus
                   ? (unsigned)current_cpu : 0;
    uint64_t v;

    g_mutex_lock(&pc->lock);
    if (!lapic_hardware_enabled(pc->lapic[index]))
        v = ~0ull;
    else
        v = lapic_read(pc->lapic[index], offset & ~3u) >> (8 * (offset & 3));
    g_mutex_unlock(&pc->lock);
    return size >= 8 ? v : v & ((1ull << (8 * size)) - 1);
}

static void lapic_mmio_write(void *opaque, uint64_t offset, uint64_t value,
                             unsigned size)
{
    struct jit_pc *pc = opaque;
    unsigned index = current_cpu >= 0 && (unsigned)current_cpu < pc->nr_cpus
                   ? (unsigned)current_cpu : 0;

    /* Only aligned 32-bit writes are defined (10.4.1). */
    if (offset & 3)
        return;
    g_mutex_lock(&pc->lock);
    if (lapic_hardware_enabled(pc->lapic[index]))
        lapic_write(pc->lapic[index], offset, value);
    g_mutex_unlock(&pc->lock);
}

static const struct memory_ops lapic_ops = { lapic_mmio_read, lapic_mmio_write };

static uint64_t ioapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    struct jit_pc *pc = opaque;
    uint64_t v;

    g_mutex_lock(&pc->lock);
    v = ioapic_read(&pc->ioapic, offset & ~3u) >> (8 * (offset & 3));
    g_mutex_unlock(&pc->lock);
    return size >= 8 ? v : v & ((1ull << (8 * size)) - 1);
}

static void ioapic_mmio_write(void *opaque, uint64_t offset, uint64_t value,
                              unsigned size)
{
    struct jit_pc *pc = opaque;

    g_mutex_lock(&pc->lock);
    ioapic_write(&pc->ioapic, offset & ~3u, value);
    jit_pc_update(pc);
    g_mutex_unlock(&pc->lock);
}

static const struct memory_ops ioapic_ops = { ioapic_mmio_read, ioapic_mmio_write };

int jit_pc_attach(struct jit_pc *pc, struct memory_map *memory,
                  struct memory_map *io, GError **error)
{
    g_autoptr(GError) local = NULL;

    if (!memory_map_add_io(io, "pic-master", 0x20, 2, &pic_master_ops, pc, error) ||
        !memory_map_add_io(io, "pic-slave", 0xa0, 2, &pic_slave_ops, pc, error) ||
        !memory_map_add_io(io, "pit", 0x40, 4, &pit_ops, pc, error) ||
        !memory_map_add_io(io, "ferr", 0xf0, 1, &ferr_ops, pc, error) ||
        !memory_map_add_io(memory, "lapic", LAPIC_DEFAULT_BASE, 0x1000,
                           &lapic_ops, pc, error) ||
        !memory_map_add_io(memory, "ioapic", IOAPIC_DEFAULT_BASE, 0x1000,
                           &ioapic_ops, pc, error))
        return -1;
    /* Port 0x61 may already belong to the board (a speaker model). */
    if (!memory_map_add_io(io, "pit-port61", 0x61, 1, &port61_ops, pc, &local))
        g_message("JIT: port 0x61 is taken (%s); the PIT's channel 2 gate and "
                  "output are not reachable", local->message);
    return 0;
}

/* ---- state ------------------------------------------------------------- */

void jit_pc_get_state(struct jit_pc *pc, struct x86_platform_state *state)
{
    g_mutex_lock(&pc->lock);
    state->pic[0] = pc->pic.chip[0];
    state->pic[1] = pc->pic.chip[1];
    state->ioapic = pc->ioapic.s;
    for (unsigned i = 0; i < 3; i++)
        state->pit[i] = pc->pit.ch[i];
    state->pit_flags = pc->pit.port61;
    state->clock_ns = vclock_now_ns(pc->clock);
    state->x87_error_lines = (pc->ferr ? 1u : 0) | (pc->ignne ? 2u : 0);
    g_mutex_unlock(&pc->lock);
}

void jit_pc_set_state(struct jit_pc *pc, const struct x86_platform_state *state)
{
    g_mutex_lock(&pc->lock);
    pc->pic.chip[0] = state->pic[0];
    pc->pic.chip[1] = state->pic[1];
    pc->pic.line = state->pic[0].last_irr | (uint16_t)state->pic[1].last_irr << 8;
    pc->ioapic.s = state->ioapic;
    pc->ioapic.line = state->ioapic.irr;
    for (unsigned i = 0; i < 3; i++)
        pc->pit.ch[i] = state->pit[i];
    pc->pit.port61 = state->pit_flags & 0x0f;
    pit_restart(&pc->pit);
    pc->ferr = state->x87_error_lines & 1;
    pc->ignne = state->x87_error_lines & 2;
    jit_pc_update(pc);
    g_mutex_unlock(&pc->lock);
}
