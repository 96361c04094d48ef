/* Guest RAM: one anonymous mapping split into regions around the PCI hole. */
#include "core/guest_mem.h"

#include <string.h>
#include <sys/mman.h>

#include "hyperkit.h"

/* RAM in 2 MiB pages where the host gives them (transparent huge pages,
 * as QEMU asks for them): one host TLB entry then covers 512 of the
 * guest's pages, which the emu touches all over in a way no host cache
 * helps with. The mapping is aligned to 2 MiB so that whole huge pages
 * fit in it; NULL when there is no memory. */
static void *map_huge(uint64_t bytes)
{
    const uint64_t huge = 2ull << 20;
    uint8_t *p = mmap(NULL, bytes + huge, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uint64_t head = (huge - ((uintptr_t)p & (huge - 1))) & (huge - 1);
    if (head)
        munmap(p, head);
    munmap(p + head + bytes, huge - head);
    (void)madvise(p + head, bytes, MADV_HUGEPAGE); /* a hint: without THP, 4 KiB pages */
    return p + head;
}

int gmem_init(struct guest_mem *mem, uint64_t ram_bytes)
{
    memset(mem, 0, sizeof(*mem));
    if (ram_bytes == 0 || (ram_bytes & 0xfff))
        return HK_EINVAL;
    void *p = map_huge(ram_bytes);
    if (!p)
        return HK_ENOMEM;
    mem->mapping = p;
    mem->mapping_size = ram_bytes;
    mem->ram_bytes = ram_bytes;
    uint64_t low = ram_bytes < GMEM_LOWMEM_LIMIT ? ram_bytes : GMEM_LOWMEM_LIMIT;
    mem->regions[mem->nregions++] = (struct gmem_region){0, low, p};
    if (ram_bytes > low)
        mem->regions[mem->nregions++] =
            (struct gmem_region){GMEM_HIGHMEM_BASE, ram_bytes - low, (uint8_t *)p + low};
    return HK_OK;
}

void gmem_fini(struct guest_mem *mem)
{
    if (mem->mapping)
        munmap(mem->mapping, mem->mapping_size);
    memset(mem, 0, sizeof(*mem));
}

/* The region holding all of [gpa, gpa+len), or NULL. Overflow-safe. */
static const struct gmem_region *gmem_find(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
    for (int i = 0; i < mem->nregions; i++) {
        const struct gmem_region *r = &mem->regions[i];
        if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
            return r;
    }
    return NULL;
}

bool gmem_is_ram(const struct guest_mem *mem, uint64_t gpa)
{
    return gmem_find(mem, gpa, 1) != NULL;
}

void *gmem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
    const struct gmem_region *r = gmem_find(mem, gpa, len);
    return r ? r->hva + (gpa - r->gpa) : NULL;
}

void *gmem_ptr_for_write(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
    void *p = gmem_ptr(mem, gpa, len);
    if (p && mem->write_notify)
        mem->write_notify(mem->notify_opaque, gpa, len);
    return p;
}

void gmem_write_done(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
    if (mem->write_notify && gmem_ptr(mem, gpa, len))
        mem->write_notify(mem->notify_opaque, gpa, len);
}

bool gmem_gpa_of(const struct guest_mem *mem, const void *hva, uint64_t *gpa)
{
    const uint8_t *p = hva;
    for (int i = 0; i < mem->nregions; i++) {
        const struct gmem_region *r = &mem->regions[i];
        if (p >= r->hva && (uint64_t)(p - r->hva) < r->size) {
            *gpa = r->gpa + (uint64_t)(p - r->hva);
            return true;
        }
    }
    return false;
}

int gmem_read(const struct guest_mem *mem, uint64_t gpa, void *buf, uint64_t len)
{
    const void *p = gmem_ptr(mem, gpa, len);
    if (!p)
        return HK_EINVAL;
    memcpy(buf, p, len);
    return HK_OK;
}

int gmem_write(const struct guest_mem *mem, uint64_t gpa, const void *buf, uint64_t len)
{
    void *p = gmem_ptr(mem, gpa, len);
    if (!p)
        return HK_EINVAL;
    memcpy(p, buf, len);
    /* After the copy: a vCPU that drains the notification decodes the
     * new bytes (see gmem_ptr_for_write). */
    if (mem->write_notify)
        mem->write_notify(mem->notify_opaque, gpa, len);
    return HK_OK;
}
