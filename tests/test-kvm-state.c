/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests of the KVM accelerator on its own: tiny hand-assembled 16-bit guests
 * in a hand-built machine (port I/O, MMIO, kick, reset, state save/restore,
 * triple fault, platform chips and clock). Skipped where /dev/kvm is unusable.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/accel.h"
#include "engine/machine.h"
#include "engine/memory.h"
#include "engine/vcpu.h"
#include "engine/vm.h"
#include "engine/x86-cpu-state.h"

#define TEST_PORT 0x500
#define TEST_MMIO 0x30000
#define RAM_SIZE 0x10000
#define ROM_BASE 0xfffff000ULL
#define ROM_SIZE 0x1000
#define GUEST_TIMEOUT_S 60
/* The guest clock may move this much around a 500 ms pause. */
#define PAUSE_SLACK_NS (400 * G_TIME_SPAN_MILLISECOND * 1000)

#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_CR_PAT 0x277
#define MSR_LSTAR 0xc0000082

/*
 * Counts in BX forever; each round stores it to RAM at 0x1000, reads an
 * unassigned port (0x510) and unassigned MMIO (0x20000), writes it to the
 * test MMIO device and then to port 0x500. Before the loop it writes to ROM
 * (ignored), and stores what the MMIO device (offset 2) and port 0x500 read
 * as at 0x1002 and 0x1004. Assembled with GNU as (.code16) at IP 0xf000;
 * the reset vector at 0xfff0 jumps there.
 */
static const uint8_t counter_guest[] = {
    0x2e, 0xc6, 0x06, 0x00, 0xf8, 0x55,     /* movb $0x55, %cs:0xf800 */
    0x31, 0xc0,                             /* xor %ax, %ax */
    0x8e, 0xd8,                             /* mov %ax, %ds */
    0xb8, 0x00, 0x20,                       /* mov $0x2000, %ax */
    0x8e, 0xc0,                             /* mov %ax, %es */
    0xb8, 0x00, 0x30,                       /* mov $0x3000, %ax */
    0x8e, 0xe0,                             /* mov %ax, %fs */
    0x64, 0xa1, 0x02, 0x00,                 /* mov %fs:2, %ax */
    0xa3, 0x02, 0x10,                       /* mov %ax, 0x1002 */
    0xba, 0x00, 0x05,                       /* mov $0x500, %dx */
    0xed,                                   /* in (%dx), %ax */
    0xa3, 0x04, 0x10,                       /* mov %ax, 0x1004 */
    0x31, 0xdb,                             /* xor %bx, %bx */
    /* loop: */
    0x43,                                   /* inc %bx */
    0x89, 0x1e, 0x00, 0x10,                 /* mov %bx, 0x1000 */
    0xba, 0x10, 0x05,                       /* mov $0x510, %dx */
    0xec,                                   /* in (%dx), %al */
    0x26, 0xa0, 0x00, 0x00,                 /* mov %es:0, %al */
    0x64, 0x89, 0x1e, 0x00, 0x00,           /* mov %bx, %fs:0 */
    0x89, 0xd8,                             /* mov %bx, %ax */
    0xba, 0x00, 0x05,                       /* mov $0x500, %dx */
    0xef,                                   /* out %ax, (%dx) */
    0xeb, 0xe6,                             /* jmp loop */
};

/*
 * Into 32-bit protected mode through a flat GDT in ROM (accessed bits preset:
 * the CPU would otherwise write them to ROM), with an IDT of limit 0; then a
 * MOV to CR4 with reserved bits set raises #GP, whose vector lies beyond the
 * IDT limit, so #DF, then a triple fault (Intel SDM vol. 3, 6.15, interrupt
 * 8). Real mode would not do: KVM's real-mode interrupt emulation does not
 * check the IVT limit.
 */
static const uint8_t triple_fault_guest[] = {
    0x2e, 0x66, 0x0f, 0x01, 0x16, 0x50, 0xf0,   /* lgdtl %cs:0xf050 */
    0x2e, 0x66, 0x0f, 0x01, 0x1e, 0x56, 0xf0,   /* lidtl %cs:0xf056 */
    0x0f, 0x20, 0xc0,                           /* mov %cr0, %eax */
    0x0c, 0x01,                                 /* or $1, %al */
    0x0f, 0x22, 0xc0,                           /* mov %eax, %cr0 */
    0x66, 0xea, 0x1e, 0xf0, 0xff, 0xff, 0x08, 0x00, /* ljmpl $8, $0xfffff01e */
    /* 0xfffff01e, 32-bit code: */
    0x66, 0xb8, 0x10, 0x00,                     /* mov $0x10, %ax */
    0x8e, 0xd8,                                 /* mov %eax, %ds */
    0x8e, 0xc0,                                 /* mov %eax, %es */
    0x8e, 0xe0,                                 /* mov %eax, %fs */
    0x8e, 0xe8,                                 /* mov %eax, %gs */
    0x8e, 0xd0,                                 /* mov %eax, %ss */
    0xb8, 0xff, 0xff, 0xff, 0xff,               /* mov $0xffffffff, %eax */
    0x0f, 0x22, 0xe0,                           /* mov %eax, %cr4: #GP */
    0xf4,                                       /* hlt */
    0x00, 0x00, 0x00,                           /* padding */
    /* 0xf038: GDT: null, flat code (0x08), flat data (0x10) */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0x00, 0x00, 0x00, 0x9b, 0xcf, 0x00,
    0xff, 0xff, 0x00, 0x00, 0x00, 0x93, 0xcf, 0x00,
    /* 0xf050: GDTR: limit 23, base 0xfffff038 */
    0x17, 0x00, 0x38, 0xf0, 0xff, 0xff,
    /* 0xf056: IDTR: limit 0, base 0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* Writes CPUID.1:EBX[31:16] (APIC ID, processor count) to port 0x500; halts. */
static const uint8_t cpuid_guest[] = {
    0x66, 0xb8, 0x01, 0x00, 0x00, 0x00,     /* mov $1, %eax */
    0x0f, 0xa2,                             /* cpuid */
    0x66, 0xc1, 0xeb, 0x10,                 /* shr $16, %ebx */
    0x89, 0xd8,                             /* mov %bx, %ax */
    0xba, 0x00, 0x05,                       /* mov $0x500, %dx */
    0xef,                                   /* out %ax, (%dx) */
    0xf4,                                   /* 1: hlt */
    0xeb, 0xfd,                             /* jmp 1b */
};

/* jmp 0xf000, at the reset vector 0xfff0 */
static const uint8_t reset_vector_jump[] = { 0xe9, 0x0d, 0xf0 };

struct test_vm {
    struct machine *m;
    uint8_t *ram;
    uint8_t *rom;

    GMutex lock;
    GCond cond;
    GArray *port_values;    /* guint16 written to TEST_PORT */
    GArray *mmio_values;    /* guint16 written to TEST_MMIO */

    /* The vCPU thread: runs cpu while go is set, then parks. */
    GThread *thread;
    struct vcpu *cpu;
    bool go, running, quit;
    enum vcpu_exit last_exit;
};

static uint64_t port_read(G_GNUC_UNUSED void *opaque,
                          G_GNUC_UNUSED uint64_t offset,
                          G_GNUC_UNUSED unsigned size)
{
    return 0xbeef;
}

static void record(struct test_vm *t, GArray *values, uint64_t value)
{
    guint16 v = value;

    g_mutex_lock(&t->lock);
    g_array_append_val(values, v);
    g_cond_broadcast(&t->cond);
    g_mutex_unlock(&t->lock);
}

static void port_write(void *opaque, G_GNUC_UNUSED uint64_t offset,
                       uint64_t value, G_GNUC_UNUSED unsigned size)
{
    struct test_vm *t = opaque;

    record(t, t->port_values, value);
}

static uint64_t mmio_read(G_GNUC_UNUSED void *opaque, uint64_t offset,
                          G_GNUC_UNUSED unsigned size)
{
    return offset == 2 ? 0x1234 : 0;
}

static void mmio_write(void *opaque, uint64_t offset, uint64_t value,
                       G_GNUC_UNUSED unsigned size)
{
    struct test_vm *t = opaque;

    if (offset == 0)
        record(t, t->mmio_values, value);
}

static const struct memory_ops port_ops = {
    .read = port_read, .write = port_write,
};
static const struct memory_ops mmio_ops = {
    .read = mmio_read, .write = mmio_write,
};

static gpointer vcpu_runner(gpointer data)
{
    struct test_vm *t = data;

    g_mutex_lock(&t->lock);
    for (;;) {
        struct vcpu *cpu;
        enum vcpu_exit exit;

        while (!t->go && !t->quit)
            g_cond_wait(&t->cond, &t->lock);
        if (t->quit)
            break;
        t->running = true;
        cpu = t->cpu;
        g_mutex_unlock(&t->lock);

        exit = accel_kvm_ops.vcpu_run(cpu);

        g_mutex_lock(&t->lock);
        t->last_exit = exit;
        t->running = false;
        t->go = false;
        g_cond_broadcast(&t->cond);
    }
    g_mutex_unlock(&t->lock);
    return NULL;
}

static void *map_anonymous(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    g_assert_true(p != MAP_FAILED);
    return p;
}

/* A machine with RAM at 0, @code in a ROM at the top of 4 GiB, test devices. */
static struct test_vm *test_vm_new(const uint8_t *code, size_t size,
                                   unsigned nr_vcpus)
{
    struct test_vm *t = g_new0(struct test_vm, 1);
    struct machine *m = g_new0(struct machine, 1);
    GError *error = NULL;

    t->m = m;
    g_mutex_init(&t->lock);
    g_cond_init(&t->cond);
    t->port_values = g_array_new(FALSE, FALSE, sizeof(guint16));
    t->mmio_values = g_array_new(FALSE, FALSE, sizeof(guint16));

    g_mutex_init(&m->device_lock);
    g_mutex_init(&m->run_lock);
    g_cond_init(&m->run_cond);
    m->type = "test";
    m->memory = memory_map_new("memory", UINT64_C(1) << 32, &m->device_lock);
    m->io = memory_map_new("io", 0x10000, &m->device_lock);
    m->accel = &accel_kvm_ops;

    t->ram = map_anonymous(RAM_SIZE);
    t->rom = map_anonymous(ROM_SIZE);
    g_assert_cmpuint(size, <=, 0xff0);
    memcpy(t->rom, code, size);
    memcpy(t->rom + 0xff0, reset_vector_jump, sizeof(reset_vector_jump));
    m->ram = t->ram;
    m->ram_size = RAM_SIZE;

    g_assert_nonnull(memory_map_add_ram(m->memory, "ram", 0, RAM_SIZE, t->ram,
                                        &error));
    g_assert_nonnull(memory_map_add_rom(m->memory, "rom", ROM_BASE, ROM_SIZE,
                                        t->rom, &error));
    g_assert_nonnull(memory_map_add_io(m->memory, "test-mmio", TEST_MMIO,
                                       0x1000, &mmio_ops, t, &error));
    g_assert_nonnull(memory_map_add_io(m->io, "test-port", TEST_PORT, 2,
                                       &port_ops, t, &error));
    g_assert_no_error(error);

    m->nr_vcpus = nr_vcpus;
    m->vcpus = g_new0(struct vcpu *, nr_vcpus);
    accel_kvm_ops.init(m, &error);
    g_assert_no_error(error);
    for (unsigned i = 0; i < nr_vcpus; i++) {
        struct vcpu *cpu = g_new0(struct vcpu, 1);

        cpu->machine = m;
        cpu->index = i;
        cpu->stopped = true;
        accel_kvm_ops.vcpu_init(cpu, &error);
        g_assert_no_error(error);
        m->vcpus[i] = cpu;
    }
    t->cpu = m->vcpus[0];
    t->thread = g_thread_new("test-vcpu", vcpu_runner, t);
    return t;
}

static void test_vm_free(struct test_vm *t)
{
    struct machine *m = t->m;

    g_mutex_lock(&t->lock);
    t->quit = true;
    g_cond_broadcast(&t->cond);
    g_mutex_unlock(&t->lock);
    accel_kvm_ops.vcpu_kick(t->cpu);
    g_thread_join(t->thread);

    for (unsigned i = 0; i < m->nr_vcpus; i++) {
        accel_kvm_ops.vcpu_destroy(m->vcpus[i]);
        g_free(m->vcpus[i]);
    }
    g_free(m->vcpus);
    accel_kvm_ops.destroy(m);
    memory_map_free(m->memory);
    memory_map_free(m->io);
    g_cond_clear(&m->run_cond);
    g_mutex_clear(&m->run_lock);
    g_mutex_clear(&m->device_lock);
    g_free(m);
    munmap(t->ram, RAM_SIZE);
    munmap(t->rom, ROM_SIZE);
    g_array_unref(t->port_values);
    g_array_unref(t->mmio_values);
    g_cond_clear(&t->cond);
    g_mutex_clear(&t->lock);
    g_free(t);
}

static void start_run(struct test_vm *t, struct vcpu *cpu)
{
    g_mutex_lock(&t->lock);
    t->cpu = cpu;
    t->go = true;
    g_cond_broadcast(&t->cond);
    g_mutex_unlock(&t->lock);
}

/* Wait until vcpu_run returned; false on timeout. */
static bool wait_stopped(struct test_vm *t, double seconds)
{
    gint64 deadline = g_get_monotonic_time() + seconds * G_TIME_SPAN_SECOND;
    bool stopped;

    g_mutex_lock(&t->lock);
    while ((t->go || t->running) &&
           g_cond_wait_until(&t->cond, &t->lock, deadline))
        ;
    stopped = !t->go && !t->running;
    g_mutex_unlock(&t->lock);
    return stopped;
}

/* Wait until @values holds at least @count entries; false on timeout. */
static bool wait_values(struct test_vm *t, GArray *values, guint count)
{
    gint64 deadline = g_get_monotonic_time() +
                      GUEST_TIMEOUT_S * G_TIME_SPAN_SECOND;
    bool enough;

    g_mutex_lock(&t->lock);
    while (values->len < count &&
           g_cond_wait_until(&t->cond, &t->lock, deadline))
        ;
    enough = values->len >= count;
    g_mutex_unlock(&t->lock);
    return enough;
}

static guint values_len(struct test_vm *t, GArray *values)
{
    guint len;

    g_mutex_lock(&t->lock);
    len = values->len;
    g_mutex_unlock(&t->lock);
    return len;
}

/* Kick the running vCPU; it must come back KICKED within a second. */
static void kick_and_check(struct test_vm *t)
{
    gint64 start = g_get_monotonic_time();

    accel_kvm_ops.vcpu_kick(t->cpu);
    g_assert_true(wait_stopped(t, GUEST_TIMEOUT_S));
    g_assert_cmpint(g_get_monotonic_time() - start, <, G_TIME_SPAN_SECOND);
    g_assert_cmpint(t->last_exit, ==, VCPU_EXIT_KICKED);
}

static guint16 value_at(GArray *values, guint i)
{
    return g_array_index(values, guint16, i);
}

/* @count values from @first on are consecutive, starting with @expected. */
static void assert_counting(GArray *values, guint first, guint count,
                            guint16 expected)
{
    for (guint i = 0; i < count; i++)
        g_assert_cmpuint(value_at(values, first + i), ==,
                         (guint16)(expected + i));
}

static const char *kvm_unusable_reason(void)
{
    static char reason[256];
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd >= 0) {
        close(fd);
        return NULL;
    }
    g_snprintf(reason, sizeof(reason), "/dev/kvm is not usable here: %s",
               g_strerror(errno));
    return reason;
}

#define SKIP_WITHOUT_KVM()                              \
    do {                                                \
        const char *reason_ = kvm_unusable_reason();    \
        if (reason_) {                                  \
            g_test_skip(reason_);                       \
            return;                                     \
        }                                               \
    } while (0)

static uint32_t lapic_reg(const struct x86_cpu_state *s, unsigned offset)
{
    uint32_t v;

    memcpy(&v, s->lapic + offset, 4);
    return v;
}

static uint16_t ram16(struct test_vm *t, unsigned addr)
{
    return t->ram[addr] | t->ram[addr + 1] << 8;
}

static void test_counter_kick_reset_restore(void)
{
    g_autofree struct x86_cpu_state *saved = g_new0(struct x86_cpu_state, 1);
    g_autofree struct x86_cpu_state *reset = g_new0(struct x86_cpu_state, 1);
    GError *error = NULL;
    struct test_vm *t;
    guint before, n;
    guint16 last;

    SKIP_WITHOUT_KVM();
    t = test_vm_new(counter_guest, sizeof(counter_guest), 1);

    /* Port I/O, MMIO, unassigned accesses and ROM writes do not stop it. */
    start_run(t, t->cpu);
    g_assert_true(wait_values(t, t->port_values, 8));
    kick_and_check(t);
    n = t->port_values->len;
    assert_counting(t->port_values, 0, n, 1);
    g_assert_cmpuint(t->mmio_values->len, >=, n);
    assert_counting(t->mmio_values, 0, n, 1);
    g_assert_cmphex(ram16(t, 0x1002), ==, 0x1234);     /* MMIO read */
    g_assert_cmphex(ram16(t, 0x1004), ==, 0xbeef);     /* port read */
    g_assert_cmphex(t->rom[0x800], ==, 0);             /* ROM write dropped */
    g_assert_cmpuint(memory_map_unassigned_count(t->m->io), >=, 1);
    g_assert_cmpuint(memory_map_unassigned_count(t->m->memory), >=, 1);

    /* A kick before vcpu_run makes it return at once, without running. */
    accel_kvm_ops.vcpu_kick(t->cpu);
    start_run(t, t->cpu);
    g_assert_true(wait_stopped(t, 1.0));
    g_assert_cmpint(t->last_exit, ==, VCPU_EXIT_KICKED);
    g_assert_cmpuint(t->port_values->len, ==, n);

    /* Save: BX holds the last value written, or one more. */
    last = value_at(t->port_values, n - 1);
    accel_kvm_ops.vcpu_get_state(t->cpu, saved, &error);
    g_assert_no_error(error);
    g_assert_cmpuint((guint16)saved->gpr[3] - last, <=, 1);
    g_assert_cmphex(saved->cs.base, ==, 0xffff0000);
    g_assert_cmphex(saved->cr0 & 1, ==, 0);

    /* Reset: the SDM power-on state. */
    accel_kvm_ops.vcpu_reset(t->cpu, &error);
    g_assert_no_error(error);
    accel_kvm_ops.vcpu_get_state(t->cpu, reset, &error);
    g_assert_no_error(error);
    g_assert_cmphex(reset->rip, ==, 0xfff0);
    g_assert_cmphex(reset->cs.selector, ==, 0xf000);
    g_assert_cmphex(reset->cs.base, ==, 0xffff0000);
    g_assert_cmphex(reset->cs.limit, ==, 0xffff);
    g_assert_cmphex(reset->rflags, ==, 0x2);
    g_assert_cmphex(reset->cr0, ==, 0x60000010);
    g_assert_cmphex(reset->gpr[3], ==, 0);
    g_assert_cmphex(reset->gpr[2], !=, 0);             /* EDX: signature */
    g_assert_cmphex(reset->dr[7], ==, 0x400);
    g_assert_cmphex(reset->apic_base, ==, 0xfee00900);
    g_assert_cmphex(lapic_reg(reset, 0xf0), ==, 0xff);         /* SVR */
    g_assert_cmphex(lapic_reg(reset, 0x320), ==, 0x10000);     /* timer */
    g_assert_cmphex(lapic_reg(reset, 0x350), ==, 0x700);       /* LINT0 */
    g_assert_cmpint(reset->mp_state, ==, X86_MP_RUNNABLE);

    /* Running from reset starts the count again. */
    before = values_len(t, t->port_values);
    start_run(t, t->cpu);
    g_assert_true(wait_values(t, t->port_values, before + 3));
    kick_and_check(t);
    assert_counting(t->port_values, before, 3, 1);

    /* Restore: the count goes on from where it was saved. */
    accel_kvm_ops.vcpu_set_state(t->cpu, saved, &error);
    g_assert_no_error(error);
    before = values_len(t, t->port_values);
    start_run(t, t->cpu);
    g_assert_true(wait_values(t, t->port_values, before + 3));
    kick_and_check(t);
    assert_counting(t->port_values, before, 3, last + 1);

    test_vm_free(t);
}

static void test_triple_fault(void)
{
    struct test_vm *t;

    SKIP_WITHOUT_KVM();
    t = test_vm_new(triple_fault_guest, sizeof(triple_fault_guest), 1);
    start_run(t, t->cpu);
    g_assert_true(wait_stopped(t, GUEST_TIMEOUT_S));
    g_assert_cmpint(t->last_exit, ==, VCPU_EXIT_SHUTDOWN);
    test_vm_free(t);
}

/* Each vCPU sees its own APIC ID and the machine's processor count. */
static void test_cpuid_and_ap_reset(void)
{
    g_autofree struct x86_cpu_state *ap = g_new0(struct x86_cpu_state, 1);
    GError *error = NULL;
    struct test_vm *t;

    SKIP_WITHOUT_KVM();
    t = test_vm_new(cpuid_guest, sizeof(cpuid_guest), 2);

    /* The AP waits for INIT/SIPI, with its own APIC ID. */
    accel_kvm_ops.vcpu_get_state(t->m->vcpus[1], ap, &error);
    g_assert_no_error(error);
    g_assert_cmpint(ap->mp_state, ==, X86_MP_UNINITIALIZED);
    g_assert_cmphex(ap->apic_base, ==, 0xfee00800);
    g_assert_cmphex(lapic_reg(ap, 0x20), ==, 1u << 24);       /* ID */
    g_assert_cmphex(lapic_reg(ap, 0x350), ==, 0x10000);       /* LINT0 */

    start_run(t, t->m->vcpus[0]);
    g_assert_true(wait_values(t, t->port_values, 1));
    kick_and_check(t);      /* out of HLT */
    g_assert_cmphex(value_at(t->port_values, 0), ==, 0x0002);

    /* Start the AP at the reset vector, as a SIPI to 0xf000 nearly would. */
    ap->mp_state = X86_MP_RUNNABLE;
    accel_kvm_ops.vcpu_set_state(t->m->vcpus[1], ap, &error);
    g_assert_no_error(error);
    start_run(t, t->m->vcpus[1]);
    g_assert_true(wait_values(t, t->port_values, 2));
    kick_and_check(t);
    g_assert_cmphex(value_at(t->port_values, 1), ==, 0x0102);
    test_vm_free(t);
}

static struct x86_msr *find_msr(struct x86_cpu_state *s, uint32_t index)
{
    for (unsigned i = 0; i < s->nr_msrs; i++)
        if (s->msrs[i].index == index)
            return &s->msrs[i];
    return NULL;
}

/* What set_state writes, get_state reads back. */
static void test_state_round_trip(void)
{
    g_autofree struct x86_cpu_state *s = g_new0(struct x86_cpu_state, 1);
    g_autofree struct x86_cpu_state *back = g_new0(struct x86_cpu_state, 1);
    static const uint8_t xmm0[16] = {
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    };
    uint16_t fcw = 0x27f;
    uint64_t xstate_bv;
    GError *error = NULL;
    struct test_vm *t;

    SKIP_WITHOUT_KVM();
    t = test_vm_new(counter_guest, sizeof(counter_guest), 1);
    accel_kvm_ops.vcpu_get_state(t->cpu, s, &error);
    g_assert_no_error(error);
    g_assert_nonnull(find_msr(s, MSR_LSTAR));
    g_assert_nonnull(find_msr(s, MSR_IA32_SYSENTER_CS));
    g_assert_nonnull(find_msr(s, MSR_IA32_CR_PAT));
    g_assert_cmphex(find_msr(s, MSR_IA32_CR_PAT)->value, ==,
                    0x0007040600070406);

    for (unsigned i = 0; i < 16; i++)
        s->gpr[i] = 0x1111111111111111ULL * (i % 15 + 1);
    s->rip = 0xfff3;
    s->rflags = 0x2 | (1u << 6);
    s->dr[0] = 0x1000;
    s->cr2 = 0xdead000;
    find_msr(s, MSR_LSTAR)->value = 0xffffffff81000000ULL;
    find_msr(s, MSR_IA32_SYSENTER_CS)->value = 0x10;
    find_msr(s, MSR_IA32_CR_PAT)->value = 0x0007010600070106ULL;
    memcpy(s->xsave, &fcw, 2);
    memcpy(s->xsave + 160, xmm0, sizeof(xmm0));
    memcpy(&xstate_bv, s->xsave + 512, 8);
    xstate_bv |= 3;
    memcpy(s->xsave + 512, &xstate_bv, 8);
    s->nmi_masked = true;

    accel_kvm_ops.vcpu_set_state(t->cpu, s, &error);
    g_assert_no_error(error);
    accel_kvm_ops.vcpu_get_state(t->cpu, back, &error);
    g_assert_no_error(error);

    for (unsigned i = 0; i < 16; i++)
        g_assert_cmphex(back->gpr[i], ==, s->gpr[i]);
    g_assert_cmphex(back->rip, ==, 0xfff3);
    g_assert_cmphex(back->rflags, ==, s->rflags);
    g_assert_cmphex(back->dr[0], ==, 0x1000);
    g_assert_cmphex(back->cr2, ==, 0xdead000);
    g_assert_cmphex(find_msr(back, MSR_LSTAR)->value, ==,
                    0xffffffff81000000ULL);
    g_assert_cmphex(find_msr(back, MSR_IA32_SYSENTER_CS)->value, ==, 0x10);
    g_assert_cmphex(find_msr(back, MSR_IA32_CR_PAT)->value, ==,
                    0x0007010600070106ULL);
    g_assert_cmpmem(back->xsave, 2, &fcw, 2);
    g_assert_cmpmem(back->xsave + 160, 16, xmm0, 16);
    g_assert_true(back->nmi_masked);
    g_assert_cmpmem(back->lapic, sizeof(back->lapic) / 4, s->lapic,
                    sizeof(s->lapic) / 4);
    test_vm_free(t);
}

static void test_platform_state(void)
{
    struct x86_platform_state s0, s1, s2;
    GError *error = NULL;
    struct test_vm *t;
    uint64_t clock_before;

    SKIP_WITHOUT_KVM();
    t = test_vm_new(counter_guest, sizeof(counter_guest), 1);

    accel_kvm_ops.get_platform_state(t->m, &s0, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(s0.pit[0].mode, !=, 2);
    for (unsigned pin = 0; pin < X86_IOAPIC_PINS; pin++)
        g_assert_cmphex(s0.ioapic.redirection[pin], ==, 1u << 16);

    /* Program the chips as a BIOS would, and read them back. */
    s1 = s0;
    s1.pit[0].mode = 2;
    s1.pit[0].count = 1193;
    s1.pit[0].rw_mode = 3;
    s1.pic[0].irq_base = 0x08;
    s1.pic[0].imr = 0xfa;
    s1.pic[1].irq_base = 0x70;
    s1.pic[1].imr = 0xff;
    s1.ioapic.redirection[4] = (1u << 16) | (1u << 15) | 0x34;
    accel_kvm_ops.set_platform_state(t->m, &s1, &error);
    g_assert_no_error(error);
    accel_kvm_ops.get_platform_state(t->m, &s2, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(s2.pit[0].mode, ==, 2);
    g_assert_cmpuint(s2.pit[0].count, ==, 1193);
    g_assert_cmphex(s2.pic[0].imr, ==, 0xfa);
    g_assert_cmphex(s2.pic[0].irq_base, ==, 0x08);
    g_assert_cmphex(s2.pic[1].irq_base, ==, 0x70);
    g_assert_cmphex(s2.ioapic.redirection[4], ==, s1.ioapic.redirection[4]);

    /* Reset: power-on chips, every I/O APIC pin masked, the PIT idle. */
    accel_kvm_ops.platform_reset(t->m, &error);
    g_assert_no_error(error);
    accel_kvm_ops.get_platform_state(t->m, &s2, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(s2.pit[0].mode, ==, s0.pit[0].mode);
    g_assert_cmphex(s2.pic[0].imr, ==, s0.pic[0].imr);
    g_assert_cmphex(s2.pic[0].irq_base, ==, s0.pic[0].irq_base);
    for (unsigned pin = 0; pin < X86_IOAPIC_PINS; pin++)
        g_assert_cmphex(s2.ioapic.redirection[pin], ==, 1u << 16);

    /* GSI 0 reaches 8259 IRQ0 and I/O APIC pin 2; GSI 4 pin 4; 12 the slave. */
    accel_kvm_ops.set_irq(t->m, 0, true);
    accel_kvm_ops.set_irq(t->m, 4, true);
    accel_kvm_ops.set_irq(t->m, 12, true);
    accel_kvm_ops.get_platform_state(t->m, &s2, &error);
    g_assert_no_error(error);
    g_assert_cmphex(s2.ioapic.irr & 0x1015, ==, 0x1014);
    g_assert_cmphex(s2.pic[0].irr & 0x11, ==, 0x11);
    g_assert_cmphex(s2.pic[1].irr & 0x10, ==, 0x10);
    accel_kvm_ops.set_irq(t->m, 0, false);
    accel_kvm_ops.set_irq(t->m, 4, false);
    accel_kvm_ops.set_irq(t->m, 12, false);
    accel_kvm_ops.get_platform_state(t->m, &s2, &error);
    g_assert_no_error(error);
    g_assert_cmphex(s2.ioapic.irr & 0x1015, ==, 0);

    /* What was saved comes back after the reset. */
    accel_kvm_ops.set_platform_state(t->m, &s1, &error);
    g_assert_no_error(error);
    accel_kvm_ops.get_platform_state(t->m, &s2, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(s2.pit[0].mode, ==, 2);
    g_assert_cmpuint(s2.pit[0].count, ==, 1193);
    g_assert_cmpuint(s2.pit[0].rw_mode, ==, 3);
    g_assert_cmphex(s2.pic[0].imr, ==, 0xfa);
    g_assert_cmphex(s2.pic[1].irq_base, ==, 0x70);
    g_assert_cmphex(s2.ioapic.redirection[4], ==, s1.ioapic.redirection[4]);

    /* The guest clock: set, and stopped while paused. */
    s1.clock_ns = s2.clock_ns + 10 * G_TIME_SPAN_SECOND * 1000;
    accel_kvm_ops.set_platform_state(t->m, &s1, &error);
    g_assert_no_error(error);
    accel_kvm_ops.get_platform_state(t->m, &s2, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(s2.clock_ns, >=, s1.clock_ns);
    g_assert_cmpuint(s2.clock_ns - s1.clock_ns, <, G_TIME_SPAN_SECOND * 1000);

    clock_before = s2.clock_ns;
    accel_kvm_ops.clock_pause(t->m);
    g_usleep(500 * G_TIME_SPAN_MILLISECOND);
    accel_kvm_ops.get_platform_state(t->m, &s2, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(s2.clock_ns - clock_before, <, PAUSE_SLACK_NS);
    accel_kvm_ops.clock_resume(t->m);
    accel_kvm_ops.get_platform_state(t->m, &s2, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(s2.clock_ns, >=, clock_before);
    g_assert_cmpuint(s2.clock_ns - clock_before, <, PAUSE_SLACK_NS);
    test_vm_free(t);
}

/* Memory KVM cannot map is refused with a message naming the region. */
static void test_unaligned_region(void)
{
    struct machine *m;
    GError *error = NULL;
    uint8_t *ram;

    SKIP_WITHOUT_KVM();
    m = g_new0(struct machine, 1);
    g_mutex_init(&m->device_lock);
    m->memory = memory_map_new("memory", UINT64_C(1) << 32, &m->device_lock);
    m->io = memory_map_new("io", 0x10000, &m->device_lock);
    m->nr_vcpus = 1;
    ram = map_anonymous(0x2000);
    g_assert_nonnull(memory_map_add_ram(m->memory, "odd-ram", 0, 0x1800, ram,
                                        &error));
    g_assert_cmpint(accel_kvm_ops.init(m, &error), <, 0);
    g_assert_error(error, MIMIC_ERROR, MIMIC_ERROR_NO_ACCEL);
    g_assert_nonnull(strstr(error->message, "odd-ram"));
    g_assert_null(m->accel_state);
    g_clear_error(&error);
    memory_map_free(m->memory);
    memory_map_free(m->io);
    g_mutex_clear(&m->device_lock);
    munmap(ram, 0x2000);
    g_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/kvm/counter-kick-reset-restore",
                    test_counter_kick_reset_restore);
    g_test_add_func("/kvm/triple-fault", test_triple_fault);
    g_test_add_func("/kvm/cpuid-and-ap-reset", test_cpuid_and_ap_reset);
    g_test_add_func("/kvm/state-round-trip", test_state_round_trip);
    g_test_add_func("/kvm/platform-state", test_platform_state);
    g_test_add_func("/kvm/unaligned-region", test_unaligned_region);
    return g_test_run();
}
