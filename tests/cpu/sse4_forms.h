/*
 * The SSE3..SSE4.2, POPCNT, CRC32, AES-NI and PCLMULQDQ forms test_sse4.c
 * compares with the host, as a table the coverage table (coverage.h) reads
 * too: a form listed here is one the host-differential run exercises.
 */
#ifndef HK_TESTS_CPU_SSE4_FORMS_H
#define HK_TESTS_CPU_SSE4_FORMS_H

#include <stdint.h>

enum sse4_kind { S4K_PS, S4K_PD, S4K_INT, S4K_STR };

#define S4F_GREG 0x01  /* ModRM.reg names a GPR */
#define S4F_GRM 0x02   /* ModRM.rm names a GPR (or integer memory) */
#define S4F_W 0x04     /* also with REX.W */
#define S4F_FP 0x08    /* floating point: run with exceptions unmasked too */
#define S4F_ALLIMM 0x10 /* every imm8 value, in turn */

struct sse4_form {
    const char *name;
    uint8_t pfx2, pfx, map, op; /* [pfx2] [pfx] [REX] 0F [map] op; map 0x38, 0x3a or 0 */
    uint8_t kind, flags;
};

#define I66(n, m, o) {n, 0, 0x66, m, o, S4K_INT, 0}
#define FP(n, p, m, o, k) {n, 0, p, m, o, k, S4F_FP}

static const struct sse4_form sse4_forms[] = {
    /* SSE3 */
    FP("addsubpd", 0x66, 0, 0xd0, S4K_PD), FP("addsubps", 0xf2, 0, 0xd0, S4K_PS),
    FP("haddpd", 0x66, 0, 0x7c, S4K_PD), FP("haddps", 0xf2, 0, 0x7c, S4K_PS),
    FP("hsubpd", 0x66, 0, 0x7d, S4K_PD), FP("hsubps", 0xf2, 0, 0x7d, S4K_PS),
    {"movsldup", 0, 0xf3, 0, 0x12, S4K_INT, 0}, {"movshdup", 0, 0xf3, 0, 0x16, S4K_INT, 0},
    {"movddup", 0, 0xf2, 0, 0x12, S4K_INT, 0}, {"lddqu", 0, 0xf2, 0, 0xf0, S4K_INT, 0},
    /* SSSE3 */
    I66("pshufb", 0x38, 0x00), I66("phaddw", 0x38, 0x01), I66("phaddd", 0x38, 0x02),
    I66("phaddsw", 0x38, 0x03), I66("pmaddubsw", 0x38, 0x04), I66("phsubw", 0x38, 0x05),
    I66("phsubd", 0x38, 0x06), I66("phsubsw", 0x38, 0x07), I66("psignb", 0x38, 0x08),
    I66("psignw", 0x38, 0x09), I66("psignd", 0x38, 0x0a), I66("pmulhrsw", 0x38, 0x0b),
    I66("pabsb", 0x38, 0x1c), I66("pabsw", 0x38, 0x1d), I66("pabsd", 0x38, 0x1e),
    I66("palignr", 0x3a, 0x0f),
    /* SSE4.1 */
    I66("pblendvb", 0x38, 0x10), I66("blendvps", 0x38, 0x14), I66("blendvpd", 0x38, 0x15),
    I66("ptest", 0x38, 0x17),
    I66("pmovsxbw", 0x38, 0x20), I66("pmovsxbd", 0x38, 0x21), I66("pmovsxbq", 0x38, 0x22),
    I66("pmovsxwd", 0x38, 0x23), I66("pmovsxwq", 0x38, 0x24), I66("pmovsxdq", 0x38, 0x25),
    I66("pmuldq", 0x38, 0x28), I66("pcmpeqq", 0x38, 0x29), I66("movntdqa", 0x38, 0x2a),
    I66("packusdw", 0x38, 0x2b),
    I66("pmovzxbw", 0x38, 0x30), I66("pmovzxbd", 0x38, 0x31), I66("pmovzxbq", 0x38, 0x32),
    I66("pmovzxwd", 0x38, 0x33), I66("pmovzxwq", 0x38, 0x34), I66("pmovzxdq", 0x38, 0x35),
    I66("pminsb", 0x38, 0x38), I66("pminsd", 0x38, 0x39), I66("pminuw", 0x38, 0x3a),
    I66("pminud", 0x38, 0x3b), I66("pmaxsb", 0x38, 0x3c), I66("pmaxsd", 0x38, 0x3d),
    I66("pmaxuw", 0x38, 0x3e), I66("pmaxud", 0x38, 0x3f), I66("pmulld", 0x38, 0x40),
    I66("phminposuw", 0x38, 0x41),
    FP("roundps", 0x66, 0x3a, 0x08, S4K_PS), FP("roundpd", 0x66, 0x3a, 0x09, S4K_PD),
    FP("roundss", 0x66, 0x3a, 0x0a, S4K_PS), FP("roundsd", 0x66, 0x3a, 0x0b, S4K_PD),
    I66("blendps", 0x3a, 0x0c), I66("blendpd", 0x3a, 0x0d), I66("pblendw", 0x3a, 0x0e),
    {"pextrb", 0, 0x66, 0x3a, 0x14, S4K_INT, S4F_GRM | S4F_W},
    {"pextrw", 0, 0x66, 0x3a, 0x15, S4K_INT, S4F_GRM | S4F_W},
    {"pextrd/q", 0, 0x66, 0x3a, 0x16, S4K_INT, S4F_GRM | S4F_W},
    {"extractps", 0, 0x66, 0x3a, 0x17, S4K_INT, S4F_GRM | S4F_W},
    {"pinsrb", 0, 0x66, 0x3a, 0x20, S4K_INT, S4F_GRM | S4F_W}, I66("insertps", 0x3a, 0x21),
    {"pinsrd/q", 0, 0x66, 0x3a, 0x22, S4K_INT, S4F_GRM | S4F_W},
    FP("dpps", 0x66, 0x3a, 0x40, S4K_PS), FP("dppd", 0x66, 0x3a, 0x41, S4K_PD),
    I66("mpsadbw", 0x3a, 0x42),
    /* SSE4.2, POPCNT */
    I66("pcmpgtq", 0x38, 0x37),
    {"pcmpestrm", 0, 0x66, 0x3a, 0x60, S4K_STR, S4F_W | S4F_ALLIMM},
    {"pcmpestri", 0, 0x66, 0x3a, 0x61, S4K_STR, S4F_W | S4F_ALLIMM},
    {"pcmpistrm", 0, 0x66, 0x3a, 0x62, S4K_STR, S4F_W | S4F_ALLIMM},
    {"pcmpistri", 0, 0x66, 0x3a, 0x63, S4K_STR, S4F_W | S4F_ALLIMM},
    {"crc32 r, r/m8", 0, 0xf2, 0x38, 0xf0, S4K_INT, S4F_GREG | S4F_GRM | S4F_W},
    {"crc32 r, r/m32/64", 0, 0xf2, 0x38, 0xf1, S4K_INT, S4F_GREG | S4F_GRM | S4F_W},
    {"crc32 r, r/m16", 0x66, 0xf2, 0x38, 0xf1, S4K_INT, S4F_GREG | S4F_GRM | S4F_W},
    {"popcnt", 0, 0xf3, 0, 0xb8, S4K_INT, S4F_GREG | S4F_GRM | S4F_W},
    {"popcnt r16", 0x66, 0xf3, 0, 0xb8, S4K_INT, S4F_GREG | S4F_GRM},
    /* AES-NI, PCLMULQDQ */
    I66("aesimc", 0x38, 0xdb), I66("aesenc", 0x38, 0xdc), I66("aesenclast", 0x38, 0xdd),
    I66("aesdec", 0x38, 0xde), I66("aesdeclast", 0x38, 0xdf),
    I66("aeskeygenassist", 0x3a, 0xdf), I66("pclmulqdq", 0x3a, 0x44),
};
#undef I66
#undef FP

#endif
