/*
 * SETcc [mem], XCHG and CMPXCHG [mem] in 64-bit code as host code (the
 * general executors ex_setcc, ex_xchg_rm_reg, ex_cmpxchg reproduced;
 * none has a specialised handler). XCHG between registers is the host's
 * on the host registers holding them. The memory forms probe the write
 * TLB inline (jit_tlb_probe: the handler reads the operand with write
 * intent and writes it, and a write-TLB hit is a writable RAM page, no
 * decoded code on it, no data breakpoint), then do the whole access as
 * one host instruction on the entry's host address: XCHG (locked by the
 * processor) and LOCK CMPXCHG, atomic for other vCPUs to come, so a
 * guest's spinlocks and compare-and-swaps stay atomic; SETcc's byte
 * store. Anything else (a miss, an operand across pages, RFLAGS.AC)
 * calls the handler (jit_mem_slow_call), which takes the full path and
 * faults as the interpreter does (a #PF with W even when CMPXCHG's
 * compare fails). The condition of SETcc is taken from the lazy state
 * without changing it (jit_cond_flags, or the shared host_flags), so
 * either path leaves the flags as they were.
 */
#if defined(__x86_64__)
#include "accel/emu/exec.h"
#include "accel/emu/jit/jit_int.h"

enum form {
    F_NONE,
    F_SETCC_MEM, /* [mem] = cc ? 1 : 0 */
    F_XCHG_RR,   /* rm <-> reg */
    F_XCHG_MEM,  /* [mem] <-> reg */
    F_CMPXCHG,   /* [mem] == acc ? [mem] = reg : acc = [mem] */
};

static enum form form_of(const struct emu_insn *in)
{
    bool mem = in->flags & INSN_MEM;
    if (mem && in->adsz != 4 && in->adsz != 8)
        return F_NONE;
    if (in->fn == ex_setcc)
        return mem ? F_SETCC_MEM : F_NONE; /* on a register: jit_native.c */
    /* jit_write_gpr writes 1, 4 or 8 bytes */
    if (in->opsz != 1 && in->opsz != 4 && in->opsz != 8)
        return F_NONE;
    if (in->fn == ex_xchg_rm_reg)
        return mem ? F_XCHG_MEM : F_XCHG_RR;
    if (in->fn == ex_cmpxchg && mem)
        return F_CMPXCHG;
    return F_NONE;
}

bool jit_atomic_form(const struct emu_insn *in)
{
    return form_of(in) != F_NONE;
}

bool jit_atomic_lf_effect(const struct emu_insn *in, int lf_before, struct jit_lf_effect *e)
{
    switch (form_of(in)) {
    case F_NONE:
        return false;
    case F_XCHG_RR: /* registers only */
        *e = (struct jit_lf_effect){false, false, false, lf_before};
        return true;
    case F_SETCC_MEM: /* reads the state; native: keeps it, else called */
        *e = (struct jit_lf_effect){true, false, false,
                                    jit_cond_native(lf_before, in->sub) ? lf_before : -1};
        return true;
    case F_XCHG_MEM: /* the handler may fault: the state before in memory */
        *e = (struct jit_lf_effect){true, false, false, lf_before};
        return true;
    case F_CMPXCHG: /* the same, and both paths leave CMP's op, size, a, b, res */
        *e = (struct jit_lf_effect){true, true, false, LF_SUB};
        return true;
    }
    return false;
}

/* ex_xchg_rm_reg on registers: the host's XCHG on the host registers
 * (a 32-bit one zero-extends both, itself too); bytes (AH..BH among
 * them) through RAX and RCX. */
static void xchg_rr(struct jit_ctx *c, const struct emu_insn *in)
{
    struct jit_buf *j = &c->j;
    unsigned size = in->opsz;
    if (size == 1) {
        jit_read_gpr(c, 1, in->rm, X_RAX);
        jit_read_gpr(c, 1, in->reg, X_RCX);
        jit_write_gpr(c, 1, in->reg);
        x_mov_rr(j, false, X_RAX, X_RCX);
        jit_write_gpr(c, 1, in->rm);
        return;
    }
    unsigned a = jit_reg(c, in->rm);
    unsigned b = jit_reg(c, in->reg);
    x_xchg_rr(j, size == 8, a, b);
    jit_reg_written(c, in->rm);
    jit_reg_written(c, in->reg);
}

/* ex_setcc on memory, RCX the host address: the condition as emu_cond
 * decides it, into the byte. jit_cond_flags clobbers RAX alone; the
 * shared host_flags RAX-RDX, so RCX is kept on the stack around it (two
 * pushes: RSP stays 16-byte aligned, as the call needs). Whether host
 * RFLAGS are then the guest's of c->lf_op (c->host_flags). */
static bool setcc_mem(struct jit_ctx *c, const struct emu_insn *in)
{
    struct jit_buf *j = &c->j;
    bool known = jit_cond_known(c->lf_op, in->sub);
    if (known) {
        jit_cond_flags(c);
    } else {
        x_push(j, X_RCX);
        x_push(j, X_RCX);
        x_call_abs(j, c->sh->host_flags);
        x_pop(j, X_RCX);
        x_pop(j, X_RCX);
    }
    x_setcc(j, in->sub & 15, X_RAX);
    x_op_mem(j, false, 0x88, X_RAX, X_RCX, 0); /* MOV byte [RCX], AL */
    return known;
}

/* ex_cmpxchg on memory, RCX the host address: the host's LOCK CMPXCHG
 * with the accumulator at size in RAX and reg in RDX leaves RAX = the
 * operand as it was on both outcomes (equal: it is the accumulator) and
 * ZF = equal. The guest's accumulator takes it unless equal (a 32-bit
 * one is zero-extended only then: a 64-bit CMOVNE of the zero-extended
 * value; the other sizes equal write what is there). Then alu(7, acc,
 * operand) through the ALU core. */
static void cmpxchg(struct jit_ctx *c, const struct emu_insn *in)
{
    struct jit_buf *j = &c->j;
    unsigned size = in->opsz;
    jit_read_gpr(c, size, in->reg, X_RDX);
    jit_read_gpr(c, size, 0, X_RAX);
    x_lock_cmpxchg_mem(j, size, X_RDX, X_RCX, 0);
    /* Only MOVs until the CMOVNE: ZF kept. */
    jit_read_gpr(c, size, 0, X_RDX); /* the accumulator again, not yet written */
    x_mov_rr(j, true, X_RCX, X_RAX);
    if (size == 4) {
        unsigned h = jit_reg(c, 0);
        x_cmov(j, true, X_CC_NE, h, X_RCX);
        jit_reg_written(c, 0);
    } else {
        jit_write_gpr(c, size, 0);
    }
    x_mov_rr(j, true, X_RAX, X_RDX);
    jit_alu_core(c, 7, size, -1); /* a = the accumulator, b = the operand */
}

bool jit_native_atomic(struct jit_ctx *c, const struct emu_insn *in, bool *called, uint32_t *stop,
                       uint32_t *ended)
{
    enum form f = form_of(in);
    if (f == F_NONE || (f == F_SETCC_MEM && !jit_cond_native(c->lf_op, in->sub)))
        return false;
    struct jit_buf *j = &c->j;
    if (f == F_XCHG_RR) {
        xchg_rr(c, in);
        c->rip_delta += in->len;
        *called = false;
        return true;
    }
    unsigned size = f == F_SETCC_MEM ? 1 : in->opsz;
    uint32_t slow[JIT_PROBE_SLOW];
    jit_mem_lin(c, in); /* RAX = lin */
    unsigned ns = jit_tlb_probe(c, JIT_CPU(tlb_write), size, slow); /* RCX = the host address */
    switch (f) {
    case F_SETCC_MEM:
        c->host_flags = setcc_mem(c, in);
        break;
    case F_XCHG_MEM:
        jit_read_gpr(c, size, in->reg, X_RAX);
        x_xchg_mem(j, size, X_RAX, X_RCX, 0);
        jit_write_gpr(c, size, in->reg);
        break;
    case F_CMPXCHG:
        cmpxchg(c, in);
        break;
    default: /* F_NONE, F_XCHG_RR: returned above */
        break;
    }
    /* What the fast path left (CMPXCHG: LF_SUB at size), which the
     * handler leaves too when it does not fault: jit_mem_slow_call keeps it. */
    jit_mem_slow_call(c, in, slow, ns, stop, ended);
    return true;
}
#endif
