/* MOV SS (and POP SS in 32-bit code) followed by a breakpoint, a system
 * call or a single-step trap, built as movss32 and movss64. MOV SS blocks
 * debug exceptions and interrupts until the next instruction has run
 * (SDM 6.8.3): a single-step trap set up by POPF is reported after the
 * instruction that follows MOV SS, not after MOV SS itself. */
#define _GNU_SOURCE
#include "check.h"
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#ifdef __x86_64__
#define PROG "movss64"
#define REG_PC REG_RIP
#define REG_FL REG_EFL
#else
#define PROG "movss32"
#define REG_PC REG_EIP
#define REG_FL REG_EFL
#endif

static volatile int traps;
static volatile unsigned long trap_pc[4];

static void on_trap(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    (void)sig;
    (void)si;
    if (traps < 4)
        trap_pc[traps] = uc->uc_mcontext.gregs[REG_PC];
    traps++;
    uc->uc_mcontext.gregs[REG_FL] &= ~0x100; /* clear TF: one step only */
}

extern char after_int3[], after_int3_pop[], after_step_nop[], step_movss[];

static void movss_int3(void)
{
    traps = 0;
    __asm__ volatile("mov %%ss, %%eax\n\tmov %%eax, %%ss\n\tint3\nafter_int3:" : : : "eax", "memory");
    CHECK(traps == 1 && trap_pc[0] == (unsigned long)after_int3, "mov ss; int3 gives one SIGTRAP after the int3",
          "%d traps, first at %#lx (int3 ends at %p)", traps, trap_pc[0], (void *)after_int3);
#ifndef __x86_64__
    traps = 0;
    __asm__ volatile("push %%ss\n\tpop %%ss\n\tint3\nafter_int3_pop:" : : : "memory");
    CHECK(traps == 1 && trap_pc[0] == (unsigned long)after_int3_pop, "pop ss; int3 gives one SIGTRAP",
          "%d traps, first at %#lx", traps, trap_pc[0]);
#endif
}

static void movss_syscall(void)
{
    long ret;
#ifdef __x86_64__
    __asm__ volatile("mov %%ss, %%ecx\n\tmov %%ecx, %%ss\n\tsyscall"
                     : "=a"(ret) : "a"(SYS_getpid) : "rcx", "r11", "memory");
    CHECK(ret == getpid(), "mov ss; syscall (getpid)", "returned %ld", ret);
    __asm__ volatile("mov %%ss, %%ecx\n\tmov %%ecx, %%ss\n\tint $0x80" : "=a"(ret) : "a"(20) : "rcx", "memory");
#else
    __asm__ volatile("mov %%ss, %%ecx\n\tmov %%ecx, %%ss\n\tint $0x80" : "=a"(ret) : "a"(SYS_getpid) : "ecx", "memory");
#endif
    CHECK(ret == getpid(), "mov ss; int $0x80 (getpid)", "returned %ld", ret);
}

/* POPF sets TF: the trap comes after the next instruction (mov ss), but
 * mov ss holds it off for one more, so it is reported after the nop. */
static void movss_step(void)
{
    traps = 0;
#ifdef __x86_64__
    __asm__ volatile("mov %%ss, %%ecx\n\tpushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n"
                     "step_movss: mov %%ecx, %%ss\n\tnop\nafter_step_nop: nop" : : : "rcx", "memory", "cc");
#else
    __asm__ volatile("mov %%ss, %%ecx\n\tpushfl\n\torl $0x100, (%%esp)\n\tpopfl\n"
                     "step_movss: mov %%ecx, %%ss\n\tnop\nafter_step_nop: nop" : : : "ecx", "memory", "cc");
#endif
    CHECK(traps == 1 && trap_pc[0] == (unsigned long)after_step_nop,
          "TF trap after mov ss is held off one instruction",
          "%d traps, first at %#lx (mov ss at %p, want %p)", traps, trap_pc[0], (void *)step_movss,
          (void *)after_step_nop);
}

int main(void)
{
    struct sigaction sa;
    check_prog = PROG;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGTRAP, &sa, NULL);
    movss_int3();
    movss_syscall();
    movss_step();
    return check_done();
}
