/*
 * SSE/SSE2 in the emu CPU against the host CPU: every form runs natively
 * (one instruction in an executable page, state loaded from and stored to
 * a struct) and in an emu CPU from the same XMM, GPR, RFLAGS, MXCSR and
 * memory state; results, flags, memory and faults must agree. Inputs come
 * from edge values (signed zeros, denormals, infinities, quiet and
 * signalling NaNs, integer-conversion limits) and random bits, under
 * random rounding, FTZ and DAZ, with some SIMD exceptions unmasked.
 */
#include "../cpu/sse_harness.h"
#include "test.h"

enum kind { K_PS, K_PD, K_INT, K_SHIFT };

static void rnd_fill(uint8_t *p, size_t n, enum kind k)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v;
        if (k == K_PS)
            v = rnd_f() | (uint64_t)rnd_f() << 32;
        else if (k == K_PD)
            v = rnd_d();
        else if (k == K_SHIFT)
            v = rnd() % 4 ? rnd() % 80 : rnd();
        else
            v = rnd() % 4 ? rnd() : (rnd() % 2 ? 0x8000800080008000ull : 0x7f7f00ff80ff0001ull);
        memcpy(p + i, &v, 8);
    }
}

/* --- Forms ------------------------------------------------------------------ */

#define F_IMM 0x01   /* imm8 follows */
#define F_GREG 0x02  /* ModRM.reg names a GPR */
#define F_GRM 0x04   /* ModRM.rm names a GPR (or integer memory) */
#define F_W 0x08     /* also with REX.W */
#define F_FP 0x10    /* floating point: run with exceptions unmasked too */
#define F_RDI 0x20   /* implicit [rDI] operand */

struct form {
    const char *name;
    uint8_t pfx, op;
    uint8_t kind;
    uint8_t flags;
    int8_t ext;      /* ModRM.reg for group forms, else -1 */
};

#define PS(n, p, o) {n, p, o, K_PS, F_FP, -1}
#define PD(n, p, o) {n, p, o, K_PD, F_FP, -1}
#define IN(n, o) {n, 0x66, o, K_INT, 0, -1}
#define SH(n, o) {n, 0x66, o, K_SHIFT, 0, -1}
#define GR(n, o, e) {n, 0x66, o, K_INT, F_IMM, e}

static const struct form forms[] = {
    {"movups", 0, 0x10, K_INT, 0, -1}, {"movupd", 0x66, 0x10, K_INT, 0, -1},
    {"movss load", 0xf3, 0x10, K_PS, 0, -1}, {"movsd load", 0xf2, 0x10, K_PD, 0, -1},
    {"movups store", 0, 0x11, K_INT, 0, -1}, {"movupd store", 0x66, 0x11, K_INT, 0, -1},
    {"movss store", 0xf3, 0x11, K_PS, 0, -1}, {"movsd store", 0xf2, 0x11, K_PD, 0, -1},
    {"movlps/movhlps", 0, 0x12, K_INT, 0, -1}, {"movlpd", 0x66, 0x12, K_INT, 0, -1},
    {"movlps store", 0, 0x13, K_INT, 0, -1}, {"movlpd store", 0x66, 0x13, K_INT, 0, -1},
    {"unpcklps", 0, 0x14, K_INT, 0, -1}, {"unpcklpd", 0x66, 0x14, K_INT, 0, -1},
    {"unpckhps", 0, 0x15, K_INT, 0, -1}, {"unpckhpd", 0x66, 0x15, K_INT, 0, -1},
    {"movhps/movlhps", 0, 0x16, K_INT, 0, -1}, {"movhpd", 0x66, 0x16, K_INT, 0, -1},
    {"movhps store", 0, 0x17, K_INT, 0, -1}, {"movhpd store", 0x66, 0x17, K_INT, 0, -1},
    {"movaps", 0, 0x28, K_INT, 0, -1}, {"movapd", 0x66, 0x28, K_INT, 0, -1},
    {"movaps store", 0, 0x29, K_INT, 0, -1}, {"movapd store", 0x66, 0x29, K_INT, 0, -1},
    {"cvtsi2ss", 0xf3, 0x2a, K_PS, F_GRM | F_W | F_FP, -1},
    {"cvtsi2sd", 0xf2, 0x2a, K_PD, F_GRM | F_W | F_FP, -1},
    {"movntps", 0, 0x2b, K_INT, 0, -1}, {"movntpd", 0x66, 0x2b, K_INT, 0, -1},
    {"cvttss2si", 0xf3, 0x2c, K_PS, F_GREG | F_W | F_FP, -1},
    {"cvttsd2si", 0xf2, 0x2c, K_PD, F_GREG | F_W | F_FP, -1},
    {"cvtss2si", 0xf3, 0x2d, K_PS, F_GREG | F_W | F_FP, -1},
    {"cvtsd2si", 0xf2, 0x2d, K_PD, F_GREG | F_W | F_FP, -1},
    PS("ucomiss", 0, 0x2e), PD("ucomisd", 0x66, 0x2e), PS("comiss", 0, 0x2f),
    PD("comisd", 0x66, 0x2f),
    {"movmskps", 0, 0x50, K_PS, F_GREG | F_W, -1}, {"movmskpd", 0x66, 0x50, K_PD, F_GREG, -1},
    PS("sqrtps", 0, 0x51), PD("sqrtpd", 0x66, 0x51), PS("sqrtss", 0xf3, 0x51),
    PD("sqrtsd", 0xf2, 0x51), PS("rsqrtps", 0, 0x52), PS("rsqrtss", 0xf3, 0x52),
    PS("rcpps", 0, 0x53), PS("rcpss", 0xf3, 0x53),
    {"andps", 0, 0x54, K_INT, 0, -1}, {"andpd", 0x66, 0x54, K_INT, 0, -1},
    {"andnps", 0, 0x55, K_INT, 0, -1}, {"andnpd", 0x66, 0x55, K_INT, 0, -1},
    {"orps", 0, 0x56, K_INT, 0, -1}, {"orpd", 0x66, 0x56, K_INT, 0, -1},
    {"xorps", 0, 0x57, K_INT, 0, -1}, {"xorpd", 0x66, 0x57, K_INT, 0, -1},
#define ARITH4(n, o) PS(n "ps", 0, o), PD(n "pd", 0x66, o), PS(n "ss", 0xf3, o), PD(n "sd", 0xf2, o)
    ARITH4("add", 0x58), ARITH4("mul", 0x59), ARITH4("sub", 0x5c), ARITH4("min", 0x5d),
    ARITH4("div", 0x5e), ARITH4("max", 0x5f),
    PS("cvtps2pd", 0, 0x5a), PD("cvtpd2ps", 0x66, 0x5a), PS("cvtss2sd", 0xf3, 0x5a),
    PD("cvtsd2ss", 0xf2, 0x5a), {"cvtdq2ps", 0, 0x5b, K_INT, F_FP, -1},
    PS("cvtps2dq", 0x66, 0x5b), PS("cvttps2dq", 0xf3, 0x5b),
    PD("cvttpd2dq", 0x66, 0xe6), {"cvtdq2pd", 0xf3, 0xe6, K_INT, F_FP, -1},
    PD("cvtpd2dq", 0xf2, 0xe6),
    {"cmpps", 0, 0xc2, K_PS, F_FP | F_IMM, -1}, {"cmppd", 0x66, 0xc2, K_PD, F_FP | F_IMM, -1},
    {"cmpss", 0xf3, 0xc2, K_PS, F_FP | F_IMM, -1}, {"cmpsd", 0xf2, 0xc2, K_PD, F_FP | F_IMM, -1},
    {"shufps", 0, 0xc6, K_INT, F_IMM, -1}, {"shufpd", 0x66, 0xc6, K_INT, F_IMM, -1},
    IN("punpcklbw", 0x60), IN("punpcklwd", 0x61), IN("punpckldq", 0x62), IN("packsswb", 0x63),
    IN("pcmpgtb", 0x64), IN("pcmpgtw", 0x65), IN("pcmpgtd", 0x66), IN("packuswb", 0x67),
    IN("punpckhbw", 0x68), IN("punpckhwd", 0x69), IN("punpckhdq", 0x6a), IN("packssdw", 0x6b),
    IN("punpcklqdq", 0x6c), IN("punpckhqdq", 0x6d),
    {"movd/movq xmm, r/m", 0x66, 0x6e, K_INT, F_GRM | F_W, -1},
    IN("movdqa", 0x6f), {"movdqu", 0xf3, 0x6f, K_INT, 0, -1},
    {"pshufd", 0x66, 0x70, K_INT, F_IMM, -1}, {"pshufhw", 0xf3, 0x70, K_INT, F_IMM, -1},
    {"pshuflw", 0xf2, 0x70, K_INT, F_IMM, -1},
    GR("psrlw imm", 0x71, 2), GR("psraw imm", 0x71, 4), GR("psllw imm", 0x71, 6),
    GR("psrld imm", 0x72, 2), GR("psrad imm", 0x72, 4), GR("pslld imm", 0x72, 6),
    GR("psrlq imm", 0x73, 2), GR("psrldq", 0x73, 3), GR("psllq imm", 0x73, 6),
    GR("pslldq", 0x73, 7), GR("group 71 /0", 0x71, 0), GR("group 73 /5", 0x73, 5),
    IN("pcmpeqb", 0x74), IN("pcmpeqw", 0x75), IN("pcmpeqd", 0x76),
    {"movd/movq r/m, xmm", 0x66, 0x7e, K_INT, F_GRM | F_W, -1},
    {"movq xmm, xmm/m64", 0xf3, 0x7e, K_INT, 0, -1},
    {"movdqa store", 0x66, 0x7f, K_INT, 0, -1}, {"movdqu store", 0xf3, 0x7f, K_INT, 0, -1},
    {"movnti", 0, 0xc3, K_INT, F_GREG | F_W, -1},
    {"pinsrw", 0x66, 0xc4, K_INT, F_GRM | F_IMM, -1},
    {"pextrw", 0x66, 0xc5, K_INT, F_GREG | F_IMM, -1},
    SH("psrlw", 0xd1), SH("psrld", 0xd2), SH("psrlq", 0xd3), IN("paddq", 0xd4),
    IN("pmullw", 0xd5), {"movq xmm/m64, xmm", 0x66, 0xd6, K_INT, 0, -1},
    {"pmovmskb", 0x66, 0xd7, K_INT, F_GREG, -1},
    IN("psubusb", 0xd8), IN("psubusw", 0xd9), IN("pminub", 0xda), IN("pand", 0xdb),
    IN("paddusb", 0xdc), IN("paddusw", 0xdd), IN("pmaxub", 0xde), IN("pandn", 0xdf),
    IN("pavgb", 0xe0), SH("psraw", 0xe1), SH("psrad", 0xe2), IN("pavgw", 0xe3),
    IN("pmulhuw", 0xe4), IN("pmulhw", 0xe5), IN("movntdq", 0xe7),
    IN("psubsb", 0xe8), IN("psubsw", 0xe9), IN("pminsw", 0xea), IN("por", 0xeb),
    IN("paddsb", 0xec), IN("paddsw", 0xed), IN("pmaxsw", 0xee), IN("pxor", 0xef),
    SH("psllw", 0xf1), SH("pslld", 0xf2), SH("psllq", 0xf3), IN("pmuludq", 0xf4),
    IN("pmaddwd", 0xf5), IN("psadbw", 0xf6), {"maskmovdqu", 0x66, 0xf7, K_INT, F_RDI, -1},
    IN("psubb", 0xf8), IN("psubw", 0xf9), IN("psubd", 0xfa), IN("psubq", 0xfb),
    IN("paddb", 0xfc), IN("paddw", 0xfd), IN("paddd", 0xfe),
};

/* Encode: [pfx] [REX] 0F op ModRM [disp8] [imm8]. Operands are xmm1/xmm2
 * (or xmm9/xmm10 with REX.R/B), GPR rax/rdx (r8/r10), memory [rbx+disp8]. */
static int encode(const struct form *f, uint8_t *b, bool mem, bool rexrb, bool rexw, int disp)
{
    int n = 0;
    if (f->pfx)
        b[n++] = f->pfx;
    uint8_t rex = (uint8_t)(0x40 | (rexw ? 8 : 0) | (rexrb ? (mem ? 4 : 5) : 0));
    if (rex != 0x40)
        b[n++] = rex;
    b[n++] = 0x0f;
    b[n++] = f->op;
    unsigned reg = f->ext >= 0 ? (unsigned)f->ext : (f->flags & F_GREG) ? 0 : 1;
    unsigned rm = 2;
    if (mem)
        b[n++] = (uint8_t)(0x40 | reg << 3 | 3), b[n++] = (uint8_t)disp;
    else
        b[n++] = (uint8_t)(0xc0 | reg << 3 | rm);
    if (f->flags & F_IMM)
        b[n++] = (uint8_t)(rnd() % 3 ? rnd() % 40 : rnd());
    return n;
}

static void random_state(const struct form *f, struct state *s, bool unmask)
{
    memset(s, 0, sizeof(*s));
    for (int i = 0; i < 16; i++)
        s->gpr[i] = rnd_gpr();
    rnd_fill((uint8_t *)s->xmm, sizeof(s->xmm), (enum kind)f->kind);
    if (f->kind == K_SHIFT) /* the shifted register holds data, xmm2/10 the count */
        for (int i = 0; i < 16; i++)
            if (i != 2 && i != 10)
                s->xmm[i].q[0] = rnd(), s->xmm[i].q[1] = rnd();
    s->mxcsr = rnd_mxcsr(unmask);
    s->rflags = 0x2 | (rnd() & ARITH_FLAGS);
    rnd_fill(host_buf, BUF_SIZE, (enum kind)f->kind);
}

static bool run_case(const struct form *f, bool unmask)
{
    uint8_t insn[16];
    static const int disps[] = {0, 0, 16, 32, 4, 8, 36};
    bool mem = rnd() % 2;
    bool rexw = (f->flags & F_W) && rnd() % 2;
    int disp = disps[rnd() % 7];
    int len = encode(f, insn, mem, rnd() % 4 == 0, rexw, disp);
    struct state s;
    random_state(f, &s, unmask);
    return sse_diff(f->name, insn, len, &s);
}

static void test_forms(void)
{
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        const struct form *f = &forms[i];
        bool ok = true;
        for (int n = 0; n < 2000 && ok; n++)
            ok = run_case(f, (f->flags & F_FP) && n % 3 == 0);
        char name[96];
        snprintf(name, sizeof(name), "sse matches host: %s", f->name);
        CHECK(ok, name);
    }
}

/* --- Checks that need no host comparison ------------------------------------ */

static int emu_one(const uint8_t *insn, int len, uint64_t cr0, uint64_t cr4, uint32_t mxcsr)
{
    struct state s = {.mxcsr = mxcsr, .rflags = 2};
    s.gpr[3] = GUEST_BUF + 8;
    s.xmm[1].f[0] = 1.0f;
    emu_setup(cr4);
    cpu.cr0 = cr0;
    return emu_run1(&s, insn, len);
}

static void test_system_checks(void)
{
    static const uint8_t movaps_mis[] = {0x0f, 0x28, 0x0b};          /* movaps xmm1, [rbx] */
    static const uint8_t addps[] = {0x0f, 0x58, 0xca};               /* addps xmm1, xmm2 */
    static const uint8_t divss[] = {0xf3, 0x0f, 0x5e, 0xca};         /* divss xmm1, xmm2 */
    uint64_t cr4 = CR4_OSFXSR | CR4_OSXMMEXCPT;
    CHECK_EQ(emu_one(movaps_mis, 3, 0x33, cr4, 0x1f80), EXC_GP, "sse misaligned movaps #GP");
    CHECK_EQ(emu_one(addps, 3, 0x33, 0, 0x1f80), EXC_UD, "sse without CR4.OSFXSR #UD");
    CHECK_EQ(emu_one(addps, 3, 0x33 | CR0_EM, cr4, 0x1f80), EXC_UD, "sse with CR0.EM #UD");
    CHECK_EQ(emu_one(addps, 3, 0x33 | CR0_TS, cr4, 0x1f80), EXC_NM, "sse with CR0.TS #NM");
    /* 1/0 with ZE unmasked: #XM, or #UD without CR4.OSXMMEXCPT. */
    CHECK_EQ(emu_one(divss, 4, 0x33, cr4, 0x1f80 & ~0x200u), EXC_XM, "sse unmasked #XM");
    CHECK_EQ(cpu.fpu.mxcsr & MXCSR_ZE, MXCSR_ZE, "sse unmasked ZE flagged");
    CHECK_EQ(cpu.fpu.xmm[1].f[0], 1.0f, "sse unmasked leaves destination");
    CHECK_EQ(emu_one(divss, 4, 0x33, CR4_OSFXSR, 0x1f80 & ~0x200u), EXC_UD,
             "sse unmasked without OSXMMEXCPT #UD");
    uint32_t r[4];
    emu_cpuid(NULL, 1, 0, r);
    CHECK_EQ(r[3] & (3u << 25), 3u << 25, "cpuid advertises SSE and SSE2");
}

int main(void)
{
    CHECK(sse_harness_init(), "sse test code page and guest memory");
    if (test_failures)
        TEST_EXIT();
    test_system_checks();
    test_forms();
    TEST_EXIT();
}
