/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Character back ends for serial ports and debug consoles: stdio, a file,
 * a unix socket (server or client), or nothing.
 *
 * Specs, as QEMU writes them: "stdio", "file:PATH", "unix:PATH[,server]
 * [,nowait|,wait=off]", "null". Output may be written from any thread;
 * input is read on the engine thread and handed to the receiver.
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

struct chardev;

/* How many bytes the receiver takes now; 0 pauses input. */
typedef size_t (*chardev_can_receive_fn)(void *opaque);
typedef void (*chardev_receive_fn)(void *opaque, const uint8_t *buf, size_t length);

/* Input is read in @context. NULL with an error naming the spec's problem. */
struct chardev *chardev_open(const char *spec, GMainContext *context,
                             GError **error);
void chardev_close(struct chardev *chr);

void chardev_set_receiver(struct chardev *chr, chardev_can_receive_fn can_receive,
                          chardev_receive_fn receive, void *opaque);
/* The receiver has room again: resume reading (any thread). */
void chardev_accept_input(struct chardev *chr);
/* Write all of @buf (any thread); output to a peer that is gone is dropped. */
void chardev_write(struct chardev *chr, const uint8_t *buf, size_t length);
