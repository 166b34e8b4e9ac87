/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers for tests that run mimic-system as a child process. */
#include "tests/mimic-test.h"

#include <errno.h>
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
    w.proc = g_subprocess_newv((const char *const *)argv->pdata,
                               G_SUBPROCESS_FLAGS_STDIN_PIPE |
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                               G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
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
