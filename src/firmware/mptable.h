/*
 * MP table layouts (Intel MultiProcessor Specification 1.4, chapter 4),
 * for mptable.c and the tests that read the bytes back.
 */
#ifndef HK_FIRMWARE_MPTABLE_H
#define HK_FIRMWARE_MPTABLE_H

#include "firmware/firmware.h"

#define MP_SPEC_REV_1_4 4

/* 4.1 MP Floating Pointer Structure (Table 4-1). */
#define MPF_SIGNATURE "_MP_"
#define MPF_CONFIG 4
#define MPF_LENGTH 8
#define MPF_SPEC_REV 9
#define MPF_CHECKSUM 10
#define MPF_FEATURE1 11
#define MPF_FEATURE2 12
#define MPF_SIZE 16

/* 4.2 MP Configuration Table Header (Table 4-2). */
#define MPC_SIGNATURE "PCMP"
#define MPC_LENGTH 4
#define MPC_SPEC_REV 6
#define MPC_CHECKSUM 7
#define MPC_OEM_ID 8
#define MPC_PRODUCT_ID 16
#define MPC_ENTRY_COUNT 34
#define MPC_LAPIC_ADDR 36
#define MPC_SIZE 44

/* 4.3 entry types (Table 4-3) and fields. */
#define MP_PROCESSOR 0     /* 20 bytes */
#define MP_BUS 1           /* 8 bytes from here on */
#define MP_IOAPIC 2
#define MP_IOINTR 3
#define MP_LINTR 4
#define MP_CPU_EN 0x01
#define MP_CPU_BP 0x02
#define MP_IOAPIC_EN 0x01
/* Interrupt types (Table 4-11). */
#define MP_INT 0
#define MP_NMI 1
#define MP_SMI 2
#define MP_EXTINT 3

/* Bus IDs: the PCI bus keeps its number, ISA follows. */
#define MP_BUS_PCI 0
#define MP_BUS_ISA 1

#endif
