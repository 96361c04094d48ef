/*
 * The host-differential harness shared by test_sse.c and test_sse4.c: one
 * instruction runs natively (in an executable page, state loaded from and
 * stored to a struct state, faults caught by signal handlers) and in an emu
 * CPU from the same XMM, GPR, RFLAGS, MXCSR and memory state. Also the
 * random inputs both draw from: FP edge values, random GPRs and MXCSR.
 * Include once per test program; main() installs on_fault and maps
 * code_page and gmem (see sse_harness_init).
 */
#ifndef HK_TESTS_CPU_SSE_HARNESS_H
#define HK_TESTS_CPU_SSE_HARNESS_H

#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <xmmintrin.h>

#include "accel/emu/emu.h"
#include "catch_faults.h"
#include "accel/emu/sse.h"
#include "core/guest_mem.h"
#include "../unit/xorshift.h"
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
    return xorshift64(&rng);
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
    printf("  %s: vector %d mxcsr %#x rflags %#llx rax %#llx rcx %#llx rdx %#llx r8 %#llx\n",
           who, vec, s->mxcsr, (unsigned long long)s->rflags, (unsigned long long)s->gpr[0],
           (unsigned long long)s->gpr[1], (unsigned long long)s->gpr[2],
           (unsigned long long)s->gpr[8]);
    for (int i = 0; i < 16; i++)
        if (i <= 2 || i == 9 || i == 10)
            printf("  %s: xmm%d %016llx%016llx\n", who, i, (unsigned long long)s->xmm[i].q[1],
                   (unsigned long long)s->xmm[i].q[0]);
}

/* One random case; returns false (after printing it) on a mismatch. */

/* Run insn from state in natively and in the emu, memory from host_buf
 * (rBX and rDI point at it on each side); returns false, after printing
 * both sides, when results, flags, memory or faults differ. */
static bool sse_diff(const char *name, const uint8_t *insn, int len, const struct state *in)
{
    struct state s = *in, nat, emu;
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
    printf("  %s: bytes", name);
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

/* Map the code page and guest memory, catch the native side's faults.
 * Returns false on failure. */
static bool sse_harness_init(void)
{
    code_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    if (code_page == MAP_FAILED || gmem_init(&gmem, 1 << 20) != 0)
        return false;
    evm.mem = &gmem;
    catch_faults(on_fault);
    return true;
}

#endif
