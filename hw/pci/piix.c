/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PIIX3/PIIX4 PCI-to-ISA bridge function (PIIX4 data sheet 290562, 3.1 and
 * 4.1; PIIX3 290550) and the PIIX4 power management function (290562, 3.4).
 */
#define G_LOG_DOMAIN "mimic-piix"

#include "hw/pci/piix.h"

#include <stdarg.h>
#include <string.h>

#include "engine/machine.h"
#include "engine/memory.h"
#include "engine/vm.h"
#include "hw/pci/pci-host.h"
#include "hw/x86/acpi-pm.h"

#define PIIX_VENDOR 0x8086
#define PIIX3_ISA_DEVICE 0x7000
#define PIIX_ISA_CLASS 0x060100         /* bridge, PCI-to-ISA */
#define PIIX4_PM_DEVICE 0x7113
#define PIIX4_PM_REVISION 0x03
#define PIIX4_PM_CLASS 0x068000         /* bridge, other */

/* Function 0 configuration registers (290562, 3.1). */
#define IORT 0x4c
#define XBCS 0x4e
#define PIRQRC 0x60                     /* PIRQRC[A:D], 0x60-0x63 */
#define PIRQRC_DISABLE 0x80
#define PIRQRC_IRQ 0x0f
#define TOM 0x69
#define MBIRQ0 0x70
#define MBDMA 0x76
#define PCSC 0x78
#define SMICNTL 0xa0
#define FTMR 0xa8

/* PM function registers (290562, 3.4). */
#define PMBA 0x40
#define PMBA_MASK 0xffc0                /* 64 bytes of I/O */
#define DEVACTB 0x58
#define DEVACTB_APMC_EN 0x02            /* bit 25: byte 0x5B, bit 1 */
#define PMREGMISC 0x80
#define PMIOSE 0x01
#define SMBBA 0x90
#define SMBHSTCFG 0xd2

/* Port 0x92, System Control Port A (4.2.x "PORT92"). */
#define PORT92 0x92
#define PORT92_INIT 0x01
#define PORT92_A20 0x02
#define PORT92_MASK 0x0b                /* INIT, A20, password lock */
/* Reset Control register at 0xCF9 (4.1.x "RC"). */
#define RC_SRST 0x02
#define RC_RCPU 0x04
#define RC_FULL 0x08
#define ELCR_PORT 0x4d0
/* IRQ 0, 1, 2 (ELCR1) and 8, 13 (ELCR2) are always edge (4.1.x "ELCR"). */
#define ELCR1_MASK 0xf8
#define ELCR2_MASK 0xde

enum {
    LOGGED_ROUTE = 1 << 0,
    LOGGED_CF8 = 1 << 1,
    LOGGED_PM_MAP = 1 << 2,
};

struct piix {
    struct pci_device pci;
    uint8_t elcr[2];
    uint8_t port92;
    uint8_t rc;
    unsigned logged;
};

struct piix_pm {
    struct pci_device pci;
    struct device *acpi_pm;
    const struct memory_ops *pm_ops;    /* the acpi-pm device's ports */
    const struct memory_region *pm_region;
    unsigned logged;
};

static void log_once(unsigned *logged, unsigned what, const char *device,
                     const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static void log_once(unsigned *logged, unsigned what, const char *device,
                     const char *fmt, ...)
{
    g_autofree char *text = NULL;
    va_list args;

    if (*logged & what)
        return;
    *logged |= what;
    va_start(args, fmt);
    text = g_strdup_vprintf(fmt, args);
    va_end(args);
    g_message("%s: %s (logged once)", device, text);
}

/* --- function 0: PCI-to-ISA bridge --- */

/* PIRQRC: bit 7 disables the routing, bits 3:0 pick the ISA IRQ (3.1.x). */
static int piix_route(void *opaque, int pirq)
{
    struct piix *p = opaque;
    uint8_t v = p->pci.config[PIRQRC + pirq];
    unsigned irq = v & PIRQRC_IRQ;

    if (v & PIRQRC_DISABLE)
        return -1;
    if (irq < 3 || irq == 8 || irq == 13) {
        log_once(&p->logged, LOGGED_ROUTE, "piix",
                 "guest routed PIRQ%c to reserved IRQ %u; not routed",
                 'A' + pirq, irq);
        return -1;
    }
    return irq;
}

static void piix_config_write(struct pci_device *d, unsigned offset,
                              uint32_t value, unsigned size)
{
    pci_default_config_write(d, offset, value, size);
    if (offset < PIRQRC + 4 && offset + size > PIRQRC)
        pci_bus_update_irqs(d->bus);
}

static const struct pci_device_ops piix_pci_ops = {
    .config_write = piix_config_write,
};

static uint64_t elcr_read(void *opaque, uint64_t offset, unsigned size)
{
    struct piix *p = opaque;
    uint64_t value = 0;

    for (unsigned i = 0; i < size; i++)
        value |= (uint64_t)(offset + i < 2 ? p->elcr[offset + i] : 0xff) << (8 * i);
    return value;
}

static void elcr_write(void *opaque, uint64_t offset, uint64_t value,
                       unsigned size)
{
    struct piix *p = opaque;

    for (unsigned i = 0; i < size && offset + i < 2; i++)
        p->elcr[offset + i] = (value >> (8 * i)) &
                              (offset + i == 0 ? ELCR1_MASK : ELCR2_MASK);
}

static const struct memory_ops elcr_ops = {
    .read = elcr_read,
    .write = elcr_write,
};

static uint64_t port92_read(void *opaque, uint64_t offset, unsigned size)
{
    struct piix *p = opaque;

    return p->port92;
}

/* A 0-to-1 transition of bit 0 pulses INIT: a fast reset of the machine. */
static void port92_write(void *opaque, uint64_t offset, uint64_t value,
                         unsigned size)
{
    struct piix *p = opaque;
    uint8_t old = p->port92;

    p->port92 = value & PORT92_MASK;
    if ((value & PORT92_INIT) && !(old & PORT92_INIT))
        machine_request(p->pci.dev.machine, MACHINE_REQUEST_RESET, 0);
}

static const struct memory_ops port92_ops = {
    .read = port92_read,
    .write = port92_write,
};

/* Byte and word accesses to 0xCF8-0xCFB: the RC register is 0xCF9. */
static uint64_t cf8_read(void *opaque, uint64_t offset, unsigned size)
{
    struct piix *p = opaque;

    if (offset == 1 && size == 1)
        return p->rc;
    return UINT64_MAX;
}

static void cf8_write(void *opaque, uint64_t offset, uint64_t value,
                      unsigned size)
{
    struct piix *p = opaque;

    if (offset != 1 || size != 1) {
        log_once(&p->logged, LOGGED_CF8, "piix", "guest wrote %u byte(s) at "
                 "port 0x%x, which is not CONFIG_ADDRESS; ignored", size,
                 (unsigned)(0xcf8 + offset));
        return;
    }
    /*
     * RCPU starts a reset; SRST picks a hard one (with FULL_RST, power
     * cycling on PIIX4). A virtual machine resets the same way for all.
     */
    p->rc = value & (RC_SRST | RC_FULL);
    if (value & RC_RCPU)
        machine_request(p->pci.dev.machine, MACHINE_REQUEST_RESET, 0);
}

static const struct memory_ops cf8_ops = {
    .read = cf8_read,
    .write = cf8_write,
};

uint16_t piix_get_elcr(struct device *dev)
{
    struct piix *p = (struct piix *)dev;

    g_return_val_if_fail(dev && dev->cls == &piix_device_class, 0);
    return p->elcr[0] | p->elcr[1] << 8;
}

bool piix_a20_enabled(struct device *dev)
{
    struct piix *p = (struct piix *)dev;

    g_return_val_if_fail(dev && dev->cls == &piix_device_class, true);
    return p->port92 & PORT92_A20;
}

static void piix_init_config(struct pci_device *d)
{
    pci_device_init(d, "piix", PIIX_VENDOR, PIIX3_ISA_DEVICE, 0x00,
                    PIIX_ISA_CLASS, 0);
    d->ops = &piix_pci_ops;
    d->config[PCI_HEADER_TYPE] = 0x80;             /* multifunction */
    /* I/O, memory and bus master are hardwired on (3.1.x PCICMD). */
    d->config[PCI_COMMAND] = PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
                             PCI_COMMAND_MASTER;
    d->wmask[PCI_COMMAND] = 0;
    d->wmask[PCI_COMMAND + 1] = 0;
    d->config[PCI_STATUS + 1] = 0x02;              /* DEVSEL# medium */
    d->wmask[PCI_INTERRUPT_LINE] = 0;
    /* Power-on values of the bridge's own registers. */
    d->config[IORT] = 0x4d;
    d->config[XBCS] = 0x03;
    memset(&d->config[PIRQRC], PIRQRC_DISABLE, 4);
    d->config[TOM] = 0x02;
    d->config[MBIRQ0] = 0x80;
    d->config[MBIRQ0 + 1] = 0x80;
    d->config[MBDMA] = 0x0c;
    d->config[MBDMA + 1] = 0x0c;
    d->config[PCSC] = 0x02;
    d->config[SMICNTL] = 0x08;
    d->config[FTMR] = 0x0f;
    /* Everything device-specific is stored and read back. */
    memset(&d->wmask[0x40], 0xff, PCI_CONFIG_SIZE - 0x40);
    memset(&d->wmask[PIRQRC], PIRQRC_DISABLE | PIRQRC_IRQ, 4);
}

static void piix_reset(struct device *dev)
{
    struct piix *p = (struct piix *)dev;

    pci_device_reset(&p->pci);
    p->elcr[0] = p->elcr[1] = 0;
    p->port92 = 0;
    p->rc = 0;
    pci_bus_update_irqs(p->pci.bus);
}

static void piix_destroy(struct device *dev)
{
    g_free(dev);
}

struct device *piix_create(struct machine *m, struct pci_bus *bus,
                           GError **error)
{
    struct piix *p = g_new0(struct piix, 1);
    const struct memory_region *elcr, *port92;

    p->pci.dev.cls = &piix_device_class;
    piix_init_config(&p->pci);
    elcr = memory_map_add_io(m->io, "piix-elcr", ELCR_PORT, 2, &elcr_ops, p,
                             error);
    if (!elcr)
        goto out_free;
    port92 = memory_map_add_io(m->io, "port92", PORT92, 1, &port92_ops, p,
                               error);
    if (!port92)
        goto out_remove_elcr;
    if (pci_bus_add(bus, &p->pci, PIIX_DEVFN, error) < 0)
        goto out_remove_port92;
    pci_bus_set_router(bus, piix_route, p);
    pci_bus_set_cf8_fallback(bus, &cf8_ops, p);
    return &p->pci.dev;

out_remove_port92:
    memory_map_remove(m->io, port92);
out_remove_elcr:
    memory_map_remove(m->io, elcr);
out_free:
    g_free(p);
    return NULL;
}

const struct device_class piix_device_class = {
    .name = "piix",
    .reset = piix_reset,
    .destroy = piix_destroy,
};

/* --- function 3: power management --- */

/* Show the ACPI PM block at PMBA while PMIOSE is set (3.4.x PMBA, PMREGMISC). */
static void piix_pm_update(struct piix_pm *pm)
{
    struct machine *m = pm->pci.dev.machine;
    uint16_t base = (pm->pci.config[PMBA] | pm->pci.config[PMBA + 1] << 8) &
                    PMBA_MASK;
    bool on = (pm->pci.config[PMREGMISC] & PMIOSE) && base != 0;
    g_autoptr(GError) error = NULL;

    if (on && pm->pm_region && pm->pm_region->base == base)
        return;
    if (pm->pm_region) {
        memory_map_remove(m->io, pm->pm_region);
        pm->pm_region = NULL;
    }
    if (!on)
        return;
    pm->pm_region = memory_map_add_io(m->io, "acpi-pm", base, ACPI_PM_IO_SIZE,
                                      pm->pm_ops, pm->acpi_pm, &error);
    if (!pm->pm_region)
        log_once(&pm->logged, LOGGED_PM_MAP, "piix-pm",
                 "PM I/O space left unmapped: %s", error->message);
}

static void piix_pm_config_write(struct pci_device *d, unsigned offset,
                                 uint32_t value, unsigned size)
{
    pci_default_config_write(d, offset, value, size);
    if ((offset < PMBA + 4 && offset + size > PMBA) ||
        (offset <= PMREGMISC && offset + size > PMREGMISC))
        piix_pm_update((struct piix_pm *)d);
}

static const struct pci_device_ops piix_pm_pci_ops = {
    .config_write = piix_pm_config_write,
};

static void piix_pm_init_config(struct pci_device *d)
{
    pci_device_init(d, "piix4-pm", PIIX_VENDOR, PIIX4_PM_DEVICE,
                    PIIX4_PM_REVISION, PIIX4_PM_CLASS, 1);
    d->ops = &piix_pm_pci_ops;
    d->config[PCI_STATUS + 1] = 0x02;              /* DEVSEL# medium */
    d->wmask[PCI_COMMAND] = PCI_COMMAND_IO;
    d->wmask[PCI_COMMAND + 1] = 0;
    /* Counters, GPI control and device monitors: stored, not acted on. */
    memset(&d->wmask[0x44], 0xff, PMREGMISC - 0x44);
    /*
     * There is no SMM: APMC_EN reads as already set, so firmware (SeaBIOS
     * smm_setup) takes SMM as initialised and does not wait for an SMI
     * that never comes.
     */
    d->config[DEVACTB + 3] = DEVACTB_APMC_EN;
    d->config[PMBA] = 0x01;                        /* I/O space indicator */
    d->wmask[PMBA] = PMBA_MASK & 0xff;
    d->wmask[PMBA + 1] = PMBA_MASK >> 8;
    d->wmask[PMREGMISC] = PMIOSE;
    /* SMBus: base and host configuration accepted; no SMBus controller. */
    d->config[SMBBA] = 0x01;
    d->wmask[SMBBA] = 0xf0;
    d->wmask[SMBBA + 1] = 0xff;
    d->wmask[SMBHSTCFG] = 0x0f;
    d->wmask[SMBHSTCFG + 1] = 0xff;                /* SMBSLVC */
    d->wmask[SMBHSTCFG + 2] = 0xff;                /* SMBSHDW1 */
    d->wmask[SMBHSTCFG + 3] = 0xff;                /* SMBSHDW2 */
}

/* The acpi-pm device's port region: its callbacks are reused at PMBA. */
static const struct memory_region *find_acpi_pm_region(struct machine *m,
                                                       struct device *acpi_pm)
{
    for (unsigned i = 0; i < memory_map_region_count(m->io); i++) {
        const struct memory_region *r = memory_map_region(m->io, i);

        if (r->kind == MEMORY_REGION_IO && r->opaque == (void *)acpi_pm)
            return r;
    }
    return NULL;
}

static void piix_pm_reset(struct device *dev)
{
    struct piix_pm *pm = (struct piix_pm *)dev;

    pci_device_reset(&pm->pci);
    piix_pm_update(pm);
}

static void piix_pm_destroy(struct device *dev)
{
    g_free(dev);
}

struct device *piix_pm_create(struct machine *m, struct pci_bus *bus,
                              struct device *acpi_pm, GError **error)
{
    const struct memory_region *r = find_acpi_pm_region(m, acpi_pm);
    struct piix_pm *pm;

    if (!r || r->size != ACPI_PM_IO_SIZE || (r->base & ~PMBA_MASK)) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "piix-pm: the ACPI PM device has no %u-port I/O block on a "
                    "%u-port boundary", ACPI_PM_IO_SIZE, ACPI_PM_IO_SIZE);
        return NULL;
    }
    pm = g_new0(struct piix_pm, 1);
    pm->pci.dev.cls = &piix_pm_device_class;
    pm->acpi_pm = acpi_pm;
    pm->pm_ops = r->ops;
    pm->pm_region = r;
    piix_pm_init_config(&pm->pci);
    /*
     * The data sheet's power-on state has PMIOSE off; here the block starts
     * where the machine put it, as firmware leaves it (SeaBIOS programs the
     * same base), so a kernel booted without firmware finds its ACPI
     * registers at the address the FADT gives. Reset comes back to this.
     */
    pm->pci.config[PMBA] = (r->base & 0xff) | 0x01;
    pm->pci.config[PMBA + 1] = r->base >> 8;
    pm->pci.config[PMREGMISC] = PMIOSE;
    if (pci_bus_add(bus, &pm->pci, PIIX_PM_DEVFN, error) < 0) {
        g_free(pm);
        return NULL;
    }
    return &pm->pci.dev;
}

const struct device_class piix_pm_device_class = {
    .name = "piix4-pm",
    .reset = piix_pm_reset,
    .destroy = piix_pm_destroy,
};
