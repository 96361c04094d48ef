/*
 * SSE/SSE2 floating point: arithmetic, compares, conversions, SQRT, RCP,
 * RSQRT. Results are bit-exact because the host CPU computes them: each
 * operation runs under the guest's rounding, FTZ and DAZ settings with every
 * exception masked (one asm statement, so the compiler cannot move it away
 * from the MXCSR switch), and the flags it raises decide the guest's SIMD
 * exception (SDM Vol. 1 11.5). RCPPS/RSQRTPS approximations differ between
 * CPU models; the host's are as good as any real CPU's.
 */
#include <string.h>

#include "accel/emu/sse.h"
#include "accel/emu/sse4.h"

#if !defined(__x86_64__)
#error "the emu SSE floating point uses the host's SSE unit: build on x86-64"
#endif

#include <emmintrin.h>

/* Tables list only the fields an entry needs. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* d = op(d, s) under MXCSR value csr; returns the MXCSR afterwards. */
typedef uint32_t (*host_fn)(emu_xmm *d, const emu_xmm *s, uint32_t csr);

#define HOST_ASM(text) "stmxcsr %[h]\n\tldmxcsr %[c]\n\t" text "\n\tstmxcsr %[o]\n\tldmxcsr %[h]"

#define HOSTOP(name, insn)                                                        \
    static uint32_t name(emu_xmm *d, const emu_xmm *s, uint32_t csr)              \
    {                                                                             \
        __m128 x, y;                                                              \
        uint32_t host, out;                                                       \
        memcpy(&x, d, 16);                                                        \
        memcpy(&y, s, 16);                                                        \
        __asm__ volatile(HOST_ASM(insn " %[y], %[x]")                             \
                         : [x] "+x"(x), [h] "=m"(host), [o] "=m"(out)             \
                         : [y] "x"(y), [c] "m"(csr));                             \
        memcpy(d, &x, 16);                                                        \
        return out;                                                               \
    }
#define HOST4(op) HOSTOP(h_##op##ps, #op "ps") HOSTOP(h_##op##pd, #op "pd") \
    HOSTOP(h_##op##ss, #op "ss") HOSTOP(h_##op##sd, #op "sd")

HOST4(add) HOST4(mul) HOST4(sub) HOST4(min) HOST4(div) HOST4(max) HOST4(sqrt)
HOSTOP(h_rsqrtps, "rsqrtps") HOSTOP(h_rsqrtss, "rsqrtss")
HOSTOP(h_rcpps, "rcpps") HOSTOP(h_rcpss, "rcpss")
HOSTOP(h_cvtps2pd, "cvtps2pd") HOSTOP(h_cvtpd2ps, "cvtpd2ps")
HOSTOP(h_cvtss2sd, "cvtss2sd") HOSTOP(h_cvtsd2ss, "cvtsd2ss")
HOSTOP(h_cvtdq2ps, "cvtdq2ps") HOSTOP(h_cvtps2dq, "cvtps2dq") HOSTOP(h_cvttps2dq, "cvttps2dq")
HOSTOP(h_cvttpd2dq, "cvttpd2dq") HOSTOP(h_cvtdq2pd, "cvtdq2pd") HOSTOP(h_cvtpd2dq, "cvtpd2dq")

#define CMP8(t) HOSTOP(h_cmp##t##0, "cmp" #t " $0,") HOSTOP(h_cmp##t##1, "cmp" #t " $1,") \
    HOSTOP(h_cmp##t##2, "cmp" #t " $2,") HOSTOP(h_cmp##t##3, "cmp" #t " $3,")            \
    HOSTOP(h_cmp##t##4, "cmp" #t " $4,") HOSTOP(h_cmp##t##5, "cmp" #t " $5,")            \
    HOSTOP(h_cmp##t##6, "cmp" #t " $6,") HOSTOP(h_cmp##t##7, "cmp" #t " $7,")
CMP8(ps) CMP8(pd) CMP8(ss) CMP8(sd)

/* One form: its host operation, memory operand size and, for forms that
 * can overflow or underflow, how many float (fl) or double (dl) result
 * lanes it computes (see lane_flags). */
struct fp_form {
    host_fn fn;
    uint8_t size, fl, dl;
};

#define ARITH(op) {{h_##op##ps, 16, 4, 0}, {h_##op##pd, 16, 0, 2}, \
                   {h_##op##ss, 4, 1, 0}, {h_##op##sd, 8, 0, 1}}
#define NOUF(op) {{h_##op##ps, 16}, {h_##op##pd, 16}, {h_##op##ss, 4}, {h_##op##sd, 8}}

/* 0F 51-5F by [opcode - 0x51][prefix]. */
static const struct fp_form fp_forms[15][4] = {
    [0x51 - 0x51] = NOUF(sqrt),
    [0x52 - 0x51] = {{h_rsqrtps, 16}, {0}, {h_rsqrtss, 4}, {0}},
    [0x53 - 0x51] = {{h_rcpps, 16}, {0}, {h_rcpss, 4}, {0}},
    [0x58 - 0x51] = ARITH(add),
    [0x59 - 0x51] = ARITH(mul),
    [0x5a - 0x51] = {{h_cvtps2pd, 8}, {h_cvtpd2ps, 16, 2, 0}, {h_cvtss2sd, 4},
                     {h_cvtsd2ss, 8, 1, 0}},
    [0x5b - 0x51] = {{h_cvtdq2ps, 16}, {h_cvtps2dq, 16}, {h_cvttps2dq, 16}, {0}},
    [0x5c - 0x51] = ARITH(sub),
    [0x5d - 0x51] = NOUF(min),
    [0x5e - 0x51] = ARITH(div),
    [0x5f - 0x51] = NOUF(max),
};
/* 0F E6: CVTTPD2DQ (66), CVTDQ2PD (F3), CVTPD2DQ (F2). */
static const struct fp_form fp_e6[4] = {{0}, {h_cvttpd2dq, 16}, {h_cvtdq2pd, 8}, {h_cvtpd2dq, 16}};

#define CMPF(t, n) {h_cmp##t##0, n}, {h_cmp##t##1, n}, {h_cmp##t##2, n}, {h_cmp##t##3, n}, \
    {h_cmp##t##4, n}, {h_cmp##t##5, n}, {h_cmp##t##6, n}, {h_cmp##t##7, n}
/* 0F C2 ib: the legacy encodings use imm8[2:0] only. */
static const struct fp_form fp_cmp[4][8] = {{CMPF(ps, 16)}, {CMPF(pd, 16)}, {CMPF(ss, 4)},
                                            {CMPF(sd, 8)}};

static const struct fp_form *fp_form_of(const struct emu_insn *in)
{
    if (in->opcode == 0xc2)
        return &fp_cmp[in->sub][in->imm & 7];
    if (in->opcode == 0xe6)
        return &fp_e6[in->sub];
    return &fp_forms[in->opcode - 0x51][in->sub];
}

/* The MXCSR the host runs with: the guest's modes, all exceptions masked,
 * flags clear. FTZ only acts while underflow is masked (SDM Vol. 1 10.2.3.3). */
static uint32_t host_csr(const struct emu_cpu *cpu)
{
    uint32_t g = cpu->fpu.mxcsr;
    uint32_t c = (g & (MXCSR_DAZ | MXCSR_RC | MXCSR_FZ)) | MXCSR_MASKS;
    if (!(g & (MXCSR_UE << 7)))
        c &= ~MXCSR_FZ;
    return c;
}

static bool denormal_f(uint32_t v)
{
    return (v & 0x7f800000u) == 0 && (v & 0x007fffffu) != 0;
}

static bool denormal_d(uint64_t v)
{
    return (v & 0x7ff0000000000000ull) == 0 && (v & 0x000fffffffffffffull) != 0;
}

/* Lane i alone: every other lane of both operands becomes 1.0, which
 * raises nothing in any of the forms that can overflow or underflow. */
static void isolate_lane(emu_xmm *a, emu_xmm *b, unsigned n, unsigned i)
{
    for (unsigned j = 0; j < n; j++) {
        if (j == i)
            continue;
        if (n == 4)
            a->d[j] = b->d[j] = 0x3f800000u;
        else
            a->q[j] = b->q[j] = 0x3ff0000000000000ull;
    }
}

/* An operand as the guest's DAZ setting sees it. */
static uint64_t daz(uint64_t v, bool dbl, uint32_t csr)
{
    if (!(csr & MXCSR_DAZ))
        return v;
    if (dbl)
        return denormal_d(v) ? v & (1ull << 63) : v;
    return denormal_f((uint32_t)v) ? v & 0x80000000u : v;
}

/* Is the result of lane op(a, b) inexact once rounded to the destination
 * precision with an unbounded exponent? That is the precision flag a CPU
 * reports beside an unmasked overflow or underflow. The host's x87 unit
 * gives that rounding: a 15-bit exponent, precision control set to 24 or
 * 53 bits, and the guest's rounding mode. */
static bool unbounded_inexact(unsigned opcode, bool dbl_in, bool dbl_out, uint64_t a,
                              uint64_t b, uint32_t mxcsr)
{
    uint16_t cw = (uint16_t)(0x7f | (dbl_out ? 0x200 : 0) | ((mxcsr & MXCSR_RC) >> 3)), old, sw;
    uint32_t fa = (uint32_t)a, fb = (uint32_t)b, one = 0x3f800000u;
#define X87(text, x, y)                                                                  \
    __asm__ volatile("fnstcw %[old]\n\tfldcw %[cw]\n\tfnclex\n\t" text                \
                     "\n\tfstp %%st(0)\n\tfnstsw %[sw]\n\tfldcw %[old]"                \
                     : [old] "=m"(old), [sw] "=m"(sw)                                     \
                     : [cw] "m"(cw), [a] "m"(x), [b] "m"(y)                               \
                     : "st")
    switch (opcode | (dbl_in ? 0x100 : 0)) {
    case 0x58: X87("flds %[a]\n\tfadds %[b]", fa, fb); break;
    case 0x59: X87("flds %[a]\n\tfmuls %[b]", fa, fb); break;
    case 0x5c: X87("flds %[a]\n\tfsubs %[b]", fa, fb); break;
    case 0x5e: X87("flds %[a]\n\tfdivs %[b]", fa, fb); break;
    case 0x158: X87("fldl %[a]\n\tfaddl %[b]", a, b); break;
    case 0x159: X87("fldl %[a]\n\tfmull %[b]", a, b); break;
    case 0x15c: X87("fldl %[a]\n\tfsubl %[b]", a, b); break;
    case 0x15e: X87("fldl %[a]\n\tfdivl %[b]", a, b); break;
    default: X87("fldl %[b]\n\tfmuls %[a]", one, b); break; /* CVTPD2PS, CVTSD2SS */
    }
#undef X87
    return sw & 0x20;
}

/* The flags of a form that can overflow or underflow, lane by lane, for
 * when some exception is unmasked: unmasked underflow is signalled for every
 * tiny result, exact or not (SDM Vol. 1 11.5.2.5), while a masked run flags
 * only inexact ones, so an exact tiny result shows up as a denormal; and a
 * lane with an unmasked overflow or underflow reports precision as if the
 * exponent were unbounded (checked against the host CPU). */
static uint32_t lane_flags(const struct fp_form *f, unsigned opcode, const emu_xmm *d,
                           const emu_xmm *s, uint32_t csr, uint32_t unmasked)
{
    unsigned n = f->fl + f->dl;
    uint32_t all = 0;
    for (unsigned i = 0; i < n; i++) {
        emu_xmm r = *d, b = *s;
        isolate_lane(&r, &b, n, i);
        uint32_t fl = f->fn(&r, &b, csr) & MXCSR_FLAGS;
        bool tiny = f->fl ? denormal_f(r.d[i]) : denormal_d(r.q[i]);
        if (tiny && (unmasked & MXCSR_UE))
            fl |= MXCSR_UE;
        if (fl & unmasked & (MXCSR_OE | MXCSR_UE)) {
            bool dbl_in = f->dl || opcode == 0x5a;
            uint64_t x = dbl_in ? d->q[i] : d->d[i], y = dbl_in ? s->q[i] : s->d[i];
            fl &= ~MXCSR_PE;
            if (unbounded_inexact(opcode, dbl_in, f->dl, daz(x, dbl_in, csr),
                                  daz(y, dbl_in, csr), csr))
                fl |= MXCSR_PE;
        }
        all |= fl;
    }
    return all;
}

/* Merge the flags an operation raised into MXCSR; an unmasked one raises
 * #XM (or #UD without CR4.OSXMMEXCPT) and the result must be dropped.
 * With an unmasked pre-computation exception (invalid, denormal, divide by
 * zero) the post-computation ones are not reported (SDM Vol. 1 11.5.1). */
static int fp_flags(struct emu_cpu *cpu, uint32_t raised)
{
    uint32_t mx = cpu->fpu.mxcsr;
    raised &= MXCSR_FLAGS;
    uint32_t unmasked = raised & ~(mx >> 7);
    if (!unmasked) {
        cpu->fpu.mxcsr = mx | raised;
        return EMU_OK;
    }
    uint32_t pre = raised & (MXCSR_IE | MXCSR_DE | MXCSR_ZE);
    cpu->fpu.mxcsr = mx | ((pre & unmasked) ? pre : raised);
    return emu_raise(cpu, (cpu->cr4 & CR4_OSXMMEXCPT) ? EXC_XM : EXC_UD);
}

/* Every xmm, xmm/m form: 51-5F, C2, E6. */
EXEC(ex_sse_fp)
{
    const struct fp_form *f = fp_form_of(in);
    if (!f->fn)
        return emu_raise(cpu, EXC_UD);
    emu_xmm s;
    int st = emu_sse_check(cpu);
    if (st || (st = sse_load(cpu, in, f->size, true, &s)) != 0)
        return st;
    emu_xmm r = *xmm_reg(cpu, in->reg);
    uint32_t csr = host_csr(cpu), raised = f->fn(&r, &s, csr);
    uint32_t unmasked = ~(cpu->fpu.mxcsr >> 7) & MXCSR_FLAGS;
    if (f->fl + f->dl && ((raised & unmasked) || (unmasked & MXCSR_UE)))
        raised = lane_flags(f, in->opcode, xmm_reg(cpu, in->reg), &s, csr, unmasked);
    if ((st = fp_flags(cpu, raised)) != 0)
        return st;
    *xmm_reg(cpu, in->reg) = r;
    return next(cpu, in);
}

/* UCOMISS/COMISS (sub SSE_PS) and UCOMISD/COMISD (SSE_PD): ZF, PF, CF from
 * the comparison; OF, SF, AF cleared. */
EXEC(ex_sse_comis)
{
    emu_xmm s;
    bool dbl = in->sub == SSE_PD;
    int st = emu_sse_check(cpu);
    if (st || (st = sse_load(cpu, in, dbl ? 8 : 4, false, &s)) != 0)
        return st;
    __m128 x, y;
    memcpy(&x, xmm_reg(cpu, in->reg), 16);
    memcpy(&y, &s, 16);
    uint32_t host, out, csr = host_csr(cpu);
    uint8_t zf, pf, cf;
#define COMIS(insn)                                                                     \
    __asm__ volatile(HOST_ASM(insn " %[y], %[x]\n\tsetz %[z]\n\tsetp %[p]\n\tsetc %[cy]") \
                     : [h] "=m"(host), [o] "=m"(out), [z] "=q"(zf), [p] "=q"(pf),        \
                       [cy] "=q"(cf)                                                     \
                     : [x] "x"(x), [y] "x"(y), [c] "m"(csr)                              \
                     : "cc")
    switch ((in->opcode & 1) | dbl << 1) {
    case 0: COMIS("ucomiss"); break;
    case 1: COMIS("comiss"); break;
    case 2: COMIS("ucomisd"); break;
    default: COMIS("comisd"); break;
    }
#undef COMIS
    if ((st = fp_flags(cpu, out)) != 0)
        return st;
    uint64_t fl = emu_rflags(cpu) & ~RFLAGS_ARITH;
    fl |= (zf ? RFLAGS_ZF : 0) | (pf ? RFLAGS_PF : 0) | (cf ? RFLAGS_CF : 0);
    emu_set_rflags(cpu, fl);
    return next(cpu, in);
}

/* CVT(T)SS2SI / CVT(T)SD2SI r32/r64, xmm/m: sub SSE_SS or SSE_SD; opcode
 * 2C truncates, 2D rounds by MXCSR.RC. */
EXEC(ex_sse_cvt_to_int)
{
    emu_xmm s;
    bool dbl = in->sub == SSE_SD, q = in->opsz == 8;
    int st = emu_sse_check(cpu);
    if (st || (st = sse_load(cpu, in, dbl ? 8 : 4, false, &s)) != 0)
        return st;
    __m128 y;
    memcpy(&y, &s, 16);
    uint32_t host, out, csr = host_csr(cpu), r32 = 0;
    uint64_t r64 = 0;
#define CVT(insn, var)                                                   \
    __asm__ volatile(HOST_ASM(insn " %[y], %[r]")                      \
                     : [h] "=m"(host), [o] "=m"(out), [r] "=r"(var)      \
                     : [y] "x"(y), [c] "m"(csr))
    switch ((in->opcode & 1) | dbl << 1 | q << 2) {
    case 0: CVT("cvttss2si", r32); break;
    case 1: CVT("cvtss2si", r32); break;
    case 2: CVT("cvttsd2si", r32); break;
    case 3: CVT("cvtsd2si", r32); break;
    case 4: CVT("cvttss2si", r64); break;
    case 5: CVT("cvtss2si", r64); break;
    case 6: CVT("cvttsd2si", r64); break;
    default: CVT("cvtsd2si", r64); break;
    }
#undef CVT
    if ((st = fp_flags(cpu, out)) != 0)
        return st;
    reg_write(cpu, in->reg, q ? 8 : 4, q ? r64 : r32);
    return next(cpu, in);
}

/* CVTSI2SS / CVTSI2SD xmm, r/m32/64 (sub SSE_SS or SSE_SD). */
EXEC(ex_sse_cvt_from_int)
{
    uint64_t v;
    bool dbl = in->sub == SSE_SD, q = in->opsz == 8;
    int st = emu_sse_check(cpu);
    if (st || (st = rm_read(cpu, in, q ? 8 : 4, &v)) != 0)
        return st;
    __m128 x;
    memcpy(&x, xmm_reg(cpu, in->reg), 16);
    uint32_t host, out, csr = host_csr(cpu), v32 = (uint32_t)v;
#define CVT(insn, var)                                                   \
    __asm__ volatile(HOST_ASM(insn " %[r], %[x]")                      \
                     : [x] "+x"(x), [h] "=m"(host), [o] "=m"(out)      \
                     : [r] "r"(var), [c] "m"(csr))
    switch (dbl | q << 1) {
    case 0: CVT("cvtsi2ssl", v32); break;
    case 1: CVT("cvtsi2sdl", v32); break;
    case 2: CVT("cvtsi2ssq", v); break;
    default: CVT("cvtsi2sdq", v); break;
    }
#undef CVT
    if ((st = fp_flags(cpu, out)) != 0)
        return st;
    memcpy(xmm_reg(cpu, in->reg), &x, 16);
    return next(cpu, in);
}

/* --- For the SSE3 and SSE4.1 forms (sse4.h) ---------------------------------- */

uint32_t sse_host_csr(const struct emu_cpu *cpu)
{
    return host_csr(cpu);
}

int sse_fp_flags(struct emu_cpu *cpu, uint32_t raised)
{
    return fp_flags(cpu, raised);
}

/* The MMX-register conversions (exec_mmx_sse.c) are these 0F 5B and
 * 0F E6 forms on the low lanes: sub is the prefix index. */
uint32_t sse_host_cvt(unsigned opcode, unsigned sub, emu_xmm *d, const emu_xmm *s, uint32_t csr)
{
    const struct fp_form *f = opcode == 0xe6 ? &fp_e6[sub] : &fp_forms[opcode - 0x51][sub];
    return f->fn(d, s, csr);
}

/* HADDPS and friends are ADDSS/SUBSS lanes on rearranged operands. */
uint32_t sse_scalar_flags(unsigned opcode, bool dbl, uint64_t a, uint64_t b, uint32_t csr,
                          uint32_t unmasked)
{
    emu_xmm d = {.q = {a, 0}}, s = {.q = {b, 0}};
    return lane_flags(&fp_forms[opcode - 0x51][dbl ? SSE_SD : SSE_SS], opcode, &d, &s, csr,
                      unmasked);
}
