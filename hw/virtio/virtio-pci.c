/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Virtio PCI transport, transitional (virtio 1.2 §4.1): legacy registers in
 * I/O BAR 0, modern structures in memory BAR 4 behind vendor capabilities.
 */
#define G_LOG_DOMAIN "mimic-virtio"

#include "hw/virtio/virtio-pci.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "engine/machine.h"

/* Vendor-specific capabilities (§4.1.4): where they sit in config space. */
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAP_ID_VNDR 0x09
#define CAP_COMMON 0x40
#define CAP_ISR 0x50
#define CAP_DEVICE 0x60
#define CAP_NOTIFY 0x70
#define CAP_PCI_CFG 0x84
#define CAP_SIZE 16
#define CAP_NOTIFY_SIZE 20
#define CAP_PCI_CFG_SIZE 20
#define CAP_PCI_CFG_DATA (CAP_PCI_CFG + 16)

enum {
    CFG_TYPE_COMMON = 1,
    CFG_TYPE_NOTIFY = 2,
    CFG_TYPE_ISR = 3,
    CFG_TYPE_DEVICE = 4,
    CFG_TYPE_PCI = 5,
};

/* struct virtio_pci_common_cfg (§4.1.4.3). */
enum {
    COMMON_DFSELECT = 0x00,
    COMMON_DF = 0x04,
    COMMON_GFSELECT = 0x08,
    COMMON_GF = 0x0c,
    COMMON_MSIX = 0x10,
    COMMON_NUMQ = 0x12,
    COMMON_STATUS = 0x14,
    COMMON_CFGGENERATION = 0x15,
    COMMON_Q_SELECT = 0x16,
    COMMON_Q_SIZE = 0x18,
    COMMON_Q_MSIX = 0x1a,
    COMMON_Q_ENABLE = 0x1c,
    COMMON_Q_NOFF = 0x1e,
    COMMON_Q_DESCLO = 0x20,
    COMMON_Q_DESCHI = 0x24,
    COMMON_Q_AVAILLO = 0x28,
    COMMON_Q_AVAILHI = 0x2c,
    COMMON_Q_USEDLO = 0x30,
    COMMON_Q_USEDHI = 0x34,
    COMMON_Q_NOTIFY_DATA = 0x38,
    COMMON_Q_RESET = 0x3a,
    COMMON_SIZE = 0x3c,
};

/* Legacy registers in I/O BAR 0 (§4.1.4, legacy PCI device layout). */
enum {
    LEGACY_HOST_FEATURES = 0x00,
    LEGACY_GUEST_FEATURES = 0x04,
    LEGACY_QUEUE_PFN = 0x08,
    LEGACY_QUEUE_SIZE = 0x0c,
    LEGACY_QUEUE_SELECT = 0x0e,
    LEGACY_QUEUE_NOTIFY = 0x10,
    LEGACY_STATUS = 0x12,
    LEGACY_ISR = 0x13,
};
#define LEGACY_PAGE_SHIFT 12
#define LEGACY_QUEUE_ALIGN 4096         /* §2.7.2 */
#define VIRTIO_MSI_NO_VECTOR 0xffff

enum {
    LOGGED_COMMON = 1 << 0,
    LOGGED_LEGACY = 1 << 1,
    LOGGED_FEATURES = 1 << 2,
    LOGGED_NOTIFY = 1 << 3,
    LOGGED_QUEUE = 1 << 4,
    LOGGED_PCI_CFG = 1 << 5,
};

struct virtio_pci {
    struct pci_device pci;          /* first: a PCI device is a device */
    const struct virtio_device_ops *ops;
    void *opaque;
    char *name;                     /* "virtio-blk 00:04.0" */
    uint64_t device_features;
    uint64_t driver_features;       /* as the driver wrote them */
    uint64_t features;              /* accepted */
    uint32_t device_feature_select;
    uint32_t driver_feature_select;
    uint16_t queue_select;
    uint8_t status;
    uint8_t isr;
    uint8_t config_generation;
    bool legacy;                    /* the driver uses BAR 0 */
    unsigned logged;
    struct virtq queues[VIRTIO_PCI_MAX_QUEUES];
};

static void log_once(struct virtio_pci *t, unsigned what, const char *format,
                     ...) G_GNUC_PRINTF(3, 4);

static void log_once(struct virtio_pci *t, unsigned what, const char *format,
                     ...)
{
    g_autofree char *text = NULL;
    va_list args;

    if (t->logged & what)
        return;
    t->logged |= what;
    va_start(args, format);
    text = g_strdup_vprintf(format, args);
    va_end(args);
    g_message("%s: %s (logged once)", t->name, text);
}



static struct virtq *selected_queue(struct virtio_pci *t)
{
    if (t->queue_select >= t->ops->num_queues)
        return NULL;
    return &t->queues[t->queue_select];
}

/* --- interrupts, status, reset --- */

/*
 * INTx only: no MSI-X capability is offered yet, so drivers use the line and
 * the ISR register (§4.1.5.3, §4.1.5.4); the MSI-X vector fields read
 * VIRTIO_MSI_NO_VECTOR.
 */
static void update_irq(struct virtio_pci *t)
{
    pci_set_irq(&t->pci, t->isr != 0);
}

static uint8_t read_isr(struct virtio_pci *t)
{
    uint8_t isr = t->isr;

    /* Reading clears the register and deasserts the line (§4.1.4.5). */
    t->isr = 0;
    update_irq(t);
    return isr;
}

void virtio_pci_notify_used(struct virtio_pci *t, struct virtq *q)
{
    if (!virtq_should_notify(q))
        return;
    t->isr |= VIRTIO_ISR_QUEUE;
    update_irq(t);
}

void virtio_pci_config_changed(struct virtio_pci *t)
{
    t->config_generation++;
    if (t->status & VIRTIO_STATUS_DRIVER_OK) {
        t->isr |= VIRTIO_ISR_CONFIG;
        update_irq(t);
    }
}

void virtio_pci_set_needs_reset(struct virtio_pci *t)
{
    if (t->status & VIRTIO_STATUS_NEEDS_RESET)
        return;
    t->status |= VIRTIO_STATUS_NEEDS_RESET;
    if (t->status & VIRTIO_STATUS_DRIVER_OK) {
        t->isr |= VIRTIO_ISR_CONFIG;
        update_irq(t);
    }
}

/* Device reset (§2.4): writing 0 to status, or a machine reset. */
static void virtio_reset(struct virtio_pci *t)
{
    t->status = 0;
    t->isr = 0;
    update_irq(t);
    t->driver_features = t->features = 0;
    t->device_feature_select = t->driver_feature_select = 0;
    t->queue_select = 0;
    t->legacy = false;
    for (unsigned i = 0; i < t->ops->num_queues; i++) {
        virtq_reset(&t->queues[i]);
        t->queues[i].size = t->ops->queue_max_size;
    }
    if (t->ops->reset)
        t->ops->reset(t->opaque);
}

static void accept_features(struct virtio_pci *t, uint64_t features)
{
    t->features = features;
    for (unsigned i = 0; i < t->ops->num_queues; i++)
        virtq_set_features(&t->queues[i], features);
    if (t->ops->set_features)
        t->ops->set_features(t->opaque, features);
}

static void notify_queue(struct virtio_pci *t, struct virtq *q)
{
    if (!q->ready || (t->status & VIRTIO_STATUS_NEEDS_RESET))
        return;
    t->ops->queue_notify(t->opaque, q);
    if (q->broken)
        virtio_pci_set_needs_reset(t);
}

static void set_status(struct virtio_pci *t, uint8_t value)
{
    uint8_t old = t->status;

    if (value == 0) {
        virtio_reset(t);
        return;
    }
    /* DEVICE_NEEDS_RESET is the device's to set; only a reset clears it. */
    value = (value & ~VIRTIO_STATUS_NEEDS_RESET) |
            (old & VIRTIO_STATUS_NEEDS_RESET);
    if (!t->legacy && (value & VIRTIO_STATUS_FEATURES_OK) &&
        !(old & VIRTIO_STATUS_FEATURES_OK)) {
        /* Offered features only, VERSION_1 on this interface (§2.2.2, §6.1). */
        uint64_t extra = t->driver_features & ~t->device_features;
        bool version_1 = t->driver_features & UINT64_C(1) << VIRTIO_F_VERSION_1;

        if (extra || !version_1) {
            log_once(t, LOGGED_FEATURES, "driver features 0x%" G_GINT64_MODIFIER
                     "x refused (%s); FEATURES_OK stays clear",
                     t->driver_features, extra ? "not offered" :
                     "VIRTIO_F_VERSION_1 missing");
            value &= ~VIRTIO_STATUS_FEATURES_OK;
        } else {
            accept_features(t, t->driver_features);
        }
    }
    t->status = value;
    /* A driver that starts a broken device hears about it at once. */
    if ((value & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) &&
        (value & VIRTIO_STATUS_NEEDS_RESET)) {
        t->isr |= VIRTIO_ISR_CONFIG;
        update_irq(t);
        return;
    }
    /* Buffers made available before DRIVER_OK are seen now (§3.1.1). */
    if ((value & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK))
        for (unsigned i = 0; i < t->ops->num_queues; i++)
            notify_queue(t, &t->queues[i]);
}

/*
 * A notify register write: the device works through the queue right here, on
 * the vCPU thread that wrote it, with the machine's device lock held.
 */
static void do_notify(struct virtio_pci *t, unsigned index)
{
    if (index >= t->ops->num_queues) {
        log_once(t, LOGGED_NOTIFY, "notification for queue %u, which does not "
                 "exist", index);
        return;
    }
    /* Legacy drivers may use the device before DRIVER_OK (§3.1.2). */
    if (!t->legacy && !(t->status & VIRTIO_STATUS_DRIVER_OK)) {
        log_once(t, LOGGED_NOTIFY, "notification for queue %u before "
                 "DRIVER_OK ignored", index);
        return;
    }
    notify_queue(t, &t->queues[index]);
}

static void enable_queue(struct virtio_pci *t, struct virtq *q)
{
    virtq_set_features(q, t->features);
    if (virtq_enable(q) < 0)
        virtio_pci_set_needs_reset(t);
}

/* --- device configuration, shared by both interfaces --- */

static uint64_t device_config_read(struct virtio_pci *t, uint64_t offset,
                                   unsigned size)
{
    uint8_t buf[8] = { 0 };

    if (offset >= t->ops->config_size)
        return 0;
    size = MIN(size, t->ops->config_size - offset);
    t->ops->read_config(t->opaque, offset, buf, size);
    return memory_load_le(buf, size);
}

static void device_config_write(struct virtio_pci *t, uint64_t offset,
                                uint64_t value, unsigned size)
{
    uint8_t buf[8];

    if (offset >= t->ops->config_size || !t->ops->write_config)
        return;
    size = MIN(size, t->ops->config_size - offset);
    memory_store_le(buf, value, size);
    t->ops->write_config(t->opaque, offset, buf, size);
}

/* --- modern interface: BAR 4 (§4.1.4.3 - §4.1.4.6) --- */

static void common_snapshot(struct virtio_pci *t, uint8_t *c)
{
    struct virtq *q = selected_queue(t);
    uint32_t select = t->device_feature_select;

    memset(c, 0, COMMON_SIZE);
    memory_store_le(c + COMMON_DFSELECT, select, 4);
    memory_store_le(c + COMMON_DF,
           select < 2 ? t->device_features >> (32 * select) : 0, 4);
    select = t->driver_feature_select;
    memory_store_le(c + COMMON_GFSELECT, select, 4);
    memory_store_le(c + COMMON_GF,
           select < 2 ? t->driver_features >> (32 * select) : 0, 4);
    memory_store_le(c + COMMON_MSIX, VIRTIO_MSI_NO_VECTOR, 2);
    memory_store_le(c + COMMON_NUMQ, t->ops->num_queues, 2);
    c[COMMON_STATUS] = t->status;
    c[COMMON_CFGGENERATION] = t->config_generation;
    memory_store_le(c + COMMON_Q_SELECT, t->queue_select, 2);
    memory_store_le(c + COMMON_Q_MSIX, VIRTIO_MSI_NO_VECTOR, 2);
    if (!q)
        return;
    memory_store_le(c + COMMON_Q_SIZE, q->size, 2);
    memory_store_le(c + COMMON_Q_ENABLE, q->ready, 2);
    memory_store_le(c + COMMON_Q_NOFF, t->queue_select, 2);
    memory_store_le(c + COMMON_Q_DESCLO, q->desc_addr, 8);
    memory_store_le(c + COMMON_Q_AVAILLO, q->avail_addr, 8);
    memory_store_le(c + COMMON_Q_USEDLO, q->used_addr, 8);
}

static void set_address_part(uint64_t *addr, unsigned offset, uint64_t value,
                             unsigned size)
{
    if (size == 8)
        *addr = value;
    else if (offset & 4)
        *addr = (*addr & 0xffffffffu) | value << 32;
    else
        *addr = (*addr & ~UINT64_C(0xffffffff)) | (uint32_t)value;
}

static void common_write(struct virtio_pci *t, unsigned offset, uint64_t value,
                         unsigned size)
{
    struct virtq *q = selected_queue(t);
    unsigned field = offset & ~7u;
    uint64_t *addr;

    /* Fields are written with their natural width (§4.1.3.1). */
    switch (offset | size << 8) {
    case COMMON_DFSELECT | 4 << 8:
        t->device_feature_select = value;
        return;
    case COMMON_GFSELECT | 4 << 8:
        t->driver_feature_select = value;
        return;
    case COMMON_GF | 4 << 8:
        if (t->driver_feature_select < 2 &&
            !(t->status & VIRTIO_STATUS_FEATURES_OK)) {
            unsigned shift = 32 * t->driver_feature_select;

            t->driver_features &= ~(UINT64_C(0xffffffff) << shift);
            t->driver_features |= (uint64_t)(uint32_t)value << shift;
        }
        return;
    case COMMON_MSIX | 2 << 8:
    case COMMON_Q_MSIX | 2 << 8:
    case COMMON_Q_RESET | 2 << 8:
        return;     /* no MSI-X, no VIRTIO_F_RING_RESET: reads keep saying so */
    case COMMON_STATUS | 1 << 8:
        set_status(t, value);
        return;
    case COMMON_Q_SELECT | 2 << 8:
        t->queue_select = value;
        return;
    case COMMON_Q_SIZE | 2 << 8:
        if (q && !q->ready)
            q->size = value;    /* checked when the queue is enabled */
        return;
    case COMMON_Q_ENABLE | 2 << 8:
        if (q && value == 1 && !q->ready)
            enable_queue(t, q);
        else if (q && value == 0)
            log_once(t, LOGGED_QUEUE, "queue_enable written with 0 (only a "
                     "reset disables a queue, section 4.1.4.3.2)");
        return;
    case COMMON_Q_DESCLO | 4 << 8: case COMMON_Q_DESCHI | 4 << 8:
    case COMMON_Q_AVAILLO | 4 << 8: case COMMON_Q_AVAILHI | 4 << 8:
    case COMMON_Q_USEDLO | 4 << 8: case COMMON_Q_USEDHI | 4 << 8:
    case COMMON_Q_DESCLO | 8 << 8: case COMMON_Q_AVAILLO | 8 << 8:
    case COMMON_Q_USEDLO | 8 << 8:
        if (!q)
            return;
        if (q->ready) {
            log_once(t, LOGGED_QUEUE, "ring address of enabled queue %u "
                     "changed; ignored", t->queue_select);
            return;
        }
        addr = field == COMMON_Q_DESCLO ? &q->desc_addr :
               field == COMMON_Q_AVAILLO ? &q->avail_addr : &q->used_addr;
        set_address_part(addr, offset, value, size);
        return;
    default:
        log_once(t, LOGGED_COMMON, "%u-byte write of 0x%" G_GINT64_MODIFIER
                 "x at common configuration offset 0x%x ignored", size, value,
                 offset);
    }
}

static uint64_t modern_read(void *opaque, uint64_t offset, unsigned size)
{
    struct virtio_pci *t = opaque;

    if (offset < VIRTIO_PCI_COMMON_OFFSET + COMMON_SIZE) {
        uint8_t c[COMMON_SIZE];

        if (offset + size > COMMON_SIZE)
            return 0;
        common_snapshot(t, c);
        return memory_load_le(c + offset, size);
    }
    if (offset == VIRTIO_PCI_ISR_OFFSET)
        return read_isr(t);
    if (offset >= VIRTIO_PCI_DEVICE_OFFSET && offset < VIRTIO_PCI_NOTIFY_OFFSET)
        return device_config_read(t, offset - VIRTIO_PCI_DEVICE_OFFSET, size);
    return 0;
}

static void modern_write(void *opaque, uint64_t offset, uint64_t value,
                         unsigned size)
{
    struct virtio_pci *t = opaque;

    if (offset < VIRTIO_PCI_COMMON_OFFSET + COMMON_SIZE)
        common_write(t, offset, value, size);
    else if (offset >= VIRTIO_PCI_DEVICE_OFFSET &&
             offset < VIRTIO_PCI_NOTIFY_OFFSET)
        device_config_write(t, offset - VIRTIO_PCI_DEVICE_OFFSET, value, size);
    else if (offset >= VIRTIO_PCI_NOTIFY_OFFSET)
        /* The driver writes the queue's index at its address (§4.1.5.2). */
        do_notify(t, value & 0xffff);
}

static const struct memory_ops modern_ops = {
    .read = modern_read,
    .write = modern_write,
};

/* --- legacy interface: I/O BAR 0 (§4.1.4, legacy PCI device layout) --- */

static uint64_t legacy_read(void *opaque, uint64_t offset, unsigned size)
{
    struct virtio_pci *t = opaque;
    struct virtq *q = selected_queue(t);
    uint8_t r[VIRTIO_PCI_LEGACY_CONFIG] = { 0 };

    if (offset >= VIRTIO_PCI_LEGACY_CONFIG)
        return device_config_read(t, offset - VIRTIO_PCI_LEGACY_CONFIG, size);
    if (offset + size > VIRTIO_PCI_LEGACY_CONFIG)
        size = VIRTIO_PCI_LEGACY_CONFIG - offset;
    memory_store_le(r + LEGACY_HOST_FEATURES, (uint32_t)t->device_features, 4);
    memory_store_le(r + LEGACY_GUEST_FEATURES, (uint32_t)t->features, 4);
    if (q) {
        memory_store_le(r + LEGACY_QUEUE_PFN, q->desc_addr >> LEGACY_PAGE_SHIFT, 4);
        memory_store_le(r + LEGACY_QUEUE_SIZE, t->ops->queue_max_size, 2);
    }
    memory_store_le(r + LEGACY_QUEUE_SELECT, t->queue_select, 2);
    r[LEGACY_STATUS] = t->status;
    if (offset <= LEGACY_ISR && offset + size > LEGACY_ISR)
        r[LEGACY_ISR] = read_isr(t);
    return memory_load_le(r + offset, size);
}

/* The legacy ring layout: one block from the page the driver names (§2.7.2). */
static void legacy_set_queue(struct virtio_pci *t, struct virtq *q,
                             uint32_t pfn)
{
    uint64_t n = t->ops->queue_max_size;

    virtq_reset(q);
    q->size = n;
    if (pfn == 0)
        return;
    q->desc_addr = (uint64_t)pfn << LEGACY_PAGE_SHIFT;
    q->avail_addr = q->desc_addr + 16 * n;
    q->used_addr = (q->avail_addr + 6 + 2 * n + LEGACY_QUEUE_ALIGN - 1) &
                   ~(uint64_t)(LEGACY_QUEUE_ALIGN - 1);
    enable_queue(t, q);
}

static void legacy_write(void *opaque, uint64_t offset, uint64_t value,
                         unsigned size)
{
    struct virtio_pci *t = opaque;
    struct virtq *q = selected_queue(t);

    if (offset >= VIRTIO_PCI_LEGACY_CONFIG) {
        device_config_write(t, offset - VIRTIO_PCI_LEGACY_CONFIG, value, size);
        return;
    }
    t->legacy = true;
    switch (offset | size << 8) {
    case LEGACY_GUEST_FEATURES | 4 << 8:
        /* Legacy drivers see and take the low 32 feature bits only. */
        t->driver_features = (uint32_t)value;
        accept_features(t, (uint32_t)value & t->device_features);
        return;
    case LEGACY_QUEUE_PFN | 4 << 8:
        if (q)
            legacy_set_queue(t, q, value);
        return;
    case LEGACY_QUEUE_SELECT | 2 << 8:
        t->queue_select = value;
        return;
    case LEGACY_QUEUE_NOTIFY | 2 << 8:
        do_notify(t, value);
        return;
    case LEGACY_STATUS | 1 << 8:
        set_status(t, value);
        return;
    default:
        log_once(t, LOGGED_LEGACY, "%u-byte write of 0x%" G_GINT64_MODIFIER
                 "x at legacy register 0x%x ignored", size, value,
                 (unsigned)offset);
    }
}

static const struct memory_ops legacy_ops = {
    .read = legacy_read,
    .write = legacy_write,
};

/* --- config space: the VIRTIO_PCI_CAP_PCI_CFG access window (§4.1.4) --- */

static bool pci_cfg_target(struct virtio_pci *t, const struct memory_ops **ops,
                           uint32_t *offset, unsigned *length)
{
    const uint8_t *cap = &t->pci.config[CAP_PCI_CFG];
    uint8_t bar = cap[4];

    *offset = memory_load_le(cap + 8, 4);
    *length = memory_load_le(cap + 12, 4);
    if ((*length != 1 && *length != 2 && *length != 4) || (*offset % *length) ||
        (bar != 0 && bar != VIRTIO_PCI_MODERN_BAR) ||
        *offset + (uint64_t)*length > t->pci.bars[bar].size) {
        log_once(t, LOGGED_PCI_CFG, "PCI configuration access window set to "
                 "BAR %u offset 0x%x length %u; ignored", bar, *offset,
                 *length);
        return false;
    }
    *ops = bar == 0 ? &legacy_ops : &modern_ops;
    return true;
}

static uint32_t virtio_pci_config_read(struct pci_device *d, unsigned offset,
                                       unsigned size)
{
    struct virtio_pci *t = (struct virtio_pci *)d;
    const struct memory_ops *ops;
    uint32_t bar_offset;
    unsigned length;

    if (offset != CAP_PCI_CFG_DATA)
        return pci_default_config_read(d, offset, size);
    if (!pci_cfg_target(t, &ops, &bar_offset, &length))
        return 0;
    return ops->read(t, bar_offset, length) &
           (size >= 4 ? UINT32_MAX : (UINT32_C(1) << (8 * size)) - 1);
}

static void virtio_pci_config_write(struct pci_device *d, unsigned offset,
                                    uint32_t value, unsigned size)
{
    struct virtio_pci *t = (struct virtio_pci *)d;
    const struct memory_ops *ops;
    uint32_t bar_offset;
    unsigned length;

    if (offset != CAP_PCI_CFG_DATA) {
        pci_default_config_write(d, offset, value, size);
        return;
    }
    if (pci_cfg_target(t, &ops, &bar_offset, &length))
        ops->write(t, bar_offset, value, length);
}

static const struct pci_device_ops virtio_pci_ops = {
    .config_read = virtio_pci_config_read,
    .config_write = virtio_pci_config_write,
};

static void put_cap(struct virtio_pci *t, unsigned at, unsigned next,
                    unsigned length, uint8_t type, uint32_t offset,
                    uint32_t size)
{
    uint8_t *c = &t->pci.config[at];

    c[0] = PCI_CAP_ID_VNDR;
    c[1] = next;
    c[2] = length;
    c[3] = type;
    c[4] = type == CFG_TYPE_PCI ? 0 : VIRTIO_PCI_MODERN_BAR;
    memory_store_le(c + 8, offset, 4);
    memory_store_le(c + 12, size, 4);
}

static void setup_capabilities(struct virtio_pci *t)
{
    struct pci_device *d = &t->pci;

    put_cap(t, CAP_COMMON, CAP_ISR, CAP_SIZE, CFG_TYPE_COMMON,
            VIRTIO_PCI_COMMON_OFFSET, COMMON_SIZE);
    put_cap(t, CAP_ISR, CAP_DEVICE, CAP_SIZE, CFG_TYPE_ISR,
            VIRTIO_PCI_ISR_OFFSET, 1);
    put_cap(t, CAP_DEVICE, CAP_NOTIFY, CAP_SIZE, CFG_TYPE_DEVICE,
            VIRTIO_PCI_DEVICE_OFFSET, t->ops->config_size);
    put_cap(t, CAP_NOTIFY, CAP_PCI_CFG, CAP_NOTIFY_SIZE, CFG_TYPE_NOTIFY,
            VIRTIO_PCI_NOTIFY_OFFSET,
            t->ops->num_queues * VIRTIO_PCI_NOTIFY_MULTIPLIER);
    memory_store_le(&d->config[CAP_NOTIFY + 16], VIRTIO_PCI_NOTIFY_MULTIPLIER, 4);
    put_cap(t, CAP_PCI_CFG, 0, CAP_PCI_CFG_SIZE, CFG_TYPE_PCI, 0, 0);
    /* The window's bar, offset and length are the driver's to write. */
    d->wmask[CAP_PCI_CFG + 4] = 0xff;
    memset(&d->wmask[CAP_PCI_CFG + 8], 0xff, 8);
    d->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    d->config[PCI_CAPABILITY_LIST] = CAP_COMMON;
}

/* --- life cycle --- */

struct virtio_pci *virtio_pci_create(struct pci_bus *bus, int devfn,
                                     const struct virtio_device_ops *ops,
                                     void *opaque, uint64_t features,
                                     GError **error)
{
    struct machine *m = pci_bus_machine(bus);
    struct virtio_pci *t;
    struct pci_device *d;

    g_return_val_if_fail(ops->num_queues <= VIRTIO_PCI_MAX_QUEUES, NULL);
    g_return_val_if_fail(ops->config_size <= VIRTIO_PCI_NOTIFY_OFFSET -
                         VIRTIO_PCI_DEVICE_OFFSET, NULL);
    t = g_new0(struct virtio_pci, 1);
    d = &t->pci;
    t->ops = ops;
    t->opaque = opaque;
    t->device_features = features | UINT64_C(1) << VIRTIO_F_VERSION_1;
    d->dev.cls = &virtio_pci_device_class;
    d->ops = &virtio_pci_ops;
    /* Transitional IDs: revision 0, subsystem ID = virtio device ID (§4.1.2). */
    pci_device_init(d, ops->name, VIRTIO_PCI_VENDOR_ID,
                    ops->transitional_pci_id, 0, ops->pci_class, 1);
    memory_store_le(&d->config[PCI_SUBSYSTEM_VENDOR_ID], VIRTIO_PCI_VENDOR_ID, 2);
    memory_store_le(&d->config[PCI_SUBSYSTEM_ID], ops->device_id, 2);
    pci_device_set_bar(d, 0, PCI_BAR_IO,
                       VIRTIO_PCI_LEGACY_CONFIG + ops->config_size,
                       &legacy_ops, t, "virtio-legacy");
    pci_device_set_bar(d, VIRTIO_PCI_MODERN_BAR, PCI_BAR_MEM64,
                       VIRTIO_PCI_MODERN_BAR_SIZE, &modern_ops, t,
                       "virtio-modern");
    setup_capabilities(t);
    if (pci_bus_add(bus, d, devfn, error) < 0) {
        g_free(t);
        return NULL;
    }
    t->name = g_strdup_printf("%s %02x.%x", ops->name, d->devfn >> 3,
                              d->devfn & 7);
    for (unsigned i = 0; i < ops->num_queues; i++) {
        g_autofree char *name = g_strdup_printf("%s queue %u", t->name, i);

        virtq_init(&t->queues[i], m->memory, name, ops->queue_max_size);
        t->queues[i].size = ops->queue_max_size;
    }
    return t;
}

struct pci_device *virtio_pci_device(struct virtio_pci *t)
{
    return &t->pci;
}

uint64_t virtio_pci_features(struct virtio_pci *t)
{
    return t->features;
}

bool virtio_pci_is_legacy(struct virtio_pci *t)
{
    return t->legacy;
}

static void virtio_pci_reset(struct device *dev)
{
    struct virtio_pci *t = (struct virtio_pci *)dev;

    pci_device_reset(&t->pci);
    virtio_reset(t);
}

static void virtio_pci_destroy(struct device *dev)
{
    struct virtio_pci *t = (struct virtio_pci *)dev;

    if (t->ops->destroy)
        t->ops->destroy(t->opaque);
    for (unsigned i = 0; i < t->ops->num_queues; i++)
        virtq_destroy(&t->queues[i]);
    g_free(t->name);
    g_free(t);
}

const struct device_class virtio_pci_device_class = {
    .name = "virtio-pci",
    .reset = virtio_pci_reset,
    .destroy = virtio_pci_destroy,
};
