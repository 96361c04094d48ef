/*
 * Linear-to-physical translation (SDM Vol. 3A ch. 4: 32-bit, PAE and
 * 4-level paging), a software TLB per access kind, and guest memory access
 * for instructions: RAM directly, everything else as an exit to the VMM.
 */
#include <stdio.h>
#include <string.h>

#include "accel/emu/emu.h"

#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_US 0x4ull
#define PTE_A 0x20ull
#define PTE_D 0x40ull
#define PTE_PS 0x80ull
#define PTE_G 0x100ull
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

#define PF_P 0x1u
#define PF_W 0x2u
#define PF_U 0x4u
#define PF_RSVD 0x8u
#define PF_I 0x10u

/* Generations are taken from a VM-wide counter so that no two vCPUs
 * ever share one (struct emu_link), and no link generation is ever a
 * global one. */
static uint64_t next_gen(struct emu_cpu *cpu)
{
    static _Atomic uint64_t no_vm_seq; /* a vCPU a test made without a VM */
    _Atomic uint64_t *seq = cpu->vm ? &cpu->vm->ctx_seq : &no_vm_seq;
    return atomic_fetch_add_explicit(seq, 1, memory_order_relaxed) + 1;
}

void emu_link_new_gen(struct emu_cpu *cpu)
{
    cpu->link_gen = next_gen(cpu);
    cpu->global_gen = next_gen(cpu);
    if (cpu->vm)
        cpu->code_gen_seen = cpu->vm->code_gen;
    emu_link_ctx_update(cpu);
}

void emu_tlb_flush(struct emu_cpu *cpu)
{
    memset(cpu->tlb_read, 0, sizeof(cpu->tlb_read));
    memset(cpu->tlb_write, 0, sizeof(cpu->tlb_write));
    memset(cpu->tlb_exec, 0, sizeof(cpu->tlb_exec));
    memset(cpu->tlb_info, 0, sizeof(cpu->tlb_info));
    memset(cpu->tlb_victim, 0, sizeof(cpu->tlb_victim));
    cpu->tlb_large = false;
    emu_link_new_gen(cpu);
}

static void drop_nonglobal(struct emu_tlb_entry *t, const struct emu_tlb_info *info)
{
    for (unsigned i = 0; i < EMU_TLB_SIZE; i++)
        if (!info[i].global)
            t[i].vpage = 0;
}

static void drop_nonglobal_victims(struct emu_tlb_victim *v)
{
    for (unsigned i = 0; i < EMU_TLB_VICTIMS; i++)
        if (!v[i].info.global)
            v[i].e.vpage = 0;
}

/* Links into global pages stay right: their translation is kept (a link
 * to one carries the global context, block.c). So only the link
 * generation is new, unless decoded code was dropped since the last
 * (then links to anything may lead to a freed block). */
void emu_tlb_flush_nonglobal(struct emu_cpu *cpu)
{
    drop_nonglobal(cpu->tlb_read, cpu->tlb_info[ACC_READ]);
    drop_nonglobal(cpu->tlb_write, cpu->tlb_info[ACC_WRITE]);
    drop_nonglobal(cpu->tlb_exec, cpu->tlb_info[ACC_EXEC]);
    drop_nonglobal_victims(cpu->tlb_victim[0]);
    drop_nonglobal_victims(cpu->tlb_victim[1]);
    if (cpu->vm && cpu->code_gen_seen != cpu->vm->code_gen) {
        emu_link_new_gen(cpu);
        return;
    }
    cpu->link_gen = next_gen(cpu);
    emu_link_ctx_update(cpu);
}

/* A 2 MiB (PAE, 4-level) or 4 MiB (32-bit) page's translation sits in one
 * entry per 4 KiB part used, in different slots. */
#define LARGE_REGION (4ull << 20)

/* INVLPG (SDM 4.10.4.1): the page's translations for user and supervisor
 * accesses, in each TLB. While any entry may have come from a large page,
 * every entry of the 4 MiB region around lin goes (more than the page, as
 * a TLB may drop more). Block links made under the old translation go
 * with the generation. */
void emu_tlb_flush_page(struct emu_cpu *cpu, uint64_t lin)
{
    struct emu_tlb_entry *tlbs[3] = {cpu->tlb_read, cpu->tlb_write, cpu->tlb_exec};
    uint64_t region = cpu->tlb_large ? ~(LARGE_REGION - 1) : ~0xfffull;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < EMU_TLB_VICTIMS; i++)
            if (((cpu->tlb_victim[k][i].e.vpage ^ lin) & region) == 0)
                cpu->tlb_victim[k][i].e.vpage = 0;
    for (int k = 0; k < 3; k++) {
        if (!cpu->tlb_large) {
            struct emu_tlb_entry *t = &tlbs[k][emu_tlb_slot(lin)];
            if (((t->vpage ^ lin) & ~0xfffull) == 0)
                t->vpage = 0;
            continue;
        }
        for (int i = 0; i < EMU_TLB_SIZE; i++)
            if (((tlbs[k][i].vpage ^ lin) & ~(LARGE_REGION - 1)) == 0)
                tlbs[k][i].vpage = 0;
    }
    emu_link_new_gen(cpu);
}

static int page_fault(struct emu_cpu *cpu, uint64_t lin, uint32_t err, enum emu_access acc)
{
    if (cpu->cpl == 3)
        err |= PF_U;
    if (acc == ACC_WRITE)
        err |= PF_W;
    /* I/D: instruction fetches, only when XD exists (PAE or 4-level
     * paging with NXE; no SMEP here), SDM 4.7. */
    if (acc == ACC_EXEC && (cpu->efer & EFER_NXE) && (cpu->cr4 & CR4_PAE))
        err |= PF_I;
    cpu->cr2 = lin;
    return emu_raise_err(cpu, EXC_PF, err);
}

/* A paging-structure entry in RAM; entries outside RAM read as not present. */
static uint8_t *pte_ptr(struct emu_cpu *cpu, uint64_t gpa, unsigned size)
{
    return emu_ram(cpu->vm, gpa, size);
}

static void pte_set_bits(uint8_t *p, unsigned size, uint64_t bits)
{
    if (size == 8)
        __atomic_fetch_or((uint64_t *)(void *)p, bits, __ATOMIC_RELAXED);
    else
        __atomic_fetch_or((uint32_t *)(void *)p, (uint32_t)bits, __ATOMIC_RELAXED);
}

/* Reserved bits of present entries (SDM Vol. 3A 4.3, 4.4.2, 4.5; 4.7:
 * a present entry that sets one faults with P=1 and RSVD=1). */
#define PHYS_HIGH_4L (((1ull << 52) - 1) & ~((1ull << EMU_MAXPHYADDR) - 1)) /* 51:M */
#define PHYS_HIGH_PAE (((1ull << 63) - 1) & ~((1ull << EMU_MAXPHYADDR) - 1)) /* 62:M */
#define RSVD_2M 0x1fe000ull  /* 20:13 of a 2 MiB PDE (bit 12 is PAT) */
#define RSVD_1G 0x3fffe000ull /* 29:13 of a 1 GiB PDPTE */
#define RSVD_4M 0x3fe000ull  /* 21:13 of a 4 MiB 32-bit PDE: no PSE-36 in CPUID */
/* A PAE PDPTE register (SDM 4.4.1, table 4-8): 63:M, 8:5 and 2:1. */
#define RSVD_PDPTE (~((1ull << EMU_MAXPHYADDR) - 1) | 0x1e6ull)
/* CPUID 0x80000001 EDX.Page1GB is clear, so PS in a PDPTE is reserved. */
#define EMU_1G_PAGES 0

struct walk {
    int levels;          /* 4: long mode, 2: PAE (after the PDPTE) or 32-bit */
    unsigned entry_size;
    uint64_t table;
    uint64_t rsvd;       /* bits reserved in every present entry (8-byte formats) */
};

/* Bits reserved in a present entry at level (1 = PTE) whose PS is as given. */
static uint64_t rsvd_bits(const struct emu_cpu *cpu, const struct walk *w, int level,
                          uint64_t pte)
{
    if (w->entry_size == 4) /* 32-bit paging: only a 4 MiB PDE has any */
        return level == 2 && (pte & PTE_PS) && (cpu->cr4 & CR4_PSE) ? RSVD_4M : 0;
    if (!(pte & PTE_PS) || level == 1) /* bit 7 of a PTE is PAT */
        return w->rsvd;
    if (level == 4)
        return w->rsvd | PTE_PS;
    if (level == 3)
        return w->rsvd | (EMU_1G_PAGES ? RSVD_1G : PTE_PS);
    return w->rsvd | RSVD_2M;
}

static bool pae_paging(const struct emu_cpu *cpu)
{
    return (cpu->cr0 & CR0_PG) && (cpu->cr4 & CR4_PAE) && !(cpu->efer & EFER_LMA);
}

bool emu_pdptes_load(struct emu_cpu *cpu)
{
    bool ok = true;
    if (!pae_paging(cpu))
        return true;
    for (int i = 0; i < 4; i++) {
        uint8_t *p = pte_ptr(cpu, ((uint32_t)cpu->cr3 & ~0x1fu) + 8u * (unsigned)i, 8);
        uint64_t v = p ? emu_load48(p, 8) : 0; /* outside RAM: not present */
        ok &= !((v & PTE_P) && (v & RSVD_PDPTE));
        cpu->pdpte[i] = v;
    }
    return ok;
}

static int walk_setup(struct emu_cpu *cpu, uint64_t lin, enum emu_access acc, struct walk *w)
{
    uint64_t nx_rsvd = (cpu->efer & EFER_NXE) ? 0 : PTE_NX;
    if (cpu->efer & EFER_LMA) {
        *w = (struct walk){4, 8, cpu->cr3 & PTE_ADDR, PHYS_HIGH_4L | nx_rsvd};
    } else if (cpu->cr4 & CR4_PAE) {
        /* PAE: the PDPTE registers loaded with CR3 (SDM 4.4.1), not memory.
         * Only a VMM setting the state can have put reserved bits there. */
        uint64_t pdpte = cpu->pdpte[(lin >> 30) & 3];
        if (!(pdpte & PTE_P))
            return page_fault(cpu, lin, 0, acc);
        if (pdpte & RSVD_PDPTE)
            return page_fault(cpu, lin, PF_P | PF_RSVD, acc);
        *w = (struct walk){2, 8, pdpte & PTE_ADDR, PHYS_HIGH_PAE | nx_rsvd};
    } else {
        *w = (struct walk){2, 4, cpu->cr3 & 0xfffff000ull, 0};
    }
    return EMU_OK;
}

/* Set A (and D) unless already set: most walks find them set, and the
 * locked update is the costly part. */
static void pte_mark(uint8_t *p, unsigned size, uint64_t pte, uint64_t bits)
{
    if ((pte & bits) != bits)
        pte_set_bits(p, size, bits);
}

/* Access rights of a translation (SDM 4.6): R/W and U/S combined over all
 * levels, CR0.WP for supervisor writes, XD with NXE. */
static int check_access(struct emu_cpu *cpu, uint64_t lin, enum emu_access acc, bool writable,
                        bool user, bool nx)
{
    if (acc == ACC_WRITE && !writable && (cpu->cpl == 3 || (cpu->cr0 & CR0_WP)))
        return page_fault(cpu, lin, PF_P, acc);
    if (cpu->cpl == 3 && !user)
        return page_fault(cpu, lin, PF_P, acc);
    if (acc == ACC_EXEC && nx)
        return page_fault(cpu, lin, PF_P, acc);
    return EMU_OK;
}

/* What a walk found besides the address: the page is 2 or 4 MiB; it is
 * global (G in the entry that maps it, with CR4.PGE: SDM 4.10.2.4). */
struct leaf {
    bool large, global;
};

/* The walk (SDM 4.3-4.5): the first entry that is not present or sets a
 * reserved bit faults; the entries before it were used and get A (4.8),
 * it and those after it are left alone. */
static int walk(struct emu_cpu *cpu, uint64_t lin, enum emu_access acc, uint64_t *gpa,
                struct leaf *leaf)
{
    *leaf = (struct leaf){false, false};
    /* A fetch from a non-canonical address is #GP(0), its low 48 bits
     * never walked (they may alias a mapped page). Branches check their
     * targets; sequential execution off the canonical end, or an
     * instruction running on into it, gets here (no TLB entry is ever
     * made for a non-canonical page: page_lookup). */
    if (acc == ACC_EXEC && cpu->mode == MODE_LONG64 && !emu_canonical(lin))
        return emu_raise_err(cpu, EXC_GP, 0);
    if (!(cpu->cr0 & CR0_PG)) {
        *gpa = (cpu->efer & EFER_LMA) ? lin : (uint32_t)lin;
        return EMU_OK;
    }
    struct walk w = {0};
    int st = walk_setup(cpu, lin, acc, &w);
    if (st)
        return st;
    bool writable = true, user = true, nx = false;
    bool nxe = cpu->efer & EFER_NXE;
    for (int level = w.levels; level >= 1; level--) {
        unsigned bits = w.entry_size == 8 ? 9 : 10;
        unsigned shift = 12 + bits * (unsigned)(level - 1);
        uint64_t idx = (lin >> shift) & ((1u << bits) - 1);
        uint8_t *p = pte_ptr(cpu, w.table + idx * w.entry_size, w.entry_size);
        uint64_t pte = p ? emu_load48(p, w.entry_size) : 0;
        if (!(pte & PTE_P))
            return page_fault(cpu, lin, 0, acc);
        if (pte & rsvd_bits(cpu, &w, level, pte))
            return page_fault(cpu, lin, PF_P | PF_RSVD, acc);
        writable &= (pte & PTE_RW) != 0;
        user &= (pte & PTE_US) != 0;
        nx |= nxe && (pte & PTE_NX);
        /* PS left after the reserved-bit check makes a 2 MiB or 4 MiB
         * (level 2) or 1 GiB (level 3) page; with CR4.PSE=0 a 32-bit PDE's
         * PS is ignored. */
        bool large = level > 1 && (pte & PTE_PS) && (w.entry_size == 8 || (cpu->cr4 & CR4_PSE));
        if (level == 1 || large) {
            if ((st = check_access(cpu, lin, acc, writable, user, nx)) != 0)
                return st;
            pte_mark(p, w.entry_size, pte, PTE_A | (acc == ACC_WRITE ? PTE_D : 0));
            *leaf = (struct leaf){large, (cpu->cr4 & CR4_PGE) && (pte & PTE_G)};
            uint64_t page_mask = (1ull << shift) - 1;
            *gpa = (pte & PTE_ADDR & ~page_mask) | (lin & page_mask);
            return EMU_OK;
        }
        pte_mark(p, w.entry_size, pte, PTE_A);
        w.table = pte & (w.entry_size == 8 ? PTE_ADDR : 0xfffff000ull);
    }
    return page_fault(cpu, lin, 0, acc);
}

int emu_translate(struct emu_cpu *cpu, uint64_t lin, enum emu_access acc, uint64_t *gpa)
{
    struct leaf leaf;
    return walk(cpu, lin, acc, gpa, &leaf);
}

/* An access outside RAM, or to an I/O port: replay a completed one, or
 * describe it to the VMM and abandon the instruction until it answers. */
static int ext_access(struct emu_cpu *cpu, bool is_io, uint64_t addr, unsigned size, bool is_write,
                      uint64_t *val)
{
    struct accel_exit *e = cpu->exit;
    /* The block ends after this instruction (run_block tests only this):
     * the access may have raised or unmasked an interrupt, and the
     * instruction's log must be committed (emu_insn_done). */
    emu_end_block(cpu);
    if (cpu->xlog_pos < cpu->xlog_n) {
        struct emu_xaccess *x = &cpu->xlog[cpu->xlog_pos++];
        if (x->is_io != is_io || x->addr != addr || x->size != size || x->is_write != is_write) {
            /* Re-execution went another way than the first time: a bug. */
            e->reason = ACCEL_EXIT_INTERNAL;
            snprintf(e->internal.why, sizeof(e->internal.why),
                     "instruction at %#llx replays device accesses out of step",
                     (unsigned long long)cpu->rip);
            return EMU_EXIT;
        }
        if (!is_write)
            *val = x->data;
        return EMU_OK;
    }
    if (cpu->xlog_n == EMU_XLOG_MAX) {
        e->reason = ACCEL_EXIT_INTERNAL;
        snprintf(e->internal.why, sizeof(e->internal.why),
                 "instruction at %#llx makes too many device accesses",
                 (unsigned long long)cpu->rip);
        return EMU_EXIT;
    }
    cpu->xlog[cpu->xlog_n++] =
        (struct emu_xaccess){is_io, is_write, (uint8_t)size, addr, is_write ? *val : 0};
    if (is_io) {
        e->reason = ACCEL_EXIT_IO;
        e->io.port = (uint16_t)addr;
        e->io.size = (uint8_t)size;
        e->io.is_write = is_write;
        e->io.data = is_write ? (uint32_t)*val : 0;
    } else {
        e->reason = ACCEL_EXIT_MMIO;
        e->mmio.gpa = addr;
        e->mmio.size = (uint8_t)size;
        e->mmio.is_write = is_write;
        e->mmio.data = is_write ? *val : 0;
    }
    return EMU_EXIT;
}

int emu_port_io(struct emu_cpu *cpu, uint16_t port, unsigned size, bool is_write, uint64_t *val)
{
    if (cpu->dr[7] & 0xff)
        emu_debug_io(cpu, port, size);
    return ext_access(cpu, true, port, size, is_write, val);
}

static struct emu_tlb_entry *tlb_for(struct emu_cpu *cpu, enum emu_access acc)
{
    return acc == ACC_WRITE ? cpu->tlb_write : acc == ACC_EXEC ? cpu->tlb_exec : cpu->tlb_read;
}

static uint64_t tlb_tag(const struct emu_cpu *cpu, uint64_t lin)
{
    return emu_tlb_tag(cpu, lin);
}

/* Host pointer for the page holding lin, through the TLB; NULL with *gpa
 * set when it is not RAM, or when a write must take the slow path. */
static int page_lookup(struct emu_cpu *cpu, uint64_t lin, unsigned size, enum emu_access acc,
                       uint8_t **host, uint64_t *gpa)
{
    uint64_t vpage = tlb_tag(cpu, lin);
    unsigned slot = emu_tlb_slot(lin);
    struct emu_tlb_entry *t = &tlb_for(cpu, acc)[slot];
    struct emu_tlb_info *info = &cpu->tlb_info[acc][slot];
    if (t->vpage == vpage) {
        *host = (uint8_t *)(uintptr_t)(lin + t->addend);
        return EMU_OK;
    }
    struct emu_tlb_victim *victims = acc == ACC_EXEC ? NULL : cpu->tlb_victim[acc == ACC_WRITE];
    for (unsigned i = 0; victims && i < EMU_TLB_VICTIMS; i++)
        if (victims[i].e.vpage == vpage) { /* back into its slot, the slot's page kept here */
            struct emu_tlb_victim was = {*t, *info};
            *t = victims[i].e;
            *info = victims[i].info;
            victims[i] = was;
            *host = (uint8_t *)(uintptr_t)(lin + t->addend);
            return EMU_OK;
        }
    struct leaf leaf;
    int st = walk(cpu, lin, acc, gpa, &leaf);
    if (st)
        return st;
    /* A page with an armed data breakpoint stays out of the TLB, so its
     * every access is checked here (debug.c). So does a non-canonical
     * page (a system-table access may reach one): compiled code's probe
     * takes a tag match as canonical (jit_tlb_probe). */
    bool uncached = !emu_canonical(lin) ||
                    (cpu->dbg_data && acc != ACC_EXEC && emu_debug_data_page(cpu, lin, size, acc));
    uint8_t *page = emu_ram(cpu->vm, *gpa & ~0xfffull, 4096);
    *host = NULL;
    if (!page)
        return EMU_OK;
    if (acc == ACC_WRITE && emu_is_code_page(cpu->vm, *gpa)) {
        /* Self-modifying code: drop what was decoded from this page first. */
        emu_code_invalidate(cpu->vm, *gpa & ~0xfffull, 4096);
        emu_end_block(cpu);
    }
    if (!uncached) {
        if (victims && t->vpage) {
            unsigned *next = &cpu->victim_next[acc == ACC_WRITE];
            victims[(*next)++ % EMU_TLB_VICTIMS] = (struct emu_tlb_victim){*t, *info};
        }
        *t = (struct emu_tlb_entry){vpage, (uintptr_t)page - (lin & ~0xfffull)};
        *info = (struct emu_tlb_info){*gpa & ~0xfffull, leaf.global};
        cpu->tlb_large |= leaf.large;
    }
    *host = page + (lin & 0xfff);
    return EMU_OK;
}

int emu_translate_tlb(struct emu_cpu *cpu, uint64_t lin, enum emu_access acc, uint64_t *gpa)
{
    unsigned slot = emu_tlb_slot(lin);
    if (tlb_for(cpu, acc)[slot].vpage == tlb_tag(cpu, lin)) {
        *gpa = cpu->tlb_info[acc][slot].gpage | (lin & 0xfff);
        return EMU_OK;
    }
    uint8_t *host;
    return page_lookup(cpu, lin, 1, acc, &host, gpa);
}

/* Access within one page. */
static int access_page(struct emu_cpu *cpu, uint64_t lin, void *buf, unsigned size,
                       enum emu_access acc)
{
    uint8_t *host;
    uint64_t gpa = 0;
    int st = page_lookup(cpu, lin, size, acc, &host, &gpa);
    if (st)
        return st;
    if (host) {
        if (acc == ACC_WRITE)
            memcpy(host, buf, size);
        else
            memcpy(buf, host, size);
        return EMU_OK;
    }
    bool w = acc == ACC_WRITE;
    if (size == 1 || size == 2 || size == 4 || size == 8) {
        uint64_t v = 0;
        if (w)
            memcpy(&v, buf, size);
        st = ext_access(cpu, false, gpa, size, w, &v);
        if (!st && !w)
            memcpy(buf, &v, size);
        return st;
    }
    for (unsigned i = 0; i < size; i++) {
        uint64_t v = w ? ((uint8_t *)buf)[i] : 0;
        st = ext_access(cpu, false, gpa + i, 1, w, &v);
        if (st)
            return st;
        if (!w)
            ((uint8_t *)buf)[i] = (uint8_t)v;
    }
    return EMU_OK;
}

static int access_lin(struct emu_cpu *cpu, uint64_t lin, void *buf, unsigned size,
                      enum emu_access acc)
{
    unsigned first = 4096 - (unsigned)(lin & 0xfff);
    if (size <= first)
        return access_page(cpu, lin, buf, size, acc);
    /* Crossing a page: both halves must translate before either is done,
     * so a fault on the second leaves memory untouched; the first page is
     * checked first, as hardware reports a fault on it first. */
    uint64_t gpa;
    int st = emu_translate(cpu, lin, acc, &gpa);
    if (!st)
        st = emu_translate(cpu, lin + first, acc, &gpa);
    if (st)
        return st;
    st = access_page(cpu, lin, buf, first, acc);
    if (st)
        return st;
    return access_page(cpu, lin + first, (uint8_t *)buf + first, size - first, acc);
}

int emu_read_lin(struct emu_cpu *cpu, uint64_t lin, void *buf, unsigned size, enum emu_access acc)
{
    return access_lin(cpu, lin, buf, size, acc);
}

int emu_write_lin(struct emu_cpu *cpu, uint64_t lin, const void *buf, unsigned size)
{
    return access_lin(cpu, lin, (void *)buf, size, ACC_WRITE);
}
