/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtual clock (host monotonic time minus the time spent paused) and
 * one-shot timers on it, dispatched by a GSource in the engine's context.
 */
#define G_LOG_DOMAIN "mimic-clock"

#include "engine/clock.h"

#include <time.h>

struct vtimer {
    struct vclock *clock;
    vtimer_fn fn;
    void *opaque;
    int64_t deadline_ns;
    bool armed;
};

struct vclock {
    GMutex lock;
    bool running;
    int64_t host_offset_ns;     /* running: virtual = host - offset */
    int64_t frozen_ns;          /* paused: virtual time */
    GSource *source;
    GList *timers;              /* armed timers, any order */
};

static int64_t host_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_locked(struct vclock *clock)
{
    return clock->running ? host_now_ns() - clock->host_offset_ns
                          : clock->frozen_ns;
}

/* Point the GSource at the earliest deadline (or nothing while paused). */
static void update_ready_time_locked(struct vclock *clock)
{
    int64_t earliest = INT64_MAX;
    int64_t ready_us;

    for (GList *l = clock->timers; l; l = l->next) {
        struct vtimer *t = l->data;

        earliest = MIN(earliest, t->deadline_ns);
    }
    if (!clock->running || earliest == INT64_MAX) {
        g_source_set_ready_time(clock->source, -1);
        return;
    }
    /* g_source ready times are monotonic microseconds, rounded up. */
    ready_us = (earliest + clock->host_offset_ns + 999) / 1000;
    g_source_set_ready_time(clock->source, MAX(ready_us, 0));
}

static gboolean timers_dispatch(GSource *source, GSourceFunc callback,
                                gpointer data)
{
    struct vclock *clock = *(struct vclock **)(source + 1);
    GList *due = NULL;
    int64_t now;

    g_mutex_lock(&clock->lock);
    now = now_locked(clock);
    for (GList *l = clock->timers; l;) {
        GList *next = l->next;
        struct vtimer *t = l->data;

        if (clock->running && t->deadline_ns <= now) {
            t->armed = false;
            clock->timers = g_list_delete_link(clock->timers, l);
            due = g_list_prepend(due, t);
        }
        l = next;
    }
    g_source_set_ready_time(source, -1);
    g_mutex_unlock(&clock->lock);

    due = g_list_reverse(due);
    for (GList *l = due; l; l = l->next) {
        struct vtimer *t = l->data;

        t->fn(t->opaque);
    }
    g_list_free(due);

    g_mutex_lock(&clock->lock);
    update_ready_time_locked(clock);
    g_mutex_unlock(&clock->lock);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs timers_funcs = {
    .dispatch = timers_dispatch,
};

struct vclock *vclock_new(GMainContext *context)
{
    struct vclock *clock = g_new0(struct vclock, 1);

    g_mutex_init(&clock->lock);
    clock->source = g_source_new(&timers_funcs,
                                 sizeof(GSource) + sizeof(struct vclock *));
    *(struct vclock **)(clock->source + 1) = clock;
    g_source_set_name(clock->source, "mimic virtual clock timers");
    g_source_set_ready_time(clock->source, -1);
    g_source_attach(clock->source, context);
    return clock;
}

void vclock_free(struct vclock *clock)
{
    if (!clock)
        return;
    g_source_destroy(clock->source);
    g_source_unref(clock->source);
    for (GList *l = clock->timers; l; l = l->next)
        ((struct vtimer *)l->data)->armed = false;
    g_list_free(clock->timers);
    g_mutex_clear(&clock->lock);
    g_free(clock);
}

int64_t vclock_now_ns(struct vclock *clock)
{
    int64_t now;

    g_mutex_lock(&clock->lock);
    now = now_locked(clock);
    g_mutex_unlock(&clock->lock);
    return now;
}

void vclock_pause(struct vclock *clock)
{
    g_mutex_lock(&clock->lock);
    if (clock->running) {
        clock->frozen_ns = now_locked(clock);
        clock->running = false;
        update_ready_time_locked(clock);
    }
    g_mutex_unlock(&clock->lock);
}

void vclock_resume(struct vclock *clock)
{
    g_mutex_lock(&clock->lock);
    if (!clock->running) {
        clock->host_offset_ns = host_now_ns() - clock->frozen_ns;
        clock->running = true;
        update_ready_time_locked(clock);
    }
    g_mutex_unlock(&clock->lock);
}

bool vclock_is_running(struct vclock *clock)
{
    bool running;

    g_mutex_lock(&clock->lock);
    running = clock->running;
    g_mutex_unlock(&clock->lock);
    return running;
}

struct vtimer *vtimer_new(struct vclock *clock, vtimer_fn fn, void *opaque)
{
    struct vtimer *t = g_new0(struct vtimer, 1);

    t->clock = clock;
    t->fn = fn;
    t->opaque = opaque;
    return t;
}

void vtimer_free(struct vtimer *timer)
{
    if (!timer)
        return;
    vtimer_cancel(timer);
    g_free(timer);
}

void vtimer_arm(struct vtimer *timer, int64_t deadline_ns)
{
    struct vclock *clock = timer->clock;

    g_mutex_lock(&clock->lock);
    if (!timer->armed)
        clock->timers = g_list_prepend(clock->timers, timer);
    timer->armed = true;
    timer->deadline_ns = deadline_ns;
    update_ready_time_locked(clock);
    g_mutex_unlock(&clock->lock);
}

void vtimer_cancel(struct vtimer *timer)
{
    struct vclock *clock = timer->clock;

    g_mutex_lock(&clock->lock);
    if (timer->armed) {
        clock->timers = g_list_remove(clock->timers, timer);
        timer->armed = false;
        update_ready_time_locked(clock);
    }
    g_mutex_unlock(&clock->lock);
}

bool vtimer_is_armed(struct vtimer *timer)
{
    bool armed;

    g_mutex_lock(&timer->clock->lock);
    armed = timer->armed;
    g_mutex_unlock(&timer->clock->lock);
    return armed;
}
