/*
 * The data TLB's victim entries (cpu->tlb_victim, mmu.c page_lookup): two
 * pages that take one slot in turns are served without a walk, and what
 * invalidates a slot (INVLPG, a TLB flush, code decoded from a page)
 * invalidates the victims alike. Under PAE paging a walk reads the page
 * tables, so a translation served from a stale entry shows as the old
 * page's bytes; whether a walk happened shows in the PTE's accessed bit,
 * which page_lookup's walk sets and a TLB hit does not.
 */
#include "emu_fixture.h"
#include "test.h"

#define RAM 0x100000ull
#define PDPT 0x3000ull
#define PD 0x4000ull
#define PT 0x5000ull
#define CODE 0x1000ull
#define STACK 0x10000ull
#define PAGE_A 0x20000ull  /* lin A and lin A + 1 MiB share a TLB slot */
#define PAGE_B 0x21000ull
#define PAGE_C 0x22000ull
#define LIN_A 0x30000ull
#define LIN_B (LIN_A + (256ull << 12))

#define P 0x1ull
#define RW 0x2ull
#define A_BIT 0x20ull

static struct emu_fixture fx;
static struct emu_cpu cpu;
static uint8_t *ram;

static void put64(uint64_t a, uint64_t v) { memcpy(ram + a, &v, 8); }

static uint64_t *pte(uint64_t lin)
{
    return (uint64_t *)(ram + PT + 8 * (lin >> 12));
}

static void map(uint64_t lin, uint64_t gpa)
{
    *pte(lin) = gpa | P | RW;
}

/* PAE, the first 2 MiB by 4 KiB pages, identity but for LIN_A and LIN_B. */
static void setup(void)
{
    memset(ram, 0, RAM);
    put64(PDPT, PD | P);
    put64(PD, PT | P | RW);
    for (uint64_t i = 0; i < 512; i++)
        put64(PT + 8 * i, (i << 12) | P | RW);
    map(LIN_A, PAGE_A);
    map(LIN_B, PAGE_B);
    put64(PAGE_A, 0xaaaa);
    put64(PAGE_B, 0xbbbb);
    put64(PAGE_C, 0xcccc);
    emu_fixture_paged32(&cpu, PDPT, CR4_PAE, CODE, STACK);
    emu_pdptes_load(&cpu);
}

static uint64_t rd(uint64_t lin)
{
    uint64_t v = 0;
    if (emu_read_lin(&cpu, lin, &v, 8, ACC_READ))
        return ~0ull;
    return v;
}

/* Reads A, B, A, B, ... : after the first two, no walk (A bits cleared
 * after the first round stay clear), and every read right. */
static void alternate(void)
{
    setup();
    bool right = rd(LIN_A) == 0xaaaa && rd(LIN_B) == 0xbbbb;
    *pte(LIN_A) &= ~A_BIT;
    *pte(LIN_B) &= ~A_BIT;
    for (int i = 0; i < 100; i++)
        right = right && rd(LIN_A) == 0xaaaa && rd(LIN_B) == 0xbbbb;
    CHECK(right, "emu TLB: two pages in one slot read in turns read right");
    CHECK(!(*pte(LIN_A) & A_BIT) && !(*pte(LIN_B) & A_BIT),
          "emu TLB: two pages in one slot read in turns need no walk after the first");
}

/* A page pushed out to the victims, remapped and invalidated: the next
 * read walks and sees the new page. */
static void invalidated(const char *how)
{
    setup();
    rd(LIN_A);
    rd(LIN_B); /* A is a victim now */
    map(LIN_A, PAGE_C);
    if (!strcmp(how, "INVLPG"))
        emu_tlb_flush_page(&cpu, LIN_A);
    else
        emu_tlb_flush(&cpu);
    char name[96];
    snprintf(name, sizeof(name), "emu TLB: after %s a victim page reads its new mapping", how);
    CHECK_EQ(rd(LIN_A), 0xcccc, name);
}

/* Write victim i: a valid translation to gpage. */
static bool victim_of(int i, uint64_t gpage)
{
    return cpu.tlb_victim[1][i].e.vpage && cpu.tlb_victim[1][i].info.gpage == gpage;
}

/* A page whose write translation is a victim, then code decoded from it:
 * a write must go the slow way, which drops the decoded block. */
static void code_page(void)
{
    setup();
    uint64_t v = 0x1234;
    emu_write_lin(&cpu, LIN_A, &v, 8);
    emu_write_lin(&cpu, LIN_B, &v, 8); /* A's write entry a victim */
    bool clean = true;
    for (int i = 0; i < EMU_TLB_VICTIMS; i++)
        clean = clean && !victim_of(i, PAGE_A);
    CHECK(!clean, "emu TLB: a page's write translation pushed out is kept as a victim");
    /* Decode a block from page A (at lin A): the write victims go. */
    ram[PAGE_A + 0x100] = 0xf4; /* HLT */
    cpu.rip = LIN_A + 0x100;
    int got;
    CHECK(emu_block_get(&cpu, &got) != NULL, "emu TLB: a block decoded from the page");
    clean = true;
    for (int i = 0; i < EMU_TLB_VICTIMS; i++)
        clean = clean && !victim_of(i, PAGE_A);
    CHECK(clean, "emu TLB: code decoded from a page drops its write translation from the victims");
}

/* A page's write translation in its slot, filled there or swapped back
 * from the victims (its guest-physical page with it): code decoded from
 * the page drops it, so the next write takes the slow path. */
static void code_page_slot(bool swapped)
{
    setup();
    uint64_t v = 0x1234;
    emu_write_lin(&cpu, LIN_A, &v, 8);
    if (swapped) {
        emu_write_lin(&cpu, LIN_B, &v, 8);
        emu_write_lin(&cpu, LIN_A, &v, 8);
    }
    const struct emu_tlb_entry *slot = &cpu.tlb_write[emu_tlb_slot(LIN_A)];
    bool filled = slot->vpage == emu_tlb_tag(&cpu, LIN_A);
    ram[PAGE_A + 0x100] = 0xf4; /* HLT */
    cpu.rip = LIN_A + 0x100;
    int got;
    bool decoded = emu_block_get(&cpu, &got) != NULL;
    char name[128];
    snprintf(name, sizeof(name), "emu TLB: code decoded from a page drops its write translation "
             "from its slot%s", swapped ? " (swapped back from the victims)" : "");
    CHECK(filled && decoded && slot->vpage != emu_tlb_tag(&cpu, LIN_A), name);
}

/* emu_translate_tlb: a hit serves the page its own kind's TLB was filled
 * with (no walk: a remap without INVLPG unseen, as a hardware TLB may),
 * the read, write and exec translations of one page each filled under
 * another mapping. */
static void translate_hits(void)
{
    static const enum emu_access kinds[3] = {ACC_READ, ACC_WRITE, ACC_EXEC};
    static const uint64_t pages[3] = {PAGE_B, PAGE_C, PAGE_A};
    setup();
    uint64_t gpa;
    bool right = true;
    for (int k = 0; k < 3; k++) {
        map(LIN_A, pages[k]);
        right = right && !emu_translate_tlb(&cpu, LIN_A, kinds[k], &gpa) && gpa == pages[k];
    }
    for (int k = 0; k < 3; k++)
        right = right && !emu_translate_tlb(&cpu, LIN_A + 8, kinds[k], &gpa) &&
                gpa == pages[k] + 8;
    CHECK(right, "emu TLB: emu_translate_tlb serves each access kind from its own TLB");
}

/* Runs the instruction bytes at CODE, then HLT. */
static void run_insn(const uint8_t *code, size_t n)
{
    memcpy(ram + CODE, code, n);
    ram[CODE + n] = 0xf4;
    emu_code_invalidate(cpu.vm, CODE, 4096); /* the last call's code */
    cpu.rip = CODE;
    cpu.halted = false;
    struct accel_exit exit = {0};
    emu_fixture_run_to_hlt(&cpu, &exit, 10);
}

#define G_BIT 0x100ull
#define LIN_D (LIN_A + 0x1000) /* another slot than A's and B's */

static const uint8_t mov_cr3[] = {0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8}; /* eax = cr3 */

/* MOV CR3 keeps global translations and only those, with CR4.PGE
 * (SDM 4.10.4.1): A (global) and D are read, both remapped to C without
 * INVLPG, then CR3 written. A kept reads the old page, one dropped the
 * new. With victim, A is pushed to the victims by B first. Then `then`
 * (a CR4 write, INVLPG of A) must drop A too. */
static void global_kept(bool pge, bool victim, const char *then)
{
    static const uint8_t mov_cr4[] = {0x0f, 0x20, 0xe0, 0x0f, 0x22, 0xe0};
    static const uint8_t invlpg_a[] = {0x0f, 0x01, 0x3d, LIN_A & 0xff, (LIN_A >> 8) & 0xff,
                                       (LIN_A >> 16) & 0xff, 0};
    setup();
    if (pge)
        cpu.cr4 |= CR4_PGE;
    *pte(LIN_A) |= G_BIT;
    map(LIN_D, PAGE_B);
    bool right = rd(LIN_A) == 0xaaaa && rd(LIN_D) == 0xbbbb;
    if (victim) { /* A a victim, and D + 1 MiB (not global) too */
        map(LIN_D + (256ull << 12), PAGE_B);
        right = right && rd(LIN_B) == 0xbbbb && rd(LIN_D + (256ull << 12)) == 0xbbbb &&
                rd(LIN_D) == 0xbbbb;
    }
    map(LIN_A, PAGE_C);
    *pte(LIN_A) |= G_BIT;
    map(LIN_D, PAGE_C);
    map(LIN_D + (256ull << 12), PAGE_C);
    run_insn(mov_cr3, sizeof(mov_cr3));
    uint64_t a = rd(LIN_A), d = rd(LIN_D);
    if (victim && rd(LIN_D + (256ull << 12)) != 0xcccc)
        d = 0;
    char name[160];
    snprintf(name, sizeof(name), "emu TLB: MOV CR3 %s a global page%s (%#llx) and drops another",
             pge ? "keeps" : "without CR4.PGE drops", victim ? " pushed to the victims" : "",
             (unsigned long long)a);
    CHECK(right && a == (pge ? 0xaaaa : 0xcccc) && d == 0xcccc, name);
    if (!then)
        return;
    if (!strcmp(then, "INVLPG"))
        run_insn(invlpg_a, sizeof(invlpg_a));
    else
        run_insn(mov_cr4, sizeof(mov_cr4));
    snprintf(name, sizeof(name), "emu TLB: %s drops a global translation", then);
    CHECK_EQ(rd(LIN_A), 0xcccc, name);
}

/* A global page pushed to the victims by B, then read again: back in
 * its slot, it is global there too, so MOV CR3 keeps it. */
static void global_swapped_back(void)
{
    setup();
    cpu.cr4 |= CR4_PGE;
    *pte(LIN_A) |= G_BIT;
    bool right = rd(LIN_A) == 0xaaaa && rd(LIN_B) == 0xbbbb && rd(LIN_A) == 0xaaaa;
    map(LIN_A, PAGE_C);
    *pte(LIN_A) |= G_BIT;
    run_insn(mov_cr3, sizeof(mov_cr3));
    CHECK(right && rd(LIN_A) == 0xaaaa,
          "emu TLB: MOV CR3 keeps a global page swapped back into its slot from the victims");
}

/* Runs from lin to HLT; what it left in EAX. */
static uint32_t run_at(uint64_t lin)
{
    cpu.rip = lin;
    cpu.halted = false;
    struct accel_exit exit = {0};
    emu_fixture_run_to_hlt(&cpu, &exit, 10);
    return (uint32_t)cpu.gpr[0];
}

/* MOV EAX, n; HLT at gpa, anything decoded from its page before dropped. */
static void put_code(uint64_t gpa, uint8_t n)
{
    static const uint8_t mov_eax_hlt[] = {0xb8, 0, 0, 0, 0, 0xf4};
    memcpy(ram + gpa, mov_eax_hlt, sizeof(mov_eax_hlt));
    ram[gpa + 1] = n;
    emu_code_invalidate(cpu.vm, gpa & ~0xfffull, 4096);
}

/* The exec and read TLBs keep each their own global bits: code run from
 * A and data read from B (one slot, A global or B global, not both),
 * then A remapped to C's other code and CR3 written. The next run from
 * A runs C's code when A was not global, A's old code when it was,
 * whatever the read entry in that slot says. */
static void global_exec_own(bool code_global)
{
    setup();
    cpu.cr4 |= CR4_PGE;
    put_code(PAGE_A + 0x200, 1);
    put_code(PAGE_C + 0x200, 2);
    if (code_global)
        *pte(LIN_A) |= G_BIT;
    else
        *pte(LIN_B) |= G_BIT;
    bool right = run_at(LIN_A + 0x200) == 1 && rd(LIN_B) == 0xbbbb;
    map(LIN_A, PAGE_C);
    if (code_global)
        *pte(LIN_A) |= G_BIT;
    run_insn(mov_cr3, sizeof(mov_cr3));
    uint32_t ran = run_at(LIN_A + 0x200);
    char name[160];
    snprintf(name, sizeof(name), "emu TLB: MOV CR3 %s a %sglobal code page whatever the data "
             "page in its slot (ran code %u)", code_global ? "keeps" : "drops",
             code_global ? "" : "non-", ran);
    CHECK(right && ran == (code_global ? 1u : 2u), name);
}

int main(void)
{
    if (emu_fixture_init(&fx, &cpu, RAM, "emu TLB"))
        return 1;
    ram = fx.ram;
    alternate();
    invalidated("INVLPG");
    invalidated("a TLB flush");
    code_page();
    code_page_slot(false);
    code_page_slot(true);
    translate_hits();
    global_kept(true, false, "INVLPG");
    global_kept(true, true, "a CR4 write");
    global_kept(false, false, NULL);
    global_swapped_back();
    global_exec_own(false);
    global_exec_own(true);
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
