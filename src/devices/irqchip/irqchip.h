/*
 * The interrupt controllers and timers an engine without in-kernel ones
 * (emu) needs: 8259 PIC pair, IOAPIC, one local APIC per vCPU (xAPIC MMIO
 * at 0xfee00000 and x2APIC MSRs; timer one-shot, periodic, TSC-deadline)
 * and the 8254 PIT. Devices never see these: they raise GSIs through their
 * dev_env (the board routes them here); the CPU engine asks its LAPIC for
 * the next vector.
 *
 * Time is host CLOCK_MONOTONIC nanoseconds; the guest TSC runs at 1 GHz
 * (one tick per nanosecond, see emu's RDTSC), so TSC-deadline values are
 * nanoseconds too.
 */
#ifndef HK_DEVICES_IRQCHIP_H
#define HK_DEVICES_IRQCHIP_H

#include <stdbool.h>
#include <stdint.h>

struct dev_env;
struct irqchip;
struct lapic;

#define IRQCHIP_MAX_CPUS 16

/* Create the PIC pair (0x20, 0xa0, ELCR 0x4d0), IOAPIC (at 0xfec00000,
 * 24 pins), PIT (0x40-0x43, 0x61) and nvcpus LAPICs (xAPIC page at
 * 0xfee00000), register their ports/MMIO on env's buses, and register
 * the chip's teardown with env: after a successful create the environment
 * destroys it. irqchip_destroy() is for a chip that failed to register. */
int irqchip_create(struct dev_env *env, int nvcpus, struct irqchip **out);
void irqchip_destroy(struct irqchip *chip);

/* An interrupt line changed level (edge devices pulse: 1 then 0). Lines
 * 0-15 are the ISA IRQs: they reach the PIC and the IOAPIC, line 0 (the
 * PIT's) on IOAPIC pin 2 as the usual MADT interrupt source override
 * says; 16-23 reach the IOAPIC only. Never calls device I/O, so a device
 * may call it (through its dev_env) with its own lock held. */
void irqchip_set_irq(struct irqchip *chip, int gsi, bool level);

/* Other lazily computed timers (the RTC's interrupts; later an HPET):
 * poll() raises its interrupt lines if their time has come, next_event()
 * says when that is (UINT64_MAX: never). Both are called on vCPU threads
 * with no irqchip lock held. Add them while the VM is built (at most 4). */
struct irqchip_timer {
    void (*poll)(void *opaque, uint64_t now_ns);
    uint64_t (*next_event)(void *opaque);
};
int irqchip_add_timer(struct irqchip *chip, const struct irqchip_timer *t, void *opaque);

/* A message-signalled interrupt (PCI MSI/MSI-X): address 0xfeexxxxx
 * names the destination APIC (SDM Vol. 3A 10.11.1), data the vector and
 * delivery mode (fixed, lowest priority, NMI...). Like irqchip_set_irq it
 * never calls device I/O. Malformed messages are dropped. */
void irqchip_msi(struct irqchip *chip, uint64_t addr, uint32_t data);

struct lapic *irqchip_lapic(struct irqchip *chip, int vcpu);

/* --- For the CPU engine (called on the vCPU's own thread) ---------------- */

/* Bring timers up to date with host time `now`: those due raise their
 * lines, which may latch an NMI (LINT0 or an IOAPIC entry in NMI mode). */
void lapic_poll(struct lapic *l, uint64_t now_ns);
/* The vector the CPU should take next if it has IF=1, or -1 (TPR/PPR,
 * masks and the PIC's ExtINT path through LINT0 all considered). Call
 * lapic_poll first for the timers to count. */
int lapic_pending(struct lapic *l, uint64_t now_ns);
/* The CPU took `vector` (IRR -> ISR, or the PIC's INTA cycle). */
void lapic_accept(struct lapic *l, int vector);
/* Host time of the next timer event that could make an interrupt pending
 * (LAPIC timer or PIT), or UINT64_MAX if none: how long HLT may sleep. */
uint64_t lapic_next_event(struct lapic *l);

/* MSRs owned by the LAPIC: IA32_APIC_BASE (0x1b), IA32_TSC_DEADLINE
 * (0x6e0), x2APIC registers (0x800-0x8ff). 0, or -1 for #GP. The
 * TSC-deadline value is in host-monotonic nanoseconds: an engine whose
 * guest TSC has an offset (IA32_TIME_STAMP_COUNTER writes) subtracts it. */
bool lapic_owns_msr(uint32_t index);
int lapic_msr_read(struct lapic *l, uint32_t index, uint64_t *value);
int lapic_msr_write(struct lapic *l, uint32_t index, uint64_t value);

/* Called to wake a halted vCPU when its LAPIC gets an interrupt: set by
 * whoever creates the chip (the board). */
typedef void (*irqchip_wake_fn)(void *opaque, int vcpu);
void irqchip_set_wake(struct irqchip *chip, irqchip_wake_fn fn, void *opaque);

/* The four calls above as the emu engine's accel_irq_ops (opaque: the
 * vCPU's struct lapic; the MSR hooks answer 1 for MSRs not the APIC's):
 *   accel_ops->attach_irq(vcpu, &irqchip_accel_irq_ops, irqchip_lapic(chip, i)) */
struct accel_irq_ops;
extern const struct accel_irq_ops irqchip_accel_irq_ops;

#endif
