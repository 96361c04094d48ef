/*
 * SSE4.2 string compares (PCMPESTRI/ESTRM/ISTRI/ISTRM, 66 0F 3A 60-63),
 * and the GPR instructions CRC32 (F2 0F 38 F0/F1) and POPCNT (F3 0F B8).
 * PCMPGTQ is in exec_ssse3.c.
 *
 * The string compares are subtle (SDM Vol. 1 12.10): the host computes
 * IntRes2 and the flags with PCMPxSTRM and imm8[5:0] (data format,
 * aggregation, polarity). The output selection, imm8[6], is applied here:
 * the index (least or most significant bit of IntRes2) for the I forms, the
 * bit or element mask for the M forms. Explicit lengths are reduced to
 * their saturated absolute values first, which is what the CPU uses, so
 * the host always runs the 32-bit-length form.
 */
#include <string.h>

#include "accel/emu/sse4.h"

#include <emmintrin.h>

struct str_result {
    uint32_t mask;                 /* IntRes2 */
    uint8_t cf, zf, sf, of;
};

#define STR_OUT [r] "=m"(res), [cf] "=@ccc"(o->cf), [zf] "=@ccz"(o->zf), [sf] "=@ccs"(o->sf), \
    [of] "=@cco"(o->of)
#define E_CASE(i)                                                                  \
    case i:                                                                        \
        __asm__("pcmpestrm $" #i ", %[b], %[a]\n\tmovdqu %%xmm0, %[r]"             \
                : STR_OUT : [a] "x"(a), [b] "x"(b), "a"(la), "d"(lb) : "xmm0");     \
        break;
#define I_CASE(i)                                                                  \
    case i:                                                                        \
        __asm__("pcmpistrm $" #i ", %[b], %[a]\n\tmovdqu %%xmm0, %[r]"             \
                : STR_OUT : [a] "x"(a), [b] "x"(b) : "xmm0");                      \
        break;

static void host_pcmpstr(bool explicit, unsigned imm, const emu_xmm *d, const emu_xmm *s,
                         uint32_t la, uint32_t lb, struct str_result *o)
{
    __m128i a, b, res = _mm_setzero_si128();
    memcpy(&a, d, 16);
    memcpy(&b, s, 16);
    if (explicit) {
        switch (imm & 0x3f) { SSE_IMM64(E_CASE) }
    } else {
        switch (imm & 0x3f) { SSE_IMM64(I_CASE) }
    }
    o->mask = (uint32_t)_mm_cvtsi128_si32(res);
}

/* EAX/EDX (RAX/RDX with REX.W) as a length: absolute value, saturated
 * to the element count. */
static uint32_t str_len(uint64_t v, unsigned opsz, unsigned max)
{
    int64_t n = opsz == 8 ? (int64_t)v : (int64_t)(int32_t)v;
    uint64_t mag = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
    return mag > max ? max : (uint32_t)mag;
}

EXEC(ex_pcmpstr)
{
    if (!emu_has(cpu, EMU_HF_SSE42))
        return emu_raise(cpu, EXC_UD); /* the host's own instruction */
    emu_xmm s;
    int st = emu_sse_check(cpu);
    if (st || (st = sse_load(cpu, in, 16, false, &s)) != 0)
        return st;
    unsigned imm = (unsigned)in->imm, max = (imm & 1) ? 8 : 16;
    bool explicit = in->opcode < 0x62;
    uint32_t la = explicit ? str_len(cpu->gpr[0], in->opsz, max) : 0;
    uint32_t lb = explicit ? str_len(cpu->gpr[2], in->opsz, max) : 0;
    struct str_result o;
    host_pcmpstr(explicit, imm, xmm_reg(cpu, in->reg), &s, la, lb, &o);
    if (in->opcode & 1) {          /* index into ECX */
        uint32_t idx = max;
        if (o.mask)
            idx = (imm & 0x40) ? 31u - (uint32_t)__builtin_clz(o.mask)
                               : (uint32_t)__builtin_ctz(o.mask);
        reg_write(cpu, 1, 4, idx);
    } else {                       /* mask into XMM0 */
        emu_xmm m = {.d = {o.mask}};
        if (imm & 0x40)
            for (unsigned i = 0; i < max; i++)
                memset(m.b + i * (16 / max), (o.mask >> i) & 1 ? 0xff : 0, 16 / max);
        *xmm_reg(cpu, 0) = m;
    }
    uint64_t fl = emu_rflags(cpu) & ~RFLAGS_ARITH;
    fl |= (o.cf ? RFLAGS_CF : 0) | (o.zf ? RFLAGS_ZF : 0) | (o.sf ? RFLAGS_SF : 0) |
          (o.of ? RFLAGS_OF : 0);
    emu_set_rflags(cpu, fl);
    return next(cpu, in);
}

/* CRC-32C (Castagnoli), bit-reflected as the instruction computes it. */
static uint32_t crc32c(uint32_t crc, uint64_t v, unsigned size)
{
    for (unsigned i = 0; i < size * 8; i++) {
        uint32_t bit = (crc ^ (uint32_t)(v >> i)) & 1;
        crc = (crc >> 1) ^ (bit ? 0x82f63b78u : 0);
    }
    return crc;
}

/* F2 0F 38 F0 CRC32 r32/64, r/m8; F1 CRC32 r32/64, r/m16/32/64. The
 * destination is 64-bit only with REX.W; the result is 32 bits. */
EXEC(ex_crc32)
{
    unsigned size = in->opcode == 0xf0 ? 1 : in->opsz, dsize = in->opsz == 8 ? 8 : 4;
    uint64_t v;
    int st = rm_read(cpu, in, size, &v);
    if (st)
        return st;
    reg_write(cpu, in->reg, dsize, crc32c((uint32_t)cpu->gpr[in->reg], v, size));
    return next(cpu, in);
}

/* F3 0F B8 POPCNT: ZF when the source is zero; CF, OF, SF, AF, PF clear. */
EXEC(ex_popcnt)
{
    uint64_t v;
    int st = rm_read(cpu, in, in->opsz, &v);
    if (st)
        return st;
    reg_write(cpu, in->reg, in->opsz, (uint64_t)__builtin_popcountll(v));
    emu_set_rflags(cpu, (emu_rflags(cpu) & ~RFLAGS_ARITH) | (v ? 0 : RFLAGS_ZF));
    return next(cpu, in);
}
