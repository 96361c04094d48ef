/*
 * A block as one host function (jit_int.h says which register holds
 * what). Each instruction is native code (jit_native.c; memory MOVs in
 * jit_native_mem.c, their slow path a call) or a call of its own
 * executor, as run_block makes it: RSP kept for the
 * exit stub, status tested, then cpu->run_end for 0. Native ones cannot
 * fail nor end the block, so they need neither test; their lengths add
 * up in one pending RIP delta, written before any call and at the end.
 * Exits are stubs after the body that name the instruction and jump to
 * the shared code's calls of run.c's emu_block_stop / emu_block_ended
 * (jit_shared.c), so every way out is run_block's. A Jcc ending the block
 * after native flag-setting code is native too (jcc_end), each of its two
 * ways out chaining on through the link it makes (jit_chain_exit).
 */
#if defined(__x86_64__)
#include "accel/emu/exec.h"
#include "accel/emu/jit/jit_int.h"

static void swap_sections(struct jit_ctx *c)
{
    struct jit_buf t = c->j;
    c->j = c->other;
    c->other = t;
}

void jit_cold_begin(struct jit_ctx *c)
{
    swap_sections(c);
}

void jit_cold_end(struct jit_ctx *c)
{
    swap_sections(c);
}

static void set_rip_rbp(struct jit_ctx *c, int64_t off);

/* cpu->rip made the RIP of the instruction at c->insn_off: with chaining
 * from RBP (jit_rip_from_rbp: cpu->rip may be stale), else by adding
 * the pending delta. */
static void flush_rip(struct jit_ctx *c)
{
    if (c->chain && (c->rip_delta || c->rip_stale)) {
        set_rip_rbp(c, c->insn_off);
    } else if (c->rip_delta) {
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
    c->calls = true;
    jit_regs_flush(c);
    flush_rip(c);
    x_load(j, true, X_R13, X_RBX, JIT_GPR(4));
    jit_cpu_to_rdi(j);
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

bool jit_rip_from_rbp(const struct jit_ctx *c, int64_t off)
{
    return c->chain && x_fits_s32(off);
}

static void set_rip_rbp(struct jit_ctx *c, int64_t off)
{
    x_lea(&c->j, true, X_RAX, X_RBP, -1, 0, (int32_t)off);
    x_store(&c->j, true, X_RAX, X_RBX, JIT_CPU(rip));
    c->rip_delta = 0;
    c->rip_stale = false;
}

/* RIP = the instruction's RIP + len + imm (in, a relative jump in 64-bit
 * code at c->insn_off, with the pending delta); a non-canonical target
 * (#GP) through in's executor. With chaining, RIP is written only when
 * store (else the block's way out writes it where it leaves compiled
 * code: jit_rip_from_rbp). Whether it emitted that call (the stubs for
 * it). */
static bool rel_jump(struct jit_ctx *c, const struct emu_insn *in, bool store, uint32_t *stop,
                     uint32_t *ended)
{
    struct jit_buf *j = &c->j;
    int64_t off = (int64_t)c->insn_off + in->len + (int64_t)in->imm;
    if (jit_rip_from_rbp(c, off) && target_same_page(c, in)) {
        if (store)
            set_rip_rbp(c, off);
        c->rip_delta = 0;
        c->rip_stale = !store;
        return false;
    }
    if (jit_rip_from_rbp(c, off)) {
        x_lea(j, true, X_RAX, X_RBP, -1, 0, (int32_t)off);
    } else if (c->chain) { /* far from RBP: past the jump, then imm */
        x_lea(j, true, X_RAX, X_RBP, -1, 0, (int32_t)(c->insn_off + in->len));
        x_mov_imm(j, X_RCX, in->imm);
        x_alu_rr(j, true, X_ADD, X_RAX, X_RCX);
    } else if (target_same_page(c, in)) {
        x_alu_mem_imm(j, true, X_ADD, X_RBX, JIT_CPU(rip),
                      (int32_t)(c->rip_delta + in->len + (int64_t)in->imm));
        c->rip_delta = 0;
        return false;
    } else {
        x_load(j, true, X_RAX, X_RBX, JIT_CPU(rip));
        x_mov_imm(j, X_RCX, (uint64_t)((int64_t)c->rip_delta + in->len + (int64_t)in->imm));
        x_alu_rr(j, true, X_ADD, X_RAX, X_RCX);
    }
    jit_regs_slow_point(c);
    uint32_t slow = jit_jump_noncanonical(j);
    if (store || !jit_rip_from_rbp(c, off))
        x_store(j, true, X_RAX, X_RBX, JIT_CPU(rip));
    uint32_t join = jb_pos(j);
    jit_cold_begin(c);
    x_patch(j, slow, jb_pos(j));
    jit_regs_slow_call(c, in, stop, ended); /* flushes the delta first */
    x_patch(j, x_jmp(j), join);
    jit_cold_end(c);
    c->rip_delta = 0;
    c->rip_stale = !store && jit_rip_from_rbp(c, off);
    return true;
}

/* The block's last instruction, a Jcc whose flags the block's own native
 * code set (jit_jcc_flags put them in host RFLAGS): RIP past it (with
 * chaining left to the way out: jit_rip_from_rbp), and the taken jump
 * returned, for build to end that path (rel_jump, or jit_loop_tail in a
 * self loop). */
static uint32_t jcc_end(struct jit_ctx *c, const struct emu_insn *in)
{
    uint32_t taken = x_jcc(&c->j, in->sub & 15);
    if (jit_rip_from_rbp(c, c->insn_off + in->len))
        c->rip_stale = true;
    else
        x_alu_mem_imm(&c->j, true, X_ADD, X_RBX, JIT_CPU(rip), c->rip_delta + in->len);
    return taken;
}

/* JMP rel ending the block in 64-bit code (ex_jmp_rel, not specialised);
 * *called: whether it emitted a call. RIP stored in a self loop, whose
 * jit_loop_back reads it. */
static bool jmp_end(struct jit_ctx *c, const struct emu_insn *in, bool loop, bool *called,
                    uint32_t *stop, uint32_t *ended)
{
    if (in->fn != ex_jmp_rel || in->opsz != 8)
        return false;
    *called = rel_jump(c, in, loop, stop, ended);
    return true;
}

/* Which native instructions' lazy-flag stores are dead: a later native
 * instruction of the block overwrites them before anything reads them
 * (a called instruction, the block's end and the Jcc ending it read
 * all; INC/DEC read CF unless the state before keeps it). Only the last
 * writer before a reader stores, so the state in memory is always the
 * interpreter's wherever it can be seen. Whether any instruction but the
 * last reads the state. */
static bool dead_lf_stores(const struct jit_ctx *c, bool *skip_lf, bool *skip_cf)
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
    bool dead = false, dead_cf = false, reads = false; /* after the block: all read */
    for (unsigned i = b->n; i-- > 0;) {
        reads = reads || (e[i].reads && i + 1 < b->n);
        skip_lf[i] = e[i].writes && dead;
        skip_cf[i] = e[i].writes_cf && dead_cf;
        if (e[i].reads) {
            dead = dead_cf = false;
        } else {
            dead = dead || e[i].writes;
            dead_cf = dead_cf || e[i].writes_cf;
        }
    }
    return reads;
}

/* Where the run of flag-neutral instructions (jit_flags_neutral) right
 * before the block's closing Jcc starts: a flag setter before it leaves
 * its flags in host RFLAGS for the Jcc (c->want_flags). b->n when the
 * block does not close with a Jcc. */
static unsigned neutral_to_jcc(const struct jit_ctx *c)
{
    const struct emu_block *b = c->b;
    if (!c->long64 || emu_general_fn(b->insns[b->n - 1].fn) != ex_jcc)
        return b->n;
    unsigned k = b->n - 1;
    while (k > 0 && jit_flags_neutral(&b->insns[k - 1]))
        k--;
    return k;
}

/* Which link the block's own way out makes (jit_chain_exit's k) when it ends
 * with in: a jump's target ([0]) after an unconditional control transfer,
 * either after a conditional one that was called, the block right after
 * ([1]) when it just stops (its size, its page). */
static int exit_link(const struct emu_insn *in)
{
    if (!(in->flags & INSN_ENDS))
        return 1;
    return emu_cond_branch(in) ? -1 : 0;
}

/* On into the next block after a way out (link[k], RIP at the start +
 * rip_off when known): straight in within the page, else through the
 * link; without chaining, back to run_chain. */
static void go_on(struct jit_ctx *c, int k, int64_t rip_off)
{
    if (jit_same_page_exit(c, rip_off))
        jit_direct_exit(c, k, rip_off);
    else if (c->chain)
        jit_chain_exit(c, k, rip_off);
    else { /* its instructions taken from the budget all the same */
        x_alu_r_imm(&c->j, false, X_SUB, X_R14, c->b->n);
        x_jmp_abs(&c->j, c->sh->out);
    }
}

/* The block ran to its end on one way out: the registers it holds
 * stored, and RIP unless the way out knows it (rip_off), then on into
 * the next block (jit_chain_exit's k, rip_off) or back to run_chain,
 * its instructions counted on the way. */
static void end_exit(struct jit_ctx *c, int k, int64_t rip_off)
{
    jit_regs_flush(c);
    if (rip_off == RIP_UNKNOWN)
        flush_rip(c);
    go_on(c, k, rip_off);
}

/* The block, the pool holding *preload from the top of the body on;
 * *end = what it holds at the end (all stored), *at_jcc what at a
 * closing native Jcc. It starts where jit_body and jit_entry say: the
 * shared entry from C has set up the registers jit_int.h lists, as a
 * chaining block left them.
 * A pure loop (c->pure_loop: a self loop closing with a native Jcc that
 * calls no executor, built a second time from what its Jcc holds, dirty
 * ones included) loops without storing anything: the budget (R14) is
 * counted down one run a jump back (jit_pure_checks at the top of the
 * body, where its Jcc jumps back to; jit_pure_exit).
 * When nothing in it reads the lazy state from memory, its stores are
 * sunk to those ways out too (c->sink: jit_sink.c, sink_holds). */
static void build(struct jit_ctx *c, const struct jit_regs *preload, struct jit_regs *end,
                  struct jit_regs *at_jcc_out)
{
    const struct emu_block *b = c->b;
    struct jit_buf *j = &c->j;
    uint32_t stop_at[EMU_BLOCK_MAX_INSNS], ended_at[EMU_BLOCK_MAX_INSNS];
    bool called[EMU_BLOCK_MAX_INSNS];
    if (c->chain) { /* MOV R12, b: JIT_SELF_BYTES, for jit_direct_exit */
        jb_u8(j, 0x49);
        jb_u8(j, 0xbc);
        jb_u64(j, (uint64_t)(uintptr_t)b);
    }
    bool loop = jit_self_loop(c);
    if (loop) { /* in which context it starts, for jit_loop_back */
        x_load(j, true, X_RAX, X_RBX, JIT_CPU(link_ctx));
        x_store(j, true, X_RAX, X_RBX, JIT_CPU(loop_ctx));
    }
    uint32_t body = jb_pos(j);
    jit_regs_clear(&c->regs);
    jit_regs_load(c, preload);
    jit_sink_begin(c);
    uint32_t body_loaded = jb_pos(j);
    /* A pure loop's checks between runs, where its Jcc comes back to
     * (pure_top); the first run, and any other way back when it turns
     * out not pure, come in past them. */
    uint32_t pure_top = 0, pure_out[2] = {0, 0};
    if (c->pure_loop) {
        uint32_t first = x_jmp(j);
        pure_top = jb_pos(j);
        jit_pure_checks(c, pure_out);
        x_patch(j, first, jb_pos(j));
    }
    c->rip_delta = 0;
    c->rip_stale = c->chain; /* a block before may not have stored it */
    c->lf_op = -1;
    c->calls = false;
    c->jcc_host_flags = false;
    bool skip_lf[EMU_BLOCK_MAX_INSNS], skip_cf[EMU_BLOCK_MAX_INSNS];
    c->body_reads_lf = dead_lf_stores(c, skip_lf, skip_cf);
    bool jcc = false;      /* closes with a native Jcc (jcc_end): two ways out */
    bool loop_jcc = false; /* and loops on its taken jump: loop_tail */
    bool prev_native = false;
    unsigned neutral_from = neutral_to_jcc(c);
    bool jmp_last = false; /* closes with a native JMP rel (jmp_end) */
    uint32_t jcc_taken = 0;
    int32_t jcc_delta = 0;
    bool jcc_stale = false;
    struct jit_regs at_jcc;
    jit_regs_clear(&at_jcc);
    c->insn_off = 0;
    for (unsigned i = 0; i < b->n; c->insn_off += b->insns[i].len, i++) {
        const struct emu_insn *in = &b->insns[i];
        called[i] = true;
        c->skip_lf = skip_lf[i];
        c->skip_cf_in = skip_cf[i];
        c->slow_marked = false;
        /* Host flags still the guest's: only right after a native
         * form that left them (a call or a slow path does not), or
         * after flag-neutral ones since, which keep them (compiled as
         * a NOP or by jit_native: set back after those alone). */
        bool host_flags = prev_native && c->host_flags;
        bool neutral = c->long64 && jit_flags_neutral(in);
        prev_native = false;
        c->host_flags = false;
        c->want_flags = i + 1 < b->n && (i + 1 >= neutral_from ||
                                         (c->long64 && jit_takes_host_flags(&b->insns[i + 1])));
        c->flags_in_host = host_flags;
        if (c->long64 && i + 1 == b->n && jit_jcc_flags(c, in, host_flags)) {
            c->jcc_host_flags = host_flags && jit_cond_known(c->lf_op, in->sub);
            jcc = true;
            loop_jcc = loop;
            at_jcc = c->regs;
            jcc_delta = c->rip_delta;
            jcc_stale = c->rip_stale;
            jcc_taken = jcc_end(c, in);
            c->rip_delta = 0;
            called[i] = false; /* unless the taken path's rel_jump calls */
            continue;
        }
        if (c->long64 && i + 1 == b->n &&
            jmp_end(c, in, loop, &called[i], &stop_at[i], &ended_at[i])) {
            jmp_last = true;
            continue;
        }
        if (c->long64 && in->fn == ex_nop) { /* NOP, hint NOPs: RIP only */
            prev_native = true;
            c->host_flags = host_flags; /* flag-neutral */
            called[i] = false;
            c->rip_delta += in->len;
            continue;
        }
        if (c->long64 && jit_native_mem(c, in, &stop_at[i], &ended_at[i]))
            continue; /* called[i]: its slow path has the stubs */
        if (c->long64 && jit_native_stack(c, in, &stop_at[i], &ended_at[i]))
            continue; /* likewise */
        if (c->long64 && jit_native_alu_mem(c, in, &stop_at[i], &ended_at[i])) {
            prev_native = c->host_flags; /* its slow path leaves them too */
            continue;
        }
        if (c->long64 && jit_native_sse(c, in, &called[i], &stop_at[i], &ended_at[i]))
            continue;
        if (c->long64 && jit_native_bits(c, in, &called[i], &stop_at[i], &ended_at[i]))
            continue;
        if (c->long64 && jit_native_atomic(c, in, &called[i], &stop_at[i], &ended_at[i])) {
            prev_native = c->host_flags; /* a slow path leaves them too */
            continue;
        }
        if (c->long64 && jit_native(c, in)) {
            prev_native = true;
            if (neutral) /* its code left them alone */
                c->host_flags = host_flags;
            called[i] = false;
            c->rip_delta += in->len;
            continue;
        }
        jit_emit_call(c, in, &stop_at[i], &ended_at[i]);
    }
    const struct emu_insn *last = &b->insns[b->n - 1];
    /* Ran to its end (past a native Jcc: not taken). RIP there from the
     * start: past the block, after a Jcc or no jump, the JMP's target;
     * not in a loop going back by its last instruction's executor or JMP
     * (jit_loop_back reads cpu->rip). Known, it is stored only where the
     * way out leaves compiled code (jit_between_blocks). */
    int64_t rip_off = RIP_UNKNOWN, taken_off = (int64_t)b->bytes + (int64_t)last->imm;
    /* A CALL rel32 left RIP at its target (both its paths: the handler's
     * or jit_native_stack's) unless it faulted (stop) */
    bool call_last = c->long64 && emu_general_fn(last->fn) == ex_call_rel && last->opsz == 8;
    if (jcc || !(last->flags & INSN_ENDS))
        rip_off = b->bytes;
    else if (jmp_last || call_last)
        rip_off = taken_off;
    if ((loop && !loop_jcc) || !jit_rip_from_rbp(c, rip_off))
        rip_off = RIP_UNKNOWN;
    bool pure = c->pure_loop && loop_jcc && !c->calls && jit_regs_same(&at_jcc, preload);
    c->exits_midway = false;
    for (unsigned i = 0; i < b->n; i++)
        c->exits_midway = c->exits_midway || called[i];
    c->pure = pure;
    *at_jcc_out = at_jcc;
    c->loop_jcc = loop_jcc;
    jit_regs_flush(c);
    *end = c->regs;
    if (rip_off == RIP_UNKNOWN)
        flush_rip(c);
    if (pure)
        jit_sink_flush(c);
    if (loop && !loop_jcc) { /* a self loop: chaining */
        /* Still holding what the top loads: past those loads. */
        uint32_t general =
            jit_loop_back(c, jit_regs_same(&c->regs, preload) ? body_loaded : body);
        x_patch(j, general, jb_pos(j));
        jit_chain_exit(c, -1, RIP_UNKNOWN);
    } else {
        go_on(c, jcc ? 1 : exit_link(last), rip_off);
    }
    if (jcc && !loop_jcc) { /* taken: RIP to the target */
        unsigned i = b->n - 1u;
        x_patch(j, jcc_taken, jb_pos(j));
        c->regs = at_jcc;
        c->rip_delta = jcc_delta;
        c->rip_stale = jcc_stale;
        c->insn_off = b->bytes - last->len; /* the Jcc's, for rel_jump */
        called[i] = rel_jump(c, last, false, &stop_at[i], &ended_at[i]);
        end_exit(c, 0, jit_rip_from_rbp(c, taken_off) ? taken_off : RIP_UNKNOWN);
    }
    if (pure) {
        x_patch(j, jcc_taken, pure_top);
        jit_pure_exit(c, &at_jcc, pure_out);
    } else if (loop_jcc) {
        x_patch(j, jcc_taken, jb_pos(j));
        /* Still holding what the top loads: past those loads. */
        struct jit_regs held = at_jcc;
        held.dirty = 0;
        jit_loop_tail(c, &at_jcc, jit_regs_same(&held, preload) ? body_loaded : body);
    }
    /* Exit stubs, cold: which instruction, then the shared code. */
    jit_cold_begin(c);
    for (unsigned i = 0; i < b->n; i++) {
        if (!called[i])
            continue;
        x_patch(j, stop_at[i], jb_pos(j));
        x_mov_imm(j, X_RDX, (uint64_t)(uintptr_t)&b->insns[i]);
        x_jmp_abs(j, c->sh->stop);
        x_patch(j, ended_at[i], jb_pos(j));
        x_mov_imm(j, X_RSI, i + 1);
        x_jmp_abs(j, c->sh->ended);
    }
    jit_cold_end(c);
}

/* Where position pos of c's two sections will run (jit_buf.base). */
static uintptr_t run_at(const struct jit_ctx *c, uint32_t pos)
{
    return pos & JIT_COLD ? c->other.base + (pos & ~JIT_COLD) : c->j.base + pos;
}

void jit_resolve(struct jit_ctx *c)
{
    struct jit_buf *h = &c->j, *k = &c->other;
    for (unsigned i = 0; i < h->fix->n; i++) {
        const struct jit_fixup *f = &h->fix->v[i];
        uintptr_t to = f->abs ? (uintptr_t)f->abs : run_at(c, f->target);
        int32_t rel = (int32_t)((intptr_t)to - (intptr_t)(run_at(c, f->at) + 4));
        uint8_t *site = f->at & JIT_COLD ? k->start + (f->at & ~JIT_COLD) : h->start + f->at;
        memcpy(site, &rel, 4);
    }
}

/* Both sections empty, nothing to patch. */
static void sections_reset(struct jit_ctx *c)
{
    c->j.p = c->j.start;
    c->other.p = c->other.start;
    c->j.full = c->other.full = false;
    c->j.fix->n = 0;
}

/* Whether a build that made a pure loop (pure) may sink its lazy stores
 * (jit_sink.c): its instructions all stay in it till its end (no stub),
 * none but the closing Jcc reads the lazy state, and that Jcc takes the
 * host flags, not memory (what the build just made says). */
static bool sink_holds(const struct jit_ctx *c, bool pure)
{
    return pure && !c->exits_midway && !c->body_reads_lf && c->jcc_host_flags;
}

void jit_build(struct jit_ctx *c)
{
    struct jit_regs none, end, at_jcc, end2, at_jcc2;
    jit_regs_clear(&none);
    c->pure_loop = c->pure = false;
    c->sink.on = false;
    sections_reset(c);
    build(c, &none, &end, &at_jcc);
    if (jit_self_loop(c) && !c->j.full && !c->other.full) {
        /* Again, loading at the top what the end holds. */
        c->pure_loop = c->loop_jcc && !c->calls;
        /* A first guess from this build (not pure: it must not leave at
         * its ends); the next one says. */
        c->sink.on = sink_holds(c, c->pure_loop);
        sections_reset(c);
        build(c, c->pure_loop ? &at_jcc : &end, &end2, &at_jcc2);
        if (c->sink.on && !sink_holds(c, c->pure)) { /* once more, storing them */
            c->sink.on = false;
            sections_reset(c);
            build(c, &at_jcc, &end2, &at_jcc2);
        }
    }
    if (c->other.full)
        c->j.full = true;
}
#endif
