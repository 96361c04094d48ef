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
#include "accel/emu/exec.h"
#include "accel/emu/jit/jit_int.h"

static void flush_rip(struct jit_ctx *c)
{
    if (c->rip_delta) {
        x_alu_mem_imm(&c->j, true, X_ADD, X_RBX, JIT_CPU(rip), c->rip_delta);
        c->rip_delta = 0;
    }
}

/* in through its executor, as run_block calls it: the guest registers
 * the block holds stored, RSP kept for the stop stub, then the status
 * and cpu->run_end tested (the jumps to the stubs are patched later
 * through *stop and *ended). After it no host register holds any. */
void jit_emit_call(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop,
                   uint32_t *ended)
{
    struct jit_buf *j = &c->j;
    jit_regs_flush(c);
    flush_rip(c);
    x_load(j, true, X_R13, X_RBX, JIT_GPR(4));
    x_mov_rr(j, true, X_RDI, X_RBX);
    x_mov_imm(j, X_RSI, (uint64_t)(uintptr_t)in);
    x_call_abs(j, (const void *)in->fn);
    x_test_rr(j, false, X_RAX, X_RAX);
    *stop = x_jcc(j, X_CC_NE);
    x_alu_mem_imm(j, true, X_CMP, X_RBX, JIT_CPU(run_end), 0);
    *ended = x_jcc(j, X_CC_E);
    jit_regs_forget(c);
    c->lf_op = -1; /* whatever the executor left */
}

/* Whether in's relative target (in, at c->insn_off in the block) lies
 * in the page the block starts in: canonical then, as the block's own
 * RIP is. */
static bool target_same_page(const struct jit_ctx *c, const struct emu_insn *in)
{
    int64_t at = (int64_t)(c->b->gpa & 0xfff) + c->insn_off + in->len + (int64_t)in->imm;
    return at >= 0 && at < 4096;
}

/* RIP = the instruction's RIP + len + imm (in, a relative jump in 64-bit
 * code, with the pending delta); a non-canonical target (#GP) through
 * in's executor. Whether it emitted that call (the stubs for it). */
static bool rel_jump(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop,
                     uint32_t *ended)
{
    struct jit_buf *j = &c->j;
    if (target_same_page(c, in)) {
        x_alu_mem_imm(j, true, X_ADD, X_RBX, JIT_CPU(rip),
                      (int32_t)(c->rip_delta + in->len + (int64_t)in->imm));
        c->rip_delta = 0;
        return false;
    }
    x_load(j, true, X_RAX, X_RBX, JIT_CPU(rip));
    x_mov_imm(j, X_RCX, (uint64_t)((int64_t)c->rip_delta + in->len + (int64_t)in->imm));
    x_alu_rr(j, true, X_ADD, X_RAX, X_RCX);
    jit_regs_slow_point(c);
    uint32_t slow = jit_jump_noncanonical(j);
    x_store(j, true, X_RAX, X_RBX, JIT_CPU(rip));
    uint32_t done = x_jmp(j);
    x_patch(j, slow, jb_pos(j));
    jit_regs_slow_call(c, in, stop, ended); /* flushes the delta first */
    x_patch(j, done, jb_pos(j));
    c->rip_delta = 0;
    return true;
}

/* The block's last instruction, a Jcc whose flags the block's own native
 * code set (jit_jcc_flags put them in host RFLAGS): RIP to the target or
 * past it. In a self loop (loop_jcc) the taken jump goes to the loop's
 * tail (loop_tail, *taken_at to patch), RIP past it otherwise. Whether
 * it emitted a call. */
static bool jcc_end(struct jit_ctx *c, const struct emu_insn *in, bool loop_jcc,
                    uint32_t *taken_at, uint32_t *stop, uint32_t *ended)
{
    struct jit_buf *j = &c->j;
    uint32_t taken = x_jcc(j, in->sub & 15);
    if (loop_jcc) {
        *taken_at = taken;
        x_alu_mem_imm(j, true, X_ADD, X_RBX, JIT_CPU(rip), c->rip_delta + in->len);
        c->rip_delta = 0;
        return false;
    }
    x_alu_mem_imm(j, true, X_ADD, X_RBX, JIT_CPU(rip), c->rip_delta + in->len);
    uint32_t done = x_jmp(j);
    x_patch(j, taken, jb_pos(j));
    bool call = rel_jump(c, in, stop, ended);
    x_patch(j, done, jb_pos(j));
    return call;
}

/* JMP rel ending the block in 64-bit code (ex_jmp_rel, not specialised);
 * *called: whether it emitted a call. */
static bool jmp_end(struct jit_ctx *c, const struct emu_insn *in, bool *called, uint32_t *stop,
                    uint32_t *ended)
{
    if (in->fn != ex_jmp_rel || in->opsz != 8)
        return false;
    *called = rel_jump(c, in, stop, ended);
    return true;
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

#define JCACHE(field)                                                                      \
    ((int32_t)(offsetof(struct emu_cpu, jcache) + offsetof(struct emu_jcache_entry, field)))
_Static_assert(sizeof(struct emu_jcache_entry) == 32, "chain_next indexes the jump cache by << 5");

#define BLOCK(field) ((int32_t)offsetof(struct emu_block, field))
#define LINK1(field)                                                                       \
    ((int32_t)(offsetof(struct emu_block, link) + sizeof(struct emu_link) +                 \
               offsetof(struct emu_link, field)))

/* The block ran to its end (status EMU_OK): go on into the block its link
 * leads to when that one is compiled, making run_chain's checks between
 * blocks, as it makes them: blocks left in the chain's budget, nothing
 * posted to the vCPU, a link made for this RIP in the link context now
 * (emu_block_follow, its same-page rule included), else the jump cache's
 * entry for it; anything else goes back to run_chain. The link or entry
 * holds where the next block's code is entered (its jit_entry when made,
 * NULL when it was not compiled then; cleared when code memory is
 * reset), so the next block's own memory is not read. R12 becomes the
 * next block, which sets cpu->run_end itself; its stubs then end with its
 * own instructions. The jumps to out[] return EMU_OK. */
static unsigned chain_next(struct jit_ctx *c, uint32_t out[13])
{
    struct jit_buf *j = &c->j;
    unsigned n = 0;
    x_alu_mem_imm(j, false, X_CMP, X_RBX, JIT_CPU(chain_left), 0);
    out[n++] = x_jcc(j, X_CC_LE);
    x_alu_mem_imm(j, false, X_CMP, X_RBX, JIT_CPU(events), 0);
    out[n++] = x_jcc(j, X_CC_NE);
    /* RDX = the block less one link, so that LINK1 finds link[0]. */
    x_load(j, true, X_RAX, X_RBX, JIT_CPU(rip));
    x_load(j, true, X_RCX, X_RBX, JIT_CPU(link_ctx));
    x_mov_rr(j, true, X_RDX, X_R12);
    x_alu_r_mem(j, true, X_CMP, X_RAX, X_R12, LINK1(lin));
    uint32_t found = x_jcc(j, X_CC_E);
    x_alu_r_imm(j, true, X_SUB, X_RDX, (int32_t)sizeof(struct emu_link));
    x_alu_r_mem(j, true, X_CMP, X_RAX, X_RDX, LINK1(lin));
    uint32_t jcache = x_jcc(j, X_CC_NE);
    x_patch(j, found, jb_pos(j));
    x_alu_r_mem(j, true, X_CMP, X_RCX, X_RDX, LINK1(ctx));
    uint32_t other_ctx = x_jcc(j, X_CC_NE);
    x_load(j, true, X_RCX, X_RDX, LINK1(code));
    x_load(j, true, X_RDX, X_RDX, LINK1(to));
    uint32_t have = x_jmp(j);
    /* A link made in another context (a CR3 switch since), still right
     * within this block's page (emu_link_same_page, this block started
     * at RBP): made anew in this context, as run_chain would. */
    x_patch(j, other_ctx, jb_pos(j));
    x_mov_rr(j, true, X_RSI, X_RBP);
    x_alu_rr(j, true, X_XOR, X_RSI, X_RAX);
    x_shift_imm(j, true, 5, X_RSI, 12);
    out[n++] = x_jcc(j, X_CC_NE);
    x_load(j, true, X_RSI, X_RDX, LINK1(code_gen));
    x_alu_r_mem(j, true, X_CMP, X_RSI, X_RBX, JIT_CPU(code_gen_seen));
    out[n++] = x_jcc(j, X_CC_NE);
    x_load(j, true, X_RSI, X_RDX, LINK1(to));
    x_test_rr(j, true, X_RSI, X_RSI); /* a new block's zeroed link */
    out[n++] = x_jcc(j, X_CC_E);
    x_load(j, true, X_RDI, X_R12, BLOCK(gpa));
    x_alu_r_imm(j, true, X_AND, X_RDI, -4096);
    x_mov_rr(j, false, X_R8, X_RAX);
    x_alu_r_imm(j, false, X_AND, X_R8, 0xfff);
    x_alu_rr(j, true, X_OR, X_RDI, X_R8);
    x_alu_r_mem(j, true, X_CMP, X_RDI, X_RSI, BLOCK(gpa));
    out[n++] = x_jcc(j, X_CC_NE);
    x_load(j, false, X_RDI, X_R12, BLOCK(mode_key));
    x_alu_r_mem(j, false, X_CMP, X_RDI, X_RSI, BLOCK(mode_key));
    out[n++] = x_jcc(j, X_CC_NE);
    x_store(j, true, X_RCX, X_RDX, LINK1(ctx));
    x_load(j, true, X_RCX, X_RSI, BLOCK(jit_entry));
    x_store(j, true, X_RCX, X_RDX, LINK1(code));
    x_mov_rr(j, true, X_RDX, X_RSI);
    uint32_t have2 = x_jmp(j);
    /* Neither link: the jump cache (emu_jcache_find), RSI = its slot. */
    x_patch(j, jcache, jb_pos(j));
    x_mov_rr(j, true, X_RSI, X_RAX);
    x_shift_imm(j, true, 5, X_RSI, EMU_JCACHE_BITS);
    x_alu_rr(j, true, X_XOR, X_RSI, X_RAX);
    x_alu_r_imm(j, false, X_AND, X_RSI, (1 << EMU_JCACHE_BITS) - 1);
    x_shl_imm(j, false, X_RSI, 5);
    x_alu_rr(j, true, X_ADD, X_RSI, X_RBX);
    x_alu_r_mem(j, true, X_CMP, X_RAX, X_RSI, JCACHE(lin));
    out[n++] = x_jcc(j, X_CC_NE);
    x_alu_r_mem(j, true, X_CMP, X_RCX, X_RSI, JCACHE(ctx));
    out[n++] = x_jcc(j, X_CC_NE);
    x_load(j, true, X_RCX, X_RSI, JCACHE(code));
    x_load(j, true, X_RDX, X_RSI, JCACHE(to));
    x_patch(j, have, jb_pos(j));
    x_patch(j, have2, jb_pos(j));
    x_test_rr(j, true, X_RCX, X_RCX); /* not compiled (when linked): run_chain */
    out[n++] = x_jcc(j, X_CC_E);
    /* Taken: counted; R12 and RBP are the block and where it starts (told
     * to run_chain on the way out). The crash trail (cpu->recent_rip)
     * has the blocks run_chain enters, not these: HYPERKIT_EMU_JIT=0
     * for every block's. */
    x_alu_mem_imm(j, false, X_SUB, X_RBX, JIT_CPU(chain_left), 1);
    x_mov_rr(j, true, X_RBP, X_RAX);
    x_mov_rr(j, true, X_R12, X_RDX);
    x_jmp_reg(j, X_RCX);
    return n;
}

/* Whether b ends in a Jcc or JMP back to its own first instruction (a
 * relative target: RIP past the block plus imm), in 64-bit code. */
static bool self_loop(const struct jit_ctx *c)
{
    const struct emu_block *b = c->b;
    const struct emu_insn *in = &b->insns[b->n - 1];
    emu_exec_fn g = emu_general_fn(in->fn);
    return c->chain && (g == ex_jcc || g == ex_jmp_rel) && (int64_t)in->imm == -(int64_t)b->bytes;
}

/* The checks between two runs of a self loop, as chain_next makes them
 * between blocks: blocks left in the budget (out[0]), nothing posted
 * (out[1]), the link context it was entered in (*general, for chain_next);
 * then the block counted against the budget and a jump to top. */
static void loop_again(struct jit_ctx *c, uint32_t top, uint32_t out[2], uint32_t *general)
{
    struct jit_buf *j = &c->j;
    x_alu_mem_imm(j, false, X_CMP, X_RBX, JIT_CPU(chain_left), 0);
    out[0] = x_jcc(j, X_CC_LE);
    x_alu_mem_imm(j, false, X_CMP, X_RBX, JIT_CPU(events), 0);
    out[1] = x_jcc(j, X_CC_NE);
    x_load(j, true, X_RCX, X_RBX, JIT_CPU(loop_ctx));
    x_alu_r_mem(j, true, X_CMP, X_RCX, X_RBX, JIT_CPU(link_ctx));
    *general = x_jcc(j, X_CC_NE);
    x_alu_mem_imm(j, false, X_SUB, X_RBX, JIT_CPU(chain_left), 1);
    x_patch(j, x_jmp(j), top);
}

/* A self loop that ran to its end and went back to its start (RIP as at
 * entry, in R14): again from the top of the body, with chain_next's
 * checks but no link to look at: RIP is the start it was entered at, and
 * the link context is the one it was entered in (cpu->loop_ctx) unless
 * something in it gave a new one. Anything else falls to chain_next (jumps in
 * general[]) or returns (out[]). */
static void loop_back(struct jit_ctx *c, uint32_t body, uint32_t out[2], uint32_t general[2])
{
    struct jit_buf *j = &c->j;
    x_load(j, true, X_RAX, X_RBX, JIT_CPU(rip));
    x_alu_rr(j, true, X_CMP, X_RAX, X_R14);
    general[0] = x_jcc(j, X_CC_NE);
    loop_again(c, body, out, &general[1]);
}

/* The taken jump of a self loop's closing Jcc (jcc_end), out of line:
 * the registers held (*held, as at the jump) stored, the block counted,
 * RIP its start (R14), then loop_back's checks to the top of the body
 * (top), or to chain_next (general) or out. */
static void loop_tail(struct jit_ctx *c, const struct jit_regs *held, uint32_t top,
                      uint32_t general, uint32_t out)
{
    struct jit_buf *j = &c->j;
    c->regs = *held;
    jit_regs_flush(c);
    x_alu_mem_imm(j, true, X_ADD, X_RBX, JIT_CPU(insn_count), c->b->n);
    x_store(j, true, X_R14, X_RBX, JIT_CPU(rip));
    uint32_t outs[2], to_general;
    loop_again(c, top, outs, &to_general);
    x_patch(j, outs[0], out);
    x_patch(j, outs[1], out);
    x_patch(j, to_general, general);
}

/* R15 = what emu_tlb_tag adds to a page for this CPL (1, | 2 at CPL 3),
 * | 4 when RFLAGS.AC is set: then no entry matches, and every access
 * takes its handler's full path, as emu_tlb_host has it. Every
 * instruction that changes CPL or AC (POPF, IRET, SYSCALL/SYSRET, far
 * transfers, CR0) ends its block, and blocks that end so never chain:
 * this holds for the blocks chained after it too. */
static void tlb_tag_bits(struct jit_buf *j)
{
    x_alu_rr(j, false, X_XOR, X_RAX, X_RAX);
    x_alu_mem_imm(j, false, X_CMP, X_RBX, JIT_CPU(cpl), 3);
    x_setcc(j, X_CC_E, X_RAX);
    x_alu_rr(j, false, X_ADD, X_RAX, X_RAX);
    x_alu_r_imm(j, false, X_OR, X_RAX, 1);
    x_test_mem_imm(j, X_RBX, JIT_CPU(rflags), (uint32_t)RFLAGS_AC);
    uint32_t no_ac = x_jcc(j, X_CC_E);
    x_alu_r_imm(j, false, X_OR, X_RAX, 4);
    x_patch(j, no_ac, jb_pos(j));
    x_mov_rr(j, true, X_R15, X_RAX);
}

static const unsigned saved[] = {X_RBX, X_RBP, X_R12, X_R13, X_R14, X_R15};
#define NSAVED (sizeof(saved) / sizeof(saved[0]))

/* The block, the pool holding *preload from the top of the body on;
 * *end = what it holds at the end (all stored). */
static void build(struct jit_ctx *c, const struct jit_regs *preload, struct jit_regs *end)
{
    const struct emu_block *b = c->b;
    struct jit_buf *j = &c->j;
    uint32_t stop_at[EMU_BLOCK_MAX_INSNS], ended_at[EMU_BLOCK_MAX_INSNS];
    bool called[EMU_BLOCK_MAX_INSNS];
    /* Six pushes after the return address and 8 more: RSP 16-byte
     * aligned at calls. */
    for (unsigned i = 0; i < NSAVED; i++)
        x_push(j, saved[i]);
    x_alu_r_imm(j, true, X_SUB, X_RSP, 8);
    x_mov_rr(j, true, X_RBX, X_RDI);
    x_mov_rr(j, true, X_R12, X_RSI);
    x_load(j, true, X_RBP, X_RBX, JIT_CPU(chain_lin)); /* where run_chain entered it */
    tlb_tag_bits(j);
    c->entry = jb_pos(j);
    x_mov_imm(j, X_RAX, (uint64_t)b->end);
    x_store(j, true, X_RAX, X_RBX, JIT_CPU(run_end));
    bool loop = self_loop(c);
    if (loop) { /* where it starts and in which context, for loop_back;
                 * chain_lin is this start already (run_chain, chain_next) */
        x_load(j, true, X_R14, X_RBX, JIT_CPU(rip));
        x_load(j, true, X_RAX, X_RBX, JIT_CPU(link_ctx));
        x_store(j, true, X_RAX, X_RBX, JIT_CPU(loop_ctx));
    }
    uint32_t body = jb_pos(j);
    jit_regs_clear(&c->regs);
    jit_regs_load(c, preload);
    uint32_t body_loaded = jb_pos(j);
    c->rip_delta = 0;
    c->lf_op = -1;
    bool skip_lf[EMU_BLOCK_MAX_INSNS], skip_cf[EMU_BLOCK_MAX_INSNS];
    dead_lf_stores(c, skip_lf, skip_cf);
    bool loop_jcc = false; /* the loop closes with a native Jcc: loop_tail */
    bool prev_native = false;
    uint32_t loop_taken = 0;
    struct jit_regs at_jcc;
    c->insn_off = 0;
    for (unsigned i = 0; i < b->n; c->insn_off += b->insns[i].len, i++) {
        const struct emu_insn *in = &b->insns[i];
        called[i] = true;
        c->skip_lf = skip_lf[i];
        c->skip_cf_in = skip_cf[i];
        c->slow_marked = false;
        /* Host flags still the guest's: only right after a native
         * register form that left them (a call or a slow path does not). */
        bool host_flags = prev_native && c->host_flags;
        prev_native = false;
        c->host_flags = false;
        if (c->long64 && i + 1 == b->n && jit_jcc_flags(c, in, host_flags)) {
            loop_jcc = loop;
            at_jcc = c->regs;
            called[i] = jcc_end(c, in, loop_jcc, &loop_taken, &stop_at[i], &ended_at[i]);
            continue;
        }
        if (c->long64 && i + 1 == b->n && jmp_end(c, in, &called[i], &stop_at[i], &ended_at[i]))
            continue;
        if (c->long64 && in->fn == ex_nop) { /* NOP, hint NOPs: RIP only */
            called[i] = false;
            c->rip_delta += in->len;
            continue;
        }
        if (c->long64 && jit_native_mem(c, in, &stop_at[i], &ended_at[i]))
            continue; /* called[i]: its slow path has the stubs */
        if (c->long64 && jit_native_stack(c, in, &stop_at[i], &ended_at[i]))
            continue; /* likewise */
        if (c->long64 && jit_native_alu_mem(c, in, &stop_at[i], &ended_at[i]))
            continue;
        if (c->long64 && jit_native_sse(c, in, &called[i], &stop_at[i], &ended_at[i]))
            continue;
        if (c->long64 && jit_native(c, in)) {
            prev_native = true;
            called[i] = false;
            c->rip_delta += in->len;
            continue;
        }
        jit_emit_call(c, in, &stop_at[i], &ended_at[i]);
    }
    /* Ran to its end. */
    jit_regs_flush(c);
    *end = c->regs;
    flush_rip(c);
    x_alu_mem_imm(j, true, X_ADD, X_RBX, JIT_CPU(insn_count), b->n);
    uint32_t general_at = 0;
    if (c->chain) {
        uint32_t out[15], general[2];
        unsigned nout = 0;
        if (loop && !loop_jcc) {
            /* Still holding what the top loads: past those loads. */
            loop_back(c, jit_regs_same(&c->regs, preload) ? body_loaded : body, out, general);
            nout = 2;
            x_patch(j, general[0], jb_pos(j));
            x_patch(j, general[1], jb_pos(j));
        }
        general_at = jb_pos(j);
        nout += chain_next(c, out + nout);
        for (unsigned k = 0; k < nout; k++)
            x_patch(j, out[k], jb_pos(j));
    }
    uint32_t out_at = jb_pos(j);
    x_alu_rr(j, false, X_XOR, X_RAX, X_RAX);
    uint32_t epilogue = jb_pos(j);
    x_store(j, true, X_R12, X_RBX, JIT_CPU(chain_block)); /* the last block run, for run_chain */
    x_store(j, true, X_RBP, X_RBX, JIT_CPU(chain_lin));
    x_alu_r_imm(j, true, X_ADD, X_RSP, 8);
    for (unsigned i = NSAVED; i-- > 0;)
        x_pop(j, saved[i]);
    x_ret(j);
    if (loop_jcc) {
        x_patch(j, loop_taken, jb_pos(j));
        /* Still holding what the top loads: past those loads. */
        struct jit_regs held = at_jcc;
        held.dirty = 0;
        loop_tail(c, &at_jcc, jit_regs_same(&held, preload) ? body_loaded : body, general_at,
                  out_at);
    }
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

void jit_build(struct jit_ctx *c)
{
    struct jit_regs none, end, end2;
    jit_regs_clear(&none);
    build(c, &none, &end);
    if (self_loop(c) && !c->j.full) { /* again, loading at the top what the end holds */
        c->j.p = c->j.start;
        build(c, &end, &end2);
    }
}
#endif
