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
 *
 * The stub loads the mode's data and stack segments and enters the
 * instruction with a far JMP to the mode's code segment (modes.h), so the
 * same layout runs 64-bit, 32-bit and 16-bit code. A signal in any mode
 * reaches the 64-bit handler, which sends the context back to the 64-bit
 * return stub with CS and SS of 64-bit user mode (sys_native.h).
 */
#ifndef HK_TESTS_CPU_NATIVE_H
#define HK_TESTS_CPU_NATIVE_H

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "modes.h"

#define CD_STATE (CD_BASE + 0x1000)
#define CD_CODE (CD_BASE + 0x4000)
#define CD_INSN (CD_CODE + 0x800)
#define CD_DATA (CD_BASE + 0x8000)
#define CD_DATA_RW 0x2000ull   /* writable bytes at CD_DATA */
#define CD_DATA_SIZE 0x3000ull /* then one read-only page */
#define CD_ST_SEGS (CD_STATE + 0x88) /* ES SS DS (u16), then the far pointer */
#define CD_ST_FAR (CD_STATE + 0x90) /* m16:32: offset of CD_INSN, code selector */
#define CD_SAVED_RSP (CD_STATE + 0x100)
#define CD_RETURN (CD_CODE + 0xf00) /* return stub; branch targets stay below */

/* Architected state in and out; vector -1 means no exception. */
struct cd_state {
    uint64_t gpr[16]; /* rax rcx rdx rbx rsp rbp rsi rdi r8..r15 */
    uint64_t rip, rflags;
    int vector;
    uint32_t error;
    uint64_t cr2;
    uint16_t sreg[6]; /* ES CS SS DS FS GS selectors */
};

static volatile sig_atomic_t cd_armed;
static struct cd_state cd_caught;
static uint64_t cd_insn_end; /* an INT3 trap here is the instruction's own */
static uint64_t cd_code_base; /* of the mode's code segment: RIP is an offset */

#include "sys_native.h"

/* Entered through cd_sig_entry (sys_native.h), which restored FS. */
__attribute__((used)) static void cd_on_signal(int sig, siginfo_t *si, void *ucv)
{
    /* Linux enters the handler with the interrupted RFLAGS.AC (it clears
     * only TF and DF): clear it before C code can make a misaligned access
     * (traps.h runs cases with AC set). */
    __asm__ volatile("pushfq\n\tandq $-0x40001, (%%rsp)\n\tpopfq" ::: "memory", "cc");
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
    cd_sys_capture(ucv, cd_caught.sreg);
    if (sig == SIGTRAP && cd_caught.vector == 3 && cd_caught.rip + cd_code_base != cd_insn_end) {
        /* a sled INT3: no exception (the instruction's own #BP, from INT3
         * or INT 3 under test, traps with RIP at its end) */
        cd_caught.vector = -1;
        cd_caught.rip -= 1;
    }
    cd_armed = 0;
    ucontext_t *uc = ucv;
    greg_t *w = uc->uc_mcontext.gregs;
    w[REG_RIP] = (greg_t)CD_RETURN;
    w[REG_EFL] = 0x202; /* DF, TF, AC clear for the C code */
    /* cd_sys_capture put 64-bit CS and Linux's SS in the frame; without
     * UC_STRICT_RESTORE_SS (clear when the signal came from 32-bit or
     * 16-bit code) the kernel could keep another valid SS. */
    uc->uc_flags |= 0x4; /* UC_STRICT_RESTORE_SS */
}

/* mov sreg, [abs32]: ModRM reg picks the segment (0 ES, 2 SS, 3 DS). */
static uint8_t *cd_emit_load_seg(uint8_t *p, unsigned sreg, uint64_t addr)
{
    uint32_t a = (uint32_t)addr;
    *p++ = 0x8e, *p++ = (uint8_t)(sreg << 3 | 4), *p++ = 0x25;
    memcpy(p, &a, 4);
    return p + 4;
}

/* Entry stub: save the callee-saved registers and RSP, load ES, SS, DS,
 * RSP -> the input RFLAGS, POPFQ, load all 16 registers with absolute
 * moves (RSP last), far JMP to the instruction in the mode's code
 * segment. */
static void cd_emit_stub(uint8_t *p)
{
    static const uint8_t save[] = {0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57};
    uint32_t st = (uint32_t)CD_STATE, saved = (uint32_t)CD_SAVED_RSP;
    uint32_t fl = st + 16 * 8;
    memcpy(p, save, sizeof(save)), p += sizeof(save); /* push rbx rbp r12-r15 */
    *p++ = 0x48, *p++ = 0x89, *p++ = 0x24, *p++ = 0x25; /* mov [saved], rsp */
    memcpy(p, &saved, 4), p += 4;
    p = cd_emit_load_seg(p, 0, CD_ST_SEGS);
    p = cd_emit_load_seg(p, 2, CD_ST_SEGS + 2);
    p = cd_emit_load_seg(p, 3, CD_ST_SEGS + 4);
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
    uint32_t far = (uint32_t)CD_ST_FAR;
    *p++ = 0xff, *p++ = 0x2c, *p++ = 0x25; /* jmp far [far] (m16:32) */
    memcpy(p, &far, 4);
}

/* Return stub: the C stack back, callee-saved registers popped, RET. */
static void cd_emit_return(uint8_t *p)
{
    static const uint8_t restore[] = {0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c,
                                      0x5d, 0x5b, 0xc3}; /* pop r15-r12 rbp rbx; ret */
    static const uint8_t clear_nt[] = {0x9c, 0x48, 0x81, 0x24, 0x24, 0xff, 0xbf, 0xff, 0xff,
                                       0x9d}; /* pushfq; and qword [rsp], ~0x4000; popfq */
    uint32_t saved = (uint32_t)CD_SAVED_RSP;
    *p++ = 0x48, *p++ = 0x8b, *p++ = 0x24, *p++ = 0x25; /* mov rsp, [saved] */
    memcpy(p, &saved, 4), p += 4;
    /* Linux's sigreturn keeps the NT an IRET popped (it is not among the
     * flags a signal context restores): NT would stay set in the
     * tester's own code, and its next IRETQ (traps.h) would #GP. */
    memcpy(p, clear_nt, sizeof(clear_nt)), p += sizeof(clear_nt);
    memcpy(p, restore, sizeof(restore));
}

static int cd_map(uint64_t addr, uint64_t size, int prot)
{
    void *p = mmap((void *)addr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                   -1, 0);
    return p == (void *)addr ? 0 : -1;
}

/* True when the first 64 KiB hold nothing: 16-bit addresses in flat
 * 32-bit code reach only them, so such an access must fault on the host.
 * Each page is reserved inaccessible here, or below vm.mmap_min_addr. */
static bool cd_low_free;

static void cd_reserve_low(void)
{
    cd_low_free = true;
    for (uint64_t a = 0x1000; a < 0x10000; a += 0x1000)
        if (cd_map(a, 0x1000, PROT_NONE) && errno != EPERM && errno != EACCES)
            cd_low_free = false; /* something lives there */
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
    cd_reserve_low();
    memset((void *)CD_CODE, 0xcc, 0x1000);
    cd_emit_stub((uint8_t *)CD_CODE);
    cd_emit_return((uint8_t *)CD_RETURN);
    static uint8_t altstack[65536];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
    if (sigaltstack(&ss, NULL))
        return -1;
    if (cd_sys_native_init())
        return -1;
    struct sigaction sa = {.sa_sigaction = cd_sig_entry, .sa_flags = SA_SIGINFO | SA_ONSTACK};
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
    cd_insn_end = CD_INSN + (uint64_t)len;
}

static void cd_native_run(const struct cd_mode *m, const struct cd_state *in, const uint8_t *data,
                          struct cd_state *out)
{
    uint64_t *st = (uint64_t *)CD_STATE;
    memcpy(st, in->gpr, sizeof(in->gpr));
    st[16] = in->rflags;
    uint16_t *segs = (uint16_t *)CD_ST_SEGS;
    segs[0] = m->sel[0], segs[1] = m->sel[2], segs[2] = m->sel[3];
    uint32_t off = (uint32_t)(CD_INSN - m->base);
    memcpy((void *)CD_ST_FAR, &off, 4);
    memcpy((uint8_t *)CD_ST_FAR + 4, &m->sel[1], 2);
    cd_code_base = m->base;
    memcpy((void *)CD_DATA, data, CD_DATA_RW);
    cd_armed = 1;
    ((void (*)(void))(uintptr_t)CD_CODE)(); /* returns through the handler */
    *out = cd_caught;
}

#endif
