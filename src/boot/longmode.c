/*
 * What the loaders that enter a guest in 64-bit mode share (flat64, and
 * Linux's 64-bit boot protocol): the low 4 GiB identity-mapped by 2 MiB
 * pages at 0x1000-0x6fff, a flat GDT at 0x500, and the boot vCPU's state.
 */
#include <string.h>

#include "boot/boot.h"
#include "core/vm.h"

#define GDT_ADDR 0x500ull
#define PML4_ADDR 0x1000ull
#define PDPT_ADDR 0x2000ull
#define PD_ADDR 0x3000ull /* four page directories: 0x3000-0x6fff */

#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull

static int identity_map_4g(struct vm *vm)
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

static struct accel_segment flat(uint16_t selector, uint16_t attr)
{
    return (struct accel_segment){.base = 0, .limit = 0xffffffff, .selector = selector,
                                  .attr = attr};
}

int boot_long_mode(struct vm *vm, const struct boot_long_mode *m, const struct accel_regs *regs)
{
    /* The GDT: null, then 64-bit code at cs, flat data at ds (8-byte slots). */
    uint64_t gdt[8] = {0};
    unsigned n = (m->cs > m->ds ? m->cs : m->ds) / 8 + 1;
    if (n > 8 || m->cs < 8 || m->ds < 8 || m->cs == m->ds)
        return HK_EINVAL;
    gdt[m->cs / 8] = 0x00af9b000000ffffull;
    gdt[m->ds / 8] = 0x00cf93000000ffffull;
    int r = identity_map_4g(vm);
    if (!r)
        r = gmem_write(&vm->mem, GDT_ADDR, gdt, n * 8);
    if (r)
        return HK_EINVAL;
    struct accel_sregs s = {0};
    /* attr (VMX layout): type, S, P, G; code adds L, data adds D/B. */
    s.cs = flat(m->cs, 0x0b | 0x10 | 0x80 | 0x2000 | 0x8000);
    s.ds = s.es = s.fs = s.gs = s.ss = flat(m->ds, 0x03 | 0x10 | 0x80 | 0x4000 | 0x8000);
    s.tr = (struct accel_segment){.limit = 0x67, .attr = 0x8b};
    s.ldt = (struct accel_segment){.attr = 0x82};
    s.gdt = (struct accel_dtable){GDT_ADDR, (uint16_t)(n * 8 - 1)};
    s.cr0 = m->cr0;
    s.cr3 = PML4_ADDR;
    s.cr4 = m->cr4;
    s.efer = 0x500; /* LMA | LME */
    struct accel_vcpu *cpu = vm->vcpus[0].accel;
    r = vm->accel_ops->set_sregs(cpu, &s);
    return r ? r : vm->accel_ops->set_regs(cpu, regs);
}
