/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Write-back caches of qcow2 metadata clusters (L2 tables, refcount blocks),
 * with a dependency between the two caches that orders their writes. */
#include "storage/qcow2.h"

#include <errno.h>
#include <string.h>

typedef struct Qcow2CacheEntry {
    uint64_t offset;             /* 0: empty slot */
    uint64_t lru;
    int pins;
    bool dirty;
} Qcow2CacheEntry;

struct Qcow2Cache {
    Qcow2State *s;
    const char *what;
    int size;
    Qcow2CacheEntry *entries;
    uint8_t *mem;
    GHashTable *index;           /* offset -> slot + 1 */
    uint64_t lru_clock;
    Qcow2Cache *depends;         /* must be flushed before this cache writes */
};

Qcow2Cache *qcow2_cache_new(Qcow2State *s, int entries, const char *what)
{
    Qcow2Cache *c = g_new0(Qcow2Cache, 1);
    c->s = s;
    c->what = what;
    c->size = entries;
    c->entries = g_new0(Qcow2CacheEntry, entries);
    c->mem = g_malloc((size_t)entries << s->cluster_bits);
    c->index = g_hash_table_new(g_int64_hash, g_int64_equal);
    return c;
}

void qcow2_cache_free(Qcow2Cache *c)
{
    if (c == NULL) {
        return;
    }
    g_hash_table_destroy(c->index);
    g_free(c->entries);
    g_free(c->mem);
    g_free(c);
}

static uint64_t *qcow2_cache_table(Qcow2Cache *c, int i)
{
    return (uint64_t *)(c->mem + ((size_t)i << c->s->cluster_bits));
}

static int qcow2_cache_slot(Qcow2Cache *c, const uint64_t *table)
{
    return (int)(((const uint8_t *)table - c->mem) >> c->s->cluster_bits);
}

static int qcow2_cache_write_entry(Qcow2Cache *c, int i)
{
    Qcow2CacheEntry *e = &c->entries[i];
    if (!e->dirty) {
        return 0;
    }
    if (c->depends != NULL) {
        int ret = qcow2_cache_depends_on_flush(c);
        if (ret < 0) {
            return ret;
        }
    }
    int ret = blk_pwrite_full(c->s->fd, qcow2_cache_table(c, i), c->s->cluster_size, e->offset);
    if (ret < 0) {
        return ret;
    }
    e->dirty = false;
    return 0;
}

/* Write every dirty entry (after the caches this one depends on), no sync. */
int qcow2_cache_write(Qcow2Cache *c)
{
    int result = 0;
    for (int i = 0; i < c->size; i++) {
        int ret = qcow2_cache_write_entry(c, i);
        if (ret < 0 && result == 0) {
            result = ret;
        }
    }
    return result;
}

int qcow2_cache_flush(Qcow2Cache *c)
{
    int ret = qcow2_cache_write(c);
    return ret < 0 ? ret : qcow2_sync(c->s);
}

/* Ordering point: everything in the cache we depend on reaches the disk
 * (and is synced) before any entry of this cache is written. */
int qcow2_cache_depends_on_flush(Qcow2Cache *c)
{
    Qcow2Cache *dep = c->depends;
    c->depends = NULL;
    int ret = qcow2_cache_flush(dep);
    if (ret < 0) {
        c->depends = dep;
    }
    return ret;
}

void qcow2_cache_set_dependency(Qcow2Cache *c, Qcow2Cache *depends_on)
{
    if (c->depends == depends_on) {
        return;
    }
    if (depends_on->depends == c) {
        /* Break the cycle: write c now (it depends on nothing else), which
         * satisfies the other cache's dependency on it. */
        if (qcow2_cache_flush(c) == 0) {
            depends_on->depends = NULL;
        }
    }
    c->depends = depends_on;
}

static int qcow2_cache_find_victim(Qcow2Cache *c, int *slot)
{
    int best = -1;
    for (int i = 0; i < c->size; i++) {
        Qcow2CacheEntry *e = &c->entries[i];
        if (e->offset == 0) {
            *slot = i;
            return 0;
        }
        if (e->pins == 0 && (best < 0 || e->lru < c->entries[best].lru)) {
            best = i;
        }
    }
    if (best < 0) {
        return -ENOSPC;
    }
    int ret = qcow2_cache_write_entry(c, best);
    if (ret < 0) {
        return ret;
    }
    g_hash_table_remove(c->index, &c->entries[best].offset);
    c->entries[best].offset = 0;
    *slot = best;
    return 0;
}

static int qcow2_cache_do_get(Qcow2Cache *c, uint64_t offset, uint64_t **table, bool read)
{
    gpointer v = g_hash_table_lookup(c->index, &offset);
    int slot;
    if (v != NULL) {
        slot = GPOINTER_TO_INT(v) - 1;
        if (!read) {
            memset(qcow2_cache_table(c, slot), 0, c->s->cluster_size);
        }
    } else {
        int ret = qcow2_cache_find_victim(c, &slot);
        if (ret < 0) {
            return ret;
        }
        if (read) {
            ret = blk_pread_full(c->s->fd, qcow2_cache_table(c, slot), c->s->cluster_size,
                                 offset);
            if (ret < 0) {
                return ret;
            }
        } else {
            memset(qcow2_cache_table(c, slot), 0, c->s->cluster_size);
        }
        Qcow2CacheEntry *e = &c->entries[slot];
        e->offset = offset;
        e->dirty = false;
        g_hash_table_insert(c->index, &e->offset, GINT_TO_POINTER(slot + 1));
    }
    Qcow2CacheEntry *e = &c->entries[slot];
    e->pins++;
    e->lru = ++c->lru_clock;
    *table = qcow2_cache_table(c, slot);
    return 0;
}

/* Get the metadata cluster at offset, pinned until qcow2_cache_put(). */
int qcow2_cache_get(Qcow2Cache *c, uint64_t offset, uint64_t **table)
{
    return qcow2_cache_do_get(c, offset, table, true);
}

/* Same for a newly allocated cluster: zero-filled, nothing read. */
int qcow2_cache_get_empty(Qcow2Cache *c, uint64_t offset, uint64_t **table)
{
    return qcow2_cache_do_get(c, offset, table, false);
}

void qcow2_cache_put(Qcow2Cache *c, uint64_t **table)
{
    int slot = qcow2_cache_slot(c, *table);
    c->entries[slot].pins--;
    *table = NULL;
}

void qcow2_cache_mark_dirty(Qcow2Cache *c, uint64_t *table)
{
    c->entries[qcow2_cache_slot(c, table)].dirty = true;
}

/* Drop a cluster that was freed: its content must never be written back. */
void qcow2_cache_discard(Qcow2Cache *c, uint64_t offset)
{
    gpointer v = g_hash_table_lookup(c->index, &offset);
    if (v == NULL) {
        return;
    }
    int slot = GPOINTER_TO_INT(v) - 1;
    g_hash_table_remove(c->index, &c->entries[slot].offset);
    c->entries[slot].offset = 0;
    c->entries[slot].dirty = false;
}

/* Forget everything (the caller has flushed what mattered). */
void qcow2_cache_invalidate(Qcow2Cache *c)
{
    g_hash_table_remove_all(c->index);
    for (int i = 0; i < c->size; i++) {
        c->entries[i].offset = 0;
        c->entries[i].dirty = false;
        c->entries[i].pins = 0;
    }
    c->depends = NULL;
}
