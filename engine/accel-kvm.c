/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The KVM accelerator: the VM and its in-kernel chips, memory slots, vCPUs
 * (CPUID, run loop, kick), interrupt lines, the guest clock and resets.
 * Written from the KVM API documentation (Documentation/virt/kvm/api.rst).
 */
#define G_LOG_DOMAIN "mimic-kvm"

#include "engine/accel-kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/machine.h"
#include "engine/memory.h"
#include "engine/vcpu.h"
#include "engine/vm.h"

#define KVM_EXPECTED_API_VERSION 12
#define KVM_GUEST_PAGE_SIZE 4096u

/* The signal that kicks a vCPU thread out of KVM_RUN. */
#define KVM_KICK_SIGNAL SIGUSR1

/*
 * Where KVM may put the three-page TSS and the one-page identity-mapped page
 * table it needs to run real mode on VMX without unrestricted guest
 * (api.rst, KVM_SET_TSS_ADDR and KVM_SET_IDENTITY_MAP_ADDR). The first
 * candidate sits below a 256 KiB BIOS; the second below a 16 MiB one.
 */
static const uint64_t kvm_identity_map_candidates[] = {
    0xfffbc000, 0xfeffc000,
};
#define KVM_PRIVATE_AREA_SIZE (4 * 0x1000)  /* identity map page + TSS */

int kvm_ioctl_error(GError **error, int saved_errno, const char *what,
                    unsigned vcpu_index)
{
    if (vcpu_index == UINT_MAX)
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_NO_ACCEL,
                    "KVM: %s failed: %s", what, g_strerror(saved_errno));
    else
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_NO_ACCEL,
                    "KVM: vCPU %u: %s failed: %s", vcpu_index, what,
                    g_strerror(saved_errno));
    return -saved_errno;
}

static int vm_error(GError **error, const char *what)
{
    return kvm_ioctl_error(error, errno, what, UINT_MAX);
}

/* ---- /dev/kvm and the VM ------------------------------------------------- */

static int open_kvm(struct kvm_machine_state *ks, GError **error)
{
    int version;

    ks->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (ks->kvm_fd < 0) {
        int e = errno;

        if (e == ENOENT || e == ENXIO || e == ENODEV)
            g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_NO_ACCEL,
                        "/dev/kvm does not exist: is the kvm module loaded / "
                        "does this machine have hardware virtualization?");
        else if (e == EACCES || e == EPERM)
            g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_NO_ACCEL,
                        "permission denied opening /dev/kvm: add your user to "
                        "the \"kvm\" group (then log in again)");
        else
            g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_NO_ACCEL,
                        "cannot open /dev/kvm: %s", g_strerror(e));
        return -e;
    }
    version = ioctl(ks->kvm_fd, KVM_GET_API_VERSION, 0);
    if (version < 0) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_NO_ACCEL,
                    "/dev/kvm is not a KVM device (KVM_GET_API_VERSION: %s)",
                    g_strerror(errno));
        return -ENOTSUP;
    }
    if (version != KVM_EXPECTED_API_VERSION) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_NO_ACCEL,
                    "/dev/kvm speaks KVM API version %d; Mimic needs "
                    "version %d", version, KVM_EXPECTED_API_VERSION);
        return -ENOTSUP;
    }
    return 0;
}

static int check_extension(int fd, long cap)
{
    int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

    return r < 0 ? 0 : r;
}

static int check_capabilities(struct kvm_machine_state *ks, GError **error)
{
    static const struct {
        long cap;
        const char *name;
    } required[] = {
        { KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
        { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
        { KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM" },
        { KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
        { KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
        { KVM_CAP_PIT2, "KVM_CAP_PIT2" },
        { KVM_CAP_PIT_STATE2, "KVM_CAP_PIT_STATE2" },
        { KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
        { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
        { KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
        { KVM_CAP_ADJUST_CLOCK, "KVM_CAP_ADJUST_CLOCK" },
        { KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS" },
        { KVM_CAP_DEBUGREGS, "KVM_CAP_DEBUGREGS" },
        { KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
    };
    g_autoptr(GString) missing = g_string_new(NULL);
    int size;

    for (size_t i = 0; i < G_N_ELEMENTS(required); i++) {
        if (check_extension(ks->kvm_fd, required[i].cap) > 0)
            continue;
        if (missing->len)
            g_string_append(missing, ", ");
        g_string_append(missing, required[i].name);
    }
    if (missing->len) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_NO_ACCEL,
                    "KVM on this host lacks capabilities Mimic needs: %s "
                    "(is the kernel too old?)", missing->str);
        return -ENOTSUP;
    }

    ks->caps.sregs2 = check_extension(ks->kvm_fd, KVM_CAP_SREGS2) > 0;
    ks->caps.xsave = check_extension(ks->kvm_fd, KVM_CAP_XSAVE) > 0;
    ks->caps.xcrs = check_extension(ks->kvm_fd, KVM_CAP_XCRS) > 0;
    ks->caps.tsc_deadline =
        check_extension(ks->kvm_fd, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
    size = check_extension(ks->kvm_fd, KVM_CAP_XSAVE2);
    ks->caps.xsave_size = MAX((size_t)size, sizeof(struct kvm_xsave));

    size = ioctl(ks->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < (int)sizeof(struct kvm_run))
        return vm_error(error, "KVM_GET_VCPU_MMAP_SIZE");
    ks->run_size = size;
    return 0;
}

/* What KVM can offer a guest: the CPUID template and the MSRs it knows. */
static int query_supported(struct kvm_machine_state *ks, GError **error)
{
    struct kvm_msr_list probe = { .nmsrs = 0 };

    for (unsigned nent = 128;; nent *= 2) {
        ks->supported_cpuid = g_malloc0(sizeof(struct kvm_cpuid2) +
                                        nent * sizeof(struct kvm_cpuid_entry2));
        ks->supported_cpuid->nent = nent;
        if (ioctl(ks->kvm_fd, KVM_GET_SUPPORTED_CPUID,
                  ks->supported_cpuid) == 0)
            break;
        g_clear_pointer(&ks->supported_cpuid, g_free);
        if (errno != E2BIG || nent >= 4096)
            return vm_error(error, "KVM_GET_SUPPORTED_CPUID");
    }

    /* A first call with room for nothing says how many there are. */
    if (ioctl(ks->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
        return vm_error(error, "KVM_GET_MSR_INDEX_LIST");
    ks->msr_index_list = g_malloc0(sizeof(struct kvm_msr_list) +
                                   probe.nmsrs * sizeof(uint32_t));
    ks->msr_index_list->nmsrs = probe.nmsrs;
    if (ioctl(ks->kvm_fd, KVM_GET_MSR_INDEX_LIST, ks->msr_index_list) < 0)
        return vm_error(error, "KVM_GET_MSR_INDEX_LIST");
    return 0;
}

static bool range_is_free(struct memory_map *map, uint64_t base, uint64_t size)
{
    unsigned n = memory_map_region_count(map);

    for (unsigned i = 0; i < n; i++) {
        const struct memory_region *r = memory_map_region(map, i);

        if (r->base < base + size && base < r->base + r->size)
            return false;
    }
    return true;
}

static int set_private_areas(struct kvm_machine_state *ks, struct machine *m,
                             GError **error)
{
    for (size_t i = 0; i < G_N_ELEMENTS(kvm_identity_map_candidates); i++) {
        uint64_t identity = kvm_identity_map_candidates[i];

        if (!range_is_free(m->memory, identity, KVM_PRIVATE_AREA_SIZE))
            continue;
        if (ioctl(ks->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
            return vm_error(error, "KVM_SET_IDENTITY_MAP_ADDR");
        if (ioctl(ks->vm_fd, KVM_SET_TSS_ADDR,
                  (unsigned long)(identity + 0x1000)) < 0)
            return vm_error(error, "KVM_SET_TSS_ADDR");
        return 0;
    }
    g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_NO_ACCEL,
                "KVM: no free guest-physical space below 4 GiB for KVM's "
                "real-mode TSS and identity map (0x%" G_GINT64_MODIFIER "x "
                "and 0x%" G_GINT64_MODIFIER "x are both taken)",
                kvm_identity_map_candidates[0], kvm_identity_map_candidates[1]);
    return -ENOSPC;
}

/*
 * One memory slot per RAM or ROM region. ROM is read-only to the guest
 * (api.rst, KVM_SET_USER_MEMORY_REGION, KVM_MEM_READONLY): its writes exit
 * as MMIO and reach memory_map_dispatch_write, which drops them.
 */
static int add_slot(struct kvm_machine_state *ks, const struct memory_region *r,
                    GError **error)
{
    struct kvm_userspace_memory_region slot = { 0 };
    uintptr_t host_page = sysconf(_SC_PAGESIZE);
    unsigned id;

    if (r->base % KVM_GUEST_PAGE_SIZE || r->size % KVM_GUEST_PAGE_SIZE ||
        r->size == 0 || (uintptr_t)r->host % host_page) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_NO_ACCEL,
                    "KVM: memory region \"%s\" (0x%" G_GINT64_MODIFIER "x, "
                    "%" G_GUINT64_FORMAT " bytes) is not page-aligned",
                    r->name, r->base, r->size);
        return -EINVAL;
    }
    /* Reuse the lowest slot a removed region left free. */
    for (id = 0; id < ks->nr_slots; id++)
        if (!g_hash_table_contains(ks->slot_of_region_inverse, GUINT_TO_POINTER(id + 1)))
            break;
    if (ks->max_slots > 0 && id >= (unsigned)ks->max_slots) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_NO_ACCEL,
                    "KVM: too many memory regions (KVM allows %d slots)",
                    ks->max_slots);
        return -ENOSPC;
    }
    slot.slot = id;
    slot.flags = r->kind == MEMORY_REGION_ROM ? KVM_MEM_READONLY : 0;
    slot.guest_phys_addr = r->base;
    slot.memory_size = r->size;
    slot.userspace_addr = (uintptr_t)r->host;
    if (ioctl(ks->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
        int e = errno;

        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_NO_ACCEL,
                    "KVM: cannot map memory region \"%s\" at 0x%"
                    G_GINT64_MODIFIER "x: %s", r->name, r->base,
                    g_strerror(e));
        return -e;
    }
    g_hash_table_insert(ks->slot_of_region, (gpointer)r, GUINT_TO_POINTER(id + 1));
    g_hash_table_insert(ks->slot_of_region_inverse, GUINT_TO_POINTER(id + 1),
                        (gpointer)r);
    ks->nr_slots = MAX(ks->nr_slots, id + 1);
    return 0;
}

static void remove_slot(struct kvm_machine_state *ks, const struct memory_region *r)
{
    guint key = GPOINTER_TO_UINT(g_hash_table_lookup(ks->slot_of_region, r));
    struct kvm_userspace_memory_region slot = { 0 };

    if (!key)
        return;
    /* A size of 0 deletes the slot (api.rst, KVM_SET_USER_MEMORY_REGION). */
    slot.slot = key - 1;
    if (ioctl(ks->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
        g_message("KVM: cannot unmap memory region \"%s\": %s", r->name,
                  g_strerror(errno));
    g_hash_table_remove(ks->slot_of_region, r);
    g_hash_table_remove(ks->slot_of_region_inverse, GUINT_TO_POINTER(key));
}

/* RAM and ROM that appear or go while the machine lives (BARs, VGA windows). */
static void on_memory_change(void *opaque, const struct memory_region *r,
                             bool added)
{
    struct kvm_machine_state *ks = opaque;
    g_autoptr(GError) error = NULL;

    if (r->kind == MEMORY_REGION_IO)
        return;
    g_mutex_lock(&ks->slots_lock);
    if (!added)
        remove_slot(ks, r);
    else if (add_slot(ks, r, &error) < 0)
        g_message("%s; the guest will see nothing there", error->message);
    g_mutex_unlock(&ks->slots_lock);
}

static int add_memory_slots(struct kvm_machine_state *ks, struct machine *m,
                            GError **error)
{
    unsigned n = memory_map_region_count(m->memory);

    ks->max_slots = check_extension(ks->kvm_fd, KVM_CAP_NR_MEMSLOTS);
    for (unsigned i = 0; i < n; i++) {
        const struct memory_region *r = memory_map_region(m->memory, i);

        if (r->kind == MEMORY_REGION_IO)
            continue;
        if (add_slot(ks, r, error) < 0)
            return -1;
    }
    memory_map_set_listener(m->memory, on_memory_change, ks);
    return 0;
}

static void add_route(struct kvm_irq_routing *table, unsigned gsi,
                      unsigned chip, unsigned pin)
{
    struct kvm_irq_routing_entry *e = &table->entries[table->nr++];

    e->gsi = gsi;
    e->type = KVM_IRQ_ROUTING_IRQCHIP;
    e->u.irqchip.irqchip = chip;
    e->u.irqchip.pin = pin;
}

/*
 * GSIs as a PC wires them (api.rst, KVM_SET_GSI_ROUTING): ISA IRQ n on
 * 8259 pin n and I/O APIC pin n, except IRQ0 (the PIT, which KVM raises as
 * GSI 0) on I/O APIC pin 2 — the interrupt source override the MADT
 * describes (ACPI 6.5, 5.2.12.5). GSI 2 is the 8259 cascade and is left
 * unrouted so that nothing aliases the timer on pin 2. GSIs 16-23 are the
 * I/O APIC's PCI pins.
 */
static int setup_gsi_routing(struct kvm_machine_state *ks, GError **error)
{
    g_autofree struct kvm_irq_routing *table =
        g_malloc0(sizeof(*table) + 2 * X86_IOAPIC_PINS *
                  sizeof(struct kvm_irq_routing_entry));

    for (unsigned gsi = 0; gsi < X86_IOAPIC_PINS; gsi++) {
        if (gsi == 2)
            continue;
        if (gsi < 16)
            add_route(table, gsi,
                      gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
                      gsi % 8);
        add_route(table, gsi, KVM_IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi);
    }
    if (ioctl(ks->vm_fd, KVM_SET_GSI_ROUTING, table) < 0)
        return vm_error(error, "KVM_SET_GSI_ROUTING");
    return 0;
}

/*
 * The in-kernel 8259 pair, I/O APIC and 8254 (api.rst, KVM_CREATE_IRQCHIP
 * and KVM_CREATE_PIT2). The PIT also serves port 0x61 (KVM_PIT_SPEAKER_DUMMY)
 * because the speaker port's bit 5 reads counter 2's output, which only the
 * kernel knows.
 */
static int create_chips(struct kvm_machine_state *ks, GError **error)
{
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

    if (ioctl(ks->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return vm_error(error, "KVM_CREATE_IRQCHIP");
    if (setup_gsi_routing(ks, error) < 0)
        return -EINVAL;
    if (ioctl(ks->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
        return vm_error(error, "KVM_CREATE_PIT2");

    /* The chips as created: the power-on state platform_reset restores. */
    for (unsigned i = 0; i < 2; i++) {
        ks->reset_pic[i].chip_id = i == 0 ? KVM_IRQCHIP_PIC_MASTER
                                          : KVM_IRQCHIP_PIC_SLAVE;
        if (ioctl(ks->vm_fd, KVM_GET_IRQCHIP, &ks->reset_pic[i]) < 0)
            return vm_error(error, "KVM_GET_IRQCHIP");
    }
    ks->reset_ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
    if (ioctl(ks->vm_fd, KVM_GET_IRQCHIP, &ks->reset_ioapic) < 0)
        return vm_error(error, "KVM_GET_IRQCHIP");
    /* I/O APIC after reset: every redirection entry masked (82093AA, 3.2.4). */
    for (unsigned pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++)
        ks->reset_ioapic.chip.ioapic.redirtbl[pin].bits = 1ULL << 16;
    ks->reset_ioapic.chip.ioapic.irr = 0;
    if (ioctl(ks->vm_fd, KVM_GET_PIT2, &ks->reset_pit) < 0)
        return vm_error(error, "KVM_GET_PIT2");
    return 0;
}

static void machine_state_free(struct kvm_machine_state *ks)
{
    if (ks->machine && ks->machine->memory)
        memory_map_set_listener(ks->machine->memory, NULL, NULL);
    g_hash_table_unref(ks->slot_of_region);
    g_hash_table_unref(ks->slot_of_region_inverse);
    g_mutex_clear(&ks->slots_lock);
    if (ks->vm_fd >= 0)
        close(ks->vm_fd);
    if (ks->kvm_fd >= 0)
        close(ks->kvm_fd);
    g_free(ks->supported_cpuid);
    g_free(ks->msr_index_list);
    g_mutex_clear(&ks->clock_lock);
    g_free(ks);
}

static int kvm_init(struct machine *m, GError **error)
{
    struct kvm_machine_state *ks = g_new0(struct kvm_machine_state, 1);
    int r;

    ks->machine = m;
    ks->kvm_fd = -1;
    ks->vm_fd = -1;
    g_mutex_init(&ks->clock_lock);
    g_mutex_init(&ks->slots_lock);
    ks->slot_of_region = g_hash_table_new(NULL, NULL);
    ks->slot_of_region_inverse = g_hash_table_new(NULL, NULL);

    r = open_kvm(ks, error);
    if (r < 0)
        goto out_free_state;
    r = check_capabilities(ks, error);
    if (r < 0)
        goto out_free_state;
    r = query_supported(ks, error);
    if (r < 0)
        goto out_free_state;

    do {
        ks->vm_fd = ioctl(ks->kvm_fd, KVM_CREATE_VM, 0);
    } while (ks->vm_fd < 0 && errno == EINTR);
    if (ks->vm_fd < 0) {
        r = vm_error(error, "KVM_CREATE_VM");
        goto out_free_state;
    }
    r = set_private_areas(ks, m, error);
    if (r < 0)
        goto out_free_state;
    r = create_chips(ks, error);
    if (r < 0)
        goto out_free_state;
    r = add_memory_slots(ks, m, error);
    if (r < 0)
        goto out_free_state;

    m->accel_state = ks;
    return 0;

out_free_state:
    machine_state_free(ks);
    return r;
}

static void kvm_destroy(struct machine *m)
{
    struct kvm_machine_state *ks = m->accel_state;

    if (!ks)
        return;
    machine_state_free(ks);
    m->accel_state = NULL;
}

/* ---- vCPUs: creation, kick signal ---------------------------------------- */

static void kick_signal_handler(G_GNUC_UNUSED int signum)
{
    /* Nothing: the signal only makes KVM_RUN return EINTR. */
}

static gpointer install_kick_handler(G_GNUC_UNUSED gpointer data)
{
    struct sigaction sa = { 0 };

    /* No SA_RESTART; KVM_RUN returns EINTR either way (api.rst, KVM_RUN). */
    sa.sa_handler = kick_signal_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(KVM_KICK_SIGNAL, &sa, NULL);
    return NULL;
}

static void kvm_vcpu_destroy(struct vcpu *cpu)
{
    struct kvm_vcpu_state *vs = cpu->accel_state;

    if (!vs)
        return;
    munmap(vs->run, vs->ks->run_size);
    close(vs->fd);
    g_mutex_clear(&vs->kick_lock);
    g_free(vs);
    cpu->accel_state = NULL;
}

static int kvm_vcpu_reset(struct vcpu *cpu, GError **error);

static int kvm_vcpu_init(struct vcpu *cpu, GError **error)
{
    static GOnce kick_handler_once = G_ONCE_INIT;
    struct kvm_machine_state *ks = cpu->machine->accel_state;
    struct kvm_vcpu_state *vs = g_new0(struct kvm_vcpu_state, 1);
    int r;

    g_once(&kick_handler_once, install_kick_handler, NULL);
    vs->cpu = cpu;
    vs->ks = ks;
    g_mutex_init(&vs->kick_lock);

    vs->fd = ioctl(ks->vm_fd, KVM_CREATE_VCPU, (unsigned long)cpu->index);
    if (vs->fd < 0) {
        r = kvm_ioctl_error(error, errno, "KVM_CREATE_VCPU", cpu->index);
        goto out_free_state;
    }
    vs->run = mmap(NULL, ks->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                   vs->fd, 0);
    if (vs->run == MAP_FAILED) {
        r = kvm_ioctl_error(error, errno, "mmap of kvm_run", cpu->index);
        goto out_close_vcpu;
    }
    r = kvm_setup_cpuid(vs, error);
    if (r < 0)
        goto out_unmap_run;
    kvm_vcpu_probe_msrs(vs);

    cpu->accel_state = vs;
    r = kvm_vcpu_reset(cpu, error);
    if (r < 0)
        goto out_clear_cpu;
    return 0;

out_clear_cpu:
    cpu->accel_state = NULL;
out_unmap_run:
    munmap(vs->run, ks->run_size);
out_close_vcpu:
    close(vs->fd);
out_free_state:
    g_mutex_clear(&vs->kick_lock);
    g_free(vs);
    return r;
}

/* ---- vCPUs: exits -------------------------------------------------------- */



static bool access_size_ok(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

/* One access; other widths (a split MMIO fragment) go byte by byte. */
static void dispatch(struct memory_map *map, uint64_t addr, uint8_t *data,
                     unsigned size, bool is_write)
{
    uint64_t v;

    if (!access_size_ok(size)) {
        for (unsigned i = 0; i < size; i++)
            dispatch(map, addr + i, data + i, 1, is_write);
        return;
    }
    if (is_write) {
        memory_map_dispatch_write(map, addr, size, memory_load_le(data, size));
    } else {
        memory_map_dispatch_read(map, addr, size, &v);
        memory_store_le(data, v, size);
    }
}

bool kvm_vcpu_handle_io_exit(struct kvm_vcpu_state *vs)
{
    struct kvm_run *run = vs->run;
    struct machine *m = vs->cpu->machine;

    switch (run->exit_reason) {
    case KVM_EXIT_IO: {
        /* api.rst, KVM_EXIT_IO: count items of size bytes at data_offset. */
        uint8_t *data = (uint8_t *)run + run->io.data_offset;
        unsigned size = run->io.size;
        bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

        if (size > 4 || (size_t)run->io.data_offset +
                        (size_t)run->io.count * size > vs->ks->run_size)
            return true;
        for (uint32_t i = 0; i < run->io.count; i++)
            dispatch(m->io, run->io.port, data + i * size, size, is_write);
        return true;
    }
    case KVM_EXIT_MMIO:
        if (run->mmio.len > sizeof(run->mmio.data))
            return true;
        dispatch(m->memory, run->mmio.phys_addr, run->mmio.data,
                 run->mmio.len, run->mmio.is_write);
        return true;
    default:
        return false;
    }
}

int kvm_vcpu_complete_io(struct kvm_vcpu_state *vs, GError **error)
{
    uint8_t *immediate_exit = &vs->run->immediate_exit;
    bool kicked;
    int r = 0;

    __atomic_store_n(immediate_exit, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        if (ioctl(vs->fd, KVM_RUN, 0) < 0) {
            if (errno != EINTR && errno != EAGAIN)
                r = kvm_ioctl_error(error, errno, "KVM_RUN (completing I/O)",
                                    vs->cpu->index);
            break;
        }
        /* A string instruction may exit again before it is done. */
        if (!kvm_vcpu_handle_io_exit(vs))
            break;
    }
    /*
     * A kick not yet consumed by vcpu_run stays pending. vcpu_kick sets
     * kick_pending before immediate_exit, so checking again after the store
     * catches a kick that raced with it.
     */
    kicked = __atomic_load_n(&vs->kick_pending, __ATOMIC_SEQ_CST);
    __atomic_store_n(immediate_exit, kicked, __ATOMIC_SEQ_CST);
    if (!kicked && __atomic_load_n(&vs->kick_pending, __ATOMIC_SEQ_CST))
        __atomic_store_n(immediate_exit, 1, __ATOMIC_SEQ_CST);
    return r;
}

/* Tell the user where the guest was when KVM gave up. */
static void log_guest_position(struct kvm_vcpu_state *vs)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;

    if (ioctl(vs->fd, KVM_GET_REGS, &regs) < 0 ||
        ioctl(vs->fd, KVM_GET_SREGS, &sregs) < 0) {
        g_message("vCPU %u: cannot read the guest registers: %s",
                  vs->cpu->index, g_strerror(errno));
        return;
    }
    g_message("vCPU %u: guest at CS:RIP %04x:%016llx (CS base 0x%llx), "
              "CR0 0x%llx, CR4 0x%llx, EFER 0x%llx, RFLAGS 0x%llx",
              vs->cpu->index, sregs.cs.selector, regs.rip, sregs.cs.base,
              sregs.cr0, sregs.cr4, sregs.efer, regs.rflags);
}

static const char *internal_error_name(uint32_t suberror)
{
    switch (suberror) {
    case KVM_INTERNAL_ERROR_EMULATION:
        return "instruction emulation failed";
    case KVM_INTERNAL_ERROR_SIMUL_EX:
        return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV:
        return "exit while delivering an event";
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
        return "unexpected exit reason";
    default:
        return "unknown";
    }
}

/* An exit that is not I/O; -1 means enter the guest again. */
static int handle_exit(struct kvm_vcpu_state *vs)
{
    struct kvm_run *run = vs->run;
    struct machine *m = vs->cpu->machine;
    unsigned index = vs->cpu->index;

    switch (run->exit_reason) {
    case KVM_EXIT_HLT:              /* not with the in-kernel LAPIC */
    case KVM_EXIT_IRQ_WINDOW_OPEN:
    case KVM_EXIT_INTR:
        return -1;
    case KVM_EXIT_SHUTDOWN:
        return VCPU_EXIT_SHUTDOWN;
    case KVM_EXIT_SYSTEM_EVENT:
        switch (run->system_event.type) {
        case KVM_SYSTEM_EVENT_RESET:
            machine_request(m, MACHINE_REQUEST_RESET, 0);
            return VCPU_EXIT_KICKED;
        case KVM_SYSTEM_EVENT_SHUTDOWN:
            machine_request(m, MACHINE_REQUEST_POWEROFF, 0);
            return VCPU_EXIT_KICKED;
        default:
            g_message("vCPU %u: KVM system event %u (crash or unsupported)",
                      index, run->system_event.type);
            log_guest_position(vs);
            return VCPU_EXIT_ERROR;
        }
    case KVM_EXIT_INTERNAL_ERROR: {
        g_autoptr(GString) data = g_string_new(NULL);
        uint32_t n = MIN(run->internal.ndata, G_N_ELEMENTS(run->internal.data));

        for (uint32_t i = 0; i < n; i++)
            g_string_append_printf(data, " 0x%llx", run->internal.data[i]);
        g_message("vCPU %u: KVM internal error %u (%s)%s%s", index,
                  run->internal.suberror,
                  internal_error_name(run->internal.suberror),
                  n ? ", data:" : "", data->str);
        log_guest_position(vs);
        return VCPU_EXIT_ERROR;
    }
    case KVM_EXIT_FAIL_ENTRY:
        g_message("vCPU %u: the hardware refused to enter the guest "
                  "(entry failure reason 0x%llx on host CPU %u)", index,
                  run->fail_entry.hardware_entry_failure_reason,
                  run->fail_entry.cpu);
        log_guest_position(vs);
        return VCPU_EXIT_ERROR;
    case KVM_EXIT_UNKNOWN:
        g_message("vCPU %u: unknown hardware exit 0x%llx", index,
                  run->hw.hardware_exit_reason);
        log_guest_position(vs);
        return VCPU_EXIT_ERROR;
    default:
        g_message("vCPU %u: unexpected KVM exit reason %u", index,
                  run->exit_reason);
        log_guest_position(vs);
        return VCPU_EXIT_ERROR;
    }
}

/* ---- vCPUs: run and kick ------------------------------------------------- */

static void enter_run(struct kvm_vcpu_state *vs)
{
    pthread_t self = pthread_self();

    if (!vs->sigmask_thread_known || !pthread_equal(self, vs->sigmask_thread)) {
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, KVM_KICK_SIGNAL);
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        vs->sigmask_thread = self;
        vs->sigmask_thread_known = true;
    }
    g_mutex_lock(&vs->kick_lock);
    vs->thread = self;
    vs->thread_known = true;
    g_mutex_unlock(&vs->kick_lock);
}

static void leave_run(struct kvm_vcpu_state *vs)
{
    g_mutex_lock(&vs->kick_lock);
    vs->thread_known = false;
    g_mutex_unlock(&vs->kick_lock);
}

/*
 * The kick protocol (api.rst, "The kvm_run structure", immediate_exit):
 * vcpu_kick sets immediate_exit, then signals the thread. A kick before
 * KVM_RUN makes it return EINTR at once; a kick during KVM_RUN interrupts it
 * with the signal.
 */
static enum vcpu_exit kvm_vcpu_run(struct vcpu *cpu)
{
    struct kvm_vcpu_state *vs = cpu->accel_state;
    int exit;

    enter_run(vs);
    for (;;) {
        if (ioctl(vs->fd, KVM_RUN, 0) < 0) {
            int e = errno;

            if (e == EINTR || e == EAGAIN) {
                __atomic_store_n(&vs->kick_pending, false, __ATOMIC_SEQ_CST);
                __atomic_store_n(&vs->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
                exit = VCPU_EXIT_KICKED;
                break;
            }
            g_message("vCPU %u: KVM_RUN failed: %s", cpu->index, g_strerror(e));
            log_guest_position(vs);
            exit = VCPU_EXIT_ERROR;
            break;
        }
        if (kvm_vcpu_handle_io_exit(vs))
            continue;
        exit = handle_exit(vs);
        if (exit >= 0)
            break;
    }
    leave_run(vs);
    return exit;
}

static void kvm_vcpu_kick(struct vcpu *cpu)
{
    struct kvm_vcpu_state *vs = cpu->accel_state;

    if (!vs)
        return;
    __atomic_store_n(&vs->kick_pending, true, __ATOMIC_SEQ_CST);
    __atomic_store_n(&vs->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    g_mutex_lock(&vs->kick_lock);
    if (vs->thread_known)
        pthread_kill(vs->thread, KVM_KICK_SIGNAL);
    g_mutex_unlock(&vs->kick_lock);
}

/* ---- Resets, interrupt lines, clock -------------------------------------- */

/* Intel SDM vol. 3, 9.1.1 and table 9-1: the state after power-up or RESET. */
static int kvm_vcpu_reset(struct vcpu *cpu, GError **error)
{
    struct kvm_vcpu_state *vs = cpu->accel_state;
    g_autofree struct x86_cpu_state *state = g_new0(struct x86_cpu_state, 1);
    int r;

    r = kvm_vcpu_build_reset_state(vs, state, error);
    if (r < 0)
        return r;
    return kvm_vcpu_set_state(cpu, state, error);
}

/* The 8259s, I/O APIC and 8254 as KVM created them, i.e. at power-on. */
static int kvm_platform_reset(struct machine *m, GError **error)
{
    struct kvm_machine_state *ks = m->accel_state;

    for (unsigned i = 0; i < 2; i++)
        if (ioctl(ks->vm_fd, KVM_SET_IRQCHIP, &ks->reset_pic[i]) < 0)
            return vm_error(error, "KVM_SET_IRQCHIP (8259)");
    if (ioctl(ks->vm_fd, KVM_SET_IRQCHIP, &ks->reset_ioapic) < 0)
        return vm_error(error, "KVM_SET_IRQCHIP (I/O APIC)");
    if (ioctl(ks->vm_fd, KVM_SET_PIT2, &ks->reset_pit) < 0)
        return vm_error(error, "KVM_SET_PIT2");
    return 0;
}

static void kvm_set_irq(struct machine *m, unsigned gsi, bool level)
{
    struct kvm_machine_state *ks = m->accel_state;
    struct kvm_irq_level irq = { .irq = gsi, .level = level };
    static gint logged;

    if (ioctl(ks->vm_fd, KVM_IRQ_LINE, &irq) < 0 &&
        g_atomic_int_compare_and_exchange(&logged, 0, 1))
        g_message("KVM_IRQ_LINE (GSI %u) failed: %s; logged once", gsi,
                  g_strerror(errno));
}

/*
 * kvmclock stands still while paused (api.rst, KVM_GET_CLOCK and
 * KVM_SET_CLOCK): read it at pause, write the same value back at resume.
 */
static void kvm_clock_pause(struct machine *m)
{
    struct kvm_machine_state *ks = m->accel_state;
    struct kvm_clock_data data = { 0 };

    g_mutex_lock(&ks->clock_lock);
    if (!ks->clock_paused) {
        if (ioctl(ks->vm_fd, KVM_GET_CLOCK, &data) == 0) {
            ks->paused_clock_ns = data.clock;
            ks->clock_paused = true;
        } else {
            g_message("KVM_GET_CLOCK failed: %s; the guest clock will not "
                      "stop while paused", g_strerror(errno));
        }
    }
    g_mutex_unlock(&ks->clock_lock);
}

static void kvm_clock_resume(struct machine *m)
{
    struct kvm_machine_state *ks = m->accel_state;
    struct kvm_clock_data data = { 0 };

    g_mutex_lock(&ks->clock_lock);
    if (ks->clock_paused) {
        data.clock = ks->paused_clock_ns;
        if (ioctl(ks->vm_fd, KVM_SET_CLOCK, &data) < 0)
            g_message("KVM_SET_CLOCK failed: %s", g_strerror(errno));
        ks->clock_paused = false;
    }
    g_mutex_unlock(&ks->clock_lock);
}

const struct accel_ops accel_kvm_ops = {
    .name = "kvm",
    .init = kvm_init,
    .destroy = kvm_destroy,
    .vcpu_init = kvm_vcpu_init,
    .vcpu_destroy = kvm_vcpu_destroy,
    .vcpu_run = kvm_vcpu_run,
    .vcpu_kick = kvm_vcpu_kick,
    .vcpu_reset = kvm_vcpu_reset,
    .vcpu_get_state = kvm_vcpu_get_state,
    .vcpu_set_state = kvm_vcpu_set_state,
    .get_platform_state = kvm_get_platform_state,
    .set_platform_state = kvm_set_platform_state,
    .platform_reset = kvm_platform_reset,
    .set_irq = kvm_set_irq,
    .clock_pause = kvm_clock_pause,
    .clock_resume = kvm_clock_resume,
};
