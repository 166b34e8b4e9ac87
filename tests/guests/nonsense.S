/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test guest that programs the pc machine's devices with nonsense (bad PRD
 * tables, DMA outside RAM and into ROM, broken virtqueues, garbage ATAPI
 * packets, absurd VBE modes, random port writes) and checks that each
 * device refuses it, reports it, and still works afterwards. The IDE and
 * virtio parts are in nonsense-ide.inc and nonsense-virtio.inc.
 */
    .include "common.inc"
    .include "pm-entry.inc"
    .include "long-entry.inc"
    .include "pci.inc"
    .include "ide.inc"
    .include "virtio.inc"

/* Guest RAM: variables, tables and buffers (the stack is below 0x80000). */
    .set FAILURES, 0x600            /* byte: checks that failed */
    .set RAM_END, 0x608             /* qword: end of RAM below 4 GiB */
    .set RNG, 0x610                 /* dword: xorshift32 state */
    .set IDE_FUNCTION, 0x614        /* dword: its configuration address */
    .set PACKET, 0x620              /* 12-byte ATAPI command packet */
    .set FW_ACCESS, 0x35000         /* FWCfgDmaAccess, 16 bytes */
    .set FW_DATA, 0x35010
    .set ROM_COPY, 0x36000          /* the first 512 bytes of the ROM */
    .set NO_EOT_TABLE, 0x40000      /* 64 KiB of PRD entries */
    .set DATA_BUF, 0x100000         /* 128 KiB */

    .set OUTSIDE_RAM, 0xe0000000    /* PCI hole: nothing decodes it */
    .set VGA_WINDOW, 0xa0000         /* MMIO right after low RAM */
    .set ATAPI_MAX_BLOCKS, 64
    .set GARBAGE_PACKETS, 64
    .set FW_CFG_PORT_SELECTOR, 0x510
    .set FW_CFG_PORT_DATA, 0x511
    .set FW_CFG_PORT_DMA_HIGH, 0x514
    .set FW_CFG_PORT_DMA_LOW, 0x518
    .set FW_CFG_RAM_SIZE, 0x03
    .set FW_CFG_DMA_ERROR, 0x01
    .set FW_CFG_DMA_READ, 0x02
    .set FW_CFG_DMA_SELECT, 0x08
    .set FW_CFG_DMA_WRITE, 0x10
    .set VBE_INDEX_PORT, 0x1ce
    .set VBE_DATA_PORT, 0x1cf

/* Print "nonsense: FAIL " and \msg, and count the failure. */
.macro FAIL msg
    PRINT64 msg_fail
    PRINT64 \msg
    incb FAILURES
.endm

    .code64
start64:
    PRINT64 msg_banner
    movb $0, FAILURES
    movl $0x2545f491, RNG
    call read_ram_end
    /* The ROM as it is, to prove later that DMA never wrote into it. */
    mov $ROM_BASE, %esi
    mov $ROM_COPY, %edi
    mov $(512 / 8), %ecx
    rep movsq

    mov $PCI_ID_PIIX3_IDE, %eax
    call pci_find
    jc 1f
    mov %ebx, IDE_FUNCTION
    mov $(PCI_BAR0 + 4 * 4), %ecx
    mov $BMDMA_IO, %eax
    call pci_assign_io_bar
    call ide_nonsense
    call atapi_nonsense
    jmp 2f
1:  FAIL msg_no_ide
2:  mov $PCI_ID_VIRTIO_BLK, %eax
    call pci_find
    jc 3f
    mov $PCI_BAR0, %ecx
    mov $VIRTIO_IO, %eax
    call pci_assign_io_bar
    call virtio_nonsense
    jmp 4f
3:  FAIL msg_no_virtio
4:  call fw_cfg_nonsense
    call vga_nonsense
    call pci_nonsense
    call port_sweep

    cmpb $0, FAILURES
    jne 5f
    PRINT64 msg_survived
    POWEROFF
5:  PRINT64 msg_failed
    FAIL_EXIT

/* fw_cfg RAM size (key 3, 8 bytes little endian) through the data port. */
read_ram_end:
    mov $FW_CFG_PORT_SELECTOR, %dx
    mov $FW_CFG_RAM_SIZE, %ax
    out %ax, %dx
    mov $FW_CFG_PORT_DATA, %dx
    xor %edi, %edi
    mov $8, %ecx
1:  in %dx, %al
    movzbl %al, %eax
    ror $8, %rdi
    or %rax, %rdi
    loop 1b
    ror $8, %rdi
    mov $0xc0000000, %eax           /* the PCI hole starts here */
    cmp %rax, %rdi
    jbe 2f
    mov %rax, %rdi
2:  mov %rdi, RAM_END
    ret

/* xorshift32: the next pseudo-random number in EAX. Clobbers EDX. */
rand32:
    mov RNG, %eax
    mov %eax, %edx
    shl $13, %edx
    xor %edx, %eax
    mov %eax, %edx
    shr $17, %edx
    xor %edx, %eax
    mov %eax, %edx
    shl $5, %edx
    xor %edx, %eax
    mov %eax, RNG
    ret

/* ZF set if the ROM's first 512 bytes are as they were. Clobbers ECX, ESI, EDI. */
rom_intact:
    mov $ROM_BASE, %esi
    mov $ROM_COPY, %edi
    mov $(512 / 8), %ecx
    repe cmpsq
    ret

/* One PRD entry at PRD_TABLE: address EAX, count field ECX, EOT. */
prd_entry:
    mov %eax, PRD_TABLE
    or $PRD_EOT, %ecx
    mov %ecx, PRD_TABLE + 4
    ret

/* ---------------------------------------------------------------------- */
/* fw_cfg DMA (QEMU docs/specs/fw_cfg.rst, "Guest-side DMA Interface")      */
/* ---------------------------------------------------------------------- */

/*
 * Run the FWCfgDmaAccess at FW_ACCESS: control EAX, length 8, address RSI;
 * all fields big endian. Returns the control field as written back in EAX
 * (host order). Clobbers EDX.
 */
fw_cfg_dma:
    bswap %eax
    mov %eax, FW_ACCESS
    movl $0x08000000, FW_ACCESS + 4 /* 8, big endian */
    mov %rsi, %rax
    bswap %rax
    mov %rax, FW_ACCESS + 8
    mov $FW_ACCESS, %eax
    /* fall through */

/* Write EAX as the DMA address (the low half starts the transfer). */
fw_cfg_dma_address:
    bswap %eax
    push %rax
    mov $FW_CFG_PORT_DMA_HIGH, %dx
    xor %eax, %eax
    out %eax, %dx
    pop %rax
    mov $FW_CFG_PORT_DMA_LOW, %dx
    out %eax, %dx
    mov FW_ACCESS, %eax
    bswap %eax
    ret

fw_cfg_nonsense:
    /* A good read of the RAM size first. */
    movq $0, FW_DATA
    mov $(FW_CFG_RAM_SIZE << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ), %eax
    mov $FW_DATA, %esi
    call fw_cfg_dma
    test $FW_CFG_DMA_ERROR, %al
    jnz 1f
    mov FW_DATA, %rax
    cmp RAM_END, %rax
    jb 1f
    PRINT64 msg_fw_ok
    jmp 2f
1:  FAIL msg_fw_broken

    /* Into nothing, into MMIO, into the ROM. */
2:  mov $(FW_CFG_RAM_SIZE << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ), %eax
    mov $OUTSIDE_RAM, %esi
    call fw_cfg_dma
    mov $msg_fw_outside, %r14d
    call fw_cfg_expect_error
    mov $(FW_CFG_RAM_SIZE << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ), %eax
    mov $VGA_WINDOW, %esi
    call fw_cfg_dma
    mov $msg_fw_mmio, %r14d
    call fw_cfg_expect_error
    mov $(FW_CFG_RAM_SIZE << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ), %eax
    mov $ROM_BASE, %esi
    call fw_cfg_dma
    mov $msg_fw_rom, %r14d
    call fw_cfg_expect_error
    call rom_intact
    je 3f
    FAIL msg_rom_changed
    /* A write to a read-only item. */
3:  mov $(FW_CFG_RAM_SIZE << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE), %eax
    mov $FW_DATA, %esi
    call fw_cfg_dma
    mov $msg_fw_write, %r14d
    call fw_cfg_expect_error
    /* The descriptor itself outside RAM: nothing to answer in. */
    mov $OUTSIDE_RAM, %eax
    call fw_cfg_dma_address
    PRINT64 msg_fw_descriptor
    ret

/* EAX the control field after a DMA that must have failed; R14 the case. */
fw_cfg_expect_error:
    test $FW_CFG_DMA_ERROR, %al
    jz 1f
    PRINT64 msg_fw_case
    mov %r14, %rsi
    call puts64
    PRINT64 msg_fw_error
    ret
1:  PRINT64 msg_fail
    PRINT64 msg_fw_case
    mov %r14, %rsi
    call puts64
    PRINT64 msg_fw_no_error
    incb FAILURES
    ret

/* ---------------------------------------------------------------------- */
/* VGA: Bochs VBE DISPI with absurd modes (Bochs vbe.txt)                   */
/* ---------------------------------------------------------------------- */

/* DISPI register AL := BX. Clobbers EAX, EDX. */
vbe_write:
    movzbl %al, %eax
    mov $VBE_INDEX_PORT, %dx
    out %ax, %dx
    mov $VBE_DATA_PORT, %dx
    mov %bx, %ax
    out %ax, %dx
    ret

/* DISPI register AL into AX. Clobbers EDX. */
vbe_read:
    movzbl %al, %eax
    mov $VBE_INDEX_PORT, %dx
    out %ax, %dx
    mov $VBE_DATA_PORT, %dx
    in %dx, %ax
    ret

.macro VBE reg, value
    mov $\reg, %al
    mov $\value, %bx
    call vbe_write
.endm

vga_nonsense:
    VBE 4, 0                        /* disabled */
    VBE 1, 0xffff                   /* XRES beyond any card */
    VBE 2, 0xffff
    VBE 3, 77                       /* no such depth */
    VBE 1, 16000                    /* the largest mode: no video memory holds it */
    VBE 2, 12000
    VBE 3, 32
    VBE 4, 0x41                     /* enabled, linear framebuffer */
    mov $4, %al
    call vbe_read
    test $1, %al
    jnz 1f
    VBE 5, 0xffff                   /* bank past video memory */
    VBE 0x77, 0x1234                /* no such register */
    VBE 1, 640                      /* and a sane mode still works */
    VBE 2, 480
    VBE 3, 32
    VBE 4, 0x41
    mov $4, %al
    call vbe_read
    test $1, %al
    jz 1f
    VBE 4, 0
    PRINT64 msg_vga_ok
    ret
1:  FAIL msg_vga_fail
    ret

/* ---------------------------------------------------------------------- */
/* PCI: BARs over other devices, RAM and ROM (PCI 3.0, 6.2.5)               */
/* ---------------------------------------------------------------------- */

    .set PCI_ID_I440FX, 0x12378086
    .set PCI_ID_VGA, 0x11111234
    .set PCI_COMMAND_MEMORY, 0x0002
    .set PCI_BAR4, 0x20
    .set PCI_ROM_BAR, 0x30
    .set LOW_RAM_PROBE, 0x1000000       /* 16 MiB: RAM, aligned for the LFB */

/* ZF set if fw_cfg DMA (which goes through the machine's memory map) still
 * reaches the RAM at RSI. Clobbers EAX, EDX. */
dma_reaches_ram:
    movq $0, (%rsi)
    mov $(FW_CFG_RAM_SIZE << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ), %eax
    call fw_cfg_dma
    test $FW_CFG_DMA_ERROR, %al
    jnz 1f
    mov (%rsi), %rax
    cmp FW_DATA, %rax
1:  ret

pci_nonsense:
    mov $PCI_ID_VIRTIO_BLK, %eax
    call pci_find
    jc 9f
    /* The legacy I/O BAR over the configuration ports (0xc80-0xcff). */
    mov $PCI_BAR0, %ecx
    mov $0xc80, %eax
    call pci_assign_io_bar
    push %rbx
    mov $PCI_ENABLE, %ebx
    xor %ecx, %ecx
    call pci_read32
    pop %rbx
    cmp $PCI_ID_I440FX, %eax
    jne 9f
    /* Over the IDE bus-master registers, whose PRD pointer must survive. */
    mov $PCI_BAR0, %ecx
    mov $BMDMA_IO, %eax
    call pci_assign_io_bar
    mov $(BMDMA_IO + BM_PRD), %dx
    in %dx, %eax
    cmp $PRD_TABLE, %eax
    jne 9f
    /* Over the ACPI PM block (power-off at the end proves it intact). */
    mov $PCI_BAR0, %ecx
    mov $0x600, %eax
    call pci_assign_io_bar
    mov $PCI_BAR0, %ecx
    mov $VIRTIO_IO, %eax
    call pci_assign_io_bar
    /* The 64-bit memory BAR over RAM. */
    mov $PCI_BAR4, %ecx
    mov $DATA_BUF, %eax
    call pci_write32
    mov $(PCI_BAR4 + 4), %ecx
    xor %eax, %eax
    call pci_write32
    mov $PCI_COMMAND, %ecx
    mov $(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER), %eax
    call pci_write16
    mov $DATA_BUF, %esi
    call dma_reaches_ram
    jne 9f
    mov $PCI_BAR4, %ecx
    xor %eax, %eax
    call pci_write32
    mov $PCI_COMMAND, %ecx
    mov $(PCI_COMMAND_IO | PCI_COMMAND_MASTER), %eax
    call pci_write16
    call virtio_init
    jc 9f
    mov $VIRTIO_BLK_T_IN, %eax
    xor %ebx, %ebx
    mov $DATA_BUF, %esi
    mov $512, %ecx
    call virtio_request
    jc 9f

    /* VGA: the framebuffer over RAM, its ROM over the firmware. */
    mov $PCI_ID_VGA, %eax
    call pci_find
    jc 9f
    mov $PCI_BAR0, %ecx
    mov $LOW_RAM_PROBE, %eax
    call pci_write32
    mov $PCI_ROM_BAR, %ecx
    mov $(0xf0000 | 1), %eax        /* enabled, over the BIOS alias */
    call pci_write32
    mov $PCI_COMMAND, %ecx
    mov $PCI_COMMAND_MEMORY, %eax
    call pci_write16
    mov $LOW_RAM_PROBE, %esi
    call dma_reaches_ram
    jne 9f
    call rom_intact
    jne 9f
    mov $PCI_COMMAND, %ecx
    xor %eax, %eax
    call pci_write16
    mov $PCI_BAR0, %ecx
    call pci_write32
    mov $PCI_ROM_BAR, %ecx
    call pci_write32
    PRINT64 msg_pci_ok
    ret
9:  FAIL msg_pci_fail
    ret

/* ---------------------------------------------------------------------- */
/* Random writes to the legacy ports                                        */
/* ---------------------------------------------------------------------- */

/*
 * Every port in 0x000-0x0ff and 0x170-0x3ff gets a random byte or word and
 * is read back, except the reset paths (0x64 i8042 commands, 0x92 fast
 * reset) and COM1 (this guest's voice). Power-off ports are above 0x3ff.
 */
port_sweep:
    xor %ebx, %ebx
1:  cmp $0x64, %ebx
    je 3f
    cmp $0x92, %ebx
    je 3f
    cmp $0x3f8, %ebx
    jae 3f
    call rand32
    mov %ebx, %edx
    test $0x100, %eax
    jz 2f
    test $1, %ebx
    jnz 2f
    shr $16, %eax
    out %ax, %dx
    in %dx, %ax
    jmp 3f
2:  shr $16, %eax
    out %al, %dx
    in %dx, %al
3:  inc %ebx
    cmp $0x100, %ebx
    jne 4f
    mov $0x170, %ebx
4:  cmp $0x400, %ebx
    jb 1b
    PRINT64 msg_ports
    ret

msg_banner:
    .asciz "mimic nonsense guest\r\n"
msg_fail:
    .asciz "nonsense: FAIL "
msg_failed:
    .asciz "nonsense: FAILED\r\n"
msg_survived:
    .asciz "nonsense: survived\r\n"
msg_status:
    .asciz " status "
msg_close:
    .asciz ")\r\n"
msg_close_paren:
    .asciz ")"
msg_no_ide:
    .asciz "no PIIX IDE function\r\n"
msg_no_virtio:
    .asciz "no virtio-blk device\r\n"
msg_no_cdrom:
    .asciz "no CD-ROM at the secondary master\r\n"
msg_rom_changed:
    .asciz "DMA changed the ROM\r\n"
msg_fw_ok:
    .asciz "fw_cfg: DMA read ok\r\n"
msg_fw_broken:
    .asciz "fw_cfg: DMA read of the RAM size failed\r\n"
msg_fw_case:
    .asciz "fw_cfg: "
msg_fw_error:
    .asciz " -> error\r\n"
msg_fw_no_error:
    .asciz " not refused\r\n"
msg_fw_outside:
    .asciz "DMA outside RAM"
msg_fw_mmio:
    .asciz "DMA into MMIO"
msg_fw_rom:
    .asciz "DMA into ROM"
msg_fw_write:
    .asciz "DMA write to a read-only item"
msg_fw_descriptor:
    .asciz "fw_cfg: descriptor outside RAM ignored\r\n"
msg_vga_ok:
    .asciz "vga: absurd VBE modes refused\r\n"
msg_vga_fail:
    .asciz "vga: VBE mode check wrong\r\n"
msg_pci_ok:
    .asciz "pci: BARs over config ports, BARs, RAM and ROM refused\r\n"
msg_pci_fail:
    .asciz "pci: overlapping BARs broke the machine\r\n"
msg_ports:
    .asciz "ports: random writes done\r\n"

    .include "nonsense-ide.inc"
    .include "nonsense-virtio.inc"

    RESET_VECTOR start16
