/*
 * The x87 environment and whole-state images: FNSTENV, FLDENV, FNSAVE and
 * FRSTOR, in the 14-byte (16-bit operand size) and 28-byte (32-bit and
 * 64-bit) layouts, protected-mode and real-mode formats (SDM Vol. 1
 * 8.1.10, figures 8-9 to 8-12).
 */
#include <string.h>

#include "accel/emu/x87.h"

#define REGS_SIZE 80

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v);
    put16(p + 2, v >> 16);
}

static unsigned env_size(const struct emu_insn *in)
{
    return in->opsz == 2 ? 14 : 28;
}

static uint16_t full_tag_word(const struct emu_fpu *f)
{
    unsigned tw = 0;
    for (unsigned i = 0; i < 8; i++)
        tw |= x87_full_tag(f, i) << (2 * i);
    return (uint16_t)tw;
}

/* Real-address mode keeps 20-bit (16-bit form) or 32-bit linear pointers
 * split around the opcode. */
static void env_store_real(const struct emu_fpu *f, bool op16, uint8_t *b)
{
    uint32_t ip = (uint32_t)(f->fcs * 16u + f->fip), dp = (uint32_t)(f->fds * 16u + f->fdp);
    unsigned fop = f->fop & 0x7ff;
    if (op16) {
        put16(b + 6, ip);
        put16(b + 8, ((ip >> 16) & 0xf) << 12 | fop);
        put16(b + 10, dp);
        put16(b + 12, ((dp >> 16) & 0xf) << 12);
    } else {
        put32(b + 12, 0xffff0000u | (ip & 0xffff));
        put32(b + 16, (ip >> 16) << 12 | fop);
        put32(b + 20, 0xffff0000u | (dp & 0xffff));
        put32(b + 24, (dp >> 16) << 12);
    }
}

static void env_store(const struct emu_cpu *cpu, bool op16, uint8_t *b)
{
    const struct emu_fpu *f = &cpu->fpu;
    uint16_t tw = full_tag_word(f);
    if (op16) {
        put16(b, f->fcw);
        put16(b + 2, f->fsw);
        put16(b + 4, tw);
        put16(b + 6, (uint32_t)f->fip);
        put16(b + 8, f->fcs);
        put16(b + 10, (uint32_t)f->fdp);
        put16(b + 12, f->fds);
    } else {
        /* Reserved upper halves read back as ones (checked on hardware). */
        put32(b, 0xffff0000u | f->fcw);
        put32(b + 4, 0xffff0000u | f->fsw);
        put32(b + 8, 0xffff0000u | tw);
        put32(b + 12, (uint32_t)f->fip);
        put32(b + 16, f->fcs | (uint32_t)(f->fop & 0x7ff) << 16);
        put32(b + 20, (uint32_t)f->fdp);
        put32(b + 24, 0xffff0000u | f->fds);
    }
    if (cpu->mode == MODE_REAL)
        env_store_real(f, op16, b);
}

static void env_load_real(struct emu_fpu *f, bool op16, const uint8_t *b)
{
    f->fcs = f->fds = 0;
    if (op16) {
        f->fip = get16(b + 6) | (uint32_t)(get16(b + 8) >> 12) << 16;
        f->fop = get16(b + 8) & 0x7ff;
        f->fdp = get16(b + 10) | (uint32_t)(get16(b + 12) >> 12) << 16;
    } else {
        f->fip = get16(b + 12) | ((get32(b + 16) >> 12) & 0xffff) << 16;
        f->fop = get32(b + 16) & 0x7ff;
        f->fdp = get16(b + 20) | ((get32(b + 24) >> 12) & 0xffff) << 16;
    }
}

static void env_load(struct emu_cpu *cpu, bool op16, const uint8_t *b)
{
    struct emu_fpu *f = &cpu->fpu;
    unsigned step = op16 ? 2 : 4;
    uint16_t tw = get16(b + 2 * step);
    f->fcw = (uint16_t)((get16(b) & FCW_VALID) | FCW_ONES);
    f->fsw = get16(b + step);
    f->ftw = 0;
    for (unsigned i = 0; i < 8; i++) /* only "empty" matters; the rest is recomputed */
        if (((tw >> (2 * i)) & 3) != 3)
            f->ftw |= (uint8_t)(1u << i);
    if (cpu->mode == MODE_REAL) {
        env_load_real(f, op16, b);
    } else if (op16) {
        f->fip = get16(b + 6);
        f->fcs = get16(b + 8);
        f->fdp = get16(b + 10);
        f->fds = get16(b + 12);
    } else {
        f->fip = get32(b + 12);
        f->fcs = get16(b + 16);
        f->fop = (get32(b + 16) >> 16) & 0x7ff;
        f->fdp = get32(b + 20);
        f->fds = get16(b + 24);
    }
    x87_update_es(f);
}

/* Read `size` bytes of the memory operand. */
static int read_operand(struct emu_cpu *cpu, const struct emu_insn *in, void *buf, unsigned size)
{
    uint64_t ea, lin;
    int st = x87_operand(cpu, in, size, ACC_READ, &ea, &lin);
    return st ? st : emu_read_lin(cpu, lin, buf, size, ACC_READ);
}

static int write_operand(struct emu_cpu *cpu, const struct emu_insn *in, const void *buf,
                         unsigned size)
{
    uint64_t ea, lin;
    int st = x87_operand(cpu, in, size, ACC_WRITE, &ea, &lin);
    return st ? st : emu_write_lin(cpu, lin, buf, size);
}

/* FNSTENV leaves every exception masked (SDM Vol. 2A FSTENV). */
EXEC(ex_fnstenv)
{
    uint8_t b[28];
    int st = x87_begin(cpu, false);
    if (st)
        return st;
    env_store(cpu, in->opsz == 2, b);
    if ((st = write_operand(cpu, in, b, env_size(in))) != 0)
        return st;
    cpu->fpu.fcw |= FCW_EXC_MASKS;
    x87_update_es(&cpu->fpu);
    return next(cpu, in);
}

EXEC(ex_fldenv)
{
    uint8_t b[28];
    int st = x87_begin(cpu, true);
    if (st)
        return st;
    if ((st = read_operand(cpu, in, b, env_size(in))) != 0)
        return st;
    env_load(cpu, in->opsz == 2, b);
    return next(cpu, in);
}

/* FNSAVE: the environment, then ST(0)..ST(7) in stack order; then FNINIT. */
EXEC(ex_fnsave)
{
    uint8_t b[28 + REGS_SIZE];
    int st = x87_begin(cpu, false);
    if (st)
        return st;
    struct emu_fpu *f = &cpu->fpu;
    unsigned n = env_size(in), top = x87_top(f);
    env_store(cpu, in->opsz == 2, b);
    for (unsigned k = 0; k < 8; k++)
        memcpy(b + n + 10 * k, f->st_raw[(top + k) & 7], 10);
    if ((st = write_operand(cpu, in, b, n + REGS_SIZE)) != 0)
        return st;
    x87_init_state(f);
    return next(cpu, in);
}

EXEC(ex_frstor)
{
    uint8_t b[28 + REGS_SIZE];
    int st = x87_begin(cpu, true);
    if (st)
        return st;
    unsigned n = env_size(in);
    if ((st = read_operand(cpu, in, b, n + REGS_SIZE)) != 0)
        return st;
    struct emu_fpu *f = &cpu->fpu;
    env_load(cpu, in->opsz == 2, b);
    unsigned top = x87_top(f);
    for (unsigned k = 0; k < 8; k++) {
        memcpy(f->st_raw[(top + k) & 7], b + n + 10 * k, 10);
        memset(f->st_raw[(top + k) & 7] + 10, 0, 6);
    }
    return next(cpu, in);
}
