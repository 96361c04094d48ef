/*
 * The JIT lockstep tests' instruction generators (emu_jit_harness.h):
 * random encodings of the native forms (MOV, ALU, TEST, INC/DEC, LEA,
 * SHL/SHR/SAR and ROL/ROR by a constant, IMUL, MOVZX/MOVSX/MOVSXD,
 * CMOVcc and SETcc on registers, TEST on words, CBW/CWDE/CDQE, MUL on
 * registers, the byte forms on AL..BH and the REX byte registers, the
 * integer forms on memory, SETcc, XCHG and CMPXCHG, PUSH/POP, the SSE2
 * moves and integer forms, PSHUFB and the string compares, the bit
 * forms) and of called ones (ADC/SBB, shifts and rotates by CL, other
 * 16-bit and byte forms, PUSH/POP of words, other SSE forms, CLTS, a
 * store into the block's own page, a faulting load, an OUT that exits),
 * at their edges often.
 */
#ifndef EMU_JIT_GEN_FORMS_H
#define EMU_JIT_GEN_FORMS_H

#include "emu_jit_harness.h"

static bool regs_only; /* gen_native, gen_byte: register forms that never call (no
                        * memory or stack, CMOVcc/SETcc, ADC/SBB on bytes) */

/* [REX] opcode ModRM(register form). */
static inline void op_rr(struct code *c, bool w, unsigned opc, unsigned r, unsigned m)
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
static inline void byte_rr(struct code *c, unsigned opc)
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
static inline void gen_byte(struct code *c)
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
static inline void gen_movx(struct code *c)
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
static inline void gen_alu_mem(struct code *c, bool before_jcc)
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
static inline void gen_atomic(struct code *c, bool before_jcc)
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

static inline struct sse_mem sse_mem(unsigned reg, unsigned size, bool aligned, bool load)
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
static inline void sse_form(struct code *c, unsigned pfx, bool w, unsigned opc, unsigned reg, int rm,
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
static inline int sse_rm(void)
{
    return pick(2) ? (int)pick(16) : -1;
}

/* PCMPESTRM/ESTRI/ISTRM/ISTRI (66 0F 3A 60-63) xmm, xmm/m128 (any
 * alignment), imm8 (any: every data format, aggregation, polarity and
 * index end), REX.W sometimes (64-bit lengths); the explicit forms'
 * lengths in RAX and RDX, sometimes set right before (small, negative,
 * past 16, with upper bits). */
static inline void gen_str_cmp(struct code *c, unsigned opc, unsigned imm)
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
static inline void gen_sse(struct code *c)
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
static inline void gen_bits(struct code *c, bool mem)
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
static inline void put_cbw(struct code *c)
{
    if (pick(3) == 0)
        put(c, 0x66);
    else if (pick(2))
        put(c, 0x48);
    put(c, 0x98);
}

/* A native form. */
static inline void gen_native(struct code *c)
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
static inline void gen_called(struct code *c)
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

#endif
