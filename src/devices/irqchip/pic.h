/*
 * The PC's two cascaded 8259A programmable interrupt controllers (master
 * at 0x20-0x21, slave at 0xa0-0xa1 on master IRQ 2) with the PIIX/ICH
 * edge/level control registers (ELCR) at 0x4d0-0x4d1. A register model
 * only: no VM, one lock for the pair. Its output (the master's INT pin)
 * is polled by the local APIC's LINT0 (ExtINT) path; pic_intack() is the
 * CPU's INTA cycle.
 */
#ifndef HK_DEVICES_IRQCHIP_PIC_H
#define HK_DEVICES_IRQCHIP_PIC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/iobus.h"

struct pic;

int pic_new(struct pic **out);
void pic_free(struct pic *p);

/* ISA IRQ 0-15 changed level (edge sources pulse 1 then 0). */
void pic_set_irq(struct pic *p, int irq, bool level);

/* The master's INT output: an unmasked request outranks what is in service. */
bool pic_output(struct pic *p);

/* INTA: the vector to deliver, moving the request into service (spurious
 * IRQ 7 or 15 when nothing is requested any more, as the 8259A does). */
int pic_intack(struct pic *p);

/* Port handlers; opaque is the struct pic. Byte accesses; wider ones
 * touch only the addressed byte, as on an ISA bus. */
extern const struct io_ops pic_master_io_ops;   /* 0x20, 2 ports */
extern const struct io_ops pic_slave_io_ops;    /* 0xa0, 2 ports */
extern const struct io_ops pic_elcr_io_ops;     /* 0x4d0, 2 ports */

#define PIC_MASTER_BASE 0x20
#define PIC_SLAVE_BASE 0xa0
#define PIC_ELCR_BASE 0x4d0

#endif
