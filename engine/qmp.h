/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A control socket in the QMP style (JSON over a unix socket), so tests,
 * scripts and other tools drive a running VM the way they drive QEMU.
 */
#pragma once

#include <glib.h>

#include "engine/vm.h"

struct qmp_server;

typedef void (*qmp_quit_fn)(gpointer user_data);

/*
 * @spec: "unix:PATH,server[,nowait|,wait=off]". Runs in the caller's
 * thread-default main context. @on_quit is called when a client sends quit
 * (after the reply has been written).
 */
struct qmp_server *qmp_server_new(MimicVm *vm, const char *spec,
                                  qmp_quit_fn on_quit, gpointer user_data,
                                  GError **error);
void qmp_server_free(struct qmp_server *server);
