/* Segment-register instructions and far control transfers. */
#include <stddef.h>

#include "accel/emu/exec.h"
#include "accel/emu/segment.h"

/* 8E: MOV Sreg, r/m16. CS cannot be loaded this way. */
EXEC(ex_mov_sreg_rm)
{
    unsigned seg = in->reg & 7;
    if (seg == SEG_CS || seg > SEG_GS)
        return emu_raise(cpu, EXC_UD);
    uint64_t v;
    int st = rm_read(cpu, in, 2, &v);
    if (!st)
        st = emu_load_data_segment(cpu, (int)seg, (uint16_t)v);
    if (st)
        return st;
    if (seg == SEG_SS) {
        /* No interrupt and no single-step trap between MOV SS and the
         * next instruction (SDM Vol. 3A 6.8.3). */
        cpu->shadow = true;
        cpu->step_trap = false;
        emu_debug_mov_ss(cpu);
    }
    next(cpu, in);
    return EMU_END_BLOCK;
}

/* 8C: MOV r/m, Sreg: 16 bits to memory, zero-extended to a register. */
EXEC(ex_mov_rm_sreg)
{
    unsigned seg = in->reg & 7;
    if (seg > SEG_GS)
        return emu_raise(cpu, EXC_UD);
    uint16_t sel = cpu->seg[seg].selector;
    int st = rm_write(cpu, in, (in->flags & INSN_MEM) ? 2 : in->opsz, sel);
    return st ? st : next(cpu, in);
}

/* PUSH/POP of a segment register: in->sub is the segment. Intel moves
 * the stack pointer by the operand size but reads only the 16-bit
 * selector, and outside 64-bit mode writes only it too, leaving the
 * slot's upper bytes alone (AMD zero-extends a 32-bit push). */
EXEC(ex_push_sreg)
{
    uint16_t sel = cpu->seg[in->sub].selector;
    if (cpu->mode == MODE_LONG64 || in->opsz == 2) {
        int st = emu_push(cpu, in->opsz, sel);
        return st ? st : next(cpu, in);
    }
    unsigned ss = emu_stack_size(cpu);
    uint64_t sp = (cpu->gpr[4] - in->opsz) & size_mask(ss);
    int st = emu_write(cpu, SEG_SS, sp, 2, sel);
    if (st)
        return st;
    reg_write(cpu, 4, ss, sp);
    return next(cpu, in);
}

EXEC(ex_pop_sreg)
{
    uint64_t v, old_rsp = cpu->gpr[4];
    unsigned ss = emu_stack_size(cpu);
    uint64_t sp = cpu->gpr[4] & size_mask(ss);
    int st = emu_read(cpu, SEG_SS, sp, 2, &v);
    if (!st)
        reg_write(cpu, 4, ss, sp + in->opsz);
    if (!st)
        st = emu_load_data_segment(cpu, in->sub, (uint16_t)v);
    if (st) {
        cpu->gpr[4] = old_rsp;
        return st;
    }
    if (in->sub == SEG_SS) { /* as MOV SS (SDM Vol. 3A 6.8.3) */
        cpu->shadow = true;
        cpu->step_trap = false;
        emu_debug_mov_ss(cpu);
    }
    next(cpu, in);
    return EMU_END_BLOCK;
}

/* Far pointer m16:16/32/64 at the memory operand: offset then selector. */
static int read_far_pointer(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t *off,
                            uint16_t *sel)
{
    if (!(in->flags & INSN_MEM))
        return emu_raise(cpu, EXC_UD);
    uint64_t ea = emu_ea(cpu, in), s = 0;
    int st = emu_read(cpu, in->seg, ea, in->opsz, off);
    if (!st)
        st = emu_read(cpu, in->seg, (ea + in->opsz) & size_mask(in->adsz), 2, &s);
    *sel = (uint16_t)s;
    return st;
}

static int push_return(struct emu_cpu *cpu, const struct emu_insn *in, uint16_t cs)
{
    int st = emu_push(cpu, in->opsz, cs);
    return st ? st : emu_push(cpu, in->opsz, cpu->rip + in->len);
}

/* A far CALL from compatibility mode into 64-bit code: CS first, then the
 * pushes by 64-bit rules, flat on the zero-extended ESP (what the AMD host
 * does; SDM "CALL" pushes after the switch too). */
static int call_into_64(struct emu_cpu *cpu, const struct emu_insn *in, uint16_t sel)
{
    struct emu_segment old_cs = cpu->seg[SEG_CS];
    uint64_t old_rsp = cpu->gpr[4];
    int st = emu_load_code_segment(cpu, sel, (unsigned)cpu->cpl);
    if (st)
        return st;
    cpu->gpr[4] = (uint32_t)old_rsp;
    if ((st = push_return(cpu, in, old_cs.selector)) != 0) {
        cpu->seg[SEG_CS] = old_cs;
        emu_update_mode(cpu);
        cpu->gpr[4] = old_rsp;
    }
    return st;
}

/* JMP/CALL far to a code segment at the same privilege (SDM "JMP",
 * "CALL"): the descriptor, and the offset against its limit, are checked
 * before anything is written. */
int emu_far_transfer(struct emu_cpu *cpu, const struct emu_insn *in, uint16_t sel, uint64_t off,
                     bool call)
{
    struct emu_segment target;
    uint64_t old_rsp = cpu->gpr[4];
    int st = emu_check_code_segment(cpu, sel, (unsigned)cpu->cpl, &target);
    if (st)
        return st;
    bool to64 = (cpu->efer & EFER_LMA) && (target.attr & 0x2000);
    off &= size_mask(in->opsz);
    if (to64 ? !emu_canonical(off) : off > target.limit)
        return emu_raise_err(cpu, EXC_GP, 0);
    if (call && to64 && cpu->mode != MODE_LONG64) {
        st = call_into_64(cpu, in, sel);
    } else {
        if (call)
            st = push_return(cpu, in, cpu->seg[SEG_CS].selector);
        if (!st)
            st = emu_load_code_segment(cpu, sel, (unsigned)cpu->cpl);
        if (st)
            cpu->gpr[4] = old_rsp;
    }
    if (st)
        return st;
    cpu->rip = off;
    return EMU_END_BLOCK;
}

EXEC(ex_jmp_far_mem)
{
    uint64_t off;
    uint16_t sel;
    int st = read_far_pointer(cpu, in, &off, &sel);
    return st ? st : emu_far_transfer(cpu, in, sel, off, false);
}

EXEC(ex_call_far_mem)
{
    uint64_t off;
    uint16_t sel;
    int st = read_far_pointer(cpu, in, &off, &sel);
    return st ? st : emu_far_transfer(cpu, in, sel, off, true);
}

/* A far return's CS (at privilege rpl), SS when it pops one, and the new
 * RIP checked against them (outside 64-bit mode wrapped to wrap_size
 * bytes first). All checks come before any state changes (SDM "RET",
 * "IRET"): a fault leaves CS, SS and CPL as they were. The SS checks come
 * before the RIP check, at the same privilege too (IRETQ pops SS there):
 * so Intel hosts show it (AMD checks RIP first there). *rip gets the RIP
 * to load. */
static int load_return_target(struct emu_cpu *cpu, uint16_t cs, unsigned rpl, const uint16_t *ss,
                              unsigned wrap_size, uint64_t *rip)
{
    struct emu_segment old_cs = cpu->seg[SEG_CS], old_ss = cpu->seg[SEG_SS];
    int st = emu_load_code_segment(cpu, cs, rpl);
    if (!st && ss)
        st = emu_load_data_segment(cpu, SEG_SS, *ss);
    if (!st && cpu->mode != MODE_LONG64)
        *rip &= size_mask(wrap_size);
    if (!st)
        st = emu_check_far_target(cpu, *rip);
    if (st) {
        cpu->seg[SEG_CS] = old_cs;
        cpu->seg[SEG_SS] = old_ss;
        emu_update_mode(cpu);
    }
    return st;
}

/* RETF / RETF imm16 (SDM "RET"): to the same or an outer privilege level. */
EXEC(ex_retf)
{
    unsigned s = in->opsz, ss_size = emu_stack_size(cpu);
    uint64_t rip, cs = 0, rsp = 0, ss = 0, old_rsp = cpu->gpr[4];
    int st = emu_pop(cpu, s, &rip);
    if (!st)
        st = emu_pop(cpu, s, &cs);
    unsigned rpl = cs & 3;
    bool outer = !st && rpl > (unsigned)cpu->cpl && cpu->mode != MODE_REAL;
    if (!st && outer) {
        reg_write(cpu, 4, ss_size, cpu->gpr[4] + in->imm);
        st = emu_pop(cpu, s, &rsp);
        if (!st)
            st = emu_pop(cpu, s, &ss);
    }
    if (!st && rpl < (unsigned)cpu->cpl && cpu->mode != MODE_REAL)
        st = emu_raise_err(cpu, EXC_GP, (uint16_t)cs & ~3u); /* the selector: 16 bits of the slot */
    uint16_t new_ss = (uint16_t)ss;
    if (!st)
        st = load_return_target(cpu, (uint16_t)cs, cpu->mode == MODE_REAL ? 0 : rpl,
                                outer ? &new_ss : NULL, s, &rip);
    if (st) {
        cpu->gpr[4] = old_rsp;
        return st;
    }
    if (outer)
        reg_write(cpu, 4, emu_stack_size(cpu), rsp + in->imm);
    else
        reg_write(cpu, 4, ss_size, cpu->gpr[4] + in->imm);
    cpu->rip = rip;
    return EMU_END_BLOCK;
}

/* VERR/VERW: ZF=1 when the segment could be read (written) at this CPL
 * and the selector's RPL. Linux runs VERW on every return to user mode
 * to flush CPU buffers (the MDS mitigation). */
static int verify_segment(struct emu_cpu *cpu, uint16_t sel, bool write)
{
    uint64_t desc[2], f = emu_rflags(cpu) & ~RFLAGS_ZF;
    bool ok = false;
    if ((sel & ~3u) != 0) {
        int st = emu_read_descriptor(cpu, sel, desc, false);
        if (st == EMU_FAULT)
            cpu->exc.vector = -1; /* outside the table: just ZF=0 */
        else if (st)
            return st;
        else {
            struct emu_segment s = emu_segment_from_desc(sel, desc, false);
            unsigned type = s.attr & 0x1f, dpl = (s.attr >> 5) & 3;
            bool code = (type & 0x18) == 0x18, conforming = code && (type & 4);
            bool visible = conforming || (dpl >= (unsigned)cpu->cpl && dpl >= (sel & 3u));
            bool usable = write ? (type & 0x1a) == 0x12 : (!code || (type & 2));
            ok = (type & 0x10) && visible && usable;
        }
    }
    cpu->rflags = f | (ok ? RFLAGS_ZF : 0);
    return EMU_OK;
}

/* 0F 00: SLDT, STR, LLDT, LTR, VERR, VERW (by in->sub). */
EXEC(ex_group6)
{
    if (cpu->mode == MODE_REAL)
        return emu_raise(cpu, EXC_UD);
    unsigned size = (in->flags & INSN_MEM) ? 2 : in->opsz;
    uint64_t v;
    int st;
    switch (in->sub) {
    case 0:
        st = rm_write(cpu, in, size, cpu->ldtr.selector);
        break;
    case 1:
        st = rm_write(cpu, in, size, cpu->tr.selector);
        break;
    case 2:
    case 3:
        if (cpu->cpl != 0)
            return emu_raise_err(cpu, EXC_GP, 0);
        st = rm_read(cpu, in, 2, &v);
        if (!st)
            st = emu_load_system_segment(cpu, in->sub == 3, (uint16_t)v);
        break;
    case 4:
    case 5:
        st = rm_read(cpu, in, 2, &v);
        if (!st)
            st = verify_segment(cpu, (uint16_t)v, in->sub == 5);
        break;
    default:
        return emu_raise(cpu, EXC_UD);
    }
    return st ? st : next(cpu, in);
}

/* LAR (0F 02) and LSL (0F 03): ZF=1 and the access rights or limit when
 * the descriptor is visible at this CPL/RPL, else ZF=0. */
EXEC(ex_lar_lsl)
{
    if (cpu->mode == MODE_REAL)
        return emu_raise(cpu, EXC_UD);
    uint64_t v, desc[2];
    int st = rm_read(cpu, in, 2, &v);
    if (st)
        return st;
    uint16_t sel = (uint16_t)v;
    uint64_t f = emu_rflags(cpu) & ~RFLAGS_ZF;
    if ((sel & ~3u) != 0) {
        st = emu_read_descriptor(cpu, sel, desc, false);
        if (st == EMU_FAULT) {
            cpu->exc.vector = -1; /* out of the table: just ZF=0 */
        } else if (st) {
            return st;
        } else {
            struct emu_segment s = emu_segment_from_desc(sel, desc, false);
            unsigned dpl = (s.attr >> 5) & 3, type = s.attr & 0x1f;
            bool conforming_code = (type & 0x1c) == 0x1c;
            bool visible = conforming_code || (dpl >= (unsigned)cpu->cpl && dpl >= (sel & 3u));
            if (visible && (type & 0x10)) {
                f |= RFLAGS_ZF;
                uint64_t r = in->opcode == 0x03 ? s.limit : (desc[0] >> 32) & 0x00f0ff00;
                reg_write(cpu, in->reg, in->opsz, r);
            }
        }
    }
    cpu->rflags = f;
    return next(cpu, in);
}

/* The RFLAGS bits IRET may change: IOPL only at CPL 0, IF only when
 * CPL <= IOPL (SDM "IRET", operation). VM is never set in long mode. */
static uint64_t iret_flags(struct emu_cpu *cpu, uint64_t popped, unsigned size)
{
    uint64_t old = emu_rflags(cpu);
    uint64_t changeable = 0x254dd5ull | 0x4000ull | 0x10000ull; /* + NT, RF */
    unsigned iopl = (old >> 12) & 3;
    if (cpu->cpl == 0)
        changeable |= 0x3000ull | RFLAGS_IF | 0x180000ull; /* VIF VIP */
    else if ((unsigned)cpu->cpl <= iopl)
        changeable |= RFLAGS_IF;
    if (size == 2)
        changeable &= 0xffff;
    return (old & ~changeable) | (popped & changeable);
}

/* IRET in real mode, and in protected/long mode to the same or an outer
 * privilege level (no task switches, no virtual-8086 mode). */
static int iret(struct emu_cpu *cpu, const struct emu_insn *in)
{
    unsigned s = in->opsz;
    uint64_t rip, cs, fl, rsp = 0, ss = 0, old_rsp = cpu->gpr[4];
    /* A nested-task return does not exist in IA-32e mode (SDM "IRET":
     * "IF NT = 1 ... IF IA32_EFER.LMA = 1 THEN #GP(0)"), before any pop. */
    if (cpu->mode != MODE_REAL && (cpu->rflags & 0x4000ull) && (cpu->efer & EFER_LMA))
        return emu_raise_err(cpu, EXC_GP, 0);
    int st = emu_pop(cpu, s, &rip);
    if (!st)
        st = emu_pop(cpu, s, &cs);
    if (!st)
        st = emu_pop(cpu, s, &fl);
    if (st)
        goto fail;
    if (cpu->mode == MODE_REAL) {
        emu_set_rflags(cpu, iret_flags(cpu, fl, s));
        st = emu_load_code_segment(cpu, (uint16_t)cs, 0);
        cpu->rip = rip & 0xffff;
        return EMU_END_BLOCK;
    }
    unsigned rpl = cs & 3;
    bool outer = rpl > (unsigned)cpu->cpl;
    if (rpl < (unsigned)cpu->cpl) {
        st = emu_raise_err(cpu, EXC_GP, (uint16_t)cs & ~3u); /* the selector: 16 bits of the slot */
        goto fail;
    }
    /* 64-bit mode always pops SS:RSP; other modes only when going outward.
     * Intel checks these two pops' alignment with the AC just popped (an
     * IRETQ at CPL 3 to AC=1 from a misaligned frame is #AC(0); seen on
     * the host as an #AC whose frame shows AC=0). */
    if (cpu->mode == MODE_LONG64 || outer) {
        uint64_t keep = cpu->rflags;
        cpu->rflags = (keep & ~RFLAGS_AC) | (iret_flags(cpu, fl, s) & RFLAGS_AC);
        st = emu_pop(cpu, s, &rsp);
        if (!st)
            st = emu_pop(cpu, s, &ss);
        cpu->rflags = (cpu->rflags & ~RFLAGS_AC) | (keep & RFLAGS_AC);
        if (st)
            goto fail;
    }
    uint64_t new_flags = iret_flags(cpu, fl, s);
    bool pops_ss = cpu->mode == MODE_LONG64 || outer;
    uint16_t new_ss = (uint16_t)ss;
    /* SS is checked at the new CPL; a fault there leaves CS as it was
     * (found by test_cpu_diff: IRETQ to a good CS, bad SS). */
    if ((st = load_return_target(cpu, (uint16_t)cs, rpl, pops_ss ? &new_ss : NULL, 4, &rip)) != 0)
        goto fail;
    if (pops_ss) {
        if (cpu->mode == MODE_LONG64)
            cpu->gpr[4] = rsp;
        else if (cpu->seg[SEG_SS].attr & 0x4000)
            cpu->gpr[4] = (uint32_t)rsp;
        else /* a 16-bit stack: only SP is loaded (the leak Linux's espfix64 covers) */
            cpu->gpr[4] = (cpu->gpr[4] & ~0xffffull) | (rsp & 0xffff);
    }
    emu_set_rflags(cpu, new_flags);
    cpu->rip = rip;
    return EMU_END_BLOCK;
fail:
    cpu->gpr[4] = old_rsp;
    return st;
}

/* IRET ends NMI blocking, even when it then faults (SDM Vol. 3A 6.7.1;
 * Vol. 3C 27.2.3 "NMI unblocking due to IRET"); an NMI held back, or an
 * interrupt the new IF lets in, comes right after it. */
EXEC(ex_iret)
{
    uint64_t was_if = cpu->rflags & RFLAGS_IF;
    if (cpu->nmi_blocked) {
        cpu->nmi_blocked = false;
        emu_recheck_events(cpu);
    }
    int st = iret(cpu, in);
    if (!was_if && (cpu->rflags & RFLAGS_IF))
        emu_recheck_events(cpu);
    return st;
}
