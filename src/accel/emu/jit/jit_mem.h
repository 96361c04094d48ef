/*
 * The JIT's code memory: one memfd mapped twice, written through a
 * read-write view and run through a read-execute one (never a mapping
 * that is both), handed out by two bump pointers: a block's hot code
 * from the bottom up, its cold code (slow paths, exit stubs: about two
 * thirds of it) from the top down, so the code that runs is packed
 * together, in fewer cache lines and pages (a shell loop ran 30-40%
 * slower with 1 KiB of padding after each block). Code is immutable
 * once published; when the arena is full, all of it is dropped at once
 * (an epoch: jit.c clears every block's compiled pointer, then the
 * arena starts again after the code every block shares, which stays).
 */
#ifndef HK_EMU_JIT_MEM_H
#define HK_EMU_JIT_MEM_H

#include <stddef.h>
#include <stdint.h>

struct jit_arena {
    int fd;
    uint8_t *rw, *rx;    /* the two views of the same pages */
    size_t size, used;   /* hot code below used */
    size_t cold;         /* cold code from here up to size */
    size_t cold_last;    /* the last publish's cold code ends here */
    size_t keep;         /* what a reset keeps: the shared code (jit_shared.c) */
    size_t limit;        /* what hot and cold code may fill together: size, less in tests */
    uint64_t epoch;      /* resets so far */
};

/* 0, or -1 with errno set (memfd_create, ftruncate or mmap failed). */
int jit_arena_init(struct jit_arena *a, size_t size);
void jit_arena_fini(struct jit_arena *a);
/* Copy n bytes of hot code and nc of cold code in, each built for where
 * it goes (jit_arena_next, jit_arena_next_cold): the hot code's address
 * in the executable view, or NULL when they do not fit (then reset and
 * retry). jit_arena_publish: hot code alone. */
void *jit_arena_publish_split(struct jit_arena *a, const void *code, size_t n, const void *cold,
                              size_t nc);
void *jit_arena_publish(struct jit_arena *a, const void *code, size_t n);
/* Where the next publish puts its hot code, and its nc bytes of cold
 * code (when they fit): code built for them may jump to code already
 * there by rel32 (jit_buf.base). */
uintptr_t jit_arena_next(const struct jit_arena *a);
uintptr_t jit_arena_next_cold(const struct jit_arena *a, size_t nc);
/* Hot and cold code in use together (what limit caps). */
size_t jit_arena_used(const struct jit_arena *a);
void jit_arena_reset(struct jit_arena *a);

#endif
