/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ACPI Machine Language encoder: just the terms Mimic's DSDT uses, written
 * from ACPI 6.5 chapters 19.6 (resource macros), 20.2 (AML grammar) and 6.4
 * (resource data types).
 */
#define G_LOG_DOMAIN "mimic-acpi"

#include "hw/acpi/aml.h"

#include <string.h>

/* AML opcodes (ACPI 6.5, 20.3). */
#define ZERO_OP 0x00
#define ONE_OP 0x01
#define NAME_OP 0x08
#define BYTE_PREFIX 0x0a
#define WORD_PREFIX 0x0b
#define DWORD_PREFIX 0x0c
#define STRING_PREFIX 0x0d
#define QWORD_PREFIX 0x0e
#define SCOPE_OP 0x10
#define BUFFER_OP 0x11
#define PACKAGE_OP 0x12
#define METHOD_OP 0x14
#define DUAL_NAME_PREFIX 0x2e
#define MULTI_NAME_PREFIX 0x2f
#define EXT_OP_PREFIX 0x5b
#define DEVICE_OP 0x82          /* after EXT_OP_PREFIX */
#define ROOT_CHAR 0x5c
#define PARENT_PREFIX_CHAR 0x5e
#define RETURN_OP 0xa4
#define ONES_OP 0xff

/* Resource descriptor tags (ACPI 6.5, 6.4.2 and 6.4.3). */
#define RES_IRQ_NO_FLAGS 0x22
#define RES_IO 0x47
#define RES_END_TAG 0x79
#define RES_DWORD_ADDRESS 0x87
#define RES_EXT_INTERRUPT 0x89
#define RES_INT_CONSUMER 0x01
#define RES_INT_SHARED 0x08
#define RES_WORD_ADDRESS 0x88
#define RES_QWORD_ADDRESS 0x8a
#define RES_TYPE_MEMORY 0
#define RES_TYPE_IO 1
#define RES_TYPE_BUS 2
/* General flags: producer, positive decode, minimum and maximum fixed. */
#define RES_FLAGS_PRODUCER_FIXED 0x0c
#define RES_IO_ENTIRE_RANGE 0x03
#define RES_MEM_READ_WRITE 0x01

struct aml *aml_new(void)
{
    struct aml *a = g_new0(struct aml, 1);

    a->bytes = g_byte_array_new();
    return a;
}

void aml_free(struct aml *a)
{
    if (!a)
        return;
    g_byte_array_unref(a->bytes);
    g_free(a);
}

struct aml *aml_append(struct aml *parent, struct aml *child)
{
    g_byte_array_append(parent->bytes, child->bytes->data, child->bytes->len);
    aml_free(child);
    return parent;
}

const uint8_t *aml_data(const struct aml *a, size_t *len)
{
    *len = a->bytes->len;
    return a->bytes->data;
}

static void put_byte(struct aml *a, uint8_t b)
{
    g_byte_array_append(a->bytes, &b, 1);
}

static void put_le(struct aml *a, uint64_t value, unsigned size)
{
    for (unsigned i = 0; i < size; i++)
        put_byte(a, value >> (8 * i));
}

/* PkgLength (20.2.4): counts itself and what follows. */
static void put_pkg_length(struct aml *a, size_t body)
{
    size_t len;

    if (body + 1 < 0x40) {
        put_byte(a, body + 1);
        return;
    }
    for (unsigned n = 2; n <= 4; n++) {
        len = body + n;
        if (len < (1u << (4 + 8 * (n - 1)))) {
            put_byte(a, ((n - 1) << 6) | (len & 0x0f));
            for (unsigned i = 1; i < n; i++)
                put_byte(a, len >> (4 + 8 * (i - 1)));
            return;
        }
    }
    g_error("AML package of %zu bytes is too long", body);
}

/* A NameSeg: up to four characters, padded with '_' (20.2.2). */
static void put_name_seg(struct aml *a, const char *seg, size_t len)
{
    g_assert(len >= 1 && len <= 4);
    for (size_t i = 0; i < 4; i++)
        put_byte(a, i < len ? (uint8_t)seg[i] : '_');
}

/* NameString: "\\A.B", "^X", "_S5" (20.2.2). */
static void put_name_string(struct aml *a, const char *path)
{
    g_auto(GStrv) segs = NULL;
    unsigned count;

    if (*path == '\\') {
        put_byte(a, ROOT_CHAR);
        path++;
    }
    while (*path == '^') {
        put_byte(a, PARENT_PREFIX_CHAR);
        path++;
    }
    if (!*path) {
        put_byte(a, ZERO_OP);   /* NullName */
        return;
    }
    segs = g_strsplit(path, ".", -1);
    count = g_strv_length(segs);
    if (count == 2)
        put_byte(a, DUAL_NAME_PREFIX);
    else if (count > 2) {
        put_byte(a, MULTI_NAME_PREFIX);
        put_byte(a, count);
    }
    for (unsigned i = 0; i < count; i++)
        put_name_seg(a, segs[i], strlen(segs[i]));
}

/* opcode(s), PkgLength, then @head (already encoded) and @body; consumes body. */
static struct aml *wrap(const uint8_t *ops, unsigned nops, struct aml *head,
                        struct aml *body)
{
    struct aml *a = aml_new();

    for (unsigned i = 0; i < nops; i++)
        put_byte(a, ops[i]);
    put_pkg_length(a, head->bytes->len + body->bytes->len);
    aml_append(a, head);
    aml_append(a, body);
    return a;
}

struct aml *aml_int(uint64_t value)
{
    struct aml *a = aml_new();

    if (value == 0)
        put_byte(a, ZERO_OP);
    else if (value == 1)
        put_byte(a, ONE_OP);
    else if (value == UINT64_MAX)
        put_byte(a, ONES_OP);
    else if (value <= 0xff) {
        put_byte(a, BYTE_PREFIX);
        put_le(a, value, 1);
    } else if (value <= 0xffff) {
        put_byte(a, WORD_PREFIX);
        put_le(a, value, 2);
    } else if (value <= 0xffffffff) {
        put_byte(a, DWORD_PREFIX);
        put_le(a, value, 4);
    } else {
        put_byte(a, QWORD_PREFIX);
        put_le(a, value, 8);
    }
    return a;
}

struct aml *aml_string(const char *text)
{
    struct aml *a = aml_new();

    put_byte(a, STRING_PREFIX);
    g_byte_array_append(a->bytes, (const uint8_t *)text, strlen(text) + 1);
    return a;
}

/* The compressed EISA ID of 6.1.5: three letters in 5 bits each, four hex digits. */
struct aml *aml_eisaid(const char *id)
{
    uint32_t v;

    g_assert(strlen(id) == 7);
    v = (uint32_t)(id[0] - 0x40) << 26 | (uint32_t)(id[1] - 0x40) << 21 |
        (uint32_t)(id[2] - 0x40) << 16 | (uint32_t)g_ascii_strtoull(id + 3, NULL, 16);
    return aml_int(GUINT32_SWAP_LE_BE(v));
}

struct aml *aml_buffer(const void *data, size_t len)
{
    static const uint8_t op = BUFFER_OP;
    struct aml *head = aml_int(len);
    struct aml *body = aml_new();

    g_byte_array_append(body->bytes, data, len);
    return wrap(&op, 1, head, body);
}

struct aml *aml_package(unsigned count, struct aml *elements)
{
    static const uint8_t op = PACKAGE_OP;
    struct aml *head = aml_new();

    g_assert(count <= 255);
    put_byte(head, count);
    return wrap(&op, 1, head, elements);
}

struct aml *aml_name(const char *path)
{
    struct aml *a = aml_new();

    put_name_string(a, path);
    return a;
}

struct aml *aml_name_decl(const char *name, struct aml *value)
{
    struct aml *a = aml_new();

    put_byte(a, NAME_OP);
    put_name_string(a, name);
    return aml_append(a, value);
}

struct aml *aml_scope(const char *name, struct aml *body)
{
    static const uint8_t op = SCOPE_OP;

    return wrap(&op, 1, aml_name(name), body);
}

struct aml *aml_device(const char *name, struct aml *body)
{
    static const uint8_t ops[] = { EXT_OP_PREFIX, DEVICE_OP };

    return wrap(ops, 2, aml_name(name), body);
}

/* Not serialized, sync level 0 (20.2.5.2, MethodFlags). */
struct aml *aml_method(const char *name, unsigned nargs, struct aml *body)
{
    static const uint8_t op = METHOD_OP;
    struct aml *head = aml_name(name);

    g_assert(nargs <= 7);
    put_byte(head, nargs);
    return wrap(&op, 1, head, body);
}

struct aml *aml_return(struct aml *value)
{
    struct aml *a = aml_new();

    put_byte(a, RETURN_OP);
    return aml_append(a, value);
}

/* ---- resource descriptors ------------------------------------------------- */

/* The End Tag (6.4.2.9) with checksum 0: "treated as if the checksum is valid". */
struct aml *aml_resource_template(struct aml *descriptors)
{
    struct aml *r;

    put_byte(descriptors, RES_END_TAG);
    put_byte(descriptors, 0);
    r = aml_buffer(descriptors->bytes->data, descriptors->bytes->len);
    aml_free(descriptors);
    return r;
}

/* I/O Port Descriptor, 16-bit decode (6.4.2.5). */
struct aml *aml_res_io(uint16_t min, uint16_t max, uint8_t align, uint8_t length)
{
    struct aml *a = aml_new();

    put_byte(a, RES_IO);
    put_byte(a, 1);
    put_le(a, min, 2);
    put_le(a, max, 2);
    put_byte(a, align);
    put_byte(a, length);
    return a;
}

/* IRQ Descriptor without the flags byte: edge, active-high, exclusive (6.4.2.1). */
struct aml *aml_res_irq(uint16_t mask)
{
    struct aml *a = aml_new();

    put_byte(a, RES_IRQ_NO_FLAGS);
    put_le(a, mask, 2);
    return a;
}

/* Extended Interrupt Descriptor (6.4.3.6): level (bit 1 clear), active-high (bit 2 clear). */
struct aml *aml_res_interrupt_level_high(uint32_t gsi)
{
    struct aml *a = aml_new();

    put_byte(a, RES_EXT_INTERRUPT);
    put_le(a, 6, 2);
    put_byte(a, RES_INT_CONSUMER | RES_INT_SHARED);
    put_byte(a, 1);
    put_le(a, gsi, 4);
    return a;
}

/* Address space descriptors (6.4.3.5): fixed [min, max], no translation. */
static struct aml *address_space(uint8_t tag, unsigned width, uint8_t type,
                                 uint8_t type_flags, uint64_t min, uint64_t max)
{
    struct aml *a = aml_new();

    put_byte(a, tag);
    put_le(a, 3 + 5 * width, 2);
    put_byte(a, type);
    put_byte(a, RES_FLAGS_PRODUCER_FIXED);
    put_byte(a, type_flags);
    put_le(a, 0, width);                /* granularity */
    put_le(a, min, width);
    put_le(a, max, width);
    put_le(a, 0, width);                /* translation offset */
    put_le(a, max - min + 1, width);
    return a;
}

struct aml *aml_res_word_bus(uint16_t min, uint16_t max)
{
    return address_space(RES_WORD_ADDRESS, 2, RES_TYPE_BUS, 0, min, max);
}

struct aml *aml_res_word_io(uint16_t min, uint16_t max)
{
    return address_space(RES_WORD_ADDRESS, 2, RES_TYPE_IO, RES_IO_ENTIRE_RANGE,
                         min, max);
}

struct aml *aml_res_dword_memory(uint32_t min, uint32_t max,
                                 enum aml_cacheable cacheable)
{
    return address_space(RES_DWORD_ADDRESS, 4, RES_TYPE_MEMORY,
                         RES_MEM_READ_WRITE | cacheable << 1, min, max);
}

struct aml *aml_res_qword_memory(uint64_t min, uint64_t max,
                                 enum aml_cacheable cacheable)
{
    return address_space(RES_QWORD_ADDRESS, 8, RES_TYPE_MEMORY,
                         RES_MEM_READ_WRITE | cacheable << 1, min, max);
}
