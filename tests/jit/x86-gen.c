/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test-case generator: encodes a form with random registers and addressing
 * modes (ModRM, SIB, RIP-relative, absolute, 67h), and picks operand values
 * from edge cases (0, 1, -1, signed min/max, sign boundaries) and a seeded
 * random stream (Intel SDM vol. 2, 2.1-2.2 for the encodings).
 */
#include "tests/jit/x86-gen.h"

#include <string.h>

#include "jit/x86/cpu.h"

struct rng {
    uint64_t s;
};

static uint64_t next(struct rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1dull;
}

static unsigned below(struct rng *r, unsigned n)
{
    return (unsigned)(next(r) % n);
}

static uint64_t edge_value(struct rng *r)
{
    static const uint64_t edges[] = {
        0, 1, 2, 3, 0x7f, 0x80, 0x81, 0xff, 0x100, 0x7fff, 0x8000, 0x8001,
        0xffff, 0x10000, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff,
        0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull,
        0x8000000000000001ull, 0xffffffffffffffffull, 0xfffffffffffffffeull,
        0xffffffff80000000ull, 0xffffffffffff8000ull, 0xffffffffffffff80ull,
        0x5555555555555555ull, 0xaaaaaaaaaaaaaaaaull, 0x0f0f0f0f0f0f0f0full,
    };
    unsigned pick = below(r, 4);

    if (pick == 0)
        return edges[below(r, sizeof(edges) / sizeof(edges[0]))];
    if (pick == 1)     /* an edge of a random width, maybe negated */
        return edges[below(r, sizeof(edges) / sizeof(edges[0]))] ^
               ((next(r) & 1) ? ~0ull : 0);
    if (pick == 2)
        return next(r) & 0xff;
    return next(r);
}

struct enc {
    uint8_t b[16];
    unsigned n;
    int disp_pos;       /* RIP-relative disp32 to fix up, or -1 */
    int imm_pos;
    uint64_t target;    /* the memory operand's address */
};

static void emit(struct enc *e, uint8_t v)
{
    e->b[e->n++] = v;
}

static void emit_le(struct enc *e, uint64_t v, unsigned size)
{
    for (unsigned i = 0; i < size; i++)
        emit(e, (uint8_t)(v >> (8 * i)));
}

static uint64_t implicit_registers(const struct x86_form *f)
{
    switch (f->special) {
    case SP_SHIFT_CL: return 1u << X86_RCX;
    case SP_MUL:
    case SP_DIV: return 1u << X86_RAX | 1u << X86_RDX;
    case SP_CMPXCHG: return 1u << X86_RAX;
    case SP_CMPXCHG8B: return 1u << X86_RAX | 1u << X86_RBX | 1u << X86_RCX | 1u << X86_RDX;
    case SP_STRING: return 1u << X86_RSI | 1u << X86_RDI | 1u << X86_RCX | 1u << X86_RAX;
    case SP_STACK:
    case SP_POPF:
    case SP_RET:
    case SP_INDIRECT:
    case SP_BRANCH: return 1u << X86_RSP;
    case SP_ENTER:
    case SP_LEAVE: return 1u << X86_RSP | 1u << X86_RBP;
    case SP_XLAT: return 1u << X86_RBX | 1u << X86_RAX;
    case SP_LOOP: return 1u << X86_RCX;
    default: return 0;
    }
}

/* A register in [0, limit) not in @used. */
static unsigned pick_register(struct rng *r, unsigned limit, uint64_t used)
{
    for (;;) {
        unsigned reg = below(r, limit);

        if (!(used & (1ull << reg)))
            return reg;
    }
}

/* A code-page offset to branch to: not inside the instruction. */
static uint64_t code_target(struct rng *r, unsigned length)
{
    for (;;) {
        unsigned offset = below(r, X86_TEST_PAGE - 16);

        if (offset + 16 <= X86_TEST_CODE_OFFSET ||
            offset >= X86_TEST_CODE_OFFSET + length)
            return X86_TEST_CODE_ADDR + offset;
    }
}

static void patch(struct x86_test_case *c, uint64_t address, uint64_t value)
{
    c->patch_offset[c->patches] = (uint16_t)(address - X86_TEST_DATA_ADDR);
    c->patch_value[c->patches++] = value;
}

static unsigned shift_count(const struct x86_form *f, struct rng *r, unsigned i)
{
    unsigned walk = 8 * f->size + 2;

    if (i < 2 * walk)
        return i % walk;
    return below(r, 4) ? below(r, walk) : (unsigned)(next(r) & 0xff);
}

static void gen_one(const struct x86_form *f, struct rng *r, unsigned i,
                    struct x86_test_case *c)
{
    uint64_t used = implicit_registers(f), mask = f->size >= 8 ? ~0ull
                  : (1ull << (8 * f->size)) - 1;
    bool use_rex = f->byte_regs ? (next(r) & 1) : true;
    unsigned limit = use_rex ? 16 : 8;
    bool addr32 = f->addr32_ok && below(r, 4) == 0;
    bool mem = f->rm == RM_MEM || (f->rm == RM_BOTH && (next(r) & 1));
    unsigned rex = 0, reg = 0, rm = 0, base = 0xff, index = 0xff, scale = 0;
    int mode = -1;
    int64_t disp = 0;
    uint64_t target = 0;
    struct enc e = { .disp_pos = -1, .imm_pos = -1 };

    memset(c, 0, sizeof(*c));
    c->memory_seed = (uint32_t)next(r) & 0x7fffffff;
    for (unsigned k = 0; k < 16; k++)
        c->gpr[k] = edge_value(r);
    c->rflags = next(r) & (X86_ARITH_FLAGS | X86_DF);

    if (f->special == SP_FIXED) {
        memcpy(c->code, f->bytes, f->nbytes);
        c->length = f->nbytes;
        return;
    }
    /* Registers: the reg field, the opcode register, then r/m. */
    if (f->digit == -1) {
        reg = pick_register(r, limit, 0);
        used |= 1ull << reg;
        if (f->byte_regs && !use_rex && reg >= 4)
            used |= 1ull << (reg - 4);
    } else if (f->digit >= 0) {
        reg = (unsigned)f->digit;
    }
    if (f->opreg) {
        rm = pick_register(r, limit, 0);
        if (rm >= 8)
            rex |= 1;
    }
    if (f->digit != -2 && !mem) {
        rm = pick_register(r, limit, f->special == SP_INDIRECT ? 1u << X86_RSP : 0);
    } else if (f->digit != -2) {
        unsigned align = f->special == SP_CMPXCHG8B && f->size == 8 ? 16 : f->size;

        target = X86_TEST_DATA_ADDR + 256 + below(r, X86_TEST_PAGE - 512);
        if (below(r, 8) != 0)
            target &= ~(uint64_t)(align - 1);
        mode = below(r, 5);
        switch (mode) {
        case 0: /* [base + disp8], base may be rsp/r12 (SIB) */
            base = pick_register(r, limit, used);
            disp = (int8_t)next(r);
            break;
        case 1: /* [base + index * scale + disp32] */
            base = pick_register(r, limit, used | 1ull << X86_RSP);
            index = pick_register(r, limit, used | 1ull << X86_RSP | 1ull << base);
            scale = below(r, 4);
            disp = (int32_t)(below(r, 4096) - 2048);
            break;
        case 2: /* [rip + disp32] */
            break;
        case 3: /* [disp32] through SIB without base or index */
            break;
        default: /* [base], no displacement (base & 7 != 5) */
            do {
                base = pick_register(r, limit, used);
            } while ((base & 7) == 5);
            break;
        }
        if (index != 0xff) {
            int64_t iv = (int64_t)below(r, 33) - 16;

            c->gpr[index] = (uint64_t)iv;
            if (addr32)
                c->gpr[index] = (uint32_t)iv | (next(r) & ~0xffffffffull);
        }
        if (base != 0xff) {
            uint64_t bv = target - (uint64_t)disp -
                          (index != 0xff ? c->gpr[index] << scale : 0);

            c->gpr[base] = addr32 ? ((uint32_t)bv | (next(r) & ~0xffffffffull)) : bv;
            if (base >= 8)
                rex |= 1;
        }
        if (index != 0xff && index >= 8)
            rex |= 2;
    }
    if (f->digit != -2 && !mem && rm >= 8)
        rex |= 1;
    if (f->digit == -1 && reg >= 8)
        rex |= 4;
    if (f->size == 8)
        rex |= 8;

    /* Prefixes, REX, opcode. */
    if (f->prefix)
        emit(&e, f->prefix);
    if (f->size == 2)
        emit(&e, 0x66);
    if (addr32)
        emit(&e, 0x67);
    if (rex || (f->byte_regs && use_rex))
        emit(&e, 0x40 | rex);
    if (f->map >= 1)
        emit(&e, 0x0f);
    if (f->map == 2)
        emit(&e, 0x38);
    emit(&e, f->opcode | (f->opreg ? (rm & 7) : 0));

    if (f->digit != -2) {
        unsigned r3 = reg & 7;

        if (!mem) {
            emit(&e, 0xc0 | r3 << 3 | (rm & 7));
        } else if (mode == 0) {
            emit(&e, 0x40 | r3 << 3 | ((base & 7) == 4 ? 4 : base & 7));
            if ((base & 7) == 4)
                emit(&e, 0x24);
            emit(&e, (uint8_t)disp);
        } else if (mode == 1) {
            emit(&e, 0x80 | r3 << 3 | 4);
            emit(&e, (uint8_t)(scale << 6 | (index & 7) << 3 | (base & 7)));
            emit_le(&e, (uint64_t)disp, 4);
        } else if (mode == 2) {
            emit(&e, r3 << 3 | 5);
            e.disp_pos = (int)e.n;
            emit_le(&e, 0, 4);
        } else if (mode == 3) {
            emit(&e, r3 << 3 | 4);
            emit(&e, 0x25);
            emit_le(&e, target, 4);
        } else {
            emit(&e, r3 << 3 | ((base & 7) == 4 ? 4 : base & 7));
            if ((base & 7) == 4)
                emit(&e, 0x24);
        }
    }
    if (f->imm) {
        uint64_t imm = edge_value(r);

        if (f->special == SP_SHIFT_IMM)
            imm = shift_count(f, r, i);
        if (f->special == SP_MOFFS)
            imm = target = X86_TEST_DATA_ADDR + 256 + below(r, X86_TEST_PAGE - 512);
        if (f->special == SP_ENTER)
            imm = below(r, 64) | (uint64_t)(below(r, 8) ? below(r, 5) : below(r, 32)) << 16;
        e.imm_pos = (int)e.n;
        emit_le(&e, imm, f->special == SP_MOFFS && addr32 ? 4 : f->imm);
    }
    if (e.disp_pos >= 0) {
        uint64_t next_ip = X86_TEST_CODE_ADDR + X86_TEST_CODE_OFFSET + e.n;
        uint32_t d = (uint32_t)(target - next_ip);

        memcpy(&e.b[e.disp_pos], &d, 4);
    }
    memcpy(c->code, e.b, e.n);
    c->length = (uint8_t)e.n;

    /* Operand values the form needs. */
    switch (f->special) {
    case SP_SHIFT_CL:
        c->gpr[X86_RCX] = (c->gpr[X86_RCX] & ~0xffull) | shift_count(f, r, i);
        break;
    case SP_DIV: {
        uint64_t divisor = below(r, 16) ? edge_value(r) & mask : 0;
        unsigned how = below(r, 4);

        if (below(r, 2))
            divisor = (next(r) & mask) >> below(r, 8 * f->size);
        if (mem)
            patch(c, target, divisor);
        else
            c->gpr[rm] = (c->gpr[rm] & ~mask) | divisor;
        if (f->size == 1) {
            uint64_t ah = how < 2 && divisor ? (next(r) & 0xff) % (divisor & 0xff)
                        : how == 2 ? ((c->gpr[X86_RAX] & 0x80) ? 0xff : 0) : next(r) & 0xff;

            c->gpr[X86_RAX] = (c->gpr[X86_RAX] & ~0xff00ull) | ah << 8;
        } else {
            uint64_t hi = how < 2 && divisor ? (next(r) & mask) % divisor
                        : how == 2 ? ((c->gpr[X86_RAX] & (mask ^ (mask >> 1))) ? mask : 0)
                        : next(r);

            c->gpr[X86_RDX] = (c->gpr[X86_RDX] & ~mask) | (hi & mask);
        }
        break;
    }
    case SP_BT:
        if (mem) {
            int64_t bit = (int64_t)below(r, 3200) - 1600;

            c->gpr[reg] = (c->gpr[reg] & ~mask) | ((uint64_t)bit & mask);
        }
        break;
    case SP_CMPXCHG:
        if (next(r) & 1) {
            if (mem)
                patch(c, target, c->gpr[X86_RAX]);
            else if (rm != X86_RAX)
                c->gpr[X86_RAX] = c->gpr[rm];
        }
        break;
    case SP_CMPXCHG8B:
        if (next(r) & 1) {
            if (f->size == 8) {
                patch(c, target, c->gpr[X86_RAX]);
                patch(c, target + 8, c->gpr[X86_RDX]);
            } else {
                patch(c, target, (uint32_t)c->gpr[X86_RAX] | c->gpr[X86_RDX] << 32);
            }
        }
        break;
    case SP_STRING: {
        uint64_t high = addr32 ? next(r) & ~0xffffffffull : 0;

        c->gpr[X86_RSI] = high | (X86_TEST_DATA_ADDR + 0x500 + below(r, 0x100));
        c->gpr[X86_RDI] = (addr32 ? next(r) & ~0xffffffffull : 0) |
                          (X86_TEST_DATA_ADDR + (below(r, 4) ? 0x900 : 0x4f0) + below(r, 0x100));
        c->gpr[X86_RCX] = (addr32 ? next(r) & ~0xffffffffull : 0) | below(r, 14);
        if (below(r, 2)) {
            c->memory_seed |= 0x80000000u;      /* bytes 0/1: long equal runs */
            c->gpr[X86_RAX] = next(r) & 0x0101010101010101ull;
        }
        break;
    }
    case SP_STACK:
    case SP_POPF:
    case SP_RET:
    case SP_BRANCH:
    case SP_INDIRECT:
    case SP_ENTER:
    case SP_LEAVE:
        c->gpr[X86_RSP] = X86_TEST_DATA_ADDR + 0x800 + 8 * below(r, 32) -
                          (below(r, 8) ? 0 : 4);
        if (f->special == SP_POPF)
            patch(c, c->gpr[X86_RSP], next(r) & 0x3fffff &
                  ~(uint64_t)(X86_TF | X86_AC | X86_NT));
        if (f->special == SP_RET)
            patch(c, c->gpr[X86_RSP], code_target(r, c->length));
        if (f->special == SP_ENTER)
            c->gpr[X86_RBP] = X86_TEST_DATA_ADDR + 0xa00 + 8 * below(r, 16);
        if (f->special == SP_LEAVE)
            c->gpr[X86_RBP] = X86_TEST_DATA_ADDR + 0x800 + 8 * below(r, 32) -
                              (below(r, 8) ? 0 : 2);
        if (f->special == SP_INDIRECT) {
            uint64_t t = code_target(r, c->length);

            if (mem)
                patch(c, target, t);
            else
                c->gpr[rm] = t;
        }
        break;
    case SP_LOOP:
        c->gpr[X86_RCX] = (addr32 ? next(r) & ~0xffffffffull : 0) | below(r, 3);
        break;
    case SP_XLAT:
        c->gpr[X86_RBX] = X86_TEST_DATA_ADDR + 0x100 + below(r, 0x400);
        break;
    default:
        break;
    }
    /* Relative branches never target their own bytes (no endless loops). */
    if ((f->special == SP_BRANCH || f->special == SP_LOOP) && e.imm_pos >= 0) {
        int64_t rel;

        do {
            rel = f->imm == 1 ? (int8_t)next(r) : (int64_t)below(r, 0xe00) - 0x700;
        } while (rel < 0 && rel >= -(int64_t)c->length);
        memcpy(&c->code[e.imm_pos], &rel, f->imm);
    }
}

unsigned x86_gen_cases(const struct x86_form *form, uint32_t seed,
                       struct x86_test_case *out, unsigned max)
{
    struct rng r = { .s = 0x853c49e6748fea9bull ^ ((uint64_t)seed << 17) ^ seed };
    unsigned n = form->cases ? form->cases * 8u : 96u;

    if (form->special == SP_SHIFT_IMM || form->special == SP_SHIFT_CL)
        n = 2 * (8 * form->size + 2) + 64;
    if (form->special == SP_FIXED)
        n = 8;
    if (n > max)
        n = max;
    for (unsigned i = 0; i < n; i++)
        gen_one(form, &r, i, &out[i]);
    return n;
}
