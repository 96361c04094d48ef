/*
 * The local APIC's state, shared by lapic.c (registers, delivery, MSRs)
 * and lapic_timer.c. Everything here is called with the LAPIC's lock held.
 */
#ifndef HK_DEVICES_IRQCHIP_LAPIC_PRIV_H
#define HK_DEVICES_IRQCHIP_LAPIC_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "devices/irqchip/lapic.h"

#define MSR_APIC_BASE 0x1b
#define MSR_TSC_DEADLINE 0x6e0
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN (1ull << 11)

#define LVT_MASKED (1u << 16)
#define LVT_DM(v) (((v) >> 8) & 7)
#define SVR_ENABLE (1u << 8)

enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };
enum { TIMER_ONESHOT = 0, TIMER_PERIODIC = 1, TIMER_TSC_DEADLINE = 2 };

/* ESR bits (SDM 10.5.3). */
#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECV_ILLEGAL (1u << 6)
#define ESR_ILLEGAL_REG (1u << 7)

struct lapic {
    pthread_mutex_t lock;
    const struct devclock *clk;
    struct lapic_hooks hooks;
    void *opaque;
    uint32_t id;
    uint64_t apic_base;
    uint32_t tpr, ldr, dfr, svr, esr, esr_pending, icr_lo, icr_hi;
    uint32_t irr[8], isr[8], tmr[8];
    uint32_t lvt[LVT_COUNT];
    bool extint_req;          /* an ExtINT message is waiting for INTA */
    /* Atomic: the CPU looks at these at every block boundary, lock-free. */
    atomic_bool nmi_pending;  /* an NMI is latched until the CPU takes it */
    atomic_bool lint0_nmi;    /* LINT0 (the PIC's INTR) delivers NMIs */
    bool lint_level[2];       /* LINT0/1 input levels, for edge detection */
    /* Timer (SDM 10.5.4): count0 counts down from start_ns; periodic mode
     * reloads `initial`. */
    uint32_t initial, count0, dcr;
    uint64_t start_ns, expire_ns;   /* expire_ns 0: not armed */
    uint64_t tsc_deadline;
};

static inline bool x2apic(const struct lapic *l)
{
    return l->apic_base & APIC_BASE_EXTD;
}

static inline bool hw_enabled(const struct lapic *l)
{
    return l->apic_base & APIC_BASE_EN;
}

static inline bool sw_enabled(const struct lapic *l)
{
    return l->svr & SVR_ENABLE;
}

static inline void vec_set(uint32_t *v, int n)
{
    v[n >> 5] |= 1u << (n & 31);
}

static inline void vec_clear(uint32_t *v, int n)
{
    v[n >> 5] &= ~(1u << (n & 31));
}

static inline bool vec_test(const uint32_t *v, int n)
{
    return v[n >> 5] & (1u << (n & 31));
}

static inline int vec_highest(const uint32_t *v)
{
    for (int i = 7; i >= 0; i--)
        if (v[i])
            return i * 32 + 31 - __builtin_clz(v[i]);
    return -1;
}

static inline uint32_t timer_mode(const struct lapic *l)
{
    return (l->lvt[LVT_TIMER] >> 17) & 3;
}

/* Divide Configuration Register bits 0,1,3 (SDM Figure 10-10). */
static inline uint32_t timer_divide(const struct lapic *l)
{
    uint32_t v = (l->dcr & 3) | ((l->dcr & 8) >> 1);
    return 1u << ((v + 1) & 7);
}

/* lapic.c */
void lapic_accept_fixed(struct lapic *l, int vector, bool level);

/* lapic_timer.c */
void lapic_timer_update(struct lapic *l, uint64_t now);
uint32_t lapic_timer_current(struct lapic *l, uint64_t now);
void lapic_timer_write_lvt(struct lapic *l, uint32_t val, uint64_t now);
void lapic_timer_write_dcr(struct lapic *l, uint32_t val, uint64_t now);
void lapic_timer_write_initial(struct lapic *l, uint32_t val, uint64_t now);

#endif
