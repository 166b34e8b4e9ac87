/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Block layer public API: open images through a driver ops table (raw, qcow2),
 * read/write/flush/discard, snapshots, VM-state area, image creation and checks. */
#pragma once

#include <glib.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct BlkImage BlkImage;
typedef struct BlkDriver BlkDriver;

#define BLK_ERROR (blk_error_quark())
GQuark blk_error_quark(void);

/* Flags for blk_open(). */
enum {
    BLK_OPEN_READ_WRITE  = 1 << 0,
    BLK_OPEN_NO_BACKING  = 1 << 1, /* do not open the backing chain */
    BLK_OPEN_FORCE_SHARE = 1 << 2, /* take no locks (qemu-img -U) */
    BLK_OPEN_CHECK       = 1 << 3, /* opened for check/repair: tolerate dirty/corrupt */
    BLK_OPEN_UNSAFE      = 1 << 4, /* never fdatasync (cache=unsafe) */
    BLK_OPEN_NO_REPAIR   = 1 << 5, /* do not repair a dirty image on open */
    BLK_OPEN_PROBED_RAW  = 1 << 30, /* set by blk_open(): raw was guessed, guard sector 0 */
};

/* Result of blk_block_status(). */
enum {
    BLK_STATUS_DATA       = 1 << 0, /* reads from this layer's data */
    BLK_STATUS_ZERO       = 1 << 1, /* reads as zeros */
    BLK_STATUS_ALLOCATED  = 1 << 2, /* decided in this layer (not the backing file) */
    BLK_STATUS_OFFSET     = 1 << 3, /* *host_offset is valid */
    BLK_STATUS_COMPRESSED = 1 << 4,
};

enum { BLK_COMPRESSION_ZLIB = 0, BLK_COMPRESSION_ZSTD = 1 };
enum { BLK_PREALLOC_OFF = 0, BLK_PREALLOC_METADATA, BLK_PREALLOC_FALLOC, BLK_PREALLOC_FULL };

typedef struct BlkCreateOptions {
    uint64_t size;
    uint32_t cluster_size;     /* 0: 64 KiB */
    int compat;                /* 0 or 3: v3 ("1.1"), 2: v2 ("0.10") */
    int refcount_bits;         /* 0: 16 */
    bool lazy_refcounts;
    int compression_type;      /* BLK_COMPRESSION_* */
    int preallocation;         /* BLK_PREALLOC_* */
    const char *backing_file;
    const char *backing_format;
} BlkCreateOptions;

typedef struct BlkInfo {
    const char *format;
    uint64_t virtual_size;
    uint64_t actual_size;      /* bytes allocated on the host */
    uint32_t cluster_size;     /* 0 when the format has none */
    char *backing_file;        /* as recorded in the image */
    char *backing_format;
    char *full_backing_file;   /* resolved against the image's directory */
    int version;               /* qcow2 version */
    int refcount_bits;
    int compression_type;
    bool lazy_refcounts;
    bool corrupt;
    bool dirty;
    bool extended_l2;
    uint64_t image_end;        /* end of the last used host cluster */
} BlkInfo;

typedef struct BlkSnapshotInfo {
    char *id;
    char *name;
    uint64_t vm_state_size;
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t icount;           /* UINT64_MAX when not recorded */
    uint64_t disk_size;
} BlkSnapshotInfo;

typedef struct BlkCheckResult {
    int corruptions;
    int leaks;
    int check_errors;
    int corruptions_fixed;
    int leaks_fixed;
    uint64_t image_end_offset;
    uint64_t total_clusters;
    uint64_t allocated_clusters;
    uint64_t fragmented_clusters;
    uint64_t compressed_clusters;
} BlkCheckResult;

enum { BLK_FIX_LEAKS = 1, BLK_FIX_ERRORS = 2 };

struct BlkDriver {
    const char *name;
    /* Score 0..100 that buf (the file's first bytes) is this format. */
    int (*probe)(const uint8_t *buf, size_t length);
    int (*open)(BlkImage *img, GError **errp);
    void (*close)(BlkImage *img);
    int (*create)(const char *filename, const BlkCreateOptions *opts, GError **errp);
    int (*read)(BlkImage *img, uint64_t offset, void *buf, size_t bytes);
    int (*write)(BlkImage *img, uint64_t offset, const void *buf, size_t bytes);
    int (*write_compressed)(BlkImage *img, uint64_t offset, const void *buf, size_t bytes);
    int (*flush)(BlkImage *img);
    int (*discard)(BlkImage *img, uint64_t offset, uint64_t bytes);
    int (*write_zeroes)(BlkImage *img, uint64_t offset, uint64_t bytes);
    int (*block_status)(BlkImage *img, uint64_t offset, uint64_t bytes,
                        uint64_t *pnum, uint64_t *host_offset, int *status);
    int (*get_info)(BlkImage *img, BlkInfo *info);
    int (*truncate)(BlkImage *img, uint64_t size, bool shrink, GError **errp);
    int (*check)(BlkImage *img, BlkCheckResult *res, int fix);
    int (*snapshot_create)(BlkImage *img, const char *name, uint64_t vm_state_size,
                           uint64_t vm_clock_nsec, uint64_t icount, GError **errp);
    int (*snapshot_apply)(BlkImage *img, const char *id_or_name, GError **errp);
    int (*snapshot_delete)(BlkImage *img, const char *id_or_name, GError **errp);
    int (*snapshot_list)(BlkImage *img, BlkSnapshotInfo **list, int *count);
    int (*vmstate_read)(BlkImage *img, const char *snapshot, uint64_t pos, void *buf, size_t bytes);
    int (*snapshot_read)(BlkImage *img, const char *snapshot, uint64_t offset, void *buf,
                         size_t bytes);
    int (*vmstate_write)(BlkImage *img, uint64_t pos, const void *buf, size_t bytes);
    int (*set_backing)(BlkImage *img, const char *file, const char *format, GError **errp);
    int (*make_empty)(BlkImage *img);
};

struct BlkImage {
    const BlkDriver *drv;
    char *filename;
    int fd;
    int flags;
    uint64_t size;             /* virtual size in bytes */
    BlkImage *backing;
    char *backing_file;        /* as recorded in the image (NULL: none) */
    char *backing_format;
    char *full_backing_file;
    void *opaque;              /* driver state */
};

/* Drivers and probing. */
const BlkDriver *blk_find_driver(const char *name);
const BlkDriver *blk_probe_buffer(const uint8_t *buf, size_t length);
int blk_probe_file(const char *filename, const BlkDriver **drv, GError **errp);

/* Open/close. format NULL probes; a missing format never guesses raw is anything else. */
int blk_open(const char *filename, const char *format, int flags, BlkImage **out, GError **errp);
void blk_close(BlkImage *img);
int blk_create(const char *filename, const char *format, const BlkCreateOptions *opts,
               GError **errp);

/* Data path: 0 or a negative errno. */
int blk_read(BlkImage *img, uint64_t offset, void *buf, size_t bytes);
int blk_write(BlkImage *img, uint64_t offset, const void *buf, size_t bytes);
int blk_write_compressed(BlkImage *img, uint64_t offset, const void *buf, size_t bytes);
int blk_flush(BlkImage *img);
int blk_discard(BlkImage *img, uint64_t offset, uint64_t bytes);
int blk_write_zeroes(BlkImage *img, uint64_t offset, uint64_t bytes);
int blk_block_status(BlkImage *img, uint64_t offset, uint64_t bytes,
                     uint64_t *pnum, uint64_t *host_offset, int *status);
/* Status through the backing chain; *depth is the layer that decided it. */
int blk_block_status_above(BlkImage *img, uint64_t offset, uint64_t bytes,
                           uint64_t *pnum, uint64_t *host_offset, int *status, int *depth);
/* Read from the backing chain below img (zeros past its end or without one). */
int blk_read_backing(BlkImage *img, uint64_t offset, void *buf, size_t bytes);

int blk_get_info(BlkImage *img, BlkInfo *info);
void blk_info_clear(BlkInfo *info);
int blk_truncate(BlkImage *img, uint64_t size, bool shrink, GError **errp);
int blk_check(BlkImage *img, BlkCheckResult *res, int fix);

/* Internal snapshots (qcow2 only; others return -ENOTSUP). */
int blk_snapshot_create(BlkImage *img, const char *name, uint64_t vm_state_size,
                        uint64_t vm_clock_nsec, uint64_t icount, GError **errp);
int blk_snapshot_apply(BlkImage *img, const char *id_or_name, GError **errp);
int blk_snapshot_delete(BlkImage *img, const char *id_or_name, GError **errp);
int blk_snapshot_list(BlkImage *img, BlkSnapshotInfo **list, int *count);
void blk_snapshot_list_free(BlkSnapshotInfo *list, int count);
/* VM-state area: written into the active image before blk_snapshot_create(),
 * read back from a snapshot (by id or name; NULL: the active image). */
int blk_vmstate_write(BlkImage *img, uint64_t pos, const void *buf, size_t bytes);
int blk_vmstate_read(BlkImage *img, const char *snapshot, uint64_t pos, void *buf, size_t bytes);

/* Guest data as a snapshot saw it (reads past its disk size are zeros). */
int blk_snapshot_read(BlkImage *img, const char *snapshot, uint64_t offset, void *buf,
                      size_t bytes);

int blk_set_backing(BlkImage *img, const char *file, const char *format, GError **errp);
int blk_make_empty(BlkImage *img);

/* Locking (lock.c): QEMU-compatible OFD byte locks at 100+perm / 200+perm. */
enum {
    BLK_PERM_CONSISTENT_READ = 1 << 0,
    BLK_PERM_WRITE           = 1 << 1,
    BLK_PERM_WRITE_UNCHANGED = 1 << 2,
    BLK_PERM_RESIZE          = 1 << 3,
    BLK_PERM_ALL             = 0x1f,
};
int blk_lock_apply(int fd, unsigned perm, unsigned shared, const char *filename, GError **errp);

/* Helpers shared with the drivers. */
int blk_pread_full(int fd, void *buf, size_t bytes, uint64_t offset);
int blk_pwrite_full(int fd, const void *buf, size_t bytes, uint64_t offset);
int blk_parse_size(const char *text, uint64_t *out);
char *blk_resolve_backing(const char *image, const char *backing);
