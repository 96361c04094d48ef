/*
 * The system side of long mode: a new GDT (reloaded with LRETQ and MOV
 * to segment registers), a TSS (LTR), IRETQ to CPL 3, SYSCALL/SYSRETQ
 * with SWAPGS, and a #GP from user mode (HLT at CPL 3) that switches to
 * the TSS's RSP0 stack. Reports over COM1; exits with status 1 (V=0).
 */
#include "guest.inc"

#define KCODE 0x08
#define KDATA 0x10
#define UCODE 0x2b
#define UDATA 0x23
#define TSS_SEL 0x30

.macro GATE vec, handler
    lea \handler(%rip), %rax
    lea idt(%rip), %rdi
    add $(\vec * 16), %rdi
    mov %ax, (%rdi)
    movw $KCODE, 2(%rdi)
    movw $0x8e00, 4(%rdi)
    shr $16, %rax
    mov %ax, 6(%rdi)
    shr $16, %rax
    mov %eax, 8(%rdi)
    movl $0, 12(%rdi)
.endm

.macro WRMSR64 msr
    mov $\msr, %ecx
    mov %rax, %rdx
    shr $32, %rdx
    wrmsr
.endm

_start:
    /* Let CPL 3 use the loader's identity map: set U/S on every level. */
    orq $4, 0x1000
    orq $4, 0x2000
    mov $0x3000, %rdi
    mov $512, %ecx
1:  orq $4, (%rdi)
    add $8, %rdi
    loop 1b
    mov %cr3, %rax
    mov %rax, %cr3

    /* TSS descriptor for our TSS (it lies below 4 GiB). */
    lea tss(%rip), %rax
    mov %rax, %rbx
    shl $16, %rax
    movabs $0xffffff0000, %rdx
    and %rdx, %rax
    mov %rbx, %rcx
    shr $24, %rcx
    shl $56, %rcx
    or %rcx, %rax
    movabs $0x0000890000000067, %rcx
    or %rcx, %rax
    lea gdt(%rip), %rdi
    mov %rax, TSS_SEL(%rdi)
    lea kstack_top(%rip), %rax
    mov %rax, tss+4(%rip)               /* RSP0 */

    lgdt gdtr(%rip)
    mov $KDATA, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    pushq $KCODE
    lea 2f(%rip), %rax
    push %rax
    lretq
2:  mov $TSS_SEL, %ax
    ltr %ax
    str %ax
    cmp $TSS_SEL, %ax
    jne fail

    GATE 13, on_gp
    lidt idtr(%rip)

    mov $0xc0000080, %ecx               /* EFER.SCE */
    rdmsr
    or $1, %eax
    wrmsr
    movabs $((0x18 << 48) | (KCODE << 32)), %rax
    WRMSR64 0xc0000081                  /* STAR */
    lea syscall_entry(%rip), %rax
    WRMSR64 0xc0000082                  /* LSTAR */
    mov $0x200, %eax
    WRMSR64 0xc0000084                  /* SFMASK: clear IF */
    lea percpu(%rip), %rax
    WRMSR64 0xc0000102                  /* KERNEL_GS_BASE */
    mov $KCODE, %eax
    WRMSR64 0x174                       /* SYSENTER_CS */
    lea sysenter_stack(%rip), %rax
    WRMSR64 0x175                       /* SYSENTER_ESP */
    lea sysenter_entry(%rip), %rax
    WRMSR64 0x176                       /* SYSENTER_EIP */

    PRINT to_user
    pushq $UDATA
    lea ustack_top(%rip), %rax
    push %rax
    pushq $0x2
    pushq $UCODE
    lea user_entry(%rip), %rax
    push %rax
    iretq

user_entry:
    mov $1, %eax
    lea umsg(%rip), %rdi
    syscall                             /* print a string */
    mov %cs, %rdi
    mov $2, %eax
    syscall                             /* print CS in hex: 2b */
    mov %ss, %rdi
    mov $2, %eax
    syscall                             /* print SS in hex: 23 */
    lea 6f(%rip), %rdx                  /* SYSEXIT returns to RDX with RSP = RCX */
    mov %rsp, %rcx
    sysenter
6:  hlt                                 /* privileged: #GP(0) */
    jmp fail

/* rax = call number, rdi = argument. Runs at CPL 0 on the user's stack. */
syscall_entry:
    swapgs
    mov %gs:0, %r8                      /* percpu's first word: its magic */
    swapgs
    movabs $0x1badb002cafe, %r9
    cmp %r9, %r8
    jne fail
    push %rcx
    push %r11
    cmp $1, %eax
    jne 3f
    mov %rdi, %rsi
    call putstr
    jmp 4f
3:  mov %rdi, %rax
    call puthex
    mov $'\n', %al
    call putc
4:  pop %r11
    pop %rcx
    sysretq

sysenter_entry:
    mov %cs, %ax
    cmp $KCODE, %ax
    jne fail
    push %rcx                           /* SYSEXIT's RSP and RIP */
    push %rdx
    PRINT in_sysenter
    pop %rdx
    pop %rcx
    sysexitq

on_gp:
    /* The frame must be on the TSS's RSP0 stack: err, rip, cs, rflags, rsp, ss. */
    lea kstack_top(%rip), %rax
    sub $48, %rax
    cmp %rax, %rsp
    jne fail
    PRINT in_gp
    mov 16(%rsp), %rax                  /* the interrupted CS */
    call puthex
    mov $'\n', %al
    call putc
    EXIT 0

fail:
    PRINT failed
    EXIT 1

    SERIAL_HELPERS

    .balign 8
gdtr:
    .word gdt_end - gdt - 1
    .quad gdt
idtr:
    .word 256 * 16 - 1
    .quad idt
    .balign 16
gdt:
    .quad 0
    .quad 0x00af9b000000ffff            /* 0x08 kernel code */
    .quad 0x00cf93000000ffff            /* 0x10 kernel data */
    .quad 0x00cffb000000ffff            /* 0x18 user code, 32-bit */
    .quad 0x00cff3000000ffff            /* 0x20 user data */
    .quad 0x00affb000000ffff            /* 0x28 user code, 64-bit */
    .quad 0, 0                          /* 0x30 TSS, filled in */
gdt_end:
percpu:
    .quad 0x1badb002cafe
to_user:  .asciz "to user mode\n"
umsg:     .asciz "hello from CPL 3\n"
in_sysenter: .asciz "sysenter at CPL 0\n"
in_gp:    .asciz "#GP from "
failed:   .asciz "FAILED\n"
    .balign 16
tss:
    .fill 104, 1, 0
    .balign 16
idt:
    .fill 256 * 16, 1, 0
    .fill 4096, 1, 0
kstack_top:
    .fill 2048, 1, 0
sysenter_stack:
    .fill 2048, 1, 0
ustack_top:
