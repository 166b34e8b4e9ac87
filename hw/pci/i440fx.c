/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Intel 440FX PMC host bridge (data sheet 290549): identity, DRAM and
 * SMRAM registers, and the PAM registers (3.2.18) that decide whether each
 * segment of 0xC0000-0xFFFFF reads the BIOS ROM or its shadow in RAM.
 */
#define G_LOG_DOMAIN "mimic-i440fx"

#include "hw/pci/i440fx.h"

#include <string.h>

#include "engine/machine.h"
#include "engine/memory.h"
#include "engine/vm.h"

#define I440FX_VENDOR 0x8086
#define I440FX_DEVICE 0x1237
#define I440FX_REVISION 0x02
#define I440FX_CLASS 0x060000           /* bridge, host */

/* Configuration registers (290549, 3.2). */
#define PMCCFG 0x50
#define DBC 0x53
#define DRT 0x55
#define DRAMC 0x57
#define DRAMT 0x58
#define PAM0 0x59
#define PAM6 0x5f
#define DRB0 0x60
#define DRB7 0x67
#define FDHC 0x68
#define MTT 0x70
#define CLT 0x71
#define SMRAM 0x72
#define ERRCMD 0x90
#define ERRSTS 0x91
#define TRC 0x93

/* SMRAM control (3.2.24). */
#define SMRAM_D_OPEN 0x40
#define SMRAM_D_CLS 0x20
#define SMRAM_D_LCK 0x10
#define SMRAM_G_SMRAME 0x08
#define SMRAM_C_BASE_SEG 0x02           /* 010: SMRAM at 0xA0000 */

/* PAM attribute of one segment (3.2.18): read enable, write enable. */
#define PAM_RE 0x1
#define PAM_WE 0x2

#define PAM_SEGMENTS 13
#define ROM_WINDOW_MAX (128 << 10)

struct i440fx;

/*
 * Segment 0 is the 64 KiB BIOS area 0xF0000 (PAM0 bits 5:4); segments 1-12
 * are the 16 KiB pieces of 0xC0000-0xEFFFF, two per PAM1-PAM6 register.
 */
struct pam_segment {
    struct i440fx *host;
    uint32_t base, size;
    uint8_t *rom;                   /* BIOS bytes behind it, or NULL */
    unsigned mode;                  /* PAM_RE | PAM_WE, as mapped now */
    const struct memory_region *region;
};

struct i440fx {
    struct pci_device pci;
    struct pam_segment segments[PAM_SEGMENTS];
    bool logged_write_only;
};

static unsigned segment_mode(const struct i440fx *h, unsigned index)
{
    if (index == 0)
        return (h->pci.config[PAM0] >> 4) & 3;
    index--;
    return (h->pci.config[PAM0 + 1 + index / 2] >> (4 * (index % 2))) & 3;
}

/* Write-only shadowing: reads come from the ROM side, writes go to RAM. */
static uint64_t write_only_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pam_segment *s = opaque;
    uint64_t value = 0;

    if (!s->rom)
        return UINT64_MAX;
    for (unsigned i = 0; i < size && offset + i < s->size; i++)
        value |= (uint64_t)s->rom[offset + i] << (8 * i);
    return value;
}

static void write_only_write(void *opaque, uint64_t offset, uint64_t value,
                             unsigned size)
{
    struct pam_segment *s = opaque;
    uint8_t *ram = s->host->pci.dev.machine->ram + s->base;

    for (unsigned i = 0; i < size && offset + i < s->size; i++)
        ram[offset + i] = value >> (8 * i);
}

static const struct memory_ops write_only_ops = {
    .read = write_only_read,
    .write = write_only_write,
};

static void map_segment(struct i440fx *h, struct pam_segment *s, unsigned mode)
{
    struct machine *m = h->pci.dev.machine;
    uint8_t *ram = m->ram + s->base;
    g_autoptr(GError) error = NULL;
    g_autofree char *name = g_strdup_printf("pam-%05x", s->base);

    if (s->region && s->mode == mode)
        return;
    if (s->region) {
        memory_map_remove(m->memory, s->region);
        s->region = NULL;
    }
    s->mode = mode;
    switch (mode) {
    case 0:
        /* DRAM disabled: the cycle goes to PCI, where only the BIOS answers. */
        if (s->rom)
            s->region = memory_map_add_rom(m->memory, name, s->base, s->size,
                                           s->rom, &error);
        break;
    case PAM_RE:
        /* Reads from DRAM, writes to PCI (the ROM ignores them). */
        s->region = memory_map_add_rom(m->memory, name, s->base, s->size, ram,
                                       &error);
        break;
    case PAM_WE:
        if (!h->logged_write_only) {
            h->logged_write_only = true;
            g_message("i440fx: guest made 0x%05x write-only (PAM %u); served "
                      "by callbacks, slower (logged once)", s->base, mode);
        }
        s->region = memory_map_add_io(m->memory, name, s->base, s->size,
                                      &write_only_ops, s, &error);
        break;
    case PAM_RE | PAM_WE:
        s->region = memory_map_add_ram(m->memory, name, s->base, s->size, ram,
                                       &error);
        break;
    }
    /* Only possible if something else was mapped into the PAM area. */
    if (error)
        g_message("i440fx: PAM segment 0x%05x left unmapped: %s", s->base,
                  error->message);
}

static void update_pam(struct i440fx *h)
{
    for (unsigned i = 0; i < PAM_SEGMENTS; i++)
        map_segment(h, &h->segments[i], segment_mode(h, i));
}

static void i440fx_config_write(struct pci_device *d, unsigned offset,
                                uint32_t value, unsigned size)
{
    struct i440fx *h = (struct i440fx *)d;
    uint8_t old_smram = d->config[SMRAM];

    pci_default_config_write(d, offset, value, size);
    /*
     * D_LCK makes D_OPEN zero and SMRAM read-only until reset (3.2.24).
     * There is no SMM here: the register is only stored.
     */
    if (old_smram & SMRAM_D_LCK)
        d->config[SMRAM] = old_smram;
    else if (d->config[SMRAM] & SMRAM_D_LCK)
        d->config[SMRAM] &= ~SMRAM_D_OPEN;
    if (offset < PAM6 + 1 && offset + size > PAM0)
        update_pam(h);
}

static const struct pci_device_ops i440fx_pci_ops = {
    .config_write = i440fx_config_write,
};

/* Take out what the machine mapped in the PAM area; remember the BIOS bytes. */
static uint8_t *take_over_bios_area(struct machine *m, uint64_t *rom_base)
{
    uint8_t *rom = NULL;
    bool again = true;

    while (again) {
        again = false;
        for (unsigned i = 0; i < memory_map_region_count(m->memory); i++) {
            const struct memory_region *r = memory_map_region(m->memory, i);

            if (r->kind == MEMORY_REGION_IO || r->base < I440FX_PAM_START ||
                r->base + r->size > I440FX_PAM_END)
                continue;
            if (strcmp(r->name, "bios-isa") != 0 &&
                strcmp(r->name, "ram-rom-area") != 0)
                continue;
            if (strcmp(r->name, "bios-isa") == 0) {
                rom = r->host;
                *rom_base = r->base;
            }
            memory_map_remove(m->memory, r);
            again = true;
            break;
        }
    }
    if (!rom && m->bios && m->bios_size) {
        uint64_t size = MIN(m->bios_size, ROM_WINDOW_MAX);

        rom = m->bios + m->bios_size - size;
        *rom_base = I440FX_PAM_END - size;
    }
    return rom;
}

static void init_config(struct i440fx *h)
{
    struct pci_device *d = &h->pci;

    pci_device_init(d, "i440fx", I440FX_VENDOR, I440FX_DEVICE,
                    I440FX_REVISION, I440FX_CLASS, 0);
    d->ops = &i440fx_pci_ops;
    /* Power-on defaults (3.2): only the ones a BIOS looks at matter. */
    d->config[PCI_STATUS + 1] = 0x02;       /* DEVSEL# medium */
    d->config[MTT] = 0x20;
    d->config[CLT] = 0x10;
    d->config[SMRAM] = SMRAM_C_BASE_SEG;
    for (unsigned r = DRB0; r <= DRB7; r++)
        d->config[r] = 0x01;
    d->wmask[PCI_INTERRUPT_LINE] = 0;
    /* Memory access and bus master are hardwired on (3.2.3). */
    d->config[PCI_COMMAND] = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
    d->wmask[PCI_COMMAND] = 0;
    d->wmask[PCI_COMMAND + 1] = 0;
    memset(&d->wmask[PMCCFG], 0xff, DRAMT - PMCCFG + 1);
    d->wmask[PAM0] = 0x30;
    memset(&d->wmask[PAM0 + 1], 0x33, PAM6 - PAM0);
    memset(&d->wmask[DRB0], 0xff, FDHC - DRB0 + 1);
    d->wmask[MTT] = 0xf8;
    d->wmask[CLT] = 0xf8;
    d->wmask[SMRAM] = SMRAM_D_OPEN | SMRAM_D_CLS | SMRAM_D_LCK | SMRAM_G_SMRAME;
    d->wmask[ERRCMD] = 0xff;
    d->w1cmask[ERRSTS] = 0xff;
    d->wmask[TRC] = 0x06;
}

static void i440fx_reset(struct device *dev)
{
    struct i440fx *h = (struct i440fx *)dev;

    pci_device_reset(&h->pci);
    /* PAM back to 0: the BIOS reads from ROM again; the RAM copy stays. */
    update_pam(h);
}

static void i440fx_destroy(struct device *dev)
{
    g_free(dev);
}

struct device *i440fx_create(struct machine *m, struct pci_bus *bus,
                             GError **error)
{
    struct i440fx *h;
    uint64_t rom_base = I440FX_PAM_END;
    uint8_t *rom;

    if (!m->ram || m->ram_size < I440FX_PAM_END) {
        g_set_error(error, MIMIC_ERROR, MIMIC_ERROR_CONFIG,
                    "i440fx: the machine needs at least 1 MiB of RAM");
        return NULL;
    }
    h = g_new0(struct i440fx, 1);
    h->pci.dev.cls = &i440fx_device_class;
    init_config(h);
    if (pci_bus_add(bus, &h->pci, PCI_DEVFN(0, 0), error) < 0) {
        g_free(h);
        return NULL;
    }
    rom = take_over_bios_area(m, &rom_base);
    for (unsigned i = 0; i < PAM_SEGMENTS; i++) {
        struct pam_segment *s = &h->segments[i];

        s->host = h;
        s->base = i == 0 ? 0xf0000 : I440FX_PAM_START + (i - 1) * 0x4000;
        s->size = i == 0 ? 0x10000 : 0x4000;
        s->rom = rom && s->base >= rom_base ? rom + (s->base - rom_base) : NULL;
    }
    update_pam(h);
    return &h->pci.dev;
}

const struct device_class i440fx_device_class = {
    .name = "i440fx",
    .reset = i440fx_reset,
    .destroy = i440fx_destroy,
};
