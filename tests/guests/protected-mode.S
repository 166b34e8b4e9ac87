/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test guest in 32-bit protected mode with non-PAE paging: identity-mapped
 * low 4 MiB through a page table, the ROM's top 4 MiB through a PSE page;
 * IDT with exception handlers, three PIT ticks, then ACPI power-off.
 */
    .include "common.inc"
    .include "pm-entry.inc"
    .include "idt32.inc"

    .code32
main32:
    UART_INIT
    call setup_idt32

    /* Page directory and the low page table, cleared. */
    mov $PAGE_DIR, %edi
    xor %eax, %eax
    mov $(2 * 4096 / 4), %ecx
    rep stosl
    movl $(PAGE_TABLE | 0x03), PAGE_DIR                 /* present, writable */
    movl $(0xffc00000 | 0x83), PAGE_DIR + 1023 * 4      /* 4 MiB page (PS) */
    mov $PAGE_TABLE, %edi
    mov $0x03, %eax
    mov $1024, %ecx
1:  mov %eax, (%edi)
    add $0x1000, %eax
    add $4, %edi
    loop 1b
    mov %cr4, %eax
    or $0x10, %eax                  /* CR4.PSE */
    mov %eax, %cr4
    mov $PAGE_DIR, %eax
    mov %eax, %cr3

    /*
     * Some hypervisors (PVM, a software KVM) support paging only in long
     * mode and answer CR0.PG here with #GP: then go on without paging.
     */
    mov $(IDT_RAM + 13 * 8), %edi
    mov $paging_refused, %eax
    call set_gate32
    mov %cr0, %eax
    or $0x80000000, %eax            /* CR0.PG */
    mov %eax, %cr0
    call restore_gp_gate
    PRINT32 msg_banner
    jmp 2f

paging_refused:
    mov $STACK_TOP, %esp            /* drop the #GP frame */
    call restore_gp_gate
    PRINT32 msg_banner_no_paging

2:  movb $0, TICKS
    PIT_INIT
    PIC_INIT
    LAPIC_DISABLE
    sti
    TICK_LOOP 32, TICKS

restore_gp_gate:
    mov $(IDT_RAM + 13 * 8), %edi
    mov $(exc_stubs32 + 13 * 8), %eax
    jmp set_gate32

    SERIAL_ROUTINES 32

msg_banner:
    .asciz "mimic protected-mode guest, paging on\r\n"
msg_banner_no_paging:
    .asciz "mimic protected-mode guest, paging refused by the CPU, running unpaged\r\n"

    RESET_VECTOR start16
