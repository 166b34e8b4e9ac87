/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Port I/O: IN, OUT, INS, OUTS with the IOPL and TSS I/O permission bitmap
 * checks (Intel SDM vol. 1, 18.5; vol. 2 "IN", "OUT", "INS", "OUTS").
 */
#include "engine/memory.h"
#include "jit/x86/ops.h"
#include "jit/x86/system.h"

#define X86_STRING_BATCH 4096

/*
 * Protected mode with CPL > IOPL, and virtual-8086 mode, consult the I/O
 * permission bitmap of a 32-bit (or 64-bit) TSS: every bit of the accessed
 * ports must be clear, else #GP(0).
 */
static void check_io(struct x86_cpu *cpu, unsigned port, unsigned size)
{
    unsigned iopl = (cpu->rflags & X86_IOPL) >> 12, type = cpu->tr.flags & 0xf;
    uint64_t base;
    unsigned bitmap, bits;

    if (cpu->mode == X86_MODE_REAL)
        return;
    if (!(cpu->rflags & X86_VM) && x86_cpl(cpu) <= iopl)
        return;
    if ((type != 9 && type != 0xb) || cpu->tr.limit < 0x67)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    base = cpu->tr.base;
    bitmap = x86_system_read(cpu, base + 0x66, 2);
    if (bitmap + port / 8 + 1 > cpu->tr.limit)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    bits = x86_system_read(cpu, base + bitmap + port / 8, 2);
    if ((bits >> (port & 7)) & ((1u << size) - 1))
        x86_raise_error(cpu, X86_EXC_GP, 0);
}

static uint64_t port_read(struct x86_cpu *cpu, unsigned port, unsigned size)
{
    uint64_t v = ~0ull;

    if (cpu->io)
        memory_map_dispatch_read(cpu->io, port, size, &v);
    return v & x86_mask(size);
}

static void port_write(struct x86_cpu *cpu, unsigned port, unsigned size, uint64_t v)
{
    if (cpu->io)
        memory_map_dispatch_write(cpu->io, port, size, v & x86_mask(size));
}

/* E4/E5 IN AL/eAX, ib; EC/ED IN AL/eAX, DX; E6/E7, EE/EF: OUT. */
void x86_op_in_out(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize == 8 ? 4 : insn->opsize;
    unsigned port = insn->opcode < 0xe8 ? (insn->imm & 0xff)
                                        : (cpu->gpr[X86_RDX] & 0xffff);

    check_io(cpu, port, size);
    if (insn->opcode & 2)
        port_write(cpu, port, size, cpu->gpr[X86_RAX]);
    else
        x86_reg_write(cpu, insn, X86_RAX, size, port_read(cpu, port, size));
}

/* 6C/6D INS, 6E/6F OUTS, with REP; restartable like the other string ops. */
void x86_op_ins_outs(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize == 8 ? 4 : insn->opsize, asize = insn->addrsize;
    unsigned port = cpu->gpr[X86_RDX] & 0xffff;
    uint64_t amask = x86_mask(asize);
    int64_t delta = cpu->rflags & X86_DF ? -(int64_t)size : (int64_t)size;
    bool out = insn->opcode >= 0x6e;

    check_io(cpu, port, size);
    if (insn->rep && (cpu->gpr[X86_RCX] & amask) == 0)
        return;
    for (unsigned n = 1;; n++) {
        if (out) {
            uint64_t si = cpu->gpr[X86_RSI] & amask;

            port_write(cpu, port, size, x86_mem_read(cpu, insn->seg, si, size));
            x86_reg_write(cpu, insn, X86_RSI, asize, si + (uint64_t)delta);
        } else {
            uint64_t di = cpu->gpr[X86_RDI] & amask;

            x86_mem_write(cpu, X86_ES, di, size, port_read(cpu, port, size));
            x86_reg_write(cpu, insn, X86_RDI, asize, di + (uint64_t)delta);
        }
        if (!insn->rep)
            return;
        x86_reg_write(cpu, insn, X86_RCX, asize, cpu->gpr[X86_RCX] - 1);
        if ((cpu->gpr[X86_RCX] & amask) == 0)
            return;
        if (n >= X86_STRING_BATCH || cpu->stop_requested || cpu->string_break) {
            cpu->next_rip = cpu->rip;
            return;
        }
    }
}
