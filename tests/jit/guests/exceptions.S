/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JIT test guest: exceptions in 64-bit mode and what they report: #DE, #UD,
 * #GP with and without a selector, #NP, #PF (not present, read-only
 * with CR0.WP, no-execute, with CR2), #SS on the IST stack, a double fault, and finally a triple fault (Intel SDM vol. 3,
 * 6.15 and 4.7). The output is compared between accelerators (no INT n:
 * this host's KVM, PVM, cannot run it; guests/interrupts.S has them).
 */
    .include "../../guests/common.inc"
    .include "../../guests/pm-entry.inc"
    .include "lm64.inc"

/* Resume at label \to after the faulting instruction(s). */
.macro EXPECT to
    lea \to(%rip), %rax
    mov %rax, RESUME
.endm

    .code64
test_main:
    PRINT64 msg_banner

    EXPECT 1f
    xor %ecx, %ecx
    div %ecx                        /* #DE */
1:  EXPECT 1f
    ud2                             /* #UD */
1:  EXPECT 1f
    movabs $0x8000000000000000, %rax
    mov (%rax), %rax                /* #GP(0): not canonical */
1:  EXPECT 1f
    mov $0x1000, %ax
    mov %ax, %ds                    /* #GP(0x1000): past the GDT limit */
1:  EXPECT 1f
    mov $ABSENT_SEL, %ax
    mov %ax, %ds                    /* #NP(0x38) */
1:  mov $KDATA, %ax
    mov %ax, %ds
    EXPECT 1f
    mov PAGE_ABSENT + 0x10, %eax    /* #PF(0): not present */
1:  EXPECT 1f
    movl $1, PAGE_READ_ONLY + 0x20  /* #PF(3): write, CR0.WP */
1:  EXPECT 1f
    mov $PAGE_NO_EXEC, %eax
    call *%rax                      /* #PF(0x11): fetch from an XD page */
1:  EXPECT 1f
    mov %rsp, %rbx
    movabs $0x8000000000000000, %rsp
    push %rax                       /* #SS(0), delivered on IST1 */
1:  mov %rbx, %rsp
    EXPECT 1f
    movw $0x0e00, IDT_RAM + 13 * 16 + 4     /* #GP's gate not present */
    movabs $0x8000000000000000, %rax
    mov (%rax), %rax                /* #GP -> #NP -> #DF(0) */
1:  movw $0x8e00, IDT_RAM + 13 * 16 + 4
    mov $STACK_TOP, %esp

    /* A read of the read-only page works; its accessed bit gets set. */
    mov PAGE_READ_ONLY, %eax
    testb $0x20, PT0 + (PAGE_READ_ONLY >> 12) * 8
    jz 2f
    PRINT64 msg_accessed
2:
    PRINT64 msg_triple
    lidt idtr_empty(%rip)
    ud2                             /* no IDT: #GP, #DF, shutdown */
    PRINT64 msg_alive
    FAIL_EXIT

idtr_empty:
    .word 0
    .quad 0

msg_banner:
    .asciz "mimic exceptions guest\r\n"
msg_accessed:
    .asciz "accessed bit set\r\n"
msg_triple:
    .asciz "triple fault next\r\n"
msg_alive:
    .asciz "still running after a triple fault\r\n"

    RESET_VECTOR start16
