/*
 * Where the host CPU the differential tests compare against is known to
 * differ from the behaviour emu implements. emu was matched, form by form,
 * against an AMD host (Zen 5); on an Intel host these forms differ in ways
 * the vendors really differ (F3 REX.B 90 is PAUSE on Intel, XCHG on AMD; PUSH Sreg
 * with a 32-bit operand writes 16 bits on Intel;
 * x87 state already switched to MMX when an MMX store faults; REP string
 * and MOVSXD corner cases), or the native side cannot run the form at all
 * (user-mode IRETQ hangs the native harness on such a host). Such a form
 * is reported SKIP with this reason on that vendor instead of PASS/FAIL;
 * on every other host it is compared as usual. Making emu follow the
 * vendor its CPUID names (Intel) is open work: each entry goes when emu
 * does.
 */
#ifndef HK_TESTS_CPU_HOST_QUIRKS_H
#define HK_TESTS_CPU_HOST_QUIRKS_H

#include <cpuid.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static inline bool hq_host_is_intel(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d))
        return false;
    return b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e; /* GenuineIntel */
}

/* The reason NAME (a form's name, with or without a mode prefix) is not
 * compared on this host, or NULL. */
static inline const char *hq_skip_why(const char *name, const char *const *forms)
{
    static int intel = -1;
    if (intel < 0)
        intel = hq_host_is_intel() && !getenv("HK_CPU_QUIRKS_COMPARE");
    if (!intel)
        return NULL;
    for (const char *const *f = forms; *f; f++)
        if (strstr(name, *f))
            return "this Intel host differs from the AMD behaviour emu implements here "
                   "(tests/cpu/host_quirks.h)";
    return NULL;
}

/* test_cpu_diff's forms (matched against "a4 movs", "32-bit: a4 movs"...). */
static const char *const hq_cpu_diff_forms[] = {
    "63 movsxd", "90 nop", "a4 movs", "a5 movs", "a6 cmps", "a7 cmps", "aa stos", "ab stos",
    "ac lods", "ad lods", "ae scas", "af scas", "6c ins", "6d ins", "6e outs", "6f outs",
    "cf iret", "pop Sw",
    /* legacy modes only ("bit: " is in the 32- and 16-bit names): Intel's
     * PUSH Sreg with a 32-bit operand writes 16 bits, AMD's all 32; SYSRET
     * outside 64-bit code */
    "bit: 06 push Sw", "bit: 0e push Sw", "bit: 16 push Sw", "bit: 1e push Sw",
    "bit: 0f a0 push Sw", "bit: 0f a8 push Sw", "bit: 0f 07 sysret", NULL,
};

/* test_mmx's forms: MMX stores whose #PF finds x87 state already switched. */
static const char *const hq_mmx_forms[] = {
    "movd/movq r/m, mm", "movq mm/m64, mm", "movntq", "maskmovq", NULL,
};

#endif
