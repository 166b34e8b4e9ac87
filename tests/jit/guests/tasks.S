/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JIT test guest: hardware task switches in 32-bit protected mode (Intel
 * SDM vol. 3, 7.3-7.6; vol. 2 "JMP", "CALL", "INT n", "IRET"). JMP to a
 * TSS and back, CALL through a task gate and IRET (NT) back, CALL to busy
 * tasks (#GP), INT n through a task gate to a TSS with the T flag (#DB in
 * the new task), #GP and #DF through task gates as 32-bit Linux handles
 * double faults, a TSS below the minimum limit (#TS) and a not-present one
 * (#NP), a 16-bit TSS; each prints what the switch saved and changed: TR,
 * EFLAGS.NT, the previous task link, busy flags, CR0.TS, old TSS fields.
 * Last, with 32-bit paging on, a CALL to a TSS with its own CR3 and back.
 */
    .include "../../guests/common.inc"
    .include "../../guests/pm-entry.inc"
    .include "../../guests/idt32.inc"

/* RAM: where to resume after an expected fault, and the stack to resume on. */
    .set RESUME, 0x600
    .set RESUME_ESP, 0x604
    .set IDTR_RAM, 0x610

/* The TSSes, 256 bytes apart, and the tasks' stacks. */
    .set TSS_MAIN, 0x20000
    .set TSS_A, 0x20100
    .set TSS_B, 0x20200
    .set TSS_C, 0x20300
    .set TSS_DF, 0x20400
    .set TSS_GP, 0x20500
    .set TSS_SMALL, 0x20600
    .set TSS_ABSENT, 0x20700
    .set TSS_16, 0x20800
    .set TSS_P, 0x20900
    .set TSS_END, 0x20a00

/* Two page directories: linear 4 MiB maps to physical 4 MiB or 8 MiB. */
    .set PAGE_DIR2, 0x4000
    .set PAGED, 0x400000

/* GDT entries after pm-entry.inc's four. */
    .set MAIN_SEL, 0x20
    .set A_SEL, 0x28
    .set B_SEL, 0x30
    .set B_GATE_SEL, 0x38
    .set C_SEL, 0x40
    .set DF_SEL, 0x48
    .set GP_SEL, 0x50
    .set SMALL_SEL, 0x58
    .set ABSENT_SEL, 0x60
    .set T16_SEL, 0x68
    .set ROMCODE_SEL, 0x70          /* 32-bit code, base = ROM_BASE, 64 KiB */
    .set DATA16_SEL, 0x78           /* 16-bit stack (B = 0), 64 KiB */
    .set P_SEL, 0x80
    .set GDT_END, 0x88

/* A TSS descriptor (figure 7-3), 32-bit available: access 0x89. */
.macro TSS_DESC base, limit, access=0x89
    .word \limit
    .word \base & 0xffff
    .byte (\base >> 16) & 0xff
    .byte \access
    .byte 0
    .byte \base >> 24
.endm

/* Before an instruction that must fault: where fault_common resumes. */
.macro EXPECT to
    pushf
    mov %esp, RESUME_ESP
    movl $\to, RESUME
.endm

/* " sel=busy" for the TSS descriptor \sel. */
.macro BUSY sel
    PRINT32 msg_space
    mov $\sel, %ebx
    call show_busy
.endm

/* Print \msg, then the low \digits hex digits of \value. */
.macro SHOW msg, value, digits=4
    PRINT32 \msg
    mov \value, %eax
    mov $\digits, %ecx
    call print_hex32
.endm

    .code32
main32:
    UART_INIT
    call setup_idt32
    PRINT32 msg_banner

    /* The task descriptors go after the flat ones pm-entry.inc copied. */
    mov $gdt_tasks, %esi
    mov $(GDT_RAM + MAIN_SEL), %edi
    mov $(GDT_END - MAIN_SEL), %ecx
    rep movsb
    lgdt gdtr_tasks

    mov $TSS_MAIN, %edi
    xor %eax, %eax
    mov $((TSS_END - TSS_MAIN) / 4), %ecx
    rep stosl
    mov $TSS_A, %edi
    mov $task_a, %eax
    mov $0x30000, %edx
    call init_tss32
    mov $TSS_B, %edi
    mov $task_b, %eax
    mov $0x31000, %edx
    call init_tss32
    mov $TSS_C, %edi
    mov $task_c, %eax
    mov $0x32000, %edx
    call init_tss32
    movw $1, TSS_C + 0x64           /* T: #DB when the task is entered */
    mov $TSS_DF, %edi
    mov $task_df, %eax
    mov $0x33000, %edx
    call init_tss32
    mov $TSS_GP, %edi
    mov $task_gp, %eax
    mov $0x34000, %edx
    call init_tss32
    /* The 16-bit TSS (figure 7-10): IP, FLAGS, SP, ES, CS, SS, DS. */
    movw $(task16 - ROM_BASE), TSS_16 + 0x0e
    movw $0x0002, TSS_16 + 0x10
    movw $0x9000, TSS_16 + 0x1a
    movw $DATA_SEL, TSS_16 + 0x22
    movw $ROMCODE_SEL, TSS_16 + 0x24
    movw $DATA16_SEL, TSS_16 + 0x26
    movw $DATA_SEL, TSS_16 + 0x28
    mov $TSS_P, %edi
    mov $task_p, %eax
    mov $0x35000, %edx
    call init_tss32
    movl $PAGE_DIR2, TSS_P + 0x1c   /* CR3 */
    movl $PAGE_DIR, TSS_MAIN + 0x1c /* not saved by a switch, loaded by one */

    mov $MAIN_SEL, %ax
    ltr %ax

    /* #TS, #NP, #GP print and resume; #DB prints and returns; #DF, INT 0x40: tasks. */
    mov $(IDT_RAM + 10 * 8), %edi
    mov $fault_ts, %eax
    call set_gate32
    mov $(IDT_RAM + 11 * 8), %edi
    mov $fault_np, %eax
    call set_gate32
    call gp_interrupt_gate
    mov $(IDT_RAM + 1 * 8), %edi
    mov $debug_handler, %eax
    call set_gate32
    mov $(IDT_RAM + 8 * 8), %edi
    mov $DF_SEL, %eax
    call set_task_gate
    mov $(IDT_RAM + 0x40 * 8), %edi
    mov $C_SEL, %eax
    call set_task_gate
    movw $(0x41 * 8 - 1), IDTR_RAM
    movl $IDT_RAM, IDTR_RAM + 2
    lidt IDTR_RAM

    /* JMP to a TSS: not nested; A jumps back to the main task. */
    PRINT32 msg_jmp_a
    ljmp $A_SEL, $0
    PRINT32 msg_main_back
    call show_task
    clts
    PRINT32 msg_busy_list
    BUSY MAIN_SEL
    BUSY A_SEL
    PRINT32 msg_crlf
    PRINT32 msg_saved_a
    cmpl $task_a_resume, TSS_A + 0x20
    call show_ok
    SHOW msg_eflags, TSS_A + 0x24, 8
    SHOW msg_eax, TSS_A + 0x28, 8
    SHOW msg_esp, TSS_A + 0x38, 8
    SHOW msg_cs, TSS_A + 0x4c
    SHOW msg_ss, TSS_A + 0x50
    SHOW msg_ds, TSS_A + 0x54
    PRINT32 msg_crlf

    /* CALL through a task gate: B is nested and returns with IRET. */
    PRINT32 msg_call_b
    lcall $B_GATE_SEL, $0
    PRINT32 msg_main_back
    call show_task
    clts
    PRINT32 msg_busy_list
    BUSY MAIN_SEL
    BUSY B_SEL
    PRINT32 msg_crlf
    PRINT32 msg_saved_b
    cmpl $task_b_resume, TSS_B + 0x20
    call show_ok
    SHOW msg_eflags, TSS_B + 0x24, 8
    PRINT32 msg_crlf

    /* INT n through a task gate, to a TSS with the T flag. */
    PRINT32 msg_int
    int $0x40
    PRINT32 msg_main_back
    call show_task
    clts
    PRINT32 msg_crlf

    /* #GP through a task gate: the error code is on the new task's stack. */
    PRINT32 msg_gp
    mov $(IDT_RAM + 13 * 8), %edi
    mov $GP_SEL, %eax
    call set_task_gate
    movl $1f, RESUME
    mov $0x1238, %ax                /* beyond the GDT limit: #GP(0x1238) */
gp_fault_insn:
    mov %ax, %ds
    jmp no_fault
1:  call gp_interrupt_gate
    PRINT32 msg_main_back
    call show_task
    clts
    PRINT32 msg_crlf

    /* #GP with its gate absent: #NP while delivering, so #DF (table 6-5). */
    PRINT32 msg_df
    andb $0x7f, IDT_RAM + 13 * 8 + 5
    movl $1f, RESUME
    mov $0x1238, %ax
    mov %ax, %ds
    jmp no_fault
1:  orb $0x80, IDT_RAM + 13 * 8 + 5
    PRINT32 msg_main_back
    call show_task
    clts
    PRINT32 msg_crlf

    /* A TSS below 67H bytes: #TS(selector); a not-present one: #NP. */
    PRINT32 msg_small
    EXPECT 1f
    ljmp $SMALL_SEL, $0
    jmp no_fault
1:  PRINT32 msg_absent
    EXPECT 1f
    lcall $ABSENT_SEL, $0
    jmp no_fault

    /* CALL to a 16-bit TSS; its IRET saves the 16-bit format. */
1:  PRINT32 msg_call16
    lcall $T16_SEL, $0
    PRINT32 msg_main_back
    call show_task
    clts
    PRINT32 msg_busy_list
    BUSY T16_SEL
    PRINT32 msg_crlf
    PRINT32 msg_saved_16
    cmpw $(task16_resume - ROM_BASE), TSS_16 + 0x0e
    call show_ok
    SHOW msg_flags, TSS_16 + 0x10
    SHOW msg_ax, TSS_16 + 0x12
    SHOW msg_sp, TSS_16 + 0x1a
    SHOW msg_cs, TSS_16 + 0x24
    SHOW msg_ss, TSS_16 + 0x26
    PRINT32 msg_crlf

    /* With paging, a 32-bit TSS's CR3 is loaded (and the TLB flushed). */
    PRINT32 msg_paging
    call setup_paging
    PRINT32 msg_main
    mov PAGED, %ebx
    SHOW msg_paged, %ebx, 8
    PRINT32 msg_crlf
    lcall $P_SEL, $0
    PRINT32 msg_main_back
    mov %cr3, %ebx
    SHOW msg_cr3, %ebx, 8
    mov PAGED, %ebx
    SHOW msg_paged, %ebx, 8
    PRINT32 msg_crlf

    PRINT32 msg_done
    POWEROFF

no_fault:
    PRINT32 msg_no_fault
    FAIL_EXIT

/* Task A: entered by JMP, leaves by JMP to the main task. */
task_a:
    PRINT32 msg_in_a
    call show_task
    PRINT32 msg_crlf
    pushl $0x2
    popfl
    mov $0x12345678, %eax
    ljmp $MAIN_SEL, $0
task_a_resume:
    jmp no_fault

/* Task B: entered by CALL through a gate; CALLs to busy tasks fault. */
task_b:
    PRINT32 msg_in_b
    call show_task
    PRINT32 msg_crlf
    EXPECT 1f
    lcall $MAIN_SEL, $0             /* the caller is busy: #GP(0x20) */
    jmp no_fault
1:  EXPECT 1f
    lcall $B_GATE_SEL, $0           /* B itself is busy: #GP(0x30) */
    jmp no_fault
1:  pushl $(0x4000 | 0x2)           /* NT stays for the IRET */
    popfl
    iret
task_b_resume:
    jmp no_fault

/* Task C: INT 0x40's task; the T flag raised #DB before this. */
task_c:
    PRINT32 msg_in_c
    call show_task
    PRINT32 msg_crlf
    iret
    jmp task_c

/* Task GP: #GP's task, error code on its stack; resumes the main task. */
task_gp:
    pop %ebx
    PRINT32 msg_in_gp
    SHOW msg_error, %ebx
    call show_task
    PRINT32 msg_crlf
    PRINT32 msg_saved_main
    cmpl $gp_fault_insn, TSS_MAIN + 0x20
    call show_ok
    PRINT32 msg_crlf
    mov RESUME, %eax
    mov %eax, TSS_MAIN + 0x20
    iret
    jmp task_gp

/* Task DF: the double-fault task (its saved CS:EIP is undefined, 6.15). */
task_df:
    pop %ebx
    PRINT32 msg_in_df
    SHOW msg_error, %ebx
    call show_task
    PRINT32 msg_crlf
    mov RESUME, %eax
    mov %eax, TSS_MAIN + 0x20
    iret
    jmp task_df

/* The 16-bit task: 32-bit code at CS base ROM_BASE, 16-bit stack. */
task16:
    PRINT32 msg_in_16
    call show_task
    PRINT32 msg_crlf
    pushl $(0x4000 | 0x2)
    popfl
    mov $0xbeef, %ax
    iret
task16_resume:
    jmp no_fault

/* Task P: the same linear address through its own page directory. */
task_p:
    PRINT32 msg_in_p
    mov %cr3, %ebx
    SHOW msg_cr3, %ebx, 8
    mov PAGED, %ebx
    SHOW msg_paged, %ebx, 8
    PRINT32 msg_crlf
    iret
    jmp task_p

/*
 * Two page directories sharing the identity-mapped low 4 MiB (a page
 * table) and the ROM (a 4 MiB page), each with its own 4 MiB page at
 * PAGED: physical 4 MiB holds 11111111, 8 MiB holds 22222222.
 */
setup_paging:
    movl $0x11111111, PAGED
    movl $0x22222222, 2 * PAGED
    mov $PAGE_DIR, %edi
    xor %eax, %eax
    mov $(3 * 4096 / 4), %ecx       /* PAGE_DIR, PAGE_TABLE, PAGE_DIR2 */
    rep stosl
    mov $PAGE_TABLE, %edi
    mov $0x03, %eax
    mov $1024, %ecx
1:  mov %eax, (%edi)
    add $0x1000, %eax
    add $4, %edi
    loop 1b
    movl $(PAGE_TABLE | 0x03), PAGE_DIR
    movl $(PAGED | 0x83), PAGE_DIR + 4
    movl $(0xffc00000 | 0x83), PAGE_DIR + 1023 * 4
    movl $(PAGE_TABLE | 0x03), PAGE_DIR2
    movl $(2 * PAGED | 0x83), PAGE_DIR2 + 4
    movl $(0xffc00000 | 0x83), PAGE_DIR2 + 1023 * 4
    mov %cr4, %eax
    or $0x10, %eax                  /* CR4.PSE */
    mov %eax, %cr4
    mov $PAGE_DIR, %eax
    mov %eax, %cr3
    mov %cr0, %eax
    or $0x80000000, %eax            /* CR0.PG */
    mov %eax, %cr0
    ret

/* Faults that stay in the current task: print, resume at RESUME. */
fault_ts:
    push $10
    jmp fault_common
fault_np:
    push $11
    jmp fault_common
fault_gp:
    push $13
fault_common:
    PRINT32 msg_vector
    pop %eax
    call print_dec32
    pop %ebx
    SHOW msg_error, %ebx
    str %bx
    SHOW msg_in_task, %ebx
    PRINT32 msg_crlf
    mov RESUME_ESP, %esp
    popf
    jmp *RESUME

/* #DB from the T flag: DR6.BT, the task it ran in; back to it. */
debug_handler:
    PRINT32 msg_debug
    mov %dr6, %ebx
    shr $15, %ebx
    and $1, %ebx
    SHOW msg_bt, %ebx, 1
    str %bx
    SHOW msg_in_task, %ebx
    PRINT32 msg_crlf
    xor %eax, %eax
    mov %eax, %dr6
    iret

/* " TR t NT n link l CR0.TS c" of the running task. */
show_task:
    str %bx
    SHOW msg_tr, %ebx
    pushf
    pop %ebx
    shr $14, %ebx
    and $1, %ebx
    SHOW msg_nt, %ebx, 1
    str %bx
    and $0xfff8, %ebx
    call tss_base
    movzwl (%ebx), %ebx
    SHOW msg_link, %ebx
    mov %cr0, %ebx
    shr $3, %ebx
    and $1, %ebx
    SHOW msg_ts, %ebx, 1
    ret

/* EBX: a GDT selector (index only) -> the base of its descriptor. */
tss_base:
    add $GDT_RAM, %ebx
    push %eax
    movzwl 2(%ebx), %eax
    movzbl 4(%ebx), %ecx
    shl $16, %ecx
    or %ecx, %eax
    movzbl 7(%ebx), %ecx
    shl $24, %ecx
    or %ecx, %eax
    mov %eax, %ebx
    pop %eax
    ret

/* EBX: a GDT selector; print "sel=B" with its descriptor's busy flag. */
show_busy:
    mov %ebx, %eax
    mov $4, %ecx
    call print_hex32
    PRINT32 msg_busy
    mov (GDT_RAM + 5)(%ebx), %al
    shr $1, %al
    and $1, %al
    call print_dec32
    ret

/* After a CMP: " ok" if equal, else " wrong". */
show_ok:
    je 1f
    PRINT32 msg_wrong
    ret
1:  PRINT32 msg_ok
    ret

/* EDI: TSS, EAX: EIP, EDX: ESP; flat ring-0 segments, EFLAGS 2 (figure 7-2). */
init_tss32:
    mov %eax, 0x20(%edi)
    movl $0x2, 0x24(%edi)
    mov %edx, 0x38(%edi)
    movl $DATA_SEL, 0x48(%edi)      /* ES */
    movl $CODE32_SEL, 0x4c(%edi)
    movl $DATA_SEL, 0x50(%edi)      /* SS */
    movl $DATA_SEL, 0x54(%edi)      /* DS */
    movl $DATA_SEL, 0x58(%edi)      /* FS */
    movl $DATA_SEL, 0x5c(%edi)      /* GS */
    movw $0x68, 0x66(%edi)          /* no I/O bitmap */
    ret

/* EDI: IDT entry, EAX: TSS selector; a present DPL-0 task gate (figure 6-2). */
set_task_gate:
    shl $16, %eax
    mov %eax, (%edi)
    movl $0x8500, 4(%edi)
    ret

gp_interrupt_gate:
    mov $(IDT_RAM + 13 * 8), %edi
    mov $fault_gp, %eax
    jmp set_gate32

/* The low ECX hex digits of EAX; clobbers EAX, ECX, EDX. */
print_hex32:
    push %ebx
    push %edi
    mov %eax, %ebx
    mov %ecx, %edi
1:  lea -4(, %edi, 4), %ecx
    mov %ebx, %eax
    shr %cl, %eax
    and $0xf, %eax
    mov hex_digits(%eax), %al
    call putc32
    dec %edi
    jnz 1b
    pop %edi
    pop %ebx
    ret

    SERIAL_ROUTINES 32

    .balign 8
gdt_tasks:
    TSS_DESC TSS_MAIN, 0x67
    TSS_DESC TSS_A, 0x67
    TSS_DESC TSS_B, 0x67
    .word 0, B_SEL, 0x8500, 0       /* task gate to B, DPL 0 */
    TSS_DESC TSS_C, 0x67
    TSS_DESC TSS_DF, 0x67
    TSS_DESC TSS_GP, 0x67
    TSS_DESC TSS_SMALL, 0x50
    TSS_DESC TSS_ABSENT, 0x67, 0x09 /* not present */
    TSS_DESC TSS_16, 0x2b, 0x81     /* 16-bit available TSS */
    .quad 0xff409bff0000ffff        /* ROMCODE_SEL */
    .quad 0x000093000000ffff        /* DATA16_SEL */
    TSS_DESC TSS_P, 0x67
gdtr_tasks:
    .word GDT_END - 1
    .long GDT_RAM
hex_digits:
    .ascii "0123456789abcdef"

msg_banner:     .asciz "mimic tasks guest\r\n"
msg_jmp_a:      .asciz "jmp to task A\r\n"
msg_in_a:       .asciz "in task A:"
msg_main_back:  .asciz "main again:"
msg_saved_a:    .asciz "TSS A saved: EIP"
msg_call_b:     .asciz "call through a task gate to task B\r\n"
msg_in_b:       .asciz "in task B:"
msg_saved_b:    .asciz "TSS B saved: EIP"
msg_int:        .asciz "int 0x40 through a task gate to task C (T flag)\r\n"
msg_in_c:       .asciz "in task C:"
msg_debug:      .asciz "vector 1, DR6.BT "
msg_gp:         .asciz "#GP through a task gate\r\n"
msg_in_gp:      .asciz "in task GP:"
msg_saved_main: .asciz "main TSS saved: EIP"
msg_df:         .asciz "#GP without a gate: double fault through a task gate\r\n"
msg_in_df:      .asciz "in task DF:"
msg_small:      .asciz "jmp to a TSS with limit 0x50\r\n"
msg_absent:     .asciz "call to a not-present TSS\r\n"
msg_call16:     .asciz "call to a 16-bit TSS\r\n"
msg_in_16:      .asciz "in the 16-bit task:"
msg_saved_16:   .asciz "16-bit TSS saved: IP"
msg_paging:     .asciz "paging on, call to a TSS with its own CR3\r\n"
msg_main:       .asciz "main:"
msg_in_p:       .asciz "in task P:"
msg_cr3:        .asciz " CR3 "
msg_paged:      .asciz " [400000] "
msg_vector:     .asciz "vector "
msg_error:      .asciz " error "
msg_in_task:    .asciz " in task "
msg_tr:         .asciz " TR "
msg_nt:         .asciz " NT "
msg_link:       .asciz " link "
msg_ts:         .asciz " CR0.TS "
msg_bt:         .asciz ""
msg_busy_list:  .asciz " busy:"
msg_space:      .asciz " "
msg_busy:       .asciz "="
msg_eflags:     .asciz " EFLAGS "
msg_flags:      .asciz " FLAGS "
msg_eax:        .asciz " EAX "
msg_ax:         .asciz " AX "
msg_esp:        .asciz " ESP "
msg_sp:         .asciz " SP "
msg_cs:         .asciz " CS "
msg_ss:         .asciz " SS "
msg_ds:         .asciz " DS "
msg_ok:         .asciz " ok"
msg_wrong:      .asciz " wrong"
msg_no_fault:   .asciz "no fault\r\n"

    RESET_VECTOR start16
