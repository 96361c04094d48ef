/*
 * SSE3, SSSE3, SSE4.1, SSE4.2 (string compares, CRC32), POPCNT, AES-NI and
 * PCLMULQDQ in the emu CPU against the host CPU, with the harness of
 * test_sse.c (tests/cpu/sse_harness.h): every form runs natively and in the
 * emu from the same random state, registers and memory operands (aligned
 * and not), with REX and REX.W variants; results, flags, MXCSR, memory and
 * faults must agree. The string compares run every imm8 with lengths
 * 0..16, out-of-range and negative EAX/EDX, and embedded zeros.
 */
#include "../cpu/sse_harness.h"
#include "test.h"

enum kind { K_PS, K_PD, K_INT, K_STR };

#define F_GREG 0x01  /* ModRM.reg names a GPR */
#define F_GRM 0x02   /* ModRM.rm names a GPR (or integer memory) */
#define F_W 0x04     /* also with REX.W */
#define F_FP 0x08    /* floating point: run with exceptions unmasked too */
#define F_ALLIMM 0x10 /* every imm8 value, in turn */

struct form {
    const char *name;
    uint8_t pfx2, pfx, map, op; /* [pfx2] [pfx] [REX] 0F [map] op; map 0x38, 0x3a or 0 */
    uint8_t kind, flags;
};

#define I66(n, m, o) {n, 0, 0x66, m, o, K_INT, 0}
#define FP(n, p, m, o, k) {n, 0, p, m, o, k, F_FP}

static const struct form forms[] = {
    /* SSE3 */
    FP("addsubpd", 0x66, 0, 0xd0, K_PD), FP("addsubps", 0xf2, 0, 0xd0, K_PS),
    FP("haddpd", 0x66, 0, 0x7c, K_PD), FP("haddps", 0xf2, 0, 0x7c, K_PS),
    FP("hsubpd", 0x66, 0, 0x7d, K_PD), FP("hsubps", 0xf2, 0, 0x7d, K_PS),
    {"movsldup", 0, 0xf3, 0, 0x12, K_INT, 0}, {"movshdup", 0, 0xf3, 0, 0x16, K_INT, 0},
    {"movddup", 0, 0xf2, 0, 0x12, K_INT, 0}, {"lddqu", 0, 0xf2, 0, 0xf0, K_INT, 0},
    /* SSSE3 */
    I66("pshufb", 0x38, 0x00), I66("phaddw", 0x38, 0x01), I66("phaddd", 0x38, 0x02),
    I66("phaddsw", 0x38, 0x03), I66("pmaddubsw", 0x38, 0x04), I66("phsubw", 0x38, 0x05),
    I66("phsubd", 0x38, 0x06), I66("phsubsw", 0x38, 0x07), I66("psignb", 0x38, 0x08),
    I66("psignw", 0x38, 0x09), I66("psignd", 0x38, 0x0a), I66("pmulhrsw", 0x38, 0x0b),
    I66("pabsb", 0x38, 0x1c), I66("pabsw", 0x38, 0x1d), I66("pabsd", 0x38, 0x1e),
    I66("palignr", 0x3a, 0x0f),
    /* SSE4.1 */
    I66("pblendvb", 0x38, 0x10), I66("blendvps", 0x38, 0x14), I66("blendvpd", 0x38, 0x15),
    I66("ptest", 0x38, 0x17),
    I66("pmovsxbw", 0x38, 0x20), I66("pmovsxbd", 0x38, 0x21), I66("pmovsxbq", 0x38, 0x22),
    I66("pmovsxwd", 0x38, 0x23), I66("pmovsxwq", 0x38, 0x24), I66("pmovsxdq", 0x38, 0x25),
    I66("pmuldq", 0x38, 0x28), I66("pcmpeqq", 0x38, 0x29), I66("movntdqa", 0x38, 0x2a),
    I66("packusdw", 0x38, 0x2b),
    I66("pmovzxbw", 0x38, 0x30), I66("pmovzxbd", 0x38, 0x31), I66("pmovzxbq", 0x38, 0x32),
    I66("pmovzxwd", 0x38, 0x33), I66("pmovzxwq", 0x38, 0x34), I66("pmovzxdq", 0x38, 0x35),
    I66("pminsb", 0x38, 0x38), I66("pminsd", 0x38, 0x39), I66("pminuw", 0x38, 0x3a),
    I66("pminud", 0x38, 0x3b), I66("pmaxsb", 0x38, 0x3c), I66("pmaxsd", 0x38, 0x3d),
    I66("pmaxuw", 0x38, 0x3e), I66("pmaxud", 0x38, 0x3f), I66("pmulld", 0x38, 0x40),
    I66("phminposuw", 0x38, 0x41),
    FP("roundps", 0x66, 0x3a, 0x08, K_PS), FP("roundpd", 0x66, 0x3a, 0x09, K_PD),
    FP("roundss", 0x66, 0x3a, 0x0a, K_PS), FP("roundsd", 0x66, 0x3a, 0x0b, K_PD),
    I66("blendps", 0x3a, 0x0c), I66("blendpd", 0x3a, 0x0d), I66("pblendw", 0x3a, 0x0e),
    {"pextrb", 0, 0x66, 0x3a, 0x14, K_INT, F_GRM | F_W},
    {"pextrw", 0, 0x66, 0x3a, 0x15, K_INT, F_GRM | F_W},
    {"pextrd/q", 0, 0x66, 0x3a, 0x16, K_INT, F_GRM | F_W},
    {"extractps", 0, 0x66, 0x3a, 0x17, K_INT, F_GRM | F_W},
    {"pinsrb", 0, 0x66, 0x3a, 0x20, K_INT, F_GRM | F_W}, I66("insertps", 0x3a, 0x21),
    {"pinsrd/q", 0, 0x66, 0x3a, 0x22, K_INT, F_GRM | F_W},
    FP("dpps", 0x66, 0x3a, 0x40, K_PS), FP("dppd", 0x66, 0x3a, 0x41, K_PD),
    I66("mpsadbw", 0x3a, 0x42),
    /* SSE4.2, POPCNT */
    I66("pcmpgtq", 0x38, 0x37),
    {"pcmpestrm", 0, 0x66, 0x3a, 0x60, K_STR, F_W | F_ALLIMM},
    {"pcmpestri", 0, 0x66, 0x3a, 0x61, K_STR, F_W | F_ALLIMM},
    {"pcmpistrm", 0, 0x66, 0x3a, 0x62, K_STR, F_W | F_ALLIMM},
    {"pcmpistri", 0, 0x66, 0x3a, 0x63, K_STR, F_W | F_ALLIMM},
    {"crc32 r, r/m8", 0, 0xf2, 0x38, 0xf0, K_INT, F_GREG | F_GRM | F_W},
    {"crc32 r, r/m32/64", 0, 0xf2, 0x38, 0xf1, K_INT, F_GREG | F_GRM | F_W},
    {"crc32 r, r/m16", 0x66, 0xf2, 0x38, 0xf1, K_INT, F_GREG | F_GRM | F_W},
    {"popcnt", 0, 0xf3, 0, 0xb8, K_INT, F_GREG | F_GRM | F_W},
    {"popcnt r16", 0x66, 0xf3, 0, 0xb8, K_INT, F_GREG | F_GRM},
    /* AES-NI, PCLMULQDQ */
    I66("aesimc", 0x38, 0xdb), I66("aesenc", 0x38, 0xdc), I66("aesenclast", 0x38, 0xdd),
    I66("aesdec", 0x38, 0xde), I66("aesdeclast", 0x38, 0xdf),
    I66("aeskeygenassist", 0x3a, 0xdf), I66("pclmulqdq", 0x3a, 0x44),
};

/* Strings for PCMPxSTRx: a small alphabet so that characters match and
 * ranges hold, with no zero, one zero element, or zeros anywhere. */
static void str_fill(uint8_t *p)
{
    static const uint8_t abc[] = {'a', 'b', 'c', 'z', 0x80, 0xff, 0x7f, '0', '9', 0x01};
    int mode = (int)(rnd() % 3);
    for (int i = 0; i < 16; i++) {
        p[i] = rnd() % 5 ? abc[rnd() % sizeof(abc)] : (uint8_t)(rnd() | 1);
        if (mode == 2 && rnd() % 6 == 0)
            p[i] = 0;
    }
    if (mode == 1) {
        int z = (int)(rnd() % 8) * 2;
        p[z] = p[z + 1] = 0;
    }
}

static void fill(uint8_t *p, size_t n, enum kind k)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v;
        if (k == K_STR && i % 16 == 0)
            str_fill(p + i);
        if (k == K_STR)
            continue;
        if (k == K_PS)
            v = rnd_f() | (uint64_t)rnd_f() << 32;
        else if (k == K_PD)
            v = rnd_d();
        else
            v = rnd() % 4 ? rnd() : (rnd() % 2 ? 0x8000800080008000ull : 0x7f7f00ff80ff0001ull);
        memcpy(p + i, &v, 8);
    }
}

/* An explicit string length: in range, past it, negative, or with bits
 * above the low 32 that only REX.W reads. */
static uint64_t str_len(void)
{
    static const uint64_t edge[] = {0, 8, 9, 16, 17, ~0ull, (uint64_t)-8, (uint64_t)-16,
                                    (uint64_t)-17, 0x80000000u, 0xffffff80u, 0x7fffffff,
                                    0x100000005ull, 0x8000000000000000ull, 0xfffffffe00000004ull};
    if (rnd() % 4 == 0)
        return edge[rnd() % (sizeof(edge) / sizeof(edge[0]))];
    return (uint64_t)((int64_t)(rnd() % 41) - 20);
}

/* Encode with xmm/GPR reg from {0, 1, 2} and rm from {2, 5, 6} (never
 * rBX, rSP, rDI, which differ between the two sides), memory [rbx+disp8].
 * REX.R/REX.B lift them to 8-15; a bare REX changes byte registers. */
static int encode(const struct form *f, uint8_t *b, unsigned imm, bool mem, bool rexw)
{
    static const uint8_t rms[3] = {2, 5, 6};
    static const int disps[] = {0, 0, 16, 32, 4, 8, 36};
    unsigned reg = (unsigned)(rnd() % 3), rm = rms[rnd() % 3];
    bool rexr = rnd() % 4 == 0, rexb = !mem && rnd() % 4 == 0, bare = rnd() % 8 == 0;
    int n = 0;
    if (f->pfx2)
        b[n++] = f->pfx2;
    if (f->pfx)
        b[n++] = f->pfx;
    uint8_t rex = (uint8_t)(0x40 | (rexw ? 8 : 0) | (rexr ? 4 : 0) | (rexb ? 1 : 0));
    if (rex != 0x40 || bare)
        b[n++] = rex;
    b[n++] = 0x0f;
    if (f->map)
        b[n++] = f->map;
    b[n++] = f->op;
    if (mem)
        b[n++] = (uint8_t)(0x40 | reg << 3 | 3), b[n++] = (uint8_t)disps[rnd() % 7];
    else
        b[n++] = (uint8_t)(0xc0 | reg << 3 | rm);
    if (f->map == 0x3a)
        b[n++] = (uint8_t)imm;
    return n;
}

static bool run_case(const struct form *f, int iter, bool unmask)
{
    uint8_t insn[16];
    unsigned imm = (f->flags & F_ALLIMM) ? (unsigned)iter & 0xff : (unsigned)(rnd() & 0xff);
    bool rexw = (f->flags & F_W) && rnd() % 2;
    int len = encode(f, insn, imm, rnd() % 2, rexw);
    struct state s;
    memset(&s, 0, sizeof(s));
    for (int i = 0; i < 16; i++)
        s.gpr[i] = rnd_gpr();
    fill((uint8_t *)s.xmm, sizeof(s.xmm), (enum kind)f->kind);
    if (f->kind == K_STR)
        s.gpr[0] = str_len(), s.gpr[2] = str_len();
    s.mxcsr = rnd_mxcsr(unmask);
    s.rflags = 0x2 | (rnd() & ARITH_FLAGS);
    fill(host_buf, BUF_SIZE, (enum kind)f->kind);
    return sse_diff(f->name, insn, len, &s);
}

static void test_forms(void)
{
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        const struct form *f = &forms[i];
        int n = (f->flags & F_ALLIMM) ? 256 * 24 : 3000;
        bool ok = true;
        for (int k = 0; k < n && ok; k++)
            ok = run_case(f, k, (f->flags & F_FP) && k % 3 == 0);
        char name[96];
        snprintf(name, sizeof(name), "sse4 matches host: %s", f->name);
        CHECK(ok, name);
    }
}

/* --- Checks that need no host comparison ------------------------------------ */

static int emu_one(const uint8_t *insn, int len, uint64_t cr0, uint64_t cr4)
{
    struct state s = {.mxcsr = 0x1f80, .rflags = 2};
    s.gpr[3] = GUEST_BUF;
    emu_setup(cr4);
    cpu.cr0 = cr0;
    return emu_run1(&s, insn, len);
}

static void test_system_checks(void)
{
    static const uint8_t pshufb[] = {0x66, 0x0f, 0x38, 0x00, 0xca};
    static const uint8_t roundps[] = {0x66, 0x0f, 0x3a, 0x08, 0xca, 0x00};
    static const uint8_t pshufb_mmx[] = {0x0f, 0x38, 0x00, 0xca};
    static const uint8_t crc32[] = {0xf2, 0x0f, 0x38, 0xf1, 0xc2};
    uint64_t cr4 = CR4_OSFXSR | CR4_OSXMMEXCPT;
    CHECK_EQ(emu_one(pshufb, 5, 0x33, 0), EXC_UD, "sse4 without CR4.OSFXSR #UD");
    CHECK_EQ(emu_one(roundps, 6, 0x33 | CR0_TS, cr4), EXC_NM, "sse4 with CR0.TS #NM");
    CHECK_EQ(emu_one(roundps, 6, 0x33 | CR0_EM, cr4), EXC_UD, "sse4 with CR0.EM #UD");
    struct emu_insn in;
    emu_decode(&cpu, pshufb_mmx, 4, &in);
    CHECK(in.fn(&cpu, &in) == EMU_FAULT && cpu.exc.vector == EXC_UD, "ssse3 MMX form #UD");
    /* CRC32 and POPCNT are GPR instructions: no CR0/CR4 checks. */
    CHECK_EQ(emu_one(crc32, 5, 0x33 | CR0_TS | CR0_EM, 0), -1, "crc32 ignores CR0.TS/EM");
    uint32_t r[4];
    emu_cpuid(NULL, 1, 0, r);
    uint32_t v2 = 1u << 0 | 1u << 9 | 1u << 13 | 1u << 19 | 1u << 20 | 1u << 23;
    CHECK_EQ(r[2] & v2, v2, "cpuid: SSE3 SSSE3 CX16 SSE4.1 SSE4.2 POPCNT");
    CHECK_EQ(r[2] & (1u << 1 | 1u << 25), 1u << 1 | 1u << 25, "cpuid: PCLMULQDQ AES");
    CHECK_EQ(r[2] & (1u << 3 | 1u << 12 | 1u << 28 | 1u << 22), 0,
             "cpuid: no MONITOR, FMA, AVX or MOVBE");
    emu_cpuid(NULL, 0x80000001, 0, r);
    CHECK_EQ(r[2] & 1, 1, "cpuid: LAHF/SAHF in 64-bit mode");
}

int main(void)
{
    CHECK(sse_harness_init(), "sse4 test code page and guest memory");
    if (test_failures)
        TEST_EXIT();
    test_system_checks();
    test_forms();
    TEST_EXIT();
}
