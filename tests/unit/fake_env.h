/*
 * One fake device environment for every device unit test: real buses and
 * (optionally) real guest memory and a running event loop, and a record
 * of what the device asked of the machine: each line's level and how many
 * sources hold it, raise counts, MSIs, exit requests, teardowns, log lines.
 *
 *   struct fake_env f;
 *   fake_env_init(&f, 0, false);          // no RAM, no event loop
 *   CHECK_EQ(rtc_create(&f.env, NULL), 0, ...);
 *   ... iobus_access(&f.pio, ...); f.level[8], f.exit_reason ...
 *   fake_env_fini(&f);                    // runs the teardowns, newest first
 */
#ifndef HK_TESTS_FAKE_ENV_H
#define HK_TESTS_FAKE_ENV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/evloop.h"
#include "core/guest_mem.h"
#include "core/iobus.h"
#include "devices/devenv.h"

#define FAKE_ENV_LINES 64
#define FAKE_ENV_MSIS 64
#define FAKE_ENV_TEARDOWNS 64

struct fake_env {
    struct dev_env env;
    struct iobus pio, mmio;
    struct guest_mem mem;
    bool has_mem;
    pthread_mutex_t lock;                 /* guards the record below */
    int sources[FAKE_ENV_LINES];          /* asserted sources per line */
    bool level[FAKE_ENV_LINES];           /* the line: any source asserted */
    int raises[FAKE_ENV_LINES];           /* 0 -> 1 transitions of the line */
    int bad_lines;                        /* out of range, or deassert of a free line */
    int nmsi;
    uint64_t msi_addr[FAKE_ENV_MSIS];
    uint32_t msi_data[FAKE_ENV_MSIS];
    int nexits;                           /* every request; the first one is kept */
    enum hk_exit_reason exit_reason;
    int exit_status;
    char exit_why[256];
    int nteardowns;
    struct {
        const char *name;
        void *opaque;
        void (*destroy)(void *);
    } teardown[FAKE_ENV_TEARDOWNS];
    int nlogs;
    enum hk_log_level log_level;          /* lines above it are dropped (not counted) */
    char last_log[512];
};

static void fake_env_irq_line(void *ctx, int gsi, bool asserted)
{
    struct fake_env *f = ctx;
    pthread_mutex_lock(&f->lock);
    if (gsi < 0 || gsi >= FAKE_ENV_LINES || (!asserted && f->sources[gsi] == 0)) {
        f->bad_lines++;
    } else {
        f->sources[gsi] += asserted ? 1 : -1;
        bool up = f->sources[gsi] > 0;
        if (up && !f->level[gsi])
            f->raises[gsi]++;
        f->level[gsi] = up;
    }
    pthread_mutex_unlock(&f->lock);
}

static void fake_env_msi(void *ctx, uint64_t addr, uint32_t data)
{
    struct fake_env *f = ctx;
    pthread_mutex_lock(&f->lock);
    if (f->nmsi < FAKE_ENV_MSIS) {
        f->msi_addr[f->nmsi] = addr;
        f->msi_data[f->nmsi] = data;
    }
    f->nmsi++;
    pthread_mutex_unlock(&f->lock);
}

static void fake_env_request_exit(void *ctx, enum hk_exit_reason reason, int status,
                                  const char *why)
{
    struct fake_env *f = ctx;
    pthread_mutex_lock(&f->lock);
    if (f->nexits++ == 0) {
        f->exit_reason = reason;
        f->exit_status = status;
        snprintf(f->exit_why, sizeof(f->exit_why), "%s", why);
    }
    pthread_mutex_unlock(&f->lock);
}

static int fake_env_add_teardown(void *ctx, const char *name, void *opaque,
                                 void (*destroy)(void *))
{
    struct fake_env *f = ctx;
    pthread_mutex_lock(&f->lock);
    int r = HK_ENOMEM;
    if (f->nteardowns < FAKE_ENV_TEARDOWNS) {
        f->teardown[f->nteardowns].name = name;
        f->teardown[f->nteardowns].opaque = opaque;
        f->teardown[f->nteardowns].destroy = destroy;
        f->nteardowns++;
        r = HK_OK;
    }
    pthread_mutex_unlock(&f->lock);
    return r;
}

static void fake_env_log(void *ctx, enum hk_log_level level, const char *msg)
{
    struct fake_env *f = ctx;
    if (level > f->log_level)
        return;
    pthread_mutex_lock(&f->lock);
    f->nlogs++;
    snprintf(f->last_log, sizeof(f->last_log), "%s", msg);
    pthread_mutex_unlock(&f->lock);
}

static const struct dev_env_ops fake_env_ops = {
    .irq_line = fake_env_irq_line,
    .msi = fake_env_msi,
    .request_exit = fake_env_request_exit,
    .add_teardown = fake_env_add_teardown,
    .log = fake_env_log,
};

/* ram_bytes 0: no guest memory (env.mem NULL). with_evloop: a started
 * event loop (env.evloop), else NULL. Exits the test on failure. */
static inline void fake_env_init(struct fake_env *f, uint64_t ram_bytes, bool with_evloop)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    iobus_init(&f->pio);
    iobus_init(&f->mmio);
    f->log_level = HK_LOG_DEBUG;
    f->env.ops = &fake_env_ops;
    f->env.ctx = f;
    f->env.pio = &f->pio;
    f->env.mmio = &f->mmio;
    if (ram_bytes) {
        if (gmem_init(&f->mem, ram_bytes)) {
            printf("FAIL: fake_env: cannot allocate guest memory\n");
            exit(1);
        }
        f->has_mem = true;
        f->env.mem = &f->mem;
    }
    if (with_evloop && (evloop_create(&f->env.evloop) || evloop_start(f->env.evloop))) {
        printf("FAIL: fake_env: cannot start an event loop\n");
        exit(1);
    }
}

/* As the VM does: the event thread stops first, then the teardowns run
 * newest first, then the loop and buses go. */
static inline void fake_env_fini(struct fake_env *f)
{
    evloop_stop(f->env.evloop);
    for (int i = f->nteardowns - 1; i >= 0; i--)
        f->teardown[i].destroy(f->teardown[i].opaque);
    f->nteardowns = 0;
    evloop_destroy(f->env.evloop);
    f->env.evloop = NULL;
    if (f->has_mem)
        gmem_fini(&f->mem);
    iobus_fini(&f->pio);
    iobus_fini(&f->mmio);
    pthread_mutex_destroy(&f->lock);
}

/* Port and MMIO accesses as a vCPU makes them. */
static inline uint64_t fake_env_in(struct fake_env *f, uint16_t port, unsigned size)
{
    uint64_t v = 0;
    iobus_access(&f->pio, port, size, false, &v);
    return v;
}

static inline void fake_env_out(struct fake_env *f, uint16_t port, unsigned size, uint64_t v)
{
    iobus_access(&f->pio, port, size, true, &v);
}

static inline bool fake_env_level(struct fake_env *f, int gsi)
{
    pthread_mutex_lock(&f->lock);
    bool l = gsi >= 0 && gsi < FAKE_ENV_LINES && f->level[gsi];
    pthread_mutex_unlock(&f->lock);
    return l;
}

#endif
