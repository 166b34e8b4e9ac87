/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JIT test guest: software interrupts and IDT gate checks in 64-bit mode
 * (Intel SDM vol. 3, 6.12.1.1, 6.13, 6.15): INT3 and INTO (#UD) in ring 0, #UD
 * through a not-present gate (#NP with the IDT and EXT bits, no double
 * fault: #UD is benign), and from ring 3: INT n through a DPL-3 gate (stack
 * from TSS.RSP0), through a DPL-0 gate (#GP), through a not-present gate
 * (#NP), INT3 through the DPL-0 #BP gate (#GP). This host's KVM (PVM) cannot
 * run INT n; the expected output is what QEMU TCG prints.
 */
    .include "../../guests/common.inc"
    .include "../../guests/pm-entry.inc"
    .include "lm64.inc"

.macro EXPECT to
    lea \to(%rip), %rax
    mov %rax, RESUME
.endm

    .code64
test_main:
    PRINT64 msg_banner
    mov $(IDT_RAM + 0x50 * 16), %edi
    mov $int50_stub, %eax
    mov $0xef00, %dx                /* DPL 3 trap gate */
    call set_gate64
    add $16, %edi
    mov $0x8e00, %dx                /* DPL 0 */
    call set_gate64
    add $16, %edi
    mov $0x6e00, %dx                /* DPL 3, not present */
    call set_gate64
    mov $0xc0000081, %ecx           /* STAR, LSTAR: SYSCALL ends the test */
    xor %eax, %eax
    mov $0x00100008, %edx
    wrmsr
    mov $0xc0000082, %ecx
    mov $sys_exit, %eax
    xor %edx, %edx
    wrmsr

    EXPECT 1f
    int3                            /* a trap: resumes after it */
1:  EXPECT 1f
    mov $0x7f, %al
    add $1, %al                     /* OF */
    .byte 0xce                      /* INTO: #UD in 64-bit mode */
1:  EXPECT 1f
    movw $0x0e00, IDT_RAM + 6 * 16 + 4
    ud2                             /* #UD, gate absent: #NP(0x33) */
1:  movw $0x8e00, IDT_RAM + 6 * 16 + 4

    pushq $UDATA
    pushq $USER_STACK_TOP
    pushq $0x2
    pushq $UCODE
    lea user_main(%rip), %rax
    push %rax
    iretq

user_main:
    EXPECT 1f
    int $0x50                       /* DPL 3: taken, on TSS.RSP0 */
1:  EXPECT 1f
    int $0x51                       /* DPL 0: #GP(0x28a) */
1:  EXPECT 1f
    int $0x52                       /* not present: #NP(0x292) */
1:  EXPECT 1f
    int3                            /* #BP's gate is DPL 0: #GP(0x1a) */
1:  syscall

sys_exit:
    PRINT64 msg_done
    POWEROFF

    .balign 16
int50_stub:
    push $0
    push $80
    jmp exc_common64

msg_banner:
    .asciz "mimic interrupts guest\r\n"

    RESET_VECTOR start16
