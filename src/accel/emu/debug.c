/*
 * Debug registers (SDM Vol. 3B 17.2-17.3): DR0-DR3 instruction and data
 * breakpoints, DR6 status, DR7 control with general detect, and the RF
 * flag that lets an instruction breakpoint's instruction run once.
 *
 * Nothing here costs the common case: instructions are checked for
 * instruction breakpoints only when the run loop steps them one at a time
 * (RF, TF, or an armed instruction breakpoint on the page RIP is in send
 * it there: a decoded block never leaves its page), and data
 * accesses are checked only on a TLB miss, since a page that holds an
 * armed data breakpoint is never entered in the TLB.
 *
 * I/O breakpoints (R/W = 10b with CR4.DE) are checked on every port
 * access, which is an exit to the VMM anyway.
 *
 * Not implemented: DR6.BT (there are no task switches), and data
 * breakpoints on the accesses that event delivery itself makes (stack
 * pushes, IDT and GDT reads).
 */
#include "accel/emu/emu.h"

#define CR4_DE 0x8ull

/* DR7: Ln/Gn at bits 2n and 2n+1, R/Wn at 16+4n, LENn at 18+4n. */
static unsigned bp_rw(const struct emu_cpu *cpu, int n)
{
    return (cpu->dr[7] >> (16 + 4 * n)) & 3;
}

/* LEN 00b, 01b, 10b, 11b: 1, 2, 8, 4 bytes; the address bits below the
 * length are ignored (17.2.5). */
static uint64_t bp_len(const struct emu_cpu *cpu, int n)
{
    static const uint8_t len[4] = {1, 2, 8, 4};
    return len[(cpu->dr[7] >> (18 + 4 * n)) & 3];
}

static uint64_t bp_addr(const struct emu_cpu *cpu, int n)
{
    return cpu->dr[n] & ~(bp_len(cpu, n) - 1);
}

void emu_debug_update(struct emu_cpu *cpu)
{
    uint8_t exec = 0, data = 0;
    for (int n = 0; n < 4; n++) {
        if (!((cpu->dr[7] >> (2 * n)) & 3))
            continue;
        unsigned rw = bp_rw(cpu, n);
        if (rw == 0)
            exec |= (uint8_t)(1u << n);
        else if (rw != 2)
            data |= (uint8_t)(1u << n);
    }
    cpu->dbg_exec = exec;
    cpu->dbg_data = data;
    emu_tlb_flush(cpu); /* pages that hold a data breakpoint leave the TLB */
}

/* Whether [a, a+alen) and [b, b+blen) share a byte, with lengths >= 1.
 * Modulo 2^64, so a range that ends at the top of the address space
 * (a + alen == 0) or an access that wraps past it still matches. */
static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return b - a < alen || a - b < blen;
}

static uint64_t linear_rip(const struct emu_cpu *cpu)
{
    return cpu->mode == MODE_LONG64 ? cpu->rip : (uint32_t)(cpu->seg[SEG_CS].base + cpu->rip);
}

/* Instruction breakpoints match the instruction's first byte (its first
 * prefix), LEN being 00b for them (17.2.5). */
static uint8_t exec_hits(const struct emu_cpu *cpu)
{
    uint64_t lin = linear_rip(cpu);
    uint8_t hit = 0;
    for (int n = 0; n < 4; n++)
        if (((cpu->dbg_exec >> n) & 1) && bp_addr(cpu, n) == lin)
            hit |= (uint8_t)(1u << n);
    return hit;
}

bool emu_debug_exec_near(const struct emu_cpu *cpu)
{
    if (cpu->dbg_inhibit)
        return true; /* the instruction after MOV SS: it consumes the flag */
    uint64_t page = linear_rip(cpu) >> 12;
    for (int n = 0; n < 4; n++)
        if (((cpu->dbg_exec >> n) & 1) && (bp_addr(cpu, n) >> 12) == page)
            return true;
    return false;
}

/* DR6 for a breakpoint #DB: B0-B3 say which ones matched (only armed ones
 * here; 17.2.3 lets disabled ones show or not). */
static void set_b_bits(struct emu_cpu *cpu, uint8_t hit)
{
    cpu->dr[6] = (cpu->dr[6] & ~0xfull) | hit;
}

int emu_debug_insn_start(struct emu_cpu *cpu)
{
    /* The instruction after MOV SS / POP SS: its breakpoint is not taken
     * (17.3.1.1: "POP SS/MOV SS will inhibit such interrupts"). */
    bool inhibit = cpu->dbg_inhibit;
    cpu->dbg_inhibit = false;
    cpu->inhibit_at_start = inhibit;
    cpu->rf_at_start = (cpu->rflags & RFLAGS_RF) != 0;
    if (!cpu->rf_at_start && !inhibit && cpu->dbg_exec) {
        uint8_t hit = exec_hits(cpu);
        if (hit) {
            /* A fault before the instruction: RF stays as it is (0) in
             * the pushed RFLAGS, unlike other faults (17.3.1.1). */
            set_b_bits(cpu, hit);
            return emu_raise(cpu, EXC_DB);
        }
    }
    /* RF is cleared at the start of the instruction, after the
     * instruction-breakpoint check (17.3.1.1). */
    cpu->rflags &= ~RFLAGS_RF;
    return EMU_OK;
}

/* An exit to the VMM: the instruction starts again once the VMM
 * answered, at the same boundary, so RF and the MOV SS inhibit are as
 * they were. A fault is delivered instead: the handler's IRET back to
 * the instruction is a new boundary, no longer after MOV SS (the fault
 * frame has RF=1 anyway, 17.3.1.1). */
void emu_debug_insn_abort(struct emu_cpu *cpu, int st)
{
    if (st != EMU_EXIT)
        return;
    if (cpu->rf_at_start)
        cpu->rflags |= RFLAGS_RF;
    cpu->dbg_inhibit = cpu->inhibit_at_start;
}

int emu_debug_trap(struct emu_cpu *cpu)
{
    bool step = cpu->step_trap;
    cpu->step_trap = false;
    if (cpu->dbg_hold) {
        /* MOV SS hit a data breakpoint: the #DB comes after the next
         * instruction (SDM Vol. 3A 6.8.3). */
        cpu->dbg_hold = false;
        if (!step)
            return EMU_OK;
    }
    uint8_t hit = cpu->dbg_hit;
    if (!hit && !step)
        return EMU_OK;
    cpu->dbg_hit = 0;
    if (hit)
        set_b_bits(cpu, hit);
    if (step)
        cpu->dr[6] |= DR6_BS;
    return emu_raise(cpu, EXC_DB);
}

bool emu_debug_data_page(struct emu_cpu *cpu, uint64_t lin, unsigned size, enum emu_access acc)
{
    bool on_page = false;
    for (int n = 0; n < 4; n++) {
        if (!((cpu->dbg_data >> n) & 1))
            continue;
        uint64_t a = bp_addr(cpu, n), len = bp_len(cpu, n);
        if ((a >> 12) == (lin >> 12) || ((a + len - 1) >> 12) == (lin >> 12))
            on_page = true;
        /* R/W 01b: writes only; 11b: reads and writes (17.2.4). */
        bool kind = acc == ACC_WRITE || bp_rw(cpu, n) == 3;
        if (kind && size && overlap(a, len, lin, size)) {
            cpu->dbg_hit |= (uint8_t)(1u << n);
            emu_end_block(cpu); /* the trap follows this instruction */
        }
    }
    return on_page;
}

void emu_debug_io(struct emu_cpu *cpu, uint16_t port, unsigned size)
{
    if (!(cpu->cr4 & CR4_DE))
        return; /* R/W 10b is undefined without it (17.2.4) */
    for (int n = 0; n < 4; n++) {
        if (!((cpu->dr[7] >> (2 * n)) & 3) || bp_rw(cpu, n) != 2)
            continue;
        uint64_t a = bp_addr(cpu, n) & 0xffff, len = bp_len(cpu, n);
        if (size && overlap(a, len, port, size)) {
            cpu->dbg_hit |= (uint8_t)(1u << n);
            emu_end_block(cpu);
        }
    }
}

void emu_debug_mov_ss(struct emu_cpu *cpu)
{
    cpu->dbg_hold = cpu->dbg_hit != 0;
    cpu->dbg_inhibit = cpu->dbg_exec != 0;
}

/* The general-detect fault: before any MOV DR while DR7.GD is set, with
 * DR6.BD, and GD cleared so the handler may use the registers (17.2.4). */
static int general_detect(struct emu_cpu *cpu)
{
    cpu->dr[7] &= ~DR7_GD;
    cpu->dr[6] |= DR6_BD;
    cpu->rflags |= RFLAGS_RF; /* a fault: RF=1 in the pushed RFLAGS */
    return emu_raise(cpu, EXC_DB);
}

/* SDM "MOV—Move to/from Debug Registers": the caller checked DR8-15 (#UD)
 * and CPL (#GP); then DR4/DR5 with CR4.DE (#UD), general detect (#DB),
 * reserved bits 63:32 of DR6/DR7 (#GP). DR4/DR5 alias DR6/DR7 otherwise. */
int emu_debug_mov_dr(struct emu_cpu *cpu, unsigned n, bool write, uint64_t *v)
{
    if (n > 7 || ((n == 4 || n == 5) && (cpu->cr4 & CR4_DE)))
        return emu_raise(cpu, EXC_UD);
    if (cpu->dr[7] & DR7_GD)
        return general_detect(cpu);
    unsigned i = n == 4 ? 6 : n == 5 ? 7 : n;
    if (!write) {
        *v = cpu->dr[i];
        return EMU_OK;
    }
    if (i >= 6 && (*v >> 32))
        return emu_raise_err(cpu, EXC_GP, 0);
    if (i == 6) /* B0-B3, BD, BS, BT writable; the rest reads as fixed */
        cpu->dr[6] = (*v & 0xe00full) | 0xffff0ff0ull;
    else if (i == 7) /* bits 11, 12, 14, 15 read 0, bit 10 reads 1 */
        cpu->dr[7] = (*v & 0xffff23ffull) | 0x400ull;
    else
        cpu->dr[i] = *v;
    if (i != 6)
        emu_debug_update(cpu);
    return EMU_OK;
}
