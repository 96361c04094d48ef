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
    a->size = a->limit = a->cold = a->cold_last = size;
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

/* Where nc bytes of cold code go, 16-byte aligned below the last; 0
 * (below anything: never fits) when they cannot. */
static size_t cold_at(const struct jit_arena *a, size_t nc)
{
    return nc ? (a->cold >= nc + 16 ? (a->cold - nc) & ~(size_t)15 : 0) : a->cold;
}

uintptr_t jit_arena_next_cold(const struct jit_arena *a, size_t nc)
{
    return (uintptr_t)(a->rx + cold_at(a, nc));
}

size_t jit_arena_used(const struct jit_arena *a)
{
    return a->used + (a->size - a->cold);
}

void *jit_arena_publish(struct jit_arena *a, const void *code, size_t n)
{
    return jit_arena_publish_split(a, code, n, NULL, 0);
}

void *jit_arena_publish_split(struct jit_arena *a, const void *code, size_t n, const void *cold,
                              size_t nc)
{
    size_t at = next_at(a), cat = cold_at(a, nc);
    if (at > cat || cat - at < n || (at + n) + (a->size - cat) > a->limit)
        return NULL;
    memcpy(a->rw + at, code, n);
    if (nc)
        memcpy(a->rw + cat, cold, nc);
    a->used = at + n;
    a->cold_last = a->cold;
    a->cold = cat;
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
    memset(a->rw + a->cold, 0xcc, a->size - a->cold);
    a->used = a->keep;
    a->cold = a->cold_last = a->size;
    a->epoch++;
}
#endif
