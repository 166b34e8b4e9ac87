/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mimic-system's command line: QEMU-style flags into a VM configuration. */
#pragma once

#include <glib.h>

#include "engine/config.h"

struct system_options {
    struct vm_config *config;
    char *qmp;                  /* -qmp spec or NULL */
    gboolean start_paused;      /* -S */
    gboolean show_help;
    gboolean show_version;
};

/* Fills @opts (config freshly allocated); FALSE with an error naming the flag. */
gboolean system_options_parse(int argc, char **argv, struct system_options *opts,
                              GError **error);
void system_options_clear(struct system_options *opts);
void system_options_print_help(void);
