/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test guest in 64-bit long mode: real -> protected -> long with 4-level
 * page tables (first 1 GiB and the ROM's top 2 MiB, 2 MiB pages), a 64-bit
 * IDT, three PIT ticks, then ACPI power-off.
 */
    .include "common.inc"
    .include "pm-entry.inc"

    .code32
main32:
    /* PML4, PDPT and two page directories, cleared. */
    mov $PML4, %edi
    xor %eax, %eax
    mov $(4 * 4096 / 4), %ecx
    rep stosl
    movl $(PDPT | 0x03), PML4
    movl $(PD_LOW | 0x03), PDPT
    movl $(PD_TOP | 0x03), PDPT + 3 * 8                 /* 3-4 GiB */
    movl $(0xffe00000 | 0x83), PD_TOP + 511 * 8         /* 2 MiB page (PS) */
    mov $PD_LOW, %edi
    mov $0x83, %eax
    mov $512, %ecx
1:  mov %eax, (%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 1b

    mov %cr4, %eax
    or $0x20, %eax                  /* CR4.PAE */
    mov %eax, %cr4
    mov $PML4, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx           /* IA32_EFER */
    rdmsr
    or $0x100, %eax                 /* LME */
    wrmsr
    mov %cr0, %eax
    or $0x80000000, %eax            /* CR0.PG: long mode active */
    mov %eax, %cr0
    ljmp $CODE64_SEL, $start64

    .code64
start64:
    mov $DATA_SEL, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov $STACK_TOP, %esp            /* zero-extends into RSP */
    UART_INIT
    PRINT64 msg_banner
    call setup_idt64
    movb $0, TICKS
    PIT_INIT
    PIC_INIT
    LAPIC_DISABLE
    sti
    TICK_LOOP 64, TICKS

    .balign 8
exc_stubs64:                        /* 8 bytes each: push vector, jump */
    .set vector, 0
    .rept 32
    .balign 8
    push $vector
    jmp exc_common64
    .set vector, vector + 1
    .endr

exc_common64:
    pop %rax
    mov %al, %bl
    PRINT64 msg_exception
    mov %bl, %al
    call print_dec64
    PRINT64 msg_crlf
    FAIL_EXIT

timer64:
    push %rax
    incb TICKS
    mov $0x20, %al                  /* non-specific EOI */
    out %al, $PIC1
    pop %rax
    iretq

ignore64:
    iretq

/* RDI: gate, EAX: handler (below 4 GiB); clobbers EDX. */
set_gate64:
    mov %ax, (%rdi)
    movw $CODE64_SEL, 2(%rdi)
    movw $0x8e00, 4(%rdi)           /* present, DPL 0, 64-bit interrupt gate */
    mov %eax, %edx
    shr $16, %edx
    mov %dx, 6(%rdi)
    movl $0, 8(%rdi)
    movl $0, 12(%rdi)
    ret

setup_idt64:
    mov $IDT_RAM, %edi
    mov $exc_stubs64, %eax
    mov $32, %ecx
1:  call set_gate64
    add $8, %eax
    add $16, %edi
    loop 1b
    mov $timer64, %eax
    call set_gate64
    add $16, %edi
    mov $ignore64, %eax
    mov $15, %ecx
2:  call set_gate64
    add $16, %edi
    loop 2b
    lidt idtr64(%rip)
    ret

    SERIAL_ROUTINES 64

idtr64:
    .word 48 * 16 - 1
    .quad IDT_RAM

msg_banner:
    .asciz "mimic long-mode guest\r\n"

    RESET_VECTOR start16
