/* The emu engine's VM-wide state: RAM view and the decoded-block cache. */
#ifndef HK_EMU_EMU_H
#define HK_EMU_EMU_H

#include "accel/emu/cpu.h"
#include <pthread.h>
#include <stdio.h>

#include "core/guest_mem.h"

#define EMU_BLOCK_MAX_INSNS 64
#define EMU_HASH_BITS 16
#define EMU_FAST_BITS 14 /* direct-mapped block cache in front of the hash */

/* A block's remembered successor: the block that ran after it last time,
 * followed instead of a lookup when it is still right (emu_block_follow).
 * Nothing is ever patched or unlinked: a link is checked when followed,
 * against what could have made it wrong since it was made:
 *  - lin: where execution goes now (RIP, or CS base + RIP);
 *  - ctx: the vCPU's link context (cpu->link_ctx) then: its link generation,
 *    decoding mode and CPL. The generation is new after each TLB flush, so
 *    lin still translates to `to`'s page as the exec TLB did then, with the
 *    same access rights; and new after decoded blocks were dropped, so `to`
 *    is neither freed nor decoded from bytes since overwritten. Device
 *    writes still queued post EMU_EV_CODE to the running vCPU, whose run
 *    loop then drains them (a new generation) before it follows a link.
 * So a stale link costs one lookup and never runs the wrong code, and the
 * check is two compares.
 * A link to a page the exec TLB translated through a global entry carries
 * the global context instead (cpu->global_ctx: the global generation,
 * mode and CPL). MOV CR3 keeps global translations (emu_tlb_flush_nonglobal)
 * and so this generation; every other flush, INVLPG and every drop of
 * decoded code makes a new one. Kernel code, mapped global, keeps its
 * links across context switches.
 * A TLB flush (every CR3 write: each context switch) need not stale a link
 * within one page: when prev started in the page lin is in, and lin was
 * reached now from prev, that page translates now to prev's physical page
 * (prev was reached in this context); so `to` is right if it is prev's
 * page at lin's offset and no decoded code was dropped since the link was
 * made (code_gen, the vCPU's view of the VM's code generation then).
 * For several vCPU threads sharing the cache (one thread owns it today):
 * generations are already unique per vCPU (a VM-wide counter), so no vCPU
 * can take another's link as made in its own context; dropping blocks must
 * give every vCPU a new generation (emu_code_invalidate does it for the
 * running one) and the queue must post to each; a link must be read whole
 * (a sequence count around its write, or links kept per vCPU), since a
 * torn one could pair one write's checks with another's block; and dropped
 * blocks may be freed only once every vCPU has passed a block boundary
 * (epochs), since another may be running one or hold it as the block it
 * came from. Following then still takes no lock and patches nothing. */
struct emu_link {
    uint64_t lin;
    uint64_t ctx;
    struct emu_block *to;
    uint64_t code_gen;
    void *code;       /* to->jit_entry when made or last followed: compiled code
                       * goes on there without reading `to` (jit_compile.c) */
};

struct emu_block;
/* A block compiled by the JIT (jit/jit.h): run_block's contract. */
typedef int (*emu_jit_fn)(struct emu_cpu *cpu, const struct emu_block *b);

/* A run of decoded instructions within one guest-physical page; or one
 * instruction that runs on into the next page (emu_block_straddles). */
struct emu_block {
    uint64_t gpa;               /* guest-physical address of the first byte */
    uint32_t mode_key;          /* decoding mode it was made for */
    uint16_t n;
    uint16_t bytes;             /* length of its instructions together */
    uintptr_t end;              /* the address of insns + n: run_block's stop */
    emu_jit_fn jit;             /* what runs it instead of run_block, or NULL: its
                                 * compiled code, or the lockstep check */
    emu_jit_fn jit_code;        /* its compiled code, or NULL */
    void *jit_entry;            /* where other compiled blocks chain into it, or NULL */
    void *jit_body;             /* its compiled code's start: jit_code (the shared
                                 * entry from C) goes on there */
    uint32_t jit_hot;           /* runs left before it is compiled; 0: never */
    struct emu_block *hash_next;
    struct emu_block *page_next;
    /* A straddling block only: the guest-physical page its instruction
     * ends in (as the exec TLB translated the next linear page when it
     * was decoded: each lookup compares), and the next block in that
     * page's list (page_blocks; page_next is for the first page's). */
    uint64_t tail_gpa;
    struct emu_block *tail_next;
    struct emu_link link[2];    /* [1]: the way on past its end; [0]: a jump's
                                 * (emu_block_link) */
    struct emu_insn insns[];
};

/* Code invalidations from other threads (device DMA, loaders): the block
 * cache belongs to the vCPU thread, so they wait here until it drains
 * them before its next block lookup (code_queue.c). */
#define EMU_INVAL_QUEUE 32
struct emu_page_range {
    uint64_t first, last;         /* page numbers, inclusive */
};
struct emu_inval_queue {
    pthread_mutex_t lock;
    atomic_bool pending;          /* something queued: read at every lookup */
    bool overflow;                /* too many ranges: drop all decoded code */
    struct emu_cpu *running;      /* the vCPU inside emu_cpu_run, told of each
                                   * queued range (EMU_EV_CODE); under lock */
    int n;
    struct emu_page_range pages[EMU_INVAL_QUEUE];
};

struct emu_vm {
    struct vm *vm;
    const struct guest_mem *mem;
    uint64_t npages;                  /* pages covered by page_blocks */
    struct emu_block **page_blocks;   /* per guest page: blocks decoded from it */
    /* Per guest page: 1 from just before the vCPU reads bytes there to
     * decode until it drops the page's blocks. Other threads' writes to
     * pages marked 0 need no invalidation (code_queue.c); NULL: no filter. */
    _Atomic uint8_t *code_mark;
    struct emu_block *hash[1u << EMU_HASH_BITS];
    /* The block last found for each slot (block.c): one probe with no
     * chain walk for the blocks a loop keeps running. */
    struct emu_block *fast[1u << EMU_FAST_BITS];
    struct emu_block *dead;           /* invalidated, freed outside execution */
    uint64_t code_gen;                /* blocks dropped so far: links older are stale */
    _Atomic uint64_t ctx_seq;         /* hands out link generations (emu_link_new_gen) */
    struct emu_inval_queue inval;
    FILE *trace;                      /* --trace, or NULL */
    struct emu_jit *jit;              /* the JIT's state, NULL when off (jit/jit.h) */
    uint32_t jit_hot;                 /* new blocks' jit_hot: 0 when the JIT is off */
};

/* Whether b is one instruction that runs past the end of its first page
 * into the next. Found only by a lookup (emu_block_get), which checks
 * that the next linear page still translates to b->tail_gpa: never
 * through a link, the jump cache or compiled code's patched jumps, whose
 * checks cover the first page only (emu_block_link). */
static inline bool emu_block_straddles(const struct emu_block *b)
{
    return (b->gpa & 0xfff) + b->bytes > 4096;
}

/* Host pointer for guest-physical RAM, or NULL (MMIO / unmapped). */
static inline uint8_t *emu_ram(const struct emu_vm *evm, uint64_t gpa, uint64_t len)
{
    return gmem_ptr(evm->mem, gpa, len);
}

/* Does the guest page hold decoded code? */
static inline bool emu_is_code_page(const struct emu_vm *evm, uint64_t gpa)
{
    uint64_t p = gpa >> 12;
    return p < evm->npages && evm->page_blocks[p] != NULL;
}

/* code_queue.c. Writes to guest RAM not made by the CPU itself arrive
 * through emu_code_notify from any thread, after the bytes are in place;
 * the vCPU thread drains them (emu_code_drain_pending) before each block
 * lookup, so once the writer has finished, a lookup never finds code
 * decoded from the old bytes. The vCPU's own stores invalidate at once
 * (mmu.c). One vCPU thread owns the cache: with SMP, each cache owner
 * drains its own queue and a notification goes to every queue. */
void emu_code_queue_init(struct emu_vm *evm);
void emu_code_queue_fini(struct emu_vm *evm);
void emu_code_notify(struct emu_vm *evm, uint64_t gpa, uint64_t len);
/* The vCPU is about to decode bytes of this page (block.c). */
void emu_code_mark(struct emu_vm *evm, uint64_t page);
void emu_code_drain(struct emu_vm *evm);
/* cpu enters or leaves emu_cpu_run: from then on, until it leaves, queued
 * ranges post EMU_EV_CODE to it. */
void emu_code_enter(struct emu_vm *evm, struct emu_cpu *cpu);
void emu_code_leave(struct emu_vm *evm);

static inline void emu_code_drain_pending(struct emu_vm *evm)
{
    /* Acquire: pairs with the writer's release, after its bytes. */
    if (atomic_load_explicit(&evm->inval.pending, memory_order_acquire))
        emu_code_drain(evm);
}

/* The linear address of RIP, where the next instruction is fetched. */
static inline uint64_t emu_fetch_lin(const struct emu_cpu *cpu)
{
    if (cpu->mode == MODE_LONG64)
        return cpu->rip;
    return (uint32_t)(cpu->seg[SEG_CS].base + cpu->rip);
}

/* A link made in another link context, still right within prev's page
 * (see struct emu_link): prev started at prev_lin. A new block's links
 * are zero (lin 0, no block), and code_gen may still be 0 too. */
static inline bool emu_link_same_page(const struct emu_cpu *cpu, const struct emu_block *prev,
                                      uint64_t prev_lin, const struct emu_link *l, uint64_t lin)
{
    return ((prev_lin ^ lin) >> 12) == 0 && l->code_gen == cpu->code_gen_seen && l->to &&
           l->to->gpa == ((prev->gpa & ~0xfffull) | (lin & 0xfff)) &&
           l->to->mode_key == prev->mode_key;
}

/* Whether a link or jump-cache entry made with context ctx holds now:
 * made in this context, or to a global page in this global one. */
static inline bool emu_link_ctx_now(const struct emu_cpu *cpu, uint64_t ctx)
{
    return __builtin_expect(ctx == cpu->link_ctx, 1) || ctx == cpu->global_ctx;
}

/* The block at RIP through prev's links, or NULL: the caller then looks
 * it up (emu_block_get) and links it (emu_block_link). prev, which
 * started at prev_lin, must not have been freed: the run loop keeps it
 * only within one stretch of blocks, and follows no link while a device
 * write is queued (EMU_EV_CODE). A link found right within its page is
 * made anew in this context, as a lookup would make it: the compiled
 * code's own follow (jit_compile.c) then takes it too. */
static inline struct emu_block *emu_block_follow(const struct emu_cpu *cpu, struct emu_block *prev,
                                                 uint64_t prev_lin)
{
    uint64_t lin = emu_fetch_lin(cpu);
    struct emu_link *l = &prev->link[1];
    if (l->lin != lin && (--l)->lin != lin)
        return NULL;
    if (emu_link_ctx_now(cpu, l->ctx)) {
        l->code = l->to->jit_entry; /* compiled since the link was made */
        return l->to;
    }
    if (!emu_link_same_page(cpu, prev, prev_lin, l, lin))
        return NULL;
    l->ctx = cpu->link_ctx;
    l->code = l->to->jit_entry;
    return l->to;
}

/* The jump cache's slot for lin (cpu->jcache; jit_compile.c hashes alike). */
static inline unsigned emu_jcache_slot(uint64_t lin)
{
    return (unsigned)(lin ^ lin >> EMU_JCACHE_BITS) & ((1u << EMU_JCACHE_BITS) - 1);
}

/* The block at lin looked up in this link context, or NULL: right as a
 * link made then is (emu_block_follow's rules). */
static inline struct emu_block *emu_jcache_find(const struct emu_cpu *cpu, uint64_t lin)
{
    const struct emu_jcache_entry *e = &cpu->jcache[emu_jcache_slot(lin)];
    return e->lin == lin && emu_link_ctx_now(cpu, e->ctx) ? e->to : NULL;
}

/* block.c */
struct emu_block *emu_block_get(struct emu_cpu *cpu, int *status);
/* b, just found by emu_block_get or in the jump cache, runs after prev:
 * remember it, in prev's links and the jump cache. */
void emu_block_link(struct emu_cpu *cpu, struct emu_block *prev, struct emu_block *b);
void emu_code_invalidate(struct emu_vm *evm, uint64_t gpa, uint64_t len);
void emu_blocks_free_dead(struct emu_vm *evm);
void emu_blocks_free_all(struct emu_vm *evm);

/* trace.c: events and crash state for --trace (no-ops without a file). */
void emu_trace(struct emu_cpu *cpu, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void emu_trace_crash(struct emu_cpu *cpu, const char *why);

/* run.c */
int emu_cpu_run(struct emu_cpu *cpu, struct accel_exit *exit);
void emu_cpu_reset(struct emu_cpu *cpu);
/* Re-execution after a device exit: hold the instruction that exited
 * (cpu->held_pos set before it ran: the log entries its fetch replayed),
 * get it back at the same RIP while its log is pending (NULL otherwise;
 * the log replays from held_pos), and end it: the commit point, or
 * EMU_EXIT (internal) when it left logged accesses unreplayed. */
void emu_insn_hold(struct emu_cpu *cpu, const struct emu_insn *in);
/* How a block ends other than by running to its end, for run_block and
 * the JIT's exit stubs: after its first n instructions ran, the last
 * returning st (EMU_OK or EMU_END_BLOCK), with cpu->run_end zeroed or
 * END_BLOCK; or at instruction in, which returned st != EMU_OK, with rsp
 * the stack pointer it started with. */
int emu_block_ended(struct emu_cpu *cpu, uint64_t n, int st);
/* The interpreter's run of one block (the JIT's reference). */
int emu_run_block(struct emu_cpu *cpu, const struct emu_block *b);
int emu_block_stop(struct emu_cpu *cpu, const struct emu_block *b, const struct emu_insn *in,
                   int st, uint64_t rsp);
const struct emu_insn *emu_insn_held(struct emu_cpu *cpu);
int emu_insn_done(struct emu_cpu *cpu);

#endif
