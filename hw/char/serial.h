/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A 16550A UART (PC16550D) on port I/O: COM1-COM4 of a PC. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "hw/device.h"

struct machine;
struct chardev;

/*
 * Eight ports at @base raising machine interrupt line @gsi; output goes to
 * @chr and its input is received (@chr may be NULL: output is discarded).
 */
struct device *serial_create(struct machine *m, uint16_t base, unsigned gsi,
                             struct chardev *chr, GError **error);

extern const struct device_class serial_device_class;
