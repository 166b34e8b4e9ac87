/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Thread-safe command queue: a GAsyncQueue drained by a GSource in the target
 * context; replies travel back to each sender's own main context.
 */
#define G_LOG_DOMAIN "mimic-engine"

#include "engine/command-queue.h"

#include <gio/gio.h>

struct command {
    int kind;
    void *payload;
    GDestroyNotify payload_free;
    command_reply_fn reply;
    void *user_data;
    GMainContext *reply_context;
    int64_t result;
    GError *error;
};

struct command_queue {
    GAsyncQueue *queue;         /* struct command * */
    GSource *source;
    GMainContext *target;
    command_handler_fn handler;
    void *opaque;
};

static void command_free(struct command *cmd)
{
    if (cmd->payload_free)
        cmd->payload_free(cmd->payload);
    g_clear_error(&cmd->error);
    g_main_context_unref(cmd->reply_context);
    g_free(cmd);
}

static gboolean deliver_reply(gpointer data)
{
    struct command *cmd = data;

    if (cmd->reply)
        cmd->reply(cmd->kind, cmd->result, cmd->error, cmd->user_data);
    command_free(cmd);
    return G_SOURCE_REMOVE;
}

void command_complete(struct command *cmd, int64_t result, GError *error)
{
    GSource *idle;

    cmd->result = result;
    cmd->error = error;
    idle = g_idle_source_new();
    g_source_set_priority(idle, G_PRIORITY_DEFAULT);
    g_source_set_callback(idle, deliver_reply, cmd, NULL);
    g_source_set_name(idle, "mimic command reply");
    g_source_attach(idle, cmd->reply_context);
    g_source_unref(idle);
}

int command_kind(const struct command *cmd)
{
    return cmd->kind;
}

void *command_payload(const struct command *cmd)
{
    return cmd->payload;
}

/* The source is ready whenever the queue holds something. */
static gboolean queue_prepare(GSource *source, gint *timeout)
{
    struct command_queue *q = *(struct command_queue **)(source + 1);

    *timeout = -1;
    return g_async_queue_length(q->queue) > 0;
}

static gboolean queue_check(GSource *source)
{
    struct command_queue *q = *(struct command_queue **)(source + 1);

    return g_async_queue_length(q->queue) > 0;
}

static gboolean queue_dispatch(GSource *source, GSourceFunc callback,
                               gpointer data)
{
    struct command_queue *q = *(struct command_queue **)(source + 1);
    struct command *cmd;

    /* One at a time: a handler may iterate nothing, but keeps order. */
    while ((cmd = g_async_queue_try_pop(q->queue)))
        q->handler(q->opaque, cmd);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs queue_funcs = {
    .prepare = queue_prepare,
    .check = queue_check,
    .dispatch = queue_dispatch,
};

struct command_queue *command_queue_new(GMainContext *target,
                                        command_handler_fn handler,
                                        void *opaque)
{
    struct command_queue *q = g_new0(struct command_queue, 1);

    q->queue = g_async_queue_new();
    q->target = target ? g_main_context_ref(target) : g_main_context_ref(g_main_context_default());
    q->handler = handler;
    q->opaque = opaque;
    q->source = g_source_new(&queue_funcs,
                             sizeof(GSource) + sizeof(struct command_queue *));
    *(struct command_queue **)(q->source + 1) = q;
    g_source_set_name(q->source, "mimic command queue");
    g_source_attach(q->source, q->target);
    return q;
}

void command_queue_free(struct command_queue *q)
{
    struct command *cmd;

    if (!q)
        return;
    g_source_destroy(q->source);
    g_source_unref(q->source);
    while ((cmd = g_async_queue_try_pop(q->queue)))
        command_complete(cmd, -1,
                         g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                             "the engine has stopped"));
    g_async_queue_unref(q->queue);
    g_main_context_unref(q->target);
    g_free(q);
}

void command_queue_push(struct command_queue *q, int kind, void *payload,
                        GDestroyNotify payload_free, command_reply_fn reply,
                        void *user_data)
{
    struct command *cmd = g_new0(struct command, 1);

    cmd->kind = kind;
    cmd->payload = payload;
    cmd->payload_free = payload_free;
    cmd->reply = reply;
    cmd->user_data = user_data;
    cmd->reply_context = g_main_context_ref_thread_default();
    g_async_queue_push(q->queue, cmd);
    g_main_context_wakeup(q->target);
}
