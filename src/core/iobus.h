/*
 * Port-I/O and MMIO buses: address ranges with read/write handlers.
 *
 * Ranges may be registered and unregistered while vCPUs run (the guest
 * moves a PCI BAR). A read-write lock guards the range array: dispatch
 * holds it only to look up and copy the range, never while calling the
 * handler, so a handler may itself register or unregister ranges (a
 * configuration write that moves a BAR). Handlers lock their own device.
 *
 * An access that looked up a range just before it was unregistered may
 * still be running its handler when iobus_unregister returns: a device
 * keeps its opaque valid until the VM's vCPUs have stopped (devices live
 * as long as the VM), so a late access reaches a device that no longer
 * decodes there, as an access racing a BAR write may on a real bus.
 */
#ifndef HK_CORE_IOBUS_H
#define HK_CORE_IOBUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* offset is relative to the range's base; size is 1, 2, 4 or 8. */
struct io_ops {
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
};

struct io_range {
    uint64_t base, len;
    const struct io_ops *ops;
    void *opaque;
    const char *name;
};

struct iobus {
    pthread_rwlock_t lock;     /* readers: dispatch; writers: (un)register */
    struct io_range *ranges;   /* sorted by base, never overlapping */
    int nranges, cap;
};

void iobus_init(struct iobus *bus);
void iobus_fini(struct iobus *bus);

/* HK_EEXIST if [base, base+len) overlaps a registered range. Safe while
 * other threads dispatch, and from inside a handler. */
int iobus_register(struct iobus *bus, uint64_t base, uint64_t len, const struct io_ops *ops,
                   void *opaque, const char *name);

/* Remove the range starting at base that was registered with opaque
 * (HK_ENOENT if there is none). Safe while other threads dispatch, and
 * from inside a handler (see above for accesses already under way). */
int iobus_unregister(struct iobus *bus, uint64_t base, void *opaque);

/* Dispatch one access. Returns false when no range claims addr (reads
 * then see all ones, as on a real bus). */
bool iobus_access(struct iobus *bus, uint64_t addr, unsigned size, bool is_write,
                  uint64_t *value);

#endif
