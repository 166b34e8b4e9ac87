/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x86 decoder: legacy prefixes, REX, opcode maps, ModRM/SIB in 16/32/64-bit
 * addressing, displacements and immediates (Intel SDM vol. 2, 2.1-2.2).
 */
#include "jit/x86/decode.h"

#include <string.h>

#include "jit/x86/ops.h"
#include "jit/x86/optable.h"

struct cursor {
    const uint8_t *bytes;
    unsigned available, position;
    enum x86_decode_result error;   /* X86_DECODE_OK while bytes are there */
};

/* Next byte, or 0 with cur->error set when the instruction runs out. */
static uint8_t next_byte(struct cursor *cur)
{
    if (cur->error != X86_DECODE_OK)
        return 0;
    if (cur->position >= X86_MAX_INSN_LENGTH) {
        cur->error = X86_DECODE_GP;
        return 0;
    }
    if (cur->position >= cur->available) {
        cur->error = X86_DECODE_MORE;
        return 0;
    }
    return cur->bytes[cur->position++];
}

/* Little-endian immediate of @size bytes, zero-extended. */
static uint64_t next_unsigned(struct cursor *cur, unsigned size)
{
    uint64_t value = 0;

    for (unsigned i = 0; i < size; i++)
        value |= (uint64_t)next_byte(cur) << (8 * i);
    return value;
}

static int64_t next_signed(struct cursor *cur, unsigned size)
{
    uint64_t value = next_unsigned(cur, size);
    unsigned shift = 64 - 8 * size;

    return (int64_t)(value << shift) >> shift;
}

static bool mode_is_64(enum x86_mode mode)
{
    return mode == X86_MODE_LONG64;
}

static bool mode_is_32(enum x86_mode mode)
{
    return mode == X86_MODE_PROT32 || mode == X86_MODE_COMPAT32;
}

/* 16-bit addressing forms (SDM vol. 2, table 2-1). */
static void decode_modrm16(struct x86_insn *insn, struct cursor *cur)
{
    static const uint8_t bases[8] = {
        X86_RBX, X86_RBX, X86_RBP, X86_RBP, X86_RSI, X86_RDI, X86_RBP, X86_RBX,
    };
    static const uint8_t indexes[8] = {
        X86_RSI, X86_RDI, X86_RSI, X86_RDI,
        X86_REG_NONE, X86_REG_NONE, X86_REG_NONE, X86_REG_NONE,
    };
    unsigned rm = insn->modrm & 7;

    insn->base = bases[rm];
    insn->index = indexes[rm];
    insn->scale = 1;
    if (insn->mod == 0 && rm == 6) {
        insn->base = X86_REG_NONE;
        insn->disp = next_signed(cur, 2);
    } else if (insn->mod == 1) {
        insn->disp = next_signed(cur, 1);
    } else if (insn->mod == 2) {
        insn->disp = next_signed(cur, 2);
    }
    if (insn->base == X86_RBP)
        insn->seg = X86_SS;
}

/* 32- and 64-bit addressing forms with SIB (SDM vol. 2, tables 2-2, 2-3, 2.2.1). */
static void decode_modrm32(struct x86_insn *insn, struct cursor *cur,
                           enum x86_mode mode)
{
    unsigned rm = insn->modrm & 7;
    unsigned rex_b = (insn->rex & 1) << 3;

    insn->index = X86_REG_NONE;
    insn->scale = 1;
    if (rm == 4) {
        uint8_t sib = next_byte(cur);
        unsigned index = ((sib >> 3) & 7) | ((insn->rex & 2) << 2);
        unsigned base = sib & 7;

        insn->scale = 1u << (sib >> 6);
        if (index != X86_RSP)
            insn->index = index;
        if (base == 5 && insn->mod == 0) {
            insn->base = X86_REG_NONE;
            insn->disp = next_signed(cur, 4);
        } else {
            insn->base = base | rex_b;
        }
    } else if (rm == 5 && insn->mod == 0) {
        insn->base = mode_is_64(mode) ? X86_REG_RIP : X86_REG_NONE;
        insn->disp = next_signed(cur, 4);
    } else {
        insn->base = rm | rex_b;
    }
    if (insn->mod == 1)
        insn->disp = next_signed(cur, 1);
    else if (insn->mod == 2)
        insn->disp = next_signed(cur, 4);
    if (insn->base == X86_RSP || insn->base == X86_RBP)
        insn->seg = X86_SS;
}

static unsigned operand_size(const struct x86_insn *insn, unsigned flags,
                             enum x86_mode mode)
{
    if (flags & XF_BYTE)
        return 1;
    if (mode_is_64(mode)) {
        if ((insn->rex & 8) || (flags & XF_FORCE64))
            return 8;
        if (insn->opsize_prefix)
            return 2;
        return (flags & XF_DEF64) ? 8 : 4;
    }
    if (mode_is_32(mode))
        return insn->opsize_prefix ? 2 : 4;
    return insn->opsize_prefix ? 4 : 2;
}

static unsigned address_size(const struct x86_insn *insn, enum x86_mode mode)
{
    if (mode_is_64(mode))
        return insn->addrsize_prefix ? 4 : 8;
    if (mode_is_32(mode))
        return insn->addrsize_prefix ? 2 : 4;
    return insn->addrsize_prefix ? 4 : 2;
}

/* Legacy prefixes then REX (SDM vol. 2, 2.1.1 and 2.2.1). Returns the opcode byte. */
static uint8_t decode_prefixes(struct x86_insn *insn, struct cursor *cur,
                               enum x86_mode mode)
{
    for (;;) {
        uint8_t b = next_byte(cur);

        if (cur->error != X86_DECODE_OK)
            return 0;
        switch (b) {
        case 0xf0: insn->lock = 1; break;
        case 0xf2: insn->rep = X86_REP_NE; break;
        case 0xf3: insn->rep = X86_REP_E; break;
        case 0x26: insn->seg_override = X86_ES; break;
        case 0x2e: insn->seg_override = X86_CS; break;
        case 0x36: insn->seg_override = X86_SS; break;
        case 0x3e: insn->seg_override = X86_DS; break;
        case 0x64: insn->seg_override = X86_FS; break;
        case 0x65: insn->seg_override = X86_GS; break;
        case 0x66: insn->opsize_prefix = 1; break;
        case 0x67: insn->addrsize_prefix = 1; break;
        default:
            /* A REX prefix counts only right before the opcode. */
            if (mode_is_64(mode) && (b & 0xf0) == 0x40) {
                insn->rex = b;
                b = next_byte(cur);
                if ((b & 0xf0) == 0x40 || b == 0x66 || b == 0x67 ||
                    b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x26 ||
                    b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 ||
                    b == 0x65) {
                    /* REX followed by a prefix is ignored: start over. */
                    insn->rex = 0;
                    cur->position--;
                    continue;
                }
            }
            return b;
        }
    }
}

/*
 * After C4/C5: whether they start a VEX prefix, which they always do in
 * 64-bit mode and elsewhere when the next byte would be a register ModRM
 * (LES/LDS take memory only; SDM vol. 2, 2.3.5). No VEX instruction exists
 * here (CPUID reports no AVX, XCR0 cannot enable it), so the prefix, its
 * payload and the opcode byte are fetched and the result is #UD.
 */
static bool decode_vex(struct cursor *cur, uint8_t first, enum x86_mode mode)
{
    uint8_t payload = next_byte(cur);

    if (cur->error != X86_DECODE_OK)
        return true;
    if (!mode_is_64(mode) && (payload >> 6) != 3) {
        cur->position--;
        return false;
    }
    if (first == 0xc4)
        next_byte(cur);
    next_byte(cur);
    return true;
}

enum x86_decode_result x86_decode(struct x86_insn *insn, const uint8_t *bytes,
                                  unsigned available, enum x86_mode mode)
{
    struct cursor cur = { .bytes = bytes, .available = available };
    const struct x86_opdesc *desc;
    unsigned flags;
    uint8_t b;

    memset(insn, 0, sizeof(*insn));
    insn->seg_override = X86_SEG_NONE;
    insn->base = insn->index = X86_REG_NONE;
    insn->handler = x86_op_ud;

    b = decode_prefixes(insn, &cur, mode);
    if ((b == 0xc4 || b == 0xc5) && cur.error == X86_DECODE_OK &&
        decode_vex(&cur, b, mode))
        return cur.error != X86_DECODE_OK ? cur.error : X86_DECODE_UD;
    if (b == 0x0f) {
        b = next_byte(&cur);
        if (b == 0x38) {
            insn->map = X86_MAP_0F38;
            b = next_byte(&cur);
            desc = &x86_optable_0f38[b];
        } else if (b == 0x3a) {
            insn->map = X86_MAP_0F3A;
            b = next_byte(&cur);
            desc = &x86_optable_0f3a[b];
        } else {
            insn->map = X86_MAP_0F;
            desc = &x86_optable_0f[b];
        }
    } else {
        insn->map = X86_MAP_ONE;
        desc = &x86_optable_one[b];
    }
    if (cur.error != X86_DECODE_OK)
        return cur.error;
    insn->opcode = b;
    insn->opcode_reg = (b & 7) | ((insn->rex & 1) << 3);
    flags = desc->flags;

    if (flags & (XF_MODRM | XF_GROUP)) {
        insn->has_modrm = 1;
        insn->modrm = next_byte(&cur);
        insn->mod = insn->modrm >> 6;
        insn->reg = ((insn->modrm >> 3) & 7) | ((insn->rex & 4) << 1);
        insn->rm = (insn->modrm & 7) | ((insn->rex & 1) << 3);
    }
    if (flags & XF_GROUP) {
        const struct x86_opdesc *sub =
            &x86_optable_group[desc->group][(insn->modrm >> 3) & 7];

        flags |= sub->flags;
        desc = sub;
    }
    insn->opsize = operand_size(insn, flags, mode);
    insn->addrsize = address_size(insn, mode);
    insn->seg = X86_DS;

    if (flags & XF_NOMEM)
        insn->mod = 3;
    if (insn->has_modrm && insn->mod != 3) {
        insn->has_mem = 1;
        if (insn->addrsize == 2)
            decode_modrm16(insn, &cur);
        else
            decode_modrm32(insn, &cur, mode);
    }
    if (flags & XF_IMM8)
        insn->imm = next_signed(&cur, 1);
    if (flags & XF_IMM16)
        insn->imm = next_unsigned(&cur, 2);
    if (flags & XF_IMMZ)
        insn->imm = next_signed(&cur, insn->opsize == 2 ? 2 : 4);
    if (flags & XF_IMMV)
        insn->imm = next_unsigned(&cur, insn->opsize);
    if (flags & XF_ENTER) {
        insn->imm = next_unsigned(&cur, 2);
        insn->imm2 = next_unsigned(&cur, 1);
    }
    if (flags & XF_MOFFS) {
        insn->has_mem = 1;
        insn->disp = (int64_t)next_unsigned(&cur, insn->addrsize);
    }
    if (flags & XF_FARPTR) {
        insn->imm = next_unsigned(&cur, insn->opsize == 2 ? 2 : 4);
        insn->imm2 = next_unsigned(&cur, 2);
    }
    if (cur.error != X86_DECODE_OK)
        return cur.error;
    insn->length = cur.position;
    if (insn->seg_override != X86_SEG_NONE)
        insn->seg = insn->seg_override;

    if (!desc->handler)
        return X86_DECODE_UD;
    if ((flags & XF_INV64) && mode_is_64(mode))
        return X86_DECODE_UD;
    if ((flags & XF_MEM) && !insn->has_mem)
        return X86_DECODE_UD;
    if ((flags & XF_REG) && insn->has_mem)
        return X86_DECODE_UD;
    /* LOCK only on the listed read-modify-write forms with a memory
     * destination (SDM vol. 2, "LOCK"). */
    if (insn->lock && !((flags & XF_LOCK) && insn->has_mem))
        return X86_DECODE_UD;
    insn->handler = desc->handler;
    return X86_DECODE_OK;
}
