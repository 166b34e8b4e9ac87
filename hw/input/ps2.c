/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PS/2 keyboard and mouse (IBM PS/2 Hardware Interface Technical Reference,
 * "Keyboard and Auxiliary Device Controller", keyboard and mouse command
 * sets; Microsoft IntelliMouse extensions).
 */
#define G_LOG_DOMAIN "mimic-ps2"

#include "hw/input/ps2.h"

#include <glib.h>
#include <linux/input-event-codes.h>
#include <string.h>

#define QUEUE_SIZE 256

/* Replies common to both devices. */
#define PS2_ACK 0xfa
#define PS2_RESEND 0xfe
#define PS2_BAT_OK 0xaa
#define PS2_ECHO 0xee

#define E0 0x100                    /* extended key: 0xE0 prefix in set 2 */

struct ps2_queue {
    uint8_t data[QUEUE_SIZE];
    unsigned head, count;
};

static void queue_clear(struct ps2_queue *q)
{
    q->head = q->count = 0;
}

static unsigned queue_free(const struct ps2_queue *q)
{
    return QUEUE_SIZE - q->count;
}

/* A full queue drops the byte, as a device whose buffer overflowed. */
static void queue_push(struct ps2_queue *q, uint8_t byte)
{
    if (q->count == QUEUE_SIZE)
        return;
    q->data[(q->head + q->count++) % QUEUE_SIZE] = byte;
}

static bool queue_pop(struct ps2_queue *q, uint8_t *byte)
{
    if (!q->count)
        return false;
    *byte = q->data[q->head];
    q->head = (q->head + 1) % QUEUE_SIZE;
    q->count--;
    return true;
}

/* --- scan codes --- */

/*
 * The 8042's translation from set 2 to set 1 (IBM PS/2 Technical Reference,
 * keyboard controller "scan code translation"), for codes 0x00-0x7F.
 */
static const uint8_t set2_to_set1[128] = {
    0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
    0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
    0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
    0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
    0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
    0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
};

uint8_t ps2_translate_to_set1(uint8_t code)
{
    if (code < 0x80)
        return set2_to_set1[code];
    if (code == 0x83)               /* F7 */
        return 0x41;
    if (code == 0x84)               /* Alt+SysRq */
        return 0x54;
    return code;                    /* prefixes and replies pass through */
}

/* Set 2 make codes of Linux KEY_* codes (IBM 101/102-key and Windows keys). */
static const uint16_t keycode_to_set2[] = {
    [KEY_ESC] = 0x76, [KEY_1] = 0x16, [KEY_2] = 0x1e, [KEY_3] = 0x26,
    [KEY_4] = 0x25, [KEY_5] = 0x2e, [KEY_6] = 0x36, [KEY_7] = 0x3d,
    [KEY_8] = 0x3e, [KEY_9] = 0x46, [KEY_0] = 0x45, [KEY_MINUS] = 0x4e,
    [KEY_EQUAL] = 0x55, [KEY_BACKSPACE] = 0x66, [KEY_TAB] = 0x0d,
    [KEY_Q] = 0x15, [KEY_W] = 0x1d, [KEY_E] = 0x24, [KEY_R] = 0x2d,
    [KEY_T] = 0x2c, [KEY_Y] = 0x35, [KEY_U] = 0x3c, [KEY_I] = 0x43,
    [KEY_O] = 0x44, [KEY_P] = 0x4d, [KEY_LEFTBRACE] = 0x54,
    [KEY_RIGHTBRACE] = 0x5b, [KEY_ENTER] = 0x5a, [KEY_LEFTCTRL] = 0x14,
    [KEY_A] = 0x1c, [KEY_S] = 0x1b, [KEY_D] = 0x23, [KEY_F] = 0x2b,
    [KEY_G] = 0x34, [KEY_H] = 0x33, [KEY_J] = 0x3b, [KEY_K] = 0x42,
    [KEY_L] = 0x4b, [KEY_SEMICOLON] = 0x4c, [KEY_APOSTROPHE] = 0x52,
    [KEY_GRAVE] = 0x0e, [KEY_LEFTSHIFT] = 0x12, [KEY_BACKSLASH] = 0x5d,
    [KEY_Z] = 0x1a, [KEY_X] = 0x22, [KEY_C] = 0x21, [KEY_V] = 0x2a,
    [KEY_B] = 0x32, [KEY_N] = 0x31, [KEY_M] = 0x3a, [KEY_COMMA] = 0x41,
    [KEY_DOT] = 0x49, [KEY_SLASH] = 0x4a, [KEY_RIGHTSHIFT] = 0x59,
    [KEY_KPASTERISK] = 0x7c, [KEY_LEFTALT] = 0x11, [KEY_SPACE] = 0x29,
    [KEY_CAPSLOCK] = 0x58, [KEY_F1] = 0x05, [KEY_F2] = 0x06, [KEY_F3] = 0x04,
    [KEY_F4] = 0x0c, [KEY_F5] = 0x03, [KEY_F6] = 0x0b, [KEY_F7] = 0x83,
    [KEY_F8] = 0x0a, [KEY_F9] = 0x01, [KEY_F10] = 0x09, [KEY_NUMLOCK] = 0x77,
    [KEY_SCROLLLOCK] = 0x7e, [KEY_KP7] = 0x6c, [KEY_KP8] = 0x75,
    [KEY_KP9] = 0x7d, [KEY_KPMINUS] = 0x7b, [KEY_KP4] = 0x6b,
    [KEY_KP5] = 0x73, [KEY_KP6] = 0x74, [KEY_KPPLUS] = 0x79, [KEY_KP1] = 0x69,
    [KEY_KP2] = 0x72, [KEY_KP3] = 0x7a, [KEY_KP0] = 0x70, [KEY_KPDOT] = 0x71,
    [KEY_102ND] = 0x61, [KEY_F11] = 0x78, [KEY_F12] = 0x07, [KEY_RO] = 0x51,
    [KEY_HENKAN] = 0x64, [KEY_KATAKANAHIRAGANA] = 0x13, [KEY_MUHENKAN] = 0x67,
    [KEY_YEN] = 0x6a,
    [KEY_KPENTER] = E0 | 0x5a, [KEY_RIGHTCTRL] = E0 | 0x14,
    [KEY_KPSLASH] = E0 | 0x4a, [KEY_RIGHTALT] = E0 | 0x11,
    [KEY_HOME] = E0 | 0x6c, [KEY_UP] = E0 | 0x75, [KEY_PAGEUP] = E0 | 0x7d,
    [KEY_LEFT] = E0 | 0x6b, [KEY_RIGHT] = E0 | 0x74, [KEY_END] = E0 | 0x69,
    [KEY_DOWN] = E0 | 0x72, [KEY_PAGEDOWN] = E0 | 0x7a,
    [KEY_INSERT] = E0 | 0x70, [KEY_DELETE] = E0 | 0x71,
    [KEY_MUTE] = E0 | 0x23, [KEY_VOLUMEDOWN] = E0 | 0x21,
    [KEY_VOLUMEUP] = E0 | 0x32, [KEY_POWER] = E0 | 0x37,
    [KEY_LEFTMETA] = E0 | 0x1f, [KEY_RIGHTMETA] = E0 | 0x27,
    [KEY_COMPOSE] = E0 | 0x2f, [KEY_SLEEP] = E0 | 0x3f,
    [KEY_WAKEUP] = E0 | 0x5e, [KEY_NEXTSONG] = E0 | 0x4d,
    [KEY_PLAYPAUSE] = E0 | 0x34, [KEY_PREVIOUSSONG] = E0 | 0x15,
    [KEY_STOPCD] = E0 | 0x3b,
};

/* Keys whose codes are sequences of their own (set 2). */
static const uint8_t print_screen_make[] = { 0xe0, 0x12, 0xe0, 0x7c };
static const uint8_t print_screen_break[] = { 0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12 };
static const uint8_t pause_make[] = { 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 };

/* --- keyboard --- */

enum kbd_pending {
    KBD_NONE,
    KBD_LEDS,                       /* 0xED argument */
    KBD_SCANCODE_SET,               /* 0xF0 argument */
    KBD_TYPEMATIC,                  /* 0xF3 argument */
};

struct ps2_keyboard {
    struct ps2_queue queue;
    enum kbd_pending pending;
    bool scanning;
    unsigned scancode_set;
    uint8_t leds;
    uint8_t typematic;
    uint8_t last_sent;
    bool logged_set3, logged_key;
};

static void kbd_send(struct ps2_keyboard *kbd, uint8_t byte)
{
    queue_push(&kbd->queue, byte);
    kbd->last_sent = byte;
}

/* Set defaults (command 0xF6): typematic 10.9 cps / 500 ms, set 2. */
static void kbd_defaults(struct ps2_keyboard *kbd)
{
    kbd->typematic = 0x2b;
    kbd->scancode_set = 2;
}

void ps2_keyboard_reset(struct ps2_keyboard *kbd)
{
    queue_clear(&kbd->queue);
    kbd_defaults(kbd);
    kbd->pending = KBD_NONE;
    kbd->scanning = true;
    kbd->leds = 0;
}

struct ps2_keyboard *ps2_keyboard_new(void)
{
    struct ps2_keyboard *kbd = g_new0(struct ps2_keyboard, 1);

    ps2_keyboard_reset(kbd);
    return kbd;
}

void ps2_keyboard_free(struct ps2_keyboard *kbd)
{
    g_free(kbd);
}

static void kbd_argument(struct ps2_keyboard *kbd, uint8_t byte)
{
    enum kbd_pending pending = kbd->pending;

    kbd->pending = KBD_NONE;
    switch (pending) {
    case KBD_LEDS:
        kbd->leds = byte & 0x07;
        kbd_send(kbd, PS2_ACK);
        break;
    case KBD_TYPEMATIC:
        kbd->typematic = byte & 0x7f;
        kbd_send(kbd, PS2_ACK);
        break;
    case KBD_SCANCODE_SET:
        kbd_send(kbd, PS2_ACK);
        if (byte == 0) {
            kbd_send(kbd, kbd->scancode_set);
        } else if (byte <= 3) {
            if (byte == 3 && !kbd->logged_set3) {
                kbd->logged_set3 = true;
                g_message("ps2-keyboard: guest chose scan code set 3, which is "
                          "sent as set 2 (logged once)");
            }
            kbd->scancode_set = byte;
        }
        break;
    case KBD_NONE:
        break;
    }
}

/* Keyboard commands (PS/2 Technical Reference, "Keyboard Commands"). */
void ps2_keyboard_write(struct ps2_keyboard *kbd, uint8_t byte)
{
    /* An argument is any byte below the command range. */
    if (kbd->pending != KBD_NONE && byte < 0xed) {
        kbd_argument(kbd, byte);
        return;
    }
    kbd->pending = KBD_NONE;
    switch (byte) {
    case 0xed:                      /* set/reset LEDs */
        kbd_send(kbd, PS2_ACK);
        kbd->pending = KBD_LEDS;
        break;
    case 0xee:                      /* echo */
        kbd_send(kbd, PS2_ECHO);
        break;
    case 0xf0:                      /* select alternate scan codes */
        kbd_send(kbd, PS2_ACK);
        kbd->pending = KBD_SCANCODE_SET;
        break;
    case 0xf2:                      /* read ID: MF2 keyboard */
        kbd_send(kbd, PS2_ACK);
        kbd_send(kbd, 0xab);
        kbd_send(kbd, 0x83);
        break;
    case 0xf3:                      /* set typematic rate/delay */
        kbd_send(kbd, PS2_ACK);
        kbd->pending = KBD_TYPEMATIC;
        break;
    case 0xf4:                      /* enable: clears the buffer */
        queue_clear(&kbd->queue);
        kbd->scanning = true;
        kbd_send(kbd, PS2_ACK);
        break;
    case 0xf5:                      /* default disable */
        queue_clear(&kbd->queue);
        kbd_defaults(kbd);
        kbd->scanning = false;
        kbd_send(kbd, PS2_ACK);
        break;
    case 0xf6:                      /* set default */
        queue_clear(&kbd->queue);
        kbd_defaults(kbd);
        kbd->scanning = true;
        kbd_send(kbd, PS2_ACK);
        break;
    case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc:
    case 0xfd:                      /* set 3 key types: accepted */
        kbd_send(kbd, PS2_ACK);
        break;
    case 0xfe:                      /* resend */
        queue_push(&kbd->queue, kbd->last_sent);
        break;
    case 0xff:                      /* reset and self-test (BAT) */
        ps2_keyboard_reset(kbd);
        kbd_send(kbd, PS2_ACK);
        kbd_send(kbd, PS2_BAT_OK);
        break;
    default:
        kbd_send(kbd, PS2_RESEND);
        break;
    }
}

bool ps2_keyboard_read(struct ps2_keyboard *kbd, uint8_t *byte)
{
    return queue_pop(&kbd->queue, byte);
}

/* Queue a set 2 sequence, or its set 1 form when the guest chose set 1. */
static void kbd_send_codes(struct ps2_keyboard *kbd, const uint8_t *codes,
                           unsigned count)
{
    bool release = false;

    if (queue_free(&kbd->queue) < count)
        return;                     /* overrun: the whole key is lost */
    for (unsigned i = 0; i < count; i++) {
        if (kbd->scancode_set != 1) {
            kbd_send(kbd, codes[i]);
        } else if (codes[i] == 0xf0) {
            release = true;
        } else {
            kbd_send(kbd, ps2_translate_to_set1(codes[i]) | (release ? 0x80 : 0));
            release = false;
        }
    }
}

void ps2_keyboard_key_event(struct ps2_keyboard *kbd, unsigned keycode,
                            bool down)
{
    uint8_t codes[3];
    unsigned n = 0, code;

    if (!kbd->scanning)
        return;
    if (keycode == KEY_SYSRQ) {
        if (down)
            kbd_send_codes(kbd, print_screen_make, sizeof(print_screen_make));
        else
            kbd_send_codes(kbd, print_screen_break, sizeof(print_screen_break));
        return;
    }
    if (keycode == KEY_PAUSE) {
        /* Pause has no break code. */
        if (down)
            kbd_send_codes(kbd, pause_make, sizeof(pause_make));
        return;
    }
    code = keycode < G_N_ELEMENTS(keycode_to_set2) ? keycode_to_set2[keycode] : 0;
    if (!code) {
        if (!kbd->logged_key) {
            kbd->logged_key = true;
            g_message("ps2-keyboard: no scan code for key %u; ignored "
                      "(logged once)", keycode);
        }
        return;
    }
    if (code & E0)
        codes[n++] = 0xe0;
    if (!down)
        codes[n++] = 0xf0;
    codes[n++] = code & 0xff;
    kbd_send_codes(kbd, codes, n);
}

unsigned ps2_keyboard_leds(const struct ps2_keyboard *kbd)
{
    return kbd->leds;
}

unsigned ps2_keyboard_scancode_set(const struct ps2_keyboard *kbd)
{
    return kbd->scancode_set;
}

/* --- mouse --- */

enum mouse_pending {
    MOUSE_NONE,
    MOUSE_SAMPLE_RATE,              /* 0xF3 argument */
    MOUSE_RESOLUTION,               /* 0xE8 argument */
};

#define STATUS_REMOTE 0x40
#define STATUS_ENABLED 0x20
#define STATUS_SCALING 0x10

struct ps2_mouse {
    struct ps2_queue queue;
    enum mouse_pending pending;
    bool enabled;                   /* data reporting */
    bool remote;                    /* remote instead of stream mode */
    bool wrap;                      /* echo mode */
    bool scaling_2to1;
    uint8_t sample_rate;
    uint8_t resolution;
    uint8_t id;
    uint8_t rates[3];               /* the last sample rates, for the ID knock */
    uint8_t last_sent;
    unsigned buttons;
    int dx, dy, dz;                 /* motion not yet reported */
};

static void mouse_send(struct ps2_mouse *mouse, uint8_t byte)
{
    queue_push(&mouse->queue, byte);
    mouse->last_sent = byte;
}

static void mouse_defaults(struct ps2_mouse *mouse)
{
    mouse->sample_rate = 100;
    mouse->resolution = 2;          /* 4 counts/mm */
    mouse->scaling_2to1 = false;
    mouse->enabled = false;
    mouse->dx = mouse->dy = mouse->dz = 0;
}

void ps2_mouse_reset(struct ps2_mouse *mouse)
{
    queue_clear(&mouse->queue);
    mouse_defaults(mouse);
    mouse->pending = MOUSE_NONE;
    mouse->remote = false;
    mouse->wrap = false;
    mouse->id = 0;
    memset(mouse->rates, 0, sizeof(mouse->rates));
}

struct ps2_mouse *ps2_mouse_new(void)
{
    struct ps2_mouse *mouse = g_new0(struct ps2_mouse, 1);

    ps2_mouse_reset(mouse);
    return mouse;
}

void ps2_mouse_free(struct ps2_mouse *mouse)
{
    g_free(mouse);
}

/* The sample rate "knock" 200, 100, 80 unlocks the wheel; 200, 200, 80 five buttons. */
static void mouse_set_rate(struct ps2_mouse *mouse, uint8_t rate)
{
    mouse->sample_rate = rate;
    mouse->rates[0] = mouse->rates[1];
    mouse->rates[1] = mouse->rates[2];
    mouse->rates[2] = rate;
    if (mouse->rates[0] == 200 && mouse->rates[2] == 80) {
        if (mouse->rates[1] == 100 && mouse->id == 0)
            mouse->id = 3;
        else if (mouse->rates[1] == 200 && mouse->id == 3)
            mouse->id = 4;
    }
}

/* One movement packet from the pending motion, each axis at most 9 bits. */
static void mouse_send_packet(struct ps2_mouse *mouse)
{
    int dx = CLAMP(mouse->dx, -256, 255);
    int dy = CLAMP(mouse->dy, -256, 255);
    int dz = mouse->id == 4 ? CLAMP(mouse->dz, -8, 7) : CLAMP(mouse->dz, -128, 127);
    uint8_t b0 = 0x08 | (mouse->buttons & 0x07);

    if (queue_free(&mouse->queue) < 4u)
        return;
    if (dx < 0)
        b0 |= 0x10;
    if (dy < 0)
        b0 |= 0x20;
    mouse_send(mouse, b0);
    mouse_send(mouse, dx & 0xff);
    mouse_send(mouse, dy & 0xff);
    if (mouse->id == 3)
        mouse_send(mouse, dz & 0xff);
    else if (mouse->id == 4)
        mouse_send(mouse, (dz & 0x0f) | (mouse->buttons & 0x18) << 1);
    mouse->dx -= dx;
    mouse->dy -= dy;
    mouse->dz = mouse->id >= 3 ? mouse->dz - dz : 0;
}

static void mouse_status(struct ps2_mouse *mouse)
{
    uint8_t status = (mouse->remote ? STATUS_REMOTE : 0) |
                     (mouse->enabled ? STATUS_ENABLED : 0) |
                     (mouse->scaling_2to1 ? STATUS_SCALING : 0) |
                     /* left is bit 2, middle bit 1, right bit 0 */
                     (mouse->buttons & PS2_BUTTON_LEFT ? 0x04 : 0) |
                     (mouse->buttons & PS2_BUTTON_MIDDLE ? 0x02 : 0) |
                     (mouse->buttons & PS2_BUTTON_RIGHT ? 0x01 : 0);

    mouse_send(mouse, status);
    mouse_send(mouse, mouse->resolution);
    mouse_send(mouse, mouse->sample_rate);
}

/* Mouse commands (PS/2 Technical Reference, "Pointing Device Commands"). */
void ps2_mouse_write(struct ps2_mouse *mouse, uint8_t byte)
{
    if (mouse->wrap && byte != 0xec && byte != 0xff) {
        mouse_send(mouse, byte);
        return;
    }
    if (mouse->pending != MOUSE_NONE) {
        enum mouse_pending pending = mouse->pending;

        mouse->pending = MOUSE_NONE;
        if (pending == MOUSE_SAMPLE_RATE)
            mouse_set_rate(mouse, byte);
        else
            mouse->resolution = byte & 3;
        mouse_send(mouse, PS2_ACK);
        return;
    }
    switch (byte) {
    case 0xe6:                      /* scaling 1:1 */
    case 0xe7:                      /* scaling 2:1 */
        mouse->scaling_2to1 = byte == 0xe7;
        mouse_send(mouse, PS2_ACK);
        break;
    case 0xe8:                      /* set resolution */
        mouse_send(mouse, PS2_ACK);
        mouse->pending = MOUSE_RESOLUTION;
        break;
    case 0xe9:                      /* status request */
        mouse_send(mouse, PS2_ACK);
        mouse_status(mouse);
        break;
    case 0xea:                      /* stream mode */
        mouse->remote = false;
        mouse_send(mouse, PS2_ACK);
        break;
    case 0xeb:                      /* read data */
        mouse_send(mouse, PS2_ACK);
        mouse_send_packet(mouse);
        break;
    case 0xec:                      /* reset wrap mode */
        mouse->wrap = false;
        mouse_send(mouse, PS2_ACK);
        break;
    case 0xee:                      /* wrap mode */
        mouse->wrap = true;
        mouse_send(mouse, PS2_ACK);
        break;
    case 0xf0:                      /* remote mode */
        mouse->remote = true;
        mouse_send(mouse, PS2_ACK);
        break;
    case 0xf2:                      /* read device type */
        mouse_send(mouse, PS2_ACK);
        mouse_send(mouse, mouse->id);
        break;
    case 0xf3:                      /* set sample rate */
        mouse_send(mouse, PS2_ACK);
        mouse->pending = MOUSE_SAMPLE_RATE;
        break;
    case 0xf4:                      /* enable data reporting */
        mouse->enabled = true;
        mouse_send(mouse, PS2_ACK);
        break;
    case 0xf5:                      /* disable data reporting */
        mouse->enabled = false;
        mouse_send(mouse, PS2_ACK);
        break;
    case 0xf6:                      /* set defaults */
        mouse_defaults(mouse);
        mouse_send(mouse, PS2_ACK);
        break;
    case 0xfe:                      /* resend */
        queue_push(&mouse->queue, mouse->last_sent);
        break;
    case 0xff:                      /* reset: ACK, BAT passed, ID 0 */
        ps2_mouse_reset(mouse);
        mouse_send(mouse, PS2_ACK);
        mouse_send(mouse, PS2_BAT_OK);
        mouse_send(mouse, 0x00);
        break;
    default:
        mouse_send(mouse, PS2_RESEND);
        break;
    }
}

bool ps2_mouse_read(struct ps2_mouse *mouse, uint8_t *byte)
{
    return queue_pop(&mouse->queue, byte);
}

void ps2_mouse_event(struct ps2_mouse *mouse, int dx, int dy, int dz,
                     unsigned buttons)
{
    bool changed = (buttons & 0x1f) != mouse->buttons;

    mouse->buttons = buttons & 0x1f;
    if (!mouse->enabled && !mouse->remote)
        return;                     /* nothing is counted while not reporting */
    /* PS/2 Y grows upwards, and a wheel turned towards the user is positive. */
    mouse->dx = CLAMP((int64_t)mouse->dx + dx, -65536, 65535);
    mouse->dy = CLAMP((int64_t)mouse->dy - dy, -65536, 65535);
    if (mouse->id >= 3)
        mouse->dz = CLAMP((int64_t)mouse->dz - dz, -256, 255);
    if (mouse->remote || (!changed && !mouse->dx && !mouse->dy && !mouse->dz))
        return;
    /* Large moves go out as several packets, while the queue has room. */
    do {
        mouse_send_packet(mouse);
    } while ((mouse->dx || mouse->dy || mouse->dz) &&
             queue_free(&mouse->queue) >= 4u);
}

unsigned ps2_mouse_id(const struct ps2_mouse *mouse)
{
    return mouse->id;
}
