/*
 * Specialised handlers for ALU work on registers in 32- and 64-bit forms:
 * ADD OR AND SUB XOR CMP, TEST, INC/DEC, NOT/NEG, SHL/SHR/SAR, ROL/ROR,
 * IMUL, and MOV between registers or of an immediate (exec_fast.h says what they keep).
 */
#include "accel/emu/exec_fast.h"

/* ALU r/m(register), reg; reg, r/m(register); r/m(register), imm. */
#define FAST_ALU(op, size)                                                                 \
    static EXEC(fast_alu_rr_##op##_##size)                                                 \
    {                                                                                      \
        uint64_t r = fast_alu(cpu, op, size, fast_rd(cpu, in->rm, size),                   \
                              fast_rd(cpu, in->reg, size));                                \
        if (op != 7)                                                                       \
            fast_wr(cpu, in->rm, size, r);                                                 \
        return next(cpu, in);                                                              \
    }                                                                                      \
    static EXEC(fast_alu_rrr_##op##_##size)                                                \
    {                                                                                      \
        uint64_t r = fast_alu(cpu, op, size, fast_rd(cpu, in->reg, size),                  \
                              fast_rd(cpu, in->rm, size));                                 \
        if (op != 7)                                                                       \
            fast_wr(cpu, in->reg, size, r);                                                \
        return next(cpu, in);                                                              \
    }                                                                                      \
    static EXEC(fast_alu_ri_##op##_##size)                                                 \
    {                                                                                      \
        uint64_t r = fast_alu(cpu, op, size, fast_rd(cpu, in->rm, size), fast_imm(in, size)); \
        if (op != 7)                                                                       \
            fast_wr(cpu, in->rm, size, r);                                                 \
        return next(cpu, in);                                                              \
    }
#define FAST_ALU_SIZES(op) FAST_ALU(op, 1) FAST_ALU(op, 4) FAST_ALU(op, 8)
FAST_ALU_SIZES(0)
FAST_ALU_SIZES(1)
FAST_ALU_SIZES(4)
FAST_ALU_SIZES(5)
FAST_ALU_SIZES(6)
FAST_ALU_SIZES(7)

/* [form][op][size: byte, 4, 8]; NULL for ADC and SBB. */
#define ALU_FORM(form)                                                                       \
    {ALU_ROW3(form, 0), ALU_ROW3(form, 1), {NULL, NULL, NULL}, {NULL, NULL, NULL},          \
     ALU_ROW3(form, 4), ALU_ROW3(form, 5), ALU_ROW3(form, 6), ALU_ROW3(form, 7)}
static const emu_exec_fn alu_fns[3][8][3] = {ALU_FORM(rr), ALU_FORM(rrr), ALU_FORM(ri)};

/* INC/DEC of a register (inc_dec in exec_alu.c). */
#define FAST_INC_DEC(dec, size, field)                                                     \
    static EXEC(fast_incdec_##field##_##dec##_##size)                                      \
    {                                                                                      \
        bool cf = fast_cf(cpu);                                                            \
        uint64_t a = fast_rd(cpu, in->field, size);                                        \
        uint64_t r = dec ? a - 1 : a + 1;                                                  \
        r = size == 8 ? r : (uint32_t)r;                                                   \
        lazy_set(cpu, dec ? LF_DEC : LF_INC, size, a, 1, r);                               \
        cpu->lf.cf_in = cf;                                                                \
        fast_wr(cpu, in->field, size, r);                                                  \
        return next(cpu, in);                                                              \
    }
FAST_INC_DEC(0, 4, rm) FAST_INC_DEC(1, 4, rm) FAST_INC_DEC(0, 8, rm) FAST_INC_DEC(1, 8, rm)
FAST_INC_DEC(0, 4, reg) FAST_INC_DEC(1, 4, reg)
static const emu_exec_fn incdec_rm_fns[2][2] = {{fast_incdec_rm_0_4, fast_incdec_rm_0_8},
                                                {fast_incdec_rm_1_4, fast_incdec_rm_1_8}};

/* SHL, SHR, SAR of a register (shift in exec_alu.c): the count from the
 * form as ex_shift takes it. A count of 0 changes no flag, and the
 * register is still written (a 32-bit one zero-extended). */
#define FAST_SHIFT(op, size)                                                               \
    static EXEC(fast_shift_##op##_##size)                                                  \
    {                                                                                      \
        const unsigned w = size * 8;                                                       \
        unsigned count = fast_shift_count(cpu, in) & (w - 1);                              \
        uint64_t a = fast_rd(cpu, in->rm, size), r;                                        \
        if (count == 0) {                                                                  \
            fast_wr(cpu, in->rm, size, a);                                                 \
            return next(cpu, in);                                                          \
        }                                                                                  \
        bool cf, of;                                                                       \
        if (op == 4) {                                                                     \
            r = a << count;                                                                \
            r = size == 8 ? r : (uint32_t)r;                                               \
            cf = (a >> (w - count)) & 1;                                                   \
            of = (r >> (w - 1)) ^ cf;                                                      \
        } else if (op == 5) {                                                              \
            r = a >> count;                                                                \
            cf = (a >> (count - 1)) & 1;                                                   \
            of = a >> (w - 1);                                                             \
        } else {                                                                           \
            int64_t sa = size == 8 ? (int64_t)a : (int64_t)(int32_t)a;                     \
            r = (uint64_t)(sa >> count);                                                   \
            r = size == 8 ? r : (uint32_t)r;                                               \
            cf = (sa >> (count - 1)) & 1;                                                  \
            of = false;                                                                    \
        }                                                                                  \
        lazy_set(cpu, LF_CFOF, size, 0, of, r);                                            \
        cpu->lf.cf_in = cf;                                                                \
        fast_wr(cpu, in->rm, size, r);                                                     \
        return next(cpu, in);                                                              \
    }
FAST_SHIFT(4, 4) FAST_SHIFT(4, 8) FAST_SHIFT(5, 4) FAST_SHIFT(5, 8) FAST_SHIFT(7, 4)
FAST_SHIFT(7, 8)

/* ROL (op 0), ROR (op 1) of a register (shift in exec_alu.c). A rotate
 * keeps SF ZF AF PF, so it materialises the flags to set CF and OF; the
 * _nf form (flags: 0), picked for a block where a later instruction
 * overwrites CF and OF before anything can see them, leaves them. */
#define FAST_ROT(op, size, flags, name)                                                    \
    static EXEC(name)                                                                      \
    {                                                                                      \
        const unsigned w = size * 8;                                                       \
        unsigned c = fast_shift_count(cpu, in) & (w - 1);                                  \
        uint64_t a = fast_rd(cpu, in->rm, size), r = a;                                    \
        if (c)                                                                             \
            r = op == 0 ? (a << c) | (a >> (w - c)) : (a >> c) | (a << (w - c));           \
        fast_wr(cpu, in->rm, size, r);                                                     \
        if (flags && c) {                                                                  \
            r = size == 8 ? r : (uint32_t)r;                                               \
            bool msb = r >> (w - 1), cf = op == 0 ? r & 1 : msb;                           \
            bool of = op == 0 ? msb ^ cf : msb ^ ((r >> (w - 2)) & 1);                     \
            uint64_t f = emu_rflags(cpu) & ~(RFLAGS_CF | RFLAGS_OF);                       \
            cpu->rflags = f | (cf ? RFLAGS_CF : 0) | (of ? RFLAGS_OF : 0);                 \
        }                                                                                  \
        return next(cpu, in);                                                              \
    }
#define FAST_ROT_FORMS(op, size)                                                           \
    FAST_ROT(op, size, 1, fast_rot_##op##_##size)                                          \
    FAST_ROT(op, size, 0, fast_rot_nf_##op##_##size)
FAST_ROT_FORMS(0, 4) FAST_ROT_FORMS(0, 8) FAST_ROT_FORMS(1, 4) FAST_ROT_FORMS(1, 8)

/* NOT and NEG of a register (ex_not, ex_neg). */
#define FAST_NOT_NEG(size)                                                                 \
    static EXEC(fast_not_##size)                                                           \
    {                                                                                      \
        fast_wr(cpu, in->rm, size, ~fast_rd(cpu, in->rm, size));                           \
        return next(cpu, in);                                                              \
    }                                                                                      \
    static EXEC(fast_neg_##size)                                                           \
    {                                                                                      \
        uint64_t a = fast_rd(cpu, in->rm, size), r = 0 - a;                                \
        r = size == 8 ? r : (uint32_t)r;                                                   \
        lazy_set(cpu, LF_NEG, size, a, 0, r);                                              \
        fast_wr(cpu, in->rm, size, r);                                                     \
        return next(cpu, in);                                                              \
    }
FAST_NOT_NEG(4) FAST_NOT_NEG(8)

/* IMUL reg, r/m(register)[, imm] (imul_to_reg in exec_alu.c): the
 * product's low half, CF = OF = it does not fit. */
#define FAST_IMUL(size, with_imm)                                                               \
    static EXEC(fast_imul_##with_imm##_##size)                                                  \
    {                                                                                      \
        uint64_t a = with_imm ? cpu->gpr[in->rm] : cpu->gpr[in->reg];                           \
        uint64_t b = with_imm ? in->imm : cpu->gpr[in->rm];                                     \
        uint64_t lo;                                                                       \
        bool over;                                                                         \
        if (size == 8) {                                                                   \
            int64_t p;                                                                     \
            over = __builtin_mul_overflow((int64_t)a, (int64_t)b, &p);                     \
            lo = (uint64_t)p;                                                              \
        } else {                                                                           \
            int64_t p = (int64_t)(int32_t)a * (int64_t)(int32_t)b;                         \
            over = p != (int64_t)(int32_t)p;                                               \
            lo = (uint32_t)p;                                                              \
        }                                                                                  \
        fast_wr(cpu, in->reg, size, lo);                                                   \
        lazy_set(cpu, LF_CFOF, size, 0, over, lo);                                         \
        cpu->lf.cf_in = over;                                                              \
        return next(cpu, in);                                                              \
    }
FAST_IMUL(4, 0) FAST_IMUL(8, 0) FAST_IMUL(4, 1) FAST_IMUL(8, 1)

/* MOV between registers, and of an immediate to a register. */
#define FAST_MOV(size)                                                                     \
    static EXEC(fast_mov_rr_##size)                                                        \
    {                                                                                      \
        fast_wr(cpu, in->rm, size, fast_rd(cpu, in->reg, size));                           \
        return next(cpu, in);                                                              \
    }                                                                                      \
    static EXEC(fast_mov_rrr_##size)                                                       \
    {                                                                                      \
        fast_wr(cpu, in->reg, size, fast_rd(cpu, in->rm, size));                           \
        return next(cpu, in);                                                              \
    }                                                                                      \
    static EXEC(fast_mov_ri_##size)                                                        \
    {                                                                                      \
        fast_wr(cpu, in->reg, size, in->imm);                                              \
        return next(cpu, in);                                                              \
    }
FAST_MOV(1) FAST_MOV(4) FAST_MOV(8)

/* TEST on registers. */
#define FAST_TEST(size)                                                                    \
    static EXEC(fast_test_rr_##size)                                                       \
    {                                                                                      \
        uint64_t a = fast_rd(cpu, in->rm, size), b = fast_rd(cpu, in->reg, size);          \
        lazy_set(cpu, LF_LOGIC, size, a, b, a & b);                                        \
        return next(cpu, in);                                                              \
    }                                                                                      \
    static EXEC(fast_test_ri_##size)                                                       \
    {                                                                                      \
        uint64_t a = fast_rd(cpu, in->rm, size), b = in->imm; /* raw, as ex_test_rm_imm */ \
        lazy_set(cpu, LF_LOGIC, size, a, b, a & b);                                        \
        return next(cpu, in);                                                              \
    }
FAST_TEST(1) FAST_TEST(4) FAST_TEST(8)

/* MOVZX, MOVSX from a byte or word register (ex_movzx, ex_movsx). */
#define FAST_MOVX_REG(sx, from, size)                                                       \
    static EXEC(fast_movx_reg_##sx##_##from##_##size)                                       \
    {                                                                                       \
        uint64_t v = reg_read(cpu, in->rm, from);                                           \
        fast_wr(cpu, in->reg, size, sx ? (uint64_t)sign_extend(v, from) : v);               \
        return next(cpu, in);                                                               \
    }
FAST_MOVX_REG(0, 1, 4) FAST_MOVX_REG(0, 1, 8) FAST_MOVX_REG(0, 2, 4) FAST_MOVX_REG(0, 2, 8)
FAST_MOVX_REG(1, 1, 4) FAST_MOVX_REG(1, 1, 8) FAST_MOVX_REG(1, 2, 4) FAST_MOVX_REG(1, 2, 8)
/* [movsx][from a word][size == 8] */
static const emu_exec_fn movx_reg_fns[2][2][2] = {
    {{fast_movx_reg_0_1_4, fast_movx_reg_0_1_8}, {fast_movx_reg_0_2_4, fast_movx_reg_0_2_8}},
    {{fast_movx_reg_1_1_4, fast_movx_reg_1_1_8}, {fast_movx_reg_1_2_4, fast_movx_reg_1_2_8}}};

/* The byte forms: ALU, TEST and MOV on registers. */
static emu_exec_fn pick_byte(const struct emu_insn *in)
{
    emu_exec_fn fn = in->fn;
    if (fn == ex_test_rm_reg)
        return fast_test_rr_1;
    if (fn == ex_test_rm_imm)
        return fast_test_ri_1;
    if (fn == ex_alu_rm_reg)
        return alu_fns[0][in->sub & 7][0];
    if (fn == ex_alu_reg_rm)
        return alu_fns[1][in->sub & 7][0];
    if (fn == ex_alu_rm_imm || fn == ex_alu_acc_imm)
        return alu_fns[2][in->sub & 7][0];
    if (fn == ex_mov_rm_reg)
        return fast_mov_rr_1;
    if (fn == ex_mov_reg_rm)
        return fast_mov_rrr_1;
    if (fn == ex_mov_reg_imm)
        return fast_mov_ri_1;
    return NULL;
}

emu_exec_fn emu_fast_pick_alu(const struct emu_cpu *cpu, const struct emu_insn *in)
{
    if (in->flags & INSN_MEM)
        return NULL;
    if (in->opsz == 1)
        return pick_byte(in);
    if (in->opsz != 4 && in->opsz != 8)
        return NULL;
    emu_exec_fn fn = in->fn;
    bool q = in->opsz == 8;
    if ((fn == ex_movzx || fn == ex_movsx) && (in->imm == 1 || in->imm == 2))
        return movx_reg_fns[fn == ex_movsx][in->imm == 2][q];
    if (fn == ex_test_rm_reg)
        return q ? fast_test_rr_8 : fast_test_rr_4;
    if (fn == ex_test_rm_imm)
        return q ? fast_test_ri_8 : fast_test_ri_4;
    if (fn == ex_alu_rm_reg)
        return alu_fns[0][in->sub & 7][1 + q];
    if (fn == ex_alu_reg_rm)
        return alu_fns[1][in->sub & 7][1 + q];
    if (fn == ex_alu_rm_imm || fn == ex_alu_acc_imm)
        return alu_fns[2][in->sub & 7][1 + q];
    if (fn == ex_inc_dec_rm && in->sub < 2)
        return incdec_rm_fns[in->sub][q];
    if (fn == ex_inc_dec_reg && !q) /* 40-4F: not in 64-bit mode */
        return in->sub ? fast_incdec_reg_1_4 : fast_incdec_reg_0_4;
    if (fn == ex_shift && (in->sub == 4 || in->sub == 5 || in->sub == 7)) {
        static const emu_exec_fn shifts[8][2] = {[4] = {fast_shift_4_4, fast_shift_4_8},
                                                 [5] = {fast_shift_5_4, fast_shift_5_8},
                                                 [7] = {fast_shift_7_4, fast_shift_7_8}};
        return shifts[in->sub][q];
    }
    if (fn == ex_shift && in->sub < 2) {
        static const emu_exec_fn rots[2][2] = {{fast_rot_0_4, fast_rot_0_8},
                                               {fast_rot_1_4, fast_rot_1_8}};
        return rots[in->sub][q];
    }
    if (fn == ex_not)
        return q ? fast_not_8 : fast_not_4;
    if (fn == ex_neg)
        return q ? fast_neg_8 : fast_neg_4;
    if (fn == ex_imul_reg_rm)
        return q ? fast_imul_0_8 : fast_imul_0_4;
    if (fn == ex_imul_reg_rm_imm)
        return q ? fast_imul_1_8 : fast_imul_1_4;
    if (fn == ex_mov_rm_reg)
        return q ? fast_mov_rr_8 : fast_mov_rr_4;
    if (fn == ex_mov_reg_rm)
        return q ? fast_mov_rrr_8 : fast_mov_rrr_4;
    if (fn == ex_mov_reg_imm)
        return q ? fast_mov_ri_8 : fast_mov_ri_4;
    return NULL;
}

/* ALU r/m, imm stands for both of its forms (80-83, 04-3D). */
emu_exec_fn emu_fast_general_alu(emu_exec_fn fn)
{
    static const emu_exec_fn general[3] = {ex_alu_rm_reg, ex_alu_reg_rm, ex_alu_rm_imm};
    for (int op = 0; op < 8 && fn; op++)
        for (int f = 0; f < 3; f++)
            if (alu_fns[f][op][0] == fn || alu_fns[f][op][1] == fn || alu_fns[f][op][2] == fn)
                return general[f];
    const struct {
        emu_exec_fn fast, general;
    } pairs[] = {
        {fast_incdec_rm_0_4, ex_inc_dec_rm},
        {fast_incdec_rm_0_8, ex_inc_dec_rm},
        {fast_incdec_rm_1_4, ex_inc_dec_rm},
        {fast_incdec_rm_1_8, ex_inc_dec_rm},
        {fast_incdec_reg_0_4, ex_inc_dec_reg},
        {fast_incdec_reg_1_4, ex_inc_dec_reg},
        {fast_shift_4_4, ex_shift},
        {fast_shift_4_8, ex_shift},
        {fast_shift_5_4, ex_shift},
        {fast_shift_5_8, ex_shift},
        {fast_shift_7_4, ex_shift},
        {fast_shift_7_8, ex_shift},
        {fast_rot_0_4, ex_shift},
        {fast_rot_0_8, ex_shift},
        {fast_rot_1_4, ex_shift},
        {fast_rot_1_8, ex_shift},
        {fast_rot_nf_0_4, ex_shift},
        {fast_rot_nf_0_8, ex_shift},
        {fast_rot_nf_1_4, ex_shift},
        {fast_rot_nf_1_8, ex_shift},
        {fast_not_4, ex_not},
        {fast_not_8, ex_not},
        {fast_neg_4, ex_neg},
        {fast_neg_8, ex_neg},
        {fast_imul_0_4, ex_imul_reg_rm},
        {fast_imul_0_8, ex_imul_reg_rm},
        {fast_imul_1_4, ex_imul_reg_rm_imm},
        {fast_imul_1_8, ex_imul_reg_rm_imm},
        {fast_mov_rr_1, ex_mov_rm_reg},
        {fast_mov_rrr_1, ex_mov_reg_rm},
        {fast_mov_ri_1, ex_mov_reg_imm},
        {fast_test_rr_1, ex_test_rm_reg},
        {fast_test_ri_1, ex_test_rm_imm},
        {fast_movx_reg_0_1_4, ex_movzx},
        {fast_movx_reg_0_1_8, ex_movzx},
        {fast_movx_reg_0_2_4, ex_movzx},
        {fast_movx_reg_0_2_8, ex_movzx},
        {fast_movx_reg_1_1_4, ex_movsx},
        {fast_movx_reg_1_1_8, ex_movsx},
        {fast_movx_reg_1_2_4, ex_movsx},
        {fast_movx_reg_1_2_8, ex_movsx},
        {fast_mov_rr_4, ex_mov_rm_reg},
        {fast_mov_rr_8, ex_mov_rm_reg},
        {fast_mov_rrr_4, ex_mov_reg_rm},
        {fast_mov_rrr_8, ex_mov_reg_rm},
        {fast_mov_ri_4, ex_mov_reg_imm},
        {fast_mov_ri_8, ex_mov_reg_imm},
        {fast_test_rr_4, ex_test_rm_reg},
        {fast_test_rr_8, ex_test_rm_reg},
        {fast_test_ri_4, ex_test_rm_imm},
        {fast_test_ri_8, ex_test_rm_imm},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        if (pairs[i].fast == fn)
            return pairs[i].general;
    return NULL;
}

emu_exec_fn emu_fast_without_cfof(emu_exec_fn fn)
{
    static const emu_exec_fn with[4] = {fast_rot_0_4, fast_rot_0_8, fast_rot_1_4, fast_rot_1_8};
    static const emu_exec_fn without[4] = {fast_rot_nf_0_4, fast_rot_nf_0_8, fast_rot_nf_1_4,
                                           fast_rot_nf_1_8};
    for (int i = 0; i < 4; i++)
        if (fn == with[i])
            return without[i];
    return NULL;
}
