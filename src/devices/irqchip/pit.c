/*
 * Intel 8254 PIT (datasheet order no. 231164): control word (SC, RW, M,
 * BCD), counter latch and read-back commands, LSB/MSB access with the
 * read/write flip-flop, modes 0-5 and the gate input. Like QEMU's i8254,
 * a channel keeps the time its count was loaded and derives the count and
 * OUT from the elapsed input clocks (1.193182 MHz).
 */
#include "devices/irqchip/pit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "hyperkit.h"

struct pit_channel {
    uint32_t count;        /* reload value, 1..65536 (0 is written as 65536) */
    uint64_t load_ns;      /* counting started here */
    bool counting;         /* a count has been loaded (and gate allows) */
    uint8_t mode, rw, bcd;
    bool gate;
    bool write_msb;        /* LSB/MSB access: next write is the MSB */
    bool read_msb;         /* next read is the MSB */
    uint8_t write_lsb;
    bool count_latched, status_latched, latch_msb_next;
    uint16_t latch;
    uint8_t status;
    bool null_count;       /* count written but not yet loaded */
};

struct pit {
    pthread_mutex_t lock;
    const struct devclock *clk;
    struct pit_channel ch[3];
    uint8_t port61;        /* writable bits 0-3 */
    uint64_t irq_last;     /* channel 0: last output rise reported */
    _Atomic uint64_t next_ns;
};

static uint64_t ticks_since(uint64_t from, uint64_t now)
{
    return now > from ? devclock_muldiv(now - from, PIT_FREQ_HZ, 1000000000ull) : 0;
}

/* Host time of input clock number `ticks` after `from`, rounded up. */
static uint64_t tick_time(uint64_t from, uint64_t ticks)
{
    return from + devclock_muldiv(ticks, 1000000000ull, PIT_FREQ_HZ) + 1;
}

static bool periodic(const struct pit_channel *c)
{
    return c->mode == 2 || c->mode == 3;
}

/* Mode 2 and 3 are written as 6 and 7 too (M2 is "don't care"). */
static uint8_t decode_mode(uint8_t m)
{
    return m >= 6 ? (uint8_t)(m - 4) : m;
}

static uint16_t current_count(const struct pit_channel *c, uint64_t now)
{
    if (!c->counting)
        return (uint16_t)c->count;
    uint64_t d = ticks_since(c->load_ns, now);
    switch (c->mode) {
    case 2:
        return (uint16_t)(c->count - d % c->count);
    case 3:   /* counts down by two each clock, twice per period */
        return (uint16_t)(c->count - (2 * d) % c->count);
    default:  /* 0, 1, 4, 5: one pass, then wraps through 0xffff */
        return (uint16_t)(c->count - d);
    }
}

static bool output(const struct pit_channel *c, uint64_t now)
{
    if (!c->counting)
        return c->mode != 0;   /* mode 0 OUT is low after the control word */
    uint64_t d = ticks_since(c->load_ns, now);
    switch (c->mode) {
    case 0: return d >= c->count;
    case 1: return d >= c->count;   /* low from trigger until terminal count */
    case 2: return d % c->count != c->count - 1;   /* low for one clock */
    case 3: return d % c->count < (c->count + 1) / 2;
    default: return d != c->count;   /* 4, 5: low one clock at terminal count */
    }
}

/* When channel 0's output rises next after `now`, or UINT64_MAX. */
static uint64_t next_rise(const struct pit_channel *c, uint64_t now)
{
    if (!c->counting || !c->gate)
        return UINT64_MAX;
    uint64_t d = ticks_since(c->load_ns, now);
    if (periodic(c))
        return tick_time(c->load_ns, (d / c->count + 1) * c->count);
    uint64_t at = c->mode == 0 ? c->count : (uint64_t)c->count + 1;
    return d < at ? tick_time(c->load_ns, at) : UINT64_MAX;
}

static void update_next(struct pit *p, uint64_t now)
{
    atomic_store(&p->next_ns, next_rise(&p->ch[0], now));
}

int pit_new(const struct devclock *clk, struct pit **out)
{
    struct pit *p = calloc(1, sizeof(*p));
    if (!p)
        return HK_ENOMEM;
    pthread_mutex_init(&p->lock, NULL);
    p->clk = clk;
    for (int i = 0; i < 3; i++) {
        p->ch[i].gate = i != 2;   /* channel 2's gate is port 0x61 bit 0 */
        p->ch[i].count = 65536;
        p->ch[i].rw = 3;
    }
    atomic_store(&p->next_ns, UINT64_MAX);
    *out = p;
    return HK_OK;
}

void pit_free(struct pit *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p);
}

bool pit_poll(struct pit *p, uint64_t now)
{
    if (now < atomic_load(&p->next_ns))
        return false;
    pthread_mutex_lock(&p->lock);
    struct pit_channel *c = &p->ch[0];
    bool rose = false;
    uint64_t due = next_rise(c, p->irq_last > c->load_ns ? p->irq_last : c->load_ns);
    if (due != UINT64_MAX && due <= now) {
        rose = true;
        p->irq_last = now;
    }
    update_next(p, now);
    pthread_mutex_unlock(&p->lock);
    return rose;
}

uint64_t pit_next_event(struct pit *p)
{
    return atomic_load(&p->next_ns);
}

static void load_count(struct pit *p, struct pit_channel *c, uint32_t v, uint64_t now)
{
    if (c->bcd)   /* four BCD digits; 0 means 10000 */
        v = (v & 0xf) + ((v >> 4) & 0xf) * 10 + ((v >> 8) & 0xf) * 100 + (v >> 12) * 1000;
    c->count = v ? v : (c->bcd ? 10000 : 65536);
    /* Modes 1 and 5 wait for a gate trigger; the others start now. */
    c->counting = c->mode != 1 && c->mode != 5;
    c->load_ns = now;
    c->null_count = false;
    if (c == &p->ch[0]) {
        p->irq_last = now;
        update_next(p, now);
    }
}

static void latch_count(struct pit_channel *c, uint64_t now)
{
    if (c->count_latched)
        return;   /* a second latch before reading is ignored */
    uint16_t v = current_count(c, now);
    if (c->bcd)
        v = (uint16_t)((v % 10) | ((v / 10 % 10) << 4) | ((v / 100 % 10) << 8) |
                       ((v / 1000 % 10) << 12));
    c->latch = v;
    c->count_latched = true;
    c->latch_msb_next = c->rw == 2;
}

static void latch_status(struct pit_channel *c, uint64_t now)
{
    if (c->status_latched)
        return;
    c->status = (uint8_t)((output(c, now) ? 0x80 : 0) | (c->null_count ? 0x40 : 0) |
                          (c->rw << 4) | (c->mode << 1) | c->bcd);
    c->status_latched = true;
}

static void control_word(struct pit *p, uint8_t val, uint64_t now)
{
    int sc = val >> 6;
    if (sc == 3) {   /* read-back: bit 5 low latches counts, bit 4 low status */
        for (int i = 0; i < 3; i++) {
            if (!(val & (2u << i)))
                continue;
            if (!(val & 0x10))
                latch_status(&p->ch[i], now);
            if (!(val & 0x20))
                latch_count(&p->ch[i], now);
        }
        return;
    }
    struct pit_channel *c = &p->ch[sc];
    uint8_t rw = (val >> 4) & 3;
    if (rw == 0) {
        latch_count(c, now);
        return;
    }
    c->rw = rw;
    c->mode = decode_mode((val >> 1) & 7);
    c->bcd = val & 1;
    c->write_msb = c->read_msb = false;
    c->counting = false;   /* a new control word stops the count until loaded */
    c->null_count = true;
    c->count_latched = c->status_latched = false;
    if (sc == 0)
        update_next(p, now);
}

static void write_counter(struct pit *p, int i, uint8_t val, uint64_t now)
{
    struct pit_channel *c = &p->ch[i];
    switch (c->rw) {
    case 1:
        load_count(p, c, val, now);
        break;
    case 2:
        load_count(p, c, (uint32_t)val << 8, now);
        break;
    default:
        if (!c->write_msb) {
            c->write_lsb = val;
            c->write_msb = true;
        } else {
            c->write_msb = false;
            load_count(p, c, c->write_lsb | (uint32_t)val << 8, now);
        }
    }
}

static uint8_t read_counter(struct pit_channel *c, uint64_t now)
{
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    uint16_t v;
    bool msb;
    if (c->count_latched) {
        v = c->latch;
        msb = c->latch_msb_next;
        /* In LSB-then-MSB mode the latch holds until both bytes are read. */
        if (c->rw == 3 && !msb)
            c->latch_msb_next = true;
        else
            c->count_latched = false;
        return msb ? (uint8_t)(v >> 8) : (uint8_t)v;
    }
    latch_count(c, now);
    c->count_latched = false;
    v = c->latch;
    switch (c->rw) {
    case 1: return (uint8_t)v;
    case 2: return (uint8_t)(v >> 8);
    default:
        msb = c->read_msb;
        c->read_msb = !c->read_msb;
        return msb ? (uint8_t)(v >> 8) : (uint8_t)v;
    }
}

static uint64_t pit_io_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pit *p = opaque;
    if (offset >= 3)
        return 0xff;   /* the control word register is write-only */
    pthread_mutex_lock(&p->lock);
    uint8_t v = read_counter(&p->ch[offset], devclock_now(p->clk));
    pthread_mutex_unlock(&p->lock);
    return v;
}

static void pit_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct pit *p = opaque;
    uint64_t now = devclock_now(p->clk);
    pthread_mutex_lock(&p->lock);
    if (offset == 3)
        control_word(p, (uint8_t)value, now);
    else if (offset < 3)
        write_counter(p, (int)offset, (uint8_t)value, now);
    pthread_mutex_unlock(&p->lock);
}

const struct io_ops pit_io_ops = {.read = pit_io_read, .write = pit_io_write};

/* The gate input (8254 datasheet, Table "Gate Pin Operations"): modes 2
 * and 3 stop while it is low and reload on its rising edge; 1 and 5 are
 * triggered by the rising edge; 0 and 4 merely pause (not modelled). */
static void set_gate(struct pit_channel *c, bool high, uint64_t now)
{
    bool rising = high && !c->gate;
    c->gate = high;
    if (!rising)
        return;
    if (c->mode == 1 || c->mode == 5 || periodic(c)) {
        if (c->mode == 1 || c->mode == 5 || !c->null_count) {
            c->counting = true;
            c->load_ns = now;
        }
    }
}

void pit_set_gate2(struct pit *p, bool high)
{
    pthread_mutex_lock(&p->lock);
    set_gate(&p->ch[2], high, devclock_now(p->clk));
    pthread_mutex_unlock(&p->lock);
}

bool pit_out2(struct pit *p)
{
    pthread_mutex_lock(&p->lock);
    struct pit_channel *c = &p->ch[2];
    uint64_t now = devclock_now(p->clk);
    /* Periodic modes hold OUT high while the gate is low. */
    bool out = (periodic(c) && !c->gate) ? true : output(c, now);
    pthread_mutex_unlock(&p->lock);
    return out;
}

/* Port 0x61 (PIIX3 NMI Status and Control, 82371SB 4.7.2): bit 4 toggles
 * with every DRAM refresh request, every 15.085 us; old code times short
 * delays with it. */
static uint64_t port61_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pit *p = opaque;
    uint64_t now = devclock_now(p->clk);
    bool out2 = pit_out2(p);
    pthread_mutex_lock(&p->lock);
    uint8_t v = p->port61 & 0x0f;
    pthread_mutex_unlock(&p->lock);
    if ((now / 15085) & 1)
        v |= 0x10;
    return v | (out2 ? 0x20 : 0);
}

static void port61_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct pit *p = opaque;
    pthread_mutex_lock(&p->lock);
    p->port61 = (uint8_t)value & 0x0f;
    set_gate(&p->ch[2], value & 1, devclock_now(p->clk));
    pthread_mutex_unlock(&p->lock);
}

const struct io_ops pit_port61_ops = {.read = port61_read, .write = port61_write};
