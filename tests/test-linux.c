/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Debian's kernel with a busybox initramfs on the JIT: to a shell on the
 * serial console by direct boot (with two vCPUs) and from an ISOLINUX CD,
 * commands answered, `poweroff -f` ends Mimic with 0; and a pattern written
 * by the guest to a virtio-blk qcow2 disk and an IDE disk, read back on the
 * host.
 */
#include "tests/mimic-test.h"

#include <string.h>

#define BOOT_TIMEOUT_S 600
#define PROMPT "/ # "

struct console {
    GSubprocess *proc;
    GOutputStream *in;
    GPollableInputStream *out;
    GString *seen;
};

static char *fixture(const char *name)
{
    const char *dir = g_getenv("MIMIC_FIXTURES");

    return g_build_filename(dir ? dir : "build/tests/fixtures", name, NULL);
}

/* NULL if the fixtures were built, else why not. */
static char *fixtures_missing(void)
{
    g_autofree char *path = fixture("status");
    char *status = NULL;

    if (!g_file_get_contents(path, &status, NULL, NULL))
        return g_strdup("Linux fixtures not built (tests/fixtures)");
    g_strchomp(status);
    if (strcmp(status, "ok") == 0) {
        g_free(status);
        return NULL;
    }
    return status;
}

static void console_start(struct console *c, const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;

    g_ptr_array_add(argv, (char *)mimic_test_system());
    for (unsigned i = 0; args[i]; i++)
        g_ptr_array_add(argv, (char *)args[i]);
    g_ptr_array_add(argv, NULL);
    c->proc = g_subprocess_newv((const char *const *)argv->pdata,
                                G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
    g_assert_no_error(error);
    c->in = g_subprocess_get_stdin_pipe(c->proc);
    c->out = G_POLLABLE_INPUT_STREAM(g_subprocess_get_stdout_pipe(c->proc));
    c->seen = g_string_new(NULL);
}

/* Read the console until @needle appears after @from; FALSE on timeout or EOF. */
static gboolean console_wait(struct console *c, gsize from, const char *needle,
                             int timeout_s)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
    char buf[4096];

    while (!strstr(c->seen->str + MIN(from, c->seen->len), needle)) {
        gssize n;

        if (g_get_monotonic_time() > end)
            return FALSE;
        n = g_pollable_input_stream_read_nonblocking(c->out, buf, sizeof(buf),
                                                     NULL, NULL);
        if (n == 0)
            return FALSE;
        if (n < 0) {
            g_usleep(20000);
            continue;
        }
        g_string_append_len(c->seen, buf, n);
    }
    return TRUE;
}

static void console_type(struct console *c, const char *line)
{
    g_autoptr(GError) error = NULL;

    g_output_stream_write_all(c->in, line, strlen(line), NULL, NULL, &error);
    g_assert_no_error(error);
    g_output_stream_flush(c->in, NULL, NULL);
}

/* Run @command at the prompt and wait for @expect in what follows. */
static void console_run(struct console *c, const char *command, const char *expect)
{
    gsize from = c->seen->len;
    g_autofree char *line = g_strconcat(command, "\n", NULL);

    console_type(c, line);
    if (!console_wait(c, from, expect, 120))
        g_error("no \"%s\" after \"%s\"; console:\n%s", expect, command,
                c->seen->str + from);
    if (!console_wait(c, from + strlen(expect), PROMPT, 120))
        g_error("no prompt after \"%s\"", command);
}

static void console_boot(struct console *c, const char *const *args)
{
    gint64 start = g_get_monotonic_time();

    console_start(c, args);
    if (!console_wait(c, 0, "MIMIC-USERSPACE-READY", BOOT_TIMEOUT_S))
        g_error("no userspace after %d s; console:\n%s", BOOT_TIMEOUT_S, c->seen->str);
    g_test_message("userspace after %.1f s", (g_get_monotonic_time() - start) / 1e6);
    console_type(c, "\n");
    g_assert_true(console_wait(c, 0, PROMPT, 120));
}

/* `poweroff -f`: ACPI S5 ends mimic-system with status 0. */
static void console_poweroff(struct console *c)
{
    g_autoptr(GError) error = NULL;

    console_type(c, "poweroff -f\n");
    g_assert_true(g_subprocess_wait(c->proc, NULL, &error));
    g_assert_no_error(error);
    g_assert_true(g_subprocess_get_if_exited(c->proc));
    g_assert_cmpint(g_subprocess_get_exit_status(c->proc), ==, 0);
    g_object_unref(c->proc);
    g_string_free(c->seen, TRUE);
}

static gboolean skip_without_fixtures(void)
{
    g_autofree char *why = fixtures_missing();

    if (why)
        g_test_skip(why);
    return why != NULL;
}

static void test_direct_boot(void)
{
    g_autofree char *kernel = fixture("vmlinuz");
    g_autofree char *initrd = fixture("initramfs.cpio.gz");
    struct console c = { 0 };

    if (skip_without_fixtures())
        return;
    console_boot(&c, (const char *[]){ "-accel", "jit", "-m", "256M", "-nographic",
                                       "-smp", "2", "-kernel", kernel, "-initrd", initrd,
                                       "-append", "console=ttyS0 quiet", NULL });
    console_run(&c, "echo mimic-$((6 * 7))", "mimic-42");
    /* Both vCPUs came up (the JIT runs them on two threads). */
    console_run(&c, "echo cpus-$(grep -c ^processor /proc/cpuinfo)", "cpus-2");
    console_poweroff(&c);
}

static void test_iso_boot(void)
{
    g_autofree char *iso = fixture("linux.iso");
    struct console c = { 0 };

    if (skip_without_fixtures())
        return;
    console_boot(&c, (const char *[]){ "-accel", "jit", "-m", "256M", "-nographic",
                                       "-cdrom", iso, "-boot", "d", NULL });
    console_run(&c, "echo from-the-cd", "from-the-cd");
    console_poweroff(&c);
}

/* 64 sectors of "MIMIC-LINUX-<disk>" lines at sector 100, read back on the host. */
static void test_disks(void)
{
    g_autofree char *kernel = fixture("vmlinuz");
    g_autofree char *initrd = fixture("initramfs.cpio.gz");
    g_autofree char *dir = NULL, *vd = NULL, *hd = NULL, *vd_raw = NULL;
    g_autofree char *vd_drive = NULL, *hd_drive = NULL, *out = NULL;
    g_autofree char *vd_data = NULL, *hd_data = NULL, *err = NULL;
    struct console c = { 0 };
    gsize vd_length, hd_length;
    int status;

    if (skip_without_fixtures())
        return;
    if (!g_find_program_in_path("qemu-img")) {
        g_test_skip("qemu-img is missing (Debian: qemu-utils)");
        return;
    }
    dir = mimic_test_make_dir();
    vd = g_build_filename(dir, "vd.qcow2", NULL);
    hd = g_build_filename(dir, "hd.img", NULL);
    vd_raw = g_build_filename(dir, "vd.raw", NULL);
    g_assert_true(g_spawn_sync(NULL, (char *[]){ "qemu-img", "create", "-q", "-f",
                               "qcow2", vd, "64M", NULL }, NULL,
                               G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                               &status, NULL) && status == 0);
    g_assert_true(g_spawn_sync(NULL, (char *[]){ "qemu-img", "create", "-q", "-f",
                               "raw", hd, "64M", NULL }, NULL,
                               G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                               &status, NULL) && status == 0);
    vd_drive = g_strdup_printf("file=%s,format=qcow2,if=virtio", vd);
    hd_drive = g_strdup_printf("file=%s,format=raw,if=ide,index=0", hd);
    console_boot(&c, (const char *[]){ "-accel", "jit", "-m", "256M", "-nographic",
                                       "-kernel", kernel, "-initrd", initrd,
                                       "-append", "console=ttyS0 quiet",
                                       "-drive", vd_drive, "-drive", hd_drive, NULL });
    console_run(&c, "ls /dev/vda /dev/sda", "/dev/vda");
    console_run(&c, "for d in vda sda; do yes MIMIC-LINUX-$d | head -c 32768 | "
                    "dd of=/dev/$d bs=512 seek=100 conv=fsync 2>/dev/null; done; "
                    "sync; echo written", "written");
    console_poweroff(&c);

    /* The host reads what the guest wrote, through QEMU's own tools. */
    g_assert_true(g_spawn_sync(NULL, (char *[]){ "qemu-img", "check", "-q", vd, NULL },
                               NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                               &status, NULL));
    g_assert_cmpint(status, ==, 0);
    g_assert_true(g_spawn_sync(NULL, (char *[]){ "qemu-img", "convert", "-O", "raw",
                               vd, vd_raw, NULL }, NULL, G_SPAWN_SEARCH_PATH, NULL,
                               NULL, NULL, NULL, &status, NULL) && status == 0);
    g_assert_true(g_file_get_contents(vd_raw, &vd_data, &vd_length, NULL));
    g_assert_true(g_file_get_contents(hd, &hd_data, &hd_length, NULL));
    for (unsigned i = 0; i < 32768; i += 16) {
        g_assert_cmpmem(vd_data + 100 * 512 + i, 16, "MIMIC-LINUX-vda\n", 16);
        g_assert_cmpmem(hd_data + 100 * 512 + i, 16, "MIMIC-LINUX-sda\n", 16);
    }
    /* Mimic's own tool and qemu-io read the same bytes. */
    {
        g_autofree char *mimic_raw = g_build_filename(dir, "vd-mimic.raw", NULL);
        g_autofree char *mimic_img = mimic_test_build_path("app/mimic-img");
        g_autofree char *mimic_data = NULL, *dump = NULL;
        gsize mimic_length;

        g_assert_true(g_spawn_sync(NULL, (char *[]){ mimic_img, "convert", "-O", "raw",
                                   vd, mimic_raw, NULL }, NULL, 0, NULL, NULL,
                                   NULL, NULL, &status, NULL) && status == 0);
        g_assert_true(g_file_get_contents(mimic_raw, &mimic_data, &mimic_length, NULL));
        g_assert_cmpuint(mimic_length, ==, vd_length);
        g_assert_cmpmem(mimic_data, mimic_length, vd_data, vd_length);
        if (g_find_program_in_path("qemu-io")) {
            g_assert_true(g_spawn_sync(NULL, (char *[]){ "qemu-io", "-r", "-f", "qcow2",
                                       "-c", "read -v 51200 16", vd, NULL }, NULL,
                                       G_SPAWN_SEARCH_PATH, NULL, NULL, &dump, NULL,
                                       &status, NULL) && status == 0);
            /* "MIMIC-LINUX-vda\n" in qemu-io's hex dump of sector 100. */
            g_assert_nonnull(strstr(dump, "4d 49 4d 49 43 2d 4c 49 4e 55 58 2d 76 64 61 0a"));
        }
    }
    /* Nothing around it was touched. */
    g_assert_cmpint(vd_data[100 * 512 - 1], ==, 0);
    g_assert_cmpint(hd_data[100 * 512 + 32768], ==, 0);
    mimic_test_remove_dir(g_steal_pointer(&dir));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/linux/jit/direct-boot", test_direct_boot);
    g_test_add_func("/linux/jit/iso-boot", test_iso_boot);
    g_test_add_func("/linux/jit/virtio-and-ide-disks", test_disks);
    return g_test_run();
}
