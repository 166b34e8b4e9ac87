/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Debug exceptions (Intel SDM vol. 3, ch. 17): DR0-DR7 and MOV DR, the
 * instruction, data and I/O breakpoints of DR7, single-step (EFLAGS.TF),
 * EFLAGS.RF, the MOV SS/POP SS delay and DR6 reporting. The loop calls
 * in here only while something is armed (cpu->debug_active, TF or RF).
 */
#include "jit/x86/decode.h"
#include "jit/x86/ops.h"
#include "jit/x86/system.h"

/* DR6 and DR7 bits (17.2.3, 17.2.4). */
#define DR6_BD (1u << 13)
#define DR6_BS (1u << 14)
#define DR6_FIXED 0xffff0ff0u       /* reserved bits that read as 1 */
#define DR7_GD (1u << 13)
#define DR7_FIXED 0x400u

enum dr7_kind { DR7_EXEC = 0, DR7_WRITE = 1, DR7_IO = 2, DR7_READ_WRITE = 3 };

/* Breakpoints in @mask whose range overlaps [@first, @last] (17.2.5). */
static uint32_t matches(const struct x86_debug *d, unsigned mask, uint64_t first,
                        uint64_t last)
{
    uint32_t hits = 0;

    for (unsigned i = 0; i < 4; i++)
        if ((mask >> i) & 1 && first <= d->last[i] && last >= d->start[i])
            hits |= 1u << i;
    return hits;
}

/*
 * Recompute the breakpoints from DR0-DR3 and DR7: enabled (L or G), kind
 * (R/W) and the byte range. LEN 01, 11 and 10 cover 2, 4 and 8 bytes and
 * the address bits below that size are ignored (17.2.5).
 */
void x86_debug_update(struct x86_cpu *cpu)
{
    static const unsigned length[4] = { 1, 2, 8, 4 };
    struct x86_debug *d = &cpu->debug;
    uint64_t dr7 = cpu->dr[7];
    bool had_data = d->data;

    d->exec = d->read = d->write = d->io = 0;
    for (unsigned i = 0; i < 4; i++) {
        unsigned kind = (dr7 >> (16 + 4 * i)) & 3;
        unsigned size = length[(dr7 >> (18 + 4 * i)) & 3];

        d->start[i] = cpu->dr[i] & ~(uint64_t)(size - 1);
        d->last[i] = d->start[i] + size - 1;
        if (!((dr7 >> (2 * i)) & 3))
            continue;
        switch (kind) {
        case DR7_EXEC:
            /* Instruction breakpoints need LEN 00 (17.2.4): the exact byte. */
            d->start[i] = d->last[i] = cpu->dr[i];
            d->exec |= 1u << i;
            break;
        case DR7_WRITE:
            d->write |= 1u << i;
            break;
        case DR7_IO:
            d->io |= 1u << i;
            break;
        default:
            d->read |= 1u << i;
            d->write |= 1u << i;
            break;
        }
    }
    d->data = d->read || d->write;
    cpu->debug_active = d->exec || d->data || d->io || d->pending;
    /* The TLB keeps no page with a data breakpoint (mem.c): refill it. */
    if (had_data || d->data)
        x86_tlb_flush(cpu);
}

bool x86_debug_watches_page(const struct x86_cpu *cpu, uint64_t page)
{
    return matches(&cpu->debug, cpu->debug.read | cpu->debug.write, page,
                   page + X86_PAGE_SIZE - 1) != 0;
}

/* A repeated string instruction, which the loop runs as batches of iterations. */
static bool is_string(const struct x86_insn *insn)
{
    void (*h)(struct x86_cpu *, const struct x86_insn *) = insn->handler;

    return h == x86_op_movs || h == x86_op_cmps || h == x86_op_stos ||
           h == x86_op_lods || h == x86_op_scas || h == x86_op_ins_outs;
}

/*
 * Make a string instruction stop after the current iteration: the string
 * loops yield (RIP unchanged) when string_break is set, so the trap comes
 * between iterations and the instruction goes on after the handler.
 */
static void end_string_batch(struct x86_cpu *cpu)
{
    if (cpu->insn && cpu->insn->rep && is_string(cpu->insn))
        cpu->string_break = true;
}

/*
 * A data access of @size bytes at @linear, on a page x86_debug_watches_page
 * named: note the breakpoints it hits. FIXME: hits by the accesses of an
 * event delivery (IDT, stack) are dropped, not reported after it.
 */
void x86_debug_access(struct x86_cpu *cpu, uint64_t linear, unsigned size,
                      bool write)
{
    uint32_t hits = matches(&cpu->debug, write ? cpu->debug.write : cpu->debug.read,
                            linear, linear + size - 1);

    if (!hits)
        return;
    cpu->debug.hits |= hits;
    /* A data breakpoint traps after the iteration that hit it (17.3.1.2). */
    end_string_batch(cpu);
}

/* Deliver #DB with @dr6 bits added to DR6 (they are never cleared, 17.2.3). */
static _Noreturn void raise_debug(struct x86_cpu *cpu, uint32_t dr6)
{
    cpu->dr[6] |= dr6;
    x86_raise(cpu, X86_EXC_DB);
}

/*
 * Before fetching the instruction at @linear: instruction breakpoints are
 * faults, unless RF is set; RF is then cleared for this instruction, which
 * only IRET and task switches set again (17.3.1.1).
 */
void x86_debug_before_fetch(struct x86_cpu *cpu, uint64_t linear)
{
    cpu->debug.hits = 0;
    if (cpu->debug.exec && !(cpu->rflags & X86_RF)) {
        uint32_t hits = matches(&cpu->debug, cpu->debug.exec, linear, linear);

        if (hits)
            raise_debug(cpu, hits);
    }
    cpu->rflags &= ~(uint64_t)X86_RF;
}

/* The port an IN/OUT/INS/OUTS accesses and its size; false for others. */
static bool io_port(const struct x86_cpu *cpu, const struct x86_insn *insn,
                    unsigned *port, unsigned *size)
{
    if (insn->handler == x86_op_in_out)
        *port = insn->opcode < 0xe8 ? (insn->imm & 0xff) : (cpu->gpr[X86_RDX] & 0xffff);
    else if (insn->handler == x86_op_ins_outs)
        *port = cpu->gpr[X86_RDX] & 0xffff;
    else
        return false;
    *size = insn->opsize == 8 ? 4 : insn->opsize;
    return true;
}

/* I/O breakpoints exist only with CR4.DE; R/W = 10 is undefined without it (17.2.4). */
static uint32_t io_hits(const struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned port, size;

    if (!cpu->debug.io || !(cpu->cr4 & X86_CR4_DE) || !io_port(cpu, insn, &port, &size))
        return 0;
    return matches(&cpu->debug, cpu->debug.io, port, port + size - 1);
}

/*
 * Decoded, about to run: a single-stepped REP string instruction, or one
 * whose port has an I/O breakpoint, traps after each iteration (17.3.1.4).
 */
void x86_debug_before_execute(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    cpu->string_break = false;
    if ((cpu->rflags & X86_TF) || io_hits(cpu, insn))
        end_string_batch(cpu);
}

/*
 * After the instruction completed (RIP committed): the traps it raised.
 * Single-step uses TF as it was before the instruction (@flags_before):
 * POPF or IRET setting TF traps after the next instruction. INT n, INT3,
 * INTO and INT1 clear TF on the way to their handler and do not trap
 * (17.3.1.4); SYSCALL traps only if FMASK left TF set. The trap of MOV SS
 * or POP SS waits until after the next instruction (6.8.3).
 */
void x86_debug_after(struct x86_cpu *cpu, uint64_t flags_before, uint64_t rip_before)
{
    const struct x86_insn *insn = cpu->insn;
    uint32_t dr6 = cpu->debug.hits | cpu->debug.pending;
    bool step = flags_before & X86_TF;

    cpu->debug.hits = 0;
    cpu->string_break = false;
    if (insn->handler == x86_op_syscall)
        step = cpu->rflags & X86_TF;
    else if ((insn->handler == x86_op_int || insn->handler == x86_op_int3 ||
              insn->handler == x86_op_int1) && !(cpu->rflags & X86_TF))
        step = false;
    if (step)
        dr6 |= DR6_BS;
    dr6 |= io_hits(cpu, insn);
    if (!dr6)
        return;
    if (cpu->interrupt_shadow &&
        (insn->handler == x86_op_mov_to_sreg || insn->handler == x86_op_pop_sreg)) {
        cpu->debug.pending = dr6;
        cpu->debug_active = true;
        return;
    }
    cpu->debug.pending = 0;
    cpu->debug_active = cpu->debug.exec || cpu->debug.data || cpu->debug.io;
    /* A trap between iterations pushes RF = 1: the instruction resumes. */
    if (is_string(insn) && cpu->rip == rip_before)
        cpu->rflags |= X86_RF;
    raise_debug(cpu, dr6);
}

/*
 * Before an exception is delivered: fault-class exceptions push RF = 1 so
 * the restarted instruction does not hit its instruction breakpoint again
 * (17.3.1.1); #DB sets RF itself where it is a fault other than an
 * instruction breakpoint.
 */
void x86_debug_before_exception(struct x86_cpu *cpu)
{
    switch (cpu->exception_vector) {
    case X86_EXC_DE: case X86_EXC_BR: case X86_EXC_UD: case X86_EXC_NM:
    case X86_EXC_TS: case X86_EXC_NP: case X86_EXC_SS: case X86_EXC_GP:
    case X86_EXC_PF: case X86_EXC_MF: case X86_EXC_AC: case X86_EXC_XM:
        cpu->rflags |= X86_RF;
        break;
    default:
        break;
    }
}

/*
 * 0F 21, 0F 23: MOV r, DRn / MOV DRn, r (17.2; vol. 2 "MOV—Move to/from
 * Debug Registers"). DR4/DR5 are DR6/DR7 without CR4.DE and #UD with it;
 * DR7.GD makes any access a #DB fault with DR6.BD, GD cleared for the
 * handler (17.2.4).
 */
void x86_op_mov_dr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = x86_long64(cpu) ? 8 : 4, dr = insn->reg;
    uint64_t v;

    if (dr > 7)
        x86_raise(cpu, X86_EXC_UD);
    if (x86_cpl(cpu) > 0)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    if (dr == 4 || dr == 5) {
        if (cpu->cr4 & X86_CR4_DE)
            x86_raise(cpu, X86_EXC_UD);
        dr += 2;
    }
    if (cpu->dr[7] & DR7_GD) {
        cpu->dr[7] &= ~(uint64_t)DR7_GD;
        cpu->rflags |= X86_RF;      /* a fault: RF = 1 in the pushed image */
        raise_debug(cpu, DR6_BD);
    }
    if (insn->opcode == 0x21) {
        v = cpu->dr[dr];
        if (dr == 6)
            v |= DR6_FIXED;
        else if (dr == 7)
            v |= DR7_FIXED;
        x86_reg_write(cpu, insn, insn->rm, size, v);
        return;
    }
    v = cpu->gpr[insn->rm] & x86_mask(size);
    if ((dr == 6 || dr == 7) && (v >> 32))
        x86_raise_error(cpu, X86_EXC_GP, 0);
    cpu->dr[dr] = v;
    if (dr != 6)
        x86_debug_update(cpu);
}
