/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Bochs/QEMU debug console port (0xe9, or 0x402 for SeaBIOS). */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "hw/device.h"

struct machine;
struct chardev;

/* One port at @port: bytes written go to @chr (NULL: discarded). */
struct device *debugcon_create(struct machine *m, uint16_t port,
                               struct chardev *chr, GError **error);

extern const struct device_class debugcon_device_class;
