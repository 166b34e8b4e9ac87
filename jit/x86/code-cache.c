/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The decoded-instruction cache: blocks of decoded instructions looked up by
 * (physical address, mode), invalidated when their bytes are written.
 *
 * Correctness rests on the execution loop, not on block boundaries: each
 * instruction is taken from the current block only while RIP is where the
 * previous one fell through to, the mode is the one the block was decoded
 * in, and nothing set cpu->code_break (a TLB flush, or a store into cached
 * code). Otherwise the next instruction is looked up afresh. A store into
 * the running block thus takes effect from the next instruction on, which
 * is stricter than SDM vol. 3, 11.6 requires.
 *
 * With several vCPUs each has its own cache; the shared owners bitmap says
 * which of them hold blocks per page. A vCPU sets its bit before it decodes
 * a page and clears it on its own thread when its last block there goes, so
 * a store that finds no other bit needs no one told. FIXME: a store still
 * in the host's store buffer while another vCPU sets its bit and decodes
 * the old bytes goes unseen (x86 allows that store-load reordering, and a
 * fence on every store would cost too much); the block lasts until
 * evicted or written again.
 */
#include "jit/x86/code-cache.h"

#include <stdlib.h>
#include <string.h>

#include "jit/x86/ops.h"
#include "jit/x86/system.h"

#define HASH_MASK ((1u << X86_CODE_HASH_BITS) - 1)
#define PAGE_INDEX_MASK ((1u << X86_CODE_PAGE_BITS) - 1)

static unsigned hash_of(uint64_t physical, unsigned mode)
{
    uint64_t h = (physical ^ ((uint64_t)mode << 52)) * 0x9e3779b97f4a7c15ull;

    return (unsigned)(h >> (64 - X86_CODE_HASH_BITS));
}

static unsigned page_bucket(uint64_t physical)
{
    return (unsigned)(physical >> X86_PAGE_SHIFT) & HASH_MASK;
}

static uint64_t page_index(uint64_t physical)
{
    return (physical >> X86_PAGE_SHIFT) & PAGE_INDEX_MASK;
}

/* This vCPU's bit in the machine-wide owners of the page (if shared). */
static void share_page(struct x86_cpu *cpu, uint64_t physical, bool on)
{
    uint64_t bit = 1ull << cpu->code_sharing_index;
    uint64_t *owners;

    if (!cpu->code_sharing)
        return;
    owners = &cpu->code_sharing->owners[page_index(physical)];
    /* Set before the bytes are decoded, so that a vCPU storing to them
     * afterwards sees the bit and tells this one. */
    if (!(__atomic_load_n(owners, __ATOMIC_RELAXED) & bit) == !on)
        return;
    if (on)
        __atomic_fetch_or(owners, bit, __ATOMIC_SEQ_CST);
    else
        __atomic_fetch_and(owners, ~bit, __ATOMIC_RELEASE);
}

static void mark_page(struct x86_cpu *cpu, uint64_t physical, bool on)
{
    struct x86_code_cache *c = cpu->code;
    uint64_t page = page_index(physical);

    if (on) {
        c->code_pages[page >> 3] |= (uint8_t)(1u << (page & 7));
    } else {
        c->code_pages[page >> 3] &= (uint8_t)~(1u << (page & 7));
        share_page(cpu, physical, false);
    }
}

void x86_code_flush(struct x86_cpu *cpu)
{
    struct x86_code_cache *c = cpu->code;

    cpu->block = NULL;
    cpu->code_break = true;
    if (!c || !c->block_count)
        return;
    c->generation++;
    /* Proportional to what was used: the diff tests flush per case. */
    for (unsigned i = 0; i < c->block_count; i++) {
        struct x86_block *b = &c->blocks[i];

        mark_page(cpu, b->physical, false);
        c->hash[hash_of(b->physical, b->mode)] = NULL;
        c->pages[page_bucket(b->physical)] = NULL;
    }
    c->block_count = c->insn_count = 0;
}

void x86_code_free(struct x86_cpu *cpu)
{
    x86_code_flush(cpu);        /* leaves the shared owners */
    free(cpu->code);
    cpu->code = NULL;
    cpu->block = NULL;
}

/* Unlink @b from its lookup chain; it stays in the arena until a flush. */
static void unhash(struct x86_code_cache *c, struct x86_block *b)
{
    struct x86_block **link = &c->hash[hash_of(b->physical, b->mode)];

    while (*link && *link != b)
        link = &(*link)->hash_next;
    if (*link)
        *link = b->hash_next;
    b->valid = false;
}

void x86_code_written(struct x86_cpu *cpu, uint64_t physical, uint64_t length)
{
    struct x86_code_cache *c = cpu->code;
    struct x86_block **link = &c->pages[page_bucket(physical)];
    uint64_t page = physical >> X86_PAGE_SHIFT, end = physical + length;
    bool page_still_code = false;

    while (*link) {
        struct x86_block *b = *link;

        if ((b->physical >> X86_PAGE_SHIFT) == page &&
            b->physical < end && physical < b->end) {
            if (b == cpu->block)
                cpu->code_break = true;
            unhash(c, b);
            *link = b->page_next;
            continue;
        }
        if (page_index(b->physical) == page_index(physical))
            page_still_code = true;
        link = &b->page_next;
    }
    if (!page_still_code)
        mark_page(cpu, physical, false);
}

void x86_code_written_shared(struct x86_cpu *cpu, uint64_t physical,
                             uint64_t length)
{
    struct x86_code_sharing *s = cpu->code_sharing;
    uint64_t cpus = __atomic_load_n(&s->owners[page_index(physical)], __ATOMIC_ACQUIRE) &
                    ~(1ull << cpu->code_sharing_index);

    if (cpus && s->written)
        s->written(s->opaque, cpus, physical, length);
}

struct x86_code_sharing *x86_code_sharing_new(
    void (*written)(void *opaque, uint64_t cpus, uint64_t physical, uint64_t length),
    void *opaque)
{
    struct x86_code_sharing *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    /* 8 MiB of address space; calloc maps zero pages, touched as code runs. */
    s->owners = calloc(1u << X86_CODE_PAGE_BITS, sizeof(*s->owners));
    if (!s->owners) {
        free(s);
        return NULL;
    }
    s->written = written;
    s->opaque = opaque;
    return s;
}

void x86_code_sharing_free(struct x86_code_sharing *sharing)
{
    if (!sharing)
        return;
    free(sharing->owners);
    free(sharing);
}

void x86_code_invalidate_range(struct x86_cpu *cpu, uint64_t physical,
                               uint64_t length)
{
    uint64_t end = physical + length;

    if (!cpu->code || !length || end < physical)
        return;
    while (physical < end) {
        uint64_t page_end = (physical & X86_PAGE_MASK) + X86_PAGE_SIZE;
        uint64_t chunk_end = page_end < end && page_end ? page_end : end;

        if (x86_code_page_marked(cpu->code, physical))
            x86_code_written(cpu, physical, chunk_end - physical);
        if (!page_end)
            break;
        physical = chunk_end;
    }
}

/* Control transfers end a block (a heuristic: the loop checks RIP anyway). */
static bool ends_block(const struct x86_insn *insn)
{
    if (insn->map == X86_MAP_0F)
        return (insn->opcode >= 0x80 && insn->opcode <= 0x8f) ||
               insn->opcode == 0x05 || insn->opcode == 0x07 ||
               insn->opcode == 0x34 || insn->opcode == 0x35 ||
               insn->opcode == 0x0b || insn->opcode == 0x01;
    if (insn->map != X86_MAP_ONE)
        return false;
    switch (insn->opcode) {
    case 0x70 ... 0x7f: case 0x9a: case 0xc2: case 0xc3: case 0xca: case 0xcb:
    case 0xcc ... 0xcf: case 0xe0 ... 0xe3: case 0xe8 ... 0xeb: case 0xf4:
        return true;
    case 0xff:
        return insn->reg >= 2 && insn->reg <= 5;
    default:
        return false;
    }
}

/* Decode up to a branch, the page end or X86_BLOCK_MAX_INSNS. */
static struct x86_block *build_block(struct x86_cpu *cpu, const uint8_t *host,
                                     uint64_t physical)
{
    struct x86_code_cache *c = cpu->code;
    unsigned offset = physical & ~X86_PAGE_MASK, start = offset;
    struct x86_block *b;

    if (c->block_count == X86_CODE_BLOCKS ||
        c->insn_count + X86_BLOCK_MAX_INSNS > X86_CODE_INSNS)
        x86_code_flush(cpu);
    share_page(cpu, physical, true);
    b = &c->blocks[c->block_count];
    b->insns = &c->insns[c->insn_count];
    b->count = 0;
    while (b->count < X86_BLOCK_MAX_INSNS) {
        struct x86_insn *insn = &b->insns[b->count];
        unsigned available = X86_PAGE_SIZE - offset;

        if (available > X86_MAX_INSN_LENGTH)
            available = X86_MAX_INSN_LENGTH;
        if (x86_decode(insn, host + (offset - start), available, cpu->mode) !=
            X86_DECODE_OK)
            break;
        b->count++;
        offset += insn->length;
        if (ends_block(insn) || offset >= X86_PAGE_SIZE)
            break;
    }
    if (!b->count) {
        if (!x86_code_page_marked(c, physical))
            share_page(cpu, physical, false);
        return NULL;
    }
    b->physical = physical;
    b->end = physical + (offset - start);
    b->mode = (uint8_t)cpu->mode;
    b->valid = true;
    b->hash_next = c->hash[hash_of(physical, b->mode)];
    c->hash[hash_of(physical, b->mode)] = b;
    b->page_next = c->pages[page_bucket(physical)];
    c->pages[page_bucket(physical)] = b;
    mark_page(cpu, physical, true);
    c->block_count++;
    c->insn_count += b->count;
    return b;
}

/* Fetch and decode one instruction the slow way (the bytes may span pages). */
static const struct x86_insn *decode_uncached(struct x86_cpu *cpu, uint64_t linear,
                                              struct x86_insn *insn)
{
    uint8_t bytes[X86_MAX_INSN_LENGTH];
    unsigned available = X86_PAGE_SIZE - (linear & ~X86_PAGE_MASK);
    enum x86_decode_result result;

    if (available > X86_MAX_INSN_LENGTH)
        available = X86_MAX_INSN_LENGTH;
    x86_linear_fetch(cpu, linear, bytes, available);
    result = x86_decode(insn, bytes, available, cpu->mode);
    if (result == X86_DECODE_MORE) {
        uint64_t next = linear + available;

        if (!(cpu->efer & X86_EFER_LMA))
            next = (uint32_t)next;
        x86_linear_fetch(cpu, next, bytes + available,
                         X86_MAX_INSN_LENGTH - available);
        result = x86_decode(insn, bytes, X86_MAX_INSN_LENGTH, cpu->mode);
    }
    if (result == X86_DECODE_GP)
        x86_raise_error(cpu, X86_EXC_GP, 0);
    if (result == X86_DECODE_UD)
        x86_raise(cpu, X86_EXC_UD);
    return insn;
}

const struct x86_insn *x86_code_fetch(struct x86_cpu *cpu, uint64_t linear,
                                      struct x86_insn *scratch)
{
    const struct x86_block *b = cpu->block;
    struct x86_code_cache *c;
    struct x86_code_jump *jump;
    uint64_t physical, key;
    const uint8_t *host;

    if (b && !cpu->code_break && linear == cpu->block_linear &&
        cpu->block_next < b->count && b->mode == cpu->mode)
        return &b->insns[cpu->block_next++];

    b = cpu->block = NULL;
    cpu->code_break = false;
    if (!cpu->code) {
        cpu->code = calloc(1, sizeof(*cpu->code));
        if (!cpu->code)
            return decode_uncached(cpu, linear, scratch);
        cpu->code->generation = 1;  /* the zeroed jump entries are stale */
    }
    c = cpu->code;
    /* The jump cache skips the TLB and hash: same linear page, same
     * translation and privilege as when the entry was made. */
    key = linear | (x86_cpl(cpu) == 3);
    jump = &c->jump[(linear ^ (linear >> X86_CODE_JUMP_BITS)) &
                    ((1u << X86_CODE_JUMP_BITS) - 1)];
    if (jump->linear == key && jump->generation == c->generation &&
        jump->block->valid && jump->block->mode == cpu->mode) {
        b = jump->block;
        goto found;
    }
    host = x86_fetch_host(cpu, linear, &physical);
    if (!host)
        return decode_uncached(cpu, linear, scratch);
    for (struct x86_block *h = c->hash[hash_of(physical, cpu->mode)]; h;
         h = h->hash_next) {
        if (h->physical == physical && h->mode == cpu->mode) {
            b = h;
            break;
        }
    }
    if (!b) {
        b = build_block(cpu, host, physical);
        cpu->code_break = false;    /* a full cache was flushed: not a break */
    }
    if (!b)
        return decode_uncached(cpu, linear, scratch);
    jump->linear = key;
    jump->block = (struct x86_block *)b;
    jump->generation = c->generation;
found:
    cpu->block = b;
    cpu->block_next = 1;
    return &b->insns[0];
}
