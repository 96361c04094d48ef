/*
 * The decoded-block cache. A block is a run of instructions decoded once
 * from one guest-physical page and executed many times; it is found by
 * (physical address, decoding mode) and dropped when its page is written.
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

/* Fetch up to 15 bytes at rip; *avail says how many are in this page. */
static int fetch(struct emu_cpu *cpu, uint64_t lin, uint8_t *buf, int *avail)
{
    unsigned in_page = 4096 - (unsigned)(lin & 0xfff);
    unsigned n = in_page < 15 ? in_page : 15;
    int st = emu_read_lin(cpu, lin, buf, n, ACC_EXEC);
    *avail = (int)n;
    return st;
}

/* Decode from linear rip (physical gpa) until a block end. */
static struct emu_block *translate(struct emu_cpu *cpu, uint64_t lin, uint64_t gpa, int *status)
{
    struct emu_insn insns[EMU_BLOCK_MAX_INSNS];
    int n = 0;
    uint64_t start = lin;
    *status = EMU_OK;
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
        if (len == 0)
            break; /* crosses into the next page: a block of its own */
        n++;
        lin += (unsigned)len;
        if ((insns[n - 1].flags & INSN_ENDS) || (lin & 0xfff) == 0)
            break;
    }
    if (n == 0)
        return NULL;
    emu_block_flags_live(insns, n);
    struct emu_block *b = malloc(sizeof(*b) + (size_t)n * sizeof(struct emu_insn));
    if (!b)
        return NULL;
    b->gpa = gpa;
    b->mode_key = mode_key(cpu);
    b->n = (uint16_t)n;
    b->bytes = (uint16_t)(lin - start);
    b->end = (uintptr_t)(b->insns + n);
    b->jit = b->jit_code = NULL;
    b->jit_entry = b->jit_body = NULL;
    b->jit_hot = cpu->vm->jit_hot;
    memset(b->link, 0, sizeof(b->link)); /* ctx 0 is no vCPU's: never followed */
    memcpy(b->insns, insns, (size_t)n * sizeof(struct emu_insn));
    return b;
}

static void insert(struct emu_cpu *cpu, struct emu_block *b)
{
    struct emu_vm *evm = cpu->vm;
    unsigned h = hash_of(b->gpa, b->mode_key);
    b->hash_next = evm->hash[h];
    evm->hash[h] = b;
    uint64_t page = b->gpa >> 12;
    b->page_next = evm->page_blocks[page];
    evm->page_blocks[page] = b;
    /* Writes to this page must now take the slow path that invalidates. */
    for (int i = 0; i < EMU_TLB_SIZE; i++)
        if (cpu->tlb_write[i].gpage == (b->gpa & ~0xfffull))
            cpu->tlb_write[i].vpage = 0;
    for (int i = 0; i < EMU_TLB_VICTIMS; i++)
        if (cpu->tlb_victim[1][i].gpage == (b->gpa & ~0xfffull))
            cpu->tlb_victim[1][i].vpage = 0;
}

/* The exec TLB's translation of lin, or a page walk that fills it. */
static inline int exec_gpa(struct emu_cpu *cpu, uint64_t lin, uint64_t *gpa)
{
    const struct emu_tlb_entry *t = &cpu->tlb_exec[emu_tlb_slot(lin)];
    if (t->vpage == emu_tlb_tag(cpu, lin)) {
        *gpa = t->gpage | (lin & 0xfff);
        return EMU_OK;
    }
    return emu_translate_tlb(cpu, lin, ACC_EXEC, gpa);
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
    if (b && b->gpa == gpa && b->mode_key == key)
        return b;
    if ((b = lookup(evm, gpa, key)) != NULL) {
        *slot = b;
        return b;
    }
    if ((gpa >> 12) >= evm->npages || !emu_ram(evm, gpa, 1)) {
        *status = EMU_OK;
        return NULL; /* code outside RAM: decoded afresh each time */
    }
    emu_code_mark(evm, gpa >> 12);
    b = translate(cpu, lin, gpa, status);
    if (b) {
        insert(cpu, b);
        *slot = b;
    }
    return b;
}

void emu_block_link(struct emu_cpu *cpu, struct emu_block *prev, struct emu_block *b)
{
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
    const struct emu_tlb_entry *t = &cpu->tlb_exec[emu_tlb_slot(lin)];
    bool global = t->vpage == emu_tlb_tag(cpu, lin) && t->global;
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
            struct emu_block *next = b->page_next;
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
