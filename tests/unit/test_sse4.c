/*
 * SSE3, SSSE3, SSE4.1, SSE4.2 (string compares, CRC32), POPCNT, AES-NI and
 * PCLMULQDQ in the emu CPU against the host CPU, with the harness of
 * test_sse.c (tests/cpu/sse_harness.h): every form runs natively and in the
 * emu from the same random state, registers and memory operands (aligned
 * and not), with REX and REX.W variants; results, flags, MXCSR, memory and
 * faults must agree. The string compares run every imm8 with lengths
 * 0..16, out-of-range and negative EAX/EDX, and embedded zeros.
 */
#include "../cpu/sse4_forms.h"
#include "../cpu/sse_harness.h"
#include "test.h"

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

static void fill(uint8_t *p, size_t n, enum sse4_kind k)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v;
        if (k == S4K_STR && i % 16 == 0)
            str_fill(p + i);
        if (k == S4K_STR)
            continue;
        if (k == S4K_PS)
            v = rnd_f() | (uint64_t)rnd_f() << 32;
        else if (k == S4K_PD)
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
static int encode(const struct sse4_form *f, uint8_t *b, unsigned imm, bool mem, bool rexw)
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

static bool run_case(const struct sse4_form *f, int iter, bool unmask)
{
    uint8_t insn[16];
    unsigned imm = (f->flags & S4F_ALLIMM) ? (unsigned)iter & 0xff : (unsigned)(rnd() & 0xff);
    bool rexw = (f->flags & S4F_W) && rnd() % 2;
    int len = encode(f, insn, imm, rnd() % 2, rexw);
    struct state s;
    memset(&s, 0, sizeof(s));
    for (int i = 0; i < 16; i++)
        s.gpr[i] = rnd_gpr();
    fill((uint8_t *)s.xmm, sizeof(s.xmm), (enum sse4_kind)f->kind);
    if (f->kind == S4K_STR)
        s.gpr[0] = str_len(), s.gpr[2] = str_len();
    s.mxcsr = rnd_mxcsr(unmask);
    s.rflags = 0x2 | (rnd() & ARITH_FLAGS);
    fill(host_buf, BUF_SIZE, (enum sse4_kind)f->kind);
    return sse_diff(f->name, insn, len, &s);
}

static void test_forms(void)
{
    for (size_t i = 0; i < sizeof(sse4_forms) / sizeof(sse4_forms[0]); i++) {
        const struct sse4_form *f = &sse4_forms[i];
        int n = (f->flags & S4F_ALLIMM) ? 256 * 24 : 3000;
        bool ok = true;
        for (int k = 0; k < n && ok; k++)
            ok = run_case(f, k, (f->flags & S4F_FP) && k % 3 == 0);
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
    CHECK_EQ(emu_one(pshufb_mmx, 4, 0x33 | CR0_EM, cr4), EXC_UD, "ssse3 MMX form with CR0.EM #UD");
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
