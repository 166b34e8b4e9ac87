/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Decoded-instruction cache: blocks of struct x86_insn keyed by the guest
 * physical address of their first byte and the decoding mode, dropped when
 * guest code is written (Intel SDM vol. 3, 11.6 "Self-modifying code").
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "jit/x86/cpu.h"
#include "jit/x86/decode.h"

/* A block stops after this many instructions, at a branch or at a page end. */
#define X86_BLOCK_MAX_INSNS 32
#define X86_CODE_HASH_BITS 12
#define X86_CODE_BLOCKS 8192
#define X86_CODE_INSNS (X86_CODE_BLOCKS * 8)
/* One "may hold code" bit per 4 KiB page; pages above 4 GiB alias. */
#define X86_CODE_PAGE_BITS 20

struct x86_block {
    uint64_t physical;          /* first byte */
    uint64_t end;               /* one past the last byte; same page */
    struct x86_block *hash_next, *page_next;
    struct x86_insn *insns;
    uint16_t count;
    uint8_t mode;               /* enum x86_mode the bytes were decoded in */
    bool valid;
};

/* Recently entered blocks by linear address, valid for one TLB generation. */
#define X86_CODE_JUMP_BITS 10
struct x86_code_jump {
    uint64_t linear;            /* | 1 for a user-mode (CPL 3) fetch */
    struct x86_block *block;
    uint64_t generation;
};

struct x86_code_cache {
    /* Bumped by TLB flushes and cache flushes: jump entries go stale. */
    uint64_t generation;
    struct x86_code_jump jump[1u << X86_CODE_JUMP_BITS];
    struct x86_block *hash[1u << X86_CODE_HASH_BITS];   /* by (physical, mode) */
    struct x86_block *pages[1u << X86_CODE_HASH_BITS];  /* by physical page */
    unsigned block_count, insn_count;
    struct x86_block blocks[X86_CODE_BLOCKS];
    struct x86_insn insns[X86_CODE_INSNS];
    uint8_t code_pages[1u << (X86_CODE_PAGE_BITS - 3)];
};

/*
 * Decoded code of several vCPUs on one memory (cpu->code_sharing, set up by
 * the accelerator): which vCPUs hold blocks per physical page, and how to
 * tell them that another vCPU stored there. They drop the blocks before
 * they next look one up (SDM vol. 3, 8.1.3: the executing processor needs
 * a serializing instruction anyway, and must not run stale code after it).
 */
struct x86_code_sharing {
    /* Per page, aliased like code_pages: bit i set while vCPU i
     * (cpu->code_sharing_index) may hold blocks decoded from it. */
    uint64_t *owners;
    /*
     * Called on the storing vCPU's thread after its store to
     * [@physical, @physical + @length) (one page) landed in memory: queue
     * x86_code_invalidate_range for the vCPUs in @cpus and wake them.
     */
    void (*written)(void *opaque, uint64_t cpus, uint64_t physical,
                    uint64_t length);
    void *opaque;
};

/* Shared state for up to 64 vCPUs; NULL if out of memory. */
struct x86_code_sharing *x86_code_sharing_new(
    void (*written)(void *opaque, uint64_t cpus, uint64_t physical, uint64_t length),
    void *opaque);
void x86_code_sharing_free(struct x86_code_sharing *sharing);

/*
 * The decoded instruction at @linear (CS base + RIP): from the current
 * block, from the cache, or decoded now (into @scratch when the bytes are
 * not cacheable: device memory, an instruction crossing a page). May raise
 * #PF, #GP or #UD like the fetch and decode it replaces.
 */
const struct x86_insn *x86_code_fetch(struct x86_cpu *cpu, uint64_t linear,
                                      struct x86_insn *scratch);

/* Release the cache (x86_cpu_destroy). */
void x86_code_free(struct x86_cpu *cpu);

/* Slow half of x86_code_note_write: a store hit a page that holds code. */
void x86_code_written(struct x86_cpu *cpu, uint64_t physical, uint64_t length);

static inline bool x86_code_page_marked(const struct x86_code_cache *c,
                                        uint64_t physical)
{
    uint64_t page = (physical >> X86_PAGE_SHIFT) & ((1u << X86_CODE_PAGE_BITS) - 1);

    return c->code_pages[page >> 3] & (1u << (page & 7));
}

/* Slow half for the other vCPUs: tell those holding code in the page. */
void x86_code_written_shared(struct x86_cpu *cpu, uint64_t physical,
                             uint64_t length);

static inline bool x86_code_page_shared(const struct x86_cpu *cpu,
                                        uint64_t physical)
{
    uint64_t page = (physical >> X86_PAGE_SHIFT) & ((1u << X86_CODE_PAGE_BITS) - 1);

    return __atomic_load_n(&cpu->code_sharing->owners[page], __ATOMIC_RELAXED) &
           ~(1ull << cpu->code_sharing_index);
}

/*
 * Every CPU store to guest physical memory passes here (same page), after
 * the bytes are in memory: another vCPU decoding them after it is told
 * reads the new bytes.
 */
static inline void x86_code_note_write(struct x86_cpu *cpu, uint64_t physical,
                                       unsigned size)
{
    if (cpu->code && x86_code_page_marked(cpu->code, physical))
        x86_code_written(cpu, physical, size);
    if (cpu->code_sharing && x86_code_page_shared(cpu, physical))
        x86_code_written_shared(cpu, physical, size);
}
