/* The JIT's code memory (jit_mem.h). */
#if defined(__x86_64__)
#include "accel/emu/jit/jit_mem.h"

#include <cpuid.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int jit_arena_init(struct jit_arena *a, size_t size)
{
    memset(a, 0, sizeof(*a));
    a->fd = memfd_create("hyperkit-jit", MFD_CLOEXEC);
    if (a->fd < 0)
        return -1;
    if (ftruncate(a->fd, (off_t)size) < 0)
        goto fail;
    a->rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
    if (a->rw == MAP_FAILED)
        goto fail;
    a->rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, a->fd, 0);
    if (a->rx == MAP_FAILED) {
        munmap(a->rw, size);
        goto fail;
    }
    a->size = a->limit = size;
    return 0;
fail:;
    int e = errno;
    close(a->fd);
    memset(a, 0, sizeof(*a));
    a->fd = -1;
    errno = e;
    return -1;
}

void jit_arena_fini(struct jit_arena *a)
{
    if (a->size) {
        munmap(a->rw, a->size);
        munmap(a->rx, a->size);
    }
    if (a->fd >= 0)
        close(a->fd);
    memset(a, 0, sizeof(*a));
    a->fd = -1;
}

static size_t next_at(const struct jit_arena *a)
{
    return (a->used + 15) & ~(size_t)15; /* functions 16-byte aligned */
}

uintptr_t jit_arena_next(const struct jit_arena *a)
{
    return (uintptr_t)(a->rx + next_at(a));
}

void *jit_arena_publish(struct jit_arena *a, const void *code, size_t n)
{
    size_t at = next_at(a);
    if (at > a->limit || a->limit - at < n)
        return NULL;
    memcpy(a->rw + at, code, n);
    a->used = at + n;
    /* The store went through the other view: the processor's check of
     * prefetched instructions against stores is by linear address (SDM
     * Vol. 3A 11.6), so bytes fetched ahead through the RX view (the zeros
     * after the last function) may still be executed. A serializing
     * instruction before the new code runs, as for cross-modifying code
     * (SDM Vol. 3A 8.1.3); without it 1 run in ~150 of the JIT's lockstep
     * test (test_emu_jit, since split into test_emu_jit_*) crashed
     * executing zeros. CPUID: serializing everywhere. */
    unsigned eax, ebx, ecx, edx;
    __cpuid(0, eax, ebx, ecx, edx);
    (void)eax, (void)ebx, (void)ecx, (void)edx;
    return a->rx + at;
}

void jit_arena_reset(struct jit_arena *a)
{
    /* INT3 over the old code: a jump still aimed at it (a bug) traps
     * instead of running code of blocks that may since be gone. */
    memset(a->rw + a->keep, 0xcc, a->used - a->keep);
    a->used = a->keep;
    a->epoch++;
}
#endif
