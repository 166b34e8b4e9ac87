/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The VM state machine: only legal transitions are allowed. */
#include "engine/keycodes.h"
#include "engine/vm.h"

static void test_transitions(void)
{
    /*
     * Rows: state; columns: START PAUSE RESUME RESET POWER_DOWN QUIT
     * POWER_BUTTON SCREENDUMP INPUT.
     */
    static const gboolean table[5][9] = {
        [MIMIC_VM_CREATED]  = { 1, 0, 0, 0, 0, 1, 0, 1, 0 },
        [MIMIC_VM_RUNNING]  = { 0, 1, 0, 1, 1, 1, 1, 1, 1 },
        [MIMIC_VM_PAUSED]   = { 0, 0, 1, 1, 1, 1, 0, 1, 1 },
        [MIMIC_VM_SHUTDOWN] = { 1, 0, 0, 0, 0, 1, 0, 1, 0 },
        [MIMIC_VM_FAILED]   = { 1, 0, 0, 0, 0, 1, 0, 1, 0 },
    };

    for (int s = MIMIC_VM_CREATED; s <= MIMIC_VM_FAILED; s++)
        for (int c = MIMIC_COMMAND_START; c <= MIMIC_COMMAND_INPUT; c++)
            g_assert_cmpint(mimic_vm_command_allowed(s, c), ==, table[s][c]);
}

static void test_names(void)
{
    g_assert_cmpstr(mimic_vm_state_name(MIMIC_VM_CREATED), ==, "created");
    g_assert_cmpstr(mimic_vm_state_name(MIMIC_VM_RUNNING), ==, "running");
    g_assert_cmpstr(mimic_vm_state_name(MIMIC_VM_PAUSED), ==, "paused");
    g_assert_cmpstr(mimic_vm_state_name(MIMIC_VM_SHUTDOWN), ==, "shutdown");
    g_assert_cmpstr(mimic_vm_state_name(MIMIC_VM_FAILED), ==, "failed");
}

static void test_parse_size(void)
{
    uint64_t v;

    g_assert_true(vm_parse_size("128", 1 << 20, &v));
    g_assert_cmpuint(v, ==, 128 << 20);
    g_assert_true(vm_parse_size("2G", 1 << 20, &v));
    g_assert_cmpuint(v, ==, 2ULL << 30);
    g_assert_true(vm_parse_size("512k", 1 << 20, &v));
    g_assert_cmpuint(v, ==, 512 << 10);
    g_assert_true(vm_parse_size("1.5G", 1 << 20, &v));
    g_assert_cmpuint(v, ==, 3ULL << 29);
    g_assert_true(vm_parse_size("4096B", 1 << 20, &v));
    g_assert_cmpuint(v, ==, 4096);
    g_assert_false(vm_parse_size("", 1, &v));
    g_assert_false(vm_parse_size("-1", 1, &v));
    g_assert_false(vm_parse_size("12Q", 1, &v));
    g_assert_false(vm_parse_size("1GB", 1, &v));
    g_assert_false(vm_parse_size("99999999999999999999", 1, &v));
    g_assert_false(vm_parse_size("20E", 1, &v));
    g_assert_false(vm_parse_size("1.", 1, &v));
}

static void test_keycodes(void)
{
    g_assert_cmpint(keycode_from_qcode("a"), ==, 30);        /* KEY_A */
    g_assert_cmpint(keycode_from_qcode("ret"), ==, 28);      /* KEY_ENTER */
    g_assert_cmpint(keycode_from_qcode("f12"), ==, 88);      /* KEY_F12 */
    g_assert_cmpint(keycode_from_qcode("kp_enter"), ==, 96); /* KEY_KPENTER */
    g_assert_cmpint(keycode_from_qcode("no-such-key"), ==, -1);
    g_assert_cmpstr(keycode_to_qcode(57), ==, "spc");
    g_assert_null(keycode_to_qcode(100000));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vm/transitions", test_transitions);
    g_test_add_func("/vm/state-names", test_names);
    g_test_add_func("/vm/parse-size", test_parse_size);
    g_test_add_func("/vm/keycodes", test_keycodes);
    return g_test_run();
}
