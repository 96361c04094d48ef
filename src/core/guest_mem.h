/*
 * Guest-physical memory: RAM regions backed by one host mapping, and the
 * single bounds-checked accessor every device and loader goes through.
 */
#ifndef HK_CORE_GUEST_MEM_H
#define HK_CORE_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GMEM_MAX_REGIONS 4
/* RAM above this address is placed above 4 GiB: the gap is the PCI hole. */
#define GMEM_LOWMEM_LIMIT 0xC0000000ull
#define GMEM_HIGHMEM_BASE 0x100000000ull

struct gmem_region {
    uint64_t gpa;
    uint64_t size;
    uint8_t *hva;
};

/* Called for a guest-memory write that did not come from the CPU itself
 * (device DMA, loaders), so an engine can drop code it decoded there.
 * Called from any thread. */
typedef void (*gmem_write_notify_fn)(void *opaque, uint64_t gpa, uint64_t len);

struct guest_mem {
    struct gmem_region regions[GMEM_MAX_REGIONS];
    int nregions;
    uint64_t ram_bytes;
    void *mapping;
    size_t mapping_size;
    gmem_write_notify_fn write_notify;
    void *notify_opaque;
};

/* Reserve and map ram_bytes of guest RAM (lowmem below the PCI hole, the
 * rest above 4 GiB). Returns 0 or a negative HK_E* code. */
int gmem_init(struct guest_mem *mem, uint64_t ram_bytes);
void gmem_fini(struct guest_mem *mem);

/* Host pointer for [gpa, gpa+len) if the whole range is RAM, else NULL.
 * Use gmem_ptr_for_write() when the caller will write through it: it
 * notifies the engine at once, which is enough while no vCPU runs
 * (loaders). A device writing through the pointer while vCPUs run calls
 * gmem_write_done() once its bytes are in place (after the preadv, the
 * memcpy), or a vCPU could decode the old bytes in between and keep
 * running them. */
void *gmem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
void *gmem_ptr_for_write(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
void gmem_write_done(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
/* The guest-physical address of a host pointer into RAM (one that
 * gmem_ptr gave): true with *gpa set, false if hva is not guest RAM. */
bool gmem_gpa_of(const struct guest_mem *mem, const void *hva, uint64_t *gpa);

/* Copy to/from guest RAM; 0 or HK_EINVAL if any byte is outside RAM.
 * gmem_write notifies the engine after copying: safe while vCPUs run. */
int gmem_read(const struct guest_mem *mem, uint64_t gpa, void *buf, uint64_t len);
int gmem_write(const struct guest_mem *mem, uint64_t gpa, const void *buf, uint64_t len);

/* Is gpa inside RAM? */
bool gmem_is_ram(const struct guest_mem *mem, uint64_t gpa);

#endif
