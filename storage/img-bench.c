/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mimic-img bench: the same request stream as qemu-img bench (count, size,
 * step, offset, flush interval), issued by a pool of worker threads. */
#include "storage/img.h"

#include <getopt.h>
#include <string.h>
#include <time.h>

typedef struct ImgBench {
    BlkImage *img;
    bool write;
    uint64_t count;
    uint64_t size;
    uint64_t step;
    uint64_t offset;
    uint64_t flush_interval;
    int pattern;
    GMutex lock;
    uint64_t issued;
    uint64_t next_offset;
    int error;
} ImgBench;

static gpointer img_bench_worker(gpointer opaque)
{
    ImgBench *b = opaque;
    g_autofree uint8_t *buf = g_malloc(b->size);
    memset(buf, b->pattern, b->size);
    for (;;) {
        g_mutex_lock(&b->lock);
        if (b->issued >= b->count || b->error) {
            g_mutex_unlock(&b->lock);
            break;
        }
        uint64_t n = ++b->issued;
        uint64_t off = b->next_offset;
        b->next_offset += b->step;
        if (b->img->size <= b->size) {
            b->next_offset = 0;
        } else {
            b->next_offset %= b->img->size - b->size;
        }
        g_mutex_unlock(&b->lock);
        int ret = b->write ? blk_write(b->img, off, buf, b->size)
                           : blk_read(b->img, off, buf, b->size);
        if (ret == 0 && b->flush_interval && n % b->flush_interval == 0) {
            ret = blk_flush(b->img);
        }
        if (ret < 0) {
            g_mutex_lock(&b->lock);
            b->error = ret;
            g_mutex_unlock(&b->lock);
        }
    }
    return NULL;
}

static const char bench_usage[] =
    "mimic-img bench [-c count] [-d depth] [-f fmt] [--flush-interval=N] [-n] "
    "[--no-drain] [-o offset] [--pattern=N] [-q] [-s buffer_size] [-S step_size] "
    "[-t cache] [-w] [-U] filename";

int img_cmd_bench(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "flush-interval", required_argument, NULL, 'F' },
        { "pattern", required_argument, NULL, 'P' },
        { "no-drain", no_argument, NULL, 'N' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    ImgBench b = { .count = 75000, .size = 4096, .pattern = 0 };
    const char *fmt = NULL, *cache = "writeback";
    bool quiet = false, step_set = false;
    int depth = 64, flags = 0, c;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "hc:d:f:no:qs:S:t:wi:U", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': printf("usage: %s\n", bench_usage); return 0;
        case 'c': b.count = g_ascii_strtoull(optarg, NULL, 10); break;
        case 'd': depth = MAX(1, atoi(optarg)); break;
        case 'f': fmt = optarg; break;
        case 'n': cache = "none"; break;
        case 'o':
            if (blk_parse_size(optarg, &b.offset) < 0) {
                return img_usage(bench_usage);
            }
            break;
        case 'q': quiet = true; break;
        case 's':
            if (blk_parse_size(optarg, &b.size) < 0 || b.size == 0) {
                return img_usage(bench_usage);
            }
            break;
        case 'S':
            if (blk_parse_size(optarg, &v) < 0) {
                return img_usage(bench_usage);
            }
            b.step = v;
            step_set = true;
            break;
        case 't': cache = optarg; break;
        case 'w': b.write = true; break;
        case 'i': break;
        case 'F': b.flush_interval = g_ascii_strtoull(optarg, NULL, 10); break;
        case 'P': b.pattern = atoi(optarg); break;
        case 'N': break;
        case 'U': flags |= BLK_OPEN_FORCE_SHARE; break;
        default: return img_usage(bench_usage);
        }
    }
    if (optind + 1 != argc) {
        return img_usage(bench_usage);
    }
    if (!step_set) {
        b.step = b.size;
    }
    if (strcmp(cache, "unsafe") == 0) {
        flags |= BLK_OPEN_UNSAFE;
    }
    if (b.write) {
        flags |= BLK_OPEN_READ_WRITE;
    }
    if (img_open(argv[optind], fmt, flags, &b.img) < 0) {
        return 1;
    }
    if (b.offset + b.size > b.img->size) {
        img_error("Offset and buffer size past the end of the image");
        blk_close(b.img);
        return 1;
    }
    b.next_offset = b.offset;
    if (!quiet) {
        printf("Sending %" PRIu64 " %s requests, %" PRIu64 " bytes each, %d in parallel "
               "(starting at offset %" PRIu64 ", step size %" PRIu64 ")\n", b.count,
               b.write ? "write" : "read", b.size, depth, b.offset, b.step);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* Requests are synchronous per worker. qcow2 serialises metadata under
     * one lock, so extra workers only add contention there; raw gets a few. */
    int workers = strcmp(b.img->drv->name, "raw") == 0 ? MIN(depth, 4) : 1;
    g_mutex_init(&b.lock);
    GThread *threads[4];
    for (int i = 0; i < workers; i++) {
        threads[i] = g_thread_new("bench", img_bench_worker, &b);
    }
    for (int i = 0; i < workers; i++) {
        g_thread_join(threads[i]);
    }
    int ret = b.error;
    if (ret == 0 && b.write) {
        ret = blk_flush(b.img);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    g_mutex_clear(&b.lock);
    blk_close(b.img);
    if (ret < 0) {
        img_error("Failed request: %s", g_strerror(-ret));
        return 1;
    }
    if (!quiet) {
        printf("Run completed in %.3f seconds.\n",
               (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    }
    return 0;
}
