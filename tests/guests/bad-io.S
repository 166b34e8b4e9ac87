/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test guest for accesses to nothing: in 32-bit protected mode it reads and
 * writes an unused port and unmapped MMIO 50 times each; reads must give all
 * ones. Prints the result of each check, "done", and powers off.
 */
    .include "common.inc"
    .include "pm-entry.inc"
    .include "idt32.inc"

    .set BAD_PORT, 0x1234
    .set BAD_MMIO, 0xfeb00000
    .set ROUNDS, 50

    .code32
main32:
    UART_INIT
    call setup_idt32
    PRINT32 msg_banner

    mov $0xff, %bl                  /* AND of every byte read */
    mov $ROUNDS, %ecx
1:  mov $BAD_PORT, %dx
    in %dx, %al
    and %al, %bl
    mov $(BAD_PORT + 1), %dx
    out %al, %dx
    loop 1b
    cmp $0xff, %bl
    jne 2f
    PRINT32 msg_port_ok
    jmp 3f
2:  PRINT32 msg_port_fail
    movzbl %bl, %eax
    mov $2, %ecx
    call print_hex32
    PRINT32 msg_crlf

3:  mov $0xffffffff, %ebx           /* AND of every dword read */
    mov $ROUNDS, %ecx
4:  mov BAD_MMIO, %eax
    and %eax, %ebx
    movl $0x5a5a5a5a, BAD_MMIO
    loop 4b
    cmp $0xffffffff, %ebx
    jne 5f
    PRINT32 msg_mmio_ok
    jmp 6f
5:  PRINT32 msg_mmio_fail
    mov %ebx, %eax
    mov $8, %ecx
    call print_hex32
    PRINT32 msg_crlf

6:  PRINT32 msg_done
    POWEROFF

/* The low ECX hex digits of EAX; clobbers EAX, ECX, EDX, ESI. */
print_hex32:
    mov %eax, %esi
    shl $2, %ecx                    /* bits to print */
1:  sub $4, %ecx
    mov %esi, %eax
    shr %cl, %eax
    and $0xf, %eax
    add $'0', %al
    cmp $'9', %al
    jbe 2f
    add $('a' - '9' - 1), %al
2:  push %ecx
    call putc32
    pop %ecx
    test %ecx, %ecx
    jnz 1b
    ret

    SERIAL_ROUTINES 32

msg_banner:
    .asciz "mimic bad-io guest\r\n"
msg_port_ok:
    .asciz "bad-io: port 0x1234 reads ff\r\n"
msg_port_fail:
    .asciz "bad-io: FAIL port 0x1234 reads "
msg_mmio_ok:
    .asciz "bad-io: mmio reads ffffffff\r\n"
msg_mmio_fail:
    .asciz "bad-io: FAIL mmio reads "

    RESET_VECTOR start16
