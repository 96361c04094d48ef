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
#include "../mb_entry.inc"

#define MB_FLAGS 0x00000003 /* modules page-aligned, memory info */
#define PML4 0x10000        /* low memory, out of the guest's way */
#define STACK_TOP 0x80000
#define GUEST 0x100000
#define RAM_SIZE 0x4000000  /* the -m 64M the script gives QEMU */

    .section .text.entry, "ax"
    .code32
    MULTIBOOT_HEADER MB_FLAGS
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
    IDENTITY_MAP PML4, 4
    ENTER_LONG_MODE PML4, 0x620, 0x80000033, long_mode
    .code64
long_mode:
    LONG_MODE_SEGMENTS
    mov $STACK_TOP, %rsp
    mov $RAM_SIZE, %rdi
    push $2
    popfq
    mov $GUEST, %eax
    jmp *%rax

    LONG_MODE_GDT
