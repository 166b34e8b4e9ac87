/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The memory access path: effective address -> linear (segmentation) ->
 * soft TLB -> guest physical memory map; plus the stack and branch helpers
 * every handler shares (Intel SDM vol. 3, 3.3-3.4 and 4.10; vol. 1, 6.2).
 */
#include "jit/x86/cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/memory.h"
#include "jit/x86/code-cache.h"
#include "jit/x86/ops.h"
#include "jit/x86/system.h"

_Noreturn void x86_raise_error(struct x86_cpu *cpu, unsigned vector,
                               uint32_t error_code)
{
    cpu->exception_vector = vector;
    cpu->exception_has_error = true;
    cpu->exception_error = error_code;
    if (!cpu->fault_armed) {
        fprintf(stderr, "x86: exception %u outside the execution loop\n", vector);
        abort();
    }
    siglongjmp(cpu->fault, 1);
}

_Noreturn void x86_raise(struct x86_cpu *cpu, unsigned vector)
{
    x86_raise_error(cpu, vector, 0);
}

_Noreturn void x86_abort_instruction(struct x86_cpu *cpu)
{
    cpu->instruction_aborted = true;
    siglongjmp(cpu->fault, 1);
}

unsigned x86_cpl(const struct x86_cpu *cpu)
{
    if (cpu->mode == X86_MODE_REAL)
        return 0;
    if (cpu->rflags & X86_VM)
        return 3;
    return cpu->seg[X86_CS].selector & 3;
}

/*
 * Host loads and stores of 1, 2, 4 or 8 bytes with fixed-size moves: a
 * variable-size memcpy into a wider variable stalls store forwarding.
 * On x86 hosts each is one host access, in program order (volatile), so
 * another vCPU never sees a torn aligned store (SDM vol. 3, 8.1.1) and
 * plain accesses keep the host's TSO ordering (8.2.2).
 */
#if defined(__x86_64__) || defined(__i386__)
typedef uint16_t __attribute__((aligned(1), may_alias)) host_u16;
typedef uint32_t __attribute__((aligned(1), may_alias)) host_u32;
typedef uint64_t __attribute__((aligned(1), may_alias)) host_u64;

static inline uint64_t host_load(const uint8_t *host, unsigned size)
{
    uint64_t v64 = 0;

    switch (size) {
    case 1: return *(const volatile uint8_t *)host;
    case 2: return *(const volatile host_u16 *)host;
    case 4: return *(const volatile host_u32 *)host;
    case 8: return *(const volatile host_u64 *)host;
    default: memcpy(&v64, host, size); return v64;
    }
}

static inline void host_store(uint8_t *host, unsigned size, uint64_t value)
{
    switch (size) {
    case 1: *(volatile uint8_t *)host = (uint8_t)value; break;
    case 2: *(volatile host_u16 *)host = (uint16_t)value; break;
    case 4: *(volatile host_u32 *)host = (uint32_t)value; break;
    case 8: *(volatile host_u64 *)host = value; break;
    default: memcpy(host, &value, size); break;
    }
}
#else
/* FIXME: other hosts may tear these (and order them weaker than x86). */
static inline uint64_t host_load(const uint8_t *host, unsigned size)
{
    uint16_t v16;
    uint32_t v32;
    uint64_t v64 = 0;

    switch (size) {
    case 1: return *host;
    case 2: memcpy(&v16, host, 2); return v16;
    case 4: memcpy(&v32, host, 4); return v32;
    case 8: memcpy(&v64, host, 8); return v64;
    default: memcpy(&v64, host, size); return v64;
    }
}

static inline void host_store(uint8_t *host, unsigned size, uint64_t value)
{
    uint16_t v16 = (uint16_t)value;
    uint32_t v32 = (uint32_t)value;

    switch (size) {
    case 1: *host = (uint8_t)value; break;
    case 2: memcpy(host, &v16, 2); break;
    case 4: memcpy(host, &v32, 4); break;
    case 8: memcpy(host, &value, 8); break;
    default: memcpy(host, &value, size); break;
    }
}
#endif

/* Physical accesses (page walks): RAM directly, anything else dispatched. */
uint64_t x86_physical_read(struct x86_cpu *cpu, uint64_t physical, unsigned size)
{
    uint8_t *host = memory_map_host_pointer(cpu->memory, physical, size);
    uint64_t value = 0;

    if (host)
        return host_load(host, size);
    memory_map_dispatch_read(cpu->memory, physical, size, &value);
    return value & x86_mask(size);
}

void x86_physical_write(struct x86_cpu *cpu, uint64_t physical, unsigned size,
                        uint64_t value)
{
    const struct memory_region *r = memory_map_lookup(cpu->memory, physical);
    uint8_t *host = r && r->kind == MEMORY_REGION_RAM
                  ? memory_map_host_pointer(cpu->memory, physical, size) : NULL;

    if (host)
        host_store(host, size, value);
    else
        memory_map_dispatch_write(cpu->memory, physical, size, value & x86_mask(size));
    x86_code_note_write(cpu, physical, size);
}

/*
 * Locked compare-and-exchange of an entry in physical memory, for the page
 * walk's accessed/dirty updates (SDM vol. 3, 8.1.2.1): false when it no
 * longer holds @old. Device memory is read, compared and written.
 */
bool x86_physical_cmpxchg(struct x86_cpu *cpu, uint64_t physical, unsigned size,
                          uint64_t old, uint64_t value)
{
    const struct memory_region *r = memory_map_lookup(cpu->memory, physical);
    uint8_t *host = r && r->kind == MEMORY_REGION_RAM
                  ? memory_map_host_pointer(cpu->memory, physical, size) : NULL;
    uint32_t old32 = (uint32_t)old;
    bool swapped;

    if (!host || (size != 4 && size != 8) || ((uintptr_t)host & (size - 1))) {
        if (x86_physical_read(cpu, physical, size) != (old & x86_mask(size)))
            return false;
        x86_physical_write(cpu, physical, size, value);
        return true;
    }
    if (size == 4)
        swapped = __atomic_compare_exchange_n((uint32_t *)(void *)host, &old32,
                                              (uint32_t)value, false,
                                              __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
    else
        swapped = __atomic_compare_exchange_n((uint64_t *)(void *)host, &old, value,
                                              false, __ATOMIC_SEQ_CST,
                                              __ATOMIC_RELAXED);
    if (swapped)
        x86_code_note_write(cpu, physical, size);
    return swapped;
}

uint64_t x86_effective_address(const struct x86_cpu *cpu,
                               const struct x86_insn *insn)
{
    uint64_t ea = (uint64_t)insn->disp;

    if (insn->base == X86_REG_RIP)
        ea += cpu->next_rip;
    else if (insn->base != X86_REG_NONE)
        ea += cpu->gpr[insn->base];
    if (insn->index != X86_REG_NONE)
        ea += cpu->gpr[insn->index] * insn->scale;
    return ea & x86_mask(insn->addrsize);
}

bool x86_canonical(uint64_t linear)
{
    return (uint64_t)((int64_t)(linear << 16) >> 16) == linear;
}

static _Noreturn void segment_fault(struct x86_cpu *cpu, unsigned seg)
{
    x86_raise_error(cpu, seg == X86_SS ? X86_EXC_SS : X86_EXC_GP, 0);
}

/*
 * Segment base plus offset, with the checks of SDM vol. 3, 5.3 (limits,
 * expand-down) and 5.4.1 (types: no writes to code or read-only data, no
 * reads of execute-only code), which real mode skips except for limits.
 * 64-bit mode uses only the FS and GS bases and checks canonical form (#SS
 * for the stack, else #GP, SDM vol. 3, 3.3.7.1).
 */
static uint64_t linear_address(struct x86_cpu *cpu, unsigned seg, uint64_t offset,
                               unsigned size, bool write)
{
    const struct x86_segment_cache *s = &cpu->seg[seg];
    uint64_t last = offset + size - 1;
    unsigned type = s->flags & X86_SEGF_TYPE;

    if (x86_long64(cpu)) {
        uint64_t linear = offset;

        if (seg == X86_FS || seg == X86_GS)
            linear += s->base;
        if (!x86_canonical(linear) || !x86_canonical(linear + size - 1))
            segment_fault(cpu, seg);
        return linear;
    }
    if (cpu->mode != X86_MODE_REAL && !(cpu->rflags & X86_VM)) {
        if (s->flags & X86_SEGF_UNUSABLE)
            segment_fault(cpu, seg);
        if (type & 8) {                     /* code */
            if (write || !(type & 2))
                segment_fault(cpu, seg);
        } else if (write && !(type & 2)) {
            segment_fault(cpu, seg);
        }
    }
    if ((type & 0xc) == 0x4 && (s->flags & X86_SEGF_S)) {  /* expand-down data */
        uint64_t upper = (s->flags & X86_SEGF_DB) ? 0xffffffffull : 0xffff;

        if (offset <= s->limit || last > upper)
            segment_fault(cpu, seg);
    } else if (last > s->limit || last < offset) {
        segment_fault(cpu, seg);
    }
    return (uint32_t)(s->base + offset);
}

void x86_tlb_flush(struct x86_cpu *cpu)
{
    cpu->code_break = true;     /* the running block's page may move */
    if (cpu->code)
        cpu->code->generation++;
    memset(cpu->tlb, 0xff, sizeof(cpu->tlb));
    cpu->tlb_has_large = false;
}

void x86_tlb_flush_page(struct x86_cpu *cpu, uint64_t linear)
{
    struct x86_tlb_entry *e = &cpu->tlb[(linear >> X86_PAGE_SHIFT) & (X86_TLB_SIZE - 1)];

    if (cpu->tlb_has_large) {
        x86_tlb_flush(cpu);
        return;
    }
    cpu->code_break = true;
    if (cpu->code)
        cpu->code->generation++;
    e->tag_read = e->tag_write = e->tag_exec = ~0ull;
}

/* Whether accesses now are user-mode accesses for paging (SDM vol. 3, 4.6). */
static bool user_access(const struct x86_cpu *cpu)
{
    return !cpu->implicit_supervisor && x86_cpl(cpu) == 3;
}

/* Refill the TLB entry of @linear's page for @access. */
static struct x86_tlb_entry *tlb_fill(struct x86_cpu *cpu, uint64_t linear,
                                      enum x86_access access, uint64_t tag)
{
    uint64_t page = linear & X86_PAGE_MASK;
    struct x86_tlb_entry *e = &cpu->tlb[(linear >> X86_PAGE_SHIFT) & (X86_TLB_SIZE - 1)];
    uint64_t physical = x86_translate(cpu, linear, access, tag & X86_TLB_USER) &
                        X86_PAGE_MASK;
    const struct memory_region *r = memory_map_lookup(cpu->memory, physical);

    if ((e->tag_read | X86_TLB_USER) != (tag | X86_TLB_USER) &&
        (e->tag_write | X86_TLB_USER) != (tag | X86_TLB_USER) &&
        (e->tag_exec | X86_TLB_USER) != (tag | X86_TLB_USER))
        e->tag_read = e->tag_write = e->tag_exec = ~0ull;
    if (e->physical != physical)
        e->tag_read = e->tag_write = e->tag_exec = ~0ull;
    e->physical = physical;
    e->direct = false;
    if (r && r->kind != MEMORY_REGION_IO && physical >= r->base &&
        physical + X86_PAGE_SIZE <= r->base + r->size) {
        e->addend = (uintptr_t)(r->host + (physical - r->base)) - (uintptr_t)page;
        /* ROM pages take writes through the dispatch path, which drops them. */
        e->direct = !(r->kind == MEMORY_REGION_ROM && access == X86_ACCESS_WRITE);
    }
    switch (access) {
    case X86_ACCESS_READ: e->tag_read = tag; break;
    case X86_ACCESS_WRITE: e->tag_write = tag; break;
    case X86_ACCESS_EXEC: e->tag_exec = tag; break;
    }
    if (!e->direct)
        e->tag_read = e->tag_write = e->tag_exec = ~0ull;
    /* Data breakpoints: their pages are never cached, tlb_access checks them. */
    if (__builtin_expect(cpu->debug.data, 0) && x86_debug_watches_page(cpu, page))
        e->tag_read = e->tag_write = ~0ull;
    return e;
}

/*
 * Host pointer for a same-page access, or NULL when it must be dispatched.
 * A user-mode access looks for a user tag; supervisor accesses also use
 * entries filled by user accesses (user pages are open to the supervisor
 * for reads; writes were checked for the stricter user case).
 */
static inline uint8_t *tlb_access(struct x86_cpu *cpu, uint64_t linear,
                                  enum x86_access access, uint64_t *physical,
                                  unsigned size)
{
    uint64_t page = linear & X86_PAGE_MASK;
    struct x86_tlb_entry *e = &cpu->tlb[(linear >> X86_PAGE_SHIFT) & (X86_TLB_SIZE - 1)];
    uint64_t tag = access == X86_ACCESS_READ ? e->tag_read :
                   access == X86_ACCESS_WRITE ? e->tag_write : e->tag_exec;
    bool user = user_access(cpu);

    if (tag != (page | user) && (user || tag != (page | X86_TLB_USER) ||
                                 (cpu->cr4 & (1ull << 20 | 1ull << 21)))) {
        e = tlb_fill(cpu, linear, access, page | user);
        /* A data access of @size bytes (0: none) that missed: breakpoints. */
        if (size && __builtin_expect(cpu->debug.data, 0))
            x86_debug_access(cpu, linear, size, access == X86_ACCESS_WRITE);
    }
    *physical = e->physical + (linear & ~X86_PAGE_MASK);
    return e->direct ? (uint8_t *)(uintptr_t)(linear + e->addend) : NULL;
}

static uint8_t *tlb_host(struct x86_cpu *cpu, uint64_t linear, enum x86_access access,
                         uint64_t *physical)
{
    return tlb_access(cpu, linear, access, physical, 0);
}

static uint64_t read_in_page(struct x86_cpu *cpu, uint64_t linear, unsigned size)
{
    uint64_t physical, value = 0;
    uint8_t *host = tlb_access(cpu, linear, X86_ACCESS_READ, &physical, size);

    if (host)
        return host_load(host, size);
    memory_map_dispatch_read(cpu->memory, physical, size, &value);
    return value & x86_mask(size);
}

static void write_in_page(struct x86_cpu *cpu, uint64_t linear, unsigned size,
                          uint64_t value)
{
    uint64_t physical;
    uint8_t *host = tlb_access(cpu, linear, X86_ACCESS_WRITE, &physical, size);

    if (host)
        host_store(host, size, value);
    else
        memory_map_dispatch_write(cpu->memory, physical, size, value & x86_mask(size));
    x86_code_note_write(cpu, physical, size);
}

static bool crosses_page(uint64_t linear, unsigned size)
{
    return ((linear & ~X86_PAGE_MASK) + size) > X86_PAGE_SIZE;
}

/* Outside 64-bit mode linear addresses are 32 bits and wrap. */
static uint64_t wrap_linear(const struct x86_cpu *cpu, uint64_t linear)
{
    return (cpu->efer & X86_EFER_LMA) ? linear : (uint32_t)linear;
}

uint64_t x86_linear_read(struct x86_cpu *cpu, uint64_t linear, unsigned size)
{
    uint64_t value = 0;

    if (!crosses_page(linear, size))
        return read_in_page(cpu, linear, size);
    for (unsigned i = 0; i < size; i++)
        value |= read_in_page(cpu, wrap_linear(cpu, linear + i), 1) << (8 * i);
    return value;
}

/* A page-crossing write checks both pages before writing either. */
void x86_linear_write(struct x86_cpu *cpu, uint64_t linear, unsigned size,
                      uint64_t value)
{
    uint64_t physical;

    if (!crosses_page(linear, size)) {
        write_in_page(cpu, linear, size, value);
        return;
    }
    tlb_host(cpu, linear, X86_ACCESS_WRITE, &physical);
    tlb_host(cpu, wrap_linear(cpu, linear + size - 1), X86_ACCESS_WRITE, &physical);
    for (unsigned i = 0; i < size; i++)
        write_in_page(cpu, wrap_linear(cpu, linear + i), 1, value >> (8 * i));
}

uint64_t x86_system_read(struct x86_cpu *cpu, uint64_t linear, unsigned size)
{
    bool saved = cpu->implicit_supervisor;
    uint64_t value;

    cpu->implicit_supervisor = true;
    value = x86_linear_read(cpu, linear, size);
    cpu->implicit_supervisor = saved;
    return value;
}

void x86_system_write(struct x86_cpu *cpu, uint64_t linear, unsigned size,
                      uint64_t value)
{
    bool saved = cpu->implicit_supervisor;

    cpu->implicit_supervisor = true;
    x86_linear_write(cpu, linear, size, value);
    cpu->implicit_supervisor = saved;
}

uint8_t *x86_fetch_host(struct x86_cpu *cpu, uint64_t linear, uint64_t *physical)
{
    return tlb_host(cpu, linear, X86_ACCESS_EXEC, physical);
}

void x86_linear_fetch(struct x86_cpu *cpu, uint64_t linear, uint8_t *buffer,
                      unsigned size)
{
    while (size) {
        unsigned chunk = X86_PAGE_SIZE - (linear & ~X86_PAGE_MASK);
        uint64_t physical;
        uint8_t *host;

        if (chunk > size)
            chunk = size;
        host = tlb_host(cpu, linear, X86_ACCESS_EXEC, &physical);
        if (host) {
            memcpy(buffer, host, chunk);
        } else {
            for (unsigned i = 0; i < chunk; i++) {
                uint64_t v = 0xff;

                memory_map_dispatch_read(cpu->memory, physical + i, 1, &v);
                buffer[i] = (uint8_t)v;
            }
        }
        buffer += chunk;
        linear = wrap_linear(cpu, linear + chunk);
        size -= chunk;
    }
}

uint64_t x86_mem_read(struct x86_cpu *cpu, unsigned seg, uint64_t offset,
                      unsigned size)
{
    return x86_linear_read(cpu, linear_address(cpu, seg, offset, size, false), size);
}

void x86_mem_write(struct x86_cpu *cpu, unsigned seg, uint64_t offset,
                   unsigned size, uint64_t value)
{
    x86_linear_write(cpu, linear_address(cpu, seg, offset, size, true), size, value);
}

/*
 * Locked read-modify-write (SDM vol. 3, 8.1.2). In RAM within one page the
 * write is one host compare-and-swap against what was read: naturally
 * aligned operands directly, others within an aligned 8-byte word on that
 * word, CMPXCHG16B's 16 bytes with the host's CMPXCHG16B. Anything else
 * (split across pages or words, device memory) is rare and takes a global
 * lock: atomic against other such operations, not against plain stores.
 */
static int split_lock;

static void split_lock_take(void)
{
    while (__atomic_exchange_n(&split_lock, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&split_lock, __ATOMIC_RELAXED)) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
    }
}

static void split_lock_release(void)
{
    __atomic_store_n(&split_lock, 0, __ATOMIC_RELEASE);
}

/* Pick the host word of one compare-and-swap for @l's operand at @host. */
static bool cas_setup(struct x86_locked *l, uint8_t *host)
{
    uintptr_t misalign = (uintptr_t)host & 7;

    l->shift = 0;
    if (l->size <= 8 && !((uintptr_t)host & (l->size - 1))) {
        l->cas = host;
        l->cas_size = l->size;
    } else if (l->size < 8 && misalign + l->size <= 8) {
        l->cas = host - misalign;
        l->cas_size = 8;
        l->shift = 8 * (unsigned)misalign;
#if defined(__x86_64__)
    } else if (l->size == 16 && !((uintptr_t)host & 15)) {
        l->cas = host;
        l->cas_size = 16;
#endif
    } else {
        return false;
    }
    return true;
}

#if defined(__x86_64__)
struct host_pair { uint64_t q[2]; };

static bool host_cas16(uint8_t *host, const uint64_t old[2], const uint64_t value[2])
{
    uint64_t low = old[0], high = old[1];
    bool equal;

    __asm__ volatile("lock cmpxchg16b %1"
                     : "=@ccz"(equal), "+m"(*(struct host_pair *)host),
                       "+a"(low), "+d"(high)
                     : "b"(value[0]), "c"(value[1])
                     : "memory");
    return equal;
}
#endif

static bool host_cas(struct x86_locked *l, const uint64_t value[2])
{
    uint64_t mask = x86_mask(l->size) << l->shift;
    uint64_t word = (l->container[0] & ~mask) | ((value[0] << l->shift) & mask);
    uint8_t old8 = (uint8_t)l->container[0];
    uint16_t old16 = (uint16_t)l->container[0];
    uint32_t old32 = (uint32_t)l->container[0];
    uint64_t old64 = l->container[0];

    switch (l->cas_size) {
    case 1:
        return __atomic_compare_exchange_n(l->cas, &old8, (uint8_t)word, false,
                                           __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
    case 2:
        return __atomic_compare_exchange_n((uint16_t *)(void *)l->cas, &old16,
                                           (uint16_t)word, false,
                                           __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
    case 4:
        return __atomic_compare_exchange_n((uint32_t *)(void *)l->cas, &old32,
                                           (uint32_t)word, false,
                                           __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
    case 8:
        return __atomic_compare_exchange_n((uint64_t *)(void *)l->cas, &old64, word,
                                           false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
#if defined(__x86_64__)
    case 16:
        return host_cas16(l->cas, l->container, value);
#endif
    default:
        return false;
    }
}

/* The operand through physical addresses (no faults: translated before). */
static void locked_physical(struct x86_cpu *cpu, const struct x86_locked *l,
                            uint64_t value[2], bool write)
{
    if (!write)
        value[0] = value[1] = 0;
    if (l->first == l->size) {
        for (unsigned i = 0; i < l->size; i += 8) {
            unsigned n = l->size - i < 8 ? l->size - i : 8;

            if (write)
                x86_physical_write(cpu, l->physical[0] + i, n, value[i / 8]);
            else
                value[i / 8] = x86_physical_read(cpu, l->physical[0] + i, n);
        }
        return;
    }
    for (unsigned i = 0; i < l->size; i++) {
        uint64_t p = i < l->first ? l->physical[0] + i
                                  : l->physical[1] + (i - l->first);

        if (write)
            x86_physical_write(cpu, p, 1, value[i / 8] >> (8 * (i % 8)));
        else
            value[i / 8] |= x86_physical_read(cpu, p, 1) << (8 * (i % 8));
    }
}

uint64_t x86_locked_read(struct x86_cpu *cpu, unsigned seg, uint64_t offset,
                         unsigned size, struct x86_locked *l)
{
    uint64_t linear = linear_address(cpu, seg, offset, size, true);
    uint64_t second = linear, physical;
    uint8_t *host, *host2;

    l->size = size;
    l->first = size;
    l->cas = NULL;
    if (__builtin_expect(cpu->debug.data, 0)) {
        x86_debug_access(cpu, linear, size, false);
        x86_debug_access(cpu, linear, size, true);
    }
    if (crosses_page(linear, size)) {
        l->first = (unsigned)(X86_PAGE_SIZE - (linear & ~X86_PAGE_MASK));
        second = wrap_linear(cpu, linear + l->first);
    }
    /* Read, then write permission: the faults of the unlocked form. */
    tlb_host(cpu, linear, X86_ACCESS_READ, &physical);
    tlb_host(cpu, second, X86_ACCESS_READ, &physical);
    host = tlb_host(cpu, linear, X86_ACCESS_WRITE, &l->physical[0]);
    host2 = tlb_host(cpu, second, X86_ACCESS_WRITE, &l->physical[1]);
    l->ram = host && host2;
    if (l->first == size && host && cas_setup(l, host)) {
        if (l->cas_size == 16) {
            l->container[0] = host_load(l->cas, 8);
            l->container[1] = host_load(l->cas + 8, 8);
            l->old[0] = l->container[0];
            l->old[1] = l->container[1];
        } else {
            l->container[0] = host_load(l->cas, l->cas_size);
            l->old[0] = (l->container[0] >> l->shift) & x86_mask(size);
            l->old[1] = 0;
        }
        return l->old[0];
    }
    locked_physical(cpu, l, l->old, false);
    return l->old[0];
}

bool x86_locked_write(struct x86_cpu *cpu, struct x86_locked *l, uint64_t low,
                      uint64_t high)
{
    uint64_t value[2] = { low & x86_mask(l->size), l->size > 8 ? high : 0 };
    uint64_t now[2];

    if (l->cas) {
        if (!host_cas(l, value))
            return false;
        x86_code_note_write(cpu, l->physical[0], l->size);
        return true;
    }
    if (!l->ram) {              /* device memory: nothing to keep atomic */
        locked_physical(cpu, l, value, true);
        return true;
    }
    split_lock_take();
    locked_physical(cpu, l, now, false);
    if (now[0] != l->old[0] || now[1] != l->old[1]) {
        split_lock_release();
        return false;
    }
    locked_physical(cpu, l, value, true);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    split_lock_release();
    return true;
}

unsigned x86_stack_width(const struct x86_cpu *cpu)
{
    if (x86_long64(cpu))
        return 8;
    return (cpu->seg[X86_SS].flags & X86_SEGF_DB) ? 4 : 2;
}

uint64_t x86_stack_read(struct x86_cpu *cpu, int64_t offset, unsigned size)
{
    uint64_t sp = (cpu->gpr[X86_RSP] + (uint64_t)offset) & x86_mask(x86_stack_width(cpu));

    return x86_mem_read(cpu, X86_SS, sp, size);
}

void x86_stack_write(struct x86_cpu *cpu, int64_t offset, unsigned size,
                     uint64_t value)
{
    uint64_t sp = (cpu->gpr[X86_RSP] + (uint64_t)offset) & x86_mask(x86_stack_width(cpu));

    x86_mem_write(cpu, X86_SS, sp, size, value);
}

void x86_stack_adjust(struct x86_cpu *cpu, int64_t delta)
{
    uint64_t mask = x86_mask(x86_stack_width(cpu));
    uint64_t *rsp = &cpu->gpr[X86_RSP];

    *rsp = (*rsp & ~mask) | ((*rsp + (uint64_t)delta) & mask);
}

void x86_push(struct x86_cpu *cpu, unsigned size, uint64_t value)
{
    x86_stack_write(cpu, -(int64_t)size, size, value);
    x86_stack_adjust(cpu, -(int64_t)size);
}

uint64_t x86_pop(struct x86_cpu *cpu, unsigned size)
{
    uint64_t value = x86_stack_read(cpu, 0, size);

    x86_stack_adjust(cpu, size);
    return value;
}

/* Near branches: canonical target in 64-bit mode, else within the CS limit. */
void x86_branch(struct x86_cpu *cpu, unsigned size, uint64_t target)
{
    if (size < 8)
        target &= x86_mask(size);
    if (x86_long64(cpu)) {
        if (!x86_canonical(target))
            x86_raise_error(cpu, X86_EXC_GP, 0);
    } else if (target > cpu->seg[X86_CS].limit) {
        x86_raise_error(cpu, X86_EXC_GP, 0);
    }
    cpu->next_rip = target;
}

bool x86_condition(const struct x86_cpu *cpu, unsigned cc)
{
    uint64_t f = cpu->rflags;
    bool sf_ne_of = !(f & X86_SF) != !(f & X86_OF);
    bool r;

    switch (cc >> 1) {
    case 0: r = f & X86_OF; break;
    case 1: r = f & X86_CF; break;
    case 2: r = f & X86_ZF; break;
    case 3: r = f & (X86_CF | X86_ZF); break;
    case 4: r = f & X86_SF; break;
    case 5: r = f & X86_PF; break;
    case 6: r = sf_ne_of; break;
    default: r = (f & X86_ZF) || sf_ne_of; break;
    }
    return (cc & 1) ? !r : r;
}
