/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MimicVm: the engine thread with its own GMainContext, the command queue
 * that drives the machine through its legal states, and event delivery to
 * subscribers in their own main contexts.
 */
#define G_LOG_DOMAIN "mimic-engine"

#include "engine/vm.h"

#include <string.h>

#include "engine/command-queue.h"
#include "engine/machine.h"

struct subscriber {
    guint id;
    MimicEventFunc func;
    gpointer user_data;
    GMainContext *context;
};

/* Outlives the VM while event deliveries are still queued. */
struct subscriber_list {
    gatomicrefcount ref;
    GMutex lock;
    GList *list;                /* struct subscriber * */
    guint next_id;
};

struct mimic_vm {
    struct vm_config *config;
    GMainContext *context;
    GMainLoop *loop;
    GThread *thread;
    struct command_queue *queue;
    struct vclock *clock;
    struct machine *machine;

    gint state;                 /* MimicVmState; written on the engine thread */
    gint exit_code;
    gboolean quitting;

    struct subscriber_list *subscribers;
};

struct reply_closure {
    MimicVm *vm;
    MimicReplyFunc func;
    gpointer user_data;
};

struct event_delivery {
    MimicVm *vm;
    struct subscriber_list *subscribers;
    guint subscriber_id;
    MimicEvent event;
};

G_DEFINE_QUARK(mimic-error-quark, mimic_error)

const char *mimic_vm_state_name(MimicVmState state)
{
    switch (state) {
    case MIMIC_VM_CREATED: return "created";
    case MIMIC_VM_RUNNING: return "running";
    case MIMIC_VM_PAUSED: return "paused";
    case MIMIC_VM_SHUTDOWN: return "shutdown";
    case MIMIC_VM_FAILED: return "failed";
    }
    return "unknown";
}

static const char *command_name(MimicCommand command)
{
    switch (command) {
    case MIMIC_COMMAND_START: return "start";
    case MIMIC_COMMAND_PAUSE: return "pause";
    case MIMIC_COMMAND_RESUME: return "resume";
    case MIMIC_COMMAND_RESET: return "reset";
    case MIMIC_COMMAND_POWER_DOWN: return "power down";
    case MIMIC_COMMAND_QUIT: return "quit";
    case MIMIC_COMMAND_POWER_BUTTON: return "press the power button";
    case MIMIC_COMMAND_SCREENDUMP: return "take a screendump";
    case MIMIC_COMMAND_INPUT: return "send input";
    }
    return "unknown command";
}

gboolean mimic_vm_command_allowed(MimicVmState state, MimicCommand command)
{
    switch (command) {
    case MIMIC_COMMAND_START:
        return state == MIMIC_VM_CREATED || state == MIMIC_VM_SHUTDOWN ||
               state == MIMIC_VM_FAILED;
    case MIMIC_COMMAND_PAUSE:
        return state == MIMIC_VM_RUNNING;
    case MIMIC_COMMAND_RESUME:
        return state == MIMIC_VM_PAUSED;
    case MIMIC_COMMAND_RESET:
    case MIMIC_COMMAND_POWER_DOWN:
        return state == MIMIC_VM_RUNNING || state == MIMIC_VM_PAUSED;
    case MIMIC_COMMAND_QUIT:
    case MIMIC_COMMAND_SCREENDUMP:
        return TRUE;
    case MIMIC_COMMAND_POWER_BUTTON:
        return state == MIMIC_VM_RUNNING;
    case MIMIC_COMMAND_INPUT:
        return state == MIMIC_VM_RUNNING || state == MIMIC_VM_PAUSED;
    }
    return FALSE;
}

/* ---- events ---- */

static struct subscriber_list *subscriber_list_ref(struct subscriber_list *s)
{
    g_atomic_ref_count_inc(&s->ref);
    return s;
}

static void subscriber_list_unref(struct subscriber_list *s)
{
    if (!g_atomic_ref_count_dec(&s->ref))
        return;
    g_list_free_full(s->list, g_free);
    g_mutex_clear(&s->lock);
    g_free(s);
}

static void event_delivery_free(gpointer data)
{
    struct event_delivery *d = data;

    subscriber_list_unref(d->subscribers);
    g_free(d);
}

static gboolean deliver_event(gpointer data)
{
    struct event_delivery *d = data;
    MimicEventFunc func = NULL;
    gpointer user_data = NULL;

    g_mutex_lock(&d->subscribers->lock);
    for (GList *l = d->subscribers->list; l; l = l->next) {
        struct subscriber *s = l->data;

        if (s->id == d->subscriber_id) {
            func = s->func;
            user_data = s->user_data;
        }
    }
    g_mutex_unlock(&d->subscribers->lock);
    if (func)
        func(d->vm, &d->event, user_data);
    return G_SOURCE_REMOVE;
}

static void emit(MimicVm *vm, const MimicEvent *event)
{
    g_mutex_lock(&vm->subscribers->lock);
    for (GList *l = vm->subscribers->list; l; l = l->next) {
        struct subscriber *s = l->data;
        struct event_delivery *d = g_new0(struct event_delivery, 1);
        GSource *idle = g_idle_source_new();

        d->vm = vm;
        d->subscribers = subscriber_list_ref(vm->subscribers);
        d->subscriber_id = s->id;
        d->event = *event;
        g_source_set_priority(idle, G_PRIORITY_DEFAULT);
        g_source_set_callback(idle, deliver_event, d, event_delivery_free);
        g_source_attach(idle, s->context);
        g_source_unref(idle);
    }
    g_mutex_unlock(&vm->subscribers->lock);
}

static void set_state(MimicVm *vm, MimicVmState state, MimicReason reason)
{
    MimicEvent event = {
        .kind = MIMIC_EVENT_STATE_CHANGED,
        .old_state = g_atomic_int_get(&vm->state),
        .new_state = state,
        .reason = reason,
        .exit_code = g_atomic_int_get(&vm->exit_code),
    };

    if (event.old_state == state)
        return;
    g_atomic_int_set(&vm->state, state);
    g_debug("VM state %s -> %s", mimic_vm_state_name(event.old_state),
            mimic_vm_state_name(state));
    emit(vm, &event);
}

static void emit_reset(MimicVm *vm, MimicReason reason)
{
    MimicVmState state = g_atomic_int_get(&vm->state);
    MimicEvent event = {
        .kind = MIMIC_EVENT_RESET,
        .old_state = state,
        .new_state = state,
        .reason = reason,
    };

    emit(vm, &event);
}

/* ---- run control, engine thread ---- */

static void run_machine(MimicVm *vm)
{
    struct machine *m = vm->machine;

    if (!vclock_is_running(vm->clock)) {
        m->accel->clock_resume(m);
        vclock_resume(vm->clock);
    }
    machine_resume(m);
}

static void stop_machine(MimicVm *vm)
{
    struct machine *m = vm->machine;

    machine_pause(m);
    if (vclock_is_running(vm->clock)) {
        vclock_pause(vm->clock);
        m->accel->clock_pause(m);
    }
}

static void fail(MimicVm *vm, const char *what, GError *error)
{
    g_message("%s failed: %s", what, error->message);
    stop_machine(vm);
    set_state(vm, MIMIC_VM_FAILED, MIMIC_REASON_ERROR);
}

static int do_reset(MimicVm *vm, MimicReason reason, GError **error)
{
    MimicVmState state = g_atomic_int_get(&vm->state);
    bool was_running = state == MIMIC_VM_RUNNING;

    stop_machine(vm);
    if (machine_reset(vm->machine, error) < 0)
        return -1;
    emit_reset(vm, reason);
    if (was_running)
        run_machine(vm);
    return 0;
}

struct input_batch {
    unsigned count;
    MimicInputEvent events[];
};

static void deliver_input(MimicVm *vm, const struct input_batch *batch)
{
    struct machine *m = vm->machine;

    for (unsigned i = 0; i < batch->count; i++) {
        const MimicInputEvent *e = &batch->events[i];

        if (e->kind == MIMIC_INPUT_KEY && m->key_event)
            m->key_event(m, e->keycode, e->down);
        else if (e->kind == MIMIC_INPUT_POINTER && m->pointer_event)
            m->pointer_event(m, e->dx, e->dy, e->dz, e->buttons);
    }
}

static void handle_command(void *opaque, struct command *cmd)
{
    MimicVm *vm = opaque;
    MimicCommand command = command_kind(cmd);
    MimicVmState state = g_atomic_int_get(&vm->state);
    GError *error = NULL;

    if (!mimic_vm_command_allowed(state, command)) {
        command_complete(cmd, -1,
                         g_error_new(MIMIC_ERROR, MIMIC_ERROR_INVALID_STATE,
                                     "cannot %s: the VM is %s",
                                     command_name(command),
                                     mimic_vm_state_name(state)));
        return;
    }

    switch (command) {
    case MIMIC_COMMAND_START:
        if (state != MIMIC_VM_CREATED && machine_reset(vm->machine, &error) < 0)
            break;
        g_atomic_int_set(&vm->exit_code, 0);
        run_machine(vm);
        set_state(vm, MIMIC_VM_RUNNING, MIMIC_REASON_HOST);
        break;
    case MIMIC_COMMAND_PAUSE:
        stop_machine(vm);
        set_state(vm, MIMIC_VM_PAUSED, MIMIC_REASON_HOST);
        break;
    case MIMIC_COMMAND_RESUME:
        run_machine(vm);
        set_state(vm, MIMIC_VM_RUNNING, MIMIC_REASON_HOST);
        break;
    case MIMIC_COMMAND_RESET:
        do_reset(vm, MIMIC_REASON_HOST, &error);
        break;
    case MIMIC_COMMAND_POWER_DOWN:
        stop_machine(vm);
        set_state(vm, MIMIC_VM_SHUTDOWN, MIMIC_REASON_HOST);
        break;
    case MIMIC_COMMAND_QUIT: {
        MimicEvent event = { .kind = MIMIC_EVENT_QUIT, .old_state = state,
                             .new_state = state, .reason = MIMIC_REASON_HOST };

        stop_machine(vm);
        vm->quitting = TRUE;
        /* The reply goes out before the event, so whoever ends on the
         * event has already seen the reply. */
        command_complete(cmd, 0, NULL);
        emit(vm, &event);
        g_main_loop_quit(vm->loop);
        return;
    }
    case MIMIC_COMMAND_POWER_BUTTON:
        if (!vm->machine->power_button)
            error = g_error_new_literal(MIMIC_ERROR, MIMIC_ERROR_FAILED,
                                        "this machine has no power button");
        else
            vm->machine->power_button(vm->machine);
        command_complete(cmd, error ? -1 : 0, error);
        return;
    case MIMIC_COMMAND_SCREENDUMP:
        if (!vm->machine->screendump)
            error = g_error_new_literal(MIMIC_ERROR, MIMIC_ERROR_FAILED,
                                        "this machine has no display");
        else
            vm->machine->screendump(vm->machine, command_payload(cmd), &error);
        command_complete(cmd, error ? -1 : 0, error);
        return;
    case MIMIC_COMMAND_INPUT:
        deliver_input(vm, command_payload(cmd));
        command_complete(cmd, 0, NULL);
        return;
    }
    if (error && command != MIMIC_COMMAND_QUIT) {
        GError *copy = g_error_copy(error);

        fail(vm, command_name(command), error);
        g_clear_error(&error);
        error = copy;
    }
    command_complete(cmd, error ? -1 : 0, error);
}

/* Requests posted by the guest from vCPU threads. */
static gboolean handle_requests(gpointer data)
{
    MimicVm *vm = data;
    struct machine *m = vm->machine;
    enum machine_request requests;
    int exit_code;
    g_autoptr(GError) error = NULL;

    if (vm->quitting)
        return G_SOURCE_REMOVE;
    stop_machine(vm);
    requests = machine_take_requests(m, &exit_code);
    if (g_atomic_int_get(&vm->state) != MIMIC_VM_RUNNING)
        return G_SOURCE_REMOVE; /* stale: the VM was stopped meanwhile */

    if (requests & MACHINE_REQUEST_FAIL) {
        g_atomic_int_set(&vm->exit_code, exit_code);
        set_state(vm, MIMIC_VM_FAILED, MIMIC_REASON_ERROR);
    } else if (requests & MACHINE_REQUEST_POWEROFF) {
        g_atomic_int_set(&vm->exit_code, exit_code);
        set_state(vm, MIMIC_VM_SHUTDOWN, MIMIC_REASON_GUEST);
    } else if (requests & MACHINE_REQUEST_RESET) {
        if (vm->config->no_reboot) {
            g_atomic_int_set(&vm->exit_code, 0);
            set_state(vm, MIMIC_VM_SHUTDOWN, MIMIC_REASON_GUEST);
        } else if (do_reset(vm, MIMIC_REASON_GUEST, &error) < 0) {
            fail(vm, "reset", error);
        }
    } else {
        run_machine(vm);
    }
    return G_SOURCE_REMOVE;
}

static void notify_request(struct machine *m, void *opaque)
{
    MimicVm *vm = opaque;
    GSource *idle = g_idle_source_new();

    /* Always through the engine context: never run it on the vCPU thread. */
    g_source_set_priority(idle, G_PRIORITY_DEFAULT);
    g_source_set_callback(idle, handle_requests, vm, NULL);
    g_source_attach(idle, vm->context);
    g_source_unref(idle);
}

static gpointer engine_thread(gpointer data)
{
    MimicVm *vm = data;

    g_main_context_push_thread_default(vm->context);
    g_main_loop_run(vm->loop);
    g_main_context_pop_thread_default(vm->context);
    return NULL;
}

/* ---- public API ---- */

MimicVm *mimic_vm_new(struct vm_config *config, GError **error)
{
    MimicVm *vm;

    g_return_val_if_fail(config != NULL, NULL);
    vm = g_new0(MimicVm, 1);
    vm->config = config;
    vm->context = g_main_context_new();
    vm->loop = g_main_loop_new(vm->context, FALSE);
    vm->subscribers = g_new0(struct subscriber_list, 1);
    g_atomic_ref_count_init(&vm->subscribers->ref);
    g_mutex_init(&vm->subscribers->lock);
    vm->subscribers->next_id = 1;
    vm->clock = vclock_new(vm->context);
    g_atomic_int_set(&vm->state, MIMIC_VM_CREATED);

    vm->machine = machine_create(config, vm->clock, vm->context, error);
    if (!vm->machine)
        goto out_free;
    vm->machine->notify = notify_request;
    vm->machine->notify_opaque = vm;
    if (machine_start_vcpus(vm->machine, error) < 0)
        goto out_free;
    vm->queue = command_queue_new(vm->context, handle_command, vm);
    vm->thread = g_thread_try_new("engine", engine_thread, vm, error);
    if (!vm->thread)
        goto out_free;
    return vm;

out_free:
    mimic_vm_free(vm);
    return NULL;
}

static gboolean quit_loop(gpointer data)
{
    MimicVm *vm = data;

    if (vm->quitting)
        return G_SOURCE_REMOVE;
    if (vm->machine)
        stop_machine(vm);
    vm->quitting = TRUE;
    g_main_loop_quit(vm->loop);
    return G_SOURCE_REMOVE;
}

void mimic_vm_free(MimicVm *vm)
{
    if (!vm)
        return;
    if (vm->thread) {
        g_main_context_invoke(vm->context, quit_loop, vm);
        g_thread_join(vm->thread);
    }
    vm->quitting = TRUE;
    command_queue_free(vm->queue);
    machine_destroy(vm->machine);
    vm->machine = NULL;
    /* Drop whatever the engine context still holds for the machine. */
    while (g_main_context_iteration(vm->context, FALSE))
        ;
    vclock_free(vm->clock);
    g_main_loop_unref(vm->loop);
    g_main_context_unref(vm->context);
    g_mutex_lock(&vm->subscribers->lock);
    g_list_free_full(vm->subscribers->list, g_free);
    vm->subscribers->list = NULL;
    g_mutex_unlock(&vm->subscribers->lock);
    subscriber_list_unref(vm->subscribers);
    vm_config_free(vm->config);
    g_free(vm);
}

static void reply_trampoline(int kind, int64_t result, const GError *error,
                             void *user_data)
{
    struct reply_closure *c = user_data;

    if (c->func)
        c->func(c->vm, kind, error, c->user_data);
    g_free(c);
}

void mimic_vm_send(MimicVm *vm, MimicCommand command, MimicReplyFunc reply,
                   gpointer user_data)
{
    struct reply_closure *c = g_new0(struct reply_closure, 1);

    g_return_if_fail(vm != NULL);
    c->vm = vm;
    c->func = reply;
    c->user_data = user_data;
    command_queue_push(vm->queue, command, NULL, NULL, reply_trampoline, c);
}

void mimic_vm_screendump(MimicVm *vm, const char *path, MimicReplyFunc reply,
                         gpointer user_data)
{
    struct reply_closure *c = g_new0(struct reply_closure, 1);

    g_return_if_fail(vm != NULL && path != NULL);
    c->vm = vm;
    c->func = reply;
    c->user_data = user_data;
    command_queue_push(vm->queue, MIMIC_COMMAND_SCREENDUMP, g_strdup(path),
                       g_free, reply_trampoline, c);
}

void mimic_vm_send_input(MimicVm *vm, const MimicInputEvent *events,
                         unsigned count, MimicReplyFunc reply,
                         gpointer user_data)
{
    struct reply_closure *c = g_new0(struct reply_closure, 1);
    struct input_batch *batch;

    g_return_if_fail(vm != NULL && (events || count == 0));
    batch = g_malloc(sizeof(*batch) + count * sizeof(batch->events[0]));
    batch->count = count;
    memcpy(batch->events, events, count * sizeof(batch->events[0]));
    c->vm = vm;
    c->func = reply;
    c->user_data = user_data;
    command_queue_push(vm->queue, MIMIC_COMMAND_INPUT, batch, g_free,
                       reply_trampoline, c);
}

guint mimic_vm_subscribe(MimicVm *vm, MimicEventFunc func, gpointer user_data)
{
    struct subscriber *s = g_new0(struct subscriber, 1);
    guint id;

    g_return_val_if_fail(vm != NULL && func != NULL, 0);
    s->func = func;
    s->user_data = user_data;
    s->context = g_main_context_get_thread_default();
    if (!s->context)
        s->context = g_main_context_default();
    g_mutex_lock(&vm->subscribers->lock);
    id = s->id = vm->subscribers->next_id++;
    vm->subscribers->list = g_list_append(vm->subscribers->list, s);
    g_mutex_unlock(&vm->subscribers->lock);
    return id;
}

void mimic_vm_unsubscribe(MimicVm *vm, guint id)
{
    g_mutex_lock(&vm->subscribers->lock);
    for (GList *l = vm->subscribers->list; l; l = l->next) {
        struct subscriber *s = l->data;

        if (s->id == id) {
            vm->subscribers->list = g_list_delete_link(vm->subscribers->list, l);
            g_free(s);
            break;
        }
    }
    g_mutex_unlock(&vm->subscribers->lock);
}

char *mimic_vm_text_screen(MimicVm *vm)
{
    struct machine *m = vm->machine;

    return m && m->text_screen ? m->text_screen(m) : NULL;
}

MimicVmState mimic_vm_get_state(MimicVm *vm)
{
    return g_atomic_int_get(&vm->state);
}

int64_t mimic_vm_clock_ns(MimicVm *vm)
{
    return vclock_now_ns(vm->clock);
}

int mimic_vm_exit_code(MimicVm *vm)
{
    return g_atomic_int_get(&vm->exit_code);
}
