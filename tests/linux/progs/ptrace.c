/* ptrace through the CPU's debug features (issue 8 item 10), built as
 * ptrace32 and ptrace64: PTRACE_SINGLESTEP over system calls (TF across
 * SYSCALL, SYSENTER and int $0x80), and hardware breakpoints written with
 * PTRACE_POKEUSER into u_debugreg: DR0-DR3 addresses, DR7 enables, DR6
 * status read back with PTRACE_PEEKUSER (SDM 18.2). */
#define _GNU_SOURCE
#include "check.h"
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __x86_64__
#define PROG "ptrace64"
#define PC(r) ((r).rip)
#define AX(r) ((r).rax)
#else
#define PROG "ptrace32"
#define PC(r) ((r).eip)
#define AX(r) ((r).eax)
#endif
#define TRAP_HWBKPT_CODE 4

static long dr_off(int i) { return offsetof(struct user, u_debugreg) + i * sizeof(long); }

static unsigned long peek_dr(pid_t pid, int i)
{
    return ptrace(PTRACE_PEEKUSER, pid, (void *)dr_off(i), NULL);
}

static int poke_dr(pid_t pid, int i, unsigned long v)
{
    return ptrace(PTRACE_POKEUSER, pid, (void *)dr_off(i), (void *)v);
}

/* Wait for the child's next stop; returns the stop signal, or -1 (and the
 * wait status in *st) if it exited or was killed. */
static int wait_stop(pid_t pid, int *st)
{
    if (waitpid(pid, st, 0) != pid || !WIFSTOPPED(*st))
        return -1;
    return WSTOPSIG(*st);
}

static pid_t start_child(void (*body)(void))
{
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        raise(SIGSTOP);
        body();
        _exit(0);
    }
    int st;
    if (wait_stop(pid, &st) != SIGSTOP) {
        CHECK(0, "child stops itself", "wait status %#x", st);
        return -1;
    }
    return pid;
}

/* Continue (or step) to the end; returns the exit code or -1. extra counts
 * stops on the way. */
static int finish(pid_t pid, int *extra)
{
    int st = -1, n = 0;
    for (;;) {
        ptrace(PTRACE_CONT, pid, NULL, NULL);
        if (wait_stop(pid, &st) < 0)
            break;
        if (++n > 20) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
    }
    if (extra)
        *extra = n;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- single-step over system calls ---- */

extern char step_start[], step_end[], vstep_start[], vstep_end[];

/* Between the two int3s: 6 instructions, two of them system calls. */
static void step_body(void)
{
#ifdef __x86_64__
    __asm__ volatile("int3\nstep_start: nop\n\tmov %[nr], %%eax\n\tsyscall\n\tmov %%rax, %%rbx\n\t"
                     "mov %[nr], %%eax\n\tsyscall\nstep_end: int3"
                     : : [nr] "i"(SYS_getpid) : "rax", "rbx", "rcx", "r11", "memory");
#else
    __asm__ volatile("int3\nstep_start: nop\n\tmov %[nr], %%eax\n\tint $0x80\n\tmov %%eax, %%ebx\n\t"
                     "mov %[nr], %%eax\n\tint $0x80\nstep_end: int3"
                     : : [nr] "i"(SYS_getpid) : "eax", "ebx", "memory");
    /* The vDSO's __kernel_vsyscall: SYSENTER on Intel. */
    unsigned long vs = getauxval(AT_SYSINFO);
    __asm__ volatile("int3\nvstep_start: call *%[vs]\nvstep_end: int3"
                     : : [vs] "r"(vs), "a"(SYS_getpid) : "ecx", "edx", "memory");
#endif
}

/* Step from the stop at START until PC reaches END; returns the count. */
static int step_until(pid_t pid, unsigned long end, int limit, int *bad_sig)
{
    struct user_regs_struct r;
    int n = 0, st, sig;
    *bad_sig = 0;
    do {
        ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL);
        sig = wait_stop(pid, &st);
        if (sig != SIGTRAP) {
            *bad_sig = sig ? sig : -1;
            return n;
        }
        n++;
        ptrace(PTRACE_GETREGS, pid, NULL, &r);
    } while ((unsigned long)PC(r) != end && n < limit);
    return n;
}

static void single_step(void)
{
    struct user_regs_struct r;
    int st, bad, extra;
    pid_t pid = start_child(step_body);
    if (pid < 0)
        return;
    ptrace(PTRACE_CONT, pid, NULL, NULL);
    int sig = wait_stop(pid, &st);
    ptrace(PTRACE_GETREGS, pid, NULL, &r);
    CHECK(sig == SIGTRAP && (unsigned long)PC(r) == (unsigned long)step_start, "int3 stop before the steps",
          "signal %d at %#lx", sig, (unsigned long)PC(r));
    int n = step_until(pid, (unsigned long)step_end, 50, &bad);
    ptrace(PTRACE_GETREGS, pid, NULL, &r);
    CHECK(!bad && n == 6, "6 single-steps over 6 instructions with 2 system calls",
          "%d steps, then signal %d, PC %#lx", n, bad, (unsigned long)PC(r));
    CHECK((long)AX(r) == pid, "stepped getpid returns the child's pid", "got %ld, pid %ld", (long)AX(r), (long)pid);
#ifndef __x86_64__
    ptrace(PTRACE_CONT, pid, NULL, NULL); /* step_end's int3 */
    wait_stop(pid, &st);
    ptrace(PTRACE_CONT, pid, NULL, NULL); /* the int3 before vstep_start */
    sig = wait_stop(pid, &st);
    ptrace(PTRACE_GETREGS, pid, NULL, &r);
    CHECK(sig == SIGTRAP && (unsigned long)PC(r) == (unsigned long)vstep_start, "int3 stop before the vDSO call",
          "signal %d at %#lx", sig, (unsigned long)PC(r));
    n = step_until(pid, (unsigned long)vstep_end, 200, &bad);
    ptrace(PTRACE_GETREGS, pid, NULL, &r);
    CHECK(!bad && (unsigned long)PC(r) == (unsigned long)vstep_end, "single-steps through __kernel_vsyscall (SYSENTER)",
          "%d steps, signal %d, PC %#lx", n, bad, (unsigned long)PC(r));
    CHECK((long)AX(r) == pid, "stepped vDSO getpid returns the child's pid", "got %ld", (long)AX(r));
    printf("info %s: %d steps through __kernel_vsyscall\n", PROG, n);
#endif
    int code = finish(pid, &extra);
    CHECK(code == 0, "stepped child exits 0", "exit %d after %d stops", code, extra);
}

/* ---- hardware breakpoints ---- */

static volatile int watch_w[2] __attribute__((aligned(8)));
static volatile int watch_rw __attribute__((aligned(8))) = 7;
/* DR3: eight bytes (LEN 10, 64-bit code only) or two (LEN 01); the child
 * writes the last byte of the range. */
static volatile unsigned char watch_len[16] __attribute__((aligned(8)));
#ifdef __x86_64__
#define DR3_LEN 8
#define DR3_LEN_BITS 2ul
#else
#define DR3_LEN 2
#define DR3_LEN_BITS 1ul
#endif

__attribute__((noinline)) static int exec_target(int x)
{
    __asm__ volatile("" : "+r"(x));
    return x + 1;
}
static int (*volatile exec_fn)(int) = exec_target;

static void watch_body(void)
{
    watch_w[1] = 5;                       /* next to the watched dword: no trap */
    watch_w[0] = 42;                      /* DR0 write watchpoint: B0 */
    ((volatile char *)watch_w)[2] = 1;    /* a byte inside it: B0 again */
    int r = watch_rw;                     /* DR1 read/write watchpoint: B1 */
    r += exec_fn(1);                      /* DR2 execute breakpoint: B2 */
    r += exec_fn(1);                      /* again: B2 */
    watch_len[DR3_LEN] = 1;               /* just past DR3's range: no trap */
    watch_len[DR3_LEN - 1] = 1;           /* DR3 write watchpoint: B3 */
    _exit(r == 7 + 2 + 2 && watch_w[0] == (42 | 1 << 16) && watch_len[DR3_LEN] == 1 ? 0 : 3);
}

/* What a wait status says, for messages. */
static const char *describe(int st, char *buf, size_t len)
{
    if (WIFEXITED(st))
        snprintf(buf, len, "the child exited %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, len, "the child was killed by signal %d", WTERMSIG(st));
    else
        snprintf(buf, len, "stop signal %d", WSTOPSIG(st));
    return buf;
}

/* Continue to the next stop: expect SIGTRAP with DR6's B bits == want.
 * Returns 0 (and reports) if the child did not stop at all. */
static int expect_hit(pid_t pid, unsigned want, const char *name, unsigned long want_pc)
{
    struct user_regs_struct r;
    siginfo_t si;
    int st;
    memset(&si, 0, sizeof(si));
    ptrace(PTRACE_CONT, pid, NULL, NULL);
    char buf[64];
    int sig = wait_stop(pid, &st);
    if (sig < 0) {
        CHECK(0, name, "%s without a stop", describe(st, buf, sizeof(buf)));
        return 0;
    }
    unsigned long dr6 = peek_dr(pid, 6);
    ptrace(PTRACE_GETSIGINFO, pid, NULL, &si);
    ptrace(PTRACE_GETREGS, pid, NULL, &r);
    CHECK(sig == SIGTRAP && (dr6 & 0xf) == want && si.si_code == TRAP_HWBKPT_CODE &&
              (!want_pc || (unsigned long)PC(r) == want_pc),
          name, "%s, DR6 %#lx, si_code %d, PC %#lx", describe(st, buf, sizeof(buf)), dr6, si.si_code,
          (unsigned long)PC(r));
    return 1;
}

static void watchpoints(void)
{
    int extra;
    pid_t pid = start_child(watch_body);
    if (pid < 0)
        return;
    /* DR7 (SDM 18.2.4): L0/L1/L2 enables; R/W 01 write, 11 read/write, 00
     * execute; LEN 11 four bytes, 00 one byte (execute). */
    unsigned long dr7 = 1 | 1 << 2 | 1 << 4 | 1 << 6 | 1ul << 16 | 3ul << 18 | 3ul << 20 | 3ul << 22 |
                        1ul << 28 | DR3_LEN_BITS << 30;
    int e = poke_dr(pid, 0, (unsigned long)&watch_w[0]) | poke_dr(pid, 1, (unsigned long)&watch_rw) |
            poke_dr(pid, 2, (unsigned long)exec_target) | poke_dr(pid, 3, (unsigned long)watch_len) |
            poke_dr(pid, 7, dr7);
    CHECK(e == 0, "POKEUSER DR0-DR3 and DR7", "a write failed");
    CHECK(peek_dr(pid, 0) == (unsigned long)&watch_w[0] && peek_dr(pid, 7) == dr7, "PEEKUSER reads DR0 and DR7 back",
          "DR0 %#lx DR7 %#lx", peek_dr(pid, 0), peek_dr(pid, 7));
    if (!expect_hit(pid, 1, "write watchpoint: SIGTRAP, DR6.B0", 0))
        return;
    int w0 = (int)ptrace(PTRACE_PEEKDATA, pid, (void *)&watch_w[0], NULL);
    int w1 = (int)ptrace(PTRACE_PEEKDATA, pid, (void *)&watch_w[1], NULL);
    CHECK(w0 == 42 && w1 == 5, "the watched write is done when it traps, the neighbour's before it",
          "memory %#x %#x", w0, w1);
    if (!expect_hit(pid, 1, "byte write inside the watched dword: DR6.B0", 0) ||
        !expect_hit(pid, 2, "read/write watchpoint on a read: DR6.B1", 0) ||
        !expect_hit(pid, 4, "execute breakpoint: DR6.B2 at the function", (unsigned long)exec_target))
        return;
    /* The kernel resumes with RF set: the same breakpoint does not fire
     * again on its own instruction, only on the next call. */
    if (!expect_hit(pid, 4, "execute breakpoint on the second call only", (unsigned long)exec_target) ||
        !expect_hit(pid, 8, DR3_LEN == 8 ? "8-byte write watchpoint, last byte written: DR6.B3"
                                         : "2-byte write watchpoint, last byte written: DR6.B3", 0))
        return;
    int code = finish(pid, &extra);
    CHECK(code == 0 && extra == 0, "watched child runs to exit 0 with no more stops", "exit %d, %d extra stops",
          code, extra);
}

/* ---- MOV SS with a data breakpoint on its operand ----
 * The #DB of the watched read by MOV SS is held off for one instruction
 * (SDM 6.8.3). Before int3 it arrives in the kernel's #BP handler, and the
 * tracer sees only the int3 stop; before a system call it arrives in the
 * kernel entry code, which drops it: no stop at all. */
static volatile unsigned short ss_sel;
extern char movss_after_int3[];

static void movss_body(void)
{
    long ret;
    __asm__ volatile("mov %[s], %%ss\n\tint3\nmovss_after_int3:" : : [s] "m"(ss_sel) : "memory");
#ifdef __x86_64__
    __asm__ volatile("mov %[s], %%ss\n\tsyscall" : "=a"(ret) : [s] "m"(ss_sel), "a"(SYS_getpid) : "rcx", "r11", "memory");
    if (ret != getpid())
        _exit(4);
#endif
    __asm__ volatile("mov %[s], %%ss\n\tint $0x80" : "=a"(ret) : [s] "m"(ss_sel), "a"(20) : "memory");
    _exit(ret == getpid() ? 0 : 5);
}

static void movss_watch(void)
{
    struct user_regs_struct r;
    int st, extra;
    unsigned short ss;
    __asm__ volatile("mov %%ss, %0" : "=r"(ss));
    ss_sel = ss;
    pid_t pid = start_child(movss_body);
    if (pid < 0)
        return;
    /* DR0: read/write, two bytes. */
    int e = poke_dr(pid, 0, (unsigned long)&ss_sel) | poke_dr(pid, 7, 1 | 3ul << 16 | 1ul << 18);
    CHECK(e == 0, "POKEUSER DR0 on the MOV SS operand", "a write failed");
    ptrace(PTRACE_CONT, pid, NULL, NULL);
    int sig = wait_stop(pid, &st);
    if (sig < 0) {
        char buf[64];
        CHECK(0, "watched mov ss; int3: one stop, after the int3", "%s without a stop",
              describe(st, buf, sizeof(buf)));
        return;
    }
    ptrace(PTRACE_GETREGS, pid, NULL, &r);
    CHECK(sig == SIGTRAP && (unsigned long)PC(r) == (unsigned long)movss_after_int3,
          "watched mov ss; int3: one stop, after the int3", "signal %d at PC %#lx (int3 ends at %p), DR6 %#lx",
          sig, (unsigned long)PC(r), (void *)movss_after_int3, peek_dr(pid, 6));
    int code = finish(pid, &extra);
    CHECK(code == 0 && extra == 0, "watched mov ss; system call: no stop, right result",
          "exit %d, %d stops", code, extra);
}

int main(void)
{
    check_prog = PROG;
    setvbuf(stdout, NULL, _IOLBF, 0);
    single_step();
    watchpoints();
    movss_watch();
    return check_done();
}
