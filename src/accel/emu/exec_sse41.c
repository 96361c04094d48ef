/*
 * SSE4.1 (66 0F 38 10-41, 66 0F 3A 08-42): blends, sign/zero extension,
 * PTEST, element insert/extract, MPSADBW and MOVNTDQA in C; ROUND and DPPS
 * / DPPD on the host (their rounding and flags are the host's own, under
 * the guest's MXCSR). The lane-wise integer ops are in exec_ssse3.c.
 */
#include <string.h>

#include "accel/emu/sse4.h"

#include <emmintrin.h>

/* One case of a switch that gives the host instruction its imm8. */
#define HOST_CASE(insn, i)                                                        \
    case i:                                                                       \
        __asm__ volatile(SSE_HOST_ASM(insn " $" #i ", %[y], %[x]")                \
                         : [x] "+x"(x), [h] "=m"(host), [o] "=m"(out)             \
                         : [y] "x"(y), [c] "m"(csr));                             \
        break;
#define HOST_IMM(name, mask, cases)                                               \
    static uint32_t name(emu_xmm *d, const emu_xmm *s, uint32_t csr, unsigned imm) \
    {                                                                             \
        __m128 x, y;                                                              \
        uint32_t host, out = 0;                                                   \
        memcpy(&x, d, 16);                                                        \
        memcpy(&y, s, 16);                                                        \
        switch (imm & (mask)) { cases }                                           \
        memcpy(d, &x, 16);                                                        \
        return out;                                                               \
    }
/* ROUND*: imm8[3:0] is the whole control (SDM Vol. 2B, ROUNDPS). */
#define C_ROUNDPS(i) HOST_CASE("roundps", i)
#define C_ROUNDPD(i) HOST_CASE("roundpd", i)
#define C_ROUNDSS(i) HOST_CASE("roundss", i)
#define C_ROUNDSD(i) HOST_CASE("roundsd", i)
#define C_DPPS(i) HOST_CASE("dpps", i)
#define C_DPPD(i) HOST_CASE("dppd", i)
HOST_IMM(h_roundps, 15, SSE_IMM16(C_ROUNDPS, 0))
HOST_IMM(h_roundpd, 15, SSE_IMM16(C_ROUNDPD, 0))
HOST_IMM(h_roundss, 15, SSE_IMM16(C_ROUNDSS, 0))
HOST_IMM(h_roundsd, 15, SSE_IMM16(C_ROUNDSD, 0))
HOST_IMM(h_dpps, 0xff, SSE_IMM256(C_DPPS))
HOST_IMM(h_dppd, 0xff, SSE_IMM256(C_DPPD))

/* 66 0F 3A 08-0B ROUNDPS/PD/SS/SD: no overflow or underflow possible. */
EXEC(ex_sse41_round)
{
    if (!emu_has(cpu, EMU_HF_SSE41))
        return emu_raise(cpu, EXC_UD); /* the host's own instruction */
    static const sse_host_fn fns[4] = {h_roundps, h_roundpd, h_roundss, h_roundsd};
    static const uint8_t sizes[4] = {16, 16, 4, 8};
    unsigned k = in->opcode & 3;
    return sse_host_fp(cpu, in, sizes[k], fns[k], NULL, 0);
}

/* d op s on scalar lane 0 under csr: MULSS/MULSD (0x59), ADDSS/ADDSD (0x58). */
static uint64_t host_scalar(unsigned opcode, bool dbl, uint64_t a, uint64_t b, uint32_t csr)
{
    __m128 x, y;
    uint32_t host, out;
    emu_xmm r = {.q = {a, 0}}, t = {.q = {b, 0}};
    memcpy(&x, &r, 16);
    memcpy(&y, &t, 16);
#define SCALAR(insn) __asm__ volatile(SSE_HOST_ASM(insn " %[y], %[x]")                     \
                                      : [x] "+x"(x), [h] "=m"(host), [o] "=m"(out)       \
                                      : [y] "x"(y), [c] "m"(csr))
    switch ((opcode & 1) | dbl << 1) {
    case 0: SCALAR("addss"); break;
    case 1: SCALAR("mulss"); break;
    case 2: SCALAR("addsd"); break;
    default: SCALAR("mulsd"); break;
    }
#undef SCALAR
    memcpy(&r, &x, 16);
    return dbl ? r.q[0] : r.d[0];
}

/* One operation of a dot product: a op b, its flags added to *fl. */
static uint64_t dpp_op(unsigned opcode, bool dbl, uint64_t a, uint64_t b, uint32_t csr,
                       uint32_t unmasked, uint32_t *fl)
{
    *fl |= sse_scalar_flags(opcode, dbl, a, b, csr, unmasked);
    return host_scalar(opcode, dbl, a, b, csr);
}

/* DPPS/DPPD flags with unmasked exceptions: the CPU multiplies, then adds
 * pairs, then (DPPS) adds the two sums, and an unmasked exception in one
 * step traps before the next one runs (checked against the host). Lanes
 * left out by imm8[7:4] are +0.0 and raise nothing in the multiply. */
static uint32_t dpp_lanes(const struct emu_insn *in, const emu_xmm *d, const emu_xmm *s,
                          uint32_t csr, uint32_t unmasked)
{
    bool dbl = in->opcode & 1;
    unsigned n = dbl ? 2 : 4;
    uint64_t p[4] = {0}, sum[2];
    uint32_t fl = 0, all;
    for (unsigned i = 0; i < n; i++)
        if (in->imm & (0x10u << i))
            p[i] = dpp_op(0x59, dbl, dbl ? d->q[i] : d->d[i], dbl ? s->q[i] : s->d[i], csr,
                          unmasked, &fl);
    all = sse_step_flags(fl, unmasked);
    if (all & unmasked)
        return all;
    fl = 0;
    sum[0] = dpp_op(0x58, dbl, p[0], p[1], csr, unmasked, &fl);
    if (!dbl)
        sum[1] = dpp_op(0x58, dbl, p[2], p[3], csr, unmasked, &fl);
    all |= sse_step_flags(fl, unmasked);
    if (dbl || (all & unmasked))
        return all;
    fl = 0;
    dpp_op(0x58, dbl, sum[0], sum[1], csr, unmasked, &fl);
    return all | sse_step_flags(fl, unmasked);
}

/* 66 0F 3A 40 DPPS, 41 DPPD. */
EXEC(ex_dpp)
{
    if (!emu_has(cpu, EMU_HF_SSE41))
        return emu_raise(cpu, EXC_UD); /* the host's own instruction */
    bool dbl = in->opcode & 1;
    return sse_host_fp(cpu, in, 16, dbl ? h_dppd : h_dpps, dpp_lanes, 0);
}

static int load_src(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, bool aligned,
                    emu_xmm *s)
{
    int st = emu_sse_check(cpu);
    return st ? st : sse_load(cpu, in, size, aligned, s);
}

static void set_arith_flags(struct emu_cpu *cpu, uint64_t bits)
{
    emu_set_rflags(cpu, (emu_rflags(cpu) & ~RFLAGS_ARITH) | bits);
}

/* 66 0F 38 10 PBLENDVB, 14 BLENDVPS, 15 BLENDVPD: XMM0's sign bits pick
 * the source element. */
EXEC(ex_blendv)
{
    emu_xmm s;
    int st = load_src(cpu, in, 16, true, &s);
    if (st)
        return st;
    unsigned elem = in->opcode == 0x10 ? 1 : in->opcode == 0x14 ? 4 : 8;
    emu_xmm *d = xmm_reg(cpu, in->reg);
    const emu_xmm *m = xmm_reg(cpu, 0);
    for (unsigned i = 0; i < 16; i += elem)
        if (m->b[i + elem - 1] & 0x80)
            memcpy(d->b + i, s.b + i, elem);
    return next(cpu, in);
}

/* 66 0F 3A 0C BLENDPS, 0D BLENDPD, 0E PBLENDW: imm8 bits pick the source. */
EXEC(ex_blend_imm)
{
    emu_xmm s;
    int st = load_src(cpu, in, 16, true, &s);
    if (st)
        return st;
    unsigned elem = in->opcode == 0x0c ? 4 : in->opcode == 0x0d ? 8 : 2;
    emu_xmm *d = xmm_reg(cpu, in->reg);
    for (unsigned i = 0; i < 16 / elem; i++)
        if (in->imm & (1u << i))
            memcpy(d->b + i * elem, s.b + i * elem, elem);
    return next(cpu, in);
}

/* 66 0F 38 20-25 PMOVSX*, 30-35 PMOVZX*: element sizes by opcode & 7;
 * the memory operand is only as wide as the elements read. */
EXEC(ex_pmovx)
{
    static const uint8_t from[6] = {1, 1, 1, 2, 2, 4}, to[6] = {2, 4, 8, 4, 8, 8};
    unsigned k = in->opcode & 7, f = from[k], t = to[k], n = 16 / t;
    bool sx = in->opcode < 0x30;
    emu_xmm s, r;
    int st = load_src(cpu, in, f * n, false, &s);
    if (st)
        return st;
    for (unsigned i = 0; i < n; i++) {
        uint64_t v = 0;
        memcpy(&v, s.b + i * f, f);
        if (sx)
            v = (uint64_t)sign_extend(v, f);
        memcpy(r.b + i * t, &v, t);
    }
    *xmm_reg(cpu, in->reg) = r;
    return next(cpu, in);
}

/* 66 0F 38 17 PTEST: ZF from d AND s, CF from (NOT d) AND s. */
EXEC(ex_ptest)
{
    emu_xmm s;
    int st = load_src(cpu, in, 16, true, &s);
    if (st)
        return st;
    const emu_xmm *d = xmm_reg(cpu, in->reg);
    bool z = !((d->q[0] & s.q[0]) | (d->q[1] & s.q[1]));
    bool c = !((~d->q[0] & s.q[0]) | (~d->q[1] & s.q[1]));
    set_arith_flags(cpu, (z ? RFLAGS_ZF : 0) | (c ? RFLAGS_CF : 0));
    return next(cpu, in);
}

/* 66 0F 3A 42 MPSADBW: eight sums of absolute differences between a
 * sliding 4-byte window of d (offset imm8[2]*4) and the 4-byte block of s
 * at imm8[1:0]*4. */
EXEC(ex_mpsadbw)
{
    emu_xmm s, r;
    int st = load_src(cpu, in, 16, true, &s);
    if (st)
        return st;
    const emu_xmm *d = xmm_reg(cpu, in->reg);
    unsigned doff = in->imm & 4, soff = (in->imm & 3) * 4;
    for (unsigned i = 0; i < 8; i++) {
        unsigned sum = 0;
        for (unsigned j = 0; j < 4; j++) {
            int a = d->b[doff + i + j], b = s.b[soff + j];
            sum += (unsigned)(a > b ? a - b : b - a);
        }
        r.w[i] = (uint16_t)sum;
    }
    *xmm_reg(cpu, in->reg) = r;
    return next(cpu, in);
}

/* 66 0F 3A 21 INSERTPS: element imm8[7:6] of xmm2 (or the m32) goes to
 * element imm8[5:4]; imm8[3:0] zeroes elements. */
EXEC(ex_insertps)
{
    emu_xmm s;
    int st = load_src(cpu, in, 4, false, &s);
    if (st)
        return st;
    unsigned imm = (unsigned)in->imm;
    emu_xmm *d = xmm_reg(cpu, in->reg);
    d->d[(imm >> 4) & 3] = (in->flags & INSN_MEM) ? s.d[0] : s.d[(imm >> 6) & 3];
    for (unsigned i = 0; i < 4; i++)
        if (imm & (1u << i))
            d->d[i] = 0;
    return next(cpu, in);
}

/* Store an extracted element: memory gets `size` bytes, a register the
 * value zero-extended to 32 or 64 bits. */
static int put_elem(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, uint64_t v)
{
    if (in->flags & INSN_MEM)
        return rm_write(cpu, in, size, v);
    reg_write(cpu, in->rm, in->opsz == 8 ? 8 : 4, v);
    return EMU_OK;
}

/* 66 0F 3A 17 EXTRACTPS r/m32, xmm, imm8. */
EXEC(ex_extractps)
{
    int st = emu_sse_check(cpu);
    if (st || (st = put_elem(cpu, in, 4, xmm_reg(cpu, in->reg)->d[in->imm & 3])) != 0)
        return st;
    return next(cpu, in);
}

/* 66 0F 3A 14 PEXTRB, 15 PEXTRW, 16 PEXTRD/PEXTRQ (REX.W). */
EXEC(ex_pextr)
{
    const emu_xmm *x = xmm_reg(cpu, in->reg);
    unsigned size = in->opcode == 0x14 ? 1 : in->opcode == 0x15 ? 2 : in->opsz == 8 ? 8 : 4;
    uint64_t v = 0;
    memcpy(&v, x->b + (in->imm & (16 / size - 1)) * size, size);
    int st = emu_sse_check(cpu);
    if (st || (st = put_elem(cpu, in, size, v)) != 0)
        return st;
    return next(cpu, in);
}

/* 66 0F 3A 20 PINSRB xmm, r32/m8; 22 PINSRD/PINSRQ xmm, r/m32/64. */
EXEC(ex_pinsr)
{
    unsigned size = in->opcode == 0x20 ? 1 : in->opsz == 8 ? 8 : 4;
    uint64_t v;
    int st = emu_sse_check(cpu);
    if (st || (st = rm_read(cpu, in, size, &v)) != 0)
        return st;
    memcpy(xmm_reg(cpu, in->reg)->b + (in->imm & (16 / size - 1)) * size, &v, size);
    return next(cpu, in);
}

/* 66 0F 38 2A MOVNTDQA xmm, m128: an aligned load; no register form. */
EXEC(ex_movntdqa)
{
    emu_xmm s;
    if (!(in->flags & INSN_MEM))
        return emu_raise(cpu, EXC_UD);
    int st = load_src(cpu, in, 16, true, &s);
    if (st)
        return st;
    *xmm_reg(cpu, in->reg) = s;
    return next(cpu, in);
}
