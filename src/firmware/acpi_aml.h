/*
 * A tiny AML byte emitter (ACPI 6.3 section 20, "ACPI Machine Language
 * (AML) Specification"): just the terms a static DSDT needs. Nested
 * objects (Scope, Device, Package, Buffer) are opened, filled and closed;
 * closing computes the PkgLength (20.2.4) and inserts it. Writing past the
 * buffer sets overflow and drops the rest: check it once at the end.
 */
#ifndef HK_FIRMWARE_ACPI_AML_H
#define HK_FIRMWARE_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
    uint8_t *buf;
    size_t len, cap;
    bool overflow;
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/* NameString (20.2.2): "\\_SB.PCI0", "_S5", "^FOO"; short segments are
 * padded with '_' as ASL does. */
void aml_namestring(struct aml *a, const char *path);

/* ComputationalData (20.2.3): the shortest encoding of v. */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);

/* EisaId("PNP0A03"): the compressed 32-bit EISA ID as an integer (6.1.5). */
void aml_eisaid(struct aml *a, const char *id);
uint32_t aml_eisaid_value(const char *id);

/* Name(NAME, ...): the caller emits the object that follows. */
void aml_name(struct aml *a, const char *name);

/* Scope/Device/Package/Buffer: open returns a mark to pass to the close. */
size_t aml_scope_open(struct aml *a, const char *name);
size_t aml_device_open(struct aml *a, const char *name);
size_t aml_package_open(struct aml *a, uint8_t nelements);
size_t aml_buffer_open(struct aml *a);
void aml_close(struct aml *a, size_t mark);          /* Scope, Device, Package */
void aml_buffer_close(struct aml *a, size_t mark);   /* adds the BufferSize */

/* ResourceTemplate() (6.4): a Buffer of descriptors ending in an End Tag. */
size_t aml_restemplate_open(struct aml *a);
void aml_restemplate_close(struct aml *a, size_t mark);
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);      /* IO(Decode16, ...) */
void aml_res_irq(struct aml *a, unsigned irq);                   /* IRQNoFlags() {irq} */
void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max);

/* AML opcodes used outside the emitter (tests decode with them too). */
#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE 0x10
#define AML_BUFFER 0x11
#define AML_PACKAGE 0x12
#define AML_EXT_PREFIX 0x5b
#define AML_DEVICE 0x82          /* after AML_EXT_PREFIX */
#define AML_ROOT_CHAR 0x5c
#define AML_PARENT_PREFIX 0x5e
#define AML_DUAL_NAME 0x2e
#define AML_MULTI_NAME 0x2f
#define AML_ONES 0xff

/* Decode a PkgLength at p (n bytes available): its value, and in *used
 * the bytes it took; 0 on malformed input. */
uint32_t aml_pkglength_decode(const uint8_t *p, size_t n, size_t *used);

#endif
