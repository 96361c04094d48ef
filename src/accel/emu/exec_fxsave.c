/*
 * Group 15 (0F AE): FXSAVE, FXRSTOR, LDMXCSR, STMXCSR, CLFLUSH and the
 * fences. FXSAVE's 512-byte image follows SDM Vol. 1 10.5.1, table 10-2
 * (32-bit format) and 10-5.1 (64-bit format with REX.W); registers are
 * stored in stack order ST(0)..ST(7), the abridged tag by physical
 * register. Only the architected part is written: through XMM15 in
 * 64-bit mode, through XMM7 elsewhere; the reserved bytes 416-463 and the
 * software-available 464-511 keep what they held (as on the host).
 */
#include <string.h>

#include "accel/emu/x87.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define FX_MAX 416

static void put16(uint8_t *p, uint64_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint64_t v)
{
    put16(p, v);
    put16(p + 2, v >> 16);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, v);
    put32(p + 4, v >> 32);
}

static uint64_t get(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

/* Linear address of the 512-byte operand: #GP(0) unless 16-byte aligned. */
static int fx_address(struct emu_cpu *cpu, const struct emu_insn *in, enum emu_access acc,
                      uint64_t *lin)
{
    uint64_t ea;
    int st = x87_operand(cpu, in, 512, acc, &ea, lin);
    if (st)
        return st;
    if (*lin & 15)
        return emu_raise_err(cpu, EXC_GP, 0);
    return EMU_OK;
}

static unsigned xmm_count(const struct emu_cpu *cpu)
{
    return cpu->mode == MODE_LONG64 ? 16 : 8;
}

/* Bytes FXSAVE writes and FXRSTOR reads. */
static unsigned fx_size(const struct emu_cpu *cpu)
{
    return 160 + 16 * xmm_count(cpu);
}

static void fx_image(const struct emu_cpu *cpu, bool rex_w, uint8_t *b)
{
    const struct emu_fpu *f = &cpu->fpu;
    memset(b, 0, fx_size(cpu));
    put16(b, f->fcw);
    put16(b + 2, f->fsw);
    b[4] = f->ftw;
    put16(b + 6, f->fop & 0x7ff);
    if (rex_w) {
        put64(b + 8, f->fip);
        put64(b + 16, f->fdp);
    } else {
        put32(b + 8, f->fip);
        put16(b + 12, f->fcs);
        put32(b + 16, f->fdp);
        put16(b + 20, f->fds);
    }
    put32(b + 24, f->mxcsr);
    put32(b + 28, EMU_MXCSR_MASK);
    unsigned top = x87_top(f);
    for (unsigned k = 0; k < 8; k++)
        memcpy(b + 32 + 16 * k, f->st_raw[(top + k) & 7], 10);
    memcpy(b + 160, f->xmm, 16 * xmm_count(cpu));
}

EXEC(ex_fxsave)
{
    uint8_t b[FX_MAX];
    uint64_t lin;
    int st = emu_fpu_check(cpu);
    if (st || (st = fx_address(cpu, in, ACC_WRITE, &lin)) != 0)
        return st;
    fx_image(cpu, in->opsz == 8, b);
    if ((st = emu_write_lin(cpu, lin, b, fx_size(cpu))) != 0)
        return st;
    return next(cpu, in);
}

static void fx_load(struct emu_cpu *cpu, bool rex_w, const uint8_t *b)
{
    struct emu_fpu *f = &cpu->fpu;
    f->fcw = (uint16_t)((get(b, 2) & FCW_VALID) | FCW_ONES);
    f->fsw = (uint16_t)get(b + 2, 2);
    f->ftw = b[4];
    f->fop = get(b + 6, 2) & 0x7ff;
    if (rex_w) {
        f->fip = get(b + 8, 8);
        f->fdp = get(b + 16, 8);
    } else {
        f->fip = get(b + 8, 4);
        f->fcs = (uint16_t)get(b + 12, 2);
        f->fdp = get(b + 16, 4);
        f->fds = (uint16_t)get(b + 20, 2);
    }
    f->mxcsr = (uint32_t)get(b + 24, 4);
    unsigned top = x87_top(f);
    for (unsigned k = 0; k < 8; k++) {
        memcpy(f->st_raw[(top + k) & 7], b + 32 + 16 * k, 10);
        memset(f->st_raw[(top + k) & 7] + 10, 0, 6);
    }
    memcpy(f->xmm, b + 160, 16 * xmm_count(cpu));
    x87_update_es(f);
}

EXEC(ex_fxrstor)
{
    uint8_t b[FX_MAX];
    uint64_t lin;
    int st = emu_fpu_check(cpu);
    if (st || (st = fx_address(cpu, in, ACC_READ, &lin)) != 0 ||
        (st = emu_read_lin(cpu, lin, b, fx_size(cpu), ACC_READ)) != 0)
        return st;
    if (get(b + 24, 4) & ~(uint64_t)EMU_MXCSR_MASK)
        return emu_raise_err(cpu, EXC_GP, 0);
    fx_load(cpu, in->opsz == 8, b);
    return next(cpu, in);
}

EXEC(ex_ldmxcsr)
{
    uint64_t v;
    int st = emu_sse_check(cpu);
    if (st || (st = emu_read(cpu, in->seg, emu_ea(cpu, in), 4, &v)) != 0)
        return st;
    if (v & ~(uint64_t)EMU_MXCSR_MASK)
        return emu_raise_err(cpu, EXC_GP, 0);
    cpu->fpu.mxcsr = (uint32_t)v;
    return next(cpu, in);
}

EXEC(ex_stmxcsr)
{
    int st = emu_sse_check(cpu);
    if (st || (st = emu_write(cpu, in->seg, emu_ea(cpu, in), 4, cpu->fpu.mxcsr)) != 0)
        return st;
    return next(cpu, in);
}

/* CLFLUSH: no cache to flush, but the address must translate like a byte
 * read (#GP/#SS on the segment, #PF on the page). F2/F3 forms are other
 * instructions. */
EXEC(ex_clflush)
{
    uint64_t ea, lin, gpa;
    if (in->flags & (INSN_REP | INSN_REPNE))
        return emu_raise(cpu, EXC_UD);
    int st = x87_operand(cpu, in, 1, ACC_READ, &ea, &lin);
    if (st || (st = emu_translate(cpu, lin, ACC_READ, &gpa)) != 0)
        return st;
    return next(cpu, in);
}

/* LFENCE, MFENCE, SFENCE: one CPU executing in order needs no fencing. */
EXEC(ex_fence)
{
    if (in->flags & (INSN_REP | INSN_REPNE))
        return emu_raise(cpu, EXC_UD);
    return next(cpu, in);
}

const struct op emu_grp15_mem[8] = {
    {ex_fxsave, O_MODRM}, {ex_fxrstor, O_MODRM}, {ex_ldmxcsr, O_MODRM},
    {ex_stmxcsr, O_MODRM}, {0}, {0}, {0}, {ex_clflush, O_MODRM},
};

const struct op emu_grp15_reg[8] = {
    {0}, {0}, {0}, {0}, {0},
    {ex_fence, O_MODRM}, {ex_fence, O_MODRM}, {ex_fence, O_MODRM},
};
