/*
 * PCI configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2) and the
 * type 0 header (6.1): read-only IDs, a writable COMMAND, BAR sizing
 * (6.2.5.1: the low bits hardwired to the type, the address bits below
 * the size reading 0), a writable interrupt line, the capability list
 * (6.7) and INTx (6.2.2 COMMAND bit 10, 6.2.3 STATUS bit 3; 2.2.6 pins
 * are level-sensitive, active low, and may be shared). Bus 0 only.
 */
#include "devices/pci/pci.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/devenv.h"
#include "hyperkit.h"

#define PCI_CAP_START 0x40

struct pci_func {
    struct pci_bus *bus;
    int slot, func;
    uint8_t cfg[256];
    uint8_t wmask[256];
    enum pci_bar_type bar_type[PCI_NBARS];
    uint64_t bar_size[PCI_NBARS];
    uint64_t bar_decoded[PCI_NBARS];   /* last address reported to bar_moved */
    const struct pci_func_ops *ops;
    void *opaque;
    unsigned cap_next;                 /* where the next capability may go */
    unsigned cap_last;                 /* the last capability's offset, or 0 */
    bool intx_level;                   /* the device's pin, before INTX_DISABLE */
    struct dev_irq intx;               /* this function's source on its line */
};

struct pci_bus {
    pthread_mutex_t lock;   /* guards config spaces, INTx and the address latch */
    struct dev_env *env;    /* NULL: INTx lines are not connected */
    uint32_t address;
    struct pci_func *funcs[PCI_SLOTS][PCI_FUNCS];
};

int pci_bus_new(struct dev_env *env, struct pci_bus **out)
{
    struct pci_bus *bus = calloc(1, sizeof(*bus));
    if (!bus)
        return HK_ENOMEM;
    pthread_mutex_init(&bus->lock, NULL);
    bus->env = env;
    *out = bus;
    return HK_OK;
}

void pci_bus_free(struct pci_bus *bus)
{
    if (!bus)
        return;
    for (int s = 0; s < PCI_SLOTS; s++)
        for (int f = 0; f < PCI_FUNCS; f++)
            free(bus->funcs[s][f]);
    pthread_mutex_destroy(&bus->lock);
    free(bus);
}

static void put(uint8_t *p, unsigned offset, unsigned size, uint32_t v)
{
    for (unsigned i = 0; i < size && offset + i < 256; i++)
        p[offset + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get(const uint8_t *p, unsigned offset, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size && offset + i < 256; i++)
        v |= (uint32_t)p[offset + i] << (8 * i);
    return v;
}

int pci_add_func(struct pci_bus *bus, int slot, int func, uint16_t vendor, uint16_t device,
                 uint32_t class_code, const struct pci_func_ops *ops, void *opaque,
                 struct pci_func **out)
{
    if (!bus || slot < 0 || slot >= PCI_SLOTS || func < 0 || func >= PCI_FUNCS)
        return HK_EINVAL;
    struct pci_func *f = calloc(1, sizeof(*f));
    if (!f)
        return HK_ENOMEM;
    *f = (struct pci_func){.bus = bus, .slot = slot, .func = func, .ops = ops, .opaque = opaque,
                           .cap_next = PCI_CAP_START};
    dev_irq_init(&f->intx, bus->env, -1);
    put(f->cfg, PCI_VENDOR_ID, 2, vendor);
    put(f->cfg, PCI_DEVICE_ID, 2, device);
    put(f->cfg, PCI_CLASS_PROG, 3, class_code);
    /* COMMAND: I/O, memory, bus master, parity, SERR, INTx disable. */
    put(f->wmask, PCI_COMMAND, 2, 0x0547);
    put(f->wmask, 0x0c, 2, 0xffff);              /* cache line size, latency timer */
    put(f->wmask, PCI_INTERRUPT_LINE, 1, 0xff);
    pthread_mutex_lock(&bus->lock);
    bool taken = bus->funcs[slot][func] != NULL;
    if (!taken)
        bus->funcs[slot][func] = f;
    pthread_mutex_unlock(&bus->lock);
    if (taken) {
        free(f);
        return HK_EEXIST;
    }
    if (out)
        *out = f;
    return HK_OK;
}

int pci_set_bar(struct pci_func *f, int bar, enum pci_bar_type type, uint64_t size,
                bool prefetchable)
{
    int n = type == PCI_BAR_MEM64 ? 2 : 1;
    uint64_t min = type == PCI_BAR_IO ? 4 : 16;
    if (!f || bar < 0 || bar + n > PCI_NBARS || size < min || (size & (size - 1)) ||
        (type == PCI_BAR_IO && size > 256) || (type == PCI_BAR_MEM32 && size > (1ull << 31)))
        return HK_EINVAL;
    pthread_mutex_lock(&f->bus->lock);
    uint32_t low = type == PCI_BAR_IO ? 0x1 : (type == PCI_BAR_MEM64 ? 0x4 : 0x0);
    if (type != PCI_BAR_IO && prefetchable)
        low |= 0x8;
    f->bar_type[bar] = type;
    f->bar_size[bar] = size;
    put(f->cfg, PCI_BAR0 + 4 * bar, 4, low);
    put(f->wmask, PCI_BAR0 + 4 * bar, 4, (uint32_t)~(size - 1) & (type == PCI_BAR_IO ? ~3u : ~15u));
    if (type == PCI_BAR_MEM64) {
        f->bar_type[bar + 1] = PCI_BAR_NONE;
        put(f->wmask, PCI_BAR0 + 4 * (bar + 1), 4, (uint32_t)(~(size - 1) >> 32));
    }
    pthread_mutex_unlock(&f->bus->lock);
    return HK_OK;
}

void pci_set_cfg(struct pci_func *f, unsigned offset, unsigned size, uint32_t value)
{
    pthread_mutex_lock(&f->bus->lock);
    put(f->cfg, offset, size, value);
    pthread_mutex_unlock(&f->bus->lock);
}

void pci_set_wmask(struct pci_func *f, unsigned offset, unsigned size, uint32_t mask)
{
    pthread_mutex_lock(&f->bus->lock);
    put(f->wmask, offset, size, mask);
    pthread_mutex_unlock(&f->bus->lock);
}

uint32_t pci_get_cfg(struct pci_func *f, unsigned offset, unsigned size)
{
    pthread_mutex_lock(&f->bus->lock);
    uint32_t v = get(f->cfg, offset, size);
    pthread_mutex_unlock(&f->bus->lock);
    return v;
}

/* Where a BAR decodes given the config space (lock held). */
static uint64_t bar_decode(const struct pci_func *f, int bar)
{
    enum pci_bar_type t = f->bar_type[bar];
    uint16_t cmd = (uint16_t)get(f->cfg, PCI_COMMAND, 2);
    if (t == PCI_BAR_NONE || !(cmd & (t == PCI_BAR_IO ? PCI_CMD_IO : PCI_CMD_MEM)))
        return 0;
    uint64_t a = get(f->cfg, PCI_BAR0 + 4 * bar, 4) & (t == PCI_BAR_IO ? ~3u : ~15u);
    if (t == PCI_BAR_MEM64)
        a |= (uint64_t)get(f->cfg, PCI_BAR0 + 4 * (bar + 1), 4) << 32;
    return a;
}

uint64_t pci_bar_addr(struct pci_func *f, int bar)
{
    if (!f || bar < 0 || bar >= PCI_NBARS)
        return 0;
    pthread_mutex_lock(&f->bus->lock);
    uint64_t a = bar_decode(f, bar);
    pthread_mutex_unlock(&f->bus->lock);
    return a;
}

int pci_add_cap(struct pci_func *f, uint8_t id, unsigned len)
{
    if (!f || len < 2)
        return HK_EINVAL;
    pthread_mutex_lock(&f->bus->lock);
    unsigned off = (f->cap_next + 3) & ~3u;   /* dword aligned (6.7) */
    int r = HK_ENOMEM;
    if (len <= 256 - off) {
        f->cfg[off] = id;
        f->cfg[off + 1] = 0;                  /* the end of the list */
        if (f->cap_last)
            f->cfg[f->cap_last + 1] = (uint8_t)off;
        else
            f->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
        put(f->cfg, PCI_STATUS, 2, get(f->cfg, PCI_STATUS, 2) | PCI_STATUS_CAP_LIST);
        f->cap_last = off;
        f->cap_next = off + len;
        r = (int)off;
    }
    pthread_mutex_unlock(&f->bus->lock);
    return r;
}

int pci_intx_gsi(int slot, int pin)
{
    if (slot < 0 || slot >= PCI_SLOTS || pin < 1 || pin > 4)
        return -1;
    /* The usual swizzle, so neighbouring slots use different lines, onto
     * the IOAPIC pins 16-23 that only PCI uses. */
    return 16 + ((slot + pin - 1) & 7);
}

/* Drive the function's line from its pin and COMMAND.INTX_DISABLE (bus
 * lock held: serialises the device's pci_set_intx with the guest's
 * COMMAND writes; the router never calls back into devices). */
static void intx_update(struct pci_func *f)
{
    bool disabled = get(f->cfg, PCI_COMMAND, 2) & PCI_CMD_INTX_DISABLE;
    dev_irq_set(&f->intx, f->intx_level && !disabled);
}

int pci_set_irq_pin(struct pci_func *f, int pin)
{
    int gsi = f ? pci_intx_gsi(f->slot, pin) : -1;
    if (gsi < 0)
        return HK_EINVAL;
    pthread_mutex_lock(&f->bus->lock);
    f->cfg[PCI_INTERRUPT_PIN] = (uint8_t)pin;
    f->cfg[PCI_INTERRUPT_LINE] = (uint8_t)gsi;   /* what firmware would leave */
    dev_irq_set(&f->intx, false);
    dev_irq_init(&f->intx, f->bus->env, f->bus->env ? gsi : -1);
    intx_update(f);
    pthread_mutex_unlock(&f->bus->lock);
    return HK_OK;
}

void pci_set_intx(struct pci_func *f, bool level)
{
    pthread_mutex_lock(&f->bus->lock);
    f->intx_level = level;
    /* STATUS.INTX shows the pin's state whatever INTX_DISABLE says. */
    uint32_t st = get(f->cfg, PCI_STATUS, 2) & ~(uint32_t)PCI_STATUS_INTX;
    put(f->cfg, PCI_STATUS, 2, st | (level ? PCI_STATUS_INTX : 0));
    intx_update(f);
    pthread_mutex_unlock(&f->bus->lock);
}

static struct pci_func *lookup(struct pci_bus *bus, int busno, int slot, int func)
{
    if (busno != 0 || slot < 0 || slot >= PCI_SLOTS || func < 0 || func >= PCI_FUNCS)
        return NULL;
    return bus->funcs[slot][func];
}

static bool valid_access(unsigned offset, unsigned size)
{
    return (size == 1 || size == 2 || size == 4) && offset < 256 && (offset & (size - 1)) == 0;
}

uint32_t pci_cfg_read(struct pci_bus *bus, int busno, int slot, int func, unsigned offset,
                      unsigned size)
{
    uint32_t ones = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
    if (!valid_access(offset, size))
        return ones;
    pthread_mutex_lock(&bus->lock);
    struct pci_func *f = lookup(bus, busno, slot, func);
    pthread_mutex_unlock(&bus->lock);
    if (!f)
        return ones;
    uint32_t v;
    if (f->ops && f->ops->cfg_read && f->ops->cfg_read(f->opaque, offset, size, &v))
        return v & ones;
    pthread_mutex_lock(&bus->lock);
    uint8_t cfg[256];
    memcpy(cfg, f->cfg, sizeof(cfg));
    /* Function 0 says whether the slot holds more functions (6.2.1). */
    if (func == 0)
        for (int i = 1; i < PCI_FUNCS; i++)
            if (bus->funcs[slot][i])
                cfg[PCI_HEADER_TYPE] |= 0x80;
    pthread_mutex_unlock(&bus->lock);
    return get(cfg, offset, size);
}

void pci_cfg_write(struct pci_bus *bus, int busno, int slot, int func, unsigned offset,
                   unsigned size, uint32_t value)
{
    if (!valid_access(offset, size))
        return;
    pthread_mutex_lock(&bus->lock);
    struct pci_func *f = lookup(bus, busno, slot, func);
    if (!f) {
        pthread_mutex_unlock(&bus->lock);
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        uint8_t m = f->wmask[offset + i], b = (uint8_t)(value >> (8 * i));
        f->cfg[offset + i] = (uint8_t)((f->cfg[offset + i] & ~m) | (b & m));
    }
    intx_update(f);   /* INTX_DISABLE may have changed */
    uint64_t moved[PCI_NBARS];
    bool changed[PCI_NBARS] = {false};
    for (int b = 0; b < PCI_NBARS; b++) {
        moved[b] = bar_decode(f, b);
        if (f->bar_type[b] != PCI_BAR_NONE && moved[b] != f->bar_decoded[b]) {
            f->bar_decoded[b] = moved[b];
            changed[b] = true;
        }
    }
    pthread_mutex_unlock(&bus->lock);
    if (f->ops && f->ops->bar_moved)
        for (int b = 0; b < PCI_NBARS; b++)
            if (changed[b])
                f->ops->bar_moved(f->opaque, b, moved[b]);
    if (f->ops && f->ops->cfg_written)
        f->ops->cfg_written(f->opaque, offset, size, value);
}

/* --- Mechanism #1 ports ---------------------------------------------------------- */

static uint64_t addr_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pci_bus *bus = opaque;
    if (offset != 0 || size != 4)
        return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
    pthread_mutex_lock(&bus->lock);
    uint32_t v = bus->address;
    pthread_mutex_unlock(&bus->lock);
    return v;
}

static void addr_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct pci_bus *bus = opaque;
    /* Only a dword access is CONFIG_ADDRESS (3.2.2.3.2); bits 1:0 read 0. */
    if (offset != 0 || size != 4)
        return;
    pthread_mutex_lock(&bus->lock);
    bus->address = (uint32_t)value & 0x80fffffcu;
    pthread_mutex_unlock(&bus->lock);
}

static bool decode_address(struct pci_bus *bus, int *busno, int *slot, int *func, unsigned *reg)
{
    pthread_mutex_lock(&bus->lock);
    uint32_t a = bus->address;
    pthread_mutex_unlock(&bus->lock);
    *busno = (a >> 16) & 0xff;
    *slot = (a >> 11) & 0x1f;
    *func = (a >> 8) & 7;
    *reg = a & 0xfc;
    return a & 0x80000000u;
}

static uint64_t data_read(void *opaque, uint64_t offset, unsigned size)
{
    int b, s, f;
    unsigned reg;
    if (size > 4 || offset + size > 4 || !decode_address(opaque, &b, &s, &f, &reg))
        return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
    return pci_cfg_read(opaque, b, s, f, reg + (unsigned)offset, size);
}

static void data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    int b, s, f;
    unsigned reg;
    if (size > 4 || offset + size > 4 || !decode_address(opaque, &b, &s, &f, &reg))
        return;
    pci_cfg_write(opaque, b, s, f, reg + (unsigned)offset, size, (uint32_t)value);
}

const struct io_ops pci_addr_io_ops = {.read = addr_read, .write = addr_write};
const struct io_ops pci_data_io_ops = {.read = data_read, .write = data_write};

static void pci_bus_destroy(void *opaque)
{
    pci_bus_free(opaque);
}

int pci_create(struct dev_env *env, struct pci_bus **out)
{
    if (!env || !out)
        return HK_EINVAL;
    struct pci_bus *bus;
    int r = pci_bus_new(env, &bus);
    if (r)
        return r;
    if ((r = env->ops->add_teardown(env->ctx, "pci", bus, pci_bus_destroy)) != 0) {
        pci_bus_free(bus);
        return r;
    }
    r = iobus_register(env->pio, PCI_CONFIG_ADDRESS, 1, &pci_addr_io_ops, bus, "pci-addr");
    if (!r)
        r = iobus_register(env->pio, PCI_CONFIG_DATA, 4, &pci_data_io_ops, bus, "pci-data");
    if (!r)
        *out = bus;
    return r;
}
