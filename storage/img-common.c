/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the mimic-img commands: errors, sizes, -o options,
 * opening images, the progress line. */
#include "storage/img.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

void img_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mimic-img: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

char *img_size_to_str(uint64_t bytes)
{
    static const char *const suffixes[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
    int exp;
    if (bytes == 0) {
        return g_strdup("0 B");
    }
    /* Switch to the larger unit once the value reaches 1000 of the smaller. */
    frexp((double)bytes / (1000.0 / 1024.0), &exp);
    int i = (exp - 1) / 10;
    if (i > 6) {
        i = 6;
    }
    double div = ldexp(1.0, i * 10);
    return g_strdup_printf("%0.3g %sB", (double)bytes / div, suffixes[i]);
}

static int img_parse_bool(const char *v, bool *out)
{
    if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes")) {
        *out = true;
    } else if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no")) {
        *out = false;
    } else {
        return -EINVAL;
    }
    return 0;
}

int img_parse_create_options(const char *text, BlkCreateOptions *o, GPtrArray *owned)
{
    g_auto(GStrv) items = g_strsplit(text, ",", -1);
    for (int i = 0; items[i] != NULL; i++) {
        if (items[i][0] == '\0') {
            continue;
        }
        char *eq = strchr(items[i], '=');
        if (eq == NULL) {
            img_error("Invalid option '%s' (expected key=value)", items[i]);
            return -EINVAL;
        }
        *eq = '\0';
        const char *k = items[i], *v = eq + 1;
        uint64_t n;
        int ret = 0;
        if (!strcmp(k, "cluster_size")) {
            ret = blk_parse_size(v, &n);
            o->cluster_size = (uint32_t)n;
        } else if (!strcmp(k, "compat")) {
            if (!strcmp(v, "0.10") || !strcmp(v, "v2")) {
                o->compat = 2;
            } else if (!strcmp(v, "1.1") || !strcmp(v, "v3")) {
                o->compat = 3;
            } else {
                ret = -EINVAL;
            }
        } else if (!strcmp(k, "refcount_bits")) {
            o->refcount_bits = atoi(v);
        } else if (!strcmp(k, "lazy_refcounts")) {
            ret = img_parse_bool(v, &o->lazy_refcounts);
        } else if (!strcmp(k, "compression_type")) {
            if (!strcmp(v, "zlib")) {
                o->compression_type = BLK_COMPRESSION_ZLIB;
            } else if (!strcmp(v, "zstd")) {
                o->compression_type = BLK_COMPRESSION_ZSTD;
            } else {
                ret = -EINVAL;
            }
        } else if (!strcmp(k, "preallocation")) {
            if (!strcmp(v, "off")) {
                o->preallocation = BLK_PREALLOC_OFF;
            } else if (!strcmp(v, "metadata")) {
                o->preallocation = BLK_PREALLOC_METADATA;
            } else if (!strcmp(v, "falloc")) {
                o->preallocation = BLK_PREALLOC_FALLOC;
            } else if (!strcmp(v, "full")) {
                o->preallocation = BLK_PREALLOC_FULL;
            } else {
                ret = -EINVAL;
            }
        } else if (!strcmp(k, "backing_file")) {
            char *s = g_strdup(v);
            g_ptr_array_add(owned, s);
            o->backing_file = s;
        } else if (!strcmp(k, "backing_fmt")) {
            char *s = g_strdup(v);
            g_ptr_array_add(owned, s);
            o->backing_format = s;
        } else if (!strcmp(k, "size")) {
            ret = blk_parse_size(v, &o->size);
        } else if (!strcmp(k, "extended_l2")) {
            bool on;
            ret = img_parse_bool(v, &on);
            if (ret == 0 && on) {
                img_error("extended_l2=on is not supported");
                return -ENOTSUP;
            }
        } else {
            img_error("Invalid parameter '%s'", k);
            return -EINVAL;
        }
        if (ret < 0) {
            img_error("Invalid value '%s' for option '%s'", v, k);
            return ret;
        }
    }
    return 0;
}

int img_open(const char *filename, const char *format, int flags, BlkImage **img)
{
    GError *err = NULL;
    int ret = blk_open(filename, format, flags, img, &err);
    if (ret < 0) {
        img_error("%s", err->message);
        g_error_free(err);
    }
    return ret;
}

void img_progress(bool enabled, double done, double total)
{
    if (!enabled) {
        return;
    }
    double pct = total > 0 ? done * 100.0 / total : 100.0;
    printf("    (%3.2f/100%%)\r", pct);
    fflush(stdout);
}

bool img_is_zero(const void *buf, size_t length)
{
    const uint8_t *p = buf;
    size_t i = 0;
    for (; i < length && ((uintptr_t)(p + i) & 7); i++) {
        if (p[i]) {
            return false;
        }
    }
    for (; i + 32 <= length; i += 32) {
        const uint64_t *q = (const uint64_t *)(p + i);
        if (q[0] | q[1] | q[2] | q[3]) {
            return false;
        }
    }
    for (; i < length; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

int img_usage(const char *usage)
{
    fprintf(stderr, "usage: %s\n", usage);
    return 1;
}
