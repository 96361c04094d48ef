/*
 * One random block (emu_jit_gen_blocks.h) run through run_block
 * (emu_run_block) and through its compiled code from the same random
 * state, and compared (emu_jit_harness.h); and what the compiled code
 * must hold, tallied: native forms with no call of their handler, the
 * host's own instruction where the host has it, a slow path where one
 * must be.
 */
#ifndef EMU_JIT_RANDOM_H
#define EMU_JIT_RANDOM_H

#include "emu_jit_gen_blocks.h"

static bool crowded; /* random blocks from gen_crowded_block, the data TLB empty */

/* random_block: this block rather than a generated one (NULL: none). */
static const struct code *given;

/* The register forms whose every case the random blocks must compile
 * natively in quantity: rotates that set CF and OF and quiet ones
 * (emu_block_flags_live), byte forms on AH..BH, MOVZX/MOVSX/MOVSXD, and
 * CMOVcc/SETcc whose condition the block's own code decides (the lazy
 * state the compiler tracks, as jit_build does through jit_lf_effect). */
enum { K_ROT_FLAGS, K_ROT_QUIET, K_HIGH8, K_MOVX, K_COND, K_NOT_NEG, K_NEG_LIVE, K_DEAD_LF,
       K_CBW, K_MUL, K_KINDS };

/* Which instructions' lazy-flag stores are dead, as jit_compile.c's
 * dead_lf_stores finds them (the block's end and any reader read all):
 * those flag setters are one host instruction (direct() in jit_native.c). */
static inline void dead_lf(const struct emu_block *b, bool *dead_at)
{
    struct jit_lf_effect e[EMU_BLOCK_MAX_INSNS];
    int lf = -1;
    for (unsigned i = 0; i < b->n; i++) {
        e[i] = jit_lf_effect(&b->insns[i], lf);
        lf = e[i].lf_after;
    }
    bool dead = false;
    for (unsigned i = b->n; i-- > 0;) {
        dead_at[i] = e[i].writes && dead;
        dead = e[i].reads ? false : dead || e[i].writes;
    }
}

static inline void count_kinds(const struct emu_block *b, unsigned *kinds)
{
    int lf = -1;
    bool dead_at[EMU_BLOCK_MAX_INSNS];
    dead_lf(b, dead_at);
    for (unsigned i = 0; i < b->n; i++) {
        const struct emu_insn *in = &b->insns[i];
        struct jit_lf_effect e = jit_lf_effect(in, lf);
        emu_exec_fn g = emu_general_fn(in->fn);
        if (jit_native_form(in)) {
            if (g == ex_not || g == ex_neg)
                kinds[K_NOT_NEG]++;
            kinds[K_NEG_LIVE] += g == ex_neg && !dead_at[i];
            kinds[K_DEAD_LF] += e.writes && dead_at[i] && (in->opsz == 4 || in->opsz == 8) &&
                                !(in->flags & INSN_MEM);
            if (g == ex_shift)
                kinds[emu_fast_without_cfof(in->fn) ? K_ROT_FLAGS : K_ROT_QUIET] +=
                    in->sub < 2;
            else if (g == ex_movzx || g == ex_movsx || g == ex_movsxd)
                kinds[K_MOVX]++;
            else if (g == ex_setcc || g == ex_cmovcc)
                kinds[K_COND] += e.lf_after != -1; /* else called */
            kinds[K_CBW] += g == ex_cbw;
            kinds[K_MUL] += g == ex_mul;
            if (in->rm >= REG_HIGH8 && (in->opsz == 1 || g == ex_setcc || g == ex_movzx ||
                                        g == ex_movsx))
                kinds[K_HIGH8]++;
        }
        lf = e.lf_after;
    }
}

/* What the random blocks covered. */
struct tally {
    unsigned insns, native, stops, ended;
    unsigned stack, stack_ends, stack_odd; /* stack forms, CALL/RET last, off STACK or AC */
    unsigned call_gp;                      /* CALLs to a non-canonical target */
    unsigned branch_mem, branch_mem_ok;    /* JMP/CALL through memory last, those run */
    unsigned kinds[K_KINDS];               /* the register forms' kinds, native */
    unsigned alu_mem;                      /* ALU, CMP, TEST, MOV on memory, native */
    unsigned words, byte_rmw;              /* word MOVs on memory and TESTs, byte ALU [m], native */
    unsigned crowded;                      /* blocks crowding the pool, memory forms in them */
    unsigned self_loops, looped;           /* blocks made to loop to their start, ran again */
    unsigned sse, sse_mem;                 /* SSE forms compiled natively, those on memory */
    unsigned sse_direct;                   /* register ones with no call of their handler */
    unsigned sse_nm, sse_ud, sse_gp;       /* blocks stopped by #NM, #UD, #GP at one */
    unsigned shufb, str;                   /* PSHUFB, PCMPxSTRx compiled as the host's */
    unsigned str_ud;                       /* blocks stopped at a string compare by #UD */
    unsigned str_jcc;                      /* closed right after one by a native Jcc */
    unsigned jcc_kept;                     /* closing Jccs on host flags kept across forms */
    unsigned bits[4];                      /* SHx r, CL; BSF/BSR; BT r, imm; BT [m], imm native */
    unsigned atomic[4];                    /* SETcc [m], XCHG [m], XCHG r, r, CMPXCHG [m] native */
    unsigned atomic_called;                /* SETcc [m] called (parity, state unknown) */
    unsigned atomic_pf, atomic_pf_w;       /* blocks stopped at one by #PF, with W set */
};

/* Whether the code holds the host's PSHUFB or string compare (in's
 * opcode and imm8) on XMM0 and XMM1, as jit_native_sse emits it. */
static inline bool code_has_host_op(const uint8_t *code, size_t n, const struct emu_insn *in)
{
    bool str = in->fn == ex_pcmpstr;
    const uint8_t op[] = {0x0f, str ? 0x3a : 0x38, str ? in->opcode : 0x00, 0xc1,
                          (uint8_t)in->imm};
    size_t len = str ? 5 : 4;
    for (size_t i = 1; i + len <= n; i++) /* after 66 or 66 REX.W */
        if ((code[i - 1] == 0x66 || code[i - 1] == 0x48) && !memcmp(code + i, op, len))
            return true;
    return false;
}

/* b's SSE forms, compiled to code of n bytes, into t: each on a
 * register after the block's first (the CR0/CR4 check made) must be
 * native with no call of its handler compiled, each other one must have
 * one (its slow path); so must a string compare (SSE4.2 may be off in
 * the CPU), and PSHUFB or a string compare must be the host's own
 * instruction exactly when the host has it (else the handler alone);
 * the vector of a fault at one is counted. False when the code is not
 * so. */
static inline bool sse_tally(const struct emu_block *b, const uint8_t *code, size_t n, struct tally *t)
{
    bool checked = false;
    unsigned isa = fx.evm.jit->host_isa;
    uint64_t at = code_at;
    for (unsigned i = 0; i < b->n; at += b->insns[i].len, i++) {
        const struct emu_insn *in = &b->insns[i];
        if (!jit_sse_form(in))
            continue;
        bool str = in->fn == ex_pcmpstr, shufb = in->fn == ex_ssse3;
        bool host = str ? (isa & JIT_ISA_SSE42) : shufb ? (isa & JIT_ISA_SSSE3) : true;
        bool mem = in->flags & INSN_MEM, direct = checked && !mem && !str && host;
        if ((str || shufb) && code_has_host_op(code, n, in) != host) {
            printf("FAIL: emu JIT: %s %u of a block (%02x) %s the host's instruction\n",
                   str ? "string compare" : "PSHUFB", i, in->opcode,
                   host ? "is not" : "is, on a host without it,");
            return false;
        }
        t->shufb += shufb && host;
        t->str += str && host;
        const struct emu_insn *next = in + 1;
        t->str_jcc += str && i + 2 == b->n && emu_general_fn(next->fn) == ex_jcc &&
                      next->fn != ex_jcc && !code_names(code, n, next);
        if (code_names(code, n, in) == direct) {
            printf("FAIL: emu JIT: SSE form %u of a block (%02x, %s) %s\n", i, in->opcode,
                   mem ? "memory" : "registers",
                   direct ? "calls its handler" : "has no slow path compiled");
            return false;
        }
        t->sse++;
        t->sse_mem += mem;
        t->sse_direct += direct;
        checked = true;
        if (ref.st != EMU_OK && ref.rip == at) {
            t->sse_nm += ref.vector == EXC_NM;
            t->sse_ud += ref.vector == EXC_UD;
            t->sse_gp += ref.vector == EXC_GP;
            t->str_ud += str && ref.vector == EXC_UD && (start.features_off >> EMU_HF_SSE42) & 1;
        }
    }
    return true;
}

/* b's bit forms (jit_native_bits.c), compiled to code of n bytes, into
 * t: one on registers must have no call of its handler compiled, BT on
 * memory one (its slow path). False when the code is not so. */
static inline bool bits_tally(const struct emu_block *b, const uint8_t *code, size_t n, struct tally *t)
{
    for (unsigned i = 0; i < b->n; i++) {
        const struct emu_insn *in = &b->insns[i];
        if (!jit_bits_form(in))
            continue;
        bool mem = in->flags & INSN_MEM;
        if (code_names(code, n, in) != mem) {
            printf("FAIL: emu JIT: bit form %u of a block (%02x, %s) %s\n", i, in->opcode,
                   mem ? "memory" : "registers",
                   mem ? "has no slow path compiled" : "calls its handler");
            return false;
        }
        emu_exec_fn g = emu_general_fn(in->fn);
        t->bits[mem ? 3 : g == ex_shift ? 0 : g == ex_bt_imm ? 2 : 1]++;
    }
    return true;
}

/* Whether the code [code, code + n) holds the len bytes at op. */
static inline bool code_has(const uint8_t *code, size_t n, const uint8_t *op, size_t len)
{
    for (size_t i = 0; i + len <= n; i++)
        if (!memcmp(code + i, op, len))
            return true;
    return false;
}

enum { A_SETCC, A_XCHG, A_XCHG_RR, A_CMPXCHG };
static const char *const atomic_names[4] = {"SETcc [m]", "XCHG [m]", "XCHG r, r", "CMPXCHG [m]"};

/* b's SETcc, XCHG and CMPXCHG forms (jit_native_atomic.c), compiled to
 * code of n bytes, into t: XCHG between registers must be native with no
 * call of its handler compiled; a memory form must hold the host's own
 * instruction as jit_native_atomic emits it on the probe's host address
 * (SETcc AL then MOV [RCX], AL; XCHG [RCX], RAX at size; LOCK CMPXCHG
 * [RCX], RDX at size), and a call of its handler (the slow path); so
 * must a SETcc whose condition the compiler does not take
 * (jit_cond_native, after the state jit_lf_effect tracks), which is
 * called (another SETcc on the same condition may be native: the
 * host's instruction is not looked for). A #PF stopping the block at one is counted. False when
 * the code is not so. */
static inline bool atomic_tally(const struct emu_block *b, const uint8_t *code, size_t n, struct tally *t)
{
    int lf = -1;
    uint64_t at = code_at;
    for (unsigned i = 0; i < b->n; at += b->insns[i].len, i++) {
        const struct emu_insn *in = &b->insns[i];
        int lf_before = lf;
        lf = jit_lf_effect(in, lf).lf_after;
        if (!jit_atomic_form(in))
            continue;
        bool mem = in->flags & INSN_MEM, w = in->opsz == 8, byte = in->opsz == 1;
        int k = in->fn == ex_setcc ? A_SETCC : in->fn == ex_cmpxchg ? A_CMPXCHG
                : mem ? A_XCHG : A_XCHG_RR;
        bool native = k != A_SETCC || jit_cond_native(lf_before, in->sub);
        uint8_t op[6];
        size_t len = 0;
        if (k == A_SETCC) {
            const uint8_t s[] = {0x0f, (uint8_t)(0x90 + (in->sub & 15)), 0xc0, 0x88, 0x01};
            memcpy(op, s, len = sizeof(s));
        } else if (k == A_XCHG) { /* [REX.W] 86/87 (RAX, [RCX]) */
            if (w)
                op[len++] = 0x48;
            op[len++] = byte ? 0x86 : 0x87;
            op[len++] = 0x01;
        } else if (k == A_CMPXCHG) { /* F0 [REX.W] 0F B0/B1 (RDX, [RCX]) */
            op[len++] = 0xf0;
            if (w)
                op[len++] = 0x48;
            op[len++] = 0x0f;
            op[len++] = byte ? 0xb0 : 0xb1;
            op[len++] = 0x11;
        }
        bool host = len && code_has(code, n, op, len), calls = code_names(code, n, in);
        if ((len && native && !host) || calls != (k != A_XCHG_RR)) {
            printf("FAIL: emu JIT: %s %u of a block (%u bytes) %s\n", atomic_names[k], i,
                   in->opsz, native && !host ? "is not the host's instruction"
                             : calls         ? "calls its handler"
                                             : "has no slow path compiled");
            return false;
        }
        t->atomic[k] += native;
        t->atomic_called += !native;
        if (ref.st == EMU_FAULT && ref.rip == at && ref.vector == EXC_PF) {
            t->atomic_pf++;
            t->atomic_pf_w += (ref.error & 2) != 0;
        }
    }
    return true;
}

/* b's native CBW/CWDE/CDQE and MULs, compiled to code of n bytes: none
 * may have a call of its handler compiled (they have no slow path). */
static inline bool wide_native(const struct emu_block *b, const uint8_t *code, size_t n)
{
    for (unsigned i = 0; i < b->n; i++) {
        const struct emu_insn *in = &b->insns[i];
        if ((in->fn == ex_cbw || in->fn == ex_mul) && jit_native_form(in) &&
            code_names(code, n, in)) {
            printf("FAIL: emu JIT: %s %u of a block (size %u) calls its handler\n",
                   in->fn == ex_cbw ? "CBW/CWDE/CDQE" : "MUL", i, in->opsz);
            return false;
        }
    }
    return true;
}

/* Whether b has a run of compiled instructions with no call between
 * (which empties the JIT's register pool) naming at least JIT_POOL + 2
 * guest registers, and memory forms in it after the pool is full. */
static inline bool crowds_pool(const struct emu_block *b)
{
    uint32_t named = 0;
    for (unsigned i = 0; i < b->n; i++) {
        const struct emu_insn *in = &b->insns[i];
        bool mem_form = jit_mem_form(in) || jit_alu_mem_form(in) ||
                        (jit_atomic_form(in) && (in->flags & INSN_MEM));
        if (!jit_native_form(in) && !mem_form && !jit_stack_form(in) && !jit_atomic_form(in)) {
            named = 0;
            continue;
        }
        if (mem_form && __builtin_popcount(named) > JIT_POOL + 1)
            return true;
        emu_exec_fn g = emu_general_fn(in->fn);
        bool group = (in->opcode >= 0x80 && in->opcode <= 0x83) || in->opcode == 0xc1 ||
                     in->opcode == 0xd1 || in->opcode == 0xf7 || in->opcode == 0xff ||
                     in->opcode == 0xc7;
        if (!group && in->reg < 16)
            named |= 1u << in->reg;
        if (in->flags & INSN_MEM) {
            named |= in->base < 16 ? 1u << in->base : 0;
            named |= in->index < 16 ? 1u << in->index : 0;
        } else if (g != ex_mov_reg_imm && in->rm < 16) {
            named |= 1u << in->rm;
        }
    }
    return false;
}

/* One random block run interpreted, then compiled from the same state:
 * whether both did the same; t counts what it covered. */
static inline bool random_block(unsigned k, struct tally *t)
{
    struct accel_exit exit;
    struct code c;
    if (given) {
        c = *given;
        rel8_last = false;
    } else if (crowded)
        gen_crowded_block(&c);
    else if (str_opc)
        gen_str_block(&c);
    else
        gen_block(&c);
    /* Sometimes a self loop: the Jcc back to the block's start, run
     * again while it goes there, up to loops more times (compiled: with
     * that budget, jit_loop_tail or jit_loop_back). */
    unsigned loops = 0;
    if (!crowded && rel8_last && c.n <= 128 && pick(3) == 0) {
        c.b[c.n - 1] = (uint8_t)-(int)c.n;
        loops = 1 + pick(40);
        t->self_loops++;
    }
    restore_tables();
    memset(fx.ram + CODE, 0, 4096);
    memcpy(fx.ram + CODE, c.b, c.n);
    for (unsigned i = 0; i < 4096; i += 8) { /* edge values: carries out of 32 bits */
        uint64_t v = operand();
        memcpy(fx.ram + DATA + i, &v, 8);
    }
    for (uint64_t a = STACK_LO; a < STACK_HI; a += 8) {
        uint64_t v = stack_value();
        memcpy(fx.ram + a, &v, 8);
    }
    emu_code_invalidate(&fx.evm, CODE, 4096);
    emu_blocks_free_dead(&fx.evm);
    random_state(&cpu);
    memset(&exit, 0, sizeof(exit));
    cpu.exit = &exit;
    cpu.xlog_n = cpu.xlog_pos = cpu.held_pos = 0;
    cpu.held_valid = false;
    int st;
    struct emu_block *b = emu_block_get(&cpu, &st);
    if (!b) {
        printf("FAIL: emu JIT: case %u: no block (status %d)\n", k, st);
        return false;
    }
    if (crowded || pick(3) == 0) { /* the data TLB empty: the memory forms' slow path */
        memset(cpu.tlb_read, 0, sizeof(cpu.tlb_read));
        memset(cpu.tlb_write, 0, sizeof(cpu.tlb_write));
    }
    memset(cpu.jcache, 0, sizeof(cpu.jcache)); /* chaining: nothing to go on into */
    start = cpu;
    memcpy(start_ram, fx.ram, RAM);
    st = emu_run_block(&cpu, b);
    for (unsigned n = 0; n < loops && st == EMU_OK && cpu.rip == code_at; n++)
        st = emu_run_block(&cpu, b);
    record(&ref, st, &exit);
    /* The same block decoded afresh (the run may have dropped it: the
     * store into its page), from the same state. */
    restore();
    memset(&exit, 0, sizeof(exit));
    emu_code_invalidate(&fx.evm, CODE, 4096);
    if (!(b = emu_block_get(&cpu, &st))) {
        printf("FAIL: emu JIT: case %u: no block the second time\n", k);
        return false;
    }
    uint64_t jcc_host_flags = fx.evm.jit->jcc_host_flags;
    emu_jit_compile(&fx.evm, b);
    if (!b->jit_code) {
        printf("FAIL: emu JIT: case %u: block not compiled\n", k);
        return false;
    }
    /* Its closing Jcc on the host's flags, from a setter before forms that keep them */
    t->jcc_kept += fx.evm.jit->jcc_host_flags != jcc_host_flags && b->n > 1 &&
                   jit_flags_neutral(&b->insns[b->n - 2]);
    size_t code_bytes = code_size(b);
    cpu.chain_lin = code_at; /* where run_chain would have entered it */
    st = run_compiled(b, (int32_t)loops, NULL); /* this block alone, maybe looping */
    record(&got, st, &exit);
    if (compare(&c))
        return false;
    const struct emu_insn *last = &b->insns[b->n - 1];
    unsigned s = 0;
    t->insns += b->n;
    for (unsigned i = 0; i < b->n; i++) {
        t->native += jit_native_form(&b->insns[i]);
        s += jit_stack_form(&b->insns[i]);
        t->alu_mem += jit_alu_mem_form(&b->insns[i]);
        const struct emu_insn *in = &b->insns[i];
        t->words += in->opsz == 2 && (jit_mem_form(in) || jit_native_form(in));
        t->byte_rmw += in->opsz == 1 && jit_alu_mem_form(in) &&
                       (in->fn == ex_alu_rm_reg || in->fn == ex_alu_rm_imm);
    }
    count_kinds(b, t->kinds);
    if (!sse_tally(b, b->jit_body, code_bytes, t)) {
        report(&c, "where it calls SSE handlers", 0, 0);
        return false;
    }
    if (!bits_tally(b, b->jit_body, code_bytes, t)) {
        report(&c, "where it calls bit forms' handlers", 0, 0);
        return false;
    }
    if (!atomic_tally(b, b->jit_body, code_bytes, t)) {
        report(&c, "where it compiles SETcc, XCHG, CMPXCHG", 0, 0);
        return false;
    }
    if (!wide_native(b, b->jit_body, code_bytes)) {
        report(&c, "where it calls CBW or MUL handlers", 0, 0);
        return false;
    }
    t->crowded += crowds_pool(b);
    bool branch_mem = jit_stack_form(last) && (last->flags & INSN_MEM);
    t->branch_mem += branch_mem;
    t->branch_mem_ok += branch_mem && ref.st == EMU_OK;
    t->stack += s;
    t->stack_ends += jit_stack_form(last);
    t->stack_odd += s && (start.gpr[4] != STACK || (start.rflags & RFLAGS_AC));
    t->call_gp += jit_stack_form(last) && emu_general_fn(last->fn) == ex_call_rel &&
                  ref.vector == EXC_GP;
    t->looped += ref.insn_count - start.insn_count > b->n;
    t->stops += ref.st != EMU_OK && ref.st != EMU_END_BLOCK;
    t->ended += ref.st == EMU_END_BLOCK && ref.insn_count - start.insn_count < b->n;
    return true;
}

/* cases random blocks (at most 5 failures): how many failed. */
static inline unsigned random_blocks(unsigned cases, struct tally *t)
{
    unsigned failed = 0;
    for (unsigned k = 0; k < cases && failed < 5; k++)
        failed += !random_block(k, t);
    test_failures += failed;
    return failed;
}

#endif
