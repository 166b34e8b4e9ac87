/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The 8254 programmable interval timer: three counters at 1.193182 MHz,
 * modes 0-5, latch and read-back commands, channel 2's gate and output on
 * port 0x61 (Intel 8254 data sheet; PC AT technical reference for port 61h).
 * Counting is derived from the virtual clock; channel 0's output edges raise
 * IRQ0 from a timer on it. FIXME: BCD counting, gate-paused counting.
 */
#include "jit/pc/pc.h"

#include "engine/clock.h"

#define PIT_HZ 1193182ull
#define NS 1000000000ull

/* Clock ticks between @from and @to (ns). */
static uint64_t ticks_between(int64_t from, int64_t to)
{
    if (to <= from)
        return 0;
    return (uint64_t)((unsigned __int128)(to - from) * PIT_HZ / NS);
}

/* The clock time of tick @ticks after @from, rounded up. */
static int64_t time_of_tick(int64_t from, uint64_t ticks)
{
    return from + (int64_t)(((unsigned __int128)ticks * NS + PIT_HZ - 1) / PIT_HZ);
}

static uint32_t reload(const struct x86_pit_channel *c)
{
    return c->count ? c->count : 0x10000;
}

static uint16_t counter_value(struct pit *pit, const struct x86_pit_channel *c)
{
    uint64_t t = ticks_between(c->count_load_time, vclock_now_ns(pit->clock));
    uint32_t n = reload(c);

    switch (c->mode) {
    case 2:
    case 3:
        if (c->mode == 3)
            return (n - ((2 * t) % n)) & 0xfffe;
        return n - (t % n);
    default:
        return (n - t) & 0xffff;
    }
}

static bool output(struct pit *pit, const struct x86_pit_channel *c)
{
    uint64_t t = ticks_between(c->count_load_time, vclock_now_ns(pit->clock));
    uint32_t n = reload(c);

    if (!c->gate && c->mode != 0 && c->mode != 4)
        return c->mode != 1 && c->mode != 5 ? true : t >= n;
    switch (c->mode) {
    case 0: return t >= n;
    case 1: return t >= n;
    case 2: return (t % n) != n - 1;
    case 3: return (t % n) < (n + 1) / 2;
    default: return t != n;     /* 4, 5: low for one clock at terminal count */
    }
}

/* Channel 0: the time of its next rising output edge after now, or -1. */
static int64_t next_edge(struct pit *pit)
{
    struct x86_pit_channel *c = &pit->ch[0];
    int64_t now = vclock_now_ns(pit->clock);
    uint64_t t = ticks_between(c->count_load_time, now), n = reload(c), k;

    if (c->rw_mode == 0 || (!c->gate && c->mode != 0 && c->mode != 4))
        return -1;
    switch (c->mode) {
    case 0:
    case 1:
        return t < n ? time_of_tick(c->count_load_time, n) : -1;
    case 2:
    case 3:
        k = t / n + 1;
        return time_of_tick(c->count_load_time, k * n);
    default:
        return t <= n ? time_of_tick(c->count_load_time, n + 1) : -1;
    }
}

static void arm(struct pit *pit)
{
    int64_t when = next_edge(pit);

    if (when < 0)
        vtimer_cancel(pit->timer);
    else
        vtimer_arm(pit->timer, when);
}

/* Channel 0's rising edge: a pulse on IRQ0 (GSI 0). */
static void on_timer(void *opaque)
{
    struct pit *pit = opaque;
    struct jit_pc *pc = pit->pc;

    g_mutex_lock(&pc->lock);
    jit_pc_set_irq_locked(pc, 0, true);
    jit_pc_set_irq_locked(pc, 0, false);
    arm(pit);
    g_mutex_unlock(&pc->lock);
}

void pit_init(struct pit *pit, struct jit_pc *pc, struct vclock *clock)
{
    pit->pc = pc;
    pit->clock = clock;
    pit->timer = vtimer_new(clock, on_timer, pit);
    pit_reset(pit);
}

void pit_destroy(struct pit *pit)
{
    if (pit->timer)
        vtimer_free(pit->timer);
    pit->timer = NULL;
}

void pit_reset(struct pit *pit)
{
    for (unsigned i = 0; i < 3; i++) {
        struct x86_pit_channel *c = &pit->ch[i];

        *c = (struct x86_pit_channel){ .gate = i != 2, .mode = 0 };
        c->count_load_time = vclock_now_ns(pit->clock);
    }
    pit->port61 = 0;
    vtimer_cancel(pit->timer);
}

void pit_restart(struct pit *pit)
{
    arm(pit);
}

static void latch_count(struct pit *pit, struct x86_pit_channel *c)
{
    if (c->count_latched)
        return;
    c->latched_count = counter_value(pit, c);
    c->count_latched = c->rw_mode == 3 ? 3 : c->rw_mode;
}

static void latch_status(struct pit *pit, struct x86_pit_channel *c)
{
    if (c->status_latched)
        return;
    c->status = (output(pit, c) ? 0x80 : 0) | c->rw_mode << 4 | c->mode << 1 | c->bcd;
    c->status_latched = 1;
}

void pit_write(struct pit *pit, unsigned port, uint8_t value)
{
    struct x86_pit_channel *c;

    if (port == 3) {
        unsigned channel = value >> 6;

        if (channel == 3) {
            /* Read-back: bit 5 clear latches counts, bit 4 clear status. */
            for (unsigned i = 0; i < 3; i++) {
                if (!(value & (2u << i)))
                    continue;
                if (!(value & 0x20))
                    latch_count(pit, &pit->ch[i]);
                if (!(value & 0x10))
                    latch_status(pit, &pit->ch[i]);
            }
            return;
        }
        c = &pit->ch[channel];
        if (((value >> 4) & 3) == 0) {
            latch_count(pit, c);
            return;
        }
        c->rw_mode = (value >> 4) & 3;
        c->mode = (value >> 1) & 7;
        if (c->mode > 5)
            c->mode -= 4;               /* 6, 7 are aliases of 2, 3 */
        c->bcd = value & 1;
        c->read_state = c->write_state = c->rw_mode;
        c->count_latched = 0;
        if (channel == 0)
            vtimer_cancel(pit->timer);
        return;
    }
    c = &pit->ch[port];
    switch (c->write_state) {
    case 1:             /* LSB only */
        c->count = value;
        break;
    case 2:             /* MSB only */
        c->count = (uint32_t)value << 8;
        break;
    case 3:             /* LSB, then MSB */
        c->write_latch = value;
        c->write_state = 4;
        return;
    default:
        c->count = c->write_latch | (uint32_t)value << 8;
        c->write_state = 3;
        break;
    }
    c->count_load_time = vclock_now_ns(pit->clock);
    if (port == 0)
        arm(pit);
}

uint8_t pit_read(struct pit *pit, unsigned port)
{
    struct x86_pit_channel *c;
    uint16_t v;

    if (port == 3)
        return 0xff;
    c = &pit->ch[port];
    if (c->status_latched) {
        c->status_latched = 0;
        return c->status;
    }
    if (c->count_latched) {
        v = c->latched_count;
        switch (c->count_latched) {
        case 1: c->count_latched = 0; return v & 0xff;
        case 2: c->count_latched = 0; return v >> 8;
        case 3: c->count_latched = 4; return v & 0xff;
        default: c->count_latched = 0; return v >> 8;
        }
    }
    v = counter_value(pit, c);
    switch (c->read_state) {
    case 1: return v & 0xff;
    case 2: return v >> 8;
    case 3: c->read_state = 4; return v & 0xff;
    default: c->read_state = 3; return v >> 8;
    }
}

/*
 * Port 0x61: bit 0 gates counter 2, bit 1 enables the speaker, bit 4
 * toggles with DRAM refresh (every 15 us), bit 5 is counter 2's output.
 */
uint8_t pit_read_port61(struct pit *pit)
{
    int64_t now = vclock_now_ns(pit->clock);
    uint8_t v = pit->port61 & 0x0f;

    if ((now / 15085) & 1)
        v |= 0x10;
    if (output(pit, &pit->ch[2]))
        v |= 0x20;
    return v;
}

void pit_write_port61(struct pit *pit, uint8_t value)
{
    struct x86_pit_channel *c = &pit->ch[2];
    bool gate = value & 1;

    /* A rising gate restarts counting in modes 1, 2, 3 and 5. */
    if (gate && !c->gate)
        c->count_load_time = vclock_now_ns(pit->clock);
    c->gate = gate;
    pit->port61 = value & 0x0f;
}
