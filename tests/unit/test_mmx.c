/*
 * MMX in the emu CPU against the host CPU: every form of tests/cpu/mmx_forms.h
 * runs natively and in an emu CPU from the same FXSAVE image, GPRs, RFLAGS
 * and memory (tests/cpu/fx_harness.h), with register and memory operands,
 * ignored REX bits, random and edge inputs (lane limits, shift counts past
 * the lane width, FP conversion limits under random MXCSR modes), random
 * x87 state (TOP, tags, exponents, sometimes a pending unmasked exception:
 * #MF) and faulting addresses (the guard page, straddling it, a
 * non-canonical base). MM/x87 registers, FCW/FSW/tags, MXCSR, XMM, GPRs,
 * flags, the buffer and the exception must agree. Then the checks the host
 * cannot make from user mode (CR0.EM/TS, CR4.OSFXSR), a few known answers
 * and CPUID.
 */
#include "../cpu/fx_harness.h"
#include "../cpu/host_quirks.h"
#include "../cpu/mmx_forms.h"
#include "test.h"
#include "xorshift.h"

#define ARITH_FLAGS 0x8d5ull
#define CASES 1500

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    return xorshift64(&rng);
}

/* --- Inputs -------------------------------------------------------------------- */

/* Words at the saturation and sign limits, mixed with random ones. */
static uint64_t rnd_mm(void)
{
    static const uint16_t edge[] = {0,      1,      0x7fff, 0x8000, 0xffff, 0x7f80,
                                    0x807f, 0x00ff, 0xff00, 0x0080, 0x8001, 0xfffe};
    if (rnd() % 4 == 0)
        return rnd();
    uint64_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint64_t)(rnd() % 3 ? edge[rnd() % 12] : (uint16_t)rnd()) << (16 * i);
    return v;
}

static uint64_t rnd_count(void)
{
    static const uint64_t edge[] = {0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256,
                                    0x100000001ull, ~0ull};
    return rnd() % 3 ? rnd() % 72 : rnd() % 2 ? edge[rnd() % 17] : rnd();
}

/* A float (dbl false) or double: a conversion edge (halves, the int32
 * limits, NaNs, infinities, denormals), a quarter-step value, or random. */
static uint64_t rnd_fp(bool dbl)
{
    static const uint32_t f_edge[] = {
        0,          0x80000000, 0x3f000000, 0xbf000000, 0x3fc00000, 0x40200000, 0xc0200000,
        0x00000001, 0x807fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0xff812345, 0x7f800001,
        0x4effffff, 0x4f000000, 0xcf000000, 0xcf000001, 0x7f7fffff, 0x3f7fffff};
    static const uint64_t d_edge[] = {
        0, 0x8000000000000000ull, 0x3fe0000000000000ull, 0xbff8000000000000ull,
        0x4004000000000000ull, 1, 0x800fffffffffffffull, 0x7ff0000000000000ull,
        0xfff0000000000000ull, 0x7ff8000000000000ull, 0x7ff0000000000001ull,
        0x41dfffffffc00000ull, 0x41dfffffffe00000ull, 0x41e0000000000000ull,
        0xc1e0000000000000ull, 0xc1e0000000200000ull, 0xc1e00000001fffffull,
        0x43e0000000000000ull};
    uint64_t r = rnd();
    switch (r % 3) {
    case 0:
        return dbl ? d_edge[(r >> 8) % 18] : f_edge[(r >> 8) % 20];
    case 1: {
        double q = (double)((int)((r >> 8) % 4001) - 2000) / 4.0;
        float f = (float)q;
        uint64_t v = 0;
        if (dbl)
            memcpy(&v, &q, 8);
        else
            memcpy(&v, &f, 4);
        return v;
    }
    default:
        return dbl ? rnd() : (uint32_t)(r >> 16);
    }
}

/* Eight bytes of input of the kind the form reads. */
static uint64_t rnd_data(const struct mmx_form *f)
{
    if (f->flags & MF_PS)
        return rnd_fp(false) | rnd_fp(false) << 32;
    if (f->flags & MF_PD)
        return rnd_fp(true);
    if (f->flags & MF_SHIFT)
        return rnd_count();
    return rnd_mm();
}

static uint64_t rnd_gpr(void)
{
    static const uint64_t edge[] = {0, 1, ~0ull, 0x80000000, 0x7fffffff, 0xffff8000,
                                    0x8000000000000000ull, 0x7fffffffffffffffull};
    return rnd() % 3 ? rnd() >> (rnd() % 64) : edge[rnd() % 8];
}

/* The x87 side: random TOP, tags, exponents and masks; sometimes an
 * unmasked exception pending (ES set as FXRSTOR leaves it). */
static void rnd_x87(uint8_t *fx)
{
    uint16_t fcw = rnd() % 2 ? 0x037f : (uint16_t)(0x0040 | (rnd() & 0x0f3f) | 0x0300);
    uint16_t fsw = (uint16_t)(rnd() & 0x4700) | (uint16_t)((rnd() & 7) << 11);
    if (rnd() % 12 == 0) {
        unsigned e = 1u << (rnd() % 6);
        fcw &= (uint16_t)~e;
        fsw |= (uint16_t)(e | FSW_ES | FSW_B);
    } else {
        fsw |= (uint16_t)(rnd() & fcw & FSW_EXC);
    }
    memcpy(fx, &fcw, 2);
    memcpy(fx + 2, &fsw, 2);
    fx[4] = (uint8_t)rnd();
    for (int k = 0; k < 8; k++) {
        uint64_t m = rnd_mm();
        uint16_t se = rnd() % 3 ? (uint16_t)rnd() : rnd() % 2 ? 0xffff : 0;
        memcpy(fx + 32 + 16 * k, &m, 8);
        memcpy(fx + 40 + 16 * k, &se, 2);
    }
}

static void random_state(const struct mmx_form *f, struct fx_state *s)
{
    memset(s, 0, sizeof(*s));
    rnd_x87(s->fx);
    uint32_t mxcsr = 0x1f80 | (uint32_t)(rnd() & 0xe07f);
    if (rnd() % 3 == 0)
        mxcsr &= ~(uint32_t)((rnd() & 0x3f) << 7);
    memcpy(s->fx + 24, &mxcsr, 4);
    for (int i = 0; i < 32; i++) {
        uint64_t v = rnd_data(f);
        memcpy(s->fx + 160 + 8 * i, &v, 8);
    }
    for (int i = 0; i < 16; i++)
        s->gpr[i] = rnd_gpr();
    s->rflags = 0x2 | (rnd() & ARITH_FLAGS);
}

/* --- Encoding -------------------------------------------------------------------- */

static const uint8_t gprs[] = {0, 1, 2, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15}; /* not rBX rSP rDI */

struct enc {
    bool mem;
    int fault;        /* 0 none, 1 straddles the guard page, 2 in it, 3 non-canonical */
    uint64_t off;     /* buffer offset of [rBX] (or rDI) */
    bool stray;       /* a stray 66/F2/F3 prefix */
};

/* A register field: its 3 bits, and whether the REX bit is set (which
 * MM register fields ignore). */
static unsigned field(bool gpr, bool *rexbit)
{
    unsigned r = gpr ? gprs[rnd() % sizeof(gprs)] : rnd() % 16;
    *rexbit = r & 8;
    return r & 7;
}

/* [LOCK] [pfx] [REX] 0F [38|3A] opc [ModRM [disp8]] [imm8]; memory is [rBX+disp8].
 * Sometimes a stray LOCK or 66/F2/F3 prefix: whatever that makes of the
 * instruction must match too. */
static int encode(const struct mmx_form *f, uint8_t *b, struct enc *e)
{
    int n = 0;
    bool rr = false, rb = false;
    if (rnd() % 32 == 0)
        b[n++] = 0xf0; /* LOCK: #UD */
    bool stray = !f->pfx && rnd() % 16 == 0; /* another instruction, or #UD */
    e->stray = stray;
    if (f->pfx)
        b[n++] = f->pfx;
    else if (stray)
        b[n++] = (const uint8_t[]){0x66, 0xf2, 0xf3}[rnd() % 3];
    /* A stray prefix may make a register field a GPR: not rBX, rSP, rDI. */
    unsigned reg = f->reg >= 0 ? (unsigned)f->reg : field(stray || (f->flags & MF_GREG), &rr);
    unsigned rm = field(stray || (f->flags & MF_GRM), &rb);
    e->mem = !(f->flags & MF_NOMODRM) &&
             ((f->flags & MF_REGONLY) ? rnd() % 8 == 0
              : (f->flags & MF_MEMONLY) ? rnd() % 8 != 0 : rnd() % 2);
    e->fault = e->mem || (f->flags & MF_RDI) ? (rnd() % 10 == 0 ? 1 + (int)(rnd() % 3) : 0) : 0;
    e->off = rnd() % 31 * 8 + (rnd() % 4 ? 0 : rnd() % 8);
    if (e->fault == 1)
        e->off = FXH_BUF - 1 - rnd() % 7;
    else if (e->fault == 2)
        e->off = FXH_BUF + rnd() % 64;
    uint8_t rex = (uint8_t)(0x40 | (rnd() % 4 == 0 ? 8 : 0) | (rr ? 4 : 0) |
                            (rb && !e->mem ? 1 : 0));
    if (rex != 0x40 || rnd() % 8 == 0)
        b[n++] = rex;
    b[n++] = 0x0f;
    if (f->map != 0x0f)
        b[n++] = f->map;
    b[n++] = f->opc;
    if (f->flags & MF_NOMODRM)
        return n;
    if (e->mem) {
        b[n++] = (uint8_t)(0x40 | reg << 3 | 3);
        b[n++] = 0;
    } else {
        b[n++] = (uint8_t)(0xc0 | reg << 3 | rm);
    }
    if (f->flags & MF_IMM)
        b[n++] = (uint8_t)(rnd() % 3 ? rnd() % 72 : rnd());
    return n;
}

/* --- Comparison --------------------------------------------------------------------- */

/* The architected parts of the image: FCW, FSW, FTW, MXCSR, the eight
 * 80-bit registers, XMM. (FOP/FIP/FDP: AMD saves them only with an
 * exception pending.) */
static bool same_fx(const uint8_t *a, const uint8_t *b)
{
    if (memcmp(a, b, 5) || memcmp(a + 24, b + 24, 4) || memcmp(a + 160, b + 160, 256))
        return false;
    for (int k = 0; k < 8; k++)
        if (memcmp(a + 32 + 16 * k, b + 32 + 16 * k, 10))
            return false;
    return true;
}

static bool same_state(const struct fx_state *a, const struct fx_state *b)
{
    for (int i = 0; i < 16; i++)
        if (i != 3 && i != 4 && i != 7 && a->gpr[i] != b->gpr[i])
            return false;
    return (a->rflags & ARITH_FLAGS) == (b->rflags & ARITH_FLAGS) && same_fx(a->fx, b->fx);
}

static unsigned long long q64(const uint8_t *p)
{
    unsigned long long v;
    memcpy(&v, p, 8);
    return v;
}

static void dump(const char *who, const struct fx_state *s, int vec)
{
    uint16_t fcw, fsw;
    uint32_t mx;
    memcpy(&fcw, s->fx, 2);
    memcpy(&fsw, s->fx + 2, 2);
    memcpy(&mx, s->fx + 24, 4);
    printf("  %s: vector %d fcw %04x fsw %04x ftw %02x mxcsr %08x rflags %llx\n", who, vec, fcw,
           fsw, s->fx[4], mx, (unsigned long long)s->rflags);
    for (int k = 0; k < 8; k++) {
        const uint8_t *st = s->fx + 32 + 16 * k, *x = s->fx + 160 + 16 * k;
        printf("  %s: st%d %04x:%016llx  xmm%-2d %016llx%016llx  xmm%-2d %016llx%016llx\n",
               who, k, st[8] | st[9] << 8, q64(st), k, q64(x + 8), q64(x), k + 8, q64(x + 136),
               q64(x + 128));
    }
    printf("  %s: rax %llx rcx %llx rdx %llx rbp %llx rsi %llx r8 %llx r10 %llx\n", who,
           (unsigned long long)s->gpr[0], (unsigned long long)s->gpr[1],
           (unsigned long long)s->gpr[2], (unsigned long long)s->gpr[5],
           (unsigned long long)s->gpr[6], (unsigned long long)s->gpr[8],
           (unsigned long long)s->gpr[10]);
}

static long cases_run, cases_faulted, by_vector[32];

/* One random case of form f; false (after printing both sides) on a mismatch. */
static bool run_case(const struct mmx_form *f)
{
    uint8_t insn[16], mem_in[FXH_BUF];
    struct enc e;
    int len = encode(f, insn, &e);
    struct fx_state s, nat, emu;
    random_state(f, &s);
    /* AC: misaligned operands raise #AC. Not where a stray prefix may have
     * made a 16-byte SSE access (MOVDQU...) on an AMD host, which checks
     * its alignment where Intel, whom emu follows, does not
     * (host_quirks.h). */
    if (rnd() % 8 == 0 && !(e.stray && hq_host_is_amd()))
        s.rflags |= 0x40000;
    for (int i = 0; i < FXH_BUF; i += 8) {
        uint64_t v = rnd_data(f);
        memcpy(mem_in + i, &v, 8);
    }
    uint64_t base_n = (uint64_t)(uintptr_t)fxh_buf + e.off, base_g = FXH_G_BUF + e.off;
    if (e.fault == 3)
        base_n = base_g = 0x8000000000000000ull | (rnd() & 0xfff8);
    nat = s;
    nat.gpr[3] = nat.gpr[7] = base_n;
    memcpy(fxh_buf, mem_in, FXH_BUF);
    int64_t pf_n = 0, pf_e = 0;
    int nv = fxh_native(&nat, insn, len, &pf_n);
    emu = s;
    emu.gpr[3] = emu.gpr[7] = base_g;
    uint8_t *gbuf = gmem_ptr_for_write(&fxh_gmem, FXH_G_BUF, FXH_BUF);
    memcpy(gbuf, mem_in, FXH_BUF);
    uint32_t err = 0;
    int ev = fxh_emu(&emu, insn, len, FXH_CR0, CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT, &err,
                     &pf_e);
    cases_run++;
    cases_faulted += nv >= 0;
    by_vector[nv & 31] += nv >= 0;
    bool ok = nv == ev && same_state(&nat, &emu) && !memcmp(fxh_buf, gbuf, FXH_BUF);
    if (ok && nv == EXC_PF)
        ok = pf_n == pf_e && (fxh_fault.error & 7) == (err & 7);
    if (ok)
        return true;
    printf("  %s: bytes", f->name);
    for (int i = 0; i < len; i++)
        printf(" %02x", insn[i]);
    printf("  (buffer offset %lld, fault kind %d; #PF at %lld vs %lld)\n", (long long)e.off,
           e.fault, (long long)pf_n, (long long)pf_e);
    dump("in", &s, -1);
    dump("host", &nat, nv);
    dump("emu", &emu, ev);
    if (memcmp(fxh_buf, gbuf, FXH_BUF))
        printf("  memory differs\n");
    return false;
}

/* HK_MMX_CASES=n HK_MMX_SEED=s: a longer run, for soak testing. */
static void test_forms(void)
{
    const char *env = getenv("HK_MMX_CASES");
    long cases = env ? atol(env) : CASES;
    if ((env = getenv("HK_MMX_SEED")) != NULL)
        rng = strtoull(env, NULL, 0) * 0x9e3779b97f4a7c15ull | 1;
    for (size_t i = 0; i < MMX_FORM_COUNT; i++) {
        const struct mmx_form *f = &mmx_forms[i];
        const char *quirk = hq_skip_why(f->name, hq_mmx_forms);
        if (quirk) {
            char name[96];
            snprintf(name, sizeof(name), "mmx matches host: %s", f->name);
            SKIP(name, quirk);
            continue;
        }
        bool ok = true;
        for (long n = 0; n < cases && ok; n++)
            ok = run_case(f);
        char name[96];
        snprintf(name, sizeof(name), "mmx matches host: %s", f->name);
        CHECK(ok, name);
    }
    printf("mmx: %zu forms, %ld cases, %ld of them faulting on the host (by vector:",
           MMX_FORM_COUNT, cases_run, cases_faulted);
    for (int v = 0; v < 32; v++)
        if (by_vector[v])
            printf(" #%d %ld", v, by_vector[v]);
    printf(")\n");
}

/* --- Checks the host cannot make from user mode ------------------------------------- */

static int emu_only(const uint8_t *insn, int len, uint64_t cr0, uint64_t cr4, struct fx_state *s)
{
    uint32_t err;
    int64_t pf;
    s->gpr[3] = FXH_G_BUF;
    return fxh_emu(s, insn, len, cr0, cr4, &err, &pf);
}

static struct fx_state clean_state(void)
{
    struct fx_state s = {.rflags = 2};
    uint16_t fcw = 0x37f;
    uint32_t mx = 0x1f80;
    memcpy(s.fx, &fcw, 2);
    memcpy(s.fx + 24, &mx, 4);
    return s;
}

static void test_system_checks(void)
{
    static const uint8_t paddb[] = {0x0f, 0xfc, 0xca};        /* paddb mm1, mm2 */
    static const uint8_t emms[] = {0x0f, 0x77};
    static const uint8_t cvtpi2ps[] = {0x0f, 0x2a, 0xca};     /* cvtpi2ps xmm1, mm2 */
    static const uint8_t movq2dq[] = {0xf3, 0x0f, 0xd6, 0xca};
    static const uint8_t pshufb[] = {0x0f, 0x38, 0x00, 0xca};
    uint64_t cr0 = FXH_CR0, cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    struct fx_state s = clean_state();
    CHECK_EQ(emu_only(paddb, 3, cr0 | CR0_EM, cr4, &s), EXC_UD, "mmx with CR0.EM #UD");
    s = clean_state();
    CHECK_EQ(emu_only(paddb, 3, cr0 | CR0_TS, cr4, &s), EXC_NM, "mmx with CR0.TS #NM");
    s = clean_state();
    CHECK_EQ(emu_only(paddb, 3, cr0 | CR0_TS | CR0_EM, cr4, &s), EXC_UD,
             "mmx with CR0.EM and TS #UD");
    s = clean_state();
    CHECK_EQ(emu_only(pshufb, 4, cr0 | CR0_EM, cr4, &s), EXC_UD, "ssse3 mm with CR0.EM #UD");
    s = clean_state();
    CHECK_EQ(emu_only(emms, 2, cr0 | CR0_TS, cr4, &s), EXC_NM, "emms with CR0.TS #NM");
    s = clean_state();
    CHECK_EQ(emu_only(emms, 2, cr0 | CR0_EM, cr4, &s), EXC_UD, "emms with CR0.EM #UD");
    s = clean_state();
    CHECK_EQ(emu_only(paddb, 3, cr0, CR4_PAE, &s), -1, "mmx without CR4.OSFXSR runs");
    s = clean_state();
    CHECK_EQ(emu_only(cvtpi2ps, 3, cr0, CR4_PAE, &s), EXC_UD, "cvtpi2ps without CR4.OSFXSR #UD");
    s = clean_state();
    CHECK_EQ(emu_only(movq2dq, 4, cr0, CR4_PAE, &s), EXC_UD, "movq2dq without CR4.OSFXSR #UD");
    s = clean_state();
    CHECK_EQ(emu_only(cvtpi2ps, 3, cr0 | CR0_TS, cr4, &s), EXC_NM, "cvtpi2ps with CR0.TS #NM");
    /* A pending unmasked x87 exception: #MF, or nothing with CR0.NE clear. */
    s = clean_state();
    uint16_t fcw = 0x37e, fsw = FSW_IE | FSW_ES | FSW_B;
    memcpy(s.fx, &fcw, 2);
    memcpy(s.fx + 2, &fsw, 2);
    struct fx_state t = s;
    CHECK_EQ(emu_only(paddb, 3, cr0, cr4, &s), EXC_MF, "mmx with a pending x87 exception #MF");
    CHECK_EQ(emu_only(paddb, 3, cr0 & ~X87_CR0_NE, cr4, &t), -1,
             "mmx with a pending x87 exception and CR0.NE clear runs");
}

/* op mm1, mm2 (mm1 = a, mm2 = b) from hand-worked lane arithmetic. */
static void test_known_lanes(void)
{
    static const struct {
        const char *name;
        uint8_t insn[6];
        int len;
        uint64_t a, b, want;
    } k[] = {
        {"psraw by 64 fills sign bits", {0x0f, 0xe1, 0xca}, 3, 0x80007fff0001ffffull, 64,
         0xffff00000000ffffull},
        {"psrlq by imm 64 clears", {0x0f, 0x73, 0xd1, 0x40}, 4, ~0ull, 0, 0},
        {"pmaddwd wraps 0x8000 squares", {0x0f, 0xf5, 0xca}, 3, 0x8000800080008000ull,
         0x8000800080008000ull, 0x8000000080000000ull},
        {"packsswb saturates", {0x0f, 0x63, 0xca}, 3, 0x0080ff7f7fff8000ull, 0,
         0x000000007f807f80ull},
        {"punpckhbw takes the high halves", {0x0f, 0x68, 0xca}, 3, 0x8877665544332211ull,
         0xffeeddccbbaa9988ull, 0xff88ee77dd66cc55ull},
        {"pshufb mm indexes modulo 8", {0x0f, 0x38, 0x00, 0xca}, 4, 0x0706050403020100ull,
         0x800f080700010203ull, 0x0007000700010203ull},
        {"palignr mm concatenates 16 bytes", {0x0f, 0x3a, 0x0f, 0xca, 0x03}, 5,
         0x8877665544332211ull, 0xffeeddccbbaa9988ull, 0x332211ffeeddccbbull},
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        struct fx_state s = clean_state();
        memcpy(s.fx + 32 + 16, &k[i].a, 8);
        memcpy(s.fx + 32 + 32, &k[i].b, 8);
        int v = emu_only(k[i].insn, k[i].len, FXH_CR0, CR4_PAE | CR4_OSFXSR, &s);
        uint64_t r;
        memcpy(&r, s.fx + 32 + 16, 8);
        CHECK(v == -1 && r == k[i].want, k[i].name);
    }
}

/* Known answers, so that agreeing with the host is not the only check. */
static void test_known(void)
{
    static const uint8_t paddsw[] = {0x0f, 0xed, 0xca};       /* paddsw mm1, mm2 */
    static const uint8_t emms[] = {0x0f, 0x77};
    struct fx_state s = clean_state();
    uint16_t fsw = 5 << 11;                                    /* TOP = 5 */
    memcpy(s.fx + 2, &fsw, 2);
    uint64_t a = 0x7fff800000011234ull, b = 0x0001ffff7fff0001ull;
    /* With TOP = 5, physical registers 1 and 2 are image slots 4 and 5. */
    memcpy(s.fx + 32 + 16 * 4, &a, 8);
    memcpy(s.fx + 32 + 16 * 5, &b, 8);
    CHECK_EQ(emu_only(paddsw, 3, FXH_CR0, CR4_PAE | CR4_OSFXSR, &s), -1, "paddsw runs");
    uint64_t r;
    uint16_t se;
    memcpy(&r, s.fx + 32 + 16 * 1, 8);
    memcpy(&se, s.fx + 40 + 16 * 1, 2);
    memcpy(&fsw, s.fx + 2, 2);
    CHECK_EQ(r, 0x7fff80007fff1235ull, "paddsw saturates each word");
    CHECK_EQ(se, 0xffff, "mmx write sets bits 79:64 of the register");
    CHECK_EQ(s.fx[4], 0xff, "mmx tags every register valid");
    CHECK_EQ((fsw >> 11) & 7, 0, "mmx sets TOP to 0");
    CHECK_EQ(emu_only(emms, 2, FXH_CR0, CR4_PAE | CR4_OSFXSR, &s), -1, "emms runs");
    CHECK_EQ(s.fx[4], 0, "emms tags every register empty");
    test_known_lanes();
    uint32_t c[4];
    emu_cpuid(NULL, 1, 0, c);
    CHECK_EQ(c[3] & (1u << 23), 1u << 23, "cpuid advertises MMX");
}

int main(void)
{
    CHECK(fxh_init(), "mmx test pages and guest memory");
    if (test_failures)
        TEST_EXIT();
    test_system_checks();
    test_known();
    test_forms();
    TEST_EXIT();
}
