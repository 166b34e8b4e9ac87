/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP-style control socket: the greeting, capabilities negotiation, the run
 * control commands and asynchronous events, as QEMU's QMP speaks them
 * (QEMU docs/interop/qmp-spec). Runs in the creating thread's main context
 * and talks to the VM only through the engine API.
 */
#define G_LOG_DOMAIN "mimic-qmp"

#include "engine/qmp.h"

#include "engine/keycodes.h"

#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#define QMP_MAX_MESSAGE (1 << 20)

struct qmp_client {
    gatomicrefcount ref;
    struct qmp_server *server;  /* NULL once the server is gone */
    GSocket *socket;
    GSource *source;
    GString *input;
    gboolean negotiated;
    gboolean closed;
};

struct qmp_server {
    MimicVm *vm;
    char *path;
    GSocket *listener;
    GSource *accept_source;
    GMainContext *context;
    GList *clients;             /* struct qmp_client * */
    guint subscription;
    qmp_quit_fn on_quit;
    gpointer on_quit_data;
    gboolean quit_requested;
    unsigned buttons;           /* pointer buttons held, for input-send-event */
};

/* A command waiting for the engine's reply. */
struct pending {
    struct qmp_client *client;
    JsonNode *id;
    MimicCommand command;
    gboolean quit;
};

static struct qmp_client *client_ref(struct qmp_client *c)
{
    g_atomic_ref_count_inc(&c->ref);
    return c;
}

static void client_unref(struct qmp_client *c)
{
    if (!g_atomic_ref_count_dec(&c->ref))
        return;
    g_object_unref(c->socket);
    g_string_free(c->input, TRUE);
    g_free(c);
}

static void client_close(struct qmp_client *c)
{
    if (c->closed)
        return;
    c->closed = TRUE;
    g_source_destroy(c->source);
    g_source_unref(c->source);
    g_socket_close(c->socket, NULL);
    if (c->server)
        c->server->clients = g_list_remove(c->server->clients, c);
    c->server = NULL;
    client_unref(c);
}

static void client_send_node(struct qmp_client *c, JsonNode *node)
{
    g_autofree char *text = json_to_string(node, FALSE);
    g_autofree char *line = g_strconcat(text, "\r\n", NULL);
    gsize length = strlen(line), done = 0;

    if (c->closed)
        return;
    while (done < length) {
        gssize n = g_socket_send_with_blocking(c->socket, line + done,
                                               length - done, TRUE, NULL, NULL);
        if (n <= 0) {
            client_close(c);
            return;
        }
        done += n;
    }
}

static JsonNode *object_node(JsonObject *object)
{
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);

    json_node_take_object(node, object);
    return node;
}

static void send_return(struct qmp_client *c, JsonNode *id, JsonNode *value)
{
    JsonObject *reply = json_object_new();
    g_autoptr(JsonNode) node = NULL;

    json_object_set_member(reply, "return",
                           value ? value : object_node(json_object_new()));
    if (id)
        json_object_set_member(reply, "id", json_node_copy(id));
    node = object_node(reply);
    client_send_node(c, node);
}

static void send_error(struct qmp_client *c, JsonNode *id, const char *klass,
                       const char *desc)
{
    JsonObject *reply = json_object_new();
    JsonObject *error = json_object_new();
    g_autoptr(JsonNode) node = NULL;

    json_object_set_string_member(error, "class", klass);
    json_object_set_string_member(error, "desc", desc);
    json_object_set_object_member(reply, "error", error);
    if (id)
        json_object_set_member(reply, "id", json_node_copy(id));
    node = object_node(reply);
    client_send_node(c, node);
}

static void broadcast_event(struct qmp_server *s, const char *name,
                            JsonObject *data)
{
    JsonObject *event = json_object_new();
    JsonObject *timestamp = json_object_new();
    gint64 now = g_get_real_time();
    g_autoptr(JsonNode) node = NULL;

    json_object_set_string_member(event, "event", name);
    if (data)
        json_object_set_object_member(event, "data", data);
    json_object_set_int_member(timestamp, "seconds", now / G_USEC_PER_SEC);
    json_object_set_int_member(timestamp, "microseconds", now % G_USEC_PER_SEC);
    json_object_set_object_member(event, "timestamp", timestamp);
    node = object_node(event);
    for (GList *l = s->clients, *next; l; l = next) {
        struct qmp_client *c = l->data;

        next = l->next;
        if (c->negotiated)
            client_send_node(c, node);
    }
}

static const char *qmp_status(MimicVmState state)
{
    switch (state) {
    case MIMIC_VM_CREATED: return "prelaunch";
    case MIMIC_VM_RUNNING: return "running";
    case MIMIC_VM_PAUSED: return "paused";
    case MIMIC_VM_SHUTDOWN: return "shutdown";
    case MIMIC_VM_FAILED: return "internal-error";
    }
    return "debug";
}

static void on_vm_event(MimicVm *vm, const MimicEvent *event, gpointer user_data)
{
    struct qmp_server *s = user_data;
    JsonObject *data;

    switch (event->kind) {
    case MIMIC_EVENT_STATE_CHANGED:
        if (event->new_state == MIMIC_VM_PAUSED) {
            broadcast_event(s, "STOP", NULL);
        } else if (event->new_state == MIMIC_VM_RUNNING) {
            broadcast_event(s, "RESUME", NULL);
        } else if (event->new_state == MIMIC_VM_SHUTDOWN) {
            data = json_object_new();
            json_object_set_boolean_member(data, "guest",
                                           event->reason == MIMIC_REASON_GUEST);
            json_object_set_string_member(data, "reason",
                                          event->reason == MIMIC_REASON_GUEST
                                              ? "guest-shutdown"
                                              : "host-qmp-system-powerdown");
            broadcast_event(s, "SHUTDOWN", data);
        }
        break;
    case MIMIC_EVENT_RESET:
        data = json_object_new();
        json_object_set_boolean_member(data, "guest",
                                       event->reason == MIMIC_REASON_GUEST);
        json_object_set_string_member(data, "reason",
                                      event->reason == MIMIC_REASON_GUEST
                                          ? "guest-reset"
                                          : "host-qmp-system-reset");
        broadcast_event(s, "RESET", data);
        break;
    case MIMIC_EVENT_QUIT:
        break;
    }
}

static void on_engine_reply(MimicVm *vm, MimicCommand command,
                            const GError *error, gpointer user_data)
{
    struct pending *p = user_data;
    struct qmp_server *s = p->client->server;

    if (error)
        send_error(p->client, p->id, "GenericError", error->message);
    else
        send_return(p->client, p->id, NULL);
    if (p->quit && s && s->on_quit && !s->quit_requested) {
        s->quit_requested = TRUE;
        s->on_quit(s->on_quit_data);
    }
    client_unref(p->client);
    if (p->id)
        json_node_unref(p->id);
    g_free(p);
}

static struct pending *pending_new(struct qmp_client *c, JsonNode *id,
                                   MimicCommand command, gboolean quit)
{
    struct pending *p = g_new0(struct pending, 1);

    p->client = client_ref(c);
    p->id = id ? json_node_copy(id) : NULL;
    p->command = command;
    p->quit = quit;
    return p;
}

static void send_to_engine(struct qmp_client *c, JsonNode *id,
                           MimicCommand command, gboolean quit)
{
    mimic_vm_send(c->server->vm, command, on_engine_reply,
                  pending_new(c, id, command, quit));
}

static void send_screendump(struct qmp_client *c, JsonNode *id, const char *file)
{
    mimic_vm_screendump(c->server->vm, file, on_engine_reply,
                        pending_new(c, id, MIMIC_COMMAND_SCREENDUMP, FALSE));
}

static void cmd_query_status(struct qmp_client *c, JsonNode *id)
{
    MimicVmState state = mimic_vm_get_state(c->server->vm);
    JsonObject *status = json_object_new();

    json_object_set_string_member(status, "status", qmp_status(state));
    json_object_set_boolean_member(status, "running", state == MIMIC_VM_RUNNING);
    json_object_set_boolean_member(status, "singlestep", FALSE);
    send_return(c, id, object_node(status));
}

static void cmd_virtual_clock(struct qmp_client *c, JsonNode *id)
{
    JsonObject *clock = json_object_new();

    json_object_set_int_member(clock, "ns", mimic_vm_clock_ns(c->server->vm));
    send_return(c, id, object_node(clock));
}

/* Mimic's extension: the text-mode screen, for tests and scripts. */
static void cmd_text_screen(struct qmp_client *c, JsonNode *id)
{
    g_autofree char *text = mimic_vm_text_screen(c->server->vm);
    JsonObject *result;

    if (!text) {
        send_error(c, id, "GenericError",
                   "the display is not in a text mode (or there is none)");
        return;
    }
    result = json_object_new();
    json_object_set_string_member(result, "text", text);
    send_return(c, id, object_node(result));
}

static void cmd_query_version(struct qmp_client *c, JsonNode *id)
{
    JsonObject *version = json_object_new();
    JsonObject *triple = json_object_new();

    json_object_set_int_member(triple, "major", 0);
    json_object_set_int_member(triple, "minor", 1);
    json_object_set_int_member(triple, "micro", 0);
    json_object_set_object_member(version, "qemu", triple);
    json_object_set_string_member(version, "package", "mimic");
    send_return(c, id, object_node(version));
}

static const char *const qmp_commands[] = {
    "qmp_capabilities", "query-status", "query-version", "query-commands",
    "stop", "cont", "system_reset", "system_powerdown", "quit", "screendump",
    "send-key", "input-send-event", "x-query-virtual-clock",
    "x-query-text-screen",
};

/* A QKeyCode KeyValue ({"type": "qcode", "data": "a"}) to a Linux key code. */
static int key_value(JsonNode *node, const char **bad)
{
    JsonObject *o;
    const char *type, *name;
    int code;

    *bad = "a key must be {\"type\": \"qcode\", \"data\": NAME}";
    if (!node || !JSON_NODE_HOLDS_OBJECT(node))
        return -1;
    o = json_node_get_object(node);
    type = json_object_get_string_member_with_default(o, "type", NULL);
    name = json_object_get_string_member_with_default(o, "data", NULL);
    if (!type || !name)
        return -1;
    if (strcmp(type, "qcode") != 0) {
        *bad = "only qcode keys are supported";
        return -1;
    }
    code = keycode_from_qcode(name);
    if (code < 0)
        *bad = "unknown key name";
    return code;
}

struct key_release {
    MimicVm *vm;
    unsigned count;
    MimicInputEvent events[];
};

static gboolean release_keys(gpointer data)
{
    struct key_release *r = data;

    mimic_vm_send_input(r->vm, r->events, r->count, NULL, NULL);
    return G_SOURCE_REMOVE;
}

/* send-key: press the keys in order, release them in reverse after hold-time. */
static void cmd_send_key(struct qmp_client *c, JsonNode *id, JsonObject *args)
{
    JsonArray *keys = args && json_object_has_member(args, "keys")
                          ? json_object_get_array_member(args, "keys") : NULL;
    gint64 hold = args ? json_object_get_int_member_with_default(args, "hold-time",
                                                                 100) : 100;
    unsigned n = keys ? json_array_get_length(keys) : 0;
    g_autofree MimicInputEvent *down = g_new0(MimicInputEvent, MAX(n, 1));
    struct key_release *up;
    const char *bad = NULL;

    if (n == 0 || n > 16 || hold < 0 || hold > 60000) {
        send_error(c, id, "GenericError",
                   "send-key needs 'keys' (1 to 16 keys) and a hold-time of "
                   "0 to 60000 ms");
        return;
    }
    up = g_malloc0(sizeof(*up) + n * sizeof(up->events[0]));
    up->vm = c->server->vm;
    up->count = n;
    for (unsigned i = 0; i < n; i++) {
        int code = key_value(json_array_get_element(keys, i), &bad);

        if (code < 0) {
            g_autofree char *desc = g_strdup_printf("send-key: key %u: %s", i, bad);

            g_free(up);
            send_error(c, id, "GenericError", desc);
            return;
        }
        down[i] = (MimicInputEvent){ .kind = MIMIC_INPUT_KEY, .keycode = code,
                                     .down = TRUE };
        up->events[n - 1 - i] = (MimicInputEvent){ .kind = MIMIC_INPUT_KEY,
                                                   .keycode = code };
    }
    mimic_vm_send_input(c->server->vm, down, n, NULL, NULL);
    g_timeout_add_full(G_PRIORITY_DEFAULT, hold, release_keys, up, g_free);
    send_return(c, id, NULL);
}

static unsigned button_bit(const char *name)
{
    if (strcmp(name, "left") == 0)
        return MIMIC_BUTTON_LEFT;
    if (strcmp(name, "right") == 0)
        return MIMIC_BUTTON_RIGHT;
    if (strcmp(name, "middle") == 0)
        return MIMIC_BUTTON_MIDDLE;
    return 0;
}

/* input-send-event: key, btn and rel events, as QEMU's InputEvent union. */
static void cmd_input_send_event(struct qmp_client *c, JsonNode *id,
                                 JsonObject *args)
{
    JsonArray *list = args && json_object_has_member(args, "events")
                          ? json_object_get_array_member(args, "events") : NULL;
    unsigned n = list ? json_array_get_length(list) : 0;
    g_autofree MimicInputEvent *events = g_new0(MimicInputEvent, MAX(n, 1));
    struct qmp_server *s = c->server;
    unsigned buttons = s->buttons;
    const char *bad = "events must be a list of {\"type\", \"data\"}";

    if (n == 0)
        goto bad;
    for (unsigned i = 0; i < n; i++) {
        JsonNode *node = json_array_get_element(list, i);
        JsonObject *e, *data;
        const char *type;

        if (!JSON_NODE_HOLDS_OBJECT(node))
            goto bad;
        e = json_node_get_object(node);
        type = json_object_get_string_member_with_default(e, "type", "");
        data = json_object_has_member(e, "data")
                   ? json_object_get_object_member(e, "data") : NULL;
        if (!data)
            goto bad;
        if (strcmp(type, "key") == 0) {
            int code = key_value(json_object_get_member(data, "key"), &bad);

            if (code < 0)
                goto bad;
            events[i] = (MimicInputEvent){
                .kind = MIMIC_INPUT_KEY, .keycode = code,
                .down = json_object_get_boolean_member_with_default(data, "down",
                                                                    FALSE) };
        } else if (strcmp(type, "btn") == 0) {
            const char *name = json_object_get_string_member_with_default(
                data, "button", "");
            gboolean pressed = json_object_get_boolean_member_with_default(
                data, "down", FALSE);
            unsigned bit = button_bit(name);
            int dz = strcmp(name, "wheel-up") == 0 ? -1
                   : strcmp(name, "wheel-down") == 0 ? 1 : 0;

            if (!bit && !dz) {
                bad = "unknown button";
                goto bad;
            }
            buttons = pressed ? buttons | bit : buttons & ~bit;
            events[i] = (MimicInputEvent){ .kind = MIMIC_INPUT_POINTER,
                                           .dz = pressed ? dz : 0,
                                           .buttons = buttons };
        } else if (strcmp(type, "rel") == 0) {
            const char *axis = json_object_get_string_member_with_default(
                data, "axis", "");
            gint64 value = json_object_get_int_member_with_default(data, "value", 0);

            if (value < -4096 || value > 4096 ||
                (strcmp(axis, "x") != 0 && strcmp(axis, "y") != 0)) {
                bad = "rel events need axis x or y and a value within 4096";
                goto bad;
            }
            events[i] = (MimicInputEvent){ .kind = MIMIC_INPUT_POINTER,
                                           .dx = axis[0] == 'x' ? value : 0,
                                           .dy = axis[0] == 'y' ? value : 0,
                                           .buttons = buttons };
        } else {
            bad = "only key, btn and rel events are supported";
            goto bad;
        }
    }
    s->buttons = buttons;
    mimic_vm_send_input(s->vm, events, n, NULL, NULL);
    send_return(c, id, NULL);
    return;

bad: {
        g_autofree char *desc = g_strdup_printf("input-send-event: %s", bad);

        send_error(c, id, "GenericError", desc);
    }
}

static void cmd_screendump(struct qmp_client *c, JsonNode *id, JsonObject *args)
{
    const char *file = args ? json_object_get_string_member_with_default(
                                  args, "filename", NULL) : NULL;
    const char *format = args ? json_object_get_string_member_with_default(
                                    args, "format", "png") : "png";

    if (!file || !*file) {
        send_error(c, id, "GenericError", "screendump needs 'filename'");
        return;
    }
    if (strcmp(format, "png") != 0) {
        send_error(c, id, "GenericError",
                   "screendump: only format 'png' is supported");
        return;
    }
    send_screendump(c, id, file);
}

static void cmd_query_commands(struct qmp_client *c, JsonNode *id)
{
    JsonArray *list = json_array_new();
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);

    for (unsigned i = 0; i < G_N_ELEMENTS(qmp_commands); i++) {
        JsonObject *entry = json_object_new();

        json_object_set_string_member(entry, "name", qmp_commands[i]);
        json_array_add_object_element(list, entry);
    }
    json_node_take_array(node, list);
    send_return(c, id, node);
}

static void execute(struct qmp_client *c, JsonObject *request)
{
    JsonNode *id = json_object_get_member(request, "id");
    JsonNode *exec = json_object_get_member(request, "execute");
    JsonNode *args_node = json_object_get_member(request, "arguments");
    JsonObject *args = args_node && JSON_NODE_HOLDS_OBJECT(args_node)
                           ? json_node_get_object(args_node) : NULL;
    const char *name;
    MimicVmState state;

    if (!exec || json_node_get_value_type(exec) != G_TYPE_STRING) {
        send_error(c, id, "GenericError",
                   "QMP input lacks member 'execute' (a string)");
        return;
    }
    name = json_node_get_string(exec);
    if (strcmp(name, "qmp_capabilities") == 0) {
        if (c->negotiated) {
            send_error(c, id, "CommandNotFound",
                       "Capabilities negotiation is already complete, command "
                       "ignored");
            return;
        }
        c->negotiated = TRUE;
        send_return(c, id, NULL);
        return;
    }
    if (!c->negotiated) {
        send_error(c, id, "CommandNotFound",
                   "Expecting capabilities negotiation with 'qmp_capabilities'");
        return;
    }
    state = mimic_vm_get_state(c->server->vm);
    if (strcmp(name, "query-status") == 0) {
        cmd_query_status(c, id);
    } else if (strcmp(name, "query-version") == 0) {
        cmd_query_version(c, id);
    } else if (strcmp(name, "query-commands") == 0) {
        cmd_query_commands(c, id);
    } else if (strcmp(name, "x-query-virtual-clock") == 0) {
        cmd_virtual_clock(c, id);
    } else if (strcmp(name, "x-query-text-screen") == 0) {
        cmd_text_screen(c, id);
    } else if (strcmp(name, "stop") == 0) {
        /* As in QEMU, stopping a stopped VM succeeds. */
        if (state == MIMIC_VM_RUNNING)
            send_to_engine(c, id, MIMIC_COMMAND_PAUSE, FALSE);
        else
            send_return(c, id, NULL);
    } else if (strcmp(name, "cont") == 0) {
        if (state == MIMIC_VM_PAUSED)
            send_to_engine(c, id, MIMIC_COMMAND_RESUME, FALSE);
        else if (state == MIMIC_VM_RUNNING)
            send_return(c, id, NULL);
        else
            send_to_engine(c, id, MIMIC_COMMAND_START, FALSE);
    } else if (strcmp(name, "system_reset") == 0) {
        send_to_engine(c, id, MIMIC_COMMAND_RESET, FALSE);
    } else if (strcmp(name, "quit") == 0) {
        send_to_engine(c, id, MIMIC_COMMAND_QUIT, TRUE);
    } else if (strcmp(name, "system_powerdown") == 0) {
        send_to_engine(c, id, MIMIC_COMMAND_POWER_BUTTON, FALSE);
    } else if (strcmp(name, "screendump") == 0) {
        cmd_screendump(c, id, args);
    } else if (strcmp(name, "send-key") == 0) {
        cmd_send_key(c, id, args);
    } else if (strcmp(name, "input-send-event") == 0) {
        cmd_input_send_event(c, id, args);
    } else {
        g_autofree char *desc = g_strdup_printf("The command %s has not been found",
                                                name);

        send_error(c, id, "CommandNotFound", desc);
    }
}

static void handle_message(struct qmp_client *c, const char *text, gsize length)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    JsonNode *root;

    if (!json_parser_load_from_data(parser, text, length, &error)) {
        g_autofree char *desc = g_strdup_printf("JSON parse error, %s",
                                                error->message);

        send_error(c, NULL, "GenericError", desc);
        return;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        send_error(c, NULL, "GenericError", "QMP input must be a JSON object");
        return;
    }
    execute(c, json_node_get_object(root));
}

/*
 * Split the byte stream into top-level JSON values by tracking nesting
 * outside strings; each complete value is handled on its own.
 */
static void process_input(struct qmp_client *c)
{
    gsize start = 0, i;
    int depth = 0;
    gboolean in_string = FALSE, escape = FALSE;

    for (i = 0; i < c->input->len && !c->closed; i++) {
        char ch = c->input->str[i];

        if (in_string) {
            if (escape)
                escape = FALSE;
            else if (ch == '\\')
                escape = TRUE;
            else if (ch == '"')
                in_string = FALSE;
            continue;
        }
        if (ch == '"') {
            in_string = TRUE;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            if (--depth <= 0) {
                handle_message(c, c->input->str + start, i + 1 - start);
                start = i + 1;
                depth = 0;
            }
        } else if (depth == 0 && !g_ascii_isspace(ch)) {
            /* Garbage between values: report it and skip to the next line. */
            const char *nl = memchr(c->input->str + i, '\n', c->input->len - i);

            send_error(c, NULL, "GenericError",
                       "JSON parse error, expected a JSON object");
            i = nl ? (gsize)(nl - c->input->str) : c->input->len - 1;
            start = i + 1;
        }
    }
    if (c->closed)
        return;
    g_string_erase(c->input, 0, start);
    if (c->input->len > QMP_MAX_MESSAGE) {
        send_error(c, NULL, "GenericError", "QMP message too large");
        client_close(c);
    }
}

static gboolean on_client_input(GSocket *socket, GIOCondition condition,
                                gpointer user_data)
{
    struct qmp_client *c = user_data;
    char buf[4096];
    gssize n;

    n = g_socket_receive_with_blocking(socket, buf, sizeof(buf), FALSE, NULL,
                                       NULL);
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN)
            return G_SOURCE_CONTINUE;
        client_close(c);
        return G_SOURCE_REMOVE;
    }
    g_string_append_len(c->input, buf, n);
    client_ref(c);
    process_input(c);
    client_unref(c);
    return c->closed ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static void greet(struct qmp_client *c)
{
    JsonObject *qmp = json_object_new();
    JsonObject *greeting = json_object_new();
    JsonObject *version = json_object_new();
    JsonObject *triple = json_object_new();
    JsonArray *caps = json_array_new();
    g_autoptr(JsonNode) node = NULL;

    json_object_set_int_member(triple, "major", 0);
    json_object_set_int_member(triple, "minor", 1);
    json_object_set_int_member(triple, "micro", 0);
    json_object_set_object_member(version, "qemu", triple);
    json_object_set_string_member(version, "package", "mimic");
    json_object_set_object_member(greeting, "version", version);
    json_object_set_array_member(greeting, "capabilities", caps);
    json_object_set_object_member(qmp, "QMP", greeting);
    node = object_node(qmp);
    client_send_node(c, node);
}

static void add_client(struct qmp_server *s, GSocket *socket)
{
    struct qmp_client *c = g_new0(struct qmp_client, 1);

    g_atomic_ref_count_init(&c->ref);
    c->server = s;
    c->socket = socket;
    c->input = g_string_new(NULL);
    g_socket_set_blocking(socket, FALSE);
    c->source = g_socket_create_source(socket, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                       NULL);
    g_source_set_callback(c->source, G_SOURCE_FUNC(on_client_input), c, NULL);
    g_source_attach(c->source, s->context);
    s->clients = g_list_append(s->clients, c);
    greet(c);
}

static gboolean on_accept(GSocket *listener, GIOCondition condition,
                          gpointer user_data)
{
    struct qmp_server *s = user_data;
    GSocket *socket = g_socket_accept(listener, NULL, NULL);

    if (socket)
        add_client(s, socket);
    return G_SOURCE_CONTINUE;
}

/* "unix:PATH,server[,nowait|,wait=off]" */
static gboolean parse_spec(const char *spec, char **path, gboolean *wait,
                           GError **error)
{
    g_auto(GStrv) parts = NULL;
    gboolean server = FALSE;

    if (!g_str_has_prefix(spec, "unix:") || spec[5] == '\0' || spec[5] == ',') {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "-qmp %s: expected unix:PATH,server[,nowait]", spec);
        return FALSE;
    }
    parts = g_strsplit(spec + 5, ",", -1);
    *wait = TRUE;
    for (unsigned i = 1; parts[i]; i++) {
        if (strcmp(parts[i], "server") == 0 || strcmp(parts[i], "server=on") == 0) {
            server = TRUE;
        } else if (strcmp(parts[i], "nowait") == 0 ||
                   strcmp(parts[i], "wait=off") == 0) {
            *wait = FALSE;
        } else if (strcmp(parts[i], "wait=on") == 0) {
            *wait = TRUE;
        } else {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "-qmp %s: unknown option \"%s\"", spec, parts[i]);
            return FALSE;
        }
    }
    if (!server) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "-qmp %s: only server sockets are supported (add ,server)",
                    spec);
        return FALSE;
    }
    *path = g_strdup(parts[0]);
    return TRUE;
}

struct qmp_server *qmp_server_new(MimicVm *vm, const char *spec,
                                  qmp_quit_fn on_quit, gpointer user_data,
                                  GError **error)
{
    struct qmp_server *s;
    g_autoptr(GSocketAddress) address = NULL;
    gboolean wait;
    char *path;

    if (!parse_spec(spec, &path, &wait, error))
        return NULL;
    s = g_new0(struct qmp_server, 1);
    s->vm = vm;
    s->path = path;
    s->on_quit = on_quit;
    s->on_quit_data = user_data;
    s->context = g_main_context_ref_thread_default();

    s->listener = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                               G_SOCKET_PROTOCOL_DEFAULT, error);
    if (!s->listener)
        goto out_free;
    unlink(path);
    address = g_unix_socket_address_new(path);
    if (!g_socket_bind(s->listener, address, TRUE, error) ||
        !g_socket_listen(s->listener, error)) {
        g_prefix_error(error, "-qmp %s: ", spec);
        goto out_free;
    }
    if (wait) {
        GSocket *first;

        g_printerr("mimic: QMP: waiting for connection on %s\n", spec);
        first = g_socket_accept(s->listener, NULL, error);
        if (!first)
            goto out_free;
        add_client(s, first);
    }
    g_socket_set_blocking(s->listener, FALSE);
    s->accept_source = g_socket_create_source(s->listener, G_IO_IN, NULL);
    g_source_set_callback(s->accept_source, G_SOURCE_FUNC(on_accept), s, NULL);
    g_source_attach(s->accept_source, s->context);
    s->subscription = mimic_vm_subscribe(vm, on_vm_event, s);
    return s;

out_free:
    qmp_server_free(s);
    return NULL;
}

void qmp_server_free(struct qmp_server *s)
{
    if (!s)
        return;
    if (s->subscription)
        mimic_vm_unsubscribe(s->vm, s->subscription);
    while (s->clients)
        client_close(s->clients->data);
    if (s->accept_source) {
        g_source_destroy(s->accept_source);
        g_source_unref(s->accept_source);
    }
    if (s->listener) {
        g_socket_close(s->listener, NULL);
        g_object_unref(s->listener);
        unlink(s->path);
    }
    g_main_context_unref(s->context);
    g_free(s->path);
    g_free(s);
}
