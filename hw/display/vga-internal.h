/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to the VGA model: the register file shared by the register and
 * memory code (vga.c), the renderer (vga-render.c) and the PCI and ISA
 * wrappers (vga-pci.c).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "display/surface.h"
#include "engine/memory.h"

struct machine;
struct vtimer;

#define VGA_VRAM_SIZE (16u << 20)       /* the std VGA's 16 MiB */
#define VGA_PLANE_MASK 0xffffu          /* 64 KiB per plane in VGA modes */
#define VGA_REFRESH_NS (1000000000 / 30)

/* Legacy ports and memory (IBM VGA Technical Reference; FreeVGA). */
#define VGA_PORT_BASE 0x3b0
#define VGA_PORT_COUNT 0x30
#define VGA_WINDOW_BASE 0xa0000
#define VGA_WINDOW_SIZE 0x20000

/* Register counts. */
#define VGA_SR_COUNT 5
#define VGA_GR_COUNT 9
#define VGA_AR_COUNT 0x15
#define VGA_CR_COUNT 0x19

/* Sequencer (FreeVGA "Sequencer Registers"). */
#define SR_CLOCKING 0x01        /* bit 0: 8-dot chars, 3: dot clock / 2, 5: screen off */
#define SR_MAP_MASK 0x02
#define SR_CHAR_MAP 0x03
#define SR_MEMORY_MODE 0x04     /* bit 2: odd/even off, 3: chain 4 */
#define SR01_8DOT 0x01
#define SR01_SCREEN_OFF 0x20
#define SR04_ODD_EVEN_OFF 0x04
#define SR04_CHAIN4 0x08

/* Graphics controller (FreeVGA "Graphics Registers"). */
#define GR_SET_RESET 0x00
#define GR_ENABLE_SET_RESET 0x01
#define GR_COLOR_COMPARE 0x02
#define GR_DATA_ROTATE 0x03
#define GR_READ_MAP 0x04
#define GR_MODE 0x05            /* 0-1 write mode, 3 read mode, 4 odd/even, 5 CGA shift, 6 256 colour */
#define GR_MISC 0x06            /* 0 graphics, 1 chain odd/even, 2-3 memory map */
#define GR_COLOR_DONT_CARE 0x07
#define GR_BIT_MASK 0x08
#define GR05_READ_MODE1 0x08
#define GR05_ODD_EVEN 0x10
#define GR05_SHIFT_INTERLEAVE 0x20
#define GR05_256_COLOUR 0x40
#define GR06_GRAPHICS 0x01

/* Attribute controller (FreeVGA "Attribute Controller Registers"). */
#define AR_MODE 0x10            /* 1 mono, 2 line graphics, 3 blink, 6 8-bit pixels, 7 P54S */
#define AR_OVERSCAN 0x11
#define AR_PLANE_ENABLE 0x12
#define AR_PANNING 0x13
#define AR_COLOR_SELECT 0x14
#define AR_INDEX_PAS 0x20       /* palette address source: display on */
#define AR10_MONO 0x02
#define AR10_LINE_GRAPHICS 0x04
#define AR10_BLINK 0x08
#define AR10_P54S 0x80

/* CRT controller (FreeVGA "CRT Controller Registers"). */
#define CR_H_DISPLAY_END 0x01
#define CR_OVERFLOW 0x07
#define CR_PRESET_ROW 0x08
#define CR_MAX_SCAN 0x09        /* 0-4 max scan line, 6 LC bit 9, 7 double scan */
#define CR_CURSOR_START 0x0a
#define CR_CURSOR_END 0x0b
#define CR_START_HIGH 0x0c
#define CR_START_LOW 0x0d
#define CR_CURSOR_HIGH 0x0e
#define CR_CURSOR_LOW 0x0f
#define CR_V_RETRACE_END 0x11   /* bit 7 protects CR00-CR07 */
#define CR_V_DISPLAY_END 0x12
#define CR_OFFSET 0x13
#define CR_UNDERLINE 0x14       /* bit 6: doubleword mode */
#define CR_MODE 0x17            /* 0 MA13, 1 MA14 substitution off, 5 wrap, 6 byte mode */
#define CR_LINE_COMPARE 0x18

/* Misc output. */
#define MISC_COLOR 0x01         /* CRTC at 0x3Dx instead of 0x3Bx */

/* Bochs VBE DISPI interface (Bochs vbe.h, "VBE_DISPI"). */
enum {
    VBE_INDEX_ID = 0,
    VBE_INDEX_XRES,
    VBE_INDEX_YRES,
    VBE_INDEX_BPP,
    VBE_INDEX_ENABLE,
    VBE_INDEX_BANK,
    VBE_INDEX_VIRT_WIDTH,
    VBE_INDEX_VIRT_HEIGHT,
    VBE_INDEX_X_OFFSET,
    VBE_INDEX_Y_OFFSET,
    VBE_INDEX_VIDEO_MEMORY_64K,
    VBE_INDEX_COUNT,
};
#define VBE_ID0 0xb0c0
#define VBE_ID5 0xb0c5
#define VBE_ENABLED 0x01
#define VBE_GETCAPS 0x02
#define VBE_8BIT_DAC 0x20
#define VBE_LFB_ENABLED 0x40
#define VBE_NOCLEARMEM 0x80
#define VBE_MAX_XRES 16000
#define VBE_MAX_YRES 12000
#define VBE_MAX_BPP 32
#define VBE_BANK_SIZE 0x10000
#define VBE_PORT_INDEX 0x1ce
#define VBE_PORT_COUNT 3        /* index 0x1CE, data 0x1CF (and 0x1D0) */

/* Things a guest got wrong, each logged once. */
enum {
    VGA_LOGGED_PORT = 1 << 0,
    VGA_LOGGED_CR_INDEX = 1 << 1,
    VGA_LOGGED_VBE_INDEX = 1 << 2,
    VGA_LOGGED_VBE_VALUE = 1 << 3,
    VGA_LOGGED_VBE_MODE = 1 << 4,
    VGA_LOGGED_VBE_BANK = 1 << 5,
    VGA_LOGGED_VBE_OFFSET = 1 << 6,
    VGA_LOGGED_WINDOW = 1 << 7,
    VGA_LOGGED_GEOMETRY = 1 << 8,
};

enum vga_display_kind {
    VGA_DISPLAY_BLANK,
    VGA_DISPLAY_TEXT,
    VGA_DISPLAY_PLANAR,         /* 16 colours, 1 bit per plane */
    VGA_DISPLAY_CGA,            /* 4 colours, shift register interleave */
    VGA_DISPLAY_256,            /* 8 bits per pixel from the planes */
    VGA_DISPLAY_VBE,
};

struct vga {
    struct machine *machine;
    const char *name;
    unsigned logged;

    uint8_t *vram;                  /* planes interleaved: plane p of offset o at 4*o + p */
    size_t vram_size;

    uint8_t misc;
    uint8_t feature;
    uint8_t subsystem_enable;
    uint8_t sr_index, sr[8];
    uint8_t gr_index, gr[16];
    uint8_t cr_index, cr[32];
    uint8_t ar_index;
    bool ar_data_next;              /* attribute flip-flop: next write is data */
    uint8_t ar[VGA_AR_COUNT];
    uint8_t dac_read_index, dac_write_index, dac_component, dac_state;
    uint8_t dac_latch[3];
    uint8_t pel_mask;
    uint8_t palette[256 * 3];
    uint8_t latch[4];
    bool font_dirty;                /* plane 2 written since the last refresh */

    uint16_t vbe_index;
    uint16_t vbe[VBE_INDEX_COUNT];

    /* Rendering (vga-render.c). */
    struct display_surface *surface;
    struct vtimer *refresh_timer;
    enum vga_display_kind kind;
    int width, height;              /* of the current picture */
    uint8_t *shadow;                /* per line (or text row): what was drawn */
    size_t shadow_line, shadow_lines;
    uint32_t dac_colors[256];       /* XRGB, after the PEL mask */
    uint32_t colors16[16];          /* attribute palette -> XRGB */
    bool full_update;

    const struct memory_region *port_region, *vbe_region, *window_region;
};

/* vga.c */
void vga_core_init(struct vga *s, struct machine *m, const char *name,
                   uint8_t *vram, size_t vram_size);
int vga_core_register(struct vga *s, GError **error);
void vga_core_unregister(struct vga *s);
void vga_core_reset(struct vga *s);
void vga_core_finalize(struct vga *s);
uint8_t vga_port_read(struct vga *s, uint16_t port);
void vga_port_write(struct vga *s, uint16_t port, uint8_t value);
uint16_t vga_vbe_read(struct vga *s, unsigned index);
void vga_vbe_write(struct vga *s, unsigned index, uint16_t value);
void vga_log_once(struct vga *s, unsigned what, const char *format, ...)
    G_GNUC_PRINTF(3, 4);
uint8_t *vga_alloc_vram(size_t size);
void vga_free_vram(uint8_t *vram, size_t size);

/* vga-render.c: callers hold the device lock. */
void vga_render(struct vga *s);
char *vga_render_text(struct vga *s);
void vga_render_reset(struct vga *s);
