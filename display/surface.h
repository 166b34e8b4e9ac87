/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The display surface: the framebuffer a device model (the VGA) renders into
 * on the engine thread and display back ends (GL, SDL, SPICE, screendump)
 * read on theirs, with the rectangles changed since a back end last looked.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Pixel formats. XRGB8888: one little-endian 32-bit word per pixel,
 * 0xXXRRGGBB (bytes B, G, R, X in memory), as DRM_FORMAT_XRGB8888 and
 * CAIRO_FORMAT_RGB24; the X byte is undefined.
 */
enum display_format {
    DISPLAY_FORMAT_XRGB8888,
};

/* Sizes a surface may take; larger requests are clamped. */
#define DISPLAY_SURFACE_MAX_WIDTH 16384
#define DISPLAY_SURFACE_MAX_HEIGHT 16384
/* Dirty rectangles kept per surface before they collapse into one box. */
#define DISPLAY_SURFACE_MAX_RECTS 16

struct display_rect {
    int x, y, width, height;
};

/* What changed since the last display_surface_take_dirty. */
struct display_dirty {
    uint64_t generation;    /* changes when size or format change */
    uint64_t frame;         /* counts commits */
    bool resized;           /* the generation changed: redraw everything */
    unsigned count;
    struct display_rect rects[DISPLAY_SURFACE_MAX_RECTS];
};

struct display_surface_info {
    enum display_format format;
    int width, height;
    int stride;             /* bytes per row */
    uint64_t generation;
};

struct display_surface;

/* Told after a producer commits changes (on the producer's thread). */
typedef void (*display_surface_notify_fn)(struct display_surface *s,
                                          void *opaque);

/* A black surface of @width x @height (clamped to 1..MAX). One reference. */
struct display_surface *display_surface_new(int width, int height,
                                            enum display_format format);
struct display_surface *display_surface_ref(struct display_surface *s);
void display_surface_unref(struct display_surface *s);

/* One listener; NULL removes it. */
void display_surface_set_notify(struct display_surface *s,
                                display_surface_notify_fn fn, void *opaque);

/* A consistent snapshot of the geometry (takes the lock). */
void display_surface_get_info(struct display_surface *s,
                              struct display_surface_info *info);

/*
 * Pixel access: hold the lock while touching display_surface_data()'s bytes
 * or calling a *_locked function. Producers render and mark dirty under it;
 * back ends copy out under it.
 */
void display_surface_lock(struct display_surface *s);
void display_surface_unlock(struct display_surface *s);
uint8_t *display_surface_data(struct display_surface *s);
int display_surface_width(struct display_surface *s);
int display_surface_height(struct display_surface *s);
int display_surface_stride(struct display_surface *s);

/*
 * Change the size (clamped as for _new); the contents become black and the
 * whole surface dirty. Returns true when the size changed.
 */
bool display_surface_resize_locked(struct display_surface *s, int width,
                                   int height);
/* Add a changed rectangle (clipped to the surface). */
void display_surface_mark_dirty_locked(struct display_surface *s, int x, int y,
                                       int width, int height);
void display_surface_mark_dirty(struct display_surface *s, int x, int y,
                                int width, int height);

/*
 * Producer: a frame is complete. If anything is dirty (or resized), counts a
 * frame and calls the listener (without the lock held).
 */
void display_surface_commit(struct display_surface *s);

/* Back end: take (and clear) what changed. Returns the number of rects. */
unsigned display_surface_take_dirty(struct display_surface *s,
                                    struct display_dirty *dirty);

/*
 * Copy the pixels of a surface out (consistently, under the lock) into a
 * new buffer of width * 4 bytes per row; g_free it.
 */
uint8_t *display_surface_copy_pixels(struct display_surface *s,
                                     struct display_surface_info *info);

/* Write the surface as an 8-bit RGB PNG. Returns 0 or -1 with @error set. */
int display_surface_write_png(struct display_surface *s, const char *path,
                              GError **error);
