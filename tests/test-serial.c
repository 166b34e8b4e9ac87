/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the character back ends and the small PC devices: 16550A
 * UART, debug console, POST port, isa-debug-exit and ACPI PM registers,
 * driven through a hand-built machine's port-I/O map.
 */
#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/chardev.h"
#include "engine/clock.h"
#include "engine/machine.h"
#include "engine/memory.h"
#include "fake-machine.h"
#include "hw/char/debugcon.h"
#include "hw/char/serial.h"
#include "hw/device.h"
#include "hw/x86/acpi-pm.h"
#include "hw/x86/debug-exit.h"
#include "hw/x86/post-port.h"

#define COM1 0x3f8
#define COM1_GSI 4
#define PM_BASE 0x600

/* UART registers and bits (PC16550D data sheet, register summary). */
enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3,
       MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

struct fixture {
    struct machine *m;
    char *dir;
};

static void fixture_setup(struct fixture *f, gconstpointer data)
{
    GError *error = NULL;

    f->m = fake_machine_new(0, FAKE_MACHINE_RAM_FLAT);
    f->dir = g_dir_make_tmp("mimic-test-serial-XXXXXX", &error);
    g_assert_no_error(error);
}

static void fixture_teardown(struct fixture *f, gconstpointer data)
{
    fake_machine_free(f->m);

    /* The files tests made in the temporary folder. */
    {
        GDir *dir = g_dir_open(f->dir, 0, NULL);
        const char *name;

        while (dir && (name = g_dir_read_name(dir))) {
            g_autofree char *path = g_build_filename(f->dir, name, NULL);

            g_unlink(path);
        }
        if (dir)
            g_dir_close(dir);
    }
    g_rmdir(f->dir);
    g_free(f->dir);
}

static struct chardev *open_chardev(struct fixture *f, const char *spec)
{
    GError *error = NULL;
    struct chardev *chr = machine_open_chardev(f->m, spec, &error);

    g_assert_no_error(error);
    g_assert_nonnull(chr);
    return chr;
}

static char *file_spec(struct fixture *f, const char *name, char **path)
{
    *path = g_build_filename(f->dir, name, NULL);
    return g_strdup_printf("file:%s", *path);
}

static char *read_file(const char *path)
{
    char *contents = NULL;
    GError *error = NULL;

    g_file_get_contents(path, &contents, NULL, &error);
    g_assert_no_error(error);
    return contents;
}

static void outb(struct fixture *f, uint16_t port, uint8_t value)
{
    memory_map_dispatch_write(f->m->io, port, 1, value);
}

static void outw(struct fixture *f, uint16_t port, uint16_t value)
{
    memory_map_dispatch_write(f->m->io, port, 2, value);
}

static uint8_t inb(struct fixture *f, uint16_t port)
{
    uint64_t value;

    memory_map_dispatch_read(f->m->io, port, 1, &value);
    return value;
}

static uint16_t inw(struct fixture *f, uint16_t port)
{
    uint64_t value;

    memory_map_dispatch_read(f->m->io, port, 2, &value);
    return value;
}

static uint32_t inl(struct fixture *f, uint16_t port)
{
    uint64_t value;

    memory_map_dispatch_read(f->m->io, port, 4, &value);
    return value;
}

static struct device *make_serial(struct fixture *f, struct chardev *chr)
{
    GError *error = NULL;
    struct device *dev = serial_create(f->m, COM1, COM1_GSI, chr, &error);

    g_assert_no_error(error);
    g_assert_nonnull(dev);
    return dev;
}

/* Run the context until @done says so, for at most five seconds. */
static bool iterate_until(struct fixture *f, bool (*done)(struct fixture *f))
{
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    while (!done(f)) {
        if (g_get_monotonic_time() > deadline)
            return false;
        if (!g_main_context_iteration(f->m->context, FALSE))
            g_usleep(1000);
    }
    return true;
}

/* --- serial --------------------------------------------------------------- */

static void test_serial_registers(struct fixture *f, gconstpointer data)
{
    struct device *dev = make_serial(f, NULL);

    /* Power-on values (data sheet, "UART Reset Configuration"). */
    g_assert_cmphex(inb(f, COM1 + IER), ==, 0);
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0x01);
    g_assert_cmphex(inb(f, COM1 + LCR), ==, 0);
    g_assert_cmphex(inb(f, COM1 + MCR), ==, 0);
    g_assert_cmphex(inb(f, COM1 + LSR), ==, LSR_THRE | LSR_TEMT);

    /* Divisor latch behind DLAB. */
    outb(f, COM1 + LCR, 0x80);
    outb(f, COM1 + DLL, 0x34);
    outb(f, COM1 + DLM, 0x12);
    g_assert_cmphex(inb(f, COM1 + DLL), ==, 0x34);
    g_assert_cmphex(inb(f, COM1 + DLM), ==, 0x12);
    g_assert_cmphex(inw(f, COM1 + DLL), ==, 0x1234);
    outb(f, COM1 + LCR, 0x03);
    g_assert_cmphex(inb(f, COM1 + LCR), ==, 0x03);
    g_assert_cmphex(inb(f, COM1 + IER), ==, 0);
    outb(f, COM1 + IER, 0xff);
    g_assert_cmphex(inb(f, COM1 + IER), ==, 0x0f);
    outb(f, COM1 + IER, 0);
    outb(f, COM1 + LCR, 0x80);
    g_assert_cmphex(inb(f, COM1 + DLM), ==, 0x12);
    outb(f, COM1 + LCR, 0x1b);
    g_assert_cmphex(inb(f, COM1 + LCR), ==, 0x1b);

    outb(f, COM1 + SCR, 0xa5);
    g_assert_cmphex(inb(f, COM1 + SCR), ==, 0xa5);
    outb(f, COM1 + MCR, 0xff);
    g_assert_cmphex(inb(f, COM1 + MCR), ==, 0x1f);

    /* FCR: IIR bits 6-7 show the FIFOs are on. */
    outb(f, COM1 + MCR, 0);
    outb(f, COM1 + FCR, 0x01);
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0xc1);
    outb(f, COM1 + FCR, 0x00);
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0x01);

    /* A guest write to the read-only LSR is logged once and ignored. */
    g_test_expect_message("mimic-serial", G_LOG_LEVEL_MESSAGE, "*read-only LSR*");
    outb(f, COM1 + LSR, 0);
    outb(f, COM1 + LSR, 0);
    g_test_assert_expected_messages();
    g_assert_cmphex(inb(f, COM1 + LSR), ==, LSR_THRE | LSR_TEMT);

    /* Reset keeps the divisor and the scratch register. */
    dev->cls->reset(dev);
    g_assert_cmphex(inb(f, COM1 + LCR), ==, 0);
    g_assert_cmphex(inb(f, COM1 + SCR), ==, 0xa5);
    outb(f, COM1 + LCR, 0x80);
    g_assert_cmphex(inw(f, COM1 + DLL), ==, 0x1234);
}

static void test_serial_output(struct fixture *f, gconstpointer data)
{
    g_autofree char *path = NULL;
    g_autofree char *spec = file_spec(f, "out.txt", &path);
    struct chardev *chr = open_chardev(f, spec);
    g_autofree char *contents = NULL;
    const char *text = "hello, world\r\n";

    make_serial(f, chr);
    for (const char *p = text; *p; p++) {
        g_assert_true(inb(f, COM1 + LSR) & LSR_THRE);
        outb(f, COM1 + THR, *p);
    }
    /* In loopback nothing leaves the UART. */
    outb(f, COM1 + MCR, MCR_LOOP);
    outb(f, COM1 + THR, 'X');
    contents = read_file(path);
    g_assert_cmpstr(contents, ==, text);
}

static void test_serial_loopback(struct fixture *f, gconstpointer data)
{
    make_serial(f, NULL);

    outb(f, COM1 + FCR, 0x07);
    outb(f, COM1 + MCR, MCR_LOOP);
    g_assert_false(inb(f, COM1 + LSR) & LSR_DR);
    outb(f, COM1 + THR, 'A');
    outb(f, COM1 + THR, 'B');
    g_assert_true(inb(f, COM1 + LSR) & LSR_DR);
    g_assert_cmphex(inb(f, COM1 + RBR), ==, 'A');
    g_assert_cmphex(inb(f, COM1 + RBR), ==, 'B');
    g_assert_false(inb(f, COM1 + LSR) & LSR_DR);

    /* Modem lines: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD, with deltas. */
    inb(f, COM1 + MSR);
    g_assert_cmphex(inb(f, COM1 + MSR), ==, 0x00);
    outb(f, COM1 + MCR, MCR_LOOP | MCR_RTS | MCR_DTR);
    g_assert_cmphex(inb(f, COM1 + MSR), ==, 0x30 | 0x03);
    g_assert_cmphex(inb(f, COM1 + MSR), ==, 0x30);
    outb(f, COM1 + MCR, MCR_LOOP | MCR_OUT1 | MCR_OUT2);
    g_assert_cmphex(inb(f, COM1 + MSR), ==, 0xc0 | 0x0b);
    outb(f, COM1 + MCR, MCR_LOOP);
    /* RI went away: trailing edge (TERI); DCD changed (DDCD). */
    g_assert_cmphex(inb(f, COM1 + MSR), ==, 0x0c);

    /* Out of loopback, a host back end looks connected: CTS, DSR, DCD. */
    outb(f, COM1 + MCR, 0);
    g_assert_cmphex(inb(f, COM1 + MSR) & 0xf0, ==, 0xb0);
}

static void test_serial_fifo_trigger(struct fixture *f, gconstpointer data)
{
    static const unsigned levels[4] = { 1, 4, 8, 14 };

    make_serial(f, NULL);
    outb(f, COM1 + MCR, MCR_LOOP | MCR_OUT2);
    outb(f, COM1 + IER, 0x01);
    for (unsigned t = 0; t < 4; t++) {
        outb(f, COM1 + FCR, 0x07 | (t << 6));
        for (unsigned i = 0; i < levels[t]; i++) {
            g_assert_cmphex(inb(f, COM1 + IIR), ==, 0xc1);
            g_assert_false(fake_machine_irq_level(f->m, COM1_GSI));
            outb(f, COM1 + THR, 'a' + i);
        }
        g_assert_cmphex(inb(f, COM1 + IIR), ==, 0xc4);
        g_assert_true(fake_machine_irq_level(f->m, COM1_GSI));
        /* Below the trigger level again: no interrupt (the timeout comes later). */
        inb(f, COM1 + RBR);
        g_assert_cmphex(inb(f, COM1 + IIR), ==, 0xc1);
        g_assert_false(fake_machine_irq_level(f->m, COM1_GSI));
    }
    /* FCR bit 1 empties the RX FIFO. */
    g_assert_true(inb(f, COM1 + LSR) & LSR_DR);
    outb(f, COM1 + FCR, 0xc3);
    g_assert_false(inb(f, COM1 + LSR) & LSR_DR);

    /* In 16450 mode any character is "data available". */
    outb(f, COM1 + FCR, 0x00);
    outb(f, COM1 + THR, 'z');
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0x04);
    g_assert_cmphex(inb(f, COM1 + RBR), ==, 'z');
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0x01);
}

static void test_serial_priority(struct fixture *f, gconstpointer data)
{
    make_serial(f, NULL);
    outb(f, COM1 + FCR, 0x07);      /* trigger level 1 */
    outb(f, COM1 + MCR, MCR_LOOP | MCR_OUT2 | MCR_RTS);
    outb(f, COM1 + IER, 0x0f);
    /* 17 characters: the FIFO fills and the last one overruns. */
    for (unsigned i = 0; i < 17; i++)
        outb(f, COM1 + THR, 'A' + i);
    g_assert_true(fake_machine_irq_level(f->m, COM1_GSI));

    /* RLS > RDA > THRE > MSI (data sheet, "Interrupt Control Functions"). */
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0xc6);
    g_assert_cmphex(inb(f, COM1 + LSR), ==, LSR_DR | LSR_OE | LSR_THRE | LSR_TEMT);
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0xc4);
    for (unsigned i = 0; i < 16; i++)
        g_assert_cmphex(inb(f, COM1 + RBR), ==, 'A' + i);
    g_assert_true(fake_machine_irq_level(f->m, COM1_GSI));
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0xc2);
    /* That IIR read cleared THRE; the modem status change is left. */
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0xc0);
    g_assert_true(fake_machine_irq_level(f->m, COM1_GSI));
    /* In loopback RTS drives CTS and OUT2 drives DCD; DSR fell (DDSR). */
    g_assert_cmphex(inb(f, COM1 + MSR), ==, 0x92);
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0xc1);
    g_assert_false(fake_machine_irq_level(f->m, COM1_GSI));
}

static void test_serial_thre(struct fixture *f, gconstpointer data)
{
    make_serial(f, NULL);
    outb(f, COM1 + MCR, MCR_OUT2);

    /* Enabling ETBEI with THR empty signals THRE at once. */
    outb(f, COM1 + IER, 0x02);
    g_assert_true(fake_machine_irq_level(f->m, COM1_GSI));
    g_assert_cmpuint(fake_machine_irq_edges(f->m, COM1_GSI), ==, 1);
    /* Reading IIR when THRE is the reported source clears it. */
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0x02);
    g_assert_false(fake_machine_irq_level(f->m, COM1_GSI));
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0x01);
    /* Writing THR clears it; the (instant) transmission sets it again: a new edge. */
    outb(f, COM1 + THR, 'x');
    g_assert_true(fake_machine_irq_level(f->m, COM1_GSI));
    outb(f, COM1 + THR, 'y');
    g_assert_true(fake_machine_irq_level(f->m, COM1_GSI));
    g_assert_cmpuint(fake_machine_irq_edges(f->m, COM1_GSI), ==, 3);
    /* Rewriting IER with ETBEI still set does not re-arm a cleared THRE. */
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0x02);
    outb(f, COM1 + IER, 0x02);
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0x01);
    /* Turning ETBEI off and on again does. */
    outb(f, COM1 + IER, 0x00);
    outb(f, COM1 + IER, 0x02);
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0x02);
}

static void test_serial_out2(struct fixture *f, gconstpointer data)
{
    make_serial(f, NULL);
    outb(f, COM1 + IER, 0x02);
    /* Pending, but OUT2 closes the PC's IRQ buffer. */
    g_assert_false(fake_machine_irq_level(f->m, COM1_GSI));
    outb(f, COM1 + MCR, MCR_OUT2);
    g_assert_true(fake_machine_irq_level(f->m, COM1_GSI));
    outb(f, COM1 + MCR, MCR_DTR | MCR_RTS);
    g_assert_false(fake_machine_irq_level(f->m, COM1_GSI));
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0x02);
    outb(f, COM1 + MCR, MCR_OUT2);
    g_assert_false(fake_machine_irq_level(f->m, COM1_GSI));
}

static void test_serial_overrun(struct fixture *f, gconstpointer data)
{
    make_serial(f, NULL);
    outb(f, COM1 + MCR, MCR_LOOP);

    /* 16450 mode: the second character overwrites RBR and sets OE. */
    outb(f, COM1 + THR, '1');
    g_assert_cmphex(inb(f, COM1 + LSR) & LSR_OE, ==, 0);
    outb(f, COM1 + THR, '2');
    g_assert_cmphex(inb(f, COM1 + LSR), ==, LSR_DR | LSR_OE | LSR_THRE | LSR_TEMT);
    g_assert_cmphex(inb(f, COM1 + LSR), ==, LSR_DR | LSR_THRE | LSR_TEMT);
    g_assert_cmphex(inb(f, COM1 + RBR), ==, '2');

    /* FIFO mode: the 17th character is lost. */
    outb(f, COM1 + FCR, 0x01);
    for (unsigned i = 0; i < 17; i++)
        outb(f, COM1 + THR, 'a' + i);
    g_assert_true(inb(f, COM1 + LSR) & LSR_OE);
    for (unsigned i = 0; i < 16; i++)
        g_assert_cmphex(inb(f, COM1 + RBR), ==, 'a' + i);
    g_assert_false(inb(f, COM1 + LSR) & (LSR_DR | LSR_OE));
}

static bool iir_is_timeout(struct fixture *f)
{
    return inb(f, COM1 + IIR) == 0xcc;
}

static void test_serial_timeout(struct fixture *f, gconstpointer data)
{
    make_serial(f, NULL);
    outb(f, COM1 + LCR, 0x80);
    outb(f, COM1 + DLL, 1);         /* 115200 baud: 4 characters are ~350 us */
    outb(f, COM1 + LCR, 0x03);
    outb(f, COM1 + FCR, 0xc7);      /* trigger level 14 */
    outb(f, COM1 + MCR, MCR_LOOP | MCR_OUT2);
    outb(f, COM1 + IER, 0x01);
    outb(f, COM1 + THR, 'a');
    outb(f, COM1 + THR, 'b');

    /* The virtual clock is paused: no time passes, no timeout. */
    for (unsigned i = 0; i < 10; i++)
        g_main_context_iteration(f->m->context, FALSE);
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0xc1);

    vclock_resume(f->m->clock);
    g_assert_true(iterate_until(f, iir_is_timeout));
    g_assert_true(fake_machine_irq_level(f->m, COM1_GSI));
    /* Reading RBR clears the indication and restarts the timer. */
    g_assert_cmphex(inb(f, COM1 + RBR), ==, 'a');
    g_assert_false(fake_machine_irq_level(f->m, COM1_GSI));
    g_assert_true(iterate_until(f, iir_is_timeout));
    g_assert_cmphex(inb(f, COM1 + RBR), ==, 'b');
    g_assert_cmphex(inb(f, COM1 + IIR), ==, 0xc1);
    g_assert_false(fake_machine_irq_level(f->m, COM1_GSI));
    vclock_pause(f->m->clock);
}

static bool data_ready(struct fixture *f)
{
    return inb(f, COM1 + LSR) & LSR_DR;
}

static GSocketConnection *connect_unix(const char *path)
{
    g_autoptr(GSocketClient) client = g_socket_client_new();
    g_autoptr(GSocketAddress) address = g_unix_socket_address_new(path);
    GError *error = NULL;
    GSocketConnection *connection;

    connection = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(address),
                                         NULL, &error);
    g_assert_no_error(error);
    g_socket_set_timeout(g_socket_connection_get_socket(connection), 5);
    return connection;
}

static void send_all(GSocketConnection *connection, const char *text)
{
    GError *error = NULL;

    g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(connection)),
                              text, strlen(text), NULL, NULL, &error);
    g_assert_no_error(error);
}

static char *receive_some(GSocketConnection *connection, size_t length)
{
    char *buf = g_malloc0(length + 1);
    size_t got = 0;
    GError *error = NULL;

    while (got < length) {
        gssize n = g_input_stream_read(
            g_io_stream_get_input_stream(G_IO_STREAM(connection)),
            buf + got, length - got, NULL, &error);

        g_assert_no_error(error);
        g_assert_cmpint(n, >, 0);
        got += n;
    }
    return buf;
}

static void test_serial_receive(struct fixture *f, gconstpointer data)
{
    g_autofree char *path = g_build_filename(f->dir, "com1.sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server,nowait", path);
    struct chardev *chr = open_chardev(f, spec);
    g_autoptr(GSocketConnection) connection = NULL;
    g_autofree char *echo = NULL;
    GString *got = g_string_new(NULL);

    make_serial(f, chr);
    outb(f, COM1 + MCR, MCR_OUT2);
    outb(f, COM1 + IER, 0x01);

    /* Output while nobody is connected is dropped. */
    outb(f, COM1 + THR, '-');

    connection = connect_unix(path);
    send_all(connection, "xyz");
    /* 16450 mode holds one character; the rest waits in the back end. */
    for (unsigned i = 0; i < 3; i++) {
        g_assert_true(iterate_until(f, data_ready));
        g_assert_true(fake_machine_irq_level(f->m, COM1_GSI));
        g_assert_cmphex(inb(f, COM1 + IIR), ==, 0x04);
        g_string_append_c(got, inb(f, COM1 + RBR));
        g_assert_false(inb(f, COM1 + LSR) & LSR_OE);
    }
    g_assert_cmpstr(got->str, ==, "xyz");
    g_assert_false(fake_machine_irq_level(f->m, COM1_GSI));

    /* FIFO mode: 20 characters, 16 at a time, none lost. */
    outb(f, COM1 + FCR, 0x07);
    g_string_truncate(got, 0);
    send_all(connection, "abcdefghijklmnopqrst");
    while (got->len < 20) {
        g_assert_true(iterate_until(f, data_ready));
        /* Let the back end fill the FIFO as far as it can. */
        for (unsigned i = 0; i < 20; i++)
            g_main_context_iteration(f->m->context, FALSE);
        while (inb(f, COM1 + LSR) & LSR_DR)
            g_string_append_c(got, inb(f, COM1 + RBR));
        g_assert_false(inb(f, COM1 + LSR) & LSR_OE);
    }
    g_assert_cmpstr(got->str, ==, "abcdefghijklmnopqrst");
    g_string_free(got, TRUE);

    /* Output reaches the peer. */
    outb(f, COM1 + THR, 'O');
    outb(f, COM1 + THR, 'K');
    echo = receive_some(connection, 2);
    g_assert_cmpstr(echo, ==, "OK");
}

static void test_serial_loopback_drops_input(struct fixture *f, gconstpointer data)
{
    g_autofree char *path = g_build_filename(f->dir, "loop.sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server,wait=off", path);
    struct chardev *chr = open_chardev(f, spec);
    g_autoptr(GSocketConnection) connection = NULL;

    make_serial(f, chr);
    outb(f, COM1 + FCR, 0x01);
    outb(f, COM1 + MCR, MCR_LOOP);
    connection = connect_unix(path);
    send_all(connection, "lost");
    for (unsigned i = 0; i < 200; i++) {
        g_main_context_iteration(f->m->context, FALSE);
        g_usleep(100);
    }
    /* The serial input is disconnected in loopback (data sheet, MCR bit 4). */
    g_assert_false(inb(f, COM1 + LSR) & LSR_DR);
    outb(f, COM1 + MCR, 0);
    send_all(connection, "!");
    g_assert_true(iterate_until(f, data_ready));
    g_assert_cmphex(inb(f, COM1 + RBR), ==, '!');
}

/* --- chardev --------------------------------------------------------------- */

static void expect_open_error(struct fixture *f, const char *spec, int code,
                              const char *fragment)
{
    GError *error = NULL;
    struct chardev *chr = chardev_open(spec, f->m->context, &error);

    g_assert_null(chr);
    g_assert_error(error, G_IO_ERROR, code);
    if (!strstr(error->message, fragment))
        g_error("error for \"%s\" is \"%s\", which lacks \"%s\"", spec,
                error->message, fragment);
    g_clear_error(&error);
}

static void test_chardev_errors(struct fixture *f, gconstpointer data)
{
    g_autofree char *missing = g_build_filename(f->dir, "no-such-dir", "out.txt",
                                                NULL);
    g_autofree char *spec = g_strdup_printf("file:%s", missing);

    expect_open_error(f, "foo:bar", G_IO_ERROR_INVALID_ARGUMENT, "foo:bar");
    expect_open_error(f, "foo:bar", G_IO_ERROR_INVALID_ARGUMENT, "unknown back end");
    expect_open_error(f, spec, G_IO_ERROR_NOT_FOUND, missing);
    expect_open_error(f, "file:", G_IO_ERROR_INVALID_ARGUMENT, "needs a path");
    expect_open_error(f, "unix:", G_IO_ERROR_INVALID_ARGUMENT, "needs a socket path");
    expect_open_error(f, "unix:/tmp/x.sock,server,frobnicate",
                      G_IO_ERROR_INVALID_ARGUMENT, "frobnicate");
    {
        g_autofree char *nobody = g_build_filename(f->dir, "nobody.sock", NULL);
        g_autofree char *client = g_strdup_printf("unix:%s", nobody);

        expect_open_error(f, client, G_IO_ERROR_NOT_FOUND, nobody);
    }
    /* null swallows output. */
    chardev_write(open_chardev(f, "null"), (const uint8_t *)"x", 1);
}

static void test_chardev_peer_gone(struct fixture *f, gconstpointer data)
{
    g_autofree char *path = g_build_filename(f->dir, "gone.sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server,nowait", path);
    struct chardev *chr = open_chardev(f, spec);
    g_autofree char *text = NULL;
    GSocketConnection *first;
    g_autoptr(GSocketConnection) second = NULL;
    uint8_t big[4096];

    memset(big, 'z', sizeof(big));
    first = connect_unix(path);
    for (unsigned i = 0; i < 50; i++)
        g_main_context_iteration(f->m->context, FALSE);
    chardev_write(chr, (const uint8_t *)"1", 1);
    text = receive_some(first, 1);
    g_assert_cmpstr(text, ==, "1");
    g_clear_pointer(&text, g_free);

    /* The peer goes away: writes fail with EPIPE, without SIGPIPE, and drop it. */
    g_io_stream_close(G_IO_STREAM(first), NULL, NULL);
    g_object_unref(first);
    for (unsigned i = 0; i < 4; i++)
        chardev_write(chr, big, sizeof(big));

    /* The server takes the next client. */
    second = connect_unix(path);
    for (unsigned i = 0; i < 200; i++) {
        g_main_context_iteration(f->m->context, FALSE);
        g_usleep(100);
    }
    chardev_write(chr, (const uint8_t *)"2", 1);
    text = receive_some(second, 1);
    g_assert_cmpstr(text, ==, "2");
}

static void test_chardev_client(struct fixture *f, gconstpointer data)
{
    g_autofree char *path = g_build_filename(f->dir, "server.sock", NULL);
    g_autofree char *server_spec = g_strdup_printf("unix:%s,server,nowait", path);
    g_autofree char *client_spec = g_strdup_printf("unix:%s", path);
    struct chardev *server = open_chardev(f, server_spec);
    struct chardev *client = open_chardev(f, client_spec);

    make_serial(f, server);
    chardev_write(client, (const uint8_t *)"c", 1);
    g_assert_true(iterate_until(f, data_ready));
    g_assert_cmphex(inb(f, COM1 + RBR), ==, 'c');
}

struct open_job {
    const char *spec;
    GMainContext *context;
    struct chardev *chr;
    GError *error;
};

static gpointer open_in_thread(gpointer data)
{
    struct open_job *job = data;

    job->chr = chardev_open(job->spec, job->context, &job->error);
    return NULL;
}

static void test_chardev_server_wait(struct fixture *f, gconstpointer data)
{
    g_autofree char *path = g_build_filename(f->dir, "wait.sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server", path);
    struct open_job job = { .spec = spec, .context = f->m->context };
    g_autoptr(GSocketConnection) connection = NULL;
    g_autofree char *text = NULL;
    GThread *thread;
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    /* chardev_open blocks until the first client connects. */
    thread = g_thread_new("open", open_in_thread, &job);
    while (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
    g_usleep(10000);
    g_assert_null(job.chr);
    connection = connect_unix(path);
    g_thread_join(thread);
    g_assert_no_error(job.error);
    g_assert_nonnull(job.chr);
    g_ptr_array_add(f->m->chardevs, job.chr);

    chardev_write(job.chr, (const uint8_t *)"w", 1);
    text = receive_some(connection, 1);
    g_assert_cmpstr(text, ==, "w");
}

struct collector {
    GString *text;
    size_t room;
};

static size_t collector_can_receive(void *opaque)
{
    return ((struct collector *)opaque)->room;
}

static void collector_receive(void *opaque, const uint8_t *buf, size_t length)
{
    struct collector *c = opaque;

    g_assert_cmpuint(length, <=, c->room);
    g_string_append_len(c->text, (const char *)buf, length);
}

static struct collector *current_collector;

static bool collected_four(struct fixture *f)
{
    return current_collector->text->len >= 4;
}

/* stdio with pipes in place of the test's stdin and stdout. */
static void test_chardev_stdio(struct fixture *f, gconstpointer data)
{
    struct collector c = { .text = g_string_new(NULL), .room = 1 };
    int saved_stdin = dup(STDIN_FILENO), saved_stdout = dup(STDOUT_FILENO);
    int in_pipe[2], out_pipe[2];
    struct chardev *chr;
    GError *error = NULL;
    char buf[16] = "";

    g_assert_cmpint(pipe(in_pipe), ==, 0);
    g_assert_cmpint(pipe(out_pipe), ==, 0);
    fflush(stdout);
    dup2(in_pipe[0], STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);

    chr = chardev_open("stdio", f->m->context, &error);
    g_assert_no_error(error);
    chardev_write(chr, (const uint8_t *)"out", 3);
    g_assert_cmpint(read(out_pipe[0], buf, sizeof(buf)), ==, 3);
    g_assert_cmpstr(buf, ==, "out");

    /* Input respects can_receive: one byte at a time... */
    chardev_set_receiver(chr, collector_can_receive, collector_receive, &c);
    g_assert_cmpint(write(in_pipe[1], "abcd", 4), ==, 4);
    current_collector = &c;
    g_assert_true(iterate_until(f, collected_four));
    g_assert_cmpstr(c.text->str, ==, "abcd");

    /* ...none while it says 0, until chardev_accept_input. */
    c.room = 0;
    g_string_truncate(c.text, 0);
    g_assert_cmpint(write(in_pipe[1], "efgh", 4), ==, 4);
    for (unsigned i = 0; i < 20; i++)
        g_main_context_iteration(f->m->context, FALSE);
    g_assert_cmpuint(c.text->len, ==, 0);
    c.room = 16;
    chardev_accept_input(chr);
    g_assert_true(iterate_until(f, collected_four));
    g_assert_cmpstr(c.text->str, ==, "efgh");

    /* End of input stops the watch instead of spinning. */
    close(in_pipe[1]);
    for (unsigned i = 0; i < 20; i++)
        g_main_context_iteration(f->m->context, FALSE);
    g_assert_false(g_main_context_pending(f->m->context));

    chardev_close(chr);
    dup2(saved_stdin, STDIN_FILENO);
    dup2(saved_stdout, STDOUT_FILENO);
    close(saved_stdin);
    close(saved_stdout);
    close(in_pipe[0]);
    close(out_pipe[0]);
    close(out_pipe[1]);
    g_string_free(c.text, TRUE);
}

/* --- small devices -------------------------------------------------------- */

static void test_debugcon(struct fixture *f, gconstpointer data)
{
    g_autofree char *path = NULL;
    g_autofree char *spec = file_spec(f, "debugcon.txt", &path);
    struct chardev *chr = open_chardev(f, spec);
    g_autofree char *contents = NULL;
    GError *error = NULL;

    g_assert_nonnull(debugcon_create(f->m, 0x402, chr, &error));
    g_assert_no_error(error);
    g_assert_cmphex(inb(f, 0x402), ==, 0xe9);
    outb(f, 0x402, 'h');
    outb(f, 0x402, 'i');
    contents = read_file(path);
    g_assert_cmpstr(contents, ==, "hi");

    /* Without a back end the port still answers. */
    g_assert_nonnull(debugcon_create(f->m, 0xe9, NULL, &error));
    outb(f, 0xe9, 'x');
    g_assert_cmphex(inb(f, 0xe9), ==, 0xe9);
}

static void test_post_port(struct fixture *f, gconstpointer data)
{
    GError *error = NULL;

    g_assert_nonnull(post_port_create(f->m, &error));
    g_assert_no_error(error);
    outb(f, 0x80, 0x42);
    g_assert_cmphex(inb(f, 0x80), ==, 0x42);
    outb(f, 0x80, 0xaa);
    g_assert_cmphex(inb(f, 0x80), ==, 0xaa);
}

static void test_debug_exit(struct fixture *f, gconstpointer data)
{
    GError *error = NULL;
    int code = -1;

    g_assert_nonnull(debug_exit_create(f->m, 0x501, &error));
    g_assert_no_error(error);
    g_assert_cmpint(machine_take_requests(f->m, &code), ==, MACHINE_REQUEST_NONE);
    g_assert_cmphex(inb(f, 0x501), ==, 0xff);
    outb(f, 0x501, 1);
    g_assert_cmpint(machine_take_requests(f->m, &code), ==, MACHINE_REQUEST_POWEROFF);
    g_assert_cmpint(code, ==, 3);
    outw(f, 0x501, 0x10);
    g_assert_cmpint(machine_take_requests(f->m, &code), ==, MACHINE_REQUEST_POWEROFF);
    g_assert_cmpint(code, ==, 0x21);
    outb(f, 0x501, 0);
    g_assert_cmpint(machine_take_requests(f->m, &code), ==, MACHINE_REQUEST_POWEROFF);
    g_assert_cmpint(code, ==, 1);
}

static struct device *make_acpi_pm(struct fixture *f)
{
    GError *error = NULL;
    struct device *dev = acpi_pm_create(f->m, PM_BASE, &error);

    g_assert_no_error(error);
    g_assert_nonnull(dev);
    return dev;
}

static void test_acpi_pm_timer(struct fixture *f, gconstpointer data)
{
    uint32_t t0, t1, t2;

    make_acpi_pm(f);
    /* Paused clock: the timer stands still. */
    t0 = inl(f, PM_BASE + 8);
    g_usleep(5000);
    g_assert_cmphex(inl(f, PM_BASE + 8), ==, t0);

    vclock_resume(f->m->clock);
    g_usleep(20000);
    t1 = inl(f, PM_BASE + 8);
    /* 20 ms at 3.579545 MHz is 71591 ticks; allow for a slow machine. */
    g_assert_cmpuint((t1 - t0) & 0xffffff, >=, 71000);
    g_assert_cmpuint((t1 - t0) & 0xffffff, <, 0x800000);
    g_assert_cmphex(t1 & 0xff000000, ==, 0);
    vclock_pause(f->m->clock);
    t2 = inl(f, PM_BASE + 8);
    g_usleep(5000);
    g_assert_cmphex(inl(f, PM_BASE + 8), ==, t2);
    /* Byte reads see the same counter. */
    g_assert_cmphex(inb(f, PM_BASE + 8) | (inb(f, PM_BASE + 9) << 8) |
                    (inb(f, PM_BASE + 10) << 16), ==, t2);
    g_assert_cmphex(inb(f, PM_BASE + 11), ==, 0);
}

static void test_acpi_pm_poweroff(struct fixture *f, gconstpointer data)
{
    int code = -1;

    make_acpi_pm(f);
    outw(f, PM_BASE + 4, 0x0001);           /* SCI_EN */
    g_assert_cmphex(inw(f, PM_BASE + 4), ==, 0x0001);
    g_assert_cmpint(machine_take_requests(f->m, &code), ==, MACHINE_REQUEST_NONE);

    /* Other sleep types are logged once and ignored. */
    g_test_expect_message("mimic-acpi-pm", G_LOG_LEVEL_MESSAGE, "*sleep type 5*");
    outw(f, PM_BASE + 4, 0x2000 | (5 << 10));
    outw(f, PM_BASE + 4, 0x2000 | (5 << 10));
    g_test_assert_expected_messages();
    g_assert_cmpint(machine_take_requests(f->m, &code), ==, MACHINE_REQUEST_NONE);
    /* SLP_EN reads back as 0; SLP_TYP stays. */
    g_assert_cmphex(inw(f, PM_BASE + 4), ==, 5 << 10);

    /* SLP_TYP 0 (S5) with SLP_EN: power off with exit status 0. */
    outw(f, PM_BASE + 4, 0x2000);
    g_assert_cmpint(machine_take_requests(f->m, &code), ==, MACHINE_REQUEST_POWEROFF);
    g_assert_cmpint(code, ==, 0);
}

static void test_acpi_pm_power_button(struct fixture *f, gconstpointer data)
{
    struct device *pm = make_acpi_pm(f);

    /* Not enabled: status only. */
    acpi_pm_power_button(pm);
    g_assert_cmphex(inw(f, PM_BASE) & 0x0100, ==, 0x0100);
    g_assert_false(fake_machine_irq_level(f->m, ACPI_PM_SCI_GSI));
    outw(f, PM_BASE, 0x0100);               /* write 1 to clear */
    g_assert_cmphex(inw(f, PM_BASE) & 0x0100, ==, 0);

    outw(f, PM_BASE + 2, 0x0100);           /* PWRBTN_EN */
    g_assert_cmphex(inw(f, PM_BASE + 2), ==, 0x0100);
    acpi_pm_power_button(pm);
    g_assert_true(fake_machine_irq_level(f->m, ACPI_PM_SCI_GSI));
    /* Writing 0 bits clears nothing; a 32-bit write reaches STS and EN. */
    outw(f, PM_BASE, 0x0000);
    g_assert_true(fake_machine_irq_level(f->m, ACPI_PM_SCI_GSI));
    memory_map_dispatch_write(f->m->io, PM_BASE, 4, 0x01000100);
    g_assert_false(fake_machine_irq_level(f->m, ACPI_PM_SCI_GSI));
    g_assert_cmphex(inw(f, PM_BASE + 2), ==, 0x0100);

    /* Reset clears status, enables and control. */
    acpi_pm_power_button(pm);
    g_assert_true(fake_machine_irq_level(f->m, ACPI_PM_SCI_GSI));
    pm->cls->reset(pm);
    g_assert_false(fake_machine_irq_level(f->m, ACPI_PM_SCI_GSI));
    g_assert_cmphex(inw(f, PM_BASE) & 0x0100, ==, 0);
    g_assert_cmphex(inw(f, PM_BASE + 2), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

#define ADD(path, fn) \
    g_test_add(path, struct fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/serial/registers", test_serial_registers);
    ADD("/serial/output", test_serial_output);
    ADD("/serial/loopback", test_serial_loopback);
    ADD("/serial/fifo-trigger", test_serial_fifo_trigger);
    ADD("/serial/interrupt-priority", test_serial_priority);
    ADD("/serial/thre", test_serial_thre);
    ADD("/serial/out2", test_serial_out2);
    ADD("/serial/overrun", test_serial_overrun);
    ADD("/serial/character-timeout", test_serial_timeout);
    ADD("/serial/receive", test_serial_receive);
    ADD("/serial/loopback-drops-input", test_serial_loopback_drops_input);
    ADD("/chardev/errors", test_chardev_errors);
    ADD("/chardev/peer-gone", test_chardev_peer_gone);
    ADD("/chardev/client", test_chardev_client);
    ADD("/chardev/server-wait", test_chardev_server_wait);
    ADD("/chardev/stdio", test_chardev_stdio);
    ADD("/debugcon", test_debugcon);
    ADD("/post-port", test_post_port);
    ADD("/debug-exit", test_debug_exit);
    ADD("/acpi-pm/timer", test_acpi_pm_timer);
    ADD("/acpi-pm/poweroff", test_acpi_pm_poweroff);
    ADD("/acpi-pm/power-button", test_acpi_pm_power_button);
#undef ADD
    return g_test_run();
}
