/*
 * Leaves long mode for 32-bit protected mode (through compatibility mode,
 * then CR0.PG=0 and EFER.LME=0), and there checks instructions 64-bit
 * mode dropped (PUSHA/POPA, INC/DEC 40-4F, DAA, AAM, AAD, XLAT, far CALL
 * ptr16:32, LDS) and interrupt delivery through a 32-bit IDT (INT n, #DE).
 * Prints one result per line; exits with status 1 (V=0).
 */
#include "guest.inc"

#define CODE32 0x18
#define DATA32 0x20

_start:
    lgdt gdtr(%rip)
    pushq $CODE32
    lea compat(%rip), %rax
    push %rax
    lretq

    .code32
compat:
    mov $DATA32, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %cr0, %eax
    and $0x7fffffff, %eax               /* paging off: long mode ends */
    mov %eax, %cr0
    mov $0xc0000080, %ecx
    rdmsr
    and $~0x100, %eax                   /* EFER.LME = 0 */
    wrmsr
    mov $stack_top, %esp

    /* 32-bit IDT: vector 0 (#DE) and 0x30 (software). */
    mov $on_de, %eax
    mov $idt, %edi
    call set_gate
    mov $on_int30, %eax
    mov $(idt + 0x30 * 8), %edi
    call set_gate
    lidt idtr

    mov $0x11111111, %eax               /* PUSHA/POPA round trip */
    mov $0x22222222, %ebx
    pusha
    xor %eax, %eax
    xor %ebx, %ebx
    popa
    add %ebx, %eax                      /* 33333333 */
    call show

    mov $0x7fffffff, %eax
    .byte 0x40                          /* inc %eax: 80000000 */
    call show
    .byte 0x48                          /* dec %eax: 7fffffff */
    call show

    mov $0x0199, %eax                   /* AL=99 + 1 -> DAA -> 00, CF */
    add $1, %al
    daa
    setc %ah
    movzx %ax, %eax                     /* 0100 */
    call show

    mov $63, %eax
    aam                                 /* AH=6 AL=3 -> 0603 */
    movzx %ax, %eax
    call show
    aad                                 /* back to 63 = 0x3f */
    movzx %ax, %eax
    call show

    mov $table, %ebx
    mov $3, %eax
    xlat                                /* 0x44 */
    movzx %al, %eax
    call show

    lcall $CODE32, $farproc              /* returns eax = 0xfa2 */
    call show

    lds farptr, %esi                    /* esi = 0x12345678, ds = DATA32 */
    mov %esi, %eax
    call show

    int $0x30                           /* handler sets eax = 0x30 */
    call show

    xor %edx, %edx
    mov $1, %eax
    xor %ecx, %ecx
    div %ecx                            /* #DE: handler skips, eax = 0xde */
    call show

    mov $0xf4, %dx
    xor %al, %al
    out %al, %dx
    hlt

farproc:
    mov $0xfa2, %eax
    lret

on_int30:
    mov $0x30, %eax
    iret

on_de:
    addl $2, (%esp)                     /* skip the 2-byte DIV */
    mov $0xde, %eax
    iret

/* Interrupt gate for handler eax at edi (selector CODE32). */
set_gate:
    mov %ax, (%edi)
    movw $CODE32, 2(%edi)
    movw $0x8e00, 4(%edi)
    shr $16, %eax
    mov %ax, 6(%edi)
    ret

/* Print eax as 8 hex digits and a newline. */
show:
    pusha
    mov %eax, %ebx
    HEX_DIGITS %ebx, 8, putc32
    mov $'\n', %al
    call putc32
    popa
    ret

putc32:
    push %eax
    mov $COM1_LSR, %dx
3:  in %dx, %al
    test $0x20, %al
    jz 3b
    pop %eax
    mov $COM1, %dx
    out %al, %dx
    ret

    .balign 8
gdtr:
    .word gdt_end - gdt - 1
    .quad gdt
idtr:
    .word 256 * 8 - 1
    .long idt
gdt:
    .quad 0
    .quad 0x00af9b000000ffff            /* 0x08: 64-bit code */
    .quad 0x00cf93000000ffff            /* 0x10: data */
    .quad 0x00cf9b000000ffff            /* 0x18: 32-bit code */
    .quad 0x00cf93000000ffff            /* 0x20: 32-bit data */
gdt_end:
table:
    .byte 0x11, 0x22, 0x33, 0x44
farptr:
    .long 0x12345678
    .word DATA32
    .balign 8
idt:
    .fill 256 * 8, 1, 0
    .fill 1024, 1, 0
stack_top:
