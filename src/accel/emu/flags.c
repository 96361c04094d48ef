/* Lazy arithmetic flags: computed from the last operation when read. */
#include "accel/emu/cpu.h"

static bool parity_even(uint64_t v)
{
    return !__builtin_parity((unsigned)(v & 0xff));
}

static bool lazy_cf(const struct emu_lazy_flags *lf)
{
    uint64_t m = size_mask(lf->size), a = lf->a & m, b = lf->b & m, r = lf->res & m;
    switch (lf->op) {
    case LF_ADD:
        return r < a;
    case LF_ADC:
        return lf->cf_in ? r <= a : r < a;
    case LF_SUB:
        return a < b;
    case LF_SBB:
        return lf->cf_in ? a <= b : a < b;
    case LF_NEG:
        return a != 0;
    case LF_INC:
    case LF_DEC:
    case LF_CFOF:
        return lf->cf_in;
    default:
        return false;
    }
}

static bool lazy_of(const struct emu_lazy_flags *lf)
{
    uint64_t sb = sign_bit(lf->size), a = lf->a, b = lf->b, r = lf->res;
    switch (lf->op) {
    case LF_ADD:
    case LF_ADC:
        return ((a ^ r) & (b ^ r) & sb) != 0;
    case LF_SUB:
    case LF_SBB:
        return ((a ^ b) & (a ^ r) & sb) != 0;
    case LF_INC:
        return (r & size_mask(lf->size)) == sb;
    case LF_DEC:
        return (a & size_mask(lf->size)) == sb;
    case LF_NEG:
        return (a & size_mask(lf->size)) == sb;
    case LF_CFOF:
        return b != 0;
    default:
        return false;
    }
}

static bool lazy_af(const struct emu_lazy_flags *lf)
{
    if (lf->op == LF_LOGIC || lf->op == LF_CFOF)
        return false;
    return ((lf->a ^ lf->b ^ lf->res) & 0x10) != 0;
}

/* RFLAGS as the lazy state has them, the state left as it is. */
uint64_t emu_peek_rflags(const struct emu_cpu *cpu)
{
    const struct emu_lazy_flags *lf = &cpu->lf;
    if (lf->op == LF_NONE)
        return cpu->rflags;
    uint64_t r = lf->res & size_mask(lf->size);
    uint64_t f = cpu->rflags & ~RFLAGS_ARITH;
    f |= lazy_cf(lf) ? RFLAGS_CF : 0;
    f |= parity_even(r) ? RFLAGS_PF : 0;
    f |= lazy_af(lf) ? RFLAGS_AF : 0;
    f |= r == 0 ? RFLAGS_ZF : 0;
    f |= (r & sign_bit(lf->size)) ? RFLAGS_SF : 0;
    f |= lazy_of(lf) ? RFLAGS_OF : 0;
    return f;
}

uint64_t emu_rflags(struct emu_cpu *cpu)
{
    if (cpu->lf.op == LF_NONE)
        return cpu->rflags;
    cpu->rflags = emu_peek_rflags(cpu);
    cpu->lf.op = LF_NONE;
    return cpu->rflags;
}

void emu_set_rflags(struct emu_cpu *cpu, uint64_t v)
{
    cpu->lf.op = LF_NONE;
    cpu->rflags = (v & RFLAGS_WRITABLE) | 0x2; /* reserved bits read as fixed */
}

bool emu_cf(const struct emu_cpu *cpu)
{
    return cpu->lf.op == LF_NONE ? (cpu->rflags & RFLAGS_CF) != 0 : lazy_cf(&cpu->lf);
}

/* ZF, SF and PF come from the result for every lazy operation; CF and OF
 * are 0 after a logic operation. */
static bool lazy_zf(const struct emu_lazy_flags *lf)
{
    return (lf->res & size_mask(lf->size)) == 0;
}

static bool lazy_sf(const struct emu_lazy_flags *lf)
{
    return (lf->res & sign_bit(lf->size)) != 0;
}

/* Condition codes 0-15 as encoded in Jcc/SETcc/CMOVcc (SDM Vol. 2, B.1.4.7),
 * from the lazy state when that is cheaper than materializing the flags. */
bool emu_cond(struct emu_cpu *cpu, unsigned cc)
{
    const struct emu_lazy_flags *lf = &cpu->lf;
    bool r;
    if (lf->op == LF_NONE)
        goto slow;
    /* E/NE and S/NS after any operation. */
    if ((cc >> 1) == 2)
        return lazy_zf(lf) ^ (cc & 1);
    if ((cc >> 1) == 4)
        return lazy_sf(lf) ^ (cc & 1);
    /* Compare-and-branch pairs: the operands themselves. */
    if (lf->op == LF_SUB && (cc >> 1) != 5 && (cc >> 1) != 0) {
        uint64_t m = size_mask(lf->size), a = lf->a & m, b = lf->b & m;
        int64_t sa = sign_extend(a, lf->size), sb = sign_extend(b, lf->size);
        switch (cc >> 1) {
        case 1: r = a < b; break;           /* B */
        case 3: r = a <= b; break;          /* BE */
        case 6: r = sa < sb; break;         /* L */
        default: r = sa <= sb; break;       /* LE */
        }
        return r ^ (cc & 1);
    }
    /* TEST/AND/OR/XOR: CF = OF = 0. */
    if (lf->op == LF_LOGIC && (cc >> 1) != 5) {
        switch (cc >> 1) {
        case 0: case 1: r = false; break;   /* O, B */
        case 3: r = lazy_zf(lf); break;     /* BE */
        case 6: r = lazy_sf(lf); break;     /* L */
        default: r = lazy_zf(lf) || lazy_sf(lf); break; /* LE */
        }
        return r ^ (cc & 1);
    }
slow:; /* the state kept lazy: compiled code's conditions read it alike (jit_native.c) */
    uint64_t f = emu_peek_rflags(cpu);
    bool cf = f & RFLAGS_CF, zf = f & RFLAGS_ZF, sf = f & RFLAGS_SF, of = f & RFLAGS_OF;
    switch (cc >> 1) {
    case 0: r = of; break;
    case 1: r = cf; break;
    case 2: r = zf; break;
    case 3: r = cf || zf; break;
    case 4: r = sf; break;
    case 5: r = (f & RFLAGS_PF) != 0; break;
    case 6: r = sf != of; break;
    default: r = zf || sf != of; break;
    }
    return r ^ (cc & 1);
}
