/*
 * The native side of the SSE and MMX harnesses runs one instruction that
 * may fault: fn (which longjmps back with the vector) catches every signal
 * a faulting instruction raises. SA_NODEFER: the handler leaves by
 * longjmp, so the signal must not stay blocked.
 */
#ifndef HK_TESTS_CPU_CATCH_FAULTS_H
#define HK_TESTS_CPU_CATCH_FAULTS_H

#include <signal.h>

static void catch_faults(void (*fn)(int, siginfo_t *, void *))
{
    struct sigaction sa = {.sa_sigaction = fn, .sa_flags = SA_SIGINFO | SA_NODEFER};
    static const int sigs[] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS};
    for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
}

#endif
