/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mimic-system: run one VM headless with QEMU-style flags; the exit status
 * is the guest's power-off code.
 */
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>

#include "app/system-options.h"
#include "engine/qmp.h"
#include "engine/vm.h"

struct app {
    GMainLoop *loop;
    MimicVm *vm;
    int exit_code;
    gboolean quitting;
};

static gboolean quit_loop(gpointer data)
{
    struct app *app = data;

    g_main_loop_quit(app->loop);
    return G_SOURCE_REMOVE;
}

/* Low priority, so replies already queued (QMP "quit") go out first. */
static void finish(struct app *app, int exit_code)
{
    if (app->quitting)
        return;
    app->quitting = TRUE;
    app->exit_code = exit_code;
    g_idle_add_full(G_PRIORITY_LOW, quit_loop, app, NULL);
}

static void on_event(MimicVm *vm, const MimicEvent *event, gpointer user_data)
{
    struct app *app = user_data;

    if (event->kind == MIMIC_EVENT_QUIT) {
        finish(app, 0);
    } else if (event->kind == MIMIC_EVENT_STATE_CHANGED) {
        if (event->new_state == MIMIC_VM_SHUTDOWN) {
            finish(app, event->exit_code);
        } else if (event->new_state == MIMIC_VM_FAILED) {
            g_printerr("mimic-system: the virtual machine stopped after an "
                       "accelerator error\n");
            finish(app, 1);
        }
    }
}

static void on_start_reply(MimicVm *vm, MimicCommand command,
                           const GError *error, gpointer user_data)
{
    struct app *app = user_data;

    if (error) {
        g_printerr("mimic-system: cannot start the VM: %s\n", error->message);
        finish(app, 1);
    }
}

static gboolean on_signal(gpointer data)
{
    struct app *app = data;

    g_printerr("mimic-system: terminating on signal\n");
    finish(app, 0);
    return G_SOURCE_CONTINUE;
}

static void on_qmp_quit(gpointer data)
{
    finish(data, 0);
}

int main(int argc, char **argv)
{
    struct system_options opts;
    struct app app = { 0 };
    struct qmp_server *qmp = NULL;
    g_autoptr(GError) error = NULL;

    /* A closed stdout or log pipe must not kill the VM. */
    signal(SIGPIPE, SIG_IGN);
    if (!system_options_parse(argc, argv, &opts, &error)) {
        g_printerr("mimic-system: %s\n", error->message);
        system_options_clear(&opts);
        return 1;
    }
    if (opts.show_help || opts.show_version) {
        if (opts.show_help)
            system_options_print_help();
        else
            printf("mimic-system %s\n", MIMIC_VERSION);
        system_options_clear(&opts);
        return 0;
    }

    app.loop = g_main_loop_new(NULL, FALSE);
    app.vm = mimic_vm_new(g_steal_pointer(&opts.config), &error);
    if (!app.vm) {
        g_printerr("mimic-system: %s\n", error->message);
        system_options_clear(&opts);
        return 1;
    }
    mimic_vm_subscribe(app.vm, on_event, &app);
    if (opts.qmp) {
        qmp = qmp_server_new(app.vm, opts.qmp, on_qmp_quit, &app, &error);
        if (!qmp) {
            g_printerr("mimic-system: %s\n", error->message);
            mimic_vm_free(app.vm);
            system_options_clear(&opts);
            return 1;
        }
    }
    g_unix_signal_add(SIGINT, on_signal, &app);
    g_unix_signal_add(SIGTERM, on_signal, &app);
    g_unix_signal_add(SIGHUP, on_signal, &app);
    if (!opts.start_paused)
        mimic_vm_send(app.vm, MIMIC_COMMAND_START, on_start_reply, &app);

    g_main_loop_run(app.loop);

    qmp_server_free(qmp);
    mimic_vm_free(app.vm);
    g_main_loop_unref(app.loop);
    system_options_clear(&opts);
    return app.exit_code;
}
