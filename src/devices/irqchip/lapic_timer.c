/*
 * The local APIC timer (SDM Vol. 3A 10.5.4): one-shot and periodic modes
 * counting the initial count down at 1 GHz / divide, and TSC-deadline mode
 * (10.5.4.1) against IA32_TSC_DEADLINE. Computed from the clock when
 * looked at; lapic_timer_next() tells a halted vCPU how long it may sleep.
 */
#include "devices/irqchip/lapic_priv.h"

static void timer_arm(struct lapic *l, uint64_t now, uint32_t count)
{
    l->count0 = count;
    l->start_ns = now;
    l->expire_ns = count ? now + (uint64_t)count * timer_divide(l) : 0;
}

/* Fire the timer if its time has come (lazily, from the clock). Missed
 * periods coalesce into one interrupt, as a busy CPU would see. */
void lapic_timer_update(struct lapic *l, uint64_t now)
{
    if (timer_mode(l) == TIMER_TSC_DEADLINE) {
        if (l->tsc_deadline && now >= l->tsc_deadline) {
            l->tsc_deadline = 0;   /* the MSR reads 0 once it has fired */
            if (!(l->lvt[LVT_TIMER] & LVT_MASKED))
                lapic_accept_fixed(l, l->lvt[LVT_TIMER] & 0xff, false);
        }
        return;
    }
    if (!l->expire_ns || now < l->expire_ns)
        return;
    if (!(l->lvt[LVT_TIMER] & LVT_MASKED))
        lapic_accept_fixed(l, l->lvt[LVT_TIMER] & 0xff, false);
    if (timer_mode(l) == TIMER_PERIODIC && l->initial) {
        uint64_t period = (uint64_t)l->initial * timer_divide(l);
        uint64_t periods = (now - l->expire_ns) / period;
        l->start_ns = l->expire_ns + periods * period;
        l->count0 = l->initial;
        l->expire_ns = l->start_ns + period;
    } else {
        l->expire_ns = 0;
        l->count0 = 0;
    }
}

uint32_t lapic_timer_current(struct lapic *l, uint64_t now)
{
    lapic_timer_update(l, now);
    if (!l->expire_ns || timer_mode(l) == TIMER_TSC_DEADLINE)
        return 0;
    uint64_t ticks = (now - l->start_ns) / timer_divide(l);
    return ticks >= l->count0 ? 0 : l->count0 - (uint32_t)ticks;
}

uint64_t lapic_timer_next(struct lapic *l)
{
    pthread_mutex_lock(&l->lock);
    uint64_t t = UINT64_MAX;
    if (!(l->lvt[LVT_TIMER] & LVT_MASKED)) {
        if (timer_mode(l) == TIMER_TSC_DEADLINE)
            t = l->tsc_deadline ? l->tsc_deadline : UINT64_MAX;
        else if (l->expire_ns)
            t = l->expire_ns;
    }
    pthread_mutex_unlock(&l->lock);
    return t;
}

void lapic_timer_write_lvt(struct lapic *l, uint32_t val, uint64_t now)
{
    uint32_t old_mode = timer_mode(l);
    lapic_timer_update(l, now);
    l->lvt[LVT_TIMER] = val & 0x700ff;   /* vector, mask, mode (bit 18: TSC-deadline) */
    uint32_t mode = timer_mode(l);
    /* Switching into or out of TSC-deadline mode disarms the timer
     * (SDM 10.5.4.1). */
    if ((old_mode == TIMER_TSC_DEADLINE) != (mode == TIMER_TSC_DEADLINE)) {
        l->expire_ns = 0;
        l->initial = l->count0 = 0;
        l->tsc_deadline = 0;
    }
}

void lapic_timer_write_dcr(struct lapic *l, uint32_t val, uint64_t now)
{
    /* Keep the count reached so far and go on at the new rate. */
    uint32_t cur = lapic_timer_current(l, now);
    l->dcr = val & 0xb;
    if (l->expire_ns && timer_mode(l) != TIMER_TSC_DEADLINE)
        timer_arm(l, now, cur);
}

void lapic_timer_write_initial(struct lapic *l, uint32_t val, uint64_t now)
{
    /* Ignored in TSC-deadline mode (SDM 10.5.4.1). */
    if (timer_mode(l) != TIMER_TSC_DEADLINE) {
        l->initial = val;
        timer_arm(l, now, val);
    }
}
