/* Catching SIGSEGV around an access a test expects to fault: the handler
 * counts the signal and jumps back to the sigsetjmp(segv_jmp, 1) before it.
 * Install with signal(SIGSEGV, on_segv). */
#ifndef PROGS_SEGV_H
#define PROGS_SEGV_H
#include <setjmp.h>
#include <signal.h>

static sigjmp_buf segv_jmp;
static volatile int segv_count;

static void on_segv(int sig)
{
    (void)sig;
    segv_count++;
    siglongjmp(segv_jmp, 1);
}
#endif
