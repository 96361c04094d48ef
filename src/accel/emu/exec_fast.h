/*
 * What the handlers specialised at decode time (exec_fast*.c) share:
 * register access at a fixed size, the ALU core, CF of the lazy state, a
 * load through the read TLB; and each file's picker, which emu_specialize
 * (exec_fast.c) asks in turn. Each handler does exactly what the general
 * executor it replaces does for that form (same result, same lazy-flag
 * state, same faults), with the operation and the operand size fixed at
 * compile time, so no switch, mask or size test is left at run time.
 */
#ifndef HK_EMU_EXEC_FAST_H
#define HK_EMU_EXEC_FAST_H

#include <string.h>

#include "accel/emu/exec.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* A row of a handler table: op's 32- and 64-bit fast_alu_FORM_OP_SIZE. */
#define ALU_ROW(form, op) {fast_alu_##form##_##op##_4, fast_alu_##form##_##op##_8}
/* The same with the byte form first. */
#define ALU_ROW3(form, op)                                                                 \
    {fast_alu_##form##_##op##_1, fast_alu_##form##_##op##_4, fast_alu_##form##_##op##_8}

ALWAYS_INLINE uint64_t fast_rd(const struct emu_cpu *cpu, unsigned r, unsigned size)
{
    return size == 8 ? cpu->gpr[r] : size == 4 ? (uint32_t)cpu->gpr[r] : reg_read(cpu, r, size);
}

/* 32-bit writes zero the upper half, byte ones merge (reg_write). */
ALWAYS_INLINE void fast_wr(struct emu_cpu *cpu, unsigned r, unsigned size, uint64_t v)
{
    if (size == 8 || size == 4)
        cpu->gpr[r] = size == 8 ? v : (uint32_t)v;
    else
        reg_write(cpu, r, size, v);
}

/* An instruction's immediate at an operand size. */
ALWAYS_INLINE uint64_t fast_imm(const struct emu_insn *in, unsigned size)
{
    return size == 8 ? in->imm : size == 4 ? (uint32_t)in->imm : in->imm & size_mask(size);
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

/* The count of a group 2 shift or rotate as ex_shift takes it: C0/C1 an
 * imm8, D0/D1 one, D2/D3 CL (not yet masked). */
ALWAYS_INLINE unsigned fast_shift_count(const struct emu_cpu *cpu, const struct emu_insn *in)
{
    return (in->opcode & 0xfe) == 0xd2   ? (unsigned)(cpu->gpr[1] & 0xff)
           : (in->opcode & 0xfe) == 0xd0 ? 1u
                                         : (unsigned)in->imm;
}

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

/* Each file's handler for in, just decoded, or NULL (emu_specialize asks
 * flow, then memory, then ALU; the first that has one wins). */
emu_exec_fn emu_fast_pick_flow(const struct emu_cpu *cpu, const struct emu_insn *in);
emu_exec_fn emu_fast_pick_mem(const struct emu_cpu *cpu, const struct emu_insn *in);
emu_exec_fn emu_fast_pick_alu(const struct emu_cpu *cpu, const struct emu_insn *in);
/* The general executor fn stands for when it is one of the file's
 * handlers, else NULL (emu_general_fn). */
emu_exec_fn emu_fast_general_flow(emu_exec_fn fn);
emu_exec_fn emu_fast_general_mem(emu_exec_fn fn);
emu_exec_fn emu_fast_general_alu(emu_exec_fn fn);
/* The form of fn that leaves CF and OF as they are (a ROL or ROR whose
 * flags no one sees: emu_block_flags_live), or NULL. */
emu_exec_fn emu_fast_without_cfof(emu_exec_fn fn);

#endif
