/*
 * The JIT against the interpreter (issue 12's lockstep gate): random
 * blocks of the native forms (MOV, ALU, TEST, INC/DEC, LEA, SHL/SHR/SAR
 * and ROL/ROR by a constant, IMUL, MOVZX/MOVSX/MOVSXD, CMOVcc and SETcc on
 * registers, TEST on words, CBW/CWDE/CDQE, MUL on registers, the byte
 * forms on AL..BH and the REX byte registers, MOV (8, 16, 32, 64 bits)
 * to and from memory and MOVZX/MOVSX/MOVSXD from it,
 * ALU/CMP/TEST/INC/DEC/MOV-immediate on memory, SETcc, XCHG and CMPXCHG
 * on memory (XCHG on registers too) and PUSH/POP with the TLB
 * probe inline (the data TLB sometimes empty), CALL and RET, JMP and
 * CALL through a register or memory ending the block, the SSE2 moves and
 * integer forms on XMM registers and memory,
 * aligned or not, across a page, with CR0.TS, CR0.EM or no CR4.OSFXSR
 * now and then) mixed with called ones (ADC/SBB, shifts and rotates by
 * CL, other 16-bit and byte forms, PUSH/POP of words, other SSE forms,
 * CLTS, a store into the block's own page,
 * a faulting load, an OUT that exits, HLT and Jcc as the last), each run
 * from the same random CPU state, lazy flags and XMM registers included,
 * through run_block (emu_run_block) and through its compiled code. RSP is
 * sometimes at a page edge, non-canonical, past RAM, or moved by POP RSP,
 * and the data TLB sometimes empty or RFLAGS.AC set, so the stack forms
 * take their slow paths too. Every GPR and XMM register, CR0, RIP, the
 * materialised RFLAGS, the lazy-flag
 * state, the instruction count, the status, the fault, the held
 * instruction, the exit and all of RAM must be the same. Crowded blocks
 * (more guest registers than the JIT's pool holds, memory forms from an
 * empty data TLB) and self loops (closed by a Jcc or a JMP to their own
 * start, their compiled code also called alone) are compared the same
 * way; floors fail the test when a path stops being exercised.
 */
#include <inttypes.h>

#include "accel/emu/exec.h"
#include "accel/emu/exec_fast.h"
#include "accel/emu/sse4.h"
#include "accel/emu/jit/jit.h"
#include "accel/emu/jit/jit_int.h"
#include "emu_fixture.h"
#include "test.h"
#include "xorshift.h"

#define RAM 0x40000ull
#define CODE 0x10000ull
#define DATA 0x20000ull   /* r15 points here */
#define STACK 0x2f800ull  /* RSP, most of the time */
#define STACK_LO 0x2e000ull /* the pages the stack's slots are filled in */
#define STACK_HI 0x31000ull
#define SMC (CODE + 0x800) /* the self-modifying store's target */
#define HIGH 0x7ffffffff000ull /* CODE's linear address once paged (page_high) */
#define PML4 0x3a000ull /* and the 5 tables after it */
#define LOW_PT 0x32000ull /* page_high's table for the low 2 MiB */
#define AFTER_DATA 0x33000ull /* where page_high maps the page after DATA's */
#define CASES 10000
#define PAGED_CASES 2000

static struct emu_fixture fx;
static struct emu_cpu cpu;
static bool calm; /* no faults or exits: the loop programs run to their HLT */
static bool regs_only; /* gen_native, gen_byte: register forms that never call (no
                        * memory or stack, CMOVcc/SETcc, ADC/SBB on bytes) */
static bool crowded; /* random blocks from gen_crowded_block, the data TLB empty */
static uint64_t code_at = CODE; /* CODE or HIGH */
static bool user_mode;          /* the cases run at CPL 3 (after supervisor reads) */

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
    return xorshift64(&rng);
}

static unsigned pick(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static uint64_t operand(void)
{
    static const uint64_t edges[] = {0,          1,          0x7f,       0x80,
                                     0xff,       0x7fffffff, 0x80000000, 0xffffffff,
                                     0x7fff,     0x8000,     0xff80,
                                     0x100000000ull, 0x7fffffffffffffffull,
                                     0x8000000000000000ull, 0xffffffffffffffffull};
    uint64_t r = rnd();
    return (r & 3) ? edges[(r >> 2) % (sizeof(edges) / sizeof(edges[0]))] + ((r >> 8) & 3) - 1
                   : rnd();
}

/* Registers the random forms may write: not R13 (a non-canonical
 * address, for the faulting load) or R15 (the data page), and RSP
 * rarely (the stack forms then fault or miss) and never when calm. */
static unsigned reg(void)
{
    static const unsigned ok[] = {0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 14};
    if (!calm && pick(64) == 0)
        return 4;
    return ok[pick(sizeof(ok) / sizeof(ok[0]))];
}

struct code {
    uint8_t b[2048]; /* a loop program: up to 6 x 20 instructions of up to 10 bytes */
    unsigned n, insns;
};

static void put(struct code *c, unsigned v)
{
    c->b[c->n++] = (uint8_t)v;
}

static void put32(struct code *c, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        put(c, (v >> (8 * i)) & 0xff);
}

/* [REX] opcode ModRM(register form). */
static void op_rr(struct code *c, bool w, unsigned opc, unsigned r, unsigned m)
{
    unsigned rex = 0x40 | (w ? 8 : 0) | (r >> 3) << 2 | (m >> 3);
    if (rex != 0x40 || pick(2))
        put(c, rex);
    if (opc > 0xff)
        put(c, opc >> 8);
    put(c, opc & 0xff);
    put(c, 0xc0 | (r & 7) << 3 | (m & 7));
}

/* A byte form on registers: without REX, 4-7 name AH..BH (all eight may
 * be written); with REX, only the registers reg() allows (4 is SPL). */
static void byte_rr(struct code *c, unsigned opc)
{
    unsigned r, m;
    if (pick(2)) {
        r = pick(8);
        m = pick(8);
    } else {
        r = reg();
        m = reg();
        put(c, 0x40 | (r >> 3) << 2 | (m >> 3));
    }
    if (opc > 0xff)
        put(c, opc >> 8);
    put(c, opc & 0xff);
    put(c, 0xc0 | (r & 7) << 3 | (m & 7));
}

/* ALU, TEST, CMP, MOV on byte registers, register or immediate. */
static void gen_byte(struct code *c)
{
    static const uint8_t imm8[] = {0, 1, 0x7f, 0x80, 0x81, 0xfe, 0xff};
    unsigned op = pick(8);
    switch (regs_only ? 1 + pick(5) : pick(6)) {
    case 0: byte_rr(c, op * 8 + (pick(2) ? 0 : 2)); return; /* ADC, SBB stay called */
    case 1: byte_rr(c, 0x80); c->b[c->n - 1] = (uint8_t)((c->b[c->n - 1] & 0xc7) | op << 3); break;
    case 2: put(c, op * 8 + 4); break; /* op AL, imm8 */
    case 3: /* TEST r/m8, r8 / imm8; TEST AL, imm8 */
        if (pick(3) == 0) {
            put(c, 0xa8);
        } else if (pick(2)) {
            byte_rr(c, 0x84);
            return;
        } else {
            byte_rr(c, 0xf6);
            c->b[c->n - 1] &= 0xc7;
        }
        break;
    case 4: byte_rr(c, pick(2) ? 0x88 : 0x8a); return;
    default: { /* MOV r8, imm8 */
        unsigned r = pick(2) ? pick(8) : reg();
        bool rex = r >= 8 || pick(2);
        if (rex)
            put(c, 0x40 | (r >> 3)); /* with REX: no AH..BH, and 4 is SPL */
        if (rex && r == 4)
            r = 5;
        put(c, 0xb0 + (r & 7));
        break;
    }
    }
    put(c, pick(2) ? imm8[pick(sizeof(imm8))] : pick(256));
}

/* MOVZX, MOVSX from a byte register (AH..BH without REX) or a word one,
 * to 32 or 64 bits. */
static void gen_movx(struct code *c)
{
    bool w = pick(3) == 0, word = pick(3) == 0;
    unsigned d = reg(), s = pick(16), opc = (pick(2) ? 0x0fb6 : 0x0fbe) + word;
    if (w || d >= 8 || s >= 8 || pick(2))
        put(c, 0x40 | (w ? 8 : 0) | (d >> 3) << 2 | (s >> 3));
    put(c, 0x0f);
    put(c, opc & 0xff);
    put(c, 0xc0 | (d & 7) << 3 | (s & 7));
}

/* An integer form on memory (jit_native_alu_mem.c's, and their called
 * neighbours), of 8, 16 (MOV native, the others called), 32 or 64 bits,
 * maybe LOCKed (the general executor): the operand in the data page at r15 + d8 (maybe FS:, maybe
 * 32-bit addressing), at an absolute address in it (no REX: AH..BH), or
 * rarely at r13 (non-canonical: #GP through the slow path). Before a
 * Jcc: a form that sets the flags the Jcc then reads. */
static void gen_alu_mem(struct code *c, bool before_jcc)
{
    static const unsigned flag_forms[] = {0, 1, 3, 4, 5, 8, 9};
    bool w = pick(2), byte = pick(3) == 0, word = !byte && pick(4) == 0;
    unsigned op = pick(8), r = reg(), opc, sub = r, imm = 0; /* imm: its bytes */
    if (word) /* 66: MOVs native, the rest called */
        w = false;
    switch (before_jcc ? flag_forms[pick(7)] : pick(10)) {
    case 0: opc = op * 8 + 3; break;             /* ALU r, [m] (ADC, SBB called) */
    case 1: opc = 0x39; break;                   /* CMP [m], r */
    case 2: opc = op * 8 + 1; break;             /* ALU [m], r */
    case 3: opc = 0x81; sub = op; imm = 4; break; /* ALU [m], imm32 */
    case 4: opc = 0x83; sub = op; imm = 1; break; /* ALU [m], imm8 */
    case 5: opc = 0xf7; sub = 0; imm = 4; break; /* TEST [m], imm */
    case 6: opc = 0xc7; sub = 0; imm = 4; break; /* MOV [m], imm */
    case 8: opc = 0x85; break;                   /* TEST [m], r */
    case 9: opc = 0xff; sub = pick(2); break;    /* INC, DEC [m] */
    default: opc = pick(2) ? 0x8b : 0x89; break; /* MOV r, [m] / [m], r */
    }
    if (byte) { /* 0x83 has no byte form: 0x80 */
        opc = opc == 0x83 ? 0x80 : opc - 1;
        imm = imm ? 1 : 0;
    }
    if (word && imm == 4)
        imm = 2;
    if (!(opc & 0xc0) && pick(16) == 0 && opc != 0x38 && opc != 0x39 && (opc & 6) == 0)
        put(c, 0xf0); /* LOCK: the general executor */
    if (word)
        put(c, 0x66);
    if (!calm && pick(24) == 0) { /* [r13 + d8]: #GP */
        put(c, 0x49 | (r >> 3) << 2);
        put(c, opc);
        put(c, 0x45 | (sub & 7) << 3);
        put(c, pick(16) * 8);
    } else if (pick(3) == 0) { /* [DATA + d32], no base: byte registers 4-7 are AH..BH */
        if (byte)
            sub &= 7;
        if (w && !byte)
            put(c, 0x48 | (sub >> 3) << 2);
        else if (sub >= 8)
            put(c, 0x44);
        put(c, opc);
        put(c, 0x04 | (sub & 7) << 3);
        put(c, 0x25);
        put32(c, (uint32_t)DATA + 0x200 + pick(0xdf8)); /* not the loops' counter */
    } else {
        if (pick(4) == 0)
            put(c, 0x64); /* FS base 0 in the fixture: the same address */
        if (pick(4) == 0)
            put(c, 0x67); /* r15d: the same address */
        put(c, (w && !byte ? 0x49 : 0x41) | (sub >> 3) << 2);
        put(c, opc);
        put(c, 0x40 | (sub & 7) << 3 | 7);
        put(c, pick(128)); /* unaligned too; stays in the data page */
    }
    uint32_t v = (uint32_t)operand();
    for (unsigned k = 0; k < imm; k++) /* imm8, imm16 or imm32 */
        put(c, (v >> (8 * k)) & 0xff);
}


/* SETcc, XCHG (LOCK or not) and CMPXCHG (LOCK or not) on memory at 8,
 * 32 or 64 bits (jit_native_atomic.c's): at [r15 + d8] (maybe FS:, maybe
 * 32-bit addressing), at [rsp + d8], at an absolute address in the data
 * page (now and then across its end; no REX: AH..BH), RIP-relative (the
 * data page, or the page before the code's when paged; rarely the code's
 * own page, decoded code: the slow path), or rarely [r13] (#GP); and
 * XCHG between registers. Before a Jcc: CMPXCHG, whose flags it reads. */
static void gen_atomic(struct code *c, bool before_jcc)
{
    bool w = pick(2), byte = pick(4) == 0;
    unsigned r = reg(), kind = before_jcc ? 2 : pick(5), opc;
    if (kind == 4) { /* XCHG r, r */
        if (byte)
            byte_rr(c, 0x86);
        else
            op_rr(c, w, 0x87, r, reg());
        return;
    }
    if (kind == 0) { /* SETcc: 0F 90+cc /0 */
        byte = true;
        r = 0;
        opc = 0x0f90 + pick(16);
    } else {
        opc = kind == 1 ? 0x87 : 0x0fb1;
        opc -= byte;
        if (pick(kind == 1 ? 4 : 2) == 0)
            put(c, 0xf0); /* LOCK */
    }
    unsigned size = byte ? 1 : w ? 8 : 4, mode = pick(8);
    unsigned rex = 0x40 | (w && !byte ? 8 : 0) | (r >> 3) << 2;
    if (byte && mode == 3)
        r &= 7; /* no REX below: 4-7 are AH..BH */
    if (!calm && mode == 0) { /* [r13 + d8]: #GP */
        put(c, rex | 1);
    } else if (mode == 1) { /* FS:, 67 */
        if (pick(2))
            put(c, 0x64);
        if (pick(2))
            put(c, 0x67);
        put(c, rex | 1);
    } else if (mode == 3) { /* absolute, no REX when it need not */
        if (rex != 0x40)
            put(c, rex);
    } else {
        put(c, rex | (mode == 2 || mode == 4 ? 0 : 1));
    }
    if (opc > 0xff)
        put(c, opc >> 8);
    put(c, opc & 0xff);
    unsigned rr = (r & 7) << 3;
    if (!calm && mode == 0) {
        put(c, 0x45 | rr);
        put(c, pick(16) * 8);
    } else if (mode == 2) { /* [rsp + d8] */
        put(c, 0x44 | rr);
        put(c, 0x24);
        put(c, pick(128));
    } else if (mode == 3) { /* [DATA + d32]: across the page's end now and then */
        put(c, 0x04 | rr);
        put(c, 0x25);
        put32(c, (uint32_t)DATA + (pick(4) ? 0x200 + pick(0xdf8) : 0x1000 - size + pick(size)));
    } else if (mode == 4) { /* RIP-relative */
        put(c, 0x05 | rr);
        uint64_t next = code_at + c->n + 4; /* the block starts at code_at */
        uint64_t to = !calm && pick(8) == 0 ? code_at + 0x800 + pick(64)
                      : code_at == CODE ? DATA + 0x200 + pick(0xdf8)
                                        : HIGH - 0x800 + pick(0x700);
        put32(c, (uint32_t)(to - next));
    } else { /* [r15 + d8] */
        put(c, 0x47 | rr);
        put(c, pick(128));
    }
}

/* The SSE memory operand's encoding after the opcode (ModRM with reg,
 * then SIB and displacement), the prefixes before it in pre[] (FS, 67)
 * and REX.B in rex_b: [r15 + d8] in the data page, 16-byte aligned or
 * not (misaligned when the form need not be aligned, or sometimes when
 * not calm: #GP), across the data page's end, at an absolute address in
 * it, RIP-relative (the code page), or rarely [r13] (non-canonical:
 * #GP). */
struct sse_mem {
    uint8_t pre[2], npre, b[8], n;
    bool rex_b;
};

static unsigned sse_crossing; /* memory operands across a page generated */

static struct sse_mem sse_mem(unsigned reg, unsigned size, bool aligned, bool load)
{
    struct sse_mem m = {.npre = 0, .n = 0, .rex_b = false};
    bool misalign = !aligned || (!calm && pick(4) == 0);
    unsigned r = (reg & 7) << 3;
    if (pick(6) == 0)
        m.pre[m.npre++] = 0x64; /* FS base 0 in the fixture: the same address */
    /* RIP-relative: misaligned as RIP is, and a store there writes the
     * block's own page (neither when calm, but for loads that need not
     * be aligned) */
    switch (pick(!calm || (load && !aligned) ? 9 : 8)) {
    case 0: { /* across the data page's end, or its last bytes */
        uint32_t d = 0x1000 - size + (misalign ? 1 + pick(size) : 0);
        sse_crossing += d + size > 0x1000;
        m.rex_b = true;
        m.b[m.n++] = (uint8_t)(0x80 | r | 7);
        memcpy(m.b + m.n, &d, 4);
        m.n += 4;
        return m;
    }
    case 1: { /* [DATA + d32], no base */
        uint32_t d = (uint32_t)DATA + 0x200 + 16 * pick(0xd0) + (misalign ? pick(16) : 0);
        m.b[m.n++] = (uint8_t)(0x04 | r);
        m.b[m.n++] = 0x25;
        memcpy(m.b + m.n, &d, 4);
        m.n += 4;
        return m;
    }
    case 2:
        if (!calm && pick(3) == 0) { /* [r13 + d8]: non-canonical */
            m.rex_b = true;
            m.b[m.n++] = (uint8_t)(0x40 | r | 5);
            m.b[m.n++] = (uint8_t)(16 * pick(8));
            return m;
        }
        break;
    case 8: { /* [rip + d32]: in the code page (or the page before) */
        uint32_t d = (uint32_t)(pick(256) - 128);
        m.b[m.n++] = (uint8_t)(0x05 | r);
        memcpy(m.b + m.n, &d, 4);
        m.n += 4;
        return m;
    }
    default:
        break;
    }
    if (pick(4) == 0)
        m.pre[m.npre++] = 0x67; /* r15d: the same address */
    m.rex_b = true; /* [r15 + d8]: 0..0x8f, not the loops' counter */
    m.b[m.n++] = (uint8_t)(0x40 | r | 7);
    m.b[m.n++] = (uint8_t)(16 * pick(8) + (misalign && pick(2) ? 1 + pick(15) : 0));
    return m;
}

/* [pre] [pfx] [REX] 0F opc ModRM...: reg the XMM (or general) register in
 * ModRM.reg; the r/m operand a register (rm >= 0) or memory of size
 * bytes (aligned: it must be, for the form). */
static void sse_form(struct code *c, unsigned pfx, bool w, unsigned opc, unsigned reg, int rm,
                     unsigned size, bool aligned, bool load)
{
    struct sse_mem m = {.npre = 0};
    if (rm < 0)
        m = sse_mem(reg, size, aligned, load);
    for (unsigned i = 0; i < m.npre; i++)
        put(c, m.pre[i]);
    if (pfx)
        put(c, pfx);
    unsigned b = rm >= 0 ? (unsigned)rm >> 3 : m.rex_b;
    unsigned rex = 0x40 | (w ? 8 : 0) | (reg >> 3) << 2 | b;
    if (rex != 0x40 || pick(4) == 0)
        put(c, rex);
    put(c, 0x0f);
    if (opc > 0xff)
        put(c, opc >> 8);
    put(c, opc & 0xff);
    if (rm >= 0) {
        put(c, 0xc0 | (reg & 7) << 3 | ((unsigned)rm & 7));
    } else {
        for (unsigned i = 0; i < m.n; i++)
            put(c, m.b[i]);
    }
}

/* An XMM register or memory (half the time) for the r/m operand. */
static int sse_rm(void)
{
    return pick(2) ? (int)pick(16) : -1;
}

/* PCMPESTRM/ESTRI/ISTRM/ISTRI (66 0F 3A 60-63) xmm, xmm/m128 (any
 * alignment), imm8 (any: every data format, aggregation, polarity and
 * index end), REX.W sometimes (64-bit lengths); the explicit forms'
 * lengths in RAX and RDX, sometimes set right before (small, negative,
 * past 16, with upper bits). */
static void gen_str_cmp(struct code *c, unsigned opc, unsigned imm)
{
    static const uint32_t lens[] = {0, 1, 5, 7, 8, 9, 15, 16, 17, 0xfffffff8u, 0xfffffff0u,
                                    0xffffffefu, 0x80000000u, 0x7fffffff};
    for (unsigned r = 0; r < 2 && opc < 0x62; r++) {
        if (pick(3))
            continue;
        if (pick(2))
            put(c, 0x48); /* MOV r64, simm32 (C7 /0) */
        else
            put(c, 0x40); /* MOV r32, imm32 (C7 /0, a 32-bit one zero-extends) */
        put(c, 0xc7);
        put(c, 0xc0 | (r ? 2 : 0));
        put32(c, lens[pick(sizeof(lens) / sizeof(lens[0]))]);
        c->insns++;
    }
    sse_form(c, 0x66, pick(2), 0x3a00 | opc, pick(16), sse_rm(), 16, false, true);
    put(c, imm);
}

/* The SSE2 forms jit_native_sse.c makes native (moves, integer
 * operations, shifts by an immediate, PSHUF*, PMOVMSKB, MOVD/MOVQ),
 * PSHUFB and the string compares (native when the host has them), and
 * now and then a called neighbour (MOVSS, PSHUFB's MMX form, an MMX
 * PCMPEQB) or CLTS. */
static void gen_sse(struct code *c)
{
    static const uint8_t int_ops[] = {
        0x74, 0x74, 0xef, 0xef, 0xda, 0xda, 0xeb, 0xdb, 0xdf, 0xf8, 0xfc, 0x60, 0x61, 0x75,
        0x76, 0x62, 0x6c, 0x68, 0x69, 0x6a, 0x6d, 0x63, 0x6b, 0x67, 0x64, 0x65, 0x66, 0xfd,
        0xfe, 0xd4, 0xf9, 0xfa, 0xfb, 0xec, 0xed, 0xdc, 0xdd, 0xe8, 0xe9, 0xd8, 0xd9, 0xd5,
        0xe5, 0xe4, 0xf4, 0xf5, 0xf6, 0xe0, 0xe3, 0xde, 0xea, 0xee, 0xd1, 0xd2, 0xd3, 0xe1,
        0xe2, 0xf1, 0xf2, 0xf3};
    unsigned x = pick(16);
    bool w = pick(2);
    switch (pick(14)) {
    case 12: /* PSHUFB xmm, xmm/m128 (aligned) */
        sse_form(c, 0x66, w, 0x3800, x, sse_rm(), 16, true, true);
        break;
    case 13:
        gen_str_cmp(c, 0x60 + pick(4), pick(256));
        break;
    case 0:
    case 1: { /* MOVDQA/MOVDQU (66/F3 0F 6F, 7F), MOVAPS/MOVAPD, MOVUPS/MOVUPD (0F 28/29, 10/11) */
        static const unsigned pfx[] = {0x66, 0xf3, 0, 0x66, 0, 0x66};
        static const unsigned ld[] = {0x6f, 0x6f, 0x28, 0x28, 0x10, 0x10};
        unsigned k = pick(6);
        bool store = pick(2), aligned = k == 0 || k == 2 || k == 3;
        sse_form(c, pfx[k], false, ld[k] + (store ? (k < 2 ? 0x10 : 1) : 0), x, sse_rm(), 16,
                 aligned, !store);
        break;
    }
    case 2:
    case 3:
    case 4: /* 66 0F integer operations */
        sse_form(c, 0x66, false, int_ops[pick(sizeof(int_ops))], x, sse_rm(), 16, true, true);
        break;
    case 5: /* ANDPS ANDNPS ORPS XORPS (and PD), UNPCKLPS/HPS (PD) */
        sse_form(c, pick(2) ? 0x66 : 0, false, pick(4) ? 0x54 + pick(4) : 0x14 + pick(2), x,
                 sse_rm(), 16, true, true);
        break;
    case 6: { /* 66 0F 71-73 /n ib (the undefined /n too: #UD), a memory one #UD */
        static const uint8_t ext[] = {2, 4, 6, 2, 4, 6, 2, 3, 6, 7};
        unsigned k = pick(10), opc = 0x71 + (k < 3 ? 0 : k < 6 ? 1 : 2);
        unsigned n = calm || pick(16) ? ext[k] : pick(8);
        sse_form(c, 0x66, false, opc, n, calm || pick(16) ? (int)x : -1, 16, false, true);
        static const uint8_t counts[] = {0, 1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 0xff};
        put(c, pick(2) ? counts[pick(sizeof(counts))] : pick(256));
        break;
    }
    case 7: /* PSHUFD, PSHUFHW, PSHUFLW */
        sse_form(c, (const unsigned[]){0x66, 0xf3, 0xf2}[pick(3)], false, 0x70, x, sse_rm(), 16,
                 true, true);
        put(c, pick(256));
        break;
    case 8: /* PMOVMSKB r32, xmm */
        sse_form(c, 0x66, w, 0xd7, reg(), (int)x, 16, false, true);
        break;
    case 9: /* MOVD/MOVQ xmm, r/m32/64 and back */
        if (pick(2))
            sse_form(c, 0x66, w, 0x6e, x, pick(2) ? (int)pick(16) : -1, w ? 8 : 4, false, true);
        else
            sse_form(c, 0x66, w, 0x7e, x, pick(2) ? (int)reg() : -1, w ? 8 : 4, false, false);
        break;
    case 10: /* MOVQ xmm, xmm/m64 (F3 0F 7E); MOVQ xmm/m64, xmm (66 0F D6) */
        if (pick(2))
            sse_form(c, 0xf3, false, 0x7e, x, sse_rm(), 8, false, true);
        else
            sse_form(c, 0x66, false, 0xd6, x, sse_rm(), 8, false, false);
        break;
    default: /* called: MOVSS, MMX PSHUFB, MMX PCMPEQB; CLTS (#GP at CPL 3) */
        switch (pick(calm ? 3 : 4)) {
        case 0: sse_form(c, 0xf3, false, 0x10, x, sse_rm(), 4, false, true); break;
        case 1: sse_form(c, 0, false, 0x3800, x & 7, (int)pick(8), 8, false, true); break;
        case 2: sse_form(c, 0, false, 0x74, x & 7, (int)pick(8), 8, false, true); break;
        default:
            put(c, 0x0f);
            put(c, 0x06);
            break;
        }
        break;
    }
}

/* The bit forms jit_native_bits.c makes native: SHL/SHR/SAR r, CL (CL
 * set to an edge count first, half the time), BSF/BSR r, r (the source
 * zeroed first, now and then; F3, TZCNT's encoding, is BSF here), BT r,
 * imm8 and, when mem, BT [m], imm8 (sse_mem's operands); now and then a
 * 16-bit one, called. */
static void gen_bits(struct code *c, bool mem)
{
    bool w = pick(2), word = pick(8) == 0;
    unsigned r = reg(), s = reg();
    switch (pick(mem ? 5 : 3)) {
    case 0: { /* SHL, SHR, SAR r, CL */
        static const uint8_t counts[] = {0, 1, 31, 32, 33, 63, 64, 0xff};
        static const unsigned sub[] = {4, 5, 7};
        if (pick(2)) { /* MOV CL, imm8 */
            put(c, 0xb1);
            put(c, counts[pick(sizeof(counts))]);
            c->insns++;
        }
        if (word)
            put(c, 0x66);
        op_rr(c, w, 0xd3, sub[pick(3)], r);
        break;
    }
    case 1: /* BSF, BSR r, r */
        if (pick(3) == 0) { /* XOR s, s: a zero source */
            op_rr(c, pick(2), 0x31, s, s);
            c->insns++;
        }
        if (pick(4) == 0)
            put(c, 0xf3);
        if (word)
            put(c, 0x66);
        op_rr(c, w, pick(2) ? 0x0fbc : 0x0fbd, r, s);
        break;
    case 2: /* BT r, imm8 */
        if (word)
            put(c, 0x66);
        op_rr(c, w, 0x0fba, 4, r);
        put(c, pick(256));
        break;
    case 3: /* BT [rsp + d8], imm8 (glibc's btl $0xa, 0xc(%rsp)) */
        if (word)
            put(c, 0x66);
        if (w)
            put(c, 0x48);
        put(c, 0x0f);
        put(c, 0xba);
        put(c, 0x64);
        put(c, 0x24);
        put(c, 8 * pick(4) + (pick(4) ? 0 : pick(8)));
        put(c, pick(256));
        break;
    default: /* BT [m], imm8 */
        sse_form(c, word ? 0x66 : 0, w, 0xba, 4, -1, word ? 2 : w ? 8 : 4, false, true);
        put(c, pick(256));
        break;
    }
}

/* CBW, CWDE or CDQE (66 98, 98, 48 98). */
static void put_cbw(struct code *c)
{
    if (pick(3) == 0)
        put(c, 0x66);
    else if (pick(2))
        put(c, 0x48);
    put(c, 0x98);
}

/* A native form. */
static void gen_native(struct code *c)
{
    bool w = pick(2);
    unsigned op = pick(8);
    if (pick(regs_only ? 14 : 20) == 0) {
        gen_bits(c, !regs_only);
        return;
    }
    switch (regs_only ? pick(13) : pick(19)) {
    case 18: gen_atomic(c, false); break;
    case 17: gen_sse(c); break;
    case 15:
    case 16: gen_alu_mem(c, false); break;
    case 0: op_rr(c, w, pick(2) ? 0x89 : 0x8b, reg(), reg()); break;
    case 1: { /* MOV r, imm32 / r64, imm64 */
        unsigned r = reg();
        put(c, 0x40 | (w ? 8 : 0) | (r >> 3));
        put(c, 0xb8 + (r & 7));
        uint64_t v = operand();
        put32(c, (uint32_t)v);
        if (w)
            put32(c, (uint32_t)(v >> 32));
        break;
    }
    case 2: op_rr(c, w, (op == 2 || op == 3 ? 0 : op) * 8 + (pick(2) ? 1 : 3), reg(), reg()); break;
    case 3: /* ALU r, imm32 / imm8 */
        op_rr(c, w, pick(2) ? 0x81 : 0x83, op == 2 || op == 3 ? 7 : op, reg());
        if (c->b[c->n - 2] == 0x81)
            put32(c, (uint32_t)operand());
        else
            put(c, pick(256));
        break;
    case 4: /* ALU eAX, imm32 (ADC, SBB too) */
        if (w)
            put(c, 0x48);
        put(c, op * 8 + 5);
        put32(c, (uint32_t)operand());
        break;
    case 5: /* TEST r, r (words too) */
        if (pick(4) == 0) {
            put(c, 0x66);
            w = false;
        }
        op_rr(c, w, 0x85, reg(), reg());
        break;
    case 6: { /* TEST r, imm32 / imm16 */
        bool word = pick(4) == 0;
        if (word)
            put(c, 0x66);
        op_rr(c, w && !word, 0xf7, 0, reg());
        uint32_t v = (uint32_t)operand();
        for (unsigned k = 0; k < (word ? 2u : 4u); k++)
            put(c, (v >> (8 * k)) & 0xff);
        break;
    }
    case 7: op_rr(c, w, 0xff, pick(2), reg()); break;
    case 8: { /* LEA: base + index * scale + disp32, RIP-relative, 32-bit addressing */
        unsigned r = reg();
        if (pick(3) == 0)
            put(c, 0x67);
        if (pick(4) == 0) {
            put(c, 0x40 | (w ? 8 : 0) | (r >> 3) << 2);
            put(c, 0x8d);
            put(c, (r & 7) << 3 | 5);
        } else {
            unsigned base = pick(16), index = pick(16);
            if (index == 4)
                index = pick(2) ? 4 : 12; /* 4: none */
            put(c, 0x40 | (w ? 8 : 0) | (r >> 3) << 2 | (index >> 3) << 1 | (base >> 3));
            put(c, 0x8d);
            put(c, 0x80 | (r & 7) << 3 | 4);
            put(c, pick(4) << 6 | (index & 7) << 3 | (base & 7));
        }
        put32(c, (uint32_t)operand());
        break;
    }
    case 9: /* ROL, ROR by 1 or an immediate (edge counts: 0, the width, past it) */
        if (pick(3) == 0) {
            op_rr(c, w, 0xd1, pick(2), reg());
        } else {
            static const uint8_t counts[] = {0, 1, 2, 31, 32, 33, 63, 64, 65, 0xff};
            op_rr(c, w, 0xc1, pick(2), reg());
            put(c, pick(3) ? counts[pick(sizeof(counts))] : pick(256));
        }
        break;
    case 10: gen_byte(c); break;
    case 11: gen_movx(c); break;
    case 12: /* MOVSXD r64, r32; CBW, CWDE, CDQE; MUL r32 / r64 */
        switch (pick(3)) {
        case 0: op_rr(c, true, 0x63, reg(), pick(16)); break;
        case 1: put_cbw(c); break;
        default: op_rr(c, w, 0xf7, 4, pick(16)); break;
        }
        break;
    case 13: /* CMP or TEST, then CMOVcc or SETcc on its flags (or on another's) */
        if (pick(4)) {
            if (pick(2))
                op_rr(c, w, pick(2) ? 0x39 : 0x85, reg(), reg());
            else
                byte_rr(c, pick(2) ? 0x38 : 0x84);
        }
        if (pick(2))
            op_rr(c, w, 0x0f40 + pick(16), reg(), reg());
        else
            byte_rr(c, 0x0f90 + pick(16));
        break;
    case 14: { /* PUSH r (any, RSP too) / POP r (RSP too unless calm) */
        bool popping = pick(2);
        unsigned r = popping ? (pick(8) || calm ? reg() : 4) : pick(16);
        if (r >= 8 || pick(8) == 0)
            put(c, 0x40 | (r >> 3)); /* REX.W is ignored: still 64-bit */
        put(c, (popping ? 0x58 : 0x50) + (r & 7));
        break;
    }
    }
}

/* A form run by calling its executor. */
static void gen_called(struct code *c)
{
    bool w = pick(2);
    unsigned r = reg();
    switch (pick(13)) {
    case 0: /* ADC, SBB: r/m, r; r, r/m; r/m, imm32 / imm8; BSWAP */
        switch (pick(4)) {
        case 0: op_rr(c, w, (pick(2) ? 0x11 : 0x19) + pick(2) * 2, reg(), r); break;
        case 1:
            op_rr(c, w, 0x81, 2 + pick(2), r);
            put32(c, (uint32_t)operand());
            break;
        case 2:
            op_rr(c, w, 0x83, 2 + pick(2), r);
            put(c, pick(256));
            break;
        default: /* 0F C8+r */
            put(c, 0x40 | (w ? 8 : 0) | (r >> 3));
            put(c, 0x0f);
            put(c, 0xc8 + (r & 7));
            break;
        }
        break;
    case 1: { /* shifts and rotates by an immediate, 1 or CL */
        static const unsigned sub[] = {0, 1, 4, 5, 7};
        static const unsigned opc[] = {0xc1, 0xd1, 0xd3};
        unsigned o = opc[pick(3)];
        op_rr(c, w, o, sub[pick(5)], r);
        if (o == 0xc1)
            put(c, pick(70));
        break;
    }
    case 2: /* IMUL r, r / r, r, imm32 / r, r, imm8 */
        switch (pick(3)) {
        case 0: op_rr(c, w, 0x0faf, r, reg()); break;
        case 1: op_rr(c, w, 0x69, r, reg()); put32(c, (uint32_t)operand()); break;
        default: op_rr(c, w, 0x6b, r, reg()); put(c, pick(256)); break;
        }
        break;
    case 3: op_rr(c, w, 0xf7, 2 + pick(2), r); break; /* NOT, NEG */
    case 4: /* INC, DEC, NOT, NEG of a byte register */
        byte_rr(c, pick(2) ? 0xfe : 0xf6);
        c->b[c->n - 1] = (uint8_t)((c->b[c->n - 1] & 0xc7) | (pick(2) + (c->b[c->n - 2] == 0xf6 ? 2 : 0)) << 3);
        break;
    case 5:
        put(c, 0x66);
        op_rr(c, false, pick(8) * 8 + 1, reg(), r);
        break;
    case 6: byte_rr(c, (2 + pick(2)) * 8 + pick(2) * 2); break; /* ADC, SBB on bytes */
    case 7: { /* byte shifts and rotates: by 1, an immediate, CL */
        static const uint8_t shifts[] = {0xc0, 0xd0, 0xd2};
        byte_rr(c, shifts[pick(3)]);
        c->b[c->n - 1] = (uint8_t)((c->b[c->n - 1] & 0xc7) | pick(8) << 3);
        if (c->b[c->n - 2] == 0xc0)
            put(c, pick(20));
        break;
    }
    case 8: /* CMOVcc on words; MUL of a word or a byte */
        if (pick(3)) {
            put(c, 0x66);
            op_rr(c, false, 0x0f40 + pick(16), r, reg());
        } else if (pick(2)) {
            put(c, 0x66);
            op_rr(c, false, 0xf7, 4, reg());
        } else {
            byte_rr(c, 0xf6);
            c->b[c->n - 1] = (uint8_t)((c->b[c->n - 1] & 0xc7) | 4 << 3);
        }
        break;
    case 9: { /* MOV r, [r15 + d8] / MOV [r15 + d8], r: 8, 32 or 64 bits; MOVZX,
               * MOVSX r, byte or word [r15 + d8]; MOVSXD; maybe FS: */
        static const unsigned opc[] = {0x8b, 0x89, 0x8a, 0x88, 0x0fb6, 0x0fb7, 0x0fbe, 0x0fbf, 0x63};
        unsigned o = opc[pick(sizeof(opc) / sizeof(opc[0]))];
        bool byte = o == 0x8a || o == 0x88 || o == 0x0fb6 || o == 0x0fbe;
        if (byte && pick(2)) { /* [rsp + d8] without REX: AH..BH (stays in the stack page) */
            unsigned b = o == 0x8a || o == 0x88 ? pick(8) : (r & 7) == 4 ? 5 : r & 7;
            if (o > 0xff)
                put(c, o >> 8);
            put(c, o & 0xff);
            put(c, 0x44 | b << 3);
            put(c, 0x24);
            put(c, pick(256));
            break;
        }
        if (pick(4) == 0)
            put(c, 0x64); /* FS base 0 in the fixture: the same address */
        put(c, (w || o == 0x63 ? 0x49 : 0x41) | (r >> 3) << 2); /* byte: SPL..DIL, R8B..: r not 4 */
        if (o > 0xff)
            put(c, o >> 8);
        put(c, o & 0xff);
        put(c, 0x40 | (r & 7) << 3 | 7);
        put(c, pick(16) * 8 + (byte ? pick(8) : 0));
        break; /* 0..0x7f: stays in the data page */
    }
    case 10: /* PUSH r16 / POP r16: not specialised */
        put(c, 0x66);
        if (r >= 8)
            put(c, 0x41);
        put(c, (pick(2) ? 0x50 : 0x58) + (r & 7));
        break;
    case 11: /* MOV r, imm32 sign-extended: C7 on a register is not specialised */
        op_rr(c, true, 0xc7, 0, r);
        put32(c, (uint32_t)operand());
        break;
    case 12: /* rarer ways out (a third of the time: blocks get long too) */
        switch (pick(3) || calm ? 4 : pick(4)) {
        case 0: /* MOV [SMC], eax: writes the block's own page */
            put(c, 0x89);
            put(c, 0x04);
            put(c, 0x25);
            put32(c, (uint32_t)SMC);
            break;
        case 1: /* MOV eax, [r13]: #GP, r13 non-canonical */
            put(c, 0x41);
            put(c, 0x8b);
            put(c, 0x45);
            put(c, 0x00);
            break;
        case 2: /* OUT 0x80, al: a device exit */
            put(c, 0xe6);
            put(c, 0x80);
            break;
        case 3: /* UD2 */
            put(c, 0x0f);
            put(c, 0x0b);
            break;
        default: /* XCHG r, r */
            op_rr(c, w, 0x87, r, reg());
            break;
        }
        break;
    }
}

static bool all_native; /* gen_body: native forms only */
static bool sse_heavy;  /* gen_body: half of them SSE forms (as in glibc's string functions) */

static void gen_body(struct code *c, unsigned n)
{
    unsigned native_share = all_native ? 4 : pick(5); /* some blocks all native, some mostly called */
    for (unsigned i = 0; i < n; i++, c->insns++) {
        if (sse_heavy && pick(2))
            gen_sse(c);
        else if (pick(4) < native_share)
            gen_native(c);
        else
            gen_called(c);
    }
}

static bool rel8_last; /* gen_block ended the block with a Jcc or JMP rel8 */

/* A flag setter on registers (CMP, TEST, an ALU operation, INC/DEC; byte
 * ones too, AH..BH among them), for a Jcc to read. */
static void gen_flag_setter(struct code *c)
{
    bool w = pick(2);
    unsigned op = pick(8);
    switch (pick(5)) {
    case 0: op_rr(c, w, pick(2) ? 0x39 : 0x85, reg(), reg()); break; /* CMP, TEST */
    case 1: byte_rr(c, pick(2) ? 0x38 : 0x84); break;
    case 2: /* CMP or another ALU operation (not ADC, SBB) with an imm8 */
        op_rr(c, w, 0x83, op == 2 || op == 3 ? 7 : op, reg());
        put(c, pick(3) ? 0 : pick(256));
        break;
    case 3: op_rr(c, w, (op == 2 || op == 3 ? 7 : op) * 8 + 1, reg(), reg()); break;
    default: op_rr(c, w, 0xff, pick(2), reg()); break; /* INC, DEC */
    }
}

/* What a compare is often followed by before its Jcc: forms whose code
 * keeps the host's flags (jit_flags_neutral: MOVs of registers and
 * immediates, LEA, MOVZX/MOVSX, MOVSXD, BSWAP, NOT, CBW, NOPs), now and
 * then one whose code does not (LEA with 32-bit or RIP-relative
 * addressing, a rotate, NEG, a load, a called form). */
static void gen_between(struct code *c)
{
    bool w = pick(2);
    unsigned r = reg();
    switch (pick(14)) {
    case 0: op_rr(c, w, pick(2) ? 0x89 : 0x8b, r, reg()); break;
    case 1: byte_rr(c, pick(2) ? 0x88 : 0x8a); break;
    case 2: /* MOV r, imm32 / imm64; C7 /0 */
        if (pick(2)) {
            put(c, 0x40 | (w ? 8 : 0) | (r >> 3));
            put(c, 0xb8 + (r & 7));
            put32(c, (uint32_t)operand());
            if (w)
                put32(c, (uint32_t)operand());
        } else {
            op_rr(c, w, 0xc7, 0, r);
            put32(c, (uint32_t)operand());
        }
        break;
    case 3:
    case 4: { /* LEA d8(base, index, scale), 32-bit addressing now and then */
        unsigned base = pick(16), index = pick(16);
        if (index == 4)
            index = 12;
        if (pick(6) == 0)
            put(c, 0x67);
        put(c, 0x40 | (w ? 8 : 0) | (r >> 3) << 2 | (index >> 3) << 1 | (base >> 3));
        put(c, 0x8d);
        put(c, 0x40 | (r & 7) << 3 | 4);
        put(c, pick(4) << 6 | (pick(3) ? index & 7 : 4) << 3 | (base & 7));
        put(c, pick(256));
        break;
    }
    case 5: gen_movx(c); break;
    case 6: op_rr(c, true, 0x63, r, pick(16)); break; /* MOVSXD */
    case 7: /* BSWAP; NOT */
        if (pick(2)) {
            put(c, 0x40 | (w ? 8 : 0) | (r >> 3));
            put(c, 0x0f);
            put(c, 0xc8 + (r & 7));
        } else {
            op_rr(c, w, 0xf7, 2, r);
        }
        break;
    case 8: /* CBW, CWDE, CDQE */
        put_cbw(c);
        break;
    case 9: /* NOP; NOP dword [rax + d8] */
        if (pick(2)) {
            put(c, 0x90);
        } else {
            put(c, 0x0f);
            put(c, 0x1f);
            put(c, 0x40);
            put(c, pick(256));
        }
        break;
    case 10: { /* LEA r, [rip + d32] */
        put(c, 0x40 | (w ? 8 : 0) | (r >> 3) << 2);
        put(c, 0x8d);
        put(c, (r & 7) << 3 | 5);
        put32(c, (uint32_t)operand());
        break;
    }
    case 11: /* ROL, ROR, NEG */
        if (pick(2)) {
            op_rr(c, w, 0xc1, pick(2), r);
            put(c, pick(70));
        } else {
            op_rr(c, w, 0xf7, 3, r);
        }
        break;
    case 12: /* MOV r, [r15 + d8] */
        put(c, (w ? 0x49 : 0x41) | (r >> 3) << 2);
        put(c, 0x8b);
        put(c, 0x40 | (r & 7) << 3 | 7);
        put(c, pick(16) * 8);
        break;
    default: gen_called(c); break;
    }
}

/* JMP or CALL through memory (FF /4, FF /2): the pointer (a random
 * operand or stack value: often canonical, else #GP) RIP-relative into
 * the data page (the code page at HIGH), at [r15 + d8] (maybe FS:, or
 * 32-bit addressing), [r15 + index * 8 + d8] (a random index: now and
 * then off the data page, or off RAM), on the stack around RSP (a CALL
 * pushing over the slot it read), or at a random register. */
static void gen_branch_mem(struct code *c)
{
    unsigned digit = pick(2) ? 2 : 4;
    switch (pick(5)) {
    case 0: { /* RIP-relative: [rip + disp32] */
        put(c, 0xff);
        put(c, digit << 3 | 5);
        uint64_t end = code_at + c->n + 4;
        uint64_t at = code_at == CODE ? DATA + 8 * pick(512) : code_at + 8 * pick(512);
        put32(c, (uint32_t)(at - end));
        break;
    }
    case 1: /* [r15 + d8], FS: or 32-bit addressing now and then */
        if (pick(4) == 0)
            put(c, 0x64);
        else if (pick(4) == 0)
            put(c, 0x67);
        put(c, 0x41);
        put(c, 0xff);
        put(c, 0x40 | digit << 3 | 7);
        put(c, pick(32) * 8 + (pick(8) ? 0 : pick(8)));
        break;
    case 2: { /* [r15 + index * 8 + d8] */
        unsigned index = reg();
        put(c, 0x41 | (index >> 3) << 1);
        put(c, 0xff);
        put(c, 0x40 | digit << 3 | 4);
        put(c, 3 << 6 | (index & 7) << 3 | 7);
        put(c, pick(256));
        break;
    }
    case 3: /* [rsp + d8]: -8, the slot a CALL pushes to, or above */
        put(c, 0xff);
        put(c, 0x40 | digit << 3 | 4);
        put(c, 0x24);
        put(c, pick(2) ? 0xf8 : 8 * pick(8));
        break;
    default: { /* [r], mostly a fault or past RAM */
        unsigned r = pick(16);
        if (r >= 8)
            put(c, 0x41);
        put(c, 0xff);
        put(c, ((r & 7) == 5 ? 0x40 : 0) | digit << 3 | ((r & 7) == 4 ? 4 : r & 7));
        if ((r & 7) == 4)
            put(c, 0x24);
        if ((r & 7) == 5)
            put(c, 0);
        break;
    }
    }
}

static void gen_block(struct code *c)
{
    c->n = c->insns = 0;
    rel8_last = false;
    sse_heavy = pick(10) == 0;
    gen_body(c, 1 + pick(40));
    sse_heavy = false;
    switch (pick(8)) {
    case 0:
    case 1:
        if (pick(3) == 0) { /* a flag-setting form on memory before it */
            if (pick(4))
                gen_alu_mem(c, true);
            else
                gen_atomic(c, true);
            c->insns++;
        } else if (pick(2)) { /* or on registers */
            gen_flag_setter(c);
            c->insns++;
        }
        for (unsigned k = pick(2) ? 1 + pick(3) : 0; k > 0; k--, c->insns++)
            gen_between(c); /* the flags kept in host RFLAGS across them */
        put(c, 0x70 + pick(16)); /* Jcc: ends the block, reads the flags */
        put(c, pick(256));
        rel8_last = true;
        break;
    case 2:
        put(c, 0xe8); /* CALL rel32: at HIGH, maybe past the canonical end */
        put32(c, code_at == HIGH && pick(2) ? 0xe00 + pick(0x300)
                 : pick(2)                  ? pick(256) - 128u
                                            : (uint32_t)operand());
        break;
    case 3:
        if (pick(2)) {
            put(c, 0xc3); /* RET */
        } else {
            put(c, 0xc2); /* RET imm16 */
            put(c, pick(2) ? 8 * pick(4) : pick(256));
            put(c, pick(4) ? 0 : pick(256));
        }
        break;
    case 4: /* JMP rel8 / rel32: at HIGH, maybe past the canonical end */
        if (pick(2)) {
            put(c, 0xeb);
            put(c, pick(256));
            rel8_last = true;
        } else {
            put(c, 0xe9);
            put32(c, code_at == HIGH && pick(2) ? 0xe00 + pick(0x300)
                     : pick(2)                  ? pick(0x2000) - 0x1000u
                                                : (uint32_t)operand());
        }
        break;
    case 5: { /* JMP or CALL through a register (FF /4, FF /2), REX.W or not:
               * to a random operand, often canonical, else #GP */
        unsigned r = pick(16);
        if (r >= 8 || pick(4) == 0)
            put(c, 0x40 | pick(2) << 3 | r >> 3);
        put(c, 0xff);
        put(c, 0xc0 | (pick(2) ? 2u : 4u) << 3 | (r & 7));
        break;
    }
    case 6: gen_branch_mem(c); break;
    default:
        put(c, 0xf4); /* HLT: EMU_END_BLOCK */
        break;
    }
}

/* random_block: this block rather than a generated one (NULL: none). */
static const struct code *given;

/* str_block's: the string compare (opcode, imm8) of the next block, or
 * none (opc 0). */
static unsigned str_opc, str_imm;

/* A string compare (str_opc, str_imm) on registers or memory, maybe
 * between SSE forms, then HLT (the flags seen at the end) or a Jcc on
 * them, or a SETcc and a called form. */
static void gen_str_block(struct code *c)
{
    c->n = c->insns = 0;
    rel8_last = false;
    if (pick(3) == 0) {
        gen_sse(c);
        c->insns++;
    }
    gen_str_cmp(c, str_opc, str_imm);
    c->insns++;
    switch (pick(3)) {
    case 0:
        put(c, 0x70 + pick(16));
        put(c, pick(256));
        rel8_last = true;
        break;
    case 1:
        put(c, 0x0f); /* SETcc AL */
        put(c, 0x90 + pick(16));
        put(c, 0xc0);
        put(c, 0xf4);
        break;
    default:
        put(c, 0xf4);
        break;
    }
}

/* MOV r, [r15 + d8] / MOV [r15 + d8], r at 32 or 64 bits: jit_native_mem's. */
static void gen_mov_mem(struct code *c)
{
    unsigned r = reg();
    put(c, (pick(2) ? 0x49 : 0x41) | (r >> 3) << 2);
    put(c, pick(2) ? 0x8b : 0x89);
    put(c, 0x40 | (r & 7) << 3 | 7);
    put(c, pick(16) * 8);
}

/* Register pressure: native register forms on all of reg()'s 13
 * registers (more than the JIT's pool of 6 holds: evictions, dirty ones
 * stored), NOT and NEG, and memory forms (SETcc, XCHG, CMPXCHG among
 * them), whose slow path (the data TLB empty at the start) must store
 * what the pool holds and load it back. */
static void gen_crowded(struct code *c)
{
    switch (pick(9)) {
    case 0: op_rr(c, pick(2), 0xf7, 2 + pick(2), reg()); break; /* NOT, NEG */
    case 1: gen_alu_mem(c, false); break;
    case 2:
    case 3: gen_mov_mem(c); break;
    case 4: { /* LEA r, [base + index * scale + disp32] of held registers */
        unsigned r = reg(), base = reg(), index = reg();
        put(c, 0x40 | (pick(2) ? 8 : 0) | (r >> 3) << 2 | (index >> 3) << 1 | (base >> 3));
        put(c, 0x8d);
        put(c, 0x84 | (r & 7) << 3);
        put(c, pick(4) << 6 | (index & 7) << 3 | (base & 7));
        put32(c, (uint32_t)operand());
        break;
    }
    case 5: gen_atomic(c, false); break; /* SETcc, XCHG, CMPXCHG */
    default: gen_native(c); break;
    }
}

static void gen_crowded_block(struct code *c)
{
    c->n = c->insns = 0;
    for (unsigned n = 10 + pick(30); n > 0; n--, c->insns++)
        gen_crowded(c);
    if (pick(2)) {
        gen_alu_mem(c, true);
        c->insns++;
        put(c, 0x70 + pick(16));
        put(c, pick(256));
    } else {
        put(c, 0xf4);
    }
}

/* A stack slot's random content: mostly an address in the stack's pages
 * (for POP RSP) or the code page (for RET), else past RAM, non-canonical
 * or anything. */
static uint64_t stack_value(void)
{
    switch (pick(6)) {
    case 0:
    case 1: return STACK_LO + (rnd() & 0x2ff8) + pick(2) * pick(8);
    case 2: return CODE + pick(4096);
    case 3: return 0x100000 + pick(4096);
    case 4: return 0x0000800000000000ull + pick(4096) - 2048;
    default: return operand();
    }
}

/* RSP for a case: most of the time STACK, else a slot across or at a
 * page edge, past RAM (not backed: the full path) or non-canonical. */
static uint64_t random_rsp(void)
{
    if (calm || pick(3))
        return STACK;
    if (code_at == HIGH && pick(2)) /* across HIGH - 0x1000 (0x2e000) and HIGH (CODE) */
        return pick(2) ? HIGH + 4 * pick(3) : HIGH + 0x1000 + 4 * pick(3); /* or the hole */
    switch (pick(5)) {
    case 0: return 0x2f000 + 4 * pick(5);   /* pushes into or across page 0x2e000 */
    case 1: return 0x30000 - 4 * pick(5);   /* pops across page 0x30000 */
    case 2: return 0x100000 + 8 * pick(8);  /* past RAM */
    case 3: return 0x0000800000000000ull + 8 * pick(4); /* non-canonical */
    default: return STACK_LO + (rnd() & 0x2fff);
    }
}

/* XMM registers: edge qwords, bytes of the edges (zero bytes for the
 * string functions' compares), or a copy of another (lanes that compare
 * equal); and the SSE state emu_sse_check looks at: usable, unless
 * (rarely, not when calm) CR0.TS (#NM), CR0.EM or no CR4.OSFXSR (#UD). */
static void random_xmm(struct emu_cpu *cpu)
{
    static const uint8_t bytes[] = {0, 0, 1, 0x7f, 0x80, 0xff, 0x2f, 0x61};
    for (unsigned x = 0; x < 16; x++) {
        emu_xmm *v = &cpu->fpu.xmm[x];
        switch (pick(4)) {
        case 0: *v = cpu->fpu.xmm[pick(16)]; break;
        case 1:
            for (unsigned i = 0; i < 16; i++)
                v->b[i] = bytes[pick(sizeof(bytes))];
            break;
        default:
            v->q[0] = operand();
            v->q[1] = operand();
            break;
        }
    }
    cpu->cr0 &= ~(CR0_TS | CR0_EM);
    cpu->cr4 |= CR4_OSFXSR;
    /* Now and then SSE4.2 off, as on a host without it: the string
     * compares #UD (their native form's slow path). */
    cpu->features_off = emu_host_features_missing();
    if (!calm && pick(16) == 0)
        cpu->features_off |= 1u << EMU_HF_SSE42;
    if (!calm && pick(12) == 0) {
        switch (pick(4)) {
        case 0: cpu->cr0 |= CR0_EM; break;
        case 1: cpu->cr4 &= ~CR4_OSFXSR; break;
        default: cpu->cr0 |= CR0_TS; break;
        }
    }
}

/* A lazy state as an instruction leaves it: the result is the operation
 * on its operands (what compiled code that redoes the operation relies
 * on: jit_cond_flags, the shared code's host_flags), the rest random. */
static void lazy_consistent(struct emu_lazy_flags *lf)
{
    switch (lf->op) {
    case LF_ADD: lf->res = lf->a + lf->b; break;
    case LF_ADC: lf->res = lf->a + lf->b + lf->cf_in; break;
    case LF_SUB: lf->res = lf->a - lf->b; break;
    case LF_SBB: lf->res = lf->a - lf->b - lf->cf_in; break;
    case LF_INC: lf->b = 1; lf->res = lf->a + 1; break;
    case LF_DEC: lf->b = 1; lf->res = lf->a - 1; break;
    case LF_NEG: lf->b = 0; lf->res = 0 - lf->a; break;
    default: break; /* LOGIC: the result alone; CFOF: cf_in, b, the result */
    }
}

static void random_state(struct emu_cpu *cpu)
{
    for (int r = 0; r < 16; r++)
        cpu->gpr[r] = operand();
    cpu->gpr[4] = random_rsp();
    cpu->gpr[13] = 0x8000000000000000ull;
    cpu->gpr[15] = DATA;
    cpu->rip = code_at;
    /* AC (no alignment check at CPL 0) keeps accesses off the TLB. */
    emu_set_rflags(cpu, 2 | (rnd() & RFLAGS_ARITH) | (pick(16) ? 0 : RFLAGS_AC));
    if (!calm && pick(8) == 0)
        emu_tlb_flush(cpu); /* the stack's slots miss the TLB, then fill it */
    if (user_mode) { /* supervisor reads fill the data TLB, then CPL 3 */
        cpu->cpl = 0;
        for (uint64_t a = DATA; a < DATA + 4096; a += 256) {
            uint64_t v;
            emu_read(cpu, SEG_DS, a, 8, &v);
        }
        cpu->cpl = 3;
    }
    static const uint8_t ops[] = {LF_NONE, LF_ADD, LF_ADC, LF_SUB, LF_SBB, LF_LOGIC,
                                  LF_INC,  LF_DEC, LF_NEG, LF_CFOF};
    cpu->lf.op = ops[pick(sizeof(ops))];
    if (cpu->lf.op != LF_NONE) {
        static const uint8_t sizes[] = {1, 2, 4, 8};
        cpu->lf.size = sizes[pick(4)];
        cpu->lf.cf_in = pick(2);
        cpu->lf.a = operand();
        cpu->lf.b = operand();
        cpu->lf.res = operand();
        lazy_consistent(&cpu->lf);
    }
    random_xmm(cpu);
    cpu->insn_count = rnd() & 0xffff;
    cpu->exc.vector = -1;
    cpu->exc_pending = cpu->halted = cpu->shadow = cpu->held_valid = false;
    cpu->xlog_n = cpu->xlog_pos = cpu->held_pos = 0;
}

/* What a run leaves that the comparison looks at. */
struct outcome {
    int st;
    uint64_t gpr[16], rip, rflags, insn_count;
    emu_xmm xmm[16];
    uint64_t cr0;
    struct emu_lazy_flags lf;
    int vector;
    uint32_t error;
    bool held_valid;
    uint64_t held_rip;
    int xlog_n;
    struct accel_exit exit;
    uint8_t ram[RAM];
};

static struct emu_cpu start;
static uint8_t start_ram[RAM];
static struct outcome ref, got;

static void restore(void)
{
    cpu = start;
    memcpy(fx.ram, start_ram, RAM);
}

static void record(struct outcome *o, int st, const struct accel_exit *exit)
{
    o->st = st;
    memcpy(o->gpr, cpu.gpr, sizeof(o->gpr));
    memcpy(o->xmm, cpu.fpu.xmm, sizeof(o->xmm));
    o->cr0 = cpu.cr0;
    o->rip = cpu.rip;
    o->lf = cpu.lf;
    o->insn_count = cpu.insn_count;
    o->vector = cpu.exc.vector;
    o->error = cpu.exc.error;
    o->held_valid = cpu.held_valid;
    o->held_rip = cpu.held_rip;
    o->xlog_n = cpu.xlog_n;
    o->exit = *exit;
    memcpy(o->ram, fx.ram, RAM);
    o->rflags = emu_rflags(&cpu); /* last: it materialises (changes lf) */
}

/* c placed at CODE over random data, count at DATA + at, then run from
 * one random state (with the data TLB empty when cold) to its HLT twice:
 * interpreted into ref, then compiled, each block at its first run, into
 * got. */
static void run_program(const struct code *c, unsigned at, uint64_t count, bool cold)
{
    struct accel_exit exit;
    memset(fx.ram + CODE, 0, 4096);
    memcpy(fx.ram + CODE, c->b, c->n);
    for (uint64_t i = DATA; i < RAM; i++)
        fx.ram[i] = (uint8_t)rnd();
    memcpy(fx.ram + DATA + at, &count, 8);
    random_state(&cpu);
    if (cold)
        emu_tlb_flush(&cpu); /* the first access of each page misses */
    start = cpu;
    memcpy(start_ram, fx.ram, RAM);
    for (int jit = 0; jit < 2; jit++) {
        restore();
        emu_code_invalidate(&fx.evm, CODE, 4096);
        emu_blocks_free_dead(&fx.evm);
        fx.evm.jit_hot = 0;
        if (jit)
            emu_jit_set_hot(&fx.evm, 1);
        memset(&exit, 0, sizeof(exit));
        emu_fixture_run_to_hlt(&cpu, &exit, 100000);
        record(jit ? &got : &ref, exit.reason, &exit);
    }
}


static const char *section = "random blocks"; /* which part of the test reports */

static int report(const struct code *c, const char *what, uint64_t a, uint64_t b)
{
    printf("FAIL: emu JIT: %s: JIT differs from the interpreter in %s: interpreter %#" PRIx64
           ", JIT %#" PRIx64 "; block:",
           section, what, a, b);
    for (unsigned i = 0; i < c->n; i++)
        printf(" %02x", c->b[i]);
    printf("\n");
    return 1;
}

static int compare(const struct code *c)
{
    static const char *const names[16] = {"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
                                          "R8",  "R9",  "R10", "R11", "R12", "R13", "R14", "R15"};
    if (ref.st != got.st)
        return report(c, "status", (uint64_t)ref.st, (uint64_t)got.st);
    for (int r = 0; r < 16; r++)
        if (ref.gpr[r] != got.gpr[r])
            return report(c, names[r], ref.gpr[r], got.gpr[r]);
    for (int x = 0; x < 16; x++)
        for (int h = 0; h < 2; h++)
            if (ref.xmm[x].q[h] != got.xmm[x].q[h]) {
                char what[32];
                snprintf(what, sizeof(what), "XMM%d's %s quadword", x, h ? "high" : "low");
                return report(c, what, ref.xmm[x].q[h], got.xmm[x].q[h]);
            }
    if (ref.cr0 != got.cr0)
        return report(c, "CR0", ref.cr0, got.cr0);
    if (ref.rip != got.rip)
        return report(c, "RIP", ref.rip, got.rip);
    if (ref.rflags != got.rflags)
        return report(c, "RFLAGS", ref.rflags, got.rflags);
    if (ref.lf.op != got.lf.op || ref.lf.size != got.lf.size || ref.lf.cf_in != got.lf.cf_in)
        return report(c, "lazy flags (op, size, cf_in)",
                      ref.lf.op | ref.lf.size << 8 | (uint64_t)ref.lf.cf_in << 16,
                      got.lf.op | got.lf.size << 8 | (uint64_t)got.lf.cf_in << 16);
    if (ref.lf.a != got.lf.a)
        return report(c, "lazy flags' a", ref.lf.a, got.lf.a);
    if (ref.lf.b != got.lf.b)
        return report(c, "lazy flags' b", ref.lf.b, got.lf.b);
    if (ref.lf.res != got.lf.res)
        return report(c, "lazy flags' res", ref.lf.res, got.lf.res);
    if (ref.insn_count != got.insn_count)
        return report(c, "insn_count", ref.insn_count, got.insn_count);
    if (ref.vector != got.vector || ref.error != got.error)
        return report(c, "the exception", (uint64_t)ref.vector << 32 | ref.error,
                      (uint64_t)got.vector << 32 | got.error);
    if (ref.held_valid != got.held_valid || ref.held_rip != got.held_rip ||
        ref.xlog_n != got.xlog_n)
        return report(c, "the held instruction (valid, rip)",
                      (uint64_t)ref.held_valid << 63 | ref.held_rip,
                      (uint64_t)got.held_valid << 63 | got.held_rip);
    if (memcmp(&ref.exit, &got.exit, sizeof(ref.exit)))
        return report(c, "the exit (reason)", ref.exit.reason, got.exit.reason);
    if (memcmp(ref.ram, got.ram, RAM)) {
        uint64_t a = 0;
        while (ref.ram[a] == got.ram[a])
            a++;
        return report(c, "memory (the address, then the JIT's byte)", a, got.ram[a]);
    }
    return 0;
}

/* Loop programs through emu_cpu_run: blocks compiled at their first run,
 * with code memory so small that it is dropped again and again (and the
 * store into the code page drops blocks too); the end state must be the
 * interpreter's. */
#define LOOPS 40
static int loop_programs(void)
{
    struct code c;
    uint64_t compiled = 0, resets = 0;
    section = "loop programs";
    calm = true;
    for (unsigned k = 0; k < LOOPS; k++) {
        c.n = c.insns = 0;
        for (unsigned m = 1 + pick(6); m > 0; m--) {
            gen_body(&c, 1 + pick(20));
            if (pick(2)) {
                put(&c, 0x70 + pick(16)); /* Jcc +0: a block boundary */
                put(&c, 0);
            } else { /* CALL 1f; JMP 2f; 1: RET; 2: three blocks */
                static const uint8_t call_ret[] = {0xe8, 2, 0, 0, 0, 0xeb, 1, 0xc3};
                memcpy(c.b + c.n, call_ret, sizeof(call_ret));
                c.n += sizeof(call_ret);
            }
        }
        static const uint8_t dec_count[] = {0x49, 0xff, 0x8f, 0x00, 0x01, 0x00, 0x00};
        memcpy(c.b + c.n, dec_count, sizeof(dec_count)); /* dec qword [r15 + 0x100] */
        c.n += sizeof(dec_count);
        put(&c, 0x0f); /* jnz CODE */
        put(&c, 0x85);
        put32(&c, (uint32_t)(CODE - (CODE + c.n + 4)));
        put(&c, 0xf4);
        uint64_t iterations = 20 + pick(40);
        run_program(&c, 0x100, iterations, false);
        if (ref.st != ACCEL_EXIT_HLT || ref.insn_count - start.insn_count < 3 * iterations) {
            printf("FAIL: emu JIT: loop program %u did not run to its HLT (exit %d, %" PRIu64
                   " instructions)\n", k, ref.st, ref.insn_count - start.insn_count);
            return 1;
        }
        if (compare(&c))
            return 1;
        emu_jit_stats(&fx.evm, &compiled, &resets);
    }
    calm = false;
    if (compiled < LOOPS || resets < LOOPS / 4) {
        printf("FAIL: emu JIT: loop programs compiled %" PRIu64 " blocks, dropped all code %" PRIu64
               " times: too few to test\n", compiled, resets);
        return 1;
    }
    printf("PASS: emu JIT: %u loop programs through emu_cpu_run end as interpreted (%" PRIu64
           " blocks compiled, code memory dropped %" PRIu64 " times)\n", LOOPS, compiled, resets);
    return 0;
}

/* Self loops: one block of random forms closing with a Jcc back to its
 * own start (jit_compile.c compiles it twice, the top loading what the
 * end holds), the Jcc native (jit_loop_tail, from its taken jump) or called
 * after an XCHG (jit_loop_back, from the block's end), through emu_cpu_run
 * with chaining; the end state must be the interpreter's. */
#define SELF_LOOP_PROGRAMS 400
static int self_loop_programs(void)
{
    struct code c;
    unsigned singles = 0; /* compiled as one block, the loop whole */
    calm = true;
    for (unsigned k = 0; k < SELF_LOOP_PROGRAMS; k++) {
        /* Outer: the count of the inner loop set, a few forms, a Jcc +0
         * (a boundary, the link to the loop jit_chain_exit takes the second
         * time round); the self loop; the outer count, jnz CODE. */
        c.n = c.insns = 0;
        uint32_t inner = 2 + pick(40);
        static const uint8_t set_count[] = {0x49, 0xc7, 0x87, 0x00, 0x01, 0x00, 0x00};
        memcpy(c.b + c.n, set_count, sizeof(set_count)); /* mov qword [r15 + 0x100], imm32 */
        c.n += sizeof(set_count);
        put32(&c, inner);
        gen_body(&c, pick(8));
        put(&c, 0x70 + pick(16));
        put(&c, 0);
        unsigned top = c.n;
        bool native = pick(2); /* many registers held across the loop, its Jcc native */
        all_native = native;
        gen_body(&c, 1 + pick(50));
        all_native = false;
        if (native) { /* test eax, eax: a state the compiler knows, so DEC [m] and JNZ native */
            put(&c, 0x85);
            put(&c, 0xc0);
            c.insns++;
        }
        static const uint8_t dec_count[] = {0x49, 0xff, 0x8f, 0x00, 0x01, 0x00, 0x00};
        memcpy(c.b + c.n, dec_count, sizeof(dec_count)); /* dec qword [r15 + 0x100] */
        c.n += sizeof(dec_count);
        bool called_jcc = !native && pick(2);
        if (called_jcc) { /* xchg rbx, rbx: called, the flags left */
            put(&c, 0x48);
            put(&c, 0x87);
            put(&c, 0xdb);
        }
        if (c.n + 2 - top < 128 && pick(2)) { /* jnz top, rel8 or rel32 */
            put(&c, 0x75);
            put(&c, (uint8_t)-(int)(c.n + 1 - top));
        } else {
            put(&c, 0x0f);
            put(&c, 0x85);
            put32(&c, (uint32_t)-(int32_t)(c.n + 4 - top));
        }
        unsigned loop_end = c.n;
        static const uint8_t dec_outer[] = {0x49, 0xff, 0x8f, 0x08, 0x01, 0x00, 0x00};
        memcpy(c.b + c.n, dec_outer, sizeof(dec_outer)); /* dec qword [r15 + 0x108] */
        c.n += sizeof(dec_outer);
        put(&c, 0x0f); /* jnz CODE */
        put(&c, 0x85);
        put32(&c, (uint32_t)-(int32_t)(c.n + 4));
        put(&c, 0xf4);
        uint64_t outer = 1 + pick(4);
        run_program(&c, 0x108, outer, false);
        int st;
        cpu.rip = CODE + top;
        struct emu_block *b = emu_block_get(&cpu, &st);
        singles += b && b->bytes == loop_end - top && b->jit_code;
        if (ref.st != ACCEL_EXIT_HLT) {
            printf("FAIL: emu JIT: self loop %u did not run to its HLT (exit %d)\n", k, ref.st);
            calm = false;
            return 1;
        }
        if (compare(&c)) {
            calm = false;
            return 1;
        }
    }
    calm = false;
    if (singles < SELF_LOOP_PROGRAMS / 2) {
        printf("FAIL: emu JIT: only %u of %u self loops compiled as one block\n", singles,
               SELF_LOOP_PROGRAMS);
        return 1;
    }
    printf("PASS: emu JIT: %u self-looping blocks through emu_cpu_run end as interpreted (%u "
           "compiled whole)\n", SELF_LOOP_PROGRAMS, singles);
    return 0;
}

/* The register forms whose every case the random blocks must compile
 * natively in quantity: rotates that set CF and OF and quiet ones
 * (emu_block_flags_live), byte forms on AH..BH, MOVZX/MOVSX/MOVSXD, and
 * CMOVcc/SETcc whose condition the block's own code decides (the lazy
 * state the compiler tracks, as jit_build does through jit_lf_effect). */
enum { K_ROT_FLAGS, K_ROT_QUIET, K_HIGH8, K_MOVX, K_COND, K_NOT_NEG, K_NEG_LIVE, K_DEAD_LF,
       K_CBW, K_MUL, K_KINDS };
static const char *const kind_names[K_KINDS] = {
    "rotates setting CF/OF", "quiet rotates", "AH..BH forms", "MOVZX/MOVSX/MOVSXD",
    "CMOVcc/SETcc", "NOT/NEG", "NEGs whose flags are read",
    "32/64-bit flag setters whose lazy state is dead", "CBW/CWDE/CDQE", "MULs on registers"};

/* Which instructions' lazy-flag stores are dead, as jit_compile.c's
 * dead_lf_stores finds them (the block's end and any reader read all):
 * those flag setters are one host instruction (direct() in jit_native.c). */
static void dead_lf(const struct emu_block *b, bool *dead_at)
{
    struct jit_lf_effect e[EMU_BLOCK_MAX_INSNS];
    int lf = -1;
    for (unsigned i = 0; i < b->n; i++) {
        e[i] = jit_lf_effect(&b->insns[i], lf);
        lf = e[i].lf_after;
    }
    bool dead = false;
    for (unsigned i = b->n; i-- > 0;) {
        dead_at[i] = e[i].writes && dead;
        dead = e[i].reads ? false : dead || e[i].writes;
    }
}

static void count_kinds(const struct emu_block *b, unsigned *kinds)
{
    int lf = -1;
    bool dead_at[EMU_BLOCK_MAX_INSNS];
    dead_lf(b, dead_at);
    for (unsigned i = 0; i < b->n; i++) {
        const struct emu_insn *in = &b->insns[i];
        struct jit_lf_effect e = jit_lf_effect(in, lf);
        emu_exec_fn g = emu_general_fn(in->fn);
        if (jit_native_form(in)) {
            if (g == ex_not || g == ex_neg)
                kinds[K_NOT_NEG]++;
            kinds[K_NEG_LIVE] += g == ex_neg && !dead_at[i];
            kinds[K_DEAD_LF] += e.writes && dead_at[i] && (in->opsz == 4 || in->opsz == 8) &&
                                !(in->flags & INSN_MEM);
            if (g == ex_shift)
                kinds[emu_fast_without_cfof(in->fn) ? K_ROT_FLAGS : K_ROT_QUIET] +=
                    in->sub < 2;
            else if (g == ex_movzx || g == ex_movsx || g == ex_movsxd)
                kinds[K_MOVX]++;
            else if (g == ex_setcc || g == ex_cmovcc)
                kinds[K_COND] += e.lf_after != -1; /* else called */
            kinds[K_CBW] += g == ex_cbw;
            kinds[K_MUL] += g == ex_mul;
            if (in->rm >= REG_HIGH8 && (in->opsz == 1 || g == ex_setcc || g == ex_movzx ||
                                        g == ex_movsx))
                kinds[K_HIGH8]++;
        }
        lf = e.lf_after;
    }
}

/* What the random blocks covered. */
struct tally {
    unsigned insns, native, stops, ended;
    unsigned stack, stack_ends, stack_odd; /* stack forms, CALL/RET last, off STACK or AC */
    unsigned call_gp;                      /* CALLs to a non-canonical target */
    unsigned branch_mem, branch_mem_ok;    /* JMP/CALL through memory last, those run */
    unsigned kinds[K_KINDS];               /* the register forms' kinds, native */
    unsigned alu_mem;                      /* ALU, CMP, TEST, MOV on memory, native */
    unsigned words, byte_rmw;              /* word MOVs on memory and TESTs, byte ALU [m], native */
    unsigned crowded;                      /* blocks crowding the pool, memory forms in them */
    unsigned self_loops, looped;           /* blocks made to loop to their start, ran again */
    unsigned sse, sse_mem;                 /* SSE forms compiled natively, those on memory */
    unsigned sse_direct;                   /* register ones with no call of their handler */
    unsigned sse_nm, sse_ud, sse_gp;       /* blocks stopped by #NM, #UD, #GP at one */
    unsigned shufb, str;                   /* PSHUFB, PCMPxSTRx compiled as the host's */
    unsigned str_ud;                       /* blocks stopped at a string compare by #UD */
    unsigned str_jcc;                      /* closed right after one by a native Jcc */
    unsigned jcc_kept;                     /* closing Jccs on host flags kept across forms */
    unsigned bits[4];                      /* SHx r, CL; BSF/BSR; BT r, imm; BT [m], imm native */
    unsigned atomic[4];                    /* SETcc [m], XCHG [m], XCHG r, r, CMPXCHG [m] native */
    unsigned atomic_called;                /* SETcc [m] called (parity, state unknown) */
    unsigned atomic_pf, atomic_pf_w;       /* blocks stopped at one by #PF, with W set */
};

/* The size of b's compiled code, right after it was compiled (the last
 * code in code memory). */
static size_t code_size(const struct emu_block *b)
{
    const struct jit_arena *a = &fx.evm.jit->arena;
    return (size_t)(a->rx + a->used - (const uint8_t *)b->jit_body);
}

/* Whether the code [code, code + n) holds in's address (jit_emit_call's
 * MOV RSI, imm64, an exit stub's MOV RDX, imm64): whether any way of
 * calling in's handler was compiled. */
static bool code_names(const uint8_t *code, size_t n, const struct emu_insn *in)
{
    uint64_t a = (uint64_t)(uintptr_t)in;
    for (size_t i = 0; i + 8 <= n; i++)
        if (!memcmp(code + i, &a, 8))
            return true;
    return false;
}

/* Whether the code holds the host's PSHUFB or string compare (in's
 * opcode and imm8) on XMM0 and XMM1, as jit_native_sse emits it. */
static bool code_has_host_op(const uint8_t *code, size_t n, const struct emu_insn *in)
{
    bool str = in->fn == ex_pcmpstr;
    const uint8_t op[] = {0x0f, str ? 0x3a : 0x38, str ? in->opcode : 0x00, 0xc1,
                          (uint8_t)in->imm};
    size_t len = str ? 5 : 4;
    for (size_t i = 1; i + len <= n; i++) /* after 66 or 66 REX.W */
        if ((code[i - 1] == 0x66 || code[i - 1] == 0x48) && !memcmp(code + i, op, len))
            return true;
    return false;
}

/* b's SSE forms, compiled to code of n bytes, into t: each on a
 * register after the block's first (the CR0/CR4 check made) must be
 * native with no call of its handler compiled, each other one must have
 * one (its slow path); so must a string compare (SSE4.2 may be off in
 * the CPU), and PSHUFB or a string compare must be the host's own
 * instruction exactly when the host has it (else the handler alone);
 * the vector of a fault at one is counted. False when the code is not
 * so. */
static bool sse_tally(const struct emu_block *b, const uint8_t *code, size_t n, struct tally *t)
{
    bool checked = false;
    unsigned isa = fx.evm.jit->host_isa;
    uint64_t at = code_at;
    for (unsigned i = 0; i < b->n; at += b->insns[i].len, i++) {
        const struct emu_insn *in = &b->insns[i];
        if (!jit_sse_form(in))
            continue;
        bool str = in->fn == ex_pcmpstr, shufb = in->fn == ex_ssse3;
        bool host = str ? (isa & JIT_ISA_SSE42) : shufb ? (isa & JIT_ISA_SSSE3) : true;
        bool mem = in->flags & INSN_MEM, direct = checked && !mem && !str && host;
        if ((str || shufb) && code_has_host_op(code, n, in) != host) {
            printf("FAIL: emu JIT: %s %u of a block (%02x) %s the host's instruction\n",
                   str ? "string compare" : "PSHUFB", i, in->opcode,
                   host ? "is not" : "is, on a host without it,");
            return false;
        }
        t->shufb += shufb && host;
        t->str += str && host;
        const struct emu_insn *next = in + 1;
        t->str_jcc += str && i + 2 == b->n && emu_general_fn(next->fn) == ex_jcc &&
                      next->fn != ex_jcc && !code_names(code, n, next);
        if (code_names(code, n, in) == direct) {
            printf("FAIL: emu JIT: SSE form %u of a block (%02x, %s) %s\n", i, in->opcode,
                   mem ? "memory" : "registers",
                   direct ? "calls its handler" : "has no slow path compiled");
            return false;
        }
        t->sse++;
        t->sse_mem += mem;
        t->sse_direct += direct;
        checked = true;
        if (ref.st != EMU_OK && ref.rip == at) {
            t->sse_nm += ref.vector == EXC_NM;
            t->sse_ud += ref.vector == EXC_UD;
            t->sse_gp += ref.vector == EXC_GP;
            t->str_ud += str && ref.vector == EXC_UD && (start.features_off >> EMU_HF_SSE42) & 1;
        }
    }
    return true;
}

/* b's bit forms (jit_native_bits.c), compiled to code of n bytes, into
 * t: one on registers must have no call of its handler compiled, BT on
 * memory one (its slow path). False when the code is not so. */
static bool bits_tally(const struct emu_block *b, const uint8_t *code, size_t n, struct tally *t)
{
    for (unsigned i = 0; i < b->n; i++) {
        const struct emu_insn *in = &b->insns[i];
        if (!jit_bits_form(in))
            continue;
        bool mem = in->flags & INSN_MEM;
        if (code_names(code, n, in) != mem) {
            printf("FAIL: emu JIT: bit form %u of a block (%02x, %s) %s\n", i, in->opcode,
                   mem ? "memory" : "registers",
                   mem ? "has no slow path compiled" : "calls its handler");
            return false;
        }
        emu_exec_fn g = emu_general_fn(in->fn);
        t->bits[mem ? 3 : g == ex_shift ? 0 : g == ex_bt_imm ? 2 : 1]++;
    }
    return true;
}

/* Whether the code [code, code + n) holds the len bytes at op. */
static bool code_has(const uint8_t *code, size_t n, const uint8_t *op, size_t len)
{
    for (size_t i = 0; i + len <= n; i++)
        if (!memcmp(code + i, op, len))
            return true;
    return false;
}

enum { A_SETCC, A_XCHG, A_XCHG_RR, A_CMPXCHG };
static const char *const atomic_names[4] = {"SETcc [m]", "XCHG [m]", "XCHG r, r", "CMPXCHG [m]"};

/* b's SETcc, XCHG and CMPXCHG forms (jit_native_atomic.c), compiled to
 * code of n bytes, into t: XCHG between registers must be native with no
 * call of its handler compiled; a memory form must hold the host's own
 * instruction as jit_native_atomic emits it on the probe's host address
 * (SETcc AL then MOV [RCX], AL; XCHG [RCX], RAX at size; LOCK CMPXCHG
 * [RCX], RDX at size), and a call of its handler (the slow path); so
 * must a SETcc whose condition the compiler does not take
 * (jit_cond_native, after the state jit_lf_effect tracks), which is
 * called (another SETcc on the same condition may be native: the
 * host's instruction is not looked for). A #PF stopping the block at one is counted. False when
 * the code is not so. */
static bool atomic_tally(const struct emu_block *b, const uint8_t *code, size_t n, struct tally *t)
{
    int lf = -1;
    uint64_t at = code_at;
    for (unsigned i = 0; i < b->n; at += b->insns[i].len, i++) {
        const struct emu_insn *in = &b->insns[i];
        int lf_before = lf;
        lf = jit_lf_effect(in, lf).lf_after;
        if (!jit_atomic_form(in))
            continue;
        bool mem = in->flags & INSN_MEM, w = in->opsz == 8, byte = in->opsz == 1;
        int k = in->fn == ex_setcc ? A_SETCC : in->fn == ex_cmpxchg ? A_CMPXCHG
                : mem ? A_XCHG : A_XCHG_RR;
        bool native = k != A_SETCC || jit_cond_native(lf_before, in->sub);
        uint8_t op[6];
        size_t len = 0;
        if (k == A_SETCC) {
            const uint8_t s[] = {0x0f, (uint8_t)(0x90 + (in->sub & 15)), 0xc0, 0x88, 0x01};
            memcpy(op, s, len = sizeof(s));
        } else if (k == A_XCHG) { /* [REX.W] 86/87 (RAX, [RCX]) */
            if (w)
                op[len++] = 0x48;
            op[len++] = byte ? 0x86 : 0x87;
            op[len++] = 0x01;
        } else if (k == A_CMPXCHG) { /* F0 [REX.W] 0F B0/B1 (RDX, [RCX]) */
            op[len++] = 0xf0;
            if (w)
                op[len++] = 0x48;
            op[len++] = 0x0f;
            op[len++] = byte ? 0xb0 : 0xb1;
            op[len++] = 0x11;
        }
        bool host = len && code_has(code, n, op, len), calls = code_names(code, n, in);
        if ((len && native && !host) || calls != (k != A_XCHG_RR)) {
            printf("FAIL: emu JIT: %s %u of a block (%u bytes) %s\n", atomic_names[k], i,
                   in->opsz, native && !host ? "is not the host's instruction"
                             : calls         ? "calls its handler"
                                             : "has no slow path compiled");
            return false;
        }
        t->atomic[k] += native;
        t->atomic_called += !native;
        if (ref.st == EMU_FAULT && ref.rip == at && ref.vector == EXC_PF) {
            t->atomic_pf++;
            t->atomic_pf_w += (ref.error & 2) != 0;
        }
    }
    return true;
}

/* b's native CBW/CWDE/CDQE and MULs, compiled to code of n bytes: none
 * may have a call of its handler compiled (they have no slow path). */
static bool wide_native(const struct emu_block *b, const uint8_t *code, size_t n)
{
    for (unsigned i = 0; i < b->n; i++) {
        const struct emu_insn *in = &b->insns[i];
        if ((in->fn == ex_cbw || in->fn == ex_mul) && jit_native_form(in) &&
            code_names(code, n, in)) {
            printf("FAIL: emu JIT: %s %u of a block (size %u) calls its handler\n",
                   in->fn == ex_cbw ? "CBW/CWDE/CDQE" : "MUL", i, in->opsz);
            return false;
        }
    }
    return true;
}

/* Whether b has a run of compiled instructions with no call between
 * (which empties the JIT's register pool) naming at least JIT_POOL + 2
 * guest registers, and memory forms in it after the pool is full. */
static bool crowds_pool(const struct emu_block *b)
{
    uint32_t named = 0;
    for (unsigned i = 0; i < b->n; i++) {
        const struct emu_insn *in = &b->insns[i];
        bool mem_form = jit_mem_form(in) || jit_alu_mem_form(in) ||
                        (jit_atomic_form(in) && (in->flags & INSN_MEM));
        if (!jit_native_form(in) && !mem_form && !jit_stack_form(in) && !jit_atomic_form(in)) {
            named = 0;
            continue;
        }
        if (mem_form && __builtin_popcount(named) > JIT_POOL + 1)
            return true;
        emu_exec_fn g = emu_general_fn(in->fn);
        bool group = (in->opcode >= 0x80 && in->opcode <= 0x83) || in->opcode == 0xc1 ||
                     in->opcode == 0xd1 || in->opcode == 0xf7 || in->opcode == 0xff ||
                     in->opcode == 0xc7;
        if (!group && in->reg < 16)
            named |= 1u << in->reg;
        if (in->flags & INSN_MEM) {
            named |= in->base < 16 ? 1u << in->base : 0;
            named |= in->index < 16 ? 1u << in->index : 0;
        } else if (g != ex_mov_reg_imm && in->rm < 16) {
            named |= 1u << in->rm;
        }
    }
    return false;
}

/* The paged sections' tables (PML4 and the 5 pages after it, LOW_PT)
 * as set, their entries put back before each case where they changed:
 * the low 2 MiB are mapped writable for the guest, whose stray stores
 * (a PUSH with a random RSP) would otherwise change the next cases'
 * translations; and each case starts with the accessed and dirty bits
 * clear, so that it shows which ones it sets. */
static uint64_t tables[0x7000 / 8];
static bool tables_kept;

static uint64_t *table_entry(unsigned i)
{
    return (uint64_t *)(fx.ram + (i < 0x6000 / 8 ? PML4 + 8 * i : LOW_PT + 8 * (i - 0x6000 / 8)));
}

static void keep_tables(void)
{
    for (unsigned i = 0; i < 0x7000 / 8; i++)
        memcpy(&tables[i], table_entry(i), 8);
    tables_kept = true;
}

static void restore_tables(void)
{
    bool changed = false;
    for (unsigned i = 0; tables_kept && i < 0x7000 / 8; i++) {
        uint64_t v;
        memcpy(&v, table_entry(i), 8);
        if (v != tables[i]) {
            memcpy(table_entry(i), &tables[i], 8);
            changed = true;
        }
    }
    if (changed)
        emu_tlb_flush(&cpu);
}

/* One random block run interpreted, then compiled from the same state:
 * whether both did the same; t counts what it covered. */
/* b's code called once, as run_chain calls it: with a budget of `runs`
 * more runs of b (cpu.chain_left counts instructions: each run that
 * ends takes b->n), and the instructions taken counted as run_chain
 * counts them. The budget left, in runs of b, into *left (if not NULL). */
static int run_compiled(struct emu_block *b, int32_t runs, int32_t *left)
{
    int32_t budget = runs * (int32_t)b->n;
    /* A chaining block finds cpu->rip stale when gone on into from
     * another (jit_direct_exit and jit_far_exit do not store it): it
     * must take RIP from where it was entered (RBP, chain_lin) alone,
     * and store it wherever it leaves compiled code. */
    if (b->jit_entry && cpu.rip == cpu.chain_lin)
        cpu.rip = 0xdead0000beef0000ull;
    cpu.chain_left = budget;
    int st = b->jit_code(&cpu, b);
    cpu.insn_count += (uint32_t)(budget - cpu.chain_left);
    if (left)
        *left = cpu.chain_left / (int32_t)b->n;
    return st;
}

static bool random_block(unsigned k, struct tally *t)
{
    struct accel_exit exit;
    struct code c;
    if (given) {
        c = *given;
        rel8_last = false;
    } else if (crowded)
        gen_crowded_block(&c);
    else if (str_opc)
        gen_str_block(&c);
    else
        gen_block(&c);
    /* Sometimes a self loop: the Jcc back to the block's start, run
     * again while it goes there, up to loops more times (compiled: with
     * that budget, jit_loop_tail or jit_loop_back). */
    unsigned loops = 0;
    if (!crowded && rel8_last && c.n <= 128 && pick(3) == 0) {
        c.b[c.n - 1] = (uint8_t)-(int)c.n;
        loops = 1 + pick(40);
        t->self_loops++;
    }
    restore_tables();
    memset(fx.ram + CODE, 0, 4096);
    memcpy(fx.ram + CODE, c.b, c.n);
    for (unsigned i = 0; i < 4096; i += 8) { /* edge values: carries out of 32 bits */
        uint64_t v = operand();
        memcpy(fx.ram + DATA + i, &v, 8);
    }
    for (uint64_t a = STACK_LO; a < STACK_HI; a += 8) {
        uint64_t v = stack_value();
        memcpy(fx.ram + a, &v, 8);
    }
    emu_code_invalidate(&fx.evm, CODE, 4096);
    emu_blocks_free_dead(&fx.evm);
    random_state(&cpu);
    memset(&exit, 0, sizeof(exit));
    cpu.exit = &exit;
    cpu.xlog_n = cpu.xlog_pos = cpu.held_pos = 0;
    cpu.held_valid = false;
    int st;
    struct emu_block *b = emu_block_get(&cpu, &st);
    if (!b) {
        printf("FAIL: emu JIT: case %u: no block (status %d)\n", k, st);
        return false;
    }
    if (crowded || pick(3) == 0) { /* the data TLB empty: the memory forms' slow path */
        memset(cpu.tlb_read, 0, sizeof(cpu.tlb_read));
        memset(cpu.tlb_write, 0, sizeof(cpu.tlb_write));
    }
    memset(cpu.jcache, 0, sizeof(cpu.jcache)); /* chaining: nothing to go on into */
    start = cpu;
    memcpy(start_ram, fx.ram, RAM);
    st = emu_run_block(&cpu, b);
    for (unsigned n = 0; n < loops && st == EMU_OK && cpu.rip == code_at; n++)
        st = emu_run_block(&cpu, b);
    record(&ref, st, &exit);
    /* The same block decoded afresh (the run may have dropped it: the
     * store into its page), from the same state. */
    restore();
    memset(&exit, 0, sizeof(exit));
    emu_code_invalidate(&fx.evm, CODE, 4096);
    if (!(b = emu_block_get(&cpu, &st))) {
        printf("FAIL: emu JIT: case %u: no block the second time\n", k);
        return false;
    }
    uint64_t jcc_host_flags = fx.evm.jit->jcc_host_flags;
    emu_jit_compile(&fx.evm, b);
    if (!b->jit_code) {
        printf("FAIL: emu JIT: case %u: block not compiled\n", k);
        return false;
    }
    /* Its closing Jcc on the host's flags, from a setter before forms that keep them */
    t->jcc_kept += fx.evm.jit->jcc_host_flags != jcc_host_flags && b->n > 1 &&
                   jit_flags_neutral(&b->insns[b->n - 2]);
    size_t code_bytes = code_size(b);
    cpu.chain_lin = code_at; /* where run_chain would have entered it */
    st = run_compiled(b, (int32_t)loops, NULL); /* this block alone, maybe looping */
    record(&got, st, &exit);
    if (compare(&c))
        return false;
    const struct emu_insn *last = &b->insns[b->n - 1];
    unsigned s = 0;
    t->insns += b->n;
    for (unsigned i = 0; i < b->n; i++) {
        t->native += jit_native_form(&b->insns[i]);
        s += jit_stack_form(&b->insns[i]);
        t->alu_mem += jit_alu_mem_form(&b->insns[i]);
        const struct emu_insn *in = &b->insns[i];
        t->words += in->opsz == 2 && (jit_mem_form(in) || jit_native_form(in));
        t->byte_rmw += in->opsz == 1 && jit_alu_mem_form(in) &&
                       (in->fn == ex_alu_rm_reg || in->fn == ex_alu_rm_imm);
    }
    count_kinds(b, t->kinds);
    if (!sse_tally(b, b->jit_body, code_bytes, t)) {
        report(&c, "where it calls SSE handlers", 0, 0);
        return false;
    }
    if (!bits_tally(b, b->jit_body, code_bytes, t)) {
        report(&c, "where it calls bit forms' handlers", 0, 0);
        return false;
    }
    if (!atomic_tally(b, b->jit_body, code_bytes, t)) {
        report(&c, "where it compiles SETcc, XCHG, CMPXCHG", 0, 0);
        return false;
    }
    if (!wide_native(b, b->jit_body, code_bytes)) {
        report(&c, "where it calls CBW or MUL handlers", 0, 0);
        return false;
    }
    t->crowded += crowds_pool(b);
    bool branch_mem = jit_stack_form(last) && (last->flags & INSN_MEM);
    t->branch_mem += branch_mem;
    t->branch_mem_ok += branch_mem && ref.st == EMU_OK;
    t->stack += s;
    t->stack_ends += jit_stack_form(last);
    t->stack_odd += s && (start.gpr[4] != STACK || (start.rflags & RFLAGS_AC));
    t->call_gp += jit_stack_form(last) && emu_general_fn(last->fn) == ex_call_rel &&
                  ref.vector == EXC_GP;
    t->looped += ref.insn_count - start.insn_count > b->n;
    t->stops += ref.st != EMU_OK && ref.st != EMU_END_BLOCK;
    t->ended += ref.st == EMU_END_BLOCK && ref.insn_count - start.insn_count < b->n;
    return true;
}

/* The SSE forms the random blocks must have compiled natively and run
 * into each of their faults. */
static void sse_floors(const struct tally *t)
{
    if (t->sse < t->insns / 50 || t->sse_mem < t->sse / 4 || t->sse_direct < t->sse / 8 ||
        t->sse_nm < CASES / 400 || t->sse_ud < CASES / 400 || t->sse_gp < CASES / 100 ||
        sse_crossing < CASES / 40 || t->shufb < CASES / 20 || t->str < CASES / 20 ||
        t->str_ud < CASES / 1000) {
        printf("FAIL: emu JIT: the random blocks miss SSE paths (%u native SSE forms of %u "
               "instructions, %u on memory, %u with no call; blocks stopped at one by #NM %u, "
               "#UD %u, #GP %u; %u operands across a page; %u PSHUFB, %u string compares as "
               "the host's, %u #UD with SSE4.2 off)\n",
               t->sse, t->insns, t->sse_mem, t->sse_direct, t->sse_nm, t->sse_ud, t->sse_gp,
               sse_crossing, t->shufb, t->str, t->str_ud);
        test_failures++;
        return;
    }
    printf("PASS: emu JIT: the random blocks' SSE forms: %u native (%u on memory, %u on "
           "registers with no call of their handler compiled), blocks stopped at one by #NM %u, "
           "#UD %u, #GP %u times, %u operands across a page; %u PSHUFB and %u string compares "
           "as the host's instruction (%u #UD with SSE4.2 off)\n",
           t->sse, t->sse_mem, t->sse_direct, t->sse_nm, t->sse_ud, t->sse_gp, sse_crossing,
           t->shufb, t->str, t->str_ud);
}

/* The bit forms the random blocks must have compiled natively. */
static void bits_floors(const struct tally *t)
{
    static const char *const names[4] = {"SHL/SHR/SAR r, CL", "BSF/BSR r, r", "BT r, imm8",
                                         "BT [m], imm8"};
    for (unsigned k = 0; k < 4; k++) {
        if (t->bits[k] < CASES / 50) {
            printf("FAIL: emu JIT: only %u %s compiled natively\n", t->bits[k], names[k]);
            test_failures++;
            return;
        }
    }
    printf("PASS: emu JIT: the random blocks' bit forms: %u SHL/SHR/SAR r, CL, %u BSF/BSR, %u BT "
           "r, imm8 with no call of their handler compiled, %u BT [m], imm8 native\n",
           t->bits[0], t->bits[1], t->bits[2], t->bits[3]);
}

/* Blocks of the bit forms at their edges, each from many random states
 * (lazy states of every kind, LF_NONE among them; the data TLB empty now
 * and then): counts of 0 (CL 0, 32, 64) keeping the flags and still
 * zero-extending a 32-bit register, in place (the state dead) or not;
 * BSF/BSR of 0 leaving the destination whole; BT's immediate past the
 * width; BT on the stack as glibc has it; the flags read after each. */
static unsigned random_blocks(unsigned cases, struct tally *t);
static void bit_edges(void)
{
    static const struct {
        uint8_t n, b[12];
    } blocks[] = {
        {5, {0xb1, 0x00, 0xd3, 0xe0, 0xf4}},                   /* mov cl, 0; shl eax, cl */
        {5, {0xb1, 0x20, 0xd3, 0xf8, 0xf4}},                   /* mov cl, 32; sar eax, cl */
        {6, {0xb1, 0x40, 0x48, 0xd3, 0xe8, 0xf4}},             /* mov cl, 64; shr rax, cl */
        {6, {0xb1, 0x3f, 0x48, 0xd3, 0xe0, 0xf4}},             /* mov cl, 63; shl rax, cl */
        {7, {0xb1, 0x00, 0xd3, 0xe0, 0x85, 0xc0, 0xf4}},       /* ...; test eax, eax: dead */
        {8, {0xb1, 0x21, 0x41, 0xd3, 0xe1, 0x01, 0xc0, 0xf4}}, /* shl r9d, cl; add: dead */
        {6, {0x48, 0xd3, 0xea, 0x72, 0x00, 0xf4}},             /* shr rdx, cl; jc */
        {5, {0xd3, 0xf8, 0xff, 0xc1, 0xf4}},                   /* sar eax, cl; inc ecx */
        {6, {0x31, 0xd2, 0x0f, 0xbc, 0xc2, 0xf4}},             /* xor edx, edx; bsf eax, edx */
        {7, {0x31, 0xc0, 0x48, 0x0f, 0xbd, 0xc0, 0xf4}},       /* xor eax, eax; bsr rax, rax */
        {5, {0x48, 0x0f, 0xbc, 0xc0, 0xf4}},                   /* bsf rax, rax */
        {5, {0xf3, 0x0f, 0xbc, 0xc2, 0xf4}},                   /* tzcnt (bsf) eax, edx */
        {5, {0x45, 0x0f, 0xbd, 0xd3, 0xf4}},                   /* bsr r10d, r11d */
        {6, {0x0f, 0xbc, 0xc2, 0x74, 0x00, 0xf4}},             /* bsf eax, edx; jz */
        {7, {0x0f, 0xba, 0xe0, 0x1f, 0x72, 0x00, 0xf4}},       /* bt eax, 31; jc */
        {6, {0x48, 0x0f, 0xba, 0xe0, 0xff, 0xf4}},             /* bt rax, 255 */
        {7, {0x0f, 0xba, 0x64, 0x24, 0x0c, 0x0a, 0xf4}},       /* bt dword [rsp + 12], 10 */
        {7, {0x49, 0x0f, 0xba, 0x67, 0x10, 0x45, 0xf4}},       /* bt qword [r15 + 16], 69 */
        {11, {0x0f, 0xba, 0xe0, 0x03, 0x0f, 0xbc, 0xc2, 0x0f, 0x92, 0xc1, 0xf4}}, /* bt; bsf; setc */
    };
    struct tally t = {0};
    section = "bit form edges";
    unsigned failed = 0;
    for (unsigned k = 0; k < sizeof(blocks) / sizeof(blocks[0]) && !failed; k++) {
        struct code c = {.n = blocks[k].n, .insns = 1};
        memcpy(c.b, blocks[k].b, blocks[k].n);
        given = &c;
        failed += random_blocks(300, &t);
    }
    given = NULL;
    if (!failed)
        printf("PASS: emu JIT: %u blocks of bit forms at their edges from 300 random states each, "
               "the same as the interpreter (%u SHx r, CL, %u BSF/BSR, %u BT r, %u BT [m] "
               "native)\n",
               (unsigned)(sizeof(blocks) / sizeof(blocks[0])), t.bits[0], t.bits[1], t.bits[2],
               t.bits[3]);
}

/* The SETcc, XCHG and CMPXCHG forms the random blocks must have
 * compiled natively. */
static void atomic_floors(const struct tally *t)
{
    for (int k = 0; k < 4; k++) {
        if (t->atomic[k] < CASES / 20 || t->atomic_called < CASES / 1000) {
            printf("FAIL: emu JIT: only %u %s compiled natively (%u SETcc [m] called)\n",
                   t->atomic[k], atomic_names[k], t->atomic_called);
            test_failures++;
            return;
        }
    }
    printf("PASS: emu JIT: the random blocks' atomic forms as the host's instruction: %u SETcc "
           "[m] (%u called: parity after an unknown state), %u XCHG [m], %u XCHG r, r, %u "
           "CMPXCHG [m]\n",
           t->atomic[A_SETCC], t->atomic_called, t->atomic[A_XCHG], t->atomic[A_XCHG_RR],
           t->atomic[A_CMPXCHG]);
}

/* Every string compare with every imm8, on registers and on memory
 * (misaligned, across a page, faulting), its flags and ECX or XMM0 read
 * after it; then random blocks on a JIT told the host lacks SSSE3 and
 * SSE4.2, whose PSHUFB and string compares must call their handler. */
static unsigned random_blocks(unsigned cases, struct tally *t);
static void string_compares(void)
{
    struct tally t = {0};
    section = "string compares";
    unsigned failed = 0;
    for (str_opc = 0x60; str_opc <= 0x63 && !failed; str_opc++)
        for (str_imm = 0; str_imm < 256 && !failed; str_imm++)
            failed += random_blocks(4, &t);
    str_opc = 0;
    if (!failed && (t.str < 4 * 256 * 4 * 3 / 4 || t.str_jcc < t.str / 8)) {
        printf("FAIL: emu JIT: only %u string compares as the host's instruction, %u closed "
               "by a native Jcc\n", t.str, t.str_jcc);
        failed = 1;
        test_failures++;
    }
    if (!failed)
        printf("PASS: emu JIT: PCMPESTRM/ESTRI/ISTRM/ISTRI with every imm8, %u as the host's "
               "instruction (%u closed by a native Jcc on their flags), the same as the "
               "interpreter (%u #UD with SSE4.2 off)\n",
               t.str, t.str_jcc, t.str_ud);
    unsigned isa = fx.evm.jit->host_isa;
    fx.evm.jit->host_isa = 0;
    section = "blocks without the host's SSSE3 and SSE4.2";
    struct tally n = {0};
    if (random_blocks(2000, &n) == 0)
        printf("PASS: emu JIT: 2000 random blocks on a JIT without the host's SSSE3 and SSE4.2 "
               "(PSHUFB and the string compares called), the same as the interpreter\n");
    fx.evm.jit->host_isa = isa;
}

/* cases random blocks (at most 5 failures): how many failed. */
static unsigned random_blocks(unsigned cases, struct tally *t)
{
    unsigned failed = 0;
    for (unsigned k = 0; k < cases && failed < 5; k++)
        failed += !random_block(k, t);
    test_failures += failed;
    return failed;
}

/* Crowded random blocks (gen_crowded_block), each from an empty data
 * TLB, against the interpreter; most must crowd the register pool with
 * memory forms among the held registers. */
#define CROWDED_CASES 2000
static void crowded_blocks(void)
{
    struct tally t = {0};
    section = "crowded blocks";
    calm = crowded = true;
    unsigned failed = random_blocks(CROWDED_CASES, &t);
    calm = crowded = false;
    if (failed)
        return;
    if (t.crowded < CROWDED_CASES / 2 || t.kinds[K_NOT_NEG] < CROWDED_CASES / 2) {
        printf("FAIL: emu JIT: crowded blocks: only %u of %u crowd the register pool before a "
               "memory form, %u NOT/NEG\n", t.crowded, CROWDED_CASES, t.kinds[K_NOT_NEG]);
        test_failures++;
        return;
    }
    printf("PASS: emu JIT: %u blocks of native forms on 13 registers and memory forms from an "
           "empty data TLB, the same as the interpreter (%u with more than %u registers held "
           "before a memory form, %u ALU/MOV on memory, %u NOT/NEG)\n",
           CROWDED_CASES, t.crowded, JIT_POOL + 1, t.alu_mem, t.kinds[K_NOT_NEG]);
}

/* The closing of a self loop: the counter at [r15 + 0x100] counted down
 * by a native flag setter (on memory, or on a register loaded from and
 * stored back to it), then a Jcc to the block's own start (CODE) that
 * the setter's lazy state decides (jit_jcc_flags: jit_loop_tail), or, after
 * DEC on memory, sometimes a JG it does not decide (called: jit_loop_back).
 * Whether the Jcc is the called one. */
static bool gen_loop_close(struct code *c)
{
    static const uint8_t dec_mem[] = {0x49, 0xff, 0x8f, 0x00, 0x01, 0x00, 0x00};
    static const uint8_t sub_mem[] = {0x49, 0x83, 0xaf, 0x00, 0x01, 0x00, 0x00, 0x01};
    static const uint8_t ccs[] = {0x5, 0x7, 0xf}; /* NZ, A, G: all end at 0 */
    unsigned r = reg(), cc = ccs[pick(3)], v = pick(4);
    if (v == 0) {
        memcpy(c->b + c->n, dec_mem, sizeof(dec_mem));
        c->n += sizeof(dec_mem);
        cc = pick(2) ? 5 : 0xf; /* after DEC only ZF and SF are known: JG called */
    } else if (v == 1) {
        memcpy(c->b + c->n, sub_mem, sizeof(sub_mem));
        c->n += sizeof(sub_mem);
    } else {
        put(c, 0x49 | (r >> 3) << 2); /* mov r, [r15 + 0x100] */
        put(c, 0x8b);
        put(c, 0x87 | (r & 7) << 3);
        put32(c, 0x100);
        put(c, 0x48 | (r >> 3));
        if (v == 2) { /* sub r, 1 */
            put(c, 0x83);
            put(c, 0xe8 | (r & 7));
            put(c, 1);
        } else { /* dec r; then test r, r below */
            put(c, 0xff);
            put(c, 0xc8 | (r & 7));
        }
        put(c, 0x49 | (r >> 3) << 2); /* mov [r15 + 0x100], r */
        put(c, 0x89);
        put(c, 0x87 | (r & 7) << 3);
        put32(c, 0x100);
        if (v == 3) {
            put(c, 0x48 | (r >> 3) << 2 | (r >> 3));
            put(c, 0x85);
            put(c, 0xc0 | (r & 7) << 3 | (r & 7));
            cc = pick(2) ? 5 : 0xf;
        }
        c->insns += v == 3 ? 3 : 2;
    }
    c->insns += 2;
    int32_t back = -(int32_t)(c->n + 2);
    if (back >= -128) {
        put(c, 0x70 + cc);
        put(c, (unsigned)back & 0xff);
    } else {
        put(c, 0x0f);
        put(c, 0x80 + cc);
        put32(c, (uint32_t)(back - 4));
    }
    return cc == 0xf && v == 0;
}

/* A loop body's first forms: ALU on two registers (ADD, SUB, XOR: both
 * read), so that what the pool holds at the loop's top is read before a
 * memory form's slow path loads the pool again. */
static void gen_loop_head(struct code *c)
{
    static const unsigned ops[] = {0, 5, 6};
    for (unsigned n = 2 + pick(4); n > 0; n--, c->insns++)
        op_rr(c, pick(2), ops[pick(3)] * 8 + 1, reg(), reg());
}

/* Self loops through emu_cpu_run: one block, native forms crowding the
 * register pool (held across iterations), memory forms whose first
 * access misses the data TLB, a called form now and then, closed by
 * gen_loop_close; the end state must be the interpreter's. Then the
 * block's compiled code called once, with no link or jump-cache entry
 * to go on by, must run every iteration itself (jit_loop_tail, jit_loop_back)
 * and end in that state too. */
#define SELF_LOOPS 80
static int self_loops(void)
{
    struct accel_exit exit;
    struct code c;
    unsigned crowding = 0, called_jcc = 0;
    uint64_t insns = 0;
    int rc = 0;
    section = "self loops";
    calm = true;
    for (unsigned k = 0; k < SELF_LOOPS && !rc; k++) {
        c.n = c.insns = 0;
        gen_loop_head(&c);
        for (unsigned n = 4 + pick(28); n > 0; n--, c.insns++) {
            if (pick(12) == 0)
                gen_called(&c);
            else
                gen_crowded(&c);
        }
        called_jcc += gen_loop_close(&c);
        unsigned loop_bytes = c.n;
        put(&c, 0xf4);
        uint64_t iterations = 20 + pick(40);
        run_program(&c, 0x100, iterations, true);
        if (ref.st != ACCEL_EXIT_HLT || ref.insn_count - start.insn_count < iterations * c.insns) {
            printf("FAIL: emu JIT: self loop %u did not run to its HLT (exit %d, %" PRIu64
                   " instructions)\n", k, ref.st, ref.insn_count - start.insn_count);
            return 1;
        }
        if (compare(&c))
            return 1;
        /* The compiled block alone, from the start. */
        restore();
        emu_code_invalidate(&fx.evm, CODE, 4096);
        emu_blocks_free_dead(&fx.evm);
        fx.evm.jit_hot = 0;
        memset(&exit, 0, sizeof(exit));
        cpu.exit = &exit;
        int st;
        struct emu_block *b = emu_block_get(&cpu, &st);
        if (!b || b->bytes != loop_bytes) {
            printf("FAIL: emu JIT: self loop %u is not one block (%u of %u bytes)\n", k,
                   b ? b->bytes : 0, loop_bytes);
            return 1;
        }
        emu_jit_compile(&fx.evm, b);
        if (!b->jit_code) {
            printf("FAIL: emu JIT: self loop %u not compiled\n", k);
            return 1;
        }
        crowding += crowds_pool(b);
        insns += b->n;
        memset(cpu.jcache, 0, sizeof(cpu.jcache));
        cpu.chain_lin = code_at;
        st = run_compiled(b, 1000, NULL);
        uint64_t ran = cpu.insn_count - start.insn_count;
        if (st != EMU_OK || ran != iterations * b->n || cpu.rip != code_at + b->bytes) {
            printf("FAIL: emu JIT: self loop %u's code called once: status %d, %" PRIu64
                   " instructions (%" PRIu64 " iterations of %u expected), RIP %#" PRIx64 "\n",
                   k, st, ran, iterations, b->n, cpu.rip);
            return 1;
        }
        for (int r = 0; r < 16 && !rc; r++)
            if (cpu.gpr[r] != ref.gpr[r])
                rc = report(&c, "a register after the loop's code called once", ref.gpr[r],
                            cpu.gpr[r]);
        if (!rc && emu_rflags(&cpu) != ref.rflags)
            rc = report(&c, "RFLAGS after the loop's code called once", ref.rflags,
                        emu_rflags(&cpu));
        if (!rc && memcmp(fx.ram, ref.ram, RAM))
            rc = report(&c, "memory after the loop's code called once", 0, 0);
    }
    calm = false;
    if (rc)
        return rc;
    if (crowding < SELF_LOOPS / 2 || called_jcc < SELF_LOOPS / 20 ||
        called_jcc > SELF_LOOPS / 2) {
        printf("FAIL: emu JIT: only %u of %u self loops crowd the register pool, %u close with a "
               "called Jcc\n", crowding, SELF_LOOPS, called_jcc);
        return 1;
    }
    printf("PASS: emu JIT: %u self loops (%" PRIu64 " instructions, %u crowding the register pool "
           "before a memory form, %u closed by a called Jcc, the rest by a native one) through "
           "emu_cpu_run end as interpreted, and their code called once runs every iteration to "
           "the same state\n", SELF_LOOPS, insns, crowding, called_jcc);
    return 0;
}

/* Whether b's code, just compiled, calls none of its instructions'
 * executors (code_names). */
static bool calls_nothing(const struct emu_block *b)
{
    for (unsigned i = 0; i < b->n; i++)
        if (code_names(b->jit_body, code_size(b), &b->insns[i]))
            return false;
    return true;
}

/* From the state after restore() with RIP at the loop's top and R13 its
 * count: the loop block run by the interpreter runs times (into ref),
 * then by its compiled code called once with a budget of runs and
 * cpu->events as given (into got); the runs left in the budget into
 * pure_left. */
static int32_t pure_left;
static struct emu_block *pure_run(uint64_t top, uint64_t count, unsigned runs, int32_t budget,
                                  uint32_t events)
{
    struct accel_exit exit;
    int st = EMU_OK;
    restore();
    cpu.rip = top;
    cpu.gpr[13] = count;
    start = cpu;
    memset(&exit, 0, sizeof(exit));
    cpu.exit = &exit;
    emu_code_invalidate(&fx.evm, CODE, 4096);
    emu_blocks_free_dead(&fx.evm);
    fx.evm.jit_hot = 0;
    struct emu_block *b = emu_block_get(&cpu, &st);
    for (unsigned i = 0; i < runs && b && st == EMU_OK; i++)
        st = emu_run_block(&cpu, b);
    record(&ref, st, &exit);
    cpu = start;
    memcpy(fx.ram, start_ram, RAM);
    cpu.exit = &exit;
    memset(&exit, 0, sizeof(exit));
    emu_code_invalidate(&fx.evm, CODE, 4096);
    emu_blocks_free_dead(&fx.evm);
    if (!(b = emu_block_get(&cpu, &st)))
        return NULL;
    emu_jit_compile(&fx.evm, b);
    if (!b->jit_code)
        return NULL;
    memset(cpu.jcache, 0, sizeof(cpu.jcache));
    cpu.chain_lin = top;
    cpu.events = events;
    st = run_compiled(b, budget, &pure_left);
    cpu.events = 0;
    record(&got, st, &exit);
    return b;
}

/* A register form that writes the lazy state without reading it, on
 * RAX..RBX's first nregs: INC/DEC only where the state before keeps CF
 * (*keeps_cf: after a shift, IMUL, INC or DEC), so a loop of these reads
 * the state nowhere and may sink its stores (jit_sink.c). */
static void gen_flag_writer(struct code *c, unsigned nregs, bool *keeps_cf)
{
    bool w = pick(2);
    unsigned r = pick(nregs), m = pick(nregs);
    static const unsigned alu[] = {0, 1, 4, 5, 6, 7};
    switch (pick(9)) {
    case 0: op_rr(c, w, 0x89, r, m); break;
    case 1:
        put(c, 0xb8 + r);
        put32(c, (uint32_t)operand());
        break;
    case 2:
        op_rr(c, w, alu[pick(6)] * 8 + 1, r, m);
        *keeps_cf = false;
        break;
    case 3:
        op_rr(c, w, 0x83, alu[pick(6)], r);
        put(c, pick(256));
        *keeps_cf = false;
        break;
    case 4:
        op_rr(c, w, 0x85, r, m);
        *keeps_cf = false;
        break;
    case 5: { /* SHL, SHR, SAR by 1 to the width less 1 */
        static const unsigned sub[] = {4, 5, 7};
        op_rr(c, w, 0xc1, sub[pick(3)], r);
        put(c, 1 + pick(w ? 63 : 31));
        *keeps_cf = true;
        break;
    }
    case 6:
        op_rr(c, w, 0x6b, r, m);
        put(c, pick(256));
        *keeps_cf = true;
        break;
    case 7:
        if (*keeps_cf) {
            op_rr(c, w, 0xff, pick(2), r);
        } else {
            op_rr(c, w, 0xf7, 3, r); /* NEG */
            *keeps_cf = false;
        }
        break;
    default: op_rr(c, w, 0xf7, 2, r); break; /* NOT */
    }
}

/* Self loops of register forms only, counted down in R13 (which they
 * never write), closed by DEC or SUB and a native JNZ: the pure loop
 * (jit_compile.c) that calls nothing, holds its registers dirty across
 * iterations and counts them in a host register. Through emu_cpu_run,
 * then its code called once: with a budget smaller than the count it
 * must stop after budget + 1 runs, with an event posted after one run,
 * and otherwise run to the end, each time in the interpreter's state. */
#define PURE_LOOPS 120
static int pure_loops(void)
{
    struct code c;
    unsigned pure = 0, sunk = 0;
    int rc = 0;
    section = "pure loops";
    calm = regs_only = true;
    for (unsigned k = 0; k < PURE_LOOPS && !rc; k++) {
        uint32_t count = 30 + pick(40);
        c.n = c.insns = 0;
        put(&c, 0x41); /* mov r13d, count */
        put(&c, 0xbd);
        put32(&c, count);
        unsigned top = c.n;
        /* Every other loop writes the lazy state and reads it nowhere,
         * on few registers: the pool has spares for its stores, or not
         * for all of them. */
        bool quiet = k & 1, keeps_cf = false;
        unsigned nregs = 1 + pick(4);
        if (!quiet)
            gen_loop_head(&c);
        for (unsigned n = 3 + pick(24); n > 0; n--, c.insns++) {
            if (quiet)
                gen_flag_writer(&c, nregs, &keeps_cf);
            else
                gen_native(&c);
        }
        if (pick(2) && (!quiet || keeps_cf)) { /* dec r13d */
            put(&c, 0x41);
            put(&c, 0xff);
            put(&c, 0xcd);
        } else { /* sub r13, 1 */
            put(&c, 0x49);
            put(&c, 0x83);
            put(&c, 0xed);
            put(&c, 1);
        }
        int32_t back = -(int32_t)(c.n - top + 2);
        if (back >= -128) {
            put(&c, 0x75);
            put(&c, (unsigned)back & 0xff);
        } else {
            put(&c, 0x0f);
            put(&c, 0x85);
            put32(&c, (uint32_t)(back - 4));
        }
        put(&c, 0xf4);
        run_program(&c, 0x100, 0, true);
        if (ref.st != ACCEL_EXIT_HLT) {
            printf("FAIL: emu JIT: pure loop %u did not run to its HLT (exit %d)\n", k, ref.st);
            rc = 1;
            break;
        }
        if ((rc = compare(&c)))
            break;
        uint64_t at = code_at + top;
        unsigned budget = 2 + pick(count - 4);
        uint64_t sunk_before = fx.evm.jit->sunk_loops;
        struct emu_block *b = pure_run(at, count, budget + 1, (int32_t)budget, 0);
        sunk += fx.evm.jit->sunk_loops != sunk_before;
        if (!b) {
            printf("FAIL: emu JIT: pure loop %u not compiled\n", k);
            rc = 1;
            break;
        }
        if (ref.rip != at || ref.insn_count - start.insn_count != (budget + 1) * b->n) {
            printf("FAIL: emu JIT: pure loop %u: the interpreter's %u runs ended elsewhere\n", k,
                   budget + 1);
            rc = 1;
            break;
        }
        if ((rc = compare(&c)))
            break;
        /* Each run that ends is taken from the budget (jit_pure_tail). */
        int32_t left[3] = {pure_left};
        pure += calls_nothing(b);
        unsigned bytes = b->bytes; /* b is dropped by the next runs' invalidation */
        pure_run(at, count, 1, 1000, EMU_EV_KICK);
        left[1] = pure_left;
        if ((rc = compare(&c)))
            break;
        pure_run(at, count, count, 1000, 0);
        left[2] = pure_left;
        if (ref.rip != at + bytes) {
            printf("FAIL: emu JIT: pure loop %u did not end in %u runs\n", k, count);
            rc = 1;
            break;
        }
        if ((rc = compare(&c)))
            break;
        if (left[0] != -1 || left[1] != 999 || left[2] != 1000 - (int32_t)count) {
            printf("FAIL: emu JIT: pure loop %u: runs left in the budget %d, %d, %d; expected "
                   "-1, 999, %d\n", k, left[0], left[1], left[2], 1000 - (int32_t)count);
            rc = 1;
        }
    }
    calm = regs_only = false;
    if (rc)
        return rc;
    if (pure < PURE_LOOPS / 2) {
        printf("FAIL: emu JIT: only %u of %u register-only loops call nothing\n", pure,
               PURE_LOOPS);
        return 1;
    }
    if (sunk < PURE_LOOPS / 2 * 3 / 4) {
        printf("FAIL: emu JIT: only %u of %u loops reading no lazy state sank its stores\n", sunk,
               PURE_LOOPS / 2);
        return 1;
    }
    printf("PASS: emu JIT: %u self loops of register forms (%u calling nothing, %u with their "
           "lazy-flag stores sunk to their ways out), through emu_cpu_run and their code called "
           "once with a budget, with an event posted and to their end, the same as the "
           "interpreter\n", PURE_LOOPS, pure, sunk);
    return 0;
}

/* Self loops closed by JMP (jmp_end, then jit_loop_back with the registers
 * still held), which only chain_left ends: the block's code called once
 * with a budget of k more blocks must run it k + 1 times, as the
 * interpreter's run_block does one after another. */
#define JMP_LOOPS 60
static int jmp_loops(void)
{
    struct accel_exit exit;
    struct code c;
    unsigned crowding = 0;
    uint64_t runs = 0;
    int rc = 0;
    section = "JMP self loops";
    calm = true;
    for (unsigned k = 0; k < JMP_LOOPS && !rc; k++) {
        c.n = c.insns = 0;
        gen_loop_head(&c);
        for (unsigned n = 2 + pick(28); n > 0; n--, c.insns++) {
            if (pick(16) == 0)
                gen_called(&c);
            else
                gen_crowded(&c);
        }
        int32_t back = -(int32_t)(c.n + 2);
        if (back >= -128) {
            put(&c, 0xeb);
            put(&c, (unsigned)back & 0xff);
        } else {
            put(&c, 0xe9);
            put32(&c, (uint32_t)(back - 3));
        }
        c.insns++;
        memset(fx.ram + CODE, 0, 4096);
        memcpy(fx.ram + CODE, c.b, c.n);
        for (uint64_t i = DATA; i < RAM; i++)
            fx.ram[i] = (uint8_t)rnd();
        random_state(&cpu);
        emu_tlb_flush(&cpu);
        memset(&exit, 0, sizeof(exit));
        cpu.exit = &exit;
        start = cpu;
        memcpy(start_ram, fx.ram, RAM);
        unsigned budget = 5 + pick(30);
        emu_code_invalidate(&fx.evm, CODE, 4096);
        emu_blocks_free_dead(&fx.evm);
        fx.evm.jit_hot = 0;
        int st = EMU_OK;
        for (unsigned i = 0; i <= budget && st == EMU_OK; i++) {
            struct emu_block *b = emu_block_get(&cpu, &st);
            if (!b || b->bytes != c.n) {
                printf("FAIL: emu JIT: JMP self loop %u is not one block\n", k);
                return 1;
            }
            st = emu_run_block(&cpu, b);
        }
        record(&ref, st, &exit);
        restore();
        emu_code_invalidate(&fx.evm, CODE, 4096);
        emu_blocks_free_dead(&fx.evm);
        struct emu_block *b = emu_block_get(&cpu, &st);
        emu_jit_compile(&fx.evm, b);
        if (!b->jit_code) {
            printf("FAIL: emu JIT: JMP self loop %u not compiled\n", k);
            return 1;
        }
        crowding += crowds_pool(b);
        memset(cpu.jcache, 0, sizeof(cpu.jcache));
        cpu.chain_lin = code_at;
        st = run_compiled(b, (int32_t)budget, NULL);
        record(&got, st, &exit);
        if (ref.st != EMU_OK || ref.insn_count - start.insn_count != (budget + 1) * b->n) {
            printf("FAIL: emu JIT: JMP self loop %u: the interpreter's runs ended with status %d\n",
                   k, ref.st);
            return 1;
        }
        rc = compare(&c);
        runs += budget + 1;
    }
    calm = false;
    if (rc)
        return rc;
    if (crowding < JMP_LOOPS / 2) {
        printf("FAIL: emu JIT: only %u of %u JMP self loops crowd the register pool\n", crowding,
               JMP_LOOPS);
        return 1;
    }
    printf("PASS: emu JIT: %u self loops closed by JMP (%u crowding the register pool), their "
           "code called once with a budget of blocks, the same as %" PRIu64 " interpreted runs\n",
           JMP_LOOPS, crowding, runs);
    return 0;
}

/* Directed cases of jit_native_atomic.c's forms, the operand at
 * DATA + 0x40 (through R15, RDI = DATA, RSP, RIP-relative) or across the
 * data page's end, each from random states, interpreted and compiled:
 * warm (the operand's page in the write TLB, the read TLB empty) and
 * cold (both empty); CMPXCHG with the accumulator made equal to the
 * operand, and not; SETcc after a state the block sets and one it does
 * not know (the shared host_flags; a Jcc on parity after it). Warm, a
 * memory form in one page must not call its handler: the handler would
 * read the operand through the read TLB and fill it (the interpreted run
 * must, the compiled one must not). With the data page read-only
 * (read_only: its translation in the read TLB when warm), each must be
 * #PF with P and W set, CMPXCHG's compare failing or not. */
struct atomic_case {
    const char *what;
    uint8_t code[16];
    unsigned n;
    unsigned rel_at;   /* a rel32 to DATA + 0x40 there (0: none), RIP the instruction's end */
    unsigned rel_end;
    unsigned size;     /* the operand's; 0: no memory operand */
    bool straddles;    /* the operand across the data page's end */
    bool eq;           /* the accumulator made equal to the operand */
    bool handler_reads; /* the handler reads the operand (XCHG, CMPXCHG) */
    unsigned at;        /* the form's offset (after a flag setter) */
};

static const struct atomic_case atomic_cases[] = {
    {"LOCK CMPXCHG [r15 + 0x40], edx (equal)",
     {0xf0, 0x41, 0x0f, 0xb1, 0x57, 0x40, 0xf4}, 7, 0, 0, 4, false, true, true, 0},
    {"LOCK CMPXCHG [r15 + 0x40], edx",
     {0xf0, 0x41, 0x0f, 0xb1, 0x57, 0x40, 0xf4}, 7, 0, 0, 4, false, false, true, 0},
    {"LOCK CMPXCHG [r15 + 0x40], rdx (equal)",
     {0xf0, 0x49, 0x0f, 0xb1, 0x57, 0x40, 0xf4}, 7, 0, 0, 8, false, true, true, 0},
    {"LOCK CMPXCHG [r15 + 0x40], rdx",
     {0xf0, 0x49, 0x0f, 0xb1, 0x57, 0x40, 0xf4}, 7, 0, 0, 8, false, false, true, 0},
    {"LOCK CMPXCHG [r15 + 0x40], dl (equal)",
     {0xf0, 0x41, 0x0f, 0xb0, 0x57, 0x40, 0xf4}, 7, 0, 0, 1, false, true, true, 0},
    {"CMPXCHG [rdi + 0x40], ah", {0x0f, 0xb0, 0x67, 0x40, 0xf4}, 5, 0, 0, 1, false, false, true, 0},
    {"CMPXCHG [rdi + 0x40], edx; JNE (equal)",
     {0x0f, 0xb1, 0x57, 0x40, 0x75, 0x00}, 6, 0, 0, 4, false, true, true, 0},
    {"CMPXCHG [rdi + 0x40], edx; JNE",
     {0x0f, 0xb1, 0x57, 0x40, 0x75, 0x00}, 6, 0, 0, 4, false, false, true, 0},
    {"LOCK CMPXCHG [rip + rel32], edx (equal)",
     {0xf0, 0x0f, 0xb1, 0x15, 0, 0, 0, 0, 0xf4}, 9, 4, 8, 4, false, true, true, 0},
    {"LOCK CMPXCHG [DATA + 0xffe], edx (equal)",
     {0xf0, 0x0f, 0xb1, 0x14, 0x25, 0xfe, 0x0f, 0x02, 0x00, 0xf4}, 10, 0, 0, 4, true, true, true, 0},
    {"LOCK CMPXCHG [DATA + 0xffe], edx",
     {0xf0, 0x0f, 0xb1, 0x14, 0x25, 0xfe, 0x0f, 0x02, 0x00, 0xf4}, 10, 0, 0, 4, true, false, true, 0},
    {"XCHG [rdi + 0x40], eax", {0x87, 0x47, 0x40, 0xf4}, 4, 0, 0, 4, false, false, true, 0},
    {"XCHG [rdi + 0x40], rax", {0x48, 0x87, 0x47, 0x40, 0xf4}, 5, 0, 0, 8, false, false, true, 0},
    {"XCHG [rdi + 0x40], ah", {0x86, 0x67, 0x40, 0xf4}, 4, 0, 0, 1, false, false, true, 0},
    {"XCHG [rip + rel32], eax", {0x87, 0x05, 0, 0, 0, 0, 0xf4}, 7, 2, 6, 4, false, false, true, 0},
    {"XCHG [DATA + 0xffe], eax",
     {0x87, 0x04, 0x25, 0xfe, 0x0f, 0x02, 0x00, 0xf4}, 8, 0, 0, 4, true, false, true, 0},
    {"XCHG rsi, rdi", {0x48, 0x87, 0xf7, 0xf4}, 4, 0, 0, 0, false, false, false, 0},
    {"XCHG esi, esi", {0x87, 0xf6, 0xf4}, 3, 0, 0, 0, false, false, false, 0},
    {"CMP eax, ecx; SETE [rsp + 0x3b]",
     {0x39, 0xc8, 0x0f, 0x94, 0x44, 0x24, 0x3b, 0xf4}, 8, 0, 0, 1, false, false, false, 2},
    {"SETA [r15 + 0x40] (state unknown)",
     {0x41, 0x0f, 0x97, 0x47, 0x40, 0xf4}, 6, 0, 0, 1, false, false, false, 0},
    {"INC r8d; SETB [r15 + 0x40]; JP",
     {0x41, 0xff, 0xc0, 0x41, 0x0f, 0x92, 0x47, 0x40, 0x7a, 0x00}, 10, 0, 0, 1, false, false, false, 3},
    {"ADC eax, ecx; SETP [r15 + 0x40] (called)",
     {0x11, 0xc8, 0x41, 0x0f, 0x9a, 0x47, 0x40, 0xf4}, 8, 0, 0, 1, false, false, false, 2},
};

/* One run of case k: *compiled_reads whether the compiled run filled the
 * read TLB for the operand; false when it differs from the interpreter
 * or (read_only) does not fault as it must. */
static bool atomic_case_run(const struct atomic_case *k, bool warm, bool read_only,
                            bool *compiled_reads, bool *interp_reads)
{
    struct accel_exit exit;
    struct code c = {.n = k->n, .insns = 1};
    memcpy(c.b, k->code, k->n);
    uint64_t lin = k->straddles ? DATA + 0xffe : DATA + 0x40;
    if (k->rel_at) {
        uint64_t rel = lin - (code_at + k->rel_end);
        if (!x_fits_s32((int64_t)rel))
            return true; /* paged: DATA is out of reach */
        memcpy(c.b + k->rel_at, &(uint32_t){(uint32_t)rel}, 4);
    }
    restore_tables();
    memset(fx.ram + CODE, 0xf4, 4096);
    memcpy(fx.ram + CODE, c.b, c.n);
    for (unsigned i = 0; i < 4096; i += 8) {
        uint64_t v = operand();
        memcpy(fx.ram + DATA + i, &v, 8);
    }
    emu_code_invalidate(&fx.evm, CODE, 4096);
    emu_blocks_free_dead(&fx.evm);
    random_state(&cpu);
    emu_set_rflags(&cpu, emu_rflags(&cpu) & ~(uint64_t)RFLAGS_AC);
    cpu.gpr[7] = DATA;
    cpu.gpr[4] = DATA + 0x40 - 0x3b;
    if (k->eq)
        memcpy(&cpu.gpr[0], fx.ram + lin, k->size);
    memset(&exit, 0, sizeof(exit));
    cpu.exit = &exit;
    cpu.xlog_n = cpu.xlog_pos = cpu.held_pos = 0;
    cpu.held_valid = false;
    memset(cpu.tlb_read, 0, sizeof(cpu.tlb_read));
    memset(cpu.tlb_write, 0, sizeof(cpu.tlb_write));
    if (warm) { /* the operand's page (its first byte's) in one TLB */
        uint64_t v;
        if (read_only)
            emu_read(&cpu, SEG_DS, lin, 1, &v);
        else if (emu_read(&cpu, SEG_DS, lin, 1, &v) || emu_write(&cpu, SEG_DS, lin, 1, v))
            return printf("FAIL: emu JIT: %s: the operand not writable\n", k->what), false;
        if (!read_only)
            memset(cpu.tlb_read, 0, sizeof(cpu.tlb_read));
    }
    int st;
    struct emu_block *b = emu_block_get(&cpu, &st);
    if (!b)
        return printf("FAIL: emu JIT: %s: no block (status %d)\n", k->what, st), false;
    memset(cpu.jcache, 0, sizeof(cpu.jcache));
    start = cpu;
    memcpy(start_ram, fx.ram, RAM);
    const struct emu_tlb_entry *slot = &cpu.tlb_read[emu_tlb_slot(lin)];
    st = emu_run_block(&cpu, b);
    *interp_reads = slot->vpage == emu_tlb_tag(&cpu, lin);
    record(&ref, st, &exit);
    restore();
    memset(&exit, 0, sizeof(exit));
    emu_code_invalidate(&fx.evm, CODE, 4096);
    if (!(b = emu_block_get(&cpu, &st)))
        return printf("FAIL: emu JIT: %s: no block the second time\n", k->what), false;
    emu_jit_compile(&fx.evm, b);
    if (!b->jit_code)
        return printf("FAIL: emu JIT: %s: not compiled\n", k->what), false;
    cpu.chain_lin = code_at;
    st = run_compiled(b, 0, NULL);
    *compiled_reads = slot->vpage == emu_tlb_tag(&cpu, lin);
    record(&got, st, &exit);
    if (compare(&c))
        return false;
    if (read_only && k->size &&
        (ref.st != EMU_FAULT || ref.vector != EXC_PF || (ref.error & 3) != 3 ||
         ref.rip != code_at + k->at)) {
        printf("FAIL: emu JIT: %s on a read-only page: status %d, vector %d, error %#x, RIP %#llx "
               "(expected #PF with P and W at the instruction)\n",
               k->what, ref.st, ref.vector, ref.error, (unsigned long long)ref.rip);
        return false;
    }
    return true;
}

static int atomic_directed(bool read_only)
{
    const char *kept = section;
    section = read_only ? "SETcc, XCHG, CMPXCHG on a read-only page" : "SETcc, XCHG, CMPXCHG";
    unsigned runs = 0, fails = 0;
    for (size_t i = 0; i < sizeof(atomic_cases) / sizeof(atomic_cases[0]) && !fails; i++) {
        const struct atomic_case *k = &atomic_cases[i];
        for (unsigned r = 0; r < 64 && !fails; r++, runs++) {
            bool warm = r & 1, compiled_reads, interp_reads;
            if (!atomic_case_run(k, warm, read_only, &compiled_reads, &interp_reads)) {
                fails++;
                break;
            }
            /* Warm in one page: native (no read); the interpreter's handler reads. */
            if (!read_only && warm && k->handler_reads && !k->straddles &&
                (compiled_reads || !interp_reads)) {
                printf("FAIL: emu JIT: %s: warm, the compiled run %s the read TLB (the "
                       "interpreter's %s)\n",
                       k->what, compiled_reads ? "filled" : "did not fill",
                       interp_reads ? "did" : "did not");
                fails++;
            }
        }
    }
    section = kept;
    if (!fails)
        printf("PASS: emu JIT: %u directed runs of SETcc, XCHG, CMPXCHG (%s; TLB warm and cold, "
               "CMPXCHG equal and not, across a page), the same as the interpreter%s\n",
               runs, read_only ? "the data page read-only: #PF with W" : "native when warm",
               read_only ? "" : ", the handler not called when warm");
    return fails;
}

/* 4-level paging: the low 2 MiB identity-mapped but for the page after
 * the data page (AFTER_DATA: an operand across the data page's end is
 * not contiguous in RAM), the last page below the non-canonical hole
 * (HIGH) mapped to CODE, so that a CALL rel32 there can reach a
 * non-canonical target, and the page before it to STACK_LO, so that a
 * stack slot across the two is not contiguous in RAM either (and its
 * second half writes the block's code). */

static void set_entry(uint64_t table, unsigned index, uint64_t entry)
{
    memcpy(fx.ram + table + 8 * index, &entry, 8);
}

static void page_high(void)
{
    memset(fx.ram + PML4, 0, 0x6000);
    set_entry(PML4, 0, (PML4 + 0x1000) | 7);
    set_entry(PML4 + 0x1000, 0, (PML4 + 0x2000) | 7);
    set_entry(PML4 + 0x2000, 0, LOW_PT | 7);
    for (unsigned i = 0; i < 512; i++)
        set_entry(LOW_PT, i, ((uint64_t)i << 12) | 7);
    set_entry(LOW_PT, (DATA >> 12) + 1, AFTER_DATA | 7);
    set_entry(PML4, 255, (PML4 + 0x3000) | 7);
    set_entry(PML4 + 0x3000, 511, (PML4 + 0x4000) | 7);
    set_entry(PML4 + 0x4000, 511, (PML4 + 0x5000) | 7);
    set_entry(PML4 + 0x5000, 511, CODE | 7);
    set_entry(PML4 + 0x5000, 510, STACK_LO | 7);
    cpu.cr3 = PML4;
    cpu.cr4 |= CR4_PAE;
    cpu.cr0 |= 0x80000000u; /* PG */
    emu_update_mode(&cpu);
    emu_tlb_flush(&cpu);
    code_at = HIGH;
    keep_tables();
}


/* Non-canonical targets against the SDM, not only the interpreter: JMP
 * or CALL through a register and CALL rel32 (at HIGH's end) to
 * 0x800000000000 are #GP(0) at the branch, RSP and the stack untouched,
 * interpreted and compiled; and a fetch there (sequential execution off
 * the canonical end, an instruction straddling into it) is #GP(0), never
 * a walk of the address's low 48 bits (#PF, or another page's code). */
#define NONCANON 0x0000800000000000ull
static int noncanonical_case(const char *what, const uint8_t *code, unsigned n, unsigned at,
                             bool jit)
{
    struct accel_exit exit;
    memset(fx.ram + CODE, 0x90, 4096);
    memcpy(fx.ram + CODE + at, code, n);
    emu_code_invalidate(&fx.evm, CODE, 4096);
    emu_blocks_free_dead(&fx.evm);
    random_state(&cpu);
    cpu.rip = HIGH + at;
    cpu.gpr[0] = NONCANON;
    cpu.gpr[4] = STACK;
    emu_set_rflags(&cpu, 2);
    uint64_t slot;
    memcpy(&slot, fx.ram + STACK - 8, 8);
    memset(&exit, 0, sizeof(exit));
    cpu.exit = &exit;
    /* The slot in the write TLB: a CALL's probe hits, so only the target
     * check keeps its fast path from pushing */
    if (emu_write(&cpu, SEG_SS, STACK - 8, 8, slot) != EMU_OK) {
        printf("FAIL: emu JIT: %s: the stack slot not writable\n", what);
        return 1;
    }
    int st;
    struct emu_block *b = emu_block_get(&cpu, &st);
    if (!b) {
        printf("FAIL: emu JIT: %s: no block (status %d)\n", what, st);
        return 1;
    }
    if (jit) {
        emu_jit_compile(&fx.evm, b);
        if (!b->jit_code) {
            printf("FAIL: emu JIT: %s: not compiled\n", what);
            return 1;
        }
        cpu.chain_left = 0;
        cpu.chain_lin = cpu.rip;
        st = b->jit_code(&cpu, b);
    } else {
        st = emu_run_block(&cpu, b);
    }
    uint64_t slot_after;
    memcpy(&slot_after, fx.ram + STACK - 8, 8);
    uint64_t branch = HIGH + at; /* code is the branch alone */
    if (st != EMU_FAULT || cpu.exc.vector != EXC_GP || cpu.exc.error != 0 || cpu.rip != branch ||
        cpu.gpr[4] != STACK || slot_after != slot) {
        printf("FAIL: emu JIT: %s (%s): status %d, vector %d, error %u, RIP %#llx (the branch: "
               "%#llx), RSP %#llx (was %#llx), stack slot %s\n",
               what, jit ? "compiled" : "interpreted", st, cpu.exc.vector, cpu.exc.error,
               (unsigned long long)cpu.rip, (unsigned long long)branch,
               (unsigned long long)cpu.gpr[4], (unsigned long long)STACK,
               slot_after == slot ? "untouched" : "written");
        return 1;
    }
    return 0;
}

/* A fetch at lin (RIP there, the block cache's lookup; then one step,
 * which fetches afresh): #GP(0), RIP unmoved. */
static int noncanonical_fetch(const char *what, uint64_t rip)
{
    struct accel_exit exit;
    random_state(&cpu);
    cpu.rip = rip;
    memset(&exit, 0, sizeof(exit));
    cpu.exit = &exit;
    emu_code_invalidate(&fx.evm, CODE, 4096);
    int st;
    struct emu_block *b = emu_block_get(&cpu, &st);
    bool got_gp = !b && st == EMU_FAULT && cpu.exc.vector == EXC_GP && cpu.exc.error == 0;
    if (!b && st == EMU_OK) { /* left to the uncached fetch: as one step takes it */
        got_gp = emu_fixture_step_fault(&cpu, EXC_GP, 0, &st);
    }
    if (!got_gp || cpu.rip != rip) {
        printf("FAIL: emu JIT: %s: block %p, status %d, vector %d, error %u, RIP %#llx, CR2 "
               "%#llx (expected #GP(0) at %#llx)\n",
               what, (void *)b, st, cpu.exc.vector, cpu.exc.error, (unsigned long long)cpu.rip,
               (unsigned long long)cpu.cr2, (unsigned long long)rip);
        return 1;
    }
    return 0;
}

static int noncanonical(void)
{
    static const uint8_t jmp_rax[] = {0xff, 0xe0}, call_rax[] = {0xff, 0xd0},
                         call_rel[] = {0xe8, 0, 0, 0, 0};
    static const struct {
        const char *what;
        const uint8_t *code;
        unsigned n, at;
    } cases[] = {
        {"JMP RAX to a non-canonical target", jmp_rax, 2, 0x100},
        {"CALL RAX to a non-canonical target", call_rax, 2, 0x100},
        {"CALL rel32 to a non-canonical target", call_rel, 5, 0x1000 - 5},
    };
    int fails = 0;
    for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
        for (int jit = 0; jit < 2; jit++)
            fails += noncanonical_case(cases[k].what, cases[k].code, cases[k].n, cases[k].at,
                                       jit);
    /* PML4[256] (what 0x800000000000's low 48 bits walk) mapped to the
     * code too: a fetch that walked it would run that code. */
    set_entry(PML4, 256, (PML4 + 0x1000) | 7);
    keep_tables();
    emu_tlb_flush(&cpu);
    fails += noncanonical_fetch("a fetch at 0x800000000000 (mapped if walked)", NONCANON);
    set_entry(PML4, 256, 0);
    keep_tables();
    emu_tlb_flush(&cpu);
    fails += noncanonical_fetch("a fetch at 0x800000000000 (not mapped if walked)", NONCANON);
    /* MOV RAX, imm64 at the last canonical bytes: it runs on into 0x800000000000 */
    memset(fx.ram + CODE, 0x90, 4096);
    fx.ram[CODE + 0xffe] = 0x48;
    fx.ram[CODE + 0xfff] = 0xb8;
    fails += noncanonical_fetch("an instruction straddling into 0x800000000000", HIGH + 0xffe);
    /* A walk that aliased decoded a block elsewhere: none left for the
     * sections after (a store there would end their interpreted runs) */
    emu_code_invalidate(&fx.evm, 0, RAM);
    emu_blocks_free_dead(&fx.evm);
    if (!fails)
        printf("PASS: emu JIT: JMP/CALL through a register and CALL rel32 to a non-canonical "
               "target are #GP(0) at the branch with the stack untouched (interpreted and "
               "compiled); a fetch at or into a non-canonical address is #GP(0)\n");
    return fails;
}

/* Memory forms made native after forms that were called (INC/DEC
 * after any lazy state, the byte ALU read-modify-writes, the word MOVs)
 * and TEST on word registers, each in a block of its own with what sets
 * up its case before it: the compiled code must hold the form's own host
 * access (sig: its bytes, the ModRM's mod and rm bits only where ModRM
 * is 0xc7 in mask) and no call of a register form's handler, and end as
 * the interpreter does with the operand at DATA + off (RDX = that),
 * from a warm TLB (read, then written), an empty one, and across the
 * data page's end. */
struct directed {
    const char *what;
    uint8_t code[12], n, sig[4], mask[4], sig_n;
};

static bool code_has_sig(const uint8_t *code, size_t n, const struct directed *d)
{
    for (size_t i = 0; i + d->sig_n + 1 <= n; i++) {
        const uint8_t *at = code + i;
        size_t k = 0;
        while (k < d->sig_n && (at[k] & d->mask[k]) == d->sig[k]) {
            k++;
            if (k == 1 && d->sig[0] == 0x66 && (at[1] & 0xf0) == 0x40)
                at++; /* 66 REX: the host register's */
        }
        if (k == d->sig_n)
            return true;
    }
    return false;
}

static unsigned directed_faults; /* cases the interpreter ended with an exception */

static int directed_case(const struct directed *d, uint64_t off, int tlb)
{
    struct code c = {.n = d->n};
    struct accel_exit exit;
    memcpy(c.b, d->code, d->n);
    c.b[c.n++] = 0xf4; /* HLT */
    restore_tables();
    memset(fx.ram + CODE, 0, 4096);
    memcpy(fx.ram + CODE, c.b, c.n);
    emu_code_invalidate(&fx.evm, CODE, 4096);
    emu_blocks_free_dead(&fx.evm);
    random_state(&cpu);
    memset(&exit, 0, sizeof(exit));
    cpu.exit = &exit;
    cpu.gpr[2] = DATA + off;
    emu_set_rflags(&cpu, 2 | (rnd() & RFLAGS_ARITH)); /* no AC */
    if (tlb) { /* a read fills the read TLB, a write (which may fault) the write one */
        uint64_t v;
        if (emu_read(&cpu, SEG_DS, DATA + off, 1, &v) == EMU_OK)
            emu_write(&cpu, SEG_DS, DATA + off, 1, v);
        cpu.exc.vector = -1;
    } else {
        emu_tlb_flush(&cpu);
    }
    start = cpu;
    memcpy(start_ram, fx.ram, RAM);
    int st;
    struct emu_block *b = emu_block_get(&cpu, &st);
    if (!b) {
        printf("FAIL: emu JIT: %s: no block (status %d)\n", d->what, st);
        return 1;
    }
    st = emu_run_block(&cpu, b);
    record(&ref, st, &exit);
    directed_faults += st == EMU_FAULT;
    restore();
    memset(&exit, 0, sizeof(exit));
    emu_code_invalidate(&fx.evm, CODE, 4096);
    if ((b = emu_block_get(&cpu, &st)) != NULL)
        emu_jit_compile(&fx.evm, b);
    if (!b || !b->jit_code) {
        printf("FAIL: emu JIT: %s: not compiled\n", d->what);
        return 1;
    }
    size_t n = code_size(b);
    const struct emu_insn *last = &b->insns[b->n - 2]; /* the form, before HLT */
    bool calls = !(last->flags & INSN_MEM) && code_names(b->jit_body, n, last);
    if (!code_has_sig(b->jit_body, n, d) || calls) {
        printf("FAIL: emu JIT: %s: %s\n", d->what,
               calls ? "its handler is called" : "compiled without its native access");
        return 1;
    }
    cpu.chain_lin = code_at;
    st = run_compiled(b, 0, NULL);
    record(&got, st, &exit);
    return compare(&c);
}

static int directed_forms(void)
{
    directed_faults = 0;
    static const struct directed forms[] = {
        /* INC/DEC (%rdx): after the block's unknown state (the shared
         * cf_dl, RCX saved around it), after ADC (inline, RCX too), ADD,
         * INC (CF kept); the store through RCX */
        {"decl (%rdx)", {0xff, 0x0a}, 2, {0x89, 0x01}, {0xff, 0xff}, 2},
        {"incq (%rdx)", {0x48, 0xff, 0x02}, 3, {0x48, 0x89, 0x01}, {0xff, 0xff, 0xff}, 3},
        {"adc %rbx,%rax; incl (%rdx)", {0x48, 0x11, 0xd8, 0xff, 0x02}, 5, {0x89, 0x01},
         {0xff, 0xff}, 2},
        {"add %rbx,%rax; decq (%rdx)", {0x48, 0x01, 0xd8, 0x48, 0xff, 0x0a}, 6,
         {0x48, 0x89, 0x01}, {0xff, 0xff, 0xff}, 3},
        {"inc %eax; decl (%rdx)", {0xff, 0xc0, 0xff, 0x0a}, 4, {0x89, 0x01}, {0xff, 0xff}, 2},
        /* the byte ALU [mem], r8 / imm8: MOV [RDX], AL */
        {"and %al,(%rdx)", {0x20, 0x02}, 2, {0x88, 0x02}, {0xff, 0xff}, 2},
        {"or %bh,(%rdx)", {0x08, 0x3a}, 2, {0x88, 0x02}, {0xff, 0xff}, 2},
        {"sub %sil,(%rdx)", {0x40, 0x28, 0x32}, 3, {0x88, 0x02}, {0xff, 0xff}, 2},
        {"xorb $0x5a,(%rdx)", {0x80, 0x32, 0x5a}, 3, {0x88, 0x02}, {0xff, 0xff}, 2},
        {"addb $0xff,(%rdx)", {0x80, 0x02, 0xff}, 3, {0x88, 0x02}, {0xff, 0xff}, 2},
        /* the word MOVs: 66 [REX] 89/8B with [RCX] */
        {"mov %ax,(%rdx)", {0x66, 0x89, 0x02}, 3, {0x66, 0x89, 0x01}, {0xff, 0xff, 0xc7}, 3},
        {"mov %r9w,(%rdx)", {0x66, 0x44, 0x89, 0x0a}, 4, {0x66, 0x89, 0x01}, {0xff, 0xff, 0xc7},
         3},
        {"mov (%rdx),%cx", {0x66, 0x8b, 0x0a}, 3, {0x66, 0x8b, 0x01}, {0xff, 0xff, 0xc7}, 3},
        {"mov (%rdx),%r9w", {0x66, 0x44, 0x8b, 0x0a}, 4, {0x66, 0x8b, 0x01}, {0xff, 0xff, 0xc7},
         3},
        /* TEST on words: the operands zero-extended from 16 bits (MOVZX) */
        {"test %cx,%cx", {0x66, 0x85, 0xc9}, 3, {0x0f, 0xb7}, {0xff, 0xff}, 2},
        {"test $0x8001,%r10w", {0x66, 0x41, 0xf7, 0xc2, 0x01, 0x80}, 6, {0x0f, 0xb7},
         {0xff, 0xff}, 2},
    };
    static const uint64_t offs[] = {0x100, 0x7ff, 0xfff, 0xffe, 0xffc, 0xff9};
    int fails = 0;
    for (unsigned i = 0; i < sizeof(forms) / sizeof(forms[0]) && fails < 5; i++)
        for (unsigned o = 0; o < sizeof(offs) / sizeof(offs[0]) && fails < 5; o++)
            for (int tlb = 0; tlb < 2 && fails < 5; tlb++)
                for (int k = 0; k < 4 && fails < 5; k++) /* random states, lazy ones too */
                    fails += directed_case(&forms[i], offs[o], tlb);
    return fails;
}

/* JMP and CALL through memory, each way they can go, at HIGH under
 * page_high's paging: compiled the same as interpreted, and as the SDM
 * has it (RIP = the pointer, the return address pushed; #GP(0) for a
 * non-canonical target, #PF for the pointer's or the push's page not
 * present, at the branch with RSP and the stack untouched). After
 * compiling, the decoded instruction's displacement is moved 8 bytes on,
 * to a second pointer that only the handler would read (rm_read takes
 * it from the instruction at run time, compiled code from the
 * displacement compiled in): a case on the native path (the pointer and
 * the stack slot in the TLB) must still go to the first target, one on
 * the slow path (a miss, a pointer across a page) to the second. */
enum branch_path { BP_NATIVE, BP_SLOW, BP_EITHER };
struct branch_case {
    const char *what;
    uint8_t code[8];
    unsigned n;
    uint64_t ptr;              /* the pointer's linear address */
    uint64_t target, rsp, fs;  /* the pointer, RSP, FS's base */
    bool read_tlb, write_tlb;  /* the pointer's page, the stack slot's in the TLB */
    enum branch_path path;     /* BP_EITHER: not moved (the faulting cases) */
    int vector;                /* -1: runs to the target */
    uint32_t error;
    uint64_t cr2;
};

#define BRANCH_AT (HIGH + 0x100)
#define BRANCH_TO (HIGH + 0x40)
#define BRANCH_TO2 (HIGH + 0x80) /* the second pointer's */
static const struct branch_case branch_cases[] = {
    {"JMP [RIP + disp32] (a PLT slot)", {0xff, 0x25, 0xfa, 0x06, 0, 0}, 6, HIGH + 0x800,
     BRANCH_TO, STACK, 0, true, true, BP_NATIVE, -1, 0, 0},
    {"CALL [RIP + disp32]", {0xff, 0x15, 0xfa, 0x06, 0, 0}, 6, HIGH + 0x800, BRANCH_TO, STACK,
     0, true, true, BP_NATIVE, -1, 0, 0},
    {"JMP [R15 + 8]", {0x41, 0xff, 0x67, 0x08}, 4, DATA + 8, BRANCH_TO, STACK, 0, true, true,
     BP_NATIVE, -1, 0, 0},
    {"CALL [RAX + 8]", {0xff, 0x50, 0x08}, 3, DATA + 8, BRANCH_TO, STACK, 0, true, true,
     BP_NATIVE, -1, 0, 0},
    {"CALL [RBP + 0x38]", {0xff, 0x55, 0x38}, 3, DATA + 0x38, BRANCH_TO, STACK, 0, true, true,
     BP_NATIVE, -1, 0, 0},
    {"JMP [R15 + RCX * 8 + 0x10]", {0x41, 0xff, 0x64, 0xcf, 0x10}, 5, DATA + 0x28, BRANCH_TO,
     STACK, 0, true, true, BP_NATIVE, -1, 0, 0},
    {"JMP [R15D + 8] (32-bit addressing)", {0x67, 0x41, 0xff, 0x67, 0x08}, 5, DATA + 8,
     BRANCH_TO, STACK, 0, true, true, BP_NATIVE, -1, 0, 0},
    {"CALL FS:[R15 + 8] (FS's base 0x100)", {0x64, 0x41, 0xff, 0x57, 0x08}, 5, DATA + 0x108,
     BRANCH_TO, STACK, 0x100, true, true, BP_NATIVE, -1, 0, 0},
    {"CALL [RSP - 8] (pushing over its pointer)", {0xff, 0x54, 0x24, 0xf8}, 4, STACK - 8,
     BRANCH_TO, STACK, 0, true, true, BP_NATIVE, -1, 0, 0},
    {"CALL [RSP]", {0xff, 0x14, 0x24}, 3, STACK, BRANCH_TO, STACK, 0, true, true, BP_NATIVE,
     -1, 0, 0},
    {"JMP [R15 + 8], the TLB empty", {0x41, 0xff, 0x67, 0x08}, 4, DATA + 8, BRANCH_TO, STACK, 0,
     false, false, BP_SLOW, -1, 0, 0},
    {"CALL [R15 + 8], the stack slot not in the TLB", {0x41, 0xff, 0x57, 0x08}, 4, DATA + 8,
     BRANCH_TO, STACK, 0, true, false, BP_SLOW, -1, 0, 0},
    {"JMP [R15 + 0xffc], the pointer across a page", {0x41, 0xff, 0xa7, 0xfc, 0x0f, 0, 0}, 7,
     DATA + 0xffc, BRANCH_TO, STACK, 0, true, true, BP_SLOW, -1, 0, 0},
    {"JMP [R15 + 8] to a non-canonical target", {0x41, 0xff, 0x67, 0x08}, 4, DATA + 8, NONCANON,
     STACK, 0, true, true, BP_EITHER, EXC_GP, 0, 0},
    {"CALL [R15 + 8] to a non-canonical target", {0x41, 0xff, 0x57, 0x08}, 4, DATA + 8,
     NONCANON, STACK, 0, true, true, BP_EITHER, EXC_GP, 0, 0},
    {"JMP [RDX], its page not present", {0xff, 0x22}, 2, HIGH - 0x2000 + 0x10, BRANCH_TO, STACK,
     0, false, true, BP_EITHER, EXC_PF, 0, HIGH - 0x2000 + 0x10},
    {"CALL [R15 + 8], the push's page not present", {0x41, 0xff, 0x57, 0x08}, 4, DATA + 8,
     BRANCH_TO, HIGH - 0x1000, 0, true, false, BP_EITHER, EXC_PF, 2, HIGH - 0x1008},
};

/* The case's state: the branch alone at BRANCH_AT, the pointers written
 * (through the paging), the TLB holding what the case says. */
static void branch_case_state(const struct branch_case *k)
{
    memset(fx.ram + CODE, 0x90, 4096);
    memcpy(fx.ram + CODE + (BRANCH_AT - HIGH), k->code, k->n);
    for (uint64_t a = DATA; a < STACK_HI; a++) /* no pointer left by an earlier case */
        fx.ram[a] = (uint8_t)rnd();
    emu_code_invalidate(&fx.evm, CODE, 4096);
    emu_blocks_free_dead(&fx.evm);
    random_state(&cpu);
    cpu.rip = BRANCH_AT;
    cpu.gpr[0] = DATA;
    cpu.gpr[1] = 3;
    cpu.gpr[2] = k->ptr;
    cpu.gpr[4] = k->rsp;
    cpu.gpr[5] = DATA;
    cpu.seg[SEG_FS].base = k->fs;
    emu_set_rflags(&cpu, 2);
    emu_tlb_flush(&cpu);
    if (!(k->ptr >> 12 == (HIGH - 0x2000) >> 12)) {
        emu_write(&cpu, SEG_DS, k->ptr, 8, k->target);
        emu_write(&cpu, SEG_DS, k->ptr + 8, 8, BRANCH_TO2);
    }
    emu_tlb_flush(&cpu);
    uint64_t v;
    if (k->read_tlb)
        emu_read(&cpu, SEG_DS, k->ptr, 8, &v);
    if (k->write_tlb && emu_read(&cpu, SEG_SS, k->rsp - 8, 8, &v) == EMU_OK)
        emu_write(&cpu, SEG_SS, k->rsp - 8, 8, v);
}

/* The case run interpreted into ref, then compiled (the displacement
 * moved unless BP_EITHER) into got: 0 when both are as they must be. */
static int branch_case(const struct branch_case *k)
{
    struct accel_exit exit;
    struct code c;
    memcpy(c.b, k->code, k->n);
    c.n = k->n;
    branch_case_state(k);
    start = cpu;
    memcpy(start_ram, fx.ram, RAM);
    int st;
    uint64_t cr2[2] = {0, 0};
    bool call = false;
    for (int jit = 0; jit < 2; jit++) {
        restore();
        memset(&exit, 0, sizeof(exit));
        cpu.exit = &exit;
        emu_code_invalidate(&fx.evm, CODE, 4096);
        struct emu_block *b = emu_block_get(&cpu, &st);
        if (!b || b->n != 1) {
            printf("FAIL: emu JIT: %s: no block of the branch alone (status %d)\n", k->what, st);
            return 1;
        }
        struct emu_insn *in = (struct emu_insn *)&b->insns[0];
        call = in->fn == ex_call_rm;
        if (jit) {
            emu_jit_compile(&fx.evm, b);
            if (!b->jit_code) {
                printf("FAIL: emu JIT: %s: not compiled\n", k->what);
                return 1;
            }
            if (k->path != BP_EITHER)
                in->disp += 8;
            cpu.chain_lin = cpu.rip;
            st = run_compiled(b, 0, NULL);
            if (k->path != BP_EITHER)
                in->disp -= 8;
        } else {
            st = emu_run_block(&cpu, b);
        }
        cr2[jit] = cpu.cr2;
        record(jit ? &got : &ref, st, &exit);
    }
    emu_code_invalidate(&fx.evm, CODE, 4096);
    emu_blocks_free_dead(&fx.evm);
    cpu.seg[SEG_FS].base = 0;
    if (k->path == BP_SLOW)
        ref.rip = BRANCH_TO2; /* the handler read the second pointer */
    if (compare(&c)) {
        printf("FAIL: emu JIT: %s: compiled not as interpreted%s\n", k->what,
               k->path == BP_NATIVE ? " on the native path" : "");
        return 1;
    }
    /* And as the SDM has it. */
    uint64_t slot = 0, slot_was = 0;
    if (k->rsp == STACK) {
        memcpy(&slot, got.ram + STACK - 8, 8);
        memcpy(&slot_was, start_ram + STACK - 8, 8);
    }
    bool runs = k->vector < 0;
    uint64_t rip = !runs ? BRANCH_AT : k->path == BP_SLOW ? BRANCH_TO2 : BRANCH_TO;
    uint64_t rsp = k->rsp - (runs && call ? 8 : 0);
    uint64_t pushed = runs && call ? BRANCH_AT + k->n : slot_was;
    if (got.st != (runs ? EMU_OK : EMU_FAULT) || got.vector != k->vector ||
        (!runs && got.error != k->error) || got.rip != rip || got.gpr[4] != rsp ||
        slot != pushed || (k->vector == EXC_PF && (cr2[0] != k->cr2 || cr2[1] != k->cr2))) {
        printf("FAIL: emu JIT: %s: status %d, vector %d, error %u, RIP %#llx (expected %#llx), "
               "RSP %#llx (expected %#llx), slot %#llx (expected %#llx), CR2 %#llx\n",
               k->what, got.st, got.vector, got.error, (unsigned long long)got.rip,
               (unsigned long long)rip, (unsigned long long)got.gpr[4],
               (unsigned long long)rsp, (unsigned long long)slot, (unsigned long long)pushed,
               (unsigned long long)cr2[1]);
        return 1;
    }
    return 0;
}

static int mem_branches(void)
{
    int fails = 0;
    section = "JMP/CALL through memory";
    for (unsigned k = 0; k < sizeof(branch_cases) / sizeof(branch_cases[0]); k++)
        fails += branch_case(&branch_cases[k]);
    if (!fails)
        printf("PASS: emu JIT: JMP/CALL through memory (RIP-relative, base + index, 32-bit "
               "addressing, FS:, over their own stack slot) run natively when the TLB holds "
               "the pointer and the slot, through their handler on a miss or a pointer across "
               "a page; non-canonical targets #GP(0), the pointer's or the push's page not "
               "present #PF, at the branch with RSP and the stack untouched\n");
    return fails;
}

int main(void)
{
    setenv("HYPERKIT_EMU_JIT", "1", 1);
    unsetenv("HYPERKIT_EMU_JIT_HOT");
    if (emu_fixture_init(&fx, &cpu, RAM, "emu JIT"))
        return 1;
    if (!fx.evm.jit) { /* emu_fixture_init took HYPERKIT_EMU_JIT=1 */
        printf("SKIP: emu JIT: no JIT on this host\n");
        return 0;
    }
    emu_fixture_long64(&cpu, fx.ram, CODE, STACK);
    emu_update_mode(&cpu);
    struct tally t = {0};
    /* The test must see every way out, and native code in quantity. */
    if (random_blocks(CASES, &t) == 0) {
        unsigned others = t.insns - t.sse; /* the shares of the forms but SSE's */
        if (t.native < others / 4 || t.stops < CASES / 50 || t.ended < CASES / 50 ||
            t.stack < others / 25 || t.stack_ends < CASES / 10 || t.stack_odd < CASES / 20 ||
            t.alu_mem < others / 40 || t.looped < CASES / 50 || t.words < CASES / 20 ||
            t.byte_rmw < CASES / 20 || t.branch_mem < CASES / 20 ||
            t.branch_mem_ok < CASES / 50) {
            printf("FAIL: emu JIT: the cases miss a path (%u native of %u, %u stops, %u ended "
                   "early, %u stack forms, %u CALL/RET ends, %u blocks with them off STACK, "
                   "%u ALU on memory, %u self loops run again, %u word MOVs on memory and "
                   "TESTs, %u byte ALU [mem] native, %u JMP/CALL through memory "
                   "ending a block, %u of them run)\n",
                   t.native, t.insns, t.stops, t.ended, t.stack, t.stack_ends, t.stack_odd,
                   t.alu_mem, t.looped, t.words, t.byte_rmw, t.branch_mem, t.branch_mem_ok);
            test_failures++;
        } else {
            printf("PASS: emu JIT: %u random blocks, %u instructions (%u native, %u stack forms, "
                   "%u CALL/RET ends, %u JMP/CALL through memory ends, %u of them run, %u ALU, "
                   "CMP, TEST or MOV on memory, %u word MOVs on memory and TESTs, %u byte ALU "
                   "[mem]), the same as the interpreter (%u faults or exits, %u blocks ended "
                   "early, %u with an odd RSP or AC, %u self loops run again)\n",
                   CASES, t.insns, t.native, t.stack, t.stack_ends, t.branch_mem,
                   t.branch_mem_ok, t.alu_mem, t.words, t.byte_rmw, t.stops, t.ended,
                   t.stack_odd, t.looped);
        }
    }
    for (int k = 0; k < K_KINDS && !test_failures; k++) {
        if (t.kinds[k] < CASES / 20) {
            printf("FAIL: emu JIT: only %u %s compiled natively\n", t.kinds[k], kind_names[k]);
            test_failures++;
        }
    }
    if (!test_failures)
        sse_floors(&t);
    if (!test_failures)
        bits_floors(&t);
    if (!test_failures)
        atomic_floors(&t);
    if (!test_failures && t.jcc_kept < CASES / 50) {
        printf("FAIL: emu JIT: only %u closing Jccs on the host's flags kept across MOVs, LEA "
               "and the like after their setter\n", t.jcc_kept);
        test_failures++;
    } else if (!test_failures) {
        printf("PASS: emu JIT: %u closing Jccs on the host's flags kept across MOVs, LEA and "
               "the like after their setter\n", t.jcc_kept);
    }
    if (!test_failures)
        printf("PASS: emu JIT: the random blocks' native register forms: %u rotates setting "
               "CF/OF, %u quiet, %u on AH..BH, %u MOVZX/MOVSX/MOVSXD, %u CMOVcc/SETcc, %u NOT/NEG "
               "(%u NEGs whose flags are read), %u flag setters as one host instruction (lazy "
               "state dead), %u CBW/CWDE/CDQE and %u MULs with no call of their handler\n",
               t.kinds[K_ROT_FLAGS], t.kinds[K_ROT_QUIET], t.kinds[K_HIGH8], t.kinds[K_MOVX],
               t.kinds[K_COND], t.kinds[K_NOT_NEG], t.kinds[K_NEG_LIVE], t.kinds[K_DEAD_LF],
               t.kinds[K_CBW], t.kinds[K_MUL]);
    if (atomic_directed(false))
        test_failures++;
    crowded_blocks();
    string_compares();
    bit_edges();
    emu_jit_set_arena_limit(&fx.evm, 4096);
    if (loop_programs())
        test_failures++;
    emu_jit_set_arena_limit(&fx.evm, EMU_JIT_ARENA);
    if (self_loops())
        test_failures++;
    if (jmp_loops())
        test_failures++;
    if (pure_loops())
        test_failures++;
    if (self_loop_programs())
        test_failures++;
    page_high();
    section = "paged blocks";
    struct tally p = {0};
    if (random_blocks(PAGED_CASES, &p) == 0) {
        if (p.call_gp < PAGED_CASES / 50) {
            printf("FAIL: emu JIT: paged blocks: only %u CALLs to a non-canonical target\n",
                   p.call_gp);
            test_failures++;
        } else {
            printf("PASS: emu JIT: %u random blocks at %#llx under 4-level paging, the same as "
                   "the interpreter (%u CALLs to a non-canonical target)\n",
                   PAGED_CASES, (unsigned long long)HIGH, p.call_gp);
        }
    }
    uint64_t rng_kept = rng; /* the sections after see the same cases either way */
    if (noncanonical())
        test_failures++;
    section = "native memory forms";
    if (directed_forms() == 0)
        printf("PASS: emu JIT: INC/DEC [mem] after any lazy state, byte ALU [mem], r8 / imm8, "
               "MOV of words to and from memory and TEST on words compiled natively, the same "
               "as the interpreter from a warm and an empty TLB and across a page (%u "
               "faulted)\n", directed_faults);
    else
        test_failures++;
    if (mem_branches())
        test_failures++;
    rng = rng_kept;
    /* The data page read-only (CR0.WP: for CPL 0 too): every store to it
     * must fault, compiled or not, though its loads fill the read TLB
     * (a store probing that one would write through). */
    set_entry(LOW_PT, DATA >> 12, DATA | 5);
    cpu.cr0 |= CR0_WP;
    keep_tables();
    emu_tlb_flush(&cpu);
    if (atomic_directed(true))
        test_failures++;
    section = "blocks on a read-only data page";
    struct tally r = {0};
    if (random_blocks(PAGED_CASES, &r) == 0) {
        if (r.stops < PAGED_CASES / 4 || r.atomic_pf < PAGED_CASES / 50 ||
            r.atomic_pf_w != r.atomic_pf) {
            printf("FAIL: emu JIT: read-only data: only %u of %u stopped, %u at SETcc, XCHG or "
                   "CMPXCHG by #PF (%u with W)\n",
                   r.stops, PAGED_CASES, r.atomic_pf, r.atomic_pf_w);
            test_failures++;
        } else {
            printf("PASS: emu JIT: %u random blocks with the data page read-only, the same as "
                   "the interpreter (%u faulted or exited, %u at SETcc, XCHG or CMPXCHG by #PF "
                   "with W)\n",
                   PAGED_CASES, r.stops, r.atomic_pf);
        }
    }
    if (directed_forms() == 0)
        printf("PASS: emu JIT: the native memory forms on the read-only data page, the same as "
               "the interpreter (%u faulted)\n", directed_faults);
    else
        test_failures++;
    set_entry(LOW_PT, DATA >> 12, DATA | 7);
    cpu.cr0 &= ~CR0_WP;
    keep_tables();
    emu_tlb_flush(&cpu);
    /* CPL 3, the low 2 MiB (the data page and the stack) supervisor-only
     * and its translations filled by supervisor reads first: each access
     * there must fault, compiled or not (a TLB tag without the user bit
     * would let compiled code through); with CR0.AM, a misaligned one
     * when RFLAGS.AC is set (#AC), on the user stack too. */
    set_entry(PML4 + 0x2000, 0, 0x83);
    keep_tables();
    emu_tlb_flush(&cpu);
    cpu.cr0 |= 1u << 18; /* AM: with RFLAGS.AC, #AC for what is misaligned */
    user_mode = true;
    section = "user blocks";
    struct tally u = {0};
    if (random_blocks(PAGED_CASES, &u) == 0) {
        if (u.stops < PAGED_CASES / 2) {
            printf("FAIL: emu JIT: user blocks: only %u of %u stopped\n", u.stops, PAGED_CASES);
            test_failures++;
        } else {
            printf("PASS: emu JIT: %u random blocks at CPL 3 over supervisor pages the TLB "
                   "holds, the same as the interpreter (%u faulted or exited)\n",
                   PAGED_CASES, u.stops);
        }
    }
    if (directed_forms() == 0)
        printf("PASS: emu JIT: the native memory forms at CPL 3 over supervisor pages, the same "
               "as the interpreter (%u faulted)\n", directed_faults);
    else
        test_failures++;
    user_mode = false;
    cpu.cpl = 0;
    emu_fixture_fini(&fx);
    TEST_EXIT();
}
