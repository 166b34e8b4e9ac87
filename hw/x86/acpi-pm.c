/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ACPI PM1 registers and PM timer (ACPI 6.x §4.8.3 "Fixed Hardware
 * Registers") at a PIIX4-style PMBA: PM1_STS/PM1_EN at +0/+2, PM1_CNT at +4,
 * PM_TMR at +8.
 */
#define G_LOG_DOMAIN "mimic-acpi-pm"

#include "hw/x86/acpi-pm.h"

#include <stdarg.h>
#include <stdbool.h>

#include "engine/clock.h"
#include "engine/machine.h"
#include "engine/memory.h"

/* PM1 status and enable bits (ACPI 6.x §4.8.3.1.1, §4.8.3.1.2). */
#define PM1_TMR         0x0001
#define PM1_BM_STS      0x0010
#define PM1_GBL         0x0020
#define PM1_PWRBTN      0x0100
#define PM1_SLPBTN      0x0200
#define PM1_RTC         0x0400
#define PM1_PCIEXP_WAKE 0x4000
#define PM1_WAK_STS     0x8000
#define PM1_STS_MASK    (PM1_TMR | PM1_BM_STS | PM1_GBL | PM1_PWRBTN | \
                         PM1_SLPBTN | PM1_RTC | PM1_PCIEXP_WAKE | PM1_WAK_STS)
#define PM1_EN_MASK     (PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | \
                         PM1_RTC | PM1_PCIEXP_WAKE)
/* Events that signal the SCI when enabled. */
#define PM1_SCI_EVENTS  (PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | PM1_RTC)

/* PM1 control bits (ACPI 6.x §4.8.3.2.1). */
#define PM1_CNT_SCI_EN      0x0001
#define PM1_CNT_BM_RLD      0x0002
#define PM1_CNT_GBL_RLS     0x0004
#define PM1_CNT_SLP_TYP     0x1c00
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_EN      0x2000
#define PM1_CNT_MASK        (PM1_CNT_SCI_EN | PM1_CNT_BM_RLD | PM1_CNT_SLP_TYP)

/*
 * The S5 (soft off) SLP_TYP value that Mimic's DSDT declares in \_S5
 * (ACPI 6.x §7.4.2), the same as QEMU's PIIX4.
 */
#define SLP_TYP_S5 0

/* PM_TMR is 24 bits wide (FADT TMR_VAL_EXT = 0); TMR_STS follows bit 23. */
#define PM_TMR_BITS 24
#define PM_TMR_MASK ((UINT32_C(1) << PM_TMR_BITS) - 1)

enum {
    LOGGED_SLP_TYP = 1 << 0,
    LOGGED_OFFSET = 1 << 1,
};

struct acpi_pm {
    struct device dev;
    uint16_t base;
    struct vtimer *tmr_timer;   /* fires at the next bit-23 toggle while TMR_EN */

    uint16_t sts;               /* PM1_STS except TMR_STS */
    uint16_t en;
    uint16_t cnt;
    uint64_t tmr_epoch;         /* timer ticks / 2^23 when TMR_STS was cleared */
    bool sci_level;
    unsigned logged;
};

static uint64_t timer_ticks(struct acpi_pm *pm)
{
    int64_t ns = vclock_now_ns(pm->dev.machine->clock);
    uint64_t sec = (uint64_t)ns / 1000000000, rem = (uint64_t)ns % 1000000000;

    return sec * ACPI_PM_TIMER_HZ + rem * ACPI_PM_TIMER_HZ / 1000000000;
}

/* Virtual time at which the counter reaches @ticks (rounded up). */
static int64_t ticks_to_ns(uint64_t ticks)
{
    uint64_t sec = ticks / ACPI_PM_TIMER_HZ, rem = ticks % ACPI_PM_TIMER_HZ;

    return sec * 1000000000 +
           (rem * 1000000000 + ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ;
}

/* TMR_STS is set whenever bit 23 of the counter toggles (§4.8.3.1.1, §4.8.3.3). */
static uint16_t read_sts(struct acpi_pm *pm)
{
    uint64_t epoch = timer_ticks(pm) >> (PM_TMR_BITS - 1);

    return pm->sts | (epoch != pm->tmr_epoch ? PM1_TMR : 0);
}

/*
 * SCI_EN would route events to SMI instead on a chipset with SMM; there is
 * none here, so enabled events always raise the SCI (as QEMU's PIIX4 does).
 */
static void update_sci(struct acpi_pm *pm)
{
    bool level = (read_sts(pm) & pm->en & PM1_SCI_EVENTS) != 0;

    if (level != pm->sci_level) {
        pm->sci_level = level;
        machine_set_irq(pm->dev.machine, ACPI_PM_SCI_GSI, level);
    }
    if ((pm->en & PM1_TMR) && !(read_sts(pm) & PM1_TMR))
        vtimer_arm(pm->tmr_timer,
                   ticks_to_ns((pm->tmr_epoch + 1) << (PM_TMR_BITS - 1)));
    else
        vtimer_cancel(pm->tmr_timer);
}

static void tmr_expired(void *opaque)
{
    struct acpi_pm *pm = opaque;
    struct machine *m = pm->dev.machine;

    g_mutex_lock(&m->device_lock);
    update_sci(pm);
    g_mutex_unlock(&m->device_lock);
}

static void log_once(struct acpi_pm *pm, unsigned what, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void log_once(struct acpi_pm *pm, unsigned what, const char *fmt, ...)
{
    g_autofree char *text = NULL;
    va_list args;

    if (pm->logged & what)
        return;
    pm->logged |= what;
    va_start(args, fmt);
    text = g_strdup_vprintf(fmt, args);
    va_end(args);
    g_message("acpi-pm 0x%x: %s; ignored (logged once)", pm->base, text);
}

/* SLP_EN starts the transition into the sleep state in SLP_TYP (§4.8.3.2.1). */
static void write_cnt(struct acpi_pm *pm, uint16_t value)
{
    unsigned slp_typ = (value & PM1_CNT_SLP_TYP) >> PM1_CNT_SLP_TYP_SHIFT;

    pm->cnt = value & PM1_CNT_MASK;
    if (!(value & PM1_CNT_SLP_EN))
        return;
    if (slp_typ == SLP_TYP_S5)
        machine_request(pm->dev.machine, MACHINE_REQUEST_POWEROFF, 0);
    else
        log_once(pm, LOGGED_SLP_TYP, "guest asked for sleep type %u, "
                 "which is not supported", slp_typ);
}

/* The 16-bit register at @reg (0: STS, 2: EN, 4: CNT), or 0 for others. */
static uint16_t read_reg16(struct acpi_pm *pm, unsigned reg)
{
    switch (reg) {
    case ACPI_PM_EVT_OFFSET:
        return read_sts(pm);
    case ACPI_PM_EVT_OFFSET + 2:
        return pm->en;
    case ACPI_PM_CNT_OFFSET:
        return pm->cnt;     /* SLP_EN is write-only and reads 0 */
    }
    return 0;
}

/* Write the bytes of @value selected by @mask into the 16-bit register @reg. */
static void write_reg16(struct acpi_pm *pm, unsigned reg, uint16_t value,
                        uint16_t mask)
{
    switch (reg) {
    case ACPI_PM_EVT_OFFSET:
        /* Write 1 to clear. */
        value &= mask;
        if (value & PM1_TMR)
            pm->tmr_epoch = timer_ticks(pm) >> (PM_TMR_BITS - 1);
        pm->sts &= ~(value & PM1_STS_MASK);
        break;
    case ACPI_PM_EVT_OFFSET + 2:
        pm->en = ((pm->en & ~mask) | (value & mask)) & PM1_EN_MASK;
        break;
    case ACPI_PM_CNT_OFFSET:
        write_cnt(pm, (pm->cnt & ~mask) | (value & mask));
        break;
    }
    update_sci(pm);
}

static uint8_t read_byte(struct acpi_pm *pm, unsigned offset)
{
    if (offset >= ACPI_PM_TMR_OFFSET && offset < ACPI_PM_TMR_OFFSET + 4) {
        uint32_t tmr = timer_ticks(pm) & PM_TMR_MASK;

        return tmr >> (8 * (offset - ACPI_PM_TMR_OFFSET));
    }
    if (offset < ACPI_PM_CNT_OFFSET + 2)
        return read_reg16(pm, offset & ~1u) >> (8 * (offset & 1));
    return 0;
}

static uint64_t acpi_pm_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *pm = opaque;
    uint64_t value = 0;

    /* One timer sample for a whole 32-bit read, so it never tears. */
    if (offset == ACPI_PM_TMR_OFFSET && size >= 4)
        return timer_ticks(pm) & PM_TMR_MASK;
    for (unsigned i = 0; i < size; i++)
        value |= (uint64_t)read_byte(pm, offset + i) << (8 * i);
    return value;
}

static void acpi_pm_write(void *opaque, uint64_t offset, uint64_t value,
                          unsigned size)
{
    struct acpi_pm *pm = opaque;
    uint64_t end = offset + size;

    /* Each 16-bit register gets the bytes of the access that cover it. */
    for (unsigned reg = 0; reg < ACPI_PM_CNT_OFFSET + 2; reg += 2) {
        uint16_t mask = 0, bits = 0;

        for (unsigned b = 0; b < 2; b++) {
            if (reg + b >= offset && reg + b < end) {
                mask |= 0xff << (8 * b);
                bits |= ((value >> (8 * (reg + b - offset))) & 0xff) << (8 * b);
            }
        }
        if (mask)
            write_reg16(pm, reg, bits, mask);
    }
    if (end > ACPI_PM_CNT_OFFSET + 2)
        log_once(pm, LOGGED_OFFSET, "guest wrote offset 0x%x, which is "
                 "read-only or not implemented",
                 (unsigned)MAX(offset, ACPI_PM_CNT_OFFSET + 2));
}

static const struct memory_ops acpi_pm_ops = {
    .read = acpi_pm_read,
    .write = acpi_pm_write,
};

void acpi_pm_power_button(struct device *dev)
{
    struct acpi_pm *pm = (struct acpi_pm *)dev;
    struct machine *m;

    g_return_if_fail(dev && dev->cls == &acpi_pm_device_class);
    m = dev->machine;
    g_mutex_lock(&m->device_lock);
    pm->sts |= PM1_PWRBTN;
    update_sci(pm);
    g_mutex_unlock(&m->device_lock);
}

static void acpi_pm_reset(struct device *dev)
{
    struct acpi_pm *pm = (struct acpi_pm *)dev;

    pm->sts = 0;
    pm->en = 0;
    /*
     * The FADT declares no SMI command port (SMI_CMD 0): the platform is
     * always in ACPI mode, so SCI_EN reads as set (ACPI 6.5, 4.8.2.1).
     */
    pm->cnt = PM1_CNT_SCI_EN;
    pm->tmr_epoch = timer_ticks(pm) >> (PM_TMR_BITS - 1);
    update_sci(pm);
}

static void acpi_pm_destroy(struct device *dev)
{
    struct acpi_pm *pm = (struct acpi_pm *)dev;

    vtimer_free(pm->tmr_timer);
    g_free(pm);
}

struct device *acpi_pm_create(struct machine *m, uint16_t base, GError **error)
{
    struct acpi_pm *pm = g_new0(struct acpi_pm, 1);

    pm->dev.cls = &acpi_pm_device_class;
    pm->dev.machine = m;
    pm->base = base;
    pm->tmr_timer = vtimer_new(m->clock, tmr_expired, pm);
    if (!memory_map_add_io(m->io, "acpi-pm", base, ACPI_PM_IO_SIZE,
                           &acpi_pm_ops, pm, error)) {
        vtimer_free(pm->tmr_timer);
        g_free(pm);
        return NULL;
    }
    acpi_pm_reset(&pm->dev);
    machine_add_device(m, &pm->dev);
    return &pm->dev;
}

const struct device_class acpi_pm_device_class = {
    .name = "acpi-pm",
    .reset = acpi_pm_reset,
    .destroy = acpi_pm_destroy,
};
