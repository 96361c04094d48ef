/*
 * SSE3, SSSE3, SSE4.1, SSE4.2, POPCNT, CRC32, AES-NI and PCLMULQDQ
 * (SDM Vol. 2 instruction pages): executors for decode_sse.c and the host
 * helpers they share. Floating-point and string forms run the host's own
 * instruction under the guest's MXCSR modes, as exec_sse_fp.c does.
 */
#ifndef HK_EMU_SSE4_H
#define HK_EMU_SSE4_H

#include "accel/emu/sse.h"

#if !defined(__x86_64__)
#error "the emu SSE4 forms use the host's SSE unit: build on x86-64"
#endif

/* Switch to the guest's MXCSR (operand c) around one host instruction,
 * saving the host's in h and the flags raised in o. */
#define SSE_HOST_ASM(text) \
    "stmxcsr %[h]\n\tldmxcsr %[c]\n\t" text "\n\tstmxcsr %[o]\n\tldmxcsr %[h]"

/* Case labels 0x00..0x3f / 0x00..0xff for a switch over an imm8 that the
 * host instruction must see as an immediate: C(i) expands one case. */
#define SSE_IMM16(C, h) C(0x##h##0) C(0x##h##1) C(0x##h##2) C(0x##h##3) C(0x##h##4) \
    C(0x##h##5) C(0x##h##6) C(0x##h##7) C(0x##h##8) C(0x##h##9) C(0x##h##a) C(0x##h##b) \
    C(0x##h##c) C(0x##h##d) C(0x##h##e) C(0x##h##f)
#define SSE_IMM64(C) SSE_IMM16(C, 0) SSE_IMM16(C, 1) SSE_IMM16(C, 2) SSE_IMM16(C, 3)
#define SSE_IMM256(C) SSE_IMM64(C) SSE_IMM16(C, 4) SSE_IMM16(C, 5) SSE_IMM16(C, 6) \
    SSE_IMM16(C, 7) SSE_IMM16(C, 8) SSE_IMM16(C, 9) SSE_IMM16(C, a) SSE_IMM16(C, b) \
    SSE_IMM16(C, c) SSE_IMM16(C, d) SSE_IMM16(C, e) SSE_IMM16(C, f)

/* exec_sse_fp.c: the host MXCSR for the guest's modes, merging raised
 * flags (with #XM when unmasked), and one scalar ADD (0x58) or SUB (0x5c)
 * lane's flags as a CPU reports them with unmasked exceptions. */
uint32_t sse_host_csr(const struct emu_cpu *cpu);
int sse_fp_flags(struct emu_cpu *cpu, uint32_t raised);
uint32_t sse_scalar_flags(unsigned opcode, bool dbl, uint64_t a, uint64_t b, uint32_t csr,
                          uint32_t unmasked);
/* d = the 0F 5B or 0F E6 conversion of s selected by prefix index sub
 * (SSE_PS..SSE_SD), run on the host under csr; returns MXCSR after. */
uint32_t sse_host_cvt(unsigned opcode, unsigned sub, emu_xmm *d, const emu_xmm *s, uint32_t csr);

/* d = op(d, s, imm) on the host under MXCSR csr; returns MXCSR after. */
typedef uint32_t (*sse_host_fn)(emu_xmm *d, const emu_xmm *s, uint32_t csr, unsigned imm);
/* Run a host FP form on xmm(reg), r/m (size bytes; 16 must be aligned):
 * raise its SIMD exceptions, write the result only when none is unmasked.
 * `lanes`, when set, recomputes the flags lane by lane (and step by step)
 * for unmasked runs, each step's reduced by sse_step_flags; `tiny` (4 or 8,
 * else 0) is the element size to check for tiny results when underflow is
 * unmasked. */
typedef uint32_t (*sse_lanes_fn)(const struct emu_insn *in, const emu_xmm *d, const emu_xmm *s,
                                 uint32_t csr, uint32_t unmasked);
/* The flags one step of an operation reports: with an unmasked
 * pre-computation exception (invalid, denormal, divide by zero) only those
 * (SDM Vol. 1 11.5.1). */
uint32_t sse_step_flags(uint32_t raised, uint32_t unmasked);
int sse_host_fp(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, sse_host_fn fn,
                sse_lanes_fn lanes, unsigned tiny);

/* exec_sse3.c */
EXEC(ex_sse3_fp); EXEC(ex_movsldup); EXEC(ex_movddup); EXEC(ex_lddqu);

/* exec_ssse3.c: xmm1 = op(xmm1, xmm2/m128), in->sub an enum ssse3_op */
enum ssse3_op {
    S_PSHUFB, S_PHADDW, S_PHADDD, S_PHADDSW, S_PMADDUBSW, S_PHSUBW, S_PHSUBD, S_PHSUBSW,
    S_PSIGNB, S_PSIGNW, S_PSIGND, S_PMULHRSW, S_PABSB, S_PABSW, S_PABSD,
    /* SSE4.1 / SSE4.2 integer ops of the same shape */
    S_PMULDQ, S_PCMPEQQ, S_PACKUSDW, S_PMINSB, S_PMINSD, S_PMINUW, S_PMINUD,
    S_PMAXSB, S_PMAXSD, S_PMAXUW, S_PMAXUD, S_PMULLD, S_PHMINPOSUW, S_PCMPGTQ,
    S_COUNT
};
EXEC(ex_ssse3); EXEC(ex_palignr);
/* The same lane operations and PALIGNR over the low `bytes` bytes: 16
 * (XMM) or 8 (the MMX forms). */
void ssse3_lanes(unsigned op, emu_xmm *d, const emu_xmm *s, unsigned bytes);
void ssse3_palignr(emu_xmm *d, const emu_xmm *s, unsigned imm, unsigned bytes);

/* exec_sse41.c */
EXEC(ex_blendv); EXEC(ex_blend_imm); EXEC(ex_pmovx); EXEC(ex_ptest); EXEC(ex_sse41_round);
EXEC(ex_dpp); EXEC(ex_mpsadbw); EXEC(ex_insertps); EXEC(ex_extractps); EXEC(ex_pinsr);
EXEC(ex_pextr); EXEC(ex_movntdqa);

/* exec_sse42.c */
EXEC(ex_pcmpstr); EXEC(ex_crc32); EXEC(ex_popcnt);

/* exec_aes.c */
EXEC(ex_aes); EXEC(ex_aeskeygen); EXEC(ex_pclmulqdq);

#endif
