/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Key names as QMP spells them (QEMU's "qcode" values) to Linux input
 * event codes (<linux/input-event-codes.h>), the one key representation
 * Mimic passes from front ends to keyboard models.
 */
#pragma once

/* The Linux KEY_* code of @qcode, or -1 if unknown. */
int keycode_from_qcode(const char *qcode);
/* The qcode name of a Linux key code, or NULL. */
const char *keycode_to_qcode(int keycode);
