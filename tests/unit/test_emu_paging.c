/*
 * PAE and 32-bit paging, which the flat64 guests (tests/guests/sys/
 * sys_paging.c covers 4-level paging) do not reach: the PDPTE registers
 * loaded by MOV to CR3/CR0/CR4 with #GP(0) for reserved bits (SDM Vol. 3A
 * 4.4.1), reserved bits of PAE PDEs and PTEs and of 32-bit 4 MiB PDEs
 * (4.3, 4.4.2) as #PF with RSVD, and the I/D error bit only with PAE (4.7).
 */
#include "emu_fixture.h"
#include "test.h"

#define RAM 0x40000ull
#define CODE 0x1000ull
#define PDPT 0x3020ull     /* 32-byte aligned, not page aligned: CR3 bits 11:5 */
#define PDPT_BAD 0x3060ull /* another PDPT, for MOV CR3 */
#define PD 0x4000ull
#define PT 0x5000ull
#define PD32 0x6000ull     /* 32-bit paging */
#define PT32 0x7000ull
#define STACK 0x10000ull

#define P 0x1ull
#define RW 0x2ull
#define US 0x4ull
#define PS 0x80ull
#define XD (1ull << 63)

static struct emu_fixture fx;
static struct emu_cpu cpu;
static uint8_t *ram;

static void put64(uint64_t a, uint64_t v) { memcpy(ram + a, &v, 8); }
static void put32(uint64_t a, uint32_t v) { memcpy(ram + a, &v, 4); }

/* 32-bit protected mode at CPL 0, PAE paging identity-mapping 0-2 MiB by
 * 4 KiB pages (PDPTE 0) and 2-4 MiB by one 2 MiB page, code at CODE. */
static void setup_pae(const uint8_t *insn, unsigned len)
{
    memset(ram, 0, RAM);
    if (len)
        memcpy(ram + CODE, insn, len);
    put64(PDPT, PD | P);
    put64(PD, PT | P | RW | US);
    put64(PD + 8, 0x200000 | P | RW | US | PS);
    for (uint64_t i = 0; i < RAM / 4096; i++)
        put64(PT + 8 * i, (i << 12) | P | RW | US);
    emu_fixture_paged32(&cpu, PDPT, CR4_PAE, CODE, STACK);
    CHECK(emu_pdptes_load(&cpu), "emu paging: the test's PDPTEs load");
}

/* 32-bit paging with CR4.PSE: PDE 0 -> PT32 (identity), PDE 1 a 4 MiB page. */
static void setup_32(void)
{
    setup_pae(NULL, 0);
    put32(PD32, (uint32_t)(PT32 | P | RW | US));
    put32(PD32 + 4, (uint32_t)(0x400000 | P | RW | US | PS));
    for (uint32_t i = 0; i < RAM / 4096; i++)
        put32(PT32 + 4 * i, (i << 12) | (uint32_t)(P | RW | US));
    cpu.cr3 = PD32;
    cpu.cr4 = CR4_PSE;
    emu_tlb_flush(&cpu);
}

static void expect_pf(const char *what, uint64_t lin, enum emu_access acc, uint32_t error)
{
    uint64_t gpa;
    emu_tlb_flush(&cpu);
    int st = emu_translate(&cpu, lin, acc, &gpa);
    char name[160];
    snprintf(name, sizeof(name), "emu paging: %s: #PF(%#x), CR2", what, error);
    bool ok = st == EMU_FAULT && cpu.exc.vector == EXC_PF && cpu.exc.error == error &&
              cpu.cr2 == lin;
    CHECK(ok, name);
    if (!ok)
        printf("    st %d vector %d error %#x cr2 %#llx\n", st, cpu.exc.vector, cpu.exc.error,
               (unsigned long long)cpu.cr2);
}

static void expect_ok(const char *what, uint64_t lin, enum emu_access acc, uint64_t want)
{
    uint64_t gpa = 0;
    emu_tlb_flush(&cpu);
    int st = emu_translate(&cpu, lin, acc, &gpa);
    char name[160];
    snprintf(name, sizeof(name), "emu paging: %s: translates", what);
    CHECK(st == EMU_OK && gpa == want, name);
}

/* Step one MOV to CRn: #GP(0) with the CR and RIP unchanged. */
static void expect_gp(const char *what, uint64_t cr0, uint64_t cr3, uint64_t cr4)
{
    int st;
    bool faulted = emu_fixture_step_fault(&cpu, EXC_GP, 0, &st);
    char name[160];
    snprintf(name, sizeof(name), "emu paging: %s: #GP(0), nothing changed", what);
    bool ok = faulted && cpu.cr0 == cr0 && cpu.cr3 == cr3 && cpu.cr4 == cr4 && cpu.rip == CODE;
    CHECK(ok, name);
    if (!ok)
        printf("    st %d vector %d cr0 %#llx cr3 %#llx cr4 %#llx\n", st, cpu.exc.vector,
               (unsigned long long)cpu.cr0, (unsigned long long)cpu.cr3,
               (unsigned long long)cpu.cr4);
}

static const uint8_t mov_cr3_eax[] = {0x0f, 0x22, 0xd8};
static const uint8_t mov_cr0_eax[] = {0x0f, 0x22, 0xc0};
static const uint8_t mov_cr4_eax[] = {0x0f, 0x22, 0xe0};

/* Reserved bits of a present PDPTE (table 4-8): 2:1, 8:5, 63:MAXPHYADDR. */
static void pdpte_loads(void)
{
    static const struct {
        const char *name;
        uint64_t bits;
    } bad[] = {{"bit 1", 1ull << 1}, {"bit 2", 1ull << 2}, {"bit 5", 1ull << 5},
               {"bit 7", 1ull << 7}, {"bit 8", 1ull << 8}, {"bit MAXPHYADDR", 1ull << 39},
               {"bit 62", 1ull << 62}, {"bit 63 (XD)", XD}};
    char what[96];
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setup_pae(mov_cr3_eax, sizeof(mov_cr3_eax));
        put64(PDPT_BAD, PD | P);
        put64(PDPT_BAD + 16, PD | P | bad[i].bits);
        cpu.gpr[0] = PDPT_BAD;
        snprintf(what, sizeof(what), "MOV CR3 with PDPTE 2 %s", bad[i].name);
        expect_gp(what, cpu.cr0, PDPT, cpu.cr4);
        expect_ok("the old PDPTEs still translate", CODE, ACC_READ, CODE);
    }

    /* Not present: its other bits are free. */
    setup_pae(mov_cr3_eax, sizeof(mov_cr3_eax));
    put64(PDPT_BAD, PD | P);
    put64(PDPT_BAD + 16, 0xfffffffffffffffeull);
    cpu.gpr[0] = PDPT_BAD;
    struct accel_exit exit;
    int st = emu_step_one(&cpu, &exit);
    CHECK(st == EMU_OK && cpu.cr3 == PDPT_BAD,
          "emu paging: MOV CR3 with a not-present PDPTE full of bits loads (CR3 keeps 11:5)");
    expect_pf("PDPTE not present", 0x80000000ull, ACC_WRITE, 0x2);

    /* Enabling paging and changing PGE reload them too (4.4.1). */
    setup_pae(mov_cr0_eax, sizeof(mov_cr0_eax));
    cpu.cr0 &= ~0x80000000ull;
    emu_update_mode(&cpu);
    put64(PDPT + 8, PD | P | RW);
    cpu.gpr[0] = cpu.cr0 | 0x80000000ull;
    expect_gp("MOV CR0 enabling PAE paging with PDPTE 1 bit 1", cpu.cr0, PDPT, CR4_PAE);

    setup_pae(mov_cr4_eax, sizeof(mov_cr4_eax));
    put64(PDPT + 24, PD | P | (1ull << 40));
    cpu.gpr[0] = CR4_PAE | CR4_PGE;
    expect_gp("MOV CR4 setting PGE with PDPTE 3 bit 40", cpu.cr0, PDPT, CR4_PAE);

    /* The registers, not memory, are used until the next load. */
    setup_pae(NULL, 0);
    put64(PDPT, 0);
    expect_ok("PDPTE cleared in memory after the load", CODE, ACC_READ, CODE);
}

/* PAE PDEs and PTEs (tables 4-9 to 4-11): 62:MAXPHYADDR, XD without NXE,
 * 20:13 of a 2 MiB PDE. */
static void pae_walk(void)
{
    const uint64_t big = 0x200000 + 0x1000;
    setup_pae(NULL, 0);
    put64(PT + 8 * 1, 0x1000 | P | RW | (1ull << 39));
    expect_pf("PAE PTE bit MAXPHYADDR", CODE, ACC_READ, 0x9);
    put64(PT + 8 * 1, 0x1000 | P | RW | (1ull << 52));
    expect_pf("PAE PTE bit 52 (reserved, unlike 4-level paging)", CODE, ACC_WRITE, 0xb);
    put64(PT + 8 * 1, 0x1000 | P | RW | XD);
    expect_pf("PAE PTE XD without NXE", CODE, ACC_EXEC, 0x9);
    put64(PT + 8 * 1, 0x1000 | P | RW | (1ull << 7));
    expect_ok("PAE PTE bit 7 (PAT)", CODE, ACC_READ, CODE);
    put64(PD, PT | P | RW | US | (1ull << 62));
    expect_pf("PAE PDE bit 62", CODE, ACC_READ, 0x9);
    put64(PD, PT | P | RW | US);
    put64(PD + 8, 0x200000 | P | RW | US | PS | (1ull << 13));
    expect_pf("PAE 2 MiB PDE bit 13", big, ACC_READ, 0x9);
    put64(PD + 8, 0x200000 | P | RW | US | PS | (1ull << 20));
    expect_pf("PAE 2 MiB PDE bit 20", big, ACC_READ, 0x9);
    put64(PD + 8, 0x200000 | P | RW | US | PS | (1ull << 12));
    expect_ok("PAE 2 MiB PDE bit 12 (PAT)", big, ACC_READ, big);
    put64(PD + 8, 0x200000 | P | RW | US | PS | XD);
    cpu.efer = EFER_NXE;
    expect_pf("PAE 2 MiB PDE XD with NXE: fetch", big, ACC_EXEC, 0x11);
    expect_ok("PAE 2 MiB PDE XD with NXE: read", big, ACC_READ, big);
    cpu.cpl = 3;
    expect_pf("PAE not present, NXE: fetch at CPL 3", 0x400000, ACC_EXEC, 0x14);
}

/* 32-bit paging: a 4 MiB PDE reserves 21:13 (no PSE-36 in CPUID); no other
 * bits are reserved; I/D stays 0 even with NXE (4.7 needs CR4.PAE). */
static void paging32(void)
{
    const uint64_t big = 0x400000 + 0x2000;
    setup_32();
    expect_ok("32-bit 4 KiB page", CODE, ACC_READ, CODE);
    expect_ok("32-bit 4 MiB page", big, ACC_READ, big);
    put32(PD32 + 4, (uint32_t)(0x400000 | P | RW | US | PS | (1u << 13)));
    expect_pf("32-bit 4 MiB PDE bit 13", big, ACC_READ, 0x9);
    put32(PD32 + 4, (uint32_t)(0x400000 | P | RW | US | PS | (1u << 21)));
    expect_pf("32-bit 4 MiB PDE bit 21", big, ACC_WRITE, 0xb);
    put32(PD32 + 4, (uint32_t)(0x400000 | P | RW | US | PS | (1u << 12)));
    expect_ok("32-bit 4 MiB PDE bit 12 (PAT)", big, ACC_READ, big);
    cpu.cr4 = 0; /* without PSE, PS is ignored: the entry points to a table */
    put32(PD32 + 4, (uint32_t)(PT32 | P | RW | US | PS | (1u << 13)));
    expect_ok("32-bit PDE with PS and CR4.PSE=0", big, ACC_READ, 0x2000);
    cpu.efer = EFER_NXE;
    put32(PT32 + 4, 0);
    expect_pf("32-bit not present, NXE: fetch has no I/D", CODE, ACC_EXEC, 0x0);
}

int main(void)
{
    if (emu_fixture_init(&fx, &cpu, RAM, "emu paging"))
        return 1;
    ram = fx.ram;
    pdpte_loads();
    pae_walk();
    paging32();
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
