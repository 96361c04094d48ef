/*
 * MMX (SDM Vol. 1 ch. 9) and the MMX-register forms that SSE, SSE2 and
 * SSSE3 added: executors for decode_sse.c (exec_mmx.c, exec_mmx_sse.c).
 *
 * MMn is the low 64 bits of physical x87 register n (st_raw[n]). Every
 * MMX instruction but EMMS sets TOP to 0 and tags all eight registers
 * valid; a write to MMn also sets bits 79:64 of the register to ones (SDM
 * Vol. 1 9.5.1, table 9-3). Nothing changes when the instruction faults,
 * except for the stores (mmx_store_top).
 */
#ifndef HK_EMU_MMX_H
#define HK_EMU_MMX_H

#include <string.h>

#include "accel/emu/sse4.h"

static inline uint64_t mmx_get(const struct emu_cpu *cpu, unsigned n)
{
    uint64_t v;
    memcpy(&v, cpu->fpu.st_raw[n & 7], 8);
    return v;
}

/* An MMX store that faults on its memory operand has already set TOP to
 * 0 on Intel, though not yet the tags (checked on the host; AMD changes
 * nothing). */
static inline void mmx_store_top(struct emu_cpu *cpu)
{
    cpu->fpu.fsw &= (uint16_t)~0x3800u;
}

/* The x87 state every MMX instruction leaves (EMMS excepted). */
static inline void mmx_enter(struct emu_cpu *cpu)
{
    cpu->fpu.fsw &= (uint16_t)~0x3800u; /* TOP = 0 */
    cpu->fpu.ftw = 0xff;
}

static inline void mmx_set(struct emu_cpu *cpu, unsigned n, uint64_t v)
{
    uint8_t *r = cpu->fpu.st_raw[n & 7];
    memcpy(r, &v, 8);
    r[8] = r[9] = 0xff;
    mmx_enter(cpu);
}

/* The checks before an MMX instruction: #UD under CR0.EM, #NM under
 * CR0.TS, #MF for a pending unmasked x87 exception (SDM Vol. 3A table
 * 12-1; Vol. 2 "exceptions" of each instruction). `xmm`: the form also
 * uses an XMM register, so CR4.OSFXSR is required as for SSE. */
int mmx_begin(struct emu_cpu *cpu, bool xmm);
/* The mm/m64 source operand (ModRM.rm names an MM register, REX.B
 * ignored; `size` bytes of memory), in v->q[0]; v->q[1] is zero. */
int mmx_load(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, emu_xmm *v);

/* exec_mmx.c: in->sub an enum sse_int_op (ex_mmx_int, ex_mmx_shift_imm)
 * or an enum ssse3_op (ex_mmx_ssse3). */
EXEC(ex_mmx_int); EXEC(ex_mmx_shift_imm); EXEC(ex_mmx_ssse3); EXEC(ex_mmx_palignr);
EXEC(ex_mmx_movd_load); EXEC(ex_mmx_movd_store); EXEC(ex_mmx_movq_load);
EXEC(ex_mmx_movq_store); EXEC(ex_pshufw); EXEC(ex_mmx_pinsrw); EXEC(ex_mmx_pextrw);
EXEC(ex_mmx_pmovmskb); EXEC(ex_maskmovq);

/* exec_mmx_sse.c: MOVQ2DQ, MOVDQ2Q, and CVTPI2PS, CVT(T)PS2PI (sub SSE_PS)
 * and CVTPI2PD, CVT(T)PD2PI (sub SSE_PD) by opcode 2A, 2C, 2D. */
EXEC(ex_movq2dq); EXEC(ex_movdq2q); EXEC(ex_mmx_cvt);

#endif
