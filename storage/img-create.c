/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mimic-img create, resize and measure: commands that decide an image's size
 * and layout. */
#include "storage/img.h"

#include <errno.h>
#include <getopt.h>
#include <json-glib/json-glib.h>
#include <string.h>

static const char create_usage[] =
    "mimic-img create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] "
    "filename [size]\n"
    "  options: cluster_size, compat (0.10|1.1), refcount_bits, lazy_refcounts,\n"
    "           compression_type (zlib|zstd), preallocation (off|metadata|falloc|full)\n"
    "  size accepts the suffixes k, M, G, T, P, E (powers of 1024)";

int img_cmd_create(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, 'O' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = "raw", *backing = NULL, *backing_fmt = NULL;
    g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
    BlkCreateOptions opts = { 0 };
    bool quiet = false, unsafe = false;
    GString *optstr = g_string_new(NULL);
    int c;

    while ((c = getopt_long(argc, argv, "hqf:b:F:uo:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': printf("usage: %s\n", create_usage); g_string_free(optstr, TRUE); return 0;
        case 'q': quiet = true; break;
        case 'f': fmt = optarg; break;
        case 'b': backing = optarg; break;
        case 'F': backing_fmt = optarg; break;
        case 'u': unsafe = true; break;
        case 'o': g_string_append_printf(optstr, "%s,", optarg); break;
        default: g_string_free(optstr, TRUE); return img_usage(create_usage);
        }
    }
    if (optind >= argc) {
        g_string_free(optstr, TRUE);
        return img_usage(create_usage);
    }
    const char *filename = argv[optind];
    int ret = img_parse_create_options(optstr->str, &opts, owned);
    g_string_free(optstr, TRUE);
    if (ret < 0) {
        return 1;
    }
    if (backing) {
        opts.backing_file = backing;
    }
    if (backing_fmt) {
        opts.backing_format = backing_fmt;
    }
    bool have_size = false;
    if (optind + 1 < argc) {
        if (blk_parse_size(argv[optind + 1], &opts.size) < 0) {
            img_error("Invalid image size specified. You may use k, M, G, T, P or E suffixes "
                      "for kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
            return 1;
        }
        have_size = true;
    }
    if (opts.backing_file != NULL && strcmp(fmt, "qcow2") != 0) {
        img_error("Format '%s' does not support backing files", fmt);
        return 1;
    }
    if (opts.backing_file != NULL && (!have_size || opts.backing_format == NULL)) {
        /* The backing file gives the size and, when not named, its format. */
        g_autofree char *full = blk_resolve_backing(filename, opts.backing_file);
        BlkImage *bk = NULL;
        GError *err = NULL;
        ret = blk_open(full, opts.backing_format, BLK_OPEN_FORCE_SHARE, &bk, &err);
        if (ret < 0) {
            if (!have_size || !unsafe) {
                img_error("Could not open backing image: %s", err->message);
                g_error_free(err);
                return 1;
            }
            g_error_free(err);
        } else {
            if (!have_size) {
                opts.size = bk->size;
            }
            if (opts.backing_format == NULL) {
                char *f = g_strdup(bk->drv->name);
                g_ptr_array_add(owned, f);
                opts.backing_format = f;
            }
            blk_close(bk);
        }
    } else if (!have_size && opts.size == 0 && optind + 1 >= argc) {
        img_error("Image creation needs a size parameter");
        return 1;
    }
    if (!quiet) {
        printf("Formatting '%s', fmt=%s", filename, fmt);
        if (strcmp(fmt, "qcow2") == 0) {
            printf(" cluster_size=%u extended_l2=off compression_type=%s",
                   opts.cluster_size ? opts.cluster_size : 65536,
                   opts.compression_type == BLK_COMPRESSION_ZSTD ? "zstd" : "zlib");
        }
        printf(" size=%" PRIu64, opts.size);
        if (opts.backing_file) {
            printf(" backing_file=%s backing_fmt=%s", opts.backing_file,
                   opts.backing_format ? opts.backing_format : "");
        }
        if (strcmp(fmt, "qcow2") == 0) {
            printf(" lazy_refcounts=%s refcount_bits=%d", opts.lazy_refcounts ? "on" : "off",
                   opts.refcount_bits ? opts.refcount_bits : 16);
        }
        printf("\n");
    }
    GError *err = NULL;
    ret = blk_create(filename, fmt, &opts, &err);
    if (ret < 0) {
        img_error("%s: %s", filename, err->message);
        g_error_free(err);
        return 1;
    }
    return 0;
}

static const char resize_usage[] =
    "mimic-img resize [-q] [-f fmt] [--shrink] [-U] filename [+ | -]size";

int img_cmd_resize(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "shrink", no_argument, NULL, 's' },
        { "preallocation", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL;
    bool quiet = false, shrink = false;
    int c;
    /* A leading '-' in the size is not an option. */
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && g_ascii_isdigit(argv[i][1])) {
            argv[i][0] = '~';
        }
    }
    while ((c = getopt_long(argc, argv, "hqf:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': printf("usage: %s\n", resize_usage); return 0;
        case 'q': quiet = true; break;
        case 'f': fmt = optarg; break;
        case 's': shrink = true; break;
        case 'P': break;
        default: return img_usage(resize_usage);
        }
    }
    if (optind + 2 != argc) {
        return img_usage(resize_usage);
    }
    const char *filename = argv[optind];
    const char *size_text = argv[optind + 1];
    int sign = 0;
    if (*size_text == '+') {
        sign = 1;
        size_text++;
    } else if (*size_text == '~') {
        sign = -1;
        size_text++;
    }
    uint64_t n;
    if (blk_parse_size(size_text, &n) < 0) {
        img_error("Invalid size specified");
        return 1;
    }
    BlkImage *img;
    if (img_open(filename, fmt, BLK_OPEN_READ_WRITE | BLK_OPEN_NO_BACKING, &img) < 0) {
        return 1;
    }
    uint64_t size = sign > 0 ? img->size + n : sign < 0 ? img->size - MIN(n, img->size) : n;
    if (sign < 0 && n > img->size) {
        img_error("New image size must be positive");
        blk_close(img);
        return 1;
    }
    if (size < img->size && !shrink) {
        img_error("Use the --shrink option to perform a shrink operation.");
        blk_close(img);
        return 1;
    }
    GError *err = NULL;
    int ret = size == img->size ? 0 : blk_truncate(img, size, shrink, &err);
    if (ret == 0) {
        ret = blk_flush(img);
    }
    blk_close(img);
    if (ret < 0) {
        img_error("%s", err ? err->message : g_strerror(-ret));
        g_clear_error(&err);
        return 1;
    }
    if (!quiet) {
        printf("Image resized.\n");
    }
    return 0;
}

static uint64_t img_div_up(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

/* Refcount blocks and table clusters for `clusters` clusters, counting
 * themselves (fixed point). */
static uint64_t img_refcount_metadata(uint64_t clusters, uint64_t cs, int refcount_bits)
{
    uint64_t per_table = cs / 8, per_block = cs * 8 / (uint64_t)refcount_bits;
    uint64_t table = 0, blocks = 0, n = 0, last;
    do {
        last = n;
        blocks = img_div_up(clusters + table + blocks, per_block);
        table = img_div_up(blocks, per_table);
        n = clusters + blocks + table;
    } while (n != last);
    return (blocks + table) * cs;
}

static uint64_t img_qcow2_full_size(uint64_t size, uint64_t cs, int refcount_bits)
{
    uint64_t aligned = (size + cs - 1) / cs * cs;
    uint64_t meta = cs;
    uint64_t l2e = aligned / cs;
    l2e = (l2e + cs / 8 - 1) / (cs / 8) * (cs / 8);
    meta += l2e * 8;
    uint64_t l1e = l2e * 8 / cs;
    l1e = (l1e + cs / 8 - 1) / (cs / 8) * (cs / 8);
    meta += l1e * 8;
    meta += img_refcount_metadata((meta + aligned) / cs, cs, refcount_bits);
    return meta + aligned;
}

static const char measure_usage[] =
    "mimic-img measure [--output=human|json] [-O fmt] [-o options] [-f fmt] [-l snapshot] "
    "[--size N | filename]";

int img_cmd_measure(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "output", required_argument, NULL, 'j' },
        { "size", required_argument, NULL, 'z' },
        { NULL, 0, NULL, 0 },
    };
    const char *out_fmt = "raw", *fmt = NULL, *output = "human";
    g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
    BlkCreateOptions opts = { 0 };
    uint64_t size = 0;
    bool have_size = false;
    int c;
    while ((c = getopt_long(argc, argv, "hO:o:f:l:U", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': printf("usage: %s\n", measure_usage); return 0;
        case 'O': out_fmt = optarg; break;
        case 'o':
            if (img_parse_create_options(optarg, &opts, owned) < 0) {
                return 1;
            }
            break;
        case 'f': fmt = optarg; break;
        case 'l': case 'U': break;
        case 'j': output = optarg; break;
        case 'z':
            if (blk_parse_size(optarg, &size) < 0) {
                img_error("Invalid image size specified");
                return 1;
            }
            have_size = true;
            break;
        default: return img_usage(measure_usage);
        }
    }
    if (have_size == (optind < argc)) {
        img_error("Either --size N or one filename must be specified.");
        return 1;
    }
    uint64_t data = 0;
    if (!have_size) {
        BlkImage *img;
        if (img_open(argv[optind], fmt, BLK_OPEN_FORCE_SHARE, &img) < 0) {
            return 1;
        }
        size = img->size;
        uint64_t cs = opts.cluster_size ? opts.cluster_size : 65536, counted = UINT64_MAX;
        for (uint64_t off = 0; off < size;) {
            uint64_t pnum, host;
            int status, depth;
            if (blk_block_status_above(img, off, size - off, &pnum, &host, &status, &depth) < 0) {
                img_error("Could not read '%s'", argv[optind]);
                blk_close(img);
                return 1;
            }
            if ((status & BLK_STATUS_DATA) && !(status & BLK_STATUS_ZERO)) {
                uint64_t first = off / cs, last = (off + pnum - 1) / cs;
                if (counted != UINT64_MAX && first <= counted) {
                    first = counted + 1;
                }
                if (last >= first) {
                    data += (last - first + 1) * cs;
                }
                counted = last;
            }
            off += pnum;
        }
        blk_close(img);
        data = MIN(data, (size + cs - 1) / cs * cs);
    }
    uint64_t required, full;
    if (strcmp(out_fmt, "qcow2") == 0) {
        uint64_t cs = opts.cluster_size ? opts.cluster_size : 65536;
        int rb = opts.refcount_bits ? opts.refcount_bits : 16;
        full = img_qcow2_full_size(size, cs, rb);
        uint64_t aligned = (size + cs - 1) / cs * cs;
        required = opts.preallocation != BLK_PREALLOC_OFF &&
                   opts.preallocation != BLK_PREALLOC_METADATA ? full : full - aligned + data;
    } else if (strcmp(out_fmt, "raw") == 0) {
        full = size;
        required = have_size ? size : data;
        if (have_size) {
            required = size;
        }
    } else {
        img_error("Unknown output format '%s'", out_fmt);
        return 1;
    }
    if (strcmp(output, "json") == 0) {
        printf("{\n%s    \"required\": %" PRIu64 ",\n    \"fully-allocated\": %"
               PRIu64 "\n}\n", have_size ? "" : "    \"bitmaps\": 0,\n", required, full);
    } else {
        printf("required size: %" PRIu64 "\nfully allocated size: %" PRIu64 "\n%s", required,
               full, have_size ? "" : "bitmaps size: 0\n");
    }
    return 0;
}
