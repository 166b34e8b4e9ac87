/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mimic-system's flags: help, version, and a clear error for each bad flag. */
#include "tests/mimic-test.h"

#include <string.h>
#include <unistd.h>

static void expect_error(const char *const *args, const char *message)
{
    struct run_result r;

    mimic_test_run(args, 30, &r);
    g_assert_false(r.timed_out);
    g_assert_cmpint(r.status, ==, 1);
    if (!strstr(r.err, message))
        g_error("expected \"%s\" in stderr, got: %s", message, r.err);
    g_assert_cmpuint(count_occurrences(r.err, "\n"), ==, 1); /* one clear line */
    run_result_clear(&r);
}

static void test_help(void)
{
    struct run_result r;

    mimic_test_run((const char *[]){ "--help", NULL }, 30, &r);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "usage: mimic-system"));
    g_assert_nonnull(strstr(r.out, "-qmp"));
    run_result_clear(&r);
    mimic_test_run((const char *[]){ "-version", NULL }, 30, &r);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_true(g_str_has_prefix(r.out, "mimic-system "));
    run_result_clear(&r);
}

static void test_bad_flags(void)
{
    expect_error((const char *[]){ "-frobnicate", NULL }, "-frobnicate: invalid option");
    expect_error((const char *[]){ "stray", NULL }, "stray: unexpected argument");
    expect_error((const char *[]){ "-m", NULL }, "-m: requires an argument");
    expect_error((const char *[]){ "-m", "lots", NULL }, "-m: \"lots\" is not a size");
    expect_error((const char *[]){ "-m", "1K", NULL }, "-m: 1K is out of range");
    expect_error((const char *[]){ "-m", "size=64M,colour=red", NULL },
                 "-m: unknown option \"colour\"");
    expect_error((const char *[]){ "-smp", "0", NULL }, "-smp: \"0\": give a CPU count");
    expect_error((const char *[]){ "-smp", "many", NULL }, "-smp: \"many\"");
    expect_error((const char *[]){ "-accel", "xen", NULL },
                 "-accel: unknown accelerator \"xen\"");
    expect_error((const char *[]){ "-M", "q35", NULL }, "-machine: unknown machine \"q35\"");
    expect_error((const char *[]){ "-device", "e1000", NULL },
                 "-device: unknown device \"e1000\"");
    expect_error((const char *[]){ "-device", "loader,file=x", NULL },
                 "-device loader: needs addr=");
    expect_error((const char *[]){ "-device", "loader,addr=0x1000,data=5,data-len=3", NULL },
                 "data-len=1|2|4|8");
    expect_error((const char *[]){ "-device", "isa-debug-exit,iobase=0x10000", NULL },
                 "iobase=0x10000 is not an I/O port");
    expect_error((const char *[]){ "-display", "gtk", NULL }, "-display: \"gtk\" is not available");
    expect_error((const char *[]){ "-cdrom", "a.iso", "-hdc", "b.img", NULL },
                 "-hdc: IDE index 2 (secondary master) is already used");
    expect_error((const char *[]){ "-drive", "file=a,if=scsi", NULL },
                 "-drive: if=scsi: known interfaces are ide and virtio");
    expect_error((const char *[]){ "-drive", "file=a,format=vmdk", NULL },
                 "-drive: format=vmdk");
    expect_error((const char *[]){ "-drive", "file=a,index=7", NULL },
                 "-drive: index=7: IDE indexes are 0 to 3");
    expect_error((const char *[]){ "-drive", "if=virtio", NULL }, "-drive: a disk needs file=");
    expect_error((const char *[]){ "-drive", "file=a,if=virtio,media=cdrom", NULL },
                 "media=cdrom needs if=ide");
    expect_error((const char *[]){ "-initrd", "initrd.img", NULL },
                 "-initrd: only allowed with -kernel");
    expect_error((const char *[]){ "-boot", "order=xyz", NULL }, "-boot: order=xyz");
    expect_error((const char *[]){ "-boot", "menu=maybe", NULL }, "-boot: menu=maybe");
    expect_error((const char *[]){ "-vga", "cirrus", NULL }, "-vga: \"cirrus\" is not available");
}

static void test_bad_setup(void)
{
    g_autofree char *dir = mimic_test_make_dir();
    g_autofree char *odd = g_build_filename(dir, "odd.bin", NULL);

    g_file_set_contents(odd, "short", 5, NULL);
    expect_error((const char *[]){ "-bios", "/nonexistent/bios.bin", NULL },
                 "cannot read the firmware");
    expect_error((const char *[]){ "-bios", odd, NULL }, "must be a multiple of 64 KiB");
    expect_error((const char *[]){ "-accel", "nosuch", NULL }, "unknown accelerator \"nosuch\"");
    expect_error((const char *[]){ "-serial", "telnet:foo", NULL }, "-serial telnet:foo");
    mimic_test_remove_dir(g_steal_pointer(&dir));
}

/*
 * /dev/kvm missing, not a KVM device, or not permitted: each gets a clear
 * error. The device is hidden in a private mount namespace (needs root).
 */
/* Run the real-mode guest after @setup in a private mount namespace; exit status. */
static int run_in_namespace(const char *setup, const char *wrapper,
                            const char *flags, char **out, char **err)
{
    g_autofree char *bios = mimic_test_build_path("tests/guests/real-mode.bin");
    g_autofree char *script = g_strdup_printf("%s && exec %s \"$0\" %s "
                                              "-bios \"$1\" -nographic", setup,
                                              wrapper, flags);
    const char *argv[] = { "unshare", "-m", "sh", "-c", script,
                           mimic_test_system(), bios, NULL };
    g_autoptr(GSubprocess) proc = NULL;
    g_autoptr(GError) error = NULL;

    proc = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                             G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
    g_assert_no_error(error);
    g_subprocess_communicate_utf8(proc, NULL, NULL, out, err, &error);
    g_assert_no_error(error);
    return g_subprocess_get_exit_status(proc);
}

/* With -accel kvm the VM does not start, and the error says why. */
static void run_with_dev(const char *setup, const char *wrapper,
                         const char *message)
{
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint(run_in_namespace(setup, wrapper, "-accel kvm", &out, &err), ==, 1);
    if (!strstr(err, message))
        g_error("expected \"%s\" in stderr, got: %s", message, err);
}

static gboolean can_unshare(void)
{
    g_autofree char *err = NULL;
    int status = -1;

    if (getuid() != 0) {
        g_test_skip("hiding /dev/kvm needs root (a private mount namespace)");
        return FALSE;
    }
    if (!g_spawn_command_line_sync("unshare -m true", NULL, &err, &status, NULL) ||
        status != 0) {
        g_test_skip("unshare -m does not work here");
        return FALSE;
    }
    return TRUE;
}

static void test_kvm_errors(void)
{
    if (!can_unshare())
        return;
    run_with_dev("d=$(mktemp -d) && mount -t tmpfs none $d && mount --bind $d /dev",
                 "", "mimic-system: /dev/kvm does not exist");
    run_with_dev("mount --bind /dev/null /dev/kvm", "",
                 "mimic-system: /dev/kvm is not a KVM device");
    /* Without -accel, a VM falls back to the JIT and says why. */
    {
        g_autofree char *out = NULL, *err = NULL;

        g_assert_cmpint(run_in_namespace("mount --bind /dev/null /dev/kvm", "",
                                         "-m 16M", &out, &err), ==, 0);
        g_assert_nonnull(strstr(err, "not a KVM device"));
        g_assert_nonnull(strstr(err, "running on the JIT"));
        g_assert_nonnull(strstr(out, "tick 3"));
    }
    /* A private /dev/kvm node of mode 0600: an ordinary user is refused. */
    run_with_dev("d=$(mktemp -d) && mount -t tmpfs none $d && "
                 "mknod -m 600 $d/kvm c 10 232 && mount --bind $d/kvm /dev/kvm",
                 "setpriv --reuid=65534 --regid=65534 --clear-groups",
                 "permission denied opening /dev/kvm");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/options/help-and-version", test_help);
    g_test_add_func("/options/bad-flags", test_bad_flags);
    g_test_add_func("/options/bad-setup", test_bad_setup);
    g_test_add_func("/options/kvm-unusable", test_kvm_errors);
    return g_test_run();
}
