/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test guest that writes a pattern the host checks afterwards: sectors 0-63,
 * 1000 and 100000 of the primary master IDE disk (PIO and DMA) and of the
 * first virtio-blk disk, flushed, read back and compared; then power-off.
 *
 * Sector N holds 32 copies of the 16 bytes "MIMIC-t-NNNNNNNN": t is 'I' on
 * the IDE disk and 'V' on the virtio disk, N the sector number in decimal.
 */
    .include "common.inc"
    .include "pm-entry.inc"
    .include "long-entry.inc"
    .include "pci.inc"
    .include "ide.inc"
    .include "virtio.inc"

    .set FAILURES, 0x600            /* byte: checks that failed */
    .set WRITE_BUF, 0x100000        /* sectors 0-63 */
    .set FAR_BUF, 0x110000          /* sector 1000, then 100000 */
    .set READ_BUF, 0x200000
    .set LOW_SECTORS, 64
    .set FAR_SECTOR_1, 1000
    .set FAR_SECTOR_2, 100000

/* Print \msg and count a failure. */
.macro CHECK_FAILED msg
    PRINT64 \msg
    incb FAILURES
.endm

    .code64
start64:
    PRINT64 msg_banner
    movb $0, FAILURES
    call ide_pass
    call virtio_pass
    cmpb $0, FAILURES
    jne 1f
    PRINT64 msg_done
    POWEROFF
1:  PRINT64 msg_failed
    FAIL_EXIT

/*
 * Sector EBX's pattern with tag AL into RDI (512 bytes); RDI ends past it.
 * Clobbers EAX, ECX, EDX, RSI.
 */
make_sector:
    push %rbx
    movl $0x494d494d, (%rdi)        /* "MIMI" */
    movw $0x2d43, 4(%rdi)           /* "C-" */
    mov %al, 6(%rdi)
    movb $'-', 7(%rdi)
    mov %ebx, %eax
    mov $8, %ecx
    mov $10, %esi
1:  xor %edx, %edx
    div %esi
    add $'0', %dl
    mov %dl, 7(%rdi,%rcx)
    loop 1b
    /* Copy the 16-byte record along the sector. */
    mov $16, %ecx
2:  mov -16(%rdi,%rcx), %rax
    mov %rax, (%rdi,%rcx)
    add $8, %ecx
    cmp $512, %ecx
    jb 2b
    add $512, %rdi
    pop %rbx
    ret

/* ECX sectors from EBX with tag AL into RDI. Clobbers EAX, ECX, EDX, RSI, RDI. */
make_sectors:
    push %rbx
    push %r8
    mov %ecx, %r8d
    mov %al, %ah
1:  mov %ah, %al
    push %rax
    call make_sector
    pop %rax
    inc %ebx
    dec %r8d
    jnz 1b
    pop %r8
    pop %rbx
    ret

/* Compare ECX bytes at RSI and RDI (multiple of 8): ZF set if equal. */
same_bytes:
    shr $3, %ecx
    repe cmpsq
    ret

/* --- IDE: primary master, PIO and bus-master DMA --- */

ide_pass:
    mov $PCI_ID_PIIX3_IDE, %eax
    call pci_find
    jnc 1f
    CHECK_FAILED msg_no_ide
    ret
1:  mov $(PCI_BAR0 + 4 * 4), %ecx
    mov $BMDMA_IO, %eax
    call pci_assign_io_bar
    mov $IDE_PRIMARY, %r12d
    mov $BMDMA_IO, %r13d
    movb $0, FAILURES + 1           /* this pass's failures */

    mov $WRITE_BUF, %edi
    xor %ebx, %ebx
    mov $LOW_SECTORS, %ecx
    mov $'I', %al
    call make_sectors
    mov $FAR_BUF, %edi
    mov $FAR_SECTOR_1, %ebx
    mov $'I', %al
    call make_sector
    mov $FAR_SECTOR_2, %ebx
    mov $'I', %al
    call make_sector

    /* Sectors 0-31 and 1000 by PIO, 32-63 and 100000 by DMA. */
    mov $WRITE_BUF, %esi
    xor %ebx, %ebx
    mov $(LOW_SECTORS / 2), %ecx
    call ide_pio_write
    call ide_step
    mov $(WRITE_BUF + LOW_SECTORS / 2 * 512), %esi
    mov $(LOW_SECTORS / 2 * 512), %ecx
    call ide_prd_single
    mov $ATA_WRITE_DMA, %al
    mov $(LOW_SECTORS / 2), %ebx
    mov $(LOW_SECTORS / 2), %ecx
    mov $PRD_TABLE, %edi
    call ide_dma
    call ide_step
    mov $FAR_BUF, %esi
    mov $FAR_SECTOR_1, %ebx
    mov $1, %ecx
    call ide_pio_write
    call ide_step
    mov $(FAR_BUF + 512), %esi
    mov $512, %ecx
    call ide_prd_single
    mov $ATA_WRITE_DMA, %al
    mov $FAR_SECTOR_2, %ebx
    mov $1, %ecx
    mov $PRD_TABLE, %edi
    call ide_dma
    call ide_step
    call ide_flush
    call ide_step

    /* Read back: 0-63 both ways, 1000 by DMA, 100000 by PIO. */
    mov $READ_BUF, %esi
    mov $(LOW_SECTORS * 512), %ecx
    call ide_prd_single
    call clear_read_buf
    mov $ATA_READ_DMA, %al
    xor %ebx, %ebx
    mov $LOW_SECTORS, %ecx
    mov $PRD_TABLE, %edi
    call ide_dma
    call ide_step
    mov $(LOW_SECTORS * 512), %ecx
    call check_low
    call clear_read_buf
    mov $READ_BUF, %edi
    xor %ebx, %ebx
    mov $LOW_SECTORS, %ecx
    call ide_pio_read
    call ide_step
    mov $(LOW_SECTORS * 512), %ecx
    call check_low

    call clear_read_buf
    mov $READ_BUF, %esi
    mov $512, %ecx
    call ide_prd_single
    mov $ATA_READ_DMA, %al
    mov $FAR_SECTOR_1, %ebx
    mov $1, %ecx
    mov $PRD_TABLE, %edi
    call ide_dma
    call ide_step
    mov $FAR_BUF, %esi
    call check_far
    call clear_read_buf
    mov $READ_BUF, %edi
    mov $FAR_SECTOR_2, %ebx
    mov $1, %ecx
    call ide_pio_read
    call ide_step
    mov $(FAR_BUF + 512), %esi
    call check_far

    cmpb $0, FAILURES + 1
    jne 1f
    PRINT64 msg_ide_ok
1:  ret

/* A failed IDE command (CF): say so, with the drive and bus-master status. */
ide_step:
    jnc 1f
    push %rax
    PRINT64 msg_ide_fail
    pop %rax
    movzwl %ax, %eax
    mov $4, %ecx
    call print_hex64
    PRINT64 msg_crlf
    incb FAILURES
    incb FAILURES + 1
1:  ret

/* READ_BUF against WRITE_BUF for ECX bytes. */
check_low:
    mov $WRITE_BUF, %esi
    mov $READ_BUF, %edi
    call same_bytes
    je 1f
    PRINT64 msg_ide_mismatch
    incb FAILURES
    incb FAILURES + 1
1:  ret

/* READ_BUF against the sector at RSI. */
check_far:
    mov $READ_BUF, %edi
    mov $512, %ecx
    call same_bytes
    je 1f
    PRINT64 msg_ide_mismatch
    incb FAILURES
    incb FAILURES + 1
1:  ret

/* Zero 64 sectors at READ_BUF, so a read that did nothing cannot pass. */
clear_read_buf:
    push %rdi
    push %rcx
    push %rax
    mov $READ_BUF, %edi
    xor %eax, %eax
    mov $(LOW_SECTORS * 512 / 8), %ecx
    rep stosq
    pop %rax
    pop %rcx
    pop %rdi
    ret

/* --- virtio-blk: the first one on bus 0, legacy interface --- */

virtio_pass:
    mov $PCI_ID_VIRTIO_BLK, %eax
    call pci_find
    jnc 1f
    CHECK_FAILED msg_no_virtio
    ret
1:  mov $PCI_BAR0, %ecx
    mov $VIRTIO_IO, %eax
    call pci_assign_io_bar
    movb $0, FAILURES + 1
    call virtio_init
    jnc 2f
    CHECK_FAILED msg_virtio_init
    ret
2:  mov $VIRTIO_BLK_CAPACITY, %dx
    in %dx, %eax
    cmp $(FAR_SECTOR_2 + 1), %eax
    jae 3f
    CHECK_FAILED msg_virtio_small
    ret

3:  mov $WRITE_BUF, %edi
    xor %ebx, %ebx
    mov $LOW_SECTORS, %ecx
    mov $'V', %al
    call make_sectors
    mov $FAR_BUF, %edi
    mov $FAR_SECTOR_1, %ebx
    mov $'V', %al
    call make_sector
    mov $FAR_SECTOR_2, %ebx
    mov $'V', %al
    call make_sector

    /* Two requests for 0-63, one for each far sector, then a flush. */
    mov $VIRTIO_BLK_T_OUT, %eax
    xor %ebx, %ebx
    mov $WRITE_BUF, %esi
    mov $(LOW_SECTORS / 2 * 512), %ecx
    call virtio_request
    call virtio_step
    mov $VIRTIO_BLK_T_OUT, %eax
    mov $(LOW_SECTORS / 2), %ebx
    mov $(WRITE_BUF + LOW_SECTORS / 2 * 512), %esi
    mov $(LOW_SECTORS / 2 * 512), %ecx
    call virtio_request
    call virtio_step
    mov $VIRTIO_BLK_T_OUT, %eax
    mov $FAR_SECTOR_1, %ebx
    mov $FAR_BUF, %esi
    mov $512, %ecx
    call virtio_request
    call virtio_step
    mov $VIRTIO_BLK_T_OUT, %eax
    mov $FAR_SECTOR_2, %ebx
    mov $(FAR_BUF + 512), %esi
    mov $512, %ecx
    call virtio_request
    call virtio_step
    mov $VIRTIO_BLK_T_FLUSH, %eax
    xor %ebx, %ebx
    xor %ecx, %ecx
    call virtio_request
    call virtio_step

    call clear_read_buf
    mov $VIRTIO_BLK_T_IN, %eax
    xor %ebx, %ebx
    mov $READ_BUF, %esi
    mov $(LOW_SECTORS * 512), %ecx
    call virtio_request
    call virtio_step
    mov $WRITE_BUF, %esi
    mov $READ_BUF, %edi
    mov $(LOW_SECTORS * 512), %ecx
    call same_bytes
    call virtio_compared
    mov $FAR_SECTOR_1, %r11d
    mov $FAR_BUF, %r10d
    call virtio_check_far
    mov $FAR_SECTOR_2, %r11d
    mov $(FAR_BUF + 512), %r10d
    call virtio_check_far

    cmpb $0, FAILURES + 1
    jne 4f
    PRINT64 msg_virtio_ok
4:  ret

/* Read sector R11 and compare it with the 512 bytes at R10. */
virtio_check_far:
    call clear_read_buf
    push %r10
    mov $VIRTIO_BLK_T_IN, %eax
    mov %r11d, %ebx
    mov $READ_BUF, %esi
    mov $512, %ecx
    call virtio_request
    call virtio_step
    pop %rsi
    mov $READ_BUF, %edi
    mov $512, %ecx
    call same_bytes
    call virtio_compared
    ret

/* A failed request (CF): say so, with the status byte. */
virtio_step:
    jnc 1f
    push %rax
    PRINT64 msg_virtio_fail
    pop %rax
    movzbl %al, %eax
    mov $2, %ecx
    call print_hex64
    PRINT64 msg_crlf
    incb FAILURES
    incb FAILURES + 1
1:  ret

/* After same_bytes: ZF clear is a mismatch. */
virtio_compared:
    je 1f
    PRINT64 msg_virtio_mismatch
    incb FAILURES
    incb FAILURES + 1
1:  ret

msg_banner:
    .asciz "mimic disk-writer guest\r\n"
msg_ide_ok:
    .asciz "disk-writer: ide ok\r\n"
msg_virtio_ok:
    .asciz "disk-writer: virtio ok\r\n"
msg_no_ide:
    .asciz "disk-writer: FAIL no PIIX IDE function\r\n"
msg_ide_fail:
    .asciz "disk-writer: FAIL ide command, status "
msg_ide_mismatch:
    .asciz "disk-writer: FAIL ide data read back differs\r\n"
msg_no_virtio:
    .asciz "disk-writer: FAIL no virtio-blk device\r\n"
msg_virtio_init:
    .asciz "disk-writer: FAIL virtio-blk set-up\r\n"
msg_virtio_small:
    .asciz "disk-writer: FAIL virtio disk smaller than 100001 sectors\r\n"
msg_virtio_fail:
    .asciz "disk-writer: FAIL virtio request, status "
msg_virtio_mismatch:
    .asciz "disk-writer: FAIL virtio data read back differs\r\n"
msg_failed:
    .asciz "disk-writer: FAILED\r\n"

    RESET_VECTOR start16
