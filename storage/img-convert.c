/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mimic-img convert, commit and rebase: commands that copy guest data
 * between images. convert runs one worker per CPU (compression in parallel). */
#include "storage/img.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

typedef struct ImgConvert {
    BlkImage *src;
    const char *snapshot;
    uint64_t size;
    BlkImage *dst;
    bool compress;
    bool existing;               /* -n: the target may hold old data */
    uint64_t cluster;            /* target granularity for zero detection */
    uint64_t chunk;
    GMutex lock;
    GCond progress_cond;
    uint64_t next;
    uint64_t done;
    int running;
    int error;
    uint64_t error_offset;
} ImgConvert;

static uint64_t img_round_up(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b * b;
}

static int img_convert_read(ImgConvert *cv, uint64_t off, uint8_t *buf, uint64_t n)
{
    if (cv->snapshot) {
        return blk_snapshot_read(cv->src, cv->snapshot, off, buf, n);
    }
    return blk_read(cv->src, off, buf, n);
}

/* Copy [off, off + n) of data that is not known to be zero. */
static int img_convert_copy(ImgConvert *cv, uint64_t off, uint64_t n, uint8_t *buf)
{
    int ret = img_convert_read(cv, off, buf, n);
    if (ret < 0) {
        return ret;
    }
    uint64_t cs = cv->cluster;
    uint64_t run_start = 0, run_len = 0;
    for (uint64_t pos = 0; pos < n;) {
        uint64_t piece = MIN(cs - ((off + pos) % cs), n - pos);
        bool zero = img_is_zero(buf + pos, piece);
        if (cv->compress && !zero) {
            ret = blk_write_compressed(cv->dst, off + pos, buf + pos, piece);
            if (ret == -EINVAL) {
                ret = blk_write(cv->dst, off + pos, buf + pos, piece);
            }
        } else if (!zero) {
            if (run_len == 0) {
                run_start = pos;
            }
            run_len += piece;
        }
        if (zero && cv->existing) {
            ret = blk_write_zeroes(cv->dst, off + pos, piece);
        }
        if ((zero || pos + piece == n) && run_len > 0) {
            ret = blk_write(cv->dst, off + run_start, buf + run_start, run_len);
            run_len = 0;
        }
        if (ret < 0) {
            return ret;
        }
        pos += piece;
    }
    return 0;
}

static gpointer img_convert_worker(gpointer opaque)
{
    ImgConvert *cv = opaque;
    g_autofree uint8_t *buf = g_malloc(cv->chunk);
    for (;;) {
        g_mutex_lock(&cv->lock);
        uint64_t off = cv->next;
        cv->next += cv->chunk;
        bool stop = off >= cv->size || cv->error;
        g_mutex_unlock(&cv->lock);
        if (stop) {
            break;
        }
        uint64_t end = MIN(off + cv->chunk, cv->size);
        int ret = 0;
        /* Skip what the source knows is zero; copy the rest in whole target
         * clusters so that compressed clusters are never split. */
        uint64_t copied = off, cs = cv->cluster;
        for (uint64_t pos = off; pos < end && ret == 0;) {
            uint64_t pnum = end - pos, host;
            int status = BLK_STATUS_DATA, depth;
            if (!cv->snapshot) {
                ret = blk_block_status_above(cv->src, pos, end - pos, &pnum, &host, &status,
                                             &depth);
                if (ret < 0) {
                    break;
                }
            }
            if (status & BLK_STATUS_ZERO) {
                if (cv->existing && pos + pnum > copied) {
                    uint64_t z = MAX(pos, copied);
                    ret = blk_write_zeroes(cv->dst, z, pos + pnum - z);
                }
                pos += pnum;
                continue;
            }
            uint64_t start = MAX(pos / cs * cs, copied);
            uint64_t stop = MIN(img_round_up(pos + pnum, cs), end);
            if (stop > start) {
                ret = img_convert_copy(cv, start, stop - start, buf + (start - off));
            }
            copied = MAX(copied, stop);
            pos = MAX(pos + pnum, stop);
        }
        g_mutex_lock(&cv->lock);
        if (ret < 0 && !cv->error) {
            cv->error = ret;
            cv->error_offset = off;
        }
        cv->done += end - off;
        g_cond_signal(&cv->progress_cond);
        g_mutex_unlock(&cv->lock);
    }
    g_mutex_lock(&cv->lock);
    cv->running--;
    g_cond_signal(&cv->progress_cond);
    g_mutex_unlock(&cv->lock);
    return NULL;
}

static const char convert_usage[] =
    "mimic-img convert [-c] [-p] [-q] [-n] [-f fmt] [-O output_fmt] [-o options] "
    "[-l snapshot] [-m num_workers] [-U] filename output_filename\n"
    "  -o compression_type=zlib|zstd selects the compression of -c";

int img_cmd_convert(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *out_fmt = "raw", *snapshot = NULL;
    g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
    BlkCreateOptions opts = { 0 };
    bool compress = false, progress = false, quiet = false, existing = false;
    int flags = 0, workers = (int)MAX(1, MIN(8, sysconf(_SC_NPROCESSORS_ONLN))), c;
    while ((c = getopt_long(argc, argv, "hcpqnf:O:o:l:m:UWt:T:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': printf("usage: %s\n", convert_usage); return 0;
        case 'c': compress = true; break;
        case 'p': progress = true; break;
        case 'q': quiet = true; break;
        case 'n': existing = true; break;
        case 'f': fmt = optarg; break;
        case 'O': out_fmt = optarg; break;
        case 'o':
            if (img_parse_create_options(optarg, &opts, owned) < 0) {
                return 1;
            }
            break;
        case 'l':
            snapshot = strncmp(optarg, "snapshot.name=", 14) == 0 ? optarg + 14 :
                       strncmp(optarg, "snapshot.id=", 12) == 0 ? optarg + 12 : optarg;
            break;
        case 'm': workers = MAX(1, MIN(16, atoi(optarg))); break;
        case 'U': flags |= BLK_OPEN_FORCE_SHARE; break;
        case 'W': case 't': case 'T': break;
        default: return img_usage(convert_usage);
        }
    }
    if (optind + 2 != argc) {
        return img_usage(convert_usage);
    }
    if (quiet) {
        progress = false;
    }
    const char *src_name = argv[optind], *dst_name = argv[optind + 1];
    ImgConvert cv = { .compress = compress, .existing = existing, .snapshot = snapshot };
    int ret, result = 1;

    if (img_open(src_name, fmt, flags, &cv.src) < 0) {
        return 1;
    }
    cv.size = cv.src->size;
    if (snapshot) {
        BlkSnapshotInfo *sn;
        int count, found = -1;
        blk_snapshot_list(cv.src, &sn, &count);
        for (int i = 0; i < count; i++) {
            if (!strcmp(sn[i].id, snapshot) || (found < 0 && !strcmp(sn[i].name, snapshot))) {
                found = i;
            }
        }
        if (found >= 0) {
            cv.size = sn[found].disk_size;
        }
        blk_snapshot_list_free(sn, count);
        if (found < 0) {
            img_error("Failed to load snapshot '%s' of '%s'", snapshot, src_name);
            goto out_close_src;
        }
    }
    if (compress && strcmp(out_fmt, "qcow2") != 0) {
        img_error("Compression not supported for format '%s'", out_fmt);
        goto out_close_src;
    }
    if (!existing) {
        GError *err = NULL;
        opts.size = cv.size;
        if (blk_create(dst_name, out_fmt, &opts, &err) < 0) {
            img_error("%s: %s", dst_name, err->message);
            g_error_free(err);
            goto out_close_src;
        }
    }
    /* Like qemu-img, the target is written with cache=unsafe. */
    if (img_open(dst_name, out_fmt, BLK_OPEN_READ_WRITE | BLK_OPEN_UNSAFE | BLK_OPEN_NO_BACKING,
                 &cv.dst) < 0) {
        goto out_close_src;
    }
    BlkInfo info;
    blk_get_info(cv.dst, &info);
    cv.cluster = info.cluster_size ? info.cluster_size : 65536;
    blk_info_clear(&info);
    cv.chunk = MAX(cv.cluster, 2u << 20);
    if (cv.dst->size < cv.size) {
        img_error("Target '%s' is smaller than the source", dst_name);
        goto out_close_dst;
    }
    g_mutex_init(&cv.lock);
    g_cond_init(&cv.progress_cond);
    cv.running = workers;
    GThread **threads = g_new(GThread *, workers);
    for (int i = 0; i < workers; i++) {
        threads[i] = g_thread_new("convert", img_convert_worker, &cv);
    }
    img_progress(progress, 0, 1);
    g_mutex_lock(&cv.lock);
    while (cv.running > 0) {
        g_cond_wait(&cv.progress_cond, &cv.lock);
        img_progress(progress, (double)MIN(cv.done, cv.size), (double)MAX(cv.size, 1));
    }
    g_mutex_unlock(&cv.lock);
    for (int i = 0; i < workers; i++) {
        g_thread_join(threads[i]);
    }
    g_free(threads);
    if (progress) {
        printf("\n");
    }
    ret = cv.error;
    if (ret < 0) {
        img_error("error while converting at offset %" PRIu64 ": %s", cv.error_offset,
                  g_strerror(-ret));
    } else {
        ret = blk_flush(cv.dst);
        if (ret < 0) {
            img_error("error while flushing '%s': %s", dst_name, g_strerror(-ret));
        } else {
            result = 0;
        }
    }
    g_mutex_clear(&cv.lock);
    g_cond_clear(&cv.progress_cond);
out_close_dst:
    blk_close(cv.dst);
out_close_src:
    blk_close(cv.src);
    return result;
}

static const char commit_usage[] =
    "mimic-img commit [-q] [-f fmt] [-b base] [-d] [-p] filename";

int img_cmd_commit(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *base_name = NULL;
    bool quiet = false, drop = false, progress = false;
    int c, result = 1;
    while ((c = getopt_long(argc, argv, "hqf:b:dpt:r:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': printf("usage: %s\n", commit_usage); return 0;
        case 'q': quiet = true; break;
        case 'f': fmt = optarg; break;
        case 'b': base_name = optarg; break;
        case 'd': drop = true; break;
        case 'p': progress = true; break;
        case 't': case 'r': break;
        default: return img_usage(commit_usage);
        }
    }
    if (optind + 1 != argc) {
        return img_usage(commit_usage);
    }
    BlkImage *top, *base;
    g_autofree uint8_t *buf = NULL;
    if (img_open(argv[optind], fmt, BLK_OPEN_READ_WRITE | BLK_OPEN_NO_BACKING, &top) < 0) {
        return 1;
    }
    if (top->backing_file == NULL) {
        img_error("Image '%s' does not have a backing file", top->filename);
        blk_close(top);
        return 1;
    }
    if (base_name != NULL) {
        g_autofree char *a = realpath(base_name, NULL);
        g_autofree char *b = realpath(top->full_backing_file, NULL);
        if (a == NULL || b == NULL || strcmp(a, b) != 0) {
            img_error("'%s' is not the backing file of '%s' (only the immediate backing "
                      "file can be the base)", base_name, top->filename);
            blk_close(top);
            return 1;
        }
    }
    if (img_open(top->full_backing_file, top->backing_format, BLK_OPEN_READ_WRITE, &base) < 0) {
        blk_close(top);
        return 1;
    }
    uint64_t size = MIN(top->size, base->size);
    if (top->size > base->size) {
        GError *err = NULL;
        if (blk_truncate(base, top->size, false, &err) < 0) {
            img_error("%s", err->message);
            g_error_free(err);
            goto out_close;
        }
        size = top->size;
    }
    const size_t chunk = 2u << 20;
    buf = g_malloc(chunk);
    int ret = 0;
    for (uint64_t off = 0; off < size && ret == 0;) {
        uint64_t pnum, host;
        int status;
        ret = blk_block_status(top, off, MIN(size - off, chunk), &pnum, &host, &status);
        if (ret < 0) {
            break;
        }
        if (status & BLK_STATUS_ZERO && (status & BLK_STATUS_ALLOCATED)) {
            ret = blk_write_zeroes(base, off, pnum);
        } else if (status & BLK_STATUS_DATA) {
            ret = blk_read(top, off, buf, pnum);
            if (ret == 0) {
                ret = blk_write(base, off, buf, pnum);
            }
        }
        off += pnum;
        img_progress(progress, (double)off, (double)size);
    }
    if (ret == 0) {
        ret = blk_flush(base);
    }
    /* The base holds the data (flushed) before the top forgets it. */
    if (ret == 0 && !drop) {
        ret = blk_make_empty(top);
        if (ret == -ENOTSUP) {
            ret = 0;
        }
    }
    if (ret < 0) {
        img_error("Commit of '%s' failed: %s", top->filename, g_strerror(-ret));
    } else {
        result = 0;
        if (progress) {
            printf("\n");
        }
        if (!quiet) {
            printf("Image committed.\n");
        }
    }
out_close:
    blk_close(base);
    blk_close(top);
    return result;
}

static const char rebase_usage[] =
    "mimic-img rebase [-q] [-f fmt] [-p] [-u] [-U] -b backing_file [-F backing_fmt] filename";

int img_cmd_rebase(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *new_name = NULL, *new_fmt = NULL;
    bool quiet = false, unsafe = false, progress = false, have_b = false;
    int c, result = 1;
    while ((c = getopt_long(argc, argv, "hqf:pub:F:Ut:T:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': printf("usage: %s\n", rebase_usage); return 0;
        case 'q': quiet = true; break;
        case 'f': fmt = optarg; break;
        case 'p': progress = true; break;
        case 'u': unsafe = true; break;
        case 'b': new_name = optarg; have_b = true; break;
        case 'F': new_fmt = optarg; break;
        case 'U': case 't': case 'T': break;
        default: return img_usage(rebase_usage);
        }
    }
    if (optind + 1 != argc || !have_b) {
        return img_usage(rebase_usage);
    }
    if (new_name && *new_name == '\0') {
        new_name = NULL;
    }
    BlkImage *top, *old_bk = NULL, *new_bk = NULL;
    if (img_open(argv[optind], fmt, BLK_OPEN_READ_WRITE | BLK_OPEN_NO_BACKING, &top) < 0) {
        return 1;
    }
    GError *err = NULL;
    int ret = 0;
    if (new_name && !new_fmt) {
        g_autofree char *full = blk_resolve_backing(top->filename, new_name);
        const BlkDriver *drv;
        if (blk_probe_file(full, &drv, unsafe ? NULL : &err) == 0) {
            new_fmt = drv->name;
        } else if (!unsafe) {
            img_error("Could not open new backing file '%s': %s", full, err->message);
            g_clear_error(&err);
            goto out_close;
        }
    }
    if (!unsafe) {
        if (top->backing_file && img_open(top->full_backing_file, top->backing_format,
                                          BLK_OPEN_FORCE_SHARE, &old_bk) < 0) {
            goto out_close;
        }
        if (new_name) {
            g_autofree char *full = blk_resolve_backing(top->filename, new_name);
            if (img_open(full, new_fmt, BLK_OPEN_FORCE_SHARE, &new_bk) < 0) {
                goto out_close;
            }
        }
        /* Where the top does not decide the content and the old and new
         * backing chains differ, copy the old content into the top. */
        const size_t chunk = 1u << 20;
        g_autofree uint8_t *a = g_malloc(chunk), *b = g_malloc(chunk);
        for (uint64_t off = 0; off < top->size && ret == 0;) {
            uint64_t pnum, host;
            int status;
            ret = blk_block_status(top, off, MIN(top->size - off, chunk), &pnum, &host, &status);
            if (ret < 0) {
                break;
            }
            if (!(status & (BLK_STATUS_ALLOCATED | BLK_STATUS_DATA | BLK_STATUS_ZERO))) {
                memset(a, 0, pnum);
                memset(b, 0, pnum);
                if (old_bk && off < old_bk->size) {
                    ret = blk_read(old_bk, off, a, MIN(pnum, old_bk->size - off));
                }
                if (ret == 0 && new_bk && off < new_bk->size) {
                    ret = blk_read(new_bk, off, b, MIN(pnum, new_bk->size - off));
                }
                if (ret == 0 && memcmp(a, b, pnum) != 0) {
                    ret = blk_write(top, off, a, pnum);
                }
            }
            off += pnum;
            img_progress(progress, (double)off, (double)top->size);
        }
        if (ret == 0) {
            ret = blk_flush(top);
        }
        if (ret < 0) {
            img_error("Could not rebase '%s': %s", top->filename, g_strerror(-ret));
            goto out_close;
        }
    }
    /* Data first (flushed above), then the header names the new backing file. */
    if (blk_set_backing(top, new_name, new_name ? new_fmt : NULL, &err) < 0) {
        img_error("%s", err->message);
        g_clear_error(&err);
        goto out_close;
    }
    if (progress) {
        printf("\n");
    }
    (void)quiet;
    result = 0;
out_close:
    blk_close(new_bk);
    blk_close(old_bk);
    blk_close(top);
    return result;
}
