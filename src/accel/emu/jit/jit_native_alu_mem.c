/*
 * The integer forms with a memory operand that exec_fast_mem.c
 * specialises in 64-bit code, as host code: ALU reg, [mem] (ADD OR AND
 * SUB XOR CMP), CMP and TEST [mem], reg / imm, MOV [mem], imm, the
 * read-modify-write ALU [mem], reg / imm and INC/DEC [mem] without LOCK
 * (INC/DEC after any lazy state: CF through jit_cf_to_dl); and the byte
 * ALU forms that have no specialised handler, as their general executor.
 * Each probes the data TLB inline (jit_tlb_probe: the read TLB, or the
 * write one for a store or a read-modify-write, as the handler does: a
 * write-TLB hit is a readable RAM page) and then does what its handler
 * does on a hit, the lazy flags through jit_native.c's ALU core; anything
 * else calls the handler (jit_mem_slow_call), which leaves the same lazy
 * state when it does not fault. RIP moves through the pending delta both
 * ways.
 */
#if defined(__x86_64__)
#include "accel/emu/exec.h"
#include "accel/emu/jit/jit_int.h"

enum form {
    F_NONE,
    F_LOAD_OP,   /* reg = reg OP [mem] (CMP: flags only); fast_alu_rm */
    F_CMP_MR,    /* CMP [mem], reg; fast_cmp_mr */
    F_CMP_MI,    /* CMP [mem], imm; fast_cmp_mi */
    F_TEST_MR,   /* TEST [mem], reg; fast_test_mr */
    F_TEST_MI,   /* TEST [mem], imm; fast_test_mi */
    F_STORE_IMM, /* MOV [mem], imm; fast_mov_store_imm */
    F_RMW_MR,    /* [mem] = [mem] OP reg; fast_alu_mr */
    F_RMW_MI,    /* [mem] = [mem] OP imm; fast_alu_mi */
    F_INCDEC,    /* INC/DEC [mem]; fast_incdec_mem */
};

/* Which form in is, keyed on the general executor of its specialised
 * handler (emu_fast_pick_mem picks them only in 64-bit code; in->fn must
 * be the handler: its exact behaviour is what is reproduced). */
static enum form form_of(const struct emu_insn *in)
{
    emu_exec_fn g = emu_general_fn(in->fn);
    bool alu_op = in->sub < 8 && in->sub != 2 && in->sub != 3; /* ADC, SBB stay general */
    if (!(in->flags & INSN_MEM) || (in->adsz != 4 && in->adsz != 8))
        return F_NONE;
    /* The byte ALU r8, [mem] has no specialised handler: ex_alu_reg_rm's
     * own (a = the register, b = the byte, alu()) is reproduced. */
    if (in->fn == ex_alu_reg_rm && in->opsz == 1 && alu_op)
        return F_LOAD_OP;
    /* Nor has the byte ALU [mem], r8 / imm8: alu_rm's (the read with
     * write intent, a = the byte, b = the register or the immediate at
     * size, alu(), the write) is, as fast_alu_mr/mi do it at 32 and 64. */
    bool rmw = !(in->flags & INSN_LOCK) && alu_op && in->sub != 7;
    if (in->opsz == 1 && rmw && in->fn == ex_alu_rm_reg)
        return F_RMW_MR;
    if (in->opsz == 1 && rmw && in->fn == ex_alu_rm_imm)
        return F_RMW_MI;
    if (g == in->fn)
        return F_NONE;
    if (in->opsz == 1) { /* byte MOV loads and stores: jit_native_mem.c */
        if (g == ex_mov_rm_imm)
            return F_STORE_IMM;
        if (g == ex_test_rm_imm)
            return F_TEST_MI;
        if (g == ex_test_rm_reg)
            return F_TEST_MR;
        if (g == ex_alu_rm_imm && in->sub == 7)
            return F_CMP_MI;
        if (g == ex_alu_rm_reg && in->sub == 7)
            return F_CMP_MR;
        return F_NONE;
    }
    if (in->opsz != 4 && in->opsz != 8)
        return F_NONE;
    if (g == ex_alu_reg_rm && alu_op)
        return F_LOAD_OP;
    if (g == ex_alu_rm_reg && in->sub == 7)
        return F_CMP_MR;
    if (g == ex_alu_rm_imm && in->sub == 7)
        return F_CMP_MI;
    if (g == ex_test_rm_reg)
        return F_TEST_MR;
    if (g == ex_test_rm_imm)
        return F_TEST_MI;
    if (g == ex_mov_rm_imm)
        return F_STORE_IMM;
    if (rmw && g == ex_alu_rm_reg)
        return F_RMW_MR;
    if (rmw && g == ex_alu_rm_imm)
        return F_RMW_MI;
    if (!(in->flags & INSN_LOCK) && g == ex_inc_dec_rm && in->sub < 2)
        return F_INCDEC;
    return F_NONE;
}

bool jit_alu_mem_form(const struct emu_insn *in)
{
    return form_of(in) != F_NONE;
}

bool jit_alu_mem_lf_effect(const struct emu_insn *in, int lf_before, struct jit_lf_effect *e)
{
    enum form f = form_of(in);
    if (f == F_NONE)
        return false;
    if (f == F_INCDEC) { /* CF of the state before read, on either path */
        *e = (struct jit_lf_effect){true, true, !jit_incdec_keeps_cf(lf_before),
                                    (in->sub & 1) ? LF_DEC : LF_INC};
        return true;
    }
    /* It may call its handler, which may fault: the state before must be
     * in memory. Both paths leave op, size, a, b, res (never cf_in). */
    *e = (struct jit_lf_effect){true, true, false, jit_alu_lf(in->sub)};
    if (f == F_TEST_MR || f == F_TEST_MI)
        e->lf_after = LF_LOGIC;
    if (f == F_STORE_IMM) {
        e->writes = false;
        e->lf_after = lf_before;
    }
    return true;
}

/* MOVZX r32, byte [base + disp]. */
static void movzx8_mem(struct jit_buf *j, unsigned reg, unsigned base, int32_t disp)
{
    x_op0f_mem(j, false, 0xb6, reg, base, disp);
}

/* to = size bytes at [base], zero-extended. */
static void load_mem(struct jit_buf *j, unsigned size, unsigned to, unsigned base)
{
    if (size == 1)
        movzx8_mem(j, to, base, 0);
    else
        x_load(j, size == 8, to, base, 0);
}

/* DL = CF of the lazy state (jit_cf_to_dl) with the host address in RCX
 * kept: the inline forms after ADD, SUB and a logic operation leave it,
 * the others (ADC, SBB, the shared cf_dl for a state the compiler does
 * not know) clobber it, so it is saved around them on the host stack. */
static void cf_to_dl_keep_rcx(struct jit_ctx *c)
{
    bool clobbers = c->lf_op != LF_ADD && c->lf_op != LF_SUB && c->lf_op != LF_LOGIC;
    if (clobbers)
        x_push(&c->j, X_RCX);
    jit_cf_to_dl(c);
    if (clobbers)
        x_pop(&c->j, X_RCX);
}

/* The immediate as the handlers take it: CMP and the read-modify-writes
 * at the operand size, TEST as decoded. */
static uint64_t imm_of(const struct emu_insn *in, enum form f)
{
    if (f == F_TEST_MI || in->opsz == 8)
        return in->imm;
    return in->opsz == 4 ? (uint32_t)in->imm : in->imm & 0xff;
}

bool jit_native_alu_mem(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop,
                        uint32_t *ended)
{
    enum form f = form_of(in);
    if (f == F_NONE)
        return false;
    struct jit_buf *j = &c->j;
    unsigned size = in->opsz, op = in->sub & 7;
    bool q = size == 8;
    bool write = f == F_STORE_IMM || f == F_RMW_MR || f == F_RMW_MI || f == F_INCDEC;
    uint32_t slow[JIT_PROBE_SLOW];
    jit_mem_lin(c, in); /* RAX = lin */
    unsigned ns = jit_tlb_probe(c, write ? JIT_CPU(tlb_write) : JIT_CPU(tlb_read), size, slow);
    /* RCX = the host address */
    switch (f) {
    case F_NONE:
        return false;
    case F_LOAD_OP: /* a = reg, b = [mem] */
        load_mem(j, size, X_RCX, X_RCX);
        jit_read_gpr(c, size, in->reg, X_RAX);
        jit_alu_core(c, op, size, op == 7 ? -1 : (int)in->reg);
        break;
    case F_CMP_MR:
    case F_TEST_MR:
        load_mem(j, size, X_RAX, X_RCX);
        jit_read_gpr(c, size, in->reg, X_RCX);
        jit_alu_core(c, f == F_TEST_MR ? 4 : 7, size, -1);
        break;
    case F_CMP_MI:
    case F_TEST_MI:
        load_mem(j, size, X_RAX, X_RCX);
        x_mov_imm(j, X_RCX, imm_of(in, f));
        jit_alu_core(c, f == F_TEST_MI ? 4 : 7, size, -1);
        break;
    case F_STORE_IMM:
        if (size != 8 || x_fits_s32((int64_t)in->imm)) {
            x_store_imm(j, size, X_RCX, 0, (uint32_t)in->imm);
        } else {
            x_mov_imm(j, X_RAX, in->imm);
            x_store(j, true, X_RAX, X_RCX, 0);
        }
        break;
    case F_RMW_MR:
    case F_RMW_MI: /* RDX keeps the host address through the ALU core */
        x_mov_rr(j, true, X_RDX, X_RCX);
        load_mem(j, size, X_RAX, X_RDX);
        if (f == F_RMW_MR)
            jit_read_gpr(c, size, in->reg, X_RCX);
        else
            x_mov_imm(j, X_RCX, imm_of(in, f));
        jit_alu_core(c, op, size, -1);
        if (size == 1)
            x_op_mem(j, false, 0x88, X_RAX, X_RDX, 0); /* MOV [RDX], AL */
        else
            x_store(j, q, X_RAX, X_RDX, 0);
        break;
    case F_INCDEC: { /* CF first, from the state before (RCX kept) */
        bool keep = jit_incdec_keeps_cf(c->lf_op);
        if (!keep)
            cf_to_dl_keep_rcx(c);
        load_mem(j, size, X_RAX, X_RCX);
        jit_incdec_core(c, in->sub & 1, size, keep);
        x_store(j, q, X_RAX, X_RCX, 0);
        break;
    }
    }
    /* The core set c->lf_op to what the handler leaves on either path
     * (at byte size too: the lazy state's readers, jit_cf_to_dl and
     * jit_cond_flags, work at its size); jit_mem_slow_call keeps it. */
    jit_mem_slow_call(c, in, slow, ns, stop, ended);
    return true;
}
#endif
