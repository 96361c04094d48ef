/*
 * Handlers specialised at decode time for the most frequent forms: 32- and
 * 64-bit operations on registers, MOV to and from memory, Jcc. Each does
 * exactly what the general executor it replaces does for that form (same
 * result, same lazy-flag state, same faults), with the operation and the
 * operand size fixed at compile time, so no switch, mask or size test is
 * left at run time. emu_specialize picks one after emu_decode.
 */
#include <string.h>

#include "accel/emu/exec.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE uint64_t fast_rd(const struct emu_cpu *cpu, unsigned r, unsigned size)
{
    return size == 8 ? cpu->gpr[r] : (uint32_t)cpu->gpr[r];
}

/* 32-bit writes zero the upper half (reg_write for sizes 4 and 8). */
ALWAYS_INLINE void fast_wr(struct emu_cpu *cpu, unsigned r, unsigned size, uint64_t v)
{
    cpu->gpr[r] = size == 8 ? v : (uint32_t)v;
}

/* alu() in exec_alu.c for ADD OR AND SUB XOR CMP (ADC and SBB read CF:
 * they keep the general executor). */
ALWAYS_INLINE uint64_t fast_alu(struct emu_cpu *cpu, unsigned op, unsigned size, uint64_t a,
                                uint64_t b)
{
    uint64_t r;
    int lf;
    switch (op) {
    case 0: r = a + b; lf = LF_ADD; break;
    case 1: r = a | b; lf = LF_LOGIC; break;
    case 4: r = a & b; lf = LF_LOGIC; break;
    case 6: r = a ^ b; lf = LF_LOGIC; break;
    default: r = a - b; lf = LF_SUB; break; /* SUB, CMP */
    }
    lazy_set(cpu, lf, size, a, b, r);
    return size == 8 ? r : (uint32_t)r;
}

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
        uint64_t b = size == 8 ? in->imm : (uint32_t)in->imm;                              \
        uint64_t r = fast_alu(cpu, op, size, fast_rd(cpu, in->rm, size), b);               \
        if (op != 7)                                                                       \
            fast_wr(cpu, in->rm, size, r);                                                 \
        return next(cpu, in);                                                              \
    }
#define FAST_ALU_SIZES(op) FAST_ALU(op, 4) FAST_ALU(op, 8)
FAST_ALU_SIZES(0)
FAST_ALU_SIZES(1)
FAST_ALU_SIZES(4)
FAST_ALU_SIZES(5)
FAST_ALU_SIZES(6)
FAST_ALU_SIZES(7)

/* [form][op][size == 8]; NULL for ADC and SBB. */
#define ALU_ROW(form, op) {fast_alu_##form##_##op##_4, fast_alu_##form##_##op##_8}
#define ALU_FORM(form)                                                                       \
    {ALU_ROW(form, 0), ALU_ROW(form, 1), {NULL, NULL}, {NULL, NULL}, ALU_ROW(form, 4),      \
     ALU_ROW(form, 5), ALU_ROW(form, 6), ALU_ROW(form, 7)}
static const emu_exec_fn alu_fns[3][8][2] = {ALU_FORM(rr), ALU_FORM(rrr), ALU_FORM(ri)};

/* CF of the lazy state (emu_cf), the common cases inline. */
ALWAYS_INLINE bool fast_cf(const struct emu_cpu *cpu)
{
    switch (cpu->lf.op) {
    case LF_NONE: return (cpu->rflags & RFLAGS_CF) != 0;
    case LF_LOGIC: return false;
    case LF_INC: case LF_DEC: case LF_CFOF: return cpu->lf.cf_in;
    case LF_ADD: {
        uint64_t m = size_mask(cpu->lf.size);
        return (cpu->lf.res & m) < (cpu->lf.a & m);
    }
    case LF_SUB: {
        uint64_t m = size_mask(cpu->lf.size);
        return (cpu->lf.a & m) < (cpu->lf.b & m);
    }
    default: return emu_cf(cpu);
    }
}

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
        unsigned count = (in->opcode & 0xfe) == 0xd2   ? (unsigned)(cpu->gpr[1] & 0xff)    \
                         : (in->opcode & 0xfe) == 0xd0 ? 1u                                \
                                                       : (unsigned)in->imm;                \
        const unsigned w = size * 8;                                                       \
        uint64_t a = fast_rd(cpu, in->rm, size), r;                                        \
        count &= w - 1;                                                                    \
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
FAST_MOV(4) FAST_MOV(8)

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

/* A quadword load through the read TLB, or false (fast_ea's rules). */
ALWAYS_INLINE bool fast_load(struct emu_cpu *cpu, int seg, uint64_t ea, unsigned size,
                             uint64_t *v)
{
    const uint8_t *h = emu_tlb_host(cpu, cpu->tlb_read, seg, ea, size);
    if (!h)
        return false;
    if (size == 8) {
        memcpy(v, h, 8);
    } else if (size == 4) {
        uint32_t v32;
        memcpy(&v32, h, 4);
        *v = v32;
    } else if (size == 2) {
        uint16_t v16;
        memcpy(&v16, h, 2);
        *v = v16;
    } else {
        *v = *h;
    }
    return true;
}

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
 * general), TEST on registers, MOV [mem], imm in 64-bit code. */
#define FAST_MISC(size)                                                                    \
    static EXEC(fast_lea_##size)                                                           \
    {                                                                                      \
        fast_wr(cpu, in->reg, size, emu_ea(cpu, in));                                     \
        return next(cpu, in);                                                              \
    }                                                                                      \
    static EXEC(fast_test_rr_##size)                                                       \
    {                                                                                      \
        uint64_t a = fast_rd(cpu, in->rm, size), b = fast_rd(cpu, in->reg, size);          \
        lazy_set(cpu, LF_LOGIC, size, a, b, a & b);                                        \
        return next(cpu, in);                                                              \
    }                                                                                      \
    static EXEC(fast_test_ri_##size)                                                       \
    {                                                                                      \
        uint64_t a = fast_rd(cpu, in->rm, size), b = in->imm;                              \
        lazy_set(cpu, LF_LOGIC, size, a, b, a & b);                                        \
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
FAST_MISC(4) FAST_MISC(8)

/* PUSH reg, POP reg, CALL rel, RET in 64-bit mode with a 64-bit operand:
 * a stack slot that hits the TLB inline; anything else (a miss, a
 * non-canonical target or stack) goes to the general executor, which
 * then starts from untouched state. PUSH RSP pushes the old value; POP
 * RSP leaves the popped one. */
static EXEC(fast_push)
{
    uint64_t v = cpu->gpr[in->reg], sp = cpu->gpr[4] - 8;
    uint8_t *h = emu_tlb_host(cpu, cpu->tlb_write, SEG_SS, sp, 8);
    if (!h)
        return ex_push_reg(cpu, in);
    memcpy(h, &v, 8);
    cpu->gpr[4] = sp;
    return next(cpu, in);
}

static EXEC(fast_pop)
{
    uint64_t v, sp = cpu->gpr[4];
    if (!fast_load(cpu, SEG_SS, sp, 8, &v))
        return ex_pop_reg(cpu, in);
    cpu->gpr[4] = sp + 8;
    cpu->gpr[in->reg] = v;
    return next(cpu, in);
}

static EXEC(fast_call)
{
    uint64_t ret = cpu->rip + in->len, target = ret + in->imm, sp = cpu->gpr[4] - 8;
    uint8_t *h = emu_tlb_host(cpu, cpu->tlb_write, SEG_SS, sp, 8);
    if (!h || !emu_canonical(target))
        return ex_call_rel(cpu, in);
    memcpy(h, &ret, 8);
    cpu->gpr[4] = sp;
    cpu->rip = target;
    return EMU_OK;
}

static EXEC(fast_ret)
{
    uint64_t target, sp = cpu->gpr[4];
    if (!fast_load(cpu, SEG_SS, sp, 8, &target) || !emu_canonical(target))
        return ex_ret(cpu, in);
    cpu->gpr[4] = sp + 8 + in->imm;
    cpu->rip = target;
    return EMU_OK;
}

/* Jcc rel in 64-bit mode (ex_jcc, jump_to): ZF's conditions inline, the
 * others through emu_cond; a non-canonical target is #GP(0). */
ALWAYS_INLINE int fast_branch(struct emu_cpu *cpu, const struct emu_insn *in, bool taken)
{
    uint64_t target = cpu->rip + in->len + (taken ? in->imm : 0);
    if (taken && !emu_canonical(target))
        return emu_raise_err(cpu, EXC_GP, 0);
    cpu->rip = target;
    return EMU_OK;
}

static EXEC(fast_jz)
{
    const struct emu_lazy_flags *lf = &cpu->lf;
    bool zf = lf->op == LF_NONE ? (cpu->rflags & RFLAGS_ZF) != 0
                                : (lf->res & size_mask(lf->size)) == 0;
    return fast_branch(cpu, in, zf ^ (in->sub & 1));
}

/* JS/JNS: the result's sign after any lazy operation, as emu_cond. */
static EXEC(fast_js)
{
    const struct emu_lazy_flags *lf = &cpu->lf;
    bool sf = lf->op == LF_NONE ? (cpu->rflags & RFLAGS_SF) != 0
                                : (lf->res & sign_bit(lf->size)) != 0;
    return fast_branch(cpu, in, sf ^ (in->sub & 1));
}

static EXEC(fast_jcc)
{
    return fast_branch(cpu, in, emu_cond(cpu, in->sub));
}

/* B/AE, BE/A, L/GE, LE/G right after CMP or SUB (from its operands) or
 * a logic operation (CF = OF = 0), as emu_cond does; after anything else
 * through emu_cond. */
#define FAST_JCC_SUB(name, cls)                                                             \
    static EXEC(fast_j##name)                                                               \
    {                                                                                       \
        const struct emu_lazy_flags *lf = &cpu->lf;                                         \
        bool r;                                                                             \
        if (lf->op == LF_LOGIC) { /* TEST, AND, OR, XOR: CF = OF = 0 */                     \
            bool zf = (lf->res & size_mask(lf->size)) == 0;                                 \
            bool sf = (lf->res & sign_bit(lf->size)) != 0;                                  \
            r = cls == 1 ? false : cls == 3 ? zf : cls == 6 ? sf : (zf || sf);              \
            return fast_branch(cpu, in, r ^ (in->sub & 1));                                 \
        }                                                                                   \
        if (lf->op != LF_SUB)                                                               \
            return fast_branch(cpu, in, emu_cond(cpu, in->sub));                            \
        uint64_t m = size_mask(lf->size), a = lf->a & m, b = lf->b & m;                     \
        if (cls == 1)                                                                       \
            r = a < b;                                                                      \
        else if (cls == 3)                                                                  \
            r = a <= b;                                                                     \
        else if (cls == 6)                                                                  \
            r = sign_extend(a, lf->size) < sign_extend(b, lf->size);                        \
        else                                                                                \
            r = sign_extend(a, lf->size) <= sign_extend(b, lf->size);                       \
        return fast_branch(cpu, in, r ^ (in->sub & 1));                                     \
    }
FAST_JCC_SUB(b, 1) FAST_JCC_SUB(be, 3) FAST_JCC_SUB(l, 6) FAST_JCC_SUB(le, 7)

/* Memory operands and 8- or 16-bit forms keep the general executors. */
void emu_specialize(const struct emu_cpu *cpu, struct emu_insn *in)
{
    bool mem = in->flags & INSN_MEM, q = in->opsz == 8;
    emu_exec_fn fn = in->fn;
    bool long64 = cpu->mode == MODE_LONG64;
    if (fn == ex_jcc && long64 && in->opsz == 8) {
        static const emu_exec_fn jcc[8] = {fast_jcc, fast_jb, fast_jz, fast_jbe,
                                           fast_js, fast_jcc, fast_jl, fast_jle};
        in->fn = jcc[(in->sub >> 1) & 7];
        return;
    }
    if (long64 && in->opsz == 8) {
        emu_exec_fn stack = fn == ex_push_reg ? fast_push : fn == ex_pop_reg ? fast_pop
                            : fn == ex_call_rel ? fast_call : fn == ex_ret ? fast_ret : NULL;
        if (stack) {
            in->fn = stack;
            return;
        }
    }
    if (in->opsz == 1 && mem && long64) {
        emu_exec_fn b = fn == ex_mov_reg_rm   ? fast_mov_load_b
                        : fn == ex_mov_rm_reg ? fast_mov_store_b
                        : fn == ex_mov_rm_imm ? fast_mov_store_imm_b
                        : fn == ex_test_rm_imm ? fast_test_mi_b
                        : fn == ex_alu_rm_imm && in->sub == 7 ? fast_cmp_mi_b
                        : fn == ex_alu_rm_reg && in->sub == 7 ? fast_cmp_mr_b
                                                               : NULL;
        if (b)
            in->fn = b;
        return;
    }
    if (in->opsz != 4 && in->opsz != 8)
        return;
    emu_exec_fn f = NULL;
    if (fn == ex_cmovcc && (long64 || !mem)) {
        in->fn = q ? fast_cmov_8 : fast_cmov_4;
        return;
    }
    if (fn == ex_movsxd && long64 && q) {
        in->fn = fast_movsxd;
        return;
    }
    if (mem) {
        if (long64 && fn == ex_mov_reg_rm)
            f = q ? fast_mov_load_8 : fast_mov_load_4;
        else if (long64 && fn == ex_mov_rm_reg)
            f = q ? fast_mov_store_8 : fast_mov_store_4;
        else if (long64 && (fn == ex_movzx || fn == ex_movsx) && (in->imm == 1 || in->imm == 2))
            f = movx_fns[fn == ex_movsx][in->imm == 2][q];
        else if (fn == ex_lea)
            f = q ? fast_lea_8 : fast_lea_4;
        else if (long64 && fn == ex_mov_rm_imm)
            f = q ? fast_mov_store_imm_8 : fast_mov_store_imm_4;
        else if (long64 && !(in->flags & INSN_LOCK) && fn == ex_alu_rm_reg && in->sub != 7)
            f = alu_rmw_fns[0][in->sub & 7][q];
        else if (long64 && !(in->flags & INSN_LOCK) && fn == ex_alu_rm_imm && in->sub != 7)
            f = alu_rmw_fns[1][in->sub & 7][q];
        else if (long64 && !(in->flags & INSN_LOCK) && fn == ex_inc_dec_rm && in->sub < 2)
            f = incdec_mem_fns[in->sub][q];
        else if (long64 && fn == ex_alu_reg_rm)
            f = alu_mem_fns[in->sub & 7][q];
        else if (long64 && fn == ex_alu_rm_reg && in->sub == 7)
            f = q ? fast_cmp_mr_8 : fast_cmp_mr_4;
        else if (long64 && fn == ex_alu_rm_imm && in->sub == 7)
            f = q ? fast_cmp_mi_8 : fast_cmp_mi_4;
    } else if (fn == ex_test_rm_reg) {
        f = q ? fast_test_rr_8 : fast_test_rr_4;
    } else if (fn == ex_test_rm_imm) {
        f = q ? fast_test_ri_8 : fast_test_ri_4;
    } else if (fn == ex_alu_rm_reg) {
        f = alu_fns[0][in->sub & 7][q];
    } else if (fn == ex_alu_reg_rm) {
        f = alu_fns[1][in->sub & 7][q];
    } else if (fn == ex_alu_rm_imm || fn == ex_alu_acc_imm) {
        f = alu_fns[2][in->sub & 7][q];
    } else if (fn == ex_inc_dec_rm && in->sub < 2) {
        f = incdec_rm_fns[in->sub][q];
    } else if (fn == ex_inc_dec_reg && !q) { /* 40-4F: not in 64-bit mode */
        f = in->sub ? fast_incdec_reg_1_4 : fast_incdec_reg_0_4;
    } else if (fn == ex_shift && (in->sub == 4 || in->sub == 5 || in->sub == 7)) {
        static const emu_exec_fn shifts[8][2] = {[4] = {fast_shift_4_4, fast_shift_4_8},
                                                 [5] = {fast_shift_5_4, fast_shift_5_8},
                                                 [7] = {fast_shift_7_4, fast_shift_7_8}};
        f = shifts[in->sub][q];
    } else if (fn == ex_imul_reg_rm) {
        f = q ? fast_imul_0_8 : fast_imul_0_4;
    } else if (fn == ex_imul_reg_rm_imm) {
        f = q ? fast_imul_1_8 : fast_imul_1_4;
    } else if (fn == ex_mov_rm_reg) {
        f = q ? fast_mov_rr_8 : fast_mov_rr_4;
    } else if (fn == ex_mov_reg_rm) {
        f = q ? fast_mov_rrr_8 : fast_mov_rrr_4;
    } else if (fn == ex_mov_reg_imm) {
        f = q ? fast_mov_ri_8 : fast_mov_ri_4;
    }
    if (f)
        in->fn = f;
}

/* The general executor a specialised one stands for (fn itself when it is
 * none): what the host-differential tests key the flags the SDM leaves
 * undefined on. ALU r/m, imm stands for both of its forms (80-83, 04-3D). */
emu_exec_fn emu_general_fn(emu_exec_fn fn)
{
    static const emu_exec_fn general[3] = {ex_alu_rm_reg, ex_alu_reg_rm, ex_alu_rm_imm};
    for (int op = 0; op < 8 && fn; op++) {
        for (int f = 0; f < 3; f++)
            if (alu_fns[f][op][0] == fn || alu_fns[f][op][1] == fn)
                return general[f];
        if (alu_mem_fns[op][0] == fn || alu_mem_fns[op][1] == fn)
            return ex_alu_reg_rm;
        for (int f = 0; f < 2; f++)
            if (alu_rmw_fns[f][op][0] == fn || alu_rmw_fns[f][op][1] == fn)
                return f ? ex_alu_rm_imm : ex_alu_rm_reg;
    }
    const struct {
        emu_exec_fn fast, general;
    } pairs[] = {
        {fast_incdec_rm_0_4, ex_inc_dec_rm}, {fast_incdec_rm_0_8, ex_inc_dec_rm},
        {fast_incdec_rm_1_4, ex_inc_dec_rm}, {fast_incdec_rm_1_8, ex_inc_dec_rm},
        {fast_incdec_mem_0_4, ex_inc_dec_rm}, {fast_incdec_mem_0_8, ex_inc_dec_rm},
        {fast_incdec_mem_1_4, ex_inc_dec_rm}, {fast_incdec_mem_1_8, ex_inc_dec_rm},
        {fast_incdec_reg_0_4, ex_inc_dec_reg}, {fast_incdec_reg_1_4, ex_inc_dec_reg},
        {fast_shift_4_4, ex_shift}, {fast_shift_4_8, ex_shift}, {fast_shift_5_4, ex_shift},
        {fast_shift_5_8, ex_shift}, {fast_shift_7_4, ex_shift}, {fast_shift_7_8, ex_shift},
        {fast_imul_0_4, ex_imul_reg_rm}, {fast_imul_0_8, ex_imul_reg_rm},
        {fast_imul_1_4, ex_imul_reg_rm_imm}, {fast_imul_1_8, ex_imul_reg_rm_imm},
        {fast_mov_rr_4, ex_mov_rm_reg}, {fast_mov_rr_8, ex_mov_rm_reg},
        {fast_mov_rrr_4, ex_mov_reg_rm}, {fast_mov_rrr_8, ex_mov_reg_rm},
        {fast_mov_ri_4, ex_mov_reg_imm}, {fast_mov_ri_8, ex_mov_reg_imm},
        {fast_mov_load_4, ex_mov_reg_rm}, {fast_mov_load_8, ex_mov_reg_rm},
        {fast_mov_store_4, ex_mov_rm_reg}, {fast_mov_store_8, ex_mov_rm_reg},
        {fast_jz, ex_jcc}, {fast_jcc, ex_jcc}, {fast_jb, ex_jcc}, {fast_jbe, ex_jcc},
        {fast_jl, ex_jcc}, {fast_jle, ex_jcc}, {fast_js, ex_jcc}, {fast_cmp_mr_4, ex_alu_rm_reg},
        {fast_cmp_mr_8, ex_alu_rm_reg}, {fast_cmp_mi_4, ex_alu_rm_imm},
        {fast_cmp_mi_8, ex_alu_rm_imm}, {fast_push, ex_push_reg}, {fast_pop, ex_pop_reg},
        {fast_call, ex_call_rel}, {fast_ret, ex_ret}, {fast_mov_load_b, ex_mov_reg_rm},
        {fast_mov_store_b, ex_mov_rm_reg}, {fast_mov_store_imm_b, ex_mov_rm_imm},
        {fast_cmp_mi_b, ex_alu_rm_imm}, {fast_cmp_mr_b, ex_alu_rm_reg},
        {fast_test_mi_b, ex_test_rm_imm}, {fast_cmov_4, ex_cmovcc},
        {fast_cmov_8, ex_cmovcc}, {fast_movsxd, ex_movsxd}, {fast_movzx_1_4, ex_movzx},
        {fast_movzx_1_8, ex_movzx}, {fast_movzx_2_4, ex_movzx}, {fast_movzx_2_8, ex_movzx},
        {fast_movsx_1_4, ex_movsx}, {fast_movsx_1_8, ex_movsx}, {fast_movsx_2_4, ex_movsx},
        {fast_movsx_2_8, ex_movsx}, {fast_lea_4, ex_lea},
        {fast_lea_8, ex_lea}, {fast_test_rr_4, ex_test_rm_reg},
        {fast_test_rr_8, ex_test_rm_reg}, {fast_test_ri_4, ex_test_rm_imm},
        {fast_test_ri_8, ex_test_rm_imm}, {fast_mov_store_imm_4, ex_mov_rm_imm},
        {fast_mov_store_imm_8, ex_mov_rm_imm},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        if (pairs[i].fast == fn)
            return pairs[i].general;
    return fn;
}
