/* SPDX-License-Identifier: GPL-2.0-or-later */
/* QMP key names (QEMU's QKeyCode spellings) to Linux input event codes. */
#include "engine/keycodes.h"

#include <linux/input-event-codes.h>
#include <stdlib.h>
#include <string.h>

struct qcode {
    const char *name;
    int keycode;
};

/* Sorted by name for bsearch. */
static const struct qcode qcodes[] = {
    { "0", KEY_0 },
    { "1", KEY_1 },
    { "2", KEY_2 },
    { "3", KEY_3 },
    { "4", KEY_4 },
    { "5", KEY_5 },
    { "6", KEY_6 },
    { "7", KEY_7 },
    { "8", KEY_8 },
    { "9", KEY_9 },
    { "a", KEY_A },
    { "again", KEY_AGAIN },
    { "alt", KEY_LEFTALT },
    { "alt_r", KEY_RIGHTALT },
    { "apostrophe", KEY_APOSTROPHE },
    { "audiomute", KEY_MUTE },
    { "b", KEY_B },
    { "backslash", KEY_BACKSLASH },
    { "backspace", KEY_BACKSPACE },
    { "bracket_left", KEY_LEFTBRACE },
    { "bracket_right", KEY_RIGHTBRACE },
    { "c", KEY_C },
    { "caps_lock", KEY_CAPSLOCK },
    { "comma", KEY_COMMA },
    { "copy", KEY_COPY },
    { "ctrl", KEY_LEFTCTRL },
    { "ctrl_r", KEY_RIGHTCTRL },
    { "cut", KEY_CUT },
    { "d", KEY_D },
    { "delete", KEY_DELETE },
    { "dot", KEY_DOT },
    { "down", KEY_DOWN },
    { "e", KEY_E },
    { "end", KEY_END },
    { "equal", KEY_EQUAL },
    { "esc", KEY_ESC },
    { "f", KEY_F },
    { "f1", KEY_F1 },
    { "f10", KEY_F10 },
    { "f11", KEY_F11 },
    { "f12", KEY_F12 },
    { "f13", KEY_F13 },
    { "f14", KEY_F14 },
    { "f15", KEY_F15 },
    { "f16", KEY_F16 },
    { "f17", KEY_F17 },
    { "f18", KEY_F18 },
    { "f19", KEY_F19 },
    { "f2", KEY_F2 },
    { "f20", KEY_F20 },
    { "f21", KEY_F21 },
    { "f22", KEY_F22 },
    { "f23", KEY_F23 },
    { "f24", KEY_F24 },
    { "f3", KEY_F3 },
    { "f4", KEY_F4 },
    { "f5", KEY_F5 },
    { "f6", KEY_F6 },
    { "f7", KEY_F7 },
    { "f8", KEY_F8 },
    { "f9", KEY_F9 },
    { "find", KEY_FIND },
    { "front", KEY_FRONT },
    { "g", KEY_G },
    { "grave_accent", KEY_GRAVE },
    { "h", KEY_H },
    { "help", KEY_HELP },
    { "henkan", KEY_HENKAN },
    { "hiragana", KEY_HIRAGANA },
    { "home", KEY_HOME },
    { "i", KEY_I },
    { "insert", KEY_INSERT },
    { "j", KEY_J },
    { "k", KEY_K },
    { "kp_0", KEY_KP0 },
    { "kp_1", KEY_KP1 },
    { "kp_2", KEY_KP2 },
    { "kp_3", KEY_KP3 },
    { "kp_4", KEY_KP4 },
    { "kp_5", KEY_KP5 },
    { "kp_6", KEY_KP6 },
    { "kp_7", KEY_KP7 },
    { "kp_8", KEY_KP8 },
    { "kp_9", KEY_KP9 },
    { "kp_add", KEY_KPPLUS },
    { "kp_comma", KEY_KPCOMMA },
    { "kp_decimal", KEY_KPDOT },
    { "kp_divide", KEY_KPSLASH },
    { "kp_enter", KEY_KPENTER },
    { "kp_equals", KEY_KPEQUAL },
    { "kp_multiply", KEY_KPASTERISK },
    { "kp_subtract", KEY_KPMINUS },
    { "l", KEY_L },
    { "left", KEY_LEFT },
    { "less", KEY_102ND },
    { "lf", KEY_LINEFEED },
    { "m", KEY_M },
    { "menu", KEY_COMPOSE },
    { "meta_l", KEY_LEFTMETA },
    { "meta_r", KEY_RIGHTMETA },
    { "minus", KEY_MINUS },
    { "muhenkan", KEY_MUHENKAN },
    { "n", KEY_N },
    { "num_lock", KEY_NUMLOCK },
    { "o", KEY_O },
    { "open", KEY_OPEN },
    { "p", KEY_P },
    { "paste", KEY_PASTE },
    { "pause", KEY_PAUSE },
    { "pgdn", KEY_PAGEDOWN },
    { "pgup", KEY_PAGEUP },
    { "power", KEY_POWER },
    { "print", KEY_SYSRQ },
    { "props", KEY_PROPS },
    { "q", KEY_Q },
    { "r", KEY_R },
    { "ret", KEY_ENTER },
    { "right", KEY_RIGHT },
    { "ro", KEY_RO },
    { "s", KEY_S },
    { "scroll_lock", KEY_SCROLLLOCK },
    { "semicolon", KEY_SEMICOLON },
    { "shift", KEY_LEFTSHIFT },
    { "shift_r", KEY_RIGHTSHIFT },
    { "slash", KEY_SLASH },
    { "sleep", KEY_SLEEP },
    { "spc", KEY_SPACE },
    { "stop", KEY_STOP },
    { "sysrq", KEY_SYSRQ },
    { "t", KEY_T },
    { "tab", KEY_TAB },
    { "u", KEY_U },
    { "undo", KEY_UNDO },
    { "up", KEY_UP },
    { "v", KEY_V },
    { "volumedown", KEY_VOLUMEDOWN },
    { "volumeup", KEY_VOLUMEUP },
    { "w", KEY_W },
    { "wake", KEY_WAKEUP },
    { "x", KEY_X },
    { "y", KEY_Y },
    { "yen", KEY_YEN },
    { "z", KEY_Z },
};

static int compare_name(const void *key, const void *entry)
{
    return strcmp(key, ((const struct qcode *)entry)->name);
}

int keycode_from_qcode(const char *qcode)
{
    const struct qcode *q = bsearch(qcode, qcodes, sizeof(qcodes) / sizeof(qcodes[0]),
                                    sizeof(qcodes[0]), compare_name);

    return q ? q->keycode : -1;
}

const char *keycode_to_qcode(int keycode)
{
    for (size_t i = 0; i < sizeof(qcodes) / sizeof(qcodes[0]); i++)
        if (qcodes[i].keycode == keycode)
            return qcodes[i].name;
    return NULL;
}
