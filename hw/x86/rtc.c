/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Motorola MC146818A real-time clock plus RAM (data sheet: "Address Map",
 * "Registers A-D", "Interrupts", "Update Cycle"), time kept as an offset on
 * the virtual clock so it stands still while the VM is paused.
 */
#define G_LOG_DOMAIN "mimic-rtc"

#include "hw/x86/rtc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "engine/clock.h"
#include "engine/machine.h"
#include "engine/memory.h"
#include "engine/vm.h"

#define RTC_PORT 0x70
#define NS_PER_SEC INT64_C(1000000000)
#define TIMEBASE_HZ 32768

/* Time and alarm registers. */
enum {
    REG_SECONDS = 0x00, REG_SECONDS_ALARM = 0x01, REG_MINUTES = 0x02,
    REG_MINUTES_ALARM = 0x03, REG_HOURS = 0x04, REG_HOURS_ALARM = 0x05,
    REG_DAY_OF_WEEK = 0x06, REG_DAY = 0x07, REG_MONTH = 0x08, REG_YEAR = 0x09,
    REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d,
    /* IBM PC/AT CMOS layout, as firmware uses it. */
    CMOS_FLOPPY_TYPES = 0x10, CMOS_EQUIPMENT = 0x14,
    CMOS_BASE_MEM = 0x15, CMOS_EXT_MEM = 0x17, CMOS_CHECKSUM = 0x2e,
    CMOS_EXT_MEM2 = 0x30, CMOS_CENTURY = 0x32, CMOS_MEM_ABOVE_16M = 0x34,
    CMOS_BOOT_FLAG1 = 0x38, CMOS_BOOT_FLAG2 = 0x3d, CMOS_MEM_ABOVE_4G = 0x5b,
    CMOS_CPU_COUNT = 0x5f,
};

#define A_UIP 0x80
#define A_DV 0x70
#define A_DV_NORMAL 0x20                /* 32.768 kHz time base, running */
#define A_DV_RESET 0x60                 /* 11x: divider chain held in reset */
#define A_RS 0x0f
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_SQWE 0x08
#define B_DM_BINARY 0x04
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define D_VRT 0x80
#define HOUR_PM 0x80
#define ALARM_DONT_CARE 0xc0

/* UIP rises 244 us before the update cycle, which lasts 1984 us. */
#define UIP_LEAD_NS 244000
#define UPDATE_CYCLE_NS 1984000

enum {
    LOGGED_TIME = 1 << 0,
    LOGGED_PORT = 1 << 1,
};

struct rtc {
    struct device dev;
    uint8_t cmos[RTC_CMOS_SIZE];
    uint8_t index;
    bool nmi_masked;                /* port 0x70 bit 7 */
    /* Guest time: base_time seconds (Unix, UTC) at virtual base_ns. */
    int64_t base_time;
    int64_t base_ns;
    int64_t last_second;            /* last second seen for UF/AF */
    int64_t last_a_read;            /* guest second of the last Register A read */
    int64_t uip_cycle;              /* last update cycle UIP was shown for */
    uint64_t last_period;           /* last periodic interval seen for PF */
    struct vtimer *timer;
    bool irq;
    unsigned logged;
};

static void log_once(struct rtc *rtc, unsigned what, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void log_once(struct rtc *rtc, unsigned what, const char *fmt, ...)
{
    g_autofree char *text = NULL;
    va_list args;

    if (rtc->logged & what)
        return;
    rtc->logged |= what;
    va_start(args, fmt);
    text = g_strdup_vprintf(fmt, args);
    va_end(args);
    g_message("rtc: %s (logged once)", text);
}

/* --- calendar (proleptic Gregorian, days since 1970-01-01) --- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* --- register formats: BCD or binary (DM), 12 or 24 hours --- */

static uint8_t encode(const struct rtc *rtc, unsigned value)
{
    if (rtc->cmos[REG_B] & B_DM_BINARY)
        return value;
    return ((value / 10) << 4) | (value % 10);
}

static unsigned decode(struct rtc *rtc, uint8_t value)
{
    if (rtc->cmos[REG_B] & B_DM_BINARY)
        return value;
    if ((value & 0x0f) > 9 || (value >> 4) > 9)
        log_once(rtc, LOGGED_TIME, "guest wrote 0x%02x, not a BCD number, "
                 "into a time register", value);
    return (value >> 4) * 10 + (value & 0x0f);
}

static uint8_t encode_hour(const struct rtc *rtc, unsigned hour)
{
    if (rtc->cmos[REG_B] & B_24H)
        return encode(rtc, hour);
    return encode(rtc, hour % 12 ? hour % 12 : 12) | (hour >= 12 ? HOUR_PM : 0);
}

static unsigned decode_hour(struct rtc *rtc, uint8_t value)
{
    unsigned hour;

    if (rtc->cmos[REG_B] & B_24H)
        return decode(rtc, value);
    hour = decode(rtc, value & ~HOUR_PM) % 12;
    return hour + (value & HOUR_PM ? 12 : 0);
}

/* Show @t (Unix seconds) in the time registers and the century byte. */
static void fields_from_time(struct rtc *rtc, int64_t t)
{
    int64_t days = floor_div(t, 86400), secs = t - days * 86400, year;
    unsigned month, day;

    civil_from_days(days, &year, &month, &day);
    rtc->cmos[REG_SECONDS] = encode(rtc, secs % 60);
    rtc->cmos[REG_MINUTES] = encode(rtc, secs / 60 % 60);
    rtc->cmos[REG_HOURS] = encode_hour(rtc, secs / 3600);
    /* 1 is Sunday; 1970-01-01 was a Thursday. */
    rtc->cmos[REG_DAY_OF_WEEK] = encode(rtc, (unsigned)((days % 7 + 11) % 7) + 1);
    rtc->cmos[REG_DAY] = encode(rtc, day);
    rtc->cmos[REG_MONTH] = encode(rtc, month);
    rtc->cmos[REG_YEAR] = encode(rtc, (unsigned)(year % 100));
    rtc->cmos[CMOS_CENTURY] = encode(rtc, (unsigned)(year / 100));
}

static int64_t time_from_fields(struct rtc *rtc)
{
    unsigned sec = MIN(decode(rtc, rtc->cmos[REG_SECONDS]), 59);
    unsigned min = MIN(decode(rtc, rtc->cmos[REG_MINUTES]), 59);
    unsigned hour = MIN(decode_hour(rtc, rtc->cmos[REG_HOURS]), 23);
    unsigned day = CLAMP(decode(rtc, rtc->cmos[REG_DAY]), 1, 31);
    unsigned month = CLAMP(decode(rtc, rtc->cmos[REG_MONTH]), 1, 12);
    unsigned year = decode(rtc, rtc->cmos[REG_YEAR]) % 100;
    unsigned century = decode(rtc, rtc->cmos[CMOS_CENTURY]);

    if (century < 19 || century > 99)
        century = 20;
    return days_from_civil(century * 100 + year, month, day) * 86400 +
           hour * 3600 + min * 60 + sec;
}

/* --- the clock --- */

static int64_t now_ns(struct rtc *rtc)
{
    return vclock_now_ns(rtc->dev.machine->clock);
}

/* Updates run unless SET is on or the divider is not at 32.768 kHz. */
static bool updating(const struct rtc *rtc)
{
    return !(rtc->cmos[REG_B] & B_SET) &&
           (rtc->cmos[REG_A] & A_DV) == A_DV_NORMAL;
}

static int64_t current_time(struct rtc *rtc, int64_t ns)
{
    return rtc->base_time + floor_div(ns - rtc->base_ns, NS_PER_SEC);
}

/* Restart counting at the time the registers show. */
static void set_base(struct rtc *rtc, int64_t ns, int64_t phase_ns)
{
    rtc->base_time = time_from_fields(rtc);
    rtc->base_ns = ns - phase_ns;
    rtc->last_second = current_time(rtc, ns);
    rtc->last_a_read = rtc->uip_cycle = rtc->last_second;
}

static int64_t phase_ns(struct rtc *rtc, int64_t ns)
{
    int64_t d = ns - rtc->base_ns;

    return d - floor_div(d, NS_PER_SEC) * NS_PER_SEC;
}

/*
 * Periodic interrupt rate (Register A, RS3-RS0, table "Periodic Interrupt
 * Rate"): in time-base ticks; 1 and 2 give 256 and 128 Hz like 8 and 9.
 */
static uint64_t period_ticks(const struct rtc *rtc)
{
    unsigned rs = rtc->cmos[REG_A] & A_RS;

    if (rs == 0 || (rtc->cmos[REG_A] & A_DV_RESET) == A_DV_RESET)
        return 0;
    return rs <= 2 ? UINT64_C(1) << (rs + 6) : UINT64_C(1) << (rs - 1);
}

static uint64_t ns_to_ticks(int64_t ns)
{
    uint64_t sec = (uint64_t)ns / NS_PER_SEC, rem = (uint64_t)ns % NS_PER_SEC;

    return sec * TIMEBASE_HZ + rem * TIMEBASE_HZ / NS_PER_SEC;
}

static int64_t ticks_to_ns(uint64_t ticks)
{
    uint64_t sec = ticks / TIMEBASE_HZ, rem = ticks % TIMEBASE_HZ;

    return sec * NS_PER_SEC + (rem * NS_PER_SEC + TIMEBASE_HZ - 1) / TIMEBASE_HZ;
}

static uint64_t period_index(struct rtc *rtc, int64_t ns)
{
    uint64_t p = period_ticks(rtc);

    return p ? ns_to_ticks(MAX(ns, 0)) / p : 0;
}

static bool alarm_matches(struct rtc *rtc, int64_t t)
{
    int64_t secs = t - floor_div(t, 86400) * 86400;
    const uint8_t now[3] = {
        encode(rtc, secs % 60), encode(rtc, secs / 60 % 60),
        encode_hour(rtc, secs / 3600),
    };

    for (unsigned i = 0; i < 3; i++) {
        uint8_t alarm = rtc->cmos[REG_SECONDS_ALARM + 2 * i];

        if ((alarm & ALARM_DONT_CARE) != ALARM_DONT_CARE && alarm != now[i])
            return false;
    }
    return true;
}

/* Set the flags of what happened since last time, and IRQF (Register C). */
static void catch_up(struct rtc *rtc, int64_t ns)
{
    uint8_t *c = &rtc->cmos[REG_C];
    uint64_t period = period_index(rtc, ns);

    if (updating(rtc)) {
        int64_t t = current_time(rtc, ns);

        if (t > rtc->last_second) {
            /* At most a day of seconds: an alarm matches at least daily. */
            int64_t from = MAX(rtc->last_second + 1, t - 86400);

            *c |= C_UF;
            for (int64_t s = from; s <= t && !(*c & C_AF); s++)
                if (alarm_matches(rtc, s))
                    *c |= C_AF;
        }
        rtc->last_second = t;
    }
    if (period_ticks(rtc) && period != rtc->last_period)
        *c |= C_PF;
    rtc->last_period = period;
    if (*c & rtc->cmos[REG_B] & (C_PF | C_AF | C_UF))
        *c |= C_IRQF;
}

static void update_irq(struct rtc *rtc)
{
    bool level = rtc->cmos[REG_C] & C_IRQF;

    if (level != rtc->irq) {
        rtc->irq = level;
        machine_set_irq(rtc->dev.machine, RTC_GSI, level);
    }
}

/* Run the timer only while an enabled event can still raise IRQF. */
static void rearm(struct rtc *rtc, int64_t ns)
{
    int64_t deadline = INT64_MAX;
    uint8_t b = rtc->cmos[REG_B];

    if (rtc->cmos[REG_C] & C_IRQF) {
        vtimer_cancel(rtc->timer);
        return;
    }
    if ((b & B_PIE) && period_ticks(rtc))
        deadline = ticks_to_ns((period_index(rtc, ns) + 1) * period_ticks(rtc));
    if ((b & (B_UIE | B_AIE)) && updating(rtc))
        deadline = MIN(deadline, rtc->base_ns +
                       (current_time(rtc, ns) - rtc->base_time + 1) * NS_PER_SEC);
    if (deadline == INT64_MAX)
        vtimer_cancel(rtc->timer);
    else
        vtimer_arm(rtc->timer, deadline);
}

static void refresh(struct rtc *rtc, int64_t ns)
{
    catch_up(rtc, ns);
    update_irq(rtc);
    rearm(rtc, ns);
}

static void timer_expired(void *opaque)
{
    struct rtc *rtc = opaque;
    struct machine *m = rtc->dev.machine;

    g_mutex_lock(&m->device_lock);
    refresh(rtc, now_ns(rtc));
    g_mutex_unlock(&m->device_lock);
}

/* --- registers --- */

/*
 * UIP is high from 244 us before each update until it ends 1984 us later
 * (Register A, "UIP"). A vCPU that polls A can be descheduled across that
 * window, so an update the guest has not seen UIP for is shown once on
 * the next read: "wait for UIP to rise, then fall" loops always finish.
 */
static bool read_uip(struct rtc *rtc, int64_t ns)
{
    int64_t phase = phase_ns(rtc, ns), t = current_time(rtc, ns);
    bool uip = false;

    if (!updating(rtc))
        return false;
    if (phase >= NS_PER_SEC - UIP_LEAD_NS) {
        uip = true;
        rtc->uip_cycle = MAX(rtc->uip_cycle, t + 1);
    } else if (phase < UPDATE_CYCLE_NS || (rtc->last_a_read < t &&
                                           rtc->uip_cycle < t)) {
        uip = true;
        rtc->uip_cycle = MAX(rtc->uip_cycle, t);
    }
    rtc->last_a_read = t;
    return uip;
}

static uint8_t read_register(struct rtc *rtc, unsigned index)
{
    int64_t ns = now_ns(rtc);
    uint8_t value;

    switch (index) {
    case REG_SECONDS: case REG_MINUTES: case REG_HOURS: case REG_DAY_OF_WEEK:
    case REG_DAY: case REG_MONTH: case REG_YEAR: case CMOS_CENTURY:
        if (updating(rtc))
            fields_from_time(rtc, current_time(rtc, ns));
        return rtc->cmos[index];
    case REG_A:
        return (rtc->cmos[REG_A] & ~A_UIP) | (read_uip(rtc, ns) ? A_UIP : 0);
    case REG_C:
        /* Reading C clears all its flags and the interrupt request. */
        catch_up(rtc, ns);
        value = rtc->cmos[REG_C];
        rtc->cmos[REG_C] = 0;
        update_irq(rtc);
        rearm(rtc, ns);
        return value;
    case REG_D:
        return D_VRT;
    }
    return rtc->cmos[index];
}

static void write_time_field(struct rtc *rtc, unsigned index, uint8_t value,
                             int64_t ns)
{
    if (!updating(rtc)) {
        rtc->cmos[index] = value;
        return;
    }
    /* A write while counting sets that field and keeps the second's phase. */
    fields_from_time(rtc, current_time(rtc, ns));
    rtc->cmos[index] = value;
    set_base(rtc, ns, phase_ns(rtc, ns));
}

static void write_register(struct rtc *rtc, unsigned index, uint8_t value)
{
    int64_t ns = now_ns(rtc);
    bool was_updating = updating(rtc);

    switch (index) {
    case REG_SECONDS: case REG_MINUTES: case REG_HOURS: case REG_DAY_OF_WEEK:
    case REG_DAY: case REG_MONTH: case REG_YEAR: case CMOS_CENTURY:
        write_time_field(rtc, index, value, ns);
        break;
    case REG_A:
    case REG_B:
        catch_up(rtc, ns);
        if (was_updating)
            fields_from_time(rtc, current_time(rtc, ns));
        if (index == REG_A) {
            rtc->cmos[REG_A] = value & ~A_UIP;
            rtc->last_period = period_index(rtc, ns);
        } else {
            /* Setting SET clears UIE (Register B, "SET"). */
            rtc->cmos[REG_B] = value & B_SET ? value & ~B_UIE : value;
        }
        if (!was_updating && updating(rtc)) {
            /* Leaving divider reset, the first update comes 500 ms later. */
            bool from_reset = index == REG_A;

            set_base(rtc, ns, from_reset ? NS_PER_SEC / 2 : 0);
        }
        if (index == REG_B && (rtc->cmos[REG_C] & rtc->cmos[REG_B] &
                               (C_PF | C_AF | C_UF)))
            rtc->cmos[REG_C] |= C_IRQF;
        break;
    case REG_C:
    case REG_D:
        break;                      /* read-only */
    default:
        rtc->cmos[index] = value;
        break;
    }
    update_irq(rtc);
    rearm(rtc, ns);
}

static uint64_t rtc_read(void *opaque, uint64_t offset, unsigned size)
{
    struct rtc *rtc = opaque;

    if (offset == 1 && size == 1)
        return read_register(rtc, rtc->index);
    /* Port 0x70 is write-only. */
    return UINT64_MAX;
}

static void rtc_write(void *opaque, uint64_t offset, uint64_t value,
                      unsigned size)
{
    struct rtc *rtc = opaque;

    if (size != 1) {
        log_once(rtc, LOGGED_PORT, "guest made a %u-byte access to port 0x%x; "
                 "ignored", size, (unsigned)(RTC_PORT + offset));
        return;
    }
    if (offset == 0) {
        rtc->index = value & 0x7f;
        rtc->nmi_masked = value & 0x80;
    } else {
        write_register(rtc, rtc->index, value);
    }
}

static const struct memory_ops rtc_ops = {
    .read = rtc_read,
    .write = rtc_write,
};

/* --- machine interface --- */

static struct rtc *to_rtc(struct device *dev)
{
    g_return_val_if_fail(dev && dev->cls == &rtc_device_class, NULL);
    return (struct rtc *)dev;
}

/* Bytes 0x10-0x2D are summed into 0x2E (high) and 0x2F (IBM PC/AT). */
static void update_checksum(struct rtc *rtc)
{
    unsigned sum = 0;

    for (unsigned i = CMOS_FLOPPY_TYPES; i < CMOS_CHECKSUM; i++)
        sum += rtc->cmos[i];
    rtc->cmos[CMOS_CHECKSUM] = sum >> 8;
    rtc->cmos[CMOS_CHECKSUM + 1] = sum;
}

void rtc_set_cmos(struct device *dev, unsigned index, uint8_t value)
{
    struct rtc *rtc = to_rtc(dev);

    g_return_if_fail(rtc && index < RTC_CMOS_SIZE);
    g_mutex_lock(&dev->machine->device_lock);
    rtc->cmos[index] = value;
    if (index >= CMOS_FLOPPY_TYPES && index < CMOS_CHECKSUM)
        update_checksum(rtc);
    g_mutex_unlock(&dev->machine->device_lock);
}

uint8_t rtc_get_cmos(struct device *dev, unsigned index)
{
    struct rtc *rtc = to_rtc(dev);
    uint8_t value;

    g_return_val_if_fail(rtc && index < RTC_CMOS_SIZE, 0xff);
    g_mutex_lock(&dev->machine->device_lock);
    value = rtc->cmos[index];
    g_mutex_unlock(&dev->machine->device_lock);
    return value;
}

static void set_word(struct device *dev, unsigned index, unsigned value)
{
    rtc_set_cmos(dev, index, value & 0xff);
    rtc_set_cmos(dev, index + 1, value >> 8);
}

void rtc_set_memory_size(struct device *dev, uint64_t below_4g,
                         uint64_t above_4g)
{
    uint64_t ext = below_4g > (1 << 20) ? (below_4g - (1 << 20)) >> 10 : 0;
    uint64_t above_16m = below_4g > (16 << 20) ? (below_4g - (16 << 20)) >> 16 : 0;
    uint64_t high = MIN(above_4g >> 16, 0xffffff);

    g_return_if_fail(to_rtc(dev));
    set_word(dev, CMOS_BASE_MEM, 640);
    set_word(dev, CMOS_EXT_MEM, MIN(ext, 0xffff));
    set_word(dev, CMOS_EXT_MEM2, MIN(ext, 0xffff));
    set_word(dev, CMOS_MEM_ABOVE_16M, MIN(above_16m, 0xffff));
    rtc_set_cmos(dev, CMOS_MEM_ABOVE_4G, high & 0xff);
    rtc_set_cmos(dev, CMOS_MEM_ABOVE_4G + 1, (high >> 8) & 0xff);
    rtc_set_cmos(dev, CMOS_MEM_ABOVE_4G + 2, high >> 16);
}

void rtc_set_cpu_count(struct device *dev, unsigned count)
{
    g_return_if_fail(count >= 1 && count <= 256);
    rtc_set_cmos(dev, CMOS_CPU_COUNT, count - 1);
}

int rtc_set_boot_order(struct device *dev, const char *order, GError **error)
{
    unsigned devices[3] = { 0 }, n = 0;

    g_return_val_if_fail(to_rtc(dev) && order, -1);
    for (const char *p = order; *p; p++) {
        unsigned code;

        switch (*p) {
        case 'a': case 'b': code = 1; break;
        case 'c': code = 2; break;
        case 'd': code = 3; break;
        case 'n': code = 4; break;
        default:
            g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                        "boot order \"%s\": '%c' is not a, b, c, d or n",
                        order, *p);
            return -1;
        }
        if (n == G_N_ELEMENTS(devices)) {
            g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                        "boot order \"%s\": at most 3 devices", order);
            return -1;
        }
        devices[n++] = code;
    }
    rtc_set_cmos(dev, CMOS_BOOT_FLAG2, devices[0] | devices[1] << 4);
    /* Bit 0 clear: SeaBIOS checks the floppy boot signature. */
    rtc_set_cmos(dev, CMOS_BOOT_FLAG1, devices[2] << 4);
    return 0;
}

/* RESET clears PIE, AIE, UIE, SQWE and the flags; time goes on ("RESET"). */
static void rtc_reset(struct device *dev)
{
    struct rtc *rtc = (struct rtc *)dev;

    rtc->cmos[REG_B] &= ~(B_PIE | B_AIE | B_UIE | B_SQWE);
    rtc->cmos[REG_C] = 0;
    rtc->index = 0;
    rtc->nmi_masked = false;
    update_irq(rtc);
    rearm(rtc, now_ns(rtc));
}

static void rtc_destroy(struct device *dev)
{
    struct rtc *rtc = (struct rtc *)dev;

    vtimer_free(rtc->timer);
    g_free(rtc);
}

struct device *rtc_create(struct machine *m, GError **error)
{
    struct rtc *rtc = g_new0(struct rtc, 1);

    rtc->dev.cls = &rtc_device_class;
    rtc->dev.machine = m;
    rtc->cmos[REG_A] = A_DV_NORMAL | 0x06;     /* 1024 Hz rate selected */
    rtc->cmos[REG_B] = B_24H;                   /* BCD, 24 hours */
    rtc->cmos[REG_D] = D_VRT;
    /* No floppies; FPU and PS/2 mouse present, VGA display. */
    rtc->cmos[CMOS_EQUIPMENT] = 0x06;
    update_checksum(rtc);
    rtc->base_time = g_get_real_time() / G_USEC_PER_SEC;
    rtc->base_ns = vclock_now_ns(m->clock);
    rtc->last_second = rtc->last_a_read = rtc->uip_cycle = rtc->base_time;
    fields_from_time(rtc, rtc->base_time);
    rtc->timer = vtimer_new(m->clock, timer_expired, rtc);
    if (!memory_map_add_io(m->io, "rtc", RTC_PORT, 2, &rtc_ops, rtc, error)) {
        vtimer_free(rtc->timer);
        g_free(rtc);
        return NULL;
    }
    rtc->last_period = period_index(rtc, rtc->base_ns);
    machine_add_device(m, &rtc->dev);
    return &rtc->dev;
}

const struct device_class rtc_device_class = {
    .name = "rtc",
    .reset = rtc_reset,
    .destroy = rtc_destroy,
};
