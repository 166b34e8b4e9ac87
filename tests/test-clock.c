/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the virtual clock and its timers. */
#include "engine/clock.h"

static void test_stands_still_when_paused(void)
{
    struct vclock *clock = vclock_new(NULL);
    int64_t a, b;

    g_assert_cmpint(vclock_now_ns(clock), ==, 0);
    g_usleep(20000);
    g_assert_cmpint(vclock_now_ns(clock), ==, 0); /* starts paused */
    vclock_resume(clock);
    g_usleep(20000);
    a = vclock_now_ns(clock);
    g_assert_cmpint(a, >=, 20000000);
    vclock_pause(clock);
    a = vclock_now_ns(clock);
    g_usleep(1000000);
    b = vclock_now_ns(clock);
    g_assert_cmpint(a, ==, b);
    vclock_resume(clock);
    g_usleep(10000);
    b = vclock_now_ns(clock);
    /* Continues from where it stopped, without the paused second. */
    g_assert_cmpint(b, >=, a + 10000000);
    g_assert_cmpint(b, <, a + 900000000);
    vclock_free(clock);
}

struct fired {
    GArray *order;
    int id;
};

static void on_timer(void *opaque)
{
    struct fired *f = opaque;

    g_array_append_val(f->order, f->id);
}

static void run_for(int ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;

    while (g_get_monotonic_time() < end)
        g_main_context_iteration(NULL, FALSE), g_usleep(1000);
}

/* Iterate until @order holds @count entries, at most 5 s. */
static void run_until(GArray *order, unsigned count)
{
    gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    while (order->len < count && g_get_monotonic_time() < end)
        g_main_context_iteration(NULL, FALSE), g_usleep(1000);
}

static void test_timers(void)
{
    struct vclock *clock = vclock_new(NULL);
    GArray *order = g_array_new(FALSE, FALSE, sizeof(int));
    struct fired f1 = { order, 1 }, f2 = { order, 2 }, f3 = { order, 3 };
    struct vtimer *t1 = vtimer_new(clock, on_timer, &f1);
    struct vtimer *t2 = vtimer_new(clock, on_timer, &f2);
    struct vtimer *t3 = vtimer_new(clock, on_timer, &f3);

    vtimer_arm(t2, 20 * 1000000);
    vtimer_arm(t1, 10 * 1000000);
    vtimer_arm(t3, 30 * 1000000);
    vtimer_cancel(t3);
    g_assert_false(vtimer_is_armed(t3));
    /* Paused: nothing fires, however long we wait. */
    run_for(40);
    g_assert_cmpuint(order->len, ==, 0);
    vclock_resume(clock);
    run_until(order, 2);
    run_for(20);
    g_assert_cmpuint(order->len, ==, 2);
    g_assert_cmpint(g_array_index(order, int, 0), ==, 1);
    g_assert_cmpint(g_array_index(order, int, 1), ==, 2);
    g_assert_false(vtimer_is_armed(t1));
    /* Re-arming replaces the deadline. */
    vtimer_arm(t1, vclock_now_ns(clock) + 1000000000);
    vtimer_arm(t1, vclock_now_ns(clock) + 5000000);
    run_until(order, 3);
    g_assert_cmpuint(order->len, ==, 3);
    vtimer_free(t1);
    vtimer_free(t2);
    vtimer_free(t3);
    vclock_free(clock);
    g_array_unref(order);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/clock/stands-still-when-paused", test_stands_still_when_paused);
    g_test_add_func("/clock/timers", test_timers);
    return g_test_run();
}
