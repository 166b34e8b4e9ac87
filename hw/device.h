/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device descriptor: every device model ends its file with one. A device is
 * created by its own create function (which registers its regions) and then
 * reset and destroyed through the descriptor.
 */
#pragma once

struct machine;
struct device;

struct device_class {
    const char *name;
    void (*reset)(struct device *dev);      /* machine reset; device lock held */
    void (*destroy)(struct device *dev);
};

/* Embedded first in every device's own struct. */
struct device {
    const struct device_class *cls;
    struct machine *machine;
};
