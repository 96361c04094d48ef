/*
 * 8259A PIC pair. Follows the Intel 8259A datasheet (order no. 231468):
 * ICW1-ICW4 initialization, OCW1 (IMR), OCW2 (EOI / rotation), OCW3 (read
 * register select, poll, special mask mode), and the PIIX3 ELCR for level
 * triggered ISA lines (82371SB datasheet, 4.1.13). The priority logic is
 * the classic formulation also used by QEMU's i8259.
 */
#include "devices/irqchip/pic.h"

#include <pthread.h>
#include <stdlib.h>

#include "hyperkit.h"

struct i8259 {
    uint8_t irr, isr, imr;
    uint8_t last_level;     /* input levels, for edge detection */
    uint8_t elcr, elcr_mask;
    uint8_t vector_base;
    uint8_t priority_add;   /* the lowest-priority IRQ is priority_add - 1 */
    uint8_t init_state;     /* 0 ready; 1-3: expecting ICW2-ICW4 */
    bool icw4_needed, single, auto_eoi, rotate_on_aeoi, special_mask;
    bool read_isr, poll, special_fully_nested;
};

struct pic {
    pthread_mutex_t lock;
    struct i8259 chip[2];   /* 0 master, 1 slave */
};

/* Priority 0 is the highest; 8 means none of mask's bits is set. */
static int priority_of(const struct i8259 *c, uint8_t mask)
{
    if (!mask)
        return 8;
    int prio = 0;
    while (!(mask & (1u << ((prio + c->priority_add) & 7))))
        prio++;
    return prio;
}

/* The IRQ this chip would raise INT for, or -1. */
static int chip_pending(const struct i8259 *c, bool master)
{
    int prio = priority_of(c, c->irr & ~c->imr);
    if (prio == 8)
        return -1;
    uint8_t in_service = c->isr;
    /* Special mask mode: masked levels in service do not block others
     * (datasheet, "Special Mask Mode"). */
    if (c->special_mask)
        in_service &= ~c->imr;
    /* Special fully nested mode lets the slave interrupt the master's
     * servicing of the slave's own IRQ 2. */
    if (c->special_fully_nested && master)
        in_service &= ~(1u << 2);
    if (prio < priority_of(c, in_service))
        return (prio + c->priority_add) & 7;
    return -1;
}

static void chip_set_input(struct i8259 *c, int irq, bool level)
{
    uint8_t m = (uint8_t)(1u << irq);
    if (c->elcr & m) {
        /* Level mode: IRR follows the line. */
        c->irr = level ? (c->irr | m) : (c->irr & ~m);
    } else if (level && !(c->last_level & m)) {
        c->irr |= m;        /* rising edge */
    }
    c->last_level = level ? (c->last_level | m) : (c->last_level & ~m);
}

/* The slave's INT pin drives master IR2. It is treated as a level input
 * so a slave request left pending after an INTA (auto-EOI, or one of
 * several requests) is not lost for want of a new edge. */
static void cascade(struct pic *p)
{
    struct i8259 *m = &p->chip[0];
    if (chip_pending(&p->chip[1], false) >= 0)
        m->irr |= 1u << 2;
    else
        m->irr &= (uint8_t) ~(1u << 2);
}

static void chip_ack(struct i8259 *c, int irq)
{
    uint8_t m = (uint8_t)(1u << irq);
    if (c->auto_eoi) {
        if (c->rotate_on_aeoi)
            c->priority_add = (uint8_t)((irq + 1) & 7);
    } else {
        c->isr |= m;
    }
    /* An edge request is consumed; a level one stays while the line is high. */
    if (!(c->elcr & m))
        c->irr &= ~m;
}

int pic_new(struct pic **out)
{
    struct pic *p = calloc(1, sizeof(*p));
    if (!p)
        return HK_ENOMEM;
    pthread_mutex_init(&p->lock, NULL);
    p->chip[0].elcr_mask = 0xf8;   /* IRQ 0-2 are always edge (PIIX3 ELCR1) */
    p->chip[1].elcr_mask = 0xde;   /* IRQ 8 and 13 are always edge (ELCR2) */
    *out = p;
    return HK_OK;
}

void pic_free(struct pic *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p);
}

void pic_set_irq(struct pic *p, int irq, bool level)
{
    /* IR2 of the master is the cascade, not an external line. */
    if (irq < 0 || irq > 15 || irq == 2)
        return;
    pthread_mutex_lock(&p->lock);
    chip_set_input(&p->chip[irq >> 3], irq & 7, level);
    cascade(p);
    pthread_mutex_unlock(&p->lock);
}

bool pic_output(struct pic *p)
{
    pthread_mutex_lock(&p->lock);
    bool out = chip_pending(&p->chip[0], true) >= 0;
    pthread_mutex_unlock(&p->lock);
    return out;
}

/* INTA with the lock held. Spurious requests (a request that went away
 * before INTA) give IR7 of the chip without setting ISR (datasheet,
 * "Interrupt Sequence"); Linux checks ISR for IRQ 7 and 15. */
static int intack_locked(struct pic *p)
{
    struct i8259 *m = &p->chip[0], *s = &p->chip[1];
    int irq = chip_pending(m, true);
    int vector;
    if (irq < 0)
        return m->vector_base + 7;
    if (irq == 2) {
        int irq2 = chip_pending(s, false);
        if (irq2 >= 0) {
            chip_ack(s, irq2);
            vector = s->vector_base + irq2;
        } else {
            vector = s->vector_base + 7;
        }
    } else {
        vector = m->vector_base + irq;
    }
    chip_ack(m, irq);
    cascade(p);
    return vector;
}

int pic_intack(struct pic *p)
{
    pthread_mutex_lock(&p->lock);
    int v = intack_locked(p);
    pthread_mutex_unlock(&p->lock);
    return v;
}

static void chip_icw1(struct i8259 *c, uint8_t val)
{
    uint8_t elcr = c->elcr, mask = c->elcr_mask;
    /* ICW1 clears IMR and ISR, resets priorities and special mask mode,
     * and sets IRR read mode; the ELCR is not part of the 8259. Edge
     * detection restarts, so a line already high needs a new edge. */
    *c = (struct i8259){.elcr = elcr, .elcr_mask = mask, .last_level = c->last_level,
                        .irr = c->irr & elcr};
    c->init_state = 1;
    c->icw4_needed = val & 0x01;
    c->single = val & 0x02;
}

static void chip_ocw2(struct i8259 *c, uint8_t val)
{
    int cmd = val >> 5, irq;
    switch (cmd) {
    case 0: /* rotate in AEOI mode: clear */
    case 4: /* rotate in AEOI mode: set */
        c->rotate_on_aeoi = cmd == 4;
        break;
    case 1: /* non-specific EOI */
    case 5: /* rotate on non-specific EOI */
        if (priority_of(c, c->isr) == 8)
            break;
        irq = (priority_of(c, c->isr) + c->priority_add) & 7;
        c->isr &= (uint8_t) ~(1u << irq);
        if (cmd == 5)
            c->priority_add = (uint8_t)((irq + 1) & 7);
        break;
    case 3: /* specific EOI */
        c->isr &= (uint8_t) ~(1u << (val & 7));
        break;
    case 6: /* set priority: val&7 becomes the lowest */
        c->priority_add = (uint8_t)((val + 1) & 7);
        break;
    case 7: /* rotate on specific EOI */
        c->isr &= (uint8_t) ~(1u << (val & 7));
        c->priority_add = (uint8_t)((val + 1) & 7);
        break;
    default: /* 2: no operation */
        break;
    }
}

static void chip_write(struct i8259 *c, unsigned port, uint8_t val)
{
    if (port == 0) {
        if (val & 0x10) {
            chip_icw1(c, val);
        } else if (val & 0x08) {   /* OCW3 */
            if (val & 0x04)
                c->poll = true;
            if (val & 0x02)
                c->read_isr = val & 0x01;
            if (val & 0x40)
                c->special_mask = val & 0x20;
        } else {
            chip_ocw2(c, val);
        }
        return;
    }
    switch (c->init_state) {
    case 0: /* OCW1 */
        c->imr = val;
        break;
    case 1: /* ICW2: vector base, T7-T3 */
        c->vector_base = val & 0xf8;
        c->init_state = c->single ? (c->icw4_needed ? 3 : 0) : 2;
        break;
    case 2: /* ICW3: cascade wiring, fixed on a PC */
        c->init_state = c->icw4_needed ? 3 : 0;
        break;
    case 3: /* ICW4: SFNM bit 4, AEOI bit 1 (8086 mode assumed) */
        c->special_fully_nested = val & 0x10;
        c->auto_eoi = val & 0x02;
        c->init_state = 0;
        break;
    }
}

/* OCW3 poll: the read acts as INTA and returns 0x80 | level. */
static uint8_t chip_poll(struct pic *p, int which)
{
    struct i8259 *c = &p->chip[which];
    c->poll = false;
    int irq = chip_pending(c, which == 0);
    if (irq < 0)
        return 0;
    chip_ack(c, irq);
    cascade(p);
    return (uint8_t)(0x80 | irq);
}

static uint8_t chip_read(struct pic *p, int which, unsigned port)
{
    struct i8259 *c = &p->chip[which];
    if (c->poll)
        return chip_poll(p, which);
    if (port == 0)
        return c->read_isr ? c->isr : c->irr;
    return c->imr;
}

static uint64_t pic_read_common(struct pic *p, int which, uint64_t offset)
{
    pthread_mutex_lock(&p->lock);
    uint8_t v = chip_read(p, which, offset & 1);
    pthread_mutex_unlock(&p->lock);
    return v;
}

static void pic_write_common(struct pic *p, int which, uint64_t offset, uint64_t value)
{
    pthread_mutex_lock(&p->lock);
    chip_write(&p->chip[which], offset & 1, (uint8_t)value);
    cascade(p);
    pthread_mutex_unlock(&p->lock);
}

static uint64_t master_read(void *opaque, uint64_t offset, unsigned size)
{
    return pic_read_common(opaque, 0, offset);
}

static void master_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    pic_write_common(opaque, 0, offset, value);
}

static uint64_t slave_read(void *opaque, uint64_t offset, unsigned size)
{
    return pic_read_common(opaque, 1, offset);
}

static void slave_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    pic_write_common(opaque, 1, offset, value);
}

static uint64_t elcr_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pic *p = opaque;
    pthread_mutex_lock(&p->lock);
    uint8_t v = p->chip[offset & 1].elcr;
    pthread_mutex_unlock(&p->lock);
    return v;
}

static void elcr_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct pic *p = opaque;
    pthread_mutex_lock(&p->lock);
    struct i8259 *c = &p->chip[offset & 1];
    c->elcr = (uint8_t)value & c->elcr_mask;
    /* A line that became level-triggered requests while it is high. */
    c->irr = (uint8_t)((c->irr & ~c->elcr) | (c->last_level & c->elcr));
    cascade(p);
    pthread_mutex_unlock(&p->lock);
}

const struct io_ops pic_master_io_ops = {.read = master_read, .write = master_write};
const struct io_ops pic_slave_io_ops = {.read = slave_read, .write = slave_write};
const struct io_ops pic_elcr_io_ops = {.read = elcr_read, .write = elcr_write};
