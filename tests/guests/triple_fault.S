/* Executes UD2 with no IDT: #UD cannot be delivered, nor #DF: triple fault. */
#include "guest.inc"

_start:
    PRINT msg
    ud2

    SERIAL_HELPERS
msg:
    .asciz "about to fault\n"
