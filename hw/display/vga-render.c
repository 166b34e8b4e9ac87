/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VGA rendering into the display surface: text (fonts from plane 2), 16- and
 * 4-colour planar, 256-colour and Bochs VBE packed-pixel modes, line by line
 * against a shadow of what was drawn so only changed rows are marked dirty.
 * Register meanings after FreeVGA ("CRTC", "Attribute Controller") and the
 * IBM VGA Technical Reference.
 */
#define G_LOG_DOMAIN "mimic-vga"

#include "hw/display/vga-internal.h"

#include <string.h>

/* Code page 437 as UTF-8, for the text snapshot. */
static const char *const cp437[256] = {
    " ", "☺", "☻", "♥", "♦", "♣", "♠", "•", "◘", "○", "◙", "♂", "♀", "♪", "♫", "☼",
    "►", "◄", "↕", "‼", "¶", "§", "▬", "↨", "↑", "↓", "→", "←", "∟", "↔", "▲", "▼",
    " ", "!", "\"", "#", "$", "%", "&", "'", "(", ")", "*", "+", ",", "-", ".", "/",
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ":", ";", "<", "=", ">", "?",
    "@", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O",
    "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "[", "\\", "]", "^", "_",
    "`", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
    "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "{", "|", "}", "~", "⌂",
    "Ç", "ü", "é", "â", "ä", "à", "å", "ç", "ê", "ë", "è", "ï", "î", "ì", "Ä", "Å",
    "É", "æ", "Æ", "ô", "ö", "ò", "û", "ù", "ÿ", "Ö", "Ü", "¢", "£", "¥", "₧", "ƒ",
    "á", "í", "ó", "ú", "ñ", "Ñ", "ª", "º", "¿", "⌐", "¬", "½", "¼", "¡", "«", "»",
    "░", "▒", "▓", "│", "┤", "╡", "╢", "╖", "╕", "╣", "║", "╗", "╝", "╜", "╛", "┐",
    "└", "┴", "┬", "├", "─", "┼", "╞", "╟", "╚", "╔", "╩", "╦", "╠", "═", "╬", "╧",
    "╨", "╤", "╥", "╙", "╘", "╒", "╓", "╫", "╪", "┘", "┌", "█", "▄", "▌", "▐", "▀",
    "α", "ß", "Γ", "π", "Σ", "σ", "µ", "τ", "Φ", "Θ", "Ω", "δ", "∞", "φ", "ε", "∩",
    "≡", "±", "≥", "≤", "⌠", "⌡", "÷", "≈", "°", "∙", "·", "√", "ⁿ", "²", "■", " ",
};

/* What the registers say the picture is. */
struct geometry {
    enum vga_display_kind kind;
    int width, height;
    unsigned units;             /* shadow units: text rows or picture lines */
    size_t key_size;            /* bytes of source per unit */
    /* text */
    unsigned cols, rows, char_width, font_height, double_scan;
    /* planar, CGA, 256 colours */
    unsigned chars;             /* character clocks fetched per line */
    unsigned repeat;            /* scan lines per picture line */
    /* VBE */
    unsigned bpp, bytes_per_pixel;
    uint64_t line_bytes, start;
};

static unsigned vertical_display_lines(struct vga *s)
{
    const uint8_t *cr = s->cr;

    return (cr[CR_V_DISPLAY_END] | ((cr[CR_OVERFLOW] & 0x02) << 7) |
            ((cr[CR_OVERFLOW] & 0x40) << 3)) + 1;
}

static unsigned line_compare(struct vga *s)
{
    const uint8_t *cr = s->cr;

    return cr[CR_LINE_COMPARE] | ((cr[CR_OVERFLOW] & 0x10) << 4) |
           ((cr[CR_MAX_SCAN] & 0x40) << 3);
}

static unsigned start_address(struct vga *s)
{
    return (s->cr[CR_START_HIGH] << 8) | s->cr[CR_START_LOW];
}

/* Character clocks (addresses) from one line to the next (FreeVGA CR13). */
static unsigned line_pitch(struct vga *s)
{
    return s->cr[CR_OFFSET] * 2;
}

static void vbe_geometry(struct vga *s, struct geometry *g)
{
    const uint16_t *vbe = s->vbe;

    g->kind = VGA_DISPLAY_VBE;
    g->bpp = vbe[VBE_INDEX_BPP];
    g->width = vbe[VBE_INDEX_XRES];
    g->height = vbe[VBE_INDEX_YRES];
    g->units = g->height;
    if (g->bpp == 4) {
        /* Planar: a byte of each plane per 8 pixels, 4 bytes in vram. */
        g->line_bytes = vbe[VBE_INDEX_VIRT_WIDTH] / 8;
        g->start = (uint64_t)vbe[VBE_INDEX_Y_OFFSET] * g->line_bytes +
                   vbe[VBE_INDEX_X_OFFSET] / 8;
        g->chars = g->width / 8;
        g->key_size = (size_t)g->chars * 4;
        return;
    }
    g->bytes_per_pixel = (g->bpp + 7) / 8;
    g->line_bytes = (uint64_t)vbe[VBE_INDEX_VIRT_WIDTH] * g->bytes_per_pixel;
    g->start = (uint64_t)vbe[VBE_INDEX_Y_OFFSET] * g->line_bytes +
               (uint64_t)vbe[VBE_INDEX_X_OFFSET] * g->bytes_per_pixel;
    g->key_size = (size_t)g->width * g->bytes_per_pixel;
}

/* @blank_ok: false to describe a text screen even while the display is off. */
static void compute_geometry(struct vga *s, struct geometry *g, bool blank_ok)
{
    unsigned lines = vertical_display_lines(s);
    unsigned hchars = s->cr[CR_H_DISPLAY_END] + 1;
    unsigned max_scan = (s->cr[CR_MAX_SCAN] & 0x1f) + 1;
    unsigned double_scan = s->cr[CR_MAX_SCAN] >> 7;

    memset(g, 0, sizeof(*g));
    if (s->vbe[VBE_INDEX_ENABLE] & VBE_ENABLED) {
        vbe_geometry(s, g);
        return;
    }
    g->width = s->width > 0 ? s->width : 640;
    g->height = s->height > 0 ? s->height : 480;
    if (blank_ok && (!(s->ar_index & AR_INDEX_PAS) ||
                     (s->sr[SR_CLOCKING] & SR01_SCREEN_OFF))) {
        g->kind = VGA_DISPLAY_BLANK;
        return;
    }
    if (!(s->gr[GR_MISC] & GR06_GRAPHICS)) {
        g->kind = VGA_DISPLAY_TEXT;
        g->cols = hchars;
        g->char_width = (s->sr[SR_CLOCKING] & SR01_8DOT) ? 8 : 9;
        g->font_height = max_scan;
        g->double_scan = double_scan;
        g->rows = MAX(lines / (max_scan << double_scan), 1u);
        g->width = g->cols * g->char_width;
        g->height = g->rows * (max_scan << double_scan);
        g->units = g->rows;
        g->key_size = (size_t)g->cols * 2 + 4;
        return;
    }
    if (s->gr[GR_MODE] & GR05_256_COLOUR) {
        g->kind = VGA_DISPLAY_256;
        g->width = hchars * 4;
    } else {
        g->kind = (s->gr[GR_MODE] & GR05_SHIFT_INTERLEAVE) ? VGA_DISPLAY_CGA
                                                           : VGA_DISPLAY_PLANAR;
        g->width = hchars * 8;
    }
    /* Scan lines that repeat one memory line count once in the picture. */
    g->repeat = (1u << double_scan) *
                ((s->cr[CR_MODE] & 3) == 3 ? max_scan : 1);
    g->height = MAX(lines / g->repeat, 1u);
    g->chars = hchars + 1;      /* one more for horizontal panning */
    g->units = g->height;
    g->key_size = (size_t)g->chars * 4 + 1;     /* and the panning */
}

/* --- colours --- */

static uint32_t dac_color(struct vga *s, unsigned index)
{
    const uint8_t *c = &s->palette[index * 3];
    uint8_t rgb[3];

    for (int i = 0; i < 3; i++)
        rgb[i] = (s->vbe[VBE_INDEX_ENABLE] & VBE_8BIT_DAC)
                     ? c[i] : (uint8_t)((c[i] << 2) | ((c[i] >> 4) & 3));
    return (uint32_t)rgb[0] << 16 | rgb[1] << 8 | rgb[2];
}

/* Attribute palette to DAC index (FreeVGA "Color Select Register"). */
static unsigned attribute_dac_index(struct vga *s, unsigned color)
{
    unsigned value = s->ar[color & 0x0f];

    if (s->ar[AR_MODE] & AR10_P54S)
        value = (value & 0x0f) | ((s->ar[AR_COLOR_SELECT] & 0x03) << 4);
    return (value & 0x3f) | ((s->ar[AR_COLOR_SELECT] & 0x0c) << 4);
}

/* Recompute the colour tables; true if any colour changed. */
static bool update_colors(struct vga *s)
{
    uint32_t dac[256], colors16[16];
    bool changed;

    for (unsigned i = 0; i < 256; i++)
        dac[i] = dac_color(s, i & s->pel_mask);
    for (unsigned i = 0; i < 16; i++)
        colors16[i] = dac[attribute_dac_index(s, i & s->ar[AR_PLANE_ENABLE])];
    changed = memcmp(dac, s->dac_colors, sizeof(dac)) ||
              memcmp(colors16, s->colors16, sizeof(colors16));
    memcpy(s->dac_colors, dac, sizeof(dac));
    memcpy(s->colors16, colors16, sizeof(colors16));
    return changed;
}

/* --- addressing --- */

/*
 * Character clock @counter to plane offset: word mode doubles it and rotates
 * MA13 or MA15 into bit 0; MA13/MA14 may come from the row scan counter
 * (CGA/Hercules interleave). Doubleword mode needs no scaling here, as the
 * planes are stored interleaved (chain 4 is linear in vram).
 */
static uint32_t crtc_address(struct vga *s, uint32_t counter, unsigned row_scan,
                             bool substitute)
{
    uint8_t mode = s->cr[CR_MODE];
    uint32_t a = counter;

    if (!(s->cr[CR_UNDERLINE] & 0x40) && !(mode & 0x40))
        a = (counter << 1) | ((counter >> ((mode & 0x20) ? 15 : 13)) & 1);
    if (substitute && !(mode & 0x01))
        a = (a & ~0x2000u) | ((row_scan & 1) << 13);
    if (substitute && !(mode & 0x02))
        a = (a & ~0x4000u) | ((row_scan & 2) << 13);
    return a & VGA_PLANE_MASK;
}

static uint8_t *shadow_unit(struct vga *s, unsigned unit)
{
    return s->shadow + (size_t)unit * s->shadow_line;
}

/* Compare a unit's source bytes with what was drawn; remember them. */
static bool unit_changed(struct vga *s, unsigned unit, const uint8_t *key,
                         size_t size)
{
    uint8_t *old = shadow_unit(s, unit);

    if (!s->full_update && memcmp(old, key, size) == 0)
        return false;
    memcpy(old, key, size);
    return true;
}

static uint32_t *surface_row(struct vga *s, int y)
{
    return (uint32_t *)(display_surface_data(s->surface) +
                        (size_t)y * display_surface_stride(s->surface));
}

/* --- text --- */

static uint32_t font_base(unsigned map)
{
    /* Maps 0-3 at 16 KiB steps, 4-7 in between (FreeVGA "Character Map Select"). */
    return (map & 3) * 0x4000 + ((map & 4) ? 0x2000 : 0);
}

static void text_cell_address(struct vga *s, const struct geometry *g,
                              unsigned row, unsigned col, uint8_t *ch,
                              uint8_t *attr)
{
    uint32_t counter = start_address(s) + row * line_pitch(s) + col;
    uint32_t a = crtc_address(s, counter, 0, false);

    *ch = s->vram[(size_t)a * 4];
    *attr = s->vram[(size_t)a * 4 + 1];
}

static void render_text_row(struct vga *s, const struct geometry *g,
                            unsigned row, const uint8_t *cells, int cursor_col,
                            unsigned cursor_start, unsigned cursor_end)
{
    uint8_t sr3 = s->sr[SR_CHAR_MAP];
    uint32_t map_a = font_base(((sr3 >> 2) & 3) | ((sr3 >> 3) & 4));
    uint32_t map_b = font_base((sr3 & 3) | ((sr3 >> 2) & 4));
    unsigned cell_height = g->font_height << g->double_scan;
    unsigned underline = s->cr[CR_UNDERLINE] & 0x1f;
    bool blink = s->ar[AR_MODE] & AR10_BLINK;
    bool mono = s->ar[AR_MODE] & AR10_MONO;
    bool line_graphics = s->ar[AR_MODE] & AR10_LINE_GRAPHICS;

    for (unsigned line = 0; line < cell_height; line++) {
        unsigned glyph_line = line >> g->double_scan;
        uint32_t *dst = surface_row(s, row * cell_height + line);

        for (unsigned col = 0; col < g->cols; col++) {
            uint8_t ch = cells[2 * col], attr = cells[2 * col + 1];
            uint32_t font = (attr & 0x08) ? map_a : map_b;
            uint8_t bits = s->vram[((size_t)font + ch * 32 + glyph_line) * 4 + 2];
            uint32_t fg = s->colors16[attr & 0x0f];
            uint32_t bg = s->colors16[blink ? (attr >> 4) & 7 : attr >> 4];
            bool ninth;

            if (mono && glyph_line == underline && (attr & 0x77) == 0x01)
                bits = 0xff;
            if ((int)col == cursor_col && glyph_line >= cursor_start &&
                glyph_line <= cursor_end)
                bits = 0xff;
            for (unsigned x = 0; x < 8; x++)
                dst[x] = (bits & (0x80 >> x)) ? fg : bg;
            if (g->char_width == 9) {
                /* Box-drawing characters extend into the ninth column. */
                ninth = line_graphics && ch >= 0xc0 && ch <= 0xdf && (bits & 1);
                dst[8] = ninth ? fg : bg;
            }
            dst += g->char_width;
        }
    }
}

static void render_text(struct vga *s, const struct geometry *g)
{
    uint8_t *key = g_alloca(g->key_size);
    uint32_t cursor = (s->cr[CR_CURSOR_HIGH] << 8) | s->cr[CR_CURSOR_LOW];
    bool cursor_on = !(s->cr[CR_CURSOR_START] & 0x20);
    unsigned cursor_start = s->cr[CR_CURSOR_START] & 0x1f;
    unsigned cursor_end = MIN(s->cr[CR_CURSOR_END] & 0x1f, g->font_height - 1);
    unsigned cell_height = g->font_height << g->double_scan;

    for (unsigned row = 0; row < g->rows; row++) {
        uint32_t first = start_address(s) + row * line_pitch(s);
        int cursor_col = -1;

        for (unsigned col = 0; col < g->cols; col++)
            text_cell_address(s, g, row, col, &key[2 * col], &key[2 * col + 1]);
        if (cursor_on && cursor >= first && cursor < first + g->cols &&
            cursor_start <= cursor_end)
            cursor_col = cursor - first;
        key[2 * g->cols] = cursor_col & 0xff;
        key[2 * g->cols + 1] = (cursor_col >> 8) & 0xff;
        key[2 * g->cols + 2] = cursor_start;
        key[2 * g->cols + 3] = cursor_end;
        if (!unit_changed(s, row, key, g->key_size))
            continue;
        render_text_row(s, g, row, key, cursor_col, cursor_start, cursor_end);
        display_surface_mark_dirty_locked(s->surface, 0, row * cell_height,
                                          g->width, cell_height);
    }
}

/* --- planar, CGA and 256-colour graphics --- */

/*
 * Gather the plane bytes of picture line @y into @key (4 bytes per clock)
 * followed by the pixel panning, which it returns.
 */
static unsigned fetch_graphics_line(struct vga *s, const struct geometry *g,
                                    unsigned y, uint8_t *key)
{
    unsigned scan = y * g->repeat;
    unsigned max_scan = (s->cr[CR_MAX_SCAN] & 0x1f) + 1;
    unsigned compare = line_compare(s);
    unsigned pan = s->ar[AR_PANNING] & 0x0f;
    uint32_t base = start_address(s);
    unsigned rel, row_scan;

    if (scan > compare) {
        /* Split screen: below the line compare, memory restarts at 0. */
        rel = (scan - compare - 1) >> (s->cr[CR_MAX_SCAN] >> 7);
        base = 0;
        if (s->ar[AR_MODE] & 0x20)
            pan = 0;
    } else {
        rel = scan >> (s->cr[CR_MAX_SCAN] >> 7);
    }
    row_scan = rel % max_scan;
    base += (rel / max_scan) * line_pitch(s);
    for (unsigned i = 0; i < g->chars; i++) {
        uint32_t a = crtc_address(s, base + i, row_scan, true);

        memcpy(&key[4 * i], &s->vram[(size_t)a * 4], 4);
    }
    if (g->kind == VGA_DISPLAY_256)
        pan = (pan >> 1) & 3;
    else if (pan >= 8)
        pan = 0;
    key[4 * g->chars] = pan;
    return pan;
}

static void draw_planar(struct vga *s, uint32_t *dst, int width,
                        const uint8_t *key, unsigned shift)
{
    for (int x = 0; x < width; x++) {
        unsigned bit = x + shift;
        const uint8_t *cell = &key[4 * (bit / 8)];
        unsigned mask = 0x80 >> (bit % 8);
        unsigned color = ((cell[0] & mask) ? 1 : 0) | ((cell[1] & mask) ? 2 : 0) |
                         ((cell[2] & mask) ? 4 : 0) | ((cell[3] & mask) ? 8 : 0);

        dst[x] = s->colors16[color];
    }
}

static void draw_cga(struct vga *s, uint32_t *dst, int width,
                     const uint8_t *key, unsigned shift)
{
    for (int x = 0; x < width; x++) {
        unsigned pixel = x + shift;
        const uint8_t *cell = &key[4 * (pixel / 8)];
        unsigned within = pixel % 8;
        uint8_t byte = cell[within / 4];    /* plane 0, then plane 1 */

        dst[x] = s->colors16[(byte >> (6 - 2 * (within % 4))) & 3];
    }
}

static void draw_256(struct vga *s, uint32_t *dst, int width,
                     const uint8_t *key, unsigned shift)
{
    for (int x = 0; x < width; x++)
        dst[x] = s->dac_colors[key[x + shift]];
}

static void render_graphics(struct vga *s, const struct geometry *g)
{
    uint8_t *key = g_malloc(g->key_size);

    for (int y = 0; y < g->height; y++) {
        unsigned shift = fetch_graphics_line(s, g, y, key);

        if (!unit_changed(s, y, key, g->key_size))
            continue;
        if (g->kind == VGA_DISPLAY_PLANAR)
            draw_planar(s, surface_row(s, y), g->width, key, shift);
        else if (g->kind == VGA_DISPLAY_CGA)
            draw_cga(s, surface_row(s, y), g->width, key, shift);
        else
            draw_256(s, surface_row(s, y), g->width, key, shift);
        display_surface_mark_dirty_locked(s->surface, 0, y, g->width, 1);
    }
    g_free(key);
}

/* --- VBE --- */

static uint32_t expand5(unsigned v)
{
    return (v << 3) | (v >> 2);
}

static void draw_vbe_line(struct vga *s, const struct geometry *g,
                          uint32_t *dst, const uint8_t *src)
{
    switch (g->bpp) {
    case 8:
        for (int x = 0; x < g->width; x++)
            dst[x] = s->dac_colors[src[x]];
        break;
    case 15:
        for (int x = 0; x < g->width; x++) {
            unsigned v = src[2 * x] | src[2 * x + 1] << 8;

            dst[x] = expand5((v >> 10) & 31) << 16 | expand5((v >> 5) & 31) << 8 |
                     expand5(v & 31);
        }
        break;
    case 16:
        for (int x = 0; x < g->width; x++) {
            unsigned v = src[2 * x] | src[2 * x + 1] << 8;
            unsigned g6 = (v >> 5) & 63;

            dst[x] = expand5(v >> 11) << 16 | ((g6 << 2) | (g6 >> 4)) << 8 |
                     expand5(v & 31);
        }
        break;
    case 24:
        for (int x = 0; x < g->width; x++)
            dst[x] = src[3 * x + 2] << 16 | src[3 * x + 1] << 8 | src[3 * x];
        break;
    case 32:
        for (int x = 0; x < g->width; x++)
            dst[x] = (src[4 * x + 2] << 16 | src[4 * x + 1] << 8 | src[4 * x]);
        break;
    }
}

static void render_vbe(struct vga *s, const struct geometry *g)
{
    if (g->bpp == 4) {
        uint32_t mask = s->vram_size / 4 - 1;
        uint8_t *key = g_malloc(g->key_size);

        for (int y = 0; y < g->height; y++) {
            uint64_t base = g->start + (uint64_t)y * g->line_bytes;

            for (unsigned i = 0; i < g->chars; i++)
                memcpy(&key[4 * i], &s->vram[(size_t)((base + i) & mask) * 4], 4);
            if (!unit_changed(s, y, key, g->key_size))
                continue;
            draw_planar(s, surface_row(s, y), g->width, key, 0);
            display_surface_mark_dirty_locked(s->surface, 0, y, g->width, 1);
        }
        g_free(key);
        return;
    }
    for (int y = 0; y < g->height; y++) {
        uint64_t offset = g->start + (uint64_t)y * g->line_bytes;

        /* The registers were checked to fit; stay safe if they did not. */
        if (offset + g->key_size > s->vram_size)
            break;
        if (!unit_changed(s, y, s->vram + offset, g->key_size))
            continue;
        draw_vbe_line(s, g, surface_row(s, y), s->vram + offset);
        display_surface_mark_dirty_locked(s->surface, 0, y, g->width, 1);
    }
}

/* --- the frame --- */

static void render_blank(struct vga *s, const struct geometry *g)
{
    if (!s->full_update)
        return;
    memset(display_surface_data(s->surface), 0,
           (size_t)display_surface_stride(s->surface) *
           display_surface_height(s->surface));
    display_surface_mark_dirty_locked(s->surface, 0, 0, g->width, g->height);
}

void vga_render(struct vga *s)
{
    struct geometry g;
    bool colors_changed;

    compute_geometry(s, &g, true);
    g.width = CLAMP(g.width, 1, DISPLAY_SURFACE_MAX_WIDTH);
    g.height = CLAMP(g.height, 1, DISPLAY_SURFACE_MAX_HEIGHT);
    g.units = MIN(g.units, (unsigned)g.height);
    colors_changed = update_colors(s);

    display_surface_lock(s->surface);
    if (g.kind != s->kind || g.width != s->width || g.height != s->height ||
        g.key_size != s->shadow_line || g.units != s->shadow_lines) {
        display_surface_resize_locked(s->surface, g.width, g.height);
        g_free(s->shadow);
        s->shadow = g_malloc0(MAX(g.key_size * g.units, 1));
        s->shadow_line = g.key_size;
        s->shadow_lines = g.units;
        s->kind = g.kind;
        s->width = g.width;
        s->height = g.height;
        s->full_update = true;
    }
    if (colors_changed || (s->font_dirty && g.kind == VGA_DISPLAY_TEXT))
        s->full_update = true;
    s->font_dirty = false;

    switch (g.kind) {
    case VGA_DISPLAY_BLANK:
        render_blank(s, &g);
        break;
    case VGA_DISPLAY_TEXT:
        render_text(s, &g);
        break;
    case VGA_DISPLAY_PLANAR:
    case VGA_DISPLAY_CGA:
    case VGA_DISPLAY_256:
        render_graphics(s, &g);
        break;
    case VGA_DISPLAY_VBE:
        render_vbe(s, &g);
        break;
    }
    s->full_update = false;
    display_surface_unlock(s->surface);
}

void vga_render_reset(struct vga *s)
{
    s->full_update = true;
}

char *vga_render_text(struct vga *s)
{
    struct geometry g;
    GString *text;

    compute_geometry(s, &g, false);
    if (g.kind != VGA_DISPLAY_TEXT)
        return NULL;
    text = g_string_sized_new(g.rows * (g.cols + 1));
    for (unsigned row = 0; row < g.rows; row++) {
        gsize line_start = text->len, keep = text->len;

        for (unsigned col = 0; col < g.cols; col++) {
            uint8_t ch, attr;

            text_cell_address(s, &g, row, col, &ch, &attr);
            g_string_append(text, cp437[ch]);
            if (ch != ' ' && ch != 0 && ch != 0xff)
                keep = text->len;
        }
        g_string_truncate(text, MAX(keep, line_start));
        g_string_append_c(text, '\n');
    }
    return g_string_free(text, FALSE);
}
