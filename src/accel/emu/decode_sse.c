/*
 * SSE-family opcode tables (SDM Vol. 2D appendix A, tables ):
 * prefix-selected 0F entries and the 0F38 / 0F3A maps. Entry order is
 * [none, 66, F3, F2]. SSE, SSE2, SSE3, SSSE3, SSE4.1, SSE4.2, POPCNT,
 * AES-NI and PCLMULQDQ are here, with the MMX forms (no prefix, MM
 * registers; mmx.h). 0F AE belongs to the x87/FXSAVE tables.
 */
#include <stddef.h>

#include "accel/emu/decode_tables.h"
#include "accel/emu/mmx.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define M O_MODRM
#define MI (O_MODRM | O_IMM8U)
#define X {0}

/* Same executor for all four prefixes, sub = SSE_PS..SSE_SD. */
#define FP4(fn, f) {{{fn, f, SSE_PS}, {fn, f, SSE_PD}, {fn, f, SSE_SS}, {fn, f, SSE_SD}}}
/* Packed-only FP forms: none (PS) and 66 (PD). */
#define FP2(fn, f, s0, s1) {{{fn, f, s0}, {fn, f, s1}}}
/* Integer op: MMX (no prefix) and SSE2 (66); INT66 without an MMX form. */
#define INT(op) {{{ex_mmx_int, M, op}, {ex_sse_int, M, op}}}
#define INT66(op) {{X, {ex_sse_int, M, op}}}
/* SSE3 FP: 66 packed double, F2 packed single. */
#define SSE3_FP {{X, {ex_sse3_fp, M, SSE_PD}, X, {ex_sse3_fp, M, SSE_PS}}}

/* 66 0F 71-73: shifts by imm8 on the register in ModRM.rm. Undefined
 * slots still take their ModRM and imm8, so #UD sees the right length. */
#define UD {ex_ud, MI}
#define SHI(op) {ex_sse_shift_imm, MI, op}
#define MSHI(op) {ex_mmx_shift_imm, MI, op}
static const struct op grp_mem_ud[8] = {UD, UD, UD, UD, UD, UD, UD, UD};
static const struct op grp71[8] = {UD, UD, SHI(I_PSRLW), UD, SHI(I_PSRAW), UD, SHI(I_PSLLW), UD};
static const struct op grp72[8] = {UD, UD, SHI(I_PSRLD), UD, SHI(I_PSRAD), UD, SHI(I_PSLLD), UD};
static const struct op grp73[8] = {UD, UD, SHI(I_PSRLQ), SHI(I_PSRLDQ),
                                   UD, UD, SHI(I_PSLLQ), SHI(I_PSLLDQ)};
static const struct op mgrp71[8] = {UD, UD, MSHI(I_PSRLW), UD, MSHI(I_PSRAW), UD, MSHI(I_PSLLW),
                                    UD};
static const struct op mgrp72[8] = {UD, UD, MSHI(I_PSRLD), UD, MSHI(I_PSRAD), UD, MSHI(I_PSLLD),
                                    UD};
static const struct op mgrp73[8] = {UD, UD, MSHI(I_PSRLQ), UD, UD, UD, MSHI(I_PSLLQ), UD};
#define SHIFT_GROUP(m, g) {{{NULL, M, 0, 0, grp_mem_ud, m}, {NULL, M, 0, 0, grp_mem_ud, g}}}

const struct op_prefixed emu_map0f_sse[256] = {
    /* MOVUPS MOVUPD MOVSS MOVSD */
    [0x10] = {{{ex_sse_mov_load, M, 0}, {ex_sse_mov_load, M, 0},
               {ex_sse_movs_load, M, 4}, {ex_sse_movs_load, M, 8}}},
    [0x11] = {{{ex_sse_mov_store, M, 0}, {ex_sse_mov_store, M, 0},
               {ex_sse_movs_store, M, 4}, {ex_sse_movs_store, M, 8}}},
    /* MOVLPS/MOVHLPS MOVLPD, MOVHPS/MOVLHPS MOVHPD (sub: 1 high, 2 reg form) */
    /* ... MOVSLDUP MOVDDUP */
    [0x12] = {{{ex_sse_movlh_load, M, 2}, {ex_sse_movlh_load, M, 0}, {ex_movsldup, M, 0},
               {ex_movddup, M}}},
    [0x13] = FP2(ex_sse_movlh_store, M, 0, 0),
    [0x14] = FP2(ex_sse_int, M, I_PUNPCKLDQ, I_PUNPCKLQDQ),  /* UNPCKLPS/PD */
    [0x15] = FP2(ex_sse_int, M, I_PUNPCKHDQ, I_PUNPCKHQDQ),  /* UNPCKHPS/PD */
    [0x16] = {{{ex_sse_movlh_load, M, 3}, {ex_sse_movlh_load, M, 1}, {ex_movsldup, M, 1}}},
    [0x17] = FP2(ex_sse_movlh_store, M, 1, 1),
    [0x28] = FP2(ex_sse_mov_load, M, 1, 1),                  /* MOVAPS/PD */
    [0x29] = FP2(ex_sse_mov_store, M, 1, 1),
    /* CVTPI2PS CVTPI2PD CVTSI2SS CVTSI2SD, CVT(T)PS2PI CVT(T)PD2PI CVT(T)SS2SI ... */
    [0x2a] = {{{ex_mmx_cvt, M, SSE_PS}, {ex_mmx_cvt, M, SSE_PD},
               {ex_sse_cvt_from_int, M, SSE_SS}, {ex_sse_cvt_from_int, M, SSE_SD}}},
    [0x2b] = FP2(ex_sse_movnt, M, 0, 0),                     /* MOVNTPS/PD */
    [0x2c] = {{{ex_mmx_cvt, M, SSE_PS}, {ex_mmx_cvt, M, SSE_PD},
               {ex_sse_cvt_to_int, M, SSE_SS}, {ex_sse_cvt_to_int, M, SSE_SD}}},
    [0x2d] = {{{ex_mmx_cvt, M, SSE_PS}, {ex_mmx_cvt, M, SSE_PD},
               {ex_sse_cvt_to_int, M, SSE_SS}, {ex_sse_cvt_to_int, M, SSE_SD}}},
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
    [0x60] = INT(I_PUNPCKLBW), [0x61] = INT(I_PUNPCKLWD),
    [0x62] = INT(I_PUNPCKLDQ), [0x63] = INT(I_PACKSSWB),
    [0x64] = INT(I_PCMPGTB), [0x65] = INT(I_PCMPGTW),
    [0x66] = INT(I_PCMPGTD), [0x67] = INT(I_PACKUSWB),
    [0x68] = INT(I_PUNPCKHBW), [0x69] = INT(I_PUNPCKHWD),
    [0x6a] = INT(I_PUNPCKHDQ), [0x6b] = INT(I_PACKSSDW),
    [0x6c] = INT66(I_PUNPCKLQDQ), [0x6d] = INT66(I_PUNPCKHQDQ),
    [0x6e] = {{{ex_mmx_movd_load, M}, {ex_sse_movd_load, M}}},
    /* MOVQ mm, MOVDQA, MOVDQU */
    [0x6f] = {{{ex_mmx_movq_load, M}, {ex_sse_mov_load, M, 1}, {ex_sse_mov_load, M, 0}}},
    [0x70] = {{{ex_pshufw, MI}, {ex_pshuf, MI, 0}, {ex_pshuf, MI, 1}, {ex_pshuf, MI, 2}}},
    [0x71] = SHIFT_GROUP(mgrp71, grp71), [0x72] = SHIFT_GROUP(mgrp72, grp72),
    [0x73] = SHIFT_GROUP(mgrp73, grp73),
    [0x74] = INT(I_PCMPEQB), [0x75] = INT(I_PCMPEQW), [0x76] = INT(I_PCMPEQD),
    /* EMMS is no-prefix only: 66/F3/F2 0F 77 are #UD (checked on the host). */
    [0x77] = {{X, {ex_ud}, {ex_ud}, {ex_ud}}},
    [0x7c] = SSE3_FP, [0x7d] = SSE3_FP,                   /* HADDPD/PS HSUBPD/PS */
    [0x7e] = {{{ex_mmx_movd_store, M}, {ex_sse_movd_store, M}, {ex_sse_movq_load, M}}},
    [0x7f] = {{{ex_mmx_movq_store, M, 0}, {ex_sse_mov_store, M, 1}, {ex_sse_mov_store, M, 0}}},
    [0xb8] = {{X, X, {ex_popcnt, M}}},
    [0xc2] = FP4(ex_sse_fp, MI),                             /* CMPPS/PD/SS/SD */
    [0xc3] = {{{ex_movnti, M}}},
    [0xc4] = {{{ex_mmx_pinsrw, MI}, {ex_pinsrw, MI}}},
    [0xc5] = {{{ex_mmx_pextrw, MI}, {ex_pextrw, MI}}},
    [0xc6] = FP2(ex_shufp, MI, SSE_PS, SSE_PD),
    [0xd0] = SSE3_FP,                                        /* ADDSUBPD/PS */
    [0xd1] = INT(I_PSRLW), [0xd2] = INT(I_PSRLD), [0xd3] = INT(I_PSRLQ),
    [0xd4] = INT(I_PADDQ), [0xd5] = INT(I_PMULLW),
    /* MOVQ xmm/m64, xmm; MOVQ2DQ; MOVDQ2Q */
    [0xd6] = {{X, {ex_sse_movq_store, M}, {ex_movq2dq, M}, {ex_movdq2q, M}}},
    [0xd7] = {{{ex_mmx_pmovmskb, M}, {ex_pmovmskb, M}}},
    [0xd8] = INT(I_PSUBUSB), [0xd9] = INT(I_PSUBUSW),
    [0xda] = INT(I_PMINUB), [0xdb] = INT(I_PAND),
    [0xdc] = INT(I_PADDUSB), [0xdd] = INT(I_PADDUSW),
    [0xde] = INT(I_PMAXUB), [0xdf] = INT(I_PANDN),
    [0xe0] = INT(I_PAVGB), [0xe1] = INT(I_PSRAW), [0xe2] = INT(I_PSRAD),
    [0xe3] = INT(I_PAVGW), [0xe4] = INT(I_PMULHUW), [0xe5] = INT(I_PMULHW),
    [0xe6] = {{X, {ex_sse_fp, M, SSE_PD}, {ex_sse_fp, M, SSE_SS}, {ex_sse_fp, M, SSE_SD}}},
    [0xe7] = {{{ex_mmx_movq_store, M, 1}, {ex_sse_movnt, M}}},  /* MOVNTQ MOVNTDQ */
    [0xe8] = INT(I_PSUBSB), [0xe9] = INT(I_PSUBSW),
    [0xea] = INT(I_PMINSW), [0xeb] = INT(I_POR),
    [0xec] = INT(I_PADDSB), [0xed] = INT(I_PADDSW),
    [0xee] = INT(I_PMAXSW), [0xef] = INT(I_PXOR),
    [0xf0] = {{X, X, X, {ex_lddqu, M}}},
    [0xf1] = INT(I_PSLLW), [0xf2] = INT(I_PSLLD), [0xf3] = INT(I_PSLLQ),
    [0xf4] = INT(I_PMULUDQ), [0xf5] = INT(I_PMADDWD), [0xf6] = INT(I_PSADBW),
    [0xf7] = {{{ex_maskmovq, M}, {ex_maskmovdqu, M}}},
    [0xf8] = INT(I_PSUBB), [0xf9] = INT(I_PSUBW),
    [0xfa] = INT(I_PSUBD), [0xfb] = INT(I_PSUBQ),
    [0xfc] = INT(I_PADDB), [0xfd] = INT(I_PADDW), [0xfe] = INT(I_PADDD),
};

/* 66-prefixed 0F 38 / 0F 3A entries; SSSE3 ones also have an MMX form. */
#define S66(fn, f, sub) {{X, {fn, f, sub}}}
#define SS3(op) S66(ex_ssse3, M, op)
#define SSSE3(op) {{{ex_mmx_ssse3, M, op}, {ex_ssse3, M, op}}}
/* CRC32: F2 (66 F2 for r/m16); F0 reads a byte register (AH..BH without REX). */
#define CRC32(f) {{X, X, X, {ex_crc32, f}}}

const struct op_prefixed emu_map0f38[256] = {
    [0x00] = SSSE3(S_PSHUFB), [0x01] = SSSE3(S_PHADDW), [0x02] = SSSE3(S_PHADDD),
    [0x03] = SSSE3(S_PHADDSW), [0x04] = SSSE3(S_PMADDUBSW), [0x05] = SSSE3(S_PHSUBW),
    [0x06] = SSSE3(S_PHSUBD), [0x07] = SSSE3(S_PHSUBSW), [0x08] = SSSE3(S_PSIGNB),
    [0x09] = SSSE3(S_PSIGNW), [0x0a] = SSSE3(S_PSIGND), [0x0b] = SSSE3(S_PMULHRSW),
    [0x10] = S66(ex_blendv, M, 0), [0x14] = S66(ex_blendv, M, 0), [0x15] = S66(ex_blendv, M, 0),
    [0x17] = S66(ex_ptest, M, 0),
    [0x1c] = SSSE3(S_PABSB), [0x1d] = SSSE3(S_PABSW), [0x1e] = SSSE3(S_PABSD),
    [0x20 ... 0x25] = S66(ex_pmovx, M, 0),                   /* PMOVSX* */
    [0x28] = SS3(S_PMULDQ), [0x29] = SS3(S_PCMPEQQ),
    [0x2a] = S66(ex_movntdqa, M, 0), [0x2b] = SS3(S_PACKUSDW),
    [0x30 ... 0x35] = S66(ex_pmovx, M, 0),                   /* PMOVZX* */
    [0x37] = SS3(S_PCMPGTQ),
    [0x38] = SS3(S_PMINSB), [0x39] = SS3(S_PMINSD), [0x3a] = SS3(S_PMINUW),
    [0x3b] = SS3(S_PMINUD), [0x3c] = SS3(S_PMAXSB), [0x3d] = SS3(S_PMAXSD),
    [0x3e] = SS3(S_PMAXUW), [0x3f] = SS3(S_PMAXUD), [0x40] = SS3(S_PMULLD),
    [0x41] = SS3(S_PHMINPOSUW),
    [0xdb ... 0xdf] = S66(ex_aes, M, 0),                     /* AESIMC AESENC(LAST) AESDEC(LAST) */
    [0xf0] = CRC32(M | O_RMBYTE), [0xf1] = CRC32(M),
};

const struct op_prefixed emu_map0f3a[256] = {
    [0x08 ... 0x0b] = S66(ex_sse41_round, MI, 0),           /* ROUNDPS/PD/SS/SD */
    [0x0c ... 0x0e] = S66(ex_blend_imm, MI, 0),             /* BLENDPS/PD PBLENDW */
    [0x0f] = {{{ex_mmx_palignr, MI}, {ex_palignr, MI}}},
    [0x14 ... 0x16] = S66(ex_pextr, MI, 0),                 /* PEXTRB/W/D/Q */
    [0x17] = S66(ex_extractps, MI, 0),
    [0x20] = S66(ex_pinsr, MI, 0), [0x21] = S66(ex_insertps, MI, 0),
    [0x22] = S66(ex_pinsr, MI, 0),
    [0x40 ... 0x41] = S66(ex_dpp, MI, 0), [0x42] = S66(ex_mpsadbw, MI, 0),
    [0x44] = S66(ex_pclmulqdq, MI, 0),
    [0x60 ... 0x63] = S66(ex_pcmpstr, MI, 0),               /* PCMPESTRM/ESTRI/ISTRM/ISTRI */
    [0xdf] = S66(ex_aeskeygen, MI, 0),
};
