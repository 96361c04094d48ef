/*
 * PUSH reg, POP reg, CALL rel32, RET and RET imm16, JMP and CALL through
 * a register or memory, in 64-bit code as host code, each doing on its
 * fast path exactly what its handler does (exec_fast_flow.c: fast_push,
 * fast_pop, fast_call, fast_ret; exec_ctrl.c: ex_jmp_rm, ex_call_rm).
 * The stack slot and a branch's pointer go through the data-TLB probe
 * inline (jit_tlb_probe): in 64-bit mode SS's base is not added
 * (emu_tlb_host adds only FS's and GS's), so RSP is the linear address.
 * A miss, a page-crossing or non-canonical slot, RFLAGS.AC, or a
 * non-canonical CALL, JMP or RET target calls the handler, which takes
 * the full path; nothing is written before the last check, so the
 * handler starts from untouched state, and jit_emit_call's R13 (RSP for
 * emu_block_stop) is the instruction's own. PUSH and POP leave RIP to
 * the pending delta, as memory MOVs do (jit_mem_slow_call). CALL, JMP
 * and RET end the block: RIP is written on both paths and no delta is
 * left. None touches the flags.
 */
#if defined(__x86_64__)
#include "accel/emu/exec.h"
#include "accel/emu/jit/jit_int.h"

/* JMP and CALL through a register or memory (FF /4, FF /2), 64-bit
 * operand; memory with 32- or 64-bit addressing, as jit_mem_lin takes. */
static bool branch_rm(const struct emu_insn *in)
{
    return (in->fn == ex_jmp_rm || in->fn == ex_call_rm) && in->opsz == 8 &&
           (!(in->flags & INSN_MEM) || in->adsz == 4 || in->adsz == 8);
}

bool jit_stack_form(const struct emu_insn *in)
{
    emu_exec_fn g = emu_general_fn(in->fn);
    return (g != in->fn && in->opsz == 8 &&
            (g == ex_push_reg || g == ex_pop_reg || g == ex_call_rel || g == ex_ret)) ||
           branch_rm(in);
}

uint32_t jit_jump_noncanonical(struct jit_buf *j)
{
    x_mov_rr(j, true, X_RCX, X_RAX);
    x_shl_imm(j, true, X_RCX, 16);
    x_shift_imm(j, true, 7, X_RCX, 16);
    x_alu_rr(j, true, X_CMP, X_RCX, X_RAX);
    return x_jcc(j, X_CC_NE);
}

/* RAX = RSP - 8 (PUSH, CALL) or RSP (POP, RET), then the probe: RCX =
 * the slot's host address on a hit. */
static unsigned probe_slot(struct jit_ctx *c, bool push, uint32_t slow[JIT_PROBE_SLOW])
{
    x_mov_rr(&c->j, true, X_RAX, jit_reg(c, 4));
    if (push)
        x_alu_r_imm(&c->j, true, X_SUB, X_RAX, 8);
    return jit_tlb_probe(c, push ? JIT_CPU(tlb_write) : JIT_CPU(tlb_read), 8, slow);
}

/* fast_push: the register read after the probe, before RSP moves (PUSH
 * RSP pushes the old value). */
static void push(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop, uint32_t *ended)
{
    struct jit_buf *j = &c->j;
    uint32_t slow[JIT_PROBE_SLOW];
    unsigned ns = probe_slot(c, true, slow);
    jit_read_gpr(c, 8, in->reg, X_RAX);
    x_store(j, true, X_RAX, X_RCX, 0);
    x_alu_r_imm(j, true, X_SUB, jit_reg(c, 4), 8);
    jit_reg_written(c, 4);
    jit_mem_slow_call(c, in, slow, ns, stop, ended);
}

/* fast_pop: RSP moves first, then the register (POP RSP leaves the
 * popped value). */
static void pop(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop, uint32_t *ended)
{
    struct jit_buf *j = &c->j;
    uint32_t slow[JIT_PROBE_SLOW];
    unsigned ns = probe_slot(c, false, slow);
    x_load(j, true, X_RAX, X_RCX, 0);
    x_alu_r_imm(j, true, X_ADD, jit_reg(c, 4), 8);
    jit_reg_written(c, 4);
    jit_write_gpr(c, 8, in->reg);
    jit_mem_slow_call(c, in, slow, ns, stop, ended);
}

/* The block's end after a fast path that wrote RIP: the slow jumps call
 * the handler (which flushes the pending delta first and sets RIP
 * itself) in the cold section, then go on after the fast path; no delta
 * is left either way. The held jumps leave with one qword on the host
 * stack (branch's target), dropped first. */
static void end_slow_call(struct jit_ctx *c, const struct emu_insn *in, const uint32_t *slow,
                          unsigned ns, const uint32_t *held, unsigned nh, uint32_t *stop,
                          uint32_t *ended)
{
    struct jit_buf *j = &c->j;
    uint32_t join = jb_pos(j);
    jit_cold_begin(c);
    for (unsigned k = 0; k < nh; k++)
        x_patch(j, held[k], jb_pos(j));
    if (nh)
        x_pop(j, X_RCX);
    for (unsigned k = 0; k < ns; k++)
        x_patch(j, slow[k], jb_pos(j));
    jit_regs_slow_call(c, in, stop, ended);
    x_patch(j, x_jmp(j), join);
    jit_cold_end(c);
    c->rip_delta = 0;
    c->rip_stale = false;
}

/* RAX = RIP past in: with chaining from RBP (cpu->rip may be stale,
 * jit_rip_from_rbp), else from cpu->rip and the pending delta. */
static void rip_past(struct jit_ctx *c, const struct emu_insn *in)
{
    struct jit_buf *j = &c->j;
    if (c->chain) {
        x_lea(j, true, X_RAX, X_RBP, -1, 0, (int32_t)(c->insn_off + in->len));
        return;
    }
    x_load(j, true, X_RAX, X_RBX, JIT_CPU(rip));
    x_alu_r_imm(j, true, X_ADD, X_RAX, c->rip_delta + in->len);
}

/* After probe_slot for a push: the return address (RIP past in) into
 * the slot at RCX and RSP moved down to it, as call_to's emu_push does;
 * RAX = that address. */
static void push_return(struct jit_ctx *c, const struct emu_insn *in)
{
    struct jit_buf *j = &c->j;
    rip_past(c, in);
    x_store(j, true, X_RAX, X_RCX, 0);
    x_alu_r_imm(j, true, X_SUB, jit_reg(c, 4), 8);
    jit_reg_written(c, 4);
}

/* fast_call: the return address (RIP past the CALL) pushed, RIP = the
 * target; a non-canonical target is the handler's (#GP). With chaining
 * and the target one LEA from RBP, RIP is left to the block's way out
 * (jit_rip_from_rbp: build's call_last). */
static void call(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop, uint32_t *ended)
{
    struct jit_buf *j = &c->j;
    uint32_t slow[JIT_PROBE_SLOW + 1];
    int64_t target_off = (int64_t)c->insn_off + in->len + (int64_t)in->imm;
    jit_reg(c, 4); /* held before the first slow jump: all leave from one state */
    rip_past(c, in);
    x_mov_imm(j, X_RCX, in->imm); /* sign-extended rel32 */
    x_alu_rr(j, true, X_ADD, X_RAX, X_RCX);
    jit_regs_slow_point(c);
    slow[0] = jit_jump_noncanonical(j);
    unsigned ns = 1 + probe_slot(c, true, slow + 1);
    push_return(c, in);
    if (!jit_rip_from_rbp(c, target_off)) {
        x_mov_imm(j, X_RCX, in->imm);
        x_alu_rr(j, true, X_ADD, X_RAX, X_RCX);
        x_store(j, true, X_RAX, X_RBX, JIT_CPU(rip));
    }
    end_slow_call(c, in, slow, ns, NULL, 0, stop, ended);
}

/* fast_ret: RIP = the popped target, RSP past it and imm16 more; a
 * non-canonical target is the handler's (#GP). */
static void ret(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop, uint32_t *ended)
{
    struct jit_buf *j = &c->j;
    uint32_t slow[JIT_PROBE_SLOW + 1];
    unsigned ns = probe_slot(c, false, slow);
    x_load(j, true, X_RAX, X_RCX, 0);
    jit_regs_slow_point(c);
    slow[ns++] = jit_jump_noncanonical(j);
    x_store(j, true, X_RAX, X_RBX, JIT_CPU(rip));
    x_alu_r_imm(j, true, X_ADD, jit_reg(c, 4), (int32_t)(8 + in->imm)); /* imm16 */
    jit_reg_written(c, 4);
    end_slow_call(c, in, slow, ns, NULL, 0, stop, ended);
}

/* ex_jmp_rm and ex_call_rm: the target read first, as the handler's
 * rm_read does (from the register, or through the read TLB at the
 * operand's address, RSP's before any push), then RIP = it, a
 * non-canonical one the handler's (#GP). CALL pushes RIP past it first,
 * as call does, the target kept on the host stack across that probe (no
 * host register is free; CALL RSP jumps to RSP as it was). */
static void branch(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop, uint32_t *ended)
{
    struct jit_buf *j = &c->j;
    uint32_t slow[JIT_PROBE_SLOW + 1], held[JIT_PROBE_SLOW];
    bool is_call = in->fn == ex_call_rm;
    unsigned ns = 0, nh = 0;
    if (is_call)
        jit_reg(c, 4); /* held before the first slow jump: all leave from one state */
    if (in->flags & INSN_MEM) { /* RAX = the pointer's address, then the pointer */
        jit_mem_lin(c, in);
        ns = jit_tlb_probe(c, JIT_CPU(tlb_read), 8, slow);
        x_load(j, true, X_RAX, X_RCX, 0);
    } else {
        jit_read_gpr(c, 8, in->rm, X_RAX);
    }
    jit_regs_slow_point(c);
    slow[ns++] = jit_jump_noncanonical(j);
    if (is_call) {
        x_push(j, X_RAX);
        nh = probe_slot(c, true, held);
        x_pop(j, X_RDX);
        push_return(c, in);
        x_store(j, true, X_RDX, X_RBX, JIT_CPU(rip));
    } else {
        x_store(j, true, X_RAX, X_RBX, JIT_CPU(rip));
    }
    end_slow_call(c, in, slow, ns, held, nh, stop, ended);
}

bool jit_native_stack(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop,
                      uint32_t *ended)
{
    if (!jit_stack_form(in))
        return false;
    emu_exec_fn g = emu_general_fn(in->fn);
    bool last = in == &c->b->insns[c->b->n - 1];
    if (g == ex_push_reg)
        push(c, in, stop, ended);
    else if (g == ex_pop_reg)
        pop(c, in, stop, ended);
    else if (!last) /* JMP, CALL and RET end their block (INSN_ENDS) */
        return false;
    else if (branch_rm(in))
        branch(c, in, stop, ended);
    else if (g == ex_call_rel)
        call(c, in, stop, ended);
    else
        ret(c, in, stop, ended);
    return true;
}
#endif
