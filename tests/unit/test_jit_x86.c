/*
 * The JIT's x86-64 emitters (src/accel/emu/jit/jit_x86.h) against the
 * host CPU. Each case is one emitted instruction inside a function whose
 * frame is hand-encoded here, not by the emitters: it loads all sixteen
 * registers and RFLAGS from an array, runs the instruction, and stores
 * them back. The result must be what C computes for that instruction:
 * the destination's value (and its flags where they are defined), every
 * other register and flag untouched, and for memory forms the bytes
 * around the operand. The frame loads and stores XMM0-XMM15 too, so the
 * SSE forms are checked the same way (and every other form must leave
 * them alone). The code runs from the JIT's own code memory
 * (jit_mem.c's two views), so a wrong length or a stray prefix shows as
 * a wrong result or a crash, which the signal handler reports by case.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "xorshift.h"

#if defined(__x86_64__)
#include <emmintrin.h>

#include "accel/emu/jit/jit_int.h"
#include "accel/emu/jit/jit_mem.h"
#include "accel/emu/jit/jit_x86.h"
#include "accel/emu/sse4.h"

#define F_CF 0x001u
#define F_PF 0x004u
#define F_AF 0x010u
#define F_ZF 0x040u
#define F_SF 0x080u
#define F_OF 0x800u
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)
#define R_RSP 16   /* the host RSP kept in the case's array while it runs */
#define R_FLAGS 17 /* RFLAGS in and out */
#define MEM_AT 8   /* memory operands address mem[MEM_AT] */

struct tcase {
    uint64_t r[18];          /* loaded, then stored back, by the code */
    uint64_t in[18], want[18];
    uint64_t fmask;          /* the flags checked: DF and all arithmetic ones but the undefined */
    uint8_t mem[32], mem_in[32], mem_want[32];
    uint8_t x[16][16], x_in[16][16], x_want[16][16]; /* XMM0-XMM15, as r, in and want */
    uint32_t off, ins, ins_end; /* the function's offset in the batch, its instruction's */
    char name[96];
};

#define BATCH 512
#define BATCH_CODE (BATCH * 700)
static struct tcase cases[BATCH];
static unsigned ncases;
static uint8_t code[BATCH_CODE];
static struct jit_buf jb;
static struct jit_arena arena;
static const char *group;
static unsigned group_cases, group_failed;
static const struct tcase *running; /* for the crash report */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    return xorshift64(&rng);
}

static const char *const names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                      "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

static void on_crash(int sig)
{
    char line[200];
    int n = snprintf(line, sizeof(line), "FAIL: jit_x86: %s: signal %d running %s\n",
                     group ? group : "?", sig, running ? running->name : "the harness");
    if (n > 0)
        (void)!write(1, line, (size_t)n);
    _exit(1);
}

static void crash_handler(void)
{
    static uint8_t alt[64 << 10]; /* the case's RSP is anything */
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof(alt)};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_ONSTACK;
    int sigs[] = {SIGSEGV, SIGILL, SIGBUS, SIGFPE, SIGTRAP};
    for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
}

/* Hand-encoded frame: REX.W 8B/89 with [base + disp32], base RDI or RAX
 * (neither needs a SIB). */
static void raw(const void *b, size_t n)
{
    jb_bytes(&jb, b, n);
}

static void raw_mov_mem(uint8_t opc, unsigned reg, unsigned base, int32_t disp)
{
    uint8_t b[7] = {(uint8_t)(0x48 | (reg >> 3) << 2), opc,
                    (uint8_t)(0x80 | (reg & 7) << 3 | base)};
    memcpy(b + 3, &disp, 4);
    raw(b, 7);
}

/* MOVDQU xmm, [base + disp32] (F3 0F 6F) or back (7F), base RDI or RAX. */
static void raw_movdqu(uint8_t opc, unsigned xmm, unsigned base, int32_t disp)
{
    uint8_t b[9];
    size_t n = 0;
    b[n++] = 0xf3;
    if (xmm >= 8)
        b[n++] = 0x44; /* REX.R */
    b[n++] = 0x0f;
    b[n++] = opc;
    b[n++] = (uint8_t)(0x80 | (xmm & 7) << 3 | base);
    memcpy(b + n, &disp, 4);
    raw(b, n + 4);
}

#define XMM_AT(n) ((int32_t)(offsetof(struct tcase, x) - offsetof(struct tcase, r)) + 16 * (int32_t)(n))

static void prologue(void)
{
    static const uint8_t push[] = {0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57};
    raw(push, sizeof(push));
    raw_mov_mem(0x89, X_RSP, X_RDI, 8 * R_RSP); /* the host RSP kept */
    /* PUSH qword [rdi + 8 * R_FLAGS]; POPFQ */
    static const uint8_t flags[] = {0xff, 0xb7, 8 * R_FLAGS, 0, 0, 0, 0x9d};
    raw(flags, sizeof(flags));
    for (unsigned x = 0; x < 16; x++)
        raw_movdqu(0x6f, x, X_RDI, XMM_AT(x));
    for (unsigned r = 0; r < 16; r++)
        if (r != X_RDI)
            raw_mov_mem(0x8b, r, X_RDI, 8 * (int32_t)r);
    raw_mov_mem(0x8b, X_RDI, X_RDI, 8 * X_RDI);
}

/* Nothing here changes the flags before PUSHFQ. */
static void epilogue(struct tcase *c)
{
    uint64_t at = (uint64_t)(uintptr_t)c->r;
    uint8_t b[10] = {0x48, 0xa3}; /* MOV [moffs64], RAX */
    memcpy(b + 2, &at, 8);
    raw(b, 10);
    b[1] = 0xb8; /* MOV RAX, imm64 */
    raw(b, 10);
    for (unsigned r = 1; r < 16; r++)
        raw_mov_mem(0x89, r, X_RAX, 8 * (int32_t)r);
    for (unsigned x = 0; x < 16; x++)
        raw_movdqu(0x7f, x, X_RAX, XMM_AT(x));
    raw_mov_mem(0x8b, X_RSP, X_RAX, 8 * R_RSP);
    static const uint8_t pushf[] = {0x9c, 0x59}; /* pushfq; pop rcx */
    raw(pushf, sizeof(pushf));
    raw_mov_mem(0x89, X_RCX, X_RAX, 8 * R_FLAGS);
    static const uint8_t pop[] = {0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3};
    raw(pop, sizeof(pop));
}

static uint64_t value(void)
{
    static const uint64_t edges[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xffffffff,
                                     0x100000000ull, 0x7fffffffffffffffull,
                                     0x8000000000000000ull, ~0ull};
    uint64_t r = rnd();
    return (r & 3) ? rnd() : edges[(r >> 2) % (sizeof(edges) / sizeof(edges[0]))];
}

/* 16 random bytes, often edges (0, 7F, 80, FF) and often a byte of
 * like (an earlier register's: lanes that compare equal). */
static void xmm_value(uint8_t *v, const uint8_t *like)
{
    static const uint8_t edges[] = {0, 0x7f, 0x80, 0xff, 1, 0xfe};
    unsigned mode = (unsigned)(rnd() % 4);
    for (unsigned i = 0; i < 16; i++) {
        uint64_t r = rnd();
        if (like && mode == 0 && (r & 1))
            v[i] = like[i];
        else if (mode == 1 && (r & 6))
            v[i] = edges[(r >> 3) % sizeof(edges)];
        else
            v[i] = (uint8_t)(r >> 8);
    }
}

static void run_batch(void);

/* A new case: random registers, flags and memory, all expected kept;
 * the instruction goes into jb next, then case_end. */
static struct tcase *case_begin(const char *fmt, ...)
{
    if (ncases == BATCH || (size_t)(jb.end - jb.p) < 1024)
        run_batch();
    struct tcase *c = &cases[ncases++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->name, sizeof(c->name), fmt, ap);
    va_end(ap);
    for (unsigned r = 0; r < 16; r++)
        c->in[r] = c->want[r] = value();
    c->in[R_FLAGS] = c->want[R_FLAGS] = 0x202 | (rnd() & F_ARITH);
    c->fmask = F_ARITH | 0x400;
    for (unsigned i = 0; i < sizeof(c->mem); i++)
        c->mem_in[i] = c->mem_want[i] = (uint8_t)rnd();
    for (unsigned x = 0; x < 16; x++)
        xmm_value(c->x_in[x], x ? c->x_in[rnd() % x] : NULL);
    memcpy(c->x_want, c->x_in, sizeof(c->x_in));
    while (jb_pos(&jb) & 15)
        jb_u8(&jb, 0xcc);
    c->off = jb_pos(&jb);
    prologue();
    c->ins = jb_pos(&jb);
    return c;
}

static void case_end(struct tcase *c)
{
    c->ins_end = jb_pos(&jb);
    epilogue(c);
}

static void set(struct tcase *c, unsigned r, uint64_t v)
{
    c->in[r] = c->want[r] = v;
}

/* A memory operand at mem[MEM_AT] through base + disp. */
static void point(struct tcase *c, unsigned base, int32_t disp)
{
    set(c, base, (uint64_t)(uintptr_t)(c->mem + MEM_AT) - (uint64_t)(int64_t)disp);
}

static void group_begin(const char *name)
{
    group = name;
    group_cases = group_failed = 0;
}

static void check(struct tcase *c)
{
    char why[160] = "";
    for (unsigned r = 0; r < 16 && !why[0]; r++)
        if (c->r[r] != c->want[r])
            snprintf(why, sizeof(why),
                     "%s = %#" PRIx64 ", expected %#" PRIx64 " (was %#" PRIx64 ")", names[r],
                     c->r[r], c->want[r], c->in[r]);
    uint64_t fm = c->fmask; /* DF and the arithmetic flags but the undefined ones */
    if (!why[0] && (c->r[R_FLAGS] & fm) != (c->want[R_FLAGS] & fm))
        snprintf(why, sizeof(why), "RFLAGS = %#" PRIx64 ", expected %#" PRIx64 " in %#" PRIx64,
                 c->r[R_FLAGS] & fm, c->want[R_FLAGS] & fm, fm);
    for (unsigned i = 0; i < sizeof(c->mem) && !why[0]; i++)
        if (c->mem[i] != c->mem_want[i])
            snprintf(why, sizeof(why), "memory byte %d = %#x, expected %#x", (int)i - MEM_AT,
                     c->mem[i], c->mem_want[i]);
    for (unsigned x = 0; x < 16 && !why[0]; x++)
        for (unsigned i = 0; i < 16 && !why[0]; i++)
            if (c->x[x][i] != c->x_want[x][i])
                snprintf(why, sizeof(why), "xmm%u byte %u = %#x, expected %#x (was %#x)", x, i,
                         c->x[x][i], c->x_want[x][i], c->x_in[x][i]);
    group_cases++;
    if (why[0] && group_failed++ < 5) {
        printf("FAIL: jit_x86: %s: %s: %s; bytes:", group, c->name, why);
        for (uint32_t i = c->ins; i < c->ins_end; i++)
            printf(" %02x", code[i]);
        printf("\n");
    }
}

static void run_batch(void)
{
    if (!ncases)
        return;
    if (jb.full) {
        printf("FAIL: jit_x86: %s: the batch's code did not fit\n", group);
        exit(1);
    }
    size_t n = jb_pos(&jb);
    uint8_t *rx = jit_arena_publish(&arena, code, n);
    if (!rx) {
        jit_arena_reset(&arena);
        rx = jit_arena_publish(&arena, code, n);
    }
    if (!rx) {
        printf("FAIL: jit_x86: code memory too small\n");
        exit(1);
    }
    for (unsigned k = 0; k < ncases; k++) {
        struct tcase *c = &cases[k];
        memcpy(c->r, c->in, sizeof(c->r));
        memcpy(c->x, c->x_in, sizeof(c->x));
        memcpy(c->mem, c->mem_in, sizeof(c->mem));
        running = c;
        ((void (*)(uint64_t *))(void *)(rx + c->off))(c->r);
        running = NULL;
        check(c);
    }
    ncases = 0;
    jb = (struct jit_buf){code, code, code + sizeof(code), false, 0, 0, NULL};
}

static void group_end(void)
{
    run_batch();
    if (!group_failed)
        printf("PASS: jit_x86: %s: %u forms as the host CPU runs them\n", group, group_cases);
    else
        printf("FAIL: jit_x86: %s: %u of %u forms wrong\n", group, group_failed, group_cases);
    test_failures += group_failed != 0;
    fflush(stdout);
}

/* ---- What C says the instructions do. ---- */

static uint64_t mask_of(bool w)
{
    return w ? ~0ull : 0xffffffffull;
}

static uint64_t result_flags(uint64_t r, bool w)
{
    unsigned bits = w ? 64 : 32;
    uint64_t f = 0;
    r &= mask_of(w);
    if (!r)
        f |= F_ZF;
    if (r >> (bits - 1))
        f |= F_SF;
    if (!__builtin_parity((unsigned)(r & 0xff)))
        f |= F_PF;
    return f;
}

/* ALU op (X_ADD..X_CMP) at 32 or 64 bits: the result (what is written:
 * zero-extended at 32), the arithmetic flags into *f, those it leaves
 * undefined into *undef. */
static uint64_t alu(unsigned op, bool w, uint64_t a, uint64_t b, bool cf, uint64_t *f,
                    uint64_t *undef)
{
    unsigned bits = w ? 64 : 32;
    uint64_t m = mask_of(w), r;
    a &= m;
    b &= m;
    unsigned __int128 wide;
    *undef = 0;
    *f = 0;
    switch (op) {
    case X_ADD:
    case X_ADC: {
        unsigned c = op == X_ADC && cf;
        wide = (unsigned __int128)a + b + c;
        r = (uint64_t)wide & m;
        if ((wide >> bits) & 1)
            *f |= F_CF;
        if (((a ^ r) & (b ^ r)) >> (bits - 1) & 1)
            *f |= F_OF;
        if ((a ^ b ^ r) & 0x10)
            *f |= F_AF;
        break;
    }
    case X_SUB:
    case X_SBB:
    case X_CMP: {
        unsigned c = op == X_SBB && cf;
        r = (a - b - c) & m;
        if ((unsigned __int128)a < (unsigned __int128)b + c)
            *f |= F_CF;
        if (((a ^ b) & (a ^ r)) >> (bits - 1) & 1)
            *f |= F_OF;
        if ((a ^ b ^ r) & 0x10)
            *f |= F_AF;
        break;
    }
    default:
        r = (op == X_OR ? a | b : op == X_AND ? a & b : a ^ b) & m;
        *undef = F_AF;
        break;
    }
    *f |= result_flags(r, w);
    return r;
}

/* The instruction sets the flags in defined to f, leaves undef
 * undefined, and keeps the rest. */
static void want_flags(struct tcase *c, uint64_t f, uint64_t defined, uint64_t undef)
{
    c->fmask = (F_ARITH | 0x400) & ~undef;
    c->want[R_FLAGS] = (c->in[R_FLAGS] & ~defined) | (f & defined);
}

static const int32_t disps[] = {0, 8, -8, 0x7f, -0x80, 0x80, -0x81, 0x12345678, -0x12345678,
                                INT32_MAX, INT32_MIN};
#define NDISPS (sizeof(disps) / sizeof(disps[0]))

/* ---- The groups. ---- */

/* LEA dst, [base + index << scale + disp]: every destination, base
 * (none, RBP, R13, RSP, R12 ...), index (none, R12 ...), scale; the
 * displacements and both sizes in turn. */
static void test_lea(void)
{
    group_begin("x_lea");
    unsigned n = 0;
    for (int base = -1; base < 16; base++)
        for (int index = -1; index < 16; index++) {
            if (index == X_RSP)
                continue;
            for (unsigned dst = 0; dst < 16; dst++)
                for (unsigned scale = 0; scale < 4; scale++, n++) {
                    int32_t disp = disps[n % NDISPS];
                    bool w = (n / NDISPS) & 1;
                    struct tcase *c = case_begin("lea %s%s, [%s + %s * %u + %d]", names[dst],
                                                 w ? "" : "(32)", base < 0 ? "-" : names[base],
                                                 index < 0 ? "-" : names[index], 1u << scale, disp);
                    uint64_t v = (uint64_t)(int64_t)disp;
                    if (base >= 0)
                        v += c->in[base];
                    if (index >= 0)
                        v += c->in[index] << scale;
                    c->want[dst] = v & mask_of(w);
                    x_lea(&jb, w, dst, base, index, scale, disp);
                    case_end(c);
                }
        }
    group_end();
}

/* The byte and word moves between any two registers (SPL..DIL, not
 * AH..BH, for 4-7), and the 0F forms movx() makes with x_op0f_rr. */
static void test_byte_moves(void)
{
    group_begin("x_movzx8_any, x_movzx16, x_mov8_rr, x_movzx8");
    for (unsigned d = 0; d < 16; d++)
        for (unsigned s = 0; s < 16; s++) {
            struct tcase *c = case_begin("movzx %s, byte %s", names[d], names[s]);
            c->want[d] = c->in[s] & 0xff;
            x_movzx8_any(&jb, d, s);
            case_end(c);
            c = case_begin("movzx %s, word %s", names[d], names[s]);
            c->want[d] = c->in[s] & 0xffff;
            x_movzx16(&jb, d, s);
            case_end(c);
            c = case_begin("mov byte %s, byte %s", names[d], names[s]);
            c->want[d] = (c->in[d] & ~0xffull) | (c->in[s] & 0xff);
            x_mov8_rr(&jb, d, s);
            case_end(c);
            if (s < 4) {
                c = case_begin("movzx %s, %s (AL..BL)", names[d], names[s]);
                c->want[d] = c->in[s] & 0xff;
                x_movzx8(&jb, d, s);
                case_end(c);
            }
        }
    group_end();
    group_begin("x_op0f_rr (MOVZX, MOVSX), MOVSXD");
    static const uint8_t opcs[] = {0xb6, 0xb7, 0xbe, 0xbf};
    for (unsigned d = 0; d < 16; d++)
        for (unsigned s = 0; s < 16; s++) {
            for (unsigned k = 0; k < 8; k++) {
                uint8_t opc = opcs[k & 3];
                bool w = k >> 2, byte = !(opc & 1), sx = opc >= 0xbe;
                struct tcase *c = case_begin("0f %02x %s%s, %s", opc, names[d], w ? "" : "(32)",
                                             names[s]);
                uint64_t v = c->in[s] & (byte ? 0xff : 0xffff);
                if (sx)
                    v = byte ? (uint64_t)(int64_t)(int8_t)v : (uint64_t)(int64_t)(int16_t)v;
                c->want[d] = v & mask_of(w);
                x_op0f_rr(&jb, w, opc, d, s, byte);
                case_end(c);
            }
            struct tcase *c = case_begin("movsxd %s, %s", names[d], names[s]);
            c->want[d] = (uint64_t)(int64_t)(int32_t)c->in[s];
            x_op_rr(&jb, true, 0x63, d, s);
            case_end(c);
        }
    group_end();
}

static bool cond(unsigned cc, uint64_t f)
{
    bool cf = f & F_CF, zf = f & F_ZF, sf = f & F_SF, of = f & F_OF, pf = f & F_PF, r;
    switch (cc >> 1) {
    case 0: r = of; break;
    case 1: r = cf; break;
    case 2: r = zf; break;
    case 3: r = cf || zf; break;
    case 4: r = sf; break;
    case 5: r = pf; break;
    case 6: r = sf != of; break;
    default: r = zf || sf != of; break;
    }
    return r != (cc & 1);
}

static void test_setcc(void)
{
    group_begin("x_setcc");
    for (unsigned cc = 0; cc < 16; cc++)
        for (unsigned r = 0; r < 4; r++)
            for (unsigned k = 0; k < 8; k++) {
                struct tcase *c = case_begin("set%u %s", cc, names[r]);
                c->want[r] = (c->in[r] & ~0xffull) | cond(cc, c->in[R_FLAGS]);
                x_setcc(&jb, cc, r);
                case_end(c);
            }
    group_end();
}

/* MOV r, [base + disp] and back, at 32 and 64 bits: every register with
 * every base (RSP and R12 need a SIB, RBP and R13 a displacement). */
static void test_load_store(void)
{
    group_begin("x_load, x_store");
    unsigned n = 0;
    for (unsigned reg = 0; reg < 16; reg++)
        for (unsigned base = 0; base < 16; base++)
            for (unsigned k = 0; k < 4; k++, n++) {
                bool w = k & 1, st = k & 2;
                int32_t disp = disps[n % NDISPS];
                struct tcase *c = case_begin("%s%s %s, [%s + %d]", st ? "store" : "load",
                                             w ? "" : "(32)", names[reg], names[base], disp);
                point(c, base, disp);
                uint64_t mv;
                memcpy(&mv, c->mem_in + MEM_AT, 8);
                if (st) {
                    memcpy(c->mem_want + MEM_AT, &c->in[reg], w ? 8 : 4);
                    x_store(&jb, w, reg, base, disp);
                } else {
                    c->want[reg] = mv & mask_of(w);
                    x_load(&jb, w, reg, base, disp);
                }
                case_end(c);
            }
    group_end();
}

/* MOV r, [base + index + disp32] and CMP r, [base + index + disp32]
 * (x_op_mem_idx 8B, 3B), at 32 and 64 bits: every register with every
 * base and index (not RSP; not the base, which the address would count
 * twice), the index's value random and small. */
static void test_mem_idx(void)
{
    group_begin("x_op_mem_idx");
    unsigned n = 0;
    for (unsigned reg = 0; reg < 16; reg++)
        for (unsigned base = 0; base < 16; base++)
            for (unsigned index = 0; index < 16; index++, n++) {
                if (index == X_RSP || index == base)
                    continue;
                bool w = n & 1, cmp = n & 2;
                int32_t disp = disps[n % NDISPS];
                uint64_t iv = rnd() & 0xfff8;
                struct tcase *c = case_begin("%s%s %s, [%s + %s + %d]", cmp ? "cmp" : "mov",
                                             w ? "" : "(32)", names[reg], names[base],
                                             names[index], disp);
                set(c, index, iv);
                point(c, base, disp);
                set(c, base, c->in[base] - iv);
                uint64_t mv;
                memcpy(&mv, c->mem_in + MEM_AT, 8);
                mv &= mask_of(w);
                if (cmp) {
                    uint64_t f, undef;
                    alu(X_CMP, w, c->in[reg], mv, false, &f, &undef);
                    want_flags(c, f, F_ARITH, undef);
                } else {
                    c->want[reg] = mv;
                }
                x_op_mem_idx(&jb, w, cmp ? 0x3b : 0x8b, reg, base, index, disp);
                case_end(c);
            }
    group_end();
}

/* The other memory forms the JIT emits: MOVZX from a byte, a byte store
 * (x_op_mem 88: AL..BL or R8B..), the immediate stores, ALU from memory,
 * ALU on memory with an immediate, TEST on memory. */
static void test_mem_forms(void)
{
    group_begin("x_op0f_mem, x_op_mem 88, x_store_imm, x_alu_r_mem, x_alu_mem_imm, x_test_mem_imm");
    static const unsigned sizes[] = {1, 2, 4, 8};
    unsigned n = 0;
    for (unsigned reg = 0; reg < 16; reg++)
        for (unsigned base = 0; base < 16; base++, n++) {
            int32_t disp = disps[n % NDISPS];
            uint64_t mv;
            struct tcase *c = case_begin("movzx %s, byte [%s + %d]", names[reg], names[base], disp);
            point(c, base, disp);
            c->want[reg] = c->mem_in[MEM_AT];
            x_op0f_mem(&jb, false, 0xb6, reg, base, disp);
            case_end(c);
            if (reg < 4 || reg >= 8) { /* 4-7 would be AH..BH */
                c = case_begin("mov byte [%s + %d], %s", names[base], disp, names[reg]);
                point(c, base, disp);
                c->mem_want[MEM_AT] = (uint8_t)c->in[reg];
                x_op_mem(&jb, false, 0x88, reg, base, disp);
                case_end(c);
            }
            unsigned op = n % 8;
            bool w = (n / 8) & 1;
            uint64_t f, fm;
            c = case_begin("alu%u%s %s, [%s + %d]", op, w ? "" : "(32)", names[reg], names[base],
                           disp);
            point(c, base, disp);
            memcpy(&mv, c->mem_in + MEM_AT, 8);
            uint64_t r = alu(op, w, c->in[reg], mv, c->in[R_FLAGS] & F_CF, &f, &fm);
            if (op != X_CMP)
                c->want[reg] = r;
            want_flags(c, f, F_ARITH & ~fm, fm);
            x_alu_r_mem(&jb, w, op, reg, base, disp);
            case_end(c);
            if (reg != 0)
                continue;
            /* The forms with no register operand: per base, every size / op. */
            for (unsigned k = 0; k < 8; k++) {
                int32_t imm = (int32_t)value();
                unsigned size = sizes[k & 3];
                c = case_begin("mov size %u [%s + %d], %#x", size, names[base], disp, imm);
                point(c, base, disp);
                uint64_t v = (uint64_t)(int64_t)imm;
                memcpy(c->mem_want + MEM_AT, &v, size);
                x_store_imm(&jb, size, base, disp, (uint32_t)imm);
                case_end(c);
                w = k & 1;
                c = case_begin("alu%u%s [%s + %d], %#x", k, w ? "" : "(32)", names[base], disp,
                               imm);
                point(c, base, disp);
                memcpy(&mv, c->mem_in + MEM_AT, 8);
                r = alu(k, w, mv, (uint64_t)(int64_t)imm, c->in[R_FLAGS] & F_CF, &f, &fm);
                if (k != X_CMP)
                    memcpy(c->mem_want + MEM_AT, &r, w ? 8 : 4);
                want_flags(c, f, F_ARITH & ~fm, fm);
                x_alu_mem_imm(&jb, w, k, base, disp, imm);
                case_end(c);
                c = case_begin("test dword [%s + %d], %#x", names[base], disp, imm);
                point(c, base, disp);
                memcpy(&mv, c->mem_in + MEM_AT, 8);
                r = alu(X_AND, false, mv, (uint32_t)imm, false, &f, &fm);
                want_flags(c, f, F_ARITH & ~fm, fm);
                x_test_mem_imm(&jb, base, disp, (uint32_t)imm);
                case_end(c);
            }
        }
    group_end();
}

/* v's low size bytes into old, the rest of old kept; a 32-bit write
 * zero-extends (what a register write at size leaves). */
static uint64_t write_sized(uint64_t old, unsigned size, uint64_t v)
{
    if (size == 8)
        return v;
    if (size == 4)
        return (uint32_t)v;
    uint64_t m = size == 2 ? 0xffffull : 0xffull;
    return (old & ~m) | (v & m);
}

/* The flags of CMP a, b at size bytes. */
static uint64_t cmp_flags(unsigned size, uint64_t a, uint64_t b)
{
    unsigned bits = size * 8;
    uint64_t m = bits == 64 ? ~0ull : (1ull << bits) - 1, f = 0;
    a &= m;
    b &= m;
    uint64_t r = (a - b) & m;
    if (a < b)
        f |= F_CF;
    if (((a ^ b) & (a ^ r)) >> (bits - 1) & 1)
        f |= F_OF;
    if ((a ^ b ^ r) & 0x10)
        f |= F_AF;
    if (!r)
        f |= F_ZF;
    if (r >> (bits - 1) & 1)
        f |= F_SF;
    if (!__builtin_parity((unsigned)(r & 0xff)))
        f |= F_PF;
    return f;
}

/* XCHG and LOCK CMPXCHG on memory at every size, every register with
 * every base (the base itself too: its value is the address), CMPXCHG
 * equal and not (RAX's low bytes made the operand's half the time);
 * XCHG between any two registers (one with itself: zero-extended at 32
 * bits), and CMOVcc on every condition. */
static void test_atomic(void)
{
    group_begin("x_xchg_mem, x_lock_cmpxchg_mem, x_xchg_rr, x_cmov");
    static const unsigned sizes[] = {1, 2, 4, 8};
    unsigned n = 0;
    for (unsigned reg = 0; reg < 16; reg++)
        for (unsigned base = 0; base < 16; base++)
            for (unsigned k = 0; k < 8; k++, n++) {
                unsigned size = sizes[k & 3];
                int32_t disp = disps[n % NDISPS];
                bool cx = k & 4;
                struct tcase *c = case_begin("%s size %u [%s + %d], %s",
                                             cx ? "lock cmpxchg" : "xchg", size, names[base],
                                             disp, names[reg]);
                point(c, base, disp);
                if (cx && (rnd() & 1)) { /* equal */
                    memcpy(c->mem_in + MEM_AT, &c->in[X_RAX], size);
                    memcpy(c->mem_want + MEM_AT, &c->in[X_RAX], size);
                }
                uint64_t mv = 0;
                memcpy(&mv, c->mem_in + MEM_AT, size);
                if (!cx) {
                    memcpy(c->mem_want + MEM_AT, &c->in[reg], size);
                    c->want[reg] = write_sized(c->in[reg], size, mv);
                    x_xchg_mem(&jb, size, reg, base, disp);
                } else {
                    uint64_t acc = c->in[X_RAX];
                    uint64_t m = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
                    if ((acc & m) == mv)
                        memcpy(c->mem_want + MEM_AT, &c->in[reg], size);
                    else
                        c->want[X_RAX] = write_sized(acc, size, mv);
                    want_flags(c, cmp_flags(size, acc, mv), F_ARITH, 0);
                    x_lock_cmpxchg_mem(&jb, size, reg, base, disp);
                }
                case_end(c);
            }
    for (unsigned a = 0; a < 16; a++)
        for (unsigned b = 0; b < 16; b++)
            for (unsigned w = 0; w < 2; w++) {
                struct tcase *c = case_begin("xchg%s %s, %s", w ? "" : "(32)", names[a], names[b]);
                uint64_t va = c->in[a], vb = c->in[b];
                c->want[a] = vb & mask_of(w);
                c->want[b] = va & mask_of(w);
                x_xchg_rr(&jb, w, a, b);
                case_end(c);
                unsigned cc = (unsigned)rnd() & 15;
                c = case_begin("cmov%u%s %s, %s", cc, w ? "" : "(32)", names[a], names[b]);
                c->want[a] = (cond(cc, c->in[R_FLAGS]) ? c->in[b] : c->in[a]) & mask_of(w);
                x_cmov(&jb, w, cc, a, b);
                case_end(c);
            }
    group_end();
}

/* ALU, TEST, MOV between registers and with an immediate, NOT and NEG
 * (F7 /2, /3 through x_op_rr). */
static void test_alu(void)
{
    group_begin("x_alu_rr, x_alu_r_imm, x_test_rr, x_test_r_imm, x_mov_rr, NOT/NEG");
    uint64_t f, fm;
    for (unsigned d = 0; d < 16; d++)
        for (unsigned s = 0; s < 16; s++)
            for (unsigned op = 0; op < 8; op++)
                for (unsigned w = 0; w < 2; w++) {
                    struct tcase *c = case_begin("alu%u%s %s, %s", op, w ? "" : "(32)", names[d],
                                                 names[s]);
                    uint64_t r = alu(op, w, c->in[d], c->in[s], c->in[R_FLAGS] & F_CF, &f, &fm);
                    if (op != X_CMP)
                        c->want[d] = r;
                    want_flags(c, f, F_ARITH & ~fm, fm);
                    x_alu_rr(&jb, w, op, d, s);
                    case_end(c);
                }
    for (unsigned d = 0; d < 16; d++)
        for (unsigned k = 0; k < 32; k++) {
            unsigned op = k & 7;
            bool w = (k >> 3) & 1;
            int32_t imm = (int32_t)value();
            struct tcase *c = case_begin("alu%u%s %s, %#x", op, w ? "" : "(32)", names[d], imm);
            uint64_t r = alu(op, w, c->in[d], (uint64_t)(int64_t)imm, c->in[R_FLAGS] & F_CF, &f,
                             &fm);
            if (op != X_CMP)
                c->want[d] = r;
            want_flags(c, f, F_ARITH & ~fm, fm);
            x_alu_r_imm(&jb, w, op, d, imm);
            case_end(c);
            c = case_begin("test%s %s, %#x", w ? "" : "(32)", names[d], imm);
            alu(X_AND, w, c->in[d], (uint64_t)(int64_t)imm, false, &f, &fm);
            want_flags(c, f, F_ARITH & ~fm, fm);
            x_test_r_imm(&jb, w, d, (uint32_t)imm);
            case_end(c);
        }
    for (unsigned a = 0; a < 16; a++)
        for (unsigned b = 0; b < 16; b++)
            for (unsigned w = 0; w < 2; w++) {
                struct tcase *c = case_begin("test%s %s, %s", w ? "" : "(32)", names[a], names[b]);
                alu(X_AND, w, c->in[a], c->in[b], false, &f, &fm);
                want_flags(c, f, F_ARITH & ~fm, fm);
                x_test_rr(&jb, w, a, b);
                case_end(c);
                c = case_begin("mov%s %s, %s", w ? "" : "(32)", names[a], names[b]);
                c->want[a] = c->in[b] & mask_of(w);
                x_mov_rr(&jb, w, a, b);
                case_end(c);
            }
    for (unsigned d = 0; d < 16; d++)
        for (unsigned k = 0; k < 8; k++) {
            bool w = k & 1, neg = k & 2;
            struct tcase *c = case_begin("%s%s %s", neg ? "neg" : "not", w ? "" : "(32)", names[d]);
            if (neg) {
                uint64_t r = alu(X_SUB, w, 0, c->in[d], false, &f, &fm);
                c->want[d] = r;
                want_flags(c, f, F_ARITH & ~fm, fm);
            } else {
                c->want[d] = ~c->in[d] & mask_of(w);
            }
            x_op_rr(&jb, w, 0xf7, neg ? 3 : 2, d);
            case_end(c);
        }
    group_end();
}

/* Shifts and rotates by a constant (C1 /0 /1 /4 /5 /7; x_shl_imm) and
 * SHL, SHR, SAR by CL (D3; x_shift_cl, RCX's other bits random): the
 * value, CF where a count defines it, nothing changed by count 0. */
static void test_shifts(void)
{
    group_begin("x_shift_imm, x_shl_imm, x_shift_cl");
    static const unsigned ops[] = {0, 1, 4, 5, 7, 4, 4, 5, 7};
    static const char *const kinds[] = {"shift", "shift", "shift", "shift", "shift",
                                        "shl",   "cl",    "cl",    "cl"};
    static const uint8_t counts[] = {0, 1, 2, 7, 8, 31, 32, 33, 63, 64};
    for (unsigned d = 0; d < 16; d++)
        for (unsigned o = 0; o < 9; o++)
            for (unsigned k = 0; k < 2 * sizeof(counts); k++) {
                bool w = k & 1, by_cl = o > 5;
                unsigned op = ops[o], bits = w ? 64 : 32;
                uint8_t n = counts[k >> 1];
                if (by_cl && d == X_RCX)
                    continue;
                struct tcase *c = case_begin("%s %u%s %s, %u", kinds[o], op, w ? "" : "(32)",
                                             names[d], n);
                if (by_cl)
                    set(c, X_RCX, (c->in[X_RCX] & ~0xffull) | n);
                uint64_t a = c->in[d] & mask_of(w), r = a;
                unsigned cnt = n & (bits - 1);
                bool cf = false, of = false;
                uint64_t msb = 1ull << (bits - 1);
                if (cnt) {
                    switch (op) {
                    case 0:
                        r = (a << cnt | a >> (bits - cnt)) & mask_of(w);
                        cf = r & 1;
                        of = !!(r & msb) != cf;
                        break;
                    case 1:
                        r = (a >> cnt | a << (bits - cnt)) & mask_of(w);
                        cf = r & msb;
                        of = !!(r & msb) != !!(r & msb >> 1);
                        break;
                    case 4:
                        r = (a << cnt) & mask_of(w);
                        cf = (a >> (bits - cnt)) & 1;
                        of = !!(r & msb) != cf;
                        break;
                    case 5:
                        r = a >> cnt;
                        cf = (a >> (cnt - 1)) & 1;
                        of = a & msb;
                        break;
                    default: {
                        int64_t sv = w ? (int64_t)a : (int64_t)(int32_t)a;
                        r = (uint64_t)(sv >> cnt) & mask_of(w);
                        cf = (uint64_t)(sv >> (cnt - 1)) & 1;
                        break;
                    }
                    }
                    /* OF only for a count of 1; rotates keep SF, ZF, PF, AF */
                    uint64_t f = (cf ? F_CF : 0) | (of ? F_OF : 0), def = F_CF, undef = 0;
                    if (cnt == 1)
                        def |= F_OF;
                    else
                        undef |= F_OF;
                    if (op >= 4) {
                        f |= result_flags(r, w);
                        def |= F_SF | F_ZF | F_PF;
                        undef |= F_AF;
                    }
                    want_flags(c, f, def, undef);
                }
                c->want[d] = r & mask_of(w); /* 32-bit: zero-extended even by 0 */
                if (o < 5)
                    x_shift_imm(&jb, w, op, d, n);
                else if (!by_cl)
                    x_shl_imm(&jb, w, d, n);
                else
                    x_shift_cl(&jb, w, op, d);
                case_end(c);
            }
    group_end();
}

static uint64_t imul(bool w, uint64_t a, uint64_t b, bool *over)
{
    if (w) {
        __int128 p = (__int128)(int64_t)a * (int64_t)b;
        *over = p != (int64_t)p;
        return (uint64_t)p;
    }
    int64_t p = (int64_t)(int32_t)a * (int32_t)b;
    *over = p != (int32_t)p;
    return (uint32_t)p;
}

static void test_imul_mov_imm(void)
{
    group_begin("x_imul_rr, x_imul_rri, x_mov_imm");
    bool over;
    for (unsigned d = 0; d < 16; d++)
        for (unsigned s = 0; s < 16; s++)
            for (unsigned k = 0; k < 4; k++) {
                bool w = k & 1;
                if (k & 2) {
                    int32_t imm = (int32_t)value();
                    struct tcase *c = case_begin("imul%s %s, %s, %#x", w ? "" : "(32)", names[d],
                                                 names[s], imm);
                    c->want[d] = imul(w, c->in[s], (uint64_t)(int64_t)imm, &over);
                    want_flags(c, over ? F_CF | F_OF : 0, F_CF | F_OF, F_ARITH & ~(F_CF | F_OF));
                    x_imul_rri(&jb, w, d, s, imm);
                    case_end(c);
                } else {
                    struct tcase *c = case_begin("imul%s %s, %s", w ? "" : "(32)", names[d],
                                                 names[s]);
                    c->want[d] = imul(w, c->in[d], c->in[s], &over);
                    want_flags(c, over ? F_CF | F_OF : 0, F_CF | F_OF, F_ARITH & ~(F_CF | F_OF));
                    x_imul_rr(&jb, w, d, s);
                    case_end(c);
                }
            }
    /* The three forms: imm32 zero-extended, imm32 sign-extended, imm64. */
    static const uint64_t imms[] = {0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull,
                                    0xffffffff80000000ull, ~0ull, 0x7fffffff80000000ull,
                                    0x123456789abcdef0ull};
    for (unsigned d = 0; d < 16; d++)
        for (unsigned k = 0; k < sizeof(imms) / sizeof(imms[0]); k++) {
            struct tcase *c = case_begin("mov %s, %#" PRIx64, names[d], imms[k]);
            c->want[d] = imms[k];
            x_mov_imm(&jb, d, imms[k]);
            case_end(c);
        }
    group_end();
}


/* ---- SSE2 on the XMM registers. ---- */

/* The integer operations by their 66 0F opcode, what the interpreter's
 * sse_int_lanes computes for each the reference. */
static const struct {
    uint8_t opc, op;
    const char *name;
} sse_ops[] = {
    {0x60, I_PUNPCKLBW, "punpcklbw"}, {0x61, I_PUNPCKLWD, "punpcklwd"},
    {0x62, I_PUNPCKLDQ, "punpckldq"}, {0x6c, I_PUNPCKLQDQ, "punpcklqdq"},
    {0x68, I_PUNPCKHBW, "punpckhbw"}, {0x69, I_PUNPCKHWD, "punpckhwd"},
    {0x6a, I_PUNPCKHDQ, "punpckhdq"}, {0x6d, I_PUNPCKHQDQ, "punpckhqdq"},
    {0x63, I_PACKSSWB, "packsswb"},   {0x6b, I_PACKSSDW, "packssdw"},
    {0x67, I_PACKUSWB, "packuswb"},   {0x74, I_PCMPEQB, "pcmpeqb"},
    {0x75, I_PCMPEQW, "pcmpeqw"},     {0x76, I_PCMPEQD, "pcmpeqd"},
    {0x64, I_PCMPGTB, "pcmpgtb"},     {0x65, I_PCMPGTW, "pcmpgtw"},
    {0x66, I_PCMPGTD, "pcmpgtd"},     {0xfc, I_PADDB, "paddb"},
    {0xfd, I_PADDW, "paddw"},         {0xfe, I_PADDD, "paddd"},
    {0xd4, I_PADDQ, "paddq"},         {0xf8, I_PSUBB, "psubb"},
    {0xf9, I_PSUBW, "psubw"},         {0xfa, I_PSUBD, "psubd"},
    {0xfb, I_PSUBQ, "psubq"},         {0xec, I_PADDSB, "paddsb"},
    {0xed, I_PADDSW, "paddsw"},       {0xdc, I_PADDUSB, "paddusb"},
    {0xdd, I_PADDUSW, "paddusw"},     {0xe8, I_PSUBSB, "psubsb"},
    {0xe9, I_PSUBSW, "psubsw"},       {0xd8, I_PSUBUSB, "psubusb"},
    {0xd9, I_PSUBUSW, "psubusw"},     {0xd5, I_PMULLW, "pmullw"},
    {0xe5, I_PMULHW, "pmulhw"},       {0xe4, I_PMULHUW, "pmulhuw"},
    {0xf4, I_PMULUDQ, "pmuludq"},     {0xf5, I_PMADDWD, "pmaddwd"},
    {0xf6, I_PSADBW, "psadbw"},       {0xe0, I_PAVGB, "pavgb"},
    {0xe3, I_PAVGW, "pavgw"},         {0xda, I_PMINUB, "pminub"},
    {0xde, I_PMAXUB, "pmaxub"},       {0xea, I_PMINSW, "pminsw"},
    {0xee, I_PMAXSW, "pmaxsw"},       {0xdb, I_PAND, "pand"},
    {0xdf, I_PANDN, "pandn"},         {0xeb, I_POR, "por"},
    {0xef, I_PXOR, "pxor"},           {0xd1, I_PSRLW, "psrlw"},
    {0xd2, I_PSRLD, "psrld"},         {0xd3, I_PSRLQ, "psrlq"},
    {0xe1, I_PSRAW, "psraw"},         {0xe2, I_PSRAD, "psrad"},
    {0xf1, I_PSLLW, "psllw"},         {0xf2, I_PSLLD, "pslld"},
    {0xf3, I_PSLLQ, "psllq"},
};
#define NSSE_OPS (sizeof(sse_ops) / sizeof(sse_ops[0]))

/* The shifts by an immediate: 66 0F opc /sub ib. */
static const struct {
    uint8_t opc, sub, op;
    const char *name;
} sse_shifts[] = {
    {0x71, 2, I_PSRLW, "psrlw"}, {0x71, 4, I_PSRAW, "psraw"}, {0x71, 6, I_PSLLW, "psllw"},
    {0x72, 2, I_PSRLD, "psrld"}, {0x72, 4, I_PSRAD, "psrad"}, {0x72, 6, I_PSLLD, "pslld"},
    {0x73, 2, I_PSRLQ, "psrlq"}, {0x73, 3, I_PSRLDQ, "psrldq"}, {0x73, 6, I_PSLLQ, "psllq"},
    {0x73, 7, I_PSLLDQ, "pslldq"},
};

/* want xmm d = op(d, s) as the interpreter computes it (s read before d
 * changes: they may be one register). */
static void want_lanes(struct tcase *c, unsigned op, unsigned d, const emu_xmm *s)
{
    emu_xmm dv, sv = *s;
    memcpy(&dv, c->x_in[d], 16);
    sse_int_lanes(op, &dv, &sv, 16);
    memcpy(c->x_want[d], &dv, 16);
}

static uint8_t shift_count(void)
{
    static const uint8_t counts[] = {0, 1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 0xff};
    return rnd() & 1 ? counts[rnd() % sizeof(counts)] : (uint8_t)rnd();
}

/* MOVDQU loads and stores with every register and base, the integer
 * operations (every pair of registers for some, random pairs for all),
 * the shifts by an immediate, PSHUFD/HW/LW and PMOVMSKB. */
static void test_sse(void)
{
    group_begin("x_movdqu_load, x_movdqu_store, x_sse_op, x_sse_shift_imm, x_pshuf, x_pmovmskb");
    unsigned n = 0;
    for (unsigned x = 0; x < 16; x++)
        for (unsigned base = 0; base < 16; base++)
            for (unsigned st = 0; st < 2; st++, n++) {
                int32_t disp = disps[n % NDISPS];
                struct tcase *c = st ? case_begin("movdqu [%s + %d], xmm%u", names[base], disp, x)
                                     : case_begin("movdqu xmm%u, [%s + %d]", x, names[base], disp);
                point(c, base, disp);
                if (st) {
                    memcpy(c->mem_want + MEM_AT, c->x_in[x], 16);
                    x_movdqu_store(&jb, x, base, disp);
                } else {
                    memcpy(c->x_want[x], c->mem_in + MEM_AT, 16);
                    x_movdqu_load(&jb, x, base, disp);
                }
                case_end(c);
            }
    for (unsigned k = 0; k < NSSE_OPS; k++)
        for (unsigned t = 0; t < 64; t++) {
            bool every = k % 8 == 0; /* all 256 pairs for some */
            unsigned d = every ? t / 16 * 4 + (unsigned)(rnd() % 4) : (unsigned)(rnd() % 16);
            unsigned s = every ? t % 16 : (unsigned)(rnd() % 16);
            struct tcase *c = case_begin("%s xmm%u, xmm%u", sse_ops[k].name, d, s);
            emu_xmm sv;
            memcpy(&sv, c->x_in[s], 16);
            want_lanes(c, sse_ops[k].op, d, &sv);
            x_sse_op(&jb, sse_ops[k].opc, d, s);
            case_end(c);
        }
    for (unsigned k = 0; k < sizeof(sse_shifts) / sizeof(sse_shifts[0]); k++)
        for (unsigned x = 0; x < 16; x++)
            for (unsigned t = 0; t < 4; t++) {
                uint8_t count = shift_count();
                struct tcase *c = case_begin("%s xmm%u, %u", sse_shifts[k].name, x, count);
                emu_xmm cv = {.q = {count, 0}};
                want_lanes(c, sse_shifts[k].op, x, &cv);
                x_sse_shift_imm(&jb, sse_shifts[k].opc, sse_shifts[k].sub, x, count);
                case_end(c);
            }
    static const uint8_t shuf_pfx[] = {0x66, 0xf3, 0xf2};
    static const char *const shuf_names[] = {"pshufd", "pshufhw", "pshuflw"};
    for (unsigned d = 0; d < 16; d++)
        for (unsigned s = 0; s < 16; s++) {
            unsigned k = (d + s) % 3;
            uint8_t imm = (uint8_t)rnd();
            struct tcase *c = case_begin("%s xmm%u, xmm%u, %#x", shuf_names[k], d, s, imm);
            emu_xmm sv, r;
            memcpy(&sv, c->x_in[s], 16);
            r = sv;
            for (unsigned i = 0; i < 4; i++) {
                unsigned sel = (imm >> (2 * i)) & 3;
                if (k == 0)
                    r.d[i] = sv.d[sel];
                else if (k == 1)
                    r.w[4 + i] = sv.w[4 + sel];
                else
                    r.w[i] = sv.w[sel];
            }
            memcpy(c->x_want[d], &r, 16);
            x_pshuf(&jb, shuf_pfx[k], d, s, imm);
            case_end(c);
        }
    for (unsigned r = 0; r < 16; r++)
        for (unsigned x = 0; x < 16; x++) {
            struct tcase *c = case_begin("pmovmskb %s, xmm%u", names[r], x);
            uint64_t m = 0;
            for (unsigned i = 0; i < 16; i++)
                m |= (uint64_t)(c->x_in[x][i] >> 7) << i;
            c->want[r] = m;
            x_pmovmskb(&jb, r, x);
            case_end(c);
        }
    group_end();
}

/* PCMPISTRI/PCMPESTRI with imm8 as the host runs them from C (the
 * reference): ECX and CF, ZF, SF, OF (AF and PF clear). */
#define STR_OUT "=c"(*idx), "=@ccc"(cf), "=@ccz"(zf), "=@ccs"(sf), "=@cco"(of)
#define STR_REF(i)                                                                      \
    case i:                                                                             \
        if (explicit)                                                                   \
            __asm__("pcmpestri $" #i ", %[b], %[a]"                                     \
                    : STR_OUT : [a] "x"(a), [b] "x"(b), "a"(la), "d"(lb));               \
        else                                                                            \
            __asm__("pcmpistri $" #i ", %[b], %[a]" : STR_OUT : [a] "x"(a), [b] "x"(b)); \
        break;

static void str_ref(bool explicit, unsigned imm, const uint8_t *av, const uint8_t *bv,
                    uint32_t la, uint32_t lb, uint64_t *idx, uint64_t *fl)
{
    __m128i a, b;
    uint8_t cf = 0, zf = 0, sf = 0, of = 0;
    memcpy(&a, av, 16);
    memcpy(&b, bv, 16);
    switch (imm & 0x3f) { SSE_IMM64(STR_REF) }
    *fl = (cf ? F_CF : 0) | (zf ? F_ZF : 0) | (sf ? F_SF : 0) | (of ? F_OF : 0);
}

/* PSHUFB with every pair of registers (the interpreter's lanes the
 * reference), PCMPxSTRI with random pairs and imm8 (32-bit lengths: the
 * host's own run from C the reference; REX.W with lengths whose upper
 * halves are 0 the same), PUSHFQ and POPFQ. */
static void test_ssse3_sse42(void)
{
    group_begin("x_pshufb, x_pcmpstr, x_pushf, x_popf");
    for (unsigned d = 0; d < 16; d++)
        for (unsigned s = 0; s < 16; s++) {
            struct tcase *c = case_begin("pshufb xmm%u, xmm%u", d, s);
            emu_xmm dv, sv;
            memcpy(&dv, c->x_in[d], 16);
            memcpy(&sv, c->x_in[s], 16);
            ssse3_lanes(S_PSHUFB, &dv, &sv, 16);
            memcpy(c->x_want[d], &dv, 16);
            x_pshufb(&jb, d, s);
            case_end(c);
        }
    for (unsigned k = 0; k < 1024; k++) {
        unsigned a = (unsigned)(rnd() % 16), b = (unsigned)(rnd() % 16);
        uint8_t imm = (uint8_t)(k & 0x3f);
        bool explicit = k & 0x40, w = explicit && (k & 0x80);
        uint8_t opc = explicit ? 0x61 : 0x63;
        struct tcase *c = case_begin("pcmp%cstri%s xmm%u, xmm%u, %#x", explicit ? 'e' : 'i',
                                     w ? " (REX.W)" : "", a, b, imm);
        set(c, X_RAX, rnd() % 20);
        set(c, X_RDX, rnd() % 20);
        uint64_t idx, fl;
        str_ref(explicit, imm, c->x_in[a], c->x_in[b], (uint32_t)c->in[X_RAX],
                (uint32_t)c->in[X_RDX], &idx, &fl);
        c->want[X_RCX] = idx;
        c->want[R_FLAGS] = (c->in[R_FLAGS] & ~(uint64_t)F_ARITH) | (fl & F_ARITH);
        x_pcmpstr(&jb, w, opc, a, b, imm);
        case_end(c);
    }
    for (unsigned r = 0; r < 16; r++) {
        if (r == X_RSP)
            continue;
        struct tcase *c = case_begin("pushfq; pop %s", names[r]);
        set(c, X_RSP, (uint64_t)(uintptr_t)(c->mem + 24)); /* the slot: mem[16..23] */
        c->want[r] = c->in[R_FLAGS];
        memcpy(c->mem_want + 16, &c->in[R_FLAGS], 8);
        x_pushf(&jb);
        x_pop(&jb, r);
        case_end(c);
        c = case_begin("push %s; popfq", names[r]);
        uint64_t v = 0x202 | (rnd() & F_ARITH);
        set(c, X_RSP, (uint64_t)(uintptr_t)(c->mem + 24));
        set(c, r, v);
        c->want[R_FLAGS] = v;
        memcpy(c->mem_want + 16, &v, 8);
        x_push(&jb, r);
        x_popf(&jb);
        case_end(c);
    }
    group_end();
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (jit_arena_init(&arena, 4u << 20)) {
        printf("FAIL: jit_x86: no code memory (%s)\n", strerror(errno));
        return 1;
    }
    crash_handler();
    jb = (struct jit_buf){code, code, code + sizeof(code), false, 0, 0, NULL};
    test_lea();
    test_byte_moves();
    test_setcc();
    test_load_store();
    test_mem_forms();
    test_atomic();
    test_alu();
    test_shifts();
    test_mem_idx();
    test_imul_mov_imm();
    test_sse();
    if ((jit_host_isa() & (JIT_ISA_SSSE3 | JIT_ISA_SSE42)) == (JIT_ISA_SSSE3 | JIT_ISA_SSE42))
        test_ssse3_sse42();
    else
        printf("SKIP: jit_x86: PSHUFB and PCMPxSTRI: the host lacks SSSE3 or SSE4.2\n");
    jit_arena_fini(&arena);
    TEST_EXIT();
}
#else
int main(void)
{
    SKIP("jit_x86", "the JIT's emitters are x86-64 only");
    return 0;
}
#endif
