/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mimic-img commands (one function per command) and their shared helpers. */
#pragma once

#include "storage/block.h"

#include <stdio.h>

/* Exit status of each command follows qemu-img. */
int img_cmd_create(int argc, char **argv);
int img_cmd_info(int argc, char **argv);
int img_cmd_check(int argc, char **argv);
int img_cmd_convert(int argc, char **argv);
int img_cmd_snapshot(int argc, char **argv);
int img_cmd_resize(int argc, char **argv);
int img_cmd_commit(int argc, char **argv);
int img_cmd_rebase(int argc, char **argv);
int img_cmd_compare(int argc, char **argv);
int img_cmd_map(int argc, char **argv);
int img_cmd_measure(int argc, char **argv);
int img_cmd_bench(int argc, char **argv);

/* Print "mimic-img: <message>" to stderr. */
void img_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Human-readable size, qemu-img style ("64 MiB", "1.5 GiB"). */
char *img_size_to_str(uint64_t bytes);
/* Parse "-o key=value,..." into opts; strings inside stay owned by *owned. */
int img_parse_create_options(const char *text, BlkCreateOptions *opts, GPtrArray *owned);
int img_open(const char *filename, const char *format, int flags, BlkImage **img);
void img_progress(bool enabled, double done, double total);
/* Is this buffer entirely zero? */
bool img_is_zero(const void *buf, size_t length);
/* The snapshot table as qemu-img prints it. */
void img_print_snapshots(BlkSnapshotInfo *sn, int count);
/* Print usage for the command and return the exit status for a usage error. */
int img_usage(const char *usage);
