/*
 * SSSE3 (66 0F 38 00-1E, 66 0F 3A 0F) on XMM registers, plus the SSE4.1
 * and SSE4.2 integer operations of the same shape, xmm1 = op(xmm1,
 * xmm2/m128): all integer, so plain C over lanes. Each operation works on
 * the low `bytes` bytes, 16 for XMM or 8 for the SSSE3 MMX forms
 * (exec_mmx.c).
 */
#include <string.h>

#include "accel/emu/sse4.h"

typedef void (*ssse3_fn)(emu_xmm *d, const emu_xmm *s, unsigned bytes);

#define S8(x) ((int)(int8_t)(x))
#define S16(x) ((int)(int16_t)(x))
#define S32(x) ((int64_t)(int32_t)(x))

static int sat16(int v)
{
    return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

/* Horizontal pairs: the low half of the result from d, the high from s;
 * n lanes (half as many for MMX). */
#define HORIZ(name, field, xn, expr)                                      \
    static void name(emu_xmm *d, const emu_xmm *s, unsigned bytes)        \
    {                                                                     \
        emu_xmm r = *d;                                                   \
        int n = (int)(xn * bytes / 16);                                   \
        for (int i = 0; i < n; i++) {                                     \
            const emu_xmm *v = i < n / 2 ? d : s;                         \
            int j = 2 * (i % (n / 2));                                    \
            uint64_t a = v->field[j], b = v->field[j + 1];                \
            r.field[i] = (expr);                                          \
        }                                                                 \
        *d = r;                                                           \
    }
HORIZ(op_phaddw, w, 8, a + b)
HORIZ(op_phaddd, d, 4, a + b)
HORIZ(op_phaddsw, w, 8, (uint16_t)sat16(S16(a) + S16(b)))
HORIZ(op_phsubw, w, 8, a - b)
HORIZ(op_phsubd, d, 4, a - b)
HORIZ(op_phsubsw, w, 8, (uint16_t)sat16(S16(a) - S16(b)))

#define LANES(name, field, n, expr)                                       \
    static void name(emu_xmm *d, const emu_xmm *s, unsigned bytes)        \
    {                                                                     \
        for (unsigned i = 0; i < n * bytes / 16; i++) {                   \
            uint64_t a = d->field[i], b = s->field[i];                    \
            (void)a;                                                      \
            d->field[i] = (expr);                                         \
        }                                                                 \
    }
LANES(op_psignb, b, 16, S8(b) < 0 ? -a : b ? a : 0)
LANES(op_psignw, w, 8, S16(b) < 0 ? -a : b ? a : 0)
LANES(op_psignd, d, 4, S32(b) < 0 ? -a : b ? a : 0)
LANES(op_pabsb, b, 16, S8(b) < 0 ? -b : b)
LANES(op_pabsw, w, 8, S16(b) < 0 ? -b : b)
LANES(op_pabsd, d, 4, S32(b) < 0 ? -b : b)
LANES(op_pmulhrsw, w, 8, (uint16_t)((((S16(a) * S16(b)) >> 14) + 1) >> 1))
LANES(op_pcmpeqq, q, 2, a == b ? ~0ull : 0)
LANES(op_pcmpgtq, q, 2, (int64_t)a > (int64_t)b ? ~0ull : 0)
LANES(op_pminsb, b, 16, S8(a) < S8(b) ? a : b)
LANES(op_pminsd, d, 4, S32(a) < S32(b) ? a : b)
LANES(op_pminuw, w, 8, a < b ? a : b)
LANES(op_pminud, d, 4, a < b ? a : b)
LANES(op_pmaxsb, b, 16, S8(a) > S8(b) ? a : b)
LANES(op_pmaxsd, d, 4, S32(a) > S32(b) ? a : b)
LANES(op_pmaxuw, w, 8, a > b ? a : b)
LANES(op_pmaxud, d, 4, a > b ? a : b)
LANES(op_pmulld, d, 4, a * b)

static void op_pshufb(emu_xmm *d, const emu_xmm *s, unsigned bytes)
{
    emu_xmm r = *d;
    for (unsigned i = 0; i < bytes; i++)
        r.b[i] = (s->b[i] & 0x80) ? 0 : d->b[s->b[i] & (bytes - 1)];
    *d = r;
}

/* Unsigned bytes of d times signed bytes of s, pairs summed with
 * saturation. */
static void op_pmaddubsw(emu_xmm *d, const emu_xmm *s, unsigned bytes)
{
    for (unsigned i = 0; i < bytes / 2; i++)
        d->w[i] = (uint16_t)sat16(d->b[2 * i] * S8(s->b[2 * i]) +
                                  d->b[2 * i + 1] * S8(s->b[2 * i + 1]));
}

static void op_pmuldq(emu_xmm *d, const emu_xmm *s, unsigned bytes)
{
    d->q[0] = (uint64_t)(S32(d->d[0]) * S32(s->d[0]));
    d->q[1] = (uint64_t)(S32(d->d[2]) * S32(s->d[2]));
}

static void op_packusdw(emu_xmm *d, const emu_xmm *s, unsigned bytes)
{
    emu_xmm r;
    for (int i = 0; i < 8; i++) {
        int64_t v = S32(i < 4 ? d->d[i] : s->d[i - 4]);
        r.w[i] = (uint16_t)(v < 0 ? 0 : v > 65535 ? 65535 : v);
    }
    *d = r;
}

/* The smallest unsigned word of s and its (lowest) index. */
static void op_phminposuw(emu_xmm *d, const emu_xmm *s, unsigned bytes)
{
    unsigned idx = 0;
    for (unsigned i = 1; i < 8; i++)
        if (s->w[i] < s->w[idx])
            idx = i;
    *d = (emu_xmm){.w = {s->w[idx], (uint16_t)idx}};
}

static const ssse3_fn ssse3_ops[S_COUNT] = {
    [S_PSHUFB] = op_pshufb, [S_PHADDW] = op_phaddw, [S_PHADDD] = op_phaddd,
    [S_PHADDSW] = op_phaddsw, [S_PMADDUBSW] = op_pmaddubsw, [S_PHSUBW] = op_phsubw,
    [S_PHSUBD] = op_phsubd, [S_PHSUBSW] = op_phsubsw, [S_PSIGNB] = op_psignb,
    [S_PSIGNW] = op_psignw, [S_PSIGND] = op_psignd, [S_PMULHRSW] = op_pmulhrsw,
    [S_PABSB] = op_pabsb, [S_PABSW] = op_pabsw, [S_PABSD] = op_pabsd,
    [S_PMULDQ] = op_pmuldq, [S_PCMPEQQ] = op_pcmpeqq, [S_PACKUSDW] = op_packusdw,
    [S_PMINSB] = op_pminsb, [S_PMINSD] = op_pminsd, [S_PMINUW] = op_pminuw,
    [S_PMINUD] = op_pminud, [S_PMAXSB] = op_pmaxsb, [S_PMAXSD] = op_pmaxsd,
    [S_PMAXUW] = op_pmaxuw, [S_PMAXUD] = op_pmaxud, [S_PMULLD] = op_pmulld,
    [S_PHMINPOSUW] = op_phminposuw, [S_PCMPGTQ] = op_pcmpgtq,
};

void ssse3_lanes(unsigned op, emu_xmm *d, const emu_xmm *s, unsigned bytes)
{
    ssse3_ops[op](d, s, bytes);
}

/* PALIGNR: bytes imm8.. of the concatenation d:s, each `bytes` long. */
void ssse3_palignr(emu_xmm *d, const emu_xmm *s, unsigned imm, unsigned bytes)
{
    uint8_t cat[48] = {0};
    memcpy(cat, s->b, bytes);
    memcpy(cat + bytes, d->b, bytes);
    memset(d->b, 0, bytes);
    if (imm < 2 * bytes)
        memcpy(d->b, cat + imm, bytes);
}

/* xmm1 = op(xmm1, xmm2/m128), in->sub an enum ssse3_op. */
EXEC(ex_ssse3)
{
    emu_xmm s;
    int st = emu_sse_check(cpu);
    if (st || (st = sse_load(cpu, in, 16, true, &s)) != 0)
        return st;
    ssse3_ops[in->sub](xmm_reg(cpu, in->reg), &s, 16);
    return next(cpu, in);
}

/* 66 0F 3A 0F PALIGNR: bytes imm8.. of the 32-byte xmm1:xmm2/m128. */
EXEC(ex_palignr)
{
    emu_xmm s;
    int st = emu_sse_check(cpu);
    if (st || (st = sse_load(cpu, in, 16, true, &s)) != 0)
        return st;
    ssse3_palignr(xmm_reg(cpu, in->reg), &s, in->imm & 0xff, 16);
    return next(cpu, in);
}
