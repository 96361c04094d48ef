/*
 * HYPERKIT_EMU_JIT=lockstep: a compiled block whose every instruction
 * touches only registers, flags and RIP runs twice from the same state,
 * through the interpreter (emu_run_block, the reference) and through its
 * compiled code; any difference aborts with what differs. Blocks that
 * reach memory or devices just run compiled (jit.c picks): running them
 * twice would repeat their side effects.
 */
#if defined(__x86_64__)
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "accel/emu/exec.h"
#include "accel/emu/jit/jit_int.h"

/* Executors (their general form) that read and write only registers,
 * flags and RIP when their operand is a register. */
static bool pure_insn(const struct emu_insn *in)
{
    if (jit_native_form(in))
        return true;
    emu_exec_fn g = emu_general_fn(in->fn);
    if (g == ex_jcc || g == ex_jmp_rel || g == ex_nop || g == ex_bswap)
        return true;
    if (in->flags & INSN_MEM)
        return false;
    static const emu_exec_fn reg_forms[] = {
        ex_alu_rm_reg, ex_alu_reg_rm, ex_alu_acc_imm, ex_alu_rm_imm, ex_test_rm_reg,
        ex_test_rm_imm, ex_inc_dec_rm, ex_inc_dec_reg, ex_not, ex_neg, ex_imul_reg_rm,
        ex_imul_reg_rm_imm, ex_shift, ex_setcc, ex_cmovcc, ex_mov_rm_reg, ex_mov_reg_rm,
        ex_mov_reg_imm, ex_movzx, ex_movsx, ex_movsxd, ex_xchg_acc_reg, ex_xchg_rm_reg, ex_cbw,
        ex_cwd,
    };
    for (size_t i = 0; i < sizeof(reg_forms) / sizeof(reg_forms[0]); i++)
        if (g == reg_forms[i])
            return true;
    return false;
}

struct lock_state {
    uint64_t gpr[16], rip, rflags, insn_count;
    struct emu_lazy_flags lf;
    int vector;
    uintptr_t run_end;
};

static void take(const struct emu_cpu *cpu, struct lock_state *s)
{
    memcpy(s->gpr, cpu->gpr, sizeof(s->gpr));
    s->rip = cpu->rip;
    s->rflags = cpu->rflags;
    s->insn_count = cpu->insn_count;
    s->lf = cpu->lf;
    s->vector = cpu->exc.vector;
    s->run_end = cpu->run_end;
}

static void put(struct emu_cpu *cpu, const struct lock_state *s)
{
    memcpy(cpu->gpr, s->gpr, sizeof(s->gpr));
    cpu->rip = s->rip;
    cpu->rflags = s->rflags;
    cpu->insn_count = s->insn_count;
    cpu->lf = s->lf;
    cpu->exc.vector = s->vector;
    cpu->run_end = s->run_end;
}

/* All of RFLAGS, leaving the lazy state as it was. */
static uint64_t rflags_now(struct emu_cpu *cpu)
{
    uint64_t keep = cpu->rflags;
    struct emu_lazy_flags lf = cpu->lf;
    uint64_t f = emu_rflags(cpu);
    cpu->rflags = keep;
    cpu->lf = lf;
    return f;
}

static void differs(const struct emu_block *b, const char *what, uint64_t interp, uint64_t jit)
{
    fprintf(stderr,
            "hyperkit: emu JIT lockstep: block at guest-physical %#" PRIx64 " (%u instructions)"
            " differs from the interpreter in %s: interpreter %#" PRIx64 ", JIT %#" PRIx64 "\n",
            b->gpa, b->n, what, interp, jit);
    abort();
}

bool jit_lockstep_fits(const struct emu_block *b)
{
    for (unsigned i = 0; i < b->n; i++)
        if (!pure_insn(&b->insns[i]))
            return false;
    return true;
}

int emu_jit_lockstep(struct emu_cpu *cpu, const struct emu_block *b)
{
    struct lock_state start, ref, got;
    take(cpu, &start);
    int st_ref = emu_run_block(cpu, b);
    take(cpu, &ref);
    uint64_t rfl_ref = rflags_now(cpu);
    put(cpu, &start);
    int32_t left = cpu->chain_left;
    int st = b->jit_code(cpu, b);
    /* Compared with what run_chain will count: the budget taken. */
    take(cpu, &got);
    got.insn_count += (uint32_t)(left - cpu->chain_left);
    static const char *const names[16] = {"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
                                          "R8",  "R9",  "R10", "R11", "R12", "R13", "R14", "R15"};
    if (st != st_ref)
        differs(b, "status", (uint64_t)st_ref, (uint64_t)st);
    for (int r = 0; r < 16; r++)
        if (ref.gpr[r] != got.gpr[r])
            differs(b, names[r], ref.gpr[r], got.gpr[r]);
    if (ref.rip != got.rip)
        differs(b, "RIP", ref.rip, got.rip);
    if (ref.insn_count != got.insn_count)
        differs(b, "the instruction count", ref.insn_count, got.insn_count);
    if (ref.lf.op != got.lf.op || ref.lf.size != got.lf.size)
        differs(b, "the lazy-flag operation and size", ref.lf.op | ref.lf.size << 8u,
                got.lf.op | got.lf.size << 8u);
    if (ref.lf.a != got.lf.a || ref.lf.b != got.lf.b || ref.lf.res != got.lf.res)
        differs(b, "the lazy-flag operands (a ^ b ^ res)", ref.lf.a ^ ref.lf.b ^ ref.lf.res,
                got.lf.a ^ got.lf.b ^ got.lf.res);
    if (ref.lf.cf_in != got.lf.cf_in)
        differs(b, "the lazy-flag carry", ref.lf.cf_in, got.lf.cf_in);
    if (ref.vector != got.vector)
        differs(b, "the exception vector", (uint64_t)ref.vector, (uint64_t)got.vector);
    if (ref.run_end != got.run_end)
        differs(b, "run_end", ref.run_end, got.run_end);
    uint64_t rfl = rflags_now(cpu);
    if (rfl != rfl_ref)
        differs(b, "RFLAGS", rfl_ref, rfl);
    return st;
}
#endif
