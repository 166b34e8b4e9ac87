/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test guest that never ends: real mode, PIT at 100 Hz through the PIC, and
 * "tick N" on COM1 every ten timer interrupts (ten lines a second of guest
 * time), so tests can pause, resume and reset a running guest.
 */
    .include "common.inc"
    .include "real-mode.inc"

    .set TICKS_PER_LINE, 10

    .code16
start16:
    REAL_MODE_SETUP msg_banner
    xor %bl, %bl                    /* lines printed (wraps at 256) */
wait:
    cli
    cmpb $TICKS_PER_LINE, %es:TICKS
    jae line
    sti                             /* the interrupt shadow covers the hlt */
    hlt
    jmp wait
line:
    subb $TICKS_PER_LINE, %es:TICKS
    sti
    inc %bl
    PRINT16 msg_tick
    mov %bl, %al
    call print_dec16
    PRINT16 msg_crlf
    jmp wait

    REAL_MODE_HANDLERS

    SERIAL_ROUTINES 16

msg_banner:
    .asciz "mimic ticker guest\r\n"

    RESET_VECTOR start16
