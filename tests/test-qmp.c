/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP end to end: a running guest is paused (the virtual clock and the
 * guest's output stand still), resumed, reset and quit over the socket.
 */
#include "tests/mimic-test.h"

#include <string.h>

static char *qmp_status(struct qmp *q)
{
    JsonObject *o = qmp_call(q, "{\"execute\": \"query-status\"}");
    char *status = g_strdup(json_object_get_string_member(
        json_object_get_object_member(o, "return"), "status"));

    json_object_unref(o);
    return status;
}

static gint64 qmp_clock(struct qmp *q)
{
    JsonObject *o = qmp_call(q, "{\"execute\": \"x-query-virtual-clock\"}");
    gint64 ns = json_object_get_int_member(json_object_get_object_member(o, "return"),
                                           "ns");

    json_object_unref(o);
    return ns;
}

/* Wait (reading events) until @name has arrived. */
static void qmp_wait_event(struct qmp *q, const char *name)
{
    for (;;) {
        for (unsigned i = 0; i < q->events->len; i++)
            if (strcmp(g_ptr_array_index(q->events, i), name) == 0) {
                g_ptr_array_remove_index(q->events, i);
                return;
            }
        JsonObject *o = qmp_read(q);

        g_assert_true(json_object_has_member(o, "event"));
        g_ptr_array_add(q->events, g_strdup(json_object_get_string_member(o, "event")));
        json_object_unref(o);
    }
}

static char *read_file(const char *path)
{
    char *contents = NULL;

    if (!g_file_get_contents(path, &contents, NULL, NULL))
        contents = g_strdup("");
    return contents;
}

static void wait_for_output(const char *path, const char *needle, unsigned count)
{
    for (int tries = 0; tries < 2400; tries++) {
        g_autofree char *s = read_file(path);

        if (count_occurrences(s, needle) >= count)
            return;
        g_usleep(50000);
    }
    g_error("guest output never showed \"%s\" %u times", needle, count);
}

static void test_pause_resume_reset_quit(void)
{
    g_autofree char *bin = mimic_test_build_path("tests/guests/ticker.bin");
    g_autofree char *dir = mimic_test_make_dir();
    g_autofree char *sock = g_build_filename(dir, "qmp.sock", NULL);
    g_autofree char *out = g_build_filename(dir, "com1.txt", NULL);
    g_autofree char *qmp_spec = g_strconcat("unix:", sock, ",server,nowait", NULL);
    g_autofree char *serial = g_strconcat("file:", out, NULL);
    g_autoptr(GSubprocess) proc = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *status = NULL, *klass = NULL;
    g_autofree char *before = NULL, *after = NULL;
    struct qmp q = { 0 };
    JsonObject *greeting;
    gint64 c1, c2, c3;

    if (mimic_test_kvm_unusable()) {
        g_test_skip(mimic_test_kvm_unusable());
        goto out;
    }
    proc = mimic_test_spawn((const char *[]){ "-m", "16M", "-display", "none",
                                              "-serial", serial, "-bios", bin,
                                              "-qmp", qmp_spec, NULL }, dir);
    qmp_connect(&q, sock);

    greeting = qmp_read(&q);
    g_assert_true(json_object_has_member(greeting, "QMP"));
    json_object_unref(greeting);
    klass = qmp_error_class(&q, "{\"execute\": \"query-status\"}");
    g_assert_cmpstr(klass, ==, "CommandNotFound");
    qmp_ok(&q, "{\"execute\": \"qmp_capabilities\"}");
    g_clear_pointer(&klass, g_free);
    klass = qmp_error_class(&q, "{\"execute\": \"no-such-command\"}");
    g_assert_cmpstr(klass, ==, "CommandNotFound");
    g_clear_pointer(&klass, g_free);
    klass = qmp_error_class(&q, "{\"execute\" 1}\n");
    g_assert_cmpstr(klass, ==, "GenericError");

    wait_for_output(out, "tick 2", 1);
    status = qmp_status(&q);
    g_assert_cmpstr(status, ==, "running");
    g_clear_pointer(&status, g_free);

    /* Pause: the clock and the guest stand still. */
    qmp_ok(&q, "{\"execute\": \"stop\", \"id\": 7}");
    qmp_wait_event(&q, "STOP");
    status = qmp_status(&q);
    g_assert_cmpstr(status, ==, "paused");
    g_clear_pointer(&status, g_free);
    c1 = qmp_clock(&q);
    before = read_file(out);
    g_usleep(700000);
    c2 = qmp_clock(&q);
    after = read_file(out);
    g_assert_cmpint(c1, ==, c2);
    g_assert_cmpstr(before, ==, after);
    qmp_ok(&q, "{\"execute\": \"stop\"}"); /* stopping a stopped VM is fine */

    /* Resume: the clock goes on from where it stopped, the guest too. */
    qmp_ok(&q, "{\"execute\": \"cont\"}");
    qmp_wait_event(&q, "RESUME");
    g_usleep(300000);
    c3 = qmp_clock(&q);
    g_assert_cmpint(c3, >, c2);
    g_assert_cmpint(c3 - c2, <, 60 * G_GINT64_CONSTANT(1000000000));
    g_clear_pointer(&before, g_free);
    before = read_file(out);
    {
        /* A tick later than the last one before the pause arrives. */
        unsigned ticks = count_occurrences(before, "tick ");

        wait_for_output(out, "tick ", ticks + 1);
    }

    /* The power button is pressed (this guest ignores the SCI and runs on). */
    qmp_ok(&q, "{\"execute\": \"system_powerdown\"}");
    status = qmp_status(&q);
    g_assert_cmpstr(status, ==, "running");
    g_clear_pointer(&status, g_free);

    /* Input: well-formed events are taken, malformed ones named. */
    qmp_ok(&q, "{\"execute\": \"send-key\", \"arguments\": {\"keys\": "
               "[{\"type\": \"qcode\", \"data\": \"ctrl\"}, "
               "{\"type\": \"qcode\", \"data\": \"alt\"}], \"hold-time\": 10}}");
    g_clear_pointer(&klass, g_free);
    klass = qmp_error_class(&q, "{\"execute\": \"send-key\", \"arguments\": "
                                "{\"keys\": [{\"type\": \"qcode\", "
                                "\"data\": \"no-such-key\"}]}}");
    g_assert_cmpstr(klass, ==, "GenericError");
    qmp_ok(&q, "{\"execute\": \"input-send-event\", \"arguments\": {\"events\": "
               "[{\"type\": \"rel\", \"data\": {\"axis\": \"x\", \"value\": 5}}, "
               "{\"type\": \"btn\", \"data\": {\"down\": true, "
               "\"button\": \"left\"}}]}}");
    g_clear_pointer(&klass, g_free);
    klass = qmp_error_class(&q, "{\"execute\": \"input-send-event\", "
                                "\"arguments\": {\"events\": [{\"type\": "
                                "\"abs\", \"data\": {}}]}}");
    g_assert_cmpstr(klass, ==, "GenericError");
    g_clear_pointer(&klass, g_free);
    klass = qmp_error_class(&q, "{\"execute\": \"screendump\"}");
    g_assert_cmpstr(klass, ==, "GenericError");

    /* Reset: the guest starts over and prints its banner again. */
    qmp_ok(&q, "{\"execute\": \"system_reset\"}");
    qmp_wait_event(&q, "RESET");
    wait_for_output(out, "mimic ticker guest", 2);

    qmp_ok(&q, "{\"execute\": \"quit\"}");
    g_assert_true(g_subprocess_wait_check(proc, NULL, &error));
    g_assert_no_error(error);

    qmp_close(&q);
out:
    mimic_test_remove_dir(g_steal_pointer(&dir));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qmp/pause-resume-reset-quit", test_pause_resume_reset_quit);
    return g_test_run();
}
