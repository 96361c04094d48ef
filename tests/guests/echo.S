/* Echoes COM1 input in upper case until it reads 'q', then exits 0 (status 1). */
#include "guest.inc"

_start:
    PRINT prompt
next:
    mov $COM1_LSR, %dx
1:  in %dx, %al
    test $1, %al            /* LSR.DR: a byte is waiting */
    jz 1b
    mov $COM1, %dx
    in %dx, %al
    cmp $'q', %al
    je done
    cmp $'a', %al
    jb 2f
    cmp $'z', %al
    ja 2f
    sub $0x20, %al
2:  call putc
    jmp next
done:
    PRINT bye
    EXIT 0

    SERIAL_HELPERS
prompt:
    .asciz "echo> "
bye:
    .asciz "\nbye\n"
