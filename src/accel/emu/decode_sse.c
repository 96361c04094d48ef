/*
 * SSE-family opcode tables (SDM Vol. 2D appendix A, tables ):
 * prefix-selected 0F entries and the 0F38 / 0F3A maps. Entry order is
 * [none, 66, F3, F2]. SSE and SSE2 are here; MMX forms (no prefix, MM
 * registers), SSE3 and later stay #UD. 0F AE belongs to the x87/FXSAVE
 * tables.
 */
#include <stddef.h>

#include "accel/emu/decode_tables.h"
#include "accel/emu/sse.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define M O_MODRM
#define MI (O_MODRM | O_IMM8U)
#define X {0}

/* Same executor for all four prefixes, sub = SSE_PS..SSE_SD. */
#define FP4(fn, f) {{{fn, f, SSE_PS}, {fn, f, SSE_PD}, {fn, f, SSE_SS}, {fn, f, SSE_SD}}}
/* Packed-only FP forms: none (PS) and 66 (PD). */
#define FP2(fn, f, s0, s1) {{{fn, f, s0}, {fn, f, s1}}}
/* SSE2 integer op: 66 prefix only. */
#define INT66(op) {{X, {ex_sse_int, M, op}}}

/* 66 0F 71-73: shifts by imm8 on the register in ModRM.rm. Undefined
 * slots still take their ModRM and imm8, so #UD sees the right length. */
#define UD {ex_ud, MI}
#define SHI(op) {ex_sse_shift_imm, MI, op}
static const struct op grp_mem_ud[8] = {UD, UD, UD, UD, UD, UD, UD, UD};
static const struct op grp71[8] = {UD, UD, SHI(I_PSRLW), UD, SHI(I_PSRAW), UD, SHI(I_PSLLW), UD};
static const struct op grp72[8] = {UD, UD, SHI(I_PSRLD), UD, SHI(I_PSRAD), UD, SHI(I_PSLLD), UD};
static const struct op grp73[8] = {UD, UD, SHI(I_PSRLQ), SHI(I_PSRLDQ),
                                   UD, UD, SHI(I_PSLLQ), SHI(I_PSLLDQ)};
#define SHIFT_GROUP(g) {{X, {NULL, M, 0, 0, grp_mem_ud, g}}}

const struct op_prefixed emu_map0f_sse[256] = {
    /* MOVUPS MOVUPD MOVSS MOVSD */
    [0x10] = {{{ex_sse_mov_load, M, 0}, {ex_sse_mov_load, M, 0},
               {ex_sse_movs_load, M, 4}, {ex_sse_movs_load, M, 8}}},
    [0x11] = {{{ex_sse_mov_store, M, 0}, {ex_sse_mov_store, M, 0},
               {ex_sse_movs_store, M, 4}, {ex_sse_movs_store, M, 8}}},
    /* MOVLPS/MOVHLPS MOVLPD, MOVHPS/MOVLHPS MOVHPD (sub: 1 high, 2 reg form) */
    [0x12] = FP2(ex_sse_movlh_load, M, 2, 0),
    [0x13] = FP2(ex_sse_movlh_store, M, 0, 0),
    [0x14] = FP2(ex_sse_int, M, I_PUNPCKLDQ, I_PUNPCKLQDQ),  /* UNPCKLPS/PD */
    [0x15] = FP2(ex_sse_int, M, I_PUNPCKHDQ, I_PUNPCKHQDQ),  /* UNPCKHPS/PD */
    [0x16] = FP2(ex_sse_movlh_load, M, 3, 1),
    [0x17] = FP2(ex_sse_movlh_store, M, 1, 1),
    [0x28] = FP2(ex_sse_mov_load, M, 1, 1),                  /* MOVAPS/PD */
    [0x29] = FP2(ex_sse_mov_store, M, 1, 1),
    [0x2a] = {{X, X, {ex_sse_cvt_from_int, M, SSE_SS}, {ex_sse_cvt_from_int, M, SSE_SD}}},
    [0x2b] = FP2(ex_sse_movnt, M, 0, 0),                     /* MOVNTPS/PD */
    [0x2c] = {{X, X, {ex_sse_cvt_to_int, M, SSE_SS}, {ex_sse_cvt_to_int, M, SSE_SD}}},
    [0x2d] = {{X, X, {ex_sse_cvt_to_int, M, SSE_SS}, {ex_sse_cvt_to_int, M, SSE_SD}}},
    [0x2e] = FP2(ex_sse_comis, M, SSE_PS, SSE_PD),           /* UCOMISS/SD */
    [0x2f] = FP2(ex_sse_comis, M, SSE_PS, SSE_PD),           /* COMISS/SD */
    [0x50] = FP2(ex_sse_movmsk, M, SSE_PS, SSE_PD),
    [0x51] = FP4(ex_sse_fp, M),                              /* SQRT */
    [0x52] = {{{ex_sse_fp, M, SSE_PS}, X, {ex_sse_fp, M, SSE_SS}}}, /* RSQRT */
    [0x53] = {{{ex_sse_fp, M, SSE_PS}, X, {ex_sse_fp, M, SSE_SS}}}, /* RCP */
    [0x54] = FP2(ex_sse_int, M, I_PAND, I_PAND),
    [0x55] = FP2(ex_sse_int, M, I_PANDN, I_PANDN),
    [0x56] = FP2(ex_sse_int, M, I_POR, I_POR),
    [0x57] = FP2(ex_sse_int, M, I_PXOR, I_PXOR),
    [0x58] = FP4(ex_sse_fp, M), [0x59] = FP4(ex_sse_fp, M), [0x5a] = FP4(ex_sse_fp, M),
    [0x5b] = {{{ex_sse_fp, M, SSE_PS}, {ex_sse_fp, M, SSE_PD}, {ex_sse_fp, M, SSE_SS}}},
    [0x5c] = FP4(ex_sse_fp, M), [0x5d] = FP4(ex_sse_fp, M),
    [0x5e] = FP4(ex_sse_fp, M), [0x5f] = FP4(ex_sse_fp, M),
    [0x60] = INT66(I_PUNPCKLBW), [0x61] = INT66(I_PUNPCKLWD),
    [0x62] = INT66(I_PUNPCKLDQ), [0x63] = INT66(I_PACKSSWB),
    [0x64] = INT66(I_PCMPGTB), [0x65] = INT66(I_PCMPGTW),
    [0x66] = INT66(I_PCMPGTD), [0x67] = INT66(I_PACKUSWB),
    [0x68] = INT66(I_PUNPCKHBW), [0x69] = INT66(I_PUNPCKHWD),
    [0x6a] = INT66(I_PUNPCKHDQ), [0x6b] = INT66(I_PACKSSDW),
    [0x6c] = INT66(I_PUNPCKLQDQ), [0x6d] = INT66(I_PUNPCKHQDQ),
    [0x6e] = {{X, {ex_sse_movd_load, M}}},
    [0x6f] = {{X, {ex_sse_mov_load, M, 1}, {ex_sse_mov_load, M, 0}}},   /* MOVDQA MOVDQU */
    [0x70] = {{X, {ex_pshuf, MI, 0}, {ex_pshuf, MI, 1}, {ex_pshuf, MI, 2}}},
    [0x71] = SHIFT_GROUP(grp71), [0x72] = SHIFT_GROUP(grp72), [0x73] = SHIFT_GROUP(grp73),
    [0x74] = INT66(I_PCMPEQB), [0x75] = INT66(I_PCMPEQW), [0x76] = INT66(I_PCMPEQD),
    [0x7e] = {{X, {ex_sse_movd_store, M}, {ex_sse_movq_load, M}}},
    [0x7f] = {{X, {ex_sse_mov_store, M, 1}, {ex_sse_mov_store, M, 0}}},
    [0xc2] = FP4(ex_sse_fp, MI),                             /* CMPPS/PD/SS/SD */
    [0xc3] = {{{ex_movnti, M}}},
    [0xc4] = {{X, {ex_pinsrw, MI}}},
    [0xc5] = {{X, {ex_pextrw, MI}}},
    [0xc6] = FP2(ex_shufp, MI, SSE_PS, SSE_PD),
    [0xd1] = INT66(I_PSRLW), [0xd2] = INT66(I_PSRLD), [0xd3] = INT66(I_PSRLQ),
    [0xd4] = INT66(I_PADDQ), [0xd5] = INT66(I_PMULLW),
    [0xd6] = {{X, {ex_sse_movq_store, M}}},
    [0xd7] = {{X, {ex_pmovmskb, M}}},
    [0xd8] = INT66(I_PSUBUSB), [0xd9] = INT66(I_PSUBUSW),
    [0xda] = INT66(I_PMINUB), [0xdb] = INT66(I_PAND),
    [0xdc] = INT66(I_PADDUSB), [0xdd] = INT66(I_PADDUSW),
    [0xde] = INT66(I_PMAXUB), [0xdf] = INT66(I_PANDN),
    [0xe0] = INT66(I_PAVGB), [0xe1] = INT66(I_PSRAW), [0xe2] = INT66(I_PSRAD),
    [0xe3] = INT66(I_PAVGW), [0xe4] = INT66(I_PMULHUW), [0xe5] = INT66(I_PMULHW),
    [0xe6] = {{X, {ex_sse_fp, M, SSE_PD}, {ex_sse_fp, M, SSE_SS}, {ex_sse_fp, M, SSE_SD}}},
    [0xe7] = {{X, {ex_sse_movnt, M}}},                       /* MOVNTDQ */
    [0xe8] = INT66(I_PSUBSB), [0xe9] = INT66(I_PSUBSW),
    [0xea] = INT66(I_PMINSW), [0xeb] = INT66(I_POR),
    [0xec] = INT66(I_PADDSB), [0xed] = INT66(I_PADDSW),
    [0xee] = INT66(I_PMAXSW), [0xef] = INT66(I_PXOR),
    [0xf1] = INT66(I_PSLLW), [0xf2] = INT66(I_PSLLD), [0xf3] = INT66(I_PSLLQ),
    [0xf4] = INT66(I_PMULUDQ), [0xf5] = INT66(I_PMADDWD), [0xf6] = INT66(I_PSADBW),
    [0xf7] = {{X, {ex_maskmovdqu, M}}},
    [0xf8] = INT66(I_PSUBB), [0xf9] = INT66(I_PSUBW),
    [0xfa] = INT66(I_PSUBD), [0xfb] = INT66(I_PSUBQ),
    [0xfc] = INT66(I_PADDB), [0xfd] = INT66(I_PADDW), [0xfe] = INT66(I_PADDD),
};
const struct op_prefixed emu_map0f38[256] = {{{{0}}}};
const struct op_prefixed emu_map0f3a[256] = {{{{0}}}};
