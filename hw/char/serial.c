/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * 16550A UART, after the National Semiconductor PC16550D data sheet: the
 * register file, 16-byte FIFOs, interrupt priorities and loopback mode.
 */
#define G_LOG_DOMAIN "mimic-serial"

#include "hw/char/serial.h"

#include <stdbool.h>

#include "engine/chardev.h"
#include "engine/clock.h"
#include "engine/machine.h"
#include "engine/memory.h"

/* Register offsets (data sheet, register summary table). */
enum {
    REG_RBR_THR_DLL = 0,
    REG_IER_DLM = 1,
    REG_IIR_FCR = 2,
    REG_LCR = 3,
    REG_MCR = 4,
    REG_LSR = 5,
    REG_MSR = 6,
    REG_SCR = 7,
    SERIAL_PORTS = 8,
};

#define IER_ERBFI   0x01    /* received data available (and timeout) */
#define IER_ETBEI   0x02    /* transmitter holding register empty */
#define IER_ELSI    0x04    /* receiver line status */
#define IER_EDSSI   0x08    /* modem status */

#define IIR_NONE    0x01    /* no interrupt pending */
#define IIR_RLS     0x06
#define IIR_RDA     0x04
#define IIR_CTI     0x0c
#define IIR_THRE    0x02
#define IIR_MSI     0x00
#define IIR_ID_MASK 0x0f
#define IIR_FIFOS   0xc0    /* FCR0 is set */

#define FCR_ENABLE   0x01
#define FCR_RX_RESET 0x02
#define FCR_TX_RESET 0x04
#define FCR_DMA      0x08
#define FCR_TRIGGER  0xc0

#define LCR_DLAB    0x80

#define MCR_DTR     0x01
#define MCR_RTS     0x02
#define MCR_OUT1    0x04
#define MCR_OUT2    0x08
#define MCR_LOOP    0x10
#define MCR_MASK    0x1f

#define LSR_DR      0x01
#define LSR_OE      0x02
#define LSR_PE      0x04
#define LSR_FE      0x08
#define LSR_BI      0x10
#define LSR_THRE    0x20
#define LSR_TEMT    0x40
#define LSR_ERRORS  (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS    0x01
#define MSR_DDSR    0x02
#define MSR_TERI    0x04
#define MSR_DDCD    0x08
#define MSR_DELTAS  0x0f
#define MSR_CTS     0x10
#define MSR_DSR     0x20
#define MSR_RI      0x40
#define MSR_DCD     0x80

#define FIFO_SIZE   16
#define UART_CLOCK_HZ 1843200   /* the PC's 1.8432 MHz crystal */

/* Guest mistakes logged once each. */
enum {
    LOGGED_LSR_WRITE = 1 << 0,
    LOGGED_MSR_WRITE = 1 << 1,
};

struct serial {
    struct device dev;
    struct chardev *chr;
    uint16_t base;
    unsigned gsi;
    struct vtimer *timeout_timer;

    uint16_t divisor;
    uint8_t ier, lcr, mcr, fcr, scr;
    uint8_t lsr_errors;         /* OE/PE/FE/BI, cleared by an LSR read */
    uint8_t msr;                /* modem inputs (bits 4-7) and deltas (0-3) */
    uint8_t rbr;                /* the last character read */

    uint8_t rx_fifo[FIFO_SIZE];
    unsigned rx_head, rx_count;

    bool thr_ipending;          /* THRE interrupt, until IIR read or THR write */
    bool timeout_ipending;      /* character timeout indication */
    int64_t timeout_deadline_ns;
    bool input_throttled;       /* can_receive said 0: resume the chardev later */
    bool irq_level;
    unsigned logged;
};

static bool fifo_enabled(struct serial *s)
{
    return s->fcr & FCR_ENABLE;
}

/* The 16450 mode has a one-character RBR instead of the FIFO. */
static unsigned rx_capacity(struct serial *s)
{
    return fifo_enabled(s) ? FIFO_SIZE : 1;
}

/* FCR bits 6-7 (data sheet, "FIFO Control Register"). */
static unsigned rx_trigger_level(struct serial *s)
{
    static const unsigned levels[4] = { 1, 4, 8, 14 };

    return levels[s->fcr >> 6];
}

/* Interrupt priorities and IIR values: data sheet, "Interrupt Control Functions". */
static uint8_t compute_iir(struct serial *s)
{
    uint8_t iir = IIR_NONE;

    if ((s->ier & IER_ELSI) && (s->lsr_errors & LSR_ERRORS))
        iir = IIR_RLS;
    else if ((s->ier & IER_ERBFI) && s->rx_count &&
             (!fifo_enabled(s) || s->rx_count >= rx_trigger_level(s)))
        iir = IIR_RDA;
    else if ((s->ier & IER_ERBFI) && s->timeout_ipending)
        iir = IIR_CTI;
    else if ((s->ier & IER_ETBEI) && s->thr_ipending)
        iir = IIR_THRE;
    else if ((s->ier & IER_EDSSI) && (s->msr & MSR_DELTAS))
        iir = IIR_MSI;
    return iir | (fifo_enabled(s) ? IIR_FIFOS : 0);
}

/*
 * INTR drives the PC's IRQ line only through the buffer enabled by -OUT2
 * (MCR bit 3). The gate follows the MCR bit even in loopback mode, where the
 * real pin is forced inactive, so loopback interrupt self-tests still work.
 */
static void update_irq(struct serial *s)
{
    bool level = !(compute_iir(s) & IIR_NONE) && (s->mcr & MCR_OUT2);

    if (level != s->irq_level) {
        s->irq_level = level;
        machine_set_irq(s->dev.machine, s->gsi, level);
    }
}

/* Four character times at the programmed baud rate and frame format. */
static int64_t timeout_ns(struct serial *s)
{
    unsigned bits = 1 + 5 + (s->lcr & 0x03) + ((s->lcr & 0x08) ? 1 : 0) +
                    ((s->lcr & 0x04) ? 2 : 1);
    uint64_t divisor = s->divisor ? s->divisor : 0x10000;

    return (int64_t)(4 * bits * divisor * 16 * UINT64_C(1000000000) /
                     UART_CLOCK_HZ);
}

/*
 * The timeout counter restarts whenever a character enters or leaves the RX
 * FIFO (data sheet, "FIFO Interrupt Mode Operation").
 */
static void restart_timeout(struct serial *s)
{
    if (fifo_enabled(s) && s->rx_count) {
        s->timeout_deadline_ns = vclock_now_ns(s->dev.machine->clock) +
                                 timeout_ns(s);
        vtimer_arm(s->timeout_timer, s->timeout_deadline_ns);
    } else {
        vtimer_cancel(s->timeout_timer);
    }
}

static void timeout_expired(void *opaque)
{
    struct serial *s = opaque;
    struct machine *m = s->dev.machine;

    g_mutex_lock(&m->device_lock);
    if (fifo_enabled(s) && s->rx_count &&
        vclock_now_ns(m->clock) >= s->timeout_deadline_ns) {
        s->timeout_ipending = true;
        update_irq(s);
    }
    g_mutex_unlock(&m->device_lock);
}

static void rx_reset(struct serial *s)
{
    s->rx_head = 0;
    s->rx_count = 0;
    s->timeout_ipending = false;
    vtimer_cancel(s->timeout_timer);
}

/*
 * A character arrives from the shift register. With the FIFO full it is
 * lost and OE set; in 16450 mode it overwrites RBR and sets OE (data sheet,
 * "Line Status Register", bit 1).
 */
static void rx_push(struct serial *s, uint8_t byte)
{
    if (s->rx_count == rx_capacity(s)) {
        s->lsr_errors |= LSR_OE;
        if (!fifo_enabled(s))
            s->rx_fifo[s->rx_head] = byte;
    } else {
        s->rx_fifo[(s->rx_head + s->rx_count) % FIFO_SIZE] = byte;
        s->rx_count++;
    }
    restart_timeout(s);
}

static void resume_input(struct serial *s)
{
    if (s->input_throttled && s->chr) {
        s->input_throttled = false;
        chardev_accept_input(s->chr);
    }
}

static uint8_t read_rbr(struct serial *s)
{
    if (s->rx_count) {
        s->rbr = s->rx_fifo[s->rx_head];
        s->rx_head = (s->rx_head + 1) % FIFO_SIZE;
        s->rx_count--;
    }
    s->timeout_ipending = false;
    restart_timeout(s);
    update_irq(s);
    resume_input(s);
    return s->rbr;
}

/* Transmission is instantaneous: THR and the shift register are always empty. */
static void write_thr(struct serial *s, uint8_t byte)
{
    s->thr_ipending = false;
    update_irq(s);
    if (s->mcr & MCR_LOOP)
        rx_push(s, byte);
    else
        chardev_write(s->chr, &byte, 1);
    s->thr_ipending = true;
    update_irq(s);
}

/*
 * Modem inputs: a host back end is always "connected" (CTS, DSR, DCD); in
 * loopback RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD (data sheet, "Modem
 * Control Register", bit 4). Changes set the delta bits of the MSR.
 */
static void update_modem_inputs(struct serial *s)
{
    uint8_t in, old = s->msr;

    if (s->mcr & MCR_LOOP) {
        in = ((s->mcr & MCR_RTS) ? MSR_CTS : 0) |
             ((s->mcr & MCR_DTR) ? MSR_DSR : 0) |
             ((s->mcr & MCR_OUT1) ? MSR_RI : 0) |
             ((s->mcr & MCR_OUT2) ? MSR_DCD : 0);
    } else {
        in = MSR_CTS | MSR_DSR | MSR_DCD;
    }
    s->msr = in | (old & MSR_DELTAS);
    if ((in ^ old) & MSR_CTS)
        s->msr |= MSR_DCTS;
    if ((in ^ old) & MSR_DSR)
        s->msr |= MSR_DDSR;
    if ((old & MSR_RI) && !(in & MSR_RI))
        s->msr |= MSR_TERI;     /* trailing edge of RI */
    if ((in ^ old) & MSR_DCD)
        s->msr |= MSR_DDCD;
}

/*
 * FCR0 enables the FIFOs; changing it empties them. The other bits are only
 * programmed while FCR0 is written as 1; bits 1 and 2 clear themselves
 * (data sheet, "FIFO Control Register").
 */
static void write_fcr(struct serial *s, uint8_t value)
{
    if ((value ^ s->fcr) & FCR_ENABLE)
        rx_reset(s);
    if (value & FCR_ENABLE) {
        if (value & FCR_RX_RESET)
            rx_reset(s);
        /* FCR_TX_RESET: the TX FIFO is always empty here. */
        s->fcr = value & (FCR_ENABLE | FCR_DMA | FCR_TRIGGER);
    } else {
        s->fcr = 0;
    }
    update_irq(s);
    resume_input(s);
}

static void write_ier(struct serial *s, uint8_t value)
{
    uint8_t old = s->ier;

    s->ier = value & 0x0f;
    /* Enabling ETBEI while THR is empty signals THRE at once. */
    if ((s->ier & IER_ETBEI) && !(old & IER_ETBEI))
        s->thr_ipending = true;
    update_irq(s);
}

static void log_once(struct serial *s, unsigned what, const char *message)
{
    if (!(s->logged & what)) {
        s->logged |= what;
        g_message("serial 0x%x: %s; ignored (logged once)", s->base, message);
    }
}

static uint8_t read_register(struct serial *s, unsigned reg)
{
    uint8_t value;

    switch (reg) {
    case REG_RBR_THR_DLL:
        return (s->lcr & LCR_DLAB) ? s->divisor & 0xff : read_rbr(s);
    case REG_IER_DLM:
        return (s->lcr & LCR_DLAB) ? s->divisor >> 8 : s->ier;
    case REG_IIR_FCR:
        value = compute_iir(s);
        /* Reading IIR clears THRE when it is the interrupt reported. */
        if ((value & IIR_ID_MASK) == IIR_THRE) {
            s->thr_ipending = false;
            update_irq(s);
        }
        return value;
    case REG_LCR:
        return s->lcr;
    case REG_MCR:
        return s->mcr;
    case REG_LSR:
        value = (s->rx_count ? LSR_DR : 0) | s->lsr_errors | LSR_THRE | LSR_TEMT;
        if (s->lsr_errors) {
            s->lsr_errors = 0;
            update_irq(s);
        }
        return value;
    case REG_MSR:
        value = s->msr;
        if (s->msr & MSR_DELTAS) {
            s->msr &= ~MSR_DELTAS;
            update_irq(s);
        }
        return value;
    case REG_SCR:
        return s->scr;
    }
    return 0xff;
}

static void write_register(struct serial *s, unsigned reg, uint8_t value)
{
    switch (reg) {
    case REG_RBR_THR_DLL:
        if (s->lcr & LCR_DLAB)
            s->divisor = (s->divisor & 0xff00) | value;
        else
            write_thr(s, value);
        break;
    case REG_IER_DLM:
        if (s->lcr & LCR_DLAB)
            s->divisor = (s->divisor & 0x00ff) | (value << 8);
        else
            write_ier(s, value);
        break;
    case REG_IIR_FCR:
        write_fcr(s, value);
        break;
    case REG_LCR:
        s->lcr = value;
        break;
    case REG_MCR:
        s->mcr = value & MCR_MASK;
        update_modem_inputs(s);
        update_irq(s);
        break;
    case REG_LSR:
        log_once(s, LOGGED_LSR_WRITE, "guest wrote the read-only LSR");
        break;
    case REG_MSR:
        log_once(s, LOGGED_MSR_WRITE, "guest wrote the read-only MSR");
        break;
    case REG_SCR:
        s->scr = value;
        break;
    }
}

/* Wider accesses reach consecutive 8-bit registers, as the ISA bus splits them. */
static uint64_t serial_io_read(void *opaque, uint64_t offset, unsigned size)
{
    struct serial *s = opaque;
    uint64_t value = 0;

    for (unsigned i = 0; i < size; i++) {
        uint8_t byte = offset + i < SERIAL_PORTS ? read_register(s, offset + i)
                                                 : 0xff;

        value |= (uint64_t)byte << (8 * i);
    }
    return value;
}

static void serial_io_write(void *opaque, uint64_t offset, uint64_t value,
                            unsigned size)
{
    struct serial *s = opaque;

    for (unsigned i = 0; i < size && offset + i < SERIAL_PORTS; i++)
        write_register(s, offset + i, value >> (8 * i));
}

static const struct memory_ops serial_io_ops = {
    .read = serial_io_read,
    .write = serial_io_write,
};

/* Chardev receiver, on the engine thread. */
static size_t serial_can_receive(void *opaque)
{
    struct serial *s = opaque;
    size_t room;

    g_mutex_lock(&s->dev.machine->device_lock);
    /* In loopback the serial input is disconnected: accept and drop. */
    if (s->mcr & MCR_LOOP)
        room = FIFO_SIZE;
    else
        room = rx_capacity(s) - MIN(s->rx_count, rx_capacity(s));
    if (room == 0)
        s->input_throttled = true;
    g_mutex_unlock(&s->dev.machine->device_lock);
    return room;
}

static void serial_receive(void *opaque, const uint8_t *buf, size_t length)
{
    struct serial *s = opaque;

    g_mutex_lock(&s->dev.machine->device_lock);
    if (!(s->mcr & MCR_LOOP)) {
        for (size_t i = 0; i < length; i++)
            rx_push(s, buf[i]);
        update_irq(s);
    }
    g_mutex_unlock(&s->dev.machine->device_lock);
}

/* Master reset values ("UART Reset Configuration"); DLL/DLM and SCR keep theirs. */
static void serial_reset(struct device *dev)
{
    struct serial *s = (struct serial *)dev;

    s->ier = 0;
    s->lcr = 0;
    s->mcr = 0;
    s->fcr = 0;
    s->lsr_errors = 0;
    rx_reset(s);
    s->thr_ipending = false;
    update_modem_inputs(s);
    s->msr &= ~MSR_DELTAS;
    update_irq(s);
    resume_input(s);
}

static void serial_destroy(struct device *dev)
{
    struct serial *s = (struct serial *)dev;

    if (s->chr)
        chardev_set_receiver(s->chr, NULL, NULL, NULL);
    vtimer_free(s->timeout_timer);
    g_free(s);
}

struct device *serial_create(struct machine *m, uint16_t base, unsigned gsi,
                             struct chardev *chr, GError **error)
{
    struct serial *s = g_new0(struct serial, 1);

    s->dev.cls = &serial_device_class;
    s->dev.machine = m;
    s->chr = chr;
    s->base = base;
    s->gsi = gsi;
    s->divisor = 12;    /* 9600 baud until the guest programs it */
    s->timeout_timer = vtimer_new(m->clock, timeout_expired, s);
    if (!memory_map_add_io(m->io, "serial", base, SERIAL_PORTS, &serial_io_ops,
                           s, error)) {
        vtimer_free(s->timeout_timer);
        g_free(s);
        return NULL;
    }
    serial_reset(&s->dev);
    if (chr)
        chardev_set_receiver(chr, serial_can_receive, serial_receive, s);
    machine_add_device(m, &s->dev);
    return &s->dev;
}

const struct device_class serial_device_class = {
    .name = "serial",
    .reset = serial_reset,
    .destroy = serial_destroy,
};
