/*
 * The interrupt controllers and timers an engine without in-kernel ones
 * (emu) needs: 8259 PIC pair, IOAPIC, one local APIC per vCPU (xAPIC MMIO
 * at 0xfee00000 and x2APIC MSRs; timer one-shot, periodic, TSC-deadline)
 * and the 8254 PIT. Devices never see these: they raise GSIs through
 * vm_set_irq(); the CPU engine asks its LAPIC for the next vector.
 *
 * Time is host CLOCK_MONOTONIC nanoseconds; the guest TSC runs at 1 GHz
 * (one tick per nanosecond, see emu's RDTSC), so TSC-deadline values are
 * nanoseconds too.
 */
#ifndef HK_DEVICES_IRQCHIP_H
#define HK_DEVICES_IRQCHIP_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct irqchip;
struct lapic;

/* Create the PIC pair, IOAPIC (at 0xfec00000, 24 pins) and PIT, register
 * their ports/MMIO on the VM's buses. nvcpus LAPICs, one per vCPU. */
int irqchip_create(struct vm *vm, int nvcpus, struct irqchip **out);
void irqchip_destroy(struct irqchip *chip);

/* A GSI changed level (edge devices pulse: 1 then 0). GSI 0-15 reach both
 * the PIC and the IOAPIC, as on a PC; 16-23 the IOAPIC only. */
void irqchip_set_irq(struct irqchip *chip, int gsi, bool level);

struct lapic *irqchip_lapic(struct irqchip *chip, int vcpu);

/* --- For the CPU engine (called on the vCPU's own thread) ---------------- */

/* Bring timers up to date with host time `now`; returns the vector the CPU
 * should take next if it has IF=1, or -1 (TPR/PPR, masks and the PIC's
 * ExtINT path through LINT0 all considered). */
int lapic_pending(struct lapic *l, uint64_t now_ns);
/* The CPU took `vector` (IRR -> ISR, or the PIC's INTA cycle). */
void lapic_accept(struct lapic *l, int vector);
/* Host time of the next timer event that could make an interrupt pending
 * (LAPIC timer or PIT), or UINT64_MAX if none: how long HLT may sleep. */
uint64_t lapic_next_event(struct lapic *l);

/* MSRs owned by the LAPIC: IA32_APIC_BASE (0x1b), IA32_TSC_DEADLINE
 * (0x6e0), x2APIC registers (0x800-0x8ff). 0, or -1 for #GP. */
bool lapic_owns_msr(uint32_t index);
int lapic_msr_read(struct lapic *l, uint32_t index, uint64_t *value);
int lapic_msr_write(struct lapic *l, uint32_t index, uint64_t value);

/* The VM core calls this to wake a halted vCPU when its LAPIC gets an
 * interrupt: set by whoever creates the chip (vm.c). */
typedef void (*irqchip_wake_fn)(void *opaque, int vcpu);
void irqchip_set_wake(struct irqchip *chip, irqchip_wake_fn fn, void *opaque);

#endif
