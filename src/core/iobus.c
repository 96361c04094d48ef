/* Port-I/O and MMIO range dispatch: a sorted array searched by bisection. */
#include "core/iobus.h"

#include <stdlib.h>
#include <string.h>

#include "hyperkit.h"

void iobus_init(struct iobus *bus)
{
    memset(bus, 0, sizeof(*bus));
}

void iobus_fini(struct iobus *bus)
{
    free(bus->ranges);
    memset(bus, 0, sizeof(*bus));
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

int iobus_register(struct iobus *bus, uint64_t base, uint64_t len, const struct io_ops *ops,
                   void *opaque, const char *name)
{
    if (len == 0 || base + len < base || !ops)
        return HK_EINVAL;
    int pos = 0;
    while (pos < bus->nranges && bus->ranges[pos].base < base)
        pos++;
    for (int i = pos - 1; i <= pos; i++) {
        if (i >= 0 && i < bus->nranges &&
            ranges_overlap(base, len, bus->ranges[i].base, bus->ranges[i].len))
            return HK_EEXIST;
    }
    if (bus->nranges == bus->cap) {
        int cap = bus->cap ? bus->cap * 2 : 16;
        struct io_range *r = realloc(bus->ranges, (size_t)cap * sizeof(*r));
        if (!r)
            return HK_ENOMEM;
        bus->ranges = r;
        bus->cap = cap;
    }
    memmove(&bus->ranges[pos + 1], &bus->ranges[pos],
            (size_t)(bus->nranges - pos) * sizeof(*bus->ranges));
    bus->ranges[pos] = (struct io_range){base, len, ops, opaque, name};
    bus->nranges++;
    return HK_OK;
}

static const struct io_range *iobus_find(const struct iobus *bus, uint64_t addr)
{
    int lo = 0, hi = bus->nranges - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const struct io_range *r = &bus->ranges[mid];
        if (addr < r->base)
            hi = mid - 1;
        else if (addr - r->base >= r->len)
            lo = mid + 1;
        else
            return r;
    }
    return NULL;
}

bool iobus_access(const struct iobus *bus, uint64_t addr, unsigned size, bool is_write,
                  uint64_t *value)
{
    const struct io_range *r = iobus_find(bus, addr);
    if (!r) {
        if (!is_write)
            *value = size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
        return false;
    }
    uint64_t offset = addr - r->base;
    if (is_write) {
        if (r->ops->write)
            r->ops->write(r->opaque, offset, size, *value);
    } else {
        *value = r->ops->read ? r->ops->read(r->opaque, offset, size)
                              : (size >= 8 ? ~0ull : (1ull << (size * 8)) - 1);
    }
    return true;
}
