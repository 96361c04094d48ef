/*
 * A static 32-bit Linux program for test_compat32.sh (no libc): it runs in
 * compatibility mode (CS 0x23) under Debian's 64-bit kernel, whose GDT and
 * TSS sit at 0xfffffe0000001000 and up. Segment loads, system calls
 * through INT 80h (IRET back to 32-bit code) and a signal delivered to a
 * 32-bit frame and returned from make the CPU read those tables from
 * compatibility mode. Prints C32OK and exits 0 when all of it worked.
 */
    .code32
    .globl _start
_start:
    mov $0x2b, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %fs
    mov $20, %eax          /* getpid through INT 80h: IRET back to CS 0x23 */
    int $0x80
    mov %eax, %esi
    mov $48, %eax          /* signal(SIGUSR1, handler) */
    mov $10, %ebx
    mov $handler, %ecx
    int $0x80
    mov $37, %eax          /* kill(getpid(), SIGUSR1): a 32-bit signal frame, sigreturn */
    mov %esi, %ebx
    mov $10, %ecx
    int $0x80
    cmpl $1, got
    jne fail
    mov $4, %eax
    mov $1, %ebx
    mov $msg, %ecx
    mov $6, %edx
    int $0x80
    mov $1, %eax
    xor %ebx, %ebx
    int $0x80
fail:
    mov $1, %eax
    mov $3, %ebx
    int $0x80
handler:
    movl $1, got
    mov $0x2b, %eax
    mov %eax, %gs
    ret
    .data
got: .long 0
msg: .ascii "C32OK\n"
