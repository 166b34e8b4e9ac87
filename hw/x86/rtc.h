/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MC146818A real-time clock and 128 bytes of CMOS RAM at ports 0x70/0x71,
 * with the configuration bytes a PC BIOS (SeaBIOS) reads from it.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "hw/device.h"

struct machine;

#define RTC_GSI 8
#define RTC_CMOS_SIZE 128

/* Time from the host's clock (UTC) now, advancing with the virtual clock. */
struct device *rtc_create(struct machine *m, GError **error);

/*
 * Fill CMOS bytes for the firmware; these take the machine's device lock,
 * so call them without holding it (normally while building the machine).
 */
void rtc_set_cmos(struct device *rtc, unsigned index, uint8_t value);
uint8_t rtc_get_cmos(struct device *rtc, unsigned index);
/*
 * The memory-size bytes: 0x15/0x16 base memory (640 KiB), 0x17/0x18 and
 * 0x30/0x31 KiB above 1 MiB, 0x34/0x35 64 KiB units above 16 MiB,
 * 0x5B-0x5D 64 KiB units above 4 GiB; and the checksum 0x2E/0x2F.
 */
void rtc_set_memory_size(struct device *rtc, uint64_t below_4g,
                         uint64_t above_4g);
/* 0x5F: number of CPUs minus one. */
void rtc_set_cpu_count(struct device *rtc, unsigned count);
/*
 * Boot order in 0x3D (first two) and 0x38 bits 7:4 (third), as SeaBIOS reads
 * them: letters a/b floppy (1), c hard disk (2), d CD-ROM (3), n network (4),
 * at most three. Returns 0, or -1 with @error for anything else.
 */
int rtc_set_boot_order(struct device *rtc, const char *order, GError **error);

extern const struct device_class rtc_device_class;
