/* Reporting for the guest test programs: one "ok NAME" or "FAIL NAME: why"
 * line per check; the program exits 1 if any check failed. The host test
 * (tests/linux/test_linux_sysprogs.sh) reads these lines on the console. */
#ifndef PROGS_CHECK_H
#define PROGS_CHECK_H
#include <stdio.h>
#include <stdarg.h>

static int check_failed;
static const char *check_prog = "?";

static void report(int ok, const char *name, const char *fmt, ...)
{
    if (ok) {
        printf("ok %s: %s\n", check_prog, name);
    } else {
        va_list ap;
        va_start(ap, fmt);
        printf("FAIL %s: %s: ", check_prog, name);
        vprintf(fmt, ap);
        printf("\n");
        va_end(ap);
        check_failed = 1;
    }
    fflush(stdout);
}

/* CHECK(cond, name, fmt, ...): the message says what was seen instead. */
#define CHECK(cond, name, ...) report(!!(cond), (name), __VA_ARGS__)

static int check_done(void)
{
    printf("%s: %s\n", check_prog, check_failed ? "FAILED" : "all ok");
    fflush(stdout);
    return check_failed;
}
#endif
