/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VGA core: the register file on ports 0x3B0-0x3DF, the 0xA0000-0xBFFFF
 * memory window with the graphics controller's read and write modes, and
 * the Bochs VBE DISPI registers. After the IBM VGA Technical Reference and
 * the FreeVGA register pages; DISPI after Bochs' vbe.h/vbe.txt.
 */
#define G_LOG_DOMAIN "mimic-vga"

#include "hw/display/vga-internal.h"

#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>

#include "engine/clock.h"
#include "engine/machine.h"

#define RETRACE_PERIOD_NS 14268000      /* 70 Hz, the 400-line modes' rate */
#define RETRACE_LENGTH_NS 1000000

void vga_log_once(struct vga *s, unsigned what, const char *format, ...)
{
    va_list args;
    g_autofree char *message = NULL;

    if (s->logged & what)
        return;
    s->logged |= what;
    va_start(args, format);
    message = g_strdup_vprintf(format, args);
    va_end(args);
    g_message("%s: %s; ignored (logged once)", s->name, message);
}

uint8_t *vga_alloc_vram(size_t size)
{
    /* Page-aligned and lazily zeroed: KVM maps it as a memory slot. */
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

void vga_free_vram(uint8_t *vram, size_t size)
{
    if (vram)
        munmap(vram, size);
}

/* --- the CRTC, sequencer, graphics and attribute registers --- */

static uint8_t input_status_1(struct vga *s)
{
    int64_t now = vclock_now_ns(s->machine->clock);
    uint8_t value = 0;
    static const uint8_t display_inactive = 0x01, vertical_retrace = 0x08;

    /* Reading it resets the attribute flip-flop (FreeVGA, "Input Status #1"). */
    s->ar_data_next = false;
    if (now % RETRACE_PERIOD_NS >= RETRACE_PERIOD_NS - RETRACE_LENGTH_NS)
        value |= vertical_retrace | display_inactive;
    else if ((now / 32000) & 1)     /* horizontal blanking, roughly */
        value |= display_inactive;
    return value;
}

static void write_crtc(struct vga *s, uint8_t value)
{
    unsigned index = s->cr_index;

    if (index >= VGA_CR_COUNT) {
        vga_log_once(s, VGA_LOGGED_CR_INDEX,
                     "write 0x%02x to CRTC register 0x%02x, which a VGA lacks",
                     value, index);
        return;
    }
    /* CR11 bit 7 write-protects CR00-CR07, except CR07 bit 4 (LC bit 8). */
    if ((s->cr[CR_V_RETRACE_END] & 0x80) && index <= CR_OVERFLOW) {
        if (index == CR_OVERFLOW)
            s->cr[index] = (s->cr[index] & ~0x10) | (value & 0x10);
        return;
    }
    s->cr[index] = value;
}

static void write_attribute(struct vga *s, uint8_t value)
{
    if (!s->ar_data_next) {
        s->ar_index = value & 0x3f;
    } else {
        unsigned index = s->ar_index & 0x1f;

        if (index < VGA_AR_COUNT)
            s->ar[index] = index < 0x10 ? value & 0x3f : value;
    }
    s->ar_data_next = !s->ar_data_next;
}

static uint8_t read_dac(struct vga *s)
{
    uint8_t value = s->palette[s->dac_read_index * 3 + s->dac_component];

    if (++s->dac_component == 3) {
        s->dac_component = 0;
        s->dac_read_index++;
    }
    return value;
}

static void write_dac(struct vga *s, uint8_t value)
{
    /* 6 bits per component unless VBE switched the DAC to 8 bits. */
    if (!(s->vbe[VBE_INDEX_ENABLE] & VBE_8BIT_DAC))
        value &= 0x3f;
    s->dac_latch[s->dac_component] = value;
    if (++s->dac_component == 3) {
        memcpy(&s->palette[s->dac_write_index * 3], s->dac_latch, 3);
        s->dac_component = 0;
        s->dac_write_index++;
    }
}

uint8_t vga_port_read(struct vga *s, uint16_t port)
{
    if ((port >= 0x3b0 && port <= 0x3bf && (s->misc & MISC_COLOR)) ||
        (port >= 0x3d0 && port <= 0x3df && !(s->misc & MISC_COLOR)))
        return 0xff;

    switch (port) {
    case 0x3b4: case 0x3d4:
        return s->cr_index;
    case 0x3b5: case 0x3d5:
        return s->cr_index < VGA_CR_COUNT ? s->cr[s->cr_index] : 0xff;
    case 0x3ba: case 0x3da:
        return input_status_1(s);
    case 0x3c0:
        return s->ar_index;
    case 0x3c1:
        return (s->ar_index & 0x1f) < VGA_AR_COUNT ? s->ar[s->ar_index & 0x1f] : 0;
    case 0x3c2:
        return 0x10;        /* input status #0: switch sense */
    case 0x3c3:
        return s->subsystem_enable;
    case 0x3c4:
        return s->sr_index;
    case 0x3c5:
        return s->sr_index < VGA_SR_COUNT ? s->sr[s->sr_index] : 0xff;
    case 0x3c6:
        return s->pel_mask;
    case 0x3c7:
        return s->dac_state;
    case 0x3c8:
        return s->dac_write_index;
    case 0x3c9:
        return read_dac(s);
    case 0x3ca:
        return s->feature;
    case 0x3cc:
        return s->misc;
    case 0x3ce:
        return s->gr_index;
    case 0x3cf:
        return s->gr_index < VGA_GR_COUNT ? s->gr[s->gr_index] : 0xff;
    default:
        return 0xff;
    }
}

void vga_port_write(struct vga *s, uint16_t port, uint8_t value)
{
    if ((port >= 0x3b0 && port <= 0x3bf && (s->misc & MISC_COLOR)) ||
        (port >= 0x3d0 && port <= 0x3df && !(s->misc & MISC_COLOR)))
        return;

    switch (port) {
    case 0x3b4: case 0x3d4:
        s->cr_index = value;
        break;
    case 0x3b5: case 0x3d5:
        write_crtc(s, value);
        break;
    case 0x3ba: case 0x3da:
        s->feature = value;
        break;
    case 0x3c0:
    case 0x3c1:
        write_attribute(s, value);
        break;
    case 0x3c2:
        s->misc = value;
        break;
    case 0x3c3:
        s->subsystem_enable = value & 0x01;
        break;
    case 0x3c4:
        s->sr_index = value & 0x07;
        break;
    case 0x3c5:
        if (s->sr_index < VGA_SR_COUNT)
            s->sr[s->sr_index] = value;
        break;
    case 0x3c6:
        s->pel_mask = value;
        break;
    case 0x3c7:
        s->dac_read_index = value;
        s->dac_component = 0;
        s->dac_state = 0x03;
        break;
    case 0x3c8:
        s->dac_write_index = value;
        s->dac_component = 0;
        s->dac_state = 0x00;
        break;
    case 0x3c9:
        write_dac(s, value);
        break;
    case 0x3ce:
        s->gr_index = value & 0x0f;
        break;
    case 0x3cf:
        if (s->gr_index < VGA_GR_COUNT)
            s->gr[s->gr_index] = value;
        break;
    default:
        vga_log_once(s, VGA_LOGGED_PORT, "write 0x%02x to port 0x%x, which a "
                     "VGA does not decode", value, port);
        break;
    }
}

/* Wider accesses are bytes in little-endian order: index port first. */
static uint64_t port_region_read(void *opaque, uint64_t offset, unsigned size)
{
    struct vga *s = opaque;
    uint64_t value = 0;

    for (unsigned i = 0; i < size; i++)
        value |= (uint64_t)vga_port_read(s, VGA_PORT_BASE + offset + i) << (8 * i);
    return value;
}

static void port_region_write(void *opaque, uint64_t offset, uint64_t value,
                              unsigned size)
{
    struct vga *s = opaque;

    for (unsigned i = 0; i < size; i++)
        vga_port_write(s, VGA_PORT_BASE + offset + i, value >> (8 * i));
}

static const struct memory_ops vga_port_ops = {
    .read = port_region_read,
    .write = port_region_write,
};

/* --- the memory window (FreeVGA "Graphics Registers", read/write modes) --- */

static void load_latches(struct vga *s, uint32_t offset)
{
    memcpy(s->latch, &s->vram[(size_t)offset * 4], 4);
}

static uint8_t planar_read(struct vga *s, uint32_t offset, unsigned plane)
{
    load_latches(s, offset);
    if (!(s->gr[GR_MODE] & GR05_READ_MODE1))
        return s->latch[plane];

    /* Read mode 1: colour compare, planes excluded by "don't care" match. */
    uint8_t result = 0xff;

    for (unsigned p = 0; p < 4; p++) {
        if (!(s->gr[GR_COLOR_DONT_CARE] & (1 << p)))
            continue;
        uint8_t want = (s->gr[GR_COLOR_COMPARE] & (1 << p)) ? 0xff : 0x00;

        result &= ~(s->latch[p] ^ want);
    }
    return result;
}

static uint8_t alu(struct vga *s, uint8_t data, uint8_t latch)
{
    switch ((s->gr[GR_DATA_ROTATE] >> 3) & 3) {
    case 1: return data & latch;
    case 2: return data | latch;
    case 3: return data ^ latch;
    default: return data;
    }
}

/* Write modes 0-3 to the planes in @planes (a map-mask style bit set). */
static void planar_write(struct vga *s, uint32_t offset, unsigned planes,
                         uint8_t value)
{
    uint8_t *cell = &s->vram[(size_t)offset * 4];
    unsigned rotate = s->gr[GR_DATA_ROTATE] & 7;
    uint8_t rotated = (uint8_t)((value >> rotate) | (value << (8 - rotate)));
    uint8_t mask = s->gr[GR_BIT_MASK];

    for (unsigned p = 0; p < 4; p++) {
        uint8_t set_reset = (s->gr[GR_SET_RESET] & (1 << p)) ? 0xff : 0x00;
        uint8_t data;

        if (!(planes & (1 << p)))
            continue;
        switch (s->gr[GR_MODE] & 3) {
        case 0:
            data = (s->gr[GR_ENABLE_SET_RESET] & (1 << p)) ? set_reset : rotated;
            data = alu(s, data, s->latch[p]);
            cell[p] = (data & mask) | (s->latch[p] & ~mask);
            break;
        case 1:
            cell[p] = s->latch[p];
            break;
        case 2:
            data = (value & (1 << p)) ? 0xff : 0x00;
            data = alu(s, data, s->latch[p]);
            cell[p] = (data & mask) | (s->latch[p] & ~mask);
            break;
        case 3:
            data = alu(s, set_reset, s->latch[p]);
            cell[p] = (data & (mask & rotated)) | (s->latch[p] & ~(mask & rotated));
            break;
        }
    }
    if (planes & 0x4)
        s->font_dirty = true;
}

/*
 * Where a window offset lands: false if the memory map select (GR06 bits
 * 2-3) does not decode it. With VBE on, A0000-AFFFF is a 64 KiB bank.
 */
static bool window_offset(struct vga *s, uint32_t addr, uint32_t *offset)
{
    static const uint32_t base[4] = { 0, 0, 0x10000, 0x18000 };
    static const uint32_t size[4] = { 0x20000, 0x10000, 0x8000, 0x8000 };
    unsigned map = (s->gr[GR_MISC] >> 2) & 3;

    if (s->vbe[VBE_INDEX_ENABLE] & VBE_ENABLED)
        map = 1;
    if (addr < base[map] || addr >= base[map] + size[map])
        return false;
    *offset = addr - base[map];
    return true;
}

static bool vbe_linear_window(struct vga *s)
{
    return (s->vbe[VBE_INDEX_ENABLE] & VBE_ENABLED) && s->vbe[VBE_INDEX_BPP] != 4;
}

static uint32_t bank_offset(struct vga *s)
{
    return (s->vbe[VBE_INDEX_ENABLE] & VBE_ENABLED)
               ? (uint32_t)s->vbe[VBE_INDEX_BANK] * VBE_BANK_SIZE : 0;
}

static uint32_t plane_mask(struct vga *s)
{
    return (s->vbe[VBE_INDEX_ENABLE] & VBE_ENABLED)
               ? (uint32_t)(s->vram_size / 4 - 1) : VGA_PLANE_MASK;
}

static uint8_t window_read(struct vga *s, uint32_t addr)
{
    uint32_t a;

    if (!window_offset(s, addr, &a))
        return 0xff;
    if (vbe_linear_window(s)) {
        a += bank_offset(s);
        return a < s->vram_size ? s->vram[a] : 0xff;
    }
    a += bank_offset(s);
    if (s->sr[SR_MEMORY_MODE] & SR04_CHAIN4) {
        /* Chain 4: A0-A1 pick the plane; planes are interleaved in vram. */
        a &= (VGA_PLANE_MASK << 2) | 3;
        load_latches(s, a >> 2);
        return s->vram[a];
    }
    if (s->gr[GR_MODE] & GR05_ODD_EVEN) {
        /* Host odd/even: A0 picks plane 0/1 (or 2/3 with read map bit 1). */
        unsigned plane = (s->gr[GR_READ_MAP] & 2) | (a & 1);

        return planar_read(s, (a & ~1u) & plane_mask(s), plane);
    }
    return planar_read(s, a & plane_mask(s), s->gr[GR_READ_MAP] & 3);
}

static void window_write(struct vga *s, uint32_t addr, uint8_t value)
{
    unsigned planes = s->sr[SR_MAP_MASK] & 0x0f;
    uint32_t a;

    if (!window_offset(s, addr, &a))
        return;
    if (vbe_linear_window(s)) {
        a += bank_offset(s);
        if (a < s->vram_size)
            s->vram[a] = value;
        return;
    }
    a += bank_offset(s);
    if (s->sr[SR_MEMORY_MODE] & SR04_CHAIN4) {
        a &= (VGA_PLANE_MASK << 2) | 3;
        if (planes & (1 << (a & 3))) {
            s->vram[a] = value;
            if ((a & 3) == 2)
                s->font_dirty = true;
        }
        return;
    }
    if (!(s->sr[SR_MEMORY_MODE] & SR04_ODD_EVEN_OFF)) {
        /* Odd/even: even addresses reach planes 0 and 2, odd ones 1 and 3. */
        planar_write(s, (a & ~1u) & plane_mask(s),
                     planes & ((a & 1) ? 0x0a : 0x05), value);
        return;
    }
    planar_write(s, a & plane_mask(s), planes, value);
}

static uint64_t window_region_read(void *opaque, uint64_t offset, unsigned size)
{
    struct vga *s = opaque;
    uint64_t value = 0;

    for (unsigned i = 0; i < size; i++)
        value |= (uint64_t)window_read(s, offset + i) << (8 * i);
    return value;
}

static void window_region_write(void *opaque, uint64_t offset, uint64_t value,
                                unsigned size)
{
    struct vga *s = opaque;

    for (unsigned i = 0; i < size; i++)
        window_write(s, offset + i, value >> (8 * i));
}

static const struct memory_ops vga_window_ops = {
    .read = window_region_read,
    .write = window_region_write,
};

/* --- Bochs VBE DISPI --- */

static unsigned vbe_bytes_per_pixel(unsigned bpp)
{
    return bpp == 4 ? 1 : (bpp + 7) / 8;
}

/* Bytes of one line: 4 bpp is planar, a byte of each plane per 8 pixels. */
static uint64_t vbe_line_bytes(struct vga *s, unsigned width)
{
    unsigned bpp = s->vbe[VBE_INDEX_BPP];

    return bpp == 4 ? (uint64_t)width / 2 : (uint64_t)width * vbe_bytes_per_pixel(bpp);
}

static bool vbe_bpp_valid(unsigned bpp)
{
    return bpp == 4 || bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 ||
           bpp == 32;
}

/* Does the visible picture at (x, y) fit in video memory? */
static bool vbe_fits(struct vga *s, unsigned virt_width, unsigned x, unsigned y)
{
    uint64_t line = vbe_line_bytes(s, virt_width);
    uint64_t start = (uint64_t)y * line + vbe_line_bytes(s, x);
    uint64_t end = start + (uint64_t)(s->vbe[VBE_INDEX_YRES] - 1) * line +
                   vbe_line_bytes(s, s->vbe[VBE_INDEX_XRES]);

    return x + s->vbe[VBE_INDEX_XRES] <= virt_width && end <= s->vram_size;
}

static void vbe_update_virt_height(struct vga *s)
{
    uint64_t line = vbe_line_bytes(s, s->vbe[VBE_INDEX_VIRT_WIDTH]);

    s->vbe[VBE_INDEX_VIRT_HEIGHT] = line ? MIN(s->vram_size / line, 0xffff) : 0;
}

/* Mirror the mode into the VGA registers, as VBE cards do for old software. */
static void vbe_set_vga_compat(struct vga *s)
{
    s->gr[GR_MISC] = (s->gr[GR_MISC] & ~0x0c) | 0x04 | GR06_GRAPHICS;
    if (s->vbe[VBE_INDEX_BPP] == 4)
        s->sr[SR_MEMORY_MODE] = (s->sr[SR_MEMORY_MODE] & ~SR04_CHAIN4) |
                                SR04_ODD_EVEN_OFF;
    else
        s->sr[SR_MEMORY_MODE] |= SR04_CHAIN4 | SR04_ODD_EVEN_OFF;
    s->ar_index |= AR_INDEX_PAS;
}

static void vbe_enable(struct vga *s, uint16_t value)
{
    bool was_enabled = s->vbe[VBE_INDEX_ENABLE] & VBE_ENABLED;
    unsigned bpp = s->vbe[VBE_INDEX_BPP];

    if (!(value & VBE_ENABLED)) {
        s->vbe[VBE_INDEX_ENABLE] = value;
        s->vbe[VBE_INDEX_BANK] = 0;
        return;
    }
    if (!was_enabled) {
        if (bpp == 0)
            s->vbe[VBE_INDEX_BPP] = bpp = 8;
        s->vbe[VBE_INDEX_VIRT_WIDTH] = s->vbe[VBE_INDEX_XRES];
        s->vbe[VBE_INDEX_X_OFFSET] = 0;
        s->vbe[VBE_INDEX_Y_OFFSET] = 0;
        s->vbe[VBE_INDEX_BANK] = 0;
        if (!vbe_bpp_valid(bpp) || s->vbe[VBE_INDEX_XRES] == 0 ||
            s->vbe[VBE_INDEX_YRES] == 0 ||
            (bpp == 4 && s->vbe[VBE_INDEX_XRES] % 8) ||
            !vbe_fits(s, s->vbe[VBE_INDEX_XRES], 0, 0)) {
            vga_log_once(s, VGA_LOGGED_VBE_MODE, "VBE mode %ux%ux%u does not "
                         "fit the card's %zu MiB or is not a mode; it stays "
                         "off", s->vbe[VBE_INDEX_XRES], s->vbe[VBE_INDEX_YRES],
                         bpp, s->vram_size >> 20);
            s->vbe[VBE_INDEX_ENABLE] = value & ~VBE_ENABLED;
            return;
        }
        vbe_update_virt_height(s);
        if (!(value & VBE_NOCLEARMEM))
            memset(s->vram, 0, MIN(s->vram_size,
                                   vbe_line_bytes(s, s->vbe[VBE_INDEX_XRES]) *
                                   s->vbe[VBE_INDEX_YRES]));
        vbe_set_vga_compat(s);
    }
    s->vbe[VBE_INDEX_ENABLE] = value;
}

uint16_t vga_vbe_read(struct vga *s, unsigned index)
{
    bool caps = s->vbe[VBE_INDEX_ENABLE] & VBE_GETCAPS;

    switch (index) {
    case VBE_INDEX_XRES:
        return caps ? VBE_MAX_XRES : s->vbe[index];
    case VBE_INDEX_YRES:
        return caps ? VBE_MAX_YRES : s->vbe[index];
    case VBE_INDEX_BPP:
        return caps ? VBE_MAX_BPP : s->vbe[index];
    case VBE_INDEX_VIDEO_MEMORY_64K:
        return s->vram_size / VBE_BANK_SIZE;
    default:
        return index < VBE_INDEX_COUNT ? s->vbe[index] : 0;
    }
}

void vga_vbe_write(struct vga *s, unsigned index, uint16_t value)
{
    bool enabled = s->vbe[VBE_INDEX_ENABLE] & VBE_ENABLED;

    switch (index) {
    case VBE_INDEX_ID:
        if (value >= VBE_ID0 && value <= VBE_ID5)
            s->vbe[index] = value;
        break;
    case VBE_INDEX_XRES:
    case VBE_INDEX_YRES:
    case VBE_INDEX_BPP:
        /* Take effect at the next enable; ignored while enabled (vbe.txt). */
        if (enabled)
            break;
        if ((index == VBE_INDEX_XRES && value > VBE_MAX_XRES) ||
            (index == VBE_INDEX_YRES && value > VBE_MAX_YRES) ||
            (index == VBE_INDEX_BPP && value && !vbe_bpp_valid(value))) {
            vga_log_once(s, VGA_LOGGED_VBE_VALUE, "VBE register %u cannot "
                         "be %u", index, value);
            break;
        }
        s->vbe[index] = value;
        break;
    case VBE_INDEX_ENABLE:
        vbe_enable(s, value);
        break;
    case VBE_INDEX_BANK:
        if ((uint64_t)value * VBE_BANK_SIZE >= s->vram_size) {
            vga_log_once(s, VGA_LOGGED_VBE_BANK, "VBE bank %u is beyond "
                         "video memory", value);
            break;
        }
        s->vbe[index] = value;
        break;
    case VBE_INDEX_VIRT_WIDTH:
        if (!enabled) {
            s->vbe[index] = value;
            break;
        }
        if (value < s->vbe[VBE_INDEX_XRES] ||
            !vbe_fits(s, value, s->vbe[VBE_INDEX_X_OFFSET],
                      s->vbe[VBE_INDEX_Y_OFFSET])) {
            vga_log_once(s, VGA_LOGGED_VBE_OFFSET, "VBE virtual width %u "
                         "does not fit the mode or video memory", value);
            break;
        }
        s->vbe[index] = value;
        vbe_update_virt_height(s);
        break;
    case VBE_INDEX_VIRT_HEIGHT:
        break;      /* computed from the width and video memory */
    case VBE_INDEX_X_OFFSET:
    case VBE_INDEX_Y_OFFSET:
        if (enabled &&
            !vbe_fits(s, s->vbe[VBE_INDEX_VIRT_WIDTH],
                      index == VBE_INDEX_X_OFFSET ? value : s->vbe[VBE_INDEX_X_OFFSET],
                      index == VBE_INDEX_Y_OFFSET ? value : s->vbe[VBE_INDEX_Y_OFFSET])) {
            vga_log_once(s, VGA_LOGGED_VBE_OFFSET, "VBE display offset %u "
                         "(register %u) is beyond video memory", value, index);
            break;
        }
        s->vbe[index] = value;
        break;
    case VBE_INDEX_VIDEO_MEMORY_64K:
        break;
    default:
        vga_log_once(s, VGA_LOGGED_VBE_INDEX, "write 0x%x to VBE register "
                     "0x%x, which does not exist", value, index);
        break;
    }
}

/* 0x1CE is the index, 0x1CF (and 0x1D0) the data, 16 bits wide. */
static uint64_t vbe_port_read(void *opaque, uint64_t offset, unsigned size)
{
    struct vga *s = opaque;

    return offset == 0 ? s->vbe_index : vga_vbe_read(s, s->vbe_index);
}

static void vbe_port_write(void *opaque, uint64_t offset, uint64_t value,
                           unsigned size)
{
    struct vga *s = opaque;

    if (offset == 0)
        s->vbe_index = value;
    else
        vga_vbe_write(s, s->vbe_index, value);
}

static const struct memory_ops vga_vbe_ops = {
    .read = vbe_port_read,
    .write = vbe_port_write,
};

/* --- life cycle --- */

void vga_core_init(struct vga *s, struct machine *m, const char *name,
                   uint8_t *vram, size_t vram_size)
{
    s->machine = m;
    s->name = name;
    s->vram = vram;
    s->vram_size = vram_size;
    s->surface = display_surface_new(640, 480, DISPLAY_FORMAT_XRGB8888);
}

int vga_core_register(struct vga *s, GError **error)
{
    struct machine *m = s->machine;

    s->port_region = memory_map_add_io(m->io, "vga", VGA_PORT_BASE,
                                       VGA_PORT_COUNT, &vga_port_ops, s, error);
    if (!s->port_region)
        goto out;
    s->vbe_region = memory_map_add_io(m->io, "vga-vbe", VBE_PORT_INDEX,
                                      VBE_PORT_COUNT, &vga_vbe_ops, s, error);
    if (!s->vbe_region)
        goto out;
    s->window_region = memory_map_add_io(m->memory, "vga-window",
                                         VGA_WINDOW_BASE, VGA_WINDOW_SIZE,
                                         &vga_window_ops, s, error);
    if (!s->window_region)
        goto out;
    return 0;
out:
    vga_core_unregister(s);
    return -1;
}

void vga_core_unregister(struct vga *s)
{
    struct machine *m = s->machine;

    if (s->window_region)
        memory_map_remove(m->memory, s->window_region);
    if (s->vbe_region)
        memory_map_remove(m->io, s->vbe_region);
    if (s->port_region)
        memory_map_remove(m->io, s->port_region);
    s->window_region = s->vbe_region = s->port_region = NULL;
}

/* Power-on state: registers clear (the BIOS sets a mode), VBE off. */
void vga_core_reset(struct vga *s)
{
    s->misc = 0;
    s->feature = 0;
    s->subsystem_enable = 1;
    s->sr_index = s->gr_index = s->cr_index = s->ar_index = 0;
    memset(s->sr, 0, sizeof(s->sr));
    memset(s->gr, 0, sizeof(s->gr));
    memset(s->cr, 0, sizeof(s->cr));
    memset(s->ar, 0, sizeof(s->ar));
    s->ar_data_next = false;
    s->dac_read_index = s->dac_write_index = s->dac_component = 0;
    s->dac_state = 0;
    s->pel_mask = 0xff;
    memset(s->palette, 0, sizeof(s->palette));
    memset(s->latch, 0, sizeof(s->latch));
    s->vbe_index = 0;
    memset(s->vbe, 0, sizeof(s->vbe));
    s->vbe[VBE_INDEX_ID] = VBE_ID5;
    /* Drop the pages (they read back as zeros) rather than touch 16 MiB. */
    if (madvise(s->vram, s->vram_size, MADV_DONTNEED) != 0)
        memset(s->vram, 0, s->vram_size);
    s->font_dirty = true;
    vga_render_reset(s);
}

void vga_core_finalize(struct vga *s)
{
    vga_core_unregister(s);
    display_surface_unref(s->surface);
    s->surface = NULL;
    g_free(s->shadow);
    s->shadow = NULL;
}
