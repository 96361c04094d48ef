/*
 * Builds a 64-bit IDT and checks that #BP (INT3), #DE (divide by zero) and
 * #PF (an unmapped address) reach their handlers with the right frame,
 * then that IRETQ resumes. Prints what it saw; exits with status 1 (V=0).
 */
#include "guest.inc"

#define UNMAPPED 0x140000000

.macro GATE vec, handler
    lea \handler(%rip), %rax
    lea idt(%rip), %rdi
    add $(\vec * 16), %rdi
    mov %ax, (%rdi)             /* offset 15:0 */
    movw $0x08, 2(%rdi)         /* code selector */
    movw $0x8e00, 4(%rdi)       /* present, DPL 0, 64-bit interrupt gate */
    shr $16, %rax
    mov %ax, 6(%rdi)            /* offset 31:16 */
    shr $16, %rax
    mov %eax, 8(%rdi)           /* offset 63:32 */
    movl $0, 12(%rdi)
.endm

_start:
    GATE 0, on_de
    GATE 3, on_bp
    GATE 14, on_pf
    lidt idtr(%rip)

    int3
    PRINT after_bp

    xor %edx, %edx
    mov $7, %eax
    xor %ecx, %ecx
    div %ecx                    /* 2 bytes: F7 F1; the handler skips it */
    PRINT after_de

    movabs $UNMAPPED, %rbx
    mov (%rbx), %rax            /* 3 bytes: 48 8B 03 */
    PRINT after_pf
    EXIT 0

on_bp:
    PRINT in_bp
    iretq

on_de:
    PRINT in_de
    addq $2, (%rsp)
    iretq

on_pf:
    PRINT in_pf
    mov %cr2, %rax
    call puthex
    mov $'\n', %al
    call putc
    mov (%rsp), %rax            /* error code: not present, read, supervisor = 0 */
    call puthex
    mov $'\n', %al
    call putc
    add $8, %rsp                /* drop the error code */
    addq $3, (%rsp)
    iretq

    SERIAL_HELPERS

    .balign 8
idtr:
    .word 256 * 16 - 1
    .quad idt
in_bp:    .asciz "in #BP\n"
after_bp: .asciz "after #BP\n"
in_de:    .asciz "in #DE\n"
after_de: .asciz "after #DE\n"
in_pf:    .asciz "in #PF at "
after_pf: .asciz "after #PF\n"
    .balign 16
idt:
    .fill 256 * 16, 1, 0
