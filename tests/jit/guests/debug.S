/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JIT test guest: debug exceptions and NMIs in 64-bit mode (Intel SDM vol.
 * 3, ch. 17; 6.7). Single-step (TF set by POPF traps after the next
 * instruction; MOV SS delays the trap by one; REP STOSB traps after each
 * iteration; SYSCALL traps only if FMASK keeps TF), an instruction breakpoint
 * resumed with RF, write and read/write data breakpoints of each length
 * with unaligned accesses overlapping them, REP MOVS stopped after the
 * iteration that wrote the watched dword, DR7.GD, DR4/DR5 aliasing and
 * their #UD with CR4.DE, ICEBP; then a self NMI through the local APIC's
 * ICR, with IF clear, a second one sent from the handler taken only after
 * its IRET. The #DB handler prints "#DB dr6 D at +O rf R": DR6's B0-B3,
 * BD, BS, BT; the pushed RIP minus the current ANCHOR; the pushed RF.
 */
    .include "../../guests/common.inc"
    .include "../../guests/pm-entry.inc"
    .include "lm64.inc"

    .set ANCHOR, 0x520              /* qword: RIPs print relative to it */
    .set TRAP_RCX, 0x528            /* RCX and RSI at the last #DB */
    .set TRAP_RSI, 0x530
    .set NMI_COUNT, 0x538
    .set NMI_SEEN, 0x53c            /* NMI_COUNT when the handler was about to IRET */
    .set LAPIC, 0xfee00000
    .set DATA, 0x90000
    .set SRC, 0x91000
    .set DST, 0x92000

.macro EXPECT to
    lea \to(%rip), %rax
    mov %rax, RESUME
.endm

.macro AT label
    lea \label(%rip), %rax
    mov %rax, ANCHOR
.endm

.macro SET_DR7 value
    mov $\value, %eax
    mov %rax, %dr7
.endm

.macro TF_ON
    pushfq
    orq $0x100, (%rsp)
    popfq
.endm

.macro TF_OFF
    pushfq
    andq $~0x100, (%rsp)
    popfq
.endm

    .code64
test_main:
    PRINT64 msg_banner
    mov $(IDT_RAM + 1 * 16), %edi
    lea db_handler(%rip), %rax
    mov $0x8e00, %dx
    call set_gate64
    mov $(IDT_RAM + 2 * 16), %edi
    lea nmi_handler(%rip), %rax
    call set_gate64

    /* Single-step: POPF sets TF, the NOP after it is the first to trap. */
    PRINT64 msg_step
    AT 1f
    TF_ON
1:  nop
    mov $1, %eax
    add %eax, %eax
    TF_OFF                          /* its POPF still traps */
    nop

    /* MOV SS: no trap after it, one after the next instruction. */
    PRINT64 msg_movss
    mov %ss, %ebx
    AT 1f
    TF_ON
1:  nop
    mov %ebx, %ss
    nop
    nop
    TF_OFF

    /* REP STOSB traps after each iteration; RF = 1 but after the last. */
    PRINT64 msg_rep_step
    mov $(DATA + 64), %edi
    mov $3, %ecx
    xor %eax, %eax
    AT 1f
    TF_ON
1:  rep stosb
    TF_OFF

    /* SYSCALL within ring 0: traps after it only if FMASK leaves TF set. */
    mov $0xc0000081, %ecx           /* STAR: SYSCALL CS 0x08, SS 0x10 */
    xor %eax, %eax
    mov $0x00100008, %edx
    wrmsr
    mov $0xc0000082, %ecx           /* LSTAR */
    lea sys_entry(%rip), %rax
    mov %rax, %rdx
    shr $32, %rdx
    wrmsr
    PRINT64 msg_syscall_masked
    mov $0xc0000084, %ecx           /* FMASK: TF */
    mov $0x100, %eax
    xor %edx, %edx
    wrmsr
    AT 1f
    TF_ON
    syscall
1:  TF_OFF
    PRINT64 msg_syscall_kept
    mov $0xc0000084, %ecx           /* FMASK: nothing */
    xor %eax, %eax
    xor %edx, %edx
    wrmsr
    AT sys_entry
    TF_ON
    syscall
    TF_OFF

    /* An instruction breakpoint: a fault, then RF lets the NOP run. */
    PRINT64 msg_exec
    lea 1f(%rip), %rax
    mov %rax, %dr0
    SET_DR7 0x1                     /* L0, R/W0 = 00, LEN0 = 00 */
    mov $2, %ecx
    AT 1f
1:  nop
    loop 1b
    SET_DR7 0

    /* Writes of DR1 = DATA + 9, LEN 4: the bytes DATA + 8 to DATA + 11. */
    PRINT64 msg_write
    mov $(DATA + 9), %eax
    mov %rax, %dr1
    SET_DR7 0xd00004                /* L1, R/W1 = 01, LEN1 = 11 */
    AT 1f
    movl $1, DATA + 8
1:  AT 1f
    mov DATA + 8, %eax              /* a read: nothing */
    movb $1, DATA + 12              /* outside: nothing */
    movb $1, DATA + 7               /* outside: nothing */
    movw $1, DATA + 10
1:  AT 1f
    movq $1, DATA + 4               /* bytes 4-11 overlap */
1:  AT 1f
    movl $1, DATA + 11              /* bytes 11-14 overlap */
1:  AT 1f
    movb $1, DATA + 8
1:  SET_DR7 0

    /* Reads and writes of DR2 = DATA + 16, LEN 8; DR3 = DATA + 32, LEN 1. */
    PRINT64 msg_rw
    mov $(DATA + 16), %eax
    mov %rax, %dr2
    mov $(DATA + 32), %eax
    mov %rax, %dr3
    SET_DR7 0x1b000050              /* L2, L3; R/W2 = 11, LEN2 = 10; R/W3 = 01 */
    AT 1f
    mov DATA + 16, %rax
1:  AT 1f
    mov DATA + 23, %al
1:  AT 1f
    mov DATA + 24, %al              /* outside: nothing */
    mov DATA + 14, %eax             /* bytes 14-17 overlap */
1:  AT 1f
    addb $1, DATA + 20              /* read and write: one #DB */
1:  AT 1f
    mov DATA + 32, %al              /* DR3 is write-only: nothing */
    movw $0, DATA + 31              /* bytes 31-32 overlap DR3 */
1:  AT 1f
    movq $0, DATA + 28              /* bytes 28-35: DR2 no, DR3 yes */
1:  AT 1f
    movq $0, DATA + 20              /* bytes 20-27: DR2 */
1:  SET_DR7 0

    /* REP MOVSL of 16 dwords with a write breakpoint on the 11th. */
    PRINT64 msg_rep
    mov $(DST + 40), %eax
    mov %rax, %dr0
    SET_DR7 0xd0001                 /* L0, R/W0 = 01, LEN0 = 11 */
    mov $SRC, %esi
    mov $DST, %edi
    mov $16, %ecx
    cld
    AT 1f
1:  rep movsl
    mov %rsi, %r8
    SET_DR7 0
    PRINT64 msg_rcx
    mov TRAP_RCX, %rax
    mov $2, %ecx
    call print_hex64
    PRINT64 msg_rsi
    mov TRAP_RSI, %rax
    sub $SRC, %rax
    mov $2, %ecx
    call print_hex64
    PRINT64 msg_rcx_end
    mov %r8, %rax
    sub $SRC, %rax
    mov $2, %ecx
    call print_hex64
    PRINT64 msg_crlf

    /* DR7.GD: the next MOV DR faults with BD; GD is clear in the handler. */
    PRINT64 msg_gd
    SET_DR7 0x2000
    AT 1f
1:  mov %dr0, %rax
    mov %dr7, %rax
    shr $13, %eax
    and $1, %eax
    add $'0', %al
    push %rax
    PRINT64 msg_gd_after
    pop %rax
    call putc64
    PRINT64 msg_crlf
    SET_DR7 0

    /* DR4/DR5 are DR6/DR7 without CR4.DE; with it they are #UD. */
    PRINT64 msg_alias
    SET_DR7 0x100                   /* LE */
    mov %dr5, %rax
    mov $8, %ecx
    call print_hex64
    mov $' ', %al
    call putc64
    xor %eax, %eax
    mov %rax, %dr5
    mov %dr7, %rax
    mov $8, %ecx
    call print_hex64
    mov $' ', %al
    call putc64
    mov $0xffff0ff0, %eax
    mov %rax, %dr4
    mov %dr6, %rax
    mov $8, %ecx
    call print_hex64
    PRINT64 msg_crlf
    mov %cr4, %rax
    or $0x8, %eax                   /* CR4.DE */
    mov %rax, %cr4
    EXPECT 1f
    mov %dr4, %rax
1:  EXPECT 1f
    mov %rax, %dr5
1:  mov %cr4, %rax
    and $~0x8, %eax
    mov %rax, %cr4
    movq $0, RESUME

    /* ICEBP: #DB as a trap, nothing in DR6. */
    PRINT64 msg_icebp
    AT 1f
    .byte 0xf1
1:

    /* NMI: to this CPU through the ICR with IF = 0 (the APIC page mapped). */
    PRINT64 msg_nmi
    movl $(LAPIC | 0x9b), PD_TOP + ((LAPIC - 0xc0000000) >> 21) * 8
    mov %cr3, %rax
    mov %rax, %cr3
    cli
    movl $0, NMI_COUNT
    call send_self_nmi
    cmpl $2, NMI_COUNT
    jne fail
    cmpl $1, NMI_SEEN
    jne fail
    PRINT64 msg_nmi_done

    PRINT64 msg_done
    POWEROFF

fail:
    PRINT64 msg_fail
    FAIL_EXIT

/* SYSCALL's target: back with the caller's RFLAGS (TF included). */
sys_entry:
    push %r11
    popfq
    jmp *%rcx

/* An NMI to this local APIC by its ID (physical destination, edge). */
send_self_nmi:
    push %rdi
    mov $LAPIC, %edi
    mov 0x20(%rdi), %eax            /* ID */
    mov %eax, 0x310(%rdi)           /* ICR high: destination = our ID */
    movl $0x400, 0x300(%rdi)        /* ICR low: delivery mode NMI */
    pop %rdi
    ret

/* The first NMI sends a second one, which must wait for this IRET. */
nmi_handler:
    push %rax
    push %rcx
    push %rdx
    push %rsi
    incl NMI_COUNT
    PRINT64 msg_nmi_in
    mov NMI_COUNT, %eax
    call print_dec64
    PRINT64 msg_crlf
    cmpl $1, NMI_COUNT
    jne 1f
    call send_self_nmi
    mov $100, %ecx
2:  pause
    loop 2b
    mov NMI_COUNT, %eax
    mov %eax, NMI_SEEN
1:  pop %rsi
    pop %rdx
    pop %rcx
    pop %rax
    iretq

/* Stack: RBX, RSI, RDX, RCX, RAX, then RIP, CS, RFLAGS, RSP, SS. */
db_handler:
    push %rax
    push %rcx
    push %rdx
    push %rsi
    push %rbx
    mov 24(%rsp), %rax
    mov %rax, TRAP_RCX
    mov 8(%rsp), %rax
    mov %rax, TRAP_RSI
    PRINT64 msg_db
    mov %dr6, %rax
    and $0xe00f, %eax
    mov $4, %ecx
    call print_hex64
    PRINT64 msg_at
    mov 40(%rsp), %rax
    sub ANCHOR, %rax
    mov $2, %ecx
    call print_hex64
    PRINT64 msg_rf
    mov 56(%rsp), %rax
    shr $16, %eax
    and $1, %eax
    add $'0', %al
    call putc64
    PRINT64 msg_crlf
    xor %eax, %eax
    mov %rax, %dr6                  /* DR6 is never cleared by the CPU */
    orq $0x10000, 56(%rsp)          /* RF: do not hit the same breakpoint again */
    pop %rbx
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rax
    iretq

msg_banner:
    .asciz "mimic debug guest\r\n"
msg_step:
    .asciz "single-step\r\n"
msg_movss:
    .asciz "single-step over mov ss\r\n"
msg_rep_step:
    .asciz "single-step over rep stosb\r\n"
msg_syscall_masked:
    .asciz "single-step over syscall, FMASK clears TF\r\n"
msg_syscall_kept:
    .asciz "single-step over syscall, FMASK keeps TF\r\n"
msg_exec:
    .asciz "instruction breakpoint, twice\r\n"
msg_write:
    .asciz "write breakpoint\r\n"
msg_rw:
    .asciz "read/write breakpoints\r\n"
msg_rep:
    .asciz "rep movs\r\n"
msg_rcx:
    .asciz "at the trap rcx "
msg_rsi:
    .asciz " rsi +"
msg_rcx_end:
    .asciz ", at the end rsi +"
msg_gd:
    .asciz "general detect\r\n"
msg_gd_after:
    .asciz "dr7.gd in the handler and after it: "
msg_alias:
    .asciz "dr5 dr7 dr6: "
msg_icebp:
    .asciz "icebp\r\n"
msg_nmi:
    .asciz "self nmi with IF = 0\r\n"
msg_nmi_in:
    .asciz "nmi handler, count "
msg_nmi_done:
    .asciz "second nmi after iret\r\n"
msg_db:
    .asciz "#DB dr6 "
msg_at:
    .asciz " at +"
msg_rf:
    .asciz " rf "
msg_fail:
    .asciz "FAIL\r\n"

    RESET_VECTOR start16
