/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Choosing an accelerator by name (-accel kvm|jit). */
#include "engine/accel.h"

#include <string.h>

#include "engine/vm.h"

extern const struct accel_ops accel_jit_ops;     /* engine/accel-jit.c */

const struct accel_ops *accel_find(const char *name, GError **error)
{
    if (strcmp(name, "kvm") == 0)
        return &accel_kvm_ops;
    if (strcmp(name, "jit") == 0 || strcmp(name, "tcg") == 0)
        return &accel_jit_ops;
    g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_NO_ACCEL,
                "unknown accelerator \"%s\" (known: kvm, jit)", name);
    return NULL;
}
