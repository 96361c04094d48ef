/* What a network backend's callbacks saw, read by the test's thread under
 * one lock (test_net_tap, test_net_vpnkit): the count of log lines and the
 * last one, and a wait on any such count. */
#ifndef HK_TESTS_UNIT_NET_EVENTS_H
#define HK_TESTS_UNIT_NET_EVENTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "hyperkit.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int nlog;
static char last_log[256];

static inline void on_log(void *ctx, enum hk_log_level level, const char *msg)
{
    pthread_mutex_lock(&mu);
    nlog++;
    snprintf(last_log, sizeof(last_log), "%s", msg);
    pthread_mutex_unlock(&mu);
}

static inline int get(int *v)
{
    pthread_mutex_lock(&mu);
    int n = *v;
    pthread_mutex_unlock(&mu);
    return n;
}

/* Until *v reaches n: a bound on events (60 s of 1 ms naps), not speed. */
static inline bool wait_count(int *v, int n)
{
    for (int i = 0; i < 60000 && get(v) < n; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    return get(v) >= n;
}

#endif
