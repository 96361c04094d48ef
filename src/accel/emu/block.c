/*
 * The decoded-block cache. A block is a run of instructions decoded once
 * from one guest-physical page and executed many times; it is found by
 * (physical address, decoding mode) and dropped when its page is written.
 * An instruction that runs on into the next page is a block of its own
 * (a straddling block), found by the second page's physical address too
 * and dropped when either page is written.
 */
#include <stdlib.h>
#include <string.h>

#include "accel/emu/emu.h"
#include "accel/emu/exec.h"

static uint32_t mode_key(const struct emu_cpu *cpu)
{
    return (uint32_t)cpu->mode;
}

static unsigned hash_of(uint64_t gpa, uint32_t key)
{
    uint64_t h = (gpa ^ ((uint64_t)key << 60)) * 0x9e3779b97f4a7c15ull;
    return (unsigned)(h >> (64 - EMU_HASH_BITS));
}

static unsigned fast_of(uint64_t gpa, uint32_t key)
{
    return (unsigned)((gpa ^ (gpa >> EMU_FAST_BITS) ^ key) & ((1u << EMU_FAST_BITS) - 1));
}

static struct emu_block *lookup(struct emu_vm *evm, uint64_t gpa, uint32_t key)
{
    for (struct emu_block *b = evm->hash[hash_of(gpa, key)]; b; b = b->hash_next)
        if (b->gpa == gpa && b->mode_key == key)
            return b;
    return NULL;
}

/* The straddling block at gpa whose second page is tail. Other address
 * spaces may map another second page after the same first one: each
 * such pair has its own block. */
static struct emu_block *lookup_tail(struct emu_vm *evm, uint64_t gpa, uint32_t key, uint64_t tail)
{
    for (struct emu_block *b = evm->hash[hash_of(gpa, key)]; b; b = b->hash_next)
        if (b->gpa == gpa && b->mode_key == key && emu_block_straddles(b) && b->tail_gpa == tail)
            return b;
    return NULL;
}

/* Fetch up to 15 bytes at rip; *avail says how many are in this page. */
static int fetch(struct emu_cpu *cpu, uint64_t lin, uint8_t *buf, int *avail)
{
    unsigned in_page = 4096 - (unsigned)(lin & 0xfff);
    unsigned n = in_page < 15 ? in_page : 15;
    int st = emu_read_lin(cpu, lin, buf, n, ACC_EXEC);
    *avail = (int)n;
    return st;
}

/* A block of the n instructions decoded at gpa, bytes long together. */
static struct emu_block *block_new(struct emu_cpu *cpu, uint64_t gpa, struct emu_insn *insns,
                                   int n, unsigned bytes)
{
    emu_block_flags_live(insns, n);
    struct emu_block *b = malloc(sizeof(*b) + (size_t)n * sizeof(struct emu_insn));
    if (!b)
        return NULL;
    b->gpa = gpa;
    b->mode_key = mode_key(cpu);
    b->n = (uint16_t)n;
    b->bytes = (uint16_t)bytes;
    b->end = (uintptr_t)(b->insns + n);
    b->tail_gpa = 0;
    b->tail_next = NULL;
    b->jit = b->jit_code = NULL;
    b->jit_entry = b->jit_body = NULL;
    b->jit_hot = cpu->vm->jit_hot;
    memset(b->link, 0, sizeof(b->link)); /* ctx 0 is no vCPU's: never followed */
    memcpy(b->insns, insns, (size_t)n * sizeof(struct emu_insn));
    return b;
}

/* Decode from linear rip (physical gpa) until a block end. NULL with
 * *status EMU_OK when the first instruction runs into the next page
 * (*straddles) or memory ran out. */
static struct emu_block *translate(struct emu_cpu *cpu, uint64_t lin, uint64_t gpa, int *status,
                                   bool *straddles)
{
    struct emu_insn insns[EMU_BLOCK_MAX_INSNS];
    int n = 0;
    uint64_t start = lin;
    *status = EMU_OK;
    *straddles = false;
    while (n < EMU_BLOCK_MAX_INSNS) {
        uint8_t bytes[15];
        int avail;
        int st = fetch(cpu, lin, bytes, &avail);
        if (st) {
            if (n == 0) {
                *status = st;
                return NULL;
            }
            break;
        }
        int len = emu_decode(cpu, bytes, avail, &insns[n]);
        if (len == 0) {
            *straddles = n == 0; /* else the block ends before it: a block of its own */
            break;
        }
        n++;
        lin += (unsigned)len;
        if ((insns[n - 1].flags & INSN_ENDS) || (lin & 0xfff) == 0)
            break;
    }
    if (n == 0)
        return NULL;
    return block_new(cpu, gpa, insns, n, (unsigned)(lin - start));
}

/* The straddling block of the instruction at gpa, its bytes from there
 * to the page's end and on from tail (both RAM): NULL if memory ran out,
 * or if with all 15 bytes it ends in the first page after all (never:
 * the first page's bytes alone said it goes on). */
static struct emu_block *translate_tail(struct emu_cpu *cpu, uint64_t gpa, uint64_t tail)
{
    unsigned in_page = 4096 - (unsigned)(gpa & 0xfff);
    const uint8_t *head = emu_ram(cpu->vm, gpa, in_page);
    const uint8_t *rest = emu_ram(cpu->vm, tail, 15 - in_page);
    if (!head || !rest || in_page >= 15)
        return NULL;
    uint8_t bytes[15];
    memcpy(bytes, head, in_page);
    memcpy(bytes + in_page, rest, 15 - in_page);
    struct emu_insn in;
    int len = emu_decode(cpu, bytes, 15, &in);
    if (len <= (int)in_page)
        return NULL;
    struct emu_block *b = block_new(cpu, gpa, &in, 1, (unsigned)len);
    if (b)
        b->tail_gpa = tail;
    return b;
}

/* Writes to this page must now take the slow path that invalidates. */
static void writes_slow(struct emu_cpu *cpu, uint64_t gpage)
{
    for (int i = 0; i < EMU_TLB_SIZE; i++)
        if (cpu->tlb_info[ACC_WRITE][i].gpage == gpage)
            cpu->tlb_write[i].vpage = 0;
    for (int i = 0; i < EMU_TLB_VICTIMS; i++)
        if (cpu->tlb_victim[1][i].info.gpage == gpage)
            cpu->tlb_victim[1][i].e.vpage = 0;
}

/* The other page a straddling block b is listed under than p, or p when
 * b has only one (it is not straddling, or both its pages are one). */
static uint64_t other_page(const struct emu_block *b, uint64_t p)
{
    if (!emu_block_straddles(b))
        return p;
    return (b->gpa >> 12) == p ? b->tail_gpa >> 12 : b->gpa >> 12;
}

/* The pointer to the block after b in page p's list. */
static struct emu_block **page_link(struct emu_block *b, uint64_t p)
{
    return (b->gpa >> 12) == p ? &b->page_next : &b->tail_next;
}

static void insert(struct emu_cpu *cpu, struct emu_block *b)
{
    struct emu_vm *evm = cpu->vm;
    unsigned h = hash_of(b->gpa, b->mode_key);
    b->hash_next = evm->hash[h];
    evm->hash[h] = b;
    uint64_t page = b->gpa >> 12, tail = other_page(b, page);
    b->page_next = evm->page_blocks[page];
    evm->page_blocks[page] = b;
    writes_slow(cpu, page << 12);
    if (tail != page) {
        b->tail_next = evm->page_blocks[tail];
        evm->page_blocks[tail] = b;
        writes_slow(cpu, tail << 12);
    }
}

/* The exec TLB's translation of lin, or a page walk that fills it. */
static inline int exec_gpa(struct emu_cpu *cpu, uint64_t lin, uint64_t *gpa)
{
    unsigned slot = emu_tlb_slot(lin);
    if (cpu->tlb_exec[slot].vpage == emu_tlb_tag(cpu, lin)) {
        *gpa = cpu->tlb_info[ACC_EXEC][slot].gpage | (lin & 0xfff);
        return EMU_OK;
    }
    return emu_translate_tlb(cpu, lin, ACC_EXEC, gpa);
}

/* The straddling block for the instruction at lin (physical gpa), which
 * runs on into the next linear page: that page translated now, as an
 * instruction fetch (a #PF there, CR2 its start, is the fetch's, after
 * the first page's: as fetch_uncached reads both). NULL with *status
 * EMU_OK when it is left to run.c's uncached fetch: a second page
 * outside RAM, non-canonical or past 4 GiB. */
static struct emu_block *get_straddling(struct emu_cpu *cpu, uint64_t lin, uint64_t gpa,
                                        uint32_t key, struct emu_block **slot, int *status)
{
    struct emu_vm *evm = cpu->vm;
    uint64_t tail_lin = (lin | 0xfff) + 1, tail;
    *status = EMU_OK;
    if (cpu->mode == MODE_LONG64 ? !emu_canonical(tail_lin) : tail_lin >> 32)
        return NULL;
    if ((*status = exec_gpa(cpu, tail_lin, &tail)) != EMU_OK)
        return NULL;
    struct emu_block *b = *slot;
    if (b && b->gpa == gpa && b->mode_key == key && b->tail_gpa == tail)
        return b;
    if ((b = lookup_tail(evm, gpa, key, tail)) != NULL) {
        *slot = b;
        return b;
    }
    if ((tail >> 12) >= evm->npages || !emu_ram(evm, tail, 4096))
        return NULL;
    emu_code_mark(evm, tail >> 12);
    if ((b = translate_tail(cpu, gpa, tail)) != NULL) {
        insert(cpu, b);
        *slot = b;
    }
    return b;
}

struct emu_block *emu_block_get(struct emu_cpu *cpu, int *status)
{
    struct emu_vm *evm = cpu->vm;
    uint64_t gpa, lin = cpu->rip;
    cpu->lookups++;
    if (cpu->mode != MODE_LONG64)
        lin = (uint32_t)(cpu->seg[SEG_CS].base + cpu->rip);
    *status = exec_gpa(cpu, lin, &gpa);
    if (*status)
        return NULL;
    emu_code_drain_pending(evm);   /* device writes first: never run their old bytes */
    uint32_t key = mode_key(cpu);
    struct emu_block **slot = &evm->fast[fast_of(gpa, key)];
    struct emu_block *b = *slot;
    if (b && b->gpa == gpa && b->mode_key == key) {
        if (__builtin_expect(!emu_block_straddles(b), 1))
            return b;
        return get_straddling(cpu, lin, gpa, key, slot, status);
    }
    if ((b = lookup(evm, gpa, key)) != NULL) {
        if (emu_block_straddles(b))
            return get_straddling(cpu, lin, gpa, key, slot, status);
        *slot = b;
        return b;
    }
    if ((gpa >> 12) >= evm->npages || !emu_ram(evm, gpa, 1)) {
        *status = EMU_OK;
        return NULL; /* code outside RAM: decoded afresh each time */
    }
    emu_code_mark(evm, gpa >> 12);
    bool straddles;
    b = translate(cpu, lin, gpa, status, &straddles);
    if (straddles)
        return get_straddling(cpu, lin, gpa, key, slot, status);
    if (b) {
        insert(cpu, b);
        *slot = b;
    }
    return b;
}

void emu_block_link(struct emu_cpu *cpu, struct emu_block *prev, struct emu_block *b)
{
    /* Nothing leads into a straddling block but a lookup: a link's checks
     * (its context, the same-page rule, compiled code's direct jumps)
     * vouch for the first page's translation, not the second's. */
    if (emu_block_straddles(b))
        return;
    /* [1] the way on past the block's end, [0] a jump's: a Jcc keeps
     * both ways, an indirect branch its last target. As compiled code
     * files them (jit_chain_exit's k), so chosen by the last instruction
     * and the page offset, not the physical address: a process's next
     * page is seldom physically next (found in review). */
    const struct emu_insn *last = &prev->insns[prev->n - 1];
    bool past_end = ((b->gpa ^ (prev->gpa + prev->bytes)) & 0xfff) == 0;
    int i = !(last->flags & INSN_ENDS) || (emu_cond_branch(last) && past_end);
    uint64_t lin = emu_fetch_lin(cpu);
    /* Through a global translation (in the exec TLB now: the lookup just
     * made or kept it), the link outlives MOV CR3 as the translation does. */
    unsigned slot = emu_tlb_slot(lin);
    bool global = cpu->tlb_exec[slot].vpage == emu_tlb_tag(cpu, lin) &&
                  cpu->tlb_info[ACC_EXEC][slot].global;
    uint64_t ctx = global ? cpu->global_ctx : cpu->link_ctx;
    prev->link[i] = (struct emu_link){lin, ctx, b, cpu->code_gen_seen, b->jit_entry};
    cpu->jcache[emu_jcache_slot(lin)] = (struct emu_jcache_entry){lin, ctx, b, b->jit_entry};
}

static void unlink_hash(struct emu_vm *evm, struct emu_block *b)
{
    struct emu_block **pp = &evm->hash[hash_of(b->gpa, b->mode_key)];
    while (*pp != b)
        pp = &(*pp)->hash_next;
    *pp = b->hash_next;
}

/* b out of page p's list (a straddling block dropped through its other page). */
static void unlink_page(struct emu_vm *evm, struct emu_block *b, uint64_t p)
{
    struct emu_block **pp = &evm->page_blocks[p];
    while (*pp != b)
        pp = page_link(*pp, p);
    *pp = *page_link(b, p);
}

void emu_code_invalidate(struct emu_vm *evm, uint64_t gpa, uint64_t len)
{
    uint64_t first = gpa >> 12, last = (gpa + len - 1) >> 12;
    for (uint64_t p = first; p <= last && p < evm->npages; p++) {
        struct emu_block *b = evm->page_blocks[p];
        evm->page_blocks[p] = NULL;
        if (b)
            evm->code_gen++; /* every link made before may lead to b: stale */
        if (evm->code_mark)
            atomic_store_explicit(&evm->code_mark[p], 0, memory_order_relaxed);
        while (b) {
            struct emu_block *next = *page_link(b, p);
            if (other_page(b, p) != p) /* still listed there: a later p never finds it */
                unlink_page(evm, b, other_page(b, p));
            unlink_hash(evm, b);
            struct emu_block **slot = &evm->fast[fast_of(b->gpa, b->mode_key)];
            if (*slot == b)
                *slot = NULL;
            b->page_next = evm->dead; /* the running block may be one of these */
            evm->dead = b;
            b = next;
        }
    }
    /* The running vCPU (the cache's owner: this thread) follows no link
     * made before. Others, not running, compare code_gen on entry. */
    if (evm->inval.running && evm->inval.running->code_gen_seen != evm->code_gen)
        emu_link_new_gen(evm->inval.running);
}

void emu_blocks_free_dead(struct emu_vm *evm)
{
    while (evm->dead) {
        struct emu_block *b = evm->dead;
        evm->dead = b->page_next;
        free(b);
    }
}

void emu_blocks_free_all(struct emu_vm *evm)
{
    emu_code_invalidate(evm, 0, evm->npages << 12);
    emu_blocks_free_dead(evm);
}
