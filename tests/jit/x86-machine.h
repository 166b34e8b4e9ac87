/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A bare machine for the unit tests of Mimic's x86 CPU: RAM at address 0 of
 * a 4 GiB memory map, and a CPU on it; instruction bytes written as hex.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "engine/memory.h"
#include "jit/x86/cpu.h"

struct x86_test_machine {
    struct memory_map *map;
    uint8_t *ram;
    struct x86_cpu cpu;
};

/* @ram_size bytes of zeroed RAM at 0 in map @name; the CPU after reset. */
struct x86_test_machine *x86_test_machine_new(const char *name, size_t ram_size);

void x86_test_machine_free(struct x86_test_machine *m);

/*
 * Bytes written as hex pairs ("0f a2 cc", spaces between them ignored) into
 * @bytes; returns how many.
 */
unsigned x86_test_parse_hex(const char *hex, uint8_t *bytes);
