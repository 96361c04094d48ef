/*
 * Code that changes under the CPU: after a store into code (SDM Vol. 3A
 * 11.6), a CR3 load or an INVLPG (4.10.4.1), the next jump there runs the
 * new bytes through the new translation, also when the old ones ran many
 * times just before: an emulator decodes code once and links the blocks
 * it ran one after the other, and all of that must notice. INVLPG of any
 * address in a 2 MiB page drops the whole page's translation; a link made
 * at CPL 0 does not open a supervisor page to CPL 3.
 */
#include "rt.h"

#define VA_CODE 0x0000010000000000ull /* PML4 slot 2: mapped here */
#define VA_USER (VA_CODE + 0x1000)    /* user page that jumps to VA_SUPER */
#define VA_SUPER (VA_CODE + 0x2000)   /* supervisor-only code */
#define VA_LARGE 0xc0000000ull        /* a 2 MiB page of the identity map, moved */
#define FRAME_A 0x2000000ull          /* two 2 MiB frames of the guest's 64 MiB */
#define FRAME_B 0x2200000ull
/* Offsets in the 2 MiB page: away from the guest's own pages (at 1 MiB)
 * modulo 1 MiB, so a small direct-mapped TLB keeps their entries. */
#define LARGE_CODE 0x9d230ull
#define LARGE_DATA 0x9e000ull
#define LARGE_OTHER 0x100000ull

static uint8_t code_a[4096] __attribute__((aligned(4096)));
static uint8_t code_b[4096] __attribute__((aligned(4096)));
static uint8_t code_u[4096] __attribute__((aligned(4096)));

typedef uint32_t (*code_fn)(void);

static void barrier(void) { __asm__ volatile("" ::: "memory"); }
static void invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory"); }

static uint32_t run(uint64_t va)
{
    barrier();
    return ((code_fn)va)();
}

/* mov eax, v; ret */
static void put_ret(uint8_t *p, uint32_t v)
{
    p[0] = 0xb8;
    memcpy(p + 1, &v, 4);
    p[5] = 0xc3;
    barrier();
}

/* mov ecx, 100; xor eax, eax; 1: add eax, imm8; dec ecx; jnz 1b; ret:
 * a loop inside the code, its add's immediate at offset 10. */
static void put_loop(uint8_t *p, uint8_t add)
{
    static const uint8_t loop[] = {0xb9, 100, 0, 0, 0, 0x31, 0xc0, 0x83, 0xc0, 0x00,
                                   0xff, 0xc9, 0x75, 0xf9, 0xc3};
    memcpy(p, loop, sizeof(loop));
    p[9] = add;
    barrier();
}

static uint64_t *pte_of(uint64_t va)
{
    return &((uint64_t *)(*rt_pde(va) & 0x000ffffffffff000ull))[va >> 12 & 511];
}

/* A store into code that just ran many times, between two calls. */
static void store_into_hot_code(void)
{
    put_ret(code_a, 1);
    uint32_t sum = 0;
    for (int i = 0; i < 200; i++) {
        sum += run((uint64_t)code_a);
        if (i == 100)
            put_ret(code_a, 2);
        if (i == 150)
            code_a[1] = 3; /* only the immediate's low byte */
    }
    CHECK_EQ(sum, 101 * 1 + 50 * 2 + 49 * 3, "code: stores into code that ran 100 times are seen");
    bool ok = true;
    for (int add = 1; add <= 4; add++) {
        put_loop(code_a, (uint8_t)add);
        for (int i = 0; i < 20; i++)
            ok &= run((uint64_t)code_a) == 100u * (uint32_t)add;
    }
    CHECK(ok, "code: a loop inside the code runs its new immediate after each store");
}

/* The same code page through another linear address: written there,
 * then CPUID (serializing, as SDM 8.1.3 asks of cross-modification). */
static void store_through_alias(void)
{
    rt_map_page(VA_CODE, (uint64_t)code_b, PTE_RW);
    bool ok = true;
    for (uint32_t v = 10; v < 15; v++) {
        put_ret(code_b, v);
        uint32_t r[4];
        __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(0), "c"(0));
        for (int i = 0; i < 20; i++)
            ok &= run(VA_CODE) == v;
    }
    CHECK(ok, "code: stores through the identity map reach code run at another address");
}

/* Two address spaces that map VA_CODE to different code: each CR3 load
 * switches which one runs. */
static void cr3_switch(void)
{
    rt_map_page(VA_CODE, (uint64_t)code_a, PTE_RW);
    put_ret(code_a, 0xa);
    put_ret(code_b, 0xb);
    uint64_t *pml4b = rt_alloc_page(), *pdpt = rt_alloc_page(), *pd = rt_alloc_page();
    uint64_t *pt = rt_alloc_page(), f = PTE_P | PTE_RW;
    memcpy(pml4b, rt_pml4(), 4096);
    pml4b[VA_CODE >> 39 & 511] = (uint64_t)pdpt | f;
    pdpt[VA_CODE >> 30 & 511] = (uint64_t)pd | f;
    pd[VA_CODE >> 21 & 511] = (uint64_t)pt | f;
    pt[VA_CODE >> 12 & 511] = (uint64_t)code_b | f;
    uint64_t cr3a = rt_read_cr3();
    int bad = 0;
    for (int i = 0; i < 80; i++) {
        bool b = (i / 10) & 1;
        if (i % 10 == 0)
            rt_write_cr3(b ? (uint64_t)pml4b : cr3a);
        bad += run(VA_CODE) != (b ? 0xbu : 0xau);
    }
    rt_write_cr3(cr3a);
    CHECK_EQ(bad, 0, "code: after each CR3 load the same address runs that space's code");
}

/* A 4 KiB PTE moved between two code pages, each time with INVLPG. */
static void invlpg_4k(void)
{
    rt_map_page(VA_CODE, (uint64_t)code_a, PTE_RW);
    put_ret(code_a, 0xa);
    put_ret(code_b, 0xb);
    uint64_t *pte = pte_of(VA_CODE);
    int bad = 0;
    for (int i = 0; i < 80; i++) {
        bool b = (i / 10) & 1;
        if (i % 10 == 0) {
            *pte = (b ? (uint64_t)code_b : (uint64_t)code_a) | PTE_P | PTE_RW;
            invlpg(VA_CODE);
        }
        bad += run(VA_CODE) != (b ? 0xbu : 0xau);
    }
    CHECK_EQ(bad, 0, "code: after each INVLPG the address runs the new page's code");
}

/* A 2 MiB page moved to another frame; INVLPG of an address in another
 * 4 KiB part of it must drop the translations of all of it. */
static void invlpg_large(void)
{
    put_ret((uint8_t *)(FRAME_A + LARGE_CODE), 0x1a);
    put_ret((uint8_t *)(FRAME_B + LARGE_CODE), 0x1b);
    *(volatile uint64_t *)(FRAME_A + LARGE_DATA) = 0xda;
    *(volatile uint64_t *)(FRAME_B + LARGE_DATA) = 0xdb;
    uint64_t *pde = rt_pde(VA_LARGE), old = *pde, f = PTE_P | PTE_RW | PTE_PS;
    *pde = FRAME_A | f;
    rt_flush_tlb();
    uint32_t sum = 0;
    for (int i = 0; i < 20; i++)
        sum += run(VA_LARGE + LARGE_CODE);
    uint64_t d = *(volatile uint64_t *)(VA_LARGE + LARGE_DATA);
    CHECK(sum == 20 * 0x1a && d == 0xda, "code: a 2 MiB page runs and reads its frame");
    *pde = FRAME_B | f;
    invlpg(VA_LARGE + LARGE_OTHER);
    CHECK_EQ(run(VA_LARGE + LARGE_CODE), 0x1b,
             "code: INVLPG elsewhere in a 2 MiB page moves its code translation");
    CHECK_EQ(*(volatile uint64_t *)(VA_LARGE + LARGE_DATA), 0xdb,
             "code: INVLPG elsewhere in a 2 MiB page moves its data translation");
    *pde = old;
    rt_flush_tlb();
}

/* User code that jumps to a supervisor-only page: fine at CPL 0 (run
 * often, so the jump is well known), a #PF at CPL 3. */
static void user_jumps_to_supervisor(void)
{
    rt_map_page(VA_USER, (uint64_t)code_u, PTE_RW | PTE_US);
    rt_map_page(VA_SUPER, (uint64_t)code_a, PTE_RW);
    put_ret(code_a, 5);
    /* mov rax, VA_SUPER; jmp rax */
    code_u[0] = 0x48;
    code_u[1] = 0xb8;
    uint64_t t = VA_SUPER;
    memcpy(code_u + 2, &t, 8);
    code_u[10] = 0xff;
    code_u[11] = 0xe0;
    barrier();
    int v = -1;
    for (int i = 0; i < 20 && v == -1; i++)
        v = rt_catch((void (*)(void *))VA_USER, 0);
    CHECK_EQ(v, -1, "code: CPL 0 jumps from a user page to a supervisor page");
    v = rt_run_user((void (*)(void *))VA_USER, 0, SEL_UCODE, 0);
    CHECK_EQ(v, 14, "code: CPL 3 taking the same jump: #PF");
    CHECK_EQ(rt_last.cr2, VA_SUPER, "code: its CR2 is the supervisor page");
    CHECK_EQ(rt_last.error & 0x7, 0x5, "code: its error code: present, user, read/fetch");
}

void test_main(void)
{
    store_into_hot_code();
    store_through_alias();
    cr3_switch();
    invlpg_4k();
    invlpg_large();
    user_jumps_to_supervisor();
    rt_reset_paging();
    rt_exit();
}
