/*
 * A 16550A-compatible UART (8250 family), as PC COM1/COM2.
 *
 * Two layers. struct uart8250 is the register model alone: it knows
 * nothing of the VM, hosts or threads beyond its own lock, and reports
 * through three hooks (a byte sent, the interrupt output, whether it can
 * take host input). uart8250_create() is the glue: it connects a model
 * to a chardev, the environment's event loop, an IRQ line and the port-I/O
 * bus.
 */
#ifndef HK_DEVICES_LPC_UART8250_H
#define HK_DEVICES_LPC_UART8250_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/iobus.h"

struct dev_env;
struct uart8250;

#define UART8250_NREGS 8
#define UART8250_FIFO_SIZE 16

/*
 * Called with the UART's lock held: a hook must not call back into the
 * same UART. Any hook may be NULL.
 */
struct uart8250_hooks {
    void (*tx)(void *opaque, uint8_t byte);          /* the guest sent a byte */
    void (*irq)(void *opaque, bool level);           /* interrupt output changed */
    void (*rx_ready)(void *opaque, bool accepting);  /* room for host input changed */
};

int uart8250_new(const struct uart8250_hooks *hooks, void *opaque, struct uart8250 **out);
void uart8250_free(struct uart8250 *u);

/* One byte-wide register access; reg 0..7 (others read 0xff, writes ignored). */
uint8_t uart8250_read(struct uart8250 *u, unsigned reg);
void uart8250_write(struct uart8250 *u, unsigned reg, uint8_t val);

/* Bytes arriving on the serial input. Beyond the FIFO they overrun (LSR.OE)
 * as on the wire; in loopback mode the input is disconnected and they are
 * dropped. */
void uart8250_receive(struct uart8250 *u, const uint8_t *buf, size_t n);

/* How many bytes uart8250_receive() can take without overrunning. */
size_t uart8250_rx_room(struct uart8250 *u);

/* The interrupt output's current level. */
bool uart8250_irq_level(struct uart8250 *u);

/* Port-I/O handlers for the 8 registers; opaque is the struct uart8250.
 * Wider accesses are split into byte accesses, as an ISA bus does. */
extern const struct io_ops uart8250_io_ops;

/*
 * Create COM1 (index 0: ports 0x3f8-0x3ff, IRQ 4) or COM2 (index 1:
 * 0x2f8-0x2ff, IRQ 3) talking to the stream cfg describes, register its
 * ports on env->pio, its input with env->evloop (if any), and its teardown
 * with the environment. Returns 0 or a negative HK_E* code with one line in err
 * (the reason without a "comN:" prefix).
 */
int uart8250_create(struct dev_env *env, int index, const struct hk_com *cfg, char *err,
                    size_t errlen);

#endif
