/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the standard VGA: registers programmed as a VGA BIOS does,
 * text mode (snapshot, pixels, cursor, dirty rows), mode 13h, mode X, the
 * planar write and read modes, Bochs VBE with the linear framebuffer, the
 * PCI identity, PNG screendumps and nonsense register values.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <png.h>
#include <string.h>

#include "display/surface.h"
#include "engine/clock.h"
#include "engine/machine.h"
#include "engine/memory.h"
#include "fake-machine.h"
#include "hw/device.h"
#include "hw/display/vga.h"
#include "hw/pci/pci.h"

#define LOW_RAM_SIZE 0xa0000
#define LFB 0xe0000000u
#define VBE_INDEX 0x1ce
#define VBE_DATA 0x1cf

/* Register sets of the standard BIOS modes (IBM VGA Technical Reference). */
struct mode_regs {
    uint8_t misc;
    uint8_t sr[5];
    uint8_t cr[25];
    uint8_t ar[21];
    uint8_t gr[9];
};

static const struct mode_regs mode_03h = {
    0x67,
    { 0x03, 0x00, 0x03, 0x00, 0x02 },
    { 0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e,
      0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3,
      0xff },
    { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b,
      0x3c, 0x3d, 0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00 },
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff },
};

static const struct mode_regs mode_12h = {
    0xe3,
    { 0x03, 0x01, 0x0f, 0x00, 0x06 },
    { 0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0x0b, 0x3e, 0x00, 0x40, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0xea, 0x8c, 0xdf, 0x28, 0x00, 0xe7, 0x04, 0xe3,
      0xff },
    { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b,
      0x3c, 0x3d, 0x3e, 0x3f, 0x01, 0x00, 0x0f, 0x00, 0x00 },
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0f, 0xff },
};

static const struct mode_regs mode_13h = {
    0x63,
    { 0x03, 0x01, 0x0f, 0x00, 0x0e },
    { 0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x41, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3,
      0xff },
    { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
      0x0c, 0x0d, 0x0e, 0x0f, 0x41, 0x00, 0x0f, 0x00, 0x00 },
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff },
};

struct fixture {
    struct machine *m;
    struct pci_bus *bus;
    struct device *vga;
};

/* --- the hand-built machine --- */

static void fixture_setup(struct fixture *f, gconstpointer data)
{
    GError *error = NULL;

    /* Only the RAM below the VGA window. */
    f->m = fake_machine_new(LOW_RAM_SIZE, FAKE_MACHINE_RAM_PC);
    if (data == NULL) {
        f->vga = vga_isa_create(f->m, LFB, &error);
        g_assert_no_error(error);
        g_assert_nonnull(f->vga);
    }
}

static void fixture_teardown(struct fixture *f, gconstpointer data)
{
    fake_machine_free(f->m);
}

/* --- guest accesses --- */

static void outb(struct fixture *f, uint16_t port, uint8_t value)
{
    g_assert_true(memory_map_dispatch_write(f->m->io, port, 1, value));
}

static void outw(struct fixture *f, uint16_t port, uint16_t value)
{
    g_assert_true(memory_map_dispatch_write(f->m->io, port, 2, value));
}

static uint8_t inb(struct fixture *f, uint16_t port)
{
    uint64_t value;

    g_assert_true(memory_map_dispatch_read(f->m->io, port, 1, &value));
    return value;
}

static uint16_t inw(struct fixture *f, uint16_t port)
{
    uint64_t value;

    g_assert_true(memory_map_dispatch_read(f->m->io, port, 2, &value));
    return value;
}

static void mem_write(struct fixture *f, uint64_t addr, unsigned size,
                      uint32_t value)
{
    g_assert_true(memory_map_dispatch_write(f->m->memory, addr, size, value));
}

#define writeb(f, addr, value) mem_write(f, addr, 1, value)
#define writew(f, addr, value) mem_write(f, addr, 2, value)
#define writel(f, addr, value) mem_write(f, addr, 4, value)

static uint8_t readb(struct fixture *f, uint64_t addr)
{
    uint64_t value;

    g_assert_true(memory_map_dispatch_read(f->m->memory, addr, 1, &value));
    return value;
}

static void seq(struct fixture *f, uint8_t index, uint8_t value)
{
    outw(f, 0x3c4, index | value << 8);
}

static void gfx(struct fixture *f, uint8_t index, uint8_t value)
{
    outw(f, 0x3ce, index | value << 8);
}

static void crtc(struct fixture *f, uint8_t index, uint8_t value)
{
    outb(f, 0x3d4, index);
    outb(f, 0x3d5, value);
}

static void set_dac(struct fixture *f, uint8_t index, uint8_t r, uint8_t g,
                    uint8_t b)
{
    outb(f, 0x3c8, index);
    outb(f, 0x3c9, r);
    outb(f, 0x3c9, g);
    outb(f, 0x3c9, b);
}

/* What a VGA BIOS does for a mode set (without clearing memory). */
static void set_mode(struct fixture *f, const struct mode_regs *mode)
{
    inb(f, 0x3da);
    outb(f, 0x3c0, 0x00);                   /* palette access: display off */
    outb(f, 0x3c2, mode->misc);
    for (unsigned i = 0; i < 5; i++)
        seq(f, i, mode->sr[i]);
    crtc(f, 0x11, mode->cr[0x11] & 0x7f);   /* unlock CR0-CR7 */
    for (unsigned i = 0; i < 25; i++)
        crtc(f, i, mode->cr[i]);
    for (unsigned i = 0; i < 9; i++)
        gfx(f, i, mode->gr[i]);
    inb(f, 0x3da);
    for (unsigned i = 0; i < 21; i++) {
        outb(f, 0x3c0, i);
        outb(f, 0x3c0, mode->ar[i]);
    }
    outb(f, 0x3c0, 0x20);                   /* display on */
    outb(f, 0x3c6, 0xff);
}

static uint8_t font_byte(unsigned ch, unsigned line)
{
    return (uint8_t)(ch * 7 + line * 13);
}

/* Font into plane 2, as the BIOS loads one (FreeVGA "Accessing the fonts"). */
static void load_font(struct fixture *f, unsigned height)
{
    seq(f, 0x02, 0x04);
    seq(f, 0x04, 0x07);
    gfx(f, 0x04, 0x02);
    gfx(f, 0x05, 0x00);
    gfx(f, 0x06, 0x04);
    for (unsigned ch = 0; ch < 256; ch++)
        for (unsigned line = 0; line < 32; line++)
            writeb(f, 0xa0000 + ch * 32 + line,
                   line < height ? font_byte(ch, line) : 0);
    seq(f, 0x02, 0x03);
    seq(f, 0x04, 0x02);
    gfx(f, 0x04, 0x00);
    gfx(f, 0x05, 0x10);
    gfx(f, 0x06, 0x0e);
}

static void put_text(struct fixture *f, unsigned row, unsigned col,
                     const char *text, uint8_t attr)
{
    for (unsigned i = 0; text[i]; i++)
        writew(f, 0xb8000 + (row * 80 + col + i) * 2,
               (uint8_t)text[i] | attr << 8);
}

static void clear_text(struct fixture *f)
{
    for (unsigned i = 0; i < 80 * 25; i++)
        writew(f, 0xb8000 + i * 2, 0x0720);
}

/* The 16 EGA colours in the DAC, as 6-bit components. */
static void load_ega_palette(struct fixture *f)
{
    for (unsigned i = 0; i < 64; i++) {
        uint8_t r = ((i >> 2) & 1) * 0x2a + ((i >> 5) & 1) * 0x15;
        uint8_t g = ((i >> 1) & 1) * 0x2a + ((i >> 4) & 1) * 0x15;
        uint8_t b = (i & 1) * 0x2a + ((i >> 3) & 1) * 0x15;

        set_dac(f, i, r, g, b);
    }
}

static uint32_t ega_xrgb(unsigned dac_index)
{
    unsigned r = ((dac_index >> 2) & 1) * 0x2a + ((dac_index >> 5) & 1) * 0x15;
    unsigned g = ((dac_index >> 1) & 1) * 0x2a + ((dac_index >> 4) & 1) * 0x15;
    unsigned b = (dac_index & 1) * 0x2a + ((dac_index >> 3) & 1) * 0x15;

    return ((r << 2) | (r >> 4)) << 16 | ((g << 2) | (g >> 4)) << 8 |
           ((b << 2) | (b >> 4));
}

static uint32_t pixel(struct fixture *f, int x, int y)
{
    struct display_surface *s = vga_get_surface(f->vga);
    uint32_t value;

    display_surface_lock(s);
    g_assert_cmpint(x, <, display_surface_width(s));
    g_assert_cmpint(y, <, display_surface_height(s));
    value = ((uint32_t *)(display_surface_data(s) +
                          y * display_surface_stride(s)))[x] & 0xffffff;
    display_surface_unlock(s);
    return value;
}

static void assert_size(struct fixture *f, int width, int height)
{
    struct display_surface_info info;

    display_surface_get_info(vga_get_surface(f->vga), &info);
    g_assert_cmpint(info.width, ==, width);
    g_assert_cmpint(info.height, ==, height);
}

static void setup_text_mode(struct fixture *f)
{
    set_mode(f, &mode_03h);
    load_ega_palette(f);
    load_font(f, 16);
    clear_text(f);
}

/* --- text mode --- */

static void test_text_mode(struct fixture *f, gconstpointer data)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    uint32_t fg = ega_xrgb(0x3f), bg = ega_xrgb(0x01);

    setup_text_mode(f);
    put_text(f, 0, 0, "GNU GRUB  version 2.06", 0x07);
    put_text(f, 2, 4, "*Debian GNU/Linux", 0x1f);
    writew(f, 0xb8000 + (3 * 80 + 4) * 2, 0xc9 | 0x07 << 8);   /* ╔ */
    writew(f, 0xb8000 + (3 * 80 + 5) * 2, 0xcd | 0x07 << 8);   /* ═ */
    vga_update_display(f->vga);
    assert_size(f, 720, 400);

    text = vga_text_snapshot(f->vga);
    g_assert_nonnull(text);
    lines = g_strsplit(text, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 26);     /* 25 and the last "" */
    g_assert_cmpstr(lines[0], ==, "GNU GRUB  version 2.06");
    g_assert_cmpstr(lines[1], ==, "");
    g_assert_cmpstr(lines[2], ==, "    *Debian GNU/Linux");
    g_assert_cmpstr(lines[3], ==, "    ╔═");

    /* Cell (row 2, col 4) is '*' white on blue: compare with the font. */
    for (unsigned line = 0; line < 16; line++) {
        uint8_t bits = font_byte('*', line);

        for (unsigned x = 0; x < 9; x++) {
            bool on = x < 8 && (bits & (0x80 >> x));

            g_assert_cmphex(pixel(f, 4 * 9 + x, 2 * 16 + line), ==, on ? fg : bg);
        }
    }
    /* Line graphics: 0xC9's eighth column repeats in the ninth. */
    for (unsigned line = 0; line < 16; line++) {
        bool last = font_byte(0xc9, line) & 1;

        g_assert_cmphex(pixel(f, 4 * 9 + 8, 3 * 16 + line), ==,
                        last ? ega_xrgb(0x07) : ega_xrgb(0));
    }
}

static void test_text_cursor_and_dirty(struct fixture *f, gconstpointer data)
{
    struct display_surface *s = vga_get_surface(f->vga);
    struct display_dirty dirty;
    unsigned cursor = 10 * 80 + 20;

    setup_text_mode(f);
    put_text(f, 10, 20, " ", 0x07);
    vga_update_display(f->vga);
    display_surface_take_dirty(s, &dirty);
    g_assert_true(dirty.resized);
    vga_update_display(f->vga);
    g_assert_cmpuint(display_surface_take_dirty(s, &dirty), ==, 0);

    /*
     * Cursor lines 13-14 (CR0A/CR0B of mode 3) moves from row 0, column 0
     * to row 10, column 20: both rows are redrawn.
     */
    crtc(f, 0x0e, cursor >> 8);
    crtc(f, 0x0f, cursor & 0xff);
    vga_update_display(f->vga);
    g_assert_cmpuint(display_surface_take_dirty(s, &dirty), ==, 2);
    g_assert_cmpint(dirty.rects[0].y, ==, 0);
    g_assert_cmpint(dirty.rects[1].y, ==, 10 * 16);
    g_assert_cmpint(dirty.rects[1].height, ==, 16);
    g_assert_cmpint(dirty.rects[1].width, ==, 720);
    for (unsigned x = 0; x < 8; x++) {
        g_assert_cmphex(pixel(f, 20 * 9 + x, 10 * 16 + 13), ==, ega_xrgb(7));
        g_assert_cmphex(pixel(f, 20 * 9 + x, 10 * 16 + 14), ==, ega_xrgb(7));
    }
    /* Cursor off (CR0A bit 5). */
    crtc(f, 0x0a, 0x2d);
    vga_update_display(f->vga);
    g_assert_cmpuint(display_surface_take_dirty(s, &dirty), ==, 1);
    g_assert_cmphex(pixel(f, 20 * 9, 10 * 16 + 13), ==,
                    (font_byte(' ', 13) & 0x80) ? ega_xrgb(7) : 0);

    /* One character in row 24: only that row is dirty. */
    put_text(f, 24, 79, "x", 0x4e);
    vga_update_display(f->vga);
    g_assert_cmpuint(display_surface_take_dirty(s, &dirty), ==, 1);
    g_assert_cmpint(dirty.rects[0].y, ==, 24 * 16);
    g_assert_cmpint(dirty.rects[0].height, ==, 16);

    /* A palette change redraws everything. */
    set_dac(f, 0x07, 0x3f, 0, 0);
    vga_update_display(f->vga);
    g_assert_cmpuint(display_surface_take_dirty(s, &dirty), ==, 1);
    g_assert_cmpint(dirty.rects[0].height, ==, 400);
}

/* 40x25 with 8-dot characters, start address scrolled by one line. */
static void test_text_geometry(struct fixture *f, gconstpointer data)
{
    g_autofree char *text = NULL;

    setup_text_mode(f);
    put_text(f, 1, 0, "second line", 0x07);
    seq(f, 0x01, 0x01);                 /* 8-dot characters */
    crtc(f, 0x0c, 0x00);
    crtc(f, 0x0d, 80);                  /* start at line 1 */
    vga_update_display(f->vga);
    assert_size(f, 640, 400);
    text = vga_text_snapshot(f->vga);
    g_assert_true(g_str_has_prefix(text, "second line\n"));
}

/* --- graphics modes --- */

static void test_mode_13h(struct fixture *f, gconstpointer data)
{
    set_mode(f, &mode_13h);
    set_dac(f, 0x00, 0, 0, 0);
    set_dac(f, 0x42, 0x3f, 0x20, 0x01);
    set_dac(f, 0xff, 0x10, 0x3f, 0x3f);
    writeb(f, 0xa0000 + 0, 0x42);
    writeb(f, 0xa0000 + 319, 0xff);
    writel(f, 0xa0000 + 100 * 320 + 160, 0x42ff42ff);
    writeb(f, 0xa0000 + 199 * 320 + 1, 0x42);
    vga_update_display(f->vga);
    assert_size(f, 320, 200);
    g_assert_null(vga_text_snapshot(f->vga));
    g_assert_cmphex(pixel(f, 0, 0), ==, 0xff8204);
    g_assert_cmphex(pixel(f, 319, 0), ==, 0x41ffff);
    g_assert_cmphex(pixel(f, 1, 0), ==, 0);
    g_assert_cmphex(pixel(f, 160, 100), ==, 0x41ffff);
    g_assert_cmphex(pixel(f, 161, 100), ==, 0xff8204);
    g_assert_cmphex(pixel(f, 163, 100), ==, 0xff8204);
    g_assert_cmphex(pixel(f, 1, 199), ==, 0xff8204);
    g_assert_cmphex(readb(f, 0xa0000 + 319), ==, 0xff);

    /* The PEL mask applies to the DAC index. */
    outb(f, 0x3c6, 0x0f);
    vga_update_display(f->vga);
    g_assert_cmphex(pixel(f, 0, 0), ==, 0);
}

/* Unchained 256 colours: pixel x lives in plane x & 3 at offset x / 4. */
static void test_mode_x(struct fixture *f, gconstpointer data)
{
    set_mode(f, &mode_13h);
    seq(f, 0x04, 0x06);                 /* chain 4 off */
    crtc(f, 0x14, 0x00);                /* doubleword off */
    crtc(f, 0x17, 0xe3);                /* byte mode */
    set_dac(f, 1, 0x3f, 0, 0);
    set_dac(f, 2, 0, 0x3f, 0);
    set_dac(f, 3, 0, 0, 0x3f);
    seq(f, 0x02, 0x02);                 /* plane 1: pixels 1, 5, ... */
    writeb(f, 0xa0000, 1);
    seq(f, 0x02, 0x0c);                 /* planes 2 and 3 */
    writeb(f, 0xa0000 + 80 * 10 + 1, 2);
    vga_update_display(f->vga);
    assert_size(f, 320, 200);
    g_assert_cmphex(pixel(f, 0, 0), ==, 0);
    g_assert_cmphex(pixel(f, 1, 0), ==, 0xff0000);
    g_assert_cmphex(pixel(f, 6, 10), ==, 0x00ff00);
    g_assert_cmphex(pixel(f, 7, 10), ==, 0x00ff00);
    g_assert_cmphex(pixel(f, 5, 10), ==, 0);

    /* Read map select reads back one plane. */
    gfx(f, 0x04, 3);
    g_assert_cmphex(readb(f, 0xa0000 + 80 * 10 + 1), ==, 2);
    gfx(f, 0x04, 1);
    g_assert_cmphex(readb(f, 0xa0000 + 80 * 10 + 1), ==, 0);
}

static uint8_t read_plane(struct fixture *f, unsigned plane, uint32_t offset)
{
    gfx(f, 0x05, 0x00);
    gfx(f, 0x04, plane);
    return readb(f, 0xa0000 + offset);
}

/* Mode 12h: write modes 0-3, set/reset, bit mask, latches, read mode 1. */
static void test_planar(struct fixture *f, gconstpointer data)
{
    set_mode(f, &mode_12h);
    load_ega_palette(f);

    /* Write mode 0, set/reset on all planes: colour 0x0c, bits 7..4 only. */
    gfx(f, 0x00, 0x0c);
    gfx(f, 0x01, 0x0f);
    gfx(f, 0x08, 0xf0);
    readb(f, 0xa0000);                  /* load latches (zeros) */
    writeb(f, 0xa0000, 0x00);
    g_assert_cmphex(read_plane(f, 0, 0), ==, 0x00);
    g_assert_cmphex(read_plane(f, 2, 0), ==, 0xf0);
    g_assert_cmphex(read_plane(f, 3, 0), ==, 0xf0);

    /* Write mode 0 without set/reset: data through the bit mask, OR. */
    gfx(f, 0x01, 0x00);
    gfx(f, 0x08, 0x0f);
    gfx(f, 0x03, 0x10);                 /* function OR */
    seq(f, 0x02, 0x01);                 /* plane 0 only */
    readb(f, 0xa0000);
    writeb(f, 0xa0000, 0xff);
    gfx(f, 0x03, 0x00);
    seq(f, 0x02, 0x0f);
    g_assert_cmphex(read_plane(f, 0, 0), ==, 0x0f);
    g_assert_cmphex(read_plane(f, 2, 0), ==, 0xf0);

    /* Write mode 2: each plane gets a bit of the colour. */
    gfx(f, 0x05, 0x02);
    gfx(f, 0x08, 0x80);
    readb(f, 0xa0000 + 80);
    writeb(f, 0xa0000 + 80, 0x0a);
    g_assert_cmphex(read_plane(f, 1, 80), ==, 0x80);
    g_assert_cmphex(read_plane(f, 3, 80), ==, 0x80);
    g_assert_cmphex(read_plane(f, 0, 80), ==, 0x00);

    /* Write mode 1: latches copied (row 0, byte 0 to byte 1). */
    gfx(f, 0x05, 0x01);
    readb(f, 0xa0000);
    writeb(f, 0xa0001, 0x55);
    g_assert_cmphex(read_plane(f, 0, 1), ==, 0x0f);
    g_assert_cmphex(read_plane(f, 3, 1), ==, 0xf0);

    /* Write mode 3: set/reset colour, rotated data ANDed with the mask. */
    gfx(f, 0x05, 0x03);
    gfx(f, 0x08, 0xff);
    gfx(f, 0x00, 0x01);
    readb(f, 0xa0000 + 2);
    writeb(f, 0xa0000 + 2, 0x81);
    g_assert_cmphex(read_plane(f, 0, 2), ==, 0x81);
    g_assert_cmphex(read_plane(f, 1, 2), ==, 0x00);

    /* Read mode 1: where do the planes match colour 0x0c? */
    gfx(f, 0x05, 0x08);
    gfx(f, 0x02, 0x0c);
    gfx(f, 0x07, 0x0f);
    g_assert_cmphex(readb(f, 0xa0000), ==, 0xf0);
    gfx(f, 0x07, 0x00);                 /* nothing compared: all match */
    g_assert_cmphex(readb(f, 0xa0000), ==, 0xff);
    gfx(f, 0x05, 0x00);

    vga_update_display(f->vga);
    assert_size(f, 640, 480);
    g_assert_cmphex(pixel(f, 0, 0), ==, ega_xrgb(0x3c));    /* colour 12 */
    g_assert_cmphex(pixel(f, 4, 0), ==, ega_xrgb(0x01));    /* colour 1 */
    g_assert_cmphex(pixel(f, 0, 1), ==, ega_xrgb(0x3a));    /* colour 10 */
    g_assert_cmphex(pixel(f, 1, 1), ==, 0);
    g_assert_cmphex(pixel(f, 16, 0), ==, ega_xrgb(0x01));
    g_assert_cmphex(pixel(f, 17, 0), ==, 0);

    /* Colour plane enable masks planes 2 and 3 out. */
    inb(f, 0x3da);
    outb(f, 0x3c0, 0x12 | 0x20);
    outb(f, 0x3c0, 0x03);
    vga_update_display(f->vga);
    g_assert_cmphex(pixel(f, 0, 0), ==, 0);
    g_assert_cmphex(pixel(f, 4, 0), ==, ega_xrgb(0x01));
}

/* --- Bochs VBE --- */

static void vbe_write(struct fixture *f, uint16_t index, uint16_t value)
{
    outw(f, VBE_INDEX, index);
    outw(f, VBE_DATA, value);
}

static uint16_t vbe_read(struct fixture *f, uint16_t index)
{
    outw(f, VBE_INDEX, index);
    return inw(f, VBE_DATA);
}

static void vbe_set(struct fixture *f, unsigned width, unsigned height,
                    unsigned bpp, uint16_t flags)
{
    vbe_write(f, 4, 0);
    vbe_write(f, 1, width);
    vbe_write(f, 2, height);
    vbe_write(f, 3, bpp);
    vbe_write(f, 4, 0x01 | flags);
}

static void test_vbe(struct fixture *f, gconstpointer data)
{
    struct display_surface *s = vga_get_surface(f->vga);
    struct display_dirty dirty;

    /* Probing as the VGA BIOS does. */
    vbe_write(f, 0, 0xb0c0);
    g_assert_cmphex(vbe_read(f, 0), ==, 0xb0c0);
    vbe_write(f, 0, 0xb0c5);
    g_assert_cmphex(vbe_read(f, 0), ==, 0xb0c5);
    vbe_write(f, 4, 0x02);              /* GETCAPS */
    g_assert_cmpuint(vbe_read(f, 1), ==, 16000);
    g_assert_cmpuint(vbe_read(f, 3), ==, 32);
    vbe_write(f, 4, 0x00);
    g_assert_cmpuint(vbe_read(f, 10), ==, 256);     /* 16 MiB */

    vbe_set(f, 800, 600, 32, 0x40);
    g_assert_cmphex(vbe_read(f, 4), ==, 0x41);
    g_assert_cmpuint(vbe_read(f, 6), ==, 800);
    g_assert_cmpuint(vbe_read(f, 7), ==, (16u << 20) / (800 * 4));
    vga_update_display(f->vga);
    assert_size(f, 800, 600);
    display_surface_take_dirty(s, &dirty);
    g_assert_true(dirty.resized);

    writel(f, LFB + (10 * 800 + 20) * 4, 0x00123456);
    writel(f, LFB + (599 * 800 + 799) * 4, 0x00abcdef);
    vga_update_display(f->vga);
    g_assert_cmphex(pixel(f, 20, 10), ==, 0x123456);
    g_assert_cmphex(pixel(f, 799, 599), ==, 0xabcdef);
    g_assert_cmphex(pixel(f, 21, 10), ==, 0);
    g_assert_cmpuint(display_surface_take_dirty(s, &dirty), ==, 2);
    g_assert_cmpint(dirty.rects[0].y, ==, 10);
    g_assert_cmpint(dirty.rects[0].height, ==, 1);
    g_assert_cmpint(dirty.rects[1].y, ==, 599);

    /* Unchanged memory: nothing dirty. */
    vga_update_display(f->vga);
    g_assert_cmpuint(display_surface_take_dirty(s, &dirty), ==, 0);

    /* Panning with the Y offset. */
    vbe_write(f, 9, 10);
    vga_update_display(f->vga);
    g_assert_cmphex(pixel(f, 20, 0), ==, 0x123456);

    /* Banked access through 0xA0000: bank 1 is LFB offset 64 KiB. */
    vbe_write(f, 5, 1);
    writel(f, 0xa0000 + 16, 0x00fedcba);
    g_assert_cmphex(*(uint32_t *)memory_map_host_pointer(f->m->memory,
                                                         LFB + 0x10010, 4),
                    ==, 0x00fedcba);
    g_assert_cmphex(readb(f, 0xa0000 + 16), ==, 0xba);
    g_assert_cmphex(readb(f, 0xb8000), ==, 0xff);   /* not decoded with VBE */

    /* 16 bpp (RGB565) and 8 bpp through the DAC with 8-bit components. */
    vbe_set(f, 640, 480, 16, 0x40);
    g_assert_cmpuint(readb(f, 0xa0000), ==, 0);    /* memory cleared */
    writew(f, LFB + 2, 0xf800);
    writew(f, LFB + 4, 0x07e0);
    vga_update_display(f->vga);
    assert_size(f, 640, 480);
    g_assert_cmphex(pixel(f, 1, 0), ==, 0xff0000);
    g_assert_cmphex(pixel(f, 2, 0), ==, 0x00ff00);

    vbe_set(f, 320, 200, 8, 0x40 | 0x20);
    set_dac(f, 5, 0x80, 0x40, 0xff);
    writeb(f, LFB + 7, 5);
    vga_update_display(f->vga);
    g_assert_cmphex(pixel(f, 7, 0), ==, 0x8040ff);

    vbe_set(f, 64, 8, 24, 0x40);
    writeb(f, LFB + 3, 0x11);
    writeb(f, LFB + 4, 0x22);
    writeb(f, LFB + 5, 0x33);
    vga_update_display(f->vga);
    g_assert_cmphex(pixel(f, 1, 0), ==, 0x332211);

    vbe_set(f, 64, 8, 15, 0x40);
    writew(f, LFB, 0x7c00);
    vga_update_display(f->vga);
    g_assert_cmphex(pixel(f, 0, 0), ==, 0xff0000);

    /* NOCLEARMEM keeps the pixels; disabling returns to VGA. */
    vbe_set(f, 64, 8, 15, 0x40 | 0x80);
    vga_update_display(f->vga);
    g_assert_cmphex(pixel(f, 0, 0), ==, 0xff0000);
    vbe_write(f, 4, 0);
    setup_text_mode(f);
    vga_update_display(f->vga);
    assert_size(f, 720, 400);
}

/* 4 bpp VBE modes are planar, like mode 12h at another size. */
static void test_vbe_planar(struct fixture *f, gconstpointer data)
{
    set_mode(f, &mode_12h);
    load_ega_palette(f);
    vbe_set(f, 800, 600, 4, 0x40);
    gfx(f, 0x05, 0x02);
    gfx(f, 0x08, 0xff);
    seq(f, 0x02, 0x0f);
    readb(f, 0xa0000 + 100 * 599);
    writeb(f, 0xa0000 + 100 * 599, 0x09);
    vga_update_display(f->vga);
    assert_size(f, 800, 600);
    g_assert_cmphex(pixel(f, 0, 599), ==, ega_xrgb(0x39));
    g_assert_cmphex(pixel(f, 7, 599), ==, ega_xrgb(0x39));
    g_assert_cmphex(pixel(f, 8, 599), ==, 0);
}

/* --- nonsense from the guest --- */

static void test_bad_values(struct fixture *f, gconstpointer data)
{
    struct display_surface_info info;

    /* Absurd VBE modes are refused; the card stays in VGA mode. */
    vbe_set(f, 16000, 12000, 32, 0x40);
    g_assert_cmphex(vbe_read(f, 4) & 1, ==, 0);
    vbe_write(f, 1, 65535);
    g_assert_cmpuint(vbe_read(f, 1), ==, 16000);
    vbe_write(f, 3, 7);
    g_assert_cmpuint(vbe_read(f, 3), ==, 32);
    vbe_set(f, 0, 0, 32, 0x40);
    g_assert_cmphex(vbe_read(f, 4) & 1, ==, 0);
    vbe_write(f, 0x0b, 1);                  /* no such register */
    g_assert_cmpuint(vbe_read(f, 0x0b), ==, 0);
    vbe_write(f, 0x7fff, 1);

    vbe_set(f, 1024, 768, 32, 0x40);
    g_assert_cmphex(vbe_read(f, 4) & 1, ==, 1);
    vbe_write(f, 9, 60000);                 /* beyond video memory */
    g_assert_cmpuint(vbe_read(f, 9), ==, 0);
    vbe_write(f, 6, 16000);                 /* virtual width too large */
    g_assert_cmpuint(vbe_read(f, 6), ==, 1024);
    vbe_write(f, 6, 100);                   /* smaller than the mode */
    g_assert_cmpuint(vbe_read(f, 6), ==, 1024);
    vbe_write(f, 5, 4096);                  /* bank beyond video memory */
    g_assert_cmpuint(vbe_read(f, 5), ==, 0);
    vbe_write(f, 1, 8);                     /* ignored while enabled */
    g_assert_cmpuint(vbe_read(f, 1), ==, 1024);
    vga_update_display(f->vga);
    assert_size(f, 1024, 768);
    vbe_write(f, 4, 0);

    /* Extreme CRTC values render a bounded picture. */
    set_mode(f, &mode_03h);
    crtc(f, 0x11, 0x0e);                    /* unprotect CR0-CR7 */
    crtc(f, 0x01, 0xff);
    crtc(f, 0x07, 0xff);
    crtc(f, 0x12, 0xff);
    crtc(f, 0x09, 0x9f);
    crtc(f, 0x13, 0xff);
    crtc(f, 0x0c, 0xff);
    crtc(f, 0x0d, 0xff);
    crtc(f, 0x0e, 0xff);
    crtc(f, 0x40, 0x12);                    /* no such CRTC register */
    vga_update_display(f->vga);
    display_surface_get_info(vga_get_surface(f->vga), &info);
    g_assert_cmpint(info.width, ==, 256 * 9);
    g_assert_cmpint(info.height, ==, 1024);     /* 16 rows of 32 lines, doubled */
    g_free(vga_text_snapshot(f->vga));
    crtc(f, 0x01, 0x00);
    crtc(f, 0x09, 0x00);
    crtc(f, 0x07, 0x00);
    crtc(f, 0x12, 0x00);
    vga_update_display(f->vga);
    assert_size(f, 9, 1);

    /* The same in graphics modes. */
    set_mode(f, &mode_13h);
    crtc(f, 0x11, 0x0e);
    crtc(f, 0x01, 0xff);
    crtc(f, 0x07, 0xff);
    crtc(f, 0x12, 0xff);
    crtc(f, 0x09, 0x00);
    crtc(f, 0x18, 0x00);
    inb(f, 0x3da);
    outb(f, 0x3c0, 0x33);
    outb(f, 0x3c0, 0x07);                   /* panning */
    vga_update_display(f->vga);
    assert_size(f, 1024, 1024);
    set_mode(f, &mode_12h);
    crtc(f, 0x11, 0x0c);
    crtc(f, 0x01, 0xff);
    crtc(f, 0x17, 0x00);                    /* word mode, MA13/14 from rows */
    vga_update_display(f->vga);

    /* Unused ports and window parts. */
    outb(f, 0x3b8, 0x55);
    g_assert_cmphex(inb(f, 0x3b5), ==, 0xff);   /* mono CRTC while colour */
    gfx(f, 0x06, 0x08);                     /* B0000-B7FFF only */
    g_assert_cmphex(readb(f, 0xa0000), ==, 0xff);
    writeb(f, 0xb8000, 0x12);
}

/* --- registers read back --- */

static void test_registers(struct fixture *f, gconstpointer data)
{
    set_mode(f, &mode_03h);
    outb(f, 0x3d4, 0x0a);
    g_assert_cmphex(inb(f, 0x3d5), ==, 0x0d);
    g_assert_cmphex(inb(f, 0x3cc), ==, 0x67);
    outb(f, 0x3c4, 0x04);
    g_assert_cmphex(inb(f, 0x3c5), ==, 0x02);
    outb(f, 0x3ce, 0x06);
    g_assert_cmphex(inb(f, 0x3cf), ==, 0x0e);
    inb(f, 0x3da);
    outb(f, 0x3c0, 0x30);
    g_assert_cmphex(inb(f, 0x3c1), ==, 0x0c);
    outb(f, 0x3c0, 0x20);

    /* CR11 bit 7 protects CR0-CR7 but not the line compare bit of CR7. */
    crtc(f, 0x11, 0x8e);
    crtc(f, 0x01, 0x10);
    crtc(f, 0x07, 0x00);
    outb(f, 0x3d4, 0x01);
    g_assert_cmphex(inb(f, 0x3d5), ==, 0x4f);
    outb(f, 0x3d4, 0x07);
    g_assert_cmphex(inb(f, 0x3d5), ==, 0x0f);

    /* The DAC reads back what was written, three components at a time. */
    set_dac(f, 0x10, 0x01, 0x02, 0x3f);
    outb(f, 0x3c7, 0x10);
    g_assert_cmphex(inb(f, 0x3c7), ==, 0x03);
    g_assert_cmphex(inb(f, 0x3c9), ==, 0x01);
    g_assert_cmphex(inb(f, 0x3c9), ==, 0x02);
    g_assert_cmphex(inb(f, 0x3c9), ==, 0x3f);

    /* Mono addressing moves the CRTC to 0x3B4. */
    outb(f, 0x3c2, 0x66);
    outb(f, 0x3b4, 0x0a);
    g_assert_cmphex(inb(f, 0x3b5), ==, 0x0d);
    g_assert_cmphex(inb(f, 0x3d5), ==, 0xff);
}

/* --- PNG --- */

static void test_png(struct fixture *f, gconstpointer data)
{
    g_autofree char *dir = g_dir_make_tmp("mimic-test-vga-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "screen.png", NULL);
    GError *error = NULL;
    png_image image;
    g_autofree uint8_t *rgb = NULL;

    setup_text_mode(f);
    put_text(f, 0, 0, "screendump", 0x1e);
    vga_update_display(f->vga);
    g_assert_cmpint(display_surface_write_png(vga_get_surface(f->vga), path,
                                              &error), ==, 0);
    g_assert_no_error(error);

    memset(&image, 0, sizeof(image));
    image.version = PNG_IMAGE_VERSION;
    g_assert_true(png_image_begin_read_from_file(&image, path));
    g_assert_cmpuint(image.width, ==, 720);
    g_assert_cmpuint(image.height, ==, 400);
    image.format = PNG_FORMAT_RGB;
    rgb = g_malloc(PNG_IMAGE_SIZE(image));
    g_assert_true(png_image_finish_read(&image, NULL, rgb, 0, NULL));
    for (unsigned y = 0; y < 400; y += 3) {
        for (unsigned x = 0; x < 720; x += 5) {
            const uint8_t *p = &rgb[(y * 720 + x) * 3];

            g_assert_cmphex((uint32_t)(p[0] << 16 | p[1] << 8 | p[2]), ==,
                            pixel(f, x, y));
        }
    }
    g_unlink(path);
    g_rmdir(dir);
}

/* --- the refresh timer renders and notifies on the engine context --- */

static void count_frames(struct display_surface *s, void *opaque)
{
    (*(int *)opaque)++;
}

static void test_refresh_timer(struct fixture *f, gconstpointer data)
{
    struct display_surface *s = vga_get_surface(f->vga);
    int frames = 0;
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    display_surface_set_notify(s, count_frames, &frames);
    setup_text_mode(f);
    put_text(f, 0, 0, "tick", 0x07);
    vclock_resume(f->m->clock);
    while (frames == 0 && g_get_monotonic_time() < deadline)
        g_main_context_iteration(f->m->context, TRUE);
    vclock_pause(f->m->clock);
    g_assert_cmpint(frames, >=, 1);
    assert_size(f, 720, 400);
    display_surface_set_notify(s, NULL, NULL);
}

/* --- PCI --- */

static uint32_t config_read(struct fixture *f, int devfn, unsigned offset)
{
    uint64_t value;

    g_assert_true(memory_map_dispatch_write(f->m->io, 0xcf8, 4,
                                            0x80000000u | devfn << 8 | offset));
    g_assert_true(memory_map_dispatch_read(f->m->io, 0xcfc, 4, &value));
    return value;
}

static void config_write(struct fixture *f, int devfn, unsigned offset,
                         uint32_t value)
{
    g_assert_true(memory_map_dispatch_write(f->m->io, 0xcf8, 4,
                                            0x80000000u | devfn << 8 | offset));
    g_assert_true(memory_map_dispatch_write(f->m->io, 0xcfc, 4, value));
}

static void test_pci(struct fixture *f, gconstpointer data)
{
    int devfn = PCI_DEVFN(2, 0);
    const uint32_t mmio = 0xfebf0000u, rom = 0xfebe0000u;
    GError *error = NULL;
    uint64_t value;

    f->bus = pci_bus_create(f->m, &error);
    g_assert_no_error(error);
    if (!g_file_test(VGA_DEFAULT_BIOS, G_FILE_TEST_EXISTS)) {
        g_test_skip(VGA_DEFAULT_BIOS " is missing (Debian package seabios)");
        return;
    }
    f->vga = vga_pci_create(f->m, f->bus, devfn, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmphex(config_read(f, devfn, 0x00), ==, 0x11111234);
    g_assert_cmphex(config_read(f, devfn, 0x08) >> 8, ==, 0x030000);
    g_assert_cmphex(config_read(f, devfn, 0x2c), ==, 0x11001af4);

    /* BAR 0: 16 MiB prefetchable memory; BAR 2: 4 KiB; ROM. */
    config_write(f, devfn, 0x10, 0xffffffff);
    g_assert_cmphex(config_read(f, devfn, 0x10), ==, 0xff000008);
    config_write(f, devfn, 0x18, 0xffffffff);
    g_assert_cmphex(config_read(f, devfn, 0x18), ==, 0xfffff000);
    config_write(f, devfn, 0x30, 0xfffff800);
    g_assert_cmphex(config_read(f, devfn, 0x30), ==, 0xffff0000);

    config_write(f, devfn, 0x10, LFB);
    config_write(f, devfn, 0x18, mmio);
    config_write(f, devfn, 0x30, rom | 1);
    config_write(f, devfn, 0x04, 0x3);

    /* The ROM is the VGA BIOS: 55 AA, then its size in 512-byte blocks. */
    g_assert_cmphex(readb(f, rom), ==, 0x55);
    g_assert_cmphex(readb(f, rom + 1), ==, 0xaa);

    /* DISPI through MMIO at 0x500 + 2 * index, VGA ports at 0x400. */
    g_assert_true(memory_map_dispatch_read(f->m->memory, mmio + 0x500, 2, &value));
    g_assert_cmphex(value, ==, 0xb0c5);
    mem_write(f, mmio + 0x500 + 2, 2, 640);
    mem_write(f, mmio + 0x500 + 4, 2, 480);
    mem_write(f, mmio + 0x500 + 6, 2, 32);
    mem_write(f, mmio + 0x500 + 8, 2, 0x41);
    g_assert_cmpuint(vbe_read(f, 1), ==, 640);
    mem_write(f, mmio + 0x400 + 0x02, 1, 0x67);           /* misc output */
    mem_write(f, mmio + 0x400 + 0x14, 2, 0x0a | 0x0d << 8);   /* 0x3D4 */
    outb(f, 0x3d4, 0x0a);
    g_assert_cmphex(inb(f, 0x3d5), ==, 0x0d);

    /* The framebuffer BAR is guest RAM. */
    g_assert_cmpint(memory_map_lookup(f->m->memory, LFB)->kind, ==,
                    MEMORY_REGION_RAM);
    writel(f, LFB + 4 * 641, 0x00c0ffee);
    vga_update_display(f->vga);
    assert_size(f, 640, 480);
    g_assert_cmphex(pixel(f, 1, 1), ==, 0xc0ffee);

    /* Machine reset: BARs off, VBE off. */
    g_mutex_lock(&f->m->device_lock);
    f->vga->cls->reset(f->vga);
    g_mutex_unlock(&f->m->device_lock);
    g_assert_null(memory_map_lookup(f->m->memory, LFB));
    g_assert_cmpuint(vbe_read(f, 4), ==, 0);
}

static void test_pci_bad_rom(struct fixture *f, gconstpointer data)
{
    GError *error = NULL;

    f->bus = pci_bus_create(f->m, &error);
    g_assert_no_error(error);
    g_assert_null(vga_pci_create(f->m, f->bus, -1, "/nonexistent/vgabios.bin",
                                 &error));
    g_assert_nonnull(error);
    g_clear_error(&error);
    g_assert_null(vga_pci_create(f->m, f->bus, -1, "/etc/hostname", &error));
    g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL);
    g_clear_error(&error);
    /* Nothing stayed registered: a card without a ROM fits. */
    f->vga = vga_pci_create(f->m, f->bus, -1, "", &error);
    g_assert_no_error(error);
    g_assert_nonnull(f->vga);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn, data) \
    g_test_add("/vga/" path, struct fixture, data, fixture_setup, fn, \
               fixture_teardown)
    ADD("text-mode", test_text_mode, NULL);
    ADD("text-cursor-and-dirty", test_text_cursor_and_dirty, NULL);
    ADD("text-geometry", test_text_geometry, NULL);
    ADD("mode-13h", test_mode_13h, NULL);
    ADD("mode-x", test_mode_x, NULL);
    ADD("planar", test_planar, NULL);
    ADD("vbe", test_vbe, NULL);
    ADD("vbe-planar", test_vbe_planar, NULL);
    ADD("bad-values", test_bad_values, NULL);
    ADD("registers", test_registers, NULL);
    ADD("png", test_png, NULL);
    ADD("refresh-timer", test_refresh_timer, NULL);
    ADD("pci", test_pci, "pci");
    ADD("pci-bad-rom", test_pci_bad_rom, "pci");
    return g_test_run();
}
