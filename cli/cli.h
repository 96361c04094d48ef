/* The hyperkit command: what the files under cli/ share. Uses only hyperkit.h. */
#ifndef HK_CLI_H
#define HK_CLI_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "hyperkit.h"

/* Print "hyperkit: <message>" as one line on stderr; returns 1 (the exit status). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* -h: the usage text. */
void cli_usage(FILE *out);

/* -v: version and the engines this build has. */
void cli_version(FILE *out);

/* The thread that turns signals into VM requests (SIGUSR1 pause, SIGUSR2
 * resume, SIGTERM/SIGINT/SIGHUP stop). */
struct cli_signals {
    sigset_t set;
    hk_vm *vm;
    pthread_t thread;
    atomic_bool done;
    bool started;
};

/*
 * Block the handled signals in the calling thread. Call before any thread
 * exists (hk_vm_create) so every thread inherits the mask and only the
 * signal thread ever sees them.
 */
int cli_signals_block(struct cli_signals *s);

/* Start the signal thread for vm. */
int cli_signals_start(struct cli_signals *s, hk_vm *vm);

/* Stop and join the signal thread (no-op if it never started). */
void cli_signals_stop(struct cli_signals *s);

#endif
