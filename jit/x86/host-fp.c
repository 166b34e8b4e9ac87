/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cache of host instruction stubs that x87/MMX/SSE handlers run through
 * host-fp.S: each stub is one register-form instruction plus RET, written
 * through a writable mapping and executed through a second, read/execute
 * mapping of the same memory (no page is ever writable and executable).
 */
#include "jit/x86/fpu.h"

#include <glib.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define STUB_SIZE 8
#define STUB_SLOTS 16384                    /* a power of two */
#define STUB_AREA (STUB_SLOTS * STUB_SIZE)

static pthread_mutex_t stub_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *stub_write;
static const uint8_t *stub_exec;
/* Per slot: the stub bytes as a key (0: free), published with release. */
static uint64_t stub_keys[STUB_SLOTS];

static void stub_area_create(void)
{
    int fd = memfd_create("mimic-x86-stubs", MFD_CLOEXEC);
    void *w, *x;

    if (fd < 0 || ftruncate(fd, STUB_AREA) != 0)
        g_error("x86: cannot create the host stub area");
    w = mmap(NULL, STUB_AREA, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    x = mmap(NULL, STUB_AREA, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    close(fd);
    if (w == MAP_FAILED || x == MAP_FAILED)
        g_error("x86: cannot map the host stub area");
    stub_write = w;
    __atomic_store_n(&stub_exec, x, __ATOMIC_RELEASE);
}

static uint64_t stub_hash(uint64_t key)
{
    key ^= key >> 29;
    key *= 0xbf58476d1ce4e5b9ull;
    key ^= key >> 32;
    return key;
}

const void *x86_host_stub(const uint8_t *bytes, unsigned length)
{
    uint64_t key = 0;
    const uint8_t *exec = __atomic_load_n(&stub_exec, __ATOMIC_ACQUIRE);
    unsigned slot;

    g_assert(length < STUB_SIZE);
    memcpy(&key, bytes, length);
    key |= 0xc3ull << (8 * length);         /* RET: never 0 */
    slot = stub_hash(key) & (STUB_SLOTS - 1);
    if (exec) {
        for (unsigned i = slot;; i = (i + 1) & (STUB_SLOTS - 1)) {
            uint64_t k = __atomic_load_n(&stub_keys[i], __ATOMIC_ACQUIRE);

            if (k == key)
                return exec + (size_t)i * STUB_SIZE;
            if (k == 0)
                break;
        }
    }
    pthread_mutex_lock(&stub_lock);
    if (!stub_exec)
        stub_area_create();
    for (unsigned i = slot, n = 0;; i = (i + 1) & (STUB_SLOTS - 1), n++) {
        uint64_t k = stub_keys[i];

        if (n == STUB_SLOTS)
            g_error("x86: host stub cache full");
        if (k == key) {
            pthread_mutex_unlock(&stub_lock);
            return stub_exec + (size_t)i * STUB_SIZE;
        }
        if (k == 0) {
            memcpy(stub_write + (size_t)i * STUB_SIZE, &key, STUB_SIZE);
            __atomic_store_n(&stub_keys[i], key, __ATOMIC_RELEASE);
            pthread_mutex_unlock(&stub_lock);
            return stub_exec + (size_t)i * STUB_SIZE;
        }
    }
}
