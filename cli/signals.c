/*
 * Signals, handled in one thread with sigwait() rather than in handlers:
 * the hk_vm_* calls take locks and are not async-signal-safe.
 */
#include <signal.h>

#include "cli.h"

int cli_signals_block(struct cli_signals *s)
{
    *s = (struct cli_signals){0};
    sigemptyset(&s->set);
    sigaddset(&s->set, SIGUSR1);
    sigaddset(&s->set, SIGUSR2);
    sigaddset(&s->set, SIGTERM);
    sigaddset(&s->set, SIGINT);
    sigaddset(&s->set, SIGHUP);
    /* Console and socket writes report EPIPE instead of killing us. */
    signal(SIGPIPE, SIG_IGN);
    return pthread_sigmask(SIG_BLOCK, &s->set, NULL) == 0 ? 0 : -1;
}

static void *signal_thread(void *arg)
{
    struct cli_signals *s = arg;
    for (;;) {
        int sig;
        if (sigwait(&s->set, &sig) != 0)
            continue;
        /* cli_signals_stop() wakes us with a signal once done is set. */
        if (atomic_load(&s->done))
            break;
        /* Errors (e.g. pausing a VM that just stopped) need no action. */
        if (sig == SIGUSR1)
            (void)hk_vm_pause(s->vm);
        else if (sig == SIGUSR2)
            (void)hk_vm_resume(s->vm);
        else
            (void)hk_vm_request_stop(s->vm);
    }
    return NULL;
}

int cli_signals_start(struct cli_signals *s, hk_vm *vm)
{
    s->vm = vm;
    atomic_store(&s->done, false);
    if (pthread_create(&s->thread, NULL, signal_thread, s) != 0)
        return -1;
    s->started = true;
    return 0;
}

void cli_signals_stop(struct cli_signals *s)
{
    if (!s->started)
        return;
    atomic_store(&s->done, true);
    pthread_kill(s->thread, SIGTERM);
    pthread_join(s->thread, NULL);
    s->started = false;
}
