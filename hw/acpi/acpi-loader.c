/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * BIOS linker/loader commands, in the 128-byte little-endian record format
 * SeaBIOS's romfile loader executes (described in QEMU's
 * hw/acpi/bios-linker-loader.c): a writer and a checking interpreter.
 */
#define G_LOG_DOMAIN "mimic-acpi"

#include "hw/acpi/acpi-loader.h"

#include <errno.h>
#include <string.h>

#include "engine/vm.h"

/* Field offsets within a command record (after the 4-byte command). */
#define CMD_OFF 0
#define ALLOC_FILE 4
#define ALLOC_ALIGN (ALLOC_FILE + ACPI_LOADER_FILE_SIZE)
#define ALLOC_ZONE (ALLOC_ALIGN + 4)
#define PTR_DEST 4
#define PTR_SRC (PTR_DEST + ACPI_LOADER_FILE_SIZE)
#define PTR_OFFSET (PTR_SRC + ACPI_LOADER_FILE_SIZE)
#define PTR_SIZE (PTR_OFFSET + 4)
#define CSUM_FILE 4
#define CSUM_OFFSET (CSUM_FILE + ACPI_LOADER_FILE_SIZE)
#define CSUM_START (CSUM_OFFSET + 4)
#define CSUM_LENGTH (CSUM_START + 4)

struct acpi_loader {
    GByteArray *script;
};

uint8_t acpi_checksum(const uint8_t *data, size_t len)
{
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++)
        sum += data[i];
    return (uint8_t)-sum;
}

struct acpi_loader *acpi_loader_new(void)
{
    struct acpi_loader *loader = g_new0(struct acpi_loader, 1);

    loader->script = g_byte_array_new();
    return loader;
}

void acpi_loader_free(struct acpi_loader *loader)
{
    if (!loader)
        return;
    g_byte_array_unref(loader->script);
    g_free(loader);
}

static void put32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return GUINT32_FROM_LE(v);
}

static void put_name(uint8_t *p, const char *name)
{
    g_assert(strlen(name) < ACPI_LOADER_FILE_SIZE);
    memcpy(p, name, strlen(name));
}

static uint8_t *new_entry(struct acpi_loader *loader, uint32_t command)
{
    guint at = loader->script->len;

    g_byte_array_set_size(loader->script, at + ACPI_LOADER_ENTRY_SIZE);
    memset(loader->script->data + at, 0, ACPI_LOADER_ENTRY_SIZE);
    put32(loader->script->data + at, command);
    return loader->script->data + at;
}

void acpi_loader_allocate(struct acpi_loader *loader, const char *file,
                          uint32_t align, enum acpi_loader_zone zone)
{
    uint8_t *e = new_entry(loader, ACPI_LOADER_ALLOCATE);

    put_name(e + ALLOC_FILE, file);
    put32(e + ALLOC_ALIGN, align);
    e[ALLOC_ZONE] = zone;
}

void acpi_loader_add_pointer(struct acpi_loader *loader, const char *dest_file,
                             const char *src_file, uint32_t offset,
                             uint8_t size)
{
    uint8_t *e = new_entry(loader, ACPI_LOADER_ADD_POINTER);

    put_name(e + PTR_DEST, dest_file);
    put_name(e + PTR_SRC, src_file);
    put32(e + PTR_OFFSET, offset);
    e[PTR_SIZE] = size;
}

void acpi_loader_add_checksum(struct acpi_loader *loader, const char *file,
                              uint32_t offset, uint32_t start, uint32_t length)
{
    uint8_t *e = new_entry(loader, ACPI_LOADER_ADD_CHECKSUM);

    put_name(e + CSUM_FILE, file);
    put32(e + CSUM_OFFSET, offset);
    put32(e + CSUM_START, start);
    put32(e + CSUM_LENGTH, length);
}

const uint8_t *acpi_loader_data(const struct acpi_loader *loader, size_t *len)
{
    *len = loader->script->len;
    return loader->script->data;
}

/* ---- the interpreter ------------------------------------------------------ */

static struct acpi_loader_file *find_file(const uint8_t *field,
                                          struct acpi_loader_file *files,
                                          unsigned nr_files, unsigned index,
                                          GError **error)
{
    char name[ACPI_LOADER_FILE_SIZE];

    if (!memchr(field, 0, ACPI_LOADER_FILE_SIZE)) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_FAILED,
                    "table-loader command %u: file name not terminated", index);
        return NULL;
    }
    memcpy(name, field, sizeof(name));
    for (unsigned i = 0; i < nr_files; i++)
        if (strcmp(files[i].name, name) == 0)
            return &files[i];
    g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_FAILED,
                "table-loader command %u: unknown file \"%s\"", index, name);
    return NULL;
}

static bool in_file(const struct acpi_loader_file *f, uint64_t start,
                    uint64_t length)
{
    return start <= f->data->len && length <= f->data->len - start;
}

int acpi_loader_run(const uint8_t *script, size_t len,
                    struct acpi_loader_file *files, unsigned nr_files,
                    GError **error)
{
    g_autofree bool *allocated = g_new0(bool, nr_files);

    if (len % ACPI_LOADER_ENTRY_SIZE) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_FAILED,
                    "table-loader is %zu bytes, not a multiple of %d", len,
                    ACPI_LOADER_ENTRY_SIZE);
        return -EINVAL;
    }
    for (unsigned i = 0; i < len / ACPI_LOADER_ENTRY_SIZE; i++) {
        const uint8_t *e = script + (size_t)i * ACPI_LOADER_ENTRY_SIZE;
        struct acpi_loader_file *f, *src;
        uint32_t offset, start, length, align;
        uint64_t value = 0;
        uint8_t size;

        switch (get32(e + CMD_OFF)) {
        case ACPI_LOADER_ALLOCATE:
            f = find_file(e + ALLOC_FILE, files, nr_files, i, error);
            if (!f)
                return -ENOENT;
            align = get32(e + ALLOC_ALIGN);
            if (allocated[f - files] || !align || (align & (align - 1)) ||
                f->addr % align ||
                (e[ALLOC_ZONE] != ACPI_LOADER_ZONE_HIGH &&
                 e[ALLOC_ZONE] != ACPI_LOADER_ZONE_FSEG)) {
                g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_FAILED,
                            "table-loader command %u: bad allocation of \"%s\" "
                            "(align %u, zone %u, at 0x%" G_GINT64_MODIFIER "x)",
                            i, f->name, align, e[ALLOC_ZONE], f->addr);
                return -EINVAL;
            }
            allocated[f - files] = true;
            break;
        case ACPI_LOADER_ADD_POINTER:
            f = find_file(e + PTR_DEST, files, nr_files, i, error);
            src = f ? find_file(e + PTR_SRC, files, nr_files, i, error) : NULL;
            if (!src)
                return -ENOENT;
            offset = get32(e + PTR_OFFSET);
            size = e[PTR_SIZE];
            if (!allocated[f - files] || !allocated[src - files] ||
                (size != 1 && size != 2 && size != 4 && size != 8) ||
                !in_file(f, offset, size)) {
                g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_FAILED,
                            "table-loader command %u: bad pointer %u+%u in \"%s\"",
                            i, offset, size, f->name);
                return -EINVAL;
            }
            memcpy(&value, f->data->data + offset, size);
            value = GUINT64_FROM_LE(value) + src->addr;
            value = GUINT64_TO_LE(value);
            memcpy(f->data->data + offset, &value, size);
            break;
        case ACPI_LOADER_ADD_CHECKSUM:
            f = find_file(e + CSUM_FILE, files, nr_files, i, error);
            if (!f)
                return -ENOENT;
            offset = get32(e + CSUM_OFFSET);
            start = get32(e + CSUM_START);
            length = get32(e + CSUM_LENGTH);
            if (!allocated[f - files] || !in_file(f, offset, 1) ||
                !in_file(f, start, length)) {
                g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_FAILED,
                            "table-loader command %u: bad checksum range in \"%s\"",
                            i, f->name);
                return -EINVAL;
            }
            f->data->data[offset] += acpi_checksum(f->data->data + start, length);
            break;
        default:
            /* SeaBIOS skips unknown commands; so does Mimic. */
            break;
        }
    }
    return 0;
}
