/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The local APIC in xAPIC mode: ID, version, TPR/PPR, EOI, LDR/DFR, SVR,
 * ISR/TMR/IRR, ESR, ICR (fixed, NMI, INIT and STARTUP IPIs), the LVT with
 * its timer (one-shot, periodic, TSC-deadline) on the virtual clock, LINT0
 * in ExtINT mode for the 8259 and LINT0/LINT1 in NMI mode (Intel SDM vol.
 * 3, ch. 10).
 */
#include <string.h>

#include "engine/clock.h"
#include "jit/pc/pc.h"

#define APIC_ID 0x20
#define APIC_VERSION 0x30
#define APIC_TPR 0x80
#define APIC_APR 0x90
#define APIC_PPR 0xa0
#define APIC_EOI 0xb0
#define APIC_LDR 0xd0
#define APIC_DFR 0xe0
#define APIC_SVR 0xf0
#define APIC_ISR 0x100
#define APIC_TMR 0x180
#define APIC_IRR 0x200
#define APIC_ESR 0x280
#define APIC_ICR_LOW 0x300
#define APIC_ICR_HIGH 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_THERMAL 0x330
#define APIC_LVT_PERF 0x340
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERROR 0x370
#define APIC_TIMER_INITIAL 0x380
#define APIC_TIMER_CURRENT 0x390
#define APIC_TIMER_DIVIDE 0x3e0

#define LVT_MASKED (1u << 16)
#define SVR_ENABLED (1u << 8)
#define BASE_BSP (1ull << 8)
#define BASE_X2APIC (1ull << 10)
#define BASE_ENABLED (1ull << 11)
/* Version 0x14 (integrated APIC), six LVT entries: max LVT index 5 (10.4.8). */
#define VERSION_VALUE (0x14 | 5u << 16)

enum timer_mode { TIMER_ONESHOT, TIMER_PERIODIC, TIMER_TSC_DEADLINE };

static uint32_t reg(const struct lapic *apic, unsigned offset)
{
    uint32_t v;

    memcpy(&v, apic->regs + offset, 4);
    return v;
}

static void set_reg(struct lapic *apic, unsigned offset, uint32_t value)
{
    memcpy(apic->regs + offset, &value, 4);
}

static bool test_vector(const struct lapic *apic, unsigned base, unsigned v)
{
    return reg(apic, base + (v / 32) * 0x10) & (1u << (v % 32));
}

static void change_vector(struct lapic *apic, unsigned base, unsigned v, bool on)
{
    unsigned offset = base + (v / 32) * 0x10;
    uint32_t r = reg(apic, offset);

    set_reg(apic, offset, on ? r | (1u << (v % 32)) : r & ~(1u << (v % 32)));
}

/* Highest vector set in the 256-bit register at @base, or -1. */
static int highest(const struct lapic *apic, unsigned base)
{
    for (int i = 7; i >= 0; i--) {
        uint32_t r = reg(apic, base + i * 0x10);

        if (r)
            return i * 32 + 31 - __builtin_clz(r);
    }
    return -1;
}

/* Processor priority (10.8.3.1). */
static uint32_t ppr(const struct lapic *apic)
{
    uint32_t tpr = reg(apic, APIC_TPR) & 0xff;
    int isrv = highest(apic, APIC_ISR);
    uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;

    return (tpr & 0xf0) >= isr_class ? tpr : isr_class;
}

static enum timer_mode timer_mode(const struct lapic *apic)
{
    return (reg(apic, APIC_LVT_TIMER) >> 17) & 3;
}

static uint64_t timer_divisor(const struct lapic *apic)
{
    uint32_t dcr = reg(apic, APIC_TIMER_DIVIDE);
    unsigned v = ((dcr >> 1) & 4) | (dcr & 3);

    return v == 7 ? 1 : 2ull << v;
}

/* The APIC timer counts at 1 GHz / divisor: nanoseconds of the clock. */
static uint64_t timer_period(const struct lapic *apic)
{
    return (uint64_t)reg(apic, APIC_TIMER_INITIAL) * timer_divisor(apic);
}

static void timer_arm(struct lapic *apic)
{
    uint64_t period = timer_period(apic);

    if (timer_mode(apic) == TIMER_TSC_DEADLINE) {
        if (apic->tsc_deadline)
            vtimer_arm(apic->timer, (int64_t)(apic->tsc_deadline - apic->tsc_offset));
        else
            vtimer_cancel(apic->timer);
        return;
    }
    if (period == 0) {
        vtimer_cancel(apic->timer);
        return;
    }
    vtimer_arm(apic->timer, apic->timer_start + (int64_t)period);
}

static void on_timer(void *opaque)
{
    struct lapic *apic = opaque;
    struct jit_pc *pc = apic->pc;
    uint32_t lvt;

    g_mutex_lock(&pc->lock);
    lvt = reg(apic, APIC_LVT_TIMER);
    if (!(lvt & LVT_MASKED))
        lapic_accept(apic, lvt & 0xff, false);
    switch (timer_mode(apic)) {
    case TIMER_PERIODIC:
        apic->timer_start += (int64_t)timer_period(apic);
        if (apic->timer_start + (int64_t)timer_period(apic) < vclock_now_ns(pc->clock))
            apic->timer_start = vclock_now_ns(pc->clock);   /* fell behind */
        timer_arm(apic);
        break;
    case TIMER_TSC_DEADLINE:
        apic->tsc_deadline = 0;
        break;
    default:
        /* One-shot: the count stays at 0 until written again. */
        break;
    }
    jit_pc_update(pc);
    g_mutex_unlock(&pc->lock);
}

uint32_t lapic_current_count(struct lapic *apic)
{
    uint64_t period = timer_period(apic), elapsed;
    int64_t now = vclock_now_ns(apic->pc->clock);

    if (period == 0 || timer_mode(apic) == TIMER_TSC_DEADLINE)
        return 0;
    elapsed = now > apic->timer_start ? (uint64_t)(now - apic->timer_start) : 0;
    if (timer_mode(apic) == TIMER_PERIODIC)
        elapsed %= period;
    else if (elapsed >= period)
        return 0;
    return (uint32_t)((period - elapsed) / timer_divisor(apic));
}

void lapic_restart(struct lapic *apic, uint32_t current_count)
{
    uint64_t period = timer_period(apic);
    uint64_t left = (uint64_t)current_count * timer_divisor(apic);

    apic->timer_start = vclock_now_ns(apic->pc->clock) -
                        (int64_t)(period > left ? period - left : 0);
    if (timer_mode(apic) != TIMER_TSC_DEADLINE && current_count == 0 &&
        timer_mode(apic) == TIMER_ONESHOT) {
        vtimer_cancel(apic->timer);
        return;
    }
    timer_arm(apic);
}

void lapic_init(struct lapic *apic, struct jit_pc *pc, unsigned index)
{
    memset(apic, 0, sizeof(*apic));
    apic->pc = pc;
    apic->index = index;
    apic->timer = vtimer_new(pc->clock, on_timer, apic);
    lapic_reset(apic);
}

void lapic_destroy(struct lapic *apic)
{
    if (apic->timer)
        vtimer_free(apic->timer);
    apic->timer = NULL;
}

/* The register page at power-up and RESET (10.4.7.1). */
static void reset_registers(struct lapic *apic)
{
    memset(apic->regs, 0, sizeof(apic->regs));
    set_reg(apic, APIC_ID, apic->index << 24);
    set_reg(apic, APIC_VERSION, VERSION_VALUE);
    set_reg(apic, APIC_DFR, 0xffffffff);
    set_reg(apic, APIC_SVR, 0xff);
    for (unsigned r = APIC_LVT_TIMER; r <= APIC_LVT_ERROR; r += 0x10)
        set_reg(apic, r, LVT_MASKED);
    vtimer_cancel(apic->timer);
    apic->tsc_deadline = 0;
    apic->extint = false;
}

void lapic_reset(struct lapic *apic)
{
    apic->apic_base = LAPIC_DEFAULT_BASE | BASE_ENABLED |
                      (apic->index == 0 ? BASE_BSP : 0);
    reset_registers(apic);
    /*
     * The BSP's LINT0 in ExtINT mode: virtual wire mode (MP spec 1.4,
     * 3.6.2.2), as the KVM accelerator sets it at RESET.
     */
    if (apic->index == 0)
        set_reg(apic, APIC_LVT_LINT0, 0x700);
}

bool lapic_hardware_enabled(const struct lapic *apic)
{
    return apic->apic_base & BASE_ENABLED;
}

bool lapic_accepts_extint(const struct lapic *apic)
{
    uint32_t lint0 = reg(apic, APIC_LVT_LINT0);

    return lapic_hardware_enabled(apic) && !(lint0 & LVT_MASKED) &&
           ((lint0 >> 8) & 7) == 7;
}

void lapic_lint_edge(struct lapic *apic, unsigned pin)
{
    uint32_t lvt = reg(apic, pin ? APIC_LVT_LINT1 : APIC_LVT_LINT0);

    if (lvt & LVT_MASKED)
        return;
    /* NMI is edge triggered whatever the trigger mode bit says (10.5.1). */
    if (((lvt >> 8) & 7) == 4)
        jit_pc_send_nmi(apic->pc, apic->index);
    /* ExtINT is LINT0's level (lapic_accepts_extint).
     * FIXME: fixed, SMI and INIT delivery from LINT0/LINT1. */
}

bool lapic_set_base(struct lapic *apic, uint64_t value)
{
    bool was = lapic_hardware_enabled(apic);

    if (value & (BASE_X2APIC | 0x2ffull) || (value >> 40))
        return false;
    if ((value & ~0xfffull) != LAPIC_DEFAULT_BASE) {
        /* FIXME: relocating the APIC window (10.4.5). */
        static gint logged;

        if (g_atomic_int_compare_and_exchange(&logged, 0, 1))
            g_message("local APIC: moving the APIC base to 0x%" G_GINT64_MODIFIER
                      "x is not supported; it stays at 0x%x; logged once",
                      (uint64_t)(value & ~0xfffull), LAPIC_DEFAULT_BASE);
    }
    apic->apic_base = (value & ~BASE_BSP) | (apic->apic_base & BASE_BSP);
    /* Disabling the APIC puts it back to its power-up state (10.4.3). */
    if (was && !lapic_hardware_enabled(apic)) {
        uint32_t id = reg(apic, APIC_ID);

        reset_registers(apic);
        set_reg(apic, APIC_ID, id);
    }
    return true;
}

void lapic_set_tsc_deadline(struct lapic *apic, uint64_t deadline)
{
    if (timer_mode(apic) != TIMER_TSC_DEADLINE)
        return;
    apic->tsc_deadline = deadline;
    timer_arm(apic);
}

void lapic_set_tpr(struct lapic *apic, uint8_t tpr)
{
    set_reg(apic, APIC_TPR, tpr);
    jit_pc_update(apic->pc);
}

bool lapic_matches(const struct lapic *apic, uint8_t destination, bool logical)
{
    uint32_t ldr = reg(apic, APIC_LDR) >> 24;

    if (!logical)
        return destination == 0xff || destination == reg(apic, APIC_ID) >> 24;
    if ((reg(apic, APIC_DFR) >> 28) == 0xf)      /* flat model */
        return ldr & destination;
    /* Cluster model: cluster in the high nibble, members in the low one. */
    return (destination >> 4) == (ldr >> 4) && (destination & ldr & 0xf);
}

void lapic_accept(struct lapic *apic, uint8_t vector, bool level)
{
    if (vector < 16) {
        /* Illegal vector: the receive error in ESR bit 6 (10.5.3). */
        set_reg(apic, APIC_ESR, reg(apic, APIC_ESR) | (1u << 6));
        return;
    }
    change_vector(apic, APIC_IRR, vector, true);
    change_vector(apic, APIC_TMR, vector, level);
}

bool lapic_has_interrupt(struct lapic *apic)
{
    int irrv = highest(apic, APIC_IRR);

    if (irrv < 0 || !lapic_hardware_enabled(apic))
        return false;
    return ((uint32_t)irrv & 0xf0) > (ppr(apic) & 0xf0);
}

int lapic_acknowledge(struct lapic *apic)
{
    int v;

    if (!lapic_has_interrupt(apic))
        return -1;
    v = highest(apic, APIC_IRR);
    change_vector(apic, APIC_IRR, v, false);
    change_vector(apic, APIC_ISR, v, true);
    return v;
}

static void end_of_interrupt(struct lapic *apic)
{
    int v = highest(apic, APIC_ISR);

    if (v < 0)
        return;
    change_vector(apic, APIC_ISR, v, false);
    if (test_vector(apic, APIC_TMR, v))
        ioapic_eoi(&apic->pc->ioapic, v);
}

/* ICR write: send the IPI it describes (10.6.1). */
static void send_ipi(struct lapic *apic)
{
    uint32_t low = reg(apic, APIC_ICR_LOW), high = reg(apic, APIC_ICR_HIGH);
    unsigned mode = (low >> 8) & 7, shorthand = (low >> 18) & 3;
    bool level_assert = low & (1u << 14), level_trigger = low & (1u << 15);

    /* INIT level de-assert only synchronizes arbitration IDs. */
    if (mode == 5 && !level_assert && level_trigger)
        return;
    /* Delivery modes 011 and 111 are reserved in the ICR (10.6.1). */
    if (mode == 3 || mode == 7)
        return;
    jit_pc_deliver(apic->pc, high >> 24, low & (1u << 11), mode, low & 0xff,
                   mode == 0 && level_trigger, shorthand, apic->index);
}

uint32_t lapic_read(struct lapic *apic, unsigned offset)
{
    offset &= 0xff0;
    if (offset >= sizeof(apic->regs))
        return 0;
    switch (offset) {
    case APIC_APR:
        return 0;
    case APIC_PPR:
        return ppr(apic);
    case APIC_TIMER_CURRENT:
        return lapic_current_count(apic);
    case APIC_EOI:
        return 0;
    default:
        return reg(apic, offset);
    }
}

void lapic_write(struct lapic *apic, unsigned offset, uint32_t value)
{
    bool software_enabled = reg(apic, APIC_SVR) & SVR_ENABLED;
    uint32_t lvt_mask = software_enabled ? 0 : LVT_MASKED;

    offset &= 0xff0;
    switch (offset) {
    case APIC_ID:
        set_reg(apic, offset, value & 0xff000000);
        break;
    case APIC_TPR:
        set_reg(apic, offset, value & 0xff);
        break;
    case APIC_EOI:
        end_of_interrupt(apic);
        break;
    case APIC_LDR:
        set_reg(apic, offset, value & 0xff000000);
        break;
    case APIC_DFR:
        set_reg(apic, offset, value | 0x0fffffff);
        break;
    case APIC_SVR:
        set_reg(apic, offset, value & 0x3ff);
        if (!(value & SVR_ENABLED)) {
            /* Software disable masks every LVT entry (10.4.7.2). */
            for (unsigned r = APIC_LVT_TIMER; r <= APIC_LVT_ERROR; r += 0x10)
                set_reg(apic, r, reg(apic, r) | LVT_MASKED);
        }
        break;
    case APIC_ESR:
        set_reg(apic, offset, 0);
        break;
    case APIC_ICR_LOW:
        set_reg(apic, offset, value & ~(1u << 12));     /* delivery idle */
        send_ipi(apic);
        break;
    case APIC_ICR_HIGH:
        set_reg(apic, offset, value & 0xff000000);
        break;
    case APIC_LVT_TIMER: {
        enum timer_mode old = timer_mode(apic);

        set_reg(apic, offset, (value & (0xff | LVT_MASKED | 3u << 17)) | lvt_mask);
        if (timer_mode(apic) != old) {
            vtimer_cancel(apic->timer);
            apic->tsc_deadline = 0;
            set_reg(apic, APIC_TIMER_INITIAL, 0);
        }
        break;
    }
    case APIC_LVT_THERMAL:
    case APIC_LVT_PERF:
        set_reg(apic, offset, (value & (0x7ff | LVT_MASKED)) | lvt_mask);
        break;
    case APIC_LVT_LINT0:
    case APIC_LVT_LINT1:
        set_reg(apic, offset, (value & (0x7ff | 7u << 13 | LVT_MASKED)) | lvt_mask);
        break;
    case APIC_LVT_ERROR:
        set_reg(apic, offset, (value & (0xff | LVT_MASKED)) | lvt_mask);
        break;
    case APIC_TIMER_INITIAL:
        if (timer_mode(apic) == TIMER_TSC_DEADLINE)
            break;
        set_reg(apic, offset, value);
        apic->timer_start = vclock_now_ns(apic->pc->clock);
        timer_arm(apic);
        break;
    case APIC_TIMER_DIVIDE:
        set_reg(apic, offset, value & 0xb);
        break;
    default:
        /* Read-only registers and reserved offsets ignore writes. */
        break;
    }
    jit_pc_update(apic->pc);
}
