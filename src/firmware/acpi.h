/*
 * ACPI table layouts (ACPI 6.3, section 5.2), shared by the builders and
 * the tests that read the bytes back. Offsets are from a table's start.
 */
#ifndef HK_FIRMWARE_ACPI_H
#define HK_FIRMWARE_ACPI_H

#include <stdint.h>

#include "firmware/firmware.h"

#define ACPI_OEM_ID "HYPKIT"       /* 6 bytes */
#define ACPI_OEM_TABLE_ID "HYPERKIT"  /* 8 bytes */
#define ACPI_CREATOR_ID "HKIT"

/* 5.2.5.3 RSDP (revision 2: 36 bytes, the first 20 are ACPI 1.0's). */
#define RSDP_SIGNATURE "RSD PTR "
#define RSDP_CHECKSUM 8
#define RSDP_OEM_ID 9
#define RSDP_REVISION 15
#define RSDP_RSDT 16
#define RSDP_LENGTH 20
#define RSDP_XSDT 24
#define RSDP_EXT_CHECKSUM 32
#define RSDP_V1_SIZE 20
#define RSDP_SIZE 36

/* 5.2.6 System Description Table Header. */
#define ACPI_HDR_LENGTH 4
#define ACPI_HDR_REVISION 8
#define ACPI_HDR_CHECKSUM 9
#define ACPI_HDR_OEM_ID 10
#define ACPI_HDR_SIZE 36

/* 5.2.9 FADT, revision 6 minor 3 (Table 5-34). */
#define FADT_REVISION 6
#define FADT_MINOR 3
#define FADT_SIZE 276
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT 40
#define FADT_PM_PROFILE 45
#define FADT_SCI_INT 46
#define FADT_SMI_CMD 48
#define FADT_ACPI_ENABLE 52
#define FADT_ACPI_DISABLE 53
#define FADT_PM1A_EVT_BLK 56
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM_TMR_BLK 76
#define FADT_PM1_EVT_LEN 88
#define FADT_PM1_CNT_LEN 89
#define FADT_PM_TMR_LEN 91
#define FADT_P_LVL2_LAT 96
#define FADT_P_LVL3_LAT 98
#define FADT_CENTURY 108
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_MINOR_VERSION 131
#define FADT_X_FIRMWARE_CTRL 132
#define FADT_X_DSDT 140
#define FADT_X_PM1A_EVT_BLK 148
#define FADT_X_PM1A_CNT_BLK 172
#define FADT_X_PM_TMR_BLK 208

/* 5.2.9.3 IA-PC Boot Architecture Flags. */
#define IAPC_LEGACY_DEVICES (1u << 0)
#define IAPC_8042 (1u << 1)
#define IAPC_VGA_NOT_PRESENT (1u << 2)

/* 5.2.9 Table 5-35, Fixed ACPI Description Table Fixed Feature Flags. */
#define FADT_F_WBINVD (1u << 0)
#define FADT_F_PROC_C1 (1u << 2)
#define FADT_F_SLP_BUTTON (1u << 5)
#define FADT_F_FIX_RTC (1u << 6)
#define FADT_F_TMR_VAL_EXT (1u << 8)
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED (1u << 20)

/* 5.2.3.2 Generic Address Structure: 12 bytes. */
#define GAS_SIZE 12
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1
#define GAS_ACCESS_WORD 2
#define GAS_ACCESS_DWORD 3

/* 5.2.10 FACS. */
#define FACS_SIZE 64
#define FACS_VERSION 32

/* 5.2.12 MADT. */
#define MADT_REVISION 5
#define MADT_LAPIC_ADDR 36
#define MADT_FLAGS 40
#define MADT_ENTRIES 44
#define MADT_PCAT_COMPAT 1u
#define MADT_LAPIC 0            /* 5.2.12.2, 8 bytes */
#define MADT_IOAPIC 1           /* 5.2.12.3, 12 bytes */
#define MADT_ISO 2              /* 5.2.12.5, 10 bytes */
#define MADT_LAPIC_NMI 4        /* 5.2.12.7, 6 bytes */
/* MPS INTI flags (Table 5-50): polarity bits 1:0, trigger bits 3:2. */
#define MPS_ACTIVE_HIGH 0x1
#define MPS_ACTIVE_LOW 0x3
#define MPS_EDGE (0x1 << 2)
#define MPS_LEVEL (0x3 << 2)

/* The I/O APIC's ID: its register resets to 0 (ioapic.c) and nothing
 * reprograms it. With xAPICs (LAPIC version 0x14) local and I/O APIC IDs
 * live apart, so sharing 0 with the BSP is allowed, as in QEMU's tables. */
#define FW_IOAPIC_ID 0

/* Fill a 5.2.6 header (signature, length, revision, OEM fields). */
void acpi_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev);

/* Set the header checksum once the table is complete. */
void acpi_finish(uint8_t *t);

/* The DSDT (acpi_dsdt.c); *gpa gets its address. */
int acpi_dsdt_build(struct fw_area *a, const struct fw_platform *p, uint32_t *gpa);

#endif
