/* Loading the guest named by -f into memory and setting the boot vCPU. */
#ifndef HK_BOOT_BOOT_H
#define HK_BOOT_BOOT_H

#include <stddef.h>
#include <stdint.h>

struct vm;
struct hk_boot;

int boot_load(struct vm *vm, const struct hk_boot *boot, char *err, size_t errlen);

/* -f flat64,FILE: a flat binary at 1 MiB, entered in 64-bit mode. */
int boot_flat64(struct vm *vm, const char *path, char *err, size_t errlen);

/* -f multiboot,KERNEL[,MODULE[;CMDLINE]...][,CMDLINE] (Multiboot 0.6.96). */
int boot_multiboot(struct vm *vm, const struct hk_boot *boot, char *err, size_t errlen);

/* Enter the boot vCPU in 64-bit mode (longmode.c): the low 4 GiB
 * identity-mapped by page tables at 0x1000-0x6fff, a GDT at 0x500 with a
 * 64-bit code descriptor at selector cs and flat data at ds. */
struct boot_long_mode {
    uint16_t cs, ds;
    uint64_t cr0, cr4;
};
struct accel_regs;
int boot_long_mode(struct vm *vm, const struct boot_long_mode *m, const struct accel_regs *regs);

/* Read a whole host file (at most max bytes) into a malloc'd buffer. */
int boot_read_file(const char *path, uint64_t max, uint8_t **out, size_t *len, char *err,
                   size_t errlen);

/* Read a whole host file into guest memory at gpa; *size gets its length. */
int boot_load_file(struct vm *vm, const char *path, uint64_t gpa, uint64_t *size, char *err,
                   size_t errlen);

#endif
