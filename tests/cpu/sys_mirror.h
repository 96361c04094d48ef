/*
 * The rest of Linux's system tables for the emulator side (included by
 * emu_side.h, which builds the GDT and LDT from modes.h): the per-CPU
 * CPUNODE descriptor, an IDT with Linux's gate privileges, and a TSS with
 * a kernel stack, so INT n, INT3, LSL and RDTSCP meet what they meet on
 * the host.
 *
 * Linux's IDT (arch/x86/kernel/idt.c) lets user mode raise only #BP (INT3),
 * #OF (INTO) and vector 0x80 (DPL 3 gates); every other INT n is #GP with
 * error code n*8+2. A DPL 3 gate is really delivered here, to CPL 0 on the
 * TSS's RSP0 stack; the handler addresses encode the vector, and the frame
 * the CPU pushed (RIP after the instruction, CS, RFLAGS, RSP, SS) becomes
 * the result, as the host's signal context reports the same trap.
 */
#ifndef HK_TESTS_CPU_SYS_MIRROR_H
#define HK_TESTS_CPU_SYS_MIRROR_H

#define CD_G_IDT 0x20000ull
#define CD_G_TSS 0x21000ull
#define CD_G_KSTACK 0x22000ull
#define CD_IDT_LIN (CD_GDT_LIN + 0x2000) /* after the GDT and LDT pages */
#define CD_TSS_LIN (CD_GDT_LIN + 0x3000)
#define CD_KSTACK_LIN (CD_GDT_LIN + 0x4000)
#define CD_K_HANDLERS 0xffffffff81000000ull /* + 16 * vector; never run */
#define CD_GDT_CPUNODE 15

/* vdso_encode_cpunode(): what LSL 0x7b and RDTSCP's TSC_AUX give. */
static uint32_t cd_cpunode(void)
{
    return cd_host.cpu | cd_host.node << 12;
}

/* Gate for vector v: interrupt gate to the kernel's CS (0x10). */
static void cd_idt_gate(uint64_t *idt, unsigned v, unsigned dpl)
{
    uint64_t off = CD_K_HANDLERS + 16ull * v;
    idt[2 * v] = (off & 0xffff) | 0x10ull << 16 | (0x8eull | dpl << 5) << 40 |
                 ((off >> 16) & 0xffff) << 48;
    idt[2 * v + 1] = off >> 32;
}

static void cd_sys_emu_init(struct cd_emu *e)
{
    uint64_t *pt2 = cd_table(e, CD_G_PT2);
    uint64_t sys = CD_PTE_P | CD_PTE_RW | CD_PTE_NX; /* supervisor only */
    pt2[(CD_IDT_LIN >> 12) & 511] = CD_G_IDT | sys;
    pt2[(CD_TSS_LIN >> 12) & 511] = CD_G_TSS | sys;
    pt2[(CD_KSTACK_LIN >> 12) & 511] = CD_G_KSTACK | sys;
    uint64_t *idt = cd_table(e, CD_G_IDT);
    for (unsigned v = 0; v < 256; v++)
        cd_idt_gate(idt, v, v == 3 || v == 4 || v == 0x80 ? 3 : 0);
    uint64_t rsp0 = CD_KSTACK_LIN + 0x1000;
    memcpy((uint8_t *)cd_table(e, CD_G_TSS) + 4, &rsp0, 8);
    /* No I/O permission bit map, as Linux's TSS for a task without
     * ioperm(): the map base lies past the TSS limit, so port I/O at CPL 3
     * is #GP (SDM Vol. 1 19.5.2). */
    uint16_t iomap_base = 0x68;
    memcpy((uint8_t *)cd_table(e, CD_G_TSS) + 102, &iomap_base, 2);
    /* Linux's setup_getcpu(): read-only expand-down data (type 5), DPL 3,
     * 32-bit, byte granular, the CPU/node number as limit. */
    uint32_t lim = cd_cpunode();
    cd_table(e, CD_G_GDT)[CD_GDT_CPUNODE] = (lim & 0xffff) | 0xf5ull << 40 |
                                            (uint64_t)((lim >> 16) & 0xf) << 48 | 0x4ull << 52;
    struct emu_cpu *cpu = e->cpu;
    cpu->idtr = (struct accel_dtable){CD_IDT_LIN, 256 * 16 - 1};
    cpu->tr = (struct emu_segment){CD_TSS_LIN, 0x67, 0x40, 0x8b};
    cpu->msr_tsc_aux = lim;
}

/* Before each case: FS and GS null, as the host's 64-bit process has
 * them (ES, CS, SS, DS come from the mode). */
static void cd_sys_emu_reset(struct emu_cpu *cpu)
{
    cpu->seg[SEG_FS] = cpu->seg[SEG_GS] = (struct emu_segment){0, 0xffffffff, 0, 0xc0f3};
}

/* After a step that went through a DPL 3 gate into the kernel: the frame
 * as the result, and the CPU back at CPL 3 (mode code reloads CS and SS
 * next case; the TLB cached supervisor permissions). True if it did. */
static bool cd_sys_delivered(struct cd_emu *e, struct cd_state *out)
{
    struct emu_cpu *cpu = e->cpu;
    if (cpu->cpl != 0)
        return false;
    uint64_t f[5] = {0};
    uint64_t off = cpu->gpr[4] - CD_KSTACK_LIN;
    if (off <= 0x1000 - sizeof(f))
        memcpy(f, (uint8_t *)cd_table(e, CD_G_KSTACK) + off, sizeof(f));
    uint64_t h = cpu->rip - CD_K_HANDLERS;
    out->vector = h < 256 * 16 && !(h & 15) ? (int)(h / 16) : 256; /* 256: not a handler */
    out->rip = f[0];
    out->sreg[SEG_CS] = (uint16_t)f[1];
    out->rflags = f[2];
    out->gpr[4] = f[3];
    out->sreg[SEG_SS] = (uint16_t)f[4];
    cpu->seg[SEG_CS] = (struct emu_segment){0, 0xffffffff, 0x33, 0xa0fb};
    emu_update_mode(cpu);
    emu_tlb_flush(cpu);
    return true;
}

#endif
