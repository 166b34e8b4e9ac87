/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtual clock: nanoseconds of guest time, which stand still while the
 * VM is paused; and timers on it that fire on the engine thread.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct vclock;
struct vtimer;

typedef void (*vtimer_fn)(void *opaque);

/* Timers fire in @context (the engine's). The clock starts paused at 0. */
struct vclock *vclock_new(GMainContext *context);
void vclock_free(struct vclock *clock);

int64_t vclock_now_ns(struct vclock *clock);     /* any thread */
void vclock_pause(struct vclock *clock);
void vclock_resume(struct vclock *clock);
bool vclock_is_running(struct vclock *clock);

struct vtimer *vtimer_new(struct vclock *clock, vtimer_fn fn, void *opaque);
void vtimer_free(struct vtimer *timer);
/* Fire once when the virtual clock reaches @deadline_ns; rearming replaces. */
void vtimer_arm(struct vtimer *timer, int64_t deadline_ns);
void vtimer_cancel(struct vtimer *timer);
bool vtimer_is_armed(struct vtimer *timer);
