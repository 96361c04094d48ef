/*
 * A Multiboot 0.6.96 kernel (32-bit ELF, or the a.out kludge with
 * -DAOUT_KLUDGE) entered in 32-bit protected mode. It checks EAX and
 * prints the command line, the module list (each module's command line and
 * first line of text), mem_upper and the memory-map entry count.
 */
#include "hexdigits.inc"
#include "mb_entry.inc"

#define COM1 0x3f8
#ifdef AOUT_KLUDGE
#define MB_FLAGS 0x00010003
#else
#define MB_FLAGS 0x00000003
#endif

    .code32
    .text
    MULTIBOOT_HEADER MB_FLAGS
#ifdef AOUT_KLUDGE
    .long mb_header, _start, 0, bss_end, entry
#endif

entry:
    mov $stack_top, %esp
    cmp $MB_BOOT_MAGIC, %eax
    jne bad
    mov %ebx, %ebp                      /* the info structure */
    mov $hello, %esi
    call puts

    testl $4, (%ebp)                    /* flags.cmdline */
    jz 1f
    mov 16(%ebp), %esi
    call puts
    call newline
1:  mov 20(%ebp), %ecx                  /* mods_count */
    mov 24(%ebp), %edi                  /* mods_addr */
2:  jecxz 3f
    mov 8(%edi), %esi                   /* module command line */
    call puts
    mov $colon, %esi
    call puts
    mov (%edi), %esi                    /* module text: print its first line */
    call putline
    add $16, %edi
    dec %ecx
    jmp 2b
3:  mov 8(%ebp), %eax                   /* mem_upper (KiB) */
    call puthex
    mov 44(%ebp), %eax                  /* mmap_length / 24 */
    xor %edx, %edx
    mov $24, %ecx
    div %ecx
    call puthex
    mov $0xf4, %dx                      /* debug exit, V = 0 */
    xor %al, %al
    out %al, %dx
bad:
    mov $0xf4, %dx
    mov $1, %al
    out %al, %dx
    hlt

puts:                                   /* esi: NUL-terminated */
    lodsb
    test %al, %al
    jz 9f
    call putc
    jmp puts
9:  ret

putline:                                /* esi: up to and with '\n' */
    lodsb
    call putc
    cmp $'\n', %al
    jne putline
    ret

newline:
    mov $'\n', %al
    jmp putc

puthex:                                 /* eax as 8 digits and '\n' */
    pusha
    mov %eax, %ebx
    HEX_DIGITS %ebx, 8, putc
    call newline
    popa
    ret

putc:
    push %edx
    push %eax
    mov $(COM1 + 5), %dx
6:  in %dx, %al
    test $0x20, %al
    jz 6b
    pop %eax
    mov $COM1, %dx
    out %al, %dx
    pop %edx
    ret

hello:  .asciz "multiboot: "
colon:  .asciz ": "
    .balign 16
    .fill 1024, 1, 0
stack_top:
bss_end:
