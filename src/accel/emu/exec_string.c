/*
 * String instructions with REP/REPE/REPNE. Each iteration commits on its
 * own (registers updated, device accesses final), so an exit or fault in
 * iteration N resumes at iteration N, as on hardware.
 */
#include "accel/emu/exec.h"

#define REP_BATCH 65536 /* iterations before giving kicks a chance */

typedef int (*iter_fn)(struct emu_cpu *cpu, const struct emu_insn *in, int64_t delta);

static void advance(struct emu_cpu *cpu, const struct emu_insn *in, unsigned r, int64_t delta)
{
    reg_write(cpu, r, in->adsz, cpu->gpr[r] + (uint64_t)delta);
}

static uint64_t idx(const struct emu_cpu *cpu, const struct emu_insn *in, unsigned r)
{
    return cpu->gpr[r] & size_mask(in->adsz);
}

/* REPE/REPNE CMPS and SCAS stopped before their end (a fault, a
 * single-step trap, the end of a batch): Intel shows the arithmetic flags
 * of before the instruction, the last comparison's only once it ends
 * (checked on the host; AMD shows each iteration's). */
static int rep_paused(struct emu_cpu *cpu, bool compares, uint64_t flags0, int st)
{
    if (compares) {
        uint64_t f = emu_rflags(cpu);
        cpu->rflags = (f & ~RFLAGS_ARITH) | (flags0 & RFLAGS_ARITH);
    }
    return st;
}

/* `ptrs`: the registers (bit 1 rCX, 6 rSI, 7 rDI) Intel's REP setup
 * writes back before the first iteration. */
static int rep_run(struct emu_cpu *cpu, const struct emu_insn *in, iter_fn one, bool compares,
                   unsigned ptrs)
{
    uint64_t flags0 = emu_rflags(cpu);
    int64_t delta = (flags0 & RFLAGS_DF) ? -(int64_t)in->opsz : (int64_t)in->opsz;
    int st;
    if (!(in->flags & (INSN_REP | INSN_REPNE))) {
        st = one(cpu, in, delta);
        return st ? st : next(cpu, in);
    }
    /* With a 32-bit address size in 64-bit code, Intel zero-extends ECX
     * (and MOVS's, STOS's pointers) up front: with a zero count, or a
     * fault in the first iteration, too (checked on the host; AMD leaves
     * them). */
    if (in->adsz == 4 && cpu->mode == MODE_LONG64) {
        for (unsigned r = 1; r < 8; r++)
            if (ptrs & (1u << r))
                cpu->gpr[r] = (uint32_t)cpu->gpr[r];
    }
    /* With TF, one iteration a step: the single-step trap comes after each
     * iteration, RIP still at the instruction until the last one (SDM
     * Vol. 3B 17.3.1.4, Vol. 2B "REP/REPE/REPZ/REPNE/REPNZ"). */
    int batch = (cpu->rflags & RFLAGS_TF) ? 1 : REP_BATCH;
    for (int n = 0; n < batch; n++) {
        if (idx(cpu, in, 1) == 0)
            return next(cpu, in);
        if ((st = one(cpu, in, delta)) != 0)
            return rep_paused(cpu, compares, flags0, st);
        reg_write(cpu, 1, in->adsz, cpu->gpr[1] - 1);
        emu_commit_point(cpu);
        if (compares) {
            bool zf = emu_cond(cpu, 4);
            if ((in->flags & INSN_REPNE) ? zf : !zf)
                return next(cpu, in);
        }
        if (cpu->dbg_hit)
            break; /* a data breakpoint traps after this iteration */
    }
    if (idx(cpu, in, 1) == 0)
        return next(cpu, in); /* the last iteration ended the batch */
    /* RIP unchanged: the rest runs next time. Leave the run loop's block
     * loop too, so a kick or an interrupt waits for one batch, not 1024.
     * An event taken before the rest pushes RF=1, as a trap after this
     * iteration does (SDM Vol. 3B 17.3.1.1). */
    cpu->rflags |= RFLAGS_RF;
    cpu->end_block = true;
    return rep_paused(cpu, compares, flags0, EMU_END_BLOCK);
}

static int movs_one(struct emu_cpu *cpu, const struct emu_insn *in, int64_t delta)
{
    uint64_t v;
    int st = emu_read(cpu, in->seg, idx(cpu, in, 6), in->opsz, &v);
    if (!st)
        st = emu_write(cpu, SEG_ES, idx(cpu, in, 7), in->opsz, v);
    if (st)
        return st;
    advance(cpu, in, 6, delta);
    advance(cpu, in, 7, delta);
    return EMU_OK;
}

static int stos_one(struct emu_cpu *cpu, const struct emu_insn *in, int64_t delta)
{
    int st = emu_write(cpu, SEG_ES, idx(cpu, in, 7), in->opsz, reg_read(cpu, 0, in->opsz));
    if (!st)
        advance(cpu, in, 7, delta);
    return st;
}

static int lods_one(struct emu_cpu *cpu, const struct emu_insn *in, int64_t delta)
{
    uint64_t v;
    int st = emu_read(cpu, in->seg, idx(cpu, in, 6), in->opsz, &v);
    if (st)
        return st;
    reg_write(cpu, 0, in->opsz, v);
    advance(cpu, in, 6, delta);
    return EMU_OK;
}

static int cmps_one(struct emu_cpu *cpu, const struct emu_insn *in, int64_t delta)
{
    uint64_t a, b;
    /* ES:rDI is read first: when both operands fault, the host CPU (AMD
     * EPYC, test_cpu_diff) reports the rDI one. */
    int st = emu_read(cpu, SEG_ES, idx(cpu, in, 7), in->opsz, &b);
    if (!st)
        st = emu_read(cpu, in->seg, idx(cpu, in, 6), in->opsz, &a);
    if (st)
        return st;
    lazy_set(cpu, LF_SUB, in->opsz, a, b, (a - b) & size_mask(in->opsz));
    advance(cpu, in, 6, delta);
    advance(cpu, in, 7, delta);
    return EMU_OK;
}

static int scas_one(struct emu_cpu *cpu, const struct emu_insn *in, int64_t delta)
{
    uint64_t b, a = reg_read(cpu, 0, in->opsz);
    int st = emu_read(cpu, SEG_ES, idx(cpu, in, 7), in->opsz, &b);
    if (st)
        return st;
    lazy_set(cpu, LF_SUB, in->opsz, a, b, (a - b) & size_mask(in->opsz));
    advance(cpu, in, 7, delta);
    return EMU_OK;
}

static int ins_one(struct emu_cpu *cpu, const struct emu_insn *in, int64_t delta)
{
    uint64_t v = 0;
    /* The destination must be writable before the port is read. */
    uint64_t lin;
    int st = emu_linear(cpu, SEG_ES, idx(cpu, in, 7), in->opsz, ACC_WRITE, &lin);
    if (!st)
        st = emu_port_io(cpu, (uint16_t)cpu->gpr[2], in->opsz, false, &v);
    if (!st)
        st = emu_write_lin(cpu, lin, &v, in->opsz);
    if (!st)
        advance(cpu, in, 7, delta);
    return st;
}

static int outs_one(struct emu_cpu *cpu, const struct emu_insn *in, int64_t delta)
{
    uint64_t v;
    int st = emu_read(cpu, in->seg, idx(cpu, in, 6), in->opsz, &v);
    if (!st)
        st = emu_port_io(cpu, (uint16_t)cpu->gpr[2], in->opsz, true, &v);
    if (!st)
        advance(cpu, in, 6, delta);
    return st;
}

#define RCX (1u << 1)
#define RSI (1u << 6)
#define RDI (1u << 7)
EXEC(ex_movs) { return rep_run(cpu, in, movs_one, false, RCX | RSI | RDI); }
EXEC(ex_stos) { return rep_run(cpu, in, stos_one, false, RCX | RDI); }
EXEC(ex_lods) { return rep_run(cpu, in, lods_one, false, RCX); }
EXEC(ex_cmps) { return rep_run(cpu, in, cmps_one, true, RCX); }
EXEC(ex_scas) { return rep_run(cpu, in, scas_one, true, RCX); }
/* INS/OUTS check the port like IN/OUT (IOPL, then the TSS bitmap), once
 * and before any access: DX does not change between iterations. The
 * host harness cannot run them (CPL 3, IOPL 0), so what Intel's REP setup
 * writes for them is unknown: none here. */
EXEC(ex_ins)
{
    int st = emu_io_check(cpu, (uint16_t)cpu->gpr[2], in->opsz);
    return st ? st : rep_run(cpu, in, ins_one, false, 0);
}

EXEC(ex_outs)
{
    int st = emu_io_check(cpu, (uint16_t)cpu->gpr[2], in->opsz);
    return st ? st : rep_run(cpu, in, outs_one, false, 0);
}
