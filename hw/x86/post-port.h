/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The PC's POST diagnostic port 0x80. */
#pragma once

#include <glib.h>

#include "hw/device.h"

struct machine;

#define POST_PORT 0x80

struct device *post_port_create(struct machine *m, GError **error);

extern const struct device_class post_port_device_class;
