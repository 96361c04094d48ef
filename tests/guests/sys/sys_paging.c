/*
 * 4-level paging faults (SDM Vol. 3A ch. 4): reserved bits in every level
 * of the walk (4.5) raise #PF with P=1 and RSVD=1 for each access kind at
 * CPL 0 and CPL 3, with the error code of 4.7, CR2 = the address, and the
 * faulting entry and those after it left without the accessed flag (4.8);
 * bits that are ignored or PAT do not fault. Then the neighbours: R/W and
 * U/S combined across levels with CR0.WP (4.6), XD with NXE, A/D setting,
 * INVLPG exposing an edited entry, and implicit supervisor accesses at
 * CPL 3 not opening supervisor pages to user accesses.
 */
#include "rt.h"

#define PF_P 0x1u
#define PF_W 0x2u
#define PF_U 0x4u
#define PF_RSVD 0x8u
#define PF_I 0x10u
#define EFER 0xc0000080u
#define EFER_NXE 0x800ull
#define CR0_WP 0x10000ull

/* A test region of its own under PML4 slot 1: a 4 KiB data page and code
 * page (PT), and the same two through a 2 MiB page (PDE with PS). */
#define VA_BASE 0x0000008000000000ull
#define VA_DATA VA_BASE
#define VA_CODE (VA_BASE + 0x1000)
#define VA_LARGE (VA_BASE + 0x200000)

static struct {
    uint8_t data[4096];
    uint8_t code[4096];
} pages __attribute__((aligned(4096)));

static uint64_t *pml4e, *pdpt, *pd, *pt;
static uint64_t pristine[4][2];
static unsigned maxphyaddr;
static bool gbpages;
static uint64_t large_off; /* offset of pages in its 2 MiB frame */

enum access { RD, WR, EX };
static const char *const acc_name[] = {"read", "write", "fetch"};

static void cpuid(uint32_t leaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

static void invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory"); }

static void build_region(void)
{
    pdpt = rt_alloc_page();
    pd = rt_alloc_page();
    pt = rt_alloc_page();
    uint64_t f = PTE_P | PTE_RW | PTE_US;
    pml4e = &rt_pml4()[1];
    *pml4e = (uint64_t)pdpt | f;
    pdpt[0] = (uint64_t)pd | f;
    pd[0] = (uint64_t)pt | f;
    pt[0] = (uint64_t)pages.data | f;
    pt[1] = (uint64_t)pages.code | f;
    large_off = (uint64_t)&pages & 0x1fffff;
    pd[1] = ((uint64_t)&pages - large_off) | f | PTE_PS;
    pristine[0][0] = *pml4e;
    pristine[1][0] = pdpt[0];
    pristine[2][0] = pd[0];
    pristine[2][1] = pd[1];
    pristine[3][0] = pt[0];
    pristine[3][1] = pt[1];
    memset(pages.data, 0x5a, sizeof(pages.data));
    pages.code[0] = 0xc3; /* ret */
    rt_flush_tlb();
}

static void restore_region(void)
{
    *pml4e = pristine[0][0];
    pdpt[0] = pristine[1][0];
    pd[0] = pristine[2][0];
    pd[1] = pristine[2][1];
    pt[0] = pristine[3][0];
    pt[1] = pristine[3][1];
    rt_flush_tlb();
}

/* The entries translating va, top level first; 3 for the 2 MiB page. */
static int path_of(uint64_t va, uint64_t *e[4])
{
    bool large = va >= VA_LARGE;
    e[0] = pml4e;
    e[1] = &pdpt[0];
    e[2] = &pd[large ? 1 : 0];
    e[3] = large ? 0 : &pt[(va >> 12) & 1];
    return large ? 3 : 4;
}

static void k_read(void *a) { (void)*(volatile uint64_t *)a; }
static void k_write(void *a) { *(volatile uint64_t *)a = 0x5a5a5a5a5a5a5a5aull; }
static void u_read(void *a) { (void)*(volatile uint64_t *)a; }
static void u_write(void *a) { *(volatile uint64_t *)a = 0x5a5a5a5a5a5a5a5aull; }

/* Access va as acc at CPL cpl; the vector raised or -1. */
static int access(enum access acc, int cpl, uint64_t va)
{
    void (*fn)(void *) = acc == RD ? (cpl ? u_read : k_read) : acc == WR ? (cpl ? u_write : k_write)
                                                                        : (void (*)(void *))va;
    if (cpl == 3)
        return rt_run_user(fn, (void *)va, SEL_UCODE, 0);
    return rt_catch(fn, (void *)va);
}

static uint64_t va_for(enum access acc, bool large)
{
    uint64_t off = acc == EX ? 0x1000 : 0x0;
    return large ? VA_LARGE + large_off + off : VA_BASE + off;
}

static uint32_t err_for(enum access acc, int cpl, uint32_t base)
{
    bool nxe = rt_rdmsr(EFER) & EFER_NXE;
    return base | (acc == WR ? PF_W : 0) | (cpl == 3 ? PF_U : 0) | (acc == EX && nxe ? PF_I : 0);
}

/* With `bit` set in the entry at `level` (0 = PML4E) of va's walk, every
 * access kind at CPL 0 and 3 must fault with RSVD, after a clean access
 * cached the translation and INVLPG dropped it. */
static void rsvd_case(const char *what, bool large, int level, uint64_t bit)
{
    for (int k = 0; k < 6; k++) {
        enum access acc = (enum access)(k % 3);
        int cpl = k < 3 ? 0 : 3;
        uint64_t va = va_for(acc, large), *e[4];
        int n = path_of(va, e);
        restore_region();
        CHECK_EQ(access(acc, cpl, va), -1, "paging: %s: clean %s at CPL %d runs", what,
                 acc_name[acc], cpl);
        *e[level] |= bit;
        for (int i = 0; i < n; i++)
            *e[i] &= ~PTE_A;
        invlpg(va);
        CHECK_EQ(access(acc, cpl, va), 14, "paging: %s: %s at CPL %d raises #PF", what,
                 acc_name[acc], cpl);
        CHECK_EQ(rt_last.error, err_for(acc, cpl, PF_P | PF_RSVD),
                 "paging: %s: %s at CPL %d error code", what, acc_name[acc], cpl);
        CHECK_EQ(rt_last.cr2, va, "paging: %s: %s at CPL %d CR2", what, acc_name[acc], cpl);
        CHECK_EQ(rt_last.cs & 3, cpl, "paging: %s: %s at CPL %d frame CS", what, acc_name[acc],
                 cpl);
        if (acc == EX)
            CHECK_EQ(rt_last.rip, va, "paging: %s: fetch at CPL %d frame RIP is the target",
                     what, cpl);
        bool a_clear = true;
        for (int i = level; i < n; i++)
            a_clear &= !(*e[i] & PTE_A);
        CHECK(a_clear, "paging: %s: %s at CPL %d sets no A bit from the faulting level on",
              what, acc_name[acc], cpl);
    }
    restore_region();
}

/* A bit that is ignored (or PAT) must not fault, for any access kind. */
static void ignored_case(const char *what, bool large, int level, uint64_t bit)
{
    bool ok = true;
    for (int k = 0; k < 6; k++) {
        enum access acc = (enum access)(k % 3);
        uint64_t va = va_for(acc, large), *e[4];
        path_of(va, e);
        restore_region();
        *e[level] |= bit;
        rt_flush_tlb();
        ok &= access(acc, k < 3 ? 0 : 3, va) == -1;
    }
    CHECK(ok, "paging: %s is not reserved: every access runs", what);
    restore_region();
}

static void reserved_bits(void)
{
    static const char *const lvl[] = {"PML4E", "PDPTE", "PDE", "PTE"};
    uint64_t phys_lo = 1ull << maxphyaddr, phys_hi = 1ull << 51;
    for (int level = 0; level < 4; level++) {
        rt_printf("note: %s bits MAXPHYADDR and 51\n", lvl[level]);
        rsvd_case(lvl[level], false, level, phys_lo);
        rsvd_case(lvl[level], false, level, phys_hi);
        ignored_case(lvl[level], false, level, 1ull << 52);
        ignored_case(lvl[level], false, level, 1ull << 62);
        ignored_case(lvl[level], false, level, 1ull << 9);
    }
    rsvd_case("PDE 2M bit MAXPHYADDR", true, 2, phys_lo);
    rsvd_case("PDE 2M bit 13", true, 2, 1ull << 13);
    rsvd_case("PDE 2M bit 20", true, 2, 1ull << 20);
    ignored_case("PDE 2M bit 12 (PAT)", true, 2, 1ull << 12);
    ignored_case("PTE bit 7 (PAT)", false, 3, PTE_PS);
    rsvd_case("PML4E PS", false, 0, PTE_PS);
    if (!gbpages)
        rsvd_case("PDPTE PS without 1 GiB pages", false, 1, PTE_PS);
    else
        rsvd_case("PDPTE 1G bit 13", false, 1, PTE_PS | 1ull << 13);
}

/* XD is reserved while EFER.NXE=0 (and I/D then stays 0), in each level. */
static void xd_without_nxe(void)
{
    uint64_t efer = rt_rdmsr(EFER);
    rt_wrmsr(EFER, efer & ~EFER_NXE);
    rsvd_case("PML4E XD, NXE=0", false, 0, PTE_XD);
    rsvd_case("PDPTE XD, NXE=0", false, 1, PTE_XD);
    rsvd_case("PDE XD, NXE=0", false, 2, PTE_XD);
    rsvd_case("PDE 2M XD, NXE=0", true, 2, PTE_XD);
    rsvd_case("PTE XD, NXE=0", false, 3, PTE_XD);
    rsvd_case("PTE bit 51, NXE=0", false, 3, 1ull << 51);
    rt_wrmsr(EFER, efer);
}

/* One access after editing the region: the vector, and error/CR2 on #PF. */
static void expect(enum access acc, int cpl, uint64_t va, int vec, uint32_t err, const char *what)
{
    rt_flush_tlb();
    int got = access(acc, cpl, va);
    CHECK_EQ(got, vec, "paging: %s: %s at CPL %d", what, acc_name[acc], cpl);
    if (got == 14 && vec == 14) {
        CHECK_EQ(rt_last.error, err, "paging: %s: %s at CPL %d error code", what, acc_name[acc],
                 cpl);
        CHECK_EQ(rt_last.cr2, va, "paging: %s: %s at CPL %d CR2", what, acc_name[acc], cpl);
    }
}

/* R/W and U/S are combined over all levels (SDM 4.6): a supervisor-only
 * or read-only upper level wins over a permissive PTE. */
static void rights(void)
{
    uint64_t d = va_for(RD, false), c = va_for(EX, false);
    restore_region();
    pd[0] &= ~PTE_US;
    expect(RD, 3, d, 14, PF_P | PF_U, "PDE U/S=0");
    expect(WR, 3, d, 14, PF_P | PF_U | PF_W, "PDE U/S=0");
    expect(EX, 3, c, 14, err_for(EX, 3, PF_P), "PDE U/S=0");
    expect(RD, 0, d, -1, 0, "PDE U/S=0");
    restore_region();
    pml4e[0] &= ~PTE_RW;
    uint64_t cr0 = rt_read_cr0();
    rt_write_cr0(cr0 | CR0_WP);
    expect(WR, 0, d, 14, PF_P | PF_W, "PML4E R/W=0, CR0.WP=1");
    expect(WR, 3, d, 14, PF_P | PF_W | PF_U, "PML4E R/W=0, CR0.WP=1");
    expect(RD, 3, d, -1, 0, "PML4E R/W=0, CR0.WP=1");
    rt_write_cr0(cr0 & ~CR0_WP);
    expect(WR, 0, d, -1, 0, "PML4E R/W=0, CR0.WP=0");
    expect(WR, 3, d, 14, PF_P | PF_W | PF_U, "PML4E R/W=0, CR0.WP=0");
    rt_write_cr0(cr0);
    restore_region();
    pt[1] &= ~PTE_P;
    expect(EX, 0, c, 14, err_for(EX, 0, 0), "PTE not present");
    expect(EX, 3, c, 14, err_for(EX, 3, 0), "PTE not present");
    expect(WR, 3, d, -1, 0, "PTE of the next page not present");
    restore_region();
}

/* XD with NXE=1: fetches fault with P and I/D, data accesses do not. */
static void xd_with_nxe(void)
{
    uint64_t efer = rt_rdmsr(EFER);
    rt_wrmsr(EFER, efer | EFER_NXE);
    uint64_t d = va_for(RD, false), c = va_for(EX, false);
    restore_region();
    pdpt[0] |= PTE_XD;
    expect(EX, 0, c, 14, PF_P | PF_I, "PDPTE XD, NXE=1");
    expect(EX, 3, c, 14, PF_P | PF_I | PF_U, "PDPTE XD, NXE=1");
    expect(RD, 3, d, -1, 0, "PDPTE XD, NXE=1");
    expect(WR, 0, d, -1, 0, "PDPTE XD, NXE=1");
    restore_region();
    pt[1] &= ~PTE_P;
    expect(EX, 0, c, 14, PF_I, "PTE not present, NXE=1");
    restore_region();
    rt_wrmsr(EFER, efer);
}

/* A/D (SDM 4.8): a read sets A along the walk and leaves D clear; a write
 * sets D in the entry that maps the page. */
static void accessed_dirty(void)
{
    uint64_t d = va_for(RD, false), *e[4];
    path_of(d, e);
    restore_region();
    for (int i = 0; i < 4; i++)
        *e[i] &= ~(PTE_A | PTE_D);
    rt_flush_tlb();
    CHECK_EQ(access(RD, 0, d), -1, "paging: A/D: read runs");
    CHECK((*e[0] & *e[1] & *e[2] & *e[3] & PTE_A) != 0, "paging: A/D: a read sets A in all levels");
    CHECK(!(*e[3] & PTE_D), "paging: A/D: a read leaves D clear");
    CHECK_EQ(access(WR, 3, d), -1, "paging: A/D: write runs");
    CHECK(*e[3] & PTE_D, "paging: A/D: a write sets D in the PTE");
    restore_region();
}

/* Descriptor-table reads at CPL 3 are supervisor accesses (SDM 4.6); they
 * must not leave a supervisor translation that user accesses can use. The
 * GDT is moved to a supervisor-only alias, then user code loads DS (an
 * implicit GDT read) and reads the alias itself. */
static uint64_t alias_va;
static void user_load_ds_then_read(void *a)
{
    (void)a;
    __asm__ volatile("mov %0, %%ds" ::"r"((uint16_t)SEL_UDATA));
    (void)*(volatile uint64_t *)alias_va;
}

struct __attribute__((packed)) dtr {
    uint16_t limit;
    uint64_t base;
};

static void implicit_supervisor(void)
{
    restore_region();
    uint64_t gdt = (uint64_t)rt_gdt, page = gdt & ~0xfffull;
    pt[2] = page | PTE_P | PTE_RW; /* supervisor only */
    pt[3] = (page + 0x1000) | PTE_P | PTE_RW;
    alias_va = VA_BASE + 0x2000 + (gdt & 0xfff);
    rt_flush_tlb();
    struct dtr old, alias = {GDT_ENTRIES * 8 - 1, alias_va};
    __asm__ volatile("sgdt %0" : "=m"(old));
    __asm__ volatile("lgdt %0" ::"m"(alias));
    int v = rt_run_user(user_load_ds_then_read, 0, SEL_UCODE, 0);
    uint64_t err = rt_last.error, cr2 = rt_last.cr2;
    __asm__ volatile("lgdt %0" ::"m"(old));
    CHECK_EQ(v, 14, "paging: user read of a supervisor page after an implicit GDT read: #PF");
    CHECK_EQ(err, PF_P | PF_U, "paging: its error code");
    CHECK_EQ(cr2, alias_va, "paging: its CR2");
    pt[2] = pt[3] = 0;
    restore_region();
}

/* The same through an LDT: user code loads DS from it. The LDT page is
 * supervisor-only, which an implicit access may use; when it is not
 * present, the #PF is a supervisor one (U/S=0, SDM 4.7) with CR2 in it. */
static void user_load_ldt_ds(void *a)
{
    (void)a;
    __asm__ volatile("mov %0, %%ds" ::"r"((uint16_t)7)); /* LDT entry 0, RPL 3 */
}

static void implicit_ldt(void)
{
    restore_region();
    uint64_t *ldt = rt_alloc_page(), base = VA_BASE + 0x4000;
    ldt[0] = 0x00cff3000000ffffull; /* user data */
    rt_gdt[GDT_FREE] = 0xfull | (base & 0xffffff) << 16 | 0x82ull << 40 | (base >> 24 & 0xff) << 56;
    rt_gdt[GDT_FREE + 1] = base >> 32;
    __asm__ volatile("lldt %w0" ::"r"(GDT_FREE * 8));
    pt[4] = (uint64_t)ldt | PTE_P | PTE_RW;
    rt_flush_tlb();
    CHECK_EQ(rt_run_user(user_load_ldt_ds, 0, SEL_UCODE, 0), -1,
             "paging: CPL 3 loads DS from an LDT in a supervisor-only page");
    pt[4] = 0;
    rt_flush_tlb();
    int v = rt_run_user(user_load_ldt_ds, 0, SEL_UCODE, 0);
    CHECK_EQ(v, 14, "paging: CPL 3 loading DS from a not-present LDT page: #PF");
    CHECK_EQ(rt_last.error, 0, "paging: its error code is a supervisor read's (U/S=0)");
    CHECK_EQ(rt_last.cr2, base, "paging: its CR2 is the descriptor's address");
    __asm__ volatile("lldt %w0" ::"r"(0));
    restore_region();
}

void test_main(void)
{
    uint32_t r[4];
    cpuid(0x80000008, r);
    maxphyaddr = r[0] & 0xff;
    cpuid(0x80000001, r);
    gbpages = (r[3] >> 26) & 1;
    rt_note("MAXPHYADDR %u, 1 GiB pages %s", maxphyaddr, gbpages ? "yes" : "no");
    build_region();
    uint64_t efer = rt_rdmsr(EFER);
    rt_wrmsr(EFER, efer | EFER_NXE);
    reserved_bits();
    xd_without_nxe();
    rt_wrmsr(EFER, efer & ~EFER_NXE);
    rsvd_case("PTE bit MAXPHYADDR, NXE=0", false, 3, 1ull << maxphyaddr);
    rt_wrmsr(EFER, efer);
    rights();
    xd_with_nxe();
    accessed_dirty();
    implicit_supervisor();
    implicit_ldt();
    rt_exit();
}
