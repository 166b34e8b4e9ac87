/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The I/O APIC: 24 input pins, indirect register access through IOREGSEL
 * and IOWIN, redirection entries with edge and level triggering and remote
 * IRR (Intel 82093AA I/O APIC data sheet, 3.0-3.2).
 */
#include <string.h>

#include "jit/pc/pc.h"

#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPIC_VERSION 0x11
#define REDIR_MASKED (1ull << 16)
#define REDIR_LEVEL (1ull << 15)
#define REDIR_REMOTE_IRR (1ull << 14)
#define REDIR_DELIVERY_PENDING (1ull << 12)
#define REDIR_LOGICAL (1ull << 11)
/* Bits software can write: everything but delivery status and remote IRR. */
#define REDIR_WRITABLE (~(REDIR_REMOTE_IRR | REDIR_DELIVERY_PENDING) & \
                        (0xff00000000000000ull | 0x1ffffull))

void ioapic_reset(struct ioapic *io)
{
    memset(&io->s, 0, sizeof(io->s));
    io->s.base_address = IOAPIC_DEFAULT_BASE;
    for (unsigned i = 0; i < X86_IOAPIC_PINS; i++)
        io->s.redirection[i] = REDIR_MASKED;
    io->line = 0;
}

/* Send pin @pin's message if it is asserted, unmasked, and not held off. */
static void service(struct ioapic *io, unsigned pin)
{
    uint64_t e = io->s.redirection[pin];
    bool level = e & REDIR_LEVEL;

    if (!(io->s.irr & (1u << pin)))
        return;
    /* Edges on a masked pin are dropped, levels wait (82093AA, 3.2.4). */
    if (e & REDIR_MASKED) {
        if (!level)
            io->s.irr &= ~(1u << pin);
        return;
    }
    if (level) {
        if (e & REDIR_REMOTE_IRR)
            return;
        io->s.redirection[pin] |= REDIR_REMOTE_IRR;
    } else {
        io->s.irr &= ~(1u << pin);
    }
    jit_pc_deliver(io->pc, e >> 56, e & REDIR_LOGICAL, (e >> 8) & 7, e & 0xff,
                   level, 0, ~0u);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level)
{
    uint64_t e;
    bool was;

    if (pin >= X86_IOAPIC_PINS)
        return;
    e = io->s.redirection[pin];
    was = io->line & (1u << pin);
    /* @level is the request, whatever the pin's polarity (REDIR_POLARITY_LOW):
     * the board inverts active-low wires before they get here. */
    if (level)
        io->line |= 1u << pin;
    else
        io->line &= ~(1u << pin);
    if (e & REDIR_LEVEL) {
        if (level)
            io->s.irr |= 1u << pin;
        else
            io->s.irr &= ~(1u << pin);
    } else if (level && !was) {
        io->s.irr |= 1u << pin;
    }
    service(io, pin);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
    for (unsigned pin = 0; pin < X86_IOAPIC_PINS; pin++) {
        uint64_t *e = &io->s.redirection[pin];

        if ((*e & 0xff) != vector || !(*e & REDIR_LEVEL) || !(*e & REDIR_REMOTE_IRR))
            continue;
        *e &= ~REDIR_REMOTE_IRR;
        if (io->line & (1u << pin))
            io->s.irr |= 1u << pin;
        service(io, pin);
    }
}

uint32_t ioapic_read(struct ioapic *io, uint64_t offset)
{
    unsigned reg = io->s.ioregsel;

    if (offset == IOREGSEL)
        return io->s.ioregsel;
    if (offset != IOWIN)
        return 0;
    switch (reg) {
    case 0x00: return io->s.id << 24;
    case 0x01: return (X86_IOAPIC_PINS - 1) << 16 | IOAPIC_VERSION;
    case 0x02: return io->s.id << 24;       /* arbitration ID */
    default:
        if (reg >= 0x10 && reg < 0x10 + 2 * X86_IOAPIC_PINS) {
            uint64_t e = io->s.redirection[(reg - 0x10) / 2];

            return (reg & 1) ? e >> 32 : (uint32_t)e;
        }
        return 0;
    }
}

void ioapic_write(struct ioapic *io, uint64_t offset, uint32_t value)
{
    unsigned reg = io->s.ioregsel, pin;
    uint64_t *e;

    if (offset == IOREGSEL) {
        io->s.ioregsel = value & 0xff;
        return;
    }
    if (offset != IOWIN)
        return;
    if (reg == 0x00) {
        io->s.id = (value >> 24) & 0xf;
        return;
    }
    if (reg < 0x10 || reg >= 0x10 + 2 * X86_IOAPIC_PINS)
        return;
    pin = (reg - 0x10) / 2;
    e = &io->s.redirection[pin];
    if (reg & 1)
        *e = (*e & 0xffffffffull) | ((uint64_t)value << 32 & REDIR_WRITABLE);
    else
        *e = (*e & ~(0xffffffffull & REDIR_WRITABLE)) | (value & REDIR_WRITABLE);
    /* An edge entry has no remote IRR. */
    if (!(*e & REDIR_LEVEL))
        *e &= ~REDIR_REMOTE_IRR;
    service(io, pin);
}
