/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers for tests that run mimic-system as a child process. */
#include "tests/mimic-test.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <gio/gunixsocketaddress.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

const char *mimic_test_system(void)
{
    const char *path = g_getenv("MIMIC_SYSTEM");

    return path ? path : "build/app/mimic-system";
}

char *mimic_test_build_path(const char *relative)
{
    const char *root = g_getenv("MIMIC_BUILD_ROOT");

    return g_build_filename(root ? root : "build", relative, NULL);
}

char *mimic_test_make_dir(void)
{
    g_autoptr(GError) error = NULL;
    char *dir = g_dir_make_tmp("mimic-test-XXXXXX", &error);

    g_assert_no_error(error);
    return dir;
}

void mimic_test_remove_dir(char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);

        g_unlink(path);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
    g_free(dir);
}

const char *mimic_test_kvm_unusable(void)
{
    static char reason[256];
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        g_snprintf(reason, sizeof(reason), "/dev/kvm cannot be opened: %s",
                   g_strerror(errno));
        return reason;
    }
    close(fd);
    return NULL;
}

/* A child outlives nothing: if the test dies on an assertion, so does it. */
static void die_with_parent(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

struct wait_state {
    GMainLoop *loop;
    struct run_result *r;
    GSubprocess *proc;
    gboolean done;
};

static void on_communicated(GObject *source, GAsyncResult *result, gpointer data)
{
    struct wait_state *w = data;
    g_autoptr(GError) error = NULL;

    g_subprocess_communicate_utf8_finish(G_SUBPROCESS(source), result, &w->r->out,
                                         &w->r->err, &error);
    w->done = TRUE;
    g_main_loop_quit(w->loop);
}

static gboolean on_timeout(gpointer data)
{
    struct wait_state *w = data;

    w->r->timed_out = TRUE;
    g_subprocess_force_exit(w->proc);
    return G_SOURCE_REMOVE;
}

void mimic_test_run(const char *const *args, int timeout_s, struct run_result *r)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    GMainContext *context = g_main_context_new();
    struct wait_state w = { .r = r };
    GSource *timeout;

    memset(r, 0, sizeof(*r));
    g_ptr_array_add(argv, (char *)mimic_test_system());
    for (unsigned i = 0; args[i]; i++)
        g_ptr_array_add(argv, (char *)args[i]);
    g_ptr_array_add(argv, NULL);

    g_main_context_push_thread_default(context);
    w.loop = g_main_loop_new(context, FALSE);
    {
        g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
            G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
            G_SUBPROCESS_FLAGS_STDERR_PIPE);

        g_subprocess_launcher_set_child_setup(launcher, die_with_parent, NULL, NULL);
        w.proc = g_subprocess_launcher_spawnv(launcher,
                                              (const char *const *)argv->pdata,
                                              &error);
    }
    g_assert_no_error(error);
    g_subprocess_communicate_utf8_async(w.proc, NULL, NULL, on_communicated, &w);
    timeout = g_timeout_source_new_seconds(timeout_s);
    g_source_set_callback(timeout, on_timeout, &w, NULL);
    g_source_attach(timeout, context);
    if (!w.done)
        g_main_loop_run(w.loop);
    g_source_destroy(timeout);
    g_source_unref(timeout);
    g_subprocess_wait(w.proc, NULL, NULL);
    r->status = g_subprocess_get_if_exited(w.proc)
                    ? g_subprocess_get_exit_status(w.proc) : -1;
    if (!r->out)
        r->out = g_strdup("");
    if (!r->err)
        r->err = g_strdup("");
    g_object_unref(w.proc);
    g_main_loop_unref(w.loop);
    g_main_context_pop_thread_default(context);
    g_main_context_unref(context);
    if (r->timed_out || r->status != 0)
        g_test_message("mimic-system exited %d%s\nstdout:\n%s\nstderr:\n%s",
                       r->status, r->timed_out ? " (timed out)" : "", r->out,
                       r->err);
}

GSubprocess *mimic_test_spawn(const char *const *args, const char *dir)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GSubprocessLauncher) launcher =
        g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE);
    g_autofree char *out = g_build_filename(dir, "stdout", NULL);
    g_autofree char *err = g_build_filename(dir, "stderr", NULL);
    g_autoptr(GError) error = NULL;
    GSubprocess *proc;

    g_ptr_array_add(argv, (char *)mimic_test_system());
    for (unsigned i = 0; args[i]; i++)
        g_ptr_array_add(argv, (char *)args[i]);
    g_ptr_array_add(argv, NULL);
    g_subprocess_launcher_set_child_setup(launcher, die_with_parent, NULL, NULL);
    g_subprocess_launcher_set_stdout_file_path(launcher, out);
    g_subprocess_launcher_set_stderr_file_path(launcher, err);
    proc = g_subprocess_launcher_spawnv(launcher,
                                        (const char *const *)argv->pdata, &error);
    g_assert_no_error(error);
    return proc;
}

void run_result_clear(struct run_result *r)
{
    g_clear_pointer(&r->out, g_free);
    g_clear_pointer(&r->err, g_free);
}

unsigned count_occurrences(const char *haystack, const char *needle)
{
    unsigned n = 0;

    for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* ---- QMP client ---- */

void qmp_connect(struct qmp *q, const char *path)
{
    g_autoptr(GSocketAddress) address = g_unix_socket_address_new(path);
    g_autoptr(GError) error = NULL;

    q->socket = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, &error);
    g_assert_no_error(error);
    q->buffer = g_string_new(NULL);
    q->events = g_ptr_array_new_with_free_func(g_free);
    for (int tries = 0; !g_socket_connect(q->socket, address, NULL, NULL); tries++) {
        g_assert_cmpint(tries, <, 300);
        g_usleep(100000);
    }
    g_socket_set_timeout(q->socket, 120);
}

void qmp_close(struct qmp *q)
{
    g_clear_object(&q->socket);
    if (q->buffer)
        g_string_free(q->buffer, TRUE);
    q->buffer = NULL;
    g_clear_pointer(&q->events, g_ptr_array_unref);
}

JsonObject *qmp_read(struct qmp *q)
{
    for (;;) {
        char *nl = strchr(q->buffer->str, '\n');
        char buf[4096];
        gssize n;

        if (nl) {
            g_autoptr(JsonParser) parser = json_parser_new();
            g_autofree char *line = g_strndup(q->buffer->str, nl - q->buffer->str);
            g_autoptr(GError) error = NULL;

            g_string_erase(q->buffer, 0, nl - q->buffer->str + 1);
            if (!json_parser_load_from_data(parser, line, -1, &error))
                g_error("QMP sent invalid JSON \"%s\": %s", line, error->message);
            return json_object_ref(json_node_get_object(json_parser_get_root(parser)));
        }
        n = g_socket_receive(q->socket, buf, sizeof(buf), NULL, NULL);
        g_assert_cmpint(n, >, 0);
        g_string_append_len(q->buffer, buf, n);
    }
}

void qmp_send_raw(struct qmp *q, const char *text)
{
    g_assert_cmpint(g_socket_send(q->socket, text, strlen(text), NULL, NULL), ==,
                    (gssize)strlen(text));
}

/* Send @text and return the reply, keeping events that come before it. */
JsonObject *qmp_call(struct qmp *q, const char *text)
{
    qmp_send_raw(q, text);
    for (;;) {
        JsonObject *o = qmp_read(q);

        if (json_object_has_member(o, "event")) {
            g_ptr_array_add(q->events,
                            g_strdup(json_object_get_string_member(o, "event")));
            json_object_unref(o);
            continue;
        }
        return o;
    }
}

void qmp_ok(struct qmp *q, const char *text)
{
    JsonObject *o = qmp_call(q, text);

    if (!json_object_has_member(o, "return"))
        g_error("QMP %s failed: %s", text,
                json_object_has_member(o, "error")
                    ? json_object_get_string_member(
                          json_object_get_object_member(o, "error"), "desc")
                    : "?");
    json_object_unref(o);
}

char *qmp_error_class(struct qmp *q, const char *text)
{
    JsonObject *o = qmp_call(q, text);
    char *klass;

    g_assert_true(json_object_has_member(o, "error"));
    klass = g_strdup(json_object_get_string_member(
        json_object_get_object_member(o, "error"), "class"));
    json_object_unref(o);
    return klass;
}

