/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mimic-img: the disk image tool (qemu-img compatible commands); this file
 * only dispatches to the commands in storage/img-*.c. */
#include "storage/img.h"

#include <stdio.h>
#include <string.h>

typedef struct ImgCommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} ImgCommand;

static const ImgCommand img_commands[] = {
    { "bench", img_cmd_bench, "run a simple image benchmark" },
    { "check", img_cmd_check, "check an image for consistency, optionally repair it" },
    { "commit", img_cmd_commit, "commit an overlay into its backing file" },
    { "compare", img_cmd_compare, "compare the contents of two images" },
    { "convert", img_cmd_convert, "convert an image to another format" },
    { "create", img_cmd_create, "create a new image" },
    { "info", img_cmd_info, "show information about an image" },
    { "map", img_cmd_map, "show how guest data maps to the image file" },
    { "measure", img_cmd_measure, "compute the size an image needs" },
    { "rebase", img_cmd_rebase, "change the backing file of an image" },
    { "resize", img_cmd_resize, "change the virtual size of an image" },
    { "snapshot", img_cmd_snapshot, "list, create, apply or delete internal snapshots" },
};

static void img_print_help(FILE *out)
{
    fprintf(out, "usage: mimic-img [--help | --version] command [command options]\n\n"
                 "Commands (each accepts --help):\n");
    for (size_t i = 0; i < G_N_ELEMENTS(img_commands); i++) {
        fprintf(out, "  %-10s %s\n", img_commands[i].name, img_commands[i].summary);
    }
    fprintf(out, "\nSizes accept the suffixes k, M, G, T, P and E (powers of 1024).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        img_print_help(stderr);
        return 1;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        img_print_help(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("mimic-img 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(img_commands); i++) {
        if (!strcmp(argv[1], img_commands[i].name)) {
            return img_commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "mimic-img: unknown command '%s'\n", argv[1]);
    img_print_help(stderr);
    return 1;
}
