/*
 * The code modes the differential tester runs instructions in, and the
 * segments they use. 64-bit and 32-bit (compatibility-mode) code run on
 * Linux's flat user segments in the GDT (code 0x33 and 0x23, data 0x2b).
 * 16-bit code runs on segments the tester installs in the process's LDT
 * with modify_ldt(2), based in the fixed layout so that 16-bit offsets
 * reach it. ES (32-bit and 16-bit code, an LDT segment) and SS (16-bit)
 * have bases of their own, so an instruction that takes the wrong segment
 * shows. The emulator side
 * builds the same GDT and LDT in guest memory, so a selector an
 * instruction loads (LES, POP DS, a far JMP) means the same thing on both
 * sides.
 */
#ifndef HK_TESTS_CPU_MODES_H
#define HK_TESTS_CPU_MODES_H

#include <asm/ldt.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CD_BASE 0x10000000ull
#define CD_SIZE 0x10000ull

/* LDT entries (TI=1, RPL 3). Besides the 16-bit mode's own code and data
 * segments, a few that only segment-loading instructions meet: a 32-bit
 * data segment with a base, a read-only one, a not-present one, and a
 * 32-bit code segment with a 64 KiB limit. */
#define CD_SEL_CODE16 0x07
#define CD_SEL_DATA16 0x0f
#define CD_SEL_DATA32 0x17
#define CD_SEL_RO16 0x1f
#define CD_SEL_NP 0x27
#define CD_SEL_CODE32 0x2f
#define CD_SEL_ES16 0x37 /* 16-bit code's ES: another base, a limit */
                         /* that ends where the layout does */
#define CD_SEL_SS16 0x3f /* 16-bit code's SS: expand-down, another base */
#define CD_SS16_BASE (CD_BASE - 0x1000)
#define CD_SS16_LIMIT 0x7fffu /* offsets 8000h-FFFFh: the layout's 7000h-EFFFh */
#define CD_LDT_ENTRIES 8

/* Selectors as the entry stub loads them: ES CS SS DS (the emulator's
 * enum emu_seg order). */
struct cd_mode {
    int bits;         /* default operand and address size: 64, 32, 16 */
    uint16_t sel[4];
    uint64_t base;    /* CS's: code offsets (RIP, branch targets) are linear - base */
    uint64_t sbase[4]; /* each segment's, for data offsets */
    const char *name;
};

enum { CD_M64, CD_M32, CD_M16, CD_NMODES };

/* Not const: without an LDT, 32-bit code keeps ES flat (cd_modes_no_ldt). */
static struct cd_mode cd_modes[CD_NMODES] = {
    {64, {0, 0x33, 0x2b, 0}, 0, {0, 0, 0, 0}, "64-bit"},
    {32, {CD_SEL_DATA32, 0x23, 0x2b, 0x2b}, 0, {CD_BASE, 0, 0, 0}, "32-bit"},
    {16, {CD_SEL_ES16, CD_SEL_CODE16, CD_SEL_SS16, CD_SEL_DATA16}, CD_BASE,
     {CD_BASE + 0x1000, CD_BASE, CD_SS16_BASE, CD_BASE}, "16-bit"},
};

static void cd_modes_no_ldt(void)
{
    cd_modes[CD_M32].sel[0] = 0x2b;
    cd_modes[CD_M32].sbase[0] = 0;
}

/* Linux's GDT (arch/x86/include/asm/segment.h, GDT_ENTRY_INIT in
 * cpu/common.c) for the entries the generated selectors can name: the
 * kernel's and the user's code and data segments, the TSS and LDT
 * descriptors (system segments: loading them faults), empty TLS slots.
 * Entry 15 (the CPU/node number in its limit) differs per CPU:
 * sys_mirror.h fills it in. */
#define CD_GDT_ENTRIES 16
static const uint64_t cd_linux_gdt[CD_GDT_ENTRIES] = {
    [1] = 0x00cf9b000000ffffull, /* 0x08 kernel 32-bit code */
    [2] = 0x00af9b000000ffffull, /* 0x10 kernel code */
    [3] = 0x00cf93000000ffffull, /* 0x18 kernel data */
    [4] = 0x00cffb000000ffffull, /* 0x23 user 32-bit code */
    [5] = 0x00cff3000000ffffull, /* 0x2b user data */
    [6] = 0x00affb000000ffffull, /* 0x33 user 64-bit code */
    [8] = 0x00008b000000206full, /* 0x40 TSS (busy), 16 bytes */
    [10] = 0x000082000000ffffull, /* 0x50 LDT, 16 bytes */
};

static const struct user_desc cd_ldt_descs[CD_LDT_ENTRIES] = {
    {.entry_number = 0, .base_addr = (unsigned)CD_BASE, .limit = 0xffff, .contents = 2},
    {.entry_number = 1, .base_addr = (unsigned)CD_BASE, .limit = 0xffff},
    {.entry_number = 2, .base_addr = (unsigned)CD_BASE, .limit = 0xfffff, .seg_32bit = 1,
     .limit_in_pages = 1},
    {.entry_number = 3, .base_addr = (unsigned)CD_BASE, .limit = 0xffff, .read_exec_only = 1},
    {.entry_number = 4, .base_addr = (unsigned)CD_BASE, .limit = 0xffff, .seg_not_present = 1},
    {.entry_number = 5, .base_addr = (unsigned)CD_BASE, .limit = 0xffff, .seg_32bit = 1,
     .contents = 2},
    {.entry_number = 6, .base_addr = (unsigned)CD_BASE + 0x1000, .limit = 0xefff},
    {.entry_number = 7, .base_addr = (unsigned)CD_SS16_BASE, .limit = CD_SS16_LIMIT,
     .contents = 1}, /* MODIFY_LDT_CONTENTS_STACK: expand-down */
};

/* Install the LDT entries: 0, or -1 when the kernel refuses (no
 * CONFIG_MODIFY_LDT_SYSCALL, or a sandbox filters the call). */
static int cd_ldt_install(void)
{
    for (unsigned i = 0; i < CD_LDT_ENTRIES; i++) {
        struct user_desc d = cd_ldt_descs[i];
        if (syscall(SYS_modify_ldt, 1, &d, sizeof(d)) != 0)
            return -1;
    }
    return 0;
}

/* The LDT as the CPU sees it (descriptors with the accessed bit the
 * kernel presets): its size in bytes, or 0. */
static unsigned cd_ldt_read(uint64_t *buf, unsigned entries)
{
    long n = syscall(SYS_modify_ldt, 0, buf, entries * 8ul);
    return n > 0 ? (unsigned)n : 0;
}

/* A selector for a segment-loading instruction: mostly ones both tables
 * define, sometimes null, kernel, system, empty or out-of-limit ones. */
static uint16_t cd_pick_selector(uint64_t rnd)
{
    static const uint16_t sel[] = {
        0,    3,    0x23, 0x2b, 0x2b, 0x33, 0x2a, 0x29, 0x0b, 0x10, 0x18, 0x1b, 0x40,
        0x50, 0x63, 0x6b, 0x80, 0xfffb, CD_SEL_CODE16, CD_SEL_DATA16, CD_SEL_DATA16,
        CD_SEL_DATA32, CD_SEL_RO16, CD_SEL_NP, CD_SEL_CODE32, CD_SEL_ES16, CD_SEL_SS16, 0x0d,
        0x47, 0x4f,
    };
    return sel[rnd % (sizeof(sel) / sizeof(sel[0]))];
}

#endif
