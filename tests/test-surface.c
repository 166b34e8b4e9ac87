/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the display surface: sizes, dirty rectangle merging,
 * generations, the commit listener and PNG screendumps read back with libpng.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <png.h>
#include <stdio.h>
#include <string.h>

#include "display/surface.h"

static void test_new_and_clamp(void)
{
    struct display_surface *s = display_surface_new(640, 480,
                                                    DISPLAY_FORMAT_XRGB8888);
    struct display_surface_info info;

    display_surface_get_info(s, &info);
    g_assert_cmpint(info.width, ==, 640);
    g_assert_cmpint(info.height, ==, 480);
    g_assert_cmpint(info.stride, ==, 640 * 4);
    g_assert_cmpint(info.format, ==, DISPLAY_FORMAT_XRGB8888);

    display_surface_lock(s);
    g_assert_true(display_surface_resize_locked(s, 0, -5));
    g_assert_cmpint(display_surface_width(s), ==, 1);
    g_assert_cmpint(display_surface_height(s), ==, 1);
    g_assert_true(display_surface_resize_locked(s, 100000, 20));
    g_assert_cmpint(display_surface_width(s), ==, DISPLAY_SURFACE_MAX_WIDTH);
    g_assert_false(display_surface_resize_locked(s, 100000, 20));
    display_surface_unlock(s);

    display_surface_get_info(s, &info);
    g_assert_cmpuint(info.generation, ==, 3);
    display_surface_unref(s);
}

static void test_dirty(void)
{
    struct display_surface *s = display_surface_new(100, 100,
                                                    DISPLAY_FORMAT_XRGB8888);
    struct display_dirty dirty;

    /* A new surface: the first take reports a resize and nothing dirty. */
    g_assert_cmpuint(display_surface_take_dirty(s, &dirty), ==, 0);
    g_assert_true(dirty.resized);
    g_assert_cmpuint(display_surface_take_dirty(s, &dirty), ==, 0);
    g_assert_false(dirty.resized);

    /* Touching rectangles merge; distant ones stay apart; clipping. */
    display_surface_mark_dirty(s, 0, 0, 10, 1);
    display_surface_mark_dirty(s, 0, 1, 10, 1);
    display_surface_mark_dirty(s, 50, 50, 10, 10);
    display_surface_mark_dirty(s, 90, 95, 50, 50);
    display_surface_mark_dirty(s, -10, -10, 5, 5);     /* off the surface */
    g_assert_cmpuint(display_surface_take_dirty(s, &dirty), ==, 3);
    g_assert_cmpint(dirty.rects[0].x, ==, 0);
    g_assert_cmpint(dirty.rects[0].height, ==, 2);
    g_assert_cmpint(dirty.rects[1].width, ==, 10);
    g_assert_cmpint(dirty.rects[2].x, ==, 90);
    g_assert_cmpint(dirty.rects[2].width, ==, 10);
    g_assert_cmpint(dirty.rects[2].height, ==, 5);
    g_assert_cmpuint(display_surface_take_dirty(s, &dirty), ==, 0);

    /* More than the list holds collapses to the bounding box. */
    for (int i = 0; i < 40; i++)
        display_surface_mark_dirty(s, (i % 8) * 12, (i / 8) * 12, 2, 2);
    g_assert_cmpuint(display_surface_take_dirty(s, &dirty), <=,
                     DISPLAY_SURFACE_MAX_RECTS);
    g_assert_cmpuint(dirty.count, >=, 1);
    {
        int x1 = 100, y1 = 100, x2 = 0, y2 = 0;

        for (unsigned i = 0; i < dirty.count; i++) {
            x1 = MIN(x1, dirty.rects[i].x);
            y1 = MIN(y1, dirty.rects[i].y);
            x2 = MAX(x2, dirty.rects[i].x + dirty.rects[i].width);
            y2 = MAX(y2, dirty.rects[i].y + dirty.rects[i].height);
        }
        g_assert_cmpint(x1, ==, 0);
        g_assert_cmpint(y1, ==, 0);
        g_assert_cmpint(x2, ==, 7 * 12 + 2);
        g_assert_cmpint(y2, ==, 4 * 12 + 2);
    }
    display_surface_unref(s);
}

static void count_notify(struct display_surface *s, void *opaque)
{
    (*(int *)opaque)++;
}

static void test_commit_notify(void)
{
    struct display_surface *s = display_surface_new(10, 10,
                                                    DISPLAY_FORMAT_XRGB8888);
    struct display_dirty dirty;
    int calls = 0;

    display_surface_set_notify(s, count_notify, &calls);
    display_surface_commit(s);
    g_assert_cmpint(calls, ==, 0);      /* nothing changed */
    display_surface_mark_dirty(s, 1, 1, 1, 1);
    display_surface_commit(s);
    display_surface_commit(s);
    g_assert_cmpint(calls, ==, 1);
    display_surface_take_dirty(s, &dirty);
    g_assert_cmpuint(dirty.frame, ==, 1);

    display_surface_lock(s);
    display_surface_resize_locked(s, 20, 20);
    display_surface_unlock(s);
    display_surface_commit(s);
    g_assert_cmpint(calls, ==, 2);
    g_assert_cmpuint(display_surface_take_dirty(s, &dirty), ==, 1);
    g_assert_true(dirty.resized);
    g_assert_cmpint(dirty.rects[0].width, ==, 20);
    display_surface_set_notify(s, NULL, NULL);
    display_surface_unref(s);
}

/* Decode an 8-bit RGB PNG into XRGB words. */
static uint32_t *read_png(const char *path, int *width, int *height)
{
    png_image image;
    uint32_t *pixels;

    memset(&image, 0, sizeof(image));
    image.version = PNG_IMAGE_VERSION;
    g_assert_true(png_image_begin_read_from_file(&image, path));
    g_assert_cmpuint(image.format & PNG_FORMAT_FLAG_COLOR, !=, 0);
    image.format = PNG_FORMAT_BGRA;
    pixels = g_malloc(PNG_IMAGE_SIZE(image));
    g_assert_true(png_image_finish_read(&image, NULL, pixels, 0, NULL));
    *width = image.width;
    *height = image.height;
    return pixels;
}

static void test_png(void)
{
    struct display_surface *s = display_surface_new(37, 11,
                                                    DISPLAY_FORMAT_XRGB8888);
    g_autofree char *dir = g_dir_make_tmp("mimic-test-surface-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "shot.png", NULL);
    g_autofree char *bad = g_build_filename(dir, "missing", "shot.png", NULL);
    g_autofree uint32_t *back = NULL;
    GError *error = NULL;
    int width, height;

    display_surface_lock(s);
    for (int y = 0; y < 11; y++) {
        uint32_t *row = (uint32_t *)(display_surface_data(s) +
                                     y * display_surface_stride(s));

        for (int x = 0; x < 37; x++)
            row[x] = 0xff000000u | (x * 7) << 16 | (y * 23) << 8 | (x ^ y);
    }
    display_surface_unlock(s);

    g_assert_cmpint(display_surface_write_png(s, path, &error), ==, 0);
    g_assert_no_error(error);
    back = read_png(path, &width, &height);
    g_assert_cmpint(width, ==, 37);
    g_assert_cmpint(height, ==, 11);
    for (int y = 0; y < 11; y++)
        for (int x = 0; x < 37; x++)
            g_assert_cmphex(back[y * 37 + x] & 0xffffff, ==,
                            (uint32_t)((x * 7) << 16 | (y * 23) << 8 | (x ^ y)));

    g_assert_cmpint(display_surface_write_png(s, bad, &error), ==, -1);
    g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    g_clear_error(&error);

    g_unlink(path);
    g_rmdir(dir);
    display_surface_unref(s);
}

/* Back ends take references; the last unref frees. */
static void test_refs(void)
{
    struct display_surface *s = display_surface_new(4, 4,
                                                    DISPLAY_FORMAT_XRGB8888);

    g_assert_true(display_surface_ref(s) == s);
    display_surface_unref(s);
    display_surface_mark_dirty(s, 0, 0, 4, 4);
    display_surface_unref(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/surface/new-and-clamp", test_new_and_clamp);
    g_test_add_func("/surface/dirty", test_dirty);
    g_test_add_func("/surface/commit-notify", test_commit_notify);
    g_test_add_func("/surface/png", test_png);
    g_test_add_func("/surface/refs", test_refs);
    return g_test_run();
}
