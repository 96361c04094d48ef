/* The JIT's code memory (jit_mem.h). */
#if defined(__x86_64__)
#include "accel/emu/jit/jit_mem.h"

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

void *jit_arena_publish(struct jit_arena *a, const void *code, size_t n)
{
    size_t at = (a->used + 15) & ~(size_t)15; /* functions 16-byte aligned */
    if (at > a->limit || a->limit - at < n)
        return NULL;
    /* x86 keeps instruction fetch coherent with stores to the same
     * physical page, through either view (SDM Vol. 3A 11.6), and this
     * code runs only after the call that publishes it returns. */
    memcpy(a->rw + at, code, n);
    a->used = at + n;
    return a->rx + at;
}

void jit_arena_reset(struct jit_arena *a)
{
    a->used = 0;
    a->epoch++;
}
#endif
