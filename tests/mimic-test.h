/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers for tests that run mimic-system as a child process. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

struct run_result {
    int status;             /* exit status, or -1 if killed by a signal */
    gboolean timed_out;
    char *out;
    char *err;
};

/* The built mimic-system and files of the build tree. */
const char *mimic_test_system(void);
char *mimic_test_build_path(const char *relative);
/* A fresh temporary directory, removed with mimic_test_remove_dir. */
char *mimic_test_make_dir(void);
void mimic_test_remove_dir(char *dir);

/* NULL if /dev/kvm can be used, else why not. */
const char *mimic_test_kvm_unusable(void);

/* Run mimic-system with @args (NULL-terminated), at most @timeout_s seconds. */
void mimic_test_run(const char *const *args, int timeout_s, struct run_result *r);
/* Start mimic-system in the background (stdout/stderr to files in @dir). */
GSubprocess *mimic_test_spawn(const char *const *args, const char *dir);
void run_result_clear(struct run_result *r);

/* How many times @needle occurs in @haystack. */
unsigned count_occurrences(const char *haystack, const char *needle);

/* A QMP client for tests: replies in order, events kept aside. */
struct qmp {
    GSocket *socket;
    GString *buffer;
    GPtrArray *events;          /* event names received */
};

/* Connect to @path (retrying while mimic-system starts); no greeting read. */
void qmp_connect(struct qmp *q, const char *path);
void qmp_close(struct qmp *q);
/* The next message, whatever it is. */
JsonObject *qmp_read(struct qmp *q);
void qmp_send_raw(struct qmp *q, const char *text);
/* Send @text; return the reply, keeping events that come before it. */
JsonObject *qmp_call(struct qmp *q, const char *text);
/* The call must succeed. */
void qmp_ok(struct qmp *q, const char *text);
/* The call must fail; its error class. */
char *qmp_error_class(struct qmp *q, const char *text);
