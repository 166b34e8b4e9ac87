/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mimic-system's command line. Flags are spelled as QEMU spells them, so
 * existing scripts carry over; every unknown or malformed flag is an error
 * that names it.
 */
#include "app/system-options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/vm.h"

struct parse_state {
    struct system_options *opts;
    gboolean nographic;
    gboolean serial_given;
    char *display;
};

static gboolean fail(GError **error, const char *flag, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static gboolean fail(GError **error, const char *flag, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG, "%s: %s", flag, msg);
    return FALSE;
}

static gboolean parse_u64(const char *text, uint64_t *out)
{
    char *end;

    if (!text || !*text || *text == '-')
        return FALSE;
    errno = 0;
    *out = strtoull(text, &end, 0);
    return errno == 0 && *end == '\0';
}

/* Split "a,key=value,key2=value2": the first item may be positional. */
static GHashTable *parse_keyvals(const char *text, const char *positional,
                                 const char *flag, GError **error)
{
    g_autoptr(GHashTable) table = g_hash_table_new_full(g_str_hash, g_str_equal,
                                                        g_free, g_free);
    g_auto(GStrv) items = g_strsplit(text, ",", -1);

    for (unsigned i = 0; items[i]; i++) {
        char *eq = strchr(items[i], '=');

        if (!*items[i]) {
            fail(error, flag, "empty option in \"%s\"", text);
            return NULL;
        }
        if (!eq) {
            if (i == 0 && positional) {
                g_hash_table_insert(table, g_strdup(positional),
                                    g_strdup(items[i]));
                continue;
            }
            fail(error, flag, "\"%s\" must be key=value", items[i]);
            return NULL;
        }
        *eq = '\0';
        if (g_hash_table_contains(table, items[i])) {
            fail(error, flag, "option \"%s\" given twice", items[i]);
            return NULL;
        }
        g_hash_table_insert(table, g_strdup(items[i]), g_strdup(eq + 1));
    }
    return g_steal_pointer(&table);
}

static gboolean check_known(GHashTable *table, const char *const *known,
                            const char *flag, GError **error)
{
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init(&iter, table);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        if (!g_strv_contains(known, key))
            return fail(error, flag, "unknown option \"%s\"", (char *)key);
    return TRUE;
}

static gboolean opt_memory(struct parse_state *st, const char *arg, GError **error)
{
    static const char *const known[] = { "size", "slots", "maxmem", NULL };
    g_autoptr(GHashTable) kv = parse_keyvals(arg, "size", "-m", error);
    const char *size;
    uint64_t bytes;

    if (!kv || !check_known(kv, known, "-m", error))
        return FALSE;
    size = g_hash_table_lookup(kv, "size");
    if (!size)
        return fail(error, "-m", "no size given");
    if (!vm_parse_size(size, UINT64_C(1) << 20, &bytes))
        return fail(error, "-m", "\"%s\" is not a size (e.g. 512M, 2G)", size);
    if (bytes < (2 << 20) || bytes > (UINT64_C(1) << 40))
        return fail(error, "-m", "%s is out of range (2 MiB to 1 TiB)", size);
    st->opts->config->ram_size = bytes;
    return TRUE;
}

static gboolean opt_smp(struct parse_state *st, const char *arg, GError **error)
{
    static const char *const known[] = { "cpus", "maxcpus", "sockets", "dies",
                                         "cores", "threads", NULL };
    g_autoptr(GHashTable) kv = parse_keyvals(arg, "cpus", "-smp", error);
    const char *cpus;
    uint64_t n;

    if (!kv || !check_known(kv, known, "-smp", error))
        return FALSE;
    cpus = g_hash_table_lookup(kv, "cpus");
    if (!cpus)
        return fail(error, "-smp", "no CPU count given");
    if (!parse_u64(cpus, &n) || n < 1 || n > 64)
        return fail(error, "-smp", "\"%s\": give a CPU count from 1 to 64", cpus);
    st->opts->config->smp = n;
    return TRUE;
}

static gboolean set_accel(struct parse_state *st, const char *name,
                          const char *flag, GError **error)
{
    if (strcmp(name, "tcg") == 0)
        name = "jit";
    if (strcmp(name, "kvm") != 0 && strcmp(name, "jit") != 0)
        return fail(error, flag, "unknown accelerator \"%s\" (known: kvm, jit)",
                    name);
    g_free(st->opts->config->accel);
    st->opts->config->accel = g_strdup(name);
    return TRUE;
}

static gboolean opt_accel(struct parse_state *st, const char *arg, GError **error)
{
    static const char *const known[] = { "accel", NULL };
    g_autoptr(GHashTable) kv = parse_keyvals(arg, "accel", "-accel", error);

    if (!kv || !check_known(kv, known, "-accel", error))
        return FALSE;
    return set_accel(st, g_hash_table_lookup(kv, "accel"), "-accel", error);
}

static gboolean opt_machine(struct parse_state *st, const char *arg,
                            GError **error)
{
    static const char *const known[] = { "type", "accel", NULL };
    g_autoptr(GHashTable) kv = parse_keyvals(arg, "type", "-machine", error);
    const char *type, *accel;

    if (!kv || !check_known(kv, known, "-machine", error))
        return FALSE;
    type = g_hash_table_lookup(kv, "type");
    if (type) {
        if (strcmp(type, "pc") != 0 && strcmp(type, "help") != 0)
            return fail(error, "-machine", "unknown machine \"%s\" (known: pc)",
                        type);
        g_free(st->opts->config->machine);
        st->opts->config->machine = g_strdup("pc");
    }
    accel = g_hash_table_lookup(kv, "accel");
    return !accel || set_accel(st, accel, "-machine accel", error);
}

static gboolean opt_device(struct parse_state *st, const char *arg,
                           GError **error)
{
    g_autoptr(GHashTable) kv = parse_keyvals(arg, "driver", "-device", error);
    const char *driver;
    uint64_t value;

    if (!kv)
        return FALSE;
    driver = g_hash_table_lookup(kv, "driver");
    if (!driver)
        return fail(error, "-device", "no device name given");
    if (strcmp(driver, "loader") == 0) {
        static const char *const known[] = { "driver", "file", "addr", "data",
                                             "data-len", "force-raw", NULL };
        struct vm_loader *l;
        const char *file = g_hash_table_lookup(kv, "file");
        const char *addr = g_hash_table_lookup(kv, "addr");
        const char *data = g_hash_table_lookup(kv, "data");
        const char *data_len = g_hash_table_lookup(kv, "data-len");
        uint64_t a;

        if (!check_known(kv, known, "-device loader", error))
            return FALSE;
        if (!addr || !parse_u64(addr, &a))
            return fail(error, "-device loader", "needs addr=ADDRESS");
        l = g_new0(struct vm_loader, 1);
        l->addr = a;
        if (file && !data) {
            l->file = g_strdup(file);
        } else if (data && !file) {
            if (!parse_u64(data, &l->data) || !data_len ||
                !parse_u64(data_len, &value) ||
                (value != 1 && value != 2 && value != 4 && value != 8)) {
                g_free(l);
                return fail(error, "-device loader",
                            "data= needs a number and data-len=1|2|4|8");
            }
            l->data_length = value;
        } else {
            g_free(l);
            return fail(error, "-device loader", "give either file= or data=");
        }
        g_ptr_array_add(st->opts->config->loaders, l);
        return TRUE;
    }
    if (strcmp(driver, "isa-debug-exit") == 0) {
        static const char *const known[] = { "driver", "iobase", "iosize", NULL };
        const char *iobase = g_hash_table_lookup(kv, "iobase");

        if (!check_known(kv, known, "-device isa-debug-exit", error))
            return FALSE;
        if (iobase) {
            if (!parse_u64(iobase, &value) || value > 0xffff)
                return fail(error, "-device isa-debug-exit",
                            "iobase=%s is not an I/O port", iobase);
            st->opts->config->debug_exit_port = value;
        }
        st->opts->config->debug_exit = true;
        return TRUE;
    }
    return fail(error, "-device", "unknown device \"%s\" (known: loader, "
                "isa-debug-exit)", driver);
}

static gboolean parse_on_off(const char *value, gboolean *out)
{
    if (strcmp(value, "on") == 0 || strcmp(value, "yes") == 0 ||
        strcmp(value, "true") == 0) {
        *out = TRUE;
        return TRUE;
    }
    if (strcmp(value, "off") == 0 || strcmp(value, "no") == 0 ||
        strcmp(value, "false") == 0) {
        *out = FALSE;
        return TRUE;
    }
    return FALSE;
}

static gboolean add_drive(struct parse_state *st, struct vm_drive *d,
                          const char *flag, GError **error)
{
    GPtrArray *drives = st->opts->config->drives;

    if (d->interface == VM_DRIVE_IDE && d->index >= 0) {
        for (unsigned i = 0; i < drives->len; i++) {
            struct vm_drive *other = g_ptr_array_index(drives, i);

            if (other->interface == VM_DRIVE_IDE && other->index == d->index) {
                g_free(d->file);
                g_free(d->format);
                g_free(d);
                return fail(error, flag, "IDE index %d (%s %s) is already used",
                            other->index, other->index / 2 ? "secondary" : "primary",
                            other->index % 2 ? "slave" : "master");
            }
        }
    }
    g_ptr_array_add(drives, d);
    return TRUE;
}

/* -hda..-hdd and -cdrom: IDE index 0-3, as QEMU numbers them. */
static gboolean opt_legacy_drive(struct parse_state *st, const char *flag,
                                 const char *file, int index,
                                 enum vm_drive_media media, GError **error)
{
    struct vm_drive *d = g_new0(struct vm_drive, 1);

    d->file = g_strdup(file);
    d->interface = VM_DRIVE_IDE;
    d->media = media;
    d->index = index;
    d->read_only = media == VM_DRIVE_CDROM;
    return add_drive(st, d, flag, error);
}

static gboolean opt_drive(struct parse_state *st, const char *arg, GError **error)
{
    static const char *const known[] = { "file", "format", "if", "media", "index",
                                         "readonly", "read-only", "snapshot",
                                         "cache", "id", NULL };
    g_autoptr(GHashTable) kv = parse_keyvals(arg, NULL, "-drive", error);
    struct vm_drive *d;
    const char *value;
    gboolean flag;
    uint64_t n;

    if (!kv || !check_known(kv, known, "-drive", error))
        return FALSE;
    d = g_new0(struct vm_drive, 1);
    d->index = -1;
    d->file = g_strdup(g_hash_table_lookup(kv, "file"));
    d->format = g_strdup(g_hash_table_lookup(kv, "format"));
    if (d->format && strcmp(d->format, "raw") != 0 &&
        strcmp(d->format, "qcow2") != 0)
        goto bad_format;
    value = g_hash_table_lookup(kv, "if");
    if (!value || strcmp(value, "ide") == 0)
        d->interface = VM_DRIVE_IDE;
    else if (strcmp(value, "virtio") == 0)
        d->interface = VM_DRIVE_VIRTIO;
    else
        goto bad_if;
    value = g_hash_table_lookup(kv, "media");
    if (!value || strcmp(value, "disk") == 0)
        d->media = VM_DRIVE_DISK;
    else if (strcmp(value, "cdrom") == 0)
        d->media = VM_DRIVE_CDROM;
    else
        goto bad_media;
    if (d->media == VM_DRIVE_CDROM && d->interface != VM_DRIVE_IDE) {
        fail(error, "-drive", "media=cdrom needs if=ide");
        goto out_free;
    }
    if (!d->file && d->media != VM_DRIVE_CDROM) {
        fail(error, "-drive", "a disk needs file=");
        goto out_free;
    }
    value = g_hash_table_lookup(kv, "index");
    if (value) {
        if (!parse_u64(value, &n) || n > 3 || d->interface != VM_DRIVE_IDE) {
            fail(error, "-drive", "index=%s: IDE indexes are 0 to 3", value);
            goto out_free;
        }
        d->index = n;
    }
    d->read_only = d->media == VM_DRIVE_CDROM;
    value = g_hash_table_lookup(kv, "readonly");
    if (!value)
        value = g_hash_table_lookup(kv, "read-only");
    if (value) {
        if (!parse_on_off(value, &flag)) {
            fail(error, "-drive", "readonly=%s: use on or off", value);
            goto out_free;
        }
        d->read_only = d->read_only || flag;
    }
    value = g_hash_table_lookup(kv, "snapshot");
    if (value) {
        if (!parse_on_off(value, &flag)) {
            fail(error, "-drive", "snapshot=%s: use on or off", value);
            goto out_free;
        }
        d->snapshot = flag;
    }
    value = g_hash_table_lookup(kv, "cache");
    if (value && !g_strv_contains((const char *const[]){ "writeback", "none",
                                  "writethrough", "directsync", "unsafe", NULL },
                                  value)) {
        fail(error, "-drive", "cache=%s: unknown cache mode", value);
        goto out_free;
    }
    return add_drive(st, d, "-drive", error);

bad_format:
    fail(error, "-drive", "format=%s: known formats are raw and qcow2", d->format);
    goto out_free;
bad_if:
    fail(error, "-drive", "if=%s: known interfaces are ide and virtio", value);
    goto out_free;
bad_media:
    fail(error, "-drive", "media=%s: use disk or cdrom", value);
out_free:
    g_free(d->file);
    g_free(d->format);
    g_free(d);
    return FALSE;
}

/* -boot c|d|order=cd[,menu=on]: SeaBIOS's letters. */
static gboolean opt_boot(struct parse_state *st, const char *arg, GError **error)
{
    static const char *const known[] = { "order", "once", "menu", "strict",
                                         "splash-time", "reboot-timeout", NULL };
    g_autoptr(GHashTable) kv = parse_keyvals(arg, "order", "-boot", error);
    const char *order, *menu;
    gboolean flag;

    if (!kv || !check_known(kv, known, "-boot", error))
        return FALSE;
    order = g_hash_table_lookup(kv, "order");
    if (!order)
        order = g_hash_table_lookup(kv, "once");
    if (order) {
        if (!*order || strspn(order, "acdn") != strlen(order))
            return fail(error, "-boot", "order=%s: use the letters a, c, d, n",
                        order);
        g_free(st->opts->config->boot_order);
        st->opts->config->boot_order = g_strdup(order);
    }
    menu = g_hash_table_lookup(kv, "menu");
    if (menu) {
        if (!parse_on_off(menu, &flag))
            return fail(error, "-boot", "menu=%s: use on or off", menu);
        st->opts->config->boot_menu = flag;
    }
    return TRUE;
}

static gboolean opt_vga(struct parse_state *st, const char *arg, GError **error)
{
    if (strcmp(arg, "std") != 0 && strcmp(arg, "none") != 0)
        return fail(error, "-vga", "\"%s\" is not available (std, none)", arg);
    g_free(st->opts->config->vga);
    st->opts->config->vga = g_strdup(arg);
    return TRUE;
}

static gboolean opt_display(struct parse_state *st, const char *arg,
                            GError **error)
{
    if (strcmp(arg, "none") != 0)
        return fail(error, "-display", "\"%s\" is not available in mimic-system "
                    "(use -display none, or the mimic application)", arg);
    g_free(st->display);
    st->display = g_strdup(arg);
    return TRUE;
}

enum { ARG_NONE, ARG_ONE };

struct flag {
    const char *name;
    int takes;
};

static const struct flag flags[] = {
    { "m", ARG_ONE }, { "smp", ARG_ONE }, { "accel", ARG_ONE },
    { "enable-kvm", ARG_NONE }, { "machine", ARG_ONE }, { "M", ARG_ONE },
    { "nographic", ARG_NONE }, { "serial", ARG_ONE }, { "debugcon", ARG_ONE },
    { "bios", ARG_ONE }, { "device", ARG_ONE }, { "no-reboot", ARG_NONE },
    { "display", ARG_ONE }, { "qmp", ARG_ONE }, { "S", ARG_NONE },
    { "help", ARG_NONE }, { "h", ARG_NONE }, { "version", ARG_NONE },
    { "cdrom", ARG_ONE }, { "hda", ARG_ONE }, { "hdb", ARG_ONE },
    { "hdc", ARG_ONE }, { "hdd", ARG_ONE }, { "drive", ARG_ONE },
    { "boot", ARG_ONE }, { "kernel", ARG_ONE }, { "initrd", ARG_ONE },
    { "append", ARG_ONE }, { "vga", ARG_ONE }, { "snapshot", ARG_NONE },
};

static gboolean apply(struct parse_state *st, const char *name, const char *arg,
                      GError **error)
{
    struct vm_config *c = st->opts->config;

    if (strcmp(name, "m") == 0)
        return opt_memory(st, arg, error);
    if (strcmp(name, "smp") == 0)
        return opt_smp(st, arg, error);
    if (strcmp(name, "accel") == 0)
        return opt_accel(st, arg, error);
    if (strcmp(name, "enable-kvm") == 0)
        return set_accel(st, "kvm", "-enable-kvm", error);
    if (strcmp(name, "machine") == 0 || strcmp(name, "M") == 0)
        return opt_machine(st, arg, error);
    if (strcmp(name, "nographic") == 0) {
        st->nographic = TRUE;
        return TRUE;
    }
    if (strcmp(name, "serial") == 0) {
        st->serial_given = TRUE;
        g_ptr_array_add(c->serials, g_strdup(arg));
        return TRUE;
    }
    if (strcmp(name, "debugcon") == 0) {
        g_free(c->debugcon);
        c->debugcon = g_strdup(arg);
        return TRUE;
    }
    if (strcmp(name, "bios") == 0) {
        g_free(c->bios);
        c->bios = g_strdup(arg);
        return TRUE;
    }
    if (strcmp(name, "device") == 0)
        return opt_device(st, arg, error);
    if (strcmp(name, "no-reboot") == 0) {
        c->no_reboot = true;
        return TRUE;
    }
    if (strcmp(name, "display") == 0)
        return opt_display(st, arg, error);
    if (strcmp(name, "qmp") == 0) {
        g_free(st->opts->qmp);
        st->opts->qmp = g_strdup(arg);
        return TRUE;
    }
    if (strcmp(name, "S") == 0) {
        st->opts->start_paused = TRUE;
        return TRUE;
    }
    if (strcmp(name, "help") == 0 || strcmp(name, "h") == 0) {
        st->opts->show_help = TRUE;
        return TRUE;
    }
    if (strcmp(name, "version") == 0) {
        st->opts->show_version = TRUE;
        return TRUE;
    }
    if (strcmp(name, "cdrom") == 0)
        return opt_legacy_drive(st, "-cdrom", arg, 2, VM_DRIVE_CDROM, error);
    if (g_str_has_prefix(name, "hd") && strlen(name) == 3)
        return opt_legacy_drive(st, name - 1, arg, name[2] - 'a', VM_DRIVE_DISK,
                                error);
    if (strcmp(name, "drive") == 0)
        return opt_drive(st, arg, error);
    if (strcmp(name, "boot") == 0)
        return opt_boot(st, arg, error);
    if (strcmp(name, "vga") == 0)
        return opt_vga(st, arg, error);
    if (strcmp(name, "snapshot") == 0) {
        c->snapshot = true;
        return TRUE;
    }
    if (strcmp(name, "kernel") == 0 || strcmp(name, "initrd") == 0 ||
        strcmp(name, "append") == 0) {
        char **slot = name[0] == 'k' ? &c->kernel
                    : name[0] == 'i' ? &c->initrd : &c->append;

        g_free(*slot);
        *slot = g_strdup(arg);
        return TRUE;
    }
    return fail(error, name, "invalid option");
}

gboolean system_options_parse(int argc, char **argv, struct system_options *opts,
                              GError **error)
{
    struct parse_state st = { .opts = opts };

    memset(opts, 0, sizeof(*opts));
    opts->config = vm_config_new();
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        const char *name;
        const struct flag *flag = NULL;

        if (word[0] != '-' || word[1] == '\0')
            return fail(error, word, "unexpected argument (flags start with -)");
        name = word + (word[1] == '-' ? 2 : 1);
        for (unsigned f = 0; f < G_N_ELEMENTS(flags); f++)
            if (strcmp(flags[f].name, name) == 0)
                flag = &flags[f];
        if (!flag)
            return fail(error, word, "invalid option (see --help)");
        if (flag->takes == ARG_ONE && i + 1 >= argc)
            return fail(error, word, "requires an argument");
        if (!apply(&st, name, flag->takes == ARG_ONE ? argv[++i] : NULL, error))
            return FALSE;
    }
    if ((opts->config->initrd || opts->config->append) && !opts->config->kernel)
        return fail(error, opts->config->initrd ? "-initrd" : "-append",
                    "only allowed with -kernel");
    /* -nographic: the first serial port is the terminal, as in QEMU. */
    if (st.nographic && !st.serial_given)
        g_ptr_array_add(opts->config->serials, g_strdup("stdio"));
    g_free(st.display);
    return TRUE;
}

void system_options_clear(struct system_options *opts)
{
    vm_config_free(opts->config);
    g_free(opts->qmp);
    memset(opts, 0, sizeof(*opts));
}

void system_options_print_help(void)
{
    fputs(
"usage: mimic-system [options]\n"
"Run a virtual machine headless, with QEMU-style flags.\n"
"\n"
"  -m [size=]SIZE        guest RAM (default 128M; suffixes K M G T)\n"
"  -smp [cpus=]N         number of vCPUs (1-64)\n"
"  -accel kvm|jit        accelerator (jit: the software CPU; tcg is an alias);\n"
"                        default: KVM when /dev/kvm is usable, else jit\n"
"  -enable-kvm           same as -accel kvm\n"
"  -machine|-M pc        machine type (only pc)\n"
"  -bios FILE            firmware image (default: SeaBIOS from Debian)\n"
"  -cdrom FILE           ISO image on the IDE secondary master\n"
"  -hda|-hdb|-hdc|-hdd FILE   IDE disk at index 0-3\n"
"  -drive file=F[,format=raw|qcow2][,if=ide|virtio][,media=disk|cdrom]\n"
"         [,index=0-3][,readonly=on][,snapshot=on]\n"
"  -snapshot             write to temporary overlays, never to the images\n"
"  -boot [order=]cd[,menu=on]   boot order: c disk, d CD-ROM, n network\n"
"  -kernel bzImage [-initrd FILE] [-append CMDLINE]   direct Linux boot\n"
"  -vga std|none         display adapter (default std)\n"
"  -device loader,file=FILE,addr=ADDR   load a file into guest memory\n"
"  -device loader,addr=ADDR,data=VALUE,data-len=1|2|4|8\n"
"  -device isa-debug-exit[,iobase=PORT] a write of V exits with (V<<1)|1\n"
"  -serial SPEC          next serial port: stdio, file:PATH, null, none,\n"
"                        unix:PATH[,server[,nowait]]\n"
"  -debugcon SPEC        debug console on port 0x402 (same SPECs)\n"
"  -nographic            no display; the first serial port on stdio\n"
"  -display none         no display\n"
"  -no-reboot            exit when the guest resets instead of rebooting\n"
"  -qmp unix:PATH,server[,nowait]   QMP control socket\n"
"  -S                    do not start the CPUs (QMP cont starts them)\n"
"  -h, --help            this help\n"
"  --version             version\n"
"\n"
"Exit status: the guest's power-off code (0 for an ACPI power-off),\n"
"(V<<1)|1 for isa-debug-exit, 1 on errors.\n", stdout);
}
