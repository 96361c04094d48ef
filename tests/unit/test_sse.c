/*
 * SSE/SSE2 in the emu CPU against the host CPU: every form runs natively
 * (one instruction in an executable page, state loaded from and stored to
 * a struct) and in an emu CPU from the same XMM, GPR, RFLAGS, MXCSR and
 * memory state; results, flags, memory and faults must agree. Inputs come
 * from edge values (signed zeros, denormals, infinities, quiet and
 * signalling NaNs, integer-conversion limits) and random bits, under
 * random rounding, FTZ and DAZ, with some SIMD exceptions unmasked.
 */
#include "../cpu/sse_forms.h"
#include "../cpu/sse_harness.h"
#include "test.h"


static void rnd_fill(uint8_t *p, size_t n, enum sse_kind k)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v;
        if (k == SK_PS)
            v = rnd_f() | (uint64_t)rnd_f() << 32;
        else if (k == SK_PD)
            v = rnd_d();
        else if (k == SK_SHIFT)
            v = rnd() % 4 ? rnd() % 80 : rnd();
        else
            v = rnd() % 4 ? rnd() : (rnd() % 2 ? 0x8000800080008000ull : 0x7f7f00ff80ff0001ull);
        memcpy(p + i, &v, 8);
    }
}

/* Encode: [pfx] [REX] 0F op ModRM [disp8] [imm8]. Operands are xmm1/xmm2
 * (or xmm9/xmm10 with REX.R/B), GPR rax/rdx (r8/r10), memory [rbx+disp8]. */
static int encode(const struct sse_form *f, uint8_t *b, bool mem, bool rexrb, bool rexw, int disp)
{
    int n = 0;
    if (f->pfx)
        b[n++] = f->pfx;
    uint8_t rex = (uint8_t)(0x40 | (rexw ? 8 : 0) | (rexrb ? (mem ? 4 : 5) : 0));
    if (rex != 0x40)
        b[n++] = rex;
    b[n++] = 0x0f;
    b[n++] = f->op;
    unsigned reg = f->ext >= 0 ? (unsigned)f->ext : (f->flags & SF_GREG) ? 0 : 1;
    unsigned rm = 2;
    if (mem)
        b[n++] = (uint8_t)(0x40 | reg << 3 | 3), b[n++] = (uint8_t)disp;
    else
        b[n++] = (uint8_t)(0xc0 | reg << 3 | rm);
    if (f->flags & SF_IMM)
        b[n++] = (uint8_t)(rnd() % 3 ? rnd() % 40 : rnd());
    return n;
}

static void random_state(const struct sse_form *f, struct state *s, bool unmask)
{
    memset(s, 0, sizeof(*s));
    for (int i = 0; i < 16; i++)
        s->gpr[i] = rnd_gpr();
    rnd_fill((uint8_t *)s->xmm, sizeof(s->xmm), (enum sse_kind)f->kind);
    if (f->kind == SK_SHIFT) /* the shifted register holds data, xmm2/10 the count */
        for (int i = 0; i < 16; i++)
            if (i != 2 && i != 10)
                s->xmm[i].q[0] = rnd(), s->xmm[i].q[1] = rnd();
    s->mxcsr = rnd_mxcsr(unmask);
    s->rflags = 0x2 | (rnd() & ARITH_FLAGS);
    rnd_fill(host_buf, BUF_SIZE, (enum sse_kind)f->kind);
}

static bool run_case(const struct sse_form *f, bool unmask)
{
    uint8_t insn[16];
    static const int disps[] = {0, 0, 16, 32, 4, 8, 36};
    bool mem = rnd() % 2;
    bool rexw = (f->flags & SF_W) && rnd() % 2;
    int disp = disps[rnd() % 7];
    int len = encode(f, insn, mem, rnd() % 4 == 0, rexw, disp);
    struct state s;
    random_state(f, &s, unmask);
    return sse_diff(f->name, insn, len, &s);
}

static void test_forms(void)
{
    for (size_t i = 0; i < sizeof(sse_forms) / sizeof(sse_forms[0]); i++) {
        const struct sse_form *f = &sse_forms[i];
        bool ok = true;
        for (int n = 0; n < 2000 && ok; n++)
            ok = run_case(f, (f->flags & SF_FP) && n % 3 == 0);
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
