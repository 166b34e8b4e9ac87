/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The 8042 keyboard controller at ports 0x60/0x64 with a PS/2 keyboard on
 * IRQ 1 and a PS/2 mouse on IRQ 12; the engine feeds it input events.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "hw/device.h"
#include "hw/input/ps2.h"

struct machine;

#define I8042_KEYBOARD_GSI 1
#define I8042_MOUSE_GSI 12

/* Buttons of i8042_mouse_event. */
#define I8042_BUTTON_LEFT PS2_BUTTON_LEFT
#define I8042_BUTTON_RIGHT PS2_BUTTON_RIGHT
#define I8042_BUTTON_MIDDLE PS2_BUTTON_MIDDLE
#define I8042_BUTTON_SIDE PS2_BUTTON_SIDE
#define I8042_BUTTON_EXTRA PS2_BUTTON_EXTRA

struct device *i8042_create(struct machine *m, GError **error);

/*
 * Input from the engine thread (they take the machine's device lock, so
 * call them without it). @keycode is a Linux input event code (KEY_* of
 * <linux/input-event-codes.h>); the keyboard sends it in the scan code set
 * the guest chose, and the controller translates set 2 to set 1 when its
 * command byte asks for it.
 */
void i8042_key_event(struct device *kbc, unsigned keycode, bool down);
/*
 * @dx, @dy in screen directions (dy > 0 down, like REL_Y), @dz like
 * REL_WHEEL (> 0 away from the user), @buttons the I8042_BUTTON_* held.
 */
void i8042_mouse_event(struct device *kbc, int dx, int dy, int dz,
                       unsigned buttons);
/* Output port bit 1 (A20 gate, commands 0xD1, 0xDD, 0xDF). */
bool i8042_a20_enabled(struct device *kbc);

extern const struct device_class i8042_device_class;
