/*
 * Guest RAM's mapping: the size asked for, both regions around the PCI
 * hole where they belong, and the whole of it 2 MiB aligned and marked
 * for transparent huge pages (the kernel's own smaps says whether the
 * mapping may have them; skipped where the host has THP off).
 */
#include <stdio.h>
#include <string.h>

#include "core/guest_mem.h"
#include "hyperkit.h"
#include "test.h"

/* THPeligible of the smaps entry starting at addr: 1, 0, or -1 unknown. */
static int thp_eligible(const void *addr)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[256];
    bool in = false;
    int r = -1;
    unsigned long lo, hi;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            in = lo == (unsigned long)(uintptr_t)addr;
        else if (in && sscanf(line, "THPeligible: %d", &r) == 1)
            break;
    }
    fclose(f);
    return r;
}

static bool thp_enabled(void)
{
    char mode[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f)
        return false;
    bool ok = fgets(mode, sizeof(mode), f) && !strstr(mode, "[never]");
    fclose(f);
    return ok;
}

int main(void)
{
    struct guest_mem mem;
    const uint64_t size = 64ull << 20;
    CHECK(gmem_init(&mem, size) == HK_OK, "guest mem: 64 MiB mapped");
    CHECK(((uintptr_t)mem.mapping & ((2u << 20) - 1)) == 0, "guest mem: the mapping is 2 MiB aligned");
    uint8_t *first = gmem_ptr(&mem, 0, 1), *last = gmem_ptr(&mem, size - 1, 1);
    CHECK(first == mem.mapping && last == (uint8_t *)mem.mapping + size - 1 && !gmem_ptr(&mem, size, 1),
          "guest mem: GPA 0 to the last byte, nothing past it");
    memset(first, 0xa5, size); /* all of it writable */
    CHECK(last[0] == 0xa5, "guest mem: every byte writable");
    if (thp_enabled())
        CHECK(thp_eligible(mem.mapping) == 1, "guest mem: eligible for transparent huge pages");
    else
        SKIP("guest mem: eligible for transparent huge pages", "THP is off on this host");
    gmem_fini(&mem);
    CHECK(gmem_init(&mem, 0) == HK_EINVAL && gmem_init(&mem, 4097) == HK_EINVAL,
          "guest mem: a zero or unaligned size refused");
    TEST_EXIT();
}
