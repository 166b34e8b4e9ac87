/* SPDX-License-Identifier: GPL-2.0-or-later */
/* blk-io: a small qemu-io-like driver of the Mimic block layer for the
 * storage tests (pattern writes/reads, discard, snapshots, VM state), plus the
 * crash-test writer that logs every operation before issuing it. */
#include "storage/block.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int run_command(BlkImage *img, const char *line)
{
    g_auto(GStrv) argv = NULL;
    int argc;
    if (!g_shell_parse_argv(line, &argc, &argv, NULL)) {
        fprintf(stderr, "blk-io: cannot parse '%s'\n", line);
        return 1;
    }
    const char *cmd = argv[0];
    int pattern = 0, i = 1;
    bool compressed = false;
    const char *snap = NULL;
    while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0' && !g_ascii_isdigit(argv[i][1])) {
        if (!strcmp(argv[i], "-P") && i + 1 < argc) {
            pattern = (int)strtol(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "-c")) {
            compressed = true;
        } else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
            snap = argv[++i];
        }
        i++;
    }
    uint64_t off = 0, len = 0;
    if (i < argc) {
        blk_parse_size(argv[i], &off);
    }
    if (i + 1 < argc) {
        blk_parse_size(argv[i + 1], &len);
    }
    GError *err = NULL;
    int ret = 0;
    g_autofree uint8_t *buf = len ? g_malloc(len) : NULL;
    if (!strcmp(cmd, "write") || !strcmp(cmd, "vmstate-write")) {
        memset(buf, pattern, len);
        if (!strcmp(cmd, "vmstate-write")) {
            ret = blk_vmstate_write(img, off, buf, len);
        } else if (compressed) {
            ret = blk_write_compressed(img, off, buf, len);
        } else {
            ret = blk_write(img, off, buf, len);
        }
    } else if (!strcmp(cmd, "read") || !strcmp(cmd, "vmstate-read")) {
        if (!strcmp(cmd, "vmstate-read")) {
            ret = blk_vmstate_read(img, snap, off, buf, len);
        } else if (snap) {
            ret = blk_snapshot_read(img, snap, off, buf, len);
        } else {
            ret = blk_read(img, off, buf, len);
        }
        for (uint64_t j = 0; ret == 0 && j < len; j++) {
            if (buf[j] != (uint8_t)pattern) {
                fprintf(stderr, "blk-io: pattern mismatch at offset %" PRIu64 ": %#x != %#x\n",
                        off + j, buf[j], pattern);
                return 1;
            }
        }
    } else if (!strcmp(cmd, "discard")) {
        ret = blk_discard(img, off, len);
    } else if (!strcmp(cmd, "zero")) {
        ret = blk_write_zeroes(img, off, len);
    } else if (!strcmp(cmd, "sleep")) {
        g_usleep((gulong)(off * 1000));
    } else if (!strcmp(cmd, "flush")) {
        ret = blk_flush(img);
    } else if (!strcmp(cmd, "snapshot-create")) {
        ret = blk_snapshot_create(img, argv[1], argc > 2 ? strtoull(argv[2], NULL, 0) : 0,
                                  0, UINT64_MAX, &err);
    } else if (!strcmp(cmd, "snapshot-apply")) {
        ret = blk_snapshot_apply(img, argv[1], &err);
    } else if (!strcmp(cmd, "snapshot-delete")) {
        ret = blk_snapshot_delete(img, argv[1], &err);
    } else {
        fprintf(stderr, "blk-io: unknown command '%s'\n", cmd);
        return 1;
    }
    if (ret < 0) {
        fprintf(stderr, "blk-io: %s failed: %s\n", line, err ? err->message : g_strerror(-ret));
        g_clear_error(&err);
        return 1;
    }
    return 0;
}

static void log_line(int fd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void log_line(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (write(fd, s, strlen(s)) < 0) {
        abort();
    }
}

/* Random writes, discards, zeroes, flushes and snapshot operations until
 * killed. Every operation is logged before it is issued, "F" after a flush. */
static int crash_writer(BlkImage *img, uint32_t seed, const char *logfile, uint64_t blocks,
                        uint64_t bs)
{
    int log = open(logfile, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (log < 0) {
        return 1;
    }
    GRand *r = g_rand_new_with_seed(seed);
    g_autofree uint64_t *buf = g_malloc(bs);
    log_line(log, "S\n");   /* a new run: earlier unflushed intents may not have happened */
    uint64_t gen = (uint64_t)seed * 1000000;
    for (uint64_t n = 0;; n++) {
        int op = g_rand_int_range(r, 0, 1000);
        uint64_t b = (uint64_t)g_rand_int_range(r, 0, (gint32)blocks);
        int ret = 0;
        GError *err = NULL;
        if (op < 600) {
            gen++;
            for (uint64_t i = 0; i < bs / 8; i += 2) {
                buf[i] = b;
                buf[i + 1] = gen;
            }
            log_line(log, "W %" PRIu64 " %" PRIu64 "\n", b, gen);
            ret = blk_write(img, b * bs, buf, bs);
        } else if (op < 750) {
            uint64_t count = (uint64_t)g_rand_int_range(r, 1, 64);
            count = MIN(count, blocks - b);
            /* Discard may leave data in place; zeroing may not. */
            for (uint64_t i = 0; i < count; i++) {
                log_line(log, "%c %" PRIu64 "\n", op < 700 ? 'X' : 'Z', b + i);
            }
            ret = op < 700 ? blk_discard(img, b * bs, count * bs)
                           : blk_write_zeroes(img, b * bs, count * bs);
        } else if (op < 950) {
            ret = blk_flush(img);
            log_line(log, "F\n");
        } else if (op < 980) {
            g_autofree char *name = g_strdup_printf("c%u-%" PRIu64, seed, n);
            ret = blk_snapshot_create(img, name, 0, 0, UINT64_MAX, &err);
            if (ret == -ERANGE) {
                ret = 0;   /* refcounts too narrow for another snapshot: refused */
                g_clear_error(&err);
            }
        } else {
            BlkSnapshotInfo *sn;
            int count;
            blk_snapshot_list(img, &sn, &count);
            if (count > 0) {
                ret = blk_snapshot_delete(img, sn[0].id, &err);
            }
            blk_snapshot_list_free(sn, count);
        }
        if (ret < 0) {
            fprintf(stderr, "crash-writer: operation failed: %s\n",
                    err ? err->message : g_strerror(-ret));
            return 1;
        }
    }
}

int main(int argc, char **argv)
{
    const char *fmt = NULL;
    int flags = BLK_OPEN_READ_WRITE, i = 1;
    GPtrArray *cmds = g_ptr_array_new();
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "-f") && i + 1 < argc) {
            fmt = argv[++i];
        } else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
            g_ptr_array_add(cmds, argv[++i]);
        } else if (!strcmp(argv[i], "-r")) {
            flags &= ~BLK_OPEN_READ_WRITE;
        } else if (!strcmp(argv[i], "-U")) {
            flags |= BLK_OPEN_FORCE_SHARE;
        } else {
            break;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "usage: blk-io [-f fmt] [-r] [-U] [-c command]... image\n"
                        "       blk-io image crash-writer seed logfile blocks block_size\n");
        return 1;
    }
    const char *filename = argv[i];
    BlkImage *img;
    GError *err = NULL;
    if (blk_open(filename, fmt, flags, &img, &err) < 0) {
        fprintf(stderr, "blk-io: %s\n", err->message);
        g_error_free(err);
        return 1;
    }
    int result = 0;
    if (i + 5 < argc + 0 && !strcmp(argv[i + 1], "crash-writer")) {
        result = crash_writer(img, (uint32_t)atoi(argv[i + 2]), argv[i + 3],
                              strtoull(argv[i + 4], NULL, 0), strtoull(argv[i + 5], NULL, 0));
    }
    for (guint c = 0; c < cmds->len && result == 0; c++) {
        result = run_command(img, g_ptr_array_index(cmds, c));
    }
    blk_close(img);
    g_ptr_array_free(cmds, TRUE);
    return result;
}
