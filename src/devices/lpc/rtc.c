/*
 * MC146818A real-time clock (Motorola datasheet; registers as in the
 * PIIX3 RTC, 82371SB 4.9): time registers 0-9, A (UIP, divider, rate
 * select), B (SET, PIE, AIE, UIE, SQWE, DM, 24/12, DSE), C (IRQF, PF, AF,
 * UF; cleared by reading), D (VRT), then NVRAM to 0x7f.
 *
 * The clock shows base_secs + (now - base_ns) / 1 s; it ticks at base_ns
 * plus whole seconds. UIP is set for the 244 us before each tick
 * (datasheet "Update Cycle"). The guest setting the time moves base_secs.
 */
#include "devices/lpc/rtc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/devenv.h"
#include "devices/irqchip/irqchip.h"
#include "hyperkit.h"

#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define A_UIP 0x80
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_DM_BINARY 0x04
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define NS 1000000000ull
#define UIP_NS 244000ull

struct rtc {
    pthread_mutex_t lock;
    const struct devclock *clk;
    rtc_irq_fn irq;
    void *opaque;
    uint8_t ram[RTC_NVRAM_SIZE];   /* A, B, and NVRAM; time comes from base_* */
    uint8_t flags;                 /* register C */
    int64_t base_secs;
    uint64_t base_ns;
    struct tm frozen;              /* the time while B.SET holds it */
    uint64_t seen_ns;              /* flags computed up to here */
    bool irq_level;
};

static uint8_t to_bcd(const struct rtc *r, int v)
{
    return (r->ram[REG_B] & B_DM_BINARY) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

static int from_bcd(const struct rtc *r, uint8_t v)
{
    return (r->ram[REG_B] & B_DM_BINARY) ? v : (v >> 4) * 10 + (v & 0xf);
}

static bool running(const struct rtc *r)
{
    /* Divider 010 is the 32.768 kHz time base; SET stops updates. */
    return ((r->ram[REG_A] >> 4) & 7) == 2 && !(r->ram[REG_B] & B_SET);
}

static int64_t now_secs(const struct rtc *r, uint64_t now)
{
    return r->base_secs + (int64_t)((now - r->base_ns) / NS);
}

static void current_tm(const struct rtc *r, uint64_t now, struct tm *tm)
{
    if (!running(r)) {
        *tm = r->frozen;
        return;
    }
    time_t t = (time_t)now_secs(r, now);
    gmtime_r(&t, tm);
}

static uint8_t encode_hour(const struct rtc *r, int h)
{
    if (r->ram[REG_B] & B_24H)
        return to_bcd(r, h);
    int h12 = h % 12 ? h % 12 : 12;
    return (uint8_t)(to_bcd(r, h12) | (h >= 12 ? 0x80 : 0));
}

static int decode_hour(const struct rtc *r, uint8_t v)
{
    if (r->ram[REG_B] & B_24H)
        return from_bcd(r, v);
    int h = from_bcd(r, v & 0x7f) % 12;
    return (v & 0x80) ? h + 12 : h;
}

static void raise_if(struct rtc *r)
{
    uint8_t en = r->ram[REG_B] & (B_PIE | B_AIE | B_UIE);
    if (r->flags & en & (C_PF | C_AF | C_UF))
        r->flags |= C_IRQF;
    bool level = r->flags & C_IRQF;
    if (level != r->irq_level) {
        r->irq_level = level;
        if (r->irq)
            r->irq(r->opaque, level);
    }
}

/* Periodic interrupt period (register A rate select), 0 when off. */
static uint64_t periodic_ns(const struct rtc *r)
{
    unsigned rs = r->ram[REG_A] & 0xf;
    if (!rs)
        return 0;
    if (rs <= 2)
        rs += 7;   /* 256 Hz and 128 Hz with the 32.768 kHz base */
    return ((uint64_t)1 << (rs - 1)) * NS / 32768;
}

/* A "don't care" alarm byte has its two high bits set (0xc0-0xff). */
static bool alarm_match(const struct rtc *r, const struct tm *tm)
{
    const uint8_t *a = &r->ram[0];
    return (a[1] >= 0xc0 || from_bcd(r, a[1]) == tm->tm_sec) &&
           (a[3] >= 0xc0 || from_bcd(r, a[3]) == tm->tm_min) &&
           (a[5] >= 0xc0 || decode_hour(r, a[5]) == tm->tm_hour);
}

static void update_flags(struct rtc *r, uint64_t now)
{
    if (now <= r->seen_ns)
        return;
    uint64_t from = r->seen_ns;
    r->seen_ns = now;
    uint64_t p = periodic_ns(r);
    if (p && ((r->ram[REG_A] >> 4) & 7) == 2 && (now - r->base_ns) / p != (from - r->base_ns) / p)
        r->flags |= C_PF;
    if (!running(r) || now_secs(r, now) == now_secs(r, from))
        return;
    r->flags |= C_UF;
    /* Check the alarm at each second passed (at most an hour's worth). */
    int64_t first = now_secs(r, from) + 1, last = now_secs(r, now);
    if (last - first > 3600)
        first = last - 3600;
    for (int64_t s = first; s <= last && !(r->flags & C_AF); s++) {
        time_t t = (time_t)s;
        struct tm tm;
        gmtime_r(&t, &tm);
        if (alarm_match(r, &tm))
            r->flags |= C_AF;
    }
}

int rtc_new(const struct devclock *clk, int64_t epoch_secs, uint64_t start_ns, rtc_irq_fn irq,
            void *opaque, struct rtc **out)
{
    struct rtc *r = calloc(1, sizeof(*r));
    if (!r)
        return HK_ENOMEM;
    pthread_mutex_init(&r->lock, NULL);
    r->clk = clk;
    r->irq = irq;
    r->opaque = opaque;
    r->base_secs = epoch_secs;
    r->base_ns = start_ns;
    r->seen_ns = start_ns;
    r->ram[REG_A] = 0x26;             /* normal divider, 1024 Hz rate */
    r->ram[REG_B] = B_24H;            /* BCD, 24-hour, as PC firmware leaves it */
    r->ram[REG_D] = 0x80;             /* VRT: the battery is fine */
    *out = r;
    return HK_OK;
}

void rtc_free(struct rtc *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static void put16(uint8_t *p, uint64_t v)
{
    v = v > 0xffff ? 0xffff : v;
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void rtc_set_memory(struct rtc *r, uint64_t lowmem, uint64_t highmem)
{
    const uint64_t mib = 1ull << 20, k64 = 1ull << 16;
    pthread_mutex_lock(&r->lock);
    put16(&r->ram[0x15], 640);                                     /* base memory, KiB */
    uint64_t ext = lowmem > mib ? (lowmem - mib) / 1024 : 0;       /* above 1 MiB, KiB */
    put16(&r->ram[0x17], ext);
    put16(&r->ram[0x30], ext);
    put16(&r->ram[0x34], lowmem > 16 * mib ? (lowmem - 16 * mib) / k64 : 0);
    uint64_t high = highmem / k64;
    if (high > 0xffffff)
        high = 0xffffff;
    r->ram[0x5b] = (uint8_t)high;
    r->ram[0x5c] = (uint8_t)(high >> 8);
    r->ram[0x5d] = (uint8_t)(high >> 16);
    pthread_mutex_unlock(&r->lock);
}

/* 0, 2, 4, 6-9 and the century are the clock; 1, 3, 5 the alarm bytes. */
static bool is_time_reg(uint8_t reg)
{
    return (reg <= 9 && reg != 1 && reg != 3 && reg != 5) || reg == RTC_CENTURY;
}

static uint8_t read_time_reg(struct rtc *r, uint8_t reg, uint64_t now)
{
    struct tm tm;
    current_tm(r, now, &tm);
    switch (reg) {
    case 0: return to_bcd(r, tm.tm_sec);
    case 2: return to_bcd(r, tm.tm_min);
    case 4: return encode_hour(r, tm.tm_hour);
    case 6: return to_bcd(r, tm.tm_wday + 1);
    case 7: return to_bcd(r, tm.tm_mday);
    case 8: return to_bcd(r, tm.tm_mon + 1);
    case 9: return to_bcd(r, tm.tm_year % 100);
    default: return to_bcd(r, (tm.tm_year + 1900) / 100);   /* RTC_CENTURY */
    }
}

uint8_t rtc_read(struct rtc *r, uint8_t reg)
{
    reg &= 0x7f;
    uint64_t now = devclock_now(r->clk);
    uint8_t v;
    pthread_mutex_lock(&r->lock);
    update_flags(r, now);
    if (is_time_reg(reg)) {
        v = read_time_reg(r, reg, now);
    } else if (reg == REG_A) {
        v = r->ram[REG_A];
        if (running(r) && (now - r->base_ns) % NS >= NS - UIP_NS)
            v |= A_UIP;
    } else if (reg == REG_C) {
        v = r->flags;
        r->flags = 0;   /* reading C acknowledges everything */
        raise_if(r);
    } else {
        v = r->ram[reg];
    }
    pthread_mutex_unlock(&r->lock);
    return v;
}

/* A time register written: store it in the frozen time (SET) or move
 * the running clock by the difference. */
static void write_time_reg(struct rtc *r, uint8_t reg, uint8_t val, uint64_t now)
{
    struct tm tm;
    current_tm(r, now, &tm);
    int64_t before = (int64_t)timegm(&tm);
    switch (reg) {
    case 0: tm.tm_sec = from_bcd(r, val) % 60; break;
    case 2: tm.tm_min = from_bcd(r, val) % 60; break;
    case 4: tm.tm_hour = decode_hour(r, val) % 24; break;
    case 6: return;   /* the day of the week follows from the date */
    case 7: tm.tm_mday = from_bcd(r, val) ? from_bcd(r, val) : 1; break;
    case 8: tm.tm_mon = (from_bcd(r, val) + 11) % 12; break;
    case 9: tm.tm_year = (tm.tm_year + 1900) / 100 * 100 + from_bcd(r, val) % 100 - 1900; break;
    default: tm.tm_year = from_bcd(r, val) * 100 + (tm.tm_year + 1900) % 100 - 1900; break;
    }
    int64_t after = (int64_t)timegm(&tm);   /* normalises the fields */
    time_t t = (time_t)after;
    if (running(r))
        r->base_secs += after - before;
    else
        gmtime_r(&t, &r->frozen);
}

static void write_reg_b(struct rtc *r, uint8_t val, uint64_t now)
{
    bool was_running = running(r);
    if (was_running && (val & B_SET))
        current_tm(r, now, &r->frozen);
    r->ram[REG_B] = val;   /* SQWE has no pin here but reads back */
    if (val & B_SET)
        r->ram[REG_B] &= ~B_UIE;   /* SET clears UIE (datasheet, register B) */
    if (!was_running && running(r)) {
        r->base_secs = (int64_t)timegm(&r->frozen);
        r->base_ns = now;
    }
    raise_if(r);
}

void rtc_write(struct rtc *r, uint8_t reg, uint8_t val)
{
    reg &= 0x7f;
    uint64_t now = devclock_now(r->clk);
    pthread_mutex_lock(&r->lock);
    update_flags(r, now);
    if (is_time_reg(reg)) {
        write_time_reg(r, reg, val, now);
    } else if (reg == REG_A) {
        bool was_running = running(r);
        if (was_running && ((val >> 4) & 7) != 2)
            current_tm(r, now, &r->frozen);
        r->ram[REG_A] = val & 0x7f;   /* UIP is read-only */
        if (!was_running && running(r)) {
            r->base_secs = (int64_t)timegm(&r->frozen);
            r->base_ns = now;   /* the divider chain restarts */
        }
    } else if (reg == REG_B) {
        write_reg_b(r, val, now);
    } else if (reg != REG_C && reg != REG_D) {
        r->ram[reg] = val;   /* alarms (1, 3, 5) and NVRAM */
    }
    pthread_mutex_unlock(&r->lock);
}

void rtc_poll(struct rtc *r, uint64_t now)
{
    pthread_mutex_lock(&r->lock);
    update_flags(r, now);
    raise_if(r);
    pthread_mutex_unlock(&r->lock);
}

uint64_t rtc_next_event(struct rtc *r)
{
    pthread_mutex_lock(&r->lock);
    uint64_t t = UINT64_MAX;
    uint8_t b = r->ram[REG_B];
    if (!(r->flags & C_IRQF)) {   /* while IRQF is up no new edge can come */
        uint64_t p = periodic_ns(r);
        if ((b & B_PIE) && p)
            t = r->base_ns + ((r->seen_ns - r->base_ns) / p + 1) * p;
        if ((b & (B_AIE | B_UIE)) && running(r)) {
            uint64_t s = r->base_ns + ((r->seen_ns - r->base_ns) / NS + 1) * NS;
            t = s < t ? s : t;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return t;
}

/* --- Ports and VM glue ------------------------------------------------------ */

struct rtc_port {
    struct rtc *rtc;
    struct dev_irq irq;     /* IRQ 8; set under the model's lock */
    pthread_mutex_t lock;   /* guards index */
    uint8_t index;
};

static uint64_t rtc_io_read(void *opaque, uint64_t offset, unsigned size)
{
    struct rtc_port *p = opaque;
    if (offset != 1)
        return 0xff;   /* the index register is write-only */
    pthread_mutex_lock(&p->lock);
    uint8_t index = p->index;
    pthread_mutex_unlock(&p->lock);
    return rtc_read(p->rtc, index);
}

static void rtc_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct rtc_port *p = opaque;
    pthread_mutex_lock(&p->lock);
    if (offset == 0) {
        /* Bit 7 masks NMI on a PC; there is no NMI source to mask. */
        p->index = (uint8_t)value & 0x7f;
        pthread_mutex_unlock(&p->lock);
        return;
    }
    uint8_t index = p->index;
    pthread_mutex_unlock(&p->lock);
    if (offset == 1)
        rtc_write(p->rtc, index, (uint8_t)value);
}

const struct io_ops rtc_io_ops = {.read = rtc_io_read, .write = rtc_io_write};

static void rtc_port_irq(void *opaque, bool level)
{
    struct rtc_port *p = opaque;
    dev_irq_set(&p->irq, level);
}

static void rtc_timer_poll(void *opaque, uint64_t now)
{
    struct rtc_port *p = opaque;
    rtc_poll(p->rtc, now);
}

static uint64_t rtc_timer_next(void *opaque)
{
    struct rtc_port *p = opaque;
    return rtc_next_event(p->rtc);
}

static void rtc_port_destroy(void *opaque)
{
    struct rtc_port *p = opaque;
    rtc_free(p->rtc);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* Host time as the guest's clock should show it, aligned so the RTC
 * ticks when the host's seconds do. */
static int64_t host_rtc_secs(bool utc, uint64_t *start_ns)
{
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    *start_ns = devclock_host_ns() - (uint64_t)rt.tv_nsec;
    int64_t secs = (int64_t)rt.tv_sec;
    if (!utc) {
        struct tm tm;
        time_t t = rt.tv_sec;
        if (localtime_r(&t, &tm))
            secs += tm.tm_gmtoff;
    }
    return secs;
}

static void memory_split(const struct guest_mem *mem, uint64_t *low, uint64_t *high)
{
    *low = *high = 0;
    for (int i = 0; mem && i < mem->nregions; i++) {
        const struct gmem_region *g = &mem->regions[i];
        if (g->gpa >= GMEM_HIGHMEM_BASE)
            *high += g->size;
        else
            *low += g->size;
    }
}

int rtc_create(struct dev_env *env, struct irqchip *chip)
{
    static const struct irqchip_timer timer = {rtc_timer_poll, rtc_timer_next};
    if (!env)
        return HK_EINVAL;
    struct rtc_port *p = calloc(1, sizeof(*p));
    if (!p)
        return HK_ENOMEM;
    pthread_mutex_init(&p->lock, NULL);
    uint64_t start_ns, low, high;
    dev_irq_init(&p->irq, env, RTC_IRQ);
    int64_t secs = host_rtc_secs(env->rtc_utc, &start_ns);
    int r = rtc_new(NULL, secs, start_ns, rtc_port_irq, p, &p->rtc);
    if (r) {
        pthread_mutex_destroy(&p->lock);
        free(p);
        return r;
    }
    memory_split(env->mem, &low, &high);
    rtc_set_memory(p->rtc, low, high);
    if ((r = env->ops->add_teardown(env->ctx, "rtc", p, rtc_port_destroy)) != 0) {
        rtc_port_destroy(p);
        return r;
    }
    r = iobus_register(env->pio, RTC_BASE, RTC_NPORTS, &rtc_io_ops, p, "rtc");
    if (!r && chip)
        r = irqchip_add_timer(chip, &timer, p);
    return r;
}
