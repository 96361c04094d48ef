/* Counting shared interrupt lines (irq_router.h). */
#include "board/irq_router.h"

void irq_router_init(struct irq_router *r, irq_router_set_fn set, void *ctx)
{
    pthread_mutex_init(&r->lock, NULL);
    for (int i = 0; i < IRQ_ROUTER_LINES; i++)
        r->count[i] = 0;
    r->set = set;
    r->ctx = ctx;
}

void irq_router_fini(struct irq_router *r)
{
    pthread_mutex_destroy(&r->lock);
}

void irq_router_line(struct irq_router *r, int gsi, bool asserted)
{
    if (gsi < 0 || gsi >= IRQ_ROUTER_LINES)
        return;
    pthread_mutex_lock(&r->lock);
    unsigned *c = &r->count[gsi];
    if (asserted && (*c)++ == 0)
        r->set(r->ctx, gsi, true);
    else if (!asserted && *c > 0 && --*c == 0)
        r->set(r->ctx, gsi, false);
    pthread_mutex_unlock(&r->lock);
}

unsigned irq_router_count(struct irq_router *r, int gsi)
{
    if (gsi < 0 || gsi >= IRQ_ROUTER_LINES)
        return 0;
    pthread_mutex_lock(&r->lock);
    unsigned c = r->count[gsi];
    pthread_mutex_unlock(&r->lock);
    return c;
}
