/*
 * Blocks that loop to their own start (jit_compile.c builds them twice,
 * the second time loading at the top what the end holds): the way back
 * to the top without leaving the block, with run_chain's checks between
 * runs, and the pure loop that holds its registers across runs.
 */
#if defined(__x86_64__)
#include "accel/emu/exec.h"
#include "accel/emu/jit/jit_int.h"

/* Whether b ends in a Jcc or JMP back to its own first instruction (a
 * relative target: RIP past the block plus imm), in 64-bit code. */
bool jit_self_loop(const struct jit_ctx *c)
{
    const struct emu_block *b = c->b;
    const struct emu_insn *in = &b->insns[b->n - 1];
    emu_exec_fn g = emu_general_fn(in->fn);
    return c->chain && (g == ex_jcc || g == ex_jmp_rel) && (int64_t)in->imm == -(int64_t)b->bytes;
}

/* The checks between two runs of a self loop, as jit_chain_exit makes them
 * between blocks: the run taken from the budget, the budget not spent and
 * nothing posted (else out), then the link context it was entered in
 * (else the shared code's chain_any, as jit_chain_exit would go on after
 * its own checks), and a jump to top. RIP is the block's start (RBP),
 * stored only on those ways out (jit_between_blocks). */
static void loop_again(struct jit_ctx *c, uint32_t top)
{
    struct jit_buf *j = &c->j;
    jit_between_blocks(c, 0);
    x_load(j, true, X_RCX, X_RBX, JIT_CPU(loop_ctx));
    x_alu_r_mem(j, true, X_CMP, X_RCX, X_RBX, JIT_CPU(link_ctx));
    uint32_t other = x_jcc(j, X_CC_NE);
    x_patch(j, x_jmp(j), top);
    jit_cold_begin(c);
    x_patch(j, other, jb_pos(j));
    x_store(j, true, X_RBP, X_RBX, JIT_CPU(rip));
    x_jmp_abs(j, c->sh->chain_any);
    jit_cold_end(c);
}

/* A self loop that ran to its end and went back to its start (RIP as at
 * entry, RBP): again from the top of the body, with jit_chain_exit's
 * checks but no link to look at: RIP is the start it was entered at, and
 * the link context is the one it was entered in (cpu->loop_ctx) unless
 * something in it gave a new one. Another RIP falls to jit_chain_exit
 * (the jump returned). */
uint32_t jit_loop_back(struct jit_ctx *c, uint32_t body)
{
    struct jit_buf *j = &c->j;
    x_load(j, true, X_RAX, X_RBX, JIT_CPU(rip));
    x_alu_rr(j, true, X_CMP, X_RAX, X_RBP);
    uint32_t general = x_jcc(j, X_CC_NE);
    loop_again(c, body);
    return general;
}

/* The taken jump of a self loop's closing Jcc (jcc_end), out of line:
 * the registers held (*held, as at the jump) stored, then loop_again's
 * checks to the top of the body (top), RIP its start. */
void jit_loop_tail(struct jit_ctx *c, const struct jit_regs *held, uint32_t top)
{
    c->regs = *held;
    jit_regs_flush(c);
    loop_again(c, top);
}

/* A pure loop's checks between two runs, at the top of its body, where
 * its closing Jcc jumps straight back to (one taken jump a run): the
 * run just made taken from the budget (R14), then events; the first run
 * comes in past them. The registers are held there as the Jcc holds them
 * (the body was built from that state). The two jumps out are returned,
 * for jit_pure_exit. */
void jit_pure_checks(struct jit_ctx *c, uint32_t out[2])
{
    struct jit_buf *j = &c->j;
    x_alu_r_imm(j, false, X_SUB, X_R14, c->b->n);
    out[0] = x_jcc(j, X_CC_L);
    x_alu_mem_imm(j, false, X_CMP, X_RBX, JIT_CPU(events), 0);
    out[1] = x_jcc(j, X_CC_NE);
}

/* jit_pure_checks' ways out: the registers held (*held, as at the Jcc)
 * stored, the lazy state it sank (jit_sink_flush), RIP = the block's
 * start (RBP: nothing called moved it, and cpu->rip may be stale since
 * entry), out. The link
 * context is still the one it was entered in. */
void jit_pure_exit(struct jit_ctx *c, const struct jit_regs *held, const uint32_t out[2])
{
    struct jit_buf *j = &c->j;
    x_patch(j, out[0], jb_pos(j));
    x_patch(j, out[1], jb_pos(j));
    c->regs = *held;
    jit_regs_flush(c);
    jit_sink_flush(c);
    x_store(j, true, X_RBP, X_RBX, JIT_CPU(rip));
    x_jmp_abs(j, c->sh->out);
}
#endif
