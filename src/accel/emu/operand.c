/* Operand access: effective and linear addresses, r/m operands, the stack. */
#include "accel/emu/cpu.h"

uint64_t emu_ea(const struct emu_cpu *cpu, const struct emu_insn *in)
{
    uint64_t ea = (uint64_t)(int64_t)in->disp;
    if (in->base == EA_RIP)
        ea += cpu->rip + in->len;
    else if (in->base != EA_NONE)
        ea += cpu->gpr[in->base];
    if (in->index != EA_NONE)
        ea += cpu->gpr[in->index] << in->scale;
    return ea & size_mask(in->adsz);
}

static bool canonical(uint64_t lin)
{
    return (uint64_t)((int64_t)(lin << 16) >> 16) == lin; /* shift unsigned: no UB */
}

int emu_linear(struct emu_cpu *cpu, int seg, uint64_t ea, unsigned size, enum emu_access acc,
               uint64_t *lin)
{
    if (cpu->mode == MODE_LONG64) {
        *lin = ea + (seg == SEG_FS || seg == SEG_GS ? cpu->seg[seg].base : 0);
        if (!canonical(*lin) || !canonical(*lin + size - 1))
            return emu_raise_err(cpu, seg == SEG_SS ? EXC_SS : EXC_GP, 0);
        return EMU_OK;
    }
    const struct emu_segment *s = &cpu->seg[seg];
    bool expand_down = (s->attr & 0x1c) == 0x14; /* data segment, E bit */
    if (cpu->mode != MODE_REAL && !expand_down && ea + size - 1 > s->limit)
        return emu_raise_err(cpu, seg == SEG_SS ? EXC_SS : EXC_GP, 0);
    *lin = (uint32_t)(s->base + ea);
    return EMU_OK;
}

int emu_read(struct emu_cpu *cpu, int seg, uint64_t ea, unsigned size, uint64_t *val)
{
    uint64_t lin;
    int st = emu_linear(cpu, seg, ea, size, ACC_READ, &lin);
    if (st)
        return st;
    *val = 0;
    return emu_read_lin(cpu, lin, val, size, ACC_READ);
}

int emu_write(struct emu_cpu *cpu, int seg, uint64_t ea, unsigned size, uint64_t val)
{
    uint64_t lin;
    int st = emu_linear(cpu, seg, ea, size, ACC_WRITE, &lin);
    if (st)
        return st;
    return emu_write_lin(cpu, lin, &val, size);
}

int rm_read(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, uint64_t *v)
{
    if (!(in->flags & INSN_MEM)) {
        *v = reg_read(cpu, in->rm, size);
        return EMU_OK;
    }
    return emu_read(cpu, in->seg, emu_ea(cpu, in), size, v);
}

int rm_write(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, uint64_t v)
{
    if (!(in->flags & INSN_MEM)) {
        reg_write(cpu, in->rm, size, v);
        return EMU_OK;
    }
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
