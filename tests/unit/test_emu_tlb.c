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
        clean = clean && !(cpu.tlb_victim[1][i].vpage && cpu.tlb_victim[1][i].gpage == PAGE_A);
    CHECK(!clean, "emu TLB: a page's write translation pushed out is kept as a victim");
    /* Decode a block from page A (at lin A): the write victims go. */
    ram[PAGE_A + 0x100] = 0xf4; /* HLT */
    cpu.rip = LIN_A + 0x100;
    int got;
    CHECK(emu_block_get(&cpu, &got) != NULL, "emu TLB: a block decoded from the page");
    clean = true;
    for (int i = 0; i < EMU_TLB_VICTIMS; i++)
        clean = clean && !(cpu.tlb_victim[1][i].vpage && cpu.tlb_victim[1][i].gpage == PAGE_A);
    CHECK(clean, "emu TLB: code decoded from a page drops its write translation from the victims");
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
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
