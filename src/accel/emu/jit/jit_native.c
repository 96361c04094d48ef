/*
 * Native forms: the integer core on registers as host instructions,
 * each doing exactly what the handler specialised at decode time does
 * (exec_fast_alu.c; exec_fast_mem.c's LEA, CMOVcc, MOVSXD; ex_setcc):
 * the same register result and the same lazy-flag state, written field
 * by field as lazy_set does, so native and called instructions mix with
 * nothing in between. Guest registers are read and written in the host
 * registers that hold them within the block (jit_regs.c; AH..BH in
 * cpu->gpr, made current first); RIP moves through the compiler's
 * pending delta. Only the specialised handlers' forms are taken (32- and
 * 64-bit register operands; the byte forms on AL..BH and the REX byte
 * registers; SETcc), and a few general executors' (ADC/SBB, BSWAP, MOV
 * r/m, imm, TEST on word registers, CBW/CWDE/CDQE, MUL on a register),
 * in 64-bit code. CMOVcc and SETcc are native only where the block's own
 * code decides their condition.
 */
#if defined(__x86_64__)
#include "accel/emu/exec.h"
#include "accel/emu/exec_fast.h"
#include "accel/emu/jit/jit_int.h"

_Static_assert(offsetof(struct emu_lazy_flags, size) == offsetof(struct emu_lazy_flags, op) + 1,
               "lf.op and lf.size are written as one word");

enum form {
    F_NONE,
    F_ALU_RR,   /* rm = rm OP reg */
    F_ALU_RRR,  /* reg = reg OP rm */
    F_ALU_RI,   /* rm = rm OP imm */
    F_TEST_RR,
    F_TEST_RI,
    F_INCDEC,   /* rm +/- 1 */
    F_MOV_RR,   /* rm = reg */
    F_MOV_RRR,  /* reg = rm */
    F_MOV_RI,   /* reg = imm */
    F_LEA,
    F_SHIFT,    /* SHL, SHR, SAR rm by 1 or an immediate */
    F_IMUL,     /* reg = reg * rm */
    F_IMUL_I,   /* reg = rm * imm */
    F_ROT,      /* ROL, ROR rm by 1 or an immediate */
    F_MOVX,     /* MOVZX, MOVSX reg, byte or word register */
    F_MOVSXD,
    F_CMOV,     /* native when the condition is known (jit_cond_known), else called */
    F_SETCC,    /* the same */
    F_NOT,
    F_NEG,
    /* General executors (no specialised handler) reproduced: */
    F_ADC,      /* ADC, SBB on registers (alu_rm, ex_alu_reg_rm) */
    F_BSWAP,    /* ex_bswap, 32 and 64 bits */
    F_MOV_RMI,  /* C7 /0 on a register (ex_mov_rm_imm) */
    F_CBW,      /* ex_cbw: CBW, CWDE, CDQE */
    F_MUL,      /* ex_mul on a register, 32 and 64 bits */
};

/* The forms on registers at every size (for bytes, pick_byte in
 * exec_fast_alu.c, AH..BH included): ALU, TEST and MOV. */
static enum form any_size_form(emu_exec_fn g, unsigned op)
{
    bool alu_op = op != 2 && op != 3; /* ADC and SBB stay general */
    if (g == ex_alu_rm_reg)
        return alu_op ? F_ALU_RR : F_NONE;
    if (g == ex_alu_reg_rm)
        return alu_op ? F_ALU_RRR : F_NONE;
    if (g == ex_alu_rm_imm)
        return alu_op ? F_ALU_RI : F_NONE;
    if (g == ex_test_rm_reg)
        return F_TEST_RR;
    if (g == ex_test_rm_imm)
        return F_TEST_RI;
    if (g == ex_mov_rm_reg)
        return F_MOV_RR;
    if (g == ex_mov_reg_rm)
        return F_MOV_RRR;
    if (g == ex_mov_reg_imm)
        return F_MOV_RI;
    return F_NONE;
}

/* Which native form in is, keyed on the general executor its specialised
 * handler stands for (in->fn must be that handler, not the general one:
 * it is the handler's exact behaviour that is reproduced). SETcc has no
 * specialised handler: ex_setcc on a register is reproduced. */
static enum form form_of(const struct emu_insn *in)
{
    emu_exec_fn g = emu_general_fn(in->fn);
    bool mem = in->flags & INSN_MEM;
    if (in->fn == ex_setcc)
        return mem ? F_NONE : F_SETCC;
    if (!mem && (in->opsz == 4 || in->opsz == 8) && in->fn == ex_bswap)
        return F_BSWAP;
    if (!mem && (in->opsz == 4 || in->opsz == 8) && in->fn == ex_mov_rm_imm)
        return F_MOV_RMI;
    if (in->fn == ex_cbw)
        return F_CBW;
    if (!mem && (in->opsz == 4 || in->opsz == 8) && in->fn == ex_mul)
        return F_MUL;
    if (!mem && in->opsz != 2 && (in->sub == 2 || in->sub == 3) &&
        (in->fn == ex_alu_rm_reg || in->fn == ex_alu_reg_rm || in->fn == ex_alu_rm_imm ||
         in->fn == ex_alu_acc_imm))
        return F_ADC;
    /* TEST on word registers has no specialised handler: test()'s
     * lazy_set(LF_LOGIC, 2, a, b, a & b), the immediate as decoded. */
    if (!mem && in->opsz == 2 && (in->fn == ex_test_rm_reg || in->fn == ex_test_rm_imm))
        return in->fn == ex_test_rm_reg ? F_TEST_RR : F_TEST_RI;
    if (g == in->fn)
        return F_NONE;
    unsigned op = in->sub & 7;
    if (in->opsz == 1)
        return mem ? F_NONE : any_size_form(g, op);
    if (in->opsz != 4 && in->opsz != 8)
        return F_NONE;
    if (g == ex_lea)
        return mem && (in->adsz == 4 || in->adsz == 8) ? F_LEA : F_NONE;
    if (mem)
        return F_NONE;
    enum form f = any_size_form(g, op);
    if (f != F_NONE)
        return f;
    if (g == ex_inc_dec_rm && in->sub < 2)
        return F_INCDEC;
    if (g == ex_shift && (in->opcode & 0xfe) != 0xd2) { /* the CL count stays called */
        if (in->sub == 4 || in->sub == 5 || in->sub == 7)
            return F_SHIFT;
        if (in->sub < 2)
            return F_ROT;
    }
    if (g == ex_imul_reg_rm)
        return F_IMUL;
    if (g == ex_imul_reg_rm_imm && x_fits_s32((int64_t)in->imm))
        return F_IMUL_I;
    if ((g == ex_movzx || g == ex_movsx) && (in->imm == 1 || in->imm == 2))
        return F_MOVX;
    if (g == ex_movsxd && in->opsz == 8)
        return F_MOVSXD;
    if (g == ex_cmovcc)
        return F_CMOV;
    if (g == ex_not)
        return F_NOT;
    if (g == ex_neg)
        return F_NEG;
    return F_NONE;
}

/* The count of a shift or rotate by 1 or an immediate, masked as the
 * handlers mask it. */
static unsigned const_count(const struct emu_insn *in)
{
    unsigned w = in->opsz * 8u;
    return ((in->opcode & 0xfe) == 0xd0 ? 1u : (unsigned)in->imm) & (w - 1);
}

/* A rotate whose handler sets CF and OF (materialising the flags), not
 * the quiet one emu_block_flags_live picked. */
static bool rot_sets_flags(const struct emu_insn *in)
{
    return emu_fast_without_cfof(in->fn) != NULL;
}

/* Whether emu_cond decides condition cc from lazy state lf_op without
 * materialising it (so the state stays exactly as the handler leaves
 * it), and jit_cond_flags can put it in host RFLAGS: E/NE and S/NS after
 * anything it knows, the rest but O and P after SUB, all but P after a
 * logic operation, every one from materialised flags (LF_NONE: after a
 * rotate setting CF/OF or a string compare). */
bool jit_cond_known(int lf_op, unsigned cc)
{
    unsigned cls = (cc & 15) >> 1;
    switch (lf_op) {
    case LF_NONE:
        return true;
    case LF_SUB:
    case LF_ADD:
    case LF_LOGIC: /* the same operation again at its size: every flag */
        return true;
    case LF_INC:
    case LF_DEC: /* the same but CF, which is not INC/DEC's: B, BE and their negations */
        return cls != 1 && cls != 3;
    default:
        return false;
    }
}

/* Whether a Jcc, SETcc or CMOVcc on cc is made native after lf_op: all
 * but the parity ones (jit_cond_flags_for: the shared code's host_flags
 * does not make PF) when jit_cond_known does not decide them. */
bool jit_cond_native(int lf_op, unsigned cc)
{
    return jit_cond_known(lf_op, cc) || ((cc & 15) >> 1) != 5;
}

bool jit_native_form(const struct emu_insn *in)
{
    return form_of(in) != F_NONE;
}

bool jit_flags_neutral(const struct emu_insn *in)
{
    if (in->fn == ex_nop) /* jit_build: RIP only */
        return true;
    switch (form_of(in)) {
    case F_MOV_RR:
    case F_MOV_RRR:
    case F_MOV_RI:
    case F_MOV_RMI:
    case F_MOVX:
    case F_MOVSXD:
    case F_BSWAP:
    case F_NOT:
    case F_CBW:
        return true;
    case F_LEA: /* direct's one host LEA; lea()'s address arithmetic may ADD */
        return in->adsz == 8 && in->base != EA_RIP;
    default:
        return false;
    }
}

bool jit_takes_host_flags(const struct emu_insn *in)
{
    enum form f = form_of(in);
    return f == F_CMOV || f == F_SETCC;
}

int jit_alu_lf(unsigned op)
{
    static const uint8_t alu_lf[8] = {LF_ADD, LF_LOGIC, 0, 0, LF_LOGIC, LF_SUB, LF_LOGIC, LF_SUB};
    return alu_lf[op & 7];
}

bool jit_incdec_keeps_cf(int lf_before)
{
    return lf_before == LF_INC || lf_before == LF_DEC || lf_before == LF_CFOF;
}

struct jit_lf_effect jit_lf_effect(const struct emu_insn *in, int lf_before)
{
    struct jit_lf_effect e = {false, false, false, lf_before};
    switch (form_of(in)) {
    case F_NONE:
        if (in->fn == ex_nop) /* jit_build: RIP only */
            break;
        if (jit_alu_mem_lf_effect(in, lf_before, &e))
            break;
        if (jit_bits_lf_effect(in, lf_before, &e))
            break;
        if (jit_atomic_lf_effect(in, lf_before, &e))
            break;
        /* May call its handler: the flags kept, the state before read. */
        if (jit_mem_form(in) || jit_stack_form(in)) {
            e.reads = true;
            break;
        }
        if (jit_sse_form(in)) {
            e.reads = true;
            e.lf_after = jit_sse_lf_after(in, lf_before);
            break;
        }
        e.reads = true; /* not native: called, reads anything */
        e.lf_after = -1;
        break;
    case F_ALU_RR:
    case F_ALU_RRR:
    case F_ALU_RI:
        e.writes = true;
        e.lf_after = jit_alu_lf(in->sub);
        break;
    case F_TEST_RR:
    case F_TEST_RI:
        e.writes = true;
        e.lf_after = LF_LOGIC;
        break;
    case F_INCDEC: {
        bool keep = jit_incdec_keeps_cf(lf_before);
        e.reads = !keep; /* CF of the state before, from memory */
        e.writes = true;
        e.writes_cf = !keep;
        e.lf_after = (in->sub & 1) ? LF_DEC : LF_INC;
        break;
    }
    case F_SHIFT:
        if (const_count(in)) {
            e.writes = e.writes_cf = true;
            e.lf_after = LF_CFOF;
        }
        break;
    case F_ROT: /* materialises the flags (reads all, leaves LF_NONE), or leaves them */
        if (rot_sets_flags(in) && const_count(in)) {
            e.reads = true;
            e.lf_after = LF_NONE;
        }
        break;
    case F_CMOV:
    case F_SETCC: /* native: reads the state and leaves it; else called */
        e.reads = true;
        if (!jit_cond_native(lf_before, in->sub))
            e.lf_after = -1;
        break;
    case F_IMUL:
    case F_IMUL_I:
    case F_MUL:
        e.writes = e.writes_cf = true;
        e.lf_after = LF_CFOF;
        break;
    case F_NEG:
        e.writes = true;
        e.lf_after = LF_NEG;
        break;
    case F_ADC: /* CF of the state before, then all of it */
        e.reads = e.writes = e.writes_cf = true;
        e.lf_after = (in->sub & 7) == 2 ? LF_ADC : LF_SBB;
        break;
    case F_NOT:
    case F_BSWAP:
    case F_MOV_RMI:
    case F_MOV_RR:
    case F_MOV_RRR:
    case F_MOV_RI:
    case F_LEA:
    case F_MOVX:
    case F_MOVSXD:
    case F_CBW:
        break;
    }
    return e;
}

/* lf.op and lf.size in one store; the compiler remembers them. The
 * stores of the lazy state are left out where jit_build found them dead
 * (c->skip_lf, c->skip_cf_in): overwritten by a later native instruction
 * of the block before anything reads them. */
static void set_lf_op(struct jit_ctx *c, int op, unsigned size)
{
    uint32_t v = (uint32_t)op | size << 8;
    if (!c->skip_lf && !jit_sink_imm(c, LF(op), v))
        x_store_imm(&c->j, 2, X_RBX, LF(op), v);
    c->lf_op = op;
    c->lf_size = size;
}

/* lf.field = reg (a, b, res), unless dead; in a pure loop perhaps sunk
 * to its ways out (jit_sink.c), as are the others here. */
static void lf_store(struct jit_ctx *c, unsigned reg, int32_t off)
{
    if (!c->skip_lf && !jit_sink_reg(c, off, reg))
        x_store(&c->j, true, reg, X_RBX, off);
}

static void lf_store_imm(struct jit_ctx *c, int32_t off, uint32_t v)
{
    if (!c->skip_lf && !jit_sink_imm(c, off, v))
        x_store_imm(&c->j, 8, X_RBX, off, v);
}

/* lf.cf_in = DL, unless dead. */
static void lf_store_cf(struct jit_ctx *c)
{
    if (!c->skip_cf_in && !jit_sink_reg(c, LF(cf_in), X_RDX))
        x_op_mem(&c->j, false, 0x88, X_RDX, X_RBX, LF(cf_in)); /* MOV byte [cf_in], DL */
}

/* Host instructions on the lazy state at the size it was set with
 * (c->lf_size: 1, 2, 4 or 8), on RAX, RCX or RDX: reg = lf.field, and
 * reg OP lf.field (the flags those leave are the operation's at that
 * size; the upper part of reg is then garbage). */
static void lf_prefix(struct jit_ctx *c)
{
    if (c->lf_size == 2)
        jb_u8(&c->j, 0x66);
}

static void lf_load(struct jit_ctx *c, unsigned reg, int32_t off)
{
    lf_prefix(c);
    x_op_mem(&c->j, c->lf_size == 8, c->lf_size == 1 ? 0x8a : 0x8b, reg, X_RBX, off);
}

static void lf_alu(struct jit_ctx *c, unsigned op, unsigned reg, int32_t off)
{
    lf_prefix(c);
    x_op_mem(&c->j, c->lf_size == 8, (uint8_t)(op * 8 + (c->lf_size == 1 ? 2 : 3)), reg, X_RBX,
             off);
}

/* reg OP= imm8 (sign-extended) and TEST reg, reg at the lazy size. */
static void lf_alu_imm8(struct jit_ctx *c, unsigned op, unsigned reg, int8_t imm)
{
    lf_prefix(c);
    x_op_rr(&c->j, c->lf_size == 8, c->lf_size == 1 ? 0x80 : 0x83, op, reg);
    jb_u8(&c->j, (uint8_t)imm);
}

static void lf_test(struct jit_ctx *c, unsigned reg)
{
    lf_prefix(c);
    x_op_rr(&c->j, c->lf_size == 8, c->lf_size == 1 ? 0x84 : 0x85, reg, reg);
}

/* fast_alu with a in RAX and b in RCX: lazy_set(lf, size, a, b, a OP b)
 * with the untruncated 64-bit result, then the register unless CMP. */
void jit_alu_core(struct jit_ctx *c, unsigned op, unsigned size, int dst)
{
    struct jit_buf *j = &c->j;
    lf_store(c, X_RAX, LF(a));
    lf_store(c, X_RCX, LF(b));
    x_alu_rr(j, true, op == 7 ? X_SUB : op, X_RAX, X_RCX); /* the /digit is the host's; CMP subtracts */
    c->host_flags = size == 8; /* the rest only moves */
    lf_store(c, X_RAX, LF(res));
    if (size < 8 && c->want_flags) {
        /* For the Jcc: the operation again at its size, from a taken back
         * (ADD, SUB, CMP), or the zero-extended logic result tested
         * (opcode - 1: the byte form; 66: the word one). */
        bool arith = op == X_ADD || op == X_SUB || op == 7;
        if (arith)
            x_alu_rr(j, true, op == X_ADD ? X_SUB : X_ADD, X_RAX, X_RCX);
        if (size == 2)
            jb_u8(j, 0x66);
        x_op_rr(j, false, (uint8_t)((arith ? op * 8 + 1 : 0x85) - (size == 1)),
                arith ? X_RCX : X_RAX, X_RAX);
        c->host_flags = true;
    }
    set_lf_op(c, jit_alu_lf(op), size);
    if (dst >= 0)
        jit_write_gpr(c, size, (unsigned)dst);
}

/* DL = CF of the lazy state as it is now (fast_cf): inline when the
 * block's own native code set it, else the shared code's cf_dl (RAX,
 * RCX clobbered). */
void jit_cf_to_dl(struct jit_ctx *c)
{
    struct jit_buf *j = &c->j;
    switch (c->lf_op) {
    case LF_ADD: /* (res & m) < (a & m) */
        lf_load(c, X_RAX, LF(res));
        lf_alu(c, X_CMP, X_RAX, LF(a));
        x_setcc(j, X_CC_B, X_RDX);
        break;
    case LF_SUB: /* (a & m) < (b & m) */
        lf_load(c, X_RAX, LF(a));
        lf_alu(c, X_CMP, X_RAX, LF(b));
        x_setcc(j, X_CC_B, X_RDX);
        break;
    case LF_LOGIC:
        x_alu_rr(j, false, X_XOR, X_RDX, X_RDX);
        break;
    case LF_ADC: /* cf_in ? (res & m) <= (a & m) : (res & m) < (a & m) */
    case LF_SBB: /* cf_in ? (a & m) <= (b & m) : (a & m) < (b & m) */
        lf_load(c, X_RAX, c->lf_op == LF_ADC ? LF(res) : LF(a));
        lf_alu(c, X_CMP, X_RAX, c->lf_op == LF_ADC ? LF(a) : LF(b));
        x_setcc(j, X_CC_B, X_RDX);
        x_setcc(j, X_CC_B + 4, X_RCX); /* BE */
        x_movzx8(j, X_RDX, X_RDX);
        x_movzx8(j, X_RCX, X_RCX);
        x_op_mem(j, false, 0xf6, 0, X_RBX, LF(cf_in)); /* TEST byte [cf_in], 1 */
        jb_u8(j, 1);
        x_rex(j, false, X_RDX, X_RCX);
        jb_u8(j, 0x0f);
        jb_u8(j, 0x45); /* CMOVNZ EDX, ECX */
        jb_u8(j, 0xd1);
        break;
    default: /* the shared code's, which keeps the registers held */
        x_call_abs(j, c->sh->cf_dl);
        break;
    }
}

static void incdec(struct jit_ctx *c, const struct emu_insn *in)
{
    unsigned size = in->opsz;
    bool dec = in->sub & 1;
    /* After INC, DEC, a shift or IMUL, CF is cf_in: it stays as it is. */
    bool keep_cf = jit_incdec_keeps_cf(c->lf_op);
    if (!keep_cf)
        jit_cf_to_dl(c);
    jit_read_gpr(c, size, in->rm, X_RAX);
    jit_incdec_core(c, dec, size, keep_cf);
    jit_write_gpr(c, 8, in->rm); /* truncated by the core */
}

void jit_incdec_core(struct jit_ctx *c, bool dec, unsigned size, bool keep_cf)
{
    struct jit_buf *j = &c->j;
    lf_store(c, X_RAX, LF(a));
    lf_store_imm(c, LF(b), 1);
    /* At its size (INC/DEC keep the truncated result): ZF, SF, OF, PF are
     * INC/DEC's, and only moves follow */
    x_alu_r_imm(j, size == 8, dec ? X_SUB : X_ADD, X_RAX, 1);
    c->host_flags = true;
    lf_store(c, X_RAX, LF(res));
    set_lf_op(c, dec ? LF_DEC : LF_INC, size);
    if (!keep_cf)
        lf_store_cf(c);
}

void jit_ea_to_rax(struct jit_ctx *c, const struct emu_insn *in)
{
    struct jit_buf *j = &c->j;
    int64_t k = in->disp;
    int64_t from_start = (int64_t)c->insn_off + in->len + k;
    if (in->base == EA_RIP && c->chain) {
        /* RBP is the block's linear start, its RIP (jit_rip_from_rbp):
         * no wait for cpu->rip's last store, which may be stale */
        if (x_fits_s32(from_start)) {
            x_lea(j, true, X_RAX, X_RBP, -1, 0, (int32_t)from_start);
        } else {
            x_lea(j, true, X_RAX, X_RBP, -1, 0, (int32_t)k);
            x_lea(j, true, X_RAX, X_RAX, -1, 0, (int32_t)(c->insn_off + in->len));
        }
    } else if (in->base == EA_RIP) { /* RIP is the instruction's own until next() */
        k += c->rip_delta + in->len;
        x_load(j, true, X_RAX, X_RBX, JIT_CPU(rip));
        if (x_fits_s32(k)) {
            x_alu_r_imm(j, true, X_ADD, X_RAX, (int32_t)k);
        } else {
            x_mov_imm(j, X_RCX, (uint64_t)k);
            x_alu_rr(j, true, X_ADD, X_RAX, X_RCX);
        }
    } else if (x_fits_s32(k)) { /* one LEA on the registers held */
        int base = in->base == EA_NONE ? -1 : (int)jit_reg(c, in->base);
        int index = in->index == EA_NONE ? -1 : (int)jit_reg(c, in->index);
        x_lea(j, true, X_RAX, base, index, in->scale, (int32_t)k);
    } else {
        x_mov_imm(j, X_RAX, (uint64_t)k);
        if (in->base != EA_NONE)
            x_alu_rr(j, true, X_ADD, X_RAX, jit_reg(c, in->base));
        if (in->index != EA_NONE) {
            x_mov_rr(j, true, X_RCX, jit_reg(c, in->index));
            if (in->scale)
                x_shl_imm(j, true, X_RCX, in->scale);
            x_alu_rr(j, true, X_ADD, X_RAX, X_RCX);
        }
    }
    if (in->adsz == 4)
        x_mov_rr(j, false, X_RAX, X_RAX);
}

static void lea(struct jit_ctx *c, const struct emu_insn *in)
{
    jit_ea_to_rax(c, in);
    jit_write_gpr(c, in->opsz, in->reg);
}

/* LF_CFOF's stores, through lf_store & co like every other (jit_int.h). */
void jit_cfof_of(struct jit_ctx *c, int of)
{
    if (of == JIT_OF_ZERO)
        lf_store_imm(c, LF(b), 0);
    else
        lf_store(c, (unsigned)of, LF(b));
}

void jit_cfof(struct jit_ctx *c, unsigned size, int of)
{
    lf_store_imm(c, LF(a), 0);
    if (of != JIT_OF_STORED)
        jit_cfof_of(c, of);
    lf_store(c, X_RAX, LF(res));
    lf_store_cf(c);
    set_lf_op(c, LF_CFOF, size);
}

/* fast_shift with a count known now: the host's shift gives the result
 * and CF; OF as the handler has it (SHL: MSB(r) ^ CF, SHR: MSB(a),
 * SAR: 0). A count of 0 only rewrites the register. */
static void shift(struct jit_ctx *c, const struct emu_insn *in)
{
    struct jit_buf *j = &c->j;
    unsigned size = in->opsz, w = size * 8, op = in->sub;
    bool q = size == 8;
    unsigned count = ((in->opcode & 0xfe) == 0xd0 ? 1u : (unsigned)in->imm) & (w - 1);
    jit_read_gpr(c, size, in->rm, X_RAX);
    if (count == 0) {
        jit_write_gpr(c, 8, in->rm);
        return;
    }
    bool of = !c->skip_lf; /* else its store (lf.b) is dead: not computed */
    if (op == 5 && of) { /* OF: the operand's sign */
        x_mov_rr(j, q, X_RCX, X_RAX);
        x_shift_imm(j, q, 5, X_RCX, (uint8_t)(w - 1));
    }
    x_shift_imm(j, q, op, X_RAX, (uint8_t)count); /* 32-bit forms zero-extend */
    if (!c->skip_cf_in || (op == 4 && of))
        x_setcc(j, X_CC_B, X_RDX);
    if (op == 4 && of) { /* OF = MSB(r) ^ CF */
        x_mov_rr(j, q, X_RCX, X_RAX);
        x_shift_imm(j, q, 5, X_RCX, (uint8_t)(w - 1));
        x_op_rr(j, false, 0x30, X_RDX, X_RCX); /* XOR CL, DL */
    } else if (op == 7 && of) {
        x_alu_rr(j, false, X_XOR, X_RCX, X_RCX);
    }
    jit_cfof(c, size, X_RCX);
    jit_write_gpr(c, 8, in->rm);
}

/* fast_imul: the host's IMUL at the operand size gives the low half and
 * CF = OF = it does not fit. */
static void imul(struct jit_ctx *c, const struct emu_insn *in, bool with_imm)
{
    struct jit_buf *j = &c->j;
    bool q = in->opsz == 8;
    jit_read_gpr(c, 8, with_imm ? in->rm : in->reg, X_RAX);
    if (with_imm) {
        x_imul_rri(j, q, X_RAX, X_RAX, (int32_t)in->imm);
    } else {
        x_imul_rr(j, q, X_RAX, jit_reg(c, in->rm));
    }
    x_setcc(j, X_CC_O, X_RDX);
    x_movzx8(j, X_RCX, X_RDX);
    jit_cfof(c, in->opsz, X_RCX);
    jit_write_gpr(c, in->opsz, in->reg);
}

/* ex_mul on a register: the host's MUL gives RDX:RAX and CF = OF = the
 * high half is not 0; mul_flags' lazy state (LF_CFOF, a = 0, b = OF,
 * res = the low half, cf_in = CF), then store_wide's RAX and RDX (a
 * 32-bit MUL zero-extends both halves, as reg_write at 4 does). */
static void mul(struct jit_ctx *c, const struct emu_insn *in)
{
    struct jit_buf *j = &c->j;
    bool q = in->opsz == 8;
    unsigned src = jit_reg(c, in->rm); /* before RAX is read: a load here keeps RAX */
    jit_read_gpr(c, in->opsz, 0, X_RAX);
    x_op_rr(j, q, 0xf7, 4, src);
    x_mov_rr(j, true, X_RCX, X_RDX);
    x_setcc(j, X_CC_B, X_RDX);
    x_mov_rr(j, true, jit_reg_def(c, 2), X_RCX);
    x_movzx8(j, X_RCX, X_RDX);
    jit_cfof(c, in->opsz, X_RCX);
    jit_write_gpr(c, 8, 0);
}

/* ex_cbw: RAX's low half sign-extended in place, as the host's CDQE
 * (MOVSXD RAX, EAX), CWDE (MOVSX EAX, AX: zero-extends) and CBW (66
 * MOVSX AX, AL: the rest kept) do on the register holding it. */
static void cbw(struct jit_ctx *c, const struct emu_insn *in)
{
    struct jit_buf *j = &c->j;
    unsigned h = jit_reg(c, 0);
    if (in->opsz == 8) {
        x_op_rr(j, true, 0x63, h, h);
    } else {
        if (in->opsz == 2)
            jb_u8(j, 0x66);
        x_op0f_rr(j, false, in->opsz == 2 ? 0xbe : 0xbf, h, h, in->opsz == 2);
    }
    jit_reg_written(c, 0);
}

/* Host RFLAGS made to hold the guest's flags for a condition that
 * jit_cond_known(c->lf_op) decides: the same operation again at the same
 * size, on the operands the lazy state holds (RAX clobbered). */
void jit_cond_flags(struct jit_ctx *c)
{
    switch (c->lf_op) {
    case LF_SUB: /* the same compare again */
        lf_load(c, X_RAX, LF(a));
        lf_alu(c, X_CMP, X_RAX, LF(b));
        break;
    case LF_ADD:
        lf_load(c, X_RAX, LF(a));
        lf_alu(c, X_ADD, X_RAX, LF(b));
        break;
    case LF_LOGIC: /* CF = OF = 0, the rest from the result */
        lf_load(c, X_RAX, LF(res));
        lf_test(c, X_RAX);
        break;
    case LF_NONE: /* cpu->rflags' arithmetic flags */
        x_load(&c->j, false, X_RAX, X_RBX, JIT_CPU(rflags));
        jit_popf_arith(&c->j);
        break;
    default: /* INC, DEC: ZF and SF right (CF is not INC/DEC's) */
        lf_load(c, X_RAX, LF(a));
        lf_alu_imm8(c, c->lf_op == LF_DEC ? X_SUB : X_ADD, X_RAX, 1);
        break;
    }
}

void jit_popf_arith(struct jit_buf *j)
{
    x_alu_r_imm(j, false, X_AND, X_RAX, (int32_t)RFLAGS_ARITH);
    x_push(j, X_RAX);
    x_popf(j);
}

/* Host RFLAGS made to hold what condition cc reads (jit_cond_native): as
 * jit_cond_flags does when jit_cond_known decides it, else through the shared
 * code's host_flags (RAX, RCX, RDX clobbered). */
static void cond_flags_for(struct jit_ctx *c, unsigned cc)
{
    if (jit_cond_known(c->lf_op, cc))
        jit_cond_flags(c);
    else
        x_call_abs(&c->j, c->sh->host_flags);
}

bool jit_jcc_flags(struct jit_ctx *c, const struct emu_insn *in, bool host_flags)
{
    if (emu_general_fn(in->fn) != ex_jcc || in->fn == ex_jcc || in->opsz != 8 ||
        !jit_cond_native(c->lf_op, in->sub))
        return false;
    /* else the operation right before left them there */
    if (!host_flags || !jit_cond_known(c->lf_op, in->sub))
        cond_flags_for(c, in->sub);
    return true;
}

/* alu() in exec_alu.c for ADC and SBB on registers: CF of the state
 * before, then lazy_set(LF_ADC or LF_SBB, size, a, b, a +/- b +/- CF)
 * with cf_in = CF, the destination written at size (a: the r/m register,
 * or reg for ex_alu_reg_rm; b: the other, or the immediate at size). */
static void adc(struct jit_ctx *c, const struct emu_insn *in)
{
    struct jit_buf *j = &c->j;
    unsigned size = in->opsz;
    bool sbb = (in->sub & 7) == 3, to_reg = in->fn == ex_alu_reg_rm;
    unsigned dst = to_reg ? in->reg : in->rm;
    jit_cf_to_dl(c);
    jit_read_gpr(c, size, dst, X_RAX);
    if (in->fn == ex_alu_rm_imm || in->fn == ex_alu_acc_imm)
        x_mov_imm(j, X_RCX, in->imm & size_mask(size));
    else
        jit_read_gpr(c, size, to_reg ? in->rm : in->reg, X_RCX);
    lf_store(c, X_RAX, LF(a));
    lf_store(c, X_RCX, LF(b));
    x_movzx8(j, X_RDX, X_RDX);
    x_alu_rr(j, true, sbb ? X_SUB : X_ADD, X_RAX, X_RCX);
    x_alu_rr(j, true, sbb ? X_SUB : X_ADD, X_RAX, X_RDX);
    lf_store(c, X_RAX, LF(res));
    set_lf_op(c, sbb ? LF_SBB : LF_ADC, size);
    lf_store_cf(c);
    jit_write_gpr(c, size, dst);
}

/* fast_rot with a count known now: the host's rotate. The quiet form
 * leaves the flags; the other (count not 0) materialises them with
 * emu_rflags, as the handler does, and sets CF and OF from the result
 * as it has them (ROL: CF = LSB, OF = MSB ^ CF; ROR: CF = MSB, OF = the
 * top two bits differ), so the state after is LF_NONE and rflags. */
static void rot(struct jit_ctx *c, const struct emu_insn *in)
{
    struct jit_buf *j = &c->j;
    unsigned size = in->opsz, w = size * 8, count = const_count(in);
    jit_read_gpr(c, size, in->rm, X_RAX);
    if (count)
        x_shift_imm(j, size == 8, in->sub, X_RAX, (uint8_t)count); /* C1 /0 ROL, /1 ROR */
    jit_write_gpr(c, 8, in->rm);
    if (!count || !rot_sets_flags(in))
        return;
    jit_regs_flush(c); /* a call */
    jit_cpu_to_rdi(j);
    x_call_abs(j, (const void *)emu_rflags);
    jit_regs_forget(c);
    x_alu_r_imm(j, true, X_AND, X_RAX, (int32_t) ~(uint32_t)(RFLAGS_CF | RFLAGS_OF));
    jit_read_gpr(c, size, in->rm, X_RCX); /* the result, zero-extended */
    x_mov_rr(j, true, X_RDX, X_RCX);
    if (in->sub == 0) { /* RDX = CF = LSB, RCX = MSB ^ CF */
        x_alu_r_imm(j, true, X_AND, X_RDX, 1);
        x_shift_imm(j, true, 5, X_RCX, (uint8_t)(w - 1));
    } else { /* RDX = CF = MSB, RCX = bit w-2 ^ CF */
        x_shift_imm(j, true, 5, X_RDX, (uint8_t)(w - 1));
        x_shift_imm(j, true, 5, X_RCX, (uint8_t)(w - 2));
        x_alu_r_imm(j, true, X_AND, X_RCX, 1);
    }
    x_alu_rr(j, true, X_XOR, X_RCX, X_RDX);
    x_shl_imm(j, true, X_RCX, 11); /* OF */
    x_alu_rr(j, true, X_OR, X_RAX, X_RDX);
    x_alu_rr(j, true, X_OR, X_RAX, X_RCX);
    x_store(j, true, X_RAX, X_RBX, JIT_CPU(rflags));
    c->lf_op = LF_NONE;
}

/* fast_movx_reg, fast_movsxd: the host's MOVZX, MOVSX, MOVSXD from the
 * register (AH..BH from cpu->gpr, made current), the whole register
 * written. */
static void movx(struct jit_ctx *c, const struct emu_insn *in)
{
    struct jit_buf *j = &c->j;
    if (emu_general_fn(in->fn) == ex_movsxd) {
        x_op_rr(j, true, 0x63, X_RAX, jit_reg(c, in->rm));
    } else {
        bool sx = emu_general_fn(in->fn) == ex_movsx, word = in->imm == 2;
        bool w = sx && in->opsz == 8;
        /* 0F B6/B7 MOVZX, 0F BE/BF MOVSX; a 32-bit one zero-extends */
        uint8_t opc = (uint8_t)((sx ? 0xbe : 0xb6) + word);
        if (!word && in->rm >= REG_HIGH8) {
            jit_reg_sync(c, in->rm - REG_HIGH8);
            x_op0f_mem(j, w, opc, X_RAX, X_RBX, JIT_GPR8(in->rm));
        } else {
            x_op0f_rr(j, w, opc, X_RAX, jit_reg(c, in->rm), !word);
        }
    }
    jit_write_gpr(c, 8, in->reg);
}

/* fast_cmov, ex_setcc on registers, their condition decided as emu_cond
 * decides it (jit_cond_known): the host's CMOVcc on the values (a 32-bit one
 * zero-extends its destination either way, as the handler does), the
 * host's SETcc into the byte register. */
/* Host RFLAGS made to hold what cc reads unless they do already: flags
 * the setter right before left there (c->flags_in_host) decide cc when
 * jit_cond_known does. Then they still hold all of lf_op's (c->host_flags)
 * when jit_cond_known decides cc: jit_cond_flags redid the operation. */
static void cond_flags_kept(struct jit_ctx *c, unsigned cc)
{
    bool known = jit_cond_known(c->lf_op, cc);
    if (!c->flags_in_host || !known)
        cond_flags_for(c, cc);
    c->host_flags = known;
}

static void cmov(struct jit_ctx *c, const struct emu_insn *in)
{
    struct jit_buf *j = &c->j;
    bool q = in->opsz == 8;
    cond_flags_kept(c, in->sub); /* RAX-RDX: first; MOVs keep the flags */
    jit_read_gpr(c, in->opsz, in->reg, X_RCX);
    jit_read_gpr(c, in->opsz, in->rm, X_RDX);
    x_mov_rr(j, true, X_RAX, X_RCX);
    x_rex(j, q, X_RAX, X_RDX);
    jb_u8(j, 0x0f);
    jb_u8(j, (uint8_t)(0x40 + (in->sub & 15)));
    jb_u8(j, 0xc2); /* CMOVcc RAX, RDX */
    jit_write_gpr(c, 8, in->reg);
}

static void setcc(struct jit_ctx *c, const struct emu_insn *in)
{
    cond_flags_kept(c, in->sub);
    x_setcc(&c->j, in->sub & 15, X_RAX);
    jit_write_gpr(c, 1, in->rm);
}

/* 32- and 64-bit forms as one host instruction on the host registers
 * holding their operands, where that leaves cpu->lf as the handler
 * would: the MOVs, LEA and quiet rotates always, the flag-setting ones
 * when their lazy-state stores are dead (c->skip_lf, and c->skip_cf_in
 * for those that set cf_in). False: nothing emitted. */
/* After a direct IMUL: cf_in unless dead (the host's CF, which is OF),
 * and the state the compiler knows. */
static void imul_cf(struct jit_ctx *c, unsigned size)
{
    if (!c->skip_cf_in) {
        x_setcc(&c->j, X_CC_B, X_RDX);
        lf_store_cf(c);
    }
    set_lf_op(c, LF_CFOF, size);
}

static bool direct(struct jit_ctx *c, const struct emu_insn *in, enum form f)
{
    struct jit_buf *j = &c->j;
    unsigned size = in->opsz, op = in->sub & 7;
    bool q = size == 8, dead = c->skip_lf;
    if (size != 4 && size != 8 && !(size == 2 && (f == F_TEST_RR || f == F_TEST_RI)))
        return false; /* a dead TEST emits nothing: a word one too */
    switch (f) {
    case F_ALU_RR:
    case F_ALU_RRR: {
        if (!dead)
            return false;
        unsigned dst = f == F_ALU_RR ? in->rm : in->reg, src = f == F_ALU_RR ? in->reg : in->rm;
        if (op != 7) { /* CMP: nothing but the state the compiler knows */
            unsigned hs = jit_reg(c, src);
            x_alu_rr(j, q, op, jit_reg(c, dst), hs);
            jit_reg_written(c, dst);
        }
        set_lf_op(c, jit_alu_lf(op), size);
        return true;
    }
    case F_ALU_RI:
        if (!dead || (q && !x_fits_s32((int64_t)in->imm)))
            return false;
        if (op != 7) {
            x_alu_r_imm(j, q, op, jit_reg(c, in->rm), (int32_t)in->imm);
            jit_reg_written(c, in->rm);
        }
        set_lf_op(c, jit_alu_lf(op), size);
        return true;
    case F_TEST_RR:
    case F_TEST_RI:
        if (!dead)
            return false;
        set_lf_op(c, LF_LOGIC, size);
        return true;
    case F_INCDEC:
        if (!dead || !(jit_incdec_keeps_cf(c->lf_op) || c->skip_cf_in))
            return false;
        x_alu_r_imm(j, q, (in->sub & 1) ? X_SUB : X_ADD, jit_reg(c, in->rm), 1);
        jit_reg_written(c, in->rm);
        set_lf_op(c, (in->sub & 1) ? LF_DEC : LF_INC, size);
        c->host_flags = true;
        return true;
    case F_SHIFT:
    case F_ROT: /* a shift's CF, when live, as the host's shift leaves it */
        if (!const_count(in) || (f == F_SHIFT ? !dead : rot_sets_flags(in)))
            return false;
        x_shift_imm(j, q, in->sub, jit_reg(c, in->rm), (uint8_t)const_count(in));
        jit_reg_written(c, in->rm);
        if (f == F_SHIFT && !c->skip_cf_in) {
            x_setcc(j, X_CC_B, X_RDX);
            lf_store_cf(c);
        }
        if (f == F_SHIFT)
            set_lf_op(c, LF_CFOF, size);
        return true;
    case F_IMUL: /* CF (= OF), when live, as the host's IMUL leaves it */
        if (!dead)
            return false;
        x_imul_rr(j, q, jit_reg(c, in->reg), jit_reg(c, in->rm));
        jit_reg_written(c, in->reg);
        imul_cf(c, size);
        return true;
    case F_IMUL_I: {
        if (!dead)
            return false;
        unsigned hs = jit_reg(c, in->rm);
        x_imul_rri(j, q, jit_reg_def(c, in->reg), hs, (int32_t)in->imm);
        imul_cf(c, size);
        return true;
    }
    case F_MOV_RR:
    case F_MOV_RRR: {
        unsigned dst = f == F_MOV_RR ? in->rm : in->reg, src = f == F_MOV_RR ? in->reg : in->rm;
        unsigned hs = jit_reg(c, src);
        x_mov_rr(j, q, jit_reg_def(c, dst), hs); /* a 32-bit one zero-extends */
        return true;
    }
    case F_MOV_RI:
    case F_MOV_RMI: /* the upper half zeroed when 32-bit */
        x_mov_imm(j, jit_reg_def(c, f == F_MOV_RI ? in->reg : in->rm),
                  q ? in->imm : (uint32_t)in->imm);
        return true;
    case F_BSWAP: { /* 0F C8+r; a 32-bit one zero-extends */
        unsigned h = jit_reg(c, in->reg);
        x_rex(j, q, 0, h);
        jb_u8(j, 0x0f);
        jb_u8(j, (uint8_t)(0xc8 + (h & 7)));
        jit_reg_written(c, in->reg);
        return true;
    }
    case F_NOT:
    case F_NEG: /* F7 /2, /3 */
        if (f == F_NEG && !dead)
            return false;
        x_op_rr(j, q, 0xf7, f == F_NOT ? 2 : 3, jit_reg(c, in->rm));
        jit_reg_written(c, in->rm);
        if (f == F_NEG)
            set_lf_op(c, LF_NEG, size);
        return true;
    case F_LEA: {
        if (in->adsz != 8 || in->base == EA_RIP)
            return false;
        int base = in->base == EA_NONE ? -1 : (int)jit_reg(c, in->base);
        int index = in->index == EA_NONE ? -1 : (int)jit_reg(c, in->index);
        x_lea(j, q, jit_reg_def(c, in->reg), base, index, in->scale, in->disp);
        return true;
    }
    default:
        return false;
    }
}

bool jit_native(struct jit_ctx *c, const struct emu_insn *in)
{
    enum form f = form_of(in);
    struct jit_buf *j = &c->j;
    unsigned size = in->opsz, op = in->sub & 7;
    bool q = size == 8;
    if (f != F_NONE && direct(c, in, f))
        return true;
    switch (f) {
    case F_NONE:
        return false;
    case F_ALU_RR:
        jit_read_gpr(c, size, in->rm, X_RAX);
        jit_read_gpr(c, size, in->reg, X_RCX);
        jit_alu_core(c, op, size, op == 7 ? -1 : in->rm);
        return true;
    case F_ALU_RRR:
        jit_read_gpr(c, size, in->reg, X_RAX);
        jit_read_gpr(c, size, in->rm, X_RCX);
        jit_alu_core(c, op, size, op == 7 ? -1 : in->reg);
        return true;
    case F_ALU_RI:
        jit_read_gpr(c, size, in->rm, X_RAX);
        x_mov_imm(j, X_RCX, in->imm & size_mask(size)); /* fast_imm */
        jit_alu_core(c, op, size, op == 7 ? -1 : in->rm);
        return true;
    case F_TEST_RR:
    case F_TEST_RI:
        jit_read_gpr(c, size, in->rm, X_RAX);
        if (f == F_TEST_RR)
            jit_read_gpr(c, size, in->reg, X_RCX);
        else
            x_mov_imm(j, X_RCX, in->imm); /* as fast_test_ri: the immediate as decoded */
        jit_alu_core(c, 4, size, -1);
        return true;
    case F_INCDEC:
        incdec(c, in);
        return true;
    case F_MOV_RR:
    case F_MOV_RRR:
        jit_read_gpr(c, size, f == F_MOV_RR ? in->reg : in->rm, X_RAX);
        jit_write_gpr(c, size, f == F_MOV_RR ? in->rm : in->reg);
        return true;
    case F_MOV_RI: /* bytes; the others direct */
        x_mov_imm(j, X_RAX, in->imm & 0xff);
        jit_write_gpr(c, 1, in->reg);
        return true;
    case F_LEA:
        lea(c, in);
        return true;
    case F_SHIFT:
        shift(c, in);
        return true;
    case F_IMUL:
    case F_IMUL_I:
        imul(c, in, f == F_IMUL_I);
        return true;
    case F_MUL:
        mul(c, in);
        return true;
    case F_ROT:
        rot(c, in);
        return true;
    case F_MOVX:
    case F_MOVSXD:
        movx(c, in);
        return true;
    case F_NEG: /* fast_neg: lazy_set(LF_NEG, size, a, 0, -a truncated) */
        jit_read_gpr(c, size, in->rm, X_RAX);
        lf_store(c, X_RAX, LF(a));
        lf_store_imm(c, LF(b), 0);
        x_op_rr(j, q, 0xf7, 3, X_RAX); /* a 32-bit NEG zero-extends */
        lf_store(c, X_RAX, LF(res));
        set_lf_op(c, LF_NEG, size);
        jit_write_gpr(c, 8, in->rm);
        return true;
    case F_ADC:
        adc(c, in);
        return true;
    case F_CBW:
        cbw(c, in);
        return true;
    case F_NOT: /* always direct */
    case F_BSWAP:
    case F_MOV_RMI:
        return false;
    case F_CMOV:
    case F_SETCC:
        if (!jit_cond_native(c->lf_op, in->sub))
            return false; /* called */
        if (f == F_CMOV)
            cmov(c, in);
        else
            setcc(c, in);
        return true;
    }
    return false;
}
#endif
