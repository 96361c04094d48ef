/*
 * Where an AMD host CPU, which the differential tests may run on, differs
 * from the behaviour emu implements. emu follows Intel, the vendor its
 * CPUID names, and was matched form by form against an Intel host (a
 * family 6 Xeon); on an AMD host these forms differ in ways the vendors
 * really differ:
 *   F3 REX.B 90        PAUSE on Intel, XCHG r8, rAX on AMD
 *   66 63 (MOVSXD r16) Intel reads 16 bits, AMD 32 (#AC, #PF differ)
 *   POP Sreg           Intel reads the 16-bit selector only, AMD the slot
 *   PUSH Sreg, 32-bit operand, legacy modes: Intel writes 16 bits, AMD 32
 *   SYSRET outside 64-bit code: #UD on Intel, #GP at CPL 3 on AMD
 *   REP string forms   Intel zero-extends ECX (MOVS, STOS: their pointers
 *                      too) up front under 67h in 64-bit code, and shows
 *                      REPE/REPNE CMPS/SCAS stopped midway (single-step)
 *                      with the flags of before the instruction
 *   IRETQ              Intel checks the popped SS before the RIP
 *   MMX stores         Intel has set TOP to 0 when the store faults;
 *                      MASKMOVDQU (maskmovq's stray-66 cases) reports a
 *                      #PF in its high half first
 *   16-byte SSE operands that may be misaligned (MOVDQU...): never #AC
 *                      on Intel (test_mmx, whose stray prefixes make them,
 *                      sets no AC there on AMD)
 * Such a form is reported SKIP with this reason on an AMD host instead of
 * PASS/FAIL; on every other host it is compared as usual.
 * HK_CPU_QUIRKS_COMPARE=1 in the environment compares them anyway (to see
 * what the host does).
 */
#ifndef HK_TESTS_CPU_HOST_QUIRKS_H
#define HK_TESTS_CPU_HOST_QUIRKS_H

#include <cpuid.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static inline bool hq_host_is_amd(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d))
        return false;
    bool amd = b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163;   /* AuthenticAMD */
    bool hygon = b == 0x6f677948 && d == 0x6e65476e && c == 0x656e6975; /* HygonGenuine */
    return amd || hygon;
}

/* The reason NAME (a form's name, with or without a mode prefix) is not
 * compared on this host, or NULL. */
static inline const char *hq_skip_why(const char *name, const char *const *forms)
{
    static int amd = -1;
    if (amd < 0)
        amd = hq_host_is_amd() && !getenv("HK_CPU_QUIRKS_COMPARE");
    if (!amd)
        return NULL;
    for (const char *const *f = forms; *f; f++)
        if (strstr(name, *f))
            return "this AMD host differs from the Intel behaviour emu implements here "
                   "(tests/cpu/host_quirks.h)";
    return NULL;
}

/* test_cpu_diff's forms (matched against "a4 movs", "32-bit: a4 movs"...). */
static const char *const hq_cpu_diff_forms[] = {
    "63 movsxd", "90 nop", "a4 movs", "a5 movs", "a6 cmps", "a7 cmps", "aa stos", "ab stos",
    "ac lods", "ad lods", "ae scas", "af scas", "cf iret", "pop Sw",
    /* legacy modes only ("bit: " is in the 32- and 16-bit names) */
    "bit: 06 push Sw", "bit: 0e push Sw", "bit: 16 push Sw", "bit: 1e push Sw",
    "bit: 0f a0 push Sw", "bit: 0f a8 push Sw", "bit: 0f 07 sysret", NULL,
};

/* test_mmx's forms: MMX stores that fault, MASKMOVDQU's #PF order. */
static const char *const hq_mmx_forms[] = {
    "movd/movq r/m, mm", "movq mm/m64, mm", "movntq", "maskmovq", NULL,
};

#endif
