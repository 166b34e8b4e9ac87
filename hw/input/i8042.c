/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Intel 8042 keyboard/auxiliary device controller as on the IBM PC/AT and
 * PS/2 (IBM PS/2 Hardware Interface Technical Reference, "Keyboard and
 * Auxiliary Device Controller"): status, command byte, controller
 * commands, output port (reset and A20) and set 2 -> set 1 translation.
 */
#define G_LOG_DOMAIN "mimic-i8042"

#include "hw/input/i8042.h"

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "engine/machine.h"
#include "engine/memory.h"

#define DATA_PORT 0x60
#define COMMAND_PORT 0x64

/* Status register. */
#define ST_OBF 0x01                 /* output buffer full */
#define ST_SYS 0x04                 /* system flag (command byte bit 2) */
#define ST_CMD 0x08                 /* last write was to 0x64 */
#define ST_UNLOCKED 0x10            /* keyboard not inhibited */
#define ST_AUX 0x20                 /* output buffer holds mouse data */

/* Command byte (controller RAM byte 0). */
#define CB_KBD_INT 0x01
#define CB_AUX_INT 0x02
#define CB_SYS 0x04
#define CB_KBD_DISABLE 0x10
#define CB_AUX_DISABLE 0x20
#define CB_XLAT 0x40

/* Output port. */
#define OUT_RESET 0x01              /* 0 holds the system in reset */
#define OUT_A20 0x02
#define OUT_KBD_OBF 0x10
#define OUT_AUX_OBF 0x20

#define INPUT_PORT 0x80             /* keyboard not inhibited */
#define CTRL_QUEUE_SIZE 8

enum source {
    SOURCE_KEYBOARD,
    SOURCE_AUX,
};

enum {
    LOGGED_COMMAND = 1 << 0,
};

struct i8042 {
    struct device dev;
    struct ps2_keyboard *kbd;
    struct ps2_mouse *mouse;
    uint8_t ram[32];                /* ram[0] is the command byte */
    uint8_t outport;
    uint8_t out;                    /* output buffer */
    bool obf;
    enum source out_source;
    /* Replies of the controller itself, ahead of the devices' bytes. */
    uint8_t ctrl_queue[CTRL_QUEUE_SIZE];
    enum source ctrl_source[CTRL_QUEUE_SIZE];
    unsigned ctrl_count;
    uint8_t pending;                /* command waiting for its data byte */
    bool last_was_command;
    bool xlat_release;              /* translation saw 0xF0 */
    bool irq_kbd, irq_aux;
    unsigned logged;
};

static void log_once(struct i8042 *s, unsigned what, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void log_once(struct i8042 *s, unsigned what, const char *fmt, ...)
{
    g_autofree char *text = NULL;
    va_list args;

    if (s->logged & what)
        return;
    s->logged |= what;
    va_start(args, fmt);
    text = g_strdup_vprintf(fmt, args);
    va_end(args);
    g_message("i8042: %s (logged once)", text);
}

static uint8_t command_byte(const struct i8042 *s)
{
    return s->ram[0];
}

static void update_irq(struct i8042 *s)
{
    bool kbd = s->obf && s->out_source == SOURCE_KEYBOARD &&
               (command_byte(s) & CB_KBD_INT);
    bool aux = s->obf && s->out_source == SOURCE_AUX &&
               (command_byte(s) & CB_AUX_INT);

    if (kbd != s->irq_kbd) {
        s->irq_kbd = kbd;
        machine_set_irq(s->dev.machine, I8042_KEYBOARD_GSI, kbd);
    }
    if (aux != s->irq_aux) {
        s->irq_aux = aux;
        machine_set_irq(s->dev.machine, I8042_MOUSE_GSI, aux);
    }
}

static void ctrl_push(struct i8042 *s, uint8_t byte, enum source source)
{
    if (s->ctrl_count == CTRL_QUEUE_SIZE)
        return;
    s->ctrl_queue[s->ctrl_count] = byte;
    s->ctrl_source[s->ctrl_count] = source;
    s->ctrl_count++;
}

/* A keyboard byte as the system sees it, or false if translation ate it. */
static bool translate(struct i8042 *s, uint8_t *byte)
{
    if (!(command_byte(s) & CB_XLAT))
        return true;
    if (*byte == 0xf0) {
        s->xlat_release = true;
        return false;
    }
    *byte = ps2_translate_to_set1(*byte) | (s->xlat_release ? 0x80 : 0);
    s->xlat_release = false;
    return true;
}

/* Fill an empty output buffer: controller replies, keyboard, then mouse. */
static void refill(struct i8042 *s)
{
    uint8_t byte;

    if (!s->obf && s->ctrl_count) {
        s->out = s->ctrl_queue[0];
        s->out_source = s->ctrl_source[0];
        s->obf = true;
        s->ctrl_count--;
        for (unsigned i = 0; i < s->ctrl_count; i++) {
            s->ctrl_queue[i] = s->ctrl_queue[i + 1];
            s->ctrl_source[i] = s->ctrl_source[i + 1];
        }
    }
    while (!s->obf && !(command_byte(s) & CB_KBD_DISABLE) &&
           ps2_keyboard_read(s->kbd, &byte)) {
        if (translate(s, &byte)) {
            s->out = byte;
            s->out_source = SOURCE_KEYBOARD;
            s->obf = true;
        }
    }
    if (!s->obf && !(command_byte(s) & CB_AUX_DISABLE) &&
        ps2_mouse_read(s->mouse, &byte)) {
        s->out = byte;
        s->out_source = SOURCE_AUX;
        s->obf = true;
    }
    update_irq(s);
}

/* Bit 0 low resets the system; bit 1 gates A20. */
static void write_outport(struct i8042 *s, uint8_t value)
{
    s->outport = value;
    if (!(value & OUT_RESET))
        machine_request(s->dev.machine, MACHINE_REQUEST_RESET, 0);
}

static uint8_t read_outport(const struct i8042 *s)
{
    uint8_t v = s->outport & ~(OUT_KBD_OBF | OUT_AUX_OBF);

    if (s->obf)
        v |= s->out_source == SOURCE_AUX ? OUT_AUX_OBF : OUT_KBD_OBF;
    return v;
}

/* Controller commands written to port 0x64. */
static void controller_command(struct i8042 *s, uint8_t cmd)
{
    s->pending = 0;
    if (cmd >= 0x20 && cmd <= 0x3f) {          /* read controller RAM */
        ctrl_push(s, s->ram[cmd & 0x1f], SOURCE_KEYBOARD);
        return;
    }
    if (cmd >= 0x60 && cmd <= 0x7f) {          /* write controller RAM */
        s->pending = cmd;
        return;
    }
    if (cmd >= 0xf0) {
        /* Pulse output port bits 0-3 low for those clear in the command. */
        if (!(cmd & OUT_RESET))
            machine_request(s->dev.machine, MACHINE_REQUEST_RESET, 0);
        return;
    }
    switch (cmd) {
    case 0xa4:                                  /* password installed? no */
        ctrl_push(s, 0xf1, SOURCE_KEYBOARD);
        break;
    case 0xa5:                                  /* load password */
        s->pending = cmd;
        break;
    case 0xa6:                                  /* enable security: none */
        break;
    case 0xa7:
        s->ram[0] |= CB_AUX_DISABLE;
        break;
    case 0xa8:
        s->ram[0] &= ~CB_AUX_DISABLE;
        break;
    case 0xa9:                                  /* aux interface test: OK */
        ctrl_push(s, 0x00, SOURCE_KEYBOARD);
        break;
    case 0xaa:                                  /* self-test: passed */
        s->ram[0] |= CB_SYS;
        ctrl_push(s, 0x55, SOURCE_KEYBOARD);
        break;
    case 0xab:                                  /* keyboard interface test */
        ctrl_push(s, 0x00, SOURCE_KEYBOARD);
        break;
    case 0xad:
        s->ram[0] |= CB_KBD_DISABLE;
        break;
    case 0xae:
        s->ram[0] &= ~CB_KBD_DISABLE;
        break;
    case 0xc0:                                  /* read input port */
        ctrl_push(s, INPUT_PORT, SOURCE_KEYBOARD);
        break;
    case 0xc1:                                  /* poll input port: no-ops */
    case 0xc2:
        break;
    case 0xd0:                                  /* read output port */
        ctrl_push(s, read_outport(s), SOURCE_KEYBOARD);
        break;
    case 0xd1:                                  /* write output port */
    case 0xd2:                                  /* write keyboard output buffer */
    case 0xd3:                                  /* write aux output buffer */
    case 0xd4:                                  /* write to aux device */
        s->pending = cmd;
        break;
    case 0xdd:                                  /* A20 off / on (HP, common) */
        s->outport &= ~OUT_A20;
        break;
    case 0xdf:
        s->outport |= OUT_A20;
        break;
    case 0xe0:                                  /* read test inputs */
        ctrl_push(s, 0x00, SOURCE_KEYBOARD);
        break;
    default:
        log_once(s, LOGGED_COMMAND, "guest sent unknown controller command "
                 "0x%02x; ignored", cmd);
        break;
    }
}

/* The data byte of a command that takes one. */
static void command_data(struct i8042 *s, uint8_t value)
{
    uint8_t cmd = s->pending;

    s->pending = 0;
    if (cmd >= 0x60 && cmd <= 0x7f) {
        s->ram[cmd & 0x1f] = value;
        return;
    }
    switch (cmd) {
    case 0xa5:
        if (value != 0)
            s->pending = cmd;                   /* until the terminating 0 */
        break;
    case 0xd1:
        write_outport(s, value);
        break;
    case 0xd2:
        ctrl_push(s, value, SOURCE_KEYBOARD);
        break;
    case 0xd3:
        ctrl_push(s, value, SOURCE_AUX);
        break;
    case 0xd4:
        ps2_mouse_write(s->mouse, value);
        break;
    }
}

static uint64_t data_read(void *opaque, uint64_t offset, unsigned size)
{
    struct i8042 *s = opaque;
    uint8_t v = s->out;

    s->obf = false;
    refill(s);
    return v;
}

static void data_write(void *opaque, uint64_t offset, uint64_t value,
                       unsigned size)
{
    struct i8042 *s = opaque;

    s->last_was_command = false;
    if (s->pending) {
        command_data(s, value);
    } else {
        /* Writing to the keyboard enables its interface. */
        s->ram[0] &= ~CB_KBD_DISABLE;
        ps2_keyboard_write(s->kbd, value);
    }
    refill(s);
}

static uint64_t status_read(void *opaque, uint64_t offset, unsigned size)
{
    struct i8042 *s = opaque;
    uint8_t v = ST_UNLOCKED;

    if (s->obf)
        v |= ST_OBF | (s->out_source == SOURCE_AUX ? ST_AUX : 0);
    if (command_byte(s) & CB_SYS)
        v |= ST_SYS;
    if (s->last_was_command)
        v |= ST_CMD;
    return v;
}

static void command_write(void *opaque, uint64_t offset, uint64_t value,
                          unsigned size)
{
    struct i8042 *s = opaque;

    s->last_was_command = true;
    controller_command(s, value);
    refill(s);
}

static const struct memory_ops data_ops = {
    .read = data_read,
    .write = data_write,
};

static const struct memory_ops command_ops = {
    .read = status_read,
    .write = command_write,
};

static struct i8042 *to_i8042(struct device *dev)
{
    g_return_val_if_fail(dev && dev->cls == &i8042_device_class, NULL);
    return (struct i8042 *)dev;
}

void i8042_key_event(struct device *dev, unsigned keycode, bool down)
{
    struct i8042 *s = to_i8042(dev);

    if (!s)
        return;
    g_mutex_lock(&dev->machine->device_lock);
    ps2_keyboard_key_event(s->kbd, keycode, down);
    refill(s);
    g_mutex_unlock(&dev->machine->device_lock);
}

void i8042_mouse_event(struct device *dev, int dx, int dy, int dz,
                       unsigned buttons)
{
    struct i8042 *s = to_i8042(dev);

    if (!s)
        return;
    g_mutex_lock(&dev->machine->device_lock);
    ps2_mouse_event(s->mouse, dx, dy, dz, buttons);
    refill(s);
    g_mutex_unlock(&dev->machine->device_lock);
}

bool i8042_a20_enabled(struct device *dev)
{
    struct i8042 *s = to_i8042(dev);

    return !s || (s->outport & OUT_A20);
}

/* Interrupts on, no translation until the firmware asks; A20 enabled. */
static void i8042_reset(struct device *dev)
{
    struct i8042 *s = (struct i8042 *)dev;

    ps2_keyboard_reset(s->kbd);
    ps2_mouse_reset(s->mouse);
    memset(s->ram, 0, sizeof(s->ram));
    s->ram[0] = CB_KBD_INT | CB_AUX_INT;
    s->outport = OUT_RESET | OUT_A20;
    s->obf = false;
    s->ctrl_count = 0;
    s->pending = 0;
    s->last_was_command = false;
    s->xlat_release = false;
    update_irq(s);
}

static void i8042_destroy(struct device *dev)
{
    struct i8042 *s = (struct i8042 *)dev;

    ps2_keyboard_free(s->kbd);
    ps2_mouse_free(s->mouse);
    g_free(s);
}

struct device *i8042_create(struct machine *m, GError **error)
{
    struct i8042 *s = g_new0(struct i8042, 1);
    const struct memory_region *data;

    s->dev.cls = &i8042_device_class;
    s->dev.machine = m;
    s->kbd = ps2_keyboard_new();
    s->mouse = ps2_mouse_new();
    data = memory_map_add_io(m->io, "i8042-data", DATA_PORT, 1, &data_ops, s,
                             error);
    if (!data)
        goto out_free;
    if (!memory_map_add_io(m->io, "i8042-command", COMMAND_PORT, 1,
                           &command_ops, s, error))
        goto out_remove_data;
    i8042_reset(&s->dev);
    machine_add_device(m, &s->dev);
    return &s->dev;

out_remove_data:
    memory_map_remove(m->io, data);
out_free:
    i8042_destroy(&s->dev);
    return NULL;
}

const struct device_class i8042_device_class = {
    .name = "i8042",
    .reset = i8042_reset,
    .destroy = i8042_destroy,
};
