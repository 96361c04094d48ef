/*
 * VM glue for the 16550A model: ports on the I/O bus, an IRQ line, a
 * chardev for the bytes, and the event loop feeding host input.
 *
 * Input flow control: the event-loop watch on the chardev's input is on
 * only while the receive FIFO has room (the model's rx_ready hook), so a
 * guest that stops reading leaves the bytes in the host's buffers instead
 * of overrunning its FIFO.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "backends/chardev.h"
#include "core/evloop.h"
#include "devices/devenv.h"
#include "devices/lpc/uart8250.h"

struct uart_port {
    struct dev_env *env;
    struct uart8250 *uart;
    struct chardev *cd;
    struct dev_irq irq;      /* set under the model's lock */
    char name[8];            /* "com1" */
    int watch_id;
    bool watching;           /* watch_id is valid */
    atomic_bool input_over;  /* EOF or error: never watch again */
};

static const struct {
    uint16_t base;
    int irq;
} uart_ports[] = {{0x3f8, 4}, {0x2f8, 3}};

static void port_tx(void *opaque, uint8_t byte)
{
    struct uart_port *p = opaque;
    chardev_write(p->cd, &byte, 1);
}

static void port_irq(void *opaque, bool level)
{
    struct uart_port *p = opaque;
    dev_irq_set(&p->irq, level);
}

static void port_rx_ready(void *opaque, bool accepting)
{
    struct uart_port *p = opaque;
    if (p->watching && !atomic_load(&p->input_over))
        evloop_enable(p->env->evloop, p->watch_id, accepting);
}

/* On the event-loop thread: move what fits into the receive FIFO. */
static void port_input(void *opaque, int fd)
{
    struct uart_port *p = opaque;
    uint8_t buf[UART8250_FIFO_SIZE];
    size_t room = uart8250_rx_room(p->uart);
    if (room == 0) {
        evloop_enable(p->env->evloop, p->watch_id, false);
        return;
    }
    ssize_t n = chardev_read(p->cd, buf, room < sizeof(buf) ? room : sizeof(buf));
    if (n > 0) {
        uart8250_receive(p->uart, buf, (size_t)n);
    } else if (n < 0) {
        atomic_store(&p->input_over, true);
        evloop_enable(p->env->evloop, p->watch_id, false);
        dev_log(p->env, HK_LOG_DEBUG, "%s: input from %s has ended", p->name,
               chardev_describe(p->cd));
    }
}

static void port_destroy(void *opaque)
{
    struct uart_port *p = opaque;
    /* The watch goes first: after evloop_remove() no callback is running
     * or will run, so the model and the chardev can go. */
    if (p->watching && p->env->evloop)
        evloop_remove(p->env->evloop, p->watch_id);
    uart8250_free(p->uart);
    chardev_close(p->cd);
    free(p);
}

/* Watch the chardev's input. A descriptor epoll cannot watch (a regular
 * file, /dev/null) just means no input, as for the null backend. */
static int port_watch_input(struct uart_port *p, char *err, size_t errlen)
{
    int fd = chardev_input_fd(p->cd);
    if (fd < 0 || !p->env->evloop)
        return HK_OK;
    int r = evloop_add_fd(p->env->evloop, fd, port_input, p, &p->watch_id);
    if (r == HK_ENOTSUP) {
        dev_log(p->env, HK_LOG_DEBUG, "%s: %s cannot be polled; input ignored", p->name,
               chardev_describe(p->cd));
        return HK_OK;
    }
    if (r) {
        snprintf(err, errlen, "cannot watch %s for input: %s", chardev_describe(p->cd),
                 hk_strerror(r));
        return r;
    }
    p->watching = true;
    return HK_OK;
}

static int port_init(struct uart_port *p, int index, const struct hk_com *cfg, char *err,
                     size_t errlen)
{
    static const struct uart8250_hooks hooks = {port_tx, port_irq, port_rx_ready};
    int r = chardev_open(cfg, p->name, &p->cd, err, errlen);
    if (r) {
        /* The caller reports err to the user; this is only a trace. */
        dev_log(p->env, HK_LOG_DEBUG, "%s: %s", p->name, err);
        return r;
    }
    if (cfg->backend == HK_COM_AUTOPTY)
        dev_log(p->env, HK_LOG_INFO, "%s: connected to %s", p->name, chardev_describe(p->cd));
    if ((r = uart8250_new(&hooks, p, &p->uart)) != 0) {
        snprintf(err, errlen, "out of memory");
        return r;
    }
    if ((r = port_watch_input(p, err, errlen)) != 0)
        return r;
    r = iobus_register(p->env->pio, uart_ports[index].base, UART8250_NREGS, &uart8250_io_ops,
                       p->uart, p->name);
    if (r)
        snprintf(err, errlen, "I/O ports %#x-%#x are already in use", uart_ports[index].base,
                 uart_ports[index].base + UART8250_NREGS - 1);
    return r;
}

int uart8250_create(struct dev_env *env, int index, const struct hk_com *cfg, char *err,
                    size_t errlen)
{
    char dummy[1];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = '\0';
    if (!env || !cfg || index < 0 || index >= (int)(sizeof(uart_ports) / sizeof(uart_ports[0]))) {
        snprintf(err, errlen, "no such serial port");
        return HK_EINVAL;
    }
    struct uart_port *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return HK_ENOMEM;
    }
    p->env = env;
    dev_irq_init(&p->irq, env, uart_ports[index].irq);
    snprintf(p->name, sizeof(p->name), "com%d", index + 1);
    int r = port_init(p, index, cfg, err, errlen);
    if (!r && (r = env->ops->add_teardown(env->ctx, p->name, p, port_destroy)) != 0)
        snprintf(err, errlen, "too many devices");
    if (r)
        port_destroy(p);
    return r;
}
