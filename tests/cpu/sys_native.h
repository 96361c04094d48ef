/*
 * Segment registers on the host side of the differential tester (included
 * by native.h): the selectors an instruction left are captured by the
 * signal handler, and the host's own are put back before any C code needs
 * them.
 *
 * FS is the hard one: glibc's TLS lives at the FS base, and loading any
 * selector into FS replaces that base with the descriptor's (0), so the
 * handler itself (stack protector, ASan, errno) would crash. The signal
 * therefore enters through cd_sig_entry, a few instructions with no memory
 * access through FS: note the selector, put the base back with a raw
 * arch_prctl(ARCH_SET_FS) system call (which also loads selector 0), then
 * jump to the C handler. GS is unused by 64-bit glibc (base 0), DS and ES
 * are ignored in 64-bit mode: the C handler reloads them. CS and SS come
 * from the signal context, and go back to the host's there.
 *
 * The test is pinned to the CPU it starts on: Linux's CPUNODE descriptor
 * (selector 0x7b) and TSC_AUX encode the CPU and node number, and the
 * emulator's mirror of them must hold the same.
 */
#ifndef HK_TESTS_CPU_SYS_NATIVE_H
#define HK_TESTS_CPU_SYS_NATIVE_H

#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define CD_ARCH_SET_GS 0x1001
#define CD_ARCH_SET_FS 0x1002
#define CD_ARCH_GET_FS 0x1003
#define CD_ARCH_GET_GS 0x1004

/* Read by the entry stub below, so they keep their plain symbol names. */
__attribute__((used)) static uint64_t cd_host_fsbase;
__attribute__((used)) static uint16_t cd_fs_at_signal;

struct cd_host_segs {
    uint16_t sel[6]; /* ES CS SS DS FS GS, as the host process runs */
    uint64_t gsbase;
    unsigned cpu, node;
};
static struct cd_host_segs cd_host;

static void cd_on_signal(int sig, siginfo_t *si, void *ucv);

/* The signal entry: save FS, restore the TLS base, then the C handler.
 * RDI, RSI, RDX hold the handler's arguments; SYSCALL clobbers RCX, R11. */
__asm__(".text\n"
        ".type cd_sig_entry, @function\n"
        "cd_sig_entry:\n"
        "    movw %fs, cd_fs_at_signal(%rip)\n"
        "    push %rdi\n    push %rsi\n    push %rdx\n"
        "    mov $158, %eax\n"      /* SYS_arch_prctl */
        "    mov $0x1002, %edi\n"    /* ARCH_SET_FS */
        "    mov cd_host_fsbase(%rip), %rsi\n"
        "    syscall\n"
        "    pop %rdx\n    pop %rsi\n    pop %rdi\n"
        "    jmp cd_on_signal\n"
        ".size cd_sig_entry, .-cd_sig_entry\n");
void cd_sig_entry(int sig, siginfo_t *si, void *ucv);

/* The selector in a segment register (MOV r16, Sreg). */
#define CD_READ_SEG(name, reg)                                 \
    static uint16_t name(void)                                 \
    {                                                          \
        uint16_t s;                                            \
        __asm__ volatile("mov %%" reg ", %0" : "=r"(s));       \
        return s;                                              \
    }
CD_READ_SEG(cd_read_ds, "ds")
CD_READ_SEG(cd_read_es, "es")
CD_READ_SEG(cd_read_fs, "fs")
CD_READ_SEG(cd_read_gs, "gs")

/* CS, GS, FS, SS in the 16-bit fields of REG_CSGSFS (SS since Linux 4.6,
 * UC_SIGCONTEXT_SS; 64-bit signal delivery keeps the user's DS and ES). */
static uint16_t cd_ctx_seg(const greg_t *g, unsigned field)
{
    return (uint16_t)((uint64_t)g[REG_CSGSFS] >> (16 * field));
}

static void cd_ctx_set_seg(greg_t *g, unsigned field, uint16_t v)
{
    uint64_t x = (uint64_t)g[REG_CSGSFS] & ~(0xffffull << (16 * field));
    g[REG_CSGSFS] = (greg_t)(x | (uint64_t)v << (16 * field));
}

/* The host's view of ES, DS, FS and GS is after a return from its kernel
 * (the signal): IRET to CPL 3 nulls a data segment register whose
 * cached DPL is below 3 (SDM "IRET", return to outer privilege level),
 * and a null selector loaded with RPL 1-3 caches DPL 0 on AMD, so it
 * reads back as 0. The RPL of a null selector is not
 * compared (on either side: Intel may keep it). */
static void cd_sys_null_rpl(uint16_t sreg[6])
{
    static const int data[4] = {0, 3, 4, 5}; /* ES DS FS GS */
    for (int i = 0; i < 4; i++)
        if ((sreg[data[i]] & ~3) == 0)
            sreg[data[i]] = 0;
}

/* In the handler: the selectors the instruction left, into sel[6] (enum
 * emu_seg order); then the host's back: ES, DS, GS here, FS already (by
 * cd_sig_entry), CS and SS in the frame, for the return to 64-bit code. */
static void cd_sys_capture(ucontext_t *uc, uint16_t sel[6])
{
    greg_t *g = uc->uc_mcontext.gregs;
    sel[0] = cd_read_es();
    sel[1] = cd_ctx_seg(g, 0);
    sel[2] = cd_ctx_seg(g, 3);
    sel[3] = cd_read_ds();
    sel[4] = cd_fs_at_signal;
    sel[5] = cd_read_gs();
    cd_sys_null_rpl(sel);
    if (sel[0] != cd_host.sel[0])
        __asm__ volatile("mov %0, %%es" : : "r"(cd_host.sel[0]));
    if (sel[3] != cd_host.sel[3])
        __asm__ volatile("mov %0, %%ds" : : "r"(cd_host.sel[3]));
    if (sel[5] != cd_host.sel[5]) {
        __asm__ volatile("mov %0, %%gs" : : "r"(cd_host.sel[5]));
        if (cd_host.gsbase) /* the loaded selector's base replaced it */
            syscall(SYS_arch_prctl, CD_ARCH_SET_GS, cd_host.gsbase);
    }
    cd_ctx_set_seg(g, 0, cd_host.sel[1]);
    cd_ctx_set_seg(g, 3, cd_host.sel[2]);
}

/* Record the host's segments and pin to the current CPU. */
static int cd_sys_native_init(void)
{
    unsigned cpu = 0, node = 0;
    if (syscall(SYS_arch_prctl, CD_ARCH_GET_FS, &cd_host_fsbase) ||
        syscall(SYS_arch_prctl, CD_ARCH_GET_GS, &cd_host.gsbase) ||
        syscall(SYS_getcpu, &cpu, &node, NULL))
        return -1;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set))
        return -1;
    cd_host.cpu = cpu;
    cd_host.node = node;
    uint16_t cs, ss;
    __asm__ volatile("mov %%cs, %0\n\tmov %%ss, %1" : "=r"(cs), "=r"(ss));
    uint16_t s[6] = {cd_read_es(), cs, ss, cd_read_ds(), cd_read_fs(), cd_read_gs()};
    memcpy(cd_host.sel, s, sizeof(s));
    return s[4] == 0 ? 0 : -1; /* ARCH_SET_FS puts back selector 0 */
}

#endif
