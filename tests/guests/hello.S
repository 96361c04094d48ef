/* Prints "hello" over COM1 and exits with status (21 << 1) | 1 = 43. */
#include "guest.inc"

_start:
    PRINT msg
    EXIT 21

    SERIAL_HELPERS
msg:
    .asciz "hello\n"
