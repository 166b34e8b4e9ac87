/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Private definitions of the qcow2 driver (format: QEMU docs/interop/qcow2.txt),
 * shared by qcow2*.c only. */
#pragma once

#include "storage/block.h"

#include <endian.h>

#define QCOW2_MAGIC                 0x514649fbu   /* "QFI\xfb" */
#define QCOW2_MIN_CLUSTER_BITS      9
#define QCOW2_MAX_CLUSTER_BITS      21
#define QCOW2_MAX_L1_BYTES          (32u << 20)
#define QCOW2_MAX_REFTABLE_BYTES    (8u << 20)
#define QCOW2_MAX_SNAPSHOTS         65536
#define QCOW2_MAX_BACKING_NAME      1023

#define QCOW2_INCOMPAT_DIRTY        (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT      (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE    (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION  (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2        (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN        (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | \
                                     QCOW2_INCOMPAT_COMPRESSION)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)

#define QCOW2_EXT_END               0x00000000u
#define QCOW2_EXT_BACKING_FORMAT    0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE     0x6803f857u
#define QCOW2_EXT_BITMAPS           0x23852875u

/* L1/L2 entry bits. */
#define QCOW2_OFLAG_COPIED          (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED      (1ull << 62)
#define QCOW2_OFLAG_ZERO            (1ull << 0)
#define QCOW2_OFFSET_MASK           0x00fffffffffffe00ull
#define QCOW2_L1E_RESERVED          0x7f000000000001ffull
#define QCOW2_L2E_RESERVED          0x3f000000000001feull
#define QCOW2_REFT_RESERVED         0x00000000000001ffull

typedef enum Qcow2ClusterType {
    QCOW2_CLUSTER_UNALLOCATED,
    QCOW2_CLUSTER_ZERO_PLAIN,    /* zero flag, no host cluster */
    QCOW2_CLUSTER_ZERO_ALLOC,    /* zero flag with a preallocated host cluster */
    QCOW2_CLUSTER_NORMAL,
    QCOW2_CLUSTER_COMPRESSED,
} Qcow2ClusterType;

typedef struct Qcow2Snapshot {
    uint64_t l1_offset;
    uint32_t l1_size;
    char *id;
    char *name;
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t vm_state_size;
    uint64_t disk_size;
    uint64_t icount;
    uint32_t extra_size;
    uint8_t *extra;              /* unknown extra data past the known fields, kept */
    uint32_t extra_unknown;
} Qcow2Snapshot;

typedef struct Qcow2UnknownExt {
    uint32_t type;
    uint32_t length;
    uint8_t *data;
} Qcow2UnknownExt;

typedef struct Qcow2Cache Qcow2Cache;

typedef struct Qcow2State {
    BlkImage *img;
    int fd;
    GMutex lock;                 /* serialises metadata access */
    bool read_only;
    bool sync;                   /* fdatasync at ordering points (not cache=unsafe) */

    uint32_t version;
    uint32_t cluster_bits;
    uint32_t cluster_size;
    uint32_t l2_bits;            /* log2 of L2 entries per table */
    uint32_t l2_entries;
    uint32_t header_length;
    uint64_t incompat;
    uint64_t compat;
    uint64_t autoclear;
    int compression_type;

    uint64_t *l1;                /* active L1, host byte order */
    uint32_t l1_size;
    uint64_t l1_offset;

    uint64_t *reftable;          /* host byte order */
    uint32_t reftable_entries;
    uint64_t reftable_offset;
    uint32_t reftable_clusters;
    uint32_t refcount_order;
    uint32_t refcount_bits;
    uint32_t refblock_bits;      /* log2 of refcounts per block */
    uint64_t refcount_max;

    Qcow2Snapshot *snapshots;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t snapshots_size;

    /* Header extensions and tail kept when rewriting the header. */
    Qcow2UnknownExt *unknown_exts;
    uint32_t nb_unknown_exts;
    uint8_t *feature_table;
    uint32_t feature_table_length;

    Qcow2Cache *l2_cache;
    Qcow2Cache *refblock_cache;

    uint64_t free_cluster_index; /* no free cluster below this index */
    uint64_t file_end;           /* bytes: nothing of ours at or past it, reads zeros */
    uint64_t free_byte_offset;   /* tail of the last compressed cluster, 0: none */

    /* Compressed cluster descriptor geometry. */
    uint32_t csize_shift;
    uint64_t csize_mask;
    uint64_t cluster_offset_mask;

    uint64_t cached_compressed_offset; /* guest cluster offset of decompressed_buf */
    bool cached_compressed_valid;
    uint8_t *decompressed_buf;
} Qcow2State;

static inline uint64_t qcow2_ceil_div(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

static inline uint64_t qcow2_align_up(uint64_t a, uint64_t b)
{
    return qcow2_ceil_div(a, b) * b;
}

static inline uint64_t qcow2_l2_coverage(const Qcow2State *s)
{
    return (uint64_t)s->l2_entries << s->cluster_bits;
}

/* L1 entries needed to map size bytes. */
static inline uint64_t qcow2_size_to_l1(const Qcow2State *s, uint64_t size)
{
    return qcow2_ceil_div(size, qcow2_l2_coverage(s));
}

/* Start of the VM-state area: the first L1 range that maps no guest cluster. */
static inline uint64_t qcow2_vmstate_offset(const Qcow2State *s)
{
    return qcow2_size_to_l1(s, s->img->size) * qcow2_l2_coverage(s);
}

Qcow2ClusterType qcow2_cluster_type(const Qcow2State *s, uint64_t l2e);
void qcow2_compressed_extent(const Qcow2State *s, uint64_t l2e, uint64_t *offset,
                             uint64_t *bytes);

/* qcow2.c */
int qcow2_sync(Qcow2State *s);
int qcow2_write_header(Qcow2State *s);
int qcow2_write_header_pointers(Qcow2State *s);
int qcow2_read_snapshot_table(Qcow2State *s, GError **errp);

/* qcow2-cache.c: write-back caches of L2 tables and refcount blocks. */
Qcow2Cache *qcow2_cache_new(Qcow2State *s, int entries, const char *what);
void qcow2_cache_free(Qcow2Cache *c);
int qcow2_cache_get(Qcow2Cache *c, uint64_t offset, uint64_t **table);
int qcow2_cache_get_empty(Qcow2Cache *c, uint64_t offset, uint64_t **table);
void qcow2_cache_put(Qcow2Cache *c, uint64_t **table);
void qcow2_cache_mark_dirty(Qcow2Cache *c, uint64_t *table);
int qcow2_cache_flush(Qcow2Cache *c);
int qcow2_cache_write(Qcow2Cache *c);
void qcow2_cache_set_dependency(Qcow2Cache *c, Qcow2Cache *depends_on);
int qcow2_cache_depends_on_flush(Qcow2Cache *c);
void qcow2_cache_discard(Qcow2Cache *c, uint64_t offset);
void qcow2_cache_invalidate(Qcow2Cache *c);

/* qcow2-refcount.c: incremental refcount updates and cluster allocation. */
int qcow2_get_refcount(Qcow2State *s, uint64_t cluster_index, uint64_t *refcount);
int qcow2_update_refcount(Qcow2State *s, uint64_t offset, uint64_t bytes, int64_t delta);
int64_t qcow2_alloc_clusters(Qcow2State *s, uint64_t count, uint64_t *allocated);
int64_t qcow2_alloc_bytes(Qcow2State *s, uint64_t bytes);
int qcow2_free_l2_entry(Qcow2State *s, uint64_t l2e);
uint64_t qcow2_refcount_read_entry(const Qcow2State *s, const void *block, uint64_t index);
void qcow2_refcount_write_entry(const Qcow2State *s, void *block, uint64_t index, uint64_t v);
int qcow2_load_refcounts(Qcow2State *s, uint64_t **counts, uint64_t *nclusters);

/* qcow2-txn.c: metadata changes committed by one header write. */
typedef struct Qcow2Txn Qcow2Txn;
Qcow2Txn *qcow2_txn_begin(Qcow2State *s, bool trust_refcounts, int *ret);
void qcow2_txn_abort(Qcow2Txn *t);
int64_t qcow2_txn_alloc(Qcow2Txn *t, uint64_t count);
int qcow2_txn_copy_active(Qcow2Txn *t, const uint64_t *src_l1, uint32_t src_l1_size,
                          uint32_t new_l1_size, uint64_t keep_below, uint64_t **new_l1,
                          uint64_t *new_l1_offset);
int qcow2_txn_write_snapshot_table(Qcow2Txn *t, const Qcow2Snapshot *sn, uint32_t nb,
                                   uint64_t *offset, uint64_t *size);
int qcow2_txn_commit(Qcow2Txn *t, uint64_t new_size, uint64_t *new_l1, uint32_t new_l1_size,
                     uint64_t new_l1_offset, Qcow2Snapshot *sn, uint32_t nb_sn,
                     uint64_t sn_offset, uint64_t sn_size, GError **errp);

/* qcow2-check.c: walking all metadata, check and repair. */
typedef struct Qcow2Walk {
    uint64_t *refs;              /* computed references per cluster */
    uint64_t nclusters;          /* size of refs (may exceed what is used) */
    uint64_t used;               /* highest referenced cluster + 1 */
    BlkCheckResult *res;
    bool verbose;                /* print findings to stderr like qemu-img */
    uint64_t file_limit;         /* references past this are corruption (0: file size) */
} Qcow2Walk;
int qcow2_walk_references(Qcow2State *s, Qcow2Walk *w, const uint64_t *l1, uint32_t l1_size,
                          uint64_t l1_offset, const Qcow2Snapshot *sn, uint32_t nb_sn, uint64_t sn_offset,
                          uint64_t sn_size, bool include_refcount_structures);
int qcow2_check(BlkImage *img, BlkCheckResult *res, int fix);
int qcow2_rebuild_refcounts(Qcow2State *s, GError **errp);

/* qcow2-cluster.c: guest-to-host mapping, reads and writes. */
int qcow2_get_l2_entry(Qcow2State *s, const uint64_t *l1, uint32_t l1_size, uint64_t offset,
                       uint64_t *l2e);
int qcow2_read_at(Qcow2State *s, const uint64_t *l1, uint32_t l1_size, uint64_t offset,
                  void *buf, size_t bytes, bool backing);
int qcow2_write_at(Qcow2State *s, uint64_t offset, const void *buf, size_t bytes);
int qcow2_grow_l1(Qcow2State *s, uint64_t min_entries);
enum { QCOW2_ZERO_WRITE, QCOW2_ZERO_DISCARD, QCOW2_ZERO_DEALLOCATE };
int qcow2_zero_range(Qcow2State *s, uint64_t offset, uint64_t bytes, int mode);
int qcow2_flush_locked(Qcow2State *s);
int qcow2_read_compressed(Qcow2State *s, uint64_t l2e, uint64_t guest_cluster, uint8_t *out);

/* qcow2-compress.c */
ssize_t qcow2_compress(int type, uint8_t *dest, size_t dest_size, const uint8_t *src,
                       size_t src_size);
int qcow2_decompress(int type, uint8_t *dest, size_t dest_size, const uint8_t *src,
                     size_t src_size);

/* qcow2-snapshot.c */
void qcow2_snapshots_free(Qcow2Snapshot *sn, uint32_t nb);
Qcow2Snapshot *qcow2_snapshots_dup(const Qcow2Snapshot *sn, uint32_t nb);
int qcow2_read_l1(Qcow2State *s, uint64_t offset, uint32_t size, uint64_t **l1);
int qcow2_snapshot_create(BlkImage *img, const char *name, uint64_t vm_state_size,
                          uint64_t vm_clock_nsec, uint64_t icount, GError **errp);
int qcow2_snapshot_apply(BlkImage *img, const char *id_or_name, GError **errp);
int qcow2_snapshot_delete(BlkImage *img, const char *id_or_name, GError **errp);
int qcow2_snapshot_list(BlkImage *img, BlkSnapshotInfo **list, int *count);
int qcow2_vmstate_read(BlkImage *img, const char *snapshot, uint64_t pos, void *buf,
                       size_t bytes);
int qcow2_snapshot_read(BlkImage *img, const char *snapshot, uint64_t offset, void *buf,
                        size_t bytes);
int qcow2_vmstate_write(BlkImage *img, uint64_t pos, const void *buf, size_t bytes);
int qcow2_truncate(BlkImage *img, uint64_t size, bool shrink, GError **errp);
