/* SPDX-License-Identifier: GPL-2.0-or-later */
/* VM configuration: defaults, freeing, and the size syntax QEMU users type. */
#include "engine/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

static void loader_free(gpointer data)
{
    struct vm_loader *l = data;

    g_free(l->file);
    g_free(l);
}

static void drive_free(gpointer data)
{
    struct vm_drive *d = data;

    g_free(d->file);
    g_free(d->format);
    g_free(d);
}

struct vm_config *vm_config_new(void)
{
    struct vm_config *c = g_new0(struct vm_config, 1);

    c->machine = g_strdup("pc");
    c->accel = g_strdup("auto");     /* KVM when usable, else the JIT */
    c->ram_size = 128 * 1024 * 1024;
    c->smp = 1;
    c->loaders = g_ptr_array_new_with_free_func(loader_free);
    c->serials = g_ptr_array_new_with_free_func(g_free);
    c->debug_exit_port = 0x501;
    c->drives = g_ptr_array_new_with_free_func(drive_free);
    c->boot_order = g_strdup("cd");
    c->vga = g_strdup("std");
    return c;
}

void vm_config_free(struct vm_config *c)
{
    if (!c)
        return;
    g_free(c->machine);
    g_free(c->accel);
    g_free(c->bios);
    g_free(c->debugcon);
    g_ptr_array_unref(c->loaders);
    g_ptr_array_unref(c->serials);
    g_ptr_array_unref(c->drives);
    g_free(c->boot_order);
    g_free(c->kernel);
    g_free(c->initrd);
    g_free(c->append);
    g_free(c->vga);
    g_free(c);
}

bool vm_parse_size(const char *text, uint64_t default_unit, uint64_t *out)
{
    const char *p = text;
    char *end;
    uint64_t unit = default_unit;
    uint64_t whole;
    double fraction = 0;

    if (!text || !isdigit((unsigned char)*p))
        return false;
    errno = 0;
    whole = strtoull(p, &end, 10);
    if (errno)
        return false;
    if (*end == '.') {
        const char *f = end;
        char *fend;

        fraction = strtod(f, &fend);
        if (fend == f + 1)
            return false;
        end = fend;
    }
    switch (toupper((unsigned char)*end)) {
    case '\0': break;
    case 'B': unit = 1; end++; break;
    case 'K': unit = UINT64_C(1) << 10; end++; break;
    case 'M': unit = UINT64_C(1) << 20; end++; break;
    case 'G': unit = UINT64_C(1) << 30; end++; break;
    case 'T': unit = UINT64_C(1) << 40; end++; break;
    case 'P': unit = UINT64_C(1) << 50; end++; break;
    case 'E': unit = UINT64_C(1) << 60; end++; break;
    default: return false;
    }
    if (*end != '\0')
        return false;
    if (unit != 0 && whole > UINT64_MAX / unit)
        return false;
    if (fraction != 0) {
        double extra = fraction * (double)unit;

        if (unit == 1 || extra >= (double)(UINT64_MAX - whole * unit))
            return false;
        *out = whole * unit + (uint64_t)llround(extra);
        return true;
    }
    *out = whole * unit;
    return true;
}
