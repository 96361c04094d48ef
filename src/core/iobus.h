/*
 * Port-I/O and MMIO buses: address ranges with read/write handlers.
 * Ranges are registered while the VM is built and never change while
 * vCPUs run, so lookups take no lock. Handlers lock their own device.
 */
#ifndef HK_CORE_IOBUS_H
#define HK_CORE_IOBUS_H

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
    struct io_range *ranges;   /* sorted by base, never overlapping */
    int nranges, cap;
};

void iobus_init(struct iobus *bus);
void iobus_fini(struct iobus *bus);

/* HK_EEXIST if [base, base+len) overlaps a registered range. */
int iobus_register(struct iobus *bus, uint64_t base, uint64_t len, const struct io_ops *ops,
                   void *opaque, const char *name);

/* Dispatch one access. Returns false when no range claims addr (reads
 * then see all ones, as on a real bus). */
bool iobus_access(const struct iobus *bus, uint64_t addr, unsigned size, bool is_write,
                  uint64_t *value);

#endif
