/*
 * A one-header test framework. Each check prints "PASS: name" or
 * "FAIL: name: why"; tests/run.sh counts those lines.
 */
#ifndef HK_TEST_H
#define HK_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failures;

#define CHECK(cond, name)                                                          \
    do {                                                                           \
        if (cond) {                                                                \
            printf("PASS: %s\n", name);                                            \
        } else {                                                                   \
            printf("FAIL: %s: %s (%s:%d)\n", name, #cond, __FILE__, __LINE__);     \
            test_failures++;                                                       \
        }                                                                          \
        fflush(stdout);                                                            \
    } while (0)

#define CHECK_EQ(a, b, name)                                                       \
    do {                                                                           \
        long long _a = (long long)(a), _b = (long long)(b);                        \
        if (_a == _b) {                                                            \
            printf("PASS: %s\n", name);                                            \
        } else {                                                                   \
            printf("FAIL: %s: %s == %lld, expected %lld (%s:%d)\n", name, #a, _a,  \
                   _b, __FILE__, __LINE__);                                        \
            test_failures++;                                                       \
        }                                                                          \
        fflush(stdout);                                                            \
    } while (0)

/* A test that cannot run here (e.g. no /dev/kvm): reported, not counted. */
#define SKIP(name, why) (printf("SKIP: %s: %s\n", name, why), fflush(stdout))

#define TEST_EXIT() return test_failures ? 1 : 0

#endif
