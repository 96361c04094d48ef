/* Data movement: MOV forms, LEA, XCHG, extensions, the stack, flags to AH. */
#include "accel/emu/exec.h"

EXEC(ex_mov_rm_reg)
{
    int st = rm_write(cpu, in, in->opsz, reg_read(cpu, in->reg, in->opsz));
    return st ? st : next(cpu, in);
}

EXEC(ex_mov_reg_rm)
{
    uint64_t v;
    int st = rm_read(cpu, in, in->opsz, &v);
    if (st)
        return st;
    reg_write(cpu, in->reg, in->opsz, v);
    return next(cpu, in);
}

EXEC(ex_mov_rm_imm)
{
    int st = rm_write(cpu, in, in->opsz, in->imm);
    return st ? st : next(cpu, in);
}

EXEC(ex_mov_reg_imm)
{
    reg_write(cpu, in->reg, in->opsz, in->imm);
    return next(cpu, in);
}

/* A0-A3: the offset is an address-size immediate (in->imm). */
EXEC(ex_mov_acc_moffs)
{
    uint64_t v;
    int st = emu_read(cpu, in->seg, in->imm & size_mask(in->adsz), in->opsz, &v);
    if (st)
        return st;
    reg_write(cpu, 0, in->opsz, v);
    return next(cpu, in);
}

EXEC(ex_mov_moffs_acc)
{
    int st = emu_write(cpu, in->seg, in->imm & size_mask(in->adsz), in->opsz,
                       reg_read(cpu, 0, in->opsz));
    return st ? st : next(cpu, in);
}

EXEC(ex_lea)
{
    if (!(in->flags & INSN_MEM))
        return emu_raise(cpu, EXC_UD);
    reg_write(cpu, in->reg, in->opsz, emu_ea(cpu, in));
    return next(cpu, in);
}

EXEC(ex_xchg_rm_reg)
{
    uint64_t a;
    int st = rm_read_rmw(cpu, in, in->opsz, &a);
    if (st)
        return st;
    if ((st = rm_write(cpu, in, in->opsz, reg_read(cpu, in->reg, in->opsz))) != 0)
        return st;
    reg_write(cpu, in->reg, in->opsz, a);
    return next(cpu, in);
}

EXEC(ex_xchg_acc_reg)
{
    uint64_t a = reg_read(cpu, 0, in->opsz);
    reg_write(cpu, 0, in->opsz, reg_read(cpu, in->reg, in->opsz));
    reg_write(cpu, in->reg, in->opsz, a);
    return next(cpu, in);
}

/* MOVZX/MOVSX: in->imm holds the source size (1 or 2). */
EXEC(ex_movzx)
{
    uint64_t v;
    int st = rm_read(cpu, in, (unsigned)in->imm, &v);
    if (st)
        return st;
    reg_write(cpu, in->reg, in->opsz, v);
    return next(cpu, in);
}

EXEC(ex_movsx)
{
    uint64_t v;
    int st = rm_read(cpu, in, (unsigned)in->imm, &v);
    if (st)
        return st;
    reg_write(cpu, in->reg, in->opsz, (uint64_t)sign_extend(v, (unsigned)in->imm));
    return next(cpu, in);
}

/* 63: MOVSXD in 64-bit mode, ARPL elsewhere. With a 16-bit operand Intel
 * reads only 16 bits (AMD reads 32); the low 16 are the result either way. */
EXEC(ex_movsxd)
{
    if (cpu->mode != MODE_LONG64)
        return ex_arpl(cpu, in);
    uint64_t v;
    int st = rm_read(cpu, in, in->opsz == 2 ? 2 : 4, &v);
    if (st)
        return st;
    reg_write(cpu, in->reg, in->opsz, (uint64_t)sign_extend(v, 4));
    return next(cpu, in);
}

EXEC(ex_push_reg)
{
    int st = emu_push(cpu, in->opsz, reg_read(cpu, in->reg, in->opsz));
    return st ? st : next(cpu, in);
}

EXEC(ex_pop_reg)
{
    uint64_t v;
    int st = emu_pop(cpu, in->opsz, &v);
    if (st)
        return st;
    reg_write(cpu, in->reg, in->opsz, v);
    return next(cpu, in);
}

EXEC(ex_push_imm)
{
    int st = emu_push(cpu, in->opsz, in->imm);
    return st ? st : next(cpu, in);
}

EXEC(ex_push_rm)
{
    uint64_t v;
    int st = rm_read(cpu, in, in->opsz, &v);
    if (!st)
        st = emu_push(cpu, in->opsz, v);
    return st ? st : next(cpu, in);
}

/* POP r/m: RSP is incremented before the destination address is computed
 * (SDM "POP"), so compute with the popped RSP, and undo on a fault. */
EXEC(ex_pop_rm)
{
    uint64_t v, old_rsp = cpu->gpr[4];
    int st = emu_pop(cpu, in->opsz, &v);
    if (st)
        return st;
    if ((st = rm_write(cpu, in, in->opsz, v)) != 0) {
        cpu->gpr[4] = old_rsp;
        return st;
    }
    return next(cpu, in);
}

EXEC(ex_pushf)
{
    /* VM and RF are never pushed. */
    int st = emu_push(cpu, in->opsz, emu_rflags(cpu) & ~0x30000ull);
    return st ? st : next(cpu, in);
}

EXEC(ex_popf)
{
    uint64_t v;
    int st = emu_pop(cpu, in->opsz, &v);
    if (st)
        return st;
    uint64_t old = emu_rflags(cpu);
    /* What POPF may change depends on CPL and IOPL (SDM "POPF"). */
    uint64_t changeable = 0x254dd5ull; /* ID AC NT OF DF TF SF ZF AF PF CF */
    unsigned iopl = (old >> 12) & 3;
    if (cpu->cpl == 0)
        changeable |= 0x3000ull | RFLAGS_IF;
    else if ((unsigned)cpu->cpl <= iopl)
        changeable |= RFLAGS_IF;
    if (in->opsz == 2)
        changeable &= 0xffff;
    emu_set_rflags(cpu, (old & ~changeable) | (v & changeable));
    if (!(old & RFLAGS_IF) && (cpu->rflags & RFLAGS_IF))
        emu_recheck_events(cpu); /* no shadow after POPF: at once */
    return next(cpu, in) == EMU_OK ? EMU_END_BLOCK : EMU_OK; /* IF may have changed */
}

EXEC(ex_lahf)
{
    reg_write(cpu, REG_HIGH8 + 0, 1, emu_rflags(cpu) & 0xd7);
    return next(cpu, in);
}

EXEC(ex_sahf)
{
    uint64_t f = emu_rflags(cpu);
    uint64_t ah = (cpu->gpr[0] >> 8) & 0xd5;
    emu_set_rflags(cpu, (f & ~0xd5ull) | ah);
    return next(cpu, in);
}

EXEC(ex_leave)
{
    unsigned ss = emu_stack_size(cpu);
    uint64_t old_rsp = cpu->gpr[4];
    reg_write(cpu, 4, ss, reg_read(cpu, 5, ss));
    uint64_t v;
    int st = emu_pop(cpu, in->opsz, &v);
    if (st) {
        cpu->gpr[4] = old_rsp;
        return st;
    }
    reg_write(cpu, 5, in->opsz, v);
    return next(cpu, in);
}

/* ENTER imm16, imm8 (SDM "ENTER"): imm = frame size, imm2 = nesting level. */
/* ENTER faults if a write at the final stack pointer would (SDM "ENTER",
 * exceptions); hardware checks that after its pushes. */
static int enter_probe(struct emu_cpu *cpu, unsigned ss, unsigned s, uint64_t size)
{
    uint64_t final = (cpu->gpr[4] - size) & size_mask(ss), lin, gpa;
    int st = emu_linear(cpu, SEG_SS, final, s, ACC_WRITE, &lin);
    return st ? st : emu_translate(cpu, lin, ACC_WRITE, &gpa);
}

EXEC(ex_enter)
{
    unsigned ss = emu_stack_size(cpu), s = in->opsz;
    unsigned level = (unsigned)in->imm2 & 31;
    uint64_t old_rsp = cpu->gpr[4], old_rbp = cpu->gpr[5];
    int st = emu_push(cpu, s, reg_read(cpu, 5, s));
    /* The new frame pointer is rSP at the operand size, even when that is
     * wider than the stack (32-bit ENTER on a 16-bit stack keeps ESP's
     * upper half, as the AMD manual's temp_RBP = RSP and the host do). */
    uint64_t frame = cpu->gpr[4];
    for (unsigned i = 1; !st && i < level; i++) {
        uint64_t v;
        uint64_t bp = (reg_read(cpu, 5, ss) - (uint64_t)i * s) & size_mask(ss);
        st = emu_read(cpu, SEG_SS, bp, s, &v);
        if (!st)
            st = emu_push(cpu, s, v);
    }
    if (!st && level)
        st = emu_push(cpu, s, frame);
    if (!st)
        st = enter_probe(cpu, ss, s, in->imm);
    if (!st) {
        reg_write(cpu, 5, s, frame);
        reg_write(cpu, 4, ss, (cpu->gpr[4] - in->imm) & size_mask(ss));
    }
    if (st) {
        cpu->gpr[4] = old_rsp;
        cpu->gpr[5] = old_rbp;
        return st;
    }
    return next(cpu, in);
}

/* CBW/CWDE/CDQE. */
EXEC(ex_cbw)
{
    unsigned s = in->opsz;
    reg_write(cpu, 0, s, (uint64_t)sign_extend(reg_read(cpu, 0, s / 2), s / 2));
    return next(cpu, in);
}

/* CWD/CDQ/CQO. */
EXEC(ex_cwd)
{
    unsigned s = in->opsz;
    bool neg = reg_read(cpu, 0, s) & sign_bit(s);
    reg_write(cpu, 2, s, neg ? ~0ull : 0);
    return next(cpu, in);
}
