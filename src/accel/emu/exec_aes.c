/*
 * AES-NI (66 0F 38 DB-DF, 66 0F 3A DF) and PCLMULQDQ (66 0F 3A 44). The AES
 * rounds run on the host's own AES unit; the carry-less multiply is plain
 * C. None of them raises SIMD exceptions.
 */
#include <string.h>

#include "accel/emu/sse4.h"

#include <emmintrin.h>

static int load_src(struct emu_cpu *cpu, const struct emu_insn *in, emu_xmm *s)
{
    int st = emu_sse_check(cpu);
    return st ? st : sse_load(cpu, in, 16, true, s);
}

#define AES_OP(insn)                                                          \
    __asm__(insn " %[b], %[a]" : [a] "+x"(a) : [b] "x"(b))

/* 66 0F 38 DB AESIMC, DC AESENC, DD AESENCLAST, DE AESDEC, DF AESDECLAST. */
EXEC(ex_aes)
{
    if (!emu_has(cpu, EMU_HF_AES))
        return emu_raise(cpu, EXC_UD); /* the host's own instruction */
    emu_xmm s;
    int st = load_src(cpu, in, &s);
    if (st)
        return st;
    __m128i a, b;
    memcpy(&a, xmm_reg(cpu, in->reg), 16);
    memcpy(&b, &s, 16);
    switch (in->opcode) {
    case 0xdb: AES_OP("aesimc"); break;
    case 0xdc: AES_OP("aesenc"); break;
    case 0xdd: AES_OP("aesenclast"); break;
    case 0xde: AES_OP("aesdec"); break;
    default: AES_OP("aesdeclast"); break;
    }
    memcpy(xmm_reg(cpu, in->reg), &a, 16);
    return next(cpu, in);
}

#define KEYGEN_CASE(i)                                                                 \
    case i:                                                                            \
        __asm__("aeskeygenassist $" #i ", %[b], %[a]" : [a] "=x"(a) : [b] "x"(b));     \
        break;

/* 66 0F 3A DF AESKEYGENASSIST xmm1, xmm2/m128, imm8 (the round constant). */
EXEC(ex_aeskeygen)
{
    if (!emu_has(cpu, EMU_HF_AES))
        return emu_raise(cpu, EXC_UD); /* the host's own instruction */
    emu_xmm s;
    int st = load_src(cpu, in, &s);
    if (st)
        return st;
    __m128i a = _mm_setzero_si128(), b;
    memcpy(&b, &s, 16);
    switch (in->imm & 0xff) { SSE_IMM256(KEYGEN_CASE) }
    memcpy(xmm_reg(cpu, in->reg), &a, 16);
    return next(cpu, in);
}

/* 66 0F 3A 44 PCLMULQDQ: the quadwords imm8[0] of xmm1 and imm8[4] of
 * xmm2/m128 multiplied as polynomials over GF(2). */
EXEC(ex_pclmulqdq)
{
    emu_xmm s;
    int st = load_src(cpu, in, &s);
    if (st)
        return st;
    emu_xmm *d = xmm_reg(cpu, in->reg);
    uint64_t a = d->q[in->imm & 1], b = s.q[(in->imm >> 4) & 1], lo = 0, hi = 0;
    for (unsigned i = 0; i < 64; i++) {
        if (!((b >> i) & 1))
            continue;
        lo ^= a << i;
        hi ^= i ? a >> (64 - i) : 0;
    }
    d->q[0] = lo;
    d->q[1] = hi;
    return next(cpu, in);
}
