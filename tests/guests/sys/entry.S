/*
 * Entry, exception stubs and the context switch of the ring-0 test runtime.
 * flat64 enters here in 64-bit mode with interrupts off (see rt.h).
 */
    .section .text.entry, "ax"
    .code64
    .globl _start
_start:
    lea rt_kstack+16384(%rip), %rsp
    /* Zero .bss: the flat binary does not carry it. */
    lea __bss_start(%rip), %rdi
    lea __bss_end(%rip), %rcx
    sub %rdi, %rcx
    xor %eax, %eax
    cld
    rep stosb
    call rt_init
    call test_main
    call rt_exit
1:  cli
    hlt
    jmp 1b

    .text
/* One stub per vector: push a 0 where the CPU pushes no error code. */
    .globl rt_stubs
    .balign 16
rt_stubs:
vec = 0
    .rept 256
    .balign 16
    .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    nop
    nop
    .else
    pushq $0
    .endif
    pushq $vec
    jmp rt_common
vec = vec + 1
    .endr

rt_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    cld
    mov %rsp, %rdi
    /* The CPU aligned RSP to 16 before its frame; 22 pushes keep it so. */
    call rt_trap
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp
    iretq

/* int rt_setjmp(struct rt_jmp *j): callee-saved registers, RSP, RFLAGS. */
    .globl rt_setjmp
rt_setjmp:
    mov %rbx, 0(%rdi)
    mov %rbp, 8(%rdi)
    mov %r12, 16(%rdi)
    mov %r13, 24(%rdi)
    mov %r14, 32(%rdi)
    mov %r15, 40(%rdi)
    lea 8(%rsp), %rax
    mov %rax, 48(%rdi)
    mov (%rsp), %rax
    mov %rax, 56(%rdi)
    pushfq
    pop %rax
    mov %rax, 64(%rdi)
    xor %eax, %eax
    ret

/* void rt_longjmp(struct rt_jmp *j, int v): back into rt_setjmp's caller at
 * CPL 0 with the kernel's segments, RSP and RFLAGS as saved. */
    .globl rt_longjmp
rt_longjmp:
    mov $0x10, %ax
    mov %ax, %ss
    mov %ax, %ds
    mov %ax, %es
    mov 0(%rdi), %rbx
    mov 8(%rdi), %rbp
    mov 16(%rdi), %r12
    mov 24(%rdi), %r13
    mov 32(%rdi), %r14
    mov 40(%rdi), %r15
    mov 48(%rdi), %rsp
    push 64(%rdi)
    popfq
    mov %esi, %eax
    jmp *56(%rdi)

/* void rt_enter_user(uint64_t rip, uint64_t rsp, uint64_t cs, uint64_t rflags,
 *                    uint64_t arg): IRETQ to CPL 3 with DS/ES = user data. */
    .globl rt_enter_user
rt_enter_user:
    mov $0x2b, %ax
    mov %ax, %ds
    mov %ax, %es
    pushq $0x2b
    push %rsi
    push %rcx
    push %rdx
    push %rdi
    mov %r8, %rdi
    xor %eax, %eax
    xor %ebx, %ebx
    xor %esi, %esi
    xor %ebp, %ebp
    iretq

/* Where user code returns to: hand control back to the kernel. */
    .globl rt_user_return64
rt_user_return64:
    int $0x81
    ud2
    .code32
    .globl rt_user_return32
rt_user_return32:
    int $0x81
    ud2
    .code64
