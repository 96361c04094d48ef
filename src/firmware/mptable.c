/*
 * The Intel MultiProcessor Specification 1.4 tables (order no. 242016-006):
 * a floating pointer structure (4.1) where an OS scans for it, and the
 * configuration table (4.2, 4.3) after it: processors, buses, the I/O APIC
 * and how each ISA IRQ, PCI INTx pin and local APIC input is wired. Linux
 * reads it only without ACPI's MADT (acpi=off, or no -A).
 */
#include <string.h>

#include "devices/irqchip/ioapic.h"
#include "devices/irqchip/lapic.h"
#include "devices/lpc/acpi_pm.h"
#include "devices/pci/pci.h"
#include "firmware/acpi.h"
#include "firmware/mptable.h"
#include "hyperkit.h"

/* Processor entry fields (4.3.1): family 6, which both engines' CPUID
 * reports (model and stepping differ between engines: left 0), and the
 * CPUID.1:EDX bits the spec asks for, FPU and APIC. */
#define MP_CPU_SIGNATURE (6u << 8)
#define MP_CPU_FEATURES ((1u << 0) | (1u << 9))
#define MP_LAPIC_VERSION 0x14       /* lapic.h LAPIC_VERSION's low byte */
#define MP_IOAPIC_VERSION 0x11      /* ioapic.c */

static uint8_t *entry(uint8_t **e, uint8_t type, unsigned len, uint16_t *count)
{
    uint8_t *p = *e;
    p[0] = type;
    *e += len;
    (*count)++;
    return p;
}

/* 4.3.4 I/O interrupt and 4.3.5 local interrupt assignment entries share
 * one layout. */
static void intr(uint8_t **e, uint16_t *count, uint8_t type, uint8_t kind, uint16_t flags,
                 uint8_t bus, uint8_t irq, uint8_t dest, uint8_t pin)
{
    uint8_t *p = entry(e, type, 8, count);
    p[1] = kind;
    put16(p + 2, flags);
    p[4] = bus;
    p[5] = irq;
    p[6] = dest;
    p[7] = pin;
}

/* The ISA IRQs on the I/O APIC as irqchip.c wires them: IRQ n to pin n,
 * except the PIT's IRQ 0 on pin 2 (and IRQ 2, the PIC cascade, nowhere).
 * They conform to the ISA bus (edge, high) but the SCI, level and high as
 * in the MADT. The 8259's INTR reaches the BSP's LINT0 (virtual wire),
 * not an I/O APIC pin, so there is no ExtINT I/O entry. */
static void interrupts(uint8_t **e, uint16_t *count)
{
    for (uint8_t irq = 0; irq < 16; irq++) {
        if (irq == 2)
            continue;
        uint16_t flags = irq == ACPI_PM_SCI_IRQ ? MPS_LEVEL | MPS_ACTIVE_HIGH : 0;
        intr(e, count, MP_IOINTR, MP_INT, flags, MP_BUS_ISA, irq, FW_IOAPIC_ID,
             irq == 0 ? 2 : irq);
    }
    /* PCI INTx (appendix D): source bus IRQ = slot << 2 | pin (0: INTA#), level
     * and active low as PCI lines are, on the pin pci_intx_gsi routes to
     * (the _PRT says the same). */
    for (int slot = 0; slot < PCI_SLOTS; slot++)
        for (int pin = 0; pin < 4; pin++)
            intr(e, count, MP_IOINTR, MP_INT, MPS_LEVEL | MPS_ACTIVE_LOW, MP_BUS_PCI,
                 (uint8_t)(slot << 2 | pin), FW_IOAPIC_ID,
                 (uint8_t)pci_intx_gsi(slot, pin + 1));
    intr(e, count, MP_LINTR, MP_EXTINT, 0, MP_BUS_ISA, 0, 0xff, 0);
    intr(e, count, MP_LINTR, MP_NMI, 0, MP_BUS_ISA, 0, 0xff, 1);
}

/* The base table's entries in the order 4.3 requires (by type); returns
 * the bytes written at e. */
static uint32_t entries(uint8_t *e, const struct fw_platform *p, uint16_t *count)
{
    uint8_t *start = e;
    for (int i = 0; i < p->ncpus; i++) {
        uint8_t *c = entry(&e, MP_PROCESSOR, 20, count);
        c[1] = (uint8_t)i;
        c[2] = MP_LAPIC_VERSION;
        c[3] = MP_CPU_EN | (i == 0 ? MP_CPU_BP : 0);
        put32(c + 4, MP_CPU_SIGNATURE);
        put32(c + 8, MP_CPU_FEATURES);
    }
    uint8_t *b = entry(&e, MP_BUS, 8, count);
    b[1] = MP_BUS_PCI;
    memcpy(b + 2, "PCI   ", 6);
    b = entry(&e, MP_BUS, 8, count);
    b[1] = MP_BUS_ISA;
    memcpy(b + 2, "ISA   ", 6);
    uint8_t *io = entry(&e, MP_IOAPIC, 8, count);
    io[1] = FW_IOAPIC_ID;
    io[2] = MP_IOAPIC_VERSION;
    io[3] = MP_IOAPIC_EN;
    put32(io + 4, (uint32_t)IOAPIC_BASE);
    interrupts(&e, count);
    return (uint32_t)(e - start);
}

#define MP_MAX_ENTRIES_SIZE (20 * FW_MAX_CPUS + 8 * 2 + 8 + 8 * 17 + 8 * 4 * PCI_SLOTS)

int mptable_build(struct fw_area *a, const struct fw_platform *p)
{
    if (p->ncpus < 1 || p->ncpus > FW_MAX_CPUS)
        return HK_EINVAL;
    uint8_t tmp[MP_MAX_ENTRIES_SIZE];
    uint16_t count = 0;
    uint32_t len = MPC_SIZE + entries(tmp, p, &count);
    uint32_t fp_gpa, cfg_gpa;
    uint8_t *fp = fw_alloc(a, MPF_SIZE, 16, &fp_gpa);
    uint8_t *cfg = fp ? fw_alloc(a, len, 16, &cfg_gpa) : NULL;
    if (!cfg)
        return HK_ENOMEM;
    /* 4.2 configuration table header. */
    memcpy(cfg, MPC_SIGNATURE, 4);
    put16(cfg + MPC_LENGTH, (uint16_t)len);
    cfg[MPC_SPEC_REV] = MP_SPEC_REV_1_4;
    memcpy(cfg + MPC_OEM_ID, "HYPERKIT", 8);
    memcpy(cfg + MPC_PRODUCT_ID, "HYPERKIT    ", 12);
    put16(cfg + MPC_ENTRY_COUNT, count);
    put32(cfg + MPC_LAPIC_ADDR, (uint32_t)LAPIC_BASE);
    memcpy(cfg + MPC_SIZE, tmp, len - MPC_SIZE);
    cfg[MPC_CHECKSUM] = fw_checksum(cfg, len);
    /* 4.1 floating pointer: feature byte 1 = 0 (a configuration table is
     * present); byte 2's IMCRP clear: virtual wire mode, there is no IMCR. */
    memcpy(fp, MPF_SIGNATURE, 4);
    put32(fp + MPF_CONFIG, cfg_gpa);
    fp[MPF_LENGTH] = 1;   /* in 16-byte units */
    fp[MPF_SPEC_REV] = MP_SPEC_REV_1_4;
    fp[MPF_CHECKSUM] = fw_checksum(fp, MPF_SIZE);
    return HK_OK;
}
