/*
 * System and segment instructions in the differential tester (included by
 * forms.h): what the tester knows about their executors, and why the
 * rest of them are not compared. At CPL 3 the host runs them as an
 * ordinary process: far transfers and segment loads against Linux's GDT,
 * LAR/LSL/VERR/VERW on every selector, the privileged ones to #GP(0), INT3
 * and INT n through Linux's IDT (sys_mirror.h has the emulator's copy).
 * Their inputs come from sys_gen.h.
 */
#ifndef HK_TESTS_CPU_SYS_FORMS_H
#define HK_TESTS_CPU_SYS_FORMS_H

#include <cpuid.h>

#define CK_SYS 0x40000000 /* inputs from sys_gen.h (selectors, far pointers, frames) */

/* Entries of cd_infos. */
#define CD_SYS_INFOS                                                                         \
    {ex_mov_sreg_rm, "mov", "Sw,Ew", CK_SYS, NULL},                                          \
    {ex_retf, "retf", "", CK_SYS | CK_STACK, NULL},                                          \
    {ex_iret, "iret", "", CK_SYS | CK_STACK, NULL},                                          \
    {ex_jmp_far_mem, "jmp far", "Mp", CK_SYS, NULL},                                         \
    {ex_call_far_mem, "call far", "Mp", CK_SYS | CK_STACK, NULL},                            \
    /* LOCK VERW runs on AMD (seen on EPYC), #UD per the SDM and here */                   \
    {ex_group6, "%s", "Ew", CK_SYS | CK_NOLOCK, NULL},                                       \
    {ex_lar_lsl, "%s", "G,Ew", CK_SYS, NULL},                                                \
    {ex_int3, "int3", "", CK_SYS, NULL},                                                     \
    {ex_icebp, "int1", "", CK_SKIP,                                                          \
     "on the AMD EPYC host (itself a virtual machine) INT1's #DB arrives with RIP at the "   \
     "instruction, not after it as the SDM has it (the emulator follows the SDM)"},         \
    {ex_int_imm, "int", "Ib", CK_SYS, NULL},                                                 \
    {ex_rdtsc, "rdtsc", "", CK_SYS, NULL},                                                   \
    {ex_grp7_reg7, "%s", "", CK_SYS, NULL},                                                  \
    {ex_smsw, "smsw", "Ew", 0, NULL},                                                        \
    {ex_lmsw, "lmsw", "Ew", CK_PRIV, NULL},                                                  \
    {ex_rdrand, "%s", "Rv", CK_SYS | CK_NOREP, NULL}, /* F3: RDPID */                        \
    {ex_syscall, "syscall", "", CK_SKIP,                                                     \
     "a real system call into the host kernel; SYSCALL/SYSRET run in the usermode guest"},  \
    {ex_cpuid, "cpuid", "", CK_SKIP,                                                         \
     "the emulated CPU's leaves differ from the host's by design; test_cpuid_host checks "  \
     "that every feature bit it advertises names instructions that run"},

/* A host CPUID feature bit (reg: 0 EAX .. 3 EDX). */
static bool cd_host_has(unsigned leaf, unsigned sub, unsigned reg, unsigned bit)
{
    unsigned r[4] = {0};
    if (__get_cpuid_max(0, NULL) < leaf)
        return false;
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
    return (r[reg] >> bit) & 1;
}

/* Why a form of executor fn (group entry greg) is not compared, or NULL. */
static const char *cd_sys_untested_why(emu_exec_fn fn, int greg)
{
    if (fn == ex_group6 && greg == 0)
        return "SLDT: Linux answers it at CPL 3 itself under UMIP "
               "(arch/x86/kernel/umip.c), with its own value, not the CPU's";
    if (fn == ex_group6 && greg == 1)
        return "STR: Linux answers it at CPL 3 itself under UMIP (arch/x86/kernel/umip.c); "
               "the usermode guest checks STR after LTR (also under KVM)";
    if (fn == ex_rdrand && greg == 6 && !cd_host_has(1, 0, 2, 30))
        return "the host CPU has no RDRAND";
    if (fn == ex_rdrand && greg == 7 && !cd_host_has(7, 0, 1, 18))
        return "the host CPU has no RDSEED";
    if (fn == ex_smsw && cd_host_has(7, 0, 2, 2))
        return "SMSW: the host has UMIP, under which Linux answers it at CPL 3 itself "
               "(arch/x86/kernel/umip.c); the sys_cr guest checks it";
    if (fn == ex_int_imm && cd_host_has(7, 1, 0, 17))
        return "the host CPU has FRED, with which Linux answers INT n itself "
               "(arch/x86/entry/entry_fred.c: #GP(0), not the IDT's #GP(n*8+2))";
    return NULL;
}

/* The mnemonic a "%s" name takes, or NULL when not one of these. */
static const char *cd_sys_sub_name(emu_exec_fn fn, int greg, int opc)
{
    if (fn == ex_group6)
        return (const char *[]){"sldt", "str", "lldt", "ltr", "verr", "verw", "#UD", "#UD"}
            [greg & 7];
    if (fn == ex_lar_lsl)
        return opc == 0x02 ? "lar" : "lsl";
    if (fn == ex_grp7_reg7)
        return "swapgs/rdtscp";
    if (fn == ex_rdrand)
        return greg == 6 ? "rdrand" : "rdseed";
    return NULL;
}

#endif
