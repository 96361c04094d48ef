/*
 * String instructions with REP/REPE/REPNE. Each iteration commits on its
 * own (registers updated, device accesses final), so an exit or fault in
 * iteration N resumes at iteration N, as on hardware.
 */
#include <string.h>

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

static int movs_one(struct emu_cpu *cpu, const struct emu_insn *in, int64_t delta);
static int stos_one(struct emu_cpu *cpu, const struct emu_insn *in, int64_t delta);

/* k elements of sz bytes, each v: a fixed-size store per element (a
 * variable-size memcpy would call the library once per element). */
static void fill(uint8_t *dst, uint64_t v, unsigned sz, uint64_t k)
{
    uint16_t w = (uint16_t)v;
    uint32_t d = (uint32_t)v;
    if (sz == 1)
        memset(dst, (int)v, k);
    else if (sz == 2)
        for (uint64_t i = 0; i < k; i++)
            memcpy(dst + 2 * i, &w, 2);
    else if (sz == 4)
        for (uint64_t i = 0; i < k; i++)
            memcpy(dst + 4 * i, &d, 4);
    else
        for (uint64_t i = 0; i < k; i++)
            memcpy(dst + 8 * i, &v, 8);
}

/* k elements of sz bytes from src to dst, upwards, each read whole before
 * it is written, as REP MOVS moves them. Below the source or past its
 * end, the destination gets the source as it was: memmove. Inside it,
 * bytes already copied are copied again (a pattern repeats): then element
 * by element, at a fixed size. */
static void copy_in_order(uint8_t *dst, const uint8_t *src, unsigned sz, uint64_t k)
{
    uint64_t n = k * sz;
    if (dst <= src || dst >= src + n) {
        memmove(dst, src, n);
        return;
    }
    for (uint64_t i = 0; i < n; i += sz) { /* each element read whole, then written */
        if (sz == 1) {
            dst[i] = src[i];
        } else if (sz == 2) {
            uint16_t x;
            memcpy(&x, src + i, 2);
            memcpy(dst + i, &x, 2);
        } else if (sz == 4) {
            uint32_t x;
            memcpy(&x, src + i, 4);
            memcpy(dst + i, &x, 4);
        } else {
            uint64_t x;
            memcpy(&x, src + i, 8);
            memcpy(dst + i, &x, 8);
        }
    }
}

/* Up to max iterations of REP MOVS or STOS at once, in 64-bit code with a
 * 64-bit address size and DF clear, while every element stays in pages
 * that hit the TLB (RAM; for the destination no decoded code; no data
 * breakpoint): exactly what that many calls of movs_one/stos_one would do
 * there, elements copied in order (MOVS operands may overlap). Returns
 * the iterations done, 0 when the next one needs the general path. */
static uint64_t rep_bulk(struct emu_cpu *cpu, const struct emu_insn *in, iter_fn one,
                         uint64_t max)
{
    unsigned sz = in->opsz;
    if ((one != stos_one && one != movs_one) || in->adsz != 8 || (cpu->rflags & RFLAGS_DF) ||
        cpu->xlog_n) /* an iteration's device accesses are replaying */
        return 0;
    uint64_t rdi = cpu->gpr[7], rsi = cpu->gpr[6];
    uint8_t *dst = emu_tlb_host(cpu, cpu->tlb_write, SEG_ES, rdi, sz);
    if (!dst)
        return 0;
    uint64_t k = (4096 - (rdi & 0xfff)) / sz;
    if (one == stos_one) {
        k = k < max ? k : max;
        fill(dst, reg_read(cpu, 0, sz), sz, k);
        cpu->gpr[7] = rdi + k * sz;
        return k;
    }
    const uint8_t *src = emu_tlb_host(cpu, cpu->tlb_read, in->seg, rsi, sz);
    if (!src)
        return 0;
    uint64_t ks = (4096 - (rsi & 0xfff)) / sz;
    k = k < ks ? k : ks;
    k = k < max ? k : max;
    copy_in_order(dst, src, sz, k);
    cpu->gpr[6] = rsi + k * sz;
    cpu->gpr[7] = rdi + k * sz;
    return k;
}

/* `ptrs`: the registers (bit 1 rCX, 6 rSI, 7 rDI) Intel's REP setup
 * writes back before the first iteration. */
static int rep_run(struct emu_cpu *cpu, const struct emu_insn *in, iter_fn one, bool compares,
                   unsigned ptrs)
{
    /* DF is never lazy; the arithmetic flags only matter to compares */
    uint64_t flags0 = compares ? emu_rflags(cpu) : 0;
    int64_t delta = (cpu->rflags & RFLAGS_DF) ? -(int64_t)in->opsz : (int64_t)in->opsz;
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
        uint64_t k = batch > 1 ? rep_bulk(cpu, in, one, idx(cpu, in, 1) < (uint64_t)(batch - n)
                                                            ? idx(cpu, in, 1)
                                                            : (uint64_t)(batch - n))
                               : 0;
        if (k) { /* no device access, no breakpoint: nothing to commit or trap */
            cpu->gpr[1] -= k;
            n += (int)k - 1;
            continue;
        }
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
    emu_end_block(cpu);
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
