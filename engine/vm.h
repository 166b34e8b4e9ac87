/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine API: the only thing ui-gtk/, display/ and app/ use. A MimicVm
 * owns an engine thread, which owns the machine; front ends send it commands
 * and subscribe to its events, both delivered in their own main context.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "engine/config.h"

typedef struct mimic_vm MimicVm;

typedef enum {
    MIMIC_VM_CREATED,       /* built, never run */
    MIMIC_VM_RUNNING,
    MIMIC_VM_PAUSED,
    MIMIC_VM_SHUTDOWN,      /* powered off; start boots it again */
    MIMIC_VM_FAILED,        /* the accelerator gave up; start boots it again */
} MimicVmState;

typedef enum {
    MIMIC_COMMAND_START,        /* CREATED/SHUTDOWN/FAILED -> RUNNING */
    MIMIC_COMMAND_PAUSE,        /* RUNNING -> PAUSED */
    MIMIC_COMMAND_RESUME,       /* PAUSED -> RUNNING */
    MIMIC_COMMAND_RESET,        /* RUNNING/PAUSED: reset, same state */
    MIMIC_COMMAND_POWER_DOWN,   /* RUNNING/PAUSED -> SHUTDOWN (pull the plug) */
    MIMIC_COMMAND_QUIT,         /* stop everything, end the engine thread */
    MIMIC_COMMAND_POWER_BUTTON, /* RUNNING: press the ACPI power button */
    MIMIC_COMMAND_SCREENDUMP,   /* any state: write the screen as PNG */
    MIMIC_COMMAND_INPUT,        /* RUNNING/PAUSED: keyboard and pointer events */
} MimicCommand;

/* Pointer buttons for MimicInputEvent. */
enum {
    MIMIC_BUTTON_LEFT = 1 << 0,
    MIMIC_BUTTON_RIGHT = 1 << 1,
    MIMIC_BUTTON_MIDDLE = 1 << 2,
};

typedef struct {
    enum { MIMIC_INPUT_KEY, MIMIC_INPUT_POINTER } kind;
    int keycode;                /* Linux KEY_* code (engine/keycodes.h) */
    gboolean down;
    int dx, dy, dz;             /* relative motion and wheel */
    unsigned buttons;           /* MIMIC_BUTTON_* held after this event */
} MimicInputEvent;

typedef enum {
    MIMIC_EVENT_STATE_CHANGED,
    MIMIC_EVENT_RESET,          /* the machine was reset (guest or command) */
    MIMIC_EVENT_QUIT,           /* the engine thread is ending */
} MimicEventKind;

typedef enum {
    MIMIC_REASON_HOST,          /* a command */
    MIMIC_REASON_GUEST,         /* guest power-off or reset */
    MIMIC_REASON_ERROR,         /* accelerator failure */
} MimicReason;

typedef struct {
    MimicEventKind kind;
    MimicVmState old_state;
    MimicVmState new_state;
    MimicReason reason;
    int exit_code;              /* guest power-off: the code it asked for */
} MimicEvent;

typedef void (*MimicReplyFunc)(MimicVm *vm, MimicCommand command,
                               const GError *error, gpointer user_data);
typedef void (*MimicEventFunc)(MimicVm *vm, const MimicEvent *event,
                               gpointer user_data);

#define MIMIC_ERROR (mimic_error_quark())
GQuark mimic_error_quark(void);

typedef enum {
    MIMIC_ERROR_FAILED,
    MIMIC_ERROR_INVALID_STATE,  /* command not legal in the current state */
    MIMIC_ERROR_NO_ACCEL,       /* the accelerator is missing or unusable */
    MIMIC_ERROR_CONFIG,         /* bad configuration */
} MimicErrorCode;

/* Build the machine (no vCPU runs) and start the engine thread. Takes
 * ownership of @config, also on failure. */
MimicVm *mimic_vm_new(struct vm_config *config, GError **error);
/* Quits if needed and joins the engine thread. */
void mimic_vm_free(MimicVm *vm);

/* Replies come in the caller's thread-default main context. */
void mimic_vm_send(MimicVm *vm, MimicCommand command, MimicReplyFunc reply,
                   gpointer user_data);
/* Write the guest screen to @path as PNG. */
void mimic_vm_screendump(MimicVm *vm, const char *path, MimicReplyFunc reply,
                         gpointer user_data);
/* Deliver @count input events in order. */
void mimic_vm_send_input(MimicVm *vm, const MimicInputEvent *events,
                         unsigned count, MimicReplyFunc reply,
                         gpointer user_data);

/*
 * The text-mode screen as UTF-8 lines, or NULL (graphics mode, no display).
 * Any thread: the display takes its own lock. g_free the result.
 */
char *mimic_vm_text_screen(MimicVm *vm);

/* Events come in the caller's thread-default main context. */
guint mimic_vm_subscribe(MimicVm *vm, MimicEventFunc func, gpointer user_data);
void mimic_vm_unsubscribe(MimicVm *vm, guint id);

MimicVmState mimic_vm_get_state(MimicVm *vm);
const char *mimic_vm_state_name(MimicVmState state);
/* Whether @command is legal in @state (the transition table). */
gboolean mimic_vm_command_allowed(MimicVmState state, MimicCommand command);
/* Guest virtual clock in ns: stands still while paused. */
int64_t mimic_vm_clock_ns(MimicVm *vm);
/* The exit code of the last guest power-off (0 if none). */
int mimic_vm_exit_code(MimicVm *vm);
