/*
 * The SSE and SSE2 instructions that move or convert between MM and XMM
 * registers: MOVQ2DQ, MOVDQ2Q, CVTPI2PS, CVTPS2PI, CVTTPS2PI, CVTPI2PD,
 * CVTPD2PI, CVTTPD2PI. They follow the SSE rules (CR4.OSFXSR, MXCSR,
 * #XM) and the MMX ones (#MF, the x87 state change of mmx.h). The
 * conversions run the host's CVTDQ2PS-family instruction on the low lanes,
 * the other lanes zero so they raise nothing.
 */
#include "accel/emu/mmx.h"

/* F3 0F D6: MOVQ2DQ xmm, mm (register only): the high quadword zeroed. */
EXEC(ex_movq2dq)
{
    if (in->flags & INSN_MEM)
        return emu_raise(cpu, EXC_UD);
    int st = mmx_begin(cpu, true);
    if (st)
        return st;
    *xmm_reg(cpu, in->reg) = (emu_xmm){.q = {mmx_get(cpu, in->rm), 0}};
    mmx_enter(cpu);
    return next(cpu, in);
}

/* F2 0F D6: MOVDQ2Q mm, xmm (register only). */
EXEC(ex_movdq2q)
{
    if (in->flags & INSN_MEM)
        return emu_raise(cpu, EXC_UD);
    int st = mmx_begin(cpu, true);
    if (st)
        return st;
    mmx_set(cpu, in->reg, xmm_reg(cpu, in->rm)->q[0]);
    return next(cpu, in);
}

/* The host conversion for opcode 2A/2C/2D and sub SSE_PS/SSE_PD: a
 * 0F 5B (PS) or 0F E6 (PD) form, and its prefix index. */
static void cvt_form(const struct emu_insn *in, unsigned *opcode, unsigned *sub)
{
    bool pd = in->sub == SSE_PD;
    *opcode = pd ? 0xe6 : 0x5b;
    if (in->opcode == 0x2a)         /* CVTPI2PS = CVTDQ2PS, CVTPI2PD = CVTDQ2PD */
        *sub = pd ? SSE_SS : SSE_PS;
    else if (in->opcode == 0x2c)    /* CVTTPS2PI = CVTTPS2DQ, CVTTPD2PI = CVTTPD2DQ */
        *sub = pd ? SSE_PD : SSE_SS;
    else                            /* CVTPS2PI = CVTPS2DQ, CVTPD2PI = CVTPD2DQ */
        *sub = pd ? SSE_SD : SSE_PD;
}

/* The source: mm/m64 for 2A; xmm/m64 (PS) or xmm/m128 (PD, aligned) for
 * 2C/2D. Lanes the instruction does not read are zero. */
static int cvt_source(struct emu_cpu *cpu, const struct emu_insn *in, emu_xmm *s)
{
    if (in->opcode == 0x2a)
        return mmx_load(cpu, in, 8, s);
    bool pd = in->sub == SSE_PD;
    int st = sse_load(cpu, in, pd ? 16 : 8, true, s);
    if (!pd)
        s->q[1] = 0;
    return st;
}

/* 0F 2A/2C/2D (sub SSE_PS) and 66 0F 2A/2C/2D (sub SSE_PD). Only an MM
 * register operand switches to the MMX state: CVTPI2PS/PD from memory
 * does not, nor does it take x87 exceptions (SDM CVTPI2PD "operand
 * configuration"); the switch happens even when the conversion raises #XM
 * (checked on the host). */
EXEC(ex_mmx_cvt)
{
    emu_xmm s, r = {{0}};
    bool uses_mm = in->opcode != 0x2a || !(in->flags & INSN_MEM);
    int st = uses_mm ? mmx_begin(cpu, true) : emu_sse_check(cpu);
    if (st || (st = cvt_source(cpu, in, &s)) != 0)
        return st;
    unsigned opcode, sub;
    cvt_form(in, &opcode, &sub);
    uint32_t raised = sse_host_cvt(opcode, sub, &r, &s, sse_host_csr(cpu));
    if (uses_mm)
        mmx_enter(cpu);
    if ((st = sse_fp_flags(cpu, raised)) != 0)
        return st;
    if (in->opcode != 0x2a) {
        mmx_set(cpu, in->reg, r.q[0]);
        return next(cpu, in);
    }
    emu_xmm *d = xmm_reg(cpu, in->reg);
    if (in->sub == SSE_PD)
        *d = r;
    else
        d->q[0] = r.q[0];
    return next(cpu, in);
}
