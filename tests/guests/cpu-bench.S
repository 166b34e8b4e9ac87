/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CPU benchmark guest: a tight integer loop (xorshift64, multiply, rotate,
 * branches) that also streams through a 1 MiB table in RAM, then prints a
 * checksum on COM1 and powers off. The same flat image runs on Mimic (KVM
 * or JIT) and on QEMU, so bench/cpu-bench.sh can compare their CPUs.
 */
    .include "common.inc"
    .include "pm-entry.inc"
    .include "long-entry.inc"

    .set TABLE, 0x200000            /* 1 MiB of 64-bit words */
    .set TABLE_WORDS, 131072
    .set ROUNDS, 8000000            /* loop iterations */

    .code64
start64:
    PRINT64 msg_banner
    /* Fill the table from a xorshift64 sequence (Marsaglia 2003). */
    mov $0x9e3779b97f4a7c15, %rax
    mov $TABLE, %rdi
    mov $TABLE_WORDS, %ecx
1:  mov %rax, %rdx
    shl $13, %rdx
    xor %rdx, %rax
    mov %rax, %rdx
    shr $7, %rdx
    xor %rdx, %rax
    mov %rax, %rdx
    shl $17, %rdx
    xor %rdx, %rax
    mov %rax, (%rdi)
    add $8, %rdi
    dec %ecx
    jnz 1b

    /* Main loop: mix the state with a pseudo-random table word, write back. */
    mov $ROUNDS, %ecx
    xor %ebx, %ebx                  /* checksum */
    mov $0x0123456789abcdef, %r8
2:  mov %rax, %rdx
    shl $13, %rdx
    xor %rdx, %rax
    mov %rax, %rdx
    shr $7, %rdx
    xor %rdx, %rax
    mov %rax, %rdx
    shl $17, %rdx
    xor %rdx, %rax
    mov %eax, %esi
    and $(TABLE_WORDS - 1), %esi
    mov TABLE(,%rsi,8), %rdx
    imul %r8, %rdx
    rol $23, %rdx
    add %rdx, %rbx
    test $1, %dl
    jz 3f
    xor %rax, %rbx
3:  mov %rbx, TABLE(,%rsi,8)
    dec %ecx
    jnz 2b

    PRINT64 msg_checksum
    mov %rbx, %rax
    shr $32, %rax
    mov $8, %ecx
    call print_hex64
    mov %ebx, %eax
    mov $8, %ecx
    call print_hex64
    PRINT64 msg_crlf
    /* QEMU without firmware leaves its PM block off: end through
     * isa-debug-exit first when present (status (0 << 1) | 1 there). */
    xor %eax, %eax
    mov $DEBUG_EXIT_PORT, %dx
    out %al, %dx
    POWEROFF


msg_banner:
    .asciz "mimic cpu-bench guest\r\n"
msg_checksum:
    .asciz "checksum "

    RESET_VECTOR start16
