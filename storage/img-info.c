/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mimic-img info, map and compare: commands that only read images. Field
 * names of --output=json follow qemu-img. */
#include "storage/img.h"

#include <getopt.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <time.h>

static void img_print_json(JsonBuilder *b)
{
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    json_generator_set_pretty(gen, TRUE);
    json_generator_set_indent(gen, 4);
    json_generator_set_root(gen, root);
    g_autofree char *text = json_generator_to_data(gen, NULL);
    printf("%s\n", text);
}

static void img_json_snapshots(JsonBuilder *b, BlkSnapshotInfo *sn, int count)
{
    json_builder_set_member_name(b, "snapshots");
    json_builder_begin_array(b);
    for (int i = 0; i < count; i++) {
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "icount");
        json_builder_add_int_value(b, sn[i].icount == UINT64_MAX ? 0 : (gint64)sn[i].icount);
        json_builder_set_member_name(b, "vm-clock-nsec");
        json_builder_add_int_value(b, (gint64)(sn[i].vm_clock_nsec % 1000000000));
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, sn[i].name);
        json_builder_set_member_name(b, "date-sec");
        json_builder_add_int_value(b, sn[i].date_sec);
        json_builder_set_member_name(b, "date-nsec");
        json_builder_add_int_value(b, sn[i].date_nsec);
        json_builder_set_member_name(b, "vm-clock-sec");
        json_builder_add_int_value(b, (gint64)(sn[i].vm_clock_nsec / 1000000000));
        json_builder_set_member_name(b, "id");
        json_builder_add_string_value(b, sn[i].id);
        json_builder_set_member_name(b, "vm-state-size");
        json_builder_add_int_value(b, (gint64)sn[i].vm_state_size);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}

static void img_info_json(JsonBuilder *b, BlkImage *img, const BlkInfo *info,
                          BlkSnapshotInfo *sn, int count)
{
    json_builder_begin_object(b);
    if (info->backing_format) {
        json_builder_set_member_name(b, "backing-filename-format");
        json_builder_add_string_value(b, info->backing_format);
    }
    if (count > 0) {
        img_json_snapshots(b, sn, count);
    }
    json_builder_set_member_name(b, "virtual-size");
    json_builder_add_int_value(b, (gint64)info->virtual_size);
    json_builder_set_member_name(b, "filename");
    json_builder_add_string_value(b, img->filename);
    if (info->cluster_size) {
        json_builder_set_member_name(b, "cluster-size");
        json_builder_add_int_value(b, info->cluster_size);
    }
    json_builder_set_member_name(b, "format");
    json_builder_add_string_value(b, info->format);
    json_builder_set_member_name(b, "actual-size");
    json_builder_add_int_value(b, (gint64)info->actual_size);
    if (strcmp(info->format, "qcow2") == 0) {
        json_builder_set_member_name(b, "format-specific");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "type");
        json_builder_add_string_value(b, "qcow2");
        json_builder_set_member_name(b, "data");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "compat");
        json_builder_add_string_value(b, info->version >= 3 ? "1.1" : "0.10");
        if (info->version >= 3) {
            json_builder_set_member_name(b, "compression-type");
            json_builder_add_string_value(b, info->compression_type ? "zstd" : "zlib");
            json_builder_set_member_name(b, "lazy-refcounts");
            json_builder_add_boolean_value(b, info->lazy_refcounts);
        }
        json_builder_set_member_name(b, "refcount-bits");
        json_builder_add_int_value(b, info->refcount_bits);
        json_builder_set_member_name(b, "corrupt");
        json_builder_add_boolean_value(b, info->corrupt);
        json_builder_set_member_name(b, "extended-l2");
        json_builder_add_boolean_value(b, info->extended_l2);
        json_builder_end_object(b);
        json_builder_end_object(b);
    }
    if (info->backing_file) {
        json_builder_set_member_name(b, "full-backing-filename");
        json_builder_add_string_value(b, info->full_backing_file);
        json_builder_set_member_name(b, "backing-filename");
        json_builder_add_string_value(b, info->backing_file);
    }
    json_builder_set_member_name(b, "dirty-flag");
    json_builder_add_boolean_value(b, info->dirty);
    json_builder_end_object(b);
}

void img_print_snapshots(BlkSnapshotInfo *sn, int count)
{
    printf("%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
    for (int i = 0; i < count; i++) {
        g_autofree char *vm = img_size_to_str(sn[i].vm_state_size);
        char date[32];
        time_t t = sn[i].date_sec;
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
        uint64_t ms = sn[i].vm_clock_nsec / 1000000;
        char clock[32];
        snprintf(clock, sizeof(clock), "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ".%03" PRIu64,
                 ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
        char icount[24] = "";
        if (sn[i].icount != UINT64_MAX) {
            snprintf(icount, sizeof(icount), "%" PRIu64, sn[i].icount);
        }
        printf("%-9s %-16s %8s%20s%13s%11s\n", sn[i].id, sn[i].name, vm, date, clock, icount);
    }
}

static void img_info_human(BlkImage *img, const BlkInfo *info, BlkSnapshotInfo *sn, int count)
{
    g_autofree char *vsize = img_size_to_str(info->virtual_size);
    g_autofree char *dsize = img_size_to_str(info->actual_size);
    printf("image: %s\nfile format: %s\nvirtual size: %s (%" PRIu64 " bytes)\ndisk size: %s\n",
           img->filename, info->format, vsize, info->virtual_size, dsize);
    if (info->cluster_size) {
        printf("cluster_size: %u\n", info->cluster_size);
    }
    if (info->backing_file) {
        printf("backing file: %s", info->backing_file);
        if (strcmp(info->backing_file, info->full_backing_file) != 0) {
            printf(" (actual path: %s)", info->full_backing_file);
        }
        printf("\n");
        if (info->backing_format) {
            printf("backing file format: %s\n", info->backing_format);
        }
    }
    if (count > 0) {
        printf("Snapshot list:\n");
        img_print_snapshots(sn, count);
    }
    if (strcmp(info->format, "qcow2") == 0) {
        printf("Format specific information:\n    compat: %s\n",
               info->version >= 3 ? "1.1" : "0.10");
        if (info->version >= 3) {
            printf("    compression type: %s\n    lazy refcounts: %s\n",
                   info->compression_type ? "zstd" : "zlib",
                   info->lazy_refcounts ? "true" : "false");
        }
        printf("    refcount bits: %d\n    corrupt: %s\n    extended l2: false\n",
               info->refcount_bits, info->corrupt ? "true" : "false");
    }
}

static const char info_usage[] =
    "mimic-img info [-f fmt] [--output=human|json] [--backing-chain] [-U] filename";

int img_cmd_info(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "output", required_argument, NULL, 'j' },
        { "backing-chain", no_argument, NULL, 'c' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *output = "human";
    bool chain = false;
    int flags = 0, c;
    while ((c = getopt_long(argc, argv, "hf:U", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': printf("usage: %s\n", info_usage); return 0;
        case 'f': fmt = optarg; break;
        case 'j': output = optarg; break;
        case 'c': chain = true; break;
        case 'U': flags |= BLK_OPEN_FORCE_SHARE; break;
        default: return img_usage(info_usage);
        }
    }
    if (optind + 1 != argc || (strcmp(output, "json") && strcmp(output, "human"))) {
        return img_usage(info_usage);
    }
    BlkImage *top;
    if (img_open(argv[optind], fmt, flags | (chain ? 0 : BLK_OPEN_NO_BACKING), &top) < 0) {
        return 1;
    }
    bool json = strcmp(output, "json") == 0;
    g_autoptr(JsonBuilder) b = json_builder_new();
    if (json && chain) {
        json_builder_begin_array(b);
    }
    for (BlkImage *img = top; img != NULL; img = chain ? img->backing : NULL) {
        BlkInfo info;
        BlkSnapshotInfo *sn;
        int count;
        blk_get_info(img, &info);
        blk_snapshot_list(img, &sn, &count);
        if (json) {
            img_info_json(b, img, &info, sn, count);
        } else {
            if (img != top) {
                printf("\n");
            }
            img_info_human(img, &info, sn, count);
        }
        blk_snapshot_list_free(sn, count);
        blk_info_clear(&info);
    }
    if (json) {
        if (chain) {
            json_builder_end_array(b);
        }
        img_print_json(b);
    }
    blk_close(top);
    return 0;
}

static const char map_usage[] =
    "mimic-img map [-f fmt] [--output=human|json] [--start-offset=N] [--max-length=N] [-U] "
    "filename";

int img_cmd_map(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "output", required_argument, NULL, 'j' },
        { "start-offset", required_argument, NULL, 's' },
        { "max-length", required_argument, NULL, 'l' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *output = "human";
    uint64_t start = 0, max_length = UINT64_MAX;
    int flags = 0, c;
    while ((c = getopt_long(argc, argv, "hf:U", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': printf("usage: %s\n", map_usage); return 0;
        case 'f': fmt = optarg; break;
        case 'j': output = optarg; break;
        case 's': if (blk_parse_size(optarg, &start) < 0) return img_usage(map_usage); break;
        case 'l': if (blk_parse_size(optarg, &max_length) < 0) return img_usage(map_usage); break;
        case 'U': flags |= BLK_OPEN_FORCE_SHARE; break;
        default: return img_usage(map_usage);
        }
    }
    if (optind + 1 != argc) {
        return img_usage(map_usage);
    }
    BlkImage *img;
    if (img_open(argv[optind], fmt, flags, &img) < 0) {
        return 1;
    }
    bool json = strcmp(output, "json") == 0;
    uint64_t end = MIN(img->size, start + MIN(max_length, img->size));
    if (json) {
        printf("[");
    } else {
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
    }
    /* Merge neighbouring extents that look the same. */
    uint64_t cur_start = start, cur_len = 0, cur_host = 0;
    int cur_status = -1, cur_depth = 0;
    bool first = true;
    int ret = 0;
    for (uint64_t off = start; off <= end; ) {
        uint64_t pnum = 0, host = 0;
        int status = 0, depth = 0;
        if (off < end) {
            ret = blk_block_status_above(img, off, end - off, &pnum, &host, &status, &depth);
            if (ret < 0) {
                img_error("Could not read '%s': %s", img->filename, g_strerror(-ret));
                break;
            }
            status &= ~BLK_STATUS_COMPRESSED;
        }
        bool same = off < end && status == cur_status && depth == cur_depth &&
                    (!(status & BLK_STATUS_OFFSET) || host == cur_host + cur_len);
        if (!same && cur_status >= 0) {
            BlkImage *layer = img;
            for (int d = 0; d < cur_depth && layer->backing; d++) {
                layer = layer->backing;
            }
            bool present = (cur_status & (BLK_STATUS_ALLOCATED | BLK_STATUS_DATA)) != 0;
            if (json) {
                printf("%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %d, "
                       "\"present\": %s, \"zero\": %s, \"data\": %s",
                       first ? "" : ",\n", cur_start, cur_len, cur_depth,
                       present ? "true" : "false",
                       (cur_status & BLK_STATUS_ZERO) ? "true" : "false",
                       (cur_status & BLK_STATUS_DATA) ? "true" : "false");
                if (cur_status & BLK_STATUS_OFFSET) {
                    printf(", \"offset\": %" PRIu64, cur_host);
                }
                printf("}");
                first = false;
            } else if ((cur_status & BLK_STATUS_DATA) && (cur_status & BLK_STATUS_OFFSET)) {
                printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", cur_start, cur_len,
                       cur_host, layer->filename);
            }
            cur_status = -1;
        }
        if (off >= end) {
            break;
        }
        if (cur_status < 0) {
            cur_start = off;
            cur_len = 0;
            cur_host = host;
            cur_status = status;
            cur_depth = depth;
        }
        cur_len += pnum;
        off += pnum;
    }
    if (json) {
        printf("]\n");
    }
    blk_close(img);
    return ret < 0 ? 1 : 0;
}

static const char compare_usage[] =
    "mimic-img compare [-f fmt] [-F fmt] [-p] [-q] [-s] [-U] filename1 filename2";

int img_cmd_compare(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt1 = NULL, *fmt2 = NULL;
    bool quiet = false, strict = false, progress = false;
    int flags = 0, c;
    while ((c = getopt_long(argc, argv, "hf:F:pqsU", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': printf("usage: %s\n", compare_usage); return 0;
        case 'f': fmt1 = optarg; break;
        case 'F': fmt2 = optarg; break;
        case 'p': progress = true; break;
        case 'q': quiet = true; break;
        case 's': strict = true; break;
        case 'U': flags |= BLK_OPEN_FORCE_SHARE; break;
        default: fprintf(stderr, "usage: %s\n", compare_usage); return 2;
        }
    }
    if (optind + 2 != argc) {
        fprintf(stderr, "usage: %s\n", compare_usage);
        return 2;
    }
    BlkImage *a, *b;
    if (img_open(argv[optind], fmt1, flags, &a) < 0) {
        return 2;
    }
    if (img_open(argv[optind + 1], fmt2, flags, &b) < 0) {
        blk_close(a);
        return 2;
    }
    if (strict && a->size != b->size) {
        if (!quiet) {
            printf("Strict mode: Image size mismatch!\n");
        }
        blk_close(a);
        blk_close(b);
        return 1;
    }
    const size_t chunk = 1 << 20;
    g_autofree uint8_t *ba = g_malloc(chunk), *bb = g_malloc(chunk);
    uint64_t common = MIN(a->size, b->size), total = MAX(a->size, b->size);
    int result = 0;
    for (uint64_t off = 0; off < total && result == 0; off += chunk) {
        size_t n = (size_t)MIN(chunk, total - off);
        size_t na = off < a->size ? (size_t)MIN(n, a->size - off) : 0;
        size_t nb = off < b->size ? (size_t)MIN(n, b->size - off) : 0;
        memset(ba, 0, n);
        memset(bb, 0, n);
        if ((na && blk_read(a, off, ba, na) < 0) || (nb && blk_read(b, off, bb, nb) < 0)) {
            img_error("Error while reading offset %" PRIu64, off);
            result = 2;
            break;
        }
        if (memcmp(ba, bb, n) != 0) {
            size_t i = 0;
            while (ba[i] == bb[i]) {
                i++;
            }
            if (!quiet) {
                if (off + i >= common) {
                    printf("Content mismatch at offset %" PRIu64 "!\n", off + i);
                } else {
                    printf("Content mismatch at offset %" PRIu64 "!\n", off + i);
                }
            }
            result = 1;
        }
        img_progress(progress, (double)off + n, (double)total);
    }
    if (result == 0 && !quiet) {
        printf("Images are identical.\n");
    }
    blk_close(a);
    blk_close(b);
    return result;
}
