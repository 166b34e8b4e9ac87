/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the command queue: many senders, nothing lost, replies in the sender's context. */
#include <gio/gio.h>

#include "engine/command-queue.h"

#define SENDERS 8
#define PER_SENDER 5000

struct target {
    GMainContext *context;
    GMainLoop *loop;
    GThread *thread;
    struct command_queue *queue;
    GThread *handler_thread;
    unsigned handled;
    gboolean wrong_thread;
};

struct sender {
    struct target *target;
    unsigned index;
    GMainContext *context;
    unsigned replies;
    int last_sequence;
    gboolean out_of_order, wrong_thread;
    GThread *self;
};

static void handler(void *opaque, struct command *cmd)
{
    struct target *t = opaque;

    if (g_thread_self() != t->handler_thread)
        t->wrong_thread = TRUE;
    t->handled++;
    /* Echo the payload so the sender can check it. */
    command_complete(cmd, GPOINTER_TO_INT(command_payload(cmd)), NULL);
}

static gpointer target_thread(gpointer data)
{
    struct target *t = data;

    g_main_context_push_thread_default(t->context);
    t->handler_thread = g_thread_self();
    g_main_loop_run(t->loop);
    g_main_context_pop_thread_default(t->context);
    return NULL;
}

static void on_reply(int kind, int64_t result, const GError *error, void *user_data)
{
    struct sender *s = user_data;

    g_assert_no_error(error);
    if (g_thread_self() != s->self)
        s->wrong_thread = TRUE;
    if (result != s->last_sequence + 1 || kind != (int)s->index)
        s->out_of_order = TRUE;
    s->last_sequence = result;
    s->replies++;
}

static gpointer sender_thread(gpointer data)
{
    struct sender *s = data;

    s->self = g_thread_self();
    s->context = g_main_context_new();
    g_main_context_push_thread_default(s->context);
    s->last_sequence = -1;
    for (int i = 0; i < PER_SENDER; i++)
        command_queue_push(s->target->queue, s->index, GINT_TO_POINTER(i), NULL,
                           on_reply, s);
    while (s->replies < PER_SENDER)
        g_main_context_iteration(s->context, TRUE);
    g_main_context_pop_thread_default(s->context);
    g_main_context_unref(s->context);
    return NULL;
}

static void test_many_senders(void)
{
    struct target t = { 0 };
    struct sender senders[SENDERS];
    GThread *threads[SENDERS];

    t.context = g_main_context_new();
    t.loop = g_main_loop_new(t.context, FALSE);
    t.queue = command_queue_new(t.context, handler, &t);
    t.thread = g_thread_new("target", target_thread, &t);

    for (unsigned i = 0; i < SENDERS; i++) {
        senders[i] = (struct sender){ .target = &t, .index = i };
        threads[i] = g_thread_new("sender", sender_thread, &senders[i]);
    }
    for (unsigned i = 0; i < SENDERS; i++) {
        g_thread_join(threads[i]);
        g_assert_cmpuint(senders[i].replies, ==, PER_SENDER);
        g_assert_false(senders[i].out_of_order);
        g_assert_false(senders[i].wrong_thread);
    }
    g_main_loop_quit(t.loop);
    g_main_context_wakeup(t.context);
    g_thread_join(t.thread);
    g_assert_cmpuint(t.handled, ==, SENDERS * PER_SENDER);
    g_assert_false(t.wrong_thread);
    command_queue_free(t.queue);
    g_main_loop_unref(t.loop);
    g_main_context_unref(t.context);
}

static void on_cancelled(int kind, int64_t result, const GError *error, void *user_data)
{
    unsigned *count = user_data;

    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    (*count)++;
}

static void never_called(void *opaque, struct command *cmd)
{
    g_assert_not_reached();
}

static void test_free_cancels_pending(void)
{
    GMainContext *target = g_main_context_new();
    struct command_queue *q = command_queue_new(target, never_called, NULL);
    unsigned cancelled = 0;

    for (int i = 0; i < 10; i++)
        command_queue_push(q, 0, g_strdup("payload"), g_free, on_cancelled, &cancelled);
    command_queue_free(q);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    g_assert_cmpuint(cancelled, ==, 10);
    g_main_context_unref(target);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/command-queue/many-senders", test_many_senders);
    g_test_add_func("/command-queue/free-cancels-pending", test_free_cancels_pending);
    return g_test_run();
}
