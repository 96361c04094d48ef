/* Port-I/O and MMIO range dispatch: a sorted array searched by bisection,
 * behind a read-write lock (see iobus.h for the rules). */
#include "core/iobus.h"

#include <stdlib.h>
#include <string.h>

#include "hyperkit.h"

void iobus_init(struct iobus *bus)
{
    memset(bus, 0, sizeof(*bus));
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
#ifdef __GLIBC__
    /* A BAR move must not wait behind a stream of vCPU lookups. Safe:
     * nobody takes the read lock twice. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    pthread_rwlock_init(&bus->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
}

void iobus_fini(struct iobus *bus)
{
    free(bus->ranges);
    pthread_rwlock_destroy(&bus->lock);
    memset(bus, 0, sizeof(*bus));
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* Insert in order (write lock held). */
static int insert(struct iobus *bus, const struct io_range *nr)
{
    int pos = 0;
    while (pos < bus->nranges && bus->ranges[pos].base < nr->base)
        pos++;
    for (int i = pos - 1; i <= pos; i++) {
        if (i >= 0 && i < bus->nranges &&
            ranges_overlap(nr->base, nr->len, bus->ranges[i].base, bus->ranges[i].len))
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
    bus->ranges[pos] = *nr;
    bus->nranges++;
    return HK_OK;
}

int iobus_register(struct iobus *bus, uint64_t base, uint64_t len, const struct io_ops *ops,
                   void *opaque, const char *name)
{
    if (len == 0 || base + len < base || !ops)
        return HK_EINVAL;
    struct io_range nr = {base, len, ops, opaque, name};
    pthread_rwlock_wrlock(&bus->lock);
    int r = insert(bus, &nr);
    pthread_rwlock_unlock(&bus->lock);
    return r;
}

int iobus_unregister(struct iobus *bus, uint64_t base, void *opaque)
{
    int r = HK_ENOENT;
    pthread_rwlock_wrlock(&bus->lock);
    for (int i = 0; i < bus->nranges; i++) {
        if (bus->ranges[i].base != base || bus->ranges[i].opaque != opaque)
            continue;
        memmove(&bus->ranges[i], &bus->ranges[i + 1],
                (size_t)(bus->nranges - i - 1) * sizeof(*bus->ranges));
        bus->nranges--;
        r = HK_OK;
        break;
    }
    pthread_rwlock_unlock(&bus->lock);
    return r;
}

/* Copy the range holding addr into *out (read lock held). */
static bool find(const struct iobus *bus, uint64_t addr, struct io_range *out)
{
    int lo = 0, hi = bus->nranges - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const struct io_range *r = &bus->ranges[mid];
        if (addr < r->base) {
            hi = mid - 1;
        } else if (addr - r->base >= r->len) {
            lo = mid + 1;
        } else {
            *out = *r;
            return true;
        }
    }
    return false;
}

bool iobus_access(struct iobus *bus, uint64_t addr, unsigned size, bool is_write,
                  uint64_t *value)
{
    uint64_t ones = size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
    struct io_range r;
    pthread_rwlock_rdlock(&bus->lock);
    bool found = find(bus, addr, &r);
    pthread_rwlock_unlock(&bus->lock);
    if (!found) {
        if (!is_write)
            *value = ones;
        return false;
    }
    /* The handler runs unlocked: it may move ranges on this bus. */
    uint64_t offset = addr - r.base;
    if (is_write) {
        if (r.ops->write)
            r.ops->write(r.opaque, offset, size, *value);
    } else {
        *value = r.ops->read ? r.ops->read(r.opaque, offset, size) : ones;
    }
    return true;
}
