/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Character back ends (stdio, file, unix socket server/client, null): output
 * from any thread under a lock, input read by a GSource in the engine's context.
 */
#define G_LOG_DOMAIN "mimic-chardev"

#include "engine/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

enum chardev_kind {
    CHARDEV_NULL,
    CHARDEV_STDIO,
    CHARDEV_FILE,
    CHARDEV_UNIX_SERVER,
    CHARDEV_UNIX_CLIENT,
};

/* Requests from other threads to the engine-thread source (atomic bits). */
enum {
    KICK_INPUT = 1 << 0,    /* the receiver has room, or a new receiver */
    KICK_DROP = 1 << 1,     /* a writer found the peer gone */
};

struct chardev;

struct chardev_source {
    GSource source;
    struct chardev *chr;
};

struct chardev {
    enum chardev_kind kind;
    char *spec;
    char *path;                 /* file or socket path */
    GMainContext *context;
    struct chardev_source *source;

    GMutex lock;                /* guards out_fd, out_is_socket and the receiver */
    int out_fd;                 /* where output goes; -1 drops it */
    bool out_is_socket;
    chardev_can_receive_fn can_receive;
    chardev_receive_fn receive;
    void *opaque;

    guint kick;                 /* KICK_* bits, atomic */

    /* Engine thread only (and chardev_open/close). */
    int in_fd;                  /* stdin or the connected socket; -1 if none */
    gpointer in_tag;            /* watch on in_fd while input is wanted */
    bool in_eof;
    int listen_fd;
    gpointer listen_tag;
    bool owns_socket_path;
};

/* --- the terminal in raw mode -------------------------------------------- */

static struct termios saved_termios;
static bool termios_saved;
static bool atexit_registered;
G_LOCK_DEFINE_STATIC(termios_lock);

static void restore_terminal(void)
{
    G_LOCK(termios_lock);
    if (termios_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
        termios_saved = false;
    }
    G_UNLOCK(termios_lock);
}

/*
 * Raw input as QEMU's -nographic does it: no echo, no line editing, no
 * flow-control or CR/NL mapping; ISIG stays on so Ctrl-C still ends Mimic,
 * and OPOST stays on so host-side output is unchanged.
 */
static void set_terminal_raw(void)
{
    struct termios tty;

    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &tty) < 0)
        return;
    G_LOCK(termios_lock);
    if (!termios_saved) {
        saved_termios = tty;
        termios_saved = true;
    }
    if (!atexit_registered) {
        atexit(restore_terminal);
        atexit_registered = true;
    }
    G_UNLOCK(termios_lock);

    tty.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
                     ICRNL | IXON);
    tty.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
    tty.c_cflag &= ~(CSIZE | PARENB);
    tty.c_cflag |= CS8;
    tty.c_cc[VMIN] = 1;
    tty.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &tty);
}

/* --- output --------------------------------------------------------------- */

/* Write all of @buf; returns 0 or a negative errno (-EPIPE: peer gone). */
static int write_fully(int fd, bool is_socket, const uint8_t *buf, size_t length)
{
    while (length > 0) {
        ssize_t n;

        if (is_socket)
            n = send(fd, buf, length, MSG_NOSIGNAL);
        else
            n = write(fd, buf, length);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd pfd = { .fd = fd, .events = POLLOUT };

                if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
                    return -errno;
                continue;
            }
            return -errno;
        }
        buf += n;
        length -= n;
    }
    return 0;
}

void chardev_write(struct chardev *chr, const uint8_t *buf, size_t length)
{
    int ret;

    if (!chr || length == 0)
        return;
    g_mutex_lock(&chr->lock);
    if (chr->out_fd < 0) {
        g_mutex_unlock(&chr->lock);
        return;
    }
    ret = write_fully(chr->out_fd, chr->out_is_socket, buf, length);
    if (ret < 0 && chr->out_is_socket) {
        /* The peer went away: drop its output now, close it on the engine thread. */
        chr->out_fd = -1;
        g_mutex_unlock(&chr->lock);
        g_atomic_int_or(&chr->kick, KICK_DROP);
        g_main_context_wakeup(chr->context);
        return;
    }
    g_mutex_unlock(&chr->lock);
    if (ret < 0) {
        static gsize logged;

        if (g_once_init_enter(&logged)) {
            g_message("chardev %s: output failed (%s); further failures are not logged",
                      chr->spec, g_strerror(-ret));
            g_once_init_leave(&logged, 1);
        }
    }
}

/* --- input (engine thread) ------------------------------------------------ */

static void set_output(struct chardev *chr, int fd, bool is_socket)
{
    g_mutex_lock(&chr->lock);
    chr->out_fd = fd;
    chr->out_is_socket = is_socket;
    g_mutex_unlock(&chr->lock);
}

static bool has_receiver(struct chardev *chr)
{
    bool has;

    g_mutex_lock(&chr->lock);
    has = chr->receive != NULL;
    g_mutex_unlock(&chr->lock);
    return has;
}

static void watch_input(struct chardev *chr, bool on)
{
    GSource *source = &chr->source->source;

    if (on && !chr->in_tag && chr->in_fd >= 0 && !chr->in_eof)
        chr->in_tag = g_source_add_unix_fd(source, chr->in_fd,
                                           G_IO_IN | G_IO_HUP | G_IO_ERR);
    else if (!on && chr->in_tag) {
        g_source_remove_unix_fd(source, chr->in_tag);
        chr->in_tag = NULL;
    }
}

static void watch_listen(struct chardev *chr, bool on)
{
    GSource *source = &chr->source->source;

    if (on && !chr->listen_tag && chr->listen_fd >= 0)
        chr->listen_tag = g_source_add_unix_fd(source, chr->listen_fd, G_IO_IN);
    else if (!on && chr->listen_tag) {
        g_source_remove_unix_fd(source, chr->listen_tag);
        chr->listen_tag = NULL;
    }
}

/* The connected client of a socket back end is gone (EOF, error or EPIPE). */
static void disconnect(struct chardev *chr)
{
    if (chr->kind != CHARDEV_UNIX_SERVER && chr->kind != CHARDEV_UNIX_CLIENT)
        return;
    if (chr->in_fd < 0)
        return;
    set_output(chr, -1, true);
    watch_input(chr, false);
    close(chr->in_fd);
    chr->in_fd = -1;
    /* A server takes the next client; a client stays unconnected. */
    watch_listen(chr, true);
}

static void connected(struct chardev *chr, int fd)
{
    chr->in_fd = fd;
    chr->in_eof = false;
    set_output(chr, fd, true);
    watch_listen(chr, false);
    watch_input(chr, has_receiver(chr));
}

static void accept_client(struct chardev *chr)
{
    int fd = accept4(chr->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
            errno != ECONNABORTED)
            g_message("chardev %s: accept failed: %s", chr->spec,
                      g_strerror(errno));
        return;
    }
    connected(chr, fd);
}

static void read_input(struct chardev *chr)
{
    chardev_can_receive_fn can_receive;
    chardev_receive_fn receive;
    void *opaque;
    uint8_t buf[256];
    size_t room;
    ssize_t n;

    g_mutex_lock(&chr->lock);
    can_receive = chr->can_receive;
    receive = chr->receive;
    opaque = chr->opaque;
    g_mutex_unlock(&chr->lock);

    if (!receive) {
        watch_input(chr, false);
        return;
    }
    room = can_receive ? can_receive(opaque) : sizeof(buf);
    if (room == 0) {
        /* Paused until chardev_accept_input. */
        watch_input(chr, false);
        return;
    }
    n = read(chr->in_fd, buf, MIN(room, sizeof(buf)));
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (chr->kind == CHARDEV_STDIO) {
            g_message("chardev %s: reading input failed: %s", chr->spec,
                      g_strerror(errno));
            chr->in_eof = true;
            watch_input(chr, false);
        } else {
            disconnect(chr);
        }
        return;
    }
    if (n == 0) {
        if (chr->kind == CHARDEV_STDIO) {
            chr->in_eof = true;
            watch_input(chr, false);
        } else {
            disconnect(chr);
        }
        return;
    }
    receive(opaque, buf, n);
}

static gboolean source_prepare(GSource *source, gint *timeout)
{
    struct chardev *chr = ((struct chardev_source *)source)->chr;

    *timeout = -1;
    return g_atomic_int_get(&chr->kick) != 0;
}

static gboolean source_check(GSource *source)
{
    struct chardev *chr = ((struct chardev_source *)source)->chr;

    return g_atomic_int_get(&chr->kick) != 0;
}

static gboolean source_dispatch(GSource *source, GSourceFunc callback,
                                gpointer data)
{
    struct chardev *chr = ((struct chardev_source *)source)->chr;
    guint kick = g_atomic_int_and(&chr->kick, 0);

    if (kick & KICK_DROP)
        disconnect(chr);
    if (kick & KICK_INPUT)
        watch_input(chr, has_receiver(chr));

    if (chr->listen_tag &&
        g_source_query_unix_fd(source, chr->listen_tag) & G_IO_IN)
        accept_client(chr);
    if (chr->in_tag && g_source_query_unix_fd(source, chr->in_tag))
        read_input(chr);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs chardev_source_funcs = {
    .prepare = source_prepare,
    .check = source_check,
    .dispatch = source_dispatch,
};

void chardev_set_receiver(struct chardev *chr, chardev_can_receive_fn can_receive,
                          chardev_receive_fn receive, void *opaque)
{
    g_return_if_fail(chr);
    g_mutex_lock(&chr->lock);
    chr->can_receive = can_receive;
    chr->receive = receive;
    chr->opaque = opaque;
    g_mutex_unlock(&chr->lock);
    chardev_accept_input(chr);
}

void chardev_accept_input(struct chardev *chr)
{
    if (!chr || !chr->source)
        return;
    g_atomic_int_or(&chr->kick, KICK_INPUT);
    g_main_context_wakeup(chr->context);
}

/* --- opening -------------------------------------------------------------- */

static bool set_sockaddr(struct sockaddr_un *addr, const char *spec,
                         const char *path, GError **error)
{
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(addr->sun_path)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "chardev \"%s\": socket path is longer than %zu bytes",
                    spec, sizeof(addr->sun_path) - 1);
        return false;
    }
    strcpy(addr->sun_path, path);
    return true;
}

static int listen_error(struct chardev *chr, int err, GError **error)
{
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
                "chardev \"%s\": cannot listen on %s: %s", chr->spec,
                chr->path, g_strerror(err));
    return -err;
}

static int open_unix_server(struct chardev *chr, bool wait, GError **error)
{
    struct sockaddr_un addr;
    struct stat st;
    int fd, client;

    if (!set_sockaddr(&addr, chr->spec, chr->path, error))
        return -EINVAL;
    /* A stale socket from an earlier run would make bind fail. */
    if (lstat(chr->path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(chr->path);

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return listen_error(chr, errno, error);
    /* Owned by chr from here: chardev_close closes it. */
    chr->listen_fd = fd;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        return listen_error(chr, errno, error);
    chr->owns_socket_path = true;
    if (listen(fd, 1) < 0)
        return listen_error(chr, errno, error);

    if (wait) {
        fprintf(stderr, "mimic: waiting for connection on unix:%s\n", chr->path);
        do {
            client = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        } while (client < 0 && (errno == EINTR || errno == ECONNABORTED));
        if (client < 0)
            return listen_error(chr, errno, error);
        chr->in_fd = client;
    }
    if (!g_unix_set_fd_nonblocking(fd, TRUE, NULL))
        return listen_error(chr, errno, error);
    return 0;
}

static int open_unix_client(struct chardev *chr, GError **error)
{
    struct sockaddr_un addr;
    int fd, saved;

    if (!set_sockaddr(&addr, chr->spec, chr->path, error))
        return -EINVAL;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        !g_unix_set_fd_nonblocking(fd, TRUE, NULL)) {
        saved = errno;
        close(fd);
        errno = saved;
        goto fail;
    }
    chr->in_fd = fd;
    set_output(chr, fd, true);
    return 0;

fail:
    saved = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
                "chardev \"%s\": cannot connect to %s: %s", chr->spec,
                chr->path, g_strerror(saved));
    return -saved;
}

/* "unix:PATH[,server[=on|off]][,nowait|,wait=on|off]" */
static int open_unix(struct chardev *chr, const char *rest, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(rest, ",", -1);
    bool server = false, wait = true;

    if (!parts[0] || !parts[0][0]) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "chardev \"%s\": unix: needs a socket path", chr->spec);
        return -EINVAL;
    }
    chr->path = g_strdup(parts[0]);
    for (unsigned i = 1; parts[i]; i++) {
        const char *opt = parts[i];

        if (strcmp(opt, "server") == 0 || strcmp(opt, "server=on") == 0)
            server = true;
        else if (strcmp(opt, "server=off") == 0)
            server = false;
        else if (strcmp(opt, "nowait") == 0 || strcmp(opt, "wait=off") == 0)
            wait = false;
        else if (strcmp(opt, "wait") == 0 || strcmp(opt, "wait=on") == 0)
            wait = true;
        else {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "chardev \"%s\": unknown option \"%s\" (known: server, "
                        "nowait, wait=on|off)", chr->spec, opt);
            return -EINVAL;
        }
    }
    if (server) {
        chr->kind = CHARDEV_UNIX_SERVER;
        return open_unix_server(chr, wait, error);
    }
    chr->kind = CHARDEV_UNIX_CLIENT;
    return open_unix_client(chr, error);
}

static int open_file(struct chardev *chr, const char *path, GError **error)
{
    int fd, saved;

    if (!path[0]) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "chardev \"%s\": file: needs a path", chr->spec);
        return -EINVAL;
    }
    chr->kind = CHARDEV_FILE;
    chr->path = g_strdup(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        saved = errno;
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
                    "chardev \"%s\": cannot open %s: %s", chr->spec, path,
                    g_strerror(saved));
        return -saved;
    }
    set_output(chr, fd, false);
    return 0;
}

static int parse_and_open(struct chardev *chr, GError **error)
{
    const char *spec = chr->spec;

    if (strcmp(spec, "null") == 0) {
        chr->kind = CHARDEV_NULL;
        return 0;
    }
    if (strcmp(spec, "stdio") == 0) {
        chr->kind = CHARDEV_STDIO;
        chr->in_fd = STDIN_FILENO;
        set_output(chr, STDOUT_FILENO, false);
        set_terminal_raw();
        return 0;
    }
    if (g_str_has_prefix(spec, "file:"))
        return open_file(chr, spec + strlen("file:"), error);
    if (g_str_has_prefix(spec, "unix:"))
        return open_unix(chr, spec + strlen("unix:"), error);

    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "chardev \"%s\": unknown back end (known: stdio, file:PATH, "
                "unix:PATH[,server[,nowait]], null)", spec);
    return -EINVAL;
}

struct chardev *chardev_open(const char *spec, GMainContext *context,
                             GError **error)
{
    struct chardev *chr;

    g_return_val_if_fail(spec, NULL);
    chr = g_new0(struct chardev, 1);
    chr->spec = g_strdup(spec);
    chr->out_fd = -1;
    chr->in_fd = -1;
    chr->listen_fd = -1;
    g_mutex_init(&chr->lock);
    chr->context = g_main_context_ref(context ? context
                                              : g_main_context_default());

    if (parse_and_open(chr, error) < 0) {
        chardev_close(chr);
        return NULL;
    }

    chr->source = (struct chardev_source *)
        g_source_new(&chardev_source_funcs, sizeof(struct chardev_source));
    chr->source->chr = chr;
    g_source_set_name(&chr->source->source, "mimic chardev");
    if (chr->in_fd >= 0 && chr->kind != CHARDEV_STDIO)
        connected(chr, chr->in_fd);
    else
        watch_listen(chr, true);
    g_source_attach(&chr->source->source, chr->context);
    return chr;
}

void chardev_close(struct chardev *chr)
{
    if (!chr)
        return;
    if (chr->source) {
        g_source_destroy(&chr->source->source);
        g_source_unref(&chr->source->source);
    }
    g_mutex_lock(&chr->lock);
    if (chr->out_fd >= 0 && chr->out_fd != STDOUT_FILENO &&
        chr->out_fd != chr->in_fd)
        close(chr->out_fd);
    chr->out_fd = -1;
    g_mutex_unlock(&chr->lock);
    if (chr->in_fd >= 0 && chr->in_fd != STDIN_FILENO)
        close(chr->in_fd);
    if (chr->listen_fd >= 0)
        close(chr->listen_fd);
    if (chr->owns_socket_path)
        unlink(chr->path);
    if (chr->kind == CHARDEV_STDIO)
        restore_terminal();
    g_main_context_unref(chr->context);
    g_mutex_clear(&chr->lock);
    g_free(chr->path);
    g_free(chr->spec);
    g_free(chr);
}
