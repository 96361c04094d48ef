/*
 * Hardware breakpoints through ptrace, as gdb sets them (issue 8, item 10):
 * a child stops itself; the parent arms DR0 as a 4-byte write watchpoint on
 * a variable and DR1 as an instruction breakpoint on a function, with
 * PTRACE_POKEUSER, and expects the child to stop after each of its two
 * stores (DR6.B0, the new value already written) and at each of its two
 * calls (DR6.B1, RIP at the function: the kernel resumes with RF so the
 * call goes on), then to exit 7. Prints WATCHOK when all of that held.
 */
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

volatile int var;

__attribute__((noinline)) void target(void) { __asm__ volatile("nop"); }

static void child(void)
{
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    var = 1;
    var = 2;
    target();
    target();
    _exit(7);
}

static long user_off(int n) { return (long)offsetof(struct user, u_debugreg[n]); }

int main(void)
{
    pid_t pid = fork();
    if (pid == 0)
        child();
    int st, bad = 0;
    waitpid(pid, &st, 0);
    /* DR7: L0, R/W0 = 01 (write), LEN0 = 11 (4 bytes); L1, R/W1 = 00. */
    if (ptrace(PTRACE_POKEUSER, pid, user_off(0), (void *)&var) ||
        ptrace(PTRACE_POKEUSER, pid, user_off(1), (void *)&target) ||
        ptrace(PTRACE_POKEUSER, pid, user_off(7), (void *)(long)(1 | 4 | 1 << 16 | 3 << 18))) {
        printf("WATCHFAIL: POKEUSER refused\n");
        return 1;
    }
    static const struct { long dr6_bits; int var; bool at_target; } want[] = {
        {1, 1, false}, {1, 2, false}, {2, 2, true}, {2, 2, true},
    };
    for (unsigned i = 0; i < 4; i++) {
        ptrace(PTRACE_CONT, pid, 0, 0);
        waitpid(pid, &st, 0);
        if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP) {
            printf("WATCHFAIL: stop %u: status %#x\n", i, st);
            return 1;
        }
        long dr6 = ptrace(PTRACE_PEEKUSER, pid, user_off(6), 0);
        long v = ptrace(PTRACE_PEEKDATA, pid, (void *)&var, 0);
        struct user_regs_struct regs;
        ptrace(PTRACE_GETREGS, pid, 0, &regs);
        bool at = regs.rip == (unsigned long long)(unsigned long)&target;
        printf("WATCH stop %u: dr6 %lx var %d rip %llx\n", i, dr6, (int)v, regs.rip);
        if ((dr6 & 0xf) != want[i].dr6_bits || (int)v != want[i].var || at != want[i].at_target)
            bad = 1;
    }
    ptrace(PTRACE_CONT, pid, 0, 0);
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 7) {
        printf("WATCHFAIL: the child did not exit 7 (status %#x)\n", st);
        return 1;
    }
    printf(bad ? "WATCHFAIL: see the stops above\n" : "WATCHOK\n");
    return bad;
}
