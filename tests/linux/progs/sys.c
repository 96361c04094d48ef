/* System calls with bad arguments, built twice: sys32 (IA32 emulation:
 * int $0x80 and the vDSO's SYSENTER path) and sys64 (SYSCALL, and int $0x80
 * from 64-bit code). Bad user pointers must give -EFAULT, a bad number
 * -ENOSYS, and never a kernel oops (issue 8 item 1: on a 32-bit task the
 * kernel oopsed on the way in). */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Numbers of the i386 system-call table (int $0x80 / SYSENTER). */
#define NR32_WRITE 4
#define NR32_OPEN 5
#define NR32_READ 3
#define NR32_GETPID 20
#define NR32_GETTIMEOFDAY 78
#define NR32_UNAME 122

static long int80(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}

#ifdef __x86_64__
static long sys(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}
#define PROG "sys64"
#else
/* __kernel_vsyscall: SYSENTER on Intel CPUs. */
static long vsys(long nr, long a, long b, long c)
{
    long ret;
    unsigned long fn = getauxval(AT_SYSINFO);
    __asm__ volatile("call *%[fn]" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c), [fn] "r"(fn) : "memory");
    return ret;
}
#define PROG "sys32"
#endif

static void efault(const char *name, long ret)
{
    CHECK(ret == -EFAULT, name, "returned %ld, want %d", ret, -EFAULT);
}

/* The same bad calls through one entry path. */
static void bad_calls(const char *path, long (*call)(long, long, long, long), int i386_nrs)
{
    char name[96];
    int fds[2];
    long nr_write = i386_nrs ? NR32_WRITE : SYS_write, nr_read = i386_nrs ? NR32_READ : SYS_read;
    long nr_open = i386_nrs ? NR32_OPEN : SYS_open, nr_tod = i386_nrs ? NR32_GETTIMEOFDAY : SYS_gettimeofday;
    long nr_uname = i386_nrs ? NR32_UNAME : SYS_uname, nr_getpid = i386_nrs ? NR32_GETPID : SYS_getpid;

    snprintf(name, sizeof(name), "%s: write from address 1: -EFAULT", path);
    efault(name, call(nr_write, 1, 1, 10));
    snprintf(name, sizeof(name), "%s: write from 0xffffe000: -EFAULT", path);
    efault(name, call(nr_write, 1, 0xffffe000L, 16));
    if (pipe(fds) == 0) {
        write(fds[1], "abcdefgh", 8);
        snprintf(name, sizeof(name), "%s: read into address 8: -EFAULT", path);
        efault(name, call(nr_read, fds[0], 8, 8));
        close(fds[0]);
        close(fds[1]);
    }
    snprintf(name, sizeof(name), "%s: open of path at address 1: -EFAULT", path);
    efault(name, call(nr_open, 1, 0, 0));
    snprintf(name, sizeof(name), "%s: gettimeofday into address 16: -EFAULT", path);
    efault(name, call(nr_tod, 16, 0, 0));
    snprintf(name, sizeof(name), "%s: uname into a kernel address: -EFAULT", path);
    efault(name, call(nr_uname, (long)0xfffff000UL, 0, 0));
    snprintf(name, sizeof(name), "%s: number 9999: -ENOSYS", path);
    long r = call(9999, 0, 0, 0);
    CHECK(r == -ENOSYS, name, "returned %ld", r);
    snprintf(name, sizeof(name), "%s: number -1: -ENOSYS", path);
    r = call(-1, 0, 0, 0);
    CHECK(r == -ENOSYS, name, "returned %ld", r);
    snprintf(name, sizeof(name), "%s: getpid still works", path);
    r = call(nr_getpid, 0, 0, 0);
    CHECK(r == getpid(), name, "returned %ld, pid %d", r, getpid());
}

int main(void)
{
    check_prog = PROG;
    bad_calls("int $0x80", int80, 1);
#ifdef __x86_64__
    bad_calls("syscall", sys, 0);
#else
    if (getauxval(AT_SYSINFO))
        bad_calls("vdso sysenter", vsys, 1);
    else
        CHECK(0, "vdso sysenter", "no AT_SYSINFO");
#endif
    return check_done();
}
