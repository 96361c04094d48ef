/*
 * A block as one host function (jit_int.h says which register holds
 * what). Each instruction is native code (jit_native.c; memory MOVs in
 * jit_native_mem.c, their slow path a call) or a call of its own
 * executor, as run_block makes it: RSP kept for the
 * exit stub, status tested, then cpu->run_end for 0. Native ones cannot
 * fail nor end the block, so they need neither test; their lengths add
 * up in one pending RIP delta, written before any call and at the end.
 * Exits are stubs after the body that call run.c's emu_block_stop /
 * emu_block_ended, so every way out is run_block's. A Jcc ending the block
 * after native flag-setting code is native too (jcc_end).
 */
#if defined(__x86_64__)
#include "accel/emu/jit/jit_int.h"

static void flush_rip(struct jit_ctx *c)
{
    if (c->rip_delta) {
        x_alu_mem_imm(&c->j, true, X_ADD, X_RBX, JIT_CPU(rip), c->rip_delta);
        c->rip_delta = 0;
    }
}

/* in through its executor, as run_block calls it: RSP kept for the
 * stop stub, then the status and cpu->run_end tested (the jumps to the
 * stubs are patched later through *stop and *ended). */
void jit_emit_call(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop,
                   uint32_t *ended)
{
    struct jit_buf *j = &c->j;
    flush_rip(c);
    x_load(j, true, X_R13, X_RBX, JIT_GPR(4));
    x_mov_rr(j, true, X_RDI, X_RBX);
    x_mov_imm(j, X_RSI, (uint64_t)(uintptr_t)in);
    x_call_abs(j, (const void *)in->fn);
    x_test_rr(j, false, X_RAX, X_RAX);
    *stop = x_jcc(j, X_CC_NE);
    x_alu_mem_imm(j, true, X_CMP, X_RBX, JIT_CPU(run_end), 0);
    *ended = x_jcc(j, X_CC_E);
    c->lf_op = -1; /* whatever the executor left */
}

/* The block's last instruction, a Jcc whose flags the block's own native
 * code set (jit_jcc_flags put them in host RFLAGS): RIP to the target or
 * past it. A non-canonical target (#GP) goes through the executor. */
static void jcc_end(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop,
                    uint32_t *ended)
{
    struct jit_buf *j = &c->j;
    uint32_t taken = x_jcc(j, in->sub & 15);
    x_alu_mem_imm(j, true, X_ADD, X_RBX, JIT_CPU(rip), c->rip_delta + in->len);
    uint32_t done1 = x_jmp(j);
    x_patch(j, taken, jb_pos(j));
    x_load(j, true, X_RAX, X_RBX, JIT_CPU(rip));
    x_mov_imm(j, X_RCX, (uint64_t)((int64_t)c->rip_delta + in->len + (int64_t)in->imm));
    x_alu_rr(j, true, X_ADD, X_RAX, X_RCX);
    x_mov_rr(j, true, X_RCX, X_RAX); /* canonical: bits 63:47 all equal */
    x_shl_imm(j, true, X_RCX, 16);
    x_shift_imm(j, true, 7, X_RCX, 16);
    x_alu_rr(j, true, X_CMP, X_RCX, X_RAX);
    uint32_t slow = x_jcc(j, X_CC_NE);
    x_store(j, true, X_RAX, X_RBX, JIT_CPU(rip));
    uint32_t done2 = x_jmp(j);
    x_patch(j, slow, jb_pos(j));
    jit_emit_call(c, in, stop, ended); /* flushes the delta first */
    x_patch(j, done1, jb_pos(j));
    x_patch(j, done2, jb_pos(j));
    c->rip_delta = 0;
}

/* Which native instructions' lazy-flag stores are dead: a later native
 * instruction of the block overwrites them before anything reads them
 * (a called instruction, the block's end and the Jcc ending it read
 * all; INC/DEC read CF unless the state before keeps it). Only the last
 * writer before a reader stores, so the state in memory is always the
 * interpreter's wherever it can be seen. */
static void dead_lf_stores(const struct jit_ctx *c, bool *skip_lf, bool *skip_cf)
{
    const struct emu_block *b = c->b;
    struct jit_lf_effect e[EMU_BLOCK_MAX_INSNS];
    int lf = -1;
    for (unsigned i = 0; i < b->n; i++) {
        if (c->long64) /* a Jcc is no native form: a reader */
            e[i] = jit_lf_effect(&b->insns[i], lf);
        else
            e[i] = (struct jit_lf_effect){true, false, false, -1};
        lf = e[i].lf_after;
    }
    bool dead = false, dead_cf = false; /* after the block: all read */
    for (unsigned i = b->n; i-- > 0;) {
        skip_lf[i] = e[i].writes && dead;
        skip_cf[i] = e[i].writes_cf && dead_cf;
        if (e[i].reads) {
            dead = dead_cf = false;
        } else {
            dead = dead || e[i].writes;
            dead_cf = dead_cf || e[i].writes_cf;
        }
    }
}

static const unsigned saved[] = {X_RBX, X_R12, X_R13, X_R14, X_R15};
#define NSAVED (sizeof(saved) / sizeof(saved[0]))

void jit_build(struct jit_ctx *c)
{
    const struct emu_block *b = c->b;
    struct jit_buf *j = &c->j;
    uint32_t stop_at[EMU_BLOCK_MAX_INSNS], ended_at[EMU_BLOCK_MAX_INSNS];
    bool called[EMU_BLOCK_MAX_INSNS];
    /* Five pushes after the return address: RSP 16-byte aligned at calls. */
    for (unsigned i = 0; i < NSAVED; i++)
        x_push(j, saved[i]);
    x_mov_rr(j, true, X_RBX, X_RDI);
    x_mov_rr(j, true, X_R12, X_RSI);
    x_mov_imm(j, X_RAX, (uint64_t)b->end);
    x_store(j, true, X_RAX, X_RBX, JIT_CPU(run_end));
    c->rip_delta = 0;
    c->lf_op = -1;
    bool skip_lf[EMU_BLOCK_MAX_INSNS], skip_cf[EMU_BLOCK_MAX_INSNS];
    dead_lf_stores(c, skip_lf, skip_cf);
    for (unsigned i = 0; i < b->n; i++) {
        const struct emu_insn *in = &b->insns[i];
        called[i] = true;
        c->skip_lf = skip_lf[i];
        c->skip_cf_in = skip_cf[i];
        if (c->long64 && i + 1 == b->n && jit_jcc_flags(c, in)) {
            jcc_end(c, in, &stop_at[i], &ended_at[i]);
            continue;
        }
        if (c->long64 && jit_native_mem(c, in, &stop_at[i], &ended_at[i]))
            continue; /* called[i]: its slow path has the stubs */
        if (c->long64 && jit_native_alu_mem(c, in, &stop_at[i], &ended_at[i]))
            continue;
        if (c->long64 && jit_native(c, in)) {
            called[i] = false;
            c->rip_delta += in->len;
            continue;
        }
        jit_emit_call(c, in, &stop_at[i], &ended_at[i]);
    }
    /* Ran to its end. */
    flush_rip(c);
    x_alu_mem_imm(j, true, X_ADD, X_RBX, JIT_CPU(insn_count), b->n);
    x_alu_rr(j, false, X_XOR, X_RAX, X_RAX);
    uint32_t epilogue = jb_pos(j);
    for (unsigned i = NSAVED; i-- > 0;)
        x_pop(j, saved[i]);
    x_ret(j);
    /* Exit stubs: which instruction, then the shared tail. */
    uint32_t to_stop[EMU_BLOCK_MAX_INSNS], to_ended[EMU_BLOCK_MAX_INSNS];
    unsigned nstop = 0, nended = 0;
    for (unsigned i = 0; i < b->n; i++) {
        if (!called[i])
            continue;
        x_patch(j, stop_at[i], jb_pos(j));
        x_mov_imm(j, X_RDX, (uint64_t)(uintptr_t)&b->insns[i]);
        to_stop[nstop++] = x_jmp(j);
        x_patch(j, ended_at[i], jb_pos(j));
        x_mov_imm(j, X_RSI, i + 1);
        to_ended[nended++] = x_jmp(j);
    }
    /* emu_block_stop(cpu, b, in, st, rsp) */
    for (unsigned k = 0; k < nstop; k++)
        x_patch(j, to_stop[k], jb_pos(j));
    x_mov_rr(j, false, X_RCX, X_RAX);
    x_mov_rr(j, true, X_RDI, X_RBX);
    x_mov_rr(j, true, X_RSI, X_R12);
    x_mov_rr(j, true, X_R8, X_R13);
    x_call_abs(j, (const void *)emu_block_stop);
    x_patch(j, x_jmp(j), epilogue);
    /* emu_block_ended(cpu, n, EMU_OK) */
    for (unsigned k = 0; k < nended; k++)
        x_patch(j, to_ended[k], jb_pos(j));
    x_mov_rr(j, true, X_RDI, X_RBX);
    x_alu_rr(j, false, X_XOR, X_RDX, X_RDX);
    x_call_abs(j, (const void *)emu_block_ended);
    x_patch(j, x_jmp(j), epilogue);
}
#endif
