/* Executors: one function per instruction (family), called through
 * emu_insn.fn. Grouped by file: exec_alu.c, exec_mov.c, exec_ctrl.c,
 * exec_string.c, exec_system.c. */
#ifndef HK_EMU_EXEC_H
#define HK_EMU_EXEC_H

#include "accel/emu/cpu.h"

#define EXEC(name) int name(struct emu_cpu *cpu, const struct emu_insn *in)

/* Advance past the instruction: the common successful ending. */
static inline int next(struct emu_cpu *cpu, const struct emu_insn *in)
{
    cpu->rip += in->len;
    if (cpu->mode != MODE_LONG64)
        cpu->rip &= 0xffffffffull;
    return EMU_OK;
}

/* exec_alu.c */
/* The read of a read-modify-write: write-checked first, as hardware does
 * (emu_probe_write checks [lin, lin+size) page by page, in order). */
int emu_probe_write(struct emu_cpu *cpu, uint64_t lin, unsigned size);
int emu_read_rmw(struct emu_cpu *cpu, int seg, uint64_t ea, unsigned size, uint64_t *v);
int rm_read_rmw_mem(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size, uint64_t *v);
static inline int rm_read_rmw(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size,
                              uint64_t *v)
{
    return (in->flags & INSN_MEM) ? rm_read_rmw_mem(cpu, in, size, v) : rm_read(cpu, in, size, v);
}
EXEC(ex_alu_rm_reg); EXEC(ex_alu_reg_rm); EXEC(ex_alu_acc_imm); EXEC(ex_alu_rm_imm);
EXEC(ex_test_rm_reg); EXEC(ex_test_rm_imm); EXEC(ex_inc_dec_rm); EXEC(ex_inc_dec_reg);
EXEC(ex_not); EXEC(ex_neg); EXEC(ex_mul); EXEC(ex_imul1); EXEC(ex_imul_reg_rm);
EXEC(ex_imul_reg_rm_imm); EXEC(ex_div); EXEC(ex_idiv); EXEC(ex_shift); EXEC(ex_shld_shrd);
EXEC(ex_bt_reg); EXEC(ex_bt_imm); EXEC(ex_bsf); EXEC(ex_bsr);
EXEC(ex_xadd); EXEC(ex_cmpxchg); EXEC(ex_setcc); EXEC(ex_cmovcc); EXEC(ex_bswap);

/* exec_mov.c */
EXEC(ex_mov_rm_reg); EXEC(ex_mov_reg_rm); EXEC(ex_mov_rm_imm); EXEC(ex_mov_reg_imm);
EXEC(ex_mov_acc_moffs); EXEC(ex_mov_moffs_acc); EXEC(ex_lea); EXEC(ex_xchg_rm_reg);
EXEC(ex_xchg_acc_reg); EXEC(ex_movzx); EXEC(ex_movsx); EXEC(ex_movsxd);
EXEC(ex_push_reg); EXEC(ex_pop_reg); EXEC(ex_push_imm); EXEC(ex_push_rm); EXEC(ex_pop_rm);
EXEC(ex_pushf); EXEC(ex_popf); EXEC(ex_lahf); EXEC(ex_sahf); EXEC(ex_leave); EXEC(ex_enter);
EXEC(ex_cbw); EXEC(ex_cwd);

/* exec_ctrl.c */
EXEC(ex_jmp_rel); EXEC(ex_jcc); EXEC(ex_call_rel); EXEC(ex_ret); EXEC(ex_jmp_rm);
EXEC(ex_call_rm); EXEC(ex_loop); EXEC(ex_jcxz); EXEC(ex_int3); EXEC(ex_icebp); EXEC(ex_int_imm); EXEC(ex_iret);
EXEC(ex_nop); EXEC(ex_ud); EXEC(ex_flag_op);

/* A conditional jump (Jcc, LOOPcc, JrCXZ): a block it ends goes on two
 * ways, past its end or to the target (block links, compiled ways out). */
static inline bool emu_cond_branch(const struct emu_insn *in)
{
    emu_exec_fn g = emu_general_fn(in->fn);
    return g == ex_jcc || g == ex_loop || g == ex_jcxz;
}

/* exec_string.c */
EXEC(ex_movs); EXEC(ex_stos); EXEC(ex_lods); EXEC(ex_cmps); EXEC(ex_scas);
EXEC(ex_ins); EXEC(ex_outs);

/* exec_system.c */
EXEC(ex_hlt); EXEC(ex_in); EXEC(ex_out); EXEC(ex_cpuid); EXEC(ex_rdtsc); EXEC(ex_rdmsr);
EXEC(ex_wrmsr); EXEC(ex_mov_from_cr); EXEC(ex_mov_to_cr); EXEC(ex_lgdt_lidt); EXEC(ex_invlpg);
EXEC(ex_cli); EXEC(ex_sti); EXEC(ex_wbinvd); EXEC(ex_invd); EXEC(ex_rdpmc);
int emu_write_cr0(struct emu_cpu *cpu, uint64_t v); /* #GP(0) on a value MOV CR0 refuses */

/* exec_cr.c: the values control registers and EFER accept */
bool emu_cr0_valid(uint64_t v);
bool emu_cr3_valid(const struct emu_cpu *cpu, uint64_t v);
bool emu_cr4_valid(const struct emu_cpu *cpu, uint64_t v);
bool emu_efer_valid(const struct emu_cpu *cpu, uint64_t v);
bool emu_pat_valid(uint64_t v);
EXEC(ex_smsw); EXEC(ex_lmsw);

/* exec_segment.c */
EXEC(ex_mov_sreg_rm); EXEC(ex_mov_rm_sreg); EXEC(ex_push_sreg); EXEC(ex_pop_sreg);
EXEC(ex_jmp_far_mem); EXEC(ex_call_far_mem); EXEC(ex_retf); EXEC(ex_group6); EXEC(ex_lar_lsl);

/* exec_legacy.c */
EXEC(ex_daa_das); EXEC(ex_aaa_aas); EXEC(ex_aam_aad); EXEC(ex_pusha); EXEC(ex_popa);
EXEC(ex_bound); EXEC(ex_arpl); EXEC(ex_into); EXEC(ex_salc); EXEC(ex_xlat);
EXEC(ex_jmp_far_imm); EXEC(ex_call_far_imm); EXEC(ex_load_far_pointer);

/* exec_random.c */
EXEC(ex_rdrand);

/* exec_syscall.c */
EXEC(ex_syscall); EXEC(ex_sysret); EXEC(ex_sysenter); EXEC(ex_sysexit); EXEC(ex_grp7_reg7); EXEC(ex_cmpxchg8b); EXEC(ex_clts);
EXEC(ex_mov_dr);

#endif
