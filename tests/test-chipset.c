/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the PC's legacy chips: the MC146818 RTC/CMOS and the 8042
 * keyboard controller with its PS/2 keyboard and mouse, on a hand-built
 * machine whose virtual clock runs in real time.
 */
#include <linux/input-event-codes.h>

#include "engine/clock.h"
#include "engine/machine.h"
#include "engine/memory.h"
#include "fake-machine.h"
#include "hw/device.h"
#include "hw/input/i8042.h"
#include "hw/x86/rtc.h"

#define NS_PER_SEC INT64_C(1000000000)

struct fixture {
    struct machine *m;
    struct device *rtc;
    struct device *kbc;
};

static void fixture_setup(struct fixture *f, gconstpointer data)
{
    struct machine *m = fake_machine_new(0, FAKE_MACHINE_RAM_FLAT);
    GError *error = NULL;

    f->m = m;
    f->rtc = rtc_create(m, &error);
    g_assert_no_error(error);
    f->kbc = i8042_create(m, &error);
    g_assert_no_error(error);
    vclock_resume(m->clock);
}

static void fixture_teardown(struct fixture *f, gconstpointer data)
{
    fake_machine_free(f->m);
}

static uint8_t inb(struct fixture *f, uint16_t port)
{
    uint64_t v;

    memory_map_dispatch_read(f->m->io, port, 1, &v);
    return v;
}

static void outb(struct fixture *f, uint16_t port, uint8_t v)
{
    memory_map_dispatch_write(f->m->io, port, 1, v);
}

static uint8_t cmos_read(struct fixture *f, uint8_t index)
{
    outb(f, 0x70, index);
    return inb(f, 0x71);
}

static void cmos_write(struct fixture *f, uint8_t index, uint8_t value)
{
    outb(f, 0x70, index);
    outb(f, 0x71, value);
}

static gboolean wake_up(gpointer data)
{
    return G_SOURCE_REMOVE;
}

/* Run the engine's timers until @done or @timeout_ms of real time pass. */
static void run_until(struct fixture *f, bool (*done)(struct fixture *f),
                      unsigned timeout_ms)
{
    int64_t end = g_get_monotonic_time() + timeout_ms * 1000;

    while (!done(f) && g_get_monotonic_time() < end) {
        GSource *timeout = g_timeout_source_new(10);

        g_source_set_callback(timeout, wake_up, NULL, NULL);
        g_source_attach(timeout, f->m->context);
        g_main_context_iteration(f->m->context, TRUE);
        g_source_destroy(timeout);
        g_source_unref(timeout);
    }
}

/* --- RTC --- */

static unsigned from_bcd(uint8_t v)
{
    return (v >> 4) * 10 + (v & 0xf);
}

static void test_rtc_time(struct fixture *f, gconstpointer data)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autoptr(GDateTime) rtc_time = NULL;
    unsigned century;

    /* Wait out an update cycle, as firmware does. */
    while (cmos_read(f, 0x0a) & 0x80)
        ;
    century = from_bcd(cmos_read(f, 0x32));
    rtc_time = g_date_time_new_utc(century * 100 + from_bcd(cmos_read(f, 0x09)),
                                   from_bcd(cmos_read(f, 0x08)),
                                   from_bcd(cmos_read(f, 0x07)),
                                   from_bcd(cmos_read(f, 0x04)),
                                   from_bcd(cmos_read(f, 0x02)),
                                   from_bcd(cmos_read(f, 0x00)));
    g_assert_nonnull(rtc_time);
    g_assert_cmpint(ABS(g_date_time_difference(rtc_time, now)), <=,
                    2 * G_TIME_SPAN_SECOND);
    g_assert_cmpuint(from_bcd(cmos_read(f, 0x06)), ==,
                     g_date_time_get_day_of_week(rtc_time) % 7 + 1);
    g_assert_cmphex(cmos_read(f, 0x0a), ==, 0x26);
    g_assert_cmphex(cmos_read(f, 0x0b), ==, 0x02);
    g_assert_cmphex(cmos_read(f, 0x0d), ==, 0x80);
    /* Binary mode shows the same seconds in binary. */
    cmos_write(f, 0x0b, 0x06);
    g_assert_cmpuint(cmos_read(f, 0x00), <, 60);
    g_assert_cmpuint(cmos_read(f, 0x32), ==, century);
}

static void set_time_bcd(struct fixture *f, uint8_t b, uint8_t century,
                         uint8_t year, uint8_t month, uint8_t day, uint8_t hour,
                         uint8_t min, uint8_t sec)
{
    cmos_write(f, 0x0b, b | 0x80);              /* SET: freeze updates */
    cmos_write(f, 0x32, century);
    cmos_write(f, 0x09, year);
    cmos_write(f, 0x08, month);
    cmos_write(f, 0x07, day);
    cmos_write(f, 0x04, hour);
    cmos_write(f, 0x02, min);
    cmos_write(f, 0x00, sec);
}

static bool second_changed(struct fixture *f)
{
    return cmos_read(f, 0x00) != 0x59;
}

static void test_rtc_set_and_rollover(struct fixture *f, gconstpointer data)
{
    /* 2024-02-29 (a Thursday) 23:59:59, BCD, 24 hours. */
    set_time_bcd(f, 0x02, 0x20, 0x24, 0x02, 0x29, 0x23, 0x59, 0x59);
    g_usleep(20000);
    g_assert_cmphex(cmos_read(f, 0x00), ==, 0x59);    /* frozen by SET */
    g_assert_cmphex(cmos_read(f, 0x0a) & 0x80, ==, 0); /* no UIP while SET */
    cmos_write(f, 0x0b, 0x02);
    g_assert_cmphex(cmos_read(f, 0x04), ==, 0x23);
    g_assert_cmphex(cmos_read(f, 0x06), ==, 0x05);
    run_until(f, second_changed, 1500);
    g_assert_cmphex(cmos_read(f, 0x00), ==, 0x00);
    g_assert_cmphex(cmos_read(f, 0x02), ==, 0x00);
    g_assert_cmphex(cmos_read(f, 0x04), ==, 0x00);
    g_assert_cmphex(cmos_read(f, 0x07), ==, 0x01);
    g_assert_cmphex(cmos_read(f, 0x08), ==, 0x03);
    g_assert_cmphex(cmos_read(f, 0x09), ==, 0x24);
    g_assert_cmphex(cmos_read(f, 0x06), ==, 0x06);    /* Friday */

    /* 12-hour mode: 1 PM reads as 0x81 with the PM bit. */
    set_time_bcd(f, 0x00, 0x20, 0x99, 0x12, 0x31, 0x81, 0x30, 0x00);
    cmos_write(f, 0x0b, 0x00);
    g_assert_cmphex(cmos_read(f, 0x04), ==, 0x81);
    cmos_write(f, 0x0b, 0x02);                  /* now 24 hours */
    g_assert_cmphex(cmos_read(f, 0x04), ==, 0x13);
    /* Binary. */
    cmos_write(f, 0x0b, 0x06);
    g_assert_cmpuint(cmos_read(f, 0x04), ==, 13);
    g_assert_cmpuint(cmos_read(f, 0x09), ==, 99);
    g_assert_cmpuint(cmos_read(f, 0x32), ==, 20);
}

static bool uip_set(struct fixture *f)
{
    return cmos_read(f, 0x0a) & 0x80;
}

static void test_rtc_uip(struct fixture *f, gconstpointer data)
{
    int64_t start = g_get_monotonic_time();
    uint8_t before;

    /* The "wait for UIP to rise, then fall" loop finishes within a second. */
    while (uip_set(f))
        ;
    before = cmos_read(f, 0x00);
    while (!uip_set(f))
        g_assert_cmpint(g_get_monotonic_time() - start, <, 1500000);
    while (uip_set(f))
        g_assert_cmpint(g_get_monotonic_time() - start, <, 1600000);
    /* The update happened inside the UIP window. */
    g_assert_cmphex(cmos_read(f, 0x00), !=, before);
}

static bool rtc_irq_three_times(struct fixture *f)
{
    if (fake_machine_irq_level(f->m, 8)) {
        g_assert_cmphex(cmos_read(f, 0x0c) & 0xc0, ==, 0xc0);
        g_assert_false(fake_machine_irq_level(f->m, 8));
    }
    return fake_machine_irq_edges(f->m, 8) >= 3;
}

static void test_rtc_periodic(struct fixture *f, gconstpointer data)
{
    int64_t start;

    cmos_read(f, 0x0c);
    g_assert_false(fake_machine_irq_level(f->m, 8));
    /* Rate 6 = 1024 Hz; PF comes even without PIE, and raises nothing. */
    g_usleep(2000);
    g_assert_cmphex(cmos_read(f, 0x0c) & 0x40, ==, 0x40);
    vclock_pause(f->m->clock);                  /* no time passes: no PF */
    g_assert_cmphex(cmos_read(f, 0x0c) & 0x40, ==, 0);
    vclock_resume(f->m->clock);
    g_assert_cmpuint(fake_machine_irq_edges(f->m, 8), ==, 0);
    start = g_get_monotonic_time();
    cmos_write(f, 0x0b, 0x42);
    run_until(f, rtc_irq_three_times, 1000);
    g_assert_cmpuint(fake_machine_irq_edges(f->m, 8), >=, 3);
    g_assert_cmpint(g_get_monotonic_time() - start, <, 500000);
    /* Rate 0 stops it; reset clears PIE. */
    cmos_write(f, 0x0a, 0x20);
    cmos_read(f, 0x0c);
    g_usleep(3000);
    g_assert_cmphex(cmos_read(f, 0x0c) & 0x40, ==, 0);
    cmos_write(f, 0x0a, 0x26);
    fake_machine_reset_devices(f->m);
    g_assert_cmphex(cmos_read(f, 0x0b), ==, 0x02);
    g_assert_false(fake_machine_irq_level(f->m, 8));
}

static bool rtc_irq(struct fixture *f)
{
    return fake_machine_irq_level(f->m, 8);
}

static void test_rtc_update_and_alarm(struct fixture *f, gconstpointer data)
{
    uint8_t c;

    /* Alarm "don't care" in all three: every second. */
    cmos_write(f, 0x01, 0xff);
    cmos_write(f, 0x03, 0xff);
    cmos_write(f, 0x05, 0xff);
    cmos_read(f, 0x0c);
    cmos_write(f, 0x0b, 0x32);                  /* AIE, UIE, 24 hours */
    run_until(f, rtc_irq, 1500);
    g_assert_true(fake_machine_irq_level(f->m, 8));
    c = cmos_read(f, 0x0c);
    g_assert_cmphex(c & 0xb0, ==, 0xb0);        /* IRQF, AF, UF */
    g_assert_false(fake_machine_irq_level(f->m, 8));
    g_assert_cmphex(cmos_read(f, 0x0c) & 0xb0, ==, 0);

    /* An alarm that does not match gives UF only. */
    cmos_write(f, 0x0b, 0x12);
    cmos_write(f, 0x05, 0x25);                  /* hour 25 never comes */
    run_until(f, rtc_irq, 1500);
    g_assert_cmphex(cmos_read(f, 0x0c) & 0xb0, ==, 0x90);   /* PF may be set */
    /* SET clears UIE. */
    cmos_write(f, 0x0b, 0x92);
    g_assert_cmphex(cmos_read(f, 0x0b), ==, 0x82);
}

static void test_cmos_config(struct fixture *f, gconstpointer data)
{
    GError *error = NULL;

    rtc_set_memory_size(f->rtc, UINT64_C(3) << 30, UINT64_C(1) << 30);
    g_assert_cmphex(cmos_read(f, 0x15) | cmos_read(f, 0x16) << 8, ==, 640);
    g_assert_cmphex(cmos_read(f, 0x17) | cmos_read(f, 0x18) << 8, ==, 0xffff);
    g_assert_cmphex(cmos_read(f, 0x30) | cmos_read(f, 0x31) << 8, ==, 0xffff);
    g_assert_cmphex(cmos_read(f, 0x34) | cmos_read(f, 0x35) << 8, ==, 0xbf00);
    g_assert_cmphex(cmos_read(f, 0x5b), ==, 0x00);
    g_assert_cmphex(cmos_read(f, 0x5c), ==, 0x40);
    g_assert_cmphex(cmos_read(f, 0x5d), ==, 0x00);
    rtc_set_memory_size(f->rtc, 32 << 20, 0);
    g_assert_cmphex(cmos_read(f, 0x17) | cmos_read(f, 0x18) << 8, ==, 31 * 1024);
    g_assert_cmphex(cmos_read(f, 0x34) | cmos_read(f, 0x35) << 8, ==, 0x100);
    g_assert_cmphex(cmos_read(f, 0x5c), ==, 0);
    {
        unsigned sum = 0;

        for (unsigned i = 0x10; i < 0x2e; i++)
            sum += cmos_read(f, i);
        g_assert_cmphex(cmos_read(f, 0x2e) << 8 | cmos_read(f, 0x2f), ==, sum);
    }
    rtc_set_cpu_count(f->rtc, 4);
    g_assert_cmphex(cmos_read(f, 0x5f), ==, 3);

    g_assert_cmpint(rtc_set_boot_order(f->rtc, "cd", &error), ==, 0);
    g_assert_cmphex(cmos_read(f, 0x3d), ==, 0x32);
    g_assert_cmphex(cmos_read(f, 0x38), ==, 0x00);
    g_assert_cmpint(rtc_set_boot_order(f->rtc, "dca", &error), ==, 0);
    g_assert_cmphex(cmos_read(f, 0x3d), ==, 0x23);
    g_assert_cmphex(cmos_read(f, 0x38), ==, 0x10);
    g_assert_cmpint(rtc_set_boot_order(f->rtc, "cx", &error), ==, -1);
    g_assert_nonnull(error);
    g_clear_error(&error);
    g_assert_cmpint(rtc_set_boot_order(f->rtc, "cdnc", &error), ==, -1);
    g_clear_error(&error);

    /* General CMOS RAM keeps what the guest writes, across reset. */
    cmos_write(f, 0x80 | 0x40, 0xa5);           /* with the NMI mask bit */
    fake_machine_reset_devices(f->m);
    g_assert_cmphex(cmos_read(f, 0x40), ==, 0xa5);
    g_assert_cmphex(rtc_get_cmos(f->rtc, 0x40), ==, 0xa5);
    /* C and D are read-only. */
    cmos_write(f, 0x0d, 0x00);
    g_assert_cmphex(cmos_read(f, 0x0d), ==, 0x80);
}

/* --- i8042 and PS/2 --- */

#define ST_OBF 0x01
#define ST_AUX 0x20

/* The next byte in the output buffer; @aux: whether it is the mouse's. */
static uint8_t kbc_read(struct fixture *f, bool aux)
{
    uint8_t status = inb(f, 0x64);

    g_assert_cmphex(status & ST_OBF, ==, ST_OBF);
    g_assert_cmphex(status & ST_AUX, ==, aux ? ST_AUX : 0);
    return inb(f, 0x60);
}

static void expect_bytes(struct fixture *f, bool aux, const uint8_t *bytes,
                         unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        g_assert_cmphex(kbc_read(f, aux), ==, bytes[i]);
    g_assert_cmphex(inb(f, 0x64) & ST_OBF, ==, 0);
}

#define EXPECT(f, aux, ...) do { \
        static const uint8_t bytes_[] = { __VA_ARGS__ }; \
        expect_bytes(f, aux, bytes_, sizeof(bytes_)); \
    } while (0)

static void kbc_command(struct fixture *f, uint8_t cmd)
{
    outb(f, 0x64, cmd);
}

static void kbc_command_data(struct fixture *f, uint8_t cmd, uint8_t data)
{
    outb(f, 0x64, cmd);
    outb(f, 0x60, data);
}

static void test_i8042_controller(struct fixture *f, gconstpointer data)
{
    g_assert_cmphex(inb(f, 0x64) & (ST_OBF | 0x04), ==, 0);
    kbc_command(f, 0xaa);
    g_assert_cmphex(inb(f, 0x64) & 0x0d, ==, 0x0d);   /* OBF, SYS, command */
    EXPECT(f, false, 0x55);
    kbc_command(f, 0xab);
    EXPECT(f, false, 0x00);
    kbc_command(f, 0xa9);
    EXPECT(f, false, 0x00);
    /* Command byte read and write. */
    kbc_command(f, 0x20);
    EXPECT(f, false, 0x07);
    kbc_command_data(f, 0x60, 0x47);
    kbc_command(f, 0x20);
    EXPECT(f, false, 0x47);
    /* A reply raises IRQ 1 while its interrupt is enabled. */
    kbc_command_data(f, 0x60, 0x44);
    kbc_command(f, 0xab);
    g_assert_false(fake_machine_irq_level(f->m, 1));
    EXPECT(f, false, 0x00);
    kbc_command_data(f, 0x60, 0x45);
    kbc_command(f, 0xab);
    g_assert_true(fake_machine_irq_level(f->m, 1));
    EXPECT(f, false, 0x00);
    g_assert_false(fake_machine_irq_level(f->m, 1));
    /* Output buffer writes come back as keyboard or mouse bytes. */
    kbc_command_data(f, 0x60, 0x47);
    kbc_command_data(f, 0xd2, 0x12);
    g_assert_true(fake_machine_irq_level(f->m, 1));
    EXPECT(f, false, 0x12);
    kbc_command_data(f, 0xd3, 0x34);
    g_assert_true(fake_machine_irq_level(f->m, 12));
    EXPECT(f, true, 0x34);
    g_assert_false(fake_machine_irq_level(f->m, 12));
    /* Unknown commands are logged and ignored. */
    g_test_expect_message("mimic-i8042", G_LOG_LEVEL_MESSAGE, "*0x01*");
    kbc_command(f, 0x01);
    g_test_assert_expected_messages();
}

static void test_i8042_reset_and_a20(struct fixture *f, gconstpointer data)
{
    struct machine *m = f->m;

    g_assert_true(i8042_a20_enabled(f->kbc));
    kbc_command(f, 0xd0);
    EXPECT(f, false, 0x03);
    kbc_command_data(f, 0xd1, 0x01);                /* A20 off */
    g_assert_false(i8042_a20_enabled(f->kbc));
    g_assert_cmpint(machine_take_requests(m, NULL), ==, MACHINE_REQUEST_NONE);
    kbc_command(f, 0xdf);
    g_assert_true(i8042_a20_enabled(f->kbc));
    kbc_command(f, 0xdd);
    g_assert_false(i8042_a20_enabled(f->kbc));
    kbc_command(f, 0xff);                           /* pulse nothing */
    g_assert_cmpint(machine_take_requests(m, NULL), ==, MACHINE_REQUEST_NONE);
    kbc_command(f, 0xfe);                           /* pulse reset */
    g_assert_cmpint(machine_take_requests(m, NULL), ==, MACHINE_REQUEST_RESET);
    kbc_command_data(f, 0xd1, 0x02);                /* reset line low */
    g_assert_cmpint(machine_take_requests(m, NULL), ==, MACHINE_REQUEST_RESET);
    fake_machine_reset_devices(f->m);
    g_assert_true(i8042_a20_enabled(f->kbc));
}

static void test_ps2_keyboard(struct fixture *f, gconstpointer data)
{
    /* Reset: ACK then BAT passed. */
    outb(f, 0x60, 0xff);
    g_assert_true(fake_machine_irq_level(f->m, 1));
    EXPECT(f, false, 0xfa, 0xaa);
    g_assert_false(fake_machine_irq_level(f->m, 1));
    outb(f, 0x60, 0xf2);
    EXPECT(f, false, 0xfa, 0xab, 0x83);
    outb(f, 0x60, 0xee);
    EXPECT(f, false, 0xee);
    outb(f, 0x60, 0xed);
    EXPECT(f, false, 0xfa);
    outb(f, 0x60, 0x07);
    EXPECT(f, false, 0xfa);
    outb(f, 0x60, 0xf3);
    outb(f, 0x60, 0x20);
    EXPECT(f, false, 0xfa, 0xfa);
    outb(f, 0x60, 0xf0);
    outb(f, 0x60, 0x00);
    EXPECT(f, false, 0xfa, 0xfa, 0x02);
    outb(f, 0x60, 0x42);                            /* not a command */
    EXPECT(f, false, 0xfe);

    /* Keys in set 2: make, break, extended. */
    i8042_key_event(f->kbc, KEY_A, true);
    g_assert_true(fake_machine_irq_level(f->m, 1));
    EXPECT(f, false, 0x1c);
    i8042_key_event(f->kbc, KEY_A, false);
    EXPECT(f, false, 0xf0, 0x1c);
    i8042_key_event(f->kbc, KEY_UP, true);
    i8042_key_event(f->kbc, KEY_UP, false);
    EXPECT(f, false, 0xe0, 0x75, 0xe0, 0xf0, 0x75);

    /* Translation (command byte bit 6) gives set 1. */
    kbc_command_data(f, 0x60, 0x47);
    i8042_key_event(f->kbc, KEY_A, true);
    i8042_key_event(f->kbc, KEY_A, false);
    EXPECT(f, false, 0x1e, 0x9e);
    i8042_key_event(f->kbc, KEY_UP, true);
    i8042_key_event(f->kbc, KEY_UP, false);
    EXPECT(f, false, 0xe0, 0x48, 0xe0, 0xc8);
    i8042_key_event(f->kbc, KEY_SYSRQ, true);
    EXPECT(f, false, 0xe0, 0x2a, 0xe0, 0x37);
    i8042_key_event(f->kbc, KEY_PAUSE, true);
    i8042_key_event(f->kbc, KEY_PAUSE, false);
    EXPECT(f, false, 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5);
    outb(f, 0x60, 0xf2);
    EXPECT(f, false, 0xfa, 0xab, 0x41);

    /* Set 1 chosen in the keyboard, no translation. */
    kbc_command_data(f, 0x60, 0x07);
    outb(f, 0x60, 0xf0);
    outb(f, 0x60, 0x01);
    EXPECT(f, false, 0xfa, 0xfa);
    i8042_key_event(f->kbc, KEY_ENTER, true);
    i8042_key_event(f->kbc, KEY_ENTER, false);
    EXPECT(f, false, 0x1c, 0x9c);

    /* A disabled interface holds the bytes; a disabled keyboard drops keys. */
    kbc_command(f, 0xad);
    i8042_key_event(f->kbc, KEY_B, true);
    g_assert_cmphex(inb(f, 0x64) & ST_OBF, ==, 0);
    kbc_command(f, 0xae);
    EXPECT(f, false, 0x30);
    outb(f, 0x60, 0xf5);
    EXPECT(f, false, 0xfa);
    i8042_key_event(f->kbc, KEY_B, false);
    g_assert_cmphex(inb(f, 0x64) & ST_OBF, ==, 0);
    outb(f, 0x60, 0xf4);
    EXPECT(f, false, 0xfa);
    i8042_key_event(f->kbc, KEY_B, false);         /* set 2 again after F5 */
    EXPECT(f, false, 0xf0, 0x32);
}

static void mouse_command(struct fixture *f, uint8_t byte)
{
    kbc_command_data(f, 0xd4, byte);
}

static void test_ps2_mouse(struct fixture *f, gconstpointer data)
{
    mouse_command(f, 0xff);
    g_assert_true(fake_machine_irq_level(f->m, 12));
    EXPECT(f, true, 0xfa, 0xaa, 0x00);
    g_assert_false(fake_machine_irq_level(f->m, 12));
    mouse_command(f, 0xf2);
    EXPECT(f, true, 0xfa, 0x00);
    /* Not reporting yet: motion is dropped. */
    i8042_mouse_event(f->kbc, 5, 5, 0, 0);
    g_assert_cmphex(inb(f, 0x64) & ST_OBF, ==, 0);
    mouse_command(f, 0xf4);
    EXPECT(f, true, 0xfa);

    /* Right 10, down 5, left button: PS/2 Y grows upwards. */
    i8042_mouse_event(f->kbc, 10, 5, 0, I8042_BUTTON_LEFT);
    g_assert_true(fake_machine_irq_level(f->m, 12));
    EXPECT(f, true, 0x29, 0x0a, 0xfb);
    g_assert_false(fake_machine_irq_level(f->m, 12));
    /* A long move is split into packets of at most 255. */
    i8042_mouse_event(f->kbc, 300, 0, 0, I8042_BUTTON_LEFT);
    EXPECT(f, true, 0x09, 0xff, 0x00, 0x09, 0x2d, 0x00);
    /* Buttons alone make a packet. */
    i8042_mouse_event(f->kbc, 0, 0, 0, I8042_BUTTON_RIGHT | I8042_BUTTON_MIDDLE);
    EXPECT(f, true, 0x0e, 0x00, 0x00);

    /* Status request: stream, enabled, scaling 1:1, right+middle held. */
    mouse_command(f, 0xe8);
    mouse_command(f, 0x03);
    EXPECT(f, true, 0xfa, 0xfa);
    mouse_command(f, 0xe9);
    EXPECT(f, true, 0xfa, 0x23, 0x03, 100);

    /* IntelliMouse: sample rates 200, 100, 80 turn on the wheel (ID 3). */
    mouse_command(f, 0xf3);
    mouse_command(f, 200);
    mouse_command(f, 0xf3);
    mouse_command(f, 100);
    mouse_command(f, 0xf3);
    mouse_command(f, 80);
    EXPECT(f, true, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa);
    mouse_command(f, 0xf2);
    EXPECT(f, true, 0xfa, 0x03);
    i8042_mouse_event(f->kbc, -1, -1, 1, 0);         /* wheel up: Z = -1 */
    EXPECT(f, true, 0x18, 0xff, 0x01, 0xff);

    /* A disabled aux interface holds the packet. */
    kbc_command(f, 0xa7);
    i8042_mouse_event(f->kbc, 1, 0, 0, 0);
    g_assert_cmphex(inb(f, 0x64) & ST_OBF, ==, 0);
    kbc_command(f, 0xa8);
    EXPECT(f, true, 0x08, 0x01, 0x00, 0x00);
    /* Disable reporting; remote mode reads on request. */
    mouse_command(f, 0xf5);
    EXPECT(f, true, 0xfa);
    i8042_mouse_event(f->kbc, 3, 0, 0, 0);
    g_assert_cmphex(inb(f, 0x64) & ST_OBF, ==, 0);
    mouse_command(f, 0xf0);
    EXPECT(f, true, 0xfa);
    i8042_mouse_event(f->kbc, 3, 0, 0, 0);
    g_assert_cmphex(inb(f, 0x64) & ST_OBF, ==, 0);
    mouse_command(f, 0xeb);
    EXPECT(f, true, 0xfa, 0x08, 0x03, 0x00, 0x00);
    /* With both waiting, keyboard bytes come first. */
    kbc_command(f, 0xa7);
    mouse_command(f, 0xea);
    i8042_key_event(f->kbc, KEY_ESC, true);
    kbc_command(f, 0xa8);
    g_assert_cmphex(kbc_read(f, false), ==, 0x76);
    EXPECT(f, true, 0xfa);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) \
    g_test_add(name, struct fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/rtc/time", test_rtc_time);
    ADD("/rtc/set-and-rollover", test_rtc_set_and_rollover);
    ADD("/rtc/uip", test_rtc_uip);
    ADD("/rtc/periodic", test_rtc_periodic);
    ADD("/rtc/update-and-alarm", test_rtc_update_and_alarm);
    ADD("/rtc/cmos-config", test_cmos_config);
    ADD("/i8042/controller", test_i8042_controller);
    ADD("/i8042/reset-and-a20", test_i8042_reset_and_a20);
    ADD("/i8042/keyboard", test_ps2_keyboard);
    ADD("/i8042/mouse", test_ps2_mouse);
#undef ADD
    return g_test_run();
}
