/*
 * The local APIC register model (xAPIC MMIO page and x2APIC MSRs, timer).
 * The public entry points for the CPU engine (lapic_pending & co.) are in
 * irqchip.h; this header is what the irqchip and the tests use.
 *
 * Locking: each LAPIC has its own lock. It calls its hooks only after
 * dropping it, so a hook may take IOAPIC or other LAPIC locks. The order
 * is pit/rtc -> pic -> ioapic -> lapic.
 */
#ifndef HK_DEVICES_IRQCHIP_LAPIC_H
#define HK_DEVICES_IRQCHIP_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/iobus.h"
#include "devices/irqchip/devclock.h"
#include "devices/irqchip/ioapic.h"

#define LAPIC_BASE 0xfee00000ull
#define LAPIC_MMIO_LEN 0x1000
#define LAPIC_VERSION 0x50014   /* version 0x14, 6 LVT entries, no EOI suppression */

/* ICR destination shorthand (bits 18-19). */
enum apic_shorthand { APIC_SH_NONE, APIC_SH_SELF, APIC_SH_ALL, APIC_SH_OTHERS };

struct lapic;

struct lapic_hooks {
    /* EOI of a level-triggered vector: broadcast to the IOAPIC. */
    void (*eoi)(void *opaque, uint8_t vector);
    /* An IPI from the ICR (or x2APIC SELF IPI, as shorthand self). */
    void (*ipi)(void *opaque, struct lapic *from, const struct apic_msg *msg,
                enum apic_shorthand sh);
};

/* id: the APIC ID (= vCPU index); the BSP's LINT0 starts in ExtINT mode
 * (virtual wire), as firmware leaves it and as KVM resets it. */
int lapic_new(int id, bool bsp, const struct devclock *clk, const struct lapic_hooks *hooks,
              void *opaque, struct lapic **out);
void lapic_free(struct lapic *l);
int lapic_id(const struct lapic *l);
void *lapic_hook_opaque(const struct lapic *l);

/* Does msg's destination (no shorthand) name this LAPIC? */
bool lapic_match(struct lapic *l, const struct apic_msg *msg);
/* Accept a message; true if the vCPU has something new to look at. */
bool lapic_deliver(struct lapic *l, const struct apic_msg *msg);

/* The register model's view for lapic_pending(): the vector the IRR
 * offers above the processor priority, or -1; *extint says whether the
 * PIC's INTR may reach the CPU (LINT0 in ExtINT mode, an ExtINT message,
 * or the APIC globally disabled). */
int lapic_irr_pending(struct lapic *l, uint64_t now, bool *extint);
void lapic_irr_accept(struct lapic *l, int vector);
/* The PIC vector of an ExtINT message was taken. */
void lapic_extint_taken(struct lapic *l);
/* NMI requests (ICR or LINT in NMI mode): take the latched one (true
 * once per latch), or look without taking it. */
bool lapic_nmi_take(struct lapic *l);
bool lapic_nmi_pending(struct lapic *l);
/* Whether an NMI can come with the CPU doing nothing: one is latched, or
 * LINT0 (the PIC's INTR, which timers drive) is an unmasked NMI input.
 * LINT1 is wired to nothing here. Lock-free. */
bool lapic_nmi_armed(struct lapic *l);
/* Drive LINT0 (pin 0) or LINT1: a rising edge delivers as its LVT entry
 * says (NMI, or a fixed vector). True if the vCPU has something new. */
bool lapic_set_lint(struct lapic *l, int pin, bool level);
/* The task-priority register, as CR8 sees it (SDM 10.8.6.1). */
uint32_t lapic_tpr_read(struct lapic *l);
void lapic_tpr_write(struct lapic *l, uint32_t tpr);
/* Host time the timer fires next (UINT64_MAX: never, or masked). */
uint64_t lapic_timer_next(struct lapic *l);

/* The APIC bus (apic_bus.c). Route msg to lapics[0..n): by shorthand, or
 * to the APICs its destination names (lowest priority: the first that
 * matches). from is the sender, NULL for the IOAPIC or an MSI. woke[i]
 * is set when lapics[i] got something new. Takes LAPIC locks only. */
void apic_route(struct lapic *const *lapics, int n, const struct lapic *from,
                const struct apic_msg *msg, enum apic_shorthand sh, bool *woke);
/* Decode a PCI MSI (SDM Vol. 3A 10.11): address 0xfee<dest><RH,DM>, data
 * vector and delivery mode. false for a message that delivers nothing:
 * not 0xfeexxxxx, a fixed/lowest-priority vector below 16, SMI, INIT or
 * a mode a device cannot send. */
bool apic_msi_decode(uint64_t addr, uint32_t data, struct apic_msg *msg);

/* xAPIC register page; opaque is the struct lapic. */
extern const struct io_ops lapic_mmio_ops;

#endif
