/*
 * SSE3 (SDM Vol. 2, ADDSUBPS to MOVSLDUP): the horizontal and alternating
 * FP forms run on the host, the duplicating moves in C. Also the helper
 * every host-computed SSE3/SSE4.1 FP form goes through. FISTTP lives with
 * the x87; MONITOR/MWAIT are not advertised and stay #UD.
 */
#include <string.h>

#include "accel/emu/sse4.h"

#include <emmintrin.h>

static bool has_tiny(const emu_xmm *r, unsigned elem)
{
    for (unsigned i = 0; i < 16 / elem; i++) {
        bool t = elem == 4 ? (r->d[i] & 0x7f800000u) == 0 && (r->d[i] & 0x007fffffu)
                           : (r->q[i] & 0x7ff0000000000000ull) == 0 &&
                                 (r->q[i] & 0x000fffffffffffffull);
        if (t)
            return true;
    }
    return false;
}

uint32_t sse_step_flags(uint32_t raised, uint32_t unmasked)
{
    uint32_t pre = raised & (MXCSR_IE | MXCSR_DE | MXCSR_ZE);
    return (pre & unmasked) ? pre : raised;
}

/* Merge flags already reduced by sse_step_flags; #XM (or #UD without
 * CR4.OSXMMEXCPT) when one is unmasked. */
static int raise_flags(struct emu_cpu *cpu, uint32_t raised)
{
    uint32_t unmasked = raised & ~(cpu->fpu.mxcsr >> 7) & MXCSR_FLAGS;
    cpu->fpu.mxcsr |= raised & MXCSR_FLAGS;
    if (!unmasked)
        return EMU_OK;
    return emu_raise(cpu, (cpu->cr4 & CR4_OSXMMEXCPT) ? EXC_XM : EXC_UD);
}

int sse_host_fp(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, sse_host_fn fn,
                sse_lanes_fn lanes, unsigned tiny)
{
    emu_xmm s;
    int st = emu_sse_check(cpu);
    if (st || (st = sse_load(cpu, in, size, true, &s)) != 0)
        return st;
    emu_xmm r = *xmm_reg(cpu, in->reg);
    uint32_t csr = sse_host_csr(cpu), raised = fn(&r, &s, csr, (unsigned)in->imm);
    uint32_t unmasked = ~(cpu->fpu.mxcsr >> 7) & MXCSR_FLAGS;
    if (lanes && ((raised & unmasked) || (unmasked & MXCSR_UE))) {
        st = raise_flags(cpu, lanes(in, xmm_reg(cpu, in->reg), &s, csr, unmasked));
    } else {
        if (tiny && (unmasked & MXCSR_UE) && has_tiny(&r, tiny))
            raised |= MXCSR_UE; /* unmasked underflow also traps on exact tiny results */
        st = sse_fp_flags(cpu, raised);
    }
    if (st)
        return st;
    *xmm_reg(cpu, in->reg) = r;
    return next(cpu, in);
}

#define HOST(name, insn)                                                          \
    static uint32_t name(emu_xmm *d, const emu_xmm *s, uint32_t csr, unsigned imm) \
    {                                                                             \
        __m128 x, y;                                                              \
        uint32_t host, out;                                                       \
        (void)imm;                                                                \
        memcpy(&x, d, 16);                                                        \
        memcpy(&y, s, 16);                                                        \
        __asm__ volatile(SSE_HOST_ASM(insn " %[y], %[x]")                         \
                         : [x] "+x"(x), [h] "=m"(host), [o] "=m"(out)             \
                         : [y] "x"(y), [c] "m"(csr));                             \
        memcpy(d, &x, 16);                                                        \
        return out;                                                               \
    }
HOST(h_addsubps, "addsubps") HOST(h_addsubpd, "addsubpd")
HOST(h_haddps, "haddps") HOST(h_haddpd, "haddpd")
HOST(h_hsubps, "hsubps") HOST(h_hsubpd, "hsubpd")

/* The same operations as scalar lanes a[i] op b[i], for the flags an
 * unmasked overflow or underflow reports. */
static uint32_t sse3_lanes(const struct emu_insn *in, const emu_xmm *d, const emu_xmm *s,
                           uint32_t csr, uint32_t unmasked)
{
    bool dbl = in->sub == SSE_PD;
    unsigned n = dbl ? 2 : 4;
    uint64_t a[4], b[4];
    uint32_t raised = 0;
    for (unsigned i = 0; i < n; i++) {
        if (in->opcode == 0xd0) {
            a[i] = dbl ? d->q[i] : d->d[i];
            b[i] = dbl ? s->q[i] : s->d[i];
        } else {
            const emu_xmm *v = i < n / 2 ? d : s;
            unsigned j = 2 * (i % (n / 2));
            a[i] = dbl ? v->q[j] : v->d[j];
            b[i] = dbl ? v->q[j + 1] : v->d[j + 1];
        }
        bool sub = in->opcode == 0x7d || (in->opcode == 0xd0 && !(i & 1));
        raised |= sse_scalar_flags(sub ? 0x5c : 0x58, dbl, a[i], b[i], csr, unmasked);
    }
    return sse_step_flags(raised, unmasked);
}

/* 66/F2 0F D0 ADDSUBPD/PS, 0F 7C HADDPD/PS, 0F 7D HSUBPD/PS. */
EXEC(ex_sse3_fp)
{
    if (!emu_has(cpu, EMU_HF_SSE3))
        return emu_raise(cpu, EXC_UD); /* the host's own instruction */
    bool dbl = in->sub == SSE_PD;
    sse_host_fn fn = in->opcode == 0xd0 ? (dbl ? h_addsubpd : h_addsubps)
                     : in->opcode == 0x7c ? (dbl ? h_haddpd : h_haddps)
                                          : (dbl ? h_hsubpd : h_hsubps);
    return sse_host_fp(cpu, in, 16, fn, sse3_lanes, 0);
}

/* F3 0F 12 MOVSLDUP (sub 0), F3 0F 16 MOVSHDUP (sub 1). */
EXEC(ex_movsldup)
{
    emu_xmm s;
    int st = emu_sse_check(cpu);
    if (st || (st = sse_load(cpu, in, 16, true, &s)) != 0)
        return st;
    unsigned h = in->sub;
    *xmm_reg(cpu, in->reg) = (emu_xmm){.d = {s.d[h], s.d[h], s.d[2 + h], s.d[2 + h]}};
    return next(cpu, in);
}

/* F2 0F 12 MOVDDUP xmm, xmm/m64. */
EXEC(ex_movddup)
{
    emu_xmm s;
    int st = emu_sse_check(cpu);
    if (st || (st = sse_load(cpu, in, 8, false, &s)) != 0)
        return st;
    *xmm_reg(cpu, in->reg) = (emu_xmm){.q = {s.q[0], s.q[0]}};
    return next(cpu, in);
}

/* F2 0F F0 LDDQU xmm, m128: unaligned; no register form. */
EXEC(ex_lddqu)
{
    emu_xmm s;
    if (!(in->flags & INSN_MEM))
        return emu_raise(cpu, EXC_UD);
    int st = emu_sse_check(cpu);
    if (st || (st = sse_load(cpu, in, 16, false, &s)) != 0)
        return st;
    *xmm_reg(cpu, in->reg) = s;
    return next(cpu, in);
}
