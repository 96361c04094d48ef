/*
 * Model-specific registers a kernel relies on that no other guest checks
 * (SDM Vol. 4 ch. 2; Vol. 3A): the PAT's power-up value (11.12.4), the
 * APIC base at reset (10.4.4), the TSC and IA32_TSC_ADJUST moving
 * together (17.17.3), IA32_TSC_AUX as RDTSCP's ECX, and CR4.TSD making
 * RDTSC and RDTSCP privileged (2.5).
 */
#include "rt.h"

#define MSR_TSC 0x10u
#define MSR_APIC_BASE 0x1bu
#define MSR_TSC_ADJUST 0x3bu
#define MSR_PAT 0x277u
#define MSR_TSC_AUX 0xc0000103u
#define CR4_TSD 0x4ull
#define JUMP (1ull << 40) /* far beyond the time the checks take */
#define SLACK (1ull << 30) /* about a second of a 1 GHz TSC */

static uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static uint64_t rdtscp(uint32_t *aux)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(*aux));
    return (uint64_t)hi << 32 | lo;
}

static void user_rdtsc(void *a) { (void)a; rdtsc(); }
static void user_rdtscp(void *a) { uint32_t aux; (void)a; rdtscp(&aux); }

static void pat(void)
{
    uint64_t old = rt_rdmsr(MSR_PAT);
    CHECK_EQ(old, 0x0007040600070406ull, "msr: IA32_PAT holds its power-up value");
    uint64_t v = 0x0001050400070406ull; /* WB WT UC- UC, then UC WC WP WT: all valid types */
    rt_wrmsr(MSR_PAT, v);
    CHECK_EQ(rt_rdmsr(MSR_PAT), v, "msr: IA32_PAT reads back what was written");
    rt_wrmsr(MSR_PAT, old);
}

static void apic_base(void)
{
    CHECK_EQ(rt_rdmsr(MSR_APIC_BASE), 0xfee00900ull,
             "msr: IA32_APIC_BASE: FEE00000H, enabled, BSP, xAPIC mode");
}

/* 17.17.3: a WRMSR that moves the TSC by X moves IA32_TSC_ADJUST by X,
 * and writing IA32_TSC_ADJUST moves the TSC by the difference. */
static void tsc_adjust(void)
{
    uint64_t a0 = rt_rdmsr(MSR_TSC_ADJUST);
    uint64_t t0 = rdtsc();
    rt_wrmsr(MSR_TSC, t0 + JUMP);
    uint64_t moved = rt_rdmsr(MSR_TSC_ADJUST) - a0;
    CHECK(moved <= JUMP && moved > JUMP - SLACK, "msr: a TSC write moves IA32_TSC_ADJUST by as much");
    if (moved > JUMP || moved <= JUMP - SLACK)
        rt_note("IA32_TSC_ADJUST moved by %llx", (unsigned long long)moved);
    CHECK(rdtsc() - t0 >= JUMP, "msr: the TSC counts on from the value written");

    uint64_t a1 = rt_rdmsr(MSR_TSC_ADJUST);
    uint64_t t1 = rdtsc();
    rt_wrmsr(MSR_TSC_ADJUST, a1 - JUMP);
    uint64_t back = t1 - rdtsc();
    CHECK(back <= JUMP && back > JUMP - SLACK,
          "msr: an IA32_TSC_ADJUST write moves the TSC by the difference");
    if (back > JUMP || back <= JUMP - SLACK)
        rt_note("the TSC moved back by %llx", (unsigned long long)back);
    CHECK_EQ(rt_rdmsr(MSR_TSC_ADJUST), a1 - JUMP, "msr: IA32_TSC_ADJUST reads back");
    rt_wrmsr(MSR_TSC_ADJUST, a0);
}

static void tsc_aux(void)
{
    uint64_t old = rt_rdmsr(MSR_TSC_AUX);
    rt_wrmsr(MSR_TSC_AUX, 0x5a5a1234);
    uint32_t aux = 0;
    uint64_t t0 = rdtsc(), t = rdtscp(&aux);
    CHECK_EQ(aux, 0x5a5a1234, "msr: RDTSCP returns IA32_TSC_AUX in ECX");
    CHECK(t >= t0 && t - t0 < SLACK, "msr: RDTSCP reads the TSC");
    rt_wrmsr(MSR_TSC_AUX, old);
}

static void tsd(void)
{
    uint64_t cr4 = rt_read_cr4();
    CHECK_EQ(rt_run_user(user_rdtsc, 0, SEL_UCODE, 0), -1, "msr: RDTSC at CPL 3 without CR4.TSD");
    CHECK_EQ(rt_run_user(user_rdtscp, 0, SEL_UCODE, 0), -1, "msr: RDTSCP at CPL 3 without CR4.TSD");
    rt_write_cr4(cr4 | CR4_TSD);
    CHECK_EQ(rt_run_user(user_rdtsc, 0, SEL_UCODE, 0), 13, "msr: RDTSC at CPL 3 with CR4.TSD: #GP");
    CHECK_EQ(rt_last.error, 0, "msr: RDTSC with CR4.TSD: error code 0");
    CHECK_EQ(rt_run_user(user_rdtscp, 0, SEL_UCODE, 0), 13, "msr: RDTSCP at CPL 3 with CR4.TSD: #GP");
    CHECK(rdtsc() != 0, "msr: RDTSC at CPL 0 with CR4.TSD runs");
    rt_write_cr4(cr4);
}

void test_main(void)
{
    pat();
    apic_base();
    tsc_adjust();
    tsc_aux();
    tsd();
}
