/*
 * A Multiboot loader that lets QEMU run a flat64 ring-0 test guest on its
 * own (scripts/sys-guest-qemu.sh): QEMU's -kernel takes only 32-bit
 * Multiboot images, and the guest must sit at 1 MiB, where QEMU would load
 * this loader. So this loads elsewhere, takes the guest as Multiboot
 * module 0 (-initrd), copies it to 1 MiB and enters it as hyperkit's
 * flat64 does (src/boot/flat64.c, longmode.c): 64-bit mode, the low 4 GiB
 * identity-mapped by 2 MiB pages, CR0 80000033, CR4 620, RFLAGS 2, RDI the
 * RAM size. It masks both PICs first: the BIOS leaves IRQ 0 on vector 8.
 */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003 /* modules page-aligned, memory info */
#define PML4 0x10000        /* low memory, out of the guest's way */
#define PDPT 0x11000
#define PD 0x12000          /* four page directories */
#define STACK_TOP 0x80000
#define GUEST 0x100000
#define RAM_SIZE 0x4000000  /* the -m 64M the script gives QEMU */

    .section .text.entry, "ax"
    .code32
    .globl _start
_start:
    jmp entry
    .balign 4
    .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
entry:
    mov $STACK_TOP, %esp
    mov $0xff, %al
    out %al, $0x21
    out %al, $0xa1
    mov 24(%ebx), %eax                  /* mods_addr: module 0 */
    mov (%eax), %esi
    mov 4(%eax), %ecx
    sub %esi, %ecx
    mov $GUEST, %edi
    cld
    rep movsb
    mov $PML4, %edi                     /* PML4, PDPT, 4 PDs */
    xor %eax, %eax
    mov $(6 * 4096 / 4), %ecx
    rep stosl
    movl $(PDPT | 3), PML4
    movl $(PD | 3), PDPT
    movl $((PD + 0x1000) | 3), PDPT + 8
    movl $((PD + 0x2000) | 3), PDPT + 16
    movl $((PD + 0x3000) | 3), PDPT + 24
    mov $PD, %edi
    mov $0x83, %eax                     /* present, writable, 2 MiB */
    xor %edx, %edx
    mov $2048, %ecx
1:  mov %eax, (%edi)
    mov %edx, 4(%edi)
    add $0x200000, %eax
    adc $0, %edx
    add $8, %edi
    loop 1b
    lgdt gdt_desc
    mov $0x620, %eax
    mov %eax, %cr4
    mov $PML4, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx               /* EFER.LME */
    rdmsr
    or $0x100, %eax
    wrmsr
    mov $0x80000033, %eax
    mov %eax, %cr0
    ljmp $0x08, $long_mode
    .code64
long_mode:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    mov $STACK_TOP, %rsp
    mov $RAM_SIZE, %rdi
    push $2
    popfq
    mov $GUEST, %eax
    jmp *%rax

    .balign 8
gdt:
    .quad 0, 0x00af9b000000ffff, 0x00cf93000000ffff
gdt_desc:
    .word 23
    .long gdt
