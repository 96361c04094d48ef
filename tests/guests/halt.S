/* Prints a line, then halts with interrupts off: hyperkit exits 0. */
#include "guest.inc"

_start:
    PRINT msg
    cli
    hlt
    jmp _start

    SERIAL_HELPERS
msg:
    .asciz "halting\n"
