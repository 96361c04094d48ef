/*
 * The x87 FPU and FXSAVE/FXRSTOR (SDM Vol. 1 ch. 8 and 10.5): state
 * helpers and executors shared by exec_x87_*.c, exec_fxsave.c and the
 * decoder tables.
 *
 * Arithmetic runs on the host's own x87 (exec_x87_host.c): the guest's
 * registers, control word and tags are loaded into the host FPU, the very
 * same instruction runs there, and the state is read back. That makes
 * results, flags, C0-C3, tags and stack faults bit-exact with the host CPU
 * without a soft-float library. Only the pending-exception (#MF) logic,
 * the instruction/data pointers and the memory layouts of FNSAVE, FNSTENV
 * and FXSAVE are done here in C.
 */
#ifndef HK_EMU_X87_H
#define HK_EMU_X87_H

#include "accel/emu/decode_tables.h"
#include "accel/emu/exec.h"

/* FSW bits (SDM Vol. 1 8.1.3). */
#define FSW_IE 0x0001u
#define FSW_DE 0x0002u
#define FSW_ZE 0x0004u
#define FSW_OE 0x0008u
#define FSW_UE 0x0010u
#define FSW_PE 0x0020u
#define FSW_SF 0x0040u
#define FSW_ES 0x0080u
#define FSW_C0 0x0100u
#define FSW_C1 0x0200u
#define FSW_C2 0x0400u
#define FSW_TOP 0x3800u
#define FSW_C3 0x4000u
#define FSW_B 0x8000u
#define FSW_EXC 0x003fu     /* the six exception flags */
#define FSW_STICKY 0x007fu  /* exception flags and SF: cleared only by FNCLEX & co. */

#define FCW_EXC_MASKS 0x003fu
/* FLDCW keeps bits 0-5, 8-12; bit 6 always reads as 1 (checked on hardware). */
#define FCW_VALID 0x1f3fu
#define FCW_ONES 0x0040u
#define FCW_INIT 0x037fu

/* CR0.NE: #MF reports x87 errors (else the legacy FERR# line; see x87_begin). */
#define X87_CR0_NE 0x20ull

/* MXCSR bits FXRSTOR and LDMXCSR accept, as FXSAVE reports them in
 * MXCSR_MASK: Intel's value with DAZ. (AMD hosts also report bit 17, MM,
 * misaligned-SSE mode, which this CPU does not implement.) */
#define EMU_MXCSR_MASK 0x0000ffffu

static inline unsigned x87_top(const struct emu_fpu *f)
{
    return (f->fsw >> 11) & 7;
}

/* ES and B follow the exception flags and their masks: hardware recomputes
 * them on FLDCW, FLDENV, FRSTOR and FXRSTOR (checked on the host). */
static inline void x87_update_es(struct emu_fpu *f)
{
    if (f->fsw & ~f->fcw & FSW_EXC)
        f->fsw |= FSW_ES | FSW_B;
    else
        f->fsw &= (uint16_t)~(FSW_ES | FSW_B);
}

/* The state every FNINIT / FNSAVE leaves: registers keep their bits. */
void x87_init_state(struct emu_fpu *f);

/* The full two-bit tag of physical register i (FNSTENV/FNSAVE format). */
unsigned x87_full_tag(const struct emu_fpu *f, unsigned i);

/* Run the x87 instruction `opcode` (D8-DF) / `modrm` on the host FPU
 * against the guest state f. A memory form uses mem (10 bytes at most),
 * read or written in place, as its operand; only ModRM.reg matters then.
 * *rflags: the guest's arithmetic flags in (FCMOVcc reads them), the host's
 * out (FCOMI sets them). Returns the exception flags the instruction
 * raised. f is updated as hardware would, ES/B included. */
unsigned x87_host_exec(struct emu_fpu *f, unsigned opcode, unsigned modrm, void *mem,
                       uint64_t *rflags);

/* exec_x87_ops.c: the common prologue of every x87 instruction: #NM under
 * CR0.EM/TS, then, for waiting instructions, #MF for a pending unmasked
 * exception. */
int x87_begin(struct emu_cpu *cpu, bool waiting);
/* Operand address for x87 memory forms: EA and linear address. */
int x87_operand(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size,
                enum emu_access acc, uint64_t *ea, uint64_t *lin);

/* x87 executors (exec_x87_ops.c, exec_x87_env.c). */
EXEC(ex_x87_reg); EXEC(ex_x87_mload); EXEC(ex_x87_mstore);
EXEC(ex_fnstsw_ax); EXEC(ex_fnstsw_m); EXEC(ex_fnstcw); EXEC(ex_fldcw);
EXEC(ex_fnclex); EXEC(ex_fninit); EXEC(ex_fwait); EXEC(ex_emms);
EXEC(ex_fnstenv); EXEC(ex_fldenv); EXEC(ex_fnsave); EXEC(ex_frstor);

/* exec_fxsave.c: 0F AE (group 15). */
EXEC(ex_fxsave); EXEC(ex_fxrstor); EXEC(ex_ldmxcsr); EXEC(ex_stmxcsr);
EXEC(ex_clflush); EXEC(ex_fence);
extern const struct op emu_grp15_mem[8];
extern const struct op emu_grp15_reg[8];

#endif
