/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The display surface: pixels, a bounded list of dirty rectangles and a
 * generation counter behind one mutex; PNG screendumps through libpng.
 */
#define G_LOG_DOMAIN "mimic-display"

#include "display/surface.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

struct display_surface {
    gatomicrefcount refs;
    GMutex lock;
    enum display_format format;
    int width, height, stride;
    uint8_t *pixels;

    uint64_t generation;
    uint64_t frame;
    uint64_t taken_generation;      /* what the back end saw last */
    bool changed;                   /* dirty since the last commit */
    unsigned count;
    struct display_rect rects[DISPLAY_SURFACE_MAX_RECTS];

    display_surface_notify_fn notify;
    void *notify_opaque;
};

static int clamp_dimension(int value, int max)
{
    return CLAMP(value, 1, max);
}

static void allocate_pixels(struct display_surface *s, int width, int height)
{
    s->width = clamp_dimension(width, DISPLAY_SURFACE_MAX_WIDTH);
    s->height = clamp_dimension(height, DISPLAY_SURFACE_MAX_HEIGHT);
    s->stride = s->width * 4;
    g_free(s->pixels);
    s->pixels = g_malloc0((size_t)s->stride * s->height);
}

struct display_surface *display_surface_new(int width, int height,
                                            enum display_format format)
{
    struct display_surface *s = g_new0(struct display_surface, 1);

    g_return_val_if_fail(format == DISPLAY_FORMAT_XRGB8888, NULL);
    g_atomic_ref_count_init(&s->refs);
    g_mutex_init(&s->lock);
    s->format = format;
    s->generation = 1;
    allocate_pixels(s, width, height);
    return s;
}

struct display_surface *display_surface_ref(struct display_surface *s)
{
    g_return_val_if_fail(s, NULL);
    g_atomic_ref_count_inc(&s->refs);
    return s;
}

void display_surface_unref(struct display_surface *s)
{
    if (!s || !g_atomic_ref_count_dec(&s->refs))
        return;
    g_mutex_clear(&s->lock);
    g_free(s->pixels);
    g_free(s);
}

void display_surface_set_notify(struct display_surface *s,
                                display_surface_notify_fn fn, void *opaque)
{
    g_mutex_lock(&s->lock);
    s->notify = fn;
    s->notify_opaque = opaque;
    g_mutex_unlock(&s->lock);
}

void display_surface_get_info(struct display_surface *s,
                              struct display_surface_info *info)
{
    g_mutex_lock(&s->lock);
    info->format = s->format;
    info->width = s->width;
    info->height = s->height;
    info->stride = s->stride;
    info->generation = s->generation;
    g_mutex_unlock(&s->lock);
}

void display_surface_lock(struct display_surface *s)
{
    g_mutex_lock(&s->lock);
}

void display_surface_unlock(struct display_surface *s)
{
    g_mutex_unlock(&s->lock);
}

uint8_t *display_surface_data(struct display_surface *s)
{
    return s->pixels;
}

int display_surface_width(struct display_surface *s)
{
    return s->width;
}

int display_surface_height(struct display_surface *s)
{
    return s->height;
}

int display_surface_stride(struct display_surface *s)
{
    return s->stride;
}

bool display_surface_resize_locked(struct display_surface *s, int width,
                                   int height)
{
    width = clamp_dimension(width, DISPLAY_SURFACE_MAX_WIDTH);
    height = clamp_dimension(height, DISPLAY_SURFACE_MAX_HEIGHT);
    if (width == s->width && height == s->height)
        return false;
    allocate_pixels(s, width, height);
    s->generation++;
    s->count = 0;
    display_surface_mark_dirty_locked(s, 0, 0, s->width, s->height);
    return true;
}

static bool rects_touch(const struct display_rect *a,
                        const struct display_rect *b)
{
    return a->x <= b->x + b->width && b->x <= a->x + a->width &&
           a->y <= b->y + b->height && b->y <= a->y + a->height;
}

static void rect_union(struct display_rect *a, const struct display_rect *b)
{
    int x1 = MIN(a->x, b->x), y1 = MIN(a->y, b->y);
    int x2 = MAX(a->x + a->width, b->x + b->width);
    int y2 = MAX(a->y + a->height, b->y + b->height);

    *a = (struct display_rect){ x1, y1, x2 - x1, y2 - y1 };
}

/*
 * Merge @r into the list: rectangles that touch it are absorbed (repeatedly,
 * as the union grows); a full list collapses into its bounding box.
 */
void display_surface_mark_dirty_locked(struct display_surface *s, int x, int y,
                                       int width, int height)
{
    struct display_rect r;
    int x2, y2;

    x2 = (int)MIN((int64_t)x + width, s->width);
    y2 = (int)MIN((int64_t)y + height, s->height);
    x = MAX(x, 0);
    y = MAX(y, 0);
    if (x2 <= x || y2 <= y)
        return;
    r = (struct display_rect){ x, y, x2 - x, y2 - y };
    s->changed = true;

    for (unsigned i = 0; i < s->count;) {
        if (rects_touch(&s->rects[i], &r)) {
            rect_union(&r, &s->rects[i]);
            s->rects[i] = s->rects[--s->count];
            i = 0;
            continue;
        }
        i++;
    }
    if (s->count == DISPLAY_SURFACE_MAX_RECTS) {
        for (unsigned i = 0; i < s->count; i++)
            rect_union(&r, &s->rects[i]);
        s->count = 0;
    }
    s->rects[s->count++] = r;
}

void display_surface_mark_dirty(struct display_surface *s, int x, int y,
                                int width, int height)
{
    g_mutex_lock(&s->lock);
    display_surface_mark_dirty_locked(s, x, y, width, height);
    g_mutex_unlock(&s->lock);
}

void display_surface_commit(struct display_surface *s)
{
    display_surface_notify_fn fn = NULL;
    void *opaque = NULL;

    g_mutex_lock(&s->lock);
    if (s->changed) {
        s->changed = false;
        s->frame++;
        fn = s->notify;
        opaque = s->notify_opaque;
    }
    g_mutex_unlock(&s->lock);
    if (fn)
        fn(s, opaque);
}

unsigned display_surface_take_dirty(struct display_surface *s,
                                    struct display_dirty *dirty)
{
    g_mutex_lock(&s->lock);
    dirty->generation = s->generation;
    dirty->frame = s->frame;
    dirty->resized = s->taken_generation != s->generation;
    s->taken_generation = s->generation;
    dirty->count = s->count;
    memcpy(dirty->rects, s->rects, s->count * sizeof(s->rects[0]));
    s->count = 0;
    g_mutex_unlock(&s->lock);
    return dirty->count;
}

uint8_t *display_surface_copy_pixels(struct display_surface *s,
                                     struct display_surface_info *info)
{
    uint8_t *copy;

    g_mutex_lock(&s->lock);
    info->format = s->format;
    info->width = s->width;
    info->height = s->height;
    info->stride = s->width * 4;
    info->generation = s->generation;
    copy = g_memdup2(s->pixels, (size_t)s->stride * s->height);
    g_mutex_unlock(&s->lock);
    return copy;
}

/* --- PNG (libpng 1.6, "libpng-manual.txt", section IV: writing) --- */

struct png_error_context {
    char message[256];
};

static void png_error_handler(png_structp png, png_const_charp message)
{
    struct png_error_context *ctx = png_get_error_ptr(png);

    g_strlcpy(ctx->message, message, sizeof(ctx->message));
    png_longjmp(png, 1);
}

static void png_warning_handler(png_structp png, png_const_charp message)
{
}

/* Encode rows already converted to RGB; setjmp lives in this frame only. */
static int encode_png(FILE *file, uint8_t *rgb, int width, int height,
                      struct png_error_context *ctx)
{
    png_structp png;
    png_infop info;
    png_bytep *rows = g_new(png_bytep, height);
    int ret = -1;

    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, png_error_handler,
                                  png_warning_handler);
    if (!png) {
        g_strlcpy(ctx->message, "out of memory", sizeof(ctx->message));
        g_free(rows);
        return -1;
    }
    info = png_create_info_struct(png);
    if (!info) {
        g_strlcpy(ctx->message, "out of memory", sizeof(ctx->message));
        goto out;
    }
    if (setjmp(png_jmpbuf(png))) {
        /* Only the locals set before setjmp are used here. */
        png_destroy_write_struct(&png, &info);
        g_free(rows);
        return -1;
    }
    for (int y = 0; y < height; y++)
        rows[y] = rgb + (size_t)y * width * 3;
    png_init_io(png, file);
    png_set_compression_level(png, 3);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    ret = 0;
out:
    png_destroy_write_struct(&png, &info);
    g_free(rows);
    return ret;
}

int display_surface_write_png(struct display_surface *s, const char *path,
                              GError **error)
{
    struct display_surface_info info;
    struct png_error_context ctx = { "" };
    g_autofree uint8_t *pixels = NULL;
    g_autofree uint8_t *rgb = NULL;
    FILE *file;
    int ret;

    g_return_val_if_fail(s && path, -1);
    /* Copy out under the lock, encode without it: the renderer goes on. */
    pixels = display_surface_copy_pixels(s, &info);
    rgb = g_malloc((size_t)info.width * info.height * 3);
    for (int y = 0; y < info.height; y++) {
        const uint8_t *src = pixels + (size_t)y * info.stride;
        uint8_t *dst = rgb + (size_t)y * info.width * 3;

        for (int x = 0; x < info.width; x++) {
            dst[3 * x + 0] = src[4 * x + 2];
            dst[3 * x + 1] = src[4 * x + 1];
            dst[3 * x + 2] = src[4 * x + 0];
        }
    }

    file = g_fopen(path, "wb");
    if (!file) {
        int saved = errno;

        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
                    "cannot write %s: %s", path, g_strerror(saved));
        return -1;
    }
    ret = encode_png(file, rgb, info.width, info.height, &ctx);
    if (fclose(file) != 0 && ret == 0) {
        g_strlcpy(ctx.message, g_strerror(errno), sizeof(ctx.message));
        ret = -1;
    }
    if (ret < 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "cannot write the PNG %s: %s", path, ctx.message);
        g_unlink(path);
    }
    return ret;
}
