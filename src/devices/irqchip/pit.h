/*
 * The 8254 programmable interval timer at ports 0x40-0x43, plus port
 * 0x61 (NMI status and control: channel 2's gate and output, the speaker
 * enable, the refresh toggle). Counting is computed from the clock when
 * the guest looks or when pit_poll() is called; nothing ticks on its own.
 * Channel 0's output is ISA IRQ 0 (GSI 2 on the IOAPIC by the usual
 * interrupt source override).
 */
#ifndef HK_DEVICES_IRQCHIP_PIT_H
#define HK_DEVICES_IRQCHIP_PIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/iobus.h"
#include "devices/irqchip/devclock.h"

#define PIT_FREQ_HZ 1193182u
#define PIT_BASE 0x40
#define PIT_NPORTS 4
#define PIT_PORT_61 0x61

struct pit;

int pit_new(const struct devclock *clk, struct pit **out);
void pit_free(struct pit *p);

/* Bring channel 0 up to `now`: true if its output rose since the last
 * call (the caller pulses IRQ 0 once; missed periods coalesce). */
bool pit_poll(struct pit *p, uint64_t now);
/* When channel 0's output next rises (UINT64_MAX: not counting). */
uint64_t pit_next_event(struct pit *p);

/* Channel 2's gate (port 0x61 bit 0) and output (bit 5), for tests. */
void pit_set_gate2(struct pit *p, bool high);
bool pit_out2(struct pit *p);

extern const struct io_ops pit_io_ops;      /* 0x40-0x43; opaque: struct pit */
extern const struct io_ops pit_port61_ops;  /* 0x61 */

#endif
