/*
 * Specialised handlers for memory operands in 64-bit code: MOV loads and
 * stores, MOVZX/MOVSX, ALU reads and read-modify-writes, INC/DEC, CMOVcc,
 * MOVSXD, the byte forms, LEA (exec_fast.h says what they keep). The TLB
 * hit is inline; anything else goes through the general path.
 */
#include "accel/emu/exec_fast.h"

/* MOV reg, [mem] and MOV [mem], reg in 64-bit mode: the TLB hit inline
 * (emu_tlb_host), everything else through the general path. */
#define FAST_MOV_MEM(size)                                                                 \
    static EXEC(fast_mov_load_##size)                                                      \
    {                                                                                      \
        uint64_t ea = emu_ea(cpu, in), v;                                                  \
        const uint8_t *h = emu_tlb_host(cpu, cpu->tlb_read, in->seg, ea, size);            \
        if (h) {                                                                           \
            if (size == 8) {                                                               \
                memcpy(&v, h, 8);                                                          \
            } else {                                                                       \
                uint32_t v32;                                                              \
                memcpy(&v32, h, 4);                                                        \
                v = v32;                                                                   \
            }                                                                              \
        } else {                                                                           \
            int st = emu_read(cpu, in->seg, ea, size, &v);                                 \
            if (st)                                                                        \
                return st;                                                                 \
        }                                                                                  \
        fast_wr(cpu, in->reg, size, v);                                                    \
        return next(cpu, in);                                                              \
    }                                                                                      \
    static EXEC(fast_mov_store_##size)                                                     \
    {                                                                                      \
        uint64_t ea = emu_ea(cpu, in), v = cpu->gpr[in->reg];                              \
        uint8_t *h = emu_tlb_host(cpu, cpu->tlb_write, in->seg, ea, size);                 \
        if (h) {                                                                           \
            memcpy(h, &v, size);                                                           \
        } else {                                                                           \
            int st = emu_write(cpu, in->seg, ea, size, v & size_mask(size));               \
            if (st)                                                                        \
                return st;                                                                 \
        }                                                                                  \
        return next(cpu, in);                                                              \
    }
FAST_MOV_MEM(4) FAST_MOV_MEM(8)

/* MOVZX/MOVSX reg, [mem] (byte or word source) in 64-bit code. */
#define FAST_MOVX(src, size)                                                               \
    static EXEC(fast_movzx_##src##_##size)                                                 \
    {                                                                                      \
        uint64_t v;                                                                        \
        if (!fast_load(cpu, in->seg, emu_ea(cpu, in), src, &v))                           \
            return ex_movzx(cpu, in);                                                      \
        fast_wr(cpu, in->reg, size, v);                                                    \
        return next(cpu, in);                                                              \
    }                                                                                      \
    static EXEC(fast_movsx_##src##_##size)                                                 \
    {                                                                                      \
        uint64_t v;                                                                        \
        if (!fast_load(cpu, in->seg, emu_ea(cpu, in), src, &v))                           \
            return ex_movsx(cpu, in);                                                      \
        fast_wr(cpu, in->reg, size, (uint64_t)sign_extend(v, src));                        \
        return next(cpu, in);                                                              \
    }
FAST_MOVX(1, 4) FAST_MOVX(1, 8) FAST_MOVX(2, 4) FAST_MOVX(2, 8)
static const emu_exec_fn movx_fns[2][2][2] = {
    {{fast_movzx_1_4, fast_movzx_1_8}, {fast_movzx_2_4, fast_movzx_2_8}},
    {{fast_movsx_1_4, fast_movsx_1_8}, {fast_movsx_2_4, fast_movsx_2_8}}};

/* ALU reg, [mem] and CMP [mem], reg / imm in 64-bit mode: reads only, so
 * nothing to undo when the read takes the general path and faults. */
#define FAST_ALU_MEM(op, size)                                                              \
    static EXEC(fast_alu_rm_##op##_##size)                                                  \
    {                                                                                       \
        uint64_t b;                                                                         \
        if (!fast_load(cpu, in->seg, emu_ea(cpu, in), size, &b))                           \
            return ex_alu_reg_rm(cpu, in);                                                  \
        uint64_t r = fast_alu(cpu, op, size, fast_rd(cpu, in->reg, size), b);               \
        if (op != 7)                                                                        \
            fast_wr(cpu, in->reg, size, r);                                                 \
        return next(cpu, in);                                                               \
    }
#define FAST_ALU_MEM_SIZES(op) FAST_ALU_MEM(op, 4) FAST_ALU_MEM(op, 8)
FAST_ALU_MEM_SIZES(0)
FAST_ALU_MEM_SIZES(1)
FAST_ALU_MEM_SIZES(4)
FAST_ALU_MEM_SIZES(5)
FAST_ALU_MEM_SIZES(6)
FAST_ALU_MEM_SIZES(7)
static const emu_exec_fn alu_mem_fns[8][2] = {
    ALU_ROW(rm, 0), ALU_ROW(rm, 1), {NULL, NULL}, {NULL, NULL},
    ALU_ROW(rm, 4), ALU_ROW(rm, 5), ALU_ROW(rm, 6), ALU_ROW(rm, 7)};

#define FAST_CMP_MEM(size)                                                                  \
    static EXEC(fast_cmp_mr_##size)                                                         \
    {                                                                                       \
        uint64_t a;                                                                         \
        if (!fast_load(cpu, in->seg, emu_ea(cpu, in), size, &a))                           \
            return ex_alu_rm_reg(cpu, in);                                                  \
        fast_alu(cpu, 7, size, a, fast_rd(cpu, in->reg, size));                             \
        return next(cpu, in);                                                               \
    }                                                                                       \
    static EXEC(fast_cmp_mi_##size)                                                         \
    {                                                                                       \
        uint64_t a;                                                                         \
        if (!fast_load(cpu, in->seg, emu_ea(cpu, in), size, &a))                           \
            return ex_alu_rm_imm(cpu, in);                                                  \
        fast_alu(cpu, 7, size, a, size == 8 ? in->imm : (uint32_t)in->imm);                 \
        return next(cpu, in);                                                               \
    }
FAST_CMP_MEM(4) FAST_CMP_MEM(8)

/* TEST [mem], reg / imm in 64-bit mode (ex_test_rm_reg, ex_test_rm_imm:
 * the immediate as decoded). */
#define FAST_TEST_MEM(size)                                                                 \
    static EXEC(fast_test_mr_##size)                                                        \
    {                                                                                       \
        uint64_t a;                                                                         \
        if (!fast_load(cpu, in->seg, emu_ea(cpu, in), size, &a))                           \
            return ex_test_rm_reg(cpu, in);                                                 \
        uint64_t b = fast_rd(cpu, in->reg, size);                                           \
        lazy_set(cpu, LF_LOGIC, size, a, b, a & b);                                         \
        return next(cpu, in);                                                               \
    }                                                                                       \
    static EXEC(fast_test_mi_##size)                                                        \
    {                                                                                       \
        uint64_t a;                                                                         \
        if (!fast_load(cpu, in->seg, emu_ea(cpu, in), size, &a))                           \
            return ex_test_rm_imm(cpu, in);                                                 \
        lazy_set(cpu, LF_LOGIC, size, a, in->imm, a & in->imm);                             \
        return next(cpu, in);                                                               \
    }
FAST_TEST_MEM(4) FAST_TEST_MEM(8)

/* Read-modify-write of memory in 64-bit code without LOCK: a write-TLB
 * hit is a writable RAM page with A and D set, no decoded code and no
 * data breakpoint, so the read and the write both succeed there and no
 * lazy-flag state needs saving for a rollback. Anything else (a miss, a
 * page crossing, AC, a non-canonical address) goes to the general
 * executor, which does the write-intent checks in order. */
ALWAYS_INLINE uint8_t *fast_rmw_host(struct emu_cpu *cpu, const struct emu_insn *in,
                                     unsigned size)
{
    return emu_tlb_host(cpu, cpu->tlb_write, in->seg, emu_ea(cpu, in), size);
}

#define FAST_ALU_RMW(op, size)                                                             \
    static EXEC(fast_alu_mr_##op##_##size)                                                 \
    {                                                                                      \
        uint8_t *h = fast_rmw_host(cpu, in, size);                                         \
        if (!h)                                                                            \
            return ex_alu_rm_reg(cpu, in);                                                 \
        uint64_t r = fast_alu(cpu, op, size, emu_load48(h, size), fast_rd(cpu, in->reg, size)); \
        memcpy(h, &r, size);                                                               \
        return next(cpu, in);                                                              \
    }                                                                                      \
    static EXEC(fast_alu_mi_##op##_##size)                                                 \
    {                                                                                      \
        uint8_t *h = fast_rmw_host(cpu, in, size);                                         \
        if (!h)                                                                            \
            return ex_alu_rm_imm(cpu, in);                                                 \
        uint64_t b = size == 8 ? in->imm : (uint32_t)in->imm;                              \
        uint64_t r = fast_alu(cpu, op, size, emu_load48(h, size), b);                       \
        memcpy(h, &r, size);                                                               \
        return next(cpu, in);                                                              \
    }
#define FAST_ALU_RMW_SIZES(op) FAST_ALU_RMW(op, 4) FAST_ALU_RMW(op, 8)
FAST_ALU_RMW_SIZES(0)
FAST_ALU_RMW_SIZES(1)
FAST_ALU_RMW_SIZES(4)
FAST_ALU_RMW_SIZES(5)
FAST_ALU_RMW_SIZES(6)
static const emu_exec_fn alu_rmw_fns[2][8][2] = {
    {ALU_ROW(mr, 0), ALU_ROW(mr, 1), {NULL, NULL}, {NULL, NULL}, ALU_ROW(mr, 4),
     ALU_ROW(mr, 5), ALU_ROW(mr, 6), {NULL, NULL}},
    {ALU_ROW(mi, 0), ALU_ROW(mi, 1), {NULL, NULL}, {NULL, NULL}, ALU_ROW(mi, 4),
     ALU_ROW(mi, 5), ALU_ROW(mi, 6), {NULL, NULL}}};

#define FAST_INC_DEC_MEM(dec, size)                                                        \
    static EXEC(fast_incdec_mem_##dec##_##size)                                            \
    {                                                                                      \
        uint8_t *h = fast_rmw_host(cpu, in, size);                                         \
        if (!h)                                                                            \
            return ex_inc_dec_rm(cpu, in);                                                 \
        bool cf = fast_cf(cpu);                                                            \
        uint64_t a = emu_load48(h, size), r = dec ? a - 1 : a + 1;                          \
        r = size == 8 ? r : (uint32_t)r;                                                   \
        lazy_set(cpu, dec ? LF_DEC : LF_INC, size, a, 1, r);                               \
        cpu->lf.cf_in = cf;                                                                \
        memcpy(h, &r, size);                                                               \
        return next(cpu, in);                                                              \
    }
FAST_INC_DEC_MEM(0, 4) FAST_INC_DEC_MEM(0, 8) FAST_INC_DEC_MEM(1, 4) FAST_INC_DEC_MEM(1, 8)
static const emu_exec_fn incdec_mem_fns[2][2] = {
    {fast_incdec_mem_0_4, fast_incdec_mem_0_8}, {fast_incdec_mem_1_4, fast_incdec_mem_1_8}};

/* CMOVcc reg, r/m and MOVSXD reg64, r/m32: the register form anywhere,
 * the memory form in 64-bit code through the TLB hit inline. CMOVcc
 * reads its source whatever the condition (a fault comes first), and a
 * 32-bit one not taken still zero-extends its destination. */
ALWAYS_INLINE bool fast_src(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size,
                            uint64_t *v)
{
    if (!(in->flags & INSN_MEM)) {
        *v = fast_rd(cpu, in->rm, size);
        return true;
    }
    return fast_load(cpu, in->seg, emu_ea(cpu, in), size, v);
}

#define FAST_CMOV(size)                                                                    \
    static EXEC(fast_cmov_##size)                                                          \
    {                                                                                      \
        uint64_t v;                                                                        \
        if (!fast_src(cpu, in, size, &v))                                                  \
            return ex_cmovcc(cpu, in);                                                     \
        if (emu_cond(cpu, in->sub))                                                        \
            fast_wr(cpu, in->reg, size, v);                                                \
        else if (size == 4)                                                                \
            fast_wr(cpu, in->reg, 4, fast_rd(cpu, in->reg, 4));                            \
        return next(cpu, in);                                                              \
    }
FAST_CMOV(4) FAST_CMOV(8)

static EXEC(fast_movsxd)
{
    uint64_t v;
    if (!fast_src(cpu, in, 4, &v))
        return ex_movsxd(cpu, in);
    cpu->gpr[in->reg] = (uint64_t)(int64_t)(int32_t)v;
    return next(cpu, in);
}

/* Byte forms on memory in 64-bit code: MOV load/store/imm, CMP and TEST
 * against an immediate or a byte register (AH..BH included: reg_read and
 * reg_write take them). */
ALWAYS_INLINE uint8_t *fast_byte(struct emu_cpu *cpu, const struct emu_insn *in, bool write)
{
    return emu_tlb_host(cpu, write ? cpu->tlb_write : cpu->tlb_read, in->seg, emu_ea(cpu, in),
                        1);
}

static EXEC(fast_mov_load_b)
{
    const uint8_t *h = fast_byte(cpu, in, false);
    if (!h)
        return ex_mov_reg_rm(cpu, in);
    reg_write(cpu, in->reg, 1, *h);
    return next(cpu, in);
}

static EXEC(fast_mov_store_b)
{
    uint8_t *h = fast_byte(cpu, in, true);
    if (!h)
        return ex_mov_rm_reg(cpu, in);
    *h = (uint8_t)reg_read(cpu, in->reg, 1);
    return next(cpu, in);
}

static EXEC(fast_mov_store_imm_b)
{
    uint8_t *h = fast_byte(cpu, in, true);
    if (!h)
        return ex_mov_rm_imm(cpu, in);
    *h = (uint8_t)in->imm;
    return next(cpu, in);
}

static EXEC(fast_cmp_mi_b)
{
    const uint8_t *h = fast_byte(cpu, in, false);
    if (!h)
        return ex_alu_rm_imm(cpu, in);
    uint64_t a = *h, b = in->imm & 0xff;
    lazy_set(cpu, LF_SUB, 1, a, b, a - b);
    return next(cpu, in);
}

static EXEC(fast_cmp_mr_b)
{
    const uint8_t *h = fast_byte(cpu, in, false);
    if (!h)
        return ex_alu_rm_reg(cpu, in);
    uint64_t a = *h, b = reg_read(cpu, in->reg, 1);
    lazy_set(cpu, LF_SUB, 1, a, b, a - b);
    return next(cpu, in);
}

static EXEC(fast_test_mr_b)
{
    const uint8_t *h = fast_byte(cpu, in, false);
    if (!h)
        return ex_test_rm_reg(cpu, in);
    uint64_t a = *h, b = reg_read(cpu, in->reg, 1);
    lazy_set(cpu, LF_LOGIC, 1, a, b, a & b);
    return next(cpu, in);
}

static EXEC(fast_test_mi_b)
{
    const uint8_t *h = fast_byte(cpu, in, false);
    if (!h)
        return ex_test_rm_imm(cpu, in);
    uint64_t a = *h, b = in->imm;
    lazy_set(cpu, LF_LOGIC, 1, a, b, a & b);
    return next(cpu, in);
}

/* LEA (a memory operand only: the register form is #UD and stays
 * general), MOV [mem], imm in 64-bit code. */
#define FAST_LEA_STORE_IMM(size)                                                           \
    static EXEC(fast_lea_##size)                                                           \
    {                                                                                      \
        fast_wr(cpu, in->reg, size, emu_ea(cpu, in));                                     \
        return next(cpu, in);                                                              \
    }                                                                                      \
    static EXEC(fast_mov_store_imm_##size)                                                 \
    {                                                                                      \
        uint64_t ea = emu_ea(cpu, in), v = in->imm;                                       \
        uint8_t *h = emu_tlb_host(cpu, cpu->tlb_write, in->seg, ea, size);                 \
        if (!h)                                                                            \
            return ex_mov_rm_imm(cpu, in);                                                 \
        memcpy(h, &v, size);                                                               \
        return next(cpu, in);                                                              \
    }
FAST_LEA_STORE_IMM(4) FAST_LEA_STORE_IMM(8)

emu_exec_fn emu_fast_pick_mem(const struct emu_cpu *cpu, const struct emu_insn *in)
{
    bool mem = in->flags & INSN_MEM, q = in->opsz == 8;
    emu_exec_fn fn = in->fn;
    bool long64 = cpu->mode == MODE_LONG64;
    if (in->opsz == 1 && mem && long64) {
        return fn == ex_mov_reg_rm   ? fast_mov_load_b
               : fn == ex_mov_rm_reg ? fast_mov_store_b
               : fn == ex_mov_rm_imm ? fast_mov_store_imm_b
               : fn == ex_test_rm_imm ? fast_test_mi_b
               : fn == ex_test_rm_reg ? fast_test_mr_b
               : fn == ex_alu_rm_imm && in->sub == 7 ? fast_cmp_mi_b
               : fn == ex_alu_rm_reg && in->sub == 7 ? fast_cmp_mr_b
                                                      : NULL;
    }
    if (in->opsz != 4 && in->opsz != 8)
        return NULL;
    if (fn == ex_cmovcc && (long64 || !mem))
        return q ? fast_cmov_8 : fast_cmov_4;
    if (fn == ex_movsxd && long64 && q)
        return fast_movsxd;
    if (!mem)
        return NULL;
    if (long64 && fn == ex_mov_reg_rm)
        return q ? fast_mov_load_8 : fast_mov_load_4;
    if (long64 && fn == ex_mov_rm_reg)
        return q ? fast_mov_store_8 : fast_mov_store_4;
    if (long64 && (fn == ex_movzx || fn == ex_movsx) && (in->imm == 1 || in->imm == 2))
        return movx_fns[fn == ex_movsx][in->imm == 2][q];
    if (fn == ex_lea)
        return q ? fast_lea_8 : fast_lea_4;
    if (long64 && fn == ex_mov_rm_imm)
        return q ? fast_mov_store_imm_8 : fast_mov_store_imm_4;
    if (long64 && !(in->flags & INSN_LOCK) && fn == ex_alu_rm_reg && in->sub != 7)
        return alu_rmw_fns[0][in->sub & 7][q];
    if (long64 && !(in->flags & INSN_LOCK) && fn == ex_alu_rm_imm && in->sub != 7)
        return alu_rmw_fns[1][in->sub & 7][q];
    if (long64 && !(in->flags & INSN_LOCK) && fn == ex_inc_dec_rm && in->sub < 2)
        return incdec_mem_fns[in->sub][q];
    if (long64 && fn == ex_alu_reg_rm)
        return alu_mem_fns[in->sub & 7][q];
    if (long64 && fn == ex_alu_rm_reg && in->sub == 7)
        return q ? fast_cmp_mr_8 : fast_cmp_mr_4;
    if (long64 && fn == ex_alu_rm_imm && in->sub == 7)
        return q ? fast_cmp_mi_8 : fast_cmp_mi_4;
    if (long64 && fn == ex_test_rm_reg)
        return q ? fast_test_mr_8 : fast_test_mr_4;
    if (long64 && fn == ex_test_rm_imm)
        return q ? fast_test_mi_8 : fast_test_mi_4;
    return NULL;
}

emu_exec_fn emu_fast_general_mem(emu_exec_fn fn)
{
    for (int op = 0; op < 8 && fn; op++) {
        if (alu_mem_fns[op][0] == fn || alu_mem_fns[op][1] == fn)
            return ex_alu_reg_rm;
        for (int f = 0; f < 2; f++)
            if (alu_rmw_fns[f][op][0] == fn || alu_rmw_fns[f][op][1] == fn)
                return f ? ex_alu_rm_imm : ex_alu_rm_reg;
    }
    const struct {
        emu_exec_fn fast, general;
    } pairs[] = {
        {fast_incdec_mem_0_4, ex_inc_dec_rm},
        {fast_incdec_mem_0_8, ex_inc_dec_rm},
        {fast_incdec_mem_1_4, ex_inc_dec_rm},
        {fast_incdec_mem_1_8, ex_inc_dec_rm},
        {fast_mov_load_4, ex_mov_reg_rm},
        {fast_mov_load_8, ex_mov_reg_rm},
        {fast_mov_store_4, ex_mov_rm_reg},
        {fast_mov_store_8, ex_mov_rm_reg},
        {fast_cmp_mr_4, ex_alu_rm_reg},
        {fast_cmp_mr_8, ex_alu_rm_reg},
        {fast_cmp_mi_4, ex_alu_rm_imm},
        {fast_cmp_mi_8, ex_alu_rm_imm},
        {fast_mov_load_b, ex_mov_reg_rm},
        {fast_mov_store_b, ex_mov_rm_reg},
        {fast_mov_store_imm_b, ex_mov_rm_imm},
        {fast_cmp_mi_b, ex_alu_rm_imm},
        {fast_cmp_mr_b, ex_alu_rm_reg},
        {fast_test_mi_b, ex_test_rm_imm},
        {fast_test_mr_b, ex_test_rm_reg},
        {fast_test_mr_4, ex_test_rm_reg},
        {fast_test_mr_8, ex_test_rm_reg},
        {fast_test_mi_4, ex_test_rm_imm},
        {fast_test_mi_8, ex_test_rm_imm},
        {fast_cmov_4, ex_cmovcc},
        {fast_cmov_8, ex_cmovcc},
        {fast_movsxd, ex_movsxd},
        {fast_movzx_1_4, ex_movzx},
        {fast_movzx_1_8, ex_movzx},
        {fast_movzx_2_4, ex_movzx},
        {fast_movzx_2_8, ex_movzx},
        {fast_movsx_1_4, ex_movsx},
        {fast_movsx_1_8, ex_movsx},
        {fast_movsx_2_4, ex_movsx},
        {fast_movsx_2_8, ex_movsx},
        {fast_lea_4, ex_lea},
        {fast_lea_8, ex_lea},
        {fast_mov_store_imm_4, ex_mov_rm_imm},
        {fast_mov_store_imm_8, ex_mov_rm_imm},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        if (pairs[i].fast == fn)
            return pairs[i].general;
    return NULL;
}
