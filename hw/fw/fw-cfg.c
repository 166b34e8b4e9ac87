/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fw_cfg: keyed and named blobs the firmware reads through a selector port,
 * a byte-wide data port and a DMA address register (QEMU docs/specs/fw_cfg.rst).
 */
#define G_LOG_DOMAIN "mimic-fw-cfg"

#include "hw/fw/fw-cfg.h"

#include <errno.h>
#include <string.h>

#include "engine/machine.h"
#include "engine/memory.h"
#include "engine/vm.h"

/* Offsets in the 0x510 port window. */
#define OFF_SELECTOR 0
#define OFF_DATA 1
#define OFF_DMA_HIGH 4
#define OFF_DMA_LOW 8

#define DMA_ACCESS_SIZE 16      /* struct FWCfgDmaAccess */
#define DMA_CHUNK 4096

enum {
    LOGGED_DMA_ACCESS = 1 << 0,     /* the FWCfgDmaAccess itself unreadable */
    LOGGED_DMA_ADDRESS = 1 << 1,    /* data address outside RAM */
    LOGGED_WRITE = 1 << 2,          /* write to a read-only item */
    LOGGED_ACCESS = 1 << 3,         /* odd width or offset */
    LOGGED_CONTROL = 1 << 4,        /* unknown DMA control bits */
};

struct fw_cfg_item {
    uint8_t *data;
    size_t len;
};

struct fw_cfg_file {
    char name[FW_CFG_FILE_NAME_MAX];
    uint16_t key;
};

struct fw_cfg {
    struct device dev;
    GHashTable *items;          /* key (GUINT_TO_POINTER) -> struct fw_cfg_item * */
    GArray *files;              /* struct fw_cfg_file, in key order */

    uint16_t cur_key;
    struct fw_cfg_item *cur;    /* NULL: no item under the selected key */
    uint64_t cur_offset;
    uint64_t dma_addr;          /* the big-endian register, as a number */
    unsigned logged;
};

static struct fw_cfg *to_fw_cfg(struct device *dev)
{
    g_return_val_if_fail(dev && dev->cls == &fw_cfg_device_class, NULL);
    return (struct fw_cfg *)dev;
}

static void log_once(struct fw_cfg *fw, unsigned what, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static void log_once(struct fw_cfg *fw, unsigned what, const char *fmt, ...)
{
    g_autofree char *text = NULL;
    va_list ap;

    if (fw->logged & what)
        return;
    fw->logged |= what;
    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_message("fw_cfg: %s; ignored (logged once)", text);
}

static void item_free(gpointer data)
{
    struct fw_cfg_item *item = data;

    g_free(item->data);
    g_free(item);
}

/* Bit 14 (the old write channel) is not part of the item's key. */
static uint16_t normalize_key(uint16_t key)
{
    return key & ~FW_CFG_WRITE_CHANNEL;
}

static void set_item(struct fw_cfg *fw, uint16_t key, uint8_t *data, size_t len)
{
    struct fw_cfg_item *item = g_new0(struct fw_cfg_item, 1);

    key = normalize_key(key);
    item->data = data;
    item->len = len;
    g_hash_table_replace(fw->items, GUINT_TO_POINTER(key), item);
    /* The selected item may have been replaced: look it up again. */
    fw->cur = g_hash_table_lookup(fw->items, GUINT_TO_POINTER(fw->cur_key));
}

static void select_key(struct fw_cfg *fw, uint16_t key)
{
    fw->cur_key = normalize_key(key);
    fw->cur = g_hash_table_lookup(fw->items, GUINT_TO_POINTER(fw->cur_key));
    fw->cur_offset = 0;
}

/* FW_CFG_FILE_DIR: a big-endian count, then 64-byte entries. */
static void update_directory(struct fw_cfg *fw)
{
    size_t len = 4 + (size_t)fw->files->len * FW_CFG_FILE_ENTRY_SIZE;
    uint8_t *dir = g_malloc0(len);
    uint32_t count = GUINT32_TO_BE(fw->files->len);

    memcpy(dir, &count, 4);
    for (unsigned i = 0; i < fw->files->len; i++) {
        const struct fw_cfg_file *f = &g_array_index(fw->files, struct fw_cfg_file, i);
        const struct fw_cfg_item *item =
            g_hash_table_lookup(fw->items, GUINT_TO_POINTER(f->key));
        uint8_t *e = dir + 4 + (size_t)i * FW_CFG_FILE_ENTRY_SIZE;
        uint32_t size = GUINT32_TO_BE(item ? (uint32_t)item->len : 0);
        uint16_t select = GUINT16_TO_BE(f->key);

        memcpy(e, &size, 4);
        memcpy(e + 4, &select, 2);
        memcpy(e + 8, f->name, strlen(f->name));
    }
    set_item(fw, FW_CFG_FILE_DIR, dir, len);
}

void fw_cfg_add_bytes(struct device *dev, uint16_t key, const void *data,
                      size_t len)
{
    struct fw_cfg *fw = to_fw_cfg(dev);

    g_return_if_fail(fw);
    g_return_if_fail(key != FW_CFG_FILE_DIR);
    set_item(fw, key, g_memdup2(data, len), len);
}

void fw_cfg_add_i16(struct device *fw, uint16_t key, uint16_t value)
{
    uint16_t le = GUINT16_TO_LE(value);

    fw_cfg_add_bytes(fw, key, &le, sizeof(le));
}

void fw_cfg_add_i32(struct device *fw, uint16_t key, uint32_t value)
{
    uint32_t le = GUINT32_TO_LE(value);

    fw_cfg_add_bytes(fw, key, &le, sizeof(le));
}

void fw_cfg_add_i64(struct device *fw, uint16_t key, uint64_t value)
{
    uint64_t le = GUINT64_TO_LE(value);

    fw_cfg_add_bytes(fw, key, &le, sizeof(le));
}

void fw_cfg_add_string(struct device *fw, uint16_t key, const char *value)
{
    fw_cfg_add_bytes(fw, key, value, strlen(value) + 1);
}

int fw_cfg_add_file_take(struct device *dev, const char *name, void *data,
                         size_t len, GError **error)
{
    struct fw_cfg *fw = to_fw_cfg(dev);
    struct fw_cfg_file file = { 0 };
    unsigned i;

    g_return_val_if_fail(fw && name, -EINVAL);
    if (strlen(name) >= FW_CFG_FILE_NAME_MAX || !*name) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "fw_cfg file name \"%s\" must be 1 to %d characters",
                    name, FW_CFG_FILE_NAME_MAX - 1);
        g_free(data);
        return -EINVAL;
    }
    if (len > UINT32_MAX) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "fw_cfg file \"%s\" is larger than 4 GiB", name);
        g_free(data);
        return -EFBIG;
    }
    for (i = 0; i < fw->files->len; i++) {
        const struct fw_cfg_file *f = &g_array_index(fw->files, struct fw_cfg_file, i);

        if (strcmp(f->name, name) == 0) {
            set_item(fw, f->key, data, len);
            update_directory(fw);
            return f->key;
        }
    }
    if (fw->files->len >= FW_CFG_MAX_FILES) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "fw_cfg: no room for file \"%s\" (%u files)", name,
                    fw->files->len);
        g_free(data);
        return -ENOSPC;
    }
    strcpy(file.name, name);
    file.key = FW_CFG_FILE_FIRST + fw->files->len;
    g_array_append_val(fw->files, file);
    set_item(fw, file.key, data, len);
    update_directory(fw);
    return file.key;
}

int fw_cfg_add_file(struct device *fw, const char *name, const void *data,
                    size_t len, GError **error)
{
    return fw_cfg_add_file_take(fw, name, g_memdup2(data, len), len, error);
}

const uint8_t *fw_cfg_lookup_file(struct device *dev, const char *name,
                                  size_t *len)
{
    struct fw_cfg *fw = to_fw_cfg(dev);

    g_return_val_if_fail(fw, NULL);
    for (unsigned i = 0; i < fw->files->len; i++) {
        const struct fw_cfg_file *f = &g_array_index(fw->files, struct fw_cfg_file, i);
        const struct fw_cfg_item *item;

        if (strcmp(f->name, name) != 0)
            continue;
        item = g_hash_table_lookup(fw->items, GUINT_TO_POINTER(f->key));
        if (len)
            *len = item->len;
        return item->data;
    }
    return NULL;
}

/* The next byte of the selected item; past its end, 0 (fw_cfg.rst, "Data Register"). */
static uint8_t read_data_byte(struct fw_cfg *fw)
{
    uint8_t byte = 0;

    if (fw->cur && fw->cur_offset < fw->cur->len) {
        byte = fw->cur->data[fw->cur_offset];
        fw->cur_offset++;
    }
    return byte;
}

/* ---- DMA ------------------------------------------------------------------ */

static bool dma_read_item(struct fw_cfg *fw, uint64_t addr, uint32_t length)
{
    static const uint8_t zeros[DMA_CHUNK];
    struct memory_map *mem = fw->dev.machine->memory;
    uint64_t done = 0;

    while (done < length) {
        const uint8_t *src = zeros;
        uint64_t chunk = MIN((uint64_t)length - done, DMA_CHUNK);

        if (fw->cur && fw->cur_offset < fw->cur->len) {
            chunk = MIN(chunk, fw->cur->len - fw->cur_offset);
            src = fw->cur->data + fw->cur_offset;
        }
        if (!mem || memory_map_write(mem, addr + done, src, chunk, false) < 0) {
            log_once(fw, LOGGED_DMA_ADDRESS,
                     "DMA read of key 0x%x into 0x%" G_GINT64_MODIFIER "x+0x%x "
                     "is outside RAM", fw->cur_key, addr, length);
            return false;
        }
        if (fw->cur && fw->cur_offset < fw->cur->len)
            fw->cur_offset += chunk;
        done += chunk;
    }
    return true;
}

/* Run the FWCfgDmaAccess at @access (fw_cfg.rst, "Guest-side DMA Interface"). */
static void dma_transfer(struct fw_cfg *fw, uint64_t access)
{
    struct memory_map *mem = fw->dev.machine->memory;
    uint8_t desc[DMA_ACCESS_SIZE];
    uint32_t control, length, result;
    uint64_t address;
    bool ok = true;

    if (!mem || memory_map_read(mem, access, desc, sizeof(desc)) < 0) {
        log_once(fw, LOGGED_DMA_ACCESS, "DMA descriptor at 0x%" G_GINT64_MODIFIER
                 "x is outside RAM", access);
        return;
    }
    memcpy(&control, desc, 4);
    memcpy(&length, desc + 4, 4);
    memcpy(&address, desc + 8, 8);
    control = GUINT32_FROM_BE(control);
    length = GUINT32_FROM_BE(length);
    address = GUINT64_FROM_BE(address);

    if (control & FW_CFG_DMA_CTL_SELECT)
        select_key(fw, control >> 16);
    if (control & FW_CFG_DMA_CTL_READ) {
        ok = dma_read_item(fw, address, length);
    } else if (control & FW_CFG_DMA_CTL_WRITE) {
        /* Every Mimic item is read-only: the write is rejected. */
        log_once(fw, LOGGED_WRITE, "DMA write to read-only key 0x%x",
                 fw->cur_key);
        ok = false;
    } else if (control & FW_CFG_DMA_CTL_SKIP) {
        if (fw->cur)
            fw->cur_offset = MIN(fw->cur_offset + length, (uint64_t)fw->cur->len);
    } else if (control & ~(0xffff0000u | FW_CFG_DMA_CTL_SELECT)) {
        log_once(fw, LOGGED_CONTROL, "DMA control 0x%x has no operation", control);
        ok = false;
    }

    result = GUINT32_TO_BE(ok ? 0 : FW_CFG_DMA_CTL_ERROR);
    if (memory_map_write(mem, access, &result, 4, false) < 0)
        log_once(fw, LOGGED_DMA_ACCESS, "DMA descriptor at 0x%" G_GINT64_MODIFIER
                 "x is not writable", access);
}

/* ---- ports ---------------------------------------------------------------- */

static uint64_t fw_cfg_read(void *opaque, uint64_t offset, unsigned size)
{
    struct fw_cfg *fw = opaque;
    uint64_t value = 0;

    if (offset == OFF_DATA) {
        /* Wider reads return the next bytes in memory order. */
        for (unsigned i = 0; i < size; i++)
            value |= (uint64_t)read_data_byte(fw) << (8 * i);
        return value;
    }
    if (offset >= OFF_DMA_HIGH && offset + size <= OFF_DMA_HIGH + 8) {
        /* The DMA register reads as "QEMU CFG", most significant byte first. */
        for (unsigned i = 0; i < size; i++) {
            unsigned byte = offset - OFF_DMA_HIGH + i;

            value |= ((FW_CFG_DMA_SIGNATURE >> (8 * (7 - byte))) & 0xff) << (8 * i);
        }
        return value;
    }
    /* The selector is write-only; the gap ports read as nothing. */
    return 0;
}

static void fw_cfg_write(void *opaque, uint64_t offset, uint64_t value,
                         unsigned size)
{
    struct fw_cfg *fw = opaque;

    switch (offset) {
    case OFF_SELECTOR:
        select_key(fw, value);
        return;
    case OFF_DATA:
        /* Ignored since QEMU 2.4 (fw_cfg.rst, "Selector Register"). */
        log_once(fw, LOGGED_WRITE, "write to the data port (key 0x%x)",
                 fw->cur_key);
        return;
    case OFF_DMA_HIGH:
        if (size == 8) {
            fw->dma_addr = GUINT64_FROM_BE(value);
            dma_transfer(fw, fw->dma_addr);
            fw->dma_addr = 0;
            return;
        }
        if (size == 4) {
            fw->dma_addr = (uint64_t)GUINT32_FROM_BE((uint32_t)value) << 32 |
                           (fw->dma_addr & 0xffffffffu);
            return;
        }
        break;
    case OFF_DMA_LOW:
        if (size == 4) {
            /* The low half triggers the transfer; the register then reads 0. */
            fw->dma_addr = (fw->dma_addr & ~0xffffffffull) |
                           GUINT32_FROM_BE((uint32_t)value);
            dma_transfer(fw, fw->dma_addr);
            fw->dma_addr = 0;
            return;
        }
        break;
    }
    log_once(fw, LOGGED_ACCESS, "%u-byte write of 0x%" G_GINT64_MODIFIER
             "x at port 0x%x", size, value, FW_CFG_IO_BASE + (unsigned)offset);
}

static const struct memory_ops fw_cfg_ops = {
    .read = fw_cfg_read,
    .write = fw_cfg_write,
};

static void fw_cfg_reset(struct device *dev)
{
    struct fw_cfg *fw = to_fw_cfg(dev);

    select_key(fw, FW_CFG_SIGNATURE);
    fw->dma_addr = 0;
}

static void fw_cfg_destroy(struct device *dev)
{
    struct fw_cfg *fw = to_fw_cfg(dev);

    g_hash_table_unref(fw->items);
    g_array_unref(fw->files);
    g_free(fw);
}

struct device *fw_cfg_create(struct machine *m, GError **error)
{
    struct fw_cfg *fw = g_new0(struct fw_cfg, 1);
    unsigned cpus = m->nr_vcpus;
    static const uint8_t no_uuid[16];

    if (!cpus)
        cpus = m->config && m->config->smp ? m->config->smp : 1;
    fw->dev.cls = &fw_cfg_device_class;
    fw->dev.machine = m;
    fw->items = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                      item_free);
    fw->files = g_array_new(FALSE, TRUE, sizeof(struct fw_cfg_file));
    if (!memory_map_add_io(m->io, "fw_cfg", FW_CFG_IO_BASE, FW_CFG_IO_SIZE,
                           &fw_cfg_ops, fw, error)) {
        fw_cfg_destroy(&fw->dev);
        return NULL;
    }

    fw_cfg_add_bytes(&fw->dev, FW_CFG_SIGNATURE, "QEMU", 4);
    fw_cfg_add_i32(&fw->dev, FW_CFG_ID, FW_CFG_VERSION | FW_CFG_VERSION_DMA);
    fw_cfg_add_bytes(&fw->dev, FW_CFG_UUID, no_uuid, sizeof(no_uuid));
    fw_cfg_add_i64(&fw->dev, FW_CFG_RAM_SIZE, m->ram_size);
    fw_cfg_add_i16(&fw->dev, FW_CFG_NOGRAPHIC, 0);
    fw_cfg_add_i16(&fw->dev, FW_CFG_NB_CPUS, cpus);
    fw_cfg_add_i16(&fw->dev, FW_CFG_MAX_CPUS, cpus);
    fw_cfg_add_i16(&fw->dev, FW_CFG_BOOT_MENU, 0);
    update_directory(fw);
    select_key(fw, FW_CFG_SIGNATURE);
    machine_add_device(m, &fw->dev);
    return &fw->dev;
}

const struct device_class fw_cfg_device_class = {
    .name = "fw_cfg",
    .reset = fw_cfg_reset,
    .destroy = fw_cfg_destroy,
};
