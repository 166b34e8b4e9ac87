/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A cascaded pair of 8259A programmable interrupt controllers as in a PC:
 * ICW1-4, OCW1-3, priority rotation, special mask, poll, auto-EOI (Intel
 * 8259A data sheet). The slave's INT drives the master's IR2.
 *
 * Edge or level: the PC's ELCR belongs to the chipset, so this model takes
 * what set_irq says: a rising edge sets IRR, and a line still high when its
 * in-service bit is cleared requests again, which is what a level-triggered
 * line does (and what an edge device never shows, as it pulses).
 */
#include <string.h>

#include "jit/pc/pc.h"

enum { MASTER, SLAVE };

void pic_reset(struct pic_pair *pic)
{
    for (unsigned i = 0; i < 2; i++) {
        uint8_t elcr = pic->chip[i].elcr, elcr_mask = pic->chip[i].elcr_mask;

        memset(&pic->chip[i], 0, sizeof(pic->chip[i]));
        pic->chip[i].elcr = elcr;
        pic->chip[i].elcr_mask = elcr_mask;
    }
    pic->chip[MASTER].elcr_mask = 0xf8;
    pic->chip[SLAVE].elcr_mask = 0xde;
}

/* Priority level (0 highest) of the highest request in @mask, 8 if none. */
static unsigned priority_of(const struct x86_pic_state *s, uint8_t mask)
{
    unsigned p = 0;

    if (!mask)
        return 8;
    while (!(mask & (1u << ((p + s->priority_add) & 7))))
        p++;
    return p;
}

/* The IRQ this chip would raise INT for, or -1. */
static int chip_pending(const struct x86_pic_state *s, bool master)
{
    unsigned request = priority_of(s, s->irr & ~s->imr), in_service;
    uint8_t isr = s->isr;

    if (request == 8)
        return -1;
    if (s->special_mask)
        isr &= ~s->imr;
    /* Special fully nested: the slave may interrupt its own service. */
    if (master && s->special_fully_nested_mode)
        isr &= ~(1u << 2);
    in_service = priority_of(s, isr);
    return request < in_service ? (int)((request + s->priority_add) & 7) : -1;
}

/* The slave's INT is the master's IR2, a level. */
static void update_cascade(struct pic_pair *pic)
{
    struct x86_pic_state *m = &pic->chip[MASTER];

    if (chip_pending(&pic->chip[SLAVE], false) >= 0)
        m->irr |= 1u << 2;
    else
        m->irr &= ~(1u << 2);
}

bool pic_output(struct pic_pair *pic)
{
    update_cascade(pic);
    return chip_pending(&pic->chip[MASTER], true) >= 0;
}

void pic_set_irq(struct pic_pair *pic, unsigned irq, bool level)
{
    struct x86_pic_state *s = &pic->chip[irq >> 3];
    uint8_t mask = 1u << (irq & 7);
    bool was = pic->line & (1u << irq);

    if (irq >= 16 || irq == 2)
        return;
    if (level)
        pic->line |= 1u << irq;
    else
        pic->line &= ~(1u << irq);
    if (s->elcr & mask) {
        if (level)
            s->irr |= mask;
        else
            s->irr &= ~mask;
    } else if (level && !was) {
        s->irr |= mask;
    }
    s->last_irr = (pic->line >> (irq & 8)) & 0xff;
    update_cascade(pic);
}

/* A cleared in-service bit lets a line still held high request again. */
static void end_of_interrupt(struct pic_pair *pic, unsigned chip, unsigned irq)
{
    struct x86_pic_state *s = &pic->chip[chip];

    s->isr &= ~(1u << irq);
    if ((pic->line >> (chip * 8 + irq)) & 1)
        s->irr |= 1u << irq;
}

static void intack(struct pic_pair *pic, unsigned chip, unsigned irq)
{
    struct x86_pic_state *s = &pic->chip[chip];

    if (s->auto_eoi) {
        if (s->rotate_on_auto_eoi)
            s->priority_add = (irq + 1) & 7;
    } else {
        s->isr |= 1u << irq;
    }
    if (!(s->elcr & (1u << irq)) && !(chip == MASTER && irq == 2))
        s->irr &= ~(1u << irq);
}

int pic_acknowledge(struct pic_pair *pic)
{
    struct x86_pic_state *m = &pic->chip[MASTER], *sl = &pic->chip[SLAVE];
    int irq, vector;

    update_cascade(pic);
    irq = chip_pending(m, true);
    if (irq < 0) {
        vector = m->irq_base + 7;           /* spurious IRQ 7 */
    } else if (irq == 2) {
        int irq2 = chip_pending(sl, false);

        intack(pic, MASTER, 2);
        if (irq2 >= 0) {
            intack(pic, SLAVE, irq2);
            vector = sl->irq_base + irq2;
        } else {
            vector = sl->irq_base + 7;      /* spurious IRQ 15 */
        }
    } else {
        intack(pic, MASTER, irq);
        vector = m->irq_base + irq;
    }
    update_cascade(pic);
    return vector;
}

/* Poll command (OCW3 P): the INTA without the vector, as a status byte. */
static uint8_t poll(struct pic_pair *pic, unsigned chip)
{
    int irq;

    update_cascade(pic);
    irq = chip_pending(&pic->chip[chip], chip == MASTER);
    if (irq < 0)
        return 0;
    intack(pic, chip, irq);
    if (chip == MASTER && irq == 2) {
        int irq2 = chip_pending(&pic->chip[SLAVE], false);

        if (irq2 >= 0)
            intack(pic, SLAVE, irq2);
    }
    update_cascade(pic);
    return 0x80 | irq;
}

uint8_t pic_read(struct pic_pair *pic, unsigned chip, unsigned port)
{
    struct x86_pic_state *s = &pic->chip[chip];

    if (s->poll) {
        s->poll = 0;
        return poll(pic, chip);
    }
    if (port == 1)
        return s->imr;
    update_cascade(pic);
    return s->read_reg_select ? s->isr : s->irr;
}

/* OCW2 (data sheet, "Operation command words"). */
static void write_ocw2(struct pic_pair *pic, unsigned chip, uint8_t value)
{
    struct x86_pic_state *s = &pic->chip[chip];
    unsigned command = value >> 5, p, irq;

    switch (command) {
    case 0: s->rotate_on_auto_eoi = 0; break;
    case 4: s->rotate_on_auto_eoi = 1; break;
    case 1:     /* non-specific EOI */
    case 5:     /* rotate on non-specific EOI */
        p = priority_of(s, s->isr);
        if (p == 8)
            break;
        irq = (p + s->priority_add) & 7;
        end_of_interrupt(pic, chip, irq);
        if (command == 5)
            s->priority_add = (irq + 1) & 7;
        break;
    case 3:     /* specific EOI */
        end_of_interrupt(pic, chip, value & 7);
        break;
    case 7:     /* rotate on specific EOI */
        end_of_interrupt(pic, chip, value & 7);
        s->priority_add = ((value & 7) + 1) & 7;
        break;
    case 6:     /* set priority */
        s->priority_add = ((value & 7) + 1) & 7;
        break;
    default:
        break;
    }
}

void pic_write(struct pic_pair *pic, unsigned chip, unsigned port, uint8_t value)
{
    struct x86_pic_state *s = &pic->chip[chip];

    if (port == 0) {
        if (value & 0x10) {
            /* ICW1: IMR and ISR cleared, IR7 lowest, status reads IRR. */
            uint8_t elcr = s->elcr, elcr_mask = s->elcr_mask;

            memset(s, 0, sizeof(*s));
            s->elcr = elcr;
            s->elcr_mask = elcr_mask;
            s->init_state = 1;
            s->init4 = value & 1;
            /* The edge detectors start over: lines held high request now. */
            s->last_irr = 0;
        } else if (value & 0x08) {
            /* OCW3 */
            if (value & 0x04)
                s->poll = 1;
            if (value & 0x02)
                s->read_reg_select = value & 1;
            if (value & 0x40)
                s->special_mask = (value >> 5) & 1;
        } else {
            write_ocw2(pic, chip, value);
        }
    } else {
        switch (s->init_state) {
        case 0:         /* OCW1 */
            s->imr = value;
            break;
        case 1:         /* ICW2 */
            s->irq_base = value & 0xf8;
            s->init_state = 2;
            break;
        case 2:         /* ICW3: the PC's cascade is fixed (slave on IR2) */
            s->init_state = s->init4 ? 3 : 0;
            break;
        default:        /* ICW4 */
            s->auto_eoi = (value >> 1) & 1;
            s->special_fully_nested_mode = (value >> 4) & 1;
            s->init_state = 0;
            break;
        }
    }
    update_cascade(pic);
}
