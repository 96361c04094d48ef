/* Operand access: effective and linear addresses, r/m operands, the stack. */
#include <string.h>

#include "accel/emu/cpu.h"

/* The alignment #AC asks of an operand of this size (SDM Vol. 3A 6.15,
 * "Interrupt 17", table of alignment requirements): its own size for
 * 2, 4, 8 and 16 bytes, 8 for an x87 80-bit value, 4 for a 16:32 far
 * pointer and the x87/FXSAVE state images (what an AMD EPYC host does;
 * a misaligned FXSAVE image is #GP after that). */
static unsigned ac_alignment(unsigned size)
{
    if (size == 10)
        return 8;
    if (size > 16 || (size & (size - 1)))
        return (size % 4) ? 2 : 4;
    return size;
}

/* #AC: a data access at CPL 3 with CR0.AM and RFLAGS.AC set, misaligned
 * for its size. Supervisor-mode accesses to system structures never get
 * here (they go to emu_read_lin with CPL 0), nor do fetches. */
static int alignment_check(struct emu_cpu *cpu, uint64_t lin, unsigned size)
{
    if (cpu->cpl == 3 && (cpu->cr0 & CR0_AM) && (lin & (ac_alignment(size) - 1)))
        return emu_raise_err(cpu, EXC_AC, 0);
    return EMU_OK;
}

/* Protected-mode access rights (SDM Vol. 3A 5.4.1 and 3.4.5.1): a null
 * (unusable, P clear) segment, a write to a code or read-only data
 * segment, a read of execute-only code all raise #GP(0). */
static bool segment_denies(const struct emu_segment *s, enum emu_access acc)
{
    bool code = s->attr & 0x8, rw = s->attr & 0x2;
    if (!(s->attr & 0x80))
        return true;
    if (acc == ACC_WRITE)
        return code || !rw;
    return acc == ACC_READ && code && !rw;
}

int emu_linear(struct emu_cpu *cpu, int seg, uint64_t ea, unsigned size, enum emu_access acc,
               uint64_t *lin)
{
    if (cpu->mode == MODE_LONG64) {
        *lin = ea + (seg == SEG_FS || seg == SEG_GS ? cpu->seg[seg].base : 0);
        if (!emu_canonical(*lin) || !emu_canonical(*lin + size - 1))
            return emu_raise_err(cpu, seg == SEG_SS ? EXC_SS : EXC_GP, 0);
    } else {
        const struct emu_segment *s = &cpu->seg[seg];
        /* An expand-down data segment holds the offsets above its limit, up
         * to FFFFh or (B set) FFFFFFFFh (SDM Vol. 3A 5.3). */
        bool expand_down = (s->attr & 0x1c) == 0x14; /* data segment, E bit */
        uint64_t low = expand_down ? (uint64_t)s->limit + 1 : 0;
        uint64_t top = !expand_down ? s->limit : (s->attr & 0x4000) ? 0xffffffffull : 0xffff;
        if (cpu->mode != MODE_REAL && segment_denies(s, acc))
            return emu_raise_err(cpu, EXC_GP, 0);
        if (cpu->mode != MODE_REAL && (ea < low || ea + size - 1 > top))
            return emu_raise_err(cpu, seg == SEG_SS ? EXC_SS : EXC_GP, 0);
        *lin = (uint32_t)(s->base + ea);
    }
    /* RFLAGS.AC is always materialized (lazy flags hold only the
     * arithmetic bits), so with AC clear this is the one test paid; CR0.AM
     * and CPL are looked at only when a program sets AC (or the kernel
     * opens a STAC window, at CPL 0). */
    if (cpu->rflags & RFLAGS_AC)
        return alignment_check(cpu, *lin, size);
    return EMU_OK;
}

int emu_read(struct emu_cpu *cpu, int seg, uint64_t ea, unsigned size, uint64_t *val)
{
    uint8_t *host = emu_tlb_host(cpu, cpu->tlb_read, seg, ea, size);
    if (host) {
        *val = 0;
        memcpy(val, host, size);
        return EMU_OK;
    }
    uint64_t lin;
    int st = emu_linear(cpu, seg, ea, size, ACC_READ, &lin);
    if (st)
        return st;
    *val = 0;
    return emu_read_lin(cpu, lin, val, size, ACC_READ);
}

int emu_write(struct emu_cpu *cpu, int seg, uint64_t ea, unsigned size, uint64_t val)
{
    uint8_t *host = emu_tlb_host(cpu, cpu->tlb_write, seg, ea, size);
    if (host) {
        memcpy(host, &val, size);
        return EMU_OK;
    }
    uint64_t lin;
    int st = emu_linear(cpu, seg, ea, size, ACC_WRITE, &lin);
    if (st)
        return st;
    return emu_write_lin(cpu, lin, &val, size);
}

int rm_read_mem(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, uint64_t *v)
{
    return emu_read(cpu, in->seg, emu_ea(cpu, in), size, v);
}

int rm_write_mem(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, uint64_t v)
{
    return emu_write(cpu, in->seg, emu_ea(cpu, in), size, v);
}

/* Stack pointer width: 64 in long mode, else SS.B selects 32 or 16. */
unsigned emu_stack_size(const struct emu_cpu *cpu)
{
    if (cpu->mode == MODE_LONG64)
        return 8;
    return (cpu->seg[SEG_SS].attr & 0x4000) ? 4 : 2;
}

int emu_push(struct emu_cpu *cpu, unsigned size, uint64_t v)
{
    unsigned ss = emu_stack_size(cpu);
    uint64_t sp = (cpu->gpr[4] - size) & size_mask(ss);
    int st = emu_write(cpu, SEG_SS, sp, size, v);
    if (st)
        return st;
    reg_write(cpu, 4, ss, sp);
    return EMU_OK;
}

int emu_pop(struct emu_cpu *cpu, unsigned size, uint64_t *v)
{
    unsigned ss = emu_stack_size(cpu);
    uint64_t sp = cpu->gpr[4] & size_mask(ss);
    int st = emu_read(cpu, SEG_SS, sp, size, v);
    if (st)
        return st;
    reg_write(cpu, 4, ss, sp + size);
    return EMU_OK;
}
