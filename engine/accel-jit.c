/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The JIT accelerator: vCPUs on Mimic's software x86 CPU (jit/x86) with the
 * PC's interrupt controllers and timer (jit/pc) in place of KVM's in-kernel
 * chips. Machine code does not know which accelerator runs it.
 */
#define G_LOG_DOMAIN "mimic-jit"

#include <string.h>

#include "engine/accel.h"
#include "engine/clock.h"
#include "engine/machine.h"
#include "engine/memory.h"
#include "engine/vcpu.h"
#include "engine/vm.h"
#include "jit/pc/pc.h"
#include "jit/x86/code-cache.h"
#include "jit/x86/cpu.h"

/* Instructions per x86_cpu_run call; kicks are seen between instructions. */
#define JIT_SLICE (1u << 20)

struct jit_vcpu;

struct jit_machine {
    struct machine *machine;
    struct jit_pc *pc;
    unsigned nr_cpus;
    struct jit_vcpu *vcpus[JIT_PC_MAX_CPUS];
    /* With several vCPUs: who holds decoded code where (code-cache.h). */
    struct x86_code_sharing *code_sharing;
};

struct jit_vcpu {
    struct vcpu *cpu;
    struct jit_machine *jm;
    unsigned index;
    struct x86_cpu x86;

    /* Wake-ups: kicks, interrupts for a halted CPU, INIT/SIPI. */
    GMutex lock;
    GCond cond;
    int kicked;                 /* atomic */
    int flush_tlb;              /* atomic: the memory map changed */
    /*
     * Guest memory written by DMA, loaders or other vCPUs, to drop from the
     * code cache on the vCPU's own thread before it runs again (code_lock
     * guards).
     */
    int code_dirty;             /* atomic: ranges are queued */
    GMutex code_lock;
    unsigned nr_written;
    bool written_overflow;      /* too many: flush everything */
    struct { uint64_t addr, length; } written[16];
    bool init_pending, sipi_pending;    /* under lock */
    uint8_t sipi_vector;
    enum x86_mp_state mp_state;         /* RUNNABLE, UNINITIALIZED, INIT_RECEIVED */

    /* MIMIC_JIT_TRACE=N: log the position every N million instructions. */
    uint64_t trace_every, trace_next;
};

static struct jit_vcpu *vcpu_of(struct jit_machine *jm, unsigned index)
{
    return index < jm->nr_cpus ? jm->vcpus[index] : NULL;
}

static void wake(struct jit_vcpu *jv)
{
    g_mutex_lock(&jv->lock);
    g_cond_broadcast(&jv->cond);
    g_mutex_unlock(&jv->lock);
}

/* ---- the platform's calls into the vCPUs ------------------------------- */

static void on_interrupt(void *opaque, unsigned index)
{
    struct jit_vcpu *jv = vcpu_of(opaque, index);

    if (!jv)
        return;
    x86_cpu_request_interrupt(&jv->x86);
    wake(jv);
}

static void on_init(void *opaque, unsigned index)
{
    struct jit_vcpu *jv = vcpu_of(opaque, index);

    if (!jv)
        return;
    g_mutex_lock(&jv->lock);
    jv->init_pending = true;
    g_cond_broadcast(&jv->cond);
    g_mutex_unlock(&jv->lock);
    x86_cpu_stop(&jv->x86);
}

static void on_startup(void *opaque, unsigned index, uint8_t vector)
{
    struct jit_vcpu *jv = vcpu_of(opaque, index);

    if (!jv)
        return;
    g_mutex_lock(&jv->lock);
    jv->sipi_pending = true;
    jv->sipi_vector = vector;
    g_cond_broadcast(&jv->cond);
    g_mutex_unlock(&jv->lock);
    x86_cpu_stop(&jv->x86);
}

/* NMIs are latched in the CPU, apart from INTR (SDM vol. 3, 6.7). */
static void on_nmi(void *opaque, unsigned index)
{
    struct jit_vcpu *jv = vcpu_of(opaque, index);

    if (!jv)
        return;
    x86_cpu_request_nmi(&jv->x86);
    wake(jv);
}

static const struct jit_pc_cpu_ops jit_cpu_ops = {
    .notify = on_interrupt,
    .init = on_init,
    .startup = on_startup,
    .nmi = on_nmi,
};

/* ---- the CPU's calls into the platform --------------------------------- */

static int cpu_acknowledge(void *opaque)
{
    struct jit_vcpu *jv = opaque;

    return jit_pc_acknowledge(jv->jm->pc, jv->index);
}

static bool cpu_read_msr(void *opaque, uint32_t index, uint64_t *value)
{
    struct jit_vcpu *jv = opaque;
    struct jit_pc *pc = jv->jm->pc;
    struct lapic *apic = pc->lapic[jv->index];

    g_mutex_lock(&pc->lock);
    *value = index == X86_MSR_APIC_BASE ? apic->apic_base : apic->tsc_deadline;
    g_mutex_unlock(&pc->lock);
    return true;
}

static bool cpu_write_msr(void *opaque, uint32_t index, uint64_t value)
{
    struct jit_vcpu *jv = opaque;
    struct jit_pc *pc = jv->jm->pc;
    struct lapic *apic = pc->lapic[jv->index];
    bool ok = true;

    g_mutex_lock(&pc->lock);
    if (index == X86_MSR_APIC_BASE) {
        ok = lapic_set_base(apic, value);
    } else {
        apic->tsc_offset = (int64_t)jv->x86.tsc_offset;
        lapic_set_tsc_deadline(apic, value);
    }
    jit_pc_update(pc);
    g_mutex_unlock(&pc->lock);
    return ok;
}

static uint64_t cpu_read_cr8(void *opaque)
{
    struct jit_vcpu *jv = opaque;
    struct jit_pc *pc = jv->jm->pc;
    uint64_t v;

    g_mutex_lock(&pc->lock);
    v = lapic_read(pc->lapic[jv->index], 0x80) >> 4;
    g_mutex_unlock(&pc->lock);
    return v;
}

static void cpu_write_cr8(void *opaque, uint64_t value)
{
    struct jit_vcpu *jv = opaque;
    struct jit_pc *pc = jv->jm->pc;

    g_mutex_lock(&pc->lock);
    lapic_set_tpr(pc->lapic[jv->index], value << 4);
    g_mutex_unlock(&pc->lock);
}

static void cpu_set_ferr(void *opaque, bool asserted)
{
    struct jit_vcpu *jv = opaque;

    jit_pc_set_ferr(jv->jm->pc, asserted);
}

static bool cpu_ignne(void *opaque)
{
    struct jit_vcpu *jv = opaque;

    return jit_pc_ignne(jv->jm->pc);
}

static const struct x86_platform_ops jit_platform_ops = {
    .acknowledge_interrupt = cpu_acknowledge,
    .read_msr = cpu_read_msr,
    .write_msr = cpu_write_msr,
    .read_cr8 = cpu_read_cr8,
    .write_cr8 = cpu_write_cr8,
    .set_ferr = cpu_set_ferr,
    .ignne = cpu_ignne,
};

/* The TSC counts nanoseconds of the virtual clock: it stops while paused. */
static uint64_t read_virtual_tsc(void *opaque)
{
    return (uint64_t)vclock_now_ns(opaque);
}

/* ---- machine ------------------------------------------------------------ */

/*
 * Queue [@addr, @addr + @length) for @jv to drop, merged with a range it
 * overlaps or touches (a vCPU storing into a page another one runs code
 * from queues each store), and make it look before its next instruction.
 */
static void queue_written(struct jit_vcpu *jv, uint64_t addr, uint64_t length)
{
    g_mutex_lock(&jv->code_lock);
    for (unsigned i = 0; i < jv->nr_written; i++) {
        uint64_t start = jv->written[i].addr, end = start + jv->written[i].length;

        if (addr <= end && start <= addr + length) {
            jv->written[i].addr = MIN(start, addr);
            jv->written[i].length = MAX(end, addr + length) - jv->written[i].addr;
            goto queued;
        }
    }
    if (jv->nr_written < G_N_ELEMENTS(jv->written)) {
        jv->written[jv->nr_written].addr = addr;
        jv->written[jv->nr_written].length = length;
        jv->nr_written++;
    } else {
        jv->written_overflow = true;
    }
queued:
    g_mutex_unlock(&jv->code_lock);
    __atomic_store_n(&jv->code_dirty, 1, __ATOMIC_SEQ_CST);
    x86_cpu_stop(&jv->x86);
}

/* DMA or a loader wrote guest memory: queue the range for every vCPU. */
static void on_memory_written(void *opaque, uint64_t addr, uint64_t length)
{
    struct jit_machine *jm = opaque;

    for (unsigned i = 0; i < jm->nr_cpus; i++) {
        /* The guest may jump to the new code right after seeing the DMA end. */
        if (jm->vcpus[i])
            queue_written(jm->vcpus[i], addr, length);
    }
}

/*
 * A vCPU stored into code the vCPUs in @cpus decoded: they drop it before
 * their next instruction, which covers SDM vol. 3, 8.1.3 (the executing
 * processor serializes before it runs the new code).
 */
static void on_code_written(void *opaque, uint64_t cpus, uint64_t physical,
                            uint64_t length)
{
    struct jit_machine *jm = opaque;

    for (unsigned i = 0; i < jm->nr_cpus; i++) {
        if ((cpus & (1ull << i)) && jm->vcpus[i])
            queue_written(jm->vcpus[i], physical, length);
    }
}

static void drop_written_code(struct jit_vcpu *jv)
{
    g_mutex_lock(&jv->code_lock);
    if (jv->written_overflow) {
        x86_code_flush(&jv->x86);
    } else {
        for (unsigned i = 0; i < jv->nr_written; i++)
            x86_code_invalidate_range(&jv->x86, jv->written[i].addr,
                                      jv->written[i].length);
    }
    jv->nr_written = 0;
    jv->written_overflow = false;
    g_mutex_unlock(&jv->code_lock);
}

/* RAM or ROM appearing or going: cached host pointers must go. */
static void on_memory_change(void *opaque, const struct memory_region *region,
                             bool added)
{
    struct jit_machine *jm = opaque;

    for (unsigned i = 0; i < jm->nr_cpus; i++) {
        struct jit_vcpu *jv = jm->vcpus[i];

        if (!jv)
            continue;
        __atomic_store_n(&jv->flush_tlb, 1, __ATOMIC_SEQ_CST);
        x86_cpu_stop(&jv->x86);
    }
}

static int jit_init(struct machine *m, GError **error)
{
    struct jit_machine *jm = g_new0(struct jit_machine, 1);

    jm->machine = m;
    jm->nr_cpus = MIN(m->config->smp, JIT_PC_MAX_CPUS);
    jm->pc = jit_pc_new(m->clock, jm->nr_cpus, &jit_cpu_ops, jm);
    if (jm->nr_cpus > 1) {
        jm->code_sharing = x86_code_sharing_new(on_code_written, jm);
        if (!jm->code_sharing) {
            g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_FAILED,
                        "JIT: out of memory for %u vCPUs", jm->nr_cpus);
            jit_pc_free(jm->pc);
            g_free(jm);
            return -1;
        }
    }
    if (jit_pc_attach(jm->pc, m->memory, m->io, error) < 0) {
        g_prefix_error(error, "JIT: cannot place the interrupt controllers: ");
        x86_code_sharing_free(jm->code_sharing);
        jit_pc_free(jm->pc);
        g_free(jm);
        return -1;
    }
    memory_map_set_listener(m->memory, on_memory_change, jm);
    memory_map_set_write_observer(m->memory, on_memory_written, jm);
    m->accel_state = jm;
    return 0;
}

static void jit_destroy(struct machine *m)
{
    struct jit_machine *jm = m->accel_state;

    if (!jm)
        return;
    memory_map_set_listener(m->memory, NULL, NULL);
    memory_map_set_write_observer(m->memory, NULL, NULL);
    x86_code_sharing_free(jm->code_sharing);
    jit_pc_free(jm->pc);
    g_free(jm);
    m->accel_state = NULL;
}

/* ---- vCPUs -------------------------------------------------------------- */

static int jit_vcpu_reset(struct vcpu *cpu, GError **error)
{
    struct jit_vcpu *jv = cpu->accel_state;
    struct jit_pc *pc = jv->jm->pc;

    x86_cpu_reset(&jv->x86);
    jv->x86.apic_id = jv->index;
    g_mutex_lock(&pc->lock);
    lapic_reset(pc->lapic[jv->index]);
    g_mutex_unlock(&pc->lock);
    g_mutex_lock(&jv->lock);
    jv->init_pending = jv->sipi_pending = false;
    /* The BSP runs; APs wait for INIT and SIPI (SDM vol. 3, 8.4). */
    jv->mp_state = jv->index == 0 ? X86_MP_RUNNABLE : X86_MP_UNINITIALIZED;
    g_mutex_unlock(&jv->lock);
    return 0;
}

static int jit_vcpu_init(struct vcpu *cpu, GError **error)
{
    struct jit_machine *jm = cpu->machine->accel_state;
    struct jit_vcpu *jv;

    if (cpu->index >= jm->nr_cpus) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "JIT: at most %u vCPUs", jm->nr_cpus);
        return -1;
    }
    jv = g_new0(struct jit_vcpu, 1);
    jv->cpu = cpu;
    jv->jm = jm;
    jv->index = cpu->index;
    g_mutex_init(&jv->lock);
    g_mutex_init(&jv->code_lock);
    g_cond_init(&jv->cond);
    x86_cpu_init(&jv->x86, cpu->machine->memory);
    jv->x86.code_sharing = jm->code_sharing;
    jv->x86.code_sharing_index = jv->index;
    if (g_getenv("MIMIC_JIT_TRACE")) {
        jv->trace_every = g_ascii_strtoull(g_getenv("MIMIC_JIT_TRACE"), NULL, 10) * 1000000;
        jv->trace_next = jv->trace_every;
    }
    jv->x86.io = cpu->machine->io;
    jv->x86.read_tsc = read_virtual_tsc;
    jv->x86.tsc_opaque = cpu->machine->clock;
    jv->x86.system = true;
    jv->x86.platform = &jit_platform_ops;
    jv->x86.platform_opaque = jv;
    cpu->accel_state = jv;
    jm->vcpus[jv->index] = jv;
    return jit_vcpu_reset(cpu, error);
}

static void jit_vcpu_destroy(struct vcpu *cpu)
{
    struct jit_vcpu *jv = cpu->accel_state;

    if (!jv)
        return;
    jv->jm->vcpus[jv->index] = NULL;
    g_mutex_clear(&jv->lock);
    g_mutex_clear(&jv->code_lock);
    g_cond_clear(&jv->cond);
    x86_cpu_destroy(&jv->x86);
    g_free(jv);
    cpu->accel_state = NULL;
}

/* INIT and STARTUP IPIs (SDM vol. 3, 8.4.4 and 10.6.1). */
static void take_init_sipi(struct jit_vcpu *jv)
{
    bool init, sipi;
    uint8_t vector;

    g_mutex_lock(&jv->lock);
    init = jv->init_pending;
    sipi = jv->sipi_pending;
    vector = jv->sipi_vector;
    jv->init_pending = jv->sipi_pending = false;
    g_mutex_unlock(&jv->lock);
    if (init) {
        x86_cpu_init_signal(&jv->x86);
        jv->mp_state = jv->index == 0 ? X86_MP_RUNNABLE : X86_MP_INIT_RECEIVED;
    }
    if (sipi && jv->mp_state == X86_MP_INIT_RECEIVED) {
        struct x86_segment_cache *cs = &jv->x86.seg[X86_CS];

        cs->selector = (uint16_t)vector << 8;
        cs->base = (uint64_t)vector << 12;
        jv->x86.rip = 0;
        jv->mp_state = X86_MP_RUNNABLE;
    }
}

/* Sleep until kicked, or until the CPU has something to do. */
static void wait_for_event(struct jit_vcpu *jv)
{
    g_mutex_lock(&jv->lock);
    for (;;) {
        bool can_run = jv->mp_state == X86_MP_RUNNABLE &&
                       (!jv->x86.halted ||
                        (__atomic_load_n(&jv->x86.interrupt_request, __ATOMIC_ACQUIRE) &&
                         (jv->x86.rflags & X86_IF)) ||
                        (__atomic_load_n(&jv->x86.nmi_pending, __ATOMIC_ACQUIRE) &&
                         !jv->x86.nmi_blocked));

        if (__atomic_load_n(&jv->kicked, __ATOMIC_ACQUIRE) || jv->init_pending ||
            jv->sipi_pending || can_run)
            break;
        g_cond_wait(&jv->cond, &jv->lock);
    }
    g_mutex_unlock(&jv->lock);
}

static void log_position(struct jit_vcpu *jv)
{
    struct x86_cpu *c = &jv->x86;

    g_message("vCPU %u: %" G_GUINT64_FORMAT " instructions, "
              "guest at CS:RIP %04x:%016" G_GINT64_MODIFIER "x "
              "(CS base 0x%" G_GINT64_MODIFIER "x), CR0 0x%" G_GINT64_MODIFIER
              "x, CR4 0x%" G_GINT64_MODIFIER "x, EFER 0x%" G_GINT64_MODIFIER
              "x, RFLAGS 0x%" G_GINT64_MODIFIER "x", jv->index, c->instructions,
              c->seg[X86_CS].selector, c->rip, c->seg[X86_CS].base, c->cr0,
              c->cr4, c->efer, c->rflags);
}

static enum vcpu_exit jit_vcpu_run(struct vcpu *cpu)
{
    struct jit_vcpu *jv = cpu->accel_state;

    jit_pc_set_current_cpu(jv->index);
    for (;;) {
        enum x86_exit exit;

        if (__atomic_exchange_n(&jv->kicked, 0, __ATOMIC_SEQ_CST))
            return VCPU_EXIT_KICKED;
        if (__atomic_exchange_n(&jv->flush_tlb, 0, __ATOMIC_SEQ_CST)) {
            x86_tlb_flush(&jv->x86);
            x86_code_flush(&jv->x86);   /* a physical page may hold other bytes */
        }
        if (__atomic_exchange_n(&jv->code_dirty, 0, __ATOMIC_SEQ_CST))
            drop_written_code(jv);
        take_init_sipi(jv);
        if (jv->mp_state != X86_MP_RUNNABLE) {
            wait_for_event(jv);
            continue;
        }
        exit = x86_cpu_run(&jv->x86, JIT_SLICE);
        if (jv->trace_every && jv->x86.instructions >= jv->trace_next) {
            log_position(jv);
            jv->trace_next = jv->x86.instructions + jv->trace_every;
        }
        switch (exit) {
        case X86_EXIT_BUDGET:
        case X86_EXIT_STOP:
            break;
        case X86_EXIT_HLT:
            wait_for_event(jv);
            break;
        case X86_EXIT_SHUTDOWN:
            g_info("vCPU %u: triple fault", jv->index);
            log_position(jv);
            return VCPU_EXIT_SHUTDOWN;
        case X86_EXIT_EXCEPTION:
            g_message("vCPU %u: exception %u the CPU could not deliver",
                      jv->index, jv->x86.exception_vector);
            log_position(jv);
            return VCPU_EXIT_ERROR;
        }
    }
}

static void jit_vcpu_kick(struct vcpu *cpu)
{
    struct jit_vcpu *jv = cpu->accel_state;

    if (!jv)
        return;
    __atomic_store_n(&jv->kicked, 1, __ATOMIC_SEQ_CST);
    x86_cpu_stop(&jv->x86);
    wake(jv);
}

/* ---- state -------------------------------------------------------------- */

static int jit_vcpu_get_state(struct vcpu *cpu, struct x86_cpu_state *state,
                              GError **error)
{
    struct jit_vcpu *jv = cpu->accel_state;
    struct jit_pc *pc = jv->jm->pc;
    struct lapic *apic = pc->lapic[jv->index];
    uint32_t count;

    x86_cpu_get_state(&jv->x86, state);
    if (jv->mp_state != X86_MP_RUNNABLE)
        state->mp_state = jv->mp_state;
    g_mutex_lock(&pc->lock);
    memcpy(state->lapic, apic->regs, sizeof(state->lapic));
    count = lapic_current_count(apic);
    memcpy(state->lapic + 0x390, &count, 4);
    state->apic_base = apic->apic_base;
    g_mutex_unlock(&pc->lock);
    return 0;
}

static int jit_vcpu_set_state(struct vcpu *cpu, const struct x86_cpu_state *state,
                              GError **error)
{
    struct jit_vcpu *jv = cpu->accel_state;
    struct jit_pc *pc = jv->jm->pc;
    struct lapic *apic = pc->lapic[jv->index];
    uint32_t count;

    if (state->mp_state > X86_MP_HALTED) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "JIT: vCPU %u: unknown multiprocessor state %u", jv->index,
                    (unsigned)state->mp_state);
        return -1;
    }
    x86_cpu_set_state(&jv->x86, state);
    jv->x86.apic_id = jv->index;
    jv->mp_state = state->mp_state == X86_MP_HALTED ? X86_MP_RUNNABLE
                                                    : state->mp_state;
    g_mutex_lock(&pc->lock);
    memcpy(apic->regs, state->lapic, sizeof(apic->regs));
    memcpy(&count, state->lapic + 0x390, 4);
    apic->apic_base = state->apic_base;
    apic->tsc_offset = (int64_t)jv->x86.tsc_offset;
    lapic_restart(apic, count);
    jit_pc_update(pc);
    g_mutex_unlock(&pc->lock);
    return 0;
}

static int jit_get_platform_state(struct machine *m,
                                  struct x86_platform_state *state,
                                  GError **error)
{
    struct jit_machine *jm = m->accel_state;

    memset(state, 0, sizeof(*state));
    jit_pc_get_state(jm->pc, state);
    return 0;
}

static int jit_set_platform_state(struct machine *m,
                                  const struct x86_platform_state *state,
                                  GError **error)
{
    struct jit_machine *jm = m->accel_state;

    jit_pc_set_state(jm->pc, state);
    return 0;
}

static int jit_platform_reset(struct machine *m, GError **error)
{
    struct jit_machine *jm = m->accel_state;

    jit_pc_reset(jm->pc);
    return 0;
}

static void jit_set_irq(struct machine *m, unsigned gsi, bool level)
{
    struct jit_machine *jm = m->accel_state;

    jit_pc_set_irq(jm->pc, gsi, level);
}

/* The CPU and its timers run on the virtual clock, which the engine stops. */
static void jit_clock_pause(struct machine *m)
{
}

static void jit_clock_resume(struct machine *m)
{
}

const struct accel_ops accel_jit_ops = {
    .name = "jit",
    .init = jit_init,
    .destroy = jit_destroy,
    .vcpu_init = jit_vcpu_init,
    .vcpu_destroy = jit_vcpu_destroy,
    .vcpu_run = jit_vcpu_run,
    .vcpu_kick = jit_vcpu_kick,
    .vcpu_reset = jit_vcpu_reset,
    .vcpu_get_state = jit_vcpu_get_state,
    .vcpu_set_state = jit_vcpu_set_state,
    .get_platform_state = jit_get_platform_state,
    .set_platform_state = jit_set_platform_state,
    .platform_reset = jit_platform_reset,
    .set_irq = jit_set_irq,
    .clock_pause = jit_clock_pause,
    .clock_resume = jit_clock_resume,
};
