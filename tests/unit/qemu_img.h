/*
 * Helpers for the qcow2 tests: qemu-img as the oracle (create, check,
 * convert), on top of blk_testlib.h.
 */
#ifndef HK_TESTS_QEMU_IMG_H
#define HK_TESTS_QEMU_IMG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blk_testlib.h"
#include "test.h"

/* Run a shell command; its exit status, or -1. Output goes to stderr
 * only when QI_VERBOSE is set. */
static inline int qi_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int qi_run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof(cmd) - 32, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(cmd) - 32)
        return -1;
    if (!getenv("QI_VERBOSE"))
        strcat(cmd, " >/dev/null 2>&1");
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline bool qi_have_qemu_img(void)
{
    return qi_run("qemu-img --version") == 0;
}

/* A qcow2 test's start: false (after a SKIP line) without qemu-img;
 * else the scratch directory made from its template, or exit 1. */
static inline bool qi_setup(const char *test, char *dir)
{
    if (!qi_have_qemu_img()) {
        SKIP(test, "qemu-img not installed (Debian: qemu-utils)");
        return false;
    }
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    return true;
}

/* qemu-img check: 0 clean, 2 corrupt, 3 leaks only. */
static inline int qi_check(const char *img)
{
    return qi_run("qemu-img check '%s'", img);
}

/* Does qemu-img convert -O raw of img equal want? */
static inline bool qi_raw_equals(const char *img, const char *tmp_raw, const uint8_t *want, size_t len)
{
    unlink(tmp_raw);
    if (qi_run("qemu-img convert -O raw '%s' '%s'", img, tmp_raw) != 0)
        return false;
    size_t got_len;
    uint8_t *got = bt_read_file(tmp_raw, &got_len);
    bool ok = got && got_len == len && !memcmp(got, want, len);
    if (got && !ok && got_len == len)
        for (size_t i = 0; i < len; i++)
            if (got[i] != want[i]) {
                printf("  first difference at byte %zu: %02x, expected %02x\n", i, got[i],
                       want[i]);
                break;
            }
    free(got);
    unlink(tmp_raw);
    return ok;
}

/* Fill with data that compresses somewhat: runs of a byte, random bytes. */
static inline void qi_fill(uint8_t *buf, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t run = 1 + bt_rand() % 700;
        if (run > len - i)
            run = len - i;
        if (bt_rand() % 2)
            memset(buf + i, (int)(bt_rand() & 0xff), run);
        else
            for (size_t j = 0; j < run; j++)
                buf[i + j] = (uint8_t)bt_rand();
        i += run;
    }
}

#endif
