/*
 * The tight-loop bench's guest (bench/loop-bench.sh): the two loops of
 * test_cpu_diff --bench (tests/cpu/bench.h), instruction for instruction,
 * in a Multiboot kernel that both hyperkit (-f multiboot) and QEMU
 * (-kernel, which loads only 32-bit Multiboot ELFs) can boot. It enters in
 * 32-bit protected mode, switches to long mode itself, runs the integer
 * loop and the copy loop the number of times the command line says
 * ("INT COPY": two decimal numbers, 0 skips a loop), checks the copy,
 * prints a line over COM1 and ends through the debug-exit port at 0xf4:
 * value 0 (exit status 1) when all went well, 1 (status 3) otherwise.
 */
#include "hexdigits.inc"
#include "mb_entry.inc"

#define COM1 0x3f8
#define DEBUG_EXIT 0xf4
#define MB_FLAGS 0x00000003
#define PML4 0x10000 /* page tables: low memory, out of the image's way */
#define SRC 0x200000 /* the copy loop's buffers, as in bench.h */
#define DST 0x300000
#define COPY_QWORDS 8192 /* 64 KiB a pass */

    .code32
    .text
    MULTIBOOT_HEADER MB_FLAGS

entry:
    mov $stack_top, %esp
    cmp $MB_BOOT_MAGIC, %eax
    jne fail32
    xor %esi, %esi
    testl $4, (%ebx)                    /* flags.cmdline */
    jz 1f
    mov 16(%ebx), %esi
1:  call number
    mov %eax, int_count
    call number
    mov %eax, copy_count

    /* The first GiB identity-mapped; CR4 PAE, CR0 PG ET PE. */
    IDENTITY_MAP PML4, 1
    ENTER_LONG_MODE PML4, 0x20, 0x80000011, long_mode

/* number: the next decimal number at esi (0 when there is none or esi is
 * NULL), leaving esi after it. Clobbers eax, edx. */
number:
    xor %eax, %eax
    test %esi, %esi
    jz 9f
3:  movzbl (%esi), %edx                 /* skip to a digit */
    test %edx, %edx
    jz 9f
    sub $'0', %edx
    cmp $9, %edx
    jbe 4f
    inc %esi
    jmp 3b
4:  movzbl (%esi), %edx
    sub $'0', %edx
    cmp $9, %edx
    ja 9f
    imul $10, %eax, %eax
    add %edx, %eax
    inc %esi
    jmp 4b
9:  ret

fail32:
    mov $DEBUG_EXIT, %dx
    mov $1, %al
    out %al, %dx
    hlt

    .code64
long_mode:
    LONG_MODE_SEGMENTS
    mov $stack_top, %esp

    /* A pattern in the source buffer, so that the check below means something. */
    mov $SRC, %edi
    mov $COPY_QWORDS, %ecx
    mov $0x0123456789abcdef, %rax
    mov $0x9e3779b97f4a7c15, %rdx
5:  mov %rax, (%rdi)
    add %rdx, %rax
    add $8, %rdi
    dec %ecx
    jnz 5b

    /* The integer loop, bench.h's cb_int_loop with ecx from the command line. */
    mov int_count(%rip), %ecx
    xor %eax, %eax
    mov $1, %edx
    test %ecx, %ecx
    jz 7f
    .balign 16, 0x90
6:  add %edx, %eax
    imul $3, %edx, %edx
    xor %ecx, %eax
    shr $1, %edx
    dec %ecx
    jnz 6b
7:  mov %eax, int_result(%rip)

    /* The copy loop, bench.h's cb_copy_loop with r8d from the command line. */
    mov $SRC, %esi
    mov $DST, %edi
    mov copy_count(%rip), %r8d
    test %r8d, %r8d
    jz 10f
    .balign 16, 0x90
8:  mov %rsi, %r9
    mov %rdi, %r10
    mov $COPY_QWORDS, %ecx
9:  mov (%r9), %rax
    mov %rax, (%r10)
    add $8, %r9
    add $8, %r10
    dec %ecx
    jnz 9b
    dec %r8d
    jnz 8b

    /* The copy must be exact: compare the buffers (not timed: the host
     * subtracts a run's fixed costs). */
    mov $COPY_QWORDS, %ecx
    repe cmpsq
    jne bad
10:
    lea done_msg(%rip), %rsi
    call putstr
    mov int_result(%rip), %eax
    call puthex
    mov $'\n', %al
    call putc
    mov $DEBUG_EXIT, %dx
    xor %al, %al
    out %al, %dx
    cli
    hlt

bad:
    lea bad_msg(%rip), %rsi
    call putstr
    mov $DEBUG_EXIT, %dx
    mov $1, %al
    out %al, %dx
    cli
    hlt

putstr:
    lodsb
    test %al, %al
    jz 2f
    call putc
    jmp putstr
2:  ret

putc:                                   /* al, once the transmitter is free */
    push %rax
    mov $(COM1 + 5), %dx
1:  in %dx, %al
    test $0x20, %al
    jz 1b
    pop %rax
    mov $COM1, %dx
    out %al, %dx
    ret

puthex:                                 /* eax as 8 hex digits */
    mov %eax, %ebx
    HEX_DIGITS %ebx, 8, putc
    ret

    LONG_MODE_GDT
int_count:  .long 0
copy_count: .long 0
int_result: .long 0
done_msg:   .asciz "bench-loop: done, integer loop eax="
bad_msg:    .asciz "bench-loop: FAIL: the copy differs from its source\n"
    .balign 16, 0x90
    .fill 4096, 1, 0
stack_top:
