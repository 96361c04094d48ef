/*
 * SSE and SSE2 (SDM Vol. 1 ch. 10-11, Vol. 2 instruction pages): operand
 * helpers and executors shared by exec_sse_*.c and decode_sse.c.
 */
#ifndef HK_EMU_SSE_H
#define HK_EMU_SSE_H

#include "accel/emu/exec.h"

/* Form selected by the mandatory prefix, kept in emu_insn.sub for FP
 * executors: packed single, packed double, scalar single, scalar double. */
enum { SSE_PS, SSE_PD, SSE_SS, SSE_SD };

#define MXCSR_IE 0x0001u
#define MXCSR_DE 0x0002u
#define MXCSR_ZE 0x0004u
#define MXCSR_OE 0x0008u
#define MXCSR_UE 0x0010u
#define MXCSR_PE 0x0020u
#define MXCSR_FLAGS 0x003fu
#define MXCSR_DAZ 0x0040u
#define MXCSR_MASKS 0x1f80u
#define MXCSR_RC 0x6000u
#define MXCSR_FZ 0x8000u

static inline emu_xmm *xmm_reg(struct emu_cpu *cpu, unsigned n)
{
    return &cpu->fpu.xmm[n & 15];
}

/* The r/m operand: a whole XMM register, or `size` bytes of memory
 * zero-extended. `aligned`: a 16-byte legacy-SSE operand that must be
 * 16-byte aligned (#GP(0) otherwise, SDM Vol. 1 11.6.6). */
int sse_load(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, bool aligned,
             emu_xmm *v);
/* Store the low `size` bytes of v to the r/m memory operand. */
int sse_store(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, bool aligned,
              const emu_xmm *v);

/* exec_sse_mov.c. sse_maskmov: MASKMOVDQU/MASKMOVQ's store of the bytes
 * of v whose mask byte in m has its top bit set, to seg:rDI. */
int sse_maskmov(struct emu_cpu *cpu, const struct emu_insn *in, const uint8_t *v,
                const uint8_t *m, unsigned bytes);
EXEC(ex_sse_mov_load); EXEC(ex_sse_mov_store); EXEC(ex_sse_movs_load); EXEC(ex_sse_movs_store);
EXEC(ex_sse_movlh_load); EXEC(ex_sse_movlh_store); EXEC(ex_sse_movnt); EXEC(ex_movnti);
EXEC(ex_sse_movd_load); EXEC(ex_sse_movd_store); EXEC(ex_sse_movq_load);
EXEC(ex_sse_movq_store); EXEC(ex_sse_movmsk); EXEC(ex_pmovmskb); EXEC(ex_pinsrw);
EXEC(ex_pextrw); EXEC(ex_pshuf); EXEC(ex_shufp); EXEC(ex_maskmovdqu);

/* exec_sse_int.c: in->sub is an enum sse_int_op */
EXEC(ex_sse_int); EXEC(ex_sse_shift_imm);

enum sse_int_op {
    I_PUNPCKLBW, I_PUNPCKLWD, I_PUNPCKLDQ, I_PUNPCKLQDQ,
    I_PUNPCKHBW, I_PUNPCKHWD, I_PUNPCKHDQ, I_PUNPCKHQDQ,
    I_PACKSSWB, I_PACKSSDW, I_PACKUSWB,
    I_PCMPEQB, I_PCMPEQW, I_PCMPEQD, I_PCMPGTB, I_PCMPGTW, I_PCMPGTD,
    I_PADDB, I_PADDW, I_PADDD, I_PADDQ, I_PSUBB, I_PSUBW, I_PSUBD, I_PSUBQ,
    I_PADDSB, I_PADDSW, I_PADDUSB, I_PADDUSW, I_PSUBSB, I_PSUBSW, I_PSUBUSB, I_PSUBUSW,
    I_PMULLW, I_PMULHW, I_PMULHUW, I_PMULUDQ, I_PMADDWD, I_PSADBW, I_PAVGB, I_PAVGW,
    I_PMINUB, I_PMAXUB, I_PMINSW, I_PMAXSW,
    I_PAND, I_PANDN, I_POR, I_PXOR,
    I_PSRLW, I_PSRLD, I_PSRLQ, I_PSRAW, I_PSRAD, I_PSLLW, I_PSLLD, I_PSLLQ,
    I_PSRLDQ, I_PSLLDQ,
    I_COUNT
};
/* d = op(d, s) over the low `bytes` bytes: 16 (XMM) or 8 (MMX). */
void sse_int_lanes(unsigned op, emu_xmm *d, const emu_xmm *s, unsigned bytes);

/* exec_sse_fp.c: in->sub is SSE_PS..SSE_SD */
EXEC(ex_sse_fp); EXEC(ex_sse_comis); EXEC(ex_sse_cvt_to_int); EXEC(ex_sse_cvt_from_int);

#endif
