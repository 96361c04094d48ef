/*
 * 82093AA-style I/O APIC: 24 redirection entries behind the indirect
 * IOREGSEL/IOWIN window at 0xfec00000. A register model: interrupts go out
 * through a delivery hook (the irqchip routes them to local APICs), and
 * ioapic_eoi() is the local APIC's EOI broadcast for level interrupts.
 */
#ifndef HK_DEVICES_IRQCHIP_IOAPIC_H
#define HK_DEVICES_IRQCHIP_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/iobus.h"

#define IOAPIC_BASE 0xfec00000ull
#define IOAPIC_MMIO_LEN 0x1000
#define IOAPIC_PINS 24

/* Delivery modes, as in the redirection entry and the LAPIC ICR. */
enum apic_delivery {
    APIC_DM_FIXED = 0,
    APIC_DM_LOWEST = 1,
    APIC_DM_SMI = 2,
    APIC_DM_NMI = 4,
    APIC_DM_INIT = 5,
    APIC_DM_STARTUP = 6,
    APIC_DM_EXTINT = 7,
};

/* One interrupt message to the local APICs. */
struct apic_msg {
    uint8_t vector;
    uint8_t delivery;      /* enum apic_delivery */
    bool logical;          /* destination mode */
    bool level;            /* trigger mode: level sets the LAPIC's TMR bit */
    uint32_t dest;         /* 8-bit xAPIC destination (32-bit in x2APIC) */
};

/* Called with the IOAPIC's lock held: it may take local APIC locks, never
 * call back into the IOAPIC. */
typedef void (*ioapic_deliver_fn)(void *opaque, const struct apic_msg *msg);

struct ioapic;

int ioapic_new(ioapic_deliver_fn deliver, void *opaque, struct ioapic **out);
void ioapic_free(struct ioapic *io);

/* Pin 0-23 changed level (true = asserted; polarity is the wiring's
 * business, as in KVM and bhyve). */
void ioapic_set_irq(struct ioapic *io, int pin, bool level);

/* A local APIC EOI'd a level-triggered `vector`: clear Remote IRR on the
 * pins using it, and redeliver those whose line is still asserted. Call
 * without holding any local APIC lock. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* MMIO handlers for the 4 KiB window; opaque is the struct ioapic. */
extern const struct io_ops ioapic_mmio_ops;

#endif
