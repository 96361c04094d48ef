/*
 * The tables a PC BIOS leaves in memory for the OS to find: ACPI (-A) and
 * the Intel MultiProcessor table (unless -Y). There is no BIOS, so they
 * are written once, before the guest starts, into the legacy BIOS area
 * that e820.c already reports reserved:
 *
 *   0xE0000  ACPI: RSDP (16-byte aligned, where ACPI 6.3 5.2.5.1 has an
 *            OS scan), RSDT, XSDT, FADT, FACS, MADT, DSDT
 *   0xF0000  MP floating pointer and configuration table (MP spec 1.4
 *            4: the OS scans 0xF0000-0xFFFFF)
 *
 *   firmware.c    the area allocator, checksums and the VM glue
 *   acpi.c        RSDP, RSDT, XSDT, FADT, FACS, MADT
 *   acpi_dsdt.c   the DSDT's AML (with acpi_aml.c, a small AML emitter)
 *   mptable.c     the MP table
 *
 * Builders fill a host buffer that stands for a window of guest-physical
 * memory (struct fw_area); every write is bounded by that window, and the
 * VM glue takes the window from gmem, so tests need no VM at all.
 */
#ifndef HK_FIRMWARE_FIRMWARE_H
#define HK_FIRMWARE_FIRMWARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"

struct vm;

#define FW_ACPI_BASE 0xe0000u
#define FW_ACPI_SIZE 0x10000u
#define FW_MPTABLE_BASE 0xf0000u
#define FW_MPTABLE_SIZE 0x10000u
#define FW_ACPI_RSDP FW_ACPI_BASE   /* the first thing in the ACPI area */

#define FW_MAX_CPUS 16

/* What the tables describe: the machine board/pc.c builds. */
struct fw_platform {
    int ncpus;                  /* local APIC IDs 0..ncpus-1 */
    bool com[2];                /* COM1 (0x3f8, IRQ 4), COM2 (0x2f8, IRQ 3) present */
};

/* A window of guest-physical memory being filled: buf holds its bytes. */
struct fw_area {
    uint8_t *buf;
    uint32_t gpa;
    uint32_t size;
    uint32_t used;
};

void fw_area_init(struct fw_area *a, uint8_t *buf, uint32_t gpa, uint32_t size);

/* Reserve len zeroed bytes at an align-aligned guest address (align a
 * power of two); NULL when the window is full. *gpa gets the address. */
uint8_t *fw_alloc(struct fw_area *a, uint32_t len, uint32_t align, uint32_t *gpa);

/* The byte that makes len bytes sum to 0 (mod 256) when stored among them
 * in place of a zero (ACPI 6.3 5.2.6 and MP spec 4.1 checksums). */
uint8_t fw_checksum(const uint8_t *p, size_t len);

/* ACPI tables in a; *rsdp gets the RSDP's guest address. 0 or HK_E*. */
int acpi_build(struct fw_area *a, const struct fw_platform *p, uint32_t *rsdp);

/* The MP floating pointer and configuration table in a. 0 or HK_E*. */
int mptable_build(struct fw_area *a, const struct fw_platform *p);

/* Write the tables the VM's flags ask for (ACPI with -A, the MP table
 * unless -Y) into guest RAM. Call once memory and devices exist. */
int firmware_tables_build(struct vm *vm, char *err, size_t errlen);

/* The RSDP's guest address if ACPI tables are in the VM's memory, else 0
 * (for the Linux zero page's acpi_rsdp_addr). */
uint64_t firmware_acpi_rsdp(const struct vm *vm);

#endif
