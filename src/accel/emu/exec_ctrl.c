/* Control transfer: jumps, calls, returns, loops, software interrupts. */
#include "accel/emu/exec.h"

/* Branch target: RIP-relative targets wrap to the operand size; outside
 * 64-bit mode one past CS's limit is #GP(0) at the branch (SDM "JMP"). */
static int jump_to(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t target)
{
    if (in->opsz == 2)
        target &= 0xffff;
    else if (cpu->mode != MODE_LONG64)
        target &= 0xffffffffull;
    else if (!emu_canonical(target))
        return emu_raise_err(cpu, EXC_GP, 0);
    if (cpu->mode != MODE_LONG64 && target > cpu->seg[SEG_CS].limit)
        return emu_raise_err(cpu, EXC_GP, 0);
    cpu->rip = target;
    return EMU_OK;
}

static uint64_t rel_target(const struct emu_cpu *cpu, const struct emu_insn *in)
{
    return cpu->rip + in->len + in->imm;
}

EXEC(ex_jmp_rel)
{
    return jump_to(cpu, in, rel_target(cpu, in));
}

EXEC(ex_jcc)
{
    if (emu_cond(cpu, in->sub))
        return jump_to(cpu, in, rel_target(cpu, in));
    return next(cpu, in);
}

/* A call checks its target before it pushes (SDM "CALL": #GP(0) for a
 * non-canonical target leaves the stack untouched). */
static int call_to(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t target)
{
    uint64_t ret = cpu->rip + in->len;
    int st = jump_to(cpu, in, target);
    if (st)
        return st;
    uint64_t new_rip = cpu->rip;
    cpu->rip = ret - in->len;
    if ((st = emu_push(cpu, in->opsz, ret)) != 0)
        return st;
    cpu->rip = new_rip;
    return EMU_OK;
}

EXEC(ex_call_rel)
{
    return call_to(cpu, in, rel_target(cpu, in));
}

/* RET and RET imm16 (imm is 0 for the plain form). */
EXEC(ex_ret)
{
    uint64_t target, old_rsp = cpu->gpr[4];
    int st = emu_pop(cpu, in->opsz, &target);
    if (st)
        return st;
    unsigned ss = emu_stack_size(cpu);
    reg_write(cpu, 4, ss, cpu->gpr[4] + in->imm);
    if ((st = jump_to(cpu, in, target)) != 0)
        cpu->gpr[4] = old_rsp;
    return st;
}

EXEC(ex_jmp_rm)
{
    uint64_t target;
    int st = rm_read(cpu, in, in->opsz, &target);
    return st ? st : jump_to(cpu, in, target);
}

EXEC(ex_call_rm)
{
    uint64_t target;
    int st = rm_read(cpu, in, in->opsz, &target);
    return st ? st : call_to(cpu, in, target);
}

/* LOOPNE (E0), LOOPE (E1), LOOP (E2): the count register is sized by the
 * address size. */
EXEC(ex_loop)
{
    uint64_t c = (cpu->gpr[1] - 1) & size_mask(in->adsz);
    bool zf = in->opcode != 0xe2 && (emu_rflags(cpu) & RFLAGS_ZF);
    bool go = c != 0 && (in->opcode == 0xe2 || (in->opcode == 0xe1 ? zf : !zf));
    uint64_t old = cpu->gpr[1];
    reg_write(cpu, 1, in->adsz, c);
    if (!go)
        return next(cpu, in);
    int st = jump_to(cpu, in, rel_target(cpu, in));
    if (st)
        cpu->gpr[1] = old;
    return st;
}

EXEC(ex_jcxz)
{
    if ((cpu->gpr[1] & size_mask(in->adsz)) == 0)
        return jump_to(cpu, in, rel_target(cpu, in));
    return next(cpu, in);
}

EXEC(ex_int3)
{
    int st = emu_interrupt(cpu, EXC_BP, INT_SOFTWARE, cpu->rip + in->len);
    return st ? st : EMU_END_BLOCK;
}

EXEC(ex_int_imm)
{
    int st = emu_interrupt(cpu, (int)(in->imm & 0xff), INT_SOFTWARE, cpu->rip + in->len);
    return st ? st : EMU_END_BLOCK;
}

/* INT1/ICEBP (F1): #DB as a trap, without the gate DPL check of INT n and
 * without DR6 bits (SDM Vol. 3A 6.4.1, "INT1"). */
EXEC(ex_icebp)
{
    int st = emu_interrupt(cpu, EXC_DB, INT_EXTERNAL, cpu->rip + in->len);
    return st ? st : EMU_END_BLOCK;
}

EXEC(ex_nop)
{
    return next(cpu, in);
}

EXEC(ex_ud)
{
    return emu_raise(cpu, EXC_UD);
}

/* CLC STC CMC CLD STD (F8 F9 F5 FC FD). */
EXEC(ex_flag_op)
{
    uint64_t f = emu_rflags(cpu);
    switch (in->opcode) {
    case 0xf5: f ^= RFLAGS_CF; break;
    case 0xf8: f &= ~RFLAGS_CF; break;
    case 0xf9: f |= RFLAGS_CF; break;
    case 0xfc: f &= ~RFLAGS_DF; break;
    default: f |= RFLAGS_DF; break;
    }
    cpu->rflags = f;
    return next(cpu, in);
}
