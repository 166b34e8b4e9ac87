/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A machine: guest RAM, the memory and port-I/O maps, its devices, its
 * vCPUs and the accelerator that runs them. Machine definitions (pc, ...)
 * fill it in; the engine thread drives it.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/accel.h"
#include "engine/clock.h"
#include "engine/config.h"
#include "engine/memory.h"
#include "engine/vcpu.h"

struct device;

/* What a guest or the accelerator asked the machine to do; vCPU threads post these. */
enum machine_request {
    MACHINE_REQUEST_NONE = 0,
    MACHINE_REQUEST_RESET = 1,      /* guest reset or triple fault */
    MACHINE_REQUEST_POWEROFF = 2,   /* guest powered off */
    MACHINE_REQUEST_FAIL = 4,       /* the accelerator gave up */
};

struct machine;

typedef void (*machine_request_fn)(struct machine *m, void *opaque);

struct machine {
    const char *type;               /* "pc" */
    void *board;                    /* the machine type's own state */
    void (*board_free)(void *board);
    /* After every reset (and creation), vCPUs stopped: e.g. direct kernel boot. */
    int (*after_reset)(struct machine *m, GError **error);
    struct vm_config *config;       /* borrowed from the VM */

    uint8_t *ram;
    uint64_t ram_size;
    uint8_t *bios;                  /* firmware image, host copy */
    uint64_t bios_size;

    GMutex device_lock;             /* the machine-wide lock around device dispatch */
    struct memory_map *memory;
    struct memory_map *io;
    GPtrArray *devices;             /* struct device *, in creation order */
    GPtrArray *chardevs;            /* struct chardev *, closed at destroy */
    struct vclock *clock;
    GMainContext *context;          /* the engine's: back ends, timers */

    const struct accel_ops *accel;
    void *accel_state;

    unsigned nr_vcpus;
    struct vcpu **vcpus;

    /* Run control, guarded by run_lock. */
    GMutex run_lock;
    GCond run_cond;
    bool run;                       /* vCPUs may run */
    bool quit;                      /* vCPU threads must end */

    /*
     * What the machine type offers front ends; NULL when it has none. Called
     * on the engine thread without the device lock.
     */
    int (*screendump)(struct machine *m, const char *path, GError **error);
    char *(*text_screen)(struct machine *m);    /* text mode, or NULL */
    void (*power_button)(struct machine *m);
    void (*key_event)(struct machine *m, int keycode, bool down);
    void (*pointer_event)(struct machine *m, int dx, int dy, int dz,
                          unsigned buttons);

    /* Requests from guest/vCPU threads, consumed by the engine thread. */
    gint requests;                  /* atomic enum machine_request bits */
    int exit_code;                  /* for POWEROFF */
    machine_request_fn notify;      /* called after a request is posted */
    void *notify_opaque;
};

/* Build the machine named in @config; no vCPU runs yet. */
struct machine *machine_create(struct vm_config *config, struct vclock *clock,
                               GMainContext *context, GError **error);
/* Machine definitions: fill in memory and devices of a created machine. */
int machine_pc_build(struct machine *m, GError **error);
/* Open a back end that lives as long as the machine. */
struct chardev *machine_open_chardev(struct machine *m, const char *spec,
                                    GError **error);
void machine_destroy(struct machine *m);

/* Start the vCPU threads (parked until machine_resume). */
int machine_start_vcpus(struct machine *m, GError **error);
/* Let vCPUs run / stop them and wait until every one is parked. */
void machine_resume(struct machine *m);
void machine_pause(struct machine *m);
/* Reset devices, platform chips and CPUs; vCPUs must be paused. */
int machine_reset(struct machine *m, GError **error);

/* From devices (any thread): raise/lower interrupt line @gsi. */
void machine_set_irq(struct machine *m, unsigned gsi, bool level);
/* From devices or vCPU threads. */
void machine_request(struct machine *m, enum machine_request request,
                     int exit_code);
/* Take pending requests (engine thread). */
enum machine_request machine_take_requests(struct machine *m, int *exit_code);

void machine_add_device(struct machine *m, struct device *dev);
/* Load @length bytes into guest memory (RAM or ROM) at @addr. */
int machine_load(struct machine *m, uint64_t addr, const void *data,
                 size_t length, GError **error);
