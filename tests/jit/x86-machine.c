/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A bare machine for the unit tests of Mimic's x86 CPU. */
#include "tests/jit/x86-machine.h"

#include <glib.h>

struct x86_test_machine *x86_test_machine_new(const char *name, size_t ram_size)
{
    struct x86_test_machine *m = g_new0(struct x86_test_machine, 1);

    m->map = memory_map_new(name, 1ull << 32, NULL);
    m->ram = g_malloc0(ram_size);
    g_assert_nonnull(memory_map_add_ram(m->map, "ram", 0, ram_size, m->ram, NULL));
    x86_cpu_init(&m->cpu, m->map);
    return m;
}

void x86_test_machine_free(struct x86_test_machine *m)
{
    x86_cpu_destroy(&m->cpu);
    memory_map_free(m->map);
    g_free(m->ram);
    g_free(m);
}

unsigned x86_test_parse_hex(const char *hex, uint8_t *bytes)
{
    unsigned n = 0;

    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        bytes[n++] = (uint8_t)(g_ascii_xdigit_value(p[0]) << 4 | g_ascii_xdigit_value(p[1]));
        p += 2;
    }
    return n;
}
