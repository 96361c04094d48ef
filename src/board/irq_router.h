/*
 * Interrupt lines shared by several sources (PCI INTx: up to four slots'
 * pins on one GSI): the line is the OR of its sources. The router counts
 * asserted sources per line and tells the interrupt controller only when a
 * line goes 0 -> 1 or 1 -> 0, under one lock, so the controller sees the
 * transitions in the order the counts made them.
 */
#ifndef HK_BOARD_IRQ_ROUTER_H
#define HK_BOARD_IRQ_ROUTER_H

#include <pthread.h>
#include <stdbool.h>

/* GSIs 0-23 are the IOAPIC's pins; kvm's in-kernel IOAPIC has as many. */
#define IRQ_ROUTER_LINES 24

/* Drive the line itself; called with the router lock held, so it must not
 * call back into the router (irqchip_set_irq and KVM_IRQ_LINE do not). */
typedef void (*irq_router_set_fn)(void *ctx, int gsi, bool level);

struct irq_router {
    pthread_mutex_t lock;
    unsigned count[IRQ_ROUTER_LINES];   /* asserted sources per line */
    irq_router_set_fn set;
    void *ctx;
};

void irq_router_init(struct irq_router *r, irq_router_set_fn set, void *ctx);
void irq_router_fini(struct irq_router *r);

/* One source on line gsi changed level. Lines out of range are ignored; a
 * deassert with no source asserted (a bug in a device) leaves the count. */
void irq_router_line(struct irq_router *r, int gsi, bool asserted);

/* How many sources hold line gsi asserted (for tests). */
unsigned irq_router_count(struct irq_router *r, int gsi);

#endif
