/*
 * A host-differential harness that carries the whole FXSAVE state: x87
 * registers (and so MM registers), FCW/FSW/tags, MXCSR and XMM, besides
 * GPRs and RFLAGS. One instruction runs natively (FXRSTOR64 of the start
 * image, the instruction, FXSAVE64; faults caught by signal handlers with
 * the fault-time state from the signal frame) and in an emu CPU in 64-bit
 * mode at CPL 3 with paging, from the same state. Memory operands address a
 * 256-byte buffer that ends a page; the next page is a guard page on both
 * sides (PROT_NONE natively, not present in the emu's page tables), so
 * page faults and partial accesses compare too. Include once per program.
 */
#ifndef HK_TESTS_CPU_FX_HARNESS_H
#define HK_TESTS_CPU_FX_HARNESS_H

#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "accel/emu/emu.h"
#include "catch_faults.h"
#include "accel/emu/x87.h"
#include "core/guest_mem.h"

struct fx_state {
    uint8_t fx[512];   /* FXSAVE64 image */
    uint64_t gpr[16];  /* rsp (4) is not loaded */
    uint64_t rflags;
};

/* The native side: start image, result image, the host's own state. */
struct fx_nat {
    uint8_t fx_in[512], fx_out[512], host[512];
    uint64_t gpr[16], rflags, code;
};
_Static_assert(offsetof(struct fx_nat, gpr) == 1536 && offsetof(struct fx_nat, rflags) == 1664 &&
                   offsetof(struct fx_nat, code) == 1672,
               "fxh_native_run offsets");

void fxh_native_run(struct fx_nat *n);
__asm__(".text\n.p2align 4\n.globl fxh_native_run\nfxh_native_run:\n"
        "push %rbx\npush %rbp\npush %r12\npush %r13\npush %r14\npush %r15\n"
        "push %rdi\npush 1672(%rdi)\n"
        "fxsave64 1024(%rdi)\nfxrstor64 (%rdi)\n"
        "push 1664(%rdi)\npopfq\n"
        "mov 1536(%rdi),%rax\nmov 1544(%rdi),%rcx\nmov 1552(%rdi),%rdx\nmov 1560(%rdi),%rbx\n"
        "mov 1576(%rdi),%rbp\nmov 1584(%rdi),%rsi\nmov 1600(%rdi),%r8\nmov 1608(%rdi),%r9\n"
        "mov 1616(%rdi),%r10\nmov 1624(%rdi),%r11\nmov 1632(%rdi),%r12\nmov 1640(%rdi),%r13\n"
        "mov 1648(%rdi),%r14\nmov 1656(%rdi),%r15\nmov 1592(%rdi),%rdi\n"
        "call *(%rsp)\n"
        "xchg %rdi, 8(%rsp)\n"
        "mov %rax,1536(%rdi)\nmov %rcx,1544(%rdi)\nmov %rdx,1552(%rdi)\nmov %rbx,1560(%rdi)\n"
        "mov %rbp,1576(%rdi)\nmov %rsi,1584(%rdi)\nmov %r8,1600(%rdi)\nmov %r9,1608(%rdi)\n"
        "mov %r10,1616(%rdi)\nmov %r11,1624(%rdi)\nmov %r12,1632(%rdi)\nmov %r13,1640(%rdi)\n"
        "mov %r14,1648(%rdi)\nmov %r15,1656(%rdi)\n"
        "pushfq\npopq 1664(%rdi)\npushq $0x202\npopfq\n" /* AC off for the C code */
        "fxsave64 512(%rdi)\nfxrstor64 1024(%rdi)\n"
        "mov 8(%rsp),%rax\nmov %rax,1592(%rdi)\n"
        "add $16,%rsp\n"
        "pop %r15\npop %r14\npop %r13\npop %r12\npop %rbp\npop %rbx\nret\n");

#define FXH_BUF 256
#define FXH_G_PML4 0x1000ull
#define FXH_G_PDPT 0x2000ull
#define FXH_G_PD 0x3000ull
#define FXH_G_PT 0x4000ull
#define FXH_G_PAGE 0x20000ull                     /* the data page; 0x21000 is the guard */
#define FXH_G_BUF (FXH_G_PAGE + 4096 - FXH_BUF)
#define FXH_RAM 0x400000ull
#define FXH_CR0 0x80040033ull /* PG AM NE ET MP PE */

static struct fx_nat fxh_nat __attribute__((aligned(64)));
static uint8_t *fxh_code, *fxh_buf;              /* native code page, native buffer */
static struct guest_mem fxh_gmem;
static struct emu_vm fxh_evm;
static struct emu_cpu *fxh_cpu;

/* --- Native faults ------------------------------------------------------ */

struct fxh_fault {
    int vector;
    uint64_t error, addr;                /* error code, fault address (#PF) */
    uint8_t fx[512];
    uint64_t gpr[16], rflags;
};
static sigjmp_buf fxh_jmp;
static struct fxh_fault fxh_fault;

static void fxh_on_fault(int sig, siginfo_t *si, void *ctx)
{
    static const int greg[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                                 REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                 REG_R12, REG_R13, REG_R14, REG_R15};
    /* Linux enters the handler with the interrupted RFLAGS.AC: clear it
     * before C code can make a misaligned access. */
    __asm__ volatile("pushfq\n\tandq $-0x40001, (%%rsp)\n\tpopfq" ::: "memory", "cc");
    ucontext_t *uc = ctx;
    (void)sig;
    fxh_fault.vector = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
    fxh_fault.error = (uint64_t)uc->uc_mcontext.gregs[REG_ERR];
    fxh_fault.addr = (uint64_t)(uintptr_t)si->si_addr;
    memcpy(fxh_fault.fx, uc->uc_mcontext.fpregs, 512);
    for (int i = 0; i < 16; i++)
        fxh_fault.gpr[i] = (uint64_t)uc->uc_mcontext.gregs[greg[i]];
    fxh_fault.rflags = (uint64_t)uc->uc_mcontext.gregs[REG_EFL];
    siglongjmp(fxh_jmp, 1);
}

/* Run insn natively from s (rBX/rDI hold host addresses); s becomes the
 * state after, or at the fault. Returns -1 or the vector; *pf_off: the
 * #PF address relative to the buffer. */
static int fxh_native(struct fx_state *s, const uint8_t *insn, int len, int64_t *pf_off)
{
    memcpy(fxh_code, insn, (size_t)len);
    fxh_code[len] = 0xc3;
    memcpy(fxh_nat.fx_in, s->fx, 512);
    memcpy(fxh_nat.gpr, s->gpr, sizeof(s->gpr));
    fxh_nat.rflags = s->rflags;
    fxh_nat.code = (uint64_t)(uintptr_t)fxh_code;
    if (sigsetjmp(fxh_jmp, 1) == 0) {
        fxh_native_run(&fxh_nat);
        memcpy(s->fx, fxh_nat.fx_out, 512);
        memcpy(s->gpr, fxh_nat.gpr, sizeof(s->gpr));
        s->rflags = fxh_nat.rflags;
        return -1;
    }
    __asm__ volatile("fxrstor64 %0" : : "m"(fxh_nat.host)); /* the host's own state */
    memcpy(s->fx, fxh_fault.fx, 512);
    memcpy(s->gpr, fxh_fault.gpr, sizeof(s->gpr));
    s->rflags = fxh_fault.rflags;
    *pf_off = (int64_t)(fxh_fault.addr - (uint64_t)(uintptr_t)fxh_buf);
    return fxh_fault.vector;
}

/* --- The emu side ----------------------------------------------------------- */

/* CPL 3 like the native side, so #PF error codes and #AC (CR0.AM with
 * RFLAGS.AC) compare too. */
static void fxh_emu_reset(void)
{
    struct emu_cpu *c = fxh_cpu;
    emu_cpu_reset(c);
    c->cr0 = FXH_CR0;
    c->cr3 = FXH_G_PML4;
    c->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    c->efer = EFER_LME | EFER_LMA;
    c->seg[SEG_CS] = (struct emu_segment){0, 0xffffffff, 0x2b, 0xa0fb};
    for (int s = 0; s < 6; s++)
        if (s != SEG_CS)
            c->seg[s] = (struct emu_segment){0, 0xffffffff, 0x33, 0xc0f3};
    c->cpl = 3;
    emu_update_mode(c);
    emu_tlb_flush(c);
}

static void fxh_get16(const uint8_t *p, uint16_t *v) { memcpy(v, p, 2); }

static void fxh_to_emu(const uint8_t *fx, struct emu_fpu *f)
{
    fxh_get16(fx, &f->fcw);
    fxh_get16(fx + 2, &f->fsw);
    f->ftw = fx[4];
    fxh_get16(fx + 6, &f->fop);
    memcpy(&f->fip, fx + 8, 8);
    memcpy(&f->fdp, fx + 16, 8);
    memcpy(&f->mxcsr, fx + 24, 4);
    unsigned top = (f->fsw >> 11) & 7;
    for (unsigned k = 0; k < 8; k++)
        memcpy(f->st_raw[(top + k) & 7], fx + 32 + 16 * k, 10);
    memcpy(f->xmm, fx + 160, 256);
}

static void fxh_from_emu(const struct emu_fpu *f, uint8_t *fx)
{
    memcpy(fx, &f->fcw, 2);
    memcpy(fx + 2, &f->fsw, 2);
    fx[4] = f->ftw;
    memcpy(fx + 6, &f->fop, 2);
    memcpy(fx + 8, &f->fip, 8);
    memcpy(fx + 16, &f->fdp, 8);
    memcpy(fx + 24, &f->mxcsr, 4);
    unsigned top = (f->fsw >> 11) & 7;
    for (unsigned k = 0; k < 8; k++)
        memcpy(fx + 32 + 16 * k, f->st_raw[(top + k) & 7], 10);
    memcpy(fx + 160, f->xmm, 256);
}

/* Run insn in the emu from s (rBX/rDI hold guest addresses). Returns -1,
 * the exception vector, or -2 (the decoded length differs, which only #UD
 * may leave unnoticed) / -3 (exit). */
static int fxh_emu(struct fx_state *s, const uint8_t *insn, int len, uint64_t cr0, uint64_t cr4,
                   uint32_t *error, int64_t *pf_off)
{
    static struct accel_exit ex;
    struct emu_cpu *c = fxh_cpu;
    fxh_emu_reset();
    c->cr0 = cr0;
    c->cr4 = cr4;
    memcpy(c->gpr, s->gpr, sizeof(c->gpr));
    emu_set_rflags(c, s->rflags);
    fxh_to_emu(s->fx, &c->fpu);
    c->exit = &ex;
    c->exc.vector = -1;
    struct emu_insn in;
    int dlen = emu_decode(c, insn, len, &in);
    if (dlen <= 0)
        return -2;
    int st = in.fn(c, &in);
    if (dlen != len && !(st == EMU_FAULT && c->exc.vector == EXC_UD))
        return -2;
    memcpy(s->gpr, c->gpr, sizeof(c->gpr));
    s->rflags = emu_rflags(c);
    fxh_from_emu(&c->fpu, s->fx);
    *error = c->exc.error;
    *pf_off = (int64_t)(c->cr2 - FXH_G_BUF);
    if (st == EMU_FAULT)
        return c->exc.vector;
    return st == EMU_OK ? -1 : -3;
}

/* --- Set-up ------------------------------------------------------------------ */

static bool fxh_init(void)
{
    fxh_code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                    -1, 0);
    uint8_t *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (fxh_code == MAP_FAILED || pages == MAP_FAILED || mprotect(pages + 4096, 4096, PROT_NONE))
        return false;
    fxh_buf = pages + 4096 - FXH_BUF;
    fxh_cpu = calloc(1, sizeof(*fxh_cpu));
    if (!fxh_cpu || gmem_init(&fxh_gmem, FXH_RAM) != 0)
        return false;
    fxh_evm.mem = &fxh_gmem;
    fxh_cpu->vm = &fxh_evm;
    uint64_t *pml4 = gmem_ptr_for_write(&fxh_gmem, FXH_G_PML4, 4096);
    uint64_t *pdpt = gmem_ptr_for_write(&fxh_gmem, FXH_G_PDPT, 4096);
    uint64_t *pd = gmem_ptr_for_write(&fxh_gmem, FXH_G_PD, 4096);
    uint64_t *pt = gmem_ptr_for_write(&fxh_gmem, FXH_G_PT, 4096);
    pml4[0] = FXH_G_PDPT | 7; /* present, writable, user */
    pdpt[0] = FXH_G_PD | 7;
    pd[0] = FXH_G_PT | 7;
    for (uint64_t i = 0; i < 512; i++)
        pt[i] = i * 4096 | 7;
    pt[(FXH_G_PAGE >> 12) + 1] = 0; /* the guard page */
    catch_faults(fxh_on_fault);
    return true;
}

#endif
