/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mimic-img check (qemu-img's output and exit codes) and snapshot. */
#include "storage/img.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

static const char check_usage[] =
    "mimic-img check [-q] [-f fmt] [--output=human|json] [-r leaks|all] [-U] filename";

static void img_check_print_json(const char *filename, const char *format,
                                 const BlkCheckResult *r)
{
    printf("{\n");
    if (r->image_end_offset) {
        printf("    \"image-end-offset\": %" PRIu64 ",\n", r->image_end_offset);
    }
    if (r->total_clusters) {
        printf("    \"total-clusters\": %" PRIu64 ",\n", r->total_clusters);
    }
    printf("    \"check-errors\": %d,\n", r->check_errors);
    if (r->leaks) {
        printf("    \"leaks\": %d,\n", r->leaks);
    }
    if (r->corruptions) {
        printf("    \"corruptions\": %d,\n", r->corruptions);
    }
    if (r->leaks_fixed) {
        printf("    \"leaks-fixed\": %d,\n", r->leaks_fixed);
    }
    if (r->corruptions_fixed) {
        printf("    \"corruptions-fixed\": %d,\n", r->corruptions_fixed);
    }
    if (r->total_clusters) {
        printf("    \"allocated-clusters\": %" PRIu64 ",\n", r->allocated_clusters);
        printf("    \"fragmented-clusters\": %" PRIu64 ",\n", r->fragmented_clusters);
        printf("    \"compressed-clusters\": %" PRIu64 ",\n", r->compressed_clusters);
    }
    g_autofree char *fn = g_strescape(filename, NULL);
    printf("    \"filename\": \"%s\",\n    \"format\": \"%s\"\n}\n", fn, format);
}

static void img_check_print_human(const BlkCheckResult *r, int fix)
{
    if (r->leaks_fixed || r->corruptions_fixed) {
        printf("The following inconsistencies were found and repaired:\n\n"
               "    %d leaked clusters\n    %d corruptions\n\n"
               "Double checking the fixed image now...\n", r->leaks_fixed, r->corruptions_fixed);
    }
    if (r->corruptions == 0 && r->leaks == 0 && r->check_errors == 0) {
        printf("No errors were found on the image.\n");
    } else {
        if (r->corruptions) {
            printf("\n%d errors were found on the image.\nData may be corrupted, or further "
                   "writes to the image may corrupt it.\n", r->corruptions);
        }
        if (r->leaks) {
            printf("\n%d leaked clusters were found on the image.\nThis means waste of disk "
                   "space, but no harm to data.\n", r->leaks);
        }
        if (r->check_errors) {
            printf("\n%d internal errors have occurred during the check.\n", r->check_errors);
        }
    }
    if (r->total_clusters && r->allocated_clusters) {
        printf("%" PRIu64 "/%" PRIu64 " = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% "
               "compressed clusters\n", r->allocated_clusters, r->total_clusters,
               r->allocated_clusters * 100.0 / r->total_clusters,
               r->fragmented_clusters * 100.0 / r->allocated_clusters,
               r->compressed_clusters * 100.0 / r->allocated_clusters);
    }
    if (r->image_end_offset) {
        printf("Image end offset: %" PRIu64 "\n", r->image_end_offset);
    }
    (void)fix;
}

int img_cmd_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "output", required_argument, NULL, 'j' },
        { "repair", required_argument, NULL, 'r' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *output = "human";
    bool quiet = false;
    int fix = 0, flags = BLK_OPEN_NO_BACKING | BLK_OPEN_CHECK, c;
    while ((c = getopt_long(argc, argv, "hf:r:qU", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': printf("usage: %s\n", check_usage); return 0;
        case 'f': fmt = optarg; break;
        case 'j': output = optarg; break;
        case 'q': quiet = true; break;
        case 'U': flags |= BLK_OPEN_FORCE_SHARE; break;
        case 'r':
            if (!strcmp(optarg, "leaks")) {
                fix = BLK_FIX_LEAKS;
            } else if (!strcmp(optarg, "all")) {
                fix = BLK_FIX_LEAKS | BLK_FIX_ERRORS;
            } else {
                img_error("Unknown option value for -r (expecting 'leaks' or 'all'): %s",
                          optarg);
                return 1;
            }
            break;
        default: return img_usage(check_usage);
        }
    }
    if (optind + 1 != argc) {
        return img_usage(check_usage);
    }
    if (fix) {
        flags |= BLK_OPEN_READ_WRITE;
    }
    BlkImage *img;
    if (img_open(argv[optind], fmt, flags, &img) < 0) {
        return 1;
    }
    BlkCheckResult r;
    int ret = blk_check(img, &r, fix);
    if (ret == -ENOTSUP) {
        img_error("This image format does not support checks");
        blk_close(img);
        return 63;
    }
    if (!quiet) {
        if (strcmp(output, "json") == 0) {
            img_check_print_json(argv[optind], img->drv->name, &r);
        } else {
            img_check_print_human(&r, fix);
        }
    }
    blk_close(img);
    if (ret < 0 || r.check_errors) {
        return 1;
    }
    if (r.corruptions) {
        return 2;
    }
    if (r.leaks) {
        return 3;
    }
    return 0;
}

static const char snapshot_usage[] =
    "mimic-img snapshot [-q] [-f fmt] [-l | -a snapshot | -c snapshot | -d snapshot] [-U] "
    "filename";

int img_cmd_snapshot(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *name = NULL;
    char action = 0;
    bool quiet = false;
    int flags = 0, c;
    while ((c = getopt_long(argc, argv, "hf:la:c:d:qU", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': printf("usage: %s\n", snapshot_usage); return 0;
        case 'f': fmt = optarg; break;
        case 'q': quiet = true; break;
        case 'U': flags |= BLK_OPEN_FORCE_SHARE; break;
        case 'l': case 'a': case 'c': case 'd':
            if (action) {
                return img_usage(snapshot_usage);
            }
            action = (char)c;
            name = optarg;
            break;
        default: return img_usage(snapshot_usage);
        }
    }
    if (optind + 1 != argc || !action) {
        return img_usage(snapshot_usage);
    }
    if (action != 'l') {
        flags |= BLK_OPEN_READ_WRITE;
    }
    BlkImage *img;
    if (img_open(argv[optind], fmt, flags | BLK_OPEN_NO_BACKING, &img) < 0) {
        return 1;
    }
    GError *err = NULL;
    int ret = 0;
    switch (action) {
    case 'l': {
        BlkSnapshotInfo *sn;
        int count;
        blk_snapshot_list(img, &sn, &count);
        if (!quiet && count > 0) {
            printf("Snapshot list:\n");
            img_print_snapshots(sn, count);
        }
        blk_snapshot_list_free(sn, count);
        break;
    }
    case 'c':
        ret = blk_snapshot_create(img, name, 0, 0, UINT64_MAX, &err);
        break;
    case 'a':
        ret = blk_snapshot_apply(img, name, &err);
        break;
    case 'd':
        ret = blk_snapshot_delete(img, name, &err);
        break;
    }
    if (ret == 0) {
        ret = blk_flush(img);
    }
    blk_close(img);
    if (ret < 0) {
        img_error("%s", err ? err->message : g_strerror(-ret));
        g_clear_error(&err);
        return 1;
    }
    return 0;
}
