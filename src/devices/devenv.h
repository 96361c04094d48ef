/*
 * The device environment: everything a device may use of the machine it is
 * plugged into, and nothing more. Devices never see struct vm; the board
 * (src/board) builds one dev_env per VM, and unit tests build a fake one
 * (tests/unit/fake_env.h) that serves every device test.
 *
 * Threads: the buses dispatch on vCPU threads; the event loop calls back
 * on its own thread; device I/O workers run on threads the device owns.
 * Every call below is safe from any of them.
 */
#ifndef HK_DEVICES_DEVENV_H
#define HK_DEVICES_DEVENV_H

#include <stdbool.h>
#include <stdint.h>

#include "core/evloop.h"
#include "core/guest_mem.h"
#include "core/iobus.h"
#include "hyperkit.h"

struct dev_env;

/* A guest write that may signal an eventfd instead of exiting to the VMM
 * (the engine's ioeventfd): len bytes at addr, port space when pio, with
 * match only when the value written is data. */
struct dev_ioeventfd {
    uint64_t addr;
    uint8_t len;
    bool pio;
    bool match;
    uint64_t data;
    int fd;
};

/* The machine's side of the environment (implemented by the board). */
struct dev_env_ops {
    /* One interrupt source changed level on line gsi. The router counts
     * asserted sources per line (shared PCI INTx lines are ORed); an edge
     * source pulses (true, then false). */
    void (*irq_line)(void *ctx, int gsi, bool asserted);
    /* Deliver a message-signalled interrupt (PCI MSI/MSI-X address, data). */
    void (*msi)(void *ctx, uint64_t addr, uint32_t data);
    /* End the VM: power-off, reset, debug exit (the first request wins). */
    void (*request_exit)(void *ctx, enum hk_exit_reason reason, int status, const char *why);
    /* Register something to tear down with the VM (reverse order). */
    int (*add_teardown)(void *ctx, const char *name, void *opaque, void (*destroy)(void *));
    /* One line to the VM's log at the given level. */
    void (*log)(void *ctx, enum hk_log_level level, const char *msg);
    /* Optional (NULL, or HK_ENOTSUP: the engine has no such thing). Have
     * the write signal e->fd without a vCPU exit (assign), or remove
     * exactly that registration. On any error the write keeps reaching
     * the bus as before, so a device must still handle it there. */
    int (*ioeventfd)(void *ctx, const struct dev_ioeventfd *e, bool assign);
};

struct dev_env {
    const struct dev_env_ops *ops;
    void *ctx;
    struct iobus *pio, *mmio;       /* may change while vCPUs run (iobus.h) */
    struct guest_mem *mem;          /* bounded access; writes notify the engine */
    struct evloop *evloop;          /* NULL in unit tests that need none */
    const uint8_t *uuid;            /* the VM's -U uuid (16 bytes), or NULL */
    bool rtc_utc;                   /* -u: the RTC keeps UTC */
    bool virtio_msix_off;           /* -W: virtio uses single-vector MSI, not MSI-X */
};

/* An interrupt source on one line: devices keep one per INTx pin or ISA
 * IRQ they drive, so the router sees each change of this source once. */
struct dev_irq {
    struct dev_env *env;
    int gsi;                        /* -1: not connected */
    bool asserted;
};

static inline void dev_irq_init(struct dev_irq *irq, struct dev_env *env, int gsi)
{
    irq->env = env;
    irq->gsi = gsi;
    irq->asserted = false;
}

/* Set this source's level (the caller serialises calls for one source,
 * usually under its device lock). */
static inline void dev_irq_set(struct dev_irq *irq, bool level)
{
    if (irq->gsi < 0 || irq->asserted == level)
        return;
    irq->asserted = level;
    irq->env->ops->irq_line(irq->env->ctx, irq->gsi, level);
}

/* An edge: assert then deassert. */
static inline void dev_irq_pulse(struct dev_irq *irq)
{
    dev_irq_set(irq, true);
    dev_irq_set(irq, false);
}

void dev_log(struct dev_env *env, enum hk_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
