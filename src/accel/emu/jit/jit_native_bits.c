/*
 * Bit forms in 64-bit code as host code, each leaving exactly the state
 * its handler leaves: SHL, SHR, SAR of a 32- or 64-bit register by CL
 * (fast_shift_* in exec_fast_alu.c), BSF and BSR between 32- or 64-bit
 * registers (bit_scan in exec_alu.c) and BT of a 32- or 64-bit register
 * or memory operand by an immediate (bit_op). The shift by CL changes no
 * flag when its count is 0, so after it the compiler knows nothing of
 * the lazy state; BSF, BSR and BT materialise the flags (emu_rflags,
 * through the shared code's rflags) and change one of them, leaving
 * LF_NONE. BT on memory probes the read TLB inline and calls its handler
 * on anything else (jit_mem_slow_call).
 */
#if defined(__x86_64__)
#include "accel/emu/exec.h"
#include "accel/emu/jit/jit_int.h"

enum form {
    F_NONE,
    F_SHIFT_CL, /* SHL, SHR, SAR reg, CL: the specialised handler's */
    F_SCAN,     /* BSF, BSR reg, reg */
    F_BT_REG,   /* BT reg, imm8 */
    F_BT_MEM,   /* BT [mem], imm8 */
};

static enum form form_of(const struct emu_insn *in)
{
    bool mem = in->flags & INSN_MEM;
    if (in->opsz != 4 && in->opsz != 8)
        return F_NONE;
    if (!mem && in->opcode == 0xd3 && in->fn != ex_shift && emu_general_fn(in->fn) == ex_shift &&
        (in->sub == 4 || in->sub == 5 || in->sub == 7))
        return F_SHIFT_CL;
    if (!mem && (in->fn == ex_bsf || in->fn == ex_bsr))
        return F_SCAN;
    if (in->fn == ex_bt_imm && in->sub == 4 && !(in->flags & INSN_LOCK)) {
        if (!mem)
            return F_BT_REG;
        if (in->adsz == 4 || in->adsz == 8)
            return F_BT_MEM;
    }
    return F_NONE;
}

bool jit_bits_form(const struct emu_insn *in)
{
    return form_of(in) != F_NONE;
}

bool jit_bits_lf_effect(const struct emu_insn *in, int lf_before, struct jit_lf_effect *e)
{
    switch (form_of(in)) {
    case F_NONE:
        return false;
    case F_SHIFT_CL: /* a count of 0 leaves the state before: read */
        *e = (struct jit_lf_effect){true, true, true, -1};
        return true;
    default: /* materialise all (read), leave LF_NONE; BT's handler may fault first */
        *e = (struct jit_lf_effect){true, false, false, LF_NONE};
        return true;
    }
}

/* fast_shift by CL: the count masked to the width (the host masks it
 * alike); 0 writes the register alone (a 32-bit one zero-extended) and
 * keeps the flags. Otherwise the host's shift gives the result and CF;
 * OF as the handler has it (SHL: MSB(r) ^ CF, SHR: MSB(a), SAR: 0). */
static void shift_cl(struct jit_ctx *c, const struct emu_insn *in)
{
    struct jit_buf *j = &c->j;
    unsigned size = in->opsz, w = size * 8, op = in->sub;
    bool q = size == 8;
    if (c->skip_lf && c->skip_cf_in) { /* no flag of it is seen: the host's shift in place */
        jit_read_gpr(c, 4, 1, X_RCX);
        unsigned h = jit_reg(c, in->rm);
        x_shift_cl(j, q, op, h);
        if (!q) /* zero-extended whatever the count, not trusting the host's count of 0 */
            x_mov_rr(j, false, h, h);
        jit_reg_written(c, in->rm);
        c->lf_op = -1;
        return;
    }
    jit_read_gpr(c, size, in->rm, X_RAX);
    jit_read_gpr(c, 4, 1, X_RCX);
    x_alu_r_imm(j, false, X_AND, X_RCX, (int32_t)(w - 1));
    uint32_t zero = x_jcc(j, X_CC_E);
    bool of = !c->skip_lf; /* else its store (lf.b) is dead: not computed */
    if (op == 5 && of) { /* OF: the operand's sign, stored now (CL holds the count) */
        x_mov_rr(j, q, X_RDX, X_RAX);
        x_shift_imm(j, q, 5, X_RDX, (uint8_t)(w - 1));
        jit_cfof_of(c, X_RDX);
    }
    x_shift_cl(j, q, op, X_RAX); /* a 32-bit one zero-extends */
    if (!c->skip_cf_in || (op == 4 && of))
        x_setcc(j, X_CC_B, X_RDX);
    if (op == 4 && of) { /* OF = MSB(r) ^ CF */
        x_movzx8(j, X_RDX, X_RDX);
        x_mov_rr(j, q, X_RCX, X_RAX);
        x_shift_imm(j, q, 5, X_RCX, (uint8_t)(w - 1));
        x_alu_rr(j, false, X_XOR, X_RCX, X_RDX);
    }
    /* On this path alone, so its stores must not sink (jit_sink.c): they
     * do not, as reading the lazy state (jit_bits_lf_effect) keeps this
     * out of a sinking loop. */
    jit_cfof(c, size, op == 4 ? X_RCX : op == 7 ? JIT_OF_ZERO : JIT_OF_STORED);
    x_patch(j, zero, jb_pos(j));
    jit_write_gpr(c, 8, in->rm);
    c->lf_op = -1; /* a count of 0 jumped over jit_cfof's state */
}

/* emu_rflags: the lazy state's flags into cpu->rflags and lf.op =
 * LF_NONE (the shared code's rflags), unless the compiler knows it is
 * so; only RAX clobbered, the registers held kept. */
static void materialise(struct jit_ctx *c)
{
    struct jit_buf *j = &c->j;
    if (c->lf_op == LF_NONE)
        return;
    uint32_t none = 0;
    if (c->lf_op < 0) { /* unknown: it may be so already */
        x_op_mem(j, false, 0x80, X_CMP, X_RBX, LF(op)); /* CMP byte [op], LF_NONE */
        jb_u8(j, LF_NONE);
        none = x_jcc(j, X_CC_E);
    }
    x_call_abs(j, c->sh->rflags);
    if (none)
        x_patch(j, none, jb_pos(j));
    c->lf_op = LF_NONE;
}

/* bit_scan on registers: the flags materialised, ZF = (source == 0),
 * the destination written (whole: the index fits 32 bits) only when the
 * source is not 0 (the host's BSF/BSR into RDX, CMOVNZ). */
static void scan(struct jit_ctx *c, const struct emu_insn *in)
{
    struct jit_buf *j = &c->j;
    materialise(c);
    jit_read_gpr(c, in->opsz, in->rm, X_RCX); /* zero-extended: the same index at 64 bits */
    unsigned hd = jit_reg(c, in->reg);
    x_load(j, true, X_RAX, X_RBX, JIT_CPU(rflags));
    x_alu_r_imm(j, true, X_AND, X_RAX, (int32_t) ~(uint32_t)RFLAGS_ZF);
    x_op0f_rr(j, true, in->fn == ex_bsr ? 0xbd : 0xbc, X_RDX, X_RCX, false); /* ZF: RCX == 0 */
    x_op0f_rr(j, true, 0x45, hd, X_RDX, false);                               /* CMOVNZ */
    x_setcc(j, X_CC_E, X_RDX);
    x_movzx8(j, X_RDX, X_RDX);
    x_shl_imm(j, false, X_RDX, 6); /* ZF's bit */
    x_alu_rr(j, true, X_OR, X_RAX, X_RDX);
    x_store(j, true, X_RAX, X_RBX, JIT_CPU(rflags));
    jit_reg_written(c, in->reg);
}

/* bit_op's BT by an immediate, the operand in host register h: the
 * flags materialised, CF = the bit (imm masked to the width, as the
 * host's BT masks it), the rest kept. */
static void bt_into_rflags(struct jit_ctx *c, const struct emu_insn *in, unsigned h)
{
    struct jit_buf *j = &c->j;
    materialise(c);
    x_load(j, true, X_RAX, X_RBX, JIT_CPU(rflags));
    x_alu_r_imm(j, true, X_AND, X_RAX, (int32_t) ~(uint32_t)RFLAGS_CF);
    x_op0f_rr(j, in->opsz == 8, 0xba, 4, h, false); /* BT h, imm8 */
    jb_u8(j, (uint8_t)(in->imm & (in->opsz * 8u - 1)));
    x_alu_r_imm(j, true, X_ADC, X_RAX, 0); /* CF into bit 0 */
    x_store(j, true, X_RAX, X_RBX, JIT_CPU(rflags));
}

/* BT [mem], imm8: the operand through the read TLB (emu_read's), the
 * handler called on a miss; a fault there leaves the flags as they were,
 * as the handler's own. */
static void bt_mem(struct jit_ctx *c, const struct emu_insn *in, uint32_t *stop, uint32_t *ended)
{
    uint32_t slow[JIT_PROBE_SLOW];
    jit_mem_lin(c, in); /* RAX = lin */
    unsigned ns = jit_tlb_probe(c, JIT_CPU(tlb_read), in->opsz, slow);
    x_load(&c->j, in->opsz == 8, X_RDX, X_RCX, 0);
    bt_into_rflags(c, in, X_RDX);
    jit_mem_slow_call(c, in, slow, ns, stop, ended); /* the handler leaves LF_NONE too */
}

bool jit_native_bits(struct jit_ctx *c, const struct emu_insn *in, bool *called, uint32_t *stop,
                     uint32_t *ended)
{
    enum form f = form_of(in);
    if (f == F_NONE)
        return false;
    c->host_flags = false;
    if (f == F_BT_MEM) {
        bt_mem(c, in, stop, ended);
        return true;
    }
    if (f == F_SHIFT_CL)
        shift_cl(c, in);
    else if (f == F_SCAN)
        scan(c, in);
    else
        bt_into_rflags(c, in, jit_reg(c, in->rm));
    *called = false;
    c->rip_delta += in->len;
    return true;
}
#endif
