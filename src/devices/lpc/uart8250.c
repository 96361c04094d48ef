/*
 * The 16550A register model. References are to the National Semiconductor
 * PC16550D datasheet ("NS16550D"), and to what Linux's 8250 driver probes.
 *
 * Output is immediate: a byte written to THR goes to the tx hook at once,
 * so THR and the transmitter are always empty (LSR.THRE and LSR.TEMT stay
 * set) and the transmit FIFO has no observable state.
 */
#include "devices/lpc/uart8250.h"

#include <pthread.h>
#include <stdlib.h>

#include "hyperkit.h"

enum { REG_DATA, REG_IER, REG_IIR_FCR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR };

#define IER_ERBFI 0x01   /* received data available */
#define IER_ETBEI 0x02   /* THR empty */
#define IER_ELSI 0x04    /* receiver line status */
#define IER_EDSSI 0x08   /* modem status */
#define IER_MASK 0x0f    /* bits 4-7 read 0; Linux probes this (XScale UUE test) */

#define IIR_NONE 0x01
#define IIR_MSR 0x00
#define IIR_THRE 0x02
#define IIR_RDA 0x04
#define IIR_RLS 0x06
#define IIR_TIMEOUT 0x0c
#define IIR_ID_MASK 0x0f
#define IIR_FIFO_ON 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_KEEP 0xc9    /* bits kept: enable, DMA mode, RX trigger level */

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_ERRORS 0x1e  /* OE, PE, FE, BI: cleared by reading LSR */
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

struct uart8250 {
    pthread_mutex_t lock;
    struct uart8250_hooks hooks;
    void *opaque;

    uint8_t rx[UART8250_FIFO_SIZE];
    unsigned rx_head, rx_count;
    uint8_t rbr;            /* last byte read: an empty RBR reads it again */

    uint8_t ier, fcr, lcr, mcr, scr, dll, dlm;
    uint8_t lsr_errors;     /* LSR bits 1-4 */
    uint8_t msr;            /* inputs (4-7) and deltas (0-3) */
    bool thre_pending;      /* THR-empty interrupt armed, see uart_write_thr */
    bool irq_level;
    bool rx_accepting;
};

static bool fifo_on(const struct uart8250 *u)
{
    return u->fcr & FCR_ENABLE;
}

static bool loopback(const struct uart8250 *u)
{
    return u->mcr & MCR_LOOP;
}

/* Without FIFOs the 16450-style receiver holds a single byte. */
static unsigned rx_capacity(const struct uart8250 *u)
{
    return fifo_on(u) ? UART8250_FIFO_SIZE : 1;
}

/* FCR bits 7:6 pick the RX trigger level (NS16550D table IV). */
static unsigned rx_trigger(const struct uart8250 *u)
{
    static const unsigned levels[4] = {1, 4, 8, 14};
    return levels[u->fcr >> 6];
}

static uint8_t lsr_value(const struct uart8250 *u)
{
    return u->lsr_errors | (u->rx_count ? LSR_DR : 0) | LSR_THRE | LSR_TEMT;
}

/*
 * The highest-priority pending interrupt (NS16550D table IV): line status,
 * then received data, then THR empty, then modem status. With FIFOs on,
 * data below the trigger level is reported as a character timeout at once
 * rather than after four character times: no guest can tell the difference
 * and Linux treats both alike.
 */
static uint8_t iir_value(const struct uart8250 *u)
{
    uint8_t fifo = fifo_on(u) ? IIR_FIFO_ON : 0;
    if ((u->ier & IER_ELSI) && u->lsr_errors)
        return fifo | IIR_RLS;
    if ((u->ier & IER_ERBFI) && u->rx_count)
        return fifo | (fifo && u->rx_count < rx_trigger(u) ? IIR_TIMEOUT : IIR_RDA);
    if ((u->ier & IER_ETBEI) && u->thre_pending)
        return fifo | IIR_THRE;
    if ((u->ier & IER_EDSSI) && (u->msr & MSR_DELTAS))
        return fifo | IIR_MSR;
    return fifo | IIR_NONE;
}

/*
 * The interrupt output follows IIR. OUT2 is not modelled as a gate on the
 * line (QEMU and bhyve do the same): Linux sets it anyway, and polling
 * guests never look.
 */
static void update_irq(struct uart8250 *u)
{
    bool level = !(iir_value(u) & IIR_NONE);
    if (level == u->irq_level)
        return;
    u->irq_level = level;
    if (u->hooks.irq)
        u->hooks.irq(u->opaque, level);
}

/* Host input is welcome while the FIFO has room and the serial input is
 * connected (loopback disconnects it, NS16550D "MCR bit 4"). */
static void update_rx_accepting(struct uart8250 *u)
{
    bool on = !loopback(u) && u->rx_count < rx_capacity(u);
    if (on == u->rx_accepting)
        return;
    u->rx_accepting = on;
    if (u->hooks.rx_ready)
        u->hooks.rx_ready(u->opaque, on);
}

static void update(struct uart8250 *u)
{
    update_irq(u);
    update_rx_accepting(u);
}

/*
 * One byte arrives at the receiver. On overrun the FIFO keeps its contents
 * and the new byte is lost; without FIFOs the new byte overwrites RBR
 * (NS16550D, LSR bit 1).
 */
static void rx_push(struct uart8250 *u, uint8_t byte)
{
    if (u->rx_count >= rx_capacity(u)) {
        u->lsr_errors |= LSR_OE;
        if (!fifo_on(u))
            u->rx[u->rx_head] = byte;
        return;
    }
    u->rx[(u->rx_head + u->rx_count) % UART8250_FIFO_SIZE] = byte;
    u->rx_count++;
}

static void rx_clear(struct uart8250 *u)
{
    u->rx_head = 0;
    u->rx_count = 0;
}

static uint8_t read_rbr(struct uart8250 *u)
{
    if (u->rx_count) {
        u->rbr = u->rx[u->rx_head];
        u->rx_head = (u->rx_head + 1) % UART8250_FIFO_SIZE;
        u->rx_count--;
    }
    return u->rbr;
}

/* Reading IIR acknowledges a THR-empty interrupt, but only when it is the
 * one IIR reports (NS16550D table IV, "reset control"). */
static uint8_t read_iir(struct uart8250 *u)
{
    uint8_t iir = iir_value(u);
    if ((iir & IIR_ID_MASK) == IIR_THRE)
        u->thre_pending = false;
    return iir;
}

static uint8_t read_lsr(struct uart8250 *u)
{
    uint8_t lsr = lsr_value(u);
    u->lsr_errors = 0;
    return lsr;
}

static uint8_t read_msr(struct uart8250 *u)
{
    uint8_t msr = u->msr;
    u->msr &= (uint8_t)~MSR_DELTAS;
    return msr;
}

static uint8_t read_locked(struct uart8250 *u, unsigned reg)
{
    bool dlab = u->lcr & LCR_DLAB;
    switch (reg) {
    case REG_DATA:
        return dlab ? u->dll : read_rbr(u);
    case REG_IER:
        return dlab ? u->dlm : u->ier;
    case REG_IIR_FCR:
        return read_iir(u);
    case REG_LCR:
        return u->lcr;
    case REG_MCR:
        return u->mcr;
    case REG_LSR:
        return read_lsr(u);
    case REG_MSR:
        return read_msr(u);
    case REG_SCR:
        return u->scr;
    default:
        return 0xff;
    }
}

/*
 * Writing THR clears a THR-empty interrupt; the byte then leaves at once,
 * THR is empty again and the interrupt is re-armed. The line drops and
 * rises around the write so an edge-triggered PIC sees a fresh edge for
 * each byte, as it would from a real 16550 after each transmission.
 */
static void write_thr(struct uart8250 *u, uint8_t val)
{
    u->thre_pending = false;
    update_irq(u);
    if (loopback(u))
        rx_push(u, val);
    else if (u->hooks.tx)
        u->hooks.tx(u->opaque, val);
    u->thre_pending = true;
}

/* Setting ETBEI while THR is empty raises the interrupt at once; Linux's
 * startup test toggles ETBEI and expects it each time (UART_BUG_THRE). */
static void write_ier(struct uart8250 *u, uint8_t val)
{
    val &= IER_MASK;
    if ((val & IER_ETBEI) && !(u->ier & IER_ETBEI))
        u->thre_pending = true;
    u->ier = val;
}

/* FCR bits other than FCR0 only take effect with FCR0 set, and changing
 * FCR0 empties the FIFOs (NS16550D, FCR description). */
static void write_fcr(struct uart8250 *u, uint8_t val)
{
    if ((val ^ u->fcr) & FCR_ENABLE)
        rx_clear(u);
    if (!(val & FCR_ENABLE)) {
        u->fcr = 0;
        return;
    }
    if (val & FCR_CLEAR_RX)
        rx_clear(u);
    u->fcr = val & FCR_KEEP;
}

/* The modem inputs: a connected line, or in loopback the four outputs
 * wired back (NS16550D "MCR bit 4": RTS->CTS, DTR->DSR, OUT1->RI,
 * OUT2->DCD). */
static uint8_t msr_inputs(const struct uart8250 *u)
{
    if (!loopback(u))
        return MSR_DCD | MSR_DSR | MSR_CTS;
    return (u->mcr & MCR_RTS ? MSR_CTS : 0) | (u->mcr & MCR_DTR ? MSR_DSR : 0) |
           (u->mcr & MCR_OUT1 ? MSR_RI : 0) | (u->mcr & MCR_OUT2 ? MSR_DCD : 0);
}

/* Latch the delta bits for inputs that changed: TERI only on RI's
 * trailing edge (1 -> 0). */
static void msr_refresh(struct uart8250 *u)
{
    uint8_t old = u->msr, now = msr_inputs(u), changed = old ^ now;
    uint8_t deltas = old & MSR_DELTAS;
    deltas |= changed & MSR_CTS ? MSR_DCTS : 0;
    deltas |= changed & MSR_DSR ? MSR_DDSR : 0;
    deltas |= (old & MSR_RI) && !(now & MSR_RI) ? MSR_TERI : 0;
    deltas |= changed & MSR_DCD ? MSR_DDCD : 0;
    u->msr = now | deltas;
}

static void write_locked(struct uart8250 *u, unsigned reg, uint8_t val)
{
    bool dlab = u->lcr & LCR_DLAB;
    switch (reg) {
    case REG_DATA:
        if (dlab)
            u->dll = val;
        else
            write_thr(u, val);
        break;
    case REG_IER:
        if (dlab)
            u->dlm = val;
        else
            write_ier(u, val);
        break;
    case REG_IIR_FCR:
        write_fcr(u, val);
        break;
    case REG_LCR:
        u->lcr = val;
        break;
    case REG_MCR:
        u->mcr = val & MCR_MASK;
        msr_refresh(u);
        break;
    case REG_SCR:
        u->scr = val;
        break;
    default:
        break;   /* LSR and MSR writes are factory-test only: ignored */
    }
}

uint8_t uart8250_read(struct uart8250 *u, unsigned reg)
{
    pthread_mutex_lock(&u->lock);
    uint8_t v = read_locked(u, reg);
    update(u);
    pthread_mutex_unlock(&u->lock);
    return v;
}

void uart8250_write(struct uart8250 *u, unsigned reg, uint8_t val)
{
    pthread_mutex_lock(&u->lock);
    write_locked(u, reg, val);
    update(u);
    pthread_mutex_unlock(&u->lock);
}

void uart8250_receive(struct uart8250 *u, const uint8_t *buf, size_t n)
{
    pthread_mutex_lock(&u->lock);
    for (size_t i = 0; i < n && !loopback(u); i++)
        rx_push(u, buf[i]);
    update(u);
    pthread_mutex_unlock(&u->lock);
}

size_t uart8250_rx_room(struct uart8250 *u)
{
    pthread_mutex_lock(&u->lock);
    size_t room = loopback(u) ? 0 : rx_capacity(u) - u->rx_count;
    pthread_mutex_unlock(&u->lock);
    return room;
}

bool uart8250_irq_level(struct uart8250 *u)
{
    pthread_mutex_lock(&u->lock);
    bool level = u->irq_level;
    pthread_mutex_unlock(&u->lock);
    return level;
}

/* Power-on state (NS16550D table II "reset"): everything zero but LSR
 * (THRE, TEMT) and the modem inputs; the divisor a BIOS leaves, 9600 baud. */
int uart8250_new(const struct uart8250_hooks *hooks, void *opaque, struct uart8250 **out)
{
    struct uart8250 *u = calloc(1, sizeof(*u));
    if (!u)
        return HK_ENOMEM;
    if (pthread_mutex_init(&u->lock, NULL) != 0) {
        free(u);
        return HK_ENOMEM;
    }
    if (hooks)
        u->hooks = *hooks;
    u->opaque = opaque;
    u->dll = 12;
    u->msr = msr_inputs(u);
    u->rx_accepting = true;
    *out = u;
    return HK_OK;
}

void uart8250_free(struct uart8250 *u)
{
    if (!u)
        return;
    pthread_mutex_destroy(&u->lock);
    free(u);
}

static uint64_t uart_io_read(void *opaque, uint64_t offset, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t reg = offset + i;
        uint8_t b = reg < UART8250_NREGS ? uart8250_read(opaque, (unsigned)reg) : 0xff;
        v |= (uint64_t)b << (8 * i);
    }
    return v;
}

static void uart_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t reg = offset + i;
        if (reg < UART8250_NREGS)
            uart8250_write(opaque, (unsigned)reg, (uint8_t)(value >> (8 * i)));
    }
}

const struct io_ops uart8250_io_ops = {.read = uart_io_read, .write = uart_io_write};
