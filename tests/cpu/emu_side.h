/*
 * The emulator side of the differential tester: an emu CPU in long mode at
 * user level (CPL 3, IOPL 0, like the host process) whose 4-level page
 * tables map the host's code page and data pages at the same linear
 * addresses onto guest pages holding copies. Everything else is unmapped,
 * as the inaccessible guard pages around them are on the host, except a
 * supervisor-only GDT and LDT mirroring the host's (modes.h), from which
 * each case's code mode takes its segment registers.
 */
#ifndef HK_TESTS_CPU_EMU_SIDE_H
#define HK_TESTS_CPU_EMU_SIDE_H

#include <stdlib.h>
#include <string.h>

#include "accel/emu/emu.h"
#include "accel/emu/segment.h"
#include "accel/emu/step.h"
#include "core/guest_mem.h"
#include "native.h"

#define CD_G_PML4 0x1000ull
#define CD_G_PDPT 0x2000ull
#define CD_G_PD 0x3000ull
#define CD_G_PT 0x4000ull
#define CD_G_PT2 0x5000ull  /* maps the GDT and LDT */
#define CD_G_GDT 0x6000ull
#define CD_G_LDT 0x7000ull
#define CD_GDT_LIN (CD_BASE + 0x200000ull) /* outside the host's reservation */
#define CD_G_CODE 0x10000ull
#define CD_G_DATA 0x11000ull /* three pages, like CD_DATA */
#define CD_G_RAM 0x100000ull

#define CD_PTE_P 0x1ull
#define CD_PTE_RW 0x2ull
#define CD_PTE_US 0x4ull
#define CD_PTE_NX (1ull << 63)

struct cd_emu {
    struct guest_mem mem;
    struct emu_vm *evm;
    struct emu_cpu *cpu;
    uint8_t *code, *data; /* host views of the guest copies */
    struct emu_segment mode_seg[CD_NMODES][4]; /* ES CS SS DS per mode */
};

static uint64_t *cd_table(struct cd_emu *e, uint64_t gpa)
{
    return gmem_ptr_for_write(&e->mem, gpa, 4096);
}

static void cd_emu_page_tables(struct cd_emu *e)
{
    uint64_t user = CD_PTE_P | CD_PTE_RW | CD_PTE_US;
    cd_table(e, CD_G_PML4)[(CD_BASE >> 39) & 511] = CD_G_PDPT | user;
    cd_table(e, CD_G_PDPT)[(CD_BASE >> 30) & 511] = CD_G_PD | user;
    cd_table(e, CD_G_PD)[(CD_BASE >> 21) & 511] = CD_G_PT | user;
    uint64_t *pt = cd_table(e, CD_G_PT);
    pt[(CD_CODE >> 12) & 511] = CD_G_CODE | user;
    for (unsigned i = 0; i < 3; i++) {
        uint64_t rw = i < 2 ? CD_PTE_RW : 0; /* the third data page is read-only */
        pt[((CD_DATA >> 12) + i) & 511] = (CD_G_DATA + 4096ull * i) | CD_PTE_P | CD_PTE_US | rw |
                                          CD_PTE_NX;
    }
    cd_table(e, CD_G_PD)[(CD_GDT_LIN >> 21) & 511] = CD_G_PT2 | user;
    cd_table(e, CD_G_PT2)[0] = CD_G_GDT | CD_PTE_P | CD_PTE_RW | CD_PTE_NX;
    cd_table(e, CD_G_PT2)[1] = CD_G_LDT | CD_PTE_P | CD_PTE_RW | CD_PTE_NX;
}

/* The host's GDT and LDT in guest memory, and each mode's segment
 * registers loaded from them. A null selector keeps the flat cache the
 * 64-bit mode always had (64-bit code ignores DS and ES). */
static void cd_emu_tables(struct cd_emu *e, bool have_ldt)
{
    uint64_t *gdt = cd_table(e, CD_G_GDT), *ldt = cd_table(e, CD_G_LDT);
    memcpy(gdt, cd_linux_gdt, sizeof(cd_linux_gdt));
    if (have_ldt)
        cd_ldt_read(ldt, CD_LDT_ENTRIES);
    struct emu_cpu *cpu = e->cpu;
    cpu->gdtr = (struct accel_dtable){CD_GDT_LIN, CD_GDT_ENTRIES * 8 - 1};
    cpu->ldtr = have_ldt ? (struct emu_segment){CD_GDT_LIN + 0x1000, CD_LDT_ENTRIES * 8 - 1, 0x50, 0x82}
                         : (struct emu_segment){0, 0, 0, 0}; /* none, as the host then */
    for (int m = 0; m < CD_NMODES; m++) {
        for (int s = 0; s < 4; s++) {
            uint16_t sel = cd_modes[m].sel[s];
            uint64_t desc[2] = {(sel & 4) ? ldt[sel >> 3] : gdt[sel >> 3], 0};
            e->mode_seg[m][s] = sel ? emu_segment_from_desc(sel, desc, false)
                                    : (struct emu_segment){0, 0xffffffff, 0, 0xc0f3};
        }
    }
}

/* Long mode, paging with NX, user code and stack segments (Linux's 0x33
 * and 0x2b): CPL 3. */
static void cd_emu_long_mode(struct emu_cpu *cpu)
{
    cpu->cr0 = 0x80050033; /* PG AM WP NE ET MP PE, as Linux runs */
    cpu->cr3 = CD_G_PML4;
    cpu->cr4 = CR4_PAE;
    cpu->efer = EFER_LME | EFER_LMA | EFER_NXE | 1; /* SCE, as Linux sets it */
    cpu->seg[SEG_CS] = (struct emu_segment){0, 0xffffffff, 0x33, 0xa0fb};
    struct emu_segment data = {0, 0xffffffff, 0x2b, 0xc0f3};
    cpu->seg[SEG_SS] = data;
    data.selector = 0;
    cpu->seg[SEG_DS] = cpu->seg[SEG_ES] = cpu->seg[SEG_FS] = cpu->seg[SEG_GS] = data;
    emu_update_mode(cpu);
    emu_tlb_flush(cpu);
}

#include "sys_mirror.h"

static int cd_emu_init(struct cd_emu *e, const uint8_t *ro_page, bool have_ldt)
{
    memset(e, 0, sizeof(*e));
    if (gmem_init(&e->mem, CD_G_RAM))
        return -1;
    e->evm = calloc(1, sizeof(*e->evm));
    e->cpu = calloc(1, sizeof(*e->cpu));
    if (!e->evm || !e->cpu)
        return -1;
    e->evm->mem = &e->mem; /* no page_blocks: emu_step_one uses no block cache */
    e->cpu->vm = e->evm;
    emu_cpu_reset(e->cpu);
    cd_emu_page_tables(e);
    cd_emu_long_mode(e->cpu);
    cd_emu_tables(e, have_ldt);
    cd_sys_emu_init(e);
    e->code = gmem_ptr_for_write(&e->mem, CD_G_CODE, 4096);
    e->data = gmem_ptr_for_write(&e->mem, CD_G_DATA, CD_DATA_SIZE);
    memcpy(e->data + CD_DATA_RW, ro_page, 0x1000);
    return 0;
}

static void cd_emu_fini(struct cd_emu *e)
{
    free(e->cpu);
    free(e->evm);
    gmem_fini(&e->mem);
}

/* The host goes on to fetch the INT3 at the new CS:RIP: a fault there (a
 * branch out of the code page, past the code segment's limit) is what it
 * reports, at that RIP. */
static void cd_emu_fetch_next(struct emu_cpu *cpu, struct cd_state *out)
{
    uint8_t b;
    uint64_t lin = cpu->rip;
    int st = EMU_OK;
    if (cpu->mode != MODE_LONG64) {
        lin = (uint32_t)(cpu->seg[SEG_CS].base + cpu->rip);
        if (cpu->rip > cpu->seg[SEG_CS].limit)
            st = emu_raise_err(cpu, EXC_GP, 0);
    }
    if (!st)
        st = emu_read_lin(cpu, lin, &b, 1, ACC_EXEC);
    if (st == EMU_FAULT) {
        out->vector = cpu->exc.vector;
        out->error = cpu->exc.has_error ? cpu->exc.error : 0;
        out->cr2 = cpu->cr2;
    }
}

static void cd_emu_result(struct cd_emu *e, int st, const struct accel_exit *exit,
                          struct cd_state *out)
{
    struct emu_cpu *cpu = e->cpu;
    memcpy(out->gpr, cpu->gpr, sizeof(out->gpr));
    out->rip = cpu->rip;
    out->rflags = emu_rflags(cpu);
    for (int s = 0; s < 6; s++)
        out->sreg[s] = cpu->seg[s].selector;
    cd_sys_null_rpl(out->sreg);
    out->vector = -1;
    out->error = 0;
    out->cr2 = cpu->cr2;
    if (st == EMU_FAULT) {
        out->vector = cpu->exc.vector;
        out->error = cpu->exc.has_error ? cpu->exc.error : 0;
    } else if (st == EMU_EXIT) {
        out->vector = 100 + (int)exit->reason;
    } else if (!cd_sys_delivered(e, out)) {
        cd_emu_fetch_next(cpu, out);
    }
}

/* Run the instruction in the code page copy from state in, in code mode
 * m; *in_out gets the decoded instruction (for the flags it leaves
 * undefined). An exit to the VMM (which a user-mode instruction should
 * never need) reads as vector 100 + exit reason. */
static void cd_emu_run(struct cd_emu *e, int m, const struct cd_state *in, const uint8_t *data,
                       struct cd_state *out, struct emu_insn *insn)
{
    struct emu_cpu *cpu = e->cpu;
    memcpy(e->code, (const void *)CD_CODE, 4096);
    memcpy(e->data, data, CD_DATA_RW);
    memcpy(cpu->gpr, in->gpr, sizeof(cpu->gpr));
    memcpy(cpu->seg, e->mode_seg[m], sizeof(e->mode_seg[m]));
    cd_sys_emu_reset(cpu);
    emu_update_mode(cpu);
    cpu->rip = in->rip;
    emu_set_rflags(cpu, in->rflags);
    cpu->cr2 = 0;
    memset(insn, 0, sizeof(*insn));
    emu_decode(cpu, (const uint8_t *)CD_INSN, 15, insn);
    struct accel_exit exit;
    int st = emu_step_one(cpu, &exit);
    cd_emu_result(e, st, &exit, out);
}

#endif
