/*
 * -f flat64,FILE: our boot mode for small test guests. The binary is loaded
 * at 1 MiB and entered in 64-bit mode with the low 4 GiB identity-mapped by
 * 2 MiB pages, a flat GDT, interrupts off and RSP just below 512 KiB.
 */
#include <stdio.h>
#include <string.h>

#include "boot/boot.h"
#include "core/vm.h"

#define FLAT64_LOAD_ADDR 0x100000ull
#define FLAT64_STACK_TOP 0x80000ull

int boot_flat64(struct vm *vm, const char *path, char *err, size_t errlen)
{
    uint64_t size;
    int r = boot_load_file(vm, path, FLAT64_LOAD_ADDR, &size, err, errlen);
    if (r)
        return r;
    struct accel_regs regs = {0};
    regs.rip = FLAT64_LOAD_ADDR;
    regs.rflags = 0x2;
    regs.gpr[4] = FLAT64_STACK_TOP;
    regs.gpr[7] = vm->mem.ram_bytes; /* rdi: RAM size, for guests that want it */
    /* PG | NE | ET | MP | PE, and OSXMMEXCPT | OSFXSR | PAE: SSE usable. */
    const struct boot_long_mode m = {.cs = 0x08, .ds = 0x10, .cr0 = 0x80000033, .cr4 = 0x620};
    r = boot_long_mode(vm, &m, &regs);
    if (r)
        snprintf(err, errlen, "flat64: cannot set up 64-bit mode: %s", hk_strerror(r));
    return r;
}
