/*
 * The host side of the differential tester: run one instruction on the real
 * CPU from a given register and memory state, and capture what it did.
 *
 * Everything lives in one 64 KiB reservation at a fixed low address, so the
 * emulator can map the same linear addresses and pointer values in
 * registers mean the same thing in both worlds:
 *   CD_STATE   the input registers the entry stub loads
 *   CD_CODE    entry stub, then INT3 everywhere except the instruction at
 *              CD_INSN: falling through or branching lands on an INT3
 *   CD_DATA    two writable pages and one read-only page; the pages on
 *              either side are inaccessible
 * The result is captured by a signal handler (on its own stack, so RSP may
 * hold anything): SIGTRAP from the INT3 after the instruction, or the fault
 * the instruction raised. The kernel's ucontext gives all registers, the
 * vector (trapno), the error code and CR2. The handler then points the
 * context at a return stub that restores the C stack and returns from the
 * entry stub, so the run ends with an ordinary return: no longjmp out of a
 * signal handler (which also keeps ASan from rescanning the stack).
 */
#ifndef HK_TESTS_CPU_NATIVE_H
#define HK_TESTS_CPU_NATIVE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#define CD_BASE 0x10000000ull
#define CD_SIZE 0x10000ull
#define CD_STATE (CD_BASE + 0x1000)
#define CD_CODE (CD_BASE + 0x4000)
#define CD_INSN (CD_CODE + 0x800)
#define CD_DATA (CD_BASE + 0x8000)
#define CD_DATA_RW 0x2000ull   /* writable bytes at CD_DATA */
#define CD_DATA_SIZE 0x3000ull /* then one read-only page */
#define CD_SAVED_RSP (CD_STATE + 0x100)
#define CD_RETURN (CD_CODE + 0xf00) /* return stub; branch targets stay below */

/* Architected state in and out; vector -1 means no exception. */
struct cd_state {
    uint64_t gpr[16]; /* rax rcx rdx rbx rsp rbp rsi rdi r8..r15 */
    uint64_t rip, rflags;
    int vector;
    uint32_t error;
    uint64_t cr2;
};

static volatile sig_atomic_t cd_armed;
static struct cd_state cd_caught;

static void cd_on_signal(int sig, siginfo_t *si, void *ucv)
{
    (void)si;
    if (!cd_armed) { /* a real crash of the tester: let it happen */
        signal(sig, SIG_DFL);
        return;
    }
    static const int order[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                                  REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                  REG_R12, REG_R13, REG_R14, REG_R15};
    const greg_t *g = ((ucontext_t *)ucv)->uc_mcontext.gregs;
    for (int i = 0; i < 16; i++)
        cd_caught.gpr[i] = (uint64_t)g[order[i]];
    cd_caught.rip = (uint64_t)g[REG_RIP];
    cd_caught.rflags = (uint64_t)g[REG_EFL];
    cd_caught.vector = (int)g[REG_TRAPNO];
    cd_caught.error = (uint32_t)g[REG_ERR];
    cd_caught.cr2 = (uint64_t)g[REG_CR2];
    if (sig == SIGTRAP && cd_caught.vector == 3) { /* our INT3: no exception */
        cd_caught.vector = -1;
        cd_caught.rip -= 1;
    }
    cd_armed = 0;
    greg_t *w = ((ucontext_t *)ucv)->uc_mcontext.gregs;
    w[REG_RIP] = (greg_t)CD_RETURN;
    w[REG_EFL] = 0x202; /* DF, TF, AC clear for the C code */
}

/* Entry stub: save the callee-saved registers and RSP, RSP -> the input
 * RFLAGS, POPFQ, load all 16 registers with absolute moves (RSP last), JMP
 * to the instruction. */
static void cd_emit_stub(uint8_t *p)
{
    static const uint8_t save[] = {0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57};
    uint32_t st = (uint32_t)CD_STATE, saved = (uint32_t)CD_SAVED_RSP;
    uint32_t fl = st + 16 * 8;
    memcpy(p, save, sizeof(save)), p += sizeof(save); /* push rbx rbp r12-r15 */
    *p++ = 0x48, *p++ = 0x89, *p++ = 0x24, *p++ = 0x25; /* mov [saved], rsp */
    memcpy(p, &saved, 4), p += 4;
    *p++ = 0x48, *p++ = 0xc7, *p++ = 0xc4; /* mov rsp, imm32 */
    memcpy(p, &fl, 4), p += 4;
    *p++ = 0x9d; /* popfq */
    for (int i = 0; i < 16; i++) {
        int r = i < 15 ? (i < 4 ? i : i + 1) : 4; /* RSP last */
        uint32_t a = st + 8u * (unsigned)r;
        *p++ = (uint8_t)(0x48 | (r >> 3) << 2);
        *p++ = 0x8b, *p++ = (uint8_t)(((r & 7) << 3) | 4), *p++ = 0x25;
        memcpy(p, &a, 4), p += 4;
    }
    int32_t rel = (int32_t)(CD_INSN - (CD_CODE + (uint64_t)(p + 5 - (uint8_t *)CD_CODE)));
    *p++ = 0xe9;
    memcpy(p, &rel, 4);
}

/* Return stub: the C stack back, callee-saved registers popped, RET. */
static void cd_emit_return(uint8_t *p)
{
    static const uint8_t restore[] = {0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c,
                                      0x5d, 0x5b, 0xc3}; /* pop r15-r12 rbp rbx; ret */
    uint32_t saved = (uint32_t)CD_SAVED_RSP;
    *p++ = 0x48, *p++ = 0x8b, *p++ = 0x24, *p++ = 0x25; /* mov rsp, [saved] */
    memcpy(p, &saved, 4), p += 4;
    memcpy(p, restore, sizeof(restore));
}

static int cd_map(uint64_t addr, uint64_t size, int prot)
{
    void *p = mmap((void *)addr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                   -1, 0);
    return p == (void *)addr ? 0 : -1;
}

/* Map the fixed layout, write the stub, install the handlers. The
 * read-only page gets fixed random content that never changes. */
static int cd_native_init(const uint8_t *ro_page)
{
    if (cd_map(CD_BASE, CD_SIZE, PROT_NONE) || munmap((void *)CD_STATE, 0x1000) ||
        cd_map(CD_STATE, 0x1000, PROT_READ | PROT_WRITE) || munmap((void *)CD_CODE, 0x1000) ||
        cd_map(CD_CODE, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC) ||
        munmap((void *)CD_DATA, CD_DATA_SIZE) || cd_map(CD_DATA, CD_DATA_SIZE, PROT_READ | PROT_WRITE))
        return -1;
    memcpy((uint8_t *)CD_DATA + CD_DATA_RW, ro_page, 0x1000);
    if (mprotect((uint8_t *)CD_DATA + CD_DATA_RW, 0x1000, PROT_READ))
        return -1;
    memset((void *)CD_CODE, 0xcc, 0x1000);
    cd_emit_stub((uint8_t *)CD_CODE);
    cd_emit_return((uint8_t *)CD_RETURN);
    static uint8_t altstack[65536];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
    if (sigaltstack(&ss, NULL))
        return -1;
    struct sigaction sa = {.sa_sigaction = cd_on_signal, .sa_flags = SA_SIGINFO | SA_ONSTACK};
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
    for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigaction(sigs[i], &sa, NULL))
            return -1;
    return 0;
}

/* Place the instruction (the rest of the window stays INT3). */
static void cd_native_set_insn(const uint8_t *bytes, int len)
{
    memset((uint8_t *)CD_CODE + 0x100, 0xcc, CD_RETURN - CD_CODE - 0x100);
    memcpy((void *)CD_INSN, bytes, (size_t)len);
}

static void cd_native_run(const struct cd_state *in, const uint8_t *data, struct cd_state *out)
{
    uint64_t *st = (uint64_t *)CD_STATE;
    memcpy(st, in->gpr, sizeof(in->gpr));
    st[16] = in->rflags;
    memcpy((void *)CD_DATA, data, CD_DATA_RW);
    cd_armed = 1;
    ((void (*)(void))(uintptr_t)CD_CODE)(); /* returns through the handler */
    *out = cd_caught;
}

#endif
