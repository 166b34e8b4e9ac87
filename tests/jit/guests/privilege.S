/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JIT test guest: privilege changes in 64-bit mode. Ring 0 enters ring 3
 * with IRETQ; ring 3 prints through COM1, which the TSS I/O bitmap opens to
 * it, calls SYSCALL (back with SYSRETQ), and tries what it may not: CLI,
 * HLT, a port the bitmap denies, MOV from CR0, a supervisor page; each
 * fault switches to TSS.RSP0 and returns with IRETQ (Intel SDM vol. 3,
 * 5.8, 6.12.1, 6.14, 4.6; vol. 1, 18.5; AMD APM vol. 2, 6.1). Nothing reads
 * CS or SS directly: this host's KVM (PVM) shows its own selectors there.
 */
    .include "../../guests/common.inc"
    .include "../../guests/pm-entry.inc"
    .include "lm64.inc"

.macro EXPECT to
    lea \to(%rip), %rax
    mov %rax, RESUME
.endm

    .set SYS_PRINT, 1
    .set SYS_EXIT, 2

    .code64
test_main:
    PRINT64 msg_banner
    /* SYSCALL: CS 0x08 / SS 0x10 in, SYSRET CS 0x23 / SS 0x1b out. */
    mov $0xc0000081, %ecx           /* STAR */
    xor %eax, %eax
    mov $0x00100008, %edx
    wrmsr
    mov $0xc0000082, %ecx           /* LSTAR */
    mov $syscall_handler, %eax
    xor %edx, %edx
    wrmsr
    mov $0xc0000084, %ecx           /* FMASK: IF, DF, TF */
    mov $0x700, %eax
    wrmsr

    /* To ring 3: SS, RSP, RFLAGS (IOPL 0, IF 0), CS, RIP. */
    pushq $UDATA
    pushq $USER_STACK_TOP
    pushq $0x2
    pushq $UCODE
    lea user_main(%rip), %rax
    push %rax
    iretq

/* ---- ring 3 ---- */
user_main:
    PRINT64 msg_user
    mov %cs, %eax
    and $3, %eax
    add $'0', %al
    call putc64
    PRINT64 msg_crlf

    mov $SYS_PRINT, %eax
    lea 1f(%rip), %r13
    syscall
1:  PRINT64 msg_back_syscall

    EXPECT 1f
    cli                             /* #GP(0): CPL 3 > IOPL 0 */
1:  EXPECT 1f
    hlt                             /* #GP(0) */
1:  EXPECT 1f
    mov $0x80, %dx
    in %dx, %al                     /* #GP(0): the bitmap denies port 0x80 */
1:  EXPECT 1f
    mov %cr0, %rax                  /* #GP(0) */
1:  EXPECT 1f
    mov PAGE_SUPERVISOR, %eax       /* #PF(5): user read, supervisor page */
1:  EXPECT 1f
    movl $0, PAGE_SUPERVISOR        /* #PF(7) */
1:  EXPECT 1f
    movl $0, PAGE_READ_ONLY         /* #PF(7): user write, read-only page */
1:  EXPECT 1f
    mov $KDATA, %ax
    mov %ax, %ds                    /* #GP(0x10): DPL 0 < CPL 3 */
1:  mov $SYS_EXIT, %eax
    syscall
bad:
    PRINT64 msg_bad
    mov $SYS_EXIT, %eax
    syscall

/* ---- ring 0 ---- */
syscall_handler:
    cmp $SYS_EXIT, %eax
    je sys_exit
    /* RCX: the return RIP (the caller put it in R13 too), R11: RFLAGS. */
    mov %rcx, %rbx
    pushfq
    pop %r12
    PRINT64 msg_syscall
    cmp %rbx, %r13
    jne 1f
    mov %r11, %rax
    and $~0x8d5, %rax               /* all but the arithmetic flags */
    cmp $0x2, %rax
    jne 1f
    test $0x700, %r12d              /* FMASK cleared IF, DF, TF */
    jnz 1f
    PRINT64 msg_frame_ok
    mov %rbx, %rcx
    sysretq
1:  PRINT64 msg_bad
    FAIL_EXIT

sys_exit:
    PRINT64 msg_done
    POWEROFF

msg_banner:
    .asciz "mimic privilege guest\r\n"
msg_user:
    .asciz "in ring "
msg_syscall:
    .asciz "syscall in ring 0: "
msg_back_syscall:
    .asciz "back in ring 3 after sysretq\r\n"
msg_frame_ok:
    .asciz "return address and flags as expected\r\n"
msg_bad:
    .asciz "FAIL: unexpected state\r\n"

    RESET_VECTOR start16
