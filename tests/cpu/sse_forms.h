/*
 * The SSE/SSE2 forms test_sse.c compares with the host, as a table the
 * coverage table (coverage.h) reads too: a form listed here is one the
 * host-differential run exercises.
 */
#ifndef HK_TESTS_CPU_SSE_FORMS_H
#define HK_TESTS_CPU_SSE_FORMS_H

#include <stdint.h>

enum sse_kind { SK_PS, SK_PD, SK_INT, SK_SHIFT };

#define SF_IMM 0x01   /* imm8 follows */
#define SF_GREG 0x02  /* ModRM.reg names a GPR */
#define SF_GRM 0x04   /* ModRM.rm names a GPR (or integer memory) */
#define SF_W 0x08     /* also with REX.W */
#define SF_FP 0x10    /* floating point: run with exceptions unmasked too */
#define SF_RDI 0x20   /* implicit [rDI] operand */

struct sse_form {
    const char *name;
    uint8_t pfx, op;
    uint8_t kind;
    uint8_t flags;
    int8_t ext;      /* ModRM.reg for group forms, else -1 */
};

#define PS(n, p, o) {n, p, o, SK_PS, SF_FP, -1}
#define PD(n, p, o) {n, p, o, SK_PD, SF_FP, -1}
#define IN(n, o) {n, 0x66, o, SK_INT, 0, -1}
#define SH(n, o) {n, 0x66, o, SK_SHIFT, 0, -1}
#define GR(n, o, e) {n, 0x66, o, SK_INT, SF_IMM, e}

static const struct sse_form sse_forms[] = {
    {"movups", 0, 0x10, SK_INT, 0, -1}, {"movupd", 0x66, 0x10, SK_INT, 0, -1},
    {"movss load", 0xf3, 0x10, SK_PS, 0, -1}, {"movsd load", 0xf2, 0x10, SK_PD, 0, -1},
    {"movups store", 0, 0x11, SK_INT, 0, -1}, {"movupd store", 0x66, 0x11, SK_INT, 0, -1},
    {"movss store", 0xf3, 0x11, SK_PS, 0, -1}, {"movsd store", 0xf2, 0x11, SK_PD, 0, -1},
    {"movlps/movhlps", 0, 0x12, SK_INT, 0, -1}, {"movlpd", 0x66, 0x12, SK_INT, 0, -1},
    {"movlps store", 0, 0x13, SK_INT, 0, -1}, {"movlpd store", 0x66, 0x13, SK_INT, 0, -1},
    {"unpcklps", 0, 0x14, SK_INT, 0, -1}, {"unpcklpd", 0x66, 0x14, SK_INT, 0, -1},
    {"unpckhps", 0, 0x15, SK_INT, 0, -1}, {"unpckhpd", 0x66, 0x15, SK_INT, 0, -1},
    {"movhps/movlhps", 0, 0x16, SK_INT, 0, -1}, {"movhpd", 0x66, 0x16, SK_INT, 0, -1},
    {"movhps store", 0, 0x17, SK_INT, 0, -1}, {"movhpd store", 0x66, 0x17, SK_INT, 0, -1},
    {"movaps", 0, 0x28, SK_INT, 0, -1}, {"movapd", 0x66, 0x28, SK_INT, 0, -1},
    {"movaps store", 0, 0x29, SK_INT, 0, -1}, {"movapd store", 0x66, 0x29, SK_INT, 0, -1},
    {"cvtsi2ss", 0xf3, 0x2a, SK_PS, SF_GRM | SF_W | SF_FP, -1},
    {"cvtsi2sd", 0xf2, 0x2a, SK_PD, SF_GRM | SF_W | SF_FP, -1},
    {"movntps", 0, 0x2b, SK_INT, 0, -1}, {"movntpd", 0x66, 0x2b, SK_INT, 0, -1},
    {"cvttss2si", 0xf3, 0x2c, SK_PS, SF_GREG | SF_W | SF_FP, -1},
    {"cvttsd2si", 0xf2, 0x2c, SK_PD, SF_GREG | SF_W | SF_FP, -1},
    {"cvtss2si", 0xf3, 0x2d, SK_PS, SF_GREG | SF_W | SF_FP, -1},
    {"cvtsd2si", 0xf2, 0x2d, SK_PD, SF_GREG | SF_W | SF_FP, -1},
    PS("ucomiss", 0, 0x2e), PD("ucomisd", 0x66, 0x2e), PS("comiss", 0, 0x2f),
    PD("comisd", 0x66, 0x2f),
    {"movmskps", 0, 0x50, SK_PS, SF_GREG | SF_W, -1}, {"movmskpd", 0x66, 0x50, SK_PD, SF_GREG, -1},
    PS("sqrtps", 0, 0x51), PD("sqrtpd", 0x66, 0x51), PS("sqrtss", 0xf3, 0x51),
    PD("sqrtsd", 0xf2, 0x51), PS("rsqrtps", 0, 0x52), PS("rsqrtss", 0xf3, 0x52),
    PS("rcpps", 0, 0x53), PS("rcpss", 0xf3, 0x53),
    {"andps", 0, 0x54, SK_INT, 0, -1}, {"andpd", 0x66, 0x54, SK_INT, 0, -1},
    {"andnps", 0, 0x55, SK_INT, 0, -1}, {"andnpd", 0x66, 0x55, SK_INT, 0, -1},
    {"orps", 0, 0x56, SK_INT, 0, -1}, {"orpd", 0x66, 0x56, SK_INT, 0, -1},
    {"xorps", 0, 0x57, SK_INT, 0, -1}, {"xorpd", 0x66, 0x57, SK_INT, 0, -1},
#define ARITH4(n, o) PS(n "ps", 0, o), PD(n "pd", 0x66, o), PS(n "ss", 0xf3, o), PD(n "sd", 0xf2, o)
    ARITH4("add", 0x58), ARITH4("mul", 0x59), ARITH4("sub", 0x5c), ARITH4("min", 0x5d),
    ARITH4("div", 0x5e), ARITH4("max", 0x5f),
    PS("cvtps2pd", 0, 0x5a), PD("cvtpd2ps", 0x66, 0x5a), PS("cvtss2sd", 0xf3, 0x5a),
    PD("cvtsd2ss", 0xf2, 0x5a), {"cvtdq2ps", 0, 0x5b, SK_INT, SF_FP, -1},
    PS("cvtps2dq", 0x66, 0x5b), PS("cvttps2dq", 0xf3, 0x5b),
    PD("cvttpd2dq", 0x66, 0xe6), {"cvtdq2pd", 0xf3, 0xe6, SK_INT, SF_FP, -1},
    PD("cvtpd2dq", 0xf2, 0xe6),
    {"cmpps", 0, 0xc2, SK_PS, SF_FP | SF_IMM, -1}, {"cmppd", 0x66, 0xc2, SK_PD, SF_FP | SF_IMM, -1},
    {"cmpss", 0xf3, 0xc2, SK_PS, SF_FP | SF_IMM, -1}, {"cmpsd", 0xf2, 0xc2, SK_PD, SF_FP | SF_IMM, -1},
    {"shufps", 0, 0xc6, SK_INT, SF_IMM, -1}, {"shufpd", 0x66, 0xc6, SK_INT, SF_IMM, -1},
    IN("punpcklbw", 0x60), IN("punpcklwd", 0x61), IN("punpckldq", 0x62), IN("packsswb", 0x63),
    IN("pcmpgtb", 0x64), IN("pcmpgtw", 0x65), IN("pcmpgtd", 0x66), IN("packuswb", 0x67),
    IN("punpckhbw", 0x68), IN("punpckhwd", 0x69), IN("punpckhdq", 0x6a), IN("packssdw", 0x6b),
    IN("punpcklqdq", 0x6c), IN("punpckhqdq", 0x6d),
    {"movd/movq xmm, r/m", 0x66, 0x6e, SK_INT, SF_GRM | SF_W, -1},
    IN("movdqa", 0x6f), {"movdqu", 0xf3, 0x6f, SK_INT, 0, -1},
    {"pshufd", 0x66, 0x70, SK_INT, SF_IMM, -1}, {"pshufhw", 0xf3, 0x70, SK_INT, SF_IMM, -1},
    {"pshuflw", 0xf2, 0x70, SK_INT, SF_IMM, -1},
    GR("psrlw imm", 0x71, 2), GR("psraw imm", 0x71, 4), GR("psllw imm", 0x71, 6),
    GR("psrld imm", 0x72, 2), GR("psrad imm", 0x72, 4), GR("pslld imm", 0x72, 6),
    GR("psrlq imm", 0x73, 2), GR("psrldq", 0x73, 3), GR("psllq imm", 0x73, 6),
    GR("pslldq", 0x73, 7), GR("group 71 /0", 0x71, 0), GR("group 73 /5", 0x73, 5),
    IN("pcmpeqb", 0x74), IN("pcmpeqw", 0x75), IN("pcmpeqd", 0x76),
    {"movd/movq r/m, xmm", 0x66, 0x7e, SK_INT, SF_GRM | SF_W, -1},
    {"movq xmm, xmm/m64", 0xf3, 0x7e, SK_INT, 0, -1},
    {"movdqa store", 0x66, 0x7f, SK_INT, 0, -1}, {"movdqu store", 0xf3, 0x7f, SK_INT, 0, -1},
    {"movnti", 0, 0xc3, SK_INT, SF_GREG | SF_W, -1},
    {"pinsrw", 0x66, 0xc4, SK_INT, SF_GRM | SF_IMM, -1},
    {"pextrw", 0x66, 0xc5, SK_INT, SF_GREG | SF_IMM, -1},
    SH("psrlw", 0xd1), SH("psrld", 0xd2), SH("psrlq", 0xd3), IN("paddq", 0xd4),
    IN("pmullw", 0xd5), {"movq xmm/m64, xmm", 0x66, 0xd6, SK_INT, 0, -1},
    {"pmovmskb", 0x66, 0xd7, SK_INT, SF_GREG, -1},
    IN("psubusb", 0xd8), IN("psubusw", 0xd9), IN("pminub", 0xda), IN("pand", 0xdb),
    IN("paddusb", 0xdc), IN("paddusw", 0xdd), IN("pmaxub", 0xde), IN("pandn", 0xdf),
    IN("pavgb", 0xe0), SH("psraw", 0xe1), SH("psrad", 0xe2), IN("pavgw", 0xe3),
    IN("pmulhuw", 0xe4), IN("pmulhw", 0xe5), IN("movntdq", 0xe7),
    IN("psubsb", 0xe8), IN("psubsw", 0xe9), IN("pminsw", 0xea), IN("por", 0xeb),
    IN("paddsb", 0xec), IN("paddsw", 0xed), IN("pmaxsw", 0xee), IN("pxor", 0xef),
    SH("psllw", 0xf1), SH("pslld", 0xf2), SH("psllq", 0xf3), IN("pmuludq", 0xf4),
    IN("pmaddwd", 0xf5), IN("psadbw", 0xf6), {"maskmovdqu", 0x66, 0xf7, SK_INT, SF_RDI, -1},
    IN("psubb", 0xf8), IN("psubw", 0xf9), IN("psubd", 0xfa), IN("psubq", 0xfb),
    IN("paddb", 0xfc), IN("paddw", 0xfd), IN("paddd", 0xfe),
};
#undef PS
#undef PD
#undef IN
#undef SH
#undef GR
#undef ARITH4

#endif
