/*
 * SSE2 integer operations on XMM registers (66 0F 60-76, D1-FE, and the
 * 71-73 shift-by-immediate groups), plus the bitwise and unpack FP forms
 * that are the same operation (ANDPS = PAND, UNPCKLPS = PUNPCKLDQ, ...).
 * Each operation is a function d = op(d, s) over the low `bytes` bytes
 * (16 for XMM, 8 for the MMX forms in exec_mmx.c, which share them).
 */
#include <string.h>

#include "accel/emu/sse.h"

typedef void (*int_op_fn)(emu_xmm *d, const emu_xmm *s, unsigned bytes);

static int sat_s8(int v) { return v > 127 ? 127 : v < -128 ? -128 : v; }
static int sat_u8(int v) { return v > 255 ? 255 : v < 0 ? 0 : v; }
static int sat_s16(int v) { return v > 32767 ? 32767 : v < -32768 ? -32768 : v; }
static int sat_u16(int v) { return v > 65535 ? 65535 : v < 0 ? 0 : v; }

/* One lane-wise operation: a, b are the lane values of d and s; n is
 * the XMM lane count. */
#define LANEWISE(name, field, n, expr)                                   \
    static void name(emu_xmm *d, const emu_xmm *s, unsigned bytes)       \
    {                                                                    \
        for (unsigned i = 0; i < n * bytes / 16; i++) {                  \
            uint64_t a = d->field[i], b = s->field[i];                   \
            (void)a, (void)b;                                            \
            d->field[i] = (expr);                                        \
        }                                                                \
    }

#define S8(x) ((int)(int8_t)(x))
#define S16(x) ((int)(int16_t)(x))
#define S32(x) ((int64_t)(int32_t)(x))

LANEWISE(op_pcmpeqb, b, 16, a == b ? 0xff : 0)
LANEWISE(op_pcmpeqw, w, 8, a == b ? 0xffff : 0)
LANEWISE(op_pcmpeqd, d, 4, a == b ? 0xffffffffu : 0)
LANEWISE(op_pcmpgtb, b, 16, S8(a) > S8(b) ? 0xff : 0)
LANEWISE(op_pcmpgtw, w, 8, S16(a) > S16(b) ? 0xffff : 0)
LANEWISE(op_pcmpgtd, d, 4, S32(a) > S32(b) ? 0xffffffffu : 0)
LANEWISE(op_paddb, b, 16, a + b)
LANEWISE(op_paddw, w, 8, a + b)
LANEWISE(op_paddd, d, 4, a + b)
LANEWISE(op_paddq, q, 2, a + b)
LANEWISE(op_psubb, b, 16, a - b)
LANEWISE(op_psubw, w, 8, a - b)
LANEWISE(op_psubd, d, 4, a - b)
LANEWISE(op_psubq, q, 2, a - b)
LANEWISE(op_paddsb, b, 16, sat_s8(S8(a) + S8(b)))
LANEWISE(op_paddsw, w, 8, sat_s16(S16(a) + S16(b)))
LANEWISE(op_paddusb, b, 16, sat_u8((int)a + (int)b))
LANEWISE(op_paddusw, w, 8, sat_u16((int)a + (int)b))
LANEWISE(op_psubsb, b, 16, sat_s8(S8(a) - S8(b)))
LANEWISE(op_psubsw, w, 8, sat_s16(S16(a) - S16(b)))
LANEWISE(op_psubusb, b, 16, sat_u8((int)a - (int)b))
LANEWISE(op_psubusw, w, 8, sat_u16((int)a - (int)b))
LANEWISE(op_pmullw, w, 8, (uint32_t)S16(a) * (uint32_t)S16(b))
LANEWISE(op_pmulhw, w, 8, (uint32_t)(S16(a) * S16(b)) >> 16)
LANEWISE(op_pmulhuw, w, 8, (a * b) >> 16)
LANEWISE(op_pavgb, b, 16, (a + b + 1) >> 1)
LANEWISE(op_pavgw, w, 8, (a + b + 1) >> 1)
LANEWISE(op_pminub, b, 16, a < b ? a : b)
LANEWISE(op_pmaxub, b, 16, a > b ? a : b)
LANEWISE(op_pminsw, w, 8, S16(a) < S16(b) ? a : b)
LANEWISE(op_pmaxsw, w, 8, S16(a) > S16(b) ? a : b)
LANEWISE(op_pand, q, 2, a & b)
LANEWISE(op_pandn, q, 2, ~a & b)
LANEWISE(op_por, q, 2, a | b)
LANEWISE(op_pxor, q, 2, a ^ b)

static void op_pmuludq(emu_xmm *d, const emu_xmm *s, unsigned bytes)
{
    for (unsigned i = 0; i < bytes / 8; i++)
        d->q[i] = (uint64_t)d->d[2 * i] * s->d[2 * i];
}

static void op_pmaddwd(emu_xmm *d, const emu_xmm *s, unsigned bytes)
{
    for (unsigned i = 0; i < bytes / 4; i++) {
        /* 0x8000 * 0x8000 twice wraps to 0x80000000, as on hardware. */
        uint32_t lo = (uint32_t)(S16(d->w[2 * i]) * S16(s->w[2 * i]));
        uint32_t hi = (uint32_t)(S16(d->w[2 * i + 1]) * S16(s->w[2 * i + 1]));
        d->d[i] = lo + hi;
    }
}

static void op_psadbw(emu_xmm *d, const emu_xmm *s, unsigned bytes)
{
    for (unsigned h = 0; h < bytes / 8; h++) {
        unsigned sum = 0;
        for (unsigned i = 8 * h; i < 8 * h + 8; i++)
            sum += d->b[i] > s->b[i] ? d->b[i] - s->b[i] : s->b[i] - d->b[i];
        d->q[h] = sum;
    }
}

/* Interleave: lanes of `size` bytes from the low (hi = 0) or high half. */
static void unpack(emu_xmm *d, const emu_xmm *s, unsigned bytes, unsigned size, bool hi)
{
    emu_xmm r = *d;
    unsigned half = hi ? bytes / 2 : 0;
    for (unsigned i = 0; i < bytes / 2 / size; i++) {
        memcpy(r.b + 2 * i * size, d->b + half + i * size, size);
        memcpy(r.b + (2 * i + 1) * size, s->b + half + i * size, size);
    }
    *d = r;
}

static void op_punpcklbw(emu_xmm *d, const emu_xmm *s, unsigned n) { unpack(d, s, n, 1, false); }
static void op_punpcklwd(emu_xmm *d, const emu_xmm *s, unsigned n) { unpack(d, s, n, 2, false); }
static void op_punpckldq(emu_xmm *d, const emu_xmm *s, unsigned n) { unpack(d, s, n, 4, false); }
static void op_punpcklqdq(emu_xmm *d, const emu_xmm *s, unsigned n) { unpack(d, s, n, 8, false); }
static void op_punpckhbw(emu_xmm *d, const emu_xmm *s, unsigned n) { unpack(d, s, n, 1, true); }
static void op_punpckhwd(emu_xmm *d, const emu_xmm *s, unsigned n) { unpack(d, s, n, 2, true); }
static void op_punpckhdq(emu_xmm *d, const emu_xmm *s, unsigned n) { unpack(d, s, n, 4, true); }
static void op_punpckhqdq(emu_xmm *d, const emu_xmm *s, unsigned n) { unpack(d, s, n, 8, true); }

/* Narrowing packs: the low half of the result from d, the high from s. */
static void op_packsswb(emu_xmm *d, const emu_xmm *s, unsigned bytes)
{
    emu_xmm r = *d;
    unsigned n = bytes / 2;
    for (unsigned i = 0; i < n; i++) {
        r.b[i] = (uint8_t)sat_s8(S16(d->w[i]));
        r.b[n + i] = (uint8_t)sat_s8(S16(s->w[i]));
    }
    *d = r;
}

static void op_packuswb(emu_xmm *d, const emu_xmm *s, unsigned bytes)
{
    emu_xmm r = *d;
    unsigned n = bytes / 2;
    for (unsigned i = 0; i < n; i++) {
        r.b[i] = (uint8_t)sat_u8(S16(d->w[i]));
        r.b[n + i] = (uint8_t)sat_u8(S16(s->w[i]));
    }
    *d = r;
}

static void op_packssdw(emu_xmm *d, const emu_xmm *s, unsigned bytes)
{
    emu_xmm r = *d;
    unsigned n = bytes / 4;
    for (unsigned i = 0; i < n; i++) {
        int64_t a = S32(d->d[i]), b = S32(s->d[i]);
        r.w[i] = (uint16_t)(a > 32767 ? 32767 : a < -32768 ? -32768 : a);
        r.w[n + i] = (uint16_t)(b > 32767 ? 32767 : b < -32768 ? -32768 : b);
    }
    *d = r;
}

/* Shifts by the whole low quadword of the count; counts past the lane
 * width give zero (logical) or all sign bits (arithmetic). */
static uint64_t shift_count(const emu_xmm *s)
{
    return s->q[0];
}

#define SHIFT(name, field, n, bits, expr)                                \
    static void name(emu_xmm *d, const emu_xmm *s, unsigned bytes)       \
    {                                                                    \
        uint64_t c = shift_count(s);                                     \
        for (unsigned i = 0; i < n * bytes / 16; i++) {                  \
            uint64_t a = d->field[i];                                    \
            d->field[i] = (expr);                                        \
        }                                                                \
        (void)bits;                                                      \
    }

SHIFT(op_psrlw, w, 8, 16, c > 15 ? 0 : a >> c)
SHIFT(op_psrld, d, 4, 32, c > 31 ? 0 : a >> c)
SHIFT(op_psrlq, q, 2, 64, c > 63 ? 0 : a >> c)
SHIFT(op_psllw, w, 8, 16, c > 15 ? 0 : a << c)
SHIFT(op_pslld, d, 4, 32, c > 31 ? 0 : a << c)
SHIFT(op_psllq, q, 2, 64, c > 63 ? 0 : a << c)
SHIFT(op_psraw, w, 8, 16, (uint16_t)(S16(a) >> (c > 15 ? 15 : c)))
SHIFT(op_psrad, d, 4, 32, (uint32_t)(S32(a) >> (c > 31 ? 31 : c)))

/* Whole-register byte shifts (immediate only; XMM only). */
static void op_psrldq(emu_xmm *d, const emu_xmm *s, unsigned bytes)
{
    uint64_t c = shift_count(s);
    emu_xmm r = {{0}};
    if (c < 16)
        memcpy(r.b, d->b + c, 16 - c);
    *d = r;
}

static void op_pslldq(emu_xmm *d, const emu_xmm *s, unsigned bytes)
{
    uint64_t c = shift_count(s);
    emu_xmm r = {{0}};
    if (c < 16)
        memcpy(r.b + c, d->b, 16 - c);
    *d = r;
}

static const int_op_fn int_ops[I_COUNT] = {
    [I_PUNPCKLBW] = op_punpcklbw, [I_PUNPCKLWD] = op_punpcklwd,
    [I_PUNPCKLDQ] = op_punpckldq, [I_PUNPCKLQDQ] = op_punpcklqdq,
    [I_PUNPCKHBW] = op_punpckhbw, [I_PUNPCKHWD] = op_punpckhwd,
    [I_PUNPCKHDQ] = op_punpckhdq, [I_PUNPCKHQDQ] = op_punpckhqdq,
    [I_PACKSSWB] = op_packsswb, [I_PACKSSDW] = op_packssdw, [I_PACKUSWB] = op_packuswb,
    [I_PCMPEQB] = op_pcmpeqb, [I_PCMPEQW] = op_pcmpeqw, [I_PCMPEQD] = op_pcmpeqd,
    [I_PCMPGTB] = op_pcmpgtb, [I_PCMPGTW] = op_pcmpgtw, [I_PCMPGTD] = op_pcmpgtd,
    [I_PADDB] = op_paddb, [I_PADDW] = op_paddw, [I_PADDD] = op_paddd, [I_PADDQ] = op_paddq,
    [I_PSUBB] = op_psubb, [I_PSUBW] = op_psubw, [I_PSUBD] = op_psubd, [I_PSUBQ] = op_psubq,
    [I_PADDSB] = op_paddsb, [I_PADDSW] = op_paddsw,
    [I_PADDUSB] = op_paddusb, [I_PADDUSW] = op_paddusw,
    [I_PSUBSB] = op_psubsb, [I_PSUBSW] = op_psubsw,
    [I_PSUBUSB] = op_psubusb, [I_PSUBUSW] = op_psubusw,
    [I_PMULLW] = op_pmullw, [I_PMULHW] = op_pmulhw, [I_PMULHUW] = op_pmulhuw,
    [I_PMULUDQ] = op_pmuludq, [I_PMADDWD] = op_pmaddwd, [I_PSADBW] = op_psadbw,
    [I_PAVGB] = op_pavgb, [I_PAVGW] = op_pavgw,
    [I_PMINUB] = op_pminub, [I_PMAXUB] = op_pmaxub,
    [I_PMINSW] = op_pminsw, [I_PMAXSW] = op_pmaxsw,
    [I_PAND] = op_pand, [I_PANDN] = op_pandn, [I_POR] = op_por, [I_PXOR] = op_pxor,
    [I_PSRLW] = op_psrlw, [I_PSRLD] = op_psrld, [I_PSRLQ] = op_psrlq,
    [I_PSRAW] = op_psraw, [I_PSRAD] = op_psrad,
    [I_PSLLW] = op_psllw, [I_PSLLD] = op_pslld, [I_PSLLQ] = op_psllq,
    [I_PSRLDQ] = op_psrldq, [I_PSLLDQ] = op_pslldq,
};

void sse_int_lanes(unsigned op, emu_xmm *d, const emu_xmm *s, unsigned bytes)
{
    int_ops[op](d, s, bytes);
}

/* xmm1 = op(xmm1, xmm2/m128). */
EXEC(ex_sse_int)
{
    emu_xmm s;
    int st = emu_sse_check(cpu);
    if (st || (st = sse_load(cpu, in, 16, true, &s)) != 0)
        return st;
    int_ops[in->sub](xmm_reg(cpu, in->reg), &s, 16);
    return next(cpu, in);
}

/* 66 0F 71/72/73 /n ib: shift xmm (ModRM.rm) by an immediate. The group
 * table puts the operation in sub; memory forms are #UD. */
EXEC(ex_sse_shift_imm)
{
    if (in->flags & INSN_MEM)
        return emu_raise(cpu, EXC_UD);
    int st = emu_sse_check(cpu);
    if (st)
        return st;
    emu_xmm count = {.q = {in->imm & 0xff, 0}};
    int_ops[in->sub](xmm_reg(cpu, in->rm), &count, 16);
    return next(cpu, in);
}
