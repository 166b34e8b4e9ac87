/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small ACPI Machine Language encoder (ACPI 6.5, 20 "ACPI Machine Language
 * Specification"): each call returns a byte string; containers take their
 * body and wrap it with the package length. Arguments passed as `struct aml *`
 * are consumed.
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
    GByteArray *bytes;
};

struct aml *aml_new(void);
void aml_free(struct aml *a);
/* Append @child (consumed) to @parent; returns @parent. */
struct aml *aml_append(struct aml *parent, struct aml *child);
const uint8_t *aml_data(const struct aml *a, size_t *len);

/* Data objects (20.2.3). */
struct aml *aml_int(uint64_t value);
struct aml *aml_string(const char *text);
struct aml *aml_eisaid(const char *id);         /* "PNP0A03" as a DWORD */
struct aml *aml_buffer(const void *data, size_t len);
/* Package (20.2.5.4): @count elements, already encoded in @elements. */
struct aml *aml_package(unsigned count, struct aml *elements);
/* A reference to a named object: "\\_SB.PCI0", "_S5", "^LNKA". */
struct aml *aml_name(const char *path);

/* Named objects and statements (20.2.5). */
struct aml *aml_name_decl(const char *name, struct aml *value);
struct aml *aml_scope(const char *name, struct aml *body);
struct aml *aml_device(const char *name, struct aml *body);
struct aml *aml_method(const char *name, unsigned nargs, struct aml *body);
struct aml *aml_return(struct aml *value);

/* Resource descriptors (6.4), collected into a ResourceTemplate buffer. */
struct aml *aml_resource_template(struct aml *descriptors);
struct aml *aml_res_io(uint16_t min, uint16_t max, uint8_t align, uint8_t length);
struct aml *aml_res_irq(uint16_t mask);         /* ISA edge, active-high */
/* Extended Interrupt: one GSI, level-triggered, active-high, shared. */
struct aml *aml_res_interrupt_level_high(uint32_t gsi);
struct aml *aml_res_word_bus(uint16_t min, uint16_t max);
struct aml *aml_res_word_io(uint16_t min, uint16_t max);
enum aml_cacheable { AML_NON_CACHEABLE = 0, AML_CACHEABLE = 1 };
struct aml *aml_res_dword_memory(uint32_t min, uint32_t max,
                                 enum aml_cacheable cacheable);
struct aml *aml_res_qword_memory(uint64_t min, uint64_t max,
                                 enum aml_cacheable cacheable);
