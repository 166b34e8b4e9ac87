/* SPDX-License-Identifier: GPL-2.0-or-later */
/* QEMU's isa-debug-exit: a port that ends the VM with a chosen exit status. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "hw/device.h"

struct machine;

struct device *debug_exit_create(struct machine *m, uint16_t port,
                                 GError **error);

extern const struct device_class debug_exit_device_class;
