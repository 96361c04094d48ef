/*
 * SSE/SSE2 in the emu CPU against the host CPU: every form runs natively
 * (one instruction in an executable page, state loaded from and stored to
 * a struct) and in an emu CPU from the same XMM, GPR, RFLAGS, MXCSR and
 * memory state; results, flags, memory and faults must agree. Inputs come
 * from edge values (signed zeros, denormals, infinities, quiet and
 * signalling NaNs, integer-conversion limits) and random bits, under
 * random rounding, FTZ and DAZ, with some SIMD exceptions unmasked.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <xmmintrin.h>

#include "accel/emu/emu.h"
#include "accel/emu/sse.h"
#include "core/guest_mem.h"
#include "test.h"

struct state {
    uint64_t gpr[16];  /* offset 0 */
    emu_xmm xmm[16];   /* 128 */
    uint32_t mxcsr;    /* 384 */
    uint32_t pad;
    uint64_t rflags;   /* 392 */
};

/* Load state from rdi, call the code at rsi, store state back. */
void sse_native_run(struct state *s, const void *code);
__asm__(".text\n.globl sse_native_run\nsse_native_run:\n"
        "push %rbx\npush %rbp\npush %r12\npush %r13\npush %r14\npush %r15\n"
        "push %rdi\npush %rsi\n"
        "ldmxcsr 384(%rdi)\n"
#define X(n) "movdqu " #n "*16+128(%rdi), %xmm" #n "\n"
        X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#undef X
        "push 392(%rdi)\npopfq\n"
        "mov 0(%rdi),%rax\nmov 8(%rdi),%rcx\nmov 16(%rdi),%rdx\nmov 24(%rdi),%rbx\n"
        "mov 40(%rdi),%rbp\nmov 48(%rdi),%rsi\nmov 64(%rdi),%r8\nmov 72(%rdi),%r9\n"
        "mov 80(%rdi),%r10\nmov 88(%rdi),%r11\nmov 96(%rdi),%r12\nmov 104(%rdi),%r13\n"
        "mov 112(%rdi),%r14\nmov 120(%rdi),%r15\nmov 56(%rdi),%rdi\n"
        "call *(%rsp)\n"
        "xchg %rdi, 8(%rsp)\n"
        "mov %rax,0(%rdi)\nmov %rcx,8(%rdi)\nmov %rdx,16(%rdi)\nmov %rbx,24(%rdi)\n"
        "mov %rbp,40(%rdi)\nmov %rsi,48(%rdi)\nmov %r8,64(%rdi)\nmov %r9,72(%rdi)\n"
        "mov %r10,80(%rdi)\nmov %r11,88(%rdi)\nmov %r12,96(%rdi)\nmov %r13,104(%rdi)\n"
        "mov %r14,112(%rdi)\nmov %r15,120(%rdi)\n"
        "pushfq\npop 392(%rdi)\nstmxcsr 384(%rdi)\n"
#define X(n) "movdqu %xmm" #n ", " #n "*16+128(%rdi)\n"
        X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#undef X
        "mov 8(%rsp), %rax\nmov %rax, 56(%rdi)\n"
        "add $16, %rsp\n"
        "pop %r15\npop %r14\npop %r13\npop %r12\npop %rbp\npop %rbx\nret\n");

#define BUF_SIZE 256
#define GUEST_BUF 0x8000ull
#define ARITH_FLAGS 0x8d5ull

static uint8_t *code_page;
static uint8_t host_buf[BUF_SIZE] __attribute__((aligned(64)));
static struct guest_mem gmem;
static struct emu_vm evm;
static struct emu_cpu cpu;

/* --- The native side, with faults caught -------------------------------- */

static sigjmp_buf fault_jmp;
static volatile int fault_vector;
static struct state fault_state;

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
    (void)si;
    ucontext_t *uc = ctx;
    fault_vector = sig == SIGILL ? EXC_UD : sig == SIGFPE ? EXC_XM : EXC_GP;
    fault_state.mxcsr = uc->uc_mcontext.fpregs->mxcsr;
    memcpy(fault_state.xmm, uc->uc_mcontext.fpregs->_xmm, sizeof(fault_state.xmm));
    siglongjmp(fault_jmp, 1);
}

/* Run natively; returns -1 or the exception vector (state then holds the
 * XMM registers and MXCSR at the fault). */
static int native_run(struct state *s, const uint8_t *insn, int len)
{
    memcpy(code_page, insn, (size_t)len);
    code_page[len] = 0xc3;
    fault_vector = -1;
    if (sigsetjmp(fault_jmp, 1) == 0)
        sse_native_run(s, code_page);
    _mm_setcsr(0x1f80);
    if (fault_vector >= 0) {
        s->mxcsr = fault_state.mxcsr;
        memcpy(s->xmm, fault_state.xmm, sizeof(s->xmm));
    }
    return fault_vector;
}

/* --- The emu side --------------------------------------------------------- */

static void emu_setup(uint64_t cr4)
{
    cpu.vm = &evm;
    emu_cpu_reset(&cpu);
    cpu.seg[SEG_CS].attr = 0x0b | 0x10 | 0x80 | 0x2000 | 0x8000; /* 64-bit code */
    cpu.seg[SEG_CS].selector = 0x08;
    cpu.cr0 = 0x33; /* PE MP ET NE, no paging: linear = physical */
    cpu.cr4 = cr4;
    cpu.efer = EFER_LME | EFER_LMA;
    emu_update_mode(&cpu);
}

static int emu_run1(struct state *s, const uint8_t *insn, int len)
{
    static struct accel_exit ex;
    memcpy(cpu.gpr, s->gpr, sizeof(cpu.gpr));
    memcpy(cpu.fpu.xmm, s->xmm, sizeof(cpu.fpu.xmm));
    cpu.fpu.mxcsr = s->mxcsr;
    emu_set_rflags(&cpu, s->rflags);
    cpu.exit = &ex;
    cpu.exc.vector = -1;
    struct emu_insn in;
    if (emu_decode(&cpu, insn, len, &in) != len)
        return -2;
    int st = in.fn(&cpu, &in);
    memcpy(s->gpr, cpu.gpr, sizeof(cpu.gpr));
    memcpy(s->xmm, cpu.fpu.xmm, sizeof(cpu.fpu.xmm));
    s->mxcsr = cpu.fpu.mxcsr;
    s->rflags = emu_rflags(&cpu);
    if (st == EMU_FAULT)
        return cpu.exc.vector;
    return st == EMU_OK ? -1 : -3;
}

/* --- Inputs ---------------------------------------------------------------- */

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const uint32_t f_edge[] = {
    0, 0x80000000, 0x3f800000, 0xbfc00000, 0x00000001, 0x807fffff, 0x00400000, 0x00800000,
    0x80800000, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc12345,
    0x7f800001, 0xff812345, 0x4effffff, 0x4f000000, 0xcf000000, 0xcf000001, 0x5effffff,
    0x5f000000, 0xdf000000, 0x3f000000, 0x3fc00000, 0x40200000, 0x0c000000, 0x73000000,
    0x00ffffff, 0x34000000, 0x1f800000,
};
static const uint64_t d_edge[] = {
    0, 0x8000000000000000, 0x3ff0000000000000, 0xbff8000000000000, 1, 0x800fffffffffffff,
    0x0008000000000000, 0x0010000000000000, 0x7fefffffffffffff, 0xffefffffffffffff,
    0x7ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000, 0xfff8000000012345,
    0x7ff0000000000001, 0xfff4000000012345, 0x41dfffffffc00000, 0x41e0000000000000,
    0xc1e0000000000000, 0xc1e0000000200000, 0x43e0000000000000, 0xc3e0000000000000,
    0x43dfffffffffffff, 0x3fe0000000000000, 0x3ff8000000000000, 0x4004000000000000,
    0x3800000000000000, 0x47efffffe0000000, 0x3690000000000000, 0x380fffffe0000000,
    0x36a0000000000000, 0x47f0000000000000,
};

enum kind { K_PS, K_PD, K_INT, K_SHIFT };

static uint32_t rnd_f(void)
{
    uint64_t r = rnd();
    if (r % 3 == 0)
        return f_edge[(r >> 8) % (sizeof(f_edge) / 4)];
    if (r % 3 == 1) { /* small exact-ish values: multiples of 1/8 */
        float f = (float)((int)((r >> 8) % 2001) - 1000) / 8.0f;
        uint32_t v;
        memcpy(&v, &f, 4);
        return v;
    }
    return (uint32_t)(r >> 16);
}

static uint64_t rnd_d(void)
{
    uint64_t r = rnd();
    if (r % 3 == 0)
        return d_edge[(r >> 8) % (sizeof(d_edge) / 8)];
    if (r % 3 == 1) {
        double f = (double)((int)((r >> 8) % 2001) - 1000) / 8.0;
        uint64_t v;
        memcpy(&v, &f, 8);
        return v;
    }
    return rnd();
}

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

static uint64_t rnd_gpr(void)
{
    static const uint64_t edge[] = {0, 1, ~0ull, 0x80000000, 0x7fffffff, 0x8000000000000000ull,
                                    0x7fffffffffffffffull, 0x1000001, 0x20000000000001ull};
    return rnd() % 3 ? rnd() >> (rnd() % 64) : edge[rnd() % 9];
}

static uint32_t rnd_mxcsr(bool unmask)
{
    uint32_t m = 0x1f80 | (uint32_t)(rnd() & 0xe07f); /* RC, FZ, DAZ, sticky flags */
    if (rnd() % 2)
        m &= ~MXCSR_FLAGS;
    if (unmask)
        m &= ~(uint32_t)((rnd() & 0x3f) << 7);
    return m;
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

static bool same_state(const struct state *a, const struct state *b, bool faulted)
{
    if (memcmp(a->xmm, b->xmm, sizeof(a->xmm)) || a->mxcsr != b->mxcsr)
        return false;
    if (faulted)
        return true;
    for (int i = 0; i < 16; i++)
        if (i != 3 && i != 4 && i != 7 && a->gpr[i] != b->gpr[i])
            return false;
    return (a->rflags & ARITH_FLAGS) == (b->rflags & ARITH_FLAGS);
}

static void dump(const char *who, const struct state *s, int vec)
{
    printf("  %s: vector %d mxcsr %#x rflags %#llx rax %#llx r8 %#llx\n", who, vec, s->mxcsr,
           (unsigned long long)s->rflags, (unsigned long long)s->gpr[0],
           (unsigned long long)s->gpr[8]);
    for (int i = 0; i < 16; i++)
        if (i == 1 || i == 2 || i == 9 || i == 10)
            printf("  %s: xmm%d %016llx%016llx\n", who, i, (unsigned long long)s->xmm[i].q[1],
                   (unsigned long long)s->xmm[i].q[0]);
}

/* One random case; returns false (after printing it) on a mismatch. */
static bool run_case(const struct form *f, bool unmask)
{
    uint8_t insn[16];
    static const int disps[] = {0, 0, 16, 32, 4, 8, 36};
    bool mem = rnd() % 2;
    bool rexw = (f->flags & F_W) && rnd() % 2;
    int disp = disps[rnd() % 7];
    int len = encode(f, insn, mem, rnd() % 4 == 0, rexw, disp);
    struct state s, nat, emu;
    random_state(f, &s, unmask);
    s.gpr[3] = s.gpr[7] = (uint64_t)(uintptr_t)host_buf;
    nat = s;
    uint8_t mem_in[BUF_SIZE];
    memcpy(mem_in, host_buf, BUF_SIZE);
    int nv = native_run(&nat, insn, len);
    uint8_t *gbuf = gmem_ptr_for_write(&gmem, GUEST_BUF, BUF_SIZE);
    memcpy(gbuf, mem_in, BUF_SIZE);
    emu = s;
    emu.gpr[3] = emu.gpr[7] = GUEST_BUF;
    emu_setup(CR4_OSFXSR | CR4_OSXMMEXCPT);
    int ev = emu_run1(&emu, insn, len);
    if (nv == ev && same_state(&nat, &emu, nv >= 0) && !memcmp(host_buf, gbuf, BUF_SIZE))
        return true;
    printf("  %s: bytes", f->name);
    for (int i = 0; i < len; i++)
        printf(" %02x", insn[i]);
    printf("  (mxcsr in %#x)\n", s.mxcsr);
    dump("in", &s, -1);
    dump("host", &nat, nv);
    dump("emu", &emu, ev);
    if (memcmp(host_buf, gbuf, BUF_SIZE))
        printf("  memory differs\n");
    return false;
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
    code_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    CHECK(code_page != MAP_FAILED, "sse test code page");
    CHECK_EQ(gmem_init(&gmem, 1 << 20), 0, "sse test guest memory");
    if (code_page == MAP_FAILED || test_failures)
        TEST_EXIT();
    evm.mem = &gmem;
    struct sigaction sa = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER};
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    test_system_checks();
    test_forms();
    TEST_EXIT();
}
