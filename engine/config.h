/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a VM is made of: the configuration a front end hands the engine. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* -device loader: raw bytes of a file, or a value, placed at an address. */
struct vm_loader {
    char *file;             /* NULL for data= */
    uint64_t addr;
    uint64_t data;
    unsigned data_length;   /* 1, 2, 4 or 8 with data= */
};

enum vm_drive_interface {
    VM_DRIVE_IDE,
    VM_DRIVE_VIRTIO,
};

enum vm_drive_media {
    VM_DRIVE_DISK,
    VM_DRIVE_CDROM,
};

/* -drive, -hda..-hdd, -cdrom. */
struct vm_drive {
    char *file;             /* NULL: an empty CD-ROM drive */
    char *format;           /* NULL: probe */
    enum vm_drive_interface interface;
    enum vm_drive_media media;
    int index;              /* IDE: 0-3 (channel * 2 + unit); -1: next free */
    bool read_only;
    bool snapshot;          /* writes go to a temporary overlay */
};

struct vm_config {
    char *machine;          /* "pc" */
    char *accel;            /* "kvm", "jit", or "auto": KVM when usable, else the JIT */
    uint64_t ram_size;      /* bytes */
    unsigned smp;
    char *bios;             /* firmware file; NULL: the machine's default */
    GPtrArray *loaders;     /* struct vm_loader * */
    GPtrArray *serials;     /* chardev specs (char *), COM1 first */
    char *debugcon;         /* chardev spec for port 0x402, or NULL */
    bool no_reboot;         /* a guest reset ends the VM instead */
    bool debug_exit;        /* isa-debug-exit at debug_exit_port */
    uint16_t debug_exit_port;
    GPtrArray *drives;      /* struct vm_drive * */
    char *boot_order;       /* SeaBIOS order: "c" disk, "d" CD-ROM, "n" net */
    bool boot_menu;
    char *kernel;           /* direct Linux boot */
    char *initrd;
    char *append;
    char *vga;              /* "std" or "none" */
    bool snapshot;          /* -snapshot: every disk writes to an overlay */
};

struct vm_config *vm_config_new(void);
void vm_config_free(struct vm_config *config);


/*
 * Parse a size the way QEMU does for -m: a number with an optional suffix
 * (B, K, M, G, T; without a suffix @default_unit applies). Returns false on
 * malformed or overflowing input.
 */
bool vm_parse_size(const char *text, uint64_t default_unit, uint64_t *out);
