/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PS/2 keyboard and mouse as the 8042 sees them: each takes the bytes the
 * controller sends, answers into its own output queue, and turns input
 * events into scan codes or movement packets there.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct ps2_keyboard;
struct ps2_mouse;

/* Mouse buttons of ps2_mouse_event, and of the engine's input API. */
#define PS2_BUTTON_LEFT 0x01
#define PS2_BUTTON_RIGHT 0x02
#define PS2_BUTTON_MIDDLE 0x04
#define PS2_BUTTON_SIDE 0x08        /* button 4 (IntelliMouse Explorer) */
#define PS2_BUTTON_EXTRA 0x10       /* button 5 */

/* Keyboard LED bits as the guest sets them with 0xED. */
#define PS2_LED_SCROLL_LOCK 0x01
#define PS2_LED_NUM_LOCK 0x02
#define PS2_LED_CAPS_LOCK 0x04

struct ps2_keyboard *ps2_keyboard_new(void);
void ps2_keyboard_free(struct ps2_keyboard *kbd);
/* Power-on state: scanning on, set 2, LEDs off, queue empty. */
void ps2_keyboard_reset(struct ps2_keyboard *kbd);
/* A byte from the controller (command or argument). */
void ps2_keyboard_write(struct ps2_keyboard *kbd, uint8_t byte);
/* Take the next byte of the output queue; false when empty. */
bool ps2_keyboard_read(struct ps2_keyboard *kbd, uint8_t *byte);
/* A key, as a Linux input event code (KEY_*), pressed or released. */
void ps2_keyboard_key_event(struct ps2_keyboard *kbd, unsigned keycode,
                            bool down);
unsigned ps2_keyboard_leds(const struct ps2_keyboard *kbd);
/* The scan code set the guest selected (1, 2 or 3; 3 is sent as 2). */
unsigned ps2_keyboard_scancode_set(const struct ps2_keyboard *kbd);

struct ps2_mouse *ps2_mouse_new(void);
void ps2_mouse_free(struct ps2_mouse *mouse);
void ps2_mouse_reset(struct ps2_mouse *mouse);
void ps2_mouse_write(struct ps2_mouse *mouse, uint8_t byte);
bool ps2_mouse_read(struct ps2_mouse *mouse, uint8_t *byte);
/*
 * Relative motion in screen directions (@dy > 0 is down, like Linux
 * REL_Y), wheel like REL_WHEEL (@dz > 0 is away from the user), and the
 * PS2_BUTTON_* held now.
 */
void ps2_mouse_event(struct ps2_mouse *mouse, int dx, int dy, int dz,
                     unsigned buttons);
/* 0 standard, 3 IntelliMouse (wheel), 4 IntelliMouse Explorer (5 buttons). */
unsigned ps2_mouse_id(const struct ps2_mouse *mouse);

/* The 8042's set 2 to set 1 translation of one byte (0xF0 handled by caller). */
uint8_t ps2_translate_to_set1(uint8_t code);
