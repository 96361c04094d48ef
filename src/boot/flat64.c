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
#define GDT_ADDR 0x500ull
#define PML4_ADDR 0x1000ull
#define PDPT_ADDR 0x2000ull
#define PD_ADDR 0x3000ull /* four page directories: 0x3000-0x6fff */

#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull

static int build_page_tables(struct vm *vm)
{
    uint64_t *pml4 = gmem_ptr_for_write(&vm->mem, PML4_ADDR, 4096);
    uint64_t *pdpt = gmem_ptr_for_write(&vm->mem, PDPT_ADDR, 4096);
    uint64_t *pd = gmem_ptr_for_write(&vm->mem, PD_ADDR, 4 * 4096);
    if (!pml4 || !pdpt || !pd)
        return HK_EINVAL;
    memset(pml4, 0, 4096);
    memset(pdpt, 0, 4096);
    pml4[0] = PDPT_ADDR | PTE_P | PTE_RW;
    for (int i = 0; i < 4; i++)
        pdpt[i] = (PD_ADDR + 4096ull * i) | PTE_P | PTE_RW;
    for (uint64_t i = 0; i < 4 * 512; i++)
        pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
    return HK_OK;
}

static int build_gdt(struct vm *vm)
{
    static const uint64_t gdt[] = {
        0,                      /* null */
        0x00af9b000000ffffull,  /* 0x08: 64-bit code, DPL 0 */
        0x00cf93000000ffffull,  /* 0x10: data, DPL 0 */
    };
    return gmem_write(&vm->mem, GDT_ADDR, gdt, sizeof(gdt));
}

static struct accel_segment flat_segment(uint16_t selector, uint16_t attr)
{
    return (struct accel_segment){.base = 0, .limit = 0xffffffff, .selector = selector,
                                  .attr = attr};
}

static int enter_long_mode(struct vm *vm)
{
    const struct accel_ops *ops = vm->accel_ops;
    struct accel_vcpu *cpu = vm->vcpus[0].accel;
    struct accel_sregs s = {0};
    /* attr: type, S=1, P=1, G=1; code adds L=1, data adds D/B=1. */
    s.cs = flat_segment(0x08, 0x0b | 0x10 | 0x80 | 0x2000 | 0x8000);
    s.ds = s.es = s.fs = s.gs = s.ss = flat_segment(0x10, 0x03 | 0x10 | 0x80 | 0x4000 | 0x8000);
    s.tr = (struct accel_segment){.limit = 0x67, .attr = 0x8b};
    s.ldt = (struct accel_segment){.attr = 0x82};
    s.gdt = (struct accel_dtable){GDT_ADDR, 3 * 8 - 1};
    s.idt = (struct accel_dtable){0, 0};
    s.cr0 = 0x80000033;          /* PG | NE | ET | MP | PE */
    s.cr3 = PML4_ADDR;
    s.cr4 = 0x620;               /* OSXMMEXCPT | OSFXSR | PAE: SSE usable */
    s.efer = 0x500;              /* LMA | LME */
    int r = ops->set_sregs(cpu, &s);
    if (r)
        return r;
    struct accel_regs regs = {0};
    regs.rip = FLAT64_LOAD_ADDR;
    regs.rflags = 0x2;
    regs.gpr[4] = FLAT64_STACK_TOP;
    regs.gpr[7] = vm->mem.ram_bytes; /* rdi: RAM size, for guests that want it */
    return ops->set_regs(cpu, &regs);
}

int boot_flat64(struct vm *vm, const char *path, char *err, size_t errlen)
{
    uint64_t size;
    int r = boot_load_file(vm, path, FLAT64_LOAD_ADDR, &size, err, errlen);
    if (r)
        return r;
    if (build_page_tables(vm) || build_gdt(vm)) {
        snprintf(err, errlen, "flat64: guest RAM too small for the boot page tables");
        return HK_EINVAL;
    }
    r = enter_long_mode(vm);
    if (r)
        snprintf(err, errlen, "flat64: cannot set the boot vCPU state: %s", hk_strerror(r));
    return r;
}
