/*
 * A small x86-64 machine-code emitter for the JIT: the few instruction
 * forms it needs, with memory operands [base + disp] in their shortest
 * encoding (no displacement, disp8, disp32: code size is what keeps the
 * compiled code in the instruction cache). Bytes go
 * to a bounded buffer; running past its end sets `full` and writes
 * nothing more, so the caller checks once at the end.
 */
#ifndef HK_EMU_JIT_X86_H
#define HK_EMU_JIT_X86_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* A block's code is built in two sections, joined at the end (jit_join):
 * the hot one, run in order, and the cold one after it (slow paths), so
 * that the code the guest usually runs is dense in the instruction cache.
 * Positions in the cold one carry JIT_COLD; a jump from one section into
 * the other, or to an absolute address from the cold one (whose address
 * is known only at the join), is patched then, from its fixup. */
#define JIT_COLD 0x80000000u
#define JIT_FIXUPS 1024
struct jit_fixups {
    unsigned n;
    struct jit_fixup {
        uint32_t at, target;  /* rel32 position, position it jumps to */
        const void *abs;      /* or this address, when not NULL */
    } v[JIT_FIXUPS];
};

struct jit_buf {
    uint8_t *start, *p, *end;
    bool full;
    uintptr_t base;          /* where start will run (x_patch_abs), 0: unknown */
    uint32_t pos_base;       /* 0, or JIT_COLD for a cold section */
    struct jit_fixups *fix;  /* the patches jit_join makes (NULL: one section only) */
};

enum {
    X_RAX, X_RCX, X_RDX, X_RBX, X_RSP, X_RBP, X_RSI, X_RDI,
    X_R8, X_R9, X_R10, X_R11, X_R12, X_R13, X_R14, X_R15,
};

/* ALU opcode groups (the /digit of 81 and the row of 01, 09, ...). */
enum { X_ADD, X_OR, X_ADC, X_SBB, X_AND, X_SUB, X_XOR, X_CMP };

/* Condition codes of Jcc and SETcc. */
enum { X_CC_O = 0, X_CC_B = 2, X_CC_E = 4, X_CC_NE = 5, X_CC_A = 7, X_CC_L = 12, X_CC_LE = 14 };

static inline uint32_t jb_pos(const struct jit_buf *j)
{
    return j->pos_base + (uint32_t)(j->p - j->start);
}

/* A patch jit_join makes; no room: the block is not compiled (full). */
static inline void jb_fixup(struct jit_buf *j, uint32_t at, uint32_t target, const void *abs)
{
    if (!j->fix || j->fix->n == JIT_FIXUPS) {
        j->full = true;
        return;
    }
    j->fix->v[j->fix->n++] = (struct jit_fixup){at, target, abs};
}

static inline void jb_bytes(struct jit_buf *j, const void *v, size_t n)
{
    if ((size_t)(j->end - j->p) < n) {
        j->full = true;
        j->p = j->end;
        return;
    }
    memcpy(j->p, v, n);
    j->p += n;
}

static inline void jb_u8(struct jit_buf *j, uint8_t v)
{
    jb_bytes(j, &v, 1);
}

static inline void jb_u32(struct jit_buf *j, uint32_t v)
{
    jb_bytes(j, &v, 4);
}

static inline void jb_u64(struct jit_buf *j, uint64_t v)
{
    jb_bytes(j, &v, 8);
}

static inline bool x_fits_s32(int64_t v)
{
    return v == (int64_t)(int32_t)v;
}

/* REX when any of W, R, X, B is needed. */
static inline void x_rex(struct jit_buf *j, bool w, unsigned r, unsigned b)
{
    uint8_t v = (uint8_t)(0x40 | (w ? 8 : 0) | ((r >> 3) & 1) << 2 | ((b >> 3) & 1));
    if (v != 0x40)
        jb_u8(j, v);
}

/* ModRM (and SIB for an RSP/R12 base) for [base + disp]: no
 * displacement when it is 0 (but for an RBP/R13 base, whose mod 00 means
 * RIP-relative or disp32), else disp8 when it fits, else disp32. */
static inline void x_modrm_mem(struct jit_buf *j, unsigned reg, unsigned base, int32_t disp)
{
    unsigned mod = disp == 0 && (base & 7) != X_RBP ? 0x00 : disp == (int8_t)disp ? 0x40 : 0x80;
    jb_u8(j, (uint8_t)(mod | (reg & 7) << 3 | (base & 7)));
    if ((base & 7) == X_RSP)
        jb_u8(j, 0x24);
    if (mod == 0x40)
        jb_u8(j, (uint8_t)disp);
    else if (mod == 0x80)
        jb_u32(j, (uint32_t)disp);
}

/* opc reg, [base + disp] (or the other way round, as opc says). */
static inline void x_op_mem(struct jit_buf *j, bool w, uint8_t opc, unsigned reg, unsigned base,
                            int32_t disp)
{
    x_rex(j, w, reg, base);
    jb_u8(j, opc);
    x_modrm_mem(j, reg, base, disp);
}

/* opc reg, [base + index + disp32] (or the other way round, as opc says);
 * index never RSP. */
static inline void x_op_mem_idx(struct jit_buf *j, bool w, uint8_t opc, unsigned reg,
                                unsigned base, unsigned index, int32_t disp)
{
    uint8_t rex = (uint8_t)(0x40 | (w ? 8 : 0) | ((reg >> 3) & 1) << 2 | ((index >> 3) & 1) << 1 |
                            ((base >> 3) & 1));
    if (rex != 0x40)
        jb_u8(j, rex);
    jb_u8(j, opc);
    jb_u8(j, (uint8_t)(0x80 | (reg & 7) << 3 | 4)); /* SIB, disp32 */
    jb_u8(j, (uint8_t)((index & 7) << 3 | (base & 7)));
    jb_u32(j, (uint32_t)disp);
}

/* opc with register operands: reg in ModRM.reg, rm in ModRM.rm. */
static inline void x_op_rr(struct jit_buf *j, bool w, uint8_t opc, unsigned reg, unsigned rm)
{
    x_rex(j, w, reg, rm);
    jb_u8(j, opc);
    jb_u8(j, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}

/* 0F opc reg, [base + disp] (MOVZX, MOVSX, ...). */
static inline void x_op0f_mem(struct jit_buf *j, bool w, uint8_t opc, unsigned reg, unsigned base,
                              int32_t disp)
{
    x_rex(j, w, reg, base);
    jb_u8(j, 0x0f);
    jb_u8(j, opc);
    x_modrm_mem(j, reg, base, disp);
}

/* MOV reg, [base + disp]: 32-bit zero-extends. */
static inline void x_load(struct jit_buf *j, bool w, unsigned reg, unsigned base, int32_t disp)
{
    x_op_mem(j, w, 0x8b, reg, base, disp);
}

static inline void x_store(struct jit_buf *j, bool w, unsigned reg, unsigned base, int32_t disp)
{
    x_op_mem(j, w, 0x89, reg, base, disp);
}

static inline void x_mov_rr(struct jit_buf *j, bool w, unsigned dst, unsigned src)
{
    x_op_rr(j, w, 0x89, src, dst);
}

/* dst = dst OP src (ADD OR ADC SBB AND SUB XOR CMP). */
static inline void x_alu_rr(struct jit_buf *j, bool w, unsigned op, unsigned dst, unsigned src)
{
    x_op_rr(j, w, (uint8_t)(op * 8 + 1), src, dst);
}

/* reg OP [base + disp] (reg is the destination). */
static inline void x_alu_r_mem(struct jit_buf *j, bool w, unsigned op, unsigned reg,
                               unsigned base, int32_t disp)
{
    x_op_mem(j, w, (uint8_t)(op * 8 + 3), reg, base, disp);
}

/* The immediate of an ALU form: imm8 after 83 when it fits (sign-
 * extended alike), else imm32 after 81. */
static inline void x_alu_imm(struct jit_buf *j, int32_t imm)
{
    if (imm == (int8_t)imm)
        jb_u8(j, (uint8_t)imm);
    else
        jb_u32(j, (uint32_t)imm);
}

/* [base + disp] OP= imm (sign-extended for 64 bits), in the shorter form. */
static inline void x_alu_mem_imm(struct jit_buf *j, bool w, unsigned op, unsigned base,
                                 int32_t disp, int32_t imm)
{
    x_op_mem(j, w, imm == (int8_t)imm ? 0x83 : 0x81, op, base, disp);
    x_alu_imm(j, imm);
}

/* reg OP= imm (sign-extended for 64 bits), in the shorter form. */
static inline void x_alu_r_imm(struct jit_buf *j, bool w, unsigned op, unsigned reg, int32_t imm)
{
    x_op_rr(j, w, imm == (int8_t)imm ? 0x83 : 0x81, op, reg);
    x_alu_imm(j, imm);
}

/* reg = v, in the shortest of the three forms. */
static inline void x_mov_imm(struct jit_buf *j, unsigned reg, uint64_t v)
{
    if (v <= 0xffffffffull) { /* MOV r32, imm32 zero-extends */
        x_rex(j, false, 0, reg);
        jb_u8(j, (uint8_t)(0xb8 + (reg & 7)));
        jb_u32(j, (uint32_t)v);
    } else if (x_fits_s32((int64_t)v)) {
        x_op_rr(j, true, 0xc7, 0, reg);
        jb_u32(j, (uint32_t)v);
    } else {
        x_rex(j, true, 0, reg);
        jb_u8(j, (uint8_t)(0xb8 + (reg & 7)));
        jb_u64(j, v);
    }
}

/* MOV size [base + disp], imm: 1, 2, 4 bytes, or 8 from a sign-extended imm32. */
static inline void x_store_imm(struct jit_buf *j, unsigned size, unsigned base, int32_t disp,
                               uint32_t imm)
{
    if (size == 2)
        jb_u8(j, 0x66);
    x_op_mem(j, size == 8, size == 1 ? 0xc6 : 0xc7, 0, base, disp);
    if (size == 1)
        jb_u8(j, (uint8_t)imm);
    else if (size == 2)
        jb_bytes(j, &(uint16_t){(uint16_t)imm}, 2);
    else
        jb_u32(j, imm);
}

/* SHL reg, n. */
static inline void x_shl_imm(struct jit_buf *j, bool w, unsigned reg, uint8_t n)
{
    x_op_rr(j, w, 0xc1, 4, reg);
    jb_u8(j, n);
}

/* SHL (4), SHR (5), SAR (7) reg, n. */
static inline void x_shift_imm(struct jit_buf *j, bool w, unsigned op, unsigned reg, uint8_t n)
{
    x_op_rr(j, w, 0xc1, op, reg);
    jb_u8(j, n);
}

/* SHL (4), SHR (5), SAR (7) reg, CL. */
static inline void x_shift_cl(struct jit_buf *j, bool w, unsigned op, unsigned reg)
{
    x_op_rr(j, w, 0xd3, op, reg);
}

/* IMUL dst, src (0F AF) and IMUL dst, src, imm32 (69). */
static inline void x_imul_rr(struct jit_buf *j, bool w, unsigned dst, unsigned src)
{
    x_rex(j, w, dst, src);
    jb_u8(j, 0x0f);
    jb_u8(j, 0xaf);
    jb_u8(j, (uint8_t)(0xc0 | (dst & 7) << 3 | (src & 7)));
}

static inline void x_imul_rri(struct jit_buf *j, bool w, unsigned dst, unsigned src, int32_t imm)
{
    x_op_rr(j, w, 0x69, dst, src);
    jb_u32(j, (uint32_t)imm);
}

/* MOVZX dst32, src8 (AL, CL, DL or BL). */
static inline void x_movzx8(struct jit_buf *j, unsigned dst, unsigned src)
{
    x_rex(j, false, dst, 0);
    jb_u8(j, 0x0f);
    jb_u8(j, 0xb6);
    jb_u8(j, (uint8_t)(0xc0 | (dst & 7) << 3 | (src & 3)));
}

/* A REX prefix for a byte operation on reg and rm: forced for SPL..DIL
 * (4-7), which without one would be AH..BH. */
static inline void x_rex_byte(struct jit_buf *j, unsigned reg, unsigned rm)
{
    if ((reg >= 4 && reg < 8) || (rm >= 4 && rm < 8) || reg >= 8 || rm >= 8)
        jb_u8(j, (uint8_t)(0x40 | ((reg >> 3) & 1) << 2 | ((rm >> 3) & 1)));
}

/* MOVZX dst32, src8 and MOVZX dst32, src16 for any src. */
static inline void x_movzx8_any(struct jit_buf *j, unsigned dst, unsigned src)
{
    x_rex_byte(j, dst, src);
    jb_u8(j, 0x0f);
    jb_u8(j, 0xb6);
    jb_u8(j, (uint8_t)(0xc0 | (dst & 7) << 3 | (src & 7)));
}

static inline void x_movzx16(struct jit_buf *j, unsigned dst, unsigned src)
{
    x_rex(j, false, dst, src);
    jb_u8(j, 0x0f);
    jb_u8(j, 0xb7);
    jb_u8(j, (uint8_t)(0xc0 | (dst & 7) << 3 | (src & 7)));
}

/* 0F opc reg, rm with register operands; byte: rm is a byte register
 * (SPL..DIL need a REX). */
static inline void x_op0f_rr(struct jit_buf *j, bool w, uint8_t opc, unsigned reg, unsigned rm,
                             bool byte)
{
    if (w || reg >= 8 || rm >= 8 || (byte && rm >= 4))
        jb_u8(j, (uint8_t)(0x40 | (w ? 8 : 0) | ((reg >> 3) & 1) << 2 | ((rm >> 3) & 1)));
    jb_u8(j, 0x0f);
    jb_u8(j, opc);
    jb_u8(j, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}

/* LEA dst, [base + index << scale + disp]; base or index < 0: none
 * (index never RSP). In its shortest form: no SIB without an index (but
 * for an RSP/R12 base), no displacement when it is 0 (but for an RBP/R13
 * base), disp8 when it fits; without a base, SIB and disp32. Compiled
 * code is bound by its size (jit_mem.h): this is a block's most common
 * instruction. */
static inline void x_lea(struct jit_buf *j, bool w, unsigned dst, int base, int index,
                         unsigned scale, int32_t disp)
{
    unsigned b = base < 0 ? X_RBP : (unsigned)base, x = index < 0 ? X_RSP : (unsigned)index;
    uint8_t rex = (uint8_t)(0x40 | (w ? 8 : 0) | ((dst >> 3) & 1) << 2 | ((x >> 3) & 1) << 1 |
                            ((b >> 3) & 1));
    if (rex != 0x40)
        jb_u8(j, rex);
    jb_u8(j, 0x8d);
    unsigned mod = base < 0                            ? 0x00
                   : disp == 0 && (b & 7) != X_RBP    ? 0x00
                   : disp == (int8_t)disp             ? 0x40
                                                       : 0x80;
    if (index < 0 && base >= 0 && (b & 7) != X_RSP) {
        jb_u8(j, (uint8_t)(mod | (dst & 7) << 3 | (b & 7)));
    } else {
        jb_u8(j, (uint8_t)(mod | (dst & 7) << 3 | 4)); /* SIB follows */
        jb_u8(j, (uint8_t)(scale << 6 | (x & 7) << 3 | (b & 7)));
    }
    if (mod == 0x40)
        jb_u8(j, (uint8_t)disp);
    else if (mod == 0x80 || base < 0)
        jb_u32(j, (uint32_t)disp);
}

/* MOV dst8, src8 for any two registers (the upper bytes of dst kept). */
static inline void x_mov8_rr(struct jit_buf *j, unsigned dst, unsigned src)
{
    x_rex_byte(j, src, dst);
    jb_u8(j, 0x88);
    jb_u8(j, (uint8_t)(0xc0 | (src & 7) << 3 | (dst & 7)));
}

/* SETcc on AL, CL, DL or BL. */
static inline void x_setcc(struct jit_buf *j, unsigned cc, unsigned reg)
{
    jb_u8(j, 0x0f);
    jb_u8(j, (uint8_t)(0x90 + cc));
    jb_u8(j, (uint8_t)(0xc0 | (reg & 3)));
}

/* The prefixes of an operation on [base + disp] at size 1, 2, 4 or 8
 * bytes with reg: 66 for a word, then REX when W, R or B is needed, or
 * for a byte reg 4-7 (SPL..DIL, not AH..BH). */
static inline void x_prefix_sized(struct jit_buf *j, unsigned size, unsigned reg, unsigned base)
{
    uint8_t rex = (uint8_t)(0x40 | (size == 8 ? 8 : 0) | ((reg >> 3) & 1) << 2 | ((base >> 3) & 1));
    if (size == 2)
        jb_u8(j, 0x66);
    if (rex != 0x40 || (size == 1 && reg >= 4))
        jb_u8(j, rex);
}

/* XCHG [base + disp], reg at size (86, 87): locked by the processor
 * with or without a LOCK prefix (SDM "XCHG"). */
static inline void x_xchg_mem(struct jit_buf *j, unsigned size, unsigned reg, unsigned base,
                              int32_t disp)
{
    x_prefix_sized(j, size, reg, base);
    jb_u8(j, size == 1 ? 0x86 : 0x87);
    x_modrm_mem(j, reg, base, disp);
}

/* LOCK CMPXCHG [base + disp], reg at size (F0 0F B0, B1): compares
 * RAX's low size bytes with the operand, ZF = equal; equal: the operand
 * = reg, else RAX's low size bytes = the operand (a 32-bit one
 * zero-extends RAX then only); the operand written either way. */
static inline void x_lock_cmpxchg_mem(struct jit_buf *j, unsigned size, unsigned reg,
                                      unsigned base, int32_t disp)
{
    jb_u8(j, 0xf0);
    x_prefix_sized(j, size, reg, base);
    jb_u8(j, 0x0f);
    jb_u8(j, size == 1 ? 0xb0 : 0xb1);
    x_modrm_mem(j, reg, base, disp);
}

/* XCHG a, b (87 /r, never the 90+r short form: a 32-bit XCHG of a
 * register with itself zero-extends it). */
static inline void x_xchg_rr(struct jit_buf *j, bool w, unsigned a, unsigned b)
{
    x_op_rr(j, w, 0x87, a, b);
}

/* CMOVcc dst, src (0F 40+cc); a 32-bit one zero-extends dst even when
 * the condition is false. */
static inline void x_cmov(struct jit_buf *j, bool w, unsigned cc, unsigned dst, unsigned src)
{
    x_op0f_rr(j, w, (uint8_t)(0x40 + (cc & 15)), dst, src, false);
}

/* TEST dword [base + disp], imm32. */
static inline void x_test_mem_imm(struct jit_buf *j, unsigned base, int32_t disp, uint32_t imm)
{
    x_op_mem(j, false, 0xf7, 0, base, disp);
    jb_u32(j, imm);
}

static inline void x_test_rr(struct jit_buf *j, bool w, unsigned a, unsigned b)
{
    x_op_rr(j, w, 0x85, b, a);
}

/* TEST reg, imm32 (sign-extended for 64 bits). */
static inline void x_test_r_imm(struct jit_buf *j, bool w, unsigned reg, uint32_t imm)
{
    x_op_rr(j, w, 0xf7, 0, reg);
    jb_u32(j, imm);
}

/* SSE2 on host XMM registers 0-15 (xmm operands are their numbers):
 * [pfx] [REX] 0F opc with ModRM, pfx the mandatory prefix (0x66, 0xF2,
 * 0xF3; 0: none), which goes before REX. */
static inline void x_sse_rr(struct jit_buf *j, uint8_t pfx, bool w, uint8_t opc, unsigned reg,
                            unsigned rm)
{
    if (pfx)
        jb_u8(j, pfx);
    x_rex(j, w, reg, rm);
    jb_u8(j, 0x0f);
    jb_u8(j, opc);
    jb_u8(j, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}

static inline void x_sse_mem(struct jit_buf *j, uint8_t pfx, uint8_t opc, unsigned reg,
                             unsigned base, int32_t disp)
{
    if (pfx)
        jb_u8(j, pfx);
    x_op0f_mem(j, false, opc, reg, base, disp);
}

/* MOVDQU xmm, [base + disp] and MOVDQU [base + disp], xmm: any alignment. */
static inline void x_movdqu_load(struct jit_buf *j, unsigned xmm, unsigned base, int32_t disp)
{
    x_sse_mem(j, 0xf3, 0x6f, xmm, base, disp);
}

static inline void x_movdqu_store(struct jit_buf *j, unsigned xmm, unsigned base, int32_t disp)
{
    x_sse_mem(j, 0xf3, 0x7f, xmm, base, disp);
}

/* 66 0F opc dst, src: an SSE2 integer operation dst = dst OP src
 * (PCMPEQB 74, PXOR EF, PMINUB DA, PUNPCKLBW 60, ...). */
static inline void x_sse_op(struct jit_buf *j, uint8_t opc, unsigned dst, unsigned src)
{
    x_sse_rr(j, 0x66, false, opc, dst, src);
}

/* 66 0F 71-73 /sub ib: a shift of xmm by an immediate (PSRLW 71 /2,
 * PSRLDQ 73 /3, ...). */
static inline void x_sse_shift_imm(struct jit_buf *j, uint8_t opc, unsigned sub, unsigned xmm,
                                   uint8_t n)
{
    x_sse_rr(j, 0x66, false, opc, sub, xmm);
    jb_u8(j, n);
}

/* PSHUFD (pfx 66), PSHUFHW (F3), PSHUFLW (F2) dst, src, imm8. */
static inline void x_pshuf(struct jit_buf *j, uint8_t pfx, unsigned dst, unsigned src, uint8_t imm)
{
    x_sse_rr(j, pfx, false, 0x70, dst, src);
    jb_u8(j, imm);
}

/* 66 [REX] 0F map opc with register operands: the three-byte opcode
 * maps 0F 38 and 0F 3A (SSSE3, SSE4); w: REX.W. */
static inline void x_sse_map_rr(struct jit_buf *j, bool w, uint8_t map, uint8_t opc, unsigned reg,
                                unsigned rm)
{
    jb_u8(j, 0x66);
    x_rex(j, w, reg, rm);
    jb_u8(j, 0x0f);
    jb_u8(j, map);
    jb_u8(j, opc);
    jb_u8(j, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}

/* PSHUFB dst, src (66 0F 38 00). */
static inline void x_pshufb(struct jit_buf *j, unsigned dst, unsigned src)
{
    x_sse_map_rr(j, false, 0x38, 0x00, dst, src);
}

/* PCMPESTRM (opc 60), PCMPESTRI (61), PCMPISTRM (62), PCMPISTRI (63)
 * a, b, imm8 (66 0F 3A opc); w: REX.W, the explicit lengths from RAX
 * and RDX rather than EAX and EDX. */
static inline void x_pcmpstr(struct jit_buf *j, bool w, uint8_t opc, unsigned a, unsigned b,
                             uint8_t imm)
{
    x_sse_map_rr(j, w, 0x3a, opc, a, b);
    jb_u8(j, imm);
}

/* PMOVMSKB r32, xmm. */
static inline void x_pmovmskb(struct jit_buf *j, unsigned dst, unsigned xmm)
{
    x_sse_rr(j, 0x66, false, 0xd7, dst, xmm);
}

/* CALL fn through RAX (so no displacement limit). */
static inline void x_call_abs(struct jit_buf *j, const void *fn)
{
    x_mov_imm(j, X_RAX, (uint64_t)(uintptr_t)fn);
    jb_u8(j, 0xff);
    jb_u8(j, 0xd0);
}

/* Jcc rel32 / JMP rel32 to be patched: the position of the rel32. */
static inline uint32_t x_jcc(struct jit_buf *j, unsigned cc)
{
    jb_u8(j, 0x0f);
    jb_u8(j, (uint8_t)(0x80 + cc));
    uint32_t at = jb_pos(j);
    jb_u32(j, 0);
    return at;
}

static inline uint32_t x_jmp(struct jit_buf *j)
{
    jb_u8(j, 0xe9);
    uint32_t at = jb_pos(j);
    jb_u32(j, 0);
    return at;
}

/* Point the rel32 at `at` to position target (now when both are in j's
 * section, else at the join). */
static inline void x_patch(struct jit_buf *j, uint32_t at, uint32_t target)
{
    if (j->full)
        return;
    if ((at & JIT_COLD) != j->pos_base || (target & JIT_COLD) != j->pos_base) {
        jb_fixup(j, at, target, NULL);
        return;
    }
    int32_t rel = (int32_t)(target - (at + 4));
    memcpy(j->start + (at - j->pos_base), &rel, 4);
}

/* Point the rel32 at `at` to code at the absolute address target (in
 * reach: the same code memory as j->base). */
static inline void x_patch_abs(struct jit_buf *j, uint32_t at, const void *target)
{
    if (j->full)
        return;
    if (j->pos_base || (at & JIT_COLD)) {
        jb_fixup(j, at, 0, target);
        return;
    }
    int32_t rel = (int32_t)((intptr_t)target - (intptr_t)(j->base + at + 4));
    memcpy(j->start + at, &rel, 4);
}

static inline void x_jcc_abs(struct jit_buf *j, unsigned cc, const void *target)
{
    x_patch_abs(j, x_jcc(j, cc), target);
}

static inline void x_jmp_abs(struct jit_buf *j, const void *target)
{
    x_patch_abs(j, x_jmp(j), target);
}

/* JMP [base + disp32] */
static inline void x_jmp_mem(struct jit_buf *j, unsigned base, int32_t disp)
{
    x_rex(j, false, 0, base);
    jb_u8(j, 0xff);
    x_modrm_mem(j, 4, base, disp);
}

/* JMP reg */
static inline void x_jmp_reg(struct jit_buf *j, unsigned reg)
{
    x_rex(j, false, 0, reg);
    jb_u8(j, 0xff);
    jb_u8(j, (uint8_t)(0xe0 + (reg & 7)));
}

static inline void x_push(struct jit_buf *j, unsigned reg)
{
    x_rex(j, false, 0, reg);
    jb_u8(j, (uint8_t)(0x50 + (reg & 7)));
}

static inline void x_pushf(struct jit_buf *j)
{
    jb_u8(j, 0x9c); /* PUSHFQ */
}

static inline void x_popf(struct jit_buf *j)
{
    jb_u8(j, 0x9d); /* POPFQ */
}

static inline void x_pop(struct jit_buf *j, unsigned reg)
{
    x_rex(j, false, 0, reg);
    jb_u8(j, (uint8_t)(0x58 + (reg & 7)));
}

static inline void x_ret(struct jit_buf *j)
{
    jb_u8(j, 0xc3);
}

#endif
