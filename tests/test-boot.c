/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Boot tests of real software: Debian's SeaBIOS boots Debian's GRUB rescue
 * ISO from the IDE CD-ROM to the GRUB menu, read from the VGA text screen
 * over QMP, and the screen is saved as a PNG.
 */
#include "tests/mimic-test.h"

#include <string.h>

#define GRUB_ISO "/usr/lib/grub-rescue/grub-rescue-cdrom.iso"
#define MENU_TIMEOUT_S 300

static char *text_screen(struct qmp *q)
{
    JsonObject *o = qmp_call(q, "{\"execute\": \"x-query-text-screen\"}");
    char *text = NULL;

    if (json_object_has_member(o, "return"))
        text = g_strdup(json_object_get_string_member(
            json_object_get_object_member(o, "return"), "text"));
    json_object_unref(o);
    return text;
}

/* PNG signature, then IHDR's big-endian width and height (PNG spec 11.2.2). */
static void check_png(const char *path, guint32 width, guint32 height)
{
    g_autofree guint8 *data = NULL;
    gsize length;

    g_assert_true(g_file_get_contents(path, (char **)&data, &length, NULL));
    g_assert_cmpuint(length, >, 33);
    g_assert_cmpmem(data, 8, "\x89PNG\r\n\x1a\n", 8);
    g_assert_cmpmem(data + 12, 4, "IHDR", 4);
    g_assert_cmpuint(GUINT32_FROM_BE(*(guint32 *)(data + 16)), ==, width);
    g_assert_cmpuint(GUINT32_FROM_BE(*(guint32 *)(data + 20)), ==, height);
}

/* Wait until the text screen shows @needle; the screen, or NULL on timeout. */
static char *wait_for_text(struct qmp *q, const char *needle, int timeout_s)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;

    while (g_get_monotonic_time() < end) {
        char *text = text_screen(q);

        if (text && strstr(text, needle))
            return text;
        g_free(text);
        g_usleep(300000);
    }
    return NULL;
}

static void send_key(struct qmp *q, const char *key)
{
    g_autofree char *cmd = g_strdup_printf(
        "{\"execute\": \"send-key\", \"arguments\": {\"keys\": "
        "[{\"type\": \"qcode\", \"data\": \"%s\"}], \"hold-time\": 50}}", key);

    qmp_ok(q, cmd);
    g_usleep(150000);
}

/*
 * @keyboard: also type into GRUB. Not on this host's KVM (PVM), which never
 * delivers 8259 interrupts once the local APIC is enabled with LINT0 in
 * ExtINT mode, as SeaBIOS sets it up (QEMU on the same host cannot type
 * into SeaBIOS either); hardware KVM does.
 */
static void boot_grub(const char *accel, gboolean keyboard)
{
    g_autofree char *dir = mimic_test_make_dir();
    g_autofree char *sock = g_build_filename(dir, "qmp.sock", NULL);
    g_autofree char *png = g_build_filename(dir, "grub.png", NULL);
    g_autofree char *qmp_spec = g_strconcat("unix:", sock, ",server,nowait", NULL);
    g_autofree char *dump = g_strdup_printf("{\"execute\": \"screendump\", "
                                            "\"arguments\": {\"filename\": \"%s\"}}",
                                            png);
    g_autoptr(GSubprocess) proc = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;
    struct qmp q = { 0 };
    JsonObject *greeting;
    gint64 start;

    if (!g_file_test(GRUB_ISO, G_FILE_TEST_EXISTS)) {
        g_test_skip(GRUB_ISO " is missing (Debian package grub-rescue-pc)");
        goto out;
    }
    start = g_get_monotonic_time();
    proc = mimic_test_spawn((const char *[]){ "-accel", accel, "-m", "128M",
                                              "-display", "none", "-serial", "null",
                                              "-cdrom", GRUB_ISO, "-boot", "d",
                                              "-qmp", qmp_spec, NULL }, dir);
    qmp_connect(&q, sock);
    greeting = qmp_read(&q);
    json_object_unref(greeting);
    qmp_ok(&q, "{\"execute\": \"qmp_capabilities\"}");
    while ((g_get_monotonic_time() - start) / G_USEC_PER_SEC < MENU_TIMEOUT_S) {
        g_free(text);
        text = text_screen(&q);
        if (text && strstr(text, "GNU GRUB") && strstr(text, "Use the"))
            break;
        g_usleep(500000);
    }
    if (!text || !strstr(text, "GNU GRUB"))
        g_error("no GRUB menu after %d s; the screen shows:\n%s", MENU_TIMEOUT_S,
                text ? text : "(not text mode)");
    g_test_message("GRUB menu on %s after %.1f s", accel,
                   (g_get_monotonic_time() - start) / 1e6);
    g_assert_nonnull(strstr(text, "SeaBIOS") ? text : strstr(text, "GRUB"));
    qmp_ok(&q, dump);
    check_png(png, 720, 400);
    if (!keyboard)
        goto quit;

    /* The keyboard reaches GRUB: "c" opens its command line, where it echoes. */
    send_key(&q, "c");
    g_free(text);
    text = wait_for_text(&q, "grub>", 120);
    if (!text)
        g_error("GRUB did not open its command line after the key \"c\"");
    for (const char *k = "echo"; *k; k++) {
        char key[2] = { *k, 0 };

        send_key(&q, key);
    }
    send_key(&q, "spc");
    send_key(&q, "m");
    send_key(&q, "i");
    send_key(&q, "m");
    send_key(&q, "i");
    send_key(&q, "c");
    send_key(&q, "ret");
    g_free(text);
    text = wait_for_text(&q, "\nmimic", 120);
    if (!text)
        g_error("GRUB did not echo the typed line");
quit:
    qmp_ok(&q, "{\"execute\": \"quit\"}");
    g_assert_true(g_subprocess_wait_check(proc, NULL, &error));
    qmp_close(&q);
out:
    mimic_test_remove_dir(g_steal_pointer(&dir));
}

static void test_grub_kvm(void)
{
    if (mimic_test_kvm_unusable()) {
        g_test_skip(mimic_test_kvm_unusable());
        return;
    }
    boot_grub("kvm", FALSE);
}

static void test_grub_jit(void)
{
    boot_grub("jit", TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/boot/jit/grub-rescue-cdrom-menu-and-keyboard", test_grub_jit);
    g_test_add_func("/boot/kvm/grub-rescue-cdrom-menu", test_grub_kvm);
    return g_test_run();
}
