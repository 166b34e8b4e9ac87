/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A thread-safe command queue: any thread pushes commands, a handler runs
 * them one at a time in the target main context (the engine thread's), and
 * each reply is delivered in the main context that was thread-default for
 * the sender when it pushed.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

struct command_queue;
struct command;

/* Called in the sender's context; @error is NULL on success. */
typedef void (*command_reply_fn)(int kind, int64_t result, const GError *error,
                                 void *user_data);
/* Runs in the target context; must call command_complete() exactly once, now or later. */
typedef void (*command_handler_fn)(void *opaque, struct command *cmd);

struct command_queue *command_queue_new(GMainContext *target,
                                        command_handler_fn handler,
                                        void *opaque);
/* Commands still queued are completed with G_IO_ERROR_CANCELLED. */
void command_queue_free(struct command_queue *queue);

/* Any thread. @payload is freed with @payload_free after the reply. */
void command_queue_push(struct command_queue *queue, int kind, void *payload,
                        GDestroyNotify payload_free, command_reply_fn reply,
                        void *user_data);

int command_kind(const struct command *cmd);
void *command_payload(const struct command *cmd);
/* Takes @error (may be NULL). */
void command_complete(struct command *cmd, int64_t result, GError *error);
