/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PC's interrupt controllers and timer for the software CPU: 8259A pair,
 * 8254 PIT, I/O APIC and one local APIC per CPU, wired as a PC wires them.
 * With KVM these live in the kernel; the JIT accelerator creates these.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/x86-cpu-state.h"

struct vclock;
struct vtimer;
struct memory_map;
struct jit_pc;

#define JIT_PC_MAX_CPUS 64
#define LAPIC_DEFAULT_BASE 0xfee00000u
#define IOAPIC_DEFAULT_BASE 0xfec00000u

/* ---- 8259A pair (pic.c) ---- */
struct pic_pair {
    struct x86_pic_state chip[2];   /* master, slave */
    uint16_t line;                  /* input pin levels, IRQ 0-15 */
};

void pic_reset(struct pic_pair *pic);
void pic_set_irq(struct pic_pair *pic, unsigned irq, bool level);
/* The master's INT output. */
bool pic_output(struct pic_pair *pic);
/* INTA cycle: the vector (spurious IRQ 7/15 vector if nothing is pending). */
int pic_acknowledge(struct pic_pair *pic);
uint8_t pic_read(struct pic_pair *pic, unsigned chip, unsigned port);
void pic_write(struct pic_pair *pic, unsigned chip, unsigned port, uint8_t value);

/* ---- 8254 PIT (pit.c) ---- */
struct pit {
    struct x86_pit_channel ch[3];
    uint8_t port61;                 /* speaker port bits 0-3 */
    struct vclock *clock;
    struct vtimer *timer;           /* channel 0's next output edge */
    struct jit_pc *pc;
};

void pit_init(struct pit *pit, struct jit_pc *pc, struct vclock *clock);
void pit_destroy(struct pit *pit);
void pit_reset(struct pit *pit);
uint8_t pit_read(struct pit *pit, unsigned port);
void pit_write(struct pit *pit, unsigned port, uint8_t value);
uint8_t pit_read_port61(struct pit *pit);
void pit_write_port61(struct pit *pit, uint8_t value);
/* After a state load: re-arm channel 0. */
void pit_restart(struct pit *pit);

/* ---- I/O APIC (ioapic.c) ---- */
struct ioapic {
    struct x86_ioapic_state s;
    uint32_t line;                  /* input pin levels */
    struct jit_pc *pc;
};

void ioapic_reset(struct ioapic *io);
void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level);
uint32_t ioapic_read(struct ioapic *io, uint64_t offset);
void ioapic_write(struct ioapic *io, uint64_t offset, uint32_t value);
/* A local APIC's EOI of a level-triggered @vector (remote IRR). */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* ---- local APIC (lapic.c) ---- */
struct lapic {
    uint8_t regs[1024];             /* the MMIO page layout, as in x86_cpu_state */
    uint64_t apic_base;             /* IA32_APIC_BASE */
    unsigned index;
    struct jit_pc *pc;
    struct vtimer *timer;
    int64_t timer_start;            /* clock ns when the count was loaded */
    uint64_t tsc_deadline;          /* IA32_TSC_DEADLINE, 0: disarmed */
    int64_t tsc_offset;             /* guest TSC - clock ns (from the CPU) */
    bool extint;                    /* an ExtINT message: INTA goes to the 8259 */
};

void lapic_init(struct lapic *apic, struct jit_pc *pc, unsigned index);
void lapic_destroy(struct lapic *apic);
void lapic_reset(struct lapic *apic);
bool lapic_hardware_enabled(const struct lapic *apic);
uint32_t lapic_read(struct lapic *apic, unsigned offset);
void lapic_write(struct lapic *apic, unsigned offset, uint32_t value);
/* Accept a fixed interrupt (IRR, TMR). */
void lapic_accept(struct lapic *apic, uint8_t vector, bool level);
/* A vector above the processor priority is waiting in the IRR. */
bool lapic_has_interrupt(struct lapic *apic);
/* INTA from the core: IRR -> ISR; -1 if nothing is deliverable. */
int lapic_acknowledge(struct lapic *apic);
/* LINT0 in ExtINT mode and unmasked: the 8259's INTR reaches this CPU. */
bool lapic_accepts_extint(const struct lapic *apic);
/* A rising edge on LINT0 (@pin 0) or LINT1: what its LVT entry says (10.5.1). */
void lapic_lint_edge(struct lapic *apic, unsigned pin);
/* Destination match for IPIs and I/O APIC messages (10.6.2). */
bool lapic_matches(const struct lapic *apic, uint8_t destination, bool logical);
bool lapic_set_base(struct lapic *apic, uint64_t value);
void lapic_set_tsc_deadline(struct lapic *apic, uint64_t deadline);
void lapic_set_tpr(struct lapic *apic, uint8_t tpr);
/* After a state load: re-arm the timer from the registers. */
void lapic_restart(struct lapic *apic, uint32_t current_count);
uint32_t lapic_current_count(struct lapic *apic);

/* ---- the platform (pc.c) ---- */
/* What the platform needs from the accelerator's vCPUs. */
struct jit_pc_cpu_ops {
    /* CPU @index may have an interrupt to take: wake it (any thread). */
    void (*notify)(void *opaque, unsigned index);
    /* INIT and STARTUP IPIs to CPU @index. */
    void (*init)(void *opaque, unsigned index);
    void (*startup)(void *opaque, unsigned index, uint8_t vector);
    /* An NMI for CPU @index (any thread); NULL: NMIs are dropped. */
    void (*nmi)(void *opaque, unsigned index);
};

struct jit_pc {
    GMutex lock;                    /* guards everything below */
    struct vclock *clock;
    struct pic_pair pic;
    struct pit pit;
    struct ioapic ioapic;
    unsigned nr_cpus;
    struct lapic *lapic[JIT_PC_MAX_CPUS];
    const struct jit_pc_cpu_ops *cpu_ops;
    void *cpu_opaque;
    bool pic_intr;                  /* the 8259's INTR when last looked at */
    /* FERR# (x87 errors with CR0.NE clear), latched into IRQ 13 until a
     * write to port F0h, which asserts IGNNE# until FERR# goes inactive
     * (SDM vol. 1, D.2.1). */
    bool ferr, ignne;
};

struct jit_pc *jit_pc_new(struct vclock *clock, unsigned nr_cpus,
                          const struct jit_pc_cpu_ops *ops, void *opaque);
void jit_pc_free(struct jit_pc *pc);
/* Register the chips' ports and MMIO windows. */
int jit_pc_attach(struct jit_pc *pc, struct memory_map *memory,
                  struct memory_map *io, GError **error);
void jit_pc_reset(struct jit_pc *pc);
/* A GSI as the KVM accelerator routes them (see pc.c); _locked: lock held. */
void jit_pc_set_irq(struct jit_pc *pc, unsigned gsi, bool level);
void jit_pc_set_irq_locked(struct jit_pc *pc, unsigned gsi, bool level);
/* The vector CPU @index takes now, or -1. */
int jit_pc_acknowledge(struct jit_pc *pc, unsigned index);
/* Whether CPU @index would take an interrupt if RFLAGS.IF allowed it. */
bool jit_pc_interrupt_pending(struct jit_pc *pc, unsigned index);
/* Recompute every CPU's INTR and notify; pc->lock held. */
void jit_pc_update(struct jit_pc *pc);
/* An NMI to CPU @index (APIC message or LINT in NMI mode); pc->lock held. */
void jit_pc_send_nmi(struct jit_pc *pc, unsigned index);
/* The board's NMI (the chipset's NMI line on every CPU's LINT1, MP spec 5.1). */
void jit_pc_nmi(struct jit_pc *pc);
/* The CPUs' FERR# output and IGNNE# input (x86_platform_ops). */
void jit_pc_set_ferr(struct jit_pc *pc, bool asserted);
bool jit_pc_ignne(struct jit_pc *pc);
/* Deliver an APIC message (I/O APIC redirection or IPI); pc->lock held. */
void jit_pc_deliver(struct jit_pc *pc, uint8_t destination, bool logical,
                    unsigned mode, uint8_t vector, bool level, int shorthand,
                    unsigned source);
void jit_pc_get_state(struct jit_pc *pc, struct x86_platform_state *state);
void jit_pc_set_state(struct jit_pc *pc, const struct x86_platform_state *state);

/* The calling thread's CPU for local APIC MMIO (set by the accelerator). */
void jit_pc_set_current_cpu(int index);
