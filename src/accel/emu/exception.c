/*
 * Exception and interrupt delivery (SDM Vol. 3A ch. 6): through the IVT in
 * real mode and through 64-bit IDT gates in long mode, with IST and the
 * TSS stack switch; a fault while delivering is delivered itself or
 * becomes #DF as the exception classes say, and a fault while delivering
 * #DF shuts the CPU down (triple fault).
 */
#include <stdio.h>
#include <string.h>

#include "accel/emu/emu.h"
#include "accel/emu/segment.h"

int emu_raise(struct emu_cpu *cpu, int vector)
{
    cpu->exc = (struct emu_exception){vector, false, 0};
    return EMU_FAULT;
}

int emu_raise_err(struct emu_cpu *cpu, int vector, uint32_t error)
{
    cpu->exc = (struct emu_exception){vector, true, error};
    return EMU_FAULT;
}

static int deliver_real(struct emu_cpu *cpu, int vector, uint64_t ret)
{
    uint32_t ivt;
    if ((uint64_t)vector * 4 + 3 > cpu->idtr.limit)
        return emu_raise_err(cpu, EXC_GP, (uint32_t)vector * 8 + 2);
    uint64_t old_sp = cpu->gpr[4];
    int st = emu_read_system(cpu, emu_system_lin(cpu, cpu->idtr.base, (uint64_t)vector * 4), &ivt, 4);
    if (!st)
        st = emu_push(cpu, 2, emu_rflags(cpu));
    if (!st)
        st = emu_push(cpu, 2, cpu->seg[SEG_CS].selector);
    if (!st)
        st = emu_push(cpu, 2, ret);
    if (st) {
        /* A fault or device exit part-way: delivery starts over from the
         * same SP (replayed accesses must match). */
        cpu->gpr[4] = old_sp;
        return st;
    }
    cpu->rflags &= ~(RFLAGS_IF | RFLAGS_TF | 0x40000ull);
    cpu->seg[SEG_CS].selector = (uint16_t)(ivt >> 16);
    cpu->seg[SEG_CS].base = (ivt >> 16) << 4;
    cpu->rip = ivt & 0xffff;
    return EMU_OK;
}

struct gate64 {
    uint64_t offset;
    uint16_t selector;
    uint8_t ist, type, dpl;
    bool present;
};

static int read_gate64(struct emu_cpu *cpu, int vector, struct gate64 *g)
{
    uint64_t raw[2];
    if ((uint64_t)vector * 16 + 15 > cpu->idtr.limit)
        return emu_raise_err(cpu, EXC_GP, (uint32_t)vector * 8 + 2);
    int st = emu_read_system(cpu, emu_system_lin(cpu, cpu->idtr.base, (uint64_t)vector * 16), raw, 16);
    if (st)
        return st;
    g->offset = (raw[0] & 0xffff) | ((raw[0] >> 32) & 0xffff0000ull) | (raw[1] << 32);
    g->selector = (uint16_t)(raw[0] >> 16);
    g->ist = (raw[0] >> 32) & 7;
    g->type = (raw[0] >> 40) & 0xf;
    g->dpl = (raw[0] >> 45) & 3;
    g->present = (raw[0] >> 47) & 1;
    return EMU_OK;
}

/* The 64-bit code segment a gate points at; returns its DPL in *dpl and
 * whether it is conforming in *conforming. */
static int gate_code_segment(struct emu_cpu *cpu, uint16_t sel, int *dpl, bool *conforming)
{
    uint64_t raw[2];
    if ((sel & ~3u) == 0)
        return emu_raise_err(cpu, EXC_GP, 0);
    int st = emu_read_descriptor(cpu, sel, raw, false);
    if (st)
        return st;
    uint64_t desc = raw[0];
    bool code = ((desc >> 43) & 3) == 3, present = (desc >> 47) & 1, l = (desc >> 53) & 1;
    if (!code || !l)
        return emu_raise_err(cpu, EXC_GP, sel & ~3u);
    if (!present)
        return emu_raise_err(cpu, EXC_NP, sel & ~3u);
    *dpl = (desc >> 45) & 3;
    *conforming = (desc >> 42) & 1;
    return EMU_OK;
}

static int deliver_long(struct emu_cpu *cpu, int vector, bool software, uint64_t ret,
                        const struct emu_exception *e)
{
    struct gate64 g = {0};
    int st = read_gate64(cpu, vector, &g);
    if (st)
        return st;
    if ((g.type != 0xe && g.type != 0xf) || (software && g.dpl < cpu->cpl))
        return emu_raise_err(cpu, EXC_GP, (uint32_t)vector * 8 + 2);
    if (!g.present)
        return emu_raise_err(cpu, EXC_NP, (uint32_t)vector * 8 + 2);
    int cs_dpl = 0;
    bool conforming = false;
    if ((st = gate_code_segment(cpu, g.selector, &cs_dpl, &conforming)) != 0)
        return st;
    /* A handler never runs less privileged than the interrupted code, and
     * its RIP must be canonical (SDM Vol. 3A 6.14.1, "INT n" operation).
     * The DPL check holds for conforming segments too, but those run the
     * handler at the current privilege level (SDM Vol. 3A 6.12.1.1). */
    if (cs_dpl > cpu->cpl)
        return emu_raise_err(cpu, EXC_GP, g.selector & ~3u);
    int new_cpl = conforming ? cpu->cpl : cs_dpl;
    if (!emu_canonical(g.offset))
        return emu_raise_err(cpu, EXC_GP, 0);
    uint64_t old_rsp = cpu->gpr[4], old_ss = cpu->seg[SEG_SS].selector;
    uint64_t rsp = old_rsp;
    if (g.ist || new_cpl < cpu->cpl) {
        uint64_t off = g.ist ? 0x24 + 8ull * (g.ist - 1) : 4 + 8ull * (unsigned)new_cpl;
        if (off + 7 > cpu->tr.limit)
            return emu_raise_err(cpu, EXC_TS, cpu->tr.selector & ~3u);
        if ((st = emu_read_system(cpu, emu_system_lin(cpu, cpu->tr.base, off), &rsp, 8)) != 0)
            return st;
    }
    rsp &= ~0xfull;
    /* A stack that is not canonical: #SS (EXT added by emu_interrupt;
     * SDM Vol. 3A 6.14.4 and "INT n", IA-32e mode). */
    if (!emu_canonical(rsp - 48) || !emu_canonical(rsp - 1))
        return emu_raise_err(cpu, EXC_SS, 0);
    uint64_t frame[6] = {e->error, ret, cpu->seg[SEG_CS].selector, emu_rflags(cpu), old_rsp, old_ss};
    int first = e->has_error ? 0 : 1;
    uint64_t top = rsp - 8ull * (unsigned)(6 - first);
    int saved_cpl = cpu->cpl;
    cpu->cpl = new_cpl; /* the frame goes to the new stack, at the new CPL */
    /* SS first, as the SDM pushes it: a fault reports the highest slot. */
    for (int i = 5; i >= first; i--) {
        st = emu_write_lin(cpu, top + 8ull * (unsigned)(i - first), &frame[i], 8);
        if (st) {
            cpu->cpl = saved_cpl;
            return st;
        }
    }
    cpu->gpr[4] = top;
    if (new_cpl < saved_cpl) {
        cpu->seg[SEG_SS] = (struct emu_segment){0, 0, (uint16_t)new_cpl, 0};
    }
    cpu->cpl = new_cpl;
    cpu->seg[SEG_CS].selector = (uint16_t)((g.selector & ~3u) | (unsigned)new_cpl);
    cpu->seg[SEG_CS].attr = 0xa09b | (uint16_t)(cs_dpl << 5) | (conforming ? 4u : 0u);
    cpu->seg[SEG_CS].base = 0;
    cpu->seg[SEG_CS].limit = 0xffffffff;
    cpu->rflags &= ~(RFLAGS_TF | 0x4000ull | 0x10000ull | 0x20000ull); /* TF NT RF VM */
    if (g.type == 0xe)
        cpu->rflags &= ~RFLAGS_IF;
    cpu->rip = g.offset;
    emu_update_mode(cpu); /* TLB entries are tagged user/supervisor: no flush */
    return EMU_OK;
}

/* Protected mode (16/32-bit): 8-byte interrupt and trap gates, with the
 * TSS's SS:ESP for an inner privilege level (SDM 6.12.1). Task gates are
 * not supported. */
static int deliver_legacy(struct emu_cpu *cpu, int vector, bool software, uint64_t ret,
                          const struct emu_exception *e)
{
    uint64_t raw;
    if ((uint64_t)vector * 8 + 7 > cpu->idtr.limit)
        return emu_raise_err(cpu, EXC_GP, (uint32_t)vector * 8 + 2);
    int st = emu_read_system(cpu, emu_system_lin(cpu, cpu->idtr.base, (uint64_t)vector * 8), &raw, 8);
    if (st)
        return st;
    unsigned type = (raw >> 40) & 0x1f, dpl = (raw >> 45) & 3;
    uint16_t sel = (uint16_t)(raw >> 16);
    uint32_t offset = (uint32_t)((raw & 0xffff) | ((raw >> 32) & 0xffff0000));
    bool gate32 = type == 0xe || type == 0xf;
    if (!gate32 && type != 0x6 && type != 0x7)
        return emu_raise_err(cpu, EXC_GP, (uint32_t)vector * 8 + 2);
    if (software && dpl < (unsigned)cpu->cpl)
        return emu_raise_err(cpu, EXC_GP, (uint32_t)vector * 8 + 2);
    if (!((raw >> 47) & 1))
        return emu_raise_err(cpu, EXC_NP, (uint32_t)vector * 8 + 2);
    uint64_t desc[2];
    if ((sel & ~3u) == 0)
        return emu_raise_err(cpu, EXC_GP, 0);
    if ((st = emu_read_descriptor(cpu, sel, desc, false)) != 0)
        return st;
    unsigned cs_dpl = (desc[0] >> 45) & 3;
    bool conforming = ((desc[0] >> 42) & 1) != 0;
    unsigned new_cpl = conforming ? (unsigned)cpu->cpl : cs_dpl;
    if (cs_dpl > (unsigned)cpu->cpl || !((desc[0] >> 43) & 1))
        return emu_raise_err(cpu, EXC_GP, sel & ~3u);
    unsigned size = gate32 ? 4 : 2;
    uint64_t flags = emu_rflags(cpu);
    struct emu_segment old_ss = cpu->seg[SEG_SS], old_cs = cpu->seg[SEG_CS];
    uint64_t old_esp = cpu->gpr[4];
    int old_cpl = cpu->cpl;
    if (new_cpl < (unsigned)cpu->cpl) {
        uint32_t esp;
        uint16_t ss;
        uint64_t off = 8ull * new_cpl;
        if (off + 9 > cpu->tr.limit)
            return emu_raise_err(cpu, EXC_TS, cpu->tr.selector & ~3u);
        if ((st = emu_read_system(cpu, emu_system_lin(cpu, cpu->tr.base, off + 4), &esp, 4)) != 0 ||
            (st = emu_read_system(cpu, emu_system_lin(cpu, cpu->tr.base, off + 8), &ss, 2)) != 0)
            return st;
        cpu->cpl = (int)new_cpl; /* SS is checked against the new CPL */
        if ((st = emu_load_data_segment(cpu, SEG_SS, ss)) != 0)
            goto fail;
        cpu->gpr[4] = esp;
        if ((st = emu_push(cpu, size, old_ss.selector)) != 0 ||
            (st = emu_push(cpu, size, old_esp)) != 0)
            goto fail;
    }
    if ((st = emu_push(cpu, size, flags)) != 0 ||
        (st = emu_push(cpu, size, old_cs.selector)) != 0 || (st = emu_push(cpu, size, ret)) != 0 ||
        (e->has_error && (st = emu_push(cpu, size, e->error)) != 0))
        goto fail;
    cpu->cpl = old_cpl;
    if ((st = emu_load_code_segment(cpu, sel, new_cpl)) != 0)
        goto fail;
    cpu->rflags &= ~(RFLAGS_TF | 0x4000ull | 0x10000ull | 0x20000ull);
    if (type == 0xe || type == 0x6)
        cpu->rflags &= ~RFLAGS_IF;
    cpu->rip = gate32 ? offset : (offset & 0xffff);
    return EMU_OK;
fail:
    cpu->seg[SEG_SS] = old_ss;
    cpu->seg[SEG_CS] = old_cs;
    cpu->gpr[4] = old_esp;
    cpu->cpl = old_cpl;
    emu_update_mode(cpu);
    return st;
}

/* Faults with a selector-format error code (SDM Vol. 3A 6.13). */
static bool selector_error(int vector)
{
    return vector == EXC_TS || vector == EXC_NP || vector == EXC_SS || vector == EXC_GP;
}

int emu_interrupt(struct emu_cpu *cpu, int vector, enum emu_int_kind kind, uint64_t return_rip)
{
    struct emu_exception none = {vector, false, 0};
    const struct emu_exception *e = kind == INT_EXCEPTION ? &cpu->exc : &none;
    bool software = kind == INT_SOFTWARE;
    /* Delivery's own accesses raise no data breakpoint here (debug.c);
     * one a MOV SS holds survives an INT n right after it. */
    uint8_t dbg_hit = cpu->dbg_hit;
    emu_rflags(cpu);
    int st;
    if (cpu->mode == MODE_REAL)
        st = deliver_real(cpu, vector, return_rip);
    else if (cpu->efer & EFER_LMA)
        st = deliver_long(cpu, vector, software, return_rip, e);
    else
        st = deliver_legacy(cpu, vector, software, return_rip, e);
    cpu->dbg_hit = dbg_hit;
    /* The handler starts with TF clear and no single-step trap: INT n,
     * INT3, INTO and INT1 are not trapped (SDM Vol. 3A 6.12.1.3, "clearing
     * TF prevents instruction tracing from affecting interrupt response"). */
    if (st == EMU_OK)
        cpu->step_trap = false;
    /* A fault while delivering an event external to the program (an
     * interrupt, NMI, INT1 or an exception, not INT n/INT3/INTO) sets EXT,
     * bit 0 of its error code (SDM Vol. 3A 6.13). */
    if (st == EMU_FAULT && !software && selector_error(cpu->exc.vector))
        cpu->exc.error |= 1;
    return st;
}

/* For #UD: the bytes at RIP, to name the missing instruction. Only from
 * RAM and only the page RIP is in: reading a device here would enter the
 * access log, and a fault would change CR2. */
static void trace_insn_bytes(struct emu_cpu *cpu)
{
    if (!cpu->vm->trace)
        return;
    uint8_t b[8] = {0};
    uint64_t lin = cpu->mode == MODE_LONG64 ? cpu->rip : (uint32_t)(cpu->seg[SEG_CS].base + cpu->rip);
    unsigned in_page = 4096 - (unsigned)(lin & 0xfff), n = in_page < 8 ? in_page : 8;
    struct emu_exception saved = cpu->exc;
    uint64_t gpa, cr2 = cpu->cr2;
    const uint8_t *p;
    if (emu_translate(cpu, lin, ACC_EXEC, &gpa) == EMU_OK && (p = emu_ram(cpu->vm, gpa, n)))
        memcpy(b, p, n);
    emu_trace(cpu, "  bytes %02x %02x %02x %02x %02x %02x %02x %02x", b[0], b[1], b[2], b[3], b[4],
              b[5], b[6], b[7]);
    cpu->exc = saved;
    cpu->cr2 = cr2;
}

static int shutdown(struct emu_cpu *cpu)
{
    emu_trace_crash(cpu, "triple fault");
    cpu->exit->reason = ACCEL_EXIT_SHUTDOWN;
    return EMU_EXIT;
}

/* Exception classes for a fault during delivery (SDM Vol. 3A 6.15,
 * "Interrupt 8", table 6-4). Interrupts, NMI and INT n are benign. */
enum exc_class { CLASS_BENIGN, CLASS_CONTRIBUTORY, CLASS_PAGE_FAULT, CLASS_DOUBLE };

static enum exc_class exc_class(int vector)
{
    switch (vector) {
    case EXC_DE: case EXC_TS: case EXC_NP: case EXC_SS: case EXC_GP: return CLASS_CONTRIBUTORY;
    case EXC_PF: return CLASS_PAGE_FAULT;
    case EXC_DF: return CLASS_DOUBLE;
    default: return CLASS_BENIGN;
    }
}

/* Table 6-5: the pairs that make a double fault; the others deliver the
 * second exception (the first is lost, and a fault recurs on return). */
static bool makes_double_fault(int first, int second)
{
    enum exc_class a = exc_class(first), b = exc_class(second);
    return (a == CLASS_CONTRIBUTORY && b == CLASS_CONTRIBUTORY) ||
           (a == CLASS_PAGE_FAULT && (b == CLASS_CONTRIBUTORY || b == CLASS_PAGE_FAULT));
}

/* Fault-class exceptions push RF=1, so the IRET back to the faulting
 * instruction does not stop at an instruction breakpoint on it again
 * (SDM Vol. 3B 17.3.1.1). #DB sets RF itself when it is a fault (general
 * detect, debug.c); traps, aborts and interrupts push RF as it is. */
static bool pushes_rf(const struct emu_exception *e)
{
    switch (e->vector) {
    case EXC_DE: case 5: case EXC_UD: case EXC_NM: case EXC_TS: case EXC_NP: case EXC_SS:
    case EXC_GP: case EXC_PF: case EXC_MF: case EXC_AC: case EXC_XM: return true;
    default: return false;
    }
}

static int deliver_one(struct emu_cpu *cpu)
{
    if (pushes_rf(&cpu->exc) && cpu->mode != MODE_REAL)
        cpu->rflags |= RFLAGS_RF;
    return emu_interrupt(cpu, cpu->exc.vector, INT_EXCEPTION, cpu->rip);
}

int emu_deliver_pending(struct emu_cpu *cpu)
{
    struct emu_exception first = cpu->exc;
    uint64_t rf = cpu->rflags & RFLAGS_RF;
    cpu->exc_pending = false;
    /* Breakpoint hits of an instruction that did not complete are lost. */
    cpu->dbg_hit = 0;
    cpu->dbg_hold = false;
    emu_trace(cpu, "exception %d error=%#x rip=%llx cr2=%llx", first.vector,
              first.has_error ? first.error : 0, (unsigned long long)cpu->rip,
              (unsigned long long)cpu->cr2);
    if (first.vector == EXC_UD)
        trace_insn_bytes(cpu);
    /* Benign, contributory, page fault, double fault: a chain of four at
     * most before the shutdown; a benign fault (#AC) on every try of a
     * CPL-3 handler's stack would go on forever, so stop there too. */
    for (int tries = 0;; tries++) {
        int vector = cpu->exc.vector;
        int st = deliver_one(cpu);
        if (st == EMU_OK) {
            cpu->exc.vector = -1;
            return st;
        }
        if (st == EMU_EXIT) {
            /* The IDT, TSS or stack is outside RAM: the VMM completes the
             * access, and the run loop delivers the first exception again,
             * replaying it. */
            cpu->exc = first;
            cpu->exc_pending = true;
            cpu->rflags = (cpu->rflags & ~RFLAGS_RF) | rf; /* as it was for the retry */
            return st;
        }
        emu_trace(cpu, "exception %d while delivering %d", cpu->exc.vector, vector);
        if (vector == EXC_DF || tries == 8) {
            cpu->exc.vector = -1;
            return shutdown(cpu);
        }
        if (makes_double_fault(vector, cpu->exc.vector))
            cpu->exc = (struct emu_exception){EXC_DF, true, 0};
    }
}
