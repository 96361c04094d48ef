/*
 * MMX instructions on MM registers (no mandatory prefix, SDM Vol. 2 and
 * Vol. 1 ch. 9), with the integer forms SSE and SSSE3 added: the lane
 * operations are the XMM ones (exec_sse_int.c, exec_ssse3.c) run over
 * 8 bytes. The x87 aliasing rules are in mmx.h.
 */
#include "accel/emu/mmx.h"
#include "accel/emu/x87.h"

int mmx_begin(struct emu_cpu *cpu, bool xmm)
{
    int st = xmm ? emu_sse_check(cpu) : EMU_OK;
    if (st)
        return st;
    if (cpu->cr0 & CR0_EM)
        return emu_raise(cpu, EXC_UD);
    return x87_begin(cpu, true);
}

int mmx_load(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, emu_xmm *v)
{
    *v = (emu_xmm){{0}};
    if (!(in->flags & INSN_MEM)) {
        v->q[0] = mmx_get(cpu, in->rm);
        return EMU_OK;
    }
    return emu_read(cpu, in->seg, emu_ea(cpu, in), size, &v->q[0]);
}

/* mm1 = op(mm1, mm2/m64) with an XMM-style lane operation; `size` bytes
 * of a memory operand. */
static int mmx_binary(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size,
                      void (*op)(unsigned, emu_xmm *, const emu_xmm *, unsigned))
{
    emu_xmm s;
    int st = mmx_begin(cpu, false);
    if (st || (st = mmx_load(cpu, in, size, &s)) != 0)
        return st;
    emu_xmm d = {.q = {mmx_get(cpu, in->reg), 0}};
    op(in->sub, &d, &s, 8);
    mmx_set(cpu, in->reg, d.q[0]);
    return next(cpu, in);
}

/* PUNPCKLBW/WD/DQ mm, mm/m32 read only the low half (SDM Vol. 2B). */
EXEC(ex_mmx_int)
{
    bool low_unpack = in->opcode >= 0x60 && in->opcode <= 0x62;
    return mmx_binary(cpu, in, low_unpack ? 4 : 8, sse_int_lanes);
}

EXEC(ex_mmx_ssse3)
{
    return mmx_binary(cpu, in, 8, ssse3_lanes);
}

/* 0F 71/72/73 /n ib: shift mm (ModRM.rm) by an immediate; the memory
 * forms are #UD (the group table's). */
EXEC(ex_mmx_shift_imm)
{
    int st = mmx_begin(cpu, false);
    if (st)
        return st;
    emu_xmm d = {.q = {mmx_get(cpu, in->rm), 0}}, count = {.q = {in->imm & 0xff, 0}};
    sse_int_lanes(in->sub, &d, &count, 8);
    mmx_set(cpu, in->rm, d.q[0]);
    return next(cpu, in);
}

/* 0F 3A 0F PALIGNR mm1, mm2/m64, imm8. */
EXEC(ex_mmx_palignr)
{
    emu_xmm s;
    int st = mmx_begin(cpu, false);
    if (st || (st = mmx_load(cpu, in, 8, &s)) != 0)
        return st;
    emu_xmm d = {.q = {mmx_get(cpu, in->reg), 0}};
    ssse3_palignr(&d, &s, in->imm & 0xff, 8);
    mmx_set(cpu, in->reg, d.q[0]);
    return next(cpu, in);
}

/* 0F 6E: MOVD mm, r/m32 (zero-extended) and, with REX.W, MOVQ mm, r/m64. */
EXEC(ex_mmx_movd_load)
{
    uint64_t v;
    int st = mmx_begin(cpu, false);
    if (st || (st = rm_read(cpu, in, in->opsz == 8 ? 8 : 4, &v)) != 0)
        return st;
    mmx_set(cpu, in->reg, v);
    return next(cpu, in);
}

/* 0F 7E: MOVD r/m32, mm and, with REX.W, MOVQ r/m64, mm. A 32-bit GPR
 * destination is zero-extended as usual. */
EXEC(ex_mmx_movd_store)
{
    int st = mmx_begin(cpu, false);
    if (st)
        return st;
    mmx_store_top(cpu);
    if ((st = rm_write(cpu, in, in->opsz == 8 ? 8 : 4, mmx_get(cpu, in->reg))) != 0)
        return st;
    mmx_enter(cpu);
    return next(cpu, in);
}

/* 0F 6F: MOVQ mm, mm/m64. */
EXEC(ex_mmx_movq_load)
{
    emu_xmm s;
    int st = mmx_begin(cpu, false);
    if (st || (st = mmx_load(cpu, in, 8, &s)) != 0)
        return st;
    mmx_set(cpu, in->reg, s.q[0]);
    return next(cpu, in);
}

/* 0F 7F: MOVQ mm/m64, mm (sub 0), and 0F E7 MOVNTQ m64, mm (sub 1, memory
 * only; the hint changes nothing here). */
EXEC(ex_mmx_movq_store)
{
    if (in->sub && !(in->flags & INSN_MEM))
        return emu_raise(cpu, EXC_UD);
    int st = mmx_begin(cpu, false);
    if (st)
        return st;
    uint64_t v = mmx_get(cpu, in->reg);
    if (!(in->flags & INSN_MEM)) {
        mmx_set(cpu, in->rm, v);
        return next(cpu, in);
    }
    mmx_store_top(cpu);
    if ((st = emu_write(cpu, in->seg, emu_ea(cpu, in), 8, v)) != 0)
        return st;
    mmx_enter(cpu);
    return next(cpu, in);
}

/* 0F 70: PSHUFW mm1, mm2/m64, imm8. */
EXEC(ex_pshufw)
{
    emu_xmm s;
    int st = mmx_begin(cpu, false);
    if (st || (st = mmx_load(cpu, in, 8, &s)) != 0)
        return st;
    emu_xmm r = {{0}};
    for (unsigned i = 0; i < 4; i++)
        r.w[i] = s.w[(in->imm >> (2 * i)) & 3];
    mmx_set(cpu, in->reg, r.q[0]);
    return next(cpu, in);
}

/* 0F C4: PINSRW mm, r32/m16, imm8 (word imm8[1:0]). */
EXEC(ex_mmx_pinsrw)
{
    uint64_t v;
    int st = mmx_begin(cpu, false);
    if (st || (st = rm_read(cpu, in, 2, &v)) != 0)
        return st;
    emu_xmm d = {.q = {mmx_get(cpu, in->reg), 0}};
    d.w[in->imm & 3] = (uint16_t)v;
    mmx_set(cpu, in->reg, d.q[0]);
    return next(cpu, in);
}

/* Register-only forms reading an MM register into a GPR. */
static int gpr_from_mmx(struct emu_cpu *cpu, const struct emu_insn *in, emu_xmm *s)
{
    if (in->flags & INSN_MEM)
        return emu_raise(cpu, EXC_UD);
    int st = mmx_begin(cpu, false);
    if (st)
        return st;
    *s = (emu_xmm){.q = {mmx_get(cpu, in->rm), 0}};
    mmx_enter(cpu);
    return EMU_OK;
}

/* 0F C5: PEXTRW r32, mm, imm8 (zero-extended). */
EXEC(ex_mmx_pextrw)
{
    emu_xmm s;
    int st = gpr_from_mmx(cpu, in, &s);
    if (st)
        return st;
    reg_write(cpu, in->reg, 4, s.w[in->imm & 3]);
    return next(cpu, in);
}

/* 0F D7: PMOVMSKB r32, mm: the top bit of each byte. */
EXEC(ex_mmx_pmovmskb)
{
    emu_xmm s = {{0}};
    int st = gpr_from_mmx(cpu, in, &s);
    if (st)
        return st;
    /* The multiply gathers bit 7 of byte i into bit 56 + i. */
    uint64_t top = s.q[0] & 0x8080808080808080ull;
    reg_write(cpu, in->reg, 4, (top * 0x0002040810204081ull) >> 56);
    return next(cpu, in);
}

/* 0F F7: MASKMOVQ mm1, mm2: the bytes of mm1 selected by mm2's top bits
 * go to seg:rDI. The x87 state changes even when the store faults
 * (checked on the host). */
EXEC(ex_maskmovq)
{
    if (in->flags & INSN_MEM)
        return emu_raise(cpu, EXC_UD);
    int st = mmx_begin(cpu, false);
    if (st)
        return st;
    uint64_t v = mmx_get(cpu, in->reg), m = mmx_get(cpu, in->rm);
    mmx_enter(cpu);
    if ((st = sse_maskmov(cpu, in, (const uint8_t *)&v, (const uint8_t *)&m, 8)) != 0)
        return st;
    return next(cpu, in);
}
