/*
 * The JIT's code memory: one memfd mapped twice, written through a
 * read-write view and run through a read-execute one (never a mapping
 * that is both), handed out by a bump pointer. Code is immutable once
 * published; when the arena is full, all of it is dropped at once (an
 * epoch: jit.c clears every block's compiled pointer, then the arena
 * starts again after the code every block shares, which stays).
 */
#ifndef HK_EMU_JIT_MEM_H
#define HK_EMU_JIT_MEM_H

#include <stddef.h>
#include <stdint.h>

struct jit_arena {
    int fd;
    uint8_t *rw, *rx;    /* the two views of the same pages */
    size_t size, used;
    size_t keep;         /* what a reset keeps: the shared code (jit_shared.c) */
    size_t limit;        /* what publish may fill: size, less in tests */
    uint64_t epoch;      /* resets so far */
};

/* 0, or -1 with errno set (memfd_create, ftruncate or mmap failed). */
int jit_arena_init(struct jit_arena *a, size_t size);
void jit_arena_fini(struct jit_arena *a);
/* Copy n bytes of position-independent code in: its address in the
 * executable view, or NULL when it does not fit (then reset and retry). */
void *jit_arena_publish(struct jit_arena *a, const void *code, size_t n);
/* Where the next publish puts its code (when it fits): code built for it
 * may jump to code already there by rel32 (jit_buf.base). */
uintptr_t jit_arena_next(const struct jit_arena *a);
void jit_arena_reset(struct jit_arena *a);

#endif
