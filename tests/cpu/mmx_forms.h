/*
 * The MMX-register forms test_mmx.c compares with the host CPU, as a
 * plain table: name, map (0x0f, 0x38 for 0F 38, 0x3a for 0F 3A),
 * mandatory prefix (0, 0x66, 0xf3, 0xf2), opcode, ModRM.reg for group
 * forms (else -1), and how the test builds operands. Every row here runs
 * with register and memory operands (where they exist), random and edge
 * inputs, and its faults.
 */
#ifndef HK_TESTS_CPU_MMX_FORMS_H
#define HK_TESTS_CPU_MMX_FORMS_H

#include <stdint.h>

/* Operand kinds (mmx_form.flags). */
#define MF_IMM 0x001     /* imm8 follows */
#define MF_GREG 0x002    /* ModRM.reg is a GPR */
#define MF_GRM 0x004     /* ModRM.rm is a GPR or memory */
#define MF_XREG 0x008    /* ModRM.reg is an XMM register */
#define MF_XRM 0x010     /* ModRM.rm is an XMM register or memory */
#define MF_REGONLY 0x020 /* the memory form is #UD */
#define MF_MEMONLY 0x040 /* the register form is #UD */
#define MF_SHIFT 0x080   /* the source is a shift count */
#define MF_PS 0x100      /* floating-point inputs: single */
#define MF_PD 0x200      /* floating-point inputs: double */
#define MF_RDI 0x400     /* implicit [rDI] store (MASKMOVQ) */
#define MF_NOMODRM 0x800 /* no ModRM byte (EMMS) */

struct mmx_form {
    const char *name;
    uint8_t map, pfx, opc;
    int8_t reg;
    uint16_t flags;
};

#define MMX_OP(n, o) {n, 0x0f, 0, o, -1, 0}
#define MMX_SH(n, o) {n, 0x0f, 0, o, -1, MF_SHIFT}
#define MMX_GRP(n, o, r) {n, 0x0f, 0, o, r, MF_IMM | MF_REGONLY}
#define MMX_38(n, o) {n, 0x38, 0, o, -1, 0}

static const struct mmx_form mmx_forms[] = {
    /* MMX */
    MMX_OP("punpcklbw", 0x60), MMX_OP("punpcklwd", 0x61), MMX_OP("punpckldq", 0x62),
    MMX_OP("packsswb", 0x63), MMX_OP("pcmpgtb", 0x64), MMX_OP("pcmpgtw", 0x65),
    MMX_OP("pcmpgtd", 0x66), MMX_OP("packuswb", 0x67), MMX_OP("punpckhbw", 0x68),
    MMX_OP("punpckhwd", 0x69), MMX_OP("punpckhdq", 0x6a), MMX_OP("packssdw", 0x6b),
    {"movd/movq mm, r/m", 0x0f, 0, 0x6e, -1, MF_GRM},
    MMX_OP("movq mm, mm/m64", 0x6f),
    MMX_GRP("psrlw imm", 0x71, 2), MMX_GRP("psraw imm", 0x71, 4), MMX_GRP("psllw imm", 0x71, 6),
    MMX_GRP("psrld imm", 0x72, 2), MMX_GRP("psrad imm", 0x72, 4), MMX_GRP("pslld imm", 0x72, 6),
    MMX_GRP("psrlq imm", 0x73, 2), MMX_GRP("psllq imm", 0x73, 6),
    MMX_GRP("group 71 /0", 0x71, 0), MMX_GRP("group 72 /3", 0x72, 3),
    MMX_GRP("group 73 /3 (no psrldq mm)", 0x73, 3), MMX_GRP("group 73 /7", 0x73, 7),
    MMX_OP("pcmpeqb", 0x74), MMX_OP("pcmpeqw", 0x75), MMX_OP("pcmpeqd", 0x76),
    {"emms", 0x0f, 0, 0x77, -1, MF_NOMODRM},
    {"movd/movq r/m, mm", 0x0f, 0, 0x7e, -1, MF_GRM},
    MMX_OP("movq mm/m64, mm", 0x7f),
    MMX_SH("psrlw", 0xd1), MMX_SH("psrld", 0xd2), MMX_SH("psrlq", 0xd3), MMX_OP("pmullw", 0xd5),
    MMX_OP("psubusb", 0xd8), MMX_OP("psubusw", 0xd9), MMX_OP("pand", 0xdb),
    MMX_OP("paddusb", 0xdc), MMX_OP("paddusw", 0xdd), MMX_OP("pandn", 0xdf),
    MMX_SH("psraw", 0xe1), MMX_SH("psrad", 0xe2), MMX_OP("pmulhw", 0xe5),
    MMX_OP("psubsb", 0xe8), MMX_OP("psubsw", 0xe9), MMX_OP("por", 0xeb),
    MMX_OP("paddsb", 0xec), MMX_OP("paddsw", 0xed), MMX_OP("pxor", 0xef),
    MMX_SH("psllw", 0xf1), MMX_SH("pslld", 0xf2), MMX_SH("psllq", 0xf3),
    MMX_OP("pmaddwd", 0xf5), MMX_OP("psubb", 0xf8), MMX_OP("psubw", 0xf9),
    MMX_OP("psubd", 0xfa), MMX_OP("paddb", 0xfc), MMX_OP("paddw", 0xfd), MMX_OP("paddd", 0xfe),
    /* SSE on MM registers */
    {"cvtpi2ps", 0x0f, 0, 0x2a, -1, MF_XREG},
    {"cvttps2pi", 0x0f, 0, 0x2c, -1, MF_XRM | MF_PS},
    {"cvtps2pi", 0x0f, 0, 0x2d, -1, MF_XRM | MF_PS},
    {"pshufw", 0x0f, 0, 0x70, -1, MF_IMM},
    {"pinsrw mm", 0x0f, 0, 0xc4, -1, MF_GRM | MF_IMM},
    {"pextrw mm", 0x0f, 0, 0xc5, -1, MF_GREG | MF_IMM | MF_REGONLY},
    {"pmovmskb mm", 0x0f, 0, 0xd7, -1, MF_GREG | MF_REGONLY},
    MMX_OP("pminub", 0xda), MMX_OP("pmaxub", 0xde), MMX_OP("pavgb", 0xe0),
    MMX_OP("pavgw", 0xe3), MMX_OP("pmulhuw", 0xe4),
    {"movntq", 0x0f, 0, 0xe7, -1, MF_MEMONLY},
    MMX_OP("pminsw", 0xea), MMX_OP("pmaxsw", 0xee), MMX_OP("psadbw", 0xf6),
    {"maskmovq", 0x0f, 0, 0xf7, -1, MF_REGONLY | MF_RDI},
    /* SSE2 on MM registers */
    {"cvtpi2pd", 0x0f, 0x66, 0x2a, -1, MF_XREG},
    {"cvttpd2pi", 0x0f, 0x66, 0x2c, -1, MF_XRM | MF_PD},
    {"cvtpd2pi", 0x0f, 0x66, 0x2d, -1, MF_XRM | MF_PD},
    MMX_OP("paddq mm", 0xd4), MMX_OP("pmuludq mm", 0xf4), MMX_OP("psubq mm", 0xfb),
    {"movq2dq", 0x0f, 0xf3, 0xd6, -1, MF_XREG | MF_REGONLY},
    {"movdq2q", 0x0f, 0xf2, 0xd6, -1, MF_XRM | MF_REGONLY},
    /* SSSE3 on MM registers */
    MMX_38("pshufb mm", 0x00), MMX_38("phaddw mm", 0x01), MMX_38("phaddd mm", 0x02),
    MMX_38("phaddsw mm", 0x03), MMX_38("pmaddubsw mm", 0x04), MMX_38("phsubw mm", 0x05),
    MMX_38("phsubd mm", 0x06), MMX_38("phsubsw mm", 0x07), MMX_38("psignb mm", 0x08),
    MMX_38("psignw mm", 0x09), MMX_38("psignd mm", 0x0a), MMX_38("pmulhrsw mm", 0x0b),
    MMX_38("pabsb mm", 0x1c), MMX_38("pabsw mm", 0x1d), MMX_38("pabsd mm", 0x1e),
    {"palignr mm", 0x3a, 0, 0x0f, -1, MF_IMM},
};

#define MMX_FORM_COUNT (sizeof(mmx_forms) / sizeof(mmx_forms[0]))

#endif
