/*
 * x87 executors: register and memory forms (run on the host FPU through
 * x87_host_exec), the status and control words, FNCLEX, FNINIT, FWAIT and
 * EMMS. SDM Vol. 1 ch. 8; Vol. 2 instruction pages.
 */
#include <string.h>

#include "accel/emu/x87.h"

/* Bytes of memory operand for D8-DF by ModRM.reg; 0 marks forms handled
 * elsewhere (environment, control word) or undefined. */
static const uint8_t mem_size[8][8] = {
    {4, 4, 4, 4, 4, 4, 4, 4},      /* D8: m32fp arithmetic */
    {4, 0, 4, 4, 0, 0, 0, 0},      /* D9: FLD/FST/FSTP m32fp */
    {4, 4, 4, 4, 4, 4, 4, 4},      /* DA: m32int arithmetic */
    {4, 4, 4, 4, 0, 10, 0, 10},    /* DB: FILD/FISTTP/FIST/FISTP m32, FLD/FSTP m80 */
    {8, 8, 8, 8, 8, 8, 8, 8},      /* DC: m64fp arithmetic */
    {8, 8, 8, 8, 0, 0, 0, 0},      /* DD: FLD/FISTTP/FST/FSTP m64 */
    {2, 2, 2, 2, 2, 2, 2, 2},      /* DE: m16int arithmetic */
    {2, 2, 2, 2, 10, 8, 10, 8},    /* DF: m16int, FBLD, FILD m64, FBSTP, FISTP m64 */
};

int x87_begin(struct emu_cpu *cpu, bool waiting)
{
    int st = emu_fpu_check(cpu);
    if (st)
        return st;
    /* With CR0.NE clear a PC reports the error on FERR#/IRQ 13, which this
     * CPU does not model: the error is then ignored (as with IGNNE#). */
    const struct emu_fpu *f = &cpu->fpu;
    if (waiting && (cpu->cr0 & X87_CR0_NE) && (f->fsw & ~f->fcw & FSW_EXC))
        return emu_raise(cpu, EXC_MF);
    return EMU_OK;
}

int x87_operand(struct emu_cpu *cpu, const struct emu_insn *in, unsigned size,
                enum emu_access acc, uint64_t *ea, uint64_t *lin)
{
    *ea = emu_ea(cpu, in);
    return emu_linear(cpu, in->seg, *ea, size, acc, lin);
}

/* Every non-control instruction records where it was and what it touched
 * (SDM Vol. 1 8.1.8, 8.1.9). */
static void set_pointers(struct emu_cpu *cpu, const struct emu_insn *in, uint64_t ea)
{
    struct emu_fpu *f = &cpu->fpu;
    f->fop = (uint16_t)(((in->opcode & 7) << 8) | in->sub);
    f->fip = cpu->rip;
    f->fcs = cpu->seg[SEG_CS].selector;
    if (in->flags & INSN_MEM) {
        f->fdp = ea;
        f->fds = cpu->seg[in->seg].selector;
    }
}

/* FCMOVcc reads the arithmetic flags; FCOMI and family write them. */
static bool reads_flags(const struct emu_insn *in)
{
    return (in->opcode == 0xda || in->opcode == 0xdb) && in->sub < 0xe0;
}

static bool writes_flags(const struct emu_insn *in)
{
    return (in->opcode == 0xdb || in->opcode == 0xdf) && in->sub >= 0xe8 && in->sub < 0xf8;
}

EXEC(ex_x87_reg)
{
    int st = x87_begin(cpu, true);
    if (st)
        return st;
    bool wf = writes_flags(in);
    uint64_t fl = reads_flags(in) || wf ? emu_rflags(cpu) : 0;
    x87_host_exec(&cpu->fpu, in->opcode, in->sub, NULL, &fl);
    if (wf)
        emu_set_rflags(cpu, (emu_rflags(cpu) & ~RFLAGS_ARITH) | fl);
    set_pointers(cpu, in, 0);
    return next(cpu, in);
}

EXEC(ex_x87_mload)
{
    int st = x87_begin(cpu, true);
    if (st)
        return st;
    unsigned size = mem_size[in->opcode & 7][(in->sub >> 3) & 7];
    uint64_t ea, lin, fl = 0;
    _Alignas(16) uint8_t buf[16] = {0};
    if ((st = x87_operand(cpu, in, size, ACC_READ, &ea, &lin)) != 0 ||
        (st = emu_read_lin(cpu, lin, buf, size, ACC_READ)) != 0)
        return st;
    x87_host_exec(&cpu->fpu, in->opcode, in->sub, buf, &fl);
    set_pointers(cpu, in, ea);
    return next(cpu, in);
}

/* Stores: nothing reaches memory when the store raised an unmasked
 * exception other than precision (SDM Vol. 1 8.5: the destination is left
 * unchanged and the stack is not popped; the host does the latter). */
EXEC(ex_x87_mstore)
{
    int st = x87_begin(cpu, true);
    if (st)
        return st;
    unsigned size = mem_size[in->opcode & 7][(in->sub >> 3) & 7];
    uint64_t ea, lin, fl = 0;
    _Alignas(16) uint8_t buf[16] = {0};
    if ((st = x87_operand(cpu, in, size, ACC_WRITE, &ea, &lin)) != 0)
        return st;
    struct emu_fpu f = cpu->fpu;
    unsigned raised = x87_host_exec(&f, in->opcode, in->sub, buf, &fl);
    if (!(raised & ~f.fcw & (FSW_EXC & ~FSW_PE)) &&
        (st = emu_write_lin(cpu, lin, buf, size)) != 0)
        return st;
    cpu->fpu = f;
    set_pointers(cpu, in, ea);
    return next(cpu, in);
}

EXEC(ex_fnstsw_ax)
{
    int st = x87_begin(cpu, false);
    if (st)
        return st;
    reg_write(cpu, 0, 2, cpu->fpu.fsw);
    return next(cpu, in);
}

static int store_word(struct emu_cpu *cpu, const struct emu_insn *in, uint16_t v)
{
    int st = x87_begin(cpu, false);
    if (st)
        return st;
    if ((st = emu_write(cpu, in->seg, emu_ea(cpu, in), 2, v)) != 0)
        return st;
    return next(cpu, in);
}

EXEC(ex_fnstsw_m)
{
    return store_word(cpu, in, cpu->fpu.fsw);
}

EXEC(ex_fnstcw)
{
    return store_word(cpu, in, cpu->fpu.fcw);
}

EXEC(ex_fldcw)
{
    int st = x87_begin(cpu, true);
    if (st)
        return st;
    uint64_t v;
    if ((st = emu_read(cpu, in->seg, emu_ea(cpu, in), 2, &v)) != 0)
        return st;
    cpu->fpu.fcw = (uint16_t)((v & FCW_VALID) | FCW_ONES);
    x87_update_es(&cpu->fpu);
    return next(cpu, in);
}

EXEC(ex_fnclex)
{
    int st = x87_begin(cpu, false);
    if (st)
        return st;
    cpu->fpu.fsw &= (uint16_t)~(FSW_STICKY | FSW_ES | FSW_B);
    return next(cpu, in);
}

EXEC(ex_fninit)
{
    int st = x87_begin(cpu, false);
    if (st)
        return st;
    x87_init_state(&cpu->fpu);
    return next(cpu, in);
}

/* WAIT/FWAIT: #NM only when both CR0.MP and CR0.TS are set (SDM Vol. 3A
 * table 2-2), then any pending unmasked x87 exception. */
EXEC(ex_fwait)
{
    if ((cpu->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
        return emu_raise(cpu, EXC_NM);
    const struct emu_fpu *f = &cpu->fpu;
    if ((cpu->cr0 & X87_CR0_NE) && (f->fsw & ~f->fcw & FSW_EXC))
        return emu_raise(cpu, EXC_MF);
    return next(cpu, in);
}

/* EMMS: #UD under CR0.EM, #NM under CR0.TS, waits like an x87 op; then
 * every register is empty and TOP is 0 (SDM Vol. 1 table 9-3). */
EXEC(ex_emms)
{
    if (cpu->cr0 & CR0_EM)
        return emu_raise(cpu, EXC_UD);
    int st = x87_begin(cpu, true);
    if (st)
        return st;
    cpu->fpu.ftw = 0;
    cpu->fpu.fsw &= (uint16_t)~FSW_TOP;
    return next(cpu, in);
}
