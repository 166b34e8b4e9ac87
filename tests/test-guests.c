/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test guests (tests/guests/) on KVM through mimic-system: serial output,
 * PIT timer interrupts through the in-kernel irqchip, power-off exit codes,
 * unassigned I/O logged once, and the serial back ends.
 */
#include "tests/mimic-test.h"

#include <gio/gunixsocketaddress.h>
#include <string.h>

#define GUEST_TIMEOUT 240

static char *guest(const char *name)
{
    g_autofree char *file = g_strconcat("tests/guests/", name, ".bin", NULL);

    return mimic_test_build_path(file);
}

static gboolean skip_without_kvm(void)
{
    const char *why = mimic_test_kvm_unusable();

    if (why)
        g_test_skip(why);
    return why != NULL;
}

static void check_ticks(const char *out, const char *banner)
{
    const char *p;

    if (!strstr(out, banner))
        g_error("banner \"%s\" missing from guest output:\n%s", banner, out);
    p = strstr(out, banner);
    /* The ticks come in order, after the banner, then "done". */
    p = strstr(p, "tick 1");
    g_assert_nonnull(p);
    p = strstr(p, "tick 2");
    g_assert_nonnull(p);
    p = strstr(p, "tick 3");
    g_assert_nonnull(p);
    g_assert_nonnull(strstr(p, "done"));
    g_assert_null(strstr(out, "exception"));
}

static void run_tick_guest(const char *name, const char *banner, const char *smp)
{
    g_autofree char *bin = guest(name);
    struct run_result r;

    if (skip_without_kvm())
        return;
    mimic_test_run((const char *[]){ "-accel", "kvm", "-m", "16M", "-smp", smp,
                                     "-nographic", "-bios", bin, "-no-reboot",
                                     "-device", "isa-debug-exit,iobase=0x501",
                                     NULL },
                   GUEST_TIMEOUT, &r);
    g_assert_false(r.timed_out);
    g_assert_cmpint(r.status, ==, 0);
    check_ticks(r.out, banner);
    run_result_clear(&r);
}

static void test_real_mode(void)
{
    run_tick_guest("real-mode", "mimic real-mode guest", "1");
}

/*
 * The guest turns on 32-bit paging; a CPU that refuses it (this host's
 * software KVM, PVM, raises #GP) makes it say so and run unpaged.
 */
static void test_protected_mode(void)
{
    run_tick_guest("protected-mode", "mimic protected-mode guest", "1");
}

static void test_long_mode(void)
{
    run_tick_guest("long-mode", "mimic long-mode guest", "1");
}

/* Application processors wait for INIT/SIPI; the BSP runs the guest alone. */
static void test_long_mode_smp(void)
{
    run_tick_guest("long-mode", "mimic long-mode guest", "2");
}

static void test_bad_io(void)
{
    g_autofree char *bin = guest("bad-io");
    struct run_result r;

    if (skip_without_kvm())
        return;
    mimic_test_run((const char *[]){ "-m", "16M", "-nographic", "-bios", bin,
                                     "-no-reboot", "-device",
                                     "isa-debug-exit,iobase=0x501", NULL },
                   GUEST_TIMEOUT, &r);
    g_assert_false(r.timed_out);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "bad-io: port 0x1234 reads ff"));
    g_assert_nonnull(strstr(r.out, "bad-io: mmio reads ffffffff"));
    g_assert_nonnull(strstr(r.out, "done"));
    g_assert_null(strstr(r.out, "FAIL"));
    /* Each unassigned address is logged once, however often it is hit. */
    g_assert_cmpuint(count_occurrences(r.err, "unassigned 0x1234 "), ==, 1);
    g_assert_cmpuint(count_occurrences(r.err, "unassigned 0x1235 "), ==, 1);
    g_assert_cmpuint(count_occurrences(r.err, "unassigned 0xfeb00000 "), ==, 1);
    run_result_clear(&r);
}

static void test_serial_file(void)
{
    g_autofree char *bin = guest("real-mode");
    g_autofree char *dir = mimic_test_make_dir();
    g_autofree char *path = g_build_filename(dir, "com1.txt", NULL);
    g_autofree char *spec = g_strconcat("file:", path, NULL);
    g_autofree char *contents = NULL;
    struct run_result r;

    if (skip_without_kvm())
        goto out;
    mimic_test_run((const char *[]){ "-m", "16M", "-display", "none", "-serial",
                                     spec, "-bios", bin, NULL },
                   GUEST_TIMEOUT, &r);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpstr(r.out, ==, "");
    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    check_ticks(contents, "mimic real-mode guest");
    run_result_clear(&r);
out:
    mimic_test_remove_dir(g_steal_pointer(&dir));
}

/* A unix socket server back end: mimic-system waits for the client, like QEMU. */
static void test_serial_unix_socket(void)
{
    g_autofree char *bin = guest("real-mode");
    g_autofree char *dir = mimic_test_make_dir();
    g_autofree char *path = g_build_filename(dir, "com1.sock", NULL);
    g_autofree char *spec = g_strconcat("unix:", path, ",server", NULL);
    g_autoptr(GSubprocess) proc = NULL;
    g_autoptr(GSocket) socket = NULL;
    g_autoptr(GSocketAddress) address = NULL;
    g_autoptr(GString) received = g_string_new(NULL);
    g_autoptr(GError) error = NULL;
    char buf[256];
    gssize n;

    if (skip_without_kvm())
        goto out;
    proc = mimic_test_spawn((const char *[]){ "-m", "16M", "-display", "none",
                                              "-serial", spec, "-bios", bin, NULL },
                            dir);
    socket = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, &error);
    g_assert_no_error(error);
    address = g_unix_socket_address_new(path);
    for (int tries = 0; !g_socket_connect(socket, address, NULL, NULL); tries++) {
        g_assert_cmpint(tries, <, 300);
        g_usleep(100000);
    }
    g_socket_set_timeout(socket, GUEST_TIMEOUT);
    while ((n = g_socket_receive(socket, buf, sizeof(buf), NULL, NULL)) > 0)
        g_string_append_len(received, buf, n);
    g_assert_true(g_subprocess_wait_check(proc, NULL, &error));
    g_assert_no_error(error);
    check_ticks(received->str, "mimic real-mode guest");
out:
    mimic_test_remove_dir(g_steal_pointer(&dir));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/guests/kvm/real-mode", test_real_mode);
    g_test_add_func("/guests/kvm/protected-mode-paging", test_protected_mode);
    g_test_add_func("/guests/kvm/long-mode", test_long_mode);
    g_test_add_func("/guests/kvm/long-mode-smp2", test_long_mode_smp);
    g_test_add_func("/guests/kvm/bad-io-keeps-running", test_bad_io);
    g_test_add_func("/guests/serial/file", test_serial_file);
    g_test_add_func("/guests/serial/unix-socket", test_serial_unix_socket);
    return g_test_run();
}
