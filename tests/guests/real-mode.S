/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test guest that stays in real mode: UART output, an IVT timer handler,
 * PIT at 100 Hz through the PIC, three ticks, then ACPI power-off.
 */
    .include "common.inc"
    .include "real-mode.inc"

    .code16
start16:
    REAL_MODE_SETUP msg_banner
    sti
    TICK_LOOP 16, %es:TICKS

    REAL_MODE_HANDLERS

    SERIAL_ROUTINES 16

msg_banner:
    .asciz "mimic real-mode guest\r\n"

    RESET_VECTOR start16
