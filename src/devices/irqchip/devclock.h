/*
 * The clock device models read: host CLOCK_MONOTONIC nanoseconds unless a
 * test supplies its own. Models never start threads or host timers; they
 * compute their state from this clock when asked (lazily) and report the
 * time of their next event so a halted vCPU can sleep until then.
 */
#ifndef HK_DEVICES_DEVCLOCK_H
#define HK_DEVICES_DEVCLOCK_H

#include <stdint.h>
#include <time.h>

struct devclock {
    uint64_t (*now)(void *opaque);   /* NULL: host CLOCK_MONOTONIC */
    void *opaque;
};

static inline uint64_t devclock_host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t devclock_now(const struct devclock *c)
{
    return c && c->now ? c->now(c->opaque) : devclock_host_ns();
}

/* a * b / c without overflowing 64 bits in the product. */
static inline uint64_t devclock_muldiv(uint64_t a, uint64_t b, uint64_t c)
{
    return (uint64_t)((unsigned __int128)a * b / c);
}

#endif
