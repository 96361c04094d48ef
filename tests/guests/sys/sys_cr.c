/*
 * Control registers, EFER and XCR0 refuse what the CPU does not offer, and
 * the system instructions around them (SDM Vol. 2 "MOV—Move to/from Control
 * Registers", "LMSW", "SMSW", "SGDT", "LGDT/LIDT", "LLDT", "LTR", "WRMSR",
 * "XSETBV"; Vol. 3A 2.5, 2.8, 3.5.2, 7.2.3). Every refused write is #GP(0)
 * (#GP(selector) for LLDT/LTR) and leaves the register as it was. CR4 bits
 * are judged against this CPU's own CPUID, so the guest stays right when
 * a feature is added.
 */
#include "rt.h"

#define CR0_PE 0x1ull
#define CR0_MP 0x2ull
#define CR0_EM 0x4ull
#define CR0_TS 0x8ull
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER 0xc0000080u
#define EFER_LME (1ull << 8)
#define NONCANON 0x0000800000000000ull /* bit 47 set, 63:48 clear */
#define HIGHCANON 0xffff800000001000ull

struct __attribute__((packed)) dtr {
    uint16_t limit;
    uint64_t base;
};

/* A refused write, then the old value: a (wrongly) accepted first write is
 * undone by the second, so a broken engine prints FAIL lines, not chaos. */
struct wr {
    uint64_t bad, good;
};

static uint32_t msr_cur;
static struct dtr saved_gdtr, saved_idtr;

static uint64_t rd_cr0(void) { return rt_read_cr0(); }
static uint64_t rd_cr3(void) { return rt_read_cr3(); }
static uint64_t rd_cr4(void) { return rt_read_cr4(); }
static uint64_t rd_cr8(void) { uint64_t v; __asm__ volatile("mov %%cr8, %0" : "=r"(v)); return v; }
static uint64_t rd_msr(void) { return rt_rdmsr(msr_cur); }
static uint64_t rd_gdtr(void) { struct dtr d; __asm__ volatile("sgdt %0" : "=m"(d)); return d.base; }
static uint64_t rd_idtr(void) { struct dtr d; __asm__ volatile("sidt %0" : "=m"(d)); return d.base; }

static void wr_cr0(void *a) { struct wr *w = a; rt_write_cr0(w->bad); rt_write_cr0(w->good); }
static void wr_cr3(void *a) { struct wr *w = a; rt_write_cr3(w->bad); rt_write_cr3(w->good); }
static void wr_cr4(void *a) { struct wr *w = a; rt_write_cr4(w->bad); rt_write_cr4(w->good); }
static void wr_msr(void *a) { struct wr *w = a; rt_wrmsr(msr_cur, w->bad); rt_wrmsr(msr_cur, w->good); }
static void wr_msr_once(void *a) { rt_wrmsr(msr_cur, *(uint64_t *)a); }
static void wr_cr8(void *a)
{
    struct wr *w = a;
    __asm__ volatile("mov %0, %%cr8; mov %1, %%cr8" ::"r"(w->bad), "r"(w->good));
}
static void wr_gdtr(void *a)
{
    struct dtr bad = {0xff, ((struct wr *)a)->bad};
    __asm__ volatile("lgdt %0; lgdt %1" ::"m"(bad), "m"(saved_gdtr));
}
static void wr_idtr(void *a)
{
    struct dtr bad = {0xfff, ((struct wr *)a)->bad};
    __asm__ volatile("lidt %0; lidt %1" ::"m"(bad), "m"(saved_idtr));
}

/* fn writing bad must raise #GP(err) and leave rd() unchanged. */
static void expect_gp(void (*fn)(void *), uint64_t (*rd)(void), uint64_t bad, uint32_t err,
                      const char *what)
{
    uint64_t before = rd();
    struct wr w = {bad, before};
    CHECK_EQ(rt_catch(fn, &w), 13, "cr: %s: #GP", what);
    CHECK_EQ(rt_last.error, err, "cr: %s: error code", what);
    CHECK_EQ(rd(), before, "cr: %s: value unchanged", what);
}

/* fn writing v must succeed (the old value is written back after). */
static void expect_ok(void (*fn)(void *), uint64_t (*rd)(void), uint64_t v, const char *what)
{
    uint64_t before = rd();
    struct wr w = {v, before};
    CHECK_EQ(rt_catch(fn, &w), -1, "cr: %s: accepted", what);
    CHECK_EQ(rd(), before, "cr: %s: restored", what);
}

static void check_cr0(void)
{
    uint64_t cr0 = rt_read_cr0();
    expect_gp(wr_cr0, rd_cr0, cr0 | 1ull << 32, 0, "CR0 bit 32");
    expect_gp(wr_cr0, rd_cr0, cr0 | 1ull << 63, 0, "CR0 bit 63");
    expect_gp(wr_cr0, rd_cr0, (cr0 & ~CR0_CD) | CR0_NW, 0, "CR0.NW without CD");
    expect_gp(wr_cr0, rd_cr0, cr0 & ~CR0_PE, 0, "CR0.PG without PE");
    expect_gp(wr_cr0, rd_cr0, cr0 & ~CR0_PG, 0, "CR0.PG cleared in 64-bit mode");
    expect_ok(wr_cr0, rd_cr0, cr0 | CR0_CD | CR0_NW, "CR0.CD with NW");
    /* ET is hardwired to 1 on P6 and later (SDM Vol. 3A 2.5). */
    struct wr w = {cr0 & ~0x10ull, cr0 & ~0x10ull};
    rt_catch(wr_cr0, &w);
    CHECK_EQ(rt_read_cr0() & 0x10, 0x10, "cr: CR0.ET reads 1 after a write of 0");
    rt_write_cr0(cr0);
}

/* CR4 bit -> CPUID feature: leaf (1 or 7), register (1 EBX, 2 ECX, 3 EDX)
 * and bit. leaf 0: always there (PCE); leaf 0xff: reserved. */
struct cr4_bit {
    uint8_t bit, leaf, reg, fbit;
    const char *name;
    bool safe; /* can be set and cleared again under this test's feet */
};

static const struct cr4_bit cr4_bits[] = {
    {0, 1, 3, 1, "VME", false},      {1, 1, 3, 1, "PVI", false},
    {2, 1, 3, 4, "TSD", true},       {3, 1, 3, 2, "DE", true},
    {4, 1, 3, 3, "PSE", true},       {6, 1, 3, 7, "MCE", true},
    {7, 1, 3, 13, "PGE", true},      {8, 0, 0, 0, "PCE", true},
    {9, 1, 3, 24, "OSFXSR", true},   {10, 1, 3, 25, "OSXMMEXCPT", true},
    {11, 7, 2, 2, "UMIP", false},    {12, 7, 2, 16, "LA57", false},
    {13, 1, 2, 5, "VMXE", false},    {14, 1, 2, 6, "SMXE", false},
    {15, 0xff, 0, 0, "bit 15", false}, {16, 7, 1, 0, "FSGSBASE", false},
    {17, 1, 2, 17, "PCIDE", false},  {18, 1, 2, 26, "OSXSAVE", false},
    {19, 7, 2, 23, "KL", false},     {20, 7, 1, 7, "SMEP", false},
    {21, 7, 1, 20, "SMAP", false},   {22, 7, 2, 3, "PKE", false},
    {23, 7, 2, 7, "CET", false},     {24, 7, 2, 31, "PKS", false},
    {25, 0xff, 0, 0, "bit 25", false}, {31, 0xff, 0, 0, "bit 31", false},
    {32, 0xff, 0, 0, "bit 32", false}, {63, 0xff, 0, 0, "bit 63", false},
};

static bool cpuid_bit(unsigned leaf, unsigned reg, unsigned bit)
{
    uint32_t r[4];
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
    return (r[reg] >> bit) & 1;
}

/* CPUID vendor "AuthenticAMD" (EBX "Auth"). */
static bool amd_cpu(void)
{
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
    return b == 0x68747541;
}

/* buf = a b (at most 47 characters). */
static const char *label(char *buf, const char *a, const char *b)
{
    size_t n = 0;
    while (*a && n < 47)
        buf[n++] = *a++;
    while (*b && n < 47)
        buf[n++] = *b++;
    buf[n] = 0;
    return buf;
}

static void check_cr4(void)
{
    uint64_t cr4 = rt_read_cr4();
    char what[48];
    for (size_t i = 0; i < sizeof(cr4_bits) / sizeof(cr4_bits[0]); i++) {
        const struct cr4_bit *b = &cr4_bits[i];
        uint64_t m = 1ull << b->bit;
        bool has = b->leaf == 0 || (b->leaf != 0xff && cpuid_bit(b->leaf, b->reg, b->fbit));
        label(what, "CR4.", b->name);
        if (cr4 & m)
            continue;
        if (!has)
            expect_gp(wr_cr4, rd_cr4, cr4 | m, 0, what);
        else if (b->safe)
            expect_ok(wr_cr4, rd_cr4, cr4 | m, what);
        else
            rt_note("CR4.%s: offered by CPUID, not tried", b->name);
    }
    expect_gp(wr_cr4, rd_cr4, cr4 & ~CR4_PAE, 0, "CR4.PAE cleared in IA-32e mode");
}

static void check_cr8(void)
{
    expect_gp(wr_cr8, rd_cr8, 16, 0, "CR8 = 16");
    expect_gp(wr_cr8, rd_cr8, 1ull << 63, 0, "CR8 bit 63");
    expect_ok(wr_cr8, rd_cr8, 15, "CR8 = 15");
}

static void check_efer(void)
{
    msr_cur = EFER;
    uint64_t efer = rt_rdmsr(EFER);
    expect_gp(wr_msr, rd_msr, efer | 1ull << 1, 0, "EFER bit 1");
    expect_gp(wr_msr, rd_msr, efer | 1ull << 9, 0, "EFER bit 9");
    expect_gp(wr_msr, rd_msr, efer | 1ull << 12, 0, "EFER bit 12 (SVME, AMD only)");
    expect_gp(wr_msr, rd_msr, efer | 1ull << 63, 0, "EFER bit 63");
    expect_gp(wr_msr, rd_msr, efer & ~EFER_LME, 0, "EFER.LME cleared while paging");
    if (cpuid_bit(0x80000001, 3, 20))
        expect_ok(wr_msr, rd_msr, efer ^ (1ull << 11), "EFER.NXE toggled");
    expect_ok(wr_msr, rd_msr, efer ^ 1ull, "EFER.SCE toggled");
}

/* Reserved bits and values of other MSRs (SDM Vol. 3A 11.12.2; Vol. 4
 * table 2-2). */
static void check_msr_reserved(void)
{
    msr_cur = 0x277; /* IA32_PAT */
    uint64_t pat = rt_rdmsr(msr_cur);
    expect_gp(wr_msr, rd_msr, (pat & ~0xffull) | 2, 0, "PAT entry 0 = 2 (reserved type)");
    expect_gp(wr_msr, rd_msr, (pat & ~0xffull) | 3, 0, "PAT entry 0 = 3 (reserved type)");
    expect_gp(wr_msr, rd_msr, (pat & ~(0xffull << 56)) | 8ull << 56, 0, "PAT entry 7 = 8");
    expect_ok(wr_msr, rd_msr, 0x0007010600070106ull, "PAT of valid types");
    msr_cur = 0xc0000084; /* IA32_FMASK */
    expect_gp(wr_msr, rd_msr, 1ull << 32, 0, "FMASK bit 32");
    expect_ok(wr_msr, rd_msr, 0xffffffffull, "FMASK bits 31:0");
    msr_cur = 0xc0000103; /* IA32_TSC_AUX */
    if (amd_cpu()) {
        /* AMD CPUs ignore bits 63:32 and read them as 0, where Intel
         * raises #GP; KVM follows the vendor its guest sees (Linux
         * arch/x86/kvm/x86.c, kvm_set_msr_common, MSR_TSC_AUX). */
        uint64_t old = rt_rdmsr(msr_cur), v = 1ull << 32 | 5;
        CHECK_EQ(rt_catch(wr_msr_once, &v), -1, "cr: TSC_AUX bit 32 on AMD: no #GP");
        CHECK_EQ(rt_rdmsr(msr_cur), 5, "cr: TSC_AUX bit 32 on AMD: ignored, bits 31:0 kept");
        rt_wrmsr(msr_cur, old);
    } else {
        expect_gp(wr_msr, rd_msr, 1ull << 32, 0, "TSC_AUX bit 32");
    }
    expect_ok(wr_msr, rd_msr, 0xffffffffull, "TSC_AUX bits 31:0");
}

static void do_xsetbv(void *a) { (void)a; __asm__ volatile("xsetbv" ::"a"(1), "d"(0), "c"(0)); }
static void do_xgetbv(void *a) { (void)a; uint32_t lo, hi; __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0)); }

static void check_xcr0(void)
{
    if (cpuid_bit(1, 2, 26)) {
        rt_note("XSAVE offered: XSETBV/XGETBV #UD checks not applicable");
        return;
    }
    CHECK_EQ(rt_catch(do_xsetbv, 0), 6, "cr: XSETBV without XSAVE: #UD");
    CHECK_EQ(rt_catch(do_xgetbv, 0), 6, "cr: XGETBV without XSAVE: #UD");
}

/* ---- SMSW, LMSW, SGDT/SIDT ---- */

static uint64_t smsw_out[4];

static void do_smsw(void *a)
{
    (void)a;
    uint64_t r32 = ~0ull, r16 = ~0ull, r64 = 0;
    static volatile uint64_t m;
    m = ~0ull;
    __asm__ volatile("smsw %k0" : "+r"(r32));
    __asm__ volatile("smsw %w0" : "+r"(r16));
    __asm__ volatile("smsw %q0" : "+r"(r64));
    __asm__ volatile("smsw (%0)" ::"r"(&m) : "memory");
    smsw_out[0] = r32, smsw_out[1] = r16, smsw_out[2] = r64, smsw_out[3] = m;
}

static void user_smsw(void *a) { uint64_t v = 0; __asm__ volatile("smsw %q0" : "+r"(v)); *(uint64_t *)a = v; }

__asm__(".code32\n"
        "user32_smsw:\n"
        "  mov 4(%esp), %ecx\n"
        "  mov $-1, %eax\n"
        "  smsw %eax\n"
        "  mov %eax, (%ecx)\n"
        "  ret\n"
        ".code64\n");
extern char user32_smsw[];

static void do_lmsw(void *a) { __asm__ volatile("lmsw %w0" ::"r"((uint16_t)(uint64_t)a)); }
static void do_lmsw_mem(void *a) { __asm__ volatile("lmsw %0" ::"m"(*(uint16_t *)a)); }
static void user_lmsw(void *a) { (void)a; __asm__ volatile("lmsw %w0" ::"r"((uint16_t)0x33)); }

static void check_smsw_lmsw(void)
{
    uint64_t cr0 = rt_read_cr0();
    CHECK_EQ(rt_catch(do_smsw, 0), -1, "cr: SMSW at CPL 0 runs");
    CHECK_EQ(smsw_out[0], (uint32_t)cr0, "cr: SMSW r32 stores CR0, upper half zeroed");
    CHECK_EQ(smsw_out[1], ~0xffffull | (cr0 & 0xffff), "cr: SMSW r16 stores CR0[15:0] only");
    CHECK_EQ(smsw_out[2], cr0, "cr: SMSW r64 stores CR0");
    CHECK_EQ(smsw_out[3], ~0xffffull | (cr0 & 0xffff), "cr: SMSW m16 stores 16 bits");
    uint64_t v = 0;
    CHECK_EQ(rt_run_user(user_smsw, &v, SEL_UCODE, 0), -1, "cr: SMSW at CPL 3 runs (no UMIP)");
    CHECK_EQ(v, cr0, "cr: SMSW at CPL 3 stores CR0");
    static uint32_t v32;
    CHECK_EQ(rt_run_user((void (*)(void *))user32_smsw, &v32, SEL_UCODE32, 0), -1,
             "cr: SMSW in compatibility mode at CPL 3 runs");
    CHECK_EQ(v32, (uint32_t)cr0, "cr: SMSW r32 in compatibility mode stores CR0");

    /* LMSW: MP EM TS from the source, PE only set, bits 15:4 ignored. */
    uint64_t src = 0xfff0 | CR0_MP | CR0_EM | CR0_TS; /* PE clear: stays set */
    CHECK_EQ(rt_catch(do_lmsw, (void *)src), -1, "cr: LMSW at CPL 0 runs");
    uint64_t got = rt_read_cr0();
    rt_write_cr0(cr0);
    CHECK_EQ(got, (cr0 & ~0xfull) | CR0_PE | CR0_MP | CR0_EM | CR0_TS,
             "cr: LMSW loads MP EM TS, cannot clear PE, ignores bits 15:4");
    static uint16_t msw;
    msw = (uint16_t)((cr0 & ~0xeull) | CR0_TS);
    CHECK_EQ(rt_catch(do_lmsw_mem, &msw), -1, "cr: LMSW m16 runs");
    got = rt_read_cr0();
    rt_write_cr0(cr0);
    CHECK_EQ(got, (cr0 & ~0xeull) | CR0_TS, "cr: LMSW m16 loads the low bits");
    CHECK_EQ(rt_run_user(user_lmsw, 0, SEL_UCODE, 0), 13, "cr: LMSW at CPL 3: #GP");
    CHECK_EQ(rt_last.error, 0, "cr: LMSW at CPL 3: error code 0");
    CHECK_EQ(rt_read_cr0(), cr0, "cr: LMSW at CPL 3: CR0 unchanged");
}

static void user_sgdt(void *a)
{
    struct dtr *d = a;
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(d[0]), "=m"(d[1]));
}

static void check_sgdt_user(void)
{
    static struct dtr d[2];
    memset(d, 0, sizeof(d));
    CHECK_EQ(rt_run_user(user_sgdt, d, SEL_UCODE, 0), -1, "cr: SGDT/SIDT at CPL 3 run (no UMIP)");
    CHECK_EQ(d[0].base, saved_gdtr.base, "cr: SGDT at CPL 3 stores the 64-bit base");
    CHECK_EQ(d[0].limit, saved_gdtr.limit, "cr: SGDT at CPL 3 stores the limit");
    CHECK_EQ(d[1].base, saved_idtr.base, "cr: SIDT at CPL 3 stores the 64-bit base");
}

/* ---- canonical checks ---- */

static void check_dtr_canonical(void)
{
    expect_gp(wr_gdtr, rd_gdtr, NONCANON, 0, "LGDT of a non-canonical base");
    expect_gp(wr_idtr, rd_idtr, NONCANON, 0, "LIDT of a non-canonical base");
    expect_ok(wr_gdtr, rd_gdtr, HIGHCANON, "LGDT of a canonical high base");
}

#define SEL_XLDT 0x48 /* GDT 9-10 */
#define SEL_XTSS 0x58 /* GDT 11-12 */

static void system_desc(unsigned idx, uint64_t base, uint32_t limit, unsigned type, uint64_t hi)
{
    rt_gdt[idx] = (limit & 0xffff) | (base & 0xffffff) << 16 | (uint64_t)(0x80 | type) << 40 |
                  (base >> 24 & 0xff) << 56;
    rt_gdt[idx + 1] = (base >> 32) | hi;
}

static void do_lldt(void *a) { __asm__ volatile("lldt %w0" ::"r"((uint16_t)(uint64_t)a)); }
static void do_ltr(void *a) { __asm__ volatile("ltr %w0" ::"r"((uint16_t)(uint64_t)a)); }
static uint16_t sldt(void) { uint16_t s; __asm__ volatile("sldt %0" : "=r"(s)); return s; }
static uint16_t str(void) { uint16_t s; __asm__ volatile("str %0" : "=r"(s)); return s; }

static void check_system_desc(void)
{
    static uint64_t ldt[2] __attribute__((aligned(16)));
    uint64_t good = (uint64_t)ldt;
    system_desc(SEL_XLDT / 8, NONCANON | good, 15, 0x2, 0);
    CHECK_EQ(rt_catch(do_lldt, (void *)SEL_XLDT), 13, "cr: LLDT of a non-canonical base: #GP");
    CHECK_EQ(rt_last.error, SEL_XLDT, "cr: LLDT non-canonical: error code is the selector");
    CHECK_EQ(sldt(), 0, "cr: LLDT non-canonical: LDTR unchanged");
    system_desc(SEL_XLDT / 8, good, 15, 0x2, 1ull << 40);
    CHECK_EQ(rt_catch(do_lldt, (void *)SEL_XLDT), 13, "cr: LLDT, upper-half type not 0: #GP");
    CHECK_EQ(rt_last.error, SEL_XLDT, "cr: LLDT upper type: error code is the selector");
    CHECK_EQ(sldt(), 0, "cr: LLDT upper type: LDTR unchanged");
    system_desc(SEL_XLDT / 8, good, 15, 0x2, 0);
    CHECK_EQ(rt_catch(do_lldt, (void *)SEL_XLDT), -1, "cr: LLDT of a good 16-byte descriptor");
    CHECK_EQ(sldt(), SEL_XLDT, "cr: LLDT loaded LDTR");
    __asm__ volatile("lldt %w0" ::"r"(0));

    uint64_t tss = (uint64_t)rt_tss_base();
    system_desc(SEL_XTSS / 8, NONCANON | tss, 103, 0x9, 0);
    CHECK_EQ(rt_catch(do_ltr, (void *)SEL_XTSS), 13, "cr: LTR of a non-canonical base: #GP");
    CHECK_EQ(rt_last.error, SEL_XTSS, "cr: LTR non-canonical: error code is the selector");
    CHECK_EQ(str(), SEL_TSS, "cr: LTR non-canonical: TR unchanged");
    CHECK_EQ(rt_gdt[SEL_XTSS / 8] >> 40 & 0xf, 0x9, "cr: LTR non-canonical: not marked busy");
    rt_load_tr();
    system_desc(SEL_XTSS / 8, tss, 103, 0x9, 0x1full << 40);
    CHECK_EQ(rt_catch(do_ltr, (void *)SEL_XTSS), 13, "cr: LTR, upper-half type not 0: #GP");
    CHECK_EQ(rt_last.error, SEL_XTSS, "cr: LTR upper type: error code is the selector");
    CHECK_EQ(str(), SEL_TSS, "cr: LTR upper type: TR unchanged");
    rt_load_tr();

    /* Neighbours: the TSS in use is busy, and a 16-byte descriptor must
     * lie inside the GDT as a whole (SDM "LTR", "LLDT"). */
    CHECK_EQ(rt_catch(do_ltr, (void *)SEL_TSS), 13, "cr: LTR of the busy TSS: #GP");
    CHECK_EQ(rt_last.error, SEL_TSS, "cr: LTR busy: error code is the selector");
    system_desc(GDT_ENTRIES - 2, good, 15, 0x2, 0);
    rt_gdt[GDT_ENTRIES - 1] = rt_gdt[GDT_ENTRIES - 2]; /* the last 8 bytes of the table */
    uint16_t last = (GDT_ENTRIES - 1) * 8;
    CHECK_EQ(rt_catch(do_lldt, (void *)(uint64_t)last), 13,
             "cr: LLDT of a 16-byte descriptor crossing the GDT limit: #GP");
    CHECK_EQ(rt_last.error, last, "cr: LLDT crossing the limit: error code is the selector");
    CHECK_EQ(sldt(), 0, "cr: LLDT crossing the limit: LDTR unchanged");
    rt_gdt[GDT_ENTRIES - 2] = rt_gdt[GDT_ENTRIES - 1] = 0;
}

static const struct {
    uint32_t msr;
    const char *name;
} addr_msrs[] = {
    {0xc0000100, "FS_BASE"}, {0xc0000101, "GS_BASE"}, {0xc0000102, "KERNEL_GS_BASE"},
    {0xc0000082, "LSTAR"},   {0xc0000083, "CSTAR"},   {0x175, "SYSENTER_ESP"},
    {0x176, "SYSENTER_EIP"},
};

static void check_msr_canonical(void)
{
    char what[48], what63[48];
    for (size_t i = 0; i < sizeof(addr_msrs) / sizeof(addr_msrs[0]); i++) {
        msr_cur = addr_msrs[i].msr;
        label(what, "WRMSR ", addr_msrs[i].name);
        expect_gp(wr_msr, rd_msr, NONCANON, 0, label(what63, what, " bit 47 only"));
        expect_gp(wr_msr, rd_msr, 1ull << 63, 0, label(what63, what, " bit 63 only"));
        expect_ok(wr_msr, rd_msr, HIGHCANON, label(what63, what, " canonical high"));
    }
}

/* ---- a 64-bit gate's code segment and RIP (SDM "INT n", 6.14.1) ---- */

static void do_int90(void *a) { (void)a; __asm__ volatile("int $0x90"); }

static void check_gate(void)
{
    uint64_t *idt = (uint64_t *)saved_idtr.base;
    uint64_t lo = idt[2 * 0x90], hi = idt[2 * 0x90 + 1];
    /* Selector of a DPL-3 code segment: the handler would run less
     * privileged than CPL 0. */
    idt[2 * 0x90] = (lo & ~0xffff0000ull) | (uint64_t)SEL_UCODE << 16;
    CHECK_EQ(rt_catch(do_int90, 0), 13, "cr: INT to a gate with a DPL-3 code segment: #GP");
    CHECK_EQ(rt_last.error, SEL_UCODE & ~3u, "cr: ... error code is the code selector");
    idt[2 * 0x90] = lo;
    idt[2 * 0x90 + 1] = 0x00008000; /* offset bits 63:32: non-canonical */
    CHECK_EQ(rt_catch(do_int90, 0), 13, "cr: INT to a gate with a non-canonical offset: #GP");
    CHECK_EQ(rt_last.error, 0, "cr: ... error code 0");
    idt[2 * 0x90 + 1] = hi;
}

/* CR3 last: an engine that takes a bad CR3 cannot fetch the next
 * instruction, and the guest ends here. */
static void check_cr3(void)
{
    uint64_t cr3 = rt_read_cr3();
    /* Said first: under QEMU's emulated SVM (the kvm test bed) the first
     * write ends the guest (tests/cli/sys_guests_qemu_tcg.tsv). */
    rt_note("cr: CR3 reserved-bit writes next");
    expect_gp(wr_cr3, rd_cr3, cr3 | 1ull << 63, 0, "CR3 bit 63 (no PCIDE)");
    expect_gp(wr_cr3, rd_cr3, cr3 | 1ull << 51, 0, "CR3 bit 51");
    expect_gp(wr_cr3, rd_cr3, cr3 | 1ull << 39, 0, "CR3 bit 39 (MAXPHYADDR 39)");
    struct wr w = {cr3 | 0x18, cr3 | 0x18};
    CHECK_EQ(rt_catch(wr_cr3, &w), -1, "cr: CR3 with PWT and PCD accepted");
    CHECK_EQ(rt_read_cr3(), cr3 | 0x18, "cr: CR3 keeps PWT and PCD");
    rt_write_cr3(cr3);
}

void test_main(void)
{
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(saved_gdtr), "=m"(saved_idtr));
    check_cr0();
    check_cr4();
    check_cr8();
    check_efer();
    check_msr_reserved();
    check_xcr0();
    check_smsw_lmsw();
    check_sgdt_user();
    check_dtr_canonical();
    check_system_desc();
    check_msr_canonical();
    check_gate();
    check_cr3();
}
