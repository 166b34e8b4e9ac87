/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Integer results and EFLAGS of the arithmetic, logic, multiply, divide,
 * shift, rotate and bit-scan instructions (Intel SDM vol. 2, per instruction).
 */
#include "jit/x86/alu.h"

#include "jit/x86/ops.h"

typedef unsigned __int128 u128;
typedef __int128 s128;

uint64_t x86_flags_szp(unsigned size, uint64_t result)
{
    uint64_t f = 0;

    result &= x86_mask(size);
    if (result == 0)
        f |= X86_ZF;
    if (result & x86_sign_bit(size))
        f |= X86_SF;
    if (!__builtin_parity((unsigned)(result & 0xff)))
        f |= X86_PF;
    return f;
}

static void set_arith(uint64_t *flags, uint64_t value, uint64_t which)
{
    *flags = (*flags & ~which) | (value & which);
}

/* Flags of a + b + carry = result (SDM vol. 1, appendix A, ADD/ADC). */
static uint64_t flags_add(unsigned size, uint64_t a, uint64_t b, uint64_t r,
                          unsigned carry)
{
    uint64_t m = x86_mask(size), f = x86_flags_szp(size, r);

    if ((r & m) < a || (carry && (r & m) == a))
        f |= X86_CF;
    if (((a ^ r) & (b ^ r)) & x86_sign_bit(size))
        f |= X86_OF;
    if ((a ^ b ^ r) & 0x10)
        f |= X86_AF;
    return f;
}

/* Flags of a - b - borrow = result (SUB/SBB/CMP/NEG). */
static uint64_t flags_sub(unsigned size, uint64_t a, uint64_t b, uint64_t r,
                          unsigned borrow)
{
    uint64_t f = x86_flags_szp(size, r);

    if (a < b || (borrow && a == b))
        f |= X86_CF;
    if (((a ^ b) & (a ^ r)) & x86_sign_bit(size))
        f |= X86_OF;
    if ((a ^ b ^ r) & 0x10)
        f |= X86_AF;
    return f;
}

uint64_t x86_alu(enum x86_alu_op op, unsigned size, uint64_t a, uint64_t b,
                 uint64_t *flags)
{
    uint64_t m = x86_mask(size), r, f;
    unsigned carry = *flags & X86_CF;

    a &= m;
    b &= m;
    switch (op) {
    case X86_ALU_ADD:
        carry = 0;
        /* fall through */
    case X86_ALU_ADC:
        r = (a + b + carry) & m;
        f = flags_add(size, a, b, r, carry);
        break;
    case X86_ALU_SUB:
    case X86_ALU_CMP:
        carry = 0;
        /* fall through */
    case X86_ALU_SBB:
        r = (a - b - carry) & m;
        f = flags_sub(size, a, b, r, carry);
        break;
    case X86_ALU_AND:
        r = a & b;
        f = x86_flags_szp(size, r);
        break;
    case X86_ALU_OR:
        r = a | b;
        f = x86_flags_szp(size, r);
        break;
    default: /* X86_ALU_XOR */
        r = a ^ b;
        f = x86_flags_szp(size, r);
        break;
    }
    set_arith(flags, f, X86_ARITH_FLAGS);
    return r;
}

uint64_t x86_alu_inc(unsigned size, uint64_t a, uint64_t *flags)
{
    uint64_t r = (a + 1) & x86_mask(size);

    set_arith(flags, flags_add(size, a & x86_mask(size), 1, r, 0),
              X86_ARITH_FLAGS & ~X86_CF);
    return r;
}

uint64_t x86_alu_dec(unsigned size, uint64_t a, uint64_t *flags)
{
    uint64_t r = (a - 1) & x86_mask(size);

    set_arith(flags, flags_sub(size, a & x86_mask(size), 1, r, 0),
              X86_ARITH_FLAGS & ~X86_CF);
    return r;
}

uint64_t x86_alu_neg(unsigned size, uint64_t a, uint64_t *flags)
{
    uint64_t r = (0 - a) & x86_mask(size);

    set_arith(flags, flags_sub(size, 0, a & x86_mask(size), r, 0),
              X86_ARITH_FLAGS);
    return r;
}

/*
 * MUL/IMUL: CF = OF = the high half carries information. SF, ZF, AF, PF are
 * undefined in the SDM; the reference CPU leaves them unchanged.
 */
static void flags_mul(unsigned size, uint64_t low, bool overflow, uint64_t *flags)
{
    set_arith(flags, overflow ? X86_CF | X86_OF : 0, X86_CF | X86_OF);
}

uint64_t x86_alu_mul(unsigned size, uint64_t a, uint64_t b, uint64_t *high,
                     uint64_t *flags)
{
    uint64_t m = x86_mask(size);
    u128 p = (u128)(a & m) * (b & m);
    uint64_t low, hi;

    if (size == 8) {
        low = (uint64_t)p;
        hi = (uint64_t)(p >> 64);
    } else {
        low = (uint64_t)p & m;
        hi = ((uint64_t)p >> (8 * size)) & m;
    }
    *high = hi;
    flags_mul(size, low, hi != 0, flags);
    return low;
}

uint64_t x86_alu_imul(unsigned size, uint64_t a, uint64_t b, uint64_t *high,
                      uint64_t *flags)
{
    uint64_t m = x86_mask(size);
    s128 p = (s128)(int64_t)x86_sign_extend(a, size) *
             (int64_t)x86_sign_extend(b, size);
    uint64_t low = (uint64_t)p & m, hi;
    bool overflow = p != (s128)(int64_t)x86_sign_extend(low, size);

    if (size == 8)
        hi = (uint64_t)((u128)p >> 64);
    else
        hi = (uint64_t)(p >> (8 * size)) & m;
    *high = hi;
    flags_mul(size, low, overflow, flags);
    return low;
}

/*
 * DIV/IDIV leave every arithmetic flag undefined; the reference CPU sets AF,
 * clears PF, ZF, SF and keeps CF and OF.
 */
static void flags_div(uint64_t *flags)
{
    *flags = (*flags & ~(uint64_t)(X86_PF | X86_ZF | X86_SF)) | X86_AF;
}

bool x86_alu_div(unsigned size, uint64_t high, uint64_t low, uint64_t divisor,
                 uint64_t *quotient, uint64_t *remainder, uint64_t *flags)
{
    uint64_t m = x86_mask(size);
    u128 dividend, q;

    divisor &= m;
    if (divisor == 0)
        return false;
    if (size == 8)
        dividend = ((u128)high << 64) | low;
    else
        dividend = ((u128)(high & m) << (8 * size)) | (low & m);
    q = dividend / divisor;
    if (q > m)
        return false;
    *quotient = (uint64_t)q;
    *remainder = (uint64_t)(dividend % divisor);
    flags_div(flags);
    return true;
}

bool x86_alu_idiv(unsigned size, uint64_t high, uint64_t low, uint64_t divisor,
                  uint64_t *quotient, uint64_t *remainder, uint64_t *flags)
{
    uint64_t m = x86_mask(size);
    s128 dividend, d = (int64_t)x86_sign_extend(divisor, size), q, r;
    s128 max = (s128)(x86_sign_bit(size) - 1), min = -max - 1;

    if (d == 0)
        return false;
    if (size == 8)
        dividend = (s128)(((u128)high << 64) | low);
    else
        dividend = (s128)(int64_t)x86_sign_extend(((high & m) << (8 * size)) |
                                                  (low & m), 2 * size);
    /* -2^127 / -1 overflows even the host's 128-bit division. */
    if (d == -1 && dividend == (s128)((u128)1 << 127))
        return false;
    q = dividend / d;
    r = dividend % d;
    if (q > max || q < min)
        return false;
    *quotient = (uint64_t)q & m;
    *remainder = (uint64_t)r & m;
    flags_div(flags);
    return true;
}

/* Flags of shifts and rotates: see the table in jit/README.md. */
uint64_t x86_alu_shift(enum x86_shift_op op, unsigned size, uint64_t a,
                       unsigned count, uint64_t *flags)
{
    unsigned bits = 8 * size;
    uint64_t m = x86_mask(size), sign = x86_sign_bit(size), r, f = *flags;
    unsigned cf;

    count &= size == 8 ? 63 : 31;
    a &= m;
    if (count == 0)
        return a;
    switch (op) {
    case X86_SHIFT_ROL: {
        unsigned n = count % bits;

        r = n ? ((a << n) | (a >> (bits - n))) & m : a;
        cf = r & 1;
        f = (f & ~(X86_CF | X86_OF)) | cf;
        if ((!!(r & sign)) ^ cf)
            f |= X86_OF;
        break;
    }
    case X86_SHIFT_ROR: {
        unsigned n = count % bits;

        r = n ? ((a >> n) | (a << (bits - n))) & m : a;
        f &= ~(X86_CF | X86_OF);
        if (r & sign)
            f |= X86_CF;
        if (((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1)
            f |= X86_OF;
        break;
    }
    case X86_SHIFT_RCL:
    case X86_SHIFT_RCR: {
        /* Rotate through a (bits + 1)-bit value with CF on top. */
        unsigned n = size <= 2 ? count % (bits + 1) : count;
        u128 v = ((u128)(f & X86_CF) << bits) | a, w = v;
        u128 wm = ((u128)1 << (bits + 1)) - 1;

        if (n) {
            if (op == X86_SHIFT_RCL)
                w = ((v << n) | (v >> (bits + 1 - n))) & wm;
            else
                w = ((v >> n) | (v << (bits + 1 - n))) & wm;
        }
        r = (uint64_t)w & m;
        cf = (unsigned)(w >> bits) & 1;
        f = (f & ~(X86_CF | X86_OF)) | cf;
        if (op == X86_SHIFT_RCL) {
            if ((!!(r & sign)) ^ cf)
                f |= X86_OF;
        } else if (((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1) {
            f |= X86_OF;
        }
        break;
    }
    case X86_SHIFT_SHL:
    case X86_SHIFT_SAL:
        r = count < 64 ? (a << count) & m : 0;
        cf = count <= bits ? (a >> (bits - count)) & 1 : 0;
        f = (f & ~X86_ARITH_FLAGS) | x86_flags_szp(size, r) | cf | X86_AF;
        if ((!!(r & sign)) ^ cf)
            f |= X86_OF;
        break;
    case X86_SHIFT_SHR:
        r = a >> count;
        cf = (a >> (count - 1)) & 1;
        f = (f & ~X86_ARITH_FLAGS) | x86_flags_szp(size, r) | cf | X86_AF;
        if (count == 1 && (a & sign))
            f |= X86_OF;
        break;
    default: { /* X86_SHIFT_SAR */
        int64_t s = (int64_t)x86_sign_extend(a, size);

        r = (uint64_t)(s >> (count < 63 ? count : 63)) & m;
        cf = (uint64_t)(s >> (count - 1 < 63 ? count - 1 : 63)) & 1;
        f = (f & ~X86_ARITH_FLAGS) | x86_flags_szp(size, r) | cf | X86_AF;
        break;
    }
    }
    *flags = f;
    return r;
}

uint64_t x86_alu_shiftd(bool left, unsigned size, uint64_t a, uint64_t b,
                        unsigned count, uint64_t *flags)
{
    unsigned bits = 8 * size;
    uint64_t m = x86_mask(size), sign = x86_sign_bit(size), r, f;
    unsigned cf;

    count &= size == 8 ? 63 : 31;
    a &= m;
    b &= m;
    if (count == 0)
        return a;
    if (size == 2 && count > 16) {
        /*
         * Undefined in the SDM. The reference CPU rotates the source alone
         * by count - 16 (as if the stream were a:b:b for SHLD, b:b:a for
         * SHRD) and clears CF; OF is 0 for SHLD and bit 15 ^ bit 14 for SHRD.
         */
        unsigned n = count - 16;

        r = left ? ((b << n) | (b >> (16 - n))) & m : ((b >> n) | (b << (16 - n))) & m;
        f = (*flags & ~X86_ARITH_FLAGS) | x86_flags_szp(size, r) | X86_AF;
        if (!left && (((r >> 15) ^ (r >> 14)) & 1))
            f |= X86_OF;
        *flags = f;
        return r;
    }
    if (left) {
        /* a:b shifted left; the result is the top half. */
        u128 v = ((u128)a << bits) | b;

        r = (uint64_t)(v >> (bits - count)) & m;
        cf = (unsigned)(v >> (2 * bits - count)) & 1;
    } else {
        /* b:a shifted right; the result is the bottom half. */
        u128 v = ((u128)b << bits) | a;

        r = (uint64_t)(v >> count) & m;
        cf = (unsigned)(v >> (count - 1)) & 1;
    }
    f = (*flags & ~X86_ARITH_FLAGS) | x86_flags_szp(size, r) | cf | X86_AF;
    /*
     * OF: the sign change for count 1; the reference CPU uses the same
     * formula for larger counts, except 16-bit SHLD by 16 where OF = CF.
     */
    if (left && size == 2 && count == 16 ? cf
        : left ? (!!(r & sign)) ^ cf : ((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1)
        f |= X86_OF;
    *flags = f;
    return r;
}

/*
 * BSF/BSR: ZF = source is zero, the rest undefined; the reference CPU clears
 * CF, OF, SF, AF and sets PF from the result.
 */
static void flags_scan(uint64_t a, uint64_t r, uint64_t *flags)
{
    uint64_t f = a ? (x86_flags_szp(1, r) & X86_PF) : X86_ZF | X86_PF;

    set_arith(flags, f, X86_ARITH_FLAGS);
}

bool x86_alu_bsf(unsigned size, uint64_t a, uint64_t *result, uint64_t *flags)
{
    a &= x86_mask(size);
    if (!a) {
        flags_scan(a, 0, flags);
        return false;
    }
    *result = (uint64_t)__builtin_ctzll(a);
    flags_scan(a, *result, flags);
    return true;
}

bool x86_alu_bsr(unsigned size, uint64_t a, uint64_t *result, uint64_t *flags)
{
    a &= x86_mask(size);
    if (!a) {
        flags_scan(a, 0, flags);
        return false;
    }
    *result = 63 - (uint64_t)__builtin_clzll(a);
    flags_scan(a, *result, flags);
    return true;
}

/* TZCNT/LZCNT: CF = source is zero, ZF = result is zero; OF, SF, AF, PF are
 * undefined: the reference CPU clears SF, AF, PF and keeps OF. */
uint64_t x86_alu_tzcnt(unsigned size, uint64_t a, uint64_t *flags)
{
    uint64_t r;

    a &= x86_mask(size);
    r = a ? (uint64_t)__builtin_ctzll(a) : 8 * size;
    set_arith(flags, (a ? 0 : X86_CF) | (r ? 0 : X86_ZF), X86_ARITH_FLAGS & ~X86_OF);
    return r;
}

uint64_t x86_alu_lzcnt(unsigned size, uint64_t a, uint64_t *flags)
{
    uint64_t r;

    a &= x86_mask(size);
    r = a ? (uint64_t)__builtin_clzll(a) - (64 - 8 * size) : 8 * size;
    set_arith(flags, (a ? 0 : X86_CF) | (r ? 0 : X86_ZF), X86_ARITH_FLAGS & ~X86_OF);
    return r;
}

uint64_t x86_alu_popcnt(unsigned size, uint64_t a, uint64_t *flags)
{
    a &= x86_mask(size);
    set_arith(flags, a ? 0 : X86_ZF, X86_ARITH_FLAGS);
    return (uint64_t)__builtin_popcountll(a);
}

/*
 * Decimal adjusts (SDM vol. 2, "DAA", "DAS"): AL +/- 06h when the low digit
 * overflowed, +/- 60h when the high one did. The reference CPU adds or
 * subtracts the combined adjustment in one step: OF (undefined) is that
 * operation's overflow, SF, ZF, PF come from its result.
 *
 * ASCII adjusts ("AAA", "AAS"): AX +/- 106h (AH gets the carry out of AL
 * too), then AL &= 0Fh. The reference CPU sets OF, SF, ZF, PF (undefined)
 * as a 16-bit ADD/SUB of AX and 106h (or of 0 when no adjustment is made)
 * would, from AX before the masking.
 */
uint16_t x86_alu_bcd(enum x86_bcd_op op, uint16_t ax, uint64_t *flags)
{
    uint8_t al = ax & 0xff, adjust = 0;
    bool adjust_low = (al & 0x0f) > 9 || (*flags & X86_AF);
    uint64_t f, adjusted = 0;
    uint16_t r;

    switch (op) {
    case X86_BCD_DAA:
    case X86_BCD_DAS:
        if (adjust_low) {
            adjust = 0x06;
            adjusted = X86_AF;
            /* DAS: the borrow out of AL - 06h sets CF too. */
            if (op == X86_BCD_DAS && al < 6)
                adjusted |= X86_CF;
        }
        if (al > 0x99 || (*flags & X86_CF)) {
            adjust |= 0x60;
            adjusted |= X86_CF;
        }
        if (op == X86_BCD_DAA) {
            r = (uint8_t)(al + adjust);
            f = flags_add(1, al, adjust, r, 0);
        } else {
            r = (uint8_t)(al - adjust);
            f = flags_sub(1, al, adjust, r, 0);
        }
        set_arith(flags, (f & ~(uint64_t)(X86_AF | X86_CF)) | adjusted, X86_ARITH_FLAGS);
        return (ax & 0xff00) | r;
    case X86_BCD_AAA:
    case X86_BCD_AAS:
    default:
        adjusted = adjust_low ? X86_AF | X86_CF : 0;
        if (op == X86_BCD_AAA) {
            r = ax + (adjust_low ? 0x106 : 0);
            f = flags_add(2, ax, adjust_low ? 0x106 : 0, r, 0);
        } else {
            r = ax - (adjust_low ? 0x106 : 0);
            f = flags_sub(2, ax, adjust_low ? 0x106 : 0, r, 0);
        }
        set_arith(flags, (f & ~(uint64_t)(X86_AF | X86_CF)) | adjusted, X86_ARITH_FLAGS);
        return r & 0xff0f;
    }
}

/*
 * AAM (SDM vol. 2, "AAM"): SF, ZF, PF from AL; the reference CPU clears OF,
 * AF, CF (undefined).
 */
bool x86_alu_aam(uint16_t ax, uint8_t base, uint16_t *result, uint64_t *flags)
{
    uint8_t al = ax & 0xff;

    if (base == 0)
        return false;
    *result = (uint16_t)((al / base) << 8 | (al % base));
    set_arith(flags, x86_flags_szp(1, al % base), X86_ARITH_FLAGS);
    return true;
}

/*
 * AAD (SDM vol. 2, "AAD"): AL = AL + AH * base, AH = 0. The reference CPU
 * sets every flag (OF, AF, CF undefined) as the byte ADD AL, (AH * base).
 */
uint16_t x86_alu_aad(uint16_t ax, uint8_t base, uint64_t *flags)
{
    uint8_t al = ax & 0xff, product = (uint8_t)((ax >> 8) * base);
    uint8_t r = al + product;

    set_arith(flags, flags_add(1, al, product, r, 0), X86_ARITH_FLAGS);
    return r;
}
