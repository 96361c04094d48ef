/*
 * I/O APIC after the Intel 82093AA datasheet (order no. 290566):
 * 3.0 register map (IOREGSEL at +0x00, IOWIN at +0x10; registers 0 ID,
 * 1 version, 2 arbitration, 0x10 + 2n redirection entries) and 3.2.4 the
 * redirection table. Version 0x11 with 24 entries, as KVM and bhyve
 * present (no EOI register: that arrived with version 0x20).
 */
#include "devices/irqchip/ioapic.h"

#include <pthread.h>
#include <stdlib.h>

#include "hyperkit.h"

#define IOAPIC_VERSION 0x11

/* Redirection entry bits (82093AA 3.2.4). */
#define RTE_VECTOR 0xffull
#define RTE_DELMODE_SHIFT 8
#define RTE_DESTMODE (1ull << 11)
#define RTE_DELIVS (1ull << 12)
#define RTE_POLARITY (1ull << 13)
#define RTE_REMOTE_IRR (1ull << 14)
#define RTE_LEVEL (1ull << 15)
#define RTE_MASKED (1ull << 16)
#define RTE_DEST_SHIFT 56
/* What software may write: not Delivery Status nor Remote IRR. */
#define RTE_WRITABLE (~(RTE_DELIVS | RTE_REMOTE_IRR))

struct ioapic {
    pthread_mutex_t lock;
    ioapic_deliver_fn deliver;
    void *opaque;
    uint32_t regsel;
    uint32_t id;
    uint32_t levels;              /* asserted pins */
    uint64_t rte[IOAPIC_PINS];
};

int ioapic_new(ioapic_deliver_fn deliver, void *opaque, struct ioapic **out)
{
    struct ioapic *io = calloc(1, sizeof(*io));
    if (!io)
        return HK_ENOMEM;
    pthread_mutex_init(&io->lock, NULL);
    io->deliver = deliver;
    io->opaque = opaque;
    /* All entries come out of reset masked (82093AA 3.2.4, bit 16). */
    for (int i = 0; i < IOAPIC_PINS; i++)
        io->rte[i] = RTE_MASKED;
    *out = io;
    return HK_OK;
}

void ioapic_free(struct ioapic *io)
{
    if (!io)
        return;
    pthread_mutex_destroy(&io->lock);
    free(io);
}

static void send(struct ioapic *io, int pin)
{
    uint64_t e = io->rte[pin];
    struct apic_msg msg = {
        .vector = (uint8_t)(e & RTE_VECTOR),
        .delivery = (uint8_t)((e >> RTE_DELMODE_SHIFT) & 7),
        .logical = e & RTE_DESTMODE,
        .level = e & RTE_LEVEL,
        .dest = (uint32_t)(e >> RTE_DEST_SHIFT),
    };
    /* A level interrupt stays "in flight" (Remote IRR) until the LAPIC's
     * EOI for its vector comes back. */
    if (e & RTE_LEVEL)
        io->rte[pin] |= RTE_REMOTE_IRR;
    if (io->deliver)
        io->deliver(io->opaque, &msg);
}

/* Level pins deliver while asserted, unmasked and not already in flight. */
static void service_level(struct ioapic *io, int pin)
{
    uint64_t e = io->rte[pin];
    if ((e & RTE_LEVEL) && !(e & (RTE_MASKED | RTE_REMOTE_IRR)) && (io->levels & (1u << pin)))
        send(io, pin);
}

void ioapic_set_irq(struct ioapic *io, int pin, bool level)
{
    if (pin < 0 || pin >= IOAPIC_PINS)
        return;
    uint32_t bit = 1u << pin;
    pthread_mutex_lock(&io->lock);
    bool was = io->levels & bit;
    io->levels = level ? (io->levels | bit) : (io->levels & ~bit);
    uint64_t e = io->rte[pin];
    if (e & RTE_LEVEL)
        service_level(io, pin);
    else if (level && !was && !(e & RTE_MASKED))
        send(io, pin);   /* an edge on a masked pin is lost (82093AA 3.2.4) */
    pthread_mutex_unlock(&io->lock);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
    pthread_mutex_lock(&io->lock);
    for (int pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t e = io->rte[pin];
        if ((e & RTE_VECTOR) != vector || !(e & RTE_REMOTE_IRR))
            continue;
        io->rte[pin] &= ~RTE_REMOTE_IRR;
        service_level(io, pin);
    }
    pthread_mutex_unlock(&io->lock);
}

static uint32_t reg_read(struct ioapic *io, uint32_t reg)
{
    switch (reg) {
    case 0x00:
        return io->id << 24;
    case 0x01:
        return (uint32_t)((IOAPIC_PINS - 1) << 16) | IOAPIC_VERSION;
    case 0x02:
        return io->id << 24;   /* arbitration ID follows the APIC ID */
    }
    if (reg >= 0x10 && reg < 0x10 + 2 * IOAPIC_PINS) {
        uint64_t e = io->rte[(reg - 0x10) / 2];
        return (reg & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
    }
    return 0xffffffff;   /* unimplemented registers read as ones */
}

static void reg_write(struct ioapic *io, uint32_t reg, uint32_t val)
{
    if (reg == 0x00) {
        io->id = (val >> 24) & 0x0f;
        return;
    }
    if (reg < 0x10 || reg >= 0x10 + 2 * IOAPIC_PINS)
        return;   /* version and arbitration are read-only */
    int pin = (int)(reg - 0x10) / 2;
    uint64_t e = io->rte[pin];
    uint64_t v = (reg & 1) ? ((uint64_t)val << 32) | (e & 0xffffffffull)
                           : (e & ~0xffffffffull) | val;
    io->rte[pin] = (v & RTE_WRITABLE) | (e & ~RTE_WRITABLE);
    /* Switching to edge drops a stale Remote IRR; unmasking (or making a
     * pin level) delivers a level that is still asserted. */
    if (!(io->rte[pin] & RTE_LEVEL))
        io->rte[pin] &= ~RTE_REMOTE_IRR;
    service_level(io, pin);
}

static uint64_t ioapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    struct ioapic *io = opaque;
    uint64_t v = 0;
    pthread_mutex_lock(&io->lock);
    if (offset == 0x00)
        v = io->regsel;
    else if (offset == 0x10)
        v = reg_read(io, io->regsel);
    pthread_mutex_unlock(&io->lock);
    return size == 8 ? v : v & ((1ull << (size * 8)) - 1);
}

static void ioapic_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct ioapic *io = opaque;
    /* Only dword accesses are defined (82093AA 3.0); IOREGSEL's low byte
     * is what selects, so a byte write there is honoured too. */
    pthread_mutex_lock(&io->lock);
    if (offset == 0x00)
        io->regsel = (uint32_t)value & 0xff;
    else if (offset == 0x10 && size >= 4)
        reg_write(io, io->regsel, (uint32_t)value);
    pthread_mutex_unlock(&io->lock);
}

const struct io_ops ioapic_mmio_ops = {.read = ioapic_mmio_read, .write = ioapic_mmio_write};
