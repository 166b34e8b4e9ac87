/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Several software x86 CPUs on one memory, each on its own host thread:
 * locked read-modify-writes are atomic against each other and against plain
 * stores (SDM vol. 3, 8.1.2), and code one CPU rewrites runs with its new
 * bytes on another after a serializing instruction (8.1.3).
 */
#include <glib.h>
#include <string.h>

#include "engine/memory.h"
#include "jit/x86/code-cache.h"
#include "jit/x86/cpu.h"

#define RAM_SIZE (1u << 20)
#define NR_CPUS 2
#define ITERATIONS 200000       /* even: LOCK BTC leaves its bit clear */
#define TIME_LIMIT_US (20 * G_USEC_PER_SEC)

struct smp;

struct vcpu {
    struct smp *smp;
    struct x86_cpu cpu;
    GThread *thread;
    /* Code another CPU wrote, dropped between slices (code_lock guards). */
    GMutex code_lock;
    int code_dirty;             /* atomic */
    unsigned nr_written;
    bool written_overflow;
    struct { uint64_t addr, length; } written[16];
    enum x86_exit exit;
    bool timed_out;
};

struct smp {
    struct memory_map *map;
    uint8_t *ram;
    struct x86_code_sharing *sharing;
    gint64 deadline;
    struct vcpu *cpus[NR_CPUS];
};

/* x86_code_sharing.written: what the JIT accelerator does, in small. */
static void on_code_written(void *opaque, uint64_t cpus, uint64_t physical,
                            uint64_t length)
{
    struct smp *s = opaque;

    for (unsigned i = 0; i < NR_CPUS; i++) {
        struct vcpu *v = s->cpus[i];

        if (!(cpus & (1ull << i)))
            continue;
        g_mutex_lock(&v->code_lock);
        if (v->nr_written < G_N_ELEMENTS(v->written)) {
            v->written[v->nr_written].addr = physical;
            v->written[v->nr_written].length = length;
            v->nr_written++;
        } else {
            v->written_overflow = true;
        }
        g_mutex_unlock(&v->code_lock);
        __atomic_store_n(&v->code_dirty, 1, __ATOMIC_SEQ_CST);
        x86_cpu_stop(&v->cpu);
    }
}

static void drop_written_code(struct vcpu *v)
{
    g_mutex_lock(&v->code_lock);
    if (v->written_overflow) {
        x86_code_flush(&v->cpu);
    } else {
        for (unsigned i = 0; i < v->nr_written; i++)
            x86_code_invalidate_range(&v->cpu, v->written[i].addr,
                                      v->written[i].length);
    }
    v->nr_written = 0;
    v->written_overflow = false;
    g_mutex_unlock(&v->code_lock);
}

static struct smp *smp_new(void)
{
    struct smp *s = g_new0(struct smp, 1);

    s->map = memory_map_new("smp-test", 1ull << 32, NULL);
    s->ram = g_malloc0(RAM_SIZE);
    g_assert_nonnull(memory_map_add_ram(s->map, "ram", 0, RAM_SIZE, s->ram, NULL));
    s->sharing = x86_code_sharing_new(on_code_written, s);
    g_assert_nonnull(s->sharing);
    for (unsigned i = 0; i < NR_CPUS; i++) {
        struct vcpu *v = g_new0(struct vcpu, 1);

        v->smp = s;
        g_mutex_init(&v->code_lock);
        x86_cpu_init(&v->cpu, s->map);
        x86_cpu_set_flat64(&v->cpu);
        v->cpu.code_sharing = s->sharing;
        v->cpu.code_sharing_index = i;
        v->cpu.gpr[X86_RSP] = 0x8000 + 0x1000 * i;
        s->cpus[i] = v;
    }
    return s;
}

static void smp_free(struct smp *s)
{
    for (unsigned i = 0; i < NR_CPUS; i++) {
        x86_cpu_destroy(&s->cpus[i]->cpu);
        g_mutex_clear(&s->cpus[i]->code_lock);
        g_free(s->cpus[i]);
    }
    x86_code_sharing_free(s->sharing);
    memory_map_free(s->map);
    g_free(s->ram);
    g_free(s);
}

/* Run until the INT3 that ends each guest program, or the time limit. */
static gpointer run_vcpu(gpointer data)
{
    struct vcpu *v = data;

    for (;;) {
        if (__atomic_exchange_n(&v->code_dirty, 0, __ATOMIC_SEQ_CST))
            drop_written_code(v);
        v->exit = x86_cpu_run(&v->cpu, 1u << 16);
        if (v->exit == X86_EXIT_EXCEPTION)
            break;
        if (g_get_monotonic_time() > v->smp->deadline) {
            v->timed_out = true;
            break;
        }
    }
    return NULL;
}

static void run_all(struct smp *s)
{
    s->deadline = g_get_monotonic_time() + TIME_LIMIT_US;
    for (unsigned i = 0; i < NR_CPUS; i++)
        s->cpus[i]->thread = g_thread_new("vcpu", run_vcpu, s->cpus[i]);
    for (unsigned i = 0; i < NR_CPUS; i++) {
        struct vcpu *v = s->cpus[i];

        g_thread_join(v->thread);
        g_assert_false(v->timed_out);
        g_assert_cmpint(v->exit, ==, X86_EXIT_EXCEPTION);
        g_assert_cmpuint(v->cpu.exception_vector, ==, X86_EXC_BP);
    }
}

static void poke(struct smp *s, uint64_t addr, const char *hex)
{
    for (const char *p = hex; *p; ) {
        if (*p == ' ') {
            p++;
            continue;
        }
        s->ram[addr++] = (uint8_t)(g_ascii_xdigit_value(p[0]) << 4 |
                                   g_ascii_xdigit_value(p[1]));
        p += 2;
    }
}

static uint64_t peek(struct smp *s, uint64_t addr, unsigned size)
{
    uint64_t v = 0;

    memcpy(&v, s->ram + addr, size);
    return v;
}

/*
 * Every CPU runs the same loop R12 times; each counter must come out exact.
 * A lost update shows as a short count, a failed CMPXCHG writing back over
 * a plain unlock as a hang.
 */
static void test_locked(void)
{
    struct smp *s = smp_new();
    uint64_t total = (uint64_t)NR_CPUS * ITERATIONS;

    poke(s, 0x1000,
         "f0 48 ff 04 25 00 00 01 00"       /* top: lock inc qword [0x10000] */
         " b8 03 00 00 00"                  /* mov eax, 3 */
         " f0 48 0f c1 04 25 08 00 01 00"   /* lock xadd [0x10008], rax */
         " 31 c0"                           /* acquire: xor eax, eax */
         " ba 01 00 00 00"                  /* mov edx, 1 */
         " f0 0f b1 14 25 10 00 01 00"      /* lock cmpxchg [0x10010], edx */
         " 74 04"                           /* je locked */
         " f3 90"                           /* pause */
         " eb ea"                           /* jmp acquire */
         " 48 8b 04 25 18 00 01 00"         /* locked: mov rax, [0x10018] */
         " 48 ff c0"                        /* inc rax */
         " 48 89 04 25 18 00 01 00"         /* mov [0x10018], rax */
         " c7 04 25 10 00 01 00 00 00 00 00" /* mov dword [0x10010], 0 */
         " b8 01 00 00 00"                  /* tas: mov eax, 1 */
         " 87 04 25 30 00 01 00"            /* xchg [0x10030], eax */
         " 85 c0"                           /* test eax, eax */
         " 74 04"                           /* jz tas_locked */
         " f3 90"                           /* pause */
         " eb ec"                           /* jmp tas */
         " 48 8b 04 25 38 00 01 00"         /* tas_locked: mov rax, [0x10038] */
         " 48 83 c0 02"                     /* add rax, 2 */
         " 48 89 04 25 38 00 01 00"         /* mov [0x10038], rax */
         " c7 04 25 30 00 01 00 00 00 00 00" /* mov dword [0x10030], 0 */
         " 48 8b 04 25 40 00 01 00"         /* mov rax, [0x10040] */
         " 48 8b 14 25 48 00 01 00"         /* mov rdx, [0x10048] */
         " 48 8d 58 01"                     /* retry: lea rbx, [rax + 1] */
         " 48 8d 4a 05"                     /* lea rcx, [rdx + 5] */
         " f0 48 0f c7 0c 25 40 00 01 00"   /* lock cmpxchg16b [0x10040] */
         " 75 ec"                           /* jne retry */
         " 66 f0 83 04 25 53 00 01 00 01"   /* lock add word [0x10053], 1 */
         " f0 4c 0f bb 2c 25 60 00 01 00"   /* lock btc [0x10060], r13 */
         " f0 ff 04 25 fe 0f 01 00"         /* lock inc dword [0x10ffe] */
         " 49 ff cc"                        /* dec r12 */
         " 0f 85 38 ff ff ff"               /* jnz top */
         " cc");
    for (unsigned i = 0; i < NR_CPUS; i++) {
        s->cpus[i]->cpu.rip = 0x1000;
        s->cpus[i]->cpu.gpr[12] = ITERATIONS;
        s->cpus[i]->cpu.gpr[13] = i;
    }
    run_all(s);
    g_test_message("counters %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                   " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                   " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                   " %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT,
                   peek(s, 0x10000, 8), peek(s, 0x10008, 8), peek(s, 0x10018, 8),
                   peek(s, 0x10038, 8), peek(s, 0x10040, 8), peek(s, 0x10048, 8),
                   peek(s, 0x10053, 2), peek(s, 0x10060, 8), peek(s, 0x10ffe, 4),
                   total);
    g_assert_cmpuint(peek(s, 0x10000, 8), ==, total);          /* LOCK INC */
    g_assert_cmpuint(peek(s, 0x10008, 8), ==, 3 * total);      /* LOCK XADD */
    g_assert_cmpuint(peek(s, 0x10018, 8), ==, total);          /* CMPXCHG lock */
    g_assert_cmpuint(peek(s, 0x10038, 8), ==, 2 * total);      /* XCHG lock */
    g_assert_cmpuint(peek(s, 0x10040, 8), ==, total);          /* CMPXCHG16B */
    g_assert_cmpuint(peek(s, 0x10048, 8), ==, 5 * total);
    g_assert_cmpuint(peek(s, 0x10053, 2), ==, total & 0xffff); /* misaligned */
    g_assert_cmpuint(peek(s, 0x10060, 8), ==, 0);              /* LOCK BTC */
    g_assert_cmpuint(peek(s, 0x10ffe, 4), ==, total);          /* split */
    smp_free(s);
}

/*
 * CPU 0 calls a function returning an immediate, executes CPUID and
 * reports what it got; CPU 1 rewrites the immediate (2, 3, ... 1000),
 * each time waiting until CPU 0 reported it. A CPU running its stale
 * decoded copy never reports and the test times out.
 */
static void test_cross_modifying(void)
{
    struct smp *s = smp_new();

    poke(s, 0x4000, "b8 01 00 00 00 c3");          /* mov eax, 1; ret */
    poke(s, 0x3000,
         "31 c0"                                    /* top: xor eax, eax */
         " 0f a2"                                   /* cpuid */
         " e8 f7 0f 00 00"                          /* call 0x4000 */
         " 89 04 25 04 01 01 00"                    /* mov [0x10104], eax */
         " 3d e8 03 00 00"                          /* cmp eax, 1000 */
         " 75 e9"                                   /* jne top */
         " cc");
    poke(s, 0x3800,
         "bb 02 00 00 00"                           /* mov ebx, 2 */
         " 89 1c 25 01 40 00 00"                    /* top: mov [0x4001], ebx */
         " f3 90"                                   /* wait: pause */
         " 39 1c 25 04 01 01 00"                    /* cmp [0x10104], ebx */
         " 75 f5"                                   /* jne wait */
         " ff c3"                                   /* inc ebx */
         " 81 fb e9 03 00 00"                       /* cmp ebx, 1001 */
         " 75 e4"                                   /* jne top */
         " cc");
    s->cpus[0]->cpu.rip = 0x3000;
    s->cpus[1]->cpu.rip = 0x3800;
    run_all(s);
    g_assert_cmpuint(peek(s, 0x10104, 4), ==, 1000);
    g_assert_cmpuint(s->cpus[0]->cpu.gpr[X86_RAX], ==, 1000);
    smp_free(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/x86/smp/locked", test_locked);
    g_test_add_func("/x86/smp/cross-modifying", test_cross_modifying);
    return g_test_run();
}
