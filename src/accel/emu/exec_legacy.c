/* Instructions of the 16/32-bit modes that 64-bit mode dropped or
 * reassigned: BCD adjusts, PUSHA/POPA, BOUND, ARPL, INTO, far pointers,
 * SALC, plus XLAT and LDS-style loads that still exist. */
#include "accel/emu/exec.h"
#include "accel/emu/segment.h"

static void bcd_flags(struct emu_cpu *cpu, uint8_t al, bool cf, bool af)
{
    uint64_t f = emu_rflags(cpu) & ~RFLAGS_ARITH;
    f |= cf ? RFLAGS_CF : 0;
    f |= af ? RFLAGS_AF : 0;
    f |= al == 0 ? RFLAGS_ZF : 0;
    f |= (al & 0x80) ? RFLAGS_SF : 0;
    f |= !__builtin_parity(al) ? RFLAGS_PF : 0;
    cpu->rflags = f;
}

/* DAA (27) and DAS (2F), per the SDM's operation sections. */
EXEC(ex_daa_das)
{
    uint64_t f = emu_rflags(cpu);
    uint8_t al = (uint8_t)cpu->gpr[0], old_al = al;
    bool old_cf = f & RFLAGS_CF, cf = false, af = false, sub = in->opcode == 0x2f;
    if ((al & 0xf) > 9 || (f & RFLAGS_AF)) {
        cf = old_cf || (sub ? al < 6 : al > 0xf9);
        al = (uint8_t)(sub ? al - 6 : al + 6);
        af = true;
    }
    if (old_al > 0x99 || old_cf) {
        al = (uint8_t)(sub ? al - 0x60 : al + 0x60);
        cf = true;
    }
    reg_write(cpu, 0, 1, al);
    bcd_flags(cpu, al, cf, af);
    return next(cpu, in);
}

/* AAA (37) and AAS (3F). */
EXEC(ex_aaa_aas)
{
    uint64_t f = emu_rflags(cpu);
    uint16_t ax = (uint16_t)cpu->gpr[0];
    bool adjust = (ax & 0xf) > 9 || (f & RFLAGS_AF);
    if (adjust)
        ax = in->opcode == 0x37 ? (uint16_t)(ax + 0x106) : (uint16_t)((ax - 6) - 0x100);
    ax &= 0xff0f;
    reg_write(cpu, 0, 2, ax);
    bcd_flags(cpu, (uint8_t)ax, adjust, adjust);
    return next(cpu, in);
}

/* AAM imm8 (D4) and AAD imm8 (D5). */
EXEC(ex_aam_aad)
{
    uint8_t base = (uint8_t)in->imm, al = (uint8_t)cpu->gpr[0];
    uint8_t ah = (uint8_t)(cpu->gpr[0] >> 8);
    if (in->opcode == 0xd4) {
        if (base == 0)
            return emu_raise(cpu, EXC_DE);
        ah = al / base;
        al = al % base;
    } else {
        al = (uint8_t)(al + ah * base);
        ah = 0;
    }
    reg_write(cpu, 0, 2, (uint16_t)(al | (ah << 8)));
    bcd_flags(cpu, al, false, false);
    return next(cpu, in);
}

/* PUSHA (60): AX CX DX BX, the original SP, BP SI DI. */
EXEC(ex_pusha)
{
    uint64_t old_sp = cpu->gpr[4];
    int st = EMU_OK;
    for (unsigned r = 0; r < 8 && !st; r++)
        st = emu_push(cpu, in->opsz, r == 4 ? old_sp : cpu->gpr[r]);
    if (st) {
        cpu->gpr[4] = old_sp;
        return st;
    }
    return next(cpu, in);
}

/* POPA (61): the saved SP is skipped. */
EXEC(ex_popa)
{
    uint64_t old[8];
    for (int r = 0; r < 8; r++)
        old[r] = cpu->gpr[r];
    int st = EMU_OK;
    for (int r = 7; r >= 0 && !st; r--) {
        uint64_t v;
        st = emu_pop(cpu, in->opsz, &v);
        if (!st && r != 4)
            reg_write(cpu, (unsigned)r, in->opsz, v);
    }
    if (st) {
        for (int r = 0; r < 8; r++)
            cpu->gpr[r] = old[r];
        return st;
    }
    return next(cpu, in);
}

/* BOUND r, m (62): #BR when the index is outside [lower, upper]. */
EXEC(ex_bound)
{
    if (!(in->flags & INSN_MEM))
        return emu_raise(cpu, EXC_UD);
    uint64_t ea = emu_ea(cpu, in), lo, hi;
    int st = emu_read(cpu, in->seg, ea, in->opsz, &lo);
    if (!st)
        st = emu_read(cpu, in->seg, (ea + in->opsz) & size_mask(in->adsz), in->opsz, &hi);
    if (st)
        return st;
    int64_t v = sign_extend(reg_read(cpu, in->reg, in->opsz), in->opsz);
    if (v < sign_extend(lo, in->opsz) || v > sign_extend(hi, in->opsz))
        return emu_raise(cpu, 5);
    return next(cpu, in);
}

/* 63 outside 64-bit mode: ARPL r/m16, r16. */
int ex_arpl(struct emu_cpu *cpu, const struct emu_insn *in)
{
    if (cpu->mode == MODE_REAL)
        return emu_raise(cpu, EXC_UD);
    uint64_t dst;
    int st = rm_read(cpu, in, 2, &dst);
    if (st)
        return st;
    unsigned src_rpl = (unsigned)reg_read(cpu, in->reg, 2) & 3;
    uint64_t f = emu_rflags(cpu) & ~RFLAGS_ZF;
    if ((dst & 3) < src_rpl) {
        if ((st = rm_write(cpu, in, 2, (dst & ~3ull) | src_rpl)) != 0)
            return st;
        f |= RFLAGS_ZF;
    }
    cpu->rflags = f;
    return next(cpu, in);
}

/* INTO (CE): #OF as a software interrupt when OF is set. */
EXEC(ex_into)
{
    if (!(emu_rflags(cpu) & RFLAGS_OF))
        return next(cpu, in);
    int st = emu_interrupt(cpu, 4, INT_SOFTWARE, cpu->rip + in->len);
    return st ? st : EMU_END_BLOCK;
}

/* SALC (D6): AL = CF ? FF : 00. Undocumented but on every Intel CPU. */
EXEC(ex_salc)
{
    reg_write(cpu, 0, 1, emu_cf(cpu) ? 0xff : 0);
    return next(cpu, in);
}

/* XLAT (D7): AL = [seg:rBX + AL]. */
EXEC(ex_xlat)
{
    uint64_t v, ea = (cpu->gpr[3] + (cpu->gpr[0] & 0xff)) & size_mask(in->adsz);
    int st = emu_read(cpu, in->seg, ea, 1, &v);
    if (st)
        return st;
    reg_write(cpu, 0, 1, v);
    return next(cpu, in);
}

/* JMP/CALL ptr16:16/32 (EA, 9A): in->imm = offset, in->imm2 = selector. */
EXEC(ex_jmp_far_imm)
{
    return emu_far_transfer(cpu, in, (uint16_t)in->imm2, in->imm, false);
}

EXEC(ex_call_far_imm)
{
    return emu_far_transfer(cpu, in, (uint16_t)in->imm2, in->imm, true);
}

/* LES/LDS (C4/C5), LSS/LFS/LGS (0F B2/B4/B5): segment in in->sub. */
EXEC(ex_load_far_pointer)
{
    if (!(in->flags & INSN_MEM))
        return emu_raise(cpu, EXC_UD);
    uint64_t ea = emu_ea(cpu, in), off, sel;
    int st = emu_read(cpu, in->seg, ea, in->opsz, &off);
    if (!st)
        st = emu_read(cpu, in->seg, (ea + in->opsz) & size_mask(in->adsz), 2, &sel);
    if (!st)
        st = emu_load_data_segment(cpu, in->sub, (uint16_t)sel);
    if (st)
        return st;
    reg_write(cpu, in->reg, in->opsz, off);
    next(cpu, in);
    return EMU_END_BLOCK;
}
