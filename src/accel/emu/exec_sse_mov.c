/*
 * SSE/SSE2 data movement: XMM loads and stores, scalar and half moves,
 * non-temporal stores, MOVD/MOVQ, masks, word insert/extract, shuffles.
 * SIMD exceptions cannot happen here; only memory faults and #UD/#NM.
 */
#include <string.h>

#include "accel/emu/sse.h"

static int sse_lin(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, bool aligned,
                   enum emu_access acc, uint64_t *lin)
{
    /* Intel never alignment-checks a 16-byte operand that may be
     * misaligned (MOVDQU, MOVUPS, LDDQU...; checked on the host; AMD
     * raises #AC for it). */
    uint64_t ac = size == 16 && !aligned ? cpu->rflags & RFLAGS_AC : 0;
    cpu->rflags &= ~ac;
    int st = emu_linear(cpu, in->seg, emu_ea(cpu, in), size, acc, lin);
    cpu->rflags |= ac;
    /* A misaligned 16-byte operand that must be aligned is #GP(0), even
     * where alignment checking would raise #AC (checked on the host). */
    if (st == EMU_FAULT && aligned && cpu->exc.vector == EXC_AC)
        return emu_raise_err(cpu, EXC_GP, 0);
    if (st)
        return st;
    if (aligned && (*lin & 15))
        return emu_raise_err(cpu, EXC_GP, 0);
    return EMU_OK;
}

int sse_load(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, bool aligned,
             emu_xmm *v)
{
    if (!(in->flags & INSN_MEM)) {
        *v = *xmm_reg(cpu, in->rm);
        return EMU_OK;
    }
    uint64_t lin;
    int st = sse_lin(cpu, in, size, aligned && size == 16, ACC_READ, &lin);
    if (st)
        return st;
    memset(v, 0, sizeof(*v));
    const uint8_t *h = emu_tlb_host_lin(cpu, cpu->tlb_read, lin, size);
    if (h) { /* the common case: RAM through the TLB */
        memcpy(v->b, h, size);
        return EMU_OK;
    }
    return emu_read_lin(cpu, lin, v->b, size, ACC_READ);
}

int sse_store(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, bool aligned,
              const emu_xmm *v)
{
    uint64_t lin;
    int st = sse_lin(cpu, in, size, aligned && size == 16, ACC_WRITE, &lin);
    if (st)
        return st;
    uint8_t *h = emu_tlb_host_lin(cpu, cpu->tlb_write, lin, size);
    if (h) {
        memcpy(h, v->b, size);
        return EMU_OK;
    }
    return emu_write_lin(cpu, lin, v->b, size);
}

/* Memory-only forms decode their register form to #UD through this. */
static int mem_only(struct emu_cpu *cpu, const struct emu_insn *in)
{
    if (!(in->flags & INSN_MEM))
        return emu_raise(cpu, EXC_UD);
    return emu_sse_check(cpu);
}

/* MOVUPS/MOVUPD/MOVDQU (sub 0) and MOVAPS/MOVAPD/MOVDQA (sub 1) loads. */
EXEC(ex_sse_mov_load)
{
    emu_xmm v;
    int st = emu_sse_check(cpu);
    if (st || (st = sse_load(cpu, in, 16, in->sub, &v)) != 0)
        return st;
    *xmm_reg(cpu, in->reg) = v;
    return next(cpu, in);
}

/* The same moves in the store direction: xmm/m128 <- xmm. */
EXEC(ex_sse_mov_store)
{
    int st = emu_sse_check(cpu);
    if (st)
        return st;
    const emu_xmm *v = xmm_reg(cpu, in->reg);
    if (in->flags & INSN_MEM) {
        if ((st = sse_store(cpu, in, 16, in->sub, v)) != 0)
            return st;
    } else {
        *xmm_reg(cpu, in->rm) = *v;
    }
    return next(cpu, in);
}

/* MOVSS/MOVSD load (sub = 4 or 8): memory zero-extends, a register merges. */
EXEC(ex_sse_movs_load)
{
    emu_xmm v;
    int st = emu_sse_check(cpu);
    if (st || (st = sse_load(cpu, in, in->sub, false, &v)) != 0)
        return st;
    emu_xmm *d = xmm_reg(cpu, in->reg);
    if (in->flags & INSN_MEM)
        *d = v;
    else
        memcpy(d->b, v.b, in->sub);
    return next(cpu, in);
}

EXEC(ex_sse_movs_store)
{
    int st = emu_sse_check(cpu);
    if (st)
        return st;
    const emu_xmm *v = xmm_reg(cpu, in->reg);
    if (in->flags & INSN_MEM) {
        if ((st = sse_store(cpu, in, in->sub, false, v)) != 0)
            return st;
    } else {
        memcpy(xmm_reg(cpu, in->rm)->b, v->b, in->sub);
    }
    return next(cpu, in);
}

/* 0F 12/16 and 66 0F 12/16. sub bit 0: the high quadword; bit 1: the
 * register form exists (MOVHLPS, MOVLHPS). */
EXEC(ex_sse_movlh_load)
{
    bool high = in->sub & 1;
    if (!(in->flags & INSN_MEM) && !(in->sub & 2))
        return emu_raise(cpu, EXC_UD);
    emu_xmm v;
    int st = emu_sse_check(cpu);
    if (st || (st = sse_load(cpu, in, 8, false, &v)) != 0)
        return st;
    emu_xmm *d = xmm_reg(cpu, in->reg);
    if (in->flags & INSN_MEM)
        d->q[high] = v.q[0];
    else
        d->q[high] = v.q[!high]; /* MOVHLPS: low <- high; MOVLHPS: high <- low */
    return next(cpu, in);
}

/* MOVLPS/MOVLPD/MOVHPS/MOVHPD stores (sub 1: high). */
EXEC(ex_sse_movlh_store)
{
    int st = mem_only(cpu, in);
    if (st)
        return st;
    emu_xmm v = {.q = {xmm_reg(cpu, in->reg)->q[in->sub & 1], 0}};
    if ((st = sse_store(cpu, in, 8, false, &v)) != 0)
        return st;
    return next(cpu, in);
}

/* MOVNTPS/MOVNTPD/MOVNTDQ: aligned stores; the hint has no effect here. */
EXEC(ex_sse_movnt)
{
    int st = mem_only(cpu, in);
    if (st || (st = sse_store(cpu, in, 16, true, xmm_reg(cpu, in->reg))) != 0)
        return st;
    return next(cpu, in);
}

/* MOVNTI m32/m64, r: an ordinary store; not an XMM instruction, so no
 * CR0/CR4 checks. */
EXEC(ex_movnti)
{
    if (!(in->flags & INSN_MEM))
        return emu_raise(cpu, EXC_UD);
    unsigned size = in->opsz == 8 ? 8 : 4;
    int st = rm_write(cpu, in, size, reg_read(cpu, in->reg, size));
    if (st)
        return st;
    return next(cpu, in);
}

/* 66 0F 6E: MOVD/MOVQ xmm, r/m32/64, zero-extending. */
EXEC(ex_sse_movd_load)
{
    uint64_t v;
    unsigned size = in->opsz == 8 ? 8 : 4;
    int st = emu_sse_check(cpu);
    if (st || (st = rm_read(cpu, in, size, &v)) != 0)
        return st;
    *xmm_reg(cpu, in->reg) = (emu_xmm){.q = {v, 0}};
    return next(cpu, in);
}

/* 66 0F 7E: MOVD/MOVQ r/m32/64, xmm. */
EXEC(ex_sse_movd_store)
{
    unsigned size = in->opsz == 8 ? 8 : 4;
    int st = emu_sse_check(cpu);
    if (st || (st = rm_write(cpu, in, size, xmm_reg(cpu, in->reg)->q[0])) != 0)
        return st;
    return next(cpu, in);
}

/* F3 0F 7E: MOVQ xmm, xmm/m64, zeroing the high quadword. */
EXEC(ex_sse_movq_load)
{
    emu_xmm v;
    int st = emu_sse_check(cpu);
    if (st || (st = sse_load(cpu, in, 8, false, &v)) != 0)
        return st;
    *xmm_reg(cpu, in->reg) = (emu_xmm){.q = {v.q[0], 0}};
    return next(cpu, in);
}

/* 66 0F D6: MOVQ xmm/m64, xmm. */
EXEC(ex_sse_movq_store)
{
    int st = emu_sse_check(cpu);
    if (st)
        return st;
    emu_xmm v = {.q = {xmm_reg(cpu, in->reg)->q[0], 0}};
    if (in->flags & INSN_MEM) {
        if ((st = sse_store(cpu, in, 8, false, &v)) != 0)
            return st;
    } else {
        *xmm_reg(cpu, in->rm) = v;
    }
    return next(cpu, in);
}

/* Register-only forms with a GPR destination (zero-extended). */
static int gpr_from_xmm(struct emu_cpu *cpu, const struct emu_insn *in, const emu_xmm **src)
{
    *src = xmm_reg(cpu, in->rm);
    if (in->flags & INSN_MEM)
        return emu_raise(cpu, EXC_UD);
    return emu_sse_check(cpu);
}

/* MOVMSKPS / MOVMSKPD: the sign bits. */
EXEC(ex_sse_movmsk)
{
    const emu_xmm *s;
    int st = gpr_from_xmm(cpu, in, &s);
    if (st)
        return st;
    uint32_t m = 0;
    if (in->sub == SSE_PD)
        m = (uint32_t)(s->q[0] >> 63) | (uint32_t)(s->q[1] >> 63) << 1;
    else
        for (int i = 0; i < 4; i++)
            m |= (s->d[i] >> 31) << i;
    reg_write(cpu, in->reg, 4, m);
    return next(cpu, in);
}

EXEC(ex_pmovmskb)
{
    const emu_xmm *s;
    int st = gpr_from_xmm(cpu, in, &s);
    if (st)
        return st;
    uint32_t m = 0;
    for (int i = 0; i < 16; i++)
        m |= (uint32_t)(s->b[i] >> 7) << i;
    reg_write(cpu, in->reg, 4, m);
    return next(cpu, in);
}

EXEC(ex_pextrw)
{
    const emu_xmm *s;
    int st = gpr_from_xmm(cpu, in, &s);
    if (st)
        return st;
    reg_write(cpu, in->reg, 4, s->w[in->imm & 7]);
    return next(cpu, in);
}

/* PINSRW xmm, r32/m16, imm8. */
EXEC(ex_pinsrw)
{
    uint64_t v;
    int st = emu_sse_check(cpu);
    if (st || (st = rm_read(cpu, in, 2, &v)) != 0)
        return st;
    xmm_reg(cpu, in->reg)->w[in->imm & 7] = (uint16_t)v;
    return next(cpu, in);
}

/* PSHUFD (sub 0), PSHUFHW (1), PSHUFLW (2). */
EXEC(ex_pshuf)
{
    emu_xmm s, r;
    int st = emu_sse_check(cpu);
    if (st || (st = sse_load(cpu, in, 16, true, &s)) != 0)
        return st;
    unsigned imm = (unsigned)in->imm;
    r = s;
    for (int i = 0; i < 4; i++) {
        unsigned sel = (imm >> (2 * i)) & 3;
        if (in->sub == 0)
            r.d[i] = s.d[sel];
        else if (in->sub == 1)
            r.w[4 + i] = s.w[4 + sel];
        else
            r.w[i] = s.w[sel];
    }
    *xmm_reg(cpu, in->reg) = r;
    return next(cpu, in);
}

/* SHUFPS / SHUFPD: low half from the destination, high half from the source. */
EXEC(ex_shufp)
{
    emu_xmm s, r;
    int st = emu_sse_check(cpu);
    if (st || (st = sse_load(cpu, in, 16, true, &s)) != 0)
        return st;
    const emu_xmm *d = xmm_reg(cpu, in->reg);
    unsigned imm = (unsigned)in->imm;
    if (in->sub == SSE_PD) {
        r.q[0] = d->q[imm & 1];
        r.q[1] = s.q[(imm >> 1) & 1];
    } else {
        r.d[0] = d->d[imm & 3];
        r.d[1] = d->d[(imm >> 2) & 3];
        r.d[2] = s.d[(imm >> 4) & 3];
        r.d[3] = s.d[(imm >> 6) & 3];
    }
    *xmm_reg(cpu, in->reg) = r;
    return next(cpu, in);
}

/* The whole destination is write-checked first, whatever the mask: the
 * host faults, storing nothing, on a not-present page even for bytes the
 * mask leaves out and for an all-zero mask (which the SDM leaves to the
 * implementation). Alignment checking wants 8-byte alignment, MASKMOVDQU
 * included, so the segment checks go by 8-byte halves; Intel's page walk
 * takes MASKMOVDQU's high half first, so a #PF names the first bad byte
 * of that half when it has one (all checked on the host). */
int sse_maskmov(struct emu_cpu *cpu, const struct emu_insn *in, const uint8_t *v,
                const uint8_t *m, unsigned bytes)
{
    uint64_t ea = cpu->gpr[7] & size_mask(in->adsz), lin[2] = {0, 0};
    int st = EMU_OK;
    for (unsigned h = 0; h < bytes && !st; h += 8)
        st = emu_linear(cpu, in->seg, (ea + h) & size_mask(in->adsz), 8, ACC_WRITE, &lin[h / 8]);
    /* Each half at its own address: with a 16-bit rDI the second half may
     * wrap to offset 0. */
    for (unsigned h = bytes; h > 0 && !st; h -= 8)
        st = emu_probe_write(cpu, lin[h / 8 - 1], 8);
    if (st)
        return st;
    for (unsigned i = 0; i < bytes; i++) {
        if (!(m[i] & 0x80))
            continue;
        st = emu_write(cpu, in->seg, (ea + i) & size_mask(in->adsz), 1, v[i]);
        if (st)
            return st;
    }
    return EMU_OK;
}

/* MASKMOVDQU xmm1, xmm2: bytes of xmm1 whose xmm2 mask byte has the top
 * bit set go to seg:rDI (DS unless overridden). */
EXEC(ex_maskmovdqu)
{
    if (in->flags & INSN_MEM)
        return emu_raise(cpu, EXC_UD);
    int st = emu_sse_check(cpu);
    if (st || (st = sse_maskmov(cpu, in, xmm_reg(cpu, in->reg)->b, xmm_reg(cpu, in->rm)->b,
                                16)) != 0)
        return st;
    return next(cpu, in);
}
