/*
 * Integer work the emu engine must get right: a sum loop, a multiply, a
 * division, string copy and compare, byte registers, shifts and flags.
 * Prints each result in hex; the test compares with known values.
 */
#include "guest.inc"

.macro SHOW
    call puthex
    mov $'\n', %al
    call putc
.endm

_start:
    /* sum of 1..100000 = 5000050000 = 0x12a06b550 */
    xor %eax, %eax
    mov $100000, %ecx
1:  add %rcx, %rax
    loop 1b
    SHOW

    /* 0x123456789 * 0x1000 + 0xabc, then / 7 */
    movabs $0x123456789, %rax
    mov $0x1000, %ecx
    imul %rcx, %rax
    add $0xabc, %rax
    xor %edx, %edx
    mov $7, %ecx
    div %rcx
    SHOW                        /* 0x299c335ccf6 */

    /* byte registers: AH/AL swap via xchg, then movzx */
    mov $0x1234, %eax
    xchg %ah, %al
    movzx %ax, %rax
    SHOW                        /* 0x3412 */

    /* rep movsb a string, then repe cmpsb against the source */
    lea src(%rip), %rsi
    lea dst(%rip), %rdi
    mov $16, %ecx
    cld
    rep movsb
    lea src(%rip), %rsi
    lea dst(%rip), %rdi
    mov $16, %ecx
    repe cmpsb
    mov %rcx, %rax              /* 0 when all 16 bytes matched */
    SHOW

    /* shifts and flags: sar of a negative number, setc after shl */
    mov $-256, %rax
    sar $4, %rax                /* 0xfffffffffffffff0 */
    SHOW
    mov $0x80000001, %eax
    shl $1, %eax                /* CF = 1, eax = 2 */
    setc %bl
    movzx %bl, %rbx
    shl $8, %rbx
    or %rbx, %rax               /* 0x102 */
    SHOW

    /* cmov and bsr */
    mov $0x40000, %ecx
    bsr %ecx, %eax              /* 18 */
    mov $5, %edx
    cmp $18, %eax
    cmove %edx, %eax            /* 5 */
    SHOW

    /* recursion through call/ret: fib(20) = 6765 = 0x1a6d */
    mov $20, %edi
    call fib
    SHOW
    EXIT 0

fib:
    cmp $2, %rdi
    jb 9f
    push %rdi
    dec %rdi
    call fib
    pop %rdi
    push %rax
    sub $2, %rdi
    call fib
    pop %rcx
    add %rcx, %rax
    ret
9:  mov %rdi, %rax
    ret

    SERIAL_HELPERS
src:
    .ascii "0123456789abcdef"
dst:
    .fill 16, 1, 0
