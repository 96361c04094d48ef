/* 32-bit program (IA32 emulation): signals delivered on 32-bit frames and
 * returned from with sigreturn (a handler without SA_SIGINFO: glibc's
 * restorer calls sigreturn, 119) and rt_sigreturn (SA_SIGINFO: 173). The
 * kernel reloads CS, SS, DS, ES, FS and GS from the frame, which reads
 * their descriptors in compatibility mode (issue 8 item 1). */
#define _GNU_SOURCE
#include "check.h"
#include <asm/ldt.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static volatile int usr1_count;
static volatile unsigned short handler_ds, handler_cs;

static void on_usr1(int sig)
{
    (void)sig;
    usr1_count++;
    __asm__ volatile("mov %%ds, %0\n\tmov %%cs, %1" : "=r"(handler_ds), "=r"(handler_cs));
}

/* kill(getpid(), sig) by int $0x80 with ESI and EDI set: the signal is
 * delivered on the way out of the system call; ESI/EDI come back from the
 * frame. */
static void kill_self(int sig, unsigned *esi, unsigned *edi)
{
    unsigned pid = getpid(), ret;
    __asm__ volatile("int $0x80"
                     : "=a"(ret), "+S"(*esi), "+D"(*edi)
                     : "a"(SYS_kill), "b"(pid), "c"(sig)
                     : "memory");
    CHECK(ret == 0, "kill by int $0x80", "returned %d", (int)ret);
}

static void plain_sigreturn(void)
{
    unsigned esi = 0x600d5e51, edi = 0x600d0ed1;
    signal(SIGUSR1, on_usr1);
    kill_self(SIGUSR1, &esi, &edi);
    CHECK(usr1_count == 1, "SIGUSR1 handler ran once (sigreturn)", "ran %d times", usr1_count);
    CHECK(esi == 0x600d5e51 && edi == 0x600d0ed1, "registers restored by sigreturn",
          "ESI %#x EDI %#x", esi, edi);
    CHECK(handler_ds == 0x2b && handler_cs == 0x23, "handler runs with CS 0x23 DS 0x2b",
          "CS %#x DS %#x", handler_cs, handler_ds);
}

static void on_usr2(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    (void)sig;
    if (si->si_pid == getpid())
        uc->uc_mcontext.gregs[REG_ESI] = 0x12345678; /* rt_sigreturn must load it */
}

static void rt_sigreturn(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_usr2;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, NULL);
    unsigned esi = 1, edi = 0xabcdef01;
    kill_self(SIGUSR2, &esi, &edi);
    CHECK(esi == 0x12345678, "rt_sigreturn loads ESI changed in the frame", "ESI %#x", esi);
    CHECK(edi == 0xabcdef01, "rt_sigreturn keeps EDI", "EDI %#x", edi);
}

/* A fault's handler moves EIP past the faulting load: the frame's EIP is
 * what rt_sigreturn resumes at. */
extern char fault_insn[], fault_after[];
static void on_segv(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    (void)sig;
    (void)si;
    if ((unsigned long)uc->uc_mcontext.gregs[REG_EIP] == (unsigned long)fault_insn)
        uc->uc_mcontext.gregs[REG_EIP] = (unsigned long)fault_after;
}

static void fault_and_skip(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    unsigned v = 7;
    __asm__ volatile("fault_insn: movl 0x10, %0\nfault_after:" : "+r"(v) : : "memory");
    CHECK(v == 7, "SIGSEGV handler skips the faulting load", "EAX %#x", v);
}

/* FS holds an LDT selector across a signal: the frame saves and restores it. */
static void fs_across_signal(void)
{
    static unsigned buf[2] = { 0, 0x7777 };
    struct user_desc d;
    memset(&d, 0, sizeof(d));
    d.entry_number = 0;
    d.base_addr = (unsigned long)buf;
    d.limit = sizeof(buf) - 1;
    d.seg_32bit = 1;
    d.useable = 1;
    int r = syscall(SYS_modify_ldt, 1, &d, sizeof(d));
    CHECK(r == 0, "modify_ldt", "returned %d", r);
    unsigned short fs = 0;
    unsigned val = 0, esi = 0, edi = 0;
    __asm__ volatile("mov %0, %%fs" : : "r"(7));
    kill_self(SIGUSR1, &esi, &edi);
    __asm__ volatile("mov %%fs, %0\n\tmov %%fs:4, %1\n\tmov %2, %%fs" : "=&r"(fs), "=&r"(val) : "r"(0));
    CHECK(fs == 7 && val == 0x7777, "FS=LDT selector survives a signal", "FS %#x value %#x", fs, val);
}

/* rt_sigreturn with ESP pointing at unmapped memory: the kernel cannot read
 * the frame and kills the process with SIGSEGV (no oops). */
static void bad_sigreturn(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        __asm__ volatile("mov $0x10, %%esp\n\tint $0x80" : : "a"(SYS_rt_sigreturn));
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "rt_sigreturn on a bad frame: SIGSEGV",
          "wait status %#x", st);
    pid = fork();
    if (pid == 0) {
        __asm__ volatile("mov $0x10, %%esp\n\tint $0x80" : : "a"(SYS_sigreturn));
        _exit(0);
    }
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "sigreturn on a bad frame: SIGSEGV",
          "wait status %#x", st);
}

int main(void)
{
    check_prog = "sig32";
    plain_sigreturn();
    rt_sigreturn();
    fault_and_skip();
    fs_across_signal();
    bad_sigreturn();
    return check_done();
}
